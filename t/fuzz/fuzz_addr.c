/* fuzz_addr.c - addresses and networks (rlw_addr.c): X-Forwarded-For
 * values through mod_remoteip, CIDR lists in directives, the admin form's
 * client field. Promises: parse(format(x)) == x for every parsed host and
 * network, no bit beyond the prefix, scope and kind zero, a network contains
 * its own address, a client identity is stable under grouping. A request
 * key's hash as rlwafctl and the admin form take it ("key#N:" and 32 hex
 * digits): a valid key subject, and format(parse(x)) is x in lower case. */
#include "fuzz.h"
#include "rlw_addr.h"
#include "rlw_subject.h"

static void check_canonical(const rlw_addr_t *a)
{
    int bits = a->family == RLW_AF_INET ? 32 : 128, i;

    FUZZ_CHECK(a->family == RLW_AF_INET || a->family == RLW_AF_INET6);
    FUZZ_CHECK(a->prefix <= bits);
    FUZZ_CHECK(a->scope == RLW_SCOPE_ENFORCE && a->kind == RLW_KIND_CLIENT);
    for (i = a->family == RLW_AF_INET ? 4 : 16; i < 16; i++)
        FUZZ_CHECK(a->bytes[i] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    char buf[RLW_ADDR_STRLEN];
    rlw_addr_t host, net, again, client, client2;
    unsigned v6 = size ? data[size - 1] % 130 : 64;

    memset(&host, 0, sizeof(host));
    memset(&net, 0, sizeof(net));
    if (rlw_addr_parse(text, &host) == 0) {
        check_canonical(&host);
        FUZZ_CHECK(host.prefix == (host.family == RLW_AF_INET ? 32 : 128));
        rlw_addr_format(&host, buf, sizeof(buf));
        FUZZ_CHECK(strlen(buf) < sizeof(buf));
        memset(&again, 0, sizeof(again));
        FUZZ_CHECK(rlw_addr_parse(buf, &again) == 0);
        FUZZ_CHECK(memcmp(&again, &host, sizeof(host)) == 0);
        /* A client identity is a network holding the host, and grouping
         * it again changes nothing. */
        memset(&client, 0, sizeof(client));
        rlw_addr_client(&host, v6, &client);
        check_canonical(&client);
        FUZZ_CHECK(rlw_cidr_match(&client, &host));
        memset(&client2, 0, sizeof(client2));
        rlw_addr_client(&client, v6, &client2);
        FUZZ_CHECK(memcmp(&client, &client2, sizeof(client)) == 0);
        rlw_addr_format(&client, buf, sizeof(buf));
        memset(&again, 0, sizeof(again));
        FUZZ_CHECK(rlw_cidr_parse(buf, &again) == NULL);
        FUZZ_CHECK(memcmp(&again, &client, sizeof(client)) == 0);
    }
    if (rlw_cidr_parse(text, &net) == NULL) {
        check_canonical(&net);
        rlw_addr_format(&net, buf, sizeof(buf));
        memset(&again, 0, sizeof(again));
        FUZZ_CHECK(rlw_cidr_parse(buf, &again) == NULL);
        FUZZ_CHECK(memcmp(&again, &net, sizeof(net)) == 0);
        /* The network's own address lies in it. */
        again = net;
        again.prefix = net.family == RLW_AF_INET ? 32 : 128;
        FUZZ_CHECK(rlw_cidr_match(&net, &again));
        FUZZ_CHECK(rlw_cidr_list_match(&net, 1, &again));
        if (host.family)
            (void)rlw_cidr_match(&net, &host);
    }
    if (rlw_subject_key_parse(text, &again) == 0) {
        size_t i;

        FUZZ_CHECK(rlw_subject_valid(&again));
        FUZZ_CHECK(again.kind == RLW_KIND_KEY && again.family == RLW_AF_KEY);
        rlw_addr_format(&again, buf, sizeof(buf));
        FUZZ_CHECK(strlen(buf) == strlen(text));
        for (i = 0; text[i]; i++)
            FUZZ_CHECK(buf[i] == ((text[i] >= 'A' && text[i] <= 'F')
                                      ? text[i] - 'A' + 'a'
                                      : text[i]));
        rlw_addr_format(&again, buf, 1 + (size % 8));
    }
    /* A tiny buffer is cut, never overrun. */
    if (host.family)
        rlw_addr_format(&host, buf, 1 + (size % 8));
    free(text);
    return 0;
}

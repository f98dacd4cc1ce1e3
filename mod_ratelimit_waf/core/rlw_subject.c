/* rlw_subject.c - subjects of counters and bans (rlw_subject.h). */
#include <string.h>

#include "rlw_subject.h"

/* Clears every bit of a from bit prefix (at most 128) on: the partial
 * byte, then whole bytes (this runs on every request of a server that
 * counts networks). */
static void mask_from(rlw_addr_t *a, unsigned prefix)
{
    unsigned byte = prefix / 8;

    if (prefix % 8) {
        a->bytes[byte] &= (uint8_t)(0xffu << (8 - prefix % 8));
        byte++;
    }
    if (byte < sizeof(a->bytes))
        memset(a->bytes + byte, 0, sizeof(a->bytes) - byte);
}

int rlw_subject_net(const rlw_addr_t *host, unsigned v4_prefix,
                    unsigned v6_prefix, unsigned scope, rlw_addr_t *net)
{
    unsigned prefix, width;
    rlw_addr_t n;

    if (host == NULL || net == NULL)
        return -1;
    if (host->family == RLW_AF_INET) {
        prefix = v4_prefix;
        width = 32;
    } else if (host->family == RLW_AF_INET6) {
        prefix = v6_prefix;
        width = 128;
    } else {
        return -1;
    }
    if (prefix == 0 || prefix > width || scope > RLW_SCOPE_DRY_RUN)
        return -1;
    memset(&n, 0, sizeof(n));
    n.family = host->family;
    memcpy(n.bytes, host->bytes, sizeof(n.bytes));
    mask_from(&n, prefix);
    n.prefix = (uint8_t)prefix;
    n.scope = (uint8_t)scope;
    n.kind = RLW_KIND_NET;
    *net = n;
    return 0;
}

int rlw_subject_key(unsigned idx, const unsigned char *hash, unsigned scope,
                    rlw_addr_t *out)
{
    rlw_addr_t k;

    if (hash == NULL || out == NULL || idx >= RLW_KEYS_MAX ||
        scope > RLW_SCOPE_DRY_RUN)
        return -1;
    memset(&k, 0, sizeof(k));
    k.family = RLW_AF_KEY;
    k.prefix = (uint8_t)idx;
    k.scope = (uint8_t)scope;
    k.kind = RLW_KIND_KEY;
    memcpy(k.bytes, hash, sizeof(k.bytes));
    *out = k;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int rlw_subject_key_parse(const char *text, rlw_addr_t *out)
{
    unsigned char hash[16];
    unsigned idx;
    int i, hi, lo;

    if (text == NULL || out == NULL || strncmp(text, "key#", 4) != 0)
        return -1;
    text += 4;
    if (*text < '0' || *text > '9' || text[1] != ':')
        return -1; /* one digit: RLW_KEYS_MAX is at most 10 */
    idx = (unsigned)(*text - '0');
    text += 2;
    for (i = 0; i < 16; i++) {
        if ((hi = hexval(text[2 * i])) < 0 ||
            (lo = hexval(text[2 * i + 1])) < 0)
            return -1;
        hash[i] = (unsigned char)(hi << 4 | lo);
    }
    if (text[32] != '\0')
        return -1;
    return rlw_subject_key(idx, hash, RLW_SCOPE_ENFORCE, out);
}

const char *rlw_subject_kind_name(unsigned kind)
{
    switch (kind) {
    case RLW_KIND_CLIENT:
        return "client";
    case RLW_KIND_NET:
        return "network";
    case RLW_KIND_KEY:
        return "key";
    default:
        return NULL;
    }
}

int rlw_subject_valid(const rlw_addr_t *s)
{
    unsigned width, bit;

    if (s == NULL)
        return 0;
    if (s->family == RLW_AF_KEY || s->kind == RLW_KIND_KEY)
        return s->family == RLW_AF_KEY && s->kind == RLW_KIND_KEY &&
               s->prefix < RLW_KEYS_MAX && s->scope <= RLW_SCOPE_DRY_RUN;
    if (s->family == RLW_AF_INET)
        width = 32;
    else if (s->family == RLW_AF_INET6)
        width = 128;
    else
        return 0;
    if (s->prefix > width || s->scope > RLW_SCOPE_DRY_RUN)
        return 0;
    if (s->kind == RLW_KIND_NET) {
        if (s->prefix == 0)
            return 0;
    } else if (s->kind != RLW_KIND_CLIENT) {
        return 0;
    }
    /* Every bit from the prefix to the end of bytes[] is zero: this covers
     * host bits of a grouped client or a network, and bytes[4..15] of IPv4
     * alike. */
    for (bit = s->prefix; bit < 128; bit++)
        if (s->bytes[bit / 8] & (0x80u >> (bit % 8)))
            return 0;
    return 1;
}

int rlw_subject_net_holds(const rlw_addr_t *net, const rlw_addr_t *host)
{
    rlw_addr_t a = *net, h = *host;

    if (net->kind != RLW_KIND_NET)
        return 0;
    /* rlw_cidr_match() compares addresses, not subjects. */
    a.kind = a.scope = 0;
    h.kind = h.scope = 0;
    return rlw_cidr_match(&a, &h);
}

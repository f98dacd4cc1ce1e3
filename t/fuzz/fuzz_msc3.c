/* fuzz_msc3.c - libmodsecurity v3's rule messages (rlw_msc3_msg.c): any
 * text, attacker-influenced, read by rlw_msc3_score(), rlw_msc3_rule_id()
 * and rlw_msc3_format(). Promises: never reads past the NUL; a score is
 * -1 or more and only for a message carrying the marker; a rule id is in
 * 1..999999999; the formatted line starts with the client prefix when one
 * is given and the message has none, holds "ModSecurity: ", and keeps the
 * message's text apart from a severity digit turned into its name;
 * rlw_msc3_set_file() gives the message back, or one whose [file] value is
 * the name given, the rest unchanged. */
#include <apr_general.h>
#include <apr_pools.h>

#include "fuzz.h"
#include "rlw_msc3_msg.h"

#define NONCE "0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *root;
    apr_pool_t *p;
    char *msg = fuzz_cstr(data, size);
    const char *f;
    uint32_t id = 0;
    long score = -2;
    int rc;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    apr_pool_create(&p, root);
    rc = rlw_msc3_score(msg, NONCE, &score);
    FUZZ_CHECK(rc >= -1 && rc <= 1);
    FUZZ_CHECK(rc != 1 || score >= -1);
    FUZZ_CHECK(rc != 1 || strstr(msg, "anomaly score " NONCE " "));
    if (rlw_msc3_rule_id(msg, &id))
        FUZZ_CHECK(id >= 1 && id <= 999999999u);
    f = rlw_msc3_format(p, msg, "192.0.2.1");
    FUZZ_CHECK(f != NULL);
    if (strncmp(msg, "[client ", 8) != 0)
        FUZZ_CHECK(strncmp(f, "[client 192.0.2.1] ", 19) == 0);
    /* Grows by at most the client, "ModSecurity: " and one severity name
     * ("EMERGENCY" for one digit). */
    FUZZ_CHECK(strlen(f) <= strlen(msg) + 19 + 13 + 8);
    f = rlw_msc3_format(p, msg, NULL);
    FUZZ_CHECK(strlen(f) >= strlen(msg) && strlen(f) <= strlen(msg) + 13 + 8);
    FUZZ_CHECK(strstr(f, "ModSecurity: ") != NULL);
    f = rlw_msc3_set_file(p, msg, "/etc/r.conf");
    FUZZ_CHECK(f != NULL);
    if (f != msg)
        FUZZ_CHECK(strstr(f, " [file \"/etc/r.conf\"] [line \"") != NULL &&
                   strncmp(f, msg, (size_t)(strstr(msg, " [file \"") - msg)) ==
                       0);
    rc = rlw_msc3_is_probe(msg, NONCE);
    FUZZ_CHECK(rc == 0 || rc == 1);
    apr_pool_destroy(p);
    free(msg);
    return 0;
}

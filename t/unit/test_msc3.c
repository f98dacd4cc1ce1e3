/* test_msc3.c - libmodsecurity v3's rule messages (rlw_msc3_msg.c) and
 * the run-time loader (rlw_msc3_api.c): real 3.0.9 + CRS 3.3.4 message
 * text, the score rule's message with its marker, forged markers and ids
 * in attacker text, bounds, mod_security2's shape; a missing library, a
 * library without the symbols, and the real one when it is installed.
 *
 * Messages are handed over in heap blocks of exactly their length + 1
 * (heap_dup()), so valgrind and ASan see any read past the terminator.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "rlw_msc3_api.h"
#include "rlw_msc3_msg.h"
#include "unit_suites.h"

#define NONCE "0123456789abcdef"
#define TAIL                                                                   \
    " [hostname \"127.0.0.1\"] [uri \"/\"] [unique_id \"aw08WWx2yqmQ\"]"       \
    " [ref \"v8,25t:urlDecodeUni\"]"

/* libmodsecurity 3.0.9 + CRS 3.3.4, as the log callback gets them. */
static const char xss[] =
    "ModSecurity: Warning. detected XSS using libinjection. "
    "[file \"/usr/share/modsecurity-crs/rules/"
    "REQUEST-941-APPLICATION-ATTACK-XSS.conf\"] [line \"38\"] "
    "[id \"941100\"] [rev \"\"] [msg \"XSS Attack Detected via "
    "libinjection\"] [data \"Matched Data: XSS data found within ARGS:q: "
    "<script>alert(1)</script>\"] [severity \"2\"] [ver \"OWASP_CRS/3.3.4\"] "
    "[maturity \"0\"] [accuracy \"0\"] [tag \"attack-xss\"]" TAIL;

/* The probe rule's message. */
static const char probe_msg[] =
    "ModSecurity: Warning. Matched \"Operator `StrEq' with parameter `1' "
    "against variable `REQUEST_HEADERS:X-RLW-Probe-" NONCE "' (Value: `1' ) "
    "[file \"<<reference missing or not informed>>\"] [line \"1\"] "
    "[id \"9529091\"] [rev \"\"] [msg \"mod_ratelimit_waf phase 4 " NONCE
    "\"] [data \"\"] [severity \"0\"]" TAIL;

static const char score_msg[] =
    "ModSecurity: Warning.  [file \"<<reference missing or not informed>>\"] "
    "[line \"1\"] [id \"9529090\"] [rev \"\"] [msg \"mod_ratelimit_waf "
    "anomaly score " NONCE " 15\"] [data \"\"] [severity \"0\"] [ver \"\"] "
    "[maturity \"0\"] [accuracy \"0\"]" TAIL;

static const char deny[] =
    "[client 198.51.100.5] ModSecurity: Access denied with code 403 (phase "
    "2). Matched \"Operator `Ge' with parameter `5' against variable "
    "`TX:ANOMALY_SCORE' (Value: `15' ) [file \"/usr/share/modsecurity-crs/"
    "rules/REQUEST-949-BLOCKING-EVALUATION.conf\"] [line \"81\"] "
    "[id \"949110\"] [rev \"\"] [msg \"Inbound Anomaly Score Exceeded "
    "(Total Score: 15)\"] [data \"\"] [severity \"2\"]" TAIL;

static apr_pool_t *pool;

static void setup(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

static char *heap_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    memcpy(d, s, n);
    return d;
}

static int score_of(const char *msg, const char *nonce, long *v)
{
    char *m = heap_dup(msg);
    int rc = rlw_msc3_score(m, nonce, v);

    free(m);
    return rc;
}

START_TEST(score_rule_text)
{
    const char *rule = rlw_msc3_score_rule(pool, NONCE);

    ck_assert_ptr_nonnull(strstr(rule, "id:9529090,phase:5,pass"));
    /* noauditlog before log, or the message is silenced (#3180). */
    ck_assert_ptr_nonnull(strstr(rule, "noauditlog,log,"));
    ck_assert_ptr_nonnull(
        strstr(rule, "anomaly score " NONCE " %{tx.anomaly_score}'"));
}
END_TEST

START_TEST(score_read)
{
    long v = 0;
    char *m;

    ck_assert_int_eq(score_of(score_msg, NONCE, &v), 1);
    ck_assert_int_eq(v, 15);
    /* Unset tx.anomaly_score: the message, no score. */
    m = apr_pstrcat(pool,
                    "ModSecurity: Warning.  [file \"x\"] [line \"1\"] "
                    "[id \"9529090\"] [rev \"\"] [msg \"mod_ratelimit_waf "
                    "anomaly score " NONCE " \"] [data \"\"]",
                    NULL);
    v = 7;
    ck_assert_int_eq(score_of(m, NONCE, &v), 1);
    ck_assert_int_eq(v, -1);
    /* Huge: saturates. */
    m = apr_pstrcat(pool,
                    "ModSecurity: Warning.  [file \"x\"] [line \"1\"] "
                    "[id \"9529090\"] [rev \"\"] [msg \"mod_ratelimit_waf "
                    "anomaly score " NONCE " 99999999999999999999999\"]",
                    NULL);
    ck_assert_int_eq(score_of(m, NONCE, &v), 1);
    ck_assert_int_eq(v, LONG_MAX);
    /* Not a number. */
    m = apr_pstrcat(pool,
                    "ModSecurity: Warning.  [file \"x\"] [line \"1\"] "
                    "[id \"9529090\"] [rev \"\"] [msg \"mod_ratelimit_waf "
                    "anomaly score " NONCE " 1x\"]",
                    NULL);
    ck_assert_int_eq(score_of(m, NONCE, &v), -1);
}
END_TEST

START_TEST(score_forged)
{
    long v = 0;
    const char *m;

    /* Another rule's message is not the score. */
    ck_assert_int_eq(score_of(xss, NONCE, &v), 0);
    ck_assert_int_eq(score_of(deny, NONCE, &v), 0);
    /* Another configuration's marker. */
    ck_assert_int_eq(score_of(score_msg, "fedcba9876543210", &v), 0);
    ck_assert_int_eq(score_of(score_msg, "short", &v), 0);
    /* Attacker text in a detection rule's match, imitating the score
     * message without the marker: its first [id] is the rule's own... */
    m = "ModSecurity: Warning. Matched \"Operator `Rx' against variable "
        "`ARGS:q' (Value: `x [file \"y\"] [line \"1\"] [id \"9529090\"] "
        "[rev \"\"] [msg \"mod_ratelimit_waf anomaly score guess 0\"]' ) "
        "[file \"/r.conf\"] [line \"5\"] [id \"941100\"]";
    ck_assert_int_eq(score_of(m, NONCE, &v), 0);
    /* ... and a message that does not start as the library's. */
    ck_assert_int_eq(score_of(score_msg + 1, NONCE, &v), 0);
    ck_assert_int_eq(score_of("", NONCE, &v), 0);
    ck_assert_int_eq(rlw_msc3_score(NULL, NONCE, &v), 0);
    /* Cut anywhere: never a score, never a read past the end. */
    {
        size_t n;

        for (n = 0; n < sizeof(score_msg) - 1; n++) {
            char *cut = apr_pstrndup(pool, score_msg, n);
            int rc = score_of(cut, NONCE, &v);

            ck_assert(rc == 0 || rc == -1 || (rc == 1 && v >= -1));
        }
    }
}
END_TEST

START_TEST(probe)
{
    const char *rule = rlw_msc3_probe_rule(pool, NONCE);

    ck_assert_ptr_nonnull(
        strstr(rule, "SecRule REQUEST_HEADERS:X-RLW-Probe-" NONCE " "));
    ck_assert_ptr_nonnull(strstr(rule, "id:9529091,phase:4,pass"));
    ck_assert_ptr_nonnull(strstr(rule, "noauditlog,log,"));
    ck_assert_int_eq(rlw_msc3_is_probe(probe_msg, NONCE), 1);
    ck_assert_int_eq(rlw_msc3_is_probe(probe_msg, "fedcba9876543210"), 0);
    ck_assert_int_eq(rlw_msc3_is_probe(score_msg, NONCE), 0);
    ck_assert_int_eq(rlw_msc3_is_probe(xss, NONCE), 0);
    ck_assert_int_eq(rlw_msc3_is_probe(NULL, NONCE), 0);
    ck_assert_int_eq(rlw_msc3_is_probe(probe_msg, "short"), 0);
}
END_TEST

START_TEST(rule_id)
{
    uint32_t id = 0;
    char *m = heap_dup(xss);

    ck_assert_int_eq(rlw_msc3_rule_id(m, &id), 1);
    ck_assert_uint_eq(id, 941100);
    free(m);
    ck_assert_int_eq(rlw_msc3_rule_id(deny, &id), 1);
    ck_assert_uint_eq(id, 949110);
    ck_assert_int_eq(rlw_msc3_rule_id("no metadata", &id), 0);
    ck_assert_int_eq(rlw_msc3_rule_id(" [file \"x\"] [id \"0\"]", &id), 0);
    ck_assert_int_eq(rlw_msc3_rule_id(" [file \"x\"] [id \"1000000000\"]", &id),
                     0);
    ck_assert_int_eq(rlw_msc3_rule_id(" [file \"x\"] [id \"12", &id), 0);
    ck_assert_int_eq(rlw_msc3_rule_id(" [file \"x\"] [id \"\"]", &id), 0);
    ck_assert_int_eq(rlw_msc3_rule_id(NULL, &id), 0);
}
END_TEST

START_TEST(format_shape)
{
    const char *f = rlw_msc3_format(pool, xss, "192.0.2.9");

    ck_assert_ptr_nonnull(strstr(f, "[severity \"CRITICAL\"]"));
    ck_assert_ptr_null(strstr(f, "[severity \"2\"]"));
    ck_assert(strncmp(f, "[client 192.0.2.9] ModSecurity: Warning. ", 41) == 0);
    ck_assert(strncmp(rlw_msc3_format(pool, xss, NULL), "ModSecurity: ", 13) ==
              0);
    /* The intervention names its client already. */
    f = rlw_msc3_format(pool, deny, "192.0.2.9");
    ck_assert(strncmp(f,
                      "[client 198.51.100.5] ModSecurity: Access denied "
                      "with code 403",
                      62) == 0);
    ck_assert_ptr_nonnull(strstr(f, "[severity \"CRITICAL\"]"));
    /* Two severities (one forged): unchanged. */
    f = rlw_msc3_format(pool, "a [severity \"0\"] b [severity \"2\"]", NULL);
    ck_assert_str_eq(f, "ModSecurity: a [severity \"0\"] b [severity \"2\"]");
    /* Every digit 0..7 has mod_security2's name, others stay. */
    ck_assert_str_eq(rlw_msc3_format(pool, "x [severity \"0\"] y", NULL),
                     "ModSecurity: x [severity \"EMERGENCY\"] y");
    ck_assert_str_eq(rlw_msc3_format(pool, "x [severity \"7\"]", NULL),
                     "ModSecurity: x [severity \"DEBUG\"]");
    ck_assert_str_eq(rlw_msc3_format(pool, "x [severity \"8\"]", NULL),
                     "ModSecurity: x [severity \"8\"]");
    ck_assert_str_eq(rlw_msc3_format(pool, "x [severity \"2", NULL),
                     "ModSecurity: x [severity \"2");
    ck_assert_str_eq(rlw_msc3_format(pool, "[client 1.2.3.4", NULL),
                     "ModSecurity: [client 1.2.3.4");
    /* A bare intervention text gets the client and "ModSecurity: ". */
    ck_assert_str_eq(rlw_msc3_format(pool,
                                     "Request body limit is marked to "
                                     "reject the request",
                                     "192.0.2.9"),
                     "[client 192.0.2.9] ModSecurity: Request body limit is "
                     "marked to reject the request");
    ck_assert_str_eq(rlw_msc3_format(pool, NULL, NULL), "");
}
END_TEST

START_TEST(load_missing)
{
    char err[256];

    ck_assert_ptr_null(rlw_msc3_load("libnosuch-rlw.so.9", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "cannot load libnosuch-rlw.so.9"));
    /* A library without libmodsecurity's functions names the first. */
    ck_assert_ptr_null(rlw_msc3_load("libc.so.6", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "has no symbol msc_init"));
}
END_TEST

START_TEST(set_file)
{
    const char *m = rlw_msc3_set_file(pool, score_msg, "/etc/r.conf");

    ck_assert_ptr_nonnull(strstr(m, "Warning.  [file \"/etc/r.conf\"] "
                                    "[line \"1\"] [id \"9529090\"]"));
    ck_assert_ptr_null(strstr(m, "reference missing"));
    ck_assert_str_eq(rlw_msc3_set_file(pool, "no file", "/x"), "no file");
    ck_assert_str_eq(rlw_msc3_set_file(pool, " [file \"a", "/x"), " [file \"a");
    ck_assert_ptr_null(rlw_msc3_set_file(pool, NULL, "/x"));
}
END_TEST

START_TEST(load_real)
{
    char err[256];
    const rlw_msc3_api_t *a = rlw_msc3_load(NULL, err, sizeof(err));
    rlw_msc_engine_t *ms;

    if (!a) {
        /* Not installed here (the build does not need it). */
        ck_assert_ptr_nonnull(strstr(err, RLW_MSC3_SONAME));
        return;
    }
    ck_assert_ptr_eq(rlw_msc3_load(NULL, err, sizeof(err)), a);
    ms = a->msc_init();
    ck_assert_ptr_nonnull(ms);
    ck_assert_ptr_nonnull(strstr(a->msc_who_am_i(ms), "ModSecurity v3"));
    a->msc_cleanup(ms);
}
END_TEST

Suite *msc3_suite(void)
{
    Suite *s = suite_create("msc3");
    TCase *tc = tcase_create("messages");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, score_rule_text);
    tcase_add_test(tc, score_read);
    tcase_add_test(tc, score_forged);
    tcase_add_test(tc, probe);
    tcase_add_test(tc, rule_id);
    tcase_add_test(tc, format_shape);
    tcase_add_test(tc, set_file);
    tcase_add_test(tc, load_missing);
    tcase_add_test(tc, load_real);
    suite_add_tcase(s, tc);
    return s;
}

/* test_modsec.c - rule ids from ModSecurity 2.9 error-log messages: real
 * CRS 3.3 message text (one message, one id: the first [id "..."] after
 * the last ' [file "'), no metadata, duplicates, CRS summary rules,
 * malformed fields, the max, hostile text and reads bounded by the
 * string; and the exported anomaly score.
 *
 * Every message is handed to the parser in a heap block of exactly its
 * length + 1 (heap_copy()), so valgrind sees any read past the terminator.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "rlw_modsec.h"
#include "unit_suites.h"

#define CRS "/usr/share/modsecurity-crs/rules/"
#define TAIL                                                                   \
    " [hostname \"www.example.com\"] [uri \"/search\"]"                        \
    " [unique_id \"ZVN2Yn8AAQEAAB3nLbUAAAAB\"]"

/* mod_security2 2.9.7 + CRS 3.3.4, as the error_log hook sees them (the
 * leading "[client ...] " of apache2_util.c is left out: it carries no
 * id field). */
static const char xss_libinjection[] =
    "ModSecurity: Warning. detected XSS using libinjection. "
    "[file \"" CRS "REQUEST-941-APPLICATION-ATTACK-XSS.conf\"] "
    "[line \"55\"] [id \"941100\"] "
    "[msg \"XSS Attack Detected via libinjection\"] "
    "[data \"Matched Data: XSS data found within ARGS:q: "
    "<script>alert(1)</script>\"] "
    "[severity \"CRITICAL\"] [ver \"OWASP_CRS/3.3.4\"] "
    "[tag \"application-multi\"] [tag \"language-multi\"] "
    "[tag \"platform-multi\"] [tag \"attack-xss\"] "
    "[tag \"paranoia-level/1\"] [tag \"OWASP_CRS\"] "
    "[tag \"capec/1000/152/242\"]" TAIL;

static const char xss_script_tag[] =
    "ModSecurity: Warning. Pattern match "
    "\"(?i)<script[^>]*>[\\\\s\\\\S]*?\" at ARGS:q. "
    "[file \"" CRS "REQUEST-941-APPLICATION-ATTACK-XSS.conf\"] "
    "[line \"82\"] [id \"941110\"] "
    "[msg \"XSS Filter - Category 1: Script Tag Vector\"] "
    "[data \"Matched Data: <script> found within ARGS:q: "
    "<script>alert(1)</script>\"] "
    "[severity \"CRITICAL\"] [ver \"OWASP_CRS/3.3.4\"] "
    "[tag \"attack-xss\"] [tag \"paranoia-level/1\"]" TAIL;

static const char sqli_libinjection[] =
    "ModSecurity: Warning. detected SQLi using libinjection with "
    "fingerprint 's&sos' "
    "[file \"" CRS "REQUEST-942-APPLICATION-ATTACK-SQLI.conf\"] "
    "[line \"65\"] [id \"942100\"] "
    "[msg \"SQL Injection Attack Detected via libinjection\"] "
    "[data \"Matched Data: s&sos found within ARGS:id: "
    "1' or '1'='1\"] "
    "[severity \"CRITICAL\"] [ver \"OWASP_CRS/3.3.4\"] "
    "[tag \"attack-sqli\"] [tag \"paranoia-level/1\"]" TAIL;

static const char host_is_ip[] =
    "ModSecurity: Warning. Pattern match \"^[\\\\d.:]+$\" at "
    "REQUEST_HEADERS:Host. "
    "[file \"" CRS "REQUEST-920-PROTOCOL-ENFORCEMENT.conf\"] "
    "[line \"736\"] [id \"920350\"] "
    "[msg \"Host header is a numeric IP address\"] "
    "[data \"192.0.2.10\"] [severity \"WARNING\"] "
    "[ver \"OWASP_CRS/3.3.4\"] [tag \"protocol-violation\"]" TAIL;

static const char inbound_949[] =
    "ModSecurity: Access denied with code 403 (phase 2). Operator GE "
    "matched 5 at TX:anomaly_score. "
    "[file \"" CRS "REQUEST-949-BLOCKING-EVALUATION.conf\"] "
    "[line \"93\"] [id \"949110\"] "
    "[msg \"Inbound Anomaly Score Exceeded (Total Score: 10)\"] "
    "[severity \"CRITICAL\"] [ver \"OWASP_CRS/3.3.4\"] "
    "[tag \"application-multi\"] [tag \"anomaly-evaluation\"]" TAIL;

static const char outbound_959[] =
    "ModSecurity: Warning. Operator GE matched 4 at "
    "TX:outbound_anomaly_score. "
    "[file \"" CRS "RESPONSE-959-BLOCKING-EVALUATION.conf\"] "
    "[line \"69\"] [id \"959100\"] "
    "[msg \"Outbound Anomaly Score Exceeded (Total Score: 4)\"] "
    "[tag \"anomaly-evaluation\"]" TAIL;

static const char correlation_980[] =
    "ModSecurity: Warning. Operator GE matched 5 at "
    "TX:inbound_anomaly_score. "
    "[file \"" CRS "RESPONSE-980-CORRELATION.conf\"] "
    "[line \"92\"] [id \"980130\"] "
    "[msg \"Inbound Anomaly Score Exceeded (Total Inbound Score: 10 - "
    "SQLI=0,XSS=10,RFI=0,LFI=0,RCE=0,PHPI=0,HTTP=0,SESS=0): individual "
    "paranoia level scores: 10, 0, 0, 0\"] "
    "[ver \"OWASP_CRS/3.3.4\"] [tag \"event-correlation\"]" TAIL;

/* The wording of the brief's sample (libmodsecurity 3 style); the fields
 * are the same. */
static const char v3_style[] =
    "ModSecurity: Warning. Matched \"Operator `Rx' with parameter "
    "`(?i)<script[^>]*>[\\\\s\\\\S]*?' against variable `ARGS:q' "
    "(Value: `<script>alert(1)</script>' )\" at ARGS:q. "
    "[file \"" CRS "REQUEST-941-APPLICATION-ATTACK-XSS.conf\"] "
    "[line \"82\"] [id \"941110\"] [rev \"\"] "
    "[msg \"XSS Filter - Category 1: Script Tag Vector\"] "
    "[data \"Matched Data: <script> found within ARGS:q: "
    "<script>alert(1)</script>\"] [severity \"2\"] "
    "[ver \"OWASP_CRS/3.3.4\"] [maturity \"0\"] [accuracy \"0\"] "
    "[tag \"attack-xss\"]" TAIL;

/* The real metadata of xss_script_tag, for messages built around it. */
#define META_941110                                                            \
    " [file \"" CRS "REQUEST-941-APPLICATION-ATTACK-XSS.conf\"]"               \
    " [line \"82\"] [id \"941110\"]"                                           \
    " [msg \"XSS Filter - Category 1: Script Tag Vector\"]"                    \
    " [severity \"CRITICAL\"]" TAIL

/* A copy of s in a block of exactly strlen(s) + 1 bytes. */
static char *heap_copy(const char *s)
{
    size_t len = strlen(s) + 1;
    char *p = malloc(len);

    ck_assert_ptr_nonnull(p);
    memcpy(p, s, len);
    return p;
}

/* a b c concatenated, in a block of exactly their length + 1 bytes. */
static char *heap_cat(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *p = malloc(la + lb + lc + 1);

    ck_assert_ptr_nonnull(p);
    memcpy(p, a, la);
    memcpy(p + la, b, lb);
    memcpy(p + la + lb, c, lc + 1);
    return p;
}

/* rlw_modsec_rule_ids on a heap copy of msg. */
static int parse(const char *msg, uint32_t *ids, int *n, int max)
{
    char *p = heap_copy(msg);
    int added = rlw_modsec_rule_ids(p, ids, n, max);

    free(p);
    return added;
}

/* The id msg alone yields, 0 for none; fails if it yields more than one
 * or writes past ids[0]. */
static uint32_t id_of(const char *msg)
{
    uint32_t ids[3] = {0, 0xdeadbeef, 0xdeadbeef};
    int n = 0, added;

    added = parse(msg, ids, &n, 2);
    ck_assert_msg(added == n && (added == 0 || added == 1), "%d %d: %s", added,
                  n, msg);
    ck_assert_uint_eq(ids[1], 0xdeadbeef);
    ck_assert_uint_eq(ids[2], 0xdeadbeef);
    return added ? ids[0] : 0;
}

/* The id of a ModSecurity message whose metadata holds field as its id
 * field, followed by after (the rest of the metadata, or "" to end the
 * message right after field). */
static uint32_t id_in_meta(const char *field, const char *after)
{
    char *msg = heap_cat("ModSecurity: Warning. Pattern match \"x\" at "
                         "ARGS:q. [file \"" CRS "REQUEST-941-APPLICATION-"
                         "ATTACK-XSS.conf\"] [line \"82\"] ",
                         field, after);
    uint32_t ids[2] = {0, 0xdeadbeef};
    int n = 0, added;

    added = rlw_modsec_rule_ids(msg, ids, &n, 1);
    free(msg);
    ck_assert_int_eq(added, n);
    ck_assert_uint_eq(ids[1], 0xdeadbeef);
    return added ? ids[0] : 0;
}

START_TEST(real_messages)
{
    uint32_t ids[8];
    int n = 0;

    ck_assert_int_eq(parse(xss_libinjection, ids, &n, 8), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[0], 941100);
    ck_assert_int_eq(parse(xss_script_tag, ids, &n, 8), 1);
    ck_assert_int_eq(parse(sqli_libinjection, ids, &n, 8), 1);
    ck_assert_int_eq(parse(host_is_ip, ids, &n, 8), 1);
    ck_assert_int_eq(n, 4);
    ck_assert_uint_eq(ids[1], 941110);
    ck_assert_uint_eq(ids[2], 942100);
    ck_assert_uint_eq(ids[3], 920350);
    /* Each alone: exactly its own id. */
    ck_assert_uint_eq(id_of(xss_libinjection), 941100);
    ck_assert_uint_eq(id_of(xss_script_tag), 941110);
    ck_assert_uint_eq(id_of(sqli_libinjection), 942100);
    ck_assert_uint_eq(id_of(host_is_ip), 920350);
    ck_assert_uint_eq(id_of(v3_style), 941110);
}
END_TEST

START_TEST(one_id_per_message)
{
    /* ModSecurity writes one [id] per message; were there more after the
     * metadata starts, only the first counts. */
    uint32_t ids[4];
    int n = 0;
    char *msg = heap_cat("ModSecurity: Warning. Pattern match \"x\" at "
                         "ARGS:q. [file \"/r.conf\"] [line \"1\"] "
                         "[id \"7\"] [id \"8\"] [id \"9\"]",
                         " [msg \"m\"]", TAIL);

    ck_assert_int_eq(rlw_modsec_rule_ids(msg, ids, &n, 4), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[0], 7);
    /* Again: 7 is present, and 8 is still not read. */
    ck_assert_int_eq(rlw_modsec_rule_ids(msg, ids, &n, 4), 0);
    ck_assert_int_eq(n, 1);
    free(msg);
}
END_TEST

START_TEST(no_metadata_no_id)
{
    /* Without ' [file "' there is no metadata, so no id, whatever else
     * the message holds. */
    static const char *const none[] = {
        "[id \"941100\"]",
        " [id \"941100\"]",
        "ModSecurity: Warning. Pattern match \"x\" at ARGS:q. "
        "[line \"82\"] [id \"941110\"] [msg \"m\"]" TAIL,
        /* Near misses of the marker. */
        "ModSecurity: Warning. x. [fil \"/r.conf\"] [id \"941110\"]",
        "ModSecurity: Warning. x. [File \"/r.conf\"] [id \"941110\"]",
        "ModSecurity: Warning. x. [file '/r.conf'] [id \"941110\"]",
        "ModSecurity: Warning. x. [file  \"/r.conf\"] [id \"941110\"]",
        "ModSecurity: Warning. x.[file \"/r.conf\"] [id \"941110\"]",
        "[file \"/r.conf\"] [id \"941110\"]", /* no space before it */
        /* The last ' [file "' has no [id] after it. */
        "ModSecurity: Warning. x. [line \"1\"] [id \"941110\"] "
        "[file \"/r.conf\"]",
        "ModSecurity: Warning. x. [file \"/a.conf\"] [id \"941110\"] "
        "[file \"/b.conf\"] [line \"1\"]" TAIL,
        "ModSecurity: Warning. x. [file \"",
        " [file \"",
        "ModSecurity: Warning. Audit log: Failed to lock global mutex",
        "",
    };

    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        ck_assert_msg(id_of(none[i]) == 0, "%s", none[i]);
    /* The control: the same shapes with the marker do give the id. */
    ck_assert_uint_eq(id_of(" [file \"/r.conf\"] [id \"941110\"]"), 941110);
    ck_assert_uint_eq(id_of(" [file \"\"] [id \"941110\"]"), 941110);
}
END_TEST

START_TEST(duplicates_skipped)
{
    uint32_t ids[8];
    int n = 0;

    ck_assert_int_eq(parse(xss_script_tag, ids, &n, 8), 1);
    /* The same rule again (another argument, another request phase). */
    ck_assert_int_eq(parse(xss_script_tag, ids, &n, 8), 0);
    ck_assert_int_eq(parse(v3_style, ids, &n, 8), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[0], 941110);
    /* Another rule still goes in. */
    ck_assert_int_eq(parse(xss_libinjection, ids, &n, 8), 1);
    ck_assert_int_eq(parse(xss_libinjection, ids, &n, 8), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_uint_eq(ids[1], 941100);
}
END_TEST

START_TEST(ids_already_present)
{
    /* The caller's earlier ids count as present, whatever their order. */
    uint32_t ids[8] = {920350, 942100};
    int n = 2;

    ck_assert_int_eq(parse(sqli_libinjection, ids, &n, 8), 0);
    ck_assert_int_eq(parse(host_is_ip, ids, &n, 8), 0);
    ck_assert_int_eq(parse(xss_libinjection, ids, &n, 8), 1);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(ids[0], 920350);
    ck_assert_uint_eq(ids[1], 942100);
    ck_assert_uint_eq(ids[2], 941100);
}
END_TEST

START_TEST(summary_rules_skipped)
{
    uint32_t ids[8];
    int n = 0;

    ck_assert_int_eq(parse(inbound_949, ids, &n, 8), 0);
    ck_assert_int_eq(parse(outbound_959, ids, &n, 8), 0);
    ck_assert_int_eq(parse(correlation_980, ids, &n, 8), 0);
    ck_assert_int_eq(n, 0);
    /* They take no slot: the next real rule is the first id. */
    ck_assert_int_eq(parse(xss_libinjection, ids, &n, 8), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[0], 941100);
    /* A summary rule's message is that rule's: a later [id] in it is not
     * read instead. */
    ck_assert_uint_eq(id_in_meta("[id \"949110\"]", " [id \"942100\"]"), 0);
    /* Neighbours of the summary ranges are collected. */
    ck_assert_uint_eq(id_in_meta("[id \"948999\"]", TAIL), 948999);
    ck_assert_uint_eq(id_in_meta("[id \"981000\"]", TAIL), 981000);
}
END_TEST

START_TEST(summary_ranges)
{
    static const uint32_t yes[] = {949000, 949110, 949999, 959000, 959100,
                                   959999, 980000, 980130, 980999};
    static const uint32_t no[] = {0,      949,     948999, 950000,
                                  958999, 960000,  979999, 981000,
                                  941100, 9491100, 94911,  999999999};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(rlw_crs_is_summary(yes[i]), "%u", (unsigned)yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!rlw_crs_is_summary(no[i]), "%u", (unsigned)no[i]);
}
END_TEST

START_TEST(malformed_skipped)
{
    static const char *const bad[] = {
        "[id \"\"]",
        "[id \"12a\"]",
        "[id \"0\"]",
        "[id \"0000000000\"]",
        "[id \"12345678901\"]",             /* 11 digits */
        "[id \"99999999999999999999999\"]", /* would overflow 64 bits */
        "[id \"1000000000\"]",              /* 10 digits, over 999999999 */
        "[id \"4294967297\"]",              /* 2^32 + 1: no wrap to 1 */
        "[id \"941100",                     /* unterminated */
        "[id \"941100 ",
        "[id \"941100]",
        "[id \"941100\\\"]",
        "[id \" 941100\"]",
        "[id \"+941100\"]",
        "[id \"-941100\"]",
        "[id \"941 100\"]",
        "[id \"0x1f\"]",
        "[ID \"941100\"]",
        "[id 941100]",
        "[id '941100']",
        "[id  \"941100\"]",
        "[id\"941100\"]",
        "id \"941100\"",
        "[id \"",
        "[id ",
        "",
    };

    /* Each as the message's id field, at its very end and followed by
     * the rest of the metadata (which holds no [id]). */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(id_in_meta(bad[i], "") == 0, "end: %s", bad[i]);
        ck_assert_msg(id_in_meta(bad[i], " [msg \"m\"]" TAIL) == 0, "mid: %s",
                      bad[i]);
    }
    /* Bounds that are accepted. */
    ck_assert_uint_eq(id_in_meta("[id \"1\"]", ""), 1);
    ck_assert_uint_eq(id_in_meta("[id \"999999999\"]", TAIL), 999999999);
    /* Current behaviour: leading zeros are read as the number (10 chars
     * at most). */
    ck_assert_uint_eq(id_in_meta("[id \"0941100\"]", TAIL), 941100);
    ck_assert_uint_eq(id_in_meta("[id \"0000000001\"]", TAIL), 1);
    /* The message's id field is malformed: no id, and no later [id] is
     * read in its place. */
    ck_assert_uint_eq(id_in_meta("[id \"12a\"] [id \"7\"]", TAIL), 0);
    ck_assert_uint_eq(id_in_meta("[id \"\"] [id \"7\"]", TAIL), 0);
    ck_assert_uint_eq(id_in_meta("[id \"[id \"42\"]", TAIL), 0);
}
END_TEST

START_TEST(respects_max)
{
    uint32_t ids[8];
    int n = 0;

    for (int i = 0; i < 8; i++)
        ids[i] = 0xdeadbeef;
    ck_assert_int_eq(parse(xss_libinjection, ids, &n, 3), 1);
    ck_assert_int_eq(parse(xss_script_tag, ids, &n, 3), 1);
    ck_assert_int_eq(parse(sqli_libinjection, ids, &n, 3), 1);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(ids[2], 942100);
    /* Full (*n == max): nothing more, nothing written. */
    ck_assert_int_eq(parse(host_is_ip, ids, &n, 3), 0);
    ck_assert_int_eq(n, 3);
    for (int i = 3; i < 8; i++)
        ck_assert_uint_eq(ids[i], 0xdeadbeef);
    /* Room for one more: it goes in. */
    ck_assert_int_eq(parse(host_is_ip, ids, &n, 4), 1);
    ck_assert_int_eq(n, 4);
    ck_assert_uint_eq(ids[3], 920350);
    ck_assert_uint_eq(ids[4], 0xdeadbeef);
    /* *n above max: nothing. */
    n = 5;
    ck_assert_int_eq(parse(v3_style, ids, &n, 2), 0);
    ck_assert_int_eq(n, 5);
    /* max 0, negative max, negative *n: nothing. */
    n = 0;
    ck_assert_int_eq(parse(xss_libinjection, ids, &n, 0), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(parse(xss_libinjection, ids, &n, -1), 0);
    ck_assert_int_eq(n, 0);
    n = -1;
    ck_assert_int_eq(parse(xss_libinjection, ids, &n, 8), 0);
    ck_assert_int_eq(n, -1);
    for (int i = 4; i < 8; i++)
        ck_assert_uint_eq(ids[i], 0xdeadbeef);
}
END_TEST

START_TEST(null_arguments)
{
    uint32_t ids[2];
    int n = 0;

    ck_assert_int_eq(rlw_modsec_rule_ids(NULL, ids, &n, 2), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(rlw_modsec_rule_ids(xss_libinjection, NULL, &n, 2), 0);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(rlw_modsec_rule_ids(xss_libinjection, ids, NULL, 2), 0);
}
END_TEST

/* Cuts msg at every length, in a block of exactly that size: the id
 * counts only once its closing quote (after the last ' [file "' of the
 * whole message) is in, it is always id, and no cut makes the parser read
 * past the end (valgrind, CK_FORK=no). */
static void cut_everywhere(const char *msg, uint32_t id)
{
    char want[16];
    const char *meta = NULL, *at;
    size_t whole = strlen(msg), need;

    for (at = msg; (at = strstr(at, " [file \"")) != NULL; at++)
        meta = at;
    ck_assert_ptr_nonnull(meta);
    snprintf(want, sizeof(want), " [id \"%u\"", (unsigned)id);
    at = strstr(meta, want);
    ck_assert_ptr_nonnull(at);
    need = (size_t)(at - msg) + strlen(want);

    for (size_t len = 0; len <= whole; len++) {
        char *p = malloc(len + 1);
        uint32_t ids[2] = {0, 0xdeadbeef};
        int n = 0, added;

        ck_assert_ptr_nonnull(p);
        memcpy(p, msg, len);
        p[len] = '\0';
        added = rlw_modsec_rule_ids(p, ids, &n, 1);
        free(p);
        ck_assert_msg(added == (len >= need ? 1 : 0), "len %zu: %d", len,
                      added);
        ck_assert_int_eq(n, added);
        if (added)
            ck_assert_uint_eq(ids[0], id);
        ck_assert_uint_eq(ids[1], 0xdeadbeef);
    }
}

/* The attacker's argument name, as mod_security2 2.9 logs it in
 * "at ARGS:<name>." (log_escape_nq_ex: quotes left as they are): a
 * request ?%5Bid%20%22920100%22%5D...=<script> puts [id "..."] fields in
 * the message before the real metadata. */
static const char fake_ids_in_arg_name[] =
    "ModSecurity: Warning. Pattern match "
    "\"(?i)<script[^>]*>[\\\\s\\\\S]*?\" at "
    "ARGS: [id \"920100\"][id \"930100\"] [id \"932100\"]"
    "[id \"933100\"]." META_941110;

/* The same with whole fake metadata, ' [file "' included, in the name. */
static const char fake_file_in_arg_name[] =
    "ModSecurity: Warning. Pattern match "
    "\"(?i)<script[^>]*>[\\\\s\\\\S]*?\" at "
    "ARGS:x [file \"" CRS "REQUEST-920-PROTOCOL-ENFORCEMENT.conf\"] "
    "[line \"1\"] [id \"920100\"] [file \"/a\"] [id \"930100\"]"
    " [file \"" META_941110;

/* mod_security2 2.9 writes [data "..."] through log_escape_hex: an
 * attacker's quote becomes \x22, so fields in the request do not look
 * like fields in the log. */
static const char fake_ids_in_data[] =
    "ModSecurity: Warning. detected XSS using libinjection. "
    "[file \"" CRS "REQUEST-941-APPLICATION-ATTACK-XSS.conf\"] "
    "[line \"55\"] [id \"941100\"] "
    "[msg \"XSS Attack Detected via libinjection\"] "
    "[data \"Matched Data: XSS data found within ARGS:q: "
    "<svg/onload=x> [id \\x221234\\x22][id \\x225678\\x22]"
    " [file \\x22/a\\x22] [id \\x22930100\\x22]\"] "
    "[severity \"CRITICAL\"]" TAIL;

START_TEST(every_prefix_in_bounds)
{
    cut_everywhere(xss_libinjection, 941100);
    cut_everywhere(xss_script_tag, 941110);
    cut_everywhere(host_is_ip, 920350);
    /* A cut before the real metadata leaves only fake fields and no
     * ' [file "': still nothing. */
    cut_everywhere(fake_ids_in_arg_name, 941110);
    cut_everywhere(fake_ids_in_data, 941100);
}
END_TEST

START_TEST(hostile_arg_name_before_metadata)
{
    /* The former bug: the fake ids were collected first and, once max
     * was reached, the real 941110 was lost. Now the real id alone. */
    static const uint32_t fake[] = {920100, 930100, 932100, 933100};
    uint32_t ids[5];
    int n = 0;

    for (int i = 0; i < 5; i++)
        ids[i] = 0xdeadbeef;
    ck_assert_int_eq(parse(fake_ids_in_arg_name, ids, &n, 4), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[0], 941110);
    for (int i = 1; i < 5; i++)
        ck_assert_uint_eq(ids[i], 0xdeadbeef);
    for (size_t i = 0; i < sizeof(fake) / sizeof(fake[0]); i++)
        ck_assert_uint_ne(ids[0], fake[i]);
    /* With room for one only, that one is the real id. */
    n = 0;
    ck_assert_int_eq(parse(fake_ids_in_arg_name, ids, &n, 1), 1);
    ck_assert_uint_eq(ids[0], 941110);
    ck_assert_uint_eq(ids[1], 0xdeadbeef);
    /* The fakes do not stand in for a real id already present. */
    ck_assert_int_eq(parse(fake_ids_in_arg_name, ids, &n, 4), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[1], 0xdeadbeef);
}
END_TEST

START_TEST(hostile_fake_file_in_arg_name)
{
    /* A fake ' [file "' in the name (even one left open right before the
     * real one) does not move the metadata: the last one is ModSecurity's. */
    uint32_t ids[4] = {0, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef};
    int n = 0;

    ck_assert_int_eq(parse(fake_file_in_arg_name, ids, &n, 4), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[0], 941110);
    ck_assert_uint_eq(ids[1], 0xdeadbeef);
    ck_assert_uint_eq(id_of("ModSecurity: Warning. x at ARGS:"
                            " [file \"\"] [id \"920100\"]." META_941110),
                      941110);
}
END_TEST

START_TEST(hostile_data_escaped_by_modsecurity)
{
    uint32_t ids[4] = {0, 0xdeadbeef};
    int n = 0;

    ck_assert_int_eq(parse(fake_ids_in_data, ids, &n, 4), 1);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[0], 941100);
    ck_assert_uint_eq(ids[1], 0xdeadbeef);
}
END_TEST

/* 20000 fake fields of form (a printf format with one %d), with junk
 * that almost matches between them; heap-allocated, *len set. */
static char *flood(const char *form, size_t *len)
{
    enum { FIELDS = 20000 };
    static const char *const junk[] = {"[id \"", "[id \"9a", "[i", " [file",
                                       "[id \"\"]"};
    size_t cap = (size_t)FIELDS * 64 + 64, off = 0;
    char *msg = malloc(cap);

    ck_assert_ptr_nonnull(msg);
    msg[0] = '\0';
    for (int i = 0; i < FIELDS; i++) {
        off += (size_t)snprintf(msg + off, cap - off, form,
                                1 + (i % (FIELDS / 2)));
        off += (size_t)snprintf(msg + off, cap - off, "%s", junk[i % 5]);
    }
    ck_assert_uint_lt(off, cap);
    *len = off;
    return msg;
}

START_TEST(hostile_flood_bounded)
{
    enum { MAX = 16 };
    uint32_t ids[MAX + 1];
    size_t len;
    char *ids_only = flood(" [id \"%d\"]", &len);
    char *with_files = flood(" [file \"x\"] [id \"%d\"]", &len);
    char *msg;
    int n = 0;

    for (int i = 0; i <= MAX; i++)
        ids[i] = 0xdeadbeef;
    /* Fake ids and no ' [file "': nothing. */
    ck_assert_int_eq(parse(ids_only, ids, &n, MAX), 0);
    ck_assert_int_eq(n, 0);
    /* Floods are longer than mod_security2 ever logs (it cuts at 1024
     * bytes): not read at all, whatever follows. */
    msg =
        heap_cat("ModSecurity: Warning. x at ARGS:", ids_only, "." META_941110);
    ck_assert_int_eq(rlw_modsec_rule_ids(msg, ids, &n, MAX), 0);
    free(msg);
    ck_assert_int_eq(n, 0);
    ck_assert_uint_eq(ids[0], 0xdeadbeef);
    msg = heap_cat("ModSecurity: Warning. x at ARGS:", with_files,
                   "." META_941110);
    ck_assert_int_eq(rlw_modsec_rule_ids(msg, ids, &n, MAX), 0);
    free(msg);
    ck_assert_int_eq(n, 0);
    ck_assert_uint_eq(ids[0], 0xdeadbeef);
    /* Fake files and ids alone: at most one id, whatever it is. */
    n = 0;
    ck_assert_int_le(parse(with_files, ids, &n, MAX), 1);
    ck_assert_int_le(n, 1);
    for (int i = 1; i <= MAX; i++)
        ck_assert_uint_eq(ids[i], 0xdeadbeef);
    free(ids_only);
    free(with_files);
}
END_TEST

/* mod_security2 cuts messages at 1024 bytes: an argument name of ~1000
 * bytes ending in forged metadata would then be the last thing in the
 * message. Messages of RLW_MODSEC_MSG_MAX bytes or more are not read. */
START_TEST(hostile_cut_message_ignored)
{
    char msg[1100];
    const char *tail = "[file \"x\"] [line \"1\"] [id \"920100\"]";
    const char *real = "ModSecurity: Warning. Pattern match \"x\" at ARGS:q. "
                       "[file \"/r.conf\"] [line \"5\"] [id \"941110\"]";
    uint32_t ids[4] = {0};
    int n = 0;
    size_t pad;

    /* A message just under the limit is read. */
    ck_assert_int_eq(parse(real, ids, &n, 4), 1);
    ck_assert_uint_eq(ids[0], 941110);
    /* A cut one, ending in forged metadata, is not. */
    strcpy(msg, "ModSecurity: Warning. Pattern match \"x\" at ARGS:");
    pad = 1023 - strlen(msg) - strlen(tail) - 1;
    memset(msg + strlen(msg), 'a', pad);
    msg[1023 - strlen(tail) - 1] = ' ';
    strcpy(msg + 1023 - strlen(tail), tail);
    ck_assert_uint_eq(strlen(msg), 1023);
    ck_assert_int_eq(parse(msg, ids, &n, 4), 0);
    ck_assert_int_eq(n, 1);
    ck_assert_uint_eq(ids[1], 0);
}
END_TEST

/* The exported anomaly score: numbers count, nothing is not an error,
 * anything else is refused (RLW00006 in the glue). */
START_TEST(score_text)
{
    static const struct {
        const char *text;
        int rc;
        long score;
    } cases[] = {
        {"0", 1, 0},
        {"5", 1, 5},
        {"1000", 1, 1000},
        {"-0", 1, 0},
        {" 7", 1, 7},
        {"+3", 1, 3},
        {"99999999999999999999999", 1, LONG_MAX},
        {"", 0, -1},
        {NULL, 0, -1},
        {"-1", -1, -1},
        {"5x", -1, -1},
        {"5 ", -1, -1},
        {" ", -1, -1},
        {"abc", -1, -1},
        {"0x10", -1, -1},
        {"%{tx.anomaly_score}", -1, -1},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long score = -1;
        int rc = rlw_modsec_score(cases[i].text, &score);

        ck_assert_msg(rc == cases[i].rc && score == cases[i].score,
                      "'%s': rc %d score %ld, expected %d %ld",
                      cases[i].text ? cases[i].text : "(null)", rc, score,
                      cases[i].rc, cases[i].score);
    }
}
END_TEST

Suite *modsec_suite(void)
{
    Suite *s = suite_create("modsec");
    TCase *tc = tcase_create("rule_ids");

    tcase_add_test(tc, real_messages);
    tcase_add_test(tc, one_id_per_message);
    tcase_add_test(tc, no_metadata_no_id);
    tcase_add_test(tc, duplicates_skipped);
    tcase_add_test(tc, ids_already_present);
    tcase_add_test(tc, summary_rules_skipped);
    tcase_add_test(tc, summary_ranges);
    tcase_add_test(tc, malformed_skipped);
    tcase_add_test(tc, respects_max);
    tcase_add_test(tc, null_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_test(tc, every_prefix_in_bounds);
    tcase_add_test(tc, hostile_arg_name_before_metadata);
    tcase_add_test(tc, hostile_fake_file_in_arg_name);
    tcase_add_test(tc, hostile_data_escaped_by_modsecurity);
    tcase_add_test(tc, hostile_flood_bounded);
    tcase_add_test(tc, hostile_cut_message_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("score");
    tcase_add_test(tc, score_text);
    suite_add_tcase(s, tc);
    return s;
}

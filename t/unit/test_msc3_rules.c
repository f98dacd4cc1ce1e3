/* test_msc3_rules.c - the log / noauditlog fix-up of rule files for
 * libmodsecurity v3 (rlw_msc3_rules.c): the CRS's own rules (3.3.4's
 * 980130, 4.28.0's 980170 under a logging SecDefaultAction), rules left as
 * written, defaults, comments, quoting, line numbers kept.
 */
#include <stdint.h>
#include <string.h>

#include <check.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "rlw_msc3_rules.h"
#include "unit_suites.h"

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

/* The fix-up of text from a fresh state, or NULL. */
static const char *fix(const char *text, apr_array_header_t *ids)
{
    rlw_msc3_logfix_t st;

    rlw_msc3_logfix_init(&st);
    return rlw_msc3_logfix(pool, &st, text, strlen(text), ids);
}

static int lines(const char *s)
{
    int n = 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* CRS 3.3.4, RESPONSE-980-CORRELATION.conf (msg shortened). */
static const char crs3[] =
    "# comment: log,noauditlog\n"
    "SecRule TX:INBOUND_ANOMALY_SCORE \"@ge %{tx.inbound_anomaly_score_"
    "threshold}\" \\\n"
    "    \"id:980130,\\\n"
    "    phase:5,\\\n"
    "    pass,\\\n"
    "    t:none,\\\n"
    "    log,\\\n"
    "    noauditlog,\\\n"
    "    msg:'Inbound Anomaly Score Exceeded (Total Inbound Score: "
    "%{TX.INBOUND_ANOMALY_SCORE} - SQLI=%{tx.sql_injection_score},XSS=1)',\\\n"
    "    tag:'event-correlation',\\\n"
    "    ver:'OWASP_CRS/3.3.4'\"\n";

START_TEST(crs3_980130)
{
    apr_array_header_t *ids = apr_array_make(pool, 4, sizeof(uint32_t));
    const char *out = fix(crs3, ids);

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(strstr(out, "    log,\\\n    noauditlog,log,\\\n"));
    ck_assert_int_eq(strlen(out), strlen(crs3) + 4);
    ck_assert_int_eq(lines(out), lines(crs3));
    /* the comment is left alone */
    ck_assert_ptr_nonnull(strstr(out, "# comment: log,noauditlog\n"));
    ck_assert_int_eq(ids->nelts, 1);
    ck_assert_uint_eq(APR_ARRAY_IDX(ids, 0, uint32_t), 980130);
}
END_TEST

/* CRS 4.28.0: a SecDefaultAction that logs in crs-setup.conf, then 980170
 * with noauditlog alone and a message over continuation lines. */
START_TEST(crs4_980170_default)
{
    rlw_msc3_logfix_t st;
    const char setup_conf[] =
        "SecDefaultAction \"phase:1,log,auditlog,pass\"\n"
        "SecDefaultAction \"phase:2,log,auditlog,pass\"\n";
    const char rules[] = "SecAction \\\n"
                         "    \"id:980170,\\\n"
                         "    phase:5,\\\n"
                         "    pass,\\\n"
                         "    t:none,\\\n"
                         "    noauditlog,\\\n"
                         "    msg:'Anomaly Scores: \\\n"
                         "(Inbound Scores: blocking=%{tx.a}, x=1) - \\\n"
                         "(SQLI=%{tx.sql_injection_score}, XSS=%{tx.x})',\\\n"
                         "    tag:'reporting',\\\n"
                         "    ver:'OWASP_CRS/4.28.0'\"\n";
    const char *out;

    rlw_msc3_logfix_init(&st);
    /* auditlog after log: the library's flag is mod_security2's already */
    ck_assert_ptr_null(
        rlw_msc3_logfix(pool, &st, setup_conf, strlen(setup_conf), NULL));
    out = rlw_msc3_logfix(pool, &st, rules, strlen(rules), NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(strstr(out, "    noauditlog,log,\\\n"));
    ck_assert_int_eq(lines(out), lines(rules));
}
END_TEST

START_TEST(left_as_written)
{
    /* the library already agrees with mod_security2 */
    ck_assert_ptr_null(fix("SecRule ARGS \"@rx a\" "
                           "\"id:1,phase:2,pass,nolog,noauditlog\"\n",
                           NULL));
    ck_assert_ptr_null(
        fix("SecAction \"id:2,phase:5,pass,noauditlog,log\"\n", NULL));
    ck_assert_ptr_null(
        fix("SecAction \"id:3,phase:5,pass,log,auditlog\"\n", NULL));
    /* commented out, inside a message, in another directive */
    ck_assert_ptr_null(fix("#SecAction \"id:4,log,noauditlog\"\n"
                           "  # SecAction \"id:4,log,noauditlog\"\n"
                           "SecAction \"id:5,pass,msg:'a, noauditlog'\"\n"
                           "SecComponentSignature \"log,noauditlog\"\n",
                           NULL));
    ck_assert_ptr_null(fix("", NULL));
}
END_TEST

START_TEST(defaults)
{
    rlw_msc3_logfix_t st;
    const char text[] =
        "SecDefaultAction \"phase:2,nolog,auditlog,pass\"\n"
        "SecRule ARGS \"@rx a\" \"id:10,phase:2,pass,noauditlog\"\n"
        "SecRule ARGS \"@rx a\" \"id:11,phase:2,pass,auditlog\"\n"
        "SecRule ARGS \"@rx a\" \"id:12,phase:request,pass,log,auditlog\"\n"
        "SecRule ARGS \"@rx a\" \"id:13,phase:1,pass,noauditlog\"\n";
    const char *out;

    rlw_msc3_logfix_init(&st);
    out = rlw_msc3_logfix(pool, &st, text, strlen(text), NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(st.default_log[2], 0);
    ck_assert_int_eq(st.default_log[1], 1);
    /* the default itself: auditlog would make the library log */
    ck_assert_ptr_nonnull(strstr(out, "\"phase:2,nolog,auditlog,nolog,pass\""));
    /* phase 2 does not log: noauditlog agrees, auditlog does not */
    ck_assert_ptr_nonnull(strstr(out, "\"id:10,phase:2,pass,noauditlog\""));
    ck_assert_ptr_nonnull(strstr(out, "\"id:11,phase:2,pass,auditlog,nolog\""));
    ck_assert_ptr_nonnull(
        strstr(out, "\"id:12,phase:request,pass,log,auditlog\""));
    /* phase 1 logs by default */
    ck_assert_ptr_nonnull(strstr(out, "\"id:13,phase:1,pass,noauditlog,log\""));
}
END_TEST

START_TEST(quoting)
{
    apr_array_header_t *ids = apr_array_make(pool, 4, sizeof(uint32_t));
    /* an escaped double quote in the operator and a quote in a message;
     * spaces around actions; CRLF line ends; case */
    const char text[] =
        "SecRule ARGS \"@rx \\\"x\" \"id:20, Log , msg:'it\\'s, \\\"q\\\"', "
        "NoAuditLog ,pass\"\r\n"
        "SecRule ARGS @rx \\\r\n  \"id:21,log,noauditlog\"\r\n";
    const char *out = fix(text, ids);

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(strstr(out, "NoAuditLog,log ,pass\""));
    ck_assert_ptr_nonnull(strstr(out, "\"id:21,log,noauditlog,log\""));
    ck_assert_int_eq(ids->nelts, 2);
    ck_assert_uint_eq(APR_ARRAY_IDX(ids, 1, uint32_t), 21);
}
END_TEST

/* Backslash pairs of a quoted operator, as Apache reads them (#2148). */
START_TEST(backslashes)
{
    /* CRS 3.3.4's 920460 and 942440 (parts) */
    const char crs3[] =
        "SecRule ARGS \"@rx (?:^|[^\\\\\\\\])\\\\\\\\[cdegh]\" \\\n"
        "    \"id:920460,phase:2,block,msg:'a \\\\ b'\"\n"
        "SecRule ARGS \"@rx [';]--|;?\\\\x00\" \"id:942440,phase:2,block\"\n";
    const char *out = fix(crs3, NULL);

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(strstr(out, "\"@rx (?:^|[^\\\\])\\\\[cdegh]\""));
    ck_assert_ptr_nonnull(strstr(out, "\"@rx [';]--|;?\\x00\""));
    /* actions left as written */
    ck_assert_ptr_nonnull(strstr(out, "msg:'a \\\\ b'"));
    ck_assert_int_eq(lines(out), lines(crs3));
    /* left as written: one backslash; a run before the closing quote, an
     * escaped quote, a macro, a line end; an unquoted operator */
    ck_assert_ptr_null(fix("SecRule ARGS \"@rx \\d\" \"id:1\"\n", NULL));
    ck_assert_ptr_null(fix("SecRule ARGS \"@rx a\\\\\" \"id:1\"\n", NULL));
    ck_assert_ptr_null(fix("SecRule ARGS \"@rx a\\\\\\\"b\" \"id:1\"\n", NULL));
    ck_assert_ptr_null(
        fix("SecRule ARGS \"@rx \\\\%{tx.a}\" \"id:1\"\n", NULL));
    ck_assert_ptr_null(fix("SecRule ARGS @rx \\\\d \"id:1\"\n", NULL));
    ck_assert_ptr_null(fix("SecRule ARGS:/a\\\\b/ \"@rx a\" \"id:1\"\n", NULL));
    /* three: one pair taken, the single one kept */
    out = fix("SecRule ARGS \"@rx a\\\\\\b\" \"id:1\"\n", NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, "SecRule ARGS \"@rx a\\\\b\" \"id:1\"\n");
}
END_TEST

START_TEST(not_text)
{
    rlw_msc3_logfix_t st;
    const char junk[] = "SecRule \"\\\nSecAction \"id:1,log,noauditlog";

    rlw_msc3_logfix_init(&st);
    ck_assert_ptr_null(rlw_msc3_logfix(pool, NULL, "x", 1, NULL));
    ck_assert_ptr_null(rlw_msc3_logfix(pool, &st, NULL, 0, NULL));
    /* an unterminated quote: read up to the end, no read past it */
    ck_assert_ptr_nonnull(
        rlw_msc3_logfix(pool, &st, junk + 10, strlen(junk + 10), NULL));
    (void)rlw_msc3_logfix(pool, &st, junk, strlen(junk), NULL);
}
END_TEST

/* The rules that read REQUEST_BODY, chained ones as 0; the variable's
 * name only as a whole (not REQUEST_BODY_LENGTH, not TX:REQUEST_BODY). */
static const char bodyrules[] =
    "SecRule REQUEST_BODY \"@rx a\" \"id:101,phase:2,pass\"\n"
    "SecRule REQUEST_BODY_LENGTH \"@gt 1\" \"id:102,phase:2,pass\"\n"
    "SecRule ARGS|TX:request_body \"@rx a\" \"id:103,phase:2,pass\"\n"
    "SecRule ARGS \"@rx a\" \"id:104,phase:2,pass,chain\"\n"
    "    SecRule ARGS|!REQUEST_HEADERS|request_body \"@rx b\" \\\n"
    "        \"chain\"\n"
    "    SecRule ARGS \"@rx c\"\n"
    "SecRule ARGS|REQUEST_BODY \"@rx a\" \"id:105,phase:2,pass\"\n"
    "SecAction \"id:106,phase:1,pass,nolog,ctl:forceRequestBodyVariable=On\"\n"
    "SecRule ARGS \"@rx a\" \"id:107,phase:1,pass,chain\"\n"
    "    SecRule ARGS \"@rx b\" \\\n"
    "        \"t:none,ctl:forceRequestBodyVariable=off,setvar:tx.x=1\"\n";

START_TEST(reqbody_ids)
{
    rlw_msc3_logfix_t st;
    apr_array_header_t *ids = apr_array_make(pool, 4, sizeof(uint32_t));
    const char *out, *rules;

    /* Not asked: nothing noted, nothing rewritten. */
    rlw_msc3_logfix_init(&st);
    ck_assert_ptr_null(
        rlw_msc3_logfix(pool, &st, bodyrules, strlen(bodyrules), NULL));
    ck_assert_ptr_null(rlw_msc3_reqbody_rules(pool, NULL));

    rlw_msc3_logfix_init(&st);
    st.reqbody_ids = apr_array_make(pool, 4, sizeof(uint32_t));
    st.mark_force = 1;
    out = rlw_msc3_logfix(pool, &st, bodyrules, strlen(bodyrules), ids);
    ck_assert_int_eq(st.reqbody_ids->nelts, 3);
    ck_assert_uint_eq(APR_ARRAY_IDX(st.reqbody_ids, 0, uint32_t), 101);
    ck_assert_uint_eq(APR_ARRAY_IDX(st.reqbody_ids, 1, uint32_t), 0);
    ck_assert_uint_eq(APR_ARRAY_IDX(st.reqbody_ids, 2, uint32_t), 105);
    ck_assert_int_eq(ids->nelts, 7);
    /* ctl:forceRequestBodyVariable made visible, line numbers kept */
    ck_assert_ptr_nonnull(out);
    ck_assert_int_eq(lines(out), lines(bodyrules));
    ck_assert_ptr_nonnull(
        strstr(out, "ctl:forceRequestBodyVariable=On,setvar:tx.rlw_reqbody_"
                    "forced=1\"\n"));
    ck_assert_ptr_nonnull(
        strstr(out, "ctl:forceRequestBodyVariable=off,setvar:!tx.rlw_reqbody_"
                    "forced,setvar:tx.x=1\"\n"));

    rules = rlw_msc3_reqbody_rules(pool, st.reqbody_ids);
    ck_assert_ptr_nonnull(rules);
    ck_assert_ptr_nonnull(strstr(rules, "id:9529092,phase:1,"));
    ck_assert_ptr_nonnull(strstr(rules, "id:9529093,phase:1,"));
    ck_assert_ptr_nonnull(
        strstr(rules, ",ctl:ruleRemoveTargetById=101;REQUEST_BODY,ctl:rule"
                      "RemoveTargetById=0;REQUEST_BODY,ctl:ruleRemoveTargetById"
                      "=105;REQUEST_BODY\"\n"));
    /* each id once */
    APR_ARRAY_PUSH(st.reqbody_ids, uint32_t) = 101;
    ck_assert_str_eq(rlw_msc3_reqbody_rules(pool, st.reqbody_ids), rules);
}
END_TEST

/* The rules whose disruptive action is drop: their own (the last
 * disruptive action counts), or block under a dropping SecDefaultAction of
 * their phase; never a chained rule. */
START_TEST(drop_ids)
{
    static const char text[] =
        "SecRule ARGS \"@rx a\" \"id:201,phase:1,drop,log\"\n"
        "SecRule ARGS \"@rx a\" \"id:202,phase:1,deny,log\"\n"
        "SecRule ARGS \"@rx a\" \"id:203,phase:2,block\"\n"
        "SecDefaultAction \"phase:2,log,drop\"\n"
        "SecRule ARGS \"@rx a\" \"id:204,phase:2,block\"\n"
        "SecRule ARGS \"@rx a\" \"id:205,phase:1,block\"\n"
        "SecRule ARGS \"@rx a\" \"id:206,phase:2,drop,pass\"\n"
        "SecAction \"id:207,phase:2,drop,chain\"\n"
        "    SecRule ARGS \"@rx a\" \"id:208,drop\"\n"
        "SecDefaultAction \"phase:2,log,deny\"\n"
        "SecRule ARGS \"@rx a\" \"id:209,phase:2,block\"\n";
    rlw_msc3_logfix_t st;
    const char *out;

    rlw_msc3_logfix_init(&st);
    st.drop_ids = apr_array_make(pool, 4, sizeof(uint32_t));
    out = rlw_msc3_logfix(pool, &st, text, strlen(text), NULL);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(st.drop_ids->nelts, 3);
    ck_assert_uint_eq(APR_ARRAY_IDX(st.drop_ids, 0, uint32_t), 201);
    ck_assert_uint_eq(APR_ARRAY_IDX(st.drop_ids, 1, uint32_t), 204);
    ck_assert_uint_eq(APR_ARRAY_IDX(st.drop_ids, 2, uint32_t), 207);
}
END_TEST

/* @validateUrlEncoding on REQUEST_URI reads REQUEST_URI_RAW (what the
 * client sent, mod_security2's REQUEST_URI); other operators, other
 * variables and longer names are left alone. */
START_TEST(raw_uri)
{
    static const char text[] =
        "SecRule REQUEST_URI \"@rx \\x25\" \"id:301,phase:2,pass,chain\"\n"
        "    SecRule REQUEST_URI \"@validateUrlEncoding\" \"t:none\"\n"
        "SecRule ARGS|request_uri|REQUEST_URI_RAW|TX:REQUEST_URI "
        "\"!@validateUrlEncoding\" \"id:302,phase:2,pass\"\n"
        "SecRule REQUEST_URI \"@validateUrlEncodingX\" \"id:303,phase:2\"\n";
    const char *out = fix(text, NULL);

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(strstr(out, "SecRule REQUEST_URI \"@rx \\x25\""));
    ck_assert_ptr_nonnull(
        strstr(out, "    SecRule REQUEST_URI_RAW \"@validateUrlEncoding\""));
    ck_assert_ptr_nonnull(strstr(
        out, "SecRule ARGS|request_uri_RAW|REQUEST_URI_RAW|TX:REQUEST_URI "
             "\"!@validate"));
    ck_assert_ptr_nonnull(
        strstr(out, "SecRule REQUEST_URI \"@validateUrlEncodingX\""));
    ck_assert_int_eq(lines(out), lines(text));
}
END_TEST

/* Rules that read multipart part headers trim them (libmodsecurity keeps
 * their line end): t:trimRight after the rule's own transformations. */
START_TEST(part_headers)
{
    static const char text[] =
        "SecRule MULTIPART_PART_HEADERS \"@rx ^content-type\\s*:\\s*(.*)$\" "
        "\\\n    \"id:401,phase:2,capture,t:none,t:lowercase,chain\"\n"
        "    SecRule TX:1 \"!@rx ^text/plain$\" \"t:none\"\n"
        "SecRule &MULTIPART_PART_HEADERS:_charset_ \"!@eq 0\" \"\"\n"
        "SecRule TX:MULTIPART_PART_HEADERS|MULTIPART_PART_HEADERSX \"@rx a\" "
        "\"id:403,phase:2\"\n";
    const char *out = fix(text, NULL);

    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(
        strstr(out, "capture,t:none,t:lowercase,chain,t:trimRight\"\n"));
    ck_assert_ptr_nonnull(strstr(out, "\"!@eq 0\" \"t:trimRight\"\n"));
    ck_assert_ptr_nonnull(strstr(out, "    SecRule TX:1 \"!@rx ^text/plain$\" "
                                      "\"t:none\"\n"));
    ck_assert_ptr_nonnull(strstr(out, "\"id:403,phase:2\"\n"));
    ck_assert_int_eq(lines(out), lines(text));
}
END_TEST

Suite *msc3_rules_suite(void)
{
    Suite *s = suite_create("msc3_rules");
    TCase *tc = tcase_create("logfix");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, crs3_980130);
    tcase_add_test(tc, crs4_980170_default);
    tcase_add_test(tc, left_as_written);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, quoting);
    tcase_add_test(tc, backslashes);
    tcase_add_test(tc, not_text);
    tcase_add_test(tc, reqbody_ids);
    tcase_add_test(tc, drop_ids);
    tcase_add_test(tc, raw_uri);
    tcase_add_test(tc, part_headers);
    suite_add_tcase(s, tc);
    return s;
}

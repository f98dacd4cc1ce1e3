/* test_json.c - the strict JSON reader of rlwafctl --url (rlw_json.c):
 * values of every type, escapes and UTF-8, the status page's own output
 * read back, and the texts it must refuse.
 */
#include <string.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "rlw_json.h"
#include "rlw_status.h"
#include "unit_suites.h"

static apr_pool_t *pool;

static void setup(void)
{
    ck_assert_int_eq(apr_initialize(), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    apr_terminate();
}

static rlw_json_t *ok(const char *text)
{
    rlw_json_t *v = NULL;
    const char *err = rlw_json_parse(pool, text, strlen(text), &v);

    ck_assert_msg(err == NULL, "refused %s: %s", text, err);
    ck_assert_ptr_nonnull(v);
    return v;
}

static void refused(const char *text, const char *why)
{
    rlw_json_t *v = (rlw_json_t *)1;
    const char *err = rlw_json_parse(pool, text, strlen(text), &v);

    ck_assert_msg(err != NULL, "accepted %s", text);
    ck_assert_msg(strstr(err, why) != NULL, "%s: '%s' lacks '%s'", text, err,
                  why);
    ck_assert_ptr_null(v);
}

START_TEST(values)
{
    rlw_json_t *v = ok(" {\"a\":[1,-2,3.5e1,true,false,null],\"b\":\"x\","
                       "\"n\":{} ,\"e\":[]}\n");
    const rlw_json_t *a = rlw_json_get_type(v, "a", RLW_JSON_ARRAY);
    int64_t i;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->n, 6);
    ck_assert(a->item[0]->is_int && a->item[0]->i == 1);
    ck_assert(a->item[1]->is_int && a->item[1]->i == -2);
    ck_assert(!a->item[2]->is_int && a->item[2]->num == 35.0);
    ck_assert_int_eq(a->item[3]->type, RLW_JSON_TRUE);
    ck_assert_int_eq(a->item[4]->type, RLW_JSON_FALSE);
    ck_assert_int_eq(a->item[5]->type, RLW_JSON_NULL);
    ck_assert_str_eq(rlw_json_get_str(v, "b"), "x");
    ck_assert_int_eq(rlw_json_get_type(v, "n", RLW_JSON_OBJECT)->n, 0);
    ck_assert_int_eq(rlw_json_get_type(v, "e", RLW_JSON_ARRAY)->n, 0);
    ck_assert_ptr_null(rlw_json_get(v, "missing"));
    ck_assert_ptr_null(rlw_json_get_str(v, "a"));
    ck_assert_int_eq(rlw_json_get_int(v, "b", &i), -1);
    v = ok("{\"big\":9223372036854775807,\"over\":9223372036854775808}");
    ck_assert_int_eq(rlw_json_get_int(v, "big", &i), 0);
    ck_assert(i == INT64_MAX);
    /* Beyond int64_t: a number, not an integer. */
    ck_assert_int_eq(rlw_json_get_int(v, "over", &i), -1);
    ck_assert_int_eq(ok("7")->i, 7);
}
END_TEST

START_TEST(strings)
{
    rlw_json_t *v = ok("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u00e9\\u20ac"
                       "\\ud83d\\ude00\",\"caf\xc3\xa9\"]");

    ck_assert_str_eq(v->item[0]->str, "a\"b\\c/d\b\f\n\r\t");
    ck_assert_str_eq(v->item[1]->str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ck_assert_str_eq(v->item[2]->str, "caf\xc3\xa9");
}
END_TEST

START_TEST(refuses)
{
    refused("", "end of the text");
    refused("{\"a\":1,}", "member name expected");
    refused("[1,]", "unexpected character");
    refused("[1 2]", "',' or ']' expected");
    refused("{\"a\" 1}", "':' expected");
    refused("{a:1}", "member name expected");
    refused("{\"a\":1}}", "text after the value");
    refused("{\"a\":1} x", "text after the value");
    refused("\"a\nb\"", "control character");
    refused("\"abc", "unterminated string");
    refused("\"a\\x\"", "bad escape");
    refused("\"\\u12g4\"", "bad \\u escape");
    refused("\"\\u0000\"", "\\u0000");
    refused("\"\\ud800\"", "lone high surrogate");
    refused("\"\\udc00\"", "lone low surrogate");
    refused("\"\\ud800\\u0041\"", "bad surrogate pair");
    refused("\"\xc3\"", "invalid UTF-8");
    refused("\"\xc0\xaf\"", "invalid UTF-8");
    refused("\"\xed\xa0\x80\"", "invalid UTF-8");
    refused("01", "text after the value");
    refused("-", "bad number");
    refused("1.", "bad number");
    refused("1e", "bad number");
    refused("+1", "unexpected character");
    refused("tru", "bad literal");
    refused("nul", "bad literal");
    /* A NUL byte after the value: the length decides, not strlen(). */
    {
        rlw_json_t *v;

        ck_assert_ptr_nonnull(rlw_json_parse(pool, "[1]\0", 4, &v));
        ck_assert_ptr_nonnull(rlw_json_parse(pool, "[\"a\0b\"]", 7, &v));
    }
}
END_TEST

START_TEST(depth_is_bounded)
{
    char deep[2 * RLW_JSON_DEPTH_MAX + 8];
    int i, n = RLW_JSON_DEPTH_MAX;

    for (i = 0; i < n; i++)
        deep[i] = '[';
    for (i = 0; i < n; i++)
        deep[n + i] = ']';
    deep[2 * n] = 0;
    ok(deep);
    memmove(deep + 1, deep, strlen(deep) + 1);
    deep[0] = '[';
    strcat(deep, "]");
    refused(deep, "nested too deep");
}
END_TEST

/* The status page's JSON, with no store, reads back. */
START_TEST(reads_the_status_page)
{
    rlw_status_t s;
    rlw_status_source_t src;
    rlw_json_t *v;
    const char *j;

    memset(&src, 0, sizeof(src));
    src.node = "web-1<b>\"x\"\\\n\x01";
    src.now_ms = 1795948874199LL;
    rlw_status_take(pool, &src, &s);
    j = rlw_status_json(pool, &s, 1, "tok", "t2");
    ck_assert_ptr_null(rlw_json_parse(pool, j, strlen(j), &v));
    ck_assert_str_eq(rlw_json_get_str(v, "node"), "web-1<b>\"x\"\\\n\x01");
    ck_assert_str_eq(rlw_json_get_str(rlw_json_get(v, "tokens"), "unban"),
                     "t2");
    ck_assert_ptr_nonnull(rlw_json_get_type(v, "bans", RLW_JSON_ARRAY));
}
END_TEST

Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = tcase_create("json");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, values);
    tcase_add_test(tc, strings);
    tcase_add_test(tc, refuses);
    tcase_add_test(tc, depth_is_bounded);
    tcase_add_test(tc, reads_the_status_page);
    suite_add_tcase(s, tc);
    return s;
}

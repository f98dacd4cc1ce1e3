/* test_keyorder.c - the request key NAMEs' order the nodes of a cluster
 * compare (rlw_keyorder.c): the text form both ways, strict parsing of
 * what memcached hands back, and when two lists agree. */
#include <string.h>

#include <check.h>

#include "unit_suites.h"
#include "rlw_keyorder.h"

static const char *const api_session[] = {"api", "session"};
static const char *const session_api[] = {"session", "api"};

START_TEST(keyorder_round_trip)
{
    rlw_keyorder_t o, back;
    char buf[RLW_KEYORDER_TEXT_MAX];
    size_t n;

    ck_assert_int_eq(rlw_keyorder_set(&o, api_session, 2, "node a"), 0);
    n = rlw_keyorder_encode(&o, buf, sizeof(buf));
    ck_assert_uint_eq(n, strlen("1 api,session node a"));
    ck_assert(!memcmp(buf, "1 api,session node a", n));
    ck_assert_int_eq(rlw_keyorder_decode(buf, n, &back), 0);
    ck_assert_uint_eq(back.n, 2);
    ck_assert_str_eq(back.names[0], "api");
    ck_assert_str_eq(back.names[1], "session");
    ck_assert_str_eq(back.node, "node a");
    /* None: an empty list. */
    ck_assert_int_eq(rlw_keyorder_set(&o, NULL, 0, "b"), 0);
    n = rlw_keyorder_encode(&o, buf, sizeof(buf));
    ck_assert(n == 4 && !memcmp(buf, "1  b", 4));
    ck_assert_int_eq(rlw_keyorder_decode(buf, n, &back), 0);
    ck_assert_uint_eq(back.n, 0);
    ck_assert_str_eq(back.node, "b");
    /* Too small a buffer. */
    ck_assert_uint_eq(rlw_keyorder_encode(&o, buf, 3), 0);
}
END_TEST

START_TEST(keyorder_longest)
{
    const char *names[RLW_KEYS_MAX];
    char store[RLW_KEYS_MAX][RLW_KEY_NAME_MAX + 1];
    char node[RLW_NODE_NAME_LEN];
    char buf[RLW_KEYORDER_TEXT_MAX + 1], list[RLW_KEYORDER_LIST_LEN];
    rlw_keyorder_t o, back;
    size_t n;
    int i;

    for (i = 0; i < RLW_KEYS_MAX; i++) {
        memset(store[i], 'a' + i, RLW_KEY_NAME_MAX);
        store[i][RLW_KEY_NAME_MAX] = '\0';
        names[i] = store[i];
    }
    memset(node, 'n', RLW_NODE_NAME_MAX);
    node[RLW_NODE_NAME_MAX] = '\0';
    ck_assert_int_eq(rlw_keyorder_set(&o, names, RLW_KEYS_MAX, node), 0);
    n = rlw_keyorder_encode(&o, buf, sizeof(buf));
    ck_assert_uint_eq(n, RLW_KEYORDER_TEXT_MAX);
    ck_assert_int_eq(rlw_keyorder_decode(buf, n, &back), 0);
    ck_assert_uint_eq(back.n, RLW_KEYS_MAX);
    ck_assert(!memcmp(&o, &back, sizeof(o)));
    rlw_keyorder_list(&o, list, sizeof(list));
    ck_assert_uint_eq(strlen(list),
                      RLW_KEYS_MAX * RLW_KEY_NAME_MAX + 2 * (RLW_KEYS_MAX - 1));
    /* One byte more is refused. */
    buf[n] = 'n';
    ck_assert_int_eq(rlw_keyorder_decode(buf, n + 1, &back), -1);
}
END_TEST

START_TEST(keyorder_set_refuses)
{
    static const char *const twice[] = {"api", "api"};
    static const char *const bad[] = {"a b"};
    static const char *const empty[] = {""};
    static const char *const nine[] = {"a", "b", "c", "d", "e",
                                       "f", "g", "h", "i"};
    rlw_keyorder_t o;

    ck_assert_int_eq(rlw_keyorder_set(&o, twice, 2, "n"), -1);
    ck_assert_uint_eq(o.n, 0);
    ck_assert_int_eq(rlw_keyorder_set(&o, bad, 1, "n"), -1);
    ck_assert_int_eq(rlw_keyorder_set(&o, empty, 1, "n"), -1);
    ck_assert_int_eq(rlw_keyorder_set(&o, nine, 9, "n"), -1);
    ck_assert_int_eq(rlw_keyorder_set(&o, api_session, 2, ""), -1);
    ck_assert_int_eq(rlw_keyorder_set(&o, api_session, 2, "a\tb"), -1);
    ck_assert_int_eq(rlw_keyorder_name_ok("A-z_0.9"), 1);
    ck_assert_int_eq(rlw_keyorder_name_ok(""), 0);
    ck_assert_int_eq(rlw_keyorder_name_ok("a/b"), 0);
    ck_assert_int_eq(rlw_keyorder_name_ok("abcdefghijklmnopqrstuvwxyz0123456"),
                     0);
    ck_assert_int_eq(rlw_keyorder_name_ok("abcdefghijklmnopqrstuvwxyz012345"),
                     1);
}
END_TEST

START_TEST(keyorder_decode_strict)
{
    static const char *const bad[] = {
        "",
        "1",
        "1 api",                 /* no node */
        "1 api ",                /* empty node */
        "2 api n",               /* unknown version */
        "1  ",                   /* empty node */
        "1 api, n",              /* empty name */
        "1 ,api n",              /* empty name */
        "1 api,,b n",            /* empty name */
        "1 api,api n",           /* twice */
        "1 a/b n",               /* bad character */
        "1 a, n",                /* empty last name */
        "1 a,b,c,d,e,f,g,h,i n", /* nine */
        "1 api n\n",             /* control character in the node */
        "1 abcdefghijklmnopqrstuvwxyz0123456 n", /* 33 characters */
        "1 api n\x7f",
        "x api n",
    };
    rlw_keyorder_t o;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&o, 0x55, sizeof(o));
        ck_assert_msg(rlw_keyorder_decode(bad[i], strlen(bad[i]), &o) == -1,
                      "accepted \"%s\"", bad[i]);
        ck_assert_uint_eq(o.n, 0);
        ck_assert_str_eq(o.node, "");
    }
    ck_assert_int_eq(rlw_keyorder_decode(NULL, 0, &o), -1);
    /* A NUL inside is a bad node character. */
    ck_assert_int_eq(rlw_keyorder_decode("1 a n\0m", 7, &o), -1);
    /* The node may hold spaces; the list ends at the first one. */
    ck_assert_int_eq(rlw_keyorder_decode("1 a,b web 01 x", 14, &o), 0);
    ck_assert_str_eq(o.node, "web 01 x");
    ck_assert_uint_eq(o.n, 2);
    /* "-" is a NAME like any other. */
    ck_assert_int_eq(rlw_keyorder_decode("1 -,a n", 7, &o), 0);
    ck_assert_str_eq(o.names[0], "-");
}
END_TEST

START_TEST(keyorder_agree)
{
    static const char *const api[] = {"api"};
    static const char *const other[] = {"token"};
    static const char *const three[] = {"api", "session", "token"};
    rlw_keyorder_t a, b, c, d, none, e, f;
    char list[RLW_KEYORDER_LIST_LEN];

    rlw_keyorder_set(&a, api_session, 2, "a");
    rlw_keyorder_set(&b, session_api, 2, "b");
    rlw_keyorder_set(&c, api, 1, "c");
    rlw_keyorder_set(&d, three, 3, "d");
    rlw_keyorder_set(&none, NULL, 0, "e");
    rlw_keyorder_set(&e, other, 1, "f");
    rlw_keyorder_set(&f, api_session, 2, "g");
    ck_assert_int_eq(rlw_keyorder_agree(&a, &f), 1);
    ck_assert_int_eq(rlw_keyorder_agree(&a, &b), 0);
    ck_assert_int_eq(rlw_keyorder_agree(&b, &a), 0);
    /* One starts the other: a NAME added at the end. */
    ck_assert_int_eq(rlw_keyorder_agree(&a, &c), 1);
    ck_assert_int_eq(rlw_keyorder_agree(&d, &a), 1);
    ck_assert_int_eq(rlw_keyorder_agree(&b, &c), 0);
    ck_assert_int_eq(rlw_keyorder_agree(&none, &b), 1);
    ck_assert_int_eq(rlw_keyorder_agree(&c, &e), 0);
    ck_assert_str_eq(rlw_keyorder_list(&a, list, sizeof(list)), "api, session");
    ck_assert_str_eq(rlw_keyorder_list(&none, list, sizeof(list)), "(none)");
    /* Cut at a whole name. */
    ck_assert_str_eq(rlw_keyorder_list(&a, list, 8), "api");
}
END_TEST

Suite *keyorder_suite(void)
{
    Suite *s = suite_create("keyorder");
    TCase *tc = tcase_create("keyorder");

    tcase_add_test(tc, keyorder_round_trip);
    tcase_add_test(tc, keyorder_longest);
    tcase_add_test(tc, keyorder_set_refuses);
    tcase_add_test(tc, keyorder_decode_strict);
    tcase_add_test(tc, keyorder_agree);
    suite_add_tcase(s, tc);
    return s;
}

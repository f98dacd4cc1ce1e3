/* test_mcparse.c - strict parsing of what memcached hands back (counters,
 * keys), saturating sums, and the ordering of ban states: every hostile
 * value the cluster store has met is here.
 */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "rlw_mcparse.h"
#include "rlw_store.h"
#include "rlw_store_shm.h"
#include "unit_suites.h"

typedef struct parse_case {
    const char *text;
    int ok;
    uint64_t value;
} parse_case_t;

/* Strict u64: canonical digits only. */
static const parse_case_t u64_cases[] = {
    {"0", 0, 0},
    {"7", 0, 7},
    {"4294967296", 0, 4294967296ULL},
    {"18446744073709551615", 0, UINT64_MAX},
    {"18446744073709551616", -1, 0},  /* 2^64 */
    {"99999999999999999999", -1, 0},  /* 20 digits, too big */
    {"100000000000000000000", -1, 0}, /* 21 digits */
    {"", -1, 0},
    {"-1", -1, 0}, /* strtoull: 2^64 - 1 */
    {"+7", -1, 0},
    {" 5", -1, 0},
    {"5 ", -1, 0},
    {"5 junk", -1, 0},
    {"5\r", -1, 0},
    {"5\r\n", -1, 0},
    {"0x10", -1, 0},
    {"007", -1, 0},
    {"00", -1, 0},
    {"1e3", -1, 0},
    {"12a", -1, 0},
    {"abc", -1, 0},
};

START_TEST(u64_strict)
{
    const parse_case_t *c = &u64_cases[_i];
    uint64_t v = 0x5a5a;
    int rc = rlw_parse_u64(c->text, strlen(c->text), &v);

    ck_assert_msg(rc == c->ok, "\"%s\": %d", c->text, rc);
    if (rc == 0)
        ck_assert_uint_eq(v, c->value);
    else
        ck_assert_uint_eq(v, 0x5a5a); /* untouched */
}
END_TEST

/* Counters: what memcached writes, digits then spaces it pads with. */
static const parse_case_t counter_cases[] = {
    {"0", 0, 0},
    {"1", 0, 1},
    {"5 ", 0, 5},                   /* rewritten in place, shorter */
    {"6     ", 0, 6},               /* "5 junk" incremented by memcached */
    {"0                   ", 0, 0}, /* 2^64 - 1 + 1 */
    {"18446744073709551615", 0, UINT64_MAX}, /* parses; callers cap it */
    {"18446744073709551616", -1, 0},
    {"-1", -1, 0},
    {"+7", -1, 0},
    {" 5", -1, 0},
    {"5 junk", -1, 0},
    {"5\r\n", -1, 0},
    {"5\r", -1, 0},
    {"5\t", -1, 0},
    {"5 6", -1, 0},
    {" ", -1, 0},
    {"", -1, 0},
    {"007", -1, 0},
    {"999999999junk", -1, 0},
    {"not a number", -1, 0},
    {"1                                ", -1, 0}, /* 34 bytes: too long */
};

START_TEST(counter_strict)
{
    const parse_case_t *c = &counter_cases[_i];
    uint64_t v = 0x5a5a;
    int rc = rlw_parse_counter(c->text, strlen(c->text), &v);

    ck_assert_msg(rc == c->ok, "\"%s\": %d", c->text, rc);
    if (rc == 0)
        ck_assert_uint_eq(v, c->value);
    else
        ck_assert_uint_eq(v, 0x5a5a);
}
END_TEST

START_TEST(counter_not_terminated)
{
    /* The value need not end with a NUL: only len bytes are read. */
    const char buf[] = {'4', '2', '9', '9'};
    uint64_t v;

    ck_assert_int_eq(rlw_parse_counter(buf, 2, &v), 0);
    ck_assert_uint_eq(v, 42);
    ck_assert_int_eq(rlw_parse_counter("12\0003", 4, &v), -1); /* NUL */
    ck_assert_int_eq(rlw_parse_counter(NULL, 1, &v), -1);
    ck_assert_int_eq(rlw_parse_counter("1", 1, NULL), -1);
    ck_assert_int_eq(rlw_parse_u64(NULL, 1, &v), -1);
    ck_assert_int_eq(rlw_parse_u64("1", 1, NULL), -1);
}
END_TEST

/* Bucket keys, after the prefix: "c<index>:<pseudonym>". */
static const parse_case_t bucket_cases[] = {
    {"c0:x", 0, 0},
    {"c123:abcDEF-_", 0, 123},
    {"c9223372036854775807:p", 0, INT64_MAX},
    {"c9223372036854775808:p", -1, 0},  /* > INT64_MAX */
    {"c99999999999999999999:p", -1, 0}, /* signed int overflow before */
    {"c999999999999999999999999999999:p", -1, 0},
    {"c12:", -1, 0}, /* no pseudonym */
    {"c:p", -1, 0},
    {"c-1:p", -1, 0},
    {"c+1:p", -1, 0},
    {"c 1:p", -1, 0},
    {"c01:p", -1, 0},
    {"c12p", -1, 0},
    {"c12", -1, 0},
    {"b:p", -1, 0},
    {"j:12", -1, 0},
    {"", -1, 0},
};

START_TEST(bucket_key_strict)
{
    const parse_case_t *c = &bucket_cases[_i];
    uint64_t v = 0x5a5a;
    int rc = rlw_parse_bucket_key(c->text, strlen(c->text), &v);

    ck_assert_msg(rc == c->ok, "\"%s\": %d", c->text, rc);
    if (rc == 0)
        ck_assert_uint_eq(v, c->value);
    else
        ck_assert_uint_eq(v, 0x5a5a);
}
END_TEST

/* Journal entry keys, after the prefix: "j:<seq>". */
static const parse_case_t journal_cases[] = {
    {"j:1", 0, 1},
    {"j:4096", 0, 4096},
    {"j:18446744073709551615", 0, UINT64_MAX},
    {"j:18446744073709551616", -1, 0},
    {"j:99999999999999999999999", -1, 0},
    {"j:0", -1, 0}, /* numbering starts at 1 */
    {"j:seq", -1, 0},
    {"j:", -1, 0},
    {"j:-1", -1, 0},
    {"j:+1", -1, 0},
    {"j: 1", -1, 0},
    {"j:1 ", -1, 0},
    {"j:01", -1, 0},
    {"j:1x", -1, 0},
    {"j1", -1, 0},
    {"c1:p", -1, 0},
    {"", -1, 0},
};

START_TEST(journal_key_strict)
{
    const parse_case_t *c = &journal_cases[_i];
    uint64_t v = 0x5a5a;
    int rc = rlw_parse_journal_key(c->text, strlen(c->text), &v);

    ck_assert_msg(rc == c->ok, "\"%s\": %d", c->text, rc);
    if (rc == 0)
        ck_assert_uint_eq(v, c->value);
    else
        ck_assert_uint_eq(v, 0x5a5a);
}
END_TEST

START_TEST(saturating_add)
{
    const uint64_t half = (uint64_t)1 << 63;

    ck_assert_uint_eq(rlw_sat_add_u64(3, 4), 7);
    ck_assert_uint_eq(rlw_sat_add_u64(0, UINT64_MAX), UINT64_MAX);
    ck_assert_uint_eq(rlw_sat_add_u64(UINT64_MAX, 0), UINT64_MAX);
    ck_assert_uint_eq(rlw_sat_add_u64(UINT64_MAX, 1), UINT64_MAX);
    ck_assert_uint_eq(rlw_sat_add_u64(half, half), UINT64_MAX);
    /* The wrap seen before: 3 + 2^63 + 2^63 was 3. */
    ck_assert_uint_eq(rlw_sat_add_u64(rlw_sat_add_u64(3, half), half),
                      UINT64_MAX);
    ck_assert_uint_eq(rlw_sat_add_u64(half - 1, half), UINT64_MAX);
}
END_TEST

/* Ban state ordering. */
typedef struct order_case {
    rlw_ban_state_t in, cur;
    int newer;
    const char *why;
} order_case_t;

#define S(a, b)                                                                \
    {                                                                          \
        (a), (b), 0, 0                                                         \
    }
static const order_case_t order_cases[] = {
    {S(1000, 5000), S(0, 0), 1, "anything replaces never banned"},
    {S(0, 0), S(0, 0), 1, "never banned again"},
    {S(9000, 12000), S(1000, 5000), 1, "a new ban"},
    {S(9000, 9500), S(1000, 5000), 1, "the unban of a ban not seen"},
    {S(1000, 5000), S(1000, 5000), 1, "the same ban again"},
    {S(1000, 2000), S(1000, 5000), 1, "its unban"},
    {S(1000, 1000), S(1000, 5000), 1, "its unban at its start"},
    {S(1000, 5000), S(1000, 2000), 0, "a lifted ban replayed"},
    {S(1000, 2000), S(9000, 12000), 0, "an old unban over a newer ban"},
    {S(1000, 5000), S(9000, 12000), 0, "an old ban over a newer ban"},
    {S(1000, 99000), S(9000, 12000), 0, "an old, longer ban"},
    {S(0, 0), S(1000, 5000), 0, "never banned over a ban"},
    {S(8999, 9000), S(9000, 9000), 0, "one millisecond older"},
    {S(INT64_MAX, INT64_MAX), S(9000, 12000), 1, "the largest start"},
};
#undef S

START_TEST(ban_state_order)
{
    const order_case_t *c = &order_cases[_i];

    ck_assert_msg(rlw_ban_state_newer(&c->in, &c->cur) == c->newer, "%s",
                  c->why);
}
END_TEST

/* The shm table applies the ordering to what it learns (journal entries,
 * records, other nodes' decisions): a replay changes nothing. */
START_TEST(learn_keeps_newer)
{
    apr_pool_t *pool;
    rlw_store_t *st = NULL;
    rlw_addr_t x;
    rlw_ban_state_t old_ban = {1000000, 1600000, 1, 10};
    rlw_ban_state_t old_unban = {1000000, 1100000, 1, 10};
    rlw_ban_state_t new_ban = {1200000, 1800000, 2, 10};
    rlw_ban_state_t new_unban = {1200000, 1300000, 2, 10};
    int64_t until = 0;

    ck_assert_int_eq(apr_initialize(), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    ck_assert_ptr_null(rlw_store_shm_create(pool, 64, NULL, &st));
    memset(&x, 0, sizeof(x));
    ck_assert_int_eq(rlw_addr_parse("198.51.100.91", &x), 0);

    /* A ban, lifted, then a newer ban: the lift of the old one, replayed,
     * does not end the newer one. */
    rlw_store_shm_learn(st, &x, &old_ban, "node-a", 1000100);
    rlw_store_shm_learn(st, &x, &old_unban, "node-a", 1100000);
    ck_assert_int_eq(st->banned(st, &x, 1150000, NULL), 0);
    rlw_store_shm_learn(st, &x, &new_ban, "node-b", 1200000);
    rlw_store_shm_learn(st, &x, &old_unban, "node-a", 1250000);
    ck_assert_int_eq(st->banned(st, &x, 1250000, &until), 1);
    ck_assert_int_eq(until, 1800000);
    rlw_store_shm_learn(st, &x, &old_ban, "node-a", 1250000);
    ck_assert_int_eq(st->banned(st, &x, 1250000, &until), 1);
    ck_assert_int_eq(until, 1800000);

    /* Its own unban ends it; the ban entry, replayed, does not bring it
     * back. */
    rlw_store_shm_learn(st, &x, &new_unban, "node-b", 1300000);
    ck_assert_int_eq(st->banned(st, &x, 1300001, NULL), 0);
    rlw_store_shm_learn(st, &x, &new_ban, "node-b", 1300002);
    ck_assert_int_eq(st->banned(st, &x, 1300003, NULL), 0);

    apr_pool_destroy(pool);
    apr_terminate();
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *mcparse_suite(void)
{
    Suite *s = suite_create("mcparse");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, u64_strict, 0, N(u64_cases));
    tcase_add_loop_test(tc, counter_strict, 0, N(counter_cases));
    tcase_add_test(tc, counter_not_terminated);
    tcase_add_loop_test(tc, bucket_key_strict, 0, N(bucket_cases));
    tcase_add_loop_test(tc, journal_key_strict, 0, N(journal_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("arith");
    tcase_add_test(tc, saturating_add);
    tcase_add_loop_test(tc, ban_state_order, 0, N(order_cases));
    tcase_add_test(tc, learn_keeps_newer);
    suite_add_tcase(s, tc);
    return s;
}

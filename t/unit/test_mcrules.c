/* test_mcrules.c - the memcached store's rules that need no memcached
 * (rlw_mcrules.h): key names built and read back, counter values, the
 * count since a ban, lifetimes (a ban record outlives its strikes, an
 * operator's ban included), the CAS back-off, journal batches and the
 * servers of a configuration string.
 */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "rlw_mcrules.h"
#include "rlw_mcparse.h"
#include "rlw_window.h"
#include "unit_suites.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY (24 * 60 * MIN)

static const char *pseudo = "AbCdEfGhIjKlMnOpQrStUv"; /* 22, base64url */

START_TEST(keys_built)
{
    char k[RLW_MC_KEY_MAX];

    ck_assert_uint_eq(rlw_mc_bucket_key("rlw:", pseudo, 123456, k),
                      strlen("rlw:c123456:") + 22);
    ck_assert_str_eq(k, "rlw:c123456:AbCdEfGhIjKlMnOpQrStUv");
    ck_assert_uint_eq(rlw_mc_ban_key("rlw:", pseudo, k), 28);
    ck_assert_str_eq(k, "rlw:b:AbCdEfGhIjKlMnOpQrStUv");
    ck_assert_uint_eq(rlw_mc_journal_seq_key("farm1/", k), 11);
    ck_assert_str_eq(k, "farm1/j:seq");
    ck_assert_uint_eq(rlw_mc_journal_key("rlw:", 18446744073709551615ULL, k),
                      26);
    ck_assert_str_eq(k, "rlw:j:18446744073709551615");
}
END_TEST

START_TEST(keys_too_long)
{
    char prefix[RLW_MC_KEY_MAX + 1], k[RLW_MC_KEY_MAX];

    /* A prefix that leaves no room: 0, never a truncated key. */
    memset(prefix, 'p', sizeof(prefix) - 1);
    prefix[sizeof(prefix) - 1] = 0;
    ck_assert_uint_eq(rlw_mc_bucket_key(prefix, pseudo, 1, k), 0);
    ck_assert_uint_eq(rlw_mc_ban_key(prefix, pseudo, k), 0);
    ck_assert_uint_eq(rlw_mc_journal_key(prefix, 1, k), 0);
    prefix[RLW_MC_KEY_MAX - 8] = 0; /* fits with "j:seq" */
    ck_assert_uint_gt(rlw_mc_journal_seq_key(prefix, k), 0);
}
END_TEST

START_TEST(keys_read_back)
{
    char k[RLW_MC_KEY_MAX];
    size_t n = rlw_mc_bucket_key("rlw:", pseudo, 987654321, k);
    uint64_t seq = 0;

    ck_assert_int_eq(rlw_mc_key_bucket("rlw:", k, n), 987654321);
    /* Another farm's prefix, a ban record, a journal key: not counters. */
    ck_assert_int_eq(rlw_mc_key_bucket("rlx:", k, n), -1);
    n = rlw_mc_ban_key("rlw:", pseudo, k);
    ck_assert_int_eq(rlw_mc_key_bucket("rlw:", k, n), -1);
    n = rlw_mc_journal_key("rlw:", 42, k);
    ck_assert_int_eq(rlw_mc_key_bucket("rlw:", k, n), -1);
    ck_assert_int_eq(rlw_mc_key_journal("rlw:", k, n, &seq), 0);
    ck_assert_uint_eq(seq, 42);
    /* The sequence counter, a short key, another prefix: no entry. */
    n = rlw_mc_journal_seq_key("rlw:", k);
    ck_assert_int_eq(rlw_mc_key_journal("rlw:", k, n, &seq), -1);
    ck_assert_int_eq(rlw_mc_key_journal("rlw:", "rlw:", 4, &seq), -1);
    ck_assert_int_eq(rlw_mc_key_journal("rlw:", "rlx:j:5", 7, &seq), -1);
    ck_assert_int_eq(rlw_mc_key_journal("rlw:", "rlw:j:05", 8, &seq), -1);
    ck_assert_uint_eq(seq, 42);
}
END_TEST

START_TEST(count_values)
{
    uint64_t v = 7;

    ck_assert_int_eq(rlw_mc_parse_count("12", 2, &v), 0);
    ck_assert_uint_eq(v, 12);
    /* memcached pads an incremented value with spaces. */
    ck_assert_int_eq(rlw_mc_parse_count("3   ", 4, &v), 0);
    ck_assert_uint_eq(v, 3);
    ck_assert_int_eq(rlw_mc_parse_count("4294967295", 10, &v), 0);
    ck_assert_uint_eq(v, UINT32_MAX);
    /* More than one client does in one bucket, or not a count: refused,
     * *out left alone. */
    ck_assert_int_eq(rlw_mc_parse_count("4294967296", 10, &v), -1);
    ck_assert_int_eq(rlw_mc_parse_count("-1", 2, &v), -1);
    ck_assert_int_eq(rlw_mc_parse_count("", 0, &v), -1);
    ck_assert_int_eq(rlw_mc_parse_count("1e3", 3, &v), -1);
    ck_assert_uint_eq(v, UINT32_MAX);
}
END_TEST

START_TEST(count_since_ban)
{
    int64_t width = rlw_window_width(16 * SEC); /* 1 s buckets */
    int64_t head = 5000;                        /* now in [5000 s, 5001 s) */
    uint64_t vals[RLW_WINDOW_BUCKETS];
    rlw_ban_state_t never = {0, 0, 0, 0};
    rlw_ban_state_t b = {0, 0, 1, 10};
    int i;

    for (i = 0; i < RLW_WINDOW_BUCKETS; i++)
        vals[i] = (uint64_t)i + 1; /* 1 + 2 + ... + 16 = 136 */
    ck_assert_uint_eq(width, SEC);
    ck_assert_uint_eq(rlw_mc_count_since_ban(vals, head, width, &never), 136);
    /* A ban that started in bucket head - 3 leaves out buckets head - 3
     * and older: 1 + 2 + 3. */
    b.start_ms = (head - 3) * width + 400;
    b.until_ms = b.start_ms + MIN;
    ck_assert_uint_eq(rlw_mc_count_since_ban(vals, head, width, &b), 6);
    /* Started in the current bucket: nothing counts yet. */
    b.start_ms = head * width + 1;
    ck_assert_uint_eq(rlw_mc_count_since_ban(vals, head, width, &b), 0);
    /* Saturates instead of wrapping. */
    for (i = 0; i < RLW_WINDOW_BUCKETS; i++)
        vals[i] = UINT32_MAX;
    ck_assert_uint_eq(rlw_mc_count_since_ban(vals, head, width, &never),
                      UINT32_MAX);
}
END_TEST

START_TEST(ttl)
{
    ck_assert_int_eq(rlw_mc_ttl_secs(0), 1);
    ck_assert_int_eq(rlw_mc_ttl_secs(1), 2);
    ck_assert_int_eq(rlw_mc_ttl_secs(1000), 2);
    ck_assert_int_eq(rlw_mc_ttl_secs(1001), 3);
    /* Never an absolute time (over 30 days), never an overflow. */
    ck_assert_int_eq(rlw_mc_ttl_secs(30 * DAY), RLW_MC_TTL_MAX);
    ck_assert_int_eq(rlw_mc_ttl_secs(INT64_MAX), RLW_MC_TTL_MAX);
}
END_TEST

/* A ban record lives past the ban's end for the longer of the counters it
 * cuts off and the strikes it remembers; an operator's ban is no
 * exception (it once kept ban + window only, so its strikes were forgotten
 * with it). */
START_TEST(record_keep)
{
    rlw_policy_t p = {10, 10 * MIN, MIN, 10 * MIN, 30 * SEC, DAY};
    int64_t now = 1000 * DAY;
    rlw_ban_state_t b = {now, now + 2 * MIN, 1, 10};
    int64_t counters = 10 * MIN + rlw_window_width(10 * MIN);

    ck_assert_int_eq(rlw_mc_record_keep(&p, &b, now), 2 * MIN + DAY);
    /* An ended ban (an unban): from now. */
    b.until_ms = now - SEC;
    ck_assert_int_eq(rlw_mc_record_keep(&p, &b, now), DAY);
    /* Strikes forgotten sooner than the counters expire: the counters. */
    p.strike_decay_ms = MIN;
    ck_assert_int_eq(rlw_mc_record_keep(&p, &b, now), counters);
    /* The strike decay is what keeps an operator's 5 s ban far longer than
     * its ban and window. */
    p.strike_decay_ms = DAY;
    b.until_ms = now + 5 * SEC;
    ck_assert_int_gt(rlw_mc_record_keep(&p, &b, now), 5 * SEC + 10 * MIN);
}
END_TEST

START_TEST(start_after)
{
    rlw_ban_state_t prev = {5000, 9000, 1, 10};
    rlw_ban_state_t b = {4000, 4500, 2, 10};

    /* A node whose clock is behind: starts right after the record read. */
    rlw_mc_start_after(&b, &prev);
    ck_assert_int_eq(b.start_ms, 5001);
    ck_assert_int_eq(b.until_ms, 5001);
    /* Already later, or over no ban: unchanged. */
    b.start_ms = 6000;
    b.until_ms = 7000;
    rlw_mc_start_after(&b, &prev);
    ck_assert_int_eq(b.start_ms, 6000);
    prev.start_ms = 0;
    b.start_ms = 10;
    rlw_mc_start_after(&b, &prev);
    ck_assert_int_eq(b.start_ms, 10);
    /* The largest start cannot be passed: left alone. */
    prev.start_ms = INT64_MAX;
    rlw_mc_start_after(&b, &prev);
    ck_assert_int_eq(b.start_ms, 10);
}
END_TEST

START_TEST(retry_rules)
{
    int i;

    /* More each round, and all RLW_MC_CAS_TRIES rounds together well
     * under one 50 ms memcached timeout. */
    long total = 0;
    for (i = 0; i < RLW_MC_CAS_TRIES; i++) {
        ck_assert_int_gt(rlw_mc_cas_backoff_ns(i),
                         i ? rlw_mc_cas_backoff_ns(i - 1) : 0);
        total += rlw_mc_cas_backoff_ns(i);
    }
    ck_assert_int_lt(total, 50 * 1000000L);
    /* A late journal entry is waited for 1 s, or 4 timeouts when longer. */
    ck_assert_int_eq(rlw_mc_journal_wait_ms(50), 1000);
    ck_assert_int_eq(rlw_mc_journal_wait_ms(250), 1000);
    ck_assert_int_eq(rlw_mc_journal_wait_ms(400), 1600);
    /* Batches: at most batch entries after seen, never past seq. */
    ck_assert_uint_eq(rlw_mc_journal_batch_end(0, 1000, 256), 256);
    ck_assert_uint_eq(rlw_mc_journal_batch_end(256, 300, 256), 300);
    ck_assert_uint_eq(
        rlw_mc_journal_batch_end(UINT64_MAX - 10, UINT64_MAX, 256), UINT64_MAX);
}
END_TEST

START_TEST(servers)
{
    apr_pool_t *p;

    ck_assert_int_eq(apr_initialize(), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create(&p, NULL), APR_SUCCESS);
    ck_assert_ptr_null(rlw_mc_servers(p, NULL));
    ck_assert_ptr_null(rlw_mc_servers(p, "--DISTRIBUTION=consistent"));
    ck_assert_str_eq(rlw_mc_servers(p, "--SERVER=10.0.0.1:11211"),
                     "10.0.0.1:11211");
    ck_assert_str_eq(rlw_mc_servers(p, "--SERVER=10.0.0.1:11211  "
                                       "--server=\"10.0.0.2:11212\"\t"
                                       "--DISTRIBUTION=consistent "
                                       "--SOCKET=/run/mc.sock --SERVER="),
                     "10.0.0.1:11211, 10.0.0.2:11212, /run/mc.sock");
    apr_pool_destroy(p);
    apr_terminate();
}
END_TEST

Suite *mcrules_suite(void)
{
    Suite *s = suite_create("mcrules");
    TCase *tc = tcase_create("keys");

    tcase_add_test(tc, keys_built);
    tcase_add_test(tc, keys_too_long);
    tcase_add_test(tc, keys_read_back);
    suite_add_tcase(s, tc);
    tc = tcase_create("counts");
    tcase_add_test(tc, count_values);
    tcase_add_test(tc, count_since_ban);
    suite_add_tcase(s, tc);
    tc = tcase_create("times");
    tcase_add_test(tc, ttl);
    tcase_add_test(tc, record_keep);
    tcase_add_test(tc, start_after);
    tcase_add_test(tc, retry_rules);
    tcase_add_test(tc, servers);
    suite_add_tcase(s, tc);
    return s;
}

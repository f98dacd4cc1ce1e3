/* test_pairs.c - several (count, window) pairs per threshold
 * (RateLimitWAFThreshold COUNT WINDOW COUNT WINDOW ...): the decision over
 * every pair, and the shm store counting each window exactly, restarting
 * them all at a ban, naming the pair that banned, ranking a heavy long
 * window, and carrying the windows over a change of table size.
 */
#include "shm_fixture.h"
#include "rlw_mcparse.h"
#include "rlw_mcrules.h"
#include "rlw_pairs.h"
#include "rlw_record.h"

/* 3 in 2 seconds, or 6 in 20 seconds (the shape of t/34_windows.t). */
static rlw_policy_t two_pairs(void)
{
    rlw_policy_t p = {3, 2 * SEC, MIN, 10 * MIN, 30 * SEC, DAY};

    p.nmore = 1;
    p.more[0].threshold = 6;
    p.more[0].window_ms = 20 * SEC;
    return p;
}

START_TEST(pairs_accessors)
{
    rlw_policy_t p = two_pairs();
    rlw_policy_t one = {5, MIN, MIN, 10 * MIN, 30 * SEC, DAY};

    ck_assert_uint_eq(rlw_policy_npairs(&one), 1);
    ck_assert_uint_eq(rlw_policy_npairs(&p), 2);
    ck_assert_uint_eq(rlw_policy_pair(&p, 1).threshold, 6);
    ck_assert_int_eq(rlw_policy_pair(&p, 1).window_ms, 20 * SEC);
    /* Past the pairs: the first. */
    ck_assert_uint_eq(rlw_policy_pair(&p, 2).threshold, 3);
    ck_assert_int_eq(rlw_policy_longest_window(&p), 20 * SEC);
    ck_assert_int_eq(rlw_policy_longest_window(&one), MIN);
    p.nmore = 99; /* capped */
    ck_assert_uint_eq(rlw_policy_npairs(&p), RLW_PAIRS_MAX);
}
END_TEST

START_TEST(decide_names_the_pair)
{
    rlw_policy_t p = two_pairs();
    rlw_ban_state_t b;
    uint32_t prev[2] = {1, 5}, count[2] = {2, 6};
    rlw_verdict_t v;

    memset(&b, 0, sizeof(b));
    ck_assert(rlw_policy_reached(&p, count));
    v = rlw_decide_pairs(&p, RLW_CLASS_NORMAL, &b, prev, count, T0);
    ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(v.pair, 1);
    ck_assert_uint_eq(b.pair, 2);
    ck_assert_uint_eq(b.count, 6);
    ck_assert_uint_eq(v.strike, 1);

    /* Both reach: the first pair, in the configured order, names it. */
    memset(&b, 0, sizeof(b));
    count[0] = 3;
    v = rlw_decide_pairs(&p, RLW_CLASS_NORMAL, &b, prev, count, T0);
    ck_assert_uint_eq(v.pair, 0);
    ck_assert_uint_eq(b.pair, 1);
    ck_assert_uint_eq(b.count, 3);

    /* Neither: nothing. */
    memset(&b, 0, sizeof(b));
    count[0] = 2;
    count[1] = 5;
    ck_assert(!rlw_policy_reached(&p, count));
    v = rlw_decide_pairs(&p, RLW_CLASS_NORMAL, &b, prev, count, T0);
    ck_assert_int_eq(v.kind, RLW_VERDICT_NONE);
    ck_assert_int_eq(b.until_ms, 0);

    /* Exempt: the pair that crosses, once. */
    prev[1] = 5;
    count[1] = 6;
    v = rlw_decide_pairs(&p, RLW_CLASS_EXEMPT, &b, prev, count, T0);
    ck_assert_int_eq(v.kind, RLW_VERDICT_EXEMPT_CROSSED);
    ck_assert_uint_eq(v.pair, 1);
    prev[1] = 6;
    count[1] = 7;
    v = rlw_decide_pairs(&p, RLW_CLASS_EXEMPT, &b, prev, count, T0);
    ck_assert_int_eq(v.kind, RLW_VERDICT_NONE);
}
END_TEST

START_TEST(near_per_pair)
{
    rlw_policy_t p = {10, MIN, MIN, 10 * MIN, 30 * SEC, DAY};
    rlw_verdict_t none = {RLW_VERDICT_NONE, 0, 0, 0};
    uint32_t count[2] = {3, 80};

    p.nmore = 1;
    p.more[0].threshold = 100;
    p.more[0].window_ms = DAY;
    ck_assert_int_eq(rlw_near_pair(&p, RLW_CLASS_NORMAL, &none, count), 1);
    count[0] = 8;
    ck_assert_int_eq(rlw_near_pair(&p, RLW_CLASS_NORMAL, &none, count), 0);
    count[0] = 9;
    count[1] = 81;
    ck_assert_int_eq(rlw_near_pair(&p, RLW_CLASS_NORMAL, &none, count), -1);
    count[1] = 80;
    ck_assert_int_eq(rlw_near_pair(&p, RLW_CLASS_EXEMPT, &none, count), -1);
}
END_TEST

static rlw_store_t *make_pair_store(apr_size_t capacity, const rlw_policy_t *p)
{
    rlw_store_t *st = NULL;
    const char *err = rlw_store_shm_create(pool, capacity, p, &st);

    ck_assert_msg(err == NULL, "create: %s", err ? err : "");
    return st;
}

/* One attack every 1.5 s: never 3 in 2 s, and the 6th within 20 s bans,
 * naming the long window. */
START_TEST(shm_long_window_bans)
{
    rlw_policy_t p = two_pairs();
    rlw_store_t *st = make_pair_store(64, &p);
    rlw_addr_t c = client(1);
    rlw_client_info_t info;
    rlw_attack_t a;
    int i;

    for (i = 1; i <= 5; i++) {
        a = attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + i * 1500);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
        ck_assert_uint_le(a.counts[0], 2);
        ck_assert_uint_eq(a.counts[1], (uint32_t)i);
        ck_assert_uint_eq(a.count, a.counts[0]);
    }
    a = attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + 6 * 1500);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.verdict.pair, 1);
    ck_assert_uint_eq(a.count, 6);
    ck_assert_uint_eq(a.ban.pair, 2);
    ck_assert_uint_eq(a.ban.count, 6);
    ck_assert_int_eq(st->get(st, &c, T0 + 6 * 1500, &info), APR_SUCCESS);
    ck_assert_uint_eq(info.ban.pair, 2);

    /* A ban starts a new count in every window: after it (1 minute),
     * five attacks spaced as before do not ban. */
    for (i = 1; i <= 5; i++) {
        a = attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + 2 * MIN + i * 1500);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
        ck_assert_uint_eq(a.counts[1], (uint32_t)i);
    }
}
END_TEST

/* The short pair still bans on its own, and names itself. */
START_TEST(shm_short_window_bans)
{
    rlw_policy_t p = two_pairs();
    rlw_store_t *st = make_pair_store(64, &p);
    rlw_addr_t c = client(2);
    rlw_attack_t a;

    attack(st, &c, RLW_CLASS_NORMAL, &p, T0);
    attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + 100);
    a = attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + 200);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.verdict.pair, 0);
    ck_assert_uint_eq(a.ban.pair, 1);
    ck_assert_uint_eq(a.count, 3);
}
END_TEST

/* Clients of one set: a heavy count in the long window is worth as much
 * as one in the short window, and a spray of one-attack newcomers cannot
 * evict it. */
START_TEST(shm_long_window_ranks_near)
{
    rlw_policy_t p = {100, 2 * SEC, MIN, 10 * MIN, 30 * SEC, DAY};
    rlw_store_t *st;
    rlw_addr_t heavy = client(7);
    rlw_attack_t a;
    unsigned i;

    p.nmore = 1;
    p.more[0].threshold = 10;
    p.more[0].window_ms = DAY;
    st = make_pair_store(8, &p); /* one set of 8 */
    for (i = 0; i < 6; i++)
        attack(st, &heavy, RLW_CLASS_NORMAL, &p, T0 + i * 10 * SEC);
    /* The short window is long empty; 6 of 10 in the day. */
    for (i = 100; i < 300; i++) {
        rlw_addr_t c = client(i);

        attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + MIN + i);
    }
    a = attack(st, &heavy, RLW_CLASS_NORMAL, &p, T0 + 2 * MIN);
    ck_assert_uint_eq(a.counts[1], 7);
}
END_TEST

/* A new table size moves the other windows with their entry. */
START_TEST(shm_windows_survive_resize)
{
    rlw_policy_t p = two_pairs();
    rlw_store_t *st = make_pair_store(64, &p);
    rlw_addr_t c = client(3);
    rlw_attack_t a;
    int i;

    for (i = 1; i <= 4; i++)
        attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + i * 1500);
    st = make_pair_store(128, &p);
    a = attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + 5 * 1500);
    ck_assert_uint_eq(a.counts[1], 5);
    a = attack(st, &c, RLW_CLASS_NORMAL, &p, T0 + 6 * 1500);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.verdict.pair, 1);
}
END_TEST

/* A new number of pairs (a graceful restart) moves the table: bans and
 * the first window carry over, the other windows start empty. */
START_TEST(shm_new_pairs_keep_bans)
{
    rlw_policy_t p = two_pairs(), one = two_pairs();
    rlw_store_t *st;
    rlw_addr_t banned = client(5), counting = client(6);
    rlw_attack_t a;
    int i;

    one.nmore = 0; /* 3 in 2s: the same first window */
    st = make_pair_store(64, &one);
    for (i = 0; i < 3; i++)
        a = attack(st, &banned, RLW_CLASS_NORMAL, &one, T0);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    attack(st, &counting, RLW_CLASS_NORMAL, &one, T0);
    st = make_pair_store(64, &p);
    ck_assert_int_eq(st->banned(st, &banned, T0 + SEC, NULL), 1);
    a = attack(st, &counting, RLW_CLASS_NORMAL, &p, T0 + 100);
    ck_assert_uint_eq(a.counts[0], 2);
    ck_assert_uint_eq(a.counts[1], 1);
    /* And back to one pair. */
    st = make_pair_store(64, &one);
    ck_assert_int_eq(st->banned(st, &banned, T0 + SEC, NULL), 1);
    a = attack(st, &counting, RLW_CLASS_NORMAL, &one, T0 + 200);
    ck_assert_uint_eq(a.counts[0], 3);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
}
END_TEST

/* One pair: an entry is what it was, and a ban names the first pair. */
START_TEST(shm_one_pair_unchanged)
{
    rlw_store_t *st = make_pair_store(64, &pol);
    rlw_addr_t c = client(4);
    rlw_attack_t a;
    int i;

    for (i = 1; i < THRESH; i++)
        attack(st, &c, RLW_CLASS_NORMAL, &pol, T0);
    a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.verdict.pair, 0);
    ck_assert_uint_eq(a.ban.pair, 1);
    ck_assert_uint_eq(a.counts[0], THRESH);
    ck_assert_uint_eq(a.counts[1], 0);
}
END_TEST

/* Counter keys of every window: the first window's as before pairs; the
 * others' "c<w>.<index>:", parsed strictly (hostile input). */
START_TEST(mc_window_keys)
{
    char k[RLW_MC_KEY_MAX];
    unsigned w = 9;
    uint64_t v = 0;
    size_t n;
    static const char *const bad[] = {
        "c0.5:p",
        "c3.5:p",
        "c01.5:p",
        "c1.05:p",
        "c1.:p",
        "c.5:p",
        "c1.5:",
        "c1.5p",
        "c1.5.6:p",
        "c1,5:p",
        "c-1.5:p",
        "c1.-5:p",
        "c1.99999999999999999999:p",
        "c1.9223372036854775808:p",
    };
    size_t i;

    n = rlw_mc_bucket_key_w("rlw:", "PSEUDO", 0, 77, k);
    ck_assert_str_eq(k, "rlw:c77:PSEUDO");
    ck_assert_int_eq(rlw_mc_key_bucket_w("rlw:", k, n, 2, &w), 77);
    ck_assert_uint_eq(w, 0);
    n = rlw_mc_bucket_key_w("rlw:", "PSEUDO", 2, 123456, k);
    ck_assert_str_eq(k, "rlw:c2.123456:PSEUDO");
    ck_assert_int_eq(rlw_mc_key_bucket_w("rlw:", k, n, 2, &w), 123456);
    ck_assert_uint_eq(w, 2);
    /* A window the configuration does not have is no counter. */
    ck_assert_int_eq(rlw_mc_key_bucket_w("rlw:", k, n, 1, &w), -1);
    /* The first window's parser never takes another window's key. */
    ck_assert_int_eq(rlw_mc_key_bucket("rlw:", k, n), -1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        w = 9;
        v = 42;
        ck_assert_msg(
            rlw_parse_bucket_key_w(bad[i], strlen(bad[i]), 2, &w, &v) == -1,
            "%s accepted", bad[i]);
        ck_assert_uint_eq(w, 9);
        ck_assert_uint_eq(v, 42);
    }
}
END_TEST

/* A ban record outlives the longest window's counters. */
START_TEST(mc_keep_longest)
{
    rlw_policy_t p = two_pairs();
    rlw_ban_state_t b;

    memset(&b, 0, sizeof(b));
    p.strike_decay_ms = 1;
    p.more[0].window_ms = DAY;
    ck_assert_int_ge(rlw_mc_record_keep(&p, &b, T0), DAY);
}
END_TEST

/* The pairs as written, and as a policy's. */
START_TEST(pairs_parse)
{
    const char *good[] = {"5000", "10m", "20000", "24h"};
    const char *odd[] = {"5000", "10m", "20000"};
    const char *twice[] = {"5", "10m", "6", "600s"};
    const char *zero[] = {"5", "0s", "6", "1h"};
    const char *cnt[] = {"05", "1m", "6", "1h"};
    const char *many[] = {"1", "1m", "2", "2m", "3", "3m", "4", "4m"};
    rlw_pairs_t p, bare, win;
    rlw_policy_t pol;
    char why[256];

    ck_assert_int_eq(rlw_pairs_parse(4, good, 1000000, &p, why, sizeof(why)),
                     0);
    ck_assert_uint_eq(p.n, 2);
    ck_assert_uint_eq(p.count[1], 20000);
    ck_assert_int_eq(p.window_ms[1], DAY);
    ck_assert_int_eq(rlw_pairs_parse(1, good, 1000000, &bare, why, sizeof(why)),
                     0);
    ck_assert_uint_eq(bare.n, 1);
    ck_assert_int_eq(bare.window_ms[0], 0);
    ck_assert_int_eq(rlw_pairs_parse(3, odd, 100000, &p, why, sizeof(why)), -1);
    ck_assert_int_eq(rlw_pairs_parse(4, twice, 100, &p, why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "'600s' is given twice"));
    ck_assert_int_eq(rlw_pairs_parse(4, zero, 100, &p, why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "'0s'"));
    ck_assert_int_eq(rlw_pairs_parse(4, cnt, 100, &p, why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "'05'"));
    ck_assert_int_eq(rlw_pairs_parse(8, many, 100, &p, why, sizeof(why)), -1);
    ck_assert_int_eq(rlw_pairs_parse(4, good, 10000, &p, why, sizeof(why)), -1);
    ck_assert_ptr_nonnull(strstr(why, "'20000'"));

    /* Server-wide windows 5000 10m 20000 24h; a bare 100 scales to 400. */
    ck_assert_int_eq(rlw_pairs_parse(4, good, 1000000, &win, why, sizeof(why)),
                     0);
    bare.count[0] = 100;
    memset(&pol, 0, sizeof(pol));
    ck_assert_int_eq(rlw_pairs_policy(&bare, &win, 10 * MIN, 1000000, &pol), 0);
    ck_assert_uint_eq(pol.threshold, 100);
    ck_assert_int_eq(pol.window_ms, 10 * MIN);
    ck_assert_uint_eq(pol.nmore, 1);
    ck_assert_uint_eq(pol.more[0].threshold, 400);
    ck_assert_int_eq(pol.more[0].window_ms, DAY);
    /* Rounded up: 3 * 20000 / 5000 = 12; 1 -> 4. */
    bare.count[0] = 1;
    rlw_pairs_policy(&bare, &win, 10 * MIN, 1000000, &pol);
    ck_assert_uint_eq(pol.more[0].threshold, 4);
    /* Own pairs with the same windows keep their counts; others fail. */
    ck_assert_int_eq(rlw_pairs_policy(&win, &win, 10 * MIN, 1000000, &pol), 0);
    ck_assert_uint_eq(pol.more[0].threshold, 20000);
    ck_assert_int_eq(rlw_pairs_policy(&win, NULL, 10 * MIN, 1000000, &pol), -1);
    /* No pairs anywhere: RateLimitWAFWindow's one window. */
    bare.count[0] = 7;
    ck_assert_int_eq(rlw_pairs_policy(&bare, NULL, 90 * SEC, 1000000, &pol), 0);
    ck_assert_uint_eq(pol.nmore, 0);
    ck_assert_int_eq(pol.window_ms, 90 * SEC);
}
END_TEST

/* Journal entries name the pair that banned (version 4, one byte more);
 * versions 2 and 3 stay as they were and read as "not known". */
START_TEST(journal_pair)
{
    unsigned char out[RLW_JOURNAL_PAIR_LEN], v2[RLW_JOURNAL_LEN];
    rlw_journal_t j, back;

    memset(&j, 0, sizeof(j));
    j.action = RLW_JOURNAL_BAN;
    ck_assert_int_eq(rlw_addr_parse("192.0.2.7", &j.client), 0);
    j.ban.start_ms = T0;
    j.ban.until_ms = T0 + MIN;
    j.ban.strikes = 1;
    j.ban.count = 6;
    j.ban.pair = 2;
    strcpy(j.node, "waf-01");
    ck_assert_int_eq(rlw_journal_encode_pair(&j, out), 0);
    ck_assert_int_eq(out[1], RLW_JOURNAL_PAIR_VERSION);
    ck_assert_int_eq(out[RLW_JOURNAL_LEN], 2);
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    ck_assert_uint_eq(back.ban.pair, 2);
    ck_assert_uint_eq(back.ban.count, 6);
    /* The same entry without its pair: version 2, byte for byte. */
    ck_assert_int_eq(rlw_journal_encode(&j, v2), 0);
    ck_assert_int_eq(v2[1], RLW_RECORD_VERSION);
    ck_assert_int_eq(memcmp(v2 + 2, out + 2, RLW_JOURNAL_LEN - 2), 0);
    ck_assert_int_eq(rlw_journal_decode(v2, sizeof(v2), &back), 0);
    ck_assert_uint_eq(back.ban.pair, 0);
    /* Strict: a pair of 0 or past RLW_PAIRS_MAX, a wrong length. */
    out[RLW_JOURNAL_LEN] = 0;
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    out[RLW_JOURNAL_LEN] = RLW_PAIRS_MAX + 1;
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    out[RLW_JOURNAL_LEN] = 1;
    ck_assert_int_eq(rlw_journal_decode(out, RLW_JOURNAL_LEN, &back), -1);
    v2[1] = RLW_JOURNAL_PAIR_VERSION;
    ck_assert_int_eq(rlw_journal_decode(v2, sizeof(v2), &back), -1);
    j.ban.pair = 0;
    ck_assert_int_eq(rlw_journal_encode_pair(&j, out), -1);
    j.ban.pair = RLW_PAIRS_MAX + 1;
    ck_assert_int_eq(rlw_journal_encode_pair(&j, out), -1);
}
END_TEST

Suite *pairs_suite(void)
{
    Suite *s = suite_create("pairs");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pairs_accessors);
    tcase_add_test(tc, decide_names_the_pair);
    tcase_add_test(tc, near_per_pair);
    tcase_add_test(tc, shm_long_window_bans);
    tcase_add_test(tc, shm_short_window_bans);
    tcase_add_test(tc, shm_long_window_ranks_near);
    tcase_add_test(tc, shm_windows_survive_resize);
    tcase_add_test(tc, shm_one_pair_unchanged);
    tcase_add_test(tc, shm_new_pairs_keep_bans);
    tcase_add_test(tc, mc_window_keys);
    tcase_add_test(tc, mc_keep_longest);
    tcase_add_test(tc, pairs_parse);
    tcase_add_test(tc, journal_pair);
    suite_add_tcase(s, tc);
    return s;
}

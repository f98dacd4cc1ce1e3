/* test_pairs.c - several (count, window) pairs per threshold
 * (RateLimitWAFThreshold COUNT WINDOW COUNT WINDOW ...): the decision over
 * every pair, and the shm store counting each window exactly, restarting
 * them all at a ban, naming the pair that banned, ranking a heavy long
 * window, and carrying the windows over a change of table size.
 */
#include "shm_fixture.h"

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
    suite_add_tcase(s, tc);
    return s;
}

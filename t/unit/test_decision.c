/* test_decision.c - thresholds, escalation, cap, strike decay, the Allow
 * and Exempt classes, and counting during a running ban.
 */
#include <string.h>

#include <check.h>

#include "rlw_decision.h"
#include "unit_suites.h"

#define MIN 60000LL
#define DAY (24 * 60 * MIN)

/* threshold 5; bans 1m, 2m, 4m, 8m, then the 10m cap; Allow 30s; strikes
 * forgotten a day after the last ban ended. */
static const rlw_policy_t pol = {5, MIN, MIN, 10 * MIN, 30000, DAY};

static rlw_ban_state_t fresh(void)
{
    rlw_ban_state_t b;

    memset(&b, 0, sizeof(b));
    return b;
}

START_TEST(ban_active_boundaries)
{
    rlw_ban_state_t b = fresh();

    ck_assert_int_eq(rlw_ban_active(&b, 0), 0);
    ck_assert_int_eq(rlw_ban_active(&b, 123456), 0);
    b.start_ms = 1000;
    b.until_ms = 61000;
    ck_assert_int_eq(rlw_ban_active(&b, 1000), 1);
    ck_assert_int_eq(rlw_ban_active(&b, 60999), 1);
    ck_assert_int_eq(rlw_ban_active(&b, 61000), 0);
    /* A clock stepped back before the start does not lift the ban. */
    ck_assert_int_eq(rlw_ban_active(&b, 500), 1);
}
END_TEST

START_TEST(length_doubles_then_caps)
{
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, 1), MIN);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, 2), 2 * MIN);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, 3), 4 * MIN);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, 4), 8 * MIN);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, 5), 10 * MIN);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, 6), 10 * MIN);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, 0), MIN);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, 64), 10 * MIN);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_NORMAL, UINT32_MAX),
                     10 * MIN);
}
END_TEST

START_TEST(length_by_class)
{
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_ALLOW, 1), 30000);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_ALLOW, 7), 30000);
    ck_assert_int_eq(rlw_ban_length(&pol, RLW_CLASS_EXEMPT, 1), 0);
}
END_TEST

START_TEST(length_odd_policies)
{
    rlw_policy_t p = pol;

    /* Cap below the first ban: the cap wins. */
    p.ban_max_ms = 10000;
    ck_assert_int_eq(rlw_ban_length(&p, RLW_CLASS_NORMAL, 1), 10000);
    /* ... but never below 1 ms. */
    p.ban_max_ms = 0;
    ck_assert_int_eq(rlw_ban_length(&p, RLW_CLASS_NORMAL, 3), 1);
    p.ban_ms = 0;
    p.ban_max_ms = 1000;
    ck_assert_int_eq(rlw_ban_length(&p, RLW_CLASS_NORMAL, 1), 1);
    ck_assert_int_eq(rlw_ban_length(&p, RLW_CLASS_NORMAL, 3), 4);
    p.allow_ban_ms = 0;
    ck_assert_int_eq(rlw_ban_length(&p, RLW_CLASS_ALLOW, 1), 1);
    /* Doubling near int64 limits saturates instead of overflowing. */
    p.ban_ms = INT64_MAX / 2 + 1;
    p.ban_max_ms = INT64_MAX;
    ck_assert_int_eq(rlw_ban_length(&p, RLW_CLASS_NORMAL, 2), INT64_MAX);
    ck_assert_int_eq(rlw_ban_length(&p, RLW_CLASS_NORMAL, 40), INT64_MAX);
}
END_TEST

START_TEST(below_threshold_nothing)
{
    rlw_ban_state_t b = fresh();
    rlw_ban_state_t before = b;
    rlw_verdict_t v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 3, 4, 1000);

    ck_assert_int_eq(v.kind, RLW_VERDICT_NONE);
    ck_assert_int_eq(memcmp(&b, &before, sizeof(b)), 0);
}
END_TEST

START_TEST(crossing_bans)
{
    rlw_ban_state_t b = fresh();
    rlw_verdict_t v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, 1000);

    ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(v.ban_ms, MIN);
    ck_assert_uint_eq(v.strike, 1);
    ck_assert_int_eq(b.start_ms, 1000);
    ck_assert_int_eq(b.until_ms, 1000 + MIN);
    ck_assert_uint_eq(b.strikes, 1);
    ck_assert_uint_eq(b.count, 5);
}
END_TEST

START_TEST(already_banned_no_change)
{
    rlw_ban_state_t b = fresh();
    rlw_ban_state_t during;
    rlw_verdict_t v;

    rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, 1000);
    during = b;
    v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 5, 6, 1000 + MIN - 1);
    ck_assert_int_eq(v.kind, RLW_VERDICT_ALREADY_BANNED);
    ck_assert_uint_eq(v.strike, 1);
    ck_assert_int_eq(memcmp(&b, &during, sizeof(b)), 0);
    /* Allow and Exempt are reported the same while a ban runs. */
    v = rlw_decide(&pol, RLW_CLASS_ALLOW, &b, 0, 50, 2000);
    ck_assert_int_eq(v.kind, RLW_VERDICT_ALREADY_BANNED);
    ck_assert_int_eq(memcmp(&b, &during, sizeof(b)), 0);
}
END_TEST

START_TEST(ban_after_expiry_even_if_prev_over)
{
    rlw_ban_state_t b = fresh();
    rlw_verdict_t v;

    rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, 1000);
    /* The ban ends exactly at until_ms; the window was not reset. */
    v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 5, 6, 1000 + MIN);
    ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(v.strike, 2);
    ck_assert_int_eq(v.ban_ms, 2 * MIN);
    ck_assert_int_eq(b.until_ms, 1000 + 3 * MIN);
    ck_assert_uint_eq(b.count, 6);
}
END_TEST

START_TEST(escalation_to_cap)
{
    static const int64_t want[] = {1, 2, 4, 8, 10, 10, 10};
    rlw_ban_state_t b = fresh();
    rlw_verdict_t v;
    int64_t now = 5000;
    size_t i;

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, now);
        ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
        ck_assert_uint_eq(v.strike, i + 1);
        ck_assert_uint_eq(b.strikes, i + 1);
        ck_assert_int_eq(v.ban_ms, want[i] * MIN);
        ck_assert_int_eq(b.until_ms - b.start_ms, want[i] * MIN);
        now = b.until_ms + 1000; /* shortly after the ban ends */
    }
}
END_TEST

START_TEST(strike_decay_boundary)
{
    rlw_ban_state_t b = fresh();
    rlw_ban_state_t saved;
    rlw_verdict_t v;

    rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, 0);
    rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, b.until_ms);
    ck_assert_uint_eq(b.strikes, 2);
    saved = b;

    /* One ms short of the decay: escalates to strike 3. */
    v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, b.until_ms + DAY - 1);
    ck_assert_uint_eq(v.strike, 3);
    ck_assert_int_eq(v.ban_ms, 4 * MIN);

    /* Exactly the decay: starts again at strike 1. */
    b = saved;
    v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, b.until_ms + DAY);
    ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(v.strike, 1);
    ck_assert_uint_eq(b.strikes, 1);
    ck_assert_int_eq(v.ban_ms, MIN);
}
END_TEST

START_TEST(allow_never_escalates)
{
    rlw_ban_state_t b = fresh();
    rlw_verdict_t v;
    int k;

    b.strikes = 3; /* from earlier, as a normal client */
    for (k = 0; k < 4; k++) {
        int64_t now = 1000 + k * MIN;

        v = rlw_decide(&pol, RLW_CLASS_ALLOW, &b, 4, 5, now);
        ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
        ck_assert_int_eq(v.ban_ms, 30000);
        ck_assert_uint_eq(v.strike, 3);
        ck_assert_uint_eq(b.strikes, 3);
        ck_assert_int_eq(b.start_ms, now);
        ck_assert_int_eq(b.until_ms, now + 30000);
        ck_assert_uint_eq(b.count, 5);
    }
}
END_TEST

START_TEST(exempt_reported_once_per_crossing)
{
    rlw_ban_state_t b = fresh();
    rlw_ban_state_t before = b;
    rlw_verdict_t v;

    v = rlw_decide(&pol, RLW_CLASS_EXEMPT, &b, 3, 4, 1000);
    ck_assert_int_eq(v.kind, RLW_VERDICT_NONE);
    v = rlw_decide(&pol, RLW_CLASS_EXEMPT, &b, 4, 5, 1000);
    ck_assert_int_eq(v.kind, RLW_VERDICT_EXEMPT_CROSSED);
    v = rlw_decide(&pol, RLW_CLASS_EXEMPT, &b, 5, 6, 1001);
    ck_assert_int_eq(v.kind, RLW_VERDICT_NONE);
    v = rlw_decide(&pol, RLW_CLASS_EXEMPT, &b, 60, 61, 1002);
    ck_assert_int_eq(v.kind, RLW_VERDICT_NONE);
    ck_assert_int_eq(memcmp(&b, &before, sizeof(b)), 0);
    /* The window drained and filled again: a new crossing. */
    v = rlw_decide(&pol, RLW_CLASS_EXEMPT, &b, 4, 5, 90000);
    ck_assert_int_eq(v.kind, RLW_VERDICT_EXEMPT_CROSSED);
    ck_assert_int_eq(memcmp(&b, &before, sizeof(b)), 0);
}
END_TEST

START_TEST(threshold_edges)
{
    rlw_policy_t p = pol;
    rlw_ban_state_t b = fresh();
    rlw_verdict_t v;

    p.threshold = 1;
    v = rlw_decide(&p, RLW_CLASS_NORMAL, &b, 0, 1, 1000);
    ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
    /* 0 reads as 1: a count of 0 never bans. */
    p.threshold = 0;
    b = fresh();
    v = rlw_decide(&p, RLW_CLASS_NORMAL, &b, 0, 0, 1000);
    ck_assert_int_eq(v.kind, RLW_VERDICT_NONE);
    /* A count jumping well past the threshold still bans. */
    v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 0, 100, 1000);
    ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(b.count, 100);
}
END_TEST

START_TEST(until_saturates)
{
    rlw_ban_state_t b = fresh();
    rlw_verdict_t v;

    v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, 4, 5, INT64_MAX - 10);
    ck_assert_int_eq(v.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(b.until_ms, INT64_MAX);
}
END_TEST

/* The near mark is 80% of the threshold, rounded up; none below 5. */
START_TEST(near_mark_by_threshold)
{
    static const struct {
        uint32_t threshold, near;
    } cases[] = {
        {0, 0},  {1, 0},   {2, 0},    {4, 0},
        {5, 4},  {6, 5},   {9, 8},    {10, 8},
        {11, 9}, {20, 16}, {100, 80}, {UINT32_MAX, UINT32_MAX - UINT32_MAX / 5},
    };
    rlw_policy_t p = pol;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p.threshold = cases[i].threshold;
        ck_assert_msg(rlw_near_threshold(&p) == cases[i].near,
                      "threshold %u: near %u, expected %u", cases[i].threshold,
                      rlw_near_threshold(&p), cases[i].near);
        /* The mark is always below the threshold: the ban comes after. */
        ck_assert(rlw_near_threshold(&p) < p.threshold ||
                  rlw_near_threshold(&p) == 0);
    }
}
END_TEST

/* Counting attacks one by one through rlw_decide(), exactly one of them
 * (the 4th of a threshold of 5) is reported near the threshold. */
START_TEST(near_reached_once_per_window)
{
    rlw_ban_state_t b = fresh();
    rlw_verdict_t v;
    uint32_t count, reports = 0, at = 0;

    for (count = 1; count <= 5; count++) {
        v = rlw_decide(&pol, RLW_CLASS_NORMAL, &b, count - 1, count,
                       1000 * count);
        if (rlw_near_reached(&pol, RLW_CLASS_NORMAL, &v, count)) {
            reports++;
            at = count;
        }
    }
    ck_assert_uint_eq(reports, 1);
    ck_assert_uint_eq(at, 4);
    ck_assert_int_eq(v.kind, RLW_VERDICT_BAN); /* the 5th banned */
}
END_TEST

START_TEST(near_reached_only_without_decision)
{
    rlw_verdict_t none = {RLW_VERDICT_NONE, 0, 0, 0};
    rlw_verdict_t ban = {RLW_VERDICT_BAN, MIN, 1, 0};
    rlw_verdict_t banned = {RLW_VERDICT_ALREADY_BANNED, 0, 1, 0};
    rlw_verdict_t crossed = {RLW_VERDICT_EXEMPT_CROSSED, 0, 0, 0};
    rlw_policy_t p = pol;

    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &none, 4), 1);
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_ALLOW, &none, 4), 1);
    /* Exempt clients report the crossing instead. */
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_EXEMPT, &none, 4), 0);
    /* Counted while banned, or banning: no near report. */
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &banned, 4), 0);
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &ban, 4), 0);
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &crossed, 4), 0);
    /* Only the count equal to the mark, not those around it. */
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &none, 3), 0);
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &none, 5), 0);
    /* No mark under a threshold of 5, not even at count 0. */
    p.threshold = 4;
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &none, 4), 0);
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &none, 3), 0);
    p.threshold = 0;
    ck_assert_int_eq(rlw_near_reached(&p, RLW_CLASS_NORMAL, &none, 0), 0);
}
END_TEST

Suite *decision_suite(void)
{
    Suite *s = suite_create("decision");
    TCase *tc = tcase_create("length");

    tcase_add_test(tc, ban_active_boundaries);
    tcase_add_test(tc, length_doubles_then_caps);
    tcase_add_test(tc, length_by_class);
    tcase_add_test(tc, length_odd_policies);
    suite_add_tcase(s, tc);

    tc = tcase_create("decide");
    tcase_add_test(tc, below_threshold_nothing);
    tcase_add_test(tc, crossing_bans);
    tcase_add_test(tc, already_banned_no_change);
    tcase_add_test(tc, ban_after_expiry_even_if_prev_over);
    tcase_add_test(tc, escalation_to_cap);
    tcase_add_test(tc, strike_decay_boundary);
    tcase_add_test(tc, allow_never_escalates);
    tcase_add_test(tc, exempt_reported_once_per_crossing);
    tcase_add_test(tc, threshold_edges);
    tcase_add_test(tc, until_saturates);
    suite_add_tcase(s, tc);

    tc = tcase_create("near");
    tcase_add_test(tc, near_mark_by_threshold);
    tcase_add_test(tc, near_reached_once_per_window);
    tcase_add_test(tc, near_reached_only_without_decision);
    suite_add_tcase(s, tc);
    return s;
}

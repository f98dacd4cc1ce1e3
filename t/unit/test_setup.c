/* test_setup.c - the set-up checks' shared evidence (rlw_setup.c): when a
 * problem is declared, the score that withdraws not_counting, the warning
 * rate limit (exactly one of several threads warns), the private address
 * ranges, and the names and fixes.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "rlw_setup.h"
#include "unit_suites.h"

#define T0 1728000000000LL /* 2024-10-04 00:00 UTC */
#define EVERY RLW_SETUP_WARN_EVERY_MS

static rlw_setup_t su;

static void setup_setup(void)
{
    memset(&su, 0x5a, sizeof(su)); /* init must not rely on zeroes */
    rlw_setup_init(&su);
}

START_TEST(nothing_declared_at_start)
{
    rlw_setup_view_t v[RLW_SETUP_KINDS];

    for (int k = 0; k < RLW_SETUP_KINDS; k++) {
        ck_assert(!rlw_setup_active(&su, (rlw_setup_kind_t)k));
        ck_assert(!rlw_setup_should_warn(&su, (rlw_setup_kind_t)k, T0, EVERY));
    }
    rlw_setup_read(&su, v);
    ck_assert_uint_eq(v[RLW_SETUP_NOT_COUNTING].evidence, 0);
    ck_assert_int_eq(v[RLW_SETUP_NOT_COUNTING].first_ms, 0);
    /* NULL: no evidence store (module off), nothing declared. */
    rlw_setup_read(NULL, v);
    ck_assert(!v[RLW_SETUP_BANS_INSPECTED].active);
    ck_assert_int_eq(rlw_setup_note(NULL, RLW_SETUP_BANS_INSPECTED, T0), 0);
    rlw_setup_scored(NULL);
}
END_TEST

START_TEST(not_counting_needs_evidence_and_no_score)
{
    rlw_setup_view_t v[RLW_SETUP_KINDS];

    for (int i = 1; i < RLW_SETUP_NOT_COUNTING_MIN; i++)
        ck_assert_int_eq(rlw_setup_note(&su, RLW_SETUP_NOT_COUNTING, T0 + i),
                         0);
    ck_assert_int_eq(rlw_setup_note(&su, RLW_SETUP_NOT_COUNTING, T0 + 100), 1);
    rlw_setup_read(&su, v);
    ck_assert(v[RLW_SETUP_NOT_COUNTING].active);
    ck_assert_uint_eq(v[RLW_SETUP_NOT_COUNTING].evidence,
                      RLW_SETUP_NOT_COUNTING_MIN);
    ck_assert_int_eq(v[RLW_SETUP_NOT_COUNTING].first_ms, T0 + 1);
    ck_assert_int_eq(v[RLW_SETUP_NOT_COUNTING].last_ms, T0 + 100);
    ck_assert(!v[RLW_SETUP_BANS_INSPECTED].active);
    /* One exported score anywhere: the snippet is there. */
    rlw_setup_scored(&su);
    ck_assert(!rlw_setup_active(&su, RLW_SETUP_NOT_COUNTING));
    ck_assert_int_eq(rlw_setup_note(&su, RLW_SETUP_NOT_COUNTING, T0 + 200), 0);
}
END_TEST

START_TEST(one_request_declares_the_others)
{
    ck_assert_int_eq(rlw_setup_note(&su, RLW_SETUP_BANS_INSPECTED, T0), 1);
    ck_assert_int_eq(rlw_setup_note(&su, RLW_SETUP_PROXY_ADDRESS, T0), 1);
    /* A score does not withdraw them. */
    rlw_setup_scored(&su);
    ck_assert(rlw_setup_active(&su, RLW_SETUP_BANS_INSPECTED));
    ck_assert(rlw_setup_active(&su, RLW_SETUP_PROXY_ADDRESS));
    ck_assert_int_eq(rlw_setup_note(&su, (rlw_setup_kind_t)RLW_SETUP_KINDS, T0),
                     0);
    ck_assert(!rlw_setup_active(&su, (rlw_setup_kind_t)-1));
}
END_TEST

START_TEST(warning_rate_limited)
{
    rlw_setup_note(&su, RLW_SETUP_BANS_INSPECTED, T0);
    ck_assert(rlw_setup_should_warn(&su, RLW_SETUP_BANS_INSPECTED, T0, EVERY));
    ck_assert(!rlw_setup_should_warn(&su, RLW_SETUP_BANS_INSPECTED, T0, EVERY));
    ck_assert(!rlw_setup_should_warn(&su, RLW_SETUP_BANS_INSPECTED,
                                     T0 + EVERY - 1, EVERY));
    ck_assert(rlw_setup_should_warn(&su, RLW_SETUP_BANS_INSPECTED, T0 + EVERY,
                                    EVERY));
    /* The clock went back: warn rather than stay silent for good. */
    ck_assert(rlw_setup_should_warn(&su, RLW_SETUP_BANS_INSPECTED, T0, EVERY));
    /* Each problem has its own limit. */
    rlw_setup_note(&su, RLW_SETUP_PROXY_ADDRESS, T0);
    ck_assert(rlw_setup_should_warn(&su, RLW_SETUP_PROXY_ADDRESS, T0, EVERY));
}
END_TEST

#define THREADS 8
#define ROUNDS 2000

static int warned[THREADS];

static void *racer(void *arg)
{
    int id = (int)(long)arg;

    for (int i = 0; i < ROUNDS; i++) {
        rlw_setup_note(&su, RLW_SETUP_PROXY_ADDRESS, T0 + i);
        warned[id] +=
            rlw_setup_should_warn(&su, RLW_SETUP_PROXY_ADDRESS, T0 + i, EVERY);
    }
    return NULL;
}

/* Several processes note and ask at once: every note counted, exactly one
 * warning within the period. */
START_TEST(one_warning_among_racers)
{
    pthread_t t[THREADS];
    rlw_setup_view_t v[RLW_SETUP_KINDS];
    int total = 0;

    for (long i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, racer, (void *)i), 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        total += warned[i];
    }
    ck_assert_int_eq(total, 1);
    rlw_setup_read(&su, v);
    ck_assert_uint_eq(v[RLW_SETUP_PROXY_ADDRESS].evidence, THREADS * ROUNDS);
    ck_assert_int_eq(v[RLW_SETUP_PROXY_ADDRESS].first_ms, T0);
}
END_TEST

static int private(const char *text)
{
    rlw_addr_t a;

    ck_assert_int_eq(rlw_addr_parse(text, &a), 0);
    return rlw_setup_private_addr(&a);
}

START_TEST(private_ranges)
{
    ck_assert(private("127.0.0.1"));
    ck_assert(private("127.255.0.9"));
    ck_assert(private("10.1.2.3"));
    ck_assert(private("172.16.0.1"));
    ck_assert(private("172.31.255.254"));
    ck_assert(!private("172.32.0.1"));
    ck_assert(!private("172.15.255.255"));
    ck_assert(private("192.168.1.1"));
    ck_assert(!private("192.169.1.1"));
    ck_assert(private("100.64.0.1"));
    ck_assert(private("100.127.255.255"));
    ck_assert(!private("100.128.0.1"));
    ck_assert(private("169.254.3.4"));
    ck_assert(!private("198.51.100.7"));
    ck_assert(!private("8.8.8.8"));
    ck_assert(private("::1"));
    ck_assert(!private("::2"));
    ck_assert(private("fd00::1"));
    ck_assert(private("fc12::1"));
    ck_assert(private("fe80::1"));
    ck_assert(!private("fec0::1"));
    ck_assert(!private("2001:db8::1"));
    ck_assert(private("::ffff:10.0.0.1")); /* mapped: IPv4 */
}
END_TEST

static rlw_addr_t addr(const char *text)
{
    rlw_addr_t a;

    ck_assert_int_eq(rlw_addr_parse(text, &a), 0);
    return a;
}

/* One address, many User-Agents: declared once it carried enough attacks
 * with enough distinct agents; one agent never. */
START_TEST(shared_address_many_agents)
{
    rlw_addr_t lb = addr("198.51.100.250"), bot = addr("198.51.100.251");
    char ua[32];
    int i, got = 0, first = -1;

    for (i = 0; i < 2 * RLW_SETUP_SHARED_ATTACKS; i++)
        ck_assert_int_eq(rlw_setup_agent(&su, &bot, "sqlmap/1.7"), 0);
    rlw_setup_init(&su);
    for (i = 0; i < 2 * RLW_SETUP_SHARED_ATTACKS && !got; i++) {
        snprintf(ua, sizeof(ua), "browser-%d", i % 16);
        got = rlw_setup_agent(&su, &lb, ua);
        if (got)
            first = i;
    }
    ck_assert_int_ge(got, RLW_SETUP_SHARED_AGENTS);
    ck_assert_int_eq(first, RLW_SETUP_SHARED_ATTACKS - 1);
    ck_assert_int_eq(rlw_setup_agent(NULL, &lb, "x"), 0);
    ck_assert_int_eq(rlw_setup_agent(&su, NULL, "x"), 0);
}
END_TEST

/* The address with most of the attacks keeps the slot against others
 * (2 to 1 here); three equal addresses wear each other out, none is
 * declared. */
START_TEST(shared_address_majority)
{
    rlw_addr_t lb = addr("2001:db8::1"), o1 = addr("192.0.2.1"),
               o2 = addr("192.0.2.2"), o3 = addr("192.0.2.3");
    char ua[32];
    int i, got = 0;

    /* Per round: two attacks of lb, one of o1. */
    for (i = 0; i < 3 * RLW_SETUP_SHARED_ATTACKS && !got; i++) {
        snprintf(ua, sizeof(ua), "agent %d", i);
        got = rlw_setup_agent(&su, &lb, ua) | rlw_setup_agent(&su, &lb, ua);
        ck_assert_int_eq(rlw_setup_agent(&su, &o1, ua), 0);
    }
    ck_assert_int_ge(got, RLW_SETUP_SHARED_AGENTS);

    rlw_setup_init(&su);
    for (i = 0; i < 300; i++) {
        snprintf(ua, sizeof(ua), "agent %d", i);
        ck_assert_int_eq(rlw_setup_agent(&su, &o1, ua), 0);
        ck_assert_int_eq(rlw_setup_agent(&su, &o2, ua), 0);
        ck_assert_int_eq(rlw_setup_agent(&su, &o3, NULL), 0);
    }
}
END_TEST

START_TEST(names_and_fixes)
{
    ck_assert_str_eq(rlw_setup_kind_name(RLW_SETUP_NOT_COUNTING),
                     "not_counting");
    ck_assert_str_eq(rlw_setup_kind_name(RLW_SETUP_BANS_INSPECTED),
                     "bans_inspected");
    ck_assert_str_eq(rlw_setup_kind_name(RLW_SETUP_PROXY_ADDRESS),
                     "proxy_address");
    ck_assert_str_eq(rlw_setup_kind_name(RLW_SETUP_SHARED_ADDRESS),
                     "shared_address");
    ck_assert_ptr_nonnull(
        strstr(rlw_setup_fix(RLW_SETUP_SHARED_ADDRESS), "RateLimitWAFAllow"));
    ck_assert_str_eq(rlw_setup_kind_name((rlw_setup_kind_t)RLW_SETUP_KINDS),
                     "unknown");
    /* Each fix names the missing file, or the directives. */
    ck_assert_ptr_nonnull(strstr(rlw_setup_fix(RLW_SETUP_NOT_COUNTING),
                                 "modsecurity-ratelimit-waf.conf AFTER"));
    ck_assert_ptr_nonnull(
        strstr(rlw_setup_fix(RLW_SETUP_BANS_INSPECTED),
               "modsecurity-ratelimit-waf-before.conf BEFORE"));
    ck_assert_ptr_nonnull(
        strstr(rlw_setup_fix(RLW_SETUP_PROXY_ADDRESS), "RemoteIPHeader"));
    ck_assert_str_eq(rlw_setup_fix((rlw_setup_kind_t)-1), "");
    ck_assert_str_eq(rlw_setup_kind_name(RLW_SETUP_KEY_ORDER), "key_order");
    ck_assert_ptr_nonnull(
        strstr(rlw_setup_fix(RLW_SETUP_KEY_ORDER), "same order"));
}
END_TEST

/* key_order is a state: declared by a check, ended by the next one that
 * finds the nodes agree, declared again by a later disagreement; its
 * detail says which lists differ. */
START_TEST(key_order_state_and_detail)
{
    rlw_setup_view_t v[RLW_SETUP_KINDS];
    char big[RLW_SETUP_DETAIL_LEN + 100];

    ck_assert_int_eq(rlw_setup_note(&su, RLW_SETUP_KEY_ORDER, T0), 1);
    rlw_setup_detail(&su, RLW_SETUP_KEY_ORDER,
                     "this node: api, session; node-b: session, api");
    rlw_setup_read(&su, v);
    ck_assert(v[RLW_SETUP_KEY_ORDER].active);
    ck_assert_str_eq(v[RLW_SETUP_KEY_ORDER].detail,
                     "this node: api, session; node-b: session, api");
    ck_assert_str_eq(v[RLW_SETUP_SHARED_ADDRESS].detail, "");
    ck_assert(rlw_setup_should_warn(&su, RLW_SETUP_KEY_ORDER, T0, EVERY));
    rlw_setup_end(&su, RLW_SETUP_KEY_ORDER);
    ck_assert(!rlw_setup_active(&su, RLW_SETUP_KEY_ORDER));
    ck_assert(
        !rlw_setup_should_warn(&su, RLW_SETUP_KEY_ORDER, T0 + EVERY, EVERY));
    rlw_setup_read(&su, v);
    ck_assert(!v[RLW_SETUP_KEY_ORDER].active);
    ck_assert_uint_eq(v[RLW_SETUP_KEY_ORDER].evidence, 1); /* kept */
    /* Again: declared, and its warning still waits for the interval. */
    ck_assert_int_eq(rlw_setup_note(&su, RLW_SETUP_KEY_ORDER, T0 + 5), 1);
    ck_assert(!rlw_setup_should_warn(&su, RLW_SETUP_KEY_ORDER, T0 + 5, EVERY));
    ck_assert(
        rlw_setup_should_warn(&su, RLW_SETUP_KEY_ORDER, T0 + EVERY, EVERY));
    /* Cut to the buffer; NULL clears. */
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rlw_setup_detail(&su, RLW_SETUP_KEY_ORDER, big);
    rlw_setup_read(&su, v);
    ck_assert_uint_eq(strlen(v[RLW_SETUP_KEY_ORDER].detail),
                      RLW_SETUP_DETAIL_LEN - 1);
    rlw_setup_detail(&su, RLW_SETUP_KEY_ORDER, NULL);
    rlw_setup_read(&su, v);
    ck_assert_str_eq(v[RLW_SETUP_KEY_ORDER].detail, "");
    rlw_setup_end(NULL, RLW_SETUP_KEY_ORDER);
    rlw_setup_detail(&su, (rlw_setup_kind_t)RLW_SETUP_KINDS, "x");
}
END_TEST

Suite *setup_suite(void)
{
    Suite *s = suite_create("setup");
    TCase *tc = tcase_create("setup");

    tcase_add_checked_fixture(tc, setup_setup, NULL);
    tcase_add_test(tc, nothing_declared_at_start);
    tcase_add_test(tc, not_counting_needs_evidence_and_no_score);
    tcase_add_test(tc, one_request_declares_the_others);
    tcase_add_test(tc, warning_rate_limited);
    tcase_add_test(tc, one_warning_among_racers);
    tcase_add_test(tc, private_ranges);
    tcase_add_test(tc, shared_address_many_agents);
    tcase_add_test(tc, key_order_state_and_detail);
    tcase_add_test(tc, shared_address_majority);
    tcase_add_test(tc, names_and_fixes);
    suite_add_tcase(s, tc);
    return s;
}

/* test_store_shm.c - the shared-memory store through its rlw_store_t
 * interface: counting to a ban, ban expiry and the fresh count after it,
 * escalation, unban, the Exempt and Allow classes, a full table (bounded,
 * running bans kept while something else can go), reuse of the table by a
 * second create (graceful restart), and exact counts across processes and
 * threads. Every call gets an explicit now_ms; the clock is never read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "rlw_addr.h"
#include "rlw_decision.h"
#include "rlw_log.h"
#include "rlw_store.h"
#include "unit_suites.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY (24 * 60 * MIN)
/* Far from 0 so that nothing can mistake a time for "never". */
#define T0 (1000 * DAY)
#define THRESH 5

/* threshold 5 in a minute; bans 1m, 2m, 4m, ... capped at 10m; Allow 30s;
 * strikes forgotten a day after the last ban ended. */
static const rlw_policy_t pol = {THRESH, MIN, MIN, 10 * MIN, 30 * SEC, DAY};

static apr_pool_t *pool;
static int log_lines;
static int full_lines;

static void capture_log(void *baton, rlw_log_level_t level, const char *msg)
{
    (void)baton;
    (void)level;
    log_lines++;
    if (strncmp(msg, "RLW00020:", 9) == 0)
        full_lines++;
}

static void setup(void)
{
    ck_assert_int_eq(apr_initialize(), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    log_lines = 0;
    full_lines = 0;
    rlw_log_set(capture_log, NULL);
}

static void teardown(void)
{
    rlw_log_set(NULL, NULL);
    apr_pool_destroy(pool);
    pool = NULL;
    apr_terminate();
}

static rlw_store_t *make_store(apr_size_t capacity)
{
    rlw_store_t *st = NULL;
    const char *err = rlw_store_shm_create(pool, capacity, &st);

    ck_assert_msg(err == NULL, "create: %s", err ? err : "");
    ck_assert_ptr_nonnull(st);
    ck_assert_str_eq(st->name, "shm");
    return st;
}

/* Client number i: 10.x.y.z for i < 2^24, distinct for distinct i. */
static rlw_addr_t client(unsigned i)
{
    char text[32];
    rlw_addr_t a;

    snprintf(text, sizeof(text), "10.%u.%u.%u", (i >> 16) & 255,
             (i >> 8) & 255, i & 255);
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(rlw_addr_parse(text, &a), 0);
    return a;
}

static rlw_attack_t attack(rlw_store_t *st, const rlw_addr_t *c,
                           rlw_class_t cls, const rlw_policy_t *p,
                           int64_t now)
{
    rlw_attack_t a;

    memset(&a, 0x5a, sizeof(a)); /* the store must fill every field */
    ck_assert_int_eq(st->attack(st, c, cls, p, NULL, now, &a), APR_SUCCESS);
    return a;
}

/* threshold - 1 attacks at now that must not ban, counting from start + 1;
 * then the threshold-th, whose result is returned. */
static rlw_attack_t attack_to_threshold(rlw_store_t *st, const rlw_addr_t *c,
                                        uint32_t start, int64_t now)
{
    rlw_attack_t a;
    uint32_t i;

    for (i = start + 1; i < THRESH; i++) {
        a = attack(st, c, RLW_CLASS_NORMAL, &pol, now);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
        ck_assert_uint_eq(a.count, i);
    }
    return attack(st, c, RLW_CLASS_NORMAL, &pol, now);
}

static void stats(rlw_store_t *st, rlw_store_stats_t *s)
{
    memset(s, 0x5a, sizeof(*s));
    st->stats(st, s);
}

/* ---- basics ------------------------------------------------------------ */

START_TEST(fresh_table)
{
    rlw_store_t *st = make_store(16);
    rlw_store_stats_t s;
    rlw_addr_t c = client(1);
    int64_t until = 42;

    stats(st, &s);
    ck_assert_uint_eq(s.capacity, 16);
    ck_assert_uint_eq(s.tracked, 0);
    ck_assert_uint_eq(s.evictions, 0);
    ck_assert_uint_eq(s.evicted_bans, 0);
    ck_assert_int_eq(st->banned(st, &c, T0, &until), 0);
    ck_assert_int_eq(until, 42); /* untouched when not banned */
    ck_assert_int_eq(st->banned(st, &c, 0, NULL), 0);
    ck_assert_int_eq(st->banned(st, &c, INT64_MAX, NULL), 0);
    ck_assert_int_eq(st->unban(st, &c, T0), APR_NOTFOUND);
    ck_assert_int_eq(st->child_init(st, pool), APR_SUCCESS);
}
END_TEST

START_TEST(capacity_rounds_to_whole_sets)
{
    rlw_store_stats_t s;

    stats(make_store(10), &s);
    ck_assert_uint_eq(s.capacity, 16);
    stats(make_store(1), &s);
    ck_assert_uint_eq(s.capacity, 8);
    stats(make_store(0), &s);
    ck_assert_uint_eq(s.capacity, 8);
    stats(make_store(1000), &s);
    ck_assert_uint_eq(s.capacity, 1000);
}
END_TEST

START_TEST(threshold_th_attack_bans)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(1), other = client(2);
    rlw_store_stats_t s;
    rlw_attack_t a;
    int64_t until = 0;
    uint32_t i;

    for (i = 1; i < THRESH; i++) {
        a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + i);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
        ck_assert_uint_eq(a.count, i);
        ck_assert_int_eq(a.evicted, 0);
        ck_assert_int_eq(a.ban.until_ms, 0);
        ck_assert_int_eq(st->banned(st, &c, T0 + i, NULL), 0);
    }
    a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + THRESH);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(a.verdict.ban_ms, MIN);
    ck_assert_uint_eq(a.verdict.strike, 1);
    ck_assert_uint_eq(a.count, THRESH);
    ck_assert_int_eq(a.evicted, 0);
    ck_assert_int_eq(a.ban.start_ms, T0 + THRESH);
    ck_assert_int_eq(a.ban.until_ms, T0 + THRESH + MIN);
    ck_assert_uint_eq(a.ban.strikes, 1);
    ck_assert_uint_eq(a.ban.count, THRESH);

    ck_assert_int_eq(st->banned(st, &c, T0 + THRESH, &until), 1);
    ck_assert_int_eq(until, T0 + THRESH + MIN);
    ck_assert_int_eq(st->banned(st, &c, T0 + THRESH + MIN - 1, NULL), 1);
    ck_assert_int_eq(st->banned(st, &c, T0 + THRESH + MIN, NULL), 0);
    ck_assert_int_eq(st->banned(st, &c, T0 + THRESH + 2 * MIN, NULL), 0);
    /* Only that client. */
    ck_assert_int_eq(st->banned(st, &other, T0 + THRESH, NULL), 0);
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 1);
}
END_TEST

START_TEST(clients_count_separately)
{
    rlw_store_t *st = make_store(64);
    rlw_addr_t a = client(1), b = client(2), v6;
    rlw_attack_t r;
    rlw_store_stats_t s;
    uint32_t i;

    ck_assert_int_eq(rlw_addr_parse("2001:db8::1", &v6), 0);
    for (i = 1; i < THRESH; i++) {
        ck_assert_uint_eq(attack(st, &a, RLW_CLASS_NORMAL, &pol, T0).count, i);
        ck_assert_uint_eq(attack(st, &b, RLW_CLASS_NORMAL, &pol, T0).count, i);
        ck_assert_uint_eq(attack(st, &v6, RLW_CLASS_NORMAL, &pol, T0).count,
                          i);
    }
    r = attack(st, &a, RLW_CLASS_NORMAL, &pol, T0);
    ck_assert_int_eq(r.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(st->banned(st, &a, T0, NULL), 1);
    ck_assert_int_eq(st->banned(st, &b, T0, NULL), 0);
    ck_assert_int_eq(st->banned(st, &v6, T0, NULL), 0);
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 3);
}
END_TEST

START_TEST(window_slides)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(7);
    rlw_attack_t a;
    uint32_t i;

    /* THRESH - 1 attacks, then the window moves past them: no ban. */
    for (i = 1; i < THRESH; i++)
        ck_assert_uint_eq(attack(st, &c, RLW_CLASS_NORMAL, &pol, T0).count, i);
    a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + 2 * MIN);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
    ck_assert_uint_eq(a.count, 1);
    ck_assert_int_eq(st->banned(st, &c, T0 + 2 * MIN, NULL), 0);
}
END_TEST

/* ---- a running ban, its end, the count after it ----------------------- */

START_TEST(attack_during_ban_no_extension)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(3);
    rlw_attack_t a;
    int64_t until = 0;
    int i;

    a = attack_to_threshold(st, &c, 0, T0);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    for (i = 0; i < 3 * THRESH; i++) {
        a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + 1000 + i * 1000);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_ALREADY_BANNED);
        ck_assert_uint_eq(a.verdict.strike, 1);
        ck_assert_int_eq(a.ban.start_ms, T0);
        ck_assert_int_eq(a.ban.until_ms, T0 + MIN);
        ck_assert_uint_eq(a.ban.strikes, 1);
        ck_assert_uint_eq(a.ban.count, THRESH);
    }
    ck_assert_int_eq(st->banned(st, &c, T0 + 30 * SEC, &until), 1);
    ck_assert_int_eq(until, T0 + MIN);
    ck_assert_int_eq(st->banned(st, &c, T0 + MIN, NULL), 0);
}
END_TEST

START_TEST(count_restarts_after_ban)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(4);
    rlw_attack_t a;
    /* A 10-minute window and a 1-minute ban: at the ban's end the attacks
     * that caused it are still inside the window. */
    rlw_policy_t p = {THRESH, 10 * MIN, MIN, 10 * MIN, 30 * SEC, DAY};
    int64_t t = T0 + MIN;
    uint32_t i;

    for (i = 1; i < THRESH; i++)
        ck_assert_int_eq(attack(st, &c, RLW_CLASS_NORMAL, &p, T0).verdict.kind,
                         RLW_VERDICT_NONE);
    a = attack(st, &c, RLW_CLASS_NORMAL, &p, T0);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(a.ban.until_ms, t);
    /* THRESH - 1 attacks right after the ban: counted from 1, no ban. */
    for (i = 1; i < THRESH; i++) {
        a = attack(st, &c, RLW_CLASS_NORMAL, &p, t);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
        ck_assert_uint_eq(a.count, i);
        ck_assert_int_eq(st->banned(st, &c, t, NULL), 0);
    }
    a = attack(st, &c, RLW_CLASS_NORMAL, &p, t);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.count, THRESH);
    ck_assert_uint_eq(a.verdict.strike, 2);
}
END_TEST

/* The store's comment: after a ban "the client needs a full Threshold
 * again, and the requests it made while banned ... cannot add to the old
 * one". Attacks still reach attack() during a ban (requests in flight when
 * the ban began are counted at log time, and an Exempt vhost can count a
 * client another vhost banned). Check that those do not shorten the
 * client's way to its next ban. */
START_TEST(attacks_during_ban_do_not_carry_over)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(5);
    rlw_attack_t a;
    int64_t t = T0 + MIN;
    uint32_t i;

    ck_assert_int_eq(attack_to_threshold(st, &c, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    for (i = 0; i < THRESH - 1; i++)
        ck_assert_int_eq(attack(st, &c, RLW_CLASS_NORMAL, &pol,
                                T0 + 50 * SEC).verdict.kind,
                         RLW_VERDICT_ALREADY_BANNED);
    a = attack(st, &c, RLW_CLASS_NORMAL, &pol, t);
    ck_assert_msg(a.verdict.kind == RLW_VERDICT_NONE,
                  "first attack after the ban: verdict %d, count %u (attacks "
                  "made during the ban carried over)",
                  (int)a.verdict.kind, (unsigned)a.count);
    ck_assert_uint_eq(a.count, 1);
}
END_TEST

START_TEST(escalation_doubles)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(6);
    rlw_attack_t a;
    int64_t t = T0;

    a = attack_to_threshold(st, &c, 0, t);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(a.verdict.ban_ms, MIN);
    ck_assert_uint_eq(a.verdict.strike, 1);

    t = a.ban.until_ms;
    a = attack_to_threshold(st, &c, 0, t);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.verdict.strike, 2);
    ck_assert_int_eq(a.verdict.ban_ms, 2 * MIN);
    ck_assert_int_eq(a.ban.until_ms, t + 2 * MIN);
    ck_assert_uint_eq(a.ban.strikes, 2);
    ck_assert_int_eq(st->banned(st, &c, t + 2 * MIN - 1, NULL), 1);
    ck_assert_int_eq(st->banned(st, &c, t + 2 * MIN, NULL), 0);

    t = a.ban.until_ms;
    a = attack_to_threshold(st, &c, 0, t);
    ck_assert_uint_eq(a.verdict.strike, 3);
    ck_assert_int_eq(a.verdict.ban_ms, 4 * MIN);

    /* A quiet day after that ban ended: back to strike 1. */
    t = a.ban.until_ms + DAY;
    a = attack_to_threshold(st, &c, 0, t);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.verdict.strike, 1);
    ck_assert_int_eq(a.verdict.ban_ms, MIN);
}
END_TEST

START_TEST(unban_ends_ban)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(8), never = client(9), counting = client(10);
    rlw_attack_t a;
    int64_t t = T0 + 10 * SEC;

    ck_assert_int_eq(st->unban(st, &never, T0), APR_NOTFOUND);
    /* Known but not banned. */
    attack(st, &counting, RLW_CLASS_NORMAL, &pol, T0);
    ck_assert_int_eq(st->unban(st, &counting, T0), APR_NOTFOUND);

    ck_assert_int_eq(attack_to_threshold(st, &c, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    ck_assert_int_eq(st->banned(st, &c, t, NULL), 1);
    ck_assert_int_eq(st->unban(st, &c, t), APR_SUCCESS);
    ck_assert_int_eq(st->banned(st, &c, t, NULL), 0);
    ck_assert_int_eq(st->banned(st, &c, T0 + 30 * SEC, NULL), 0);
    ck_assert_int_eq(st->unban(st, &c, t), APR_NOTFOUND);
    ck_assert_int_eq(st->unban(st, &c, t + SEC), APR_NOTFOUND);

    /* Strikes kept: the next ban is the second. And the next attack is
     * counted, not "already banned". */
    a = attack_to_threshold(st, &c, 0, t);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.verdict.strike, 2);
    ck_assert_int_eq(a.verdict.ban_ms, 2 * MIN);

    /* An expired ban cannot be lifted. */
    ck_assert_int_eq(st->unban(st, &c, a.ban.until_ms), APR_NOTFOUND);
}
END_TEST

START_TEST(exempt_never_bans)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(11);
    rlw_attack_t a;
    int crossed = 0;
    uint32_t i;

    for (i = 1; i <= 4 * THRESH; i++) {
        a = attack(st, &c, RLW_CLASS_EXEMPT, &pol, T0 + i);
        ck_assert_int_ne(a.verdict.kind, RLW_VERDICT_BAN);
        ck_assert_int_ne(a.verdict.kind, RLW_VERDICT_ALREADY_BANNED);
        ck_assert_uint_eq(a.count, i);
        ck_assert_int_eq(a.ban.until_ms, 0);
        if (a.verdict.kind == RLW_VERDICT_EXEMPT_CROSSED) {
            ck_assert_uint_eq(i, THRESH);
            crossed++;
        }
        ck_assert_int_eq(st->banned(st, &c, T0 + i, NULL), 0);
    }
    ck_assert_int_eq(crossed, 1);
    ck_assert_int_eq(st->unban(st, &c, T0 + i), APR_NOTFOUND);
}
END_TEST

START_TEST(allow_short_ban_no_escalation)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(12);
    rlw_attack_t a;
    int64_t t = T0;
    int round;
    uint32_t i;

    for (round = 0; round < 3; round++) {
        for (i = 1; i < THRESH; i++)
            ck_assert_int_eq(attack(st, &c, RLW_CLASS_ALLOW, &pol, t)
                                 .verdict.kind, RLW_VERDICT_NONE);
        a = attack(st, &c, RLW_CLASS_ALLOW, &pol, t);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
        ck_assert_int_eq(a.verdict.ban_ms, 30 * SEC);
        ck_assert_int_eq(a.ban.until_ms, t + 30 * SEC);
        ck_assert_uint_eq(a.ban.strikes, 0);
        ck_assert_int_eq(st->banned(st, &c, t + 30 * SEC - 1, NULL), 1);
        ck_assert_int_eq(st->banned(st, &c, t + 30 * SEC, NULL), 0);
        t += 30 * SEC;
    }
}
END_TEST

/* ---- a full table ------------------------------------------------------ */

START_TEST(full_table_bounded)
{
    rlw_store_t *st = make_store(16);
    rlw_store_stats_t s;
    rlw_attack_t a;
    uint64_t evicted_seen = 0;
    unsigned i;

    for (i = 0; i < 500; i++) {
        rlw_addr_t c = client(1000 + i);

        a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + i);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
        ck_assert_uint_eq(a.count, 1); /* a newcomer starts from nothing */
        evicted_seen += a.evicted;
        stats(st, &s);
        ck_assert_uint_le(s.tracked, 16);
        ck_assert_uint_eq(s.capacity, 16);
        ck_assert_uint_eq(s.evictions, evicted_seen);
        ck_assert_uint_eq(s.tracked + s.evictions, i + 1);
        ck_assert_uint_eq(s.evicted_bans, 0);
        if (i < 8) /* at most 8 clients fit in any set */
            ck_assert_int_eq(a.evicted, 0);
    }
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 16);      /* both sets end up full */
    ck_assert_uint_eq(s.evictions, 500 - 16);
    /* The "table full" warning is rate-limited: all of this happened within
     * a second, so exactly one line. */
    ck_assert_int_eq(full_lines, 1);
    ck_assert_int_eq(log_lines, 1);

    /* A known client is found, not evicted: its count goes on. */
    {
        rlw_addr_t c = client(1000 + 499);

        a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + 500);
        ck_assert_uint_eq(a.count, 2);
        ck_assert_int_eq(a.evicted, 0);
    }
    /* A minute later a second warning may be logged. */
    {
        rlw_addr_t c = client(5000);

        a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + 500 + MIN);
        ck_assert_int_eq(a.evicted, 1);
        ck_assert_int_eq(full_lines, 2);
    }
}
END_TEST

/* Fewer than 8 running bans: whatever sets they hash to, each set always
 * keeps a way without a ban, so a flood of newcomers never evicts one. */
START_TEST(full_table_keeps_bans)
{
    rlw_store_t *st = make_store(16);
    rlw_store_stats_t s;
    rlw_addr_t banned[7];
    unsigned i, j;

    for (i = 0; i < 7; i++) {
        banned[i] = client(i + 1);
        ck_assert_int_eq(attack_to_threshold(st, &banned[i], 0, T0)
                             .verdict.kind, RLW_VERDICT_BAN);
    }
    for (i = 0; i < 1000; i++) {
        rlw_addr_t c = client(100000 + i);
        int64_t t = T0 + 1 + i * 10; /* all within the bans (1 minute) */
        rlw_attack_t a;

        /* Some newcomers attack twice, so the victims are both idle and
         * counting entries. */
        a = attack(st, &c, RLW_CLASS_NORMAL, &pol, t);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
        if (i % 3 == 0)
            attack(st, &c, RLW_CLASS_NORMAL, &pol, t);
        for (j = 0; j < 7; j++)
            ck_assert_msg(st->banned(st, &banned[j], t, NULL),
                          "ban %u evicted by newcomer %u", j, i);
        stats(st, &s);
        ck_assert_uint_le(s.tracked, 16);
        ck_assert_uint_eq(s.evicted_bans, 0);
    }
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 16);
    ck_assert_uint_eq(s.evictions, 1000 + 7 - 16);
    ck_assert_uint_eq(s.evicted_bans, 0);
    /* And the bans still end on time. */
    for (j = 0; j < 7; j++)
        ck_assert_int_eq(st->banned(st, &banned[j], T0 + MIN, NULL), 0);
}
END_TEST

static const rlw_policy_t pol1 = {1, MIN, MIN, 10 * MIN, 30 * SEC, DAY};

/* Bans only, many more than fit (threshold 1: each newcomer is banned on
 * its first attack, each later than the one before). A ban is evicted only
 * by a newcomer whose set holds nothing but running bans, and then the one
 * that ends soonest. So: the bans kept always equal the bans set minus
 * evicted_bans; none goes before some set could hold a 9th; each victim is
 * the oldest ban of a full set, so at most 8 kept bans (the other set) are
 * older than it; the newest 8 are always kept, and in the end both sets are
 * full of bans. */
START_TEST(full_table_of_bans)
{
    enum { NB = 100 };
    rlw_store_t *st = make_store(16);
    rlw_store_stats_t s;
    rlw_addr_t c[NB];
    int alive[NB];
    unsigned i, j, kept;

    for (i = 0; i < NB; i++) {
        int64_t now = T0 + i * 10;
        rlw_attack_t a;
        unsigned gone = 0, victim = 0, older = 0;

        c[i] = client(200 + i);
        a = attack(st, &c[i], RLW_CLASS_NORMAL, &pol1, now);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
        ck_assert_int_eq(a.ban.until_ms, now + MIN);
        ck_assert_int_eq(st->banned(st, &c[i], now, NULL), 1);
        alive[i] = 1;

        kept = 0;
        for (j = 0; j <= i; j++) {
            int b = st->banned(st, &c[j], now, NULL);

            if (alive[j] && !b) {
                gone++;
                victim = j;
            }
            ck_assert_msg(alive[j] || !b, "evicted ban %u came back", j);
            alive[j] = b;
            kept += b;
        }
        stats(st, &s);
        ck_assert_uint_le(s.tracked, 16);
        ck_assert_uint_eq(kept, i + 1 - s.evicted_bans);
        ck_assert_uint_eq(s.evictions, s.evicted_bans); /* all were bans */
        ck_assert_int_eq(a.evicted, (int)gone);
        ck_assert_uint_le(gone, 1);
        if (i < 8)
            ck_assert_uint_eq(s.evicted_bans, 0);
        if (gone) {
            ck_assert_uint_ge(i, 8);
            for (j = 0; j < victim; j++)
                older += alive[j];
            ck_assert_msg(older <= 8, "evicted ban %u while %u older ones "
                          "were kept", victim, older);
        }
        for (j = i >= 8 ? i - 7 : 0; j <= i; j++)
            ck_assert_msg(alive[j], "ban %u evicted at %u, among the newest"
                          " 8", j, i);
    }
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 16);
    ck_assert_uint_eq(s.evicted_bans, NB - 16);
    ck_assert_int_eq(alive[0], 0);
}
END_TEST

/* Some bans, maybe more than a set holds, then a flood of clients that are
 * not banned. A set holding 8 bans gives up exactly one (it then keeps a
 * non-banned way that every later newcomer takes); a set with fewer gives
 * up none. Twelve bans cannot fill both sets, so the flood costs at most
 * one ban. */
START_TEST(full_table_mixed)
{
    enum { NB = 12 };
    rlw_store_t *st = make_store(16);
    rlw_store_stats_t s;
    rlw_addr_t c[NB];
    unsigned i, j, kept_before, kept_after;
    uint64_t bans_evicted_before;

    for (i = 0; i < NB; i++) {
        c[i] = client(400 + i);
        ck_assert_int_eq(attack(st, &c[i], RLW_CLASS_NORMAL, &pol1, T0 + i)
                             .verdict.kind, RLW_VERDICT_BAN);
    }
    kept_before = 0;
    for (i = 0; i < NB; i++)
        kept_before += st->banned(st, &c[i], T0 + NB, NULL);
    stats(st, &s);
    bans_evicted_before = s.evicted_bans;
    ck_assert_uint_eq(kept_before, NB - bans_evicted_before);
    ck_assert_uint_ge(kept_before, 8);

    for (i = 0; i < 1000; i++) {
        rlw_addr_t n = client(500000 + i);

        ck_assert_int_eq(attack(st, &n, RLW_CLASS_NORMAL, &pol, T0 + NB + i)
                             .verdict.kind, RLW_VERDICT_NONE);
    }
    kept_after = 0;
    for (j = 0; j < NB; j++)
        kept_after += st->banned(st, &c[j], T0 + NB + 1000, NULL);
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 16);
    ck_assert_uint_eq(kept_after, NB - s.evicted_bans);
    ck_assert_uint_le(s.evicted_bans - bans_evicted_before, 1);
    ck_assert_uint_ge(kept_after, kept_before - 1);
}
END_TEST

/* A still-counting entry outlives newcomers with a smaller count. */
START_TEST(full_table_keeps_higher_counts)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t keep = client(1);
    rlw_attack_t a;
    unsigned i;

    for (i = 1; i < THRESH; i++)
        attack(st, &keep, RLW_CLASS_NORMAL, &pol, T0);
    for (i = 0; i < 300; i++) {
        rlw_addr_t c = client(300000 + i);

        attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + 1 + i);
    }
    /* Its count survived the flood: the next attack is the threshold. */
    a = attack(st, &keep, RLW_CLASS_NORMAL, &pol, T0 + 1000);
    ck_assert_int_eq(a.evicted, 0);
    ck_assert_uint_eq(a.count, THRESH);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
}
END_TEST

/* Idle entries (nothing in the window, no ban) go before counting ones.
 * 40 idle clients fill the table; then one counting client and 6
 * newcomers. Even if all 6 land in its set, they and it need only 7 of its
 * 8 ways and an idle entry is always there to go, so the counting client
 * keeps its count. (With idle and counting swapped, the first newcomer in
 * its set would evict it.) */
START_TEST(full_table_idle_go_first)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t keep = client(2);
    rlw_attack_t a;
    int64_t t = T0 + 10 * MIN; /* the idle clients' window has passed */
    unsigned i;

    for (i = 0; i < 40; i++) {
        rlw_addr_t c = client(600000 + i);

        attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + i);
    }
    ck_assert_uint_eq(attack(st, &keep, RLW_CLASS_NORMAL, &pol, t).count, 1);
    for (i = 0; i < 6; i++) {
        rlw_addr_t c = client(700000 + i);

        attack(st, &c, RLW_CLASS_NORMAL, &pol, t + 1 + i);
    }
    a = attack(st, &keep, RLW_CLASS_NORMAL, &pol, t + 10);
    ck_assert_int_eq(a.evicted, 0);
    ck_assert_uint_eq(a.count, 2);
}
END_TEST

/* ---- the table outlives a configuration cycle ------------------------- */

START_TEST(create_twice_reuses_table)
{
    rlw_store_t *st1 = make_store(16), *st2, *st3, *big;
    rlw_addr_t c = client(21);
    rlw_store_stats_t s;
    int64_t until = 0;

    ck_assert_int_eq(attack_to_threshold(st1, &c, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);

    /* Same pool and capacity: the same table, ban and all. */
    st2 = make_store(16);
    ck_assert_ptr_eq(st2, st1);
    ck_assert_int_eq(st2->banned(st2, &c, T0 + 1, &until), 1);
    ck_assert_int_eq(until, T0 + MIN);
    stats(st2, &s);
    ck_assert_uint_eq(s.tracked, 1);

    /* A capacity that rounds to the same size is the same size. */
    st3 = make_store(13);
    ck_assert_ptr_eq(st3, st1);

    /* The operations are set again (httpd reloads the module). */
    st1->banned = NULL;
    st1->attack = NULL;
    st2 = make_store(16);
    ck_assert_ptr_eq(st2, st1);
    ck_assert_ptr_nonnull(st2->banned);
    ck_assert_ptr_nonnull(st2->attack);
    ck_assert_int_eq(st2->banned(st2, &c, T0 + 1, NULL), 1);

    /* A new size: a fresh, empty table. */
    big = make_store(32);
    ck_assert_ptr_ne(big, st1);
    stats(big, &s);
    ck_assert_uint_eq(s.capacity, 32);
    ck_assert_uint_eq(s.tracked, 0);
    ck_assert_int_eq(big->banned(big, &c, T0 + 1, NULL), 0);
    ck_assert_uint_eq(attack(big, &c, RLW_CLASS_NORMAL, &pol, T0 + 1).count,
                      1);
    /* ... which does not touch the old one. */
    ck_assert_int_eq(st1->banned(st1, &c, T0 + 1, NULL), 1);
    ck_assert_ptr_eq(make_store(32), big);
    ck_assert_ptr_eq(make_store(16), st1);

    /* Another pool: another table. */
    {
        apr_pool_t *other;
        rlw_store_t *so = NULL;

        ck_assert_int_eq(apr_pool_create(&other, NULL), APR_SUCCESS);
        ck_assert_ptr_null(rlw_store_shm_create(other, 16, &so));
        ck_assert_ptr_ne(so, st1);
        ck_assert_int_eq(so->banned(so, &c, T0 + 1, NULL), 0);
        apr_pool_destroy(other);
    }
}
END_TEST

/* ---- callbacks run without the stripe lock ----------------------------- */

/* expired() and visit() hand each client to a callback that logs and writes
 * events (which can block on a stalled reader): it must never run while the
 * client's stripe lock is held, or every request hashing to that stripe
 * waits with it. The callback asks another thread to attack() the client it
 * was given (the same set, so the same lock) and waits for it, with a
 * timeout: with the lock held, that thread cannot finish. */

typedef struct probe {
    rlw_store_t *st;
    rlw_addr_t client;
    int64_t now;
    int done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} probe_t;

static void *probe_main(void *arg)
{
    probe_t *pr = arg;
    rlw_attack_t a;

    pr->st->attack(pr->st, &pr->client, RLW_CLASS_NORMAL, &pol, NULL,
                   pr->now, &a);
    pthread_mutex_lock(&pr->mu);
    pr->done = 1;
    pthread_cond_signal(&pr->cv);
    pthread_mutex_unlock(&pr->mu);
    return NULL;
}

typedef struct lock_check {
    rlw_store_t *st;
    int64_t now;
    int calls;
    int blocked; /* callbacks during which the client's set was locked */
} lock_check_t;

static int check_unlocked(void *baton, const rlw_client_info_t *info)
{
    lock_check_t *lc = baton;
    probe_t *pr = calloc(1, sizeof(*pr));
    pthread_t tid;
    struct timespec until;
    int rv = 0, done;

    ck_assert_ptr_nonnull(pr);
    pr->st = lc->st;
    pr->client = info->client;
    pr->now = lc->now;
    pthread_mutex_init(&pr->mu, NULL);
    pthread_cond_init(&pr->cv, NULL);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5; /* generous: the machine may be loaded */
    ck_assert_int_eq(pthread_create(&tid, NULL, probe_main, pr), 0);
    pthread_mutex_lock(&pr->mu);
    while (!pr->done && rv == 0)
        rv = pthread_cond_timedwait(&pr->cv, &pr->mu, &until);
    done = pr->done;
    pthread_mutex_unlock(&pr->mu);
    lc->calls++;
    if (done) {
        pthread_join(tid, NULL);
        free(pr);
    } else {
        /* Blocked on the lock the walk holds: it finishes once this
         * returns; pr stays allocated for it. */
        lc->blocked++;
        pthread_detach(tid);
    }
    return 0;
}

START_TEST(expired_callback_runs_unlocked)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(41);
    lock_check_t lc = {st, T0 + MIN, 0, 0};

    ck_assert_int_eq(attack_to_threshold(st, &c, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    st->expired(st, T0 + MIN, MIN, check_unlocked, &lc);
    ck_assert_int_eq(lc.calls, 1);
    ck_assert_msg(lc.blocked == 0, "expired() called back with the client's "
                  "stripe lock held");
    /* The attack made from the callback was counted, after the walk. */
    ck_assert_uint_eq(attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + MIN).count,
                      2);
}
END_TEST

START_TEST(visit_callback_runs_unlocked)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(42);
    lock_check_t lc = {st, T0, 0, 0};

    attack(st, &c, RLW_CLASS_NORMAL, &pol, T0);
    st->visit(st, T0, MIN, check_unlocked, &lc);
    ck_assert_int_eq(lc.calls, 1);
    ck_assert_msg(lc.blocked == 0, "visit() called back with the client's "
                  "stripe lock held");
}
END_TEST

static int stop_first(void *baton, const rlw_client_info_t *info)
{
    (void)info;
    ++*(int *)baton;
    return 1;
}

static int count_calls(void *baton, const rlw_client_info_t *info)
{
    (void)info;
    ++*(int *)baton;
    return 0;
}

/* A caller that stops the sweep early loses no end: the ends it was not
 * given are handed over on the next sweep, each exactly once. */
START_TEST(expired_stopped_early_reports_later)
{
    rlw_store_t *st = make_store(8); /* one set: every ban in it */
    int i, first = 0, rest = 0, again = 0;

    for (i = 0; i < 3; i++) {
        rlw_addr_t c = client(50 + i);

        ck_assert_int_eq(attack(st, &c, RLW_CLASS_NORMAL, &pol1, T0)
                             .verdict.kind, RLW_VERDICT_BAN);
    }
    st->expired(st, T0 + MIN, MIN, stop_first, &first);
    ck_assert_int_eq(first, 1);
    st->expired(st, T0 + MIN, MIN, count_calls, &rest);
    ck_assert_int_eq(rest, 2);
    st->expired(st, T0 + MIN, MIN, count_calls, &again);
    ck_assert_int_eq(again, 0);
}
END_TEST

/* ---- exact counts across processes and threads ------------------------ */

#define WORKERS 4
#define PER_WORKER 20000

static const rlw_policy_t big_pol = {
    10 * WORKERS * PER_WORKER, 10 * MIN, MIN, 10 * MIN, 30 * SEC, DAY};

/* In a forked child: no ck_assert (a failure would unwind into the
 * runner, which under CK_FORK=no would go on running the suite in the
 * child). Returns 0 or a small error code. */
static int hammer(rlw_store_t *st, const rlw_addr_t *c, const rlw_policy_t *p,
                  int n, int *bans)
{
    int i;

    *bans = 0;
    for (i = 0; i < n; i++) {
        rlw_attack_t a;

        if (st->attack(st, c, RLW_CLASS_NORMAL, p, NULL, T0 + 1, &a) != APR_SUCCESS)
            return 1;
        if (a.verdict.kind == RLW_VERDICT_ALREADY_BANNED) {
            if (a.ban.until_ms != T0 + 1 + p->ban_ms)
                return 4;
            continue; /* the count during a ban is not specified */
        }
        if (a.count < 1 || a.count > WORKERS * PER_WORKER)
            return 2;
        if (a.verdict.kind == RLW_VERDICT_BAN)
            ++*bans;
        else if (a.verdict.kind != RLW_VERDICT_NONE)
            return 3;
    }
    return 0;
}

/* Forks WORKERS children that each count PER_WORKER attacks by c under p,
 * all released at once so that they really contend for the lock; returns
 * the number of bans they saw in all. */
static int fork_workers(rlw_store_t *st, const rlw_addr_t *c,
                        const rlw_policy_t *p)
{
    pid_t pid[WORKERS];
    int gate[2];
    int i, total = 0;

    ck_assert_int_eq(pipe(gate), 0);
    fflush(NULL);
    for (i = 0; i < WORKERS; i++) {
        pid[i] = fork();
        ck_assert_int_ge(pid[i], 0);
        if (pid[i] == 0) {
            char ch;
            int bans, rv;

            close(gate[1]);
            /* Wait for the parent to close the gate's write end. */
            while (read(gate[0], &ch, 1) < 0)
                ;
            rv = hammer(st, c, p, PER_WORKER, &bans);

            _exit(rv ? 100 + rv : (bans > 99 ? 99 : bans));
        }
    }
    close(gate[0]);
    close(gate[1]); /* go */
    for (i = 0; i < WORKERS; i++) {
        int status;

        ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
        ck_assert_msg(WIFEXITED(status), "worker %d died", i);
        ck_assert_msg(WEXITSTATUS(status) < 100, "worker %d failed: %d", i,
                      WEXITSTATUS(status));
        total += WEXITSTATUS(status);
    }
    return total;
}

START_TEST(exact_across_processes)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(31);
    rlw_attack_t a;

    ck_assert_int_eq(fork_workers(st, &c, &big_pol), 0);
    a = attack(st, &c, RLW_CLASS_NORMAL, &big_pol, T0 + 2);
    ck_assert_uint_eq(a.count, WORKERS * PER_WORKER + 1);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
}
END_TEST

START_TEST(one_ban_across_processes)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(32);
    rlw_policy_t p = big_pol;

    /* The threshold is reached midway: exactly one process sees BAN, the
     * others see NONE before it and ALREADY_BANNED after. */
    p.threshold = WORKERS * PER_WORKER / 2;
    ck_assert_int_eq(fork_workers(st, &c, &p), 1);
    ck_assert_int_eq(st->banned(st, &c, T0 + 2, NULL), 1);
}
END_TEST

typedef struct worker_arg {
    pthread_barrier_t *gate;
    rlw_store_t *st;
    rlw_addr_t client;
    const rlw_policy_t *pol;
    int rv;
    int bans;
} worker_arg_t;

static void *thread_main(void *p)
{
    worker_arg_t *w = p;

    pthread_barrier_wait(w->gate);
    w->rv = hammer(w->st, &w->client, w->pol, PER_WORKER, &w->bans);
    return NULL;
}

static int thread_workers(rlw_store_t *st, const rlw_addr_t *c,
                          const rlw_policy_t *p)
{
    pthread_t tid[WORKERS];
    worker_arg_t w[WORKERS];
    pthread_barrier_t gate;
    int i, total = 0;

    ck_assert_int_eq(pthread_barrier_init(&gate, NULL, WORKERS), 0);
    for (i = 0; i < WORKERS; i++) {
        w[i].gate = &gate;
        w[i].st = st;
        w[i].client = *c;
        w[i].pol = p;
        w[i].rv = -1;
        w[i].bans = 0;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, thread_main, &w[i]),
                         0);
    }
    for (i = 0; i < WORKERS; i++) {
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
        ck_assert_msg(w[i].rv == 0, "thread %d failed: %d", i, w[i].rv);
        total += w[i].bans;
    }
    pthread_barrier_destroy(&gate);
    return total;
}

START_TEST(exact_across_threads)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(33);
    rlw_attack_t a;

    ck_assert_int_eq(thread_workers(st, &c, &big_pol), 0);
    a = attack(st, &c, RLW_CLASS_NORMAL, &big_pol, T0 + 2);
    ck_assert_uint_eq(a.count, WORKERS * PER_WORKER + 1);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
}
END_TEST

START_TEST(one_ban_across_threads)
{
    rlw_store_t *st = make_store(16);
    rlw_addr_t c = client(34);
    rlw_policy_t p = big_pol;

    p.threshold = WORKERS * PER_WORKER / 2;
    ck_assert_int_eq(thread_workers(st, &c, &p), 1);
    ck_assert_int_eq(st->banned(st, &c, T0 + 2, NULL), 1);
}
END_TEST

Suite *store_shm_suite(void)
{
    Suite *s = suite_create("store_shm");
    TCase *tc = tcase_create("basics");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, fresh_table);
    tcase_add_test(tc, capacity_rounds_to_whole_sets);
    tcase_add_test(tc, threshold_th_attack_bans);
    tcase_add_test(tc, clients_count_separately);
    tcase_add_test(tc, window_slides);
    suite_add_tcase(s, tc);

    tc = tcase_create("bans");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, attack_during_ban_no_extension);
    tcase_add_test(tc, count_restarts_after_ban);
    tcase_add_test(tc, attacks_during_ban_do_not_carry_over);
    tcase_add_test(tc, escalation_doubles);
    tcase_add_test(tc, unban_ends_ban);
    tcase_add_test(tc, exempt_never_bans);
    tcase_add_test(tc, allow_short_ban_no_escalation);
    suite_add_tcase(s, tc);

    tc = tcase_create("full");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, full_table_bounded);
    tcase_add_test(tc, full_table_keeps_bans);
    tcase_add_test(tc, full_table_of_bans);
    tcase_add_test(tc, full_table_mixed);
    tcase_add_test(tc, full_table_keeps_higher_counts);
    tcase_add_test(tc, full_table_idle_go_first);
    suite_add_tcase(s, tc);

    tc = tcase_create("restart");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_twice_reuses_table);
    suite_add_tcase(s, tc);

    tc = tcase_create("unlocked callbacks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, expired_callback_runs_unlocked);
    tcase_add_test(tc, visit_callback_runs_unlocked);
    tcase_add_test(tc, expired_stopped_early_reports_later);
    suite_add_tcase(s, tc);

    tc = tcase_create("concurrency");
    tcase_add_checked_fixture(tc, setup, teardown);
    /* Generous: under valgrind every attack is slow. */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, exact_across_processes);
    tcase_add_test(tc, one_ban_across_processes);
    tcase_add_test(tc, exact_across_threads);
    tcase_add_test(tc, one_ban_across_threads);
    suite_add_tcase(s, tc);
    return s;
}

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
#include "rlw_store_shm.h"
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
static int names_lines;

static void capture_log(void *baton, rlw_log_level_t level,
                        const rlw_log_src_t *src, const char *msg)
{
    (void)baton;
    (void)level;
    (void)src;
    log_lines++;
    if (strncmp(msg, "RLW00020:", 9) == 0)
        full_lines++;
    if (strncmp(msg, "RLW00140:", 9) == 0)
        names_lines++;
}

static void setup(void)
{
    ck_assert_int_eq(apr_initialize(), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    log_lines = 0;
    full_lines = 0;
    names_lines = 0;
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
    const char *err = rlw_store_shm_create(pool, capacity, NULL, &st);

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

    snprintf(text, sizeof(text), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
             i & 255);
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(rlw_addr_parse(text, &a), 0);
    return a;
}

/* 1 when the last attack() made room by evicting another client. */
static int last_evicted;

static rlw_attack_t attack(rlw_store_t *st, const rlw_addr_t *c,
                           rlw_class_t cls, const rlw_policy_t *p, int64_t now)
{
    rlw_attack_t a;
    rlw_store_stats_t before, after;

    st->stats(st, &before);
    memset(&a, 0x5a, sizeof(a)); /* the store must fill every field */
    ck_assert_int_eq(st->attack(st, c, cls, p, NULL, now, &a), APR_SUCCESS);
    st->stats(st, &after);
    last_evicted = after.evictions != before.evictions;
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
        ck_assert_int_eq(last_evicted, 0);
        ck_assert_int_eq(a.ban.until_ms, 0);
        ck_assert_int_eq(st->banned(st, &c, T0 + i, NULL), 0);
    }
    a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + THRESH);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(a.verdict.ban_ms, MIN);
    ck_assert_uint_eq(a.verdict.strike, 1);
    ck_assert_uint_eq(a.count, THRESH);
    ck_assert_int_eq(last_evicted, 0);
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
        ck_assert_uint_eq(attack(st, &v6, RLW_CLASS_NORMAL, &pol, T0).count, i);
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

/* The dry-run scope of a client is another client: a dry-run ban is never
 * seen by an enforcing lookup, and the counts stay apart. */
START_TEST(scopes_apart)
{
    rlw_store_t *st = make_store(64);
    rlw_addr_t c = client(1), dry = client(1);
    rlw_attack_t r;
    rlw_store_stats_t s;
    uint32_t i;

    dry.scope = RLW_SCOPE_DRY_RUN;
    r = attack_to_threshold(st, &dry, 0, T0);
    ck_assert_int_eq(r.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(st->banned(st, &dry, T0, NULL), 1);
    ck_assert_int_eq(st->banned(st, &c, T0, NULL), 0);
    /* The enforcing count starts at one, and bans on its own threshold. */
    for (i = 1; i < THRESH; i++)
        ck_assert_uint_eq(attack(st, &c, RLW_CLASS_NORMAL, &pol, T0).count, i);
    ck_assert_int_eq(st->banned(st, &c, T0, NULL), 0);
    r = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0);
    ck_assert_int_eq(r.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(st->banned(st, &c, T0, NULL), 1);
    /* Unbanning the enforcing client leaves the dry-run ban alone. */
    ck_assert_int_eq(st->unban(st, &c, T0 + 1), APR_SUCCESS);
    ck_assert_int_eq(st->banned(st, &c, T0 + 1, NULL), 0);
    ck_assert_int_eq(st->banned(st, &dry, T0 + 1, NULL), 1);
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 2);
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
        ck_assert_int_eq(
            attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + 50 * SEC).verdict.kind,
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

/* get() finds one client in its set: its count in the store's window, its
 * ban; a client the table does not hold is APR_NOTFOUND. */
START_TEST(get_one_client)
{
    rlw_store_t *st = NULL;
    rlw_addr_t c = client(11), other = client(12), never = client(13);
    rlw_client_info_t info;
    rlw_attack_t a;

    ck_assert_ptr_null(rlw_store_shm_create(pool, 64, &pol, &st));
    ck_assert_int_eq(st->get(st, &never, T0, &info), APR_NOTFOUND);
    attack(st, &other, RLW_CLASS_NORMAL, &pol, T0);
    attack(st, &c, RLW_CLASS_NORMAL, &pol, T0);
    attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + SEC);
    ck_assert_int_eq(st->get(st, &c, T0 + SEC, &info), APR_SUCCESS);
    ck_assert_mem_eq(&info.client, &c, sizeof(c));
    ck_assert_uint_eq(info.count, 2);
    ck_assert_int_eq(info.ban.until_ms, 0);
    /* Out of the window: held, counting nothing. */
    ck_assert_int_eq(st->get(st, &c, T0 + SEC + pol.window_ms + SEC, &info),
                     APR_SUCCESS);
    ck_assert_uint_eq(info.count, 0);

    a = attack_to_threshold(st, &c, 2, T0 + 2 * SEC);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_int_eq(st->get(st, &c, T0 + 3 * SEC, &info), APR_SUCCESS);
    ck_assert_int_eq(info.ban.until_ms, a.ban.until_ms);
    ck_assert_uint_eq(info.ban.strikes, 1);
    ck_assert_int_eq(st->get(st, &never, T0 + 3 * SEC, &info), APR_NOTFOUND);
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
            ck_assert_int_eq(
                attack(st, &c, RLW_CLASS_ALLOW, &pol, t).verdict.kind,
                RLW_VERDICT_NONE);
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
        evicted_seen += last_evicted;
        stats(st, &s);
        ck_assert_uint_le(s.tracked, 16);
        ck_assert_uint_eq(s.capacity, 16);
        ck_assert_uint_eq(s.evictions, evicted_seen);
        ck_assert_uint_eq(s.tracked + s.evictions, i + 1);
        ck_assert_uint_eq(s.evicted_bans, 0);
        if (i < 8) /* at most 8 clients fit in any set */
            ck_assert_int_eq(last_evicted, 0);
    }
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 16); /* both sets end up full */
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
        ck_assert_int_eq(last_evicted, 0);
    }
    /* A minute later a second warning may be logged. */
    {
        rlw_addr_t c = client(5000);

        a = attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + 500 + MIN);
        ck_assert_int_eq(last_evicted, 1);
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
        ck_assert_int_eq(
            attack_to_threshold(st, &banned[i], 0, T0).verdict.kind,
            RLW_VERDICT_BAN);
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
 * its first attack, each later than the one before). A running ban is
 * never evicted by an attacker: a newcomer whose set holds 8 running bans
 * is not tracked (not counted, not banned, counted in untracked). So every
 * ban, once made, runs to its end; in the end both sets are full of bans;
 * and once they have ended, newcomers are tracked again. */
START_TEST(full_table_of_bans)
{
    enum { NB = 100 };
    rlw_store_t *st = make_store(16);
    rlw_store_stats_t s;
    rlw_addr_t c[NB];
    int made[NB];
    unsigned i, j, nbans = 0;

    for (i = 0; i < NB; i++) {
        int64_t now = T0 + i * 10;
        rlw_attack_t a;

        c[i] = client(200 + i);
        a = attack(st, &c[i], RLW_CLASS_NORMAL, &pol1, now);
        made[i] = a.verdict.kind == RLW_VERDICT_BAN;
        if (made[i]) {
            ck_assert_int_eq(a.ban.until_ms, now + MIN);
            ck_assert_int_eq(last_evicted, 0);
            nbans++;
        } else {
            ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
            ck_assert_uint_eq(a.count, 0);
            ck_assert_int_eq(last_evicted, 0);
        }
        ck_assert_int_eq(st->banned(st, &c[i], now, NULL), made[i]);
        for (j = 0; j <= i; j++)
            ck_assert_msg(st->banned(st, &c[j], now, NULL) == made[j],
                          "ban %u changed at %u", j, i);
        stats(st, &s);
        ck_assert_uint_le(s.tracked, 16);
        ck_assert_uint_eq(s.evictions, 0);
        ck_assert_uint_eq(s.evicted_bans, 0);
        ck_assert_uint_eq(s.untracked, i + 1 - nbans);
        if (i < 8)
            ck_assert_int_eq(made[i], 1);
    }
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 16);
    ck_assert_uint_eq(nbans, 16);
    ck_assert_uint_eq(s.untracked, NB - 16);
    /* Logged, at most once a minute. */
    ck_assert_int_eq(log_lines, 1);
    /* The bans end on time; then a newcomer takes a place again. */
    {
        rlw_addr_t n = client(9999);
        int64_t later = T0 + NB * 10 + MIN;

        for (j = 0; j < NB; j++)
            ck_assert_int_eq(st->banned(st, &c[j], later, NULL), 0);
        ck_assert_int_eq(
            attack(st, &n, RLW_CLASS_NORMAL, &pol1, later).verdict.kind,
            RLW_VERDICT_BAN);
    }
}
END_TEST

/* Some bans, maybe more than a set holds (a ban that finds its set full of
 * bans is not made: untracked), then a flood of clients that are not
 * banned: it costs no ban. */
START_TEST(full_table_mixed)
{
    enum { NB = 12 };
    rlw_store_t *st = make_store(16);
    rlw_store_stats_t s;
    rlw_addr_t c[NB];
    int made[NB];
    unsigned i, j, nbans = 0;

    for (i = 0; i < NB; i++) {
        rlw_attack_t a;

        c[i] = client(400 + i);
        a = attack(st, &c[i], RLW_CLASS_NORMAL, &pol1, T0 + i);
        made[i] = a.verdict.kind == RLW_VERDICT_BAN;
        nbans += made[i];
    }
    stats(st, &s);
    ck_assert_uint_eq(nbans, NB - s.untracked);
    ck_assert_uint_ge(nbans, 8);

    for (i = 0; i < 1000; i++) {
        rlw_addr_t n = client(500000 + i);

        ck_assert_int_eq(
            attack(st, &n, RLW_CLASS_NORMAL, &pol, T0 + NB + i).verdict.kind,
            RLW_VERDICT_NONE);
    }
    for (j = 0; j < NB; j++)
        ck_assert_int_eq(st->banned(st, &c[j], T0 + NB + 1000, NULL), made[j]);
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 16);
    ck_assert_uint_eq(s.evicted_bans, 0);
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
    ck_assert_int_eq(last_evicted, 0);
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
    ck_assert_int_eq(last_evicted, 0);
    ck_assert_uint_eq(a.count, 2);
}
END_TEST

/* A spray of 10 x TableSize addresses, one attack each, leaves intact what
 * makes the module work: a running ban, the strikes of a repeat offender
 * whose ban ended but is still within the strike decay, and the count of an
 * attacker one attack short of the threshold. */
START_TEST(spray_keeps_ban_strikes_and_near_counts)
{
    enum { TS = 64 };
    rlw_store_t *st = make_store(TS);
    rlw_addr_t ban = client(1), offender = client(2), near = client(3);
    rlw_store_stats_t s;
    rlw_attack_t a;
    int64_t t = T0 + MIN; /* the offender's ban ends, the others start */
    unsigned i;

    ck_assert_int_eq(attack_to_threshold(st, &offender, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    ck_assert_int_eq(attack_to_threshold(st, &ban, 0, t).verdict.kind,
                     RLW_VERDICT_BAN);
    for (i = 1; i < THRESH; i++)
        attack(st, &near, RLW_CLASS_NORMAL, &pol, t);
    /* The rest of the table: one attack each. */
    for (i = 0; i < TS - 3; i++) {
        rlw_addr_t c = client(100000 + i);

        attack(st, &c, RLW_CLASS_NORMAL, &pol, t);
    }
    for (i = 0; i < 10 * TS; i++) {
        rlw_addr_t c = client(200000 + i);

        a = attack(st, &c, RLW_CLASS_NORMAL, &pol, t + 1 + i);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
    }
    t += 1 + 10 * TS;
    stats(st, &s);
    ck_assert_uint_eq(s.evicted_bans, 0);
    ck_assert_int_eq(st->banned(st, &ban, t, NULL), 1);
    a = attack_to_threshold(st, &offender, 0, t);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_msg(a.verdict.strike == 2,
                  "the offender's next ban is strike "
                  "%u: its strikes were evicted",
                  (unsigned)a.verdict.strike);
    a = attack(st, &near, RLW_CLASS_NORMAL, &pol, t);
    ck_assert_msg(a.verdict.kind == RLW_VERDICT_BAN,
                  "the attacker at "
                  "threshold - 1 lost its count (now %u)",
                  (unsigned)a.count);
}
END_TEST

/* A learnt ban (another node's) that finds its set full of running bans
 * replaces the one that ends first if it ends later, and is not recorded
 * otherwise; an operator's ban always takes a place. */
START_TEST(full_of_bans_learn_and_ban)
{
    rlw_store_t *st = make_store(8); /* one set */
    rlw_store_stats_t s;
    rlw_ban_state_t b;
    rlw_addr_t first = client(300), late = client(301), early = client(302),
               op = client(303);
    unsigned i;

    for (i = 0; i < 8; i++) {
        rlw_addr_t c = client(300 + (i ? 10 + i : 0));

        ck_assert_int_eq(
            attack(st, &c, RLW_CLASS_NORMAL, &pol1, T0 + i).verdict.kind,
            RLW_VERDICT_BAN);
    }
    memset(&b, 0, sizeof(b));
    b.start_ms = T0 + 10;
    b.until_ms = T0 + 10; /* ends before all 8 */
    b.strikes = 1;
    b.until_ms = T0 + 5;
    rlw_store_shm_learn(st, &early, &b, "other", T0 + 4);
    ck_assert_int_eq(st->banned(st, &early, T0 + 4, NULL), 0);
    stats(st, &s);
    ck_assert_uint_eq(s.untracked, 1);
    b.until_ms = T0 + 2 * MIN;
    rlw_store_shm_learn(st, &late, &b, "other", T0 + 10);
    ck_assert_int_eq(st->banned(st, &late, T0 + 10, NULL), 1);
    ck_assert_int_eq(st->banned(st, &first, T0 + 10, NULL), 0);
    stats(st, &s);
    ck_assert_uint_eq(s.evicted_bans, 1);
    ck_assert_int_eq(st->ban(st, &op, 10, T0 + 11, &b), APR_SUCCESS);
    ck_assert_int_eq(st->banned(st, &op, T0 + 12, NULL), 1);
    stats(st, &s);
    ck_assert_uint_eq(s.evicted_bans, 2);
    ck_assert_uint_eq(s.tracked, 8);
}
END_TEST

/* An operator's ban that must make room ranks the set in the store's own
 * window, never in the ban's length (whose buckets would read every count
 * as 0, so that the oldest entry goes): a client at 4 of 5 attacks stays,
 * though it attacked first; a client with one attack goes. */
START_TEST(ban_ranks_in_store_window)
{
    rlw_store_t *st = NULL;
    rlw_addr_t near = client(400), op = client(401);
    rlw_client_info_t info;
    rlw_store_stats_t s;
    unsigned i;

    ck_assert_ptr_null(rlw_store_shm_create(pool, 8, &pol, &st));
    for (i = 0; i < THRESH - 1; i++)
        attack(st, &near, RLW_CLASS_NORMAL, &pol, T0 + 10 * SEC);
    for (i = 0; i < 7; i++) {
        rlw_addr_t c = client(410 + i);

        attack(st, &c, RLW_CLASS_NORMAL, &pol, T0 + 20 * SEC);
    }
    ck_assert_int_eq(st->ban(st, &op, 60 * MIN, T0 + 30 * SEC, NULL),
                     APR_SUCCESS);
    stats(st, &s);
    ck_assert_uint_eq(s.evictions, 1);
    ck_assert_int_eq(st->get(st, &near, T0 + 30 * SEC, &info), APR_SUCCESS);
    ck_assert_uint_eq(info.count, THRESH - 1);
}
END_TEST

/* ---- the table outlives a configuration cycle ------------------------- */

START_TEST(create_twice_reuses_table)
{
    rlw_store_t *st1 = make_store(16), *st2, *st3;
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

    /* Another pool: another table. */
    {
        apr_pool_t *other;
        rlw_store_t *so = NULL;

        ck_assert_int_eq(apr_pool_create(&other, NULL), APR_SUCCESS);
        ck_assert_ptr_null(rlw_store_shm_create(other, 16, NULL, &so));
        ck_assert_ptr_ne(so, st1);
        ck_assert_int_eq(so->banned(so, &c, T0 + 1, NULL), 0);
        apr_pool_destroy(other);
    }
}
END_TEST

/* A new size moves the clients into a new table (the old one is freed) and
 * the store stays the same object; going back to an earlier size brings
 * nothing stale back: what changed in between is what counts. */
START_TEST(resize_migrates_never_revives)
{
    rlw_store_t *st = make_store(16), *big, *back;
    rlw_addr_t banned = client(61), lifted = client(62), striker = client(63),
               counting = client(64);
    rlw_store_stats_t s;
    rlw_attack_t a;
    uint32_t i;

    ck_assert_int_eq(attack_to_threshold(st, &banned, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    ck_assert_int_eq(attack_to_threshold(st, &lifted, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    ck_assert_int_eq(attack_to_threshold(st, &striker, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    for (i = 1; i < THRESH; i++)
        attack(st, &counting, RLW_CLASS_NORMAL, &pol, T0);

    big = make_store(4000);
    ck_assert_ptr_eq(big, st);
    stats(big, &s);
    ck_assert_uint_eq(s.capacity, 4000);
    ck_assert_uint_eq(s.tracked, 4);
    ck_assert_int_eq(big->banned(big, &banned, T0 + 1, NULL), 1);
    ck_assert_int_eq(big->banned(big, &lifted, T0 + 1, NULL), 1);
    /* Lifted in the big table. */
    ck_assert_int_eq(big->unban(big, &lifted, T0 + 2), APR_SUCCESS);

    back = make_store(16);
    ck_assert_ptr_eq(back, st);
    stats(back, &s);
    ck_assert_uint_eq(s.capacity, 16);
    ck_assert_int_eq(back->banned(back, &banned, T0 + 3, NULL), 1);
    ck_assert_msg(!back->banned(back, &lifted, T0 + 3, NULL),
                  "a lifted ban came back with the earlier size");
    /* Strikes and counts came along. */
    a = attack_to_threshold(back, &striker, 0, T0 + MIN);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    ck_assert_uint_eq(a.verdict.strike, 2);
    a = attack(back, &counting, RLW_CLASS_NORMAL, &pol, T0 + 4);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
}
END_TEST

/* Shrinking keeps what is worth most: 40 one-attack clients and 3 bans
 * into a table of 8 (one set): the bans stay. */
START_TEST(shrink_keeps_bans)
{
    rlw_store_t *st = make_store(64);
    rlw_addr_t b[3];
    rlw_store_stats_t s;
    /* The move ranks entries at the time of the restart: the clock. */
    int64_t t = rlw_now_ms();
    unsigned i;

    for (i = 0; i < 40; i++) {
        rlw_addr_t c = client(70000 + i);

        attack(st, &c, RLW_CLASS_NORMAL, &pol, t + i);
    }
    for (i = 0; i < 3; i++) {
        b[i] = client(80000 + i);
        ck_assert_int_eq(
            attack(st, &b[i], RLW_CLASS_NORMAL, &pol1, t + 50).verdict.kind,
            RLW_VERDICT_BAN);
    }
    stats(st, &s);
    ck_assert_uint_eq(s.tracked + s.evictions, 43);
    ck_assert_uint_eq(s.evicted_bans, 0);
    ck_assert_ptr_eq(make_store(8), st);
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 8);
    ck_assert_uint_eq(s.evicted_bans, 0);
    for (i = 0; i < 3; i++)
        ck_assert_int_eq(st->banned(st, &b[i], t + 51, NULL), 1);
}
END_TEST

/* A restart that changes the table size and the policy ranks what moves by
 * the new policy, the one the store is created with: what a count is worth
 * from now on. Eight clients whose strikes still escalate and one with 3
 * attacks in the window move into one set of 8. Under the old threshold of
 * 100 the count of 3 is worth less than the strikes; under the new one of
 * 4 it is near the threshold (3 * 2 >= 4) and stays, a striker goes. */
START_TEST(resize_ranks_by_new_policy)
{
    const rlw_store_backend_t *be = rlw_store_backend_find("shm");
    rlw_policy_t before = pol, after = pol;
    rlw_store_params_t params;
    rlw_client_info_t info;
    rlw_addr_t near = client(90000);
    rlw_store_stats_t s;
    rlw_store_t *st = NULL;
    /* The move ranks entries at the time of the restart: the clock. */
    int64_t t = rlw_now_ms();
    unsigned i;

    before.threshold = 100;
    after.threshold = 4;
    memset(&params, 0, sizeof(params));
    params.node = "";
    params.capacity = 64; /* 8 sets: no eviction while filling */
    params.policy = before;
    ck_assert_ptr_nonnull(be);
    ck_assert_ptr_null(be->create(pool, &params, &st));
    for (i = 0; i < 8; i++) {
        rlw_addr_t c = client(91000 + i);

        /* Banned for a minute 3 minutes ago: ended, strikes live a day. */
        ck_assert_int_eq(
            attack(st, &c, RLW_CLASS_NORMAL, &pol1, t - 3 * MIN).verdict.kind,
            RLW_VERDICT_BAN);
    }
    for (i = 0; i < 3; i++)
        attack(st, &near, RLW_CLASS_NORMAL, &before, t - 10 * SEC);
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 9);
    ck_assert_uint_eq(s.evictions, 0);

    params.capacity = 8;
    params.policy = after;
    ck_assert_ptr_null(be->create(pool, &params, &st));
    stats(st, &s);
    ck_assert_uint_eq(s.capacity, 8);
    ck_assert_uint_eq(s.evictions, 1);
    ck_assert_msg(st->get(st, &near, t, &info) == APR_SUCCESS,
                  "the count near the new threshold was dropped in the move");
    ck_assert_uint_eq(info.count, 3);
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

    pr->st->attack(pr->st, &pr->client, RLW_CLASS_NORMAL, &pol, NULL, pr->now,
                   &a);
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

        ck_assert_int_eq(
            attack(st, &c, RLW_CLASS_NORMAL, &pol1, T0).verdict.kind,
            RLW_VERDICT_BAN);
    }
    st->expired(st, T0 + MIN, MIN, stop_first, &first);
    ck_assert_int_eq(first, 1);
    st->expired(st, T0 + MIN, MIN, count_calls, &rest);
    ck_assert_int_eq(rest, 2);
    st->expired(st, T0 + MIN, MIN, count_calls, &again);
    ck_assert_int_eq(again, 0);
}
END_TEST

/* ---- the ban horizon comes down -------------------------------------- */

/* One long manual ban once kept every clean request on the locked path
 * for good. After it is lifted (or has ended), the next sweep brings the
 * horizon down to the bans still running. */
START_TEST(horizon_follows_running_bans)
{
    rlw_store_t *st = make_store(64);
    rlw_addr_t longb = client(1), shortb = client(2);
    int n = 0;

    ck_assert_int_eq(rlw_store_shm_horizon(st), 0);
    ck_assert_int_eq(st->ban(st, &longb, 300 * DAY, T0, NULL), APR_SUCCESS);
    ck_assert_int_eq(attack_to_threshold(st, &shortb, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    ck_assert_int_eq(rlw_store_shm_horizon(st), T0 + 300 * DAY);
    ck_assert_int_eq(st->unban(st, &longb, T0 + SEC), APR_SUCCESS);
    st->expired(st, T0 + 2 * SEC, MIN, count_calls, &n);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(rlw_store_shm_horizon(st), T0 + MIN);
    ck_assert_int_eq(st->banned(st, &shortb, T0 + 2 * SEC, NULL), 1);
    ck_assert_int_eq(st->banned(st, &longb, T0 + 2 * SEC, NULL), 0);
    /* The short one ends by itself: down to nothing. */
    st->expired(st, T0 + MIN + 2 * SEC, MIN, count_calls, &n);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(rlw_store_shm_horizon(st), 0);
    /* A new ban raises it again. */
    ck_assert_int_eq(st->ban(st, &longb, MIN, T0 + 2 * MIN, NULL), APR_SUCCESS);
    ck_assert_int_eq(rlw_store_shm_horizon(st), T0 + 3 * MIN);
    ck_assert_int_eq(st->banned(st, &longb, T0 + 2 * MIN, NULL), 1);
}
END_TEST

typedef struct ban_during {
    rlw_store_t *st;
    rlw_addr_t client;
    int64_t now;
} ban_during_t;

static int ban_in_callback(void *baton, const rlw_client_info_t *info)
{
    ban_during_t *bd = baton;

    (void)info;
    ck_assert_int_eq(bd->st->ban(bd->st, &bd->client, 10 * MIN, bd->now, NULL),
                     APR_SUCCESS);
    return 0;
}

/* A ban that starts while a sweep runs, in a set the sweep has already
 * read, is not lost when the sweep publishes what it found. */
START_TEST(horizon_keeps_ban_set_during_sweep)
{
    rlw_store_t *st = make_store(8); /* one set: read before the callback */
    rlw_addr_t ended = client(1), lifted = client(3);
    ban_during_t bd = {st, client(2), T0 + MIN};

    /* A long ban, lifted: the sweep would bring the horizon down. */
    ck_assert_int_eq(st->ban(st, &lifted, DAY, T0, NULL), APR_SUCCESS);
    ck_assert_int_eq(st->unban(st, &lifted, T0 + 1), APR_SUCCESS);
    ck_assert_int_eq(
        attack(st, &ended, RLW_CLASS_NORMAL, &pol1, T0).verdict.kind,
        RLW_VERDICT_BAN);
    st->expired(st, T0 + MIN, MIN, ban_in_callback, &bd);
    ck_assert_int_ge(rlw_store_shm_horizon(st), T0 + 11 * MIN);
    ck_assert_int_eq(st->banned(st, &bd.client, T0 + MIN + 1, NULL), 1);
    /* The next sweep (when that ban ends) sees it. */
    st->expired(st, T0 + 11 * MIN + 2 * SEC, MIN, count_calls, &(int){0});
    ck_assert_int_eq(rlw_store_shm_horizon(st), 0);
}
END_TEST

/* ---- compact entries: names and rules in the header --------------------- */

static int grab_info(void *baton, const rlw_client_info_t *info)
{
    *(rlw_client_info_t *)baton = *info;
    return 1;
}

START_TEST(node_names_and_rules)
{
    rlw_store_t *st = make_store(8);
    rlw_addr_t c = client(1);
    rlw_client_info_t info;
    uint32_t ids[] = {942100, 942100, 941100, 942100, 930120, 941100,
                      920350, 913100, 913100, 913100, 913100};
    rlw_hit_t hit = {ids, (int)(sizeof(ids) / sizeof(ids[0]))};
    rlw_attack_t a;
    rlw_ban_state_t b;
    char name[80];
    unsigned i;

    rlw_store_shm_set_node(st, "web-1");
    ck_assert_int_eq(st->attack(st, &c, RLW_CLASS_NORMAL, &pol1, &hit, T0, &a),
                     APR_SUCCESS);
    ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_BAN);
    /* Space-saving over 4 slots: 913100 took the place of a rule hit once
     * and inherited its hit (4 + 1), 942100 is exact (3). */
    ck_assert_uint_eq(a.rules[0], 913100);
    ck_assert_uint_eq(a.rules[1], 942100);
    st->visit(st, T0, MIN, grab_info, &info);
    ck_assert_str_eq(info.node, "web-1");
    ck_assert_uint_eq(info.rules[0], 913100);
    ck_assert_uint_eq(info.rule_hits[0], 5);
    ck_assert_uint_eq(info.rule_hits[1], 3);
    ck_assert_int_eq(info.ban.start_ms, T0);
    ck_assert_int_eq(info.ban.until_ms, T0 + MIN);
    ck_assert_int_eq(info.last_ms, T0); /* T0 is a whole second */

    /* Names from other nodes, more than the table holds: the extra ones
     * are kept without a name, bans still enforced. */
    memset(&b, 0, sizeof(b));
    b.start_ms = T0;
    b.until_ms = T0 + MIN;
    b.strikes = 1;
    for (i = 0; i < 300; i++) {
        rlw_addr_t o = client(1000 + i);

        snprintf(name, sizeof(name), "node-%u", i);
        rlw_store_shm_learn(st, &o, &b, name, T0 + 1);
    }
    ck_assert_int_eq(names_lines, 1); /* once a minute */
    /* Its own bans still report their end (its name came first), the
     * others' never here. */
    {
        rlw_addr_t d = client(5000);
        int n = 0;

        rlw_store_shm_learn(st, &d, &b, "web-1", T0 + 1);
        st->expired(st, T0 + MIN, MIN, count_calls, &n);
        ck_assert_int_eq(n, 1);
        /* A name that found the table full reads as none. */
        st->visit(st, T0 + MIN, MIN, grab_info, &info);
        ck_assert_uint_eq(strlen(info.node) < 64, 1);
    }
}
END_TEST

/* ---- exact counts across processes and threads ------------------------ */

#define WORKERS 4
/* 4 x 16000 = 64000 attacks, all in one window bucket: within the exact
 * range of a bucket (RLW_WINDOW_BUCKET_MAX). */
#define PER_WORKER 16000

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

        if (st->attack(st, c, RLW_CLASS_NORMAL, p, NULL, T0 + 1, &a) !=
            APR_SUCCESS)
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
        ck_assert_int_eq(pthread_create(&tid[i], NULL, thread_main, &w[i]), 0);
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
    tcase_add_test(tc, scopes_apart);
    tcase_add_test(tc, window_slides);
    suite_add_tcase(s, tc);

    tc = tcase_create("bans");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, attack_during_ban_no_extension);
    tcase_add_test(tc, count_restarts_after_ban);
    tcase_add_test(tc, attacks_during_ban_do_not_carry_over);
    tcase_add_test(tc, escalation_doubles);
    tcase_add_test(tc, unban_ends_ban);
    tcase_add_test(tc, get_one_client);
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
    tcase_add_test(tc, spray_keeps_ban_strikes_and_near_counts);
    tcase_add_test(tc, full_of_bans_learn_and_ban);
    tcase_add_test(tc, ban_ranks_in_store_window);
    suite_add_tcase(s, tc);

    tc = tcase_create("restart");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, create_twice_reuses_table);
    tcase_add_test(tc, resize_migrates_never_revives);
    tcase_add_test(tc, shrink_keeps_bans);
    tcase_add_test(tc, resize_ranks_by_new_policy);
    suite_add_tcase(s, tc);

    tc = tcase_create("unlocked callbacks");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, expired_callback_runs_unlocked);
    tcase_add_test(tc, visit_callback_runs_unlocked);
    tcase_add_test(tc, expired_stopped_early_reports_later);
    suite_add_tcase(s, tc);

    tc = tcase_create("horizon and layout");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, horizon_follows_running_bans);
    tcase_add_test(tc, horizon_keeps_ban_set_during_sweep);
    tcase_add_test(tc, node_names_and_rules);
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

/* test_store_shm.c - the shared-memory store through its rlw_store_t
 * interface: counting to a ban, ban expiry and the fresh count after it,
 * escalation, unban, the Exempt and Allow classes, and a full table
 * (bounded, running bans kept while something else can go, what an
 * operator's or a learnt ban takes). The table itself (restarts, resizes,
 * unlocked callbacks, the horizon, names and rules, concurrency) is tested
 * in test_shm_table.c. Every call gets an explicit now_ms; the clock is
 * never read.
 */
#include "shm_fixture.h"
#include "rlw_subject.h"

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

/* ---- subjects of several kinds ----------------------------------------- */

/* rlw_store_count() on shm counts each subject in turn: the clients of one
 * network each below their threshold, their network at its own threshold
 * banned; a network and a client of the same bits are two entries. */
START_TEST(count_client_and_network)
{
    rlw_store_t *st = make_store(64);
    rlw_policy_t np = pol;
    rlw_attack_t a[2];
    apr_status_t rv[2];
    rlw_count_t what[2];
    rlw_addr_t c, n, same;
    rlw_store_stats_t s;
    unsigned i;

    np.threshold = 3 * THRESH;
    for (i = 1; i <= 3 * THRESH; i++) {
        c = client(i); /* 10.0.0.1 .. 10.0.0.15: one /24 */
        ck_assert_int_eq(rlw_subject_net(&c, 24, 48, 0, &n), 0);
        what[0] = (rlw_count_t){&c, RLW_CLASS_NORMAL, &pol};
        what[1] = (rlw_count_t){&n, RLW_CLASS_NORMAL, &np};
        rlw_store_count(st, 2, what, NULL, T0 + i, a, rv);
        ck_assert_int_eq(rv[0], APR_SUCCESS);
        ck_assert_int_eq(rv[1], APR_SUCCESS);
        ck_assert_int_eq(a[0].verdict.kind, RLW_VERDICT_NONE);
        ck_assert_uint_eq(a[0].count, 1);
        ck_assert_uint_eq(a[1].count, i);
        ck_assert_int_eq(a[1].verdict.kind,
                         i < 3 * THRESH ? RLW_VERDICT_NONE : RLW_VERDICT_BAN);
    }
    ck_assert_int_eq(a[1].verdict.ban_ms, MIN);
    ck_assert_int_eq(st->banned(st, &n, T0 + 20, NULL), 1);
    ck_assert_int_eq(st->banned(st, &c, T0 + 20, NULL), 0);
    /* The /24's network subject and a client 10.0.0.0 are apart. */
    same = client(0);
    ck_assert_int_eq(st->banned(st, &same, T0 + 20, NULL), 0);
    stats(st, &s);
    ck_assert_uint_eq(s.tracked, 3 * THRESH + 1); /* 15 clients, 1 network */
    /* Exactly one subject: attack(). */
    c = client(300);
    what[0] = (rlw_count_t){&c, RLW_CLASS_NORMAL, &pol};
    rlw_store_count(st, 1, what, NULL, T0 + 30, a, rv);
    ck_assert_int_eq(rv[0], APR_SUCCESS);
    ck_assert_uint_eq(a[0].count, 1);
}
END_TEST

/* A request key over many clients: each client below its threshold, the
 * key's count the sum of all, banned at its own threshold; a key subject
 * and a client are apart, and so are two key values. */
START_TEST(count_client_and_key)
{
    rlw_store_t *st = make_store(64);
    rlw_policy_t kp = pol;
    rlw_attack_t a[2];
    apr_status_t rv[2];
    rlw_count_t what[2];
    rlw_addr_t c, k, other;
    unsigned char hash[16];
    rlw_client_info_t info;
    unsigned i;

    memset(hash, 0x5a, sizeof(hash));
    ck_assert_int_eq(rlw_subject_key(1, hash, 0, &k), 0);
    hash[15] ^= 1;
    ck_assert_int_eq(rlw_subject_key(1, hash, 0, &other), 0);
    kp.threshold = 2 * THRESH;
    for (i = 1; i <= 2 * THRESH; i++) {
        c = client(i);
        what[0] = (rlw_count_t){&c, RLW_CLASS_NORMAL, &pol};
        what[1] = (rlw_count_t){&k, RLW_CLASS_NORMAL, &kp};
        rlw_store_count(st, 2, what, NULL, T0 + i, a, rv);
        ck_assert_int_eq(rv[1], APR_SUCCESS);
        ck_assert_uint_eq(a[0].count, 1);
        ck_assert_uint_eq(a[1].count, i);
        ck_assert_int_eq(a[1].verdict.kind,
                         i < 2 * THRESH ? RLW_VERDICT_NONE : RLW_VERDICT_BAN);
    }
    ck_assert_int_eq(st->banned(st, &k, T0 + 20, NULL), 1);
    ck_assert_int_eq(st->banned(st, &other, T0 + 20, NULL), 0);
    ck_assert_int_eq(st->banned(st, &c, T0 + 20, NULL), 0);
    ck_assert_int_eq(st->get(st, &k, T0 + 20, &info), APR_SUCCESS);
    ck_assert_int_eq(info.client.kind, RLW_KIND_KEY);
    ck_assert_int_eq(memcmp(&info.client, &k, sizeof(k)), 0);
    ck_assert_int_eq(st->unban(st, &k, T0 + 21), APR_SUCCESS);
    ck_assert_int_eq(st->banned(st, &k, T0 + 22, NULL), 0);
}
END_TEST

/* Key entries share the table: spraying 10 times the table's size of key
 * values (each with its client, two entries per attack) evicts neither a
 * running key ban nor a key one attack short of its threshold. */
START_TEST(key_spray_keeps_ban_and_near_count)
{
    enum { TS = 64 };
    rlw_store_t *st = make_store(TS);
    rlw_addr_t banned, near, k, c;
    unsigned char hash[16];
    rlw_store_stats_t s;
    rlw_attack_t a[2];
    apr_status_t rv[2];
    rlw_count_t what[2];
    int64_t t = T0;
    unsigned i;

    memset(hash, 1, sizeof(hash));
    ck_assert_int_eq(rlw_subject_key(0, hash, 0, &banned), 0);
    memset(hash, 2, sizeof(hash));
    ck_assert_int_eq(rlw_subject_key(0, hash, 0, &near), 0);
    for (i = 0; i < THRESH; i++)
        attack(st, &banned, RLW_CLASS_NORMAL, &pol, t);
    ck_assert_int_eq(st->banned(st, &banned, t, NULL), 1);
    for (i = 1; i < THRESH; i++)
        attack(st, &near, RLW_CLASS_NORMAL, &pol, t);
    for (i = 0; i < 10 * TS; i++) {
        memset(hash, 0, sizeof(hash));
        memcpy(hash, &i, sizeof(i));
        hash[15] = 0x77;
        ck_assert_int_eq(rlw_subject_key(1, hash, 0, &k), 0);
        c = client(300000 + i);
        what[0] = (rlw_count_t){&c, RLW_CLASS_NORMAL, &pol};
        what[1] = (rlw_count_t){&k, RLW_CLASS_NORMAL, &pol};
        rlw_store_count(st, 2, what, NULL, t + 1 + i, a, rv);
        ck_assert_int_eq(a[1].verdict.kind, RLW_VERDICT_NONE);
    }
    t += 1 + 10 * TS;
    stats(st, &s);
    ck_assert_uint_ge(s.evictions, 10 * TS);
    ck_assert_uint_eq(s.evicted_bans, 0);
    ck_assert_int_eq(st->banned(st, &banned, t, NULL), 1);
    a[0] = attack(st, &near, RLW_CLASS_NORMAL, &pol, t);
    ck_assert_msg(a[0].verdict.kind == RLW_VERDICT_BAN,
                  "the key at threshold - 1 lost its count (now %u)",
                  (unsigned)a[0].count);
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
    tcase_add_test(tc, count_client_and_network);
    tcase_add_test(tc, count_client_and_key);
    tcase_add_test(tc, key_spray_keeps_ban_and_near_count);
    suite_add_tcase(s, tc);

    return s;
}

/* test_shm_table.c - the shm store's table: reuse by a second create
 * (graceful restart) and the move to another size, callbacks run without
 * the stripe lock, the ban horizon, node names and rule ids in the header,
 * and exact counts across processes and threads.
 */
#include "shm_fixture.h"
#include "rlw_subject.h"

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

/* A node that reads its own ban back (the same start and end, from the
 * cluster's journal or records) after the ban has ended learns nothing: it
 * is not an unban, and the deciding node's sweep still reports the end,
 * once. (It was taken for an unban and the end was never logged.) */
START_TEST(own_ban_learnt_after_its_end_is_reported)
{
    rlw_store_t *st = make_store(8);
    rlw_addr_t c = client(60);
    rlw_client_info_t info;
    int n = 0;

    rlw_store_shm_set_node(st, "web-1");
    ck_assert_int_eq(attack(st, &c, RLW_CLASS_NORMAL, &pol1, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    ck_assert_int_eq(st->get(st, &c, T0, &info), APR_SUCCESS);
    rlw_store_shm_learn(st, &c, &info.ban, "web-1", info.ban.until_ms + SEC);
    st->expired(st, info.ban.until_ms + 2 * SEC, MIN, count_calls, &n);
    ck_assert_int_eq(n, 1);
    st->expired(st, info.ban.until_ms + 3 * SEC, MIN, count_calls, &n);
    ck_assert_int_eq(n, 1);
}
END_TEST

/* In a cluster, an attack in flight on the deciding node may read the
 * ban back from memcached, and learn it with no node name, before the
 * thread that won the ban learns it under this node's name. The same ban
 * learnt again with the decider's name names it: else no node reports
 * its end. */
START_TEST(ban_learnt_unnamed_first_keeps_its_decider)
{
    rlw_store_t *st = make_store(8);
    rlw_addr_t c = client(61);
    rlw_client_info_t info;
    rlw_ban_state_t b;
    int n = 0;

    rlw_store_shm_set_node(st, "web-1");
    memset(&b, 0, sizeof(b));
    b.start_ms = T0;
    b.until_ms = T0 + MIN;
    b.strikes = 1;
    b.count = 10;
    rlw_store_shm_learn(st, &c, &b, "", T0);
    rlw_store_shm_learn(st, &c, &b, "web-1", T0);
    ck_assert_int_eq(st->get(st, &c, T0, &info), APR_SUCCESS);
    ck_assert_str_eq(info.node, "web-1");
    st->expired(st, T0 + MIN + SEC, MIN, count_calls, &n);
    ck_assert_int_eq(n, 1);
    /* Learnt again unnamed (another read of the record): the name stays. */
    rlw_store_shm_learn(st, &c, &b, "", T0 + 2 * MIN);
    ck_assert_int_eq(st->get(st, &c, T0 + 2 * MIN, &info), APR_SUCCESS);
    ck_assert_str_eq(info.node, "web-1");
}
END_TEST

/* The pair that banned travels in journal entries only: a ban learnt from
 * its record first (no pair) takes the pair of the journal entry of the
 * same ban, and never loses it to a later read of the record. */
START_TEST(ban_learnt_from_record_takes_the_journal_pair)
{
    rlw_store_t *st = make_store(8);
    rlw_addr_t c = client(62);
    rlw_client_info_t info;
    rlw_ban_state_t b;

    memset(&b, 0, sizeof(b));
    b.start_ms = T0;
    b.until_ms = T0 + MIN;
    b.strikes = 1;
    b.count = 20;
    rlw_store_shm_learn(st, &c, &b, "", T0);
    ck_assert_int_eq(st->get(st, &c, T0, &info), APR_SUCCESS);
    ck_assert_int_eq(info.ban.pair, 0);
    b.pair = 2;
    rlw_store_shm_learn(st, &c, &b, "web-2", T0 + SEC);
    ck_assert_int_eq(st->get(st, &c, T0 + SEC, &info), APR_SUCCESS);
    ck_assert_int_eq(info.ban.pair, 2);
    ck_assert_str_eq(info.node, "web-2");
    b.pair = 0;
    rlw_store_shm_learn(st, &c, &b, "", T0 + 2 * SEC);
    ck_assert_int_eq(st->get(st, &c, T0 + 2 * SEC, &info), APR_SUCCESS);
    ck_assert_int_eq(info.ban.pair, 2);
    ck_assert_int_eq(st->banned(st, &c, T0 + 2 * SEC, NULL), 1);
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

/* ---- network bans at any prefix length ---------------------------------- */

static rlw_addr_t net_subject(const char *text, unsigned prefix)
{
    rlw_addr_t host, net;

    ck_assert_int_eq(rlw_addr_parse(text, &host), 0);
    ck_assert_int_eq(
        rlw_subject_net(&host, prefix, prefix, RLW_SCOPE_ENFORCE, &net), 0);
    return net;
}

static int has_len(rlw_store_t *st, unsigned family, unsigned n)
{
    uint64_t lens[RLW_NET_LEN_WORDS];

    st->net_lengths(st, family, lens);
    return (int)(lens[n / 64] >> (n % 64) & 1);
}

/* The request path looks a client's network up at the lengths of the
 * network bans that may run: every way such a ban starts sets its length
 * (and no other family's), a sweep once they are over clears it, and one
 * that starts during a sweep keeps it. */
START_TEST(net_lengths_follow_network_bans)
{
    rlw_store_t *st = make_store(8); /* one set: read before the callback */
    rlw_addr_t n16 = net_subject("198.51.100.7", 16),
               n48 = net_subject("2001:db8:1::1", 48),
               n20 = net_subject("203.0.113.9", 20), c = client(1);
    ban_during_t bd = {st, net_subject("192.0.2.1", 20), T0 + MIN};
    rlw_ban_state_t b = {0};
    int n = 0;

    ck_assert_ptr_nonnull(st->net_lengths);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 16), 0);
    /* A client's ban sets no length. */
    ck_assert_int_eq(st->ban(st, &c, MIN, T0, NULL), APR_SUCCESS);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 32), 0);
    /* An operator's ban of a /16, and a /48 learnt from another node. */
    ck_assert_int_eq(st->ban(st, &n16, MIN, T0, NULL), APR_SUCCESS);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 16), 1);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 24), 0);
    ck_assert_int_eq(has_len(st, RLW_AF_INET6, 16), 0);
    b.start_ms = T0;
    b.until_ms = T0 + 10 * MIN;
    b.strikes = 1;
    rlw_store_shm_learn(st, &n48, &b, "other", T0);
    ck_assert_int_eq(has_len(st, RLW_AF_INET6, 48), 1);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 48 % 64), 0);
    /* The /16 ends; a /20 is banned while the sweep runs (after it read
     * the only set): the /16 goes, the /20 and the /48 stay. */
    st->expired(st, T0 + MIN + 2 * SEC, MIN, ban_in_callback, &bd);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 20), 1);
    ck_assert_int_eq(has_len(st, RLW_AF_INET6, 48), 1);
    /* Another /20 banned and lifted: the next sweep keeps the length of
     * the /20 that still runs, and the /48. */
    st->ban(st, &n20, 20 * MIN, T0 + MIN + 3 * SEC, NULL);
    ck_assert_int_eq(st->unban(st, &n20, T0 + MIN + 4 * SEC), APR_SUCCESS);
    st->expired(st, T0 + MIN + 5 * SEC, MIN, count_calls, &n);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 16), 0);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 20), 1);
    ck_assert_int_eq(has_len(st, RLW_AF_INET6, 48), 1);
    /* All over: nothing left to look up. */
    ck_assert_int_eq(st->unban(st, &bd.client, T0 + 2 * MIN), APR_SUCCESS);
    st->expired(st, T0 + 11 * MIN, MIN, count_calls, &n);
    ck_assert_int_eq(has_len(st, RLW_AF_INET, 20), 0);
    ck_assert_int_eq(has_len(st, RLW_AF_INET6, 48), 0);
}
END_TEST

/* ---- request keys have their own horizon -------------------------------- */

static rlw_addr_t key_subject(unsigned char v)
{
    unsigned char hash[16];
    rlw_addr_t k;

    memset(hash, v, sizeof(hash));
    memset(&k, 0, sizeof(k));
    ck_assert_int_eq(rlw_subject_key(1, hash, RLW_SCOPE_ENFORCE, &k), 0);
    return k;
}

/* Requests skip computing their keys while may_ban(KEY) is 0: a client or
 * network ban must not turn that on, every way a key ban starts (counted,
 * an operator's, learnt from another node) must, it survives the move to
 * another size, and sweeps bring it down once the key bans are over. */
START_TEST(key_horizon_follows_key_bans)
{
    rlw_store_t *st = make_store(64);
    rlw_addr_t c = client(1), k1 = key_subject(1), k2 = key_subject(2),
               k3 = key_subject(3);
    rlw_ban_state_t b = {0};
    int n = 0;

    ck_assert_ptr_nonnull(st->may_ban);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0), 0);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_CLIENT, T0), 0);
    /* A client's ban: every ban's horizon, not the keys'. */
    ck_assert_int_eq(attack_to_threshold(st, &c, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_CLIENT, T0 + 1), 1);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + 1), 0);
    /* A key banned by its count. */
    ck_assert_int_eq(attack_to_threshold(st, &k1, 0, T0).verdict.kind,
                     RLW_VERDICT_BAN);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + 1), 1);
    ck_assert_int_eq(st->banned(st, &k1, T0 + 1, NULL), 1);
    /* Both end: the sweep brings both horizons down. */
    st->expired(st, T0 + MIN + 2 * SEC, MIN, count_calls, &n);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + MIN + 2 * SEC), 0);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_CLIENT, T0 + MIN + 2 * SEC), 0);
    /* An operator's ban of a key. */
    ck_assert_int_eq(st->ban(st, &k2, 10 * MIN, T0 + 2 * MIN, NULL),
                     APR_SUCCESS);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + 2 * MIN), 1);
    /* Lifted: down at the next sweep. */
    ck_assert_int_eq(st->unban(st, &k2, T0 + 3 * MIN), APR_SUCCESS);
    st->expired(st, T0 + 3 * MIN + 2 * SEC, MIN, count_calls, &n);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + 3 * MIN + 2 * SEC), 0);
    /* A ban learnt from another node (memcached sync, journal). */
    b.start_ms = T0 + 4 * MIN;
    b.until_ms = T0 + 14 * MIN;
    b.strikes = 1;
    b.count = 1;
    rlw_store_shm_learn(st, &k3, &b, "other", T0 + 4 * MIN);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + 4 * MIN), 1);
    ck_assert_int_eq(st->banned(st, &k3, T0 + 4 * MIN, NULL), 1);
    /* Another size (a graceful restart with another TableSize). */
    st = make_store(256);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + 5 * MIN), 1);
    ck_assert_int_eq(st->banned(st, &k3, T0 + 5 * MIN, NULL), 1);
    /* It stays while it runs, whatever the sweeps. */
    st->expired(st, T0 + 6 * MIN, MIN, count_calls, &n);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + 6 * MIN), 1);
    ck_assert_int_eq(st->may_ban(st, RLW_KIND_KEY, T0 + 14 * MIN), 0);
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

Suite *shm_table_suite(void)
{
    Suite *s = suite_create("shm_table");
    TCase *tc;

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
    tcase_add_test(tc, own_ban_learnt_after_its_end_is_reported);
    tcase_add_test(tc, ban_learnt_unnamed_first_keeps_its_decider);
    tcase_add_test(tc, ban_learnt_from_record_takes_the_journal_pair);
    suite_add_tcase(s, tc);

    tc = tcase_create("horizon and layout");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, horizon_follows_running_bans);
    tcase_add_test(tc, horizon_keeps_ban_set_during_sweep);
    tcase_add_test(tc, key_horizon_follows_key_bans);
    tcase_add_test(tc, net_lengths_follow_network_bans);
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

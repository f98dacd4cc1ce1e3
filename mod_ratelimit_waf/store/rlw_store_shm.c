/* rlw_store_shm.c - the embedded store: one table in shared memory.
 *
 * httpd-free (APR + pthreads). The store operations (rlw_store_t) on the
 * table of rlw_shm_table.c and the entries of rlw_shm_entry.c; the layout is
 * described in rlw_shm_internal.h. Every operation takes the stripe lock of
 * one set at a time, and never logs or calls back while holding it.
 *
 * Functions named *do_* assume the stripe lock is held.
 */
#include "rlw_shm_internal.h"
#include "rlw_store_shm.h"
#include "rlw_mcparse.h" /* rlw_ban_state_newer() */

/* ---- the operations ------------------------------------------------------ */

static int shm_banned(rlw_store_t *base, const rlw_addr_t *client, int64_t now,
                      int64_t *until)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    int banned = 0;

    /* The fast path for clean traffic: one atomic load, no lock. */
    if (now >= rlw_shm_horizon_ms(
                   __atomic_load_n(&st->hdr->horizon, __ATOMIC_ACQUIRE)))
        return 0;
    rlw_shm_lock_slot(st, client, &slot);
    e = rlw_shm_do_find(st, slot.set, client);
    if (e && rlw_shm_banned_at(e, now)) {
        banned = 1;
        if (until)
            *until = rlw_shm_until_of(e);
    }
    rlw_shm_unlock_slot(st, &slot, now);
    return banned;
}

/* 0 when no ban of a subject of kind can run at now: one atomic load, no
 * lock. Request keys have their own horizon (a network or client ban does
 * not make every request compute its keys); other kinds share the one of
 * every ban. */
static int shm_may_ban(rlw_store_t *base, unsigned kind, int64_t now)
{
    shm_store_t *st = (shm_store_t *)base;
    uint64_t *word =
        kind == RLW_KIND_KEY ? &st->hdr->key_horizon : &st->hdr->horizon;

    return now < rlw_shm_horizon_ms(__atomic_load_n(word, __ATOMIC_ACQUIRE));
}

/* The lengths of the network bans of family that may run: one atomic
 * load per word, no lock. */
static void shm_net_lengths(rlw_store_t *base, unsigned family,
                            uint64_t lens[RLW_NET_LEN_WORDS])
{
    shm_store_t *st = (shm_store_t *)base;

    memset(lens, 0, RLW_NET_LEN_WORDS * sizeof(*lens));
    if (family == RLW_AF_INET) {
        lens[0] = __atomic_load_n(&st->hdr->net_lens[0], __ATOMIC_ACQUIRE);
    } else if (family == RLW_AF_INET6) {
        lens[0] = __atomic_load_n(&st->hdr->net_lens[1], __ATOMIC_ACQUIRE);
        lens[1] = __atomic_load_n(&st->hdr->net_lens[2], __ATOMIC_ACQUIRE);
        lens[2] = __atomic_load_n(&st->hdr->net_lens[3], __ATOMIC_ACQUIRE);
    }
}

/* One client's entry, found in its set (no walk of the table). */
static apr_status_t shm_get(rlw_store_t *base, const rlw_addr_t *client,
                            int64_t now, rlw_client_info_t *out)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;

    rlw_shm_lock_slot(st, client, &slot);
    e = rlw_shm_do_find(st, slot.set, client);
    if (e)
        rlw_shm_do_fill_info(st, e, now, st->rank.window_ms, out);
    rlw_shm_unlock_slot(st, &slot, now);
    return e ? APR_SUCCESS : APR_NOTFOUND;
}

static apr_status_t shm_attack(rlw_store_t *base, const rlw_addr_t *client,
                               rlw_class_t cls, const rlw_policy_t *p,
                               const rlw_hit_t *hit, int64_t now,
                               rlw_attack_t *out)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    rlw_ban_state_t b;
    uint32_t prev[RLW_PAIRS_MAX] = {0};
    rlw_window_t *more;
    rlw_policy_t q = *p;
    unsigned k;

    memset(out, 0, sizeof(*out));
    rlw_shm_lock_slot(st, client, &slot);
    e = rlw_shm_do_find_or_make(st, &slot, client, p, 0, now);
    if (!e) {
        /* Not tracked (its set holds 8 running bans): not counted. */
        rlw_shm_unlock_slot(st, &slot, now);
        return APR_SUCCESS;
    }
    rlw_shm_get_ban(e, &b);
    if (rlw_ban_active(&b, now)) {
        /* A request already in flight when the ban began: the ban is not
         * extended and the attack is not counted towards the next one.
         * (A new entry holds no ban: nothing was evicted here.) */
        out->verdict.kind = RLW_VERDICT_ALREADY_BANNED;
        out->verdict.strike = b.strikes;
        out->ban = b;
        rlw_shm_unlock_slot(st, &slot, now);
        return APR_SUCCESS;
    }
    /* Every window of the entry, under the one stripe lock: each pair's
     * count is exact on its own. */
    more = rlw_shm_more_of(st, e);
    q.nmore = rlw_shm_npairs(st, p) - 1;
    for (k = 0; k <= q.nmore; k++) {
        rlw_window_t *w = k ? &more[k - 1] : &e->win;
        int64_t len = rlw_policy_pair(p, k).window_ms;

        prev[k] = rlw_window_total(w, now, len);
        out->counts[k] = rlw_window_add(w, now, len, 1);
    }
    rlw_shm_set_last(e, now);
    rlw_shm_do_note_rules(st, e, hit);
    rlw_shm_do_top_rules(st, e, out->rules, NULL);
    out->verdict = rlw_decide_pairs(&q, cls, &b, prev, out->counts, now);
    out->count = out->counts[out->verdict.pair];
    if (out->verdict.kind == RLW_VERDICT_BAN) {
        rlw_shm_put_ban(e, &b);
        rlw_shm_do_start_ban(st, e, st->node_index);
    }
    rlw_shm_get_ban(e, &out->ban);
    rlw_shm_unlock_slot(st, &slot, now);
    return APR_SUCCESS;
}

static apr_status_t shm_unban(rlw_store_t *base, const rlw_addr_t *client,
                              int64_t now)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    apr_status_t rv = APR_NOTFOUND;

    rlw_shm_lock_slot(st, client, &slot);
    e = rlw_shm_do_find(st, slot.set, client);
    if (e && rlw_shm_banned_at(e, now)) {
        t48_put(&e->ban_until, now);
        e->flags |= SHM_END_REPORTED; /* whoever unbans reports it */
        rv = APR_SUCCESS;
    }
    rlw_shm_unlock_slot(st, &slot, now);
    /* The next sweep recomputes the ban horizon without this ban. */
    if (rv == APR_SUCCESS)
        rlw_shm_lower_next_end(st->hdr, now);
    return rv;
}

static apr_status_t shm_ban(rlw_store_t *base, const rlw_addr_t *client,
                            int64_t ban_ms, int64_t now, rlw_ban_state_t *out)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    rlw_ban_state_t b;

    rlw_shm_lock_slot(st, client, &slot);
    /* An operator's ban takes a place whatever the set holds. */
    e = rlw_shm_do_find_or_make(st, &slot, client, &st->rank, INT64_MAX, now);
    if (!e) {
        rlw_shm_unlock_slot(st, &slot, now);
        return APR_ENOSPC; /* 8 bans that never end */
    }
    rlw_shm_get_ban(e, &b);
    b.start_ms = now;
    b.until_ms = now + ban_ms;
    rlw_shm_put_ban(e, &b);
    rlw_shm_set_last(e, now);
    rlw_shm_do_start_ban(st, e, st->node_index);
    if (out)
        rlw_shm_get_ban(e, out);
    rlw_shm_unlock_slot(st, &slot, now);
    return APR_SUCCESS;
}

/* A walk over the table for visit() and expired(). */
typedef struct shm_walk {
    int64_t now;
    int64_t window_ms;
    rlw_visit_fn *fn;
    void *baton;
    int64_t next;       /* expired(): earliest unreported ban end still ahead */
    int64_t latest;     /* expired(): latest end of a ban found (horizon) */
    int64_t latest_key; /* expired(): the same for request keys only */
    uint64_t net_lens[RLW_SHM_NET_LEN_WORDS]; /* expired(): lengths of the
                                               * network bans found */
} shm_walk_t;

/* Called for each entry in use, under its stripe lock: 1 when e is to be
 * reported to the caller's fn (after the lock is released). */
typedef int shm_pick_fn(shm_store_t *st, shm_entry_t *e, shm_walk_t *w);

/* Called, under the stripe lock, for an entry that pick chose but that was
 * not reported because fn stopped the walk first (NULL: nothing to undo). */
typedef void shm_unpick_fn(shm_entry_t *e, const rlw_client_info_t *info);

/* Calls fn for every entry in use that pick chooses, one set at a time:
 * the chosen entries of a set are copied under its stripe lock (never the
 * whole table at once: requests keep going), and fn runs after the lock is
 * released, since fn logs and writes events (which may block) and may call
 * back into the store. Stops when fn returns nonzero; returns whether it
 * was stopped. */
static int walk(shm_store_t *st, shm_pick_fn *pick, shm_unpick_fn *unpick,
                shm_walk_t *w)
{
    rlw_client_info_t chosen[RLW_SHM_WAYS];
    uint64_t set;
    int i, n, j, stop = 0;

    for (set = 0; set < st->hdr->nsets && !stop; set++) {
        shm_entry_t *e = rlw_shm_set_of(st, set);

        n = 0;
        rlw_shm_lock_stripe(st->hdr, set);
        for (i = 0; i < RLW_SHM_WAYS; i++) {
            if (e[i].key.family && pick(st, &e[i], w))
                rlw_shm_do_fill_info(st, &e[i], w->now, w->window_ms,
                                     &chosen[n++]);
        }
        rlw_shm_unlock_stripe(st->hdr, set);
        for (j = 0; j < n && !stop; j++)
            stop = w->fn(w->baton, &chosen[j]);
        if (stop && j < n && unpick) {
            rlw_shm_lock_stripe(st->hdr, set);
            for (; j < n; j++) {
                shm_entry_t *f = rlw_shm_do_find(st, set, &chosen[j].client);

                if (f)
                    unpick(f, &chosen[j]);
            }
            rlw_shm_unlock_stripe(st->hdr, set);
        }
    }
    return stop;
}

static int do_pick_all(shm_store_t *st, shm_entry_t *e, shm_walk_t *w)
{
    (void)st;
    (void)e;
    (void)w;
    return 1;
}

static void shm_visit(rlw_store_t *base, int64_t now, int64_t window_ms,
                      rlw_visit_fn *fn, void *baton)
{
    shm_walk_t w = {
        .now = now, .window_ms = window_ms, .fn = fn, .baton = baton};

    walk((shm_store_t *)base, do_pick_all, NULL, &w);
}

/* Picks e if its ban has ended unreported (and marks it reported); else
 * notes when it ends. Notes the latest end of any ban, for the horizon. */
static int do_pick_expired(shm_store_t *st, shm_entry_t *e, shm_walk_t *w)
{
    int64_t until = rlw_shm_until_of(e);

    if (until > w->latest)
        w->latest = until;
    if (e->key.kind == RLW_KIND_KEY && until > w->latest_key)
        w->latest_key = until;
    /* With the horizon's slack: see rlw_shm_publish_net_lens(). */
    if (e->key.kind == RLW_KIND_NET && until &&
        (w->now <= INT64_MIN + RLW_SHM_HORIZON_SLACK_MS ||
         until > w->now - RLW_SHM_HORIZON_SLACK_MS))
        rlw_shm_net_len_bit(w->net_lens, &e->key);
    if ((e->flags & SHM_END_REPORTED) || !until)
        return 0;
    if (until > w->now) {
        if (until < w->next)
            w->next = until;
        return 0;
    }
    e->flags |= SHM_END_REPORTED;
    /* Only the node that decided a ban reports its end, so the cluster
     * reports it once. */
    return e->node == st->node_index && e->node != RLW_SHM_NAME_LOST;
}

/* The caller stopped before this end was reported: report it next time
 * (unless the entry now holds another ban). */
static void do_unpick_expired(shm_entry_t *e, const rlw_client_info_t *info)
{
    if (rlw_shm_until_of(e) == info->ban.until_ms)
        e->flags &= (uint8_t)~SHM_END_REPORTED;
}

static void shm_expired(rlw_store_t *base, int64_t now, int64_t window_ms,
                        rlw_visit_fn *fn, void *baton)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_walk_t w = {.now = now,
                    .window_ms = window_ms,
                    .fn = fn,
                    .baton = baton,
                    .next = INT64_MAX,
                    .latest = 0,
                    .latest_key = 0};
    uint64_t seen, seen_key, gen;

    /* Free until the earliest unreported end: the background task calls
     * this several times a second. */
    if (now < __atomic_load_n(&st->hdr->next_end_ms, __ATOMIC_ACQUIRE))
        return;
    gen = rlw_shm_net_gen(st->hdr);
    /* Bans started during the walk lower it again from here. */
    __atomic_store_n(&st->hdr->next_end_ms, INT64_MAX, __ATOMIC_RELEASE);
    seen = __atomic_load_n(&st->hdr->horizon, __ATOMIC_SEQ_CST);
    seen_key = __atomic_load_n(&st->hdr->key_horizon, __ATOMIC_SEQ_CST);
    if (walk(st, do_pick_expired, do_unpick_expired, &w)) {
        w.next = now; /* the caller stopped early: look again next time */
    } else {
        /* A whole walk: the horizon comes down to the bans still there
         * (so that one long ban, once over, no longer keeps every clean
         * request on the locked path). */
        if (now > INT64_MIN + RLW_SHM_HORIZON_SLACK_MS &&
            w.latest < now - RLW_SHM_HORIZON_SLACK_MS)
            w.latest = 0;
        if (now > INT64_MIN + RLW_SHM_HORIZON_SLACK_MS &&
            w.latest_key < now - RLW_SHM_HORIZON_SLACK_MS)
            w.latest_key = 0;
        rlw_shm_publish_horizon(&st->hdr->horizon, seen, w.latest);
        rlw_shm_publish_horizon(&st->hdr->key_horizon, seen_key, w.latest_key);
        rlw_shm_publish_net_lens(st->hdr, gen, w.net_lens);
    }
    rlw_shm_lower_next_end(st->hdr, w.next);
}

void rlw_store_shm_note_rules(rlw_store_t *base, const rlw_addr_t *client,
                              const rlw_hit_t *hit, int64_t now,
                              uint32_t *rules)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;

    memset(rules, 0, sizeof(uint32_t) * RLW_TOP_RULES);
    rlw_shm_lock_slot(st, client, &slot);
    e = rlw_shm_do_find_or_make(st, &slot, client, &st->rank, 0, now);
    if (e) {
        rlw_shm_set_last(e, now);
        rlw_shm_do_note_rules(st, e, hit);
        rlw_shm_do_top_rules(st, e, rules, NULL);
    }
    rlw_shm_unlock_slot(st, &slot, now);
}

void rlw_store_shm_learn(rlw_store_t *base, const rlw_addr_t *client,
                         const rlw_ban_state_t *b, const char *node,
                         int64_t now)
{
    shm_store_t *st = (shm_store_t *)base;
    rlw_ban_state_t cur;
    uint8_t node_index = 0;
    shm_slot_t slot;
    shm_entry_t *e;

    /* Before the stripe lock: adding a name may take the names lock. */
    if (node)
        node_index = rlw_shm_name_index(st->hdr, node, now);
    rlw_shm_lock_slot(st, client, &slot);
    e = rlw_shm_do_find(st, slot.set, client);
    if (e)
        rlw_shm_get_ban(e, &cur);
    if (e && b->start_ms == cur.start_ms && b->until_ms == cur.until_ms) {
        /* The very ban the table holds, learnt again (a node reads its own
         * ban back): nothing new, and once it has ended it is not an unban
         * either, so its end stays for the deciding node's sweep to report.
         * Only its decider may be news: an attack in flight on the deciding
         * node can read the ban back from memcached, and learn it with no
         * name, before the thread that won it learns it under this node's
         * name; without that name here no node would report its end. The
         * same for the pair that banned, which only journal entries carry
         * (a ban learnt from its record first would show none). */
        if (!e->node && node_index)
            e->node = node_index;
        if (!cur.pair && b->pair >= 1 && b->pair <= RLW_PAIRS_MAX) {
            cur.pair = b->pair;
            rlw_shm_put_ban(e, &cur);
        }
        rlw_shm_unlock_slot(st, &slot, now);
        return;
    }
    if ((!e && b->until_ms <= now) || (e && !rlw_ban_state_newer(b, &cur))) {
        /* An ended ban of a client we never saw: nothing to remember. Or
         * older than what the table holds (a replayed journal entry or
         * record): never let it replace newer state. */
        rlw_shm_unlock_slot(st, &slot, now);
        return;
    }
    if (!e)
        e = rlw_shm_do_find_or_make(st, &slot, client, &st->rank, b->until_ms,
                                    now);
    if (!e) {
        /* Its set holds 8 bans that all end later. */
        rlw_shm_unlock_slot(st, &slot, now);
        return;
    }
    rlw_shm_put_ban(e, b);
    rlw_shm_set_last(e, now);
    if (rlw_ban_active(b, now)) {
        rlw_shm_do_start_ban(st, e, node ? node_index : e->node);
    } else {
        if (node)
            e->node = node_index;
        e->flags |= SHM_END_REPORTED; /* an unban: reported where made */
    }
    rlw_shm_unlock_slot(st, &slot, now);
    if (!rlw_ban_active(b, now))
        rlw_shm_lower_next_end(st->hdr, now); /* recompute the horizon soon */
}

static void shm_stats(rlw_store_t *base, rlw_store_stats_t *out)
{
    shm_store_t *st = (shm_store_t *)base;

    out->capacity = st->capacity;
    out->tracked = __atomic_load_n(&st->hdr->tracked, __ATOMIC_RELAXED);
    out->evictions = __atomic_load_n(&st->hdr->evictions, __ATOMIC_RELAXED);
    out->evicted_bans =
        __atomic_load_n(&st->hdr->evicted_bans, __ATOMIC_RELAXED);
    out->untracked = __atomic_load_n(&st->hdr->untracked, __ATOMIC_RELAXED);
}

static apr_status_t shm_child_init(rlw_store_t *base, apr_pool_t *pchild)
{
    (void)base;
    (void)pchild;
    /* Anonymous shared memory and its in-place mutexes are inherited by
     * fork(): nothing to reattach. */
    return APR_SUCCESS;
}

void rlw_shm_set_ops(shm_store_t *st)
{
    st->base.name = "shm";
    st->base.child_init = shm_child_init;
    st->base.banned = shm_banned;
    st->base.may_ban = shm_may_ban;
    st->base.net_lengths = shm_net_lengths;
    st->base.get = shm_get;
    st->base.attack = shm_attack;
    st->base.unban = shm_unban;
    st->base.stats = shm_stats;
    st->base.sync = NULL;
    st->base.ban = shm_ban;
    st->base.visit = shm_visit;
    st->base.expired = shm_expired;
}

/* The registry's entry (rlw_store_registry.c). */
static const char *shm_backend_create(apr_pool_t *pool,
                                      const rlw_store_params_t *params,
                                      rlw_store_t **out)
{
    const char *err =
        rlw_store_shm_create(pool, params->capacity, &params->policy, out);

    if (!err)
        rlw_store_shm_set_node(*out, params->node);
    return err;
}

const rlw_store_backend_t rlw_store_backend_shm = {"shm", 0, NULL, NULL,
                                                   shm_backend_create};

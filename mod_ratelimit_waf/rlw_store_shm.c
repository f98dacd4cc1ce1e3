/* rlw_store_shm.c - the embedded store: one table in shared memory.
 *
 * httpd-free (APR + pthreads). The table is created once in the parent
 * before the children fork and lives in the pool given to
 * rlw_store_shm_create() (the module passes the process pool), so every
 * child of every generation sees the same counters and bans survive a
 * graceful restart.
 *
 * Layout: a header followed by nsets sets of RLW_SHM_WAYS entries. A client
 * lives in the set chosen by a keyed hash of its address (the key is random
 * per table, so an attacker choosing addresses cannot aim at one set). Each
 * set is guarded by one of RLW_SHM_STRIPES process-shared robust mutexes
 * kept in the header: the lock lives with the data, survives restarts with
 * it, and a child that dies holding it does not wedge the others.
 *
 * Memory is bounded: a client that finds its set full takes the place of
 * the least useful entry of that set (see pick_victim()).
 *
 * Functions named do_* assume the stripe lock is held.
 */
#include <pthread.h>
#include <string.h>
#include <errno.h>

#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_general.h>
#include <apr_time.h>

#include "rlw_store.h"
#include "rlw_window.h"
#include "rlw_mcparse.h"
#include "rlw_log.h"

#define RLW_SHM_MAGIC 0x524c5753u /* "RLWS" */
#define RLW_SHM_VERSION 2u
#define RLW_SHM_WAYS 8
#define RLW_SHM_STRIPES 256
/* At most one "table full" log line per interval. */
#define RLW_SHM_FULL_LOG_MS (60 * 1000)

typedef struct shm_entry {
    rlw_addr_t key;     /* key.family == 0: free slot */
    int64_t last_ms;    /* last attack or ban start, for eviction */
    rlw_window_t win;   /* attacks in the sliding window */
    rlw_ban_state_t ban;
    uint32_t rules[RLW_TOP_RULES];     /* space-saving top rule ids */
    uint32_t rule_hits[RLW_TOP_RULES];
    uint32_t end_reported;             /* the end of this ban was reported
                                        * (or needs no report) */
    char node[RLW_STORE_NODE_LEN];     /* node that decided the ban */
} shm_entry_t;

typedef struct shm_header {
    uint32_t magic;
    uint32_t version;
    uint64_t nsets;
    uint64_t seed[2];        /* hash key, random per table */
    int64_t ban_horizon_ms;  /* latest end of any ban ever set (atomic):
                              * before it, nobody can be banned, so clean
                              * traffic skips the lookup */
    int64_t full_logged_ms;  /* last "table full" log line (atomic) */
    int64_t next_end_ms;     /* no unreported ban ends before this (atomic,
                              * INT64_MAX: none), so sweeps are free until
                              * a ban actually ends */
    uint64_t tracked;        /* entries in use (atomic) */
    uint64_t evictions;      /* (atomic) */
    uint64_t evicted_bans;   /* (atomic) */
    pthread_mutex_t locks[RLW_SHM_STRIPES];
} shm_header_t;

typedef struct shm_store {
    rlw_store_t base; /* first: a shm_store_t * is a rlw_store_t * */
    apr_shm_t *shm;
    shm_header_t *hdr;
    shm_entry_t *entries;
    apr_size_t capacity;
    char node[RLW_STORE_NODE_LEN]; /* this node, for the bans it decides */
} shm_store_t;

int64_t rlw_now_ms(void)
{
    return (int64_t)(apr_time_now() / 1000);
}

/* Keyed 64-bit mix over the 20-byte address. Not cryptographic: the random
 * key only has to keep remote clients from predicting set collisions. */
static uint64_t key_hash(const shm_header_t *h, const rlw_addr_t *a)
{
    uint64_t words[3] = {0, 0, 0};
    uint64_t x = h->seed[0];
    int i;

    memcpy(words, a, sizeof(*a));
    for (i = 0; i < 3; i++) {
        x ^= words[i] + h->seed[1];
        x *= 0x9e3779b97f4a7c15ULL;
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 32;
    }
    return x;
}

static void lock_stripe(shm_header_t *h, uint64_t set)
{
    pthread_mutex_t *m = &h->locks[set % RLW_SHM_STRIPES];
    int rv = pthread_mutex_lock(m);

    if (rv == EOWNERDEAD) {
        /* A child died holding the lock. Entries are updated field by
         * field and every combination is valid, so keep the data. */
        pthread_mutex_consistent(m);
        rlw_log(RLW_LOG_WARN, "RLW00101: shm store: recovered a lock held by "
                              "a dead process");
    }
}

static void unlock_stripe(shm_header_t *h, uint64_t set)
{
    pthread_mutex_unlock(&h->locks[set % RLW_SHM_STRIPES]);
}

static shm_entry_t *set_of(shm_store_t *st, uint64_t set)
{
    return st->entries + set * RLW_SHM_WAYS;
}

static shm_entry_t *do_find(shm_store_t *st, uint64_t set,
                            const rlw_addr_t *client)
{
    shm_entry_t *e = set_of(st, set);
    int i;

    for (i = 0; i < RLW_SHM_WAYS; i++) {
        if (e[i].key.family && memcmp(&e[i].key, client, sizeof(*client)) == 0)
            return &e[i];
    }
    return NULL;
}

/* The least useful entry of a full set, best first: a free slot; an idle
 * entry (no running ban, nothing in the window), oldest first; an entry
 * still counting, smallest count then oldest; and only when every way holds
 * a running ban, the ban that ends soonest. */
static shm_entry_t *do_pick_victim(shm_store_t *st, uint64_t set,
                                   int64_t window_ms, int64_t now)
{
    shm_entry_t *e = set_of(st, set);
    shm_entry_t *best = NULL;
    int best_rank = 4;
    int64_t best_a = 0, best_b = 0;
    int i;

    for (i = 0; i < RLW_SHM_WAYS; i++) {
        int rank;
        int64_t a, b;

        if (!e[i].key.family)
            return &e[i];
        if (rlw_ban_active(&e[i].ban, now)) {
            rank = 3;
            a = e[i].ban.until_ms;
            b = 0;
        } else {
            uint32_t n = rlw_window_total(&e[i].win, now, window_ms);

            rank = n ? 2 : 1;
            a = n;
            b = e[i].last_ms;
        }
        if (rank < best_rank ||
            (rank == best_rank && (a < best_a || (a == best_a && b < best_b)))) {
            best = &e[i];
            best_rank = rank;
            best_a = a;
            best_b = b;
        }
    }
    return best;
}

/* One locked visit to a client's set: lock_slot() takes the stripe lock,
 * unlock_slot() releases it and then logs what an eviction made while it
 * was held pushed out (logging never happens under the lock). */
typedef struct shm_slot {
    uint64_t set;
    int evicted;        /* do_find_or_make() evicted an entry */
    int was_ban;        /* the evicted entry held a running ban */
    shm_entry_t victim; /* a copy of the evicted entry */
} shm_slot_t;

/* The entry of client, made (possibly by eviction) when missing; an
 * eviction is noted in slot. */
static shm_entry_t *do_find_or_make(shm_store_t *st, shm_slot_t *slot,
                                    const rlw_addr_t *client,
                                    int64_t window_ms, int64_t now)
{
    shm_entry_t *e = do_find(st, slot->set, client);

    if (e)
        return e;
    e = do_pick_victim(st, slot->set, window_ms, now);
    if (e->key.family) {
        slot->was_ban = rlw_ban_active(&e->ban, now);
        slot->victim = *e;
        slot->evicted = 1;
        __atomic_add_fetch(&st->hdr->evictions, 1, __ATOMIC_RELAXED);
        if (slot->was_ban)
            __atomic_add_fetch(&st->hdr->evicted_bans, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&st->hdr->tracked, 1, __ATOMIC_RELAXED);
    }
    memset(e, 0, sizeof(*e));
    e->key = *client;
    return e;
}

static void log_full_once(shm_store_t *st, const shm_entry_t *victim,
                          int was_ban, int64_t now)
{
    char buf[RLW_ADDR_STRLEN];

    if (!rlw_log_due(&st->hdr->full_logged_ms, now, RLW_SHM_FULL_LOG_MS))
        return;
    rlw_log(RLW_LOG_WARN,
            "RLW00020: shm store full (%lu clients, RateLimitWAFTableSize): "
            "evicting %s%s; %lu evictions so far (%lu running bans), logged "
            "at most once a minute",
            (unsigned long)st->capacity,
            rlw_addr_format(&victim->key, buf, sizeof(buf)),
            was_ban ? " (a running ban)" : "",
            (unsigned long)__atomic_load_n(&st->hdr->evictions, __ATOMIC_RELAXED),
            (unsigned long)__atomic_load_n(&st->hdr->evicted_bans,
                                           __ATOMIC_RELAXED));
}

static void lock_slot(shm_store_t *st, const rlw_addr_t *client,
                      shm_slot_t *slot)
{
    /* victim is read only once evicted is set: not cleared, since
     * banned() takes this path on every request while a ban runs. */
    slot->evicted = 0;
    slot->was_ban = 0;
    slot->set = key_hash(st->hdr, client) % st->hdr->nsets;
    lock_stripe(st->hdr, slot->set);
}

static void unlock_slot(shm_store_t *st, const shm_slot_t *slot, int64_t now)
{
    unlock_stripe(st->hdr, slot->set);
    if (slot->evicted)
        log_full_once(st, &slot->victim, slot->was_ban, now);
}

static void raise_horizon(shm_header_t *h, int64_t until)
{
    int64_t cur = __atomic_load_n(&h->ban_horizon_ms, __ATOMIC_RELAXED);

    while (cur < until &&
           !__atomic_compare_exchange_n(&h->ban_horizon_ms, &cur, until, 0,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

/* Counts rule ids with the space-saving algorithm: a known id gains a hit;
 * a new one takes a free slot, or replaces the least hit one and inherits
 * its hits (so heavy hitters stay, whatever the order). */
static void do_note_rules(shm_entry_t *e, const rlw_hit_t *hit)
{
    int i, j;

    if (!hit)
        return;
    for (i = 0; i < hit->nrules; i++) {
        uint32_t id = hit->rules[i];
        int min = 0;

        if (!id)
            continue;
        for (j = 0; j < RLW_TOP_RULES; j++) {
            if (e->rules[j] == id || e->rules[j] == 0)
                break;
            if (e->rule_hits[j] < e->rule_hits[min])
                min = j;
        }
        if (j == RLW_TOP_RULES)
            j = min;
        if (e->rules[j] != id)
            e->rules[j] = id;
        e->rule_hits[j]++;
    }
}

/* The entry's rule ids, most hit first, into rules[RLW_TOP_RULES]. */
static void top_rules(const shm_entry_t *e, uint32_t *rules, uint32_t *hits)
{
    uint32_t r[RLW_TOP_RULES], h[RLW_TOP_RULES];
    int i, j;

    memcpy(r, e->rules, sizeof(r));
    memcpy(h, e->rule_hits, sizeof(h));
    for (i = 1; i < RLW_TOP_RULES; i++) {
        for (j = i; j > 0 && h[j] > h[j - 1]; j--) {
            uint32_t t = h[j];
            h[j] = h[j - 1];
            h[j - 1] = t;
            t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    }
    memcpy(rules, r, sizeof(r));
    if (hits)
        memcpy(hits, h, sizeof(h));
}

static void fill_info(const shm_entry_t *e, int64_t now, int64_t window_ms,
                      rlw_client_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->client = e->key;
    info->count = rlw_window_total(&e->win, now, window_ms);
    info->ban = e->ban;
    info->last_ms = e->last_ms;
    memcpy(info->node, e->node, sizeof(info->node));
    info->node[sizeof(info->node) - 1] = 0;
    top_rules(e, info->rules, info->rule_hits);
}

static void lower_next_end(shm_header_t *h, int64_t until)
{
    int64_t cur = __atomic_load_n(&h->next_end_ms, __ATOMIC_RELAXED);

    while (until < cur &&
           !__atomic_compare_exchange_n(&h->next_end_ms, &cur, until, 0,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

/* Names the node that decided e's ban (NULL: keep the name it has). */
static void do_set_node(shm_entry_t *e, const char *node)
{
    if (!node)
        return;
    memset(e->node, 0, sizeof(e->node));
    strncpy(e->node, node, sizeof(e->node) - 1);
}

/* Bookkeeping of a ban that starts in e (e->ban set), decided by node. */
static void do_start_ban(shm_store_t *st, shm_entry_t *e, const char *node)
{
    /* A ban starts a new count: after it ends, the client needs a full
     * Threshold again. */
    rlw_window_reset(&e->win);
    e->end_reported = 0;
    do_set_node(e, node);
    raise_horizon(st->hdr, e->ban.until_ms);
    lower_next_end(st->hdr, e->ban.until_ms);
}

static int shm_banned(rlw_store_t *base, const rlw_addr_t *client,
                      int64_t now, int64_t *until)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    int banned = 0;

    /* The fast path for clean traffic: one atomic load, no lock. */
    if (now >= __atomic_load_n(&st->hdr->ban_horizon_ms, __ATOMIC_ACQUIRE))
        return 0;
    lock_slot(st, client, &slot);
    e = do_find(st, slot.set, client);
    if (e && rlw_ban_active(&e->ban, now)) {
        banned = 1;
        if (until)
            *until = e->ban.until_ms;
    }
    unlock_slot(st, &slot, now);
    return banned;
}

static apr_status_t shm_attack(rlw_store_t *base, const rlw_addr_t *client,
                               rlw_class_t cls, const rlw_policy_t *p,
                               const rlw_hit_t *hit, int64_t now,
                               rlw_attack_t *out)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    uint32_t prev;

    memset(out, 0, sizeof(*out));
    lock_slot(st, client, &slot);
    e = do_find_or_make(st, &slot, client, p->window_ms, now);
    out->evicted = slot.evicted;
    if (rlw_ban_active(&e->ban, now)) {
        /* A request already in flight when the ban began: the ban is not
         * extended and the attack is not counted towards the next one.
         * (A new entry holds no ban: nothing was evicted here.) */
        out->verdict.kind = RLW_VERDICT_ALREADY_BANNED;
        out->verdict.strike = e->ban.strikes;
        out->ban = e->ban;
        unlock_slot(st, &slot, now);
        return APR_SUCCESS;
    }
    prev = rlw_window_total(&e->win, now, p->window_ms);
    out->count = rlw_window_add(&e->win, now, p->window_ms, 1);
    e->last_ms = now;
    do_note_rules(e, hit);
    top_rules(e, out->rules, NULL);
    out->verdict = rlw_decide(p, cls, &e->ban, prev, out->count, now);
    if (out->verdict.kind == RLW_VERDICT_BAN)
        do_start_ban(st, e, st->node);
    out->ban = e->ban;
    unlock_slot(st, &slot, now);
    return APR_SUCCESS;
}

static apr_status_t shm_unban(rlw_store_t *base, const rlw_addr_t *client,
                              int64_t now)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    apr_status_t rv = APR_NOTFOUND;

    lock_slot(st, client, &slot);
    e = do_find(st, slot.set, client);
    if (e && rlw_ban_active(&e->ban, now)) {
        e->ban.until_ms = now;
        e->end_reported = 1; /* whoever unbans reports it */
        rv = APR_SUCCESS;
    }
    unlock_slot(st, &slot, now);
    return rv;
}

static apr_status_t shm_ban(rlw_store_t *base, const rlw_addr_t *client,
                            int64_t ban_ms, int64_t now, rlw_ban_state_t *out)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;

    lock_slot(st, client, &slot);
    /* The window length only ranks eviction victims here. */
    e = do_find_or_make(st, &slot, client, ban_ms, now);
    e->ban.start_ms = now;
    e->ban.until_ms = now + ban_ms;
    e->last_ms = now;
    do_start_ban(st, e, st->node);
    if (out)
        *out = e->ban;
    unlock_slot(st, &slot, now);
    return APR_SUCCESS;
}

/* A walk over the table for visit() and expired(). */
typedef struct shm_walk {
    int64_t now;
    int64_t window_ms;
    rlw_visit_fn *fn;
    void *baton;
    int64_t next; /* expired(): earliest unreported ban end still ahead */
} shm_walk_t;

/* Called for each entry in use, under its stripe lock; nonzero stops. */
typedef int shm_walk_fn(shm_store_t *st, shm_entry_t *e, shm_walk_t *w);

/* Calls each for every entry in use, one set at a time under its stripe
 * lock (never the whole table at once: requests keep going), until it
 * returns nonzero. Returns whether it was stopped. */
static int walk(shm_store_t *st, shm_walk_fn *each, shm_walk_t *w)
{
    uint64_t set;
    int i, stop = 0;

    for (set = 0; set < st->hdr->nsets && !stop; set++) {
        shm_entry_t *e = set_of(st, set);

        lock_stripe(st->hdr, set);
        for (i = 0; i < RLW_SHM_WAYS && !stop; i++) {
            if (e[i].key.family)
                stop = each(st, &e[i], w);
        }
        unlock_stripe(st->hdr, set);
    }
    return stop;
}

/* Hands e to the caller's fn, still under the stripe lock. */
static int do_report(const shm_entry_t *e, shm_walk_t *w)
{
    rlw_client_info_t info;

    fill_info(e, w->now, w->window_ms, &info);
    return w->fn(w->baton, &info);
}

static int do_visit_one(shm_store_t *st, shm_entry_t *e, shm_walk_t *w)
{
    (void)st;
    return do_report(e, w);
}

static void shm_visit(rlw_store_t *base, int64_t now, int64_t window_ms,
                      rlw_visit_fn *fn, void *baton)
{
    shm_walk_t w = {.now = now, .window_ms = window_ms, .fn = fn,
                    .baton = baton};

    walk((shm_store_t *)base, do_visit_one, &w);
}

/* Reports e if its ban has ended unreported; else notes when it ends. */
static int do_expire_one(shm_store_t *st, shm_entry_t *e, shm_walk_t *w)
{
    if (e->end_reported || !e->ban.until_ms)
        return 0;
    if (e->ban.until_ms > w->now) {
        if (e->ban.until_ms < w->next)
            w->next = e->ban.until_ms;
        return 0;
    }
    e->end_reported = 1;
    /* Only the node that decided a ban reports its end, so the cluster
     * reports it once. */
    if (strncmp(e->node, st->node, sizeof(e->node)))
        return 0;
    return do_report(e, w);
}

static void shm_expired(rlw_store_t *base, int64_t now, int64_t window_ms,
                        rlw_visit_fn *fn, void *baton)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_walk_t w = {.now = now, .window_ms = window_ms, .fn = fn,
                    .baton = baton, .next = INT64_MAX};

    /* Free until the earliest unreported end: the background task calls
     * this several times a second. */
    if (now < __atomic_load_n(&st->hdr->next_end_ms, __ATOMIC_ACQUIRE))
        return;
    /* Bans started during the walk lower it again from here. */
    __atomic_store_n(&st->hdr->next_end_ms, INT64_MAX, __ATOMIC_RELEASE);
    if (walk(st, do_expire_one, &w))
        w.next = now; /* the caller stopped early: look again next time */
    lower_next_end(st->hdr, w.next);
}

void rlw_store_shm_set_node(rlw_store_t *base, const char *node)
{
    shm_store_t *st = (shm_store_t *)base;

    memset(st->node, 0, sizeof(st->node));
    if (node)
        strncpy(st->node, node, sizeof(st->node) - 1);
}

void rlw_store_shm_note_rules(rlw_store_t *base, const rlw_addr_t *client,
                              const rlw_hit_t *hit, int64_t window_ms,
                              int64_t now, uint32_t *rules)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;

    lock_slot(st, client, &slot);
    e = do_find_or_make(st, &slot, client, window_ms, now);
    e->last_ms = now;
    do_note_rules(e, hit);
    top_rules(e, rules, NULL);
    unlock_slot(st, &slot, now);
}

void rlw_store_shm_learn(rlw_store_t *base, const rlw_addr_t *client,
                         const rlw_ban_state_t *b, const char *node,
                         int64_t window_ms, int64_t now)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;

    lock_slot(st, client, &slot);
    e = do_find(st, slot.set, client);
    if ((!e && b->until_ms <= now) ||
        (e && !rlw_ban_state_newer(b, &e->ban))) {
        /* An ended ban of a client we never saw: nothing to remember. Or
         * older than what the table holds (a replayed journal entry or
         * record): never let it replace newer state. */
        unlock_slot(st, &slot, now);
        return;
    }
    if (!e)
        e = do_find_or_make(st, &slot, client, window_ms, now);
    e->ban = *b;
    e->last_ms = now;
    if (rlw_ban_active(b, now)) {
        do_start_ban(st, e, node);
    } else {
        do_set_node(e, node);
        e->end_reported = 1; /* an unban: reported where it was made */
    }
    unlock_slot(st, &slot, now);
}

static void shm_stats(rlw_store_t *base, rlw_store_stats_t *out)
{
    shm_store_t *st = (shm_store_t *)base;

    out->capacity = st->capacity;
    out->tracked = __atomic_load_n(&st->hdr->tracked, __ATOMIC_RELAXED);
    out->evictions = __atomic_load_n(&st->hdr->evictions, __ATOMIC_RELAXED);
    out->evicted_bans = __atomic_load_n(&st->hdr->evicted_bans,
                                        __ATOMIC_RELAXED);
}

static apr_status_t shm_child_init(rlw_store_t *base, apr_pool_t *pchild)
{
    (void)base;
    (void)pchild;
    /* Anonymous shared memory and its in-place mutexes are inherited by
     * fork(): nothing to reattach. */
    return APR_SUCCESS;
}

static const char *init_header(apr_pool_t *pool, shm_header_t *h,
                               uint64_t nsets)
{
    pthread_mutexattr_t attr;
    int i;

    h->magic = RLW_SHM_MAGIC;
    h->next_end_ms = INT64_MAX;
    h->version = RLW_SHM_VERSION;
    h->nsets = nsets;
    if (apr_generate_random_bytes((unsigned char *)h->seed, sizeof(h->seed))
        != APR_SUCCESS)
        return "cannot read random bytes for the table key";
    if (pthread_mutexattr_init(&attr) ||
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) ||
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST))
        return "process-shared robust mutexes are not supported here";
    for (i = 0; i < RLW_SHM_STRIPES; i++) {
        if (pthread_mutex_init(&h->locks[i], &attr)) {
            pthread_mutexattr_destroy(&attr);
            return apr_psprintf(pool, "cannot initialise mutex %d", i);
        }
    }
    pthread_mutexattr_destroy(&attr);
    return NULL;
}

static void set_ops(shm_store_t *st)
{
    st->base.name = "shm";
    st->base.child_init = shm_child_init;
    st->base.banned = shm_banned;
    st->base.attack = shm_attack;
    st->base.unban = shm_unban;
    st->base.stats = shm_stats;
    st->base.sync = NULL;
    st->base.ban = shm_ban;
    st->base.visit = shm_visit;
    st->base.expired = shm_expired;
}

const char *rlw_store_shm_create(apr_pool_t *pool, apr_size_t capacity,
                                 rlw_store_t **out)
{
    const char *ukey;
    shm_store_t *st = NULL;
    uint64_t nsets;
    apr_size_t size;
    apr_status_t rv;
    const char *err;
    char errbuf[128];

    if (capacity < RLW_SHM_WAYS)
        capacity = RLW_SHM_WAYS;
    nsets = (capacity + RLW_SHM_WAYS - 1) / RLW_SHM_WAYS;
    capacity = nsets * RLW_SHM_WAYS;

    /* Reuse the table of an earlier configuration cycle: this is what makes
     * bans survive a graceful restart. A new size needs a new table. */
    /* The layout is part of the key: a module upgraded by a graceful
     * restart never reads a table of another layout. */
    ukey = apr_psprintf(pool, "rlw_store_shm:%lu:%u:%lu",
                        (unsigned long)capacity, RLW_SHM_VERSION,
                        (unsigned long)sizeof(shm_entry_t));
    apr_pool_userdata_get((void **)&st, ukey, pool);
    if (st) {
        /* httpd unloads and reloads the module on every restart, so the
         * function pointers of the earlier cycle may point nowhere now. */
        set_ops(st);
        *out = &st->base;
        return NULL;
    }

    size = sizeof(shm_header_t) + (apr_size_t)capacity * sizeof(shm_entry_t);
    st = apr_pcalloc(pool, sizeof(*st));
    rv = apr_shm_create(&st->shm, size, NULL, pool);
    if (rv != APR_SUCCESS)
        return apr_psprintf(pool, "cannot create %lu bytes of anonymous "
                                  "shared memory: %s",
                            (unsigned long)size,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    st->hdr = apr_shm_baseaddr_get(st->shm);
    memset(st->hdr, 0, size);
    st->entries = (shm_entry_t *)(st->hdr + 1);
    st->capacity = capacity;
    err = init_header(pool, st->hdr, nsets);
    if (err)
        return err;

    set_ops(st);
    apr_pool_userdata_set(st, ukey, apr_pool_cleanup_null, pool);
    *out = &st->base;
    return NULL;
}

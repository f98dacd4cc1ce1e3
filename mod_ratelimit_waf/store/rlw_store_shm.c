/* rlw_store_shm.c - the embedded store: one table in shared memory.
 *
 * httpd-free (APR + pthreads). The table is created once in the parent
 * before the children fork and lives in the pool given to
 * rlw_store_shm_create() (the module passes the process pool), so every
 * child of every generation sees the same counters and bans survive a
 * graceful restart. A new table size on a restart moves the clients into a
 * new table and frees the old one (see rlw_store_shm_create()).
 *
 * Layout: a header followed by nsets sets of RLW_SHM_WAYS entries. A client
 * lives in the set chosen by a keyed hash of its address (the key is random
 * per table, so an attacker choosing addresses cannot aim at one set). Each
 * set is guarded by one of RLW_SHM_STRIPES process-shared robust mutexes
 * kept in the header: the lock lives with the data, survives restarts with
 * it, and a child that dies holding it does not wedge the others.
 *
 * An entry is 96 bytes (it was 232): what repeats across clients lives once
 * in the header and entries hold small indices into it (node names, rule
 * ids); ban times are 48-bit milliseconds, the last attack (only ever shown
 * to the second) 32-bit seconds; window buckets, strikes and counts at a
 * ban are 16-bit and saturate (rlw_window.h says why that is safe).
 *
 * Memory is bounded: a client that finds its set full takes the place of
 * the least valuable entry of that set (see do_value()), never that of a
 * running ban: when all 8 ways hold one, the newcomer is not tracked.
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
#define RLW_SHM_VERSION 3u
#define RLW_SHM_WAYS 8
#define RLW_SHM_STRIPES 256
/* At most one "table full" (or "not tracked") log line per interval. */
#define RLW_SHM_FULL_LOG_MS (60 * 1000)
/* Node names: index 0 is "" (none), 1..RLW_SHM_NAMES-1 are names in the
 * order they were first seen, RLW_SHM_NAME_LOST a name that found the
 * table full (see name_index()). */
#define RLW_SHM_NAMES 255
#define RLW_SHM_NAME_LOST 255
/* Rule ids: an open-addressing table of ids ever seen, entries hold the
 * slot + 1. CRS has about 600 rules; an id that finds no free slot within
 * RLW_SHM_RULE_PROBES probes is not remembered (rule_index()). */
#define RLW_SHM_RULE_SLOTS 4096
#define RLW_SHM_RULE_PROBES 64
/* Bans that ended this recently still count for the ban horizon, for
 * requests whose clock read came a little before the sweep's. */
#define RLW_SHM_HORIZON_SLACK_MS 1000
/* Defaults for ranking entries until rlw_store_shm_set_policy() (those of
 * the directives). */
#define RLW_SHM_DEF_WINDOW_MS (10LL * 60 * 1000)
#define RLW_SHM_DEF_DECAY_MS (24LL * 3600 * 1000)

/* A time in ms since the epoch in 48 bits, as 3 words so that an entry
 * needs 2-byte alignment only: +-4462 years; beyond that it saturates, and
 * the extremes read back as INT64_MIN and INT64_MAX. */
typedef struct t48 {
    uint16_t w[3];
} t48_t;

#define T48_MAX ((INT64_C(1) << 47) - 1)
#define T48_MIN (-(INT64_C(1) << 47))

#define SHM_END_REPORTED                                                       \
    0x01 /* the end of this ban was reported (or needs                         \
          * no report) */

typedef struct shm_entry {
    rlw_addr_t key;                /* key.family == 0: free slot */
    uint8_t node;                  /* who decided the ban: index of a name */
    uint8_t flags;                 /* SHM_END_REPORTED */
    rlw_window_t win;              /* attacks in the sliding window */
    t48_t ban_start, ban_until;    /* rlw_ban_state_t start_ms, until_ms */
    uint16_t strikes;              /* rlw_ban_state_t strikes, saturated */
    uint16_t ban_count;            /* rlw_ban_state_t count, saturated */
    uint32_t last_s;               /* last attack or ban start, in seconds */
    uint16_t rules[RLW_TOP_RULES]; /* space-saving top rules: rule
                                    * table slot + 1, 0 = none */
    uint16_t rule_hits[RLW_TOP_RULES]; /* saturated */
} shm_entry_t;

/* What a tracked client costs (docs/directives.md, RateLimitWAFTableSize). */
_Static_assert(sizeof(shm_entry_t) <= 96, "a table entry exceeds 96 bytes");
_Static_assert(RLW_SHM_RULE_SLOTS < UINT16_MAX, "rule slots fit 16 bits");

typedef struct shm_header {
    uint32_t magic;
    uint32_t version;
    uint64_t nsets;
    uint64_t seed[2];            /* hash key, random per table */
    uint64_t horizon;            /* (ms << 16) | version (atomic): no ban runs
                                  * at or after ms, so clean traffic skips the
                                  * lookup; raised when a ban starts, lowered
                                  * by sweeps (see publish_horizon()) */
    int64_t full_logged_ms;      /* last "table full" log line (atomic) */
    int64_t untracked_logged_ms; /* last "not tracked" log line (atomic) */
    int64_t names_logged_ms;     /* last "name table full" log line (atomic) */
    int64_t next_end_ms;         /* no unreported ban ends before this (atomic,
                                  * INT64_MAX: none), so sweeps are free until
                                  * a ban actually ends */
    uint64_t tracked;            /* entries in use (atomic) */
    uint64_t evictions;          /* (atomic) */
    uint64_t evicted_bans;       /* (atomic) */
    uint64_t untracked;          /* newcomers not tracked (atomic) */
    uint32_t nnames;             /* names[0 .. nnames-1] are set (atomic) */
    uint32_t rule_ids[RLW_SHM_RULE_SLOTS]; /* 0 = free (atomic) */
    char names[RLW_SHM_NAMES][RLW_STORE_NODE_LEN];
    pthread_mutex_t names_lock; /* adding a name */
    pthread_mutex_t locks[RLW_SHM_STRIPES];
} shm_header_t;

typedef struct shm_store {
    rlw_store_t base; /* first: a shm_store_t * is a rlw_store_t * */
    apr_shm_t *shm;
    shm_header_t *hdr;
    shm_entry_t *entries;
    apr_size_t capacity;
    char node[RLW_STORE_NODE_LEN]; /* this node, for the bans it decides */
    uint8_t node_index;            /* its index in hdr->names */
    rlw_policy_t rank;             /* ranks entries for learn(), ban() */
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

/* ---- compact fields ---------------------------------------------------- */

static void t48_put(t48_t *t, int64_t v)
{
    uint64_t u;

    if (v > T48_MAX)
        v = T48_MAX;
    if (v < T48_MIN)
        v = T48_MIN;
    u = (uint64_t)v;
    t->w[0] = (uint16_t)u;
    t->w[1] = (uint16_t)(u >> 16);
    t->w[2] = (uint16_t)(u >> 32);
}

static int64_t t48_get(const t48_t *t)
{
    uint64_t u =
        (uint64_t)t->w[0] | (uint64_t)t->w[1] << 16 | (uint64_t)t->w[2] << 32;
    int64_t v = (int64_t)(u << 16) >> 16; /* sign-extend 48 bits */

    if (v == T48_MAX)
        return INT64_MAX;
    if (v == T48_MIN)
        return INT64_MIN;
    return v;
}

static uint16_t sat16(uint32_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

static int64_t until_of(const shm_entry_t *e)
{
    return t48_get(&e->ban_until);
}

static int banned_at(const shm_entry_t *e, int64_t now)
{
    int64_t until = until_of(e);

    return until != 0 && now < until; /* as rlw_ban_active() */
}

static void get_ban(const shm_entry_t *e, rlw_ban_state_t *b)
{
    b->start_ms = t48_get(&e->ban_start);
    b->until_ms = t48_get(&e->ban_until);
    b->strikes = e->strikes;
    b->count = e->ban_count;
}

static void put_ban(shm_entry_t *e, const rlw_ban_state_t *b)
{
    t48_put(&e->ban_start, b->start_ms);
    t48_put(&e->ban_until, b->until_ms);
    e->strikes = sat16(b->strikes);
    e->ban_count = sat16(b->count);
}

static void set_last(shm_entry_t *e, int64_t now)
{
    int64_t s = now / 1000;

    e->last_s = s <= 0 ? 0 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* ---- node names and rule ids, shared by all entries --------------------- */

/* The name at index i ("" for none, or a name the table had no room for). */
static const char *name_at(shm_header_t *h, uint8_t i)
{
    if (i == 0 || i >= __atomic_load_n(&h->nnames, __ATOMIC_ACQUIRE))
        return "";
    return h->names[i];
}

static int name_find(shm_header_t *h, const char *node, uint32_t from,
                     uint32_t n)
{
    uint32_t i;

    for (i = from; i < n; i++) {
        if (strncmp(h->names[i], node, RLW_STORE_NODE_LEN - 1) == 0)
            return (int)i;
    }
    return -1;
}

/* The index of node (truncated as stored), added when new. Names are only
 * added (a cluster has a few nodes and operators); when all
 * RLW_SHM_NAMES - 1 are taken, a new one gets RLW_SHM_NAME_LOST: its bans
 * are kept and enforced, shown without a decider, and their end is never
 * reported by this node (RLW00140 says so). Lock-free for known names;
 * never called with a stripe lock held. */
static uint8_t name_index(shm_header_t *h, const char *node, int64_t now)
{
    uint32_t n;
    int i;

    if (!node || !*node)
        return 0;
    n = __atomic_load_n(&h->nnames, __ATOMIC_ACQUIRE);
    if ((i = name_find(h, node, 1, n)) >= 0)
        return (uint8_t)i;
    if (pthread_mutex_lock(&h->names_lock) == EOWNERDEAD)
        pthread_mutex_consistent(&h->names_lock); /* names are append-only */
    /* Someone else may have added it meanwhile. */
    i = name_find(h, node, n, __atomic_load_n(&h->nnames, __ATOMIC_RELAXED));
    n = __atomic_load_n(&h->nnames, __ATOMIC_RELAXED);
    if (i < 0 && n < RLW_SHM_NAMES) {
        memset(h->names[n], 0, sizeof(h->names[n]));
        strncpy(h->names[n], node, sizeof(h->names[n]) - 1);
        __atomic_store_n(&h->nnames, n + 1, __ATOMIC_RELEASE);
        i = (int)n;
    }
    pthread_mutex_unlock(&h->names_lock);
    if (i >= 0)
        return (uint8_t)i;
    if (rlw_log_due(&h->names_logged_ms, now, RLW_SHM_FULL_LOG_MS))
        rlw_log(RLW_LOG_WARN,
                "RLW00140: shm store: the table of node names "
                "is full (%d names); bans decided by \"%.63s\" "
                "are kept without its name, logged at most "
                "once a minute",
                RLW_SHM_NAMES - 1, node);
    return RLW_SHM_NAME_LOST;
}

/* The slot + 1 of rule id in the header's rule table, added when new; 0
 * for id 0 or when no free slot is near (the rule is then not counted in
 * top rules). Lock-free: a slot, once set, never changes. */
static uint16_t rule_index(shm_header_t *h, uint32_t id)
{
    uint32_t start = (uint32_t)((id * 2654435761u) % RLW_SHM_RULE_SLOTS);
    uint32_t k;

    if (!id)
        return 0;
    for (k = 0; k < RLW_SHM_RULE_PROBES; k++) {
        uint32_t i = (start + k) % RLW_SHM_RULE_SLOTS;
        uint32_t v = __atomic_load_n(&h->rule_ids[i], __ATOMIC_ACQUIRE);

        if (v == 0) {
            uint32_t expected = 0;

            if (__atomic_compare_exchange_n(&h->rule_ids[i], &expected, id, 0,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                return (uint16_t)(i + 1);
            v = expected;
        }
        if (v == id)
            return (uint16_t)(i + 1);
    }
    return 0;
}

static uint32_t rule_at(shm_header_t *h, uint16_t slot)
{
    if (slot == 0 || slot > RLW_SHM_RULE_SLOTS)
        return 0;
    return __atomic_load_n(&h->rule_ids[slot - 1], __ATOMIC_RELAXED);
}

/* ---- the ban horizon ----------------------------------------------------- */

/* The horizon word keeps its time above a 16-bit version that every
 * change bumps, so a sweep's compare-and-swap fails whenever any ban
 * started since the sweep read it, even one that did not move the time. */
static int64_t horizon_ms(uint64_t word)
{
    return (int64_t)(word >> 16);
}

static uint64_t horizon_word(int64_t ms, uint64_t prev)
{
    if (ms < 0)
        ms = 0;
    if (ms > T48_MAX)
        ms = T48_MAX; /* year 6429: "some ban may run" until then */
    return (uint64_t)ms << 16 | ((prev + 1) & 0xffff);
}

static void raise_horizon(shm_header_t *h, int64_t until)
{
    uint64_t cur = __atomic_load_n(&h->horizon, __ATOMIC_RELAXED);
    uint64_t next;

    do {
        int64_t ms = horizon_ms(cur);

        next = horizon_word(until > ms ? until : ms, cur);
    } while (!__atomic_compare_exchange_n(&h->horizon, &cur, next, 0,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
}

/* After a full sweep that started when the horizon word was seen, with
 * latest the latest end of a ban found (each set read under its lock):
 * lowers the horizon to it, unless a ban started since seen (the word
 * changed; a ban raises it under its stripe lock, so one the sweep did not
 * see started after seen was read). Then the next sweep tries again. */
static void publish_horizon(shm_header_t *h, uint64_t seen, int64_t latest)
{
    if (latest >= horizon_ms(seen))
        return;
    __atomic_compare_exchange_n(&h->horizon, &seen, horizon_word(latest, seen),
                                0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

static void lower_next_end(shm_header_t *h, int64_t until)
{
    int64_t cur = __atomic_load_n(&h->next_end_ms, __ATOMIC_RELAXED);

    while (until < cur &&
           !__atomic_compare_exchange_n(&h->next_end_ms, &cur, until, 0,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

/* ---- sets, victims ------------------------------------------------------- */

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

/* How much an entry is worth keeping, lowest first. A spray of addresses
 * that attack once each must not push out what makes the module work: a
 * running ban, strikes that still escalate the next ban, a count about to
 * reach the threshold. */
enum {
    V_FREE = 0,
    V_IDLE,     /* nothing in the window, no ban, no strike that counts */
    V_COUNTING, /* a small count: smallest first, then oldest */
    V_STRIKES,  /* a ban ended less than strike_decay_ms ago: the one that
                 * ended first goes first */
    V_NEAR,     /* at least half the threshold (and 2): as V_COUNTING */
    V_BANNED    /* a running ban: the one that ends soonest */
};

typedef struct shm_value {
    int rank;
    int64_t a, b; /* order within the rank, lowest first */
} shm_value_t;

/* 1 when a ban that ended at until (<= now) still escalates the next. */
static int strikes_live(int64_t now, int64_t until, int64_t decay_ms)
{
    int64_t since;

    /* A record from hostile input may end at INT64_MIN: no overflow. */
    if (__builtin_sub_overflow(now, until, &since))
        return 0;
    return since < decay_ms;
}

static void do_value(const shm_entry_t *e, const rlw_policy_t *p, int64_t now,
                     shm_value_t *v)
{
    int64_t until = until_of(e);
    uint32_t n;

    v->a = 0;
    v->b = e->last_s;
    if (!e->key.family) {
        v->rank = V_FREE;
        return;
    }
    if (until != 0 && now < until) {
        v->rank = V_BANNED;
        v->a = until;
        v->b = 0;
        return;
    }
    n = rlw_window_total(&e->win, now, p->window_ms);
    if (n >= 2 && (uint64_t)n * 2 >= p->threshold) {
        v->rank = V_NEAR;
        v->a = n;
    } else if (e->strikes && until != 0 &&
               strikes_live(now, until, p->strike_decay_ms)) {
        v->rank = V_STRIKES;
        v->a = until;
    } else if (n) {
        v->rank = V_COUNTING;
        v->a = n;
    } else {
        v->rank = V_IDLE;
    }
}

static int value_lt(const shm_value_t *x, const shm_value_t *y)
{
    if (x->rank != y->rank)
        return x->rank < y->rank;
    if (x->a != y->a)
        return x->a < y->a;
    return x->b < y->b;
}

/* The least valuable entry of the set (a free one first), and its value. */
static shm_entry_t *do_pick_victim(shm_store_t *st, uint64_t set,
                                   const rlw_policy_t *p, int64_t now,
                                   shm_value_t *value)
{
    shm_entry_t *e = set_of(st, set);
    shm_entry_t *best = NULL;
    int i;

    for (i = 0; i < RLW_SHM_WAYS; i++) {
        shm_value_t v;

        do_value(&e[i], p, now, &v);
        if (!best || value_lt(&v, value)) {
            best = &e[i];
            *value = v;
            if (v.rank == V_FREE)
                break;
        }
    }
    return best;
}

/* One locked visit to a client's set: lock_slot() takes the stripe lock,
 * unlock_slot() releases it and then logs what happened while it was held
 * (an eviction, a newcomer left untracked): logging never happens under
 * the lock. */
typedef struct shm_slot {
    uint64_t set;
    int evicted;        /* do_find_or_make() evicted an entry */
    int was_ban;        /* the evicted entry held a running ban */
    int untracked;      /* do_find_or_make() found no room */
    shm_entry_t victim; /* a copy of the evicted entry */
    rlw_addr_t client;  /* the client looked up */
} shm_slot_t;

/* The entry of client, made when missing: in a free way, or in place of
 * the least valuable entry of the set. A running ban is never replaced by
 * a client that brings no ban (keep_until 0) or a shorter one: then the
 * newcomer is not tracked (NULL, counted in untracked). keep_until is the
 * end of the ban the newcomer brings (INT64_MAX: an operator's ban, which
 * replaces the ban that ends first). */
static shm_entry_t *do_find_or_make(shm_store_t *st, shm_slot_t *slot,
                                    const rlw_addr_t *client,
                                    const rlw_policy_t *p, int64_t keep_until,
                                    int64_t now)
{
    shm_entry_t *e = do_find(st, slot->set, client);
    shm_value_t v;

    if (e)
        return e;
    e = do_pick_victim(st, slot->set, p, now, &v);
    if (v.rank == V_BANNED && v.a >= keep_until) {
        slot->untracked = 1;
        __atomic_add_fetch(&st->hdr->untracked, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    if (e->key.family) {
        slot->was_ban = v.rank == V_BANNED;
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
    rlw_log(
        RLW_LOG_WARN,
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

static void log_untracked_once(shm_store_t *st, const rlw_addr_t *client,
                               int64_t now)
{
    char buf[RLW_ADDR_STRLEN];

    if (!rlw_log_due(&st->hdr->untracked_logged_ms, now, RLW_SHM_FULL_LOG_MS))
        return;
    rlw_log(
        RLW_LOG_WARN,
        "RLW00141: shm store: %s not tracked, its part of the table is "
        "full of running bans (%lu clients, RateLimitWAFTableSize); %lu "
        "clients not tracked so far, logged at most once a minute",
        rlw_addr_format(client, buf, sizeof(buf)), (unsigned long)st->capacity,
        (unsigned long)__atomic_load_n(&st->hdr->untracked, __ATOMIC_RELAXED));
}

static void lock_slot(shm_store_t *st, const rlw_addr_t *client,
                      shm_slot_t *slot)
{
    /* victim is read only once evicted is set: not cleared, since
     * banned() takes this path on every request while a ban runs. */
    slot->evicted = 0;
    slot->was_ban = 0;
    slot->untracked = 0;
    slot->client = *client;
    slot->set = key_hash(st->hdr, client) % st->hdr->nsets;
    lock_stripe(st->hdr, slot->set);
}

static void unlock_slot(shm_store_t *st, const shm_slot_t *slot, int64_t now)
{
    unlock_stripe(st->hdr, slot->set);
    if (slot->evicted)
        log_full_once(st, &slot->victim, slot->was_ban, now);
    if (slot->untracked)
        log_untracked_once(st, &slot->client, now);
}

/* ---- per-entry bookkeeping ----------------------------------------------- */

/* Counts rule ids with the space-saving algorithm: a known id gains a hit;
 * a new one takes a free slot, or replaces the least hit one and inherits
 * its hits (so heavy hitters stay, whatever the order). */
static void do_note_rules(shm_store_t *st, shm_entry_t *e, const rlw_hit_t *hit)
{
    int i, j;

    if (!hit)
        return;
    for (i = 0; i < hit->nrules; i++) {
        uint16_t id = rule_index(st->hdr, hit->rules[i]);
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
        if (e->rule_hits[j] < UINT16_MAX)
            e->rule_hits[j]++;
    }
}

/* The entry's rule ids, most hit first, into rules[RLW_TOP_RULES]. */
static void do_top_rules(shm_store_t *st, const shm_entry_t *e, uint32_t *rules,
                         uint32_t *hits)
{
    uint32_t r[RLW_TOP_RULES], h[RLW_TOP_RULES];
    int i, j;

    for (i = 0; i < RLW_TOP_RULES; i++) {
        r[i] = rule_at(st->hdr, e->rules[i]);
        h[i] = r[i] ? e->rule_hits[i] : 0;
    }
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
    /* Empty slots last, even between ids with no hits. */
    for (i = 0, j = 0; i < RLW_TOP_RULES; i++) {
        if (r[i]) {
            uint32_t tr = r[i], th = h[i];

            r[i] = r[j];
            h[i] = h[j];
            r[j] = tr;
            h[j] = th;
            j++;
        }
    }
    memcpy(rules, r, sizeof(r));
    if (hits)
        memcpy(hits, h, sizeof(h));
}

static void do_fill_info(shm_store_t *st, const shm_entry_t *e, int64_t now,
                         int64_t window_ms, rlw_client_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->client = e->key;
    info->count = rlw_window_total(&e->win, now, window_ms);
    get_ban(e, &info->ban);
    info->last_ms = (int64_t)e->last_s * 1000;
    strncpy(info->node, name_at(st->hdr, e->node), sizeof(info->node) - 1);
    do_top_rules(st, e, info->rules, info->rule_hits);
}

/* Bookkeeping of a ban that starts in e (its ban fields set), decided by
 * the node at index node. */
static void do_start_ban(shm_store_t *st, shm_entry_t *e, uint8_t node)
{
    int64_t until = until_of(e);

    /* A ban starts a new count: after it ends, the client needs a full
     * Threshold again. */
    rlw_window_reset(&e->win);
    e->flags &= (uint8_t)~SHM_END_REPORTED;
    e->node = node;
    /* Under the stripe lock: see publish_horizon(). */
    raise_horizon(st->hdr, until);
    lower_next_end(st->hdr, until);
}

/* ---- the operations ------------------------------------------------------ */

static int shm_banned(rlw_store_t *base, const rlw_addr_t *client, int64_t now,
                      int64_t *until)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    int banned = 0;

    /* The fast path for clean traffic: one atomic load, no lock. */
    if (now >= horizon_ms(__atomic_load_n(&st->hdr->horizon, __ATOMIC_ACQUIRE)))
        return 0;
    lock_slot(st, client, &slot);
    e = do_find(st, slot.set, client);
    if (e && banned_at(e, now)) {
        banned = 1;
        if (until)
            *until = until_of(e);
    }
    unlock_slot(st, &slot, now);
    return banned;
}

/* One client's entry, found in its set (no walk of the table). */
static apr_status_t shm_get(rlw_store_t *base, const rlw_addr_t *client,
                            int64_t now, rlw_client_info_t *out)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;

    lock_slot(st, client, &slot);
    e = do_find(st, slot.set, client);
    if (e)
        do_fill_info(st, e, now, st->rank.window_ms, out);
    unlock_slot(st, &slot, now);
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
    uint32_t prev;

    memset(out, 0, sizeof(*out));
    lock_slot(st, client, &slot);
    e = do_find_or_make(st, &slot, client, p, 0, now);
    if (!e) {
        /* Not tracked (its set holds 8 running bans): not counted. */
        unlock_slot(st, &slot, now);
        return APR_SUCCESS;
    }
    get_ban(e, &b);
    if (rlw_ban_active(&b, now)) {
        /* A request already in flight when the ban began: the ban is not
         * extended and the attack is not counted towards the next one.
         * (A new entry holds no ban: nothing was evicted here.) */
        out->verdict.kind = RLW_VERDICT_ALREADY_BANNED;
        out->verdict.strike = b.strikes;
        out->ban = b;
        unlock_slot(st, &slot, now);
        return APR_SUCCESS;
    }
    prev = rlw_window_total(&e->win, now, p->window_ms);
    out->count = rlw_window_add(&e->win, now, p->window_ms, 1);
    set_last(e, now);
    do_note_rules(st, e, hit);
    do_top_rules(st, e, out->rules, NULL);
    out->verdict = rlw_decide(p, cls, &b, prev, out->count, now);
    if (out->verdict.kind == RLW_VERDICT_BAN) {
        put_ban(e, &b);
        do_start_ban(st, e, st->node_index);
    }
    get_ban(e, &out->ban);
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
    if (e && banned_at(e, now)) {
        t48_put(&e->ban_until, now);
        e->flags |= SHM_END_REPORTED; /* whoever unbans reports it */
        rv = APR_SUCCESS;
    }
    unlock_slot(st, &slot, now);
    /* The next sweep recomputes the ban horizon without this ban. */
    if (rv == APR_SUCCESS)
        lower_next_end(st->hdr, now);
    return rv;
}

static apr_status_t shm_ban(rlw_store_t *base, const rlw_addr_t *client,
                            int64_t ban_ms, int64_t now, rlw_ban_state_t *out)
{
    shm_store_t *st = (shm_store_t *)base;
    shm_slot_t slot;
    shm_entry_t *e;
    rlw_ban_state_t b;

    lock_slot(st, client, &slot);
    /* An operator's ban takes a place whatever the set holds. */
    e = do_find_or_make(st, &slot, client, &st->rank, INT64_MAX, now);
    if (!e) {
        unlock_slot(st, &slot, now);
        return APR_ENOSPC; /* 8 bans that never end */
    }
    get_ban(e, &b);
    b.start_ms = now;
    b.until_ms = now + ban_ms;
    put_ban(e, &b);
    set_last(e, now);
    do_start_ban(st, e, st->node_index);
    if (out)
        get_ban(e, out);
    unlock_slot(st, &slot, now);
    return APR_SUCCESS;
}

/* A walk over the table for visit() and expired(). */
typedef struct shm_walk {
    int64_t now;
    int64_t window_ms;
    rlw_visit_fn *fn;
    void *baton;
    int64_t next;   /* expired(): earliest unreported ban end still ahead */
    int64_t latest; /* expired(): latest end of a ban found (horizon) */
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
        shm_entry_t *e = set_of(st, set);

        n = 0;
        lock_stripe(st->hdr, set);
        for (i = 0; i < RLW_SHM_WAYS; i++) {
            if (e[i].key.family && pick(st, &e[i], w))
                do_fill_info(st, &e[i], w->now, w->window_ms, &chosen[n++]);
        }
        unlock_stripe(st->hdr, set);
        for (j = 0; j < n && !stop; j++)
            stop = w->fn(w->baton, &chosen[j]);
        if (stop && j < n && unpick) {
            lock_stripe(st->hdr, set);
            for (; j < n; j++) {
                shm_entry_t *f = do_find(st, set, &chosen[j].client);

                if (f)
                    unpick(f, &chosen[j]);
            }
            unlock_stripe(st->hdr, set);
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
    int64_t until = until_of(e);

    if (until > w->latest)
        w->latest = until;
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
    if (until_of(e) == info->ban.until_ms)
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
                    .latest = 0};
    uint64_t seen;

    /* Free until the earliest unreported end: the background task calls
     * this several times a second. */
    if (now < __atomic_load_n(&st->hdr->next_end_ms, __ATOMIC_ACQUIRE))
        return;
    /* Bans started during the walk lower it again from here. */
    __atomic_store_n(&st->hdr->next_end_ms, INT64_MAX, __ATOMIC_RELEASE);
    seen = __atomic_load_n(&st->hdr->horizon, __ATOMIC_SEQ_CST);
    if (walk(st, do_pick_expired, do_unpick_expired, &w)) {
        w.next = now; /* the caller stopped early: look again next time */
    } else {
        /* A whole walk: the horizon comes down to the bans still there
         * (so that one long ban, once over, no longer keeps every clean
         * request on the locked path). */
        if (now > INT64_MIN + RLW_SHM_HORIZON_SLACK_MS &&
            w.latest < now - RLW_SHM_HORIZON_SLACK_MS)
            w.latest = 0;
        publish_horizon(st->hdr, seen, w.latest);
    }
    lower_next_end(st->hdr, w.next);
}

void rlw_store_shm_set_node(rlw_store_t *base, const char *node)
{
    shm_store_t *st = (shm_store_t *)base;

    memset(st->node, 0, sizeof(st->node));
    if (node)
        strncpy(st->node, node, sizeof(st->node) - 1);
    /* In the parent, before the children fork: they all share the index. */
    st->node_index = name_index(st->hdr, st->node, rlw_now_ms());
}

void rlw_store_shm_set_policy(rlw_store_t *base, const rlw_policy_t *p)
{
    shm_store_t *st = (shm_store_t *)base;

    st->rank = *p;
}

int64_t rlw_store_shm_horizon(rlw_store_t *base)
{
    shm_store_t *st = (shm_store_t *)base;

    return horizon_ms(__atomic_load_n(&st->hdr->horizon, __ATOMIC_ACQUIRE));
}

void rlw_store_shm_note_rules(rlw_store_t *base, const rlw_addr_t *client,
                              const rlw_hit_t *hit, int64_t window_ms,
                              int64_t now, uint32_t *rules)
{
    shm_store_t *st = (shm_store_t *)base;
    rlw_policy_t p = st->rank;
    shm_slot_t slot;
    shm_entry_t *e;

    p.window_ms = window_ms;
    memset(rules, 0, sizeof(uint32_t) * RLW_TOP_RULES);
    lock_slot(st, client, &slot);
    e = do_find_or_make(st, &slot, client, &p, 0, now);
    if (e) {
        set_last(e, now);
        do_note_rules(st, e, hit);
        do_top_rules(st, e, rules, NULL);
    }
    unlock_slot(st, &slot, now);
}

void rlw_store_shm_learn(rlw_store_t *base, const rlw_addr_t *client,
                         const rlw_ban_state_t *b, const char *node,
                         int64_t window_ms, int64_t now)
{
    shm_store_t *st = (shm_store_t *)base;
    rlw_policy_t p = st->rank;
    rlw_ban_state_t cur;
    uint8_t node_index = 0;
    shm_slot_t slot;
    shm_entry_t *e;

    p.window_ms = window_ms;
    /* Before the stripe lock: adding a name may take the names lock. */
    if (node)
        node_index = name_index(st->hdr, node, now);
    lock_slot(st, client, &slot);
    e = do_find(st, slot.set, client);
    if (e)
        get_ban(e, &cur);
    if ((!e && b->until_ms <= now) || (e && !rlw_ban_state_newer(b, &cur))) {
        /* An ended ban of a client we never saw: nothing to remember. Or
         * older than what the table holds (a replayed journal entry or
         * record): never let it replace newer state. */
        unlock_slot(st, &slot, now);
        return;
    }
    if (!e)
        e = do_find_or_make(st, &slot, client, &p, b->until_ms, now);
    if (!e) {
        /* Its set holds 8 bans that all end later. */
        unlock_slot(st, &slot, now);
        return;
    }
    put_ban(e, b);
    set_last(e, now);
    if (rlw_ban_active(b, now)) {
        do_start_ban(st, e, node ? node_index : e->node);
    } else {
        if (node)
            e->node = node_index;
        e->flags |= SHM_END_REPORTED; /* an unban: reported where made */
    }
    unlock_slot(st, &slot, now);
    if (!rlw_ban_active(b, now))
        lower_next_end(st->hdr, now); /* recompute the horizon soon */
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

static const char *init_header(apr_pool_t *pool, shm_header_t *h,
                               uint64_t nsets)
{
    pthread_mutexattr_t attr;
    int i;

    h->magic = RLW_SHM_MAGIC;
    h->next_end_ms = INT64_MAX;
    h->version = RLW_SHM_VERSION;
    h->nsets = nsets;
    h->nnames = 1; /* index 0: no name */
    if (apr_generate_random_bytes((unsigned char *)h->seed, sizeof(h->seed)) !=
        APR_SUCCESS)
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
    if (pthread_mutex_init(&h->names_lock, &attr)) {
        pthread_mutexattr_destroy(&attr);
        return "cannot initialise the names mutex";
    }
    pthread_mutexattr_destroy(&attr);
    return NULL;
}

static void set_ops(shm_store_t *st)
{
    st->base.name = "shm";
    st->base.child_init = shm_child_init;
    st->base.banned = shm_banned;
    st->base.get = shm_get;
    st->base.attack = shm_attack;
    st->base.unban = shm_unban;
    st->base.stats = shm_stats;
    st->base.sync = NULL;
    st->base.ban = shm_ban;
    st->base.visit = shm_visit;
    st->base.expired = shm_expired;
}

/* A new table of capacity clients (a whole number of sets) in pool. */
static const char *new_table(apr_pool_t *pool, apr_size_t capacity,
                             apr_shm_t **shm)
{
    apr_size_t size =
        sizeof(shm_header_t) + (apr_size_t)capacity * sizeof(shm_entry_t);
    apr_status_t rv;
    char errbuf[128];
    shm_header_t *h;

    rv = apr_shm_create(shm, size, NULL, pool);
    if (rv != APR_SUCCESS)
        return apr_psprintf(pool,
                            "cannot create %lu bytes of anonymous "
                            "shared memory: %s",
                            (unsigned long)size,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    h = apr_shm_baseaddr_get(*shm);
    memset(h, 0, size);
    return init_header(pool, h, capacity / RLW_SHM_WAYS);
}

static void attach(shm_store_t *st, apr_shm_t *shm, apr_size_t capacity)
{
    st->shm = shm;
    st->hdr = apr_shm_baseaddr_get(shm);
    st->entries = (shm_entry_t *)(st->hdr + 1);
    st->capacity = capacity;
}

/* Copies entry e of another table into st (not yet shared with anyone but
 * this process): in its set under st's key, in a free way or in place of a
 * less valuable entry; dropped (and counted as evicted) when its set holds
 * only more valuable ones. */
static void move_entry(shm_store_t *st, const shm_entry_t *e, int64_t now)
{
    uint64_t set = key_hash(st->hdr, &e->key) % st->hdr->nsets;
    shm_value_t mine, v;
    shm_entry_t *victim;

    do_value(e, &st->rank, now, &mine);
    lock_stripe(st->hdr, set);
    victim = do_pick_victim(st, set, &st->rank, now, &v);
    if (v.rank == V_FREE || value_lt(&v, &mine)) {
        if (v.rank == V_FREE) {
            st->hdr->tracked++;
        } else {
            st->hdr->evictions++;
            st->hdr->evicted_bans += v.rank == V_BANNED;
        }
        *victim = *e;
    } else {
        st->hdr->evictions++;
        st->hdr->evicted_bans += mine.rank == V_BANNED;
    }
    unlock_stripe(st->hdr, set);
}

/* Moves everything of the table st holds now into the new table shm of
 * capacity clients, then frees the old table (in this process: children
 * of an earlier generation keep their own mapping until they exit) and
 * makes st use the new one. Running bans, strikes and counts carry over,
 * the most valuable first when the new table is smaller; names, rule ids,
 * counters and the ban horizon as they are. */
static void migrate(shm_store_t *st, apr_shm_t *shm, apr_size_t capacity,
                    int64_t now)
{
    shm_store_t old = *st;
    shm_header_t *oh = old.hdr, *nh;
    uint64_t set;
    int i;

    attach(st, shm, capacity);
    nh = st->hdr;
    /* Indices in entries point into these tables: copy them whole. */
    nh->nnames = __atomic_load_n(&oh->nnames, __ATOMIC_ACQUIRE);
    memcpy(nh->names, oh->names, sizeof(nh->names));
    for (i = 0; i < RLW_SHM_RULE_SLOTS; i++)
        nh->rule_ids[i] = __atomic_load_n(&oh->rule_ids[i], __ATOMIC_ACQUIRE);
    nh->evictions = __atomic_load_n(&oh->evictions, __ATOMIC_RELAXED);
    nh->evicted_bans = __atomic_load_n(&oh->evicted_bans, __ATOMIC_RELAXED);
    nh->untracked = __atomic_load_n(&oh->untracked, __ATOMIC_RELAXED);
    nh->horizon = __atomic_load_n(&oh->horizon, __ATOMIC_ACQUIRE);
    nh->next_end_ms = __atomic_load_n(&oh->next_end_ms, __ATOMIC_ACQUIRE);
    for (set = 0; set < oh->nsets; set++) {
        shm_entry_t copy[RLW_SHM_WAYS];

        /* Children of the last generation may still be writing. */
        lock_stripe(oh, set);
        memcpy(copy, set_of(&old, set), sizeof(copy));
        unlock_stripe(oh, set);
        for (i = 0; i < RLW_SHM_WAYS; i++) {
            if (copy[i].key.family)
                move_entry(st, &copy[i], now);
        }
    }
    /* Unmaps the old table here now, not when the pool goes (never, for
     * the process pool): that is what keeps size changes from piling up
     * tables. */
    apr_shm_destroy(old.shm);
}

const char *rlw_store_shm_create(apr_pool_t *pool, apr_size_t capacity,
                                 rlw_store_t **out)
{
    const char *ukey;
    shm_store_t *st = NULL;
    apr_shm_t *shm;
    const char *err;

    if (capacity < RLW_SHM_WAYS)
        capacity = RLW_SHM_WAYS;
    capacity = (capacity + RLW_SHM_WAYS - 1) / RLW_SHM_WAYS * RLW_SHM_WAYS;

    /* Reuse the table of an earlier configuration cycle: this is what makes
     * bans survive a graceful restart. One table per pool: the key names
     * the layout only, so that a module upgraded by a graceful restart
     * never reads a table of another layout, and a new size replaces the
     * table rather than adding one (an old one kept under its size would
     * come back, stale, when that size does). */
    ukey = apr_psprintf(pool, "rlw_store_shm:%u:%lu:%lu", RLW_SHM_VERSION,
                        (unsigned long)sizeof(shm_entry_t),
                        (unsigned long)sizeof(shm_store_t));
    apr_pool_userdata_get((void **)&st, ukey, pool);
    if (st && st->capacity == capacity) {
        /* httpd unloads and reloads the module on every restart, so the
         * function pointers of the earlier cycle may point nowhere now. */
        set_ops(st);
        *out = &st->base;
        return NULL;
    }
    if ((err = new_table(pool, capacity, &shm)) != NULL)
        return err;
    if (st) {
        migrate(st, shm, capacity, rlw_now_ms());
    } else {
        st = apr_pcalloc(pool, sizeof(*st));
        attach(st, shm, capacity);
        st->rank.threshold = 0;
        st->rank.window_ms = RLW_SHM_DEF_WINDOW_MS;
        st->rank.strike_decay_ms = RLW_SHM_DEF_DECAY_MS;
        apr_pool_userdata_set(st, ukey, apr_pool_cleanup_null, pool);
    }
    set_ops(st);
    *out = &st->base;
    return NULL;
}

/* The registry's entry (rlw_store_registry.c). */
static const char *shm_backend_create(apr_pool_t *pool,
                                      const rlw_store_params_t *params,
                                      rlw_store_t **out)
{
    const char *err = rlw_store_shm_create(pool, params->capacity, out);

    if (!err) {
        rlw_store_shm_set_policy(*out, &params->policy);
        rlw_store_shm_set_node(*out, params->node);
    }
    return err;
}

const rlw_store_backend_t rlw_store_backend_shm = {"shm", 0, NULL, NULL,
                                                   shm_backend_create};

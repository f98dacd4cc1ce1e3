/* rlw_shm_internal.h - the shm store's table, shared by its three files.
 *
 * Private to the shm store (store/rlw_shm_*.c and rlw_store_shm.c); the
 * rest of the module sees rlw_store.h and rlw_store_shm.h only.
 *
 * - rlw_shm_table.c: the table itself: header, stripe locks, the shared
 *   node-name and rule-id tables, the ban horizon, creation and the move
 *   to a table of another size.
 * - rlw_shm_entry.c: one client's entry: finding it, ranking entries when a
 *   full set must make room (eviction), the locked visit to a set, top
 *   rules and what a ban start changes.
 * - rlw_store_shm.c: the store operations (rlw_store_t) on top of both.
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
 * Functions named *do_* assume the stripe lock is held.
 */
#ifndef RLW_SHM_INTERNAL_H
#define RLW_SHM_INTERNAL_H

#include <pthread.h>
#include <string.h>

#include <apr_shm.h>

#include "rlw_store.h"
#include "rlw_window.h"

#define RLW_SHM_MAGIC 0x524c5753u /* "RLWS" */
#define RLW_SHM_VERSION 5u
#define RLW_SHM_WAYS 8
#define RLW_SHM_STRIPES 256
/* At most one "table full" (or "not tracked") log line per interval. */
#define RLW_SHM_FULL_LOG_MS (60 * 1000)
/* Node names: index 0 is "" (none), 1..RLW_SHM_NAMES-1 are names in the
 * order they were first seen, RLW_SHM_NAME_LOST a name that found the
 * table full (see rlw_shm_name_index()). */
#define RLW_SHM_NAMES 255
#define RLW_SHM_NAME_LOST 255
/* Rule ids: an open-addressing table of ids ever seen, entries hold the
 * slot + 1. CRS has about 600 rules; an id that finds no free slot within
 * RLW_SHM_RULE_PROBES probes is not remembered (rlw_shm_rule_index()). */
#define RLW_SHM_RULE_SLOTS 4096
#define RLW_SHM_RULE_PROBES 64
/* Bans that ended this recently still count for the ban horizon, for
 * requests whose clock read came a little before the sweep's. */
#define RLW_SHM_HORIZON_SLACK_MS 1000
/* Defaults for ranking entries when the store is created without a policy
 * (those of the directives). */
#define RLW_SHM_DEF_WINDOW_MS (10LL * 60 * 1000)
#define RLW_SHM_DEF_DECAY_MS (24LL * 3600 * 1000)

/* Prefix lengths of network bans: word 0 holds the IPv4 lengths (bit n
 * for /n), words 1 to 3 the IPv6 ones (bit n % 64 of word 1 + n / 64). */
#define RLW_SHM_NET_LEN_WORDS 4

/* A time in ms since the epoch in 48 bits, as 3 words so that an entry
 * needs 2-byte alignment only: +-4462 years; beyond that it saturates, and
 * the extremes read back as INT64_MIN and INT64_MAX. */
typedef struct t48 {
    uint16_t w[3];
} t48_t;

#define T48_MAX ((INT64_C(1) << 47) - 1)
#define T48_MIN (-(INT64_C(1) << 47))

/* The end of this ban was reported (or needs no report). */
#define SHM_END_REPORTED 0x01
/* Bits 1-2: rlw_ban_state_t pair (the pair whose window banned, plus one;
 * 0 = not known). */
#define SHM_PAIR_SHIFT 1
#define SHM_PAIR_MASK 0x06
_Static_assert(RLW_PAIRS_MAX <= 3, "the banning pair fits 2 bits of flags");

typedef struct shm_entry {
    rlw_addr_t key;                /* key.family == 0: free slot */
    uint8_t node;                  /* who decided the ban: index of a name */
    uint8_t flags;                 /* SHM_END_REPORTED, SHM_PAIR_MASK */
    rlw_window_t win;              /* attacks in the sliding window (of the
                                    * first pair; the others' windows are
                                    * in shm_store_t more) */
    t48_t ban_start, ban_until;    /* rlw_ban_state_t start_ms, until_ms */
    uint16_t strikes;              /* rlw_ban_state_t strikes, saturated */
    uint16_t ban_count;            /* rlw_ban_state_t count, saturated */
    uint32_t last_s;               /* last attack or ban start, in seconds */
    uint16_t rules[RLW_TOP_RULES]; /* space-saving top rules: rule
                                    * table slot + 1, 0 = none */
    uint16_t rule_hits[RLW_TOP_RULES]; /* saturated */
} shm_entry_t;

/* What a tracked client costs (docs/directives.md, RateLimitWAFTableSize):
 * an entry, plus one rlw_window_t (38 bytes) per pair of
 * RateLimitWAFThreshold beyond the first, in an array after the entries
 * (entry i's windows at more[i * nmore]), so that one pair costs what it
 * did. */
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
                                  * by sweeps (see rlw_shm_publish_horizon()) */
    uint64_t key_horizon;        /* the same for bans of request keys only
                                  * (RLW_KIND_KEY): while none runs, requests
                                  * skip computing their keys */
    int64_t full_logged_ms;      /* last "table full" log line (atomic) */
    int64_t untracked_logged_ms; /* last "not tracked" log line (atomic) */
    int64_t names_logged_ms;     /* last "name table full" log line (atomic) */
    int64_t next_end_ms;         /* no unreported ban ends before this (atomic,
                                  * INT64_MAX: none), so sweeps are free until
                                  * a ban actually ends */
    /* Prefix lengths of network bans that may run (atomic; net_lock to
     * change): see rlw_shm_note_net_len(). */
    uint64_t net_lens[RLW_SHM_NET_LEN_WORDS];
    uint64_t net_gen;      /* network bans started (net_lock) */
    uint64_t tracked;      /* entries in use (atomic) */
    uint64_t evictions;    /* (atomic) */
    uint64_t evicted_bans; /* (atomic) */
    uint64_t untracked;    /* newcomers not tracked (atomic) */
    uint32_t nnames;       /* names[0 .. nnames-1] are set (atomic) */
    uint32_t rule_ids[RLW_SHM_RULE_SLOTS]; /* 0 = free (atomic) */
    char names[RLW_SHM_NAMES][RLW_STORE_NODE_LEN];
    pthread_mutex_t names_lock; /* adding a name */
    pthread_mutex_t net_lock;   /* changing net_lens, net_gen */
    pthread_mutex_t locks[RLW_SHM_STRIPES];
} shm_header_t;

typedef struct shm_store {
    rlw_store_t base; /* first: a shm_store_t * is a rlw_store_t * */
    apr_shm_t *shm;
    shm_header_t *hdr;
    shm_entry_t *entries;
    apr_size_t capacity;
    unsigned nmore;     /* windows per entry beyond the first (the pairs of
                         * the policy given at creation, less one) */
    rlw_window_t *more; /* capacity * nmore windows, after the entries */
    char node[RLW_STORE_NODE_LEN]; /* this node, for the bans it decides */
    uint8_t node_index;            /* its index in hdr->names */
    rlw_policy_t rank;             /* the store's own policy (given at
                                    * creation): ranks entries for the calls
                                    * that bring none, and its window_ms
                                    * counts for get(), learn(), note_rules() */
} shm_store_t;

/* ---- compact fields (inline: banned() reads them on every request) ----- */

/* Keyed 64-bit mix over the 20-byte address. Not cryptographic: the random
 * key only has to keep remote clients from predicting set collisions. */
static inline uint64_t rlw_shm_key_hash(const shm_header_t *h,
                                        const rlw_addr_t *a)
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

static inline void t48_put(t48_t *t, int64_t v)
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

static inline int64_t t48_get(const t48_t *t)
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

static inline uint16_t rlw_shm_sat16(uint32_t v)
{
    return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

static inline int64_t rlw_shm_until_of(const shm_entry_t *e)
{
    return t48_get(&e->ban_until);
}

static inline int rlw_shm_banned_at(const shm_entry_t *e, int64_t now)
{
    int64_t until = rlw_shm_until_of(e);

    return until != 0 && now < until; /* as rlw_ban_active() */
}

static inline void rlw_shm_get_ban(const shm_entry_t *e, rlw_ban_state_t *b)
{
    b->start_ms = t48_get(&e->ban_start);
    b->until_ms = t48_get(&e->ban_until);
    b->strikes = e->strikes;
    b->count = e->ban_count;
    b->pair = (uint8_t)((e->flags & SHM_PAIR_MASK) >> SHM_PAIR_SHIFT);
}

static inline void rlw_shm_put_ban(shm_entry_t *e, const rlw_ban_state_t *b)
{
    unsigned pair = b->pair <= RLW_PAIRS_MAX ? b->pair : 0;

    t48_put(&e->ban_start, b->start_ms);
    t48_put(&e->ban_until, b->until_ms);
    e->strikes = rlw_shm_sat16(b->strikes);
    e->ban_count = rlw_shm_sat16(b->count);
    e->flags = (uint8_t)((e->flags & ~SHM_PAIR_MASK) | pair << SHM_PAIR_SHIFT);
}

/* The windows of e beyond the first (st->nmore of them), or NULL. */
static inline rlw_window_t *rlw_shm_more_of(shm_store_t *st,
                                            const shm_entry_t *e)
{
    return st->nmore ? st->more + (size_t)(e - st->entries) * st->nmore : NULL;
}

/* Empties every window of e. */
static inline void rlw_shm_reset_windows(shm_store_t *st, shm_entry_t *e)
{
    rlw_window_t *more = rlw_shm_more_of(st, e);

    rlw_window_reset(&e->win);
    if (more)
        memset(more, 0, st->nmore * sizeof(*more));
}

/* The number of pairs of p this table counts: 1 + the extra windows both
 * have. */
static inline unsigned rlw_shm_npairs(const shm_store_t *st,
                                      const rlw_policy_t *p)
{
    unsigned n = rlw_policy_npairs(p);

    return n - 1 < st->nmore ? n : 1 + st->nmore;
}

static inline void rlw_shm_set_last(shm_entry_t *e, int64_t now)
{
    int64_t s = now / 1000;

    e->last_s = s <= 0 ? 0 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* The horizon word keeps its time above a 16-bit version that every
 * change bumps, so a sweep's compare-and-swap fails whenever any ban
 * started since the sweep read it, even one that did not move the time. */
static inline int64_t rlw_shm_horizon_ms(uint64_t word)
{
    return (int64_t)(word >> 16);
}

static inline shm_entry_t *rlw_shm_set_of(shm_store_t *st, uint64_t set)
{
    return st->entries + set * RLW_SHM_WAYS;
}

/* ---- rlw_shm_table.c: locks, shared tables, the horizon ---------------- */

void rlw_shm_lock_stripe(shm_header_t *h, uint64_t set);
void rlw_shm_unlock_stripe(shm_header_t *h, uint64_t set);

/* The name at index i ("" for none, or a name the table had no room for). */
const char *rlw_shm_name_at(shm_header_t *h, uint8_t i);

/* The index of node (truncated as stored), added when new. Never call it
 * with a stripe lock held (it may take the names lock, and log). */
uint8_t rlw_shm_name_index(shm_header_t *h, const char *node, int64_t now);

/* The slot + 1 of rule id in the header's rule table, added when new; 0
 * for id 0 or when no free slot is near. Lock-free. */
uint16_t rlw_shm_rule_index(shm_header_t *h, uint32_t id);

/* The rule id in slot (slot + 1 as entries hold it), 0 for none. */
uint32_t rlw_shm_rule_at(shm_header_t *h, uint16_t slot);

/* Raises the horizon word (the header's horizon or key_horizon) to until
 * (if later). Call it under the stripe lock of the entry whose ban starts:
 * see rlw_shm_publish_horizon(). */
void rlw_shm_raise_horizon(uint64_t *word, int64_t until);

/* After a whole sweep that read the horizon word seen, with latest the
 * latest end of a ban (of the word's kinds) it found: lowers the horizon
 * to latest unless a ban started meanwhile. */
void rlw_shm_publish_horizon(uint64_t *word, uint64_t seen, int64_t latest);

/* Lowers the earliest unreported ban end to until (if earlier). */
void rlw_shm_lower_next_end(shm_header_t *h, int64_t until);

/* Network bans at any prefix length. The request path looks a client's
 * network up at each length a network ban of its family may run at (an
 * operator may ban a /16 where nodes count /24 networks), and at no other:
 * lens holds one bit per length. A network ban's start sets its bit (under
 * the entry's stripe lock, so before anyone can see the ban); a sweep that
 * walked the whole table puts back the lengths of the bans it found,
 * unless a network ban started since it began (net_gen). */

/* Sets the bit of net's length in lens (a network subject; anything else
 * is ignored). */
void rlw_shm_net_len_bit(uint64_t lens[RLW_SHM_NET_LEN_WORDS],
                         const rlw_addr_t *net);

/* A network ban of net starts: its length's bit is set. */
void rlw_shm_note_net_len(shm_header_t *h, const rlw_addr_t *net);

/* The number of network bans started so far, read before a sweep. */
uint64_t rlw_shm_net_gen(shm_header_t *h);

/* After a whole sweep that began when rlw_shm_net_gen() was gen: the
 * lengths become lens (those of the network bans it found), unless a
 * network ban started since. */
void rlw_shm_publish_net_lens(shm_header_t *h, uint64_t gen,
                              const uint64_t lens[RLW_SHM_NET_LEN_WORDS]);

/* ---- rlw_shm_entry.c: entries, ranking, eviction ----------------------- */

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

/* One locked visit to a client's set: rlw_shm_lock_slot() takes the stripe
 * lock, rlw_shm_unlock_slot() releases it and then logs what happened
 * while it was held (an eviction, a newcomer left untracked): logging
 * never happens under the lock. */
typedef struct shm_slot {
    uint64_t set;
    int evicted;        /* rlw_shm_do_find_or_make() evicted an entry */
    int was_ban;        /* the evicted entry held a running ban */
    int untracked;      /* rlw_shm_do_find_or_make() found no room */
    shm_entry_t victim; /* a copy of the evicted entry */
    rlw_addr_t client;  /* the client looked up */
} shm_slot_t;

/* The entry of client in set, or NULL. */
shm_entry_t *rlw_shm_do_find(shm_store_t *st, uint64_t set,
                             const rlw_addr_t *client);

/* The value of e (an entry of st, or a copy whose other windows are more,
 * NULL for none) under policy p at now (see the V_* ranks). */
void rlw_shm_do_value(shm_store_t *st, const shm_entry_t *e,
                      const rlw_window_t *more, const rlw_policy_t *p,
                      int64_t now, shm_value_t *v);

/* 1 when x is worth less than y. */
int rlw_shm_value_lt(const shm_value_t *x, const shm_value_t *y);

/* The least valuable entry of the set (a free one first), and its value. */
shm_entry_t *rlw_shm_do_pick_victim(shm_store_t *st, uint64_t set,
                                    const rlw_policy_t *p, int64_t now,
                                    shm_value_t *value);

/* The entry of client, made when missing (see rlw_shm_entry.c). */
shm_entry_t *rlw_shm_do_find_or_make(shm_store_t *st, shm_slot_t *slot,
                                     const rlw_addr_t *client,
                                     const rlw_policy_t *p, int64_t keep_until,
                                     int64_t now);

void rlw_shm_lock_slot(shm_store_t *st, const rlw_addr_t *client,
                       shm_slot_t *slot);
void rlw_shm_unlock_slot(shm_store_t *st, const shm_slot_t *slot, int64_t now);

/* Counts the rule ids of hit (may be NULL) in e's top rules. */
void rlw_shm_do_note_rules(shm_store_t *st, shm_entry_t *e,
                           const rlw_hit_t *hit);

/* The entry's rule ids, most hit first, into rules[RLW_TOP_RULES] (and
 * their hits into hits, unless NULL). */
void rlw_shm_do_top_rules(shm_store_t *st, const shm_entry_t *e,
                          uint32_t *rules, uint32_t *hits);

/* What e holds, for callers (count in window_ms at now). */
void rlw_shm_do_fill_info(shm_store_t *st, const shm_entry_t *e, int64_t now,
                          int64_t window_ms, rlw_client_info_t *info);

/* Bookkeeping of a ban that starts in e (its ban fields set), decided by
 * the node at index node. */
void rlw_shm_do_start_ban(shm_store_t *st, shm_entry_t *e, uint8_t node);

/* ---- rlw_store_shm.c: the operations ----------------------------------- */

/* Points st's operations at this build's functions. */
void rlw_shm_set_ops(shm_store_t *st);

#endif

/* rlw_mc_internal.h - what the parts of the memcached store share; not for
 * use outside store/rlw_store_mc.c and store/rlw_mc_*.c.
 *
 * The parts, one concern each:
 *   rlw_store_mc.c     create, child_init, the store operations, health
 *   rlw_mc_conn.c      connections, the pool, failures and recovery
 *   rlw_mc_count.c     bucket counters: counting an attack, lookup
 *   rlw_mc_ban.c       sealed ban records: read, CAS write, decide
 *   rlw_mc_journal.c   the journal: append, the one batched reader, sync
 *   rlw_mc_keyorder.c  the nodes' RateLimitWAFKey NAMEs compared, in sync
 *   rlw_mcrules.c      the rules that need no memcached (unit-tested)
 * Naming: a memcached_st is a connection, conn; the store is st.
 */
#ifndef RLW_MC_INTERNAL_H
#define RLW_MC_INTERNAL_H

#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>

#include "rlw_store_mc.h"
#include "rlw_store_shm.h"
#include "rlw_crypto.h"
#include "rlw_record.h"
#include "rlw_jpos.h"
#include "rlw_keyorder.h"
#include "rlw_mcrules.h"
#include "rlw_window.h"

/* Journal entries per multi-get, and how far back a new node looks on its
 * first sync (to learn bans that are still running); also the most entries
 * one sync round reads, whatever the sequence counter says. */
#define RLW_MC_JOURNAL_BATCH 256
#define RLW_MC_JOURNAL_BACKLOG 4096
/* At most one degradation log line per interval. */
#define RLW_MC_LOG_INTERVAL_MS (60 * 1000)
#define RLW_MC_JOURNAL_GROUP "journal"
/* Longest sealed journal entry. */
#define RLW_MC_SEALED_ENTRY (RLW_JOURNAL_PAIR_LEN + RLW_SEAL_OVERHEAD)

#define RLW_MC_ATOMIC_ADD(p, n) __atomic_add_fetch((p), (n), __ATOMIC_RELAXED)

/* Servers (by position in the list) a timeout can hold back node-wide
 * (rlw_mc_hold()); the ones after these are never held back. */
#define RLW_MC_HOLD_SERVERS 64

/* State shared by the processes of one node (anonymous shared memory). */
typedef struct rlw_mc_shared {
    int64_t degraded_since_ms; /* 0 while the pool answers */
    int64_t degraded_logged_ms;
    int64_t last_failure_ms;    /* latest failed call */
    uint64_t errors;            /* failed memcached calls */
    uint64_t fallbacks;         /* attacks counted locally instead */
    uint64_t cas_retries;       /* lost CAS rounds on ban records */
    uint64_t bad_records;       /* records that failed to open or parse */
    uint64_t journal_seen;      /* jpos.seen, for the status page */
    uint64_t ops;               /* memcached round trips made */
    rlw_jpos_t jpos;            /* where sync() reads the journal next */
    uint64_t journal_taken;     /* highest journal number this node took */
    int64_t behind_logged_ms;   /* last RLW00119 line */
    int64_t jump_logged_ms;     /* last RLW00121 line */
    int64_t skip_logged_ms;     /* last RLW00122 line */
    int64_t keyorder_next_ms;   /* next check of the key order (0: at the
                                 * next sync; each configuration load) */
    int64_t keyorder_logged_ms; /* last RLW00123 line without set-up
                                 * memory, last RLW00124 line */
    int keyorder_differs;       /* 1: the last check found a conflict */
    /* Per server: no call until then, after one timed out (a hung
     * server; rlw_mc_hold()). */
    int64_t hold_until_ms[RLW_MC_HOLD_SERVERS];
} rlw_mc_shared_t;

/* One journal entry as the batched reader found it: kept sealed, and
 * opened only when its turn comes (entries after a missing one are read
 * again next sync round, and must not be reported twice). */
typedef struct rlw_mc_slot {
    int present;                            /* 0: missing */
    size_t len;                             /* of val; 0 when too long */
    unsigned char val[RLW_MC_SEALED_ENTRY]; /* as read */
} rlw_mc_slot_t;

typedef struct rlw_mc_store {
    rlw_store_t base;   /* first */
    rlw_store_t *local; /* ban cache and fallback counter; NULL for an
                         * operator's store (rlw_store_mc_create()) */
    rlw_store_mc_conf_t conf;
    rlw_keys_t keys;
    rlw_mc_shared_t *shared;
    memcached_pool_st *pool; /* this process's connections */
    memcached_st *sync_conn; /* used by sync() only (one caller) */
    rlw_mc_slot_t *slots;    /* sync()'s batch, RLW_MC_JOURNAL_BATCH */
    rlw_keyorder_t keyorder; /* this node's key NAMEs (n = 0: no check) */
} rlw_mc_store_t;

/* --- rlw_mc_conn.c ----------------------------------------------------- */

/* A new connection with the store's settings (text protocol, timeouts),
 * or NULL. */
memcached_st *rlw_mc_connect(rlw_mc_store_t *st);

/* A connection of this process's pool (waiting at most one timeout), or
 * NULL. */
memcached_st *rlw_mc_pop(rlw_mc_store_t *st);

/* Returns *conn to the pool and sets *conn to NULL: a connection given back
 * may be in another thread's hands at once (memcached_pool_release() wakes
 * a worker waiting in memcached_pool_fetch()), so nothing may use it after,
 * not even to describe a failure: note it before. (An operator's ban once
 * noted its failure on the connection it had just given back; harmless
 * only because libmemcached 1.1's memcached_strerror() does not read the
 * connection, while its last error, errno or server, which a failure note
 * could well name, are rewritten by the next thread's call.) */
void rlw_mc_push(rlw_mc_store_t *st, memcached_st **conn);

/* A failed call (what, on conn, with rc): counted, the degradation flagged
 * and logged at most once a minute. conn may be NULL (none taken). Call it
 * while the connection is still held. */
void rlw_mc_note_failure(rlw_mc_store_t *st, const char *what,
                         memcached_st *conn, memcached_return_t rc,
                         int64_t now);

/* A successful call: ends a degradation when no call failed for a retry
 * period. */
void rlw_mc_note_success(rlw_mc_store_t *st, int64_t now);

/* The position in the server list of the server that keys grouped under
 * group go to, or -1. */
int rlw_mc_server_of(memcached_st *conn, const char *group);

/* A hung server (the kernel accepts connections, nothing answers) makes
 * every call wait a whole timeout: libmemcached skips a server for a retry
 * period only after a failed connect, never after a timed-out answer. So
 * a call to server that timed out (rc) holds that server back for a retry
 * period on every connection of the node; the callers fall back at once
 * meanwhile (rlw_mc_held()). Other failures are left to libmemcached. */
void rlw_mc_hold(rlw_mc_store_t *st, int server, memcached_return_t rc,
                 int64_t now);

/* 1 while server is held back (rlw_mc_hold()). */
int rlw_mc_held(const rlw_mc_store_t *st, int server, int64_t now);

/* The outcome of a read: rc, or the call's real error when rc claims a
 * miss (libmemcached 1.1 reports an unreachable server as a miss). */
memcached_return_t rlw_mc_outcome(memcached_st *conn, memcached_return_t rc);

/* Writes "<what> failed at memcached HOST:PORT: <reason>" to err (the
 * server of group on conn; operator access). */
void rlw_mc_admin_error(memcached_st *conn, const char *group,
                        memcached_return_t rc, const char *what, char *err,
                        size_t errlen);

/* --- rlw_mc_count.c ---------------------------------------------------- */

/* Adds one to the counter key in group's server, created at 1 with ttl
 * when missing (rlw_mc_count.c; the journal's sequence counter uses it
 * too). */
memcached_return_t rlw_mc_add_one(rlw_mc_store_t *st, memcached_st *conn,
                                  const char *group, const char *key,
                                  size_t klen, time_t ttl, uint64_t *value,
                                  int *refused);

/* What a multi-get of a client's ban record and bucket counters found. */
typedef struct rlw_mc_read {
    int found;           /* the ban record exists */
    int bad_ban;         /* ... but fails to open or parse */
    uint64_t cas;        /* the record's, so that a write replaces it */
    rlw_ban_state_t ban; /* all zero when absent or bad */
    uint64_t vals[RLW_WINDOW_BUCKETS]; /* vals[i]: bucket head - i */
    /* The windows of the other pairs (RateLimitWAFThreshold pairs), set
     * by the caller before the fetch: nmore of them (0: none read), window
     * w + 1's buckets more_newest[w] and older, down to more_head[w] - 15,
     * into more_vals[w][more_head[w] - index]. */
    unsigned nmore;
    int64_t more_head[RLW_PAIRS_MAX - 1];
    int64_t more_newest[RLW_PAIRS_MAX - 1];
    uint64_t more_vals[RLW_PAIRS_MAX - 1][RLW_WINDOW_BUCKETS];
    uint64_t bad_counters; /* counters that were not counts */
    int nbad;              /* of which the first ones, to repair: */
    int64_t bad_idx[RLW_WINDOW_BUCKETS];  /* their bucket index */
    unsigned bad_win[RLW_WINDOW_BUCKETS]; /* their window */
    uint64_t bad_cas[RLW_WINDOW_BUCKETS]; /* and cas */
} rlw_mc_read_t;

/* Sorts the results of the multi-get just sent on conn into r (zeroed by
 * the caller): the ban record bkey, and the counters of buckets newest
 * (<= head; -1 for none) and older. Silent. Returns MEMCACHED_SUCCESS or
 * the fetch's real error (rlw_mc_outcome()). */
memcached_return_t rlw_mc_fetch_client(const rlw_mc_store_t *st,
                                       memcached_st *conn, const char *bkey,
                                       size_t bklen, int64_t head,
                                       int64_t newest, rlw_mc_read_t *r);

/* The request path counts and logs what a read found bad. */
void rlw_mc_note_bad(rlw_mc_store_t *st, const char *bkey, size_t bklen,
                     const rlw_mc_read_t *r);

/* Counts one attack in every window of p's pairs and reads the client's
 * ban record into r, in 1 + rlw_policy_npairs(p) round trips (one
 * increment per window, then one multi-get of every window's older
 * buckets and the record); counts[i] receives the attacks in pair i's
 * window since the last ban started (0 past the pairs). Returns
 * MEMCACHED_SUCCESS or the failing call's code. */
memcached_return_t rlw_mc_count_attack(rlw_mc_store_t *st, memcached_st *conn,
                                       const char *pseudo, const char *bkey,
                                       size_t bklen, const rlw_policy_t *p,
                                       int64_t now, uint32_t *counts,
                                       rlw_mc_read_t *r);

/* --- rlw_mc_ban.c ------------------------------------------------------ */

/* Opens a sealed ban record read under key into *b: 0, or -1 (then *b is
 * all zero: it reads as "never banned"). */
int rlw_mc_open_ban(const rlw_mc_store_t *st, const char *key, size_t klen,
                    const char *val, size_t vlen, rlw_ban_state_t *b);

/* Reads the client's ban record (found = 0 when absent; a bad one reads as
 * no ban, its cas kept so that the next write replaces it). */
memcached_return_t rlw_mc_read_ban(rlw_mc_store_t *st, memcached_st *conn,
                                   const char *pseudo, const char *key,
                                   size_t klen, rlw_ban_state_t *b,
                                   uint64_t *cas, int *found);

/* Writes b sealed under key for keep_ms: cas when found, else add. */
memcached_return_t rlw_mc_write_ban(rlw_mc_store_t *st, memcached_st *conn,
                                    const char *pseudo, const char *key,
                                    size_t klen, const rlw_ban_state_t *b,
                                    int64_t keep_ms, int found, uint64_t cas);

/* What a change of a client's ban record came to. */
typedef enum rlw_mc_change {
    RLW_MC_CHANGED = 0, /* record written and journaled */
    RLW_MC_UNJOURNALED, /* record written, journal append failed */
    RLW_MC_UNCHANGED,   /* nothing to change (unban: no running ban) */
    RLW_MC_FAILED       /* memcached failed (noted); nothing written */
} rlw_mc_change_t;

/* An operator's change of the client's record, read and written with CAS
 * (re-read after a lost round) and journaled: RLW_JOURNAL_BAN bans for
 * ban_ms from now over whatever the record holds (strikes kept);
 * RLW_JOURNAL_UNBAN ends its running ban now (RLW_MC_UNCHANGED when none
 * runs). *b receives the record as written (or as read). */
rlw_mc_change_t rlw_mc_change_record(rlw_mc_store_t *st, memcached_st *conn,
                                     const rlw_addr_t *client,
                                     const char *pseudo,
                                     rlw_journal_action_t action,
                                     int64_t ban_ms, int64_t now,
                                     rlw_ban_state_t *b);

/* After a count at or above the threshold of some pair (counts: each
 * pair's, rlw_decide_pairs()): decides on the record r (read
 * with the count) and writes a ban with CAS, re-reading after a lost
 * round; the winner learns it locally and journals it. Fills out. Returns
 * MEMCACHED_SUCCESS or the failing call's code (out then holds what was
 * decided last; the caller falls back). */
memcached_return_t rlw_mc_decide(rlw_mc_store_t *st, memcached_st *conn,
                                 const rlw_addr_t *client, const char *pseudo,
                                 const char *key, size_t klen,
                                 const rlw_mc_read_t *r, rlw_class_t cls,
                                 const rlw_policy_t *p, const uint32_t *counts,
                                 int64_t now, rlw_attack_t *out);

/* --- rlw_mc_journal.c -------------------------------------------------- */

/* Appends what happened to client (b as written to its record) to the
 * journal: 0, or -1 when no entry was written (noted or logged): other
 * nodes will not learn it from the journal. */
int rlw_mc_journal_append(rlw_mc_store_t *st, memcached_st *conn,
                          rlw_journal_action_t action, const rlw_addr_t *client,
                          const rlw_ban_state_t *b, int64_t now);

/* Learns what other nodes decided (the store's sync operation). */
apr_status_t rlw_mc_sync(rlw_store_t *base, int64_t now);

/* --- rlw_mc_keyorder.c ------------------------------------------------- */

/* How often a node compares its RateLimitWAFKey NAMEs with the others',
 * and how long a published list lives unless refreshed (seconds). */
#define RLW_MC_KEYORDER_EVERY_MS 5000
#define RLW_MC_KEYORDER_TTL 30

/* Sets this node's list from the store's configuration (no check when it
 * names no key, or the list is not valid). */
void rlw_mc_keyorder_conf(rlw_mc_store_t *st);

/* When due (every RLW_MC_KEYORDER_EVERY_MS), publishes this node's list
 * and compares it with the others' on conn (sync()'s connection): at most
 * one multi-get and one write, each bounded by the timeout. A
 * disagreement is declared as the set-up problem key_order and logged
 * (RLW00123) at most every 10 minutes; agreement ends it. */
void rlw_mc_keyorder_check(rlw_mc_store_t *st, memcached_st *conn, int64_t now);

#endif

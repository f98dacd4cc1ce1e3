/* rlw_store.h - the one interface every counter store implements.
 *
 * httpd-free (APR only). A store keeps, per client, the attack count in the
 * sliding window and the ban state, and answers "is this client banned?".
 * Backends: "shm" (rlw_store_shm.c, one server, the default) and, through
 * the same table, any cluster backend added later. To add a backend, write
 * its constructor and add one line to rlw_store_backends[] (rlw_store.c).
 *
 * Contract shared by all backends:
 * - banned() never does network I/O and never blocks for long: it runs on
 *   every request, clean ones included.
 * - attack() counts exactly one attack, decides through rlw_decide(), and
 *   reports the verdict so that the caller logs a ban exactly once.
 * - Errors are APR status codes; a backend never aborts the process.
 */
#ifndef RLW_STORE_H
#define RLW_STORE_H

#include <apr_pools.h>
#include <apr_errno.h>

#include "rlw_addr.h"
#include "rlw_decision.h"

typedef struct rlw_store rlw_store_t;

/* What attack() reports. */
typedef struct rlw_attack {
    rlw_verdict_t verdict;   /* what happened because of this attack */
    uint32_t count;          /* attacks in the window after this one (the
                              * count that triggered the ban on a ban) */
    rlw_ban_state_t ban;     /* the client's ban state after the attack */
    int evicted;             /* 1 when making room evicted another client */
} rlw_attack_t;

/* Counters a store keeps for status pages and logs (monotonic). */
typedef struct rlw_store_stats {
    uint64_t tracked;        /* clients currently held */
    uint64_t capacity;       /* clients that fit */
    uint64_t evictions;      /* clients evicted to make room */
    uint64_t evicted_bans;   /* of which were running bans */
} rlw_store_stats_t;

struct rlw_store {
    const char *name; /* "shm", ... */

    /* In each child after fork: reattach what needs it. */
    apr_status_t (*child_init)(rlw_store_t *st, apr_pool_t *pchild);

    /* 1 when client is banned at now_ms (and *until_ms is its end), else 0.
     * Never network I/O. */
    int (*banned)(rlw_store_t *st, const rlw_addr_t *client, int64_t now_ms,
                  int64_t *until_ms);

    /* Counts one attack by client at now_ms under policy p and class cls. */
    apr_status_t (*attack)(rlw_store_t *st, const rlw_addr_t *client,
                           rlw_class_t cls, const rlw_policy_t *p,
                           int64_t now_ms, rlw_attack_t *out);

    /* Ends client's ban now (strikes kept). APR_NOTFOUND if not banned. */
    apr_status_t (*unban)(rlw_store_t *st, const rlw_addr_t *client,
                          int64_t now_ms);

    /* Fills stats. */
    void (*stats)(rlw_store_t *st, rlw_store_stats_t *out);

    /* Learns what other nodes decided (cluster stores; NULL for shm). Runs
     * in one background task per node, every RateLimitWAFSyncInterval. */
    apr_status_t (*sync)(rlw_store_t *st, int64_t now_ms);
};

/* Creates the shared-memory store for capacity clients in pool (which must
 * outlive every child: the module passes the process pool so that bans
 * survive a graceful restart). Returns NULL on success, or an error string
 * allocated from pool. */
const char *rlw_store_shm_create(apr_pool_t *pool, apr_size_t capacity,
                                 rlw_store_t **out);

/* Records a ban decided elsewhere (another node, a journal entry, an
 * operator) in the shm store local: b replaces the client's ban state;
 * a running ban also restarts its count. window_ms is used only to rank
 * entries if one must be evicted. */
void rlw_store_shm_learn(rlw_store_t *local, const rlw_addr_t *client,
                         const rlw_ban_state_t *b, int64_t window_ms,
                         int64_t now);

/* Settings of the memcached store (RateLimitWAF* directives). */
typedef struct rlw_store_mc_conf {
    const char *config;   /* libmemcached configuration string */
    const char *prefix;   /* key prefix, so farms can share a pool */
    const char *node;     /* this node's name in journal entries */
    int64_t timeout_ms;   /* connect and I/O timeout per call */
    int64_t window_ms;    /* RateLimitWAFWindow (ranks local evictions) */
    int retry_secs;       /* a failed server is skipped this long */
    int pool_size;        /* connections per process (its threads) */
} rlw_store_mc_conf_t;

/* Health counters of the memcached store, shared by a node's processes. */
typedef struct rlw_store_mc_counters {
    int64_t degraded_since_ms; /* 0 while memcached answers */
    uint64_t errors, fallbacks, cas_retries, bad_records, journal_seen, ops;
} rlw_store_mc_counters_t;

struct rlw_keys;

/* Checks a libmemcached configuration string. NULL or an error string. */
const char *rlw_store_mc_check_config(apr_pool_t *p, const char *config);

/* Creates the memcached store on top of local (a shm store, which becomes
 * this node's ban cache and the fallback counter). pool as for shm.
 * Returns NULL or an error string. */
const char *rlw_store_mc_create(apr_pool_t *pool, rlw_store_t *local,
                                const rlw_store_mc_conf_t *conf,
                                const struct rlw_keys *keys,
                                rlw_store_t **out);

void rlw_store_mc_counters(rlw_store_t *st, rlw_store_mc_counters_t *out);

/* Current wall-clock time in milliseconds since the epoch. */
int64_t rlw_now_ms(void);

#endif

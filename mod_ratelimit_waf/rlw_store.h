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
};

/* Creates the shared-memory store for capacity clients in pool (which must
 * outlive every child: the module passes the process pool so that bans
 * survive a graceful restart). Returns NULL on success, or an error string
 * allocated from pool. */
const char *rlw_store_shm_create(apr_pool_t *pool, apr_size_t capacity,
                                 rlw_store_t **out);

/* Current wall-clock time in milliseconds since the epoch. */
int64_t rlw_now_ms(void);

#endif

/* rlw_store.h - the one interface every counter store implements.
 *
 * httpd-free (APR only). A store keeps, per client, the attack count in the
 * sliding window and the ban state, and answers "is this client banned?".
 * Backends: "shm" (rlw_store_shm.c, one server, the default) and
 * "memcached" (rlw_store_mc.c, a cluster of nodes). Adding one is its own
 * file, which defines an rlw_store_backend_t, plus one entry in
 * rlw_store_backends[] (rlw_store_registry.c): RateLimitWAFStore, httpd -t
 * and post_config find it there (docs/architecture.md).
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
#include "rlw_time.h" /* rlw_now_ms(), the now_ms callers pass */
#include "rlw_defaults.h"

typedef struct rlw_store rlw_store_t;

/* Rule ids remembered per client (most frequent, for SIEM events). */
#define RLW_TOP_RULES 4
/* Node names kept with a ban (truncated), NUL included. */
#define RLW_STORE_NODE_LEN RLW_NODE_NAME_LEN

/* What one attack request matched (CRS rule ids), optional. */
typedef struct rlw_hit {
    const uint32_t *rules; /* rule ids, may repeat */
    int nrules;
} rlw_hit_t;

/* What a store knows of one client (status pages, CLI, events). */
typedef struct rlw_client_info {
    rlw_addr_t client;
    uint32_t count;                /* attacks in the window now */
    rlw_ban_state_t ban;           /* running or last ban */
    int64_t last_ms;               /* last attack or ban */
    char node[RLW_STORE_NODE_LEN]; /* node that decided the ban, or "" */
    uint32_t rules[RLW_TOP_RULES]; /* most frequent rule ids, 0 = none */
    uint32_t rule_hits[RLW_TOP_RULES];
} rlw_client_info_t;

/* Called for each client by visit() and expired(); return non-zero to
 * stop. Runs with no store lock held (the store hands over a copy), so it
 * may log, write events, or call back into the store. */
typedef int rlw_visit_fn(void *baton, const rlw_client_info_t *info);

/* What attack() reports. */
typedef struct rlw_attack {
    rlw_verdict_t verdict;          /* what happened because of this attack */
    uint32_t count;                 /* attacks in the window after this one (the
                                     * count that triggered the ban on a ban:
                                     * in the window of verdict.pair) */
    uint32_t counts[RLW_PAIRS_MAX]; /* each pair's window count after this
                                     * one (0 past the policy's pairs) */
    rlw_ban_state_t ban;           /* the client's ban state after the attack */
    uint32_t rules[RLW_TOP_RULES]; /* the client's most frequent rule ids,
                                    * most frequent first, 0 = none */
} rlw_attack_t;

/* Words of a mask of prefix lengths, 0 to 128 (net_lengths()). */
#define RLW_NET_LEN_WORDS 3

/* One subject an attack counts for (rlw_subject.h), under its own class
 * and policy: the client, its network, ... */
typedef struct rlw_count {
    const rlw_addr_t *subject;
    rlw_class_t cls;
    const rlw_policy_t *policy;
} rlw_count_t;

/* At most this many subjects per attack: the client, its network and up
 * to four request keys (RateLimitWAFKey). */
#define RLW_COUNT_MAX_SUBJECTS 6

/* Counters a store keeps for status pages and logs (monotonic). */
typedef struct rlw_store_stats {
    uint64_t tracked;      /* clients currently held */
    uint64_t capacity;     /* clients that fit */
    uint64_t evictions;    /* clients evicted to make room */
    uint64_t evicted_bans; /* of which were running bans */
    uint64_t untracked;    /* newcomers not tracked: every entry they
                            * could take held a running ban */
} rlw_store_stats_t;

/* What a backend's health() reports beyond stats(): the state of what it
 * depends on (a cluster store's servers). Strings are allocated from the
 * pool given to health(); NULL when not known. */
typedef struct rlw_store_health {
    int shared;                /* 1: counts are shared with other nodes */
    int64_t degraded_since_ms; /* 0 while the backend answers */
    const char *servers;       /* "host:port, ..." or NULL */
    uint64_t errors;           /* failed calls */
    uint64_t fallbacks;        /* attacks counted locally instead */
    uint64_t cas_retries;      /* compare-and-swap rounds lost */
    uint64_t bad_records;      /* values that failed to open or parse */
    uint64_t journal_seen;     /* entries learnt from other nodes */
    uint64_t ops;              /* calls made */
} rlw_store_health_t;

struct rlw_store {
    const char *name; /* "shm", ... */

    /* In each child after fork: reattach what needs it. */
    apr_status_t (*child_init)(rlw_store_t *st, apr_pool_t *pchild);

    /* 1 when client is banned at now_ms (and *until_ms is its end), else 0.
     * Never network I/O. */
    int (*banned)(rlw_store_t *st, const rlw_addr_t *client, int64_t now_ms,
                  int64_t *until_ms);

    /* Optional (NULL: always 1): 0 when no subject of kind (RLW_KIND_*)
     * can be banned at now_ms, so that a caller may skip working out such
     * subjects (a request's keys) just to ask banned(); 1 when one may be.
     * Every ban the store records, however learnt (attack(), ban(), another
     * node's, a restart's), makes it 1 until the ban ends. Lock-free, never
     * network I/O. */
    int (*may_ban)(rlw_store_t *st, unsigned kind, int64_t now_ms);

    /* Optional (NULL: none): the prefix lengths at which a network ban
     * (RLW_KIND_NET) of family (RLW_AF_INET, RLW_AF_INET6) may run, so
     * that a caller looks a client's network up at those lengths only: bit
     * n % 64 of lens[n / 64] for prefix n. Every network ban the store
     * records, however learnt, sets its length until a sweep (expired())
     * finds no ban of that length running. Lock-free, never network I/O. */
    void (*net_lengths)(rlw_store_t *st, unsigned family,
                        uint64_t lens[RLW_NET_LEN_WORDS]);

    /* Counts one attack by client at now_ms under policy p and class cls;
     * hit (may be NULL) says which rules it matched. A client the table
     * has no room for (shm: its set holds 8 running bans) is not counted:
     * APR_SUCCESS, verdict NONE, count 0, and stats() untracked + 1. */
    apr_status_t (*attack)(rlw_store_t *st, const rlw_addr_t *client,
                           rlw_class_t cls, const rlw_policy_t *p,
                           const rlw_hit_t *hit, int64_t now_ms,
                           rlw_attack_t *out);

    /* Optional (NULL: attack() for each in turn, see rlw_store_count()):
     * counts one attack for each of the n subjects of what (1 to
     * RLW_COUNT_MAX_SUBJECTS), as attack() would for each, filling out[i]
     * and rv[i]; a backend that goes to the network counts them at once
     * (one round of requests for all, each subject's on its own server),
     * not one after the other. */
    void (*attack_many)(rlw_store_t *st, int n, const rlw_count_t *what,
                        const rlw_hit_t *hit, int64_t now_ms, rlw_attack_t *out,
                        apr_status_t *rv);

    /* Fills *out with what this node knows of client (count in the
     * store's window at now_ms). APR_NOTFOUND when it holds nothing. Never
     * network I/O. */
    apr_status_t (*get)(rlw_store_t *st, const rlw_addr_t *client,
                        int64_t now_ms, rlw_client_info_t *out);

    /* Ends client's ban now (strikes kept). APR_NOTFOUND if not banned;
     * APR_INCOMPLETE when it ended here but other nodes could not be told
     * (a cluster store's journal append failed). */
    apr_status_t (*unban)(rlw_store_t *st, const rlw_addr_t *client,
                          int64_t now_ms);

    /* Bans client for ban_ms from now (an operator's decision: strikes are
     * not raised). *out receives the ban. shm: takes a place in a full
     * table whatever it holds (APR_ENOSPC only when 8 bans that never end
     * fill the client's set). APR_INCOMPLETE as for unban(). */
    apr_status_t (*ban)(rlw_store_t *st, const rlw_addr_t *client,
                        int64_t ban_ms, int64_t now_ms, rlw_ban_state_t *out);

    /* Calls fn for every client this node holds (window_ms for counts). */
    void (*visit)(rlw_store_t *st, int64_t now_ms, int64_t window_ms,
                  rlw_visit_fn *fn, void *baton);

    /* Calls fn once for each ban that this node decided and that has ended
     * by itself since the last call (never for an unban()). */
    void (*expired)(rlw_store_t *st, int64_t now_ms, int64_t window_ms,
                    rlw_visit_fn *fn, void *baton);

    /* Fills stats. */
    void (*stats)(rlw_store_t *st, rlw_store_stats_t *out);

    /* Optional (NULL: nothing beyond stats()): fills out, strings from p. */
    void (*health)(rlw_store_t *st, apr_pool_t *p, rlw_store_health_t *out);

    /* Learns what other nodes decided (cluster stores; NULL for shm). Runs
     * in one background task per node, every RateLimitWAFSyncInterval. */
    apr_status_t (*sync)(rlw_store_t *st, int64_t now_ms);
};

struct rlw_keys;
struct rlw_setup;

/* What every backend's create() and check() get: the main server's
 * settings. A backend uses what it needs and ignores the rest. */
typedef struct rlw_store_params {
    const char *config;          /* RateLimitWAFStore NAME "CONFIG", or NULL */
    apr_size_t capacity;         /* RateLimitWAFTableSize: clients held here */
    rlw_policy_t policy;         /* the store's own policy: the lowest
                                  * threshold and the longest times of every
                                  * server (windows, ban times, how long a ban
                                  * record is kept, eviction ranking) */
    const char *node;            /* RateLimitWAFNodeName ("" for none) */
    const char *prefix;          /* RateLimitWAFKeyPrefix */
    const struct rlw_keys *keys; /* from RateLimitWAFSecretFile, or NULL */
    int64_t timeout_ms;          /* RateLimitWAFMemcachedTimeout */
    int64_t retry_ms;            /* RateLimitWAFMemcachedRetry */
    int pool_size;               /* connections per process (its threads) */
    /* The RateLimitWAFKey NAMEs in the order that makes their subjects'
     * prefixes (rlw_subject.h), when some key is counted; NULL and 0 when
     * none. A store shared by several nodes checks that they agree. */
    const char *const *key_names;
    unsigned nkey_names;
    struct rlw_setup *setup; /* where a store declares the set-up problems
                              * it finds (rlw_setup.h), or NULL */
} rlw_store_params_t;

/* One entry of the backend registry (rlw_store_registry.c): adding a
 * backend is its file plus one entry there. */
typedef struct rlw_store_backend {
    const char *name; /* RateLimitWAFStore NAME */
    int needs_config; /* 1: NAME "CONFIG" required; 0: refused */
    /* What CONFIG is, for the error when it is missing ("a libmemcached
     * configuration string, e.g. ..."). */
    const char *config_help;
    /* Checks params->config at configuration time (NULL: nothing to
     * check). Returns NULL or an error sentence from p. */
    const char *(*check)(apr_pool_t *p, const char *config);
    /* Creates the store in pool (which outlives every child: bans survive a
     * graceful restart). Returns NULL or an error sentence from pool. */
    const char *(*create)(apr_pool_t *pool, const rlw_store_params_t *params,
                          rlw_store_t **out);
} rlw_store_backend_t;

/* Counts one attack for each of the n subjects of what (1 to
 * RLW_COUNT_MAX_SUBJECTS): st's attack_many(), or attack() for each in
 * turn. out[i] and rv[i] as attack() gives them for what[i]. */
void rlw_store_count(rlw_store_t *st, int n, const rlw_count_t *what,
                     const rlw_hit_t *hit, int64_t now_ms, rlw_attack_t *out,
                     apr_status_t *rv);

/* The backend named name, or NULL. */
const rlw_store_backend_t *rlw_store_backend_find(const char *name);

/* The registered backends, NULL-terminated (for messages and docs). */
extern const rlw_store_backend_t *const rlw_store_backends[];

/* 1 when s is 1 to max characters of printable ASCII, 0x21 to 0x7e (and
 * the space, 0x20, when space_ok), else 0. A key prefix must be (without
 * spaces: the memcached text protocol splits on them), and so must a node
 * name (spaces allowed, at most RLW_STORE_NODE_LEN - 1). */
int rlw_store_printable(const char *s, size_t max, int space_ok);

#endif

/* rlw_store_mc.h - the memcached cluster store (rlw_store_mc.c and its
 * rlw_mc_*.c parts): what only this backend offers beyond rlw_store.h.
 *
 * httpd-free (APR, libmemcached, OpenSSL). The module reaches it through
 * the registry entry rlw_store_backend_memcached (rlw_store_registry.c);
 * rlwafctl and bench/nodesim create it directly with rlw_store_mc_create().
 * Design: docs/cluster.md.
 */
#ifndef RLW_STORE_MC_H
#define RLW_STORE_MC_H

#include "rlw_store.h"

struct rlw_keys;
struct rlw_journal;
struct rlw_setup;

/* Longest key prefix (RateLimitWAFKeyPrefix, rlwafctl --prefix). */
#define RLW_MC_PREFIX_MAX RLW_MAX_KEY_PREFIX_LEN

/* Settings of the memcached store (RateLimitWAF* directives). */
typedef struct rlw_store_mc_conf {
    const char *config;  /* libmemcached configuration string */
    const char *prefix;  /* key prefix, so farms can share a pool */
    const char *node;    /* this node's name in journal entries */
    int64_t timeout_ms;  /* connect and I/O timeout per call */
    rlw_policy_t policy; /* the store's own policy: window_ms ranks local
                          * evictions of learnt bans; window_ms and
                          * strike_decay_ms say how long a ban record an
                          * operator's ban() writes is kept (as long as
                          * any other, see rlw_mc_record_keep()) */
    int retry_secs;      /* a failed server is skipped this long */
    int pool_size;       /* connections per process (its threads) */
    /* The RateLimitWAFKey NAMEs in subject order, when some key is
     * counted (NULL, 0: none, and the node takes no part in the check of
     * the key order, rlw_mc_keyorder.c); the set-up problems' memory where
     * a disagreement is declared (NULL: logged only). */
    const char *const *key_names;
    unsigned nkey_names;
    struct rlw_setup *setup;
} rlw_store_mc_conf_t;

/* Health counters of the memcached store, shared by a node's processes
 * (also what health() reports). */
typedef struct rlw_store_mc_counters {
    int64_t degraded_since_ms; /* 0 while memcached answers */
    uint64_t errors, fallbacks, cas_retries, bad_records, journal_seen, ops;
} rlw_store_mc_counters_t;

/* Checks a libmemcached configuration string. NULL or an error string. */
const char *rlw_store_mc_check_config(apr_pool_t *p, const char *config);

/* Creates the memcached store. pool as for the shm store (it must outlive
 * every child). Returns NULL or an error string.
 *
 * local is this node's table (a shm store): its ban cache, where banned()
 * looks and sync() copies the journal, and the fallback counter when
 * memcached fails.
 *
 * local NULL makes an operator's store (rlwafctl): no table, so nothing is
 * held locally and nothing falls back. banned() answers 0, get() and
 * visit() find nothing, attack() and sync() answer APR_ENOTIMPL; ban() and
 * unban() change memcached only and report its failures (APR_EGENERAL:
 * not done; APR_INCOMPLETE: the record is changed but the journal entry
 * that tells the nodes could not be written). */
const char *rlw_store_mc_create(apr_pool_t *pool, rlw_store_t *local,
                                const rlw_store_mc_conf_t *conf,
                                const struct rlw_keys *keys, rlw_store_t **out);

/* The store's counters (a store made by rlw_store_mc_create()). */
void rlw_store_mc_counters(rlw_store_t *st, rlw_store_mc_counters_t *out);

/* Operator access (rlwafctl): read-only, straight from memcached, never
 * falling back to shm. Both need child_init() to have run, return
 * APR_SUCCESS, or another status with err (errlen > 0 bytes) set to a
 * sentence naming the failing server, and never log. */

/* What rlw_store_mc_lookup() found for one client. */
typedef struct rlw_store_mc_lookup {
    int found;           /* 1 when a ban record exists */
    int bad_record;      /* 1 when it exists but fails to open or parse */
    rlw_ban_state_t ban; /* the record (all zero when absent or bad) */
    uint32_t count;      /* attacks in the first window at now */
    uint32_t counts[RLW_PAIRS_MAX]; /* in each window (counts[0] = count) */
} rlw_store_mc_lookup_t;

/* Reads client's sealed ban record and its bucket counters (one multi-get,
 * the keys attack() uses) in nwin windows (1 to RLW_PAIRS_MAX), of
 * windows_ms[0..nwin-1] ms: a RateLimitWAFThreshold's pairs in order. */
apr_status_t rlw_store_mc_lookup(rlw_store_t *st, const rlw_addr_t *client,
                                 const int64_t *windows_ms, unsigned nwin,
                                 int64_t now, rlw_store_mc_lookup_t *out,
                                 char *err, size_t errlen);

/* Called in sequence order for each journal entry that opens and parses;
 * return non-zero to stop. */
typedef int rlw_store_mc_journal_fn(void *baton, uint64_t seq,
                                    const struct rlw_journal *j);

/* Reads the last backlog journal entries (0: all up to the sequence
 * number; expired ones are simply missing), in sequence order, through
 * the same batched reader as sync() (rlw_mc_journal.c). *seq_out receives
 * the newest sequence number (0: empty journal), *bad_out (may be NULL)
 * the entries that failed to open or parse (another secret, tampering). */
apr_status_t rlw_store_mc_journal(rlw_store_t *st, uint64_t backlog,
                                  rlw_store_mc_journal_fn *fn, void *baton,
                                  uint64_t *seq_out, uint64_t *bad_out,
                                  char *err, size_t errlen);

/* Closes this process's memcached connections (child_init opens them
 * again). For a process that is about to exit cleanly, e.g. rlwafctl. */
void rlw_store_mc_close(rlw_store_t *st);

#endif

/* rlw_store_mc.c - the cluster store: exact counts and bans shared by every
 * WAF node through a memcached pool.
 *
 * httpd-free (APR, libmemcached, OpenSSL). Design (docs/cluster.md):
 *
 * - Counting. A client's attacks go to RLW_WINDOW_BUCKETS sub-bucket
 *   counters "<prefix>c<index>:<pseudonym>", all kept on the one server the
 *   pseudonym hashes to (libmemcached *_by_key calls), next to its ban
 *   record. One attack is one atomic increment (text "incr"; when the
 *   counter is missing, an "add" of 1, see rlw_mcctr.h) and one multi-get
 *   of the older buckets and the ban record: the count an attack sees
 *   includes every increment that preceded its own, so with T-1 attacks
 *   nobody sees T, and the T-th attack sees at least T. A ban starts a new
 *   count: buckets up to the one holding the ban's start are left out.
 *   Round trips per attack: 2, and 3 for the attack that creates a bucket
 *   (the first of each client in each bucket).
 * - Deciding. Whoever sees count >= threshold runs rlw_decide() on the ban
 *   record it just read ("<prefix>b:<pseudonym>", sealed) and writes it
 *   back with cas (or add when missing). One writer wins; the others
 *   re-read, find the ban running, and do nothing. The winner alone logs
 *   the ban, raises the strike count and appends the ban to the journal
 *   (3 more round trips, once per ban: cas/add, journal sequence, entry).
 * - Propagating. The journal is a counter "<prefix>j:seq" and sealed entries
 *   "<prefix>j:<n>", all on the server of the group key "journal". Each node
 *   polls it (rlw_store_t.sync, every RateLimitWAFSyncInterval) and copies
 *   bans into its own shared memory, where clean requests look them up
 *   without any network round trip.
 * - Privacy. Keys carry only HMAC pseudonyms; what is read back is sealed
 *   with AES-256-GCM, the key as associated data (rlw_crypto.h).
 * - Faults. Short timeouts bound every call. When memcached fails, the
 *   attack is counted in the node's shared memory instead (the shm store
 *   also holds the node's ban cache), the degradation is logged once per
 *   interval, and the next successful call returns to the pool by itself.
 *
 * Per process: one memcached_pool_st (connections for the threads of one
 * child), created in child_init, and one connection for sync().
 */
#include <string.h>
#include <time.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>

#include <apr_strings.h>
#include <apr_shm.h>
#include <apr_thread_mutex.h>

#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/pool.h>

#include "rlw_store.h"
#include "rlw_store_shm.h"
#include "rlw_window.h"
#include "rlw_crypto.h"
#include "rlw_record.h"
#include "rlw_mcparse.h"
#include "rlw_mcctr.h"
#include "rlw_jpos.h"
#include "rlw_log.h"

/* Longest key we build: prefix (<= RLW_MC_PREFIX_MAX) + "c" + index + ":" +
 * pseudonym. memcached allows 250. */
#define RLW_MC_KEY_MAX 160
/* CAS rounds before giving up on a ban record (each loser re-reads). */
#define RLW_MC_CAS_TRIES 8
/* Journal entries per multi-get, and how far back a new node looks on its
 * first sync (to learn bans that are still running); also the most entries
 * one sync round reads, whatever the sequence counter says. */
#define RLW_MC_JOURNAL_BATCH 256
#define RLW_MC_JOURNAL_BACKLOG 4096
/* How long a sync waits for a journal entry whose number was taken but
 * which is not written yet (at least; 4 memcached timeouts when longer):
 * an entry still missing after that is skipped (rlw_jpos.h). */
#define RLW_MC_JOURNAL_WAIT_MS 1000
/* Largest journal sequence taken for a count: no farm journals 2^63 bans,
 * and a counter near 2^64 would wrap to 0 at the next increment (memcached
 * wraps), which nodes would take for a restart. Above it: garbage. */
#define RLW_MC_JOURNAL_SEQ_MAX ((uint64_t)INT64_MAX)
/* memcached treats expirations over 30 days as absolute times. */
#define RLW_MC_TTL_MAX (30 * 24 * 3600)
/* At most one degradation log line per interval. */
#define RLW_MC_LOG_INTERVAL_MS (60 * 1000)
#define RLW_MC_JOURNAL_GROUP "journal"

/* State shared by the processes of one node (anonymous shared memory). */
typedef struct mc_shared {
    int64_t degraded_since_ms; /* 0 while the pool answers */
    int64_t degraded_logged_ms;
    int64_t last_failure_ms;  /* latest failed call */
    uint64_t errors;          /* failed memcached calls */
    uint64_t fallbacks;       /* attacks counted locally instead */
    uint64_t cas_retries;     /* lost CAS rounds on ban records */
    uint64_t bad_records;     /* records that failed to open or parse */
    uint64_t journal_seen;    /* jpos.seen, for the status page */
    uint64_t ops;             /* memcached round trips made */
    rlw_jpos_t jpos;          /* where sync() reads the journal next */
    uint64_t journal_taken;   /* highest journal number this node took */
    int64_t behind_logged_ms; /* last RLW00119 line */
    int64_t jump_logged_ms;   /* last RLW00121 line */
    int64_t skip_logged_ms;   /* last RLW00122 line */
} mc_shared_t;

/* Longest sealed journal entry. */
#define RLW_MC_SEALED_ENTRY (RLW_JOURNAL_LEN + RLW_SEAL_OVERHEAD)

/* One journal entry as a sync round read it: kept sealed, and opened only
 * when its turn comes (entries after a missing one are read again next
 * round, and must not be reported twice). */
typedef struct sync_slot {
    int present;                            /* 0: missing */
    size_t len;                             /* of val; 0 when too long */
    unsigned char val[RLW_MC_SEALED_ENTRY]; /* as read */
} sync_slot_t;

typedef struct mc_store {
    rlw_store_t base;   /* first */
    rlw_store_t *local; /* ban cache and fallback counter */
    rlw_store_mc_conf_t conf;
    rlw_keys_t keys;
    mc_shared_t *shared;
    memcached_pool_st *pool; /* this process's connections */
    memcached_st *sync_mc;   /* used by sync() only (one caller) */
    sync_slot_t *slots;      /* sync()'s batch, RLW_MC_JOURNAL_BATCH */
} mc_store_t;

#define ATOMIC_ADD(p, n) __atomic_add_fetch((p), (n), __ATOMIC_RELAXED)

/* The highest journal number this node knows to be taken: the entries it
 * read, the numbers it took itself. What a repaired sequence counter is
 * set to, so that the numbers taken next are ones nobody has used. */
static uint64_t journal_floor(const mc_shared_t *sh)
{
    uint64_t seen = __atomic_load_n(&sh->journal_seen, __ATOMIC_RELAXED);
    uint64_t taken = __atomic_load_n(&sh->journal_taken, __ATOMIC_RELAXED);

    return seen > taken ? seen : taken;
}

const char *rlw_store_mc_check_config(apr_pool_t *p, const char *config)
{
    char err[512];

    if (libmemcached_check_configuration(config, strlen(config), err,
                                         sizeof(err)) != MEMCACHED_SUCCESS)
        return apr_pstrdup(p, err[0] ? err : "invalid configuration");
    return NULL;
}

int rlw_store_printable(const char *s, size_t max, int space_ok)
{
    size_t n = 0;

    for (; *s; s++, n++) {
        if (*s < (space_ok ? ' ' : '!') || *s > '~')
            return 0;
    }
    return n >= 1 && n <= max;
}

static int64_t ttl_secs(int64_t ms)
{
    int64_t s = (ms + 999) / 1000 + 1;

    return s > RLW_MC_TTL_MAX ? RLW_MC_TTL_MAX : s;
}

static memcached_st *new_connection(mc_store_t *st)
{
    memcached_st *mc = memcached(st->conf.config, strlen(st->conf.config));
    uint64_t to = (uint64_t)st->conf.timeout_ms;

    if (!mc)
        return NULL;
    /* The text protocol (libmemcached's default), never the binary one:
     * libmemcached 1.1 turns a binary out-of-memory reply to an increment
     * into an assertion failure, abort() of the whole httpd child
     * (rlw_mcctr.h); in text it is an error like any other. CAS works in
     * text too (gets/cas). Keys are printable without spaces (prefix
     * checked by rlw_store_printable(), pseudonyms base64url) and far
     * below 250 bytes (RLW_MC_KEY_MAX). Every call must give up quickly:
     * a stuck memcached must never stall a worker. */
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, to);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, to);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, to * 1000);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT, to * 1000);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    /* After 2 failures a server is skipped for RETRY_TIMEOUT seconds, so a
     * dead server costs one timeout per connection per retry period, not
     * one per request. */
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 2);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT,
                           (uint64_t)st->conf.retry_secs);
    return mc;
}

/* --- degradation bookkeeping ------------------------------------------- */

static void note_failure(mc_store_t *st, const char *what, memcached_st *mc,
                         memcached_return_t rc, int64_t now)
{
    mc_shared_t *sh = st->shared;
    int64_t zero = 0;

    ATOMIC_ADD(&sh->errors, 1);
    __atomic_store_n(&sh->last_failure_ms, now, __ATOMIC_RELAXED);
    if (__atomic_compare_exchange_n(&sh->degraded_since_ms, &zero, now, 0,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        /* Once per episode and node: the process that flipped the flag. */
        char detail[256];

        snprintf(detail, sizeof(detail), "%s failed: %s", what,
                 mc ? memcached_strerror(mc, rc) : "no connection");
        rlw_notice(RLW_NOTICE_STORE_DEGRADED, detail);
    }
    if (!rlw_log_due(&sh->degraded_logged_ms, now, RLW_MC_LOG_INTERVAL_MS))
        return;
    rlw_log(RLW_LOG_ERR,
            "RLW00110: memcached store degraded: %s failed: %s; attacks are "
            "counted in this node's shared memory until the pool answers "
            "(%lu errors so far, logged at most once a minute)",
            what, mc ? memcached_strerror(mc, rc) : "no connection",
            (unsigned long)__atomic_load_n(&sh->errors, __ATOMIC_RELAXED));
}

static void note_success(mc_store_t *st, int64_t now)
{
    mc_shared_t *sh = st->shared;
    int64_t since = __atomic_load_n(&sh->degraded_since_ms, __ATOMIC_RELAXED);
    int64_t quiet = (int64_t)st->conf.retry_secs * 1000;

    /* One server down while the others answer is one episode, not a flip
     * per call: recovered means no failure for a retry period. */
    if (quiet < 1000)
        quiet = 1000;
    if (since &&
        now - __atomic_load_n(&sh->last_failure_ms, __ATOMIC_RELAXED) < quiet)
        return;
    if (since &&
        __atomic_compare_exchange_n(&sh->degraded_since_ms, &since, 0, 0,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        char detail[64];

        /* A new episode logs again (episodes are at least a retry period
         * apart, see above). */
        __atomic_store_n(&sh->degraded_logged_ms, 0, __ATOMIC_RELAXED);
        rlw_log(RLW_LOG_NOTICE,
                "RLW00111: memcached store recovered after %ld ms degraded",
                (long)(now - since));
        snprintf(detail, sizeof(detail), "degraded for %ld ms",
                 (long)(now - since));
        rlw_notice(RLW_NOTICE_STORE_RECOVERED, detail);
    }
}

static memcached_st *pop(mc_store_t *st)
{
    memcached_return_t rc;
    struct timespec wait;

    if (!st->pool)
        return NULL;
    wait.tv_sec = 0;
    wait.tv_nsec = (long)st->conf.timeout_ms * 1000000L;
    return memcached_pool_fetch(st->pool, &wait, &rc);
}

static void push(mc_store_t *st, memcached_st *mc)
{
    if (mc)
        memcached_pool_release(st->pool, mc);
}

/* The outcome of a read: rc, or the call's real error when rc claims a
 * miss. libmemcached 1.1 reports a read from a server it cannot reach
 * (e.g. no route to host) as MEMCACHED_NOTFOUND, and only its last error
 * (reset by each call) tells the truth. An operator must never read "not
 * banned" from an unreachable server. */
static memcached_return_t admin_outcome(memcached_st *mc, memcached_return_t rc)
{
    memcached_return_t last;

    if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_END &&
        rc != MEMCACHED_NOTFOUND)
        return rc;
    last = memcached_last_error(mc);
    if (last != MEMCACHED_SUCCESS && last != MEMCACHED_END &&
        last != MEMCACHED_NOTFOUND)
        return last;
    return MEMCACHED_SUCCESS;
}

/* --- keys -------------------------------------------------------------- */

static size_t bucket_key(const mc_store_t *st, const char *pseudo,
                         int64_t index, char *out)
{
    int n = snprintf(out, RLW_MC_KEY_MAX, "%sc%lld:%s", st->conf.prefix,
                     (long long)index, pseudo);
    return n > 0 && n < RLW_MC_KEY_MAX ? (size_t)n : 0;
}

static size_t ban_key(const mc_store_t *st, const char *pseudo, char *out)
{
    int n = snprintf(out, RLW_MC_KEY_MAX, "%sb:%s", st->conf.prefix, pseudo);
    return n > 0 && n < RLW_MC_KEY_MAX ? (size_t)n : 0;
}

/* The keys of the client's buckets head - first, head - first - 1, ...
 * back to the oldest of the window (never below index 0); returns how
 * many. */
static int bucket_keys(const mc_store_t *st, const char *pseudo, int64_t head,
                       int first, char (*keys)[RLW_MC_KEY_MAX], const char **kp,
                       size_t *kl)
{
    int i, n = 0;

    for (i = first; i < RLW_WINDOW_BUCKETS && head - i >= 0; i++, n++) {
        kl[n] = bucket_key(st, pseudo, head - i, keys[n]);
        kp[n] = keys[n];
    }
    return n;
}

/* The journal: its sequence counter, "<prefix>j:seq", and entry seq,
 * "<prefix>j:<seq>" (both on the server of RLW_MC_JOURNAL_GROUP). */
static size_t journal_seq_key(const mc_store_t *st, char *out)
{
    int n = snprintf(out, RLW_MC_KEY_MAX, "%sj:seq", st->conf.prefix);
    return n > 0 && n < RLW_MC_KEY_MAX ? (size_t)n : 0;
}

static size_t journal_key(const mc_store_t *st, uint64_t seq, char *out)
{
    int n = snprintf(out, RLW_MC_KEY_MAX, "%sj:%llu", st->conf.prefix,
                     (unsigned long long)seq);
    return n > 0 && n < RLW_MC_KEY_MAX ? (size_t)n : 0;
}

/* The keys of journal entries from..to (at most RLW_MC_JOURNAL_BATCH) for
 * one multi-get; returns how many. */
static size_t journal_keys(const mc_store_t *st, uint64_t from, uint64_t to,
                           char (*keys)[RLW_MC_KEY_MAX], const char **kp,
                           size_t *kl)
{
    size_t n = 0;
    uint64_t i;

    for (i = from; i <= to; i++, n++) {
        kl[n] = journal_key(st, i, keys[n]);
        kp[n] = keys[n];
    }
    return n;
}

/* --- counting ---------------------------------------------------------- */

/* Opens a sealed ban record read under key into *b: 0, or -1 when it
 * fails authentication or does not parse (then *b is all zero: it reads
 * as "never banned"). */
static int open_ban(const mc_store_t *st, const char *key, size_t klen,
                    const char *val, size_t vlen, rlw_ban_state_t *b)
{
    unsigned char plain[RLW_BAN_RECORD_LEN + 8];
    size_t pl = 0;

    if (rlw_open(&st->keys, key, klen, (const unsigned char *)val, vlen, plain,
                 sizeof(plain), &pl) == 0 &&
        rlw_ban_record_decode(plain, pl, b) == 0)
        return 0;
    memset(b, 0, sizeof(*b));
    return -1;
}

/* The bucket index a counter key names, or -1 when key is not one of this
 * client's counters. */
static int64_t key_bucket(const mc_store_t *st, const char *key, size_t klen)
{
    size_t pl = strlen(st->conf.prefix);
    uint64_t idx;

    if (klen <= pl || memcmp(key, st->conf.prefix, pl) ||
        rlw_parse_bucket_key(key + pl, klen - pl, &idx) != 0)
        return -1;
    return (int64_t)idx; /* at most INT64_MAX */
}

/* A bucket counter as read back into *out (left alone on failure): 0, or
 * -1 when v is not what memcached writes for a count (rlw_parse_counter())
 * or more than one client can have done in one bucket (RLW_COUNT_MAX).
 * Anything else was written by someone else: ignored rather than
 * trusted. */
static int parse_counter(const char *v, size_t vl, uint64_t *out)
{
    uint64_t x;

    if (rlw_parse_counter(v, vl, &x) != 0 || x > RLW_COUNT_MAX)
        return -1;
    *out = x;
    return 0;
}

/* The attacks in the buckets vals (vals[i] is bucket head - i) since the
 * ban b started, capped at UINT32_MAX. A ban starts a new count: buckets
 * up to the one holding its start are left out (they expire with the
 * window; nothing to delete). */
static uint32_t count_since_ban(const uint64_t *vals, int64_t head,
                                int64_t width, const rlw_ban_state_t *b)
{
    int64_t from = b->start_ms > 0 ? b->start_ms / width : -1;
    uint64_t total = 0;
    int i;

    for (i = 0; i < RLW_WINDOW_BUCKETS; i++) {
        if (head - i > from)
            total = rlw_sat_add_u64(total, vals[i]);
    }
    return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

/* What a multi-get of a client's ban record and bucket counters found. */
typedef struct client_read {
    int found;           /* the ban record exists */
    int bad_ban;         /* ... but fails to open or parse */
    uint64_t cas;        /* the record's, so that a write replaces it */
    rlw_ban_state_t ban; /* all zero when absent or bad */
    uint64_t vals[RLW_WINDOW_BUCKETS]; /* vals[i]: bucket head - i */
    uint64_t bad_counters;             /* counters that were not counts */
    int nbad;                          /* of which the first ones, to repair: */
    int64_t bad_idx[RLW_WINDOW_BUCKETS];  /* their bucket index */
    uint64_t bad_cas[RLW_WINDOW_BUCKETS]; /* and cas */
} client_read_t;

/* Sorts the results of the multi-get just sent on mc into r (zeroed by
 * the caller): the ban record bkey, and the counters of buckets newest
 * (<= head; -1 for none) and older. Silent: what a bad record means is
 * the caller's to say (note_bad()). Returns MEMCACHED_SUCCESS or the
 * fetch's real error (admin_outcome()). */
static memcached_return_t fetch_client(const mc_store_t *st, memcached_st *mc,
                                       const char *bkey, size_t bklen,
                                       int64_t head, int64_t newest,
                                       client_read_t *r)
{
    memcached_return_t rc = MEMCACHED_SUCCESS;
    memcached_result_st *res;

    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL) {
        const char *k = memcached_result_key_value(res);
        size_t klen = memcached_result_key_length(res);
        const char *v = memcached_result_value(res);
        size_t vl = memcached_result_length(res);
        int64_t idx;

        if (klen == bklen && !memcmp(k, bkey, bklen)) {
            r->found = 1;
            r->cas = memcached_result_cas(res);
            r->bad_ban = open_ban(st, bkey, bklen, v, vl, &r->ban) != 0;
        } else if ((idx = key_bucket(st, k, klen)) >= 0 && idx <= newest &&
                   head - idx < RLW_WINDOW_BUCKETS) {
            if (parse_counter(v, vl, &r->vals[head - idx]) != 0) {
                r->bad_counters++;
                if (r->nbad < RLW_WINDOW_BUCKETS) {
                    r->bad_idx[r->nbad] = idx;
                    r->bad_cas[r->nbad++] = memcached_result_cas(res);
                }
            }
        }
        memcached_result_free(res);
    }
    return admin_outcome(mc, rc);
}

/* The request path counts and logs what a read found bad (the operator's
 * lookup only reports it). A bad ban record is overwritten by the next
 * ban. */
static void note_bad(mc_store_t *st, const char *bkey, size_t bklen,
                     const client_read_t *r)
{
    if (r->bad_ban) {
        ATOMIC_ADD(&st->shared->bad_records, 1);
        rlw_log(RLW_LOG_WARN,
                "RLW00112: memcached ban record %.*s fails "
                "authentication or does not parse; ignored "
                "and overwritten",
                (int)bklen, bkey);
    }
    if (r->bad_counters)
        ATOMIC_ADD(&st->shared->bad_records, r->bad_counters);
}

/* What a reply means to a counter update (rlw_mcctr.h). */
static rlw_ctr_reply_t ctr_reply(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_SUCCESS:
        return RLW_CTR_OK;
    case MEMCACHED_NOTFOUND:
        return RLW_CTR_MISS;
    case MEMCACHED_NOTSTORED:
        return RLW_CTR_EXISTS;
    /* A connection that died (its server was restarted: the first call on
     * the old socket fails) cannot have reached a live server's data. A
     * timeout is not retried: the first call may have landed. */
    case MEMCACHED_CONNECTION_FAILURE:
    case MEMCACHED_WRITE_FAILURE:
    case MEMCACHED_CONNECTION_SOCKET_CREATE_FAILURE:
        return RLW_CTR_RETRYABLE;
    /* The server's trouble, not the value's: "SERVER_ERROR out of memory"
     * (memcached -M, full) is one of these, a failure of that server like
     * any other (the store degrades to shared memory). */
    case MEMCACHED_TIMEOUT:
    case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
    case MEMCACHED_MEMORY_ALLOCATION_FAILURE:
    case MEMCACHED_SERVER_ERROR:
    case MEMCACHED_SERVER_TEMPORARILY_DISABLED:
    case MEMCACHED_SERVER_MARKED_DEAD:
    case MEMCACHED_NO_SERVERS:
    case MEMCACHED_ERRNO:
    case MEMCACHED_READ_FAILURE:
    case MEMCACHED_UNKNOWN_READ_FAILURE:
    case MEMCACHED_CONNECTION_BIND_FAILURE:
    case MEMCACHED_HOST_LOOKUP_FAILURE:
        return RLW_CTR_FAILED;
    default:
        return RLW_CTR_REFUSED;
    }
}

/* Adds one to the counter key (in group's server), created at 1 with ttl
 * when missing, in text-protocol calls only (rlw_mcctr.h: never the
 * binary increment, whose out-of-memory reply aborts the process inside
 * libmemcached): incr, add of "1" on a miss, incr again when another
 * writer created it meanwhile. *value receives the new count on success.
 * *refused is 1 when memcached refused to increment what the key holds
 * (the caller checks for garbage and repairs it its own way). Returns
 * MEMCACHED_SUCCESS or the last call's code; at most RLW_CTR_CALLS_MAX
 * calls, each counted in ops. */
static memcached_return_t add_one(mc_store_t *st, memcached_st *mc,
                                  const char *group, const char *key,
                                  size_t klen, time_t ttl, uint64_t *value,
                                  int *refused)
{
    size_t gl = strlen(group);
    rlw_ctr_op_t op = RLW_CTR_INCR;
    memcached_return_t rc = MEMCACHED_FAILURE;
    int calls = 0;

    *refused = 0;
    for (;;) {
        if (op == RLW_CTR_INCR) {
            rc = memcached_increment_by_key(mc, group, gl, key, klen, 1, value);
        } else {
            rc = memcached_add_by_key(mc, group, gl, key, klen, "1", 1, ttl, 0);
            if (rc == MEMCACHED_SUCCESS)
                *value = 1;
        }
        ATOMIC_ADD(&st->shared->ops, 1);
        switch (rlw_ctr_next(op, ctr_reply(rc), ++calls)) {
        case RLW_CTR_DONE:
            return MEMCACHED_SUCCESS;
        case RLW_CTR_DO_INCR:
            op = RLW_CTR_INCR;
            break;
        case RLW_CTR_DO_ADD:
            op = RLW_CTR_ADD;
            break;
        case RLW_CTR_CHECK:
            *refused = 1;
            return rc;
        case RLW_CTR_FAIL:
        default:
            /* A miss or NOT_STORED left over when the calls ran out is a
             * failure, not a count. */
            return rc == MEMCACHED_SUCCESS ? MEMCACHED_FAILURE : rc;
        }
    }
}

/* 1 when key holds something that is not a count (parse_counter()). */
static int holds_garbage(mc_store_t *st, memcached_st *mc, const char *group,
                         const char *key, size_t klen)
{
    memcached_return_t rc;
    uint32_t flags;
    size_t vl = 0;
    char *v = memcached_get_by_key(mc, group, strlen(group), key, klen, &vl,
                                   &flags, &rc);
    uint64_t x;
    int bad = 0;

    ATOMIC_ADD(&st->shared->ops, 1);
    if (rc == MEMCACHED_SUCCESS && v)
        bad = parse_counter(v, vl, &x) != 0;
    free(v);
    return bad;
}

/* Adds one to the bucket counter key (created at 1 when missing,
 * add_one()). A counter holding garbage (written by someone else:
 * memcached refuses to increment it) or a count no client can reach in
 * one bucket (RLW_COUNT_MAX: memcached happily increments 2^63) is
 * reported and replaced by this attack's 1. */
static memcached_return_t increment(mc_store_t *st, memcached_st *mc,
                                    const char *pseudo, const char *key,
                                    size_t klen, time_t ttl, uint64_t *value)
{
    int refused = 0;
    memcached_return_t rc =
        add_one(st, mc, pseudo, key, klen, ttl, value, &refused);

    if (rc == MEMCACHED_SUCCESS && *value <= RLW_COUNT_MAX)
        return rc;
    if (rc == MEMCACHED_SUCCESS ||
        (refused && holds_garbage(st, mc, pseudo, key, klen))) {
        ATOMIC_ADD(&st->shared->bad_records, 1);
        rlw_log(RLW_LOG_WARN,
                "RLW00115: memcached counter %.*s holds "
                "something other than a count; replaced",
                (int)klen, key);
        rc = memcached_set_by_key(mc, pseudo, strlen(pseudo), key, klen, "1", 1,
                                  ttl, 0);
        ATOMIC_ADD(&st->shared->ops, 1);
        *value = 1;
    }
    return rc;
}

/* Resets the older counters that r found bad to "0", each only if nobody
 * changed it since it was read (cas), so that garbage is read, counted and
 * logged once rather than at every attack. */
static void repair_counters(mc_store_t *st, memcached_st *mc,
                            const char *pseudo, const client_read_t *r,
                            time_t ttl)
{
    char key[RLW_MC_KEY_MAX];
    size_t plen = strlen(pseudo), kl;
    int i;

    for (i = 0; i < r->nbad; i++) {
        if (!(kl = bucket_key(st, pseudo, r->bad_idx[i], key)))
            continue;
        memcached_cas_by_key(mc, pseudo, plen, key, kl, "0", 1, ttl, 0,
                             r->bad_cas[i]);
        ATOMIC_ADD(&st->shared->ops, 1);
    }
    if (r->nbad)
        rlw_log(RLW_LOG_WARN,
                "RLW00116: %d memcached counters of %s hold "
                "something other than a count; ignored and "
                "reset to 0",
                r->nbad, pseudo);
}

/* Counts one attack and reads the client's ban record, in two round trips:
 * an atomic increment of the current bucket, then one multi-get of the
 * older buckets and the ban record (all on the client's server).
 * *count receives the attacks in the window since the last ban started
 * (count_since_ban()).
 * *b, *cas and *found describe the ban record. Returns MEMCACHED_SUCCESS
 * or the failing call's code. */
static memcached_return_t count_attack(mc_store_t *st, memcached_st *mc,
                                       const char *pseudo, const char *bkey,
                                       size_t bklen, int64_t window_ms,
                                       int64_t now, uint32_t *count,
                                       rlw_ban_state_t *b, uint64_t *cas,
                                       int *found, int *bad)
{
    int64_t width = rlw_window_width(window_ms);
    int64_t head = now / width;
    char keys[RLW_WINDOW_BUCKETS][RLW_MC_KEY_MAX];
    const char *kp[RLW_WINDOW_BUCKETS];
    size_t kl[RLW_WINDOW_BUCKETS];
    char cur[RLW_MC_KEY_MAX];
    size_t curlen = bucket_key(st, pseudo, head, cur);
    size_t plen = strlen(pseudo);
    uint64_t value = 0;
    memcached_return_t rc;
    client_read_t r;
    int n;

    memset(&r, 0, sizeof(r));
    memset(b, 0, sizeof(*b));
    *cas = 0;
    *found = 0;
    rc = increment(st, mc, pseudo, cur, curlen,
                   (time_t)ttl_secs(window_ms + width), &value);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    n = bucket_keys(st, pseudo, head, 1, keys, kp, kl);
    kp[n] = bkey;
    kl[n] = bklen;
    rc = memcached_mget_by_key(mc, pseudo, plen, kp, kl, (size_t)n + 1);
    ATOMIC_ADD(&st->shared->ops, 1);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    /* The current bucket is the increment's: older ones only. */
    rc = fetch_client(st, mc, bkey, bklen, head, head - 1, &r);
    note_bad(st, bkey, bklen, &r);
    if (rc == MEMCACHED_SUCCESS)
        repair_counters(st, mc, pseudo, &r,
                        (time_t)ttl_secs(window_ms + width));
    *b = r.ban;
    *cas = r.cas;
    *found = r.found;
    *bad = r.bad_ban;
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    r.vals[0] = value;
    *count = count_since_ban(r.vals, head, width, b);
    return MEMCACHED_SUCCESS;
}

/* --- ban records ------------------------------------------------------- */

/* Reads the client's ban record. found = 0 when absent. A record that
 * fails to open is reported and treated as "no ban", but its cas is kept
 * so that the next write replaces it. */
static memcached_return_t read_ban(mc_store_t *st, memcached_st *mc,
                                   const char *pseudo, const char *key,
                                   size_t klen, rlw_ban_state_t *b,
                                   uint64_t *cas, int *found)
{
    const char *kp[1] = {key};
    size_t kl[1] = {klen};
    memcached_return_t rc;
    client_read_t r;

    memset(&r, 0, sizeof(r));
    rc = memcached_mget_by_key(mc, pseudo, strlen(pseudo), kp, kl, 1);
    ATOMIC_ADD(&st->shared->ops, 1);
    if (rc == MEMCACHED_SUCCESS) {
        rc = fetch_client(st, mc, key, klen, 0, -1, &r);
        note_bad(st, key, klen, &r);
    }
    *b = r.ban;
    *cas = r.cas;
    *found = r.found;
    return rc;
}

static memcached_return_t write_ban(mc_store_t *st, memcached_st *mc,
                                    const char *pseudo, const char *key,
                                    size_t klen, const rlw_ban_state_t *b,
                                    int64_t keep_ms, int found, uint64_t cas)
{
    unsigned char rec[RLW_BAN_RECORD_LEN];
    unsigned char sealed[RLW_BAN_RECORD_LEN + RLW_SEAL_OVERHEAD];
    size_t sl = 0;
    time_t ttl = (time_t)ttl_secs(keep_ms);
    memcached_return_t rc;

    if (rlw_ban_record_encode(b, rec) != 0 ||
        rlw_seal(&st->keys, key, klen, rec, sizeof(rec), sealed, sizeof(sealed),
                 &sl) != 0)
        return MEMCACHED_FAILURE;
    if (found)
        rc = memcached_cas_by_key(mc, pseudo, strlen(pseudo), key, klen,
                                  (const char *)sealed, sl, ttl, 0, cas);
    else
        rc = memcached_add_by_key(mc, pseudo, strlen(pseudo), key, klen,
                                  (const char *)sealed, sl, ttl, 0);
    ATOMIC_ADD(&st->shared->ops, 1);
    return rc;
}

/* --- journal ----------------------------------------------------------- */

static memcached_return_t read_journal_seq(const mc_store_t *st,
                                           memcached_st *mc, uint64_t *seq,
                                           uint64_t *cas, int *garbage);
static memcached_return_t set_journal_seq(const mc_store_t *st,
                                          memcached_st *mc, uint64_t value,
                                          uint64_t cas);

/* Journal entries looked at to tell a restarted journal from a lowered
 * counter: the last ones the node read (one may have been skipped). */
#define RLW_MC_JOURNAL_EVIDENCE 8

/* 1 when any journal entry from..to (at most RLW_MC_JOURNAL_EVIDENCE) is
 * there, whatever it holds; 0 when none is; -1 when memcached does not
 * say. */
static int journal_entries_exist(mc_store_t *st, memcached_st *mc,
                                 uint64_t from, uint64_t to)
{
    char keys[RLW_MC_JOURNAL_EVIDENCE][RLW_MC_KEY_MAX];
    const char *kp[RLW_MC_JOURNAL_EVIDENCE];
    size_t kl[RLW_MC_JOURNAL_EVIDENCE], n;
    memcached_result_st *res;
    memcached_return_t rc;
    int found = 0;

    n = journal_keys(st, from, to, keys, kp, kl);
    rc = memcached_mget_by_key(mc, RLW_MC_JOURNAL_GROUP,
                               strlen(RLW_MC_JOURNAL_GROUP), kp, kl, n);
    if (rc != MEMCACHED_SUCCESS)
        return -1;
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL) {
        found = 1;
        memcached_result_free(res);
    }
    return admin_outcome(mc, rc) == MEMCACHED_SUCCESS ? found : -1;
}

/* Whether the journal restarted below floor: the last entries up to
 * floor (the ones above seq, which a lowered counter does not cover) are
 * all gone. 1 restarted, 0 not (lowered), -1 unknown. */
static int journal_restarted(mc_store_t *st, memcached_st *mc, uint64_t seq,
                             uint64_t floor)
{
    uint64_t from = floor > RLW_MC_JOURNAL_EVIDENCE
                        ? floor - RLW_MC_JOURNAL_EVIDENCE + 1
                        : 1;
    int there;

    if (from <= seq)
        from = seq + 1;
    if (from > floor)
        return 0;
    there = journal_entries_exist(st, mc, from, floor);
    return there < 0 ? -1 : !there;
}

/* What repair_journal_seq() found. */
typedef enum seq_repair {
    SEQ_GIVE_UP = 0, /* memcached does not answer: no entry this time */
    SEQ_AGAIN,       /* repaired (or meanwhile): increment again */
    SEQ_RESTARTED    /* the journal restarted: the number taken is good */
} seq_repair_t;

/* After an increment of the journal's sequence counter that failed or
 * took a number no node will read (at or below floor, the last number this
 * node knows, or above RLW_MC_JOURNAL_SEQ_MAX). A journal that restarted
 * (memcached lost it: the last entries are gone too) simply starts again
 * at 1: nodes follow it (RLW00120). A counter that holds garbage (memcached
 * refuses to increment it) or went down while the entries are still there
 * is set to floor, so that the numbers taken next are ones no node has
 * read yet. */
static seq_repair_t repair_journal_seq(mc_store_t *st, memcached_st *mc,
                                       uint64_t floor)
{
    uint64_t seq, cas;
    int garbage, restarted;

    ATOMIC_ADD(&st->shared->ops, 1);
    if (read_journal_seq(st, mc, &seq, &cas, &garbage) != MEMCACHED_SUCCESS)
        return SEQ_GIVE_UP;
    if (!garbage && seq >= floor)
        return SEQ_AGAIN;
    if (!garbage) {
        ATOMIC_ADD(&st->shared->ops, 1);
        restarted = journal_restarted(st, mc, seq, floor);
        if (restarted < 0)
            return SEQ_GIVE_UP;
        if (restarted)
            return SEQ_RESTARTED;
    }
    ATOMIC_ADD(&st->shared->bad_records, 1);
    ATOMIC_ADD(&st->shared->ops, 1);
    rlw_log(RLW_LOG_WARN,
            "RLW00117: memcached journal sequence %sj:seq %s; "
            "replaced by %llu (the last number this node knows)",
            st->conf.prefix,
            garbage ? "holds something other than a count"
                    : "went down below this node's journal position",
            (unsigned long long)floor);
    set_journal_seq(st, mc, floor, cas);
    return SEQ_AGAIN;
}

static void journal_append(mc_store_t *st, memcached_st *mc,
                           rlw_journal_action_t action,
                           const rlw_addr_t *client, const rlw_ban_state_t *b,
                           int64_t now)
{
    char seqkey[RLW_MC_KEY_MAX], key[RLW_MC_KEY_MAX];
    size_t gl = strlen(RLW_MC_JOURNAL_GROUP);
    size_t sklen = journal_seq_key(st, seqkey), kl;
    int refused = 0;
    rlw_journal_t j;
    unsigned char rec[RLW_JOURNAL_LEN];
    unsigned char sealed[RLW_JOURNAL_LEN + RLW_SEAL_OVERHEAD];
    size_t sl = 0;
    uint64_t n = 0, seen;
    memcached_return_t rc;
    int64_t keep = b->until_ms - now;

    memset(&j, 0, sizeof(j));
    j.action = (uint8_t)action;
    j.client = *client;
    j.ban = *b;
    apr_cpystrn(j.node, st->conf.node, sizeof(j.node));
    rc = add_one(st, mc, RLW_MC_JOURNAL_GROUP, seqkey, sklen, 0, &n, &refused);
    /* A garbage counter refuses the increment; one near 2^64, or one moved
     * below what this node has read (numbers no node reads again), takes
     * it. Either way: repaired, then one more try. A server that fails
     * (timeout, out of memory) is only reported. */
    seen = journal_floor(st->shared);
    if ((rc != MEMCACHED_SUCCESS && refused) ||
        (rc == MEMCACHED_SUCCESS &&
         (n > RLW_MC_JOURNAL_SEQ_MAX || n <= seen))) {
        switch (repair_journal_seq(st, mc, seen)) {
        case SEQ_AGAIN:
            rc = add_one(st, mc, RLW_MC_JOURNAL_GROUP, seqkey, sklen, 0, &n,
                         &refused);
            break;
        case SEQ_RESTARTED:
            /* Numbers start again: the old ones are gone with the
             * journal. */
            __atomic_store_n(&st->shared->journal_taken, n, __ATOMIC_RELAXED);
            seen = 0;
            break;
        case SEQ_GIVE_UP:
            break;
        }
    }
    if (rc != MEMCACHED_SUCCESS) {
        note_failure(st, "journal sequence increment", mc, rc, now);
        return;
    }
    if (n > RLW_MC_JOURNAL_SEQ_MAX || n <= seen)
        return; /* not repaired: no entry nodes would read */
    {
        uint64_t old =
            __atomic_load_n(&st->shared->journal_taken, __ATOMIC_RELAXED);

        while (old < n && !__atomic_compare_exchange_n(
                              &st->shared->journal_taken, &old, n, 0,
                              __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
    }
    kl = journal_key(st, n, key);
    /* An entry must outlive the slowest poll; a ban entry also serves
     * nodes that start while the ban runs. */
    if (keep < 60 * 1000)
        keep = 60 * 1000;
    if (rlw_journal_encode(&j, rec) != 0 ||
        rlw_seal(&st->keys, key, kl, rec, sizeof(rec), sealed, sizeof(sealed),
                 &sl) != 0) {
        rlw_log(RLW_LOG_ERR, "RLW00113: cannot encode journal entry %llu",
                (unsigned long long)n);
        return;
    }
    rc = memcached_set_by_key(mc, RLW_MC_JOURNAL_GROUP, gl, key, kl,
                              (const char *)sealed, sl, (time_t)ttl_secs(keep),
                              0);
    ATOMIC_ADD(&st->shared->ops, 1);
    if (rc != MEMCACHED_SUCCESS)
        note_failure(st, "journal write", mc, rc, now);
}

/* Reads the journal's sequence counter (the last entry numbered) into
 * *seq, and its cas into *cas (may be NULL). *garbage is 1 (and *seq 0)
 * when it holds something other than a count (rlw_parse_counter()) or a
 * count above RLW_MC_JOURNAL_SEQ_MAX.
 * Returns MEMCACHED_SUCCESS; MEMCACHED_NOTFOUND when nothing was journaled
 * yet; else the failing call's code, also for a miss that hides an
 * unreachable server (admin_outcome()). */
static memcached_return_t read_journal_seq(const mc_store_t *st,
                                           memcached_st *mc, uint64_t *seq,
                                           uint64_t *cas, int *garbage)
{
    char key[RLW_MC_KEY_MAX];
    size_t klen = journal_seq_key(st, key);
    const char *kp[1] = {key};
    size_t kl[1] = {klen};
    memcached_result_st *res;
    memcached_return_t rc;
    int found = 0;

    *seq = 0;
    *garbage = 0;
    if (cas)
        *cas = 0;
    rc = memcached_mget_by_key(mc, RLW_MC_JOURNAL_GROUP,
                               strlen(RLW_MC_JOURNAL_GROUP), kp, kl, 1);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL) {
        if (memcached_result_key_length(res) == klen &&
            !memcmp(memcached_result_key_value(res), key, klen)) {
            found = 1;
            if (cas)
                *cas = memcached_result_cas(res);
            if (rlw_parse_counter(memcached_result_value(res),
                                  memcached_result_length(res), seq) != 0 ||
                *seq > RLW_MC_JOURNAL_SEQ_MAX) {
                *seq = 0;
                *garbage = 1;
            }
        }
        memcached_result_free(res);
    }
    if ((rc = admin_outcome(mc, rc)) != MEMCACHED_SUCCESS)
        return rc;
    return found ? MEMCACHED_SUCCESS : MEMCACHED_NOTFOUND;
}

/* Sets the journal's sequence counter to value, only if it still holds
 * what was read with cas: a repair never undoes a number another node
 * took meanwhile. */
static memcached_return_t set_journal_seq(const mc_store_t *st,
                                          memcached_st *mc, uint64_t value,
                                          uint64_t cas)
{
    char key[RLW_MC_KEY_MAX], num[RLW_U64_DIGITS + 1];
    size_t klen = journal_seq_key(st, key);
    int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)value);

    return memcached_cas_by_key(mc, RLW_MC_JOURNAL_GROUP,
                                strlen(RLW_MC_JOURNAL_GROUP), key, klen, num,
                                (size_t)n, 0, 0, cas);
}

/* --- the store operations ---------------------------------------------- */

static int mc_banned(rlw_store_t *base, const rlw_addr_t *client, int64_t now,
                     int64_t *until)
{
    mc_store_t *st = (mc_store_t *)base;

    /* Local only: bans decided anywhere reach this node's shared memory
     * through sync(), so a clean request never waits for the network. */
    return st->local->banned(st->local, client, now, until);
}

/* What this node's table holds (its ban cache, the count it falls back
 * to); the count the cluster shares is rlw_store_mc_lookup()'s, which
 * goes to the network. */
static apr_status_t mc_get(rlw_store_t *base, const rlw_addr_t *client,
                           int64_t now, rlw_client_info_t *out)
{
    mc_store_t *st = (mc_store_t *)base;

    return st->local->get(st->local, client, now, out);
}

static apr_status_t fallback(mc_store_t *st, const rlw_addr_t *client,
                             rlw_class_t cls, const rlw_policy_t *p,
                             const rlw_hit_t *hit, int64_t now,
                             rlw_attack_t *out)
{
    ATOMIC_ADD(&st->shared->fallbacks, 1);
    return st->local->attack(st->local, client, cls, p, hit, now, out);
}

/* How long a ban record must live from now: past the ban's end, as long
 * as the counters it cuts off (a ban starts a new count) and the strikes
 * it remembers. */
static int64_t record_keep(const rlw_policy_t *p, const rlw_ban_state_t *b,
                           int64_t now)
{
    int64_t counters = p->window_ms + rlw_window_width(p->window_ms);
    int64_t after =
        p->strike_decay_ms > counters ? p->strike_decay_ms : counters;

    return (b->until_ms > now ? b->until_ms - now : 0) + after;
}

/* A ban's start is its epoch (rlw_ban_state_newer()): a ban decided over
 * the record prev (read under the cas that the write will check) starts
 * after prev did, even on a node whose clock is behind the one that wrote
 * prev. Its end stays what this node decided, unless that would make it
 * end before it starts. */
static void start_after(rlw_ban_state_t *b, const rlw_ban_state_t *prev)
{
    if (prev->start_ms <= 0 || b->start_ms > prev->start_ms ||
        prev->start_ms == INT64_MAX)
        return;
    b->start_ms = prev->start_ms + 1;
    if (b->until_ms < b->start_ms)
        b->until_ms = b->start_ms;
}

static apr_status_t mc_attack(rlw_store_t *base, const rlw_addr_t *client,
                              rlw_class_t cls, const rlw_policy_t *p,
                              const rlw_hit_t *hit, int64_t now,
                              rlw_attack_t *out)
{
    mc_store_t *st = (mc_store_t *)base;
    char pseudo[RLW_PSEUDO_LEN + 1];
    char key[RLW_MC_KEY_MAX];
    size_t klen;
    memcached_st *mc;
    memcached_return_t rc;
    uint32_t count = 0;
    int64_t until = 0;
    rlw_ban_state_t rec;
    uint64_t cas = 0;
    int found = 0, bad = 0;
    int tries;

    memset(out, 0, sizeof(*out));
    /* Known locally as banned (an in-flight request): nothing to count. */
    if (st->local->banned(st->local, client, now, &until)) {
        out->verdict.kind = RLW_VERDICT_ALREADY_BANNED;
        out->ban.until_ms = until;
        return APR_SUCCESS;
    }
    if (rlw_pseudonym(&st->keys, client, pseudo) != 0)
        return fallback(st, client, cls, p, hit, now, out);
    mc = pop(st);
    if (!mc) {
        note_failure(st, "taking a connection from the pool", NULL,
                     MEMCACHED_FAILURE, now);
        return fallback(st, client, cls, p, hit, now, out);
    }
    klen = ban_key(st, pseudo, key);
    rc = count_attack(st, mc, pseudo, key, klen, p->window_ms, now, &count,
                      &rec, &cas, &found, &bad);
    if (rc != MEMCACHED_SUCCESS) {
        note_failure(st, "counting an attack", mc, rc, now);
        push(st, mc);
        return fallback(st, client, cls, p, hit, now, out);
    }
    if (bad) {
        /* The record did not open: where the last ban started is unknown,
         * so this count may include attacks a ban already punished. Never
         * ban on it; write a valid record that starts a new count with the
         * current bucket (which holds this attack). */
        int64_t width = rlw_window_width(p->window_ms);

        rec.start_ms = (now / width) * width - 1;
        if (rec.start_ms < 0)
            rec.start_ms = 0;
        rec.until_ms = rec.start_ms;
        write_ban(st, mc, pseudo, key, klen, &rec, record_keep(p, &rec, now),
                  found, cas);
        out->count = 0;
        note_success(st, now);
        push(st, mc);
        return APR_SUCCESS;
    }
    if (rlw_ban_active(&rec, now)) {
        /* Banned elsewhere and not yet learned through the journal: learn
         * it now (the deciding node's name comes with the journal). */
        rlw_store_shm_learn(st->local, client, &rec, "", now);
        out->verdict.kind = RLW_VERDICT_ALREADY_BANNED;
        out->verdict.strike = rec.strikes;
        out->ban = rec;
        note_success(st, now);
        push(st, mc);
        return APR_SUCCESS;
    }
    out->count = count;
    /* Top rules stay per node: only the winner's view reaches the event. */
    rlw_store_shm_note_rules(st->local, client, hit, now, out->rules);
    if (count < p->threshold) {
        note_success(st, now);
        push(st, mc);
        return APR_SUCCESS;
    }

    for (tries = 0; tries < RLW_MC_CAS_TRIES; tries++) {
        rlw_ban_state_t b = rec;

        /* The first round decides on the record read with the count; a
         * round lost to another writer reads it again. */
        if (tries > 0) {
            rc = read_ban(st, mc, pseudo, key, klen, &b, &cas, &found);
            if (rc != MEMCACHED_SUCCESS)
                break;
        }
        {
            rlw_ban_state_t prev = b;

            out->verdict = rlw_decide(p, cls, &b, count - 1, count, now);
            if (out->verdict.kind == RLW_VERDICT_BAN)
                start_after(&b, &prev);
        }
        out->ban = b;
        if (out->verdict.kind == RLW_VERDICT_ALREADY_BANNED) {
            rlw_store_shm_learn(st->local, client, &b, "", now);
            break;
        }
        if (out->verdict.kind != RLW_VERDICT_BAN)
            break;
        rc = write_ban(st, mc, pseudo, key, klen, &b, record_keep(p, &b, now),
                       found, cas);
        if (rc == MEMCACHED_SUCCESS) {
            rlw_store_shm_learn(st->local, client, &b, st->conf.node, now);
            journal_append(st, mc, RLW_JOURNAL_BAN, client, &b, now);
            break;
        }
        if (rc != MEMCACHED_DATA_EXISTS && rc != MEMCACHED_NOTSTORED &&
            rc != MEMCACHED_NOTFOUND)
            break;
        /* Lost the race: back off a little (more each round) and re-read;
         * the winner's ban will now show as running. */
        ATOMIC_ADD(&st->shared->cas_retries, 1);
        out->verdict.kind = RLW_VERDICT_NONE;
        {
            struct timespec ts = {0, (long)(tries + 1) * 200000L};
            nanosleep(&ts, NULL);
        }
    }
    if (rc != MEMCACHED_SUCCESS) {
        rlw_ban_state_t b;

        note_failure(st, "reading or writing a ban record", mc, rc, now);
        push(st, mc);
        /* The cluster count reached the threshold but the ban record is out
         * of reach: decide on that count with this node's strike memory
         * none, so that the client is still banned here (the other nodes
         * ban it when their own counts get there). */
        ATOMIC_ADD(&st->shared->fallbacks, 1);
        memset(&b, 0, sizeof(b));
        out->verdict = rlw_decide(p, cls, &b, count - 1, count, now);
        out->ban = b;
        if (out->verdict.kind == RLW_VERDICT_BAN)
            rlw_store_shm_learn(st->local, client, &b, st->conf.node, now);
        return APR_SUCCESS;
    }
    note_success(st, now);
    push(st, mc);
    return APR_SUCCESS;
}

static apr_status_t mc_unban(rlw_store_t *base, const rlw_addr_t *client,
                             int64_t now)
{
    mc_store_t *st = (mc_store_t *)base;
    char pseudo[RLW_PSEUDO_LEN + 1];
    char key[RLW_MC_KEY_MAX];
    size_t klen;
    memcached_st *mc;
    memcached_return_t rc = MEMCACHED_FAILURE;
    apr_status_t local = st->local->unban(st->local, client, now);
    int tries;

    if (rlw_pseudonym(&st->keys, client, pseudo) != 0 || !(mc = pop(st)))
        return local;
    klen = ban_key(st, pseudo, key);
    for (tries = 0; tries < RLW_MC_CAS_TRIES; tries++) {
        rlw_ban_state_t b;
        uint64_t cas;
        int found;

        rc = read_ban(st, mc, pseudo, key, klen, &b, &cas, &found);
        if (rc != MEMCACHED_SUCCESS || !found || !rlw_ban_active(&b, now))
            break;
        /* Same start (the ban lifted), earlier end; never before the start
         * (a node whose clock is behind the one that banned). */
        b.until_ms = now > b.start_ms ? now : b.start_ms;
        rc = write_ban(st, mc, pseudo, key, klen, &b, RLW_MC_TTL_MAX * 1000LL,
                       1, cas);
        if (rc == MEMCACHED_SUCCESS) {
            journal_append(st, mc, RLW_JOURNAL_UNBAN, client, &b, now);
            local = APR_SUCCESS;
            break;
        }
    }
    push(st, mc);
    return local;
}

/* Opens journal entry n, read into slot, into *j: 0, or -1 when it fails
 * to open or parse (logged and counted). */
static int open_entry(mc_store_t *st, uint64_t n, const sync_slot_t *slot,
                      rlw_journal_t *j)
{
    unsigned char plain[RLW_JOURNAL_LEN + 8];
    char key[RLW_MC_KEY_MAX];
    size_t klen = journal_key(st, n, key), pl = 0;

    if (slot->len == 0 ||
        rlw_open(&st->keys, key, klen, slot->val, slot->len, plain,
                 sizeof(plain), &pl) != 0 ||
        rlw_journal_decode(plain, pl, j) != 0) {
        ATOMIC_ADD(&st->shared->bad_records, 1);
        rlw_log(RLW_LOG_WARN,
                "RLW00114: journal entry %.*s fails "
                "authentication or does not parse; ignored",
                (int)klen, key);
        return -1;
    }
    return 0;
}

/* Applies one journal entry to the local ban cache. The shm store keeps
 * whichever of its state and the entry's is newer (rlw_ban_state_newer()),
 * so an entry replayed from the past changes nothing. */
static void apply_entry(mc_store_t *st, const rlw_journal_t *j, int64_t now)
{
    rlw_ban_state_t b = j->ban;

    if (j->action == RLW_JOURNAL_UNBAN && b.until_ms > now)
        b.until_ms = now > b.start_ms ? now : b.start_ms;
    rlw_store_shm_learn(st->local, &j->client, &b, j->node, now);
}

/* The sequence counter is below this node's position. A memcached that
 * lost the journal (restarted, flushed) lost the entries too; a counter
 * that went down while the last entries read are still there was evicted
 * or written by someone else. Then the position is kept (nothing is read
 * again) and the counter raised back, so that new entries get numbers
 * nodes will read. Returns 0 to read on (a restart), 1 to end the round, -1 on
 * a memcached failure. */
static int journal_behind(mc_store_t *st, uint64_t seq, uint64_t cas,
                          int64_t now)
{
    rlw_jpos_t *pos = &st->shared->jpos;
    int restarted = journal_restarted(st, st->sync_mc, seq, pos->seen);

    if (restarted < 0)
        return -1;
    if (restarted) {
        rlw_log(RLW_LOG_NOTICE,
                "RLW00120: memcached journal restarted "
                "(sequence %llu, below this node's position "
                "%llu, whose entries are gone); reading its "
                "last %d entries",
                (unsigned long long)seq, (unsigned long long)pos->seen,
                RLW_MC_JOURNAL_BACKLOG);
        rlw_jpos_restart(pos, seq, RLW_MC_JOURNAL_BACKLOG, now);
        /* Numbers this node took before the restart are gone with it. */
        if (__atomic_load_n(&st->shared->journal_taken, __ATOMIC_RELAXED) > seq)
            __atomic_store_n(&st->shared->journal_taken, seq, __ATOMIC_RELAXED);
        __atomic_store_n(&st->shared->journal_seen, pos->seen,
                         __ATOMIC_RELAXED);
        return 0;
    }
    ATOMIC_ADD(&st->shared->bad_records, 1);
    if (rlw_log_due(&st->shared->behind_logged_ms, now, RLW_MC_LOG_INTERVAL_MS))
        rlw_log(RLW_LOG_WARN,
                "RLW00119: memcached journal sequence went "
                "down to %llu while entries up to %llu are "
                "still there (evicted or written by someone "
                "else): not a "
                "restart; position kept, sequence raised back "
                "(logged at most once a minute)",
                (unsigned long long)seq, (unsigned long long)pos->seen);
    set_journal_seq(st, st->sync_mc, journal_floor(st->shared), cas);
    return 1;
}

/* Reads entries seen + 1 .. to (at most RLW_MC_JOURNAL_BATCH) into
 * st->slots. */
static memcached_return_t read_entries(mc_store_t *st, uint64_t from,
                                       uint64_t to)
{
    char keys[RLW_MC_JOURNAL_BATCH][RLW_MC_KEY_MAX];
    const char *kp[RLW_MC_JOURNAL_BATCH];
    size_t kl[RLW_MC_JOURNAL_BATCH];
    size_t pl = strlen(st->conf.prefix), n;
    memcached_result_st *res;
    memcached_return_t rc;

    n = journal_keys(st, from, to, keys, kp, kl);
    memset(st->slots, 0, sizeof(*st->slots) * n);
    rc = memcached_mget_by_key(st->sync_mc, RLW_MC_JOURNAL_GROUP,
                               strlen(RLW_MC_JOURNAL_GROUP), kp, kl, n);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    while ((res = memcached_fetch_result(st->sync_mc, NULL, &rc))) {
        const char *k = memcached_result_key_value(res);
        size_t klen = memcached_result_key_length(res);
        uint64_t at;

        /* Results come in any order: place each by its key. */
        if (klen > pl && !memcmp(k, st->conf.prefix, pl) &&
            rlw_parse_journal_key(k + pl, klen - pl, &at) == 0 && at >= from &&
            at <= to && !st->slots[at - from].present) {
            sync_slot_t *slot = &st->slots[at - from];
            size_t vl = memcached_result_length(res);

            slot->present = 1;
            slot->len = vl <= sizeof(slot->val) ? vl : 0;
            if (slot->len)
                memcpy(slot->val, memcached_result_value(res), vl);
        }
        memcached_result_free(res);
    }
    return admin_outcome(st->sync_mc, rc);
}

static apr_status_t mc_sync(rlw_store_t *base, int64_t now)
{
    mc_store_t *st = (mc_store_t *)base;
    rlw_jpos_t *pos = &st->shared->jpos;
    int64_t wait = st->conf.timeout_ms * 4 > RLW_MC_JOURNAL_WAIT_MS
                       ? st->conf.timeout_ms * 4
                       : RLW_MC_JOURNAL_WAIT_MS;
    uint64_t seq = 0, cas = 0, jumped = 0, skipped = 0, first_skipped = 0;
    memcached_return_t rc;
    rlw_jpos_start_t how;
    int garbage, stop = 0;

    if (!st->sync_mc && !(st->sync_mc = new_connection(st)))
        return APR_ENOMEM;
    if (!st->slots &&
        !(st->slots = calloc(RLW_MC_JOURNAL_BATCH, sizeof(*st->slots))))
        return APR_ENOMEM;
    rc = read_journal_seq(st, st->sync_mc, &seq, &cas, &garbage);
    if (rc == MEMCACHED_NOTFOUND)
        return APR_SUCCESS; /* nothing journaled yet */
    if (rc != MEMCACHED_SUCCESS) {
        note_failure(st, "reading the journal", st->sync_mc, rc, now);
        return APR_EGENERAL;
    }
    if (garbage) {
        /* As a garbage counter (RLW00115): replaced, here by this node's
         * position, so that the next number taken is one nobody read. */
        ATOMIC_ADD(&st->shared->bad_records, 1);
        rlw_log(RLW_LOG_WARN,
                "RLW00118: memcached journal sequence %sj:seq "
                "holds something other than a count; replaced "
                "by %llu (the last number this node knows)",
                st->conf.prefix, (unsigned long long)journal_floor(st->shared));
        set_journal_seq(st, st->sync_mc, journal_floor(st->shared), cas);
        note_success(st, now);
        return APR_SUCCESS;
    }
    how = rlw_jpos_begin(pos, seq, RLW_MC_JOURNAL_BACKLOG, now, wait, &jumped);
    switch (how) {
    case RLW_JPOS_BEHIND:
        switch (journal_behind(st, seq, cas, now)) {
        case -1:
            note_failure(st, "reading the journal", st->sync_mc,
                         memcached_last_error(st->sync_mc), now);
            return APR_EGENERAL;
        case 1:
            note_success(st, now);
            return APR_SUCCESS;
        }
        break;
    case RLW_JPOS_JUMPED:
        /* A sequence far ahead (a poisoned counter, or more bans in one
         * interval than a node reads): the last backlog entries only,
         * never a catch-up of millions of gets. */
        ATOMIC_ADD(&st->shared->bad_records, 1);
        if (rlw_log_due(&st->shared->jump_logged_ms, now,
                        RLW_MC_LOG_INTERVAL_MS))
            rlw_log(RLW_LOG_WARN,
                    "RLW00121: memcached journal sequence "
                    "jumped to %llu, %llu entries past the "
                    "last %d; those are skipped (logged at "
                    "most once a minute)",
                    (unsigned long long)seq, (unsigned long long)jumped,
                    RLW_MC_JOURNAL_BACKLOG);
        break;
    default:
        break;
    }
    /* At most RLW_MC_JOURNAL_BACKLOG entries (rlw_jpos_begin()), in
     * order, up to the first one worth waiting for. */
    while (!stop && pos->seen < seq) {
        uint64_t from = pos->seen + 1, to, n;

        to = seq - pos->seen > RLW_MC_JOURNAL_BATCH
                 ? pos->seen + RLW_MC_JOURNAL_BATCH
                 : seq;
        rc = read_entries(st, from, to);
        if (rc != MEMCACHED_SUCCESS) {
            note_failure(st, "reading journal entries", st->sync_mc, rc, now);
            __atomic_store_n(&st->shared->journal_seen, pos->seen,
                             __ATOMIC_RELAXED);
            return APR_EGENERAL;
        }
        for (n = from; n <= to; n++) {
            sync_slot_t *slot = &st->slots[n - from];
            rlw_journal_t j;

            if (!slot->present) {
                if (!rlw_jpos_missing(pos, n)) {
                    stop = 1; /* numbered lately: read again next round */
                    break;
                }
                /* Looking back (a new position): expired, no news. */
                if (n > pos->back_seq && !skipped++)
                    first_skipped = n;
                continue;
            }
            if (open_entry(st, n, slot, &j) == 0)
                apply_entry(st, &j, now);
            pos->seen = n;
        }
    }
    /* Entries expire (at the end of their ban, 60 s at least): missing
     * ones are normal when a node looks back (first round, restart, jump:
     * up to back_seq), news in a round that reads only what was numbered
     * since the last. */
    if (skipped && how == RLW_JPOS_READ &&
        rlw_log_due(&st->shared->skip_logged_ms, now, RLW_MC_LOG_INTERVAL_MS))
        rlw_log(RLW_LOG_NOTICE,
                "RLW00122: %llu memcached journal entries "
                "from %llu never appeared within %ld ms of "
                "their number being taken; skipped (logged "
                "at most once a minute)",
                (unsigned long long)skipped, (unsigned long long)first_skipped,
                (long)wait);
    __atomic_store_n(&st->shared->journal_seen, pos->seen, __ATOMIC_RELAXED);
    note_success(st, now);
    return APR_SUCCESS;
}

static apr_status_t mc_child_init(rlw_store_t *base, apr_pool_t *pchild)
{
    mc_store_t *st = (mc_store_t *)base;
    memcached_st *master;

    st->local->child_init(st->local, pchild);
    master = new_connection(st);
    if (!master)
        return APR_ENOMEM;
    /* One pool per child, as many connections as it has threads: a worker
     * never waits for another one's connection. */
    st->pool = memcached_pool_create(
        master, 1, (uint32_t)(st->conf.pool_size > 0 ? st->conf.pool_size : 1));
    if (!st->pool) {
        memcached_free(master);
        return APR_ENOMEM;
    }
    return APR_SUCCESS;
}

static apr_status_t mc_ban(rlw_store_t *base, const rlw_addr_t *client,
                           int64_t ban_ms, int64_t now, rlw_ban_state_t *out)
{
    mc_store_t *st = (mc_store_t *)base;
    char pseudo[RLW_PSEUDO_LEN + 1];
    char key[RLW_MC_KEY_MAX];
    size_t klen;
    memcached_st *mc;
    memcached_return_t rc = MEMCACHED_FAILURE;
    rlw_ban_state_t b;
    int tries;

    memset(&b, 0, sizeof(b));
    if (rlw_pseudonym(&st->keys, client, pseudo) != 0 || !(mc = pop(st))) {
        note_failure(st, "manual ban", NULL, MEMCACHED_FAILURE, now);
        return st->local->ban(st->local, client, ban_ms, now, out);
    }
    klen = ban_key(st, pseudo, key);
    for (tries = 0; tries < RLW_MC_CAS_TRIES; tries++) {
        uint64_t cas;
        int found;

        rc = read_ban(st, mc, pseudo, key, klen, &b, &cas, &found);
        if (rc != MEMCACHED_SUCCESS)
            break;
        /* An operator's ban keeps the strike count: escalation is for what
         * the client did. */
        {
            rlw_ban_state_t prev = b;

            b.start_ms = now;
            b.until_ms = now + ban_ms;
            start_after(&b, &prev);
        }
        rc = write_ban(st, mc, pseudo, key, klen, &b,
                       ban_ms + st->conf.window_ms, found, cas);
        if (rc == MEMCACHED_SUCCESS) {
            journal_append(st, mc, RLW_JOURNAL_BAN, client, &b, now);
            break;
        }
        if (rc != MEMCACHED_DATA_EXISTS && rc != MEMCACHED_NOTSTORED)
            break;
    }
    push(st, mc);
    if (rc != MEMCACHED_SUCCESS) {
        note_failure(st, "manual ban", mc, rc, now);
        return st->local->ban(st->local, client, ban_ms, now, out);
    }
    rlw_store_shm_learn(st->local, client, &b, st->conf.node, now);
    if (out)
        *out = b;
    return APR_SUCCESS;
}

static void mc_visit(rlw_store_t *base, int64_t now, int64_t window_ms,
                     rlw_visit_fn *fn, void *baton)
{
    mc_store_t *st = (mc_store_t *)base;

    /* Every ban of the cluster reaches the node's table through sync(). */
    st->local->visit(st->local, now, window_ms, fn, baton);
}

static void mc_expired(rlw_store_t *base, int64_t now, int64_t window_ms,
                       rlw_visit_fn *fn, void *baton)
{
    mc_store_t *st = (mc_store_t *)base;

    st->local->expired(st->local, now, window_ms, fn, baton);
}

static void mc_stats(rlw_store_t *base, rlw_store_stats_t *out)
{
    mc_store_t *st = (mc_store_t *)base;

    st->local->stats(st->local, out);
}

void rlw_store_mc_counters(rlw_store_t *base, rlw_store_mc_counters_t *out)
{
    mc_store_t *st = (mc_store_t *)base;
    mc_shared_t *sh = st->shared;

    out->degraded_since_ms =
        __atomic_load_n(&sh->degraded_since_ms, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&sh->errors, __ATOMIC_RELAXED);
    out->fallbacks = __atomic_load_n(&sh->fallbacks, __ATOMIC_RELAXED);
    out->cas_retries = __atomic_load_n(&sh->cas_retries, __ATOMIC_RELAXED);
    out->bad_records = __atomic_load_n(&sh->bad_records, __ATOMIC_RELAXED);
    out->journal_seen = __atomic_load_n(&sh->journal_seen, __ATOMIC_RELAXED);
    out->ops = __atomic_load_n(&sh->ops, __ATOMIC_RELAXED);
}

static void set_ops(mc_store_t *st)
{
    st->base.name = "memcached";
    st->base.child_init = mc_child_init;
    st->base.banned = mc_banned;
    st->base.get = mc_get;
    st->base.attack = mc_attack;
    st->base.unban = mc_unban;
    st->base.stats = mc_stats;
    st->base.sync = mc_sync;
    st->base.ban = mc_ban;
    st->base.visit = mc_visit;
    st->base.expired = mc_expired;
}

const char *rlw_store_mc_create(apr_pool_t *pool, rlw_store_t *local,
                                const rlw_store_mc_conf_t *conf,
                                const rlw_keys_t *keys, rlw_store_t **out)
{
    const char *ukey = "rlw_store_mc";
    mc_store_t *st = NULL;
    apr_shm_t *shm;
    apr_status_t rv;
    const char *err;

    if ((err = rlw_store_mc_check_config(pool, conf->config)))
        return err;
    /* Like the shm table, the node's shared counters and journal position
     * outlive a graceful restart; the configuration is taken anew. */
    apr_pool_userdata_get((void **)&st, ukey, pool);
    if (!st) {
        st = apr_pcalloc(pool, sizeof(*st));
        rv = apr_shm_create(&shm, sizeof(mc_shared_t), NULL, pool);
        if (rv != APR_SUCCESS)
            return "cannot create shared memory for the memcached store";
        st->shared = apr_shm_baseaddr_get(shm);
        memset(st->shared, 0, sizeof(mc_shared_t));
        apr_pool_userdata_set(st, ukey, apr_pool_cleanup_null, pool);
    }
    st->local = local;
    st->conf = *conf;
    st->conf.config = apr_pstrdup(pool, conf->config);
    st->conf.prefix = apr_pstrdup(pool, conf->prefix);
    st->conf.node = apr_pstrdup(pool, conf->node);
    st->keys = *keys;
    rlw_store_shm_set_node(local, conf->node);
    st->pool = NULL;
    /* mod_watchdog stopped the previous cycle's sync task before this. */
    if (st->sync_mc)
        memcached_free(st->sync_mc);
    st->sync_mc = NULL;
    set_ops(st);
    *out = &st->base;
    return NULL;
}

/* --- operator access (rlwafctl) -----------------------------------------
 * Read-only views of what the cluster holds, for the command-line tool.
 * Unlike the request path, these report a failing memcached to the caller
 * (with the server named in err) instead of falling back to shm, and they
 * neither log nor touch the degradation counters. */

/* Writes "<what> failed at memcached HOST:PORT: <reason>" to err. */
static void admin_error(memcached_st *mc, const char *group,
                        memcached_return_t rc, const char *what, char *err,
                        size_t errlen)
{
    memcached_return_t ignored;
    const memcached_instance_st *srv =
        mc ? memcached_server_by_key(mc, group, strlen(group), &ignored) : NULL;
    int sys = mc ? memcached_last_error_errno(mc) : 0;
    char why[160];

    if (!err || !errlen)
        return;
    /* libmemcached's own message carries pointers and source lines: give
     * its code, and the system error behind it ("Connection refused"). */
    if (rc == MEMCACHED_SERVER_TEMPORARILY_DISABLED ||
        rc == MEMCACHED_SERVER_MARKED_DEAD)
        snprintf(why, sizeof(why), "the server does not answer (%s)",
                 memcached_strerror(mc, rc));
    else
        snprintf(why, sizeof(why), "%s%s%s%s", memcached_strerror(mc, rc),
                 sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
    if (srv)
        snprintf(err, errlen, "%s failed at memcached %s:%u: %s", what,
                 memcached_server_name(srv),
                 (unsigned)memcached_server_port(srv), why);
    else
        snprintf(err, errlen, "%s failed: %s", what,
                 mc ? memcached_strerror(mc, rc) : "no memcached connection");
}

apr_status_t rlw_store_mc_lookup(rlw_store_t *base, const rlw_addr_t *client,
                                 int64_t window_ms, int64_t now,
                                 rlw_store_mc_lookup_t *out, char *err,
                                 size_t errlen)
{
    mc_store_t *st = (mc_store_t *)base;
    int64_t width = rlw_window_width(window_ms > 0 ? window_ms : 1);
    int64_t head = now / width;
    char keys[RLW_WINDOW_BUCKETS + 1][RLW_MC_KEY_MAX];
    const char *kp[RLW_WINDOW_BUCKETS + 1];
    size_t kl[RLW_WINDOW_BUCKETS + 1];
    char pseudo[RLW_PSEUDO_LEN + 1];
    memcached_st *mc;
    memcached_return_t rc;
    client_read_t r;
    int n;

    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    if (rlw_pseudonym(&st->keys, client, pseudo) != 0) {
        snprintf(err, errlen, "cannot compute the client's pseudonym");
        return APR_ENOMEM;
    }
    if (!(mc = pop(st))) {
        snprintf(err, errlen, "cannot open a memcached connection");
        return APR_EGENERAL;
    }
    /* The ban record and every bucket live on the pseudonym's server: one
     * multi-get reads them all. */
    kl[0] = ban_key(st, pseudo, keys[0]);
    kp[0] = keys[0];
    n = 1 + bucket_keys(st, pseudo, head, 0, keys + 1, kp + 1, kl + 1);
    rc = memcached_mget_by_key(mc, pseudo, strlen(pseudo), kp, kl, (size_t)n);
    if (rc != MEMCACHED_SUCCESS) {
        admin_error(mc, pseudo, rc, "reading the client's records", err,
                    errlen);
        push(st, mc);
        return APR_EGENERAL;
    }
    rc = fetch_client(st, mc, keys[0], kl[0], head, head, &r);
    out->found = r.found;
    out->bad_record = r.bad_ban;
    out->ban = r.ban;
    if (rc != MEMCACHED_SUCCESS) {
        admin_error(mc, pseudo, rc, "reading the client's records", err,
                    errlen);
        push(st, mc);
        return APR_EGENERAL;
    }
    push(st, mc);
    /* As count_attack(): a ban starts a new count. */
    out->count = count_since_ban(r.vals, head, width, &r.ban);
    return APR_SUCCESS;
}

apr_status_t rlw_store_mc_journal(rlw_store_t *base, uint64_t backlog,
                                  rlw_store_mc_journal_fn *fn, void *baton,
                                  uint64_t *seq_out, uint64_t *bad_out,
                                  char *err, size_t errlen)
{
    mc_store_t *st = (mc_store_t *)base;
    const char *group = RLW_MC_JOURNAL_GROUP;
    size_t gl = strlen(group);
    char(*keys)[RLW_MC_KEY_MAX] = NULL;
    const char **kp = NULL;
    size_t *kl = NULL;
    rlw_journal_t *got = NULL;
    unsigned char *ok = NULL;
    uint64_t seq = 0, from, to, i, bad = 0;
    size_t pfl = strlen(st->conf.prefix);
    memcached_st *mc;
    memcached_return_t rc;
    apr_status_t rv = APR_SUCCESS;
    int garbage;

    *seq_out = 0;
    if (bad_out)
        *bad_out = 0;
    if (!(mc = pop(st))) {
        snprintf(err, errlen, "cannot open a memcached connection");
        return APR_EGENERAL;
    }
    rc = read_journal_seq(st, mc, &seq, NULL, &garbage);
    if (rc == MEMCACHED_NOTFOUND) {
        push(st, mc);
        return APR_SUCCESS; /* nothing journaled yet */
    }
    if (rc != MEMCACHED_SUCCESS) {
        admin_error(mc, group, rc, "reading the journal", err, errlen);
        push(st, mc);
        return APR_EGENERAL;
    }
    if (garbage) {
        snprintf(err, errlen,
                 "the journal sequence %sj:seq holds something "
                 "other than a count (the nodes replace it at "
                 "their next sync)",
                 st->conf.prefix);
        push(st, mc);
        return APR_EGENERAL;
    }
    *seq_out = seq;
    from = backlog && seq > backlog ? seq - backlog + 1 : 1;

    keys = malloc(sizeof(*keys) * RLW_MC_JOURNAL_BATCH);
    kp = malloc(sizeof(*kp) * RLW_MC_JOURNAL_BATCH);
    kl = malloc(sizeof(*kl) * RLW_MC_JOURNAL_BATCH);
    got = malloc(sizeof(*got) * RLW_MC_JOURNAL_BATCH);
    ok = malloc(RLW_MC_JOURNAL_BATCH);
    if (!keys || !kp || !kl || !got || !ok) {
        snprintf(err, errlen, "out of memory reading the journal");
        rv = APR_ENOMEM;
        goto done;
    }
    for (; seq && from <= seq; from = to + 1) {
        memcached_result_st *res;
        size_t n;

        to = seq - from >= RLW_MC_JOURNAL_BATCH
                 ? from + RLW_MC_JOURNAL_BATCH - 1
                 : seq;
        n = journal_keys(st, from, to, keys, kp, kl);
        memset(ok, 0, n);
        rc = memcached_mget_by_key(mc, group, gl, kp, kl, n);
        if (rc != MEMCACHED_SUCCESS) {
            admin_error(mc, group, rc, "reading journal entries", err, errlen);
            rv = APR_EGENERAL;
            goto done;
        }
        while ((res = memcached_fetch_result(mc, NULL, &rc)) != NULL) {
            const char *k = memcached_result_key_value(res);
            size_t klen = memcached_result_key_length(res);
            unsigned char plain[RLW_JOURNAL_LEN + 8];
            size_t pl = 0;
            uint64_t at;

            /* Which entry is this? Results need not come in order. */
            if (klen > pfl && !memcmp(k, st->conf.prefix, pfl) &&
                rlw_parse_journal_key(k + pfl, klen - pfl, &at) == 0) {
                if (at >= from && at <= to && kl[at - from] == klen &&
                    !memcmp(keys[at - from], k, klen)) {
                    if (rlw_open(
                            &st->keys, k, klen,
                            (const unsigned char *)memcached_result_value(res),
                            memcached_result_length(res), plain, sizeof(plain),
                            &pl) == 0 &&
                        rlw_journal_decode(plain, pl, &got[at - from]) == 0)
                        ok[at - from] = 1;
                    else
                        bad++;
                }
            }
            memcached_result_free(res);
        }
        if ((rc = admin_outcome(mc, rc)) != MEMCACHED_SUCCESS) {
            admin_error(mc, group, rc, "reading journal entries", err, errlen);
            rv = APR_EGENERAL;
            goto done;
        }
        for (i = 0; i < n; i++) {
            if (ok[i] && fn(baton, from + i, &got[i]))
                goto done;
        }
    }
done:
    push(st, mc);
    free(keys);
    free(kp);
    free(kl);
    free(got);
    free(ok);
    if (bad_out)
        *bad_out = bad;
    return rv;
}

void rlw_store_mc_close(rlw_store_t *base)
{
    mc_store_t *st = (mc_store_t *)base;

    if (st->pool) {
        memcached_st *master = memcached_pool_destroy(st->pool);

        if (master)
            memcached_free(master);
        st->pool = NULL;
    }
    if (st->sync_mc) {
        memcached_free(st->sync_mc);
        st->sync_mc = NULL;
    }
}

/* The registry's entry (rlw_store_registry.c): the node's shm table first
 * (its ban cache and fallback counter), then the store on top of it. */
static const char *mc_backend_create(apr_pool_t *pool,
                                     const rlw_store_params_t *params,
                                     rlw_store_t **out)
{
    const rlw_store_backend_t *shm = rlw_store_backend_find("shm");
    rlw_store_t *local = NULL;
    rlw_store_mc_conf_t conf;
    const char *err;

    if ((err = shm->create(pool, params, &local)))
        return err;
    memset(&conf, 0, sizeof(conf));
    conf.config = params->config;
    conf.prefix = params->prefix;
    conf.node = params->node;
    conf.timeout_ms = params->timeout_ms;
    conf.window_ms = params->policy.window_ms;
    conf.retry_secs = (int)((params->retry_ms + 999) / 1000);
    conf.pool_size = params->pool_size > 0 ? params->pool_size : 1;
    return rlw_store_mc_create(pool, local, &conf, params->keys, out);
}

const rlw_store_backend_t rlw_store_backend_memcached = {
    "memcached", 1,
    "a libmemcached configuration string, e.g. "
    "\"--SERVER=10.0.0.1:11211 --SERVER=10.0.0.2:11211\"",
    rlw_store_mc_check_config, mc_backend_create};

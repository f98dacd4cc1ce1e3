/* rlw_mc_count.c - a client's bucket counters in memcached: counting one
 * attack, reading the counters back with the ban record, repairing what
 * someone else wrote there, and the operator's lookup.
 *
 * A client's attacks go to RLW_WINDOW_BUCKETS sub-bucket counters
 * "<prefix>c<index>:<pseudonym>", all kept on the one server the pseudonym
 * hashes to (libmemcached *_by_key calls), next to its ban record. One
 * attack is one atomic increment (text "incr"; when the counter is
 * missing, an "add" of 1, see rlw_mcctr.h) and one multi-get of the older
 * buckets and the ban record: the count an attack sees includes every
 * increment that preceded its own, so with T-1 attacks nobody sees T, and
 * the T-th attack sees at least T.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rlw_mc_internal.h"
#include "rlw_mcctr.h"
#include "rlw_mcparse.h"
#include "rlw_log.h"

memcached_return_t rlw_mc_fetch_client(const rlw_mc_store_t *st,
                                       memcached_st *conn, const char *bkey,
                                       size_t bklen, int64_t head,
                                       int64_t newest, rlw_mc_read_t *r)
{
    memcached_return_t rc = MEMCACHED_SUCCESS;
    memcached_result_st *res;

    while ((res = memcached_fetch_result(conn, NULL, &rc)) != NULL) {
        const char *k = memcached_result_key_value(res);
        size_t klen = memcached_result_key_length(res);
        const char *v = memcached_result_value(res);
        size_t vl = memcached_result_length(res);
        int64_t idx;

        unsigned w = 0;
        uint64_t *slot = NULL;

        if (klen == bklen && !memcmp(k, bkey, bklen)) {
            r->found = 1;
            r->cas = memcached_result_cas(res);
            r->bad_ban = rlw_mc_open_ban(st, bkey, bklen, v, vl, &r->ban) != 0;
        } else if ((idx = rlw_mc_key_bucket_w(st->conf.prefix, k, klen,
                                              r->nmore, &w)) >= 0) {
            /* Only the buckets asked for: what else comes back is not
             * this window's count. */
            if (w == 0 && idx <= newest && head - idx < RLW_WINDOW_BUCKETS)
                slot = &r->vals[head - idx];
            else if (w > 0 && idx <= r->more_newest[w - 1] &&
                     r->more_head[w - 1] - idx < RLW_WINDOW_BUCKETS)
                slot = &r->more_vals[w - 1][r->more_head[w - 1] - idx];
        }
        if (slot && rlw_mc_parse_count(v, vl, slot) != 0) {
            r->bad_counters++;
            if (r->nbad < RLW_WINDOW_BUCKETS) {
                r->bad_idx[r->nbad] = idx;
                r->bad_win[r->nbad] = w;
                r->bad_cas[r->nbad++] = memcached_result_cas(res);
            }
        }
        memcached_result_free(res);
    }
    return rlw_mc_outcome(conn, rc);
}

/* The operator's lookup only reports what is bad; the request path counts
 * and logs it here. A bad ban record is overwritten by the next ban. */
void rlw_mc_note_bad(rlw_mc_store_t *st, const char *bkey, size_t bklen,
                     const rlw_mc_read_t *r)
{
    if (r->bad_ban) {
        RLW_MC_ATOMIC_ADD(&st->shared->bad_records, 1);
        rlw_log(RLW_LOG_WARN,
                "RLW00112: memcached ban record %.*s fails "
                "authentication or does not parse; ignored "
                "and overwritten",
                (int)bklen, bkey);
    }
    if (r->bad_counters)
        RLW_MC_ATOMIC_ADD(&st->shared->bad_records, r->bad_counters);
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

/* In text-protocol calls only (rlw_mcctr.h: never the binary increment,
 * whose out-of-memory reply aborts the process inside libmemcached): incr,
 * add of "1" on a miss, incr again when another writer created it
 * meanwhile. *value receives the new count on success. *refused is 1 when
 * memcached refused to increment what the key holds (the caller checks for
 * garbage and repairs it its own way). Returns MEMCACHED_SUCCESS or the
 * last call's code; at most RLW_CTR_CALLS_MAX calls, each counted in
 * ops. */
memcached_return_t rlw_mc_add_one(rlw_mc_store_t *st, memcached_st *conn,
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
            rc = memcached_increment_by_key(conn, group, gl, key, klen, 1,
                                            value);
        } else {
            rc = memcached_add_by_key(conn, group, gl, key, klen, "1", 1, ttl,
                                      0);
            if (rc == MEMCACHED_SUCCESS)
                *value = 1;
        }
        RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
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

/* 1 when key holds something that is not a count (rlw_mc_parse_count()). */
static int holds_garbage(rlw_mc_store_t *st, memcached_st *conn,
                         const char *group, const char *key, size_t klen)
{
    memcached_return_t rc;
    uint32_t flags;
    size_t vl = 0;
    char *v = memcached_get_by_key(conn, group, strlen(group), key, klen, &vl,
                                   &flags, &rc);
    uint64_t x;
    int bad = 0;

    RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
    if (rc == MEMCACHED_SUCCESS && v)
        bad = rlw_mc_parse_count(v, vl, &x) != 0;
    free(v);
    return bad;
}

/* Adds one to the bucket counter key (created at 1 when missing,
 * rlw_mc_add_one()). A counter holding garbage (written by someone else:
 * memcached refuses to increment it) or a count no client can reach in
 * one bucket (RLW_COUNT_MAX: memcached happily increments 2^63) is
 * reported and replaced by this attack's 1. */
static memcached_return_t increment(rlw_mc_store_t *st, memcached_st *conn,
                                    const char *pseudo, const char *key,
                                    size_t klen, time_t ttl, uint64_t *value)
{
    int refused = 0;
    memcached_return_t rc =
        rlw_mc_add_one(st, conn, pseudo, key, klen, ttl, value, &refused);

    if (rc == MEMCACHED_SUCCESS && *value <= RLW_COUNT_MAX)
        return rc;
    if (rc == MEMCACHED_SUCCESS ||
        (refused && holds_garbage(st, conn, pseudo, key, klen))) {
        RLW_MC_ATOMIC_ADD(&st->shared->bad_records, 1);
        rlw_log(RLW_LOG_WARN,
                "RLW00115: memcached counter %.*s holds "
                "something other than a count; replaced",
                (int)klen, key);
        rc = memcached_set_by_key(conn, pseudo, strlen(pseudo), key, klen, "1",
                                  1, ttl, 0);
        RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
        *value = 1;
    }
    return rc;
}

/* Resets the older counters that r found bad to "0", each only if nobody
 * changed it since it was read (cas), so that garbage is read, counted and
 * logged once rather than at every attack. */
static void repair_counters(rlw_mc_store_t *st, memcached_st *conn,
                            const char *pseudo, const rlw_mc_read_t *r,
                            time_t ttl)
{
    char key[RLW_MC_KEY_MAX];
    size_t plen = strlen(pseudo), kl;
    int i;

    for (i = 0; i < r->nbad; i++) {
        if (!(kl = rlw_mc_bucket_key_w(st->conf.prefix, pseudo, r->bad_win[i],
                                       r->bad_idx[i], key)))
            continue;
        memcached_cas_by_key(conn, pseudo, plen, key, kl, "0", 1, ttl, 0,
                             r->bad_cas[i]);
        RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
    }
    if (r->nbad)
        rlw_log(RLW_LOG_WARN,
                "RLW00116: %d memcached counters of %s hold "
                "something other than a count; ignored and "
                "reset to 0",
                r->nbad, pseudo);
}

/* The keys of the client's buckets of window win, head - first,
 * head - first - 1, ... back to the oldest of the window (never below
 * index 0); returns how many. */
static int bucket_keys(const rlw_mc_store_t *st, const char *pseudo,
                       unsigned win, int64_t head, int first,
                       char (*keys)[RLW_MC_KEY_MAX], const char **kp,
                       size_t *kl)
{
    int i, n = 0;

    for (i = first; i < RLW_WINDOW_BUCKETS && head - i >= 0; i++, n++) {
        kl[n] = rlw_mc_bucket_key_w(st->conf.prefix, pseudo, win, head - i,
                                    keys[n]);
        kp[n] = keys[n];
    }
    return n;
}

/* Keys one multi-get asks for: every window's older buckets, and the ban
 * record. */
#define RLW_MC_MGET_MAX (RLW_PAIRS_MAX * RLW_WINDOW_BUCKETS + 1)

/* Adds one to the current bucket of a window beyond the first without
 * waiting for an answer: "add KEY 0 TTL noreply" (creates it when
 * missing; nothing when it exists) then "incr KEY 1 noreply". memcached
 * runs a connection's commands in order, so the multi-get that follows on
 * this connection reads the bucket with this increment in it: the window's
 * count is as exact as the first one's, without a round trip of its own.
 * What cannot be seen this way is read there: a bucket holding garbage
 * (the increment is refused silently) is reset like any bad counter; a
 * bucket memcached could not store (out of memory) reads as missing, which
 * can only delay a ban. */
static void increment_quiet(memcached_st *conn, const char *pseudo,
                            const char *key, size_t klen, time_t ttl)
{
    size_t plen = strlen(pseudo);
    uint64_t ignored;

    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_NOREPLY, 1);
    memcached_add_by_key(conn, pseudo, plen, key, klen, "0", 1, ttl, 0);
    memcached_increment_by_key(conn, pseudo, plen, key, klen, 1, &ignored);
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_NOREPLY, 0);
}

/* Round trips: the increment of the first window's current bucket, then
 * one multi-get of every window's older buckets, the current buckets of
 * the other windows (RateLimitWAFThreshold pairs; their increments went
 * out just before, unanswered: increment_quiet()) and the ban record, all
 * on the client's server: 2 whatever the number of pairs, one more for the
 * attack that creates the first window's current bucket (the first of
 * each client in each bucket). Each window's count is exact as the one
 * window's is: its increment precedes the multi-get that reads it. */
memcached_return_t rlw_mc_count_attack(rlw_mc_store_t *st, memcached_st *conn,
                                       const char *pseudo, const char *bkey,
                                       size_t bklen, const rlw_policy_t *p,
                                       int64_t now, uint32_t *counts,
                                       rlw_mc_read_t *r)
{
    char keys[RLW_MC_MGET_MAX][RLW_MC_KEY_MAX];
    const char *kp[RLW_MC_MGET_MAX];
    size_t kl[RLW_MC_MGET_MAX];
    uint64_t value = 0;
    int64_t head[RLW_PAIRS_MAX], width[RLW_PAIRS_MAX];
    unsigned np = rlw_policy_npairs(p), w;
    memcached_return_t rc;
    int n = 0;

    memset(r, 0, sizeof(*r));
    /* The other windows' first, unanswered: the first window's answer
     * then comes after they have been applied. */
    for (w = np; w-- > 0;) {
        int64_t len = rlw_policy_pair(p, w).window_ms;
        time_t ttl;
        char cur[RLW_MC_KEY_MAX];
        size_t curlen;

        width[w] = rlw_window_width(len > 0 ? len : 1);
        head[w] = now / width[w];
        ttl = (time_t)rlw_mc_ttl_secs(len + width[w]);
        curlen = rlw_mc_bucket_key_w(st->conf.prefix, pseudo, w, head[w], cur);
        if (w > 0) {
            increment_quiet(conn, pseudo, cur, curlen, ttl);
            continue;
        }
        rc = increment(st, conn, pseudo, cur, curlen, ttl, &value);
        if (rc != MEMCACHED_SUCCESS)
            return rc;
    }
    /* The first window's older buckets; the others' current ones too. */
    for (w = 0; w < np; w++)
        n += bucket_keys(st, pseudo, w, head[w], w > 0 ? 0 : 1, keys + n,
                         kp + n, kl + n);
    kp[n] = bkey;
    kl[n] = bklen;
    rc = memcached_mget_by_key(conn, pseudo, strlen(pseudo), kp, kl,
                               (size_t)n + 1);
    RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    /* The first window's current bucket is its increment's: older ones
     * only; the other windows' current buckets are read here. */
    r->nmore = np - 1;
    for (w = 1; w < np; w++) {
        r->more_head[w - 1] = head[w];
        r->more_newest[w - 1] = head[w];
    }
    rc = rlw_mc_fetch_client(st, conn, bkey, bklen, head[0], head[0] - 1, r);
    rlw_mc_note_bad(st, bkey, bklen, r);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    repair_counters(
        st, conn, pseudo, r,
        (time_t)rlw_mc_ttl_secs(rlw_policy_longest_window(p) + width[0]));
    r->vals[0] = value;
    counts[0] = rlw_mc_count_since_ban(r->vals, head[0], width[0], &r->ban);
    for (w = 1; w < np; w++)
        counts[w] = rlw_mc_count_since_ban(r->more_vals[w - 1], head[w],
                                           width[w], &r->ban);
    return MEMCACHED_SUCCESS;
}

/* --- operator access (rlwafctl) ----------------------------------------
 * Unlike the request path, this reports a failing memcached to the caller
 * (with the server named in err) instead of falling back to shm, and
 * neither logs nor touches the degradation counters. */

apr_status_t rlw_store_mc_lookup(rlw_store_t *base, const rlw_addr_t *client,
                                 const int64_t *windows_ms, unsigned nwin,
                                 int64_t now, rlw_store_mc_lookup_t *out,
                                 char *err, size_t errlen)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    int64_t width[RLW_PAIRS_MAX], head[RLW_PAIRS_MAX];
    char keys[RLW_MC_MGET_MAX][RLW_MC_KEY_MAX];
    const char *kp[RLW_MC_MGET_MAX];
    size_t kl[RLW_MC_MGET_MAX];
    char pseudo[RLW_PSEUDO_LEN + 1];
    memcached_st *conn;
    memcached_return_t rc;
    rlw_mc_read_t r;
    unsigned w;
    int n;

    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    if (nwin < 1)
        nwin = 1;
    if (nwin > RLW_PAIRS_MAX)
        nwin = RLW_PAIRS_MAX;
    for (w = 0; w < nwin; w++) {
        width[w] = rlw_window_width(windows_ms[w] > 0 ? windows_ms[w] : 1);
        head[w] = now / width[w];
    }
    if (rlw_pseudonym(&st->keys, client, pseudo) != 0) {
        snprintf(err, errlen, "cannot compute the client's pseudonym");
        return APR_ENOMEM;
    }
    if (!(conn = rlw_mc_pop(st))) {
        snprintf(err, errlen, "cannot open a memcached connection");
        return APR_EGENERAL;
    }
    /* The ban record and every bucket live on the pseudonym's server: one
     * multi-get reads them all. */
    kl[0] = rlw_mc_ban_key(st->conf.prefix, pseudo, keys[0]);
    kp[0] = keys[0];
    n = 1;
    for (w = 0; w < nwin; w++)
        n += bucket_keys(st, pseudo, w, head[w], 0, keys + n, kp + n, kl + n);
    r.nmore = nwin - 1;
    for (w = 1; w < nwin; w++) {
        r.more_head[w - 1] = head[w];
        r.more_newest[w - 1] = head[w];
    }
    rc = memcached_mget_by_key(conn, pseudo, strlen(pseudo), kp, kl, (size_t)n);
    if (rc == MEMCACHED_SUCCESS)
        rc =
            rlw_mc_fetch_client(st, conn, keys[0], kl[0], head[0], head[0], &r);
    if (rc != MEMCACHED_SUCCESS) {
        rlw_mc_admin_error(conn, pseudo, rc, "reading the client's records",
                           err, errlen);
        rlw_mc_push(st, &conn);
        return APR_EGENERAL;
    }
    rlw_mc_push(st, &conn);
    out->found = r.found;
    out->bad_record = r.bad_ban;
    out->ban = r.ban;
    /* As an attack's count: a ban starts a new count. */
    out->counts[0] = rlw_mc_count_since_ban(r.vals, head[0], width[0], &r.ban);
    for (w = 1; w < nwin; w++)
        out->counts[w] = rlw_mc_count_since_ban(r.more_vals[w - 1], head[w],
                                                width[w], &r.ban);
    out->count = out->counts[0];
    return APR_SUCCESS;
}

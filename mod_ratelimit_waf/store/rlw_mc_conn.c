/* rlw_mc_conn.c - the memcached store's connections (one pool per process,
 * one connection for sync()) and what a failed call does to the node:
 * counted, the store flagged degraded (attacks fall back to shared memory)
 * and logged once a minute, until a call succeeds a retry period and one
 * second after the last failure.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rlw_mc_internal.h"
#include "rlw_log.h"

memcached_st *rlw_mc_connect(rlw_mc_store_t *st)
{
    memcached_st *conn = memcached(st->conf.config, strlen(st->conf.config));
    uint64_t to = (uint64_t)st->conf.timeout_ms;

    if (!conn)
        return NULL;
    /* The text protocol (libmemcached's default), never the binary one:
     * libmemcached 1.1 turns a binary out-of-memory reply to an increment
     * into an assertion failure, abort() of the whole httpd child
     * (rlw_mcctr.h); in text it is an error like any other. CAS works in
     * text too (gets/cas). Keys are printable without spaces (prefix
     * checked by rlw_store_printable(), pseudonyms base64url) and far
     * below 250 bytes (RLW_MC_KEY_MAX). Every call must give up quickly:
     * a stuck memcached must never stall a worker. */
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, to);
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, to);
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, to * 1000);
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_SND_TIMEOUT, to * 1000);
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    /* A server whose connect failed is skipped for RETRY_TIMEOUT seconds
     * (libmemcached 1.1 marks it at the first failed connect), so a dead
     * server costs one timeout per connection per retry period, not one
     * per request. A timed-out answer marks nothing: rlw_mc_hold(). */
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_SERVER_FAILURE_LIMIT, 2);
    memcached_behavior_set(conn, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT,
                           (uint64_t)st->conf.retry_secs);
    return conn;
}

memcached_st *rlw_mc_pop(rlw_mc_store_t *st)
{
    memcached_return_t rc;
    struct timespec wait;

    if (!st->pool)
        return NULL;
    wait.tv_sec = 0;
    wait.tv_nsec = (long)st->conf.timeout_ms * 1000000L;
    return memcached_pool_fetch(st->pool, &wait, &rc);
}

void rlw_mc_push(rlw_mc_store_t *st, memcached_st **conn)
{
    if (*conn)
        memcached_pool_release(st->pool, *conn);
    *conn = NULL;
}

void rlw_mc_note_failure(rlw_mc_store_t *st, const char *what,
                         memcached_st *conn, memcached_return_t rc, int64_t now)
{
    rlw_mc_shared_t *sh = st->shared;
    const char *why = conn ? memcached_strerror(conn, rc) : "no connection";
    int64_t zero = 0;

    RLW_MC_ATOMIC_ADD(&sh->errors, 1);
    __atomic_store_n(&sh->last_failure_ms, now, __ATOMIC_RELAXED);
    if (__atomic_compare_exchange_n(&sh->degraded_since_ms, &zero, now, 0,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        /* Once per episode and node: the process that flipped the flag. */
        char detail[256];

        snprintf(detail, sizeof(detail), "%s failed: %s", what, why);
        rlw_notice(RLW_NOTICE_STORE_DEGRADED, detail);
    }
    if (!rlw_log_due(&sh->degraded_logged_ms, now, RLW_MC_LOG_INTERVAL_MS))
        return;
    rlw_log(RLW_LOG_ERR,
            "RLW00110: memcached store degraded: %s failed: %s; attacks are "
            "counted in this node's shared memory until the pool answers "
            "(%lu errors so far, logged at most once a minute)",
            what, why,
            (unsigned long)__atomic_load_n(&sh->errors, __ATOMIC_RELAXED));
}

void rlw_mc_note_success(rlw_mc_store_t *st, int64_t now)
{
    rlw_mc_shared_t *sh = st->shared;
    int64_t since = __atomic_load_n(&sh->degraded_since_ms, __ATOMIC_RELAXED);
    /* One server down while the others answer is one episode, not a flip
     * per call: recovered means no failure for a retry period and one
     * second. libmemcached skips a failed server until the whole second
     * after "failure second + retry" (it keeps time in seconds), so until
     * then a pooled connection that failed at the end of the outage still
     * fails at once; after that, none can, and "recovered" means that
     * counting in memcached is exact again on every connection. */
    int64_t quiet = ((int64_t)st->conf.retry_secs + 1) * 1000;

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

int rlw_mc_server_of(memcached_st *conn, const char *group)
{
    memcached_return_t rc;
    const memcached_instance_st *srv =
        memcached_server_by_key(conn, group, strlen(group), &rc);
    uint32_t i, n = memcached_server_count(conn);

    if (!srv)
        return -1;
    for (i = 0; i < n && i < RLW_MC_HOLD_SERVERS; i++)
        if (memcached_server_instance_by_position(conn, i) == srv)
            return (int)i;
    return -1;
}

void rlw_mc_hold(rlw_mc_store_t *st, int server, memcached_return_t rc,
                 int64_t now)
{
    if (rc != MEMCACHED_TIMEOUT || server < 0 || server >= RLW_MC_HOLD_SERVERS)
        return;
    __atomic_store_n(&st->shared->hold_until_ms[server],
                     now + (int64_t)st->conf.retry_secs * 1000,
                     __ATOMIC_RELAXED);
}

int rlw_mc_held(const rlw_mc_store_t *st, int server, int64_t now)
{
    if (server < 0 || server >= RLW_MC_HOLD_SERVERS)
        return 0;
    return now < __atomic_load_n(&st->shared->hold_until_ms[server],
                                 __ATOMIC_RELAXED);
}

/* libmemcached 1.1 reports a read from a server it cannot reach (e.g. no
 * route to host) as MEMCACHED_NOTFOUND, and only its last error (reset by
 * each call) tells the truth. An operator must never read "not banned"
 * from an unreachable server. */
memcached_return_t rlw_mc_outcome(memcached_st *conn, memcached_return_t rc)
{
    memcached_return_t last;

    if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_END &&
        rc != MEMCACHED_NOTFOUND)
        return rc;
    last = memcached_last_error(conn);
    if (last != MEMCACHED_SUCCESS && last != MEMCACHED_END &&
        last != MEMCACHED_NOTFOUND)
        return last;
    return MEMCACHED_SUCCESS;
}

void rlw_mc_admin_error(memcached_st *conn, const char *group,
                        memcached_return_t rc, const char *what, char *err,
                        size_t errlen)
{
    memcached_return_t ignored;
    const memcached_instance_st *srv =
        conn ? memcached_server_by_key(conn, group, strlen(group), &ignored)
             : NULL;
    int sys = conn ? memcached_last_error_errno(conn) : 0;
    char why[160];

    if (!err || !errlen)
        return;
    /* libmemcached's own message carries pointers and source lines: give
     * its code, and the system error behind it ("Connection refused"). */
    if (rc == MEMCACHED_SERVER_TEMPORARILY_DISABLED ||
        rc == MEMCACHED_SERVER_MARKED_DEAD)
        snprintf(why, sizeof(why), "the server does not answer (%s)",
                 memcached_strerror(conn, rc));
    else
        snprintf(why, sizeof(why), "%s%s%s%s", memcached_strerror(conn, rc),
                 sys ? " (" : "", sys ? strerror(sys) : "", sys ? ")" : "");
    if (srv)
        snprintf(err, errlen, "%s failed at memcached %s:%u: %s", what,
                 memcached_server_name(srv),
                 (unsigned)memcached_server_port(srv), why);
    else
        snprintf(err, errlen, "%s failed: %s", what,
                 conn ? memcached_strerror(conn, rc)
                      : "no memcached connection");
}

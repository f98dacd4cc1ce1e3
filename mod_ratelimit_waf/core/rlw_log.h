/* rlw_log.h - logging from the httpd-free core.
 *
 * The core never calls httpd: it logs through one callback, which gets the
 * file and line of the call and the context the glue set for the thread.
 * Inside httpd the module installs a callback that logs against the request
 * being served (ap_log_rerror(): its virtual host) or the main server; unit
 * tests and tools print to stderr (the default). Every message starts with
 * its own tag, "RLWnnnnn: ", unique per call site (next free number in
 * docs/log-tags.md).
 */
#ifndef RLW_LOG_H
#define RLW_LOG_H

#include <stdarg.h>
#include <stdint.h>

typedef enum rlw_log_level {
    RLW_LOG_ERR = 3,
    RLW_LOG_WARN = 4,
    RLW_LOG_NOTICE = 5,
    RLW_LOG_INFO = 6,
    RLW_LOG_DEBUG = 7
} rlw_log_level_t;

/* Where a log line comes from, and what it concerns. */
typedef struct rlw_log_src {
    const char *file; /* the calling source file (__FILE__) */
    int line;         /* its line (__LINE__) */
    const void *ctx;  /* the calling thread's rlw_log_ctx_set(), or NULL */
} rlw_log_src_t;

/* Receives every finished message. In httpd, src->ctx is the request_rec
 * being served (the line goes to its virtual host's error log), NULL
 * elsewhere (the main server's). */
typedef void rlw_log_cb(void *baton, rlw_log_level_t level,
                        const rlw_log_src_t *src, const char *msg);

/* Installs cb (NULL restores the stderr default). Not thread-safe: call once
 * at start-up. */
void rlw_log_set(rlw_log_cb *cb, void *baton);

/* Sets what this thread's core log lines concern, until the next call:
 * the glue's own context (httpd: the request_rec it hands to the store
 * call that follows), NULL for none. Returns the previous one, for the
 * caller to restore. Thread-local: other threads are not affected. */
const void *rlw_log_ctx_set(const void *ctx);

/* Logs a message (which starts with its tag) with the caller's file and
 * line and this thread's context. */
#define rlw_log(level, ...) rlw_log_at(__FILE__, __LINE__, (level), __VA_ARGS__)

void rlw_log_at(const char *file, int line, rlw_log_level_t level,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* 1 when a rate-limited log line is due: at most one per interval_ms
 * among every thread and process sharing *last_ms (shared memory). The
 * caller that gets 1 logs; the others stay silent. */
int rlw_log_due(int64_t *last_ms, int64_t now_ms, int64_t interval_ms);

/* Facts a store reports beyond log lines, for SIEM events: once when the
 * node's store becomes degraded, once when it recovers. */
typedef enum rlw_notice {
    RLW_NOTICE_STORE_DEGRADED = 1,
    RLW_NOTICE_STORE_RECOVERED
} rlw_notice_t;

typedef void rlw_notice_cb(void *baton, rlw_notice_t what, const char *detail);

/* Installs cb (NULL: notices are dropped). Call once at start-up. */
void rlw_notice_set(rlw_notice_cb *cb, void *baton);

void rlw_notice(rlw_notice_t what, const char *detail);

#endif

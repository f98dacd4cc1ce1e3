/* rlw_log.h - logging from the httpd-free core.
 *
 * The core never calls httpd: it logs through one callback. Inside httpd the
 * module installs a callback that calls ap_log_error(); unit tests and tools
 * print to stderr (the default). Every message starts with its own tag,
 * "RLWnnnnn: ", unique per call site (next free number in docs/log-tags.md).
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

typedef void rlw_log_cb(void *baton, rlw_log_level_t level, const char *msg);

/* Installs cb (NULL restores the stderr default). Not thread-safe: call once
 * at start-up. */
void rlw_log_set(rlw_log_cb *cb, void *baton);

void rlw_log(rlw_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

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

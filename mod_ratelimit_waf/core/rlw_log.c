/* rlw_log.c - the core's single logging callback.
 *
 * A message is formatted here, once, so that a callback (ap_log_error in
 * httpd, stderr elsewhere) only ever sees a finished string and needs no
 * varargs plumbing of its own.
 */
#include "rlw_log.h"

#include <stdio.h>

/* Longest message passed to a callback, NUL included; longer ones are cut
 * (vsnprintf truncates safely). Log lines are short tags plus addresses. */
#define RLW_LOG_MAX 1024

static const char *level_name(rlw_log_level_t level)
{
    switch (level) {
    case RLW_LOG_ERR:
        return "error";
    case RLW_LOG_WARN:
        return "warn";
    case RLW_LOG_NOTICE:
        return "notice";
    case RLW_LOG_INFO:
        return "info";
    case RLW_LOG_DEBUG:
        return "debug";
    }
    return "log";
}

static void log_stderr(void *baton, rlw_log_level_t level,
                       const rlw_log_src_t *src, const char *msg)
{
    (void)baton;
    (void)src;
    fprintf(stderr, "[%s] %s\n", level_name(level), msg);
}

static rlw_log_cb *log_cb = log_stderr;
static void *log_baton;
/* Per thread: a request is served by one thread at a time. */
static __thread const void *log_ctx;

void rlw_log_set(rlw_log_cb *cb, void *baton)
{
    log_cb = cb ? cb : log_stderr;
    log_baton = cb ? baton : NULL;
}

const void *rlw_log_ctx_set(const void *ctx)
{
    const void *prev = log_ctx;

    log_ctx = ctx;
    return prev;
}

void rlw_log_at(const char *file, int line, rlw_log_level_t level,
                const char *fmt, ...)
{
    rlw_log_src_t src = {file, line, log_ctx};
    char buf[RLW_LOG_MAX];
    va_list ap;

    va_start(ap, fmt);
    if (vsnprintf(buf, sizeof(buf), fmt, ap) < 0)
        snprintf(buf, sizeof(buf), "(unformattable message: %s)", fmt);
    va_end(ap);
    log_cb(log_baton, level, &src, buf);
}

int rlw_log_due(int64_t *last_ms, int64_t now_ms, int64_t interval_ms)
{
    int64_t last = __atomic_load_n(last_ms, __ATOMIC_RELAXED);

    return now_ms - last >= interval_ms &&
           __atomic_compare_exchange_n(last_ms, &last, now_ms, 0,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

static rlw_notice_cb *notice_cb;
static void *notice_baton;

void rlw_notice_set(rlw_notice_cb *cb, void *baton)
{
    notice_cb = cb;
    notice_baton = baton;
}

void rlw_notice(rlw_notice_t what, const char *detail)
{
    if (notice_cb)
        notice_cb(notice_baton, what, detail ? detail : "");
}

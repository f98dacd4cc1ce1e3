/* mod_rlw_events.c - SIEM events: one JSON line per fact.
 *
 * RateLimitWAFEventLog sends lines to a file (opened by the parent before
 * the children fork, O_APPEND), to a reliable piped logger ("|program",
 * restarted by httpd like CustomLog's), or to syslog ("syslog[:facility]").
 * A line is at most RLW_EVENT_LINE_MAX (4096 = PIPE_BUF) bytes, written in
 * one write(), so lines from concurrent processes never interleave.
 *
 * No request ever waits for the event log's reader (docs/operations.md,
 * "Event delivery"): rlw_event_emit() formats the line and pushes it into
 * its process's bounded queue (rlw_evqueue.h), under a mutex held for a
 * memcpy. One writer thread per child process takes the lines out and
 * writes them; a stalled reader (a "|program" that stops reading, a slow
 * disk, a full /dev/log) blocks that thread alone. When the queue is full
 * the line is dropped and counted (events_dropped), with a warning at most
 * once a minute per process. At child exit (graceful restart, idle child,
 * stop) the writer gets DRAIN_MS to empty the queue; the exit never waits
 * longer, and what is left is counted as dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_portable.h>

#include "mod_rlw.h"
#include "rlw_event.h"
#include "rlw_evqueue.h"
#include "rlw_log.h"
#include "rlw_time.h"

APLOG_USE_MODULE(ratelimit_waf);

/* How long an exiting child lets its writer empty the queue (ms). */
#define DRAIN_MS 1000
/* At most one warning about dropped lines, and one about failed writes,
 * per process per this many ms. */
#define WARN_INTERVAL_MS 60000

_Static_assert(RLW_EVENT_LINE_MAX <= RLW_EVQ_LINE_MAX,
               "every formatted event line fits in the queue");

typedef enum { SINK_NONE = 0, SINK_FILE, SINK_PIPE, SINK_SYSLOG } sink_t;

static sink_t sink = SINK_NONE;
static int sink_fd = -1;        /* file or pipe: written by the writer */
static server_rec *sink_server; /* for error reports */
static const char *sink_store;  /* store name in events */
static const char *sink_node;   /* observer.hostname */
static uint32_t queue_lines;    /* RateLimitWAFEventQueue */

/* This process's queue and its writer. A process without a writer (the
 * parent, or a child whose writer could not start) keeps the empty queue
 * of rlw_evq_init(NULL): every line is dropped and counted, never
 * written from a request thread. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* to the writer: a line came, or stop */
    pthread_cond_t done; /* from the writer: it returned (monotonic clock;
                          * initialised with the writer) */
    rlw_evq_t q;         /* under lock */
    int stop;            /* under lock: the process exits */
    int finished;        /* under lock: the writer returned */
    int64_t deadline_ms; /* under lock: when stopping, give up (monotonic) */
    void *buf;           /* q's ring */
    pthread_t thread;
} w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

/* Drop warnings and the drain bound read rlw_mono_ms(): they ignore clock
 * steps. */
static int64_t write_warned_ms; /* rlw_log_due() of RLW00033 */

const char *rlw_event_log_check(apr_pool_t *p, const char *target)
{
    int fac;

    if (rlw_event_syslog_target(target, &fac) < 0)
        return apr_psprintf(
            p, "unknown syslog facility '%s' (use " RLW_EVENT_FACILITIES ")",
            target + 7);
    if (target[0] == '|' && !target[1])
        return "a piped event log needs a program after '|'";
    return NULL;
}

static void notice_to_event(void *baton, rlw_notice_t what, const char *detail)
{
    rlw_event_t ev;

    (void)baton;
    memset(&ev, 0, sizeof(ev));
    ev.kind = what == RLW_NOTICE_STORE_DEGRADED ? RLW_EV_STORE_DEGRADED
                                                : RLW_EV_STORE_RECOVERED;
    ev.reason = detail;
    rlw_event_emit(&ev);
}

int rlw_events_open(apr_pool_t *pconf, server_rec *s)
{
    const rlw_module_conf_t *mod = rlw_module_conf(s);
    const char *t = mod->event_log;
    apr_file_t *f = NULL;
    apr_os_file_t fd;
    int fac = LOG_DAEMON;
    apr_status_t rv;

    sink = SINK_NONE;
    sink_fd = -1;
    sink_server = s;
    sink_store = mod->store_name;
    sink_node = mod->node_name;
    queue_lines = (uint32_t)mod->event_queue;
    rlw_notice_set(notice_to_event, NULL);
    if (!t)
        return OK;
    if (rlw_event_syslog_target(t, &fac)) {
        /* An unknown facility was refused by rlw_event_log_check(). Only
         * the writer threads call syslog(). */
        openlog("mod_ratelimit_waf", LOG_PID | LOG_NDELAY, fac);
        sink = SINK_SYSLOG;
        return OK;
    }
    if (t[0] == '|') {
        /* Reliable piped log: httpd restarts the program if it dies. */
        piped_log *pl = ap_open_piped_log(pconf, t + 1);

        if (!pl) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         "RLW00030: RateLimitWAFEventLog: cannot start "
                         "'%s'",
                         t + 1);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        f = ap_piped_log_write_fd(pl);
        sink = SINK_PIPE;
    } else {
        rv = apr_file_open(&f, ap_server_root_relative(pconf, t),
                           APR_FOPEN_WRITE | APR_FOPEN_APPEND |
                               APR_FOPEN_CREATE | APR_FOPEN_LARGEFILE,
                           APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD,
                           pconf);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                         "RLW00031: RateLimitWAFEventLog: cannot open '%s'", t);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        sink = SINK_FILE;
    }
    /* The writer uses the descriptor itself: one write() per line. */
    apr_os_file_get(&fd, f);
    sink_fd = fd;
    return OK;
}

/* Writes one line to the sink; may block (the writer thread only). */
static void deliver(const char *line, size_t n)
{
    size_t off = 0;

    if (sink == SINK_SYSLOG) {
        /* syslog adds its own line end. */
        syslog(LOG_NOTICE, "%.*s", (int)(n > 0 ? n - 1 : 0), line);
        return;
    }
    while (off < n) {
        ssize_t k = write(sink_fd, line + off, n - off);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int err = k < 0 ? errno : EIO;

            if (rlw_log_due(&write_warned_ms, rlw_mono_ms(), WARN_INTERVAL_MS))
                ap_log_error(APLOG_MARK, APLOG_WARNING, err, sink_server,
                             "RLW00033: cannot write to the event log; "
                             "events are lost until it works again "
                             "(logged at most once a minute per process)");
            return;
        }
        off += (size_t)k;
    }
}

/* The writer thread: takes lines out of the queue, one at a time, and
 * writes them without the lock. */
static void *writer_main(void *arg)
{
    char line[RLW_EVQ_LINE_MAX];
    size_t n;

    (void)arg;
    pthread_mutex_lock(&w.lock);
    for (;;) {
        while (!rlw_evq_lines(&w.q) && !w.stop)
            pthread_cond_wait(&w.wake, &w.lock);
        if (!rlw_evq_lines(&w.q) || (w.stop && rlw_mono_ms() >= w.deadline_ms))
            break;
        n = rlw_evq_pop(&w.q, line, sizeof(line));
        pthread_mutex_unlock(&w.lock);
        deliver(line, n);
        pthread_mutex_lock(&w.lock);
    }
    w.finished = 1;
    pthread_cond_signal(&w.done);
    pthread_mutex_unlock(&w.lock);
    return NULL;
}

/* Child exit: lets the writer drain for DRAIN_MS at most. A writer still
 * blocked on the sink after that is left behind (the process exit ends
 * it), with its queue and buffer: nothing it may touch is freed. */
static apr_status_t events_child_exit(void *data)
{
    struct timespec until;
    uint64_t unreported;
    uint32_t left;
    int finished;

    (void)data;
    pthread_mutex_lock(&w.lock);
    w.stop = 1;
    w.deadline_ms = rlw_mono_ms() + DRAIN_MS;
    until.tv_sec = (time_t)(w.deadline_ms / 1000);
    until.tv_nsec = (long)(w.deadline_ms % 1000) * 1000000;
    pthread_cond_signal(&w.wake);
    while (!w.finished &&
           pthread_cond_timedwait(&w.done, &w.lock, &until) != ETIMEDOUT)
        ;
    finished = w.finished;
    left = rlw_evq_lines(&w.q);
    unreported = rlw_evq_drop_flush(&w.q);
    if (finished)
        rlw_evq_init(&w.q, NULL, 0, 0); /* a late event is dropped */
    pthread_mutex_unlock(&w.lock);
    if (finished) {
        pthread_join(w.thread, NULL);
        free(w.buf);
        w.buf = NULL;
    }
    if (left && rlw_the_metrics)
        rlw_metrics_add(rlw_the_metrics, RLW_M_EVENTS_DROPPED, rlw_now_ms(),
                        left);
    if (left || unreported)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sink_server,
                     "RLW00052: process exit: %lu events dropped since "
                     "the last warning, %lu still queued and not written "
                     "after %d ms (the event log's reader is slow or "
                     "stalled)",
                     (unsigned long)unreported, (unsigned long)left, DRAIN_MS);
    return APR_SUCCESS;
}

void rlw_events_child_init(apr_pool_t *pchild, server_rec *s)
{
    size_t cap = (size_t)queue_lines * RLW_EVQ_BYTES_PER_LINE;
    pthread_condattr_t ca;
    sigset_t all, old;
    int rv;

    if (sink == SINK_NONE || !queue_lines)
        return;
    w.buf = malloc(cap);
    if (!w.buf) {
        ap_log_error(APLOG_MARK, APLOG_ERR, APR_ENOMEM, s,
                     "RLW00051: cannot allocate the event queue (%lu "
                     "bytes); this process drops its events (counted)",
                     (unsigned long)cap);
        return;
    }
    /* The exit's bounded wait must not stretch with a clock step. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w.done, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_lock(&w.lock);
    rlw_evq_init(&w.q, w.buf, cap, queue_lines);
    w.stop = 0;
    w.finished = 0;
    pthread_mutex_unlock(&w.lock);
    /* httpd's signals (graceful stop, ...) belong to its own threads: the
     * writer is created with all of them blocked. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rv = pthread_create(&w.thread, NULL, writer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "RLW00051: cannot start the event writer thread; this "
                     "process drops its events (counted)");
        pthread_mutex_lock(&w.lock);
        rlw_evq_init(&w.q, NULL, 0, 0);
        pthread_mutex_unlock(&w.lock);
        free(w.buf);
        w.buf = NULL;
        return;
    }
    apr_pool_cleanup_register(pchild, NULL, events_child_exit,
                              apr_pool_cleanup_null);
}

void rlw_event_emit(rlw_event_t *ev)
{
    char line[RLW_EVENT_LINE_MAX];
    uint64_t report = 0;
    int len, queued;

    if (sink == SINK_NONE)
        return;
    if (!ev->now_ms)
        ev->now_ms = rlw_now_ms();
    if (!ev->observer)
        ev->observer = sink_node;
    if (!ev->store)
        ev->store = sink_store;
    if (!ev->key_name && ev->client && ev->client->kind == RLW_KIND_KEY)
        ev->key_name = rlw_key_name(ev->client->prefix);
    len = rlw_event_format(ev, line, sizeof(line));
    if (len < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sink_server,
                     "RLW00032: event %s too long for one line; dropped",
                     rlw_event_action(ev->kind));
        return;
    }
    /* Held for a memcpy: never across a write, a log line or a wait. */
    pthread_mutex_lock(&w.lock);
    queued = rlw_evq_push(&w.q, line, (size_t)len) == 0;
    if (!queued)
        report = rlw_evq_drop_report(&w.q, rlw_mono_ms(), WARN_INTERVAL_MS);
    pthread_mutex_unlock(&w.lock);
    if (queued) {
        pthread_cond_signal(&w.wake);
        return;
    }
    if (rlw_the_metrics)
        rlw_metrics_add(rlw_the_metrics, RLW_M_EVENTS_DROPPED, ev->now_ms, 1);
    if (report)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sink_server,
                     "RLW00050: event queue full (%lu lines): %lu events "
                     "dropped since the last warning; the event log's "
                     "reader is too slow or stalled (logged at most once a "
                     "minute per process)",
                     (unsigned long)queue_lines, (unsigned long)report);
}

void rlw_attack_event_init(rlw_event_t *ev, request_rec *r,
                           const rlw_srv_conf_t *c, const rlw_addr_t *subject,
                           const char *ban_class, const rlw_attack_t *a,
                           const rlw_limit_t *l, uint32_t count)
{
    int nrules = 0;

    while (nrules < RLW_TOP_RULES && a->rules[nrules])
        nrules++;
    memset(ev, 0, sizeof(*ev));
    ev->client = subject;
    ev->count = count;
    ev->threshold = l->threshold;
    ev->window_ms = l->window_ms;
    ev->rule_ids = nrules ? a->rules : NULL;
    ev->nrules = nrules;
    ev->dry_run = c->dry_run;
    ev->uri = r->unparsed_uri;
    ev->user_agent = apr_table_get(r->headers_in, "User-Agent");
    ev->ban_class = ban_class;
}

void rlw_attack_event_emit(rlw_event_t *ev, rlw_event_kind_t kind,
                           const rlw_srv_conf_t *c, const rlw_attack_t *a)
{
    rlw_metric_t m = RLW_M_NEAR;

    ev->kind = kind;
    if (kind == RLW_EV_BAN) {
        ev->ban = &a->ban;
        ev->ban_ms = a->verdict.ban_ms;
        ev->decided_by = c->mod->node_name;
        m = RLW_M_BANS;
    } else if (kind == RLW_EV_EXEMPT_THRESHOLD) {
        m = RLW_M_EXEMPT;
    }
    rlw_event_emit(ev);
    rlw_metrics_add(rlw_the_metrics, m, rlw_now_ms(), 1);
}

/* mod_rlw_events.c - SIEM events: one JSON line per fact.
 *
 * RateLimitWAFEventLog sends lines to a file (opened by the parent before
 * the children fork, O_APPEND), to a reliable piped logger ("|program",
 * restarted by httpd like CustomLog's), or to syslog ("syslog[:facility]").
 * A line is at most RLW_EVENT_LINE_MAX (4096 = PIPE_BUF) bytes, written in
 * one call, so lines from concurrent processes never interleave.
 */
#include <string.h>
#include <syslog.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_strings.h>
#include <apr_file_io.h>

#include "mod_rlw.h"
#include "rlw_event.h"
#include "rlw_log.h"

APLOG_USE_MODULE(ratelimit_waf);

typedef enum { SINK_NONE = 0, SINK_FILE, SINK_PIPE, SINK_SYSLOG } sink_t;

static sink_t sink = SINK_NONE;
static apr_file_t *sink_file;     /* file or pipe */
static server_rec *sink_server;   /* for error reports */
static const char *sink_store;    /* store name in events */
static const char *sink_node;     /* observer.hostname */

const char *rlw_event_log_check(apr_pool_t *p, const char *target)
{
    int fac;

    if (rlw_event_syslog_target(target, &fac) < 0)
        return apr_psprintf(p, "unknown syslog facility '%s' (use "
                               RLW_EVENT_FACILITIES ")", target + 7);
    if (target[0] == '|' && !target[1])
        return "a piped event log needs a program after '|'";
    return NULL;
}

static void notice_to_event(void *baton, rlw_notice_t what,
                            const char *detail)
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
    rlw_srv_conf_t *mc = ap_get_module_config(s->module_config,
                                              &ratelimit_waf_module);
    const char *t = mc->event_log;
    int fac = LOG_DAEMON;
    apr_status_t rv;

    sink = SINK_NONE;
    sink_file = NULL;
    sink_server = s;
    sink_store = mc->store_name;
    sink_node = mc->node_name;
    rlw_notice_set(notice_to_event, NULL);
    if (!t)
        return OK;
    if (rlw_event_syslog_target(t, &fac)) {
        /* An unknown facility was refused by rlw_event_log_check(). */
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
                         "'%s'", t + 1);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        sink_file = ap_piped_log_write_fd(pl);
        sink = SINK_PIPE;
        return OK;
    }
    rv = apr_file_open(&sink_file, ap_server_root_relative(pconf, t),
                       APR_FOPEN_WRITE | APR_FOPEN_APPEND |
                           APR_FOPEN_CREATE | APR_FOPEN_LARGEFILE,
                       APR_FPROT_UREAD | APR_FPROT_UWRITE |
                           APR_FPROT_GREAD,
                       pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "RLW00031: RateLimitWAFEventLog: cannot open '%s'", t);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sink = SINK_FILE;
    return OK;
}

void rlw_event_emit(rlw_event_t *ev)
{
    char line[RLW_EVENT_LINE_MAX];
    apr_size_t n;
    int len;

    if (sink == SINK_NONE)
        return;
    if (!ev->now_ms)
        ev->now_ms = rlw_now_ms();
    if (!ev->observer)
        ev->observer = sink_node;
    if (!ev->store)
        ev->store = sink_store;
    len = rlw_event_format(ev, line, sizeof(line));
    if (len < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sink_server,
                     "RLW00032: event %s too long for one line; dropped",
                     rlw_event_action(ev->kind));
        return;
    }
    if (sink == SINK_SYSLOG) {
        /* syslog adds its own line end. */
        syslog(LOG_NOTICE, "%.*s", len > 0 ? len - 1 : 0, line);
        return;
    }
    n = (apr_size_t)len;
    if (apr_file_write_full(sink_file, line, n, NULL) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, sink_server,
                     "RLW00033: cannot write event %s to the event log",
                     rlw_event_action(ev->kind));
}

/* rlw_cmd_event.c - rlwafctl: the SIEM event of a manual ban or unban.
 *
 * A ban or unban made with rlwafctl reaches the nodes through the cluster
 * journal only, and no node reports it as an event (a node emits the events
 * of what it decided itself). So the tool emits it, formatted by the same
 * rlw_event_format() as the module's, filled as the status page fills its
 * manual events (mod_rlw_status.c): reason "manual", the operator as
 * user.name, the tool ("rlwafctl@<host>") as observer and deciding node.
 *
 * The target is --event-log, else the RateLimitWAFEventLog of the httpd
 * configuration read with -f: a file, appended to (O_APPEND, one write()
 * per line, so lines never interleave with a node's), or syslog[:facility]
 * (ident mod_ratelimit_waf, priority notice, as the module). A piped
 * target ("|program") is not started by the tool: then no event is written
 * and stderr says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <apr_strings.h>

#include "rlw_cmd.h"
#include "rlw_event.h"

/* "--event-log 'x'" or "RateLimitWAFEventLog 'x' in FILE". */
static const char *origin(rlw_cmd_t *c, const char *target)
{
    if (!c->event_conf)
        return apr_psprintf(c->pool, "--event-log '%s'",
                            rlw_cmd_shown(c->pool, target));
    return apr_psprintf(c->pool, "RateLimitWAFEventLog '%s' in %s",
                        rlw_cmd_shown(c->pool, target),
                        rlw_cmd_shown(c->pool, c->event_conf));
}

int rlw_cmd_event_open(rlw_cmd_t *c)
{
    const char *t = c->event_log;
    int bad = c->event_conf ? RLW_CMD_CONFIG : RLW_CMD_USAGE;

    if (!t)
        return RLW_CMD_OK;
    if (!*t)
        return rlw_cmd_fail(c, bad,
                            "%s is empty: give a file or "
                            "syslog[:facility]",
                            origin(c, t));
    if (t[0] == '|')
        return rlw_cmd_fail(c, bad,
                            "%s: rlwafctl does not start programs; "
                            "give a file or syslog[:facility]",
                            origin(c, t));
    switch (rlw_event_syslog_target(t, &c->event_facility)) {
    case 1:
        return RLW_CMD_OK;
    case -1:
        return rlw_cmd_fail(
            c, bad,
            "%s: unknown syslog facility (use " RLW_EVENT_FACILITIES ")",
            origin(c, t));
    }
    /* Opened before the change, so that a target that cannot be written
     * changes nothing. Created as the module creates it (0640). */
    c->event_fd =
        open(t, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (c->event_fd < 0)
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "cannot open the event log "
                            "(%s): %s; nothing was changed",
                            origin(c, t), strerror(errno));
    return RLW_CMD_OK;
}

/* Who did it: the user behind sudo, else $USER, else the login name. */
static const char *operator_name(void)
{
    const char *u = getenv("SUDO_USER");
    struct passwd *pw;

    if (u && *u)
        return u;
    if ((u = getenv("USER")) && *u)
        return u;
    if ((u = getlogin()) && *u)
        return u;
    if ((pw = getpwuid(getuid())) && pw->pw_name && *pw->pw_name)
        return pw->pw_name;
    return "unknown";
}

int rlw_cmd_event_write(rlw_cmd_t *c, rlw_event_kind_t kind,
                        const rlw_addr_t *client, const rlw_ban_state_t *b,
                        int64_t ban_ms, int64_t now)
{
    char line[RLW_EVENT_LINE_MAX];
    rlw_event_t ev;
    ssize_t n;
    int len;

    if (c->event_pipe) {
        fprintf(stderr,
                "rlwafctl: no event was written for this %s: "
                "RateLimitWAFEventLog in %s is a program ('%s'), which "
                "rlwafctl does not start; give --event-log FILE or "
                "--event-log syslog[:facility] to write one\n",
                kind == RLW_EV_BAN ? "ban" : "unban",
                rlw_cmd_shown(c->pool, c->event_conf),
                rlw_cmd_shown(c->pool, c->event_pipe));
        return 0;
    }
    if (c->event_fd < 0 && c->event_facility < 0)
        return 0;

    /* As the status page's manual ban and unban (mod_rlw_status.c). */
    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.now_ms = now;
    ev.observer = c->node;
    ev.decided_by = c->node;
    ev.client = client;
    if (client->kind == RLW_KIND_KEY && c->key_names &&
        client->prefix < (unsigned)c->key_names->nelts)
        ev.key_name = APR_ARRAY_IDX(c->key_names, client->prefix, const char *);
    ev.threshold = c->threshold;
    ev.window_ms = c->window_ms;
    ev.ban = b;
    ev.ban_ms = ban_ms;
    ev.ban_class = kind == RLW_EV_BAN ? "normal" : NULL;
    ev.reason = "manual";
    ev.user = operator_name();
    ev.store = "memcached";
    len = rlw_event_format(&ev, line, sizeof(line));
    if (len <= 0) {
        fprintf(stderr,
                "rlwafctl: warning: the %s event does not fit in "
                "one line; not written\n",
                rlw_event_action(kind));
        return 0;
    }

    if (c->event_facility >= 0) {
        /* As the module: ident mod_ratelimit_waf, priority notice; syslog
         * adds its own line end. */
        openlog("mod_ratelimit_waf", LOG_PID, c->event_facility);
        syslog(LOG_NOTICE, "%.*s", len - 1, line);
        closelog();
        return 1;
    }
    /* One write() per line (O_APPEND): never interleaved with the lines
     * the nodes write to the same file. */
    do
        n = write(c->event_fd, line, (size_t)len);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len) {
        fprintf(stderr,
                "rlwafctl: warning: the %s is done, but its event "
                "could not be written to %s: %s\n",
                rlw_event_action(kind), rlw_cmd_shown(c->pool, c->event_log),
                n < 0 ? strerror(errno) : "short write");
        return 0;
    }
    return 1;
}

void rlw_cmd_event_close(rlw_cmd_t *c)
{
    if (c->event_fd >= 0)
        close(c->event_fd);
    c->event_fd = -1;
}

/* rlw_cmd_main.c - rlwafctl: command line, settings, the store, output.
 *
 * Settings come from an httpd configuration (-f, by default Debian's
 * /etc/apache2/apache2.conf) and/or options; options win. Errors are
 * sentences on stderr that name what was wrong, and the exit code says
 * which kind of error it was (rlw_cmd.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_general.h>
#include <apr_strings.h>

#include "rlw_cmd.h"
#include "rlw_subject.h"
#include "rlw_defaults.h"
#include "rlw_duration.h"
#include "rlw_event.h"
#include "rlw_log.h"
#include "rlw_store_mc.h"
#include "rlw_version.h"

#define DEFAULT_CONF "/etc/apache2/apache2.conf"

static const char usage_text[] =
    "usage: rlwafctl [options] status CLIENT\n"
    "       rlwafctl [options] ban CLIENT DURATION\n"
    "       rlwafctl [options] unban CLIENT\n"
    "       rlwafctl [options] list\n"
    "       rlwafctl --url URL [options] status|ban|unban|list ...\n"
    "\n"
    "Reads and changes the bans of a mod_ratelimit_waf cluster (memcached\n"
    "store), or with --url those of one node through its status page's\n"
    "admin API (any store, e.g. shm). CLIENT is an address (IPv6 clients\n"
    "are grouped by their /64, RateLimitWAFIPv6Prefix), a network\n"
    "(198.51.100.0/24) or a request key (key#N:HASH, key:NAME=VALUE).\n"
    "DURATION is 90s, 15m, 8h, 1d...\n"
    "\n"
    "options:\n"
    "  -f, --config FILE    httpd configuration holding RateLimitWAFStore\n"
    "                       memcached (default " DEFAULT_CONF ")\n"
    "  --memcached CONFIG   libmemcached servers, e.g.\n"
    "                       \"--SERVER=10.0.0.1:11211 "
    "--SERVER=10.0.0.2:11211\"\n"
    "  --secret FILE        cluster secret (RateLimitWAFSecretFile)\n"
    "  --prefix PREFIX      key prefix (RateLimitWAFKeyPrefix, default rlw:)\n"
    "  --v6-prefix N        IPv6 grouping, 16..128 (default 64)\n"
    "  --window DURATION    counting window (RateLimitWAFWindow, default 10m)\n"
    "  --timeout DURATION   timeout of one memcached call, or of one step\n"
    "                       with --url (default 1s)\n"
    "  --backlog N          journal entries list reads (default 4096)\n"
    "  --url URL            a node's status page, http://HOST[:PORT]/PATH,\n"
    "                       instead of memcached (ban and unban need\n"
    "                       RateLimitWAFAdmin On there; the node writes the\n"
    "                       events)\n"
    "  --http-user USER     with --url: HTTP Basic authentication as USER;\n"
    "                       the password from --http-password-file, else\n"
    "                       the RLWAFCTL_HTTP_PASSWORD environment variable\n"
    "  --http-password-file FILE  its first line is the password\n"
    "  --event-log TARGET   where ban and unban write their SIEM event: a\n"
    "                       file (appended to) or syslog[:facility]\n"
    "                       (default: RateLimitWAFEventLog of the -f file)\n"
    "  --json               print one JSON document on stdout\n"
    "  -v, --verbose        also print the core's log lines\n"
    "  -h, --help           print this help\n"
    "  -V, --version        print the version\n"
    "\n"
    "exit codes: 0 done / banned, 1 not banned / nothing to do, 2 usage\n"
    "error, 3 configuration error (also: the --url node refuses, 401/403),\n"
    "4 memcached or the --url node unreachable. See rlwafctl(8).\n";

/* --- output ------------------------------------------------------------ */

void rlw_cmd_emit(rlw_cmd_t *c, const char *text)
{
    *(const char **)apr_array_push(c->out) = apr_pstrdup(c->pool, text);
}

void rlw_cmd_emit_str(rlw_cmd_t *c, const char *s)
{
    size_t need = rlw_json_escape(s, strlen(s), NULL, 0);
    char *buf = apr_palloc(c->pool, need + 3);

    buf[0] = '"';
    rlw_json_escape(s, strlen(s), buf + 1, need + 1);
    buf[need + 1] = '"';
    buf[need + 2] = 0;
    *(const char **)apr_array_push(c->out) = buf;
}

void rlw_cmd_emit_key(rlw_cmd_t *c, const char *key, int first)
{
    rlw_cmd_emit(c, first ? "" : ",");
    rlw_cmd_emit_str(c, key);
    rlw_cmd_emit(c, ":");
}

void rlw_cmd_flush(rlw_cmd_t *c)
{
    fputs(apr_array_pstrcat(c->pool, c->out, 0), stdout);
    fputc('\n', stdout);
    fflush(stdout);
    apr_array_clear(c->out);
}

const char *rlw_cmd_shown(apr_pool_t *p, const char *s)
{
    size_t i, n = strlen(s);
    char *out = apr_pstrndup(p, s, n > 80 ? 80 : n);

    for (i = 0; out[i]; i++) {
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] > 0x7e)
            out[i] = '?';
    }
    return n > 80 ? apr_pstrcat(p, out, "...", NULL) : out;
}

int rlw_cmd_fail(rlw_cmd_t *c, int code, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(c->pool, fmt, ap);
    va_end(ap);
    fprintf(stderr, "rlwafctl: %s\n", msg);
    if (c->json) {
        apr_array_clear(c->out);
        rlw_cmd_emit(c, "{");
        rlw_cmd_emit_key(c, "command", 1);
        rlw_cmd_emit_str(c, c->command ? c->command : "");
        rlw_cmd_emit_key(c, "error", 0);
        rlw_cmd_emit_str(c, msg);
        rlw_cmd_emit(c, apr_psprintf(c->pool, ",\"exit\":%d}", code));
        rlw_cmd_flush(c);
        c->json = 0; /* one document per run */
    }
    return code;
}

/* --- core log lines ---------------------------------------------------- */

static void log_line(void *baton, rlw_log_level_t level,
                     const rlw_log_src_t *src, const char *msg)
{
    rlw_cmd_t *c = baton;

    (void)src;
    if (level <= RLW_LOG_WARN)
        apr_cpystrn(c->core_error, msg, sizeof(c->core_error));
    if (c->verbose)
        fprintf(stderr, "rlwafctl: [core] %s\n", msg);
}

/* The store reports a failure once per process as a short notice
 * ("journal write failed: CONNECTION FAILURE"): the best detail for an
 * operator, better than the node-oriented log line. */
static void notice(void *baton, rlw_notice_t what, const char *detail)
{
    rlw_cmd_t *c = baton;

    if (what == RLW_NOTICE_STORE_DEGRADED)
        apr_cpystrn(c->store_detail, detail, sizeof(c->store_detail));
}

/* --- settings ---------------------------------------------------------- */

/* Reports a bad setting: a usage error when it came from the command line,
 * a configuration error when it came from the file. */
static int bad(rlw_cmd_t *c, int from_file, const char *what, const char *value,
               const char *why)
{
    return rlw_cmd_fail(c, from_file ? RLW_CMD_CONFIG : RLW_CMD_USAGE,
                        "%s '%s' %s", what, rlw_cmd_shown(c->pool, value), why);
}

/* libmemcached's parser messages start with "(0x55d0...) " and end with
 * " -> file.cc:55": keep the sentence in between. */
static const char *tidy(apr_pool_t *p, const char *msg)
{
    const char *end;

    if (msg[0] == '(' && (end = strstr(msg, ") ")))
        msg = end + 2;
    if ((end = strstr(msg, " -> ")))
        return apr_pstrmemdup(p, msg, (apr_size_t)(end - msg));
    return msg;
}

typedef struct cli_opts {
    const char *conf, *memcached, *secret, *prefix, *v6, *window, *timeout,
        *backlog, *event_log, *url, *http_user, *http_password_file;
} cli_opts_t;

/* The timeout option into c->timeout_ms (RLW_CMD_TIMEOUT_MS unless
 * given). */
static int settle_timeout(rlw_cmd_t *c, const cli_opts_t *o)
{
    const char *err;
    int64_t ms;

    c->timeout_ms = RLW_CMD_TIMEOUT_MS;
    if (o->timeout) {
        if ((err = rlw_duration_parse(o->timeout, &ms)) || ms < 1 || ms > 60000)
            return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                "timeout '%s' is not a duration between 1ms "
                                "and 60s",
                                rlw_cmd_shown(c->pool, o->timeout));
        c->timeout_ms = ms;
    }
    return RLW_CMD_OK;
}

/* RateLimitWAFIPv6Prefix: the option's, else the file's, else the
 * default. */
static int settle_v6(rlw_cmd_t *c, const char *opt, const char *file)
{
    const char *v = opt ? opt : file;
    char *end;
    unsigned long n;

    c->v6_prefix = RLW_DEF_V6_PREFIX;
    if (!v)
        return RLW_CMD_OK;
    n = strtoul(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || n < RLW_MIN_V6_PREFIX ||
        n > RLW_MAX_V6_PREFIX)
        return bad(c, !opt, "IPv6 prefix", v,
                   "is not a prefix length between 16 and 128");
    c->v6_prefix = (unsigned)n;
    return RLW_CMD_OK;
}

int rlw_cmd_want_args(rlw_cmd_t *c, int argc, int n, const char *synopsis)
{
    if (argc == n)
        return RLW_CMD_OK;
    return rlw_cmd_fail(c, RLW_CMD_USAGE, "%s takes %s: rlwafctl %s%s",
                        c->command,
                        n == 0   ? "no argument"
                        : n == 1 ? "one argument"
                                 : "two arguments",
                        c->url ? "--url URL " : "", synopsis);
}

/* --url: one node's status page. The store's settings mean nothing there;
 * -f (only when given) and --secret serve to name key values
 * (key:NAME=VALUE) and the IPv6 grouping; the node writes the events. */
static int settle_url(rlw_cmd_t *c, const cli_opts_t *o)
{
    rlw_cmd_conf_t f;
    const char *err, *no = NULL;
    int rc;

    if (o->memcached)
        no = "--memcached";
    else if (o->prefix)
        no = "--prefix";
    else if (o->window)
        no = "--window";
    else if (o->backlog)
        no = "--backlog";
    else if (o->event_log)
        no = "--event-log (the node writes the event of its bans and "
             "unbans)";
    if (no)
        return rlw_cmd_fail(c, RLW_CMD_USAGE, "%s has no meaning with --url",
                            no);
    if ((rc = rlw_cmd_url_parse(c, o->url)) || (rc = settle_timeout(c, o)) ||
        (rc = rlw_cmd_http_auth(c, o->http_user, o->http_password_file)))
        return rc;
    memset(&f, 0, sizeof(f));
    if (o->conf && (err = rlw_cmd_conf_read(c->pool, o->conf, &f)))
        return rlw_cmd_fail(c, RLW_CMD_CONFIG, "%s", err);
    c->key_names = f.key_names;
    c->secret_file = o->secret ? o->secret : f.secret_file;
    if ((rc = settle_v6(c, o->v6, f.v6_prefix)) != RLW_CMD_OK)
        return rc;
    return RLW_CMD_OK;
}

/* Merges the configuration file and the options into c. */
static int settle(rlw_cmd_t *c, const cli_opts_t *o)
{
    rlw_cmd_conf_t f;
    const char *conf = o->conf, *v, *err;
    char host[256];
    int64_t ms;
    char *end;
    unsigned long n;
    int rc, i;

    memset(&f, 0, sizeof(f));
    /* Without -f and --memcached, the node's own configuration. */
    if (!conf && !o->memcached && access(DEFAULT_CONF, R_OK) == 0)
        conf = DEFAULT_CONF;
    if (conf) {
        if ((err = rlw_cmd_conf_read(c->pool, conf, &f)))
            return rlw_cmd_fail(c, RLW_CMD_CONFIG, "%s", err);
        if (!o->memcached && (!f.store || strcasecmp(f.store, "memcached")))
            return rlw_cmd_fail(
                c, RLW_CMD_CONFIG,
                "%s (and the %d file%s it includes) does not set "
                "RateLimitWAFStore memcached \"CONFIG\"%s; rlwafctl works on "
                "the memcached cluster store only (or give --memcached)",
                conf, f.files - 1, f.files == 2 ? "" : "s",
                f.store ? apr_psprintf(c->pool, " (it uses the %s store)",
                                       rlw_cmd_shown(c->pool, f.store))
                        : "");
    } else if (!o->memcached)
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "no store given: use -f HTTPD_CONF, or "
                            "--memcached \"CONFIG\" --secret FILE (%s does "
                            "not exist)",
                            DEFAULT_CONF);

    c->mc_config = o->memcached ? o->memcached : f.mc_config;
    if (!c->mc_config || !*c->mc_config)
        return rlw_cmd_fail(c, o->memcached ? RLW_CMD_USAGE : RLW_CMD_CONFIG,
                            "RateLimitWAFStore memcached needs a libmemcached "
                            "configuration string, e.g. "
                            "\"--SERVER=10.0.0.1:11211\"");
    if ((err = rlw_store_mc_check_config(c->pool, c->mc_config)))
        return bad(
            c, !o->memcached, "memcached configuration", c->mc_config,
            apr_psprintf(c->pool, "is not valid: %s", tidy(c->pool, err)));

    c->key_names = f.key_names;
    c->secret_file = o->secret ? o->secret : f.secret_file;
    if (!c->secret_file)
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "no cluster secret: give --secret FILE, or set "
                            "RateLimitWAFSecretFile in %s",
                            conf ? conf : "the httpd configuration");

    v = o->prefix ? o->prefix : f.prefix;
    c->prefix = v ? v : RLW_DEF_KEY_PREFIX;
    if (!rlw_store_printable(c->prefix, RLW_MC_PREFIX_MAX, 0))
        return bad(c, !o->prefix, "key prefix", c->prefix,
                   "is not 1 to 64 printable characters without spaces");

    if ((rc = settle_v6(c, o->v6, f.v6_prefix)) != RLW_CMD_OK)
        return rc;

    v = o->window ? o->window : f.window;
    c->window_ms = RLW_DEF_WINDOW_MS;
    if (v) {
        if ((err = rlw_duration_parse(v, &ms)) || ms < 1)
            return bad(
                c, !o->window, "window", v,
                err ? apr_pstrcat(c->pool, "is not a duration: ", err, NULL)
                    : "is zero");
        c->window_ms = ms;
    }
    c->windows_ms[0] = c->window_ms;
    c->nwindows = 1;
    for (i = 0; i < RLW_PAIRS_MAX - 1 && f.more_windows[i]; i++) {
        if ((err = rlw_duration_parse(f.more_windows[i], &ms)) || ms < 1)
            return bad(
                c, 1, "window", f.more_windows[i],
                err ? apr_pstrcat(c->pool, "is not a duration: ", err, NULL)
                    : "is zero");
        c->windows_ms[c->nwindows++] = ms;
    }

    /* The tool waits longer than a request would, unless told otherwise
     * on its own command line. */
    if ((rc = settle_timeout(c, o)) != RLW_CMD_OK)
        return rc;

    c->backlog = RLW_CMD_BACKLOG;
    if (o->backlog) {
        n = strtoul(o->backlog, &end, 10);
        if (*o->backlog < '0' || *o->backlog > '9' || *end || n < 1 ||
            n > 1000000)
            return bad(c, 0, "backlog", o->backlog,
                       "is not a number of entries between 1 and 1000000");
        c->backlog = n;
    }

    v = f.threshold;
    c->threshold = RLW_DEF_THRESHOLD;
    if (v) {
        n = strtoul(v, &end, 10);
        if (*v < '0' || *v > '9' || *end || n < 1 ||
            n > (unsigned long)RLW_MAX_THRESHOLD)
            return bad(c, 1, "threshold", v,
                       "is not a number between 1 and 1000000000");
        c->threshold = (uint32_t)n;
    }

    /* The SIEM event of a ban or unban: --event-log, else the file's
     * RateLimitWAFEventLog (checked by rlw_cmd_event_open(), for ban and
     * unban only). A program is not started by this tool. */
    if (o->event_log)
        c->event_log = o->event_log;
    else if (f.event_log) {
        if (f.event_log[0] == '|')
            c->event_pipe = f.event_log;
        else
            c->event_log = f.event_log;
        c->event_conf = conf;
    }

    /* Journal entries name the node that decided: say it was this tool,
     * and on which machine. */
    if (f.node && rlw_store_printable(f.node, RLW_STORE_NODE_LEN - 1, 1))
        v = f.node;
    else if (gethostname(host, sizeof(host)) == 0 &&
             (host[sizeof(host) - 1] = 0, rlw_store_printable(host, 255, 0)))
        v = host;
    else
        v = "unknown";
    c->node = apr_pstrndup(c->pool, apr_pstrcat(c->pool, "rlwafctl@", v, NULL),
                           RLW_NODE_NAME_MAX);
    return RLW_CMD_OK;
}

/* --- the store --------------------------------------------------------- */

int rlw_cmd_open_store(rlw_cmd_t *c)
{
    rlw_store_mc_conf_t conf;
    const char *err;
    char why[512];
    apr_status_t rv;

    /* Root's file, or the invoking user's own. */
    if (rlw_secret_load(c->secret_file, getuid(), &c->keys, why, sizeof(why)))
        return rlw_cmd_fail(c, RLW_CMD_CONFIG, "secret refused: %s", why);
    memset(&conf, 0, sizeof(conf));
    conf.config = c->mc_config;
    conf.prefix = c->prefix;
    conf.node = c->node;
    conf.timeout_ms = c->timeout_ms;
    conf.policy.window_ms = c->window_ms;
    conf.policy.strike_decay_ms = RLW_DEF_STRIKE_DECAY_MS;
    conf.retry_secs = 1;
    conf.pool_size = 1;
    /* An operator's store: no local table (nothing to fall back to, so a
     * failure of memcached is reported, never hidden). */
    if ((err = rlw_store_mc_create(c->pool, NULL, &conf, &c->keys, &c->store)))
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "memcached configuration "
                            "'%s' refused: %s",
                            rlw_cmd_shown(c->pool, c->mc_config), err);
    if ((rv = c->store->child_init(c->store, c->pool)) != APR_SUCCESS)
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "cannot set up connections to "
                            "memcached (%s)",
                            rlw_cmd_shown(c->pool, c->mc_config));
    c->store_ready = 1;
    return RLW_CMD_OK;
}

/* "NAME=VALUE" or "NAME=-" (the value on standard input): the key subject
 * of VALUE, hashed as the module hashes it. The value is never shown. */
static int key_by_value(rlw_cmd_t *c, const char *arg, rlw_addr_t *out)
{
    unsigned char hash[RLW_KEY_HASH_LEN];
    char line[8192], why[512];
    const char *eq = strchr(arg, '='), *value;
    const char *name;
    size_t len;
    int i, rc;

    if (!eq || eq == arg)
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "a key by value is key:NAME=VALUE (or "
                            "key:NAME=- to read the value from standard "
                            "input)");
    name = apr_pstrmemdup(c->pool, arg, (apr_size_t)(eq - arg));
    for (i = 0; c->key_names && i < c->key_names->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(c->key_names, i, const char *), name))
            break;
    if (!c->key_names || i == c->key_names->nelts)
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "no RateLimitWAFKey %s in the configuration "
                            "(give -f HTTPD_CONF, whose RateLimitWAFKey "
                            "lines number the keys, or the key's hash "
                            "key#N:...)",
                            rlw_cmd_shown(c->pool, name));
    value = eq + 1;
    if (!strcmp(value, "-")) {
        if (!fgets(line, sizeof(line), stdin))
            return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                "no key value on standard input");
        line[strcspn(line, "\r\n")] = '\0';
        value = line;
    }
    len = strlen(value);
    if (len == 0)
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "an empty key value is never counted");
    if (!c->secret_file)
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "no secret to hash a key value with");
    if (rlw_secret_load(c->secret_file, getuid(), &c->keys, why, sizeof(why)))
        return rlw_cmd_fail(c, RLW_CMD_CONFIG, "secret refused: %s", why);
    rc = rlw_key_hash(c->keys.key, name, value, len, hash) ||
         rlw_subject_key((unsigned)i, hash, RLW_SCOPE_ENFORCE, out);
    memset(line, 0, sizeof(line));
    if (rc)
        return rlw_cmd_fail(c, RLW_CMD_USAGE, "cannot hash the key value");
    return RLW_CMD_OK;
}

int rlw_cmd_client(rlw_cmd_t *c, const char *text, rlw_addr_t *out)
{
    rlw_addr_t host;
    const char *why;
    unsigned client_prefix;

    memset(&host, 0, sizeof(host));
    if (!strncmp(text, "key#", 4)) {
        if (rlw_subject_key_parse(text, out) == 0)
            return RLW_CMD_OK;
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "'%s' is not a key's hash: give it as list "
                            "prints it, key#N: and 32 hex digits",
                            rlw_cmd_shown(c->pool, text));
    }
    if (!strncmp(text, "key:", 4))
        return key_by_value(c, text + 4, out);
    if (rlw_addr_parse(text, &host) == 0) {
        rlw_addr_client(&host, c->v6_prefix, out);
        return RLW_CMD_OK;
    }
    if (!strchr(text, '/'))
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "'%s' is not a client address "
                            "(IPv4 or IPv6) nor a network",
                            rlw_cmd_shown(c->pool, text));
    /* A grouped IPv6 client as `list` prints it, or a network
     * (RateLimitWAFNetwork): always shorter than a client's prefix. */
    if ((why = rlw_cidr_parse(text, &host)))
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "'%s' is not a client nor a network: %s",
                            rlw_cmd_shown(c->pool, text), why);
    client_prefix = host.family == RLW_AF_INET ? 32 : c->v6_prefix;
    if (host.prefix < client_prefix && host.prefix > 0) {
        rlw_subject_net(&host, host.prefix, host.prefix, RLW_SCOPE_ENFORCE,
                        out);
        return RLW_CMD_OK;
    }
    if (host.prefix != client_prefix)
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "'%s' is not a client nor a network: give an "
                            "address, an IPv6 network of exactly /%u (the "
                            "IPv6 prefix clients are grouped by), or a "
                            "network of a shorter prefix",
                            rlw_cmd_shown(c->pool, text), c->v6_prefix);
    rlw_addr_client(&host, c->v6_prefix, out);
    return RLW_CMD_OK;
}

/* --- main -------------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(rlw_cmd_t *c, int argc, char **argv);     /* memcached */
    int (*run_url)(rlw_cmd_t *c, int argc, char **argv); /* --url */
} commands[] = {
    {"status", rlw_cmd_status, rlw_cmd_url_status},
    {"ban", rlw_cmd_ban, rlw_cmd_url_ban},
    {"unban", rlw_cmd_unban, rlw_cmd_url_unban},
    {"list", rlw_cmd_list, rlw_cmd_url_list},
};

static int run(rlw_cmd_t *c, int argc, char **argv)
{
    enum {
        O_MC = 256,
        O_SECRET,
        O_PREFIX,
        O_V6,
        O_WINDOW,
        O_TIMEOUT,
        O_BACKLOG,
        O_JSON,
        O_EVENT_LOG,
        O_URL,
        O_HTTP_USER,
        O_HTTP_PASSWORD_FILE
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'f'},
        {"memcached", required_argument, NULL, O_MC},
        {"secret", required_argument, NULL, O_SECRET},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"v6-prefix", required_argument, NULL, O_V6},
        {"window", required_argument, NULL, O_WINDOW},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"backlog", required_argument, NULL, O_BACKLOG},
        {"event-log", required_argument, NULL, O_EVENT_LOG},
        {"url", required_argument, NULL, O_URL},
        {"http-user", required_argument, NULL, O_HTTP_USER},
        {"http-password-file", required_argument, NULL, O_HTTP_PASSWORD_FILE},
        {"json", no_argument, NULL, O_JSON},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    cli_opts_t o;
    size_t i;
    int opt, rc;

    memset(&o, 0, sizeof(o));
    opterr = 0;
    /* GNU getopt permutes: options may also follow the command
     * ("rlwafctl status 192.0.2.1 --json"); "--" ends them. */
    while ((opt = getopt_long(argc, argv, "f:vhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            o.conf = optarg;
            break;
        case O_MC:
            o.memcached = optarg;
            break;
        case O_SECRET:
            o.secret = optarg;
            break;
        case O_PREFIX:
            o.prefix = optarg;
            break;
        case O_V6:
            o.v6 = optarg;
            break;
        case O_WINDOW:
            o.window = optarg;
            break;
        case O_TIMEOUT:
            o.timeout = optarg;
            break;
        case O_BACKLOG:
            o.backlog = optarg;
            break;
        case O_EVENT_LOG:
            o.event_log = optarg;
            break;
        case O_URL:
            o.url = optarg;
            break;
        case O_HTTP_USER:
            o.http_user = optarg;
            break;
        case O_HTTP_PASSWORD_FILE:
            o.http_password_file = optarg;
            break;
        case O_JSON:
            c->json = 1;
            break;
        case 'v':
            c->verbose = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return RLW_CMD_OK;
        case 'V':
            fputs("rlwafctl (mod_ratelimit_waf) " RLW_VERSION "\n", stdout);
            return RLW_CMD_OK;
        default:
            if (optopt >= '0' && optopt <= '9')
                return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                    "an argument starts "
                                    "with '-%c': durations have no sign",
                                    optopt);
            if (optopt)
                return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                    "option -%c is unknown "
                                    "or needs a value (see rlwafctl --help)",
                                    optopt);
            return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                "option '%s' is unknown or "
                                "needs a value (see rlwafctl --help)",
                                rlw_cmd_shown(c->pool, argv[optind - 1]));
        }
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return rlw_cmd_fail(c, RLW_CMD_USAGE, "no command given");
    }
    c->command = argv[optind];
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(c->command, commands[i].name))
            break;
    }
    if (i == sizeof(commands) / sizeof(commands[0])) {
        const char *bad_name = rlw_cmd_shown(c->pool, c->command);

        c->command = NULL;
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "unknown command '%s' (known: "
                            "status, ban, unban, list)",
                            bad_name);
    }
    if (!o.url && (o.http_user || o.http_password_file))
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "--http-user and --http-password-file have no "
                            "meaning without --url");
    if ((rc = o.url ? settle_url(c, &o) : settle(c, &o)) != RLW_CMD_OK)
        return rc;
    if (c->json) {
        rlw_cmd_emit(c, "{");
        rlw_cmd_emit_key(c, "command", 1);
        rlw_cmd_emit_str(c, c->command);
    }
    rc = (c->url ? commands[i].run_url : commands[i].run)(c, argc - optind - 1,
                                                          argv + optind + 1);
    if (c->json) {
        rlw_cmd_emit(c, apr_psprintf(c->pool, ",\"exit\":%d}", rc));
        rlw_cmd_flush(c);
    }
    return rc;
}

int main(int argc, char **argv)
{
    rlw_cmd_t c;
    int rc;

    if (apr_initialize() != APR_SUCCESS) {
        fprintf(stderr, "rlwafctl: cannot initialise APR\n");
        return RLW_CMD_CONFIG;
    }
    memset(&c, 0, sizeof(c));
    c.event_fd = -1;
    c.event_facility = -1;
    if (apr_pool_create(&c.pool, NULL) != APR_SUCCESS) {
        fprintf(stderr, "rlwafctl: out of memory\n");
        return RLW_CMD_CONFIG;
    }
    c.out = apr_array_make(c.pool, 64, sizeof(const char *));
    rlw_log_set(log_line, &c);
    rlw_notice_set(notice, &c);
    rc = run(&c, argc, argv);
    if (c.store_ready)
        rlw_store_mc_close(c.store);
    rlw_cmd_event_close(&c);
    rlw_keys_wipe(&c.keys);
    rlw_log_set(NULL, NULL);
    rlw_notice_set(NULL, NULL);
    apr_pool_destroy(c.pool);
    apr_terminate();
    return rc;
}

/* rlw_cmd.h - rlwafctl, the operator's command-line tool (rlw_cmd_*.c).
 *
 * httpd-free: built from the same core as the module (rlw_*.c) and talks to
 * the memcached cluster store directly, with the cluster secret, so that
 * what it reads and writes is exactly what the nodes read and write; or,
 * with --url, to one node's status page and its admin API over HTTP (a
 * node with the shm store, which nothing outside the node can read).
 *
 *   rlw_cmd_main.c   options, settings, exit codes, output helpers
 *   rlw_cmd_conf.c   reads the RateLimitWAF* directives from an httpd
 *                    configuration (Include/IncludeOptional followed)
 *   rlw_cmd_ops.c    the commands: status, ban, unban, list
 *   rlw_cmd_event.c  the SIEM event of a manual ban or unban (--event-log)
 *   rlw_cmd_http.c   a small HTTP/1.0 client (--url): bounded, with
 *                    timeouts, strict about the reply
 *   rlw_cmd_url.c    the commands over a node's status page (--url)
 */
#ifndef RLW_CMD_H
#define RLW_CMD_H

#include <stdint.h>

#include <apr_pools.h>
#include <apr_tables.h>

#include "rlw_addr.h"
#include "rlw_crypto.h"
#include "rlw_decision.h"
#include "rlw_event.h"
#include "rlw_store_mc.h"

/* Exit codes (documented in docs/rlwafctl.md). */
#define RLW_CMD_OK 0     /* done; status: the client is banned */
#define RLW_CMD_NO 1     /* status: not banned; unban: there was no ban */
#define RLW_CMD_USAGE 2  /* bad command line or argument */
#define RLW_CMD_CONFIG 3 /* bad configuration file or secret */
#define RLW_CMD_STORE                                                          \
    4 /* memcached (or the --url node) did not answer,                         \
       * refused or answered nonsense */

/* Journal entries `list` reads by default (as far back as a new node). */
#define RLW_CMD_BACKLOG 4096
/* Timeout of one memcached call, unless configured (in milliseconds). A
 * tool can afford more than the request path's 50 ms default. */
#define RLW_CMD_TIMEOUT_MS 1000

/* What an httpd configuration says about the store (text as written, NULL
 * when absent; the last occurrence wins, as in httpd). */
typedef struct rlw_cmd_conf {
    const char *store;       /* RateLimitWAFStore NAME */
    const char *mc_config;   /* RateLimitWAFStore memcached "CONFIG" */
    const char *secret_file; /* RateLimitWAFSecretFile, ServerRoot-relative
                              * paths resolved */
    const char *prefix;      /* RateLimitWAFKeyPrefix */
    const char *v6_prefix;   /* RateLimitWAFIPv6Prefix */
    const char *window;      /* RateLimitWAFWindow */
    const char *node;        /* RateLimitWAFNodeName */
    const char *timeout;     /* RateLimitWAFMemcachedTimeout */
    const char *event_log;   /* RateLimitWAFEventLog: "syslog[:facility]"
                              * and "|program" as written, a file
                              * ServerRoot-relative resolved */
    const char *threshold;   /* RateLimitWAFThreshold of the main server
                              * (outside <VirtualHost>) */
    /* The windows of its further (count, window) pairs, or NULL. */
    const char *more_windows[RLW_PAIRS_MAX - 1];
    const char *server_root; /* ServerRoot in effect at the end */
    /* Every RateLimitWAFKey NAME (const char *), in order of first
     * appearance, as the module numbers them (a key subject's index). */
    apr_array_header_t *key_names;
    int files; /* files read, the first one included */
} rlw_cmd_conf_t;

/* Reads path (an httpd configuration file) and the files it includes into
 * out (zeroed first). Relative paths resolve against ServerRoot, or, until
 * a ServerRoot line, against the directory of path. Returns NULL, or an
 * error sentence naming the file and line, allocated from p. */
const char *rlw_cmd_conf_read(apr_pool_t *p, const char *path,
                              rlw_cmd_conf_t *out);

/* One run of the tool. */
typedef struct rlw_cmd {
    apr_pool_t *pool;
    const char *command; /* "status", "ban", "unban", "list" */
    int json;            /* --json: one JSON document on stdout */
    int verbose;         /* -v: core log lines on stderr */

    /* Settings, from -f and the options (options win). */
    const char *mc_config;
    const char *secret_file;
    const char *prefix;
    unsigned v6_prefix; /* 16..128 */
    int64_t window_ms;  /* RateLimitWAFWindow (counts, record lifetime) */
    /* The windows counts are read in: window_ms first, then those of the
     * further RateLimitWAFThreshold pairs of -f (nwindows in all). */
    int64_t windows_ms[RLW_PAIRS_MAX];
    unsigned nwindows;
    int64_t timeout_ms; /* one memcached call */
    uint64_t backlog;   /* journal entries `list` reads */
    const char *node;   /* "rlwafctl@<host>", in journal entries */
    uint32_t threshold; /* RateLimitWAFThreshold (rlw.threshold in events) */

    /* The SIEM event of a ban or unban (rlw_cmd_event.c). */
    const char *event_log;  /* target: a file or "syslog[:facility]"; NULL
                             * for none */
    const char *event_pipe; /* RateLimitWAFEventLog "|program" read with -f
                             * (not followed: no event), else NULL */
    const char *event_conf; /* the -f file the target came from, or NULL
                             * when it was --event-log */
    int event_fd;           /* the file, open (O_APPEND), or -1 */
    int event_facility;     /* syslog facility, or -1 for a file */

    apr_array_header_t *key_names; /* from -f (rlw_cmd_conf_t), or NULL */

    /* --url: a node's status page (rlw_cmd_http.c), or url NULL. */
    const char *url;          /* as given */
    const char *url_host;     /* host name or address (no brackets) */
    const char *url_hostport; /* for the Host header */
    unsigned url_port;
    const char *url_path; /* the page's path, "/..." (no query) */
    const char *url_auth; /* an Authorization header's value, or NULL */

    rlw_keys_t keys;
    rlw_store_t *store; /* the memcached store (child_init done) */
    int store_ready;

    /* --json output, pieces joined at the end. */
    apr_array_header_t *out;
    /* What the core said of the last failure (shown with store errors):
     * the store's degradation notice, else its last warning or error. */
    char store_detail[256];
    char core_error[512];
} rlw_cmd_t;

/* Prints "rlwafctl: <sentence>" on stderr (and with --json, an error
 * document on stdout) and returns code. */
/* RLW_CMD_OK when the command got n arguments, else a usage error naming
 * its synopsis ("status CLIENT"), with "--url URL " in that mode. */
int rlw_cmd_want_args(rlw_cmd_t *c, int argc, int n, const char *synopsis);

int rlw_cmd_fail(rlw_cmd_t *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Opens the store: loads the secret, creates the memcached store (an
 * operator's, with no local table: rlw_store_mc_create()), runs
 * child_init. Returns RLW_CMD_OK or an exit code
 * (already reported). */
int rlw_cmd_open_store(rlw_cmd_t *c);

/* Parses a client argument: an address (IPv6 grouped by v6_prefix), a
 * grouped IPv6 network exactly as `list` prints it ("2001:db8::/64"), or a
 * network (RateLimitWAFNetwork: a prefix shorter than a client's,
 * "198.51.100.0/24", "2001:db8::/48"), a subject of kind RLW_KIND_NET; or
 * a request key (RateLimitWAFKey), RLW_KIND_KEY: by its hash as `list`
 * prints it ("key#0:" and 32 hex digits), or by value, "key:NAME=VALUE"
 * ("key:NAME=-" reads the value from the first line of standard input, so
 * that it shows in no process list), hashed with the secret file's key
 * subkey, the index of NAME from the -f configuration.
 * Returns RLW_CMD_OK or RLW_CMD_USAGE (reported). */
int rlw_cmd_client(rlw_cmd_t *c, const char *text, rlw_addr_t *out);

/* A value as it may be shown in a message: at most 80 bytes (then "..."),
 * control characters and non-ASCII as '?', so hostile input cannot forge
 * lines. Allocated from p. */
const char *rlw_cmd_shown(apr_pool_t *p, const char *s);

/* Output helpers. */
void rlw_cmd_emit(rlw_cmd_t *c, const char *text);  /* raw JSON */
void rlw_cmd_emit_str(rlw_cmd_t *c, const char *s); /* "escaped" */
void rlw_cmd_emit_key(rlw_cmd_t *c, const char *key, int first);
void rlw_cmd_flush(rlw_cmd_t *c); /* print it */

/* The event log (rlw_cmd_event.c). Checks the target and opens a file
 * target before a change is made, so that a bad target changes nothing.
 * Returns RLW_CMD_OK or an exit code (reported). */
int rlw_cmd_event_open(rlw_cmd_t *c);
/* Writes the event of a manual ban (RLW_EV_BAN; b the ban as the store
 * wrote it) or unban (RLW_EV_UNBAN; b the ban as it ran) as one line, or
 * says on stderr why none was written. Returns 1 when a line was written,
 * else 0 (a failed write is a warning: the change itself is done). */
int rlw_cmd_event_write(rlw_cmd_t *c, rlw_event_kind_t kind,
                        const rlw_addr_t *client, const rlw_ban_state_t *b,
                        int64_t ban_ms, int64_t now);
void rlw_cmd_event_close(rlw_cmd_t *c);

/* One HTTP reply (rlw_cmd_http()). */
typedef struct rlw_cmd_reply {
    int status;        /* 100..599 */
    const char *ctype; /* Content-Type, "" when absent */
    const char *body;  /* NUL-terminated (NUL inside refused) */
    size_t len;
} rlw_cmd_reply_t;

/* Largest reply read from a node, in bytes (a page of 1000 bans is about
 * 500 KB). */
#define RLW_CMD_HTTP_MAX (8 * 1024 * 1024)

/* Parses --url into c->url_*: "http://HOST[:PORT]/PATH", HOST a name, an
 * IPv4 address or [IPv6]; no user, query or fragment. Returns RLW_CMD_OK
 * or RLW_CMD_USAGE (reported). */
int rlw_cmd_url_parse(rlw_cmd_t *c, const char *url);

/* --http-user USER (or NULL) and --http-password-file FILE (or NULL:
 * RLWAFCTL_HTTP_PASSWORD) into c->url_auth, the value of an HTTP Basic
 * Authorization header, or NULL without a user. */
int rlw_cmd_http_auth(rlw_cmd_t *c, const char *user, const char *file);

/* One HTTP/1.0 exchange with the --url node: method "GET" or "POST" of
 * c->url_path plus query ("?json"), form (application/x-www-form-
 * urlencoded) as the body of a POST. Every step is bounded by
 * c->timeout_ms, the whole by 10 times that; the reply by
 * RLW_CMD_HTTP_MAX. Returns RLW_CMD_OK with *out filled, or RLW_CMD_STORE
 * (reported: unreachable, timed out, or not an HTTP reply). */
int rlw_cmd_http(rlw_cmd_t *c, const char *method, const char *query,
                 const char *form, rlw_cmd_reply_t *out);

/* The commands over --url (rlw_cmd_url.c); each returns the exit code. */
int rlw_cmd_url_status(rlw_cmd_t *c, int argc, char **argv);
int rlw_cmd_url_ban(rlw_cmd_t *c, int argc, char **argv);
int rlw_cmd_url_unban(rlw_cmd_t *c, int argc, char **argv);
int rlw_cmd_url_list(rlw_cmd_t *c, int argc, char **argv);

/* The commands; each returns the exit code. */
int rlw_cmd_status(rlw_cmd_t *c, int argc, char **argv);
int rlw_cmd_ban(rlw_cmd_t *c, int argc, char **argv);
int rlw_cmd_unban(rlw_cmd_t *c, int argc, char **argv);
int rlw_cmd_list(rlw_cmd_t *c, int argc, char **argv);

#endif

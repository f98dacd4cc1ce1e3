/* rlw_event.h - SIEM event lines: one JSON object per line per fact.
 *
 * httpd-free and pure (no allocation, no clock, no I/O): the caller fills an
 * rlw_event_t and writes the line wherever RateLimitWAFEventLog points (a
 * file or a pipe, e.g. tools/rlw-nft-bridge).
 *
 * Field names follow the Elastic Common Schema (ECS), as nested objects:
 *   @timestamp            now_ms, "2026-11-29T10:30:09.032Z"
 *   event.kind            "alert" (ban, exempt_threshold, near_threshold) or
 *                         "event" (unban, store_*)
 *   event.category/type   ban: ["intrusion_detection","network"]/["denied"]
 *                         (["allowed"] in dry run); unban: ["network"]/["end"];
 *                         exempt: ["intrusion_detection"]/["allowed"];
 *                         near: ["intrusion_detection"]/["info"];
 *                         store_degraded: ["database"]/["error"];
 *                         store_recovered: ["database"]/["info"]
 *   event.action          ban, unban, exempt_threshold, near_threshold,
 *                         store_degraded, store_recovered
 *   event.module/dataset  "ratelimit_waf", "ratelimit_waf.events"
 *   event.reason          reason, when given
 *   event.start/end       ban and unban: the ban as it ran (ISO8601 UTC); an
 *                         unban before the planned end (manual) ends now
 *   event.duration        end - start, in nanoseconds
 *   source.ip/address     client: the address (the network address for a
 *                         grouped IPv6 client) / "2001:db8:1:2::/64" (the
 *                         address itself for a single host)
 *   observer.*            hostname (observer), vendor "mod_ratelimit_waf",
 *                         type "waf"
 *   rule.id/category      rule_ids as strings / their CRS categories
 *                         (rlw_event_rule_category()), each category once
 *   user.name, url.original, user_agent.original   when given
 *   message               a short English sentence
 *   rlw.*                 client, count, threshold, window_s, strike, class,
 *                         node, store, dry_run
 *
 * Hostile input (uri, user_agent, user, reason, host names) is escaped by
 * rlw_json_escape() and cut to a bounded length (the RLW_EVENT_*_MAX
 * below), at a character boundary, so it can neither break the line nor add
 * a field, and a whole line always fits in RLW_EVENT_LINE_MAX bytes: one
 * write() of it to a pipe is atomic (PIPE_BUF), so lines written by
 * several httpd children never interleave.
 */
#ifndef RLW_EVENT_H
#define RLW_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "rlw_addr.h"
#include "rlw_decision.h"

/* A buffer of this size always holds a formatted line, NUL included (the
 * line itself, with its "\n", is at most RLW_EVENT_LINE_MAX - 1 bytes). It
 * equals POSIX PIPE_BUF on Linux. */
#define RLW_EVENT_LINE_MAX 4096

/* Longest escaped text kept per field (bytes of JSON, quotes excluded);
 * longer values are cut at a character boundary. */
#define RLW_EVENT_URI_MAX 1024   /* uri */
#define RLW_EVENT_UA_MAX 512     /* user_agent */
#define RLW_EVENT_HOST_MAX 255   /* observer, decided_by */
#define RLW_EVENT_USER_MAX 128   /* user */
#define RLW_EVENT_REASON_MAX 256 /* reason */
#define RLW_EVENT_WORD_MAX 32    /* store, ban_class */

/* Rule ids kept per event (the first ones: most frequent first). */
#define RLW_EVENT_RULES_MAX 8

typedef enum rlw_event_kind {
    RLW_EV_BAN,              /* a ban starts (or would, in dry run) */
    RLW_EV_UNBAN,            /* a ban ends: expired or lifted by hand */
    RLW_EV_EXEMPT_THRESHOLD, /* an exempt client crossed the threshold */
    RLW_EV_NEAR_THRESHOLD,   /* a client is close to a ban */
    RLW_EV_STORE_DEGRADED,   /* the store failed (e.g. memcached down) */
    RLW_EV_STORE_RECOVERED   /* the store works again */
} rlw_event_kind_t;

typedef struct rlw_event {
    rlw_event_kind_t kind;
    int64_t now_ms;           /* @timestamp, ms since the epoch */
    const char *observer;     /* this node's host name (observer.hostname) */
    const char *decided_by;   /* node that decided a ban (rlw.node), or NULL */
    const rlw_addr_t *client; /* as counted; NULL for store events */
    uint32_t count;           /* attacks in the window */
    uint32_t threshold;       /* attacks that trigger a ban */
    int64_t window_ms;        /* window length */
    const rlw_ban_state_t *ban; /* ban/unban: start, until, strikes; NULL
                                 * for the others */
    int64_t ban_ms;             /* length of this ban (used when ban is NULL) */
    const char *ban_class;      /* "normal" | "allow", or NULL */
    const char *reason;         /* unban: "expired" | "manual"; store: error
                                 * text; NULL for none */
    const char *user;           /* who banned/unbanned by hand (user.name) */
    const uint32_t *rule_ids;   /* top CRS rule ids from that client, most
                                 * frequent first; NULL when nrules is 0 */
    int nrules;
    const char *store;      /* "shm" | "memcached", or NULL */
    int dry_run;            /* 1 with RateLimitWAFDryRun: nothing blocked */
    const char *uri;        /* optional: the triggering request (hostile) */
    const char *user_agent; /* optional (hostile) */
    const char *key_name;   /* a key subject's NAME (rlw.key.name), or NULL */
} rlw_event_t;

/* Writes ev as one JSON line, "\n" and a NUL included, into buf. Returns
 * the length of the line (without the NUL), or -1 when it does not fit or
 * ev is NULL or of an unknown kind: then buf holds "" (if len > 0), never a
 * partial object. NULL strings are left out; any bytes in the strings are
 * safe. */
int rlw_event_format(const rlw_event_t *ev, char *buf, size_t len);

/* JSON-escapes the slen bytes of s (which may hold any byte, NUL included)
 * into out without quotes: '"' and '\\' get a backslash, control bytes
 * (0x00-0x1f) and DEL as \u00XX, U+2028/U+2029 as \u2028/\u2029 (they end
 * a line in JavaScript), each byte that is not part of valid UTF-8 (also
 * overlong forms, surrogates, above U+10FFFF) as \ufffd; valid UTF-8 is
 * copied. Writes whole escapes and characters only, and a NUL when outlen
 * > 0 (out may be NULL when outlen is 0). Returns the length of the full
 * escape without the NUL: a result >= outlen means the output was cut. */
size_t rlw_json_escape(const char *s, size_t slen, char *out, size_t outlen);

/* The CRS category of a rule id, from id / 1000 (942100 is 942): 911
 * method-enforcement, 913 scanner-detection, 920 protocol-enforcement,
 * 921 protocol-attack, 922 multipart-attack, 930 lfi, 931 rfi, 932 rce,
 * 933 php, 934 nodejs, 941 xss, 942 sqli, 943 session-fixation, 944 java;
 * "other" for anything else. A static string. */
const char *rlw_event_rule_category(uint32_t rule_id);

/* The event.action name of kind ("ban", ...), or NULL for an unknown kind. */
const char *rlw_event_action(rlw_event_kind_t kind);

/* The facilities a "syslog:FACILITY" event log target may name, as error
 * messages list them. */
#define RLW_EVENT_FACILITIES "user, daemon, auth, authpriv or local0..local7"

/* Whether target (RateLimitWAFEventLog, rlwafctl --event-log) is a syslog
 * target: "syslog" or "syslog:FACILITY", the name in any case. One table
 * for the module and rlwafctl, so that both accept the same names. Returns
 * 1 with *facility set (LOG_DAEMON for plain "syslog"); -1 when it names an
 * unknown facility (*facility unchanged); 0 when it is no syslog target
 * (a file, "syslogfoo" too, or a program). */
int rlw_event_syslog_target(const char *target, int *facility);

#endif

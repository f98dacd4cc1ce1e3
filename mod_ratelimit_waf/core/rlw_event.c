/* rlw_event.c - SIEM event lines in ECS JSON (rlw_event.h).
 *
 * The line is built in the caller's buffer through a small writer that
 * stops at the first piece that does not fit; only a complete line is ever
 * left there. Every string that is not a constant of this file goes through
 * put_str(): escaped and capped, so nothing from a request or the network
 * can close a string early or add a key.
 */
#include "rlw_event.h"
#include "rlw_duration.h"
#include "rlw_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

/* Cap of the escaped message; it holds an address and numbers only. */
#define MESSAGE_MAX 384

typedef struct writer {
    char *buf;
    size_t len; /* size of buf */
    size_t pos; /* bytes written, buf[pos] is where the NUL goes */
    int full;   /* a piece did not fit: the line is lost */
} writer_t;

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence of 2 to 4 bytes at s (n bytes left),
 * or 0 when it is not one (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF, no truncated sequence). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t len, i;

    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong below U+0800 */
    else if (c == 0xed)
        hi = 0x9f; /* U+D800..U+DFFF */
    else if (c == 0xf0)
        lo = 0x90; /* overlong below U+10000 */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

size_t rlw_json_escape(const char *s, size_t slen, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, total = 0, w = 0;
    int cut = 0;

    if (out == NULL)
        outlen = 0;
    while (s != NULL && i < slen) {
        char esc[6];
        const char *piece = esc;
        size_t plen, used = 1, u;
        unsigned char c = p[i];

        if (c < 0x20 || c == 0x7f) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            plen = 6;
        } else if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            plen = 2;
        } else if (c < 0x80) {
            piece = (const char *)p + i;
            plen = 1;
        } else if ((u = utf8_len(p + i, slen - i)) == 0) {
            piece = "\\ufffd";
            plen = 6;
        } else if (u == 3 && c == 0xe2 && p[i + 1] == 0x80 &&
                   (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
            piece = p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
            plen = 6;
            used = 3;
        } else {
            piece = (const char *)p + i;
            plen = used = u;
        }
        /* Whole pieces only, and none after the first that did not fit. */
        if (!cut && w + plen < outlen) {
            memcpy(out + w, piece, plen);
            w += plen;
        } else {
            cut = 1;
        }
        total += plen;
        i += used;
    }
    if (outlen > 0)
        out[w] = '\0';
    return total;
}

/* ---- writer ---- */

static void put(writer_t *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (n >= o->len - o->pos) { /* keep room for the NUL */
        o->full = 1;
        return;
    }
    memcpy(o->buf + o->pos, s, n);
    o->pos += n;
}

static void puts_(writer_t *o, const char *s)
{
    put(o, s, strlen(s));
}

static void putf(writer_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(writer_t *o, const char *fmt, ...)
{
    char tmp[96];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        o->full = 1; /* never happens with the formats of this file */
    else
        put(o, tmp, (size_t)n);
}

/* Writes s as a quoted JSON string, escaped and cut to cap bytes (at most
 * RLW_EVENT_URI_MAX). Reads at most cap + 4 bytes of s: each input byte is
 * at least one output byte, and the 4 spare bytes complete a character
 * that starts before the cap, so the cut never makes up a \ufffd. */
static void put_str(writer_t *o, const char *s, size_t cap)
{
    char tmp[RLW_EVENT_URI_MAX + 1];

    if (cap > RLW_EVENT_URI_MAX)
        cap = RLW_EVENT_URI_MAX;
    rlw_json_escape(s, strnlen(s, cap + 4), tmp, cap + 1);
    put(o, "\"", 1);
    puts_(o, tmp);
    put(o, "\"", 1);
}

/* Writes ,"name": (no comma before the first key of an object). */
static void key(writer_t *o, int *first, const char *name)
{
    if (!*first)
        put(o, ",", 1);
    *first = 0;
    put(o, "\"", 1);
    puts_(o, name);
    put(o, "\":", 2);
}

static void key_str(writer_t *o, int *first, const char *name, const char *s,
                    size_t cap)
{
    key(o, first, name);
    put_str(o, s, cap);
}

/* @timestamp: ISO-8601 with four-digit years, so times after 9999 show as
 * its end, and earlier than the epoch as the epoch (rlw_time_iso8601()). */
static void put_iso(writer_t *o, int64_t ms)
{
    char buf[RLW_TIME_ISO_LEN];

    putf(o, "\"%s\"", rlw_time_iso8601(ms, RLW_TIME_MS, buf, sizeof(buf)));
}

/* Writes ms as seconds, a JSON number: "60", "1.5", "0.001". */
static void put_seconds(writer_t *o, int64_t ms)
{
    int64_t frac;

    if (ms < 0)
        ms = 0;
    frac = ms % 1000;
    if (frac == 0) {
        putf(o, "%lld", (long long)(ms / 1000));
        return;
    }
    if (frac % 100 == 0)
        putf(o, "%lld.%lld", (long long)(ms / 1000), (long long)(frac / 100));
    else if (frac % 10 == 0)
        putf(o, "%lld.%02lld", (long long)(ms / 1000), (long long)(frac / 10));
    else
        putf(o, "%lld.%03lld", (long long)(ms / 1000), (long long)frac);
}

/* ---- names ---- */

const char *rlw_event_action(rlw_event_kind_t kind)
{
    switch (kind) {
    case RLW_EV_BAN:
        return "ban";
    case RLW_EV_UNBAN:
        return "unban";
    case RLW_EV_EXEMPT_THRESHOLD:
        return "exempt_threshold";
    case RLW_EV_NEAR_THRESHOLD:
        return "near_threshold";
    case RLW_EV_STORE_DEGRADED:
        return "store_degraded";
    case RLW_EV_STORE_RECOVERED:
        return "store_recovered";
    }
    return NULL;
}

const char *rlw_event_rule_category(uint32_t rule_id)
{
    switch (rule_id / 1000) {
    case 911:
        return "method-enforcement";
    case 913:
        return "scanner-detection";
    case 920:
        return "protocol-enforcement";
    case 921:
        return "protocol-attack";
    case 922:
        return "multipart-attack";
    case 930:
        return "lfi";
    case 931:
        return "rfi";
    case 932:
        return "rce";
    case 933:
        return "php";
    case 934:
        return "nodejs";
    case 941:
        return "xss";
    case 942:
        return "sqli";
    case 943:
        return "session-fixation";
    case 944:
        return "java";
    }
    return "other";
}

/* ECS event.kind, event.category and event.type of ev, as JSON text. */
static void put_ecs_kind(writer_t *o, const rlw_event_t *ev)
{
    const char *kind = "\"alert\"", *cat, *type;

    switch (ev->kind) {
    case RLW_EV_BAN:
        cat = "[\"intrusion_detection\",\"network\"]";
        type = ev->dry_run ? "[\"allowed\"]" : "[\"denied\"]";
        break;
    case RLW_EV_UNBAN:
        kind = "\"event\"";
        cat = "[\"network\"]";
        type = "[\"end\"]";
        break;
    case RLW_EV_EXEMPT_THRESHOLD:
        cat = "[\"intrusion_detection\"]";
        type = "[\"allowed\"]";
        break;
    case RLW_EV_NEAR_THRESHOLD:
        cat = "[\"intrusion_detection\"]";
        type = "[\"info\"]";
        break;
    case RLW_EV_STORE_DEGRADED:
        kind = "\"event\"";
        cat = "[\"database\"]";
        type = "[\"error\"]";
        break;
    default: /* RLW_EV_STORE_RECOVERED; unknown kinds never get here */
        kind = "\"event\"";
        cat = "[\"database\"]";
        type = "[\"info\"]";
        break;
    }
    puts_(o, "\"kind\":");
    puts_(o, kind);
    puts_(o, ",\"category\":");
    puts_(o, cat);
    puts_(o, ",\"type\":");
    puts_(o, type);
}

/* The ban as it ran: [*start, *end]. For an unban lifted before its planned
 * end, the end is now. Returns 0 when ev carries no ban times.
 * Times before the epoch (a record read from memcached may say anything)
 * are taken as the epoch, as put_iso() prints them, so 0 <= *start <= *end
 * and *end - *start cannot overflow. */
static int ban_times(const rlw_event_t *ev, int64_t *start, int64_t *end)
{
    if (ev->kind == RLW_EV_BAN) {
        if (ev->ban != NULL) {
            *start = ev->ban->start_ms;
            *end = ev->ban->until_ms;
        } else {
            *start = ev->now_ms;
            *end = ev->ban_ms > 0 && ev->now_ms <= INT64_MAX - ev->ban_ms
                       ? ev->now_ms + ev->ban_ms
                       : ev->now_ms;
        }
    } else if (ev->kind == RLW_EV_UNBAN && ev->ban != NULL) {
        *start = ev->ban->start_ms;
        *end = ev->ban->until_ms;
        if (ev->now_ms < *end)
            *end = ev->now_ms;
    } else {
        return 0;
    }
    if (*start < 0)
        *start = 0;
    if (*end < *start)
        *end = *start;
    return 1;
}

static void put_message(writer_t *o, const rlw_event_t *ev, const char *text)
{
    char client[RLW_ADDR_STRLEN + 48]; /* "key NAME " or "network " */
    char msg[MESSAGE_MAX], len_txt[32], win_txt[32];
    const char *store = ev->store != NULL ? ev->store : "";
    int64_t start, end;

    if (ev->client != NULL && ev->client->kind == RLW_KIND_KEY)
        snprintf(client, sizeof(client), "key %.32s %s",
                 ev->key_name != NULL ? ev->key_name : "?", text);
    else
        snprintf(client, sizeof(client), "%s%s",
                 ev->client != NULL && ev->client->kind == RLW_KIND_NET
                     ? "network "
                     : "",
                 text);
    /* "10m", "1h", "90s", "250ms": ban and window lengths. */
    rlw_duration_format(ev->window_ms > 0 ? ev->window_ms : 0, win_txt,
                        sizeof(win_txt));
    switch (ev->kind) {
    case RLW_EV_BAN:
        ban_times(ev, &start, &end);
        rlw_duration_format(end - start, len_txt, sizeof(len_txt));
        if (ev->user != NULL ||
            (ev->reason != NULL && strcmp(ev->reason, "manual") == 0))
            snprintf(msg, sizeof(msg), "%s %s for %s (manual)",
                     ev->dry_run ? "Would ban (dry run)" : "Banned", client,
                     len_txt);
        else
            snprintf(msg, sizeof(msg),
                     "%s %s for %s after %lu attacks in %s (strike %lu)",
                     ev->dry_run ? "Would ban (dry run)" : "Banned", client,
                     len_txt, (unsigned long)ev->count, win_txt,
                     (unsigned long)(ev->ban != NULL ? ev->ban->strikes : 0));
        break;
    case RLW_EV_UNBAN:
        if (ev->reason != NULL && strcmp(ev->reason, "expired") == 0)
            snprintf(msg, sizeof(msg), "Ban of %s expired", client);
        else if (ev->reason != NULL && strcmp(ev->reason, "manual") == 0)
            snprintf(msg, sizeof(msg), "Ban of %s lifted by hand", client);
        else
            snprintf(msg, sizeof(msg), "Ban of %s ended", client);
        break;
    case RLW_EV_EXEMPT_THRESHOLD:
        snprintf(msg, sizeof(msg),
                 "Exempt client %s reached the threshold (%lu of %lu "
                 "attacks in %s), not banned",
                 client, (unsigned long)ev->count, (unsigned long)ev->threshold,
                 win_txt);
        break;
    case RLW_EV_NEAR_THRESHOLD:
        snprintf(
            msg, sizeof(msg),
            "%s %s is near the threshold (%lu of %lu attacks in %s)",
            ev->client != NULL && ev->client->kind == RLW_KIND_NET   ? "Network"
            : ev->client != NULL && ev->client->kind == RLW_KIND_KEY ? "Request"
                                                                     : "Client",
            ev->client != NULL && ev->client->kind == RLW_KIND_KEY ? client
                                                                   : text,
            (unsigned long)ev->count, (unsigned long)ev->threshold, win_txt);
        break;
    case RLW_EV_STORE_DEGRADED:
        snprintf(msg, sizeof(msg), "Store %.32s degraded", store);
        break;
    default:
        snprintf(msg, sizeof(msg), "Store %.32s recovered", store);
        break;
    }
    put_str(o, msg, MESSAGE_MAX);
}

/* ---- the line ---- */

int rlw_event_format(const rlw_event_t *ev, char *buf, size_t len)
{
    writer_t o = {buf, len, 0, 0};
    char client[RLW_ADDR_STRLEN] = "", ip[RLW_ADDR_STRLEN] = "";
    const char *action;
    int64_t start, end;
    int first, i, nrules, with_counts, is_net, is_key;

    if (buf == NULL || len == 0)
        return -1;
    buf[0] = '\0';
    if (ev == NULL || (action = rlw_event_action(ev->kind)) == NULL)
        return -1;
    if (ev->client != NULL) {
        rlw_addr_t host = *ev->client;

        rlw_addr_format(ev->client, client, sizeof(client));
        host.prefix = host.family == RLW_AF_INET ? 32 : 128;
        rlw_addr_format(&host, ip, sizeof(ip));
    }
    is_net = ev->client != NULL && ev->client->kind == RLW_KIND_NET;
    is_key = ev->client != NULL && ev->client->kind == RLW_KIND_KEY;
    nrules = ev->rule_ids != NULL && ev->nrules > 0 ? ev->nrules : 0;
    if (nrules > RLW_EVENT_RULES_MAX)
        nrules = RLW_EVENT_RULES_MAX;
    with_counts = ev->kind == RLW_EV_BAN ||
                  ev->kind == RLW_EV_EXEMPT_THRESHOLD ||
                  ev->kind == RLW_EV_NEAR_THRESHOLD;

    puts_(&o, "{\"@timestamp\":");
    put_iso(&o, ev->now_ms);

    puts_(&o, ",\"event\":{");
    put_ecs_kind(&o, ev);
    putf(&o, ",\"action\":\"%s\"", action);
    puts_(&o, ",\"module\":\"ratelimit_waf\","
              "\"dataset\":\"ratelimit_waf.events\"");
    if (ev->reason != NULL) {
        puts_(&o, ",\"reason\":");
        put_str(&o, ev->reason, RLW_EVENT_REASON_MAX);
    }
    if (ban_times(ev, &start, &end)) {
        int64_t ms = end - start;

        puts_(&o, ",\"start\":");
        put_iso(&o, start);
        puts_(&o, ",\"end\":");
        put_iso(&o, end);
        putf(&o, ",\"duration\":%lld",
             (long long)(ms > INT64_MAX / 1000000 ? INT64_MAX : ms * 1000000));
    }
    puts_(&o, "}");

    if (is_key) {
        /* A request key has no address: no source at all (the nftables
         * bridge has nothing to add), its name and hash under rlw.key. */
    } else if (ev->client != NULL && is_net) {
        /* A network is no IP: only its CIDR text, as source.address (what
         * the nftables bridge adds to its set as a prefix). */
        puts_(&o, ",\"source\":{\"address\":");
        put_str(&o, client, RLW_ADDR_STRLEN);
        puts_(&o, "}");
    } else if (ev->client != NULL) {
        puts_(&o, ",\"source\":{\"ip\":");
        put_str(&o, ip, RLW_ADDR_STRLEN);
        puts_(&o, ",\"address\":");
        put_str(&o, client, RLW_ADDR_STRLEN);
        puts_(&o, "}");
    }

    puts_(&o, ",\"observer\":{");
    if (ev->observer != NULL) {
        puts_(&o, "\"hostname\":");
        put_str(&o, ev->observer, RLW_EVENT_HOST_MAX);
        puts_(&o, ",");
    }
    puts_(&o, "\"vendor\":\"mod_ratelimit_waf\",\"type\":\"waf\"}");

    if (nrules > 0) {
        const char *seen[RLW_EVENT_RULES_MAX];
        int nseen = 0, j;

        puts_(&o, ",\"rule\":{\"id\":[");
        for (i = 0; i < nrules; i++)
            putf(&o, "%s\"%lu\"", i ? "," : "", (unsigned long)ev->rule_ids[i]);
        puts_(&o, "],\"category\":[");
        for (i = 0; i < nrules; i++) {
            const char *cat = rlw_event_rule_category(ev->rule_ids[i]);

            for (j = 0; j < nseen && seen[j] != cat; j++)
                ;
            if (j < nseen)
                continue; /* static strings: equal text, equal pointer */
            putf(&o, "%s\"%s\"", nseen ? "," : "", cat);
            seen[nseen++] = cat;
        }
        puts_(&o, "]}");
    }
    if (ev->user != NULL) {
        puts_(&o, ",\"user\":{\"name\":");
        put_str(&o, ev->user, RLW_EVENT_USER_MAX);
        puts_(&o, "}");
    }
    if (ev->uri != NULL) {
        puts_(&o, ",\"url\":{\"original\":");
        put_str(&o, ev->uri, RLW_EVENT_URI_MAX);
        puts_(&o, "}");
    }
    if (ev->user_agent != NULL) {
        puts_(&o, ",\"user_agent\":{\"original\":");
        put_str(&o, ev->user_agent, RLW_EVENT_UA_MAX);
        puts_(&o, "}");
    }
    puts_(&o, ",\"message\":");
    put_message(&o, ev, client);

    puts_(&o, ",\"rlw\":{");
    first = 1;
    if (is_key) {
        /* The hash only (client is "key#N:" and its 32 hex digits): the
         * value is never known here. */
        const char *hash = strchr(client, ':');

        key_str(&o, &first, "kind", "key", RLW_EVENT_WORD_MAX);
        key(&o, &first, "key");
        puts_(&o, "{\"name\":");
        put_str(&o, ev->key_name != NULL ? ev->key_name : "",
                RLW_EVENT_WORD_MAX);
        puts_(&o, ",\"hash\":");
        put_str(&o, hash != NULL ? hash + 1 : "", RLW_ADDR_STRLEN);
        puts_(&o, "}");
    } else if (ev->client != NULL && is_net) {
        key_str(&o, &first, "kind", "network", RLW_EVENT_WORD_MAX);
        key_str(&o, &first, "network", client, RLW_ADDR_STRLEN);
    } else if (ev->client != NULL) {
        key_str(&o, &first, "client", client, RLW_ADDR_STRLEN);
    }
    if (with_counts) {
        key(&o, &first, "count");
        putf(&o, "%lu", (unsigned long)ev->count);
        key(&o, &first, "threshold");
        putf(&o, "%lu", (unsigned long)ev->threshold);
        key(&o, &first, "window_s");
        put_seconds(&o, ev->window_ms);
    }
    if (ev->ban != NULL &&
        (ev->kind == RLW_EV_BAN || ev->kind == RLW_EV_UNBAN)) {
        key(&o, &first, "strike");
        putf(&o, "%lu", (unsigned long)ev->ban->strikes);
    }
    if (ev->ban_class != NULL)
        key_str(&o, &first, "class", ev->ban_class, RLW_EVENT_WORD_MAX);
    if (ev->decided_by != NULL)
        key_str(&o, &first, "node", ev->decided_by, RLW_EVENT_HOST_MAX);
    if (ev->store != NULL)
        key_str(&o, &first, "store", ev->store, RLW_EVENT_WORD_MAX);
    key(&o, &first, "dry_run");
    puts_(&o, ev->dry_run ? "true" : "false");
    puts_(&o, "}}\n");

    if (o.full || o.pos > (size_t)INT32_MAX) {
        buf[0] = '\0';
        return -1;
    }
    buf[o.pos] = '\0';
    return (int)o.pos;
}

/* ---- event log targets ---- */

int rlw_event_syslog_target(const char *target, int *facility)
{
    static const struct {
        const char *name;
        int value;
    } facilities[] = {{"user", LOG_USER},
                      {"daemon", LOG_DAEMON},
                      {"auth", LOG_AUTH},
                      {"authpriv", LOG_AUTHPRIV},
                      {"local0", LOG_LOCAL0},
                      {"local1", LOG_LOCAL1},
                      {"local2", LOG_LOCAL2},
                      {"local3", LOG_LOCAL3},
                      {"local4", LOG_LOCAL4},
                      {"local5", LOG_LOCAL5},
                      {"local6", LOG_LOCAL6},
                      {"local7", LOG_LOCAL7},
                      {NULL, 0}};
    int i;

    if (strncmp(target, "syslog", 6) || (target[6] && target[6] != ':'))
        return 0;
    if (!target[6]) {
        *facility = LOG_DAEMON;
        return 1;
    }
    for (i = 0; facilities[i].name; i++) {
        if (!strcasecmp(target + 7, facilities[i].name)) {
            *facility = facilities[i].value;
            return 1;
        }
    }
    return -1;
}

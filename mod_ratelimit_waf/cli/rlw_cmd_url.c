/* rlw_cmd_url.c - rlwafctl --url: status, ban, unban and list over one
 * node's status page and its admin API (docs/status.md, "Admin API").
 *
 * For a node with the shm store, whose table nothing outside the node can
 * read: the tool reads the page's ?json and posts the admin form as a
 * script would (the form token first, from ?json), so the node itself
 * makes the change, logs it (RLW00040, RLW00041) and writes its event
 * (reason "manual"): the tool writes none, or the event would be there
 * twice. The location needs RateLimitWAFAdmin On for ban and unban.
 *
 * The page's JSON is outside input: parsed strictly (rlw_json.h), every
 * field checked for its type before use, strings shown through
 * rlw_cmd_shown() in text output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "rlw_cmd.h"
#include "rlw_duration.h"
#include "rlw_json.h"
#include "rlw_time.h"

/* s percent-encoded for a form field (RFC 3986 unreserved kept). */
static const char *form_escape(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;

        if (apr_isalnum(ch) || strchr("-._~", ch)) {
            *o++ = (char)ch;
        } else {
            sprintf(o, "%%%02X", ch);
            o += 3;
        }
    }
    *o = 0;
    return out;
}

/* The first line of a text body, or the error of a JSON one, for a
 * message. */
static const char *said(rlw_cmd_t *c, const rlw_cmd_reply_t *r)
{
    rlw_json_t *d;
    const char *e;

    if (!rlw_json_parse(c->pool, r->body, r->len, &d) &&
        (e = rlw_json_get_str(d, "error")))
        return rlw_cmd_shown(c->pool, e);
    return rlw_cmd_shown(
        c->pool, apr_pstrndup(c->pool, r->body, strcspn(r->body, "\n")));
}

/* A reply that is not what was asked for: the exit code of its status
 * (403: the node's configuration; 400: the argument; else the node). */
static int refused(rlw_cmd_t *c, const char *what, const rlw_cmd_reply_t *r)
{
    const char *url = rlw_cmd_shown(c->pool, c->url);

    switch (r->status) {
    case 401:
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "%s: %s asks for a password (HTTP 401); "
                            "rlwafctl sends none: allow its address with "
                            "Require ip on that location",
                            what, url);
    case 403:
        return rlw_cmd_fail(c, RLW_CMD_CONFIG, "%s: %s refused (HTTP 403): %s",
                            what, url, said(c, r));
    case 404:
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "%s: no status page at %s (HTTP 404)", what, url);
    case 400:
        return rlw_cmd_fail(c, RLW_CMD_USAGE, "%s: %s refused (HTTP 400): %s",
                            what, url, said(c, r));
    default:
        return rlw_cmd_fail(c, RLW_CMD_STORE, "%s: %s answered HTTP %d: %s",
                            what, url, r->status, said(c, r));
    }
}

/* The page's ?json, checked to be mod_ratelimit_waf's. */
static int page(rlw_cmd_t *c, rlw_json_t **doc)
{
    rlw_cmd_reply_t r;
    const char *err, *m;
    int rc;

    if ((rc = rlw_cmd_http(c, "GET", "?json", NULL, &r)))
        return rc;
    if (r.status != 200)
        return refused(c, "reading the status page", &r);
    if ((err = rlw_json_parse(c->pool, r.body, r.len, doc)))
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "%s?json is not valid JSON (%s): is it a "
                            "mod_ratelimit_waf status page?",
                            rlw_cmd_shown(c->pool, c->url), err);
    if (!(m = rlw_json_get_str(*doc, "module")) ||
        strcmp(m, "mod_ratelimit_waf") ||
        !rlw_json_get_type(*doc, "bans", RLW_JSON_ARRAY))
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "%s?json is not a mod_ratelimit_waf status page",
                            rlw_cmd_shown(c->pool, c->url));
    return RLW_CMD_OK;
}

/* The node's name, as the page gives it ("" for none). */
static const char *node_of(const rlw_json_t *doc)
{
    const char *n = rlw_json_get_str(doc, "node");

    return n ? n : "";
}

static void emit_num(rlw_cmd_t *c, const char *key, int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    rlw_cmd_emit_key(c, key, 0);
    rlw_cmd_emit(c, buf);
}

static void emit_field(rlw_cmd_t *c, const char *key, const char *v)
{
    rlw_cmd_emit_key(c, key, 0);
    rlw_cmd_emit_str(c, v);
}

/* One ban of the page, checked: the fields the tool shows. */
typedef struct url_ban {
    const char *client, *kind, *node;
    int64_t since_ms, until_ms, strike, ban_count, count;
} url_ban_t;

/* Reads entry e of bans[] into b: 0, or -1 when a field is missing or of
 * another type (the entry is then skipped, with a warning). Dry-run bans
 * are not running bans (nobody enforces them): 1. */
static int read_ban(const rlw_json_t *e, url_ban_t *b)
{
    const rlw_json_t *dry = rlw_json_get(e, "dry_run");

    memset(b, 0, sizeof(*b));
    if (dry && dry->type == RLW_JSON_TRUE)
        return 1;
    b->client = rlw_json_get_str(e, "client");
    b->kind = rlw_json_get_str(e, "kind");
    b->node = rlw_json_get_str(e, "node");
    if (!b->client || !b->node ||
        rlw_json_get_int(e, "since_ms", &b->since_ms) ||
        rlw_json_get_int(e, "until_ms", &b->until_ms) ||
        rlw_json_get_int(e, "strike", &b->strike) ||
        rlw_json_get_int(e, "ban_count", &b->ban_count) ||
        rlw_json_get_int(e, "count", &b->count) || b->since_ms < 0 ||
        b->until_ms < 0)
        return -1;
    if (!b->kind)
        b->kind = "client";
    return 0;
}

/* The page's running bans that are enforced, in its order (newest
 * first); warns about entries it cannot read and about bans not listed. */
static apr_array_header_t *running_bans(rlw_cmd_t *c, const rlw_json_t *doc)
{
    const rlw_json_t *bans = rlw_json_get_type(doc, "bans", RLW_JSON_ARRAY);
    apr_array_header_t *out = apr_array_make(c->pool, 16, sizeof(url_ban_t));
    int64_t active, listed;
    int i, bad = 0;

    for (i = 0; i < bans->n; i++) {
        url_ban_t b;
        int rc = read_ban(bans->item[i], &b);

        if (rc < 0)
            bad++;
        else if (rc == 0)
            *(url_ban_t *)apr_array_push(out) = b;
    }
    if (bad)
        fprintf(stderr,
                "rlwafctl: warning: %d ban entries of the page lack a "
                "field or have one of the wrong type; ignored\n",
                bad);
    if (!rlw_json_get_int(doc, "active_bans", &active) &&
        !rlw_json_get_int(doc, "bans_listed", &listed) && listed < active)
        fprintf(stderr,
                "rlwafctl: warning: the page lists the newest %lld of %lld "
                "running bans\n",
                (long long)listed, (long long)active);
    return out;
}

/* Formats ms since the epoch; "?" for what a hostile page may send. */
static const char *when(rlw_cmd_t *c, int64_t ms, unsigned flags)
{
    char buf[RLW_TIME_ISO_LEN];

    if (ms < 0)
        return "?";
    return apr_pstrdup(c->pool, rlw_time_iso8601(ms, flags, buf, sizeof(buf)));
}

static const char *left(rlw_cmd_t *c, int64_t until_ms, int64_t now)
{
    char buf[40];

    rlw_time_span(until_ms > now ? until_ms - now : 0, buf, sizeof(buf));
    return apr_pstrdup(c->pool, buf);
}

/* The subject text as the node writes it ("198.51.100.0/24", "key#0:..."). */
static int subject_text(rlw_cmd_t *c, const char *arg, const char **text,
                        const char **kind)
{
    rlw_addr_t a;
    char buf[RLW_ADDR_STRLEN];
    int rc;

    if ((rc = rlw_cmd_client(c, arg, &a)))
        return rc;
    *text = apr_pstrdup(c->pool, rlw_addr_format(&a, buf, sizeof(buf)));
    *kind = a.kind == RLW_KIND_NET   ? "network"
            : a.kind == RLW_KIND_KEY ? "key"
                                     : "client";
    return RLW_CMD_OK;
}

/* --- list ------------------------------------------------------------- */

int rlw_cmd_url_list(rlw_cmd_t *c, int argc, char **argv)
{
    apr_array_header_t *bans;
    rlw_json_t *doc;
    int64_t now;
    int i, rc;

    (void)argv;
    if ((rc = rlw_cmd_want_args(c, argc, 0, "list")) || (rc = page(c, &doc)))
        return rc;
    bans = running_bans(c, doc);
    now = rlw_now_ms();
    if (c->json) {
        emit_field(c, "url", c->url);
        emit_field(c, "node", node_of(doc));
        rlw_cmd_emit_key(c, "bans", 0);
        rlw_cmd_emit(c, "[");
    }
    for (i = 0; i < bans->nelts; i++) {
        const url_ban_t *b = &APR_ARRAY_IDX(bans, i, url_ban_t);

        if (c->json) {
            rlw_cmd_emit(c, i ? ",{" : "{");
            rlw_cmd_emit_key(c, "client", 1);
            rlw_cmd_emit_str(c, b->client);
            if (strcmp(b->kind, "client"))
                emit_field(c, "kind", b->kind);
            emit_field(c, "since", when(c, b->since_ms, RLW_TIME_MS));
            emit_field(c, "until", when(c, b->until_ms, RLW_TIME_MS));
            emit_num(c, "since_ms", b->since_ms);
            emit_num(c, "until_ms", b->until_ms);
            emit_num(c, "remaining_ms",
                     b->until_ms > now ? b->until_ms - now : 0);
            emit_num(c, "strikes", b->strike);
            emit_num(c, "count", b->ban_count);
            emit_field(c, "node", b->node);
            rlw_cmd_emit(c, "}");
            continue;
        }
        if (!i)
            printf("%-40s %-20s %-20s %-10s %-6s %s\n", "CLIENT", "SINCE",
                   "UNTIL", "REMAINING", "STRIKE", "NODE");
        printf("%-40s %-20s %-20s %-10s %-6lld %s\n",
               rlw_cmd_shown(c->pool, b->client), when(c, b->since_ms, 0),
               when(c, b->until_ms, 0), left(c, b->until_ms, now),
               (long long)b->strike,
               b->node[0] ? rlw_cmd_shown(c->pool, b->node) : "-");
    }
    if (c->json) {
        rlw_cmd_emit(c, "]");
        emit_num(c, "active", bans->nelts);
    } else if (!bans->nelts)
        printf("no running bans on %s\n",
               node_of(doc)[0] ? rlw_cmd_shown(c->pool, node_of(doc))
                               : rlw_cmd_shown(c->pool, c->url));
    return RLW_CMD_OK;
}

/* --- status ----------------------------------------------------------- */

/* The subject's attacks in the window from the page's top offenders of
 * its kind (top_by_kind, else top_offenders): 0 and *found when listed. */
static int64_t top_count(const rlw_json_t *doc, const char *kind,
                         const char *text, int *found)
{
    const rlw_json_t *by =
        rlw_json_get_type(doc, "top_by_kind", RLW_JSON_OBJECT);
    const rlw_json_t *list =
        by ? rlw_json_get_type(by, kind, RLW_JSON_ARRAY)
           : rlw_json_get_type(doc, "top_offenders", RLW_JSON_ARRAY);
    int64_t n;
    int i;

    *found = 0;
    for (i = 0; list && i < list->n; i++) {
        const char *cl = rlw_json_get_str(list->item[i], "client");

        if (cl && !strcmp(cl, text) &&
            !rlw_json_get(list->item[i], "dry_run") &&
            !rlw_json_get_int(list->item[i], "count", &n)) {
            *found = 1;
            return n;
        }
    }
    return 0;
}

int rlw_cmd_url_status(rlw_cmd_t *c, int argc, char **argv)
{
    apr_array_header_t *bans;
    const url_ban_t *hit = NULL;
    const char *text, *kind;
    rlw_json_t *doc;
    int64_t now, count, window_s = 0;
    char win[32];
    int i, rc, listed;

    if ((rc = rlw_cmd_want_args(c, argc, 1, "status CLIENT")) ||
        (rc = subject_text(c, argv[0], &text, &kind)) || (rc = page(c, &doc)))
        return rc;
    now = rlw_now_ms();
    bans = running_bans(c, doc);
    for (i = 0; i < bans->nelts && !hit; i++)
        if (!strcmp(APR_ARRAY_IDX(bans, i, url_ban_t).client, text))
            hit = &APR_ARRAY_IDX(bans, i, url_ban_t);
    if (hit && hit->until_ms <= now)
        hit = NULL;
    count = top_count(doc, kind, text, &listed);
    rlw_json_get_int(rlw_json_get(doc, "policy"), "window_s", &window_s);
    rlw_duration_format(window_s * 1000, win, sizeof(win));
    if (c->json) {
        emit_field(c, "client", text);
        if (strcmp(kind, "client"))
            emit_field(c, "kind", kind);
        rlw_cmd_emit_key(c, "banned", 0);
        rlw_cmd_emit(c, hit ? "true" : "false");
        if (listed)
            emit_num(c, "count", count);
        else {
            rlw_cmd_emit_key(c, "count", 0);
            rlw_cmd_emit(c, "null");
        }
        emit_num(c, "window_ms", window_s * 1000);
        rlw_cmd_emit_key(c, "ban", 0);
        if (hit) {
            rlw_cmd_emit(c, "{");
            rlw_cmd_emit_key(c, "active", 1);
            rlw_cmd_emit(c, "true");
            emit_field(c, "since", when(c, hit->since_ms, RLW_TIME_MS));
            emit_field(c, "until", when(c, hit->until_ms, RLW_TIME_MS));
            emit_num(c, "since_ms", hit->since_ms);
            emit_num(c, "until_ms", hit->until_ms);
            emit_num(c, "remaining_ms", hit->until_ms - now);
            emit_num(c, "strikes", hit->strike);
            emit_num(c, "count", hit->ban_count);
            emit_field(c, "node", hit->node);
            rlw_cmd_emit(c, "}");
        } else
            rlw_cmd_emit(c, "null");
        emit_field(c, "url", c->url);
        return hit ? RLW_CMD_OK : RLW_CMD_NO;
    }
    printf("%-10s %s\n", kind, text);
    if (hit) {
        printf("banned     yes, %s left\n", left(c, hit->until_ms, now));
        printf("since      %s\n", when(c, hit->since_ms, 0));
        printf("until      %s\n", when(c, hit->until_ms, 0));
        printf("strikes    %lld\n", (long long)hit->strike);
    } else
        printf("banned     no\n");
    if (listed)
        printf("attacks    %lld in the last %s\n", (long long)count, win);
    else
        printf("attacks    not among the node's top offenders in the last %s\n",
               win);
    return hit ? RLW_CMD_OK : RLW_CMD_NO;
}

/* --- ban, unban ------------------------------------------------------- */

/* Posts action with fields (already escaped, starting with '&') using the
 * page's form token; *doc gets the node's JSON answer. */
static int post(rlw_cmd_t *c, const char *action, const char *fields,
                rlw_cmd_reply_t *r, rlw_json_t **answer)
{
    const rlw_json_t *admin, *tokens;
    const char *tok, *err;
    rlw_json_t *doc;
    int rc;

    if ((rc = page(c, &doc)))
        return rc;
    admin = rlw_json_get(doc, "admin");
    tokens = rlw_json_get_type(doc, "tokens", RLW_JSON_OBJECT);
    if (!admin || admin->type != RLW_JSON_TRUE || !tokens)
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "%s: %s does not take bans and unbans: "
                            "RateLimitWAFAdmin is Off for that location "
                            "(set RateLimitWAFAdmin On in its <Location>)",
                            action, rlw_cmd_shown(c->pool, c->url));
    if (!(tok = rlw_json_get_str(tokens, action)) || !*tok)
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "%s: the page gave no form token for %s", action,
                            action);
    if ((rc = rlw_cmd_http(c, "POST", "?json",
                           apr_pstrcat(c->pool, "action=", action, fields,
                                       "&token=", form_escape(c->pool, tok),
                                       NULL),
                           r)))
        return rc;
    *answer = NULL;
    if (r->status == 200) {
        const rlw_json_t *ok;

        if ((err = rlw_json_parse(c->pool, r->body, r->len, answer)) ||
            !(ok = rlw_json_get(*answer, "ok")) || ok->type != RLW_JSON_TRUE)
            return rlw_cmd_fail(c, RLW_CMD_STORE,
                                "%s: %s answered 200 without {\"ok\":true}",
                                action, rlw_cmd_shown(c->pool, c->url));
    }
    return RLW_CMD_OK;
}

/* The node recorded the change on itself only (cluster journal append
 * failed): said on stderr, not a failure (the node logs RLW00047). */
static void warn_local(rlw_cmd_t *c, const rlw_json_t *answer)
{
    const rlw_json_t *lo = rlw_json_get(answer, "local_only");

    if (lo && lo->type == RLW_JSON_TRUE)
        fprintf(stderr, "rlwafctl: warning: %s\n",
                rlw_cmd_shown(c->pool, rlw_json_get_str(answer, "warning")
                                           ? rlw_json_get_str(answer, "warning")
                                           : "in force on this node only"));
}

int rlw_cmd_url_ban(rlw_cmd_t *c, int argc, char **argv)
{
    const char *text, *kind, *why, *until;
    rlw_cmd_reply_t r;
    rlw_json_t *answer;
    char len[32];
    int64_t ms, until_ms = 0;
    int rc;

    if ((rc = rlw_cmd_want_args(c, argc, 2, "ban CLIENT DURATION")) ||
        (rc = subject_text(c, argv[0], &text, &kind)))
        return rc;
    if ((why = rlw_duration_parse(argv[1], &ms)))
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "'%s' is not a ban duration: %s (e.g. 90s, 15m, "
                            "8h, 1d)",
                            rlw_cmd_shown(c->pool, argv[1]), why);
    if (ms < 1000)
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "a ban of %s is too short (at least 1s)",
                            rlw_duration_format(ms, len, sizeof(len)));
    rlw_duration_format(ms, len, sizeof(len));
    if ((rc = post(c, "ban",
                   apr_pstrcat(c->pool, "&client=", form_escape(c->pool, text),
                               "&duration=", form_escape(c->pool, len), NULL),
                   &r, &answer)))
        return rc;
    if (r.status != 200)
        return refused(c, "ban", &r);
    rlw_json_get_int(answer, "until_ms", &until_ms);
    until = when(c, until_ms, 0);
    warn_local(c, answer);
    if (c->json) {
        emit_field(c, "client", text);
        if (strcmp(kind, "client"))
            emit_field(c, "kind", kind);
        rlw_cmd_emit_key(c, "banned", 0);
        rlw_cmd_emit(c, "true");
        emit_field(c, "until", when(c, until_ms, RLW_TIME_MS));
        emit_num(c, "until_ms", until_ms);
        emit_num(c, "duration_ms", ms);
        emit_field(c, "url", c->url);
        rlw_cmd_emit_key(c, "event", 0);
        rlw_cmd_emit(c, "false"); /* the node writes it */
        return RLW_CMD_OK;
    }
    printf("banned %s%s for %s, until %s, on %s (the node logs it and "
           "writes its event)\n",
           strcmp(kind, "client") ? apr_pstrcat(c->pool, kind, " ", NULL) : "",
           text, len, until, rlw_cmd_shown(c->pool, c->url));
    return RLW_CMD_OK;
}

int rlw_cmd_url_unban(rlw_cmd_t *c, int argc, char **argv)
{
    const char *text, *kind;
    rlw_cmd_reply_t r;
    rlw_json_t *answer;
    int rc;

    if ((rc = rlw_cmd_want_args(c, argc, 1, "unban CLIENT")) ||
        (rc = subject_text(c, argv[0], &text, &kind)))
        return rc;
    if ((rc = post(
             c, "unban",
             apr_pstrcat(c->pool, "&client=", form_escape(c->pool, text), NULL),
             &r, &answer)))
        return rc;
    if (r.status == 404) {
        if (c->json) {
            emit_field(c, "client", text);
            rlw_cmd_emit_key(c, "unbanned", 0);
            rlw_cmd_emit(c, "false");
        } else
            printf("%s is not banned; nothing to do\n", text);
        return RLW_CMD_NO;
    }
    if (r.status != 200)
        return refused(c, "unban", &r);
    warn_local(c, answer);
    if (c->json) {
        emit_field(c, "client", text);
        if (strcmp(kind, "client"))
            emit_field(c, "kind", kind);
        rlw_cmd_emit_key(c, "unbanned", 0);
        rlw_cmd_emit(c, "true");
        emit_field(c, "url", c->url);
        rlw_cmd_emit_key(c, "event", 0);
        rlw_cmd_emit(c, "false"); /* the node writes it */
        return RLW_CMD_OK;
    }
    printf("unbanned %s%s on %s (the node logs it and writes its event)\n",
           strcmp(kind, "client") ? apr_pstrcat(c->pool, kind, " ", NULL) : "",
           text, rlw_cmd_shown(c->pool, c->url));
    return RLW_CMD_OK;
}

/* mod_rlw_status.c - the status page: handler ratelimit-waf-status, the
 * RateLimitWAFAdmin directive and a section in mod_status's server-status.
 *
 *   <Location "/ratelimit-waf">
 *       SetHandler ratelimit-waf-status
 *       Require ip 192.0.2.0/24
 *       RateLimitWAFAdmin On        # optional: POST ban/unban
 *   </Location>
 *
 * One snapshot of the node (store, counters, per-minute history) is taken
 * per request and written in one of three formats: HTML for a person (the
 * default), JSON (?json) and Prometheus text 0.0.4 (?prometheus). See
 * docs/status.md.
 *
 * Everything shown comes from this node: its shm table (which, with the
 * memcached store, also holds the bans the cluster decided, learnt through
 * the journal) and its own counters. Node names come from other nodes'
 * journal entries: they are escaped like any other outside string.
 */
#include <string.h>
#include <stdlib.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <util_script.h>
#include <mod_status.h>

#include "mod_rlw.h"
#include "rlw_csrf.h"
#include "rlw_duration.h"
#include "rlw_store_mc.h"

APLOG_USE_MODULE(ratelimit_waf);

#define RLW_STATUS_HANDLER "ratelimit-waf-status"

/* Clients listed as top offenders. */
#define RLW_STATUS_TOP 10
/* Bans listed (newest first); the number of active bans stays exact. */
#define RLW_STATUS_BANS_MAX 1000
/* Largest admin form accepted, in bytes. */
#define RLW_STATUS_FORM_MAX 4096

/* Threat levels, from the busiest minute of the last
 * RLW_THREAT_MINUTES (attacks counted per minute) and the running bans. */
#define RLW_THREAT_MINUTES 5
#define RLW_THREAT_ELEVATED_APM 10 /* attacks per minute: elevated */
#define RLW_THREAT_ATTACK_APM 100  /* attacks per minute: under attack */
#define RLW_THREAT_ATTACK_BANS 10  /* running bans: under attack */

typedef enum { THREAT_CALM = 0, THREAT_ELEVATED, THREAT_ATTACK } threat_t;

static const struct {
    const char *word;  /* JSON, server-status ?auto */
    const char *title; /* HTML */
    const char *css;   /* HTML class */
} threat_names[] = {{"calm", "Calm", "calm"},
                    {"elevated", "Elevated", "elevated"},
                    {"under_attack", "Under attack", "attack"}};

/* Per-directory configuration: RateLimitWAFAdmin. */
typedef struct rlw_dir_conf {
    int admin; /* 1 lets POST ban/unban here; RLW_UNSET inherits, then 0 */
} rlw_dir_conf_t;

/* What one status request shows, copied out of the store. */
typedef struct snapshot {
    int64_t now;
    const rlw_srv_conf_t *conf; /* the serving virtual host's settings */
    int enabled;                /* a store exists (RateLimitWAF On somewhere) */
    apr_array_header_t *bans;   /* rlw_client_info_t, newest first */
    uint64_t nbans;             /* running bans (exact, bans may be capped) */
    rlw_client_info_t top[RLW_STATUS_TOP]; /* highest counts, descending */
    int ntop;
    rlw_store_stats_t stats;
    int is_mc; /* store is memcached: mcc is filled */
    rlw_store_mc_counters_t mcc;
    apr_array_header_t *servers; /* const char *, from the mc config */
    uint64_t total[RLW_M_COUNT];
    uint32_t attacks[RLW_METRICS_MINUTES];
    uint32_t rejected[RLW_METRICS_MINUTES];
    int64_t started_ms;
    uint32_t peak_apm; /* busiest minute of the last few */
    threat_t threat;
} snapshot_t;

/* Key of the admin forms' tokens (rlw_csrf.h): random, made once per
 * httpd start in the process pool, so every child (forked after) and every
 * generation after a graceful restart agrees; a full stop and start makes
 * a new one, and the pages served before it must be reloaded. */
static const unsigned char *csrf_key;
#define CSRF_KEY_NAME "ratelimit_waf csrf key"

/* ---- RateLimitWAFAdmin ------------------------------------------------ */

void *rlw_create_dir_config(apr_pool_t *p, char *dir)
{
    rlw_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    (void)dir;
    d->admin = RLW_UNSET;
    return d;
}

void *rlw_merge_dir_config(apr_pool_t *p, void *basev, void *addv)
{
    rlw_dir_conf_t *base = basev, *add = addv;
    rlw_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->admin = add->admin != RLW_UNSET ? add->admin : base->admin;
    return d;
}

const char *rlw_set_admin(cmd_parms *cmd, void *dconf, const char *arg)
{
    return rlw_parse_on_off(cmd, arg, &((rlw_dir_conf_t *)dconf)->admin);
}

/* ---- small helpers ----------------------------------------------------- */

static const rlw_srv_conf_t *srv_conf_of(server_rec *s)
{
    return ap_get_module_config(s->module_config, &ratelimit_waf_module);
}

/* Who the admin forms' tokens are for: the logged-in user, else the
 * client's address (RemoteIPHeader applied). */
static const char *admin_identity(request_rec *r)
{
    if (r->user)
        return apr_pstrcat(r->pool, "user:", r->user, NULL);
    return apr_pstrcat(r->pool, "ip:", r->useragent_ip ? r->useragent_ip : "",
                       NULL);
}

/* The token of the form of action for this request's operator; "" when
 * there is none (no key, OpenSSL failure, identity too long): the post
 * is then refused, never accepted. */
static const char *form_token(request_rec *r, const char *action)
{
    char *t = apr_palloc(r->pool, RLW_CSRF_TOKEN_LEN + 1);

    if (!csrf_key ||
        rlw_csrf_make(csrf_key, rlw_now_ms(), admin_identity(r), action, t))
        return "";
    return t;
}

/* ms since the epoch, in UTC, as apr_strftime() formats it. */
static const char *utc_time(apr_pool_t *p, int64_t ms, const char *fmt)
{
    apr_time_exp_t t;
    apr_size_t n;
    char buf[32];

    apr_time_exp_gmt(&t, (apr_time_t)ms * 1000);
    apr_strftime(buf, &n, sizeof(buf), fmt, &t);
    return apr_pstrdup(p, buf);
}

/* "2026-11-29T10:27:39Z" */
static const char *iso(apr_pool_t *p, int64_t ms)
{
    return utc_time(p, ms, "%Y-%m-%dT%H:%M:%SZ");
}

/* "2026-11-29 10:27:39" (UTC, said once in the page header). */
static const char *human_time(apr_pool_t *p, int64_t ms)
{
    return utc_time(p, ms, "%Y-%m-%d %H:%M:%S");
}

/* "2h 05m", "9m 12s", "42s": the two largest units. */
static const char *human_span(apr_pool_t *p, int64_t ms)
{
    int64_t s = ms > 0 ? (ms + 999) / 1000 : 0;

    if (s >= 86400)
        return apr_psprintf(p, "%dd %02dh", (int)(s / 86400),
                            (int)(s % 86400 / 3600));
    if (s >= 3600)
        return apr_psprintf(p, "%dh %02dm", (int)(s / 3600),
                            (int)(s % 3600 / 60));
    if (s >= 60)
        return apr_psprintf(p, "%dm %02ds", (int)(s / 60), (int)(s % 60));
    return apr_psprintf(p, "%ds", (int)s);
}

/* s as the inside of a JSON string (no quotes), any bytes safe. */
static const char *json_text(apr_pool_t *p, const char *s)
{
    size_t n, len = strlen(s);
    char *out;

    n = rlw_json_escape(s, len, NULL, 0);
    out = apr_palloc(p, n + 1);
    rlw_json_escape(s, len, out, n + 1);
    return out;
}

/* s as a Prometheus label value (no quotes): \\, \" and \n escaped. */
static const char *prom_label(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, strlen(s) * 2 + 1), *o = out;

    for (; *s; s++) {
        if (*s == '\\' || *s == '"') {
            *o++ = '\\';
            *o++ = *s;
        } else if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return out;
}

static const char *html(apr_pool_t *p, const char *s)
{
    return ap_escape_html2(p, s, 0);
}

static const char *addr_text(apr_pool_t *p, const rlw_addr_t *a)
{
    char buf[RLW_ADDR_STRLEN];

    return apr_pstrdup(p, rlw_addr_format(a, buf, sizeof(buf)));
}

/* A client for an HTML cell: the address, marked when it is the dry-run
 * scope's (nobody enforces its ban). */
static const char *client_cell(apr_pool_t *p, const rlw_addr_t *a)
{
    const char *t = html(p, addr_text(p, a));

    return a->scope == RLW_SCOPE_DRY_RUN
               ? apr_pstrcat(p, t, " <span class=\"tag meta\">dry run</span>",
                             NULL)
               : t;
}

/* The first query argument name in r->args ("?json", "?x=1&prometheus"),
 * with a value ("name=...") or, unless with_value, without one: a pointer
 * just past the name, or NULL. */
static const char *find_arg(const request_rec *r, const char *name,
                            int with_value)
{
    const char *a = r->args;
    size_t n = strlen(name);

    while (a && *a) {
        if (!strncmp(a, name, n) &&
            (a[n] == '=' || (!with_value && (!a[n] || a[n] == '&'))))
            return a + n;
        a = strchr(a, '&');
        if (a)
            a++;
    }
    return NULL;
}

/* 1 when the query string holds the argument name (with or without a
 * value). */
static int has_arg(const request_rec *r, const char *name)
{
    return find_arg(r, name, 0) != NULL;
}

/* The value of the query argument name, or NULL (not unescaped: used only
 * to compare against fixed words). */
static const char *arg_value(apr_pool_t *p, const request_rec *r,
                             const char *name)
{
    const char *v = find_arg(r, name, 1), *end;

    if (!v)
        return NULL;
    end = strchr(++v, '&'); /* past the '=' */
    return end ? apr_pstrndup(p, v, (apr_size_t)(end - v)) : apr_pstrdup(p, v);
}

/* ---- the snapshot ------------------------------------------------------ */

typedef struct visit_baton {
    snapshot_t *snap;
    int want_bans; /* 0: count bans only (server-status) */
} visit_baton_t;

/* 1 when a comes before b among the top offenders. */
static int ranks_before(const rlw_client_info_t *a, const rlw_client_info_t *b)
{
    if (a->count != b->count)
        return a->count > b->count;
    return memcmp(&a->client, &b->client, sizeof(a->client)) < 0;
}

/* Gets a copy from the store (no store lock held). */
static int collect(void *baton, const rlw_client_info_t *info)
{
    visit_baton_t *vb = baton;
    snapshot_t *s = vb->snap;
    int i;

    if (rlw_ban_active(&info->ban, s->now)) {
        s->nbans++;
        if (vb->want_bans && s->bans->nelts < RLW_STATUS_BANS_MAX)
            *(rlw_client_info_t *)apr_array_push(s->bans) = *info;
    }
    if (!vb->want_bans || info->count == 0)
        return 0;
    /* Keep the RLW_STATUS_TOP highest counts, sorted descending (equal
     * counts by address, so the order does not depend on the table's). */
    if (s->ntop == RLW_STATUS_TOP && !ranks_before(info, &s->top[s->ntop - 1]))
        return 0;
    i = s->ntop < RLW_STATUS_TOP ? s->ntop++ : s->ntop - 1;
    while (i > 0 && ranks_before(info, &s->top[i - 1])) {
        s->top[i] = s->top[i - 1];
        i--;
    }
    s->top[i] = *info;
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const rlw_client_info_t *x = a, *y = b;

    if (x->ban.start_ms != y->ban.start_ms)
        return x->ban.start_ms < y->ban.start_ms ? 1 : -1;
    return memcmp(&x->client, &y->client, sizeof(x->client));
}

/* The servers of a libmemcached configuration string ("--SERVER=h:p"
 * and "--SOCKET=path" options), as written there. */
static apr_array_header_t *mc_servers(apr_pool_t *p, const char *config)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    char *copy, *tok, *last;

    if (!config)
        return out;
    copy = apr_pstrdup(p, config);
    for (tok = apr_strtok(copy, " \t", &last); tok;
         tok = apr_strtok(NULL, " \t", &last)) {
        const char *v = NULL;

        if (!strncasecmp(tok, "--SERVER=", 9))
            v = tok + 9;
        else if (!strncasecmp(tok, "--SOCKET=", 9))
            v = tok + 9;
        if (v && *v) {
            char *q = apr_pstrdup(p, v);
            apr_size_t n = strlen(q);

            if (n >= 2 && q[0] == '"' && q[n - 1] == '"') {
                q[n - 1] = 0;
                q++;
            }
            *(const char **)apr_array_push(out) = q;
        }
    }
    return out;
}

static void take_snapshot(request_rec *r, snapshot_t *s, int want_bans)
{
    visit_baton_t vb;
    int k, i;

    memset(s, 0, sizeof(*s));
    s->now = rlw_now_ms();
    s->conf = srv_conf_of(r->server);
    s->bans = apr_array_make(r->pool, 16, sizeof(rlw_client_info_t));
    s->servers = mc_servers(r->pool, s->conf->mc_config);
    s->enabled = rlw_the_store != NULL;
    if (rlw_the_store) {
        vb.snap = s;
        vb.want_bans = want_bans;
        rlw_the_store->visit(rlw_the_store, s->now, s->conf->window_ms, collect,
                             &vb);
        qsort(s->bans->elts, (size_t)s->bans->nelts, sizeof(rlw_client_info_t),
              newest_first);
        rlw_the_store->stats(rlw_the_store, &s->stats);
        if (!strcmp(rlw_the_store->name, "memcached")) {
            s->is_mc = 1;
            rlw_store_mc_counters(rlw_the_store, &s->mcc);
        }
    }
    if (rlw_the_metrics) {
        for (k = 0; k < RLW_M_COUNT; k++)
            s->total[k] = rlw_metrics_total(rlw_the_metrics, k);
        rlw_metrics_series(rlw_the_metrics, RLW_M_ATTACKS, s->now, s->attacks);
        rlw_metrics_series(rlw_the_metrics, RLW_M_REJECTED, s->now,
                           s->rejected);
        s->started_ms = rlw_the_metrics->started_ms;
    }
    for (i = RLW_METRICS_MINUTES - RLW_THREAT_MINUTES; i < RLW_METRICS_MINUTES;
         i++) {
        if (s->attacks[i] > s->peak_apm)
            s->peak_apm = s->attacks[i];
    }
    if (s->peak_apm >= RLW_THREAT_ATTACK_APM ||
        s->nbans >= RLW_THREAT_ATTACK_BANS)
        s->threat = THREAT_ATTACK;
    else if (s->peak_apm >= RLW_THREAT_ELEVATED_APM || s->nbans > 0)
        s->threat = THREAT_ELEVATED;
    else
        s->threat = THREAT_CALM;
}

static const char *node_of(const snapshot_t *s)
{
    return s->conf->node_name ? s->conf->node_name : "";
}

/* ---- JSON -------------------------------------------------------------- */

static void json_client(request_rec *r, const snapshot_t *s,
                        const rlw_client_info_t *c, int as_ban)
{
    apr_pool_t *p = r->pool;
    int i, first = 1;

    ap_rprintf(r, "{\"client\":\"%s\",\"count\":%u,",
               json_text(p, addr_text(p, &c->client)), c->count);
    /* Counted or banned by a virtual host in RateLimitWAFDryRun: nobody
     * enforces it. */
    if (c->client.scope == RLW_SCOPE_DRY_RUN)
        ap_rputs("\"dry_run\":true,", r);
    if (as_ban)
        ap_rprintf(
            r,
            "\"since\":\"%s\",\"until\":\"%s\",\"since_ms\":%" APR_INT64_T_FMT
            ",\"until_ms\":%" APR_INT64_T_FMT ","
            "\"remaining_s\":%" APR_INT64_T_FMT ",\"strike\":%u,"
            "\"ban_count\":%u,\"node\":\"%s\",",
            iso(p, c->ban.start_ms), iso(p, c->ban.until_ms), c->ban.start_ms,
            c->ban.until_ms, (c->ban.until_ms - s->now + 999) / 1000,
            c->ban.strikes, c->ban.count, json_text(p, c->node));
    else
        ap_rprintf(r, "\"banned\":%s,\"last\":\"%s\",",
                   rlw_ban_active(&c->ban, s->now) ? "true" : "false",
                   c->last_ms ? iso(p, c->last_ms) : "");
    ap_rputs("\"rules\":[", r);
    for (i = 0; i < RLW_TOP_RULES && c->rules[i]; i++) {
        ap_rprintf(r, "%s{\"id\":%u,\"hits\":%u,\"category\":\"%s\"}",
                   first ? "" : ",", c->rules[i], c->rule_hits[i],
                   rlw_event_rule_category(c->rules[i]));
        first = 0;
    }
    ap_rputs("]}", r);
}

static void json_series(request_rec *r, const char *name, const uint32_t *v)
{
    int i;

    ap_rprintf(r, "\"%s\":[", name);
    for (i = 0; i < RLW_METRICS_MINUTES; i++)
        ap_rprintf(r, "%s%u", i ? "," : "", v[i]);
    ap_rputs("]", r);
}

static void render_json(request_rec *r, const snapshot_t *s, int admin)
{
    apr_pool_t *p = r->pool;
    const rlw_srv_conf_t *c = s->conf;
    int i;

    ap_set_content_type(r, "application/json");
    ap_rprintf(r,
               "{\"module\":\"mod_ratelimit_waf\",\"enabled\":%s,"
               "\"node\":\"%s\",\"now\":\"%s\",\"now_ms\":%" APR_INT64_T_FMT
               ",\"admin\":%s,",
               s->enabled ? "true" : "false", json_text(p, node_of(s)),
               iso(p, s->now), s->now, admin ? "true" : "false");
    /* The forms' tokens, for scripts that post (docs/status.md): only
     * where posting is allowed, and only for the operator asking. */
    if (admin)
        ap_rprintf(r, "\"tokens\":{\"ban\":\"%s\",\"unban\":\"%s\"},",
                   form_token(r, "ban"), form_token(r, "unban"));
    ap_rprintf(r,
               "\"threat\":{\"level\":\"%s\",\"peak_attacks_per_minute\":"
               "%u,\"minutes\":%d,\"active_bans\":%" APR_UINT64_T_FMT "},",
               threat_names[s->threat].word, s->peak_apm, RLW_THREAT_MINUTES,
               s->nbans);
    ap_rprintf(r,
               "\"policy\":{\"enabled\":%s,\"dry_run\":%s,\"threshold\":"
               "%" APR_INT64_T_FMT ",\"window_s\":%" APR_INT64_T_FMT
               ",\"ban_s\":%" APR_INT64_T_FMT ",\"ban_max_s\":%" APR_INT64_T_FMT
               ",\"attack_score\":%d},",
               c->enabled > 0 ? "true" : "false",
               c->dry_run > 0 ? "true" : "false", c->threshold,
               c->window_ms / 1000, c->ban_ms / 1000, c->ban_max_ms / 1000,
               c->attack_score);
    ap_rputs("\"totals\":{", r);
    for (i = 0; i < RLW_M_COUNT; i++)
        ap_rprintf(r, "%s\"%s\":%" APR_UINT64_T_FMT, i ? "," : "",
                   rlw_metrics_name(i), s->total[i]);
    ap_rprintf(r, "},\"since\":\"%s\",",
               s->started_ms ? iso(p, s->started_ms) : "");

    ap_rprintf(r,
               "\"store\":{\"name\":\"%s\",\"tracked\":%" APR_UINT64_T_FMT
               ",\"capacity\":%" APR_UINT64_T_FMT
               ",\"evictions\":%" APR_UINT64_T_FMT
               ",\"evicted_bans\":%" APR_UINT64_T_FMT
               ",\"untracked\":%" APR_UINT64_T_FMT,
               json_text(p, rlw_the_store ? rlw_the_store->name : "none"),
               s->stats.tracked, s->stats.capacity, s->stats.evictions,
               s->stats.evicted_bans, s->stats.untracked);
    if (s->is_mc) {
        ap_rprintf(r,
                   ",\"memcached\":{\"degraded\":%s,\"degraded_since\":"
                   "\"%s\",\"errors\":%" APR_UINT64_T_FMT
                   ",\"fallbacks\":%" APR_UINT64_T_FMT
                   ",\"cas_retries\":%" APR_UINT64_T_FMT
                   ",\"bad_records\":%" APR_UINT64_T_FMT
                   ",\"journal_seen\":%" APR_UINT64_T_FMT
                   ",\"ops\":%" APR_UINT64_T_FMT ",\"servers\":[",
                   s->mcc.degraded_since_ms ? "true" : "false",
                   s->mcc.degraded_since_ms ? iso(p, s->mcc.degraded_since_ms)
                                            : "",
                   s->mcc.errors, s->mcc.fallbacks, s->mcc.cas_retries,
                   s->mcc.bad_records, s->mcc.journal_seen, s->mcc.ops);
        for (i = 0; i < s->servers->nelts; i++)
            ap_rprintf(
                r, "%s\"%s\"", i ? "," : "",
                json_text(p, APR_ARRAY_IDX(s->servers, i, const char *)));
        ap_rputs("]}", r);
    }
    ap_rputs("},", r);

    ap_rprintf(r,
               "\"active_bans\":%" APR_UINT64_T_FMT ",\"bans_listed\":%d,"
               "\"bans\":[",
               s->nbans, s->bans->nelts);
    for (i = 0; i < s->bans->nelts; i++) {
        if (i)
            ap_rputs(",", r);
        json_client(r, s, &APR_ARRAY_IDX(s->bans, i, rlw_client_info_t), 1);
    }
    ap_rputs("],\"top_offenders\":[", r);
    for (i = 0; i < s->ntop; i++) {
        if (i)
            ap_rputs(",", r);
        json_client(r, s, &s->top[i], 0);
    }
    ap_rprintf(r, "],\"history\":{\"minutes\":%d,\"first_minute\":\"%s\",",
               RLW_METRICS_MINUTES,
               iso(p, (s->now / 60000 - (RLW_METRICS_MINUTES - 1)) * 60000));
    json_series(r, "attacks", s->attacks);
    ap_rputs(",", r);
    json_series(r, "rejected", s->rejected);
    ap_rputs("}}\n", r);
}

/* ---- Prometheus -------------------------------------------------------- */

static const char *const metric_help[RLW_M_COUNT] = {
    "Attacks counted (ModSecurity anomaly score at or above "
    "RateLimitWAFAttackScore).",
    "Bans this node decided (threshold reached or manual).",
    "Requests answered with RateLimitWAFBanStatus because the client was "
    "banned.",
    "Requests of banned clients served because of RateLimitWAFDryRun.",
    "Times an exempt client (RateLimitWAFExempt) crossed the threshold.",
    "Times a client passed 80% of the threshold.",
    "Bans that ended on this node (expired or lifted by hand).",
    "Event lines dropped: a process's event queue was full (the "
    "RateLimitWAFEventLog reader is slow or stalled) or still held lines "
    "when the process exited.",
};

/* One metric: its HELP and TYPE lines, then its one sample, labelled with
 * the node, and with the store when store is not NULL. */
static void prom_metric(request_rec *r, const char *name, const char *type,
                        const char *help, const char *node, const char *store,
                        apr_uint64_t v)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    if (store)
        ap_rprintf(r, "%s{node=\"%s\",store=\"%s\"} %" APR_UINT64_T_FMT "\n",
                   name, node, store, v);
    else
        ap_rprintf(r, "%s{node=\"%s\"} %" APR_UINT64_T_FMT "\n", name, node, v);
}

static void render_prometheus(request_rec *r, const snapshot_t *s)
{
    const char *node = prom_label(r->pool, node_of(s));
    const char *store =
        prom_label(r->pool, rlw_the_store ? rlw_the_store->name : "none");
    char name[96];
    int k;

    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    for (k = 0; k < RLW_M_COUNT; k++) {
        apr_snprintf(name, sizeof(name), "ratelimit_waf_%s_total",
                     rlw_metrics_name(k));
        prom_metric(r, name, "counter",
                    metric_help[k] ? metric_help[k] : "See rlw_metrics.h.",
                    node, NULL, s->total[k]);
    }
    prom_metric(r, "ratelimit_waf_store_errors_total", "counter",
                "Failed store calls (memcached; always 0 for shm).", node,
                store, s->is_mc ? s->mcc.errors : 0);
    prom_metric(r, "ratelimit_waf_store_evictions_total", "counter",
                "Clients evicted from the full shm table to make room.", node,
                NULL, s->stats.evictions);
    prom_metric(r, "ratelimit_waf_store_evicted_bans_total", "counter",
                "Running bans among the evicted clients.", node, NULL,
                s->stats.evicted_bans);
    prom_metric(r, "ratelimit_waf_store_untracked_total", "counter",
                "Clients not tracked: their part of the full shm table "
                "held running bans only.",
                node, NULL, s->stats.untracked);
    if (s->is_mc) {
        static const struct {
            const char *name, *help;
            size_t off;
        } mcm[] = {
            {"ratelimit_waf_store_fallbacks_total",
             "Attacks counted in the local shm table while memcached failed.",
             APR_OFFSETOF(rlw_store_mc_counters_t, fallbacks)},
            {"ratelimit_waf_store_cas_retries_total",
             "Ban record writes retried after a concurrent update.",
             APR_OFFSETOF(rlw_store_mc_counters_t, cas_retries)},
            {"ratelimit_waf_store_bad_records_total",
             "Ban records or journal entries that failed authentication.",
             APR_OFFSETOF(rlw_store_mc_counters_t, bad_records)},
            {"ratelimit_waf_store_ops_total",
             "memcached calls made by this node.",
             APR_OFFSETOF(rlw_store_mc_counters_t, ops)}};
        size_t i;

        for (i = 0; i < sizeof(mcm) / sizeof(mcm[0]); i++)
            prom_metric(
                r, mcm[i].name, "counter", mcm[i].help, node, NULL,
                *(const uint64_t *)((const char *)&s->mcc + mcm[i].off));
        prom_metric(r, "ratelimit_waf_store_journal_position", "gauge",
                    "Last cluster journal entry this node applied.", node, NULL,
                    s->mcc.journal_seen);
    }
    /* The gauges below are never negative: printed as unsigned. */
    prom_metric(r, "ratelimit_waf_enabled", "gauge",
                "1 when the module runs (RateLimitWAF On in some server).",
                node, NULL, (apr_uint64_t)s->enabled);
    prom_metric(r, "ratelimit_waf_active_bans", "gauge",
                "Bans running now, as this node knows them.", node, NULL,
                s->nbans);
    prom_metric(r, "ratelimit_waf_tracked_clients", "gauge",
                "Clients held in the node's table.", node, NULL,
                s->stats.tracked);
    prom_metric(r, "ratelimit_waf_table_capacity", "gauge",
                "Clients the node's table can hold.", node, NULL,
                s->stats.capacity);
    prom_metric(r, "ratelimit_waf_store_degraded", "gauge",
                "1 while the store fails and counting falls back to the "
                "node.",
                node, store, s->is_mc && s->mcc.degraded_since_ms ? 1 : 0);
    prom_metric(r, "ratelimit_waf_threat_level", "gauge",
                "0 calm, 1 elevated, 2 under attack (see docs/status.md).",
                node, NULL, (apr_uint64_t)s->threat);
    prom_metric(r, "ratelimit_waf_start_time_seconds", "gauge",
                "When the counters started (Unix time).", node, NULL,
                (apr_uint64_t)(s->started_ms / 1000));
}

/* ---- HTML -------------------------------------------------------------- */

static const char page_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f4f6f8;color:#1f2328;font:14px/1.45 "
    "system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,"
    "sans-serif}"
    "main{max-width:1180px;margin:0 auto;padding:24px 28px 40px}"
    "header{display:flex;justify-content:space-between;align-items:baseline;"
    "flex-wrap:wrap;gap:8px}"
    "h1{font-size:22px;margin:0}"
    "h2{font-size:15px;margin:30px 0 10px;color:#24292f}"
    "h2 small{font-weight:normal;color:#57606a}"
    ".sub{color:#57606a}"
    ".sub a{color:#0969da;text-decoration:none;margin-left:12px}"
    ".threat{display:flex;align-items:center;gap:22px;padding:16px 22px;"
    "border-radius:8px;color:#fff;margin:18px 0 16px}"
    ".threat.calm{background:#1a7f37}.threat.elevated{background:#bc4c00}"
    ".threat.attack{background:#cf222e}"
    ".threat .level{font-size:26px;font-weight:700;letter-spacing:.02em}"
    ".threat .why{font-size:15px;opacity:.95}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,"
    "minmax(120px,1fr));gap:10px}"
    ".card{background:#fff;border:1px solid #d0d7de;border-radius:6px;"
    "padding:10px 14px}"
    ".card .n{font-size:22px;font-weight:600;font-variant-numeric:"
    "tabular-nums}"
    ".card .l{color:#57606a;font-size:12px}"
    ".panel{background:#fff;border:1px solid #d0d7de;border-radius:6px;"
    "padding:10px 12px}"
    "table{border-collapse:collapse;width:100%;background:#fff;"
    "border:1px solid #d0d7de}"
    "th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eaeef2;"
    "vertical-align:top}"
    "th{background:#f6f8fa;font-size:12px;color:#57606a;font-weight:600}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "td.t{white-space:nowrap;font-variant-numeric:tabular-nums}"
    ".mono{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,"
    "monospace;font-size:13px}"
    ".empty{color:#57606a;font-style:italic;padding:10px 12px;"
    "background:#fff;border:1px solid #d0d7de;border-radius:6px}"
    ".tag{display:inline-block;padding:0 6px;border-radius:10px;"
    "font-size:12px;background:#eaeef2;color:#24292f;margin-right:4px}"
    ".tag.ban{background:#ffebe9;color:#a40e26}"
    ".tag.meta{background:none;color:#8c959f;padding:0 2px}"
    ".ok{color:#1a7f37}.bad{color:#cf222e;font-weight:600}"
    ".grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}"
    ".note{background:#ddf4ff;border:1px solid #54aeff;border-radius:6px;"
    "padding:8px 12px;margin:12px 0}"
    "form{display:flex;gap:8px;align-items:center;flex-wrap:wrap;"
    "margin:6px 0}"
    "input{font:inherit;padding:4px 8px;border:1px solid #d0d7de;"
    "border-radius:6px}"
    "button{font:inherit;padding:4px 14px;border-radius:6px;border:1px solid "
    "#d0d7de;background:#f6f8fa;cursor:pointer}"
    "button.danger{background:#cf222e;border-color:#a40e26;color:#fff}"
    "footer{margin-top:30px;color:#57606a;font-size:12px}";

/* The y axis has RLW_CHART_TICKS steps above 0. */
#define RLW_CHART_TICKS 4

/* A round step (1, 2 or 5 times a power of ten) such that RLW_CHART_TICKS
 * steps reach v: every tick label is then a whole number. */
static uint64_t nice_step(uint32_t v)
{
    uint64_t need = ((uint64_t)v + RLW_CHART_TICKS - 1) / RLW_CHART_TICKS;
    uint64_t m = 1;

    for (;;) {
        if (m >= need)
            return m;
        if (m * 2 >= need)
            return m * 2;
        if (m * 5 >= need)
            return m * 5;
        m *= 10;
    }
}

/* Attacks (bars) and rejected requests (line) per minute, last hour. */
static void render_chart(request_rec *r, const snapshot_t *s)
{
    const double W = 1100, H = 250, L = 56, R = 16, T = 14, B = 40;
    const double pw = W - L - R, ph = H - T - B;
    const double sw = pw / RLW_METRICS_MINUTES;
    int64_t first_min = s->now / 60000 - (RLW_METRICS_MINUTES - 1);
    uint32_t max = 0;
    uint64_t step;
    double ymax;
    int i, t;

    for (i = 0; i < RLW_METRICS_MINUTES; i++) {
        if (s->attacks[i] > max)
            max = s->attacks[i];
        if (s->rejected[i] > max)
            max = s->rejected[i];
    }
    step = nice_step(max);
    ymax = (double)(step * RLW_CHART_TICKS);
    ap_rprintf(r,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 "
               "%.0f %.0f\" width=\"100%%\" role=\"img\" aria-label=\"Attacks "
               "and rejected requests per minute over the last hour\" "
               "font-family=\"DejaVu Sans,Arial,sans-serif\" font-size=\"12\">"
               "<title>Attacks and rejected requests per minute, last hour"
               "</title>",
               W, H);
    /* Horizontal grid and y labels. */
    for (t = 0; t <= RLW_CHART_TICKS; t++) {
        double y = T + ph - ph * t / RLW_CHART_TICKS;
        ap_rprintf(r,
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"%s\" stroke-width=\"1\"/>"
                   "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                   "fill=\"#57606a\">%" APR_UINT64_T_FMT "</text>",
                   L, y, W - R, y, t ? "#eaeef2" : "#8c959f", L - 8, y + 4,
                   step * (uint64_t)t);
    }
    ap_rprintf(r,
               "<text x=\"14\" y=\"%.1f\" fill=\"#57606a\" "
               "transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\">"
               "per minute</text>",
               T + ph / 2, T + ph / 2);
    /* Vertical ticks every 15 minutes, labelled in minutes ago. */
    for (t = 60; t >= 0; t -= 15) {
        int idx = RLW_METRICS_MINUTES - 1 - (t < 60 ? t : 59);
        double x = L + sw * idx + sw / 2;
        ap_rprintf(r,
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#8c959f\"/><text x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"middle\" fill=\"#57606a\">%s</text>",
                   x, T + ph, x, T + ph + 5, x, T + ph + 19,
                   t == 0 ? "now"
                          : apr_psprintf(r->pool, "-%dm", t < 60 ? t : 59));
    }
    /* Attacks: one bar per minute, with a tooltip. */
    for (i = 0; i < RLW_METRICS_MINUTES; i++) {
        double h = ph * s->attacks[i] / ymax;
        apr_time_exp_t tm;

        apr_time_exp_gmt(&tm, (apr_time_t)(first_min + i) * 60 * 1000000);
        ap_rprintf(r,
                   "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                   "height=\"%.1f\" fill=\"#fb8f44\"><title>%02d:%02d UTC: %u "
                   "attacks, %u rejected</title></rect>",
                   L + sw * i + sw * 0.15, T + ph - h, sw * 0.7, h, tm.tm_hour,
                   tm.tm_min, s->attacks[i], s->rejected[i]);
    }
    /* Rejected: a line through the minutes' centres. */
    ap_rputs("<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" "
             "stroke-linejoin=\"round\" points=\"",
             r);
    for (i = 0; i < RLW_METRICS_MINUTES; i++)
        ap_rprintf(r, "%s%.1f,%.1f", i ? " " : "", L + sw * i + sw / 2,
                   T + ph - ph * s->rejected[i] / ymax);
    ap_rputs("\"/>", r);
    /* Legend. */
    ap_rprintf(r,
               "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
               "fill=\"#fb8f44\"/><text x=\"%.1f\" y=\"%.1f\" "
               "fill=\"#24292f\">attacks</text>"
               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
               "stroke=\"#0969da\" stroke-width=\"2\"/><text x=\"%.1f\" "
               "y=\"%.1f\" fill=\"#24292f\">rejected (banned clients)</text>",
               L, H - 13, L + 17, H - 3, L + 90, H - 7, L + 110, H - 7, L + 116,
               H - 3);
    ap_rputs("</svg>", r);
}

static void html_rules(request_rec *r, const rlw_client_info_t *c)
{
    int i;

    /* Rules outside the CRS attack categories (949xxx blocking
     * evaluation, 980xxx correlation) only say that a request scored:
     * shown muted. */
    for (i = 0; i < RLW_TOP_RULES && c->rules[i]; i++) {
        const char *cat = rlw_event_rule_category(c->rules[i]);
        int meta = !strcmp(cat, "other");

        ap_rprintf(r, "<span class=\"tag%s\" title=\"%u hits\">%u%s%s</span>",
                   meta ? " meta" : "", c->rule_hits[i], c->rules[i],
                   meta ? "" : " ", meta ? "" : cat);
    }
    if (!i)
        ap_rputs("<span class=\"sub\">-</span>", r);
}

static void html_card(request_rec *r, uint64_t n, const char *label)
{
    ap_rprintf(r,
               "<div class=\"card\"><div class=\"n\">%" APR_UINT64_T_FMT
               "</div><div class=\"l\">%s</div></div>",
               n, label);
}

static void html_kv(request_rec *r, const char *k, const char *v)
{
    ap_rprintf(r, "<tr><th>%s</th><td>%s</td></tr>", k, v);
}

static void html_kv_num(request_rec *r, const char *k, uint64_t v)
{
    html_kv(r, k, apr_psprintf(r->pool, "%" APR_UINT64_T_FMT, v));
}

static void render_html(request_rec *r, const snapshot_t *s, int admin)
{
    apr_pool_t *p = r->pool;
    const rlw_srv_conf_t *c = s->conf;
    const char *node = html(p, node_of(s));
    const char *self = html(p, r->uri);
    const char *done = arg_value(p, r, "done");
    char d1[32], d2[32], d3[32];
    int i;

    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rprintf(r,
               "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
               "charset=\"utf-8\"><meta name=\"viewport\" content=\"width="
               "device-width,initial-scale=1\"><meta name=\"robots\" content="
               "\"noindex\"><title>mod_ratelimit_waf - %s</title><style>%s"
               "</style></head><body><main>",
               node, page_css);
    ap_rprintf(r,
               "<header><h1>mod_ratelimit_waf on %s</h1><div class=\"sub\">"
               "%s UTC<a href=\"%s?json\">JSON</a><a href=\"%s?prometheus\">"
               "Prometheus</a></div></header>",
               node, human_time(p, s->now), self, self);
    if (done && (!strcmp(done, "ban") || !strcmp(done, "unban")))
        ap_rprintf(r, "<div class=\"note\">%s recorded.</div>",
                   !strcmp(done, "ban") ? "Ban" : "Unban");
    if (!s->enabled)
        ap_rputs("<div class=\"note\">The module is not enabled: no server "
                 "has <span class=\"mono\">RateLimitWAF On</span>.</div>",
                 r);

    ap_rprintf(r,
               "<section class=\"threat %s\"><div class=\"level\">%s</div>"
               "<div class=\"why\">%u attacks in the busiest of the last %d "
               "minutes &middot; %" APR_UINT64_T_FMT " active ban%s%s</div>"
               "</section>",
               threat_names[s->threat].css, threat_names[s->threat].title,
               s->peak_apm, RLW_THREAT_MINUTES, s->nbans,
               s->nbans == 1 ? "" : "s",
               c->dry_run > 0 ? " &middot; dry run: nothing is blocked" : "");

    ap_rputs("<div class=\"cards\">", r);
    html_card(r, s->nbans, "active bans");
    html_card(r, s->total[RLW_M_ATTACKS], "attacks");
    html_card(r, s->total[RLW_M_BANS], "bans");
    html_card(r, s->total[RLW_M_REJECTED], "rejected requests");
    html_card(r, s->total[RLW_M_UNBANS], "bans ended");
    html_card(r, s->total[RLW_M_NEAR], "near threshold");
    html_card(r, s->total[RLW_M_EXEMPT], "exempt over threshold");
    html_card(r, s->total[RLW_M_DRY_RUN], "dry run, would reject");
    html_card(r, s->total[RLW_M_EVENTS_DROPPED], "events dropped");
    ap_rputs("</div>", r);
    if (s->started_ms)
        ap_rprintf(r,
                   "<div class=\"sub\" style=\"margin-top:6px\">Totals "
                   "since %s UTC (%s ago).</div>",
                   human_time(p, s->started_ms),
                   human_span(p, s->now - s->started_ms));

    ap_rputs("<h2>Attacks and rejected requests per minute <small>last hour"
             "</small></h2><div class=\"panel\">",
             r);
    render_chart(r, s);
    ap_rputs("</div>", r);

    ap_rprintf(r,
               "<h2>Active bans <small>%" APR_UINT64_T_FMT "%s</small>"
               "</h2>",
               s->nbans,
               (uint64_t)s->bans->nelts < s->nbans
                   ? apr_psprintf(p, ", newest %d shown", s->bans->nelts)
                   : "");
    if (!s->bans->nelts) {
        ap_rputs("<div class=\"empty\">No client is banned.</div>", r);
    } else {
        ap_rputs("<table><tr><th>Client</th><th>Since</th><th>Until</th>"
                 "<th class=\"n\">Remaining</th><th class=\"n\">Strike</th>"
                 "<th class=\"n\">Attacks</th><th>Decided by</th>"
                 "<th>Top rules</th></tr>",
                 r);
        for (i = 0; i < s->bans->nelts; i++) {
            const rlw_client_info_t *b =
                &APR_ARRAY_IDX(s->bans, i, rlw_client_info_t);
            /* Strike 0: a manual ban, or a shared proxy's
             * (RateLimitWAFAllow), which never escalates. */
            ap_rprintf(
                r,
                "<tr><td class=\"mono\">%s</td><td class=\"t\">%s"
                "</td><td class=\"t\">%s</td><td class=\"n\">%s</td>"
                "<td class=\"n\">%s</td><td class=\"n\">%u</td>"
                "<td class=\"t\">%s</td><td>",
                client_cell(p, &b->client), human_time(p, b->ban.start_ms),
                human_time(p, b->ban.until_ms),
                human_span(p, b->ban.until_ms - s->now),
                b->ban.strikes ? apr_psprintf(p, "%u", b->ban.strikes) : "-",
                b->ban.count, b->node[0] ? html(p, b->node) : "-");
            html_rules(r, b);
            ap_rputs("</td></tr>", r);
        }
        ap_rputs("</table>", r);
    }

    ap_rprintf(r,
               "<h2>Top offenders <small>most attacks in the %s window, "
               "threshold %" APR_INT64_T_FMT "</small></h2>",
               rlw_duration_format(c->window_ms, d1, sizeof(d1)), c->threshold);
    if (!s->ntop) {
        ap_rputs("<div class=\"empty\">No attacks in the window.</div>", r);
    } else {
        ap_rputs("<table><tr><th>Client</th><th class=\"n\">Attacks</th>"
                 "<th class=\"n\">Of threshold</th><th>Last attack</th>"
                 "<th>State</th><th>Top rules</th></tr>",
                 r);
        for (i = 0; i < s->ntop; i++) {
            const rlw_client_info_t *o = &s->top[i];
            ap_rprintf(r,
                       "<tr><td class=\"mono\">%s</td><td class=\"n\">%u"
                       "</td><td class=\"n\">%.0f%%</td><td class=\"t\">%s"
                       "</td><td>%s"
                       "</td><td>",
                       client_cell(p, &o->client), o->count,
                       c->threshold > 0 ? 100.0 * o->count / c->threshold : 0.0,
                       o->last_ms ? human_time(p, o->last_ms) : "-",
                       rlw_ban_active(&o->ban, s->now)
                           ? "<span class=\"tag ban\">banned</span>"
                           : "watching");
            html_rules(r, o);
            ap_rputs("</td></tr>", r);
        }
        ap_rputs("</table>", r);
    }

    ap_rputs("<div class=\"grid2\"><div><h2>Store</h2><table>", r);
    html_kv(r, "Store", rlw_the_store ? html(p, rlw_the_store->name) : "none");
    html_kv(r, "Clients tracked",
            apr_psprintf(
                p, "%" APR_UINT64_T_FMT " of %" APR_UINT64_T_FMT " (%.1f%%)",
                s->stats.tracked, s->stats.capacity,
                s->stats.capacity ? 100.0 * (double)s->stats.tracked /
                                        (double)s->stats.capacity
                                  : 0.0));
    html_kv(r, "Evictions",
            apr_psprintf(
                p, "%" APR_UINT64_T_FMT " (%" APR_UINT64_T_FMT " running bans)",
                s->stats.evictions, s->stats.evicted_bans));
    html_kv(r, "Not tracked",
            apr_psprintf(p,
                         "%" APR_UINT64_T_FMT " (table part full of "
                         "running bans)",
                         s->stats.untracked));
    if (s->is_mc) {
        html_kv(
            r, "Health",
            s->mcc.degraded_since_ms
                ? apr_psprintf(p,
                               "<span class=\"bad\">degraded since %s "
                               "UTC (%s)</span>",
                               human_time(p, s->mcc.degraded_since_ms),
                               human_span(p, s->now - s->mcc.degraded_since_ms))
                : "<span class=\"ok\">answering</span>");
        for (i = 0; i < s->servers->nelts; i++)
            html_kv(
                r, i ? "" : "Servers",
                apr_pstrcat(p, "<span class=\"mono\">",
                            html(p, APR_ARRAY_IDX(s->servers, i, const char *)),
                            "</span>", NULL));
        html_kv_num(r, "Errors", s->mcc.errors);
        html_kv_num(r, "Fallbacks to shm", s->mcc.fallbacks);
        html_kv_num(r, "CAS retries", s->mcc.cas_retries);
        html_kv_num(r, "Bad records", s->mcc.bad_records);
        html_kv_num(r, "Journal position", s->mcc.journal_seen);
        html_kv_num(r, "Operations", s->mcc.ops);
    } else {
        html_kv(r, "Health", "<span class=\"ok\">local shared memory</span>");
    }
    ap_rputs("</table></div><div><h2>Policy <small>this virtual host"
             "</small></h2><table>",
             r);
    html_kv(r, "RateLimitWAF", c->enabled > 0 ? "On" : "Off");
    html_kv(r, "Threshold",
            apr_psprintf(p,
                         "%" APR_INT64_T_FMT " attacks in "
                         "%s",
                         c->threshold,
                         rlw_duration_format(c->window_ms, d1, sizeof(d1))));
    html_kv(r, "Ban",
            apr_psprintf(p, "%s, doubling up to %s",
                         rlw_duration_format(c->ban_ms, d2, sizeof(d2)),
                         rlw_duration_format(c->ban_max_ms, d3, sizeof(d3))));
    html_kv(r, "Banned clients get",
            apr_psprintf(p, "%d%s", c->ban_status,
                         c->ban_action == RLW_ACTION_CLOSE
                             ? ", connection closed"
                             : ""));
    html_kv(
        r, "Attack score",
        apr_psprintf(p, "%s &ge; %d", html(p, c->score_var), c->attack_score));
    html_kv(r, "Dry run", c->dry_run > 0 ? "On: nothing is blocked" : "Off");
    ap_rputs("</table></div></div>", r);

    if (admin) {
        ap_rprintf(
            r,
            "<h2>Admin <small>RateLimitWAFAdmin On</small></h2>"
            "<div class=\"panel\"><form method=\"post\" action=\"%s\">"
            "<input type=\"hidden\" name=\"action\" value=\"ban\">"
            "<input type=\"hidden\" name=\"token\" value=\"%s\">"
            "<label>Client <input name=\"client\" required size=\"30\" "
            "placeholder=\"192.0.2.1 or 2001:db8::1\"></label>"
            "<label>for <input name=\"duration\" size=\"6\" value=\"%s\" "
            "placeholder=\"15m\"></label>"
            "<button class=\"danger\" type=\"submit\">Ban</button>"
            "</form><form method=\"post\" action=\"%s\">"
            "<input type=\"hidden\" name=\"action\" value=\"unban\">"
            "<input type=\"hidden\" name=\"token\" value=\"%s\">"
            "<label>Client <input name=\"client\" required size=\"30\" "
            "placeholder=\"192.0.2.1 or 2001:db8:1:2::/64\"></label>"
            "<button type=\"submit\">Unban</button></form></div>",
            self, form_token(r, "ban"),
            rlw_duration_format(c->ban_ms, d1, sizeof(d1)), self,
            form_token(r, "unban"));
    }
    ap_rprintf(r,
               "<footer>mod_ratelimit_waf status &middot; node %s &middot; "
               "counts are this node's; bans include those learnt from the "
               "cluster.</footer></main></body></html>\n",
               node);
}

/* ---- admin: POST ban / unban ------------------------------------------- */

/* Answers an admin request: JSON ({"ok":false,"error":...}) when ?json,
 * else plain text. */
static int answer(request_rec *r, int json, int status, const char *msg)
{
    r->status = status;
    if (json) {
        ap_set_content_type(r, "application/json");
        ap_rprintf(r, "{\"ok\":%s,\"%s\":\"%s\"}\n",
                   status < 300 ? "true" : "false",
                   status < 300 ? "message" : "error", json_text(r->pool, msg));
    } else {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        ap_rprintf(r, "%s\n", msg);
    }
    return OK;
}

/* The value of form field name (the first one), or NULL. */
static const char *form_field(request_rec *r, apr_array_header_t *pairs,
                              const char *name)
{
    int i;

    for (i = 0; pairs && i < pairs->nelts; i++) {
        ap_form_pair_t *f = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len;
        apr_size_t size;
        char *buf;

        if (strcmp(f->name, name))
            continue;
        if (apr_brigade_length(f->value, 1, &len) != APR_SUCCESS || len < 0 ||
            len > RLW_STATUS_FORM_MAX)
            return NULL;
        size = (apr_size_t)len;
        buf = apr_palloc(r->pool, size + 1);
        if (apr_brigade_flatten(f->value, buf, &size) != APR_SUCCESS)
            return NULL;
        buf[size] = 0;
        return buf;
    }
    return NULL;
}

/* 1 if host is the ServerName or a ServerAlias of the virtual host. */
static int is_server_name(const server_rec *srv, const char *host)
{
    int i;

    if (srv->server_hostname && !strcasecmp(srv->server_hostname, host))
        return 1;
    for (i = 0; srv->names && i < srv->names->nelts; i++)
        if (!strcasecmp(APR_ARRAY_IDX(srv->names, i, const char *), host))
            return 1;
    for (i = 0; srv->wild_names && i < srv->wild_names->nelts; i++)
        if (!ap_strcasecmp_match(
                host, APR_ARRAY_IDX(srv->wild_names, i, const char *)))
            return 1;
    return 0;
}

/* Headers a browser adds to a form posted from another site (CSRF): a
 * second layer behind the form token. Sec-Fetch-Site must say the same
 * origin; an Origin must name this virtual host (ServerName or
 * ServerAlias, not merely the Host header: after DNS rebinding both name
 * the attacker's domain) with the scheme it is served with. Tools like
 * curl send neither. */
static const char *cross_site(request_rec *r)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");
    apr_uri_t u;

    if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
        return "cross-site request (Sec-Fetch-Site)";
    if (!origin)
        return NULL;
    if (apr_uri_parse(r->pool, origin, &u) != APR_SUCCESS || !u.scheme ||
        !u.hostname)
        return "cross-site request (Origin is not a scheme and host)";
    if (strcasecmp(u.scheme, ap_http_scheme(r)))
        return "cross-site request (Origin has another scheme)";
    if (!is_server_name(r->server, u.hostname))
        return "cross-site request (Origin is not a ServerName or "
               "ServerAlias of this virtual host)";
    return NULL;
}

/* Parses an admin's client: an address, or the network the page shows for
 * a grouped IPv6 client ("2001:db8:1:2::/64" with the server's prefix). */
static const char *parse_admin_client(apr_pool_t *p, const char *text,
                                      int v6_prefix, rlw_addr_t *client)
{
    const char *slash = strchr(text, '/');
    rlw_addr_t host;

    memset(&host, 0, sizeof(host));
    memset(client, 0, sizeof(*client));
    if (slash) {
        rlw_addr_t net;

        memset(&net, 0, sizeof(net));
        if (rlw_cidr_parse(text, &net) ||
            net.prefix != (net.family == RLW_AF_INET6 ? v6_prefix : 32))
            return apr_psprintf(p,
                                "client '%s' is neither an address nor "
                                "a client network (/%d for IPv6)",
                                text, v6_prefix);
        text = apr_pstrndup(p, text, (apr_size_t)(slash - text));
    }
    if (rlw_addr_parse(text, &host))
        return apr_psprintf(p,
                            "client '%s' is not an IPv4 or IPv6 "
                            "address",
                            text);
    rlw_addr_client(&host, (unsigned)v6_prefix, client);
    return NULL;
}

typedef struct find_baton {
    const rlw_addr_t *client;
    rlw_client_info_t info;
    int found;
} find_baton_t;

static int find_client(void *baton, const rlw_client_info_t *info)
{
    find_baton_t *fb = baton;

    if (memcmp(&info->client, fb->client, sizeof(*fb->client)))
        return 0;
    fb->info = *info;
    fb->found = 1;
    return 1;
}

static int handle_admin(request_rec *r, int admin, int json)
{
    const rlw_srv_conf_t *c = srv_conf_of(r->server);
    const char *user = r->user ? ap_escape_logitem(r->pool, r->user) : "-";
    apr_array_header_t *pairs = NULL;
    const char *action, *client_text, *dur_text, *token, *why;
    char who[RLW_ADDR_STRLEN], len_txt[32];
    rlw_addr_t client;
    rlw_event_t ev;
    int64_t now, ms = 0;
    int rc;

    if (!admin || (why = cross_site(r)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "RLW00043: status admin request refused (%s) user=%s",
                      admin ? why : "RateLimitWAFAdmin is Off here", user);
        ap_discard_request_body(r);
        return answer(r, json, HTTP_FORBIDDEN,
                      admin ? apr_pstrcat(r->pool, "Forbidden: ", why, NULL)
                            : "Forbidden: RateLimitWAFAdmin is Off for this "
                              "location.");
    }
    if (!rlw_the_store) {
        ap_discard_request_body(r);
        return answer(r, json, HTTP_SERVICE_UNAVAILABLE,
                      "mod_ratelimit_waf is not enabled (RateLimitWAF On in "
                      "no server).");
    }
    rc = ap_parse_form_data(r, NULL, &pairs, 8, RLW_STATUS_FORM_MAX);
    if (rc != OK)
        return answer(r, json, HTTP_BAD_REQUEST,
                      "Bad request: the body is not a small "
                      "application/x-www-form-urlencoded form.");
    action = form_field(r, pairs, "action");
    client_text = form_field(r, pairs, "client");
    dur_text = form_field(r, pairs, "duration");
    token = form_field(r, pairs, "token");
    if (!action || (strcmp(action, "ban") && strcmp(action, "unban")))
        return answer(r, json, HTTP_BAD_REQUEST,
                      "Bad request: action must be ban or unban.");
    /* Only a page of this server, given to this operator within the last
     * hour or two, holds the token: a form another site makes a browser
     * post does not. */
    if (!csrf_key || !rlw_csrf_check(csrf_key, rlw_now_ms(), admin_identity(r),
                                     action, token)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00045: status admin request refused (%s form "
                      "token for action=%s) user=%s",
                      token && *token ? "invalid or expired" : "no", action,
                      user);
        return answer(r, json, HTTP_FORBIDDEN,
                      "Forbidden: the form token is missing, invalid or "
                      "expired; reload the page (scripts: read tokens from "
                      "?json first).");
    }
    if (!client_text || !*client_text)
        return answer(r, json, HTTP_BAD_REQUEST,
                      "Bad request: client is missing (an IPv4 or IPv6 "
                      "address).");
    why = parse_admin_client(r->pool, client_text, c->v6_prefix, &client);
    if (why)
        return answer(r, json, HTTP_BAD_REQUEST,
                      apr_pstrcat(r->pool, "Bad request: ", why, ".", NULL));
    rlw_addr_format(&client, who, sizeof(who));
    now = rlw_now_ms();
    memset(&ev, 0, sizeof(ev));
    ev.client = &client;
    ev.user = r->user;
    ev.reason = "manual";
    ev.threshold = (uint32_t)c->threshold;
    ev.window_ms = c->window_ms;
    ev.decided_by = c->node_name;

    if (!strcmp(action, "ban")) {
        rlw_ban_state_t b;
        apr_status_t rv;

        if (!dur_text || !*dur_text) {
            ms = c->ban_ms;
        } else {
            why = rlw_duration_parse(dur_text, &ms);
            if (!why && (ms <= 0 || ms > RLW_DURATION_MAX_MS))
                why = "must be longer than zero and at most 366d";
            if (why)
                return answer(r, json, HTTP_BAD_REQUEST,
                              apr_psprintf(r->pool,
                                           "Bad request: duration "
                                           "'%s': %s (use e.g. 90s, 15m, 8h, "
                                           "1d).",
                                           dur_text, why));
        }
        memset(&b, 0, sizeof(b));
        rv = rlw_the_store->ban(rlw_the_store, &client, ms, now, &b);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                          "RLW00044: store %s could not ban client=%s "
                          "(manual, user=%s)",
                          rlw_the_store->name, who, user);
            return answer(r, json, HTTP_INTERNAL_SERVER_ERROR,
                          "The store could not record the ban.");
        }
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00040: manual ban client=%s ban=%s until=%s "
                      "user=%s",
                      who, rlw_duration_format(ms, len_txt, sizeof(len_txt)),
                      iso(r->pool, b.until_ms), user);
        ev.kind = RLW_EV_BAN;
        ev.ban = &b;
        ev.ban_ms = ms;
        ev.ban_class = "normal";
        rlw_event_emit(&ev);
        if (rlw_the_metrics)
            rlw_metrics_add(rlw_the_metrics, RLW_M_BANS, now, 1);
        if (json) {
            ap_set_content_type(r, "application/json");
            ap_rprintf(r,
                       "{\"ok\":true,\"action\":\"ban\",\"client\":\"%s\","
                       "\"until\":\"%s\",\"until_ms\":%" APR_INT64_T_FMT "}\n",
                       who, iso(r->pool, b.until_ms), b.until_ms);
            return OK;
        }
    } else {
        find_baton_t fb;

        /* The ban as it ran, for the event (the store keeps it after the
         * unban, but ended). */
        memset(&fb, 0, sizeof(fb));
        fb.client = &client;
        rlw_the_store->visit(rlw_the_store, now, c->window_ms, find_client,
                             &fb);
        if (rlw_the_store->unban(rlw_the_store, &client, now) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "RLW00042: manual unban of client=%s, which is not "
                          "banned (user=%s)",
                          who, user);
            return answer(
                r, json, HTTP_NOT_FOUND,
                apr_psprintf(r->pool, "Client %s is not banned.", who));
        }
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00041: manual unban client=%s user=%s", who, user);
        ev.kind = RLW_EV_UNBAN;
        ev.ban = fb.found ? &fb.info.ban : NULL;
        ev.decided_by = fb.found && fb.info.node[0] ? fb.info.node : NULL;
        rlw_event_emit(&ev);
        if (rlw_the_metrics)
            rlw_metrics_add(rlw_the_metrics, RLW_M_UNBANS, now, 1);
        if (json) {
            ap_set_content_type(r, "application/json");
            ap_rprintf(r,
                       "{\"ok\":true,\"action\":\"unban\",\"client\":"
                       "\"%s\"}\n",
                       who);
            return OK;
        }
    }
    /* Post/redirect/get: reloading the page does not post again. The
     * Location is relative (RFC 7231), so it stays right behind a proxy
     * that terminates TLS or rewrites the host. */
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, ap_escape_uri(r->pool, r->uri),
                               "?done=", action, NULL));
    return HTTP_SEE_OTHER;
}

/* ---- the handler ------------------------------------------------------- */

static int rlw_status_handler(request_rec *r)
{
    rlw_dir_conf_t *d;
    snapshot_t snap;
    int json, admin;

    if (!r->handler || strcmp(r->handler, RLW_STATUS_HANDLER))
        return DECLINED;
    d = ap_get_module_config(r->per_dir_config, &ratelimit_waf_module);
    admin = d && d->admin > 0;
    json = has_arg(r, "json");
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    /* err_headers_out: also kept on the 303 and error answers. */
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    if (r->method_number == M_POST)
        return handle_admin(r, admin, json);
    if (r->method_number == M_OPTIONS)
        return DECLINED; /* the core answers, with Allow from r->allowed */
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;

    take_snapshot(r, &snap, 1);
    if (has_arg(r, "prometheus"))
        render_prometheus(r, &snap);
    else if (json)
        render_json(r, &snap, admin);
    else
        render_html(r, &snap, admin);
    return OK;
}

/* ---- mod_status's server-status ---------------------------------------- */

static int rlw_status_hook(request_rec *r, int flags)
{
    snapshot_t s;
    int i;

    if (!rlw_the_store)
        return OK;
    take_snapshot(r, &s, 0);
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r,
                   "RateLimitWAFThreat: %s\n"
                   "RateLimitWAFActiveBans: %" APR_UINT64_T_FMT "\n"
                   "RateLimitWAFTrackedClients: %" APR_UINT64_T_FMT "\n"
                   "RateLimitWAFTableCapacity: %" APR_UINT64_T_FMT "\n"
                   "RateLimitWAFStore: %s\n"
                   "RateLimitWAFStoreDegraded: %d\n",
                   threat_names[s.threat].word, s.nbans, s.stats.tracked,
                   s.stats.capacity, rlw_the_store->name,
                   s.is_mc && s.mcc.degraded_since_ms ? 1 : 0);
        for (i = 0; i < RLW_M_COUNT; i++) {
            const char *n = rlw_metrics_name(i);
            /* attacks -> Attacks, dry_run_would_reject -> DryRunWouldReject */
            char key[64];
            size_t k = 0;
            int up = 1;

            for (; *n && k < sizeof(key) - 1; n++) {
                if (*n == '_') {
                    up = 1;
                    continue;
                }
                key[k++] = up ? (char)apr_toupper(*n) : *n;
                up = 0;
            }
            key[k] = 0;
            ap_rprintf(r, "RateLimitWAF%sTotal: %" APR_UINT64_T_FMT "\n", key,
                       s.total[i]);
        }
        return OK;
    }
    ap_rprintf(r,
               "<hr /><h2>mod_ratelimit_waf</h2>\n<dl>"
               "<dt>Threat: <b>%s</b> (%u attacks in the busiest of the last "
               "%d minutes)</dt>"
               "<dt>Active bans: %" APR_UINT64_T_FMT "</dt>"
               "<dt>Store: %s, %" APR_UINT64_T_FMT " of %" APR_UINT64_T_FMT
               " clients tracked%s</dt>",
               threat_names[s.threat].title, s.peak_apm, RLW_THREAT_MINUTES,
               s.nbans, html(r->pool, rlw_the_store->name), s.stats.tracked,
               s.stats.capacity,
               s.is_mc && s.mcc.degraded_since_ms ? ", <b>degraded</b>" : "");
    ap_rputs("<dt>Totals:", r);
    for (i = 0; i < RLW_M_COUNT; i++)
        ap_rprintf(r, "%s %s %" APR_UINT64_T_FMT, i ? "," : "",
                   rlw_metrics_name(i), s.total[i]);
    ap_rputs("</dt></dl>\n", r);
    return OK;
}

/* Makes the forms' key once per httpd start (see csrf_key). */
static int rlw_status_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    void *key = NULL;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    apr_pool_userdata_get(&key, CSRF_KEY_NAME, pp);
    if (!key) {
        key = apr_palloc(pp, RLW_CSRF_KEY_LEN);
        if (rlw_csrf_key_new(key)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         "RLW00046: no random key for the status page's "
                         "admin forms (OpenSSL RAND_bytes failed)");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_userdata_set(key, CSRF_KEY_NAME, apr_pool_cleanup_null, pp);
    }
    csrf_key = key;
    return OK;
}

void rlw_status_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(rlw_status_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(rlw_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, rlw_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

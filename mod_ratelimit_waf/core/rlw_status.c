/* rlw_status.c - the status model: snapshot, threat level, JSON and
 * Prometheus text (see rlw_status.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include "rlw_event.h"
#include "rlw_status.h"
#include "rlw_subject.h"
#include "rlw_time.h"
#include "rlw_version.h"

/* ---- text building ------------------------------------------------------ */

/* Text is built as a list of pieces, joined once at the end. */
typedef struct out {
    apr_pool_t *p;
    apr_array_header_t *parts; /* const char * */
} out_t;

static void out_init(out_t *o, apr_pool_t *p)
{
    o->p = p;
    o->parts = apr_array_make(p, 64, sizeof(const char *));
}

static void put(out_t *o, const char *s)
{
    *(const char **)apr_array_push(o->parts) = s;
}

static void putf(out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void putf(out_t *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    put(o, apr_pvsprintf(o->p, fmt, ap));
    va_end(ap);
}

static const char *out_text(out_t *o)
{
    return apr_array_pstrcat(o->p, o->parts, 0);
}

/* ---- small helpers ------------------------------------------------------ */

const char *rlw_status_iso(apr_pool_t *p, int64_t ms)
{
    char buf[RLW_TIME_ISO_LEN];

    return apr_pstrdup(p, rlw_time_iso8601(ms, 0, buf, sizeof(buf)));
}

const char *rlw_status_human_time(apr_pool_t *p, int64_t ms)
{
    char buf[RLW_TIME_ISO_LEN];

    return apr_pstrdup(p,
                       rlw_time_iso8601(ms, RLW_TIME_HUMAN, buf, sizeof(buf)));
}

const char *rlw_status_json_text(apr_pool_t *p, const char *s)
{
    size_t n, len = strlen(s);
    char *out;

    n = rlw_json_escape(s, len, NULL, 0);
    out = apr_palloc(p, n + 1);
    rlw_json_escape(s, len, out, n + 1);
    return out;
}

/* s as a Prometheus label value (no quotes): \\, \" and \n escaped, as
 * text format 0.0.4 asks. */
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

static const char *addr_text(apr_pool_t *p, const rlw_addr_t *a)
{
    char buf[RLW_ADDR_STRLEN];

    return apr_pstrdup(p, rlw_addr_format(a, buf, sizeof(buf)));
}

const char *rlw_status_threat_word(rlw_threat_t t)
{
    switch (t) {
    case RLW_THREAT_CALM:
        return "calm";
    case RLW_THREAT_ELEVATED:
        return "elevated";
    case RLW_THREAT_ATTACK:
        return "under_attack";
    }
    return "calm";
}

rlw_threat_t rlw_status_threat(uint32_t peak_apm, uint64_t nbans)
{
    if (peak_apm >= RLW_THREAT_ATTACK_APM || nbans >= RLW_THREAT_ATTACK_BANS)
        return RLW_THREAT_ATTACK;
    if (peak_apm >= RLW_THREAT_ELEVATED_APM || nbans > 0)
        return RLW_THREAT_ELEVATED;
    return RLW_THREAT_CALM;
}

uint32_t rlw_status_peak(const uint32_t attacks[RLW_METRICS_MINUTES])
{
    uint32_t peak = 0;
    int i;

    for (i = RLW_METRICS_MINUTES - RLW_THREAT_MINUTES; i < RLW_METRICS_MINUTES;
         i++) {
        if (attacks[i] > peak)
            peak = attacks[i];
    }
    return peak;
}

apr_array_header_t *rlw_status_servers(apr_pool_t *p, const char *servers)
{
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(const char *));
    char *copy, *tok, *last;

    if (!servers)
        return out;
    copy = apr_pstrdup(p, servers);
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        while (*tok == ' ')
            tok++;
        if (*tok)
            *(const char **)apr_array_push(out) = tok;
    }
    return out;
}

/* ---- the snapshot ------------------------------------------------------- */

typedef struct visit_baton {
    rlw_status_t *snap;
    int want_clients;
} visit_baton_t;

/* 1 when a comes before b among the top offenders. */
static int ranks_before(const rlw_client_info_t *a, const rlw_client_info_t *b)
{
    if (a->count != b->count)
        return a->count > b->count;
    return memcmp(&a->client, &b->client, sizeof(a->client)) < 0;
}

/* Keeps the RLW_STATUS_TOP highest counts in top[*ntop], sorted
 * descending (equal counts by address, so the order does not depend on
 * the table's). */
static void top_insert(rlw_client_info_t *top, int *ntop,
                       const rlw_client_info_t *info)
{
    int i;

    if (*ntop == RLW_STATUS_TOP && !ranks_before(info, &top[*ntop - 1]))
        return;
    i = *ntop < RLW_STATUS_TOP ? (*ntop)++ : *ntop - 1;
    while (i > 0 && ranks_before(info, &top[i - 1])) {
        top[i] = top[i - 1];
        i--;
    }
    top[i] = *info;
}

/* Gets a copy from the store (no store lock held). */
static int collect(void *baton, const rlw_client_info_t *info)
{
    visit_baton_t *vb = baton;
    rlw_status_t *s = vb->snap;
    unsigned kind = info->client.kind;

    if (rlw_ban_active(&info->ban, s->now_ms)) {
        s->nbans++;
        if (kind < RLW_STATUS_KINDS)
            s->nbans_kind[kind]++;
        if (vb->want_clients && s->bans->nelts < RLW_STATUS_BANS_MAX)
            *(rlw_client_info_t *)apr_array_push(s->bans) = *info;
    }
    if (!vb->want_clients || info->count == 0)
        return 0;
    top_insert(s->top, &s->ntop, info);
    if (kind < RLW_STATUS_KINDS)
        top_insert(s->top_kind[kind], &s->ntop_kind[kind], info);
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const rlw_client_info_t *x = a, *y = b;

    if (x->ban.start_ms != y->ban.start_ms)
        return x->ban.start_ms < y->ban.start_ms ? 1 : -1;
    return memcmp(&x->client, &y->client, sizeof(x->client));
}

void rlw_status_take(apr_pool_t *p, const rlw_status_source_t *src,
                     rlw_status_t *out)
{
    rlw_store_t *st = src->store;
    visit_baton_t vb;
    int k;

    memset(out, 0, sizeof(*out));
    out->now_ms = src->now_ms;
    out->node = src->node ? src->node : "";
    out->policy = src->policy;
    out->key_names = src->key_names;
    out->bans = apr_array_make(p, 16, sizeof(rlw_client_info_t));
    out->enabled = st != NULL;
    out->store_name = st ? st->name : "none";
    if (st) {
        vb.snap = out;
        vb.want_clients = src->want_clients;
        st->visit(st, out->now_ms, src->policy.window_ms, collect, &vb);
        qsort(out->bans->elts, (size_t)out->bans->nelts,
              sizeof(rlw_client_info_t), newest_first);
        st->stats(st, &out->stats);
        if (st->health) {
            st->health(st, p, &out->health);
            out->has_health = 1;
        }
    }
    if (src->metrics) {
        for (k = 0; k < RLW_M_COUNT; k++)
            out->total[k] = rlw_metrics_total(src->metrics, (rlw_metric_t)k);
        rlw_metrics_series(src->metrics, RLW_M_ATTACKS, out->now_ms,
                           out->attacks);
        rlw_metrics_series(src->metrics, RLW_M_REJECTED, out->now_ms,
                           out->rejected);
        out->started_ms = src->metrics->started_ms;
    }
    out->peak_apm = rlw_status_peak(out->attacks);
    out->threat = rlw_status_threat(out->peak_apm, out->nbans);
    rlw_setup_read(src->setup, out->setup);
    for (k = 0; k < RLW_SETUP_KINDS; k++)
        out->nsetup += out->setup[k].active;
}

/* ---- JSON --------------------------------------------------------------- */

const char *rlw_status_key_name(const rlw_status_t *s, const rlw_addr_t *a)
{
    if (a->kind != RLW_KIND_KEY || !s->key_names ||
        a->prefix >= (unsigned)s->key_names->nelts)
        return NULL;
    return APR_ARRAY_IDX(s->key_names, a->prefix, const char *);
}

int rlw_status_ban_pair(const rlw_status_t *s, const rlw_client_info_t *info,
                        rlw_limit_t *l)
{
    const rlw_policy_t *p = info->client.kind == RLW_KIND_NET
                                ? &s->policy.net_limits
                                : &s->policy.limits;
    unsigned pair = info->ban.pair;

    if (pair < 1 || pair > rlw_policy_npairs(p) || p->window_ms <= 0)
        return 0;
    *l = rlw_policy_pair(p, pair - 1);
    if (info->client.kind == RLW_KIND_KEY)
        l->threshold = 0;
    return 1;
}

static void json_client(out_t *o, const rlw_status_t *s,
                        const rlw_client_info_t *c, int as_ban)
{
    apr_pool_t *p = o->p;
    rlw_limit_t l;
    int i;

    putf(o, "{\"client\":\"%s\",\"count\":%u,",
         rlw_status_json_text(p, addr_text(p, &c->client)), c->count);
    /* What the entry is about, when it is not one client: "network". */
    if (c->client.kind != RLW_KIND_CLIENT &&
        rlw_subject_kind_name(c->client.kind))
        putf(o, "\"kind\":\"%s\",", rlw_subject_kind_name(c->client.kind));
    /* A key by its NAME beside the hash (the value is never known). */
    if (c->client.kind == RLW_KIND_KEY && rlw_status_key_name(s, &c->client))
        putf(o, "\"key_name\":\"%s\",",
             rlw_status_json_text(p, rlw_status_key_name(s, &c->client)));
    /* Counted or banned by a virtual host in RateLimitWAFDryRun: nobody
     * enforces it. */
    if (c->client.scope == RLW_SCOPE_DRY_RUN)
        put(o, "\"dry_run\":true,");
    if (as_ban)
        putf(o,
             "\"since\":\"%s\",\"until\":\"%s\",\"since_ms\":%" APR_INT64_T_FMT
             ",\"until_ms\":%" APR_INT64_T_FMT ","
             "\"remaining_s\":%" APR_INT64_T_FMT ",\"strike\":%u,"
             "\"ban_count\":%u,\"node\":\"%s\",",
             rlw_status_iso(p, c->ban.start_ms),
             rlw_status_iso(p, c->ban.until_ms), c->ban.start_ms,
             c->ban.until_ms, (c->ban.until_ms - s->now_ms + 999) / 1000,
             c->ban.strikes, c->ban.count, rlw_status_json_text(p, c->node));
    /* The (count, window) pair that banned, when known. */
    if (as_ban && rlw_status_ban_pair(s, c, &l)) {
        putf(o, "\"pair\":%u,\"window_s\":%" APR_INT64_T_FMT ",",
             (unsigned)c->ban.pair, l.window_ms / 1000);
        if (l.threshold)
            putf(o, "\"threshold\":%u,", l.threshold);
    }
    if (!as_ban)
        putf(o, "\"banned\":%s,\"last\":\"%s\",",
             rlw_ban_active(&c->ban, s->now_ms) ? "true" : "false",
             c->last_ms ? rlw_status_iso(p, c->last_ms) : "");
    put(o, "\"rules\":[");
    for (i = 0; i < RLW_TOP_RULES && c->rules[i]; i++)
        putf(o, "%s{\"id\":%u,\"hits\":%u,\"category\":\"%s\"}", i ? "," : "",
             c->rules[i], c->rule_hits[i],
             rlw_event_rule_category(c->rules[i]));
    put(o, "]}");
}

/* "top_by_kind": the top offenders of each kind, named as in
 * bans_by_kind, each list ranked like top_offenders. */
static void json_top_by_kind(out_t *o, const rlw_status_t *s)
{
    unsigned k;
    int i;

    put(o, "\"top_by_kind\":{");
    for (k = 0; k < RLW_STATUS_KINDS; k++) {
        putf(o, "%s\"%s\":[", k ? "," : "", rlw_subject_kind_name(k));
        for (i = 0; i < s->ntop_kind[k]; i++) {
            if (i)
                put(o, ",");
            json_client(o, s, &s->top_kind[k][i], 0);
        }
        put(o, "]");
    }
    put(o, "},");
}

static void json_series(out_t *o, const char *name, const uint32_t *v)
{
    int i;

    putf(o, "\"%s\":[", name);
    for (i = 0; i < RLW_METRICS_MINUTES; i++)
        putf(o, "%s%u", i ? "," : "", v[i]);
    put(o, "]");
}

/* The set-up problems declared now, each with its evidence and its fix
 * (docs/status.md, "Set-up problems"). */
static void json_setup(out_t *o, const rlw_status_t *s)
{
    int k, n = 0;

    putf(o, "\"setup\":{\"ok\":%s,\"problems\":[",
         s->nsetup ? "false" : "true");
    for (k = 0; k < RLW_SETUP_KINDS; k++) {
        const rlw_setup_view_t *v = &s->setup[k];

        if (!v->active)
            continue;
        putf(o,
             "%s{\"kind\":\"%s\",\"title\":\"%s\",\"requests\":"
             "%" APR_UINT64_T_FMT ",\"first\":\"%s\",\"last\":\"%s\","
             "\"detail\":\"%s\",\"fix\":\"%s\"}",
             n++ ? "," : "", rlw_setup_kind_name((rlw_setup_kind_t)k),
             rlw_setup_title((rlw_setup_kind_t)k), v->evidence,
             v->first_ms ? rlw_status_iso(o->p, v->first_ms) : "",
             v->last_ms ? rlw_status_iso(o->p, v->last_ms) : "",
             rlw_status_json_text(o->p, v->detail),
             rlw_status_json_text(o->p, rlw_setup_fix((rlw_setup_kind_t)k)));
    }
    put(o, "]},");
}

/* A store's health(), under the store's name ("memcached": {...}). */
static void json_health(out_t *o, const rlw_status_t *s)
{
    const rlw_store_health_t *h = &s->health;
    apr_array_header_t *servers = rlw_status_servers(o->p, h->servers);
    int i;

    putf(o,
         ",\"%s\":{\"degraded\":%s,\"degraded_since\":"
         "\"%s\",\"errors\":%" APR_UINT64_T_FMT
         ",\"fallbacks\":%" APR_UINT64_T_FMT
         ",\"cas_retries\":%" APR_UINT64_T_FMT
         ",\"bad_records\":%" APR_UINT64_T_FMT
         ",\"journal_seen\":%" APR_UINT64_T_FMT ",\"ops\":%" APR_UINT64_T_FMT
         ",\"servers\":[",
         rlw_status_json_text(o->p, s->store_name),
         h->degraded_since_ms ? "true" : "false",
         h->degraded_since_ms ? rlw_status_iso(o->p, h->degraded_since_ms) : "",
         h->errors, h->fallbacks, h->cas_retries, h->bad_records,
         h->journal_seen, h->ops);
    for (i = 0; i < servers->nelts; i++)
        putf(o, "%s\"%s\"", i ? "," : "",
             rlw_status_json_text(o->p,
                                  APR_ARRAY_IDX(servers, i, const char *)));
    put(o, "]}");
}

const char *rlw_status_json(apr_pool_t *p, const rlw_status_t *s, int admin,
                            const char *ban_token, const char *unban_token)
{
    const rlw_status_policy_t *c = &s->policy;
    out_t o;
    int i;

    out_init(&o, p);
    putf(&o,
         "{\"module\":\"mod_ratelimit_waf\",\"version\":\"" RLW_VERSION
         "\",\"enabled\":%s,"
         "\"node\":\"%s\",\"now\":\"%s\",\"now_ms\":%" APR_INT64_T_FMT
         ",\"admin\":%s,",
         s->enabled ? "true" : "false", rlw_status_json_text(p, s->node),
         rlw_status_iso(p, s->now_ms), s->now_ms, admin ? "true" : "false");
    /* The forms' tokens, for scripts that post (docs/status.md): only
     * where posting is allowed, and only for the operator asking. */
    if (admin)
        putf(&o, "\"tokens\":{\"ban\":\"%s\",\"unban\":\"%s\"},",
             rlw_status_json_text(p, ban_token ? ban_token : ""),
             rlw_status_json_text(p, unban_token ? unban_token : ""));
    putf(&o,
         "\"threat\":{\"level\":\"%s\",\"peak_attacks_per_minute\":"
         "%u,\"minutes\":%d,\"active_bans\":%" APR_UINT64_T_FMT "},",
         rlw_status_threat_word(s->threat), s->peak_apm, RLW_THREAT_MINUTES,
         s->nbans);
    json_setup(&o, s);
    putf(&o,
         "\"policy\":{\"enabled\":%s,\"dry_run\":%s,\"threshold\":"
         "%" APR_INT64_T_FMT ",\"window_s\":%" APR_INT64_T_FMT
         ",\"ban_s\":%" APR_INT64_T_FMT ",\"ban_max_s\":%" APR_INT64_T_FMT
         ",\"attack_score\":%d},",
         c->enabled > 0 ? "true" : "false", c->dry_run > 0 ? "true" : "false",
         c->threshold, c->window_ms / 1000, c->ban_ms / 1000,
         c->ban_max_ms / 1000, c->attack_score);
    put(&o, "\"totals\":{");
    for (i = 0; i < RLW_M_COUNT; i++)
        putf(&o, "%s\"%s\":%" APR_UINT64_T_FMT, i ? "," : "",
             rlw_metrics_name((rlw_metric_t)i), s->total[i]);
    putf(&o, "},\"since\":\"%s\",",
         s->started_ms ? rlw_status_iso(p, s->started_ms) : "");

    putf(&o,
         "\"store\":{\"name\":\"%s\",\"tracked\":%" APR_UINT64_T_FMT
         ",\"capacity\":%" APR_UINT64_T_FMT ",\"evictions\":%" APR_UINT64_T_FMT
         ",\"evicted_bans\":%" APR_UINT64_T_FMT
         ",\"untracked\":%" APR_UINT64_T_FMT,
         rlw_status_json_text(p, s->store_name), s->stats.tracked,
         s->stats.capacity, s->stats.evictions, s->stats.evicted_bans,
         s->stats.untracked);
    if (s->has_health)
        json_health(&o, s);
    put(&o, "},");

    putf(&o,
         "\"active_bans\":%" APR_UINT64_T_FMT ",\"bans_listed\":%d,"
         "\"bans_by_kind\":{\"client\":%" APR_UINT64_T_FMT
         ",\"network\":%" APR_UINT64_T_FMT ",\"key\":%" APR_UINT64_T_FMT
         "},\"bans\":[",
         s->nbans, s->bans->nelts, s->nbans_kind[RLW_KIND_CLIENT],
         s->nbans_kind[RLW_KIND_NET], s->nbans_kind[RLW_KIND_KEY]);
    for (i = 0; i < s->bans->nelts; i++) {
        if (i)
            put(&o, ",");
        json_client(&o, s, &APR_ARRAY_IDX(s->bans, i, rlw_client_info_t), 1);
    }
    put(&o, "],\"top_offenders\":[");
    for (i = 0; i < s->ntop; i++) {
        if (i)
            put(&o, ",");
        json_client(&o, s, &s->top[i], 0);
    }
    put(&o, "],");
    json_top_by_kind(&o, s);
    putf(&o, "\"history\":{\"minutes\":%d,\"first_minute\":\"%s\",",
         RLW_METRICS_MINUTES,
         rlw_status_iso(p, (s->now_ms / 60000 - (RLW_METRICS_MINUTES - 1)) *
                               60000));
    json_series(&o, "attacks", s->attacks);
    put(&o, ",");
    json_series(&o, "rejected", s->rejected);
    put(&o, "}}\n");
    return out_text(&o);
}

/* ---- Prometheus --------------------------------------------------------- */

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
 * the node, and with the store when store is not NULL (both escaped). */
static void prom_metric(out_t *o, const char *name, const char *type,
                        const char *help, const char *node, const char *store,
                        uint64_t v)
{
    putf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    if (store)
        putf(o, "%s{node=\"%s\",store=\"%s\"} %" APR_UINT64_T_FMT "\n", name,
             node, store, v);
    else
        putf(o, "%s{node=\"%s\"} %" APR_UINT64_T_FMT "\n", name, node, v);
}

/* The metrics beyond the totals, in the order they are written. */
typedef enum prom_label_set {
    LABEL_NODE = 0,  /* {node="..."} */
    LABEL_STORE = 1, /* {node="...",store="..."} */
    HEALTH_ONLY = 2  /* {node="..."}, only for a store with health() */
} prom_label_set_t;

const char *rlw_status_prometheus(apr_pool_t *p, const rlw_status_t *s)
{
    const rlw_store_health_t *h = &s->health;
    const char *node = prom_label(p, s->node);
    const char *store = prom_label(p, s->store_name);
    /* The gauges are never negative: printed as unsigned. */
    const struct {
        const char *name, *type, *help;
        prom_label_set_t labels;
        uint64_t v;
    } more[] = {
        {"ratelimit_waf_store_errors_total", "counter",
         "Failed store calls (memcached; always 0 for shm).", LABEL_STORE,
         s->has_health ? h->errors : 0},
        {"ratelimit_waf_store_evictions_total", "counter",
         "Clients evicted from the full shm table to make room.", LABEL_NODE,
         s->stats.evictions},
        {"ratelimit_waf_store_evicted_bans_total", "counter",
         "Running bans among the evicted clients.", LABEL_NODE,
         s->stats.evicted_bans},
        {"ratelimit_waf_store_untracked_total", "counter",
         "Clients not tracked: their part of the full shm table "
         "held running bans only.",
         LABEL_NODE, s->stats.untracked},
        {"ratelimit_waf_store_fallbacks_total", "counter",
         "Attacks counted in the local shm table while memcached failed.",
         HEALTH_ONLY, h->fallbacks},
        {"ratelimit_waf_store_cas_retries_total", "counter",
         "Ban record writes retried after a concurrent update.", HEALTH_ONLY,
         h->cas_retries},
        {"ratelimit_waf_store_bad_records_total", "counter",
         "Ban records or journal entries that failed authentication.",
         HEALTH_ONLY, h->bad_records},
        {"ratelimit_waf_store_ops_total", "counter",
         "memcached calls made by this node.", HEALTH_ONLY, h->ops},
        {"ratelimit_waf_store_journal_position", "gauge",
         "Last cluster journal entry this node applied.", HEALTH_ONLY,
         h->journal_seen},
        {"ratelimit_waf_enabled", "gauge",
         "1 when the module runs (RateLimitWAF On in some server).", LABEL_NODE,
         (uint64_t)s->enabled},
        {"ratelimit_waf_active_bans", "gauge",
         "Bans running now, as this node knows them.", LABEL_NODE, s->nbans},
        {"ratelimit_waf_tracked_clients", "gauge",
         "Clients held in the node's table.", LABEL_NODE, s->stats.tracked},
        {"ratelimit_waf_table_capacity", "gauge",
         "Clients the node's table can hold.", LABEL_NODE, s->stats.capacity},
        {"ratelimit_waf_store_degraded", "gauge",
         "1 while the store fails and counting falls back to the node.",
         LABEL_STORE, s->has_health && h->degraded_since_ms ? 1 : 0},
        {"ratelimit_waf_threat_level", "gauge",
         "0 calm, 1 elevated, 2 under attack (see docs/status.md).", LABEL_NODE,
         (uint64_t)s->threat},
        {"ratelimit_waf_start_time_seconds", "gauge",
         "When the counters started (Unix time).", LABEL_NODE,
         (uint64_t)(s->started_ms / 1000)},
    };
    char name[96];
    out_t o;
    size_t i;
    int k;

    out_init(&o, p);
    for (k = 0; k < RLW_M_COUNT; k++) {
        apr_snprintf(name, sizeof(name), "ratelimit_waf_%s_total",
                     rlw_metrics_name((rlw_metric_t)k));
        prom_metric(&o, name, "counter",
                    metric_help[k] ? metric_help[k] : "See rlw_metrics.h.",
                    node, NULL, s->total[k]);
    }
    for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        if (more[i].labels == HEALTH_ONLY && !s->has_health)
            continue;
        prom_metric(&o, more[i].name, more[i].type, more[i].help, node,
                    more[i].labels == LABEL_STORE ? store : NULL, more[i].v);
    }
    /* Running bans by what they are of (rlw_subject.h): one sample per
     * kind the module makes. */
    putf(&o,
         "# HELP ratelimit_waf_active_bans_by_kind Bans running now, as this "
         "node knows them, by subject kind (client, network, key).\n"
         "# TYPE ratelimit_waf_active_bans_by_kind gauge\n");
    for (k = RLW_KIND_CLIENT; k <= RLW_KIND_KEY; k++)
        putf(&o,
             "ratelimit_waf_active_bans_by_kind{node=\"%s\",kind=\"%s\"} "
             "%" APR_UINT64_T_FMT "\n",
             node, rlw_subject_kind_name((unsigned)k), s->nbans_kind[k]);
    /* The version as a label, Prometheus' usual *_build_info shape. */
    putf(&o,
         "# HELP ratelimit_waf_build_info The module's version (always 1).\n"
         "# TYPE ratelimit_waf_build_info gauge\n"
         "ratelimit_waf_build_info{node=\"%s\",version=\"" RLW_VERSION
         "\"} 1\n",
         node);
    /* One sample per kind, 0 or 1, so that an alert can name the kind. */
    put(&o, "# HELP ratelimit_waf_setup_problem 1 while a set-up problem is "
            "seen (not_counting, bans_inspected, proxy_address, "
            "shared_address; see "
            "docs/status.md).\n# TYPE ratelimit_waf_setup_problem gauge\n");
    for (k = 0; k < RLW_SETUP_KINDS; k++)
        putf(&o, "ratelimit_waf_setup_problem{node=\"%s\",kind=\"%s\"} %d\n",
             node, rlw_setup_kind_name((rlw_setup_kind_t)k),
             s->setup[k].active ? 1 : 0);
    return out_text(&o);
}

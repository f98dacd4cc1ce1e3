/* mod_rlw_status.c - the status page: handler ratelimit-waf-status, its
 * HTML, and a section in mod_status's server-status.
 *
 *   <Location "/ratelimit-waf">
 *       SetHandler ratelimit-waf-status
 *       Require ip 192.0.2.0/24
 *       RateLimitWAFAdmin On        # optional: POST ban/unban
 *   </Location>
 *
 * One snapshot of the node (rlw_status.h: store, counters, per-minute
 * history, threat level) is taken per request and written in one of three
 * formats: HTML for a person (the default, rendered here), JSON (?json)
 * and Prometheus text 0.0.4 (?prometheus), both made by the core. A POST
 * is the admin API (mod_rlw_admin.c). See docs/status.md.
 *
 * Node names come from other nodes' journal entries and server names from
 * the configuration: they are escaped like any other outside string.
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
#include <mod_status.h>

#include "mod_rlw.h"
#include "rlw_time.h"
#include "mod_rlw_admin.h"
#include "rlw_duration.h"
#include "rlw_status.h"
#include "rlw_subject.h"
#include "rlw_version.h"

APLOG_USE_MODULE(ratelimit_waf);

#define RLW_STATUS_HANDLER "ratelimit-waf-status"

/* How the HTML page and server-status name a threat level (rlw_threat_t
 * order). */
static const struct {
    const char *title; /* HTML */
    const char *css;   /* HTML class */
} threat_html[] = {
    {"Calm", "calm"}, {"Elevated", "elevated"}, {"Under attack", "attack"}};

/* ---- small helpers ----------------------------------------------------- */

static const rlw_srv_conf_t *srv_conf_of(server_rec *s)
{
    return ap_get_module_config(s->module_config, &ratelimit_waf_module);
}

static const char *human_span(apr_pool_t *p, int64_t ms)
{
    char buf[32];

    return apr_pstrdup(p, rlw_time_span2(ms, buf, sizeof(buf)));
}

/* s as the inside of a JSON string (no quotes), any bytes safe. */

static const char *html(apr_pool_t *p, const char *s)
{
    return ap_escape_html2(p, s, 0);
}

static const char *addr_text(apr_pool_t *p, const rlw_addr_t *a)
{
    char buf[RLW_ADDR_STRLEN];

    return apr_pstrdup(p, rlw_addr_format(a, buf, sizeof(buf)));
}

/* A client for an HTML cell: the address, marked when it is a network
 * (RateLimitWAFNetwork: its ban holds for every address in it) and when it
 * is the dry-run scope's (nobody enforces its ban). */
static const char *client_cell(apr_pool_t *p, const rlw_addr_t *a)
{
    const char *t = html(p, addr_text(p, a));

    if (a->kind == RLW_KIND_NET)
        t = apr_pstrcat(p, t, " <span class=\"tag meta\">network</span>", NULL);
    if (a->kind == RLW_KIND_KEY)
        t = apr_pstrcat(
            p, " <span class=\"tag meta\">key ",
            html(p, rlw_key_name(a->prefix) ? rlw_key_name(a->prefix) : "?"),
            "</span> ", t, NULL);
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

/* The snapshot of this node for r; want_clients: 0 counts the running
 * bans only (server-status). */
static void take_snapshot(request_rec *r, rlw_status_t *s, int want_clients)
{
    const rlw_srv_conf_t *c = srv_conf_of(r->server);
    rlw_status_source_t src;

    memset(&src, 0, sizeof(src));
    src.store = rlw_the_store;
    src.metrics = rlw_the_metrics;
    src.setup = rlw_the_setup;
    src.node = c->mod->node_name;
    src.policy.enabled = c->enabled > 0;
    src.policy.dry_run = c->dry_run > 0;
    src.policy.threshold = c->threshold;
    src.policy.window_ms = c->mod->window_ms;
    src.policy.ban_ms = c->ban_ms;
    src.policy.ban_max_ms = c->ban_max_ms;
    src.policy.attack_score = c->attack_score;
    src.policy.limits = c->policy;
    src.policy.net_limits = c->net_threshold > 0 ? c->net_policy : c->policy;
    src.now_ms = rlw_now_ms();
    src.want_clients = want_clients;
    src.key_names = c->mod->key_names;
    rlw_status_take(r->pool, &src, s);
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
    "h2 small,h3 small{font-weight:normal;color:#57606a}"
    "h3{font-size:13px;margin:14px 0 6px;color:#24292f}"
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
static void render_chart(request_rec *r, const rlw_status_t *s)
{
    const double W = 1100, H = 250, L = 56, R = 16, T = 14, B = 40;
    const double pw = W - L - R, ph = H - T - B;
    const double sw = pw / RLW_METRICS_MINUTES;
    int64_t first_min = s->now_ms / 60000 - (RLW_METRICS_MINUTES - 1);
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
        int64_t minute = first_min + i; /* since the epoch, UTC */

        ap_rprintf(r,
                   "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                   "height=\"%.1f\" fill=\"#fb8f44\"><title>%02d:%02d UTC: %u "
                   "attacks, %u rejected</title></rect>",
                   L + sw * i + sw * 0.15, T + ph - h, sw * 0.7, h,
                   (int)(minute / 60 % 24), (int)(minute % 60), s->attacks[i],
                   s->rejected[i]);
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

    /* A rule outside the CRS attack categories (a site's own rule, an
     * outbound one) has no category to name: its id is shown muted. The
     * summary rules (949xxx, 959xxx, 980xxx) never get here: they are not
     * collected (rlw_crs_is_summary()). */
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

/* The set-up problems seen (rlw_setup.h): a red box each, with the fix.
 * Nothing when the set-up looks right. */
static void html_setup(request_rec *r, const rlw_status_t *s)
{
    apr_pool_t *p = r->pool;
    int k;

    for (k = 0; k < RLW_SETUP_KINDS; k++) {
        const rlw_setup_view_t *v = &s->setup[k];

        if (!v->active)
            continue;
        ap_rprintf(
            r,
            "<section class=\"threat attack setup\" id=\"setup-%s\">"
            "<div class=\"level\">%s</div><div class=\"why\">%s%s"
            "%s <br>Seen on %" APR_UINT64_T_FMT " %s%s, last %s "
            "UTC.</div></section>",
            rlw_setup_kind_name((rlw_setup_kind_t)k),
            html(p, rlw_setup_title((rlw_setup_kind_t)k)),
            v->detail[0] ? html(p, v->detail) : "", v->detail[0] ? ". " : "",
            html(p, rlw_setup_fix((rlw_setup_kind_t)k)), v->evidence,
            k == RLW_SETUP_KEY_ORDER ? "check" : "request",
            v->evidence == 1 ? "" : "s", rlw_status_human_time(p, v->last_ms));
    }
}

/* The threshold of a top offender's kind in this virtual host, or 0 when
 * it has none here (a network or key counted by another virtual host). */
static int64_t kind_threshold(const rlw_srv_conf_t *c, const rlw_addr_t *a)
{
    int i;

    if (a->kind == RLW_KIND_NET)
        return c->net_threshold;
    if (a->kind != RLW_KIND_KEY)
        return c->threshold;
    for (i = 0; c->keys && i < c->keys->nelts; i++) {
        const rlw_key_conf_t *k = &APR_ARRAY_IDX(c->keys, i, rlw_key_conf_t);

        if (k->idx == a->prefix)
            return k->threshold;
    }
    return 0;
}

/* The top offenders of one kind: a table, or a line saying there are
 * none. */
static void html_top_kind(request_rec *r, const rlw_status_t *s,
                          const rlw_srv_conf_t *c, unsigned kind,
                          const char *title, const char *column)
{
    apr_pool_t *p = r->pool;
    int i;

    ap_rprintf(r, "<h3 id=\"top-%s\">%s</h3>", rlw_subject_kind_name(kind),
               title);
    if (!s->ntop_kind[kind]) {
        ap_rprintf(r,
                   "<div class=\"empty\">No %s with attacks in the "
                   "window.</div>",
                   kind == RLW_KIND_CLIENT ? "client"
                   : kind == RLW_KIND_NET  ? "network"
                                           : "key value");
        return;
    }
    ap_rprintf(r,
               "<table><tr><th>%s</th><th class=\"n\">Attacks</th>"
               "<th class=\"n\">Of threshold</th><th>Last attack</th>"
               "<th>State</th><th>Top rules</th></tr>",
               column);
    for (i = 0; i < s->ntop_kind[kind]; i++) {
        const rlw_client_info_t *o = &s->top_kind[kind][i];
        int64_t t = kind_threshold(c, &o->client);

        ap_rprintf(r,
                   "<tr><td class=\"mono\">%s</td><td class=\"n\">%u"
                   "</td><td class=\"n\">%s</td><td class=\"t\">%s"
                   "</td><td>%s</td><td>",
                   client_cell(p, &o->client), o->count,
                   t > 0 ? apr_psprintf(p, "%.0f%%", 100.0 * o->count / t)
                         : "-",
                   o->last_ms ? rlw_status_human_time(p, o->last_ms) : "-",
                   rlw_ban_active(&o->ban, s->now_ms)
                       ? "<span class=\"tag ban\">banned</span>"
                       : "watching");
        html_rules(r, o);
        ap_rputs("</td></tr>", r);
    }
    ap_rputs("</table>", r);
}

/* Top offenders by kind: clients always; networks and request keys where
 * this virtual host counts them, or when some have attacks (counted by
 * another virtual host). Keys are shown by NAME and hash only. */
static void html_top(request_rec *r, const rlw_status_t *s,
                     const rlw_srv_conf_t *c)
{
    char d1[32];

    ap_rprintf(r,
               "<h2>Top offenders <small>most attacks in the %s window, "
               "by kind</small></h2>",
               rlw_duration_format(c->mod->window_ms, d1, sizeof(d1)));
    html_top_kind(r, s, c, RLW_KIND_CLIENT,
                  apr_psprintf(r->pool,
                               "Clients <small>threshold %" APR_INT64_T_FMT
                               "</small>",
                               c->threshold),
                  "Client");
    if (c->net_threshold > 0 || s->ntop_kind[RLW_KIND_NET])
        html_top_kind(r, s, c, RLW_KIND_NET,
                      c->net_threshold > 0
                          ? apr_psprintf(r->pool,
                                         "Networks <small>/%d and /%d, "
                                         "threshold %" APR_INT64_T_FMT
                                         "</small>",
                                         c->net_v4, c->net_v6, c->net_threshold)
                          : "Networks",
                      "Network");
    if ((c->keys && c->keys->nelts) || s->ntop_kind[RLW_KIND_KEY])
        html_top_kind(r, s, c, RLW_KIND_KEY,
                      "Request keys <small>RateLimitWAFKey, by hash: the "
                      "value is never shown</small>",
                      "Key");
}

static void render_html(request_rec *r, const rlw_status_t *s, int admin)
{
    apr_pool_t *p = r->pool;
    const rlw_srv_conf_t *c = srv_conf_of(r->server);
    const char *node = html(p, s->node);
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
    ap_rprintf(
        r,
        "<header><h1>mod_ratelimit_waf on %s</h1><div class=\"sub\">"
        "version " RLW_VERSION
        " &middot; %s UTC<a href=\"%s?json\">JSON</a><a href=\"%s?prometheus\">"
        "Prometheus</a></div></header>",
        node, rlw_status_human_time(p, s->now_ms), self, self);
    /* "-local": the store could not tell the other nodes (RLW00047). */
    if (done && (!strcmp(done, "ban") || !strcmp(done, "unban")))
        ap_rprintf(r, "<div class=\"note\">%s recorded.</div>",
                   !strcmp(done, "ban") ? "Ban" : "Unban");
    else if (done &&
             (!strcmp(done, "ban-local") || !strcmp(done, "unban-local")))
        ap_rprintf(r,
                   "<div class=\"note\">%s recorded on this node only: the "
                   "other nodes could not be told (cluster journal append "
                   "failed, see the error log).</div>",
                   !strcmp(done, "ban-local") ? "Ban" : "Unban");
    if (!s->enabled)
        ap_rputs("<div class=\"note\">The module is not enabled: no server "
                 "has <span class=\"mono\">RateLimitWAF On</span>.</div>",
                 r);

    ap_rprintf(r,
               "<section class=\"threat %s\"><div class=\"level\">%s</div>"
               "<div class=\"why\">%u attacks in the busiest of the last %d "
               "minutes &middot; %" APR_UINT64_T_FMT " active ban%s%s</div>"
               "</section>",
               threat_html[s->threat].css, threat_html[s->threat].title,
               s->peak_apm, RLW_THREAT_MINUTES, s->nbans,
               s->nbans == 1 ? "" : "s",
               c->dry_run > 0 ? " &middot; dry run: nothing is blocked" : "");

    html_setup(r, s);

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
                   rlw_status_human_time(p, s->started_ms),
                   human_span(p, s->now_ms - s->started_ms));

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
                 "<th class=\"n\">Attacks</th><th>Window</th>"
                 "<th>Decided by</th><th>Top rules</th></tr>",
                 r);
        for (i = 0; i < s->bans->nelts; i++) {
            const rlw_client_info_t *b =
                &APR_ARRAY_IDX(s->bans, i, rlw_client_info_t);
            rlw_limit_t l;
            /* The pair that banned: its window, and its count. */
            const char *pair =
                !rlw_status_ban_pair(s, b, &l) ? "-"
                : l.threshold
                    ? apr_psprintf(
                          p, "%s (%u)",
                          rlw_duration_format(l.window_ms, d1, sizeof(d1)),
                          l.threshold)
                    : apr_pstrdup(
                          p, rlw_duration_format(l.window_ms, d1, sizeof(d1)));
            /* Strike 0: a manual ban, or a shared proxy's
             * (RateLimitWAFAllow), which never escalates. */
            ap_rprintf(r,
                       "<tr><td class=\"mono\">%s</td><td class=\"t\">%s"
                       "</td><td class=\"t\">%s</td><td class=\"n\">%s</td>"
                       "<td class=\"n\">%s</td><td class=\"n\">%u</td>"
                       "<td class=\"t\">%s</td><td class=\"t\">%s</td><td>",
                       client_cell(p, &b->client),
                       rlw_status_human_time(p, b->ban.start_ms),
                       rlw_status_human_time(p, b->ban.until_ms),
                       human_span(p, b->ban.until_ms - s->now_ms),
                       b->ban.strikes ? apr_psprintf(p, "%u", b->ban.strikes)
                                      : "-",
                       b->ban.count, pair, b->node[0] ? html(p, b->node) : "-");
            html_rules(r, b);
            ap_rputs("</td></tr>", r);
        }
        ap_rputs("</table>", r);
    }

    html_top(r, s, c);

    ap_rputs("<div class=\"grid2\"><div><h2>Store</h2><table>", r);
    html_kv(r, "Store", html(p, s->store_name));
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
    if (s->has_health) {
        apr_array_header_t *servers = rlw_status_servers(p, s->health.servers);

        html_kv(
            r, "Health",
            s->health.degraded_since_ms
                ? apr_psprintf(
                      p,
                      "<span class=\"bad\">degraded since %s "
                      "UTC (%s)</span>",
                      rlw_status_human_time(p, s->health.degraded_since_ms),
                      human_span(p, s->now_ms - s->health.degraded_since_ms))
                : "<span class=\"ok\">answering</span>");
        for (i = 0; i < servers->nelts; i++)
            html_kv(
                r, i ? "" : "Servers",
                apr_pstrcat(p, "<span class=\"mono\">",
                            html(p, APR_ARRAY_IDX(servers, i, const char *)),
                            "</span>", NULL));
        html_kv_num(r, "Errors", s->health.errors);
        html_kv_num(r, "Fallbacks to shm", s->health.fallbacks);
        html_kv_num(r, "CAS retries", s->health.cas_retries);
        html_kv_num(r, "Bad records", s->health.bad_records);
        html_kv_num(r, "Journal position", s->health.journal_seen);
        html_kv_num(r, "Operations", s->health.ops);
    } else {
        html_kv(r, "Health", "<span class=\"ok\">local shared memory</span>");
    }
    ap_rputs("</table></div><div><h2>Policy <small>this virtual host"
             "</small></h2><table>",
             r);
    html_kv(r, "RateLimitWAF", c->enabled > 0 ? "On" : "Off");
    html_kv(
        r, "Threshold",
        apr_psprintf(p,
                     "%" APR_INT64_T_FMT " attacks in "
                     "%s",
                     c->threshold,
                     rlw_duration_format(c->mod->window_ms, d1, sizeof(d1))));
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
            self, rlw_admin_token(r, "ban"),
            rlw_duration_format(c->ban_ms, d1, sizeof(d1)), self,
            rlw_admin_token(r, "unban"));
    }
    ap_rprintf(r,
               "<footer>mod_ratelimit_waf status &middot; node %s &middot; "
               "counts are this node's; bans include those learnt from the "
               "cluster.</footer></main></body></html>\n",
               node);
}

/* ---- the handler ------------------------------------------------------- */

static int rlw_status_handler(request_rec *r)
{
    rlw_status_t snap;
    int json, admin;

    if (!r->handler || strcmp(r->handler, RLW_STATUS_HANDLER))
        return DECLINED;
    admin = rlw_admin_allowed(r);
    json = has_arg(r, "json");
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    /* err_headers_out: also kept on the 303 and error answers. */
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    if (r->method_number == M_POST)
        return rlw_admin_post(r, admin, json);
    if (r->method_number == M_OPTIONS)
        return DECLINED; /* the core answers, with Allow from r->allowed */
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;

    take_snapshot(r, &snap, 1);
    if (has_arg(r, "prometheus")) {
        ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
        ap_rputs(rlw_status_prometheus(r->pool, &snap), r);
    } else if (json) {
        ap_set_content_type(r, "application/json");
        ap_rputs(rlw_status_json(r->pool, &snap, admin,
                                 admin ? rlw_admin_token(r, "ban") : NULL,
                                 admin ? rlw_admin_token(r, "unban") : NULL),
                 r);
    } else {
        render_html(r, &snap, admin);
    }
    return OK;
}

/* ---- mod_status's server-status ---------------------------------------- */

static int rlw_status_hook(request_rec *r, int flags)
{
    rlw_status_t s;
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
                   rlw_status_threat_word(s.threat), s.nbans, s.stats.tracked,
                   s.stats.capacity, s.store_name,
                   s.has_health && s.health.degraded_since_ms ? 1 : 0);
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
    ap_rprintf(
        r,
        "<hr /><h2>mod_ratelimit_waf</h2>\n<dl>"
        "<dt>Threat: <b>%s</b> (%u attacks in the busiest of the last "
        "%d minutes)</dt>"
        "<dt>Active bans: %" APR_UINT64_T_FMT "</dt>"
        "<dt>Store: %s, %" APR_UINT64_T_FMT " of %" APR_UINT64_T_FMT
        " clients tracked%s</dt>",
        threat_html[s.threat].title, s.peak_apm, RLW_THREAT_MINUTES, s.nbans,
        html(r->pool, s.store_name), s.stats.tracked, s.stats.capacity,
        s.has_health && s.health.degraded_since_ms ? ", <b>degraded</b>" : "");
    ap_rputs("<dt>Totals:", r);
    for (i = 0; i < RLW_M_COUNT; i++)
        ap_rprintf(r, "%s %s %" APR_UINT64_T_FMT, i ? "," : "",
                   rlw_metrics_name(i), s.total[i]);
    ap_rputs("</dt></dl>\n", r);
    return OK;
}

/* Makes the forms' key once per httpd start (see csrf_key). */
void rlw_status_register_hooks(apr_pool_t *p)
{
    rlw_admin_register_hooks(p);
    ap_hook_handler(rlw_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, rlw_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

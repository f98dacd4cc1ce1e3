/* mod_rlw_admin.c - the status page's admin API: RateLimitWAFAdmin and
 * POST ban / unban (see docs/status.md, "Admin API").
 *
 * A POST is refused (403) unless RateLimitWAFAdmin On applies to the
 * location, the browser does not say it came from another site, and the
 * form carries this operator's token (rlw_csrf.h). An accepted ban or
 * unban goes through the store like any other, is logged (RLW00040,
 * RLW00041), emits an event and is counted. A cluster store that made the
 * change here but could not tell the other nodes (APR_INCOMPLETE) is
 * reported to the operator (RLW00047), not taken for a failure.
 */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <util_script.h>

#include "mod_rlw.h"
#include "rlw_subject.h"
#include "rlw_log.h"
#include "mod_rlw_admin.h"
#include "rlw_csrf.h"
#include "rlw_duration.h"
#include "rlw_status.h"

APLOG_USE_MODULE(ratelimit_waf);

/* Largest admin form accepted, in bytes. */
#define RLW_ADMIN_FORM_MAX 4096

/* Key of the admin forms' tokens (rlw_csrf.h): random, made once per
 * httpd start in the process pool, so every child (forked after) and every
 * generation after a graceful restart agrees; a full stop and start makes
 * a new one, and the pages served before it must be reloaded. */
static const unsigned char *csrf_key;
#define CSRF_KEY_NAME "ratelimit_waf csrf key"

/* ---- RateLimitWAFAdmin (the directive: mod_rlw_config.c) ------------- */

int rlw_admin_allowed(request_rec *r)
{
    rlw_dir_conf_t *d =
        ap_get_module_config(r->per_dir_config, &ratelimit_waf_module);

    return d && d->admin > 0;
}

/* ---- form tokens -------------------------------------------------------- */

/* Who the admin forms' tokens are for: the logged-in user, else the
 * client's address (RemoteIPHeader applied). */
static const char *admin_identity(request_rec *r)
{
    if (r->user)
        return apr_pstrcat(r->pool, "user:", r->user, NULL);
    return apr_pstrcat(r->pool, "ip:", r->useragent_ip ? r->useragent_ip : "",
                       NULL);
}

const char *rlw_admin_token(request_rec *r, const char *action)
{
    char *t = apr_palloc(r->pool, RLW_CSRF_TOKEN_LEN + 1);

    if (!csrf_key ||
        rlw_csrf_make(csrf_key, rlw_now_ms(), admin_identity(r), action, t))
        return "";
    return t;
}

/* ---- POST ban / unban -------------------------------------------------- */

/* Answers an admin request: JSON ({"ok":false,"error":...}) when ?json,
 * else plain text. */
static int answer(request_rec *r, int json, int status, const char *msg)
{
    r->status = status;
    if (json) {
        ap_set_content_type(r, "application/json");
        ap_rprintf(r, "{\"ok\":%s,\"%s\":\"%s\"}\n",
                   status < 300 ? "true" : "false",
                   status < 300 ? "message" : "error",
                   rlw_status_json_text(r->pool, msg));
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
            len > RLW_ADMIN_FORM_MAX)
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

/* Parses an admin's client: an address, the network the page shows for
 * a grouped IPv6 client ("2001:db8:1:2::/64" with the server's prefix), or
 * a network of RateLimitWAFNetwork as the page shows it (a prefix shorter
 * than a client's, "198.51.100.0/24"). */
static const char *parse_admin_client(apr_pool_t *p, const char *text,
                                      int v6_prefix, rlw_addr_t *client)
{
    const char *slash = strchr(text, '/');
    rlw_addr_t host;

    memset(&host, 0, sizeof(host));
    memset(client, 0, sizeof(*client));
    /* A request key (RateLimitWAFKey), by its hash as the page shows it. */
    if (!strncmp(text, "key#", 4))
        return rlw_subject_key_parse(text, client) == 0
                   ? NULL
                   : apr_psprintf(p,
                                  "client '%s' is not a key's hash (key#N: "
                                  "and 32 hex digits)",
                                  text);
    if (slash) {
        rlw_addr_t net;
        int width;

        memset(&net, 0, sizeof(net));
        if (rlw_cidr_parse(text, &net))
            net.prefix = 0;
        width = net.family == RLW_AF_INET6 ? v6_prefix : 32;
        if (net.prefix > 0 && net.prefix < width &&
            rlw_subject_net(&net, net.prefix, net.prefix, RLW_SCOPE_ENFORCE,
                            client) == 0)
            return NULL;
        if (net.prefix != width)
            return apr_psprintf(p,
                                "client '%s' is neither an address, a "
                                "client network (/%d for IPv6) nor a "
                                "network of a shorter prefix",
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

/* What one accepted POST is about (the parts every action needs). */
typedef struct admin_req {
    request_rec *r;
    const rlw_srv_conf_t *conf; /* the serving virtual host's */
    int json;                   /* ?json: answer in JSON */
    const char *user;           /* for the log: the user, escaped, or "-" */
    rlw_addr_t client;
    char who[RLW_ADDR_STRLEN]; /* client, formatted */
    int64_t now;
    rlw_event_t ev; /* the ban or unban event, common fields set */
} admin_req_t;

/* A ban or unban made on this node that the store could not tell the
 * other nodes (a cluster store's journal append failed): in force here,
 * while the others go on with what they knew. */
static void log_local_only(const admin_req_t *a, const char *action)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, a->r,
                  "RLW00047: manual %s of client=%s is in force on this node "
                  "only: the store could not tell the other nodes (cluster "
                  "journal append failed) user=%s",
                  action, a->who, a->user);
}

/* Answers a done action: with ?json, 200 and {"ok":true,...} with the
 * action's own fields (fields: empty, or starting with a comma); else a
 * 303 back to the page, which says what was done. local_only: see
 * log_local_only(); the operator is told. */
static int answer_done(const admin_req_t *a, const char *action,
                       const char *fields, int local_only)
{
    request_rec *r = a->r;

    if (a->json) {
        ap_set_content_type(r, "application/json");
        ap_rprintf(r, "{\"ok\":true,\"action\":\"%s\",\"client\":\"%s\"%s%s}\n",
                   action, a->who, fields,
                   local_only ? ",\"local_only\":true,\"warning\":\"in force "
                                "on this node only: the other nodes could not "
                                "be told (cluster journal append failed)\""
                              : "");
        return OK;
    }
    /* Post/redirect/get: reloading the page does not post again. The
     * Location is relative (RFC 7231), so it stays right behind a proxy
     * that terminates TLS or rewrites the host. */
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, ap_escape_uri(r->pool, r->uri),
                               "?done=", action, local_only ? "-local" : "",
                               NULL));
    return HTTP_SEE_OTHER;
}

/* The store refused action ("ban", "unban") with rv: nothing changed. */
static int store_failed(const admin_req_t *a, const char *action,
                        apr_status_t rv)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, a->r,
                  "RLW00044: store %s could not %s client=%s (manual, "
                  "user=%s)",
                  rlw_the_store->name, action, a->who, a->user);
    return answer(
        a->r, a->json, HTTP_INTERNAL_SERVER_ERROR,
        apr_psprintf(a->r->pool, "The store could not record the %s.", action));
}

static int admin_ban(admin_req_t *a, const char *dur_text)
{
    request_rec *r = a->r;
    const rlw_srv_conf_t *c = a->conf;
    char len_txt[32];
    rlw_ban_state_t b;
    apr_status_t rv;
    const char *why;
    const void *prev;
    int64_t ms;

    if (!dur_text || !*dur_text) {
        ms = c->ban_ms;
    } else {
        why = rlw_duration_parse(dur_text, &ms);
        if (!why && (ms <= 0 || ms > RLW_DURATION_MAX_MS))
            why = "must be longer than zero and at most 366d";
        if (why)
            return answer(r, a->json, HTTP_BAD_REQUEST,
                          apr_psprintf(r->pool,
                                       "Bad request: duration "
                                       "'%s': %s (use e.g. 90s, 15m, 8h, "
                                       "1d).",
                                       dur_text, why));
    }
    memset(&b, 0, sizeof(b));
    prev = rlw_log_ctx_set(r); /* the store's lines name this request */
    rv = rlw_the_store->ban(rlw_the_store, &a->client, ms, a->now, &b);
    rlw_log_ctx_set(prev);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
        return store_failed(a, "ban", rv);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "RLW00040: manual ban client=%s ban=%s until=%s "
                  "user=%s",
                  a->who, rlw_duration_format(ms, len_txt, sizeof(len_txt)),
                  rlw_status_iso(r->pool, b.until_ms), a->user);
    if (rv == APR_INCOMPLETE)
        log_local_only(a, "ban");
    a->ev.kind = RLW_EV_BAN;
    a->ev.ban = &b;
    a->ev.ban_ms = ms;
    a->ev.ban_class = "normal";
    rlw_event_emit(&a->ev);
    if (rlw_the_metrics)
        rlw_metrics_add(rlw_the_metrics, RLW_M_BANS, a->now, 1);
    return answer_done(
        a, "ban",
        apr_psprintf(r->pool,
                     ",\"until\":\"%s\",\"until_ms\":%" APR_INT64_T_FMT,
                     rlw_status_iso(r->pool, b.until_ms), b.until_ms),
        rv == APR_INCOMPLETE);
}

static int admin_unban(admin_req_t *a)
{
    request_rec *r = a->r;
    rlw_client_info_t info;
    apr_status_t rv;
    const void *prev;
    int known;

    /* The ban as it ran, for the event (the store keeps it after the
     * unban, but ended). */
    prev = rlw_log_ctx_set(r);
    known = rlw_the_store->get(rlw_the_store, &a->client, a->now, &info) ==
            APR_SUCCESS;
    rv = rlw_the_store->unban(rlw_the_store, &a->client, a->now);
    rlw_log_ctx_set(prev);
    if (rv == APR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "RLW00042: manual unban of client=%s, which is not "
                      "banned (user=%s)",
                      a->who, a->user);
        return answer(
            r, a->json, HTTP_NOT_FOUND,
            apr_psprintf(r->pool, "Client %s is not banned.", a->who));
    }
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
        return store_failed(a, "unban", rv);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "RLW00041: manual unban client=%s user=%s", a->who, a->user);
    if (rv == APR_INCOMPLETE)
        log_local_only(a, "unban");
    a->ev.kind = RLW_EV_UNBAN;
    a->ev.ban = known ? &info.ban : NULL;
    a->ev.decided_by = known && info.node[0] ? info.node : NULL;
    rlw_event_emit(&a->ev);
    if (rlw_the_metrics)
        rlw_metrics_add(rlw_the_metrics, RLW_M_UNBANS, a->now, 1);
    return answer_done(a, "unban", "", rv == APR_INCOMPLETE);
}

int rlw_admin_post(request_rec *r, int admin, int json)
{
    const rlw_srv_conf_t *c =
        ap_get_module_config(r->server->module_config, &ratelimit_waf_module);
    apr_array_header_t *pairs = NULL;
    const char *action, *client_text, *dur_text, *token, *why;
    admin_req_t a;
    int rc;

    memset(&a, 0, sizeof(a));
    a.r = r;
    a.conf = c;
    a.json = json;
    a.user = r->user ? ap_escape_logitem(r->pool, r->user) : "-";
    if (!admin || (why = cross_site(r)) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "RLW00043: status admin request refused (%s) user=%s",
                      admin ? why : "RateLimitWAFAdmin is Off here", a.user);
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
    rc = ap_parse_form_data(r, NULL, &pairs, 8, RLW_ADMIN_FORM_MAX);
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
                      a.user);
        return answer(r, json, HTTP_FORBIDDEN,
                      "Forbidden: the form token is missing, invalid or "
                      "expired; reload the page (scripts: read tokens from "
                      "?json first).");
    }
    if (!client_text || !*client_text)
        return answer(r, json, HTTP_BAD_REQUEST,
                      "Bad request: client is missing (an IPv4 or IPv6 "
                      "address).");
    why =
        parse_admin_client(r->pool, client_text, c->mod->v6_prefix, &a.client);
    if (why)
        return answer(r, json, HTTP_BAD_REQUEST,
                      apr_pstrcat(r->pool, "Bad request: ", why, ".", NULL));
    rlw_addr_format(&a.client, a.who, sizeof(a.who));
    a.now = rlw_now_ms();
    a.ev.client = &a.client;
    a.ev.user = r->user;
    a.ev.reason = "manual";
    a.ev.threshold = (uint32_t)c->threshold;
    a.ev.window_ms = c->mod->window_ms;
    a.ev.decided_by = c->mod->node_name;
    return !strcmp(action, "ban") ? admin_ban(&a, dur_text) : admin_unban(&a);
}

/* Makes the forms' key once per httpd start (see csrf_key). */
static int admin_post_config(apr_pool_t *pconf, apr_pool_t *plog,
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

void rlw_admin_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(admin_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}

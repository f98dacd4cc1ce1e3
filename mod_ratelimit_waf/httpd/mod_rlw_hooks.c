/* mod_rlw_hooks.c - where requests meet the core: ban check, ban answer,
 * attack counting, and the start-up hooks that create the store. Where a
 * request's verdict comes from is the verdict source's business
 * (engine/mod_rlw_verdict.h).
 *
 * Request flow (see docs/architecture.md):
 *   post_read_request  after mod_remoteip, before mod_security2: is the
 *                      client banned? Mark it (env RLW_BANNED=1 turns
 *                      ModSecurity's rule engine off for it, see
 *                      conf/modsecurity-ratelimit-waf-before.conf).
 *   quick_handler      answers a marked request with the ban status on the
 *                      kept-alive connection, before any per-directory
 *                      processing, so mod_security2's phase 2 never runs.
 *   log_transaction    after mod_security2's phase 5 exported the anomaly
 *                      score: ask the server's verdict source whether the
 *                      request was an attack; count it, maybe start a ban.
 * Clean requests cost one address parse and one atomic load while no ban
 * runs on the node, plus one uncontended stripe lock while one does (two
 * with RateLimitWAFNetwork: the client's entry, then its network's; one
 * more per key the request carries). With RateLimitWAFKey, each key also
 * costs its expression and one HMAC-SHA256 on every request.
 */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <apr_shm.h>
#include <ap_mpm.h>
#include <mod_watchdog.h>

#include "mod_rlw.h"
#include "rlw_duration.h"
#include "rlw_log.h"
#include "rlw_subject.h"
#include "rlw_time.h"
#include "rlw_version.h"
#include "mod_rlw_verdict.h"

APLOG_USE_MODULE(ratelimit_waf);

rlw_store_t *rlw_the_store = NULL;
rlw_metrics_t *rlw_the_metrics = NULL;

/* The window of the main server (one table for all), for sweeps. */
static int64_t main_window_ms;
/* The server-wide windows of RateLimitWAFThreshold pairs (the main
 * server's policy): an ended ban's line names the window that banned. */
static rlw_policy_t main_windows;

/* The window of the pair that started ban b (b->pair), else the first. */
static int64_t window_of(const rlw_ban_state_t *b)
{
    if (b->pair >= 1 && b->pair <= rlw_policy_npairs(&main_windows))
        return rlw_policy_pair(&main_windows, b->pair - 1u).window_ms;
    return main_window_ms;
}

/* Routes core log lines to httpd's error log, with the core's file and
 * line: against the request being served when the thread has one (set
 * around the store calls of the request hooks: [client ...], its virtual
 * host's error log), else against the main server (baton: the background
 * task, start-up). */
static void log_to_httpd(void *baton, rlw_log_level_t level,
                         const rlw_log_src_t *src, const char *msg)
{
    const request_rec *r = src->ctx;

    if (r)
        ap_log_rerror_(src->file, src->line, APLOG_MODULE_INDEX, (int)level, 0,
                       r, "%s", msg);
    else
        ap_log_error_(src->file, src->line, APLOG_MODULE_INDEX, (int)level, 0,
                      (server_rec *)baton, "%s", msg);
}

static int any_enabled(server_rec *s)
{
    for (; s; s = s->next) {
        if (rlw_server_conf(s)->enabled > 0)
            return 1;
    }
    return 0;
}

static int rlw_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    const char *err = rlw_resolve_config(pconf, s);

    (void)plog;
    (void)ptemp;
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s,
                     "RLW00001: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* Reports one ban that ended by itself (called by the store's sweep). */
static int report_expiry(void *baton, const rlw_client_info_t *info)
{
    char who[RLW_ADDR_STRLEN], win[32], len[32], until[RLW_TIME_ISO_LEN];
    rlw_event_t ev;

    /* The ban line's fields (RLW00010), so that the two pair up in the
     * error log even without an event log. The store calls this with no
     * lock held, once per ended ban, on the node that decided it. */
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, (server_rec *)baton,
                 "RLW00080: ban ended client=%s count=%u window=%s ban=%s "
                 "strike=%u until=%s reason=expired%s",
                 rlw_addr_format(&info->client, who, sizeof(who)),
                 info->ban.count,
                 rlw_duration_format(window_of(&info->ban), win, sizeof(win)),
                 rlw_duration_format(info->ban.until_ms - info->ban.start_ms,
                                     len, sizeof(len)),
                 info->ban.strikes,
                 rlw_time_iso8601(info->ban.until_ms, 0, until, sizeof(until)),
                 info->client.scope == RLW_SCOPE_DRY_RUN ? " dry_run=1" : "");
    memset(&ev, 0, sizeof(ev));
    ev.kind = RLW_EV_UNBAN;
    ev.client = &info->client;
    ev.ban = &info->ban;
    ev.reason = "expired";
    ev.dry_run = info->client.scope == RLW_SCOPE_DRY_RUN;
    ev.decided_by = info->node;
    ev.window_ms = window_of(&info->ban);
    rlw_event_emit(&ev);
    if (rlw_the_metrics)
        rlw_metrics_add(rlw_the_metrics, RLW_M_UNBANS, rlw_now_ms(), 1);
    return 0;
}

/* The cluster's bans reach this node, and ended bans are reported, through
 * one background task per node: a singleton child watchdog (mod_watchdog
 * runs it in one child at a time, whatever the number of children; parent
 * watchdogs are not available under forking MPMs). What it learns goes to
 * the node's shared memory. */
static apr_status_t sync_task(int state, void *data, apr_pool_t *pool)
{
    int64_t now;

    (void)data;
    (void)pool;
    if (state != AP_WATCHDOG_STATE_RUNNING || !rlw_the_store)
        return APR_SUCCESS;
    now = rlw_now_ms();
    if (rlw_the_store->sync)
        rlw_the_store->sync(rlw_the_store, now);
    rlw_the_store->expired(rlw_the_store, now, main_window_ms, report_expiry,
                           data);
    return APR_SUCCESS;
}

static int start_sync_task(apr_pool_t *pconf, server_rec *s,
                           const rlw_module_conf_t *mod)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) * get_instance;
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) * register_cb;
    ap_watchdog_t *wd;
    apr_interval_time_t every;
    apr_status_t rv;

    get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    register_cb = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!get_instance || !register_cb) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "RLW00008: mod_ratelimit_waf needs mod_watchdog for "
                     "its background task (ban sync and expiry events)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = get_instance(&wd, "ratelimit-waf-sync", 0, 1, pconf);
    if (rv == APR_SUCCESS) {
        /* mod_watchdog wakes up every AP_WD_TM_SLICE (100 ms): round the
         * interval down to it so that a poll is never later than
         * RateLimitWAFSyncInterval. */
        every = (apr_interval_time_t)mod->sync_ms * 1000;
        every -= every % AP_WD_TM_SLICE;
        if (every < AP_WD_TM_SLICE)
            every = AP_WD_TM_SLICE;
        rv = register_cb(wd, every, s, sync_task);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "RLW00009: cannot start the ban sync task");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* The store's own policy, for what it decides with no server at hand (how
 * a full table ranks entries, how long a ban record is kept): the lowest
 * threshold and the longest times of any server, so that no server's
 * near-threshold counts, live strikes or bans are worth less than they are.
 * The window is the main server's (RateLimitWAFWindow is server-wide). */
static void rank_policy(server_rec *s, rlw_policy_t *p)
{
    unsigned i;

    *p = rlw_server_conf(s)->policy;
    for (s = s->next; s; s = s->next) {
        const rlw_policy_t *q = &rlw_server_conf(s)->policy;

        if (rlw_server_conf(s)->enabled <= 0)
            continue;
        if (q->threshold < p->threshold)
            p->threshold = q->threshold;
        /* The windows are server-wide; each pair's lowest count. */
        for (i = 0; i < p->nmore && i < q->nmore; i++)
            if (q->more[i].threshold < p->more[i].threshold)
                p->more[i].threshold = q->more[i].threshold;
        if (q->strike_decay_ms > p->strike_decay_ms)
            p->strike_decay_ms = q->strike_decay_ms;
        if (q->ban_ms > p->ban_ms)
            p->ban_ms = q->ban_ms;
        if (q->ban_max_ms > p->ban_max_ms)
            p->ban_max_ms = q->ban_max_ms;
        if (q->allow_ban_ms > p->allow_ban_ms)
            p->allow_ban_ms = q->allow_ban_ms;
    }
}

static const char *create_store(server_rec *s, const rlw_module_conf_t *mod)
{
    const rlw_store_backend_t *be = rlw_store_backend_find(mod->store_name);
    rlw_store_params_t params;
    int threads = 1;

    if (!be)
        return "unknown store"; /* set_store() refuses it first */
    memset(&params, 0, sizeof(params));
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    params.config = mod->store_config;
    params.capacity = (apr_size_t)mod->table_size;
    rank_policy(s, &params.policy);
    params.node = mod->node_name;
    params.prefix = mod->key_prefix;
    params.keys = mod->keys;
    params.timeout_ms = mod->mc_timeout_ms;
    params.retry_ms = mod->mc_retry_ms;
    params.pool_size = threads > 0 ? threads : 1;
    /* The key NAMEs' order, when some key is counted (a shared store
     * checks that every node reads key subjects alike). */
    if (rlw_the_key_secret && mod->key_names) {
        params.key_names = (const char *const *)mod->key_names->elts;
        params.nkey_names = (unsigned)mod->key_names->nelts;
    }
    params.setup = rlw_the_setup;
    /* The process pool outlives restarts: the table and its bans carry
     * over a graceful restart (the shm store reuses it, or moves them into
     * a table of the new RateLimitWAFTableSize). */
    return be->create(s->process->pool, &params, &rlw_the_store);
}

/* The node's counters live, like the table, in the process pool. */
static const char *create_metrics(server_rec *s)
{
    apr_pool_t *pool = s->process->pool;
    const char *ukey = "rlw_metrics";
    apr_shm_t *shm = NULL;

    apr_pool_userdata_get((void **)&shm, ukey, pool);
    if (!shm) {
        if (apr_shm_create(&shm, sizeof(rlw_metrics_t), NULL, pool) !=
            APR_SUCCESS)
            return "cannot create shared memory for metrics";
        rlw_metrics_init(apr_shm_baseaddr_get(shm), rlw_now_ms());
        apr_pool_userdata_set(shm, ukey, apr_pool_cleanup_null, pool);
    }
    rlw_the_metrics = apr_shm_baseaddr_get(shm);
    return NULL;
}

static int rlw_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    rlw_module_conf_t *mod = rlw_module_conf(s);
    const char *err;

    (void)plog;
    (void)ptemp;
    rlw_log_set(log_to_httpd, s);
    /* httpd's own start-up line ("Apache/2.4... mod_ratelimit_waf/0.9.0
     * configured", notice level, logged under Debian's LogLevel warn too)
     * then names the module's version; the Server header shows it only
     * with ServerTokens Full. */
    ap_add_version_component(pconf, "mod_ratelimit_waf/" RLW_VERSION);
    rlw_the_store = NULL;
    rlw_the_metrics = NULL;
    rlw_the_setup = NULL;
    main_window_ms = mod->window_ms;
    main_windows = rlw_server_conf(s)->policy;
    if (!any_enabled(s))
        return OK;
    if ((err = create_metrics(s)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "RLW00012: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (rlw_setup_post_config(s) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (rlw_events_open(pconf, s) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (rlw_keys_post_config(pconf, s) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    err = create_store(s, mod);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "RLW00002: RateLimitWAFStore %s: %s", mod->store_name,
                     err);
        rlw_the_store = NULL;
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (start_sync_task(pconf, s, mod) != OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    {
        rlw_store_stats_t st;

        rlw_the_store->stats(rlw_the_store, &st);
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "RLW00003: store %s ready for %lu clients (%lu held), "
                     "window %" APR_INT64_T_FMT
                     " ms; mod_ratelimit_waf " RLW_VERSION,
                     rlw_the_store->name, (unsigned long)st.capacity,
                     (unsigned long)st.tracked, mod->window_ms);
    }
    return OK;
}

static void rlw_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!rlw_the_store)
        return;
    rlw_events_child_init(pchild, s);
    rv = rlw_the_store->child_init(rlw_the_store, pchild);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "RLW00004: store %s: child init failed; this child "
                     "counts and bans in its node's shared memory only",
                     rlw_the_store->name);
}

rlw_req_t *rlw_req_state(request_rec *r, int create)
{
    rlw_req_t *rq =
        ap_get_module_config(r->request_config, &ratelimit_waf_module);

    if (!rq && create) {
        rq = apr_pcalloc(r->pool, sizeof(*rq));
        ap_set_module_config(r->request_config, &ratelimit_waf_module, rq);
    }
    return rq;
}

/* Parses the client's address into rq, and its network (when the server
 * counts networks); 0 on success. A virtual host in
 * dry run counts and bans the client under its dry-run scope: its
 * decisions are reported, and never enforced by the hosts that are not in
 * dry run, which look the client up under the enforcing scope. */
static int parse_client(request_rec *r, const rlw_srv_conf_t *c, rlw_req_t *rq)
{
    apr_sockaddr_t *sa = r->useragent_addr;

    if (rq->have_client)
        return 0;
    /* mod_remoteip (or the connection) already parsed the address: take
     * its bytes rather than parse the text again on every request. */
    if (sa && sa->family == APR_INET &&
        rlw_addr_from_bytes(RLW_AF_INET, &sa->sa.sin.sin_addr, &rq->host) == 0)
        goto parsed;
#if APR_HAVE_IPV6
    if (sa && sa->family == APR_INET6 &&
        rlw_addr_from_bytes(RLW_AF_INET6, &sa->sa.sin6.sin6_addr, &rq->host) ==
            0)
        goto parsed;
#endif
    if (!r->useragent_ip || rlw_addr_parse(r->useragent_ip, &rq->host) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "RLW00005: client address '%s' does not parse; "
                      "not rate limited",
                      r->useragent_ip ? r->useragent_ip : "(none)");
        return -1;
    }
parsed:
    rlw_addr_client(&rq->host, (unsigned)c->mod->v6_prefix, &rq->client);
    rq->client.scope = c->dry_run > 0 ? RLW_SCOPE_DRY_RUN : RLW_SCOPE_ENFORCE;
    rq->have_client = 1;
    /* Its network, when networks of its family are counted here. */
    rq->have_net =
        c->net_threshold > 0 &&
        rlw_subject_net(&rq->host, (unsigned)c->net_v4, (unsigned)c->net_v6,
                        rq->client.scope, &rq->net) == 0;
    return 0;
}

/* 1 when subject (the client's network, or a key the request carries) is
 * banned at now for this client: always for a normal one, only in the
 * first RateLimitWAFAllowBanTime of the subject's ban for an allowlisted
 * one (a shared proxy inside a banned network, or relaying a banned key,
 * gets its short ban, never the subject's). Exempt clients are let
 * through by the caller. Shared memory only, like the client's. */
static int subject_banned(const rlw_srv_conf_t *c, const rlw_req_t *rq,
                          const rlw_addr_t *subject, int64_t now)
{
    rlw_client_info_t info;
    int64_t until = 0;

    if (!rlw_the_store->banned(rlw_the_store, subject, now, &until))
        return 0;
    if (rlw_classify(c, &rq->host) != RLW_CLASS_ALLOW)
        return 1;
    if (rlw_the_store->get(rlw_the_store, subject, now, &info) != APR_SUCCESS)
        return 1;
    return now < info.ban.start_ms + c->policy.allow_ban_ms;
}

/* 1 when a network holding the client is banned at a prefix length other
 * than the one counted here (rq->net): an operator's ban of a /16 where
 * /24 networks are counted, or on a server that counts none. The store
 * names the lengths at which a network ban may run; with none (the usual
 * case) this is one atomic load per word. */
static int other_nets_banned(const rlw_srv_conf_t *c, const rlw_req_t *rq,
                             int64_t now)
{
    uint64_t lens[RLW_NET_LEN_WORDS];
    rlw_addr_t net;
    unsigned n, max;

    if (!rlw_the_store->net_lengths)
        return 0;
    rlw_the_store->net_lengths(rlw_the_store, rq->host.family, lens);
    if (!(lens[0] | lens[1] | lens[2]))
        return 0;
    max = rq->host.family == RLW_AF_INET ? 32 : 128;
    for (n = 1; n <= max; n++) {
        if (!(lens[n / 64] >> (n % 64) & 1) ||
            (rq->have_net && n == rq->net.prefix))
            continue;
        if (rlw_subject_net(&rq->host, n, n, rq->client.scope, &net) == 0 &&
            subject_banned(c, rq, &net, now))
            return 1;
    }
    return 0;
}

/* 1 when a network holding the client or one of the request's keys is
 * banned for this client (subject_banned()). */
static int others_banned(const rlw_srv_conf_t *c, const rlw_req_t *rq,
                         int64_t now)
{
    int i;

    if (rq->have_net && subject_banned(c, rq, &rq->net, now))
        return 1;
    for (i = 0; i < rq->nkeys; i++)
        if (subject_banned(c, rq, &rq->keys[i], now))
            return 1;
    return other_nets_banned(c, rq, now);
}

static int rlw_post_read_request(request_rec *r)
{
    rlw_srv_conf_t *c = rlw_server_conf(r->server);
    rlw_req_t *rq;
    int64_t until = 0, now;
    const void *prev;
    int banned;

    if (c->enabled <= 0 || !rlw_the_store || r->prev || r->main)
        return DECLINED;
    rq = rlw_req_state(r, 1);
    if (parse_client(r, c, rq) != 0)
        return DECLINED;
    now = rlw_now_ms();
    /* Request keys, only where configured and only while a key ban may
     * run (one atomic load): each costs its expression and one HMAC, then
     * one shared-memory lookup like the client's. An attack computes them
     * anyway when it is counted. */
    if (c->keys && (!rlw_the_store->may_ban ||
                    rlw_the_store->may_ban(rlw_the_store, RLW_KIND_KEY, now)))
        rlw_req_keys(r, c, rq);
    prev = rlw_log_ctx_set(r);
    banned = rlw_the_store->banned(rlw_the_store, &rq->client, now, &until) ||
             others_banned(c, rq, now);
    rlw_log_ctx_set(prev);
    if (!banned)
        return DECLINED;
    /* Exempt networks are never banned, even if another virtual host with
     * a different list banned the same client. */
    if (rlw_classify(c, &rq->host) == RLW_CLASS_EXEMPT)
        return DECLINED;
    if (c->dry_run > 0) {
        /* Tuning mode: a ban of the dry-run scope; count what would have
         * been rejected, serve it. */
        rlw_metrics_add(rlw_the_metrics, RLW_M_DRY_RUN, now, 1);
        return DECLINED;
    }
    rlw_metrics_add(rlw_the_metrics, RLW_M_REJECTED, now, 1);
    rq->banned = 1;
    /* mod_security2 runs its phase 1 right after this hook: this variable
     * turns its rule engine off for the request. */
    apr_table_setn(r->subprocess_env, "RLW_BANNED", "1");
    if (c->ban_action == RLW_ACTION_CLOSE) {
        /* An error from post_read_request makes httpd answer and close the
         * connection: cheaper per request, dearer per TLS handshake. */
        r->connection->keepalive = AP_CONN_CLOSE;
        return c->ban_status;
    }
    return DECLINED;
}

static int rlw_quick_handler(request_rec *r, int lookup_uri)
{
    rlw_req_t *rq;
    rlw_srv_conf_t *c;
    const char *line;

    if (lookup_uri)
        return DECLINED;
    rq = rlw_req_state(r, 0);
    if (!rq || !rq->banned)
        return DECLINED;
    c = rlw_server_conf(r->server);
    /* Answer here rather than through ap_die(): no ErrorDocument lookup,
     * no per-directory walk, and the connection stays open. */
    r->status = c->ban_status;
    line = ap_get_status_line(c->ban_status);
    ap_set_content_type(r, "text/plain");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, (apr_off_t)strlen(line) + 1);
    if (!r->header_only) {
        ap_rputs(line, r);
        ap_rputs("\n", r);
    }
    return OK;
}

int rlw_reported_pair(const rlw_policy_t *p, rlw_class_t cls,
                      const rlw_attack_t *a, rlw_limit_t *l, uint32_t *count)
{
    int near;

    *count = a->count;
    if (a->verdict.kind == RLW_VERDICT_BAN ||
        a->verdict.kind == RLW_VERDICT_EXEMPT_CROSSED) {
        *l = rlw_policy_pair(p, a->verdict.pair);
        return 1;
    }
    near = rlw_near_pair(p, cls, &a->verdict, a->counts);
    *l = rlw_policy_pair(p, near > 0 ? (unsigned)near : 0);
    if (near > 0)
        *count = a->counts[near];
    return near >= 0;
}

/* Logs and reports what one counted attack led to. */
static void report_attack(request_rec *r, const rlw_srv_conf_t *c,
                          rlw_class_t cls, const rlw_attack_t *a)
{
    char who[RLW_ADDR_STRLEN], win[32], len[32], until[RLW_TIME_ISO_LEN];
    rlw_req_t *rq = rlw_req_state(r, 0);
    rlw_event_t ev;
    rlw_limit_t l;
    uint32_t count;
    int near = rlw_reported_pair(&c->policy, cls, a, &l, &count);

    rlw_attack_event_init(&ev, r, c, &rq->client,
                          cls == RLW_CLASS_ALLOW    ? "allow"
                          : cls == RLW_CLASS_EXEMPT ? "exempt"
                                                    : "normal",
                          a, &l, count);
    rlw_addr_format(&rq->client, who, sizeof(who));
    rlw_duration_format(l.window_ms, win, sizeof(win));

    switch (a->verdict.kind) {
    case RLW_VERDICT_BAN:
        rlw_time_iso8601(a->ban.until_ms, 0, until, sizeof(until));
        /* window and threshold: the pair whose count banned. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00010: ban client=%s count=%u window=%s ban=%s "
                      "strike=%u until=%s class=%s threshold=%u%s",
                      who, a->count, win,
                      rlw_duration_format(a->verdict.ban_ms, len, sizeof(len)),
                      a->verdict.strike, until, ev.ban_class, l.threshold,
                      c->dry_run ? " dry_run=1" : "");
        rlw_attack_event_emit(&ev, RLW_EV_BAN, c, a);
        return;
    case RLW_VERDICT_EXEMPT_CROSSED:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00011: exempt client=%s crossed threshold count=%u "
                      "window=%s (not banned: RateLimitWAFExempt)",
                      who, a->count, win);
        rlw_attack_event_emit(&ev, RLW_EV_EXEMPT_THRESHOLD, c, a);
        return;
    default:
        break;
    }
    /* Once per window and client, at 80% of the threshold of each pair
     * (the rule is rlw_near_pair()'s). */
    if (near) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "RLW00013: near threshold client=%s count=%u of %u "
                      "window=%s",
                      who, count, l.threshold, win);
        rlw_attack_event_emit(&ev, RLW_EV_NEAR_THRESHOLD, c, a);
    }
}

/* Logs and reports what one attack counted for the client's network led
 * to: a ban of the network (every address in it), or the near-threshold
 * mark. */
static void report_net_attack(request_rec *r, const rlw_srv_conf_t *c,
                              const rlw_attack_t *a)
{
    char net[RLW_ADDR_STRLEN], who[RLW_ADDR_STRLEN], win[32], len[32];
    char until[RLW_TIME_ISO_LEN];
    rlw_req_t *rq = rlw_req_state(r, 0);
    rlw_event_t ev;
    rlw_limit_t l;
    uint32_t count;
    int near =
        rlw_reported_pair(&c->net_policy, RLW_CLASS_NORMAL, a, &l, &count);

    rlw_attack_event_init(&ev, r, c, &rq->net, "normal", a, &l, count);
    rlw_addr_format(&rq->net, net, sizeof(net));
    rlw_addr_format(&rq->client, who, sizeof(who));
    rlw_duration_format(l.window_ms, win, sizeof(win));
    if (a->verdict.kind == RLW_VERDICT_BAN) {
        rlw_time_iso8601(a->ban.until_ms, 0, until, sizeof(until));
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00053: ban network=%s count=%u window=%s ban=%s "
                      "strike=%u until=%s last_client=%s threshold=%u%s",
                      net, a->count, win,
                      rlw_duration_format(a->verdict.ban_ms, len, sizeof(len)),
                      a->verdict.strike, until, who, l.threshold,
                      c->dry_run ? " dry_run=1" : "");
        rlw_attack_event_emit(&ev, RLW_EV_BAN, c, a);
        return;
    }
    if (near) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "RLW00054: near threshold network=%s count=%u of %u "
                      "window=%s last_client=%s",
                      net, count, l.threshold, win, who);
        rlw_attack_event_emit(&ev, RLW_EV_NEAR_THRESHOLD, c, a);
    }
}

static int rlw_log_transaction(request_rec *r)
{
    rlw_srv_conf_t *c = rlw_server_conf(r->server);
    rlw_req_t *rq;
    rlw_attack_t a[RLW_COUNT_MAX_SUBJECTS];
    rlw_count_t what[RLW_COUNT_MAX_SUBJECTS];
    rlw_class_t cls;
    rlw_hit_t hit;
    apr_status_t rv[RLW_COUNT_MAX_SUBJECTS];
    int64_t now;
    const void *prev;
    int n, i, net_at = -1, key_at = 0;

    if (c->enabled <= 0 || !rlw_the_store)
        return DECLINED;
    rq = rlw_req_state(r, 1);
    if (rq->banned)
        return DECLINED; /* our own answer is never an attack */
    rlw_verdict_read(r, c, &rq->waf);
    if (!rq->waf.is_attack)
        return DECLINED;
    if (parse_client(r, c, rq) != 0)
        return DECLINED;
    cls = rlw_classify(c, &rq->host);
    rlw_setup_attack(r, rq, cls);
    hit.rules = rq->waf.rules;
    hit.nrules = rq->waf.nrules;
    /* The client, its network and the request's keys: the attacks of
     * every client of a network, and of every request carrying one key
     * value, add up, whatever each client's own count. An exempt client's
     * attacks never count against its network or keys. All at once: with
     * the memcached store, in one round of requests. */
    if (c->keys)
        rlw_req_keys(r, c, rq);
    what[0] = (rlw_count_t){&rq->client, cls, &c->policy};
    n = 1;
    if (cls != RLW_CLASS_EXEMPT) {
        if (rq->have_net) {
            net_at = n;
            what[n++] =
                (rlw_count_t){&rq->net, RLW_CLASS_NORMAL, &c->net_policy};
        }
        key_at = n;
        for (i = 0; i < rq->nkeys && n < RLW_COUNT_MAX_SUBJECTS; i++)
            what[n++] = (rlw_count_t){&rq->keys[i], RLW_CLASS_NORMAL,
                                      &rq->keyconf[i]->policy};
    }
    now = rlw_now_ms();
    prev = rlw_log_ctx_set(r);
    rlw_store_count(rlw_the_store, n, what, &hit, now, a, rv);
    rlw_log_ctx_set(prev);
    if (rv[0] != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv[0], r,
                      "RLW00007: store %s could not count an attack",
                      rlw_the_store->name);
    } else {
        if (a[0].verdict.kind != RLW_VERDICT_ALREADY_BANNED)
            rlw_metrics_add(rlw_the_metrics, RLW_M_ATTACKS, now, 1);
        report_attack(r, c, cls, &a[0]);
    }
    if (net_at > 0) {
        if (rv[net_at] != APR_SUCCESS)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv[net_at], r,
                          "RLW00055: store %s could not count an attack for "
                          "the client's network",
                          rlw_the_store->name);
        else
            report_net_attack(r, c, &a[net_at]);
    }
    for (i = key_at; key_at > 0 && i < n; i++) {
        if (rv[i] != APR_SUCCESS)
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv[i], r,
                          "RLW00058: store %s could not count an attack for "
                          "the request's key %s",
                          rlw_the_store->name, rq->keyconf[i - key_at]->name);
        else
            rlw_report_key_attack(r, c, rq, i - key_at, &a[i]);
    }
    return DECLINED;
}

void rlw_register_hooks(apr_pool_t *p)
{
    /* Identity first (mod_remoteip rewrites useragent_ip in its own
     * post_read_request), then us, then mod_security2's phase 1, which
     * must see RLW_BANNED. REALLY_FIRST alone is not enough: mod_security2
     * registers there too, so the order is stated explicitly. */
    static const char *const before_read[] = {"mod_remoteip.c", NULL};
    static const char *const after_read[] = {"mod_security2.c", NULL};

    ap_hook_check_config(rlw_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(rlw_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(rlw_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(rlw_post_read_request, before_read, after_read,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_quick_handler(rlw_quick_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* The verdict is read after the log_transaction of whatever modules
     * the sources name (mod_security2 exports its score there). */
    ap_hook_log_transaction(rlw_log_transaction, rlw_verdict_log_after(p), NULL,
                            APR_HOOK_MIDDLE);
    rlw_verdict_register_hooks(p);
}

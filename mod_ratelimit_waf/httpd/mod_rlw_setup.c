/* mod_rlw_setup.c - the set-up checks: the traps of a first run that would
 * otherwise fail silently (core/rlw_setup.h), told in the error log and on
 * the status page.
 *
 *   at start-up      mod_remoteip not loaded, or no RemoteIPHeader (nor
 *                    RemoteIPProxyProtocol) anywhere in the configuration:
 *                    a notice (RLW00078) saying what to do behind a proxy.
 *   counted attacks  while no RemoteIPHeader is set: one from a private
 *                    or loopback address (proxy_address), one address
 *                    carrying most attacks with many User-Agents
 *                    (shared_address).
 *   verdict sources  mod_security2's messages without a score, or about a
 *                    banned client (engine/mod_rlw_modsec2.c):
 *                    not_counting, bans_inspected.
 *   the store        the memcached store's background task, comparing
 *                    the nodes' RateLimitWAFKey order
 *                    (store/rlw_mc_keyorder.c): key_order, declared, told
 *                    and ended there (the store gets rlw_the_setup).
 * Evidence goes to shared memory (every child sees it, the status page
 * shows it); each problem's warning is logged at most once per
 * RLW_SETUP_WARN_EVERY_MS per node, with no lock held.
 */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>
#include <util_cfgtree.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "mod_rlw.h"
#include "rlw_setup.h"
#include "rlw_time.h"

APLOG_USE_MODULE(ratelimit_waf);

rlw_setup_t *rlw_the_setup = NULL;

/* Some RemoteIPHeader or RemoteIPProxyProtocol is configured (and
 * mod_remoteip loaded): client addresses may come from a proxy's header.
 * Set in the parent at post_config, inherited by the children. */
static int remoteip_set;

/* 1 when the tree holds a directive that makes mod_remoteip replace the
 * client address (sections are walked; <IfModule> and <IfDefine> left out
 * at reading are not in the tree). */
static int find_remoteip(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "RemoteIPHeader") ||
            !strcasecmp(d->directive, "RemoteIPProxyProtocol"))
            return 1;
        if (d->first_child && find_remoteip(d->first_child))
            return 1;
    }
    return 0;
}

/* The evidence lives, like the counters, in the process pool (it outlives
 * restarts), and is cleared at every configuration load: the restart may
 * have fixed what it reports. */
static const char *create_setup(server_rec *s)
{
    apr_pool_t *pool = s->process->pool;
    const char *ukey = "rlw_setup";
    apr_shm_t *shm = NULL;

    apr_pool_userdata_get((void **)&shm, ukey, pool);
    if (!shm) {
        if (apr_shm_create(&shm, sizeof(rlw_setup_t), NULL, pool) !=
            APR_SUCCESS)
            return "cannot create shared memory for the set-up checks";
        apr_pool_userdata_set(shm, ukey, apr_pool_cleanup_null, pool);
    }
    rlw_the_setup = apr_shm_baseaddr_get(shm);
    rlw_setup_init(rlw_the_setup);
    return NULL;
}

int rlw_setup_post_config(server_rec *s)
{
    const char *err;

    rlw_the_setup = NULL;
    if ((err = create_setup(s)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "RLW00081: %s", err);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    remoteip_set =
        ap_find_linked_module("mod_remoteip.c") && find_remoteip(ap_conftree);
    /* Once per start: not in the first of httpd's two start-up passes. */
    if (!remoteip_set &&
        ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG)
        /* A notice: httpd logs every notice whatever LogLevel says. */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "RLW00078: %s: clients are counted by the address "
                     "of the connection. Behind a proxy, load balancer or "
                     "CDN every attack then counts against the proxy and "
                     "one ban answers the whole site: run a2enmod remoteip "
                     "and set RemoteIPHeader X-Forwarded-For and "
                     "RemoteIPInternalProxy (or RemoteIPTrustedProxy) to "
                     "the proxy's address, then apache2ctl graceful. "
                     "Without a proxy in front, nothing to do",
                     ap_find_linked_module("mod_remoteip.c")
                         ? "no RemoteIPHeader is set"
                         : "mod_remoteip is not loaded");
    return OK;
}

void rlw_setup_report(request_rec *r, rlw_setup_kind_t k)
{
    int64_t now = rlw_now_ms();
    const rlw_srv_conf_t *c;

    if (!rlw_the_setup || !rlw_setup_note(rlw_the_setup, k, now) ||
        !rlw_setup_should_warn(rlw_the_setup, k, now, RLW_SETUP_WARN_EVERY_MS))
        return;
    c = rlw_server_conf(r->server);
    /* One tag per problem; the fix names the file and where it goes. */
    switch (k) {
    case RLW_SETUP_NOT_COUNTING:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00076: not counting: ModSecurity matched rules on "
                      "%" APR_UINT64_T_FMT " requests, but none exported an "
                      "anomaly score in %s (modsecurity-ratelimit-waf.conf, "
                      "or ratelimit-waf-after.conf of the CRS 4 plugin, "
                      "missing). %s",
                      rlw_the_setup->seen[k].evidence, c->score_var,
                      rlw_setup_fix(k));
        break;
    case RLW_SETUP_BANS_INSPECTED:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00077: bans still inspected: ModSecurity matched "
                      "rules on a request this module answered with its ban "
                      "(modsecurity-ratelimit-waf-before.conf, or "
                      "ratelimit-waf-before.conf of the CRS 4 plugin, "
                      "missing). %s",
                      rlw_setup_fix(k));
        break;
    case RLW_SETUP_SHARED_ADDRESS:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00082: one address, many clients: %s carries most "
                      "of the attacks counted, with %d different User-Agents "
                      "or more, and no RemoteIPHeader is set. %s",
                      r->useragent_ip ? r->useragent_ip : "-",
                      __builtin_popcountll(__atomic_load_n(
                          &rlw_the_setup->heavy.agents, __ATOMIC_RELAXED)),
                      rlw_setup_fix(k));
        break;
    case RLW_SETUP_PROXY_ADDRESS:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00079: attack counted against the private address "
                      "%s, and no RemoteIPHeader is set. %s",
                      r->useragent_ip ? r->useragent_ip : "-",
                      rlw_setup_fix(k));
        break;
    default:
        break;
    }
}

void rlw_setup_attack(request_rec *r, const rlw_req_t *rq, rlw_class_t cls)
{
    /* Only without RemoteIPHeader; an exempt proxy is never banned
     * (counting it is useless, not dangerous), and an address in
     * RateLimitWAFAllow is already known to be shared. */
    if (remoteip_set || cls == RLW_CLASS_EXEMPT)
        return;
    if (rlw_setup_private_addr(&rq->host))
        rlw_setup_report(r, RLW_SETUP_PROXY_ADDRESS);
    if (cls != RLW_CLASS_ALLOW &&
        rlw_setup_agent(rlw_the_setup, &rq->host,
                        apr_table_get(r->headers_in, "User-Agent")))
        rlw_setup_report(r, RLW_SETUP_SHARED_ADDRESS);
}

/* mod_rlw_modsec2.c - the mod_security2 verdict source (the default).
 *
 * mod_security2 runs in the same httpd and tells this module two things:
 *   the anomaly score  a phase-5 rule exports it into the environment
 *                      variable RateLimitWAFScoreVar
 *                      (conf/modsecurity-ratelimit-waf.conf); read at
 *                      log_transaction, after mod_security2's own.
 *   the rule ids       each matched rule is one error-log message of
 *                      mod_security2's; an error_log hook collects the ids
 *                      of the messages about requests this module follows
 *                      (parsed by rlw_modsec.c, attacker text and all).
 * A banned client's request leaves nothing to read: the ban check marks it
 * RLW_BANNED=1, which turns mod_security2's rule engine off for it
 * (conf/modsecurity-ratelimit-waf-before.conf), and the glue never asks
 * for its verdict.
 *
 * Both snippets can be forgotten, and nothing would fail loudly (the
 * set-up checks, httpd/mod_rlw_setup.c): rule messages about a request
 * that exported no score mean the score snippet is missing (not_counting);
 * rule messages about a banned client's request mean the rule engine was
 * not switched off for it (bans_inspected). Both are read from what this
 * source already gathers; a clean request pays one flag check.
 */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <apr_tables.h>

#include "mod_rlw_verdict.h"
#include "rlw_modsec.h"

APLOG_USE_MODULE(ratelimit_waf);

extern const rlw_verdict_source_t rlw_verdict_modsec2;

/* mod_security2's module index, to pick its messages in the error_log
 * hook (-1 when it is not loaded). */
static int modsec_index = -1;

static int modsec2_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    module *modsec = ap_find_linked_module("mod_security2.c");

    (void)pconf;
    (void)plog;
    (void)ptemp;
    (void)s;
    modsec_index = modsec ? modsec->module_index : -1;
    return OK;
}

/* Collects the rule ids of mod_security2's messages about our requests, for
 * the ban event's rule.id. Cheap for every other log line: two compares. */
static void modsec2_error_log(const ap_errorlog_info *info, const char *errstr)
{
    request_rec *r = (request_rec *)info->r;
    const rlw_srv_conf_t *c;
    rlw_waf_verdict_t *v;

    if (!r || modsec_index < 0 || info->module_index != modsec_index || !errstr)
        return;
    c = ap_get_module_config(r->server->module_config, &ratelimit_waf_module);
    if (rlw_verdict_source_of(c) != &rlw_verdict_modsec2)
        return;
    v = rlw_verdict_gathering(r);
    if (!v)
        return;
    /* A rule's message (mod_security2's own notes have no [id]). Only
     * counted here: logging from inside the error_log hook is avoided, the
     * set-up checks run at log_transaction. */
    if (strstr(errstr, " [id \""))
        v->nmessages++;
    rlw_modsec_rule_ids(errstr, v->rules, &v->nrules, RLW_WAF_RULES_MAX);
}

/* The highest anomaly score exported on any request of the chain (an
 * internal redirect moves ModSecurity's variables to r->next). Returns -1
 * when none is set. */
static long find_score(request_rec *r, const char *var)
{
    long best = -1;

    for (; r; r = r->next) {
        const char *v = apr_table_get(r->subprocess_env, var);
        long n;

        switch (rlw_modsec_score(v, &n)) {
        case 1:
            if (n > best)
                best = n;
            break;
        case -1:
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "RLW00006: %s='%.32s' is not an anomaly score; "
                          "request not counted",
                          var, v);
            break;
        default:
            break; /* not exported on this request of the chain */
        }
    }
    return best;
}

static void modsec2_read(request_rec *r, const rlw_srv_conf_t *c,
                         rlw_waf_verdict_t *v)
{
    v->score = find_score(r, c->score_var);
    v->is_attack = v->score >= c->attack_score;
    if (v->score >= 0)
        rlw_setup_scored(rlw_the_setup);
    else if (v->nmessages)
        rlw_setup_report(r, RLW_SETUP_NOT_COUNTING);
}

/* After mod_security2's phase 5: a banned client's request that still
 * carries rule messages was inspected (the module's own log_transaction
 * leaves banned requests alone). */
static int modsec2_log_banned(request_rec *r)
{
    const rlw_req_t *rq;

    if (r->prev || r->main)
        return DECLINED;
    rq = ap_get_module_config(r->request_config, &ratelimit_waf_module);
    if (rq && rq->banned && rq->waf.nmessages &&
        rlw_verdict_source_of(rlw_server_conf(r->server)) ==
            &rlw_verdict_modsec2)
        rlw_setup_report(r, RLW_SETUP_BANS_INSPECTED);
    return DECLINED;
}

/* mod_security2 exports the score in its phase 5, in log_transaction. */
static const char *const modsec2_log_after[] = {"mod_security2.c", NULL};

static void modsec2_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(modsec2_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_error_log(modsec2_error_log, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_log_transaction(modsec2_log_banned, modsec2_log_after, NULL,
                            APR_HOOK_MIDDLE);
}

const rlw_verdict_source_t rlw_verdict_modsec2 = {
    "modsecurity2",
    modsec2_log_after,
    modsec2_register_hooks,
    modsec2_read,
};

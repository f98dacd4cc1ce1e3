/* mod_rlw_resolve.c - the configuration once it is read: the defaults of
 * what no directive set, the secret file's keys, the server-wide windows of
 * RateLimitWAFThreshold and every server's policies checked against them
 * (rlw_resolve_config(), called at post_config). Any inconsistency between
 * directives is refused here with a sentence naming them and the server,
 * so `httpd -t` reports it; the directives themselves: mod_rlw_config.c.
 */
#include <string.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <unixd.h>
#include <apr_strings.h>
#include <apr_network_io.h>

#include "mod_rlw.h"
#include "rlw_duration.h"
#include "rlw_crypto.h"

/* Sets what is still RLW_UNSET in conf to its default. */
#define DEFAULT(conf, f, v)                                                    \
    do {                                                                       \
        if ((conf)->f == RLW_UNSET)                                            \
            (conf)->f = (v);                                                   \
    } while (0)

static apr_status_t wipe_keys(void *k)
{
    rlw_keys_wipe(k);
    return APR_SUCCESS;
}

/* Besides root, who may own the secret file: the user the children run
 * as (User), when httpd starts as root; else the user httpd runs as. */
static uid_t secret_owner(void)
{
    return geteuid() == 0 ? ap_unixd_config.user_id : geteuid();
}

/* The module-wide settings' defaults, and the keys of the secret file. */
static const char *resolve_module_conf(apr_pool_t *p, rlw_module_conf_t *mod)
{
    char err[512];

    DEFAULT(mod, window_ms, RLW_DEF_WINDOW_MS);
    DEFAULT(mod, v6_prefix, RLW_DEF_V6_PREFIX);
    DEFAULT(mod, table_size, RLW_DEF_TABLE_SIZE);
    DEFAULT(mod, sync_ms, RLW_DEF_SYNC_MS);
    DEFAULT(mod, event_queue, RLW_DEF_EVENT_QUEUE);
    DEFAULT(mod, mc_timeout_ms, RLW_DEF_MC_TIMEOUT_MS);
    DEFAULT(mod, mc_retry_ms, RLW_DEF_MC_RETRY_MS);
    if (!mod->store_name)
        mod->store_name = RLW_DEF_STORE;
    if (!mod->key_prefix)
        mod->key_prefix = RLW_DEF_KEY_PREFIX;
    if (!mod->node_name) {
        char host[APRMAXHOSTLEN + 1];
        mod->node_name = apr_gethostname(host, sizeof(host), p) == APR_SUCCESS
                             ? apr_pstrndup(p, host, RLW_NODE_NAME_MAX)
                             : "unknown";
    }
    /* The secret also keys the hashes of request key values
     * (RateLimitWAFKey), with any store: read it whenever it is set. */
    if (!mod->secret_file && !mod->store_config)
        return NULL;
    if (!mod->secret_file)
        return "RateLimitWAFStore memcached needs RateLimitWAFSecretFile "
               "(memcached never sees a client address in clear)";
    mod->keys = apr_pcalloc(p, sizeof(*mod->keys));
    if (rlw_secret_load(mod->secret_file, secret_owner(), mod->keys, err,
                        sizeof(err)))
        return apr_psprintf(p, "RateLimitWAFSecretFile: %s", err);
    /* Wipe the keys with the configuration they belong to. */
    apr_pool_cleanup_register(p, mod->keys, wipe_keys, apr_pool_cleanup_null);
    return NULL;
}

/* The server-wide windows: the main server's RateLimitWAFThreshold pairs
 * when they give windows (then RateLimitWAFWindow is refused: one of the
 * two says what the window is), else RateLimitWAFWindow. Before the
 * defaults: an unset RateLimitWAFWindow is told apart from a set one. */
static const char *resolve_windows(apr_pool_t *p, server_rec *main_server)
{
    rlw_module_conf_t *mod = rlw_module_conf(main_server);
    const rlw_pairs_t *w = rlw_server_conf(main_server)->thr_pairs;
    char a[64], b[32];

    mod->windows = NULL;
    if (!w || !w->window_ms[0])
        return NULL;
    if (mod->window_ms != RLW_UNSET)
        return apr_psprintf(
            p,
            "RateLimitWAFWindow %s: the main server's RateLimitWAFThreshold "
            "gives its windows (%s); remove RateLimitWAFWindow",
            rlw_duration_format(mod->window_ms, b, sizeof(b)),
            rlw_pairs_windows(w, a, sizeof(a)));
    mod->window_ms = w->window_ms[0];
    mod->windows = w;
    return NULL;
}

/* Makes p's pairs from what a server wrote (pairs, or a bare count) for
 * the server-wide windows; NULL or the error naming directive. */
static const char *resolve_pairs(apr_pool_t *p, const rlw_module_conf_t *mod,
                                 server_rec *s, const char *directive,
                                 const rlw_pairs_t *pairs, apr_int64_t count,
                                 rlw_policy_t *pol)
{
    rlw_pairs_t bare;
    char a[64], b[64];

    if (!pairs) {
        memset(&bare, 0, sizeof(bare));
        bare.n = 1;
        bare.count[0] = (uint32_t)count;
        pairs = &bare;
    }
    if (rlw_pairs_policy(pairs, mod->windows, mod->window_ms,
                         (uint32_t)RLW_MAX_THRESHOLD, pol) == 0)
        return NULL;
    if (!mod->windows)
        rlw_duration_format(mod->window_ms, b, sizeof(b));
    return apr_psprintf(
        p,
        "%s: the windows of '%s' are not the server-wide ones (%s): set "
        "them once in the main server's RateLimitWAFThreshold, give the "
        "same windows or one bare COUNT here (server %s:%u)",
        directive, rlw_pairs_windows(pairs, a, sizeof(a)),
        mod->windows ? rlw_pairs_windows(mod->windows, b, sizeof(b)) : b,
        s->server_hostname ? s->server_hostname : "?", (unsigned)s->port);
}

/* One server's defaults and policies, checked against the server-wide
 * windows; NULL or the error naming the directive and the server. */
static const char *resolve_server(apr_pool_t *p, const rlw_module_conf_t *mod,
                                  server_rec *s)
{
    rlw_srv_conf_t *c = rlw_server_conf(s);
    const char *err;
    char a[32], b[32];

    DEFAULT(c, enabled, 0);
    DEFAULT(c, threshold, RLW_DEF_THRESHOLD);
    DEFAULT(c, ban_ms, RLW_DEF_BAN_MS);
    DEFAULT(c, ban_max_ms, RLW_DEF_BAN_MAX_MS);
    DEFAULT(c, allow_ban_ms, RLW_DEF_ALLOW_BAN_MS);
    DEFAULT(c, strike_decay_ms, RLW_DEF_STRIKE_DECAY_MS);
    DEFAULT(c, ban_status, RLW_DEF_BAN_STATUS);
    DEFAULT(c, ban_action, RLW_ACTION_RESPOND);
    DEFAULT(c, attack_score, RLW_DEF_ATTACK_SCORE);
    DEFAULT(c, dry_run, 0);
    DEFAULT(c, net_threshold, 0);
    if (!c->score_var)
        c->score_var = RLW_DEF_SCORE_VAR;

    if (c->ban_max_ms < c->ban_ms)
        return apr_psprintf(p,
                            "RateLimitWAFBanMax %s is shorter than "
                            "RateLimitWAFBanTime %s (server %s:%u)",
                            rlw_duration_format(c->ban_max_ms, a, sizeof(a)),
                            rlw_duration_format(c->ban_ms, b, sizeof(b)),
                            s->server_hostname ? s->server_hostname : "?",
                            (unsigned)s->port);
    if ((err = resolve_pairs(p, mod, s, "RateLimitWAFThreshold", c->thr_pairs,
                             c->threshold, &c->policy)))
        return err;
    c->policy.ban_ms = c->ban_ms;
    c->policy.ban_max_ms = c->ban_max_ms;
    c->policy.allow_ban_ms = c->allow_ban_ms;
    c->policy.strike_decay_ms = c->strike_decay_ms;
    c->net_policy = c->policy;
    c->net_policy.threshold = 0;
    if (c->net_threshold > 0 &&
        (err = resolve_pairs(p, mod, s, "RateLimitWAFNetwork", &c->net_pairs,
                             c->net_threshold, &c->net_policy)))
        return err;
    if (c->keys) {
        int i;

        for (i = 0; i < c->keys->nelts; i++) {
            rlw_key_conf_t *k = &APR_ARRAY_IDX(c->keys, i, rlw_key_conf_t);

            k->policy = c->policy;
            if ((err = resolve_pairs(p, mod, s, "RateLimitWAFKey", &k->pairs,
                                     k->threshold, &k->policy)))
                return err;
        }
    }
    /* A network no larger than one grouped IPv6 client would count
     * that client twice under two names. */
    if (c->net_threshold > 0 && c->net_v6 >= mod->v6_prefix)
        return apr_psprintf(p,
                            "RateLimitWAFNetwork: IPv6 prefix %d is not "
                            "shorter than RateLimitWAFIPv6Prefix %d, the "
                            "clients it would group (server %s:%u)",
                            c->net_v6, mod->v6_prefix,
                            s->server_hostname ? s->server_hostname : "?",
                            (unsigned)s->port);
    return NULL;
}

const char *rlw_resolve_config(apr_pool_t *p, server_rec *main_server)
{
    rlw_module_conf_t *mod = rlw_module_conf(main_server);
    const char *err = resolve_windows(p, main_server);
    server_rec *s;

    if (!err)
        err = resolve_module_conf(p, mod);
    if (err)
        return err;
    mod->key_names = rlw_key_registry(p);
    for (s = main_server; s; s = s->next)
        if ((err = resolve_server(p, mod, s)))
            return err;
    return NULL;
}

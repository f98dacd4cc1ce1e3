/* mod_rlw_config.c - the RateLimitWAF* directives.
 *
 * Every handler validates its value at parse time and returns a sentence
 * naming the directive and the bad value, so `httpd -t` points at the
 * mistake. Settings merge per virtual host; the table-wide ones (window,
 * IPv6 prefix, store, table size) are refused inside <VirtualHost>.
 */
#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <unixd.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_network_io.h>

#include "mod_rlw.h"
#include "rlw_duration.h"
#include "rlw_crypto.h"
#include "rlw_store.h"
#include "rlw_store_mc.h"

/* Defaults (docs/directives.md). */
#define RLW_DEF_THRESHOLD 5000
#define RLW_DEF_WINDOW_MS (10LL * 60 * 1000)
#define RLW_DEF_BAN_MS (15LL * 60 * 1000)
#define RLW_DEF_BAN_MAX_MS (24LL * 3600 * 1000)
#define RLW_DEF_ALLOW_BAN_MS (60LL * 1000)
#define RLW_DEF_STRIKE_DECAY_MS (24LL * 3600 * 1000)
#define RLW_DEF_BAN_STATUS HTTP_NOT_FOUND
#define RLW_DEF_SCORE_VAR "MODSEC_ANOMALY_SCORE"
#define RLW_DEF_ATTACK_SCORE 5
#define RLW_DEF_V6_PREFIX 64
#define RLW_DEF_TABLE_SIZE 100000
#define RLW_DEF_SYNC_MS 250
#define RLW_DEF_KEY_PREFIX "rlw:"
#define RLW_DEF_MC_TIMEOUT_MS 50
#define RLW_DEF_MC_RETRY_MS 2000
#define RLW_MAX_THRESHOLD ((apr_int64_t)1000000000)
#define RLW_MIN_TABLE_SIZE 16
#define RLW_MAX_TABLE_SIZE ((apr_int64_t)50000000)
#define RLW_DEF_EVENT_QUEUE 256
#define RLW_MIN_EVENT_QUEUE 16
#define RLW_MAX_EVENT_QUEUE 65536

/* Offsets into rlw_srv_conf_t, passed through cmd->info so one handler
 * serves every directive of the same type. */
#define RLW_FIELD(f) ((void *)APR_OFFSETOF(rlw_srv_conf_t, f))

static rlw_srv_conf_t *srv_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config,
                                &ratelimit_waf_module);
}

void *rlw_create_server_config(apr_pool_t *p, server_rec *s)
{
    rlw_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)s;
    c->enabled = RLW_UNSET;
    c->threshold = RLW_UNSET;
    c->ban_ms = RLW_UNSET;
    c->ban_max_ms = RLW_UNSET;
    c->allow_ban_ms = RLW_UNSET;
    c->strike_decay_ms = RLW_UNSET;
    c->ban_status = RLW_UNSET;
    c->ban_action = RLW_UNSET;
    c->attack_score = RLW_UNSET;
    c->dry_run = RLW_UNSET;
    c->window_ms = RLW_UNSET;
    c->v6_prefix = RLW_UNSET;
    c->table_size = RLW_UNSET;
    c->event_queue = RLW_UNSET;
    c->sync_ms = RLW_UNSET;
    c->mc_timeout_ms = RLW_UNSET;
    c->mc_retry_ms = RLW_UNSET;
    return c;
}

#define MERGE(f) (add->f != RLW_UNSET ? add->f : base->f)
#define MERGE_PTR(f) (add->f ? add->f : base->f)

void *rlw_merge_server_config(apr_pool_t *p, void *basev, void *addv)
{
    rlw_srv_conf_t *base = basev, *add = addv;
    rlw_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->enabled = MERGE(enabled);
    c->threshold = MERGE(threshold);
    c->ban_ms = MERGE(ban_ms);
    c->ban_max_ms = MERGE(ban_max_ms);
    c->allow_ban_ms = MERGE(allow_ban_ms);
    c->strike_decay_ms = MERGE(strike_decay_ms);
    c->ban_status = MERGE(ban_status);
    c->ban_action = MERGE(ban_action);
    c->attack_score = MERGE(attack_score);
    c->dry_run = MERGE(dry_run);
    c->score_var = MERGE_PTR(score_var);
    /* A list set in a virtual host replaces the inherited one, like
     * mod_remoteip's proxy lists: what you read in the vhost is what
     * applies. */
    c->exempt = MERGE_PTR(exempt);
    c->allow = MERGE_PTR(allow);
    /* Table-wide settings only exist in the main server. */
    c->window_ms = base->window_ms;
    c->v6_prefix = base->v6_prefix;
    c->store_name = base->store_name;
    c->mc_config = base->mc_config;
    c->table_size = base->table_size;
    c->secret_file = base->secret_file;
    c->sync_ms = base->sync_ms;
    c->key_prefix = base->key_prefix;
    c->mc_timeout_ms = base->mc_timeout_ms;
    c->mc_retry_ms = base->mc_retry_ms;
    c->node_name = base->node_name;
    c->event_log = base->event_log;
    c->event_queue = base->event_queue;
    return c;
}

/* On/Off directives take their argument as text (not AP_INIT_FLAG), so
 * that a mistake is reported with the value that was written. */
const char *rlw_parse_on_off(cmd_parms *cmd, const char *arg, int *out)
{
    if (!strcasecmp(arg, "on"))
        *out = 1;
    else if (!strcasecmp(arg, "off"))
        *out = 0;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not On or Off",
                            cmd->cmd->name, arg);
    return NULL;
}

static const char *set_flag(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return rlw_parse_on_off(cmd, arg, &srv_conf(cmd)->enabled);
}

static const char *set_dry_run(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return rlw_parse_on_off(cmd, arg, &srv_conf(cmd)->dry_run);
}

static const char *set_event_log(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err)
        return err;
    if (!*arg || (err = rlw_event_log_check(cmd->pool, arg)))
        return apr_psprintf(cmd->pool, "%s: bad target '%s': %s",
                            cmd->cmd->name, arg,
                            err ? err
                                : "empty (use a file, |program or "
                                  "syslog[:facility])");
    srv_conf(cmd)->event_log = arg;
    return NULL;
}

/* Parses a whole decimal number in [min, max]; 0 on success. */
static int parse_int(const char *arg, apr_int64_t min, apr_int64_t max,
                     apr_int64_t *out)
{
    char *end;
    apr_int64_t v;

    if (!apr_isdigit(*arg))
        return -1;
    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static const char *set_threshold(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    if (parse_int(arg, 1, RLW_MAX_THRESHOLD, &srv_conf(cmd)->threshold))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a whole number of "
                            "attacks between 1 and %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, RLW_MAX_THRESHOLD);
    return NULL;
}

/* Every duration directive; cmd->info is the field's offset. Durations must
 * be positive: a zero window or ban would silently disable the module. */
static const char *set_duration(cmd_parms *cmd, void *dummy, const char *arg)
{
    rlw_srv_conf_t *c = srv_conf(cmd);
    apr_int64_t *field = (apr_int64_t *)((char *)c + (apr_size_t)cmd->info);
    int64_t ms;
    const char *why;

    (void)dummy;
    if (field != &c->ban_ms && field != &c->ban_max_ms &&
        field != &c->allow_ban_ms && field != &c->strike_decay_ms) {
        const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
        if (err)
            return err;
    }
    why = rlw_duration_parse(arg, &ms);
    if (!why && ms <= 0)
        why = "must be longer than zero";
    if (why)
        return apr_psprintf(cmd->pool,
                            "%s: bad duration '%s': %s (use e.g. "
                            "90, 90s, 500ms, 15m, 8h, 1d)",
                            cmd->cmd->name, arg, why);
    *field = ms;
    return NULL;
}

static const char *set_ban_status(cmd_parms *cmd, void *dummy, const char *arg)
{
    apr_int64_t v;

    (void)dummy;
    /* httpd sends a status it has no reason phrase for as a 500. */
    if (parse_int(arg, 400, 599, &v) ||
        (v != HTTP_INTERNAL_SERVER_ERROR &&
         ap_get_status_line((int)v) ==
             ap_get_status_line(HTTP_INTERNAL_SERVER_ERROR)))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not an HTTP error status "
                            "httpd knows between 400 and 599 (e.g. 403, 404, "
                            "410, 429, 503)",
                            cmd->cmd->name, arg);
    srv_conf(cmd)->ban_status = (int)v;
    return NULL;
}

static const char *set_ban_action(cmd_parms *cmd, void *dummy, const char *arg)
{
    rlw_srv_conf_t *c = srv_conf(cmd);

    (void)dummy;
    /* "404" is accepted as another name for respond: the status itself is
     * RateLimitWAFBanStatus. */
    if (!strcasecmp(arg, "respond") || !strcmp(arg, "404"))
        c->ban_action = RLW_ACTION_RESPOND;
    else if (!strcasecmp(arg, "close"))
        c->ban_action = RLW_ACTION_CLOSE;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not one of respond, close",
                            cmd->cmd->name, arg);
    return NULL;
}

static const char *set_score_var(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *p;

    (void)dummy;
    for (p = arg; *p; p++) {
        if (!apr_isalnum(*p) && *p != '_')
            break;
    }
    if (!*arg || *p || p - arg > 128)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not an environment "
                            "variable name (letters, digits and _, at most "
                            "128)",
                            cmd->cmd->name, arg);
    srv_conf(cmd)->score_var = arg;
    return NULL;
}

static const char *set_attack_score(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    apr_int64_t v;

    (void)dummy;
    if (parse_int(arg, 1, 1000000, &v))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a whole anomaly score "
                            "between 1 and 1000000",
                            cmd->cmd->name, arg);
    srv_conf(cmd)->attack_score = (int)v;
    return NULL;
}

/* RateLimitWAFExempt / RateLimitWAFAllow: one network per call (ITERATE).
 * The first occurrence in a server starts a new list, so a vhost's list
 * replaces the main server's instead of appending to it. */
static const char *add_network(cmd_parms *cmd, void *dummy, const char *arg)
{
    rlw_srv_conf_t *c = srv_conf(cmd);
    apr_array_header_t **list =
        (apr_array_header_t **)((char *)c + (apr_size_t)cmd->info);
    rlw_addr_t net;
    const char *why;

    (void)dummy;
    memset(&net, 0, sizeof(net));
    why = rlw_cidr_parse(arg, &net);
    if (why)
        return apr_psprintf(cmd->pool,
                            "%s: bad network '%s': %s (use e.g. "
                            "192.0.2.0/24, 2001:db8::/32 or one address)",
                            cmd->cmd->name, arg, why);
    if (!*list)
        *list = apr_array_make(cmd->pool, 4, sizeof(rlw_addr_t));
    *(rlw_addr_t *)apr_array_push(*list) = net;
    return NULL;
}

static const char *set_v6_prefix(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_int64_t v;

    (void)dummy;
    if (err)
        return err;
    if (parse_int(arg, 16, 128, &v))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a prefix length "
                            "between 16 and 128",
                            cmd->cmd->name, arg);
    srv_conf(cmd)->v6_prefix = (int)v;
    return NULL;
}

/* RateLimitWAFStore NAME ["CONFIG"]: NAME from the store registry
 * (rlw_store_registry.c), CONFIG checked by the backend. */
static const char *set_store(cmd_parms *cmd, void *dummy, const char *name,
                             const char *config)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const rlw_store_backend_t *be = rlw_store_backend_find(name);
    rlw_srv_conf_t *c = srv_conf(cmd);

    (void)dummy;
    if (err)
        return err;
    if (!be) {
        const char *known = "";
        int i;

        for (i = 0; rlw_store_backends[i]; i++)
            known = apr_pstrcat(
                cmd->pool, known, i ? ", " : "", rlw_store_backends[i]->name,
                rlw_store_backends[i]->needs_config ? " \"CONFIG\"" : "", NULL);
        return apr_psprintf(cmd->pool, "%s: unknown store '%s' (known: %s)",
                            cmd->cmd->name, name, known);
    }
    if (be->needs_config && !config)
        return apr_psprintf(cmd->pool, "%s %s needs %s", cmd->cmd->name, name,
                            be->config_help);
    if (!be->needs_config && config)
        return apr_psprintf(cmd->pool,
                            "%s %s takes no configuration string "
                            "(got '%s')",
                            cmd->cmd->name, name, config);
    if (config && be->check) {
        const char *why = be->check(cmd->pool, config);
        if (why)
            return apr_psprintf(cmd->pool,
                                "%s %s: bad configuration '%s': "
                                "%s",
                                cmd->cmd->name, name, config, why);
    }
    c->store_name = name;
    c->mc_config = config;
    return NULL;
}

static const char *set_secret_file(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err)
        return err;
    /* Read in check_config, once the whole configuration is known, so that
     * `httpd -t` also reports a missing or world-readable file. */
    srv_conf(cmd)->secret_file = ap_server_root_relative(cmd->pool, arg);
    if (!srv_conf(cmd)->secret_file)
        return apr_psprintf(cmd->pool, "%s: bad path '%s'", cmd->cmd->name,
                            arg);
    return NULL;
}

/* A memcached key prefix: printable, no space or control character (the
 * text protocol would split on them), short enough for 250-byte keys. */
static const char *set_key_prefix(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err)
        return err;
    if (!rlw_store_printable(arg, RLW_MC_PREFIX_MAX, 0))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a key prefix (1 to "
                            "%d printable characters, no spaces)",
                            cmd->cmd->name, arg, RLW_MC_PREFIX_MAX);
    srv_conf(cmd)->key_prefix = arg;
    return NULL;
}

static const char *set_node_name(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err)
        return err;
    /* It travels in journal entries: at most RLW_STORE_NODE_LEN - 1. */
    if (!rlw_store_printable(arg, RLW_STORE_NODE_LEN - 1, 1))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a node name (1 to %d "
                            "printable characters)",
                            cmd->cmd->name, arg, RLW_STORE_NODE_LEN - 1);
    srv_conf(cmd)->node_name = arg;
    return NULL;
}

static const char *set_table_size(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err)
        return err;
    if (parse_int(arg, RLW_MIN_TABLE_SIZE, RLW_MAX_TABLE_SIZE,
                  &srv_conf(cmd)->table_size))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a number of clients "
                            "between %d and %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, RLW_MIN_TABLE_SIZE,
                            RLW_MAX_TABLE_SIZE);
    return NULL;
}

static const char *set_event_queue(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err)
        return err;
    if (parse_int(arg, RLW_MIN_EVENT_QUEUE, RLW_MAX_EVENT_QUEUE,
                  &srv_conf(cmd)->event_queue))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a number of event "
                            "lines between %d and %d",
                            cmd->cmd->name, arg, RLW_MIN_EVENT_QUEUE,
                            RLW_MAX_EVENT_QUEUE);
    return NULL;
}

const command_rec rlw_cmds[] = {
    AP_INIT_TAKE1("RateLimitWAF", set_flag, NULL, RSRC_CONF,
                  "On to count ModSecurity attacks and ban clients here"),
    AP_INIT_TAKE1("RateLimitWAFDryRun", set_dry_run, NULL, RSRC_CONF,
                  "On to count, log and report, but never block"),
    AP_INIT_TAKE1("RateLimitWAFEventLog", set_event_log, NULL, RSRC_CONF,
                  "SIEM events: a file, |program or syslog[:facility]"),
    AP_INIT_TAKE1("RateLimitWAFEventQueue", set_event_queue, NULL, RSRC_CONF,
                  "event lines each process holds for a slow event log"),
    AP_INIT_TAKE1("RateLimitWAFThreshold", set_threshold, NULL, RSRC_CONF,
                  "attacks in the window that trigger a ban"),
    AP_INIT_TAKE1("RateLimitWAFWindow", set_duration, RLW_FIELD(window_ms),
                  RSRC_CONF, "sliding window length (main server only)"),
    AP_INIT_TAKE1("RateLimitWAFBanTime", set_duration, RLW_FIELD(ban_ms),
                  RSRC_CONF, "length of a first ban"),
    AP_INIT_TAKE1("RateLimitWAFBanMax", set_duration, RLW_FIELD(ban_max_ms),
                  RSRC_CONF, "cap on escalating bans"),
    AP_INIT_TAKE1("RateLimitWAFAllowBanTime", set_duration,
                  RLW_FIELD(allow_ban_ms), RSRC_CONF,
                  "ban length for RateLimitWAFAllow networks"),
    AP_INIT_TAKE1("RateLimitWAFStrikeDecay", set_duration,
                  RLW_FIELD(strike_decay_ms), RSRC_CONF,
                  "quiet time after a ban that forgets earlier strikes"),
    AP_INIT_TAKE1("RateLimitWAFBanStatus", set_ban_status, NULL, RSRC_CONF,
                  "HTTP status answered to a banned client"),
    AP_INIT_TAKE1("RateLimitWAFBanAction", set_ban_action, NULL, RSRC_CONF,
                  "respond (keep the connection) or close"),
    AP_INIT_TAKE1("RateLimitWAFScoreVar", set_score_var, NULL, RSRC_CONF,
                  "environment variable holding the inbound anomaly score"),
    AP_INIT_TAKE1("RateLimitWAFAttackScore", set_attack_score, NULL, RSRC_CONF,
                  "minimum anomaly score that counts as an attack"),
    AP_INIT_ITERATE("RateLimitWAFExempt", add_network, RLW_FIELD(exempt),
                    RSRC_CONF, "networks never banned"),
    AP_INIT_ITERATE("RateLimitWAFAllow", add_network, RLW_FIELD(allow),
                    RSRC_CONF, "shared proxies: short bans, no escalation"),
    AP_INIT_TAKE1("RateLimitWAFIPv6Prefix", set_v6_prefix, NULL, RSRC_CONF,
                  "IPv6 clients are grouped by this prefix (main server only)"),
    AP_INIT_TAKE12("RateLimitWAFStore", set_store, NULL, RSRC_CONF,
                   "counter store: shm, or memcached \"CONFIG\" (main server "
                   "only)"),
    AP_INIT_TAKE1("RateLimitWAFSecretFile", set_secret_file, NULL, RSRC_CONF,
                  "file holding the cluster secret (memcached store)"),
    AP_INIT_TAKE1("RateLimitWAFSyncInterval", set_duration, RLW_FIELD(sync_ms),
                  RSRC_CONF, "how often a node learns the cluster's bans"),
    AP_INIT_TAKE1("RateLimitWAFKeyPrefix", set_key_prefix, NULL, RSRC_CONF,
                  "prefix of every memcached key"),
    AP_INIT_TAKE1("RateLimitWAFMemcachedTimeout", set_duration,
                  RLW_FIELD(mc_timeout_ms), RSRC_CONF,
                  "connect and I/O timeout of one memcached call"),
    AP_INIT_TAKE1("RateLimitWAFMemcachedRetry", set_duration,
                  RLW_FIELD(mc_retry_ms), RSRC_CONF,
                  "how long a failed memcached server is skipped"),
    AP_INIT_TAKE1("RateLimitWAFNodeName", set_node_name, NULL, RSRC_CONF,
                  "this node's name in cluster journal entries"),
    AP_INIT_TAKE1("RateLimitWAFTableSize", set_table_size, NULL, RSRC_CONF,
                  "clients tracked in shared memory (main server only)"),
    AP_INIT_TAKE1("RateLimitWAFAdmin", rlw_set_admin, NULL,
                  ACCESS_CONF | RSRC_CONF,
                  "On to allow ban/unban by POST to ratelimit-waf-status here"),
    {NULL}};

#define DEFAULT(f, v)                                                          \
    do {                                                                       \
        if (c->f == RLW_UNSET)                                                 \
            c->f = (v);                                                        \
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

const char *rlw_resolve_config(apr_pool_t *p, server_rec *main_server)
{
    rlw_srv_conf_t *mc =
        ap_get_module_config(main_server->module_config, &ratelimit_waf_module);
    server_rec *s;
    char a[32], b[32];

    if (mc->window_ms == RLW_UNSET)
        mc->window_ms = RLW_DEF_WINDOW_MS;
    if (mc->v6_prefix == RLW_UNSET)
        mc->v6_prefix = RLW_DEF_V6_PREFIX;
    if (!mc->store_name)
        mc->store_name = "shm";
    if (mc->table_size == RLW_UNSET)
        mc->table_size = RLW_DEF_TABLE_SIZE;
    if (mc->sync_ms == RLW_UNSET)
        mc->sync_ms = RLW_DEF_SYNC_MS;
    if (mc->event_queue == RLW_UNSET)
        mc->event_queue = RLW_DEF_EVENT_QUEUE;
    if (!mc->key_prefix)
        mc->key_prefix = RLW_DEF_KEY_PREFIX;
    if (mc->mc_timeout_ms == RLW_UNSET)
        mc->mc_timeout_ms = RLW_DEF_MC_TIMEOUT_MS;
    if (mc->mc_retry_ms == RLW_UNSET)
        mc->mc_retry_ms = RLW_DEF_MC_RETRY_MS;
    if (!mc->node_name) {
        char host[APRMAXHOSTLEN + 1];
        mc->node_name = apr_gethostname(host, sizeof(host), p) == APR_SUCCESS
                            ? apr_pstrndup(p, host, 63)
                            : "unknown";
    }
    if (mc->mc_config) {
        char err[512];

        if (!mc->secret_file)
            return "RateLimitWAFStore memcached needs RateLimitWAFSecretFile "
                   "(memcached never sees a client address in clear)";
        mc->keys = apr_pcalloc(p, sizeof(*mc->keys));
        if (rlw_secret_load(mc->secret_file, secret_owner(), mc->keys, err,
                            sizeof(err)))
            return apr_psprintf(p, "RateLimitWAFSecretFile: %s", err);
        /* Wipe the keys with the configuration they belong to. */
        apr_pool_cleanup_register(p, mc->keys, wipe_keys,
                                  apr_pool_cleanup_null);
    }

    for (s = main_server; s; s = s->next) {
        rlw_srv_conf_t *c =
            ap_get_module_config(s->module_config, &ratelimit_waf_module);
        DEFAULT(enabled, 0);
        DEFAULT(threshold, RLW_DEF_THRESHOLD);
        DEFAULT(ban_ms, RLW_DEF_BAN_MS);
        DEFAULT(ban_max_ms, RLW_DEF_BAN_MAX_MS);
        DEFAULT(allow_ban_ms, RLW_DEF_ALLOW_BAN_MS);
        DEFAULT(strike_decay_ms, RLW_DEF_STRIKE_DECAY_MS);
        DEFAULT(ban_status, RLW_DEF_BAN_STATUS);
        DEFAULT(ban_action, RLW_ACTION_RESPOND);
        DEFAULT(attack_score, RLW_DEF_ATTACK_SCORE);
        DEFAULT(dry_run, 0);
        if (!c->score_var)
            c->score_var = RLW_DEF_SCORE_VAR;
        c->window_ms = mc->window_ms;
        c->v6_prefix = mc->v6_prefix;
        c->store_name = mc->store_name;
        c->mc_config = mc->mc_config;
        c->table_size = mc->table_size;
        c->secret_file = mc->secret_file;
        c->sync_ms = mc->sync_ms;
        c->key_prefix = mc->key_prefix;
        c->mc_timeout_ms = mc->mc_timeout_ms;
        c->mc_retry_ms = mc->mc_retry_ms;
        c->node_name = mc->node_name;
        c->keys = mc->keys;
        c->event_log = mc->event_log;
        c->event_queue = mc->event_queue;

        if (c->ban_max_ms < c->ban_ms)
            return apr_psprintf(
                p,
                "RateLimitWAFBanMax %s is shorter than "
                "RateLimitWAFBanTime %s (server %s:%u)",
                rlw_duration_format(c->ban_max_ms, a, sizeof(a)),
                rlw_duration_format(c->ban_ms, b, sizeof(b)),
                s->server_hostname ? s->server_hostname : "?",
                (unsigned)s->port);
        c->policy.threshold = (uint32_t)c->threshold;
        c->policy.window_ms = c->window_ms;
        c->policy.ban_ms = c->ban_ms;
        c->policy.ban_max_ms = c->ban_max_ms;
        c->policy.allow_ban_ms = c->allow_ban_ms;
        c->policy.strike_decay_ms = c->strike_decay_ms;
    }
    return NULL;
}

rlw_class_t rlw_classify(const rlw_srv_conf_t *c, const rlw_addr_t *host)
{
    if (c->exempt && rlw_cidr_list_match((const rlw_addr_t *)c->exempt->elts,
                                         c->exempt->nelts, host))
        return RLW_CLASS_EXEMPT;
    if (c->allow && rlw_cidr_list_match((const rlw_addr_t *)c->allow->elts,
                                        c->allow->nelts, host))
        return RLW_CLASS_ALLOW;
    return RLW_CLASS_NORMAL;
}

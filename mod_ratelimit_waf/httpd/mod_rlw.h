/* mod_rlw.h - shared declarations of the Apache glue (mod_rlw_*.c).
 *
 * The glue turns httpd.conf directives into an rlw_policy_t per virtual
 * host, and requests into calls of the httpd-free core and store.
 */
#ifndef MOD_RLW_H
#define MOD_RLW_H

#include <httpd.h>
#include <http_config.h>
#include <apr_tables.h>
#include <ap_expr.h>

#include "rlw_addr.h"
#include "rlw_decision.h"
#include "rlw_pairs.h"
#include "rlw_store.h"
#include "rlw_crypto.h"
#include "rlw_event.h"
#include "rlw_metrics.h"
#include "rlw_defaults.h"
#include "rlw_verdict.h"
#include "rlw_setup.h"

#define RLW_UNSET (-1)

/* What a banned client gets. */
typedef enum rlw_ban_action {
    RLW_ACTION_RESPOND = 0, /* answer BanStatus, keep the connection open */
    RLW_ACTION_CLOSE        /* answer BanStatus and close the connection */
} rlw_ban_action_t;

/* Module-wide settings: what only the main server may set, because every
 * virtual host shares one table, one store and one event log. There is one
 * per configuration (rlw_module_conf()), shared by every server's
 * rlw_srv_conf_t; its directives are refused inside <VirtualHost>. Fields
 * start RLW_UNSET (or NULL); rlw_resolve_config() fills in the defaults of
 * rlw_defaults.h. Durations in ms. */
typedef struct rlw_module_conf {
    apr_int64_t window_ms; /* RateLimitWAFWindow, or the first window of
                            * the main server's RateLimitWAFThreshold
                            * pairs */
    /* The server-wide windows: the main server's RateLimitWAFThreshold
     * pairs when they give windows, else NULL (one window, window_ms);
     * set by rlw_resolve_config(). */
    const rlw_pairs_t *windows;
    int v6_prefix;             /* RateLimitWAFIPv6Prefix */
    const char *store_name;    /* RateLimitWAFStore NAME (the registry's) */
    const char *store_config;  /* RateLimitWAFStore NAME "CONFIG", or NULL */
    apr_int64_t table_size;    /* RateLimitWAFTableSize */
    const char *secret_file;   /* RateLimitWAFSecretFile */
    rlw_keys_t *keys;          /* read from secret_file (check_config) */
    apr_int64_t sync_ms;       /* RateLimitWAFSyncInterval */
    const char *key_prefix;    /* RateLimitWAFKeyPrefix */
    apr_int64_t mc_timeout_ms; /* RateLimitWAFMemcachedTimeout */
    apr_int64_t mc_retry_ms;   /* RateLimitWAFMemcachedRetry */
    const char *node_name;     /* RateLimitWAFNodeName, else the host name */
    const char *event_log;     /* RateLimitWAFEventLog target, or NULL */
    apr_int64_t event_queue;   /* RateLimitWAFEventQueue, lines/process */
    /* Every RateLimitWAFKey NAME of the configuration (const char *), at
     * its index (rlw_key_conf_t.idx); set by rlw_resolve_config(). */
    apr_array_header_t *key_names;
} rlw_module_conf_t;

/* Keys one server counts (RateLimitWAFKey): with the client and its
 * network, every subject of an attack fits one rlw_store_count() call. */
#define RLW_KEYS_PER_SERVER (RLW_COUNT_MAX_SUBJECTS - 2)

/* One RateLimitWAFKey NAME "AP_EXPR" THRESHOLD. */
typedef struct rlw_key_conf {
    const char *name;      /* NAME, as written */
    const char *expr_text; /* AP_EXPR, as written (never a value) */
    ap_expr_info_t *expr;  /* parsed, a string expression */
    const char *header;    /* when expr is just %{HTTP:NAME} or
                            * %{req:NAME}: NAME, read directly */
    apr_int64_t threshold; /* attacks carrying one value that ban it */
    rlw_pairs_t pairs;     /* THRESHOLD as written (count[0] = threshold) */
    unsigned idx;          /* the NAME's index: a key subject's prefix, in
                            * order of first appearance in the configuration
                            * (rlwafctl -f reads the same order) */
    rlw_policy_t policy;   /* resolved: the server's, with threshold */
} rlw_key_conf_t;

/* Per-server configuration: what a virtual host may set. Fields start
 * RLW_UNSET (or NULL) so that a virtual host inherits what it does not set
 * (see rlw_merge_server_config); rlw_resolve_config() then fills in the
 * defaults. Durations in ms. */
typedef struct rlw_srv_conf {
    int enabled;                 /* RateLimitWAF On|Off */
    apr_int64_t threshold;       /* RateLimitWAFThreshold (the first count) */
    rlw_pairs_t *thr_pairs;      /* ... as written, NULL while unset */
    apr_int64_t ban_ms;          /* RateLimitWAFBanTime */
    apr_int64_t ban_max_ms;      /* RateLimitWAFBanMax */
    apr_int64_t allow_ban_ms;    /* RateLimitWAFAllowBanTime */
    apr_int64_t strike_decay_ms; /* RateLimitWAFStrikeDecay */
    int ban_status;              /* RateLimitWAFBanStatus */
    int ban_action;              /* RateLimitWAFBanAction (rlw_ban_action_t) */
    const char *score_var;       /* RateLimitWAFScoreVar */
    int attack_score;            /* RateLimitWAFAttackScore */
    apr_array_header_t *exempt;  /* RateLimitWAFExempt, of rlw_addr_t */
    apr_array_header_t *allow;   /* RateLimitWAFAllow, of rlw_addr_t */
    int dry_run;                 /* RateLimitWAFDryRun: count, never block */
    const char *engine;          /* RateLimitWAFEngine: a verdict source */
    /* RateLimitWAFRules, in order (const char *: a path or a glob): the
     * main server's first, then the virtual host's own. */
    apr_array_header_t *rules;
    void *engine_rules; /* the source's rule set for rules (check_config) */
    /* RateLimitWAFNetwork IPV4-PREFIX IPV6-PREFIX THRESHOLD: net_threshold
     * 0 (Off, the default) counts no network; a prefix of 0 counts no
     * network of that family. */
    apr_int64_t net_threshold;
    rlw_pairs_t net_pairs; /* THRESHOLD as written (count[0] = net_threshold) */
    int net_v4, net_v6;
    /* RateLimitWAFRequestBodyVariable: "urlencoded" (NULL: unset, the
     * default) or "always" */
    const char *reqbody_var;
    /* RateLimitWAFKey, of rlw_key_conf_t: a virtual host's own list
     * replaces the inherited one (like RateLimitWAFExempt). */
    apr_array_header_t *keys;

    rlw_module_conf_t *mod; /* the module-wide settings, the same for all */

    /* Resolved after merging (rlw_resolve_config). */
    rlw_policy_t policy;
    rlw_policy_t net_policy; /* policy with net_threshold: same window, ban
                              * times and escalation as clients */
} rlw_srv_conf_t;

/* Per-directory configuration: RateLimitWAFAdmin (the status page's). */
typedef struct rlw_dir_conf {
    int admin; /* 1 lets POST ban/unban here; RLW_UNSET inherits, then 0 */
} rlw_dir_conf_t;

/* State of one request, in r->request_config. */
typedef struct rlw_req {
    rlw_addr_t host;   /* r->useragent_ip, parsed */
    rlw_addr_t client; /* counted identity (IPv6 grouped) */
    rlw_addr_t net;    /* the client's network (RateLimitWAFNetwork) */
    int have_client;   /* host and client are set */
    int have_net;      /* net is set: networks are counted here */
    int keys_done;     /* keys[] evaluated (rlw_req_keys()) */
    int nkeys;         /* key subjects the request carries */
    rlw_addr_t keys[RLW_KEYS_PER_SERVER]; /* their subjects (hashes) */
    const rlw_key_conf_t *keyconf[RLW_KEYS_PER_SERVER]; /* and directives */
    int banned;            /* answered by this module: never counted */
    rlw_waf_verdict_t waf; /* the verdict source's (mod_rlw_verdict.h) */
    void *engine;          /* the source's own state of the request, or NULL */
} rlw_req_t;

extern module AP_MODULE_DECLARE_DATA ratelimit_waf_module;
extern const command_rec rlw_cmds[];

/* The store shared by every server (set in post_config). */
extern rlw_store_t *rlw_the_store;

/* The HMAC key request key values are hashed with (RLW_KEY_LEN bytes; set
 * in post_config): RateLimitWAFSecretFile's, else random per start. */
extern const unsigned char *rlw_the_key_secret;

/* The NAME of key index idx, or NULL (set in post_config). */
const char *rlw_key_name(unsigned idx);

/* RateLimitWAFKey (mod_rlw_keys.c): the NAMEs read so far in the
 * configuration, in order of first appearance (a key subject's prefix is
 * the index); 1 when n is a key NAME (1 to 32 of [A-Za-z0-9_.-], what a
 * log field and a metric label carry as is); records key NAME over expr
 * with pairs in c, or returns the error naming the directive. */
apr_array_header_t *rlw_key_registry(apr_pool_t *pconf);
int rlw_key_name_ok(const char *n);
const char *rlw_key_add(cmd_parms *cmd, rlw_srv_conf_t *c, const char *name,
                        const char *expr, const rlw_pairs_t *pairs);

/* Request keys (mod_rlw_keys.c). At post_config: the key secret and
 * names. */
int rlw_keys_post_config(apr_pool_t *pconf, server_rec *s);
/* Evaluates c's RateLimitWAFKey expressions for r once, into rq->keys
 * (hashed; an empty value is no key). */
void rlw_req_keys(request_rec *r, const rlw_srv_conf_t *c, rlw_req_t *rq);
/* Logs and reports what the attack counted for rq->keys[i] led to. */
void rlw_report_key_attack(request_rec *r, const rlw_srv_conf_t *c,
                           const rlw_req_t *rq, int i, const rlw_attack_t *a);

/* This node's counters, in shared memory (set in post_config). */
extern rlw_metrics_t *rlw_the_metrics;

/* Set-up problems seen at run time, in shared memory (set in
 * post_config; mod_rlw_setup.c). */
extern rlw_setup_t *rlw_the_setup;

/* Set-up checks (mod_rlw_setup.c). Creates (or clears) the shared
 * evidence and tells at start-up when no RemoteIPHeader is set. */
int rlw_setup_post_config(server_rec *s);
/* Notes one request showing problem k and, at most once per
 * RLW_SETUP_WARN_EVERY_MS per node, logs its warning against r. */
void rlw_setup_report(request_rec *r, rlw_setup_kind_t k);
/* For a counted attack of class cls: a private client address while no
 * RemoteIPHeader is set is reported (proxy_address). */
void rlw_setup_attack(request_rec *r, const struct rlw_req *rq,
                      rlw_class_t cls);

/* Events (mod_rlw_events.c). */
const char *rlw_event_log_check(apr_pool_t *p, const char *target);
int rlw_events_open(apr_pool_t *pconf, server_rec *s);
/* Starts this child's event writer thread (and its exit drain). */
void rlw_events_child_init(apr_pool_t *pchild, server_rec *s);
/* Fills observer, store and time when unset, formats and writes ev. */
void rlw_event_emit(rlw_event_t *ev);
/* The event of what an attack of r counted for subject led to (a client,
 * its network, a key): the pair reported (l, count, from
 * rlw_reported_pair()), a's top rules, the request's URI and User-Agent,
 * the client's class; then emitted as kind (a ban: a's ban state, decided
 * by this node), and counted in the node's metrics. */
void rlw_attack_event_init(rlw_event_t *ev, request_rec *r,
                           const rlw_srv_conf_t *c, const rlw_addr_t *subject,
                           const char *ban_class, const rlw_attack_t *a,
                           const rlw_limit_t *l, uint32_t count);
void rlw_attack_event_emit(rlw_event_t *ev, rlw_event_kind_t kind,
                           const rlw_srv_conf_t *c, const rlw_attack_t *a);

/* Configuration (mod_rlw_config.c). */
void *rlw_create_server_config(apr_pool_t *p, server_rec *s);
void *rlw_merge_server_config(apr_pool_t *p, void *base, void *add);
void *rlw_create_dir_config(apr_pool_t *p, char *dir);
void *rlw_merge_dir_config(apr_pool_t *p, void *base, void *add);

/* s's settings, and the module-wide ones (the same for every server). */
rlw_srv_conf_t *rlw_server_conf(server_rec *s);
rlw_module_conf_t *rlw_module_conf(server_rec *s);

/* Applies defaults to the module-wide settings and to every server's,
 * reads the secret file and checks what spans several directives
 * (mod_rlw_resolve.c). Returns NULL or an error. */
const char *rlw_resolve_config(apr_pool_t *p, server_rec *main_server);

/* r's state, created (zeroed) when create is set and there is none. */
rlw_req_t *rlw_req_state(request_rec *r, int create);

/* The class of host under conf's Exempt / Allow lists. */
rlw_class_t rlw_classify(const rlw_srv_conf_t *conf, const rlw_addr_t *host);

void rlw_register_hooks(apr_pool_t *p);

/* Status page and server-status (mod_rlw_status.c). */
void rlw_status_register_hooks(apr_pool_t *p);

/* Which pair of p an attack's report names (mod_rlw_hooks.c): the pair
 * that banned or crossed (verdict.pair), else the first pair whose count
 * is at its near mark (rlw_near_pair()), else the first; *l that pair,
 * *count its count. Returns 1 for a ban, a crossing or a near mark to
 * report, else 0. */
int rlw_reported_pair(const rlw_policy_t *p, rlw_class_t cls,
                      const rlw_attack_t *a, rlw_limit_t *l, uint32_t *count);

#endif

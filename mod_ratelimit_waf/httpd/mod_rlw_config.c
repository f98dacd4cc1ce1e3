/* mod_rlw_config.c - the RateLimitWAF* directives and their records.
 *
 * Every directive is one entry of rlw_cmds[] that names the field it sets,
 * the kind of value (one setter per kind) and where it is allowed: main
 * server only (rlw_module_conf_t: the one table, store and event log that
 * every virtual host shares; refused inside <VirtualHost>), any server
 * (rlw_srv_conf_t, merged per virtual host) or directory (rlw_dir_conf_t).
 * Every setter validates its value at parse time and returns a sentence
 * naming the directive and the bad value, so `httpd -t` points at the
 * mistake. Defaults and limits: rlw_defaults.h.
 */
#include <string.h>
#include <stdlib.h>
#include <errno.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "mod_rlw.h"
#include "rlw_duration.h"
#include "rlw_store.h"
#include "rlw_store_mc.h"
#include "rlw_subject.h"
#include "mod_rlw_verdict.h"

/* ---- where a directive may appear, and what it sets -------------------- */

typedef enum rlw_where {
    RLW_MAIN_ONLY,  /* main server only: a field of rlw_module_conf_t */
    RLW_ANY_SERVER, /* main server and <VirtualHost>: rlw_srv_conf_t */
    RLW_DIRECTORY   /* also <Directory>, <Location>: rlw_dir_conf_t */
} rlw_where_t;

/* Checks a string directive's value: NULL, or the error after "Directive: "
 * (which names the value). May give the value to keep in *value. */
typedef const char *rlw_check_fn(apr_pool_t *p, const char *arg,
                                 const char **value);

/* One directive, in cmd->info: one setter per kind of value (on/off,
 * duration, count, checked string, ...) reads here what to set and where
 * the directive is allowed, so no setter knows a directive by name. */
typedef struct rlw_directive {
    rlw_where_t where;
    apr_size_t offset;    /* of the field set, in where's struct */
    apr_size_t size;      /* of that field: counts are int or apr_int64_t */
    apr_int64_t min, max; /* counts: the accepted range */
    const char *what;     /* counts: what the number is, for the error */
    rlw_check_fn *check;  /* strings: NULL, or why a value is refused */
} rlw_directive_t;

#define FIELD(type, f) APR_OFFSETOF(type, f), sizeof(((type *)0)->f)
#define IN_MAIN(f) RLW_MAIN_ONLY, FIELD(rlw_module_conf_t, f)
#define IN_SERVER(f) RLW_ANY_SERVER, FIELD(rlw_srv_conf_t, f)
#define IN_DIR(f) RLW_DIRECTORY, FIELD(rlw_dir_conf_t, f)
#define WHERE_(where, ...) where
#define WHERE(...) WHERE_(__VA_ARGS__)

/* An entry of rlw_cmds: FIELD is IN_MAIN(f), IN_SERVER(f) or IN_DIR(f),
 * the rest designated rlw_directive_t members. httpd's context bits follow
 * from where: RSRC_CONF lets httpd itself refuse <Directory> and
 * .htaccess; "main server only" is refused in <VirtualHost> by field_of(). */
#define RLW_CMD(how, name, setter, help, field, ...)                           \
    AP_INIT_##how(                                                             \
        name, setter, ((void *)&(rlw_directive_t){field, __VA_ARGS__}),        \
        WHERE(field) == RLW_DIRECTORY ? ACCESS_CONF | RSRC_CONF : RSRC_CONF,   \
        help)

/* ---- the configuration records ------------------------------------------ */

rlw_srv_conf_t *rlw_server_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &ratelimit_waf_module);
}

rlw_module_conf_t *rlw_module_conf(server_rec *s)
{
    return rlw_server_conf(s)->mod;
}

static rlw_module_conf_t *create_module_conf(apr_pool_t *p)
{
    rlw_module_conf_t *m = apr_pcalloc(p, sizeof(*m));

    m->window_ms = RLW_UNSET;
    m->v6_prefix = RLW_UNSET;
    m->table_size = RLW_UNSET;
    m->sync_ms = RLW_UNSET;
    m->mc_timeout_ms = RLW_UNSET;
    m->mc_retry_ms = RLW_UNSET;
    m->event_queue = RLW_UNSET;
    return m;
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
    c->net_threshold = RLW_UNSET;
    /* A virtual host's own is never written (its directives are refused
     * there) and is replaced by the main server's when merging. */
    c->mod = create_module_conf(p);
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
    /* The pairs go with their first count. */
    c->thr_pairs =
        add->threshold != RLW_UNSET ? add->thr_pairs : base->thr_pairs;
    c->ban_ms = MERGE(ban_ms);
    c->ban_max_ms = MERGE(ban_max_ms);
    c->allow_ban_ms = MERGE(allow_ban_ms);
    c->strike_decay_ms = MERGE(strike_decay_ms);
    c->ban_status = MERGE(ban_status);
    c->ban_action = MERGE(ban_action);
    c->attack_score = MERGE(attack_score);
    c->dry_run = MERGE(dry_run);
    /* The three values of RateLimitWAFNetwork go together. */
    if (add->net_threshold != RLW_UNSET) {
        c->net_threshold = add->net_threshold;
        c->net_pairs = add->net_pairs;
        c->net_v4 = add->net_v4;
        c->net_v6 = add->net_v6;
    } else {
        c->net_threshold = base->net_threshold;
        c->net_pairs = base->net_pairs;
        c->net_v4 = base->net_v4;
        c->net_v6 = base->net_v6;
    }
    c->score_var = MERGE_PTR(score_var);
    /* A list set in a virtual host replaces the inherited one, like
     * mod_remoteip's proxy lists: what you read in the vhost is what
     * applies. */
    c->exempt = MERGE_PTR(exempt);
    c->keys = MERGE_PTR(keys);
    c->allow = MERGE_PTR(allow);
    c->engine = MERGE_PTR(engine);
    c->reqbody_var = MERGE_PTR(reqbody_var);
    /* Rules add up: the main server's, then the virtual host's own, in
     * the order written (one rule set per list, built at check_config). */
    c->rules = base->rules && add->rules
                   ? apr_array_append(p, base->rules, add->rules)
                   : MERGE_PTR(rules);
    /* One table for the whole server: every server shares the main's. */
    c->mod = base->mod;
    return c;
}

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

    d->admin = MERGE(admin);
    return d;
}

/* ---- the setters, one per kind of value --------------------------------- */

/* The field cmd's directive sets, once it is known to be allowed where it
 * appears; else NULL and *err, naming the directive and the value. */
static void *field_of(cmd_parms *cmd, void *dconf, const char *arg,
                      const char **err)
{
    const rlw_directive_t *d = cmd->info;
    char *base;

    *err = NULL;
    switch (d->where) {
    case RLW_MAIN_ONLY:
        if (ap_check_cmd_context(cmd, NOT_IN_VIRTUALHOST)) {
            *err = apr_psprintf(cmd->pool,
                                "%s cannot occur within <VirtualHost> "
                                "section (main server only: set '%s' once, "
                                "outside every <VirtualHost>)",
                                cmd->cmd->name, arg);
            return NULL;
        }
        if ((*err = ap_check_cmd_context(cmd, GLOBAL_ONLY)))
            return NULL;
        base = (char *)rlw_module_conf(cmd->server);
        break;
    case RLW_ANY_SERVER:
        base = (char *)rlw_server_conf(cmd->server);
        break;
    default:
        base = dconf;
    }
    return base + d->offset;
}

/* On/Off directives take their argument as text (not AP_INIT_FLAG), so
 * that a mistake is reported with the value that was written. */
static const char *set_on_off(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    int *field = field_of(cmd, dconf, arg, &err);

    if (!field)
        return err;
    if (!strcasecmp(arg, "on"))
        *field = 1;
    else if (!strcasecmp(arg, "off"))
        *field = 0;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not On or Off",
                            cmd->cmd->name, arg);
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

/* A whole number in the entry's [min, max], into an int or apr_int64_t
 * field (told apart by the entry's size). */
_Static_assert(sizeof(int) != sizeof(apr_int64_t), "count fields by size");
static const char *set_count(cmd_parms *cmd, void *dconf, const char *arg)
{
    const rlw_directive_t *d = cmd->info;
    const char *err;
    void *field = field_of(cmd, dconf, arg, &err);
    apr_int64_t v;

    if (!field)
        return err;
    if (parse_int(arg, d->min, d->max, &v))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not %s between %" APR_INT64_T_FMT
                            " and %" APR_INT64_T_FMT,
                            cmd->cmd->name, arg, d->what, d->min, d->max);
    if (d->size == sizeof(int))
        *(int *)field = (int)v;
    else
        *(apr_int64_t *)field = v;
    return NULL;
}

/* Durations must be positive: a zero window or ban would silently disable
 * the module. */
static const char *set_duration(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    apr_int64_t *field = field_of(cmd, dconf, arg, &err);
    int64_t ms;
    const char *why;

    if (!field)
        return err;
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

/* A string the entry's check accepts (it may rewrite it, e.g. a path). */
static const char *set_string(cmd_parms *cmd, void *dconf, const char *arg)
{
    const rlw_directive_t *d = cmd->info;
    const char *err, *value = arg;
    const char **field = field_of(cmd, dconf, arg, &err);

    if (!field)
        return err;
    if (d->check && (err = d->check(cmd->pool, arg, &value)))
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    *field = value;
    return NULL;
}

static const char *set_ban_status(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    int *field = field_of(cmd, dconf, arg, &err);
    apr_int64_t v;

    if (!field)
        return err;
    /* httpd sends a status it has no reason phrase for as a 500. */
    if (parse_int(arg, RLW_MIN_BAN_STATUS, RLW_MAX_BAN_STATUS, &v) ||
        (v != HTTP_INTERNAL_SERVER_ERROR &&
         ap_get_status_line((int)v) ==
             ap_get_status_line(HTTP_INTERNAL_SERVER_ERROR)))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not an HTTP error status "
                            "httpd knows between %d and %d (e.g. 403, 404, "
                            "410, 429, 503)",
                            cmd->cmd->name, arg, RLW_MIN_BAN_STATUS,
                            RLW_MAX_BAN_STATUS);
    *field = (int)v;
    return NULL;
}

static const char *set_ban_action(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    int *field = field_of(cmd, dconf, arg, &err);

    if (!field)
        return err;
    /* "404" is accepted as another name for respond: the status itself is
     * RateLimitWAFBanStatus. */
    if (!strcasecmp(arg, "respond") || !strcmp(arg, "404"))
        *field = RLW_ACTION_RESPOND;
    else if (!strcasecmp(arg, "close"))
        *field = RLW_ACTION_CLOSE;
    else
        return apr_psprintf(cmd->pool, "%s: '%s' is not one of respond, close",
                            cmd->cmd->name, arg);
    return NULL;
}

/* RateLimitWAFExempt / RateLimitWAFAllow: one network per call (ITERATE).
 * The first occurrence in a server starts a new list, so a vhost's list
 * replaces the main server's instead of appending to it. */
static const char *add_network(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    apr_array_header_t **list = field_of(cmd, dconf, arg, &err);
    rlw_addr_t net;
    const char *why;

    if (!list)
        return err;
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

/* The words argv[0 .. argc-1] as written, space-separated. */
static const char *join_words(apr_pool_t *p, int argc, char *const argv[])
{
    const char *all = "";
    int i;

    for (i = 0; i < argc; i++)
        all = apr_pstrcat(p, all, i ? " " : "", argv[i], NULL);
    return all;
}

/* A THRESHOLD of argc words (rlw_pairs_parse()) into *out; NULL, or the
 * error naming the directive (what: "", or " NAME" of a key), the words
 * and what is wrong with them. */
static const char *parse_threshold(cmd_parms *cmd, const char *what, int argc,
                                   char *const argv[], rlw_pairs_t *out)
{
    char why[256];

    if (rlw_pairs_parse(argc, (const char *const *)argv,
                        (uint32_t)RLW_MAX_THRESHOLD, out, why, sizeof(why)))
        return apr_psprintf(cmd->pool, "%s%s: threshold '%s': %s",
                            cmd->cmd->name, what,
                            join_words(cmd->pool, argc, argv), why);
    return NULL;
}

/* RateLimitWAFThreshold COUNT, or COUNT WINDOW [COUNT WINDOW ...] (up to
 * RLW_PAIRS_MAX pairs, rlw_pairs.h). The entry's field is threshold, the
 * first count; thr_pairs goes with it. */
static const char *set_threshold(cmd_parms *cmd, void *dconf, int argc,
                                 char *const argv[])
{
    const char *err;
    apr_int64_t *field = field_of(cmd, dconf, argc > 0 ? argv[0] : "", &err);
    rlw_srv_conf_t *c = rlw_server_conf(cmd->server);
    rlw_pairs_t pairs;

    if (!field)
        return err;
    if (argc == 1) {
        c->thr_pairs = NULL; /* a bare COUNT, as before pairs */
        return set_count(cmd, dconf, argv[0]);
    }
    if ((err = parse_threshold(cmd, "", argc, argv, &pairs)))
        return err;
    c->thr_pairs = apr_pmemdup(cmd->pool, &pairs, sizeof(pairs));
    *field = pairs.count[0];
    return NULL;
}

/* RateLimitWAFNetwork IPV4-PREFIX IPV6-PREFIX THRESHOLD, or Off. The
 * entry's field is net_threshold; the prefixes go with it. A prefix of 0
 * leaves that family's networks uncounted (not both). */
static const char *set_network(cmd_parms *cmd, void *dconf, int argc,
                               char *const argv[])
{
    const char *err;
    apr_int64_t *field = field_of(cmd, dconf, argc > 0 ? argv[0] : "", &err),
                v4, v6, t;
    rlw_srv_conf_t *c = rlw_server_conf(cmd->server);

    if (!field)
        return err;
    if (argc == 1 && !strcasecmp(argv[0], "off")) {
        *field = 0;
        c->net_v4 = c->net_v6 = 0;
        return NULL;
    }
    if (argc < 3 || (argc > 3 && argc % 2))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not Off nor IPV4-PREFIX IPV6-PREFIX "
                            "THRESHOLD (e.g. 24 48 20000, or 24 48 20000 10m "
                            "80000 24h)",
                            cmd->cmd->name, join_words(cmd->pool, argc, argv));
    /* A /32 network would be its one client, counted twice. */
    if (parse_int(argv[0], 0, 31, &v4))
        return apr_psprintf(cmd->pool,
                            "%s: IPv4 prefix '%s' is not a prefix length "
                            "between 0 (no IPv4 networks) and 31",
                            cmd->cmd->name, argv[0]);
    if (parse_int(argv[1], 0, RLW_MAX_V6_PREFIX, &v6))
        return apr_psprintf(cmd->pool,
                            "%s: IPv6 prefix '%s' is not a prefix length "
                            "between 0 (no IPv6 networks) and %d",
                            cmd->cmd->name, argv[1], RLW_MAX_V6_PREFIX);
    if (v4 == 0 && v6 == 0)
        return apr_psprintf(cmd->pool,
                            "%s: prefixes '%s %s' count no network (use Off)",
                            cmd->cmd->name, argv[0], argv[1]);
    if (argc == 3 && parse_int(argv[2], 1, RLW_MAX_THRESHOLD, &t))
        return apr_psprintf(cmd->pool,
                            "%s: threshold '%s' is not a whole number of "
                            "attacks between 1 and %" APR_INT64_T_FMT,
                            cmd->cmd->name, argv[2],
                            (apr_int64_t)RLW_MAX_THRESHOLD);
    if ((err = parse_threshold(cmd, "", argc - 2, argv + 2, &c->net_pairs)))
        return err;
    *field = c->net_pairs.count[0];
    c->net_v4 = (int)v4;
    c->net_v6 = (int)v6;
    return NULL;
}

/* RateLimitWAFStore NAME ["CONFIG"]: NAME from the store registry
 * (rlw_store_registry.c), CONFIG checked by the backend. The entry's field
 * is store_name; store_config goes with it. */
static const char *set_store(cmd_parms *cmd, void *dconf, const char *name,
                             const char *config)
{
    const rlw_store_backend_t *be = rlw_store_backend_find(name);
    const char *err;
    const char **field = field_of(cmd, dconf, name, &err);

    if (!field)
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
    *field = name;
    rlw_module_conf(cmd->server)->store_config = config;
    return NULL;
}

/* RateLimitWAFEngine NAME: a verdict source of rlw_verdict_sources[]. */
static const char *set_engine(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err, *known = "";
    const char **field = field_of(cmd, dconf, arg, &err);
    int i;

    if (!field)
        return err;
    if (rlw_verdict_source_find(arg)) {
        *field = rlw_verdict_source_find(arg)->name;
        return NULL;
    }
    for (i = 0; rlw_verdict_sources[i]; i++)
        known = apr_pstrcat(cmd->pool, known, i ? ", " : "",
                            rlw_verdict_sources[i]->name, NULL);
    return apr_psprintf(cmd->pool, "%s: unknown engine '%s' (known: %s)",
                        cmd->cmd->name, arg, known);
}

/* RateLimitWAFRules PATH-OR-GLOB, repeatable: appended in order; relative
 * paths are under ServerRoot. Files are read at check_config, where a
 * missing file or a rule error is reported with its file and line. */
static const char *add_rules(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err;
    apr_array_header_t **list = field_of(cmd, dconf, arg, &err);
    const char *path;

    if (!list)
        return err;
    if (!*arg)
        return apr_psprintf(cmd->pool,
                            "%s: empty path '' (use a rules file or a glob, "
                            "e.g. /usr/share/modsecurity-crs/rules/*.conf)",
                            cmd->cmd->name);
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path)
        return apr_psprintf(cmd->pool, "%s: bad path '%s'", cmd->cmd->name,
                            arg);
    if (!*list)
        *list = apr_array_make(cmd->pool, 4, sizeof(const char *));
    APR_ARRAY_PUSH(*list, const char *) = path;
    return NULL;
}

/* ---- the string checks --------------------------------------------------- */

static const char *check_event_log(apr_pool_t *p, const char *arg,
                                   const char **value)
{
    const char *why = *arg
                          ? rlw_event_log_check(p, arg)
                          : "empty (use a file, |program or syslog[:facility])";

    (void)value;
    return why ? apr_psprintf(p, "bad target '%s': %s", arg, why) : NULL;
}

static const char *check_score_var(apr_pool_t *p, const char *arg,
                                   const char **value)
{
    const char *c;

    (void)value;
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_')
            break;
    }
    if (!*arg || *c || c - arg > RLW_MAX_SCORE_VAR_LEN)
        return apr_psprintf(p,
                            "'%s' is not an environment variable name "
                            "(letters, digits and _, at most %d)",
                            arg, RLW_MAX_SCORE_VAR_LEN);
    return NULL;
}

/* Read in check_config, once the whole configuration is known, so that
 * `httpd -t` also reports a missing or world-readable file. */
static const char *check_secret_file(apr_pool_t *p, const char *arg,
                                     const char **value)
{
    *value = ap_server_root_relative(p, arg);
    return *value ? NULL : apr_psprintf(p, "bad path '%s'", arg);
}

/* A memcached key prefix: printable, no space or control character (the
 * text protocol would split on them), short enough for 250-byte keys. */
static const char *check_key_prefix(apr_pool_t *p, const char *arg,
                                    const char **value)
{
    (void)value;
    if (!rlw_store_printable(arg, RLW_MAX_KEY_PREFIX_LEN, 0))
        return apr_psprintf(p,
                            "'%s' is not a key prefix (1 to %d printable "
                            "characters, no spaces)",
                            arg, RLW_MAX_KEY_PREFIX_LEN);
    return NULL;
}

/* RateLimitWAFRequestBodyVariable: when the embedded engine fills
 * REQUEST_BODY. */
static const char *check_reqbody_var(apr_pool_t *p, const char *arg,
                                     const char **value)
{
    if (strcasecmp(arg, "urlencoded") == 0)
        *value = "urlencoded";
    else if (strcasecmp(arg, "always") == 0)
        *value = "always";
    else
        return apr_psprintf(p,
                            "unknown value '%s' (urlencoded: as "
                            "mod_security2, always: as libmodsecurity)",
                            arg);
    return NULL;
}

/* A node name travels in journal entries: at most RLW_NODE_NAME_MAX. */
static const char *check_node_name(apr_pool_t *p, const char *arg,
                                   const char **value)
{
    (void)value;
    if (!rlw_store_printable(arg, RLW_NODE_NAME_MAX, 1))
        return apr_psprintf(p,
                            "'%s' is not a node name (1 to %d printable "
                            "characters)",
                            arg, RLW_NODE_NAME_MAX);
    return NULL;
}

/* RateLimitWAFKey NAME "AP_EXPR" THRESHOLD (repeatable); THRESHOLD may be
 * pairs, COUNT WINDOW [COUNT WINDOW ...]. */
static const char *set_key(cmd_parms *cmd, void *dconf, int argc,
                           char *const argv[])
{
    const char *err;
    rlw_srv_conf_t *c = rlw_server_conf(cmd->server);
    apr_int64_t t;
    rlw_pairs_t pairs;
    const char *name = argc > 0 ? argv[0] : "", *expr, *thr;

    if (!field_of(cmd, dconf, name, &err))
        return err;
    if (argc < 3)
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not NAME \"AP_EXPR\" THRESHOLD "
                            "(e.g. api \"%%{HTTP:X-Api-Key}\" 1000)",
                            cmd->cmd->name, join_words(cmd->pool, argc, argv));
    expr = argv[1];
    thr = argv[2];
    if (!rlw_key_name_ok(name))
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a key name (1 to 32 letters, "
                            "digits, '_', '-' or '.')",
                            cmd->cmd->name, name);
    if (argc == 3 && parse_int(thr, 1, RLW_MAX_THRESHOLD, &t))
        return apr_psprintf(cmd->pool,
                            "%s %s: threshold '%s' is not a whole number of "
                            "attacks between 1 and %" APR_INT64_T_FMT,
                            cmd->cmd->name, name, thr,
                            (apr_int64_t)RLW_MAX_THRESHOLD);
    if ((err = parse_threshold(cmd, apr_pstrcat(cmd->pool, " ", name, NULL),
                               argc - 2, argv + 2, &pairs)))
        return err;
    return rlw_key_add(cmd, c, name, expr, &pairs);
}

/* ---- the directive table (docs/directives.md, in the same order) --------- */

const command_rec rlw_cmds[] = {
    RLW_CMD(TAKE1, "RateLimitWAF", set_on_off,
            "On to count ModSecurity attacks and ban clients here",
            IN_SERVER(enabled)),
    RLW_CMD(TAKE1, "RateLimitWAFDryRun", set_on_off,
            "On to count, log and report, but never block", IN_SERVER(dry_run)),
    RLW_CMD(TAKE1, "RateLimitWAFEventLog", set_string,
            "SIEM events: a file, |program or syslog[:facility]",
            IN_MAIN(event_log), .check = check_event_log),
    RLW_CMD(TAKE1, "RateLimitWAFEventQueue", set_count,
            "event lines each process holds for a slow event log",
            IN_MAIN(event_queue), .min = RLW_MIN_EVENT_QUEUE,
            .max = RLW_MAX_EVENT_QUEUE, .what = "a number of event lines"),
    RLW_CMD(TAKE_ARGV, "RateLimitWAFThreshold", set_threshold,
            "attacks in the window that trigger a ban, or COUNT WINDOW pairs "
            "(e.g. 5000 10m 20000 24h)",
            IN_SERVER(threshold), .min = 1, .max = RLW_MAX_THRESHOLD,
            .what = "a whole number of attacks"),
    RLW_CMD(TAKE_ARGV, "RateLimitWAFNetwork", set_network,
            "IPV4-PREFIX IPV6-PREFIX THRESHOLD: attacks of every client of "
            "a network that ban the network, or Off",
            IN_SERVER(net_threshold)),
    RLW_CMD(TAKE_ARGV, "RateLimitWAFKey", set_key,
            "NAME \"AP_EXPR\" THRESHOLD: attacks carrying one value of a "
            "request expression that ban that value (repeatable)",
            IN_SERVER(keys)),
    RLW_CMD(TAKE1, "RateLimitWAFWindow", set_duration,
            "sliding window length (main server only)", IN_MAIN(window_ms)),
    RLW_CMD(TAKE1, "RateLimitWAFBanTime", set_duration, "length of a first ban",
            IN_SERVER(ban_ms)),
    RLW_CMD(TAKE1, "RateLimitWAFBanMax", set_duration, "cap on escalating bans",
            IN_SERVER(ban_max_ms)),
    RLW_CMD(TAKE1, "RateLimitWAFStrikeDecay", set_duration,
            "quiet time after a ban that forgets earlier strikes",
            IN_SERVER(strike_decay_ms)),
    RLW_CMD(TAKE1, "RateLimitWAFBanStatus", set_ban_status,
            "HTTP status answered to a banned client", IN_SERVER(ban_status)),
    RLW_CMD(TAKE1, "RateLimitWAFBanAction", set_ban_action,
            "respond (keep the connection) or close", IN_SERVER(ban_action)),
    RLW_CMD(TAKE1, "RateLimitWAFScoreVar", set_string,
            "environment variable holding the inbound anomaly score",
            IN_SERVER(score_var), .check = check_score_var),
    RLW_CMD(TAKE1, "RateLimitWAFAttackScore", set_count,
            "minimum anomaly score that counts as an attack",
            IN_SERVER(attack_score), .min = 1, .max = RLW_MAX_ATTACK_SCORE,
            .what = "a whole anomaly score"),
    RLW_CMD(ITERATE, "RateLimitWAFExempt", add_network, "networks never banned",
            IN_SERVER(exempt)),
    RLW_CMD(ITERATE, "RateLimitWAFAllow", add_network,
            "shared proxies: short bans, no escalation", IN_SERVER(allow)),
    RLW_CMD(TAKE1, "RateLimitWAFAllowBanTime", set_duration,
            "ban length for RateLimitWAFAllow networks",
            IN_SERVER(allow_ban_ms)),
    RLW_CMD(TAKE1, "RateLimitWAFIPv6Prefix", set_count,
            "IPv6 clients are grouped by this prefix (main server only)",
            IN_MAIN(v6_prefix), .min = RLW_MIN_V6_PREFIX,
            .max = RLW_MAX_V6_PREFIX, .what = "a prefix length"),
    RLW_CMD(TAKE12, "RateLimitWAFStore", set_store,
            "counter store: shm, or memcached \"CONFIG\" (main server only)",
            IN_MAIN(store_name)),
    RLW_CMD(TAKE1, "RateLimitWAFTableSize", set_count,
            "clients tracked in shared memory (main server only)",
            IN_MAIN(table_size), .min = RLW_MIN_TABLE_SIZE,
            .max = RLW_MAX_TABLE_SIZE, .what = "a number of clients"),
    RLW_CMD(TAKE1, "RateLimitWAFSecretFile", set_string,
            "file holding the cluster secret (memcached store)",
            IN_MAIN(secret_file), .check = check_secret_file),
    RLW_CMD(TAKE1, "RateLimitWAFSyncInterval", set_duration,
            "how often a node learns the cluster's bans", IN_MAIN(sync_ms)),
    RLW_CMD(TAKE1, "RateLimitWAFKeyPrefix", set_string,
            "prefix of every memcached key", IN_MAIN(key_prefix),
            .check = check_key_prefix),
    RLW_CMD(TAKE1, "RateLimitWAFMemcachedTimeout", set_duration,
            "connect and I/O timeout of one memcached call",
            IN_MAIN(mc_timeout_ms)),
    RLW_CMD(TAKE1, "RateLimitWAFMemcachedRetry", set_duration,
            "how long a failed memcached server is skipped",
            IN_MAIN(mc_retry_ms)),
    RLW_CMD(TAKE1, "RateLimitWAFNodeName", set_string,
            "this node's name in cluster journal entries", IN_MAIN(node_name),
            .check = check_node_name),
    RLW_CMD(TAKE1, "RateLimitWAFEngine", set_engine,
            "who inspects requests: modsecurity2 (mod_security2) or "
            "modsecurity3 (libmodsecurity, inside this module)",
            IN_SERVER(engine)),
    RLW_CMD(TAKE1, "RateLimitWAFRules", add_rules,
            "a ModSecurity rules file or glob for the modsecurity3 engine "
            "(repeatable, in order)",
            IN_SERVER(rules)),
    RLW_CMD(TAKE1, "RateLimitWAFRequestBodyVariable", set_string,
            "when the modsecurity3 engine fills REQUEST_BODY: urlencoded "
            "(as mod_security2, the default) or always (as libmodsecurity)",
            IN_SERVER(reqbody_var), .check = check_reqbody_var),
    RLW_CMD(TAKE1, "RateLimitWAFAdmin", set_on_off,
            "On to allow ban/unban by POST to ratelimit-waf-status here",
            IN_DIR(admin)),
    {NULL}};

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

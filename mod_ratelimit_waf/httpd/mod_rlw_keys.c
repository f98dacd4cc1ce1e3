/* mod_rlw_keys.c - request keys (RateLimitWAFKey): what the directive
 * records, the secret their values are hashed with, the key subjects of a
 * request, and what an attack counted for a key led to.
 *
 * A key value (an API key, a session cookie) is a secret of the client's:
 * it is hashed here, as soon as it is read, with HMAC-SHA256 under the key
 * secret (rlw_key_hash()), and only the hash goes on: to the store, the
 * logs, the events and the status page.
 */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <ap_expr.h>

#include "mod_rlw.h"
#include "rlw_duration.h"
#include "rlw_keyorder.h"
#include "rlw_log.h"
#include "rlw_subject.h"
#include "rlw_time.h"

APLOG_USE_MODULE(ratelimit_waf);

const unsigned char *rlw_the_key_secret = NULL;

/* The key secret's HMAC, prepared once per configuration (its padded key
 * blocks hashed): read-only, shared by every thread of a child. */
static rlw_key_hasher_t hasher;

static apr_status_t clear_hasher(void *unused)
{
    (void)unused;
    rlw_key_hasher_clear(&hasher);
    return APR_SUCCESS;
}

/* ---- configuration (RateLimitWAFKey; mod_rlw_config.c parses the
 * arguments) ----------------------------------------------------------- */

/* The NAMEs of every RateLimitWAFKey read so far, in order of first
 * appearance (a key subject's prefix is the index): kept with the
 * configuration pool, so each read of the configuration starts afresh. */
apr_array_header_t *rlw_key_registry(apr_pool_t *pconf)
{
    static const char tag[] = "rlw-key-names";
    void *v = NULL;

    apr_pool_userdata_get(&v, tag, pconf);
    if (!v) {
        v = apr_array_make(pconf, RLW_KEYS_MAX, sizeof(const char *));
        apr_pool_userdata_set(v, tag, apr_pool_cleanup_null, pconf);
    }
    return v;
}

/* The nodes of a cluster compare these NAMEs (rlw_keyorder.h): one rule. */
int rlw_key_name_ok(const char *n)
{
    return rlw_keyorder_name_ok(n);
}

/* NAME when expr is exactly %{HTTP:NAME} or %{req:NAME} (any case; NAME
 * an HTTP token), else NULL: such a key reads the header directly. */
static const char *plain_header(apr_pool_t *p, const char *expr)
{
    const char *n, *end;

    if (!strncasecmp(expr, "%{HTTP:", 7))
        n = expr + 7;
    else if (!strncasecmp(expr, "%{req:", 6))
        n = expr + 6;
    else
        return NULL;
    for (end = n; *end && *end != '}'; end++)
        if (!apr_isalnum(*end) && !strchr("!#$%&'*+-.^_`|~", *end))
            return NULL;
    if (end == n || *end != '}' || end[1])
        return NULL;
    return apr_pstrmemdup(p, n, (apr_size_t)(end - n));
}

const char *rlw_key_add(cmd_parms *cmd, rlw_srv_conf_t *c, const char *name,
                        const char *expr, const rlw_pairs_t *pairs)
{
    apr_array_header_t *names;
    rlw_key_conf_t *k;
    const char *err = NULL;
    int i;

    if (!c->keys)
        c->keys = apr_array_make(cmd->pool, 2, sizeof(rlw_key_conf_t));
    for (i = 0; i < c->keys->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(c->keys, i, rlw_key_conf_t).name, name))
            return apr_psprintf(cmd->pool,
                                "%s: key name '%s' is already used in this "
                                "server",
                                cmd->cmd->name, name);
    if (c->keys->nelts >= RLW_KEYS_PER_SERVER)
        return apr_psprintf(cmd->pool,
                            "%s %s: too many keys (at most %d per server)",
                            cmd->cmd->name, name, RLW_KEYS_PER_SERVER);
    k = apr_array_push(c->keys);
    memset(k, 0, sizeof(*k));
    k->name = apr_pstrdup(cmd->pool, name);
    k->expr_text = apr_pstrdup(cmd->pool, expr);
    k->threshold = pairs->count[0];
    k->pairs = *pairs;
    /* A string; never a Vary header for the headers it reads (the
     * module's bookkeeping is no content negotiation); no file functions,
     * which would read a file on every request. */
    k->expr =
        ap_expr_parse_cmd(cmd, expr,
                          AP_EXPR_FLAG_STRING_RESULT | AP_EXPR_FLAG_DONT_VARY |
                              AP_EXPR_FLAG_RESTRICTED,
                          &err, NULL);
    if (err) {
        c->keys->nelts--;
        return apr_psprintf(cmd->pool, "%s %s: cannot parse '%s': %s",
                            cmd->cmd->name, name, expr, err);
    }
    k->header = plain_header(cmd->pool, expr);
    names = rlw_key_registry(cmd->pool);
    for (i = 0; i < names->nelts; i++)
        if (!strcmp(APR_ARRAY_IDX(names, i, const char *), name))
            break;
    if (i == names->nelts) {
        if (names->nelts >= RLW_KEYS_MAX) {
            c->keys->nelts--;
            return apr_psprintf(cmd->pool,
                                "%s %s: too many key names (at most %d in "
                                "the configuration)",
                                cmd->cmd->name, name, RLW_KEYS_MAX);
        }
        APR_ARRAY_PUSH(names, const char *) = k->name;
    }
    k->idx = (unsigned)i;
    return NULL;
}

/* The configuration's key names (rlw_module_conf_t.key_names). */
static const apr_array_header_t *key_names = NULL;

const char *rlw_key_name(unsigned idx)
{
    if (!key_names || idx >= (unsigned)key_names->nelts)
        return NULL;
    return APR_ARRAY_IDX(key_names, idx, const char *);
}

/* The random key secret of a server with no RateLimitWAFSecretFile: made
 * once per httpd parent and kept in the process pool, so that a graceful
 * restart (which keeps the bans) keeps the hashes they are known by; the
 * children inherit it at fork. A full restart makes a new one: running key
 * bans no longer match and end by themselves. */
static const unsigned char *random_secret(server_rec *s)
{
    static const char tag[] = "rlw-key-secret";
    apr_pool_t *pp = s->process->pool;
    void *v = NULL;
    rlw_keys_t *k;

    apr_pool_userdata_get(&v, tag, pp);
    if (v)
        return ((rlw_keys_t *)v)->key;
    k = apr_pcalloc(pp, sizeof(*k));
    if (rlw_keys_random_key(k) != 0)
        return NULL;
    apr_pool_userdata_set(k, tag, apr_pool_cleanup_null, pp);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "RLW00059: request keys are hashed with a random secret "
                 "of this server (no RateLimitWAFSecretFile): hashes change "
                 "at each full restart, and rlwafctl cannot hash a value");
    return k->key;
}

static int any_keys(server_rec *s)
{
    for (; s; s = s->next)
        if (rlw_server_conf(s)->enabled > 0 && rlw_server_conf(s)->keys &&
            rlw_server_conf(s)->keys->nelts > 0)
            return 1;
    return 0;
}

int rlw_keys_post_config(apr_pool_t *pconf, server_rec *s)
{
    rlw_module_conf_t *mod = rlw_module_conf(s);

    key_names = mod->key_names;
    rlw_the_key_secret = NULL;
    rlw_key_hasher_clear(&hasher);
    if (!any_keys(s))
        return OK;
    rlw_the_key_secret = mod->keys ? mod->keys->key : random_secret(s);
    if (rlw_the_key_secret &&
        rlw_key_hasher_init(&hasher, rlw_the_key_secret) != 0)
        rlw_the_key_secret = NULL;
    else
        apr_pool_cleanup_register(pconf, NULL, clear_hasher,
                                  apr_pool_cleanup_null);
    if (!rlw_the_key_secret) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "RLW00060: RateLimitWAFKey: cannot make a random "
                     "secret for request keys (set RateLimitWAFSecretFile)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

void rlw_req_keys(request_rec *r, const rlw_srv_conf_t *c, rlw_req_t *rq)
{
    unsigned char hash[RLW_KEY_HASH_LEN];
    int i;

    if (rq->keys_done)
        return;
    rq->keys_done = 1;
    if (!c->keys || !rlw_the_key_secret)
        return;
    for (i = 0; i < c->keys->nelts && rq->nkeys < RLW_KEYS_PER_SERVER; i++) {
        const rlw_key_conf_t *k = &APR_ARRAY_IDX(c->keys, i, rlw_key_conf_t);
        const char *err = NULL, *v;

        /* A plain request header is read as the expression would read it
         * (the first one of that name), without the expression engine. */
        v = k->header ? apr_table_get(r->headers_in, k->header)
                      : ap_expr_str_exec(r, k->expr, &err);

        if (err) {
            /* The expression's error, never the value. */
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "RLW00061: RateLimitWAFKey %s: '%s' failed: %s; "
                          "not counted",
                          k->name, k->expr_text, err);
            continue;
        }
        if (!v || !*v)
            continue; /* empty: no key, nothing counted */
        if (rlw_key_hasher_hash(&hasher, k->name, v, strlen(v), hash) ||
            rlw_subject_key(k->idx, hash, rq->client.scope,
                            &rq->keys[rq->nkeys]))
            continue;
        rq->keyconf[rq->nkeys++] = k;
    }
}

void rlw_report_key_attack(request_rec *r, const rlw_srv_conf_t *c,
                           const rlw_req_t *rq, int i, const rlw_attack_t *a)
{
    const rlw_key_conf_t *k = rq->keyconf[i];
    char subj[RLW_ADDR_STRLEN], who[RLW_ADDR_STRLEN], win[32], len[32];
    char until[RLW_TIME_ISO_LEN];
    const char *hash;
    rlw_event_t ev;
    rlw_limit_t l;
    uint32_t count;
    int near = rlw_reported_pair(&k->policy, RLW_CLASS_NORMAL, a, &l, &count);

    rlw_attack_event_init(&ev, r, c, &rq->keys[i], "normal", a, &l, count);
    ev.key_name = k->name;
    rlw_addr_format(&rq->keys[i], subj, sizeof(subj));
    hash = strchr(subj, ':') ? strchr(subj, ':') + 1 : subj;
    rlw_addr_format(&rq->client, who, sizeof(who));
    rlw_duration_format(l.window_ms, win, sizeof(win));
    if (a->verdict.kind == RLW_VERDICT_BAN) {
        rlw_time_iso8601(a->ban.until_ms, 0, until, sizeof(until));
        /* The hash's first 16 hex digits: enough to tell keys apart in a
         * log, and what rlwafctl and the status page show in full. */
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "RLW00056: ban key=%s hash=%.16s count=%u window=%s "
                      "ban=%s strike=%u until=%s last_client=%s "
                      "threshold=%u%s",
                      k->name, hash, a->count, win,
                      rlw_duration_format(a->verdict.ban_ms, len, sizeof(len)),
                      a->verdict.strike, until, who, l.threshold,
                      c->dry_run ? " dry_run=1" : "");
        rlw_attack_event_emit(&ev, RLW_EV_BAN, c, a);
        return;
    }
    if (near) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "RLW00057: near threshold key=%s hash=%.16s count=%u "
                      "of %u window=%s last_client=%s",
                      k->name, hash, count, l.threshold, win, who);
        rlw_attack_event_emit(&ev, RLW_EV_NEAR_THRESHOLD, c, a);
    }
}

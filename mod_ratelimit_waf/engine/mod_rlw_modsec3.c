/* mod_rlw_modsec3.c - the modsecurity3 verdict source: libmodsecurity v3
 * inside the module (RateLimitWAFEngine modsecurity3).
 *
 * The module inspects the requests of the servers that choose this engine
 * itself, with libmodsecurity opened at run time (rlw_msc3_api.h), and
 * reads the verdict from the engine, not from the environment:
 *   check_config       opens the library, parses each server's
 *                      RateLimitWAFRules once, in the parent (a rule error
 *                      fails httpd -t with the library's file and line);
 *                      the engine and rule sets go with the configuration
 *                      pool, shared read-only by every child and thread
 *   post_read_request  after the ban check: a banned request gets no
 *                      transaction at all; others get one (connection,
 *                      URI, headers) and phase 1
 *   fixups             the request body, read through the input filters,
 *                      appended and kept for the handler (in memory up to
 *                      RLW_MSC3_BODY_MEM, then in a temporary file); phase
 *                      2 for every request, body or not
 *   output filter      the response headers, phase 3; with
 *                      SecResponseBodyAccess On, the response body (held
 *                      within SecResponseBodyLimit) and phase 4
 *   log_transaction    phase 5, then the transaction is freed; the verdict
 *                      (anomaly score from the module's own phase-5 rule's
 *                      message, rule ids from the others) is read by the
 *                      module's log_transaction right after
 * The filters (body replay, phases 3 and 4) are in mod_rlw_msc3_io.c.
 * Rule messages reach httpd's error log in mod_security2's shape through
 * the library's log callback (rlw_msc3_msg.c). One transaction per
 * top-level request: internal redirects and subrequests find it there.
 */
#include <stddef.h> /* offsetof, before APR: its ring macros use it */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "mod_rlw_verdict.h"
#include "rlw_modsec.h"
#include "rlw_msc3_api.h"
#include "rlw_msc3_msg.h"
#include "rlw_msc3_rules.h"
#include "mod_rlw_msc3.h"

APLOG_USE_MODULE(ratelimit_waf);

extern const rlw_verdict_source_t rlw_verdict_modsec3;

/* The library (once per process) and this configuration's engine. */
const rlw_msc3_api_t *rlw_msc3_lib;
static rlw_msc_engine_t *engine;

/* The score rule's marker, random per configuration (rlw_msc3_msg.h). */
static char nonce[RLW_MSC3_NONCE_LEN + 1];

/* What check_config built, for the RLW00070 line. */
static struct {
    int sets, bodies;
    apr_time_t ms;
} loaded;

static int uses_msc3(const rlw_srv_conf_t *c)
{
    return rlw_verdict_source_of(c) == &rlw_verdict_modsec3;
}

static request_rec *top_of(request_rec *r)
{
    while (r->prev)
        r = r->prev;
    while (r->main)
        r = r->main;
    return r;
}

/* r's transaction state, or NULL (not inspected, or banned). */
msc3_req_t *rlw_msc3_state(request_rec *r)
{
    rlw_req_t *rq = rlw_req_state(top_of(r), 0);

    return rq ? rq->engine : NULL;
}

/* ---- configuration: the library, the engine, the rule sets ------------- */

static apr_status_t cleanup_engine(void *e)
{
    rlw_msc3_lib->msc_cleanup(e);
    engine = NULL;
    return APR_SUCCESS;
}

static apr_status_t cleanup_rules(void *rules)
{
    rlw_msc3_lib->msc_rules_cleanup(rules);
    return APR_SUCCESS;
}

static void log_cb(void *data, const void *msg);

static int add_header(void *tx, const char *key, const char *value)
{
    rlw_msc3_lib->msc_add_n_request_header(
        tx, (const unsigned char *)key, strlen(key),
        (const unsigned char *)value, strlen(value));
    return 1;
}

/* The rules of text, from file, into rules: with the directory of file as
 * the working directory meanwhile, so that the relative paths the rules
 * name (@pmFromFile, Include, SecUnicodeMapFile...), which the library
 * looks up beside the current directory and beside the rules file (unknown
 * for a text), are found where they would be for the file. The parent
 * runs this alone, before any thread or child exists. */
static int add_text_of(apr_pool_t *p, rlw_msc_rules_t *rules, const char *file,
                       const char *text, const char **error)
{
    const char *slash = strrchr(file, '/');
    int cwd = -1, n;

    if (slash) {
        cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0 ||
            chdir(slash == file
                      ? "/"
                      : apr_pstrndup(p, file, (apr_size_t)(slash - file))) !=
                0) {
            if (cwd >= 0)
                close(cwd);
            cwd = -1;
        }
    }
    n = rlw_msc3_lib->msc_rules_add(rules, text, error);
    if (cwd >= 0) {
        if (fchdir(cwd) != 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, errno, NULL,
                         "RLW00086: cannot return to the working directory "
                         "after loading %s",
                         file);
        close(cwd);
    }
    return n;
}

/* Adds one rules file; NULL or the error (the library names file and
 * line). The file is read first (rlw_msc3_rules.h): when a rule needs a
 * fix-up (its log flag, its operator's backslashes), the fixed text is
 * loaded instead, and the ids of its rules are kept in rs->files with the
 * file's name. */
static const char *add_file(apr_pool_t *p, msc3_rules_t *rs,
                            rlw_msc3_logfix_t *st, const char *pattern,
                            const char *file)
{
    const char *error = NULL;
    const char *err = NULL, *fixed = NULL;
    apr_array_header_t *ids;
    apr_pool_t *tp;
    apr_file_t *f;
    apr_finfo_t fi;
    char *text;
    apr_size_t got = 0;
    int i;

    apr_pool_create(&tp, p);
    ids = apr_array_make(tp, 64, sizeof(uint32_t));
    /* Unreadable: the library says why. */
    if (apr_file_open(&f, file, APR_FOPEN_READ | APR_FOPEN_BINARY,
                      APR_OS_DEFAULT, tp) == APR_SUCCESS) {
        if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) == APR_SUCCESS &&
            fi.size >= 0 && (text = apr_palloc(tp, (apr_size_t)fi.size + 1)) &&
            apr_file_read_full(f, text, (apr_size_t)fi.size, &got) ==
                APR_SUCCESS) {
            text[got] = '\0';
            fixed = rlw_msc3_logfix(tp, st, text, got, ids);
        }
        apr_file_close(f);
    }
    if (fixed ? add_text_of(tp, rs->rules, file, fixed, &error) < 0
              : rlw_msc3_lib->msc_rules_add_file(rs->rules, file, &error) < 0)
        err = apr_psprintf(p, "RateLimitWAFRules %s: %s%s%s", pattern,
                           fixed ? file : "", fixed ? ": " : "",
                           error ? error : "cannot load the rules");
    free((void *)error);
    if (fixed && !err) {
        const char *name = apr_pstrdup(p, file);

        if (!rs->files)
            rs->files = apr_hash_make(p);
        for (i = 0; i < ids->nelts; i++)
            apr_hash_set(rs->files,
                         apr_pmemdup(p, &APR_ARRAY_IDX(ids, i, uint32_t),
                                     sizeof(uint32_t)),
                         sizeof(uint32_t), name);
    }
    apr_pool_destroy(tp);
    return err;
}

const char *rlw_msc3_real_file(apr_pool_t *p, const msc3_rules_t *rs,
                               const char *msg)
{
    const char *file;
    uint32_t id;

    if (!rs || !rs->files || !rlw_msc3_rule_id(msg, &id) ||
        (file = apr_hash_get(rs->files, &id, sizeof(id))) == NULL)
        return msg;
    return rlw_msc3_set_file(p, msg, file);
}

/* Sends one made-up request through rules, up to phase 4: 1 when the probe
 * rule spoke, that is when the rule set runs phase 4 (the C API has no
 * other way to read SecResponseBodyAccess). No phase 5: no audit log. */
static int runs_phase4(rlw_msc_rules_t *rules)
{
    msc3_req_t probe;
    rlw_msc_intervention_t it = {200, 0, NULL, NULL, 0};
    rlw_msc_tx_t *tx;
    char h[64];

    memset(&probe, 0, sizeof(probe));
    snprintf(h, sizeof(h), "X-RLW-Probe-%s", nonce);
    tx = rlw_msc3_lib->msc_new_transaction_with_id(engine, rules,
                                                   (char *)"rlw-probe", &probe);
    if (!tx)
        return 0;
    rlw_msc3_lib->msc_process_connection(tx, "127.0.0.1", 0, "127.0.0.1", 0);
    rlw_msc3_lib->msc_process_uri(tx, "/", "GET", "1.1");
    add_header(tx, "Host", "localhost");
    add_header(tx, h, "1");
    rlw_msc3_lib->msc_process_request_headers(tx);
    rlw_msc3_lib->msc_process_request_body(tx);
    rlw_msc3_lib->msc_add_n_response_header(
        tx, (const unsigned char *)"Content-Type", 12,
        (const unsigned char *)"text/html", 9);
    rlw_msc3_lib->msc_process_response_headers(tx, 200, "HTTP/1.1");
    rlw_msc3_lib->msc_process_response_body(tx);
    rlw_msc3_lib->msc_intervention(tx, &it);
    free(it.url);
    free(it.log);
    rlw_msc3_lib->msc_transaction_cleanup(tx);
    return probe.probed;
}

/* Builds the rule set of one RateLimitWAFRules list into *out (freed with
 * p): every file in order, a glob's files sorted by name, then (with
 * reqbody_parity) the rules that keep REQUEST_BODY as mod_security2 fills
 * it (rlw_msc3_reqbody_rules()), the score and probe rules; then probes
 * it. NULL or the error. */
static const char *build_rules(apr_pool_t *p, const apr_array_header_t *list,
                               int reqbody_parity, msc3_rules_t **out)
{
    const char *reqbody;
    msc3_rules_t *rs = apr_pcalloc(p, sizeof(*rs));
    rlw_msc_rules_t *rules = rlw_msc3_lib->msc_create_rules_set();
    const char *error = NULL, *err = NULL;
    rlw_msc3_logfix_t st;
    int i;

    if (!rules)
        return "libmodsecurity cannot create a rule set";
    apr_pool_cleanup_register(p, rules, cleanup_rules, apr_pool_cleanup_null);
    rs->rules = rules;
    rlw_msc3_logfix_init(&st);
    st.drop_ids = apr_array_make(p, 4, sizeof(uint32_t));
    if (reqbody_parity) {
        st.reqbody_ids = apr_array_make(p, 16, sizeof(uint32_t));
        st.mark_force = 1;
    }
    for (i = 0; i < list->nelts && !err; i++) {
        const char *pattern = APR_ARRAY_IDX(list, i, const char *);
        glob_t g;
        size_t k;
        int rc;

        if (!strpbrk(pattern, "*?[")) {
            err = add_file(p, rs, &st, pattern, pattern);
            continue;
        }
        rc = glob(pattern, GLOB_ERR, NULL, &g);
        if (rc == GLOB_NOMATCH)
            err = apr_psprintf(p, "RateLimitWAFRules %s: matches no file",
                               pattern);
        else if (rc)
            err = apr_psprintf(p, "RateLimitWAFRules %s: cannot read it",
                               pattern);
        for (k = 0; !rc && k < g.gl_pathc && !err; k++)
            err = add_file(p, rs, &st, pattern, g.gl_pathv[k]);
        if (rc != GLOB_NOMATCH)
            globfree(&g);
    }
    for (i = 0; i < st.drop_ids->nelts; i++) {
        if (!rs->drops)
            rs->drops = apr_hash_make(p);
        apr_hash_set(rs->drops, &APR_ARRAY_IDX(st.drop_ids, i, uint32_t),
                     sizeof(uint32_t), "");
    }
    reqbody = reqbody_parity ? rlw_msc3_reqbody_rules(p, st.reqbody_ids) : NULL;
    if (!err && reqbody &&
        rlw_msc3_lib->msc_rules_add(rules, reqbody, &error) < 0)
        err = apr_psprintf(
            p, "the module's rules (ids %d, %d): %s", RLW_MSC3_REQBODY_RULE_ID,
            RLW_MSC3_REQBODY_NONE_RULE_ID, error ? error : "refused");
    free((void *)error);
    error = NULL;
    if (!err && (rlw_msc3_lib->msc_rules_add(
                     rules, rlw_msc3_score_rule(p, nonce), &error) < 0 ||
                 rlw_msc3_lib->msc_rules_add(
                     rules, rlw_msc3_probe_rule(p, nonce), &error) < 0))
        err = apr_psprintf(p, "the module's rules (ids %d, %d): %s",
                           RLW_MSC3_SCORE_RULE_ID, RLW_MSC3_PROBE_RULE_ID,
                           error ? error : "refused");
    free((void *)error);
    if (!err)
        rs->response_body = runs_phase4(rules);
    *out = rs;
    return err;
}

/* The start of mod_security2's per-directory record (struct
 * directory_config of ModSecurity 2.9, apache2/modsecurity.h): read only
 * to tell whether its rule engine is on in a server. */
typedef struct modsec2_dir_head {
    apr_pool_t *mp;
    void *ruleset;
    int is_enabled; /* -1 unset, 0 Off, 1 DetectionOnly, 2 On */
} modsec2_dir_head_t;

/* 1 when mod_security2 is loaded and its rule engine is not Off in s's
 * server-wide configuration: the engines would both inspect s's requests.
 * (A SecRuleEngine inside <Location> of such a server is not seen.) */
static int modsec2_inspects(server_rec *s)
{
    module *m = ap_find_linked_module("mod_security2.c");
    const modsec2_dir_head_t *d;

    if (!m || !s->lookup_defaults)
        return 0;
    d = ap_get_module_config(s->lookup_defaults, m);
    return d && d->is_enabled > 0;
}

static const char *server_name(apr_pool_t *p, server_rec *s)
{
    return apr_psprintf(p, "%s:%u",
                        s->server_hostname ? s->server_hostname : "?",
                        (unsigned)s->port);
}

static int fail(server_rec *s, const char *tag, const char *err)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_CRIT, 0, s, "%s: %s", tag,
                 err);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* Runs in httpd -t too, so that a missing library, a rule error or a
 * doubly inspected server fails the test. */
static int msc3_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *main_s)
{
    apr_hash_t *built = apr_hash_make(ptemp);
    unsigned char raw[RLW_MSC3_NONCE_LEN / 2];
    char err[512];
    server_rec *s;
    apr_time_t t0 = apr_time_now();
    int nsets = 0, nbody = 0;

    (void)plog;
    engine = NULL;
    for (s = main_s; s && !uses_msc3(rlw_server_conf(s)); s = s->next)
        ;
    if (!s)
        return OK;
    if (!rlw_msc3_lib &&
        !(rlw_msc3_lib = rlw_msc3_load(NULL, err, sizeof(err))))
        return fail(s, "RLW00065",
                    apr_psprintf(ptemp,
                                 "RateLimitWAFEngine modsecurity3 (server "
                                 "%s): %s (Debian: apt-get install "
                                 "libmodsecurity3)",
                                 server_name(ptemp, s), err));
    if (!rlw_msc3_isolated() && ap_find_linked_module("mod_security2.c"))
        return fail(s, "RLW00065",
                    "RateLimitWAFEngine modsecurity3: this build of the "
                    "module (sanitizers) opens libmodsecurity without "
                    "RTLD_DEEPBIND, so it cannot share a process with "
                    "mod_security2: do not load mod_security2");
    if (apr_generate_random_bytes(raw, sizeof(raw)) != APR_SUCCESS)
        return fail(s, "RLW00066", "no random bytes for the score rule");
    ap_bin2hex(raw, sizeof(raw), nonce);
    engine = rlw_msc3_lib->msc_init();
    if (!engine)
        return fail(s, "RLW00066", "libmodsecurity cannot start");
    apr_pool_cleanup_register(pconf, engine, cleanup_engine,
                              apr_pool_cleanup_null);
    rlw_msc3_lib->msc_set_connector_info(engine, "mod_ratelimit_waf");
    rlw_msc3_lib->msc_set_log_cb(engine, log_cb);

    for (s = main_s; s; s = s->next) {
        rlw_srv_conf_t *c = rlw_server_conf(s);
        msc3_rules_t *rules;
        const char *why, *key;
        int parity;

        if (!uses_msc3(c))
            continue;
        if (!c->rules || !c->rules->nelts)
            return fail(s, "RLW00067",
                        apr_psprintf(ptemp,
                                     "RateLimitWAFEngine modsecurity3 needs "
                                     "RateLimitWAFRules (server %s)",
                                     server_name(ptemp, s)));
        if (modsec2_inspects(s))
            return fail(s, "RLW00068",
                        apr_psprintf(ptemp,
                                     "RateLimitWAFEngine modsecurity3 in "
                                     "server %s, where mod_security2's "
                                     "SecRuleEngine is not Off: each request "
                                     "would be inspected twice (write "
                                     "SecRuleEngine Off in that server)",
                                     server_name(ptemp, s)));
        /* Servers that inherit the same list (and REQUEST_BODY setting)
         * share one rule set. */
        parity = !c->reqbody_var || strcmp(c->reqbody_var, "always") != 0;
        key = apr_psprintf(ptemp, "%pp %d", (void *)c->rules, parity);
        rules = apr_hash_get(built, key, APR_HASH_KEY_STRING);
        if (!rules) {
            if ((why = build_rules(pconf, c->rules, parity, &rules)) != NULL)
                return fail(s, "RLW00069", why);
            apr_hash_set(built, key, APR_HASH_KEY_STRING, rules);
            nsets++;
        }
        c->engine_rules = rules;
        if (rules->response_body)
            nbody++;
    }
    loaded.sets = nsets;
    loaded.bodies = nbody;
    loaded.ms = apr_time_as_msec(apr_time_now() - t0);
    return OK;
}

/* Reported once the error log is open (check_config writes to the console
 * at start-up). */
static int msc3_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (engine)
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "RLW00070: %s: %d rule set(s) loaded in %" APR_TIME_T_FMT
                     " ms, %d inspecting response bodies",
                     rlw_msc3_lib->msc_who_am_i(engine), loaded.sets, loaded.ms,
                     loaded.bodies);
    return OK;
}

/* ---- interventions and messages -------------------------------------- */

/* The library's rule messages: the score rule's is kept, the others go to
 * the error log in mod_security2's shape and name the rules matched. The
 * text is data, never a format. */
static void log_cb(void *data, const void *msg)
{
    msc3_req_t *t = data;
    const char *text = msg;
    rlw_waf_verdict_t *v;
    uint32_t id;
    long score;
    int i;

    if (!t || !text)
        return;
    /* The probe transaction of a rule set being built: nothing is logged. */
    if (!t->r) {
        t->probed |= rlw_msc3_is_probe(text, nonce);
        return;
    }
    if (rlw_msc3_is_probe(text, nonce))
        return;
    switch (rlw_msc3_score(text, nonce, &score)) {
    case 1:
        t->score = score;
        return;
    case -1:
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, t->r,
                      "RLW00071: the score rule reported no whole anomaly "
                      "score; request not counted");
        return;
    default:
        break;
    }
    v = &t->rq->waf;
    if (rlw_msc3_rule_id(text, &id) && !rlw_crs_is_summary(id) &&
        v->nrules < RLW_WAF_RULES_MAX) {
        for (i = 0; i < v->nrules && v->rules[i] != id; i++)
            ;
        if (i == v->nrules)
            v->rules[v->nrules++] = id;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, t->r, "%s [rlw \"RLW00072\"]",
                  rlw_msc3_format(t->r->pool,
                                  rlw_msc3_real_file(t->r->pool, t->rs, text),
                                  t->r->useragent_ip));
}

/* Is the intervention's rule one whose action is drop (rs->drops)? The id
 * is read from the intervention's message, where attacker text comes
 * before the metadata (rlw_msc3_rule_id()): crafted input can at worst
 * have its own request dropped instead of denied. */
static int is_drop(const msc3_rules_t *rs, const char *log)
{
    uint32_t id;

    return rs->drops && log && rlw_msc3_rule_id(log, &id) &&
           apr_hash_get(rs->drops, &id, sizeof(id)) != NULL;
}

/* The intervention's message as mod_security2 words a drop: "Access
 * denied with connection close (phase N)." for the library's "Access
 * denied with code 403 (phase N).". */
static const char *drop_text(apr_pool_t *p, const char *log)
{
    static const char head[] = "ModSecurity: Access denied with code ";
    const char *at = strstr(log, head), *rest;

    /* (the library's text comes first, attacker text only after it) */
    if (!at)
        return log;
    rest = at + sizeof(head) - 1;
    while (*rest >= '0' && *rest <= '9')
        rest++;
    return apr_pstrcat(p, apr_pstrndup(p, log, (apr_size_t)(at - log)),
                       "ModSecurity: Access denied with connection close", rest,
                       NULL);
}

/* Drops r's connection as mod_security2 does for `drop`: the client gets
 * no answer. The socket is shut down, not closed (mod_security2 closes
 * it): the MPM still owns the descriptor and closes it after the request;
 * httpd's error response then goes nowhere (the connection is aborted).
 * Under HTTP/2 the whole connection goes (its socket is the master's).
 * 1 when done. */
static int drop_connection(request_rec *r)
{
    conn_rec *c = r->connection->master ? r->connection->master : r->connection;
    apr_socket_t *csd = ap_get_conn_socket(c);

    if (!csd || apr_socket_shutdown(csd, APR_SHUTDOWN_READWRITE) != APR_SUCCESS)
        return 0;
    c->aborted = 1;
    c->keepalive = AP_CONN_CLOSE;
    r->connection->aborted = 1;
    r->connection->keepalive = AP_CONN_CLOSE;
    return 1;
}

/* Acts on the intervention the last phase left, if any: logs it and
 * returns the status to answer (deny: the rule's status, 403 by default;
 * redirect: a 3xx with Location; drop: the connection is shut without an
 * answer, 403 for the access log), else DECLINED. libmodsecurity 3.0 runs
 * drop as deny: the module knows a drop by its rule (rs->drops). */
int rlw_msc3_act(request_rec *r, msc3_req_t *t)
{
    rlw_msc_intervention_t it = {200, 0, NULL, NULL, 0};
    int status, dropped = 0;

    if (!rlw_msc3_lib->msc_intervention(t->tx, &it)) {
        free(it.url);
        free(it.log);
        return DECLINED;
    }
    status = it.status;
    if (it.url) {
        apr_table_set(r->headers_out, "Location", it.url);
        if (!ap_is_HTTP_REDIRECT(status))
            status = HTTP_MOVED_TEMPORARILY;
    } else if (status < 400 || status > 599) {
        status = HTTP_FORBIDDEN;
    }
    if (!it.url && is_drop(t->rs, it.log)) {
        dropped = drop_connection(r);
        if (dropped)
            status = HTTP_FORBIDDEN;
    }
    if (it.log)
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r, "%s [rlw \"RLW00073\"]",
            rlw_msc3_format(r->pool,
                            rlw_msc3_real_file(
                                r->pool, t->rs,
                                dropped ? drop_text(r->pool, it.log) : it.log),
                            r->useragent_ip));
    free(it.url);
    free(it.log);
    t->answered = 1;
    return status;
}

/* ---- the request: phase 1 ---------------------------------------------- */

static apr_status_t cleanup_tx(void *data)
{
    msc3_req_t *t = data;

    if (t->tx)
        rlw_msc3_lib->msc_transaction_cleanup(t->tx);
    t->tx = NULL;
    return APR_SUCCESS;
}

/* The transaction's id: mod_unique_id's, else one made here (the library's
 * own would cost a clock read and a random number). */
static char *tx_id(request_rec *r)
{
    static apr_uint32_t seq;
    const char *id = apr_table_get(r->subprocess_env, "UNIQUE_ID");

    if (id)
        return apr_pstrdup(r->pool, id);
    return apr_psprintf(r->pool, "%" APR_TIME_T_FMT "-%ld-%u", r->request_time,
                        (long)getpid(), apr_atomic_inc32(&seq));
}

static int msc3_post_read_request(request_rec *r)
{
    const rlw_srv_conf_t *c = rlw_server_conf(r->server);
    apr_sockaddr_t *ua = r->useragent_addr, *la = r->connection->local_addr;
    rlw_req_t *rq;
    msc3_req_t *t;

    if (r->main || r->prev || !engine || !uses_msc3(c) || !c->engine_rules)
        return DECLINED;
    rq = rlw_req_state(r, 1);
    if (rq->banned)
        return DECLINED; /* the ban check answers it: no WAF work at all */
    t = apr_pcalloc(r->pool, sizeof(*t));
    t->r = r;
    t->rq = rq;
    t->rs = c->engine_rules;
    t->score = -1;
    t->tx = rlw_msc3_lib->msc_new_transaction_with_id(engine, t->rs->rules,
                                                      tx_id(r), t);
    if (!t->tx) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "RLW00074: libmodsecurity could not start a "
                      "transaction; request not inspected");
        return DECLINED;
    }
    apr_pool_cleanup_register(r->pool, t, cleanup_tx, apr_pool_cleanup_null);
    rq->engine = t;
    rlw_msc3_lib->msc_process_connection(
        t->tx, r->useragent_ip ? r->useragent_ip : "", ua ? ua->port : 0,
        r->connection->local_ip ? r->connection->local_ip : "",
        la ? la->port : 0);
    rlw_msc3_lib->msc_process_uri(
        t->tx, r->unparsed_uri ? r->unparsed_uri : "/", r->method,
        apr_psprintf(r->pool, "%d.%d", HTTP_VERSION_MAJOR(r->proto_num),
                     HTTP_VERSION_MINOR(r->proto_num)));
    apr_table_do(add_header, t->tx, r->headers_in, NULL);
    rlw_msc3_lib->msc_process_request_headers(t->tx);
    return rlw_msc3_act(r, t);
}

/* ---- phase 2 ------------------------------------------------------------ */

/* Whether the client sends a body: ap_request_has_body() without its
 * r->header_only test, which says no for every HEAD request. A HEAD with a
 * body is read like any other (httpd's HTTP input filter frames it by
 * Transfer-Encoding and Content-Length, not by method), as mod_security2
 * reads it, so that its rules see it (CRS 920171, 920640). */
static int sends_body(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t n;

    return r->kept_body || apr_table_get(r->headers_in, "Transfer-Encoding") ||
           (cl && apr_strtoff(&n, cl, NULL, 10) == APR_SUCCESS && n > 0);
}

static int msc3_fixups(request_rec *r)
{
    msc3_req_t *t = rlw_msc3_state(r);
    int status;

    if (!t || !t->tx || t->body_done || t->answered)
        return DECLINED;
    t->body_done = 1;
    if (sends_body(r) && (status = rlw_msc3_read_body(r, t)) != OK)
        return status;
    /* Phase 2 runs whether there was a body or not. */
    rlw_msc3_lib->msc_process_request_body(t->tx);
    return rlw_msc3_act(r, t);
}

/* ---- phase 5 and the verdict ------------------------------------------- */

/* Before the module's own log_transaction (which reads the verdict):
 * phase 5, then the transaction is freed. The score is also set in the
 * environment variable RateLimitWAFScoreVar, before mod_log_config writes
 * the access log, for %{MODSEC_ANOMALY_SCORE}e as with mod_security2 (only
 * written, never read back). */
static int msc3_log_transaction(request_rec *r)
{
    const rlw_srv_conf_t *c = rlw_server_conf(r->server);
    msc3_req_t *t = rlw_msc3_state(r);
    request_rec *last = r;
    const char *score;

    if (!t || !t->tx || t->logged)
        return DECLINED;
    t->logged = 1;
    while (last->next)
        last = last->next;
    rlw_msc3_lib->msc_update_status_code(t->tx, last->status);
    rlw_msc3_lib->msc_process_logging(t->tx);
    apr_pool_cleanup_run(t->r->pool, t, cleanup_tx);
    if (t->score >= 0 && c->score_var) {
        score = apr_ltoa(r->pool, t->score);
        apr_table_set(r->subprocess_env, c->score_var, score);
        apr_table_set(last->subprocess_env, c->score_var, score);
    }
    return DECLINED;
}

static void msc3_read(request_rec *r, const rlw_srv_conf_t *c,
                      rlw_waf_verdict_t *v)
{
    msc3_req_t *t = rlw_msc3_state(r);

    /* The rule ids are in v already (log_cb). */
    v->score = t ? t->score : -1;
    v->is_attack = v->score >= c->attack_score;
}

static void msc3_register_hooks(apr_pool_t *p)
{
    /* After the client is known (mod_remoteip) and has its unique id, and
     * after the module's ban check (APR_HOOK_REALLY_FIRST). */
    static const char *const before_read[] = {"mod_remoteip.c",
                                              "mod_unique_id.c", NULL};

    (void)p;
    ap_hook_check_config(msc3_check_config, NULL, NULL, APR_HOOK_LAST);
    ap_hook_post_config(msc3_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(msc3_post_read_request, before_read, NULL,
                              APR_HOOK_FIRST);
    /* Where mod_security2 runs its phase 2. */
    ap_hook_fixups(msc3_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    rlw_msc3_io_register();
    /* Before the module's verdict reading (APR_HOOK_MIDDLE). */
    ap_hook_log_transaction(msc3_log_transaction, NULL, NULL, APR_HOOK_FIRST);
}

const rlw_verdict_source_t rlw_verdict_modsec3 = {
    "modsecurity3",
    NULL,
    msc3_register_hooks,
    msc3_read,
};

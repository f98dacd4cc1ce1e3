/* mod_rlw_verdict.c - the list of verdict sources and the glue that asks
 * a request's source (mod_rlw_verdict.h).
 */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <apr_tables.h>

#include "mod_rlw_verdict.h"

/* Each source file defines one of these. */
extern const rlw_verdict_source_t rlw_verdict_modsec2;
extern const rlw_verdict_source_t rlw_verdict_modsec3;

/* One entry per source, the default first. */
const rlw_verdict_source_t *const rlw_verdict_sources[] = {
    &rlw_verdict_modsec2,
    &rlw_verdict_modsec3,
    NULL,
};

const rlw_verdict_source_t *rlw_verdict_source_find(const char *name)
{
    int i;

    for (i = 0; name && rlw_verdict_sources[i]; i++) {
        if (strcmp(rlw_verdict_sources[i]->name, name) == 0)
            return rlw_verdict_sources[i];
    }
    return NULL;
}

const rlw_verdict_source_t *rlw_verdict_source_of(const rlw_srv_conf_t *c)
{
    /* RateLimitWAFEngine, checked when it was read; unset: the default. */
    const rlw_verdict_source_t *v =
        c ? rlw_verdict_source_find(c->engine) : NULL;

    return v ? v : rlw_verdict_sources[0];
}

rlw_waf_verdict_t *rlw_verdict_gathering(request_rec *r)
{
    rlw_req_t *rq;

    while (r->prev)
        r = r->prev;
    while (r->main)
        r = r->main;
    rq = ap_get_module_config(r->request_config, &ratelimit_waf_module);
    return rq ? &rq->waf : NULL;
}

void rlw_verdict_register_hooks(apr_pool_t *p)
{
    int i;

    for (i = 0; rlw_verdict_sources[i]; i++) {
        if (rlw_verdict_sources[i]->register_hooks)
            rlw_verdict_sources[i]->register_hooks(p);
    }
}

const char *const *rlw_verdict_log_after(apr_pool_t *p)
{
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(const char *));
    const char *const *m;
    int i;

    for (i = 0; rlw_verdict_sources[i]; i++) {
        for (m = rlw_verdict_sources[i]->log_after; m && *m; m++)
            APR_ARRAY_PUSH(names, const char *) = *m;
    }
    APR_ARRAY_PUSH(names, const char *) = NULL;
    return (const char *const *)names->elts;
}

void rlw_verdict_read(request_rec *r, const rlw_srv_conf_t *c,
                      rlw_waf_verdict_t *v)
{
    rlw_verdict_source_of(c)->read(r, c, v);
}

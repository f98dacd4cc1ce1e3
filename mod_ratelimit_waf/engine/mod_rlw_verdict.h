/* mod_rlw_verdict.h - verdict sources: where a request's anomaly score and
 * matched rule ids come from.
 *
 * A source is one file, engine/mod_rlw_<name>.c, defining one
 * rlw_verdict_source_t, and one entry in rlw_verdict_sources[]
 * (mod_rlw_verdict.c). It watches requests with hooks of its own and, at
 * log_transaction, fills the request's rlw_waf_verdict_t; counting,
 * deciding, banning and logging are the same whatever the source
 * (docs/architecture.md, "Verdict sources").
 */
#ifndef MOD_RLW_VERDICT_H
#define MOD_RLW_VERDICT_H

#include <httpd.h>

#include "mod_rlw.h"
#include "rlw_verdict.h"

typedef struct rlw_verdict_source {
    /* Its name, the value that selects it: "modsecurity2". */
    const char *name;

    /* Modules whose log_transaction must run before the verdict is read
     * (NULL-terminated; NULL for none): mod_security2 exports the score in
     * its own phase 5, at log_transaction. */
    const char *const *log_after;

    /* Registers the httpd hooks the source watches requests with (NULL for
     * none); called once, from the module's register_hooks. Every listed
     * source registers its hooks: they leave alone the requests of servers
     * that use another source (rlw_verdict_source_of()). */
    void (*register_hooks)(apr_pool_t *p);

    /* At log_transaction, for a request the module counts (never one it
     * answered with its ban): completes v, which holds what the source's
     * hooks gathered during the request (rlw_verdict_gathering()), with
     * score and is_attack under c, the request's server config. Must not
     * block on anything slower than shared memory. */
    void (*read)(request_rec *r, const rlw_srv_conf_t *c, rlw_waf_verdict_t *v);
} rlw_verdict_source_t;

/* Every source built in, NULL-terminated; the first is the default. */
extern const rlw_verdict_source_t *const rlw_verdict_sources[];

/* The source named name, or NULL. */
const rlw_verdict_source_t *rlw_verdict_source_find(const char *name);

/* The source that judges the requests of the server configured by c. */
const rlw_verdict_source_t *rlw_verdict_source_of(const rlw_srv_conf_t *c);

/* The verdict being gathered for r's top-level request (internal redirects
 * and subrequests share their parent's), or NULL when the module does not
 * follow that request. For a source's hooks. */
rlw_waf_verdict_t *rlw_verdict_gathering(request_rec *r);

/* Registers every source's hooks. */
void rlw_verdict_register_hooks(apr_pool_t *p);

/* The modules every source needs to run their log_transaction before the
 * verdict is read, NULL-terminated, allocated from p: the predecessors of
 * the module's own log_transaction hook. */
const char *const *rlw_verdict_log_after(apr_pool_t *p);

/* Asks r's source for r's verdict, into v (see read above). */
void rlw_verdict_read(request_rec *r, const rlw_srv_conf_t *c,
                      rlw_waf_verdict_t *v);

#endif

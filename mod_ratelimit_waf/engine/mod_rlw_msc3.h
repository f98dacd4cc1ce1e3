/* mod_rlw_msc3.h - what the two files of the modsecurity3 verdict source
 * share: mod_rlw_modsec3.c (the library, rule sets, transactions, phases 1,
 * 2 and 5, the verdict) and mod_rlw_msc3_io.c (the request body kept for
 * the handler, the response filter: phases 3 and 4). Private to them.
 */
#ifndef MOD_RLW_MSC3_H
#define MOD_RLW_MSC3_H

#include <httpd.h>
#include <apr_hash.h>

#include "mod_rlw.h"
#include "rlw_msc3_api.h"

/* The library, once opened (check_config). */
extern const rlw_msc3_api_t *rlw_msc3_lib;

/* One rule set: what a server's RateLimitWAFRules built (engine_rules). */
typedef struct msc3_rules {
    rlw_msc_rules_t *rules;
    int response_body; /* it runs phase 4: responses are held for it */
    /* Rule id (uint32_t) -> the file it is written in, for the files
     * loaded as a fixed-up text (rlw_msc3_rules.h), which the library
     * names by a placeholder; NULL when there are none. */
    apr_hash_t *files;
    /* Rule id (uint32_t) -> "" for the rules whose disruptive action is
     * drop (rlw_msc3_rules.h); NULL when there are none. */
    apr_hash_t *drops;
} msc3_rules_t;

/* One request's transaction, in the top-level request's rlw_req_t; with r
 * NULL, the probe transaction of a rule set being built. */
typedef struct msc3_req {
    request_rec *r;         /* the top-level request */
    const msc3_rules_t *rs; /* its server's rule set */
    int probed;             /* probe: the phase-4 probe rule spoke */
    rlw_req_t *rq;          /* its module state: rule ids go to rq->waf */
    rlw_msc_tx_t *tx;       /* NULL once freed */
    long score;             /* from the score rule; -1 none */
    int body_done;          /* phase 2 ran */
    int headers_done;       /* phase 3 ran (or was skipped) */
    int logged;             /* phase 5 ran */
    int answered;           /* an intervention was acted on */
    /* The request body for the handler, and the request that reads it. */
    apr_bucket_brigade *body;
    request_rec *body_r;
} msc3_req_t;

/* r's transaction state (its top-level request's), or NULL: not
 * inspected, or banned. */
msc3_req_t *rlw_msc3_state(request_rec *r);

/* msg with its [file] set to the file its rule is written in, where the
 * library could not name it (msc3_rules_t.files). */
const char *rlw_msc3_real_file(apr_pool_t *p, const msc3_rules_t *rs,
                               const char *msg);

/* Acts on the intervention the last phase left: logs it, returns the
 * status to answer, or DECLINED when there is none. */
int rlw_msc3_act(request_rec *r, msc3_req_t *t);

/* Reads the whole request body through r's input filters into the engine
 * and keeps it for the handler (t->body). OK, or the status to answer. */
int rlw_msc3_read_body(request_rec *r, msc3_req_t *t);

/* Registers the body and response filters and the hooks that insert them
 * (from the source's register_hooks). */
void rlw_msc3_io_register(void);

#endif

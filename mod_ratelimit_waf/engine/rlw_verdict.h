/* rlw_verdict.h - what the WAF said about one request.
 *
 * httpd-free. A verdict source (mod_rlw_verdict.h) fills one per request:
 * is it an attack, its anomaly score, the rules it matched. The glue counts
 * the request when is_attack is set and hands the rule ids to the store
 * (they become the ban event's rule.id). Not to be confused with
 * rlw_verdict_t (rlw_decision.h): the module's own decision on a counted
 * attack, made from counts whatever the source.
 */
#ifndef RLW_VERDICT_H
#define RLW_VERDICT_H

#include <stdint.h>

#include "rlw_event.h"

/* Rule ids one request keeps, in the order they matched: twice what a ban
 * event names, so that the store, which keeps a client's most frequent
 * rules, still sees the rules past the first few. */
#define RLW_WAF_RULES_MAX (RLW_EVENT_RULES_MAX * 2)

typedef struct rlw_waf_verdict {
    int is_attack; /* count this request (score >= RateLimitWAFAttackScore) */
    long score;    /* anomaly score, -1 when the source gave none */
    int nrules;    /* entries of rules in use */
    /* Rule messages the WAF logged about the request (mod_security2's
     * error-log lines with an [id]), for the set-up checks: rule matches
     * with no score mean the score is not exported (rlw_setup.h). */
    unsigned nmessages;
    /* Ids of the rules the request matched, first matched first; without
     * the CRS rules that match every attack (rlw_crs_is_summary()). */
    uint32_t rules[RLW_WAF_RULES_MAX];
} rlw_waf_verdict_t;

#endif

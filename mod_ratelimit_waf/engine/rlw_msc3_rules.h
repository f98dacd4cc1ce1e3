/* rlw_msc3_rules.h - rule files as mod_security2 reads them, for
 * libmodsecurity v3: the `log` / `noauditlog` fix-up, the backslashes
 * of rule operators, REQUEST_URI's encoding, multipart part headers,
 * REQUEST_BODY, drop.
 *
 * httpd-free. mod_security2 keeps two flags per rule: `log` / `nolog` (the
 * error log) and `auditlog` / `noauditlog` (the audit log). libmodsecurity
 * 3.0 keeps one: its `noauditlog` also clears the message's "save" flag
 * that `log` set, and `auditlog` sets it (src/actions/no_audit_log.cc,
 * audit_log.cc; owasp-modsecurity/ModSecurity#3180). So a rule written
 * `log,noauditlog` (CRS 3's 980130), or `noauditlog` under a logging
 * SecDefaultAction (CRS 4's 980170), is never reported by the library,
 * while mod_security2 logs it.
 *
 * rlw_msc3_logfix() rewrites the text of one rules file so that the library
 * gives each rule mod_security2's log flag. The flag a rule ends with is,
 * in the library, set by the last of its phase's default actions and its
 * own actions among log, nolog, auditlog, noauditlog; in mod_security2 by
 * the last of the rule's log, nolog, else its phase's SecDefaultAction,
 * else log. Where the last is an audit action that leaves the library's
 * flag other than mod_security2's, the fix-up inserts mod_security2's flag
 * right after it (`,log` or `,nolog`): `log,noauditlog` becomes
 * `log,noauditlog,log`. No line is added or taken out by either fix-up: every
 * rule keeps its line number. A SecDefaultAction is fixed the same way.
 *
 * The backslashes: Apache's configuration reader, which reads
 * mod_security2's rules, turns each pair of backslashes in an argument
 * into one (httpd's substring_conf()); libmodsecurity's own parser keeps
 * both (owasp-modsecurity/ModSecurity#2148). So `"@rx [^\\\\]\\\\c"`,
 * written for Apache (CRS 3), is another regex to the library. The fix-up
 * takes one backslash of each pair out of a SecRule's double-quoted
 * operator, except in a run right before a double quote, a percent sign or
 * a line end (where the library's lexer counts them). Actions and variables are
 * left as written.
 *
 * REQUEST_BODY as mod_security2 fills it (rlw_msc3_reqbody_rules()): the
 * fix-up notes the id of every rule that reads REQUEST_BODY (0 for a
 * chained rule: libmodsecurity gives chained rules no id of their own), and,
 * when asked (mark_force), makes ctl:forceRequestBodyVariable visible to
 * rules: libmodsecurity parses it and does nothing, so `=On` gets
 * `,setvar:tx.rlw_reqbody_forced=1` after it and `=Off`
 * `,setvar:!tx.rlw_reqbody_forced`.
 *
 * REQUEST_URI's encoding: a SecRule whose operator is @validateUrlEncoding
 * reads REQUEST_URI_RAW where it names REQUEST_URI ("_RAW" is inserted):
 * libmodsecurity's REQUEST_URI is URL-decoded, mod_security2's is the path
 * and query as sent, whose encoding the operator is there to check.
 *
 * Multipart part headers: a SecRule whose variables name
 * MULTIPART_PART_HEADERS gets ",t:trimRight" at the end of its actions:
 * libmodsecurity keeps each part header with its CR LF, mod_security2
 * without.
 *
 * The rules that drop: the fix-up notes the id of every rule whose
 * disruptive action is `drop` (drop_ids), for the module to drop the
 * connection where libmodsecurity answers a deny.
 *
 * Read: SecRule (the actions are its third argument), SecAction and
 * SecDefaultAction (the first), with continuation lines, double-quoted
 * arguments with backslash escapes, single-quoted action values, comments.
 * Other directives are skipped. Files the rules `Include` are not read.
 */
#ifndef RLW_MSC3_RULES_H
#define RLW_MSC3_RULES_H

#include <stdint.h>

#include <apr_pools.h>
#include <apr_tables.h>

/* What the files read so far left for the next one: the log flag of each
 * phase's SecDefaultAction (index 1..5; 1 log, 0 nolog). */
typedef struct rlw_msc3_logfix {
    int default_log[6];
    /* Set by the caller: where to append (uint32_t) the id of each rule
     * that reads REQUEST_BODY, 0 for a chained rule (NULL: not noted); and
     * whether to mark ctl:forceRequestBodyVariable (above). */
    apr_array_header_t *reqbody_ids;
    int mark_force;
    int chained; /* the last SecRule read ended with `chain` */
    /* Set by the caller: where to append (uint32_t) the id of each rule
     * whose disruptive action is `drop` (its own, or `block` under a
     * SecDefaultAction of its phase with `drop`), NULL: not noted.
     * libmodsecurity 3.0 runs drop as deny and its intervention does not
     * say which it was (src/actions/disruptive/drop.cc). */
    apr_array_header_t *drop_ids;
    int default_drop[6]; /* the phase's SecDefaultAction has drop */
} rlw_msc3_logfix_t;

/* Every phase logs (mod_security2's and libmodsecurity's default); no
 * REQUEST_BODY ids noted, no forceRequestBodyVariable marked. */
void rlw_msc3_logfix_init(rlw_msc3_logfix_t *st);

/* The id of the first rule of rlw_msc3_reqbody_rules() and of the second. */
#define RLW_MSC3_REQBODY_RULE_ID 9529092
#define RLW_MSC3_REQBODY_NONE_RULE_ID 9529093

/* REQUEST_BODY as mod_security2 fills it: only for URLENCODED bodies, or
 * for a body without a processor under ctl:forceRequestBodyVariable=On
 * (2.9's modsecurity_request_body_end()); libmodsecurity 3.0 fills it for
 * every body (Transaction::processRequestBody()). Returns the text of two
 * phase-1 rules, to load after every other rule (they run last in phase 1,
 * when the body processor is chosen): for a MULTIPART, XML or JSON body,
 * and for a body without a processor unless tx.rlw_reqbody_forced is set
 * (mark_force above), they take REQUEST_BODY out of the targets of the
 * rules in ids (uint32_t, as the fix-up noted them; duplicates are
 * skipped) with ctl:ruleRemoveTargetById. NULL when ids is empty: no rule
 * reads REQUEST_BODY. */
const char *rlw_msc3_reqbody_rules(apr_pool_t *p,
                                   const apr_array_header_t *ids);

/* Reads text (len bytes, need not end in NUL), updates st with its
 * SecDefaultActions, and appends to ids (uint32_t, may be NULL) the id of
 * every rule it declares. Returns the rewritten text (NUL-terminated, in
 * p) when a rule needs a fix-up, else NULL: load the file as it is. */
const char *rlw_msc3_logfix(apr_pool_t *p, rlw_msc3_logfix_t *st,
                            const char *text, apr_size_t len,
                            apr_array_header_t *ids);

#endif

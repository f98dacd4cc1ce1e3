/* rlw_msc3_msg.h - reading libmodsecurity v3's rule messages.
 *
 * httpd-free. The library hands each matched rule to the module's log
 * callback as one line of text (RuleMessage::log()):
 *   ModSecurity: Warning. MATCH [file "F"] [line "N"] [id "N"] [rev ""]
 *   [msg "M"] [data "D"] [severity "2"] ... [hostname "H"] [uri "U"]
 *   [unique_id "I"] [ref "R"]
 * and the disruptive rule's in the intervention, after "[client A] ".
 * MATCH, the variable names, the URI and parts of msg are attacker text
 * (the library escapes quotes only in data, rev, ver and tags), so these
 * readers never trust what follows a field they cannot place, and never
 * read past the terminating NUL.
 */
#ifndef RLW_MSC3_MSG_H
#define RLW_MSC3_MSG_H

#include <stdint.h>

#include <apr_pools.h>

/* The id of the module's own phase-5 rule, which reports the anomaly score
 * in its msg (rlw_msc3_score_rule()). */
#define RLW_MSC3_SCORE_RULE_ID 9529090

/* The id of the module's phase-4 probe rule (rlw_msc3_probe_rule()). */
#define RLW_MSC3_PROBE_RULE_ID 9529091

/* Length of the marker a score rule carries (rlw_msc3_score_rule()). */
#define RLW_MSC3_NONCE_LEN 16

/* The rule text the module adds after every rule set: a phase-5 SecAction
 * whose message carries "mod_ratelimit_waf anomaly score NONCE" and
 * tx.anomaly_score. nonce is RLW_MSC3_NONCE_LEN hex digits, random per
 * configuration, so that attacker text in another rule's message cannot
 * pass for it. "noauditlog,log" in that order: the other order silences
 * the message (owasp-modsecurity/ModSecurity#3180). */
const char *rlw_msc3_score_rule(apr_pool_t *p, const char *nonce);

/* The rule text of the module's phase-4 probe: a phase-4 rule that logs
 * "mod_ratelimit_waf phase 4 NONCE" only for a request carrying the header
 * X-RLW-Probe-NONCE. The module sends one such request through each rule
 * set when it is built: the message comes back only when the rule set runs
 * phase 4 (SecRuleEngine not Off, SecResponseBodyAccess On), which the
 * library's C API does not tell otherwise. */
const char *rlw_msc3_probe_rule(apr_pool_t *p, const char *nonce);

/* 1 when msg is the probe rule's message for nonce, else 0. */
int rlw_msc3_is_probe(const char *msg, const char *nonce);

/* Is msg the score rule's message for nonce? 1 with *score set (-1 when
 * tx.anomaly_score was empty), 0 when msg is another message, -1 when it
 * names the rule but its score is not a whole number (not counted). A
 * score past LONG_MAX reads as LONG_MAX. */
int rlw_msc3_score(const char *msg, const char *nonce, long *score);

/* The id of the rule msg reports: the first [id "digits"] after the first
 * ' [file "' (where the library starts its metadata). Returns 1 with *id
 * in 1..999999999, else 0. Text an attacker placed in MATCH before the
 * metadata can name another id: the id is for reports, not decisions. */
int rlw_msc3_rule_id(const char *msg, uint32_t *id);

/* msg with the value of its first [file "..."] field (where rlw_msc3_rule_id()
 * reads the metadata from) replaced by file: for rules the library loaded
 * from a text, which it names by a placeholder. msg itself when it has no
 * such field. Allocated from p. */
const char *rlw_msc3_set_file(apr_pool_t *p, const char *msg, const char *file);

/* The message as mod_security2 writes it, for SIEM parsers of its error
 * log lines: starting "[client A] ModSecurity: " (the intervention's has
 * the client; client, when not NULL, is put before the others;
 * "ModSecurity: " is added to bare text) and with the
 * severity as a name ([severity "CRITICAL"]) when the message holds
 * exactly one [severity "digit"] field; the rest as the library wrote it.
 * Allocated from p. */
const char *rlw_msc3_format(apr_pool_t *p, const char *msg, const char *client);

#endif

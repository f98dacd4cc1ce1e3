/* rlw_modsec.h - reading ModSecurity's error-log messages.
 *
 * httpd-free and pure. mod_security2 logs each matched rule as one error
 * log message carrying [id "941100"] ...; its verdict source
 * (mod_rlw_modsec2.c) watches the messages about the module's own requests
 * (error_log hook) to know which rules a client hits, for the SIEM ban
 * event. Messages are attacker-influenced text (an
 * argument name is logged with its quotes unescaped): the parser reads
 * only the metadata ModSecurity escapes, and never more than it is
 * given.
 */
#ifndef RLW_MODSEC_H
#define RLW_MODSEC_H

#include <stdint.h>

/* Messages this long or longer may have been cut by mod_security2 (at
 * 1024 bytes, possibly in attacker text): they are not read. */
#define RLW_MODSEC_MSG_MAX 1000

/* Appends the id of the rule msg reports (one ModSecurity message names
 * one rule: the first [id "digits"] after the message's last ' [file "',
 * where the metadata starts and attacker text cannot reach unescaped) to
 * ids[*n..max), unless already present, outside 1..999999999, or a CRS
 * summary rule. Returns the number added (0 or 1). */
int rlw_modsec_rule_ids(const char *msg, uint32_t *ids, int *n, int max);

/* Reads the anomaly score a phase-5 rule exported as text (setenv:
 * VAR=%{tx.anomaly_score}) into *score. Returns 1 for a score, 0 when text
 * is NULL or empty (no score exported: not an error), -1 when it is not a
 * whole number of zero or more. Read as strtol() reads base 10: leading
 * blanks and a '+' pass, a value past LONG_MAX reads as LONG_MAX. */
int rlw_modsec_score(const char *text, long *score);

/* 1 for the CRS rules that only sum or correlate scores (949xxx, 959xxx,
 * 980xxx): they match every attack, so they are not collected. */
int rlw_crs_is_summary(uint32_t id);

#endif

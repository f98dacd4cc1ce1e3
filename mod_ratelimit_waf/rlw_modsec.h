/* rlw_modsec.h - reading ModSecurity's error-log messages.
 *
 * httpd-free and pure. mod_security2 logs each matched rule as one error
 * log message carrying [id "941100"] ...; the module watches its own
 * requests' messages (error_log hook) to know which rules a client hits,
 * for the SIEM ban event. Messages are attacker-influenced text: the
 * parser reads only well-formed [id "digits"] fields and never more than
 * it is given.
 */
#ifndef RLW_MODSEC_H
#define RLW_MODSEC_H

#include <stdint.h>

/* Appends the rule ids found in msg to ids[*n..max), skipping ids already
 * present, ids outside 1..999999999 and CRS summary rules. Returns the
 * number added. */
int rlw_modsec_rule_ids(const char *msg, uint32_t *ids, int *n, int max);

/* 1 for the CRS rules that only sum or correlate scores (949xxx, 959xxx,
 * 980xxx): they match every attack, so they are not collected. */
int rlw_crs_is_summary(uint32_t id);

#endif

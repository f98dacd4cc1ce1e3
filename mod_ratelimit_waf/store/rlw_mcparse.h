/* rlw_mcparse.h - reading what memcached hands back, strictly, and
 * ordering ban states.
 *
 * httpd-free, libmemcached-free and pure. Everything the cluster store
 * reads from memcached is hostile input: anyone who can write to the pool
 * can put any bytes under any key. These helpers accept exactly what the
 * module (or memcached itself) writes and nothing else, never overflow,
 * and never let an older ban state replace a newer one.
 *
 * The parse functions share one shape, (buf, len, out) -> 0 or -1, with
 * *out written only on success; buf need not be NUL-terminated.
 */
#ifndef RLW_MCPARSE_H
#define RLW_MCPARSE_H

#include <stddef.h>
#include <stdint.h>

#include "rlw_decision.h"

/* Longest decimal text of a uint64_t (18446744073709551615). */
#define RLW_U64_DIGITS 20

/* Longest counter value read back, trailing spaces included (see
 * rlw_parse_counter()). Anything longer was not written by a count. */
#define RLW_COUNTER_TEXT_MAX 32

/* Largest value a bucket counter can plausibly hold: one client's attacks
 * in one bucket. Counts are reported as uint32_t anyway; a larger value
 * was written by someone else and is not trusted (a false ban otherwise). */
#define RLW_COUNT_MAX UINT32_MAX

/* A canonical unsigned decimal: 1..20 ASCII digits, no sign, no space, no
 * leading zero (but "0"), at most UINT64_MAX. */
int rlw_parse_u64(const char *buf, size_t len, uint64_t *out);

/* A memcached counter as a get returns it: a canonical decimal
 * (rlw_parse_u64()) followed by nothing but spaces, at most
 * RLW_COUNTER_TEXT_MAX bytes in all. memcached writes exactly that: "incr"
 * and the binary increment store the new value as digits, and when the
 * new text is shorter than the item's (a wrap to 0, a value someone else
 * set), it rewrites the item in place and pads it with spaces. No sign,
 * no leading space, no CR/LF (a get returns the data without its "\r\n"). */
int rlw_parse_counter(const char *buf, size_t len, uint64_t *out);

/* The bucket index in what follows the key prefix of a counter key,
 * "c<index>:<pseudonym>": index canonical (rlw_parse_u64()) and at most
 * INT64_MAX, then ':' and at least one character. */
int rlw_parse_bucket_key(const char *buf, size_t len, uint64_t *out);

/* The same for the counter key of any window (RateLimitWAFThreshold
 * pairs): "c<index>:<pseudonym>" is window 0 (the first pair's, named as
 * before pairs), "c<w>.<index>:<pseudonym>" window w, 1 to max_w (w
 * canonical, no leading zero). *win and *out are set on success only. */
int rlw_parse_bucket_key_w(const char *buf, size_t len, unsigned max_w,
                           unsigned *win, uint64_t *out);

/* The entry number in what follows the key prefix of a journal entry key,
 * "j:<seq>": seq canonical (rlw_parse_u64()) and not 0 (numbering starts at
 * 1), nothing after it. "j:seq" (the sequence counter) is not an entry. */
int rlw_parse_journal_key(const char *buf, size_t len, uint64_t *out);

/* a + b, or UINT64_MAX when the sum would wrap. */
uint64_t rlw_sat_add_u64(uint64_t a, uint64_t b);

/* 1 when ban state in may replace cur (what a node already holds for the
 * client), 0 when in is older and must be ignored.
 *
 * A ban's start is its epoch: every new ban of a client starts after the
 * previous one did (the deciding node takes the later of its clock and
 * the previous start + 1 ms, under the ban record's CAS), and an unban
 * keeps the start of the ban it lifts and moves its end back. So:
 *  - a later start is newer (a new ban, or the unban of a ban not seen);
 *  - an earlier start is older (a replayed entry or record), refused;
 *  - the same start is the same ban: accepted when it ends no later than
 *    cur (the same ban again, or its unban), refused when it ends later
 *    (a lifted ban must not come back).
 * A cur of all zeroes (never banned) accepts anything. */
int rlw_ban_state_newer(const rlw_ban_state_t *in, const rlw_ban_state_t *cur);

#endif

/* rlw_pairs.h - the (count, window) pairs of a threshold, as written in
 * httpd.conf: "COUNT" or "COUNT WINDOW [COUNT WINDOW ...]"
 * (RateLimitWAFThreshold, and the THRESHOLD of RateLimitWAFNetwork and
 * RateLimitWAFKey), and how a server's pairs become a policy's.
 *
 * httpd-free and pure: the glue parses each directive's words here, so
 * the rules and their error sentences are unit-tested once.
 */
#ifndef RLW_PAIRS_H
#define RLW_PAIRS_H

#include <stddef.h>
#include <stdint.h>

#include "rlw_decision.h"

typedef struct rlw_pairs {
    unsigned n;                       /* 1 to RLW_PAIRS_MAX */
    uint32_t count[RLW_PAIRS_MAX];    /* 1 to the caller's max each */
    int64_t window_ms[RLW_PAIRS_MAX]; /* all 0 for a bare COUNT (the
                                       * window is RateLimitWAFWindow's);
                                       * else > 0 and all different */
} rlw_pairs_t;

/* Parses the argc words of argv: one COUNT, or 1 to RLW_PAIRS_MAX pairs of
 * COUNT WINDOW (a duration of rlw_duration_parse()). Counts are whole
 * numbers from 1 to max; windows longer than zero and different from each
 * other. Returns 0, or -1 with a sentence naming the bad word in why (the
 * caller puts the directive's name before it). */
int rlw_pairs_parse(int argc, const char *const *argv, uint32_t max,
                    rlw_pairs_t *out, char *why, size_t whylen);

/* 1 when a and b give the same windows in the same order (a bare COUNT
 * has the one window of 0). */
int rlw_pairs_same_windows(const rlw_pairs_t *a, const rlw_pairs_t *b);

/* Fills p's threshold, window_ms, nmore and more[] from pairs given for
 * the server-wide windows (windows: the main server's pairs, or NULL or
 * a bare COUNT for the one window window_ms): pairs whose windows are
 * windows' take their own counts; a bare COUNT is the first window's
 * count, the others' counts scaled by windows' (count * windows.count[i]
 * / windows.count[0], rounded up, at most max). Returns 0, or -1 when
 * pairs gives other windows than windows (its caller says so). */
int rlw_pairs_policy(const rlw_pairs_t *pairs, const rlw_pairs_t *windows,
                     int64_t window_ms, uint32_t max, rlw_policy_t *p);

/* "10m 24h": the windows of pairs, formatted, into buf. Returns buf. */
char *rlw_pairs_windows(const rlw_pairs_t *pairs, char *buf, size_t len);

#endif

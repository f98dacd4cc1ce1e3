/* rlw_pairs.c - threshold pairs as written, and as a policy's
 * (rlw_pairs.h).
 */
#include "rlw_pairs.h"
#include "rlw_duration.h"

#include <stdio.h>
#include <string.h>

/* A canonical whole number from 1 to max: digits only, no sign, no
 * leading zero. */
static int parse_count(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (!s || !*s || *s == '0')
        return -1;
    for (i = 0; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v < 1 || v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int rlw_pairs_parse(int argc, const char *const *argv, uint32_t max,
                    rlw_pairs_t *out, char *why, size_t whylen)
{
    rlw_pairs_t p;
    int i, j;

    memset(&p, 0, sizeof(p));
    if (argc < 1 || (argc > 1 && argc % 2) || argc > 2 * RLW_PAIRS_MAX) {
        snprintf(why, whylen,
                 "%d values: give one COUNT, or 1 to %d pairs of COUNT "
                 "WINDOW (e.g. 5000 10m 20000 24h)",
                 argc, RLW_PAIRS_MAX);
        return -1;
    }
    for (i = 0; i < argc; i += 2) {
        const char *err;
        int64_t ms = 0;

        if (parse_count(argv[i], max, &p.count[p.n])) {
            snprintf(why, whylen,
                     "count '%s' is not a whole number of attacks between 1 "
                     "and %lu",
                     argv[i], (unsigned long)max);
            return -1;
        }
        if (argc > 1) {
            err = rlw_duration_parse(argv[i + 1], &ms);
            if (!err && ms <= 0)
                err = "must be longer than zero";
            if (err) {
                snprintf(why, whylen, "window '%s' %s", argv[i + 1], err);
                return -1;
            }
            for (j = 0; j < (int)p.n; j++)
                if (p.window_ms[j] == ms) {
                    snprintf(why, whylen,
                             "window '%s' is given twice (each pair needs a "
                             "window of its own)",
                             argv[i + 1]);
                    return -1;
                }
        }
        p.window_ms[p.n++] = ms;
    }
    *out = p;
    return 0;
}

int rlw_pairs_same_windows(const rlw_pairs_t *a, const rlw_pairs_t *b)
{
    unsigned i;

    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++)
        if (a->window_ms[i] != b->window_ms[i])
            return 0;
    return 1;
}

int rlw_pairs_policy(const rlw_pairs_t *pairs, const rlw_pairs_t *windows,
                     int64_t window_ms, uint32_t max, rlw_policy_t *p)
{
    rlw_pairs_t one;
    unsigned i;

    if (!windows || windows->n < 2) {
        /* One server-wide window: RateLimitWAFWindow's. */
        memset(&one, 0, sizeof(one));
        one.n = 1;
        one.count[0] = windows ? windows->count[0] : 1;
        one.window_ms[0] = window_ms;
        windows = &one;
    }
    /* Pairs with windows name the server-wide ones; only a bare COUNT
     * may leave them out. */
    if (pairs->window_ms[0] && !rlw_pairs_same_windows(pairs, windows))
        return -1;
    p->threshold = pairs->count[0];
    p->window_ms = windows->window_ms[0];
    p->nmore = windows->n - 1;
    for (i = 1; i < windows->n; i++) {
        uint64_t c = pairs->count[i];

        if (pairs->n == 1) {
            uint64_t base = windows->count[0] ? windows->count[0] : 1;

            c = ((uint64_t)pairs->count[0] * windows->count[i] + base - 1) /
                base;
            if (c > max)
                c = max;
            if (c < 1)
                c = 1;
        }
        p->more[i - 1].threshold = (uint32_t)c;
        p->more[i - 1].window_ms = windows->window_ms[i];
    }
    return 0;
}

char *rlw_pairs_windows(const rlw_pairs_t *pairs, char *buf, size_t len)
{
    size_t used = 0;
    unsigned i;

    if (len)
        buf[0] = '\0';
    for (i = 0; i < pairs->n && used < len; i++) {
        char d[32];

        snprintf(buf + used, len - used, "%s%s", i ? " " : "",
                 rlw_duration_format(pairs->window_ms[i], d, sizeof(d)));
        used = strlen(buf);
    }
    return buf;
}

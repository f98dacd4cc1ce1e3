/* rlw_duration.c - durations for directives: "90", "90s", "500ms", "15m",
 * "8h", "1d".
 *
 * The grammar is deliberately narrow (digits then one unit) so that a typo
 * such as "1.5h" or "10 m" is an error at start-up rather than a surprise
 * ban length later.
 */
#include "rlw_duration.h"

#include <stdio.h>
#include <string.h>

typedef struct unit {
    const char *suffix;
    int64_t ms;
} unit_t;

/* Smallest unit first; rlw_duration_format() walks the table backwards to
 * find the largest unit that divides exactly. Parsing matches whole
 * suffixes, so "ms" and "m" cannot be confused. */
static const unit_t units[] = {
    {"ms", 1},
    {"s", 1000},
    {"m", 60LL * 1000},
    {"h", 3600LL * 1000},
    {"d", 24LL * 3600 * 1000},
};

#define N_UNITS (sizeof(units) / sizeof(units[0]))

const char *rlw_duration_parse(const char *text, int64_t *out_ms)
{
    const char *p = text;
    int64_t n = 0;
    int64_t mult = 1000; /* a bare number is seconds */
    size_t i;

    if (text == NULL || *text == '\0')
        return "empty duration";
    if (*p < '0' || *p > '9')
        return "a duration must start with a digit (no sign or space)";

    /* Anything past RLW_DURATION_MAX_MS is refused anyway, so stopping
     * there also keeps n far from int64 overflow. */
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (*p - '0');
        if (n > RLW_DURATION_MAX_MS)
            return "duration too long (at most 366 days)";
    }

    if (*p != '\0') {
        for (i = 0; i < N_UNITS; i++) {
            if (strcmp(p, units[i].suffix) == 0)
                break;
        }
        if (i == N_UNITS)
            return "unknown unit (use ms, s, m, h or d)";
        mult = units[i].ms;
    }

    /* n <= MAX and mult <= one day, so a division test avoids overflow. */
    if (n > RLW_DURATION_MAX_MS / mult)
        return "duration too long (at most 366 days)";
    *out_ms = n * mult;
    return NULL;
}

char *rlw_duration_format(int64_t ms, char *buf, size_t len)
{
    size_t i;

    if (buf == NULL || len == 0)
        return buf;
    if (ms == 0) {
        snprintf(buf, len, "0s");
        return buf;
    }
    /* Largest unit first: walk the table backwards, "ms" always divides. */
    for (i = N_UNITS; i-- > 0;) {
        if (ms % units[i].ms == 0) {
            snprintf(buf, len, "%lld%s", (long long)(ms / units[i].ms),
                     units[i].suffix);
            break;
        }
    }
    return buf;
}

/* rlw_time.c - the clock, ISO-8601 times and lengths of time.
 *
 * libc only (no APR), so that tools built from a few core files (the event
 * bridge's test generator) need nothing more. */
#include "rlw_time.h"

#include <stdio.h>
#include <time.h>

int64_t rlw_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rlw_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *rlw_time_iso8601(int64_t ms, unsigned flags, char *buf, size_t len)
{
    struct tm tm;
    time_t secs;

    if (buf == NULL || len == 0)
        return buf;
    if (ms < 0)
        ms = 0;
    if (ms > RLW_TIME_ISO_MAX_MS)
        ms = RLW_TIME_ISO_MAX_MS;
    secs = (time_t)(ms / 1000);
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(buf, len, "?"); /* not reached within the bounds above */
        return buf;
    }
    if (flags & RLW_TIME_HUMAN)
        snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    else if (flags & RLW_TIME_MS)
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    else
        snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

char *rlw_time_span(int64_t ms, char *buf, size_t len)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } parts[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    size_t n = 0, i;

    if (buf == NULL || len == 0)
        return buf;
    buf[0] = 0;
    if (ms < 1000) {
        snprintf(buf, len, "%lldms", (long long)(ms > 0 ? ms : 0));
        return buf;
    }
    ms -= ms % 1000;
    for (i = 0; i < sizeof(parts) / sizeof(parts[0]) && n < len; i++) {
        int64_t v = ms / parts[i].ms;

        ms %= parts[i].ms;
        if (v) {
            int w = snprintf(buf + n, len - n, "%lld%s", (long long)v,
                             parts[i].unit);

            n = w < 0 ? len : n + (size_t)w;
        }
    }
    return buf;
}

char *rlw_time_span2(int64_t ms, char *buf, size_t len)
{
    int64_t s = ms > 0 ? ms / 1000 + (ms % 1000 != 0) : 0;

    if (buf == NULL || len == 0)
        return buf;
    if (s >= 86400)
        snprintf(buf, len, "%lldd %02dh", (long long)(s / 86400),
                 (int)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(buf, len, "%dh %02dm", (int)(s / 3600), (int)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(buf, len, "%dm %02ds", (int)(s / 60), (int)(s % 60));
    else
        snprintf(buf, len, "%ds", (int)s);
    return buf;
}

/* rlw_mcparse.c - strict parsing of memcached values and keys, saturating
 * sums, ban state ordering (rlw_mcparse.h).
 *
 * No strtoull(): it accepts a sign ("-1" is 2^64 - 1), leading spaces and
 * trailing junk, and reports overflow through errno. Digits are taken one
 * by one with an explicit overflow check instead.
 */
#include "rlw_mcparse.h"

/* Canonical digits in buf[0..n): 0 and *out set, or -1. */
static int digits(const char *buf, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (buf == NULL || n == 0 || n > RLW_U64_DIGITS)
        return -1;
    if (buf[0] == '0' && n > 1)
        return -1; /* memcached and snprintf never write leading zeros */
    for (i = 0; i < n; i++) {
        unsigned d;

        if (buf[i] < '0' || buf[i] > '9')
            return -1;
        d = (unsigned)(buf[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* Length of the run of ASCII digits at the start of buf[0..len). */
static size_t digit_run(const char *buf, size_t len)
{
    size_t n = 0;

    while (n < len && buf[n] >= '0' && buf[n] <= '9')
        n++;
    return n;
}

int rlw_parse_u64(const char *buf, size_t len, uint64_t *out)
{
    if (out == NULL)
        return -1;
    return digits(buf, len, out);
}

int rlw_parse_counter(const char *buf, size_t len, uint64_t *out)
{
    size_t n, i;

    if (buf == NULL || out == NULL || len == 0 || len > RLW_COUNTER_TEXT_MAX)
        return -1;
    n = digit_run(buf, len);
    for (i = n; i < len; i++)
        if (buf[i] != ' ')
            return -1;
    return digits(buf, n, out);
}

int rlw_parse_bucket_key(const char *buf, size_t len, uint64_t *out)
{
    uint64_t v;
    size_t n;

    if (buf == NULL || out == NULL || len < 4 || buf[0] != 'c')
        return -1;
    n = digit_run(buf + 1, len - 1);
    /* "c", the digits, ':' and at least one character of pseudonym. */
    if (1 + n + 2 > len || buf[1 + n] != ':' || digits(buf + 1, n, &v) != 0 ||
        v > (uint64_t)INT64_MAX)
        return -1;
    *out = v;
    return 0;
}

int rlw_parse_bucket_key_w(const char *buf, size_t len, unsigned max_w,
                           unsigned *win, uint64_t *out)
{
    uint64_t w, v;
    size_t n;

    if (buf == NULL || win == NULL || out == NULL || len < 4 || buf[0] != 'c')
        return -1;
    n = digit_run(buf + 1, len - 1);
    if (1 + n < len && buf[1 + n] == ':') {
        if (rlw_parse_bucket_key(buf, len, &v) != 0)
            return -1;
        *win = 0;
        *out = v;
        return 0;
    }
    /* "c", w, '.', the index, ':' and at least one character. */
    if (1 + n >= len || buf[1 + n] != '.' || digits(buf + 1, n, &w) != 0 ||
        w < 1 || w > max_w)
        return -1;
    buf += 1 + n + 1;
    len -= 1 + n + 1;
    n = digit_run(buf, len);
    if (n + 2 > len || buf[n] != ':' || digits(buf, n, &v) != 0 ||
        v > (uint64_t)INT64_MAX)
        return -1;
    *win = (unsigned)w;
    *out = v;
    return 0;
}

int rlw_parse_journal_key(const char *buf, size_t len, uint64_t *out)
{
    uint64_t v;

    if (buf == NULL || out == NULL || len < 3 || buf[0] != 'j' ||
        buf[1] != ':' || digits(buf + 2, len - 2, &v) != 0 || v == 0)
        return -1;
    *out = v;
    return 0;
}

uint64_t rlw_sat_add_u64(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int rlw_ban_state_newer(const rlw_ban_state_t *in, const rlw_ban_state_t *cur)
{
    if (cur->start_ms == 0 && cur->until_ms == 0)
        return 1;
    if (in->start_ms != cur->start_ms)
        return in->start_ms > cur->start_ms;
    return in->until_ms <= cur->until_ms;
}

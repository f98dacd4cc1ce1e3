/* test_time.c - rlw_time: the clocks, ISO-8601 times and lengths of time,
 * as the error log, events and rlwafctl show them. */
#include <string.h>
#include <time.h>

#include <check.h>

#include "rlw_time.h"
#include "unit_suites.h"

#define SEC 1000LL
#define DAY (86400 * SEC)
/* 2026-11-29T12:41:14Z */
#define T1 (1795956074LL * SEC)

typedef struct iso_case {
    int64_t ms;
    unsigned flags;
    const char *text;
} iso_case_t;

static const iso_case_t iso[] = {
    {T1, 0, "2026-11-29T12:41:14Z"},
    {T1 + 123, 0, "2026-11-29T12:41:14Z"}, /* ms dropped, never rounded */
    {T1 + 999, RLW_TIME_MS, "2026-11-29T12:41:14.999Z"},
    {T1 + 7, RLW_TIME_MS, "2026-11-29T12:41:14.007Z"},
    {T1, RLW_TIME_HUMAN, "2026-11-29 12:41:14"},
    {0, 0, "1970-01-01T00:00:00Z"},
    {951868799LL * SEC, 0, "2000-02-29T23:59:59Z"}, /* leap day */
    /* Hostile record times: before the epoch, past year 9999. */
    {-1, RLW_TIME_MS, "1970-01-01T00:00:00.000Z"},
    {INT64_MIN, 0, "1970-01-01T00:00:00Z"},
    {RLW_TIME_ISO_MAX_MS, RLW_TIME_MS, "9999-12-31T23:59:59.999Z"},
    {RLW_TIME_ISO_MAX_MS + 1, RLW_TIME_MS, "9999-12-31T23:59:59.999Z"},
    {INT64_MAX, 0, "9999-12-31T23:59:59Z"},
};

START_TEST(iso_cases)
{
    char buf[RLW_TIME_ISO_LEN];

    memset(buf, 'x', sizeof(buf));
    ck_assert_ptr_eq(
        rlw_time_iso8601(iso[_i].ms, iso[_i].flags, buf, sizeof(buf)), buf);
    ck_assert_str_eq(buf, iso[_i].text);
}
END_TEST

/* A short buffer is cut and terminated; a NULL or empty one is left. */
START_TEST(iso_short_buffer)
{
    char buf[8];

    memset(buf, 'x', sizeof(buf));
    rlw_time_iso8601(T1, 0, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2026-11");
    buf[0] = 'x';
    rlw_time_iso8601(T1, 0, buf, 0);
    ck_assert_int_eq(buf[0], 'x');
    ck_assert_ptr_null(rlw_time_iso8601(T1, 0, NULL, 8));
}
END_TEST

/* The longest output fits RLW_TIME_ISO_LEN. */
START_TEST(iso_len_fits)
{
    char buf[RLW_TIME_ISO_LEN];

    rlw_time_iso8601(RLW_TIME_ISO_MAX_MS, RLW_TIME_MS, buf, sizeof(buf));
    ck_assert_uint_lt(strlen(buf), sizeof(buf));
}
END_TEST

typedef struct span_case {
    int64_t ms;
    const char *exact; /* rlw_time_span() */
    const char *two;   /* rlw_time_span2() */
} span_case_t;

static const span_case_t spans[] = {
    {0, "0ms", "0s"},
    {-5 * SEC, "0ms", "0s"},
    {250, "250ms", "1s"}, /* span2 rounds up: a ban's last 250 ms */
    {999, "999ms", "1s"},
    {SEC, "1s", "1s"},
    {42 * SEC + 500, "42s", "43s"},
    {5 * 60 * SEC, "5m", "5m 00s"},
    {9 * 60 * SEC + 12 * SEC, "9m12s", "9m 12s"},
    {2 * 3600 * SEC + 5 * 60 * SEC, "2h5m", "2h 05m"},
    {DAY + 2 * 3600 * SEC + 3 * 60 * SEC + 4 * SEC, "1d2h3m4s", "1d 02h"},
    {366 * DAY, "366d", "366d 00h"},
};

START_TEST(span_cases)
{
    char buf[32];

    memset(buf, 'x', sizeof(buf));
    ck_assert_ptr_eq(rlw_time_span(spans[_i].ms, buf, sizeof(buf)), buf);
    ck_assert_str_eq(buf, spans[_i].exact);
    memset(buf, 'x', sizeof(buf));
    ck_assert_ptr_eq(rlw_time_span2(spans[_i].ms, buf, sizeof(buf)), buf);
    ck_assert_str_eq(buf, spans[_i].two);
}
END_TEST

START_TEST(span_short_buffer)
{
    char buf[4];

    rlw_time_span(DAY + 2 * 3600 * SEC, buf, sizeof(buf));
    ck_assert_str_eq(buf, "1d2");
    rlw_time_span2(2 * 3600 * SEC, buf, sizeof(buf));
    ck_assert_str_eq(buf, "2h ");
}
END_TEST

/* The wall clock is the system's, in ms; the monotonic one never goes
 * back. time() reads Linux's coarse clock, which lags CLOCK_REALTIME by up
 * to a tick: just after a second begins it may still give the one before,
 * hence a second of slack in the upper bound. */
START_TEST(clocks)
{
    int64_t before = (int64_t)time(NULL) * SEC;
    int64_t now = rlw_now_ms();
    int64_t after = (int64_t)time(NULL) * SEC + 2 * SEC;
    int64_t m1 = rlw_mono_ms(), m2 = rlw_mono_ms();

    ck_assert_int_ge(now, before);
    ck_assert_int_le(now, after);
    ck_assert_int_ge(m2, m1);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *time_suite(void)
{
    Suite *s = suite_create("time");
    TCase *tc = tcase_create("iso8601");

    tcase_add_loop_test(tc, iso_cases, 0, N(iso));
    tcase_add_test(tc, iso_short_buffer);
    tcase_add_test(tc, iso_len_fits);
    suite_add_tcase(s, tc);

    tc = tcase_create("spans and clocks");
    tcase_add_loop_test(tc, span_cases, 0, N(spans));
    tcase_add_test(tc, span_short_buffer);
    tcase_add_test(tc, clocks);
    suite_add_tcase(s, tc);
    return s;
}

/* test_duration.c - rlw_duration_parse() and rlw_duration_format(). */
#include <check.h>

#include "rlw_duration.h"
#include "unit_suites.h"

typedef struct good_case {
    const char *text;
    int64_t ms;
} good_case_t;

static const good_case_t good[] = {
    {"90", 90000},
    {"90s", 90000},
    {"500ms", 500},
    {"15m", 15 * 60000},
    {"8h", 8 * 3600000LL},
    {"1d", 86400000LL},
    {"0", 0},
    {"0ms", 0},
    {"007s", 7000},
    {"366d", RLW_DURATION_MAX_MS},
    {"31622400s", RLW_DURATION_MAX_MS},
    {"31622400000ms", RLW_DURATION_MAX_MS},
};

START_TEST(parse_good)
{
    int64_t ms = -1;
    const char *err = rlw_duration_parse(good[_i].text, &ms);

    ck_assert_msg(err == NULL, "\"%s\": %s", good[_i].text, err);
    ck_assert_int_eq(ms, good[_i].ms);
}
END_TEST

static const char *const bad[] = {
    "",
    "s",
    "ms",
    "-5",
    "+5",
    " 5",
    "5 ",
    "5 s",
    "1.5h",
    "1,5h",
    "5x",
    "5S",
    "5sec",
    "5mss",
    "5hm",
    "0x10",
    "5\n",
    "367d",
    "31622400001ms",
    "8785h",
    "99999999999999999999999999",
    "9223372036854775807ms",
    "1e3",
};

START_TEST(parse_bad)
{
    int64_t ms = 12345;
    const char *err = rlw_duration_parse(bad[_i], &ms);

    ck_assert_msg(err != NULL, "\"%s\" accepted as %lld", bad[_i],
                  (long long)ms);
    ck_assert_int_eq(ms, 12345); /* output untouched on error */
}
END_TEST

START_TEST(parse_null)
{
    int64_t ms = 0;

    ck_assert_ptr_nonnull(rlw_duration_parse(NULL, &ms));
}
END_TEST

START_TEST(format_units)
{
    char buf[32];

    ck_assert_str_eq(rlw_duration_format(0, buf, sizeof(buf)), "0s");
    ck_assert_str_eq(rlw_duration_format(1500, buf, sizeof(buf)), "1500ms");
    ck_assert_str_eq(rlw_duration_format(90000, buf, sizeof(buf)), "90s");
    ck_assert_str_eq(rlw_duration_format(900000, buf, sizeof(buf)), "15m");
    ck_assert_str_eq(rlw_duration_format(8 * 3600000LL, buf, sizeof(buf)),
                     "8h");
    ck_assert_str_eq(rlw_duration_format(86400000LL, buf, sizeof(buf)), "1d");
    ck_assert_str_eq(rlw_duration_format(25 * 3600000LL, buf, sizeof(buf)),
                     "25h");
    ck_assert_str_eq(rlw_duration_format(RLW_DURATION_MAX_MS, buf, sizeof(buf)),
                     "366d");
}
END_TEST

START_TEST(format_truncates)
{
    char buf[4] = "xxx";

    ck_assert_str_eq(rlw_duration_format(1500, buf, sizeof(buf)), "150");
    ck_assert_ptr_eq(rlw_duration_format(1500, buf, 0), buf);
}
END_TEST

START_TEST(format_parse_roundtrip)
{
    static const int64_t values[] = {
        1, 999, 1000, 61000, 3600000, 90061001, RLW_DURATION_MAX_MS};
    char buf[32];
    int64_t back;
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        rlw_duration_format(values[i], buf, sizeof(buf));
        ck_assert_ptr_null(rlw_duration_parse(buf, &back));
        ck_assert_int_eq(back, values[i]);
    }
}
END_TEST

Suite *duration_suite(void)
{
    Suite *s = suite_create("duration");
    TCase *tc = tcase_create("parse");

    tcase_add_loop_test(tc, parse_good, 0,
                        (int)(sizeof(good) / sizeof(good[0])));
    tcase_add_loop_test(tc, parse_bad, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, parse_null);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_test(tc, format_units);
    tcase_add_test(tc, format_truncates);
    tcase_add_test(tc, format_parse_roundtrip);
    suite_add_tcase(s, tc);
    return s;
}

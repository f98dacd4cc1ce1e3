/* test_window.c - the sliding-window counter: bucket edges, expiry, clock
 * jumps and saturation. Most cases use a 16 s window, so buckets are
 * exactly 1000 ms wide and bucket k covers [k*1000, k*1000+999].
 */
#include <string.h>

#include <check.h>

#include "rlw_window.h"
#include "unit_suites.h"

#define WIN 16000

START_TEST(width_rounds_up)
{
    ck_assert_int_eq(rlw_window_width(16000), 1000);
    ck_assert_int_eq(rlw_window_width(16), 1);
    ck_assert_int_eq(rlw_window_width(17), 2);
    ck_assert_int_eq(rlw_window_width(32), 2);
    ck_assert_int_eq(rlw_window_width(33), 3);
    ck_assert_int_eq(rlw_window_width(1), 1);
    ck_assert_int_eq(rlw_window_width(0), 1); /* never a zero divisor */
    ck_assert_int_eq(rlw_window_width(-5), 1);
}
END_TEST

START_TEST(time_zero_is_not_empty)
{
    rlw_window_t w;

    rlw_window_reset(&w);
    ck_assert_uint_eq(rlw_window_add(&w, 0, WIN, 1), 1);
    ck_assert_int_ne(rlw_window_head(&w), 0);
    ck_assert_uint_eq(rlw_window_total(&w, 0, WIN), 1);
    ck_assert_uint_eq(rlw_window_add(&w, 1, WIN, 1), 2);
}
END_TEST

START_TEST(bucket_edges)
{
    rlw_window_t w;

    rlw_window_reset(&w);
    ck_assert_uint_eq(rlw_window_add(&w, 0, WIN, 1), 1);
    ck_assert_uint_eq(rlw_window_add(&w, 999, WIN, 1), 2);  /* bucket 0 */
    ck_assert_uint_eq(rlw_window_add(&w, 1000, WIN, 1), 3); /* bucket 1 */
    ck_assert_uint_eq(rlw_window_total(&w, 15999, WIN), 3);
    /* Bucket 0 leaves the window as a whole when bucket 16 begins. */
    ck_assert_uint_eq(rlw_window_total(&w, 16000, WIN), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 16999, WIN), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 17000, WIN), 0);
}
END_TEST

START_TEST(exact_expiry)
{
    rlw_window_t w;

    rlw_window_reset(&w);
    rlw_window_add(&w, 5500, WIN, 1);
    ck_assert_uint_eq(rlw_window_total(&w, 5500, WIN), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 20999, WIN), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 21000, WIN), 0);
    /* Granularity bounds: counted for at least window - width ... */
    rlw_window_reset(&w);
    rlw_window_add(&w, 999, WIN, 1);
    ck_assert_uint_eq(rlw_window_total(&w, 999 + WIN - 1000, WIN), 1);
    /* ... and at most window. */
    rlw_window_reset(&w);
    rlw_window_add(&w, 0, WIN, 1);
    ck_assert_uint_eq(rlw_window_total(&w, WIN - 1, WIN), 1);
    ck_assert_uint_eq(rlw_window_total(&w, WIN, WIN), 0);
}
END_TEST

START_TEST(expiry_uneven_width)
{
    rlw_window_t w;

    /* window 17 ms: width 2, so 16 buckets span 32 ms. */
    rlw_window_reset(&w);
    rlw_window_add(&w, 0, 17, 1);
    ck_assert_uint_eq(rlw_window_total(&w, 31, 17), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 32, 17), 0);
}
END_TEST

START_TEST(ring_slot_reuse_clears)
{
    rlw_window_t w;
    int k;

    rlw_window_reset(&w);
    for (k = 0; k < RLW_WINDOW_BUCKETS; k++)
        ck_assert_uint_eq(rlw_window_add(&w, k * 1000 + 10, WIN, 1),
                          (uint32_t)k + 1);
    ck_assert_uint_eq(rlw_window_total(&w, 15999, WIN), 16);
    /* Bucket 17 reuses slots of buckets 0 and 1 (and skips 16). */
    ck_assert_uint_eq(rlw_window_add(&w, 17000, WIN, 1), 15);
    ck_assert_uint_eq(w.counts[0], 0);
    ck_assert_uint_eq(w.counts[1], 1);
    ck_assert_uint_eq(rlw_window_total(&w, 17999, WIN), 15);
    ck_assert_uint_eq(rlw_window_total(&w, 18000, WIN), 14);
}
END_TEST

START_TEST(add_counts_n)
{
    rlw_window_t w;

    rlw_window_reset(&w);
    ck_assert_uint_eq(rlw_window_add(&w, 100, WIN, 7), 7);
    ck_assert_uint_eq(rlw_window_add(&w, 2100, WIN, 0), 7);
    ck_assert_uint_eq(rlw_window_add(&w, 3100, WIN, 5), 12);
}
END_TEST

START_TEST(clock_backwards_adds_to_newest)
{
    rlw_window_t w;
    int64_t head;

    rlw_window_reset(&w);
    rlw_window_add(&w, 20000, WIN, 1);
    head = rlw_window_head(&w);
    ck_assert_uint_eq(rlw_window_add(&w, 12000, WIN, 1), 2);
    ck_assert_int_eq(rlw_window_head(&w), head);
    ck_assert_uint_eq(w.counts[20 % RLW_WINDOW_BUCKETS], 2);
    /* Read at the earlier time, the window is as of its newest bucket. */
    ck_assert_uint_eq(rlw_window_total(&w, 12000, WIN), 2);
    /* Both events expire with bucket 20. */
    ck_assert_uint_eq(rlw_window_total(&w, 35999, WIN), 2);
    ck_assert_uint_eq(rlw_window_total(&w, 36000, WIN), 0);
    /* Back by 15 buckets, still less than a window: kept. */
    ck_assert_uint_eq(rlw_window_add(&w, 5000, WIN, 1), 3);
    ck_assert_int_eq(rlw_window_head(&w), head);
}
END_TEST

START_TEST(clock_back_a_whole_window_restarts)
{
    rlw_window_t w;

    rlw_window_reset(&w);
    rlw_window_add(&w, 40000, WIN, 3);
    ck_assert_uint_eq(rlw_window_total(&w, 24000, WIN), 0);
    ck_assert_uint_eq(rlw_window_total(&w, 25000, WIN), 3);
    ck_assert_uint_eq(rlw_window_add(&w, 20000, WIN, 1), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 20000, WIN), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 35999, WIN), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 40000, WIN), 0);
}
END_TEST

START_TEST(clock_forward_past_window_empties)
{
    rlw_window_t w;

    rlw_window_reset(&w);
    rlw_window_add(&w, 1000, WIN, 3);
    ck_assert_uint_eq(rlw_window_add(&w, 16999, WIN, 1), 4);
    ck_assert_uint_eq(rlw_window_add(&w, 17000, WIN, 1), 2);
    /* Far future (a year): everything old is gone. */
    ck_assert_uint_eq(rlw_window_add(&w, 17000 + 31536000000LL, WIN, 1), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 17000 + 31536000000LL, WIN), 1);
}
END_TEST

START_TEST(saturates)
{
    rlw_window_t w;

    /* Exact up to the bucket limit, spread over buckets or not. */
    rlw_window_reset(&w);
    ck_assert_uint_eq(rlw_window_add(&w, 0, WIN, RLW_WINDOW_BUCKET_MAX - 1),
                      RLW_WINDOW_BUCKET_MAX - 1);
    ck_assert_uint_eq(rlw_window_add(&w, 1000, WIN, RLW_WINDOW_BUCKET_MAX - 1),
                      2u * (RLW_WINDOW_BUCKET_MAX - 1));
    /* A bucket that reaches the limit saturates, and the window reads as
     * full (more than any threshold), never as less than it holds. */
    ck_assert_uint_eq(rlw_window_add(&w, 1001, WIN, 5), UINT32_MAX);
    ck_assert_uint_eq(w.counts[1], RLW_WINDOW_BUCKET_MAX);
    ck_assert_uint_eq(rlw_window_add(&w, 1002, WIN, UINT32_MAX), UINT32_MAX);
    ck_assert_uint_eq(w.counts[1], RLW_WINDOW_BUCKET_MAX);
    ck_assert_uint_eq(rlw_window_add(&w, 2000, WIN, 2), UINT32_MAX);
    ck_assert_uint_eq(w.counts[2], 2);
    ck_assert_uint_eq(rlw_window_total(&w, 16999, WIN), UINT32_MAX);
    /* Until the saturated bucket leaves the window. */
    ck_assert_uint_eq(rlw_window_total(&w, 17000, WIN), 2);
}
END_TEST

/* 48 bits of head: a bucket index far beyond 2^32 works. */
START_TEST(large_index)
{
    rlw_window_t w;
    int64_t t = (INT64_C(1) << 40) + 123;

    rlw_window_reset(&w);
    ck_assert_uint_eq(rlw_window_add(&w, t, 16, 1), 1);
    ck_assert_int_eq(rlw_window_head(&w), t + 1);
    ck_assert_uint_eq(rlw_window_add(&w, t + 15, 16, 1), 2);
    ck_assert_uint_eq(rlw_window_total(&w, t + 16, 16), 1);
    ck_assert_uint_eq(rlw_window_total(&w, t + (INT64_C(1) << 32), 16), 0);
    /* Times past what 48 bits hold clamp, and still count. */
    ck_assert_uint_eq(rlw_window_add(&w, INT64_MAX, 16, 1), 1);
    ck_assert_uint_eq(rlw_window_total(&w, INT64_MAX, 16), 1);
}
END_TEST

START_TEST(total_does_not_change)
{
    rlw_window_t w;
    rlw_window_t copy;

    rlw_window_reset(&w);
    rlw_window_add(&w, 3000, WIN, 2);
    memcpy(&copy, &w, sizeof(w));
    ck_assert_uint_eq(rlw_window_total(&w, 50000, WIN), 0);
    ck_assert_uint_eq(rlw_window_total(&w, 4000, WIN), 2);
    ck_assert_int_eq(memcmp(&copy, &w, sizeof(w)), 0);
}
END_TEST

START_TEST(reset_and_odd_input)
{
    rlw_window_t w;

    rlw_window_reset(&w);
    rlw_window_add(&w, 3000, WIN, 2);
    rlw_window_reset(&w);
    ck_assert_int_eq(rlw_window_head(&w), 0);
    ck_assert_uint_eq(rlw_window_total(&w, 3000, WIN), 0);
    /* Negative time counts as time 0. */
    ck_assert_uint_eq(rlw_window_add(&w, -5, WIN, 1), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 0, WIN), 1);
    /* A corrupt head (far in the future) reads as empty, garbage
     * ignored. */
    memset(&w, 0xff, sizeof(w));
    ck_assert_uint_eq(rlw_window_total(&w, 1000, WIN), 0);
    ck_assert_uint_eq(rlw_window_add(&w, 1000, WIN, 1), 1);
    /* A zero window behaves as 1 ms, 16 buckets of 1 ms. */
    rlw_window_reset(&w);
    rlw_window_add(&w, 100, 0, 1);
    ck_assert_uint_eq(rlw_window_total(&w, 115, 0), 1);
    ck_assert_uint_eq(rlw_window_total(&w, 116, 0), 0);
}
END_TEST

Suite *window_suite(void)
{
    Suite *s = suite_create("window");
    TCase *tc = tcase_create("arithmetic");

    tcase_add_test(tc, width_rounds_up);
    tcase_add_test(tc, time_zero_is_not_empty);
    tcase_add_test(tc, bucket_edges);
    tcase_add_test(tc, exact_expiry);
    tcase_add_test(tc, expiry_uneven_width);
    tcase_add_test(tc, ring_slot_reuse_clears);
    tcase_add_test(tc, add_counts_n);
    tcase_add_test(tc, saturates);
    tcase_add_test(tc, large_index);
    tcase_add_test(tc, total_does_not_change);
    tcase_add_test(tc, reset_and_odd_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("clock");
    tcase_add_test(tc, clock_backwards_adds_to_newest);
    tcase_add_test(tc, clock_back_a_whole_window_restarts);
    tcase_add_test(tc, clock_forward_past_window_empties);
    suite_add_tcase(s, tc);
    return s;
}

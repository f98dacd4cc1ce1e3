/* test_metrics.c - the shared-memory counters: totals, the one-hour
 * per-minute series (slot reuse an hour later, clock going back), unknown
 * metric kinds, the names, and lock-free adds from several threads.
 *
 * Times are in ms since the epoch; T0 is the start of minute M0, a real
 * 2023 minute whose slot is not 0 (M0 % 60 == 26), so the ring wraps in
 * the middle of the series.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "rlw_metrics.h"
#include "unit_suites.h"

#define MIN_MS 60000LL
#define M0 28333346LL /* 2023-11-14 22:26 UTC */
#define T0 (M0 * MIN_MS)
#define AT(min, ms) (((M0) + (min)) * MIN_MS + (ms))
#define LAST (RLW_METRICS_MINUTES - 1)

static rlw_metrics_t m;

static void metrics_setup(void)
{
    memset(&m, 0x5a, sizeof(m)); /* init must not rely on a zeroed struct */
    rlw_metrics_init(&m, T0);
}

/* The series of k read at now_ms, the output poisoned first so that every
 * slot is seen to be written. */
static void series(rlw_metric_t k, int64_t now_ms,
                   uint32_t out[RLW_METRICS_MINUTES])
{
    memset(out, 0xab, sizeof(uint32_t) * RLW_METRICS_MINUTES);
    rlw_metrics_series(&m, k, now_ms, out);
}

static uint64_t series_sum(rlw_metric_t k, int64_t now_ms)
{
    uint32_t out[RLW_METRICS_MINUTES];
    uint64_t sum = 0;

    series(k, now_ms, out);
    for (int i = 0; i < RLW_METRICS_MINUTES; i++)
        sum += out[i];
    return sum;
}

START_TEST(init_is_empty)
{
    uint32_t out[RLW_METRICS_MINUTES];

    ck_assert_int_eq(m.started_ms, T0);
    for (int k = 0; k < RLW_M_COUNT; k++) {
        ck_assert_uint_eq(rlw_metrics_total(&m, (rlw_metric_t)k), 0);
        series((rlw_metric_t)k, T0, out);
        for (int i = 0; i < RLW_METRICS_MINUTES; i++)
            ck_assert_uint_eq(out[i], 0);
    }
    /* Minute 0 of the epoch is a real minute, yet an unused slot (minute
     * -1) does not read as it. */
    rlw_metrics_init(&m, 0);
    series(RLW_M_ATTACKS, 0, out);
    for (int i = 0; i < RLW_METRICS_MINUTES; i++)
        ck_assert_uint_eq(out[i], 0);
}
END_TEST

START_TEST(totals_add_up)
{
    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(0, 0), 1);
    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(0, 59999), 2);
    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(7, 10), 3);
    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(500, 10), 4); /* hours later */
    rlw_metrics_add(&m, RLW_M_BANS, AT(1, 0), 10);
    rlw_metrics_add(&m, RLW_M_UNBANS, AT(2, 0), 0); /* n = 0 */
    rlw_metrics_add(&m, RLW_M_NEAR, AT(2, 0), 5);
    rlw_metrics_add(&m, RLW_M_NEAR, AT(2, 1), 6);

    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_ATTACKS), 10);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_BANS), 10);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_REJECTED), 0);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_DRY_RUN), 0);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_EXEMPT), 0);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_NEAR), 11);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_UNBANS), 0);
}
END_TEST

START_TEST(totals_are_64_bit)
{
    /* The total outgrows a uint32_t (the per-minute slots do not have to:
     * their width is not part of the contract, so only totals here). */
    rlw_metrics_add(&m, RLW_M_REJECTED, AT(0, 0), UINT32_MAX);
    rlw_metrics_add(&m, RLW_M_REJECTED, AT(1, 0), UINT32_MAX);
    rlw_metrics_add(&m, RLW_M_REJECTED, AT(2, 0), 2);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_REJECTED),
                      2 * (uint64_t)UINT32_MAX + 2);
}
END_TEST

START_TEST(series_current_minute_last)
{
    uint32_t out[RLW_METRICS_MINUTES];

    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(0, 0), 1);     /* first ms */
    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(0, 59999), 4); /* last ms */
    series(RLW_M_ATTACKS, AT(0, 0), out);
    ck_assert_uint_eq(out[LAST], 5);
    for (int i = 0; i < LAST; i++)
        ck_assert_uint_eq(out[i], 0);
    /* Any ms of the minute reads the same. */
    series(RLW_M_ATTACKS, AT(0, 59999), out);
    ck_assert_uint_eq(out[LAST], 5);
    /* The next ms is the next minute: the count moves one place back. */
    series(RLW_M_ATTACKS, AT(1, 0), out);
    ck_assert_uint_eq(out[LAST], 0);
    ck_assert_uint_eq(out[LAST - 1], 5);
    /* Other kinds are untouched. */
    series(RLW_M_BANS, AT(0, 0), out);
    for (int i = 0; i < RLW_METRICS_MINUTES; i++)
        ck_assert_uint_eq(out[i], 0);
}
END_TEST

START_TEST(series_order_and_gaps)
{
    uint32_t out[RLW_METRICS_MINUTES];

    /* Minutes -59 (oldest shown), -40, -27 (slot 59), -26 (slot 0: the
     * ring wraps there), -1 and 0 (now), written out of order. */
    rlw_metrics_add(&m, RLW_M_BANS, AT(-1, 30000), 2);
    rlw_metrics_add(&m, RLW_M_BANS, AT(-59, 5), 7);
    rlw_metrics_add(&m, RLW_M_BANS, AT(-27, 59999), 11);
    rlw_metrics_add(&m, RLW_M_BANS, AT(-26, 0), 13);
    rlw_metrics_add(&m, RLW_M_BANS, AT(-40, 1), 3);
    rlw_metrics_add(&m, RLW_M_BANS, AT(0, 1), 1);
    rlw_metrics_add(&m, RLW_M_BANS, AT(-1, 59999), 1);

    series(RLW_M_BANS, AT(0, 45000), out);
    for (int i = 0; i < RLW_METRICS_MINUTES; i++) {
        uint32_t want;

        switch (i - LAST) {
        case -59:
            want = 7;
            break;
        case -40:
            want = 3;
            break;
        case -27:
            want = 11;
            break;
        case -26:
            want = 13;
            break;
        case -1:
            want = 3;
            break;
        case 0:
            want = 1;
            break;
        default:
            want = 0;
        }
        ck_assert_msg(out[i] == want, "out[%d] = %u, want %u", i,
                      (unsigned)out[i], (unsigned)want);
    }
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_BANS), 38);

    /* Five minutes on, with no new data: everything shifts by five and
     * minute -59 has left the chart (its slot still holds it). */
    series(RLW_M_BANS, AT(5, 0), out);
    ck_assert_uint_eq(out[LAST], 0);
    ck_assert_uint_eq(out[LAST - 5], 1);
    ck_assert_uint_eq(out[LAST - 6], 3);
    ck_assert_uint_eq(out[LAST - 31], 13);
    ck_assert_uint_eq(out[LAST - 32], 11);
    ck_assert_uint_eq(out[LAST - 45], 3);
    ck_assert_uint_eq(series_sum(RLW_M_BANS, AT(5, 0)), 31);
}
END_TEST

START_TEST(series_reading_is_pure)
{
    rlw_metrics_t copy;
    uint32_t out[RLW_METRICS_MINUTES];

    rlw_metrics_add(&m, RLW_M_EXEMPT, AT(0, 0), 3);
    memcpy(&copy, &m, sizeof(m));
    series(RLW_M_EXEMPT, AT(1000, 0), out);
    series(RLW_M_EXEMPT, AT(-1000, 0), out);
    series(RLW_M_EXEMPT, AT(0, 0), out);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_EXEMPT), 3);
    ck_assert_int_eq(memcmp(&copy, &m, sizeof(m)), 0);
}
END_TEST

START_TEST(slot_reused_an_hour_later_is_cleared)
{
    uint32_t out[RLW_METRICS_MINUTES];

    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(0, 0), 4);
    rlw_metrics_add(&m, RLW_M_BANS, AT(0, 0), 2);
    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(1, 0), 9);

    /* 59 minutes later minute 0 is still the oldest shown ... */
    series(RLW_M_ATTACKS, AT(59, 59999), out);
    ck_assert_uint_eq(out[0], 4);
    ck_assert_uint_eq(out[1], 9);
    /* ... 60 minutes later it is gone even though nothing reused its slot
     * yet: the slot holds minute 0, not minute 60. */
    series(RLW_M_ATTACKS, AT(60, 0), out);
    ck_assert_uint_eq(out[LAST], 0);
    ck_assert_uint_eq(out[0], 9);
    ck_assert_uint_eq(series_sum(RLW_M_ATTACKS, AT(60, 0)), 9);
    ck_assert_uint_eq(series_sum(RLW_M_BANS, AT(60, 0)), 0);

    /* Minute 60 reuses minute 0's slot: every kind of the old minute is
     * cleared, not only the one added. */
    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(60, 100), 1);
    series(RLW_M_ATTACKS, AT(60, 200), out);
    ck_assert_uint_eq(out[LAST], 1);
    ck_assert_uint_eq(out[0], 9);
    series(RLW_M_BANS, AT(60, 200), out);
    ck_assert_uint_eq(out[LAST], 0);
    ck_assert_int_eq(m.slot[M0 % RLW_METRICS_MINUTES].minute, M0 + 60);
    ck_assert_uint_eq(m.slot[M0 % RLW_METRICS_MINUTES].n[RLW_M_BANS], 0);
    /* Reading back at minute 0 now shows nothing for it. */
    ck_assert_uint_eq(series_sum(RLW_M_BANS, AT(0, 0)), 0);

    /* Several hours later (5 h, same slot): cleared the same way. */
    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(300, 0), 6);
    series(RLW_M_ATTACKS, AT(300, 0), out);
    ck_assert_uint_eq(out[LAST], 6);
    ck_assert_uint_eq(series_sum(RLW_M_ATTACKS, AT(300, 0)), 6);

    /* Totals keep everything. */
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_ATTACKS), 20);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_BANS), 2);
}
END_TEST

START_TEST(clock_backwards_keeps_total_not_chart)
{
    uint32_t out[RLW_METRICS_MINUTES];

    rlw_metrics_add(&m, RLW_M_REJECTED, AT(60, 0), 3);
    /* Back an hour: the slot holds a newer minute, so the chart is
     * skipped and the newer minute is neither cleared nor added to. */
    rlw_metrics_add(&m, RLW_M_REJECTED, AT(0, 0), 2);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_REJECTED), 5);
    series(RLW_M_REJECTED, AT(60, 0), out);
    ck_assert_uint_eq(out[LAST], 3);
    ck_assert_uint_eq(series_sum(RLW_M_REJECTED, AT(60, 0)), 3);
    ck_assert_uint_eq(series_sum(RLW_M_REJECTED, AT(0, 0)), 0);
    /* Back a day: same. */
    rlw_metrics_add(&m, RLW_M_REJECTED, AT(60 - 24 * 60, 0), 4);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_REJECTED), 9);
    ck_assert_uint_eq(series_sum(RLW_M_REJECTED, AT(60, 0)), 3);
    /* Back within the same minute: an ordinary add. */
    rlw_metrics_add(&m, RLW_M_REJECTED, AT(60, 59999), 1);
    rlw_metrics_add(&m, RLW_M_REJECTED, AT(60, 1), 1);
    series(RLW_M_REJECTED, AT(60, 0), out);
    ck_assert_uint_eq(out[LAST], 5);
    /* Back one minute, to a slot that holds an older minute: counted in
     * its own minute (still within the hour shown), never in the current
     * one. */
    rlw_metrics_add(&m, RLW_M_REJECTED, AT(59, 0), 7);
    series(RLW_M_REJECTED, AT(60, 0), out);
    ck_assert_uint_eq(out[LAST], 5);
    ck_assert_uint_eq(out[LAST - 1], 7);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_REJECTED), 18);
}
END_TEST

START_TEST(negative_time_ignored)
{
    rlw_metrics_t copy;

    /* Current behaviour: a time before the epoch is dropped altogether
     * (total included), and the struct is not touched. */
    memcpy(&copy, &m, sizeof(m));
    rlw_metrics_add(&m, RLW_M_ATTACKS, -1, 1);
    rlw_metrics_add(&m, RLW_M_ATTACKS, -MIN_MS * 61, 1);
    rlw_metrics_add(&m, RLW_M_ATTACKS, INT64_MIN, 1);
    ck_assert_int_eq(memcmp(&copy, &m, sizeof(m)), 0);
    ck_assert_uint_eq(series_sum(RLW_M_ATTACKS, -1), 0);
    ck_assert_uint_eq(series_sum(RLW_M_ATTACKS, INT64_MIN + 1), 0);
    /* Near the epoch, the minutes before it read as 0. */
    rlw_metrics_init(&m, 0);
    rlw_metrics_add(&m, RLW_M_ATTACKS, 0, 2);
    {
        uint32_t out[RLW_METRICS_MINUTES];

        series(RLW_M_ATTACKS, 1, out);
        ck_assert_uint_eq(out[LAST], 2);
        for (int i = 0; i < LAST; i++)
            ck_assert_uint_eq(out[i], 0);
    }
}
END_TEST

START_TEST(unknown_kinds_ignored)
{
    static const int bad[] = {RLW_M_COUNT, RLW_M_COUNT + 1, 1000, -1,
                              INT32_MIN};
    rlw_metrics_t copy;
    uint32_t out[RLW_METRICS_MINUTES];

    rlw_metrics_add(&m, RLW_M_ATTACKS, AT(0, 0), 3);
    memcpy(&copy, &m, sizeof(m));
    for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
        rlw_metric_t k = (rlw_metric_t)bad[j];

        rlw_metrics_add(&m, k, AT(0, 0), 5);
        rlw_metrics_add(&m, k, AT(60, 0), 5); /* would reuse a slot */
        ck_assert_uint_eq(rlw_metrics_total(&m, k), 0);
        series(k, AT(0, 0), out);
        for (int i = 0; i < RLW_METRICS_MINUTES; i++)
            ck_assert_uint_eq(out[i], 0);
        ck_assert_ptr_nonnull(rlw_metrics_name(k));
        ck_assert_str_eq(rlw_metrics_name(k), "unknown");
    }
    ck_assert_int_eq(memcmp(&copy, &m, sizeof(m)), 0);
}
END_TEST

START_TEST(names_distinct)
{
    for (int k = 0; k < RLW_M_COUNT; k++) {
        const char *a = rlw_metrics_name((rlw_metric_t)k);

        ck_assert_ptr_nonnull(a);
        ck_assert_int_gt(strlen(a), 0);
        /* Prometheus metric name characters, and not the fallback. */
        ck_assert_uint_eq(strspn(a, "abcdefghijklmnopqrstuvwxyz_"), strlen(a));
        ck_assert_str_ne(a, "unknown");
        for (int j = 0; j < k; j++)
            ck_assert_str_ne(a, rlw_metrics_name((rlw_metric_t)j));
    }
    ck_assert_str_eq(rlw_metrics_name(RLW_M_ATTACKS), "attacks");
    ck_assert_str_eq(rlw_metrics_name(RLW_M_BANS), "bans");
    ck_assert_str_eq(rlw_metrics_name(RLW_M_EVENTS_DROPPED), "events_dropped");
    ck_assert_str_eq(rlw_metrics_name(RLW_M_UNBANS), "unbans");
}
END_TEST

#define THREADS 4
#define ADDS 100000

typedef struct worker {
    int id;
    int64_t base_ms;
    int64_t step_ms; /* 0: every add in one minute */
} worker_t;

static void *add_worker(void *arg)
{
    const worker_t *w = arg;

    for (int i = 0; i < ADDS; i++) {
        int64_t t = w->base_ms + (w->step_ms ? (int64_t)i * w->step_ms : 0);

        rlw_metrics_add(&m, RLW_M_ATTACKS, t, 1);
        if ((i & 3) == w->id)
            rlw_metrics_add(&m, RLW_M_BANS, t, 2);
    }
    return NULL;
}

static void run_workers(int64_t step_ms)
{
    pthread_t tid[THREADS];
    worker_t w[THREADS];

    for (int i = 0; i < THREADS; i++) {
        w[i].id = i;
        w[i].base_ms = T0;
        w[i].step_ms = step_ms;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, add_worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
}

START_TEST(threads_one_minute_exact)
{
    uint32_t out[RLW_METRICS_MINUTES];

    run_workers(0);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_ATTACKS),
                      (uint64_t)THREADS * ADDS);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_BANS),
                      (uint64_t)THREADS * (ADDS / 4) * 2);
    /* One minute, no slot reuse: the chart is exact too. */
    series(RLW_M_ATTACKS, T0, out);
    ck_assert_uint_eq(out[LAST], THREADS * ADDS);
}
END_TEST

START_TEST(threads_crossing_minutes_total_exact)
{
    uint64_t chart;

    /* 10 ms a step: each thread walks 1000 s, ~17 minutes, so the threads
     * race to claim and clear slots. A count racing a claim may be lost
     * from the chart (documented) but never from the total. */
    run_workers(10);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_ATTACKS),
                      (uint64_t)THREADS * ADDS);
    ck_assert_uint_eq(rlw_metrics_total(&m, RLW_M_BANS),
                      (uint64_t)THREADS * (ADDS / 4) * 2);
    chart = series_sum(RLW_M_ATTACKS, T0 + (int64_t)ADDS * 10);
    ck_assert_uint_le(chart, (uint64_t)THREADS * ADDS);
    ck_assert_uint_gt(chart, 0);
}
END_TEST

Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("counts");

    tcase_add_checked_fixture(tc, metrics_setup, NULL);
    tcase_add_test(tc, init_is_empty);
    tcase_add_test(tc, totals_add_up);
    tcase_add_test(tc, totals_are_64_bit);
    tcase_add_test(tc, series_current_minute_last);
    tcase_add_test(tc, series_order_and_gaps);
    tcase_add_test(tc, series_reading_is_pure);
    tcase_add_test(tc, slot_reused_an_hour_later_is_cleared);
    tcase_add_test(tc, clock_backwards_keeps_total_not_chart);
    tcase_add_test(tc, negative_time_ignored);
    tcase_add_test(tc, unknown_kinds_ignored);
    tcase_add_test(tc, names_distinct);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, metrics_setup, NULL);
    tcase_add_test(tc, threads_one_minute_exact);
    tcase_add_test(tc, threads_crossing_minutes_total_exact);
    /* valgrind runs the tests in-process and slowly. */
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

/* test_evqueue.c - the bounded event-line queue: order, whole lines across
 * the ring's end, the bounds in lines and in bytes (a full queue drops and
 * counts, never overwrites), refused lengths, a queue without a buffer, and
 * the rate-limited report of dropped lines.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "rlw_evqueue.h"
#include "unit_suites.h"

#define MIN_MS 60000

/* A buffer with guard bytes on both sides, to catch a write past the ring. */
static unsigned char mem[64 + 8192 + 64];
#define RING (mem + 64)
static rlw_evq_t q;

static void evq_setup(void)
{
    memset(mem, 0xee, sizeof(mem));
    memset(&q, 0x5a, sizeof(q)); /* init must not rely on a zeroed struct */
}

static void guards_intact(size_t cap)
{
    for (size_t i = 0; i < 64; i++) {
        ck_assert_uint_eq(mem[i], 0xee);
        ck_assert_uint_eq(RING[cap + i], 0xee);
    }
}

/* Line i: "line <i> " padded with a letter of i to len bytes, "\n" last. */
static size_t make_line(char *buf, int i, size_t len)
{
    int n = snprintf(buf, len + 1, "line %d ", i);

    if ((size_t)n < len)
        memset(buf + n, 'a' + i % 26, len - (size_t)n);
    buf[len - 1] = '\n';
    return len;
}

static void pop_expect(int i, size_t len)
{
    char want[RLW_EVQ_LINE_MAX], got[RLW_EVQ_LINE_MAX];

    make_line(want, i, len);
    ck_assert_uint_eq(rlw_evq_pop(&q, got, sizeof(got)), len);
    ck_assert(memcmp(want, got, len) == 0);
}

START_TEST(empty_pops_nothing)
{
    char out[16];

    rlw_evq_init(&q, RING, 1024, 8);
    ck_assert_uint_eq(rlw_evq_lines(&q), 0);
    ck_assert_uint_eq(rlw_evq_pop(&q, out, sizeof(out)), 0);
    ck_assert_uint_eq(q.dropped, 0);
    ck_assert_uint_eq(q.pushed, 0);
}
END_TEST

START_TEST(fifo_order)
{
    char line[RLW_EVQ_LINE_MAX];

    rlw_evq_init(&q, RING, 4096, 16);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, i, 100 + i)),
                         0);
    ck_assert_uint_eq(rlw_evq_lines(&q), 10);
    for (int i = 0; i < 10; i++)
        pop_expect(i, 100 + i);
    ck_assert_uint_eq(rlw_evq_lines(&q), 0);
    ck_assert_uint_eq(q.used, 0);
    ck_assert_uint_eq(q.pushed, 10);
    guards_intact(4096);
}
END_TEST

/* Lines of odd lengths pushed and popped one ahead, many times round a
 * small ring: every wrap position of a record's length and bytes. */
START_TEST(wraps_keep_lines_whole)
{
    const size_t cap = 1000;
    char line[RLW_EVQ_LINE_MAX];
    int next_pop = 0;

    rlw_evq_init(&q, RING, cap, 100);
    for (int i = 0; i < 2000; i++) {
        size_t len = 1 + (size_t)(i * 37) % 450;

        ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, i, len)), 0);
        if (rlw_evq_lines(&q) > 1) {
            pop_expect(next_pop, 1 + (size_t)(next_pop * 37) % 450);
            next_pop++;
        }
        ck_assert_uint_le(q.used, cap);
    }
    while (rlw_evq_lines(&q)) {
        pop_expect(next_pop, 1 + (size_t)(next_pop * 37) % 450);
        next_pop++;
    }
    ck_assert_int_eq(next_pop, 2000);
    ck_assert_uint_eq(q.dropped, 0);
    guards_intact(cap);
}
END_TEST

START_TEST(full_in_lines_drops_newest)
{
    char line[RLW_EVQ_LINE_MAX];

    rlw_evq_init(&q, RING, 8192, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, i, 50)), 0);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 3, 50)), -1);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 4, 50)), -1);
    ck_assert_uint_eq(q.dropped, 2);
    ck_assert_uint_eq(rlw_evq_lines(&q), 3);
    /* What was queued is intact, oldest first; then there is room again. */
    pop_expect(0, 50);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 5, 50)), 0);
    pop_expect(1, 50);
    pop_expect(2, 50);
    pop_expect(5, 50);
    ck_assert_uint_eq(q.pushed, 4);
}
END_TEST

START_TEST(full_in_bytes_drops)
{
    char line[RLW_EVQ_LINE_MAX];
    /* Room for exactly two 498-byte lines with their lengths. */
    const size_t cap = 2 * (498 + RLW_EVQ_RECORD_OVERHEAD);

    rlw_evq_init(&q, RING, cap, 100);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 0, 498)), 0);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 1, 499)), -1);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 2, 498)), 0);
    ck_assert_uint_eq(q.used, cap);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 3, 1)), -1);
    ck_assert_uint_eq(q.dropped, 2);
    pop_expect(0, 498);
    /* The room freed at the ring's start takes the next line. */
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 4, 498)), 0);
    pop_expect(2, 498);
    pop_expect(4, 498);
    guards_intact(cap);
}
END_TEST

START_TEST(lengths_refused)
{
    static char big[RLW_EVQ_LINE_MAX + 1];

    rlw_evq_init(&q, RING, 8192, 10);
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(rlw_evq_push(&q, big, 0), -1);
    ck_assert_int_eq(rlw_evq_push(&q, big, RLW_EVQ_LINE_MAX + 1), -1);
    ck_assert_uint_eq(q.dropped, 2);
    /* The longest line a pipe takes atomically fits, and comes back whole. */
    ck_assert_int_eq(rlw_evq_push(&q, big, RLW_EVQ_LINE_MAX), 0);
    {
        static char out[RLW_EVQ_LINE_MAX];

        ck_assert_uint_eq(rlw_evq_pop(&q, out, sizeof(out)), RLW_EVQ_LINE_MAX);
        ck_assert(memcmp(out, big, RLW_EVQ_LINE_MAX) == 0);
    }
    guards_intact(8192);
}
END_TEST

START_TEST(short_output_cuts_but_removes)
{
    char line[RLW_EVQ_LINE_MAX], out[10];

    rlw_evq_init(&q, RING, 4096, 10);
    rlw_evq_push(&q, line, make_line(line, 0, 100));
    rlw_evq_push(&q, line, make_line(line, 1, 60));
    ck_assert_uint_eq(rlw_evq_pop(&q, out, sizeof(out)), sizeof(out));
    ck_assert(memcmp(out, "line 0 aaa", sizeof(out)) == 0);
    /* The cut line is gone as a whole; the next one is intact. */
    pop_expect(1, 60);
}
END_TEST

START_TEST(no_buffer_drops_everything)
{
    char line[64], out[64];

    rlw_evq_init(&q, NULL, 0, 0);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 0, 20)), -1);
    ck_assert_uint_eq(rlw_evq_pop(&q, out, sizeof(out)), 0);
    rlw_evq_init(&q, RING, 4096, 0);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 0, 20)), -1);
    rlw_evq_init(&q, RING, 0, 10);
    ck_assert_int_eq(rlw_evq_push(&q, line, make_line(line, 0, 20)), -1);
    ck_assert_uint_eq(q.dropped, 1);
}
END_TEST

START_TEST(drop_report_once_a_minute)
{
    const int64_t t0 = 1700000000000LL;
    char line[64];

    rlw_evq_init(&q, RING, 8192, 1);
    ck_assert_uint_eq(rlw_evq_drop_report(&q, t0, MIN_MS), 0); /* none */
    rlw_evq_push(&q, line, make_line(line, 0, 20));
    for (int i = 0; i < 5; i++)
        rlw_evq_push(&q, line, make_line(line, 1, 20));
    /* The first report is due at once, with every drop so far. */
    ck_assert_uint_eq(rlw_evq_drop_report(&q, t0, MIN_MS), 5);
    ck_assert_uint_eq(rlw_evq_drop_report(&q, t0 + 1, MIN_MS), 0);
    for (int i = 0; i < 7; i++)
        rlw_evq_push(&q, line, make_line(line, 1, 20));
    /* Within the minute: silent, the count carries over. */
    ck_assert_uint_eq(rlw_evq_drop_report(&q, t0 + MIN_MS - 1, MIN_MS), 0);
    ck_assert_uint_eq(rlw_evq_drop_report(&q, t0 + MIN_MS, MIN_MS), 7);
    /* A minute later with nothing new dropped: nothing to say. */
    ck_assert_uint_eq(rlw_evq_drop_report(&q, t0 + 5 * MIN_MS, MIN_MS), 0);
    rlw_evq_push(&q, line, make_line(line, 1, 20));
    ck_assert_uint_eq(rlw_evq_drop_report(&q, t0 + 5 * MIN_MS, MIN_MS), 1);
    /* The clock going back stays silent rather than report early. */
    rlw_evq_push(&q, line, make_line(line, 1, 20));
    ck_assert_uint_eq(rlw_evq_drop_report(&q, t0, MIN_MS), 0);
    /* The last word at exit takes what is left, once. */
    ck_assert_uint_eq(rlw_evq_drop_flush(&q), 1);
    ck_assert_uint_eq(rlw_evq_drop_flush(&q), 0);
    ck_assert_uint_eq(q.dropped, 14);
}
END_TEST

START_TEST(drop_report_at_time_zero)
{
    char line[64];

    rlw_evq_init(&q, RING, 8192, 1);
    rlw_evq_push(&q, line, make_line(line, 0, 20));
    rlw_evq_push(&q, line, make_line(line, 1, 20));
    ck_assert_uint_eq(rlw_evq_drop_report(&q, 0, MIN_MS), 1);
    rlw_evq_push(&q, line, make_line(line, 1, 20));
    /* A report at time 0 still counts as the last one. */
    ck_assert_uint_eq(rlw_evq_drop_report(&q, 10, MIN_MS), 0);
}
END_TEST

Suite *evqueue_suite(void)
{
    Suite *s = suite_create("evqueue");
    TCase *tc = tcase_create("queue");

    tcase_add_checked_fixture(tc, evq_setup, NULL);
    tcase_add_test(tc, empty_pops_nothing);
    tcase_add_test(tc, fifo_order);
    tcase_add_test(tc, wraps_keep_lines_whole);
    tcase_add_test(tc, full_in_lines_drops_newest);
    tcase_add_test(tc, full_in_bytes_drops);
    tcase_add_test(tc, lengths_refused);
    tcase_add_test(tc, short_output_cuts_but_removes);
    tcase_add_test(tc, no_buffer_drops_everything);
    tcase_add_test(tc, drop_report_once_a_minute);
    tcase_add_test(tc, drop_report_at_time_zero);
    suite_add_tcase(s, tc);
    return s;
}

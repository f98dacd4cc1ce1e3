/* test_jpos.c - the journal reading position: a new node looks back
 * backlog entries, a round never reads more than backlog whatever the
 * sequence says, a missing entry numbered lately is waited for, one
 * numbered long ago is skipped (also at a new position: first round,
 * jump, restart), and a sequence that went down is left to the caller.
 */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "rlw_jpos.h"
#include "unit_suites.h"

#define BACKLOG 4096
#define WAIT 2000

START_TEST(first_round)
{
    rlw_jpos_t p;

    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(rlw_jpos_begin(&p, 10, BACKLOG, 1000, WAIT, NULL),
                     RLW_JPOS_FIRST);
    ck_assert_uint_eq(p.seen, 0);
    /* Old entries may have expired: skipped once WAIT has passed. */
    ck_assert_int_eq(rlw_jpos_begin(&p, 10, BACKLOG, 1000 + WAIT, WAIT, NULL),
                     RLW_JPOS_READ);
    ck_assert_int_eq(rlw_jpos_missing(&p, 1), 1);
    ck_assert_uint_eq(p.seen, 1);

    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(rlw_jpos_begin(&p, 10000, BACKLOG, 1000, WAIT, NULL),
                     RLW_JPOS_FIRST);
    ck_assert_uint_eq(p.seen, 10000 - BACKLOG);
}
END_TEST

START_TEST(poisoned_sequence_bounded)
{
    rlw_jpos_t p;
    uint64_t jumped;

    memset(&p, 0, sizeof(p));
    rlw_jpos_begin(&p, 5, BACKLOG, 1000, WAIT, NULL);
    p.seen = 5;
    ck_assert_int_eq(
        rlw_jpos_begin(&p, UINT64_MAX - 3, BACKLOG, 1250, WAIT, &jumped),
        RLW_JPOS_JUMPED);
    ck_assert_uint_eq(p.seen, UINT64_MAX - 3 - BACKLOG);
    ck_assert_uint_eq(jumped, UINT64_MAX - 3 - BACKLOG - 5);
    /* The entries jumped to never existed: waited for once (the last
     * ones might be being written), then skipped. */
    ck_assert_int_eq(rlw_jpos_missing(&p, p.seen + 1), 0);
    ck_assert_int_eq(
        rlw_jpos_begin(&p, UINT64_MAX - 3, BACKLOG, 1250 + WAIT, WAIT, NULL),
        RLW_JPOS_READ);
    ck_assert_int_eq(rlw_jpos_missing(&p, p.seen + 1), 1);
    ck_assert_int_eq(rlw_jpos_missing(&p, UINT64_MAX - 3), 1);
    /* The next real entry comes right after. */
    ck_assert_int_eq(
        rlw_jpos_begin(&p, UINT64_MAX - 2, BACKLOG, 1500 + WAIT, WAIT, &jumped),
        RLW_JPOS_READ);
    ck_assert_uint_eq(jumped, 0);
    ck_assert_uint_eq(p.seen, UINT64_MAX - 3);
}
END_TEST

START_TEST(late_entry_waited_for)
{
    rlw_jpos_t p;
    int64_t t = 1000;

    memset(&p, 0, sizeof(p));
    rlw_jpos_begin(&p, 10, BACKLOG, t, WAIT, NULL);
    p.seen = 10;
    /* 11 numbered, 12 numbered and written: wait for 11. */
    t += 250;
    ck_assert_int_eq(rlw_jpos_begin(&p, 12, BACKLOG, t, WAIT, NULL),
                     RLW_JPOS_READ);
    ck_assert_int_eq(rlw_jpos_missing(&p, 11), 0);
    ck_assert_uint_eq(p.seen, 10);
    /* Next round it is there. */
    t += 250;
    rlw_jpos_begin(&p, 12, BACKLOG, t, WAIT, NULL);
    p.seen = 12;
    ck_assert_uint_eq(p.seen, 12);
}
END_TEST

START_TEST(lost_entry_skipped_in_time)
{
    rlw_jpos_t p;
    int64_t t = 1000, start;
    int rounds = 0;

    memset(&p, 0, sizeof(p));
    rlw_jpos_begin(&p, 10, BACKLOG, t, WAIT, NULL);
    p.seen = 10;
    start = t;
    /* Entry 11 never comes; rounds every 250 ms. */
    for (;;) {
        t += 250;
        rounds++;
        rlw_jpos_begin(&p, 12, BACKLOG, t, WAIT, NULL);
        if (rlw_jpos_missing(&p, 11))
            break;
        ck_assert_int_lt(rounds, 100);
    }
    ck_assert_uint_eq(p.seen, 11);
    /* Numbered during the first round: skipped after WAIT..2*WAIT. */
    ck_assert_int_ge(t - start, WAIT);
    ck_assert_int_le(t - start, 2 * WAIT + 250);
}
END_TEST

START_TEST(sequence_went_down)
{
    rlw_jpos_t p;

    memset(&p, 0, sizeof(p));
    rlw_jpos_begin(&p, 100, BACKLOG, 1000, WAIT, NULL);
    p.seen = 100;
    ck_assert_int_eq(rlw_jpos_begin(&p, 3, BACKLOG, 1250, WAIT, NULL),
                     RLW_JPOS_BEHIND);
    ck_assert_uint_eq(p.seen, 100); /* never rewound by itself */
    /* A restart (the caller saw entry 100 gone). */
    rlw_jpos_restart(&p, 3, BACKLOG, 1250);
    ck_assert_uint_eq(p.seen, 0);
    ck_assert_int_eq(rlw_jpos_missing(&p, 1), 0); /* maybe being written */
    rlw_jpos_begin(&p, 3, BACKLOG, 1250 + WAIT, WAIT, NULL);
    ck_assert_int_eq(rlw_jpos_missing(&p, 1), 1);
    rlw_jpos_restart(&p, 5000, BACKLOG, 1250);
    ck_assert_uint_eq(p.seen, 5000 - BACKLOG);
}
END_TEST

/* A node's first round reads the counter at 12 while the writer of 12
 * has taken its number but not yet written the entry (11 is there): 12
 * must be read next round, not skipped for good. */
START_TEST(first_round_waits_for_entry_being_written)
{
    rlw_jpos_t p;
    int64_t t = 1000;

    memset(&p, 0, sizeof(p));
    ck_assert_int_eq(rlw_jpos_begin(&p, 12, BACKLOG, t, WAIT, NULL),
                     RLW_JPOS_FIRST);
    p.seen = 11; /* 1..11 applied */
    ck_assert_int_eq(rlw_jpos_missing(&p, 12), 0);
    ck_assert_uint_eq(p.seen, 11);
    /* Written by the next round. */
    t += 250;
    ck_assert_int_eq(rlw_jpos_begin(&p, 12, BACKLOG, t, WAIT, NULL),
                     RLW_JPOS_READ);
    ck_assert_uint_eq(p.seen, 11);
    /* The same after a jump and after a restart. */
    memset(&p, 0, sizeof(p));
    rlw_jpos_begin(&p, 5, BACKLOG, t, WAIT, NULL);
    p.seen = 5;
    ck_assert_int_eq(
        rlw_jpos_begin(&p, 5 + BACKLOG + 100, BACKLOG, t + 250, WAIT, NULL),
        RLW_JPOS_JUMPED);
    ck_assert_int_eq(rlw_jpos_missing(&p, p.seen + 1), 0);
    rlw_jpos_restart(&p, 7, BACKLOG, t + 500);
    ck_assert_int_eq(rlw_jpos_missing(&p, 1), 0);
    /* Skipped once WAIT has passed since. */
    rlw_jpos_begin(&p, 7, BACKLOG, t + 500 + WAIT, WAIT, NULL);
    ck_assert_int_eq(rlw_jpos_missing(&p, 1), 1);
    ck_assert_int_eq(rlw_jpos_missing(&p, 7), 1);
    ck_assert_uint_eq(p.seen, 7);
}
END_TEST

START_TEST(clock_back_never_skips_early)
{
    rlw_jpos_t p;

    memset(&p, 0, sizeof(p));
    rlw_jpos_begin(&p, 10, BACKLOG, 100000, WAIT, NULL);
    p.seen = 10;
    rlw_jpos_begin(&p, 12, BACKLOG, 100250, WAIT, NULL);
    ck_assert_int_eq(rlw_jpos_missing(&p, 11), 0);
    /* The clock steps back an hour: still waiting. */
    rlw_jpos_begin(&p, 12, BACKLOG, 100250 - 3600000, WAIT, NULL);
    ck_assert_int_eq(rlw_jpos_missing(&p, 11), 0);
}
END_TEST

Suite *jpos_suite(void)
{
    Suite *s = suite_create("jpos");
    TCase *tc = tcase_create("position");

    tcase_add_test(tc, first_round);
    tcase_add_test(tc, poisoned_sequence_bounded);
    tcase_add_test(tc, late_entry_waited_for);
    tcase_add_test(tc, lost_entry_skipped_in_time);
    tcase_add_test(tc, sequence_went_down);
    tcase_add_test(tc, first_round_waits_for_entry_being_written);
    tcase_add_test(tc, clock_back_never_skips_early);
    suite_add_tcase(s, tc);
    return s;
}

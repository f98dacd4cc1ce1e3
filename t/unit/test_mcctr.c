/* test_mcctr.c - the steps of a text-protocol counter update: incr, add on
 * a miss, incr again when another writer created it meanwhile; a refused
 * incr is checked for garbage; a failing (e.g. full) server ends the
 * update at once; and no sequence of replies makes it loop.
 */
#include <check.h>

#include "rlw_mcctr.h"
#include "unit_suites.h"

START_TEST(existing_counter)
{
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_OK, 1), RLW_CTR_DONE);
}
END_TEST

START_TEST(missing_counter_created)
{
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_MISS, 1),
                     RLW_CTR_DO_ADD);
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_ADD, RLW_CTR_OK, 2), RLW_CTR_DONE);
}
END_TEST

START_TEST(created_meanwhile)
{
    /* Another node's add won: increment theirs. */
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_ADD, RLW_CTR_EXISTS, 2),
                     RLW_CTR_DO_INCR);
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_OK, 3), RLW_CTR_DONE);
    /* ... and it expired again at once: one more add fits. */
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_MISS, 3),
                     RLW_CTR_DO_ADD);
}
END_TEST

START_TEST(out_of_memory_fails)
{
    /* "SERVER_ERROR out of memory" to the incr (an item growing by a
     * digit) or to the add (a full server): a failure of that server,
     * never retried, never taken for garbage. */
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_FAILED, 1),
                     RLW_CTR_FAIL);
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_ADD, RLW_CTR_FAILED, 2),
                     RLW_CTR_FAIL);
}
END_TEST

START_TEST(garbage_checked)
{
    /* CLIENT_ERROR: memcached refuses to increment a non-number. */
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_REFUSED, 1),
                     RLW_CTR_CHECK);
    /* Our own "1" is never refused for its value. */
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_ADD, RLW_CTR_REFUSED, 2),
                     RLW_CTR_FAIL);
}
END_TEST

START_TEST(dead_connection_retried_once)
{
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_RETRYABLE, 1),
                     RLW_CTR_DO_INCR);
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_ADD, RLW_CTR_RETRYABLE, 2),
                     RLW_CTR_DO_ADD);
    ck_assert_int_eq(
        rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_RETRYABLE, RLW_CTR_CALLS_MAX),
        RLW_CTR_FAIL);
}
END_TEST

START_TEST(nonsense_replies_fail)
{
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_ADD, RLW_CTR_MISS, 2), RLW_CTR_FAIL);
    ck_assert_int_eq(rlw_ctr_next(RLW_CTR_INCR, RLW_CTR_EXISTS, 1),
                     RLW_CTR_FAIL);
}
END_TEST

/* Whatever memcached answers, an update ends within RLW_CTR_CALLS_MAX
 * calls: every sequence of replies is played out. */
static int steps_until_end(unsigned code)
{
    rlw_ctr_op_t op = RLW_CTR_INCR;
    int calls;

    for (calls = 1;; calls++) {
        rlw_ctr_reply_t r = (rlw_ctr_reply_t)(code % 6);
        rlw_ctr_next_t n;

        code /= 6;
        n = rlw_ctr_next(op, r, calls);
        if (n == RLW_CTR_DONE || n == RLW_CTR_CHECK || n == RLW_CTR_FAIL)
            return calls;
        if (calls > RLW_CTR_CALLS_MAX)
            return calls;
        op = n == RLW_CTR_DO_ADD ? RLW_CTR_ADD : RLW_CTR_INCR;
    }
}

START_TEST(always_ends)
{
    unsigned code, all = 6 * 6 * 6 * 6 * 6 * 6;

    for (code = 0; code < all; code++)
        ck_assert_int_le(steps_until_end(code), RLW_CTR_CALLS_MAX);
}
END_TEST

Suite *mcctr_suite(void)
{
    Suite *s = suite_create("mcctr");
    TCase *tc = tcase_create("steps");

    tcase_add_test(tc, existing_counter);
    tcase_add_test(tc, missing_counter_created);
    tcase_add_test(tc, created_meanwhile);
    tcase_add_test(tc, out_of_memory_fails);
    tcase_add_test(tc, garbage_checked);
    tcase_add_test(tc, dead_connection_retried_once);
    tcase_add_test(tc, nonsense_replies_fail);
    tcase_add_test(tc, always_ends);
    suite_add_tcase(s, tc);
    return s;
}

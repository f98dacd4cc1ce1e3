/* unit_main.c - runs every unit suite of the httpd-free core.
 *
 * CK_NORMAL prints the "N%: Checks: X, Failures: Y, Errors: Z" summary and
 * each failure; the exit status is what make and CI look at.
 * CK_FORK=no in the environment runs in-process (for valgrind or gdb).
 */
#include <stdlib.h>

#include "unit_suites.h"

typedef Suite *suite_fn(void);

/* One list: adding a suite is one line here and one in the header. */
static suite_fn *const suites[] = {
    duration_suite, addr_suite,   window_suite,    decision_suite,
    crypto_suite,   record_suite, store_shm_suite, event_suite,
    metrics_suite,  modsec_suite, csrf_suite,      evqueue_suite,
    mcparse_suite,  jpos_suite,   mcctr_suite,     status_suite,
    time_suite,     log_suite,    shm_table_suite, mcrules_suite,
    store_mc_suite, msc3_suite,   setup_suite,     msc3_rules_suite,
    subject_suite,  json_suite,   pairs_suite,     keyorder_suite,
};

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    size_t i;
    int failed;

    for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        srunner_add_suite(sr, suites[i]());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* unit_suites.h - the libcheck suites run by unit_main.c, one per core
 * file. A new suite is declared here and added to the list in unit_main.c.
 */
#ifndef UNIT_SUITES_H
#define UNIT_SUITES_H

#include <check.h>

Suite *duration_suite(void);
Suite *addr_suite(void);
Suite *window_suite(void);
Suite *decision_suite(void);
Suite *crypto_suite(void);
Suite *record_suite(void);
Suite *store_shm_suite(void);
Suite *shm_table_suite(void);
Suite *event_suite(void);
Suite *metrics_suite(void);
Suite *modsec_suite(void);
Suite *csrf_suite(void);
Suite *evqueue_suite(void);
Suite *mcparse_suite(void);
Suite *jpos_suite(void);
Suite *mcctr_suite(void);
Suite *status_suite(void);
Suite *time_suite(void);
Suite *log_suite(void);
Suite *mcrules_suite(void);
Suite *store_mc_suite(void);
Suite *msc3_suite(void);
Suite *setup_suite(void);
Suite *msc3_rules_suite(void);
Suite *subject_suite(void);
Suite *json_suite(void);
Suite *pairs_suite(void);
Suite *keyorder_suite(void);

#endif

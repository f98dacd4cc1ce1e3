/* test_store_mc.c - the memcached store where no memcached answers (its
 * pool is not set up: every call fails at once, no network): health()
 * reports the store and its servers; an operator's store (no local table)
 * holds nothing and reports every failure; a node's store falls back to
 * its table and says that the other nodes were not told (APR_INCOMPLETE).
 * The parts that talk to memcached are tested against a real one in
 * t/cluster.
 */
#include <string.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "rlw_addr.h"
#include "rlw_crypto.h"
#include "rlw_log.h"
#include "rlw_mc_internal.h"
#include "rlw_store_mc.h"
#include "unit_suites.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY (24 * 60 * MIN)
#define T0 (1000 * DAY)

static const char *config = "--SERVER=127.0.0.1:1 --SERVER=127.0.0.2:2 "
                            "--DISTRIBUTION=consistent";
static apr_pool_t *pool;
static rlw_keys_t keys;

static void quiet(void *baton, rlw_log_level_t level, const rlw_log_src_t *src,
                  const char *msg)
{
    (void)baton;
    (void)level;
    (void)src;
    (void)msg;
}

static void setup(void)
{
    ck_assert_int_eq(apr_initialize(), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    memset(&keys, 7, sizeof(keys));
    rlw_log_set(quiet, NULL);
}

static void teardown(void)
{
    rlw_log_set(NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
}

static rlw_store_t *make(rlw_store_t *local)
{
    rlw_store_mc_conf_t conf;
    rlw_store_t *st = NULL;

    memset(&conf, 0, sizeof(conf));
    conf.config = config;
    conf.prefix = "rlw:";
    conf.node = "node-t";
    conf.timeout_ms = 50;
    conf.policy.window_ms = MIN;
    conf.policy.strike_decay_ms = DAY;
    conf.retry_secs = 1;
    conf.pool_size = 1;
    ck_assert_ptr_null(rlw_store_mc_create(pool, local, &conf, &keys, &st));
    ck_assert_ptr_nonnull(st);
    return st;
}

START_TEST(health_reported)
{
    rlw_store_t *st = make(NULL);
    rlw_store_health_t h;
    rlw_store_mc_counters_t n;
    rlw_addr_t x;

    ck_assert_ptr_nonnull(st->health);
    memset(&h, 0xff, sizeof(h));
    st->health(st, pool, &h);
    ck_assert_int_eq(h.shared, 1);
    ck_assert_int_eq(h.degraded_since_ms, 0);
    ck_assert_str_eq(h.servers, "127.0.0.1:1, 127.0.0.2:2");
    ck_assert_uint_eq(h.errors, 0);
    ck_assert_uint_eq(h.ops, 0);
    /* A failed call shows: counted, degraded since then. */
    ck_assert_int_eq(rlw_addr_parse("198.51.100.7", &x), 0);
    ck_assert_int_eq(st->ban(st, &x, MIN, T0, NULL), APR_EGENERAL);
    st->health(st, pool, &h);
    rlw_store_mc_counters(st, &n);
    ck_assert_uint_eq(h.errors, 1);
    ck_assert_uint_eq(h.errors, n.errors);
    ck_assert_int_eq(h.degraded_since_ms, T0);
    ck_assert_int_eq(h.degraded_since_ms, n.degraded_since_ms);
}
END_TEST

/* A degradation episode ends on a success a retry period and one second
 * after the last failure, not before: libmemcached keeps a failed server
 * skipped until the whole second after "failure second + retry", and a
 * connection that failed last would fail again after an earlier
 * "recovered" (a second episode for one outage, an attack counted in
 * shared memory on a healthy store). */
START_TEST(recovered_only_once_no_connection_can_still_skip)
{
    rlw_store_t *st = make(NULL);
    rlw_mc_store_t *mc = (rlw_mc_store_t *)st;
    rlw_store_health_t h;
    rlw_addr_t x;

    ck_assert_int_eq(rlw_addr_parse("198.51.100.9", &x), 0);
    ck_assert_int_eq(st->ban(st, &x, MIN, T0, NULL), APR_EGENERAL);
    st->health(st, pool, &h);
    ck_assert_int_eq(h.degraded_since_ms, T0);
    /* retry_secs is 1: a success 1 s later, and just under 2 s later,
     * leaves the episode open. */
    rlw_mc_note_success(mc, T0 + 1000);
    rlw_mc_note_success(mc, T0 + 1999);
    st->health(st, pool, &h);
    ck_assert_int_eq(h.degraded_since_ms, T0);
    rlw_mc_note_success(mc, T0 + 2000);
    st->health(st, pool, &h);
    ck_assert_int_eq(h.degraded_since_ms, 0);
}
END_TEST

/* A timed-out call holds its server back for a retry period, node-wide;
 * other failures do not (libmemcached skips a server that refuses
 * connections on its own). */
START_TEST(timeout_holds_the_server_back)
{
    rlw_store_t *st = make(NULL);
    rlw_mc_store_t *mc = (rlw_mc_store_t *)st;
    memcached_st *conn = rlw_mc_connect(mc);
    int srv, other;

    ck_assert_ptr_nonnull(conn);
    srv = rlw_mc_server_of(conn, "journal");
    ck_assert(srv == 0 || srv == 1);
    other = 1 - srv;
    ck_assert_int_eq(rlw_mc_held(mc, srv, T0), 0);
    rlw_mc_hold(mc, srv, MEMCACHED_CONNECTION_FAILURE, T0);
    rlw_mc_hold(mc, srv, MEMCACHED_SERVER_TEMPORARILY_DISABLED, T0);
    ck_assert_int_eq(rlw_mc_held(mc, srv, T0), 0);
    rlw_mc_hold(mc, srv, MEMCACHED_TIMEOUT, T0);
    ck_assert_int_eq(rlw_mc_held(mc, srv, T0), 1);
    ck_assert_int_eq(rlw_mc_held(mc, srv, T0 + 999), 1);
    ck_assert_int_eq(rlw_mc_held(mc, srv, T0 + 1000), 0);
    ck_assert_int_eq(rlw_mc_held(mc, other, T0), 0);
    /* Out of range: never held, never written. */
    rlw_mc_hold(mc, -1, MEMCACHED_TIMEOUT, T0);
    rlw_mc_hold(mc, RLW_MC_HOLD_SERVERS, MEMCACHED_TIMEOUT, T0);
    ck_assert_int_eq(rlw_mc_held(mc, -1, T0), 0);
    ck_assert_int_eq(rlw_mc_held(mc, RLW_MC_HOLD_SERVERS, T0), 0);
    memcached_free(conn);
}
END_TEST

START_TEST(operator_store)
{
    rlw_store_t *st = make(NULL);
    rlw_client_info_t info;
    rlw_store_stats_t stats;
    rlw_attack_t out;
    rlw_ban_state_t b;
    rlw_addr_t x;

    ck_assert_int_eq(rlw_addr_parse("198.51.100.8", &x), 0);
    /* Holds nothing, counts nothing, syncs nothing. */
    ck_assert_int_eq(st->banned(st, &x, T0, NULL), 0);
    ck_assert_int_eq(st->get(st, &x, T0, &info), APR_NOTFOUND);
    ck_assert_int_eq(st->attack(st, &x, RLW_CLASS_NORMAL, NULL, NULL, T0, &out),
                     APR_ENOTIMPL);
    ck_assert_int_eq(st->sync(st, T0), APR_ENOTIMPL);
    st->stats(st, &stats);
    ck_assert_uint_eq(stats.capacity, 0);
    /* memcached failing: not done, nowhere to fall back to. */
    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(st->ban(st, &x, MIN, T0, &b), APR_EGENERAL);
    ck_assert_int_eq(b.until_ms, 0);
    ck_assert_int_eq(st->unban(st, &x, T0), APR_EGENERAL);
    ck_assert_int_eq(st->banned(st, &x, T0, NULL), 0);
}
END_TEST

/* A node's store with memcached failing: the ban and the unban are made in
 * its table, and reported APR_INCOMPLETE (they used to report success,
 * leaving callers to compare error counters). */
START_TEST(node_store_incomplete)
{
    rlw_store_params_t params;
    const rlw_store_backend_t *be = rlw_store_backend_find("memcached");
    rlw_store_t *st = NULL;
    rlw_ban_state_t b;
    rlw_addr_t x, y;
    int64_t until = 0;

    ck_assert_ptr_nonnull(be);
    memset(&params, 0, sizeof(params));
    params.config = config;
    params.capacity = 64;
    params.policy.threshold = 5;
    params.policy.window_ms = MIN;
    params.policy.ban_ms = MIN;
    params.policy.ban_max_ms = 10 * MIN;
    params.policy.strike_decay_ms = DAY;
    params.node = "node-t";
    params.prefix = "rlw:";
    params.keys = &keys;
    params.timeout_ms = 50;
    params.retry_ms = 1000;
    params.pool_size = 1;
    ck_assert_ptr_null(be->create(pool, &params, &st));
    ck_assert_ptr_nonnull(st->health);
    ck_assert_int_eq(rlw_addr_parse("198.51.100.9", &x), 0);
    ck_assert_int_eq(rlw_addr_parse("198.51.100.10", &y), 0);

    memset(&b, 0, sizeof(b));
    ck_assert_int_eq(st->ban(st, &x, 2 * MIN, T0, &b), APR_INCOMPLETE);
    ck_assert_int_eq(b.until_ms, T0 + 2 * MIN);
    ck_assert_int_eq(st->banned(st, &x, T0 + SEC, &until), 1);
    ck_assert_int_eq(until, T0 + 2 * MIN);
    ck_assert_int_eq(st->unban(st, &x, T0 + 2 * SEC), APR_INCOMPLETE);
    ck_assert_int_eq(st->banned(st, &x, T0 + 3 * SEC, NULL), 0);
    /* Not banned anywhere this node knows: not found, as before. */
    ck_assert_int_eq(st->unban(st, &y, T0 + 4 * SEC), APR_NOTFOUND);
}
END_TEST

Suite *store_mc_suite(void)
{
    Suite *s = suite_create("store_mc");
    TCase *tc = tcase_create("no memcached");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, health_reported);
    tcase_add_test(tc, recovered_only_once_no_connection_can_still_skip);
    tcase_add_test(tc, timeout_holds_the_server_back);
    tcase_add_test(tc, operator_store);
    tcase_add_test(tc, node_store_incomplete);
    suite_add_tcase(s, tc);
    return s;
}

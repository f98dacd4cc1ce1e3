/* shm_fixture.h - what the shm store's unit tests share (test_store_shm.c,
 * test_shm_table.c): a pool and a log capture per test, clients by number,
 * and attacks that check every field is filled. Every call gets an
 * explicit now_ms; the clock is read only where a test says why.
 */
#ifndef SHM_FIXTURE_H
#define SHM_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "rlw_addr.h"
#include "rlw_decision.h"
#include "rlw_log.h"
#include "rlw_store.h"
#include "rlw_store_shm.h"
#include "unit_suites.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY (24 * 60 * MIN)
/* Far from 0 so that nothing can mistake a time for "never". */
#define T0 (1000 * DAY)
#define THRESH 5

/* threshold 5 in a minute; bans 1m, 2m, 4m, ... capped at 10m; Allow 30s;
 * strikes forgotten a day after the last ban ended. */
static const rlw_policy_t pol = {THRESH, MIN, MIN, 10 * MIN, 30 * SEC, DAY};
/* threshold 1: every first attack bans. */
static const rlw_policy_t pol1 = {1, MIN, MIN, 10 * MIN, 30 * SEC, DAY};

#define UNUSED_OK __attribute__((unused))
static apr_pool_t *pool;
static UNUSED_OK int log_lines;
static UNUSED_OK int full_lines;
static UNUSED_OK int names_lines;

static inline void capture_log(void *baton, rlw_log_level_t level,
                               const rlw_log_src_t *src, const char *msg)
{
    (void)baton;
    (void)level;
    (void)src;
    log_lines++;
    if (strncmp(msg, "RLW00020:", 9) == 0)
        full_lines++;
    if (strncmp(msg, "RLW00140:", 9) == 0)
        names_lines++;
}

static inline void setup(void)
{
    ck_assert_int_eq(apr_initialize(), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    log_lines = 0;
    full_lines = 0;
    names_lines = 0;
    rlw_log_set(capture_log, NULL);
}

static inline void teardown(void)
{
    rlw_log_set(NULL, NULL);
    apr_pool_destroy(pool);
    pool = NULL;
    apr_terminate();
}

static inline rlw_store_t *make_store(apr_size_t capacity)
{
    rlw_store_t *st = NULL;
    const char *err = rlw_store_shm_create(pool, capacity, NULL, &st);

    ck_assert_msg(err == NULL, "create: %s", err ? err : "");
    ck_assert_ptr_nonnull(st);
    ck_assert_str_eq(st->name, "shm");
    return st;
}

/* Client number i: 10.x.y.z for i < 2^24, distinct for distinct i. */
static inline rlw_addr_t client(unsigned i)
{
    char text[32];
    rlw_addr_t a;

    snprintf(text, sizeof(text), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
             i & 255);
    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(rlw_addr_parse(text, &a), 0);
    return a;
}

/* 1 when the last attack() made room by evicting another client. */
static UNUSED_OK int last_evicted;

static inline rlw_attack_t attack(rlw_store_t *st, const rlw_addr_t *c,
                                  rlw_class_t cls, const rlw_policy_t *p,
                                  int64_t now)
{
    rlw_attack_t a;
    rlw_store_stats_t before, after;

    st->stats(st, &before);
    memset(&a, 0x5a, sizeof(a)); /* the store must fill every field */
    ck_assert_int_eq(st->attack(st, c, cls, p, NULL, now, &a), APR_SUCCESS);
    st->stats(st, &after);
    last_evicted = after.evictions != before.evictions;
    return a;
}

/* threshold - 1 attacks at now that must not ban, counting from start + 1;
 * then the threshold-th, whose result is returned. */
static inline rlw_attack_t attack_to_threshold(rlw_store_t *st,
                                               const rlw_addr_t *c,
                                               uint32_t start, int64_t now)
{
    rlw_attack_t a;
    uint32_t i;

    for (i = start + 1; i < THRESH; i++) {
        a = attack(st, c, RLW_CLASS_NORMAL, &pol, now);
        ck_assert_int_eq(a.verdict.kind, RLW_VERDICT_NONE);
        ck_assert_uint_eq(a.count, i);
    }
    return attack(st, c, RLW_CLASS_NORMAL, &pol, now);
}

static inline void stats(rlw_store_t *st, rlw_store_stats_t *s)
{
    memset(s, 0x5a, sizeof(*s));
    st->stats(st, s);
}

#endif

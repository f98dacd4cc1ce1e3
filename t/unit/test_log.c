/* test_log.c - rlw_log: the callback gets the message, the caller's file
 * and line, and the context its thread set (per thread); rlw_log_due()
 * lets one line through per interval. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "rlw_log.h"
#include "unit_suites.h"

typedef struct seen {
    int calls;
    rlw_log_level_t level;
    char file[128];
    int line;
    const void *ctx;
    char msg[256];
} seen_t;

static void capture(void *baton, rlw_log_level_t level,
                    const rlw_log_src_t *src, const char *msg)
{
    seen_t *s = baton;

    s->calls++;
    s->level = level;
    snprintf(s->file, sizeof(s->file), "%s", src->file);
    s->line = src->line;
    s->ctx = src->ctx;
    snprintf(s->msg, sizeof(s->msg), "%s", msg);
}

static void teardown(void)
{
    rlw_log_ctx_set(NULL);
    rlw_log_set(NULL, NULL);
}

START_TEST(file_line_message)
{
    seen_t s;
    int line;

    memset(&s, 0, sizeof(s));
    rlw_log_set(capture, &s);
    line = __LINE__ + 1;
    rlw_log(RLW_LOG_WARN, "RLW00999: %s %d", "x", 42);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.level, RLW_LOG_WARN);
    ck_assert_str_eq(s.file, __FILE__);
    ck_assert_int_eq(s.line, line);
    ck_assert_ptr_null(s.ctx);
    ck_assert_str_eq(s.msg, "RLW00999: x 42");
}
END_TEST

static void *log_in_thread(void *arg)
{
    (void)arg;
    rlw_log(RLW_LOG_INFO, "RLW00998: from another thread");
    return NULL;
}

/* The context is the calling thread's: set, restored, not seen by
 * another thread. */
START_TEST(context_per_thread)
{
    static const int req = 1, other = 2;
    const void *prev;
    pthread_t t;
    seen_t s;

    memset(&s, 0, sizeof(s));
    rlw_log_set(capture, &s);
    ck_assert_ptr_null(rlw_log_ctx_set(&req));
    rlw_log(RLW_LOG_INFO, "RLW00997: in a request");
    ck_assert_ptr_eq(s.ctx, &req);

    ck_assert_int_eq(pthread_create(&t, NULL, log_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(s.calls, 2);
    ck_assert_ptr_null(s.ctx);

    prev = rlw_log_ctx_set(&other);
    ck_assert_ptr_eq(prev, &req);
    rlw_log(RLW_LOG_INFO, "RLW00996: nested");
    ck_assert_ptr_eq(s.ctx, &other);
    ck_assert_ptr_eq(rlw_log_ctx_set(prev), &other);
    rlw_log(RLW_LOG_INFO, "RLW00995: restored");
    ck_assert_ptr_eq(s.ctx, &req);
    rlw_log_ctx_set(NULL);
    rlw_log(RLW_LOG_INFO, "RLW00994: none");
    ck_assert_ptr_null(s.ctx);
}
END_TEST

/* A message longer than the buffer is cut, never overflows. */
START_TEST(long_message_cut)
{
    static char big[4000];
    seen_t s;

    memset(&s, 0, sizeof(s));
    memset(big, 'a', sizeof(big) - 1);
    rlw_log_set(capture, &s);
    rlw_log(RLW_LOG_ERR, "RLW00993: %s", big);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(strncmp(s.msg, "RLW00993: aaa", 13), 0);
}
END_TEST

START_TEST(due_once_per_interval)
{
    int64_t last = 0;

    ck_assert_int_eq(rlw_log_due(&last, 60000, 60000), 1);
    ck_assert_int_eq(rlw_log_due(&last, 60001, 60000), 0);
    ck_assert_int_eq(rlw_log_due(&last, 119999, 60000), 0);
    ck_assert_int_eq(rlw_log_due(&last, 120000, 60000), 1);
    ck_assert_int_eq(last, 120000);
}
END_TEST

Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("callback");

    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, file_line_message);
    tcase_add_test(tc, context_per_thread);
    tcase_add_test(tc, long_message_cut);
    tcase_add_test(tc, due_once_per_interval);
    suite_add_tcase(s, tc);
    return s;
}

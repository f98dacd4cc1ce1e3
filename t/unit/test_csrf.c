/* test_csrf.c - form tokens (rlw_csrf.c): a token is accepted for its
 * identity and action in its slot and the next one only; anything else,
 * forged, altered, expired, future, another key, is refused.
 */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "rlw_csrf.h"
#include "unit_suites.h"

#define HOUR RLW_CSRF_SLOT_MS
/* 2026-11-29T10:30:09.032Z: inside an hour, not on its edge. */
#define NOW 1796034609032LL

static unsigned char key[RLW_CSRF_KEY_LEN];

static void key_setup(void)
{
    ck_assert_int_eq(rlw_csrf_key_new(key), 0);
}

static int check_(int64_t now, const char *id, const char *action,
                  const char *token)
{
    return rlw_csrf_check(key, now, id, action, token);
}

START_TEST(round_trip_and_shape)
{
    char t[RLW_CSRF_TOKEN_LEN + 1], t2[RLW_CSRF_TOKEN_LEN + 1];
    size_t i;

    ck_assert_int_eq(rlw_csrf_make(key, NOW, "ip:192.0.2.1", "ban", t), 0);
    ck_assert_uint_eq(strlen(t), RLW_CSRF_TOKEN_LEN);
    for (i = 0; i < RLW_CSRF_TOKEN_LEN; i++) /* safe in HTML, a form, a URL */
        ck_assert_msg(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                             "wxyz0123456789-_",
                             t[i]) != NULL,
                      "bad character in %s", t);
    ck_assert(check_(NOW, "ip:192.0.2.1", "ban", t));
    /* Deterministic within the slot: the page and the post agree. */
    ck_assert_int_eq(
        rlw_csrf_make(key, NOW - NOW % HOUR, "ip:192.0.2.1", "ban", t2), 0);
    ck_assert_str_eq(t, t2);
}
END_TEST

START_TEST(bound_to_identity_and_action)
{
    char t[RLW_CSRF_TOKEN_LEN + 1];

    rlw_csrf_make(key, NOW, "user:alice", "ban", t);
    ck_assert(check_(NOW, "user:alice", "ban", t));
    ck_assert(!check_(NOW, "user:alic", "ban", t));
    ck_assert(!check_(NOW, "user:alice ", "ban", t));
    ck_assert(!check_(NOW, "user:bob", "ban", t));
    ck_assert(!check_(NOW, "ip:192.0.2.1", "ban", t));
    ck_assert(!check_(NOW, "user:alice", "unban", t));
    ck_assert(!check_(NOW, "user:alice", "", t));
    ck_assert(!check_(NOW, NULL, NULL, t));
    /* Length-prefixed: moving a character across the boundary changes it. */
    rlw_csrf_make(key, NOW, "ab", "c", t);
    ck_assert(!check_(NOW, "a", "bc", t));
    ck_assert(!check_(NOW, "abc", "", t));
    /* Too long an identity gets no token, and no token matches it. */
    {
        char big[RLW_CSRF_FIELD_MAX + 2];

        memset(big, 'u', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        ck_assert_int_eq(rlw_csrf_make(key, NOW, big, "ban", t), -1);
        ck_assert_str_eq(t, "");
        big[RLW_CSRF_FIELD_MAX] = '\0'; /* the longest is fine */
        ck_assert_int_eq(rlw_csrf_make(key, NOW, big, "ban", t), 0);
        ck_assert(check_(NOW, big, "ban", t));
    }
    /* NULL reads as "". */
    rlw_csrf_make(key, NOW, NULL, NULL, t);
    ck_assert(check_(NOW, "", "", t));
}
END_TEST

START_TEST(lifetime)
{
    int64_t start = NOW - NOW % HOUR; /* first ms of the slot */
    char t[RLW_CSRF_TOKEN_LEN + 1];

    rlw_csrf_make(key, NOW, "ip:192.0.2.1", "unban", t);
    ck_assert(check_(start, "ip:192.0.2.1", "unban", t));
    ck_assert(check_(start + HOUR - 1, "ip:192.0.2.1", "unban", t));
    ck_assert(check_(start + HOUR, "ip:192.0.2.1", "unban", t)); /* next */
    ck_assert(check_(start + 2 * HOUR - 1, "ip:192.0.2.1", "unban", t));
    /* Expired: two slots on. */
    ck_assert(!check_(start + 2 * HOUR, "ip:192.0.2.1", "unban", t));
    ck_assert(!check_(NOW + 10 * HOUR, "ip:192.0.2.1", "unban", t));
    /* Not yet valid: made in the future (a clock stepped back). */
    ck_assert(!check_(start - 1, "ip:192.0.2.1", "unban", t));
}
END_TEST

START_TEST(clock_edges)
{
    char t[RLW_CSRF_TOKEN_LEN + 1];

    /* Before the epoch is the epoch; no overflow at the extremes. */
    ck_assert_int_eq(rlw_csrf_make(key, INT64_MIN, "i", "ban", t), 0);
    ck_assert(check_(0, "i", "ban", t));
    ck_assert(check_(-1, "i", "ban", t));
    ck_assert(check_(INT64_MIN, "i", "ban", t));
    ck_assert_int_eq(rlw_csrf_make(key, INT64_MAX, "i", "ban", t), 0);
    ck_assert(check_(INT64_MAX, "i", "ban", t));
    ck_assert(!check_(0, "i", "ban", t));
}
END_TEST

START_TEST(forged_and_altered)
{
    unsigned char other[RLW_CSRF_KEY_LEN];
    char t[RLW_CSRF_TOKEN_LEN + 1], f[RLW_CSRF_TOKEN_LEN + 2];
    size_t i;

    rlw_csrf_make(key, NOW, "ip:192.0.2.1", "ban", t);
    ck_assert(!check_(NOW, "ip:192.0.2.1", "ban", NULL));
    ck_assert(!check_(NOW, "ip:192.0.2.1", "ban", ""));
    ck_assert(!check_(NOW, "ip:192.0.2.1", "ban",
                      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    /* Every single character altered. */
    for (i = 0; i < RLW_CSRF_TOKEN_LEN; i++) {
        memcpy(f, t, sizeof(t));
        f[i] = f[i] == 'A' ? 'B' : 'A';
        ck_assert_msg(!check_(NOW, "ip:192.0.2.1", "ban", f), "pos %zu", i);
    }
    /* Cut, or with a byte more. */
    memcpy(f, t, sizeof(t));
    f[RLW_CSRF_TOKEN_LEN - 1] = '\0';
    ck_assert(!check_(NOW, "ip:192.0.2.1", "ban", f));
    memcpy(f, t, RLW_CSRF_TOKEN_LEN);
    f[RLW_CSRF_TOKEN_LEN] = 'A';
    f[RLW_CSRF_TOKEN_LEN + 1] = '\0';
    ck_assert(!check_(NOW, "ip:192.0.2.1", "ban", f));
    /* Another key (another server, or after a restart) refuses it. */
    ck_assert_int_eq(rlw_csrf_key_new(other), 0);
    ck_assert_int_ne(memcmp(other, key, sizeof(key)), 0);
    ck_assert(!rlw_csrf_check(other, NOW, "ip:192.0.2.1", "ban", t));
}
END_TEST

Suite *csrf_suite(void)
{
    Suite *s = suite_create("csrf");
    TCase *tc = tcase_create("token");

    tcase_add_checked_fixture(tc, key_setup, NULL);
    tcase_add_test(tc, round_trip_and_shape);
    tcase_add_test(tc, bound_to_identity_and_action);
    tcase_add_test(tc, lifetime);
    tcase_add_test(tc, clock_edges);
    tcase_add_test(tc, forged_and_altered);
    suite_add_tcase(s, tc);
    return s;
}

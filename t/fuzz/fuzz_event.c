/* fuzz_event.c - SIEM event lines (rlw_event.c) under hostile strings and
 * any numbers: whatever an event carries (an attacker's URI, User-Agent,
 * user name, a node name or error text read back from memcached, times
 * from a record), rlw_event_format() writes one line of strict JSON: one
 * object, no duplicate key, valid UTF-8, no raw control byte, one "\n" at
 * the end, within RLW_EVENT_LINE_MAX, and event.action said once. Checked
 * by the strict validator below (RFC 8259), else abort.
 *
 * Input: a mode byte, fixed-size numbers, then NUL-separated strings
 * (client, observer, decided_by, ban_class, reason, user, store, uri,
 * user_agent). Mode % 4 == 0 fuzzes rlw_json_escape() alone on the rest
 * (any bytes, NUL included, any output size). */
#include "fuzz.h"
#include "rlw_event.h"

/* ---- a strict JSON validator ---- */

typedef struct json {
    const unsigned char *p, *end;
} json_t;

#define JSON_DEPTH 16
#define JSON_KEYS 64

static int j_value(json_t *j, int depth);

static void j_ws(json_t *j)
{
    /* Inside the line only spaces and tabs: a CR or LF would split it. */
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t'))
        j->p++;
}

static int j_hex4(json_t *j, unsigned *v)
{
    int i;

    *v = 0;
    if (j->end - j->p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        unsigned c = j->p[i], d;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = *v << 4 | d;
    }
    j->p += 4;
    return 0;
}

/* One UTF-8 character at j->p, strictly: shortest form, no surrogates,
 * at most U+10FFFF. */
static int j_utf8(json_t *j)
{
    const unsigned char *s = j->p;
    size_t left = (size_t)(j->end - s), n, i;
    unsigned long cp;

    if (s[0] < 0x80)
        n = 1, cp = s[0];
    else if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return -1;
    if (left < n)
        return -1;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    j->p += n;
    return 0;
}

/* A string's contents after the opening quote, up to and past the
 * closing one. */
static int j_string_body(json_t *j)
{
    while (j->p < j->end) {
        unsigned c = *j->p;

        if (c == '"') {
            j->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            unsigned u, lo;

            if (++j->p >= j->end)
                return -1;
            c = *j->p++;
            if (c == 'u') {
                if (j_hex4(j, &u))
                    return -1;
                if (u >= 0xdc00 && u <= 0xdfff)
                    return -1; /* a low surrogate alone */
                if (u >= 0xd800 && u <= 0xdbff) {
                    if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
                        return -1;
                    j->p += 2;
                    if (j_hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
                        return -1;
                }
            } else if (!strchr("\"\\/bfnrt", (int)c) || c == 0) {
                return -1;
            }
            continue;
        }
        if (j_utf8(j))
            return -1;
    }
    return -1;
}

static int j_string(json_t *j, const unsigned char **start, size_t *len)
{
    const unsigned char *s;

    if (j->p >= j->end || *j->p != '"')
        return -1;
    s = ++j->p;
    if (j_string_body(j))
        return -1;
    if (start) {
        *start = s;
        *len = (size_t)(j->p - 1 - s);
    }
    return 0;
}

static int j_digits(json_t *j)
{
    const unsigned char *s = j->p;

    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s ? 0 : -1;
}

static int j_number(json_t *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (j->p >= j->end || *j->p < '1' || *j->p > '9' || j_digits(j))
        return -1;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j_digits(j))
            return -1;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j_digits(j))
            return -1;
    }
    return 0;
}

static int j_word(json_t *j, const char *w)
{
    size_t n = strlen(w);

    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n))
        return -1;
    j->p += n;
    return 0;
}

static int j_object(json_t *j, int depth)
{
    const unsigned char *key[JSON_KEYS];
    size_t klen[JSON_KEYS];
    int n = 0, i;

    j->p++; /* '{' */
    j_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        const unsigned char *k;
        size_t kl;

        j_ws(j);
        if (j_string(j, &k, &kl) || n >= JSON_KEYS)
            return -1;
        for (i = 0; i < n; i++) /* no key twice (compared as written) */
            if (klen[i] == kl && !memcmp(key[i], k, kl))
                return -1;
        key[n] = k;
        klen[n++] = kl;
        j_ws(j);
        if (j->p >= j->end || *j->p++ != ':')
            return -1;
        if (j_value(j, depth + 1))
            return -1;
        j_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == '}') {
            j->p++;
            return 0;
        }
        if (*j->p++ != ',')
            return -1;
    }
}

static int j_array(json_t *j, int depth)
{
    j->p++; /* '[' */
    j_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (j_value(j, depth + 1))
            return -1;
        j_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == ']') {
            j->p++;
            return 0;
        }
        if (*j->p++ != ',')
            return -1;
    }
}

static int j_value(json_t *j, int depth)
{
    if (depth > JSON_DEPTH)
        return -1;
    j_ws(j);
    if (j->p >= j->end)
        return -1;
    switch (*j->p) {
    case '{':
        return j_object(j, depth);
    case '[':
        return j_array(j, depth);
    case '"':
        return j_string(j, NULL, NULL);
    case 't':
        return j_word(j, "true");
    case 'f':
        return j_word(j, "false");
    case 'n':
        return j_word(j, "null");
    default:
        return j_number(j);
    }
}

/* 1 when line[0..n) is exactly one JSON object and a "\n". */
static int valid_line(const char *line, size_t n)
{
    json_t j = {(const unsigned char *)line, (const unsigned char *)line + n};

    if (n < 3 || line[n - 1] != '\n' || line[0] != '{')
        return 0;
    j.end--; /* the "\n" */
    if (j_value(&j, 0))
        return 0;
    return j.p == j.end;
}

/* Occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle)) != NULL) {
        n++;
        hay++;
    }
    return n;
}

/* ---- the escaper alone ---- */

static void fuzz_escape(const uint8_t *data, size_t size)
{
    size_t outlen = size ? data[0] * 8u : 0, full, got;
    char *all, *out, *q;
    json_t j;

    if (size) {
        data++;
        size--;
    }
    full = rlw_json_escape((const char *)data, size, NULL, 0);
    all = malloc(full + 3);
    out = malloc(outlen ? outlen : 1);
    if (!all || !out)
        abort();
    /* The whole escape, quoted, is one valid JSON string. */
    all[0] = '"';
    FUZZ_CHECK(rlw_json_escape((const char *)data, size, all + 1, full + 1) ==
               full);
    FUZZ_CHECK(strlen(all + 1) == full);
    all[full + 1] = '"';
    all[full + 2] = 0;
    j.p = (const unsigned char *)all;
    j.end = j.p + full + 2;
    FUZZ_CHECK(j_string(&j, NULL, NULL) == 0 && j.p == j.end);
    /* A short buffer holds a prefix made of whole escapes, NUL-ended. */
    got =
        rlw_json_escape((const char *)data, size, outlen ? out : NULL, outlen);
    FUZZ_CHECK(got == full);
    if (outlen) {
        size_t k = strlen(out);

        FUZZ_CHECK(k < outlen && k <= full);
        FUZZ_CHECK(memcmp(out, all + 1, k) == 0);
        q = malloc(k + 3);
        if (!q)
            abort();
        q[0] = '"';
        memcpy(q + 1, out, k);
        q[k + 1] = '"';
        j.p = (const unsigned char *)q;
        j.end = j.p + k + 2;
        FUZZ_CHECK(j_string(&j, NULL, NULL) == 0 && j.p == j.end);
        free(q);
    }
    free(all);
    free(out);
}

/* ---- whole events ---- */

#define NSTR 9

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    unsigned mode = (unsigned)fuzz_u64(&in, 1), nulls, i;
    rlw_event_t ev;
    rlw_ban_state_t ban;
    rlw_addr_t client;
    uint32_t rules[RLW_EVENT_RULES_MAX + 2];
    char *s[NSTR], line[RLW_EVENT_LINE_MAX], want[64];
    const char *action;
    int n, has_ban;
    size_t cap;

    if (mode % 4 == 0) {
        fuzz_escape(in.p, in.left);
        return 0;
    }
    memset(&ev, 0, sizeof(ev));
    memset(&ban, 0, sizeof(ban));
    memset(&client, 0, sizeof(client));
    ev.kind = (rlw_event_kind_t)(mode / 4 % 8); /* 6 and 7 are unknown */
    ev.now_ms = (int64_t)fuzz_u64(&in, 8);
    ev.count = (uint32_t)fuzz_u64(&in, 4);
    ev.threshold = (uint32_t)fuzz_u64(&in, 4);
    ev.window_ms = (int64_t)fuzz_u64(&in, 8);
    has_ban = (int)fuzz_u64(&in, 1) & 1;
    ban.start_ms = (int64_t)fuzz_u64(&in, 8);
    ban.until_ms = (int64_t)fuzz_u64(&in, 8);
    ban.strikes = (uint32_t)fuzz_u64(&in, 4);
    ban.count = (uint32_t)fuzz_u64(&in, 4);
    ev.ban_ms = (int64_t)fuzz_u64(&in, 8);
    ev.nrules = (int)(int8_t)fuzz_u64(&in, 1);
    for (i = 0; i < RLW_EVENT_RULES_MAX + 2; i++)
        rules[i] = (uint32_t)fuzz_u64(&in, 4);
    ev.dry_run = (int)fuzz_u64(&in, 1);
    nulls = (unsigned)fuzz_u64(&in, 2); /* bit i: string i is NULL */
    cap = 1 + (size_t)fuzz_u64(&in, 2) % RLW_EVENT_LINE_MAX;
    for (i = 0; i < NSTR; i++) {
        s[i] = fuzz_str(&in);
        if (nulls & (1u << i)) {
            free(s[i]);
            s[i] = NULL;
        }
    }
    if (has_ban)
        ev.ban = &ban;
    if (ev.nrules > RLW_EVENT_RULES_MAX + 2)
        ev.nrules = RLW_EVENT_RULES_MAX + 2;
    ev.rule_ids = ev.nrules > 0 ? rules : NULL;
    /* The client as the module has it: a parsed address or network. */
    if (s[0] && (rlw_cidr_parse(s[0], &client) == NULL ||
                 rlw_addr_parse(s[0], &client) == 0))
        ev.client = &client;
    ev.observer = s[1];
    ev.decided_by = s[2];
    ev.ban_class = s[3];
    ev.reason = s[4];
    ev.user = s[5];
    ev.store = s[6];
    ev.uri = s[7];
    ev.user_agent = s[8];

    action = rlw_event_action(ev.kind);
    memset(line, 0x5a, sizeof(line));
    n = rlw_event_format(&ev, line, sizeof(line));
    if (!action) {
        FUZZ_CHECK(n == -1 && line[0] == 0);
    } else {
        /* A full-size buffer always holds the line. */
        FUZZ_CHECK(n > 0 && n < RLW_EVENT_LINE_MAX);
        FUZZ_CHECK(strlen(line) == (size_t)n);
        FUZZ_CHECK(valid_line(line, (size_t)n));
        snprintf(want, sizeof(want), "\"action\":\"%s\"", action);
        FUZZ_CHECK(count_of(line, "\"action\":") == 1);
        FUZZ_CHECK(count_of(line, want) == 1);
        /* A shorter buffer gets the whole line or "" and -1, never a
         * partial object. */
        {
            char *small = malloc(cap);
            int m;

            if (!small)
                abort();
            m = rlw_event_format(&ev, small, cap);
            if (m < 0)
                FUZZ_CHECK(m == -1 && small[0] == 0);
            else
                FUZZ_CHECK(m == n && !memcmp(small, line, (size_t)n + 1));
            free(small);
        }
    }
    for (i = 0; i < NSTR; i++)
        free(s[i]);
    return 0;
}

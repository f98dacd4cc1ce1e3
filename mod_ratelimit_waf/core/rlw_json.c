/* rlw_json.c - a strict, bounded JSON reader (see rlw_json.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "rlw_json.h"

typedef struct jp {
    apr_pool_t *p;
    const char *s;
    size_t len, pos;
    int depth;
    const char *err; /* the first error, set once */
} jp_t;

static rlw_json_t *fail(jp_t *j, const char *what)
{
    if (!j->err)
        j->err =
            apr_psprintf(j->p, "at byte %lu: %s", (unsigned long)j->pos, what);
    return NULL;
}

static void ws(jp_t *j)
{
    while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
                               j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
        j->pos++;
}

static int peek(const jp_t *j)
{
    return j->pos < j->len ? (unsigned char)j->s[j->pos] : -1;
}

static rlw_json_t *node(jp_t *j, rlw_json_type_t t)
{
    rlw_json_t *v = apr_pcalloc(j->p, sizeof(*v));

    v->type = t;
    return v;
}

static int literal(jp_t *j, const char *word)
{
    size_t n = strlen(word);

    if (j->len - j->pos < n || memcmp(j->s + j->pos, word, n))
        return 0;
    j->pos += n;
    return 1;
}

static int hex4(jp_t *j, unsigned *out)
{
    unsigned v = 0;
    int i;

    if (j->len - j->pos < 4)
        return 0;
    for (i = 0; i < 4; i++) {
        char c = j->s[j->pos + (size_t)i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    j->pos += 4;
    *out = v;
    return 1;
}

/* Appends code point cp as UTF-8 to buf at *n (room is checked by the
 * caller: at most 4 bytes). */
static void put_utf8(char *buf, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        buf[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        buf[(*n)++] = (char)(0xc0 | (cp >> 6));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        buf[(*n)++] = (char)(0xe0 | (cp >> 12));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        buf[(*n)++] = (char)(0xf0 | (cp >> 18));
        buf[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

/* The length of the well-formed UTF-8 sequence at s (at most left bytes)
 * whose lead byte is >= 0x80, or 0. Overlong forms, surrogates and code
 * points above U+10FFFF are refused. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    size_t n, i;
    unsigned cp;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (left < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* A string at j->pos (on its opening quote): its value, or NULL. */
static const char *string(jp_t *j)
{
    size_t start = ++j->pos, end, n = 0, k;
    char *buf;

    /* The decoded value is never longer than the text. */
    for (end = start; end < j->len && j->s[end] != '"'; end++)
        if (j->s[end] == '\\')
            end++;
    if (end >= j->len)
        return (const char *)fail(j, "unterminated string");
    buf = apr_palloc(j->p, end - start + 1);
    while (j->pos < end) {
        unsigned char c = (unsigned char)j->s[j->pos];
        unsigned cp, lo;

        if (c < 0x20)
            return (const char *)fail(j, "control character in a string");
        if (c >= 0x80) {
            if (!(k = utf8_len((const unsigned char *)j->s + j->pos,
                               end - j->pos)))
                return (const char *)fail(j, "invalid UTF-8 in a string");
            memcpy(buf + n, j->s + j->pos, k);
            n += k;
            j->pos += k;
            continue;
        }
        j->pos++;
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        c = (unsigned char)j->s[j->pos++];
        switch (c) {
        case '"':
        case '\\':
        case '/':
            buf[n++] = (char)c;
            break;
        case 'b':
            buf[n++] = '\b';
            break;
        case 'f':
            buf[n++] = '\f';
            break;
        case 'n':
            buf[n++] = '\n';
            break;
        case 'r':
            buf[n++] = '\r';
            break;
        case 't':
            buf[n++] = '\t';
            break;
        case 'u':
            if (!hex4(j, &cp))
                return (const char *)fail(j, "bad \\u escape");
            if (cp == 0)
                return (const char *)fail(j, "\\u0000 in a string");
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return (const char *)fail(j, "lone low surrogate");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->pos + 2 > end || j->s[j->pos] != '\\' ||
                    j->s[j->pos + 1] != 'u')
                    return (const char *)fail(j, "lone high surrogate");
                j->pos += 2;
                if (!hex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
                    return (const char *)fail(j, "bad surrogate pair");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            put_utf8(buf, &n, cp);
            break;
        default:
            j->pos--;
            return (const char *)fail(j, "bad escape in a string");
        }
    }
    j->pos = end + 1;
    buf[n] = 0;
    return buf;
}

static rlw_json_t *number(jp_t *j)
{
    size_t start = j->pos;
    int is_int = 1;
    rlw_json_t *v;
    char *text, *endp;

    if (peek(j) == '-')
        j->pos++;
    if (peek(j) == '0') {
        j->pos++;
    } else if (peek(j) >= '1' && peek(j) <= '9') {
        while (peek(j) >= '0' && peek(j) <= '9')
            j->pos++;
    } else {
        return fail(j, "bad number");
    }
    if (peek(j) == '.') {
        is_int = 0;
        j->pos++;
        if (!(peek(j) >= '0' && peek(j) <= '9'))
            return fail(j, "bad number");
        while (peek(j) >= '0' && peek(j) <= '9')
            j->pos++;
    }
    if (peek(j) == 'e' || peek(j) == 'E') {
        is_int = 0;
        j->pos++;
        if (peek(j) == '+' || peek(j) == '-')
            j->pos++;
        if (!(peek(j) >= '0' && peek(j) <= '9'))
            return fail(j, "bad number");
        while (peek(j) >= '0' && peek(j) <= '9')
            j->pos++;
    }
    text = apr_pstrmemdup(j->p, j->s + start, j->pos - start);
    v = node(j, RLW_JSON_NUMBER);
    v->num = strtod(text, NULL);
    if (is_int) {
        long long x;

        errno = 0;
        x = strtoll(text, &endp, 10);
        if (errno == 0 && *endp == 0) {
            v->is_int = 1;
            v->i = (int64_t)x;
        }
    }
    return v;
}

static rlw_json_t *value(jp_t *j);

/* An array or an object at j->pos (on its opening bracket). */
static rlw_json_t *container(jp_t *j, int is_object)
{
    apr_array_header_t *items = apr_array_make(j->p, 8, sizeof(rlw_json_t *));
    apr_array_header_t *keys = apr_array_make(j->p, 8, sizeof(const char *));
    char close = is_object ? '}' : ']';
    rlw_json_t *v, *item;
    const char *key;

    if (++j->depth > RLW_JSON_DEPTH_MAX)
        return fail(j, "nested too deep");
    j->pos++;
    ws(j);
    if (peek(j) == close) {
        j->pos++;
    } else {
        for (;;) {
            if (is_object) {
                if (peek(j) != '"')
                    return fail(j, "a member name expected");
                if (!(key = string(j)))
                    return NULL;
                ws(j);
                if (peek(j) != ':')
                    return fail(j, "':' expected");
                j->pos++;
                *(const char **)apr_array_push(keys) = key;
            }
            if (!(item = value(j)))
                return NULL;
            *(rlw_json_t **)apr_array_push(items) = item;
            ws(j);
            if (peek(j) == ',') {
                j->pos++;
                ws(j);
                continue;
            }
            if (peek(j) != close)
                return fail(j, is_object ? "',' or '}' expected"
                                         : "',' or ']' expected");
            j->pos++;
            break;
        }
    }
    j->depth--;
    v = node(j, is_object ? RLW_JSON_OBJECT : RLW_JSON_ARRAY);
    v->n = items->nelts;
    v->item = (rlw_json_t **)items->elts;
    if (is_object)
        v->key = (const char **)keys->elts;
    return v;
}

static rlw_json_t *value(jp_t *j)
{
    rlw_json_t *v;
    const char *s;
    int c;

    ws(j);
    c = peek(j);
    switch (c) {
    case '{':
        return container(j, 1);
    case '[':
        return container(j, 0);
    case '"':
        if (!(s = string(j)))
            return NULL;
        v = node(j, RLW_JSON_STRING);
        v->str = s;
        return v;
    case 't':
        return literal(j, "true") ? node(j, RLW_JSON_TRUE)
                                  : fail(j, "bad literal");
    case 'f':
        return literal(j, "false") ? node(j, RLW_JSON_FALSE)
                                   : fail(j, "bad literal");
    case 'n':
        return literal(j, "null") ? node(j, RLW_JSON_NULL)
                                  : fail(j, "bad literal");
    case -1:
        return fail(j, "unexpected end of the text");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return number(j);
        return fail(j, "unexpected character");
    }
}

const char *rlw_json_parse(apr_pool_t *p, const char *text, size_t len,
                           rlw_json_t **out)
{
    jp_t j;
    rlw_json_t *v;

    memset(&j, 0, sizeof(j));
    j.p = p;
    j.s = text;
    j.len = len;
    *out = NULL;
    if (!(v = value(&j)))
        return j.err;
    ws(&j);
    if (j.pos != j.len) {
        fail(&j, "text after the value");
        return j.err;
    }
    *out = v;
    return NULL;
}

const rlw_json_t *rlw_json_get(const rlw_json_t *v, const char *name)
{
    int i;

    if (!v || v->type != RLW_JSON_OBJECT)
        return NULL;
    for (i = 0; i < v->n; i++)
        if (!strcmp(v->key[i], name))
            return v->item[i];
    return NULL;
}

const rlw_json_t *rlw_json_get_type(const rlw_json_t *v, const char *name,
                                    rlw_json_type_t t)
{
    const rlw_json_t *m = rlw_json_get(v, name);

    return m && m->type == t ? m : NULL;
}

const char *rlw_json_get_str(const rlw_json_t *v, const char *name)
{
    const rlw_json_t *m = rlw_json_get_type(v, name, RLW_JSON_STRING);

    return m ? m->str : NULL;
}

int rlw_json_get_int(const rlw_json_t *v, const char *name, int64_t *out)
{
    const rlw_json_t *m = rlw_json_get_type(v, name, RLW_JSON_NUMBER);

    if (!m || !m->is_int)
        return -1;
    *out = m->i;
    return 0;
}

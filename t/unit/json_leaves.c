/* json_leaves.c - the unit tests' strict JSON parser (json_leaves.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_leaves.h"

doc_t jl_doc; /* large: static, and tests run one at a time */

static int parse_value(doc_t *d, const char *path, int depth);

static void ws(doc_t *d)
{
    while (d->p < d->end &&
           (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r'))
        d->p++;
}

static int jfail(doc_t *d, const char *why)
{
    if (d->err == NULL)
        d->err = why;
    return -1;
}

static void put_utf8(char *out, size_t *n, size_t cap, unsigned long cp)
{
    unsigned char b[4];
    size_t k, len;

    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        len = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        len = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        len = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        len = 4;
    }
    for (k = 0; k < len && *n < cap; k++)
        out[(*n)++] = (char)b[k];
}

static int hex4(doc_t *d, unsigned long *cp)
{
    int i;

    *cp = 0;
    if (d->end - d->p < 4)
        return jfail(d, "short \\u escape");
    for (i = 0; i < 4; i++) {
        char c = *d->p++;

        *cp <<= 4;
        if (c >= '0' && c <= '9')
            *cp |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f')
            *cp |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            *cp |= (unsigned long)(c - 'A' + 10);
        else
            return jfail(d, "bad hex digit");
    }
    return 0;
}

/* Parses a string at d->p (on the quote), decoded into out (cap bytes). */
static int parse_string(doc_t *d, char *out, size_t cap, size_t *outlen)
{
    size_t n = 0;

    if (d->p >= d->end || *d->p != '"')
        return jfail(d, "string expected");
    d->p++;
    for (;;) {
        unsigned char c;

        if (d->p >= d->end)
            return jfail(d, "unterminated string");
        c = (unsigned char)*d->p;
        if (c == '"') {
            d->p++;
            break;
        }
        if (c < 0x20)
            return jfail(d, "raw control byte in string");
        if (c == '\\') {
            unsigned long cp;

            d->p++;
            if (d->p >= d->end)
                return jfail(d, "unterminated escape");
            switch (*d->p++) {
            case '"':
                cp = '"';
                break;
            case '\\':
                cp = '\\';
                break;
            case '/':
                cp = '/';
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            case 'u':
                if (hex4(d, &cp) != 0)
                    return -1;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return jfail(d, "lone low surrogate");
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned long lo;

                    if (d->end - d->p < 2 || d->p[0] != '\\' || d->p[1] != 'u')
                        return jfail(d, "lone high surrogate");
                    d->p += 2;
                    if (hex4(d, &lo) != 0)
                        return -1;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return jfail(d, "bad surrogate pair");
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                break;
            default:
                return jfail(d, "bad escape");
            }
            put_utf8(out, &n, cap, cp);
        } else if (c < 0x80) {
            if (n < cap)
                out[n++] = (char)c;
            d->p++;
        } else {
            /* Raw UTF-8: strictly valid, as RFC 8259 requires. */
            const unsigned char *s = (const unsigned char *)d->p;
            size_t len, i, left = (size_t)(d->end - d->p);
            unsigned char lo = 0x80, hi = 0xbf;

            if (c >= 0xc2 && c <= 0xdf)
                len = 2;
            else if (c >= 0xe0 && c <= 0xef)
                len = 3;
            else if (c >= 0xf0 && c <= 0xf4)
                len = 4;
            else
                return jfail(d, "invalid UTF-8 lead byte");
            if (c == 0xe0)
                lo = 0xa0;
            if (c == 0xed)
                hi = 0x9f;
            if (c == 0xf0)
                lo = 0x90;
            if (c == 0xf4)
                hi = 0x8f;
            if (left < len || s[1] < lo || s[1] > hi)
                return jfail(d, "invalid UTF-8");
            for (i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                    return jfail(d, "invalid UTF-8 continuation");
            for (i = 0; i < len; i++)
                if (n < cap)
                    out[n++] = (char)s[i];
            d->p += len;
        }
    }
    if (n < cap)
        out[n] = '\0';
    else
        out[cap - 1] = '\0';
    *outlen = n;
    return 0;
}

static leaf_t *new_leaf(doc_t *d, const char *path, char type)
{
    leaf_t *l;

    if (d->n >= MAX_LEAVES) {
        jfail(d, "too many leaves");
        return NULL;
    }
    l = &d->leaves[d->n++];
    snprintf(l->path, sizeof(l->path), "%s", path);
    l->type = type;
    l->value[0] = '\0';
    l->vlen = 0;
    return l;
}

static int parse_number(doc_t *d, const char *path)
{
    const char *s = d->p;
    leaf_t *l;

    if (d->p < d->end && *d->p == '-')
        d->p++;
    if (d->p < d->end && *d->p == '0')
        d->p++;
    else if (d->p < d->end && *d->p >= '1' && *d->p <= '9')
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
            d->p++;
    else
        return jfail(d, "bad number");
    if (d->p < d->end && *d->p == '.') {
        d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9')
            return jfail(d, "bad fraction");
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
            d->p++;
    }
    if (d->p < d->end && (*d->p == 'e' || *d->p == 'E')) {
        d->p++;
        if (d->p < d->end && (*d->p == '+' || *d->p == '-'))
            d->p++;
        if (d->p >= d->end || *d->p < '0' || *d->p > '9')
            return jfail(d, "bad exponent");
        while (d->p < d->end && *d->p >= '0' && *d->p <= '9')
            d->p++;
    }
    if ((l = new_leaf(d, path, 'n')) == NULL)
        return -1;
    l->vlen = (size_t)(d->p - s);
    if (l->vlen >= sizeof(l->value))
        return jfail(d, "number too long");
    memcpy(l->value, s, l->vlen);
    l->value[l->vlen] = '\0';
    return 0;
}

static int parse_word(doc_t *d, const char *path, const char *word, char t)
{
    size_t n = strlen(word);

    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return jfail(d, "unexpected character");
    d->p += n;
    return new_leaf(d, path, t) == NULL ? -1 : 0;
}

static int parse_object(doc_t *d, const char *path, int depth)
{
    char keys[MAX_KEYS_PER_OBJECT][MAX_PATH];
    int nkeys = 0, i;

    d->p++; /* '{' */
    ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        return 0;
    }
    for (;;) {
        char key[MAX_PATH], sub[2 * MAX_PATH + 2];
        size_t klen;

        ws(d);
        if (parse_string(d, key, sizeof(key), &klen) != 0)
            return -1;
        if (klen == 0 || klen >= sizeof(key) || memchr(key, '\0', klen))
            return jfail(d, "empty, long or odd key");
        for (i = 0; i < nkeys; i++)
            if (strcmp(keys[i], key) == 0)
                return jfail(d, "duplicate key");
        if (nkeys == MAX_KEYS_PER_OBJECT)
            return jfail(d, "too many keys");
        snprintf(keys[nkeys++], MAX_PATH, "%s", key);
        ws(d);
        if (d->p >= d->end || *d->p != ':')
            return jfail(d, "':' expected");
        d->p++;
        snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
        if (parse_value(d, sub, depth + 1) != 0)
            return -1;
        ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            continue;
        }
        if (d->p < d->end && *d->p == '}') {
            d->p++;
            return 0;
        }
        return jfail(d, "',' or '}' expected");
    }
}

static int parse_array(doc_t *d, const char *path, int depth)
{
    char sub[MAX_PATH + 3];

    snprintf(sub, sizeof(sub), "%s[]", path);
    d->p++; /* '[' */
    ws(d);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
        return 0;
    }
    for (;;) {
        if (parse_value(d, sub, depth + 1) != 0)
            return -1;
        ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            continue;
        }
        if (d->p < d->end && *d->p == ']') {
            d->p++;
            return 0;
        }
        return jfail(d, "',' or ']' expected");
    }
}

static int parse_value(doc_t *d, const char *path, int depth)
{
    leaf_t *l;

    if (depth > 16)
        return jfail(d, "too deep");
    ws(d);
    if (d->p >= d->end)
        return jfail(d, "value expected");
    switch (*d->p) {
    case '{':
        return parse_object(d, path, depth);
    case '[':
        return parse_array(d, path, depth);
    case '"':
        if ((l = new_leaf(d, path, 's')) == NULL)
            return -1;
        return parse_string(d, l->value, sizeof(l->value), &l->vlen);
    case 't':
        return parse_word(d, path, "true", 't');
    case 'f':
        return parse_word(d, path, "false", 'f');
    case 'n':
        return parse_word(d, path, "null", 'z');
    default:
        return parse_number(d, path);
    }
}

/* Parses one event line of n bytes: a single object, one "\n" at the end,
 * no other line break. Returns 0 or -1 with jl_doc.err set. */
int jl_parse_line(const char *line, size_t n)
{
    memset(&jl_doc, 0, sizeof(jl_doc));
    if (n == 0 || line[n - 1] != '\n')
        return jfail(&jl_doc, "no newline at the end");
    if (memchr(line, '\n', n - 1) != NULL || memchr(line, '\r', n) != NULL)
        return jfail(&jl_doc, "line break inside the line");
    if (memchr(line, '\0', n) != NULL)
        return jfail(&jl_doc, "NUL inside the line");
    jl_doc.p = line;
    jl_doc.end = line + n - 1;
    ws(&jl_doc);
    if (jl_doc.p >= jl_doc.end || *jl_doc.p != '{')
        return jfail(&jl_doc, "not an object");
    if (parse_value(&jl_doc, "", 0) != 0)
        return -1;
    ws(&jl_doc);
    if (jl_doc.p != jl_doc.end)
        return jfail(&jl_doc, "text after the object");
    return 0;
}

const leaf_t *jl_get(const char *path)
{
    int i;

    for (i = 0; i < jl_doc.n; i++)
        if (strcmp(jl_doc.leaves[i].path, path) == 0)
            return &jl_doc.leaves[i];
    return NULL;
}

/* Value of the string leaf at path, or "<missing>". */
const char *jl_str(const char *path)
{
    const leaf_t *l = jl_get(path);

    return l != NULL && l->type == 's' ? l->value : "<missing>";
}

/* Type of the leaf at path ('s', 'n', 't', 'f', 'z'), or '?' if absent. */
int jl_kind_of(const char *path)
{
    const leaf_t *l = jl_get(path);

    return l != NULL ? l->type : '?';
}

const char *jl_num(const char *path)
{
    const leaf_t *l = jl_get(path);

    return l != NULL && l->type == 'n' ? l->value : "<missing>";
}

/* The n-th element (0-based) of the string array at path ("rule.id[]"). */
const char *jl_elem(const char *path, int n)
{
    int i;

    for (i = 0; i < jl_doc.n; i++)
        if (strcmp(jl_doc.leaves[i].path, path) == 0 && n-- == 0)
            return jl_doc.leaves[i].value;
    return "<missing>";
}

int jl_count(const char *path)
{
    int i, c = 0;

    for (i = 0; i < jl_doc.n; i++)
        c += strcmp(jl_doc.leaves[i].path, path) == 0;
    return c;
}

/* The distinct leaf paths, in order, space-separated. */
void jl_keyset(char *out, size_t len)
{
    size_t pos = 0;
    int i, j;

    out[0] = '\0';
    for (i = 0; i < jl_doc.n; i++) {
        for (j = 0; j < i; j++)
            if (strcmp(jl_doc.leaves[j].path, jl_doc.leaves[i].path) == 0)
                break;
        if (j < i)
            continue;
        pos += (size_t)snprintf(out + pos, len - pos, "%s%s", pos ? " " : "",
                                jl_doc.leaves[i].path);
        if (pos >= len)
            break;
    }
}

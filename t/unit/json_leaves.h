/* json_leaves.h - a small strict JSON parser for the unit tests.
 *
 * RFC 8259: no raw control bytes or invalid UTF-8 in strings, paired
 * surrogates, strict numbers, no duplicate keys, nothing after the value.
 * It flattens one document into leaves "event.action" = "ban", array
 * elements as "rule.id[]", with strings decoded back to UTF-8, so a test
 * can check a line's keys and values by path (test_event.c).
 */
#ifndef JSON_LEAVES_H
#define JSON_LEAVES_H

#include <stddef.h>

#define MAX_LEAVES 96
#define MAX_PATH 96
#define MAX_VALUE 4096
#define MAX_KEYS_PER_OBJECT 32

typedef struct leaf {
    char path[MAX_PATH];
    char type; /* 's' string, 'n' number, 't' true, 'f' false, 'z' null */
    char value[MAX_VALUE]; /* decoded string, or the number's text */
    size_t vlen;
} leaf_t;

typedef struct doc {
    leaf_t leaves[MAX_LEAVES];
    int n;
    const char *p, *end;
    const char *err;
} doc_t;

/* The last document parsed (large: static, and tests run one at a time). */
extern doc_t jl_doc;

/* Parses one event line of n bytes: a single object, one "\n" at the end,
 * no other line break. Returns 0 or -1 with jl_doc.err set. */
int jl_parse_line(const char *line, size_t n);

/* The first leaf at path, or NULL. */
const leaf_t *jl_get(const char *path);

/* Value of the string leaf at path, or "<missing>". */
const char *jl_str(const char *path);

/* Type of the leaf at path ('s', 'n', 't', 'f', 'z'), or '?' if absent. */
int jl_kind_of(const char *path);

/* The number leaf's text at path, or "<missing>". */
const char *jl_num(const char *path);

/* The n-th element (0-based) of the string array at path ("rule.id[]"). */
const char *jl_elem(const char *path, int n);

/* How many leaves have this path. */
int jl_count(const char *path);

/* The distinct leaf paths, in order, space-separated. */
void jl_keyset(char *out, size_t len);

#endif

/* rlw_json.h - a strict, bounded JSON reader (RFC 8259) for what the
 * status page answers to rlwafctl --url.
 *
 * httpd-free. The text comes from the network: it is parsed whole into a
 * tree allocated from a pool, refusing anything RFC 8259 does not allow
 * (trailing commas, raw control characters in strings, bad escapes, lone
 * surrogates, leading zeros, text after the value), nesting deeper than
 * RLW_JSON_DEPTH_MAX, and strings holding NUL (\u0000), so that every
 * string is a C string. Numbers keep their integer value when they are
 * integers within int64_t.
 */
#ifndef RLW_JSON_H
#define RLW_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

/* Deepest nesting of arrays and objects accepted. */
#define RLW_JSON_DEPTH_MAX 32

typedef enum rlw_json_type {
    RLW_JSON_NULL = 0,
    RLW_JSON_FALSE,
    RLW_JSON_TRUE,
    RLW_JSON_NUMBER,
    RLW_JSON_STRING,
    RLW_JSON_ARRAY,
    RLW_JSON_OBJECT
} rlw_json_type_t;

typedef struct rlw_json rlw_json_t;
struct rlw_json {
    rlw_json_type_t type;
    const char *str;   /* STRING: its value (UTF-8, no NUL inside) */
    int is_int;        /* NUMBER: an integer that fits int64_t */
    int64_t i;         /* NUMBER with is_int */
    double num;        /* NUMBER */
    int n;             /* ARRAY, OBJECT: members */
    rlw_json_t **item; /* ARRAY, OBJECT: the members' values, in order */
    const char **key;  /* OBJECT: the members' names */
};

/* Parses text[0..len) (one JSON value, white space around it allowed)
 * into *out, everything from p. Returns NULL, or an error sentence with
 * the byte offset ("at byte 12: ..."), from p. */
const char *rlw_json_parse(apr_pool_t *p, const char *text, size_t len,
                           rlw_json_t **out);

/* The value of member name of object v (the first one), or NULL when v is
 * not an object or has no such member. */
const rlw_json_t *rlw_json_get(const rlw_json_t *v, const char *name);

/* The same, NULL unless the member has type t. */
const rlw_json_t *rlw_json_get_type(const rlw_json_t *v, const char *name,
                                    rlw_json_type_t t);

/* A string member's value, or NULL. */
const char *rlw_json_get_str(const rlw_json_t *v, const char *name);

/* An integer member's value into *out: 0, or -1 when it is absent or not
 * an integer. */
int rlw_json_get_int(const rlw_json_t *v, const char *name, int64_t *out);

#endif

/* fuzz_json.c - the strict JSON reader of rlwafctl --url (rlw_json.c),
 * fed what a node (or anything at its URL) may answer. Promises: a parse
 * either fails with a non-empty reason and no tree, or gives a tree whose
 * strings are C strings of valid length, whose containers hold what they
 * count, nested no deeper than RLW_JSON_DEPTH_MAX. */
#include <apr_general.h>
#include <apr_pools.h>

#include "fuzz.h"
#include "rlw_json.h"

static int walk(const rlw_json_t *v, int depth)
{
    int i;

    FUZZ_CHECK(v != NULL);
    FUZZ_CHECK(depth <= RLW_JSON_DEPTH_MAX + 1);
    switch (v->type) {
    case RLW_JSON_STRING:
        FUZZ_CHECK(v->str != NULL);
        (void)strlen(v->str);
        break;
    case RLW_JSON_OBJECT:
        for (i = 0; i < v->n; i++) {
            FUZZ_CHECK(v->key[i] != NULL);
            FUZZ_CHECK(rlw_json_get(v, v->key[i]) != NULL);
        }
        /* fall through */
    case RLW_JSON_ARRAY:
        FUZZ_CHECK(v->n >= 0);
        for (i = 0; i < v->n; i++)
            walk(v->item[i], depth + 1);
        break;
    default:
        break;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *pool;
    rlw_json_t *v = NULL;
    const char *err;

    if (!pool) {
        apr_initialize();
        apr_pool_create(&pool, NULL);
    }
    err = rlw_json_parse(pool, (const char *)data, size, &v);
    if (err) {
        FUZZ_CHECK(*err && v == NULL);
    } else {
        walk(v, 1);
    }
    apr_pool_clear(pool);
    return 0;
}

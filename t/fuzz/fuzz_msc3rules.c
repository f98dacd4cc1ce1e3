/* fuzz_msc3rules.c - the log / noauditlog fix-up of rule files
 * (rlw_msc3_rules.c): any text as a rules file, read in a buffer of its
 * exact size without a terminator. Promises: never reads past the length;
 * NULL or a text that is the input with ",log" / ",nolog", "_RAW",
 * ",t:trimRight" (and, asked
 * to mark ctl:forceRequestBodyVariable, its setvar) inserted and backslashes
 * taken out (nothing else changes, in order); every phase's default log
 * flag stays 0 or 1; every REQUEST_BODY id noted is 0 or an id the file
 * declares, and the module's REQUEST_BODY rules are made of them; every
 * drop id is an id the file declares. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "fuzz.h"
#include "rlw_msc3_rules.h"

static const char *const inserted[] = {",log",
                                       ",nolog",
                                       ",setvar:tx.rlw_reqbody_forced=1",
                                       ",setvar:!tx.rlw_reqbody_forced",
                                       "_RAW",
                                       ",t:trimRight",
                                       "t:trimRight",
                                       NULL};

/* 1 when out is in[0..n) with only the texts of inserted[] inserted and
 * backslashes taken out; -1 when the budget of tries ran out (undecided).
 * Tries an insertion, then the byte itself, then taking a backslash out,
 * backtracking: the input may hold ",log" too. */
static int only_inserted(const char *in, size_t n, const char *out, int *budget)
{
    for (;;) {
        int r, k;

        if (--*budget < 0)
            return -1;
        if (!*out) {
            while (n && *in == '\\') {
                in++;
                n--;
            }
            return n == 0;
        }
        for (k = 0; inserted[k]; k++) {
            size_t len = strlen(inserted[k]);

            if (strncmp(out, inserted[k], len) != 0)
                continue;
            r = only_inserted(in, n, out + len, budget);
            if (r != 0)
                return r;
        }
        if (n && *in == '\\' && *out == '\\') {
            r = only_inserted(in + 1, n - 1, out + 1, budget);
            if (r != 0)
                return r;
        }
        if (n && *in == '\\') {
            in++;
            n--;
            continue;
        }
        if (!n || *out != *in)
            return 0;
        out++;
        in++;
        n--;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static apr_pool_t *root;
    apr_pool_t *p;
    apr_array_header_t *ids;
    rlw_msc3_logfix_t st;
    char *text = malloc(size ? size : 1);
    const char *out;
    int i, k;

    if (!root) {
        apr_initialize();
        apr_pool_create(&root, NULL);
    }
    apr_pool_create(&p, root);
    memcpy(text, data, size);
    ids = apr_array_make(p, 4, sizeof(uint32_t));
    rlw_msc3_logfix_init(&st);
    /* (odd first byte: REQUEST_BODY as mod_security2 fills it) */
    if (size && (data[0] & 1)) {
        st.reqbody_ids = apr_array_make(p, 4, sizeof(uint32_t));
        st.mark_force = 1;
    }
    st.drop_ids = apr_array_make(p, 4, sizeof(uint32_t));
    out = rlw_msc3_logfix(p, &st, text, size, ids);
    if (out && !memchr(text, '\0', size)) {
        int budget = 1 << 16;

        FUZZ_CHECK(only_inserted(text, size, out, &budget) != 0);
    }
    for (i = 0; i < 6; i++)
        FUZZ_CHECK(st.default_log[i] == 0 || st.default_log[i] == 1);
    for (i = 0; i < ids->nelts; i++)
        FUZZ_CHECK(APR_ARRAY_IDX(ids, i, uint32_t) > 0);
    for (i = 0; st.reqbody_ids && i < st.reqbody_ids->nelts; i++) {
        uint32_t id = APR_ARRAY_IDX(st.reqbody_ids, i, uint32_t);
        int found = id == 0;

        for (k = 0; k < ids->nelts && !found; k++)
            found = APR_ARRAY_IDX(ids, k, uint32_t) == id;
        FUZZ_CHECK(found);
    }
    for (i = 0; i < st.drop_ids->nelts; i++) {
        uint32_t id = APR_ARRAY_IDX(st.drop_ids, i, uint32_t);
        int found = 0;

        for (k = 0; k < ids->nelts && !found; k++)
            found = APR_ARRAY_IDX(ids, k, uint32_t) == id;
        FUZZ_CHECK(found);
    }
    if (st.reqbody_ids) {
        const char *rules = rlw_msc3_reqbody_rules(p, st.reqbody_ids);

        FUZZ_CHECK((rules != NULL) == (st.reqbody_ids->nelts > 0));
    }
    apr_pool_destroy(p);
    free(text);
    return 0;
}

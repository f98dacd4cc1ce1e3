/* fuzz_keyorder.c - the key order records a node reads back from
 * memcached (rlw_keyorder.c), once opened: "1 LIST NODE". Promises: any
 * length and any bytes are safe; a buffer that decodes re-encodes to
 * exactly the same bytes; what decodes holds 0 to RLW_KEYS_MAX valid,
 * distinct NAMEs and a printable node name; a list agrees with itself, and
 * its readable form fits RLW_KEYORDER_LIST_LEN. */
#include "fuzz.h"
#include "rlw_keyorder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1), out[RLW_KEYORDER_TEXT_MAX];
    char list[RLW_KEYORDER_LIST_LEN];
    rlw_keyorder_t o;
    size_t n, i, j;

    if (!in)
        abort();
    memcpy(in, data, size); /* exact size: ASan sees any over-read */
    memset(&o, 0x5a, sizeof(o));
    if (rlw_keyorder_decode(in, size, &o) == 0) {
        FUZZ_CHECK(size <= RLW_KEYORDER_TEXT_MAX);
        FUZZ_CHECK(o.n <= RLW_KEYS_MAX);
        for (i = 0; i < o.n; i++) {
            FUZZ_CHECK(rlw_keyorder_name_ok(o.names[i]));
            for (j = 0; j < i; j++)
                FUZZ_CHECK(strcmp(o.names[i], o.names[j]) != 0);
        }
        n = strnlen(o.node, RLW_NODE_NAME_LEN);
        FUZZ_CHECK(n >= 1 && n <= RLW_NODE_NAME_MAX);
        for (i = 0; i < n; i++)
            FUZZ_CHECK(o.node[i] >= ' ' && o.node[i] <= '~');
        n = rlw_keyorder_encode(&o, out, sizeof(out));
        FUZZ_CHECK(n == size && memcmp(out, in, size) == 0);
        FUZZ_CHECK(rlw_keyorder_agree(&o, &o));
        rlw_keyorder_list(&o, list, sizeof(list));
        FUZZ_CHECK(strlen(list) < sizeof(list));
    } else {
        /* A refused buffer leaves nothing behind. */
        FUZZ_CHECK(o.n == 0 && o.node[0] == '\0');
    }
    free(in);
    return 0;
}

/* fuzz_mcvalue.c - what the cluster store reads back from memcached
 * (rlw_mcparse.c): counter values, counter and journal keys. Anyone who
 * can write to the pool chooses these bytes. Promises: a value is accepted
 * only as canonical digits (plus trailing spaces for a counter) whose
 * decimal text gives it back; a bucket index fits in int64; a journal entry
 * number is never 0; the saturating sum never wraps. The first input byte
 * picks the parser, the rest is the text (not NUL-terminated: the parsers
 * take a length). */
#include "fuzz.h"
#include "rlw_mcparse.h"

/* The canonical decimal text of v. */
static size_t dec(uint64_t v, char *buf)
{
    return (size_t)snprintf(buf, RLW_U64_DIGITS + 1, "%llu",
                            (unsigned long long)v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text, back[RLW_U64_DIGITS + 1];
    uint64_t v = 7, w = 7;
    size_t len, n;
    int which;

    if (size < 1)
        return 0;
    which = data[0] % 4;
    len = size - 1;
    /* An exact-size copy, so ASan sees any read past len. */
    text = malloc(len ? len : 1);
    if (!text)
        abort();
    memcpy(text, data + 1, len);

    switch (which) {
    case 0:
        if (rlw_parse_u64(text, len, &v) == 0) {
            n = dec(v, back);
            FUZZ_CHECK(n == len && memcmp(back, text, len) == 0);
        } else {
            FUZZ_CHECK(v == 7);
        }
        break;
    case 1:
        if (rlw_parse_counter(text, len, &v) == 0) {
            FUZZ_CHECK(len <= RLW_COUNTER_TEXT_MAX);
            n = dec(v, back);
            FUZZ_CHECK(n <= len && memcmp(back, text, n) == 0);
            while (n < len)
                FUZZ_CHECK(text[n++] == ' ');
        } else {
            FUZZ_CHECK(v == 7);
        }
        break;
    case 2:
        if (rlw_parse_bucket_key(text, len, &v) == 0) {
            FUZZ_CHECK(v <= (uint64_t)INT64_MAX);
            FUZZ_CHECK(len >= 3 && text[0] == 'c');
        }
        {
            unsigned win = 99;
            uint64_t x = 7;

            /* Any window's key: window 0 exactly as the one above. */
            if (rlw_parse_bucket_key_w(text, len, 2, &win, &x) == 0) {
                FUZZ_CHECK(x <= (uint64_t)INT64_MAX && win <= 2);
                FUZZ_CHECK(win > 0 || x == v);
            } else {
                FUZZ_CHECK(win == 99 && x == 7);
            }
        }
        break;
    default:
        if (rlw_parse_journal_key(text, len, &v) == 0) {
            FUZZ_CHECK(v != 0);
            n = dec(v, back);
            FUZZ_CHECK(len == n + 2 && memcmp(text, "j:", 2) == 0 &&
                       memcmp(text + 2, back, n) == 0);
        }
        break;
    }
    /* The sum of whatever was read never wraps. */
    w = rlw_sat_add_u64(v, v);
    FUZZ_CHECK(w >= v);
    free(text);
    return 0;
}

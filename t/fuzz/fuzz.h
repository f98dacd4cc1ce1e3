/* fuzz.h - helpers shared by the libFuzzer targets in t/fuzz.
 *
 * Every target is one file t/fuzz/fuzz_<name>.c defining
 * LLVMFuzzerTestOneInput() over the httpd-free core (docs/testing.md).
 * A target checks the parser's documented promises (round trips, bounds,
 * valid output) and calls FUZZ_CHECK() on each: a broken promise aborts,
 * and libFuzzer saves the input like any other crash.
 */
#ifndef RLW_FUZZ_H
#define RLW_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, \
                    #cond);                                                    \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* A reader over the fuzzer's bytes: fixed-size numbers first, then
 * NUL-separated strings, so that seed files stay readable and the
 * mutator can grow, cut and splice fields. Past the end every read is
 * zero or NULL. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t left;
} fuzz_in_t;

static inline uint64_t fuzz_u64(fuzz_in_t *in, size_t nbytes)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < nbytes; i++) {
        v = (v << 8) | (in->left ? *in->p : 0);
        if (in->left) {
            in->p++;
            in->left--;
        }
    }
    return v;
}

/* The next string up to a NUL (or the end), copied into a fresh malloc'd
 * buffer of its exact size (so ASan catches a read past its NUL), or NULL
 * when the input is used up. Free with free(). */
static inline char *fuzz_str(fuzz_in_t *in)
{
    const uint8_t *nul;
    size_t n;
    char *s;

    if (!in->left)
        return NULL;
    nul = memchr(in->p, 0, in->left);
    n = nul ? (size_t)(nul - in->p) : in->left;
    s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, in->p, n);
    s[n] = 0;
    in->p += n + (nul ? 1 : 0);
    in->left -= n + (nul ? 1 : 0);
    return s;
}

/* The whole input as one NUL-terminated string of its exact size. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = 0;
    return s;
}

/* Writes one seed file dir/name (the RLW_FUZZ_WRITE_SEEDS runs that made
 * t/fuzz/corpus/); aborts when it cannot. */
static inline void fuzz_write_seed(const char *dir, const char *name,
                                   const unsigned char *v, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(v, 1, n, f) != n || fclose(f))
        abort();
}
#endif
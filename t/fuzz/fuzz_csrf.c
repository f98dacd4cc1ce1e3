/* fuzz_csrf.c - the admin forms' tokens (rlw_csrf.c): the token, the
 * operator's identity and the action come from the request (a form field,
 * r->user or the client address, the form's name). Promises: a token made
 * for an identity and action is accepted for them, in its slot and the
 * next, and for nothing else; any other text is refused, whatever its
 * length or bytes. Input: an 8-byte time, then NUL-separated token,
 * identity and action. */
#include "fuzz.h"
#include "rlw_csrf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char key[RLW_CSRF_KEY_LEN] =
        "fuzz key, never a real one....";
    fuzz_in_t in = {data, size};
    int64_t now = (int64_t)fuzz_u64(&in, 8);
    char *token = fuzz_str(&in), *identity = fuzz_str(&in);
    char *action = fuzz_str(&in);
    char made[RLW_CSRF_TOKEN_LEN + 1];
    int ok;

    /* Any text at all: refused unless it is the token itself. */
    ok = rlw_csrf_check(key, now, identity, action, token);
    if (rlw_csrf_make(key, now, identity, action, made) == 0) {
        FUZZ_CHECK(strlen(made) == RLW_CSRF_TOKEN_LEN);
        FUZZ_CHECK(rlw_csrf_check(key, now, identity, action, made) == 1);
        if (now <= INT64_MAX - RLW_CSRF_SLOT_MS)
            FUZZ_CHECK(rlw_csrf_check(key, now + RLW_CSRF_SLOT_MS, identity,
                                      action, made) == 1);
        if (now >= 0 && now <= INT64_MAX - 2 * (int64_t)RLW_CSRF_SLOT_MS)
            FUZZ_CHECK(rlw_csrf_check(key, now + 2 * RLW_CSRF_SLOT_MS, identity,
                                      action, made) == 0);
        /* Another action's form never takes it. */
        FUZZ_CHECK(
            rlw_csrf_check(key, now, identity,
                           action && !strcmp(action, "ban") ? "unban" : "ban",
                           made) == 0);
        /* What was accepted is this slot's token or the previous one's. */
        if (ok) {
            char prev[RLW_CSRF_TOKEN_LEN + 1];
            int64_t before =
                now >= RLW_CSRF_SLOT_MS ? now - RLW_CSRF_SLOT_MS : 0;

            FUZZ_CHECK(rlw_csrf_make(key, before, identity, action, prev) == 0);
            FUZZ_CHECK(strcmp(token, made) == 0 || strcmp(token, prev) == 0);
        }
    } else {
        FUZZ_CHECK(made[0] == 0);
        FUZZ_CHECK(ok == 0);
    }
    free(token);
    free(identity);
    free(action);
    return 0;
}

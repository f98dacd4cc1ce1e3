/* fuzz_duration.c - durations (rlw_duration.c), as written in directives,
 * rlwafctl arguments and the status page's admin form. Promises: a parsed
 * value lies in 0..RLW_DURATION_MAX_MS, formats into text that parses back
 * to the same value; errors leave a static reason. */
#include "fuzz.h"
#include "rlw_duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    int64_t ms = -7, again = -7;
    const char *err = rlw_duration_parse(text, &ms);

    if (!err) {
        char buf[64];

        FUZZ_CHECK(ms >= 0 && ms <= RLW_DURATION_MAX_MS);
        rlw_duration_format(ms, buf, sizeof(buf));
        FUZZ_CHECK(rlw_duration_parse(buf, &again) == NULL);
        FUZZ_CHECK(again == ms);
    } else {
        FUZZ_CHECK(*err);
    }
    free(text);
    return 0;
}

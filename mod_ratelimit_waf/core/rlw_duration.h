/* rlw_duration.h - parse and format the durations used by every directive.
 *
 * httpd-free: shared by the module, the unit tests and command-line tools.
 */
#ifndef RLW_DURATION_H
#define RLW_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Longest duration accepted anywhere (366 days, in milliseconds). Keeps every
 * later addition and doubling far from int64 overflow, and a ban from ever
 * being effectively permanent. */
#define RLW_DURATION_MAX_MS (366LL * 24 * 3600 * 1000)

/* Parses "90" (seconds), "90s", "500ms", "15m", "8h" or "1d" into
 * milliseconds. No sign, no spaces, no fractions, no empty number.
 * Returns NULL on success, or a static English reason on error (the caller
 * adds the directive name and the value). */
const char *rlw_duration_parse(const char *text, int64_t *out_ms);

/* Writes ms in the largest unit that divides it exactly ("15m", "1500ms",
 * "0s") into buf. Returns buf. */
char *rlw_duration_format(int64_t ms, char *buf, size_t len);

#endif

/* rlw_time.h - the clock and how times and lengths of time are written.
 *
 * httpd-free (libc only): the one place the module, the stores, the CLI and
 * the event writer read the clock and format a time, so that a ban's end
 * reads the same in the error log, an event and rlwafctl's output.
 */
#ifndef RLW_TIME_H
#define RLW_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Latest instant an ISO-8601 time can show, 9999-12-31T23:59:59.999Z (four
 * digit years), in ms since the epoch. */
#define RLW_TIME_ISO_MAX_MS 253402300799999LL

/* Room for any time rlw_time_iso8601() writes, NUL included. */
#define RLW_TIME_ISO_LEN 32

/* rlw_time_iso8601() flags. */
#define RLW_TIME_MS 0x01    /* with milliseconds: "...:14.123Z" */
#define RLW_TIME_HUMAN 0x02 /* "2026-11-29 12:41:14" (UTC, said elsewhere) */

/* Current wall-clock time in milliseconds since the epoch. */
int64_t rlw_now_ms(void);

/* Milliseconds of a monotonic clock (an unspecified start): for intervals
 * and deadlines that must ignore steps of the wall clock. */
int64_t rlw_mono_ms(void);

/* Writes ms since the epoch as UTC ISO-8601 into buf (len > 0; cut when
 * short, always terminated): "2026-11-29T12:41:14Z", or with flags as
 * above. Times before the epoch show as the epoch, times after year 9999
 * as RLW_TIME_ISO_MAX_MS (a record read from memcached may say anything).
 * Returns buf. */
char *rlw_time_iso8601(int64_t ms, unsigned flags, char *buf, size_t len);

/* Writes a length of time exactly, to the second: "1d2h3m4s", "5m",
 * "42s"; below a second in ms ("250ms", "0ms" for 0 or less). Returns buf.
 * (rlw_duration_format() writes a directive's value in one unit.) */
char *rlw_time_span(int64_t ms, char *buf, size_t len);

/* Writes a length of time in its two largest units, rounded up to the
 * second, for pages: "2d 03h", "2h 05m", "9m 12s", "42s" ("0s" for 0 or
 * less). Returns buf. */
char *rlw_time_span2(int64_t ms, char *buf, size_t len);

#endif

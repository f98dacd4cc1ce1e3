/* rlw_window.h - a sliding-window event counter in fixed sub-buckets.
 *
 * httpd-free and allocation-free: the struct lives inside shared-memory
 * records. The window is split into RLW_WINDOW_BUCKETS buckets of
 * width = ceil(window / RLW_WINDOW_BUCKETS) ms. The count at time t sums
 * the bucket holding t and the RLW_WINDOW_BUCKETS - 1 before it, so an
 * event is counted for at least (window - width) and at most window ms
 * (the granularity documented in docs/). The upper bound is exact when
 * window is a multiple of 16 ms; otherwise it is 16 * width, less than
 * window + 16 ms.
 */
#ifndef RLW_WINDOW_H
#define RLW_WINDOW_H

#include <stdint.h>

#define RLW_WINDOW_BUCKETS 16
/* A bucket holds at most this many events (it saturates there). */
#define RLW_WINDOW_BUCKET_MAX UINT16_MAX

/* 38 bytes, 2-byte aligned: it is most of a table entry, and entries per
 * MiB is what the table is sized by. Counts are exact while no bucket of
 * the window holds RLW_WINDOW_BUCKET_MAX events; a saturated bucket makes
 * the whole window read as UINT32_MAX (more than any threshold) until it
 * leaves the window, so saturation can only ban early, never hide an
 * attacker. */
typedef struct rlw_window {
    /* The newest bucket's absolute index plus one, in 48 bits, low word
     * first; 0 = empty. A bucket's index is time / width (negative times
     * read as 0); the + 1 keeps bucket 0, the first width ms after the
     * epoch, apart from "empty" (rlw_window.c). */
    uint16_t head[3];
    uint16_t counts[RLW_WINDOW_BUCKETS]; /* ring: index % RLW_WINDOW_BUCKETS */
} rlw_window_t;

/* Width of one bucket in ms for a window of window_ms (>= 1). */
int64_t rlw_window_width(int64_t window_ms);

/* Adds n events at now_ms and returns the count in the window after it.
 * A clock that went backwards adds to the newest bucket (no event lost, no
 * bucket reused); a jump forward past the window empties it. A clock that
 * went back a whole window or more restarts the window at now_ms (so that
 * a large step, or a changed window length, cannot pin events into one
 * bucket until the clock catches up). Saturates: see rlw_window_t. */
uint32_t rlw_window_add(rlw_window_t *w, int64_t now_ms, int64_t window_ms,
                        uint32_t n);

/* The count in the window at now_ms, without changing w (the count
 * rlw_window_add(w, now_ms, window_ms, 0) would return). */
uint32_t rlw_window_total(const rlw_window_t *w, int64_t now_ms,
                          int64_t window_ms);

/* Forgets every event. */
void rlw_window_reset(rlw_window_t *w);

/* The stored head (see rlw_window_t: newest bucket index + 1, 0 = empty),
 * for tests. */
int64_t rlw_window_head(const rlw_window_t *w);

#endif

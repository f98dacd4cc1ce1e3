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

typedef struct rlw_window {
    int64_t head;                        /* absolute index (time / width) of
                                          * the newest bucket; 0 = empty */
    uint32_t counts[RLW_WINDOW_BUCKETS]; /* ring: index % RLW_WINDOW_BUCKETS */
} rlw_window_t;

/* Width of one bucket in ms for a window of window_ms (>= 1). */
int64_t rlw_window_width(int64_t window_ms);

/* Adds n events at now_ms and returns the count in the window after it.
 * A clock that went backwards adds to the newest bucket (no event lost, no
 * bucket reused); a jump forward past the window empties it. A clock that
 * went back a whole window or more restarts the window at now_ms (so that
 * a large step, or a changed window length, cannot pin events into one
 * bucket until the clock catches up). Saturates at UINT32_MAX.
 * Internally head holds the bucket index + 1 (see rlw_window.c). */
uint32_t rlw_window_add(rlw_window_t *w, int64_t now_ms, int64_t window_ms,
                        uint32_t n);

/* The count in the window at now_ms, without changing w (the count
 * rlw_window_add(w, now_ms, window_ms, 0) would return). */
uint32_t rlw_window_total(const rlw_window_t *w, int64_t now_ms,
                          int64_t window_ms);

/* Forgets every event. */
void rlw_window_reset(rlw_window_t *w);

#endif

/* rlw_window.c - the sliding-window counter of rlw_window.h.
 *
 * Index encoding: w->head stores (absolute bucket index + 1) in 48 bits.
 * head == 0 means "empty", yet the bucket index now / width is 0 during the
 * first width ms after the epoch (and always in tests that start their
 * clock at 0), so the +1 keeps that bucket usable.
 * Negative times are treated as 0: they only come from a broken clock and
 * must not index the ring with a negative remainder. 48 bits hold any
 * index up to the year 10000 even with 1 ms buckets (later times clamp);
 * a corrupt head far from now reads as empty (see stale()).
 *
 * A clock that went backwards by less than a window adds to the newest
 * bucket, as the header says. One that went back a whole window or more
 * (a large NTP step, or a window length changed by a reload so that old
 * indices no longer mean the same time) restarts the window instead:
 * otherwise every event until the clock catches up would pile into one
 * bucket that never expires.
 */
#include "rlw_window.h"

#include <string.h>

int64_t rlw_window_width(int64_t window_ms)
{
    if (window_ms < 1)
        window_ms = 1;
    return (window_ms + RLW_WINDOW_BUCKETS - 1) / RLW_WINDOW_BUCKETS;
}

/* Highest bucket index that fits head's 48 bits (index + 1 is stored). */
#define RLW_WINDOW_INDEX_MAX ((INT64_C(1) << 48) - 2)

static int64_t bucket_index(int64_t now_ms, int64_t window_ms)
{
    int64_t idx = (now_ms < 0 ? 0 : now_ms) / rlw_window_width(window_ms);

    /* Only past the year 10000 with 1 ms buckets. */
    return idx > RLW_WINDOW_INDEX_MAX ? RLW_WINDOW_INDEX_MAX : idx;
}

static uint32_t sat_add(uint32_t a, uint32_t b)
{
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static uint16_t sat_add16(uint16_t a, uint32_t b)
{
    return b >= (uint32_t)(RLW_WINDOW_BUCKET_MAX - a) ? RLW_WINDOW_BUCKET_MAX
                                                      : (uint16_t)(a + b);
}

int64_t rlw_window_head(const rlw_window_t *w)
{
    return (int64_t)w->head[0] | (int64_t)w->head[1] << 16 |
           (int64_t)w->head[2] << 32;
}

static void set_head(rlw_window_t *w, int64_t head)
{
    w->head[0] = (uint16_t)head;
    w->head[1] = (uint16_t)(head >> 16);
    w->head[2] = (uint16_t)(head >> 32);
}

/* Absolute index of the newest bucket, -1 when empty. */
static int64_t newest_index(const rlw_window_t *w)
{
    return rlw_window_head(w) - 1;
}

/* 1 when a window whose newest bucket is newest holds nothing that counts
 * at bucket idx: empty, too old, or too far in the future (see above). */
static int stale(int64_t newest, int64_t idx)
{
    return newest < 0 || idx - newest >= RLW_WINDOW_BUCKETS ||
           newest - idx >= RLW_WINDOW_BUCKETS;
}

/* Sums the buckets of the window whose newest bucket is newest, as seen
 * from bucket idx >= newest: the ring holds indices newest-15 .. newest, and
 * those above idx - RLW_WINDOW_BUCKETS still count (none below 0 was ever
 * written). */
static uint32_t sum_from(const rlw_window_t *w, int64_t newest, int64_t idx)
{
    uint32_t total = 0;
    int64_t i = idx - RLW_WINDOW_BUCKETS + 1;

    for (i = i < 0 ? 0 : i; i <= newest; i++) {
        uint16_t n = w->counts[i % RLW_WINDOW_BUCKETS];

        if (n == RLW_WINDOW_BUCKET_MAX)
            return UINT32_MAX; /* saturated: at least this, read as full */
        total = sat_add(total, n);
    }
    return total;
}

uint32_t rlw_window_add(rlw_window_t *w, int64_t now_ms, int64_t window_ms,
                        uint32_t n)
{
    int64_t idx = bucket_index(now_ms, window_ms);
    int64_t newest = newest_index(w);
    int64_t i;

    if (stale(newest, idx)) {
        memset(w->counts, 0, sizeof(w->counts));
    } else if (idx < newest) {
        /* The clock went back a little: keep the event in the newest
         * bucket rather than rewriting one that is already reused. */
        idx = newest;
    } else {
        /* Buckets between the old newest and idx held events from a full
         * window ago: clear them before the ring reuses them. */
        for (i = newest + 1; i <= idx; i++)
            w->counts[i % RLW_WINDOW_BUCKETS] = 0;
    }
    set_head(w, idx + 1);
    w->counts[idx % RLW_WINDOW_BUCKETS] =
        sat_add16(w->counts[idx % RLW_WINDOW_BUCKETS], n);
    return sum_from(w, idx, idx);
}

uint32_t rlw_window_total(const rlw_window_t *w, int64_t now_ms,
                          int64_t window_ms)
{
    int64_t idx = bucket_index(now_ms, window_ms);
    int64_t newest = newest_index(w);

    if (stale(newest, idx))
        return 0;
    /* Same rule as rlw_window_add(): a clock behind the newest bucket reads
     * the window as of that bucket. */
    if (idx < newest)
        idx = newest;
    return sum_from(w, newest, idx);
}

void rlw_window_reset(rlw_window_t *w)
{
    memset(w, 0, sizeof(*w));
}

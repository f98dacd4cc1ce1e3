/* rlw_metrics.c - see rlw_metrics.h. */
#include <string.h>

#include "rlw_metrics.h"

#define MINUTE_MS 60000

void rlw_metrics_init(rlw_metrics_t *m, int64_t now_ms)
{
    memset(m, 0, sizeof(*m));
    m->started_ms = now_ms;
    /* Slot minute -1 never matches a real minute: every slot starts
     * empty. */
    for (int i = 0; i < RLW_METRICS_MINUTES; i++)
        m->slot[i].minute = -1;
}

void rlw_metrics_add(rlw_metrics_t *m, rlw_metric_t k, int64_t now_ms,
                     uint32_t n)
{
    int64_t minute;
    rlw_metrics_slot_t *s;
    int64_t seen;

    if (k < 0 || k >= RLW_M_COUNT || now_ms < 0)
        return;
    minute = now_ms / MINUTE_MS;
    s = &m->slot[minute % RLW_METRICS_MINUTES];
    __atomic_add_fetch(&m->total[k], n, __ATOMIC_RELAXED);
    seen = __atomic_load_n(&s->minute, __ATOMIC_ACQUIRE);
    if (seen < minute &&
        __atomic_compare_exchange_n(&s->minute, &seen, minute, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        /* This process claimed the slot for the new minute: clear the
         * counts of the hour-old minute it held. */
        for (int i = 0; i < RLW_M_COUNT; i++)
            __atomic_store_n(&s->n[i], 0, __ATOMIC_RELAXED);
    } else if (seen > minute) {
        return; /* the clock went back: keep the total, skip the chart */
    }
    __atomic_add_fetch(&s->n[k], n, __ATOMIC_RELAXED);
}

uint64_t rlw_metrics_total(const rlw_metrics_t *m, rlw_metric_t k)
{
    if (k < 0 || k >= RLW_M_COUNT)
        return 0;
    return __atomic_load_n(&m->total[k], __ATOMIC_RELAXED);
}

void rlw_metrics_series(const rlw_metrics_t *m, rlw_metric_t k, int64_t now_ms,
                        uint32_t out[RLW_METRICS_MINUTES])
{
    int64_t now_min = now_ms / MINUTE_MS;

    for (int i = 0; i < RLW_METRICS_MINUTES; i++) {
        int64_t minute = now_min - (RLW_METRICS_MINUTES - 1) + i;
        const rlw_metrics_slot_t *s;

        out[i] = 0;
        if (minute < 0 || k < 0 || k >= RLW_M_COUNT)
            continue;
        s = &m->slot[minute % RLW_METRICS_MINUTES];
        if (__atomic_load_n(&s->minute, __ATOMIC_ACQUIRE) == minute)
            out[i] = __atomic_load_n(&s->n[k], __ATOMIC_RELAXED);
    }
}

const char *rlw_metrics_name(rlw_metric_t k)
{
    static const char *const names[RLW_M_COUNT] = {
        "attacks",          "bans",
        "rejected",         "dry_run_would_reject",
        "exempt_threshold", "near_threshold",
        "unbans",           "events_dropped"};

    return k >= 0 && k < RLW_M_COUNT ? names[k] : "unknown";
}

/* rlw_metrics.h - counters and a one-hour per-minute history, in shared
 * memory, for the status page, Prometheus and server-status.
 *
 * httpd-free and allocation-free: the struct lives in a shared segment the
 * module creates once (it survives graceful restarts) and every process
 * updates it with atomic operations, no lock. Per-minute slots are reused
 * as minutes pass; a count racing a slot's reuse at a minute boundary may
 * be lost from the chart (never from the totals).
 */
#ifndef RLW_METRICS_H
#define RLW_METRICS_H

#include <stdint.h>

#define RLW_METRICS_MINUTES 60

typedef enum rlw_metric {
    RLW_M_ATTACKS = 0,    /* attacks counted (score >= AttackScore) */
    RLW_M_BANS,           /* bans this node decided */
    RLW_M_REJECTED,       /* requests answered with the ban status */
    RLW_M_DRY_RUN,        /* requests a dry run would have rejected */
    RLW_M_EXEMPT,         /* exempt clients that crossed the threshold */
    RLW_M_NEAR,           /* clients that passed 80% of the threshold */
    RLW_M_UNBANS,         /* bans ended (expired or manual), this node */
    RLW_M_EVENTS_DROPPED, /* event lines dropped: a process's queue was
                           * full (RateLimitWAFEventLog reader too slow) */
    RLW_M_COUNT
} rlw_metric_t;

typedef struct rlw_metrics_slot {
    int64_t minute; /* minute since the epoch */
    uint32_t n[RLW_M_COUNT];
} rlw_metrics_slot_t;

typedef struct rlw_metrics {
    uint64_t total[RLW_M_COUNT]; /* since the table was created */
    int64_t started_ms;          /* creation time */
    rlw_metrics_slot_t slot[RLW_METRICS_MINUTES]; /* minute % 60 */
} rlw_metrics_t;

/* Prepares a zeroed struct. */
void rlw_metrics_init(rlw_metrics_t *m, int64_t now_ms);

/* Adds n to metric k at now_ms (total and the minute's slot). */
void rlw_metrics_add(rlw_metrics_t *m, rlw_metric_t k, int64_t now_ms,
                     uint32_t n);

/* The total of metric k. */
uint64_t rlw_metrics_total(const rlw_metrics_t *m, rlw_metric_t k);

/* Metric k for each of the last RLW_METRICS_MINUTES minutes, oldest first
 * (out[59] is the current minute); minutes without data are 0. */
void rlw_metrics_series(const rlw_metrics_t *m, rlw_metric_t k, int64_t now_ms,
                        uint32_t out[RLW_METRICS_MINUTES]);

/* Prometheus-style name of metric k ("attacks", "bans", ...). */
const char *rlw_metrics_name(rlw_metric_t k);

#endif

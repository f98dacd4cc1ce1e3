/* rlw_status.h - the status model: what one status request shows of this
 * node, and its JSON and Prometheus text.
 *
 * httpd-free (APR only), so that the unit tests check the threat level,
 * the JSON and the Prometheus text without a server; the Apache glue
 * (mod_rlw_status.c) takes a snapshot per request, writes these texts as
 * they are and renders the HTML page and server-status from the same
 * snapshot. See docs/status.md for what every field means.
 *
 * Everything comes from this node: its store (which, with a cluster store,
 * also holds the bans other nodes decided) and its own counters. Client
 * addresses, node names (other nodes write them into the journal) and a
 * store's server names are outside strings: every text escapes them.
 */
#ifndef RLW_STATUS_H
#define RLW_STATUS_H

#include <stdint.h>

#include <apr_pools.h>
#include <apr_tables.h>

#include "rlw_metrics.h"
#include "rlw_setup.h"
#include "rlw_store.h"

/* Subjects listed as top offenders, overall and of each kind. */
#define RLW_STATUS_TOP 10
/* Subject kinds the snapshot tells apart (rlw_subject.h: client, network,
 * key), the index of nbans_kind[] and top_kind[]. */
#define RLW_STATUS_KINDS (RLW_KIND_KEY + 1)
/* Bans listed (newest first); the number of running bans stays exact. */
#define RLW_STATUS_BANS_MAX 1000

/* Threat levels, from the busiest minute of the last RLW_THREAT_MINUTES
 * (attacks counted per minute) and the running bans. */
#define RLW_THREAT_MINUTES 5
#define RLW_THREAT_ELEVATED_APM 10 /* attacks per minute: elevated */
#define RLW_THREAT_ATTACK_APM 100  /* attacks per minute: under attack */
#define RLW_THREAT_ATTACK_BANS 10  /* running bans: under attack */

/* In this order: Prometheus shows the number (ratelimit_waf_threat_level). */
typedef enum rlw_threat {
    RLW_THREAT_CALM = 0,
    RLW_THREAT_ELEVATED,
    RLW_THREAT_ATTACK
} rlw_threat_t;

/* The serving virtual host's settings a snapshot shows (JSON "policy"). */
typedef struct rlw_status_policy {
    int enabled;        /* RateLimitWAF On */
    int dry_run;        /* RateLimitWAFDryRun On */
    int64_t threshold;  /* attacks in the window that ban */
    int64_t window_ms;  /* RateLimitWAFWindow, also the top offenders' */
    int64_t ban_ms;     /* first ban */
    int64_t ban_max_ms; /* longest ban */
    int attack_score;   /* RateLimitWAFAttackScore */
    /* The (count, window) pairs of RateLimitWAFThreshold (limits) and
     * RateLimitWAFNetwork (net_limits): a ban names the pair that banned
     * (ban.pair) by its window and count. All zero: not shown. */
    rlw_policy_t limits, net_limits;
} rlw_status_policy_t;

/* What a snapshot is taken of. */
typedef struct rlw_status_source {
    rlw_store_t *store;           /* NULL: the module is not enabled */
    const rlw_metrics_t *metrics; /* NULL: all counters shown as 0 */
    const rlw_setup_t *setup;     /* NULL: no set-up problem shown */
    const char *node;             /* RateLimitWAFNodeName, NULL or "" */
    rlw_status_policy_t policy;   /* the serving virtual host's */
    int64_t now_ms;
    int want_clients; /* 0: count the running bans only (server-status) */
    /* RateLimitWAFKey NAMEs (const char *) at their index (a key subject's
     * prefix), to name a key entry; NULL: none known. */
    const apr_array_header_t *key_names;
} rlw_status_source_t;

/* One snapshot: copies, so that rendering holds no store lock. */
typedef struct rlw_status {
    int64_t now_ms;
    const char *node;           /* "" for none */
    rlw_status_policy_t policy; /* as in the source */
    int enabled;                /* a store exists (RateLimitWAF On somewhere) */
    const char *store_name;     /* "shm", ..., or "none" */
    apr_array_header_t *bans;   /* rlw_client_info_t, newest first, at most
                                 * RLW_STATUS_BANS_MAX */
    uint64_t nbans;             /* running bans (exact) */
    uint64_t nbans_kind[RLW_STATUS_KINDS]; /* of which of each subject kind
                                            * (rlw_subject.h) */
    rlw_client_info_t top[RLW_STATUS_TOP]; /* highest counts first, equal
                                            * counts by address; any kind */
    int ntop;
    /* The same ranking within each kind: a network or a key is not hidden
     * behind busier clients (and networks, which sum their clients, do not
     * push the clients out). Fixed size: bounded whatever the table. */
    rlw_client_info_t top_kind[RLW_STATUS_KINDS][RLW_STATUS_TOP];
    int ntop_kind[RLW_STATUS_KINDS];
    const apr_array_header_t *key_names; /* as in the source */
    rlw_store_stats_t stats;
    int has_health;            /* the store answered health(): health is set */
    rlw_store_health_t health; /* all zero unless has_health */
    uint64_t total[RLW_M_COUNT];
    uint32_t attacks[RLW_METRICS_MINUTES];  /* per minute, oldest first */
    uint32_t rejected[RLW_METRICS_MINUTES]; /* per minute, oldest first */
    int64_t started_ms;                     /* when the counters started */
    uint32_t peak_apm; /* busiest of the last RLW_THREAT_MINUTES minutes */
    rlw_threat_t threat;
    /* Set-up problems seen at run time (rlw_setup.h), by kind. */
    rlw_setup_view_t setup[RLW_SETUP_KINDS];
    int nsetup; /* of them declared now: 0 when the set-up looks right */
} rlw_status_t;

/* Takes the snapshot of src into *out (arrays and strings from p): walks
 * the store's clients (no store lock held while they are sorted), reads
 * its stats() and, when it has one, its health(), then the counters, and
 * decides the threat level. */
void rlw_status_take(apr_pool_t *p, const rlw_status_source_t *src,
                     rlw_status_t *out);

/* The threat level of peak attacks per minute and running bans: under
 * attack from RLW_THREAT_ATTACK_APM or RLW_THREAT_ATTACK_BANS, elevated
 * from RLW_THREAT_ELEVATED_APM or one ban, else calm. */
rlw_threat_t rlw_status_threat(uint32_t peak_apm, uint64_t nbans);

/* The busiest of the last RLW_THREAT_MINUTES minutes of a series. */
uint32_t rlw_status_peak(const uint32_t attacks[RLW_METRICS_MINUTES]);

/* "calm", "elevated" or "under_attack" (JSON, server-status ?auto). */
const char *rlw_status_threat_word(rlw_threat_t t);

/* The store's servers, split out of health.servers ("a:1, b:2"): an
 * array of const char *, empty when servers is NULL. */
apr_array_header_t *rlw_status_servers(apr_pool_t *p, const char *servers);

/* The pair whose window banned info's subject (ban.pair, rlw_decision.h)
 * under the policy of s: 1 and *l its window and count (count 0 for a
 * request key, whose counts are per key NAME), or 0 when not known (an
 * operator's ban, one learnt from another node). */
int rlw_status_ban_pair(const rlw_status_t *s, const rlw_client_info_t *info,
                        rlw_limit_t *l);

/* The status as one JSON object and a newline. admin: posting is allowed
 * here; then ban_token and unban_token (the forms' tokens for the asking
 * operator) are given to scripts as "tokens". */
const char *rlw_status_json(apr_pool_t *p, const rlw_status_t *s, int admin,
                            const char *ban_token, const char *unban_token);

/* The status as Prometheus text format 0.0.4: one HELP and one TYPE line
 * per metric, samples labelled with the node (and the store where it
 * says so). */
const char *rlw_status_prometheus(apr_pool_t *p, const rlw_status_t *s);

/* The RateLimitWAFKey NAME of key subject a (by its index), or NULL when
 * a is no key or its index has no name in s->key_names. */
const char *rlw_status_key_name(const rlw_status_t *s, const rlw_addr_t *a);

/* s as the inside of a JSON string (no quotes), any bytes safe. */
const char *rlw_status_json_text(apr_pool_t *p, const char *s);

/* ms since the epoch in UTC: "2026-11-29T10:27:39Z" (iso) or
 * "2026-11-29 10:27:39" (human, the page says UTC once). */
const char *rlw_status_iso(apr_pool_t *p, int64_t ms);
const char *rlw_status_human_time(apr_pool_t *p, int64_t ms);

#endif

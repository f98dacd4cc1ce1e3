/* rlw_setup.h - set-up problems seen at run time: the traps of a first run
 * that would otherwise fail silently.
 *
 * httpd-free and allocation-free, like rlw_metrics.h: one struct in a
 * shared segment the module creates at start-up (cleared at every
 * configuration load, since a restart may have fixed the configuration),
 * updated by every process with atomic operations and no lock, so that a
 * warning is logged with no lock held. The glue notes evidence on paths
 * that are already rare (a WAF message about a request, a counted attack);
 * a clean request pays one relaxed load (rlw_setup_scored()).
 *
 * The problems:
 *   not_counting     mod_security2 logs rule matches about requests the
 *                    module follows but no anomaly score was ever
 *                    exported: modsecurity-ratelimit-waf.conf is not
 *                    included after the CRS, nothing is counted.
 *   bans_inspected   mod_security2 logs rule matches about a request the
 *                    module answered with its ban: the rule engine was not
 *                    switched off for it, modsecurity-ratelimit-waf-before
 *                    .conf is not included before the CRS.
 *   proxy_address    attacks are counted against a private or loopback
 *                    address while mod_remoteip has no RemoteIPHeader: the
 *                    module is probably behind a proxy and counts the
 *                    proxy, and one ban would answer the whole site.
 *   shared_address   while no RemoteIPHeader is set, one address carries
 *                    most of the attacks counted, with many distinct
 *                    User-Agents: a proxy, load balancer or CDN (public
 *                    addresses too), or a NAT of many users.
 *   key_order        (memcached store) another node gives some index of
 *                    the RateLimitWAFKey NAMEs another NAME
 *                    (rlw_keyorder.h): the two do not share those keys'
 *                    counts, and neither enforces the other's key bans.
 *                    Unlike the others it is a state, not evidence: the
 *                    store's background check declares it and ends it
 *                    (rlw_setup_end()) when the nodes agree again, and
 *                    says which lists differ (rlw_setup_detail()).
 */
#ifndef RLW_SETUP_H
#define RLW_SETUP_H

#include <stdint.h>

#include "rlw_addr.h"

typedef enum rlw_setup_kind {
    RLW_SETUP_NOT_COUNTING = 0,
    RLW_SETUP_BANS_INSPECTED,
    RLW_SETUP_PROXY_ADDRESS,
    RLW_SETUP_SHARED_ADDRESS,
    RLW_SETUP_KEY_ORDER,
    RLW_SETUP_KINDS
} rlw_setup_kind_t;

/* Requests with WAF messages and no score before not_counting is declared
 * (one stray message, say about a request whose phase 5 was switched off
 * by an exclusion rule, is not enough). */
#define RLW_SETUP_NOT_COUNTING_MIN 3

/* shared_address: the address that carries most attacks (one
 * Misra-Gries counter) showed at least RLW_SETUP_SHARED_AGENTS of the 64
 * User-Agent buckets over at least RLW_SETUP_SHARED_ATTACKS attacks. */
#define RLW_SETUP_SHARED_AGENTS 8
#define RLW_SETUP_SHARED_ATTACKS 20

/* A problem's warning is logged at most once per this many ms per node. */
#define RLW_SETUP_WARN_EVERY_MS (10 * 60 * 1000)

/* Longest detail of a problem (rlw_setup_detail()), NUL included. */
#define RLW_SETUP_DETAIL_LEN 512

/* What was seen of one problem. Times in ms since the epoch, 0 = never. */
typedef struct rlw_setup_seen {
    uint64_t evidence; /* requests (key_order: checks) that showed it */
    int64_t first_ms;  /* first of them */
    int64_t last_ms;   /* latest of them */
    int64_t warned_ms; /* the last warning logged */
    uint32_t ended;    /* 1: no longer the case (rlw_setup_end()) */
    /* What exactly is wrong, for people (one writer: the process that
     * notes it; readers retry while gen is odd or moves). */
    uint32_t detail_gen;
    char detail[RLW_SETUP_DETAIL_LEN];
} rlw_setup_seen_t;

/* The address that carries most of the attacks, for shared_address.
 * Updated by every process without a lock: the fields may briefly belong
 * to two addresses (a heuristic; a wrong guess costs one warning). */
typedef struct rlw_setup_heavy {
    uint64_t key;     /* hash of the address; 0: none yet */
    uint64_t agents;  /* one bit per User-Agent hash bucket (64) */
    uint32_t weight;  /* Misra-Gries counter: +1 for key, -1 for others */
    uint32_t attacks; /* attacks of key since it took the slot */
} rlw_setup_heavy_t;

typedef struct rlw_setup {
    /* 1 once a verdict source read an exported anomaly score: the score
     * snippet works (somewhere), not_counting is not declared. */
    uint32_t scored;
    rlw_setup_seen_t seen[RLW_SETUP_KINDS];
    rlw_setup_heavy_t heavy;
} rlw_setup_t;

/* A copy of one problem for the status page. */
typedef struct rlw_setup_view {
    int active;                        /* the problem is declared now */
    uint64_t evidence;                 /* requests that showed it */
    int64_t first_ms;                  /* 0 = never */
    int64_t last_ms;                   /* 0 = never */
    char detail[RLW_SETUP_DETAIL_LEN]; /* "" when none */
} rlw_setup_view_t;

/* Prepares s (any contents): no problem seen. */
void rlw_setup_init(rlw_setup_t *s);

/* Notes that a score was read. Cheap enough for every request: a relaxed
 * load, and one store the first time. */
void rlw_setup_scored(rlw_setup_t *s);

/* Notes one request showing problem k at now_ms. Returns 1 when the
 * problem is declared (rlw_setup_active()) after it. */
int rlw_setup_note(rlw_setup_t *s, rlw_setup_kind_t k, int64_t now_ms);

/* Problem k is no longer the case (a state the caller checks, such as
 * key_order): not declared until the next rlw_setup_note(). Its evidence
 * and times stay, for the record. */
void rlw_setup_end(rlw_setup_t *s, rlw_setup_kind_t k);

/* Sets problem k's detail (what exactly is wrong, plain text, cut to
 * RLW_SETUP_DETAIL_LEN - 1 bytes). One writer at a time per problem (the
 * store's background task); lock-free readers (rlw_setup_read()) never
 * see half of it. */
void rlw_setup_detail(rlw_setup_t *s, rlw_setup_kind_t k, const char *text);

/* 1 when problem k is declared: not_counting after
 * RLW_SETUP_NOT_COUNTING_MIN requests while no score was ever read, the
 * others after one request (or check), until rlw_setup_end(). */
int rlw_setup_active(const rlw_setup_t *s, rlw_setup_kind_t k);

/* 1 when the caller should log problem k's warning now: it is declared and
 * no warning was logged within every_ms. Of several processes asking at
 * once exactly one gets 1 (compare-and-swap on warned_ms). */
int rlw_setup_should_warn(rlw_setup_t *s, rlw_setup_kind_t k, int64_t now_ms,
                          int64_t every_ms);

/* Feeds one counted attack by address a with User-Agent ua (NULL: none)
 * to the shared_address heuristic. Returns the number of User-Agent
 * buckets a showed when it now looks shared (>= RLW_SETUP_SHARED_AGENTS
 * over >= RLW_SETUP_SHARED_ATTACKS attacks), else 0. */
int rlw_setup_agent(rlw_setup_t *s, const rlw_addr_t *a, const char *ua);

/* A copy of every problem, for the status page (s may be NULL: none). */
void rlw_setup_read(const rlw_setup_t *s,
                    rlw_setup_view_t out[RLW_SETUP_KINDS]);

/* Its label value ("not_counting", "bans_inspected", "proxy_address"). */
const char *rlw_setup_kind_name(rlw_setup_kind_t k);

/* A short title for people ("Not counting", ...). */
const char *rlw_setup_title(rlw_setup_kind_t k);

/* One sentence: what is wrong and what to do (plain text, no markup). */
const char *rlw_setup_fix(rlw_setup_kind_t k);

/* 1 for an address a proxy in front of httpd typically has: loopback,
 * RFC 1918, shared (100.64.0.0/10), link-local; IPv6 ::1, fc00::/7,
 * fe80::/10. */
int rlw_setup_private_addr(const rlw_addr_t *a);

#endif

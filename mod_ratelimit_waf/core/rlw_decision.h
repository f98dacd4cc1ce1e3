/* rlw_decision.h - when an attack count becomes a ban, and for how long;
 * when it is reported as near the threshold.
 *
 * httpd-free and pure: every store (shared memory, memcached) feeds the same
 * counts and ban state through rlw_decide(), so escalation behaves the same
 * whatever the backend.
 */
#ifndef RLW_DECISION_H
#define RLW_DECISION_H

#include <stdint.h>

/* How the client's address is treated, from the Exempt / Allow lists. */
typedef enum rlw_class {
    RLW_CLASS_NORMAL = 0,
    RLW_CLASS_ALLOW, /* shared proxy: short ban, never escalates */
    RLW_CLASS_EXEMPT /* never banned; crossing the threshold is reported */
} rlw_class_t;

/* (count, window) pairs per threshold (RateLimitWAFThreshold COUNT
 * WINDOW COUNT WINDOW ...): the first is the policy's threshold and
 * window_ms, the others its more[]. */
#define RLW_PAIRS_MAX 3

/* One (count, window) pair. */
typedef struct rlw_limit {
    uint32_t threshold; /* attacks in the window that trigger a ban */
    int64_t window_ms;  /* sliding window length */
} rlw_limit_t;

typedef struct rlw_policy {
    uint32_t threshold;      /* attacks in the window that trigger a ban */
    int64_t window_ms;       /* sliding window length */
    int64_t ban_ms;          /* first ban */
    int64_t ban_max_ms;      /* escalation cap */
    int64_t allow_ban_ms;    /* ban for RLW_CLASS_ALLOW */
    int64_t strike_decay_ms; /* quiet time after a ban ends that clears the
                              * strikes */
    unsigned nmore;          /* pairs beyond the first, 0 to
                              * RLW_PAIRS_MAX - 1: each window is counted
                              * apart, and any one reaching its count bans */
    rlw_limit_t more[RLW_PAIRS_MAX - 1];
} rlw_policy_t;

/* The part of a client's record that outlives its window. */
typedef struct rlw_ban_state {
    int64_t start_ms; /* start of the current or last ban, 0 = never */
    int64_t until_ms; /* end of the current or last ban, 0 = never */
    uint32_t strikes; /* bans counted for escalation (not for ALLOW) */
    uint32_t count;   /* attacks in the window when the last ban began */
    uint8_t pair;     /* the pair whose window banned, plus one (1 = the
                       * first); 0 = not known (an operator's ban, one
                       * learnt from a record or the journal) */
} rlw_ban_state_t;

typedef enum rlw_verdict_kind {
    RLW_VERDICT_NONE = 0,       /* below threshold: nothing to do */
    RLW_VERDICT_BAN,            /* a new ban starts now (log it once) */
    RLW_VERDICT_EXEMPT_CROSSED, /* exempt client just crossed the threshold */
    RLW_VERDICT_ALREADY_BANNED  /* counted while a ban runs: no extension */
} rlw_verdict_kind_t;

/* The module's decision on one counted attack (the WAF's own verdict on a
 * request, score and rule ids, is rlw_waf_verdict_t in engine/). */
typedef struct rlw_verdict {
    rlw_verdict_kind_t kind;
    int64_t ban_ms;  /* length of the new ban (RLW_VERDICT_BAN) */
    uint32_t strike; /* strike number of the new ban, 1 = first */
    unsigned pair;   /* the pair (0 = the first) whose count banned or
                      * crossed (RLW_VERDICT_BAN, _EXEMPT_CROSSED) */
} rlw_verdict_t;

/* The number of pairs of p: 1 + nmore (capped at RLW_PAIRS_MAX). */
unsigned rlw_policy_npairs(const rlw_policy_t *p);

/* Pair i of p (0 = threshold, window_ms); an i past the pairs reads as
 * the first. */
rlw_limit_t rlw_policy_pair(const rlw_policy_t *p, unsigned i);

/* The longest window of p's pairs (how long counters must be kept). */
int64_t rlw_policy_longest_window(const rlw_policy_t *p);

/* 1 when count[i] reaches pair i's threshold for some pair of p (a
 * threshold of 0 read as 1): rlw_decide_pairs() may ban. */
int rlw_policy_reached(const rlw_policy_t *p, const uint32_t *count);

/* 1 when b holds a ban running at now_ms. */
int rlw_ban_active(const rlw_ban_state_t *b, int64_t now_ms);

/* Length of the ban numbered strike (1 = first) for cls: ban_ms doubled for
 * each earlier strike, capped at ban_max_ms; allow_ban_ms for ALLOW; 0 for
 * EXEMPT. Strike 0 reads as 1. Never overflows for any strike, and never
 * returns less than 1 ms for NORMAL or ALLOW (the cap wins over ban_ms). */
int64_t rlw_ban_length(const rlw_policy_t *p, rlw_class_t cls, uint32_t strike);

/* Decides after one attack was counted: prev_count is the window count
 * before it, count after it. On RLW_VERDICT_BAN, b is updated (start,
 * until, strikes after decay, count) and the caller resets the window.
 * Strikes decay: if the last ban ended strike_decay_ms or more before now,
 * the strike count starts again from zero.
 * Details: a running ban wins over everything (RLW_VERDICT_ALREADY_BANNED,
 * b untouched, strike = b->strikes). NORMAL and ALLOW ban whenever count
 * >= threshold and no ban runs, even if prev_count was already over it.
 * ALLOW leaves strikes alone and reports strike = b->strikes. EXEMPT never
 * changes b and reports only the crossing (prev_count < threshold <=
 * count). A threshold of 0 is read as 1. */
rlw_verdict_t rlw_decide(const rlw_policy_t *p, rlw_class_t cls,
                         rlw_ban_state_t *b, uint32_t prev_count,
                         uint32_t count, int64_t now_ms);

/* rlw_decide() over every pair of p: prev[i] and count[i] are pair i's
 * window counts before and after the attack (one per pair, as
 * rlw_policy_npairs() says). The pair that decides is the first, in the
 * configured order, whose count reaches its threshold (for EXEMPT: the
 * first that crosses it, prev < threshold <= count); with none, the
 * first pair. rlw_decide() then runs with that pair's threshold and
 * counts; the verdict names the pair, and a ban records it in b->pair
 * (plus one). With one pair this is rlw_decide() (b->pair = 1 on a
 * ban). */
rlw_verdict_t rlw_decide_pairs(const rlw_policy_t *p, rlw_class_t cls,
                               rlw_ban_state_t *b, const uint32_t *prev,
                               const uint32_t *count, int64_t now_ms);

/* The count at which a client is reported near the threshold: the first
 * count at or past 80% of it, threshold - threshold / 5. 0 (no mark) for
 * thresholds under 5, where that count is the threshold itself: such a
 * client goes from counting straight to banned. */
uint32_t rlw_near_threshold(const rlw_policy_t *p);

/* 1 when the attack that brought the window count to count, decided as v
 * for a client of class cls, is the one to report near the threshold: no
 * ban, crossing or running ban came of it, the client is not exempt, and
 * count is exactly the near mark. Counts are exact and each attack adds
 * one, so one attack per window and client reaches it. */
int rlw_near_reached(const rlw_policy_t *p, rlw_class_t cls,
                     const rlw_verdict_t *v, uint32_t count);

/* rlw_near_reached() for every pair: the first pair i whose count[i] is
 * exactly its near mark (pair i's threshold - threshold / 5), or -1. Each
 * pair is reported near once per its window (docs/directives.md). */
int rlw_near_pair(const rlw_policy_t *p, rlw_class_t cls,
                  const rlw_verdict_t *v, const uint32_t *count);

#endif

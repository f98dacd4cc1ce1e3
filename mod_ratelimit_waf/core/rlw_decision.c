/* rlw_decision.c - thresholds, escalation, strike decay and the
 * near-threshold mark (rlw_decision.h).
 *
 * Pure arithmetic on values the stores pass in: no clock, no I/O, so the
 * shm and cluster backends cannot drift apart and every rule is unit-tested
 * here once.
 */
#include "rlw_decision.h"

int rlw_ban_active(const rlw_ban_state_t *b, int64_t now_ms)
{
    /* Only the end matters: a clock stepped back to before start_ms must
     * not lift a ban early. */
    return b->until_ms != 0 && now_ms < b->until_ms;
}

int64_t rlw_ban_length(const rlw_policy_t *p, rlw_class_t cls, uint32_t strike)
{
    int64_t len;
    int64_t cap = p->ban_max_ms;
    uint32_t k;

    if (cls == RLW_CLASS_EXEMPT)
        return 0; /* never banned */
    if (cls == RLW_CLASS_ALLOW)
        return p->allow_ban_ms < 1 ? 1 : p->allow_ban_ms;

    /* Doubling stops as soon as the cap is reached, so the loop runs at
     * most ~63 times and never overflows, whatever strike is. The cap wins
     * over ban_ms if misconfigured below it, but a ban is never under 1 ms
     * (a zero-length ban would be logged yet never enforced). */
    len = p->ban_ms < 1 ? 1 : p->ban_ms;
    for (k = 1; k < strike && len < cap; k++)
        len = len > INT64_MAX / 2 ? INT64_MAX : len * 2;
    if (len > cap)
        len = cap;
    return len < 1 ? 1 : len;
}

static int64_t sat_end(int64_t now_ms, int64_t len)
{
    return now_ms > INT64_MAX - len ? INT64_MAX : now_ms + len;
}

/* Starts a ban of len at now_ms and reports it as strike. */
static rlw_verdict_t start_ban(rlw_ban_state_t *b, int64_t now_ms, int64_t len,
                               uint32_t count, uint32_t strike)
{
    rlw_verdict_t v = {RLW_VERDICT_BAN, len, strike, 0};

    b->start_ms = now_ms;
    b->pair = 1;
    b->until_ms = sat_end(now_ms, len);
    b->count = count;
    return v;
}

rlw_verdict_t rlw_decide(const rlw_policy_t *p, rlw_class_t cls,
                         rlw_ban_state_t *b, uint32_t prev_count,
                         uint32_t count, int64_t now_ms)
{
    rlw_verdict_t v = {RLW_VERDICT_NONE, 0, 0, 0};
    /* A threshold of 0 would ban on a count of zero; read it as 1. */
    uint32_t threshold = p->threshold ? p->threshold : 1;
    uint32_t strikes;

    if (rlw_ban_active(b, now_ms)) {
        v.kind = RLW_VERDICT_ALREADY_BANNED;
        v.strike = b->strikes;
        return v;
    }
    if (count < threshold)
        return v;

    switch (cls) {
    case RLW_CLASS_EXEMPT:
        /* Reported once per crossing, not on every attack above it. */
        if (prev_count < threshold)
            v.kind = RLW_VERDICT_EXEMPT_CROSSED;
        return v;

    case RLW_CLASS_ALLOW:
        /* A shared proxy: a short fixed ban, strikes untouched so one bad
         * user behind it cannot escalate everyone's bans. The verdict
         * reports the strikes as they stand. */
        return start_ban(b, now_ms, rlw_ban_length(p, cls, 0), count,
                         b->strikes);

    case RLW_CLASS_NORMAL:
    default:
        /* No ban runs here (checked above), even if prev_count was already
         * over the threshold: a store that failed to reset the window after
         * the last ban must not give the client a free pass. */
        strikes = b->strikes;
        if (b->until_ms != 0 && now_ms - b->until_ms >= p->strike_decay_ms)
            strikes = 0;
        if (strikes < UINT32_MAX)
            strikes++;
        b->strikes = strikes;
        return start_ban(b, now_ms, rlw_ban_length(p, cls, strikes), count,
                         strikes);
    }
}

uint32_t rlw_near_threshold(const rlw_policy_t *p)
{
    /* Below 5, threshold / 5 is 0 and the mark would be the threshold. */
    return p->threshold >= 5 ? p->threshold - p->threshold / 5 : 0;
}

int rlw_near_reached(const rlw_policy_t *p, rlw_class_t cls,
                     const rlw_verdict_t *v, uint32_t count)
{
    uint32_t near = rlw_near_threshold(p);

    return v->kind == RLW_VERDICT_NONE && cls != RLW_CLASS_EXEMPT && near > 0 &&
           count == near;
}

unsigned rlw_policy_npairs(const rlw_policy_t *p)
{
    return 1 + (p->nmore < RLW_PAIRS_MAX - 1 ? p->nmore : RLW_PAIRS_MAX - 1);
}

rlw_limit_t rlw_policy_pair(const rlw_policy_t *p, unsigned i)
{
    rlw_limit_t l = {p->threshold, p->window_ms};

    if (i > 0 && i < rlw_policy_npairs(p))
        l = p->more[i - 1];
    return l;
}

int64_t rlw_policy_longest_window(const rlw_policy_t *p)
{
    int64_t w = p->window_ms;
    unsigned i;

    for (i = 1; i < rlw_policy_npairs(p); i++)
        if (p->more[i - 1].window_ms > w)
            w = p->more[i - 1].window_ms;
    return w;
}

/* A threshold of 0 would ban on a count of zero; read it as 1. */
static uint32_t pair_threshold(const rlw_policy_t *p, unsigned i)
{
    uint32_t t = rlw_policy_pair(p, i).threshold;

    return t ? t : 1;
}

int rlw_policy_reached(const rlw_policy_t *p, const uint32_t *count)
{
    unsigned i;

    for (i = 0; i < rlw_policy_npairs(p); i++)
        if (count[i] >= pair_threshold(p, i))
            return 1;
    return 0;
}

rlw_verdict_t rlw_decide_pairs(const rlw_policy_t *p, rlw_class_t cls,
                               rlw_ban_state_t *b, const uint32_t *prev,
                               const uint32_t *count, int64_t now_ms)
{
    rlw_policy_t one = *p;
    rlw_verdict_t v;
    unsigned i, pick = 0;

    for (i = 0; i < rlw_policy_npairs(p); i++) {
        uint32_t t = pair_threshold(p, i);

        if (count[i] >= t && (cls != RLW_CLASS_EXEMPT || prev[i] < t)) {
            pick = i;
            break;
        }
    }
    one.threshold = rlw_policy_pair(p, pick).threshold;
    one.window_ms = rlw_policy_pair(p, pick).window_ms;
    one.nmore = 0;
    v = rlw_decide(&one, cls, b, prev[pick], count[pick], now_ms);
    if (v.kind == RLW_VERDICT_BAN || v.kind == RLW_VERDICT_EXEMPT_CROSSED)
        v.pair = pick;
    if (v.kind == RLW_VERDICT_BAN)
        b->pair = (uint8_t)(pick + 1);
    return v;
}

int rlw_near_pair(const rlw_policy_t *p, rlw_class_t cls,
                  const rlw_verdict_t *v, const uint32_t *count)
{
    unsigned i;

    for (i = 0; i < rlw_policy_npairs(p); i++) {
        rlw_policy_t one = *p;

        one.threshold = rlw_policy_pair(p, i).threshold;
        if (rlw_near_reached(&one, cls, v, count[i]))
            return (int)i;
    }
    return -1;
}

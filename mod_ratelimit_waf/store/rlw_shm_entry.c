/* rlw_shm_entry.c - one client's entry in the shm table.
 *
 * httpd-free (APR + pthreads). Finding a client in its set, and making room
 * for a newcomer: memory is bounded, so a client that finds its set full
 * takes the place of the least valuable entry of that set (see
 * rlw_shm_do_value()), never that of a running ban: when all 8 ways hold
 * one, the newcomer is not tracked. Also the per-entry bookkeeping that
 * every operation shares: top rules, what a ban start changes, and the copy
 * handed to callers.
 *
 * Functions named *do_* assume the stripe lock is held.
 */
#include "rlw_shm_internal.h"
#include "rlw_log.h"

/* ---- sets, victims ------------------------------------------------------- */

shm_entry_t *rlw_shm_do_find(shm_store_t *st, uint64_t set,
                             const rlw_addr_t *client)
{
    shm_entry_t *e = rlw_shm_set_of(st, set);
    int i;

    for (i = 0; i < RLW_SHM_WAYS; i++) {
        if (e[i].key.family && memcmp(&e[i].key, client, sizeof(*client)) == 0)
            return &e[i];
    }
    return NULL;
}

/* 1 when a ban that ended at until (<= now) still escalates the next. */
static int strikes_live(int64_t now, int64_t until, int64_t decay_ms)
{
    int64_t since;

    /* A record from hostile input may end at INT64_MIN: no overflow. */
    if (__builtin_sub_overflow(now, until, &since))
        return 0;
    return since < decay_ms;
}

/* 1 when some window of e (more: its windows beyond the first) holds at
 * least half its pair's threshold, and 2; *n is the largest such count.
 * A long window's heavy count is worth keeping as much as a short one's. */
static int near_any(shm_store_t *st, const shm_entry_t *e,
                    const rlw_window_t *more, const rlw_policy_t *p,
                    int64_t now, uint32_t *n)
{
    unsigned k, np = rlw_shm_npairs(st, p);
    int near = 0;

    *n = 0;
    for (k = 0; k < np && (k == 0 || more); k++) {
        rlw_limit_t l = rlw_policy_pair(p, k);
        uint32_t c =
            rlw_window_total(k ? &more[k - 1] : &e->win, now, l.window_ms);

        if (c >= 2 && (uint64_t)c * 2 >= l.threshold && (!near || c > *n)) {
            near = 1;
            *n = c;
        } else if (!near && c > *n) {
            *n = c;
        }
    }
    return near;
}

void rlw_shm_do_value(shm_store_t *st, const shm_entry_t *e,
                      const rlw_window_t *more, const rlw_policy_t *p,
                      int64_t now, shm_value_t *v)
{
    int64_t until = rlw_shm_until_of(e);
    uint32_t n;

    v->a = 0;
    v->b = e->last_s;
    if (!e->key.family) {
        v->rank = V_FREE;
        return;
    }
    if (until != 0 && now < until) {
        v->rank = V_BANNED;
        v->a = until;
        v->b = 0;
        return;
    }
    if (near_any(st, e, more, p, now, &n)) {
        v->rank = V_NEAR;
        v->a = n;
    } else if (e->strikes && until != 0 &&
               strikes_live(now, until, p->strike_decay_ms)) {
        v->rank = V_STRIKES;
        v->a = until;
    } else if (n) {
        v->rank = V_COUNTING;
        v->a = n;
    } else {
        v->rank = V_IDLE;
    }
}

int rlw_shm_value_lt(const shm_value_t *x, const shm_value_t *y)
{
    if (x->rank != y->rank)
        return x->rank < y->rank;
    if (x->a != y->a)
        return x->a < y->a;
    return x->b < y->b;
}

shm_entry_t *rlw_shm_do_pick_victim(shm_store_t *st, uint64_t set,
                                    const rlw_policy_t *p, int64_t now,
                                    shm_value_t *value)
{
    shm_entry_t *e = rlw_shm_set_of(st, set);
    shm_entry_t *best = NULL;
    int i;

    for (i = 0; i < RLW_SHM_WAYS; i++) {
        shm_value_t v;

        rlw_shm_do_value(st, &e[i], rlw_shm_more_of(st, &e[i]), p, now, &v);
        if (!best || rlw_shm_value_lt(&v, value)) {
            best = &e[i];
            *value = v;
            if (v.rank == V_FREE)
                break;
        }
    }
    return best;
}

/* The entry of client, made when missing: in a free way, or in place of
 * the least valuable entry of the set. A running ban is never replaced by
 * a client that brings no ban (keep_until 0) or a shorter one: then the
 * newcomer is not tracked (NULL, counted in untracked). keep_until is the
 * end of the ban the newcomer brings (INT64_MAX: an operator's ban, which
 * replaces the ban that ends first). */
shm_entry_t *rlw_shm_do_find_or_make(shm_store_t *st, shm_slot_t *slot,
                                     const rlw_addr_t *client,
                                     const rlw_policy_t *p, int64_t keep_until,
                                     int64_t now)
{
    shm_entry_t *e = rlw_shm_do_find(st, slot->set, client);
    shm_value_t v;

    if (e)
        return e;
    e = rlw_shm_do_pick_victim(st, slot->set, p, now, &v);
    if (v.rank == V_BANNED && v.a >= keep_until) {
        slot->untracked = 1;
        __atomic_add_fetch(&st->hdr->untracked, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    if (e->key.family) {
        slot->was_ban = v.rank == V_BANNED;
        slot->victim = *e;
        slot->evicted = 1;
        __atomic_add_fetch(&st->hdr->evictions, 1, __ATOMIC_RELAXED);
        if (slot->was_ban)
            __atomic_add_fetch(&st->hdr->evicted_bans, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&st->hdr->tracked, 1, __ATOMIC_RELAXED);
    }
    memset(e, 0, sizeof(*e));
    rlw_shm_reset_windows(st, e);
    e->key = *client;
    return e;
}

static void log_full_once(shm_store_t *st, const shm_entry_t *victim,
                          int was_ban, int64_t now)
{
    char buf[RLW_ADDR_STRLEN];

    if (!rlw_log_due(&st->hdr->full_logged_ms, now, RLW_SHM_FULL_LOG_MS))
        return;
    rlw_log(
        RLW_LOG_WARN,
        "RLW00020: shm store full (%lu clients, RateLimitWAFTableSize): "
        "evicting %s%s; %lu evictions so far (%lu running bans), logged "
        "at most once a minute",
        (unsigned long)st->capacity,
        rlw_addr_format(&victim->key, buf, sizeof(buf)),
        was_ban ? " (a running ban)" : "",
        (unsigned long)__atomic_load_n(&st->hdr->evictions, __ATOMIC_RELAXED),
        (unsigned long)__atomic_load_n(&st->hdr->evicted_bans,
                                       __ATOMIC_RELAXED));
}

static void log_untracked_once(shm_store_t *st, const rlw_addr_t *client,
                               int64_t now)
{
    char buf[RLW_ADDR_STRLEN];

    if (!rlw_log_due(&st->hdr->untracked_logged_ms, now, RLW_SHM_FULL_LOG_MS))
        return;
    rlw_log(
        RLW_LOG_WARN,
        "RLW00141: shm store: %s not tracked, its part of the table is "
        "full of running bans (%lu clients, RateLimitWAFTableSize); %lu "
        "clients not tracked so far, logged at most once a minute",
        rlw_addr_format(client, buf, sizeof(buf)), (unsigned long)st->capacity,
        (unsigned long)__atomic_load_n(&st->hdr->untracked, __ATOMIC_RELAXED));
}

void rlw_shm_lock_slot(shm_store_t *st, const rlw_addr_t *client,
                       shm_slot_t *slot)
{
    /* victim is read only once evicted is set: not cleared, since
     * banned() takes this path on every request while a ban runs. */
    slot->evicted = 0;
    slot->was_ban = 0;
    slot->untracked = 0;
    slot->client = *client;
    slot->set = rlw_shm_key_hash(st->hdr, client) % st->hdr->nsets;
    rlw_shm_lock_stripe(st->hdr, slot->set);
}

void rlw_shm_unlock_slot(shm_store_t *st, const shm_slot_t *slot, int64_t now)
{
    rlw_shm_unlock_stripe(st->hdr, slot->set);
    if (slot->evicted)
        log_full_once(st, &slot->victim, slot->was_ban, now);
    if (slot->untracked)
        log_untracked_once(st, &slot->client, now);
}

/* ---- per-entry bookkeeping ----------------------------------------------- */

/* Counts rule ids with the space-saving algorithm: a known id gains a hit;
 * a new one takes a free slot, or replaces the least hit one and inherits
 * its hits (so heavy hitters stay, whatever the order). */
void rlw_shm_do_note_rules(shm_store_t *st, shm_entry_t *e,
                           const rlw_hit_t *hit)
{
    int i, j;

    if (!hit)
        return;
    for (i = 0; i < hit->nrules; i++) {
        uint16_t id = rlw_shm_rule_index(st->hdr, hit->rules[i]);
        int min = 0;

        if (!id)
            continue;
        for (j = 0; j < RLW_TOP_RULES; j++) {
            if (e->rules[j] == id || e->rules[j] == 0)
                break;
            if (e->rule_hits[j] < e->rule_hits[min])
                min = j;
        }
        if (j == RLW_TOP_RULES)
            j = min;
        if (e->rules[j] != id)
            e->rules[j] = id;
        if (e->rule_hits[j] < UINT16_MAX)
            e->rule_hits[j]++;
    }
}

void rlw_shm_do_top_rules(shm_store_t *st, const shm_entry_t *e,
                          uint32_t *rules, uint32_t *hits)
{
    uint32_t r[RLW_TOP_RULES], h[RLW_TOP_RULES];
    int i, j;

    for (i = 0; i < RLW_TOP_RULES; i++) {
        r[i] = rlw_shm_rule_at(st->hdr, e->rules[i]);
        h[i] = r[i] ? e->rule_hits[i] : 0;
    }
    for (i = 1; i < RLW_TOP_RULES; i++) {
        for (j = i; j > 0 && h[j] > h[j - 1]; j--) {
            uint32_t t = h[j];
            h[j] = h[j - 1];
            h[j - 1] = t;
            t = r[j];
            r[j] = r[j - 1];
            r[j - 1] = t;
        }
    }
    /* Empty slots last, even between ids with no hits. */
    for (i = 0, j = 0; i < RLW_TOP_RULES; i++) {
        if (r[i]) {
            uint32_t tr = r[i], th = h[i];

            r[i] = r[j];
            h[i] = h[j];
            r[j] = tr;
            h[j] = th;
            j++;
        }
    }
    memcpy(rules, r, sizeof(r));
    if (hits)
        memcpy(hits, h, sizeof(h));
}

void rlw_shm_do_fill_info(shm_store_t *st, const shm_entry_t *e, int64_t now,
                          int64_t window_ms, rlw_client_info_t *info)
{
    memset(info, 0, sizeof(*info));
    info->client = e->key;
    info->count = rlw_window_total(&e->win, now, window_ms);
    rlw_shm_get_ban(e, &info->ban);
    info->last_ms = (int64_t)e->last_s * 1000;
    strncpy(info->node, rlw_shm_name_at(st->hdr, e->node),
            sizeof(info->node) - 1);
    rlw_shm_do_top_rules(st, e, info->rules, info->rule_hits);
}

void rlw_shm_do_start_ban(shm_store_t *st, shm_entry_t *e, uint8_t node)
{
    int64_t until = rlw_shm_until_of(e);

    /* A ban starts a new count: after it ends, the client needs a full
     * Threshold again, in every window. */
    rlw_shm_reset_windows(st, e);
    e->flags &= (uint8_t)~SHM_END_REPORTED;
    e->node = node;
    /* Under the stripe lock: see rlw_shm_publish_horizon(). */
    rlw_shm_raise_horizon(&st->hdr->horizon, until);
    if (e->key.kind == RLW_KIND_KEY)
        rlw_shm_raise_horizon(&st->hdr->key_horizon, until);
    if (e->key.kind == RLW_KIND_NET)
        rlw_shm_note_net_len(st->hdr, &e->key);
    rlw_shm_lower_next_end(st->hdr, until);
}

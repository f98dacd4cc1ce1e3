/* rlw_shm_table.c - the shm store's table: creation, locks, shared tables.
 *
 * httpd-free (APR + pthreads). The table is created once in the parent
 * before the children fork and lives in the pool given to
 * rlw_store_shm_create() (the module passes the process pool), so every
 * child of every generation sees the same counters and bans survive a
 * graceful restart. A new table size (or number of RateLimitWAFThreshold
 * pairs, which sizes the windows of an entry) on a restart moves the
 * clients into a
 * new table and frees the old one (see rlw_store_shm_create()).
 *
 * The layout and the entry format are described in rlw_shm_internal.h.
 */
#include <errno.h>

#include <apr_strings.h>
#include <apr_general.h>

#include "rlw_shm_internal.h"
#include "rlw_store_shm.h"
#include "rlw_log.h"
#include "rlw_time.h"

void rlw_shm_lock_stripe(shm_header_t *h, uint64_t set)
{
    pthread_mutex_t *m = &h->locks[set % RLW_SHM_STRIPES];
    int rv = pthread_mutex_lock(m);

    if (rv == EOWNERDEAD) {
        /* A child died holding the lock. Entries are updated field by
         * field and every combination is valid, so keep the data. */
        pthread_mutex_consistent(m);
        rlw_log(RLW_LOG_WARN, "RLW00101: shm store: recovered a lock held by "
                              "a dead process");
    }
}

void rlw_shm_unlock_stripe(shm_header_t *h, uint64_t set)
{
    pthread_mutex_unlock(&h->locks[set % RLW_SHM_STRIPES]);
}

/* ---- node names and rule ids, shared by all entries --------------------- */

const char *rlw_shm_name_at(shm_header_t *h, uint8_t i)
{
    if (i == 0 || i >= __atomic_load_n(&h->nnames, __ATOMIC_ACQUIRE))
        return "";
    return h->names[i];
}

static int name_find(shm_header_t *h, const char *node, uint32_t from,
                     uint32_t n)
{
    uint32_t i;

    for (i = from; i < n; i++) {
        if (strncmp(h->names[i], node, RLW_STORE_NODE_LEN - 1) == 0)
            return (int)i;
    }
    return -1;
}

/* Names are only added (a cluster has a few nodes and operators); when all
 * RLW_SHM_NAMES - 1 are taken, a new one gets RLW_SHM_NAME_LOST: its bans
 * are kept and enforced, shown without a decider, and their end is never
 * reported by this node (RLW00140 says so). Lock-free for known names;
 * never called with a stripe lock held. */
uint8_t rlw_shm_name_index(shm_header_t *h, const char *node, int64_t now)
{
    uint32_t n;
    int i;

    if (!node || !*node)
        return 0;
    n = __atomic_load_n(&h->nnames, __ATOMIC_ACQUIRE);
    if ((i = name_find(h, node, 1, n)) >= 0)
        return (uint8_t)i;
    if (pthread_mutex_lock(&h->names_lock) == EOWNERDEAD)
        pthread_mutex_consistent(&h->names_lock); /* names are append-only */
    /* Someone else may have added it meanwhile. */
    i = name_find(h, node, n, __atomic_load_n(&h->nnames, __ATOMIC_RELAXED));
    n = __atomic_load_n(&h->nnames, __ATOMIC_RELAXED);
    if (i < 0 && n < RLW_SHM_NAMES) {
        memset(h->names[n], 0, sizeof(h->names[n]));
        strncpy(h->names[n], node, sizeof(h->names[n]) - 1);
        __atomic_store_n(&h->nnames, n + 1, __ATOMIC_RELEASE);
        i = (int)n;
    }
    pthread_mutex_unlock(&h->names_lock);
    if (i >= 0)
        return (uint8_t)i;
    if (rlw_log_due(&h->names_logged_ms, now, RLW_SHM_FULL_LOG_MS))
        rlw_log(RLW_LOG_WARN,
                "RLW00140: shm store: the table of node names "
                "is full (%d names); bans decided by \"%.63s\" "
                "are kept without its name, logged at most "
                "once a minute",
                RLW_SHM_NAMES - 1, node);
    return RLW_SHM_NAME_LOST;
}

/* The rule is then not counted in top rules. A slot, once set, never
 * changes. */
uint16_t rlw_shm_rule_index(shm_header_t *h, uint32_t id)
{
    uint32_t start = (uint32_t)((id * 2654435761u) % RLW_SHM_RULE_SLOTS);
    uint32_t k;

    if (!id)
        return 0;
    for (k = 0; k < RLW_SHM_RULE_PROBES; k++) {
        uint32_t i = (start + k) % RLW_SHM_RULE_SLOTS;
        uint32_t v = __atomic_load_n(&h->rule_ids[i], __ATOMIC_ACQUIRE);

        if (v == 0) {
            uint32_t expected = 0;

            if (__atomic_compare_exchange_n(&h->rule_ids[i], &expected, id, 0,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                return (uint16_t)(i + 1);
            v = expected;
        }
        if (v == id)
            return (uint16_t)(i + 1);
    }
    return 0;
}

uint32_t rlw_shm_rule_at(shm_header_t *h, uint16_t slot)
{
    if (slot == 0 || slot > RLW_SHM_RULE_SLOTS)
        return 0;
    return __atomic_load_n(&h->rule_ids[slot - 1], __ATOMIC_RELAXED);
}

/* ---- the ban horizon ----------------------------------------------------- */

static uint64_t horizon_word(int64_t ms, uint64_t prev)
{
    if (ms < 0)
        ms = 0;
    if (ms > T48_MAX)
        ms = T48_MAX; /* year 6429: "some ban may run" until then */
    return (uint64_t)ms << 16 | ((prev + 1) & 0xffff);
}

void rlw_shm_raise_horizon(uint64_t *word, int64_t until)
{
    uint64_t cur = __atomic_load_n(word, __ATOMIC_RELAXED);
    uint64_t next;

    do {
        int64_t ms = rlw_shm_horizon_ms(cur);

        next = horizon_word(until > ms ? until : ms, cur);
    } while (!__atomic_compare_exchange_n(word, &cur, next, 0, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
}

/* After a full sweep that started when the horizon word was seen, with
 * latest the latest end of a ban found (each set read under its lock):
 * lowers the horizon to it, unless a ban started since seen (the word
 * changed; a ban raises it under its stripe lock, so one the sweep did not
 * see started after seen was read). Then the next sweep tries again. */
void rlw_shm_publish_horizon(uint64_t *word, uint64_t seen, int64_t latest)
{
    if (latest >= rlw_shm_horizon_ms(seen))
        return;
    __atomic_compare_exchange_n(word, &seen, horizon_word(latest, seen), 0,
                                __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

static void lock_net(shm_header_t *h)
{
    /* What it guards is whole after every store: nothing to repair. */
    if (pthread_mutex_lock(&h->net_lock) == EOWNERDEAD)
        pthread_mutex_consistent(&h->net_lock);
}

void rlw_shm_net_len_bit(uint64_t lens[RLW_SHM_NET_LEN_WORDS],
                         const rlw_addr_t *net)
{
    unsigned n = net->prefix;

    if (net->kind != RLW_KIND_NET)
        return;
    if (net->family == RLW_AF_INET && n <= 32)
        lens[0] |= UINT64_C(1) << n;
    else if (net->family == RLW_AF_INET6 && n <= 128)
        lens[1 + n / 64] |= UINT64_C(1) << (n % 64);
}

void rlw_shm_note_net_len(shm_header_t *h, const rlw_addr_t *net)
{
    uint64_t bit[RLW_SHM_NET_LEN_WORDS] = {0, 0, 0, 0};
    int i;

    rlw_shm_net_len_bit(bit, net);
    lock_net(h);
    for (i = 0; i < RLW_SHM_NET_LEN_WORDS; i++)
        if (bit[i])
            __atomic_fetch_or(&h->net_lens[i], bit[i], __ATOMIC_SEQ_CST);
    h->net_gen++;
    pthread_mutex_unlock(&h->net_lock);
}

uint64_t rlw_shm_net_gen(shm_header_t *h)
{
    uint64_t gen;

    lock_net(h);
    gen = h->net_gen;
    pthread_mutex_unlock(&h->net_lock);
    return gen;
}

void rlw_shm_publish_net_lens(shm_header_t *h, uint64_t gen,
                              const uint64_t lens[RLW_SHM_NET_LEN_WORDS])
{
    int i;

    lock_net(h);
    /* A ban that started since gen may sit in a set the sweep had walked
     * already: its bit must stay. The next sweep tries again. */
    if (h->net_gen == gen)
        for (i = 0; i < RLW_SHM_NET_LEN_WORDS; i++)
            __atomic_store_n(&h->net_lens[i], lens[i], __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&h->net_lock);
}

void rlw_shm_lower_next_end(shm_header_t *h, int64_t until)
{
    int64_t cur = __atomic_load_n(&h->next_end_ms, __ATOMIC_RELAXED);

    while (until < cur &&
           !__atomic_compare_exchange_n(&h->next_end_ms, &cur, until, 0,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
}

int64_t rlw_store_shm_horizon(rlw_store_t *base)
{
    shm_store_t *st = (shm_store_t *)base;

    return rlw_shm_horizon_ms(
        __atomic_load_n(&st->hdr->horizon, __ATOMIC_ACQUIRE));
}

/* ---- settings ------------------------------------------------------------ */

void rlw_store_shm_set_node(rlw_store_t *base, const char *node)
{
    shm_store_t *st = (shm_store_t *)base;

    memset(st->node, 0, sizeof(st->node));
    if (node)
        strncpy(st->node, node, sizeof(st->node) - 1);
    /* In the parent, before the children fork: they all share the index. */
    st->node_index = rlw_shm_name_index(st->hdr, st->node, rlw_now_ms());
}

/* ---- creation ------------------------------------------------------------ */

static const char *init_header(apr_pool_t *pool, shm_header_t *h,
                               uint64_t nsets)
{
    pthread_mutexattr_t attr;
    int i;

    h->magic = RLW_SHM_MAGIC;
    h->next_end_ms = INT64_MAX;
    h->version = RLW_SHM_VERSION;
    h->nsets = nsets;
    h->nnames = 1; /* index 0: no name */
    if (apr_generate_random_bytes((unsigned char *)h->seed, sizeof(h->seed)) !=
        APR_SUCCESS)
        return "cannot read random bytes for the table key";
    if (pthread_mutexattr_init(&attr) ||
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) ||
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST))
        return "process-shared robust mutexes are not supported here";
    for (i = 0; i < RLW_SHM_STRIPES; i++) {
        if (pthread_mutex_init(&h->locks[i], &attr)) {
            pthread_mutexattr_destroy(&attr);
            return apr_psprintf(pool, "cannot initialise mutex %d", i);
        }
    }
    if (pthread_mutex_init(&h->names_lock, &attr)) {
        pthread_mutexattr_destroy(&attr);
        return "cannot initialise the names mutex";
    }
    if (pthread_mutex_init(&h->net_lock, &attr)) {
        pthread_mutexattr_destroy(&attr);
        return "cannot initialise the network lengths mutex";
    }
    pthread_mutexattr_destroy(&attr);
    return NULL;
}

/* A new table of capacity clients (a whole number of sets), each with
 * nmore windows beyond the first, in pool. */
static const char *new_table(apr_pool_t *pool, apr_size_t capacity,
                             unsigned nmore, apr_shm_t **shm)
{
    apr_size_t size = sizeof(shm_header_t) +
                      (apr_size_t)capacity * sizeof(shm_entry_t) +
                      (apr_size_t)capacity * nmore * sizeof(rlw_window_t);
    apr_status_t rv;
    char errbuf[128];
    shm_header_t *h;

    rv = apr_shm_create(shm, size, NULL, pool);
    if (rv != APR_SUCCESS)
        return apr_psprintf(pool,
                            "cannot create %lu bytes of anonymous "
                            "shared memory: %s",
                            (unsigned long)size,
                            apr_strerror(rv, errbuf, sizeof(errbuf)));
    h = apr_shm_baseaddr_get(*shm);
    memset(h, 0, size);
    return init_header(pool, h, capacity / RLW_SHM_WAYS);
}

static void attach(shm_store_t *st, apr_shm_t *shm, apr_size_t capacity,
                   unsigned nmore)
{
    st->shm = shm;
    st->hdr = apr_shm_baseaddr_get(shm);
    st->entries = (shm_entry_t *)(st->hdr + 1);
    st->capacity = capacity;
    st->nmore = nmore;
    st->more = (rlw_window_t *)(st->entries + capacity);
}

/* Copies entry e of another table, with its other windows more (st->nmore
 * of them, or NULL: they start empty), into st (not yet shared with anyone
 * but this process): in its set under st's key, in a free way or in place
 * of a less valuable entry; dropped (and counted as evicted) when its set
 * holds only more valuable ones. */
static void move_entry(shm_store_t *st, const shm_entry_t *e,
                       const rlw_window_t *more, int64_t now)
{
    uint64_t set = rlw_shm_key_hash(st->hdr, &e->key) % st->hdr->nsets;
    shm_value_t mine, v;
    shm_entry_t *victim;

    rlw_shm_do_value(st, e, more, &st->rank, now, &mine);
    rlw_shm_lock_stripe(st->hdr, set);
    victim = rlw_shm_do_pick_victim(st, set, &st->rank, now, &v);
    if (v.rank == V_FREE || rlw_shm_value_lt(&v, &mine)) {
        if (v.rank == V_FREE) {
            st->hdr->tracked++;
        } else {
            st->hdr->evictions++;
            st->hdr->evicted_bans += v.rank == V_BANNED;
        }
        *victim = *e;
        rlw_shm_reset_windows(st, victim);
        victim->win = e->win;
        if (more)
            memcpy(rlw_shm_more_of(st, victim), more,
                   st->nmore * sizeof(*more));
    } else {
        st->hdr->evictions++;
        st->hdr->evicted_bans += mine.rank == V_BANNED;
    }
    rlw_shm_unlock_stripe(st->hdr, set);
}

/* Moves everything of the table st holds now into the new table shm of
 * capacity clients, then frees the old table (in this process: children
 * of an earlier generation keep their own mapping until they exit) and
 * makes st use the new one. Running bans, strikes and counts carry over,
 * the most valuable first when the new table is smaller (ranked by st's
 * policy, the new configuration's); names, rule ids,
 * counters and the ban horizon as they are. */
static void migrate(shm_store_t *st, apr_shm_t *shm, apr_size_t capacity,
                    unsigned nmore, int64_t now)
{
    shm_store_t old = *st;
    shm_header_t *oh = old.hdr, *nh;
    /* Windows carry over while their number does; a new number of pairs
     * starts the windows beyond the first anew. */
    int keep_more = nmore > 0 && old.nmore == nmore;
    uint64_t set;
    int i;

    attach(st, shm, capacity, nmore);
    nh = st->hdr;
    /* Indices in entries point into these tables: copy them whole. */
    nh->nnames = __atomic_load_n(&oh->nnames, __ATOMIC_ACQUIRE);
    memcpy(nh->names, oh->names, sizeof(nh->names));
    for (i = 0; i < RLW_SHM_RULE_SLOTS; i++)
        nh->rule_ids[i] = __atomic_load_n(&oh->rule_ids[i], __ATOMIC_ACQUIRE);
    nh->evictions = __atomic_load_n(&oh->evictions, __ATOMIC_RELAXED);
    nh->evicted_bans = __atomic_load_n(&oh->evicted_bans, __ATOMIC_RELAXED);
    nh->untracked = __atomic_load_n(&oh->untracked, __ATOMIC_RELAXED);
    nh->horizon = __atomic_load_n(&oh->horizon, __ATOMIC_ACQUIRE);
    nh->key_horizon = __atomic_load_n(&oh->key_horizon, __ATOMIC_ACQUIRE);
    nh->next_end_ms = __atomic_load_n(&oh->next_end_ms, __ATOMIC_ACQUIRE);
    for (i = 0; i < RLW_SHM_NET_LEN_WORDS; i++)
        nh->net_lens[i] = __atomic_load_n(&oh->net_lens[i], __ATOMIC_ACQUIRE);
    for (set = 0; set < oh->nsets; set++) {
        shm_entry_t copy[RLW_SHM_WAYS];
        rlw_window_t more[RLW_SHM_WAYS][RLW_PAIRS_MAX - 1];

        /* Children of the last generation may still be writing. */
        rlw_shm_lock_stripe(oh, set);
        memcpy(copy, rlw_shm_set_of(&old, set), sizeof(copy));
        if (keep_more)
            for (i = 0; i < RLW_SHM_WAYS; i++)
                memcpy(more[i],
                       rlw_shm_more_of(&old, rlw_shm_set_of(&old, set) + i),
                       nmore * sizeof(rlw_window_t));
        rlw_shm_unlock_stripe(oh, set);
        for (i = 0; i < RLW_SHM_WAYS; i++) {
            if (copy[i].key.family)
                move_entry(st, &copy[i], keep_more ? more[i] : NULL, now);
        }
    }
    /* Unmaps the old table here now, not when the pool goes (never, for
     * the process pool): that is what keeps size changes from piling up
     * tables. */
    apr_shm_destroy(old.shm);
}

/* The policy of a store created without one: threshold 0 (any count of 2
 * or more is "near"), window 10 minutes, decay 1 day. */
static void default_policy(rlw_policy_t *p)
{
    memset(p, 0, sizeof(*p));
    p->threshold = 0;
    p->window_ms = RLW_SHM_DEF_WINDOW_MS;
    p->strike_decay_ms = RLW_SHM_DEF_DECAY_MS;
}

const char *rlw_store_shm_create(apr_pool_t *pool, apr_size_t capacity,
                                 const rlw_policy_t *policy, rlw_store_t **out)
{
    const char *ukey;
    shm_store_t *st = NULL;
    apr_shm_t *shm;
    const char *err;
    unsigned nmore = policy ? rlw_policy_npairs(policy) - 1 : 0;

    if (capacity < RLW_SHM_WAYS)
        capacity = RLW_SHM_WAYS;
    capacity = (capacity + RLW_SHM_WAYS - 1) / RLW_SHM_WAYS * RLW_SHM_WAYS;

    /* Reuse the table of an earlier configuration cycle: this is what makes
     * bans survive a graceful restart. One table per pool: the key names
     * the layout only, so that a module upgraded by a graceful restart
     * never reads a table of another layout, and a new size replaces the
     * table rather than adding one (an old one kept under its size would
     * come back, stale, when that size does). */
    ukey = apr_psprintf(pool, "rlw_store_shm:%u:%lu:%lu", RLW_SHM_VERSION,
                        (unsigned long)sizeof(shm_entry_t),
                        (unsigned long)sizeof(shm_store_t));
    apr_pool_userdata_get((void **)&st, ukey, pool);
    if (st && st->capacity == capacity && st->nmore == nmore) {
        /* httpd unloads and reloads the module on every restart, so the
         * function pointers of the earlier cycle may point nowhere now. */
        rlw_shm_set_ops(st);
        if (policy)
            st->rank = *policy;
        *out = &st->base;
        return NULL;
    }
    if ((err = new_table(pool, capacity, nmore, &shm)) != NULL)
        return err;
    if (st) {
        /* The move ranks entries by this configuration's policy: what a
         * count or a strike is worth from now on. */
        if (policy)
            st->rank = *policy;
        migrate(st, shm, capacity, nmore, rlw_now_ms());
    } else {
        st = apr_pcalloc(pool, sizeof(*st));
        attach(st, shm, capacity, nmore);
        if (policy)
            st->rank = *policy;
        else
            default_policy(&st->rank);
        apr_pool_userdata_set(st, ukey, apr_pool_cleanup_null, pool);
    }
    rlw_shm_set_ops(st);
    *out = &st->base;
    return NULL;
}

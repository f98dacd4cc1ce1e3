/* rlw_mc_journal.c - the cluster's ban journal in memcached: appending an
 * entry, the one batched reader, and sync() (each node copies what the
 * others decided into its own shared memory).
 *
 * The journal is a counter "<prefix>j:seq" and sealed entries
 * "<prefix>j:<n>", all on the server of the group key "journal". Whoever
 * changes a ban record appends an entry: it takes a number (an increment
 * of the counter), then writes the entry under it. Each node polls it
 * (rlw_store_t.sync, every RateLimitWAFSyncInterval) and copies bans into
 * its own shared memory, where clean requests look them up without any
 * network round trip.
 *
 * Order. A multi-get returns entries in any order, and some not at all (a
 * number taken whose entry is not written yet, or expired). Every read of
 * entries goes through read_journal(), which places each result by the
 * number its key names and hands entries over strictly in sequence order,
 * missing ones included; sync() stops at a missing entry that may still
 * come (rlw_jpos.h) and reads it again next round. So an unban is never
 * applied before the ban it lifts, and rlwafctl list sees the same order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "rlw_mc_internal.h"
#include "rlw_mcparse.h"
#include "rlw_log.h"

/* Journal entries looked at to tell a restarted journal from a lowered
 * counter: the last ones the node read (one may have been skipped). */
#define RLW_MC_JOURNAL_EVIDENCE 8

/* The highest journal number this node knows to be taken: the entries it
 * read, the numbers it took itself. What a repaired sequence counter is
 * set to, so that the numbers taken next are ones nobody has used. */
static uint64_t journal_floor(const rlw_mc_shared_t *sh)
{
    uint64_t seen = __atomic_load_n(&sh->journal_seen, __ATOMIC_RELAXED);
    uint64_t taken = __atomic_load_n(&sh->journal_taken, __ATOMIC_RELAXED);

    return seen > taken ? seen : taken;
}

/* --- the one reader ---------------------------------------------------- */

/* Called by read_journal() for entry n, in sequence order: slot says
 * whether it came and what it holds. Return non-zero to stop. */
typedef int entry_fn(void *baton, uint64_t n, const rlw_mc_slot_t *slot);

/* Reads journal entries from..to on conn, in multi-gets of at most
 * RLW_MC_JOURNAL_BATCH into slots (that many), and calls fn for each
 * number from..to in order (also for the missing ones) until it returns
 * non-zero. Returns MEMCACHED_SUCCESS (also when fn stopped) or the
 * failing call's code, also for a miss that hides an unreachable server
 * (rlw_mc_outcome()); fn was then called for every entry before the failed
 * batch. */
static memcached_return_t read_journal(const rlw_mc_store_t *st,
                                       memcached_st *conn, uint64_t from,
                                       uint64_t to, rlw_mc_slot_t *slots,
                                       entry_fn *fn, void *baton)
{
    char(*keys)[RLW_MC_KEY_MAX];
    const char *kp[RLW_MC_JOURNAL_BATCH];
    size_t kl[RLW_MC_JOURNAL_BATCH];
    memcached_return_t rc = MEMCACHED_SUCCESS;
    uint64_t end, n;

    if (from > to)
        return MEMCACHED_SUCCESS;
    if (!(keys = malloc(sizeof(*keys) * RLW_MC_JOURNAL_BATCH)))
        return MEMCACHED_MEMORY_ALLOCATION_FAILURE;
    for (; from <= to; from = end + 1) {
        memcached_result_st *res;
        size_t count = 0;

        end = rlw_mc_journal_batch_end(from - 1, to, RLW_MC_JOURNAL_BATCH);
        for (n = from; n <= end; n++, count++) {
            kl[count] = rlw_mc_journal_key(st->conf.prefix, n, keys[count]);
            kp[count] = keys[count];
        }
        memset(slots, 0, sizeof(*slots) * count);
        rc = memcached_mget_by_key(conn, RLW_MC_JOURNAL_GROUP,
                                   strlen(RLW_MC_JOURNAL_GROUP), kp, kl, count);
        if (rc != MEMCACHED_SUCCESS)
            break;
        while ((res = memcached_fetch_result(conn, NULL, &rc))) {
            const char *k = memcached_result_key_value(res);
            size_t klen = memcached_result_key_length(res);
            uint64_t at;

            /* Results come in any order: place each by its key. */
            if (rlw_mc_key_journal(st->conf.prefix, k, klen, &at) == 0 &&
                at >= from && at <= end && !slots[at - from].present) {
                rlw_mc_slot_t *slot = &slots[at - from];
                size_t vl = memcached_result_length(res);

                slot->present = 1;
                slot->len = vl <= sizeof(slot->val) ? vl : 0;
                if (slot->len)
                    memcpy(slot->val, memcached_result_value(res), vl);
            }
            memcached_result_free(res);
        }
        if ((rc = rlw_mc_outcome(conn, rc)) != MEMCACHED_SUCCESS)
            break;
        for (n = from; n <= end; n++) {
            if (fn(baton, n, &slots[n - from])) {
                free(keys);
                return MEMCACHED_SUCCESS;
            }
        }
    }
    free(keys);
    return rc;
}

/* Opens journal entry n, as read into slot, into *j: 0, or -1 when it fails
 * to open or parse. */
static int open_entry(const rlw_mc_store_t *st, uint64_t n,
                      const rlw_mc_slot_t *slot, rlw_journal_t *j)
{
    unsigned char plain[RLW_JOURNAL_PAIR_LEN + 8];
    char key[RLW_MC_KEY_MAX];
    size_t klen = rlw_mc_journal_key(st->conf.prefix, n, key), pl = 0;

    if (slot->len == 0 ||
        rlw_open(&st->keys, key, klen, slot->val, slot->len, plain,
                 sizeof(plain), &pl) != 0 ||
        rlw_journal_decode(plain, pl, j) != 0)
        return -1;
    return 0;
}

/* Counts the entries that are there (any content); stops at the first. */
static int entry_there(void *baton, uint64_t n, const rlw_mc_slot_t *slot)
{
    (void)n;
    if (!slot->present)
        return 0;
    *(int *)baton = 1;
    return 1;
}

/* 1 when any journal entry from..to (at most RLW_MC_JOURNAL_EVIDENCE) is
 * there, whatever it holds; 0 when none is; -1 when memcached does not
 * say. */
static int journal_entries_exist(rlw_mc_store_t *st, memcached_st *conn,
                                 uint64_t from, uint64_t to)
{
    rlw_mc_slot_t slots[RLW_MC_JOURNAL_EVIDENCE];
    int found = 0;

    if (to - from >= RLW_MC_JOURNAL_EVIDENCE)
        from = to - RLW_MC_JOURNAL_EVIDENCE + 1;
    if (read_journal(st, conn, from, to, slots, entry_there, &found) !=
        MEMCACHED_SUCCESS)
        return -1;
    return found;
}

/* --- the sequence counter ---------------------------------------------- */

/* Reads the journal's sequence counter (the last entry numbered) into
 * *seq, and its cas into *cas (may be NULL). *garbage is 1 (and *seq 0)
 * when it holds something other than a count (rlw_parse_counter()) or a
 * count above RLW_MC_JOURNAL_SEQ_MAX.
 * Returns MEMCACHED_SUCCESS; MEMCACHED_NOTFOUND when nothing was journaled
 * yet; else the failing call's code, also for a miss that hides an
 * unreachable server (rlw_mc_outcome()). */
static memcached_return_t read_journal_seq(const rlw_mc_store_t *st,
                                           memcached_st *conn, uint64_t *seq,
                                           uint64_t *cas, int *garbage)
{
    char key[RLW_MC_KEY_MAX];
    size_t klen = rlw_mc_journal_seq_key(st->conf.prefix, key);
    const char *kp[1] = {key};
    size_t kl[1] = {klen};
    memcached_result_st *res;
    memcached_return_t rc;
    int found = 0;

    *seq = 0;
    *garbage = 0;
    if (cas)
        *cas = 0;
    rc = memcached_mget_by_key(conn, RLW_MC_JOURNAL_GROUP,
                               strlen(RLW_MC_JOURNAL_GROUP), kp, kl, 1);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    while ((res = memcached_fetch_result(conn, NULL, &rc)) != NULL) {
        if (memcached_result_key_length(res) == klen &&
            !memcmp(memcached_result_key_value(res), key, klen)) {
            found = 1;
            if (cas)
                *cas = memcached_result_cas(res);
            if (rlw_parse_counter(memcached_result_value(res),
                                  memcached_result_length(res), seq) != 0 ||
                *seq > RLW_MC_JOURNAL_SEQ_MAX) {
                *seq = 0;
                *garbage = 1;
            }
        }
        memcached_result_free(res);
    }
    if ((rc = rlw_mc_outcome(conn, rc)) != MEMCACHED_SUCCESS)
        return rc;
    return found ? MEMCACHED_SUCCESS : MEMCACHED_NOTFOUND;
}

/* Sets the journal's sequence counter to value, only if it still holds
 * what was read with cas: a repair never undoes a number another node
 * took meanwhile. */
static memcached_return_t set_journal_seq(const rlw_mc_store_t *st,
                                          memcached_st *conn, uint64_t value,
                                          uint64_t cas)
{
    char key[RLW_MC_KEY_MAX], num[RLW_U64_DIGITS + 1];
    size_t klen = rlw_mc_journal_seq_key(st->conf.prefix, key);
    int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)value);

    return memcached_cas_by_key(conn, RLW_MC_JOURNAL_GROUP,
                                strlen(RLW_MC_JOURNAL_GROUP), key, klen, num,
                                (size_t)n, 0, 0, cas);
}

/* Whether the journal restarted below floor: the last entries up to
 * floor (the ones above seq, which a lowered counter does not cover) are
 * all gone. 1 restarted, 0 not (lowered), -1 unknown. */
static int journal_restarted(rlw_mc_store_t *st, memcached_st *conn,
                             uint64_t seq, uint64_t floor)
{
    uint64_t from = floor > RLW_MC_JOURNAL_EVIDENCE
                        ? floor - RLW_MC_JOURNAL_EVIDENCE + 1
                        : 1;
    int there;

    if (from <= seq)
        from = seq + 1;
    if (from > floor)
        return 0;
    there = journal_entries_exist(st, conn, from, floor);
    return there < 0 ? -1 : !there;
}

/* What repair_journal_seq() found. */
typedef enum seq_repair {
    SEQ_GIVE_UP = 0, /* memcached does not answer: no entry this time */
    SEQ_AGAIN,       /* repaired (or meanwhile): increment again */
    SEQ_RESTARTED    /* the journal restarted: the number taken is good */
} seq_repair_t;

/* After an increment of the journal's sequence counter that failed or
 * took a number no node will read (at or below floor, the last number this
 * node knows, or above RLW_MC_JOURNAL_SEQ_MAX). A journal that restarted
 * (memcached lost it: the last entries are gone too) simply starts again
 * at 1: nodes follow it (RLW00120). A counter that holds garbage (memcached
 * refuses to increment it) or went down while the entries are still there
 * is set to floor, so that the numbers taken next are ones no node has
 * read yet. */
static seq_repair_t repair_journal_seq(rlw_mc_store_t *st, memcached_st *conn,
                                       uint64_t floor)
{
    uint64_t seq, cas;
    int garbage, restarted;

    RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
    if (read_journal_seq(st, conn, &seq, &cas, &garbage) != MEMCACHED_SUCCESS)
        return SEQ_GIVE_UP;
    if (!garbage && seq >= floor)
        return SEQ_AGAIN;
    if (!garbage) {
        RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
        restarted = journal_restarted(st, conn, seq, floor);
        if (restarted < 0)
            return SEQ_GIVE_UP;
        if (restarted)
            return SEQ_RESTARTED;
    }
    RLW_MC_ATOMIC_ADD(&st->shared->bad_records, 1);
    RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
    rlw_log(RLW_LOG_WARN,
            "RLW00117: memcached journal sequence %sj:seq %s; "
            "replaced by %llu (the last number this node knows)",
            st->conf.prefix,
            garbage ? "holds something other than a count"
                    : "went down below this node's journal position",
            (unsigned long long)floor);
    set_journal_seq(st, conn, floor, cas);
    return SEQ_AGAIN;
}

/* --- appending --------------------------------------------------------- */

/* Takes the next journal number into *n (repairing the counter when it
 * refuses or hands out a number no node would read). 0, or -1 when no
 * usable number was taken (noted as a failure when memcached failed). */
static int take_number(rlw_mc_store_t *st, memcached_st *conn, int64_t now,
                       uint64_t *n)
{
    char seqkey[RLW_MC_KEY_MAX];
    size_t sklen = rlw_mc_journal_seq_key(st->conf.prefix, seqkey);
    uint64_t seen, old;
    memcached_return_t rc;
    int refused = 0;

    rc = rlw_mc_add_one(st, conn, RLW_MC_JOURNAL_GROUP, seqkey, sklen, 0, n,
                        &refused);
    /* A garbage counter refuses the increment; one near 2^64, or one moved
     * below what this node has read (numbers no node reads again), takes
     * it. Either way: repaired, then one more try. A server that fails
     * (timeout, out of memory) is only reported. */
    seen = journal_floor(st->shared);
    if ((rc != MEMCACHED_SUCCESS && refused) ||
        (rc == MEMCACHED_SUCCESS &&
         (*n > RLW_MC_JOURNAL_SEQ_MAX || *n <= seen))) {
        switch (repair_journal_seq(st, conn, seen)) {
        case SEQ_AGAIN:
            rc = rlw_mc_add_one(st, conn, RLW_MC_JOURNAL_GROUP, seqkey, sklen,
                                0, n, &refused);
            break;
        case SEQ_RESTARTED:
            /* Numbers start again: the old ones are gone with the
             * journal. */
            __atomic_store_n(&st->shared->journal_taken, *n, __ATOMIC_RELAXED);
            seen = 0;
            break;
        case SEQ_GIVE_UP:
            break;
        }
    }
    if (rc != MEMCACHED_SUCCESS) {
        rlw_mc_note_failure(st, "journal sequence increment", conn, rc, now);
        return -1;
    }
    if (*n > RLW_MC_JOURNAL_SEQ_MAX || *n <= seen)
        return -1; /* not repaired: no entry nodes would read */
    old = __atomic_load_n(&st->shared->journal_taken, __ATOMIC_RELAXED);
    while (old < *n &&
           !__atomic_compare_exchange_n(&st->shared->journal_taken, &old, *n, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    return 0;
}

int rlw_mc_journal_append(rlw_mc_store_t *st, memcached_st *conn,
                          rlw_journal_action_t action, const rlw_addr_t *client,
                          const rlw_ban_state_t *b, int64_t now)
{
    char key[RLW_MC_KEY_MAX];
    rlw_journal_t j;
    unsigned char rec[RLW_JOURNAL_PAIR_LEN];
    unsigned char sealed[RLW_MC_SEALED_ENTRY];
    size_t rl = RLW_JOURNAL_LEN;
    size_t sl = 0, kl;
    uint64_t n = 0;
    memcached_return_t rc;
    int64_t keep = b->until_ms - now;

    memset(&j, 0, sizeof(j));
    j.action = (uint8_t)action;
    j.client = *client;
    j.ban = *b;
    apr_cpystrn(j.node, st->conf.node, sizeof(j.node));
    if (take_number(st, conn, now, &n) != 0)
        return -1;
    kl = rlw_mc_journal_key(st->conf.prefix, n, key);
    /* An entry must outlive the slowest poll; a ban entry also serves
     * nodes that start while the ban runs. */
    if (keep < 60 * 1000)
        keep = 60 * 1000;
    /* The pair that banned goes to the other nodes (a version 4 entry)
     * only from a node configured with pairs: a cluster without them
     * writes what it always did, which nodes of any version read. */
    if (st->conf.policy.nmore > 0 && b->pair >= 1)
        rl = RLW_JOURNAL_PAIR_LEN;
    if ((rl == RLW_JOURNAL_PAIR_LEN ? rlw_journal_encode_pair(&j, rec)
                                    : rlw_journal_encode(&j, rec)) != 0 ||
        rlw_seal(&st->keys, key, kl, rec, rl, sealed, sizeof(sealed), &sl) !=
            0) {
        rlw_log(RLW_LOG_ERR, "RLW00113: cannot encode journal entry %llu",
                (unsigned long long)n);
        return -1;
    }
    rc = memcached_set_by_key(
        conn, RLW_MC_JOURNAL_GROUP, strlen(RLW_MC_JOURNAL_GROUP), key, kl,
        (const char *)sealed, sl, (time_t)rlw_mc_ttl_secs(keep), 0);
    RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
    if (rc != MEMCACHED_SUCCESS) {
        rlw_mc_note_failure(st, "journal write", conn, rc, now);
        return -1;
    }
    return 0;
}

/* --- sync -------------------------------------------------------------- */

/* The sequence counter is below this node's position. A memcached that
 * lost the journal (restarted, flushed) lost the entries too; a counter
 * that went down while the last entries read are still there was evicted
 * or written by someone else. Then the position is kept (nothing is read
 * again) and the counter raised back, so that new entries get numbers
 * nodes will read. Returns 0 to read on (a restart), 1 to end the round,
 * -1 on a memcached failure. */
static int journal_behind(rlw_mc_store_t *st, uint64_t seq, uint64_t cas,
                          int64_t now)
{
    rlw_jpos_t *pos = &st->shared->jpos;
    int restarted = journal_restarted(st, st->sync_conn, seq, pos->seen);

    if (restarted < 0)
        return -1;
    if (restarted) {
        rlw_log(RLW_LOG_NOTICE,
                "RLW00120: memcached journal restarted "
                "(sequence %llu, below this node's position "
                "%llu, whose entries are gone); reading its "
                "last %d entries",
                (unsigned long long)seq, (unsigned long long)pos->seen,
                RLW_MC_JOURNAL_BACKLOG);
        rlw_jpos_restart(pos, seq, RLW_MC_JOURNAL_BACKLOG, now);
        /* Numbers this node took before the restart are gone with it. */
        if (__atomic_load_n(&st->shared->journal_taken, __ATOMIC_RELAXED) > seq)
            __atomic_store_n(&st->shared->journal_taken, seq, __ATOMIC_RELAXED);
        __atomic_store_n(&st->shared->journal_seen, pos->seen,
                         __ATOMIC_RELAXED);
        return 0;
    }
    RLW_MC_ATOMIC_ADD(&st->shared->bad_records, 1);
    if (rlw_log_due(&st->shared->behind_logged_ms, now, RLW_MC_LOG_INTERVAL_MS))
        rlw_log(RLW_LOG_WARN,
                "RLW00119: memcached journal sequence went "
                "down to %llu while entries up to %llu are "
                "still there (evicted or written by someone "
                "else): not a "
                "restart; position kept, sequence raised back "
                "(logged at most once a minute)",
                (unsigned long long)seq, (unsigned long long)pos->seen);
    set_journal_seq(st, st->sync_conn, journal_floor(st->shared), cas);
    return 1;
}

/* What one sync round has read so far. */
typedef struct sync_round {
    rlw_mc_store_t *st;
    int64_t now;
    int stopped;            /* waiting for an entry numbered lately */
    uint64_t skipped;       /* entries given up as lost */
    uint64_t first_skipped; /* the first of them */
} sync_round_t;

/* Applies entry n to the local ban cache, or decides what its absence
 * means. The shm store keeps whichever of its state and the entry's is
 * newer (rlw_ban_state_newer()), so an entry replayed from the past changes
 * nothing. */
static int sync_entry(void *baton, uint64_t n, const rlw_mc_slot_t *slot)
{
    sync_round_t *sr = baton;
    rlw_mc_store_t *st = sr->st;
    rlw_jpos_t *pos = &st->shared->jpos;
    rlw_journal_t j;

    if (!slot->present) {
        if (!rlw_jpos_missing(pos, n)) {
            sr->stopped = 1; /* numbered lately: read again next round */
            return 1;
        }
        /* Looking back (a new position): expired, no news. */
        if (n > pos->back_seq && !sr->skipped++)
            sr->first_skipped = n;
        return 0;
    }
    if (open_entry(st, n, slot, &j) == 0) {
        rlw_ban_state_t b = j.ban;

        if (j.action == RLW_JOURNAL_UNBAN && b.until_ms > sr->now)
            b.until_ms = sr->now > b.start_ms ? sr->now : b.start_ms;
        rlw_store_shm_learn(st->local, &j.client, &b, j.node, sr->now);
    } else {
        char key[RLW_MC_KEY_MAX];
        size_t klen = rlw_mc_journal_key(st->conf.prefix, n, key);

        RLW_MC_ATOMIC_ADD(&st->shared->bad_records, 1);
        rlw_log(RLW_LOG_WARN,
                "RLW00114: journal entry %.*s fails "
                "authentication or does not parse; ignored",
                (int)klen, key);
    }
    pos->seen = n;
    return 0;
}

/* Reads the sequence counter and moves the position (rlw_jpos_begin()):
 * 0 to read entries up to *seq, 1 when the round ends here (done), -1 on a
 * memcached failure (noted). */
static int sync_begin(rlw_mc_store_t *st, int64_t now, int64_t wait,
                      uint64_t *seq, rlw_jpos_start_t *how)
{
    rlw_jpos_t *pos = &st->shared->jpos;
    uint64_t cas = 0, jumped = 0;
    memcached_return_t rc;
    int garbage;

    rc = read_journal_seq(st, st->sync_conn, seq, &cas, &garbage);
    if (rc == MEMCACHED_NOTFOUND)
        return 1; /* nothing journaled yet */
    if (rc != MEMCACHED_SUCCESS) {
        rlw_mc_note_failure(st, "reading the journal", st->sync_conn, rc, now);
        return -1;
    }
    if (garbage) {
        /* As a garbage counter (RLW00115): replaced, here by this node's
         * position, so that the next number taken is one nobody read. */
        RLW_MC_ATOMIC_ADD(&st->shared->bad_records, 1);
        rlw_log(RLW_LOG_WARN,
                "RLW00118: memcached journal sequence %sj:seq "
                "holds something other than a count; replaced "
                "by %llu (the last number this node knows)",
                st->conf.prefix, (unsigned long long)journal_floor(st->shared));
        set_journal_seq(st, st->sync_conn, journal_floor(st->shared), cas);
        rlw_mc_note_success(st, now);
        return 1;
    }
    *how =
        rlw_jpos_begin(pos, *seq, RLW_MC_JOURNAL_BACKLOG, now, wait, &jumped);
    if (*how == RLW_JPOS_BEHIND) {
        switch (journal_behind(st, *seq, cas, now)) {
        case -1:
            rlw_mc_note_failure(st, "reading the journal", st->sync_conn,
                                memcached_last_error(st->sync_conn), now);
            return -1;
        case 1:
            rlw_mc_note_success(st, now);
            return 1;
        }
    } else if (*how == RLW_JPOS_JUMPED) {
        /* A sequence far ahead (a poisoned counter, or more bans in one
         * interval than a node reads): the last backlog entries only,
         * never a catch-up of millions of gets. */
        RLW_MC_ATOMIC_ADD(&st->shared->bad_records, 1);
        if (rlw_log_due(&st->shared->jump_logged_ms, now,
                        RLW_MC_LOG_INTERVAL_MS))
            rlw_log(RLW_LOG_WARN,
                    "RLW00121: memcached journal sequence "
                    "jumped to %llu, %llu entries past the "
                    "last %d; those are skipped (logged at "
                    "most once a minute)",
                    (unsigned long long)*seq, (unsigned long long)jumped,
                    RLW_MC_JOURNAL_BACKLOG);
    }
    return 0;
}

apr_status_t rlw_mc_sync(rlw_store_t *base, int64_t now)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    rlw_jpos_t *pos = &st->shared->jpos;
    int64_t wait = rlw_mc_journal_wait_ms(st->conf.timeout_ms);
    rlw_jpos_start_t how = RLW_JPOS_READ;
    memcached_return_t rc;
    sync_round_t sr;
    uint64_t seq = 0;
    int jsrv;

    if (!st->local)
        return APR_ENOTIMPL; /* an operator's store keeps no ban cache */
    if (!st->sync_conn && !(st->sync_conn = rlw_mc_connect(st)))
        return APR_ENOMEM;
    if (!st->slots &&
        !(st->slots = calloc(RLW_MC_JOURNAL_BATCH, sizeof(*st->slots))))
        return APR_ENOMEM;
    /* The journal's server timed out lately (hung): no round until the
     * hold ends, rather than a timeout every sync interval. */
    jsrv = rlw_mc_server_of(st->sync_conn, RLW_MC_JOURNAL_GROUP);
    if (rlw_mc_held(st, jsrv, now))
        return APR_EGENERAL;
    /* Every few seconds: do the nodes read key subjects alike? */
    rlw_mc_keyorder_check(st, st->sync_conn, now);
    switch (sync_begin(st, now, wait, &seq, &how)) {
    case -1:
        rlw_mc_hold(st, jsrv, memcached_last_error(st->sync_conn), now);
        return APR_EGENERAL;
    case 1:
        return APR_SUCCESS;
    }
    /* At most RLW_MC_JOURNAL_BACKLOG entries (rlw_jpos_begin()), in
     * order, up to the first one worth waiting for. */
    memset(&sr, 0, sizeof(sr));
    sr.st = st;
    sr.now = now;
    rc = read_journal(st, st->sync_conn, pos->seen + 1, seq, st->slots,
                      sync_entry, &sr);
    __atomic_store_n(&st->shared->journal_seen, pos->seen, __ATOMIC_RELAXED);
    if (rc != MEMCACHED_SUCCESS) {
        rlw_mc_note_failure(st, "reading journal entries", st->sync_conn, rc,
                            now);
        rlw_mc_hold(st, jsrv, rc, now);
        return APR_EGENERAL;
    }
    /* Entries expire (at the end of their ban, 60 s at least): missing
     * ones are normal when a node looks back (first round, restart, jump:
     * up to back_seq), news in a round that reads only what was numbered
     * since the last. */
    if (sr.skipped && how == RLW_JPOS_READ &&
        rlw_log_due(&st->shared->skip_logged_ms, now, RLW_MC_LOG_INTERVAL_MS))
        rlw_log(RLW_LOG_NOTICE,
                "RLW00122: %llu memcached journal entries "
                "from %llu never appeared within %ld ms of "
                "their number being taken; skipped (logged "
                "at most once a minute)",
                (unsigned long long)sr.skipped,
                (unsigned long long)sr.first_skipped, (long)wait);
    rlw_mc_note_success(st, now);
    return APR_SUCCESS;
}

/* --- operator access (rlwafctl list) ----------------------------------- */

/* What rlw_store_mc_journal() hands on. */
typedef struct list_round {
    const rlw_mc_store_t *st;
    rlw_store_mc_journal_fn *fn;
    void *baton;
    uint64_t bad;
} list_round_t;

static int list_entry(void *baton, uint64_t n, const rlw_mc_slot_t *slot)
{
    list_round_t *lr = baton;
    rlw_journal_t j;

    if (!slot->present)
        return 0; /* expired, or not written yet: nothing to say */
    if (open_entry(lr->st, n, slot, &j) != 0) {
        lr->bad++;
        return 0;
    }
    return lr->fn(lr->baton, n, &j);
}

apr_status_t rlw_store_mc_journal(rlw_store_t *base, uint64_t backlog,
                                  rlw_store_mc_journal_fn *fn, void *baton,
                                  uint64_t *seq_out, uint64_t *bad_out,
                                  char *err, size_t errlen)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    rlw_mc_slot_t *slots = NULL;
    memcached_st *conn;
    memcached_return_t rc;
    list_round_t lr;
    uint64_t seq = 0;
    int garbage;

    *seq_out = 0;
    if (bad_out)
        *bad_out = 0;
    if (!(conn = rlw_mc_pop(st))) {
        snprintf(err, errlen, "cannot open a memcached connection");
        return APR_EGENERAL;
    }
    rc = read_journal_seq(st, conn, &seq, NULL, &garbage);
    if (rc == MEMCACHED_NOTFOUND) {
        rlw_mc_push(st, &conn);
        return APR_SUCCESS; /* nothing journaled yet */
    }
    if (rc != MEMCACHED_SUCCESS) {
        rlw_mc_admin_error(conn, RLW_MC_JOURNAL_GROUP, rc,
                           "reading the journal", err, errlen);
        rlw_mc_push(st, &conn);
        return APR_EGENERAL;
    }
    if (garbage) {
        snprintf(err, errlen,
                 "the journal sequence %sj:seq holds something "
                 "other than a count (the nodes replace it at "
                 "their next sync)",
                 st->conf.prefix);
        rlw_mc_push(st, &conn);
        return APR_EGENERAL;
    }
    *seq_out = seq;
    if (!(slots = calloc(RLW_MC_JOURNAL_BATCH, sizeof(*slots)))) {
        snprintf(err, errlen, "out of memory reading the journal");
        rlw_mc_push(st, &conn);
        return APR_ENOMEM;
    }
    memset(&lr, 0, sizeof(lr));
    lr.st = st;
    lr.fn = fn;
    lr.baton = baton;
    rc =
        read_journal(st, conn, backlog && seq > backlog ? seq - backlog + 1 : 1,
                     seq, slots, list_entry, &lr);
    if (rc != MEMCACHED_SUCCESS)
        rlw_mc_admin_error(conn, RLW_MC_JOURNAL_GROUP, rc,
                           "reading journal entries", err, errlen);
    rlw_mc_push(st, &conn);
    free(slots);
    if (bad_out)
        *bad_out = lr.bad;
    return rc == MEMCACHED_SUCCESS ? APR_SUCCESS : APR_EGENERAL;
}

/* rlw_mc_ban.c - sealed ban records in memcached: reading them, writing
 * them with compare-and-swap, and the three changes made to them (a ban
 * decided by counting, an operator's ban, an unban).
 *
 * A client's record "<prefix>b:<pseudonym>" (rlw_record.h, sealed with
 * AES-256-GCM, the key as associated data) lives on its pseudonym's server
 * beside its counters. Whoever sees a count >= its threshold (any pair of
 * RateLimitWAFThreshold) runs rlw_decide_pairs() on
 * the record it just read and writes it back with cas (or add when
 * missing). One writer wins; the others re-read, find the ban running, and
 * do nothing. The winner alone logs the ban, raises the strike count and
 * appends the ban to the journal (3 more round trips, once per ban: cas or
 * add, journal sequence, entry). Every record is kept as long as
 * rlw_mc_record_keep() says, under the policy of whoever wrote it.
 */
#include <string.h>
#include <time.h>

#include "rlw_mc_internal.h"

int rlw_mc_open_ban(const rlw_mc_store_t *st, const char *key, size_t klen,
                    const char *val, size_t vlen, rlw_ban_state_t *b)
{
    unsigned char plain[RLW_BAN_RECORD_LEN + 8];
    size_t pl = 0;

    if (rlw_open(&st->keys, key, klen, (const unsigned char *)val, vlen, plain,
                 sizeof(plain), &pl) == 0 &&
        rlw_ban_record_decode(plain, pl, b) == 0)
        return 0;
    memset(b, 0, sizeof(*b));
    return -1;
}

memcached_return_t rlw_mc_read_ban(rlw_mc_store_t *st, memcached_st *conn,
                                   const char *pseudo, const char *key,
                                   size_t klen, rlw_ban_state_t *b,
                                   uint64_t *cas, int *found)
{
    const char *kp[1] = {key};
    size_t kl[1] = {klen};
    memcached_return_t rc;
    rlw_mc_read_t r;

    memset(&r, 0, sizeof(r));
    rc = memcached_mget_by_key(conn, pseudo, strlen(pseudo), kp, kl, 1);
    RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
    if (rc == MEMCACHED_SUCCESS) {
        rc = rlw_mc_fetch_client(st, conn, key, klen, 0, -1, &r);
        rlw_mc_note_bad(st, key, klen, &r);
    }
    *b = r.ban;
    *cas = r.cas;
    *found = r.found;
    return rc;
}

memcached_return_t rlw_mc_write_ban(rlw_mc_store_t *st, memcached_st *conn,
                                    const char *pseudo, const char *key,
                                    size_t klen, const rlw_ban_state_t *b,
                                    int64_t keep_ms, int found, uint64_t cas)
{
    unsigned char rec[RLW_BAN_RECORD_LEN];
    unsigned char sealed[RLW_BAN_RECORD_LEN + RLW_SEAL_OVERHEAD];
    size_t sl = 0;
    time_t ttl = (time_t)rlw_mc_ttl_secs(keep_ms);
    memcached_return_t rc;

    if (rlw_ban_record_encode(b, rec) != 0 ||
        rlw_seal(&st->keys, key, klen, rec, sizeof(rec), sealed, sizeof(sealed),
                 &sl) != 0)
        return MEMCACHED_FAILURE;
    if (found)
        rc = memcached_cas_by_key(conn, pseudo, strlen(pseudo), key, klen,
                                  (const char *)sealed, sl, ttl, 0, cas);
    else
        rc = memcached_add_by_key(conn, pseudo, strlen(pseudo), key, klen,
                                  (const char *)sealed, sl, ttl, 0);
    RLW_MC_ATOMIC_ADD(&st->shared->ops, 1);
    return rc;
}

/* 1 when a write of a ban record lost to another writer (re-read and try
 * again), 0 for a failure of memcached. */
static int lost_race(memcached_return_t rc)
{
    return rc == MEMCACHED_DATA_EXISTS || rc == MEMCACHED_NOTSTORED ||
           rc == MEMCACHED_NOTFOUND;
}

memcached_return_t rlw_mc_decide(rlw_mc_store_t *st, memcached_st *conn,
                                 const rlw_addr_t *client, const char *pseudo,
                                 const char *key, size_t klen,
                                 const rlw_mc_read_t *r, rlw_class_t cls,
                                 const rlw_policy_t *p, const uint32_t *counts,
                                 int64_t now, rlw_attack_t *out)
{
    memcached_return_t rc = MEMCACHED_SUCCESS;
    uint64_t cas = r->cas;
    int found = r->found;
    uint32_t prev[RLW_PAIRS_MAX] = {0};
    unsigned i;
    int tries;

    /* Each attack adds one to every window. */
    for (i = 0; i < rlw_policy_npairs(p); i++)
        prev[i] = counts[i] ? counts[i] - 1 : 0;

    for (tries = 0; tries < RLW_MC_CAS_TRIES; tries++) {
        rlw_ban_state_t b = r->ban, prev_ban;

        /* The first round decides on the record read with the count; a
         * round lost to another writer reads it again. */
        if (tries > 0) {
            rc = rlw_mc_read_ban(st, conn, pseudo, key, klen, &b, &cas, &found);
            if (rc != MEMCACHED_SUCCESS)
                break;
        }
        prev_ban = b;
        out->verdict = rlw_decide_pairs(p, cls, &b, prev, counts, now);
        out->count = counts[out->verdict.pair];
        if (out->verdict.kind == RLW_VERDICT_BAN)
            rlw_mc_start_after(&b, &prev_ban);
        out->ban = b;
        if (out->verdict.kind == RLW_VERDICT_ALREADY_BANNED) {
            rlw_store_shm_learn(st->local, client, &b, "", now);
            break;
        }
        if (out->verdict.kind != RLW_VERDICT_BAN)
            break;
        rc = rlw_mc_write_ban(st, conn, pseudo, key, klen, &b,
                              rlw_mc_record_keep(p, &b, now), found, cas);
        if (rc == MEMCACHED_SUCCESS) {
            rlw_store_shm_learn(st->local, client, &b, st->conf.node, now);
            rlw_mc_journal_append(st, conn, RLW_JOURNAL_BAN, client, &b, now);
            break;
        }
        if (!lost_race(rc))
            break;
        /* Lost the race: back off a little (more each round) and re-read;
         * the winner's ban will now show as running. */
        RLW_MC_ATOMIC_ADD(&st->shared->cas_retries, 1);
        out->verdict.kind = RLW_VERDICT_NONE;
        {
            struct timespec ts = {0, rlw_mc_cas_backoff_ns(tries)};
            nanosleep(&ts, NULL);
        }
    }
    return rc;
}

/* An operator's ban keeps the strike count (escalation is for what the
 * client did); an unban keeps the start (the ban lifted) and ends it now,
 * never before its start (a node whose clock is behind the one that
 * banned). Either record is kept like that of any ban, its strikes
 * outliving it, under the store's own policy. */
rlw_mc_change_t rlw_mc_change_record(rlw_mc_store_t *st, memcached_st *conn,
                                     const rlw_addr_t *client,
                                     const char *pseudo,
                                     rlw_journal_action_t action,
                                     int64_t ban_ms, int64_t now,
                                     rlw_ban_state_t *b)
{
    char key[RLW_MC_KEY_MAX];
    size_t klen = rlw_mc_ban_key(st->conf.prefix, pseudo, key);
    memcached_return_t rc = MEMCACHED_FAILURE;
    int tries;

    for (tries = 0; tries < RLW_MC_CAS_TRIES; tries++) {
        rlw_ban_state_t prev;
        uint64_t cas;
        int found;

        rc = rlw_mc_read_ban(st, conn, pseudo, key, klen, b, &cas, &found);
        if (rc != MEMCACHED_SUCCESS)
            break;
        if (action == RLW_JOURNAL_UNBAN) {
            if (!found || !rlw_ban_active(b, now))
                return RLW_MC_UNCHANGED;
            b->until_ms = now > b->start_ms ? now : b->start_ms;
        } else {
            prev = *b;
            b->start_ms = now;
            b->until_ms = now + ban_ms;
            rlw_mc_start_after(b, &prev);
        }
        rc = rlw_mc_write_ban(st, conn, pseudo, key, klen, b,
                              rlw_mc_record_keep(&st->conf.policy, b, now),
                              found, cas);
        if (rc == MEMCACHED_SUCCESS)
            return rlw_mc_journal_append(st, conn, action, client, b, now) == 0
                       ? RLW_MC_CHANGED
                       : RLW_MC_UNJOURNALED;
        if (!lost_race(rc))
            break;
    }
    if (!lost_race(rc))
        rlw_mc_note_failure(
            st, action == RLW_JOURNAL_UNBAN ? "manual unban" : "manual ban",
            conn, rc, now);
    return RLW_MC_FAILED;
}

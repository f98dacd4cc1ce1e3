/* rlw_mc_keyorder.c - the nodes' RateLimitWAFKey NAMEs compared through
 * memcached, by each node's background sync task.
 *
 * A key subject's prefix is its NAME's index in the configuration's order
 * (rlw_subject.h). Two nodes that give one index two NAMEs count the same
 * subject for different keys: they do not share those keys' counts, and a
 * ban one decides reaches the other through the journal under a subject
 * it never computes, so it is silently not enforced there. Each node that
 * counts some key therefore publishes its list and compares it with the
 * others' (rlw_keyorder.h: lists agree when every index they both have
 * names the same key; a NAME added at the end is no conflict).
 *
 * Two records in the journal's group, sealed like every record (the key
 * as associated data, rlw_crypto.h), read with one multi-get every
 * RLW_MC_KEYORDER_EVERY_MS:
 *   <prefix>o:ref  the reference list: added by the first node that finds
 *                  none; written back (cas) by every node that agrees with
 *                  it, which keeps it alive, replaced by its own list
 *                  when that is longer, so it ends up the longest list
 *                  of the agreeing nodes; gone RLW_MC_KEYORDER_TTL s after
 *                  the last of them stopped (a rolling change of the
 *                  order: once no node keeps the old list, the first node
 *                  to look publishes the new one).
 *   <prefix>o:alt  a list that disagrees with ref: set by such a node at
 *                  each check, so that the nodes that agree with ref see
 *                  the conflict too; deleted by that node once it agrees
 *                  (its configuration fixed), else gone
 *                  RLW_MC_KEYORDER_TTL s after the last disagreeing node
 *                  stopped.
 * A record carries the node name of its writer: a node never compares
 * itself with its own record (its configuration of before a reload), and
 * replaces its own reference when its list changed.
 * A node that disagrees with either declares the set-up problem key_order
 * (rlw_setup.h), with both lists, and logs it (RLW00123) at most every 10
 * minutes; the next check that finds agreement ends it (RLW00125). It
 * keeps serving either way. One multi-get and at most one write per check,
 * each bounded by RateLimitWAFMemcachedTimeout, in the background task:
 * never on a request (nor in the ops counter, which counts the attack
 * path's calls).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rlw_mc_internal.h"
#include "rlw_log.h"
#include "rlw_setup.h"

#define KEYORDER_SEALED_MAX (RLW_KEYORDER_TEXT_MAX + RLW_SEAL_OVERHEAD)

/* One of the two records as read. */
typedef struct ko_record {
    int present;      /* found */
    int bad;          /* ... but it did not open or parse */
    uint64_t cas;     /* to write over it */
    rlw_keyorder_t o; /* when present and not bad */
    size_t len;       /* of raw */
    unsigned char raw[KEYORDER_SEALED_MAX]; /* as read, to refresh it */
} ko_record_t;

void rlw_mc_keyorder_conf(rlw_mc_store_t *st)
{
    const char *node =
        st->conf.node && *st->conf.node ? st->conf.node : "unnamed";

    memset(&st->keyorder, 0, sizeof(st->keyorder));
    __atomic_store_n(&st->shared->keyorder_next_ms, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&st->shared->keyorder_differs, 0, __ATOMIC_RELAXED);
    if (!st->conf.nkey_names ||
        rlw_keyorder_set(&st->keyorder, st->conf.key_names, st->conf.nkey_names,
                         node) != 0)
        memset(&st->keyorder, 0, sizeof(st->keyorder));
}

static int open_record(const rlw_mc_store_t *st, const char *key, size_t klen,
                       const char *v, size_t vl, rlw_keyorder_t *o)
{
    char plain[RLW_KEYORDER_TEXT_MAX];
    size_t pl = 0;

    memset(o, 0, sizeof(*o));
    if (vl > KEYORDER_SEALED_MAX ||
        rlw_open(&st->keys, key, klen, (const unsigned char *)v, vl, plain,
                 sizeof(plain), &pl) != 0)
        return -1;
    return rlw_keyorder_decode(plain, pl, o);
}

/* One multi-get of both records into rec[0] (ref) and rec[1] (alt). */
static memcached_return_t read_both(rlw_mc_store_t *st, memcached_st *conn,
                                    const char *const *keys,
                                    const size_t *klens, ko_record_t rec[2])
{
    memcached_return_t rc;
    memcached_result_st *res;
    int i;

    memset(rec, 0, 2 * sizeof(*rec));
    rc = memcached_mget_by_key(conn, RLW_MC_JOURNAL_GROUP,
                               strlen(RLW_MC_JOURNAL_GROUP), keys, klens, 2);
    if (rc != MEMCACHED_SUCCESS)
        return rc;
    while ((res = memcached_fetch_result(conn, NULL, &rc)) != NULL) {
        const char *k = memcached_result_key_value(res);
        size_t kl = memcached_result_key_length(res);
        const char *v = memcached_result_value(res);
        size_t vl = memcached_result_length(res);

        for (i = 0; i < 2; i++) {
            if (kl != klens[i] || memcmp(k, keys[i], kl) || rec[i].present)
                continue;
            rec[i].present = 1;
            rec[i].cas = memcached_result_cas(res);
            rec[i].bad = open_record(st, keys[i], kl, v, vl, &rec[i].o) != 0;
            if (!rec[i].bad) {
                memcpy(rec[i].raw, v, vl);
                rec[i].len = vl;
            }
        }
        memcached_result_free(res);
    }
    return rlw_mc_outcome(conn, rc);
}

typedef enum { KO_ADD, KO_CAS, KO_SET } ko_how_t;

/* Writes val (len bytes; NULL: this node's list, sealed) under key. */
static memcached_return_t write_record(rlw_mc_store_t *st, memcached_st *conn,
                                       const char *key, size_t klen,
                                       const unsigned char *val, size_t len,
                                       ko_how_t how, uint64_t cas)
{
    char text[RLW_KEYORDER_TEXT_MAX];
    unsigned char sealed[KEYORDER_SEALED_MAX];
    const char *g = RLW_MC_JOURNAL_GROUP;
    size_t tl, sl = 0;
    time_t ttl = RLW_MC_KEYORDER_TTL;
    memcached_return_t rc;

    if (!val) {
        tl = rlw_keyorder_encode(&st->keyorder, text, sizeof(text));
        if (!tl || rlw_seal(&st->keys, key, klen, text, tl, sealed,
                            sizeof(sealed), &sl) != 0)
            return MEMCACHED_FAILURE;
        val = sealed;
        len = sl;
    }
    if (how == KO_ADD)
        rc = memcached_add_by_key(conn, g, strlen(g), key, klen,
                                  (const char *)val, len, ttl, 0);
    else if (how == KO_CAS)
        rc = memcached_cas_by_key(conn, g, strlen(g), key, klen,
                                  (const char *)val, len, ttl, 0, cas);
    else
        rc = memcached_set_by_key(conn, g, strlen(g), key, klen,
                                  (const char *)val, len, ttl, 0);
    return rc;
}

/* The other node's list disagrees with this node's: declared, logged. */
static void differs(rlw_mc_store_t *st, int64_t now, const rlw_keyorder_t *o)
{
    char mine[RLW_KEYORDER_LIST_LEN], theirs[RLW_KEYORDER_LIST_LEN];
    char detail[RLW_SETUP_DETAIL_LEN];
    rlw_setup_t *su = st->conf.setup;
    int due;

    snprintf(detail, sizeof(detail),
             "this node (%s) declares %s; node %s declares %s",
             st->keyorder.node,
             rlw_keyorder_list(&st->keyorder, mine, sizeof(mine)), o->node,
             rlw_keyorder_list(o, theirs, sizeof(theirs)));
    __atomic_store_n(&st->shared->keyorder_differs, 1, __ATOMIC_RELAXED);
    if (su) {
        rlw_setup_detail(su, RLW_SETUP_KEY_ORDER, detail);
        rlw_setup_note(su, RLW_SETUP_KEY_ORDER, now);
        due = rlw_setup_should_warn(su, RLW_SETUP_KEY_ORDER, now,
                                    RLW_SETUP_WARN_EVERY_MS);
    } else
        due = rlw_log_due(&st->shared->keyorder_logged_ms, now,
                          RLW_SETUP_WARN_EVERY_MS);
    if (due)
        rlw_log(RLW_LOG_WARN,
                "RLW00123: RateLimitWAFKey order differs between nodes: %s. "
                "A key's subjects carry its NAME's index: these nodes do "
                "not share those keys' counts, and a key ban one decides "
                "is not enforced by the other. Declare the same "
                "RateLimitWAFKey NAMEs in the same order on every node "
                "(NAMEs added at the end are fine), then apachectl "
                "graceful (logged at most every 10 minutes)",
                detail);
}

static void agrees(rlw_mc_store_t *st)
{
    char mine[RLW_KEYORDER_LIST_LEN];

    if (!__atomic_exchange_n(&st->shared->keyorder_differs, 0,
                             __ATOMIC_RELAXED))
        return;
    if (st->conf.setup)
        rlw_setup_end(st->conf.setup, RLW_SETUP_KEY_ORDER);
    rlw_log(RLW_LOG_NOTICE,
            "RLW00125: RateLimitWAFKey order agrees with the other nodes' "
            "again (this node declares %s)",
            rlw_keyorder_list(&st->keyorder, mine, sizeof(mine)));
}

/* 1 when rec was written by this node (RateLimitWAFNodeName): its own
 * list, maybe of an earlier configuration, never another node's. */
static int mine(const rlw_mc_store_t *st, const ko_record_t *rec)
{
    return !strcmp(rec->o.node, st->keyorder.node);
}

/* A write that lost to another node's (or found the record gone) is no
 * failure: the next check reads what won. */
static int failed(memcached_return_t rc)
{
    return rc != MEMCACHED_SUCCESS && rc != MEMCACHED_STORED &&
           rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS &&
           rc != MEMCACHED_NOTFOUND;
}

void rlw_mc_keyorder_check(rlw_mc_store_t *st, memcached_st *conn, int64_t now)
{
    char ref[RLW_MC_PREFIX_MAX + 8], alt[RLW_MC_PREFIX_MAX + 8];
    const char *keys[2] = {ref, alt};
    size_t klens[2];
    ko_record_t rec[2];
    const rlw_keyorder_t *other = NULL;
    memcached_return_t rc;
    int64_t next;

    if (!st->keyorder.n || !conn)
        return;
    next = __atomic_load_n(&st->shared->keyorder_next_ms, __ATOMIC_RELAXED);
    /* (A clock that went back checks at once.) */
    if (next && now < next && now >= next - RLW_MC_KEYORDER_EVERY_MS)
        return;
    __atomic_store_n(&st->shared->keyorder_next_ms,
                     now + RLW_MC_KEYORDER_EVERY_MS, __ATOMIC_RELAXED);
    klens[0] = (size_t)snprintf(ref, sizeof(ref), "%so:ref", st->conf.prefix);
    klens[1] = (size_t)snprintf(alt, sizeof(alt), "%so:alt", st->conf.prefix);
    rc = read_both(st, conn, keys, klens, rec);
    if (rc != MEMCACHED_SUCCESS) {
        rlw_mc_note_failure(st, "reading the nodes' key order", conn, rc, now);
        return;
    }
    if (rec[0].bad || rec[1].bad) {
        RLW_MC_ATOMIC_ADD(&st->shared->bad_records, 1);
        if (rlw_log_due(&st->shared->keyorder_logged_ms, now,
                        RLW_MC_LOG_INTERVAL_MS))
            rlw_log(RLW_LOG_WARN,
                    "RLW00124: memcached record %s does not open or parse "
                    "(another secret, or tampering); replaced by this "
                    "node's key order",
                    rec[0].bad ? ref : alt);
    }
    if (!rec[0].present || rec[0].bad ||
        (mine(st, &rec[0]) && !rlw_keyorder_agree(&st->keyorder, &rec[0].o))) {
        /* None yet, or this node's own before its configuration changed:
         * this node's list is the reference (the first of several nodes
         * wins; the others compare at their next check). */
        rc = write_record(st, conn, ref, klens[0], NULL, 0,
                          rec[0].present ? KO_CAS : KO_ADD, rec[0].cas);
    } else if (rlw_keyorder_agree(&st->keyorder, &rec[0].o)) {
        /* Agreed: keep it alive, or make it this longer list. */
        if (st->keyorder.n > rec[0].o.n)
            rc = write_record(st, conn, ref, klens[0], NULL, 0, KO_CAS,
                              rec[0].cas);
        else
            rc = write_record(st, conn, ref, klens[0], rec[0].raw, rec[0].len,
                              KO_CAS, rec[0].cas);
    } else {
        other = &rec[0].o;
        rc = write_record(st, conn, alt, klens[1], NULL, 0, KO_SET, 0);
    }
    if (!other && rec[1].present && !rec[1].bad && !mine(st, &rec[1]) &&
        !rlw_keyorder_agree(&st->keyorder, &rec[1].o))
        other = &rec[1].o;
    else if (!other && rec[1].bad && !failed(rc))
        rc = write_record(st, conn, alt, klens[1], NULL, 0, KO_SET, 0);
    else if (!other && rec[1].present && mine(st, &rec[1]) && !failed(rc)) {
        /* This node's list of before its configuration changed, which
         * now agrees: the nodes that agree with the reference need not
         * wait for it to expire. (Another node's list set in between
         * is deleted too; it sets it again at its next check.) */
        rc = memcached_delete_by_key(conn, RLW_MC_JOURNAL_GROUP,
                                     strlen(RLW_MC_JOURNAL_GROUP), alt,
                                     klens[1], 0);
    }
    if (failed(rc)) {
        rlw_mc_note_failure(st, "publishing the node's key order", conn, rc,
                            now);
        return;
    }
    rlw_mc_note_success(st, now);
    if (other)
        differs(st, now, other);
    else
        agrees(st);
}

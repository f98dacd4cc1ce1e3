/* rlw_store_mc.c - the cluster store: exact counts and bans shared by every
 * WAF node through a memcached pool. Its creation, its operations, and
 * its registry entry; the work is done by its parts (rlw_mc_internal.h).
 *
 * httpd-free (APR, libmemcached, OpenSSL). Design (docs/cluster.md):
 *
 * - Counting (rlw_mc_count.c): one atomic increment of the client's
 *   current bucket counter and one multi-get of its older buckets and its
 *   ban record, on the server its pseudonym hashes to. A ban starts a new
 *   count: buckets up to the one holding the ban's start are left out.
 * - Deciding (rlw_mc_ban.c): whoever sees count >= threshold decides on the
 *   record it just read and writes it back with cas; one writer wins and
 *   appends the ban to the journal.
 * - Propagating (rlw_mc_journal.c): each node polls the journal and copies
 *   bans into its own shared memory, where clean requests look them up
 *   without any network round trip.
 * - Privacy. Keys carry only HMAC pseudonyms; what is read back is sealed
 *   with AES-256-GCM, the key as associated data (rlw_crypto.h).
 * - Faults (rlw_mc_conn.c). Short timeouts bound every call. When memcached
 *   fails, the attack is counted in the node's shared memory instead (the
 *   shm store also holds the node's ban cache), the degradation is logged
 *   once per interval, and the next successful call returns to the pool by
 *   itself.
 *
 * Per process: one memcached_pool_st (connections for the threads of one
 * child), created in child_init, and one connection for sync().
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_shm.h>

#include <pthread.h>

#include "rlw_mc_internal.h"
#include "rlw_log.h"

const char *rlw_store_mc_check_config(apr_pool_t *p, const char *config)
{
    char err[512];

    if (libmemcached_check_configuration(config, strlen(config), err,
                                         sizeof(err)) != MEMCACHED_SUCCESS)
        return apr_pstrdup(p, err[0] ? err : "invalid configuration");
    return NULL;
}

int rlw_store_printable(const char *s, size_t max, int space_ok)
{
    size_t n = 0;

    for (; *s; s++, n++) {
        if (*s < (space_ok ? ' ' : '!') || *s > '~')
            return 0;
    }
    return n >= 1 && n <= max;
}

/* --- the store operations ---------------------------------------------- */

static int mc_banned(rlw_store_t *base, const rlw_addr_t *client, int64_t now,
                     int64_t *until)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;

    /* Local only: bans decided anywhere reach this node's shared memory
     * through sync(), so a clean request never waits for the network. */
    return st->local ? st->local->banned(st->local, client, now, until) : 0;
}

/* As banned(): this node's table holds every ban it knows of, learnt from
 * memcached by sync() or decided here. */
static int mc_may_ban(rlw_store_t *base, unsigned kind, int64_t now)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;

    if (!st->local)
        return 0; /* banned() answers 0 too */
    return !st->local->may_ban || st->local->may_ban(st->local, kind, now);
}

/* As banned(): every ban of the cluster reaches this node's table. */
static void mc_net_lengths(rlw_store_t *base, unsigned family,
                           uint64_t lens[RLW_NET_LEN_WORDS])
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;

    if (st->local && st->local->net_lengths)
        st->local->net_lengths(st->local, family, lens);
    else
        memset(lens, 0, RLW_NET_LEN_WORDS * sizeof(*lens));
}

/* What this node's table holds (its ban cache, the count it falls back
 * to); the count the cluster shares is rlw_store_mc_lookup()'s, which
 * goes to the network. */
static apr_status_t mc_get(rlw_store_t *base, const rlw_addr_t *client,
                           int64_t now, rlw_client_info_t *out)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;

    if (!st->local)
        return APR_NOTFOUND;
    return st->local->get(st->local, client, now, out);
}

static apr_status_t fallback(rlw_mc_store_t *st, const rlw_addr_t *client,
                             rlw_class_t cls, const rlw_policy_t *p,
                             const rlw_hit_t *hit, int64_t now,
                             rlw_attack_t *out)
{
    RLW_MC_ATOMIC_ADD(&st->shared->fallbacks, 1);
    return st->local->attack(st->local, client, cls, p, hit, now, out);
}

/* The record did not open: where the last ban started is unknown, so the
 * count may include attacks a ban already punished. Never ban on it; write
 * a valid record that starts a new count with the current bucket (which
 * holds this attack). */
static void replace_bad_record(rlw_mc_store_t *st, memcached_st *conn,
                               const char *pseudo, const char *key, size_t klen,
                               const rlw_mc_read_t *r, const rlw_policy_t *p,
                               int64_t now)
{
    int64_t width = rlw_window_width(p->window_ms);
    rlw_ban_state_t rec = r->ban;

    rec.start_ms = (now / width) * width - 1;
    if (rec.start_ms < 0)
        rec.start_ms = 0;
    rec.until_ms = rec.start_ms;
    rlw_mc_write_ban(st, conn, pseudo, key, klen, &rec,
                     rlw_mc_record_keep(p, &rec, now), r->found, r->cas);
}

static apr_status_t mc_attack(rlw_store_t *base, const rlw_addr_t *client,
                              rlw_class_t cls, const rlw_policy_t *p,
                              const rlw_hit_t *hit, int64_t now,
                              rlw_attack_t *out)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    char pseudo[RLW_PSEUDO_LEN + 1];
    char key[RLW_MC_KEY_MAX];
    size_t klen;
    memcached_st *conn;
    memcached_return_t rc;
    uint32_t counts[RLW_PAIRS_MAX] = {0}, prev[RLW_PAIRS_MAX] = {0};
    int64_t until = 0;
    rlw_mc_read_t r;
    unsigned i;
    int srv;

    memset(out, 0, sizeof(*out));
    if (!st->local)
        return APR_ENOTIMPL; /* an operator's store counts nothing */
    /* Known locally as banned (an in-flight request): nothing to count. */
    if (st->local->banned(st->local, client, now, &until)) {
        out->verdict.kind = RLW_VERDICT_ALREADY_BANNED;
        out->ban.until_ms = until;
        return APR_SUCCESS;
    }
    if (rlw_pseudonym(&st->keys, client, pseudo) != 0)
        return fallback(st, client, cls, p, hit, now, out);
    if (!(conn = rlw_mc_pop(st))) {
        rlw_mc_note_failure(st, "taking a connection from the pool", NULL,
                            MEMCACHED_FAILURE, now);
        return fallback(st, client, cls, p, hit, now, out);
    }
    /* Its server timed out lately: counted here at once, instead of a
     * timeout per attack (rlw_mc_hold()). */
    if (rlw_mc_held(st, (srv = rlw_mc_server_of(conn, pseudo)), now)) {
        rlw_mc_push(st, &conn);
        return fallback(st, client, cls, p, hit, now, out);
    }
    klen = rlw_mc_ban_key(st->conf.prefix, pseudo, key);
    rc = rlw_mc_count_attack(st, conn, pseudo, key, klen, p, now, counts, &r);
    if (rc != MEMCACHED_SUCCESS) {
        rlw_mc_note_failure(st, "counting an attack", conn, rc, now);
        rlw_mc_hold(st, srv, rc, now);
        rlw_mc_push(st, &conn);
        return fallback(st, client, cls, p, hit, now, out);
    }
    if (r.bad_ban) {
        replace_bad_record(st, conn, pseudo, key, klen, &r, p, now);
        out->count = 0;
    } else if (rlw_ban_active(&r.ban, now)) {
        /* Banned elsewhere and not yet learned through the journal: learn
         * it now (the deciding node's name comes with the journal). */
        rlw_store_shm_learn(st->local, client, &r.ban, "", now);
        out->verdict.kind = RLW_VERDICT_ALREADY_BANNED;
        out->verdict.strike = r.ban.strikes;
        out->ban = r.ban;
    } else {
        out->count = counts[0];
        memcpy(out->counts, counts, sizeof(out->counts));
        /* Top rules stay per node: only the winner's view reaches the
         * event. */
        rlw_store_shm_note_rules(st->local, client, hit, now, out->rules);
        if (rlw_policy_reached(p, counts))
            rc = rlw_mc_decide(st, conn, client, pseudo, key, klen, &r, cls, p,
                               counts, now, out);
    }
    if (rc != MEMCACHED_SUCCESS) {
        rlw_ban_state_t b;

        rlw_mc_note_failure(st, "reading or writing a ban record", conn, rc,
                            now);
        rlw_mc_hold(st, srv, rc, now);
        rlw_mc_push(st, &conn);
        /* The cluster count reached the threshold but the ban record is out
         * of reach: decide on that count with this node's strike memory
         * none, so that the client is still banned here (the other nodes
         * ban it when their own counts get there). */
        RLW_MC_ATOMIC_ADD(&st->shared->fallbacks, 1);
        memset(&b, 0, sizeof(b));
        for (i = 0; i < RLW_PAIRS_MAX; i++)
            prev[i] = counts[i] ? counts[i] - 1 : 0;
        out->verdict = rlw_decide_pairs(p, cls, &b, prev, counts, now);
        out->count = counts[out->verdict.pair];
        out->ban = b;
        if (out->verdict.kind == RLW_VERDICT_BAN)
            rlw_store_shm_learn(st->local, client, &b, st->conf.node, now);
        return APR_SUCCESS;
    }
    rlw_mc_note_success(st, now);
    rlw_mc_push(st, &conn);
    return APR_SUCCESS;
}

/* One subject of attack_many(), counted in a thread of its own. */
typedef struct mc_job {
    rlw_store_t *base;
    const rlw_count_t *what;
    const rlw_hit_t *hit;
    int64_t now;
    const void *log_ctx; /* the caller's (rlw_log.h), for log lines */
    rlw_attack_t *out;
    apr_status_t rv;
} mc_job_t;

static void *mc_job_run(void *arg)
{
    mc_job_t *j = arg;

    rlw_log_ctx_set(j->log_ctx);
    j->rv = mc_attack(j->base, j->what->subject, j->what->cls, j->what->policy,
                      j->hit, j->now, j->out);
    return NULL;
}

/* Each subject's counting is two round trips to the server its pseudonym
 * hashes to, on a connection of its own (the pool holds
 * RLW_COUNT_MAX_SUBJECTS per thread):
 * the first subject's in the calling thread, the others' at the same time
 * in short-lived threads, so an attack counted for a client and its
 * network costs the time of one subject's round trips, not the sum. A
 * thread that cannot be made counts its subject here, after the others. */
static void mc_attack_many(rlw_store_t *base, int n, const rlw_count_t *what,
                           const rlw_hit_t *hit, int64_t now, rlw_attack_t *out,
                           apr_status_t *rv)
{
    mc_job_t jobs[RLW_COUNT_MAX_SUBJECTS];
    pthread_t tid[RLW_COUNT_MAX_SUBJECTS];
    int started[RLW_COUNT_MAX_SUBJECTS];
    const void *ctx = rlw_log_ctx_set(NULL);
    int i;

    rlw_log_ctx_set(ctx);
    if (n > RLW_COUNT_MAX_SUBJECTS)
        n = RLW_COUNT_MAX_SUBJECTS;
    for (i = 1; i < n; i++) {
        jobs[i] = (mc_job_t){base, &what[i], hit, now, ctx, &out[i], 0};
        started[i] = pthread_create(&tid[i], NULL, mc_job_run, &jobs[i]) == 0;
    }
    rv[0] = mc_attack(base, what[0].subject, what[0].cls, what[0].policy, hit,
                      now, &out[0]);
    for (i = 1; i < n; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            mc_job_run(&jobs[i]);
        rv[i] = jobs[i].rv;
    }
}

/* ban() and unban() change the client's record in memcached and journal
 * the change. What reaches the nodes decides the answer: APR_SUCCESS when
 * the journal has it, APR_INCOMPLETE when the change is made (here, and in
 * the record when memcached took it) but no journal entry tells the other
 * nodes. An operator's store (no local table) has nothing to fall back to:
 * a memcached failure is APR_EGENERAL. */
static apr_status_t mc_ban(rlw_store_t *base, const rlw_addr_t *client,
                           int64_t ban_ms, int64_t now, rlw_ban_state_t *out)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    char pseudo[RLW_PSEUDO_LEN + 1];
    memcached_st *conn = NULL;
    rlw_mc_change_t done = RLW_MC_FAILED;
    rlw_ban_state_t b;
    apr_status_t rv;

    memset(&b, 0, sizeof(b));
    if (rlw_pseudonym(&st->keys, client, pseudo) != 0 ||
        !(conn = rlw_mc_pop(st)))
        rlw_mc_note_failure(st, "manual ban", NULL, MEMCACHED_FAILURE, now);
    else
        done = rlw_mc_change_record(st, conn, client, pseudo, RLW_JOURNAL_BAN,
                                    ban_ms, now, &b);
    /* Every failure is noted (rlw_mc_ban_record()) while the connection is
     * still held: once given back it may be another thread's. */
    rlw_mc_push(st, &conn);
    if (done == RLW_MC_FAILED) {
        if (!st->local)
            return APR_EGENERAL;
        rv = st->local->ban(st->local, client, ban_ms, now, out);
        return rv == APR_SUCCESS ? APR_INCOMPLETE : rv;
    }
    if (st->local)
        rlw_store_shm_learn(st->local, client, &b, st->conf.node, now);
    if (out)
        *out = b;
    return done == RLW_MC_CHANGED ? APR_SUCCESS : APR_INCOMPLETE;
}

/* APR_NOTFOUND when neither this node's table nor the record holds a
 * running ban. */
static apr_status_t mc_unban(rlw_store_t *base, const rlw_addr_t *client,
                             int64_t now)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    char pseudo[RLW_PSEUDO_LEN + 1];
    memcached_st *conn = NULL;
    rlw_mc_change_t done = RLW_MC_FAILED;
    rlw_ban_state_t b;
    apr_status_t local =
        st->local ? st->local->unban(st->local, client, now) : APR_NOTFOUND;

    if (rlw_pseudonym(&st->keys, client, pseudo) == 0 &&
        (conn = rlw_mc_pop(st)))
        done = rlw_mc_change_record(st, conn, client, pseudo, RLW_JOURNAL_UNBAN,
                                    0, now, &b);
    rlw_mc_push(st, &conn);
    switch (done) {
    case RLW_MC_CHANGED:
        return APR_SUCCESS;
    case RLW_MC_UNJOURNALED:
        return APR_INCOMPLETE;
    case RLW_MC_UNCHANGED:
        return local;
    case RLW_MC_FAILED:
    default:
        if (!st->local)
            return APR_EGENERAL;
        /* Ended here only: the others keep it until they hear. */
        return local == APR_SUCCESS ? APR_INCOMPLETE : local;
    }
}

static void mc_visit(rlw_store_t *base, int64_t now, int64_t window_ms,
                     rlw_visit_fn *fn, void *baton)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;

    /* Every ban of the cluster reaches the node's table through sync(). */
    if (st->local)
        st->local->visit(st->local, now, window_ms, fn, baton);
}

static void mc_expired(rlw_store_t *base, int64_t now, int64_t window_ms,
                       rlw_visit_fn *fn, void *baton)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;

    if (st->local)
        st->local->expired(st->local, now, window_ms, fn, baton);
}

static void mc_stats(rlw_store_t *base, rlw_store_stats_t *out)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;

    if (st->local)
        st->local->stats(st->local, out);
    else
        memset(out, 0, sizeof(*out));
}

void rlw_store_mc_counters(rlw_store_t *base, rlw_store_mc_counters_t *out)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    rlw_mc_shared_t *sh = st->shared;

    out->degraded_since_ms =
        __atomic_load_n(&sh->degraded_since_ms, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&sh->errors, __ATOMIC_RELAXED);
    out->fallbacks = __atomic_load_n(&sh->fallbacks, __ATOMIC_RELAXED);
    out->cas_retries = __atomic_load_n(&sh->cas_retries, __ATOMIC_RELAXED);
    out->bad_records = __atomic_load_n(&sh->bad_records, __ATOMIC_RELAXED);
    out->journal_seen = __atomic_load_n(&sh->journal_seen, __ATOMIC_RELAXED);
    out->ops = __atomic_load_n(&sh->ops, __ATOMIC_RELAXED);
}

/* Counts are shared by the nodes; the servers are the configuration's, as
 * written there (what an operator recognises). */
static void mc_health(rlw_store_t *base, apr_pool_t *p, rlw_store_health_t *out)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    rlw_store_mc_counters_t n;

    rlw_store_mc_counters(base, &n);
    memset(out, 0, sizeof(*out));
    out->shared = 1;
    out->degraded_since_ms = n.degraded_since_ms;
    out->servers = rlw_mc_servers(p, st->conf.config);
    out->errors = n.errors;
    out->fallbacks = n.fallbacks;
    out->cas_retries = n.cas_retries;
    out->bad_records = n.bad_records;
    out->journal_seen = n.journal_seen;
    out->ops = n.ops;
}

static apr_status_t mc_child_init(rlw_store_t *base, apr_pool_t *pchild)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;
    memcached_st *master;

    if (st->local)
        st->local->child_init(st->local, pchild);
    master = rlw_mc_connect(st);
    if (!master)
        return APR_ENOMEM;
    /* One pool per child, as many connections as it has threads: a worker
     * never waits for another one's connection. */
    st->pool = memcached_pool_create(
        master, 1, (uint32_t)(st->conf.pool_size > 0 ? st->conf.pool_size : 1));
    if (!st->pool) {
        memcached_free(master);
        return APR_ENOMEM;
    }
    return APR_SUCCESS;
}

static void set_ops(rlw_mc_store_t *st)
{
    st->base.name = "memcached";
    st->base.child_init = mc_child_init;
    st->base.banned = mc_banned;
    st->base.may_ban = mc_may_ban;
    st->base.net_lengths = mc_net_lengths;
    st->base.get = mc_get;
    st->base.attack = mc_attack;
    st->base.attack_many = mc_attack_many;
    st->base.unban = mc_unban;
    st->base.stats = mc_stats;
    st->base.health = mc_health;
    st->base.sync = rlw_mc_sync;
    st->base.ban = mc_ban;
    st->base.visit = mc_visit;
    st->base.expired = mc_expired;
}

const char *rlw_store_mc_create(apr_pool_t *pool, rlw_store_t *local,
                                const rlw_store_mc_conf_t *conf,
                                const rlw_keys_t *keys, rlw_store_t **out)
{
    /* The layout in the key, as for the shm table: a module upgraded by a
     * graceful restart never takes the earlier one's store for its own
     * (rlw_policy_t, which the store holds, grew with threshold pairs). */
    const char *ukey = apr_psprintf(pool, "rlw_store_mc:%lu:%lu",
                                    (unsigned long)sizeof(rlw_mc_store_t),
                                    (unsigned long)sizeof(rlw_mc_shared_t));
    rlw_mc_store_t *st = NULL;
    apr_shm_t *shm;
    apr_status_t rv;
    const char *err;

    if ((err = rlw_store_mc_check_config(pool, conf->config)))
        return err;
    /* Like the shm table, the node's shared counters and journal position
     * outlive a graceful restart; the configuration is taken anew. */
    apr_pool_userdata_get((void **)&st, ukey, pool);
    if (!st) {
        st = apr_pcalloc(pool, sizeof(*st));
        rv = apr_shm_create(&shm, sizeof(rlw_mc_shared_t), NULL, pool);
        if (rv != APR_SUCCESS)
            return "cannot create shared memory for the memcached store";
        st->shared = apr_shm_baseaddr_get(shm);
        memset(st->shared, 0, sizeof(rlw_mc_shared_t));
        apr_pool_userdata_set(st, ukey, apr_pool_cleanup_null, pool);
    }
    st->local = local;
    st->conf = *conf;
    st->conf.config = apr_pstrdup(pool, conf->config);
    st->conf.prefix = apr_pstrdup(pool, conf->prefix);
    st->conf.node = apr_pstrdup(pool, conf->node);
    st->keys = *keys;
    /* Copied into st->keyorder: the configuration's array is not kept. */
    rlw_mc_keyorder_conf(st);
    st->conf.key_names = NULL;
    st->conf.nkey_names = 0;
    if (local)
        rlw_store_shm_set_node(local, conf->node);
    st->pool = NULL;
    /* mod_watchdog stopped the previous cycle's sync task before this. */
    if (st->sync_conn)
        memcached_free(st->sync_conn);
    st->sync_conn = NULL;
    set_ops(st);
    *out = &st->base;
    return NULL;
}

void rlw_store_mc_close(rlw_store_t *base)
{
    rlw_mc_store_t *st = (rlw_mc_store_t *)base;

    if (st->pool) {
        memcached_st *master = memcached_pool_destroy(st->pool);

        if (master)
            memcached_free(master);
        st->pool = NULL;
    }
    if (st->sync_conn) {
        memcached_free(st->sync_conn);
        st->sync_conn = NULL;
    }
}

/* The registry's entry (rlw_store_registry.c): the node's shm table first
 * (its ban cache and fallback counter), then the store on top of it, with
 * the policy the module made for it. */
static const char *mc_backend_create(apr_pool_t *pool,
                                     const rlw_store_params_t *params,
                                     rlw_store_t **out)
{
    const rlw_store_backend_t *shm = rlw_store_backend_find("shm");
    rlw_store_t *local = NULL;
    rlw_store_mc_conf_t conf;
    const char *err;

    if ((err = shm->create(pool, params, &local)))
        return err;
    memset(&conf, 0, sizeof(conf));
    conf.config = params->config;
    conf.prefix = params->prefix;
    conf.node = params->node;
    conf.timeout_ms = params->timeout_ms;
    conf.policy = params->policy;
    conf.retry_secs = (int)((params->retry_ms + 999) / 1000);
    conf.key_names = params->key_names;
    conf.nkey_names = params->nkey_names;
    conf.setup = params->setup;
    /* Up to RLW_COUNT_MAX_SUBJECTS connections per thread: an attack
     * counts its client, its network and its request keys at once
     * (mc_attack_many()); the pool opens a connection only when used. */
    conf.pool_size = RLW_COUNT_MAX_SUBJECTS *
                     (params->pool_size > 0 ? params->pool_size : 1);
    return rlw_store_mc_create(pool, local, &conf, params->keys, out);
}

const rlw_store_backend_t rlw_store_backend_memcached = {
    "memcached", 1,
    "a libmemcached configuration string, e.g. "
    "\"--SERVER=10.0.0.1:11211 --SERVER=10.0.0.2:11211\"",
    rlw_store_mc_check_config, mc_backend_create};

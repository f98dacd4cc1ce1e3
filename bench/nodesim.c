/* bench/nodesim.c - plays N WAF nodes of one cluster against a memcached
 * pool, without httpd, to measure the memcached store at scale.
 *
 * Each simulated node is a process, as a real node's store is: its own shm
 * table (the ban cache), its own memcached store (rlw_store_mc_create(),
 * child_init()), THREADS attacking threads sharing its connection pool and
 * one sync thread calling sync() every SYNC_MS (with a random phase, as
 * the watchdogs of independent nodes have). Only the public functions of
 * rlw_store.h and rlw_store_mc.h are used, so the driver follows the
 * store's internals. The nodes share random keys made for the run (no
 * secret file): the store pseudonymises and seals as it does in httpd.
 *
 * Modes (docs/scale.md shows what they measured):
 *   spray       for SECONDS, every attack from a new client (below the
 *               threshold): the counting path alone; attacks/s
 *   botnet      for SECONDS, attacks from CLIENTS shared addresses chosen
 *               at random; a client this node knows to be banned is
 *               skipped, as the module answers it from shm: counting,
 *               bans, journal and sync together; attacks/s, bans
 *   exact       CLIENTS clients, each attacked exactly K times spread over
 *               the nodes (attack i of client c on node (c + i) mod N, all
 *               nodes at once): K = T for half of them, T - 1 for a quarter,
 *               2T for a quarter. Checks: one ban per client with K >= T,
 *               none below, the count of a K = T ban equal to T, and every
 *               node knows every ban after its next sync
 *   propagate   REPEATS times: node 0 bans a new client (T attacks); the
 *               time until each other node's banned() is true after one of
 *               its syncs
 * Output: human lines, then one "result ..." line of key=value pairs.
 *
 * Usage: nodesim --config "--SERVER=127.0.0.1:11211 ..."
 *                [--nodes N] [--threads N] [--seconds S] [--clients C]
 *                [--threshold T] [--sync-ms I] [--repeats R]
 *                [--prefix P] [--timeout-ms MS] [--table N] MODE
 * --table is each node's RateLimitWAFTableSize (default 100000); a spray
 * that outgrows it logs the table-full notice, counted apart. exact checks
 * every node's bans --settle-ms after the last attack (default: two sync
 * periods and 100 ms).
 * bench/scale.sh runs the series of docs/scale.md.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "rlw_store_mc.h"
#include "rlw_store_shm.h"
#include "rlw_crypto.h"
#include "rlw_log.h"
#include "nodesim.h"

static opts_t o;
static shared_t *sh;
static rlw_keys_t sim_keys; /* set before fork */

/* One simulated node's state, in its own process. */
typedef struct node {
    int idx;
    rlw_store_t *st;
    rlw_policy_t pol;
    volatile int stop_sync;
    uint64_t seed;
} node_t;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("nodesim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: cheap, per thread, good enough to pick clients */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* Client n as an IPv4 address in 10.0.0.0/8 (+ base). */
static void client_addr(uint32_t n, rlw_addr_t *out)
{
    uint32_t a = (10u << 24) + n; /* n < 2^28: 10.0.0.0 to 25.255.255.255 */

    memset(out, 0, sizeof(*out));
    out->family = RLW_AF_INET;
    out->prefix = 32;
    out->bytes[0] = (uint8_t)(a >> 24);
    out->bytes[1] = (uint8_t)(a >> 16);
    out->bytes[2] = (uint8_t)(a >> 8);
    out->bytes[3] = (uint8_t)a;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Core log lines: counted; the first few printed. */
static void log_line(void *baton, rlw_log_level_t level,
                     const rlw_log_src_t *src, const char *msg)
{
    node_t *n = baton;

    (void)src;
    if (level > RLW_LOG_WARN)
        return;
    /* the node's own table full: the shm store's eviction notice, counted
     * apart (a sizing matter, --table, not an error) */
    if (strstr(msg, "RLW00020")) {
        __atomic_add_fetch(&sh->node[n->idx].log_evict, 1, __ATOMIC_RELAXED);
        return;
    }
    if (__atomic_add_fetch(&sh->node[n->idx].log_warn, 1, __ATOMIC_RELAXED) <=
        3)
        fprintf(stderr, "nodesim: node %d: %s\n", n->idx, msg);
}

/* Counts the journal's entries (rlw_store_mc_journal() callback). */
static int count_entry(void *baton, uint64_t seq, const struct rlw_journal *j)
{
    (void)seq;
    (void)j;
    ++*(uint64_t *)baton;
    return 0;
}

/* --- the sync thread ----------------------------------------------------- */

static void *sync_thread(void *arg)
{
    node_t *n = arg;
    node_out_t *out = &sh->node[n->idx];
    int64_t next =
        rlw_now_ms() + (int64_t)(next_rand(&n->seed) % (uint64_t)o.sync_ms);

    while (!n->stop_sync) {
        int64_t now = rlw_now_ms(), t0;
        int r;

        if (now < next) {
            sleep_ms(next - now > 5 ? 5 : next - now);
            continue;
        }
        next += o.sync_ms;
        if (next < now)
            next = now + o.sync_ms;
        t0 = mono_us();
        n->st->sync(n->st, now);
        out->sync_us += (uint64_t)(mono_us() - t0);
        out->syncs++;
        r = sh->cur;
        if (o.mode == M_PROPAGATE && r >= 0 && !sh->seen_ms[r][n->idx]) {
            rlw_addr_t c;
            int64_t until, seen = rlw_now_ms();

            client_addr(0x100000u + (uint32_t)r, &c);
            if (n->st->banned(n->st, &c, seen, &until))
                sh->seen_ms[r][n->idx] = seen;
        }
    }
    return NULL;
}

/* --- attacking ------------------------------------------------------------ */

typedef struct worker {
    node_t *n;
    int tid;
    uint64_t attacks, bans, already, below, skipped;
} worker_t;

static void count(worker_t *w, const rlw_attack_t *a)
{
    w->attacks++;
    if (a->verdict.kind == RLW_VERDICT_BAN)
        w->bans++;
    else if (a->verdict.kind == RLW_VERDICT_ALREADY_BANNED)
        w->already++;
    else
        w->below++;
}

static void *attack_thread(void *arg)
{
    worker_t *w = arg;
    node_t *n = w->n;
    uint64_t seed = n->seed ^ ((uint64_t)(w->tid + 1) << 32);
    int64_t end = sh->go_ms + (int64_t)o.seconds * 1000;
    uint32_t k = 0;
    /* spray: a range of 2^18 new clients per thread */
    uint32_t spray_base =
        0x400000u + (((uint32_t)n->idx * MAX_THREADS + (uint32_t)w->tid) << 18);

    while (rlw_now_ms() < end) {
        rlw_addr_t c;
        rlw_attack_t a;
        int64_t now, until;
        int i;

        /* a batch between clock reads */
        for (i = 0; i < 16; i++) {
            if (o.mode == M_SPRAY)
                client_addr(spray_base + (k++ & 0x3ffffu), &c);
            else
                client_addr((uint32_t)(next_rand(&seed) % (uint64_t)o.clients),
                            &c);
            now = rlw_now_ms();
            if (o.mode == M_BOTNET && n->st->banned(n->st, &c, now, &until)) {
                w->skipped++;
                continue;
            }
            memset(&a, 0, sizeof(a));
            if (n->st->attack(n->st, &c, RLW_CLASS_NORMAL, &n->pol, NULL, now,
                              &a) == APR_SUCCESS)
                count(w, &a);
        }
    }
    return NULL;
}

/* exact: this node's share of every client's attacks, round by round, so
 * that the nodes attack the same client at about the same time. */
static void *exact_thread(void *arg)
{
    worker_t *w = arg;
    node_t *n = w->n;
    uint32_t kmax = 2 * o.threshold, i;
    int c;

    for (i = 0; i < kmax; i++) {
        for (c = w->tid; c < o.clients; c += o.threads) {
            uint32_t k = c % 4 == 2   ? o.threshold - 1
                         : c % 4 == 3 ? 2 * o.threshold
                                      : o.threshold;
            rlw_addr_t addr;
            rlw_attack_t a;

            if (i >= k || (int)((c + i) % (uint32_t)o.nodes) != n->idx)
                continue;
            client_addr((uint32_t)c, &addr);
            memset(&a, 0, sizeof(a));
            if (n->st->attack(n->st, &addr, RLW_CLASS_NORMAL, &n->pol, NULL,
                              rlw_now_ms(), &a) != APR_SUCCESS)
                continue;
            count(w, &a);
            if (a.verdict.kind == RLW_VERDICT_BAN) {
                __atomic_add_fetch(&sh->bans[c], 1, __ATOMIC_RELAXED);
                sh->ban_count[c] = a.count;
            } else if (a.verdict.kind == RLW_VERDICT_ALREADY_BANNED)
                __atomic_add_fetch(&sh->already[c], 1, __ATOMIC_RELAXED);
        }
    }
    return NULL;
}

/* propagate, node 0: bans a new client per repeat, once every node has
 * seen the previous one. */
static void propagate_decider(node_t *n, worker_t *w)
{
    int r, i;

    for (r = 0; r < o.repeats; r++) {
        rlw_addr_t c;
        int64_t t0;
        uint32_t k;

        client_addr(0x100000u + (uint32_t)r, &c);
        sh->ban_ms[r] = 0;
        __atomic_store_n(&sh->cur, r, __ATOMIC_SEQ_CST);
        for (k = 0; k < o.threshold; k++) {
            rlw_attack_t a;

            memset(&a, 0, sizeof(a));
            if (n->st->attack(n->st, &c, RLW_CLASS_NORMAL, &n->pol, NULL,
                              rlw_now_ms(), &a) != APR_SUCCESS)
                continue;
            count(w, &a);
            if (a.verdict.kind == RLW_VERDICT_BAN)
                sh->ban_ms[r] = rlw_now_ms();
        }
        /* wait for every node (at most 20 sync intervals) */
        t0 = rlw_now_ms();
        for (;;) {
            int all = 1;

            for (i = 1; i < o.nodes; i++)
                if (!sh->seen_ms[r][i])
                    all = 0;
            if (all || rlw_now_ms() - t0 > 20 * o.sync_ms + 2000)
                break;
            sleep_ms(2);
        }
        /* next ban at another phase of the nodes' sync timers */
        sleep_ms((int64_t)(next_rand(&n->seed) % (uint64_t)o.sync_ms));
    }
    __atomic_store_n(&sh->cur, -1, __ATOMIC_SEQ_CST);
}

/* --- one node ------------------------------------------------------------- */

static int node_main(int idx)
{
    apr_pool_t *pool;
    rlw_keys_t keys;
    rlw_store_t *local;
    rlw_store_mc_conf_t store_conf;
    rlw_store_mc_counters_t ctr;
    node_out_t *out = &sh->node[idx];
    pthread_t sync_tid, tids[MAX_THREADS];
    worker_t ws[MAX_THREADS];
    node_t n;
    char name[32];
    const char *e;
    int t, nthreads = o.mode == M_PROPAGATE ? 1 : o.threads;
    uint64_t seen0;

    memset(&n, 0, sizeof(n));
    n.idx = idx;
    n.seed = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)getpid() << 20) ^
             (uint64_t)rlw_now_ms();
    rlw_log_set(log_line, &n);
    if (apr_pool_create(&pool, NULL) != APR_SUCCESS)
        return 1;
    keys = sim_keys;
    n.pol.threshold = o.threshold;
    n.pol.window_ms = 60 * 1000;
    n.pol.ban_ms = 3600 * 1000;
    n.pol.ban_max_ms = 24 * 3600 * 1000LL;
    n.pol.allow_ban_ms = 60 * 1000;
    n.pol.strike_decay_ms = 24 * 3600 * 1000LL;
    /* the node's table (RateLimitWAFTableSize): ban cache, top rules */
    if ((e = rlw_store_shm_create(pool, (apr_size_t)o.table, &n.pol, &local)))
        die("node %d: shm store: %s", idx, e);
    snprintf(name, sizeof(name), "sim-%02d", idx);
    memset(&store_conf, 0, sizeof(store_conf));
    store_conf.config = o.config;
    store_conf.prefix = o.prefix;
    store_conf.node = name;
    store_conf.timeout_ms = o.timeout_ms;
    store_conf.retry_secs = 5;
    store_conf.pool_size = nthreads;
    store_conf.policy = n.pol;
    if ((e = rlw_store_mc_create(pool, local, &store_conf, &keys, &n.st)))
        die("node %d: memcached store: %s", idx, e);
    if (n.st->child_init(n.st, pool) != APR_SUCCESS)
        die("node %d: child_init failed", idx);

    /* The journal may hold the bans of an earlier run under another
     * prefix only; a first sync positions this node at its end. */
    n.st->sync(n.st, rlw_now_ms());
    rlw_store_mc_counters(n.st, &ctr);
    seen0 = ctr.journal_seen;
    if (pthread_create(&sync_tid, NULL, sync_thread, &n))
        die("node %d: no sync thread", idx);
    __atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
    while (!sh->go)
        sleep_ms(1);

    memset(ws, 0, sizeof(ws));
    for (t = 0; t < nthreads; t++) {
        ws[t].n = &n;
        ws[t].tid = t;
    }
    if (o.mode == M_PROPAGATE) {
        if (idx == 0)
            propagate_decider(&n, &ws[0]);
    } else {
        for (t = 0; t < nthreads; t++)
            if (pthread_create(&tids[t], NULL,
                               o.mode == M_EXACT ? exact_thread : attack_thread,
                               &ws[t]))
                die("node %d: no attack thread", idx);
        for (t = 0; t < nthreads; t++)
            pthread_join(tids[t], NULL);
    }
    out->done_ms = rlw_now_ms();
    __atomic_add_fetch(&sh->attacking_done, 1, __ATOMIC_SEQ_CST);
    /* propagate: watchers run until node 0 is done; exact: until every
     * node is done and two more sync intervals have passed */
    while (!sh->stop)
        sleep_ms(2);
    if (o.mode == M_EXACT) {
        int c;

        sleep_ms(o.settle_ms >= 0 ? o.settle_ms : 2 * o.sync_ms + 100);
        for (c = 0; c < o.clients; c++) {
            rlw_addr_t addr;
            int64_t until;

            if (!sh->bans[c])
                continue;
            client_addr((uint32_t)c, &addr);
            if (!n.st->banned(n.st, &addr, rlw_now_ms(), &until) &&
                ++out->unknown_bans <= 3)
                fprintf(stderr,
                        "nodesim: node %d: the ban of client %d "
                        "(10.%d.%d.%d) is not known here\n",
                        idx, c, (c >> 16) & 255, (c >> 8) & 255, c & 255);
        }
    }
    if (o.mode == M_EXACT && idx == 0) {
        /* every ban should be in the journal: tells a ban never journaled
         * from an entry a node's sync skipped */
        uint64_t seq = 0, bad = 0;
        char err[256];

        if (rlw_store_mc_journal(n.st, 0, count_entry, &out->journal_entries,
                                 &seq, &bad, err, sizeof(err)) != APR_SUCCESS)
            fprintf(stderr, "nodesim: reading the journal: %s\n", err);
    }
    n.stop_sync = 1;
    pthread_join(sync_tid, NULL);
    for (t = 0; t < nthreads; t++) {
        out->attacks += ws[t].attacks;
        out->bans += ws[t].bans;
        out->already += ws[t].already;
        out->below += ws[t].below;
        out->skipped += ws[t].skipped;
    }
    rlw_store_mc_counters(n.st, &ctr);
    out->ops = ctr.ops;
    out->errors = ctr.errors;
    out->fallbacks = ctr.fallbacks;
    out->cas_retries = ctr.cas_retries;
    out->bad_records = ctr.bad_records;
    out->journal_read = ctr.journal_seen - seen0;
    out->ok = 1;
    rlw_store_mc_close(n.st);
    rlw_keys_wipe(&keys);
    return 0;
}

/* --- the parent ------------------------------------------------------------
 */

/* A node that exits before the others are done (die(), a crash) would
 * leave them waiting: stop them all. Returns 1 when one has exited. */
static int node_gone(const pid_t *pids)
{
    int i, status;

    for (i = 0; i < o.nodes; i++)
        if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG) == pids[i]) {
            fprintf(stderr, "nodesim: node %d exited early\n", i);
            return 1;
        }
    return 0;
}

static void kill_nodes(const pid_t *pids)
{
    int i;

    for (i = 0; i < o.nodes; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGKILL);
}

static void usage(void)
{
    fputs("usage: nodesim --config CONFIG [--nodes N] "
          "[--threads N] [--seconds S] [--clients C] [--threshold T] "
          "[--sync-ms I] [--repeats R] [--prefix P] [--timeout-ms MS] "
          "[--table N] [--settle-ms MS] "
          "spray|botnet|exact|propagate\n",
          stderr);
    exit(2);
}

static long num(const char *opt, const char *v, long lo, long hi)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        die("%s '%s': a whole number from %ld to %ld", opt, v, lo, hi);
    return n;
}

int main(int argc, char **argv)
{
    pid_t pids[MAX_NODES];
    int i, status, failed = 0;
    char prefix[64];
    int64_t t0;
    double wall;

    memset(&o, 0, sizeof(o));
    o.nodes = 1;
    o.threads = 1;
    o.seconds = 10;
    o.clients = 1000;
    o.repeats = 20;
    o.threshold = 5;
    o.sync_ms = 250;
    o.timeout_ms = 1000;
    o.table = 100000;
    o.settle_ms = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (a[0] != '-') {
            if (o.mode_name)
                usage();
            o.mode_name = a;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--config"))
            o.config = v;
        else if (!strcmp(a, "--prefix"))
            o.prefix = v;
        else if (!strcmp(a, "--nodes"))
            o.nodes = (int)num(a, v, 1, MAX_NODES);
        else if (!strcmp(a, "--threads"))
            o.threads = (int)num(a, v, 1, MAX_THREADS);
        else if (!strcmp(a, "--seconds"))
            o.seconds = (int)num(a, v, 1, 3600);
        else if (!strcmp(a, "--clients"))
            o.clients = (int)num(a, v, 1, MAX_CLIENTS);
        else if (!strcmp(a, "--threshold"))
            o.threshold = (uint32_t)num(a, v, 2, 1000);
        else if (!strcmp(a, "--sync-ms"))
            o.sync_ms = num(a, v, 10, 60000);
        else if (!strcmp(a, "--repeats"))
            o.repeats = (int)num(a, v, 1, MAX_REPEATS);
        else if (!strcmp(a, "--settle-ms"))
            o.settle_ms = num(a, v, 0, 600000);
        else if (!strcmp(a, "--table"))
            o.table = (int)num(a, v, 16, 50000000);
        else if (!strcmp(a, "--timeout-ms"))
            o.timeout_ms = num(a, v, 1, 60000);
        else
            usage();
    }
    if (!o.mode_name || !o.config)
        usage();
    if (!strcmp(o.mode_name, "spray"))
        o.mode = M_SPRAY;
    else if (!strcmp(o.mode_name, "botnet"))
        o.mode = M_BOTNET;
    else if (!strcmp(o.mode_name, "exact"))
        o.mode = M_EXACT;
    else if (!strcmp(o.mode_name, "propagate"))
        o.mode = M_PROPAGATE;
    else
        usage();
    if (o.mode == M_EXACT && o.clients > MAX_EXACT)
        die("exact: at most %d clients", MAX_EXACT);
    if (!o.prefix) {
        /* a fresh key space per run: no counts or journal of another */
        snprintf(prefix, sizeof(prefix),
                 "sim%lld.%d:", (long long)(rlw_now_ms() % 100000000),
                 (int)getpid());
        o.prefix = prefix;
    }
    if (!rlw_store_printable(o.prefix, RLW_MC_PREFIX_MAX, 0))
        die("--prefix '%s': printable characters without spaces", o.prefix);

    /* The cluster's keys: random for each run (its nodes inherit them),
     * so no secret file is needed; filled as bytes, whatever the
     * struct's fields. */
    if (RAND_bytes((unsigned char *)&sim_keys, (int)sizeof(sim_keys)) != 1)
        die("no random bytes for the keys");
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    memset(sh, 0, sizeof(*sh));
    sh->cur = -1;
    if (apr_initialize() != APR_SUCCESS)
        die("apr_initialize failed");
    fflush(NULL);
    for (i = 0; i < o.nodes; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork: %s", strerror(errno));
        if (pids[i] == 0)
            _exit(node_main(i));
    }
    /* every node connected and positioned in the journal, then go */
    t0 = rlw_now_ms();
    while (sh->ready < o.nodes) {
        if (rlw_now_ms() - t0 > 30000 || node_gone(pids)) {
            kill_nodes(pids);
            die("the nodes did not all get ready");
        }
        sleep_ms(5);
    }
    sh->go_ms = rlw_now_ms();
    __atomic_store_n(&sh->go, 1, __ATOMIC_SEQ_CST);
    while (sh->attacking_done < o.nodes) {
        if (node_gone(pids)) {
            kill_nodes(pids);
            die("a node failed during the run");
        }
        sleep_ms(2);
    }
    wall = 0;
    for (i = 0; i < o.nodes; i++)
        if ((double)(sh->node[i].done_ms - sh->go_ms) / 1000.0 > wall)
            wall = (double)(sh->node[i].done_ms - sh->go_ms) / 1000.0;
    __atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
    for (i = 0; i < o.nodes; i++) {
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status)) {
            fprintf(stderr, "nodesim: node %d failed\n", i);
            failed = 1;
        }
    }
    printf("prefix %s\n", o.prefix);
    if (nodesim_report(&o, sh, wall))
        failed = 1;
    apr_terminate();
    return failed;
}

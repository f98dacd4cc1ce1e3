/* bench/nodesim.h - what bench/nodesim.c (the simulated nodes) and
 * bench/nodesim_report.c (the parent's summary) share: the options and the
 * results the nodes leave in shared memory.
 */
#ifndef NODESIM_H
#define NODESIM_H

#include <stdint.h>

#define MAX_NODES 64
#define MAX_THREADS 16
#define MAX_CLIENTS 200000
#define MAX_EXACT 20000
#define MAX_REPEATS 200

typedef enum { M_SPRAY, M_BOTNET, M_EXACT, M_PROPAGATE } mode_t_;

typedef struct opts {
    mode_t_ mode;
    const char *mode_name, *config, *prefix;
    int nodes, threads, seconds, clients, repeats, table;
    uint32_t threshold;
    int64_t sync_ms, timeout_ms;
    int64_t settle_ms; /* exact: wait before checking (-1: 2 syncs) */
} opts_t;

/* What a node reports back (shared memory, one slot per node). */
typedef struct node_out {
    uint64_t attacks, bans, already, below, skipped, log_warn, log_evict;
    uint64_t ops, errors, fallbacks, cas_retries, bad_records;
    uint64_t syncs, sync_us;  /* sync() calls and time spent in them */
    uint64_t journal_read;    /* journal entries this node's syncs read */
    uint64_t unknown_bans;    /* exact: bans this node did not learn */
    uint64_t journal_entries; /* exact, node 0: entries in the journal */
    int64_t done_ms;
    int ok;
} node_out_t;

/* Shared by all node processes (MAP_SHARED before fork). */
typedef struct shared {
    volatile int ready, go, stop, attacking_done;
    int64_t go_ms;
    node_out_t node[MAX_NODES];
    /* exact */
    uint32_t bans[MAX_EXACT], ban_count[MAX_EXACT], already[MAX_EXACT];
    /* propagate */
    volatile int cur;            /* repeat under way, -1 none */
    int64_t ban_ms[MAX_REPEATS]; /* when node 0's ban attack returned */
    int64_t seen_ms[MAX_REPEATS][MAX_NODES];
} shared_t;

/* Prints the human lines and the "result" line of a run that took wall
 * seconds; returns 1 when something went wrong (a node did not finish,
 * errors, a wrong ban), else 0. */
int nodesim_report(const opts_t *o, const shared_t *sh, double wall);

#endif

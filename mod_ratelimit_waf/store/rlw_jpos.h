/* rlw_jpos.h - where a node reads the cluster journal next.
 *
 * httpd-free and pure (the memcached calls are the caller's). The journal
 * is a sequence counter and entries 1..seq; whoever journals a ban first
 * takes a number (increments the counter), then writes the entry. So an
 * entry can be missing for three reasons: it expired (old), it is being
 * written right now (its number was just taken), or it never will be (its
 * writer failed, or someone else moved the counter). A sync round applies
 * the entries in order and stops at the first missing one whose number was
 * taken less than wait_ms ago, to read it next round; older missing ones
 * are skipped. A new position (first round, restart, jump) does not know
 * when its numbers were taken: they count as taken when it was made. And
 * because the counter is hostile input, a round never reads more than
 * backlog entries, whatever the counter says.
 */
#ifndef RLW_JPOS_H
#define RLW_JPOS_H

#include <stdint.h>

typedef struct rlw_jpos {
    uint64_t seen;     /* every entry <= seen is applied or given up */
    uint64_t old_seq;  /* entries <= old_seq were numbered wait_ms ago or
                          more: missing means lost, skip them */
    uint64_t mark_seq; /* the sequence read at mark_ms */
    int64_t mark_ms;   /* when mark_seq was read */
    uint64_t back_seq; /* the sequence when this position was made: entries
                          <= back_seq may be missing because they expired */
    int started;       /* 0 until the first round */
} rlw_jpos_t;

typedef enum rlw_jpos_start {
    RLW_JPOS_READ = 0, /* read seen + 1 .. seq (possibly nothing) */
    RLW_JPOS_FIRST,    /* first round: seen moved to the last backlog */
    RLW_JPOS_JUMPED,   /* more than backlog new entries: seen moved up */
    RLW_JPOS_BEHIND    /* seq < seen: the caller decides (rlw_jpos_restart()
                          or read nothing) */
} rlw_jpos_start_t;

/* Begins a round that read the sequence counter seq at now. *jumped (may
 * be NULL) receives how many entries RLW_JPOS_JUMPED passed over. */
rlw_jpos_start_t rlw_jpos_begin(rlw_jpos_t *p, uint64_t seq, uint64_t backlog,
                                int64_t now, int64_t wait_ms, uint64_t *jumped);

/* The journal restarted at seq (memcached lost it): read its last backlog
 * entries again, as a new node would. */
void rlw_jpos_restart(rlw_jpos_t *p, uint64_t seq, uint64_t backlog,
                      int64_t now);

/* Entry n (= seen + 1) is missing: 1 when it must be skipped (seen moves to
 * n), 0 when the round must stop there and read it again next time. */
int rlw_jpos_missing(rlw_jpos_t *p, uint64_t n);

#endif

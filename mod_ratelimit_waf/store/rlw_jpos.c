/* rlw_jpos.c - the journal reading position (rlw_jpos.h). */
#include "rlw_jpos.h"

/* A new position (a new node, a restart, a jump over a poisoned counter):
 * when the numbers up to seq were taken is unknown, the last ones may be
 * being written right now. So they count as taken now: a missing one is
 * waited for wait_ms once, then skipped with all the others up to seq.
 * Treating them as old at once skipped for good an entry whose writer had
 * taken its number just before this round read the counter. */
static void reposition(rlw_jpos_t *p, uint64_t seq, int64_t now)
{
    p->old_seq = p->seen;
    p->back_seq = seq;
    p->mark_seq = seq;
    p->mark_ms = now;
}

void rlw_jpos_restart(rlw_jpos_t *p, uint64_t seq, uint64_t backlog,
                      int64_t now)
{
    p->seen = seq > backlog ? seq - backlog : 0;
    p->started = 1;
    reposition(p, seq, now);
}

rlw_jpos_start_t rlw_jpos_begin(rlw_jpos_t *p, uint64_t seq, uint64_t backlog,
                                int64_t now, int64_t wait_ms, uint64_t *jumped)
{
    if (jumped)
        *jumped = 0;
    if (!p->started) {
        rlw_jpos_restart(p, seq, backlog, now);
        return RLW_JPOS_FIRST;
    }
    if (seq < p->seen)
        return RLW_JPOS_BEHIND;
    if (seq - p->seen > backlog) {
        if (jumped)
            *jumped = seq - backlog - p->seen;
        p->seen = seq - backlog;
        reposition(p, seq, now);
        return RLW_JPOS_JUMPED;
    }
    /* Every number up to mark_seq was taken by mark_ms: once wait_ms have
     * passed since, a missing entry among them is lost, not late. A clock
     * that stepped back waits for it to catch up (no skipping meanwhile). */
    if (now - p->mark_ms >= wait_ms) {
        if (p->mark_seq > p->old_seq)
            p->old_seq = p->mark_seq;
        p->mark_seq = seq;
        p->mark_ms = now;
    }
    return RLW_JPOS_READ;
}

int rlw_jpos_missing(rlw_jpos_t *p, uint64_t n)
{
    if (n > p->old_seq)
        return 0;
    p->seen = n;
    return 1;
}

/* rlw_evqueue.h - a bounded queue of event lines, one per process.
 *
 * Request threads must never wait for the event log's reader (a stalled
 * "|program", a slow disk, a full /dev/log): they push each line into this
 * queue and one writer thread per process takes lines out and writes them.
 * When the queue is full the line is dropped and counted, never waited for.
 *
 * httpd-free, allocation-free, clock-free and lock-free: the queue lives in
 * a buffer the caller provides, and the caller holds its own lock around
 * every call (the functions assume it, like the do_* functions of the shm
 * store); a push or a pop is one or two memcpy()s, so the lock is held for
 * no longer than that.
 *
 * Lines are kept whole, in order, as a ring of records (a two-byte length,
 * then the bytes); the queue is bounded both in lines and in bytes.
 */
#ifndef RLW_EVQUEUE_H
#define RLW_EVQUEUE_H

#include <stddef.h>
#include <stdint.h>

/* Longest line the queue takes (bytes, "\n" included): a line up to this
 * length is written to a pipe in one atomic write() (POSIX PIPE_BUF on
 * Linux), so lines of concurrent processes never interleave. */
#define RLW_EVQ_LINE_MAX 4096

/* Bytes of buffer per line of capacity that the module reserves: event
 * lines are mostly 500 to 1000 bytes; a burst of longer ones holds fewer. */
#define RLW_EVQ_BYTES_PER_LINE 1024

/* Bytes a record takes besides its line (its length). */
#define RLW_EVQ_RECORD_OVERHEAD 2

typedef struct rlw_evq {
    char *buf;           /* the ring; NULL: every push is dropped */
    size_t cap;          /* bytes of buf */
    size_t head;         /* offset of the oldest record */
    size_t used;         /* bytes held, record lengths included */
    uint32_t lines;      /* lines held */
    uint32_t max_lines;  /* lines it may hold */
    uint64_t pushed;     /* lines queued since init */
    uint64_t dropped;    /* lines refused since init */
    uint64_t reported;   /* dropped at the last due report */
    int64_t reported_ms; /* time of the last due report; 0: none yet */
} rlw_evq_t;

/* Prepares q over the cap bytes at buf, for at most max_lines lines. A
 * NULL buf (or cap or max_lines 0) gives a queue that drops every line:
 * what a process without a writer has. */
void rlw_evq_init(rlw_evq_t *q, void *buf, size_t cap, uint32_t max_lines);

/* Queues the len bytes of line. Returns 0, or -1 when the line was dropped
 * (counted in q->dropped): the queue is full in lines or bytes, or len is 0
 * or above RLW_EVQ_LINE_MAX. */
int rlw_evq_push(rlw_evq_t *q, const char *line, size_t len);

/* Takes the oldest line out of q into out (outlen bytes, at least
 * RLW_EVQ_LINE_MAX to never cut a line; a longer line is cut to outlen).
 * Returns the bytes written to out, 0 when q is empty. No NUL is added. */
size_t rlw_evq_pop(rlw_evq_t *q, char *out, size_t outlen);

/* Lines held now. */
uint32_t rlw_evq_lines(const rlw_evq_t *q);

/* Whether a warning about dropped lines is due at now_ms: lines were
 * dropped since the last due report and the last one is at least
 * interval_ms old (the first is due at once). Returns the number of lines
 * dropped since the last due report and makes this one the last, or 0 when
 * none is due. */
uint64_t rlw_evq_drop_report(rlw_evq_t *q, int64_t now_ms, int64_t interval_ms);

/* Lines dropped and not reported yet (for a last word at exit); makes them
 * reported. */
uint64_t rlw_evq_drop_flush(rlw_evq_t *q);

#endif

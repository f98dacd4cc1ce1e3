/* rlw_evqueue.c - see rlw_evqueue.h. */
#include <string.h>

#include "rlw_evqueue.h"

void rlw_evq_init(rlw_evq_t *q, void *buf, size_t cap, uint32_t max_lines)
{
    memset(q, 0, sizeof(*q));
    if (!buf || !cap || !max_lines)
        return;
    q->buf = buf;
    q->cap = cap;
    q->max_lines = max_lines;
}

/* Copies n bytes from src into the ring at offset off, wrapping. */
static void ring_put(rlw_evq_t *q, size_t off, const void *src, size_t n)
{
    size_t first = q->cap - off < n ? q->cap - off : n;

    memcpy(q->buf + off, src, first);
    memcpy(q->buf, (const char *)src + first, n - first);
}

/* Copies n bytes of the ring at offset off into dst, wrapping. */
static void ring_get(const rlw_evq_t *q, size_t off, void *dst, size_t n)
{
    size_t first = q->cap - off < n ? q->cap - off : n;

    memcpy(dst, q->buf + off, first);
    memcpy((char *)dst + first, q->buf, n - first);
}

int rlw_evq_push(rlw_evq_t *q, const char *line, size_t len)
{
    unsigned char hdr[RLW_EVQ_RECORD_OVERHEAD];
    size_t need = len + RLW_EVQ_RECORD_OVERHEAD;

    if (!q->buf || !len || len > RLW_EVQ_LINE_MAX || q->lines >= q->max_lines ||
        need > q->cap - q->used) {
        q->dropped++;
        return -1;
    }
    /* Two bytes hold RLW_EVQ_LINE_MAX; big-endian, byte by byte, so that a
     * record may wrap anywhere. */
    hdr[0] = (unsigned char)(len >> 8);
    hdr[1] = (unsigned char)len;
    ring_put(q, (q->head + q->used) % q->cap, hdr, sizeof(hdr));
    ring_put(q, (q->head + q->used + sizeof(hdr)) % q->cap, line, len);
    q->used += need;
    q->lines++;
    q->pushed++;
    return 0;
}

size_t rlw_evq_pop(rlw_evq_t *q, char *out, size_t outlen)
{
    unsigned char hdr[RLW_EVQ_RECORD_OVERHEAD];
    size_t len, copy;

    if (!q->lines)
        return 0;
    ring_get(q, q->head, hdr, sizeof(hdr));
    len = (size_t)hdr[0] << 8 | hdr[1];
    copy = len < outlen ? len : outlen;
    ring_get(q, (q->head + sizeof(hdr)) % q->cap, out, copy);
    q->head = (q->head + sizeof(hdr) + len) % q->cap;
    q->used -= sizeof(hdr) + len;
    q->lines--;
    if (!q->lines)
        q->head = 0; /* empty: the next line starts unwrapped */
    return copy;
}

uint32_t rlw_evq_lines(const rlw_evq_t *q)
{
    return q->lines;
}

uint64_t rlw_evq_drop_report(rlw_evq_t *q, int64_t now_ms, int64_t interval_ms)
{
    uint64_t n = q->dropped - q->reported;

    if (!n || (q->reported_ms && now_ms - q->reported_ms < interval_ms))
        return 0;
    q->reported = q->dropped;
    /* 0 means "never reported": a clock at 0 still reports once. */
    q->reported_ms = now_ms ? now_ms : 1;
    return n;
}

uint64_t rlw_evq_drop_flush(rlw_evq_t *q)
{
    uint64_t n = q->dropped - q->reported;

    q->reported = q->dropped;
    return n;
}

/* rlw_mcctr.h - adding one to a memcached counter over the text protocol:
 * which call comes next.
 *
 * httpd-free, libmemcached-free and pure. The cluster store never sends a
 * binary-protocol increment: libmemcached 1.1 answers a binary
 * out-of-memory reply to one (memcached -M with a full cache, or an item
 * that grows by a digit) with an assertion failure, i.e. abort() of the
 * whole httpd child. Text "incr" has no "create when missing", so a
 * counter is added to in up to three calls:
 *   incr -> NOT_FOUND -> add of the initial value (same TTL)
 *        -> NOT_STORED (someone created it meanwhile) -> incr once more.
 * The store maps each libmemcached reply to an rlw_ctr_reply_t and asks
 * rlw_ctr_next() what to do; the decision is kept here so that it can be
 * tested without a server.
 */
#ifndef RLW_MCCTR_H
#define RLW_MCCTR_H

/* Calls one counter update may make at most: incr, add, incr, and one
 * repeat of a call whose connection died before it reached the data.
 * Whatever happens, an update ends (a full or failing server is a failure
 * of that server, reported once, never retried in a loop). */
#define RLW_CTR_CALLS_MAX 4

/* The call just made. */
typedef enum rlw_ctr_op {
    RLW_CTR_INCR = 0, /* text "incr" of an existing counter */
    RLW_CTR_ADD       /* "add" of the initial value: create when missing */
} rlw_ctr_op_t;

/* What memcached (through libmemcached) answered, in the store's terms. */
typedef enum rlw_ctr_reply {
    RLW_CTR_OK = 0,    /* done: incr's new value, or the add stored */
    RLW_CTR_MISS,      /* NOT_FOUND: no such counter (incr) */
    RLW_CTR_EXISTS,    /* NOT_STORED: it exists already (add) */
    RLW_CTR_RETRYABLE, /* the connection died before the call reached the
                          data (its server restarted): making it again
                          cannot count twice */
    RLW_CTR_FAILED,    /* the server's trouble, not the value's: timeout
                          (the call may have landed), out of memory,
                          server error, server marked dead */
    RLW_CTR_REFUSED    /* anything else, e.g. CLIENT_ERROR: memcached
                          refuses to increment what the key holds
                          (not a number) */
} rlw_ctr_reply_t;

/* What to do next. */
typedef enum rlw_ctr_next {
    RLW_CTR_DONE = 0, /* the counter was added to: stop */
    RLW_CTR_DO_INCR,  /* make an incr */
    RLW_CTR_DO_ADD,   /* make an add of the initial value */
    RLW_CTR_CHECK,    /* stop: the key may hold garbage; the caller
                         checks it and repairs it its own way */
    RLW_CTR_FAIL      /* stop: a failure of that server */
} rlw_ctr_next_t;

/* The step after call op (the calls-th of this update, counting from 1)
 * got reply. Never anything but DONE, CHECK or FAIL once calls reaches
 * RLW_CTR_CALLS_MAX. */
rlw_ctr_next_t rlw_ctr_next(rlw_ctr_op_t op, rlw_ctr_reply_t reply, int calls);

#endif

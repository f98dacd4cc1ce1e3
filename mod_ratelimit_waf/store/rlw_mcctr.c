/* rlw_mcctr.c - adding one to a memcached counter over the text protocol:
 * which call comes next (rlw_mcctr.h). */
#include "rlw_mcctr.h"

rlw_ctr_next_t rlw_ctr_next(rlw_ctr_op_t op, rlw_ctr_reply_t reply, int calls)
{
    rlw_ctr_next_t next;

    switch (reply) {
    case RLW_CTR_OK:
        return RLW_CTR_DONE;
    case RLW_CTR_MISS:
        /* Only an incr misses; an add that "misses" is nonsense. */
        next = op == RLW_CTR_INCR ? RLW_CTR_DO_ADD : RLW_CTR_FAIL;
        break;
    case RLW_CTR_EXISTS:
        /* Another node (or thread) created it between our incr and add:
         * add to theirs. An incr never answers NOT_STORED. */
        next = op == RLW_CTR_ADD ? RLW_CTR_DO_INCR : RLW_CTR_FAIL;
        break;
    case RLW_CTR_RETRYABLE:
        next = op == RLW_CTR_ADD ? RLW_CTR_DO_ADD : RLW_CTR_DO_INCR;
        break;
    case RLW_CTR_REFUSED:
        /* An add of our own digits is not refused for its value. */
        return op == RLW_CTR_INCR ? RLW_CTR_CHECK : RLW_CTR_FAIL;
    case RLW_CTR_FAILED:
    default:
        return RLW_CTR_FAIL;
    }
    if (next != RLW_CTR_FAIL && calls >= RLW_CTR_CALLS_MAX)
        return RLW_CTR_FAIL;
    return next;
}

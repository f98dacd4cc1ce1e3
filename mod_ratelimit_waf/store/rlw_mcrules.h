/* rlw_mcrules.h - the memcached store's rules that need no memcached: key
 * names, what a counter may hold, the count since a ban, how long things
 * live, when to try again, and the servers of a configuration string.
 *
 * httpd-free and libmemcached-free (APR pools only for
 * rlw_mc_servers()), so that t/unit tests them alone. Key layout
 * (docs/cluster.md), all under the store's prefix:
 *   c<index>:<pseudonym>  a client's counter of bucket index (of the
 *                         window of the first RateLimitWAFThreshold pair)
 *   c<w>.<index>:<pseudonym>  the same in the window of pair w + 1
 *   b:<pseudonym>         its sealed ban record
 *   j:seq                 the journal's sequence counter
 *   j:<n>                 journal entry n
 * Builders write at most RLW_MC_KEY_MAX bytes (NUL included) and return
 * the key's length, 0 when it does not fit.
 */
#ifndef RLW_MCRULES_H
#define RLW_MCRULES_H

#include <stddef.h>
#include <stdint.h>

#include <apr_pools.h>

#include "rlw_decision.h"

/* Longest key we build: prefix (<= RLW_MC_PREFIX_MAX) + "c" + index + ":" +
 * pseudonym. memcached allows 250. */
#define RLW_MC_KEY_MAX 160
/* memcached treats expirations over 30 days as absolute times. */
#define RLW_MC_TTL_MAX (30 * 24 * 3600)
/* CAS rounds before giving up on a ban record (each loser re-reads). */
#define RLW_MC_CAS_TRIES 8
/* How long a sync waits for a journal entry whose number was taken but
 * which is not written yet (at least; see rlw_mc_journal_wait_ms()). */
#define RLW_MC_JOURNAL_WAIT_MS 1000
/* Largest journal sequence taken for a count: no farm journals 2^63 bans,
 * and a counter near 2^64 would wrap to 0 at the next increment (memcached
 * wraps), which nodes would take for a restart. Above it: garbage. */
#define RLW_MC_JOURNAL_SEQ_MAX ((uint64_t)INT64_MAX)

size_t rlw_mc_bucket_key(const char *prefix, const char *pseudo, int64_t index,
                         char *out);
size_t rlw_mc_ban_key(const char *prefix, const char *pseudo, char *out);
/* The counter key of bucket index in window win (0: rlw_mc_bucket_key()'s,
 * else "c<win>.<index>:"). */
size_t rlw_mc_bucket_key_w(const char *prefix, const char *pseudo, unsigned win,
                           int64_t index, char *out);
size_t rlw_mc_journal_seq_key(const char *prefix, char *out);
size_t rlw_mc_journal_key(const char *prefix, uint64_t seq, char *out);

/* The bucket index a counter key names (any pseudonym), or -1 when key is
 * not a counter key under prefix. */
int64_t rlw_mc_key_bucket(const char *prefix, const char *key, size_t klen);

/* The same for any window 0 to max_w (rlw_parse_bucket_key_w()): the
 * index, and the window in *win; -1 when key is no counter key. */
int64_t rlw_mc_key_bucket_w(const char *prefix, const char *key, size_t klen,
                            unsigned max_w, unsigned *win);

/* The entry number a journal key names into *seq: 0, or -1 when key is not
 * a journal entry key under prefix. */
int rlw_mc_key_journal(const char *prefix, const char *key, size_t klen,
                       uint64_t *seq);

/* A bucket counter as read back into *out (left alone on failure): 0, or
 * -1 when v is not what memcached writes for a count (rlw_parse_counter())
 * or more than one client can have done in one bucket (RLW_COUNT_MAX).
 * Anything else was written by someone else: ignored rather than
 * trusted. */
int rlw_mc_parse_count(const char *v, size_t vl, uint64_t *out);

/* The attacks in the buckets vals (vals[i] is bucket head - i, i <
 * RLW_WINDOW_BUCKETS) since the ban b started, capped at UINT32_MAX. A ban
 * starts a new count: buckets up to the one holding its start are left out
 * (they expire with the window; nothing to delete). */
uint32_t rlw_mc_count_since_ban(const uint64_t *vals, int64_t head,
                                int64_t width, const rlw_ban_state_t *b);

/* memcached expiration (seconds) for something that must live ms from
 * now: rounded up, one second more, at most RLW_MC_TTL_MAX. */
int64_t rlw_mc_ttl_secs(int64_t ms);

/* How long a ban record must live from now under policy p: past the ban's
 * end, as long as the counters it cuts off (a ban starts a new count) and
 * the strikes it remembers (p->strike_decay_ms). The same for a ban
 * decided by counting and for an operator's ban. */
int64_t rlw_mc_record_keep(const rlw_policy_t *p, const rlw_ban_state_t *b,
                           int64_t now);

/* A ban's start is its epoch (rlw_ban_state_newer()): a ban decided over
 * the record prev (read under the cas that the write will check) starts
 * after prev did, even on a node whose clock is behind the one that wrote
 * prev. Its end stays what this node decided, unless that would make it
 * end before it starts. */
void rlw_mc_start_after(rlw_ban_state_t *b, const rlw_ban_state_t *prev);

/* Nanoseconds to sleep after losing CAS round tries (0 = the first) on a
 * ban record: a little, more each round, so that the winner's write lands
 * before the re-read. */
long rlw_mc_cas_backoff_ns(int tries);

/* How long a sync waits for a numbered journal entry to appear: 1 s, or 4
 * memcached timeouts when longer (rlw_jpos.h). */
int64_t rlw_mc_journal_wait_ms(int64_t timeout_ms);

/* The last entry of the next batch of at most batch journal entries after
 * seen, up to seq (seen < seq). */
uint64_t rlw_mc_journal_batch_end(uint64_t seen, uint64_t seq, uint64_t batch);

/* The servers of a libmemcached configuration string (its --SERVER= and
 * --SOCKET= options, quotes removed), as written there: "h:p, h:p", from
 * p; NULL when it names none (or config is NULL). */
const char *rlw_mc_servers(apr_pool_t *p, const char *config);

#endif

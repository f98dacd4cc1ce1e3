/* rlw_store_shm.h - what only the shm store offers beyond rlw_store.h.
 *
 * httpd-free (APR + pthreads). The shm store is the default backend (one
 * node, a table in shared memory) and the node's own table under a cluster
 * store (its ban cache and fallback counter): the calls below serve its
 * creation outside the registry (rlwafctl, bench) and the cluster store
 * built on top of it. Everything else goes through rlw_store_t.
 */
#ifndef RLW_STORE_SHM_H
#define RLW_STORE_SHM_H

#include "rlw_store.h"

/* Creates the shared-memory store for capacity clients in pool (which must
 * outlive every child: the module passes the process pool so that bans
 * survive a graceful restart). policy (copied; NULL: threshold 0, so any
 * count of 2 or more is "near", window 10 minutes, decay 1 day) is the
 * store's own: the lowest threshold and the longest times of every server.
 * Its window_ms counts for get(), learn() and note_rules(); it ranks
 * entries when a full table must make room for the calls that bring no
 * policy: learn(), note_rules() and ban() (attack() ranks with its own p),
 * and when a new capacity moves the clients into a smaller table. Ranking
 * (lowest goes first): a free entry; an idle one; a small count; a ban
 * that ended less than strike_decay_ms ago (its strikes still escalate); a
 * count of at least half the threshold; a running ban, which only an
 * operator's ban or a learnt one that ends later replaces. Returns NULL on
 * success, or an error string allocated from pool. */
const char *rlw_store_shm_create(apr_pool_t *pool, apr_size_t capacity,
                                 const rlw_policy_t *policy, rlw_store_t **out);

/* Names this node in the bans it decides (default ""). Copied. Call it in
 * the parent, before the children fork. */
void rlw_store_shm_set_node(rlw_store_t *shm, const char *node);

/* The shm store's ban horizon: no ban runs at or after it (ms), so
 * banned() answers 0 without a lock from then on. Raised when a ban
 * starts, lowered by expired() sweeps to the bans still running. */
int64_t rlw_store_shm_horizon(rlw_store_t *shm);

/* Notes the rules hit by an attack counted elsewhere (the cluster store
 * keeps top rules in the node's own table) and copies the client's top
 * rules to rules[RLW_TOP_RULES]. */
void rlw_store_shm_note_rules(rlw_store_t *shm, const rlw_addr_t *client,
                              const rlw_hit_t *hit, int64_t now,
                              uint32_t *rules);

/* Records a ban decided elsewhere (another node, a journal entry, an
 * operator) in the shm store local: b replaces the client's ban state
 * unless it is older (rlw_ban_state_newer(): then nothing changes); a
 * running ban also restarts its count. node (may be NULL: keep the name
 * the entry has; "": not known) decided it. The very ban the table holds,
 * learnt again, changes nothing but a decider not known yet. A running
 * ban that finds 8 longer ones in its set is not recorded (stats()
 * untracked). */
void rlw_store_shm_learn(rlw_store_t *local, const rlw_addr_t *client,
                         const rlw_ban_state_t *b, const char *node,
                         int64_t now);

#endif

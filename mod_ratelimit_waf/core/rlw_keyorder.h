/* rlw_keyorder.h - the order of the request key NAMEs (RateLimitWAFKey)
 * a node declares, as the nodes of a cluster compare it.
 *
 * A key subject's prefix is its NAME's index in the configuration's order
 * of first appearance (rlw_subject.h), so two nodes that give one index
 * two NAMEs do not share that key's counts, and a ban one decides is never
 * enforced by the other. The memcached store publishes each node's list
 * (rlw_mc_keyorder.c) and compares it with the others'; this file holds
 * what needs no memcached: the list, its text form (the plaintext of a
 * sealed record, strictly parsed: it comes back from memcached) and the
 * comparison. httpd-free, allocation-free.
 *
 * Text form, at most RLW_KEYORDER_TEXT_MAX bytes, no NUL:
 *   "1 " LIST " " NODE
 * LIST is the NAMEs joined by ',' (each 1 to RLW_KEY_NAME_MAX of
 * [A-Za-z0-9_.-], no NAME twice, at most RLW_KEYS_MAX), empty for none;
 * NODE is the node name (RateLimitWAFNodeName: 1 to RLW_NODE_NAME_MAX
 * printable ASCII, spaces allowed).
 */
#ifndef RLW_KEYORDER_H
#define RLW_KEYORDER_H

#include <stddef.h>

#include "rlw_defaults.h"
#include "rlw_subject.h"

/* Longest key NAME (RateLimitWAFKey checks it). */
#define RLW_KEY_NAME_MAX 32

/* Longest text form: "1 ", each NAME followed by ',' (the last by ' '),
 * the node. */
#define RLW_KEYORDER_TEXT_MAX                                                  \
    (2 + RLW_KEYS_MAX * (RLW_KEY_NAME_MAX + 1) + RLW_NODE_NAME_MAX)

/* Longest readable list (rlw_keyorder_list()), NUL included. */
#define RLW_KEYORDER_LIST_LEN (RLW_KEYS_MAX * (RLW_KEY_NAME_MAX + 2) + 8)

/* One node's NAMEs in order, and the node. */
typedef struct rlw_keyorder {
    unsigned n; /* NAMEs, 0 to RLW_KEYS_MAX */
    char names[RLW_KEYS_MAX][RLW_KEY_NAME_MAX + 1];
    char node[RLW_NODE_NAME_LEN];
} rlw_keyorder_t;

/* 1 when name is 1 to RLW_KEY_NAME_MAX of [A-Za-z0-9_.-], else 0. */
int rlw_keyorder_name_ok(const char *name);

/* Fills o with the n names (in order) of node. Returns 0, or -1 (o then
 * empty) when n is over RLW_KEYS_MAX, a name is not valid or repeated, or
 * node is not 1 to RLW_NODE_NAME_MAX printable ASCII. */
int rlw_keyorder_set(rlw_keyorder_t *o, const char *const *names, unsigned n,
                     const char *node);

/* Writes o's text form to out (no NUL added). Returns its length, or 0
 * when outlen is too small. */
size_t rlw_keyorder_encode(const rlw_keyorder_t *o, char *out, size_t outlen);

/* Parses len bytes of hostile input: 0 and *o filled, or -1 (*o empty)
 * unless buf is exactly a text form as rlw_keyorder_encode() writes it. */
int rlw_keyorder_decode(const char *buf, size_t len, rlw_keyorder_t *o);

/* 1 when a and b give every index they both have the same NAME (one list
 * starts the other: a NAME added at the end on some nodes first is no
 * conflict, since a node without it never counts it), else 0. */
int rlw_keyorder_agree(const rlw_keyorder_t *a, const rlw_keyorder_t *b);

/* The NAMEs for people: "api, session", or "(none)"; out (outlen >= 8,
 * RLW_KEYORDER_LIST_LEN always enough) is returned. */
const char *rlw_keyorder_list(const rlw_keyorder_t *o, char *out,
                              size_t outlen);

#endif

/* rlw_subject.h - what a counter or a ban is about: a subject of a kind.
 *
 * httpd-free and pure. A subject is an rlw_addr_t whose kind byte says what
 * it stands for (rlw_addr.h):
 *   RLW_KIND_CLIENT  one client: a host address (/32, /128) or an IPv6
 *                    client grouped by RateLimitWAFIPv6Prefix;
 *   RLW_KIND_NET     a network (RateLimitWAFNetwork): the client's address
 *                    masked to the network prefix, with that prefix; the
 *                    attacks of all its clients are counted under it;
 *   RLW_KIND_KEY     a request key (RateLimitWAFKey): family RLW_AF_KEY,
 *                    the key NAME's index (0 to RLW_KEYS_MAX - 1) in
 *                    prefix, the keyed hash of the value (rlw_key_hash())
 *                    in bytes: never the value itself.
 * Every store keys its counters and bans by the whole value (kind and
 * scope included), so subjects of different kinds never share an entry;
 * the memcached store's pseudonym hashes the kind too, and a client's
 * pseudonym is the one it had before kinds existed.
 */
#ifndef RLW_SUBJECT_H
#define RLW_SUBJECT_H

#include "rlw_addr.h"

/* The network of host (a host address from rlw_addr_parse() or
 * rlw_addr_from_bytes()): host masked to v4_prefix (IPv4) or v6_prefix
 * (IPv6) bits, with that prefix, kind RLW_KIND_NET and scope as given.
 * Returns 0, or -1 (net untouched) when the prefix for host's family is 0
 * (networks of that family are not counted) or too long for it (over 32
 * or 128), or host is not an address. */
int rlw_subject_net(const rlw_addr_t *host, unsigned v4_prefix,
                    unsigned v6_prefix, unsigned scope, rlw_addr_t *net);

/* Key names per configuration (RateLimitWAFKey NAME): a key subject's
 * prefix is below it. */
#define RLW_KEYS_MAX 8

/* The key subject of NAME index idx and value hash (RLW_KEY_HASH_LEN = 16
 * bytes), scope as given. Returns 0, or -1 (out untouched) when idx or
 * scope is out of range. */
int rlw_subject_key(unsigned idx, const unsigned char *hash, unsigned scope,
                    rlw_addr_t *out);

/* Parses what rlw_addr_format() writes of a key subject, "key#N:" and 32
 * hex digits (either case), into a key subject of the enforcing scope.
 * Returns 0, or -1 on anything else. */
int rlw_subject_key_parse(const char *text, rlw_addr_t *out);

/* "client", "network", "key", or NULL for a kind no subject has. */
const char *rlw_subject_kind_name(unsigned kind);

/* 1 when s is a subject as the module makes it: family 4 with prefix <= 32
 * and bytes[4..15] zero, or family 6 with prefix <= 128; no bit set beyond
 * the prefix; scope RLW_SCOPE_ENFORCE or RLW_SCOPE_DRY_RUN; kind
 * RLW_KIND_CLIENT or RLW_KIND_NET (a network: prefix 1 to 32 or 128); or
 * family RLW_AF_KEY, kind RLW_KIND_KEY, prefix below RLW_KEYS_MAX, scope as
 * above (any bytes: a hash). */
int rlw_subject_valid(const rlw_addr_t *s);

/* 1 when host lies in the network subject net (kind RLW_KIND_NET), whatever
 * the scopes. */
int rlw_subject_net_holds(const rlw_addr_t *net, const rlw_addr_t *host);

#endif

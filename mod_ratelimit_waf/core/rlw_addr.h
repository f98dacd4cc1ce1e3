/* rlw_addr.h - client addresses, IPv6 grouping and CIDR lists.
 *
 * httpd-free. Every address handled by the module goes through
 * rlw_addr_parse(), so IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4 everywhere.
 */
#ifndef RLW_ADDR_H
#define RLW_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define RLW_AF_INET 4
#define RLW_AF_INET6 6
/* The family of a key subject (RLW_KIND_KEY): never 0, which the shm
 * table reads as an empty slot. */
#define RLW_AF_KEY 1

/* Scopes: who a client's counts and bans are for. A virtual host in
 * RateLimitWAFDryRun counts and bans its clients under the dry-run scope,
 * a separate identity in every store, so its decisions are reported and
 * never enforced by the virtual hosts that are not in dry run. */
#define RLW_SCOPE_ENFORCE 0
#define RLW_SCOPE_DRY_RUN 1

/* Kinds of subject: what a counter or a ban is about (rlw_subject.h).
 * A client (0, what parsing gives) is one address, or an IPv6 client
 * grouped by RateLimitWAFIPv6Prefix; a network (RateLimitWAFNetwork) is a
 * masked address and its prefix length, counted for every client in it.
 * a request key (RateLimitWAFKey) is family RLW_AF_KEY, the NAME's index in
 * prefix and a keyed hash of the value in bytes (never the value). */
#define RLW_KIND_CLIENT 0
#define RLW_KIND_NET 1
#define RLW_KIND_KEY 2

/* Longest text rlw_addr_format() writes, with "/128" and the NUL. */
#define RLW_ADDR_STRLEN 64

/* An address or a network, and the subject of a counter or a ban (its
 * kind). Always zero-initialise before filling, so two equal values
 * compare equal with memcmp() (it is used as a hash key). */
typedef struct rlw_addr {
    uint8_t family;    /* RLW_AF_INET, RLW_AF_INET6, or 0 when unset */
    uint8_t prefix;    /* significant bits: 32/128 for a host, less for a
                        * network or a grouped IPv6 client */
    uint8_t scope;     /* RLW_SCOPE_ENFORCE (0, what parsing gives) or
                        * RLW_SCOPE_DRY_RUN: part of the key in every
                        * store, never of the address text */
    uint8_t kind;      /* RLW_KIND_CLIENT (0, what parsing gives) or
                        * RLW_KIND_NET: part of the key in every store,
                        * so a network and a grouped client of the same
                        * prefix are apart */
    uint8_t bytes[16]; /* network order; IPv4 uses bytes[0..3], rest zero */
} rlw_addr_t;

/* Parses a host address: dotted IPv4, or IPv6 with or without brackets.
 * A zone ("%eth0") is rejected, IPv4-mapped IPv6 becomes IPv4.
 * prefix is set to 32 or 128. Returns 0 on success, -1 on bad input (never
 * reads past the NUL, any length is safe). */
int rlw_addr_parse(const char *text, rlw_addr_t *out);

/* Fills out from a binary address already parsed by someone else (httpd's
 * apr_sockaddr_t): family RLW_AF_INET with 4 bytes or RLW_AF_INET6 with 16,
 * network order; IPv4-mapped IPv6 becomes IPv4, as in rlw_addr_parse().
 * Returns 0, or -1 for another family. */
int rlw_addr_from_bytes(int family, const void *bytes, rlw_addr_t *out);

/* The identity a client is counted under: IPv4 as is, IPv6 masked to
 * v6_prefix bits (1..128) with prefix set to v6_prefix. A v6_prefix of 0
 * (unset) or above 128 counts each IPv6 address alone (128). */
void rlw_addr_client(const rlw_addr_t *host, unsigned v6_prefix,
                     rlw_addr_t *client);

/* Writes "192.0.2.1", "2001:db8::1", or "2001:db8::/64" when prefix is
 * shorter than a host's: the address only, whatever the scope. A key
 * subject (RLW_AF_KEY) is "key#N:" and its hash in 32 lowercase hex
 * digits (N: the NAME's index). Returns buf. */
char *rlw_addr_format(const rlw_addr_t *a, char *buf, size_t len);

/* Parses "192.0.2.0/24", "2001:db8::/32", or a bare host (a /32 or /128).
 * Host bits set beyond the prefix are an error, as in "10.0.0.1/8".
 * IPv4-mapped networks (::ffff:0:0/96 and longer) become IPv4.
 * Returns NULL on success or a static English reason. */
const char *rlw_cidr_parse(const char *text, rlw_addr_t *net);

/* 1 when host (a host address from rlw_addr_parse) lies in net. */
int rlw_cidr_match(const rlw_addr_t *net, const rlw_addr_t *host);

/* 1 when host lies in any of the n networks. */
int rlw_cidr_list_match(const rlw_addr_t *nets, int n, const rlw_addr_t *host);

#endif

/* rlw_record.h - wire encodings of what the cluster store keeps in
 * memcached: a client's ban state and ban/unban journal entries.
 *
 * httpd-free and pure. Fixed length, versioned, little-endian written byte
 * by byte (never a struct copied as memory), so nodes built by different
 * compilers or on different CPUs read each other's records. Records are
 * sealed (rlw_crypto.h) before they reach memcached; these decoders are the
 * second line: strict, any byte out of place is -1, and every buffer that
 * decodes re-encodes to exactly the same bytes.
 *
 * Ban record (RLW_BAN_RECORD_LEN = 26 bytes):
 *   0  'B'  1  version 2
 *   2  start_ms (int64)  10 until_ms (int64)
 *   18 strikes (uint32)  22 count (uint32)
 * Journal entry (RLW_JOURNAL_LEN = 111 bytes):
 *   0  'J'  1  version 2   2  action (1 ban, 2 unban)
 *   3  subject: family, prefix, scope (0 or 1: dry run), kind, bytes[16]
 *   23 start_ms (int64)  31 until_ms (int64)
 *   39 strikes (uint32)  43 count (uint32)
 *   47 node: printable ASCII, NUL-terminated, zero-padded to 64 bytes
 *
 * Version 2 (same layout as 1) makes start_ms the ban's epoch: strictly
 * increasing from one ban of a client to the next across the cluster (a
 * node deciding a ban over a record starts it after the record's start),
 * kept by an unban, which only moves until_ms back, never below start_ms.
 * Nodes order ban states by it (rlw_ban_state_newer(), rlw_mcparse.h), so
 * a replayed record or entry never replaces a newer state. Version 1
 * records carry no such promise and are refused: they read as bad records
 * (docs/cluster.md, "Record format").
 *
 * Version 3 journal entries (same layout) name a subject of another kind
 * than a client (rlw_subject.h: a network), its kind in byte 6, which
 * version 2 keeps zero. A client's entry stays version 2, byte for byte
 * what it was, so nodes of either version read each other's client
 * entries; a node that predates kinds refuses a version 3 entry (a bad
 * record to it) rather than take a network for a client.
 *
 * Version 4 journal entries (RLW_JOURNAL_PAIR_LEN = 112 bytes) are version
 * 2 or 3's layout, any kind, and one byte more at 111: the (count, window)
 * pair of RateLimitWAFThreshold whose count started the ban, plus one
 * (1 to RLW_PAIRS_MAX), so that every node shows it. Only a node
 * configured with pairs writes them (and only nodes that read pairs can
 * share its configuration); the others write versions 2 and 3 as before.
 */
#ifndef RLW_RECORD_H
#define RLW_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "rlw_addr.h"
#include "rlw_decision.h"
#include "rlw_defaults.h"

#define RLW_RECORD_VERSION 2
/* Journal entries of a subject other than a client. */
#define RLW_JOURNAL_SUBJECT_VERSION 3
#define RLW_BAN_RECORD_LEN 26
#define RLW_JOURNAL_LEN 111
/* Journal entries that name the pair that banned. */
#define RLW_JOURNAL_PAIR_VERSION 4
#define RLW_JOURNAL_PAIR_LEN 112

/* Size of a journal node name, NUL included (rlw_defaults.h). */
#define RLW_NODE_LEN RLW_NODE_NAME_LEN

typedef enum rlw_journal_action {
    RLW_JOURNAL_BAN = 1,
    RLW_JOURNAL_UNBAN = 2
} rlw_journal_action_t;

/* One line of the cluster journal: which node banned or unbanned whom. */
typedef struct rlw_journal {
    uint8_t action;          /* RLW_JOURNAL_BAN or RLW_JOURNAL_UNBAN */
    rlw_addr_t client;       /* the subject, as counted: a client
                              * (rlw_addr_client()) or a network */
    rlw_ban_state_t ban;     /* the ban decided, or the one lifted */
    char node[RLW_NODE_LEN]; /* node that decided, 1..63 printable ASCII */
} rlw_journal_t;

/* What a valid value looks like, for both directions:
 *  ban state: 0 <= start_ms <= until_ms (0, 0 = never banned);
 *  client: a subject as rlw_subject_valid() says (a client or a
 *    network; its kind gives the entry's version);
 *  node: 1..63 characters 0x20..0x7e, NUL-terminated, the rest of the
 *    array zero on the wire (the encoder writes zeros whatever follows the
 *    NUL in memory). */

/* Writes b to out[RLW_BAN_RECORD_LEN]. Returns 0, or -1 (nothing written)
 * when b is not valid as above. */
int rlw_ban_record_encode(const rlw_ban_state_t *b,
                          unsigned char out[RLW_BAN_RECORD_LEN]);

/* Reads a ban record of exactly RLW_BAN_RECORD_LEN bytes into *b.
 * Returns 0, or -1 with *b untouched on any other length, kind, version or
 * value. */
int rlw_ban_record_decode(const unsigned char *in, size_t len,
                          rlw_ban_state_t *b);

/* Writes j to out[RLW_JOURNAL_LEN]. Returns 0, or -1 (nothing written) when
 * j is not valid. */
int rlw_journal_encode(const rlw_journal_t *j,
                       unsigned char out[RLW_JOURNAL_LEN]);

/* Writes j as a version 4 entry, with j->ban.pair (1 to RLW_PAIRS_MAX),
 * to out[RLW_JOURNAL_PAIR_LEN]. Returns 0, or -1 (nothing written) when j
 * is not valid or its pair is 0 or over RLW_PAIRS_MAX. (rlw_journal_encode()
 * leaves the pair out.) */
int rlw_journal_encode_pair(const rlw_journal_t *j,
                            unsigned char out[RLW_JOURNAL_PAIR_LEN]);

/* Reads a journal entry of exactly RLW_JOURNAL_LEN bytes (versions 2, 3:
 * ban.pair 0) or RLW_JOURNAL_PAIR_LEN (version 4) into *j (zeroed
 * first, so client and node compare with memcmp()). Returns 0, or -1 with
 * *j untouched. */
int rlw_journal_decode(const unsigned char *in, size_t len, rlw_journal_t *j);

#endif

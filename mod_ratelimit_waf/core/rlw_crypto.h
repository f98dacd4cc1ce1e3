/* rlw_crypto.h - the cluster secret, client pseudonyms and sealed records.
 *
 * httpd-free (OpenSSL libcrypto only). memcached is shared by every WAF node
 * and must never see a client address in clear:
 *  - keys name a client by rlw_pseudonym(), a keyed hash (HMAC-SHA256) that
 *    every node sharing the secret computes alike, and nobody else can;
 *  - anything a node reads back and acts on (a ban record, a journal entry
 *    naming the client) is sealed with AES-256-GCM, the memcached key as
 *    associated data, so a forged, altered or moved record fails to open.
 *
 * Both subkeys are derived from one secret file (rlw_secret_load()), so
 * rotating the secret changes every key and invalidates every record at once.
 * All functions are thread-safe: no shared OpenSSL context.
 */
#ifndef RLW_CRYPTO_H
#define RLW_CRYPTO_H

#include <stddef.h>
#include <sys/types.h>

#include "rlw_addr.h"

/* Length of each derived subkey (HMAC-SHA256 output, AES-256 key). */
#define RLW_KEY_LEN 32

/* Secret file content, in bytes, after one trailing newline is trimmed. */
#define RLW_SECRET_MIN 32
#define RLW_SECRET_MAX 4096

/* Characters of a pseudonym, NUL not counted: base64url of 16 bytes. */
#define RLW_PSEUDO_LEN 22

/* Sealed layout: version (1 byte) | nonce (12) | ciphertext | tag (16). */
#define RLW_SEAL_VERSION 1
#define RLW_SEAL_NONCE_LEN 12
#define RLW_SEAL_TAG_LEN 16
#define RLW_SEAL_OVERHEAD (1 + RLW_SEAL_NONCE_LEN + RLW_SEAL_TAG_LEN)

/* Largest plaintext rlw_seal() takes and rlw_open() returns. Records are
 * tens of bytes; the bound keeps lengths far from int limits. */
#define RLW_SEAL_MAX_PLAIN 65536

/* The two subkeys, derived with domain separation so that neither can be
 * computed from the other. Wipe with rlw_keys_wipe() when done. */
typedef struct rlw_keys {
    unsigned char pseudo[RLW_KEY_LEN]; /* HMAC key of rlw_pseudonym() */
    unsigned char seal[RLW_KEY_LEN];   /* AES-256-GCM key of rlw_seal() */
    unsigned char key[RLW_KEY_LEN];    /* HMAC key of rlw_key_hash() */
} rlw_keys_t;

/* Bytes of a request key's hash (rlw_key_hash()): a key subject's bytes. */
#define RLW_KEY_HASH_LEN 16

/* Reads the secret file at path and derives out->pseudo =
 * HMAC-SHA256(secret, "rlw pseudonym v1"), out->seal =
 * HMAC-SHA256(secret, "rlw seal v1") and out->key =
 * HMAC-SHA256(secret, "rlw key v1").
 * The file must be a regular file (a symbolic link, directory or FIFO is
 * refused), not readable, writable or executable by others (mode & 007 is
 * zero), not writable by its group (mode & 020 is zero; 0600, 0400 and
 * 0640 are fine), and belong to root or to owner (the user that runs with
 * the secret: httpd's User, the user of the command-line tool; pass 0 for
 * root only): whoever else could write it could choose every node's keys.
 * It must hold RLW_SECRET_MIN..RLW_SECRET_MAX bytes of anything once one
 * trailing "\n" (or "\r\n") is dropped.
 * Returns NULL on success, or err (filled with an English sentence naming
 * the path and what is wrong) on failure, with out wiped. err must hold
 * errlen > 0 bytes. */
const char *rlw_secret_load(const char *path, uid_t owner, rlw_keys_t *out,
                            char *err, size_t errlen);

/* Zeroes k in a way the compiler cannot drop. */
void rlw_keys_wipe(rlw_keys_t *k);

/* Writes the pseudonym of client and returns 0: base64url without padding
 * of the first 16 bytes of HMAC-SHA256(k->pseudo, client as 20 bytes:
 * family, prefix, scope, kind, bytes[16]), then a NUL. Same secret,
 * same client, same text on every node and in every process; the dry-run
 * scope of a client, and a network (kind RLW_KIND_NET), have their own
 * keys; a client's kind is 0, so its pseudonym is the one it had before
 * kinds. client should be a subject (rlw_subject.h: unused bytes zero);
 * every byte is hashed as it is.
 * Returns -1 with out set to "" if OpenSSL fails (out of memory): the
 * caller must then skip the store, never use "" as a key. */
int rlw_pseudonym(const rlw_keys_t *k, const rlw_addr_t *client,
                  char out[RLW_PSEUDO_LEN + 1]);

/* Fills k->key with RLW_KEY_LEN random bytes: the request-key secret of
 * a server with no secret file (rlw_key_hash()). Returns 0, or -1 when the
 * RNG fails. */
int rlw_keys_random_key(rlw_keys_t *k);

/* The keyed hash a request key value (RateLimitWAFKey) is known by, in
 * shared memory, memcached, logs, events and status pages alike: the first
 * RLW_KEY_HASH_LEN bytes of HMAC-SHA256(key, name "\0" value), so that the
 * same value under two key names hashes apart. The value itself is never
 * stored. Returns 0, or -1 (out zeroed) on bad arguments or an OpenSSL
 * failure. */
int rlw_key_hash(const unsigned char key[RLW_KEY_LEN], const char *name,
                 const void *value, size_t len,
                 unsigned char out[RLW_KEY_HASH_LEN]);

/* rlw_key_hash() with the key's padded blocks hashed once: what the
 * request path keeps (one per process, read-only, shared by its threads),
 * so that a value costs the SHA-256 blocks of the value only. */
struct evp_md_ctx_st;
typedef struct rlw_key_hasher {
    struct evp_md_ctx_st *inner, *outer; /* after key^ipad, key^opad */
} rlw_key_hasher_t;

/* Prepares h for key. Returns 0, or -1 (h cleared) on bad arguments or an
 * OpenSSL failure. */
int rlw_key_hasher_init(rlw_key_hasher_t *h,
                        const unsigned char key[RLW_KEY_LEN]);
/* Frees what rlw_key_hasher_init() made (h may be cleared already). */
void rlw_key_hasher_clear(rlw_key_hasher_t *h);
/* rlw_key_hash() under h's key: the same output. Thread-safe on one h. */
int rlw_key_hasher_hash(const rlw_key_hasher_t *h, const char *name,
                        const void *value, size_t len,
                        unsigned char out[RLW_KEY_HASH_LEN]);

/* Seals len bytes of plain (0..RLW_SEAL_MAX_PLAIN) into out with
 * AES-256-GCM under k->seal and a fresh random nonce. aad (aadlen bytes,
 * may be NULL when 0) is authenticated, not stored: pass the memcached key
 * so the record only opens under that key. Writes len + RLW_SEAL_OVERHEAD
 * bytes to out and that length to *outlen.
 * Returns 0, or -1 (outcap too small, len too big, OpenSSL or RNG failure)
 * with *outlen set to 0. */
int rlw_seal(const rlw_keys_t *k, const void *aad, size_t aadlen,
             const void *plain, size_t len, unsigned char *out, size_t outcap,
             size_t *outlen);

/* Opens what rlw_seal() wrote, with the same aad. On success writes
 * inlen - RLW_SEAL_OVERHEAD bytes to plain and that length to *plainlen,
 * returns 0. Returns -1 on anything else: too short, unknown version,
 * plaintext over plaincap or RLW_SEAL_MAX_PLAIN, wrong key or aad, any byte
 * altered. On -1, *plainlen is 0 and nothing unauthenticated is left in
 * plain (the bytes it may have touched are zeroed). Never reads outside
 * in[0..inlen). */
int rlw_open(const rlw_keys_t *k, const void *aad, size_t aadlen,
             const unsigned char *in, size_t inlen, void *plain,
             size_t plaincap, size_t *plainlen);

#endif

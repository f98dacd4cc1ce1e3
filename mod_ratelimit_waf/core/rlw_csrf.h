/* rlw_csrf.h - form tokens of the status page's admin forms (cross-site
 * request forgery).
 *
 * httpd-free (OpenSSL libcrypto only). A browser sends an operator's
 * credentials (a password it remembers, a client certificate, the address
 * of the operator's desk) with any form another site makes it post; only
 * the pages of this server can read a token, so a post that carries a
 * valid one came from a page this server gave the same operator:
 *
 *   token = base64url(HMAC-SHA256(key, "rlw csrf v1" | slot | identity |
 *                                      action))
 *
 * slot is the hour (RLW_CSRF_SLOT_MS) the token was made in; a token is
 * accepted in its own slot and the next one, so it lives one to two hours.
 * identity names the operator (the glue passes the logged-in user or the
 * client address), action the form ("ban", "unban"): a token is good for
 * one operator and one form only. The key is random per server start
 * (rlw_csrf_key_new()), never written anywhere.
 */
#ifndef RLW_CSRF_H
#define RLW_CSRF_H

#include <stdint.h>

/* Bytes of the key. */
#define RLW_CSRF_KEY_LEN 32
/* Characters of a token, NUL not counted: base64url of 32 bytes. */
#define RLW_CSRF_TOKEN_LEN 43
/* Longest identity or action, in bytes: longer ones get no token. */
#define RLW_CSRF_FIELD_MAX 1024
/* Length of a time slot, in ms: a token lives one to two of them. */
#define RLW_CSRF_SLOT_MS 3600000

/* Fills key with RLW_CSRF_KEY_LEN random bytes. Returns 0, or -1 if the
 * random generator fails (key is then zeroed: never use it). */
int rlw_csrf_key_new(unsigned char key[RLW_CSRF_KEY_LEN]);

/* Writes the token of identity and action at time now_ms (ms since the
 * epoch; before the epoch counts as the epoch) and a NUL to out, returns 0.
 * identity and action are any strings (NULL is "") of at most
 * RLW_CSRF_FIELD_MAX bytes. Returns -1 with out set to "" if one is longer
 * or OpenSSL fails. */
int rlw_csrf_make(const unsigned char key[RLW_CSRF_KEY_LEN], int64_t now_ms,
                  const char *identity, const char *action,
                  char out[RLW_CSRF_TOKEN_LEN + 1]);

/* 1 if token (any string, NULL is refused) is what rlw_csrf_make() wrote
 * for identity and action in the slot of now_ms or the one before; else 0.
 * The comparison takes the same time whatever the token. */
int rlw_csrf_check(const unsigned char key[RLW_CSRF_KEY_LEN], int64_t now_ms,
                   const char *identity, const char *action, const char *token);

#endif

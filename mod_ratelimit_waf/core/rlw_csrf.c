/* rlw_csrf.c - form tokens of the admin forms (rlw_csrf.h). */
#include "rlw_csrf.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Domain separation from every other HMAC of the project. */
static const char label[] = "rlw csrf v1";

#define MAC_LEN 32

int rlw_csrf_key_new(unsigned char key[RLW_CSRF_KEY_LEN])
{
    if (RAND_bytes(key, RLW_CSRF_KEY_LEN) != 1) {
        OPENSSL_cleanse(key, RLW_CSRF_KEY_LEN);
        return -1;
    }
    return 0;
}

/* Appends a length-prefixed string, so that ("ab", "c") and ("a", "bc")
 * never hash alike; -1 when it does not fit. */
static int put_str(unsigned char *buf, size_t cap, size_t *at, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n > RLW_CSRF_FIELD_MAX || cap - *at < 4 + n)
        return -1;
    buf[(*at)++] = (unsigned char)(n >> 24);
    buf[(*at)++] = (unsigned char)(n >> 16);
    buf[(*at)++] = (unsigned char)(n >> 8);
    buf[(*at)++] = (unsigned char)n;
    memcpy(buf + *at, s != NULL ? s : "", n);
    *at += n;
    return 0;
}

/* HMAC of one slot into mac; 0 or -1. */
static int mac_of(const unsigned char *key, int64_t slot, const char *identity,
                  const char *action, unsigned char mac[MAC_LEN])
{
    unsigned char msg[sizeof(label) + 8 + 2 * (4 + RLW_CSRF_FIELD_MAX)];
    unsigned int len = 0;
    size_t at = sizeof(label);
    int i, rc = -1;

    memcpy(msg, label, sizeof(label)); /* with its NUL */
    for (i = 0; i < 8; i++)
        msg[at++] = (unsigned char)((uint64_t)slot >> (56 - 8 * i));
    if (put_str(msg, sizeof(msg), &at, identity) == 0 &&
        put_str(msg, sizeof(msg), &at, action) == 0 &&
        HMAC(EVP_sha256(), key, RLW_CSRF_KEY_LEN, msg, at, mac, &len) != NULL &&
        len == MAC_LEN)
        rc = 0;
    if (rc != 0)
        OPENSSL_cleanse(mac, MAC_LEN);
    return rc;
}

static int64_t slot_of(int64_t now_ms)
{
    return now_ms > 0 ? now_ms / RLW_CSRF_SLOT_MS : 0;
}

/* base64url without padding of MAC_LEN bytes: RLW_CSRF_TOKEN_LEN chars. */
static void encode(const unsigned char *in, char *out)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstu"
                              "vwxyz0123456789-_";
    uint32_t v = 0;
    int bits = 0, i, o = 0;

    for (i = 0; i < MAC_LEN; i++) {
        v = (v << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = abc[(v >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = abc[(v << (6 - bits)) & 63];
    out[o] = '\0';
}

_Static_assert((MAC_LEN * 8 + 5) / 6 == RLW_CSRF_TOKEN_LEN,
               "a token is the base64url of one HMAC-SHA256");

static int make_slot(const unsigned char *key, int64_t slot,
                     const char *identity, const char *action,
                     char out[RLW_CSRF_TOKEN_LEN + 1])
{
    unsigned char mac[MAC_LEN];

    out[0] = '\0';
    if (mac_of(key, slot, identity, action, mac) != 0)
        return -1;
    encode(mac, out);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

int rlw_csrf_make(const unsigned char key[RLW_CSRF_KEY_LEN], int64_t now_ms,
                  const char *identity, const char *action,
                  char out[RLW_CSRF_TOKEN_LEN + 1])
{
    return make_slot(key, slot_of(now_ms), identity, action, out);
}

int rlw_csrf_check(const unsigned char key[RLW_CSRF_KEY_LEN], int64_t now_ms,
                   const char *identity, const char *action, const char *token)
{
    char cur[RLW_CSRF_TOKEN_LEN + 1], prev[RLW_CSRF_TOKEN_LEN + 1];
    int64_t slot = slot_of(now_ms);
    int ok;

    if (token == NULL || strlen(token) != RLW_CSRF_TOKEN_LEN)
        return 0;
    if (make_slot(key, slot, identity, action, cur) != 0 ||
        make_slot(key, slot > 0 ? slot - 1 : 0, identity, action, prev) != 0)
        return 0;
    /* Both compared every time, each in constant time. */
    ok = (int)(CRYPTO_memcmp(token, cur, RLW_CSRF_TOKEN_LEN) == 0) |
         (int)(CRYPTO_memcmp(token, prev, RLW_CSRF_TOKEN_LEN) == 0);
    OPENSSL_cleanse(cur, sizeof(cur));
    OPENSSL_cleanse(prev, sizeof(prev));
    return ok;
}

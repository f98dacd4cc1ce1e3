/* rlw_crypto.c - secret file, subkeys, pseudonyms, AES-256-GCM records
 * (rlw_crypto.h).
 *
 * Every call builds and frees its own OpenSSL context, so threads and
 * processes never share cipher state; the only global is OpenSSL's own RNG,
 * which is thread-safe and reseeds after fork() in OpenSSL 3.
 */
#include "rlw_crypto.h"
#include "rlw_defaults.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

/* Subkey labels. Changing one changes every key in the cluster: bump the
 * "v1" and roll the whole cluster at once. */
static const char label_pseudo[] = "rlw pseudonym v1";
static const char label_seal[] = "rlw seal v1";
static const char label_key[] = "rlw key v1";

/* Bytes of the HMAC kept for a pseudonym: 128 bits, no collision in any
 * realistic client population, and 22 characters of memcached key. */
#define PSEUDO_BYTES 16

static const char *fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return "secret file refused";
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return err;
}

/* HMAC-SHA256(key, data) into out[32]; 0 or -1. */
static int hmac256(const void *key, size_t keylen, const void *data,
                   size_t datalen, unsigned char out[RLW_KEY_LEN])
{
    unsigned int outlen = 0;

    if (keylen > INT_MAX)
        return -1;
    if (HMAC(EVP_sha256(), key, (int)keylen, data, datalen, out, &outlen) ==
            NULL ||
        outlen != RLW_KEY_LEN)
        return -1;
    return 0;
}

/* Reads all of fd into buf, at most cap bytes; returns the count, cap when
 * the file is longer (the caller refuses it), or -1 with errno set. */
static ssize_t read_all(int fd, unsigned char *buf, size_t cap)
{
    size_t got = 0;

    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

const char *rlw_secret_load(const char *path, uid_t owner, rlw_keys_t *out,
                            char *err, size_t errlen)
{
    /* Room for the longest secret, a "\r\n", and one byte that proves the
     * file is too long. */
    unsigned char buf[RLW_SECRET_MAX + 3];
    const char *res = NULL;
    struct stat st;
    ssize_t n;
    size_t len;
    int fd;

    if (out == NULL)
        return fail(err, errlen, "no key buffer given for the secret file");
    rlw_keys_wipe(out);
    if (path == NULL || *path == '\0')
        return fail(err, errlen, "no secret file given");

    /* O_NOFOLLOW: the file itself, not whatever a link points at today.
     * O_NONBLOCK: a FIFO must not hang start-up before fstat() refuses it. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            return fail(err, errlen,
                        "secret file %s is a symbolic link; name the file "
                        "itself",
                        path);
        return fail(err, errlen, "cannot open secret file %s: %s", path,
                    strerror(errno));
    }
    if (fstat(fd, &st) != 0) {
        res = fail(err, errlen, "cannot stat secret file %s: %s", path,
                   strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        res = fail(err, errlen, "secret file %s is not a regular file", path);
        goto done;
    }
    if (st.st_mode & 007) {
        res = fail(err, errlen,
                   "secret file %s is readable or writable by others (mode "
                   "%04o); remove their access (chmod o-rwx)",
                   path, (unsigned)(st.st_mode & 07777));
        goto done;
    }
    if (st.st_mode & 020) {
        res = fail(err, errlen,
                   "secret file %s is writable by its group (mode %04o); "
                   "remove the group's write access (chmod g-w)",
                   path, (unsigned)(st.st_mode & 07777));
        goto done;
    }
    if (st.st_uid != 0 && st.st_uid != owner) {
        res = fail(err, errlen,
                   "secret file %s belongs to uid %lu; it must belong to "
                   "root or to uid %lu (chown)",
                   path, (unsigned long)st.st_uid, (unsigned long)owner);
        goto done;
    }

    n = read_all(fd, buf, sizeof(buf));
    if (n < 0) {
        res = fail(err, errlen, "cannot read secret file %s: %s", path,
                   strerror(errno));
        goto done;
    }
    len = (size_t)n;
    /* One trailing newline is what editors and "echo" add; it is not part
     * of the secret, so every node derives the same keys however the file
     * was written. */
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    if (len < RLW_SECRET_MIN) {
        res = fail(err, errlen,
                   "secret file %s holds %lu bytes, at least %d are needed",
                   path, (unsigned long)len, RLW_SECRET_MIN);
        goto done;
    }
    if (len > RLW_SECRET_MAX) {
        res = fail(err, errlen, "secret file %s is longer than %d bytes", path,
                   RLW_SECRET_MAX);
        goto done;
    }

    if (hmac256(buf, len, label_pseudo, strlen(label_pseudo), out->pseudo) !=
            0 ||
        hmac256(buf, len, label_seal, strlen(label_seal), out->seal) != 0 ||
        hmac256(buf, len, label_key, strlen(label_key), out->key) != 0)
        res = fail(err, errlen, "cannot derive keys from secret file %s", path);

done:
    OPENSSL_cleanse(buf, sizeof(buf));
    close(fd);
    if (res != NULL)
        rlw_keys_wipe(out);
    return res;
}

void rlw_keys_wipe(rlw_keys_t *k)
{
    if (k != NULL)
        OPENSSL_cleanse(k, sizeof(*k));
}

/* base64url without padding: n bytes -> ceil(n * 4 / 3) characters. */
static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i;

    for (i = 0; i + 3 <= n; i += 3) {
        unsigned long v = ((unsigned long)in[i] << 16) |
                          ((unsigned long)in[i + 1] << 8) | in[i + 2];

        *out++ = alphabet[(v >> 18) & 63];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        unsigned long v = (unsigned long)in[i] << 16;

        *out++ = alphabet[(v >> 18) & 63];
        *out++ = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        unsigned long v =
            ((unsigned long)in[i] << 16) | ((unsigned long)in[i + 1] << 8);

        *out++ = alphabet[(v >> 18) & 63];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
    }
    *out = '\0';
}

int rlw_pseudonym(const rlw_keys_t *k, const rlw_addr_t *client,
                  char out[RLW_PSEUDO_LEN + 1])
{
    unsigned char wire[RLW_ADDR_WIRE_LEN];
    unsigned char mac[RLW_KEY_LEN];
    int rc = -1;

    out[0] = '\0';
    if (k == NULL || client == NULL)
        return -1;
    /* Field by field, not the struct's memory: the hash, and so every
     * memcached key, must not depend on the compiler's layout. */
    wire[0] = client->family;
    wire[1] = client->prefix;
    wire[2] = client->scope; /* 0 for enforcing: the keys of before */
    wire[3] = client->kind;  /* 0 for a client: the keys of before */
    memcpy(wire + 4, client->bytes, sizeof(client->bytes));
    if (hmac256(k->pseudo, sizeof(k->pseudo), wire, sizeof(wire), mac) == 0) {
        b64url(mac, PSEUDO_BYTES, out);
        rc = 0;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return rc;
}

int rlw_keys_random_key(rlw_keys_t *k)
{
    if (k == NULL || RAND_bytes(k->key, (int)sizeof(k->key)) != 1)
        return -1;
    return 0;
}

/* SHA-256, fetched once per process: OpenSSL 3 looks an implicit
 * EVP_sha256() up again on every use, under its store's lock, which the
 * request path (rlw_key_hash(), every request with RateLimitWAFKey) must
 * not pay per call. NULL when the fetch failed. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int rlw_key_hasher_init(rlw_key_hasher_t *h,
                        const unsigned char key[RLW_KEY_LEN])
{
    unsigned char ipad[64], opad[64];
    int i, ok;

    if (h == NULL)
        return -1;
    h->inner = h->outer = NULL;
    if (key == NULL || pthread_once(&sha256_once, sha256_fetch) != 0 ||
        sha256_md == NULL)
        return -1;
    /* HMAC as RFC 2104 builds it: the key (32 bytes, under SHA-256's
     * 64-byte block) zero-padded, xored with ipad and opad; each padded
     * block hashed once, here, so that a value costs the blocks of the
     * value only. */
    for (i = 0; i < 64; i++) {
        unsigned char k = i < RLW_KEY_LEN ? key[i] : 0;

        ipad[i] = (unsigned char)(k ^ 0x36);
        opad[i] = (unsigned char)(k ^ 0x5c);
    }
    h->inner = EVP_MD_CTX_new();
    h->outer = EVP_MD_CTX_new();
    ok = h->inner != NULL && h->outer != NULL &&
         EVP_DigestInit_ex(h->inner, sha256_md, NULL) == 1 &&
         EVP_DigestUpdate(h->inner, ipad, sizeof(ipad)) == 1 &&
         EVP_DigestInit_ex(h->outer, sha256_md, NULL) == 1 &&
         EVP_DigestUpdate(h->outer, opad, sizeof(opad)) == 1;
    OPENSSL_cleanse(ipad, sizeof(ipad));
    OPENSSL_cleanse(opad, sizeof(opad));
    if (!ok) {
        rlw_key_hasher_clear(h);
        return -1;
    }
    return 0;
}

void rlw_key_hasher_clear(rlw_key_hasher_t *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->inner); /* frees the state, cleansed */
    EVP_MD_CTX_free(h->outer);
    h->inner = h->outer = NULL;
}

int rlw_key_hasher_hash(const rlw_key_hasher_t *h, const char *name,
                        const void *value, size_t len,
                        unsigned char out[RLW_KEY_HASH_LEN])
{
    unsigned char inner[RLW_KEY_LEN], mac[RLW_KEY_LEN];
    unsigned int n1 = 0, n2 = 0;
    EVP_MD_CTX *ctx;
    int ok;

    if (out == NULL)
        return -1;
    memset(out, 0, RLW_KEY_HASH_LEN);
    if (h == NULL || h->inner == NULL || h->outer == NULL || name == NULL ||
        (value == NULL && len > 0) || len > RLW_SEAL_MAX_PLAIN)
        return -1;
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return -1;
    /* name, its NUL, then the value: no (name, value) pair reads as
     * another, since a name holds no NUL. The prepared states are only
     * read: one hasher serves every thread. */
    ok = EVP_MD_CTX_copy_ex(ctx, h->inner) == 1 &&
         EVP_DigestUpdate(ctx, name, strlen(name) + 1) == 1 &&
         (len == 0 || EVP_DigestUpdate(ctx, value, len) == 1) &&
         EVP_DigestFinal_ex(ctx, inner, &n1) == 1 && n1 == RLW_KEY_LEN &&
         EVP_MD_CTX_copy_ex(ctx, h->outer) == 1 &&
         EVP_DigestUpdate(ctx, inner, sizeof(inner)) == 1 &&
         EVP_DigestFinal_ex(ctx, mac, &n2) == 1 && n2 == RLW_KEY_LEN;
    EVP_MD_CTX_free(ctx);
    if (ok)
        memcpy(out, mac, RLW_KEY_HASH_LEN);
    OPENSSL_cleanse(inner, sizeof(inner));
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok ? 0 : -1;
}

int rlw_key_hash(const unsigned char key[RLW_KEY_LEN], const char *name,
                 const void *value, size_t len,
                 unsigned char out[RLW_KEY_HASH_LEN])
{
    rlw_key_hasher_t h;
    int rc;

    if (out != NULL)
        memset(out, 0, RLW_KEY_HASH_LEN);
    if (rlw_key_hasher_init(&h, key) != 0)
        return -1;
    rc = rlw_key_hasher_hash(&h, name, value, len, out);
    rlw_key_hasher_clear(&h);
    return rc;
}

int rlw_seal(const rlw_keys_t *k, const void *aad, size_t aadlen,
             const void *plain, size_t len, unsigned char *out, size_t outcap,
             size_t *outlen)
{
    unsigned char *nonce, *ct;
    EVP_CIPHER_CTX *ctx;
    int n, done = 0, rc = -1;

    if (outlen == NULL)
        return -1;
    *outlen = 0;
    if (k == NULL || out == NULL || len > RLW_SEAL_MAX_PLAIN ||
        outcap < len + RLW_SEAL_OVERHEAD || (len > 0 && plain == NULL) ||
        (aadlen > 0 && aad == NULL) || aadlen > INT_MAX)
        return -1;

    out[0] = RLW_SEAL_VERSION;
    nonce = out + 1;
    ct = nonce + RLW_SEAL_NONCE_LEN;
    /* A random 96-bit nonce per record: records are few per client and a
     * key lives until the secret is rotated, far below the 2^32 messages
     * where random GCM nonces start to risk a repeat. */
    if (RAND_bytes(nonce, RLW_SEAL_NONCE_LEN) != 1)
        return -1;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return -1;
    /* The version byte is authenticated along with the caller's aad, so
     * every stored byte is covered by the tag. */
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, RLW_SEAL_NONCE_LEN,
                            NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, k->seal, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &n, out, 1) != 1)
        goto done;
    if (aadlen > 0 && EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
        goto done;
    if (len > 0) {
        if (EVP_EncryptUpdate(ctx, ct, &n, plain, (int)len) != 1)
            goto done;
        done = n;
    }
    if (EVP_EncryptFinal_ex(ctx, ct + done, &n) != 1)
        goto done;
    done += n;
    if ((size_t)done != len ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, RLW_SEAL_TAG_LEN,
                            ct + len) != 1)
        goto done;
    *outlen = len + RLW_SEAL_OVERHEAD;
    rc = 0;

done:
    EVP_CIPHER_CTX_free(ctx);
    if (rc != 0)
        OPENSSL_cleanse(out, len + RLW_SEAL_OVERHEAD);
    return rc;
}

int rlw_open(const rlw_keys_t *k, const void *aad, size_t aadlen,
             const unsigned char *in, size_t inlen, void *plain,
             size_t plaincap, size_t *plainlen)
{
    unsigned char tag[RLW_SEAL_TAG_LEN];
    unsigned char empty[1]; /* GCM final writes nothing, but wants a place */
    unsigned char *pt = plain;
    const unsigned char *ct;
    EVP_CIPHER_CTX *ctx;
    size_t len;
    int n, done = 0, rc = -1;

    if (plainlen == NULL)
        return -1;
    *plainlen = 0;
    if (k == NULL || in == NULL || inlen < RLW_SEAL_OVERHEAD ||
        in[0] != RLW_SEAL_VERSION || (aadlen > 0 && aad == NULL) ||
        aadlen > INT_MAX)
        return -1;
    len = inlen - RLW_SEAL_OVERHEAD;
    if (len > RLW_SEAL_MAX_PLAIN || len > plaincap || (len > 0 && !plain))
        return -1;
    if (len == 0)
        pt = empty;
    ct = in + 1 + RLW_SEAL_NONCE_LEN;
    memcpy(tag, ct + len, sizeof(tag)); /* ctrl wants a writable pointer */

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return -1;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, RLW_SEAL_NONCE_LEN,
                            NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, k->seal, in + 1) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, in, 1) != 1)
        goto done;
    if (aadlen > 0 && EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) != 1)
        goto done;
    if (len > 0) {
        if (EVP_DecryptUpdate(ctx, pt, &n, ct, (int)len) != 1)
            goto done;
        done = n;
    }
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, RLW_SEAL_TAG_LEN, tag) !=
        1)
        goto done;
    /* The tag is checked here; until it passes, pt holds unauthenticated
     * bytes that must not reach the caller. */
    if (EVP_DecryptFinal_ex(ctx, pt + done, &n) != 1)
        goto done;
    done += n;
    if ((size_t)done != len)
        goto done;
    *plainlen = len;
    rc = 0;

done:
    EVP_CIPHER_CTX_free(ctx);
    if (rc != 0 && len > 0)
        OPENSSL_cleanse(pt, len);
    return rc;
}

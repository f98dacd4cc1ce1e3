/* test_crypto.c - secret file checks, subkey derivation and pseudonyms
 * (known answers computed independently with Python's hmac), AES-256-GCM
 * sealing against tampering, wrong keys and wrong keys' names.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rlw_crypto.h"
#include "unit_suites.h"

#define SECRET32 "0123456789abcdef0123456789abcdef"

/* The user the secret may belong to besides root: the test's own files
 * belong to it. */
#define OWNER geteuid()

/* HMAC-SHA256(SECRET32, "rlw pseudonym v1") and (..., "rlw seal v1"). */
static const unsigned char kat_pseudo[RLW_KEY_LEN] = {
    0x00, 0xc7, 0xdd, 0x50, 0x16, 0x8e, 0x64, 0x07, 0x16, 0x69, 0xd4,
    0xec, 0x04, 0xb0, 0x8c, 0x93, 0x8e, 0xb0, 0x4e, 0xec, 0xff, 0x52,
    0x5c, 0x34, 0xd5, 0xe3, 0x5e, 0x20, 0x83, 0x70, 0x30, 0x6b};
static const unsigned char kat_seal[RLW_KEY_LEN] = {
    0x81, 0x43, 0xa4, 0xce, 0x18, 0x46, 0x5b, 0x68, 0xa2, 0x4f, 0x15,
    0xca, 0xec, 0x4b, 0xe0, 0x74, 0x99, 0x1a, 0x7c, 0xd6, 0x68, 0x93,
    0x60, 0xb1, 0xd5, 0xcb, 0x7a, 0xb2, 0x82, 0xf0, 0xbe, 0x3f};

/* A scratch directory per test (checked fixture: made and removed around
 * each test, in the forked child or in-process alike). */
static char dir[64];
static const char *const scratch[] = {"secret", "other", "link", "fifo"};

static void dir_setup(void)
{
    snprintf(dir, sizeof(dir), "%s", "/tmp/rlw_crypto_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void dir_teardown(void)
{
    char p[128];
    size_t i;

    for (i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, scratch[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/sub", dir);
    rmdir(p);
    rmdir(dir);
}

/* Writes len bytes to dir/name with exactly mode (umask aside); returns
 * the path in a static buffer. */
static const char *put_file(const char *name, const void *data, size_t len,
                            mode_t mode)
{
    static char p[128];
    FILE *f;

    snprintf(p, sizeof(p), "%s/%s", dir, name);
    unlink(p); /* a fresh file: fopen() would keep an old one's mode */
    f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(p, mode), 0);
    return p;
}

static void load_ok(const char *path, rlw_keys_t *k)
{
    char err[256];
    const char *e = rlw_secret_load(path, OWNER, k, err, sizeof(err));

    ck_assert_msg(e == NULL, "%s refused: %s", path, e);
}

/* Loads SECRET32 (or a variant) as the "nodes" of the cluster would. */
static void keys_from(const char *secret, rlw_keys_t *k)
{
    load_ok(put_file("secret", secret, strlen(secret), 0600), k);
}

static const rlw_keys_t *kat_keys(void)
{
    static rlw_keys_t k;

    memcpy(k.pseudo, kat_pseudo, sizeof(k.pseudo));
    memcpy(k.seal, kat_seal, sizeof(k.seal));
    return &k;
}

/* ---- secret file ---- */

typedef struct mode_case {
    mode_t mode;
    const char *why; /* NULL: accepted; else a word of the refusal */
} mode_case_t;

static const mode_case_t modes[] = {
    {0600, NULL},     {0400, NULL},     {0640, NULL},     {0440, NULL},
    {0700, NULL},     {0650, NULL},     {0610, NULL},     {0660, "group"},
    {0620, "group"},  {0670, "group"},  {0420, "group"},  {0644, "others"},
    {0666, "others"}, {0604, "others"}, {0602, "others"}, {0601, "others"},
    {0777, "others"},
};

START_TEST(secret_modes)
{
    const mode_case_t *c = &modes[_i];
    const char *path = put_file("secret", SECRET32, 32, c->mode);
    char err[256], want[16];
    rlw_keys_t k;
    const char *e;

    memset(&k, 0x5a, sizeof(k));
    e = rlw_secret_load(path, OWNER, &k, err, sizeof(err));
    if (c->why == NULL) {
        ck_assert_msg(e == NULL, "mode %04o refused: %s", (unsigned)c->mode, e);
        ck_assert_int_eq(memcmp(k.pseudo, kat_pseudo, RLW_KEY_LEN), 0);
        ck_assert_int_eq(memcmp(k.seal, kat_seal, RLW_KEY_LEN), 0);
    } else {
        static const rlw_keys_t zero;

        ck_assert_msg(e == err, "mode %04o accepted", (unsigned)c->mode);
        snprintf(want, sizeof(want), "%04o", (unsigned)c->mode);
        ck_assert_msg(strstr(err, want) != NULL, "no mode in: %s", err);
        ck_assert_msg(strstr(err, c->why) != NULL, "no reason in: %s", err);
        ck_assert_msg(strstr(err, path) != NULL, "no path in: %s", err);
        ck_assert_int_eq(memcmp(&k, &zero, sizeof(k)), 0); /* wiped */
    }
}
END_TEST

/* The file belongs to root or to the given user, nobody else: another
 * user who owns it can chmod it and choose every node's keys. */
START_TEST(secret_owner)
{
    const char *path = put_file("secret", SECRET32, 32, 0600);
    uid_t uid = geteuid();
    char err[256], want[32];
    rlw_keys_t k;

    if (uid == 0) { /* the suites run as root: a file of another user */
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        uid = 65534;
    }
    ck_assert_ptr_null(rlw_secret_load(path, uid, &k, err, sizeof(err)));
    ck_assert_int_eq(memcmp(k.seal, kat_seal, RLW_KEY_LEN), 0);
    ck_assert_ptr_nonnull(rlw_secret_load(path, uid + 1, &k, err, sizeof(err)));
    snprintf(want, sizeof(want), "uid %lu", (unsigned long)uid);
    ck_assert_msg(strstr(err, want) != NULL, "no owner in: %s", err);
    ck_assert_msg(strstr(err, "root") != NULL, "no rule in: %s", err);
    ck_assert_msg(strstr(err, path) != NULL, "no path in: %s", err);
    ck_assert_int_eq(k.seal[0] | k.pseudo[0], 0); /* wiped */
    if (geteuid() == 0) { /* root's file is fine whoever the user is */
        ck_assert_int_eq(chown(path, 0, 0), 0);
        ck_assert_ptr_null(rlw_secret_load(path, 12345, &k, err, sizeof(err)));
        ck_assert_ptr_null(rlw_secret_load(path, 0, &k, err, sizeof(err)));
    }
}
END_TEST

START_TEST(secret_kat_and_domain_separation)
{
    rlw_keys_t k;

    keys_from(SECRET32, &k);
    ck_assert_int_eq(memcmp(k.pseudo, kat_pseudo, RLW_KEY_LEN), 0);
    ck_assert_int_eq(memcmp(k.seal, kat_seal, RLW_KEY_LEN), 0);
    ck_assert_int_ne(memcmp(k.pseudo, k.seal, RLW_KEY_LEN), 0);
    ck_assert_int_ne(memcmp(k.seal, SECRET32, RLW_KEY_LEN), 0);
    rlw_keys_wipe(&k);
    ck_assert_int_eq(k.pseudo[0] | k.seal[31], 0);
}
END_TEST

/* A request key's hash: keyed by the "rlw key v1" subkey, apart from the
 * other two; the same (name, value) hashes alike on every node, another
 * name, value or secret differently; the value is not in the output. */
START_TEST(key_hash)
{
    rlw_keys_t k, k2;
    rlw_key_hasher_t hs;
    unsigned char a[RLW_KEY_HASH_LEN], b[RLW_KEY_HASH_LEN];
    char big[2000];

    keys_from(SECRET32, &k);
    ck_assert_int_ne(memcmp(k.key, k.pseudo, RLW_KEY_LEN), 0);
    ck_assert_int_ne(memcmp(k.key, k.seal, RLW_KEY_LEN), 0);
    ck_assert_int_eq(rlw_key_hash(k.key, "api", "sk-1", 4, a), 0);
    ck_assert_int_eq(rlw_key_hash(k.key, "api", "sk-1", 4, b), 0);
    ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
    ck_assert_int_eq(rlw_key_hash(k.key, "api2", "sk-1", 4, b), 0);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    /* "ap" + "i\0sk-1" is not "api" + "sk-1": the name's NUL separates. */
    ck_assert_int_eq(rlw_key_hash(k.key, "ap", "i\0sk-1", 6, b), 0);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    ck_assert_int_eq(rlw_key_hash(k.key, "api", "sk-2", 4, b), 0);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    keys_from(SECRET32 "x", &k2);
    ck_assert_int_eq(rlw_key_hash(k2.key, "api", "sk-1", 4, b), 0);
    ck_assert_int_ne(memcmp(a, b, sizeof(a)), 0);
    /* It is HMAC-SHA256(key, name "\0" value), cut to 16 bytes, as
     * OpenSSL's HMAC() computes it (what rlwafctl, t/cluster/23_key.t and
     * the docs promise), for values shorter and longer than a block. */
    memset(big, 'v', sizeof(big));
    ck_assert_int_eq(rlw_key_hasher_init(&hs, k.key), 0);
    {
        static const size_t lens[] = {0, 1, 4, 55, 56, 63, 64, 65, 200, 2000};
        unsigned char msg[2004], mac[32];
        unsigned int maclen = 0;
        size_t i;

        for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            memcpy(msg, "api", 4);
            memcpy(msg + 4, big, lens[i]);
            ck_assert_ptr_nonnull(HMAC(EVP_sha256(), k.key, RLW_KEY_LEN, msg,
                                       4 + lens[i], mac, &maclen));
            ck_assert_int_eq(rlw_key_hash(k.key, "api", big, lens[i], a), 0);
            ck_assert_msg(memcmp(a, mac, sizeof(a)) == 0,
                          "value of %zu bytes: not HMAC-SHA256", lens[i]);
            /* The prepared hasher (the request path's) says the same. */
            ck_assert_int_eq(rlw_key_hasher_hash(&hs, "api", big, lens[i], b),
                             0);
            ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
        }
    }
    rlw_key_hasher_clear(&hs);
    rlw_key_hasher_clear(&hs); /* twice is fine */
    ck_assert_int_eq(rlw_key_hasher_hash(&hs, "api", "x", 1, a), -1);
    ck_assert_int_eq(rlw_key_hasher_init(&hs, NULL), -1);
    /* Bad arguments: -1 and a zeroed output. */
    ck_assert_int_eq(rlw_key_hash(NULL, "api", "x", 1, a), -1);
    ck_assert_int_eq(a[0] | a[15], 0);
    ck_assert_int_eq(rlw_key_hash(k.key, NULL, "x", 1, a), -1);
    ck_assert_int_eq(rlw_key_hash(k.key, "api", NULL, 1, a), -1);
    ck_assert_int_eq(rlw_key_hash(k.key, "api", NULL, 0, a), 0);
    /* A random key secret: 32 bytes that differ from run to run. */
    memset(&k2, 0, sizeof(k2));
    ck_assert_int_eq(rlw_keys_random_key(&k2), 0);
    ck_assert_int_ne(memcmp(k2.key, k.key, RLW_KEY_LEN), 0);
    memcpy(k.key, k2.key, RLW_KEY_LEN);
    ck_assert_int_eq(rlw_keys_random_key(&k2), 0);
    ck_assert_int_ne(memcmp(k2.key, k.key, RLW_KEY_LEN), 0);
    rlw_keys_wipe(&k);
    rlw_keys_wipe(&k2);
}
END_TEST

START_TEST(secret_lengths_and_newline)
{
    static const char *const same[] = {SECRET32 "\n", SECRET32 "\r\n"};
    char big[RLW_SECRET_MAX + 3];
    char err[256];
    rlw_keys_t k, k2;
    size_t i;

    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        keys_from(same[i], &k);
        ck_assert_int_eq(memcmp(k.pseudo, kat_pseudo, RLW_KEY_LEN), 0);
        ck_assert_int_eq(memcmp(k.seal, kat_seal, RLW_KEY_LEN), 0);
    }
    /* Only one newline is trimmed: a second is part of the secret. */
    keys_from(SECRET32 "\n\n", &k);
    ck_assert_int_ne(memcmp(k.seal, kat_seal, RLW_KEY_LEN), 0);

    /* Too short, with or without the newline that does not count. */
    ck_assert_ptr_nonnull(rlw_secret_load(
        put_file("secret", SECRET32, 31, 0600), OWNER, &k, err, sizeof(err)));
    ck_assert_msg(strstr(err, "31 bytes") != NULL, "%s", err);
    ck_assert_ptr_nonnull(rlw_secret_load(
        put_file("secret", "0123456789abcdef0123456789abcde\n", 32, 0600),
        OWNER, &k, err, sizeof(err)));
    ck_assert_ptr_nonnull(rlw_secret_load(put_file("secret", "", 0, 0600),
                                          OWNER, &k, err, sizeof(err)));

    /* The maximum, with and without a newline; one more byte is refused. */
    memset(big, 'x', sizeof(big));
    load_ok(put_file("secret", big, RLW_SECRET_MAX, 0600), &k);
    big[RLW_SECRET_MAX] = '\n';
    load_ok(put_file("secret", big, RLW_SECRET_MAX + 1, 0600), &k2);
    ck_assert_int_eq(memcmp(&k, &k2, sizeof(k)), 0);
    big[RLW_SECRET_MAX] = '\r';
    big[RLW_SECRET_MAX + 1] = '\n';
    load_ok(put_file("secret", big, RLW_SECRET_MAX + 2, 0600), &k2);
    ck_assert_int_eq(memcmp(&k, &k2, sizeof(k)), 0);
    memset(big, 'x', sizeof(big));
    ck_assert_ptr_nonnull(
        rlw_secret_load(put_file("secret", big, RLW_SECRET_MAX + 1, 0600),
                        OWNER, &k, err, sizeof(err)));
    ck_assert_msg(strstr(err, "longer") != NULL, "%s", err);
    ck_assert_ptr_nonnull(
        rlw_secret_load(put_file("secret", big, sizeof(big), 0600), OWNER, &k,
                        err, sizeof(err)));
}
END_TEST

START_TEST(secret_any_bytes)
{
    unsigned char bin[40];
    rlw_keys_t k, k2;
    size_t i;

    for (i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 37 + 200); /* NULs, 0xff, controls */
    bin[5] = 0;
    load_ok(put_file("secret", bin, sizeof(bin), 0600), &k);
    /* A NUL is part of the secret, not its end. */
    bin[39] ^= 1;
    load_ok(put_file("other", bin, sizeof(bin), 0600), &k2);
    ck_assert_int_ne(memcmp(&k, &k2, sizeof(k)), 0);
}
END_TEST

START_TEST(secret_not_a_file)
{
    char p[128], err[256];
    const char *target = put_file("secret", SECRET32, 32, 0600);
    rlw_keys_t k;

    snprintf(p, sizeof(p), "%s/link", dir);
    ck_assert_int_eq(symlink(target, p), 0);
    ck_assert_ptr_nonnull(rlw_secret_load(p, OWNER, &k, err, sizeof(err)));
    ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);

    snprintf(p, sizeof(p), "%s/sub", dir);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    ck_assert_ptr_nonnull(rlw_secret_load(p, OWNER, &k, err, sizeof(err)));
    ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);

    /* Must not block waiting for a writer. */
    snprintf(p, sizeof(p), "%s/fifo", dir);
    ck_assert_int_eq(mkfifo(p, 0600), 0);
    ck_assert_ptr_nonnull(rlw_secret_load(p, OWNER, &k, err, sizeof(err)));
    ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);

    snprintf(p, sizeof(p), "%s/missing", dir);
    ck_assert_ptr_nonnull(rlw_secret_load(p, OWNER, &k, err, sizeof(err)));
    ck_assert_msg(strstr(err, "missing") != NULL, "%s", err);
    ck_assert_ptr_nonnull(rlw_secret_load("", OWNER, &k, err, sizeof(err)));
    ck_assert_ptr_nonnull(rlw_secret_load(NULL, OWNER, &k, err, sizeof(err)));
    ck_assert_ptr_nonnull(
        rlw_secret_load(target, OWNER, NULL, err, sizeof(err)));
    ck_assert_ptr_nonnull(rlw_secret_load(p, OWNER, &k, NULL, 0));
}
END_TEST

/* ---- pseudonyms ---- */

static void pseudo_of(const rlw_keys_t *k, const char *text, unsigned v6,
                      char out[RLW_PSEUDO_LEN + 1])
{
    rlw_addr_t host, client;

    ck_assert_int_eq(rlw_addr_parse(text, &host), 0);
    rlw_addr_client(&host, v6, &client);
    ck_assert_int_eq(rlw_pseudonym(k, &client, out), 0);
}

static int b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

START_TEST(pseudonym_kat_and_shape)
{
    static const char *const hosts[] = {"192.0.2.1", "2001:db8:0:1::7",
                                        "::", "255.255.255.255"};
    char p[RLW_PSEUDO_LEN + 1];
    size_t i, j;

    pseudo_of(kat_keys(), "192.0.2.1", 64, p);
    ck_assert_str_eq(p, "a_WSIN1zH0ZVg-6r-_zVig");
    pseudo_of(kat_keys(), "2001:db8:0:1::7", 64, p);
    ck_assert_str_eq(p, "TYLuOJXvSKvhzqEayiqbwA");

    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char text[RLW_ADDR_STRLEN];
        rlw_addr_t a;

        memset(p, 'Z', sizeof(p));
        pseudo_of(kat_keys(), hosts[i], 128, p);
        ck_assert_uint_eq(strlen(p), RLW_PSEUDO_LEN);
        for (j = 0; j < RLW_PSEUDO_LEN; j++)
            ck_assert_msg(b64url_char(p[j]), "bad char in %s", p);
        /* Nothing of the address shows through. */
        ck_assert_int_eq(rlw_addr_parse(hosts[i], &a), 0);
        rlw_addr_format(&a, text, sizeof(text));
        ck_assert_ptr_null(strstr(p, text));
        ck_assert_ptr_null(strstr(p, hosts[i]));
    }
}
END_TEST

START_TEST(pseudonym_deterministic_across_loads)
{
    char a[RLW_PSEUDO_LEN + 1], b[RLW_PSEUDO_LEN + 1];
    rlw_keys_t node1, node2, other;

    keys_from(SECRET32 "\n", &node1);
    keys_from(SECRET32, &node2); /* the same secret, written differently */
    keys_from("another secret of at least 32 bytes", &other);

    pseudo_of(&node1, "198.51.100.9", 64, a);
    pseudo_of(&node2, "198.51.100.9", 64, b);
    ck_assert_str_eq(a, b);
    pseudo_of(&node1, "198.51.100.9", 64, b);
    ck_assert_str_eq(a, b);
    pseudo_of(&other, "198.51.100.9", 64, b);
    ck_assert_str_ne(a, b);

    /* Grouped IPv6: one pseudonym for the /64. */
    pseudo_of(&node1, "2001:db8::1", 64, a);
    pseudo_of(&node2, "2001:db8::ffff:1", 64, b);
    ck_assert_str_eq(a, b);
    pseudo_of(&node2, "2001:db8:0:1::1", 64, b);
    ck_assert_str_ne(a, b);

    /* The kind is hashed: a network is another identity than the client
     * (or grouped client) of the same bits, with its own keys, the same
     * on every node. */
    {
        rlw_addr_t c;

        ck_assert_int_eq(rlw_addr_parse("192.0.2.1", &c), 0);
        ck_assert_int_eq(rlw_pseudonym(&node1, &c, a), 0);
        c.kind = RLW_KIND_NET;
        ck_assert_int_eq(rlw_pseudonym(&node1, &c, b), 0);
        ck_assert_str_ne(a, b);
        ck_assert_int_eq(rlw_pseudonym(&node2, &c, a), 0);
        ck_assert_str_eq(a, b);
        /* The dry-run scope is another identity, with its own keys, and
         * the same on every node. */
        ck_assert_int_eq(rlw_addr_parse("192.0.2.1", &c), 0);
        ck_assert_int_eq(rlw_pseudonym(&node1, &c, a), 0);
        c.scope = RLW_SCOPE_DRY_RUN;
        ck_assert_int_eq(rlw_pseudonym(&node1, &c, b), 0);
        ck_assert_str_ne(a, b);
        ck_assert_int_eq(rlw_pseudonym(&node2, &c, a), 0);
        ck_assert_str_eq(a, b);
    }
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

START_TEST(pseudonym_distinct)
{
    enum { N = 2048 };
    static char seen[N + 4][RLW_PSEUDO_LEN + 1];
    rlw_addr_t a;
    size_t i;

    /* Consecutive IPv4 hosts, and look-alikes that differ only in family or
     * prefix, all distinct. */
    for (i = 0; i < N; i++) {
        memset(&a, 0, sizeof(a));
        a.family = RLW_AF_INET;
        a.prefix = 32;
        a.bytes[0] = 10;
        a.bytes[2] = (uint8_t)(i >> 8);
        a.bytes[3] = (uint8_t)i;
        ck_assert_int_eq(rlw_pseudonym(kat_keys(), &a, seen[i]), 0);
    }
    memset(&a, 0, sizeof(a));
    a.family = RLW_AF_INET6; /* same bytes as 10.0.0.0 */
    a.prefix = 128;
    a.bytes[0] = 10;
    ck_assert_int_eq(rlw_pseudonym(kat_keys(), &a, seen[N]), 0);
    a.prefix = 64;
    ck_assert_int_eq(rlw_pseudonym(kat_keys(), &a, seen[N + 1]), 0);
    a.family = RLW_AF_INET;
    a.prefix = 24;
    ck_assert_int_eq(rlw_pseudonym(kat_keys(), &a, seen[N + 2]), 0);
    a.family = 0;
    ck_assert_int_eq(rlw_pseudonym(kat_keys(), &a, seen[N + 3]), 0);

    qsort(seen, N + 4, sizeof(seen[0]), cmp_str);
    for (i = 1; i < N + 4; i++)
        ck_assert_msg(strcmp(seen[i - 1], seen[i]) != 0, "collision %s",
                      seen[i]);
}
END_TEST

/* ---- sealing ---- */

#define AAD "rlw:ban:a_WSIN1zH0ZVg-6r-_zVig"
#define AADLEN (sizeof(AAD) - 1)

/* Sealed by Python's cryptography (AESGCM) under kat_seal, nonce 01..0c,
 * associated data "\x01" AAD: proves the wire format, not just a round
 * trip through the same code. */
static const unsigned char kat_sealed[] = {
    0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
    0x0b, 0x0c, 0x5b, 0x71, 0xe7, 0x86, 0x6c, 0x3e, 0x0c, 0x77, 0x4d,
    0xd7, 0x3c, 0xb0, 0x55, 0x7b, 0xeb, 0x9b, 0xd3, 0x66, 0xe2, 0xc4,
    0x72, 0xf5, 0xfd, 0x81, 0xbb, 0x50, 0xb3, 0xb3, 0xe4, 0xdf};
#define KAT_PLAIN "hello, cluster"

START_TEST(open_kat)
{
    char plain[64];
    size_t n = 99;

    ck_assert_int_eq(rlw_open(kat_keys(), AAD, AADLEN, kat_sealed,
                              sizeof(kat_sealed), plain, sizeof(plain), &n),
                     0);
    ck_assert_uint_eq(n, strlen(KAT_PLAIN));
    ck_assert_int_eq(memcmp(plain, KAT_PLAIN, n), 0);
}
END_TEST

START_TEST(seal_round_trip)
{
    static const size_t lens[] = {
        0, 1, 15, 16, 17, 26, 111, 1000, RLW_SEAL_MAX_PLAIN};
    static unsigned char plain[RLW_SEAL_MAX_PLAIN], back[RLW_SEAL_MAX_PLAIN];
    static unsigned char out[RLW_SEAL_MAX_PLAIN + RLW_SEAL_OVERHEAD];
    size_t i, j, outlen, n;

    for (i = 0; i < sizeof(plain); i++)
        plain[i] = (unsigned char)(i * 7 + 3);
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t len = lens[i];

        ck_assert_int_eq(rlw_seal(kat_keys(), AAD, AADLEN, plain, len, out,
                                  len + RLW_SEAL_OVERHEAD, &outlen),
                         0);
        ck_assert_uint_eq(outlen, len + RLW_SEAL_OVERHEAD);
        ck_assert_int_eq(out[0], RLW_SEAL_VERSION);
        if (len >= 16) /* ciphertext, not the plaintext copied */
            ck_assert_int_ne(memcmp(out + 1 + RLW_SEAL_NONCE_LEN, plain, 16),
                             0);
        memset(back, 0, len);
        n = 12345;
        ck_assert_int_eq(
            rlw_open(kat_keys(), AAD, AADLEN, out, outlen, back, len, &n), 0);
        ck_assert_uint_eq(n, len);
        for (j = 0; j < len; j++)
            if (back[j] != plain[j])
                ck_abort_msg("len %lu: byte %lu differs", (unsigned long)len,
                             (unsigned long)j);
    }
    /* No aad at all is allowed, and then required. */
    ck_assert_int_eq(
        rlw_seal(kat_keys(), NULL, 0, plain, 10, out, sizeof(out), &outlen), 0);
    ck_assert_int_eq(
        rlw_open(kat_keys(), NULL, 0, out, outlen, back, sizeof(back), &n), 0);
    ck_assert_int_eq(
        rlw_open(kat_keys(), "x", 1, out, outlen, back, sizeof(back), &n), -1);
}
END_TEST

START_TEST(seal_fresh_nonce)
{
    unsigned char a[64], b[64];
    size_t alen, blen;

    ck_assert_int_eq(
        rlw_seal(kat_keys(), AAD, AADLEN, KAT_PLAIN, 14, a, sizeof(a), &alen),
        0);
    ck_assert_int_eq(
        rlw_seal(kat_keys(), AAD, AADLEN, KAT_PLAIN, 14, b, sizeof(b), &blen),
        0);
    ck_assert_uint_eq(alen, blen);
    ck_assert_int_ne(memcmp(a + 1, b + 1, RLW_SEAL_NONCE_LEN), 0);
    ck_assert_int_ne(memcmp(a, b, alen), 0);
}
END_TEST

START_TEST(seal_bad_arguments)
{
    static unsigned char big[RLW_SEAL_MAX_PLAIN + 1];
    static unsigned char out[RLW_SEAL_MAX_PLAIN + 1 + RLW_SEAL_OVERHEAD];
    size_t outlen = 77;

    /* One byte short of room. */
    ck_assert_int_eq(rlw_seal(kat_keys(), AAD, AADLEN, KAT_PLAIN, 14, out,
                              14 + RLW_SEAL_OVERHEAD - 1, &outlen),
                     -1);
    ck_assert_uint_eq(outlen, 0);
    ck_assert_int_eq(rlw_seal(kat_keys(), AAD, AADLEN, big, sizeof(big), out,
                              sizeof(out), &outlen),
                     -1);
    ck_assert_int_eq(
        rlw_seal(NULL, AAD, AADLEN, KAT_PLAIN, 14, out, sizeof(out), &outlen),
        -1);
    ck_assert_int_eq(
        rlw_seal(kat_keys(), NULL, 3, KAT_PLAIN, 14, out, sizeof(out), &outlen),
        -1);
    ck_assert_int_eq(
        rlw_seal(kat_keys(), AAD, AADLEN, NULL, 14, out, sizeof(out), &outlen),
        -1);
    ck_assert_int_eq(rlw_seal(kat_keys(), AAD, AADLEN, KAT_PLAIN, 14, NULL,
                              sizeof(out), &outlen),
                     -1);
    ck_assert_int_eq(rlw_seal(kat_keys(), AAD, AADLEN, KAT_PLAIN, 14, out,
                              sizeof(out), NULL),
                     -1);
}
END_TEST

/* Every byte, three ways each: the low bit, the high bit, all bits. The
 * output buffer must hold no plaintext afterwards. */
START_TEST(open_rejects_tampering)
{
    static const unsigned char masks[] = {0x01, 0x80, 0xff};
    unsigned char sealed[128], plain[64];
    size_t len, n, i, m, j;

    ck_assert_int_eq(rlw_seal(kat_keys(), AAD, AADLEN, KAT_PLAIN, 14, sealed,
                              sizeof(sealed), &len),
                     0);
    for (i = 0; i < len; i++) {
        for (m = 0; m < sizeof(masks); m++) {
            sealed[i] ^= masks[m];
            memset(plain, 0xee, sizeof(plain));
            n = 99;
            ck_assert_msg(rlw_open(kat_keys(), AAD, AADLEN, sealed, len, plain,
                                   sizeof(plain), &n) == -1,
                          "byte %lu ^ 0x%02x accepted", (unsigned long)i,
                          masks[m]);
            ck_assert_uint_eq(n, 0);
            for (j = 0; j + 14 <= sizeof(plain); j++)
                ck_assert(memcmp(plain + j, KAT_PLAIN, 14) != 0);
            sealed[i] ^= masks[m];
        }
    }
    ck_assert_int_eq(rlw_open(kat_keys(), AAD, AADLEN, sealed, len, plain,
                              sizeof(plain), &n),
                     0);
}
END_TEST

START_TEST(open_rejects_wrong_aad_and_key)
{
    static const char *const aads[] = {
        "rlw:ban:a_WSIN1zH0ZVg-6r-_zVif", /* another client's key */
        "rlw:ban:a_WSIN1zH0ZVg-6r-_zVi",  /* truncated */
        AAD "x",                          /* extended */
        "RLW:BAN:A_WSIN1ZH0ZVG-6R-_ZVIG", /* case */
        "",
    };
    unsigned char sealed[128], plain[64];
    rlw_keys_t other, swapped;
    size_t len, n, i;

    ck_assert_int_eq(rlw_seal(kat_keys(), AAD, AADLEN, KAT_PLAIN, 14, sealed,
                              sizeof(sealed), &len),
                     0);
    for (i = 0; i < sizeof(aads) / sizeof(aads[0]); i++)
        ck_assert_msg(rlw_open(kat_keys(), aads[i], strlen(aads[i]), sealed,
                               len, plain, sizeof(plain), &n) == -1,
                      "aad \"%s\" accepted", aads[i]);
    ck_assert_int_eq(
        rlw_open(kat_keys(), NULL, 0, sealed, len, plain, sizeof(plain), &n),
        -1);

    keys_from("another secret of at least 32 bytes", &other);
    ck_assert_int_eq(
        rlw_open(&other, AAD, AADLEN, sealed, len, plain, sizeof(plain), &n),
        -1);
    /* The pseudonym key is not the seal key. */
    memcpy(swapped.seal, kat_pseudo, RLW_KEY_LEN);
    memcpy(swapped.pseudo, kat_seal, RLW_KEY_LEN);
    ck_assert_int_eq(
        rlw_open(&swapped, AAD, AADLEN, sealed, len, plain, sizeof(plain), &n),
        -1);
    /* One bit of key. */
    swapped = *kat_keys();
    swapped.seal[31] ^= 1;
    ck_assert_int_eq(
        rlw_open(&swapped, AAD, AADLEN, sealed, len, plain, sizeof(plain), &n),
        -1);
}
END_TEST

START_TEST(open_rejects_lengths)
{
    unsigned char sealed[128], longer[129], plain[64];
    size_t len, n, i;

    ck_assert_int_eq(rlw_seal(kat_keys(), AAD, AADLEN, KAT_PLAIN, 14, sealed,
                              sizeof(sealed), &len),
                     0);
    for (i = 0; i < len; i++) { /* every truncation, the empty one too */
        n = 99;
        ck_assert_msg(rlw_open(kat_keys(), AAD, AADLEN, sealed, i, plain,
                               sizeof(plain), &n) == -1,
                      "truncated to %lu accepted", (unsigned long)i);
        ck_assert_uint_eq(n, 0);
    }
    /* Every tail cut off (same length checks, data shifted). */
    for (i = 1; i < len; i++)
        ck_assert_int_eq(rlw_open(kat_keys(), AAD, AADLEN, sealed + i, len - i,
                                  plain, sizeof(plain), &n),
                         -1);
    memcpy(longer, sealed, len);
    longer[len] = 0;
    ck_assert_int_eq(rlw_open(kat_keys(), AAD, AADLEN, longer, len + 1, plain,
                              sizeof(plain), &n),
                     -1);
    /* Plaintext one byte over the caller's buffer, then exactly fitting. */
    ck_assert_int_eq(
        rlw_open(kat_keys(), AAD, AADLEN, sealed, len, plain, 13, &n), -1);
    ck_assert_int_eq(
        rlw_open(kat_keys(), AAD, AADLEN, sealed, len, plain, 14, &n), 0);
    ck_assert_int_eq(
        rlw_open(kat_keys(), AAD, AADLEN, NULL, len, plain, sizeof(plain), &n),
        -1);
    ck_assert_int_eq(rlw_open(kat_keys(), AAD, AADLEN, sealed, len, plain,
                              sizeof(plain), NULL),
                     -1);
    /* Over the format's maximum, whatever the buffer. */
    {
        size_t huge = (size_t)RLW_SEAL_MAX_PLAIN + 1 + RLW_SEAL_OVERHEAD;
        unsigned char *in = calloc(1, huge);

        ck_assert_ptr_nonnull(in);
        in[0] = RLW_SEAL_VERSION;
        ck_assert_int_eq(
            rlw_open(kat_keys(), AAD, AADLEN, in, huge, in, huge, &n), -1);
        free(in);
    }
}
END_TEST

START_TEST(open_rejects_garbage)
{
    unsigned char junk[256], plain[256];
    unsigned seed = 12345;
    size_t n, i, j, len;

    for (i = 0; i < 2000; i++) {
        len = (size_t)(rand_r(&seed) % (int)sizeof(junk));
        for (j = 0; j < len; j++)
            junk[j] = (unsigned char)rand_r(&seed);
        if (len > 0 && (i & 1))
            junk[0] = RLW_SEAL_VERSION; /* get past the version check */
        ck_assert_msg(rlw_open(kat_keys(), AAD, AADLEN, junk, len, plain,
                               sizeof(plain), &n) == -1,
                      "garbage %lu (len %lu) accepted", (unsigned long)i,
                      (unsigned long)len);
    }
    memset(junk, 0, sizeof(junk));
    junk[0] = RLW_SEAL_VERSION;
    ck_assert_int_eq(rlw_open(kat_keys(), AAD, AADLEN, junk, sizeof(junk),
                              plain, sizeof(plain), &n),
                     -1);
}
END_TEST

/* Threads seal and open at once with shared keys and no lock. */
static void *seal_worker(void *arg)
{
    const rlw_keys_t *k = arg;
    unsigned char sealed[64], plain[32];
    size_t len, n;
    long bad = 0;
    int i;

    for (i = 0; i < 300; i++) {
        unsigned char msg[20];

        memset(msg, i & 0xff, sizeof(msg));
        if (rlw_seal(k, AAD, AADLEN, msg, sizeof(msg), sealed, sizeof(sealed),
                     &len) != 0 ||
            rlw_open(k, AAD, AADLEN, sealed, len, plain, sizeof(plain), &n) !=
                0 ||
            n != sizeof(msg) || memcmp(plain, msg, n) != 0)
            bad++;
    }
    return (void *)(intptr_t)bad;
}

START_TEST(seal_threads)
{
    rlw_keys_t *k = (rlw_keys_t *)kat_keys();
    pthread_t t[4];
    void *bad;
    size_t i;

    for (i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, seal_worker, k), 0);
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], &bad), 0);
        ck_assert_ptr_null(bad);
    }
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *crypto_suite(void)
{
    Suite *s = suite_create("crypto");
    TCase *tc = tcase_create("secret");

    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_loop_test(tc, secret_modes, 0, N(modes));
    tcase_add_test(tc, secret_owner);
    tcase_add_test(tc, secret_kat_and_domain_separation);
    tcase_add_test(tc, key_hash);
    tcase_add_test(tc, secret_lengths_and_newline);
    tcase_add_test(tc, secret_any_bytes);
    tcase_add_test(tc, secret_not_a_file);
    suite_add_tcase(s, tc);

    tc = tcase_create("pseudonym");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, pseudonym_kat_and_shape);
    tcase_add_test(tc, pseudonym_deterministic_across_loads);
    tcase_add_test(tc, pseudonym_distinct);
    suite_add_tcase(s, tc);

    tc = tcase_create("seal");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, open_kat);
    tcase_add_test(tc, seal_round_trip);
    tcase_add_test(tc, seal_fresh_nonce);
    tcase_add_test(tc, seal_bad_arguments);
    tcase_add_test(tc, open_rejects_tampering);
    tcase_add_test(tc, open_rejects_wrong_aad_and_key);
    tcase_add_test(tc, open_rejects_lengths);
    tcase_add_test(tc, open_rejects_garbage);
    tcase_add_test(tc, seal_threads);
    /* valgrind runs the tests in-process and slowly. */
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

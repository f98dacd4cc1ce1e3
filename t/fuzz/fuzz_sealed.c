/* fuzz_sealed.c - sealed values as a node reads them from memcached
 * (rlw_crypto.c rlw_open(), then rlw_record.c), under a fixed test key.
 *
 * Anyone who can write to memcached controls these bytes. Promises: any
 * bytes are safe to open; nothing opens under the wrong key name (aad);
 * what opens is handed to the record decoders like in the store; sealing
 * any plaintext opens back to the same bytes, and altering any one byte
 * of a sealed value makes it fail to open, with no plaintext left behind.
 *
 * With RLW_FUZZ_WRITE_SEEDS=<dir> set, the first run writes sealed records
 * made by this code into <dir> (how t/fuzz/corpus/sealed was made). */
#include "fuzz.h"
#include "rlw_crypto.h"
#include "rlw_record.h"

/* Memcached keys as the store names them: the seal binds a value to its
 * key. */
static const char ban_key[] = "rlwaf:b:2FhD4yq1mQmX1H0xQw9jAA";
static const char journal_key[] = "rlwaf:j:17";

static rlw_keys_t keys;

static void write_seeds(const char *dir)
{
    rlw_ban_state_t b = {0};
    rlw_journal_t j;
    unsigned char rec[RLW_JOURNAL_LEN], sealed[RLW_JOURNAL_LEN + 64];
    size_t n;

    b.start_ms = 1764480000000LL;
    b.until_ms = b.start_ms + 60000;
    b.strikes = 2;
    b.count = 5;
    FUZZ_CHECK(rlw_ban_record_encode(&b, rec) == 0);
    FUZZ_CHECK(rlw_seal(&keys, ban_key, strlen(ban_key), rec,
                        RLW_BAN_RECORD_LEN, sealed, sizeof(sealed), &n) == 0);
    fuzz_write_seed(dir, "ban", sealed, n);
    memset(&j, 0, sizeof(j));
    j.action = RLW_JOURNAL_BAN;
    FUZZ_CHECK(rlw_addr_parse("198.51.100.7", &j.client) == 0);
    j.ban = b;
    strcpy(j.node, "node-a.example.org");
    FUZZ_CHECK(rlw_journal_encode(&j, rec) == 0);
    FUZZ_CHECK(rlw_seal(&keys, journal_key, strlen(journal_key), rec,
                        RLW_JOURNAL_LEN, sealed, sizeof(sealed), &n) == 0);
    fuzz_write_seed(dir, "journal-ban", sealed, n);
    j.action = RLW_JOURNAL_UNBAN;
    memset(&j.client, 0, sizeof(j.client));
    FUZZ_CHECK(rlw_cidr_parse("2001:db8:1:2::/64", &j.client) == NULL);
    FUZZ_CHECK(rlw_journal_encode(&j, rec) == 0);
    FUZZ_CHECK(rlw_seal(&keys, journal_key, strlen(journal_key), rec,
                        RLW_JOURNAL_LEN, sealed, sizeof(sealed), &n) == 0);
    fuzz_write_seed(dir, "journal-unban-v6", sealed, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("RLW_FUZZ_WRITE_SEEDS");
    int i;

    (void)argc;
    (void)argv;
    /* A fixed test key: any bytes do, the point is to reach the
     * decoders with values this code sealed. */
    for (i = 0; i < RLW_KEY_LEN; i++) {
        keys.pseudo[i] = (unsigned char)(0x10 + i);
        keys.seal[i] = (unsigned char)(0xa0 ^ (i * 7));
    }
    if (dir && *dir)
        write_seeds(dir);
    return 0;
}

/* Opens v under key as the store does (plain buffer a little larger than
 * the record) and decodes whatever opens. */
static void open_as_store(const char *key, const unsigned char *v, size_t n)
{
    unsigned char plain[RLW_JOURNAL_LEN + 8];
    size_t pl = 99;
    rlw_ban_state_t b;
    rlw_journal_t j;
    size_t i;

    memset(plain, 0x5a, sizeof(plain));
    if (rlw_open(&keys, key, strlen(key), v, n, plain, sizeof(plain), &pl)) {
        FUZZ_CHECK(pl == 0);
        for (i = 0; i < sizeof(plain); i++)
            FUZZ_CHECK(plain[i] == 0 || plain[i] == 0x5a);
        return;
    }
    FUZZ_CHECK(pl + RLW_SEAL_OVERHEAD == n);
    if (rlw_ban_record_decode(plain, pl, &b) == 0)
        FUZZ_CHECK(b.start_ms >= 0 && b.start_ms <= b.until_ms);
    if (rlw_journal_decode(plain, pl, &j) == 0)
        FUZZ_CHECK(j.ban.start_ms >= 0 && j.ban.start_ms <= j.ban.until_ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *in = malloc(size ? size : 1), *sealed, *plain;
    size_t n = 0, pl = 0, cap;

    if (!in)
        abort();
    memcpy(in, data, size); /* exact size: ASan sees any over-read */
    open_as_store(ban_key, in, size);
    open_as_store(journal_key, in, size);

    /* The input as a plaintext: seal, open back, then tamper. */
    if (size <= 4096) {
        cap = size + RLW_SEAL_OVERHEAD;
        sealed = malloc(cap);
        plain = malloc(size ? size : 1);
        if (!sealed || !plain)
            abort();
        FUZZ_CHECK(rlw_seal(&keys, ban_key, strlen(ban_key), in, size, sealed,
                            cap, &n) == 0);
        FUZZ_CHECK(n == cap);
        FUZZ_CHECK(rlw_open(&keys, ban_key, strlen(ban_key), sealed, n, plain,
                            size, &pl) == 0);
        FUZZ_CHECK(pl == size && (size == 0 || !memcmp(plain, in, size)));
        /* Under another key name it does not open. */
        FUZZ_CHECK(rlw_open(&keys, journal_key, strlen(journal_key), sealed, n,
                            plain, size, &pl) != 0);
        FUZZ_CHECK(pl == 0);
        /* One byte altered anywhere (picked by the input) breaks it. */
        sealed[(size ? in[0] * 131u + size : 0) % n] ^= 0x01;
        FUZZ_CHECK(rlw_open(&keys, ban_key, strlen(ban_key), sealed, n, plain,
                            size, &pl) != 0);
        FUZZ_CHECK(pl == 0);
        free(sealed);
        free(plain);
    }
    free(in);
    return 0;
}

/* fuzz_record.c - the wire records a node reads back from memcached
 * (rlw_record.c), once opened: ban records and journal entries. Promises:
 * any length and any bytes are safe; a buffer that decodes re-encodes to
 * exactly the same bytes, and what decodes is a valid state
 * (0 <= start <= until, a canonical client, a printable node name). */
#include "fuzz.h"
#include "rlw_record.h"
#include "rlw_subject.h"

/* With RLW_FUZZ_WRITE_SEEDS=<dir> set, the first run writes records made
 * by the encoders into <dir> (how t/fuzz/corpus/record was made). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = getenv("RLW_FUZZ_WRITE_SEEDS");
    unsigned char rec[RLW_JOURNAL_PAIR_LEN];
    rlw_ban_state_t b = {0};
    rlw_journal_t j;

    (void)argc;
    (void)argv;
    if (!dir || !*dir)
        return 0;
    b.start_ms = 1764480000000LL;
    b.until_ms = b.start_ms + 60000;
    b.strikes = 2;
    b.count = 5;
    FUZZ_CHECK(rlw_ban_record_encode(&b, rec) == 0);
    fuzz_write_seed(dir, "ban", rec, RLW_BAN_RECORD_LEN);
    memset(&j, 0, sizeof(j));
    j.action = RLW_JOURNAL_BAN;
    FUZZ_CHECK(rlw_addr_parse("198.51.100.7", &j.client) == 0);
    j.ban = b;
    strcpy(j.node, "node-a.example.org");
    FUZZ_CHECK(rlw_journal_encode(&j, rec) == 0);
    fuzz_write_seed(dir, "journal-ban", rec, RLW_JOURNAL_LEN);
    j.action = RLW_JOURNAL_UNBAN;
    memset(&j.client, 0, sizeof(j.client));
    FUZZ_CHECK(rlw_cidr_parse("2001:db8:1:2::/64", &j.client) == NULL);
    FUZZ_CHECK(rlw_journal_encode(&j, rec) == 0);
    fuzz_write_seed(dir, "journal-unban-v6", rec, RLW_JOURNAL_LEN);
    /* A network's entry (RateLimitWAFNetwork): version 3. */
    j.action = RLW_JOURNAL_BAN;
    FUZZ_CHECK(rlw_addr_parse("198.51.100.7", &j.client) == 0);
    FUZZ_CHECK(rlw_subject_net(&j.client, 24, 48, 0, &j.client) == 0);
    FUZZ_CHECK(rlw_journal_encode(&j, rec) == 0);
    fuzz_write_seed(dir, "journal-ban-net", rec, RLW_JOURNAL_LEN);
    /* Naming the pair that banned (RateLimitWAFThreshold pairs): version
     * 4. */
    j.ban.pair = 2;
    FUZZ_CHECK(rlw_journal_encode_pair(&j, rec) == 0);
    fuzz_write_seed(dir, "journal-ban-pair", rec, RLW_JOURNAL_PAIR_LEN);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *in = malloc(size ? size : 1), out[RLW_JOURNAL_PAIR_LEN];
    rlw_ban_state_t b;
    rlw_journal_t j;

    if (!in)
        abort();
    memcpy(in, data, size); /* exact size: ASan sees any over-read */
    memset(&b, 0x5a, sizeof(b));
    if (rlw_ban_record_decode(in, size, &b) == 0) {
        unsigned char rec[RLW_BAN_RECORD_LEN];

        FUZZ_CHECK(size == RLW_BAN_RECORD_LEN);
        FUZZ_CHECK(b.start_ms >= 0 && b.start_ms <= b.until_ms);
        FUZZ_CHECK(rlw_ban_record_encode(&b, rec) == 0);
        FUZZ_CHECK(memcmp(rec, in, RLW_BAN_RECORD_LEN) == 0);
    }
    memset(&j, 0x5a, sizeof(j));
    if (rlw_journal_decode(in, size, &j) == 0) {
        size_t n = strnlen(j.node, RLW_NODE_LEN), i;

        int v4 = in[1] == RLW_JOURNAL_PAIR_VERSION;

        /* Version 4 carries the pair that banned (1 to RLW_PAIRS_MAX) in
         * one more byte; 2 and 3 none. */
        FUZZ_CHECK(size == (v4 ? RLW_JOURNAL_PAIR_LEN : RLW_JOURNAL_LEN));
        FUZZ_CHECK(v4 ? j.ban.pair >= 1 && j.ban.pair <= RLW_PAIRS_MAX
                      : j.ban.pair == 0);
        FUZZ_CHECK(j.action == RLW_JOURNAL_BAN ||
                   j.action == RLW_JOURNAL_UNBAN);
        /* An address, or a request key's hash (family RLW_AF_KEY, kind
         * RLW_KIND_KEY, both or neither). */
        FUZZ_CHECK(j.client.family == RLW_AF_INET ||
                   j.client.family == RLW_AF_INET6 ||
                   j.client.family == RLW_AF_KEY);
        FUZZ_CHECK((j.client.family == RLW_AF_KEY) ==
                   (j.client.kind == RLW_KIND_KEY));
        /* A valid subject, whose kind the version names. */
        FUZZ_CHECK(rlw_subject_valid(&j.client));
        FUZZ_CHECK(v4 || (in[1] == RLW_JOURNAL_SUBJECT_VERSION) ==
                             (j.client.kind != RLW_KIND_CLIENT));
        FUZZ_CHECK(j.ban.start_ms >= 0 && j.ban.start_ms <= j.ban.until_ms);
        FUZZ_CHECK(n >= 1 && n < RLW_NODE_LEN);
        for (i = 0; i < n; i++)
            FUZZ_CHECK(j.node[i] >= 0x20 && j.node[i] <= 0x7e);
        FUZZ_CHECK((v4 ? rlw_journal_encode_pair(&j, out)
                       : rlw_journal_encode(&j, out)) == 0);
        FUZZ_CHECK(memcmp(out, in, size) == 0);
    }
    free(in);
    return 0;
}

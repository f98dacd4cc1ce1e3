/* test_record.c - ban record and journal encodings: exact byte layout,
 * round trips, and strict decoders (every bad length, kind, version,
 * action, address, time and node name refused; whatever decodes re-encodes
 * to the same bytes).
 */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include "rlw_record.h"
#include "rlw_subject.h"
#include "unit_suites.h"

/* ---- ban record ---- */

static const rlw_ban_state_t kat_ban = {
    0x0102030405060708LL, 0x1112131415161718LL, 0x21222324u, 0x31323334u};
static const unsigned char kat_ban_wire[RLW_BAN_RECORD_LEN] = {
    'B',  2,    0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02,
    0x01, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,
    0x24, 0x23, 0x22, 0x21, 0x34, 0x33, 0x32, 0x31};

START_TEST(ban_layout)
{
    unsigned char out[RLW_BAN_RECORD_LEN];
    rlw_ban_state_t b;

    ck_assert_int_eq(rlw_ban_record_encode(&kat_ban, out), 0);
    ck_assert_int_eq(memcmp(out, kat_ban_wire, sizeof(out)), 0);
    ck_assert_int_eq(
        rlw_ban_record_decode(kat_ban_wire, sizeof(kat_ban_wire), &b), 0);
    ck_assert_int_eq(memcmp(&b, &kat_ban, sizeof(b)), 0);
}
END_TEST

static const rlw_ban_state_t good_bans[] = {
    {0, 0, 0, 0}, /* never banned */
    {1700000000000LL, 1700000600000LL, 1, 5},
    {5, 5, 0, 0}, /* zero-length */
    {0, INT64_MAX, UINT32_MAX, UINT32_MAX},
    {INT64_MAX, INT64_MAX, 7, 0},
    {0x7f00000000000000LL, 0x7fffffffffffff00LL, 0x80000000u, 0xffu},
};

START_TEST(ban_round_trip)
{
    unsigned char out[RLW_BAN_RECORD_LEN];
    rlw_ban_state_t b;

    memset(&b, 0xaa, sizeof(b));
    ck_assert_int_eq(rlw_ban_record_encode(&good_bans[_i], out), 0);
    ck_assert_int_eq(rlw_ban_record_decode(out, sizeof(out), &b), 0);
    ck_assert_int_eq(b.start_ms, good_bans[_i].start_ms);
    ck_assert_int_eq(b.until_ms, good_bans[_i].until_ms);
    ck_assert_uint_eq(b.strikes, good_bans[_i].strikes);
    ck_assert_uint_eq(b.count, good_bans[_i].count);
}
END_TEST

static const rlw_ban_state_t bad_bans[] = {
    {-1, 0, 0, 0},
    {0, -1, 0, 0},
    {10, 9, 0, 0}, /* ends before it starts */
    {INT64_MIN, INT64_MIN, 0, 0},
    {-5, -1, 0, 0},
    {INT64_MAX, 0, 0, 0},
};

/* Refused by the encoder, and by the decoder when forced onto the wire. */
START_TEST(ban_bad_values)
{
    const rlw_ban_state_t *bad = &bad_bans[_i];
    unsigned char out[RLW_BAN_RECORD_LEN], wire[RLW_BAN_RECORD_LEN];
    rlw_ban_state_t b = kat_ban;
    int i;

    memset(out, 0x5a, sizeof(out));
    ck_assert_int_eq(rlw_ban_record_encode(bad, out), -1);
    for (i = 0; i < RLW_BAN_RECORD_LEN; i++)
        ck_assert_int_eq(out[i], 0x5a); /* nothing written */

    /* Hand-made wire bytes: little-endian two's complement. */
    memcpy(wire, kat_ban_wire, sizeof(wire));
    for (i = 0; i < 8; i++) {
        wire[2 + i] = (unsigned char)((uint64_t)bad->start_ms >> (8 * i));
        wire[10 + i] = (unsigned char)((uint64_t)bad->until_ms >> (8 * i));
    }
    ck_assert_int_eq(rlw_ban_record_decode(wire, sizeof(wire), &b), -1);
    ck_assert_int_eq(memcmp(&b, &kat_ban, sizeof(b)), 0); /* untouched */
}
END_TEST

START_TEST(ban_bad_lengths_and_header)
{
    unsigned char buf[RLW_BAN_RECORD_LEN + 8];
    rlw_ban_state_t b;
    size_t len;
    int v;

    memset(buf, 0, sizeof(buf));
    memcpy(buf, kat_ban_wire, sizeof(kat_ban_wire));
    for (len = 0; len <= sizeof(buf); len++)
        if (len != RLW_BAN_RECORD_LEN)
            ck_assert_msg(rlw_ban_record_decode(buf, len, &b) == -1,
                          "length %lu accepted", (unsigned long)len);
    for (v = 0; v < 256; v++) {
        buf[0] = (unsigned char)v;
        ck_assert_int_eq(rlw_ban_record_decode(buf, RLW_BAN_RECORD_LEN, &b),
                         v == 'B' ? 0 : -1);
    }
    buf[0] = 'B';
    for (v = 0; v < 256; v++) {
        buf[1] = (unsigned char)v;
        ck_assert_int_eq(rlw_ban_record_decode(buf, RLW_BAN_RECORD_LEN, &b),
                         v == RLW_RECORD_VERSION ? 0 : -1);
    }
    ck_assert_int_eq(rlw_ban_record_decode(NULL, RLW_BAN_RECORD_LEN, &b), -1);
    ck_assert_int_eq(
        rlw_ban_record_decode(kat_ban_wire, RLW_BAN_RECORD_LEN, NULL), -1);
    ck_assert_int_eq(rlw_ban_record_encode(NULL, buf), -1);
}
END_TEST

/* ---- journal ---- */

static void make_journal(rlw_journal_t *j, const char *addr, unsigned v6)
{
    rlw_addr_t host;

    memset(j, 0, sizeof(*j));
    j->action = RLW_JOURNAL_BAN;
    ck_assert_int_eq(rlw_addr_parse(addr, &host), 0);
    rlw_addr_client(&host, v6, &j->client);
    j->ban.start_ms = 1700000000000LL;
    j->ban.until_ms = 1700000600000LL;
    j->ban.strikes = 2;
    j->ban.count = 40;
    strcpy(j->node, "waf-node-1.example");
}

START_TEST(journal_layout)
{
    unsigned char out[RLW_JOURNAL_LEN];
    rlw_journal_t j;
    int i;

    make_journal(&j, "192.0.2.1", 64);
    j.ban = kat_ban;
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_eq(out[0], 'J');
    ck_assert_int_eq(out[1], RLW_RECORD_VERSION);
    ck_assert_int_eq(out[2], RLW_JOURNAL_BAN);
    ck_assert_int_eq(out[3], RLW_AF_INET);
    ck_assert_int_eq(out[4], 32);
    ck_assert_int_eq(out[5] | out[6], 0);
    ck_assert_int_eq(out[7], 192);
    ck_assert_int_eq(out[8], 0);
    ck_assert_int_eq(out[9], 2);
    ck_assert_int_eq(out[10], 1);
    for (i = 11; i < 23; i++)
        ck_assert_int_eq(out[i], 0);
    /* The ban state is laid out as in a ban record. */
    ck_assert_int_eq(memcmp(out + 23, kat_ban_wire + 2, 24), 0);
    ck_assert_int_eq(memcmp(out + 47, "waf-node-1.example", 18), 0);
    for (i = 47 + 18; i < RLW_JOURNAL_LEN; i++)
        ck_assert_int_eq(out[i], 0);
}
END_TEST

START_TEST(journal_round_trip)
{
    static const char *const addrs[] = {"192.0.2.1", "2001:db8::1",
                                        "::", "0.0.0.0", "255.255.255.255"};
    static const unsigned groups[] = {64, 128, 1, 48};
    unsigned char out[RLW_JOURNAL_LEN], again[RLW_JOURNAL_LEN];
    rlw_journal_t j, back;
    size_t a, g;

    for (a = 0; a < sizeof(addrs) / sizeof(addrs[0]); a++) {
        for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
            make_journal(&j, addrs[a], groups[g]);
            j.action = (g & 1) ? RLW_JOURNAL_UNBAN : RLW_JOURNAL_BAN;
            ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
            memset(&back, 0xaa, sizeof(back));
            ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
            ck_assert_int_eq(back.action, j.action);
            ck_assert_int_eq(memcmp(&back.client, &j.client, sizeof(j.client)),
                             0);
            ck_assert_int_eq(memcmp(&back.ban, &j.ban, sizeof(j.ban)), 0);
            ck_assert_int_eq(memcmp(back.node, j.node, sizeof(j.node)), 0);
            ck_assert_int_eq(rlw_journal_encode(&back, again), 0);
            ck_assert_int_eq(memcmp(out, again, sizeof(out)), 0);
        }
    }

    /* A dry-run client stays one across the cluster. */
    make_journal(&j, "192.0.2.1", 64);
    j.client.scope = RLW_SCOPE_DRY_RUN;
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_eq(out[5], RLW_SCOPE_DRY_RUN);
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    ck_assert_int_eq(back.client.scope, RLW_SCOPE_DRY_RUN);
    ck_assert_int_eq(memcmp(&back.client, &j.client, sizeof(j.client)), 0);

    /* Longest node name; junk after the NUL in memory is not written. */
    make_journal(&j, "192.0.2.1", 64);
    memset(j.node, '~', sizeof(j.node));
    j.node[RLW_NODE_LEN - 1] = '\0';
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    ck_assert_str_eq(back.node, j.node);
    make_journal(&j, "192.0.2.1", 64);
    j.node[20] = 'X'; /* after "waf-node-1.example\0" */
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    ck_assert_int_eq(back.node[20], 0);
    ck_assert_str_eq(back.node, "waf-node-1.example");
}
END_TEST

/* A wire edit that must be refused. */
typedef struct wire_bad {
    size_t off;
    unsigned char value;
    const char *why;
} wire_bad_t;

/* Offsets into the encoding of make_journal(j, "192.0.2.1", 64). */
static const wire_bad_t bad_wire[] = {
    {0, 'B', "kind of a ban record"},
    {0, 'j', "kind"},
    {1, 0, "version 0"},
    {1, 1, "version 1 (no epoch promise, refused)"},
    {1, 3, "version 3 naming a client"},
    {2, 0, "action 0"},
    {2, 3, "action 3"},
    {2, 255, "action 255"},
    {3, 0, "family 0"},
    {3, 5, "family 5"},
    {3, 2, "family AF_INET's libc value"},
    {3, 10, "family AF_INET6's libc value"},
    {4, 33, "IPv4 prefix 33"},
    {4, 255, "IPv4 prefix 255"},
    {4, 8, "IPv4 prefix 8 with host bits set"},
    {5, 2, "scope 2"},
    {5, 0xff, "scope 255"},
    {6, 0x80, "kind 128"},
    {6, 1, "a network's kind in a version 2 entry"},
    {6, 2, "a key's kind in a version 2 entry"},
    {11, 1, "IPv4 unused byte 4"},
    {22, 0x80, "IPv4 unused byte 15"},
    {30, 0x80, "negative start"},
    {38, 0x80, "negative until"},
    {28, 0x02, "until before start (start raised)"},
    {33, 0x00, "until before start (until lowered)"},
    {47, 0, "empty node"},
    {47, 0x1f, "control character in node"},
    {50, '\n', "newline in node"},
    {50, 0x7f, "DEL in node"},
    {50, 0x80, "8-bit byte in node"},
    {50, 0xff, "0xff in node"},
    {66, 'x', "byte after the NUL"},
    {110, 1, "last byte after the NUL"},
};

START_TEST(journal_bad_wire)
{
    const wire_bad_t *c = &bad_wire[_i];
    unsigned char out[RLW_JOURNAL_LEN];
    rlw_journal_t j, back;

    make_journal(&j, "192.0.2.1", 64);
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_ne(out[c->off], c->value); /* the case edits something */
    out[c->off] = c->value;
    memset(&back, 0x33, sizeof(back));
    ck_assert_msg(rlw_journal_decode(out, sizeof(out), &back) == -1,
                  "%s accepted", c->why);
    ck_assert_int_eq(back.action, 0x33); /* untouched */
}
END_TEST

START_TEST(journal_bad_ipv6_wire)
{
    unsigned char out[RLW_JOURNAL_LEN];
    rlw_journal_t j, back;

    make_journal(&j, "2001:db8::1", 64);
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    out[4] = 129; /* prefix */
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    out[4] = 64;
    out[7 + 8] = 1; /* host bit of a /64 */
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    out[7 + 8] = 0;
    out[4] = 128; /* a longer prefix is fine: those bits are zero */
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    out[4] = 16; /* shorter: 2001:db8 has bits past /16 */
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
}
END_TEST

START_TEST(journal_node_unterminated)
{
    unsigned char out[RLW_JOURNAL_LEN];
    rlw_journal_t j, back;

    make_journal(&j, "192.0.2.1", 64);
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    memset(out + 47, 'a', RLW_NODE_LEN); /* 64 printable, no NUL */
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    out[RLW_JOURNAL_LEN - 1] = 0; /* 63 and a NUL: fine */
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    ck_assert_uint_eq(strlen(back.node), RLW_NODE_LEN - 1);
}
END_TEST

START_TEST(journal_bad_lengths)
{
    unsigned char buf[RLW_JOURNAL_LEN + 8];
    rlw_journal_t j, back;
    size_t len;

    make_journal(&j, "192.0.2.1", 64);
    memset(buf, 0, sizeof(buf));
    ck_assert_int_eq(rlw_journal_encode(&j, buf), 0);
    for (len = 0; len <= sizeof(buf); len++)
        if (len != RLW_JOURNAL_LEN)
            ck_assert_msg(rlw_journal_decode(buf, len, &back) == -1,
                          "length %lu accepted", (unsigned long)len);
    /* A ban record is not a journal entry, nor the reverse. */
    ck_assert_int_eq(
        rlw_journal_decode(kat_ban_wire, sizeof(kat_ban_wire), &back), -1);
    {
        rlw_ban_state_t b;

        ck_assert_int_eq(rlw_ban_record_decode(buf, RLW_BAN_RECORD_LEN, &b),
                         -1);
    }
    ck_assert_int_eq(rlw_journal_decode(NULL, RLW_JOURNAL_LEN, &back), -1);
    ck_assert_int_eq(rlw_journal_decode(buf, RLW_JOURNAL_LEN, NULL), -1);
}
END_TEST

/* Invalid structs are refused by the encoder, which writes nothing. */
START_TEST(journal_encode_refuses)
{
    unsigned char out[RLW_JOURNAL_LEN];
    rlw_journal_t j;
    int step, i;

    for (step = 0;; step++) {
        make_journal(&j, "192.0.2.1", 64);
        switch (step) {
        case 0:
            j.action = 0;
            break;
        case 1:
            j.action = 3;
            break;
        case 2:
            j.client.family = 0;
            break;
        case 3:
            j.client.family = 2;
            break;
        case 4:
            j.client.prefix = 33;
            break;
        case 5:
            j.client.kind = 3; /* no such kind */
            break;
        case 6:
            j.client.bytes[4] = 1;
            break;
        case 7:
            j.client.bytes[15] = 1;
            break;
        case 8:
            j.ban.start_ms = -1;
            break;
        case 9:
            j.ban.until_ms = j.ban.start_ms - 1;
            break;
        case 10:
            j.node[0] = '\0';
            break;
        case 11:
            j.node[3] = '\t';
            break;
        case 12:
            j.node[3] = (char)0xc3;
            break;
        case 13:
            memset(j.node, 'n', sizeof(j.node));
            break;
        case 14:
            make_journal(&j, "2001:db8::1", 128);
            j.client.prefix = 129;
            break;
        case 15:
            make_journal(&j, "2001:db8::1", 128);
            j.client.prefix = 64; /* ::1 is past /64 */
            break;
        case 16:
            j.client.scope = RLW_SCOPE_DRY_RUN + 1;
            break;
        default:
            goto done;
        }
        memset(out, 0x5a, sizeof(out));
        ck_assert_msg(rlw_journal_encode(&j, out) == -1, "step %d accepted",
                      step);
        for (i = 0; i < RLW_JOURNAL_LEN; i++)
            ck_assert_int_eq(out[i], 0x5a);
    }
done:
    ck_assert_int_eq(rlw_journal_encode(NULL, out), -1);
}
END_TEST

/* Every single-byte change, to every value: refused, or decoded to
 * something that re-encodes to exactly those bytes (no two encodings of one
 * value, no byte the decoder ignores). Some changes (a strike count, a
 * node letter) are legitimately valid; the test checks that they happen
 * too, so it cannot pass by refusing everything. */
/* A network's entry: version 3, its kind in byte 6, the rest as a
 * client's; a node that predates kinds refuses it by its version. */
START_TEST(journal_network)
{
    unsigned char out[RLW_JOURNAL_LEN], again[RLW_JOURNAL_LEN];
    rlw_journal_t j, back;
    rlw_addr_t host;

    make_journal(&j, "192.0.2.1", 64);
    ck_assert_int_eq(rlw_addr_parse("198.51.100.77", &host), 0);
    ck_assert_int_eq(rlw_subject_net(&host, 24, 48, 0, &j.client), 0);
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_eq(out[1], RLW_JOURNAL_SUBJECT_VERSION);
    ck_assert_int_eq(out[3], RLW_AF_INET);
    ck_assert_int_eq(out[4], 24);
    ck_assert_int_eq(out[6], RLW_KIND_NET);
    ck_assert_int_eq(out[7], 198);
    ck_assert_int_eq(out[9], 100);
    ck_assert_int_eq(out[10], 0); /* masked */
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    ck_assert_int_eq(memcmp(&back, &j, sizeof(j)), 0);
    ck_assert_int_eq(rlw_journal_encode(&back, again), 0);
    ck_assert_int_eq(memcmp(out, again, sizeof(out)), 0);
    /* Version 2 with a network's kind, version 3 with a client's: bad. */
    out[1] = RLW_RECORD_VERSION;
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    out[1] = RLW_JOURNAL_SUBJECT_VERSION;
    out[6] = RLW_KIND_CLIENT;
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    /* A network of prefix 0 is no network. */
    out[6] = RLW_KIND_NET;
    out[4] = 0;
    out[7] = out[8] = out[9] = 0;
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    /* A client's entry is what it always was: version 2, byte 6 zero. */
    make_journal(&j, "192.0.2.1", 64);
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_eq(out[1], 2);
    ck_assert_int_eq(out[6], 0);
}
END_TEST

/* A request key's entry: version 3, family RLW_AF_KEY, the NAME's index in
 * byte 4, kind 2, the hash as the bytes; a key's kind with an address's
 * family (or the reverse) is refused. */
START_TEST(journal_key)
{
    unsigned char out[RLW_JOURNAL_LEN];
    unsigned char hash[16];
    rlw_journal_t j, back;
    int i;

    for (i = 0; i < 16; i++)
        hash[i] = (unsigned char)(i * 17);
    make_journal(&j, "192.0.2.1", 64);
    ck_assert_int_eq(rlw_subject_key(2, hash, 0, &j.client), 0);
    ck_assert_int_eq(rlw_journal_encode(&j, out), 0);
    ck_assert_int_eq(out[1], RLW_JOURNAL_SUBJECT_VERSION);
    ck_assert_int_eq(out[3], RLW_AF_KEY);
    ck_assert_int_eq(out[4], 2);
    ck_assert_int_eq(out[6], RLW_KIND_KEY);
    ck_assert_int_eq(memcmp(out + 7, hash, 16), 0);
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), 0);
    ck_assert_int_eq(memcmp(&back, &j, sizeof(j)), 0);
    out[3] = RLW_AF_INET;
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    out[3] = RLW_AF_KEY;
    out[6] = RLW_KIND_NET;
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
    out[6] = RLW_KIND_KEY;
    out[4] = RLW_KEYS_MAX;
    ck_assert_int_eq(rlw_journal_decode(out, sizeof(out), &back), -1);
}
END_TEST

START_TEST(journal_mutations_canonical)
{
    unsigned char orig[RLW_JOURNAL_LEN], buf[RLW_JOURNAL_LEN];
    unsigned char again[RLW_JOURNAL_LEN];
    rlw_journal_t j, back;
    size_t off, accepted = 0;
    int v;

    make_journal(&j, "2001:db8::1", 64);
    ck_assert_int_eq(rlw_journal_encode(&j, orig), 0);
    for (off = 0; off < RLW_JOURNAL_LEN; off++) {
        for (v = 0; v < 256; v++) {
            if (v == orig[off])
                continue;
            memcpy(buf, orig, sizeof(buf));
            buf[off] = (unsigned char)v;
            if (rlw_journal_decode(buf, sizeof(buf), &back) != 0)
                continue;
            accepted++;
            ck_assert_msg(off >= 2, "header byte %lu = %d accepted",
                          (unsigned long)off, v);
            ck_assert_int_eq(rlw_journal_encode(&back, again), 0);
            ck_assert_msg(memcmp(buf, again, sizeof(buf)) == 0,
                          "byte %lu = %d not canonical", (unsigned long)off, v);
        }
    }
    ck_assert_uint_gt(accepted, 1000);
}
END_TEST

START_TEST(ban_mutations_canonical)
{
    unsigned char buf[RLW_BAN_RECORD_LEN], again[RLW_BAN_RECORD_LEN];
    static const rlw_ban_state_t seed = {1700000000000LL, 1700000600000LL, 3,
                                         9};
    unsigned char orig[RLW_BAN_RECORD_LEN];
    rlw_ban_state_t b;
    size_t off, accepted = 0, refused = 0;
    int v;

    ck_assert_int_eq(rlw_ban_record_encode(&seed, orig), 0);
    for (off = 0; off < RLW_BAN_RECORD_LEN; off++) {
        for (v = 0; v < 256; v++) {
            memcpy(buf, orig, sizeof(buf));
            buf[off] = (unsigned char)v;
            if (rlw_ban_record_decode(buf, sizeof(buf), &b) != 0) {
                refused++;
                continue;
            }
            accepted++;
            ck_assert_int_eq(rlw_ban_record_encode(&b, again), 0);
            ck_assert_int_eq(memcmp(buf, again, sizeof(buf)), 0);
        }
    }
    ck_assert_uint_gt(accepted, 1000);
    ck_assert_uint_gt(refused, 500);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *record_suite(void)
{
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("ban");

    tcase_add_test(tc, ban_layout);
    tcase_add_loop_test(tc, ban_round_trip, 0, N(good_bans));
    tcase_add_loop_test(tc, ban_bad_values, 0, N(bad_bans));
    tcase_add_test(tc, ban_bad_lengths_and_header);
    tcase_add_test(tc, ban_mutations_canonical);
    suite_add_tcase(s, tc);

    tc = tcase_create("journal");
    tcase_add_test(tc, journal_layout);
    tcase_add_test(tc, journal_round_trip);
    tcase_add_loop_test(tc, journal_bad_wire, 0, N(bad_wire));
    tcase_add_test(tc, journal_bad_ipv6_wire);
    tcase_add_test(tc, journal_node_unterminated);
    tcase_add_test(tc, journal_bad_lengths);
    tcase_add_test(tc, journal_encode_refuses);
    tcase_add_test(tc, journal_mutations_canonical);
    tcase_add_test(tc, journal_network);
    tcase_add_test(tc, journal_key);
    suite_add_tcase(s, tc);
    return s;
}

/* test_subject.c - subjects of counters and bans: a client's network,
 * kinds, validity, membership. */
#include <string.h>

#include <check.h>

#include "rlw_subject.h"
#include "unit_suites.h"

static rlw_addr_t host(const char *text)
{
    rlw_addr_t a;

    ck_assert_int_eq(rlw_addr_parse(text, &a), 0);
    return a;
}

START_TEST(net_of_ipv4)
{
    rlw_addr_t h = host("198.51.100.77"), n, m;
    char buf[RLW_ADDR_STRLEN];

    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, RLW_SCOPE_ENFORCE, &n), 0);
    ck_assert_int_eq(n.family, RLW_AF_INET);
    ck_assert_int_eq(n.prefix, 24);
    ck_assert_int_eq(n.kind, RLW_KIND_NET);
    ck_assert_int_eq(n.scope, RLW_SCOPE_ENFORCE);
    ck_assert_str_eq(rlw_addr_format(&n, buf, sizeof(buf)), "198.51.100.0/24");
    ck_assert(rlw_subject_valid(&n));
    /* Every address of the /24 has the same network, memcmp-equal. */
    h = host("198.51.100.1");
    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, RLW_SCOPE_ENFORCE, &m), 0);
    ck_assert_int_eq(memcmp(&n, &m, sizeof(n)), 0);
    h = host("198.51.101.1");
    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, RLW_SCOPE_ENFORCE, &m), 0);
    ck_assert_int_ne(memcmp(&n, &m, sizeof(n)), 0);
    /* Odd prefixes mask inside a byte. */
    h = host("10.255.255.255");
    ck_assert_int_eq(rlw_subject_net(&h, 13, 48, RLW_SCOPE_DRY_RUN, &m), 0);
    ck_assert_str_eq(rlw_addr_format(&m, buf, sizeof(buf)), "10.248.0.0/13");
    ck_assert_int_eq(m.scope, RLW_SCOPE_DRY_RUN);
    ck_assert(rlw_subject_valid(&m));
}
END_TEST

START_TEST(net_of_ipv6)
{
    rlw_addr_t h = host("2001:db8:aa:bb::1"), n, m;
    char buf[RLW_ADDR_STRLEN];

    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, RLW_SCOPE_ENFORCE, &n), 0);
    ck_assert_str_eq(rlw_addr_format(&n, buf, sizeof(buf)), "2001:db8:aa::/48");
    ck_assert_int_eq(n.kind, RLW_KIND_NET);
    /* A grouped client of the same prefix is another subject. */
    rlw_addr_client(&h, 48, &m);
    ck_assert_int_eq(memcmp(m.bytes, n.bytes, 16), 0);
    ck_assert_int_eq(m.prefix, n.prefix);
    ck_assert_int_ne(memcmp(&m, &n, sizeof(n)), 0);
    /* IPv4-mapped is IPv4: the IPv4 prefix applies. */
    h = host("::ffff:192.0.2.9");
    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, RLW_SCOPE_ENFORCE, &n), 0);
    ck_assert_str_eq(rlw_addr_format(&n, buf, sizeof(buf)), "192.0.2.0/24");
}
END_TEST

START_TEST(net_off_and_bad)
{
    rlw_addr_t h4 = host("192.0.2.1"), h6 = host("2001:db8::1"), n, z;

    memset(&n, 0x5a, sizeof(n));
    z = n;
    /* A prefix of 0 turns networks of that family off. */
    ck_assert_int_eq(rlw_subject_net(&h4, 0, 48, 0, &n), -1);
    ck_assert_int_eq(rlw_subject_net(&h6, 24, 0, 0, &n), -1);
    ck_assert_int_eq(rlw_subject_net(&h4, 33, 48, 0, &n), -1);
    ck_assert_int_eq(rlw_subject_net(&h6, 24, 129, 0, &n), -1);
    ck_assert_int_eq(rlw_subject_net(&h4, 24, 48, 2, &n), -1);
    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(rlw_subject_net(&z, 24, 48, 0, &n), -1);
    ck_assert_int_eq(rlw_subject_net(NULL, 24, 48, 0, &n), -1);
    memset(&z, 0x5a, sizeof(z));
    ck_assert_int_eq(memcmp(&n, &z, sizeof(n)), 0); /* untouched */
    /* The other family still works. */
    ck_assert_int_eq(rlw_subject_net(&h6, 0, 48, 0, &n), 0);
    ck_assert_int_eq(rlw_subject_net(&h4, 24, 0, 0, &n), 0);
}
END_TEST

START_TEST(kinds_and_validity)
{
    rlw_addr_t h = host("192.0.2.1"), n;

    ck_assert_str_eq(rlw_subject_kind_name(RLW_KIND_CLIENT), "client");
    ck_assert_str_eq(rlw_subject_kind_name(RLW_KIND_NET), "network");
    ck_assert_str_eq(rlw_subject_kind_name(RLW_KIND_KEY), "key");
    ck_assert_ptr_null(rlw_subject_kind_name(3));
    ck_assert(rlw_subject_valid(&h));
    ck_assert(!rlw_subject_valid(NULL));
    n = h;
    n.kind = RLW_KIND_KEY; /* a key's kind with an address's family */
    ck_assert(!rlw_subject_valid(&n));
    n.kind = 7;
    ck_assert(!rlw_subject_valid(&n));
    n = h;
    n.kind = RLW_KIND_NET;
    ck_assert(rlw_subject_valid(&n)); /* a /32 network is a network */
    n.prefix = 24;                    /* host bits beyond the prefix */
    ck_assert(!rlw_subject_valid(&n));
    n.prefix = 0;
    memset(n.bytes, 0, sizeof(n.bytes));
    ck_assert(!rlw_subject_valid(&n)); /* a network is never everything */
    n = h;
    n.scope = 2;
    ck_assert(!rlw_subject_valid(&n));
}
END_TEST

START_TEST(net_holds)
{
    rlw_addr_t n, h = host("198.51.100.77"), o = host("198.51.101.77");

    ck_assert_int_eq(rlw_subject_net(&h, 24, 48, RLW_SCOPE_DRY_RUN, &n), 0);
    ck_assert(rlw_subject_net_holds(&n, &h));
    ck_assert(!rlw_subject_net_holds(&n, &o));
    ck_assert(!rlw_subject_net_holds(&h, &h)); /* a client is no network */
    o = host("2001:db8::1");
    ck_assert(!rlw_subject_net_holds(&n, &o));
}
END_TEST

/* A request key: family RLW_AF_KEY, the NAME's index in prefix, the hash
 * in bytes; shown as "key#N:" and 32 hex digits, parsed back from that. */
START_TEST(key_subjects)
{
    unsigned char hash[16];
    rlw_addr_t k, back, a = host("192.0.2.1");
    char buf[RLW_ADDR_STRLEN];
    int i;

    for (i = 0; i < 16; i++)
        hash[i] = (unsigned char)(0xf0 + i);
    ck_assert_int_eq(rlw_subject_key(3, hash, RLW_SCOPE_DRY_RUN, &k), 0);
    ck_assert_int_eq(k.family, RLW_AF_KEY);
    ck_assert_int_eq(k.kind, RLW_KIND_KEY);
    ck_assert_int_eq(k.prefix, 3);
    ck_assert_int_eq(k.scope, RLW_SCOPE_DRY_RUN);
    ck_assert(rlw_subject_valid(&k));
    ck_assert_str_eq(rlw_addr_format(&k, buf, sizeof(buf)),
                     "key#3:f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    ck_assert_int_eq(rlw_subject_key_parse(buf, &back), 0);
    k.scope = RLW_SCOPE_ENFORCE; /* the text has no scope */
    ck_assert_int_eq(memcmp(&back, &k, sizeof(k)), 0);
    ck_assert_int_eq(
        rlw_subject_key_parse("KEY#3:F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF", &back),
        -1); /* "key#" in lower case only */
    ck_assert_int_eq(
        rlw_subject_key_parse("key#3:F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF", &back),
        0);
    ck_assert_int_eq(memcmp(&back, &k, sizeof(k)), 0);
    /* Out of range, short, long, not hex, no index. */
    ck_assert_int_eq(rlw_subject_key(RLW_KEYS_MAX, hash, 0, &k), -1);
    ck_assert_int_eq(rlw_subject_key(0, hash, 2, &k), -1);
    ck_assert_int_eq(rlw_subject_key_parse("key#8:"
                                           "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                                           &back),
                     -1);
    ck_assert_int_eq(rlw_subject_key_parse("key#1:f0f1", &back), -1);
    ck_assert_int_eq(rlw_subject_key_parse("key#1:"
                                           "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff0",
                                           &back),
                     -1);
    ck_assert_int_eq(rlw_subject_key_parse("key#1:"
                                           "g0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                                           &back),
                     -1);
    ck_assert_int_eq(rlw_subject_key_parse("key#:f0", &back), -1);
    ck_assert_int_eq(rlw_subject_key_parse("192.0.2.1", &back), -1);
    ck_assert_int_eq(rlw_subject_key_parse(NULL, &back), -1);
    /* Validity: both family and kind, an index below the maximum. */
    ck_assert_int_eq(rlw_subject_key(0, hash, 0, &k), 0);
    back = k;
    back.prefix = RLW_KEYS_MAX;
    ck_assert(!rlw_subject_valid(&back));
    back = k;
    back.kind = RLW_KIND_NET;
    ck_assert(!rlw_subject_valid(&back));
    back = k;
    back.scope = 2;
    ck_assert(!rlw_subject_valid(&back));
    a.family = RLW_AF_KEY; /* an address's bytes with a key's family */
    ck_assert(!rlw_subject_valid(&a));
    /* A key is never a network's member. */
    ck_assert(!rlw_subject_net_holds(&k, &a));
}
END_TEST

/* Masking, for every prefix length, against a bit-by-bit reference. */
START_TEST(net_mask_every_prefix)
{
    rlw_addr_t h = host("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), n;
    rlw_addr_t h4 = host("255.255.255.255");
    unsigned p, bit;

    for (p = 1; p <= 128; p++) {
        ck_assert_int_eq(rlw_subject_net(&h, 24, p, 0, &n), 0);
        for (bit = 0; bit < 128; bit++)
            ck_assert_msg(!!(n.bytes[bit / 8] & (0x80u >> (bit % 8))) ==
                              (bit < p),
                          "prefix /%u, bit %u", p, bit);
        ck_assert(rlw_subject_valid(&n));
    }
    for (p = 1; p <= 32; p++) {
        ck_assert_int_eq(rlw_subject_net(&h4, p, 48, 0, &n), 0);
        for (bit = 0; bit < 128; bit++)
            ck_assert_msg(!!(n.bytes[bit / 8] & (0x80u >> (bit % 8))) ==
                              (bit < p),
                          "IPv4 prefix /%u, bit %u", p, bit);
    }
}
END_TEST

Suite *subject_suite(void)
{
    Suite *s = suite_create("subject");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, net_of_ipv4);
    tcase_add_test(tc, net_of_ipv6);
    tcase_add_test(tc, net_off_and_bad);
    tcase_add_test(tc, kinds_and_validity);
    tcase_add_test(tc, net_holds);
    tcase_add_test(tc, key_subjects);
    tcase_add_test(tc, net_mask_every_prefix);
    suite_add_tcase(s, tc);
    return s;
}

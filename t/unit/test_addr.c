/* test_addr.c - host parsing (hostile input included), IPv6 grouping,
 * formatting, CIDR parsing and matching.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "rlw_addr.h"
#include "unit_suites.h"

typedef struct host_case {
    const char *text;
    int family;
    const char *formatted;
} host_case_t;

static const host_case_t good_hosts[] = {
    {"192.0.2.1", RLW_AF_INET, "192.0.2.1"},
    {"0.0.0.0", RLW_AF_INET, "0.0.0.0"},
    {"255.255.255.255", RLW_AF_INET, "255.255.255.255"},
    {"::ffff:1.2.3.4", RLW_AF_INET, "1.2.3.4"},
    {"::FFFF:1.2.3.4", RLW_AF_INET, "1.2.3.4"},
    {"[::ffff:1.2.3.4]", RLW_AF_INET, "1.2.3.4"},
    {"::ffff:102:304", RLW_AF_INET, "1.2.3.4"},
    {"2001:db8::1", RLW_AF_INET6, "2001:db8::1"},
    {"[2001:db8::1]", RLW_AF_INET6, "2001:db8::1"},
    {"2001:0DB8:0000:0000:0000:0000:0000:0001", RLW_AF_INET6, "2001:db8::1"},
    {"::1", RLW_AF_INET6, "::1"},
    {"::", RLW_AF_INET6, "::"},
    {"fe80::1", RLW_AF_INET6, "fe80::1"},
};

START_TEST(parse_good_host)
{
    const host_case_t *c = &good_hosts[_i];
    rlw_addr_t a;
    char buf[RLW_ADDR_STRLEN];

    memset(&a, 0xaa, sizeof(a)); /* parse must zero every byte it skips */
    ck_assert_msg(rlw_addr_parse(c->text, &a) == 0, "\"%s\" refused", c->text);
    ck_assert_int_eq(a.family, c->family);
    ck_assert_int_eq(a.prefix, c->family == RLW_AF_INET ? 32 : 128);
    ck_assert_int_eq(a.scope | a.kind, 0); /* enforcing scope */
    if (c->family == RLW_AF_INET) {
        static const uint8_t zero[12];

        ck_assert_int_eq(memcmp(a.bytes + 4, zero, sizeof(zero)), 0);
    }
    ck_assert_str_eq(rlw_addr_format(&a, buf, sizeof(buf)), c->formatted);
}
END_TEST

static const char *const bad_hosts[] = {
    "",
    " 1.2.3.4",
    "1.2.3.4 ",
    "1.2.3.4\n",
    "\t::1",
    "1.2.3.4.5",
    "256.1.1.1",
    "1.2.3",
    "1.2.3.-4",
    "01.2.3.4",
    "0x7f.0.0.1",
    "1.2.3.4x",
    "1.2.3.4/32",
    "1.2.3.4:80",
    "1.2.3.4;rm -rf /",
    "localhost",
    "fe80::1%eth0",
    "[fe80::1%eth0]",
    "fe80::1%",
    "[2001:db8::1",
    "2001:db8::1]",
    "[[2001:db8::1]]",
    "[1.2.3.4]",
    "[]",
    "[",
    "]",
    "2001:db8:::1",
    "1:2:3:4:5:6:7:8:9",
    "12345::1",
    "g::1",
    "::ffff:256.1.1.1",
    "2001:db8::1/64",
    "\xff\xfe\x01",
};

START_TEST(parse_bad_host)
{
    rlw_addr_t a;

    memset(&a, 0xaa, sizeof(a));
    ck_assert_msg(rlw_addr_parse(bad_hosts[_i], &a) == -1, "\"%s\" accepted",
                  bad_hosts[_i]);
    ck_assert_int_eq(a.family, 0); /* never a half-filled address */
}
END_TEST

/* Builds a string of len bytes: prefix, then fill repeated. */
static char *long_string(const char *prefix, char fill, size_t len)
{
    char *s = malloc(len + 1);
    size_t n = strlen(prefix);

    ck_assert_ptr_nonnull(s);
    memset(s, fill, len);
    memcpy(s, prefix, n < len ? n : len);
    s[len] = '\0';
    return s;
}

START_TEST(hostile_long_strings)
{
    static const struct {
        const char *prefix;
        char fill;
    } shapes[] = {
        {"", '1'},  {"1.2.3.4", ' '},   {"1.2.3.4", '0'},    {"::", '1'},
        {"[", ':'}, {"10.0.0.0/", '8'}, {"2001:db8::", ':'},
    };
    rlw_addr_t a;
    size_t i;

    for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        char *s = long_string(shapes[i].prefix, shapes[i].fill, 10000);

        ck_assert_int_eq(rlw_addr_parse(s, &a), -1);
        ck_assert_ptr_nonnull(rlw_cidr_parse(s, &a));
        ck_assert_int_eq(a.family, 0);
        free(s);
    }
}
END_TEST

START_TEST(parse_null_and_length_edge)
{
    rlw_addr_t a;
    /* 45 characters: the longest valid IPv6 text; bracketed it is 47. */
    const char *longest = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
    char bracketed[64];

    ck_assert_int_eq(rlw_addr_parse(NULL, &a), -1);
    ck_assert_ptr_nonnull(rlw_cidr_parse(NULL, &a));
    ck_assert_int_eq((int)strlen(longest), 45);
    ck_assert_int_eq(rlw_addr_parse(longest, &a), 0);
    ck_assert_int_eq(a.family, RLW_AF_INET6);
    strcpy(bracketed, "[");
    strcat(bracketed, longest);
    strcat(bracketed, "]");
    ck_assert_int_eq(rlw_addr_parse(bracketed, &a), 0);
}
END_TEST

START_TEST(equal_values_memcmp_equal)
{
    rlw_addr_t a;
    rlw_addr_t b;

    memset(&a, 0x11, sizeof(a));
    memset(&b, 0x22, sizeof(b));
    ck_assert_int_eq(rlw_addr_parse("2001:db8::1", &a), 0);
    ck_assert_int_eq(rlw_addr_parse("[2001:DB8:0:0::1]", &b), 0);
    ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
    ck_assert_int_eq(rlw_addr_parse("10.1.2.3", &a), 0);
    ck_assert_int_eq(rlw_addr_parse("::ffff:10.1.2.3", &b), 0);
    ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
}
END_TEST

/* Client identity of text grouped at v6_prefix, formatted. */
static const char *client_text(const char *text, unsigned v6_prefix, char *buf,
                               rlw_addr_t *client)
{
    rlw_addr_t host;

    ck_assert_int_eq(rlw_addr_parse(text, &host), 0);
    rlw_addr_client(&host, v6_prefix, client);
    return rlw_addr_format(client, buf, RLW_ADDR_STRLEN);
}

START_TEST(client_grouping)
{
    char buf[RLW_ADDR_STRLEN];
    rlw_addr_t c1;
    rlw_addr_t c2;

    ck_assert_str_eq(client_text("2001:db8:1:2:3:4:5:6", 64, buf, &c1),
                     "2001:db8:1:2::/64");
    ck_assert_int_eq(c1.prefix, 64);
    client_text("2001:db8:1:2:ffff::9", 64, buf, &c2);
    ck_assert_int_eq(memcmp(&c1, &c2, sizeof(c1)), 0);
    client_text("2001:db8:1:3::9", 64, buf, &c2);
    ck_assert_int_ne(memcmp(&c1, &c2, sizeof(c1)), 0);

    ck_assert_str_eq(client_text("2001:db8:1:2ff::1", 56, buf, &c1),
                     "2001:db8:1:200::/56");
    ck_assert_str_eq(client_text("2001:db8:1:ffff::1", 61, buf, &c1),
                     "2001:db8:1:fff8::/61");
    ck_assert_str_eq(client_text("ffff::1", 1, buf, &c1), "8000::/1");
    ck_assert_str_eq(client_text("2001:db8::1", 128, buf, &c1), "2001:db8::1");
    ck_assert_int_eq(c1.prefix, 128);
    /* 0 (unset) and out-of-range values count each address alone. */
    ck_assert_str_eq(client_text("2001:db8::1", 0, buf, &c1), "2001:db8::1");
    ck_assert_str_eq(client_text("2001:db8::1", 200, buf, &c1), "2001:db8::1");
    /* IPv4 is never grouped. */
    ck_assert_str_eq(client_text("192.0.2.77", 64, buf, &c1), "192.0.2.77");
    ck_assert_int_eq(c1.prefix, 32);
    ck_assert_str_eq(client_text("::ffff:192.0.2.77", 48, buf, &c1),
                     "192.0.2.77");
}
END_TEST

START_TEST(format_edges)
{
    rlw_addr_t a;
    char small[8];

    ck_assert_int_eq(rlw_addr_parse("192.0.2.1", &a), 0);
    ck_assert_str_eq(rlw_addr_format(&a, small, sizeof(small)), "192.0.2");
    ck_assert_ptr_eq(rlw_addr_format(&a, small, 0), small);
    memset(&a, 0, sizeof(a));
    ck_assert_str_eq(rlw_addr_format(&a, small, sizeof(small)), "(none)");
    /* The address only, whatever the scope. */
    {
        char buf[RLW_ADDR_STRLEN];

        ck_assert_int_eq(rlw_addr_parse("2001:db8::1", &a), 0);
        a.scope = RLW_SCOPE_DRY_RUN;
        ck_assert_str_eq(rlw_addr_format(&a, buf, sizeof(buf)), "2001:db8::1");
    }
}
END_TEST

typedef struct cidr_case {
    const char *text;
    int family;
    int prefix;
    const char *formatted;
} cidr_case_t;

static const cidr_case_t good_cidrs[] = {
    {"10.0.0.0/8", RLW_AF_INET, 8, "10.0.0.0/8"},
    {"192.0.2.0/24", RLW_AF_INET, 24, "192.0.2.0/24"},
    {"192.168.1.128/25", RLW_AF_INET, 25, "192.168.1.128/25"},
    {"0.0.0.0/0", RLW_AF_INET, 0, "0.0.0.0/0"},
    {"1.2.3.4", RLW_AF_INET, 32, "1.2.3.4"},
    {"1.2.3.4/32", RLW_AF_INET, 32, "1.2.3.4"},
    {"2001:db8::/32", RLW_AF_INET6, 32, "2001:db8::/32"},
    {"[2001:db8::]/32", RLW_AF_INET6, 32, "2001:db8::/32"},
    {"2001:db8:8000::/33", RLW_AF_INET6, 33, "2001:db8:8000::/33"},
    {"::/0", RLW_AF_INET6, 0, "::/0"},
    {"2001:db8::1", RLW_AF_INET6, 128, "2001:db8::1"},
    {"2001:db8::1/128", RLW_AF_INET6, 128, "2001:db8::1"},
    {"::ffff:10.0.0.0/104", RLW_AF_INET, 8, "10.0.0.0/8"},
    {"::ffff:0.0.0.0/96", RLW_AF_INET, 0, "0.0.0.0/0"},
    {"::ffff:1.2.3.4/128", RLW_AF_INET, 32, "1.2.3.4"},
    {"::ffff:1.2.3.4", RLW_AF_INET, 32, "1.2.3.4"},
};

START_TEST(cidr_good)
{
    const cidr_case_t *c = &good_cidrs[_i];
    rlw_addr_t net;
    char buf[RLW_ADDR_STRLEN];
    const char *err = rlw_cidr_parse(c->text, &net);

    ck_assert_msg(err == NULL, "\"%s\": %s", c->text, err);
    ck_assert_int_eq(net.family, c->family);
    ck_assert_int_eq(net.prefix, c->prefix);
    ck_assert_str_eq(rlw_addr_format(&net, buf, sizeof(buf)), c->formatted);
}
END_TEST

static const char *const bad_cidrs[] = {
    "",
    "/8",
    "10.0.0.0/",
    "10.0.0.0/33",
    "2001:db8::/129",
    "10.0.0.0/-1",
    "10.0.0.0/+8",
    "10.0.0.0/ 8",
    "10.0.0.0/8 ",
    " 10.0.0.0/8",
    "10.0.0.0/8/8",
    "10.0.0.0/0x8",
    "10.0.0.0/1000",
    "10.0.0.0/8x",
    "10.0.0/8",
    "256.0.0.0/8",
    "fe80::%eth0/64",
    "[2001:db8::/32]",
    "2001:db8::/32%eth0",
    "10.0.0.0\\8",
};

START_TEST(cidr_bad)
{
    rlw_addr_t net;

    memset(&net, 0xaa, sizeof(net));
    ck_assert_msg(rlw_cidr_parse(bad_cidrs[_i], &net) != NULL,
                  "\"%s\" accepted", bad_cidrs[_i]);
    ck_assert_int_eq(net.family, 0);
}
END_TEST

START_TEST(cidr_host_bits)
{
    static const char *const cases[] = {
        "10.0.0.1/8",         "192.168.1.128/24",  "2001:db8::1/64",
        "2001:db8:8000::/32", "::ffff:0.0.0.0/80", "::ffff:10.0.0.1/104",
    };
    rlw_addr_t net;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *err = rlw_cidr_parse(cases[i], &net);

        ck_assert_msg(err != NULL, "\"%s\" accepted", cases[i]);
        ck_assert_str_eq(err, "host bits set beyond the prefix");
    }
}
END_TEST

/* 1 when host_text lies in net_text (both must parse). */
static int in(const char *net_text, const char *host_text)
{
    rlw_addr_t net;
    rlw_addr_t host;

    ck_assert_ptr_null(rlw_cidr_parse(net_text, &net));
    ck_assert_int_eq(rlw_addr_parse(host_text, &host), 0);
    return rlw_cidr_match(&net, &host);
}

START_TEST(match_v4)
{
    ck_assert_int_eq(in("10.0.0.0/8", "10.0.0.0"), 1);
    ck_assert_int_eq(in("10.0.0.0/8", "10.255.1.2"), 1);
    ck_assert_int_eq(in("10.0.0.0/8", "11.0.0.0"), 0);
    ck_assert_int_eq(in("10.0.0.0/8", "9.255.255.255"), 0);
    ck_assert_int_eq(in("192.168.1.128/25", "192.168.1.128"), 1);
    ck_assert_int_eq(in("192.168.1.128/25", "192.168.1.255"), 1);
    ck_assert_int_eq(in("192.168.1.128/25", "192.168.1.127"), 0);
    ck_assert_int_eq(in("1.2.3.4", "1.2.3.4"), 1);
    ck_assert_int_eq(in("1.2.3.4", "1.2.3.5"), 0);
    ck_assert_int_eq(in("0.0.0.0/0", "203.0.113.9"), 1);
}
END_TEST

START_TEST(match_v6)
{
    ck_assert_int_eq(in("2001:db8::/32", "2001:db8:ffff::1"), 1);
    ck_assert_int_eq(in("2001:db8::/32", "2001:db9::"), 0);
    ck_assert_int_eq(in("2001:db8:8000::/33", "2001:db8:ffff::1"), 1);
    ck_assert_int_eq(in("2001:db8:8000::/33", "2001:db8:7fff::1"), 0);
    ck_assert_int_eq(in("2001:db8::1", "2001:db8::1"), 1);
    ck_assert_int_eq(in("2001:db8::1", "2001:db8::2"), 0);
    ck_assert_int_eq(in("::/0", "fe80::1"), 1);
}
END_TEST

START_TEST(match_families_apart)
{
    ck_assert_int_eq(in("0.0.0.0/0", "::"), 0);
    ck_assert_int_eq(in("0.0.0.0/0", "2001:db8::1"), 0);
    ck_assert_int_eq(in("::/0", "0.0.0.0"), 0);
    ck_assert_int_eq(in("::/0", "10.1.2.3"), 0);
    /* IPv4-compatible ::10.0.0.1 is IPv6, not 10.0.0.1. */
    ck_assert_int_eq(in("10.0.0.0/8", "::a00:1"), 0);
    /* Mapped forms meet in IPv4, whichever side was written mapped. */
    ck_assert_int_eq(in("::ffff:10.0.0.0/104", "10.1.2.3"), 1);
    ck_assert_int_eq(in("::ffff:10.0.0.0/104", "::ffff:10.1.2.3"), 1);
    ck_assert_int_eq(in("10.0.0.0/8", "::ffff:10.1.2.3"), 1);
    ck_assert_int_eq(in("::ffff:10.0.0.0/104", "11.0.0.1"), 0);
}
END_TEST

START_TEST(match_grouped_client_and_corrupt)
{
    rlw_addr_t net;
    rlw_addr_t host;
    rlw_addr_t client;

    ck_assert_ptr_null(rlw_cidr_parse("2001:db8::/32", &net));
    ck_assert_int_eq(rlw_addr_parse("2001:db8:1:2::9", &host), 0);
    rlw_addr_client(&host, 64, &client);
    ck_assert_int_eq(rlw_cidr_match(&net, &client), 1);

    memset(&net, 0, sizeof(net));
    ck_assert_int_eq(rlw_cidr_match(&net, &host), 0); /* unset net */
    net = host;
    net.prefix = 200; /* corrupt: must not read past bytes[] */
    ck_assert_int_eq(rlw_cidr_match(&net, &host), 0);
}
END_TEST

START_TEST(list_match)
{
    rlw_addr_t nets[3];
    rlw_addr_t host;

    ck_assert_ptr_null(rlw_cidr_parse("10.0.0.0/8", &nets[0]));
    ck_assert_ptr_null(rlw_cidr_parse("2001:db8::/32", &nets[1]));
    ck_assert_ptr_null(rlw_cidr_parse("192.0.2.7", &nets[2]));

    ck_assert_int_eq(rlw_addr_parse("192.0.2.7", &host), 0);
    ck_assert_int_eq(rlw_cidr_list_match(nets, 3, &host), 1);
    ck_assert_int_eq(rlw_cidr_list_match(nets, 2, &host), 0);
    ck_assert_int_eq(rlw_cidr_list_match(nets, 0, &host), 0);
    ck_assert_int_eq(rlw_cidr_list_match(NULL, 3, &host), 0);
    ck_assert_int_eq(rlw_addr_parse("2001:db8::5", &host), 0);
    ck_assert_int_eq(rlw_cidr_list_match(nets, 3, &host), 1);
    ck_assert_int_eq(rlw_addr_parse("192.0.2.8", &host), 0);
    ck_assert_int_eq(rlw_cidr_list_match(nets, 3, &host), 0);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Bytes from httpd's parsed sockaddr give the same value as the text. */
START_TEST(from_bytes_matches_parse)
{
    static const uint8_t v4[4] = {192, 0, 2, 7};
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                   0,    0,    0,    0,    0, 0, 0, 1};
    static const uint8_t mapped[16] = {0, 0, 0,    0,    0,   0,  0,   0,
                                       0, 0, 0xff, 0xff, 198, 51, 100, 9};
    rlw_addr_t a, b;

    ck_assert_int_eq(rlw_addr_from_bytes(RLW_AF_INET, v4, &a), 0);
    ck_assert_int_eq(rlw_addr_parse("192.0.2.7", &b), 0);
    ck_assert_mem_eq(&a, &b, sizeof(a));
    ck_assert_int_eq(rlw_addr_from_bytes(RLW_AF_INET6, v6, &a), 0);
    ck_assert_int_eq(rlw_addr_parse("2001:db8::1", &b), 0);
    ck_assert_mem_eq(&a, &b, sizeof(a));
    ck_assert_int_eq(rlw_addr_from_bytes(RLW_AF_INET6, mapped, &a), 0);
    ck_assert_int_eq(a.family, RLW_AF_INET);
    ck_assert_int_eq(rlw_addr_parse("198.51.100.9", &b), 0);
    ck_assert_mem_eq(&a, &b, sizeof(a));
    ck_assert_int_eq(rlw_addr_from_bytes(99, v6, &a), -1);
    ck_assert_int_eq(a.family, 0);
}
END_TEST

Suite *addr_suite(void)
{
    Suite *s = suite_create("addr");
    TCase *tc = tcase_create("host");

    tcase_add_loop_test(tc, parse_good_host, 0, N(good_hosts));
    tcase_add_loop_test(tc, parse_bad_host, 0, N(bad_hosts));
    tcase_add_test(tc, hostile_long_strings);
    tcase_add_test(tc, from_bytes_matches_parse);
    tcase_add_test(tc, parse_null_and_length_edge);
    tcase_add_test(tc, equal_values_memcmp_equal);
    tcase_add_test(tc, client_grouping);
    tcase_add_test(tc, format_edges);
    suite_add_tcase(s, tc);

    tc = tcase_create("cidr");
    tcase_add_loop_test(tc, cidr_good, 0, N(good_cidrs));
    tcase_add_loop_test(tc, cidr_bad, 0, N(bad_cidrs));
    tcase_add_test(tc, cidr_host_bits);
    tcase_add_test(tc, match_v4);
    tcase_add_test(tc, match_v6);
    tcase_add_test(tc, match_families_apart);
    tcase_add_test(tc, match_grouped_client_and_corrupt);
    tcase_add_test(tc, list_match);
    suite_add_tcase(s, tc);
    return s;
}

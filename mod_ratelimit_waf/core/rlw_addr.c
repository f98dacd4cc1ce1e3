/* rlw_addr.c - host addresses, IPv6 client grouping and CIDR lists
 * (rlw_addr.h).
 *
 * Input may come from headers or config written by anyone, so every parser
 * first copies at most a short, bounded prefix of the text into a local
 * buffer and rejects anything longer: inet_pton() never sees untrusted
 * lengths and nothing reads past the NUL.
 */
#include "rlw_addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Longest text accepted for a host ("[" + 45-char IPv6 + "]") or a network
 * (the same plus "/128"), with room to spare but far below any abuse. */
#define TEXT_MAX 64

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};

/* Copies text into buf (size TEXT_MAX) when it fits; returns its length or
 * -1. Scans at most TEXT_MAX bytes of text. */
static int bounded_copy(const char *text, char *buf)
{
    int n;

    if (text == NULL)
        return -1;
    for (n = 0; n < TEXT_MAX && text[n] != '\0'; n++)
        buf[n] = text[n];
    if (n == TEXT_MAX)
        return -1;
    buf[n] = '\0';
    return n;
}

/* Parses a host in buf (modified in place to strip brackets). Leaves IPv4-
 * mapped IPv6 as IPv6 and sets *mapped, so that callers can still check a
 * network prefix in IPv6 terms before converting. */
static int parse_raw(char *buf, int len, rlw_addr_t *out, int *mapped)
{
    memset(out, 0, sizeof(*out));
    *mapped = 0;

    if (len == 0 || strchr(buf, '%') != NULL)
        return -1; /* empty, or a zone: meaningless beyond one host */
    if (buf[0] == '[') {
        /* Brackets only ever wrap IPv6 (URLs, Host headers). */
        if (len < 3 || buf[len - 1] != ']')
            return -1;
        buf[len - 1] = '\0';
        buf++;
        if (inet_pton(AF_INET6, buf, out->bytes) != 1)
            return -1;
        out->family = RLW_AF_INET6;
    } else if (inet_pton(AF_INET, buf, out->bytes) == 1) {
        out->family = RLW_AF_INET;
    } else if (inet_pton(AF_INET6, buf, out->bytes) == 1) {
        out->family = RLW_AF_INET6;
    } else {
        return -1;
    }
    out->prefix = out->family == RLW_AF_INET ? 32 : 128;
    if (out->family == RLW_AF_INET6 &&
        memcmp(out->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0)
        *mapped = 1;
    return 0;
}

/* Turns a mapped IPv6 value (::ffff:a.b.c.d/p, p >= 96) into IPv4/(p-96). */
static void unmap(rlw_addr_t *a)
{
    uint8_t v4[4];

    memcpy(v4, a->bytes + 12, sizeof(v4));
    memset(a->bytes, 0, sizeof(a->bytes));
    memcpy(a->bytes, v4, sizeof(v4));
    a->family = RLW_AF_INET;
    a->prefix = (uint8_t)(a->prefix - 96);
}

/* 1 when any bit after the first prefix bits of bytes is set. */
static int host_bits_set(const uint8_t *bytes, unsigned prefix, unsigned bits)
{
    unsigned i;

    for (i = prefix; i < bits; i++) {
        if (bytes[i / 8] & (0x80u >> (i % 8)))
            return 1;
    }
    return 0;
}

/* Clears every bit after the first prefix bits (of 128). */
static void mask(uint8_t *bytes, unsigned prefix)
{
    unsigned i;

    for (i = prefix; i < 128; i++)
        bytes[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
}

int rlw_addr_parse(const char *text, rlw_addr_t *out)
{
    char buf[TEXT_MAX];
    int len = bounded_copy(text, buf);
    int mapped;

    if (len < 0 || parse_raw(buf, len, out, &mapped) != 0) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    if (mapped)
        unmap(out);
    return 0;
}

int rlw_addr_from_bytes(int family, const void *bytes, rlw_addr_t *out)
{
    memset(out, 0, sizeof(*out));
    if (family == RLW_AF_INET) {
        out->family = RLW_AF_INET;
        out->prefix = 32;
        memcpy(out->bytes, bytes, 4);
        return 0;
    }
    if (family != RLW_AF_INET6)
        return -1;
    out->family = RLW_AF_INET6;
    out->prefix = 128;
    memcpy(out->bytes, bytes, 16);
    if (memcmp(out->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0)
        unmap(out);
    return 0;
}

void rlw_addr_client(const rlw_addr_t *host, unsigned v6_prefix,
                     rlw_addr_t *client)
{
    *client = *host;
    if (host->family != RLW_AF_INET6)
        return;
    /* 0 is "not configured": count each address on its own. */
    if (v6_prefix == 0 || v6_prefix > 128)
        v6_prefix = 128;
    mask(client->bytes, v6_prefix);
    client->prefix = (uint8_t)v6_prefix;
}

char *rlw_addr_format(const rlw_addr_t *a, char *buf, size_t len)
{
    char tmp[RLW_ADDR_STRLEN];
    int af;
    unsigned full;

    if (buf == NULL || len == 0)
        return buf;
    if (a->family == RLW_AF_INET) {
        af = AF_INET;
        full = 32;
    } else if (a->family == RLW_AF_INET6) {
        af = AF_INET6;
        full = 128;
    } else if (a->family == RLW_AF_KEY) {
        static const char hex[] = "0123456789abcdef";
        char h[33];
        int i;

        for (i = 0; i < 16; i++) {
            h[2 * i] = hex[a->bytes[i] >> 4];
            h[2 * i + 1] = hex[a->bytes[i] & 15];
        }
        h[32] = '\0';
        snprintf(buf, len, "key#%u:%s", (unsigned)a->prefix, h);
        return buf;
    } else {
        snprintf(buf, len, "(none)");
        return buf;
    }
    /* Formatted into tmp first so a short buf is truncated, not left
     * unterminated by a failing inet_ntop(). */
    if (inet_ntop(af, a->bytes, tmp, sizeof(tmp)) == NULL)
        snprintf(tmp, sizeof(tmp), "(bad address)");
    if (a->prefix < full)
        snprintf(buf, len, "%s/%u", tmp, (unsigned)a->prefix);
    else
        snprintf(buf, len, "%s", tmp);
    return buf;
}

const char *rlw_cidr_parse(const char *text, rlw_addr_t *net)
{
    char buf[TEXT_MAX];
    int len = bounded_copy(text, buf);
    char *slash;
    unsigned prefix;
    unsigned full;
    int mapped;

    memset(net, 0, sizeof(*net));
    if (len < 0)
        return "address missing or too long";
    slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
        len = (int)(slash - buf);
    }
    if (parse_raw(buf, len, net, &mapped) != 0) {
        memset(net, 0, sizeof(*net));
        return "not an IPv4 or IPv6 address";
    }
    full = net->prefix;
    prefix = full;
    if (slash != NULL) {
        /* Plain decimal only: no sign, space, hex, or empty prefix; three
         * digits are enough for 128 and stop any overflow. */
        const char *p = slash + 1;

        if (*p == '\0' || strlen(p) > 3 ||
            strspn(p, "0123456789") != strlen(p)) {
            memset(net, 0, sizeof(*net));
            return "bad prefix length";
        }
        prefix = 0;
        for (; *p; p++)
            prefix = prefix * 10 + (unsigned)(*p - '0');
        if (prefix > full) {
            memset(net, 0, sizeof(*net));
            return "prefix length too long for the address family";
        }
    }
    /* Checked in the family as written, so a mapped /80 (which would keep
     * the ffff marker in its host part) is refused, not silently widened. */
    if (host_bits_set(net->bytes, prefix, full)) {
        memset(net, 0, sizeof(*net));
        return "host bits set beyond the prefix";
    }
    net->prefix = (uint8_t)prefix;
    if (mapped && prefix >= 96)
        unmap(net);
    return NULL;
}

int rlw_cidr_match(const rlw_addr_t *net, const rlw_addr_t *host)
{
    unsigned whole;
    unsigned rest;

    /* Families never cross: mapped addresses were made IPv4 at parse time,
     * so a remaining IPv6 value is genuinely not IPv4. */
    if (net->family == 0 || net->family != host->family)
        return 0;
    /* A corrupt prefix must not make memcmp() run past bytes[]. */
    if (net->prefix > (net->family == RLW_AF_INET ? 32 : 128))
        return 0;
    whole = net->prefix / 8;
    rest = net->prefix % 8;
    if (memcmp(net->bytes, host->bytes, whole) != 0)
        return 0;
    if (rest != 0) {
        uint8_t m = (uint8_t)(0xffu << (8 - rest));

        if ((net->bytes[whole] & m) != (host->bytes[whole] & m))
            return 0;
    }
    return 1;
}

int rlw_cidr_list_match(const rlw_addr_t *nets, int n, const rlw_addr_t *host)
{
    int i;

    if (nets == NULL)
        return 0;
    for (i = 0; i < n; i++) {
        if (rlw_cidr_match(&nets[i], host))
            return 1;
    }
    return 0;
}

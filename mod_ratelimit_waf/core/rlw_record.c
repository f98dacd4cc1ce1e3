/* rlw_record.c - ban record and journal wire encodings (rlw_record.h).
 *
 * Encoders and decoders share one validity check per field, so an encoder
 * never writes what the decoder would refuse, and a decoder never accepts
 * what the encoder could not have written.
 */
#include "rlw_record.h"
#include "rlw_defaults.h"
#include "rlw_subject.h"

#include <string.h>

#define KIND_BAN 'B'
#define KIND_JOURNAL 'J'

/* Offsets, matching the layout in rlw_record.h. */
#define BAN_OFF_STATE 2
#define J_OFF_ACTION 2
#define J_OFF_CLIENT 3
#define J_OFF_STATE 23
#define J_OFF_NODE 47
#define STATE_WIRE_LEN 24

/* Tie the macros to the layout: a field added without updating them does
 * not compile. */
_Static_assert(BAN_OFF_STATE + STATE_WIRE_LEN == RLW_BAN_RECORD_LEN,
               "ban record layout");
_Static_assert(J_OFF_CLIENT + RLW_ADDR_WIRE_LEN == J_OFF_STATE &&
                   J_OFF_STATE + STATE_WIRE_LEN == J_OFF_NODE &&
                   J_OFF_NODE + RLW_NODE_LEN == RLW_JOURNAL_LEN,
               "journal layout");

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Two's complement through uint64_t: defined for every value, unlike
 * shifting a negative int64_t. */
static void put_i64(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    int i;

    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(u >> (8 * i));
}

static int64_t get_i64(const unsigned char *p)
{
    uint64_t u = 0;
    int i;

    for (i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    /* Converting an out-of-range uint64_t to int64_t is
     * implementation-defined; build the negative value explicitly. */
    if (u > (uint64_t)INT64_MAX)
        return -(int64_t)(~u) - 1;
    return (int64_t)u;
}

static int state_valid(const rlw_ban_state_t *b)
{
    return b->start_ms >= 0 && b->until_ms >= b->start_ms;
}

static void put_state(unsigned char *p, const rlw_ban_state_t *b)
{
    put_i64(p, b->start_ms);
    put_i64(p + 8, b->until_ms);
    put_u32(p + 16, b->strikes);
    put_u32(p + 20, b->count);
}

static void get_state(const unsigned char *p, rlw_ban_state_t *b)
{
    b->start_ms = get_i64(p);
    b->until_ms = get_i64(p + 8);
    b->strikes = get_u32(p + 16);
    b->count = get_u32(p + 20);
    b->pair = 0; /* not on the wire: the deciding node logs it */
}

/* A subject as the module makes it (rlw_subject_valid()), whose kind
 * the journal version carries: version 2 entries name clients only (the
 * byte that now holds the kind was always zero), version 3 any other kind,
 * so that a node that predates kinds refuses them instead of taking a
 * network for a client. */
static int subject_valid(const rlw_addr_t *a, unsigned version)
{
    if (!rlw_subject_valid(a))
        return 0;
    if (version == RLW_JOURNAL_PAIR_VERSION)
        return 1; /* any kind */
    return version == RLW_JOURNAL_SUBJECT_VERSION ? a->kind != RLW_KIND_CLIENT
                                                  : a->kind == RLW_KIND_CLIENT;
}

/* 1..RLW_NODE_LEN-1 printable ASCII characters before a NUL. */
static size_t node_len(const char *node)
{
    size_t i;

    for (i = 0; i < RLW_NODE_LEN; i++) {
        unsigned char c = (unsigned char)node[i];

        if (c == '\0')
            return i;
        if (c < 0x20 || c > 0x7e)
            return 0;
    }
    return 0; /* no NUL */
}

int rlw_ban_record_encode(const rlw_ban_state_t *b,
                          unsigned char out[RLW_BAN_RECORD_LEN])
{
    if (b == NULL || out == NULL || !state_valid(b))
        return -1;
    out[0] = KIND_BAN;
    out[1] = RLW_RECORD_VERSION;
    put_state(out + BAN_OFF_STATE, b);
    return 0;
}

int rlw_ban_record_decode(const unsigned char *in, size_t len,
                          rlw_ban_state_t *b)
{
    rlw_ban_state_t tmp;

    if (in == NULL || b == NULL || len != RLW_BAN_RECORD_LEN ||
        in[0] != KIND_BAN || in[1] != RLW_RECORD_VERSION)
        return -1;
    /* Zeroed whole, padding included: callers compare states with
     * memcmp(). */
    memset(&tmp, 0, sizeof(tmp));
    get_state(in + BAN_OFF_STATE, &tmp);
    if (!state_valid(&tmp))
        return -1;
    memcpy(b, &tmp, sizeof(tmp));
    return 0;
}

int rlw_journal_encode(const rlw_journal_t *j,
                       unsigned char out[RLW_JOURNAL_LEN])
{
    size_t n;

    if (j == NULL || out == NULL ||
        (j->action != RLW_JOURNAL_BAN && j->action != RLW_JOURNAL_UNBAN) ||
        !rlw_subject_valid(&j->client) || !state_valid(&j->ban))
        return -1;
    n = node_len(j->node);
    if (n == 0)
        return -1;
    out[0] = KIND_JOURNAL;
    out[1] = j->client.kind == RLW_KIND_CLIENT ? RLW_RECORD_VERSION
                                               : RLW_JOURNAL_SUBJECT_VERSION;
    out[J_OFF_ACTION] = j->action;
    out[J_OFF_CLIENT] = j->client.family;
    out[J_OFF_CLIENT + 1] = j->client.prefix;
    out[J_OFF_CLIENT + 2] = j->client.scope; /* a dry-run ban stays one */
    out[J_OFF_CLIENT + 3] = j->client.kind;
    memcpy(out + J_OFF_CLIENT + 4, j->client.bytes, sizeof(j->client.bytes));
    put_state(out + J_OFF_STATE, &j->ban);
    memset(out + J_OFF_NODE, 0, RLW_NODE_LEN);
    memcpy(out + J_OFF_NODE, j->node, n);
    return 0;
}

int rlw_journal_encode_pair(const rlw_journal_t *j,
                            unsigned char out[RLW_JOURNAL_PAIR_LEN])
{
    unsigned char tmp[RLW_JOURNAL_LEN];

    if (j == NULL || out == NULL || j->ban.pair < 1 ||
        j->ban.pair > RLW_PAIRS_MAX || rlw_journal_encode(j, tmp) != 0)
        return -1;
    memcpy(out, tmp, RLW_JOURNAL_LEN);
    out[1] = RLW_JOURNAL_PAIR_VERSION;
    out[RLW_JOURNAL_LEN] = j->ban.pair;
    return 0;
}

int rlw_journal_decode(const unsigned char *in, size_t len, rlw_journal_t *j)
{
    const unsigned char *node;
    rlw_journal_t tmp;
    size_t n, i;

    if (in == NULL || j == NULL || len < RLW_JOURNAL_LEN ||
        in[0] != KIND_JOURNAL)
        return -1;
    /* Versions 2 and 3: 111 bytes; 4: one more, the pair (1 to
     * RLW_PAIRS_MAX). */
    if (in[1] == RLW_JOURNAL_PAIR_VERSION
            ? len != RLW_JOURNAL_PAIR_LEN || in[RLW_JOURNAL_LEN] < 1 ||
                  in[RLW_JOURNAL_LEN] > RLW_PAIRS_MAX
            : len != RLW_JOURNAL_LEN || (in[1] != RLW_RECORD_VERSION &&
                                         in[1] != RLW_JOURNAL_SUBJECT_VERSION))
        return -1;
    memset(&tmp, 0, sizeof(tmp));
    tmp.action = in[J_OFF_ACTION];
    if (tmp.action != RLW_JOURNAL_BAN && tmp.action != RLW_JOURNAL_UNBAN)
        return -1;
    tmp.client.family = in[J_OFF_CLIENT];
    tmp.client.prefix = in[J_OFF_CLIENT + 1];
    tmp.client.scope = in[J_OFF_CLIENT + 2];
    tmp.client.kind = in[J_OFF_CLIENT + 3];
    memcpy(tmp.client.bytes, in + J_OFF_CLIENT + 4, sizeof(tmp.client.bytes));
    if (!subject_valid(&tmp.client, in[1]))
        return -1;
    get_state(in + J_OFF_STATE, &tmp.ban);
    if (!state_valid(&tmp.ban))
        return -1;
    if (in[1] == RLW_JOURNAL_PAIR_VERSION)
        tmp.ban.pair = in[RLW_JOURNAL_LEN];
    node = in + J_OFF_NODE;
    memcpy(tmp.node, node, RLW_NODE_LEN);
    n = node_len(tmp.node);
    if (n == 0)
        return -1;
    for (i = n; i < RLW_NODE_LEN; i++) /* canonical: zeros after the NUL */
        if (node[i] != 0)
            return -1;
    *j = tmp;
    return 0;
}

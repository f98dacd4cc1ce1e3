/* rlw_setup.c - see rlw_setup.h. */
#include <string.h>

#include "rlw_setup.h"

void rlw_setup_init(rlw_setup_t *s)
{
    memset(s, 0, sizeof(*s));
}

void rlw_setup_scored(rlw_setup_t *s)
{
    /* Load first: after the first score every request only reads the
     * line, which then stays shared in every core's cache. */
    if (s && !__atomic_load_n(&s->scored, __ATOMIC_RELAXED))
        __atomic_store_n(&s->scored, 1, __ATOMIC_RELAXED);
}

int rlw_setup_note(rlw_setup_t *s, rlw_setup_kind_t k, int64_t now_ms)
{
    rlw_setup_seen_t *e;
    int64_t zero = 0;

    if (!s || k < 0 || k >= RLW_SETUP_KINDS)
        return 0;
    e = &s->seen[k];
    __atomic_compare_exchange_n(&e->first_ms, &zero, now_ms, 0,
                                __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    __atomic_store_n(&e->last_ms, now_ms, __ATOMIC_RELAXED);
    __atomic_store_n(&e->ended, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&e->evidence, 1, __ATOMIC_RELEASE);
    return rlw_setup_active(s, k);
}

void rlw_setup_end(rlw_setup_t *s, rlw_setup_kind_t k)
{
    if (s && k >= 0 && k < RLW_SETUP_KINDS)
        __atomic_store_n(&s->seen[k].ended, 1, __ATOMIC_RELEASE);
}

void rlw_setup_detail(rlw_setup_t *s, rlw_setup_kind_t k, const char *text)
{
    rlw_setup_seen_t *e;
    size_t n;

    if (!s || k < 0 || k >= RLW_SETUP_KINDS)
        return;
    e = &s->seen[k];
    n = text ? strnlen(text, RLW_SETUP_DETAIL_LEN - 1) : 0;
    /* A sequence lock: odd while writing. */
    __atomic_add_fetch(&e->detail_gen, 1, __ATOMIC_ACQ_REL);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (size_t i = 0; i < RLW_SETUP_DETAIL_LEN; i++)
        __atomic_store_n(&e->detail[i], i < n ? text[i] : '\0',
                         __ATOMIC_RELAXED);
    __atomic_add_fetch(&e->detail_gen, 1, __ATOMIC_RELEASE);
}

/* Copies problem k's detail into out; "" when a writer keeps it busy. */
static void read_detail(const rlw_setup_seen_t *e,
                        char out[RLW_SETUP_DETAIL_LEN])
{
    uint32_t g1, g2;
    int tries;

    for (tries = 0; tries < 8; tries++) {
        g1 = __atomic_load_n(&e->detail_gen, __ATOMIC_ACQUIRE);
        if (g1 & 1)
            continue;
        for (size_t i = 0; i < RLW_SETUP_DETAIL_LEN; i++)
            out[i] = __atomic_load_n(&e->detail[i], __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        g2 = __atomic_load_n(&e->detail_gen, __ATOMIC_RELAXED);
        if (g1 == g2) {
            out[RLW_SETUP_DETAIL_LEN - 1] = '\0';
            return;
        }
    }
    out[0] = '\0';
}

int rlw_setup_active(const rlw_setup_t *s, rlw_setup_kind_t k)
{
    uint64_t n;

    if (!s || k < 0 || k >= RLW_SETUP_KINDS)
        return 0;
    n = __atomic_load_n(&s->seen[k].evidence, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s->seen[k].ended, __ATOMIC_ACQUIRE))
        return 0;
    if (k == RLW_SETUP_NOT_COUNTING)
        return n >= RLW_SETUP_NOT_COUNTING_MIN &&
               !__atomic_load_n(&s->scored, __ATOMIC_RELAXED);
    return n > 0;
}

int rlw_setup_should_warn(rlw_setup_t *s, rlw_setup_kind_t k, int64_t now_ms,
                          int64_t every_ms)
{
    int64_t last;

    if (!rlw_setup_active(s, k))
        return 0;
    last = __atomic_load_n(&s->seen[k].warned_ms, __ATOMIC_RELAXED);
    if (last && now_ms - last < every_ms && now_ms >= last)
        return 0; /* warned recently (a clock that went back warns again) */
    return __atomic_compare_exchange_n(&s->seen[k].warned_ms, &last, now_ms, 0,
                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* FNV-1a, 64 bits: spreads addresses and User-Agents over the slot's key
 * and the 64 agent buckets. Never 0 for an address (0 marks "none"). */
static uint64_t fnv(const void *data, size_t n, uint64_t h)
{
    const uint8_t *p = data;

    while (n--) {
        h ^= *p++;
        h *= 1099511628211ULL;
    }
    return h;
}

#define FNV_BASIS 14695981039346656037ULL

int rlw_setup_agent(rlw_setup_t *s, const rlw_addr_t *a, const char *ua)
{
    rlw_setup_heavy_t *h;
    uint64_t key, mine, bit, agents;
    uint32_t w, n;

    if (!s || !a)
        return 0;
    h = &s->heavy;
    mine = fnv(a, sizeof(*a), FNV_BASIS) | 1;
    bit = 1ULL << (fnv(ua ? ua : "", ua ? strlen(ua) : 0, FNV_BASIS) & 63);
    key = __atomic_load_n(&h->key, __ATOMIC_ACQUIRE);
    if (key != mine) {
        /* Another address holds the slot: wear it down; take it over when
         * it is worn out (an address with most of the attacks keeps it). */
        w = __atomic_load_n(&h->weight, __ATOMIC_RELAXED);
        if (key && w > 1) {
            __atomic_compare_exchange_n(&h->weight, &w, w - 1, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED);
            return 0;
        }
        if (!__atomic_compare_exchange_n(&h->key, &key, mine, 0,
                                         __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return 0; /* another process took it first */
        __atomic_store_n(&h->agents, bit, __ATOMIC_RELAXED);
        __atomic_store_n(&h->attacks, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&h->weight, 1, __ATOMIC_RELAXED);
        return 0;
    }
    w = __atomic_load_n(&h->weight, __ATOMIC_RELAXED);
    if (w < UINT32_MAX / 2)
        __atomic_add_fetch(&h->weight, 1, __ATOMIC_RELAXED);
    n = __atomic_add_fetch(&h->attacks, 1, __ATOMIC_RELAXED);
    agents = __atomic_or_fetch(&h->agents, bit, __ATOMIC_RELAXED);
    if (n < RLW_SETUP_SHARED_ATTACKS ||
        __builtin_popcountll(agents) < RLW_SETUP_SHARED_AGENTS)
        return 0;
    return __builtin_popcountll(agents);
}

void rlw_setup_read(const rlw_setup_t *s, rlw_setup_view_t out[RLW_SETUP_KINDS])
{
    int k;

    memset(out, 0, sizeof(rlw_setup_view_t) * RLW_SETUP_KINDS);
    if (!s)
        return;
    for (k = 0; k < RLW_SETUP_KINDS; k++) {
        const rlw_setup_seen_t *e = &s->seen[k];

        out[k].active = rlw_setup_active(s, (rlw_setup_kind_t)k);
        out[k].evidence = __atomic_load_n(&e->evidence, __ATOMIC_ACQUIRE);
        out[k].first_ms = __atomic_load_n(&e->first_ms, __ATOMIC_RELAXED);
        out[k].last_ms = __atomic_load_n(&e->last_ms, __ATOMIC_RELAXED);
        read_detail(e, out[k].detail);
    }
}

static const struct {
    const char *name, *title, *fix;
} kinds[RLW_SETUP_KINDS] = {
    {"not_counting", "Not counting",
     "ModSecurity matches rules but no anomaly score reaches the module, so "
     "no attack is counted and nobody is banned: include "
     "modsecurity-ratelimit-waf.conf AFTER the CRS rules (on Debian in "
     "/etc/apache2/mods-available/security2.conf, after IncludeOptional "
     "/usr/share/modsecurity-crs/*.load; with CRS 4, the plugin's "
     "ratelimit-waf-after.conf in its plugins/ folder; README.md, "
     "Configure), then apache2ctl graceful."},
    {"bans_inspected", "Bans still inspected",
     "ModSecurity still inspects the requests of banned clients, which "
     "costs a full WAF pass per banned request: include "
     "modsecurity-ratelimit-waf-before.conf BEFORE the CRS (on Debian in "
     "/etc/apache2/mods-available/security2.conf, before IncludeOptional "
     "/etc/modsecurity/*.conf; with CRS 4, the plugin's "
     "ratelimit-waf-before.conf in its plugins/ folder; README.md, "
     "Configure), then apache2ctl graceful."},
    {"proxy_address", "Counting a proxy",
     "Attacks are counted against a private or loopback address while no "
     "RemoteIPHeader is set: behind a proxy or load balancer every client "
     "is counted as the proxy, and one ban answers the whole site. Run "
     "a2enmod remoteip and set RemoteIPHeader X-Forwarded-For and "
     "RemoteIPInternalProxy (or RemoteIPTrustedProxy) to the proxy's "
     "address, e.g. in /etc/apache2/conf-available/remoteip.conf with "
     "a2enconf remoteip (README.md, Configure), then apache2ctl graceful."},
    {"shared_address", "One address, many clients",
     "One address carries most of the attacks counted, with many different "
     "User-Agents, while no RemoteIPHeader is set: if it is a proxy, load "
     "balancer or CDN, every client is counted as it and one ban answers "
     "the whole site. Run a2enmod remoteip and set RemoteIPHeader "
     "X-Forwarded-For and RemoteIPTrustedProxy (or RemoteIPInternalProxy) "
     "to its address (README.md, Configure), then apache2ctl graceful; if "
     "it is a NAT of many users, list it in RateLimitWAFAllow."},
    {"key_order", "Key order differs between nodes",
     "Another node of the cluster gives some RateLimitWAFKey index another "
     "NAME: the nodes do not share those keys' counts, and a key ban one "
     "decides is not enforced by the other. Declare the same "
     "RateLimitWAFKey NAMEs in the same order on every node (NAMEs added "
     "at the end are fine), then apache2ctl graceful (docs/cluster.md, "
     "Request key order)."},
};

const char *rlw_setup_kind_name(rlw_setup_kind_t k)
{
    return k >= 0 && k < RLW_SETUP_KINDS ? kinds[k].name : "unknown";
}

const char *rlw_setup_title(rlw_setup_kind_t k)
{
    return k >= 0 && k < RLW_SETUP_KINDS ? kinds[k].title : "Unknown";
}

const char *rlw_setup_fix(rlw_setup_kind_t k)
{
    return k >= 0 && k < RLW_SETUP_KINDS ? kinds[k].fix : "";
}

int rlw_setup_private_addr(const rlw_addr_t *a)
{
    const uint8_t *b = a->bytes;

    if (a->family == RLW_AF_INET)
        return b[0] == 127 || b[0] == 10 ||
               (b[0] == 172 && (b[1] & 0xf0) == 16) ||
               (b[0] == 192 && b[1] == 168) ||
               (b[0] == 100 && (b[1] & 0xc0) == 64) ||
               (b[0] == 169 && b[1] == 254);
    if (a->family == RLW_AF_INET6) {
        static const uint8_t loop[16] = {[15] = 1};

        return !memcmp(b, loop, 16) || (b[0] & 0xfe) == 0xfc ||
               (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
    }
    return 0;
}

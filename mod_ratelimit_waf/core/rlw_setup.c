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
    __atomic_add_fetch(&e->evidence, 1, __ATOMIC_RELEASE);
    return rlw_setup_active(s, k);
}

int rlw_setup_active(const rlw_setup_t *s, rlw_setup_kind_t k)
{
    uint64_t n;

    if (!s || k < 0 || k >= RLW_SETUP_KINDS)
        return 0;
    n = __atomic_load_n(&s->seen[k].evidence, __ATOMIC_ACQUIRE);
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
     "/usr/share/modsecurity-crs/*.load; README.md, Configure), then "
     "apache2ctl graceful."},
    {"bans_inspected", "Bans still inspected",
     "ModSecurity still inspects the requests of banned clients, which "
     "costs a full WAF pass per banned request: include "
     "modsecurity-ratelimit-waf-before.conf BEFORE the CRS (on Debian in "
     "/etc/apache2/mods-available/security2.conf, before IncludeOptional "
     "/etc/modsecurity/*.conf; README.md, Configure), then apache2ctl "
     "graceful."},
    {"proxy_address", "Counting a proxy",
     "Attacks are counted against a private or loopback address while no "
     "RemoteIPHeader is set: behind a proxy or load balancer every client "
     "is counted as the proxy, and one ban answers the whole site. Run "
     "a2enmod remoteip and set RemoteIPHeader X-Forwarded-For and "
     "RemoteIPInternalProxy (or RemoteIPTrustedProxy) to the proxy's "
     "address, e.g. in /etc/apache2/conf-available/remoteip.conf with "
     "a2enconf remoteip (README.md, Configure), then apache2ctl graceful."},
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

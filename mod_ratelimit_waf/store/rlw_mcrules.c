/* rlw_mcrules.c - the memcached store's rules that need no memcached (see
 * rlw_mcrules.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "rlw_mcrules.h"
#include "rlw_mcparse.h"
#include "rlw_window.h"

/* out holds n bytes printed by snprintf into RLW_MC_KEY_MAX: its length,
 * or 0 when it failed or did not fit. */
static size_t key_len(int n)
{
    return n > 0 && n < RLW_MC_KEY_MAX ? (size_t)n : 0;
}

size_t rlw_mc_bucket_key(const char *prefix, const char *pseudo, int64_t index,
                         char *out)
{
    return key_len(snprintf(out, RLW_MC_KEY_MAX, "%sc%lld:%s", prefix,
                            (long long)index, pseudo));
}

size_t rlw_mc_bucket_key_w(const char *prefix, const char *pseudo, unsigned win,
                           int64_t index, char *out)
{
    if (win == 0)
        return rlw_mc_bucket_key(prefix, pseudo, index, out);
    return key_len(snprintf(out, RLW_MC_KEY_MAX, "%sc%u.%lld:%s", prefix, win,
                            (long long)index, pseudo));
}

size_t rlw_mc_ban_key(const char *prefix, const char *pseudo, char *out)
{
    return key_len(snprintf(out, RLW_MC_KEY_MAX, "%sb:%s", prefix, pseudo));
}

size_t rlw_mc_journal_seq_key(const char *prefix, char *out)
{
    return key_len(snprintf(out, RLW_MC_KEY_MAX, "%sj:seq", prefix));
}

size_t rlw_mc_journal_key(const char *prefix, uint64_t seq, char *out)
{
    return key_len(snprintf(out, RLW_MC_KEY_MAX, "%sj:%llu", prefix,
                            (unsigned long long)seq));
}

int64_t rlw_mc_key_bucket(const char *prefix, const char *key, size_t klen)
{
    size_t pl = strlen(prefix);
    uint64_t idx;

    if (klen <= pl || memcmp(key, prefix, pl) ||
        rlw_parse_bucket_key(key + pl, klen - pl, &idx) != 0)
        return -1;
    return (int64_t)idx; /* at most INT64_MAX */
}

int64_t rlw_mc_key_bucket_w(const char *prefix, const char *key, size_t klen,
                            unsigned max_w, unsigned *win)
{
    size_t pl = strlen(prefix);
    uint64_t idx;

    if (klen <= pl || memcmp(key, prefix, pl) ||
        rlw_parse_bucket_key_w(key + pl, klen - pl, max_w, win, &idx) != 0)
        return -1;
    return (int64_t)idx; /* at most INT64_MAX */
}

int rlw_mc_key_journal(const char *prefix, const char *key, size_t klen,
                       uint64_t *seq)
{
    size_t pl = strlen(prefix);

    if (klen <= pl || memcmp(key, prefix, pl))
        return -1;
    return rlw_parse_journal_key(key + pl, klen - pl, seq);
}

int rlw_mc_parse_count(const char *v, size_t vl, uint64_t *out)
{
    uint64_t x;

    if (rlw_parse_counter(v, vl, &x) != 0 || x > RLW_COUNT_MAX)
        return -1;
    *out = x;
    return 0;
}

uint32_t rlw_mc_count_since_ban(const uint64_t *vals, int64_t head,
                                int64_t width, const rlw_ban_state_t *b)
{
    int64_t from = b->start_ms > 0 ? b->start_ms / width : -1;
    uint64_t total = 0;
    int i;

    for (i = 0; i < RLW_WINDOW_BUCKETS; i++) {
        if (head - i > from)
            total = rlw_sat_add_u64(total, vals[i]);
    }
    return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

int64_t rlw_mc_ttl_secs(int64_t ms)
{
    int64_t s;

    if (ms > (int64_t)RLW_MC_TTL_MAX * 1000)
        return RLW_MC_TTL_MAX;
    s = (ms + 999) / 1000 + 1;
    return s > RLW_MC_TTL_MAX ? RLW_MC_TTL_MAX : s;
}

int64_t rlw_mc_record_keep(const rlw_policy_t *p, const rlw_ban_state_t *b,
                           int64_t now)
{
    /* The counters of the longest window (RateLimitWAFThreshold pairs). */
    int64_t longest = rlw_policy_longest_window(p);
    int64_t counters = longest + rlw_window_width(longest);
    int64_t after =
        p->strike_decay_ms > counters ? p->strike_decay_ms : counters;

    return (b->until_ms > now ? b->until_ms - now : 0) + after;
}

void rlw_mc_start_after(rlw_ban_state_t *b, const rlw_ban_state_t *prev)
{
    if (prev->start_ms <= 0 || b->start_ms > prev->start_ms ||
        prev->start_ms == INT64_MAX)
        return;
    b->start_ms = prev->start_ms + 1;
    if (b->until_ms < b->start_ms)
        b->until_ms = b->start_ms;
}

long rlw_mc_cas_backoff_ns(int tries)
{
    return (long)(tries + 1) * 200000L;
}

int64_t rlw_mc_journal_wait_ms(int64_t timeout_ms)
{
    return timeout_ms > RLW_MC_JOURNAL_WAIT_MS / 4 ? timeout_ms * 4
                                                   : RLW_MC_JOURNAL_WAIT_MS;
}

uint64_t rlw_mc_journal_batch_end(uint64_t seen, uint64_t seq, uint64_t batch)
{
    return seq - seen > batch ? seen + batch : seq;
}

const char *rlw_mc_servers(apr_pool_t *p, const char *config)
{
    const char *out = NULL;
    char *copy, *tok, *last;

    if (!config)
        return NULL;
    copy = apr_pstrdup(p, config);
    for (tok = apr_strtok(copy, " \t", &last); tok;
         tok = apr_strtok(NULL, " \t", &last)) {
        char *v = NULL;
        size_t n;

        if (!strncasecmp(tok, "--SERVER=", 9) ||
            !strncasecmp(tok, "--SOCKET=", 9))
            v = tok + 9;
        if (!v || !*v)
            continue;
        n = strlen(v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
            v[n - 1] = 0;
            v++;
        }
        out = out ? apr_pstrcat(p, out, ", ", v, NULL) : v;
    }
    return out;
}

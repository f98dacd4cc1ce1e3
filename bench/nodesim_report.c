/* bench/nodesim_report.c - the parent's summary of a nodesim run: what
 * the nodes left in shared memory, added up and checked, as human lines and
 * one "result" line of key=value pairs (bench/scale.sh reads it).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodesim.h"

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The "result" line, built while the human lines are printed. */
static char res[2048];

static void add(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add(const char *fmt, ...)
{
    size_t len = strlen(res);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(res + len, sizeof(res) - len, fmt, ap);
    va_end(ap);
}

int nodesim_report(const opts_t *o, const shared_t *sh, double wall)
{
    node_out_t t;
    int i, c, bad = 0;

    memset(&t, 0, sizeof(t));
    for (i = 0; i < o->nodes; i++) {
        const node_out_t *x = &sh->node[i];

        if (!x->ok) {
            fprintf(stderr, "nodesim: node %d did not finish\n", i);
            bad = 1;
        }
        t.attacks += x->attacks;
        t.bans += x->bans;
        t.already += x->already;
        t.below += x->below;
        t.skipped += x->skipped;
        t.ops += x->ops;
        t.errors += x->errors;
        t.fallbacks += x->fallbacks;
        t.cas_retries += x->cas_retries;
        t.bad_records += x->bad_records;
        t.log_warn += x->log_warn;
        t.log_evict += x->log_evict;
        t.syncs += x->syncs;
        t.sync_us += x->sync_us;
        t.journal_read += x->journal_read;
        t.unknown_bans += x->unknown_bans;
        t.journal_entries += x->journal_entries;
    }
    printf("nodes %d x %d threads, %s, %.2f s: %llu attacks (%.0f/s), "
           "%llu bans, %llu already banned, %llu below, %llu skipped "
           "(banned locally)\n",
           o->nodes, o->mode == M_PROPAGATE ? 1 : o->threads, o->mode_name,
           wall, (unsigned long long)t.attacks, wall > 0 ? t.attacks / wall : 0,
           (unsigned long long)t.bans, (unsigned long long)t.already,
           (unsigned long long)t.below, (unsigned long long)t.skipped);
    printf("memcached round trips %llu (%.2f per attack), syncs %llu "
           "(%.0f us each), errors %llu, fallbacks %llu, cas retries %llu, "
           "bad records %llu, warning lines %llu (+ %llu table-full "
           "notices)\n",
           (unsigned long long)t.ops,
           t.attacks ? (double)t.ops / (double)t.attacks : 0,
           (unsigned long long)t.syncs,
           t.syncs ? (double)t.sync_us / (double)t.syncs : 0,
           (unsigned long long)t.errors, (unsigned long long)t.fallbacks,
           (unsigned long long)t.cas_retries, (unsigned long long)t.bad_records,
           (unsigned long long)t.log_warn, (unsigned long long)t.log_evict);
    if (t.errors || t.fallbacks || t.bad_records || t.log_warn)
        bad = 1;
    add("result mode=%s nodes=%d threads=%d secs=%.2f attacks=%llu "
        "attacks_per_s=%.0f bans=%llu already=%llu below=%llu "
        "skipped=%llu ops=%llu ops_per_attack=%.3f syncs=%llu "
        "sync_us=%.0f errors=%llu fallbacks=%llu cas_retries=%llu "
        "warn_lines=%llu evict_notices=%llu journal_read=%llu "
        "sync_us_per_entry=%.1f",
        o->mode_name, o->nodes, o->mode == M_PROPAGATE ? 1 : o->threads, wall,
        (unsigned long long)t.attacks, wall > 0 ? t.attacks / wall : 0,
        (unsigned long long)t.bans, (unsigned long long)t.already,
        (unsigned long long)t.below, (unsigned long long)t.skipped,
        (unsigned long long)t.ops,
        t.attacks ? (double)t.ops / (double)t.attacks : 0,
        (unsigned long long)t.syncs,
        t.syncs ? (double)t.sync_us / (double)t.syncs : 0,
        (unsigned long long)t.errors, (unsigned long long)t.fallbacks,
        (unsigned long long)t.cas_retries, (unsigned long long)t.log_warn,
        (unsigned long long)t.log_evict, (unsigned long long)t.journal_read,
        t.journal_read ? (double)t.sync_us / (double)t.journal_read : 0);

    if (o->mode == M_EXACT) {
        int want1 = 0, got1 = 0, double_bans = 0, missed = 0, false_bans = 0;
        int at_t = 0, of_t = 0;
        uint32_t cmin = UINT32_MAX, cmax = 0;

        for (c = 0; c < o->clients; c++) {
            int kind = c % 4;

            if (kind == 2) {
                if (sh->bans[c])
                    false_bans++;
                continue;
            }
            want1++;
            if (sh->bans[c] == 1)
                got1++;
            else if (sh->bans[c] == 0)
                missed++;
            else
                double_bans++;
            if (sh->bans[c] && kind != 3) {
                of_t++;
                if (sh->ban_count[c] == o->threshold)
                    at_t++;
            }
            if (sh->bans[c] && kind == 3) {
                if (sh->ban_count[c] < cmin)
                    cmin = sh->ban_count[c];
                if (sh->ban_count[c] > cmax)
                    cmax = sh->ban_count[c];
            }
        }
        printf("exact: %d of %d clients attacked >= T times banned exactly "
               "once; %d never, %d more than once; %d of %d clients attacked "
               "T-1 times banned; %d of %d bans of K=T clients at count == T; "
               "K=2T bans at count %u..%u; bans a node did not learn after "
               "its sync: %llu; journal entries %llu\n",
               got1, want1, missed, double_bans, false_bans,
               o->clients / 4 + (o->clients % 4 > 2), at_t, of_t,
               cmin == UINT32_MAX ? 0 : cmin, cmax,
               (unsigned long long)t.unknown_bans,
               (unsigned long long)t.journal_entries);
        add(" exact_ok=%d exact_missed=%d double_bans=%d false_bans=%d "
            "count_eq_t=%d/%d unknown_bans=%llu journal_entries=%llu",
            got1 == want1 && !false_bans, missed, double_bans, false_bans, at_t,
            of_t, (unsigned long long)t.unknown_bans,
            (unsigned long long)t.journal_entries);
        if (got1 != want1 || false_bans || at_t != of_t || t.unknown_bans)
            bad = 1;
    }
    if (o->mode == M_PROPAGATE) {
        int64_t *d = calloc((size_t)o->repeats * MAX_NODES, sizeof(int64_t));
        int nd = 0, missing = 0, r;

        if (!d) {
            fprintf(stderr, "nodesim: out of memory\n");
            return 1;
        }
        for (r = 0; r < o->repeats; r++)
            for (i = 1; i < o->nodes; i++) {
                if (!sh->ban_ms[r] || !sh->seen_ms[r][i]) {
                    missing++;
                    continue;
                }
                d[nd] = sh->seen_ms[r][i] - sh->ban_ms[r];
                if (d[nd] < 0)
                    d[nd] = 0;
                nd++;
            }
        qsort(d, (size_t)nd, sizeof(int64_t), cmp64);
        if (nd) {
            double sum = 0;

            for (i = 0; i < nd; i++)
                sum += (double)d[i];
            printf("propagation (sync every %lld ms) over %d node-bans: "
                   "mean %.0f ms, p50 %lld, p95 %lld, max %lld; missing %d\n",
                   (long long)o->sync_ms, nd, sum / nd, (long long)d[nd / 2],
                   (long long)d[(nd * 95) / 100], (long long)d[nd - 1],
                   missing);
            add(" sync_ms=%lld prop_n=%d prop_mean_ms=%.0f "
                "prop_p50_ms=%lld prop_p95_ms=%lld prop_max_ms=%lld "
                "prop_missing=%d",
                (long long)o->sync_ms, nd, sum / nd, (long long)d[nd / 2],
                (long long)d[(nd * 95) / 100], (long long)d[nd - 1], missing);
        } else if (o->nodes > 1)
            add(" prop_n=0 prop_missing=%d", missing);
        if (missing)
            bad = 1;
        free(d);
    }
    printf("%s ok=%d\n", res, !bad);
    return bad;
}

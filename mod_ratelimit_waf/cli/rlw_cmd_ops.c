/* rlw_cmd_ops.c - rlwafctl's commands: status, ban, unban, list.
 *
 * Reads go straight to memcached (rlw_store_mc_lookup/_journal); changes go
 * through the store's own ban() and unban(), so a ban made here is CAS'd
 * and journaled exactly like a ban decided by a node, and every node
 * enforces it after its next sync (RateLimitWAFSyncInterval).
 *
 * The tool's store is an operator's (rlw_store_mc.h): it holds no local
 * table, so nothing falls back. ban() and unban() answer what reached the
 * cluster: done and journaled, APR_INCOMPLETE (the record is changed but
 * no journal entry tells the nodes), or not done. Every change is preceded
 * by a read, which names a failing server.
 *
 * A ban or unban that changed the client's record also writes its SIEM
 * event (rlw_cmd_event.c): no node reports it, they only learn it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "rlw_cmd.h"
#include "rlw_duration.h"
#include "rlw_record.h"
#include "rlw_subject.h"
#include "rlw_time.h"

/* Printable forms of one ban, for both outputs. */
typedef struct ban_text {
    char client[RLW_ADDR_STRLEN];
    char since[RLW_TIME_ISO_LEN], until[RLW_TIME_ISO_LEN];     /* with ms */
    char since_s[RLW_TIME_ISO_LEN], until_s[RLW_TIME_ISO_LEN]; /* seconds */
    char left[40];
} ban_text_t;

/* A ban record's time as rlwafctl shows it: "?" before the epoch (a record
 * may say anything). */
static void show_time(int64_t ms, unsigned flags, char *buf, size_t len)
{
    if (ms < 0)
        snprintf(buf, len, "?");
    else
        rlw_time_iso8601(ms, flags, buf, len);
}

static void describe(const rlw_addr_t *client, const rlw_ban_state_t *b,
                     int64_t now, ban_text_t *t)
{
    rlw_addr_format(client, t->client, sizeof(t->client));
    /* "2026-11-29T10:27:39.032Z" for JSON, whole seconds for text. */
    show_time(b->start_ms, RLW_TIME_MS, t->since, sizeof(t->since));
    show_time(b->until_ms, RLW_TIME_MS, t->until, sizeof(t->until));
    show_time(b->start_ms, 0, t->since_s, sizeof(t->since_s));
    show_time(b->until_ms, 0, t->until_s, sizeof(t->until_s));
    /* "14m59s", "2h": rounded down to the second (under 1 s: "350ms"). */
    rlw_time_span(b->until_ms > now ? b->until_ms - now : 0, t->left,
                  sizeof(t->left));
}

/* "client", "network" or "key": what a subject is, in the text output. */
static const char *kind_word(const rlw_addr_t *subject)
{
    return subject->kind == RLW_KIND_NET   ? "network"
           : subject->kind == RLW_KIND_KEY ? "key"
                                           : "client";
}

/* "network ", "key " or "" (a client), before a subject in a sentence. */
static const char *kind_prefix(const rlw_addr_t *subject)
{
    return subject->kind == RLW_KIND_NET   ? "network "
           : subject->kind == RLW_KIND_KEY ? "key "
                                           : "";
}

/* The JSON "kind" of a subject that is not a client (clients have none,
 * as in events and the status page). */
static void emit_kind(rlw_cmd_t *c, const rlw_addr_t *subject)
{
    if (subject->kind != RLW_KIND_NET && subject->kind != RLW_KIND_KEY)
        return;
    rlw_cmd_emit_key(c, "kind", 0);
    rlw_cmd_emit_str(c, kind_word(subject));
}

static void emit_num_at(rlw_cmd_t *c, const char *key, int64_t v, int first)
{
    char buf[24];

    /* apr_psprintf() knows no %lld. */
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    rlw_cmd_emit_key(c, key, first);
    rlw_cmd_emit(c, buf);
}

static void emit_num(rlw_cmd_t *c, const char *key, int64_t v)
{
    emit_num_at(c, key, v, 0);
}

/* The JSON fields of a ban (inside an object, after a first field). */
static void emit_ban(rlw_cmd_t *c, const rlw_ban_state_t *b, int64_t now,
                     const ban_text_t *t)
{
    rlw_cmd_emit_key(c, "since", 0);
    rlw_cmd_emit_str(c, t->since);
    rlw_cmd_emit_key(c, "until", 0);
    rlw_cmd_emit_str(c, t->until);
    emit_num(c, "since_ms", b->start_ms);
    emit_num(c, "until_ms", b->until_ms);
    emit_num(c, "remaining_ms", b->until_ms > now ? b->until_ms - now : 0);
    emit_num(c, "strikes", b->strikes);
}

/* Reads client's record; a failure is reported as RLW_CMD_STORE. */
static int lookup(rlw_cmd_t *c, const rlw_addr_t *client, int64_t now,
                  rlw_store_mc_lookup_t *lk)
{
    char err[512], name[RLW_ADDR_STRLEN];

    if (rlw_store_mc_lookup(c->store, client, c->windows_ms, c->nwindows, now,
                            lk, err, sizeof(err)) == APR_SUCCESS) {
        if (lk->bad_record)
            fprintf(stderr,
                    "rlwafctl: warning: the ban record of %s does "
                    "not open with this secret (another secret or key "
                    "prefix, or tampering); it reads as no ban\n",
                    rlw_addr_format(client, name, sizeof(name)));
        return RLW_CMD_OK;
    }
    return rlw_cmd_fail(c, RLW_CMD_STORE,
                        "cannot read the ban record of %s: "
                        "%s",
                        rlw_addr_format(client, name, sizeof(name)), err);
}

/* What the core said last, for a store error sentence. */
static const char *core_said(rlw_cmd_t *c)
{
    if (c->store_detail[0])
        return apr_psprintf(c->pool, " (%s)", c->store_detail);
    return c->core_error[0] ? apr_psprintf(c->pool, " (%s)", c->core_error)
                            : "";
}

/* --- status ------------------------------------------------------------ */

int rlw_cmd_status(rlw_cmd_t *c, int argc, char **argv)
{
    rlw_store_mc_lookup_t lk;
    rlw_addr_t client;
    ban_text_t t;
    char win[32];
    int64_t now;
    int rc, banned;

    if ((rc = rlw_cmd_want_args(c, argc, 1, "status CLIENT")) ||
        (rc = rlw_cmd_client(c, argv[0], &client)) ||
        (rc = rlw_cmd_open_store(c)))
        return rc;
    now = rlw_now_ms();
    if ((rc = lookup(c, &client, now, &lk)))
        return rc;
    banned = rlw_ban_active(&lk.ban, now);
    describe(&client, &lk.ban, now, &t);
    rlw_duration_format(c->window_ms, win, sizeof(win));

    if (c->json) {
        rlw_cmd_emit_key(c, "client", 0);
        rlw_cmd_emit_str(c, t.client);
        emit_kind(c, &client);
        rlw_cmd_emit_key(c, "banned", 0);
        rlw_cmd_emit(c, banned ? "true" : "false");
        emit_num(c, "count", lk.count);
        emit_num(c, "window_ms", c->window_ms);
        if (c->nwindows > 1) {
            unsigned w;

            /* Every RateLimitWAFThreshold pair's window, first included. */
            rlw_cmd_emit_key(c, "windows", 0);
            rlw_cmd_emit(c, "[");
            for (w = 0; w < c->nwindows; w++) {
                rlw_cmd_emit(c, w ? ",{" : "{");
                emit_num_at(c, "window_ms", c->windows_ms[w], 1);
                emit_num(c, "count", lk.counts[w]);
                rlw_cmd_emit(c, "}");
            }
            rlw_cmd_emit(c, "]");
        }
        rlw_cmd_emit_key(c, "ban", 0);
        if (lk.ban.until_ms) {
            rlw_cmd_emit(c, "{");
            rlw_cmd_emit_key(c, "active", 1);
            rlw_cmd_emit(c, banned ? "true" : "false");
            emit_ban(c, &lk.ban, now, &t);
            emit_num(c, "count", lk.ban.count);
            rlw_cmd_emit(c, "}");
        } else
            rlw_cmd_emit(c, "null");
        rlw_cmd_emit_key(c, "bad_record", 0);
        rlw_cmd_emit(c, lk.bad_record ? "true" : "false");
        return banned ? RLW_CMD_OK : RLW_CMD_NO;
    }
    printf("%-10s %s\n", kind_word(&client), t.client);
    if (banned) {
        printf("banned     yes, %s left\n", t.left);
        printf("since      %s\n", t.since_s);
        printf("until      %s\n", t.until_s);
    } else if (lk.ban.until_ms)
        printf("banned     no (last ban %s to %s)\n", t.since_s, t.until_s);
    else
        printf("banned     no\n");
    printf("strikes    %u\n", (unsigned)lk.ban.strikes);
    printf("attacks    %u in the last %s", (unsigned)lk.count, win);
    for (rc = 1; rc < (int)c->nwindows; rc++)
        printf(", %u in the last %s", (unsigned)lk.counts[rc],
               rlw_duration_format(c->windows_ms[rc], win, sizeof(win)));
    printf("\n");
    return banned ? RLW_CMD_OK : RLW_CMD_NO;
}

/* --- ban --------------------------------------------------------------- */

int rlw_cmd_ban(rlw_cmd_t *c, int argc, char **argv)
{
    rlw_store_mc_lookup_t lk;
    rlw_ban_state_t b;
    rlw_addr_t client;
    ban_text_t t;
    const char *why;
    char len[32];
    int64_t ms, now;
    apr_status_t rv;
    int rc, event;

    if ((rc = rlw_cmd_want_args(c, argc, 2, "ban CLIENT DURATION")) ||
        (rc = rlw_cmd_client(c, argv[0], &client)))
        return rc;
    if ((why = rlw_duration_parse(argv[1], &ms)))
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "'%s' is not a ban duration: "
                            "%s (e.g. 90s, 15m, 8h, 1d)",
                            apr_pstrndup(c->pool, argv[1], 40), why);
    if (ms < 1000)
        return rlw_cmd_fail(c, RLW_CMD_USAGE,
                            "a ban of %s is too short to "
                            "reach the nodes (at least 1s)",
                            rlw_duration_format(ms, len, sizeof(len)));
    if ((rc = rlw_cmd_event_open(c)) || (rc = rlw_cmd_open_store(c)))
        return rc;
    /* Read first: whether a ban runs, and a failing server named. */
    now = rlw_now_ms();
    if ((rc = lookup(c, &client, now, &lk)))
        return rc;
    memset(&b, 0, sizeof(b));
    rv = c->store->ban(c->store, &client, ms, now, &b);
    describe(&client, &b, now, &t);
    if (rv == APR_INCOMPLETE) {
        /* The record holds the ban (a node learns it from there with the
         * client's next attack): that is a fact to report. */
        rlw_cmd_event_write(c, RLW_EV_BAN, &client, &b, ms, now);
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "%s is banned in memcached "
                            "until %s, but its journal entry could not be "
                            "written%s: the nodes will not learn of it "
                            "until the client attacks again; run the ban "
                            "again",
                            t.client, t.until, core_said(c));
    }
    if (rv != APR_SUCCESS) {
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "cannot ban %s: memcached did "
                            "not take the ban record%s",
                            t.client, core_said(c));
    }
    event = rlw_cmd_event_write(c, RLW_EV_BAN, &client, &b, ms, now);
    rlw_duration_format(ms, len, sizeof(len));
    if (c->json) {
        rlw_cmd_emit_key(c, "client", 0);
        rlw_cmd_emit_str(c, t.client);
        emit_kind(c, &client);
        rlw_cmd_emit_key(c, "banned", 0);
        rlw_cmd_emit(c, "true");
        emit_ban(c, &b, now, &t);
        emit_num(c, "duration_ms", ms);
        rlw_cmd_emit_key(c, "replaced", 0);
        rlw_cmd_emit(c, rlw_ban_active(&lk.ban, now) ? "true" : "false");
        rlw_cmd_emit_key(c, "node", 0);
        rlw_cmd_emit_str(c, c->node);
        rlw_cmd_emit_key(c, "event", 0);
        rlw_cmd_emit(c, event ? "true" : "false");
        return RLW_CMD_OK;
    }
    printf("banned %s%s for %s, until %s%s; every node enforces it after its "
           "next sync\n",
           kind_prefix(&client), t.client, len, t.until_s,
           rlw_ban_active(&lk.ban, now) ? " (replacing the running ban)" : "");
    return RLW_CMD_OK;
}

/* --- unban ------------------------------------------------------------- */

int rlw_cmd_unban(rlw_cmd_t *c, int argc, char **argv)
{
    rlw_store_mc_lookup_t lk;
    rlw_addr_t client;
    ban_text_t t;
    int64_t now;
    apr_status_t rv;
    int rc, event;

    if ((rc = rlw_cmd_want_args(c, argc, 1, "unban CLIENT")) ||
        (rc = rlw_cmd_client(c, argv[0], &client)) ||
        (rc = rlw_cmd_event_open(c)) || (rc = rlw_cmd_open_store(c)))
        return rc;
    now = rlw_now_ms();
    if ((rc = lookup(c, &client, now, &lk)))
        return rc;
    describe(&client, &lk.ban, now, &t);
    if (!rlw_ban_active(&lk.ban, now)) {
        if (c->json) {
            rlw_cmd_emit_key(c, "client", 0);
            rlw_cmd_emit_str(c, t.client);
            rlw_cmd_emit_key(c, "unbanned", 0);
            rlw_cmd_emit(c, "false");
        } else
            printf("%s is not banned; nothing to do\n", t.client);
        return RLW_CMD_NO;
    }
    rv = c->store->unban(c->store, &client, now);
    if (rv == APR_NOTFOUND) {
        /* Lost to another unban, or to the ban's own end. */
        if (!c->json)
            printf("%s is not banned any more; nothing to do\n", t.client);
        return RLW_CMD_NO;
    }
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "cannot lift the ban of %s: "
                            "memcached did not take the update%s",
                            t.client, core_said(c));
    /* The ban as it ran (the store ended it now). */
    event = rlw_cmd_event_write(c, RLW_EV_UNBAN, &client, &lk.ban, 0, now);
    if (rv == APR_INCOMPLETE)
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "the ban of %s is lifted in "
                            "memcached, but its journal entry could not be "
                            "written%s: nodes keep enforcing it until %s; "
                            "run the unban again",
                            t.client, core_said(c), t.until);
    if (c->json) {
        rlw_cmd_emit_key(c, "client", 0);
        rlw_cmd_emit_str(c, t.client);
        emit_kind(c, &client);
        rlw_cmd_emit_key(c, "unbanned", 0);
        rlw_cmd_emit(c, "true");
        rlw_cmd_emit_key(c, "lifted", 0);
        rlw_cmd_emit(c, "{");
        rlw_cmd_emit_key(c, "active", 1);
        rlw_cmd_emit(c, "false");
        emit_ban(c, &lk.ban, now, &t);
        rlw_cmd_emit(c, "}");
        rlw_cmd_emit_key(c, "event", 0);
        rlw_cmd_emit(c, event ? "true" : "false");
        return RLW_CMD_OK;
    }
    printf("unbanned %s%s (%s were left); every node lets it through after "
           "its next sync\n",
           kind_prefix(&client), t.client, t.left);
    return RLW_CMD_OK;
}

/* --- list -------------------------------------------------------------- */

/* The latest journal word on one client. */
typedef struct listed {
    uint64_t seq;
    rlw_journal_t j;
} listed_t;

typedef struct list_baton {
    apr_pool_t *pool;
    apr_hash_t *latest; /* rlw_addr_t -> listed_t, running bans only */
    uint64_t read;
} list_baton_t;

static int take_entry(void *baton, uint64_t seq, const rlw_journal_t *j)
{
    list_baton_t *lb = baton;
    listed_t *e;

    lb->read++;
    /* A RateLimitWAFDryRun host's decision: reported, enforced by nobody,
     * so not a running ban (and not one rlwafctl can lift). */
    if (j->client.scope != RLW_SCOPE_ENFORCE)
        return 0;
    if (j->action != RLW_JOURNAL_BAN) {
        /* A later unban supersedes every earlier ban of that client. */
        apr_hash_set(lb->latest, &j->client, sizeof(j->client), NULL);
        return 0;
    }
    e = apr_palloc(lb->pool, sizeof(*e));
    e->seq = seq;
    e->j = *j;
    apr_hash_set(lb->latest, &e->j.client, sizeof(e->j.client), e);
    return 0;
}

static int by_start(const void *a, const void *b)
{
    const listed_t *x = *(listed_t *const *)a, *y = *(listed_t *const *)b;

    if (x->j.ban.start_ms != y->j.ban.start_ms)
        return x->j.ban.start_ms < y->j.ban.start_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int rlw_cmd_list(rlw_cmd_t *c, int argc, char **argv)
{
    list_baton_t lb;
    apr_hash_index_t *hi;
    apr_array_header_t *bans;
    uint64_t seq = 0, bad = 0;
    char err[512];
    int64_t now;
    int i, rc, shown = 0;

    (void)argv;
    if ((rc = rlw_cmd_want_args(c, argc, 0, "list")) ||
        (rc = rlw_cmd_open_store(c)))
        return rc;
    memset(&lb, 0, sizeof(lb));
    lb.pool = c->pool;
    lb.latest = apr_hash_make(c->pool);
    if (rlw_store_mc_journal(c->store, c->backlog, take_entry, &lb, &seq, &bad,
                             err, sizeof(err)) != APR_SUCCESS)
        return rlw_cmd_fail(c, RLW_CMD_STORE,
                            "cannot read the ban journal: "
                            "%s",
                            err);
    if (bad)
        fprintf(stderr,
                "rlwafctl: warning: %llu journal entries do not open "
                "with this secret (another secret or key prefix, or "
                "tampering); ignored\n",
                (unsigned long long)bad);
    now = rlw_now_ms();
    bans = apr_array_make(c->pool, 16, sizeof(listed_t *));
    for (hi = apr_hash_first(c->pool, lb.latest); hi; hi = apr_hash_next(hi)) {
        listed_t *e = apr_hash_this_val(hi);

        if (e->j.ban.until_ms > now)
            *(listed_t **)apr_array_push(bans) = e;
    }
    qsort(bans->elts, (size_t)bans->nelts, sizeof(listed_t *), by_start);

    if (c->json) {
        emit_num(c, "journal_seq", (int64_t)seq);
        emit_num(c, "entries_read", (int64_t)lb.read);
        emit_num(c, "bad_entries", (int64_t)bad);
        rlw_cmd_emit_key(c, "bans", 0);
        rlw_cmd_emit(c, "[");
    }
    for (i = 0; i < bans->nelts; i++) {
        listed_t *e = ((listed_t **)bans->elts)[i];
        rlw_store_mc_lookup_t lk;
        ban_text_t t;
        const char *node;

        /* The record has the last word: a ban lifted or replaced without
         * a journal entry (memcached lost it) shows as it really is. */
        if ((rc = lookup(c, &e->j.client, now, &lk)))
            return rc;
        if (!rlw_ban_active(&lk.ban, now))
            continue;
        node = lk.ban.start_ms == e->j.ban.start_ms ? e->j.node : "unknown";
        describe(&e->j.client, &lk.ban, now, &t);
        if (c->json) {
            rlw_cmd_emit(c, shown ? ",{" : "{");
            rlw_cmd_emit_key(c, "client", 1);
            rlw_cmd_emit_str(c, t.client);
            emit_kind(c, &e->j.client);
            emit_ban(c, &lk.ban, now, &t);
            emit_num(c, "count", lk.ban.count);
            rlw_cmd_emit_key(c, "node", 0);
            rlw_cmd_emit_str(c, node);
            emit_num(c, "seq", (int64_t)e->seq);
            rlw_cmd_emit(c, "}");
        } else {
            if (!shown)
                printf("%-24s %-20s %-20s %-10s %-6s %s\n", "CLIENT", "SINCE",
                       "UNTIL", "REMAINING", "STRIKE", "NODE");
            printf("%-24s %-20s %-20s %-10s %-6u %s\n", t.client, t.since_s,
                   t.until_s, t.left, (unsigned)lk.ban.strikes, node);
        }
        shown++;
    }
    if (c->json) {
        rlw_cmd_emit(c, "]");
        emit_num(c, "active", shown);
    } else if (!shown)
        printf("no running bans (%llu journal entries read, up to #%llu)\n",
               (unsigned long long)lb.read, (unsigned long long)seq);
    return RLW_CMD_OK;
}

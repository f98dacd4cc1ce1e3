/* rlw_msc3_rules.c - the `log` / `noauditlog` fix-up of rule files for
 * libmodsecurity v3 (rlw_msc3_rules.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "rlw_msc3_rules.h"

/* An edit of the file: at an offset, del bytes taken out, then text put
 * in. Edits are applied in the order of their offsets (then of seq). */
typedef struct insertion {
    apr_size_t at;
    apr_size_t del;
    const char *text;
    int seq;
} insertion_t;

static insertion_t *queue(apr_array_header_t *out, apr_size_t at,
                          apr_size_t del, const char *text)
{
    insertion_t *ins = apr_array_push(out);

    ins->at = at;
    ins->del = del;
    ins->text = text;
    ins->seq = out->nelts;
    return ins;
}

static int by_offset(const void *a, const void *b)
{
    const insertion_t *x = a, *y = b;

    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    return x->seq - y->seq;
}

typedef struct scan {
    const char *s;
    apr_size_t n;
} scan_t;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Length of the line continuation at i (a backslash, then LF or CRLF), or
 * 0. */
static apr_size_t continuation(const scan_t *sc, apr_size_t i, apr_size_t end)
{
    if (i < end && sc->s[i] == '\\') {
        if (i + 1 < end && sc->s[i + 1] == '\n')
            return 2;
        if (i + 2 < end && sc->s[i + 1] == '\r' && sc->s[i + 2] == '\n')
            return 3;
    }
    return 0;
}

/* Skips blanks and line continuations (not a line's end). */
static apr_size_t skip_blank(const scan_t *sc, apr_size_t i, apr_size_t end)
{
    apr_size_t c;

    for (;;) {
        if (i < end && is_blank(sc->s[i]))
            i++;
        else if ((c = continuation(sc, i, end)) != 0)
            i += c;
        else
            return i;
    }
}

/* mod_security2's phase names and numbers; 2 when unreadable. */
static int phase_of(const char *v, apr_size_t len)
{
    if (len == 1 && v[0] >= '1' && v[0] <= '5')
        return v[0] - '0';
    if (len == 8 && strncasecmp(v, "response", 8) == 0)
        return 4;
    if (len == 7 && strncasecmp(v, "logging", 7) == 0)
        return 5;
    return 2;
}

static int name_is(const char *name, apr_size_t len, const char *want)
{
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* The value of a ctl:forceRequestBodyVariable [vs, ve): 1 On, 0 Off, -1
 * another ctl. */
static int force_value(const scan_t *sc, apr_size_t vs, apr_size_t ve)
{
    static const char name[] = "forceRequestBodyVariable=";
    apr_size_t n = sizeof(name) - 1;

    if (ve - vs <= n || strncasecmp(sc->s + vs, name, n) != 0)
        return -1;
    if (name_is(sc->s + vs + n, ve - vs - n, "on"))
        return 1;
    if (name_is(sc->s + vs + n, ve - vs - n, "off"))
        return 0;
    return -1;
}

/* Reads one action list [a, b): its id (appended to ids when is_rule; to
 * st->reqbody_ids as well when reads_body, 0 for a chained rule), its
 * phase, its `chain`, and its audit actions; queues the insertions that
 * give the library mod_security2's log flag, and those that mark
 * ctl:forceRequestBodyVariable (st->mark_force). A SecDefaultAction
 * (is_default) sets its phase's flag in st. */
static void read_actions(const scan_t *sc, apr_size_t a, apr_size_t b,
                         int is_rule, int is_default, int reads_body,
                         rlw_msc3_logfix_t *st, apr_array_header_t *ids,
                         apr_array_header_t *out)
{
    /* The last of log, nolog, auditlog, noauditlog decides the library's
     * flag; the last of log, nolog mod_security2's. */
    int logflag = -1, phase = 2, last_audit = 0, leaves = 0, want;
    int chain = 0, in_chain = st->chained;
    int drop = 0, block = 0; /* the last disruptive action */
    uint32_t id = 0;
    apr_size_t pos = a, audit_end = 0;

    while (pos < b) {
        apr_size_t ns, ne, vs = 0, ve = 0;

        pos = skip_blank(sc, pos, b);
        if (pos >= b)
            break;
        if (sc->s[pos] == ',') {
            pos++;
            continue;
        }
        ns = pos;
        while (pos < b && is_word(sc->s[pos]))
            pos++;
        ne = pos;
        pos = skip_blank(sc, pos, b);
        if (pos < b && sc->s[pos] == ':') {
            pos = skip_blank(sc, pos + 1, b);
            if (pos < b && sc->s[pos] == '\'') {
                vs = ++pos;
                while (pos < b && sc->s[pos] != '\'')
                    pos += (sc->s[pos] == '\\' && pos + 1 < b) ? 2 : 1;
                ve = pos < b ? pos : b;
            } else {
                vs = pos;
                while (pos < b && sc->s[pos] != ',' && !is_blank(sc->s[pos]) &&
                       !continuation(sc, pos, b))
                    pos++;
                ve = pos;
            }
        }
        /* Whatever is left up to the next comma belongs to this action. */
        while (pos < b && sc->s[pos] != ',')
            pos++;
        if (ne == ns)
            continue;
        if (name_is(sc->s + ns, ne - ns, "id") && ve > vs) {
            uint64_t v = 0;
            apr_size_t k;

            for (k = vs;
                 k < ve && k - vs < 10 && sc->s[k] >= '0' && sc->s[k] <= '9';
                 k++)
                v = v * 10 + (uint64_t)(sc->s[k] - '0');
            if (k == ve && v > 0 && v <= UINT32_MAX) {
                id = (uint32_t)v;
                if (is_rule && ids)
                    APR_ARRAY_PUSH(ids, uint32_t) = id;
            }
        } else if (name_is(sc->s + ns, ne - ns, "chain")) {
            chain = 1;
        } else if (name_is(sc->s + ns, ne - ns, "drop") ||
                   name_is(sc->s + ns, ne - ns, "block") ||
                   name_is(sc->s + ns, ne - ns, "deny") ||
                   name_is(sc->s + ns, ne - ns, "pass") ||
                   name_is(sc->s + ns, ne - ns, "allow") ||
                   name_is(sc->s + ns, ne - ns, "redirect") ||
                   name_is(sc->s + ns, ne - ns, "proxy")) {
            drop = name_is(sc->s + ns, ne - ns, "drop");
            block = name_is(sc->s + ns, ne - ns, "block");
        } else if (name_is(sc->s + ns, ne - ns, "ctl") && st->mark_force &&
                   force_value(sc, vs, ve) >= 0) {
            queue(out, pos, 0,
                  force_value(sc, vs, ve) ? ",setvar:tx.rlw_reqbody_forced=1"
                                          : ",setvar:!tx.rlw_reqbody_forced");
        } else if (name_is(sc->s + ns, ne - ns, "phase")) {
            phase = phase_of(sc->s + vs, ve - vs);
        } else if (name_is(sc->s + ns, ne - ns, "log")) {
            logflag = 1;
            last_audit = 0;
        } else if (name_is(sc->s + ns, ne - ns, "nolog")) {
            logflag = 0;
            last_audit = 0;
        } else if (name_is(sc->s + ns, ne - ns, "noauditlog") ||
                   name_is(sc->s + ns, ne - ns, "auditlog")) {
            last_audit = 1;
            leaves = sc->s[ns] == 'a' || sc->s[ns] == 'A';
            audit_end = ne;
        }
    }
    if (is_rule) {
        if (reads_body && st->reqbody_ids) {
            APR_ARRAY_PUSH(st->reqbody_ids, uint32_t) = in_chain ? 0 : id;
        }
        st->chained = chain;
        if (st->drop_ids && !in_chain && id &&
            (drop || (block && st->default_drop[phase])))
            APR_ARRAY_PUSH(st->drop_ids, uint32_t) = id;
    }
    if (is_default)
        st->default_drop[phase] = drop;
    /* mod_security2's flag: the rule's own, else its phase's default (a
     * default action list: else the built-in "log"). */
    want = logflag >= 0 ? logflag : is_default ? 1 : st->default_log[phase];
    if (is_default)
        st->default_log[phase] = want;
    if (!last_audit || want == leaves)
        return;
    queue(out, audit_end, 0, want ? ",log" : ",nolog");
}

/* Queues what Apache's configuration reader does to a double-quoted
 * argument [a, b) before mod_security2 sees it: each pair of backslashes
 * becomes one (httpd's substring_conf()); libmodsecurity keeps both
 * (owasp-modsecurity/ModSecurity#2148). A run of backslashes right before
 * a double quote, a percent sign or a line end is left as written: there
 * the library's lexer counts the backslashes (an escaped quote, an escaped
 * macro, a continuation), and fewer would change where the argument ends. */
static void unescape_arg(const scan_t *sc, apr_size_t a, apr_size_t b,
                         apr_array_header_t *out)
{
    apr_size_t i = a, run;
    char next;

    while (i < b) {
        if (sc->s[i] != '\\') {
            i++;
            continue;
        }
        for (run = 0; i + run < b && sc->s[i + run] == '\\'; run++)
            ;
        next = i + run < b ? sc->s[i + run] : '"';
        if (run >= 2 && next != '"' && next != '%' && next != '\n' &&
            next != '\r')
            queue(out, i, run / 2, "");
        i += run;
    }
}

/* Which argument holds the actions of the directive at [w, e), 0-based; -1
 * for a directive without actions. Sets *is_rule, *is_default. */
static int actions_arg(const char *w, apr_size_t len, int *is_rule,
                       int *is_default)
{
    *is_rule = *is_default = 0;
    if (name_is(w, len, "SecRule")) {
        *is_rule = 1;
        return 2;
    }
    if (name_is(w, len, "SecAction")) {
        *is_rule = 1;
        return 0;
    }
    if (name_is(w, len, "SecDefaultAction")) {
        *is_default = 1;
        return 0;
    }
    return -1;
}

/* The offset in the variable list [from, b) of the next whole variable
 * name (case aside) `name` (not a longer name such as REQUEST_BODY_LENGTH,
 * not a collection's key such as TX:REQUEST_BODY), or b. */
static apr_size_t find_name(const scan_t *sc, apr_size_t a, apr_size_t from,
                            apr_size_t b, const char *name)
{
    apr_size_t n = strlen(name), i;

    for (i = from; i + n <= b; i++) {
        if (strncasecmp(sc->s + i, name, n) != 0)
            continue;
        if (i > a && (is_word(sc->s[i - 1]) || sc->s[i - 1] == ':'))
            continue;
        if (i + n < b && (is_word(sc->s[i + n]) || sc->s[i + n] == ':'))
            continue;
        return i;
    }
    return b;
}

/* Does the variable list [a, b) name MULTIPART_PART_HEADERS (or one of its
 * keys)? */
static int names_part_headers(const scan_t *sc, apr_size_t a, apr_size_t b)
{
    static const char name[] = "MULTIPART_PART_HEADERS";
    apr_size_t n = sizeof(name) - 1, i;

    for (i = a; i + n <= b; i++)
        if (strncasecmp(sc->s + i, name, n) == 0 &&
            (i == a || (!is_word(sc->s[i - 1]) && sc->s[i - 1] != ':')) &&
            (i + n == b || !is_word(sc->s[i + n])))
            return 1;
    return 0;
}

/* Does the variable list [a, b) name REQUEST_BODY? */
static int names_body(const scan_t *sc, apr_size_t a, apr_size_t b)
{
    return find_name(sc, a, a, b, "REQUEST_BODY") < b;
}

/* A rule that checks the URL encoding of REQUEST_URI reads what the client
 * sent, as under mod_security2, whose REQUEST_URI is the path and query as
 * sent; libmodsecurity's is URL-decoded (Transaction::processURI()), so
 * `@validateUrlEncoding` judged the decoded text (CRS 3's 920220 flagged
 * `%25va`, a valid encoding of `%va`). Queues "_RAW" after each
 * REQUEST_URI of the variable list [a, b) when the operator [os, oe) is
 * @validateUrlEncoding. */
static void raw_uri(const scan_t *sc, apr_size_t a, apr_size_t b, apr_size_t os,
                    apr_size_t oe, apr_array_header_t *out)
{
    static const char op[] = "@validateUrlEncoding";
    apr_size_t i;

    if (os < oe && sc->s[os] == '!')
        os++;
    if (oe - os < sizeof(op) - 1 ||
        strncasecmp(sc->s + os, op, sizeof(op) - 1) != 0 ||
        (oe - os > sizeof(op) - 1 && !is_blank(sc->s[os + sizeof(op) - 1])))
        return;
    for (i = find_name(sc, a, a, b, "REQUEST_URI"); i < b;
         i = find_name(sc, a, i + 1, b, "REQUEST_URI"))
        queue(out, i + sizeof("REQUEST_URI") - 1, 0, "_RAW");
}

void rlw_msc3_logfix_init(rlw_msc3_logfix_t *st)
{
    int i;

    memset(st, 0, sizeof(*st));
    for (i = 0; i < 6; i++)
        st->default_log[i] = 1;
}

const char *rlw_msc3_logfix(apr_pool_t *p, rlw_msc3_logfix_t *st,
                            const char *text, apr_size_t len,
                            apr_array_header_t *ids)
{
    scan_t sc = {text, len};
    apr_array_header_t *out = apr_array_make(p, 4, sizeof(insertion_t));
    apr_size_t i = 0, total, at;
    char *res, *w;
    int k;

    if (!st || !text)
        return NULL;
    while (i < len) {
        apr_size_t ws, arg_s = 0, arg_e = 0;
        int want, nargs = 0, is_rule, is_default, reads_body = 0;
        int part_headers = 0;
        apr_size_t vars_s = 0, vars_e = 0;

        /* The start of a logical line. */
        while (i < len && (is_blank(text[i]) || text[i] == '\r' ||
                           text[i] == '\n' || continuation(&sc, i, len)))
            i += continuation(&sc, i, len) ? continuation(&sc, i, len) : 1;
        if (i >= len)
            break;
        if (text[i] == '#') {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        ws = i;
        while (i < len && is_word(text[i]))
            i++;
        want = actions_arg(text + ws, i - ws, &is_rule, &is_default);
        if (i == ws)
            i++; /* not a directive: one byte on */
        /* The arguments, up to the end of the logical line. */
        for (;;) {
            apr_size_t ts, te;

            i = skip_blank(&sc, i, len);
            if (i >= len || text[i] == '\n' || text[i] == '\r')
                break;
            if (text[i] == '"') {
                ts = ++i;
                while (i < len && text[i] != '"' && text[i] != '\n') {
                    apr_size_t c = continuation(&sc, i, len);

                    i += c ? c : (text[i] == '\\' && i + 1 < len) ? 2 : 1;
                }
                te = i;
                if (i < len && text[i] == '"')
                    i++;
            } else {
                ts = i;
                while (i < len && !is_blank(text[i]) && text[i] != '\n' &&
                       text[i] != '\r' && !continuation(&sc, i, len))
                    i++;
                te = i;
            }
            /* A rule's operator: its backslashes as Apache reads them. */
            if (is_rule && want == 2 && nargs == 1 && ts > 0 &&
                text[ts - 1] == '"')
                unescape_arg(&sc, ts, te, out);
            if (is_rule && want == 2 && nargs == 0) {
                reads_body = names_body(&sc, ts, te);
                part_headers = names_part_headers(&sc, ts, te);
                vars_s = ts;
                vars_e = te;
            }
            if (is_rule && want == 2 && nargs == 1)
                raw_uri(&sc, vars_s, vars_e, ts, te, out);
            if (nargs++ == want) {
                arg_s = ts;
                arg_e = te;
            }
        }
        if (want >= 0 && nargs > want)
            read_actions(&sc, arg_s, arg_e, is_rule, is_default, reads_body, st,
                         ids, out);
        /* libmodsecurity keeps each multipart part header with its line end
         * (`m_last_header_line.assign(m_buf)`, multipart.cc), mod_security2
         * without: a `(.*)$` capture kept the CR (CRS's 922110 then
         * rejected every charset). The rules that read them trim it. */
        if (part_headers && want == 2 && nargs > want && arg_s > 0 &&
            text[arg_s - 1] == '"')
            queue(out, arg_e, 0,
                  arg_e > arg_s ? ",t:trimRight" : "t:trimRight");
        else if (is_rule && want == 2 && nargs == 2) {
            /* A chained rule without actions: ends its chain. */
            if (reads_body && st->reqbody_ids)
                APR_ARRAY_PUSH(st->reqbody_ids, uint32_t) = 0;
            st->chained = 0;
        }
    }
    if (out->nelts == 0)
        return NULL;
    qsort(out->elts, (size_t)out->nelts, sizeof(insertion_t), by_offset);
    total = len;
    for (k = 0; k < out->nelts; k++)
        total += strlen(APR_ARRAY_IDX(out, k, insertion_t).text);
    /* (deletions only shorten it) */
    res = w = apr_palloc(p, total + 1);
    at = 0;
    for (k = 0; k < out->nelts; k++) {
        const insertion_t *ins = &APR_ARRAY_IDX(out, k, insertion_t);
        size_t tl = strlen(ins->text);

        memcpy(w, text + at, ins->at - at);
        w += ins->at - at;
        memcpy(w, ins->text, tl);
        w += tl;
        at = ins->at + ins->del;
    }
    memcpy(w, text + at, len - at);
    w += len - at;
    *w = '\0';
    return res;
}

const char *rlw_msc3_reqbody_rules(apr_pool_t *p, const apr_array_header_t *ids)
{
    const char *ctl = "";
    apr_hash_t *seen = apr_hash_make(p);
    int i;

    for (i = 0; ids && i < ids->nelts; i++) {
        const uint32_t *id = &APR_ARRAY_IDX(ids, i, uint32_t);

        if (apr_hash_get(seen, id, sizeof(*id)))
            continue;
        apr_hash_set(seen, id, sizeof(*id), "");
        ctl = apr_psprintf(p, "%s,ctl:ruleRemoveTargetById=%u;REQUEST_BODY",
                           ctl, (unsigned)*id);
    }
    if (!*ctl)
        return NULL;
    /* REQBODY_PROCESSOR is "" without a processor (the library always
     * reports the variable). */
    return apr_psprintf(
        p,
        "SecRule REQBODY_PROCESSOR \"!@rx ^(?:URLENCODED)?$\" "
        "\"id:%d,phase:1,pass,nolog,noauditlog,t:none%s\"\n"
        "SecRule REQBODY_PROCESSOR \"@rx ^$\" "
        "\"id:%d,phase:1,pass,nolog,noauditlog,t:none,chain%s\"\n"
        "    SecRule &TX:rlw_reqbody_forced \"@eq 0\" \"t:none\"\n",
        RLW_MSC3_REQBODY_RULE_ID, ctl, RLW_MSC3_REQBODY_NONE_RULE_ID, ctl);
}

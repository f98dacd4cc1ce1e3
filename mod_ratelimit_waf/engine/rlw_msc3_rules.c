/* rlw_msc3_rules.c - the `log` / `noauditlog` fix-up of rule files for
 * libmodsecurity v3 (rlw_msc3_rules.h). */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "rlw_msc3_rules.h"

/* An edit of the file: at an offset, del bytes taken out, then text put
 * in. Edits are queued in the order of their offsets. */
typedef struct insertion {
    apr_size_t at;
    apr_size_t del;
    const char *text;
} insertion_t;

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

/* Reads one action list [a, b): its id (appended to ids when is_rule), its
 * phase, and its audit actions; queues the insertions that give the
 * library mod_security2's log flag. A SecDefaultAction (is_default) sets
 * its phase's flag in st. */
static void read_actions(const scan_t *sc, apr_size_t a, apr_size_t b,
                         int is_rule, int is_default, rlw_msc3_logfix_t *st,
                         apr_array_header_t *ids, apr_array_header_t *out)
{
    /* The last of log, nolog, auditlog, noauditlog decides the library's
     * flag; the last of log, nolog mod_security2's. */
    int logflag = -1, phase = 2, last_audit = 0, leaves = 0, want;
    apr_size_t pos = a, audit_end = 0;
    insertion_t *ins;

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
        if (name_is(sc->s + ns, ne - ns, "id") && is_rule && ids && ve > vs) {
            uint64_t v = 0;
            apr_size_t k;

            for (k = vs;
                 k < ve && k - vs < 10 && sc->s[k] >= '0' && sc->s[k] <= '9';
                 k++)
                v = v * 10 + (uint64_t)(sc->s[k] - '0');
            if (k == ve && v > 0 && v <= UINT32_MAX)
                APR_ARRAY_PUSH(ids, uint32_t) = (uint32_t)v;
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
    /* mod_security2's flag: the rule's own, else its phase's default (a
     * default action list: else the built-in "log"). */
    want = logflag >= 0 ? logflag : is_default ? 1 : st->default_log[phase];
    if (is_default)
        st->default_log[phase] = want;
    if (!last_audit || want == leaves)
        return;
    ins = apr_array_push(out);
    ins->at = audit_end;
    ins->del = 0;
    ins->text = want ? ",log" : ",nolog";
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
    insertion_t *ins;

    while (i < b) {
        if (sc->s[i] != '\\') {
            i++;
            continue;
        }
        for (run = 0; i + run < b && sc->s[i + run] == '\\'; run++)
            ;
        next = i + run < b ? sc->s[i + run] : '"';
        if (run >= 2 && next != '"' && next != '%' && next != '\n' &&
            next != '\r') {
            ins = apr_array_push(out);
            ins->at = i;
            ins->del = run / 2;
            ins->text = "";
        }
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

void rlw_msc3_logfix_init(rlw_msc3_logfix_t *st)
{
    int i;

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
        int want, nargs = 0, is_rule, is_default;

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
            if (nargs++ == want) {
                arg_s = ts;
                arg_e = te;
            }
        }
        if (want >= 0 && nargs > want)
            read_actions(&sc, arg_s, arg_e, is_rule, is_default, st, ids, out);
    }
    if (out->nelts == 0)
        return NULL;
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

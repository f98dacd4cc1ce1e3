/* rlw_cmd_conf.c - the RateLimitWAF* directives of an httpd configuration,
 * read the way httpd reads them, closely enough for an operator's tool.
 *
 * What is followed: line continuation ("\" at the end), comments, quoting
 * ("..." and '...', a backslash escapes the quote), ${VAR} from Define and
 * the environment, ServerRoot, Include and IncludeOptional with shell
 * wildcards and directories. What is not: sections (<IfModule>, <IfDefine>,
 * ...) are read through, not evaluated - the store directives are main-
 * server only, so httpd itself refuses them inside <VirtualHost>.
 */
#include <errno.h>
#include <stddef.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "rlw_cmd.h"

/* Include depth before we call it a loop (httpd allows 128). */
#define CONF_MAX_DEPTH 32
/* Largest configuration file read (a typo such as -f /dev/zero must not
 * eat the memory). */
#define CONF_MAX_BYTES (16L * 1024 * 1024)
/* Words kept per directive line. */
#define CONF_MAX_ARGS 8

typedef struct conf_reader {
    apr_pool_t *p;
    rlw_cmd_conf_t *out;
    const char *root;     /* ServerRoot, or the -f file's directory */
    apr_table_t *defines; /* Define NAME VALUE */
    int vhost;            /* inside <VirtualHost> (nesting depth) */
} conf_reader_t;

static const char *read_file(conf_reader_t *r, const char *path, int depth);

static const char *relative(conf_reader_t *r, const char *path)
{
    if (path[0] == '/')
        return path;
    return apr_pstrcat(r->p, r->root, "/", path, NULL);
}

/* ${NAME} from Define, then the environment; unknown names stay as they
 * are (httpd warns and does the same). */
static char *expand(conf_reader_t *r, const char *line)
{
    apr_array_header_t *parts = apr_array_make(r->p, 4, sizeof(char *));
    const char *s = line, *open, *close;

    while ((open = strstr(s, "${")) && (close = strchr(open + 2, '}'))) {
        char *name =
            apr_pstrmemdup(r->p, open + 2, (apr_size_t)(close - open - 2));
        const char *val = apr_table_get(r->defines, name);

        if (!val)
            val = getenv(name);
        *(char **)apr_array_push(parts) =
            apr_pstrmemdup(r->p, s, (apr_size_t)(open - s));
        *(const char **)apr_array_push(parts) =
            val ? val
                : apr_pstrmemdup(r->p, open, (apr_size_t)(close - open + 1));
        s = close + 1;
    }
    *(const char **)apr_array_push(parts) = s;
    return apr_array_pstrcat(r->p, parts, 0);
}

/* Splits a line into words, httpd's way (ap_getword_conf): a word that
 * starts with a quote runs to the matching quote, where \" (or \') stands
 * for the quote itself. Returns the number of words, or -1 when a quote is
 * not closed. */
static int split(apr_pool_t *p, char *line, char **words, int max)
{
    int n = 0;
    char *s = line;

    for (;;) {
        char quote = 0, *w, *d;

        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || n == max)
            return n;
        if (*s == '"' || *s == '\'')
            quote = *s++;
        w = d = apr_palloc(p, strlen(s) + 1);
        while (*s) {
            if (quote && *s == '\\' && s[1] == quote) {
                *d++ = quote;
                s += 2;
                continue;
            }
            if (quote ? *s == quote : (*s == ' ' || *s == '\t'))
                break;
            *d++ = *s++;
        }
        if (quote) {
            if (*s != quote)
                return -1;
            s++;
        }
        *d = 0;
        words[n++] = w;
    }
}

static const char *include(conf_reader_t *r, const char *where,
                           const char *pattern, int optional, int depth)
{
    const char *path = relative(r, pattern);
    struct stat sb;
    glob_t g;
    size_t i;
    int rc;

    /* A directory includes every file in it (and below), sorted. */
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        path = apr_pstrcat(r->p, path, "/*", NULL);
    rc = glob(path, 0, NULL, &g);
    if (rc == GLOB_NOMATCH) {
        globfree(&g);
        if (optional)
            return NULL;
        return apr_psprintf(r->p,
                            "%s: Include %s matches no file (use "
                            "IncludeOptional for optional files)",
                            where, path);
    }
    if (rc != 0) {
        globfree(&g);
        return apr_psprintf(r->p, "%s: cannot read Include %s", where, path);
    }
    for (i = 0; i < g.gl_pathc; i++) {
        const char *err;

        if (stat(g.gl_pathv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
            err = include(r, where, g.gl_pathv[i], optional, depth + 1);
        else
            err = read_file(r, apr_pstrdup(r->p, g.gl_pathv[i]), depth + 1);
        if (err) {
            globfree(&g);
            return err;
        }
    }
    globfree(&g);
    return NULL;
}

/* The one-value directives picked up, and where they go. */
static const struct {
    const char *name;
    size_t offset; /* of a const char * in rlw_cmd_conf_t */
    int is_path;   /* resolved against ServerRoot, as httpd does */
} one_value[] = {
    {"RateLimitWAFSecretFile", offsetof(rlw_cmd_conf_t, secret_file), 1},
    {"RateLimitWAFKeyPrefix", offsetof(rlw_cmd_conf_t, prefix), 0},
    {"RateLimitWAFIPv6Prefix", offsetof(rlw_cmd_conf_t, v6_prefix), 0},
    {"RateLimitWAFWindow", offsetof(rlw_cmd_conf_t, window), 0},
    {"RateLimitWAFNodeName", offsetof(rlw_cmd_conf_t, node), 0},
    {"RateLimitWAFMemcachedTimeout", offsetof(rlw_cmd_conf_t, timeout), 0},
};

/* Applies one directive line (words[0] is the name). */
static const char *directive(conf_reader_t *r, const char *where, char **w,
                             int n, int depth)
{
    rlw_cmd_conf_t *o = r->out;

    if (!strcasecmp(w[0], "ServerRoot") && n == 2) {
        char *root = apr_pstrdup(r->p, w[1]);
        size_t len = strlen(root);

        while (len > 1 && root[len - 1] == '/')
            root[--len] = 0;
        r->root = o->server_root = root;
    } else if (!strcasecmp(w[0], "Define") && n >= 2) {
        apr_table_set(r->defines, w[1], n >= 3 ? w[2] : "");
    } else if (!strcasecmp(w[0], "Include") ||
               !strcasecmp(w[0], "IncludeOptional")) {
        if (n != 2)
            return apr_psprintf(r->p, "%s: %s takes one path", where, w[0]);
        return include(r, where, w[1], !strcasecmp(w[0], "IncludeOptional"),
                       depth);
    } else if (!strcasecmp(w[0], "RateLimitWAFEventLog")) {
        if (n != 2)
            return apr_psprintf(r->p,
                                "%s: RateLimitWAFEventLog takes "
                                "exactly one value",
                                where);
        /* As the module: syslog and programs as written, a file relative
         * to ServerRoot. */
        if (w[1][0] == '|' || !strcmp(w[1], "syslog") ||
            !strncmp(w[1], "syslog:", 7))
            o->event_log = w[1];
        else
            o->event_log = relative(r, w[1]);
    } else if (!strcasecmp(w[0], "RateLimitWAFThreshold")) {
        /* Virtual hosts may set their own; events name the main one.
         * With (count, window) pairs the first pair's window is the
         * window the counts are read in (the module refuses
         * RateLimitWAFWindow beside them). */
        if (!r->vhost && n >= 2)
            o->threshold = w[1];
        if (!r->vhost && n >= 3)
            o->window = w[2];
        if (!r->vhost) {
            int i;

            for (i = 0; i < RLW_PAIRS_MAX - 1; i++)
                o->more_windows[i] = 4 + 2 * i < n ? w[4 + 2 * i] : NULL;
        }
    } else if (!strcasecmp(w[0], "RateLimitWAFKey")) {
        /* Numbered in order of first appearance, as the module does. */
        int i;

        if (n < 4)
            return NULL; /* httpd -t says what is wrong */
        if (!o->key_names)
            o->key_names = apr_array_make(r->p, 8, sizeof(const char *));
        for (i = 0; i < o->key_names->nelts; i++)
            if (!strcmp(APR_ARRAY_IDX(o->key_names, i, const char *), w[1]))
                break;
        if (i == o->key_names->nelts)
            APR_ARRAY_PUSH(o->key_names, const char *) = w[1];
    } else if (!strcasecmp(w[0], "RateLimitWAFStore")) {
        if (n < 2 || n > 3)
            return apr_psprintf(r->p,
                                "%s: RateLimitWAFStore takes a store "
                                "name and, for memcached, a configuration "
                                "string",
                                where);
        o->store = w[1];
        o->mc_config = n == 3 ? w[2] : NULL;
    } else {
        size_t i;

        for (i = 0; i < sizeof(one_value) / sizeof(one_value[0]); i++) {
            const char **field;

            if (strcasecmp(w[0], one_value[i].name))
                continue;
            if (n != 2)
                return apr_psprintf(r->p, "%s: %s takes exactly one value",
                                    where, one_value[i].name);
            field = (const char **)((char *)o + one_value[i].offset);
            *field = one_value[i].is_path ? relative(r, w[1]) : w[1];
            break;
        }
    }
    return NULL;
}

static const char *read_file(conf_reader_t *r, const char *path, int depth)
{
    FILE *f;
    struct stat sb;
    char *text, *line, *next;
    size_t len;
    unsigned lineno = 0;

    if (depth > CONF_MAX_DEPTH)
        return apr_psprintf(r->p,
                            "%s: Include nested more than %d deep "
                            "(does a file include itself?)",
                            path, CONF_MAX_DEPTH);
    if (stat(path, &sb) != 0)
        return apr_psprintf(r->p, "cannot read configuration file %s: %s", path,
                            strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return apr_psprintf(r->p,
                            "configuration file %s is not a regular "
                            "file",
                            path);
    if (sb.st_size > CONF_MAX_BYTES)
        return apr_psprintf(r->p,
                            "configuration file %s is larger than "
                            "%ld bytes",
                            path, CONF_MAX_BYTES);
    if (!(f = fopen(path, "r")))
        return apr_psprintf(r->p, "cannot read configuration file %s: %s", path,
                            strerror(errno));
    text = apr_palloc(r->p, (apr_size_t)sb.st_size + 1);
    len = fread(text, 1, (size_t)sb.st_size, f);
    if (ferror(f)) {
        fclose(f);
        return apr_psprintf(r->p, "cannot read configuration file %s", path);
    }
    fclose(f);
    text[len] = 0;
    r->out->files++;

    for (line = text; line && *line; line = next) {
        char *words[CONF_MAX_ARGS + 1], *end, *s;
        const char *where, *err;
        unsigned first = ++lineno;
        int n;

        /* Join continued lines ("\" at the very end) into this one. */
        for (end = line;;) {
            char *last;

            end = strchr(end, '\n');
            if (!end) {
                next = NULL;
                break;
            }
            next = end + 1;
            last = end > line ? end - 1 : NULL;
            if (last && *last == '\r') {
                *last = ' ';
                last = last > line ? last - 1 : NULL;
            }
            if (last && *last == '\\') {
                *last = ' ';
                *end = ' ';
                lineno++;
                continue;
            }
            *end = 0;
            break;
        }
        for (s = line; *s == ' ' || *s == '\t'; s++)
            ;
        /* Sections are read through; only <VirtualHost> is tracked (for
         * RateLimitWAFThreshold). */
        if (!strncasecmp(s, "<VirtualHost", 12))
            r->vhost++;
        else if (!strncasecmp(s, "</VirtualHost", 13) && r->vhost > 0)
            r->vhost--;
        if (!*s || *s == '#' || *s == '<')
            continue;
        where = apr_psprintf(r->p, "%s line %u", path, first);
        n = split(r->p, expand(r, s), words, CONF_MAX_ARGS + 1);
        if (n < 0)
            return apr_psprintf(r->p, "%s: a quote is not closed", where);
        if (n == 0)
            continue;
        if ((err = directive(r, where, words, n, depth)))
            return err;
    }
    return NULL;
}

const char *rlw_cmd_conf_read(apr_pool_t *p, const char *path,
                              rlw_cmd_conf_t *out)
{
    conf_reader_t r;
    const char *slash = strrchr(path, '/');

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    r.p = p;
    r.out = out;
    r.defines = apr_table_make(p, 4);
    if (!slash)
        r.root = ".";
    else if (slash == path)
        r.root = "/";
    else
        r.root = apr_pstrmemdup(p, path, (apr_size_t)(slash - path));
    return read_file(&r, path, 0);
}

/* rlw_cmd_http.c - rlwafctl --url: a small HTTP/1.0 client for one node's
 * status page.
 *
 * Plain HTTP over an APR socket, no library: the page is meant to be
 * reached on the node itself or over a trusted network (docs/status.md
 * keeps it behind Require ip); for TLS, a tunnel. HTTP/1.0 with
 * "Connection: close" so that the reply is the bytes up to the end of the
 * connection, never chunked. Everything the node sends is outside input:
 * the reply is read to at most RLW_CMD_HTTP_MAX bytes, every socket step
 * waits at most the timeout and the whole exchange ten times that; the
 * status line and headers are parsed strictly, a Content-Length must
 * match the body and a Transfer-Encoding is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <openssl/evp.h>

#include "rlw_cmd.h"
#include "rlw_version.h"

/* Largest header block accepted, in bytes. */
#define HTTP_HEAD_MAX (64 * 1024)

/* The password of --http-user: the first line of --http-password-file,
 * else RLWAFCTL_HTTP_PASSWORD (never an option's value, which any user
 * sees in the process list). */
static int http_password(rlw_cmd_t *c, const char *file, const char **pw)
{
    char line[1024];
    FILE *fp;
    size_t n;

    if (!file) {
        if (!(*pw = getenv("RLWAFCTL_HTTP_PASSWORD")))
            return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                "--http-user needs a password: "
                                "--http-password-file FILE or "
                                "RLWAFCTL_HTTP_PASSWORD");
        return RLW_CMD_OK;
    }
    if (!(fp = fopen(file, "r")))
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "cannot read --http-password-file '%s'",
                            rlw_cmd_shown(c->pool, file));
    if (!fgets(line, sizeof(line), fp))
        line[0] = '\0';
    fclose(fp);
    n = strcspn(line, "\r\n");
    if (line[n] == '\0' && n == sizeof(line) - 1)
        return rlw_cmd_fail(c, RLW_CMD_CONFIG,
                            "--http-password-file '%s': the first line is "
                            "longer than %d bytes",
                            rlw_cmd_shown(c->pool, file),
                            (int)sizeof(line) - 2);
    line[n] = '\0';
    *pw = apr_pstrdup(c->pool, line);
    return RLW_CMD_OK;
}

int rlw_cmd_http_auth(rlw_cmd_t *c, const char *user, const char *file)
{
    const char *pw, *up, *s;
    char *b64;
    size_t n;
    int rc;

    c->url_auth = NULL;
    if (!user) {
        if (file)
            return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                "--http-password-file needs --http-user");
        return RLW_CMD_OK;
    }
    /* RFC 7617: no colon in the user id; no control characters in
     * either, which would break the header line. */
    for (s = user; *s; s++)
        if (*s == ':' || (unsigned char)*s < 0x20 || *s == 0x7f)
            return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                "--http-user '%s' holds a colon or a "
                                "control character",
                                rlw_cmd_shown(c->pool, user));
    if (!*user)
        return rlw_cmd_fail(c, RLW_CMD_USAGE, "--http-user is empty");
    if ((rc = http_password(c, file, &pw)) != RLW_CMD_OK)
        return rc;
    for (s = pw; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return rlw_cmd_fail(c, RLW_CMD_USAGE,
                                "the --http-user password holds a control "
                                "character");
    up = apr_pstrcat(c->pool, user, ":", pw, NULL);
    n = strlen(up);
    /* Standard base64 with padding, NUL-terminated: 4 per 3, plus 1. */
    b64 = apr_palloc(c->pool, (n + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)up, (int)n);
    c->url_auth = apr_pstrcat(c->pool, "Basic ", b64, NULL);
    return RLW_CMD_OK;
}

static int url_bad(rlw_cmd_t *c, const char *url, const char *why)
{
    return rlw_cmd_fail(c, RLW_CMD_USAGE, "--url '%s' %s",
                        rlw_cmd_shown(c->pool, url), why);
}

int rlw_cmd_url_parse(rlw_cmd_t *c, const char *url)
{
    const char *rest, *auth_end, *h, *port = NULL, *q;
    char *end;
    unsigned long n;

    if (!strncasecmp(url, "https://", 8))
        return url_bad(c, url,
                       "is HTTPS, which rlwafctl does not speak: give "
                       "the node's plain-HTTP URL (for example on "
                       "127.0.0.1, run on the node), or reach it through "
                       "a TLS tunnel");
    if (strncasecmp(url, "http://", 7))
        return url_bad(c, url,
                       "is not an http:// URL of a status page (e.g. "
                       "http://127.0.0.1/ratelimit-waf-admin)");
    rest = url + 7;
    auth_end = rest + strcspn(rest, "/?#");
    if (memchr(rest, '@', (size_t)(auth_end - rest)))
        return url_bad(c, url,
                       "holds a user name: give it with --http-user "
                       "and the password with --http-password-file or "
                       "RLWAFCTL_HTTP_PASSWORD, never in the URL");
    if (*rest == '[') {
        h = memchr(rest, ']', (size_t)(auth_end - rest));
        if (!h)
            return url_bad(c, url, "has an IPv6 address without its ']'");
        c->url_host = apr_pstrmemdup(c->pool, rest + 1, (size_t)(h - rest - 1));
        if (h + 1 < auth_end) {
            if (h[1] != ':')
                return url_bad(c, url, "has text after its IPv6 address");
            port = h + 2;
        }
    } else {
        h = memchr(rest, ':', (size_t)(auth_end - rest));
        c->url_host =
            apr_pstrmemdup(c->pool, rest, (size_t)((h ? h : auth_end) - rest));
        if (h)
            port = h + 1;
    }
    if (!*c->url_host)
        return url_bad(c, url, "names no host");
    for (h = c->url_host; *h; h++)
        if (!apr_isalnum(*h) && *h != '.' && *h != '-' && *h != ':')
            return url_bad(c, url, "has a host that is not a name or address");
    c->url_port = 80;
    if (port) {
        const char *pe = auth_end;

        n = strtoul(apr_pstrmemdup(c->pool, port, (size_t)(pe - port)), &end,
                    10);
        if (port == pe || *end || *port < '0' || *port > '9' || n < 1 ||
            n > 65535)
            return url_bad(c, url, "has no port between 1 and 65535");
        c->url_port = (unsigned)n;
    }
    c->url_hostport =
        apr_psprintf(c->pool, "%s%s%s:%u", *rest == '[' ? "[" : "", c->url_host,
                     *rest == '[' ? "]" : "", c->url_port);
    c->url_path = *auth_end == '/' ? auth_end : "/";
    for (q = c->url_path; *q; q++) {
        if (*q == '?' || *q == '#')
            return url_bad(c, url,
                           "has a query or fragment: give the page's "
                           "path only (rlwafctl adds ?json)");
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return url_bad(c, url,
                           "has a space or a character that is "
                           "not printable ASCII in its path");
    }
    c->url = url;
    return RLW_CMD_OK;
}

/* Says why the node could not be asked; code RLW_CMD_STORE. */
static int net_fail(rlw_cmd_t *c, const char *what, apr_status_t rv)
{
    char err[160];

    return rlw_cmd_fail(c, RLW_CMD_STORE, "%s %s: %s",
                        rlw_cmd_shown(c->pool, c->url), what,
                        apr_strerror(rv, err, sizeof(err)));
}

static int bad_reply(rlw_cmd_t *c, const char *why)
{
    return rlw_cmd_fail(c, RLW_CMD_STORE, "%s answered no valid HTTP reply: %s",
                        rlw_cmd_shown(c->pool, c->url), why);
}

/* Sends all of buf, within the deadline. */
static apr_status_t send_all(apr_socket_t *s, const char *buf, apr_size_t len)
{
    while (len) {
        apr_size_t n = len;
        apr_status_t rv = apr_socket_send(s, buf, &n);

        if (rv != APR_SUCCESS)
            return rv;
        buf += n;
        len -= n;
    }
    return APR_SUCCESS;
}

/* 1 when s[0..n) is an HTTP token (a header name). */
static int is_token(const char *s, size_t n)
{
    size_t i;

    if (!n)
        return 0;
    for (i = 0; i < n; i++)
        if (!apr_isalnum(s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
            return 0;
    return 1;
}

/* Parses the reply in buf[0..len) (NUL-terminated) into out. */
static int parse_reply(rlw_cmd_t *c, char *buf, size_t len,
                       rlw_cmd_reply_t *out)
{
    char *head_end = strstr(buf, "\r\n\r\n"), *line, *eol, *colon;
    const char *v;
    int64_t clen = -1;
    char *end;

    if (!head_end || (size_t)(head_end - buf) > HTTP_HEAD_MAX)
        return bad_reply(c, len ? "no end of the header block"
                                : "the connection closed without a reply");
    *head_end = 0;
    /* "HTTP/1.x NNN reason" */
    if (strncmp(buf, "HTTP/1.", 7) || !apr_isdigit(buf[7]) || buf[8] != ' ' ||
        !apr_isdigit(buf[9]) || !apr_isdigit(buf[10]) ||
        !apr_isdigit(buf[11]) || (buf[12] != ' ' && buf[12] != '\r'))
        return bad_reply(c, "the status line is not HTTP/1.x NNN");
    out->status = atoi(buf + 9);
    if (out->status < 100 || out->status > 599)
        return bad_reply(c, "the status is not between 100 and 599");
    out->ctype = "";
    for (line = strstr(buf, "\r\n"); line; line = eol) {
        line += 2;
        eol = strstr(line, "\r\n");
        if (eol)
            *eol = 0;
        if (!*line)
            continue;
        colon = strchr(line, ':');
        if (!colon || !is_token(line, (size_t)(colon - line)))
            return bad_reply(c, "a header line is not NAME: value");
        *colon = 0;
        for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
            ;
        if (!strcasecmp(line, "Content-Type")) {
            out->ctype = apr_pstrdup(c->pool, v);
        } else if (!strcasecmp(line, "Content-Length")) {
            int64_t n = apr_strtoi64(v, &end, 10);

            if (!apr_isdigit(*v) || *end || n < 0 || (clen >= 0 && clen != n))
                return bad_reply(c, "a bad Content-Length");
            clen = n;
        } else if (!strcasecmp(line, "Transfer-Encoding")) {
            return bad_reply(c, "a Transfer-Encoding in a reply to HTTP/1.0");
        }
    }
    out->body = head_end + 4;
    out->len = len - (size_t)(out->body - buf);
    if (clen >= 0 && (uint64_t)clen != out->len)
        return bad_reply(c, apr_psprintf(c->pool,
                                         "the body has %" APR_SIZE_T_FMT
                                         " bytes, its Content-Length says "
                                         "%" APR_INT64_T_FMT,
                                         (apr_size_t)out->len, clen));
    return RLW_CMD_OK;
}

int rlw_cmd_http(rlw_cmd_t *c, const char *method, const char *query,
                 const char *form, rlw_cmd_reply_t *out)
{
    apr_interval_time_t step = (apr_interval_time_t)c->timeout_ms * 1000;
    apr_time_t deadline = apr_time_now() + 10 * step;
    apr_sockaddr_t *sa;
    apr_socket_t *s = NULL;
    apr_status_t rv;
    const char *req;
    char *buf;
    apr_size_t cap = 64 * 1024, len = 0, n;
    int rc;

    memset(out, 0, sizeof(*out));
    rv = apr_sockaddr_info_get(&sa, c->url_host, APR_UNSPEC,
                               (apr_port_t)c->url_port, 0, c->pool);
    if (rv != APR_SUCCESS)
        return net_fail(c, "names a host that does not resolve", rv);
    if ((rv = apr_socket_create(&s, sa->family, SOCK_STREAM, APR_PROTO_TCP,
                                c->pool)) != APR_SUCCESS)
        return net_fail(c, "cannot be reached (no socket)", rv);
    apr_socket_timeout_set(s, step);
    if ((rv = apr_socket_connect(s, sa)) != APR_SUCCESS) {
        apr_socket_close(s);
        return net_fail(c, "does not answer", rv);
    }
    req = apr_psprintf(c->pool,
                       "%s %s%s HTTP/1.0\r\nHost: %s\r\nUser-Agent: "
                       "rlwafctl/" RLW_VERSION "\r\nAccept: application/json"
                       "\r\nConnection: close\r\n",
                       method, c->url_path, query, c->url_hostport);
    if (c->url_auth)
        req = apr_pstrcat(c->pool, req, "Authorization: ", c->url_auth, "\r\n",
                          NULL);
    if (form)
        req = apr_psprintf(c->pool,
                           "%sContent-Type: application/x-www-form-urlencoded"
                           "\r\nContent-Length: %lu\r\n\r\n%s",
                           req, (unsigned long)strlen(form), form);
    else
        req = apr_pstrcat(c->pool, req, "\r\n", NULL);
    if ((rv = send_all(s, req, strlen(req))) != APR_SUCCESS) {
        apr_socket_close(s);
        return net_fail(c, "took no request", rv);
    }
    buf = malloc(cap + 1);
    if (!buf) {
        apr_socket_close(s);
        return rlw_cmd_fail(c, RLW_CMD_STORE, "out of memory");
    }
    for (;;) {
        if (apr_time_now() > deadline) {
            rv = APR_TIMEUP;
            break;
        }
        if (len == cap) {
            char *more;

            if (cap >= RLW_CMD_HTTP_MAX) {
                free(buf);
                apr_socket_close(s);
                return bad_reply(c, apr_psprintf(c->pool, "more than %d bytes",
                                                 RLW_CMD_HTTP_MAX));
            }
            cap = cap * 2 > RLW_CMD_HTTP_MAX ? RLW_CMD_HTTP_MAX : cap * 2;
            if (!(more = realloc(buf, cap + 1))) {
                free(buf);
                apr_socket_close(s);
                return rlw_cmd_fail(c, RLW_CMD_STORE, "out of memory");
            }
            buf = more;
        }
        n = cap - len;
        rv = apr_socket_recv(s, buf + len, &n);
        len += n;
        if (rv != APR_SUCCESS)
            break;
    }
    apr_socket_close(s);
    if (rv != APR_EOF) {
        free(buf);
        return net_fail(c, "did not finish its reply", rv);
    }
    buf[len] = 0;
    out->body = NULL;
    {
        char *copy = apr_pmemdup(c->pool, buf, len + 1);

        free(buf);
        rc = parse_reply(c, copy, len, out);
    }
    return rc;
}

/* rlw_msc3_msg.c - reading libmodsecurity v3's rule messages
 * (rlw_msc3_msg.h). */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>

#include "rlw_msc3_msg.h"

#define SCORE_MARK "mod_ratelimit_waf anomaly score "
#define PROBE_MARK "mod_ratelimit_waf phase 4 "

const char *rlw_msc3_score_rule(apr_pool_t *p, const char *nonce)
{
    return apr_psprintf(p,
                        "SecAction \"id:%d,phase:5,pass,t:none,noauditlog,"
                        "log,msg:'" SCORE_MARK "%s %%{tx.anomaly_score}'\"",
                        RLW_MSC3_SCORE_RULE_ID, nonce);
}

const char *rlw_msc3_probe_rule(apr_pool_t *p, const char *nonce)
{
    return apr_psprintf(p,
                        "SecRule REQUEST_HEADERS:X-RLW-Probe-%s \"@streq 1\" "
                        "\"id:%d,phase:4,pass,t:none,noauditlog,log,"
                        "msg:'" PROBE_MARK "%s'\"",
                        nonce, RLW_MSC3_PROBE_RULE_ID, nonce);
}

int rlw_msc3_is_probe(const char *msg, const char *nonce)
{
    static const char mark[] = " [msg \"" PROBE_MARK;
    const char *m;
    uint32_t id;

    if (!msg || !nonce || strlen(nonce) != RLW_MSC3_NONCE_LEN ||
        !rlw_msc3_rule_id(msg, &id) || id != RLW_MSC3_PROBE_RULE_ID ||
        (m = strstr(msg, mark)) == NULL)
        return 0;
    m += sizeof(mark) - 1;
    return strncmp(m, nonce, RLW_MSC3_NONCE_LEN) == 0 &&
           m[RLW_MSC3_NONCE_LEN] == '"';
}

/* Reads up to 10 decimal digits at p followed by '"'; 1 with *v. */
static int read_id(const char *p, uint32_t *v)
{
    uint64_t n = 0;
    int digits = 0;

    while (*p >= '0' && *p <= '9' && digits < 10) {
        n = n * 10 + (uint64_t)(*p - '0');
        p++;
        digits++;
    }
    if (!digits || *p != '"' || n == 0 || n > 999999999)
        return 0;
    *v = (uint32_t)n;
    return 1;
}

int rlw_msc3_rule_id(const char *msg, uint32_t *id)
{
    static const char file[] = " [file \"", tag[] = " [id \"";
    const char *p;

    if (!msg || !id || (p = strstr(msg, file)) == NULL ||
        (p = strstr(p, tag)) == NULL)
        return 0;
    return read_id(p + sizeof(tag) - 1, id);
}

const char *rlw_msc3_set_file(apr_pool_t *p, const char *msg, const char *file)
{
    static const char tag[] = " [file \"";
    const char *v, *end;

    if (!msg || !file || (v = strstr(msg, tag)) == NULL)
        return msg;
    v += sizeof(tag) - 1;
    if ((end = strstr(v, "\"] [line \"")) == NULL)
        return msg;
    return apr_pstrcat(p, apr_pstrndup(p, msg, (apr_size_t)(v - msg)), file,
                       end, NULL);
}

int rlw_msc3_score(const char *msg, const char *nonce, long *score)
{
    static const char head[] = "ModSecurity: Warning. ";
    static const char mark[] = " [msg \"" SCORE_MARK;
    const char *p, *m;
    uint32_t id;
    long v = 0;
    int digits = 0;

    if (!msg || !nonce || !score || strncmp(msg, head, sizeof(head) - 1) ||
        !rlw_msc3_rule_id(msg, &id) || id != RLW_MSC3_SCORE_RULE_ID)
        return 0;
    /* A SecAction matches nothing: no attacker text comes before its
     * metadata, so its first [msg "..."] is its own. */
    if ((m = strstr(msg, " [msg \"")) == NULL || strncmp(m, mark, strlen(mark)))
        return 0;
    p = m + strlen(mark);
    if (strlen(nonce) != RLW_MSC3_NONCE_LEN ||
        strncmp(p, nonce, RLW_MSC3_NONCE_LEN) || p[RLW_MSC3_NONCE_LEN] != ' ')
        return 0;
    p += RLW_MSC3_NONCE_LEN + 1;
    if (*p == '"') {
        *score = -1; /* tx.anomaly_score was never set */
        return 1;
    }
    for (; *p >= '0' && *p <= '9'; p++, digits++) {
        int d = *p - '0';

        v = v > (LONG_MAX - d) / 10 ? LONG_MAX : v * 10 + d;
    }
    if (!digits || *p != '"')
        return -1;
    *score = v;
    return 1;
}

/* mod_security2's names of the syslog severities 0..7. */
static const char *const severity_names[] = {
    "EMERGENCY", "ALERT",  "CRITICAL", "ERROR",
    "WARNING",   "NOTICE", "INFO",     "DEBUG",
};

const char *rlw_msc3_format(apr_pool_t *p, const char *msg, const char *client)
{
    static const char sev[] = " [severity \"";
    const size_t sevlen = sizeof(sev) - 1;
    const char *s, *found = NULL, *head = "", *end;
    int count = 0;

    if (!msg)
        return "";
    /* mod_security2 names the client in the message too, after httpd's
     * [client A:port]; the intervention's text already does. */
    if (strncmp(msg, "[client ", 8) == 0 && (end = strstr(msg, "] ")) != NULL) {
        head = apr_pstrndup(p, msg, (apr_size_t)(end + 2 - msg));
        msg = end + 2;
    } else if (client) {
        head = apr_pstrcat(p, "[client ", client, "] ", NULL);
    }
    /* Some interventions are bare text ("Request body limit is marked to
     * reject the request"): every line starts as mod_security2's do. */
    if (strncmp(msg, "ModSecurity: ", 13) != 0)
        head = apr_pstrcat(p, head, "ModSecurity: ", NULL);
    for (s = strstr(msg, sev); s; s = strstr(s + sevlen, sev)) {
        if (s[sevlen] >= '0' && s[sevlen] <= '7' && s[sevlen + 1] == '"' &&
            s[sevlen + 2] == ']') {
            found = s;
            count++;
        }
    }
    /* More than one: attacker text forged one; which is real is unknown,
     * so the line stays as the library wrote it. */
    if (count != 1)
        return apr_pstrcat(p, head, msg, NULL);
    return apr_pstrcat(p, head, apr_pstrndup(p, msg, (apr_size_t)(found - msg)),
                       sev, severity_names[found[sevlen] - '0'],
                       found + sevlen + 1, NULL);
}

/* rlw_modsec.c - see rlw_modsec.h. */
#include <stdlib.h>
#include <string.h>

#include "rlw_modsec.h"

int rlw_crs_is_summary(uint32_t id)
{
    uint32_t file = id / 1000;

    /* 949 and 959 add the scores up, 980 correlates: every attack
     * matches them, so they say nothing about what the client tried. */
    return file == 949 || file == 959 || file == 980;
}

int rlw_modsec_score(const char *text, long *score)
{
    char *end;
    long n;

    if (!text || !*text)
        return 0;
    n = strtol(text, &end, 10);
    if (*end || n < 0)
        return -1;
    *score = n;
    return 1;
}

/* The start of the rule metadata in msg: just after the last ' [file "'.
 * What precedes it ("... at ARGS:<name>.") may carry attacker text with
 * unescaped quotes; the metadata values after it are escaped by
 * ModSecurity, so a forged [id "..."] cannot appear there. NULL when the
 * message has no metadata. */
static const char *metadata(const char *msg)
{
    static const char file[] = " [file \"";
    const char *p = msg, *last = NULL;

    while ((p = strstr(p, file)) != NULL) {
        last = p;
        p += sizeof(file) - 1;
    }
    return last;
}

int rlw_modsec_rule_ids(const char *msg, uint32_t *ids, int *n, int max)
{
    static const char tag[] = " [id \"";
    const char *p;
    uint64_t v = 0;
    int digits = 0, i;

    if (!msg || !ids || !n || *n < 0 || *n >= max)
        return 0;
    /* mod_security2 cuts a message at 1024 bytes: a long one may have lost
     * its real metadata and end in the attacker's text. */
    if (strnlen(msg, RLW_MODSEC_MSG_MAX) >= RLW_MODSEC_MSG_MAX)
        return 0;
    /* One message, one rule: the first [id "..."] of its metadata. */
    p = metadata(msg);
    if (!p || (p = strstr(p, tag)) == NULL)
        return 0;
    p += sizeof(tag) - 1;
    while (*p >= '0' && *p <= '9' && digits < 10) {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
        digits++;
    }
    if (!digits || *p != '"' || v == 0 || v > 999999999 ||
        rlw_crs_is_summary((uint32_t)v))
        return 0;
    for (i = 0; i < *n; i++) {
        if (ids[i] == (uint32_t)v)
            return 0;
    }
    ids[(*n)++] = (uint32_t)v;
    return 1;
}

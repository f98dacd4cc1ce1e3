/* rlw_modsec.c - see rlw_modsec.h. */
#include <string.h>

#include "rlw_modsec.h"

int rlw_crs_is_summary(uint32_t id)
{
    uint32_t file = id / 1000;

    /* 949 and 959 add the scores up, 980 correlates: every attack
     * matches them, so they say nothing about what the client tried. */
    return file == 949 || file == 959 || file == 980;
}

int rlw_modsec_rule_ids(const char *msg, uint32_t *ids, int *n, int max)
{
    static const char tag[] = "[id \"";
    const char *p = msg;
    int added = 0;

    while (p && *n < max && (p = strstr(p, tag)) != NULL) {
        uint64_t v = 0;
        int digits = 0, i;

        p += sizeof(tag) - 1;
        while (*p >= '0' && *p <= '9' && digits < 10) {
            v = v * 10 + (uint64_t)(*p - '0');
            p++;
            digits++;
        }
        if (!digits || *p != '"' || v == 0 || v > 999999999 ||
            rlw_crs_is_summary((uint32_t)v))
            continue;
        for (i = 0; i < *n; i++) {
            if (ids[i] == (uint32_t)v)
                break;
        }
        if (i == *n) {
            ids[(*n)++] = (uint32_t)v;
            added++;
        }
    }
    return added;
}

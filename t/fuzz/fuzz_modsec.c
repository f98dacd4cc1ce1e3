/* fuzz_modsec.c - ModSecurity error-log messages (rlw_modsec.c): any text,
 * attacker-influenced, read by rlw_modsec_rule_ids(). Promises: never reads
 * past the NUL, adds at most one id per message, only ids in 1..999999999
 * that are no CRS summary rule, never a duplicate, never beyond max. The
 * same text read as an exported anomaly score (rlw_modsec_score()): a
 * score is never negative, and a refusal leaves *score alone. */
#include "fuzz.h"
#include "rlw_modsec.h"

#define IDS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *msg = fuzz_cstr(data, size);
    uint32_t ids[IDS + 1];
    int n, i, j, added, start, rc;
    long score = -1;

    /* The first byte picks how full the list is already, so the duplicate
     * and full-list paths run too. */
    start = size ? data[0] % (IDS + 1) : 0;
    for (i = 0; i <= IDS; i++)
        ids[i] = 941100u + (uint32_t)i * 10u;
    n = start;
    added = rlw_modsec_rule_ids(msg, ids, &n, IDS);
    FUZZ_CHECK(added == 0 || added == 1);
    FUZZ_CHECK(n == start + added);
    FUZZ_CHECK(n <= IDS);
    FUZZ_CHECK(ids[IDS] == 941100u + IDS * 10u); /* nothing past max */
    if (added) {
        uint32_t id = ids[n - 1];

        FUZZ_CHECK(id >= 1 && id <= 999999999u);
        FUZZ_CHECK(!rlw_crs_is_summary(id));
        for (j = 0; j < n - 1; j++)
            FUZZ_CHECK(ids[j] != id);
    }
    rc = rlw_modsec_score(msg, &score);
    FUZZ_CHECK(rc >= -1 && rc <= 1);
    FUZZ_CHECK(rc == 1 ? score >= 0 : score == -1);
    free(msg);
    return 0;
}

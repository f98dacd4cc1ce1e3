/* rlw_store_registry.c - the counter stores this build knows.
 *
 * RateLimitWAFStore NAME ["CONFIG"] is resolved here, at configuration
 * time (check()), and the store is made here in post_config (create()).
 * Adding a backend is its own file, which defines its rlw_store_backend_t,
 * plus one entry in the list below; nothing else branches on store names.
 */
#include <string.h>

#include "rlw_store.h"

extern const rlw_store_backend_t rlw_store_backend_shm;
extern const rlw_store_backend_t rlw_store_backend_memcached;

const rlw_store_backend_t *const rlw_store_backends[] = {
    &rlw_store_backend_shm, /* one node, the default */
    &rlw_store_backend_memcached, NULL};

const rlw_store_backend_t *rlw_store_backend_find(const char *name)
{
    int i;

    for (i = 0; name && rlw_store_backends[i]; i++) {
        if (!strcmp(name, rlw_store_backends[i]->name))
            return rlw_store_backends[i];
    }
    return NULL;
}

void rlw_store_count(rlw_store_t *st, int n, const rlw_count_t *what,
                     const rlw_hit_t *hit, int64_t now_ms, rlw_attack_t *out,
                     apr_status_t *rv)
{
    int i;

    if (n > 1 && st->attack_many) {
        st->attack_many(st, n, what, hit, now_ms, out, rv);
        return;
    }
    for (i = 0; i < n; i++)
        rv[i] = st->attack(st, what[i].subject, what[i].cls, what[i].policy,
                           hit, now_ms, &out[i]);
}

/* rlw_msc3_api.c - opens libmodsecurity v3 at run time (rlw_msc3_api.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEEPBIND */
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "rlw_msc3_api.h"

/* The sanitizers' runtime refuses RTLD_DEEPBIND (it would bypass their
 * interceptors) and aborts the process: a sanitizer build opens the
 * library without it, and then cannot share a process with mod_security2
 * (rlw_msc3_isolated()). */
#if defined(__SANITIZE_ADDRESS__)
#define RLW_MSC3_DEEPBIND 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RLW_MSC3_DEEPBIND 0
#endif
#endif
#ifndef RLW_MSC3_DEEPBIND
#define RLW_MSC3_DEEPBIND RTLD_DEEPBIND
#endif

/* The table of the library opened, filled once (start-up is single
 * threaded: httpd's parent reads its configuration before any child). */
static rlw_msc3_api_t api;
static int loaded;

/* Every symbol, by name, and where its address goes. */
#define SYM(f)                                                                 \
    {                                                                          \
#f, (void **)&next.f                                                   \
    }

int rlw_msc3_isolated(void)
{
    return RLW_MSC3_DEEPBIND != 0;
}

const rlw_msc3_api_t *rlw_msc3_load(const char *soname, char *err,
                                    size_t errlen)
{
    rlw_msc3_api_t next;
    const struct {
        const char *name;
        void **slot;
    } syms[] = {
        SYM(msc_init),
        SYM(msc_who_am_i),
        SYM(msc_set_connector_info),
        SYM(msc_set_log_cb),
        SYM(msc_cleanup),
        SYM(msc_create_rules_set),
        SYM(msc_rules_add_file),
        SYM(msc_rules_add),
        SYM(msc_rules_cleanup),
        SYM(msc_new_transaction_with_id),
        SYM(msc_process_connection),
        SYM(msc_process_uri),
        SYM(msc_add_n_request_header),
        SYM(msc_process_request_headers),
        SYM(msc_append_request_body),
        SYM(msc_process_request_body),
        SYM(msc_add_n_response_header),
        SYM(msc_process_response_headers),
        SYM(msc_append_response_body),
        SYM(msc_process_response_body),
        SYM(msc_get_response_body_length),
        SYM(msc_update_status_code),
        SYM(msc_intervention),
        SYM(msc_process_logging),
        SYM(msc_transaction_cleanup),
    };
    void *h;
    size_t i;

    if (loaded)
        return &api;
    if (!soname)
        soname = RLW_MSC3_SONAME;
    /* DEEPBIND: the library resolves its own symbols first, never the
     * same-named ones mod_security2.so exports; LOCAL: nothing of it is
     * seen by modules loaded later. */
    h = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RLW_MSC3_DEEPBIND);
    if (!h) {
        const char *why = dlerror();
        snprintf(err, errlen, "cannot load %s: %s", soname,
                 why ? why : "unknown error");
        return NULL;
    }
    memset(&next, 0, sizeof(next));
    for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        /* POSIX returns functions as void *; copied, not cast, so that
         * the conversion is well defined. */
        void *f = dlsym(h, syms[i].name);

        if (!f) {
            snprintf(err, errlen,
                     "%s has no symbol %s (libmodsecurity 3.0.x expected)",
                     soname, syms[i].name);
            dlclose(h);
            return NULL;
        }
        memcpy(syms[i].slot, &f, sizeof(f));
    }
    api = next;
    loaded = 1;
    return &api;
}

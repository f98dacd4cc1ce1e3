/* rlw_msc3_api.h - the part of libmodsecurity v3's C API the module uses.
 *
 * httpd-free. The library is opened at run time (rlw_msc3_load()), never
 * linked: mod_security2.so exports dozens of symbols of the same names with
 * other signatures (acmp_*, libinjection_*, ...), and a process that links
 * both crashes at start-up. So the module declares here, itself, the types
 * and functions of libmodsecurity 3.0.x it calls (headers/modsecurity/
 * modsecurity.h, rules_set.h, transaction.h, intervention.h), resolves every
 * one of them with dlsym() and calls them through rlw_msc3_api_t. The
 * library's own headers are not needed to build the module.
 */
#ifndef RLW_MSC3_API_H
#define RLW_MSC3_API_H

#include <stddef.h>

/* The shared object opened, by its soname (Debian: libmodsecurity3). */
#define RLW_MSC3_SONAME "libmodsecurity.so.3"

/* Opaque: the engine (ModSecurity), a rule set (RulesSet) and one
 * transaction (Transaction), all owned by the library. */
typedef struct rlw_msc_engine rlw_msc_engine_t;
typedef struct rlw_msc_rules rlw_msc_rules_t;
typedef struct rlw_msc_tx rlw_msc_tx_t;

/* ModSecurityIntervention of 3.0.x, field for field. The caller sets
 * status 200, url and log NULL, disruptive 0 before asking; the library
 * strdup()s url and log, which the caller free()s. */
typedef struct rlw_msc_intervention {
    int status;     /* the HTTP status to answer (deny, redirect, drop) */
    int pause;      /* milliseconds to pause (the module does not pause) */
    char *url;      /* redirect target, or NULL */
    char *log;      /* the disruptive rule's message, or NULL */
    int disruptive; /* nonzero: the request must be answered with status */
} rlw_msc_intervention_t;

/* The server log callback (ModSecLogCb): data is the transaction's
 * logCbData, msg the rule message as text (msc_set_log_cb() only offers the
 * text form in the C API). */
typedef void (*rlw_msc_log_cb)(void *data, const void *msg);

/* Every function the module calls; rlw_msc3_load() fills all of them or
 * fails. Return values as the library's: ints are 1 (done) or 0, rule
 * loading returns the number of rules or a negative value with *error
 * set (strdup()ed by the library: free() it). */
typedef struct rlw_msc3_api {
    rlw_msc_engine_t *(*msc_init)(void);
    const char *(*msc_who_am_i)(rlw_msc_engine_t *ms);
    void (*msc_set_connector_info)(rlw_msc_engine_t *ms, const char *info);
    void (*msc_set_log_cb)(rlw_msc_engine_t *ms, rlw_msc_log_cb cb);
    void (*msc_cleanup)(rlw_msc_engine_t *ms);

    rlw_msc_rules_t *(*msc_create_rules_set)(void);
    int (*msc_rules_add_file)(rlw_msc_rules_t *rules, const char *file,
                              const char **error);
    int (*msc_rules_add)(rlw_msc_rules_t *rules, const char *text,
                         const char **error);
    int (*msc_rules_cleanup)(rlw_msc_rules_t *rules);

    rlw_msc_tx_t *(*msc_new_transaction_with_id)(rlw_msc_engine_t *ms,
                                                 rlw_msc_rules_t *rules,
                                                 char *id, void *log_data);
    int (*msc_process_connection)(rlw_msc_tx_t *t, const char *client,
                                  int client_port, const char *server,
                                  int server_port);
    int (*msc_process_uri)(rlw_msc_tx_t *t, const char *uri, const char *method,
                           const char *http_version);
    int (*msc_add_n_request_header)(rlw_msc_tx_t *t, const unsigned char *key,
                                    size_t key_len, const unsigned char *value,
                                    size_t value_len);
    int (*msc_process_request_headers)(rlw_msc_tx_t *t);
    int (*msc_append_request_body)(rlw_msc_tx_t *t, const unsigned char *body,
                                   size_t size);
    int (*msc_process_request_body)(rlw_msc_tx_t *t);
    int (*msc_add_n_response_header)(rlw_msc_tx_t *t, const unsigned char *key,
                                     size_t key_len, const unsigned char *value,
                                     size_t value_len);
    int (*msc_process_response_headers)(rlw_msc_tx_t *t, int code,
                                        const char *protocol);
    int (*msc_append_response_body)(rlw_msc_tx_t *t, const unsigned char *body,
                                    size_t size);
    int (*msc_process_response_body)(rlw_msc_tx_t *t);
    size_t (*msc_get_response_body_length)(rlw_msc_tx_t *t);
    int (*msc_update_status_code)(rlw_msc_tx_t *t, int status);
    int (*msc_intervention)(rlw_msc_tx_t *t, rlw_msc_intervention_t *it);
    int (*msc_process_logging)(rlw_msc_tx_t *t);
    void (*msc_transaction_cleanup)(rlw_msc_tx_t *t);
} rlw_msc3_api_t;

/* Opens soname (RLW_MSC3_SONAME, or another file for tests) once per
 * process with RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND, so the library's
 * symbols neither leak into nor come from mod_security2's, and resolves
 * every function of rlw_msc3_api_t. Returns the table (the same one on
 * later calls, the library never closed: its C++ runtime does not unload
 * cleanly), or NULL with a sentence in err naming the file or the missing
 * symbol. */
const rlw_msc3_api_t *rlw_msc3_load(const char *soname, char *err,
                                    size_t errlen);

/* 1 when the library is opened with RTLD_DEEPBIND, so that it may share a
 * process with mod_security2; 0 in sanitizer builds, whose runtime refuses
 * that flag. */
int rlw_msc3_isolated(void);

#endif

/* mod_rlw_admin.h - the status page's admin API (mod_rlw_admin.c), as the
 * page (mod_rlw_status.c) calls it.
 */
#ifndef MOD_RLW_ADMIN_H
#define MOD_RLW_ADMIN_H

#include <httpd.h>

/* 1 when RateLimitWAFAdmin On applies to r's location. */
int rlw_admin_allowed(request_rec *r);

/* The form token of action ("ban", "unban") for r's operator; "" when
 * there is none (no key, OpenSSL failure, identity too long): a post with
 * it is then refused, never accepted. */
const char *rlw_admin_token(request_rec *r, const char *action);

/* Answers a POST to the status page (ban or unban, ?json: a JSON answer).
 * admin: rlw_admin_allowed(r). Returns what a handler returns. */
int rlw_admin_post(request_rec *r, int admin, int json);

/* Makes the forms' key in post_config. */
void rlw_admin_register_hooks(apr_pool_t *p);

#endif

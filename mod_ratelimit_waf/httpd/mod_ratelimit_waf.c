/* mod_ratelimit_waf.c - the module record.
 *
 * mod_ratelimit_waf turns ModSecurity's per-request anomaly verdicts into
 * temporary, escalating bans of attacking clients, answered before
 * mod_security2 spends CPU on them. Directives and the configuration
 * records: mod_rlw_config.c (defaults: core/rlw_defaults.h); request hooks:
 * mod_rlw_hooks.c; status page: mod_rlw_status.c (its admin API:
 * mod_rlw_admin.c); the httpd-free layers: core/, store/ and engine/
 * (docs/architecture.md).
 */
#include <httpd.h>
#include <http_config.h>

#include "mod_rlw.h"

static void register_hooks(apr_pool_t *p)
{
    rlw_register_hooks(p);
    rlw_status_register_hooks(p);
}

AP_DECLARE_MODULE(ratelimit_waf) = {
    STANDARD20_MODULE_STUFF,
    rlw_create_dir_config, /* per-directory: RateLimitWAFAdmin only */
    rlw_merge_dir_config,
    rlw_create_server_config,
    rlw_merge_server_config,
    rlw_cmds,
    register_hooks};

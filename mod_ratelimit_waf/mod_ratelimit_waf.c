/* mod_ratelimit_waf.c - the module record.
 *
 * mod_ratelimit_waf turns ModSecurity's per-request anomaly verdicts into
 * temporary, escalating bans of attacking clients, answered before
 * mod_security2 spends CPU on them. Directives: mod_rlw_config.c; request
 * hooks: mod_rlw_hooks.c; the httpd-free core: rlw_*.c.
 */
#include <httpd.h>
#include <http_config.h>

#include "mod_rlw.h"

AP_DECLARE_MODULE(ratelimit_waf) = {
    STANDARD20_MODULE_STUFF,
    NULL,                     /* per-directory config: none, all per server */
    NULL,
    rlw_create_server_config,
    rlw_merge_server_config,
    rlw_cmds,
    rlw_register_hooks
};

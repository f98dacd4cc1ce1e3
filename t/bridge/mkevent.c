/* mkevent.c - writes one event line with the module's own formatter
 * (rlw_event_format), for t/bridge/test_bridge.sh: the bridge is tested on
 * exactly what the module writes.
 *
 * Usage: mkevent ban|unban|near ADDRESS|NETWORK SECONDS [REASON] [dry]
 *   ADDRESS|NETWORK: a client ("198.51.100.2", "2001:db8:1::/64"), or
 *          "net:" and a network of RateLimitWAFNetwork ("net:198.51.100.0/24"),
 *          or a request key's hash as the module shows it ("key#0:" and 32
 *          hex digits, RateLimitWAFKey: an event with no address)
 *   ban:   a ban of SECONDS starting now
 *   unban: the end of a ban of SECONDS that started now; REASON "manual"
 *          or "expired"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rlw_addr.h"
#include "rlw_event.h"
#include "rlw_subject.h"

int main(int argc, char **argv)
{
    static const uint32_t rules[] = {942100, 941100};
    char line[RLW_EVENT_LINE_MAX];
    struct timespec ts;
    rlw_event_t ev;
    rlw_addr_t client;
    rlw_ban_state_t ban;
    const char *err;
    int n, net;

    if (argc < 4) {
        fprintf(stderr, "usage: mkevent ban|unban|near ADDRESS SECONDS "
                        "[REASON] [dry]\n");
        return 2;
    }
    memset(&client, 0, sizeof(client));
    if ((net = strncmp(argv[2], "net:", 4) == 0))
        argv[2] += 4;
    if (strncmp(argv[2], "key#", 4) == 0) {
        if (rlw_subject_key_parse(argv[2], &client) != 0) {
            fprintf(stderr, "mkevent: %s: not a key's hash\n", argv[2]);
            return 2;
        }
    } else if ((err = rlw_cidr_parse(argv[2], &client)) != NULL) {
        fprintf(stderr, "mkevent: %s: %s\n", argv[2], err);
        return 2;
    }
    if (net)
        client.kind = RLW_KIND_NET;
    clock_gettime(CLOCK_REALTIME, &ts);
    memset(&ev, 0, sizeof(ev));
    memset(&ban, 0, sizeof(ban));
    ev.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    ban.start_ms = ev.now_ms;
    ban.until_ms = ev.now_ms + (int64_t)(atof(argv[3]) * 1000);
    ban.strikes = 1;
    ban.count = 5;
    if (strcmp(argv[1], "ban") == 0)
        ev.kind = RLW_EV_BAN;
    else if (strcmp(argv[1], "unban") == 0)
        ev.kind = RLW_EV_UNBAN;
    else
        ev.kind = RLW_EV_NEAR_THRESHOLD;
    ev.observer = "bridge-test";
    ev.client = &client;
    ev.key_name = client.kind == RLW_KIND_KEY ? "api" : NULL;
    ev.count = 5;
    ev.threshold = 5;
    ev.window_ms = 60000;
    ev.ban = ev.kind == RLW_EV_NEAR_THRESHOLD ? NULL : &ban;
    ev.ban_ms = ban.until_ms - ban.start_ms;
    ev.ban_class = "normal";
    ev.reason = argc > 4 && strcmp(argv[4], "-") != 0 ? argv[4] : NULL;
    ev.rule_ids = rules;
    ev.nrules = 2;
    ev.store = "shm";
    ev.dry_run = argc > 5 && strcmp(argv[5], "dry") == 0;
    ev.uri = "/?q=1' OR '1'='1";
    ev.user_agent = "sqlmap/1.7";
    n = rlw_event_format(&ev, line, sizeof(line));
    if (n < 0)
        return 1;
    fputs(line, stdout);
    return 0;
}

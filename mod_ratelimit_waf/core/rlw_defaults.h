/* rlw_defaults.h - defaults and limits, defined once for the module (the
 * httpd.conf directives, docs/directives.md) and rlwafctl.
 *
 * httpd-free, no includes: plain numbers and strings, so any layer can use
 * them. Durations are in milliseconds. A default changed here changes the
 * module, the tool and (by hand) docs/directives.md.
 */
#ifndef RLW_DEFAULTS_H
#define RLW_DEFAULTS_H

/* ---- counting and banning (RateLimitWAF*, per virtual host) ------------ */

#define RLW_DEF_THRESHOLD 5000                       /* attacks per window */
#define RLW_MAX_THRESHOLD 1000000000LL               /* and at least 1 */
#define RLW_DEF_WINDOW_MS (10LL * 60 * 1000)         /* 10m */
#define RLW_DEF_BAN_MS (15LL * 60 * 1000)            /* 15m */
#define RLW_DEF_BAN_MAX_MS (24LL * 3600 * 1000)      /* 24h */
#define RLW_DEF_ALLOW_BAN_MS (60LL * 1000)           /* 1m */
#define RLW_DEF_STRIKE_DECAY_MS (24LL * 3600 * 1000) /* 24h */
#define RLW_DEF_BAN_STATUS 404
#define RLW_MIN_BAN_STATUS 400 /* an HTTP error status */
#define RLW_MAX_BAN_STATUS 599
#define RLW_DEF_SCORE_VAR "MODSEC_ANOMALY_SCORE"
#define RLW_MAX_SCORE_VAR_LEN 128 /* environment variable name */
#define RLW_DEF_ATTACK_SCORE 5
#define RLW_MAX_ATTACK_SCORE 1000000 /* and at least 1 */

/* ---- the one table (main server only) ---------------------------------- */

#define RLW_DEF_V6_PREFIX 64 /* IPv6 clients are grouped by their /64 */
#define RLW_MIN_V6_PREFIX 16
#define RLW_MAX_V6_PREFIX 128
#define RLW_DEF_STORE "shm"
#define RLW_DEF_TABLE_SIZE 100000 /* clients in shared memory */
#define RLW_MIN_TABLE_SIZE 16
#define RLW_MAX_TABLE_SIZE 50000000LL

/* ---- the memcached store (main server only) ---------------------------- */

#define RLW_DEF_SYNC_MS 250       /* a node learns the cluster's bans */
#define RLW_DEF_KEY_PREFIX "rlw:" /* of every memcached key */
#define RLW_MAX_KEY_PREFIX_LEN 64 /* keys stay below memcached's 250 */
#define RLW_DEF_MC_TIMEOUT_MS 50  /* one call on the request path */
#define RLW_DEF_MC_RETRY_MS 2000  /* a failed server is skipped this long */

/* A node's name (RateLimitWAFNodeName, rlwafctl's "rlwafctl@host") travels
 * in journal entries and ban records: RLW_NODE_NAME_LEN bytes, NUL
 * included, so at most RLW_NODE_NAME_MAX printable characters. */
#define RLW_NODE_NAME_LEN 64
#define RLW_NODE_NAME_MAX (RLW_NODE_NAME_LEN - 1)

/* ---- events (main server only) ----------------------------------------- */

#define RLW_DEF_EVENT_QUEUE 256 /* lines each process holds */
#define RLW_MIN_EVENT_QUEUE 16
#define RLW_MAX_EVENT_QUEUE 65536

/* ---- sizes on the wire -------------------------------------------------- */

/* An rlw_addr_t serialised for pseudonyms and journal entries: family,
 * prefix, scope, a reserved byte and 16 address bytes. */
#define RLW_ADDR_WIRE_LEN 20

#endif

/* rlw_keyorder.c - the request key NAMEs' order a node declares: its text
 * form, strictly parsed, and the comparison (rlw_keyorder.h). */
#include <stdio.h>
#include <string.h>

#include "rlw_keyorder.h"

static int name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

int rlw_keyorder_name_ok(const char *name)
{
    size_t i;

    for (i = 0; name[i]; i++)
        if (i >= RLW_KEY_NAME_MAX || !name_char(name[i]))
            return 0;
    return i > 0;
}

/* 1 to RLW_NODE_NAME_MAX bytes of 0x20..0x7e. */
static int node_ok(const char *s, size_t n)
{
    size_t i;

    if (n < 1 || n > RLW_NODE_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] < ' ' || s[i] > '~')
            return 0;
    return 1;
}

/* Adds name (len bytes) to o: 0, or -1 when invalid, repeated or one too
 * many. */
static int push_name(rlw_keyorder_t *o, const char *name, size_t len)
{
    unsigned i;
    size_t j;

    if (o->n >= RLW_KEYS_MAX || len < 1 || len > RLW_KEY_NAME_MAX)
        return -1;
    for (j = 0; j < len; j++)
        if (!name_char(name[j]))
            return -1;
    for (i = 0; i < o->n; i++)
        if (strlen(o->names[i]) == len && !memcmp(o->names[i], name, len))
            return -1;
    memcpy(o->names[o->n], name, len);
    o->names[o->n][len] = '\0';
    o->n++;
    return 0;
}

int rlw_keyorder_set(rlw_keyorder_t *o, const char *const *names, unsigned n,
                     const char *node)
{
    unsigned i;

    memset(o, 0, sizeof(*o));
    if (n > RLW_KEYS_MAX || (n && !names) || !node ||
        !node_ok(node, strlen(node)))
        goto bad;
    for (i = 0; i < n; i++)
        if (!names[i] || push_name(o, names[i], strlen(names[i])) != 0)
            goto bad;
    memcpy(o->node, node, strlen(node) + 1);
    return 0;
bad:
    memset(o, 0, sizeof(*o));
    return -1;
}

size_t rlw_keyorder_encode(const rlw_keyorder_t *o, char *out, size_t outlen)
{
    char buf[RLW_KEYORDER_TEXT_MAX];
    size_t len = 0, l;
    unsigned i;

    buf[len++] = '1';
    buf[len++] = ' ';
    for (i = 0; i < o->n && i < RLW_KEYS_MAX; i++) {
        l = strnlen(o->names[i], RLW_KEY_NAME_MAX);
        if (i)
            buf[len++] = ',';
        memcpy(buf + len, o->names[i], l);
        len += l;
    }
    buf[len++] = ' ';
    l = strnlen(o->node, RLW_NODE_NAME_MAX);
    memcpy(buf + len, o->node, l);
    len += l;
    if (len > outlen)
        return 0;
    memcpy(out, buf, len);
    return len;
}

int rlw_keyorder_decode(const char *buf, size_t len, rlw_keyorder_t *o)
{
    const char *p, *end, *sp, *c;

    memset(o, 0, sizeof(*o));
    if (!buf || len < 4 || len > RLW_KEYORDER_TEXT_MAX || buf[0] != '1' ||
        buf[1] != ' ')
        goto bad;
    p = buf + 2;
    end = buf + len;
    /* The list ends at the first space; the node is all the rest. */
    sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp || !node_ok(sp + 1, (size_t)(end - sp - 1)))
        goto bad;
    if (sp > p) {
        for (;;) {
            c = memchr(p, ',', (size_t)(sp - p));
            if (push_name(o, p, (size_t)((c ? c : sp) - p)) != 0)
                goto bad;
            if (!c)
                break;
            p = c + 1;
        }
    }
    memcpy(o->node, sp + 1, (size_t)(end - sp - 1));
    o->node[end - sp - 1] = '\0';
    return 0;
bad:
    memset(o, 0, sizeof(*o));
    return -1;
}

int rlw_keyorder_agree(const rlw_keyorder_t *a, const rlw_keyorder_t *b)
{
    unsigned i, n = a->n < b->n ? a->n : b->n;

    for (i = 0; i < n && i < RLW_KEYS_MAX; i++)
        if (strncmp(a->names[i], b->names[i], RLW_KEY_NAME_MAX + 1))
            return 0;
    return 1;
}

const char *rlw_keyorder_list(const rlw_keyorder_t *o, char *out, size_t outlen)
{
    size_t len = 0, l;
    unsigned i;

    if (!outlen)
        return out;
    out[0] = '\0';
    if (!o->n) {
        snprintf(out, outlen, "(none)");
        return out;
    }
    for (i = 0; i < o->n && i < RLW_KEYS_MAX; i++) {
        l = strnlen(o->names[i], RLW_KEY_NAME_MAX);
        if (len + (i ? 2 : 0) + l + 1 > outlen)
            break;
        if (i) {
            memcpy(out + len, ", ", 2);
            len += 2;
        }
        memcpy(out + len, o->names[i], l);
        len += l;
        out[len] = '\0';
    }
    return out;
}

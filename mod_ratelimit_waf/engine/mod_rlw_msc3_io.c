/* mod_rlw_msc3_io.c - the modsecurity3 source's filters (mod_rlw_msc3.h):
 * the request body, read in fixups, kept for the handler (in memory up to
 * RLW_MSC3_BODY_MEM, then in a temporary file) and replayed by an input
 * filter; the response filter, which runs phase 3 on the headers and, where
 * the rule set runs phase 4, holds the response body for it within
 * SecResponseBodyLimit.
 */
#include <stddef.h> /* offsetof, before APR: its ring macros use it */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_filter.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "mod_rlw_msc3.h"

APLOG_USE_MODULE(ratelimit_waf);

/* Request body bytes kept in memory for the handler; past this the body
 * goes to a temporary file (deleted with the request). */
#define RLW_MSC3_BODY_MEM (64 * 1024)

/* Bytes asked of the input filters per read of the body. */
#define RLW_MSC3_BODY_CHUNK (32 * 1024)

static ap_filter_rec_t *body_filter, *response_filter;

/* ---- the request body and phase 2 -------------------------------------- */

/* Moves what body holds in memory into a new temporary file, which then
 * receives the rest: the handler's copy never costs more memory than
 * RLW_MSC3_BODY_MEM. */
static apr_status_t spool(request_rec *r, apr_bucket_brigade *body,
                          apr_file_t **file)
{
    const char *dir = NULL;
    char *tmpl;
    apr_bucket *b;
    apr_status_t rv;

    if ((rv = apr_temp_dir_get(&dir, r->pool)) != APR_SUCCESS)
        return rv;
    tmpl = apr_pstrcat(r->pool, dir, "/rlw-body-XXXXXX", NULL);
    rv = apr_file_mktemp(file, tmpl,
                         APR_FOPEN_CREATE | APR_FOPEN_READ | APR_FOPEN_WRITE |
                             APR_FOPEN_EXCL | APR_FOPEN_DELONCLOSE |
                             APR_FOPEN_BINARY,
                         r->pool);
    for (b = APR_BRIGADE_FIRST(body);
         rv == APR_SUCCESS && b != APR_BRIGADE_SENTINEL(body);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;

        if ((rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ)) ==
            APR_SUCCESS)
            rv = apr_file_write_full(*file, data, len, NULL);
    }
    apr_brigade_cleanup(body);
    return rv;
}

/* Reads the whole body through the input filters, gives it to the engine
 * (which applies SecRequestBodyLimit and its LimitAction) and keeps it in
 * t->body for the handler. Returns OK, or the status to answer. */
int rlw_msc3_read_body(request_rec *r, msc3_req_t *t)
{
    conn_rec *c = r->connection;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, c->bucket_alloc);
    apr_bucket_brigade *body = apr_brigade_create(r->pool, c->bucket_alloc);
    apr_file_t *file = NULL;
    apr_off_t kept = 0;
    int eos = 0, inspect = 1, status;

    while (!eos) {
        apr_bucket *b;
        apr_status_t rv =
            ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                           APR_BLOCK_READ, RLW_MSC3_BODY_CHUNK);

        if (rv != APR_SUCCESS)
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t len;

            if (APR_BUCKET_IS_EOS(b)) {
                eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b))
                continue;
            if ((rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ)) !=
                APR_SUCCESS)
                return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
            /* 0: over SecRequestBodyLimit with LimitAction ProcessPartial:
             * the engine has what it inspects, the handler gets it all. */
            if (inspect)
                inspect = rlw_msc3_lib->msc_append_request_body(
                    t->tx, (const unsigned char *)data, len);
            if ((status = rlw_msc3_act(r, t)) != DECLINED)
                return status; /* e.g. over the limit, LimitAction Reject */
            if (file)
                rv = apr_file_write_full(file, data, len, NULL);
            else if ((kept += (apr_off_t)len) > RLW_MSC3_BODY_MEM)
                rv = spool(r, body, &file) == APR_SUCCESS
                         ? apr_file_write_full(file, data, len, NULL)
                         : APR_EGENERAL;
            else
                rv = apr_brigade_write(body, NULL, NULL, data, len);
            if (rv != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                              "RLW00075: cannot keep the request body for "
                              "the handler");
                return HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        apr_brigade_cleanup(bb);
    }
    if (file) {
        apr_off_t size = 0, zero = 0;

        if (apr_file_seek(file, APR_CUR, &size) != APR_SUCCESS ||
            apr_file_seek(file, APR_SET, &zero) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;
        apr_brigade_insert_file(body, file, 0, size, r->pool);
    }
    APR_BRIGADE_INSERT_TAIL(body, apr_bucket_eos_create(c->bucket_alloc));
    t->body = body;
    return OK;
}

/* Gives the handler the body read in fixups, as the input filters would
 * have; once it is drained, reads go on below (which find the end). */
static apr_status_t body_in(ap_filter_t *f, apr_bucket_brigade *bb,
                            ap_input_mode_t mode, apr_read_type_e block,
                            apr_off_t readbytes)
{
    apr_bucket_brigade *body = f->ctx;
    apr_bucket *e, *b, *next;
    apr_status_t rv;

    if (!body || APR_BRIGADE_EMPTY(body) ||
        (mode != AP_MODE_READBYTES && mode != AP_MODE_SPECULATIVE &&
         mode != AP_MODE_GETLINE))
        return ap_get_brigade(f->next, bb, mode, block, readbytes);
    if (mode == AP_MODE_GETLINE)
        return apr_brigade_split_line(bb, body, block, HUGE_STRING_LEN);
    rv = apr_brigade_partition(body, readbytes, &e);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE)
        return rv;
    for (b = APR_BRIGADE_FIRST(body); b != e; b = next) {
        next = APR_BUCKET_NEXT(b);
        if (mode == AP_MODE_SPECULATIVE) {
            apr_bucket *copy;

            if ((rv = apr_bucket_copy(b, &copy)) != APR_SUCCESS)
                return rv;
            APR_BRIGADE_INSERT_TAIL(bb, copy);
        } else {
            APR_BUCKET_REMOVE(b);
            APR_BRIGADE_INSERT_TAIL(bb, b);
        }
    }
    return APR_SUCCESS;
}

/* ---- the response: phase 3 --------------------------------------------- */

static int add_response_header(void *tx, const char *key, const char *value)
{
    rlw_msc3_lib->msc_add_n_response_header(
        tx, (const unsigned char *)key, strlen(key),
        (const unsigned char *)value, strlen(value));
    return 1;
}

/* What the response filter holds for phase 4 (its f->ctx). */
typedef struct msc3_out {
    apr_bucket_brigade *held; /* the response body so far */
    int kept;                 /* the engine keeps what is appended */
} msc3_out_t;

/* Answers status instead of the response: nothing was sent yet, and the
 * header filter turns the error bucket into httpd's error response. */
static apr_status_t send_error(ap_filter_t *f, apr_bucket_brigade *bb,
                               int status)
{
    apr_brigade_cleanup(bb);
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(status, NULL, f->r->pool,
                                                       f->c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(f->c->bucket_alloc));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* Phase 4 on what the engine holds, then the held response and the rest
 * of bb go on, or the intervention's status instead. */
static apr_status_t finish_body(ap_filter_t *f, msc3_req_t *t, msc3_out_t *o,
                                apr_bucket_brigade *bb)
{
    int status;

    rlw_msc3_lib->msc_process_response_body(t->tx);
    if ((status = rlw_msc3_act(f->r, t)) != DECLINED) {
        apr_brigade_cleanup(o->held);
        return send_error(f, bb, status);
    }
    ap_remove_output_filter(f);
    APR_BRIGADE_PREPEND(bb, o->held);
    return ap_pass_brigade(f->next, bb);
}

/* Phase 3 on the response headers; then, when the rule set runs phase 4
 * (SecResponseBodyAccess On), the response body is held and appended until
 * its end, the engine's SecResponseBodyLimit (ProcessPartial: phase 4 on
 * what it has, the rest passes; Reject: the intervention), or a type the
 * engine does not keep (SecResponseBodyMimeType): memory is bounded by the
 * limit, as with mod_security2. */
static apr_status_t response_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    msc3_req_t *t = rlw_msc3_state(r);
    msc3_out_t *o = f->ctx;
    apr_status_t rv;
    int status;

    if (!o) {
        if (!t || !t->tx || t->headers_done) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        t->headers_done = 1;
        apr_table_do(add_response_header, t->tx, r->headers_out,
                     r->err_headers_out, NULL);
        if (r->content_type && !apr_table_get(r->headers_out, "Content-Type"))
            add_response_header(t->tx, "Content-Type", r->content_type);
        rlw_msc3_lib->msc_process_response_headers(
            t->tx, r->status, r->protocol ? r->protocol : "HTTP/1.1");
        if (!t->answered && (status = rlw_msc3_act(r, t)) != DECLINED)
            return send_error(f, bb, status);
        if (t->answered || !t->rs->response_body) {
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = o = apr_pcalloc(r->pool, sizeof(*o));
        o->held = apr_brigade_create(r->pool, f->c->bucket_alloc);
    }
    while (!APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *b = APR_BRIGADE_FIRST(bb);

        if (APR_BUCKET_IS_EOS(b))
            return finish_body(f, t, o, bb);
        if (!APR_BUCKET_IS_METADATA(b)) {
            const char *data;
            apr_size_t len;
            int more;

            if ((rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ)) !=
                APR_SUCCESS)
                return rv;
            more = rlw_msc3_lib->msc_append_response_body(
                t->tx, (const unsigned char *)data, len);
            if ((status = rlw_msc3_act(r, t)) !=
                DECLINED) { /* over the limit: Reject */
                apr_brigade_cleanup(o->held);
                return send_error(f, bb, status);
            }
            if (len && !o->kept &&
                !(o->kept =
                      rlw_msc3_lib->msc_get_response_body_length(t->tx) > 0))
                more = 0; /* a type the engine does not inspect */
            if (!more)
                return finish_body(f, t, o, bb);
        }
        APR_BUCKET_REMOVE(b);
        if ((rv = apr_bucket_setaside(b, r->pool)) != APR_SUCCESS)
            return rv;
        APR_BRIGADE_INSERT_TAIL(o->held, b);
    }
    return APR_SUCCESS;
}

static void msc3_insert_filter(request_rec *r)
{
    msc3_req_t *t;

    if (r->main || !(t = rlw_msc3_state(r)) || !t->tx)
        return;
    /* The body again for an internal redirect: a new request starts
     * without the request filters of the one it replaces. */
    if (t->body && !APR_BRIGADE_EMPTY(t->body) && t->body_r != r) {
        ap_add_input_filter_handle(body_filter, t->body, r, r->connection);
        t->body_r = r;
    }
    if (!t->headers_done)
        ap_add_output_filter_handle(response_filter, NULL, r, r->connection);
}

static void msc3_insert_error_filter(request_rec *r)
{
    msc3_req_t *t;

    if (!r->main && (t = rlw_msc3_state(r)) != NULL && t->tx &&
        !t->headers_done)
        ap_add_output_filter_handle(response_filter, NULL, r, r->connection);
}

void rlw_msc3_io_register(void)
{
    ap_hook_insert_filter(msc3_insert_filter, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_insert_error_filter(msc3_insert_error_filter, NULL, NULL,
                                APR_HOOK_FIRST);
    body_filter = ap_register_input_filter("RLW_MSC3_BODY", body_in, NULL,
                                           AP_FTYPE_RESOURCE);
    response_filter = ap_register_output_filter(
        "RLW_MSC3_RESPONSE", response_out, NULL, AP_FTYPE_CONTENT_SET);
}


/*
 * Copyright (C) crmsync authors
 *
 * The webhook content handler: method check, the body in one buffer,
 * and JSON answers for every outcome, nginx's own refusals included.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_module.h"


static void ngx_http_crmsync_webhook_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_crmsync_body_buffer(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_crmsync_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_crmsync_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_crmsync_webhook_handler(ngx_http_request_t *r)
{
    ngx_int_t          rc;
    ngx_table_elt_t   *h;

    if (!(r->method & NGX_HTTP_POST)) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "POST");

        return ngx_http_crmsync_refuse(r, NGX_HTTP_NOT_ALLOWED,
                                       "method_not_allowed");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_crmsync_webhook_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_crmsync_webhook_body(ngx_http_request_t *r)
{
    size_t      len;
    u_char     *p;
    ngx_int_t   rc;
    ngx_str_t   body;
    u_char      buf[64];

    rc = ngx_http_crmsync_body_buffer(r, &body);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"status\":\"accepted\",\"bytes\":%uz}\n",
                     body.len);
    len = p - buf;

    ngx_http_finalize_request(r, ngx_http_crmsync_send_json(r, NGX_HTTP_OK,
                                                            buf, len));
}


/*
 * The body as one contiguous buffer.  request_body_in_single_buf keeps
 * small bodies in one memory buffer; a body larger than
 * client_body_buffer_size lands in a temporary file and is read back.
 */

static ngx_int_t
ngx_http_crmsync_body_buffer(ngx_http_request_t *r, ngx_str_t *body)
{
    off_t         len;
    u_char       *p;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;
    b = cl->buf;

    if (cl->next == NULL && !b->in_file) {
        body->data = b->pos;
        body->len = b->last - b->pos;
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    p = ngx_pnalloc(r->pool, (size_t) len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body->data = p;
    body->len = (size_t) len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            n = ngx_read_file(b->file, p, (size_t) (b->file_last
                                                   - b->file_pos),
                              b->file_pos);

            if (n != b->file_last - b->file_pos) {
                ngx_log_error(NGX_LOG_CRIT, r->connection->log, 0,
                              "crmsync: could not read the request body "
                              "back from \"%V\"", &b->file->name);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            p += n;
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_crmsync_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


#define NGX_HTTP_CRMSYNC_REASON_FMT                                           \
    "{\"status\":\"rejected\",\"reason\":\"%V\"}\n"

#define ngx_http_crmsync_reason_len(reason)                                   \
    (sizeof("{\"status\":\"rejected\",\"reason\":\"\"}\n") - 1 + (reason)->len)


static ngx_buf_t *
ngx_http_crmsync_reason_buf(ngx_http_request_t *r, ngx_str_t *reason)
{
    ngx_buf_t  *b;

    b = ngx_create_temp_buf(r->pool, ngx_http_crmsync_reason_len(reason));
    if (b == NULL) {
        return NULL;
    }

    b->last = ngx_sprintf(b->pos, NGX_HTTP_CRMSYNC_REASON_FMT, reason);

    return b;
}


ngx_int_t
ngx_http_crmsync_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason)
{
    ngx_str_t   s;
    ngx_buf_t  *b;

    s.data = (u_char *) reason;
    s.len = ngx_strlen(reason);

    b = ngx_http_crmsync_reason_buf(r, &s);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_crmsync_send_json(r, status, b->pos, b->last - b->pos);
}


/*
 * nginx answers some refusals itself before the content handler runs, a
 * Content-Length over client_max_body_size above all (413 from the
 * find-config phase).  In a crmsync location those answers become JSON
 * too, so that a platform or an operator always gets a reason to read.
 */

static ngx_str_t *
ngx_http_crmsync_special_reason(ngx_uint_t status)
{
    static ngx_str_t  too_large = ngx_string("body_too_large");
    static ngx_str_t  timeout = ngx_string("body_timeout");
    static ngx_str_t  bad_request = ngx_string("bad_request");
    static ngx_str_t  server_error = ngx_string("internal_error");

    switch (status) {

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return &too_large;

    case NGX_HTTP_REQUEST_TIME_OUT:
        return &timeout;

    case NGX_HTTP_BAD_REQUEST:
        return &bad_request;

    case NGX_HTTP_INTERNAL_SERVER_ERROR:
        return &server_error;

    default:
        return NULL;
    }
}


static ngx_int_t
ngx_http_crmsync_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                    *reason;
    ngx_http_crmsync_ctx_t       *ctx;
    ngx_http_crmsync_loc_conf_t  *cslcf;

    cslcf = ngx_http_get_module_loc_conf(r, ngx_http_crmsync_module);

    if (cslcf->provider == NGX_HTTP_CRMSYNC_PROVIDER_NONE
        || r != r->main
        || r->err_status == 0
        || r->headers_out.status != r->err_status)
    {
        return ngx_http_next_header_filter(r);
    }

    reason = ngx_http_crmsync_special_reason(r->headers_out.status);
    if (reason == NULL) {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_crmsync_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->json_error = 1;
    ctx->reason = *reason;
    ngx_http_set_ctx(r, ctx, ngx_http_crmsync_module);

    r->headers_out.content_length_n = ngx_http_crmsync_reason_len(reason);
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_crmsync_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t               *b;
    ngx_chain_t             *cl, out;
    ngx_http_crmsync_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_crmsync_module);

    if (ctx == NULL || !ctx->json_error) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;

        if (!cl->buf->last_buf) {
            continue;
        }

        b = ngx_http_crmsync_reason_buf(r, &ctx->reason);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->last_buf = 1;
        b->last_in_chain = 1;

        out.buf = b;
        out.next = NULL;

        ctx->json_error = 0;

        return ngx_http_next_body_filter(r, &out);
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_crmsync_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_crmsync_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_crmsync_body_filter;

    return NGX_OK;
}


/*
 * Copyright (C) crmsync authors
 *
 * The webhook content handler: method check, the body in one buffer,
 * and JSON answers for every outcome, nginx's own refusals included.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/crypto.h>

#include "ngx_http_crmsync_module.h"
#include "ngx_http_crmsync_verify.h"


#define NGX_HTTP_CRMSYNC_UNPROCESSABLE  422


static void ngx_http_crmsync_webhook_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_crmsync_handshake(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf);
static ngx_int_t ngx_http_crmsync_content_type(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_ctx_t *ctx);
static ngx_int_t ngx_http_crmsync_verify_request(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_ctx_t *ctx,
    ngx_str_t *body);
static ngx_int_t ngx_http_crmsync_parse_request(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_ctx_t *ctx,
    ngx_str_t *body);
static ngx_int_t ngx_http_crmsync_answer(ngx_http_request_t *r,
    ngx_http_crmsync_ctx_t *ctx);
static ngx_int_t ngx_http_crmsync_body_buffer(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_crmsync_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_crmsync_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


#define ngx_http_crmsync_is_meta(p)                                           \
    ((p) == NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP                                \
     || (p) == NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER                            \
     || (p) == NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM)


/* a refusal decided in the body handler, sent by it */

static ngx_int_t
ngx_http_crmsync_reject(ngx_http_crmsync_ctx_t *ctx, ngx_uint_t status,
    const char *reason)
{
    ctx->status = status;
    ctx->reason = reason;

    return NGX_DECLINED;
}


static ngx_http_crmsync_ctx_t *
ngx_http_crmsync_get_ctx(ngx_http_request_t *r)
{
    ngx_http_crmsync_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_crmsync_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_crmsync_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_crmsync_module);
    }

    return ctx;
}


ngx_int_t
ngx_http_crmsync_webhook_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_table_elt_t              *h;
    ngx_http_crmsync_ctx_t       *ctx;
    ngx_http_crmsync_loc_conf_t  *cslcf;

    cslcf = ngx_http_get_module_loc_conf(r, ngx_http_crmsync_module);

    ctx = ngx_http_crmsync_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (cslcf->sh) {
        (void) ngx_atomic_fetch_add(&cslcf->sh->received, 1);
    }

    if (r->method == NGX_HTTP_GET && ngx_http_crmsync_is_meta(cslcf->provider))
    {
        return ngx_http_crmsync_handshake(r, cslcf);
    }

    if (r->method != NGX_HTTP_POST) {
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

        if (ngx_http_crmsync_is_meta(cslcf->provider)) {
            ngx_str_set(&h->value, "GET, POST");

        } else {
            ngx_str_set(&h->value, "POST");
        }

        return ngx_http_crmsync_refuse(r, NGX_HTTP_NOT_ALLOWED,
                                       "method_not_allowed");
    }

    if (ngx_http_crmsync_content_type(r, cslcf, ctx) != NGX_OK) {
        rc = ngx_http_discard_request_body(r);

        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_crmsync_refuse(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                       "unsupported_media_type");
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
    ngx_int_t                     rc;
    ngx_str_t                     body;
    ngx_http_crmsync_ctx_t       *ctx;
    ngx_http_crmsync_loc_conf_t  *cslcf;

    cslcf = ngx_http_get_module_loc_conf(r, ngx_http_crmsync_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_crmsync_module);

    rc = ngx_http_crmsync_body_buffer(r, &body);

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    rc = ngx_http_crmsync_verify_request(r, cslcf, ctx, &body);

    if (rc == NGX_OK) {
        rc = ngx_http_crmsync_parse_request(r, cslcf, ctx, &body);
    }

    if (rc == NGX_DECLINED) {
        rc = ngx_http_crmsync_refuse(r, ctx->status, ctx->reason);

    } else if (rc == NGX_OK) {
        if (ctx->nevents && cslcf->portal) {
            /* answered once the events are on disk */
            rc = ngx_http_crmsync_ingest(r, ctx, &body);

            if (rc == NGX_DONE) {
                return;
            }

        } else {
            rc = ngx_http_crmsync_answer(r, ctx);
        }
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * Meta's subscription handshake: GET ?hub.mode=subscribe
 * &hub.verify_token=...&hub.challenge=...; the challenge goes back as
 * the body only when the token is ours.
 */

static ngx_int_t
ngx_http_crmsync_handshake(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf)
{
    size_t      len;
    u_char     *p;
    ngx_int_t   rc;
    ngx_str_t   mode, token, challenge;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_arg(r, (u_char *) "hub.mode", 8, &mode) != NGX_OK
        || mode.len != 9
        || ngx_strncmp(mode.data, "subscribe", 9) != 0)
    {
        return ngx_http_crmsync_refuse(r, NGX_HTTP_FORBIDDEN,
                                       "handshake_mode");
    }

    if (ngx_http_arg(r, (u_char *) "hub.challenge", 13, &challenge) != NGX_OK
        || challenge.len == 0)
    {
        return ngx_http_crmsync_refuse(r, NGX_HTTP_FORBIDDEN,
                                       "handshake_challenge_missing");
    }

    if (ngx_http_arg(r, (u_char *) "hub.verify_token", 16, &token) != NGX_OK
        || cslcf->verify_token.len == 0)
    {
        return ngx_http_crmsync_refuse(r, NGX_HTTP_FORBIDDEN,
                                       "verify_token_mismatch");
    }

    /* Meta form-encodes the token as any query value */

    p = ngx_pnalloc(r->pool, token.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_http_crmsync_form_unescape(p, token.data, token.len);

    if (len != cslcf->verify_token.len
        || CRYPTO_memcmp(p, cslcf->verify_token.data, len) != 0)
    {
        return ngx_http_crmsync_refuse(r, NGX_HTTP_FORBIDDEN,
                                       "verify_token_mismatch");
    }

    /* Meta's challenges are digits: anything else is not echoed */

    for (p = challenge.data; p < challenge.data + challenge.len; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')
              || (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '_'))
        {
            return ngx_http_crmsync_refuse(r, NGX_HTTP_FORBIDDEN,
                                           "handshake_challenge_invalid");
        }
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = challenge.len;
    ngx_str_set(&r->headers_out.content_type, "text/plain");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    return ngx_http_crmsync_send_body(r, challenge.data, challenge.len);
}


static ngx_int_t
ngx_http_crmsync_content_type(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_ctx_t *ctx)
{
    size_t            len;
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    h = r->headers_in.content_type;

    if (h == NULL) {
        return NGX_DECLINED;
    }

    p = h->value.data;
    last = p + h->value.len;

    for (len = 0; p + len < last; len++) {
        if (p[len] == ';' || p[len] == ' ' || p[len] == '\t') {
            break;
        }
    }

    if (len == sizeof("application/json") - 1
        && ngx_strncasecmp(p, (u_char *) "application/json", len) == 0)
    {
        return NGX_OK;
    }

    if (cslcf->provider == NGX_HTTP_CRMSYNC_PROVIDER_TWILIO
        && len == sizeof("application/x-www-form-urlencoded") - 1
        && ngx_strncasecmp(p, (u_char *) "application/x-www-form-urlencoded",
                           len)
           == 0)
    {
        ctx->form = 1;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_crmsync_verify_request(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_ctx_t *ctx,
    ngx_str_t *body)
{
    size_t                        n;
    ngx_str_t                     url;
    ngx_uint_t                    i;
    ngx_list_part_t              *part;
    ngx_table_elt_t              *h;
    ngx_http_crmsync_header_t    *hdr;
    ngx_http_crmsync_verify_t     v;
    ngx_http_crmsync_verify_rc_e  rc;

    ngx_memzero(&v, sizeof(ngx_http_crmsync_verify_t));

    v.provider = cslcf->provider;
    v.method.data = r->method_name.data;
    v.method.len = r->method_name.len;
    v.body.data = body->data;
    v.body.len = body->len;
    v.form = ctx->form;
    v.secrets = cslcf->secrets->elts;
    v.nsecrets = cslcf->secrets->nelts;
    v.now = ngx_time();
    v.window = cslcf->replay_window;

    /* the headers as they came, pointing into the request */

    n = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    hdr = ngx_palloc(r->pool, n * sizeof(ngx_http_crmsync_header_t) + 1);
    if (hdr == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            hdr[n].name.data = h[i].key.data;
            hdr[n].name.len = h[i].key.len;
            hdr[n].value.data = h[i].value.data;
            hdr[n].value.len = h[i].value.len;
            n++;
        }
    }

    v.headers = hdr;
    v.nheaders = n;

    if (cslcf->provider == NGX_HTTP_CRMSYNC_PROVIDER_TWILIO
        || cslcf->provider == NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT)
    {
        if (ngx_http_crmsync_public_url(r, cslcf, &url) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        v.url.data = url.data;
        v.url.len = url.len;
    }

    rc = ngx_http_crmsync_verify(&v);

    if (rc == NGX_HTTP_CRMSYNC_VERIFY_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "crmsync: verified with secret #%uz", v.secret + 1);
        return NGX_OK;
    }

    return ngx_http_crmsync_reject(ctx, NGX_HTTP_UNAUTHORIZED, v.reason);
}


static ngx_int_t
ngx_http_crmsync_parse_request(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_ctx_t *ctx,
    ngx_str_t *body)
{
    size_t                       size, full;
    ngx_str_t                   *id;
    ngx_uint_t                   i, status;
    ngx_http_crmsync_parse_t     p;
    ngx_http_crmsync_parse_rc_e  rc;

    /*
     * the arena's worst-case bound is many times the body; nearly every
     * delivery fits in a few times its size, so that goes first and the
     * bound only when the first arena runs out
     */

    full = ngx_http_crmsync_parse_arena_size(body->len);
    size = ngx_min(full, 4 * body->len + 16384);

    for ( ;; ) {
        ngx_memzero(&p, sizeof(ngx_http_crmsync_parse_t));

        p.provider = cslcf->provider;
        p.default_region = cslcf->region_set == 1 ? (char *) cslcf->region
                                                  : NULL;
        p.form = ctx->form;

        p.arena.start = ngx_palloc(r->pool, size);
        if (p.arena.start == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p.arena.pos = p.arena.start;
        p.arena.end = p.arena.start + size;

        rc = ngx_http_crmsync_parse(&p, body->data, body->len);

        if (rc != NGX_HTTP_CRMSYNC_PARSE_NOMEM || size == full
            || p.reason == NULL || ngx_strcmp(p.reason, "arena_full") != 0)
        {
            break;
        }

        ngx_pfree(r->pool, p.arena.start);
        size = full;
    }

    switch (rc) {

    case NGX_HTTP_CRMSYNC_PARSE_OK:
        break;

    case NGX_HTTP_CRMSYNC_PARSE_SKIP:
        ctx->status = NGX_HTTP_OK;
        ctx->outcome = "ignored";
        ctx->reason = p.reason;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "crmsync: delivery ignored: %s", p.reason);
        return NGX_OK;

    default:
        status = (rc == NGX_HTTP_CRMSYNC_PARSE_MALFORMED)
                 ? NGX_HTTP_BAD_REQUEST
                 : (rc == NGX_HTTP_CRMSYNC_PARSE_UNREADABLE)
                   ? NGX_HTTP_CRMSYNC_UNPROCESSABLE
                   : NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;

        return ngx_http_crmsync_reject(ctx, status,
                                       p.reason ? p.reason : "unreadable");
    }

    /* Standard Webhooks carry the delivery id in a header only */

    if (cslcf->provider == NGX_HTTP_CRMSYNC_PROVIDER_STANDARD) {

        /*
         * the id of the family that was verified: webhook-* whenever
         * webhook-signature is there, svix-* otherwise, as the verifier
         * chose; an unsigned id of the other family must not become the
         * dedup key
         */

        id = ngx_http_crmsync_header(r, "webhook-signature")
             ? ngx_http_crmsync_header(r, "webhook-id")
             : ngx_http_crmsync_header(r, "svix-id");

        for (i = 0; id && i < p.nevents; i++) {
            if (p.events[i].delivery_id.len == 0) {
                p.events[i].delivery_id.data = id->data;
                p.events[i].delivery_id.len = id->len;
            }
        }
    }

    ctx->status = NGX_HTTP_OK;
    ctx->outcome = "accepted";
    ctx->events = p.events;
    ctx->nevents = p.nevents;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "crmsync: %s delivery: %uz events",
                   ngx_http_crmsync_provider_names[cslcf->provider],
                   p.nevents);

    return NGX_OK;
}


static ngx_int_t
ngx_http_crmsync_answer(ngx_http_request_t *r, ngx_http_crmsync_ctx_t *ctx)
{
    u_char  *p, *last;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 128);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->reason) {
        last = ngx_snprintf(p, NGX_INT_T_LEN + 128,
                            "{\"status\":\"%s\",\"reason\":\"%s\"}\n",
                            ctx->outcome, ctx->reason);

    } else {
        last = ngx_snprintf(p, NGX_INT_T_LEN + 128,
                            "{\"status\":\"%s\",\"events\":%uz}\n",
                            ctx->outcome, ctx->nevents);
    }

    return ngx_http_crmsync_send_json(r, ctx->status, p, last - p);
}


/* the first request header of that name, case-insensitively */

ngx_str_t *
ngx_http_crmsync_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (h[i].key.len == len
                && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
            {
                return &h[i].value;
            }
        }
    }

    return NULL;
}


/*
 * The URL the platform signed: crmsync_public_url when set (an nginx
 * behind a TLS terminator or a proxy), else scheme://Host/uri as this
 * nginx received it.
 */

ngx_int_t
ngx_http_crmsync_public_url(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_str_t *url)
{
    u_char     *p;
    ngx_str_t   scheme, host;

    if (cslcf->public_url) {
        return ngx_http_complex_value(r, cslcf->public_url, url);
    }

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&scheme, "https");
    } else
#endif
    {
        ngx_str_set(&scheme, "http");
    }

    if (r->headers_in.host) {
        host = r->headers_in.host->value;

    } else {
        host = r->headers_in.server;
    }

    url->len = scheme.len + 3 + host.len + r->unparsed_uri.len;

    p = ngx_pnalloc(r->pool, url->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    url->data = p;

    p = ngx_cpymem(p, scheme.data, scheme.len);
    p = ngx_cpymem(p, "://", 3);
    p = ngx_cpymem(p, host.data, host.len);
    ngx_memcpy(p, r->unparsed_uri.data, r->unparsed_uri.len);

    return NGX_OK;
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
    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    return ngx_http_crmsync_send_body(r, body, len);
}


ngx_int_t
ngx_http_crmsync_send_body(ngx_http_request_t *r, u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

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
    "{\"status\":\"rejected\",\"reason\":\"%s\"}\n"

#define ngx_http_crmsync_reason_len(reason)                                   \
    (sizeof("{\"status\":\"rejected\",\"reason\":\"\"}\n") - 1              \
     + ngx_strlen(reason))


static ngx_buf_t *
ngx_http_crmsync_reason_buf(ngx_http_request_t *r, const char *reason)
{
    ngx_buf_t  *b;

    b = ngx_create_temp_buf(r->pool, ngx_http_crmsync_reason_len(reason));
    if (b == NULL) {
        return NULL;
    }

    b->last = ngx_sprintf(b->pos, NGX_HTTP_CRMSYNC_REASON_FMT, reason);

    return b;
}


/*
 * A refusal: logged once, at crmsync_log_level, with the provider and the
 * reason only (never a secret, a header value or the body), and answered
 * with the reason in JSON.
 */

ngx_int_t
ngx_http_crmsync_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason)
{
    ngx_log_t                    *log;
    ngx_buf_t                    *b;
    ngx_log_handler_pt            handler;
    ngx_http_crmsync_ctx_t       *ctx;
    ngx_http_crmsync_loc_conf_t  *cslcf;

    cslcf = ngx_http_get_module_loc_conf(r, ngx_http_crmsync_module);

    log = r->connection->log;

    if (r->method != NGX_HTTP_GET) {
        ngx_log_error(cslcf->log_level, log, 0,
                      "crmsync: %s webhook rejected with %ui: %s",
                      ngx_http_crmsync_provider_names[cslcf->provider],
                      status, reason);

    } else {
        /*
         * the handshake's query string carries hub.verify_token, and
         * nginx would add the request line to the entry: it is left out
         */

        handler = log->handler;
        log->handler = NULL;

        ngx_log_error(cslcf->log_level, log, 0,
                      "crmsync: %s webhook rejected with %ui: %s, "
                      "client: %V",
                      ngx_http_crmsync_provider_names[cslcf->provider],
                      status, reason, &r->connection->addr_text);

        log->handler = handler;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_crmsync_module);

    if (ctx) {
        ctx->status = status;
        ctx->outcome = "rejected";
        ctx->reason = reason;
    }

    if (cslcf->sh) {
        ngx_http_crmsync_shm_refused(ngx_http_crmsync_zone_ctx(r), cslcf->sh,
                                     reason);
    }

    b = ngx_http_crmsync_reason_buf(r, reason);
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

static const char *
ngx_http_crmsync_special_reason(ngx_uint_t status)
{
    switch (status) {

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "body_too_large";

    case NGX_HTTP_REQUEST_TIME_OUT:
        return "body_timeout";

    case NGX_HTTP_BAD_REQUEST:
        return "bad_request";

    case NGX_HTTP_INTERNAL_SERVER_ERROR:
        return "internal_error";

    default:
        return NULL;
    }
}


static ngx_int_t
ngx_http_crmsync_header_filter(ngx_http_request_t *r)
{
    const char                   *reason;
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

    ctx = ngx_http_crmsync_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    ctx->json_error = 1;
    ctx->status = r->headers_out.status;
    ctx->outcome = "rejected";
    ctx->reason = reason;

    ngx_log_error(cslcf->log_level, r->connection->log, 0,
                  "crmsync: %s webhook rejected with %ui: %s",
                  ngx_http_crmsync_provider_names[cslcf->provider],
                  ctx->status, reason);

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

        b = ngx_http_crmsync_reason_buf(r, ctx->reason);
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

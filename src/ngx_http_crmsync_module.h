
/*
 * Copyright (C) crmsync authors
 */


#ifndef _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_types.h"


typedef struct {
    ngx_uint_t                  provider;    /* ngx_http_crmsync_provider_e */
    ngx_http_core_loc_conf_t   *clcf;
} ngx_http_crmsync_loc_conf_t;


typedef struct {
    ngx_str_t                   reason;      /* refusal reason, or empty */
    ngx_uint_t                  status;
    unsigned                    json_error:1;
} ngx_http_crmsync_ctx_t;


ngx_int_t ngx_http_crmsync_webhook_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_crmsync_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
ngx_int_t ngx_http_crmsync_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason);
ngx_int_t ngx_http_crmsync_filter_init(ngx_conf_t *cf);


extern ngx_module_t  ngx_http_crmsync_module;


#endif /* _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_ */


/*
 * Copyright (C) crmsync authors
 */


#ifndef _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_types.h"
#include "ngx_http_crmsync_event.h"


#define NGX_HTTP_CRMSYNC_REGION_LEN  2


typedef struct {
    ngx_uint_t                  provider;    /* ngx_http_crmsync_provider_e */

    ngx_array_t                *secrets;     /* ngx_str_t: crmsync_secret
                                                and crmsync_secret_file */
    ngx_str_t                   verify_token;
    ngx_http_complex_value_t   *public_url;
    time_t                      replay_window;
    ngx_uint_t                  log_level;

    /* "US": NUL-terminated for the phone code; "" when unset */
    u_char                      region[NGX_HTTP_CRMSYNC_REGION_LEN + 1];
    ngx_flag_t                  region_set;

    ngx_http_core_loc_conf_t   *clcf;
} ngx_http_crmsync_loc_conf_t;


typedef struct {
    ngx_uint_t                  status;      /* HTTP status answered */
    const char                 *outcome;     /* accepted, ignored, rejected */
    const char                 *reason;      /* why, when not accepted */

    ngx_http_crmsync_event_t   *events;
    size_t                      nevents;

    unsigned                    form:1;
    unsigned                    json_error:1;
} ngx_http_crmsync_ctx_t;


ngx_int_t ngx_http_crmsync_webhook_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_crmsync_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
ngx_int_t ngx_http_crmsync_send_body(ngx_http_request_t *r, u_char *body,
    size_t len);
ngx_str_t *ngx_http_crmsync_header(ngx_http_request_t *r, const char *name);
ngx_int_t ngx_http_crmsync_public_url(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_str_t *url);
ngx_int_t ngx_http_crmsync_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason);
ngx_int_t ngx_http_crmsync_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_crmsync_add_variables(ngx_conf_t *cf);


extern ngx_module_t  ngx_http_crmsync_module;


#endif /* _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_ */

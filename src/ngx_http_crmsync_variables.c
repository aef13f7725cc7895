
/*
 * Copyright (C) crmsync authors
 *
 * $crmsync_* variables: the request's outcome and normalized events, for
 * log formats, headers and (later) crmsync_set values.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_module.h"


typedef enum {
    NGX_HTTP_CRMSYNC_VAR_PROVIDER = 0,
    NGX_HTTP_CRMSYNC_VAR_STATUS,
    NGX_HTTP_CRMSYNC_VAR_REASON,
    NGX_HTTP_CRMSYNC_VAR_EVENTS,
    NGX_HTTP_CRMSYNC_VAR_EVENT,
    NGX_HTTP_CRMSYNC_VAR_EVENT_TYPE,
    NGX_HTTP_CRMSYNC_VAR_DELIVERY_ID,
    NGX_HTTP_CRMSYNC_VAR_PHONE,
    NGX_HTTP_CRMSYNC_VAR_EMAIL
} ngx_http_crmsync_var_e;


static ngx_int_t ngx_http_crmsync_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_crmsync_vars[] = {

    { ngx_string("crmsync_provider"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_PROVIDER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_status"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_STATUS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_reason"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_REASON, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_events"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_EVENTS, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_event"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_EVENT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_event_type"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_EVENT_TYPE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_delivery_id"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_DELIVERY_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_phone"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_PHONE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_email"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_EMAIL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_crmsync_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_crmsync_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_crmsync_variable_str(ngx_http_variable_value_t *v, u_char *data,
    size_t len)
{
    if (data == NULL || len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = data;
    v->len = len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_crmsync_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    size_t                        i, len;
    u_char                       *p;
    const char                   *s;
    ngx_http_crmsync_ctx_t       *ctx;
    ngx_http_crmsync_event_t     *ev;
    ngx_http_crmsync_loc_conf_t  *cslcf;

    cslcf = ngx_http_get_module_loc_conf(r, ngx_http_crmsync_module);

    if (data == NGX_HTTP_CRMSYNC_VAR_PROVIDER) {
        s = ngx_http_crmsync_provider_names[cslcf->provider];
        return ngx_http_crmsync_variable_str(v, (u_char *) s,
                                             s ? ngx_strlen(s) : 0);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_crmsync_module);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ev = ctx->events;

    switch (data) {

    case NGX_HTTP_CRMSYNC_VAR_STATUS:
        s = ctx->outcome;
        return ngx_http_crmsync_variable_str(v, (u_char *) s,
                                             s ? ngx_strlen(s) : 0);

    case NGX_HTTP_CRMSYNC_VAR_REASON:
        s = ctx->reason;
        return ngx_http_crmsync_variable_str(v, (u_char *) s,
                                             s ? ngx_strlen(s) : 0);

    case NGX_HTTP_CRMSYNC_VAR_EVENTS:
        p = ngx_pnalloc(r->pool, NGX_SIZE_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_crmsync_variable_str(v, p,
                                      ngx_sprintf(p, "%uz", ctx->nevents) - p);

    case NGX_HTTP_CRMSYNC_VAR_EVENT:
        if (ctx->nevents == 0) {
            break;
        }

        len = ngx_http_crmsync_events_json(ev, ctx->nevents, NULL, 0);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_crmsync_events_json(ev, ctx->nevents, p, len) != len) {
            return NGX_ERROR;
        }

        return ngx_http_crmsync_variable_str(v, p, len);

    case NGX_HTTP_CRMSYNC_VAR_EVENT_TYPE:
        if (ctx->nevents == 0) {
            break;
        }

        s = ngx_http_crmsync_event_type_names[ev[0].type];
        return ngx_http_crmsync_variable_str(v, (u_char *) s,
                                             s ? ngx_strlen(s) : 0);

    case NGX_HTTP_CRMSYNC_VAR_DELIVERY_ID:
        if (ctx->nevents == 0) {
            break;
        }

        return ngx_http_crmsync_variable_str(v, ev[0].delivery_id.data,
                                             ev[0].delivery_id.len);

    /* the first event that carries one */

    case NGX_HTTP_CRMSYNC_VAR_PHONE:
        for (i = 0; i < ctx->nevents; i++) {
            if (ev[i].identity.phone.len) {
                return ngx_http_crmsync_variable_str(v,
                                                 ev[i].identity.phone.data,
                                                 ev[i].identity.phone.len);
            }
        }

        break;

    case NGX_HTTP_CRMSYNC_VAR_EMAIL:
        for (i = 0; i < ctx->nevents; i++) {
            if (ev[i].identity.email.len) {
                return ngx_http_crmsync_variable_str(v,
                                                 ev[i].identity.email.data,
                                                 ev[i].identity.email.len);
            }
        }

        break;
    }

    v->not_found = 1;
    return NGX_OK;
}

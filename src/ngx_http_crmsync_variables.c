
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
    NGX_HTTP_CRMSYNC_VAR_EMAIL,
    NGX_HTTP_CRMSYNC_VAR_CONVERSATION_ID,
    NGX_HTTP_CRMSYNC_VAR_ASSIGNEE,
    NGX_HTTP_CRMSYNC_VAR_CSAT,
    NGX_HTTP_CRMSYNC_VAR_CHANNEL
} ngx_http_crmsync_var_e;


static ngx_int_t ngx_http_crmsync_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_crmsync_attr_variable(ngx_http_request_t *r,
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

    /* the event being stored (ctx->current), the first one otherwise */

    { ngx_string("crmsync_conversation_id"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_CONVERSATION_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_assignee"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_ASSIGNEE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_csat"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_CSAT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_channel"), NULL, ngx_http_crmsync_variable,
      NGX_HTTP_CRMSYNC_VAR_CHANNEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("crmsync_attr_"), NULL, ngx_http_crmsync_attr_variable,
      0, NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

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
    ngx_str_t                     label;
    const char                   *s;
    ngx_http_crmsync_ctx_t       *ctx;
    ngx_http_crmsync_event_t     *ev, *cur;
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
    cur = (ctx->current < ctx->nevents) ? &ev[ctx->current] : NULL;

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

    case NGX_HTTP_CRMSYNC_VAR_CONVERSATION_ID:
        if (cur == NULL) {
            break;
        }

        return ngx_http_crmsync_variable_str(v, cur->conversation_id.data,
                                             cur->conversation_id.len);

    case NGX_HTTP_CRMSYNC_VAR_ASSIGNEE:
        if (cur == NULL) {
            break;
        }

        return ngx_http_crmsync_variable_str(v, cur->assignee.data,
                                             cur->assignee.len);

    case NGX_HTTP_CRMSYNC_VAR_CSAT:
        if (cur == NULL || cur->csat < 0) {
            break;
        }

        p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        return ngx_http_crmsync_variable_str(v, p,
                                        ngx_sprintf(p, "%d", cur->csat) - p);

    case NGX_HTTP_CRMSYNC_VAR_CHANNEL:
        if (cur == NULL) {
            break;
        }

        ngx_http_crmsync_channel(cur, &label, &s);

        return ngx_http_crmsync_variable_str(v, label.data, label.len);
    }

    v->not_found = 1;
    return NGX_OK;
}


/* $crmsync_attr_<name>: the event's attribute, the name in any case */

static ngx_int_t
ngx_http_crmsync_attr_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t *name = (ngx_str_t *) data;

    size_t                     i, len;
    u_char                    *n;
    ngx_http_crmsync_ctx_t    *ctx;
    ngx_http_crmsync_attr_t   *a;
    ngx_http_crmsync_event_t  *ev;

    ctx = ngx_http_get_module_ctx(r, ngx_http_crmsync_module);

    if (ctx == NULL || ctx->current >= ctx->nevents) {
        v->not_found = 1;
        return NGX_OK;
    }

    ev = &ctx->events[ctx->current];

    n = name->data + sizeof("crmsync_attr_") - 1;
    len = name->len - (sizeof("crmsync_attr_") - 1);

    for (i = 0; i < ev->nattrs; i++) {
        a = &ev->attrs[i];

        if (a->name.len == len
            && ngx_strncasecmp(a->name.data, n, len) == 0)
        {
            return ngx_http_crmsync_variable_str(v, a->value.data,
                                                 a->value.len);
        }
    }

    v->not_found = 1;
    return NGX_OK;
}


/*
 * An event's channel: its "channel" attribute when the platform gives
 * one, else the provider's own; and HubSpot's communication channel type
 * (hs_communication_channel_type) where one fits.
 */

void
ngx_http_crmsync_channel(ngx_http_crmsync_event_t *ev, ngx_str_t *label,
    const char **type)
{
    size_t                    i;
    ngx_str_t                 s;
    ngx_http_crmsync_attr_t  *a;

    static ngx_str_t  labels[] = {
        ngx_null_string,
        ngx_string("WhatsApp"),
        ngx_string("Messenger"),
        ngx_string("Instagram"),
        ngx_string("Intercom"),
        ngx_string("Telegram"),
        ngx_string("SMS"),
        ngx_string("respond.io"),
        ngx_string("Standard Webhooks"),
        ngx_string("HubSpot")
    };

    ngx_str_null(label);

    for (i = 0; i < ev->nattrs; i++) {
        a = &ev->attrs[i];

        if (a->name.len == 7
            && ngx_strncasecmp(a->name.data, (u_char *) "channel", 7) == 0
            && a->value.len)
        {
            label->data = a->value.data;
            label->len = a->value.len;
            break;
        }
    }

    if (label->len == 0 && ev->provider > 0
        && ev->provider < sizeof(labels) / sizeof(labels[0]))
    {
        *label = labels[ev->provider];

        /* Twilio carries WhatsApp too */

        if (ev->provider == NGX_HTTP_CRMSYNC_PROVIDER_TWILIO
            && ev->identity.whatsapp_id.len)
        {
            *label = labels[NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP];
        }
    }

    *type = NULL;

    if (ev->provider == NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP
        || (ev->provider == NGX_HTTP_CRMSYNC_PROVIDER_TWILIO
            && ev->identity.whatsapp_id.len))
    {
        *type = "WHATS_APP";
        return;
    }

    if (ev->provider == NGX_HTTP_CRMSYNC_PROVIDER_TWILIO) {
        *type = "SMS";
        return;
    }

    /* a platform's channel attribute: "WhatsApp", "whatsapp_cloud",
       "SMS", "LinkedIn" */

    s = *label;

    for (i = 0; i + 3 <= s.len; i++) {
        if (i + 8 <= s.len
            && ngx_strncasecmp(s.data + i, (u_char *) "whatsapp", 8) == 0)
        {
            *type = "WHATS_APP";
            return;
        }

        if (i + 8 <= s.len
            && ngx_strncasecmp(s.data + i, (u_char *) "linkedin", 8) == 0)
        {
            *type = "LINKEDIN_MESSAGE";
            return;
        }

        if (ngx_strncasecmp(s.data + i, (u_char *) "sms", 3) == 0) {
            *type = "SMS";
            return;
        }
    }
}

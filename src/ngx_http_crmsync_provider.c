
/*
 * Copyright (C) crmsync authors
 *
 * The provider table: ngx_http_crmsync_parse() chooses the adapter by
 * provider, and the parse steps every adapter shares.  The event model
 * (ngx_http_crmsync_event.c) knows no adapter; only this file does.
 */


#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"


size_t
ngx_http_crmsync_parse_arena_size(size_t len)
{
    size_t  n;

    /* an event takes at least a "{}," in a JSON body */
    n = len / 2 + 8;

    if (n > NGX_HTTP_CRMSYNC_MAX_EVENTS) {
        n = NGX_HTTP_CRMSYNC_MAX_EVENTS;
    }

    return 2 * len + 4096 + ngx_http_crmsync_json_bound(len)
           + n * (sizeof(ngx_http_crmsync_event_t)
                  + NGX_HTTP_CRMSYNC_EVENT_EXTRA);
}


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_parse_fail(ngx_http_crmsync_parse_t *p, int rc,
    const char *reason)
{
    if (rc == NGX_HTTP_CRMSYNC_JSON_NOMEM) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    p->reason = reason;
    return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
}


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_parse_string(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *obj, const char *key,
    const char *bad)
{
    int  rc;

    rc = ngx_http_crmsync_json_string(&p->arena, dst, obj, key);

    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, bad);
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_parse_attr(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_attr_t *attr, const u_char *name, size_t name_len,
    const u_char *value, size_t value_len)
{
    if (ngx_http_crmsync_arena_copy(&p->arena, &attr->name, name, name_len)
        != 0
        || ngx_http_crmsync_arena_copy(&p->arena, &attr->value, value,
                                       value_len)
           != 0)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/* the dispatcher */


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_parse(ngx_http_crmsync_parse_t *p, const u_char *body,
    size_t len)
{
    size_t                        i;
    const u_char                 *s;
    ngx_http_crmsync_json_t      *root;
    ngx_http_crmsync_event_t      tmp;
    ngx_http_crmsync_json_rc_e    jrc;
    ngx_http_crmsync_parse_rc_e   rc;

    p->events = NULL;
    p->nevents = 0;
    p->reason = NULL;

    if (p->arena.start == NULL || p->arena.pos == NULL
        || p->arena.end < p->arena.pos)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    if (body == NULL) {
        len = 0;
        body = (const u_char *) "";
    }

    if (p->provider == NGX_HTTP_CRMSYNC_PROVIDER_TWILIO) {

        /* a form unless it looks like JSON */

        for (s = body; s < body + len && ngx_http_crmsync_space(*s); s++) {
            /* void */
        }

        if (p->form || s == body + len || (*s != '{' && *s != '[')) {
            rc = ngx_http_crmsync_provider_twilio(p, body, len);
            goto done;
        }
    }

    if (len == 0) {
        p->reason = "bad_json";
        return NGX_HTTP_CRMSYNC_PARSE_MALFORMED;
    }

    /*
     * the tree lives in the arena, with the events: nothing to free; a
     * body nested deeper than NGX_HTTP_CRMSYNC_JSON_MAX_DEPTH is
     * "bad_json", not a deep recursion
     */

    root = ngx_http_crmsync_json_parse(&p->arena, body, len, &jrc);

    if (root == NULL) {
        if (jrc == NGX_HTTP_CRMSYNC_JSON_FULL) {
            p->reason = "arena_full";
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

        p->reason = "bad_json";
        return NGX_HTTP_CRMSYNC_PARSE_MALFORMED;
    }

    if (!ngx_http_crmsync_json_is_object(root)
        && !(p->provider == NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT
             && ngx_http_crmsync_json_is_array(root)))
    {
        p->reason = "not_an_object";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    switch (p->provider) {

    case NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP:
        rc = ngx_http_crmsync_provider_whatsapp(p, root);
        break;

    case NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER:
        rc = ngx_http_crmsync_provider_messenger(p, root);
        break;

    case NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM:
        rc = ngx_http_crmsync_provider_instagram(p, root);
        break;

    case NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM:
        rc = ngx_http_crmsync_provider_telegram(p, root);
        break;

    case NGX_HTTP_CRMSYNC_PROVIDER_TWILIO:
        p->reason = "twilio_json_body";
        rc = NGX_HTTP_CRMSYNC_PARSE_SKIP;
        break;

#ifndef NGX_HTTP_CRMSYNC_PARTIAL
    case NGX_HTTP_CRMSYNC_PROVIDER_INTERCOM:
        rc = ngx_http_crmsync_provider_intercom(p, root);
        break;

    case NGX_HTTP_CRMSYNC_PROVIDER_RESPONDIO:
        rc = ngx_http_crmsync_provider_respondio(p, root);
        break;

    case NGX_HTTP_CRMSYNC_PROVIDER_STANDARD:
        rc = ngx_http_crmsync_provider_standard(p, root);
        break;

    case NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT:
        rc = ngx_http_crmsync_provider_hubspot(p, root);
        break;
#endif

    default:
        p->reason = "unknown_provider";
        rc = NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        break;
    }

done:

    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        p->events = NULL;
        p->nevents = 0;

        if (p->reason == NULL) {
            p->reason = "unreadable";
        }

        return rc;
    }

    if (p->nevents == 0) {
        p->events = NULL;

        if (p->reason == NULL) {
            p->reason = "no_events";
        }

        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    p->reason = NULL;

    /* events were added downwards: put them in order */

    for (i = 0; i < p->nevents / 2; i++) {
        tmp = p->events[i];
        p->events[i] = p->events[p->nevents - 1 - i];
        p->events[p->nevents - 1 - i] = tmp;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}

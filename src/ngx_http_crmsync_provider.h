
/*
 * Copyright (C) crmsync authors
 *
 * Provider adapters: one verified body in, normalized events out.
 *
 * An adapter is called by ngx_http_crmsync_parse() only, the provider
 * table (ngx_http_crmsync_provider.c), which parses the body into the
 * arena (src/ngx_http_crmsync_json.h: the reader and its member helpers),
 * prepares the arena and puts the events in order.  Rules for every
 * adapter:
 *
 *   - add events with ngx_http_crmsync_event_add() only; events are laid
 *     out from the end of the arena downwards and put in order by the
 *     dispatcher, so an adapter never indexes p->events: it keeps the
 *     pointer the helper returned;
 *   - keep strings in the arena (copies, or the tree's own strings), a
 *     body string copied at most once per event (share copies between
 *     events, e.g. a name used by a batch of messages), derived data at most
 *     NGX_HTTP_CRMSYNC_EVENT_EXTRA bytes per event: then
 *     ngx_http_crmsync_parse_arena_size() is always enough;
 *   - return PARSE_OK with >= 1 event, or another rc with p->reason set to
 *     a static machine-readable string ("whatsapp_no_entry", ...);
 *   - never trust a type: a member of the wrong type is UNREADABLE, a
 *     missing optional member is just empty;
 *   - bounded work: ngx_http_crmsync_json_get() is a linear search, so
 *     never look members up in a loop over an attacker-sized array of
 *     objects (read such an array once, as the WhatsApp contacts[] are).
 */


#ifndef _NGX_HTTP_CRMSYNC_PROVIDER_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_PROVIDER_H_INCLUDED_


#include "ngx_http_crmsync_json.h"

#include "ngx_http_crmsync_event.h"


/* derived bytes an adapter may add per event (ids, E.164, decimals) */
#define NGX_HTTP_CRMSYNC_EVENT_EXTRA  512


/* JSON adapters: root is an object (hubspot: an object or an array) */
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_whatsapp(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root);
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_messenger(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root);
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_instagram(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root);
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_telegram(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root);
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_intercom(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root);
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_respondio(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root);
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_standard(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root);
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_hubspot(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root);

/*
 * Twilio posts application/x-www-form-urlencoded (the norm for
 * Programmable Messaging); a JSON body on a twilio location is skipped
 * by the dispatcher ("twilio_json_body")
 */
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_provider_twilio(
    ngx_http_crmsync_parse_t *p, const u_char *body, size_t len);


/*
 * A member helper's failure as the adapter's answer: JSON_NOMEM sets
 * "arena_full" and gives PARSE_NOMEM; anything else sets reason and
 * gives PARSE_UNREADABLE.
 */
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_parse_fail(
    ngx_http_crmsync_parse_t *p, int rc, const char *reason);

/*
 * json_string as a parse step: PARSE_OK when the member is a string or
 * absent (dst emptied), else as ngx_http_crmsync_parse_fail(p, rc, bad)
 */
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_parse_string(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_str_t *dst,
    ngx_http_crmsync_json_t *obj, const char *key, const char *bad);

/*
 * a custom attribute: name and value copied into the arena; PARSE_OK,
 * or PARSE_NOMEM with "arena_full" (the caller counts ev->nattrs)
 */
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_parse_attr(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_attr_t *attr,
    const u_char *name, size_t name_len, const u_char *value,
    size_t value_len);


#endif /* _NGX_HTTP_CRMSYNC_PROVIDER_H_INCLUDED_ */

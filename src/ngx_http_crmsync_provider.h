
/*
 * Copyright (C) crmsync authors
 *
 * Provider adapters: one verified body in, normalized events out.
 *
 * An adapter is called by ngx_http_crmsync_parse() only, which parses the
 * body into the arena (src/ngx_http_crmsync_json.h: the jansson names the
 * adapters use, on our own reader), prepares the arena and puts the
 * events in order.  Rules for every adapter:
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
 *   - bounded work: json_object_get() is a linear search, so never look
 *     members up in a loop over an attacker-sized array of objects (read
 *     such an array once, as the WhatsApp contacts[] are).
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
 * A new zeroed event (csat -1, provider set), or NULL with p->reason
 * set ("too_many_events" past NGX_HTTP_CRMSYNC_MAX_EVENTS, "arena_full"):
 * return NGX_HTTP_CRMSYNC_PARSE_NOMEM then.
 */
ngx_http_crmsync_event_t *ngx_http_crmsync_event_add(
    ngx_http_crmsync_parse_t *p);


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


/*
 * JSON member helpers.  obj may be NULL or not an object: the member is
 * absent then.  A null member and "" count as absent (dst emptied).
 */
#define NGX_HTTP_CRMSYNC_JSON_OK        0
#define NGX_HTTP_CRMSYNC_JSON_ABSENT    1
#define NGX_HTTP_CRMSYNC_JSON_BADTYPE  -1
#define NGX_HTTP_CRMSYNC_JSON_NOMEM    -2

/* a string member, not copied: OK, ABSENT (missing, null, "") or BADTYPE */
int ngx_http_crmsync_json_raw(ngx_http_crmsync_json_t *obj, const char *key,
    const u_char **s, size_t *len);

/* an object member: OK, ABSENT (missing or null; *v NULL) or BADTYPE */
int ngx_http_crmsync_json_object(ngx_http_crmsync_json_t *obj,
    const char *key, ngx_http_crmsync_json_t **v);

/*
 * a scalar as text, for custom attributes: a string as it is, a number or
 * a boolean written into buf; 0, or -1 for null, "", objects and arrays
 */
int ngx_http_crmsync_json_text(ngx_http_crmsync_json_t *v, u_char *buf,
    size_t size, const u_char **s, size_t *len);

/*
 * a string member: dst points at the reader's unescaped copy, which lives
 * in the same arena as the events (a is kept for callers' symmetry with
 * json_id, which writes an integer's digits there)
 */
int ngx_http_crmsync_json_string(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *obj, const char *key);

/* an id: a string, or an integer written in decimal */
int ngx_http_crmsync_json_id(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *obj, const char *key);

/*
 * a time: an integer or a decimal string in units of unit_ms
 * milliseconds (1000 for Unix seconds, 1 for ms), or an ISO 8601 / RFC
 * 3339 string; *ms is set on OK only; out of range is BADTYPE
 */
int ngx_http_crmsync_json_time(int64_t *ms, ngx_http_crmsync_json_t *obj,
    const char *key, int64_t unit_ms);

/* "2022-11-03T20:26:10.344522Z", "...+02:00": 0 and *ms set, or -1 */
int ngx_http_crmsync_iso8601_ms(const u_char *s, size_t len, int64_t *ms);


#endif /* _NGX_HTTP_CRMSYNC_PROVIDER_H_INCLUDED_ */

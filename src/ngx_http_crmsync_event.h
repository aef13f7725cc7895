
/*
 * Copyright (C) crmsync authors
 *
 * The normalized event model.  A provider adapter turns one verified
 * delivery into one or more events; everything downstream (variables,
 * the store, the sync engine) sees only this model.
 *
 * Pure: no nginx header.  All memory comes from a caller-provided arena,
 * so an adapter allocates nothing that outlives the call and the nginx
 * glue can hand it a buffer from r->pool.
 */


#ifndef _NGX_HTTP_CRMSYNC_EVENT_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_EVENT_H_INCLUDED_


#include "ngx_http_crmsync_types.h"


typedef enum {
    NGX_HTTP_CRMSYNC_EV_NONE = 0,
    NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,        /* "message.inbound" */
    NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND,       /* "message.outbound" */
    NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS,         /* "message.status" */
    NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED,    /* "conversation.opened" */
    NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED,    /* "conversation.closed" */
    NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED,  /* "conversation.assigned" */
    NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED,        /* "contact.created" */
    NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED,        /* "contact.updated" */
    NGX_HTTP_CRMSYNC_EV_CSAT,                   /* "csat" */
    NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_CREATED,    /* "crm.contact.created" */
    NGX_HTTP_CRMSYNC_EV_CRM_PROPERTY_CHANGED,   /* "crm.contact.changed" */
    NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_MERGED,     /* "crm.contact.merged" */
    NGX_HTTP_CRMSYNC_EV_MAX
} ngx_http_crmsync_event_type_e;


typedef enum {
    NGX_HTTP_CRMSYNC_AUTHOR_NONE = 0,
    NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,            /* "contact" */
    NGX_HTTP_CRMSYNC_AUTHOR_AGENT,              /* "agent" */
    NGX_HTTP_CRMSYNC_AUTHOR_BOT,                /* "bot" */
    NGX_HTTP_CRMSYNC_AUTHOR_SYSTEM,             /* "system" */
    NGX_HTTP_CRMSYNC_AUTHOR_NOTE                /* "note": internal note */
} ngx_http_crmsync_author_e;


/* attachment kinds, a bit mask */
#define NGX_HTTP_CRMSYNC_ATT_IMAGE     0x0001
#define NGX_HTTP_CRMSYNC_ATT_AUDIO     0x0002
#define NGX_HTTP_CRMSYNC_ATT_VIDEO     0x0004
#define NGX_HTTP_CRMSYNC_ATT_FILE      0x0008   /* document, file */
#define NGX_HTTP_CRMSYNC_ATT_LOCATION  0x0010
#define NGX_HTTP_CRMSYNC_ATT_STICKER   0x0020
#define NGX_HTTP_CRMSYNC_ATT_CONTACT   0x0040   /* a shared contact card */
#define NGX_HTTP_CRMSYNC_ATT_OTHER     0x0080


/*
 * The identities a contact is matched on.  Every field is either empty
 * (len == 0) or normalized: email trimmed and lower-cased, phone E.164
 * ("+14155550123"), ids as the platform gives them.
 */
typedef struct {
    ngx_http_crmsync_str_t      email;
    ngx_http_crmsync_str_t      phone;              /* E.164 */
    ngx_http_crmsync_str_t      phone_alt;          /* other E.164 form:
                                                       Brazil's 9th digit */
    ngx_http_crmsync_str_t      whatsapp_id;        /* wa_id digits */
    ngx_http_crmsync_str_t      messenger_psid;
    ngx_http_crmsync_str_t      instagram_id;       /* IGSID */
    ngx_http_crmsync_str_t      telegram_id;        /* user id, decimal */
    ngx_http_crmsync_str_t      telegram_username;  /* without '@' */
    ngx_http_crmsync_str_t      platform_id;        /* the platform's own
                                                       contact id */
    ngx_http_crmsync_str_t      hubspot_id;         /* when the platform
                                                       already holds one */
} ngx_http_crmsync_identity_t;


/* one custom attribute, e.g. a qualification score or a bot answer */
typedef struct {
    ngx_http_crmsync_str_t      name;
    ngx_http_crmsync_str_t      value;              /* as text */
} ngx_http_crmsync_attr_t;


typedef struct {
    ngx_http_crmsync_provider_e     provider;
    ngx_http_crmsync_event_type_e   type;

    ngx_http_crmsync_str_t          delivery_id;    /* dedup key, unique per
                                                       provider and event */
    int64_t                         occurred_at;    /* ms since the epoch,
                                                       0 if unknown */

    ngx_http_crmsync_identity_t     identity;

    ngx_http_crmsync_str_t          first_name;
    ngx_http_crmsync_str_t          last_name;

    ngx_http_crmsync_str_t          conversation_id;

    /* message.*: the message; message.status: its id and status */
    ngx_http_crmsync_author_e       author;
    ngx_http_crmsync_str_t          message_id;
    ngx_http_crmsync_str_t          text;
    ngx_http_crmsync_str_t          status;         /* sent, delivered, read,
                                                       failed */
    unsigned                        attachments;    /* NGX_HTTP_CRMSYNC_ATT_* */

    ngx_http_crmsync_str_t          assignee;       /* agent id or email */

    ngx_http_crmsync_attr_t        *attrs;
    size_t                          nattrs;

    int                             csat;           /* -1 if none */

    /* hubspot: property change and merge */
    ngx_http_crmsync_str_t          property;
    ngx_http_crmsync_str_t          property_value;
    ngx_http_crmsync_str_t          merged_ids;     /* comma separated */
} ngx_http_crmsync_event_t;


/* the arena: all strings and arrays of one parse live in one buffer */
typedef struct {
    u_char                     *start;
    u_char                     *pos;
    u_char                     *end;
} ngx_http_crmsync_arena_t;


#define NGX_HTTP_CRMSYNC_MAX_EVENTS  1024


typedef enum {
    NGX_HTTP_CRMSYNC_PARSE_OK = 0,      /* >= 1 event */
    NGX_HTTP_CRMSYNC_PARSE_SKIP,        /* well formed, deliberately
                                           ignored: answer 200 */
    NGX_HTTP_CRMSYNC_PARSE_MALFORMED,   /* not JSON / not a form: 400 */
    NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,  /* valid syntax, a shape we cannot
                                           read: 422 */
    NGX_HTTP_CRMSYNC_PARSE_NOMEM        /* arena or event limit: 413 */
} ngx_http_crmsync_parse_rc_e;


typedef struct {
    /* in */
    ngx_http_crmsync_provider_e     provider;
    const char                     *default_region;  /* "US" or NULL */
    unsigned                        form:1;          /* body is
                                                        x-www-form-urlencoded */

    /* out */
    ngx_http_crmsync_event_t       *events;
    size_t                          nevents;
    const char                     *reason;    /* machine-readable, static:
                                                  "bad_json", "no_entry",
                                                  ... set on any rc but OK */

    ngx_http_crmsync_arena_t        arena;
} ngx_http_crmsync_parse_t;


/*
 * Parse a verified body into events.  The caller sets the "in" fields and
 * the arena (ngx_http_crmsync_parse_arena_size() bytes are always enough
 * for a body of len bytes).  Both are the provider table's, in
 * ngx_http_crmsync_provider.c: the event model knows no adapter.
 */
ngx_http_crmsync_parse_rc_e ngx_http_crmsync_parse(
    ngx_http_crmsync_parse_t *p, const u_char *body, size_t len);

size_t ngx_http_crmsync_parse_arena_size(size_t len);

/*
 * A new zeroed event (csat -1, provider set), or NULL with p->reason
 * set ("too_many_events" past NGX_HTTP_CRMSYNC_MAX_EVENTS, "arena_full"):
 * return NGX_HTTP_CRMSYNC_PARSE_NOMEM then.
 */
ngx_http_crmsync_event_t *ngx_http_crmsync_event_add(
    ngx_http_crmsync_parse_t *p);


/* names: "message.inbound", "contact", ... */
extern const char  *ngx_http_crmsync_event_type_names[];
extern const char  *ngx_http_crmsync_author_names[];


/*
 * JSON of the events, as $crmsync_event shows it: an array of objects,
 * empty fields left out.  Returns the length written, or the length
 * needed when it exceeds size (nothing is written then).
 */
size_t ngx_http_crmsync_events_json(const ngx_http_crmsync_event_t *ev,
    size_t n, u_char *buf, size_t size);


/* helpers for adapters */
void *ngx_http_crmsync_arena_alloc(ngx_http_crmsync_arena_t *a, size_t size);
int ngx_http_crmsync_arena_copy(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, const u_char *src, size_t len);

/* trim, lower-case, loosely validate; 0 and dst set, or -1 (dropped) */
int ngx_http_crmsync_email(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, const u_char *src, size_t len);

/* E.164 under the region, or as a WhatsApp id; 0 or -1 (dropped) */
int ngx_http_crmsync_phone_identity(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_identity_t *id, const u_char *src, size_t len,
    const char *region);
int ngx_http_crmsync_whatsapp_identity(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_identity_t *id, const u_char *src, size_t len);

/* "Ana Maria Silva" -> first "Ana", last "Maria Silva" */
int ngx_http_crmsync_full_name(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_event_t *ev, const u_char *src, size_t len);


#endif /* _NGX_HTTP_CRMSYNC_EVENT_H_INCLUDED_ */

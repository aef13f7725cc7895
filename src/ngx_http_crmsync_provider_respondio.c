
/*
 * Copyright (C) crmsync authors
 *
 * respond.io webhooks into events.
 *
 * respond.io publishes no payload reference; the field names follow the
 * one public client library that types them (heboai/hebo,
 * packages/aikit-respond-io/src/webhook/types.ts):
 *
 *   {"event_type": "message.received", "event_id": ..., "timestamp": ...,
 *    "contact": {id, firstName, lastName, email, phone, countryCode,
 *                assignee{id, name, email}, custom_fields},
 *    "channel": {id, name, source},
 *    "message": {channelMessageId, contactId, traffic,
 *                message{type, text}, timestamp},
 *    "conversation": {openedTime, closedTime, category, summary, ...},
 *    "user": {id, name, email}}
 *
 * "message.sent" carries message{type, text} with channelMessageId and
 * traffic at the top.  Times are Unix seconds, or ms when they look like
 * ms (> 10^11).
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"


#define NGX_HTTP_CRMSYNC_RESPONDIO_MAX_ATTRS  64


static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_respondio_contact(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *contact);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_respondio_message(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *root);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_respondio_conversation(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *root);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_respondio_channel(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *root);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_respondio_attrs(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *fields);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_respondio_time(
    ngx_http_crmsync_parse_t *p, int64_t *ms, ngx_http_crmsync_json_t *obj,
    const char *key);
static int ngx_http_crmsync_respondio_csat(ngx_http_crmsync_json_t *obj,
    int *csat);


typedef struct {
    const char                     *name;
    ngx_http_crmsync_event_type_e   type;
} ngx_http_crmsync_respondio_event_t;


static ngx_http_crmsync_respondio_event_t
    ngx_http_crmsync_respondio_events[] =
{
    { "message.received", NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND },
    { "message.sent", NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND },
    { "contact.assignee.updated", NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED },
    { "conversation.opened", NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED },
    { "conversation.closed", NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED },
    { "contact.created", NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED },
    { "contact.updated", NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED },
    { "contact.tag.updated", NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED },
    { "contact.lifecycle.updated", NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED },
    { NULL, 0 }
};


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_respondio(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root)
{
    int                                  rc, n;
    u_char                               buf[24], *d;
    size_t                               len;
    const u_char                        *name;
    ngx_http_crmsync_json_t             *contact;
    ngx_http_crmsync_event_t            *ev;
    ngx_http_crmsync_parse_rc_e          prc;
    ngx_http_crmsync_respondio_event_t  *e;

    if (!ngx_http_crmsync_json_is_object(root)) {
        p->reason = "respondio_not_object";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    rc = ngx_http_crmsync_json_raw(root, "event_type", &name, &len);
    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        p->reason = "respondio_no_event_type";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    for (e = ngx_http_crmsync_respondio_events; e->name; e++) {
        if (strlen(e->name) == len && memcmp(e->name, name, len) == 0) {
            break;
        }
    }

    if (e->name == NULL) {
        p->reason = "respondio_event_ignored";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    rc = ngx_http_crmsync_json_object(root, "contact", &contact);
    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        p->reason = "respondio_no_contact";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->type = e->type;

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->delivery_id, root,
                                  "event_id");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "respondio_bad_event_id");
    }

    prc = ngx_http_crmsync_respondio_time(p, &ev->occurred_at, root,
                                          "timestamp");
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    prc = ngx_http_crmsync_respondio_contact(p, ev, contact);
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    prc = ngx_http_crmsync_respondio_channel(p, ev, root);
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    switch (ev->type) {

    case NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND:
    case NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND:
        prc = ngx_http_crmsync_respondio_message(p, ev, root);
        break;

    case NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED:
    case NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED:
        prc = ngx_http_crmsync_respondio_conversation(p, ev, root);
        break;

    case NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED:

        if (ev->occurred_at == 0) {
            /* a new contact: its creation time */
            prc = ngx_http_crmsync_respondio_time(p, &ev->occurred_at,
                                                  contact, "created_at");
        }

        break;

    default:
        break;
    }

    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK || ev->delivery_id.len) {
        return prc;
    }

    /*
     * no event_id (and no message id): "<event_type>:<contact id>:<ms>"
     * when the event has a time, else it cannot be deduplicated
     */

    if (ev->occurred_at == 0) {
        p->reason = "respondio_no_event_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    n = snprintf((char *) buf, sizeof(buf), ":%lld",
                 (long long) ev->occurred_at);

    len = strlen(e->name) + 1 + ev->identity.platform_id.len + (size_t) n;

    d = ngx_http_crmsync_arena_alloc(&p->arena, len);
    if (d == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->delivery_id.data = d;
    ev->delivery_id.len = len;

    d = (u_char *) memcpy(d, e->name, strlen(e->name)) + strlen(e->name);
    *d++ = ':';
    d = (u_char *) memcpy(d, ev->identity.platform_id.data,
                          ev->identity.platform_id.len)
        + ev->identity.platform_id.len;
    memcpy(d, buf, n);

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_respondio_contact(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *contact)
{
    int                           rc;
    char                          region[3];
    size_t                        len, flen, llen;
    const u_char                 *s, *first, *last;
    ngx_http_crmsync_json_t      *assignee, *fields;
    ngx_http_crmsync_parse_rc_e   prc;

    first = NULL;
    last = NULL;

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->identity.platform_id,
                                  contact, "id");
    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        return ngx_http_crmsync_parse_fail(p,
                                      rc == NGX_HTTP_CRMSYNC_JSON_ABSENT
                                      ? NGX_HTTP_CRMSYNC_JSON_BADTYPE : rc,
                                      "respondio_no_contact_id");
    }

    rc = ngx_http_crmsync_json_raw(contact, "email", &s, &len);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_email";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        (void) ngx_http_crmsync_email(&p->arena, &ev->identity.email, s, len);
    }

    /* the contact's country, else the location's default region */

    region[0] = '\0';

    if (ngx_http_crmsync_json_raw(contact, "countryCode", &s, &len)
        == NGX_HTTP_CRMSYNC_JSON_OK
        && len == 2)
    {
        region[0] = (char) s[0];
        region[1] = (char) s[1];
        region[2] = '\0';
    }

    rc = ngx_http_crmsync_json_raw(contact, "phone", &s, &len);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_phone";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK
        && ngx_http_crmsync_phone_identity(&p->arena, &ev->identity, s, len,
                                           region[0] ? region
                                                     : p->default_region)
           != 0
        && region[0])
    {
        (void) ngx_http_crmsync_phone_identity(&p->arena, &ev->identity,
                                               s, len, p->default_region);
    }

    rc = ngx_http_crmsync_json_raw(contact, "firstName", &first, &flen);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_name";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT) {
        flen = 0;
    }

    rc = ngx_http_crmsync_json_raw(contact, "lastName", &last, &llen);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_name";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT) {
        llen = 0;
    }

    if (flen && llen == 0) {
        /* everything in firstName: "Ana Maria Silva" */
        if (ngx_http_crmsync_full_name(&p->arena, ev, first, flen) != 0) {
            p->reason = "arena_full";
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

    } else if (ngx_http_crmsync_arena_copy(&p->arena, &ev->first_name,
                                           first, flen)
               != 0
               || ngx_http_crmsync_arena_copy(&p->arena, &ev->last_name,
                                              last, llen)
                  != 0)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    /* the assignee: an email when given, else the user id */

    rc = ngx_http_crmsync_json_object(contact, "assignee", &assignee);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_assignee";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (assignee) {
        rc = ngx_http_crmsync_json_string(&p->arena, &ev->assignee, assignee,
                                          "email");
        if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT) {
            rc = ngx_http_crmsync_json_id(&p->arena, &ev->assignee, assignee,
                                          "id");
        }

        if (rc < 0) {
            return ngx_http_crmsync_parse_fail(p, rc, "respondio_bad_assignee");
        }
    }

    /* custom fields: [{"name": ..., "value": ...}] or {"name": value} */

    fields = ngx_http_crmsync_json_get(contact, "custom_fields");

    if (fields == NULL) {
        fields = ngx_http_crmsync_json_get(contact, "customFields");
    }

    if (fields && !ngx_http_crmsync_json_is_null(fields)) {
        if (!ngx_http_crmsync_json_is_array(fields)
            && !ngx_http_crmsync_json_is_object(fields))
        {
            p->reason = "respondio_bad_custom_fields";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        prc = ngx_http_crmsync_respondio_attrs(p, ev, fields);
        if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return prc;
        }
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_respondio_message(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *root)
{
    int                           rc;
    size_t                        len;
    const u_char                 *s;
    ngx_http_crmsync_json_t      *msg, *inner, *user, *idobj;
    ngx_http_crmsync_parse_rc_e   prc;

    rc = ngx_http_crmsync_json_object(root, "message", &msg);
    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        p->reason = "respondio_no_message";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    /*
     * received: message{channelMessageId, message{type, text}, timestamp};
     * sent: message{type, text} with channelMessageId at the top
     */

    rc = ngx_http_crmsync_json_object(msg, "message", &inner);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_message";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (inner) {
        idobj = msg;

        prc = ngx_http_crmsync_respondio_time(p, &ev->occurred_at, msg,
                                              "timestamp");
        if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return prc;
        }

    } else {
        inner = msg;
        idobj = ngx_http_crmsync_json_get(msg, "channelMessageId") ? msg : root;
    }

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->message_id, idobj,
                                  "channelMessageId");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "respondio_bad_message_id");
    }

    /* no event_id on messages: "<event_type>:<channelMessageId>" */

    if (ev->delivery_id.len == 0 && ev->message_id.len) {
        s = (const u_char *) ((ev->type == NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND)
                              ? "message.received:" : "message.sent:");
        len = strlen((const char *) s);

        ev->delivery_id.data = ngx_http_crmsync_arena_alloc(&p->arena,
                                                 len + ev->message_id.len);
        if (ev->delivery_id.data == NULL) {
            p->reason = "arena_full";
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

        memcpy(ev->delivery_id.data, s, len);
        memcpy(ev->delivery_id.data + len, ev->message_id.data,
               ev->message_id.len);
        ev->delivery_id.len = len + ev->message_id.len;
    }

    rc = ngx_http_crmsync_json_string(&p->arena, &ev->text, inner, "text");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "respondio_bad_text");
    }

    rc = ngx_http_crmsync_json_raw(inner, "type", &s, &len);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_message_type";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK
        && !(len == 4 && memcmp(s, "text", 4) == 0))
    {
        if (len == 5 && memcmp(s, "image", 5) == 0) {
            ev->attachments = NGX_HTTP_CRMSYNC_ATT_IMAGE;

        } else if (len == 5 && memcmp(s, "audio", 5) == 0) {
            ev->attachments = NGX_HTTP_CRMSYNC_ATT_AUDIO;

        } else if (len == 5 && memcmp(s, "video", 5) == 0) {
            ev->attachments = NGX_HTTP_CRMSYNC_ATT_VIDEO;

        } else if ((len == 4 && memcmp(s, "file", 4) == 0)
                   || (len == 8 && memcmp(s, "document", 8) == 0))
        {
            ev->attachments = NGX_HTTP_CRMSYNC_ATT_FILE;

        } else if (len == 8 && memcmp(s, "location", 8) == 0) {
            ev->attachments = NGX_HTTP_CRMSYNC_ATT_LOCATION;

        } else if (len == 7 && memcmp(s, "sticker", 7) == 0) {
            ev->attachments = NGX_HTTP_CRMSYNC_ATT_STICKER;

        } else if (len == 7 && memcmp(s, "contact", 7) == 0) {
            ev->attachments = NGX_HTTP_CRMSYNC_ATT_CONTACT;

        } else {
            ev->attachments = NGX_HTTP_CRMSYNC_ATT_OTHER;
        }
    }

    if (ev->type == NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND) {
        ev->author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    /* sent by a user (an agent), else by a workflow, AI agent or bot */

    rc = ngx_http_crmsync_json_object(root, "user", &user);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_user";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev->author = (user && ngx_http_crmsync_json_get(user, "id")
                  && !ngx_http_crmsync_json_is_null(
                          ngx_http_crmsync_json_get(user, "id")))
                 ? NGX_HTTP_CRMSYNC_AUTHOR_AGENT
                 : NGX_HTTP_CRMSYNC_AUTHOR_BOT;

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_respondio_conversation(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *root)
{
    int                           rc, csat;
    size_t                        n;
    ngx_http_crmsync_json_t      *conv, *v;
    ngx_http_crmsync_attr_t      *a;
    ngx_http_crmsync_parse_rc_e   prc;

    rc = ngx_http_crmsync_json_object(root, "conversation", &conv);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_conversation";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (conv == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->conversation_id, conv,
                                  "id");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "respondio_bad_conversation");
    }

    prc = ngx_http_crmsync_respondio_time(p, &ev->occurred_at, conv,
                                   ev->type
                                   == NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED
                                   ? "closedTime" : "openedTime");
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    if (ngx_http_crmsync_respondio_csat(conv, &csat) == 0
        || ngx_http_crmsync_respondio_csat(root, &csat) == 0)
    {
        ev->csat = csat;
    }

    /* the closing note: category and summary, as attributes */

    n = 0;
    v = ngx_http_crmsync_json_get(conv, "category");
    n += ngx_http_crmsync_json_is_string(v) && ngx_http_crmsync_json_str_len(v);
    v = ngx_http_crmsync_json_get(conv, "summary");
    n += ngx_http_crmsync_json_is_string(v) && ngx_http_crmsync_json_str_len(v);

    if (n == 0) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    n += ev->nattrs;

    a = ngx_http_crmsync_arena_alloc(&p->arena,
                                     n * sizeof(ngx_http_crmsync_attr_t));
    if (a == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    if (ev->nattrs) {
        memcpy(a, ev->attrs, ev->nattrs * sizeof(ngx_http_crmsync_attr_t));
    }

    ev->attrs = a;

    v = ngx_http_crmsync_json_get(conv, "category");

    if (ngx_http_crmsync_json_is_string(v)
        && ngx_http_crmsync_json_str_len(v))
    {
        a[ev->nattrs].name.data = (u_char *) "closing_category";
        a[ev->nattrs].name.len = sizeof("closing_category") - 1;

        if (ngx_http_crmsync_json_string(&p->arena, &a[ev->nattrs].value,
                                         conv, "category")
            != NGX_HTTP_CRMSYNC_JSON_OK)
        {
            p->reason = "arena_full";
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

        ev->nattrs++;
    }

    v = ngx_http_crmsync_json_get(conv, "summary");

    if (ngx_http_crmsync_json_is_string(v)
        && ngx_http_crmsync_json_str_len(v))
    {
        a[ev->nattrs].name.data = (u_char *) "closing_summary";
        a[ev->nattrs].name.len = sizeof("closing_summary") - 1;

        if (ngx_http_crmsync_json_string(&p->arena, &a[ev->nattrs].value,
                                         conv, "summary")
            != NGX_HTTP_CRMSYNC_JSON_OK)
        {
            p->reason = "arena_full";
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

        ev->nattrs++;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/* a CSAT score when present: "csat": 4 or "csat": {"score": 4} */

static int
ngx_http_crmsync_respondio_csat(ngx_http_crmsync_json_t *obj, int *csat)
{
    ngx_http_crmsync_json_t  *v;

    v = ngx_http_crmsync_json_get(obj, "csat");

    if (ngx_http_crmsync_json_is_object(v)) {
        v = ngx_http_crmsync_json_get(v, "score");
    }

    if (!ngx_http_crmsync_json_is_integer(v)
        || ngx_http_crmsync_json_int(v) < 0
        || ngx_http_crmsync_json_int(v) > 100)
    {
        return -1;
    }

    *csat = (int) ngx_http_crmsync_json_int(v);

    return 0;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_respondio_attrs(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *fields)
{
    u_char                    buf[32];
    size_t                    i, n, len, vlen;
    const char               *key;
    const u_char             *s, *name;
    ngx_http_crmsync_json_t  *f, *v;
    ngx_http_crmsync_attr_t  *a;

    n = ngx_http_crmsync_json_is_array(fields)
        ? ngx_http_crmsync_json_array_size(fields)
        : ngx_http_crmsync_json_object_size(fields);

    if (n > NGX_HTTP_CRMSYNC_RESPONDIO_MAX_ATTRS) {
        n = NGX_HTTP_CRMSYNC_RESPONDIO_MAX_ATTRS;
    }

    if (n == 0) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    a = ngx_http_crmsync_arena_alloc(&p->arena,
                                     n * sizeof(ngx_http_crmsync_attr_t));
    if (a == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->attrs = a;
    ev->nattrs = 0;

    if (ngx_http_crmsync_json_is_array(fields)) {
        for (i = 0; i < n; i++) {
            f = ngx_http_crmsync_json_at(fields, i);

            v = ngx_http_crmsync_json_get(f, "value");

            if (ngx_http_crmsync_json_raw(f, "name", &name, &len)
                != NGX_HTTP_CRMSYNC_JSON_OK
                || ngx_http_crmsync_json_text(v, buf, sizeof(buf), &s,
                                              &vlen)
                   != 0)
            {
                continue;
            }

            if (ngx_http_crmsync_parse_attr(p, &a[ev->nattrs], name, len,
                                            s, vlen)
                != NGX_HTTP_CRMSYNC_PARSE_OK)
            {
                return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
            }

            ev->nattrs++;
        }

        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    ngx_http_crmsync_json_foreach(fields, key, v) {

        if (ev->nattrs == n) {
            break;
        }

        if (ngx_http_crmsync_json_text(v, buf, sizeof(buf), &s, &len)
            != 0)
        {
            continue;
        }

        if (ngx_http_crmsync_parse_attr(p, &a[ev->nattrs],
                                        (const u_char *) key, strlen(key),
                                        s, len)
            != NGX_HTTP_CRMSYNC_PARSE_OK)
        {
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

        ev->nattrs++;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/* Unix seconds, or ms when the value is past 10^11 (year 5138 in s) */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_respondio_time(ngx_http_crmsync_parse_t *p, int64_t *ms,
    ngx_http_crmsync_json_t *obj, const char *key)
{
    int                       rc;
    int64_t                   t;
    ngx_http_crmsync_json_t  *v;

    rc = ngx_http_crmsync_json_time(&t, obj, key, 1);

    if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        p->reason = "respondio_bad_time";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    v = ngx_http_crmsync_json_get(obj, key);

    if ((ngx_http_crmsync_json_is_integer(v)
         || (ngx_http_crmsync_json_is_string(v)
             && ngx_http_crmsync_json_str_len(v) <= 18))
        && t < 100000000000LL)
    {
        t *= 1000;
    }

    if (t > 0) {
        *ms = t;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * The channel a respond.io event came through, channel{id, name, source},
 * as the attribute "channel": the kind of channel its source names
 * ("whatsapp_cloud": "WhatsApp"), else the channel's own name.  Notes and
 * $crmsync_channel show it; "WhatsApp" makes communications WHATS_APP.
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_respondio_channel(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *root)
{
    int                        rc;
    size_t                     i, k, wl, last;
    ngx_http_crmsync_str_t     source, name, *value;
    ngx_http_crmsync_attr_t   *a;
    ngx_http_crmsync_json_t   *channel;

    static const struct {
        const char            *word;
        const char            *label;
    } kinds[] = {
        { "whatsapp", "WhatsApp" },
        { "360dialog", "WhatsApp" },
        { "messenger", "Messenger" },
        { "facebook", "Messenger" },
        { "instagram", "Instagram" },
        { "telegram", "Telegram" },
        { "viber", "Viber" },
        { "wechat", "WeChat" },
        { "line", "LINE" },             /* at the start only */
        { "twilio", "SMS" },
        { "sms", "SMS" },
        { "vonage", "SMS" },
        { "messagebird", "SMS" },
        { "email", "Email" },
        { "gmail", "Email" },
        { "webchat", "Website chat" },
        { "website", "Website chat" }
    };

    rc = ngx_http_crmsync_json_object(root, "channel", &channel);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "respondio_bad_channel";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (channel == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    source.len = 0;
    name.len = 0;

    if (ngx_http_crmsync_json_string(&p->arena, &source, channel, "source")
        < 0
        || ngx_http_crmsync_json_string(&p->arena, &name, channel, "name")
           < 0)
    {
        /* an odd channel only loses its label */
        source.len = 0;
        name.len = 0;
    }

    value = NULL;

    for (k = 0; value == NULL && k < sizeof(kinds) / sizeof(kinds[0]); k++)
    {
        wl = strlen(kinds[k].word);

        if (wl > source.len) {
            continue;
        }

        last = (strcmp(kinds[k].word, "line") == 0) ? 0 : source.len - wl;

        for (i = 0; i <= last; i++) {
            if (strncasecmp((const char *) source.data + i, kinds[k].word,
                            wl)
                == 0)
            {
                name.data = (u_char *) kinds[k].label;
                name.len = strlen(kinds[k].label);
                value = &name;
                break;
            }
        }
    }

    if (value == NULL) {
        value = name.len ? &name : &source;
    }

    if (value->len == 0) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    a = ngx_http_crmsync_arena_alloc(&p->arena,
                                     (ev->nattrs + 1)
                                     * sizeof(ngx_http_crmsync_attr_t));
    if (a == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    if (ev->nattrs) {
        memcpy(a, ev->attrs, ev->nattrs * sizeof(ngx_http_crmsync_attr_t));
    }

    a[ev->nattrs].name.data = (u_char *) "channel";
    a[ev->nattrs].name.len = sizeof("channel") - 1;
    a[ev->nattrs].value = *value;

    ev->attrs = a;
    ev->nattrs++;

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


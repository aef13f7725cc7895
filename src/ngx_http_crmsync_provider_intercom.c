
/*
 * Copyright (C) crmsync authors
 *
 * Intercom webhook notifications into events.
 *
 * The envelope is {"type": "notification_event", "id": "notif_...",
 * "topic": ..., "created_at": <s>, "data": {"item": {...}}}.  The item is
 * a conversation or a contact (2.x "contact", 1.x "user"/"lead").  Both
 * conversation shapes are read:
 *
 *   1.x: item.user{id, email, name}, item.assignee{type, id, email},
 *        item.conversation_message{id, body, author, attachments};
 *   2.x: item.contacts.contacts[0]{id}, item.source{id, body, author,
 *        attachments}, item.admin_assignee_id;
 *
 * and both carry conversation_parts.conversation_parts[]{id, part_type,
 * body, author, assigned_to, created_at, attachments}.  Bodies are HTML:
 * tags are stripped and the basic entities decoded.
 */


#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"


#define NGX_HTTP_CRMSYNC_INTERCOM_MAX_ATTRS  64
#define NGX_HTTP_CRMSYNC_INTERCOM_MAX_PARTS  1024


typedef enum {
    NGX_HTTP_CRMSYNC_IC_USER_CREATED = 1,   /* contact started */
    NGX_HTTP_CRMSYNC_IC_ADMIN_CREATED,      /* admin started */
    NGX_HTTP_CRMSYNC_IC_REPLIED,            /* a new comment part */
    NGX_HTTP_CRMSYNC_IC_NOTED,              /* a new note part */
    NGX_HTTP_CRMSYNC_IC_ASSIGNED,
    NGX_HTTP_CRMSYNC_IC_CLOSED,
    NGX_HTTP_CRMSYNC_IC_OPENED,
    NGX_HTTP_CRMSYNC_IC_RATING,
    NGX_HTTP_CRMSYNC_IC_CONTACT_CREATED,
    NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED
} ngx_http_crmsync_intercom_kind_e;


typedef struct {
    const char                         *topic;
    ngx_http_crmsync_intercom_kind_e    kind;
} ngx_http_crmsync_intercom_topic_t;


static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_intercom_conversation(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *root, ngx_http_crmsync_json_t *item,
    ngx_http_crmsync_intercom_kind_e kind);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_intercom_contact(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *root, ngx_http_crmsync_json_t *item);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_intercom_person(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *person, unsigned phone);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_intercom_message(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *msg);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_intercom_assignee(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *item, ngx_http_crmsync_json_t *part);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_intercom_attrs(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *attrs);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_intercom_time(
    ngx_http_crmsync_parse_t *p, int64_t *ms, ngx_http_crmsync_json_t *obj,
    const char *key);
static ngx_http_crmsync_json_t *ngx_http_crmsync_intercom_part(
    ngx_http_crmsync_json_t *item, ngx_http_crmsync_intercom_kind_e kind,
    int *bad);
static ngx_http_crmsync_author_e ngx_http_crmsync_intercom_author(
    ngx_http_crmsync_json_t *author, ngx_http_crmsync_json_t *part);
static int ngx_http_crmsync_intercom_is(ngx_http_crmsync_json_t *obj,
    const char *key, const char *value);
static int ngx_http_crmsync_intercom_html_text(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, const u_char *s, size_t len);


static ngx_http_crmsync_intercom_topic_t  ngx_http_crmsync_intercom_topics[] =
{
    { "conversation.user.created", NGX_HTTP_CRMSYNC_IC_USER_CREATED },
    { "conversation.user.replied", NGX_HTTP_CRMSYNC_IC_REPLIED },
    { "conversation.admin.replied", NGX_HTTP_CRMSYNC_IC_REPLIED },
    { "conversation.operator.replied", NGX_HTTP_CRMSYNC_IC_REPLIED },
    { "conversation.admin.single.created",
      NGX_HTTP_CRMSYNC_IC_ADMIN_CREATED },
    { "conversation.admin.noted", NGX_HTTP_CRMSYNC_IC_NOTED },
    { "conversation.admin.assigned", NGX_HTTP_CRMSYNC_IC_ASSIGNED },
    { "conversation.admin.open.assigned", NGX_HTTP_CRMSYNC_IC_ASSIGNED },
    { "conversation.admin.closed", NGX_HTTP_CRMSYNC_IC_CLOSED },
    { "conversation.admin.opened", NGX_HTTP_CRMSYNC_IC_OPENED },
    { "conversation.rating.added", NGX_HTTP_CRMSYNC_IC_RATING },
    { "contact.created", NGX_HTTP_CRMSYNC_IC_CONTACT_CREATED },
    { "contact.user.created", NGX_HTTP_CRMSYNC_IC_CONTACT_CREATED },
    { "contact.lead.created", NGX_HTTP_CRMSYNC_IC_CONTACT_CREATED },
    { "user.created", NGX_HTTP_CRMSYNC_IC_CONTACT_CREATED },
    { "contact.updated", NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED },
    { "contact.user.updated", NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED },
    { "contact.lead.updated", NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED },
    { "contact.email.updated", NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED },
    { "contact.lead.signed_up", NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED },
    { "user.updated", NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED },
    { "user.email.updated", NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED },
    { NULL, 0 }
};


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_intercom(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root)
{
    int                                 rc;
    size_t                              len, n;
    const u_char                       *topic, *id;
    ngx_http_crmsync_json_t            *data, *item;
    ngx_http_crmsync_event_t           *ev;
    ngx_http_crmsync_intercom_kind_e    kind;
    ngx_http_crmsync_intercom_topic_t  *t;

    if (!ngx_http_crmsync_json_is_object(root)) {
        p->reason = "intercom_not_object";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    rc = ngx_http_crmsync_json_raw(root, "topic", &topic, &len);
    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        p->reason = "intercom_no_topic";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (len == 4 && memcmp(topic, "ping", 4) == 0) {
        p->reason = "intercom_ping";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    kind = 0;

    for (t = ngx_http_crmsync_intercom_topics; t->topic; t++) {
        if (strlen(t->topic) == len && memcmp(t->topic, topic, len) == 0) {
            kind = t->kind;
            break;
        }
    }

    if (ngx_http_crmsync_json_object(root, "data", &data)
        != NGX_HTTP_CRMSYNC_JSON_OK
        || ngx_http_crmsync_json_object(data, "item", &item)
           != NGX_HTTP_CRMSYNC_JSON_OK)
    {
        p->reason = "intercom_no_item";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (ngx_http_crmsync_intercom_is(item, "type", "ping")) {
        p->reason = "intercom_ping";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    if (kind == 0) {
        p->reason = "intercom_topic_ignored";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    rc = ngx_http_crmsync_json_raw(root, "id", &id, &n);
    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        p->reason = "intercom_no_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    if (ngx_http_crmsync_arena_copy(&p->arena, &ev->delivery_id, id, n)
        != 0)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    if (kind == NGX_HTTP_CRMSYNC_IC_CONTACT_CREATED
        || kind == NGX_HTTP_CRMSYNC_IC_CONTACT_UPDATED)
    {
        if (!ngx_http_crmsync_intercom_is(item, "type", "contact")
            && !ngx_http_crmsync_intercom_is(item, "type", "user")
            && !ngx_http_crmsync_intercom_is(item, "type", "lead"))
        {
            p->reason = "intercom_not_contact";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        ev->type = (kind == NGX_HTTP_CRMSYNC_IC_CONTACT_CREATED)
                   ? NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED
                   : NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED;

        return ngx_http_crmsync_intercom_contact(p, ev, root, item);
    }

    if (!ngx_http_crmsync_intercom_is(item, "type", "conversation")) {
        p->reason = "intercom_not_conversation";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    return ngx_http_crmsync_intercom_conversation(p, ev, root, item, kind);
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_intercom_contact(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *root,
    ngx_http_crmsync_json_t *item)
{
    int                          rc;
    ngx_http_crmsync_json_t     *attrs;
    ngx_http_crmsync_parse_rc_e  prc;

    /* the time of the change, else of the notification */

    prc = ngx_http_crmsync_intercom_time(p, &ev->occurred_at, item,
                                         "updated_at");
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    if (ev->occurred_at == 0) {
        prc = ngx_http_crmsync_intercom_time(p, &ev->occurred_at, root,
                                             "created_at");
        if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return prc;
        }
    }

    prc = ngx_http_crmsync_intercom_person(p, ev, item, 1);
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    if (ev->identity.platform_id.len == 0) {
        p->reason = "intercom_no_contact_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    rc = ngx_http_crmsync_json_object(item, "custom_attributes", &attrs);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "intercom_bad_custom_attributes";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    return ngx_http_crmsync_intercom_attrs(p, ev, attrs);
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_intercom_conversation(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *root,
    ngx_http_crmsync_json_t *item, ngx_http_crmsync_intercom_kind_e kind)
{
    int                          rc, bad;
    ngx_http_crmsync_json_t     *user, *contacts, *list, *source, *author,
                                *msg, *part, *rating, *attrs, *cid, *v;
    ngx_http_crmsync_event_t    *mev;
    ngx_http_crmsync_parse_rc_e  prc;

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->conversation_id, item,
                                  "id");
    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        return ngx_http_crmsync_parse_fail(p, rc,
                                           "intercom_no_conversation_id");
    }

    /* time: the item's, a part's or a rating's below may refine it */

    prc = ngx_http_crmsync_intercom_time(p, &ev->occurred_at, item,
                                         "updated_at");
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    if (ev->occurred_at == 0) {
        prc = ngx_http_crmsync_intercom_time(p, &ev->occurred_at, root,
                                             "created_at");
        if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return prc;
        }
    }

    /* the contact: 1.x item.user, 2.x contacts.contacts[0] + source */

    if (ngx_http_crmsync_json_object(item, "user", &user)
        == NGX_HTTP_CRMSYNC_JSON_BADTYPE
        || ngx_http_crmsync_json_object(item, "contacts", &contacts)
           == NGX_HTTP_CRMSYNC_JSON_BADTYPE
        || ngx_http_crmsync_json_object(item, "source", &source)
           == NGX_HTTP_CRMSYNC_JSON_BADTYPE
        || ngx_http_crmsync_json_object(item, "conversation_message",
                                        &msg)
           == NGX_HTTP_CRMSYNC_JSON_BADTYPE
        || ngx_http_crmsync_json_object(item, "conversation_rating",
                                        &rating)
           == NGX_HTTP_CRMSYNC_JSON_BADTYPE
        || ngx_http_crmsync_json_object(item, "custom_attributes",
                                        &attrs)
           == NGX_HTTP_CRMSYNC_JSON_BADTYPE)
    {
        p->reason = "intercom_bad_conversation";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (msg == NULL) {
        msg = source;
    }

    if (user) {
        prc = ngx_http_crmsync_intercom_person(p, ev, user, 0);
        if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return prc;
        }
    }

    if (ev->identity.platform_id.len == 0 && contacts) {
        list = ngx_http_crmsync_json_get(contacts, "contacts");

        if (list && !ngx_http_crmsync_json_is_null(list)
            && !ngx_http_crmsync_json_is_array(list))
        {
            p->reason = "intercom_bad_contacts";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        v = ngx_http_crmsync_json_at(list, 0);

        if (v && !ngx_http_crmsync_json_is_object(v)) {
            p->reason = "intercom_bad_contacts";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        rc = ngx_http_crmsync_json_id(&p->arena, &ev->identity.platform_id,
                                      v, "id");
        if (rc < 0) {
            return ngx_http_crmsync_parse_fail(p, rc, "intercom_bad_contacts");
        }
    }

    /* 2.x: the source author is the contact when a contact started it */

    author = NULL;

    if (msg
        && ngx_http_crmsync_json_object(msg, "author", &author)
           == NGX_HTTP_CRMSYNC_JSON_BADTYPE)
    {
        p->reason = "intercom_bad_author";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (author
        && ngx_http_crmsync_intercom_author(author, NULL)
           == NGX_HTTP_CRMSYNC_AUTHOR_CONTACT)
    {
        if (ev->identity.platform_id.len == 0
            || (ev->identity.email.len == 0 && ev->first_name.len == 0))
        {
            /* fill what 1.x item.user or 2.x contacts[] left empty */

            prc = ngx_http_crmsync_intercom_person(p, ev, author, 0);
            if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
                return prc;
            }
        }
    }

    if (ev->identity.platform_id.len == 0) {
        p->reason = "intercom_no_contact";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    /* the contact's id as sent, to recognize the contact as an author */

    cid = ngx_http_crmsync_json_get(user, "id");

    if (cid == NULL || ngx_http_crmsync_json_is_null(cid)) {
        cid = ngx_http_crmsync_json_get(
                  ngx_http_crmsync_json_at(
                      ngx_http_crmsync_json_get(contacts, "contacts"), 0),
                  "id");
    }

    if (cid == NULL || ngx_http_crmsync_json_is_null(cid)) {
        cid = ngx_http_crmsync_json_get(author, "id");
    }

    prc = ngx_http_crmsync_intercom_attrs(p, ev, attrs);
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    /* the current assignee, on every conversation event */

    bad = 0;
    part = ngx_http_crmsync_intercom_part(item, kind, &bad);

    if (bad) {
        p->reason = "intercom_bad_conversation_parts";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    prc = ngx_http_crmsync_intercom_assignee(p, ev, item,
                                        kind == NGX_HTTP_CRMSYNC_IC_ASSIGNED
                                        ? part : NULL);
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    if (rating) {
        v = ngx_http_crmsync_json_get(rating, "rating");

        if (ngx_http_crmsync_json_is_integer(v)
            && ngx_http_crmsync_json_int(v) >= 0
            && ngx_http_crmsync_json_int(v) <= 100)
        {
            ev->csat = (int) ngx_http_crmsync_json_int(v);

        } else if (v && !ngx_http_crmsync_json_is_null(v)) {
            p->reason = "intercom_bad_rating";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }
    }

    switch (kind) {

    case NGX_HTTP_CRMSYNC_IC_USER_CREATED:
    case NGX_HTTP_CRMSYNC_IC_ADMIN_CREATED:

        if (msg == NULL) {
            p->reason = "intercom_no_message";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        ev->author = (kind == NGX_HTTP_CRMSYNC_IC_USER_CREATED)
                     ? NGX_HTTP_CRMSYNC_AUTHOR_CONTACT
                     : NGX_HTTP_CRMSYNC_AUTHOR_AGENT;

        if (author) {
            ev->author = ngx_http_crmsync_intercom_author(author, NULL);
        }

        return ngx_http_crmsync_intercom_message(p, ev, msg);

    case NGX_HTTP_CRMSYNC_IC_REPLIED:
    case NGX_HTTP_CRMSYNC_IC_NOTED:

        if (part == NULL) {
            p->reason = "intercom_no_part";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        prc = ngx_http_crmsync_intercom_time(p, &ev->occurred_at, part,
                                             "created_at");
        if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return prc;
        }

        v = ngx_http_crmsync_json_get(part, "author");
        ev->author = ngx_http_crmsync_intercom_author(v, part);

        if (kind == NGX_HTTP_CRMSYNC_IC_NOTED) {
            ev->author = NGX_HTTP_CRMSYNC_AUTHOR_NOTE;
        }

        if (ev->author == NGX_HTTP_CRMSYNC_AUTHOR_CONTACT
            && ngx_http_crmsync_json_equal(ngx_http_crmsync_json_get(v, "id"),
                                           cid))
        {
            /* the contact's name and email, from the reply's author */

            prc = ngx_http_crmsync_intercom_person(p, ev, v, 0);
            if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
                return prc;
            }
        }

        return ngx_http_crmsync_intercom_message(p, ev, part);

    case NGX_HTTP_CRMSYNC_IC_RATING:

        if (ev->csat < 0) {
            p->reason = "intercom_no_rating";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        ev->type = NGX_HTTP_CRMSYNC_EV_CSAT;

        prc = ngx_http_crmsync_intercom_time(p, &ev->occurred_at, rating,
                                             "created_at");
        if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return prc;
        }

        /* the remark, as plain text */

        return ngx_http_crmsync_intercom_message(p, ev, rating);

    default: /* ASSIGNED, CLOSED, OPENED */
        break;
    }

    ev->type = (kind == NGX_HTTP_CRMSYNC_IC_ASSIGNED)
               ? NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED
               : (kind == NGX_HTTP_CRMSYNC_IC_CLOSED)
                 ? NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED
                 : NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED;

    if (part == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    prc = ngx_http_crmsync_intercom_time(p, &ev->occurred_at, part,
                                         "created_at");
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    /*
     * an assignment, close or open part may carry a reply ("assign and
     * reply", "close with a message"): that reply is a message event of
     * its own, so the transcript keeps it
     */

    v = ngx_http_crmsync_json_get(part, "body");

    if (!ngx_http_crmsync_json_is_string(v)
        || ngx_http_crmsync_json_str_len(v) == 0)
    {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    mev = ngx_http_crmsync_event_add(p);
    if (mev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    *mev = *ev;

    mev->csat = -1;
    mev->author = ngx_http_crmsync_intercom_author(
                      ngx_http_crmsync_json_get(part, "author"), part);

    prc = ngx_http_crmsync_intercom_message(p, mev, part);
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    /* a delivery id of its own: "<notif id>:<part id>" */

    mev->delivery_id.data = ngx_http_crmsync_arena_alloc(&p->arena,
                                                ev->delivery_id.len + 1
                                                + mev->message_id.len);
    if (mev->delivery_id.data == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    /* either id may be absent (data NULL): memcpy() must not see NULL */

    if (ev->delivery_id.len) {
        memcpy(mev->delivery_id.data, ev->delivery_id.data,
               ev->delivery_id.len);
    }

    mev->delivery_id.data[ev->delivery_id.len] = ':';

    if (mev->message_id.len) {
        memcpy(mev->delivery_id.data + ev->delivery_id.len + 1,
               mev->message_id.data, mev->message_id.len);
    }

    mev->delivery_id.len = ev->delivery_id.len + 1 + mev->message_id.len;

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * A person: a 1.x user, a 2.x contact or a message author.  Fills the
 * platform id, email, name and, for contact items, the phone; fields
 * already set are kept.
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_intercom_person(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *person,
    unsigned phone)
{
    int            rc;
    size_t         len;
    const u_char  *s;

    if (ev->identity.platform_id.len == 0) {
        rc = ngx_http_crmsync_json_id(&p->arena, &ev->identity.platform_id,
                                      person, "id");
        if (rc < 0) {
            return ngx_http_crmsync_parse_fail(p, rc,
                                               "intercom_bad_contact_id");
        }
    }

    if (ev->identity.email.len == 0) {
        rc = ngx_http_crmsync_json_raw(person, "email", &s, &len);

        if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
            p->reason = "intercom_bad_email";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
            /* not an email: dropped, the rest of the event stands */
            (void) ngx_http_crmsync_email(&p->arena, &ev->identity.email,
                                          s, len);
        }
    }

    if (phone && ev->identity.phone.len == 0) {
        rc = ngx_http_crmsync_json_raw(person, "phone", &s, &len);

        if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
            p->reason = "intercom_bad_phone";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
            (void) ngx_http_crmsync_phone_identity(&p->arena, &ev->identity,
                                                   s, len,
                                                   p->default_region);
        }
    }

    if (ev->first_name.len == 0 && ev->last_name.len == 0) {
        rc = ngx_http_crmsync_json_raw(person, "name", &s, &len);

        if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
            p->reason = "intercom_bad_name";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        if (rc == NGX_HTTP_CRMSYNC_JSON_OK
            && ngx_http_crmsync_full_name(&p->arena, ev, s, len) != 0)
        {
            p->reason = "arena_full";
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * A message: a 1.x conversation_message, a 2.x source, a part or a
 * rating (its "remark").  Sets the message id, the plain text and the
 * attachment kinds; the type follows the author.
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_intercom_message(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *msg)
{
    int                       rc;
    size_t                    i, n, len;
    const u_char             *s, *ct;
    ngx_http_crmsync_json_t  *list, *att;

    if (ev->type != NGX_HTTP_CRMSYNC_EV_CSAT) {
        ev->type = (ev->author == NGX_HTTP_CRMSYNC_AUTHOR_CONTACT)
                   ? NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND
                   : NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND;

        rc = ngx_http_crmsync_json_id(&p->arena, &ev->message_id, msg, "id");
        if (rc < 0) {
            return ngx_http_crmsync_parse_fail(p, rc,
                                               "intercom_bad_message_id");
        }
    }

    rc = ngx_http_crmsync_json_raw(msg,
                               ev->type == NGX_HTTP_CRMSYNC_EV_CSAT
                               ? "remark" : "body",
                               &s, &len);

    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "intercom_bad_body";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK
        && ngx_http_crmsync_intercom_html_text(&p->arena, &ev->text, s, len)
           != 0)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    list = ngx_http_crmsync_json_get(msg, "attachments");

    if (list == NULL || ngx_http_crmsync_json_is_null(list)) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    if (!ngx_http_crmsync_json_is_array(list)) {
        p->reason = "intercom_bad_attachments";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    n = ngx_http_crmsync_json_array_size(list);

    for (i = 0; i < n; i++) {
        att = ngx_http_crmsync_json_at(list, i);

        if (!ngx_http_crmsync_json_is_object(att)) {
            continue;
        }

        if (ngx_http_crmsync_json_raw(att, "content_type", &ct, &len)
            != NGX_HTTP_CRMSYNC_JSON_OK)
        {
            len = 0;
        }

        if (len >= 6 && memcmp(ct, "image/", 6) == 0) {
            ev->attachments |= NGX_HTTP_CRMSYNC_ATT_IMAGE;

        } else if (len >= 6 && memcmp(ct, "audio/", 6) == 0) {
            ev->attachments |= NGX_HTTP_CRMSYNC_ATT_AUDIO;

        } else if (len >= 6 && memcmp(ct, "video/", 6) == 0) {
            ev->attachments |= NGX_HTTP_CRMSYNC_ATT_VIDEO;

        } else {
            ev->attachments |= NGX_HTTP_CRMSYNC_ATT_FILE;
        }
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * The assignee: an admin's email when Intercom gives it, else its id.
 * Sources, first found wins: the assignment part's assigned_to, the 1.x
 * item.assignee, the 2.x admin_assignee_id.  "nobody_admin", a team, 0
 * and null mean unassigned.
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_intercom_assignee(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *item,
    ngx_http_crmsync_json_t *part)
{
    int                       rc;
    ngx_http_crmsync_json_t  *who, *assignee, *v;

    assignee = NULL;

    if (ngx_http_crmsync_json_object(item, "assignee", &assignee)
        == NGX_HTTP_CRMSYNC_JSON_BADTYPE)
    {
        p->reason = "intercom_bad_assignee";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    who = NULL;

    if (part
        && ngx_http_crmsync_json_object(part, "assigned_to", &who)
           == NGX_HTTP_CRMSYNC_JSON_BADTYPE)
    {
        p->reason = "intercom_bad_assignee";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (who && !ngx_http_crmsync_intercom_is(who, "type", "admin")) {
        who = NULL;
    }

    if (assignee && !ngx_http_crmsync_intercom_is(assignee, "type", "admin"))
    {
        assignee = NULL;
    }

    if (who == NULL) {
        who = assignee;
    }

    if (who) {
        /* prefer the email, also from item.assignee for the same admin */

        rc = ngx_http_crmsync_json_string(&p->arena, &ev->assignee, who,
                                          "email");

        if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT && assignee && who != assignee
            && ngx_http_crmsync_json_equal(ngx_http_crmsync_json_get(who, "id"),
                          ngx_http_crmsync_json_get(assignee, "id")))
        {
            rc = ngx_http_crmsync_json_string(&p->arena, &ev->assignee,
                                              assignee, "email");
        }

        if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT) {
            rc = ngx_http_crmsync_json_id(&p->arena, &ev->assignee, who,
                                          "id");
        }

        if (rc < 0) {
            return ngx_http_crmsync_parse_fail(p, rc, "intercom_bad_assignee");
        }

        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    v = ngx_http_crmsync_json_get(item, "admin_assignee_id");

    if (ngx_http_crmsync_json_is_integer(v)
        && ngx_http_crmsync_json_int(v) == 0)
    {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->assignee, item,
                                  "admin_assignee_id");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "intercom_bad_assignee");
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * The part the topic is about: the last one of the matching part_type
 * (webhooks carry the new parts; a 2.x conversation may carry them all).
 */

static ngx_http_crmsync_json_t *
ngx_http_crmsync_intercom_part(ngx_http_crmsync_json_t *item,
    ngx_http_crmsync_intercom_kind_e kind, int *bad)
{
    size_t                    i, j, n, len;
    const u_char             *type;
    ngx_http_crmsync_json_t  *parts, *list, *part, *any;

    if (ngx_http_crmsync_json_object(item, "conversation_parts", &parts)
        != NGX_HTTP_CRMSYNC_JSON_OK)
    {
        *bad = (parts != NULL);
        return NULL;
    }

    list = ngx_http_crmsync_json_get(parts, "conversation_parts");

    if (list == NULL || ngx_http_crmsync_json_is_null(list)) {
        return NULL;
    }

    if (!ngx_http_crmsync_json_is_array(list)) {
        *bad = 1;
        return NULL;
    }

    n = ngx_http_crmsync_json_array_size(list);

    if (n > NGX_HTTP_CRMSYNC_INTERCOM_MAX_PARTS) {
        n = NGX_HTTP_CRMSYNC_INTERCOM_MAX_PARTS;
    }

    any = NULL;

    for (i = n; i-- > 0; /* void */) {
        part = ngx_http_crmsync_json_at(list, i);

        if (!ngx_http_crmsync_json_is_object(part)) {
            *bad = 1;
            return NULL;
        }

        if (any == NULL) {
            any = part;
        }

        if (ngx_http_crmsync_json_raw(part, "part_type", &type, &len)
            != NGX_HTTP_CRMSYNC_JSON_OK)
        {
            continue;
        }

        switch (kind) {

        case NGX_HTTP_CRMSYNC_IC_REPLIED:
            if (len == 7 && memcmp(type, "comment", 7) == 0) {
                return part;
            }
            break;

        case NGX_HTTP_CRMSYNC_IC_NOTED:
            if (len == 4 && memcmp(type, "note", 4) == 0) {
                return part;
            }
            break;

        case NGX_HTTP_CRMSYNC_IC_ASSIGNED:
            /* assignment, default_assignment, assign_and_reopen, ... */
            for (j = 0; j + 6 <= len; j++) {
                if (memcmp(type + j, "assign", 6) == 0) {
                    return part;
                }
            }
            break;

        case NGX_HTTP_CRMSYNC_IC_CLOSED:
            if (len == 5 && memcmp(type, "close", 5) == 0) {
                return part;
            }
            break;

        case NGX_HTTP_CRMSYNC_IC_OPENED:
            if (len == 4 && memcmp(type, "open", 4) == 0) {
                return part;
            }
            break;

        default:
            return NULL;
        }
    }

    /* a reply or a note of another part_type: the newest part */

    if (kind == NGX_HTTP_CRMSYNC_IC_REPLIED
        || kind == NGX_HTTP_CRMSYNC_IC_NOTED)
    {
        return any;
    }

    return NULL;
}


static ngx_http_crmsync_author_e
ngx_http_crmsync_intercom_author(ngx_http_crmsync_json_t *author,
    ngx_http_crmsync_json_t *part)
{
    if (part && ngx_http_crmsync_intercom_is(part, "part_type", "note")) {
        return NGX_HTTP_CRMSYNC_AUTHOR_NOTE;
    }

    if (ngx_http_crmsync_intercom_is(author, "type", "user")
        || ngx_http_crmsync_intercom_is(author, "type", "lead")
        || ngx_http_crmsync_intercom_is(author, "type", "contact"))
    {
        return NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;
    }

    if (ngx_http_crmsync_intercom_is(author, "type", "bot")) {
        return NGX_HTTP_CRMSYNC_AUTHOR_BOT;
    }

    if (ngx_http_crmsync_intercom_is(author, "type", "admin")
        || ngx_http_crmsync_intercom_is(author, "type", "team"))
    {
        return NGX_HTTP_CRMSYNC_AUTHOR_AGENT;
    }

    return NGX_HTTP_CRMSYNC_AUTHOR_SYSTEM;
}


/*
 * custom_attributes: scalars as text, up to
 * NGX_HTTP_CRMSYNC_INTERCOM_MAX_ATTRS; objects, arrays and nulls are left
 * out.  A "hubspot_id" or "hs_object_id" attribute also fills
 * identity.hubspot_id.
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_intercom_attrs(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *attrs)
{
    int                       n;
    u_char                    buf[32];
    size_t                    i;
    const char               *key;
    const u_char             *s;
    ngx_http_crmsync_json_t  *v;
    ngx_http_crmsync_attr_t  *a;

    if (attrs == NULL || ngx_http_crmsync_json_object_size(attrs) == 0) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    i = ngx_http_crmsync_json_object_size(attrs);

    if (i > NGX_HTTP_CRMSYNC_INTERCOM_MAX_ATTRS) {
        i = NGX_HTTP_CRMSYNC_INTERCOM_MAX_ATTRS;
    }

    a = ngx_http_crmsync_arena_alloc(&p->arena,
                                     i * sizeof(ngx_http_crmsync_attr_t));
    if (a == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->attrs = a;
    ev->nattrs = 0;

    ngx_http_crmsync_json_foreach(attrs, key, v) {

        if (ev->nattrs == i) {
            break;
        }

        if (ngx_http_crmsync_json_is_string(v)) {
            s = (const u_char *) ngx_http_crmsync_json_str(v);
            n = (int) ngx_http_crmsync_json_str_len(v);

        } else if (ngx_http_crmsync_json_is_integer(v)) {
            n = snprintf((char *) buf, sizeof(buf), "%lld",
                         (long long) ngx_http_crmsync_json_int(v));
            s = buf;

        } else if (ngx_http_crmsync_json_is_real(v)) {
            n = snprintf((char *) buf, sizeof(buf), "%.15g",
                         ngx_http_crmsync_json_real(v));
            s = buf;

        } else if (ngx_http_crmsync_json_is_boolean(v)) {
            s = (const u_char *) (ngx_http_crmsync_json_is_true(v)
                                  ? "true" : "false");
            n = ngx_http_crmsync_json_is_true(v) ? 4 : 5;

        } else {
            continue;
        }

        if (n < 0
            || (!ngx_http_crmsync_json_is_string(v)
                && (size_t) n >= sizeof(buf)))
        {
            continue;
        }

        if (ngx_http_crmsync_parse_attr(p, &a[ev->nattrs],
                                        (const u_char *) key, strlen(key),
                                        s, (size_t) n)
            != NGX_HTTP_CRMSYNC_PARSE_OK)
        {
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

        if (ev->identity.hubspot_id.len == 0
            && (strcmp(key, "hubspot_id") == 0
                || strcmp(key, "hs_object_id") == 0))
        {
            ev->identity.hubspot_id = a[ev->nattrs].value;
        }

        ev->nattrs++;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/* a time member in Unix seconds or ISO 8601; absent leaves *ms as is */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_intercom_time(ngx_http_crmsync_parse_t *p, int64_t *ms,
    ngx_http_crmsync_json_t *obj, const char *key)
{
    int      rc;
    int64_t  t;

    rc = ngx_http_crmsync_json_time(&t, obj, key, 1000);

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        if (t > 0) {
            *ms = t;
        }

        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    p->reason = "intercom_bad_time";
    return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
}


static int
ngx_http_crmsync_intercom_is(ngx_http_crmsync_json_t *obj, const char *key,
    const char *value)
{
    size_t         len;
    const u_char  *s;

    if (ngx_http_crmsync_json_raw(obj, key, &s, &len)
        != NGX_HTTP_CRMSYNC_JSON_OK)
    {
        return 0;
    }

    return len == strlen(value) && memcmp(s, value, len) == 0;
}


/*
 * HTML to plain text: tags are dropped, a block tag (p, br, div, li, ...)
 * becomes a line break, runs of white space fold into one, and &amp;
 * &lt; &gt; &quot; &#39; &apos; &nbsp; and numeric references are
 * decoded.  The text never grows, so len bytes are enough.
 */

static int
ngx_http_crmsync_intercom_html_text(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, const u_char *s, size_t len)
{
    u_char        c, *d, *start;
    size_t        i, j, k, n;
    uint32_t      cp;
    unsigned      hex, valid;
    const char   *name;

    static const struct {
        const char  *name;
        u_char       c;
    } entities[] = {
        { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
        { "apos;", '\'' }, { "nbsp;", ' ' }, { NULL, 0 }
    };

    start = ngx_http_crmsync_arena_alloc(a, len);
    if (start == NULL) {
        return -1;
    }

    d = start;
    i = 0;

    while (i < len) {
        c = s[i];

        if (c == '<') {
            /* a tag: up to '>', or the rest of the text */

            for (j = i + 1; j < len && s[j] != '>'; j++) { /* void */ }

            k = i + 1;

            if (k < len && s[k] == '/') {
                k++;
            }

            n = 0;

            while (k + n < j
                   && (((s[k + n] | 0x20) >= 'a' && (s[k + n] | 0x20) <= 'z')
                       || (s[k + n] >= '0' && s[k + n] <= '9')))
            {
                n++;
            }

            if ((n == 1 && (s[k] | 0x20) == 'p')
                || (n == 2 && (s[k] | 0x20) == 'b' && (s[k + 1] | 0x20) == 'r')
                || (n == 2 && (s[k] | 0x20) == 'l' && (s[k + 1] | 0x20) == 'i')
                || (n == 2 && (s[k] | 0x20) == 'h'
                    && s[k + 1] >= '1' && s[k + 1] <= '6')
                || (n == 3 && strncasecmp((const char *) s + k, "div", 3)
                              == 0)
                || (n == 3 && strncasecmp((const char *) s + k, "pre", 3)
                              == 0)
                || (n == 10 && strncasecmp((const char *) s + k,
                                           "blockquote", 10) == 0))
            {
                c = '\n';

            } else {
                c = 0;
            }

            i = (j < len) ? j + 1 : len;

            if (c == 0) {
                continue;
            }

        } else if (c == '&') {
            /* an entity, or a literal '&' */

            c = '&';
            i++;

            for (k = 0; entities[k].name; k++) {
                name = entities[k].name;
                n = strlen(name);

                if (len - i >= n && memcmp(s + i, name, n) == 0) {
                    c = entities[k].c;
                    i += n;
                    break;
                }
            }

            if (c == '&' && entities[k].name == NULL
                && i < len && s[i] == '#')
            {
                /* &#39; &#x27; */

                j = i + 1;
                hex = (j < len && (s[j] | 0x20) == 'x');
                j += hex;
                cp = 0;
                n = 0;
                valid = 1;

                while (j < len && n < 7) {
                    c = s[j];

                    if (c >= '0' && c <= '9') {
                        cp = cp * (hex ? 16 : 10) + (c - '0');

                    } else if (hex && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
                        cp = cp * 16 + ((c | 0x20) - 'a' + 10);

                    } else {
                        break;
                    }

                    j++;
                    n++;
                }

                if (n == 0 || j == len || s[j] != ';'
                    || cp == 0 || cp > 0x10ffff
                    || (cp >= 0xd800 && cp <= 0xdfff))
                {
                    valid = 0;
                }

                c = '&';

                if (valid) {
                    i = j + 1;

                    /* UTF-8; never longer than the reference itself */

                    if (cp < 0x80) {
                        c = (u_char) cp;

                    } else if (cp < 0x800) {
                        *d++ = (u_char) (0xc0 | (cp >> 6));
                        c = (u_char) (0x80 | (cp & 0x3f));

                    } else if (cp < 0x10000) {
                        *d++ = (u_char) (0xe0 | (cp >> 12));
                        *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
                        c = (u_char) (0x80 | (cp & 0x3f));

                    } else {
                        *d++ = (u_char) (0xf0 | (cp >> 18));
                        *d++ = (u_char) (0x80 | ((cp >> 12) & 0x3f));
                        *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
                        c = (u_char) (0x80 | (cp & 0x3f));
                    }
                }
            }

        } else {
            i++;
        }

        /* fold white space; a line break wins over a space */

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            if (d == start) {
                continue;
            }

            if (d[-1] == ' ' || d[-1] == '\n') {
                if (c == '\n') {
                    d[-1] = '\n';
                }

                continue;
            }

            if (c != '\n') {
                c = ' ';
            }
        }

        *d++ = c;
    }

    while (d > start && (d[-1] == ' ' || d[-1] == '\n')) {
        d--;
    }

    dst->len = d - start;
    dst->data = (dst->len) ? start : NULL;

    return 0;
}


/*
 * Copyright (C) crmsync authors
 *
 * Standard Webhooks deliveries into events.
 *
 * The spec fixes the envelope only: {"type": "contact.created",
 * "timestamp": "2022-11-03T20:26:10.344522Z", "data": {...}}.  The type
 * is one of ours ("message.inbound", "contact.created", ...; a few common
 * synonyms are accepted), and data is read by the field names of the
 * spec's own example ("fullName", "phoneNumber") plus their snake_case
 * and short forms:
 *
 *   data (or data.contact): id, email, phone/phoneNumber/phone_number,
 *       firstName/first_name, lastName/last_name, fullName/full_name/name,
 *       hubspot_id/hubspotId, attributes/custom_attributes{...}, and any
 *       other scalar member as a custom attribute;
 *   data.message: id, text, author, status, attachments[];
 *   data: conversation_id/conversationId/conversation.id, assignee
 *       (a string, or {email, id}), csat/score.
 *
 * The delivery id is the "webhook-id" header, which the glue fills in;
 * a body "id" member, when present, is used instead.
 */


#include <stdio.h>
#include <string.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"


#define NGX_HTTP_CRMSYNC_STANDARD_MAX_ATTRS  64

/* for ngx_http_crmsync_standard_get(): a string or an integer */
#define NGX_HTTP_CRMSYNC_STANDARD_ID         -1


typedef struct {
    const char                     *name;
    ngx_http_crmsync_event_type_e   type;
} ngx_http_crmsync_standard_type_t;


static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_standard_contact(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *contact);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_standard_message(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *msg);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_standard_attrs(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *contact, ngx_http_crmsync_json_t *extra);
static int ngx_http_crmsync_standard_known(const char *key);
static int ngx_http_crmsync_standard_get(ngx_http_crmsync_json_t *obj,
    const char **keys, int type, ngx_http_crmsync_json_t **v);
static int ngx_http_crmsync_standard_copy(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *v);


static ngx_http_crmsync_standard_type_t  ngx_http_crmsync_standard_types[] =
{
    { "message.inbound", NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND },
    { "message.received", NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND },
    { "message.outbound", NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND },
    { "message.sent", NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND },
    { "message.status", NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS },
    { "conversation.opened", NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED },
    { "conversation.created", NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED },
    { "conversation.closed", NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED },
    { "conversation.assigned", NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED },
    { "contact.created", NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED },
    { "contact.updated", NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED },
    { "csat", NGX_HTTP_CRMSYNC_EV_CSAT },
    { "csat.submitted", NGX_HTTP_CRMSYNC_EV_CSAT },
    { NULL, 0 }
};


static const char  *ngx_http_crmsync_standard_k_email[] = { "email", NULL };
static const char  *ngx_http_crmsync_standard_k_phone[] = {
    "phone", "phoneNumber", "phone_number", NULL
};
static const char  *ngx_http_crmsync_standard_k_first[] = {
    "firstName", "first_name", NULL
};
static const char  *ngx_http_crmsync_standard_k_last[] = {
    "lastName", "last_name", NULL
};
static const char  *ngx_http_crmsync_standard_k_full[] = {
    "fullName", "full_name", "name", NULL
};
static const char  *ngx_http_crmsync_standard_k_hubspot[] = {
    "hubspot_id", "hubspotId", NULL
};
static const char  *ngx_http_crmsync_standard_k_attrs[] = {
    "attributes", "custom_attributes", "customAttributes", NULL
};
static const char  *ngx_http_crmsync_standard_k_conv[] = {
    "conversation_id", "conversationId", NULL
};
static const char  *ngx_http_crmsync_standard_k_csat[] = {
    "csat", "score", NULL
};


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_standard(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root)
{
    int                                rc;
    size_t                             len;
    const char                        *name;
    ngx_http_crmsync_json_t           *data, *contact, *msg, *v;
    ngx_http_crmsync_event_t          *ev;
    ngx_http_crmsync_parse_rc_e        prc;
    ngx_http_crmsync_standard_type_t  *t;

    if (!ngx_http_crmsync_json_is_object(root)) {
        p->reason = "standard_not_object";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    v = ngx_http_crmsync_json_get(root, "type");

    if (!ngx_http_crmsync_json_is_string(v)
        || ngx_http_crmsync_json_str_len(v) == 0)
    {
        p->reason = "standard_no_type";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    name = ngx_http_crmsync_json_str(v);
    len = ngx_http_crmsync_json_str_len(v);

    for (t = ngx_http_crmsync_standard_types; t->name; t++) {
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0) {
            break;
        }
    }

    if (t->name == NULL) {
        p->reason = "standard_type_ignored";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    data = ngx_http_crmsync_json_get(root, "data");

    if (!ngx_http_crmsync_json_is_object(data)) {
        p->reason = "standard_no_data";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->type = t->type;

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->delivery_id, root, "id");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_id");
    }

    /* the spec's timestamp is RFC 3339; Unix seconds are accepted too */

    rc = ngx_http_crmsync_json_time(&ev->occurred_at, root, "timestamp",
                                    1000);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "standard_bad_timestamp";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    /* the contact: data.contact, else data itself */

    contact = ngx_http_crmsync_json_get(data, "contact");

    if (contact != NULL && !ngx_http_crmsync_json_is_null(contact)) {
        if (!ngx_http_crmsync_json_is_object(contact)) {
            p->reason = "standard_bad_contact";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

    } else if (ev->type == NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED
               || ev->type == NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED)
    {
        contact = data;

    } else {
        contact = NULL;
    }

    if (contact) {
        prc = ngx_http_crmsync_standard_contact(p, ev, contact);
        if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return prc;
        }
    }

    if (ev->type == NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED
        || ev->type == NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED)
    {
        if (ev->identity.platform_id.len == 0
            && ev->identity.email.len == 0
            && ev->identity.phone.len == 0
            && ev->identity.hubspot_id.len == 0)
        {
            p->reason = "standard_no_contact_id";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        if (contact == data) {
            return NGX_HTTP_CRMSYNC_PARSE_OK;
        }
    }

    /* conversation and message events */

    rc = ngx_http_crmsync_standard_get(data, ngx_http_crmsync_standard_k_conv,
                                       NGX_HTTP_CRMSYNC_STANDARD_ID, &v);
    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        rc = ngx_http_crmsync_standard_copy(p, &ev->conversation_id, v);

    } else if (ngx_http_crmsync_json_is_object(
                   ngx_http_crmsync_json_get(data, "conversation")))
    {
        rc = ngx_http_crmsync_json_id(
                 &p->arena, &ev->conversation_id,
                 ngx_http_crmsync_json_get(data, "conversation"), "id");
    }

    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc,
                                           "standard_bad_conversation_id");
    }

    v = ngx_http_crmsync_json_get(data, "assignee");

    if (ngx_http_crmsync_json_is_string(v)) {
        rc = ngx_http_crmsync_json_string(&p->arena, &ev->assignee, data,
                                          "assignee");

    } else if (ngx_http_crmsync_json_is_object(v)) {
        rc = ngx_http_crmsync_json_string(&p->arena, &ev->assignee, v,
                                          "email");
        if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT) {
            rc = ngx_http_crmsync_json_id(&p->arena, &ev->assignee, v, "id");
        }

    } else if (v != NULL && !ngx_http_crmsync_json_is_null(v)) {
        rc = NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_assignee");
    }

    rc = ngx_http_crmsync_standard_get(data, ngx_http_crmsync_standard_k_csat,
                                       NGX_HTTP_CRMSYNC_JSON_INTEGER, &v);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE
        || (rc == NGX_HTTP_CRMSYNC_JSON_OK
            && (ngx_http_crmsync_json_int(v) < 0
                || ngx_http_crmsync_json_int(v) > 100)))
    {
        p->reason = "standard_bad_csat";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        ev->csat = (int) ngx_http_crmsync_json_int(v);
    }

    if (ev->type == NGX_HTTP_CRMSYNC_EV_CSAT && ev->csat < 0) {
        p->reason = "standard_no_csat";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (ev->type != NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND
        && ev->type != NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND
        && ev->type != NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS)
    {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    msg = ngx_http_crmsync_json_get(data, "message");

    if (!ngx_http_crmsync_json_is_object(msg)) {
        p->reason = "standard_no_message";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    return ngx_http_crmsync_standard_message(p, ev, msg);
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_standard_contact(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *contact)
{
    int                       rc;
    ngx_http_crmsync_json_t  *v, *extra;

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->identity.platform_id,
                                  contact, "id");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_id");
    }

    rc = ngx_http_crmsync_standard_get(contact,
                                       ngx_http_crmsync_standard_k_email,
                                       NGX_HTTP_CRMSYNC_JSON_STRING, &v);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "standard_bad_email";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        (void) ngx_http_crmsync_email(
                   &p->arena, &ev->identity.email,
                   (const u_char *) ngx_http_crmsync_json_str(v),
                   ngx_http_crmsync_json_str_len(v));
    }

    rc = ngx_http_crmsync_standard_get(contact,
                                       ngx_http_crmsync_standard_k_phone,
                                       NGX_HTTP_CRMSYNC_JSON_STRING, &v);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "standard_bad_phone";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        (void) ngx_http_crmsync_phone_identity(
                   &p->arena, &ev->identity,
                   (const u_char *) ngx_http_crmsync_json_str(v),
                   ngx_http_crmsync_json_str_len(v), p->default_region);
    }

    rc = ngx_http_crmsync_standard_get(contact,
                                       ngx_http_crmsync_standard_k_hubspot,
                                       NGX_HTTP_CRMSYNC_STANDARD_ID, &v);
    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        rc = ngx_http_crmsync_standard_copy(p, &ev->identity.hubspot_id, v);
    }

    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_hubspot_id");
    }

    /* the name: first and last, else a full name split */

    rc = ngx_http_crmsync_standard_get(contact,
                                       ngx_http_crmsync_standard_k_first,
                                       NGX_HTTP_CRMSYNC_JSON_STRING, &v);
    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        rc = ngx_http_crmsync_standard_copy(p, &ev->first_name, v);
    }

    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_name");
    }

    rc = ngx_http_crmsync_standard_get(contact,
                                       ngx_http_crmsync_standard_k_last,
                                       NGX_HTTP_CRMSYNC_JSON_STRING, &v);
    if (rc == NGX_HTTP_CRMSYNC_JSON_OK) {
        rc = ngx_http_crmsync_standard_copy(p, &ev->last_name, v);
    }

    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_name");
    }

    rc = ngx_http_crmsync_standard_get(contact,
                                       ngx_http_crmsync_standard_k_full,
                                       NGX_HTTP_CRMSYNC_JSON_STRING, &v);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "standard_bad_name";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (rc == NGX_HTTP_CRMSYNC_JSON_OK
        && ev->first_name.len == 0 && ev->last_name.len == 0
        && ngx_http_crmsync_full_name(
               &p->arena, ev, (const u_char *) ngx_http_crmsync_json_str(v),
               ngx_http_crmsync_json_str_len(v))
           != 0)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    rc = ngx_http_crmsync_standard_get(contact,
                                       ngx_http_crmsync_standard_k_attrs,
                                       NGX_HTTP_CRMSYNC_JSON_OBJECT, &extra);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "standard_bad_attributes";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    return ngx_http_crmsync_standard_attrs(p, ev, contact, extra);
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_standard_message(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *msg)
{
    int                       rc;
    size_t                    i, n, len;
    const char               *s;
    ngx_http_crmsync_json_t  *list, *att, *v;

    static const struct {
        const char  *name;
        unsigned     kind;
    } kinds[] = {
        { "image", NGX_HTTP_CRMSYNC_ATT_IMAGE },
        { "audio", NGX_HTTP_CRMSYNC_ATT_AUDIO },
        { "voice", NGX_HTTP_CRMSYNC_ATT_AUDIO },
        { "video", NGX_HTTP_CRMSYNC_ATT_VIDEO },
        { "file", NGX_HTTP_CRMSYNC_ATT_FILE },
        { "document", NGX_HTTP_CRMSYNC_ATT_FILE },
        { "location", NGX_HTTP_CRMSYNC_ATT_LOCATION },
        { "sticker", NGX_HTTP_CRMSYNC_ATT_STICKER },
        { "contact", NGX_HTTP_CRMSYNC_ATT_CONTACT },
        { NULL, 0 }
    };

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->message_id, msg, "id");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_message_id");
    }

    rc = ngx_http_crmsync_json_string(&p->arena, &ev->text, msg, "text");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_text");
    }

    rc = ngx_http_crmsync_json_string(&p->arena, &ev->status, msg, "status");
    if (rc < 0) {
        return ngx_http_crmsync_parse_fail(p, rc, "standard_bad_status");
    }

    if (ev->type == NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS
        && (ev->message_id.len == 0 || ev->status.len == 0))
    {
        p->reason = "standard_no_status";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    /* the author: one of our names; by default the direction's */

    if (ev->type == NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND) {
        ev->author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;

    } else if (ev->type == NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND) {
        ev->author = NGX_HTTP_CRMSYNC_AUTHOR_AGENT;
    }

    v = ngx_http_crmsync_json_get(msg, "author");

    if (ngx_http_crmsync_json_is_string(v)) {
        s = ngx_http_crmsync_json_str(v);
        len = ngx_http_crmsync_json_str_len(v);

        for (i = 1; ngx_http_crmsync_author_names[i]; i++) {
            if (strlen(ngx_http_crmsync_author_names[i]) == len
                && memcmp(ngx_http_crmsync_author_names[i], s, len) == 0)
            {
                ev->author = (ngx_http_crmsync_author_e) i;
                break;
            }
        }

    } else if (v != NULL && !ngx_http_crmsync_json_is_null(v)) {
        p->reason = "standard_bad_author";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    list = ngx_http_crmsync_json_get(msg, "attachments");

    if (list == NULL || ngx_http_crmsync_json_is_null(list)) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    if (!ngx_http_crmsync_json_is_array(list)) {
        p->reason = "standard_bad_attachments";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    n = ngx_http_crmsync_json_array_size(list);

    for (i = 0; i < n; i++) {
        att = ngx_http_crmsync_json_at(list, i);

        /* "image" or {"type": "image", ...} */

        v = ngx_http_crmsync_json_is_object(att)
            ? ngx_http_crmsync_json_get(att, "type") : att;

        if (!ngx_http_crmsync_json_is_string(v)) {
            ev->attachments |= NGX_HTTP_CRMSYNC_ATT_OTHER;
            continue;
        }

        s = ngx_http_crmsync_json_str(v);
        len = ngx_http_crmsync_json_str_len(v);

        for (rc = 0; kinds[rc].name; rc++) {
            if (strlen(kinds[rc].name) == len
                && memcmp(kinds[rc].name, s, len) == 0)
            {
                break;
            }
        }

        ev->attachments |= kinds[rc].name ? kinds[rc].kind
                                          : NGX_HTTP_CRMSYNC_ATT_OTHER;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * Custom attributes: the members of an attributes object, then the other
 * scalar members of the contact ("address", "birthday", ...), up to
 * NGX_HTTP_CRMSYNC_STANDARD_MAX_ATTRS.
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_standard_attrs(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *contact,
    ngx_http_crmsync_json_t *extra)
{
    u_char                    buf[32];
    size_t                    n, len, pass;
    const char               *key;
    const u_char             *s;
    ngx_http_crmsync_json_t  *obj, *v;
    ngx_http_crmsync_attr_t  *a;

    n = ngx_http_crmsync_json_object_size(contact)
        + (extra ? ngx_http_crmsync_json_object_size(extra) : 0);

    if (n > NGX_HTTP_CRMSYNC_STANDARD_MAX_ATTRS) {
        n = NGX_HTTP_CRMSYNC_STANDARD_MAX_ATTRS;
    }

    a = NULL;

    for (pass = 0; pass < 2; pass++) {
        obj = (pass == 0) ? extra : contact;

        if (obj == NULL) {
            continue;
        }

        ngx_http_crmsync_json_foreach(obj, key, v) {

            if (ev->nattrs == n) {
                return NGX_HTTP_CRMSYNC_PARSE_OK;
            }

            if ((pass == 1 && ngx_http_crmsync_standard_known(key))
                || ngx_http_crmsync_json_text(v, buf, sizeof(buf), &s,
                                              &len)
                   != 0)
            {
                continue;
            }

            if (a == NULL) {
                a = ngx_http_crmsync_arena_alloc(&p->arena,
                                        n * sizeof(ngx_http_crmsync_attr_t));
                if (a == NULL) {
                    p->reason = "arena_full";
                    return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
                }

                ev->attrs = a;
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
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/* members read into the event itself, not custom attributes */

static int
ngx_http_crmsync_standard_known(const char *key)
{
    const char  **k;

    static const char  *known[] = {
        "id", "type", "email", "phone", "phoneNumber", "phone_number",
        "firstName", "first_name", "lastName", "last_name", "fullName",
        "full_name", "name", "hubspot_id", "hubspotId", "attributes",
        "custom_attributes", "customAttributes", NULL
    };

    for (k = known; *k; k++) {
        if (strcmp(*k, key) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The first present member of keys: OK (*v set), ABSENT (missing, null,
 * "") or BADTYPE (not of the json_type type, or not a string or an
 * integer for NGX_HTTP_CRMSYNC_STANDARD_ID)
 */

static int
ngx_http_crmsync_standard_get(ngx_http_crmsync_json_t *obj, const char **keys,
    int type, ngx_http_crmsync_json_t **v)
{
    ngx_http_crmsync_json_t  *m;

    *v = NULL;

    for ( /* void */ ; *keys; keys++) {
        m = ngx_http_crmsync_json_get(obj, *keys);

        if (m == NULL || ngx_http_crmsync_json_is_null(m)
            || (ngx_http_crmsync_json_is_string(m)
                && ngx_http_crmsync_json_str_len(m) == 0))
        {
            continue;
        }

        if (type == NGX_HTTP_CRMSYNC_STANDARD_ID) {
            if (!ngx_http_crmsync_json_is_string(m)
                && !ngx_http_crmsync_json_is_integer(m))
            {
                return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
            }

        } else if ((int) m->type != type) {
            return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
        }

        *v = m;
        return NGX_HTTP_CRMSYNC_JSON_OK;
    }

    return NGX_HTTP_CRMSYNC_JSON_ABSENT;
}


/* a string, or an integer in decimal, into the arena: OK or NOMEM */

static int
ngx_http_crmsync_standard_copy(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *v)
{
    int            n;
    u_char         buf[24];
    const u_char  *s;

    if (ngx_http_crmsync_json_is_string(v)) {
        s = (const u_char *) ngx_http_crmsync_json_str(v);
        n = (int) ngx_http_crmsync_json_str_len(v);

    } else {
        n = snprintf((char *) buf, sizeof(buf), "%lld",
                     (long long) ngx_http_crmsync_json_int(v));
        s = buf;
    }

    if (ngx_http_crmsync_arena_copy(&p->arena, dst, s, (size_t) n) != 0) {
        return NGX_HTTP_CRMSYNC_JSON_NOMEM;
    }

    return NGX_HTTP_CRMSYNC_JSON_OK;
}


/*
 * Copyright (C) crmsync authors
 *
 * Meta Graph webhooks: WhatsApp Cloud API (object
 * "whatsapp_business_account", entry[].changes[].value), Messenger
 * (object "page") and Instagram messaging (object "instagram",
 * entry[].messaging[]).
 */


#include <string.h>
#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"


/*
 * contacts[] of one change, read once: the first
 * NGX_HTTP_CRMSYNC_WA_CONTACTS (a change carries one per sender), so that
 * matching a message to its contact is bounded work, and each name is
 * copied once however many messages use it
 */
#define NGX_HTTP_CRMSYNC_WA_CONTACTS  32

typedef struct {
    ngx_http_crmsync_json_t        *wa_id;
    ngx_http_crmsync_json_t        *name;        /* profile.name or NULL */
    ngx_http_crmsync_str_t          first_name;
    ngx_http_crmsync_str_t          last_name;
    unsigned                        copied:1;
} ngx_http_crmsync_wa_contact_t;


typedef struct {
    ngx_http_crmsync_parse_t       *p;
    const char                     *skip;        /* why one was skipped */
    size_t                          ncontacts;
    ngx_http_crmsync_wa_contact_t   contacts[NGX_HTTP_CRMSYNC_WA_CONTACTS];
} ngx_http_crmsync_wa_ctx_t;


typedef struct {
    const char                     *name;
    unsigned                        att;
} ngx_http_crmsync_meta_kind_t;


#define ngx_http_crmsync_fb_reason(p, s)                                     \
    ((p)->provider == NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM                    \
     ? "instagram_" s : "messenger_" s)


static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_meta_time(
    ngx_http_crmsync_parse_t *p, int64_t *ms, ngx_http_crmsync_json_t *obj,
    const char *key, int64_t unit, const char *bad);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_meta_status_id(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *id, ngx_http_crmsync_json_t *status,
    const char *bad);
static unsigned ngx_http_crmsync_meta_kind(
    const ngx_http_crmsync_meta_kind_t *kinds, const char *type);

static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_wa_change(
    ngx_http_crmsync_wa_ctx_t *ctx, ngx_http_crmsync_json_t *change);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_wa_message(
    ngx_http_crmsync_wa_ctx_t *ctx, ngx_http_crmsync_json_t *msg,
    ngx_http_crmsync_json_t *business, unsigned echo);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_wa_status(
    ngx_http_crmsync_wa_ctx_t *ctx, ngx_http_crmsync_json_t *st);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_wa_name(
    ngx_http_crmsync_wa_ctx_t *ctx, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *wa_id);

static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_meta_messaging(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *root,
    const char *object);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_meta_item(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *item,
    int64_t entry_time, const char **skip);


/* WhatsApp message types; text-like types are read separately */
static const ngx_http_crmsync_meta_kind_t  ngx_http_crmsync_wa_kinds[] = {
    { "text",         0 },
    { "interactive",  0 },
    { "button",       0 },
    { "system",       0 },
    { "image",        NGX_HTTP_CRMSYNC_ATT_IMAGE },
    { "audio",        NGX_HTTP_CRMSYNC_ATT_AUDIO },
    { "voice",        NGX_HTTP_CRMSYNC_ATT_AUDIO },
    { "video",        NGX_HTTP_CRMSYNC_ATT_VIDEO },
    { "document",     NGX_HTTP_CRMSYNC_ATT_FILE },
    { "location",     NGX_HTTP_CRMSYNC_ATT_LOCATION },
    { "sticker",      NGX_HTTP_CRMSYNC_ATT_STICKER },
    { "contacts",     NGX_HTTP_CRMSYNC_ATT_CONTACT },
    { NULL,           NGX_HTTP_CRMSYNC_ATT_OTHER }
};


/* Messenger and Instagram attachment types */
static const ngx_http_crmsync_meta_kind_t  ngx_http_crmsync_fb_kinds[] = {
    { "image",        NGX_HTTP_CRMSYNC_ATT_IMAGE },
    { "audio",        NGX_HTTP_CRMSYNC_ATT_AUDIO },
    { "video",        NGX_HTTP_CRMSYNC_ATT_VIDEO },
    { "ig_reel",      NGX_HTTP_CRMSYNC_ATT_VIDEO },
    { "reel",         NGX_HTTP_CRMSYNC_ATT_VIDEO },
    { "file",         NGX_HTTP_CRMSYNC_ATT_FILE },
    { "location",     NGX_HTTP_CRMSYNC_ATT_LOCATION },
    { "sticker",      NGX_HTTP_CRMSYNC_ATT_STICKER },
    { NULL,           NGX_HTTP_CRMSYNC_ATT_OTHER }
};


/* helpers */


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_meta_time(ngx_http_crmsync_parse_t *p, int64_t *ms,
    ngx_http_crmsync_json_t *obj, const char *key, int64_t unit,
    const char *bad)
{
    if (ngx_http_crmsync_json_time(ms, obj, key, unit)
        == NGX_HTTP_CRMSYNC_JSON_BADTYPE)
    {
        p->reason = bad;
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * a status event: delivery_id "<id>:<status>", with message_id and status
 * pointing into it, one copy
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_meta_status_id(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *id,
    ngx_http_crmsync_json_t *status, const char *bad)
{
    u_char  *d;
    size_t   n, m;

    if (!ngx_http_crmsync_json_is_string(id)
        || ngx_http_crmsync_json_str_len(id) == 0
        || !ngx_http_crmsync_json_is_string(status)
        || ngx_http_crmsync_json_str_len(status) == 0)
    {
        p->reason = bad;
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    n = ngx_http_crmsync_json_str_len(id);
    m = ngx_http_crmsync_json_str_len(status);

    d = ngx_http_crmsync_arena_alloc(&p->arena, n + 1 + m);
    if (d == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    memcpy(d, ngx_http_crmsync_json_str(id), n);
    d[n] = ':';
    memcpy(d + n + 1, ngx_http_crmsync_json_str(status), m);

    ev->delivery_id.len = n + 1 + m;
    ev->delivery_id.data = d;
    ev->message_id.len = n;
    ev->message_id.data = d;
    ev->status.len = m;
    ev->status.data = d + n + 1;

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static unsigned
ngx_http_crmsync_meta_kind(const ngx_http_crmsync_meta_kind_t *kinds,
    const char *type)
{
    for ( /* void */ ; kinds->name; kinds++) {
        if (type && strcmp(kinds->name, type) == 0) {
            return kinds->att;
        }
    }

    return kinds->att;
}


/* WhatsApp Cloud API */


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_whatsapp(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root)
{
    size_t                       i, j;
    ngx_http_crmsync_json_t     *v, *entry, *changes;
    ngx_http_crmsync_wa_ctx_t    ctx;
    ngx_http_crmsync_parse_rc_e  rc;

    v = ngx_http_crmsync_json_get(root, "object");

    if (v != NULL
        && (!ngx_http_crmsync_json_is_string(v)
            || strcmp(ngx_http_crmsync_json_str(v), "whatsapp_business_account")
               != 0))
    {
        p->reason = "whatsapp_wrong_object";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    entry = ngx_http_crmsync_json_get(root, "entry");

    if (!ngx_http_crmsync_json_is_array(entry)) {
        p->reason = "whatsapp_no_entry";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    memset(&ctx, 0, sizeof(ngx_http_crmsync_wa_ctx_t));
    ctx.p = p;
    ctx.skip = "whatsapp_no_messages";

    for (i = 0; i < ngx_http_crmsync_json_array_size(entry); i++) {
        v = ngx_http_crmsync_json_at(entry, i);
        changes = ngx_http_crmsync_json_get(v, "changes");

        if (!ngx_http_crmsync_json_is_object(v)
            || !ngx_http_crmsync_json_is_array(changes))
        {
            p->reason = "whatsapp_no_changes";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        for (j = 0; j < ngx_http_crmsync_json_array_size(changes); j++) {
            rc = ngx_http_crmsync_wa_change(
                     &ctx, ngx_http_crmsync_json_at(changes, j));
            if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
                return rc;
            }
        }
    }

    if (p->nevents == 0) {
        p->reason = ctx.skip;
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_wa_change(ngx_http_crmsync_wa_ctx_t *ctx,
    ngx_http_crmsync_json_t *change)
{
    size_t                       i;
    const char                  *f;
    ngx_http_crmsync_json_t     *field, *value, *a, *business, *c, *id;
    ngx_http_crmsync_json_t     *name;
    ngx_http_crmsync_parse_t    *p;
    ngx_http_crmsync_parse_rc_e  rc;

    p = ctx->p;

    field = ngx_http_crmsync_json_get(change, "field");
    value = ngx_http_crmsync_json_get(change, "value");

    if (!ngx_http_crmsync_json_is_object(change)
        || !ngx_http_crmsync_json_is_string(field))
    {
        p->reason = "whatsapp_bad_change";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    f = ngx_http_crmsync_json_str(field);

    if (strcmp(f, "messages") != 0 && strcmp(f, "smb_message_echoes") != 0) {
        /* account, template, quality, ... updates: not a conversation */
        ctx->skip = "whatsapp_not_messages";
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    if (!ngx_http_crmsync_json_is_object(value)) {
        p->reason = "whatsapp_no_value";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    a = ngx_http_crmsync_json_get(value, "contacts");

    if (a != NULL && !ngx_http_crmsync_json_is_array(a)) {
        p->reason = "whatsapp_bad_contacts";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ctx->ncontacts = 0;

    for (i = 0; i < ngx_http_crmsync_json_array_size(a); i++) {
        if (ctx->ncontacts == NGX_HTTP_CRMSYNC_WA_CONTACTS) {
            break;
        }

        c = ngx_http_crmsync_json_at(a, i);
        name = ngx_http_crmsync_json_get(
                   ngx_http_crmsync_json_get(c, "profile"), "name");

        if (name != NULL && !ngx_http_crmsync_json_is_string(name)) {
            p->reason = "whatsapp_bad_profile_name";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        id = ngx_http_crmsync_json_get(c, "wa_id");

        if (!ngx_http_crmsync_json_is_string(id)) {
            continue;
        }

        ctx->contacts[ctx->ncontacts].wa_id = id;
        ctx->contacts[ctx->ncontacts].name = name;
        ctx->contacts[ctx->ncontacts].copied = 0;
        ctx->ncontacts++;
    }

    /* the business's own number, to tell its messages from the contact's */

    business = ngx_http_crmsync_json_get(
                   ngx_http_crmsync_json_get(value, "metadata"),
                   "display_phone_number");

    a = ngx_http_crmsync_json_get(value, "messages");

    if (a != NULL && !ngx_http_crmsync_json_is_array(a)) {
        p->reason = "whatsapp_bad_messages";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    for (i = 0; i < ngx_http_crmsync_json_array_size(a); i++) {
        rc = ngx_http_crmsync_wa_message(ctx, ngx_http_crmsync_json_at(a, i),
                                         business, 0);
        if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return rc;
        }
    }

    /* coexistence: messages the business sent from the WhatsApp app */

    a = ngx_http_crmsync_json_get(value, "message_echoes");

    if (a != NULL && !ngx_http_crmsync_json_is_array(a)) {
        p->reason = "whatsapp_bad_message_echoes";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    for (i = 0; i < ngx_http_crmsync_json_array_size(a); i++) {
        rc = ngx_http_crmsync_wa_message(ctx, ngx_http_crmsync_json_at(a, i),
                                         business, 1);
        if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return rc;
        }
    }

    a = ngx_http_crmsync_json_get(value, "statuses");

    if (a != NULL && !ngx_http_crmsync_json_is_array(a)) {
        p->reason = "whatsapp_bad_statuses";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    for (i = 0; i < ngx_http_crmsync_json_array_size(a); i++) {
        rc = ngx_http_crmsync_wa_status(ctx, ngx_http_crmsync_json_at(a, i));
        if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return rc;
        }
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_wa_message(ngx_http_crmsync_wa_ctx_t *ctx,
    ngx_http_crmsync_json_t *msg, ngx_http_crmsync_json_t *business,
    unsigned echo)
{
    const char                   *t;
    ngx_http_crmsync_json_t      *from, *to, *id, *type, *o, *contact;
    ngx_http_crmsync_parse_t     *p;
    ngx_http_crmsync_event_t     *ev;
    ngx_http_crmsync_parse_rc_e   rc;

    p = ctx->p;

    if (!ngx_http_crmsync_json_is_object(msg)) {
        p->reason = "whatsapp_bad_message";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    from = ngx_http_crmsync_json_get(msg, "from");
    to = ngx_http_crmsync_json_get(msg, "to");
    id = ngx_http_crmsync_json_get(msg, "id");
    type = ngx_http_crmsync_json_get(msg, "type");

    if (!ngx_http_crmsync_json_is_string(from)
        || ngx_http_crmsync_json_str_len(from) == 0)
    {
        p->reason = "whatsapp_no_from";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (!ngx_http_crmsync_json_is_string(id)
        || ngx_http_crmsync_json_str_len(id) == 0)
    {
        p->reason = "whatsapp_no_message_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (type != NULL && !ngx_http_crmsync_json_is_string(type)) {
        p->reason = "whatsapp_bad_type";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    /* sent by the business: an echo, or "from" is the business number */

    if (!echo && ngx_http_crmsync_json_is_string(business)
        && ngx_http_crmsync_json_is_string(to)
        && strcmp(ngx_http_crmsync_json_str(business),
                  ngx_http_crmsync_json_str(from))
           == 0)
    {
        echo = 1;
    }

    if (echo) {
        if (!ngx_http_crmsync_json_is_string(to)
            || ngx_http_crmsync_json_str_len(to) == 0)
        {
            p->reason = "whatsapp_no_to";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        contact = to;

    } else {
        contact = from;
    }

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    if (echo) {
        ev->type = NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND;
        ev->author = NGX_HTTP_CRMSYNC_AUTHOR_AGENT;

    } else {
        ev->type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND;
        ev->author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;
    }

    if (ngx_http_crmsync_arena_copy(&p->arena, &ev->delivery_id,
                                    (u_char *) ngx_http_crmsync_json_str(id),
                                    ngx_http_crmsync_json_str_len(id))
        != 0)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->message_id = ev->delivery_id;

    rc = ngx_http_crmsync_meta_time(p, &ev->occurred_at, msg, "timestamp",
                                    1000, "whatsapp_bad_timestamp");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    /* a wa_id that is not a number is kept nowhere: no identity then */

    (void) ngx_http_crmsync_whatsapp_identity(
               &p->arena, &ev->identity,
               (u_char *) ngx_http_crmsync_json_str(contact),
               ngx_http_crmsync_json_str_len(contact));

    if (!echo) {
        rc = ngx_http_crmsync_wa_name(ctx, ev, contact);
        if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return rc;
        }
    }

    t = ngx_http_crmsync_json_is_string(type)
        ? ngx_http_crmsync_json_str(type) : "text";
    ev->attachments = ngx_http_crmsync_meta_kind(ngx_http_crmsync_wa_kinds, t);

    /*
     * the type's own member: "text": {"body": ...}, "image": {...},
     * "contacts": [...]
     */

    o = ngx_http_crmsync_json_get(msg, t);

    if (o != NULL && !ngx_http_crmsync_json_is_object(o)
        && !ngx_http_crmsync_json_is_array(o))
    {
        p->reason = "whatsapp_bad_message_body";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (strcmp(t, "text") == 0) {
        o = ngx_http_crmsync_json_get(msg, "text");
        return ngx_http_crmsync_parse_string(p, &ev->text, o, "body",
                                             "whatsapp_bad_text");
    }

    if (strcmp(t, "image") == 0 || strcmp(t, "video") == 0
        || strcmp(t, "document") == 0)
    {
        o = ngx_http_crmsync_json_get(msg, t);
        return ngx_http_crmsync_parse_string(p, &ev->text, o, "caption",
                                             "whatsapp_bad_caption");
    }

    if (strcmp(t, "button") == 0) {
        o = ngx_http_crmsync_json_get(msg, "button");
        return ngx_http_crmsync_parse_string(p, &ev->text, o, "text",
                                             "whatsapp_bad_button");
    }

    if (strcmp(t, "interactive") == 0) {
        o = ngx_http_crmsync_json_get(msg, "interactive");

        if (ngx_http_crmsync_json_get(o, "button_reply")) {
            o = ngx_http_crmsync_json_get(o, "button_reply");

        } else {
            o = ngx_http_crmsync_json_get(o, "list_reply");
        }

        return ngx_http_crmsync_parse_string(p, &ev->text, o, "title",
                                             "whatsapp_bad_interactive");
    }

    if (strcmp(t, "system") == 0) {
        /* "user changed number", ... */
        ev->author = NGX_HTTP_CRMSYNC_AUTHOR_SYSTEM;
        o = ngx_http_crmsync_json_get(msg, "system");
        return ngx_http_crmsync_parse_string(p, &ev->text, o, "body",
                                             "whatsapp_bad_system");
    }

    if (strcmp(t, "reaction") == 0) {
        o = ngx_http_crmsync_json_get(msg, "reaction");
        return ngx_http_crmsync_parse_string(p, &ev->text, o, "emoji",
                                             "whatsapp_bad_reaction");
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/* contacts[] matched to the sender by wa_id */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_wa_name(ngx_http_crmsync_wa_ctx_t *ctx,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *wa_id)
{
    size_t                          i;
    ngx_http_crmsync_wa_contact_t  *c;

    for (i = 0; i < ctx->ncontacts; i++) {
        c = &ctx->contacts[i];

        if (!ngx_http_crmsync_json_equal(c->wa_id, wa_id)) {
            continue;
        }

        if (!c->copied) {
            if (c->name != NULL
                && ngx_http_crmsync_full_name(
                       &ctx->p->arena, ev,
                       (u_char *) ngx_http_crmsync_json_str(c->name),
                       ngx_http_crmsync_json_str_len(c->name))
                   != 0)
            {
                ctx->p->reason = "arena_full";
                return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
            }

            c->first_name = ev->first_name;
            c->last_name = ev->last_name;
            c->copied = 1;
        }

        ev->first_name = c->first_name;
        ev->last_name = c->last_name;

        break;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_wa_status(ngx_http_crmsync_wa_ctx_t *ctx,
    ngx_http_crmsync_json_t *st)
{
    u_char                       *d;
    ngx_http_crmsync_json_t      *rcpt, *err;
    ngx_http_crmsync_parse_t     *p;
    ngx_http_crmsync_event_t     *ev;
    ngx_http_crmsync_parse_rc_e   rc;

    p = ctx->p;

    if (!ngx_http_crmsync_json_is_object(st)) {
        p->reason = "whatsapp_bad_status";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    rcpt = ngx_http_crmsync_json_get(st, "recipient_id");

    if (rcpt != NULL && !ngx_http_crmsync_json_is_string(rcpt)) {
        p->reason = "whatsapp_bad_recipient_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->type = NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS;

    rc = ngx_http_crmsync_meta_status_id(
             p, ev, ngx_http_crmsync_json_get(st, "id"),
             ngx_http_crmsync_json_get(st, "status"), "whatsapp_no_status_id");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    rc = ngx_http_crmsync_meta_time(p, &ev->occurred_at, st, "timestamp",
                                    1000, "whatsapp_bad_timestamp");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    if (rcpt != NULL) {
        (void) ngx_http_crmsync_whatsapp_identity(
                   &p->arena, &ev->identity,
                   (u_char *) ngx_http_crmsync_json_str(rcpt),
                   ngx_http_crmsync_json_str_len(rcpt));
    }

    rc = ngx_http_crmsync_parse_string(
             p, &ev->conversation_id,
             ngx_http_crmsync_json_get(st, "conversation"), "id",
             "whatsapp_bad_conversation");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    /* failed: the first error's code as an attribute */

    err = ngx_http_crmsync_json_get(
              ngx_http_crmsync_json_at(
                  ngx_http_crmsync_json_get(st, "errors"), 0),
              "code");

    if (err == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    ev->attrs = ngx_http_crmsync_arena_alloc(&p->arena,
                                             sizeof(ngx_http_crmsync_attr_t));
    if (ev->attrs == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    switch (ngx_http_crmsync_json_id(
                &p->arena, &ev->attrs[0].value,
                ngx_http_crmsync_json_at(
                    ngx_http_crmsync_json_get(st, "errors"), 0),
                "code"))
    {
    case NGX_HTTP_CRMSYNC_JSON_OK:
        d = (u_char *) "error_code";
        ev->attrs[0].name.len = sizeof("error_code") - 1;
        ev->attrs[0].name.data = d;
        ev->nattrs = 1;
        return NGX_HTTP_CRMSYNC_PARSE_OK;

    case NGX_HTTP_CRMSYNC_JSON_NOMEM:
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;

    case NGX_HTTP_CRMSYNC_JSON_BADTYPE:
        p->reason = "whatsapp_bad_error_code";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;

    default:
        ev->attrs = NULL;
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }
}


/* Messenger and Instagram */


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_messenger(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root)
{
    return ngx_http_crmsync_meta_messaging(p, root, "page");
}


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_instagram(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root)
{
    return ngx_http_crmsync_meta_messaging(p, root, "instagram");
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_meta_messaging(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root, const char *object)
{
    size_t                        i, j;
    int64_t                       time;
    ngx_http_crmsync_json_t      *v, *entry, *messaging;
    const char                   *skip;
    ngx_http_crmsync_parse_rc_e   rc;

    v = ngx_http_crmsync_json_get(root, "object");

    if (v != NULL
        && (!ngx_http_crmsync_json_is_string(v)
            || strcmp(ngx_http_crmsync_json_str(v), object) != 0))
    {
        p->reason = ngx_http_crmsync_fb_reason(p, "wrong_object");
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    entry = ngx_http_crmsync_json_get(root, "entry");

    if (!ngx_http_crmsync_json_is_array(entry)) {
        p->reason = ngx_http_crmsync_fb_reason(p, "no_entry");
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    skip = ngx_http_crmsync_fb_reason(p, "no_messaging");

    for (i = 0; i < ngx_http_crmsync_json_array_size(entry); i++) {
        v = ngx_http_crmsync_json_at(entry, i);

        if (!ngx_http_crmsync_json_is_object(v)) {
            p->reason = ngx_http_crmsync_fb_reason(p, "bad_entry");
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        time = 0;

        rc = ngx_http_crmsync_meta_time(p, &time, v, "time", 1,
                                     ngx_http_crmsync_fb_reason(p, "bad_time"));
        if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return rc;
        }

        messaging = ngx_http_crmsync_json_get(v, "messaging");

        if (messaging == NULL) {
            /* "changes" (comments, mentions) or "standby": not read */
            skip = ngx_http_crmsync_fb_reason(p, "no_messaging");
            continue;
        }

        if (!ngx_http_crmsync_json_is_array(messaging)) {
            p->reason = ngx_http_crmsync_fb_reason(p, "bad_messaging");
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        for (j = 0; j < ngx_http_crmsync_json_array_size(messaging); j++) {
            rc = ngx_http_crmsync_meta_item(
                     p, ngx_http_crmsync_json_at(messaging, j), time, &skip);
            if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
                return rc;
            }
        }
    }

    if (p->nevents == 0) {
        p->reason = skip;
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_meta_item(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *item, int64_t entry_time, const char **skip)
{
    size_t                        i;
    unsigned                      echo;
    ngx_http_crmsync_str_t       *psid;
    ngx_http_crmsync_json_t      *sender, *recipient, *msg, *contact, *a, *v;
    ngx_http_crmsync_event_t     *ev;
    ngx_http_crmsync_parse_rc_e   rc;

    if (!ngx_http_crmsync_json_is_object(item)) {
        p->reason = ngx_http_crmsync_fb_reason(p, "bad_messaging");
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    sender = ngx_http_crmsync_json_get(
                 ngx_http_crmsync_json_get(item, "sender"), "id");
    recipient = ngx_http_crmsync_json_get(
                    ngx_http_crmsync_json_get(item, "recipient"), "id");

    msg = ngx_http_crmsync_json_get(item, "message");

    if (msg == NULL) {
        msg = ngx_http_crmsync_json_get(item, "postback");

        if (msg == NULL) {
            if (ngx_http_crmsync_json_get(item, "delivery") != NULL
                || ngx_http_crmsync_json_get(item, "read") != NULL)
            {
                *skip = ngx_http_crmsync_fb_reason(p, "receipt");

            } else {
                /* reaction, optin, referral, handover, ... */
                *skip = ngx_http_crmsync_fb_reason(p, "unsupported_event");
            }

            return NGX_HTTP_CRMSYNC_PARSE_OK;
        }
    }

    if (!ngx_http_crmsync_json_is_object(msg)) {
        p->reason = ngx_http_crmsync_fb_reason(p, "bad_message");
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    v = ngx_http_crmsync_json_get(msg, "is_deleted");

    if (ngx_http_crmsync_json_is_true(v)) {
        *skip = ngx_http_crmsync_fb_reason(p, "deleted");
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    v = ngx_http_crmsync_json_get(msg, "is_echo");

    if (v != NULL && !ngx_http_crmsync_json_is_boolean(v)) {
        p->reason = ngx_http_crmsync_fb_reason(p, "bad_is_echo");
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    echo = ngx_http_crmsync_json_is_true(v);

    /* the contact: the sender, or the recipient of the page's echo */

    contact = echo ? recipient : sender;

    if (!ngx_http_crmsync_json_is_string(contact)
        || ngx_http_crmsync_json_str_len(contact) == 0)
    {
        p->reason = echo ? ngx_http_crmsync_fb_reason(p, "no_recipient")
                          : ngx_http_crmsync_fb_reason(p, "no_sender");
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->type = echo ? NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND
                    : NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND;
    ev->author = echo ? NGX_HTTP_CRMSYNC_AUTHOR_AGENT
                      : NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;

    psid = (p->provider == NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM)
           ? &ev->identity.instagram_id : &ev->identity.messenger_psid;

    if (ngx_http_crmsync_arena_copy(
            &p->arena, psid, (u_char *) ngx_http_crmsync_json_str(contact),
            ngx_http_crmsync_json_str_len(contact))
        != 0)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->occurred_at = entry_time;

    rc = ngx_http_crmsync_meta_time(p, &ev->occurred_at, item, "timestamp", 1,
                                ngx_http_crmsync_fb_reason(p, "bad_timestamp"));
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    rc = ngx_http_crmsync_parse_string(p, &ev->delivery_id, msg, "mid",
                                     ngx_http_crmsync_fb_reason(p, "bad_mid"));
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    if (ev->delivery_id.len == 0) {
        p->reason = ngx_http_crmsync_fb_reason(p, "no_mid");
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev->message_id = ev->delivery_id;

    if (msg == ngx_http_crmsync_json_get(item, "postback")) {
        /* a button tap: its title is what the contact "said" */
        return ngx_http_crmsync_parse_string(p, &ev->text, msg, "title",
                                 ngx_http_crmsync_fb_reason(p, "bad_postback"));
    }

    rc = ngx_http_crmsync_parse_string(p, &ev->text, msg, "text",
                                     ngx_http_crmsync_fb_reason(p, "bad_text"));
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    if (ngx_http_crmsync_json_get(msg, "sticker_id") != NULL) {
        ev->attachments |= NGX_HTTP_CRMSYNC_ATT_STICKER;
    }

    a = ngx_http_crmsync_json_get(msg, "attachments");

    if (a != NULL && !ngx_http_crmsync_json_is_array(a)) {
        p->reason = ngx_http_crmsync_fb_reason(p, "bad_attachments");
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    for (i = 0; i < ngx_http_crmsync_json_array_size(a); i++) {
        v = ngx_http_crmsync_json_get(ngx_http_crmsync_json_at(a, i), "type");

        if (!ngx_http_crmsync_json_is_string(v)) {
            p->reason = ngx_http_crmsync_fb_reason(p, "bad_attachments");
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        if (ngx_http_crmsync_json_get(
                ngx_http_crmsync_json_get(
                    ngx_http_crmsync_json_at(a, i), "payload"),
                "sticker_id")
            != NULL)
        {
            ev->attachments |= NGX_HTTP_CRMSYNC_ATT_STICKER;
            continue;
        }

        ev->attachments |= ngx_http_crmsync_meta_kind(
                                                 ngx_http_crmsync_fb_kinds,
                                                 ngx_http_crmsync_json_str(v));
    }

    if (ngx_http_crmsync_json_is_true(
            ngx_http_crmsync_json_get(msg, "is_unsupported")))
    {
        ev->attachments |= NGX_HTTP_CRMSYNC_ATT_OTHER;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}

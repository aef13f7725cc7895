
/*
 * Copyright (C) crmsync authors
 *
 * Telegram Bot API updates: message, edited_message, channel_post,
 * edited_channel_post and business_message.  One update, one event.
 */


#include <string.h>
#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"


typedef struct {
    const char                     *name;
    unsigned                        att;
} ngx_http_crmsync_tg_kind_t;


static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_tg_id(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_str_t *dst,
    ngx_http_crmsync_json_t *obj, const char *key, const char *bad);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_tg_from(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *from);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_tg_contact(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *contact, ngx_http_crmsync_json_t *from);


/* the message members that carry something other than text */
static const ngx_http_crmsync_tg_kind_t  ngx_http_crmsync_tg_kinds[] = {
    { "photo",       NGX_HTTP_CRMSYNC_ATT_IMAGE },
    { "audio",       NGX_HTTP_CRMSYNC_ATT_AUDIO },
    { "voice",       NGX_HTTP_CRMSYNC_ATT_AUDIO },
    { "video",       NGX_HTTP_CRMSYNC_ATT_VIDEO },
    { "video_note",  NGX_HTTP_CRMSYNC_ATT_VIDEO },
    { "animation",   NGX_HTTP_CRMSYNC_ATT_VIDEO },
    { "document",    NGX_HTTP_CRMSYNC_ATT_FILE },
    { "location",    NGX_HTTP_CRMSYNC_ATT_LOCATION },
    { "venue",       NGX_HTTP_CRMSYNC_ATT_LOCATION },
    { "sticker",     NGX_HTTP_CRMSYNC_ATT_STICKER },
    { "contact",     NGX_HTTP_CRMSYNC_ATT_CONTACT },
    { "poll",        NGX_HTTP_CRMSYNC_ATT_OTHER },
    { "dice",        NGX_HTTP_CRMSYNC_ATT_OTHER },
    { "game",        NGX_HTTP_CRMSYNC_ATT_OTHER },
    { NULL, 0 }
};


/* update kinds read, in the order Telegram documents them */
static const char  *ngx_http_crmsync_tg_updates[] = {
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
    NULL
};


/* Telegram ids are integers (up to 52 bits): a string or a real is bad */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_tg_id(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *obj, const char *key,
    const char *bad)
{
    ngx_http_crmsync_json_t  *v;

    dst->len = 0;
    dst->data = NULL;

    v = ngx_http_crmsync_json_get(obj, key);

    if (v == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    if (!ngx_http_crmsync_json_is_integer(v)) {
        p->reason = bad;
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (ngx_http_crmsync_json_id(&p->arena, dst, obj, key)
        != NGX_HTTP_CRMSYNC_JSON_OK)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_telegram(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root)
{
    size_t                        i;
    ngx_http_crmsync_json_t      *msg, *from, *v;
    ngx_http_crmsync_event_t     *ev;
    ngx_http_crmsync_parse_rc_e   rc;

    v = ngx_http_crmsync_json_get(root, "update_id");

    if (v == NULL) {
        p->reason = "telegram_no_update_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (!ngx_http_crmsync_json_is_integer(v)
        || ngx_http_crmsync_json_int(v) < 0)
    {
        p->reason = "telegram_bad_update_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    msg = NULL;

    for (i = 0; ngx_http_crmsync_tg_updates[i]; i++) {
        msg = ngx_http_crmsync_json_get(root, ngx_http_crmsync_tg_updates[i]);
        if (msg != NULL) {
            break;
        }
    }

    if (msg == NULL) {
        /* callback_query, inline_query, my_chat_member, poll, ... */
        p->reason = "telegram_unsupported_update";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    if (!ngx_http_crmsync_json_is_object(msg)) {
        p->reason = "telegram_bad_message";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    from = ngx_http_crmsync_json_get(msg, "from");

    if (from == NULL) {
        /* a channel post: written by the channel, no user to sync */
        p->reason = "telegram_no_user";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    if (!ngx_http_crmsync_json_is_object(from)) {
        p->reason = "telegram_bad_from";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND;

    rc = ngx_http_crmsync_tg_id(p, &ev->delivery_id, root, "update_id",
                                "telegram_bad_update_id");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    rc = ngx_http_crmsync_tg_id(p, &ev->message_id, msg, "message_id",
                                "telegram_bad_message_id");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    v = ngx_http_crmsync_json_get(msg, "chat");

    if (v != NULL && !ngx_http_crmsync_json_is_object(v)) {
        p->reason = "telegram_bad_chat";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    rc = ngx_http_crmsync_tg_id(p, &ev->conversation_id, v, "id",
                                "telegram_bad_chat");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    /* an edit happens at edit_date */

    if (ngx_http_crmsync_json_time(&ev->occurred_at, msg, "edit_date", 1000)
        == NGX_HTTP_CRMSYNC_JSON_BADTYPE
        || (ev->occurred_at == 0
            && ngx_http_crmsync_json_time(&ev->occurred_at, msg, "date", 1000)
               == NGX_HTTP_CRMSYNC_JSON_BADTYPE))
    {
        p->reason = "telegram_bad_date";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    rc = ngx_http_crmsync_tg_from(p, ev, from);
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    rc = ngx_http_crmsync_parse_string(p, &ev->text, msg, "text",
                                       "telegram_bad_text");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    if (ev->text.len == 0) {
        rc = ngx_http_crmsync_parse_string(p, &ev->text, msg, "caption",
                                           "telegram_bad_caption");
        if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return rc;
        }
    }

    for (i = 0; ngx_http_crmsync_tg_kinds[i].name; i++) {
        if (ngx_http_crmsync_json_get(msg, ngx_http_crmsync_tg_kinds[i].name)) {
            ev->attachments |= ngx_http_crmsync_tg_kinds[i].att;
        }
    }

    v = ngx_http_crmsync_json_get(msg, "contact");

    if (v != NULL) {
        return ngx_http_crmsync_tg_contact(p, ev, v, from);
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_tg_from(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *from)
{
    ngx_http_crmsync_str_t       *u;
    ngx_http_crmsync_json_t      *v;
    ngx_http_crmsync_parse_rc_e   rc;

    rc = ngx_http_crmsync_tg_id(p, &ev->identity.telegram_id, from, "id",
                                "telegram_bad_from_id");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    if (ev->identity.telegram_id.len == 0) {
        p->reason = "telegram_no_from_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    v = ngx_http_crmsync_json_get(from, "is_bot");

    if (v != NULL && !ngx_http_crmsync_json_is_boolean(v)) {
        p->reason = "telegram_bad_is_bot";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev->author = ngx_http_crmsync_json_is_true(v) ? NGX_HTTP_CRMSYNC_AUTHOR_BOT
                                 : NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;

    u = &ev->identity.telegram_username;

    rc = ngx_http_crmsync_parse_string(p, u, from, "username",
                                       "telegram_bad_username");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    if (u->len && u->data[0] == '@') {
        u->len--;
        u->data++;
    }

    rc = ngx_http_crmsync_parse_string(p, &ev->first_name, from, "first_name",
                                       "telegram_bad_first_name");
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    return ngx_http_crmsync_parse_string(p, &ev->last_name, from, "last_name",
                                         "telegram_bad_last_name");
}


/*
 * A shared contact card is the sender's own number only when its user_id
 * is the sender's id; Telegram writes the number without '+' at times,
 * so a number that is not valid under the default region is tried as
 * international.
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_tg_contact(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *contact,
    ngx_http_crmsync_json_t *from)
{
    u_char                    buf[66];
    size_t                    len;
    ngx_http_crmsync_json_t  *uid, *phone;

    if (!ngx_http_crmsync_json_is_object(contact)) {
        p->reason = "telegram_bad_contact";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    uid = ngx_http_crmsync_json_get(contact, "user_id");
    phone = ngx_http_crmsync_json_get(contact, "phone_number");

    if ((uid != NULL && !ngx_http_crmsync_json_is_integer(uid))
        || (phone != NULL && !ngx_http_crmsync_json_is_string(phone)))
    {
        p->reason = "telegram_bad_contact";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    if (uid == NULL || phone == NULL
        || !ngx_http_crmsync_json_equal(uid,
                                        ngx_http_crmsync_json_get(from, "id")))
    {
        /* someone else's card: an attachment, not an identity */
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    len = ngx_http_crmsync_json_str_len(phone);

    if (ngx_http_crmsync_phone_identity(
            &p->arena, &ev->identity,
            (u_char *) ngx_http_crmsync_json_str(phone), len,
            p->default_region)
        == 0)
    {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    if (len == 0 || len >= sizeof(buf)
        || ngx_http_crmsync_json_str(phone)[0] == '+')
    {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    buf[0] = '+';
    memcpy(buf + 1, ngx_http_crmsync_json_str(phone), len);

    (void) ngx_http_crmsync_phone_identity(&p->arena, &ev->identity, buf,
                                           len + 1, NULL);

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}

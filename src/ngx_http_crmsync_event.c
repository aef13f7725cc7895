
/*
 * Copyright (C) crmsync authors
 *
 * The normalized event model: arena, events, identity and name helpers
 * and the $crmsync_event JSON form.  The parse dispatcher and the
 * provider table are in ngx_http_crmsync_provider.c, the JSON member
 * helpers for adapters in ngx_http_crmsync_json.c.
 */


#include <string.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_phone.h"


#define NGX_HTTP_CRMSYNC_ALIGN  sizeof(void *)

#define ngx_http_crmsync_align_up(p)                                         \
    (u_char *) (((uintptr_t) (p) + (NGX_HTTP_CRMSYNC_ALIGN - 1))             \
                & ~((uintptr_t) NGX_HTTP_CRMSYNC_ALIGN - 1))
#define ngx_http_crmsync_align_down(p)                                       \
    (u_char *) ((uintptr_t) (p) & ~((uintptr_t) NGX_HTTP_CRMSYNC_ALIGN - 1))

#define ngx_http_crmsync_out_lit(o, s)                                       \
    ngx_http_crmsync_out(o, s, sizeof(s) - 1)

/* the JSON writer: counts always, writes when pos is set */
typedef struct {
    u_char                     *pos;       /* NULL: only count */
    size_t                      len;
    unsigned                    first:1;   /* no member yet in the object */
} ngx_http_crmsync_json_out_t;


static u_char *ngx_http_crmsync_arena_bytes(ngx_http_crmsync_arena_t *a,
    size_t size);
static void ngx_http_crmsync_trim(const u_char **src, size_t *len);
static int ngx_http_crmsync_phone_copy(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_identity_t *id, ngx_http_crmsync_phone_t *ph);
static void ngx_http_crmsync_out(ngx_http_crmsync_json_out_t *o,
    const void *s, size_t n);
static size_t ngx_http_crmsync_utf8_len(const u_char *s, size_t n);
static void ngx_http_crmsync_out_string(ngx_http_crmsync_json_out_t *o,
    const u_char *s, size_t n);
static void ngx_http_crmsync_out_key(ngx_http_crmsync_json_out_t *o,
    const char *key);
static void ngx_http_crmsync_out_str(ngx_http_crmsync_json_out_t *o,
    const char *key, const ngx_http_crmsync_str_t *v);
static void ngx_http_crmsync_out_cstr(ngx_http_crmsync_json_out_t *o,
    const char *key, const char *v);
static void ngx_http_crmsync_out_int(ngx_http_crmsync_json_out_t *o,
    const char *key, int64_t n);
static void ngx_http_crmsync_out_event(ngx_http_crmsync_json_out_t *o,
    const ngx_http_crmsync_event_t *ev);


const char  *ngx_http_crmsync_event_type_names[] = {
    NULL,
    "message.inbound",
    "message.outbound",
    "message.status",
    "conversation.opened",
    "conversation.closed",
    "conversation.assigned",
    "contact.created",
    "contact.updated",
    "csat",
    "crm.contact.created",
    "crm.contact.changed",
    "crm.contact.merged",
    NULL
};


const char  *ngx_http_crmsync_author_names[] = {
    NULL,
    "contact",
    "agent",
    "bot",
    "system",
    "note",
    NULL
};


/* by bit: NGX_HTTP_CRMSYNC_ATT_IMAGE is bit 0 */
static const char  *ngx_http_crmsync_attachment_names[] = {
    "image", "audio", "video", "file", "location", "sticker", "contact",
    "other"
};


/* arena */


void *
ngx_http_crmsync_arena_alloc(ngx_http_crmsync_arena_t *a, size_t size)
{
    u_char  *p;

    p = ngx_http_crmsync_align_up(a->pos);

    if (p > a->end || size > (size_t) (a->end - p)) {
        return NULL;
    }

    a->pos = p + size;

    return memset(p, 0, size);
}


static u_char *
ngx_http_crmsync_arena_bytes(ngx_http_crmsync_arena_t *a, size_t size)
{
    u_char  *p;

    if (a->pos > a->end || size > (size_t) (a->end - a->pos)) {
        return NULL;
    }

    p = a->pos;
    a->pos += size;

    return p;
}


int
ngx_http_crmsync_arena_copy(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, const u_char *src, size_t len)
{
    u_char  *p;

    if (len == 0) {
        dst->len = 0;
        dst->data = NULL;
        return 0;
    }

    p = ngx_http_crmsync_arena_bytes(a, len);
    if (p == NULL) {
        return -1;
    }

    memcpy(p, src, len);

    dst->len = len;
    dst->data = p;

    return 0;
}


ngx_http_crmsync_event_t *
ngx_http_crmsync_event_add(ngx_http_crmsync_parse_t *p)
{
    u_char                    *end;
    ngx_http_crmsync_event_t  *ev;

    if (p->nevents >= NGX_HTTP_CRMSYNC_MAX_EVENTS) {
        p->reason = "too_many_events";
        return NULL;
    }

    end = ngx_http_crmsync_align_down(p->arena.end);

    if (end < p->arena.pos
        || (size_t) (end - p->arena.pos) < sizeof(ngx_http_crmsync_event_t))
    {
        p->reason = "arena_full";
        return NULL;
    }

    /* events grow downwards; the dispatcher puts them in order */

    ev = (ngx_http_crmsync_event_t *) (end - sizeof(ngx_http_crmsync_event_t));

    if (p->nevents
        && ev + 1 != p->events)
    {
        /* something else was taken from the end: cannot happen */
        p->reason = "arena_full";
        return NULL;
    }

    memset(ev, 0, sizeof(ngx_http_crmsync_event_t));

    ev->provider = p->provider;
    ev->csat = -1;

    p->arena.end = (u_char *) ev;
    p->events = ev;
    p->nevents++;

    return ev;
}


/* identities and names */


static void
ngx_http_crmsync_trim(const u_char **src, size_t *len)
{
    const u_char  *s;
    size_t         n;

    s = *src;
    n = *len;

    while (n && ngx_http_crmsync_space(s[0])) {
        s++;
        n--;
    }

    while (n && ngx_http_crmsync_space(s[n - 1])) {
        n--;
    }

    *src = s;
    *len = n;
}


int
ngx_http_crmsync_email(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, const u_char *src, size_t len)
{
    u_char  c, *p;
    size_t  i, at, dot;

    if (src == NULL) {
        return -1;
    }

    ngx_http_crmsync_trim(&src, &len);

    if (len < 5 || len > 254) {
        return -1;
    }

    at = len;
    dot = 0;

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c <= 0x20 || c == 0x7f) {
            return -1;
        }

        if (c == '@') {
            if (at != len) {
                return -1;
            }

            at = i;

        } else if (c == '.' && at != len) {
            dot = i;
        }
    }

    /* "a@b.c": local part, '@', a dot inside the domain, not at its end */

    if (at == 0 || at == len
        || dot == 0 || dot == at + 1 || dot == len - 1)
    {
        return -1;
    }

    p = ngx_http_crmsync_arena_bytes(a, len);
    if (p == NULL) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = src[i];
        p[i] = (c >= 'A' && c <= 'Z') ? (u_char) (c | 0x20) : c;
    }

    dst->len = len;
    dst->data = p;

    return 0;
}


int
ngx_http_crmsync_full_name(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_event_t *ev, const u_char *src, size_t len)
{
    size_t                  i;
    ngx_http_crmsync_str_t  name;

    if (src == NULL) {
        return 0;
    }

    ngx_http_crmsync_trim(&src, &len);

    if (len == 0) {
        return 0;
    }

    if (ngx_http_crmsync_arena_copy(a, &name, src, len) != 0) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (name.data[i] == ' ') {
            break;
        }
    }

    ev->first_name.len = i;
    ev->first_name.data = name.data;

    while (i < len && ngx_http_crmsync_space(name.data[i])) {
        i++;
    }

    if (i < len) {
        ev->last_name.len = len - i;
        ev->last_name.data = name.data + i;

    } else {
        ev->last_name.len = 0;
        ev->last_name.data = NULL;
    }

    return 0;
}


/* the number and its alternative form into the identity: 0, or -1 */

static int
ngx_http_crmsync_phone_copy(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_identity_t *id, ngx_http_crmsync_phone_t *ph)
{
    if (ngx_http_crmsync_arena_copy(a, &id->phone, (u_char *) ph->e164,
                                    strnlen(ph->e164, sizeof(ph->e164)))
        != 0
        || ngx_http_crmsync_arena_copy(a, &id->phone_alt,
                                       (u_char *) ph->alt_e164,
                                       strnlen(ph->alt_e164,
                                               sizeof(ph->alt_e164)))
           != 0)
    {
        id->phone.len = 0;
        id->phone.data = NULL;
        return -1;
    }

    return 0;
}


int
ngx_http_crmsync_phone_identity(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_identity_t *id, const u_char *src, size_t len,
    const char *region)
{
    ngx_http_crmsync_phone_t  ph;

    if (src == NULL || len == 0 || len > 64) {
        return -1;
    }

    if (ngx_http_crmsync_phone_init() != 0) {
        return -1;
    }

    memset(&ph, 0, sizeof(ngx_http_crmsync_phone_t));

    if (ngx_http_crmsync_phone_parse(src, len, region, &ph) != 0
        || ph.e164[0] == '\0'
        || !ph.valid)
    {
        return -1;
    }

    return ngx_http_crmsync_phone_copy(a, id, &ph);
}


int
ngx_http_crmsync_whatsapp_identity(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_identity_t *id, const u_char *src, size_t len)
{
    size_t                    i;
    const u_char             *s;
    ngx_http_crmsync_phone_t  ph;

    if (src == NULL || len == 0 || len > 64) {
        return -1;
    }

    ngx_http_crmsync_trim(&src, &len);

    /* the WhatsApp id: the digits, without "whatsapp:" and '+' */

    s = src;
    i = len;

    if (i >= 9 && strncmp((const char *) s, "whatsapp:", 9) == 0) {
        s += 9;
        i -= 9;
    }

    if (i && s[0] == '+') {
        s++;
        i--;
    }

    if (i == 0 || i > 20) {
        return -1;
    }

    for (len = 0; len < i; len++) {
        if (s[len] < '0' || s[len] > '9') {
            return -1;
        }
    }

    if (ngx_http_crmsync_arena_copy(a, &id->whatsapp_id, s, i) != 0) {
        return -1;
    }

    /* the phone: WhatsApp vouches for the account, valid or not */

    if (ngx_http_crmsync_phone_init() != 0) {
        return 0;
    }

    memset(&ph, 0, sizeof(ngx_http_crmsync_phone_t));

    if (ngx_http_crmsync_phone_parse_whatsapp(s, i, &ph) != 0
        || ph.e164[0] != '+')
    {
        return 0;
    }

    return ngx_http_crmsync_phone_copy(a, id, &ph);
}


/* $crmsync_event: the events as JSON */


static void
ngx_http_crmsync_out(ngx_http_crmsync_json_out_t *o, const void *s, size_t n)
{
    if (o->pos) {
        memcpy(o->pos, s, n);
        o->pos += n;
    }

    o->len += n;
}


/* the length of a valid UTF-8 sequence at s, or 0 */

static size_t
ngx_http_crmsync_utf8_len(const u_char *s, size_t n)
{
    u_char  c;
    size_t  len, i;

    c = s[0];

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;

    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;

    } else {
        return 0;
    }

    if (n < len) {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }

    /* overlong, surrogates, past U+10FFFF */

    if ((c == 0xe0 && s[1] < 0xa0)
        || (c == 0xed && s[1] > 0x9f)
        || (c == 0xf0 && s[1] < 0x90)
        || (c == 0xf4 && s[1] > 0x8f))
    {
        return 0;
    }

    return len;
}


static void
ngx_http_crmsync_out_string(ngx_http_crmsync_json_out_t *o, const u_char *s,
    size_t n)
{
    u_char         c, esc[6];
    size_t         i, len;
    static u_char  hex[] = "0123456789abcdef";

    ngx_http_crmsync_out_lit(o, "\"");

    i = 0;

    while (i < n) {
        c = s[i];

        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f) {
            len = 1;

            while (i + len < n && s[i + len] >= 0x20 && s[i + len] < 0x7f
                   && s[i + len] != '"' && s[i + len] != '\\')
            {
                len++;
            }

            ngx_http_crmsync_out(o, s + i, len);
            i += len;
            continue;
        }

        switch (c) {

        case '"':
            ngx_http_crmsync_out_lit(o, "\\\"");
            i++;
            continue;

        case '\\':
            ngx_http_crmsync_out_lit(o, "\\\\");
            i++;
            continue;

        case '\n':
            ngx_http_crmsync_out_lit(o, "\\n");
            i++;
            continue;

        case '\r':
            ngx_http_crmsync_out_lit(o, "\\r");
            i++;
            continue;

        case '\t':
            ngx_http_crmsync_out_lit(o, "\\t");
            i++;
            continue;

        case '\b':
            ngx_http_crmsync_out_lit(o, "\\b");
            i++;
            continue;

        case '\f':
            ngx_http_crmsync_out_lit(o, "\\f");
            i++;
            continue;
        }

        if (c < 0x20 || c == 0x7f) {
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            ngx_http_crmsync_out(o, esc, 6);
            i++;
            continue;
        }

        len = ngx_http_crmsync_utf8_len(s + i, n - i);

        if (len == 0) {
            /* invalid UTF-8: U+FFFD for the byte */
            ngx_http_crmsync_out_lit(o, "\\ufffd");
            i++;
            continue;
        }

        /* U+2028, U+2029: valid JSON, but not inside JavaScript */

        if (len == 3 && c == 0xe2 && s[i + 1] == 0x80
            && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
        {
            if (s[i + 2] == 0xa8) {
                ngx_http_crmsync_out_lit(o, "\\u2028");

            } else {
                ngx_http_crmsync_out_lit(o, "\\u2029");
            }

            i += 3;
            continue;
        }

        ngx_http_crmsync_out(o, s + i, len);
        i += len;
    }

    ngx_http_crmsync_out_lit(o, "\"");
}


static void
ngx_http_crmsync_out_key(ngx_http_crmsync_json_out_t *o, const char *key)
{
    if (!o->first) {
        ngx_http_crmsync_out_lit(o, ",");
    }

    o->first = 0;

    ngx_http_crmsync_out_string(o, (const u_char *) key, strlen(key));
    ngx_http_crmsync_out_lit(o, ":");
}


static void
ngx_http_crmsync_out_str(ngx_http_crmsync_json_out_t *o, const char *key,
    const ngx_http_crmsync_str_t *v)
{
    if (v->len == 0 || v->data == NULL) {
        return;
    }

    ngx_http_crmsync_out_key(o, key);
    ngx_http_crmsync_out_string(o, v->data, v->len);
}


static void
ngx_http_crmsync_out_cstr(ngx_http_crmsync_json_out_t *o, const char *key,
    const char *v)
{
    if (v == NULL) {
        return;
    }

    ngx_http_crmsync_out_key(o, key);
    ngx_http_crmsync_out_string(o, (const u_char *) v, strlen(v));
}


static void
ngx_http_crmsync_out_int(ngx_http_crmsync_json_out_t *o, const char *key,
    int64_t n)
{
    u_char    buf[24], *p;
    uint64_t  u;

    ngx_http_crmsync_out_key(o, key);

    p = buf + sizeof(buf);
    u = (n < 0) ? 0 - (uint64_t) n : (uint64_t) n;

    do {
        *--p = (u_char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    ngx_http_crmsync_out(o, p, buf + sizeof(buf) - p);
}


static void
ngx_http_crmsync_out_event(ngx_http_crmsync_json_out_t *o,
    const ngx_http_crmsync_event_t *ev)
{
    size_t                              i;
    const ngx_http_crmsync_identity_t  *id;

    o->first = 1;
    ngx_http_crmsync_out_lit(o, "{");

    if (ev->provider > NGX_HTTP_CRMSYNC_PROVIDER_NONE
        && ev->provider < NGX_HTTP_CRMSYNC_PROVIDER_MAX)
    {
        ngx_http_crmsync_out_cstr(o, "provider",
                                  ngx_http_crmsync_provider_names[
                                                               ev->provider]);
    }

    if (ev->type > NGX_HTTP_CRMSYNC_EV_NONE
        && ev->type < NGX_HTTP_CRMSYNC_EV_MAX)
    {
        ngx_http_crmsync_out_cstr(o, "type",
                                  ngx_http_crmsync_event_type_names[ev->type]);
    }

    ngx_http_crmsync_out_str(o, "delivery_id", &ev->delivery_id);

    if (ev->occurred_at) {
        ngx_http_crmsync_out_int(o, "occurred_at", ev->occurred_at);
    }

    id = &ev->identity;

    if (id->email.len || id->phone.len || id->phone_alt.len
        || id->whatsapp_id.len || id->messenger_psid.len
        || id->instagram_id.len || id->telegram_id.len
        || id->telegram_username.len || id->platform_id.len
        || id->hubspot_id.len)
    {
        ngx_http_crmsync_out_key(o, "identity");
        o->first = 1;
        ngx_http_crmsync_out_lit(o, "{");
        ngx_http_crmsync_out_str(o, "email", &id->email);
        ngx_http_crmsync_out_str(o, "phone", &id->phone);
        ngx_http_crmsync_out_str(o, "phone_alt", &id->phone_alt);
        ngx_http_crmsync_out_str(o, "whatsapp_id", &id->whatsapp_id);
        ngx_http_crmsync_out_str(o, "messenger_psid", &id->messenger_psid);
        ngx_http_crmsync_out_str(o, "instagram_id", &id->instagram_id);
        ngx_http_crmsync_out_str(o, "telegram_id", &id->telegram_id);
        ngx_http_crmsync_out_str(o, "telegram_username",
                                 &id->telegram_username);
        ngx_http_crmsync_out_str(o, "platform_id", &id->platform_id);
        ngx_http_crmsync_out_str(o, "hubspot_id", &id->hubspot_id);
        ngx_http_crmsync_out_lit(o, "}");
        o->first = 0;
    }

    ngx_http_crmsync_out_str(o, "first_name", &ev->first_name);
    ngx_http_crmsync_out_str(o, "last_name", &ev->last_name);
    ngx_http_crmsync_out_str(o, "conversation_id", &ev->conversation_id);

    if ((ev->author > NGX_HTTP_CRMSYNC_AUTHOR_NONE
         && ev->author <= NGX_HTTP_CRMSYNC_AUTHOR_NOTE)
        || ev->message_id.len || ev->text.len || ev->status.len
        || (ev->attachments & 0xff))
    {
        ngx_http_crmsync_out_key(o, "message");
        o->first = 1;
        ngx_http_crmsync_out_lit(o, "{");

        if (ev->author > NGX_HTTP_CRMSYNC_AUTHOR_NONE
            && ev->author <= NGX_HTTP_CRMSYNC_AUTHOR_NOTE)
        {
            ngx_http_crmsync_out_cstr(o, "author",
                                      ngx_http_crmsync_author_names[
                                                                ev->author]);
        }

        ngx_http_crmsync_out_str(o, "id", &ev->message_id);
        ngx_http_crmsync_out_str(o, "text", &ev->text);
        ngx_http_crmsync_out_str(o, "status", &ev->status);

        if (ev->attachments & 0xff) {
            ngx_http_crmsync_out_key(o, "attachments");
            ngx_http_crmsync_out_lit(o, "[");

            o->first = 1;

            for (i = 0; i < 8; i++) {
                if (ev->attachments & (1u << i)) {
                    if (!o->first) {
                        ngx_http_crmsync_out_lit(o, ",");
                    }

                    o->first = 0;
                    ngx_http_crmsync_out_string(o,
                        (const u_char *) ngx_http_crmsync_attachment_names[i],
                        strlen(ngx_http_crmsync_attachment_names[i]));
                }
            }

            ngx_http_crmsync_out_lit(o, "]");
        }

        ngx_http_crmsync_out_lit(o, "}");
        o->first = 0;
    }

    ngx_http_crmsync_out_str(o, "assignee", &ev->assignee);

    if (ev->nattrs && ev->attrs) {
        ngx_http_crmsync_out_key(o, "attributes");
        o->first = 1;
        ngx_http_crmsync_out_lit(o, "{");

        for (i = 0; i < ev->nattrs; i++) {
            if (ev->attrs[i].name.len == 0) {
                continue;
            }

            if (!o->first) {
                ngx_http_crmsync_out_lit(o, ",");
            }

            o->first = 0;
            ngx_http_crmsync_out_string(o, ev->attrs[i].name.data,
                                        ev->attrs[i].name.len);
            ngx_http_crmsync_out_lit(o, ":");
            ngx_http_crmsync_out_string(o, ev->attrs[i].value.data,
                                        ev->attrs[i].value.len);
        }

        ngx_http_crmsync_out_lit(o, "}");
        o->first = 0;
    }

    if (ev->csat >= 0) {
        ngx_http_crmsync_out_int(o, "csat", ev->csat);
    }

    ngx_http_crmsync_out_str(o, "property", &ev->property);
    ngx_http_crmsync_out_str(o, "property_value", &ev->property_value);
    ngx_http_crmsync_out_str(o, "merged_ids", &ev->merged_ids);

    ngx_http_crmsync_out_lit(o, "}");
}


size_t
ngx_http_crmsync_events_json(const ngx_http_crmsync_event_t *ev, size_t n,
    u_char *buf, size_t size)
{
    size_t                       i;
    ngx_http_crmsync_json_out_t  o;

    /* count first, so that nothing is written when it does not fit */

    o.pos = NULL;

    for ( ;; ) {
        o.len = 0;
        o.first = 1;

        ngx_http_crmsync_out_lit(&o, "[");

        for (i = 0; i < n; i++) {
            if (i) {
                ngx_http_crmsync_out_lit(&o, ",");
            }

            ngx_http_crmsync_out_event(&o, &ev[i]);
        }

        ngx_http_crmsync_out_lit(&o, "]");

        if (o.pos || o.len > size || buf == NULL) {
            return o.len;
        }

        o.pos = buf;
    }
}

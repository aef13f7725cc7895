
/*
 * Copyright (C) crmsync authors
 *
 * Twilio Programmable Messaging (SMS, MMS and WhatsApp through Twilio):
 * an application/x-www-form-urlencoded incoming-message webhook or a
 * status callback.  One request, one event.
 */


#include <string.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"


/* the parameters read; the first of a repeated name wins */
typedef enum {
    NGX_HTTP_CRMSYNC_TW_MESSAGE_SID = 0,
    NGX_HTTP_CRMSYNC_TW_SMS_MESSAGE_SID,
    NGX_HTTP_CRMSYNC_TW_SMS_SID,
    NGX_HTTP_CRMSYNC_TW_MESSAGE_STATUS,
    NGX_HTTP_CRMSYNC_TW_SMS_STATUS,
    NGX_HTTP_CRMSYNC_TW_FROM,
    NGX_HTTP_CRMSYNC_TW_TO,
    NGX_HTTP_CRMSYNC_TW_WA_ID,
    NGX_HTTP_CRMSYNC_TW_PROFILE_NAME,
    NGX_HTTP_CRMSYNC_TW_BODY,
    NGX_HTTP_CRMSYNC_TW_NUM_MEDIA,
    NGX_HTTP_CRMSYNC_TW_LATITUDE,
    NGX_HTTP_CRMSYNC_TW_ERROR_CODE,
    NGX_HTTP_CRMSYNC_TW_CALL_SID,
    NGX_HTTP_CRMSYNC_TW_MAX
} ngx_http_crmsync_tw_param_e;


typedef struct {
    const u_char                   *data;     /* raw, still encoded */
    size_t                          len;
    unsigned                        set:1;
} ngx_http_crmsync_tw_value_t;


static size_t ngx_http_crmsync_tw_decode(u_char *dst, const u_char *src,
    size_t len);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_tw_copy(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_str_t *dst,
    ngx_http_crmsync_tw_value_t *v);
static void ngx_http_crmsync_tw_address(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_tw_value_t *v);
static unsigned ngx_http_crmsync_tw_media(const u_char *type, size_t len);


static const char  *ngx_http_crmsync_tw_names[] = {
    "MessageSid",
    "SmsMessageSid",
    "SmsSid",
    "MessageStatus",
    "SmsStatus",
    "From",
    "To",
    "WaId",
    "ProfileName",
    "Body",
    "NumMedia",
    "Latitude",
    "ErrorCode",
    "CallSid",
    NULL
};


#define NGX_HTTP_CRMSYNC_TW_MEDIA  "MediaContentType"
#define NGX_HTTP_CRMSYNC_TW_KEY    64


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_twilio(ngx_http_crmsync_parse_t *p,
    const u_char *body, size_t len)
{
    u_char                        key[NGX_HTTP_CRMSYNC_TW_KEY], *d;
    size_t                        i, klen, n;
    unsigned                      status, media;
    const u_char                 *s, *end, *amp, *eq;
    ngx_http_crmsync_str_t        sid, st;
    ngx_http_crmsync_event_t     *ev;
    ngx_http_crmsync_parse_rc_e   rc;
    ngx_http_crmsync_tw_value_t   v[NGX_HTTP_CRMSYNC_TW_MAX], *sv;

    memset(v, 0, sizeof(v));
    media = 0;

    end = body + len;

    while (end > body && (end[-1] == '\n' || end[-1] == '\r')) {
        end--;
    }

    /* a form is printable ASCII: anything else is percent-encoded */

    for (s = body; s < end; s++) {
        if (*s < 0x20 || *s >= 0x7f) {
            p->reason = "bad_form";
            return NGX_HTTP_CRMSYNC_PARSE_MALFORMED;
        }
    }

    for (s = body; s < end; s = (amp < end) ? amp + 1 : end) {
        amp = memchr(s, '&', end - s);
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(s, '=', amp - s);
        if (eq == NULL) {
            eq = amp;
        }

        if (eq - s >= NGX_HTTP_CRMSYNC_TW_KEY) {
            continue;
        }

        klen = ngx_http_crmsync_tw_decode(key, s, eq - s);

        if (eq < amp) {
            eq++;
        }

        if (klen > sizeof(NGX_HTTP_CRMSYNC_TW_MEDIA) - 1
            && memcmp(key, NGX_HTTP_CRMSYNC_TW_MEDIA,
                      sizeof(NGX_HTTP_CRMSYNC_TW_MEDIA) - 1)
               == 0)
        {
            media |= ngx_http_crmsync_tw_media(eq, amp - eq);
            continue;
        }

        for (i = 0; i < NGX_HTTP_CRMSYNC_TW_MAX; i++) {
            if (strlen(ngx_http_crmsync_tw_names[i]) == klen
                && memcmp(ngx_http_crmsync_tw_names[i], key, klen) == 0)
            {
                if (!v[i].set) {
                    v[i].set = 1;
                    v[i].data = eq;
                    v[i].len = amp - eq;
                }

                break;
            }
        }
    }

    sv = &v[NGX_HTTP_CRMSYNC_TW_MESSAGE_SID];

    if (sv->len == 0) {
        sv = &v[NGX_HTTP_CRMSYNC_TW_SMS_MESSAGE_SID];
    }

    if (sv->len == 0) {
        sv = &v[NGX_HTTP_CRMSYNC_TW_SMS_SID];
    }

    if (sv->len == 0) {
        if (v[NGX_HTTP_CRMSYNC_TW_CALL_SID].len) {
            /* a voice webhook on a messaging location */
            p->reason = "twilio_not_a_message";
            return NGX_HTTP_CRMSYNC_PARSE_SKIP;
        }

        p->reason = "twilio_no_message_sid";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    /* the status: "received" on an incoming message */

    rc = ngx_http_crmsync_tw_copy(p, &st,
                                  v[NGX_HTTP_CRMSYNC_TW_MESSAGE_STATUS].len
                                  ? &v[NGX_HTTP_CRMSYNC_TW_MESSAGE_STATUS]
                                  : &v[NGX_HTTP_CRMSYNC_TW_SMS_STATUS]);
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    status = !(st.len == 0
               || (st.len == 8 && memcmp(st.data, "received", 8) == 0)
               || (st.len == 9 && memcmp(st.data, "receiving", 9) == 0));

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    if (status) {
        /* delivery_id "<sid>:<status>": a message gets several statuses */

        d = ngx_http_crmsync_arena_alloc(&p->arena, sv->len + 1 + st.len);
        if (d == NULL) {
            p->reason = "arena_full";
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

        n = ngx_http_crmsync_tw_decode(d, sv->data, sv->len);
        d[n] = ':';
        memcpy(d + n + 1, st.data, st.len);

        ev->type = NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS;
        ev->delivery_id.len = n + 1 + st.len;
        ev->delivery_id.data = d;
        ev->message_id.len = n;
        ev->message_id.data = d;
        ev->status.len = st.len;
        ev->status.data = d + n + 1;

        /* the contact is the one the message went to */

        ngx_http_crmsync_tw_address(p, ev, &v[NGX_HTTP_CRMSYNC_TW_TO]);

        if (v[NGX_HTTP_CRMSYNC_TW_ERROR_CODE].len) {
            ev->attrs = ngx_http_crmsync_arena_alloc(&p->arena,
                                             sizeof(ngx_http_crmsync_attr_t));
            if (ev->attrs == NULL) {
                p->reason = "arena_full";
                return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
            }

            ev->attrs[0].name.len = sizeof("error_code") - 1;
            ev->attrs[0].name.data = (u_char *) "error_code";
            ev->nattrs = 1;

            return ngx_http_crmsync_tw_copy(p, &ev->attrs[0].value,
                                        &v[NGX_HTTP_CRMSYNC_TW_ERROR_CODE]);
        }

        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    ev->type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND;
    ev->author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;

    rc = ngx_http_crmsync_tw_copy(p, &sid, sv);
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    ev->delivery_id = sid;
    ev->message_id = sid;

    ngx_http_crmsync_tw_address(p, ev, &v[NGX_HTTP_CRMSYNC_TW_FROM]);

    if (v[NGX_HTTP_CRMSYNC_TW_WA_ID].len) {
        rc = ngx_http_crmsync_tw_copy(p, &st, &v[NGX_HTTP_CRMSYNC_TW_WA_ID]);
        if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return rc;
        }

        if (ev->identity.phone.len == 0) {
            /* "From" was not a WhatsApp address: the id gives the phone */
            (void) ngx_http_crmsync_whatsapp_identity(&p->arena,
                                                      &ev->identity,
                                                      st.data, st.len);

        } else {
            ev->identity.whatsapp_id = st;
        }
    }

    rc = ngx_http_crmsync_tw_copy(p, &st, &v[NGX_HTTP_CRMSYNC_TW_PROFILE_NAME]);
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    if (st.len
        && ngx_http_crmsync_full_name(&p->arena, ev, st.data, st.len) != 0)
    {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    rc = ngx_http_crmsync_tw_copy(p, &ev->text, &v[NGX_HTTP_CRMSYNC_TW_BODY]);
    if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return rc;
    }

    sv = &v[NGX_HTTP_CRMSYNC_TW_NUM_MEDIA];

    if (sv->len && !(sv->len == 1 && sv->data[0] == '0')) {
        ev->attachments = media ? media : NGX_HTTP_CRMSYNC_ATT_FILE;
    }

    if (v[NGX_HTTP_CRMSYNC_TW_LATITUDE].len) {
        ev->attachments |= NGX_HTTP_CRMSYNC_ATT_LOCATION;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/* percent-decoding, '+' is a space; a bad escape stays as it is */

static size_t
ngx_http_crmsync_tw_decode(u_char *dst, const u_char *src, size_t len)
{
    u_char  c, h, l;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c == '+') {
            c = ' ';

        } else if (c == '%' && i + 2 < len) {
            h = src[i + 1] | 0x20;
            l = src[i + 2] | 0x20;

            if (((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f'))
                && ((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f')))
            {
                h = (h <= '9') ? h - '0' : h - 'a' + 10;
                l = (l <= '9') ? l - '0' : l - 'a' + 10;
                c = (u_char) (h << 4 | l);
                i += 2;
            }
        }

        dst[n++] = c;
    }

    return n;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_tw_copy(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_tw_value_t *v)
{
    u_char  *d;

    dst->len = 0;
    dst->data = NULL;

    if (v->len == 0) {
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    d = ngx_http_crmsync_arena_alloc(&p->arena, v->len);
    if (d == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    dst->len = ngx_http_crmsync_tw_decode(d, v->data, v->len);
    dst->data = d;

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * "whatsapp:+14155550123" is a WhatsApp id, "messenger:<psid>" a
 * Messenger PSID, anything else a phone number under the default region
 */

static void
ngx_http_crmsync_tw_address(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_tw_value_t *v)
{
    u_char  buf[128];
    size_t  n;

    if (v->len == 0 || v->len > sizeof(buf)) {
        return;
    }

    n = ngx_http_crmsync_tw_decode(buf, v->data, v->len);

    if (n > 9 && memcmp(buf, "whatsapp:", 9) == 0) {
        (void) ngx_http_crmsync_whatsapp_identity(&p->arena, &ev->identity,
                                                  buf, n);
        return;
    }

    if (n > 10 && memcmp(buf, "messenger:", 10) == 0) {
        (void) ngx_http_crmsync_arena_copy(&p->arena,
                                           &ev->identity.messenger_psid,
                                           buf + 10, n - 10);
        return;
    }

    (void) ngx_http_crmsync_phone_identity(&p->arena, &ev->identity, buf, n,
                                           p->default_region);
}


/* a MediaContentType<N> value, still encoded ("image%2Fjpeg") */

static unsigned
ngx_http_crmsync_tw_media(const u_char *type, size_t len)
{
    u_char  buf[32];
    size_t  n;

    if (len > sizeof(buf)) {
        len = sizeof(buf);
    }

    n = ngx_http_crmsync_tw_decode(buf, type, len);

    if (n >= 6 && memcmp(buf, "image/", 6) == 0) {
        return NGX_HTTP_CRMSYNC_ATT_IMAGE;
    }

    if (n >= 6 && memcmp(buf, "audio/", 6) == 0) {
        return NGX_HTTP_CRMSYNC_ATT_AUDIO;
    }

    if (n >= 6 && memcmp(buf, "video/", 6) == 0) {
        return NGX_HTTP_CRMSYNC_ATT_VIDEO;
    }

    if ((n >= 10 && memcmp(buf, "text/vcard", 10) == 0)
        || (n >= 12 && memcmp(buf, "text/x-vcard", 12) == 0))
    {
        return NGX_HTTP_CRMSYNC_ATT_CONTACT;
    }

    return NGX_HTTP_CRMSYNC_ATT_FILE;
}


/*
 * Copyright (C) crmsync authors
 *
 * The normalized event model: arena, identity and name helpers, JSON
 * member helpers for adapters, the $crmsync_event JSON form and the
 * parse dispatcher.
 */


#include <string.h>
#include <jansson.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"
#include "ngx_http_crmsync_phone.h"


#define NGX_HTTP_CRMSYNC_ALIGN  sizeof(void *)

#define ngx_http_crmsync_align_up(p)                                         \
    (u_char *) (((uintptr_t) (p) + (NGX_HTTP_CRMSYNC_ALIGN - 1))             \
                & ~((uintptr_t) NGX_HTTP_CRMSYNC_ALIGN - 1))
#define ngx_http_crmsync_align_down(p)                                       \
    (u_char *) ((uintptr_t) (p) & ~((uintptr_t) NGX_HTTP_CRMSYNC_ALIGN - 1))

#define ngx_http_crmsync_space(c)                                            \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n'                 \
     || (c) == '\f' || (c) == '\v')


static u_char *ngx_http_crmsync_arena_bytes(ngx_http_crmsync_arena_t *a,
    size_t size);
static void ngx_http_crmsync_trim(const u_char **src, size_t *len);
static int ngx_http_crmsync_digits(const u_char *s, size_t n);


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


size_t
ngx_http_crmsync_parse_arena_size(size_t len)
{
    size_t  n;

    /* an event takes at least a "{}," in a JSON body */
    n = len / 2 + 8;

    if (n > NGX_HTTP_CRMSYNC_MAX_EVENTS) {
        n = NGX_HTTP_CRMSYNC_MAX_EVENTS;
    }

    return 2 * len + 4096
           + n * (sizeof(ngx_http_crmsync_event_t)
                  + NGX_HTTP_CRMSYNC_EVENT_EXTRA);
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

    if (ngx_http_crmsync_arena_copy(a, &id->phone, (u_char *) ph.e164,
                                    strnlen(ph.e164, sizeof(ph.e164)))
        != 0)
    {
        return -1;
    }

    if (ngx_http_crmsync_arena_copy(a, &id->phone_alt,
                                    (u_char *) ph.alt_e164,
                                    strnlen(ph.alt_e164,
                                            sizeof(ph.alt_e164)))
        != 0)
    {
        id->phone.len = 0;
        id->phone.data = NULL;
        return -1;
    }

    return 0;
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

    if (ngx_http_crmsync_arena_copy(a, &id->phone, (u_char *) ph.e164,
                                    strnlen(ph.e164, sizeof(ph.e164)))
        != 0
        || ngx_http_crmsync_arena_copy(a, &id->phone_alt,
                                       (u_char *) ph.alt_e164,
                                       strnlen(ph.alt_e164,
                                               sizeof(ph.alt_e164)))
           != 0)
    {
        id->phone.len = 0;
        id->phone.data = NULL;
        return -1;
    }

    return 0;
}


/* JSON member helpers for adapters */


int
ngx_http_crmsync_json_string(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, json_t *obj, const char *key)
{
    json_t  *v;

    dst->len = 0;
    dst->data = NULL;

    v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    if (v == NULL || json_is_null(v)) {
        return NGX_HTTP_CRMSYNC_JSON_ABSENT;
    }

    if (!json_is_string(v)) {
        return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    if (json_string_length(v) == 0) {
        return NGX_HTTP_CRMSYNC_JSON_ABSENT;
    }

    if (ngx_http_crmsync_arena_copy(a, dst, (u_char *) json_string_value(v),
                                    json_string_length(v))
        != 0)
    {
        return NGX_HTTP_CRMSYNC_JSON_NOMEM;
    }

    return NGX_HTTP_CRMSYNC_JSON_OK;
}


int
ngx_http_crmsync_json_id(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, json_t *obj, const char *key)
{
    u_char      buf[24], *p;
    json_t     *v;
    uint64_t    u;
    json_int_t  n;

    v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    if (!json_is_integer(v)) {
        return ngx_http_crmsync_json_string(a, dst, obj, key);
    }

    dst->len = 0;
    dst->data = NULL;

    n = json_integer_value(v);

    /* digits from the end; the magnitude as unsigned (LLONG_MIN) */

    p = buf + sizeof(buf);
    u = (n < 0) ? 0 - (uint64_t) n : (uint64_t) n;

    do {
        *--p = (u_char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    if (ngx_http_crmsync_arena_copy(a, dst, p, buf + sizeof(buf) - p) != 0) {
        return NGX_HTTP_CRMSYNC_JSON_NOMEM;
    }

    return NGX_HTTP_CRMSYNC_JSON_OK;
}


/* ms since the epoch must stay below year 10000 */
#define NGX_HTTP_CRMSYNC_MAX_MS  253402300800000LL


int
ngx_http_crmsync_json_time(int64_t *ms, json_t *obj, const char *key,
    int64_t unit_ms)
{
    size_t         i, len;
    json_t        *v;
    int64_t        n;
    const u_char  *s;

    v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

    if (v == NULL || json_is_null(v)) {
        return NGX_HTTP_CRMSYNC_JSON_ABSENT;
    }

    if (unit_ms <= 0) {
        unit_ms = 1;
    }

    if (json_is_integer(v)) {
        n = json_integer_value(v);

    } else if (json_is_string(v)) {
        s = (const u_char *) json_string_value(v);
        len = json_string_length(v);

        if (len == 0) {
            return NGX_HTTP_CRMSYNC_JSON_ABSENT;
        }

        if (len > 18) {
            return ngx_http_crmsync_iso8601_ms(s, len, ms) == 0
                   ? NGX_HTTP_CRMSYNC_JSON_OK : NGX_HTTP_CRMSYNC_JSON_BADTYPE;
        }

        n = 0;

        for (i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9') {
                return ngx_http_crmsync_iso8601_ms(s, len, ms) == 0
                       ? NGX_HTTP_CRMSYNC_JSON_OK
                       : NGX_HTTP_CRMSYNC_JSON_BADTYPE;
            }

            n = n * 10 + (s[i] - '0');
        }

    } else {
        return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    if (n < 0 || n > NGX_HTTP_CRMSYNC_MAX_MS / unit_ms) {
        return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    *ms = n * unit_ms;

    return NGX_HTTP_CRMSYNC_JSON_OK;
}


static int
ngx_http_crmsync_digits(const u_char *s, size_t n)
{
    int  v;

    v = 0;

    while (n--) {
        if (*s < '0' || *s > '9') {
            return -1;
        }

        v = v * 10 + (*s++ - '0');
    }

    return v;
}


int
ngx_http_crmsync_iso8601_ms(const u_char *s, size_t len, int64_t *ms)
{
    int      year, mon, mday, hour, min, sec, frac, scale, sign, off;
    size_t   i;
    int64_t  y, m, era, yoe, doy, doe, days, t;

    /* YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM) */

    if (len < 20 || len > 40) {
        return -1;
    }

    year = ngx_http_crmsync_digits(s, 4);
    mon = ngx_http_crmsync_digits(s + 5, 2);
    mday = ngx_http_crmsync_digits(s + 8, 2);
    hour = ngx_http_crmsync_digits(s + 11, 2);
    min = ngx_http_crmsync_digits(s + 14, 2);
    sec = ngx_http_crmsync_digits(s + 17, 2);

    if (year < 1970 || mon < 1 || mon > 12 || mday < 1 || mday > 31
        || hour < 0 || hour > 23 || min < 0 || min > 59
        || sec < 0 || sec > 60
        || s[4] != '-' || s[7] != '-'
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        || s[13] != ':' || s[16] != ':')
    {
        return -1;
    }

    i = 19;
    frac = 0;

    if (s[i] == '.' || s[i] == ',') {
        i++;
        scale = 100;

        if (i == len || s[i] < '0' || s[i] > '9') {
            return -1;
        }

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
    }

    if (i == len) {
        return -1;
    }

    off = 0;

    if (s[i] == 'Z' || s[i] == 'z') {
        i++;

    } else if (s[i] == '+' || s[i] == '-') {
        sign = (s[i] == '-') ? -1 : 1;

        if (len - i != 6 || s[i + 3] != ':') {
            return -1;
        }

        off = ngx_http_crmsync_digits(s + i + 1, 2);
        t = ngx_http_crmsync_digits(s + i + 4, 2);

        if (off < 0 || off > 23 || t < 0 || t > 59) {
            return -1;
        }

        off = sign * (off * 60 + (int) t);
        i += 6;

    } else {
        return -1;
    }

    if (i != len) {
        return -1;
    }

    /* days from civil (Howard Hinnant's algorithm) */

    y = year - (mon <= 2);
    m = mon;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + mday - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    t = ((days * 24 + hour) * 60 + min - off) * 60 + sec;

    if (t < 0) {
        return -1;
    }

    *ms = t * 1000 + frac;

    return 0;
}

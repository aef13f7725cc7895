
/*
 * Copyright (C) crmsync authors
 *
 * libFuzzer target for ngx_http_crmsync_parse() over every provider.
 * Input layout:
 *
 *   byte 0     bits 0-3: provider (1 + n % 9); bit 4: form body;
 *              bits 5-6: default region (none, US, DE, BR)
 *   the rest   the body, copied into a buffer of exactly its size
 *
 * Checks: no crash or overread; the advertised arena size is always
 * enough ("arena_full" never happens with it); events and their strings
 * lie in the arena; a smaller arena gives the same answer or NOMEM; the
 * $crmsync_event JSON is valid JSON of the right length.
 */


#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ngx_http_crmsync_event.h"


#define ngx_http_crmsync_fuzz_check(c)                                       \
    if (!(c)) {                                                              \
        abort();                                                             \
    }


static const char  *ngx_http_crmsync_fuzz_regions[] = {
    NULL, "US", "DE", "BR"
};


static void
ngx_http_crmsync_fuzz_in(const ngx_http_crmsync_str_t *s, u_char *start,
    u_char *end)
{
    if (s->len == 0) {
        return;
    }

    ngx_http_crmsync_fuzz_check(s->data >= start && s->data < end
                                && s->len <= (size_t) (end - s->data));
}


static void
ngx_http_crmsync_fuzz_events(ngx_http_crmsync_parse_t *p, u_char *start,
    u_char *end)
{
    size_t                     i, j, need, len;
    u_char                    *json;
    json_t                    *root;
    ngx_http_crmsync_event_t  *ev;

    ngx_http_crmsync_fuzz_check(p->nevents >= 1
                                && p->nevents
                                   <= NGX_HTTP_CRMSYNC_MAX_EVENTS);
    ngx_http_crmsync_fuzz_check((u_char *) p->events >= start
                                && (u_char *) (p->events + p->nevents)
                                   <= end);

    for (i = 0; i < p->nevents; i++) {
        ev = &p->events[i];

        ngx_http_crmsync_fuzz_check(ev->provider == p->provider);
        ngx_http_crmsync_fuzz_check(ev->type > NGX_HTTP_CRMSYNC_EV_NONE
                                    && ev->type < NGX_HTTP_CRMSYNC_EV_MAX);
        ngx_http_crmsync_fuzz_check(ev->author
                                    <= NGX_HTTP_CRMSYNC_AUTHOR_NOTE);

        /* standard: the glue fills it in from the webhook-id header */
        ngx_http_crmsync_fuzz_check(ev->delivery_id.len > 0
                                    || ev->provider
                                       == NGX_HTTP_CRMSYNC_PROVIDER_STANDARD);

        ngx_http_crmsync_fuzz_in(&ev->delivery_id, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.email, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.phone, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.phone_alt, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.whatsapp_id, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.messenger_psid, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.instagram_id, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.telegram_id, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.telegram_username, start,
                                 end);
        ngx_http_crmsync_fuzz_in(&ev->identity.platform_id, start, end);
        ngx_http_crmsync_fuzz_in(&ev->identity.hubspot_id, start, end);
        ngx_http_crmsync_fuzz_in(&ev->first_name, start, end);
        ngx_http_crmsync_fuzz_in(&ev->last_name, start, end);
        ngx_http_crmsync_fuzz_in(&ev->conversation_id, start, end);
        ngx_http_crmsync_fuzz_in(&ev->message_id, start, end);
        ngx_http_crmsync_fuzz_in(&ev->text, start, end);
        ngx_http_crmsync_fuzz_in(&ev->status, start, end);
        ngx_http_crmsync_fuzz_in(&ev->assignee, start, end);
        ngx_http_crmsync_fuzz_in(&ev->property, start, end);
        ngx_http_crmsync_fuzz_in(&ev->property_value, start, end);
        ngx_http_crmsync_fuzz_in(&ev->merged_ids, start, end);

        /* phones are E.164 */
        if (ev->identity.phone.len) {
            ngx_http_crmsync_fuzz_check(ev->identity.phone.data[0] == '+');
        }

        /* attribute names may be static strings; values in the arena */
        for (j = 0; j < ev->nattrs; j++) {
            ngx_http_crmsync_fuzz_check(ev->attrs != NULL);
            ngx_http_crmsync_fuzz_in(&ev->attrs[j].value, start, end);
        }
    }

    /* $crmsync_event: measured, written, read back */

    need = ngx_http_crmsync_events_json(p->events, p->nevents, NULL, 0);

    json = malloc(need);
    ngx_http_crmsync_fuzz_check(json != NULL);

    len = ngx_http_crmsync_events_json(p->events, p->nevents, json, need);
    ngx_http_crmsync_fuzz_check(len == need);

    root = json_loadb((const char *) json, len, JSON_ALLOW_NUL, NULL);
    ngx_http_crmsync_fuzz_check(json_is_array(root)
                                && json_array_size(root) == p->nevents);

    json_decref(root);
    free(json);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                        len, asize;
    u_char                       *body, *arena;
    ngx_http_crmsync_parse_t      p;
    ngx_http_crmsync_parse_rc_e   rc, rc2;

    if (size < 1) {
        return 0;
    }

    len = size - 1;

    /* exactly the body's bytes, so that ASan sees any overread */
    body = malloc(len ? len : 1);
    if (body == NULL) {
        return 0;
    }

    memcpy(body, data + 1, len);

    asize = ngx_http_crmsync_parse_arena_size(len);
    arena = malloc(asize);
    if (arena == NULL) {
        free(body);
        return 0;
    }

    memset(&p, 0, sizeof(ngx_http_crmsync_parse_t));
    p.provider = (ngx_http_crmsync_provider_e) (1 + (data[0] & 0x0f) % 9);
    p.form = (data[0] & 0x10) ? 1 : 0;
    p.default_region = ngx_http_crmsync_fuzz_regions[(data[0] >> 5) & 3];
    p.arena.start = arena;
    p.arena.pos = arena;
    p.arena.end = arena + asize;

    rc = ngx_http_crmsync_parse(&p, body, len);

    ngx_http_crmsync_fuzz_check(rc <= NGX_HTTP_CRMSYNC_PARSE_NOMEM);

    if (rc == NGX_HTTP_CRMSYNC_PARSE_OK) {
        ngx_http_crmsync_fuzz_check(p.reason == NULL);
        ngx_http_crmsync_fuzz_events(&p, arena, arena + asize);

    } else {
        ngx_http_crmsync_fuzz_check(p.reason != NULL && p.nevents == 0);

        /* the advertised size is enough */
        ngx_http_crmsync_fuzz_check(strcmp(p.reason, "arena_full") != 0);
    }

    /* a quarter of the arena: the same answer, or NOMEM */

    memset(&p, 0, sizeof(ngx_http_crmsync_parse_t));
    p.provider = (ngx_http_crmsync_provider_e) (1 + (data[0] & 0x0f) % 9);
    p.form = (data[0] & 0x10) ? 1 : 0;
    p.default_region = ngx_http_crmsync_fuzz_regions[(data[0] >> 5) & 3];
    p.arena.start = arena;
    p.arena.pos = arena;
    p.arena.end = arena + asize / 4;

    rc2 = ngx_http_crmsync_parse(&p, body, len);

    ngx_http_crmsync_fuzz_check(rc2 == rc
                                || rc2 == NGX_HTTP_CRMSYNC_PARSE_NOMEM);

    if (rc2 == NGX_HTTP_CRMSYNC_PARSE_OK) {
        ngx_http_crmsync_fuzz_events(&p, arena, arena + asize / 4);
    }

    free(arena);
    free(body);

    return 0;
}


/*
 * Copyright (C) crmsync authors
 *
 * The event model: arena, email, names, identities, JSON member helpers,
 * the $crmsync_event JSON form and the dispatcher's common paths.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"
#include "ngx_http_crmsync_phone.h"


#define ARENA  (1024 * 1024)

static u_char  arena_buf[ARENA];


static void
arena_init(ngx_http_crmsync_arena_t *a, size_t size)
{
    a->start = arena_buf;
    a->pos = arena_buf;
    a->end = arena_buf + size;
}


static void
assert_str(ngx_http_crmsync_str_t *s, const char *v)
{
    if (v == NULL) {
        assert_int_equal(s->len, 0);
        return;
    }

    assert_int_equal(s->len, strlen(v));
    assert_memory_equal(s->data, v, s->len);
}


/* arena */


static void
test_arena_alloc(void **state)
{
    void                      *a1, *a2;
    ngx_http_crmsync_arena_t   a;
    ngx_http_crmsync_str_t     s;

    (void) state;

    memset(arena_buf, 0xaa, 256);
    arena_init(&a, 64);

    assert_int_equal(ngx_http_crmsync_arena_copy(&a, &s,
                                                 (u_char *) "abc", 3), 0);
    assert_str(&s, "abc");
    assert_ptr_equal(s.data, arena_buf);

    /* aligned and zeroed */
    a1 = ngx_http_crmsync_arena_alloc(&a, 10);
    assert_non_null(a1);
    assert_int_equal((uintptr_t) a1 % sizeof(void *), 0);
    assert_int_equal(((u_char *) a1)[0], 0);
    assert_int_equal(((u_char *) a1)[9], 0);

    /* exhaustion: NULL, and the arena stays usable */
    a2 = ngx_http_crmsync_arena_alloc(&a, 64);
    assert_null(a2);
    assert_int_equal(ngx_http_crmsync_arena_copy(&a, &s, arena_buf, 64), -1);
    assert_int_equal(ngx_http_crmsync_arena_copy(&a, &s,
                                                 (u_char *) "x", 1), 0);
    assert_str(&s, "x");

    /* empty copies take nothing */
    assert_int_equal(ngx_http_crmsync_arena_copy(&a, &s, NULL, 0), 0);
    assert_int_equal(s.len, 0);

    /* a full arena */
    a.pos = a.end;
    assert_null(ngx_http_crmsync_arena_alloc(&a, 1));
    assert_int_equal(ngx_http_crmsync_arena_copy(&a, &s,
                                                 (u_char *) "x", 1), -1);
}


static void
test_event_add(void **state)
{
    size_t                     i;
    ngx_http_crmsync_event_t  *ev, *prev;
    ngx_http_crmsync_parse_t   p;

    (void) state;

    memset(&p, 0, sizeof(p));
    p.provider = NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM;
    arena_init(&p.arena, ARENA);

    prev = NULL;

    for (i = 0; i < NGX_HTTP_CRMSYNC_MAX_EVENTS; i++) {
        ev = ngx_http_crmsync_event_add(&p);
        assert_non_null(ev);
        assert_int_equal(ev->provider, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM);
        assert_int_equal(ev->csat, -1);
        assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_NONE);
        assert_int_equal(ev->text.len, 0);
        assert_int_equal((uintptr_t) ev % sizeof(void *), 0);

        if (prev) {
            assert_ptr_equal(ev + 1, prev);
        }

        prev = ev;
    }

    assert_int_equal(p.nevents, NGX_HTTP_CRMSYNC_MAX_EVENTS);
    assert_null(ngx_http_crmsync_event_add(&p));
    assert_string_equal(p.reason, "too_many_events");

    /* a small arena fills up */
    memset(&p, 0, sizeof(p));
    arena_init(&p.arena, sizeof(ngx_http_crmsync_event_t) + 7);
    assert_non_null(ngx_http_crmsync_event_add(&p));
    assert_null(ngx_http_crmsync_event_add(&p));
    assert_string_equal(p.reason, "arena_full");

    /* strings and events share the arena without overlap */
    memset(&p, 0, sizeof(p));
    arena_init(&p.arena, 2 * sizeof(ngx_http_crmsync_event_t) + 16);
    assert_non_null(ngx_http_crmsync_event_add(&p));
    assert_non_null(ngx_http_crmsync_arena_alloc(&p.arena,
                                          sizeof(ngx_http_crmsync_event_t)));
    assert_null(ngx_http_crmsync_event_add(&p));
}


/* email */


static void
test_email(void **state)
{
    size_t                    i;
    char                      long_email[300];
    const char               *bad[] = {
        "", "a", "a@b", "@b.c", "a@", "a@@b.c", "a@b@c.d", "a b@c.d",
        "a@b.c.", "a@.bc", "a@bc", "ab.c@d", "a@b\x01.c", "a@b\x7f.c",
        "a\t@b.c", "   ", "a@b..", NULL
    };
    ngx_http_crmsync_str_t    s;
    ngx_http_crmsync_arena_t  a;

    (void) state;

    arena_init(&a, ARENA);

    assert_int_equal(ngx_http_crmsync_email(&a, &s,
                         (u_char *) " \tFoo.Bar+Tag@Example.COM \r\n", 28),
                     0);
    assert_str(&s, "foo.bar+tag@example.com");

    assert_int_equal(ngx_http_crmsync_email(&a, &s, (u_char *) "a@b.co", 6),
                     0);
    assert_str(&s, "a@b.co");

    /* non-ASCII is kept as it is (IDN, UTF-8 local parts) */
    assert_int_equal(ngx_http_crmsync_email(&a, &s,
                         (u_char *) "J\xc3\xb6rg@B\xc3\xbc" "cher.de", 16),
                     0);
    assert_str(&s, "j\xc3\xb6rg@b\xc3\xbc" "cher.de");

    for (i = 0; bad[i]; i++) {
        s.len = 99;
        assert_int_equal(ngx_http_crmsync_email(&a, &s, (u_char *) bad[i],
                                                strlen(bad[i])),
                         -1);
        assert_int_equal(s.len, 99);
    }

    assert_int_equal(ngx_http_crmsync_email(&a, &s, NULL, 0), -1);

    /* 254 bytes is the limit */
    memset(long_email, 'a', sizeof(long_email));
    memcpy(long_email + 254 - 6, "@b.com", 6);
    assert_int_equal(ngx_http_crmsync_email(&a, &s, (u_char *) long_email,
                                            254), 0);
    assert_int_equal(s.len, 254);

    memcpy(long_email + 255 - 6, "@b.com", 6);
    assert_int_equal(ngx_http_crmsync_email(&a, &s, (u_char *) long_email,
                                            255), -1);

    /* a full arena drops it */
    a.pos = a.end;
    assert_int_equal(ngx_http_crmsync_email(&a, &s, (u_char *) "a@b.co", 6),
                     -1);
}


/* names */


static void
name(const char *full, const char *first, const char *last)
{
    ngx_http_crmsync_event_t  ev;
    ngx_http_crmsync_arena_t  a;

    arena_init(&a, ARENA);
    memset(&ev, 0, sizeof(ev));

    assert_int_equal(ngx_http_crmsync_full_name(&a, &ev, (u_char *) full,
                                                strlen(full)), 0);
    assert_str(&ev.first_name, first);
    assert_str(&ev.last_name, last);
}


static void
test_full_name(void **state)
{
    ngx_http_crmsync_event_t  ev;
    ngx_http_crmsync_arena_t  a;

    (void) state;

    name("Ana Maria Silva", "Ana", "Maria Silva");
    name("Sheena Nelson", "Sheena", "Nelson");
    name("  Cher  ", "Cher", NULL);
    name("Ana   Silva ", "Ana", "Silva");
    name("", NULL, NULL);
    name("   ", NULL, NULL);
    name("Jos\xc3\xa9 \xc3\x81lvarez", "Jos\xc3\xa9", "\xc3\x81lvarez");

    arena_init(&a, 4);
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(ngx_http_crmsync_full_name(&a, &ev,
                                                (u_char *) "Ana Silva", 9),
                     -1);
    assert_int_equal(ngx_http_crmsync_full_name(&a, &ev, NULL, 0), 0);
}


/* identities */


static void
test_phone_identity(void **state)
{
    ngx_http_crmsync_arena_t     a;
    ngx_http_crmsync_identity_t  id;

    (void) state;

    arena_init(&a, ARENA);

    memset(&id, 0, sizeof(id));
    assert_int_equal(ngx_http_crmsync_phone_identity(&a, &id,
                         (u_char *) "(415) 555-0123", 14, "US"), 0);
    assert_str(&id.phone, "+14155550123");
    assert_str(&id.phone_alt, NULL);

    memset(&id, 0, sizeof(id));
    assert_int_equal(ngx_http_crmsync_phone_identity(&a, &id,
                         (u_char *) "+14155550100", 12, NULL), 0);
    assert_str(&id.phone, "+14155550100");

    /* not valid: dropped (a fictional 555 area code, garbage, no region) */
    memset(&id, 0, sizeof(id));
    assert_int_equal(ngx_http_crmsync_phone_identity(&a, &id,
                         (u_char *) "+15555550123", 12, "US"), -1);
    assert_int_equal(id.phone.len, 0);
    assert_int_equal(ngx_http_crmsync_phone_identity(&a, &id,
                         (u_char *) "hello", 5, "US"), -1);
    assert_int_equal(ngx_http_crmsync_phone_identity(&a, &id,
                         (u_char *) "4155550123", 10, NULL), -1);
    assert_int_equal(ngx_http_crmsync_phone_identity(&a, &id, NULL, 0, "US"),
                     -1);
    assert_int_equal(id.phone.len, 0);
}


static void
wa(const char *in, int rc, const char *waid, const char *phone,
    const char *alt)
{
    ngx_http_crmsync_arena_t     a;
    ngx_http_crmsync_identity_t  id;

    arena_init(&a, ARENA);
    memset(&id, 0, sizeof(id));

    assert_int_equal(ngx_http_crmsync_whatsapp_identity(&a, &id,
                                                        (u_char *) in,
                                                        strlen(in)),
                     rc);
    assert_str(&id.whatsapp_id, waid);
    assert_str(&id.phone, phone);
    assert_str(&id.phone_alt, alt);
}


static void
test_whatsapp_identity(void **state)
{
    (void) state;

    wa("16505551234", 0, "16505551234", "+16505551234", NULL);
    wa("whatsapp:+14155550123", 0, "14155550123", "+14155550123", NULL);
    wa("+14155550123", 0, "14155550123", "+14155550123", NULL);

    /* Mexico: the old mobile "1" is dropped from the E.164 */
    wa("5215512345678", 0, "5215512345678", "+525512345678", NULL);

    /* Brazil: the ninth digit, both forms */
    wa("5511987654321", 0, "5511987654321", "+5511987654321",
       "+551187654321");

    wa("", -1, NULL, NULL, NULL);
    wa("whatsapp:", -1, NULL, NULL, NULL);
    wa("abc", -1, NULL, NULL, NULL);
    wa("1650555123x", -1, NULL, NULL, NULL);
    wa("123456789012345678901", -1, NULL, NULL, NULL);
}


/* names tables */


static void
test_names(void **state)
{
    (void) state;

    assert_null(ngx_http_crmsync_event_type_names[0]);
    assert_string_equal(ngx_http_crmsync_event_type_names[
                            NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND],
                        "message.inbound");
    assert_string_equal(ngx_http_crmsync_event_type_names[
                            NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS],
                        "message.status");
    assert_string_equal(ngx_http_crmsync_event_type_names[
                            NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED],
                        "conversation.assigned");
    assert_string_equal(ngx_http_crmsync_event_type_names[
                            NGX_HTTP_CRMSYNC_EV_CSAT], "csat");
    assert_string_equal(ngx_http_crmsync_event_type_names[
                            NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_MERGED],
                        "crm.contact.merged");
    assert_null(ngx_http_crmsync_event_type_names[NGX_HTTP_CRMSYNC_EV_MAX]);

    assert_null(ngx_http_crmsync_author_names[0]);
    assert_string_equal(ngx_http_crmsync_author_names[
                            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT], "contact");
    assert_string_equal(ngx_http_crmsync_author_names[
                            NGX_HTTP_CRMSYNC_AUTHOR_BOT], "bot");
    assert_string_equal(ngx_http_crmsync_author_names[
                            NGX_HTTP_CRMSYNC_AUTHOR_NOTE], "note");
}


/* JSON member helpers */


static void
test_json_helpers(void **state)
{
    int64_t                      ms;
    const char                  *doc;
    ngx_http_crmsync_str_t       s;
    ngx_http_crmsync_json_t     *o;
    ngx_http_crmsync_arena_t     a;
    ngx_http_crmsync_json_rc_e   jrc;

    (void) state;

    arena_init(&a, ARENA);

    /* the helpers read the arena reader's tree, as the adapters do */

    doc = "{\"s\":\"abc\",\"e\":\"\",\"n\":null,\"i\":-42,"
          "\"big\":9007199254740993,\"f\":1.5,\"b\":true,"
          "\"ts\":\"1749416383\",\"tm\":1458692752478,"
          "\"iso\":\"2022-11-03T20:26:10.344522Z\","
          "\"isooff\":\"2022-11-03T22:26:10+02:00\","
          "\"badts\":\"yesterday\",\"neg\":-5}";

    o = ngx_http_crmsync_json_parse(&a, (const u_char *) doc, strlen(doc),
                                    &jrc);
    assert_non_null(o);

    assert_int_equal(ngx_http_crmsync_json_string(&a, &s, o, "s"),
                     NGX_HTTP_CRMSYNC_JSON_OK);
    assert_str(&s, "abc");
    assert_int_equal(ngx_http_crmsync_json_string(&a, &s, o, "e"),
                     NGX_HTTP_CRMSYNC_JSON_ABSENT);
    assert_int_equal(ngx_http_crmsync_json_string(&a, &s, o, "n"),
                     NGX_HTTP_CRMSYNC_JSON_ABSENT);
    assert_int_equal(ngx_http_crmsync_json_string(&a, &s, o, "missing"),
                     NGX_HTTP_CRMSYNC_JSON_ABSENT);
    assert_int_equal(ngx_http_crmsync_json_string(&a, &s, o, "i"),
                     NGX_HTTP_CRMSYNC_JSON_BADTYPE);
    assert_int_equal(ngx_http_crmsync_json_string(&a, &s, NULL, "s"),
                     NGX_HTTP_CRMSYNC_JSON_ABSENT);

    assert_int_equal(ngx_http_crmsync_json_id(&a, &s, o, "i"),
                     NGX_HTTP_CRMSYNC_JSON_OK);
    assert_str(&s, "-42");
    assert_int_equal(ngx_http_crmsync_json_id(&a, &s, o, "big"),
                     NGX_HTTP_CRMSYNC_JSON_OK);
    assert_str(&s, "9007199254740993");
    assert_int_equal(ngx_http_crmsync_json_id(&a, &s, o, "s"),
                     NGX_HTTP_CRMSYNC_JSON_OK);
    assert_str(&s, "abc");
    assert_int_equal(ngx_http_crmsync_json_id(&a, &s, o, "f"),
                     NGX_HTTP_CRMSYNC_JSON_BADTYPE);
    assert_int_equal(ngx_http_crmsync_json_id(&a, &s, o, "b"),
                     NGX_HTTP_CRMSYNC_JSON_BADTYPE);

    ms = 7;
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "ts", 1000),
                     NGX_HTTP_CRMSYNC_JSON_OK);
    assert_int_equal(ms, 1749416383000LL);
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "tm", 1),
                     NGX_HTTP_CRMSYNC_JSON_OK);
    assert_int_equal(ms, 1458692752478LL);
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "iso", 1000),
                     NGX_HTTP_CRMSYNC_JSON_OK);
    assert_int_equal(ms, 1667507170344LL);
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "isooff", 1000),
                     NGX_HTTP_CRMSYNC_JSON_OK);
    assert_int_equal(ms, 1667507170000LL);

    ms = 7;
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "badts", 1000),
                     NGX_HTTP_CRMSYNC_JSON_BADTYPE);
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "neg", 1000),
                     NGX_HTTP_CRMSYNC_JSON_BADTYPE);
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "f", 1000),
                     NGX_HTTP_CRMSYNC_JSON_BADTYPE);
    /* far future: seconds * 1000 would overflow */
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "tm", 1000),
                     NGX_HTTP_CRMSYNC_JSON_BADTYPE);
    assert_int_equal(ngx_http_crmsync_json_time(&ms, o, "missing", 1000),
                     NGX_HTTP_CRMSYNC_JSON_ABSENT);
    assert_int_equal(ms, 7);

    assert_int_equal(ngx_http_crmsync_iso8601_ms((u_char *)
                         "1970-01-01T00:00:00Z", 20, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(ngx_http_crmsync_iso8601_ms((u_char *)
                         "2024-02-29T12:00:00.5Z", 22, &ms), 0);
    assert_int_equal(ms, 1709208000500LL);
    assert_int_equal(ngx_http_crmsync_iso8601_ms((u_char *)
                         "2024-02-29T12:00:00", 19, &ms), -1);
    assert_int_equal(ngx_http_crmsync_iso8601_ms((u_char *)
                         "2024-13-29T12:00:00Z", 20, &ms), -1);
    assert_int_equal(ngx_http_crmsync_iso8601_ms((u_char *)
                         "2024-02-29T12:00:00+0200", 24, &ms), -1);
    assert_int_equal(ngx_http_crmsync_iso8601_ms((u_char *)
                         "2024-02-29T12:00:00.Z", 21, &ms), -1);
}


/* $crmsync_event */


static size_t
render(ngx_http_crmsync_event_t *ev, size_t n, char *out, size_t size)
{
    size_t  len;

    len = ngx_http_crmsync_events_json(ev, n, (u_char *) out, size - 1);
    assert_true(len < size);
    out[len] = '\0';

    return len;
}


#define S(s)  { sizeof(s) - 1, (u_char *) s }


static void
test_json_full(void **state)
{
    char                       out[4096];
    ngx_http_crmsync_attr_t    attrs[2] = {
        { S("score"), S("42") },
        { S("plan"), S("pro \"x\"") }
    };
    ngx_http_crmsync_event_t   ev;

    (void) state;

    memset(&ev, 0, sizeof(ev));
    ev.provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;
    ev.type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND;
    ev.delivery_id = (ngx_http_crmsync_str_t) S("wamid.X");
    ev.occurred_at = 1749416383000LL;
    ev.identity.email = (ngx_http_crmsync_str_t) S("a@b.co");
    ev.identity.phone = (ngx_http_crmsync_str_t) S("+5511987654321");
    ev.identity.phone_alt = (ngx_http_crmsync_str_t) S("+551187654321");
    ev.identity.whatsapp_id = (ngx_http_crmsync_str_t) S("5511987654321");
    ev.identity.messenger_psid = (ngx_http_crmsync_str_t) S("psid");
    ev.identity.instagram_id = (ngx_http_crmsync_str_t) S("igsid");
    ev.identity.telegram_id = (ngx_http_crmsync_str_t) S("1111111");
    ev.identity.telegram_username = (ngx_http_crmsync_str_t) S("tuser");
    ev.identity.platform_id = (ngx_http_crmsync_str_t) S("c-1");
    ev.identity.hubspot_id = (ngx_http_crmsync_str_t) S("501");
    ev.first_name = (ngx_http_crmsync_str_t) S("Ana");
    ev.last_name = (ngx_http_crmsync_str_t) S("Maria Silva");
    ev.conversation_id = (ngx_http_crmsync_str_t) S("conv-1");
    ev.author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;
    ev.message_id = (ngx_http_crmsync_str_t) S("wamid.X");
    ev.text = (ngx_http_crmsync_str_t) S("hi");
    ev.status = (ngx_http_crmsync_str_t) S("read");
    ev.attachments = NGX_HTTP_CRMSYNC_ATT_IMAGE | NGX_HTTP_CRMSYNC_ATT_FILE
                     | NGX_HTTP_CRMSYNC_ATT_OTHER;
    ev.assignee = (ngx_http_crmsync_str_t) S("agent@x.io");
    ev.attrs = attrs;
    ev.nattrs = 2;
    ev.csat = 0;
    ev.property = (ngx_http_crmsync_str_t) S("lifecyclestage");
    ev.property_value = (ngx_http_crmsync_str_t) S("lead");
    ev.merged_ids = (ngx_http_crmsync_str_t) S("1,2");

    render(&ev, 1, out, sizeof(out));

    assert_string_equal(out,
        "[{\"provider\":\"whatsapp\",\"type\":\"message.inbound\","
        "\"delivery_id\":\"wamid.X\",\"occurred_at\":1749416383000,"
        "\"identity\":{\"email\":\"a@b.co\",\"phone\":\"+5511987654321\","
        "\"phone_alt\":\"+551187654321\","
        "\"whatsapp_id\":\"5511987654321\",\"messenger_psid\":\"psid\","
        "\"instagram_id\":\"igsid\",\"telegram_id\":\"1111111\","
        "\"telegram_username\":\"tuser\",\"platform_id\":\"c-1\","
        "\"hubspot_id\":\"501\"},"
        "\"first_name\":\"Ana\",\"last_name\":\"Maria Silva\","
        "\"conversation_id\":\"conv-1\","
        "\"message\":{\"author\":\"contact\",\"id\":\"wamid.X\","
        "\"text\":\"hi\",\"status\":\"read\","
        "\"attachments\":[\"image\",\"file\",\"other\"]},"
        "\"assignee\":\"agent@x.io\","
        "\"attributes\":{\"score\":\"42\",\"plan\":\"pro \\\"x\\\"\"},"
        "\"csat\":0,\"property\":\"lifecyclestage\","
        "\"property_value\":\"lead\",\"merged_ids\":\"1,2\"}]");
}


static void
test_json_empty_fields(void **state)
{
    char                       out[1024];
    ngx_http_crmsync_event_t   ev[2];

    (void) state;

    assert_int_equal(ngx_http_crmsync_events_json(NULL, 0, (u_char *) out,
                                                  sizeof(out)), 2);
    assert_memory_equal(out, "[]", 2);

    memset(ev, 0, sizeof(ev));
    ev[0].provider = NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM;
    ev[0].type = NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS;
    ev[0].csat = -1;
    ev[0].status = (ngx_http_crmsync_str_t) S("sent");
    ev[0].attachments = 0x100;          /* not a known kind: ignored */

    /* out of range enums and empty strings: left out */
    ev[1].provider = NGX_HTTP_CRMSYNC_PROVIDER_MAX;
    ev[1].type = NGX_HTTP_CRMSYNC_EV_MAX;
    ev[1].author = 77;
    ev[1].csat = -1;
    ev[1].text.data = (u_char *) "x";     /* len 0 */
    ev[1].nattrs = 3;                     /* attrs NULL */

    render(ev, 2, out, sizeof(out));

    assert_string_equal(out,
        "[{\"provider\":\"telegram\",\"type\":\"message.status\","
        "\"message\":{\"status\":\"sent\"}},{}]");
}


static void
test_json_escaping(void **state)
{
    char                       out[1024];
    json_t                    *j;
    ngx_http_crmsync_event_t   ev;

    (void) state;

    memset(&ev, 0, sizeof(ev));
    ev.csat = -1;

    /* quotes, backslash, named and other control characters, DEL */
    ev.text = (ngx_http_crmsync_str_t)
              S("a\"b\\c/d\n\r\t\b\f\x01\x1f\x7f" "e");
    render(&ev, 1, out, sizeof(out));
    assert_string_equal(out,
        "[{\"message\":{\"text\":"
        "\"a\\\"b\\\\c/d\\n\\r\\t\\b\\f\\u0001\\u001f\\u007fe\"}}]");

    /* valid UTF-8 stays, U+2028 / U+2029 are escaped for JavaScript */
    ev.text = (ngx_http_crmsync_str_t)
              S("\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x80\xa8\xe2\x80\xa9");
    render(&ev, 1, out, sizeof(out));
    assert_string_equal(out,
        "[{\"message\":{\"text\":"
        "\"\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80\\u2028\\u2029\"}}]");

    /*
     * invalid UTF-8, one U+FFFD per bad byte: a lone continuation, 0xff,
     * an overlong '/', a surrogate, past U+10FFFF, a truncated sequence
     */
    ev.text = (ngx_http_crmsync_str_t)
              S("\x80" "a" "\xff" "\xc0\xaf" "\xed\xa0\x80" "\xf4\x90\x80\x80"
                "\xe2\x82");
    render(&ev, 1, out, sizeof(out));
    assert_string_equal(out,
        "[{\"message\":{\"text\":"
        "\"\\ufffda\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
        "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"}}]");

    /* an embedded NUL */
    ev.text.len = 3;
    ev.text.data = (u_char *) "a\0b";
    render(&ev, 1, out, sizeof(out));
    assert_string_equal(out, "[{\"message\":{\"text\":\"a\\u0000b\"}}]");

    /* the output is always JSON that jansson reads back */
    ev.text = (ngx_http_crmsync_str_t) S("\"\\\x01\xff\xe2\x80\xa8z");
    render(&ev, 1, out, sizeof(out));
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(
                            json_array_get(j, 0), "message"), "text")),
                        "\"\\\x01\xef\xbf\xbd\xe2\x80\xa8z");
    json_decref(j);
}


static void
test_json_too_small(void **state)
{
    u_char                     out[256];
    size_t                     need, len;
    ngx_http_crmsync_event_t   ev;

    (void) state;

    memset(&ev, 0, sizeof(ev));
    ev.provider = NGX_HTTP_CRMSYNC_PROVIDER_TWILIO;
    ev.type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND;
    ev.text = (ngx_http_crmsync_str_t) S("hello\n");
    ev.csat = 5;

    need = ngx_http_crmsync_events_json(&ev, 1, NULL, 0);
    assert_int_equal(need, strlen("[{\"provider\":\"twilio\","
                                  "\"type\":\"message.inbound\","
                                  "\"message\":{\"text\":\"hello\\n\"},"
                                  "\"csat\":5}]"));

    /* one byte short: nothing written, the length needed returned */
    memset(out, 'Z', sizeof(out));
    len = ngx_http_crmsync_events_json(&ev, 1, out, need - 1);
    assert_int_equal(len, need);
    assert_int_equal(out[0], 'Z');
    assert_int_equal(out[need - 2], 'Z');

    /* exactly enough */
    len = ngx_http_crmsync_events_json(&ev, 1, out, need);
    assert_int_equal(len, need);
    assert_memory_equal(out, "[{\"provider\":\"twilio\"", 21);
    assert_int_equal(out[need - 1], ']');
    assert_int_equal(out[need], 'Z');
}


/* the dispatcher's common paths */


/* open x depth, "1", close x depth */

static char *
nest(const char *open, const char *close, size_t depth)
{
    char    *s, *p;
    size_t   i;

    s = malloc(depth * (strlen(open) + strlen(close)) + 2);
    assert_non_null(s);

    p = s;

    for (i = 0; i < depth; i++) {
        p = stpcpy(p, open);
    }

    *p++ = '1';

    for (i = 0; i < depth; i++) {
        p = stpcpy(p, close);
    }

    *p = '\0';

    return s;
}


static ngx_http_crmsync_parse_rc_e
parse(ngx_http_crmsync_parse_t *p, ngx_http_crmsync_provider_e provider,
    const char *body, size_t len)
{
    memset(p, 0, sizeof(ngx_http_crmsync_parse_t));
    p->provider = provider;
    arena_init(&p->arena, ARENA);

    return ngx_http_crmsync_parse(p, (const u_char *) body, len);
}


static void
test_parse_malformed(void **state)
{
    char                     *deep;
    ngx_http_crmsync_parse_t  p;

    (void) state;

    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, "", 0),
                     NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    assert_string_equal(p.reason, "bad_json");

    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, "{\"a\":",
                           5),
                     NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    assert_string_equal(p.reason, "bad_json");
    assert_int_equal(p.nevents, 0);
    assert_null(p.events);

    /* the length is honoured: a valid prefix of a longer buffer */
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM,
                           "{\"update_id\":1}garbage", 15),
                     NGX_HTTP_CRMSYNC_PARSE_SKIP);
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM,
                           "{\"update_id\":1}garbage", 16),
                     NGX_HTTP_CRMSYNC_PARSE_MALFORMED);

    /* an embedded NUL; a scalar root is JSON, but no shape we read */
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM,
                           "{\"a\":\"\0\"}", 9),
                     NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, "42", 2),
                     NGX_HTTP_CRMSYNC_PARSE_UNREADABLE);
    assert_string_equal(p.reason, "not_an_object");

    /* an array root: valid JSON, not a shape we read */
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, "[]", 2),
                     NGX_HTTP_CRMSYNC_PARSE_UNREADABLE);
    assert_string_equal(p.reason, "not_an_object");

    /*
     * 10,000 levels of nesting: the reader stops at
     * NGX_HTTP_CRMSYNC_JSON_MAX_DEPTH with an error, no deep recursion;
     * 200 levels parse
     */
    deep = nest("[", "]", 10000);
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, deep,
                           strlen(deep)),
                     NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    assert_string_equal(p.reason, "bad_json");
    free(deep);

    deep = nest("{\"a\":", "}", 10000);
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, deep,
                           strlen(deep)),
                     NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    assert_string_equal(p.reason, "bad_json");
    free(deep);

    deep = nest("{\"entry\":", "}", 200);
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, deep,
                           strlen(deep)),
                     NGX_HTTP_CRMSYNC_PARSE_UNREADABLE);
    assert_string_equal(p.reason, "whatsapp_no_entry");
    free(deep);
}


static void
test_parse_arena(void **state)
{
    ngx_http_crmsync_parse_t  p;
    static const char         body[] =
        "{\"update_id\":7,\"message\":{\"message_id\":1,\"date\":1,"
        "\"from\":{\"id\":5,\"first_name\":\"A\"},\"text\":\"hello\"}}";

    (void) state;

    /* no arena */
    memset(&p, 0, sizeof(p));
    p.provider = NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM;
    assert_int_equal(ngx_http_crmsync_parse(&p, (u_char *) body,
                                            sizeof(body) - 1),
                     NGX_HTTP_CRMSYNC_PARSE_NOMEM);

    /* too small an arena */
    p.arena.start = arena_buf;
    p.arena.pos = arena_buf;
    p.arena.end = arena_buf + 100;
    assert_int_equal(ngx_http_crmsync_parse(&p, (u_char *) body,
                                            sizeof(body) - 1),
                     NGX_HTTP_CRMSYNC_PARSE_NOMEM);
    assert_string_equal(p.reason, "arena_full");
    assert_int_equal(p.nevents, 0);

    /* the advertised size is enough */
    p.arena.pos = arena_buf;
    p.arena.end = arena_buf
                  + ngx_http_crmsync_parse_arena_size(sizeof(body) - 1);
    assert_int_equal(ngx_http_crmsync_parse(&p, (u_char *) body,
                                            sizeof(body) - 1),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(p.nevents, 1);
    assert_str(&p.events[0].text, "hello");

    /* an unknown provider */
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_NONE, "{}", 2),
                     NGX_HTTP_CRMSYNC_PARSE_UNREADABLE);
    assert_string_equal(p.reason, "unknown_provider");
    assert_int_equal(parse(&p, NGX_HTTP_CRMSYNC_PROVIDER_MAX, "{}", 2),
                     NGX_HTTP_CRMSYNC_PARSE_UNREADABLE);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_arena_alloc),
        cmocka_unit_test(test_event_add),
        cmocka_unit_test(test_email),
        cmocka_unit_test(test_full_name),
        cmocka_unit_test(test_phone_identity),
        cmocka_unit_test(test_whatsapp_identity),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_json_helpers),
        cmocka_unit_test(test_json_full),
        cmocka_unit_test(test_json_empty_fields),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_too_small),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_arena),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

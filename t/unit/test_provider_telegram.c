
/*
 * Copyright (C) crmsync authors
 *
 * The Telegram adapter: every sample in t/samples/telegram parses to the
 * event it describes; update kinds, bots, shared contacts, wrong types.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_crmsync_event.h"


typedef struct {
    ngx_http_crmsync_parse_t      p;
    u_char                       *arena;
    ngx_http_crmsync_parse_rc_e   rc;
} run_t;


static char *
read_file(const char *path, size_t *len)
{
    FILE  *f;
    char  *buf;
    long   n;

    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);

    buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, n, f), (size_t) n);
    buf[n] = '\0';
    fclose(f);

    *len = n;
    return buf;
}


/* the arena is exactly ngx_http_crmsync_parse_arena_size(len) bytes */

static void
run(run_t *r, ngx_http_crmsync_provider_e provider, const char *body,
    size_t len)
{
    size_t  size;

    memset(r, 0, sizeof(run_t));

    size = ngx_http_crmsync_parse_arena_size(len);
    r->arena = malloc(size);
    assert_non_null(r->arena);

    r->p.provider = provider;
    r->p.default_region = "US";
    r->p.arena.start = r->arena;
    r->p.arena.pos = r->arena;
    r->p.arena.end = r->arena + size;

    r->rc = ngx_http_crmsync_parse(&r->p, (const u_char *) body, len);

    if (r->rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        assert_non_null(r->p.reason);
        assert_int_equal(r->p.nevents, 0);

    } else {
        assert_null(r->p.reason);
        assert_true(r->p.nevents > 0);
    }
}


static void
done(run_t *r)
{
    free(r->arena);
}


static void
expect(ngx_http_crmsync_provider_e provider, const char *body,
    ngx_http_crmsync_parse_rc_e rc, const char *reason)
{
    run_t  r;

    run(&r, provider, body, strlen(body));

    if (r.rc != rc || (reason && strcmp(r.p.reason, reason) != 0)) {
        fail_msg("%s: rc %d \"%s\", expected %d \"%s\"", body, r.rc,
                 r.p.reason ? r.p.reason : "", rc, reason ? reason : "");
    }

    done(&r);
}


static void
assert_str(ngx_http_crmsync_str_t *s, const char *v)
{
    if (v == NULL) {
        if (s->len) {
            fail_msg("expected empty, got \"%.*s\"", (int) s->len, s->data);
        }

        return;
    }

    if (s->len != strlen(v) || memcmp(s->data, v, s->len) != 0) {
        fail_msg("expected \"%s\", got \"%.*s\"", v, (int) s->len,
                 s->data ? (char *) s->data : "");
    }
}


/* the fields an event of these providers never sets */

static void
assert_no_extras(ngx_http_crmsync_event_t *ev)
{
    assert_str(&ev->identity.email, NULL);
    assert_str(&ev->identity.whatsapp_id, NULL);
    assert_str(&ev->identity.messenger_psid, NULL);
    assert_str(&ev->identity.instagram_id, NULL);
    assert_str(&ev->identity.platform_id, NULL);
    assert_str(&ev->status, NULL);
    assert_str(&ev->identity.hubspot_id, NULL);
    assert_str(&ev->assignee, NULL);
    assert_str(&ev->property, NULL);
    assert_str(&ev->property_value, NULL);
    assert_str(&ev->merged_ids, NULL);
    assert_int_equal(ev->csat, -1);
}


/* the samples */


static void
assert_test_user(ngx_http_crmsync_event_t *ev)
{
    assert_int_equal(ev->provider, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM);
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    assert_str(&ev->identity.telegram_id, "1111111");
    assert_str(&ev->identity.telegram_username, "Testusername");
    assert_str(&ev->first_name, "Test Firstname");
    assert_str(&ev->last_name, "Test Lastname");
    assert_str(&ev->conversation_id, "1111111");
    assert_int_equal(ev->nattrs, 0);
    assert_no_extras(ev);
}


static void
test_sample_text(void **state)
{
    char                      *body, json[1024];
    size_t                     len, n;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    body = read_file("t/samples/telegram/message_text.json", &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, body, len);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_test_user(ev);
    assert_str(&ev->delivery_id, "10000");
    assert_str(&ev->message_id, "1365");
    assert_int_equal(ev->occurred_at, 1441645532000LL);
    assert_str(&ev->text, "/start");
    assert_int_equal(ev->attachments, 0);
    assert_str(&ev->identity.phone, NULL);
    assert_str(&ev->identity.phone_alt, NULL);

    n = ngx_http_crmsync_events_json(r.p.events, r.p.nevents,
                                     (u_char *) json, sizeof(json) - 1);
    assert_true(n < sizeof(json));
    json[n] = '\0';
    assert_string_equal(json,
        "[{\"provider\":\"telegram\",\"type\":\"message.inbound\","
        "\"delivery_id\":\"10000\",\"occurred_at\":1441645532000,"
        "\"identity\":{\"telegram_id\":\"1111111\","
        "\"telegram_username\":\"Testusername\"},"
        "\"first_name\":\"Test Firstname\",\"last_name\":\"Test Lastname\","
        "\"conversation_id\":\"1111111\","
        "\"message\":{\"author\":\"contact\",\"id\":\"1365\","
        "\"text\":\"/start\"}}]");

    done(&r);
    free(body);
}


static void
test_sample_forwarded(void **state)
{
    char                      *body;
    size_t                     len;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    /* the sender is who forwarded it, not forward_from */
    body = read_file("t/samples/telegram/message_forwarded.json", &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, body, len);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_test_user(ev);
    assert_str(&ev->delivery_id, "10000");
    assert_str(&ev->message_id, "1365");
    assert_int_equal(ev->occurred_at, 1441645532000LL);
    assert_str(&ev->text, "/start");
    assert_int_equal(ev->attachments, 0);
    assert_str(&ev->identity.phone, NULL);

    done(&r);
    free(body);
}


static void
test_sample_contact(void **state)
{
    char                      *body;
    size_t                     len;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    body = read_file("t/samples/telegram/CONSTRUCTED_message_contact.json",
                     &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, body, len);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_test_user(ev);
    assert_str(&ev->delivery_id, "10001");
    assert_str(&ev->message_id, "1366");
    assert_int_equal(ev->occurred_at, 1441645600000LL);
    assert_str(&ev->text, NULL);
    assert_int_equal(ev->attachments, NGX_HTTP_CRMSYNC_ATT_CONTACT);

    /*
     * the card is the sender's own (user_id == from.id), but +1 555 is a
     * fictional area code: not a valid number, so no phone identity
     */
    assert_str(&ev->identity.phone, NULL);

    done(&r);
    free(body);
}


/* shared contacts */


static void
contact(const char *phone, int user_id, const char *e164)
{
    char   body[1024];
    run_t  r;

    snprintf(body, sizeof(body),
             "{\"update_id\":1,\"message\":{\"message_id\":2,\"date\":3,"
             "\"chat\":{\"id\":5,\"type\":\"private\"},"
             "\"from\":{\"id\":5,\"is_bot\":false,\"first_name\":\"A\"},"
             "\"contact\":{\"phone_number\":\"%s\",\"first_name\":\"A\","
             "\"user_id\":%d}}}", phone, user_id);

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, body, strlen(body));

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.events[0].attachments, NGX_HTTP_CRMSYNC_ATT_CONTACT);
    assert_str(&r.p.events[0].identity.phone, e164);

    done(&r);
}


static void
test_contact_phone(void **state)
{
    (void) state;

    /* national under the location's default region (US in run()) */
    contact("(415) 555-0123", 5, "+14155550123");
    contact("+14155550123", 5, "+14155550123");

    /* Telegram's usual form: international digits without '+' */
    contact("79161234567", 5, "+79161234567");
    contact("447911123456", 5, "+447911123456");

    /* someone else's card: not the sender's number */
    contact("+14155550123", 6, NULL);

    /* not a number */
    contact("call me", 5, NULL);
    contact("", 5, NULL);
}


static void
test_contact_region(void **state)
{
    char                      body[512];
    size_t                    size;
    u_char                   *arena;
    ngx_http_crmsync_parse_t  p;

    (void) state;

    /* "030 1234567" is a Berlin number under DE only */
    snprintf(body, sizeof(body),
             "{\"update_id\":1,\"message\":{\"message_id\":2,\"date\":3,"
             "\"from\":{\"id\":5},\"contact\":{\"phone_number\":"
             "\"030 12345678\",\"user_id\":5}}}");

    size = ngx_http_crmsync_parse_arena_size(strlen(body));
    arena = malloc(size);
    assert_non_null(arena);

    memset(&p, 0, sizeof(p));
    p.provider = NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM;
    p.default_region = "DE";
    p.arena.start = arena;
    p.arena.pos = arena;
    p.arena.end = arena + size;

    assert_int_equal(ngx_http_crmsync_parse(&p, (u_char *) body,
                                            strlen(body)),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&p.events[0].identity.phone, "+493012345678");

    /* no default region: the national number is dropped */
    p.default_region = NULL;
    p.arena.pos = arena;
    p.arena.end = arena + size;

    assert_int_equal(ngx_http_crmsync_parse(&p, (u_char *) body,
                                            strlen(body)),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&p.events[0].identity.phone, NULL);

    free(arena);
}


/* update kinds and message contents */


static void
test_updates(void **state)
{
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;
    static const char          edited[] =
        "{\"update_id\":9007199254740991,\"edited_message\":{"
        "\"message_id\":7,\"date\":100,\"edit_date\":200,"
        "\"chat\":{\"id\":-1001234567890,\"type\":\"supergroup\"},"
        "\"from\":{\"id\":8123456789,\"is_bot\":false,"
        "\"first_name\":\"\\u00c9lodie\",\"username\":\"@elo\"},"
        "\"text\":\"fixed typo\"}}";
    static const char          bot[] =
        "{\"update_id\":2,\"message\":{\"message_id\":7,\"date\":100,"
        "\"chat\":{\"id\":1},\"from\":{\"id\":42,\"is_bot\":true,"
        "\"first_name\":\"Helper\",\"username\":\"helper_bot\"},"
        "\"photo\":[{\"file_id\":\"x\"}],\"caption\":\"see this\"}}";
    static const char          post[] =
        "{\"update_id\":3,\"channel_post\":{\"message_id\":7,\"date\":1,"
        "\"chat\":{\"id\":-100,\"type\":\"channel\"},"
        "\"sender_chat\":{\"id\":-100},\"text\":\"news\"}}";
    static const char          signed_post[] =
        "{\"update_id\":4,\"channel_post\":{\"message_id\":7,\"date\":1,"
        "\"chat\":{\"id\":-100,\"type\":\"channel\"},"
        "\"from\":{\"id\":77,\"first_name\":\"Ed\"},\"text\":\"news\"}}";

    (void) state;

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, edited, sizeof(edited) - 1);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    ev = &r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_str(&ev->delivery_id, "9007199254740991");
    assert_str(&ev->message_id, "7");
    assert_str(&ev->conversation_id, "-1001234567890");
    assert_str(&ev->identity.telegram_id, "8123456789");
    assert_str(&ev->identity.telegram_username, "elo");
    assert_str(&ev->first_name, "\xc3\x89lodie");
    assert_str(&ev->last_name, NULL);
    assert_int_equal(ev->occurred_at, 200000);
    assert_str(&ev->text, "fixed typo");
    done(&r);

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, bot, sizeof(bot) - 1);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    ev = &r.p.events[0];
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_BOT);
    assert_str(&ev->identity.telegram_username, "helper_bot");
    assert_str(&ev->text, "see this");
    assert_int_equal(ev->attachments, NGX_HTTP_CRMSYNC_ATT_IMAGE);
    done(&r);

    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, post,
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "telegram_no_user");

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, signed_post,
        sizeof(signed_post) - 1);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].identity.telegram_id, "77");
    done(&r);

    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM,
           "{\"update_id\":5,\"callback_query\":{\"id\":\"1\","
           "\"from\":{\"id\":1},\"data\":\"x\"}}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "telegram_unsupported_update");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM,
           "{\"update_id\":6,\"my_chat_member\":{}}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "telegram_unsupported_update");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, "{\"update_id\":7}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "telegram_unsupported_update");
}


static void
kind(const char *member, unsigned att)
{
    char   body[512];
    run_t  r;

    snprintf(body, sizeof(body),
             "{\"update_id\":1,\"message\":{\"message_id\":2,\"date\":3,"
             "\"from\":{\"id\":5},%s}}", member);

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, body, strlen(body));
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);

    if (r.p.events[0].attachments != att) {
        fail_msg("%s: 0x%x", member, r.p.events[0].attachments);
    }

    done(&r);
}


static void
test_kinds(void **state)
{
    (void) state;

    kind("\"text\":\"t\"", 0);
    kind("\"photo\":[]", NGX_HTTP_CRMSYNC_ATT_IMAGE);
    kind("\"voice\":{}", NGX_HTTP_CRMSYNC_ATT_AUDIO);
    kind("\"audio\":{}", NGX_HTTP_CRMSYNC_ATT_AUDIO);
    kind("\"video_note\":{}", NGX_HTTP_CRMSYNC_ATT_VIDEO);
    kind("\"animation\":{},\"document\":{}",
         NGX_HTTP_CRMSYNC_ATT_VIDEO | NGX_HTTP_CRMSYNC_ATT_FILE);
    kind("\"location\":{}", NGX_HTTP_CRMSYNC_ATT_LOCATION);
    kind("\"venue\":{},\"location\":{}", NGX_HTTP_CRMSYNC_ATT_LOCATION);
    kind("\"sticker\":{}", NGX_HTTP_CRMSYNC_ATT_STICKER);
    kind("\"poll\":{}", NGX_HTTP_CRMSYNC_ATT_OTHER);
    kind("\"dice\":{}", NGX_HTTP_CRMSYNC_ATT_OTHER);
}


static void
test_wrong_types(void **state)
{
    size_t              i;
    char                body[512];
    static const struct {
        const char     *message;
        const char     *reason;
    } cases[] = {
        { "\"from\":12", "telegram_bad_from" },
        { "\"from\":{\"id\":\"5\"}", "telegram_bad_from_id" },
        { "\"from\":{\"id\":5.5}", "telegram_bad_from_id" },
        { "\"from\":{\"first_name\":\"A\"}", "telegram_no_from_id" },
        { "\"from\":{\"id\":5,\"is_bot\":\"no\"}", "telegram_bad_is_bot" },
        { "\"from\":{\"id\":5,\"username\":5}", "telegram_bad_username" },
        { "\"from\":{\"id\":5,\"first_name\":[]}",
          "telegram_bad_first_name" },
        { "\"from\":{\"id\":5,\"last_name\":{}}", "telegram_bad_last_name" },
        { "\"from\":{\"id\":5},\"text\":5", "telegram_bad_text" },
        { "\"from\":{\"id\":5},\"caption\":true", "telegram_bad_caption" },
        { "\"from\":{\"id\":5},\"date\":\"today\"", "telegram_bad_date" },
        { "\"from\":{\"id\":5},\"date\":-1", "telegram_bad_date" },
        { "\"from\":{\"id\":5},\"edit_date\":[]", "telegram_bad_date" },
        { "\"from\":{\"id\":5},\"chat\":\"x\"", "telegram_bad_chat" },
        { "\"from\":{\"id\":5},\"chat\":{\"id\":\"x\"}",
          "telegram_bad_chat" },
        { "\"from\":{\"id\":5},\"message_id\":\"1\"",
          "telegram_bad_message_id" },
        { "\"from\":{\"id\":5},\"contact\":\"x\"", "telegram_bad_contact" },
        { "\"from\":{\"id\":5},\"contact\":{\"phone_number\":123,"
          "\"user_id\":5}", "telegram_bad_contact" },
        { "\"from\":{\"id\":5},\"contact\":{\"phone_number\":\"1\","
          "\"user_id\":\"5\"}", "telegram_bad_contact" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "{\"update_id\":1,\"message\":{%s}}",
                 cases[i].message);
        expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, body,
               NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, cases[i].reason);
    }

    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, "{\"message\":{}}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_no_update_id");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, "{\"update_id\":\"1\"}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_bad_update_id");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, "{\"update_id\":-1}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_bad_update_id");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, "{\"update_id\":1.0}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_bad_update_id");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM,
           "{\"update_id\":1,\"message\":\"hi\"}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_bad_message");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, "[{\"update_id\":1}]",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "not_an_object");

    /* too big an integer for jansson: not JSON we can read at all */
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM,
           "{\"update_id\":99999999999999999999999}",
           NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");
}


static void
test_truncated(void **state)
{
    char    *body;
    size_t   len, i;
    run_t    r;

    (void) state;

    body = read_file("t/samples/telegram/CONSTRUCTED_message_contact.json",
                     &len);

    for (i = 0; i < len - 1; i++) {
        run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, body, i);
        assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
        done(&r);
    }

    free(body);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_sample_text),
        cmocka_unit_test(test_sample_forwarded),
        cmocka_unit_test(test_sample_contact),
        cmocka_unit_test(test_contact_phone),
        cmocka_unit_test(test_contact_region),
        cmocka_unit_test(test_updates),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_truncated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

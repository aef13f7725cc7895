
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

#include <jansson.h>

#include "ngx_http_crmsync_event.h"


#define T_PROVIDER  NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM


#include "t_adapter.h"


/* the samples: the test user sends "/start" */


static const t_expect_t  sample_start = {
    .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
    .delivery_id = "10000",
    .occurred_at = 1441645532000LL,
    .telegram_id = "1111111",
    .telegram_username = "Testusername",
    .first_name = "Test Firstname",
    .last_name = "Test Lastname",
    .conversation_id = "1111111",
    .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
    .message_id = "1365",
    .text = "/start",
    .csat = -1
};


static void
test_sample_text(void **state)
{
    (void) state;

    t_parse_file("telegram/message_text.json");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &sample_start);

    t_json("[{\"provider\":\"telegram\",\"type\":\"message.inbound\","
           "\"delivery_id\":\"10000\",\"occurred_at\":1441645532000,"
           "\"identity\":{\"telegram_id\":\"1111111\","
           "\"telegram_username\":\"Testusername\"},"
           "\"first_name\":\"Test Firstname\",\"last_name\":\"Test Lastname\","
           "\"conversation_id\":\"1111111\","
           "\"message\":{\"author\":\"contact\",\"id\":\"1365\","
           "\"text\":\"/start\"}}]");

    t_done();
}


static void
test_sample_forwarded(void **state)
{
    (void) state;

    /* the sender is who forwarded it, not forward_from */
    t_parse_file("telegram/message_forwarded.json");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &sample_start);

    t_done();
}


static void
test_sample_contact(void **state)
{
    t_expect_t  e;

    (void) state;

    /*
     * the card is the sender's own (user_id == from.id), but +1 555 is a
     * fictional area code: not a valid number, so no phone identity
     */
    e = sample_start;
    e.delivery_id = "10001";
    e.occurred_at = 1441645600000LL;
    e.message_id = "1366";
    e.text = NULL;
    e.attachments = NGX_HTTP_CRMSYNC_ATT_CONTACT;

    t_parse_file("telegram/CONSTRUCTED_message_contact.json");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


/* shared contacts */


static void
contact(const char *phone, int user_id, const char *e164)
{
    char  body[1024];

    snprintf(body, sizeof(body),
             "{\"update_id\":1,\"message\":{\"message_id\":2,\"date\":3,"
             "\"chat\":{\"id\":5,\"type\":\"private\"},"
             "\"from\":{\"id\":5,\"is_bot\":false,\"first_name\":\"A\"},"
             "\"contact\":{\"phone_number\":\"%s\",\"first_name\":\"A\","
             "\"user_id\":%d}}}", phone, user_id);

    t_parse(body);
    t_ok();
    assert_int_equal(t_r.p.events[0].attachments,
                     NGX_HTTP_CRMSYNC_ATT_CONTACT);
    t_str(&t_r.p.events[0].identity.phone, e164, "phone");

    t_done();
}


static void
test_contact_phone(void **state)
{
    (void) state;

    /* national under the location's default region (US in t_parse()) */
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
    char  body[512];

    (void) state;

    /* "030 1234567" is a Berlin number under DE only */
    snprintf(body, sizeof(body),
             "{\"update_id\":1,\"message\":{\"message_id\":2,\"date\":3,"
             "\"from\":{\"id\":5},\"contact\":{\"phone_number\":"
             "\"030 12345678\",\"user_id\":5}}}");

    assert_int_equal(t_parse_len(body, strlen(body), "DE"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    t_str(&t_r.p.events[0].identity.phone, "+493012345678", "phone");

    /* no default region: the national number is dropped */
    assert_int_equal(t_parse_len(body, strlen(body), NULL),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    t_str(&t_r.p.events[0].identity.phone, NULL, "phone");

    t_done();
}


/* update kinds and message contents */


static void
test_updates(void **state)
{
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

    t_parse(edited);
    t_ok();
    ev = &t_r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    t_str(&ev->delivery_id, "9007199254740991", "delivery_id");
    t_str(&ev->message_id, "7", "message_id");
    t_str(&ev->conversation_id, "-1001234567890", "conversation_id");
    t_str(&ev->identity.telegram_id, "8123456789", "telegram_id");
    t_str(&ev->identity.telegram_username, "elo", "telegram_username");
    t_str(&ev->first_name, "\xc3\x89lodie", "first_name");
    t_str(&ev->last_name, NULL, "last_name");
    assert_int_equal(ev->occurred_at, 200000);
    t_str(&ev->text, "fixed typo", "text");

    t_parse(bot);
    t_ok();
    ev = &t_r.p.events[0];
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_BOT);
    t_str(&ev->identity.telegram_username, "helper_bot",
          "telegram_username");
    t_str(&ev->text, "see this", "text");
    assert_int_equal(ev->attachments, NGX_HTTP_CRMSYNC_ATT_IMAGE);

    t_parse(post);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "telegram_no_user");

    t_parse(signed_post);
    t_ok();
    t_str(&t_r.p.events[0].identity.telegram_id, "77", "telegram_id");

    t_parse("{\"update_id\":5,\"callback_query\":{\"id\":\"1\","
            "\"from\":{\"id\":1},\"data\":\"x\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "telegram_unsupported_update");

    t_parse("{\"update_id\":6,\"my_chat_member\":{}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "telegram_unsupported_update");

    t_parse("{\"update_id\":7}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "telegram_unsupported_update");

    t_done();
}


static void
kind(const char *member, unsigned att)
{
    char  body[512];

    snprintf(body, sizeof(body),
             "{\"update_id\":1,\"message\":{\"message_id\":2,\"date\":3,"
             "\"from\":{\"id\":5},%s}}", member);

    t_parse(body);
    t_ok();

    if (t_r.p.events[0].attachments != att) {
        fail_msg("%s: 0x%x", member, t_r.p.events[0].attachments);
    }

    t_done();
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
        t_parse(body);
        t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, cases[i].reason);
    }

    t_parse("{\"message\":{}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_no_update_id");

    t_parse("{\"update_id\":\"1\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_bad_update_id");

    t_parse("{\"update_id\":-1}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_bad_update_id");

    t_parse("{\"update_id\":1.0}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_bad_update_id");

    t_parse("{\"update_id\":1,\"message\":\"hi\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "telegram_bad_message");

    t_parse("[{\"update_id\":1}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "not_an_object");

    /* too big an integer for jansson: not JSON we can read at all */
    t_parse("{\"update_id\":99999999999999999999999}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    t_done();
}


static void
test_truncated(void **state)
{
    char    *body;
    size_t   len, i;

    (void) state;

    body = t_load("telegram/CONSTRUCTED_message_contact.json", &len);

    for (i = 0; i < len - 1; i++) {
        t_parse_len(body, i, "US");
        assert_int_equal(t_r.rc, NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    }

    free(body);

    t_done();
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

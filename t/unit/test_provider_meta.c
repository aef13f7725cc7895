
/*
 * Copyright (C) crmsync authors
 *
 * The Meta adapters: WhatsApp Cloud API, Messenger, Instagram.  Every
 * sample in t/samples/{whatsapp,messenger,instagram} parses to the event
 * it describes; plus batches, echoes, receipts, wrong types, truncation
 * and the event limit.
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


/* one file, three providers: each test names its own */

static ngx_http_crmsync_provider_e  t_provider;

#define T_PROVIDER  t_provider


#include "t_adapter.h"


/* WhatsApp samples */


static void
test_wa_sample_inbound(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQz"
                       "QTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        .occurred_at = 1749416383000LL,
        .phone = "+16505551234",
        .whatsapp_id = "16505551234",
        .first_name = "Sheena",
        .last_name = "Nelson",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQz"
                      "QTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        .text = "Does it come in another color?",
        .csat = -1
    };

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    t_parse_file("whatsapp/messages_text_inbound.json");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* and as $crmsync_event shows it */
    t_json("[{\"provider\":\"whatsapp\",\"type\":\"message.inbound\","
           "\"delivery_id\":"
           "\"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\","
           "\"occurred_at\":1749416383000,"
           "\"identity\":{\"phone\":\"+16505551234\","
           "\"whatsapp_id\":\"16505551234\"},"
           "\"first_name\":\"Sheena\",\"last_name\":\"Nelson\","
           "\"message\":{\"author\":\"contact\",\"id\":"
           "\"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\","
           "\"text\":\"Does it come in another color?\"}}]");

    t_done();
}


static void
test_wa_sample_sent(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS,
        .delivery_id =
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
            ":sent",
        .occurred_at = 1750030073000LL,
        .phone = "+16505551234",
        .whatsapp_id = "16505551234",
        .conversation_id = "72b14d6bd5407799e66f64d1b338e567",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_NONE,
        .message_id = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQz"
                      "QUFERjg0NDEzNDdFODU3MUMxMAA=",
        .status = "sent",
        .csat = -1
    };

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    t_parse_file("whatsapp/statuses_sent.json");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_wa_sample_failed(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS,
        .delivery_id =
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"
            ":failed",
        .occurred_at = 1751142888000LL,
        .phone = "+16505551234",
        .whatsapp_id = "16505551234",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_NONE,
        .message_id =
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA",
        .status = "failed",
        .attrs = "error_code=131049",
        .csat = -1
    };

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    t_parse_file("whatsapp/statuses_failed.json");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);
    assert_int_equal(t_r.p.events[0].nattrs, 1);

    t_done();
}


static void
test_wa_sample_unicode(void **state)
{
    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    /*
     * the signature sample: a message with neither "from" nor "id", so
     * no contact and no dedup key: unreadable
     */
    t_parse_file("whatsapp/CONSTRUCTED_unicode_escaped_body.json");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_from");

    /* with them, the escapes decode to UTF-8 */
    t_parse("{\"object\":\"whatsapp_business_account\",\"entry\":[{"
            "\"id\":\"0\",\"changes\":[{\"field\":\"messages\",\"value\":{"
            "\"messages\":[{\"from\":\"4915112345678\",\"id\":\"wamid.U\","
            "\"text\":{\"body\":\"\\u00e4\\u00f6\\u00e5\"}}]}}]}]}");
    t_ok();
    t_str(&t_r.p.events[0].text, "\xc3\xa4\xc3\xb6\xc3\xa5", "text");
    t_str(&t_r.p.events[0].identity.phone, "+4915112345678", "phone");
    assert_int_equal(t_r.p.events[0].occurred_at, 0);

    t_done();
}


static void
test_wa_truncated(void **state)
{
    char    *body;
    size_t   len, i;

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    body = t_load("whatsapp/messages_text_inbound.json", &len);

    /* every strict prefix short of the final "}\n" is not JSON */
    for (i = 0; i < len - 1; i++) {
        t_parse_len(body, i, "US");
        t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");
    }

    t_parse_len(body, len - 1, "US");
    t_ok();

    free(body);

    t_done();
}


/* WhatsApp: batches, contacts, echoes, types */


static void
test_wa_batch(void **state)
{
    ngx_http_crmsync_event_t  *ev;
    static const char          body[] =
        "{\"object\":\"whatsapp_business_account\",\"entry\":["
        "{\"id\":\"1\",\"changes\":["
          "{\"field\":\"messages\",\"value\":{"
            "\"metadata\":{\"display_phone_number\":\"15550783881\"},"
            "\"contacts\":["
              "{\"profile\":{\"name\":\"Ana Maria Silva\"},"
              "\"wa_id\":\"5511987654321\"},"
              "{\"profile\":{\"name\":\"Bob\"},\"wa_id\":\"16505551234\"}],"
            "\"messages\":["
              "{\"from\":\"16505551234\",\"id\":\"m1\",\"timestamp\":\"10\","
              "\"type\":\"text\",\"text\":{\"body\":\"one\"}},"
              "{\"from\":\"5511987654321\",\"id\":\"m2\","
              "\"timestamp\":\"11\",\"type\":\"image\","
              "\"image\":{\"caption\":\"a photo\",\"id\":\"x\"}},"
              "{\"from\":\"5511987654321\",\"id\":\"m3\","
              "\"timestamp\":12,\"type\":\"text\","
              "\"text\":{\"body\":\"three\"}}]}},"
          "{\"field\":\"messages\",\"value\":{\"statuses\":["
              "{\"id\":\"s1\",\"status\":\"delivered\",\"timestamp\":\"13\","
              "\"recipient_id\":\"16505551234\"},"
              "{\"id\":\"s1\",\"status\":\"read\",\"timestamp\":\"14\","
              "\"recipient_id\":\"16505551234\"}]}}]},"
        "{\"id\":\"2\",\"changes\":["
          "{\"field\":\"account_update\",\"value\":{\"event\":\"x\"}},"
          "{\"field\":\"messages\",\"value\":{"
            "\"messages\":[{\"from\":\"447700900123\",\"id\":\"m4\","
            "\"type\":\"text\",\"text\":{\"body\":\"no contact\"}}]}}]}]}";

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    t_parse(body);
    t_ok();
    assert_int_equal(t_r.p.nevents, 6);

    /* in body order; contacts matched by wa_id, not by position */
    ev = t_r.p.events;
    t_str(&ev[0].delivery_id, "m1", "delivery_id 0");
    t_str(&ev[0].first_name, "Bob", "first_name 0");
    t_str(&ev[0].last_name, NULL, "last_name 0");
    t_str(&ev[0].text, "one", "text 0");
    assert_int_equal(ev[0].occurred_at, 10000);

    t_str(&ev[1].delivery_id, "m2", "delivery_id 1");
    t_str(&ev[1].first_name, "Ana", "first_name 1");
    t_str(&ev[1].last_name, "Maria Silva", "last_name 1");
    t_str(&ev[1].text, "a photo", "text 1");
    assert_int_equal(ev[1].attachments, NGX_HTTP_CRMSYNC_ATT_IMAGE);
    t_str(&ev[1].identity.phone, "+5511987654321", "phone 1");
    t_str(&ev[1].identity.phone_alt, "+551187654321", "phone_alt 1");
    t_str(&ev[1].identity.whatsapp_id, "5511987654321", "whatsapp_id 1");

    t_str(&ev[2].delivery_id, "m3", "delivery_id 2");
    t_str(&ev[2].first_name, "Ana", "first_name 2");
    t_str(&ev[2].last_name, "Maria Silva", "last_name 2");
    assert_int_equal(ev[2].occurred_at, 12000);

    /* statuses: one event each, unique delivery ids */
    assert_int_equal(ev[3].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    t_str(&ev[3].delivery_id, "s1:delivered", "delivery_id 3");
    t_str(&ev[3].message_id, "s1", "message_id 3");
    t_str(&ev[3].status, "delivered", "status 3");
    t_str(&ev[4].delivery_id, "s1:read", "delivery_id 4");
    t_str(&ev[4].message_id, "s1", "message_id 4");
    t_str(&ev[4].status, "read", "status 4");
    t_str(&ev[4].identity.phone, "+16505551234", "phone 4");

    /* the account_update change is skipped, the next one read */
    assert_int_equal(ev[5].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    t_str(&ev[5].delivery_id, "m4", "delivery_id 5");
    t_str(&ev[5].first_name, NULL, "first_name 5");
    t_str(&ev[5].identity.phone, "+447700900123", "phone 5");
    assert_int_equal(ev[5].occurred_at, 0);

    t_done();
}


static void
test_wa_echo(void **state)
{
    ngx_http_crmsync_event_t  *ev;
    static const char          body[] =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\","
        "\"changes\":["
        "{\"field\":\"smb_message_echoes\",\"value\":{"
          "\"metadata\":{\"display_phone_number\":\"15550783881\"},"
          "\"message_echoes\":[{\"from\":\"15550783881\","
          "\"to\":\"16505551234\",\"id\":\"e1\",\"timestamp\":\"20\","
          "\"type\":\"text\",\"text\":{\"body\":\"sent from the app\"}}]}},"
        "{\"field\":\"messages\",\"value\":{"
          "\"metadata\":{\"display_phone_number\":\"15550783881\"},"
          "\"contacts\":[{\"profile\":{\"name\":\"Biz\"},"
          "\"wa_id\":\"15550783881\"}],"
          "\"messages\":[{\"from\":\"15550783881\","
          "\"to\":\"16505551234\",\"id\":\"e2\","
          "\"type\":\"text\",\"text\":{\"body\":\"also ours\"}}]}}]}]}";

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    t_parse(body);
    t_ok();
    assert_int_equal(t_r.p.nevents, 2);

    ev = t_r.p.events;
    assert_int_equal(ev[0].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND);
    assert_int_equal(ev[0].author, NGX_HTTP_CRMSYNC_AUTHOR_AGENT);
    t_str(&ev[0].delivery_id, "e1", "delivery_id 0");
    t_str(&ev[0].identity.whatsapp_id, "16505551234", "whatsapp_id 0");
    t_str(&ev[0].text, "sent from the app", "text 0");

    /* the contact is the recipient, the business's name is not theirs */
    assert_int_equal(ev[1].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND);
    assert_int_equal(ev[1].author, NGX_HTTP_CRMSYNC_AUTHOR_AGENT);
    t_str(&ev[1].identity.whatsapp_id, "16505551234", "whatsapp_id 1");
    t_str(&ev[1].first_name, NULL, "first_name 1");

    /* an echo without "to" names no contact */
    t_parse("{\"entry\":[{\"changes\":[{\"field\":\"smb_message_echoes\","
            "\"value\":{\"message_echoes\":[{\"from\":\"1\","
            "\"id\":\"e\"}]}}]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_to");

    t_done();
}


static void
wa_type(const char *msg, unsigned att, const char *text,
    ngx_http_crmsync_author_e author)
{
    char  body[1024];

    snprintf(body, sizeof(body),
             "{\"entry\":[{\"changes\":[{\"field\":\"messages\","
             "\"value\":{\"messages\":[{\"from\":\"16505551234\","
             "\"id\":\"m\",%s}]}}]}]}", msg);

    if (t_parse(body) != NGX_HTTP_CRMSYNC_PARSE_OK) {
        fail_msg("%s: %s", msg, t_r.p.reason);
    }

    t_ok();

    assert_int_equal(t_r.p.nevents, 1);
    assert_int_equal(t_r.p.events[0].attachments, att);
    t_str(&t_r.p.events[0].text, text, "text");
    assert_int_equal(t_r.p.events[0].author, author);

    t_done();
}


static void
test_wa_types(void **state)
{
    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    wa_type("\"type\":\"text\",\"text\":{\"body\":\"hi\"}", 0, "hi",
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"text\":{\"body\":\"no type\"}", 0, "no type",
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"image\",\"image\":{\"id\":\"1\"}",
            NGX_HTTP_CRMSYNC_ATT_IMAGE, NULL,
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"video\",\"video\":{\"caption\":\"v\"}",
            NGX_HTTP_CRMSYNC_ATT_VIDEO, "v",
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"document\",\"document\":{\"caption\":\"cv.pdf\"}",
            NGX_HTTP_CRMSYNC_ATT_FILE, "cv.pdf",
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"audio\",\"audio\":{}", NGX_HTTP_CRMSYNC_ATT_AUDIO,
            NULL, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"sticker\",\"sticker\":{}",
            NGX_HTTP_CRMSYNC_ATT_STICKER, NULL,
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"location\",\"location\":{\"latitude\":1}",
            NGX_HTTP_CRMSYNC_ATT_LOCATION, NULL,
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"contacts\",\"contacts\":[{\"name\":{}}]",
            NGX_HTTP_CRMSYNC_ATT_CONTACT, NULL,
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"button\",\"button\":{\"text\":\"Yes\"}", 0, "Yes",
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"interactive\",\"interactive\":{\"type\":"
            "\"button_reply\",\"button_reply\":{\"id\":\"b\","
            "\"title\":\"Book\"}}", 0, "Book",
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"interactive\",\"interactive\":{\"type\":"
            "\"list_reply\",\"list_reply\":{\"title\":\"Plan B\"}}", 0,
            "Plan B", NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"reaction\",\"reaction\":{\"emoji\":\"\\ud83d\\udc4d\"}",
            NGX_HTTP_CRMSYNC_ATT_OTHER, "\xf0\x9f\x91\x8d",
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"system\",\"system\":{\"body\":\"changed number\"}",
            0, "changed number", NGX_HTTP_CRMSYNC_AUTHOR_SYSTEM);
    wa_type("\"type\":\"order\",\"order\":{}", NGX_HTTP_CRMSYNC_ATT_OTHER,
            NULL, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    wa_type("\"type\":\"unsupported\"", NGX_HTTP_CRMSYNC_ATT_OTHER, NULL,
            NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
}


static void
test_wa_identity(void **state)
{
    static const char  mx[] =
        "{\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{"
        "\"messages\":[{\"from\":\"5215512345678\",\"id\":\"m\"}]}}]}]}";
    static const char  bad[] =
        "{\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{"
        "\"messages\":[{\"from\":\"not-a-number\",\"id\":\"m\"}]}}]}]}";

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    /* the Mexican 521 rule, through the WhatsApp rules */
    t_parse(mx);
    t_ok();
    t_str(&t_r.p.events[0].identity.whatsapp_id, "5215512345678",
          "whatsapp_id");
    t_str(&t_r.p.events[0].identity.phone, "+525512345678", "phone");

    /* a sender that is not a number: the event, with no identity */
    t_parse(bad);
    t_ok();
    t_str(&t_r.p.events[0].identity.whatsapp_id, NULL, "whatsapp_id");
    t_str(&t_r.p.events[0].identity.phone, NULL, "phone");

    t_done();
}


static void
test_wa_many_contacts(void **state)
{
    char    *body, *p;
    size_t   i;

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    /*
     * contacts[] is read once per change, its first 32 entries: a message
     * from the 32nd gets its name, one from the 40th none
     */
    body = malloc(64 * 1024);
    assert_non_null(body);

    p = body + sprintf(body, "{\"entry\":[{\"changes\":[{\"field\":"
                             "\"messages\",\"value\":{\"contacts\":[");

    for (i = 1; i <= 40; i++) {
        p += sprintf(p, "%s{\"wa_id\":\"%zu\",\"profile\":"
                     "{\"name\":\"N%zu X\"}}", i > 1 ? "," : "", i, i);
    }

    sprintf(p, "],\"messages\":[{\"from\":\"32\",\"id\":\"a\"},"
               "{\"from\":\"40\",\"id\":\"b\"}]}}]}]}");

    t_parse(body);
    t_ok();
    assert_int_equal(t_r.p.nevents, 2);
    t_str(&t_r.p.events[0].first_name, "N32", "first_name");
    t_str(&t_r.p.events[0].last_name, "X", "last_name");
    t_str(&t_r.p.events[1].first_name, NULL, "first_name 1");
    free(body);

    t_done();
}


static void
test_wa_skip(void **state)
{
    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    t_parse("{\"object\":\"whatsapp_business_account\",\"entry\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "whatsapp_no_messages");

    t_parse("{\"entry\":[{\"changes\":[]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "whatsapp_no_messages");

    t_parse("{\"entry\":[{\"changes\":[{\"field\":\"messages\","
            "\"value\":{\"contacts\":[]}}]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "whatsapp_no_messages");

    t_parse("{\"entry\":[{\"changes\":[{\"field\":"
            "\"message_template_status_update\",\"value\":{}}]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "whatsapp_not_messages");

    t_done();
}


static void
test_wa_wrong_types(void **state)
{
    size_t              i;
    char                body[1024];
    static const char  *pre = "{\"entry\":[{\"changes\":[{\"field\":"
                              "\"messages\",\"value\":";
    static const struct {
        const char     *value;
        const char     *reason;
    } cases[] = {
        { "\"x\"", "whatsapp_no_value" },
        { "{\"messages\":\"x\"}", "whatsapp_bad_messages" },
        { "{\"messages\":[1]}", "whatsapp_bad_message" },
        { "{\"messages\":[{\"from\":12,\"id\":\"m\"}]}",
          "whatsapp_no_from" },
        { "{\"messages\":[{\"from\":\"\",\"id\":\"m\"}]}",
          "whatsapp_no_from" },
        { "{\"messages\":[{\"from\":\"1\"}]}", "whatsapp_no_message_id" },
        { "{\"messages\":[{\"from\":\"1\",\"id\":7}]}",
          "whatsapp_no_message_id" },
        { "{\"messages\":[{\"from\":\"1\",\"id\":\"m\",\"type\":3}]}",
          "whatsapp_bad_type" },
        { "{\"messages\":[{\"from\":\"1\",\"id\":\"m\","
          "\"timestamp\":\"soon\"}]}", "whatsapp_bad_timestamp" },
        { "{\"messages\":[{\"from\":\"1\",\"id\":\"m\","
          "\"timestamp\":true}]}", "whatsapp_bad_timestamp" },
        { "{\"messages\":[{\"from\":\"1\",\"id\":\"m\",\"type\":\"text\","
          "\"text\":\"x\"}]}", "whatsapp_bad_message_body" },
        { "{\"messages\":[{\"from\":\"1\",\"id\":\"m\",\"type\":\"text\","
          "\"text\":{\"body\":5}}]}", "whatsapp_bad_text" },
        { "{\"messages\":[{\"from\":\"1\",\"id\":\"m\",\"type\":\"image\","
          "\"image\":{\"caption\":[]}}]}", "whatsapp_bad_caption" },
        { "{\"contacts\":\"x\",\"messages\":[]}", "whatsapp_bad_contacts" },
        { "{\"contacts\":[{\"wa_id\":\"1\",\"profile\":{\"name\":5}}],"
          "\"messages\":[{\"from\":\"1\",\"id\":\"m\"}]}",
          "whatsapp_bad_profile_name" },
        { "{\"statuses\":{}}", "whatsapp_bad_statuses" },
        { "{\"statuses\":[\"x\"]}", "whatsapp_bad_status" },
        { "{\"statuses\":[{\"id\":\"s\"}]}", "whatsapp_no_status_id" },
        { "{\"statuses\":[{\"status\":\"read\"}]}",
          "whatsapp_no_status_id" },
        { "{\"statuses\":[{\"id\":\"s\",\"status\":\"read\","
          "\"recipient_id\":5}]}", "whatsapp_bad_recipient_id" },
        { "{\"statuses\":[{\"id\":\"s\",\"status\":\"read\","
          "\"conversation\":{\"id\":1}}]}", "whatsapp_bad_conversation" },
        { "{\"statuses\":[{\"id\":\"s\",\"status\":\"failed\","
          "\"errors\":[{\"code\":1.5}]}]}", "whatsapp_bad_error_code" },
        { "{\"message_echoes\":7}", "whatsapp_bad_message_echoes" },
    };

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "%s%s}]}]}", pre, cases[i].value);
        t_parse(body);
        t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, cases[i].reason);
    }

    t_parse("{}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_entry");

    t_parse("{\"entry\":\"x\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_entry");

    t_parse("{\"entry\":[1]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_changes");

    t_parse("{\"entry\":[{}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_changes");

    t_parse("{\"entry\":[{\"changes\":[{\"value\":{}}]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_bad_change");

    t_parse("{\"entry\":[{\"changes\":[[]]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_bad_change");

    t_parse("{\"object\":\"page\",\"entry\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_wrong_object");

    t_parse("{\"object\":1,\"entry\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_wrong_object");

    /* a good message before a bad one: the whole delivery is refused */
    t_parse("{\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{"
            "\"messages\":[{\"from\":\"1\",\"id\":\"ok\"},"
            "{\"from\":2,\"id\":\"bad\"}]}}]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_from");

    t_done();
}


/* n messages (or statuses) in one change */

static char *
wa_many(size_t n, int statuses)
{
    char    *body, *p;
    size_t   i;

    body = malloc(n * 200 + 256);
    assert_non_null(body);

    p = body + sprintf(body, "{\"entry\":[{\"changes\":[{\"field\":"
                             "\"messages\",\"value\":{"
                             "\"contacts\":[{\"wa_id\":\"16505551234\","
                             "\"profile\":{\"name\":\"Same Person\"}}],"
                             "\"%s\":[", statuses ? "statuses" : "messages");

    for (i = 0; i < n; i++) {
        if (statuses) {
            p += sprintf(p, "%s{\"id\":\"wamid.%zu\",\"status\":\"read\","
                         "\"recipient_id\":\"16505551234\"}",
                         i ? "," : "", i);

        } else {
            p += sprintf(p, "%s{\"from\":\"16505551234\",\"id\":"
                         "\"wamid.%zu\",\"text\":{\"body\":\"message %zu\"}}",
                         i ? "," : "", i, i);
        }
    }

    strcpy(p, "]}}]}]}");

    return body;
}


static void
test_wa_huge_batch(void **state)
{
    char    *body, *p;
    char     id[32];
    size_t   i;

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;

    body = wa_many(NGX_HTTP_CRMSYNC_MAX_EVENTS, 0);
    t_parse(body);
    t_ok();
    assert_int_equal(t_r.p.nevents, NGX_HTTP_CRMSYNC_MAX_EVENTS);

    for (i = 0; i < t_r.p.nevents; i++) {
        snprintf(id, sizeof(id), "wamid.%zu", i);
        t_str(&t_r.p.events[i].delivery_id, id, "delivery_id");
        t_str(&t_r.p.events[i].first_name, "Same", "first_name");
        t_str(&t_r.p.events[i].last_name, "Person", "last_name");
    }

    /* the name is copied once and shared */
    assert_ptr_equal(t_r.p.events[0].first_name.data,
                     t_r.p.events[1023].first_name.data);

    free(body);

    body = wa_many(NGX_HTTP_CRMSYNC_MAX_EVENTS, 1);
    t_parse(body);
    t_ok();
    assert_int_equal(t_r.p.nevents, NGX_HTTP_CRMSYNC_MAX_EVENTS);
    t_str(&t_r.p.events[1023].delivery_id, "wamid.1023:read",
          "delivery_id 1023");
    free(body);

    /*
     * two contacts with long names, messages alternating between them:
     * each name is copied once, so the advertised arena is enough
     */
    body = malloc(NGX_HTTP_CRMSYNC_MAX_EVENTS * 64 + 2 * 4096 + 512);
    assert_non_null(body);
    p = body + sprintf(body, "{\"entry\":[{\"changes\":[{\"field\":"
                             "\"messages\",\"value\":{\"contacts\":[");

    for (i = 0; i < 2; i++) {
        p += sprintf(p, "%s{\"wa_id\":\"%zu\",\"profile\":{\"name\":\"",
                     i ? "," : "", i + 1);
        memset(p, 'a' + i, 4000);
        p += 4000;
        p += sprintf(p, "\"}}");
    }

    p += sprintf(p, "],\"messages\":[");

    for (i = 0; i < NGX_HTTP_CRMSYNC_MAX_EVENTS; i++) {
        p += sprintf(p, "%s{\"from\":\"%zu\",\"id\":\"%zu\"}",
                     i ? "," : "", i % 2 + 1, i);
    }

    strcpy(p, "]}}]}]}");

    t_parse(body);
    t_ok();
    assert_int_equal(t_r.p.nevents, NGX_HTTP_CRMSYNC_MAX_EVENTS);
    assert_int_equal(t_r.p.events[1022].first_name.len, 4000);
    assert_int_equal(t_r.p.events[1022].first_name.data[0], 'a');
    assert_int_equal(t_r.p.events[1023].first_name.data[0], 'b');
    free(body);

    /* one more than the limit: refused whole, nothing half-stored */
    body = wa_many(NGX_HTTP_CRMSYNC_MAX_EVENTS + 1, 0);
    t_parse(body);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_NOMEM, "too_many_events");
    free(body);

    t_done();
}


/* Messenger */


static char *
messenger_envelope(const char *object, const char *items)
{
    char  *body;

    body = malloc(strlen(items) + 256);
    assert_non_null(body);

    sprintf(body, "{\"object\":\"%s\",\"entry\":[{\"id\":\"<PAGE_ID>\","
                  "\"time\":1458692752999,\"messaging\":[%s]}]}",
            object, items);

    return body;
}


/* a sample is one "messaging" item: parsed in an envelope */

static ngx_http_crmsync_parse_rc_e
messenger_sample(const char *name)
{
    char    *item, *body;
    size_t   len;

    item = t_load(name, &len);
    body = messenger_envelope("page", item);
    t_parse(body);
    free(body);
    free(item);

    return t_r.rc;
}


static void
test_fb_sample_text(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "mid.1457764197618:41d102a3e1ae206a38",
        .occurred_at = 1458692752478LL,
        .messenger_psid = "<PSID>",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "mid.1457764197618:41d102a3e1ae206a38",
        .text = "hello, world!",
        .csat = -1
    };

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER;

    messenger_sample("messenger/messages_text_event.json");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_fb_sample_receipts(void **state)
{
    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER;

    /* delivery and read receipts are skipped (see doc/events.md) */
    messenger_sample("messenger/message_deliveries_event.json");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_receipt");

    messenger_sample("messenger/message_reads_event.json");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_receipt");

    t_done();
}


static void
test_fb_batch_echo(void **state)
{
    char                      *body;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER;

    body = messenger_envelope("page",
        "{\"sender\":{\"id\":\"P1\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"timestamp\":1,\"message\":{\"mid\":\"m1\",\"text\":\"hi\"}},"
        "{\"sender\":{\"id\":\"PAGE\"},\"recipient\":{\"id\":\"P1\"},"
        "\"timestamp\":2,\"message\":{\"mid\":\"m2\",\"is_echo\":true,"
        "\"app_id\":1,\"text\":\"hello from us\"}},"
        "{\"sender\":{\"id\":\"P1\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"timestamp\":3,\"read\":{\"watermark\":2}},"
        "{\"sender\":{\"id\":\"P1\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"timestamp\":4,\"message\":{\"mid\":\"m0\",\"is_deleted\":true}},"
        "{\"sender\":{\"id\":\"P1\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"timestamp\":5,\"message\":{\"mid\":\"m3\",\"attachments\":["
        "{\"type\":\"image\",\"payload\":{\"url\":\"u\"}},"
        "{\"type\":\"file\",\"payload\":{\"url\":\"u\"}},"
        "{\"type\":\"image\",\"payload\":{\"sticker_id\":369239263222822}},"
        "{\"type\":\"fallback\",\"payload\":null}]}},"
        "{\"sender\":{\"id\":\"P2\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"postback\":{\"mid\":\"m4\",\"title\":\"Get Started\","
        "\"payload\":\"GS\"}},"
        "{\"sender\":{\"id\":\"P2\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"timestamp\":6,\"reaction\":{\"mid\":\"m4\",\"emoji\":\"x\"}}");

    t_parse(body);
    free(body);

    t_ok();
    assert_int_equal(t_r.p.nevents, 4);

    ev = t_r.p.events;
    assert_int_equal(ev[0].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    t_str(&ev[0].identity.messenger_psid, "P1", "messenger_psid 0");
    assert_int_equal(ev[0].occurred_at, 1);

    /* the page's echo: outbound, by an agent, to the PSID */
    assert_int_equal(ev[1].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND);
    assert_int_equal(ev[1].author, NGX_HTTP_CRMSYNC_AUTHOR_AGENT);
    t_str(&ev[1].identity.messenger_psid, "P1", "messenger_psid 1");
    t_str(&ev[1].delivery_id, "m2", "delivery_id 1");
    t_str(&ev[1].text, "hello from us", "text 1");

    t_str(&ev[2].delivery_id, "m3", "delivery_id 2");
    assert_int_equal(ev[2].attachments, NGX_HTTP_CRMSYNC_ATT_IMAGE
                                        | NGX_HTTP_CRMSYNC_ATT_FILE
                                        | NGX_HTTP_CRMSYNC_ATT_STICKER
                                        | NGX_HTTP_CRMSYNC_ATT_OTHER);
    t_str(&ev[2].text, NULL, "text 2");

    /* a postback: the button title, the entry time */
    assert_int_equal(ev[3].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    t_str(&ev[3].identity.messenger_psid, "P2", "messenger_psid 3");
    t_str(&ev[3].delivery_id, "m4", "delivery_id 3");
    t_str(&ev[3].text, "Get Started", "text 3");
    assert_int_equal(ev[3].occurred_at, 1458692752999LL);

    t_done();
}


static void
test_fb_skip(void **state)
{
    char  *body;

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER;

    body = messenger_envelope("page",
        "{\"sender\":{\"id\":\"P1\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"timestamp\":4,\"message\":{\"mid\":\"m0\",\"is_deleted\":true}}");
    t_parse(body);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_deleted");
    free(body);

    body = messenger_envelope("page",
        "{\"sender\":{\"id\":\"P1\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"optin\":{\"ref\":\"x\"}}");
    t_parse(body);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_unsupported_event");
    free(body);

    t_parse("{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"time\":1,"
            "\"changes\":[{\"field\":\"feed\"}]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_no_messaging");

    t_parse("{\"object\":\"page\",\"entry\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_no_messaging");

    t_done();
}


static void
test_fb_wrong_types(void **state)
{
    size_t              i;
    char               *body;
    static const struct {
        const char     *item;
        const char     *reason;
    } cases[] = {
        { "1", "messenger_bad_messaging" },
        { "{\"sender\":{\"id\":12},\"message\":{\"mid\":\"m\"}}",
          "messenger_no_sender" },
        { "{\"message\":{\"mid\":\"m\"}}", "messenger_no_sender" },
        { "{\"sender\":{\"id\":\"P\"},\"message\":{\"mid\":\"m\","
          "\"is_echo\":true}}", "messenger_no_recipient" },
        { "{\"sender\":{\"id\":\"P\"},\"message\":\"hi\"}",
          "messenger_bad_message" },
        { "{\"sender\":{\"id\":\"P\"},\"message\":{\"text\":\"no mid\"}}",
          "messenger_no_mid" },
        { "{\"sender\":{\"id\":\"P\"},\"message\":{\"mid\":5}}",
          "messenger_bad_mid" },
        { "{\"sender\":{\"id\":\"P\"},\"message\":{\"mid\":\"m\","
          "\"is_echo\":\"yes\"}}", "messenger_bad_is_echo" },
        { "{\"sender\":{\"id\":\"P\"},\"message\":{\"mid\":\"m\","
          "\"text\":[]}}", "messenger_bad_text" },
        { "{\"sender\":{\"id\":\"P\"},\"message\":{\"mid\":\"m\","
          "\"attachments\":{}}}", "messenger_bad_attachments" },
        { "{\"sender\":{\"id\":\"P\"},\"message\":{\"mid\":\"m\","
          "\"attachments\":[{\"type\":1}]}}", "messenger_bad_attachments" },
        { "{\"sender\":{\"id\":\"P\"},\"timestamp\":\"late\","
          "\"message\":{\"mid\":\"m\"}}", "messenger_bad_timestamp" },
        { "{\"sender\":{\"id\":\"P\"},\"postback\":{\"mid\":\"m\","
          "\"title\":1}}", "messenger_bad_postback" },
    };

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        body = messenger_envelope("page", cases[i].item);
        t_parse(body);
        t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, cases[i].reason);
        free(body);
    }

    t_parse("{\"object\":\"page\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_no_entry");

    t_parse("{\"object\":\"page\",\"entry\":\"x\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_no_entry");

    t_parse("{\"object\":\"page\",\"entry\":[[]]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_bad_entry");

    t_parse("{\"object\":\"page\",\"entry\":[{\"messaging\":{}}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_bad_messaging");

    t_parse("{\"object\":\"page\",\"entry\":[{\"time\":\"x\","
            "\"messaging\":[]}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_bad_time");

    t_parse("{\"object\":\"instagram\",\"entry\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_wrong_object");

    t_done();
}


/* Instagram */


static void
test_ig_sample_template(void **state)
{
    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM;

    /* the documentation's syntax template is not JSON */
    t_parse_file("instagram/messages_syntax_template.txt");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    t_done();
}


static void
test_ig_messages(void **state)
{
    char                      *body;
    ngx_http_crmsync_event_t  *ev;
    t_expect_t                 e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "aWdfZAG1",
        .occurred_at = 1700000000123LL,
        .instagram_id = "IGSID1",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "aWdfZAG1",
        .text = "is this in stock?",
        .attachments = NGX_HTTP_CRMSYNC_ATT_VIDEO | NGX_HTTP_CRMSYNC_ATT_OTHER,
        .csat = -1
    };

    (void) state;

    t_provider = NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM;

    /* the template's fields, filled in */
    body = messenger_envelope("instagram",
        "{\"sender\":{\"id\":\"IGSID1\"},\"recipient\":{\"id\":\"IGBIZ\"},"
        "\"timestamp\":1700000000123,\"message\":{\"mid\":\"aWdfZAG1\","
        "\"text\":\"is this in stock?\","
        "\"attachments\":[{\"type\":\"ig_reel\",\"payload\":{\"url\":\"u\"}},"
        "{\"type\":\"story_mention\",\"payload\":{\"url\":\"u\"}}],"
        "\"quick_reply\":{\"payload\":\"Q\"},"
        "\"referral\":{\"ref\":\"r\",\"ad_id\":\"1\",\"source\":\"ADS\","
        "\"type\":\"OPEN_THREAD\"},\"reply_to\":{\"mid\":\"m0\"}}},"
        "{\"sender\":{\"id\":\"IGBIZ\"},\"recipient\":{\"id\":\"IGSID1\"},"
        "\"timestamp\":1700000000200,\"message\":{\"mid\":\"aWdfZAG2\","
        "\"is_echo\":true,\"text\":\"yes!\"}},"
        "{\"sender\":{\"id\":\"IGSID1\"},\"recipient\":{\"id\":\"IGBIZ\"},"
        "\"timestamp\":1700000000300,\"message\":{\"mid\":\"aWdfZAG3\","
        "\"is_unsupported\":true}}");

    t_parse(body);
    free(body);

    t_ok();
    assert_int_equal(t_r.p.nevents, 3);

    t_event(0, &e);

    ev = t_r.p.events;

    assert_int_equal(ev[1].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND);
    assert_int_equal(ev[1].author, NGX_HTTP_CRMSYNC_AUTHOR_AGENT);
    t_str(&ev[1].identity.instagram_id, "IGSID1", "instagram_id 1");

    assert_int_equal(ev[2].attachments, NGX_HTTP_CRMSYNC_ATT_OTHER);

    t_parse("{\"object\":\"page\",\"entry\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "instagram_wrong_object");

    t_parse("{\"entry\":5}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "instagram_no_entry");

    body = messenger_envelope("instagram",
        "{\"sender\":{\"id\":1},\"message\":{\"mid\":\"m\"}}");
    t_parse(body);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "instagram_no_sender");
    free(body);

    t_done();
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_wa_sample_inbound),
        cmocka_unit_test(test_wa_sample_sent),
        cmocka_unit_test(test_wa_sample_failed),
        cmocka_unit_test(test_wa_sample_unicode),
        cmocka_unit_test(test_wa_truncated),
        cmocka_unit_test(test_wa_batch),
        cmocka_unit_test(test_wa_echo),
        cmocka_unit_test(test_wa_types),
        cmocka_unit_test(test_wa_identity),
        cmocka_unit_test(test_wa_many_contacts),
        cmocka_unit_test(test_wa_skip),
        cmocka_unit_test(test_wa_wrong_types),
        cmocka_unit_test(test_wa_huge_batch),
        cmocka_unit_test(test_fb_sample_text),
        cmocka_unit_test(test_fb_sample_receipts),
        cmocka_unit_test(test_fb_batch_echo),
        cmocka_unit_test(test_fb_skip),
        cmocka_unit_test(test_fb_wrong_types),
        cmocka_unit_test(test_ig_sample_template),
        cmocka_unit_test(test_ig_messages),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}


/*
 * Copyright (C) crmsync authors
 *
 * The Twilio adapter: every form sample in t/samples/twilio parses to the
 * event it describes; SMS and WhatsApp, status callbacks, media, odd
 * forms.
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


#define T_PROVIDER  NGX_HTTP_CRMSYNC_PROVIDER_TWILIO


#include "t_adapter.h"


/* the samples */


static void
test_sample_whatsapp_inbound(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "SM0123456789abcdef0123456789abcdef",
        .phone = "+14155550123",
        .whatsapp_id = "14155550123",
        .first_name = "Jane",
        .last_name = "Doe",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "SM0123456789abcdef0123456789abcdef",
        .text = "Hello, I'd like a quote",
        .csat = -1
    };

    (void) state;

    t_parse_file("twilio/CONSTRUCTED_whatsapp_inbound.form.txt");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_json("[{\"provider\":\"twilio\",\"type\":\"message.inbound\","
           "\"delivery_id\":\"SM0123456789abcdef0123456789abcdef\","
           "\"identity\":{\"phone\":\"+14155550123\","
           "\"whatsapp_id\":\"14155550123\"},"
           "\"first_name\":\"Jane\",\"last_name\":\"Doe\","
           "\"message\":{\"author\":\"contact\","
           "\"id\":\"SM0123456789abcdef0123456789abcdef\","
           "\"text\":\"Hello, I'd like a quote\"}}]");

    t_done();
}


static void
test_sample_status(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS,
        .delivery_id = "SM0123456789abcdef0123456789abcdef:delivered",
        .phone = "+14155550123",    /* "To", the one it went to */
        .author = NGX_HTTP_CRMSYNC_AUTHOR_NONE,
        .message_id = "SM0123456789abcdef0123456789abcdef",
        .status = "delivered",
        .csat = -1
    };

    (void) state;

    t_parse_file("twilio/CONSTRUCTED_sms_status_callback.form.txt");
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_sample_other(void **state)
{
    (void) state;

    /* the signature vectors are voice parameters: not a message */
    t_parse_file("twilio/official_vector_params.form.txt");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "twilio_not_a_message");

    t_parse_file("twilio/official_doc_vector_params.form.txt");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "twilio_not_a_message");

    /* a JSON body (other Twilio products) is skipped */
    t_form = 0;
    t_parse_file("twilio/official_vector_json_body.json");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "twilio_json_body");

    /* bad JSON on a twilio location is still bad JSON */
    t_parse(" {\"a\":");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    /* no form flag, but a form: read as a form */
    t_parse_file("twilio/CONSTRUCTED_whatsapp_inbound.form.txt");
    t_ok();
    t_str(&t_r.p.events[0].text, "Hello, I'd like a quote", "text");
    t_form = 1;

    t_done();
}


/* SMS, media, statuses */


static void
test_sms_inbound(void **state)
{
    ngx_http_crmsync_event_t  *ev;
    static const char          body[] =
        "ToCountry=US&MediaContentType0=image%2Fjpeg&NumMedia=3"
        "&MediaContentType1=application%2Fpdf&MediaContentType2=text%2Fvcard"
        "&From=%2B14155550123&SmsStatus=received&Body=Line+one%0ALine+2+%26+"
        "%E2%82%AC5%21&MessageSid=SMaaa&MediaUrl0=https%3A%2F%2Fx"
        "&AccountSid=AC1&To=%2B14155550100\r\n";

    (void) state;

    t_parse(body);
    t_ok();
    assert_int_equal(t_r.p.nevents, 1);

    ev = &t_r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    t_str(&ev->delivery_id, "SMaaa", "delivery_id");
    t_str(&ev->message_id, "SMaaa", "message_id");
    t_str(&ev->identity.phone, "+14155550123", "phone");
    t_str(&ev->identity.whatsapp_id, NULL, "whatsapp_id");
    t_str(&ev->first_name, NULL, "first_name");
    t_str(&ev->text, "Line one\nLine 2 & \xe2\x82\xac" "5!", "text");
    assert_int_equal(ev->attachments, NGX_HTTP_CRMSYNC_ATT_IMAGE
                                      | NGX_HTTP_CRMSYNC_ATT_FILE
                                      | NGX_HTTP_CRMSYNC_ATT_CONTACT);

    t_done();
}


static void
test_sms_region(void **state)
{
    (void) state;

    /* a national "From" (short codes, tests) under the default region */
    t_parse("MessageSid=SM1&From=%28415%29+555-0123&Body=x");
    t_ok();
    t_str(&t_r.p.events[0].identity.phone, "+14155550123", "phone");

    /* a short code is no phone identity */
    t_parse("MessageSid=SM1&From=12345");
    t_ok();
    t_str(&t_r.p.events[0].identity.phone, NULL, "phone");

    t_done();
}


static void
test_whatsapp_media_location(void **state)
{
    ngx_http_crmsync_event_t  *ev;
    static const char          body[] =
        "MessageSid=MM1&SmsStatus=received&From=whatsapp%3A%2B5215512345678"
        "&WaId=5215512345678&ProfileName=Mar%C3%ADa+Jos%C3%A9+L%C3%B3pez"
        "&NumMedia=1&MediaContentType0=audio%2Fogg&Latitude=19.4"
        "&Longitude=-99.1&MessageType=location";

    (void) state;

    t_parse(body);
    t_ok();

    ev = &t_r.p.events[0];
    t_str(&ev->identity.whatsapp_id, "5215512345678", "whatsapp_id");
    t_str(&ev->identity.phone, "+525512345678", "phone");
    t_str(&ev->first_name, "Mar\xc3\xad" "a", "first_name");
    t_str(&ev->last_name, "Jos\xc3\xa9 L\xc3\xb3pez", "last_name");
    t_str(&ev->text, NULL, "text");
    assert_int_equal(ev->attachments, NGX_HTTP_CRMSYNC_ATT_AUDIO
                                      | NGX_HTTP_CRMSYNC_ATT_LOCATION);

    /* WaId alone (From without the prefix) still gives the identity */
    t_parse("MessageSid=MM2&From=%2B&WaId=5511987654321");
    t_ok();
    ev = &t_r.p.events[0];
    t_str(&ev->identity.whatsapp_id, "5511987654321", "whatsapp_id");
    t_str(&ev->identity.phone, "+5511987654321", "phone");
    t_str(&ev->identity.phone_alt, "+551187654321", "phone_alt");

    /* NumMedia without content types: a file */
    t_parse("MessageSid=MM3&NumMedia=2");
    t_ok();
    assert_int_equal(t_r.p.events[0].attachments, NGX_HTTP_CRMSYNC_ATT_FILE);

    t_done();
}


static void
test_statuses(void **state)
{
    ngx_http_crmsync_event_t  *ev;
    static const char          failed[] =
        "MessageStatus=undelivered&ErrorCode=30008&MessageSid=SMbbb"
        "&To=whatsapp%3A%2B14155550123&From=whatsapp%3A%2B14155550100";
    static const char          sms[] =
        "SmsSid=SMccc&SmsStatus=sent&To=%2B14155550123";

    (void) state;

    t_parse(failed);
    t_ok();
    ev = &t_r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    t_str(&ev->delivery_id, "SMbbb:undelivered", "delivery_id");
    t_str(&ev->message_id, "SMbbb", "message_id");
    t_str(&ev->status, "undelivered", "status");
    t_str(&ev->identity.whatsapp_id, "14155550123", "whatsapp_id");
    t_str(&ev->identity.phone, "+14155550123", "phone");
    assert_int_equal(ev->nattrs, 1);
    t_str(&ev->attrs[0].name, "error_code", "attrs[0].name");
    t_str(&ev->attrs[0].value, "30008", "attrs[0].value");

    /* the deprecated names still work */
    t_parse(sms);
    t_ok();
    ev = &t_r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    t_str(&ev->delivery_id, "SMccc:sent", "delivery_id");
    t_str(&ev->status, "sent", "status");
    t_str(&ev->identity.phone, "+14155550123", "phone");

    /* MessageStatus wins over SmsStatus; "receiving" is inbound */
    t_parse("MessageSid=SM1&SmsStatus=sent&MessageStatus=read");
    t_ok();
    t_str(&t_r.p.events[0].delivery_id, "SM1:read", "delivery_id");

    t_parse("MessageSid=SM1&SmsStatus=receiving");
    t_ok();
    assert_int_equal(t_r.p.events[0].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);

    t_done();
}


static void
test_odd_forms(void **state)
{
    char                      *big;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    /* the first of a repeated name; bad escapes kept; empty pairs */
    t_parse("&&MessageSid=SM1&MessageSid=SM2&=x&Body=100%25+%zz%4&NoValue"
            "&Mess%61geStatus=queued&");
    t_ok();
    ev = &t_r.p.events[0];
    t_str(&ev->message_id, "SM1", "message_id");
    t_str(&ev->status, "queued", "status");

    t_parse("MessageSid=SM1&Body=100%25+%zz%4");
    t_ok();
    t_str(&t_r.p.events[0].text, "100% %zz%4", "text");

    /* a key longer than any we read is passed over */
    big = malloc(200 + 20);
    assert_non_null(big);
    memset(big, 'K', 200);
    strcpy(big + 200, "=1&MessageSid=SM9");
    t_parse(big);
    t_ok();
    t_str(&t_r.p.events[0].delivery_id, "SM9", "delivery_id");
    free(big);

    /* the length is honoured */
    t_parse_len("MessageSid=SM12345", 14, "US");
    t_ok();
    t_str(&t_r.p.events[0].delivery_id, "SM1", "delivery_id");

    t_parse("");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "twilio_no_message_sid");

    t_parse("Body=hi&From=%2B14155550123");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "twilio_no_message_sid");

    t_parse("MessageSid=&Body=hi");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "twilio_no_message_sid");

    /* raw control or 8-bit bytes: not a form */
    t_parse("MessageSid=SM1&Body=a\x01");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_form");

    t_parse("MessageSid=SM1&Body=\xc3\xa9");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_form");

    t_parse("MessageSid=SM1\n&Body=a");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_form");

    t_done();
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_sample_whatsapp_inbound),
        cmocka_unit_test(test_sample_status),
        cmocka_unit_test(test_sample_other),
        cmocka_unit_test(test_sms_inbound),
        cmocka_unit_test(test_sms_region),
        cmocka_unit_test(test_whatsapp_media_location),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_odd_forms),
    };

    /* Twilio posts forms (test_sample_other tries without the flag) */
    t_form = 1;

    return cmocka_run_group_tests(tests, NULL, NULL);
}

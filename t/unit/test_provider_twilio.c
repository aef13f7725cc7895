
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

static int  form = 1;


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
    r->p.form = form;
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
    assert_str(&ev->identity.messenger_psid, NULL);
    assert_str(&ev->identity.instagram_id, NULL);
    assert_str(&ev->conversation_id, NULL);
    assert_int_equal(ev->occurred_at, 0);
    assert_str(&ev->identity.telegram_id, NULL);
    assert_str(&ev->identity.telegram_username, NULL);
    assert_str(&ev->identity.platform_id, NULL);
    assert_str(&ev->identity.hubspot_id, NULL);
    assert_str(&ev->assignee, NULL);
    assert_str(&ev->property, NULL);
    assert_str(&ev->property_value, NULL);
    assert_str(&ev->merged_ids, NULL);
    assert_int_equal(ev->csat, -1);
}


static void
runs(run_t *r, const char *body)
{
    run(r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, strlen(body));
}


/* the samples */


static void
test_sample_whatsapp_inbound(void **state)
{
    char                      *body, json[1024];
    size_t                     len, n;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    body = read_file("t/samples/twilio/CONSTRUCTED_whatsapp_inbound.form.txt",
                     &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, len);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_int_equal(ev->provider, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO);
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_str(&ev->delivery_id, "SM0123456789abcdef0123456789abcdef");
    assert_str(&ev->message_id, "SM0123456789abcdef0123456789abcdef");
    assert_str(&ev->identity.whatsapp_id, "14155550123");
    assert_str(&ev->identity.phone, "+14155550123");
    assert_str(&ev->identity.phone_alt, NULL);
    assert_str(&ev->first_name, "Jane");
    assert_str(&ev->last_name, "Doe");
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    assert_str(&ev->text, "Hello, I'd like a quote");
    assert_str(&ev->status, NULL);
    assert_int_equal(ev->attachments, 0);
    assert_int_equal(ev->nattrs, 0);
    assert_no_extras(ev);

    n = ngx_http_crmsync_events_json(r.p.events, r.p.nevents,
                                     (u_char *) json, sizeof(json) - 1);
    assert_true(n < sizeof(json));
    json[n] = '\0';
    assert_string_equal(json,
        "[{\"provider\":\"twilio\",\"type\":\"message.inbound\","
        "\"delivery_id\":\"SM0123456789abcdef0123456789abcdef\","
        "\"identity\":{\"phone\":\"+14155550123\","
        "\"whatsapp_id\":\"14155550123\"},"
        "\"first_name\":\"Jane\",\"last_name\":\"Doe\","
        "\"message\":{\"author\":\"contact\","
        "\"id\":\"SM0123456789abcdef0123456789abcdef\","
        "\"text\":\"Hello, I'd like a quote\"}}]");

    done(&r);
    free(body);
}


static void
test_sample_status(void **state)
{
    char                      *body;
    size_t                     len;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    body = read_file("t/samples/twilio/"
                     "CONSTRUCTED_sms_status_callback.form.txt", &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, len);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_int_equal(ev->provider, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO);
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    assert_str(&ev->delivery_id,
               "SM0123456789abcdef0123456789abcdef:delivered");
    assert_str(&ev->message_id, "SM0123456789abcdef0123456789abcdef");
    assert_str(&ev->status, "delivered");

    /* the contact is "To", the one the message went to */
    assert_str(&ev->identity.phone, "+14155550123");
    assert_str(&ev->identity.whatsapp_id, NULL);
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_NONE);
    assert_str(&ev->text, NULL);
    assert_str(&ev->first_name, NULL);
    assert_int_equal(ev->attachments, 0);
    assert_int_equal(ev->nattrs, 0);
    assert_no_extras(ev);

    done(&r);
    free(body);
}


static void
test_sample_other(void **state)
{
    char    *body;
    size_t   len;
    run_t    r;

    (void) state;

    /* the signature vectors are voice parameters: not a message */
    body = read_file("t/samples/twilio/official_vector_params.form.txt",
                     &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, len);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_SKIP);
    assert_string_equal(r.p.reason, "twilio_not_a_message");
    done(&r);
    free(body);

    body = read_file("t/samples/twilio/official_doc_vector_params.form.txt",
                     &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, len);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_SKIP);
    assert_string_equal(r.p.reason, "twilio_not_a_message");
    done(&r);
    free(body);

    /* a JSON body (other Twilio products) is skipped */
    form = 0;
    body = read_file("t/samples/twilio/official_vector_json_body.json", &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, len);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_SKIP);
    assert_string_equal(r.p.reason, "twilio_json_body");
    done(&r);
    free(body);

    /* bad JSON on a twilio location is still bad JSON */
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, " {\"a\":",
           NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    /* no form flag, but a form: read as a form */
    body = read_file("t/samples/twilio/CONSTRUCTED_whatsapp_inbound.form.txt",
                     &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, len);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].text, "Hello, I'd like a quote");
    done(&r);
    free(body);
    form = 1;
}


/* SMS, media, statuses */


static void
test_sms_inbound(void **state)
{
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;
    static const char          body[] =
        "ToCountry=US&MediaContentType0=image%2Fjpeg&NumMedia=3"
        "&MediaContentType1=application%2Fpdf&MediaContentType2=text%2Fvcard"
        "&From=%2B14155550123&SmsStatus=received&Body=Line+one%0ALine+2+%26+"
        "%E2%82%AC5%21&MessageSid=SMaaa&MediaUrl0=https%3A%2F%2Fx"
        "&AccountSid=AC1&To=%2B14155550100\r\n";

    (void) state;

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, sizeof(body) - 1);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    assert_str(&ev->delivery_id, "SMaaa");
    assert_str(&ev->message_id, "SMaaa");
    assert_str(&ev->identity.phone, "+14155550123");
    assert_str(&ev->identity.whatsapp_id, NULL);
    assert_str(&ev->first_name, NULL);
    assert_str(&ev->text, "Line one\nLine 2 & \xe2\x82\xac" "5!");
    assert_int_equal(ev->attachments, NGX_HTTP_CRMSYNC_ATT_IMAGE
                                      | NGX_HTTP_CRMSYNC_ATT_FILE
                                      | NGX_HTTP_CRMSYNC_ATT_CONTACT);
    done(&r);
}


static void
test_sms_region(void **state)
{
    run_t  r;

    (void) state;

    /* a national "From" (short codes, tests) under the default region */
    runs(&r,
        "MessageSid=SM1&From=%28415%29+555-0123&Body=x");
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].identity.phone, "+14155550123");
    done(&r);

    /* a short code is no phone identity */
    runs(&r, "MessageSid=SM1&From=12345");
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].identity.phone, NULL);
    done(&r);
}


static void
test_whatsapp_media_location(void **state)
{
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;
    static const char          body[] =
        "MessageSid=MM1&SmsStatus=received&From=whatsapp%3A%2B5215512345678"
        "&WaId=5215512345678&ProfileName=Mar%C3%ADa+Jos%C3%A9+L%C3%B3pez"
        "&NumMedia=1&MediaContentType0=audio%2Fogg&Latitude=19.4"
        "&Longitude=-99.1&MessageType=location";

    (void) state;

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, body, sizeof(body) - 1);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);

    ev = &r.p.events[0];
    assert_str(&ev->identity.whatsapp_id, "5215512345678");
    assert_str(&ev->identity.phone, "+525512345678");
    assert_str(&ev->first_name, "Mar\xc3\xad" "a");
    assert_str(&ev->last_name, "Jos\xc3\xa9 L\xc3\xb3pez");
    assert_str(&ev->text, NULL);
    assert_int_equal(ev->attachments, NGX_HTTP_CRMSYNC_ATT_AUDIO
                                      | NGX_HTTP_CRMSYNC_ATT_LOCATION);
    done(&r);

    /* WaId alone (From without the prefix) still gives the identity */
    runs(&r,
        "MessageSid=MM2&From=%2B&WaId=5511987654321");
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    ev = &r.p.events[0];
    assert_str(&ev->identity.whatsapp_id, "5511987654321");
    assert_str(&ev->identity.phone, "+5511987654321");
    assert_str(&ev->identity.phone_alt, "+551187654321");
    done(&r);

    /* NumMedia without content types: a file */
    runs(&r, "MessageSid=MM3&NumMedia=2");
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.events[0].attachments, NGX_HTTP_CRMSYNC_ATT_FILE);
    done(&r);
}


static void
test_statuses(void **state)
{
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;
    static const char          failed[] =
        "MessageStatus=undelivered&ErrorCode=30008&MessageSid=SMbbb"
        "&To=whatsapp%3A%2B14155550123&From=whatsapp%3A%2B14155550100";
    static const char          sms[] =
        "SmsSid=SMccc&SmsStatus=sent&To=%2B14155550123";

    (void) state;

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, failed, sizeof(failed) - 1);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    ev = &r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    assert_str(&ev->delivery_id, "SMbbb:undelivered");
    assert_str(&ev->message_id, "SMbbb");
    assert_str(&ev->status, "undelivered");
    assert_str(&ev->identity.whatsapp_id, "14155550123");
    assert_str(&ev->identity.phone, "+14155550123");
    assert_int_equal(ev->nattrs, 1);
    assert_str(&ev->attrs[0].name, "error_code");
    assert_str(&ev->attrs[0].value, "30008");
    done(&r);

    /* the deprecated names still work */
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, sms, sizeof(sms) - 1);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    ev = &r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    assert_str(&ev->delivery_id, "SMccc:sent");
    assert_str(&ev->status, "sent");
    assert_str(&ev->identity.phone, "+14155550123");
    done(&r);

    /* MessageStatus wins over SmsStatus; "receiving" is inbound */
    runs(&r,
        "MessageSid=SM1&SmsStatus=sent&MessageStatus=read");
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].delivery_id, "SM1:read");
    done(&r);

    runs(&r,
        "MessageSid=SM1&SmsStatus=receiving");
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.events[0].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    done(&r);
}


static void
test_odd_forms(void **state)
{
    char                      *big;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    /* the first of a repeated name; bad escapes kept; empty pairs */
    runs(&r,
        "&&MessageSid=SM1&MessageSid=SM2&=x&Body=100%25+%zz%4&NoValue"
        "&Mess%61geStatus=queued&");
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    ev = &r.p.events[0];
    assert_str(&ev->message_id, "SM1");
    assert_str(&ev->status, "queued");
    done(&r);

    runs(&r,
        "MessageSid=SM1&Body=100%25+%zz%4");
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].text, "100% %zz%4");
    done(&r);

    /* a key longer than any we read is passed over */
    big = malloc(200 + 20);
    assert_non_null(big);
    memset(big, 'K', 200);
    strcpy(big + 200, "=1&MessageSid=SM9");
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, big, strlen(big));
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].delivery_id, "SM9");
    done(&r);
    free(big);

    /* the length is honoured */
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, "MessageSid=SM12345", 14);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].delivery_id, "SM1");
    done(&r);

    expect(NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, "",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "twilio_no_message_sid");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, "Body=hi&From=%2B14155550123",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "twilio_no_message_sid");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, "MessageSid=&Body=hi",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "twilio_no_message_sid");

    /* raw control or 8-bit bytes: not a form */
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, "MessageSid=SM1&Body=a\x01",
           NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_form");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, "MessageSid=SM1&Body=\xc3\xa9",
           NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_form");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_TWILIO, "MessageSid=SM1\n&Body=a",
           NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_form");
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

    return cmocka_run_group_tests(tests, NULL, NULL);
}

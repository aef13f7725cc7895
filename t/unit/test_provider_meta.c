
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


/* WhatsApp samples */


static void
test_wa_sample_inbound(void **state)
{
    char                      *body, json[2048];
    size_t                     len, n;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    body = read_file("t/samples/whatsapp/messages_text_inbound.json", &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, len);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_int_equal(ev->provider, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP);
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_str(&ev->delivery_id,
               "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQz"
               "QTRBNjU5OUFFRTAzODEwMTQ0RgA=");
    assert_int_equal(ev->occurred_at, 1749416383000LL);
    assert_str(&ev->identity.whatsapp_id, "16505551234");
    assert_str(&ev->identity.phone, "+16505551234");
    assert_str(&ev->identity.phone_alt, NULL);
    assert_str(&ev->identity.messenger_psid, NULL);
    assert_str(&ev->identity.instagram_id, NULL);
    assert_str(&ev->first_name, "Sheena");
    assert_str(&ev->last_name, "Nelson");
    assert_str(&ev->conversation_id, NULL);
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    assert_str(&ev->message_id,
               "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQz"
               "QTRBNjU5OUFFRTAzODEwMTQ0RgA=");
    assert_str(&ev->text, "Does it come in another color?");
    assert_str(&ev->status, NULL);
    assert_int_equal(ev->attachments, 0);
    assert_int_equal(ev->nattrs, 0);
    assert_no_extras(ev);

    /* and as $crmsync_event shows it */
    n = ngx_http_crmsync_events_json(r.p.events, r.p.nevents,
                                     (u_char *) json, sizeof(json) - 1);
    assert_true(n < sizeof(json));
    json[n] = '\0';
    assert_string_equal(json,
        "[{\"provider\":\"whatsapp\",\"type\":\"message.inbound\","
        "\"delivery_id\":"
        "\"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\","
        "\"occurred_at\":1749416383000,"
        "\"identity\":{\"phone\":\"+16505551234\","
        "\"whatsapp_id\":\"16505551234\"},"
        "\"first_name\":\"Sheena\",\"last_name\":\"Nelson\","
        "\"message\":{\"author\":\"contact\",\"id\":"
        "\"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=\","
        "\"text\":\"Does it come in another color?\"}}]");

    done(&r);
    free(body);
}


static void
test_wa_sample_sent(void **state)
{
    char                      *body;
    size_t                     len;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    body = read_file("t/samples/whatsapp/statuses_sent.json", &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, len);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_int_equal(ev->provider, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP);
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    assert_str(&ev->delivery_id,
               "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
               ":sent");
    assert_str(&ev->message_id,
               "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQz"
               "QUFERjg0NDEzNDdFODU3MUMxMAA=");
    assert_str(&ev->status, "sent");
    assert_int_equal(ev->occurred_at, 1750030073000LL);
    assert_str(&ev->identity.whatsapp_id, "16505551234");
    assert_str(&ev->identity.phone, "+16505551234");
    assert_str(&ev->identity.phone_alt, NULL);
    assert_str(&ev->conversation_id, "72b14d6bd5407799e66f64d1b338e567");
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_NONE);
    assert_str(&ev->text, NULL);
    assert_str(&ev->first_name, NULL);
    assert_str(&ev->last_name, NULL);
    assert_int_equal(ev->attachments, 0);
    assert_int_equal(ev->nattrs, 0);
    assert_no_extras(ev);

    done(&r);
    free(body);
}


static void
test_wa_sample_failed(void **state)
{
    char                      *body;
    size_t                     len;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    body = read_file("t/samples/whatsapp/statuses_failed.json", &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, len);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    assert_str(&ev->delivery_id,
               "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA"
               ":failed");
    assert_str(&ev->message_id,
               "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA");
    assert_str(&ev->status, "failed");
    assert_int_equal(ev->occurred_at, 1751142888000LL);
    assert_str(&ev->identity.whatsapp_id, "16505551234");
    assert_str(&ev->identity.phone, "+16505551234");
    assert_str(&ev->conversation_id, NULL);
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_NONE);
    assert_str(&ev->text, NULL);
    assert_int_equal(ev->nattrs, 1);
    assert_str(&ev->attrs[0].name, "error_code");
    assert_str(&ev->attrs[0].value, "131049");
    assert_no_extras(ev);

    done(&r);
    free(body);
}


static void
test_wa_sample_unicode(void **state)
{
    char    *body;
    size_t   len;
    run_t    r;

    (void) state;

    /*
     * the signature sample: a message with neither "from" nor "id", so
     * no contact and no dedup key: unreadable
     */
    body = read_file("t/samples/whatsapp/CONSTRUCTED_unicode_escaped_body.json",
                     &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, len);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_UNREADABLE);
    assert_string_equal(r.p.reason, "whatsapp_no_from");
    done(&r);
    free(body);

    /* with them, the escapes decode to UTF-8 */
    body = "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"0\","
           "\"changes\":[{\"field\":\"messages\",\"value\":{\"messages\":[{"
           "\"from\":\"4915112345678\",\"id\":\"wamid.U\","
           "\"text\":{\"body\":\"\\u00e4\\u00f6\\u00e5\"}}]}}]}]}";
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, strlen(body));
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].text, "\xc3\xa4\xc3\xb6\xc3\xa5");
    assert_str(&r.p.events[0].identity.phone, "+4915112345678");
    assert_int_equal(r.p.events[0].occurred_at, 0);
    done(&r);
}


static void
test_wa_truncated(void **state)
{
    char    *body;
    size_t   len, i;
    run_t    r;

    (void) state;

    body = read_file("t/samples/whatsapp/messages_text_inbound.json", &len);

    /* every strict prefix short of the final "}\n" is not JSON */
    for (i = 0; i < len - 1; i++) {
        run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, i);
        assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
        assert_string_equal(r.p.reason, "bad_json");
        done(&r);
    }

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, len - 1);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    done(&r);

    free(body);
}


/* WhatsApp: batches, contacts, echoes, types */


static void
test_wa_batch(void **state)
{
    run_t                      r;
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

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, sizeof(body) - 1);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 6);

    /* in body order; contacts matched by wa_id, not by position */
    ev = r.p.events;
    assert_str(&ev[0].delivery_id, "m1");
    assert_str(&ev[0].first_name, "Bob");
    assert_str(&ev[0].last_name, NULL);
    assert_str(&ev[0].text, "one");
    assert_int_equal(ev[0].occurred_at, 10000);

    assert_str(&ev[1].delivery_id, "m2");
    assert_str(&ev[1].first_name, "Ana");
    assert_str(&ev[1].last_name, "Maria Silva");
    assert_str(&ev[1].text, "a photo");
    assert_int_equal(ev[1].attachments, NGX_HTTP_CRMSYNC_ATT_IMAGE);
    assert_str(&ev[1].identity.phone, "+5511987654321");
    assert_str(&ev[1].identity.phone_alt, "+551187654321");
    assert_str(&ev[1].identity.whatsapp_id, "5511987654321");

    assert_str(&ev[2].delivery_id, "m3");
    assert_str(&ev[2].first_name, "Ana");
    assert_str(&ev[2].last_name, "Maria Silva");
    assert_int_equal(ev[2].occurred_at, 12000);

    /* statuses: one event each, unique delivery ids */
    assert_int_equal(ev[3].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS);
    assert_str(&ev[3].delivery_id, "s1:delivered");
    assert_str(&ev[3].message_id, "s1");
    assert_str(&ev[3].status, "delivered");
    assert_str(&ev[4].delivery_id, "s1:read");
    assert_str(&ev[4].message_id, "s1");
    assert_str(&ev[4].status, "read");
    assert_str(&ev[4].identity.phone, "+16505551234");

    /* the account_update change is skipped, the next one read */
    assert_int_equal(ev[5].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_str(&ev[5].delivery_id, "m4");
    assert_str(&ev[5].first_name, NULL);
    assert_str(&ev[5].identity.phone, "+447700900123");
    assert_int_equal(ev[5].occurred_at, 0);

    done(&r);
}


static void
test_wa_echo(void **state)
{
    run_t                      r;
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

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, sizeof(body) - 1);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 2);

    ev = r.p.events;
    assert_int_equal(ev[0].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND);
    assert_int_equal(ev[0].author, NGX_HTTP_CRMSYNC_AUTHOR_AGENT);
    assert_str(&ev[0].delivery_id, "e1");
    assert_str(&ev[0].identity.whatsapp_id, "16505551234");
    assert_str(&ev[0].text, "sent from the app");

    /* the contact is the recipient, the business's name is not theirs */
    assert_int_equal(ev[1].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND);
    assert_int_equal(ev[1].author, NGX_HTTP_CRMSYNC_AUTHOR_AGENT);
    assert_str(&ev[1].identity.whatsapp_id, "16505551234");
    assert_str(&ev[1].first_name, NULL);

    done(&r);

    /* an echo without "to" names no contact */
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"entry\":[{\"changes\":[{\"field\":\"smb_message_echoes\","
           "\"value\":{\"message_echoes\":[{\"from\":\"1\","
           "\"id\":\"e\"}]}}]}]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_to");
}


static void
wa_type(const char *msg, unsigned att, const char *text,
    ngx_http_crmsync_author_e author)
{
    char                       body[1024];
    run_t                      r;

    snprintf(body, sizeof(body),
             "{\"entry\":[{\"changes\":[{\"field\":\"messages\","
             "\"value\":{\"messages\":[{\"from\":\"16505551234\","
             "\"id\":\"m\",%s}]}}]}]}", msg);

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, strlen(body));

    if (r.rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        fail_msg("%s: %s", msg, r.p.reason);
    }

    assert_int_equal(r.p.nevents, 1);
    assert_int_equal(r.p.events[0].attachments, att);
    assert_str(&r.p.events[0].text, text);
    assert_int_equal(r.p.events[0].author, author);

    done(&r);
}


static void
test_wa_types(void **state)
{
    (void) state;

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
    run_t              r;
    static const char  mx[] =
        "{\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{"
        "\"messages\":[{\"from\":\"5215512345678\",\"id\":\"m\"}]}}]}]}";
    static const char  bad[] =
        "{\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{"
        "\"messages\":[{\"from\":\"not-a-number\",\"id\":\"m\"}]}}]}]}";

    (void) state;

    /* the Mexican 521 rule, through the WhatsApp rules */
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, mx, sizeof(mx) - 1);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].identity.whatsapp_id, "5215512345678");
    assert_str(&r.p.events[0].identity.phone, "+525512345678");
    done(&r);

    /* a sender that is not a number: the event, with no identity */
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, bad, sizeof(bad) - 1);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_str(&r.p.events[0].identity.whatsapp_id, NULL);
    assert_str(&r.p.events[0].identity.phone, NULL);
    done(&r);
}


static void
test_wa_many_contacts(void **state)
{
    char    *body, *p;
    run_t    r;
    size_t   i;

    (void) state;

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

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, strlen(body));
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 2);
    assert_str(&r.p.events[0].first_name, "N32");
    assert_str(&r.p.events[0].last_name, "X");
    assert_str(&r.p.events[1].first_name, NULL);
    done(&r);
    free(body);
}


static void
test_wa_skip(void **state)
{
    (void) state;

    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"object\":\"whatsapp_business_account\",\"entry\":[]}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "whatsapp_no_messages");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"entry\":[{\"changes\":[]}]}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "whatsapp_no_messages");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"entry\":[{\"changes\":[{\"field\":\"messages\","
           "\"value\":{\"contacts\":[]}}]}]}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "whatsapp_no_messages");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"entry\":[{\"changes\":[{\"field\":"
           "\"message_template_status_update\",\"value\":{}}]}]}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "whatsapp_not_messages");
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

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body), "%s%s}]}]}", pre, cases[i].value);
        expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body,
               NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, cases[i].reason);
    }

    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, "{}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_entry");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, "{\"entry\":\"x\"}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_entry");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, "{\"entry\":[1]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_changes");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, "{\"entry\":[{}]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_changes");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"entry\":[{\"changes\":[{\"value\":{}}]}]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_bad_change");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"entry\":[{\"changes\":[[]]}]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_bad_change");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"object\":\"page\",\"entry\":[]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_wrong_object");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"object\":1,\"entry\":[]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_wrong_object");

    /* a good message before a bad one: the whole delivery is refused */
    expect(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
           "{\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{"
           "\"messages\":[{\"from\":\"1\",\"id\":\"ok\"},"
           "{\"from\":2,\"id\":\"bad\"}]}}]}]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "whatsapp_no_from");
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
    run_t    r;
    size_t   i;

    (void) state;

    body = wa_many(NGX_HTTP_CRMSYNC_MAX_EVENTS, 0);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, strlen(body));
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, NGX_HTTP_CRMSYNC_MAX_EVENTS);

    for (i = 0; i < r.p.nevents; i++) {
        snprintf(id, sizeof(id), "wamid.%zu", i);
        assert_str(&r.p.events[i].delivery_id, id);
        assert_str(&r.p.events[i].first_name, "Same");
        assert_str(&r.p.events[i].last_name, "Person");
    }

    /* the name is copied once and shared */
    assert_ptr_equal(r.p.events[0].first_name.data,
                     r.p.events[1023].first_name.data);

    done(&r);
    free(body);

    body = wa_many(NGX_HTTP_CRMSYNC_MAX_EVENTS, 1);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, strlen(body));
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, NGX_HTTP_CRMSYNC_MAX_EVENTS);
    assert_str(&r.p.events[1023].delivery_id, "wamid.1023:read");
    done(&r);
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

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, strlen(body));
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, NGX_HTTP_CRMSYNC_MAX_EVENTS);
    assert_int_equal(r.p.events[1022].first_name.len, 4000);
    assert_int_equal(r.p.events[1022].first_name.data[0], 'a');
    assert_int_equal(r.p.events[1023].first_name.data[0], 'b');
    done(&r);
    free(body);

    /* one more than the limit: refused whole, nothing half-stored */
    body = wa_many(NGX_HTTP_CRMSYNC_MAX_EVENTS + 1, 0);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, body, strlen(body));
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_NOMEM);
    assert_string_equal(r.p.reason, "too_many_events");
    done(&r);
    free(body);
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


static run_t *
messenger_sample(const char *file, run_t *r)
{
    char    *item, *body;
    size_t   len;

    item = read_file(file, &len);
    body = messenger_envelope("page", item);
    run(r, NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER, body, strlen(body));
    free(body);
    free(item);

    return r;
}


static void
test_fb_sample_text(void **state)
{
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

    messenger_sample("t/samples/messenger/messages_text_event.json", &r);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 1);

    ev = &r.p.events[0];
    assert_int_equal(ev->provider, NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER);
    assert_int_equal(ev->type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_str(&ev->delivery_id, "mid.1457764197618:41d102a3e1ae206a38");
    assert_str(&ev->message_id, "mid.1457764197618:41d102a3e1ae206a38");
    assert_int_equal(ev->occurred_at, 1458692752478LL);
    assert_str(&ev->identity.messenger_psid, "<PSID>");
    assert_str(&ev->identity.instagram_id, NULL);
    assert_str(&ev->identity.phone, NULL);
    assert_str(&ev->identity.whatsapp_id, NULL);
    assert_str(&ev->first_name, NULL);
    assert_str(&ev->last_name, NULL);
    assert_str(&ev->conversation_id, NULL);
    assert_int_equal(ev->author, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    assert_str(&ev->text, "hello, world!");
    assert_str(&ev->status, NULL);
    assert_int_equal(ev->attachments, 0);
    assert_int_equal(ev->nattrs, 0);
    assert_no_extras(ev);

    done(&r);
}


static void
test_fb_sample_receipts(void **state)
{
    run_t  r;

    (void) state;

    /* delivery and read receipts are skipped (see doc/events.md) */
    messenger_sample("t/samples/messenger/message_deliveries_event.json", &r);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_SKIP);
    assert_string_equal(r.p.reason, "messenger_receipt");
    done(&r);

    messenger_sample("t/samples/messenger/message_reads_event.json", &r);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_SKIP);
    assert_string_equal(r.p.reason, "messenger_receipt");
    done(&r);
}


static void
test_fb_batch_echo(void **state)
{
    char                      *body;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

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

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER, body, strlen(body));
    free(body);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 4);

    ev = r.p.events;
    assert_int_equal(ev[0].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_str(&ev[0].identity.messenger_psid, "P1");
    assert_int_equal(ev[0].occurred_at, 1);

    /* the page's echo: outbound, by an agent, to the PSID */
    assert_int_equal(ev[1].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND);
    assert_int_equal(ev[1].author, NGX_HTTP_CRMSYNC_AUTHOR_AGENT);
    assert_str(&ev[1].identity.messenger_psid, "P1");
    assert_str(&ev[1].delivery_id, "m2");
    assert_str(&ev[1].text, "hello from us");

    assert_str(&ev[2].delivery_id, "m3");
    assert_int_equal(ev[2].attachments, NGX_HTTP_CRMSYNC_ATT_IMAGE
                                        | NGX_HTTP_CRMSYNC_ATT_FILE
                                        | NGX_HTTP_CRMSYNC_ATT_STICKER
                                        | NGX_HTTP_CRMSYNC_ATT_OTHER);
    assert_str(&ev[2].text, NULL);

    /* a postback: the button title, the entry time */
    assert_int_equal(ev[3].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_str(&ev[3].identity.messenger_psid, "P2");
    assert_str(&ev[3].delivery_id, "m4");
    assert_str(&ev[3].text, "Get Started");
    assert_int_equal(ev[3].occurred_at, 1458692752999LL);

    done(&r);
}


static void
test_fb_skip(void **state)
{
    char  *body;

    (void) state;

    body = messenger_envelope("page",
        "{\"sender\":{\"id\":\"P1\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"timestamp\":4,\"message\":{\"mid\":\"m0\",\"is_deleted\":true}}");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER, body,
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_deleted");
    free(body);

    body = messenger_envelope("page",
        "{\"sender\":{\"id\":\"P1\"},\"recipient\":{\"id\":\"PAGE\"},"
        "\"optin\":{\"ref\":\"x\"}}");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER, body,
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_unsupported_event");
    free(body);

    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER,
           "{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"time\":1,"
           "\"changes\":[{\"field\":\"feed\"}]}]}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_no_messaging");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER,
           "{\"object\":\"page\",\"entry\":[]}",
           NGX_HTTP_CRMSYNC_PARSE_SKIP, "messenger_no_messaging");
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

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        body = messenger_envelope("page", cases[i].item);
        expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER, body,
               NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, cases[i].reason);
        free(body);
    }

    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER, "{\"object\":\"page\"}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_no_entry");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER,
           "{\"object\":\"page\",\"entry\":\"x\"}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_no_entry");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER,
           "{\"object\":\"page\",\"entry\":[[]]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_bad_entry");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER,
           "{\"object\":\"page\",\"entry\":[{\"messaging\":{}}]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_bad_messaging");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER,
           "{\"object\":\"page\",\"entry\":[{\"time\":\"x\","
           "\"messaging\":[]}]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_bad_time");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER,
           "{\"object\":\"instagram\",\"entry\":[]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "messenger_wrong_object");
}


/* Instagram */


static void
test_ig_sample_template(void **state)
{
    char    *body;
    size_t   len;
    run_t    r;

    (void) state;

    /* the documentation's syntax template is not JSON */
    body = read_file("t/samples/instagram/messages_syntax_template.txt",
                     &len);
    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM, body, len);
    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    assert_string_equal(r.p.reason, "bad_json");
    done(&r);
    free(body);
}


static void
test_ig_messages(void **state)
{
    char                      *body;
    run_t                      r;
    ngx_http_crmsync_event_t  *ev;

    (void) state;

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

    run(&r, NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM, body, strlen(body));
    free(body);

    assert_int_equal(r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(r.p.nevents, 3);

    ev = r.p.events;
    assert_int_equal(ev[0].provider, NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM);
    assert_int_equal(ev[0].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND);
    assert_int_equal(ev[0].author, NGX_HTTP_CRMSYNC_AUTHOR_CONTACT);
    assert_str(&ev[0].identity.instagram_id, "IGSID1");
    assert_str(&ev[0].identity.messenger_psid, NULL);
    assert_str(&ev[0].delivery_id, "aWdfZAG1");
    assert_str(&ev[0].message_id, "aWdfZAG1");
    assert_str(&ev[0].text, "is this in stock?");
    assert_int_equal(ev[0].occurred_at, 1700000000123LL);
    assert_int_equal(ev[0].attachments, NGX_HTTP_CRMSYNC_ATT_VIDEO
                                        | NGX_HTTP_CRMSYNC_ATT_OTHER);
    assert_no_extras(&ev[0]);

    assert_int_equal(ev[1].type, NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND);
    assert_int_equal(ev[1].author, NGX_HTTP_CRMSYNC_AUTHOR_AGENT);
    assert_str(&ev[1].identity.instagram_id, "IGSID1");

    assert_int_equal(ev[2].attachments, NGX_HTTP_CRMSYNC_ATT_OTHER);

    done(&r);

    expect(NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM,
           "{\"object\":\"page\",\"entry\":[]}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "instagram_wrong_object");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM, "{\"entry\":5}",
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "instagram_no_entry");

    body = messenger_envelope("instagram",
        "{\"sender\":{\"id\":1},\"message\":{\"mid\":\"m\"}}");
    expect(NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM, body,
           NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "instagram_no_sender");
    free(body);
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

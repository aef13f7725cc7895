
/*
 * Copyright (C) crmsync authors
 *
 * Unit tests for the Standard Webhooks adapter, through
 * ngx_http_crmsync_parse(): the spec's example payloads in
 * t/samples/standard-webhooks (full, thin, minified) parse to exactly the
 * event they describe; the library vector bodies are refused (no type);
 * message, status, conversation and CSAT payloads are CONSTRUCTED here
 * from the field names the adapter documents (doc/adapters.md).
 * Every field of every event is asserted; then skips, refusals, and
 * truncation and type mutations.
 *
 * Run from the repository root, or set CRMSYNC_SAMPLES to t/samples.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "ngx_http_crmsync_event.h"


#define T_PROVIDER  NGX_HTTP_CRMSYNC_PROVIDER_STANDARD


#include "t_adapter.h"


/* the spec's examples */


static void
test_contact_full(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED,
        .delivery_id = NULL,    /* no body id: the glue sets webhook-id */
        /* "2022-11-03T20:26:10.344522Z" */
        .occurred_at = 1667507170344LL,
        .phone = "+12813322575",
        .platform_id = "1f81eb52-5198-4599-803e-771906343485",
        .first_name = "John",
        .last_name = "Smith",
        .attrs = "address=800 W NASA Pkwy, Webster, TX 77598, USA;"
                 "birthday=1980-04-19;occupation=Engineer, ACME",
        .csat = -1
    };

    (void) state;

    assert_int_equal(
        t_parse_file("standard-webhooks/contact.created_full.json"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_contact_thin(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED,
        .occurred_at = 1667507170344LL,
        .platform_id = "1f81eb52-5198-4599-803e-771906343485",
        .csat = -1
    };

    (void) state;

    assert_int_equal(
        t_parse_file("standard-webhooks/contact.created_thin.json"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    assert_int_equal(
        t_parse_file("standard-webhooks/contact.created_thin_minified.json"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_vector_bodies(void **state)
{
    (void) state;

    /* signature vectors, not events */

    t_parse_file("standard-webhooks/vector_official_payload.txt");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_type");

    t_parse_file("standard-webhooks/vector_official_rust_payload.txt");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_type");

    t_done();
}


/* CONSTRUCTED from the documented field names */


static const char  t_inbound[] =
    "{\"id\":\"evt_1\",\"type\":\"message.inbound\","
    "\"timestamp\":1700000000,\"data\":{\"conversation_id\":\"c-9\","
    "\"contact\":{\"id\":\"u-1\",\"email\":\"Ana@B.co\","
    "\"phone\":\"+1 415 555 2671\",\"first_name\":\"Ana\","
    "\"last_name\":\"Silva\",\"name\":\"ignored\",\"hubspot_id\":12345,"
    "\"attributes\":{\"qualification_score\":88,"
    "\"answer_budget\":\"10k\",\"nested\":{}},\"plan\":\"pro\","
    "\"vip\":false,\"ratio\":0.5,\"tags\":[\"a\"],\"none\":null},"
    "\"message\":{\"id\":\"m-1\",\"text\":\"hello <b>there</b>\","
    "\"attachments\":[\"image\",{\"type\":\"document\"},"
    "{\"type\":\"hologram\"},5]},"
    "\"assignee\":{\"email\":\"rep@x.io\",\"id\":\"9\"}}}";


static void
test_message_inbound(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "evt_1",
        .occurred_at = 1700000000000LL,
        .email = "ana@b.co",
        .phone = "+14155552671",
        .platform_id = "u-1",
        .hubspot_id = "12345",
        .first_name = "Ana",
        .last_name = "Silva",
        .conversation_id = "c-9",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "m-1",
        .text = "hello <b>there</b>",      /* plain text, as sent */
        .attachments = NGX_HTTP_CRMSYNC_ATT_IMAGE | NGX_HTTP_CRMSYNC_ATT_FILE
                       | NGX_HTTP_CRMSYNC_ATT_OTHER,
        .assignee = "rep@x.io",
        .attrs = "qualification_score=88;answer_budget=10k;plan=pro;"
                 "vip=false;ratio=0.5",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse(t_inbound), NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_message_outbound_and_status(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND,
        .delivery_id = "42",
        .occurred_at = 1700000000500LL,
        .platform_id = "u-1",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_BOT,
        .message_id = "m-2",
        .text = "Hi, I am the bot",
        .assignee = "agent-7",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse("{\"id\":42,\"type\":\"message.outbound\","
        "\"timestamp\":\"2023-11-14T22:13:20.5Z\",\"data\":{"
        "\"contact\":{\"id\":\"u-1\"},\"assignee\":\"agent-7\","
        "\"message\":{\"id\":\"m-2\",\"text\":\"Hi, I am the bot\","
        "\"author\":\"bot\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* a synonym; an agent by default; the conversation as an object */

    e.author = NGX_HTTP_CRMSYNC_AUTHOR_AGENT;
    e.conversation_id = "c-10";
    e.assignee = NULL;
    e.delivery_id = NULL;
    e.occurred_at = 0;

    assert_int_equal(t_parse("{\"type\":\"message.sent\",\"data\":{"
        "\"contact\":{\"id\":\"u-1\"},\"conversation\":{\"id\":\"c-10\"},"
        "\"message\":{\"id\":\"m-2\",\"text\":\"Hi, I am the bot\","
        "\"author\":\"nobody-we-know\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* an internal note */

    e.author = NGX_HTTP_CRMSYNC_AUTHOR_NOTE;
    e.conversation_id = "77";

    assert_int_equal(t_parse("{\"type\":\"message.outbound\",\"data\":{"
        "\"contact\":{\"id\":\"u-1\"},\"conversationId\":77,"
        "\"message\":{\"id\":\"m-2\",\"text\":\"Hi, I am the bot\","
        "\"author\":\"note\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* a delivery status */

    e.type = NGX_HTTP_CRMSYNC_EV_MESSAGE_STATUS;
    e.author = NGX_HTTP_CRMSYNC_AUTHOR_NONE;
    e.text = NULL;
    e.status = "delivered";
    e.conversation_id = NULL;

    assert_int_equal(t_parse("{\"type\":\"message.status\",\"data\":{"
        "\"contact\":{\"id\":\"u-1\"},"
        "\"message\":{\"id\":\"m-2\",\"status\":\"delivered\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    t_parse("{\"type\":\"message.status\",\"data\":{"
            "\"message\":{\"id\":\"m-2\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_status");

    t_done();
}


static void
test_conversation_and_csat(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED,
        .delivery_id = "evt_3",
        .occurred_at = 1700000000000LL,
        .email = "ana@b.co",
        .conversation_id = "c-9",
        .csat = 5
    };

    (void) state;

    assert_int_equal(t_parse("{\"id\":\"evt_3\","
        "\"type\":\"conversation.closed\",\"timestamp\":1700000000,"
        "\"data\":{\"conversationId\":\"c-9\",\"csat\":5,"
        "\"contact\":{\"email\":\"ana@b.co\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    e.type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED;
    e.assignee = "rep@x.io";
    e.csat = -1;

    assert_int_equal(t_parse("{\"id\":\"evt_3\","
        "\"type\":\"conversation.assigned\",\"timestamp\":1700000000,"
        "\"data\":{\"conversation_id\":\"c-9\",\"assignee\":\"rep@x.io\","
        "\"contact\":{\"email\":\"ana@b.co\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    e.type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED;
    e.assignee = "9";
    e.email = NULL;

    assert_int_equal(t_parse("{\"id\":\"evt_3\","
        "\"type\":\"conversation.created\",\"timestamp\":1700000000,"
        "\"data\":{\"conversation\":{\"id\":\"c-9\"},"
        "\"assignee\":{\"id\":9}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    e.type = NGX_HTTP_CRMSYNC_EV_CSAT;
    e.assignee = NULL;
    e.csat = 2;
    e.platform_id = "u-1";

    assert_int_equal(t_parse("{\"id\":\"evt_3\",\"type\":\"csat\","
        "\"timestamp\":1700000000,\"data\":{\"conversation_id\":\"c-9\","
        "\"score\":2,\"contact\":{\"id\":\"u-1\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    t_parse("{\"type\":\"csat.submitted\",\"data\":{\"contact\":{}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_csat");

    t_parse("{\"type\":\"csat\",\"data\":{\"csat\":\"5\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_csat");

    t_parse("{\"type\":\"csat\",\"data\":{\"csat\":101}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_csat");

    t_done();
}


static void
test_contact_variants(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED,
        .delivery_id = "evt_4",
        .occurred_at = 1667507170000LL,
        .email = "x@y.org",
        .platform_id = "7",
        .hubspot_id = "901",
        .first_name = "Maria",
        .last_name = "da Silva",
        .csat = -1
    };

    (void) state;

    /* data.contact, camelCase, a full name split on the first space */

    assert_int_equal(t_parse("{\"id\":\"evt_4\",\"type\":\"contact.updated\","
        "\"timestamp\":\"2022-11-03T22:26:10+02:00\",\"data\":{"
        "\"contact\":{\"id\":7,\"email\":\"X@Y.org\",\"hubspotId\":\"901\","
        "\"fullName\":\"Maria da Silva\",\"phoneNumber\":\"12\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* the first name alone, with only an email as identity */

    e.platform_id = NULL;
    e.hubspot_id = NULL;
    e.last_name = NULL;
    e.occurred_at = 1667507170000LL;

    assert_int_equal(t_parse("{\"id\":\"evt_4\",\"type\":\"contact.updated\","
        "\"timestamp\":1667507170,\"data\":{\"email\":\"x@y.org\","
        "\"firstName\":\"Maria\",\"fullName\":\"\"}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    t_done();
}


static void
test_skips(void **state)
{
    static const char  *types[] = {
        "invoice.paid", "contact.deleted", "crm.contact.created", "ping",
        "MESSAGE.INBOUND", "message", "",
    };

    char    body[256];
    size_t  i;

    (void) state;

    for (i = 0; types[i][0]; i++) {
        snprintf(body, sizeof(body),
                 "{\"type\":\"%s\",\"timestamp\":\"bad\",\"data\":{}}",
                 types[i]);

        t_parse(body);
        t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "standard_type_ignored");
    }

    t_done();
}


static void
test_refusals(void **state)
{
    (void) state;

    t_parse("{\"type\":\"contact.created\"");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    t_parse("[{\"type\":\"contact.created\"}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "not_an_object");

    t_parse("{\"type\":\"\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_type");

    t_parse("{\"type\":5,\"data\":{}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_type");

    t_parse("{\"type\":\"contact.created\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_data");

    t_parse("{\"type\":\"contact.created\",\"data\":[{\"id\":1}]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_data");

    t_parse("{\"type\":\"contact.created\",\"data\":{\"name\":\"A B\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_contact_id");

    t_parse("{\"type\":\"contact.updated\",\"data\":{\"contact\":"
            "{\"email\":\"not-an-email\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_contact_id");

    t_parse("{\"type\":\"contact.created\",\"timestamp\":\"yesterday\","
            "\"data\":{\"id\":1}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_timestamp");

    t_parse("{\"type\":\"contact.created\",\"timestamp\":{},"
            "\"data\":{\"id\":1}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_timestamp");

    t_parse("{\"id\":{},\"type\":\"contact.created\",\"data\":{\"id\":1}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_id");

    t_parse("{\"type\":\"contact.created\",\"data\":{\"id\":[]}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_id");

    t_parse("{\"type\":\"contact.created\",\"data\":{\"id\":1,\"email\":5}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_email");

    t_parse("{\"type\":\"contact.created\","
            "\"data\":{\"id\":1,\"phoneNumber\":14155552671}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_phone");

    t_parse("{\"type\":\"contact.created\","
            "\"data\":{\"id\":1,\"fullName\":[]}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_name");

    t_parse("{\"type\":\"contact.created\","
            "\"data\":{\"id\":1,\"firstName\":5}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_name");

    t_parse("{\"type\":\"contact.created\","
            "\"data\":{\"id\":1,\"last_name\":{}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_name");

    t_parse("{\"type\":\"contact.created\","
            "\"data\":{\"id\":1,\"hubspot_id\":true}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_hubspot_id");

    t_parse("{\"type\":\"contact.created\","
            "\"data\":{\"id\":1,\"attributes\":\"x\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_attributes");

    t_parse("{\"type\":\"contact.created\",\"data\":{\"contact\":\"x\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_contact");

    t_parse("{\"type\":\"message.inbound\",\"data\":{}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_message");

    t_parse("{\"type\":\"message.inbound\",\"data\":{\"message\":\"hi\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_no_message");

    t_parse("{\"type\":\"message.inbound\","
            "\"data\":{\"message\":{\"id\":{}}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_message_id");

    t_parse("{\"type\":\"message.inbound\","
            "\"data\":{\"message\":{\"text\":5}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_text");

    t_parse("{\"type\":\"message.inbound\","
            "\"data\":{\"message\":{\"status\":[]}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_status");

    t_parse("{\"type\":\"message.inbound\","
            "\"data\":{\"message\":{\"author\":5}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_author");

    t_parse("{\"type\":\"message.inbound\","
            "\"data\":{\"message\":{\"attachments\":{}}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_attachments");

    t_parse("{\"type\":\"conversation.closed\","
            "\"data\":{\"conversation_id\":[]}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "standard_bad_conversation_id");

    t_parse("{\"type\":\"conversation.closed\","
            "\"data\":{\"conversation\":{\"id\":true}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "standard_bad_conversation_id");

    t_parse("{\"type\":\"conversation.closed\",\"data\":{\"assignee\":5}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_assignee");

    t_parse("{\"type\":\"conversation.closed\","
            "\"data\":{\"assignee\":{\"email\":5}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "standard_bad_assignee");

    t_done();
}


static void
test_mutations(void **state)
{
    (void) state;

    t_mutations("standard-webhooks/contact.created_full.json", 1);
    t_mutations("standard-webhooks/contact.created_thin_minified.json", 1);
    t_mutations_body(t_inbound, sizeof(t_inbound) - 1, 5);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_contact_full),
        cmocka_unit_test(test_contact_thin),
        cmocka_unit_test(test_vector_bodies),
        cmocka_unit_test(test_message_inbound),
        cmocka_unit_test(test_message_outbound_and_status),
        cmocka_unit_test(test_conversation_and_csat),
        cmocka_unit_test(test_contact_variants),
        cmocka_unit_test(test_skips),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}


/*
 * Copyright (C) crmsync authors
 *
 * Unit tests for the respond.io adapter, through ngx_http_crmsync_parse().
 *
 * respond.io publishes no payload sample: the payloads below are
 * CONSTRUCTED from the field names of the one public client library that
 * types them (heboai/hebo, packages/aikit-respond-io/src/webhook/types.ts;
 * see t/samples/respond-io/NOTE_no_official_payload.txt), with invented
 * values.  The only file in t/samples/respond-io is a synthetic signature
 * body, which must be refused.  Every field of every event is asserted;
 * then the skips, the refusals, and truncation and type mutations.
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


#define T_PROVIDER  NGX_HTTP_CRMSYNC_PROVIDER_RESPONDIO


#include "t_adapter.h"


/* CONSTRUCTED payloads (field names from heboai/hebo's types) */


#define T_CONTACT                                                             \
    "\"contact\":{\"id\":1234,\"firstName\":\"Ana\",\"lastName\":\"Silva\","  \
    "\"email\":\"Ana@Example.com\",\"phone\":\"+60123456789\","               \
    "\"countryCode\":\"MY\",\"language\":\"en\",\"status\":\"open\","         \
    "\"lifecycle\":\"Lead\",\"created_at\":1690000000,"                       \
    "\"assignee\":{\"id\":77,\"name\":\"Rep One\","                           \
    "\"email\":\"rep@example.com\"},"                                         \
    "\"custom_fields\":[{\"name\":\"qualification_score\",\"value\":87},"     \
    "{\"name\":\"budget\",\"value\":\"5k\"},"                                 \
    "{\"name\":\"empty\",\"value\":null},"                                    \
    "{\"name\":\"decision_maker\",\"value\":true}]}"

#define T_CHANNEL                                                             \
    "\"channel\":{\"id\":5,\"name\":\"WhatsApp\",\"source\":\"whatsapp\"}"

#define T_ATTRS  "qualification_score=87;budget=5k;decision_maker=true"

/* a message's: its channel too, the kind its source names */
#define T_MSG_ATTRS  T_ATTRS ";channel=WhatsApp"


static const char  t_received[] =
    "{\"event_type\":\"message.received\",\"timestamp\":1700000000,"
    T_CONTACT "," T_CHANNEL ","
    "\"message\":{\"channelMessageId\":998877,\"contactId\":1234,"
    "\"traffic\":\"incoming\",\"message\":{\"type\":\"text\","
    "\"text\":\"Hi there, I want a quote\"},\"timestamp\":1700000001}}";

static const char  t_sent[] =
    "{\"event_type\":\"message.sent\",\"traffic\":\"outgoing\","
    "\"channelMessageId\":555,\"timestamp\":1700000100,"
    T_CONTACT "," T_CHANNEL ","
    "\"message\":{\"type\":\"text\",\"text\":\"Here it is\"},"
    "\"user\":{\"id\":77,\"name\":\"Rep One\",\"email\":\"rep@example.com\"}}";

static const char  t_closed[] =
    "{\"event_type\":\"conversation.closed\",\"event_id\":\"evt-closed-1\","
    T_CONTACT ","
    "\"conversation\":{\"category\":\"Sales\",\"summary\":\"Bought plan\","
    "\"openedTime\":1700000000,\"openedBySource\":\"user\","
    "\"closedTime\":1700003600,\"closedBy\":{\"id\":77,\"name\":\"Rep\"},"
    "\"closedBySource\":\"user\",\"firstResponseTime\":30,"
    "\"resolutionTime\":3600,\"incomingMessageCount\":3,"
    "\"outgoingMessageCount\":4,\"assigneeTeam\":\"Sales\","
    "\"lastAssignmentTime\":1700000100}}";


static void
test_message_received(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "message.received:998877",
        .occurred_at = 1700000001000LL,
        .email = "ana@example.com",
        .phone = "+60123456789",
        .platform_id = "1234",
        .first_name = "Ana",
        .last_name = "Silva",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "998877",
        .text = "Hi there, I want a quote",
        .assignee = "rep@example.com",
        .attrs = T_MSG_ATTRS,
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse(t_received), NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_message_received_variants(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "evt-9",
        .occurred_at = 1700000000123LL,
        .phone = "+60123456789",
        .platform_id = "c-55",
        .first_name = "Ana",
        .last_name = "Maria Silva",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "wamid.X",
        .attachments = NGX_HTTP_CRMSYNC_ATT_IMAGE,
        .attrs = "score=9.5;tier=gold",
        .csat = -1
    };

    (void) state;

    /*
     * a national number under the contact's country (not the location's
     * US), a full name in firstName, ms times, string ids, an image,
     * custom fields as an object, an event_id
     */

    assert_int_equal(t_parse("{\"event_type\":\"message.received\","
        "\"event_id\":\"evt-9\",\"contact\":{\"id\":\"c-55\","
        "\"firstName\":\"Ana Maria Silva\",\"lastName\":\"\","
        "\"phone\":\"012-345 6789\",\"countryCode\":\"MY\","
        "\"custom_fields\":{\"score\":9.5,\"tier\":\"gold\",\"x\":[1]}},"
        "\"message\":{\"channelMessageId\":\"wamid.X\","
        "\"message\":{\"type\":\"image\"},\"timestamp\":1700000000123}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* no country: the location's default region */

    e.phone = "+14155552671";
    e.attrs = NULL;
    e.attachments = NGX_HTTP_CRMSYNC_ATT_LOCATION;
    e.occurred_at = 1700000000000LL;

    assert_int_equal(t_parse("{\"event_type\":\"message.received\","
        "\"event_id\":\"evt-9\",\"contact\":{\"id\":\"c-55\","
        "\"firstName\":\"Ana Maria Silva\",\"phone\":\"(415) 555-2671\"},"
        "\"message\":{\"channelMessageId\":\"wamid.X\","
        "\"message\":{\"type\":\"location\"},\"timestamp\":\"1700000000\"}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* a country the number does not fit: retried under the default */

    assert_int_equal(t_parse("{\"event_type\":\"message.received\","
        "\"event_id\":\"evt-9\",\"contact\":{\"id\":\"c-55\","
        "\"firstName\":\"Ana Maria Silva\",\"phone\":\"(415) 555-2671\","
        "\"countryCode\":\"GB\"},"
        "\"message\":{\"channelMessageId\":\"wamid.X\","
        "\"message\":{\"type\":\"location\"},\"timestamp\":1700000000}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    t_done();
}


static void
test_attachment_kinds(void **state)
{
    static const struct {
        const char  *type;
        unsigned     kind;
    } cases[] = {
        { "text", 0 },
        { "image", NGX_HTTP_CRMSYNC_ATT_IMAGE },
        { "audio", NGX_HTTP_CRMSYNC_ATT_AUDIO },
        { "video", NGX_HTTP_CRMSYNC_ATT_VIDEO },
        { "file", NGX_HTTP_CRMSYNC_ATT_FILE },
        { "document", NGX_HTTP_CRMSYNC_ATT_FILE },
        { "location", NGX_HTTP_CRMSYNC_ATT_LOCATION },
        { "sticker", NGX_HTTP_CRMSYNC_ATT_STICKER },
        { "contact", NGX_HTTP_CRMSYNC_ATT_CONTACT },
        { "quick_reply", NGX_HTTP_CRMSYNC_ATT_OTHER },
    };

    char    body[512];
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"event_type\":\"message.received\","
                 "\"contact\":{\"id\":1},\"message\":{\"channelMessageId\":2,"
                 "\"message\":{\"type\":\"%s\",\"text\":\"t\"}}}",
                 cases[i].type);

        assert_int_equal(t_parse(body), NGX_HTTP_CRMSYNC_PARSE_OK);
        assert_int_equal(t_r.p.events[0].attachments, cases[i].kind);
    }

    t_done();
}


static void
test_message_sent(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND,
        .delivery_id = "message.sent:555",
        .occurred_at = 1700000100000LL,
        .email = "ana@example.com",
        .phone = "+60123456789",
        .platform_id = "1234",
        .first_name = "Ana",
        .last_name = "Silva",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_AGENT,
        .message_id = "555",
        .text = "Here it is",
        .assignee = "rep@example.com",
        .attrs = T_MSG_ATTRS,
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse(t_sent), NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* no user: a workflow, broadcast or AI agent sent it; no channel */

    e.author = NGX_HTTP_CRMSYNC_AUTHOR_BOT;
    e.attrs = T_ATTRS;

    assert_int_equal(t_parse("{\"event_type\":\"message.sent\","
        "\"traffic\":\"outgoing\",\"channelMessageId\":555,"
        "\"timestamp\":1700000100," T_CONTACT ","
        "\"message\":{\"type\":\"text\",\"text\":\"Here it is\"},"
        "\"user\":null}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    t_done();
}


static void
test_conversation_closed(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED,
        .delivery_id = "evt-closed-1",
        .occurred_at = 1700003600000LL,
        .email = "ana@example.com",
        .phone = "+60123456789",
        .platform_id = "1234",
        .first_name = "Ana",
        .last_name = "Silva",
        .assignee = "rep@example.com",
        .attrs = T_ATTRS ";closing_category=Sales;closing_summary=Bought plan",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse(t_closed), NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* an empty assignee, a CSAT score, a conversation id */

    e.assignee = NULL;
    e.attrs = "closing_summary=ok";
    e.csat = 4;
    e.conversation_id = "321";
    e.email = NULL;
    e.phone = NULL;
    e.first_name = NULL;
    e.last_name = NULL;

    assert_int_equal(t_parse("{\"event_type\":\"conversation.closed\","
        "\"event_id\":\"evt-closed-1\",\"contact\":{\"id\":1234,"
        "\"assignee\":{}},\"conversation\":{\"id\":321,"
        "\"category\":\"\",\"summary\":\"ok\",\"closedTime\":1700003600,"
        "\"csat\":4}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    e.csat = 3;
    e.attrs = NULL;
    e.conversation_id = NULL;

    assert_int_equal(t_parse("{\"event_type\":\"conversation.closed\","
        "\"event_id\":\"evt-closed-1\",\"contact\":{\"id\":1234},"
        "\"conversation\":{\"closedTime\":1700003600,"
        "\"csat\":{\"score\":3}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    t_done();
}


static void
test_other_events(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED,
        .delivery_id = "evt-2",
        .occurred_at = 1700000000000LL,
        .platform_id = "1234",
        .assignee = "77",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse("{\"event_type\":\"conversation.opened\","
        "\"event_id\":\"evt-2\",\"contact\":{\"id\":1234,"
        "\"assignee\":{\"id\":77,\"name\":\"Rep\"}},"
        "\"conversation\":{\"openedTime\":1700000000}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* the assignee changed: no time in the payload */

    e.type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED;
    e.delivery_id = "evt-3";
    e.occurred_at = 0;
    e.assignee = "rep2@example.com";
    e.attrs = "channel=x";      /* a source of no known kind: the name */

    assert_int_equal(t_parse("{\"event_type\":\"contact.assignee.updated\","
        "\"event_id\":\"evt-3\",\"contact\":{\"id\":1234,"
        "\"created_at\":1690000000,\"assignee\":{\"id\":78,"
        "\"email\":\"rep2@example.com\"}},"
        "\"channel\":{\"id\":5,\"name\":\"x\",\"source\":\"y\","
        "\"meta\":null}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    e.attrs = NULL;

    /* a new contact: its creation time */

    e.type = NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED;
    e.delivery_id = "evt-4";
    e.occurred_at = 1690000000000LL;
    e.assignee = NULL;
    e.email = "new@example.com";

    assert_int_equal(t_parse("{\"event_type\":\"contact.created\","
        "\"event_id\":\"evt-4\",\"contact\":{\"id\":1234,"
        "\"email\":\"new@example.com\",\"created_at\":1690000000}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    e.type = NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED;
    e.delivery_id = "evt-5";
    e.occurred_at = 1700000500000LL;

    assert_int_equal(t_parse("{\"event_type\":\"contact.updated\","
        "\"event_id\":\"evt-5\",\"timestamp\":1700000500,"
        "\"contact\":{\"id\":1234,\"email\":\"new@example.com\","
        "\"created_at\":1690000000}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* no event_id: the type, the contact and the time make the key */

    e.delivery_id = "contact.updated:1234:1700000500000";

    assert_int_equal(t_parse("{\"event_type\":\"contact.updated\","
        "\"timestamp\":1700000500,"
        "\"contact\":{\"id\":1234,\"email\":\"new@example.com\"}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    e.type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND;
    e.delivery_id = "message.received:1234:1700000500000";
    e.author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;
    e.text = "hi";

    assert_int_equal(t_parse("{\"event_type\":\"message.received\","
        "\"timestamp\":1700000500,"
        "\"contact\":{\"id\":1234,\"email\":\"new@example.com\"},"
        "\"message\":{\"message\":{\"type\":\"text\","
        "\"text\":\"hi\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* and without a time, nothing to deduplicate on */

    t_parse("{\"event_type\":\"contact.updated\","
            "\"contact\":{\"id\":1234}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_event_id");

    t_parse("{\"event_type\":\"message.sent\",\"contact\":{\"id\":1},"
            "\"message\":{\"text\":\"x\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_event_id");

    t_done();
}


static void
test_skips(void **state)
{
    static const char  *events[] = {
        "comment.created", "contact.deleted", "message.read",
        "conversation.assigned.team", "call.ended", "MESSAGE.RECEIVED",
    };

    char    body[256];
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"event_type\":\"%s\",\"contact\":{\"id\":1}}", events[i]);

        t_parse(body);
        t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "respondio_event_ignored");
    }

    t_done();
}


static void
test_refusals(void **state)
{
    (void) state;

    /* the third-party signature vector's synthetic body */

    t_parse_file("respond-io/THIRDPARTY_vector_body.json");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_event_type");

    t_parse("not json");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    t_parse("[]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "not_an_object");

    t_parse("{\"event_type\":1}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_event_type");

    t_parse("{\"event_type\":\"message.received\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_contact");

    t_parse("{\"event_type\":\"message.received\",\"contact\":\"x\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_contact");

    t_parse("{\"event_type\":\"message.received\",\"contact\":{}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_contact_id");

    t_parse("{\"event_type\":\"message.received\",\"contact\":{\"id\":1.5}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_contact_id");

    t_parse("{\"event_type\":\"contact.created\",\"event_id\":{},"
            "\"contact\":{\"id\":1}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_event_id");

    t_parse("{\"event_type\":\"contact.created\",\"timestamp\":\"soon\","
            "\"contact\":{\"id\":1}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_time");

    t_parse("{\"event_type\":\"contact.created\","
            "\"contact\":{\"id\":1,\"email\":5}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_email");

    t_parse("{\"event_type\":\"contact.created\","
            "\"contact\":{\"id\":1,\"phone\":60123456789}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_phone");

    t_parse("{\"event_type\":\"contact.created\","
            "\"contact\":{\"id\":1,\"lastName\":[]}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_name");

    /* a channel that is no object is refused; odd members only lose the
       label */

    t_parse("{\"event_type\":\"contact.created\","
            "\"contact\":{\"id\":1},\"channel\":\"whatsapp\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_channel");

    assert_int_equal(t_parse("{\"event_type\":\"contact.created\","
                             "\"event_id\":\"e1\","
                             "\"contact\":{\"id\":1},\"channel\":"
                             "{\"source\":[],\"name\":7}}"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.events[0].nattrs, 0);

    /* "line" only at the start: "offline_chat" is no LINE */

    assert_int_equal(t_parse("{\"event_type\":\"contact.created\","
                             "\"event_id\":\"e2\","
                             "\"contact\":{\"id\":1},\"channel\":"
                             "{\"source\":\"offline_chat\","
                             "\"name\":\"Desk\"}}"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.events[0].nattrs, 1);
    assert_memory_equal(t_r.p.events[0].attrs[0].value.data, "Desk", 4);

    t_parse("{\"event_type\":\"contact.created\","
            "\"contact\":{\"id\":1,\"assignee\":\"rep\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_assignee");

    t_parse("{\"event_type\":\"contact.created\","
            "\"contact\":{\"id\":1,\"assignee\":{\"id\":true}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_assignee");

    t_parse("{\"event_type\":\"contact.created\","
            "\"contact\":{\"id\":1,\"custom_fields\":\"a=b\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "respondio_bad_custom_fields");

    t_parse("{\"event_type\":\"message.received\",\"contact\":{\"id\":1}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_no_message");

    t_parse("{\"event_type\":\"message.received\",\"contact\":{\"id\":1},"
            "\"message\":{\"message\":[]}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_message");

    t_parse("{\"event_type\":\"message.received\",\"contact\":{\"id\":1},"
            "\"message\":{\"channelMessageId\":[],\"message\":{}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_message_id");

    t_parse("{\"event_type\":\"message.received\",\"contact\":{\"id\":1},"
            "\"message\":{\"message\":{\"text\":7}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_text");

    t_parse("{\"event_type\":\"message.received\",\"contact\":{\"id\":1},"
            "\"message\":{\"message\":{\"type\":7}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_message_type");

    t_parse("{\"event_type\":\"message.received\",\"contact\":{\"id\":1},"
            "\"message\":{\"message\":{},\"timestamp\":-5}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_time");

    t_parse("{\"event_type\":\"message.sent\",\"contact\":{\"id\":1},"
            "\"message\":{\"text\":\"x\"},\"user\":\"rep\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_user");

    t_parse("{\"event_type\":\"conversation.closed\",\"contact\":{\"id\":1},"
            "\"conversation\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "respondio_bad_conversation");

    t_parse("{\"event_type\":\"conversation.closed\",\"contact\":{\"id\":1},"
            "\"conversation\":{\"closedTime\":{}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "respondio_bad_time");

    t_done();
}


static void
test_mutations(void **state)
{
    (void) state;

    t_mutations_body(t_received, sizeof(t_received) - 1, 1);
    t_mutations_body(t_sent, sizeof(t_sent) - 1, 7);
    t_mutations_body(t_closed, sizeof(t_closed) - 1, 7);
    t_mutations("respond-io/THIRDPARTY_vector_body.json", 1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_message_received),
        cmocka_unit_test(test_message_received_variants),
        cmocka_unit_test(test_attachment_kinds),
        cmocka_unit_test(test_message_sent),
        cmocka_unit_test(test_conversation_closed),
        cmocka_unit_test(test_other_events),
        cmocka_unit_test(test_skips),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}


/*
 * Copyright (C) crmsync authors
 *
 * Unit tests for the Intercom adapter, through ngx_http_crmsync_parse():
 * every sample in t/samples/intercom parses to exactly the event it
 * describes (every field asserted), 2.x payloads CONSTRUCTED here from
 * the documented fields (research/webhooks.md section 2.4; no public 2.x
 * sample exists), the HTML to text rules, the skips, the refusals, and
 * every sample truncated and with every member's type changed.
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


#define T_PROVIDER  NGX_HTTP_CRMSYNC_PROVIDER_INTERCOM


#include "t_adapter.h"


/* the 1.x samples (Zulip's fixtures) */


static void
test_user_created_conversation(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "notif_3ac27816-d27c-45fd-a65a-bbaf021cf780",
        .occurred_at = 1553290198000LL,
        .platform_id = "5c9553cb27e377f24eed49f7",
        .first_name = "Rose",
        .last_name = "Poodle from St. John's",
        .conversation_id = "21321941764",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "331494375",
        .text = "Hello everyone!",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse_file("intercom/conversation.user.created.json"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_user_replied(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "notif_2c71fff0-65ef-46be-bbfe-dbf637bbff15",
        .occurred_at = 1553291307000LL,
        .email = "jerryguitarist@gmail.com",
        .platform_id = "5c9553cb27e377f24eed49f7",
        .first_name = "Eeshan",
        .last_name = "Garg",
        .conversation_id = "21322009097",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "2824391734",
        .text = "Well, I need some help getting access to a developer "
                "account.",
        /* the fixture's item.assignee is an admin with this email */
        .assignee = "jerryguitarist@gmail.com",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse_file("intercom/conversation.user.replied.json"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_admin_assigned(void **state)
{
    /* an assignment part with a reply: the assignment, then the reply */

    t_expect_t  e0 = {
        .type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED,
        .delivery_id = "notif_b577ea09-0998-45cf-ade1-df4d102a58ec",
        .occurred_at = 1553291111000LL,
        .email = "jerryguitarist@gmail.com",
        .platform_id = "5c9553cb27e377f24eed49f7",
        .first_name = "Eeshan",
        .last_name = "Garg",
        .conversation_id = "21322009097",
        /* assigned_to has the id only; item.assignee, same id, the email */
        .assignee = "tim@zulip.com",
        .csat = -1
    };

    t_expect_t  e1 = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND,
        .delivery_id = "notif_b577ea09-0998-45cf-ade1-df4d102a58ec"
                       ":2824382500",
        .occurred_at = 1553291111000LL,
        .email = "jerryguitarist@gmail.com",
        .platform_id = "5c9553cb27e377f24eed49f7",
        .first_name = "Eeshan",
        .last_name = "Garg",
        .conversation_id = "21322009097",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_AGENT,
        .message_id = "2824382500",
        .text = "Hey Eeshan! How can I help?",
        .assignee = "tim@zulip.com",
        .csat = -1
    };

    (void) state;

    assert_int_equal(
        t_parse_file("intercom/conversation.admin.assigned.json"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 2);
    t_event(0, &e0);
    t_event(1, &e1);

    t_done();
}


static void
test_admin_closed(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED,
        .delivery_id = "notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b",
        .occurred_at = 1553291389000LL,
        .email = "jerryguitarist@gmail.com",
        .platform_id = "5c9553cb27e377f24eed49f7",
        .first_name = "Eeshan",
        .last_name = "Garg",
        .conversation_id = "21322009097",
        .assignee = "cordelia@zulip.com",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse_file("intercom/conversation.admin.closed.json"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_ping(void **state)
{
    (void) state;

    assert_int_equal(t_parse_file("intercom/ping.json"),
                     NGX_HTTP_CRMSYNC_PARSE_SKIP);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "intercom_ping");

    /* a ping item under another topic is still a ping */

    t_parse("{\"topic\":\"x\",\"id\":null,"
            "\"data\":{\"item\":{\"type\":\"ping\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "intercom_ping");

    t_done();
}


static void
test_user_created(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED,
        .delivery_id = "notif_61f436a9-6a2e-4f9b-9e85-68043477da63",
        /* item.updated_at "2019-03-26T23:21:11.904+00:00" */
        .occurred_at = 1553642471904LL,
        .email = "aaron@zulip.com",
        .phone = "+12345570987",
        .platform_id = "5c9ab3e78cd7330140ce5033",
        .first_name = "Aaron",
        .last_name = "Smith",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse_file("intercom/user.created.json"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* no default region: "2345570987" is not a number then */

    {
        char    *body;
        size_t   len;

        body = t_load("intercom/user.created.json", &len);
        assert_int_equal(t_parse_len(body, len, NULL),
                         NGX_HTTP_CRMSYNC_PARSE_OK);
        e.phone = NULL;
        t_event(0, &e);
        free(body);
    }

    t_done();
}


static void
test_contact_created(void **state)
{
    t_expect_t  user = {
        .type = NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED,
        .delivery_id = "notif_c47f7aeb-bdeb-4d35-8fc7-eb945334fdad",
        /* "2026-01-10T04:22:28.238+00:00" */
        .occurred_at = 1768018948238LL,
        .email = "user@example.com",
        .platform_id = "6961d4041c1e12de4c5499cc",
        .first_name = "Sample",
        .last_name = "User",
        .csat = -1
    };

    t_expect_t  lead = {
        .type = NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED,
        .delivery_id = "notif_204d32ad-f47a-4276-8074-e5ce789d2987",
        /* "2026-01-10T04:41:59.249+00:00" */
        .occurred_at = 1768020119249LL,
        .email = "shuz@gmail.com",
        .platform_id = "6961d897719c606240178da8",
        .first_name = "shuuuuz",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse_file("intercom/contact.user.created.json"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &user);

    assert_int_equal(t_parse_file("intercom/contact.lead.created.json"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &lead);

    t_done();
}


static void
test_signed_notification_example(void **state)
{
    char        *file, *body;
    size_t       len;
    t_expect_t   e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED,
        .delivery_id = "notif_78c122d0-23ba-11e4-9464-79b01267cc2e",
        .occurred_at = 0,       /* no time in this example */
        .platform_id = "530370b477ad7120001d",
        .first_name = "Hoban",
        .last_name = "Washburne",
        .csat = -1
    };

    (void) state;

    /* the v1.0 docs example: headers, then the body */

    file = t_load("intercom/v1.0_signed_notification_example.txt", &len);
    body = strchr(file, '{');
    assert_non_null(body);

    assert_int_equal(t_parse_len(body, len - (body - file), "US"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    free(file);
    t_done();
}


/* 2.x: CONSTRUCTED from the documented conversation fields */


#define T_V2_HEAD(topic)                                                      \
    "{\"type\":\"notification_event\",\"app_id\":\"abc123\","                 \
    "\"id\":\"notif_v2-0001\",\"topic\":\"" topic "\","                       \
    "\"created_at\":1700000100,\"data\":{\"type\":"                           \
    "\"notification_event_data\",\"item\":{\"type\":\"conversation\","        \
    "\"id\":\"215470\",\"created_at\":1700000000,"                            \
    "\"updated_at\":1700000050,\"open\":true,\"state\":\"open\","             \
    "\"contacts\":{\"type\":\"contact.list\",\"contacts\":[{\"type\":"        \
    "\"contact\",\"id\":\"65f0c0ffee\",\"external_id\":\"ext-9\"}]},"

#define T_V2_TAIL  "}}}"


static void
test_v2_user_created(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND,
        .delivery_id = "notif_v2-0001",
        .occurred_at = 1700000050000LL,
        .email = "ana.silva@example.com",
        .platform_id = "65f0c0ffee",
        .hubspot_id = "51",
        .first_name = "Ana",
        .last_name = "Maria Silva",
        .conversation_id = "215470",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT,
        .message_id = "98765",
        .text = "Hi & hello\nI'm Ana <3 \xf0\x9f\x98\x80\nSecond one",
        .attachments = NGX_HTTP_CRMSYNC_ATT_IMAGE | NGX_HTTP_CRMSYNC_ATT_FILE,
        .attrs = "qualification_score=87;budget=5k-10k;decision_maker=true;"
                 "fit=0.75;hubspot_id=51",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.user.created")
        "\"admin_assignee_id\":0,\"team_assignee_id\":null,"
        "\"source\":{\"type\":\"conversation\",\"id\":\"98765\","
        "\"delivered_as\":\"customer_initiated\",\"subject\":\"\","
        "\"body\":\"<p>Hi &amp; hello<br>I&#39;m <b>Ana</b> &lt;3 "
        "&#x1F600;</p><p>Second   one</p>\","
        "\"author\":{\"type\":\"user\",\"id\":\"65f0c0ffee\","
        "\"name\":\"Ana Maria Silva\",\"email\":\"Ana.Silva@Example.com\"},"
        "\"attachments\":[{\"type\":\"upload\",\"name\":\"a.png\","
        "\"content_type\":\"image/png\"},{\"type\":\"upload\","
        "\"name\":\"q.pdf\",\"content_type\":\"application/pdf\"}]},"
        "\"conversation_parts\":{\"type\":\"conversation_part.list\","
        "\"conversation_parts\":[],\"total_count\":0},"
        "\"custom_attributes\":{\"qualification_score\":87,"
        "\"budget\":\"5k-10k\",\"decision_maker\":true,\"fit\":0.75,"
        "\"nested\":{\"a\":1},\"list\":[1],\"nothing\":null,"
        "\"hubspot_id\":\"51\"}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_done();
}


static void
test_v2_replies(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND,
        .delivery_id = "notif_v2-0001",
        .occurred_at = 1700000077000LL,
        .platform_id = "65f0c0ffee",
        .conversation_id = "215470",
        .author = NGX_HTTP_CRMSYNC_AUTHOR_AGENT,
        .message_id = "p2",
        .text = "We can help.",
        .assignee = "4242",
        .csat = -1
    };

    (void) state;

    /* an admin reply: the last comment part, not the older one */

    assert_int_equal(t_parse(T_V2_HEAD("conversation.admin.replied")
        "\"admin_assignee_id\":4242,"
        "\"source\":{\"id\":\"1\",\"body\":\"<p>first</p>\","
        "\"author\":{\"type\":\"user\",\"id\":\"65f0c0ffee\"}},"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"type\":\"conversation_part\",\"id\":\"p1\","
        "\"part_type\":\"comment\",\"body\":\"<p>old</p>\","
        "\"created_at\":1700000060,\"author\":{\"type\":\"admin\","
        "\"id\":\"4242\"}},"
        "{\"type\":\"conversation_part\",\"id\":\"p2\","
        "\"part_type\":\"comment\",\"body\":\"<p>We can help.</p>\","
        "\"created_at\":1700000077,\"author\":{\"type\":\"admin\","
        "\"id\":\"4242\",\"name\":\"Rep\",\"email\":\"rep@example.com\"},"
        "\"attachments\":[]}],\"total_count\":2}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* a note: an internal note, never sent to the contact */

    e.author = NGX_HTTP_CRMSYNC_AUTHOR_NOTE;
    e.text = "VIP, call back";
    e.message_id = "p3";
    e.occurred_at = 1700000088000LL;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.admin.noted")
        "\"admin_assignee_id\":4242,"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"id\":\"p3\",\"part_type\":\"note\","
        "\"body\":\"<p>VIP, call back</p>\",\"created_at\":1700000088,"
        "\"author\":{\"type\":\"admin\",\"id\":\"4242\"}}]}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* a bot (Fin, the operator) */

    e.author = NGX_HTTP_CRMSYNC_AUTHOR_BOT;
    e.text = "Is that all?";
    e.message_id = "p4";
    e.occurred_at = 1700000099000LL;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.operator.replied")
        "\"admin_assignee_id\":4242,"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"id\":\"p4\",\"part_type\":\"comment\","
        "\"body\":\"Is that all?\",\"created_at\":1700000099,"
        "\"author\":{\"type\":\"bot\",\"id\":\"9\"}}]}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* the contact replies: inbound, name and email from the part author */

    e.type = NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND;
    e.author = NGX_HTTP_CRMSYNC_AUTHOR_CONTACT;
    e.text = "Thanks";
    e.message_id = "p5";
    e.occurred_at = 1700000111000LL;
    e.assignee = NULL;
    e.email = "lead@example.org";
    e.first_name = "Lee";
    e.last_name = "Ad";

    assert_int_equal(t_parse(T_V2_HEAD("conversation.user.replied")
        "\"admin_assignee_id\":null,"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"id\":\"p5\",\"part_type\":\"comment\","
        "\"body\":\"<p>Thanks</p>\",\"created_at\":1700000111,"
        "\"author\":{\"type\":\"lead\",\"id\":\"65f0c0ffee\","
        "\"name\":\"Lee Ad\",\"email\":\"lead@example.org\"}}]}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* another participant's reply: the contact's identity is not mixed */

    e.email = NULL;
    e.first_name = NULL;
    e.last_name = NULL;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.user.replied")
        "\"admin_assignee_id\":null,"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"id\":\"p5\",\"part_type\":\"comment\","
        "\"body\":\"<p>Thanks</p>\",\"created_at\":1700000111,"
        "\"author\":{\"type\":\"user\",\"id\":\"other\","
        "\"name\":\"Oth Er\",\"email\":\"other@example.org\"}}]}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    t_event(0, &e);

    t_done();
}


static void
test_v2_state_changes(void **state)
{
    t_expect_t  reply;
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED,
        .delivery_id = "notif_v2-0001",
        .occurred_at = 1700000070000LL,
        .platform_id = "65f0c0ffee",
        .conversation_id = "215470",
        .assignee = "814",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.admin.assigned")
        "\"admin_assignee_id\":814,"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"id\":\"p9\",\"part_type\":\"assignment\",\"body\":null,"
        "\"created_at\":1700000070,\"author\":{\"type\":\"admin\","
        "\"id\":\"1\"},\"assigned_to\":{\"type\":\"admin\","
        "\"id\":\"814\"}}]}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /*
     * with a reply in a part that has no id (found by fuzz_parse under
     * UBSan: its delivery id was built by memcpy() from NULL): the reply
     * is "<notif id>:"
     */

    reply = e;
    reply.type = NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND;
    reply.delivery_id = "notif_v2-0001:";
    reply.author = NGX_HTTP_CRMSYNC_AUTHOR_AGENT;
    reply.text = "On it";

    assert_int_equal(t_parse(T_V2_HEAD("conversation.admin.assigned")
        "\"admin_assignee_id\":814,"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"part_type\":\"assignment\",\"body\":\"<p>On it</p>\","
        "\"created_at\":1700000070,\"author\":{\"type\":\"admin\","
        "\"id\":\"1\"},\"assigned_to\":{\"type\":\"admin\","
        "\"id\":\"814\"}}]}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 2);
    t_event(0, &e);
    t_event(1, &reply);

    /* assigned to a team: no admin, admin_assignee_id 0: unassigned */

    e.assignee = NULL;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.admin.open.assigned")
        "\"admin_assignee_id\":0,"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"id\":\"p9\",\"part_type\":\"default_assignment\","
        "\"created_at\":1700000070,\"author\":{\"type\":\"bot\"},"
        "\"assigned_to\":{\"type\":\"team\",\"id\":\"77\"}}]}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* opened, without parts: the item's time */

    e.type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_OPENED;
    e.occurred_at = 1700000050000LL;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.admin.opened")
        "\"admin_assignee_id\":null"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* closed with a rating already given: the score rides along */

    e.type = NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED;
    e.occurred_at = 1700000200000LL;
    e.csat = 5;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.admin.closed")
        "\"conversation_rating\":{\"rating\":5,\"remark\":null},"
        "\"conversation_parts\":{\"conversation_parts\":["
        "{\"id\":\"p10\",\"part_type\":\"close\",\"body\":\"\","
        "\"created_at\":1700000200,\"author\":{\"type\":\"admin\","
        "\"id\":\"1\"}}]}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* closed by a bot with a goodbye: the close, then the message */

    {
        t_expect_t  m = {
            .type = NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND,
            .delivery_id = "notif_v2-0001:p11",
            .occurred_at = 1700000200000LL,
            .platform_id = "65f0c0ffee",
            .conversation_id = "215470",
            .author = NGX_HTTP_CRMSYNC_AUTHOR_BOT,
            .message_id = "p11",
            .text = "Bye!",
            .csat = -1
        };

        e.csat = -1;

        assert_int_equal(t_parse(T_V2_HEAD("conversation.admin.closed")
            "\"conversation_parts\":{\"conversation_parts\":["
            "{\"id\":\"p11\",\"part_type\":\"close\","
            "\"body\":\"<p>Bye!</p>\",\"created_at\":1700000200,"
            "\"author\":{\"type\":\"bot\",\"id\":\"9\"}}]}"
            T_V2_TAIL),
            NGX_HTTP_CRMSYNC_PARSE_OK);

        assert_int_equal(t_r.p.nevents, 2);
        t_event(0, &e);
        t_event(1, &m);
    }

    t_done();
}


static void
test_v2_rating(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CSAT,
        .delivery_id = "notif_v2-0001",
        .occurred_at = 1700000300000LL,
        .platform_id = "65f0c0ffee",
        .conversation_id = "215470",
        .text = "Too slow",
        .csat = 2
    };

    (void) state;

    assert_int_equal(t_parse(T_V2_HEAD("conversation.rating.added")
        "\"conversation_rating\":{\"rating\":2,\"remark\":\"Too slow\","
        "\"created_at\":1700000300,\"contact\":{\"type\":\"contact\","
        "\"id\":\"65f0c0ffee\"},\"teammate\":{\"type\":\"admin\","
        "\"id\":\"1\"}}"
        T_V2_TAIL),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    t_parse(T_V2_HEAD("conversation.rating.added")
            "\"conversation_rating\":{\"remark\":\"x\"}" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_rating");

    t_parse(T_V2_HEAD("conversation.rating.added")
            "\"conversation_rating\":{\"rating\":\"5\"}" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_rating");

    t_done();
}


static void
test_v2_contact_updated(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED,
        .delivery_id = "notif_v2-0002",
        .occurred_at = 1700000400000LL,
        .email = "joao@example.com.br",
        .phone = "+5511987654321",
        .platform_id = "c-1",
        .first_name = "Joao",
        .last_name = "Souza",
        .attrs = "lead_score=42",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse("{\"type\":\"notification_event\","
        "\"id\":\"notif_v2-0002\",\"topic\":\"contact.user.updated\","
        "\"created_at\":1700000999,\"data\":{\"item\":{\"type\":\"contact\","
        "\"id\":\"c-1\",\"role\":\"user\",\"email\":\" joao@example.com.br\","
        "\"phone\":\"+55 11 98765-4321\",\"name\":\"  Joao   Souza \","
        "\"updated_at\":1700000400,"
        "\"custom_attributes\":{\"lead_score\":42}}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* without updated_at: the notification's time */

    e.occurred_at = 1700000999000LL;
    e.attrs = NULL;
    e.email = NULL;
    e.phone = NULL;

    assert_int_equal(t_parse("{\"id\":\"notif_v2-0002\","
        "\"topic\":\"contact.email.updated\",\"created_at\":1700000999,"
        "\"data\":{\"item\":{\"type\":\"contact\",\"id\":\"c-1\","
        "\"email\":\"not an email\",\"phone\":\"12\","
        "\"name\":\"Joao Souza\"}}}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    t_event(0, &e);

    t_done();
}


static void
test_html_text(void **state)
{
    static const struct {
        const char  *html;
        const char  *text;
    } cases[] = {
        { "plain", "plain" },
        { "<p>a</p><p>b</p>", "a\nb" },
        { "a<br/>b<br />c", "a\nb\nc" },
        { "<div><b>bold</b> and <i>it</i></div>", "bold and it" },
        { "<ul><li>one</li><li>two</li></ul>", "one\ntwo" },
        { "&amp;&lt;&gt;&quot;&apos;&#39;&nbsp;x", "&<>\"'' x" },
        { "&#233;&#xE9;&#X20AC;", "\xc3\xa9\xc3\xa9\xe2\x82\xac" },
        { "&unknown; &#; &#xZZ; &#0; &#xD800; &#1114112; & alone",
          "&unknown; &#; &#xZZ; &#0; &#xD800; &#1114112; & alone" },
        { "  <p>  spaced \t out  </p>  ", "spaced out" },
        { "<a href=\"https://x.io/?a=1&amp;b=2\">link</a>", "link" },
        { "unclosed <b", "unclosed" },
        { "<p></p><br><p>\n</p>", "" },
        { "a&amp", "a&amp" },
        { "x&#12345678;", "x&#12345678;" },
    };

    (void) state;

    char    body[1024];
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t  *j;
        char    *s;

        /* the HTML as a JSON string */

        j = json_string(cases[i].html);
        s = json_dumps(j, JSON_ENCODE_ANY);

        snprintf(body, sizeof(body),
                 T_V2_HEAD("conversation.user.created")
                 "\"source\":{\"id\":\"1\",\"body\":%s,"
                 "\"author\":{\"type\":\"user\",\"id\":\"u\"}}" T_V2_TAIL,
                 s);

        free(s);
        json_decref(j);

        assert_int_equal(t_parse(body), NGX_HTTP_CRMSYNC_PARSE_OK);
        t_str(&t_r.p.events[0].text, cases[i].text, cases[i].html);
    }

    t_done();
}


static void
test_skips(void **state)
{
    static const char  *topics[] = {
        "conversation.admin.snoozed", "conversation.admin.unsnoozed",
        "conversation.read", "conversation.priority.updated",
        "conversation.deleted", "conversation.contact.attached",
        "conversation_part.tag.created", "conversation_part.redacted",
        "contact.tag.created", "contact.deleted", "user.tag.created",
        "company.created", "visitor.signed_up", "event.created",
        "ticket.created", "content_stat.article",
    };

    (void) state;

    char    body[512];
    size_t  i;

    for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"id\":\"notif_1\",\"topic\":\"%s\","
                 "\"data\":{\"item\":{\"type\":\"conversation\"}}}",
                 topics[i]);

        t_parse(body);
        t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "intercom_topic_ignored");
    }

    t_done();
}


static void
test_refusals(void **state)
{
    (void) state;

    t_parse("");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    t_parse("{\"topic\":\"ping\"");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    t_parse("[{\"topic\":\"ping\"}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "not_an_object");

    t_parse("{}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_topic");

    t_parse("{\"topic\":7,\"id\":\"notif_1\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_topic");

    t_parse("{\"topic\":\"conversation.user.created\",\"id\":\"notif_1\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_item");

    t_parse("{\"topic\":\"conversation.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":\"conversation\"}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_item");

    t_parse("{\"topic\":\"conversation.user.created\",\"id\":\"notif_1\","
            "\"data\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_item");

    t_parse("{\"topic\":\"conversation.user.created\",\"id\":null,"
            "\"data\":{\"item\":{\"type\":\"conversation\",\"id\":\"1\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_id");

    t_parse("{\"topic\":\"conversation.user.created\",\"id\":12,"
            "\"data\":{\"item\":{\"type\":\"conversation\",\"id\":\"1\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_id");

    t_parse("{\"topic\":\"contact.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"conversation\",\"id\":\"1\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_not_contact");

    t_parse("{\"topic\":\"conversation.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"contact\",\"id\":\"1\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "intercom_not_conversation");

    t_parse("{\"topic\":\"contact.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"contact\",\"email\":\"a@b.co\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_contact_id");

    t_parse("{\"topic\":\"contact.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"contact\",\"id\":\"1\","
            "\"email\":7}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_email");

    t_parse("{\"topic\":\"contact.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"contact\",\"id\":\"1\","
            "\"phone\":[]}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_phone");

    t_parse("{\"topic\":\"contact.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"contact\",\"id\":\"1\","
            "\"name\":{}}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_name");

    t_parse("{\"topic\":\"contact.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"contact\",\"id\":\"1\","
            "\"custom_attributes\":[]}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "intercom_bad_custom_attributes");

    t_parse("{\"topic\":\"contact.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"contact\",\"id\":\"1\","
            "\"updated_at\":\"yesterday\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_time");

    t_parse("{\"topic\":\"contact.user.created\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"contact\",\"id\":true}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_contact_id");

    t_parse(T_V2_HEAD("conversation.user.replied") "\"x\":1" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_part");

    t_parse(T_V2_HEAD("conversation.user.replied")
            "\"conversation_parts\":{\"conversation_parts\":\"x\"}"
            T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "intercom_bad_conversation_parts");

    t_parse(T_V2_HEAD("conversation.user.replied")
            "\"conversation_parts\":{\"conversation_parts\":[1]}"
            T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "intercom_bad_conversation_parts");

    t_parse(T_V2_HEAD("conversation.user.created") "\"x\":1" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_message");

    t_parse(T_V2_HEAD("conversation.user.created")
            "\"source\":{\"id\":\"1\",\"body\":5}" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_body");

    t_parse(T_V2_HEAD("conversation.user.created")
            "\"source\":{\"id\":\"1\",\"body\":\"x\",\"attachments\":{}}"
            T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_attachments");

    t_parse(T_V2_HEAD("conversation.user.created")
            "\"source\":{\"id\":\"1\",\"author\":\"user\"}" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_author");

    t_parse(T_V2_HEAD("conversation.user.created")
            "\"source\":{\"id\":{},\"body\":\"x\"}" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_message_id");

    t_parse(T_V2_HEAD("conversation.user.created")
            "\"source\":[]" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_conversation");

    t_parse(T_V2_HEAD("conversation.admin.closed")
            "\"admin_assignee_id\":1.5" T_V2_TAIL);
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_assignee");

    /* no contact at all */

    t_parse("{\"topic\":\"conversation.admin.closed\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"conversation\",\"id\":\"1\"}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_no_contact");

    t_parse("{\"topic\":\"conversation.admin.closed\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"conversation\",\"id\":\"1\","
            "\"contacts\":{\"contacts\":\"c\"}}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "intercom_bad_contacts");

    t_parse("{\"topic\":\"conversation.admin.closed\",\"id\":\"notif_1\","
            "\"data\":{\"item\":{\"type\":\"conversation\","
            "\"user\":{\"id\":\"u\"}}}}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "intercom_no_conversation_id");

    t_done();
}


static void
test_limits(void **state)
{
    char    *body, *p;
    size_t   i, size;

    (void) state;

    /* 200 custom attributes: 64 kept */

    size = 64 * 1024;
    body = malloc(size);
    assert_non_null(body);

    p = body + sprintf(body, "{\"id\":\"notif_1\","
                       "\"topic\":\"contact.user.updated\","
                       "\"data\":{\"item\":{\"type\":\"contact\","
                       "\"id\":\"1\",\"custom_attributes\":{");

    for (i = 0; i < 200; i++) {
        p += sprintf(p, "%s\"a%zu\":%zu", i ? "," : "", i, i);
    }

    strcpy(p, "}}}}");

    assert_int_equal(t_parse(body), NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.events[0].nattrs, 64);
    t_str(&t_r.p.events[0].attrs[63].name, "a63", "attr 63");
    t_str(&t_r.p.events[0].attrs[63].value, "63", "attr 63");

    /* a long HTML body: the text is shorter, never longer */

    p = body + sprintf(body, T_V2_HEAD("conversation.user.created")
                       "\"source\":{\"id\":\"1\",\"author\":{\"type\":"
                       "\"user\",\"id\":\"u\"},\"body\":\"");

    for (i = 0; i < 4000; i++) {
        p += sprintf(p, "&#x1F600;");
    }

    strcpy(p, "\"}" T_V2_TAIL);

    assert_int_equal(t_parse(body), NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.events[0].text.len, 4 * 4000);

    free(body);
    t_done();
}


static void
test_mutations(void **state)
{
    (void) state;

    t_mutations("intercom/conversation.user.created.json", 1);
    t_mutations("intercom/conversation.admin.assigned.json", 11);
    t_mutations("intercom/user.created.json", 13);
    t_mutations("intercom/ping.json", 1);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_user_created_conversation),
        cmocka_unit_test(test_user_replied),
        cmocka_unit_test(test_admin_assigned),
        cmocka_unit_test(test_admin_closed),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_user_created),
        cmocka_unit_test(test_contact_created),
        cmocka_unit_test(test_signed_notification_example),
        cmocka_unit_test(test_v2_user_created),
        cmocka_unit_test(test_v2_replies),
        cmocka_unit_test(test_v2_state_changes),
        cmocka_unit_test(test_v2_rating),
        cmocka_unit_test(test_v2_contact_updated),
        cmocka_unit_test(test_html_text),
        cmocka_unit_test(test_skips),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

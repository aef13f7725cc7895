
/*
 * Copyright (C) crmsync authors
 *
 * Unit tests for the HubSpot adapter (HubSpot's own webhooks, the way
 * back), through ngx_http_crmsync_parse(): the docs' batch example and
 * the v1 signature doc body in t/samples/hubspot parse to exactly the
 * events they describe, every array element extracted; merge payloads
 * are CONSTRUCTED from the documented fields (research/hubspot-api.md
 * section 12); then skips, refusals, the event limit, and truncation and
 * type mutations.
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


#define T_PROVIDER  NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT


#include "t_adapter.h"


/* the samples */


static void
test_batch_example(void **state)
{
    t_expect_t  e0 = {
        .type = NGX_HTTP_CRMSYNC_EV_CRM_PROPERTY_CHANGED,
        .delivery_id = "3816279340:33:25:1246965:1462216307945",
        .occurred_at = 1462216307945LL,
        .hubspot_id = "1246965",
        .attrs = "changeSource=ACADEMY;portalId=33",
        .csat = -1,
        .property = "lifecyclestage",
        .property_value = "subscriber"
    };

    t_expect_t  e1 = {
        .type = NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_CREATED,
        .delivery_id = "3816279480:33:22:1246978:1462216307945",
        .occurred_at = 1462216307945LL,
        .hubspot_id = "1246978",
        .attrs = "changeSource=IMPORT;portalId=33",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse_file("hubspot/webhook_batch_example.json"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 2);
    t_event(0, &e0);
    t_event(1, &e1);

    t_done();
}


static void
test_v1_doc_body(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_CREATED,
        .delivery_id = "1:62515:12345:123:1564113600000",
        .occurred_at = 1564113600000LL,
        .hubspot_id = "123",
        .attrs = "changeSource=CRM;portalId=62515",
        .csat = -1
    };

    (void) state;

    assert_int_equal(t_parse_file("hubspot/vector_v1_doc_body.json"),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* the other vector bodies are not events */

    t_parse_file("hubspot/vector_v2_doc_post_body.json");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "hubspot_no_subscription_type");

    t_parse_file("hubspot/vector_sdk_python_body.txt");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    t_done();
}


/* CONSTRUCTED from the documented fields */


#define T_MERGE(extra)                                                        \
    "[{\"eventId\":10,\"subscriptionId\":1,\"portalId\":62515,"               \
    "\"appId\":54321,\"occurredAt\":1700000000000,"                           \
    "\"subscriptionType\":\"contact.merge\",\"attemptNumber\":0,"             \
    "\"objectId\":201,\"changeSource\":\"CRM_UI\","                           \
    "\"sourceId\":\"userId:45678\"," extra "}]"


static void
test_merge(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_MERGED,
        .delivery_id = "10:62515:1:201:1700000000000",
        .occurred_at = 1700000000000LL,
        .hubspot_id = "300",
        .attrs = "changeSource=CRM_UI;sourceId=userId:45678;portalId=62515",
        .csat = -1,
        .merged_ids = "201,202,203"
    };

    (void) state;

    /* the survivor is the new record; both old ids point to it */

    assert_int_equal(t_parse(T_MERGE("\"primaryObjectId\":201,"
                             "\"mergedObjectIds\":[202,203,201],"
                             "\"newObjectId\":300,"
                             "\"numberOfPropertiesMoved\":5")),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e);

    /* no newObjectId: objectId survives */

    e.hubspot_id = "201";
    e.merged_ids = "202,203";

    assert_int_equal(t_parse(T_MERGE("\"primaryObjectId\":201,"
                             "\"mergedObjectIds\":[202,203]")),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* string ids; a prefix of a listed id is not a repeat */

    e.hubspot_id = "300";
    e.merged_ids = "2020,201,202,20";

    assert_int_equal(t_parse(T_MERGE("\"primaryObjectId\":\"2020\","
                             "\"mergedObjectIds\":[\"202\",\"20\","
                             "\"2020\",\"300\",201,null],"
                             "\"newObjectId\":\"300\"")),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* nothing merged in but the survivor itself */

    e.hubspot_id = "201";
    e.merged_ids = NULL;

    assert_int_equal(t_parse(T_MERGE("\"mergedObjectIds\":[]")),
                     NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    t_parse(T_MERGE("\"mergedObjectIds\":\"202\""));
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_bad_merge");

    t_parse(T_MERGE("\"mergedObjectIds\":[true]"));
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_bad_merge");

    t_parse(T_MERGE("\"newObjectId\":{}"));
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_bad_merge");

    t_parse(T_MERGE("\"primaryObjectId\":1.5"));
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_bad_merge");

    t_parse(T_MERGE("\"mergedObjectIds\":[\"1\","
                    "\"123456789012345678901234567890123\"]"));
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_bad_merge");

    t_done();
}


static void
test_property_values(void **state)
{
    t_expect_t  e = {
        .type = NGX_HTTP_CRMSYNC_EV_CRM_PROPERTY_CHANGED,
        .delivery_id = "7:::55:",
        .hubspot_id = "55",
        .csat = -1,
        .property = "email",
        .property_value = "new@x.com"
    };

    (void) state;

    /* the legacy eventType name, few fields, a string objectId */

    assert_int_equal(t_parse("[{\"eventId\":7,"
        "\"eventType\":\"contact.propertyChange\",\"objectId\":\"55\","
        "\"propertyName\":\"email\",\"propertyValue\":\"new@x.com\"}]"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* cleared */

    e.property_value = NULL;

    assert_int_equal(t_parse("[{\"eventId\":7,"
        "\"subscriptionType\":\"contact.propertyChange\",\"objectId\":\"55\","
        "\"propertyName\":\"email\",\"propertyValue\":\"\"}]"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    assert_int_equal(t_parse("[{\"eventId\":7,"
        "\"subscriptionType\":\"contact.propertyChange\",\"objectId\":\"55\","
        "\"propertyName\":\"email\",\"propertyValue\":null}]"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    /* a number, written in decimal */

    e.property = "hs_lead_score";
    e.property_value = "42";

    assert_int_equal(t_parse("[{\"eventId\":7,"
        "\"subscriptionType\":\"contact.propertyChange\",\"objectId\":\"55\","
        "\"propertyName\":\"hs_lead_score\",\"propertyValue\":42}]"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    t_event(0, &e);

    t_done();
}


static void
test_mixed_batch(void **state)
{
    t_expect_t  e0 = {
        .type = NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_CREATED,
        .delivery_id = "1:9:2:11:1700000000001",
        .occurred_at = 1700000000001LL,
        .hubspot_id = "11",
        .attrs = "changeSource=API;sourceId=app:1;portalId=9",
        .csat = -1
    };

    t_expect_t  e1 = {
        .type = NGX_HTTP_CRMSYNC_EV_CRM_PROPERTY_CHANGED,
        .delivery_id = "4:9:3:12:1700000000004",
        .occurred_at = 1700000000004LL,
        .hubspot_id = "12",
        .attrs = "portalId=9",
        .csat = -1,
        .property = "firstname",
        .property_value = "Ana"
    };

    (void) state;

    /* deals, deletions and associations are left out; order is kept */

    assert_int_equal(t_parse("["
        "{\"eventId\":1,\"subscriptionId\":2,\"portalId\":9,"
        "\"occurredAt\":1700000000001,\"subscriptionType\":"
        "\"contact.creation\",\"objectId\":11,\"changeSource\":\"API\","
        "\"sourceId\":\"app:1\",\"changeFlag\":\"NEW\"},"
        "{\"eventId\":2,\"subscriptionType\":\"deal.creation\","
        "\"objectId\":99},"
        "{\"eventId\":3,\"subscriptionType\":\"contact.deletion\","
        "\"objectId\":11},"
        "{\"eventId\":5,\"subscriptionType\":\"contact.associationChange\","
        "\"fromObjectId\":11,\"toObjectId\":99},"
        "{\"eventId\":4,\"subscriptionId\":3,\"portalId\":9,"
        "\"occurredAt\":1700000000004,\"subscriptionType\":"
        "\"contact.propertyChange\",\"objectId\":12,"
        "\"propertyName\":\"firstname\",\"propertyValue\":\"Ana\"}"
        "]"),
        NGX_HTTP_CRMSYNC_PARSE_OK);

    assert_int_equal(t_r.p.nevents, 2);
    t_event(0, &e0);
    t_event(1, &e1);

    /* one event, not in an array */

    assert_int_equal(t_parse("{\"eventId\":1,\"subscriptionId\":2,"
        "\"portalId\":9,\"occurredAt\":1700000000001,\"subscriptionType\":"
        "\"contact.creation\",\"objectId\":11,\"changeSource\":\"API\","
        "\"sourceId\":\"app:1\"}"),
        NGX_HTTP_CRMSYNC_PARSE_OK);
    assert_int_equal(t_r.p.nevents, 1);
    t_event(0, &e0);

    t_done();
}


static void
test_skips(void **state)
{
    (void) state;

    t_parse("[]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "hubspot_empty_batch");

    t_parse("[{\"eventId\":2,\"subscriptionType\":\"deal.creation\","
            "\"objectId\":99},{\"eventId\":3,\"subscriptionType\":"
            "\"contact.restore\",\"objectId\":1},{\"eventId\":4,"
            "\"subscriptionType\":\"contact.privacyDeletion\"},"
            "{\"eventId\":6,\"subscriptionType\":\"company.merge\"},"
            "{\"eventId\":7,\"subscriptionType\":\"ticket.creation\"},"
            "{\"eventId\":8,\"subscriptionType\":"
            "\"conversation.newMessage\"}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "hubspot_event_ignored");

    t_parse("{\"eventId\":2,\"subscriptionType\":\"object.creation\"}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_SKIP, "hubspot_event_ignored");

    t_done();
}


static void
test_refusals(void **state)
{
    (void) state;

    t_parse("[{\"eventId\":1");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_MALFORMED, "bad_json");

    /* a scalar root is JSON, but no shape we read */
    t_parse("\"contact.creation\"");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "not_an_object");

    t_parse("{\"a\":[]}");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "hubspot_no_subscription_type");

    t_parse("[1]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_event_not_object");

    t_parse("[[]]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_event_not_object");

    t_parse("[{}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "hubspot_no_subscription_type");

    t_parse("[{\"eventId\":1,\"subscriptionType\":5,\"objectId\":1}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "hubspot_no_subscription_type");

    t_parse("[{\"subscriptionType\":\"contact.creation\",\"objectId\":1}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_no_event_id");

    t_parse("[{\"eventId\":1.5,\"subscriptionType\":\"contact.creation\","
            "\"objectId\":1}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_no_event_id");

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.creation\"}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_no_object_id");

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.creation\","
            "\"objectId\":{}}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_no_object_id");

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.creation\","
            "\"objectId\":1,\"occurredAt\":\"today\"}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_bad_occurred_at");

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.creation\","
            "\"objectId\":1,\"portalId\":[]}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_bad_ids");

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.creation\","
            "\"objectId\":1,\"changeSource\":{}}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_bad_source");

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.propertyChange\","
            "\"objectId\":1,\"propertyValue\":\"x\"}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_no_property_name");

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.propertyChange\","
            "\"objectId\":1,\"propertyName\":5}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE, "hubspot_no_property_name");

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.propertyChange\","
            "\"objectId\":1,\"propertyName\":\"a\",\"propertyValue\":[]}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "hubspot_bad_property_value");

    /* one bad element refuses the whole batch */

    t_parse("[{\"eventId\":1,\"subscriptionType\":\"contact.creation\","
            "\"objectId\":1},{\"eventId\":2}]");
    t_refused(NGX_HTTP_CRMSYNC_PARSE_UNREADABLE,
              "hubspot_no_subscription_type");

    t_done();
}


static void
test_limits(void **state)
{
    char    *body, *p;
    size_t   i, n;

    (void) state;

    body = malloc(128 * 1100);
    assert_non_null(body);

    for (n = 1024; n <= 1025; n++) {
        p = body;
        *p++ = '[';

        for (i = 0; i < n; i++) {
            p += sprintf(p, "%s{\"eventId\":%zu,\"subscriptionType\":"
                         "\"contact.creation\",\"objectId\":%zu}",
                         i ? "," : "", i, i + 1000);
        }

        strcpy(p, "]");

        t_parse(body);

        if (n == 1024) {
            assert_int_equal(t_r.rc, NGX_HTTP_CRMSYNC_PARSE_OK);
            assert_int_equal(t_r.p.nevents, 1024);
            t_str(&t_r.p.events[1023].identity.hubspot_id, "2023", "last");
            t_str(&t_r.p.events[1023].delivery_id, "1023:::2023:", "last");

        } else {
            t_refused(NGX_HTTP_CRMSYNC_PARSE_NOMEM, "too_many_events");
        }
    }

    free(body);
    t_done();
}


static void
test_mutations(void **state)
{
    (void) state;

    t_mutations("hubspot/webhook_batch_example.json", 1);
    t_mutations("hubspot/vector_v1_doc_body.json", 1);
    t_mutations_body(T_MERGE("\"primaryObjectId\":201,"
                             "\"mergedObjectIds\":[202,203,201],"
                             "\"newObjectId\":300"),
                     sizeof(T_MERGE("\"primaryObjectId\":201,"
                                    "\"mergedObjectIds\":[202,203,201],"
                                    "\"newObjectId\":300")) - 1, 3);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_batch_example),
        cmocka_unit_test(test_v1_doc_body),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_property_values),
        cmocka_unit_test(test_mixed_batch),
        cmocka_unit_test(test_skips),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}


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


/* what one event must be, every field; NULL is "" */
typedef struct {
    ngx_http_crmsync_event_type_e   type;
    const char                     *delivery_id;
    int64_t                         occurred_at;
    const char                     *email;
    const char                     *phone;
    const char                     *platform_id;
    const char                     *hubspot_id;
    const char                     *first_name;
    const char                     *last_name;
    const char                     *conversation_id;
    ngx_http_crmsync_author_e       author;
    const char                     *message_id;
    const char                     *text;
    const char                     *status;
    unsigned                        attachments;
    const char                     *assignee;
    const char                     *attrs;      /* "name=value;..." */
    int                             csat;
    const char                     *property;
    const char                     *property_value;
    const char                     *merged_ids;
} t_expect_t;


typedef struct {
    ngx_http_crmsync_parse_t        p;
    ngx_http_crmsync_parse_rc_e     rc;
    u_char                         *arena;
    u_char                         *body;
} t_run_t;


static t_run_t  t_r;


/* helpers */


static char *
t_load(const char *name, size_t *len)
{
    long         n;
    char         path[512], *buf;
    FILE        *f;
    const char  *dir;

    dir = getenv("CRMSYNC_SAMPLES");
    if (dir == NULL) {
        dir = "t/samples";
    }

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s (run from the repository root)", path);
    }

    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);

    buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, n, f), (size_t) n);
    buf[n] = '\0';
    fclose(f);

    *len = n;

    return buf;
}


static void
t_done(void)
{
    free(t_r.arena);
    free(t_r.body);
    memset(&t_r, 0, sizeof(t_r));
}


/* parse len bytes from an exact-size heap copy: overreads are caught */

static ngx_http_crmsync_parse_rc_e
t_parse_len(const char *body, size_t len, const char *region)
{
    size_t  size;

    t_done();

    t_r.body = malloc(len ? len : 1);
    assert_non_null(t_r.body);
    memcpy(t_r.body, body, len);

    size = ngx_http_crmsync_parse_arena_size(len);
    t_r.arena = malloc(size);
    assert_non_null(t_r.arena);

    t_r.p.provider = T_PROVIDER;
    t_r.p.default_region = region;
    t_r.p.arena.start = t_r.arena;
    t_r.p.arena.pos = t_r.arena;
    t_r.p.arena.end = t_r.arena + size;

    t_r.rc = ngx_http_crmsync_parse(&t_r.p, t_r.body, len);

    if (t_r.rc == NGX_HTTP_CRMSYNC_PARSE_OK) {
        assert_true(t_r.p.nevents >= 1);
        assert_non_null(t_r.p.events);

    } else {
        assert_int_equal(t_r.p.nevents, 0);
        assert_non_null(t_r.p.reason);
    }

    return t_r.rc;
}


static ngx_http_crmsync_parse_rc_e
t_parse(const char *body)
{
    return t_parse_len(body, strlen(body), "US");
}


static ngx_http_crmsync_parse_rc_e
t_parse_file(const char *name)
{
    char    *body;
    size_t   len;

    body = t_load(name, &len);
    t_parse_len(body, len, "US");
    free(body);

    return t_r.rc;
}


static void
t_refused(ngx_http_crmsync_parse_rc_e rc, const char *reason)
{
    assert_int_equal(t_r.rc, rc);
    assert_string_equal(t_r.p.reason, reason);
}


static void
t_str(const ngx_http_crmsync_str_t *s, const char *expect, const char *what)
{
    char  buf[4096];

    if (expect == NULL) {
        expect = "";
    }

    assert_true(s->len < sizeof(buf));

    if (s->len) {
        assert_non_null(s->data);
        memcpy(buf, s->data, s->len);
    }

    buf[s->len] = '\0';

    if (strcmp(buf, expect) != 0 || s->len != strlen(expect)) {
        fail_msg("%s: \"%s\", expected \"%s\"", what, buf, expect);
    }
}


static void
t_event(size_t i, const t_expect_t *e)
{
    char                       attrs[4096];
    size_t                     k, n;
    ngx_http_crmsync_event_t  *ev;

    assert_true(i < t_r.p.nevents);
    ev = &t_r.p.events[i];

    assert_int_equal(ev->provider, T_PROVIDER);
    assert_int_equal(ev->type, e->type);
    t_str(&ev->delivery_id, e->delivery_id, "delivery_id");
    assert_int_equal(ev->occurred_at, e->occurred_at);

    t_str(&ev->identity.email, e->email, "email");
    t_str(&ev->identity.phone, e->phone, "phone");
    t_str(&ev->identity.phone_alt, NULL, "phone_alt");
    t_str(&ev->identity.whatsapp_id, NULL, "whatsapp_id");
    t_str(&ev->identity.messenger_psid, NULL, "messenger_psid");
    t_str(&ev->identity.instagram_id, NULL, "instagram_id");
    t_str(&ev->identity.telegram_id, NULL, "telegram_id");
    t_str(&ev->identity.telegram_username, NULL, "telegram_username");
    t_str(&ev->identity.platform_id, e->platform_id, "platform_id");
    t_str(&ev->identity.hubspot_id, e->hubspot_id, "hubspot_id");

    t_str(&ev->first_name, e->first_name, "first_name");
    t_str(&ev->last_name, e->last_name, "last_name");
    t_str(&ev->conversation_id, e->conversation_id, "conversation_id");

    assert_int_equal(ev->author, e->author);
    t_str(&ev->message_id, e->message_id, "message_id");
    t_str(&ev->text, e->text, "text");
    t_str(&ev->status, e->status, "status");
    assert_int_equal(ev->attachments, e->attachments);
    t_str(&ev->assignee, e->assignee, "assignee");

    n = 0;
    attrs[0] = '\0';

    for (k = 0; k < ev->nattrs; k++) {
        n += snprintf(attrs + n, sizeof(attrs) - n, "%s%.*s=%.*s",
                      k ? ";" : "",
                      (int) ev->attrs[k].name.len,
                      (char *) ev->attrs[k].name.data,
                      (int) ev->attrs[k].value.len,
                      (char *) ev->attrs[k].value.data);
        assert_true(n < sizeof(attrs));
    }

    assert_string_equal(attrs, e->attrs ? e->attrs : "");

    assert_int_equal(ev->csat, e->csat);
    t_str(&ev->property, e->property, "property");
    t_str(&ev->property_value, e->property_value, "property_value");
    t_str(&ev->merged_ids, e->merged_ids, "merged_ids");
}


/*
 * Robustness: every proper prefix of a sample is refused as bad JSON,
 * and every member replaced by a value of each other type parses to a
 * result with a reason or to well-formed events, without a crash or an
 * overread (run under valgrind by "make test").
 */

static size_t
t_count(json_t *j)
{
    size_t       n, i;
    json_t      *v;
    const char  *k;

    n = 1;

    if (json_is_object(j)) {
        json_object_foreach(j, k, v) {
            n += t_count(v);
        }

    } else if (json_is_array(j)) {
        for (i = 0; i < json_array_size(j); i++) {
            n += t_count(json_array_get(j, i));
        }
    }

    return n;
}


static int
t_replace(json_t *j, size_t *k, size_t target, json_t *with)
{
    size_t       i;
    json_t      *v;
    const char  *key;

    if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if ((*k)++ == target) {
                json_object_set(j, key, with);
                return 1;
            }

            if (t_replace(v, k, target, with)) {
                return 1;
            }
        }

    } else if (json_is_array(j)) {
        for (i = 0; i < json_array_size(j); i++) {
            if ((*k)++ == target) {
                json_array_set(j, i, with);
                return 1;
            }

            if (t_replace(json_array_get(j, i), k, target, with)) {
                return 1;
            }
        }
    }

    return 0;
}


static void
t_check_events(void)
{
    size_t                     i;
    ngx_http_crmsync_event_t  *ev;

    for (i = 0; i < t_r.p.nevents; i++) {
        ev = &t_r.p.events[i];

        assert_int_equal(ev->provider, T_PROVIDER);
        assert_true(ev->type > NGX_HTTP_CRMSYNC_EV_NONE
                    && ev->type < NGX_HTTP_CRMSYNC_EV_MAX);
        assert_true(ev->author <= NGX_HTTP_CRMSYNC_AUTHOR_NOTE);
        assert_true(ev->nattrs == 0 || ev->attrs != NULL);
        assert_true(ev->text.len == 0 || ev->text.data != NULL);
    }
}


static void
t_mutations_body(const char *body, size_t len, size_t stride)
{
    char        *s;
    size_t       i, n, k, w, last;
    json_t      *root, *copy, *with[6];
    json_error_t err;

    /* truncated */

    last = len;
    while (last && body[last - 1] != '}' && body[last - 1] != ']') {
        last--;
    }

    for (i = 0; i < last; i += stride) {
        t_parse_len(body, i, "US");
        assert_int_equal(t_r.rc, NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    }

    /* every member with every other type */

    root = json_loadb(body, len, 0, &err);
    assert_non_null(root);

    with[0] = json_null();
    with[1] = json_integer(-7);
    with[2] = json_string("");
    with[3] = json_string("<p>x</p>");
    with[4] = json_array();
    with[5] = json_object();

    /* the members and elements, the root left out */

    n = t_count(root) - 1;

    for (i = 0; i < n; i++) {
        for (w = 0; w < 6; w++) {
            copy = json_deep_copy(root);
            k = 0;
            assert_true(t_replace(copy, &k, i, with[w]));

            s = json_dumps(copy, JSON_COMPACT);
            assert_non_null(s);

            t_parse_len(s, strlen(s), (w & 1) ? NULL : "US");
            t_check_events();

            free(s);
            json_decref(copy);
        }
    }

    for (w = 0; w < 6; w++) {
        json_decref(with[w]);
    }

    json_decref(root);
    t_done();
}


static void
t_mutations(const char *name, size_t stride)
{
    char    *body;
    size_t   len;

    body = t_load(name, &len);
    t_mutations_body(body, len, stride);
    free(body);
}


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


/*
 * Copyright (C) crmsync authors
 *
 * Unit tests: the HubSpot contacts batch upsert builder and answer reader.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "ngx_http_crmsync_hubspot.h"


#define T_MAX  NGX_HTTP_CRMSYNC_HS_BATCH_MAX
#define T_NONE  ((size_t) -1)


/* one batch: the jobs' payloads, what the builder made of them, the
   answer's outcome */
typedef struct {
    size_t                         n;
    ngx_http_crmsync_str_t         payloads[T_MAX];
    size_t                         input_of[T_MAX];
    size_t                         ninputs;
    char                          *body;
    json_t                        *doc;
    ngx_http_crmsync_str_t         emails[T_MAX];
    ngx_http_crmsync_hs_result_t   results[T_MAX];
    ngx_http_crmsync_hs_pace_e     pace;
    char                           correlation[64];
} t_batch_t;


static t_batch_t  b;


static void
t_reset(void)
{
    free(b.body);
    json_decref(b.doc);
    memset(&b, 0, sizeof(t_batch_t));
}


/* builds the body of jobs given as NULL-terminated payload strings, and
   takes each input's email back from it */

static void
t_build(const char *first, ...)
{
    size_t        k;
    va_list       ap;
    json_t       *in;
    const char   *p;
    json_error_t  err;

    t_reset();

    va_start(ap, first);

    for (p = first; p; p = va_arg(ap, const char *)) {
        b.payloads[b.n].data = (u_char *) p;
        b.payloads[b.n].len = strlen(p);
        b.n++;
    }

    va_end(ap);

    b.body = ngx_http_crmsync_hs_upsert_body(b.payloads, b.n, b.input_of,
                                             &b.ninputs, b.results);
    if (b.body == NULL) {
        assert_int_equal(b.ninputs, 0);
        return;
    }

    b.doc = json_loads(b.body, 0, &err);
    assert_non_null(b.doc);

    in = json_object_get(b.doc, "inputs");
    assert_true(json_is_array(in));
    assert_int_equal(json_array_size(in), b.ninputs);

    for (k = 0; k < b.ninputs; k++) {
        p = json_string_value(json_object_get(json_array_get(in, k), "id"));
        assert_non_null(p);
        b.emails[k].data = (u_char *) p;
        b.emails[k].len = strlen(p);
    }
}


static void
t_answer(int status, const char *body, const char *transport)
{
    size_t  i;

    /* the reader must set every job it owns: poison them first */

    for (i = 0; i < b.n; i++) {
        if (b.input_of[i] != T_NONE) {
            memset(&b.results[i], 0x5a, sizeof(b.results[i]));
        }
    }

    b.pace = (ngx_http_crmsync_hs_pace_e) 77;
    memset(b.correlation, 'x', sizeof(b.correlation));

    ngx_http_crmsync_hs_upsert_result(status, (const u_char *) body,
                                      body ? strlen(body) : 0, transport,
                                      b.n, b.input_of, b.emails, b.ninputs,
                                      b.results, &b.pace, b.correlation,
                                      sizeof(b.correlation));
}


static json_t *
t_props(size_t k)
{
    return json_object_get(json_array_get(json_object_get(b.doc, "inputs"),
                                          k),
                           "properties");
}


static const char *
t_prop(size_t k, const char *name)
{
    return json_string_value(json_object_get(t_props(k), name));
}


static void
t_outcome(size_t i, ngx_http_crmsync_hs_outcome_e outcome,
    const char *reason, const char *category)
{
    assert_int_equal(b.results[i].outcome, outcome);

    if (reason) {
        assert_string_equal(b.results[i].reason, reason);
    }

    if (category) {
        assert_string_equal(b.results[i].category, category);
    }
}


static void
t_all(ngx_http_crmsync_hs_outcome_e outcome, const char *reason,
    const char *category)
{
    size_t  i;

    for (i = 0; i < b.n; i++) {
        if (b.input_of[i] != T_NONE) {
            t_outcome(i, outcome, reason, category);
        }
    }
}


static void
test_coalesce(void **state)
{
    (void) state;

    t_build("{\"email\":\"a@x.com\",\"firstname\":\"Ann\",\"phone\":\"+1555\"}",
            "{\"email\":\"b@x.com\",\"firstname\":\"Bob\"}",
            "{\"email\":\"a@x.com\",\"firstname\":\"\",\"phone\":\"+1666\","
            "\"lastname\":\"Lee\",\"city\":\"\"}",
            "{\"email\":\"A@X.com\",\"lastname\":\"Leigh\"}",
            NULL);

    assert_non_null(b.body);
    assert_int_equal(b.ninputs, 2);

    /* arrival order: a first, then b; both a jobs (any case) in input 0 */

    assert_int_equal(b.input_of[0], 0);
    assert_int_equal(b.input_of[1], 1);
    assert_int_equal(b.input_of[2], 0);
    assert_int_equal(b.input_of[3], 0);
    assert_string_equal(b.emails[0].data, "a@x.com");
    assert_string_equal(b.emails[1].data, "b@x.com");

    /* the empty firstname keeps Ann; later non-empty values win; an
       empty value for a new property is sent as it is */

    assert_string_equal(t_prop(0, "firstname"), "Ann");
    assert_string_equal(t_prop(0, "phone"), "+1666");
    assert_string_equal(t_prop(0, "lastname"), "Leigh");
    assert_string_equal(t_prop(0, "city"), "");
    assert_non_null(t_prop(0, "email"));
    assert_int_equal(json_object_size(t_props(0)), 5);

    assert_string_equal(t_prop(1, "firstname"), "Bob");
    assert_string_equal(t_prop(1, "email"), "b@x.com");
    assert_int_equal(json_object_size(t_props(1)), 2);

    /* an empty value never overrides, null neither */

    t_build("{\"email\":\"a@x.com\",\"phone\":\"+1\"}",
            "{\"email\":\"a@x.com\",\"phone\":null}",
            "{\"email\":\"a@x.com\",\"phone\":\"\"}",
            NULL);

    assert_int_equal(b.ninputs, 1);
    assert_string_equal(t_prop(0, "phone"), "+1");

    t_reset();
}


static void
test_body_shape(void **state)
{
    json_t  *in, *x;

    (void) state;

    t_build("{\"email\":\"a@x.com\",\"age\":42,\"vip\":true,"
            "\"note\":\"\\u00e9\\\"q\\\"\"}",
            NULL);

    assert_non_null(b.body);
    assert_null(strchr(b.body, '\n'));
    assert_int_equal(json_object_size(b.doc), 1);

    in = json_object_get(b.doc, "inputs");
    assert_int_equal(json_array_size(in), 1);

    x = json_array_get(in, 0);
    assert_int_equal(json_object_size(x), 3);
    assert_string_equal(json_string_value(json_object_get(x, "idProperty")),
                        "email");
    assert_string_equal(json_string_value(json_object_get(x, "id")),
                        "a@x.com");

    /* values are kept as given: numbers and booleans too */

    assert_int_equal(json_integer_value(json_object_get(t_props(0), "age")),
                     42);
    assert_true(json_is_true(json_object_get(t_props(0), "vip")));
    assert_string_equal(t_prop(0, "note"), "\xc3\xa9\"q\"");
    assert_string_equal(t_prop(0, "email"), "a@x.com");

    /* the order of the payload is kept */

    assert_non_null(strstr(b.body, "\"properties\":{\"email\":\"a@x.com\","
                                   "\"age\":42,\"vip\":true,"));

    t_reset();
}


static void
test_bad_payloads(void **state)
{
    size_t  i;

    (void) state;

    t_build("not json",
            "[\"email\",\"a@x.com\"]",
            "{\"email\":\"\"}",
            "{\"email\":7}",
            "{\"name\":\"no email\"}",
            "{\"email\":\"c@x.com\",\"phone\":\"+1\"}",
            "{\"email\":\"c@x.com\"",
            "",
            NULL);

    assert_non_null(b.body);
    assert_int_equal(b.ninputs, 1);

    for (i = 0; i < b.n; i++) {
        if (i == 5) {
            assert_int_equal(b.input_of[i], 0);
            continue;
        }

        assert_int_equal(b.input_of[i], T_NONE);
        t_outcome(i, NGX_HTTP_CRMSYNC_HS_DEAD, "bad_payload", NULL);
    }

    /* the answer leaves the refused jobs as they are */

    t_answer(200, "{\"status\":\"COMPLETE\",\"results\":[{\"id\":\"9\","
                  "\"properties\":{\"email\":\"c@x.com\"},\"new\":false}]}",
             NULL);

    t_outcome(5, NGX_HTTP_CRMSYNC_HS_DONE, NULL, NULL);
    assert_string_equal(b.results[5].id, "9");
    assert_false(b.results[5].created);

    for (i = 0; i < b.n; i++) {
        if (i != 5) {
            t_outcome(i, NGX_HTTP_CRMSYNC_HS_DEAD, "bad_payload", NULL);
        }
    }

    /* nothing left to send */

    t_build("{}", "nope", NULL);

    assert_null(b.body);
    assert_int_equal(b.ninputs, 0);
    assert_int_equal(b.input_of[0], T_NONE);
    assert_int_equal(b.input_of[1], T_NONE);
    t_outcome(0, NGX_HTTP_CRMSYNC_HS_DEAD, "bad_payload", NULL);
    t_outcome(1, NGX_HTTP_CRMSYNC_HS_DEAD, "bad_payload", NULL);

    t_reset();
}


static void
test_complete(void **state)
{
    (void) state;

    t_build("{\"email\":\"a@x.com\"}",
            "{\"email\":\"b@x.com\"}",
            "{\"email\":\"c@x.com\"}",
            "{\"email\":\"b@x.com\",\"firstname\":\"B\"}",
            NULL);

    assert_int_equal(b.ninputs, 3);

    /* out of order; HubSpot's email in another case; c found by id */

    t_answer(200, "{\"status\":\"COMPLETE\",\"results\":["
                  "{\"id\":\"1003\",\"properties\":{\"email\":\"B@X.COM\"},"
                  "\"new\":true,\"createdAt\":\"2026-01-01T00:00:00Z\"},"
                  "{\"id\":\"c@x.com\",\"properties\":{},\"new\":false},"
                  "{\"id\":\"1001\",\"properties\":{\"email\":\"a@x.com\","
                  "\"hs_object_id\":\"1001\"},\"new\":false}],"
                  "\"startedAt\":\"2026-01-01T00:00:00Z\","
                  "\"completedAt\":\"2026-01-01T00:00:01Z\"}",
             NULL);

    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_NONE);
    assert_string_equal(b.correlation, "");

    t_outcome(0, NGX_HTTP_CRMSYNC_HS_DONE, "", "");
    assert_string_equal(b.results[0].id, "1001");
    assert_false(b.results[0].created);

    t_outcome(1, NGX_HTTP_CRMSYNC_HS_DONE, "", "");
    assert_string_equal(b.results[1].id, "1003");
    assert_true(b.results[1].created);

    t_outcome(2, NGX_HTTP_CRMSYNC_HS_DONE, NULL, NULL);
    assert_string_equal(b.results[2].id, "c@x.com");

    t_outcome(3, NGX_HTTP_CRMSYNC_HS_DONE, NULL, NULL);
    assert_string_equal(b.results[3].id, "1003");
    assert_true(b.results[3].created);

    /* 201 reads the same; one input left out, one without an id */

    t_answer(201, "{\"status\":\"COMPLETE\",\"results\":["
                  "{\"id\":\"1001\",\"properties\":{\"email\":\"a@x.com\"}},"
                  "{\"properties\":{\"email\":\"c@x.com\"}}]}",
             NULL);

    t_outcome(0, NGX_HTTP_CRMSYNC_HS_DONE, NULL, NULL);
    t_outcome(1, NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer", NULL);
    t_outcome(2, NGX_HTTP_CRMSYNC_HS_RETRY, "result without a usable id",
              NULL);
    t_outcome(3, NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer", NULL);

    /* an email twice in "results": the first one counts */

    t_answer(200, "{\"results\":["
                  "{\"id\":\"1001\",\"properties\":{\"email\":\"a@x.com\"}},"
                  "{\"id\":\"1002\",\"properties\":{\"email\":\"a@x.com\"}}"
                  "]}",
             NULL);

    t_outcome(0, NGX_HTTP_CRMSYNC_HS_DONE, NULL, NULL);
    assert_string_equal(b.results[0].id, "1001");

    t_reset();
}


static void
test_multi_status(void **state)
{
    (void) state;

    t_build("{\"email\":\"a@x.com\"}",
            "{\"email\":\"b@x.com\"}",
            "{\"email\":\"c@x.com\"}",
            "{\"email\":\"d@x.com\"}",
            "{\"email\":\"e@x.com\"}",
            NULL);

    t_answer(207, "{\"status\":\"COMPLETE\",\"results\":["
                  "{\"id\":\"1\",\"properties\":{\"email\":\"a@x.com\"},"
                  "\"new\":true}],"
                  "\"numErrors\":4,\"errors\":["
                  "{\"status\":\"error\",\"category\":\"VALIDATION_ERROR\","
                  "\"message\":\"Email address b@x is invalid\","
                  "\"context\":{\"ids\":[\"B@x.com\"]}},"
                  "{\"status\":\"error\",\"category\":\"INTERNAL_ERROR\","
                  "\"message\":\"try later\","
                  "\"context\":{\"emails\":[\"c@x.com\"]}},"
                  "{\"status\":\"503\",\"category\":\"WHATEVER\","
                  "\"message\":\"busy\","
                  "\"context\":{\"objectWriteTraceId\":[\"d@x.com\"]}},"
                  "{\"status\":\"error\",\"category\":\"VALIDATION_ERROR\","
                  "\"message\":\"names nobody\","
                  "\"context\":{\"propertyName\":[\"e@x.com\"]}}],"
                  "\"startedAt\":\"x\",\"completedAt\":\"y\"}",
             NULL);

    t_outcome(0, NGX_HTTP_CRMSYNC_HS_DONE, "", "");
    assert_string_equal(b.results[0].id, "1");
    assert_true(b.results[0].created);

    t_outcome(1, NGX_HTTP_CRMSYNC_HS_DEAD, "Email address b@x is invalid",
              "VALIDATION_ERROR");
    t_outcome(2, NGX_HTTP_CRMSYNC_HS_RETRY, "try later", "INTERNAL_ERROR");
    t_outcome(3, NGX_HTTP_CRMSYNC_HS_RETRY, "busy", "WHATEVER");
    t_outcome(4, NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer", NULL);

    /* the sandbox's own 207 for an upsert by email with an error */

    t_answer(207, "{\"status\":\"COMPLETE\",\"results\":[],\"numErrors\":1,"
                  "\"errors\":[{\"status\":\"error\",\"message\":"
                  "\"Contact already exists. Existing ID: 6001\","
                  "\"category\":\"CONFLICT\",\"context\":{\"ids\":"
                  "[\"e@x.com\"],\"objectWriteTraceId\":[\"t1\"]}}]}",
             NULL);

    t_outcome(4, NGX_HTTP_CRMSYNC_HS_DEAD,
              "Contact already exists. Existing ID: 6001", "CONFLICT");
    t_outcome(0, NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer", NULL);

    /* named in both: written is written */

    t_answer(207, "{\"results\":[{\"id\":\"1\",\"properties\":"
                  "{\"email\":\"a@x.com\"}}],\"errors\":[{\"message\":"
                  "\"m\",\"category\":\"CONFLICT\",\"context\":{\"ids\":"
                  "[\"a@x.com\",\"b@x.com\"]}}]}",
             NULL);

    t_outcome(0, NGX_HTTP_CRMSYNC_HS_DONE, "", "");
    t_outcome(1, NGX_HTTP_CRMSYNC_HS_DEAD, "m", "CONFLICT");

    t_answer(207, "{\"errors\":[{\"message\":\"\",\"context\":{\"ids\":"
                  "[\"a@x.com\"]}}]}",
             NULL);

    t_outcome(0, NGX_HTTP_CRMSYNC_HS_DEAD, "error without a message", "");

    /* a numeric status; entries that are no objects */

    t_answer(207, "{\"results\":[1,null,[]],\"errors\":[\"x\",{\"status\":"
                  "502,\"message\":\"bad gateway\",\"context\":{\"ids\":"
                  "[\"a@x.com\"]}},{\"status\":404,\"message\":\"gone\","
                  "\"context\":{\"ids\":[\"b@x.com\"]}}]}",
             NULL);

    t_outcome(0, NGX_HTTP_CRMSYNC_HS_RETRY, "bad gateway", "");
    t_outcome(1, NGX_HTTP_CRMSYNC_HS_DEAD, "gone", "");

    t_reset();
}


static void
test_pending(void **state)
{
    (void) state;

    t_build("{\"email\":\"a@x.com\"}", "{\"email\":\"b@x.com\"}", NULL);

    t_answer(200, "{\"status\":\"PENDING\",\"results\":[{\"id\":\"5\","
                  "\"properties\":{\"email\":\"b@x.com\"},\"new\":false}]}",
             NULL);

    t_outcome(0, NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer (PENDING)",
              "");
    t_outcome(1, NGX_HTTP_CRMSYNC_HS_DONE, "", "");
    assert_string_equal(b.results[1].id, "5");

    t_answer(200, "{\"status\":\"CANCELED\"}", NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer (CANCELED)", NULL);

    t_reset();
}


static void
test_refused_batch(void **state)
{
    static const char  *body =
        "{\"status\":\"error\",\"message\":\"Property values were not "
        "valid\",\"correlationId\":\"c-400\",\"category\":"
        "\"VALIDATION_ERROR\",\"errors\":[{\"message\":\"no\","
        "\"code\":\"INVALID_EMAIL\"}]}";

    (void) state;

    /* several inputs: find the bad one alone */

    t_build("{\"email\":\"a@x.com\"}", "{\"email\":\"b@x.com\"}",
            "{\"email\":\"a@x.com\"}", NULL);

    t_answer(400, body, NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_SOLO, NULL, NULL);
    assert_string_equal(b.correlation, "c-400");
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_NONE);

    t_answer(409, "{\"status\":\"error\",\"message\":\"Contact already "
                  "exists. Existing ID: 6001\",\"category\":\"CONFLICT\"}",
             NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_SOLO, NULL, NULL);

    t_answer(422, NULL, NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_SOLO, NULL, NULL);

    /* one input (two jobs): it is the bad one */

    t_build("{\"email\":\"a@x.com\"}", "{\"email\":\"a@x.com\"}", NULL);

    t_answer(400, body, NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_DEAD, "Property values were not valid",
          "VALIDATION_ERROR");
    assert_string_equal(b.correlation, "c-400");

    t_answer(409, "{\"status\":\"error\",\"message\":\"Contact already "
                  "exists. Existing ID: 6001\",\"correlationId\":null,"
                  "\"category\":\"CONFLICT\"}",
             NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_DEAD, "Contact already exists. Existing ID: 6001",
          "CONFLICT");
    assert_string_equal(b.correlation, "");

    t_answer(422, "<html>", NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_DEAD, "HTTP 422", "");

    t_reset();
}


static void
test_auth_and_forbidden(void **state)
{
    (void) state;

    t_build("{\"email\":\"a@x.com\"}", "{\"email\":\"b@x.com\"}", NULL);

    t_answer(401, "{\"status\":\"error\",\"message\":\"The OAuth token used "
                  "to make this call expired 0 second(s) ago.\","
                  "\"correlationId\":\"c-401\",\"category\":"
                  "\"EXPIRED_AUTHENTICATION\",\"context\":{\"expire time\":"
                  "[\"2026-03-10T23:04:41.164Z\"]}}",
             NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_AUTH,
          "The OAuth token used to make this call expired 0 second(s) ago.",
          "EXPIRED_AUTHENTICATION");
    assert_string_equal(b.correlation, "c-401");

    t_answer(401, "", NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_AUTH, "HTTP 401", "");

    t_answer(403, "{\"status\":\"error\",\"message\":\"This app hasn't been "
                  "granted all required scopes to make this call.\","
                  "\"correlationId\":\"c-403\",\"category\":"
                  "\"MISSING_SCOPES\"}",
             NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_DEAD,
          "This app hasn't been granted all required scopes to make this "
          "call.", "MISSING_SCOPES");
    assert_string_equal(b.correlation, "c-403");

    t_answer(404, NULL, NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_DEAD, "HTTP 404", "");

    t_answer(405, "{\"message\":\"\",\"category\":\"VALIDATION_ERROR\"}",
             NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_DEAD, "HTTP 405", "VALIDATION_ERROR");

    t_answer(413, "{\"message\":\"too big\"}", NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_DEAD, "too big", "");

    /* 408 and 477 (migration in progress) pass */

    t_answer(408, NULL, NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "HTTP 408", "");

    t_answer(477, "{\"message\":\"Migration in progress\"}", NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "HTTP 477: Migration in progress", "");

    t_reset();
}


static void
test_pace(void **state)
{
    (void) state;

    t_build("{\"email\":\"a@x.com\"}", "{\"email\":\"b@x.com\"}", NULL);

    t_answer(429, "{\"status\":\"error\",\"message\":\"You have reached your "
                  "ten_secondly_rolling limit.\",\"errorType\":\"RATE_LIMIT\","
                  "\"correlationId\":\"c-429\",\"policyName\":"
                  "\"TEN_SECONDLY_ROLLING\",\"requestId\":\"r\"}",
             NULL);
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_ROLLING);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "HTTP 429: You have reached your "
          "ten_secondly_rolling limit.", "RATE_LIMIT");
    assert_string_equal(b.correlation, "c-429");

    t_answer(429, "{\"status\":\"error\",\"message\":\"You have reached your "
                  "secondly limit.\",\"errorType\":\"RATE_LIMIT\","
                  "\"policyName\":\"SECONDLY\",\"groupName\":\"g\"}",
             NULL);
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_SECONDLY);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, NULL, NULL);

    t_answer(429, "{\"status\":\"error\",\"message\":\"You have reached your "
                  "daily limit.\",\"policyName\":\"DAILY\"}",
             NULL);
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_DAILY);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY,
          "HTTP 429: You have reached your daily limit.", "");

    t_answer(429, "{\"status\":\"error\",\"category\":\"RATE_LIMITS\"}",
             NULL);
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_ROLLING);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "HTTP 429", "RATE_LIMITS");

    t_answer(429, "{\"policyName\":\"SOMETHING_NEW\"}", NULL);
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_ROLLING);

    t_answer(429, NULL, NULL);
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_ROLLING);

    t_answer(423, "{\"status\":\"error\",\"message\":\"Locked: a concurrent "
                  "request holds a lock\",\"category\":\"LOCKED\"}",
             NULL);
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_LOCKED);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY,
          "HTTP 423: Locked: a concurrent request holds a lock", "LOCKED");

    t_reset();
}


static void
test_server_and_transport(void **state)
{
    (void) state;

    t_build("{\"email\":\"a@x.com\"}", "{\"email\":\"b@x.com\"}", NULL);

    t_answer(500, "{\"status\":\"error\",\"message\":\"internal error\","
                  "\"correlationId\":\"c-500\","
                  "\"category\":\"INTERNAL_ERROR\"}",
             NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "HTTP 500: internal error",
          "INTERNAL_ERROR");
    assert_string_equal(b.correlation, "c-500");
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_NONE);

    t_answer(502, "<html><head><title>502 Bad Gateway</title></head></html>",
             NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "HTTP 502", "");
    assert_string_equal(b.correlation, "");

    t_answer(503, NULL, NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "HTTP 503", "");

    t_answer(0, NULL, "timeout");
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "transport: timeout", "");
    assert_int_equal(b.pace, NGX_HTTP_CRMSYNC_HS_PACE_NONE);

    t_answer(0, "{\"message\":\"ignored\"}", "connection refused");
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "transport: connection refused", "");

    t_answer(0, NULL, NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "transport: no answer", "");

    t_answer(302, NULL, NULL);
    t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "HTTP 302", "");

    t_reset();
}


static void
test_garbage(void **state)
{
    size_t  i;

    static const char  *bodies[] = {
        NULL, "", "garbage", "{\"results\":", "[1,2,3]", "\"COMPLETE\"",
        "42", "{\"status\":\"COMPLETE\",\"results\":[1,\"x\",null]} trailing",
    };

    (void) state;

    t_build("{\"email\":\"a@x.com\"}", "{\"email\":\"b@x.com\"}", NULL);

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        t_answer(200, bodies[i], NULL);
        t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "unreadable answer", "");
    }

    /* readable, yet of the wrong shapes */

    t_answer(200, "{\"status\":1,\"results\":{\"a\":1},\"errors\":"
                  "[1,{\"context\":[\"a@x.com\"]},{\"context\":"
                  "{\"ids\":\"b@x.com\",\"emails\":[1,null]}}]}",
             NULL);
    t_outcome(0, NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer", NULL);
    t_outcome(1, NGX_HTTP_CRMSYNC_HS_DEAD, "error without a message", "");

    t_answer(200, "{\"results\":[{\"id\":\"123456789012345678901234567890"
                  "12\",\"properties\":{\"email\":\"a@x.com\"}},"
                  "{\"id\":77,\"properties\":{\"email\":\"b@x.com\"},"
                  "\"new\":\"true\"}]}",
             NULL);
    t_outcome(0, NGX_HTTP_CRMSYNC_HS_RETRY, "result without a usable id",
              NULL);
    t_outcome(1, NGX_HTTP_CRMSYNC_HS_DONE, NULL, NULL);
    assert_string_equal(b.results[1].id, "77");
    assert_false(b.results[1].created);

    /* an input index the builder cannot have given */

    b.input_of[1] = 5;
    t_answer(200, "{\"results\":[]}", NULL);
    t_outcome(0, NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer", NULL);
    t_outcome(1, NGX_HTTP_CRMSYNC_HS_RETRY, "missing from answer", NULL);

    t_reset();
}


static void
test_truncation(void **state)
{
    int      valid;
    char     msg[600], body[800], *p;
    size_t   i, len;
    json_t  *s;

    (void) state;

    t_build("{\"email\":\"a@x.com\"}", NULL);

    /* "é" is two bytes: 255 bytes of room split the last one */

    p = msg;

    for (i = 0; i < 200; i++) {
        *p++ = '\xc3';
        *p++ = '\xa9';
    }

    *p = '\0';

    snprintf(body, sizeof(body), "{\"message\":\"%s\",\"category\":\"%s\","
             "\"correlationId\":\"%s\"}", msg,
             "CATEGORY_THAT_IS_MUCH_LONGER_THAN_SIXTY_FOUR_BYTES_SO_IT_"
             "IS_CUT_SOMEWHERE", "0123456789012345678901234567890123456789"
             "0123456789012345678901234567890123456789");

    t_answer(403, body, NULL);

    len = strlen(b.results[0].reason);
    assert_int_equal(len, 254);
    assert_memory_equal(b.results[0].reason, msg, len);
    assert_int_equal(strlen(b.results[0].category), 63);
    assert_int_equal(strlen(b.correlation), 63);

    /* a four-byte sequence at the end backs up to its lead byte */

    memset(msg, 'y', 254);
    memcpy(msg + 254, "\xf0\x9f\x98\x80", 5);

    snprintf(body, sizeof(body), "{\"message\":\"%s\"}", msg);
    t_answer(403, body, NULL);
    assert_int_equal(strlen(b.results[0].reason), 254);

    /* a message that just fits is whole */

    msg[255] = '\0';
    memset(msg, 'z', 255);
    snprintf(body, sizeof(body), "{\"message\":\"%s\"}", msg);
    t_answer(403, body, NULL);
    assert_string_equal(b.results[0].reason, msg);

    /* the "HTTP 500: " prefix counts too */

    p = msg;

    for (i = 0; i < 200; i++) {
        *p++ = '\xc3';
        *p++ = '\xa9';
    }

    *p = '\0';

    snprintf(body, sizeof(body), "{\"message\":\"%s\"}", msg);
    t_answer(500, body, NULL);

    /* 10 bytes of prefix and 122 whole "é" */

    len = strlen(b.results[0].reason);
    assert_int_equal(len, 254);
    assert_memory_equal(b.results[0].reason, "HTTP 500: \xc3\xa9", 12);
    assert_int_equal((u_char) b.results[0].reason[len - 1], 0xa9);

    s = json_string(b.results[0].reason);       /* NULL if not UTF-8 */
    valid = (s != NULL);
    json_decref(s);
    assert_true(valid);

    t_reset();
}


static void
test_path(void **state)
{
    char  buf[64];

    (void) state;

    assert_string_equal(ngx_http_crmsync_hs_upsert_path("v3", buf,
                                                        sizeof(buf)),
                        "/crm/v3/objects/contacts/batch/upsert");
    assert_ptr_equal(ngx_http_crmsync_hs_upsert_path("v3", buf,
                                                     sizeof(buf)),
                     buf);
    assert_string_equal(ngx_http_crmsync_hs_upsert_path("2026-03", buf,
                                                        sizeof(buf)),
                        "/crm/objects/2026-03/contacts/batch/upsert");
    assert_string_equal(ngx_http_crmsync_hs_upsert_path("2025-12", buf,
                                                        sizeof(buf)),
                        "/crm/objects/2025-12/contacts/batch/upsert");

    /* exactly fitting, one byte short */

    assert_non_null(ngx_http_crmsync_hs_upsert_path("v3", buf, 38));
    assert_null(ngx_http_crmsync_hs_upsert_path("v3", buf, 37));
    assert_non_null(ngx_http_crmsync_hs_upsert_path("2026-03", buf, 43));
    assert_null(ngx_http_crmsync_hs_upsert_path("2026-03", buf, 42));
    assert_null(ngx_http_crmsync_hs_upsert_path("v3", buf, 0));
    assert_null(ngx_http_crmsync_hs_upsert_path("v3", NULL, 64));

    /* not an api version */

    assert_null(ngx_http_crmsync_hs_upsert_path(NULL, buf, sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("", buf, sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("v4", buf, sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("V3", buf, sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("v3/", buf, sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("2026-13", buf,
                                                sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("2026-00", buf,
                                                sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("2026-3", buf, sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("2026-03x", buf,
                                                sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("2026/03", buf,
                                                sizeof(buf)));
    assert_null(ngx_http_crmsync_hs_upsert_path("../../x", buf,
                                                sizeof(buf)));
}


static void
test_full_batch(void **state)
{
    char    pay[T_MAX][48], ans[T_MAX * 80 + 64], *p;
    size_t  i;

    (void) state;

    t_reset();

    for (i = 0; i < T_MAX; i++) {
        snprintf(pay[i], sizeof(pay[i]), "{\"email\":\"u%zu@x.com\"}",
                 i % 60);
        b.payloads[i].data = (u_char *) pay[i];
        b.payloads[i].len = strlen(pay[i]);
    }

    b.n = T_MAX;
    b.body = ngx_http_crmsync_hs_upsert_body(b.payloads, b.n, b.input_of,
                                             &b.ninputs, b.results);
    assert_non_null(b.body);
    assert_int_equal(b.ninputs, 60);

    for (i = 0; i < T_MAX; i++) {
        assert_int_equal(b.input_of[i], i % 60);
    }

    for (i = 0; i < 60; i++) {
        b.emails[i].data = (u_char *) pay[i] + 10;
        b.emails[i].len = strlen(pay[i]) - 12;
    }

    /* answered in reverse */

    p = ans + sprintf(ans, "{\"status\":\"COMPLETE\",\"results\":[");

    for (i = 60; i-- > 0; ) {
        p += sprintf(p, "%s{\"id\":\"%zu\",\"properties\":{\"email\":"
                     "\"U%zu@X.COM\"}}", i == 59 ? "" : ",", 5000 + i, i);
    }

    sprintf(p, "]}");

    t_answer(200, ans, NULL);

    for (i = 0; i < T_MAX; i++) {
        char  id[16];

        t_outcome(i, NGX_HTTP_CRMSYNC_HS_DONE, NULL, NULL);
        snprintf(id, sizeof(id), "%zu", 5000 + i % 60);
        assert_string_equal(b.results[i].id, id);
    }

    t_reset();
}


/* an allocator for jansson that fails after t_budget allocations */

static long  t_budget = -1;


static void *
t_malloc(size_t size)
{
    if (t_budget == 0) {
        return NULL;
    }

    if (t_budget > 0) {
        t_budget--;
    }

    return malloc(size);
}


static void
test_no_memory(void **state)
{
    int     built, failed;
    char   *ref;
    long    budget;
    size_t  i;

    static const char  *pay[] = {
        "{\"email\":\"a@x.com\",\"firstname\":\"Ann\"}",
        "{\"email\":\"\"}",
        "{\"email\":\"b@x.com\",\"phone\":\"+1\"}",
        "{\"email\":\"a@x.com\",\"lastname\":\"Lee\"}",
        "{\"email\":\"c@x.com\"}",
    };

    (void) state;

    t_build(pay[0], pay[1], pay[2], pay[3], pay[4], NULL);
    ref = strdup(b.body);
    assert_non_null(ref);

    json_set_alloc_funcs(t_malloc, free);

    built = 0;
    failed = 0;

    for (budget = 0; budget < 400 && !built; budget++) {
        t_reset();

        for (i = 0; i < 5; i++) {
            b.payloads[i].data = (u_char *) pay[i];
            b.payloads[i].len = strlen(pay[i]);
            b.input_of[i] = 1;

            /* the caller's results hold anything: DEAD, say */
            memset(&b.results[i], 0, sizeof(b.results[i]));
            b.results[i].outcome = NGX_HTTP_CRMSYNC_HS_DEAD;
        }

        b.n = 5;
        t_budget = budget;

        b.body = ngx_http_crmsync_hs_upsert_body(b.payloads, b.n,
                                                 b.input_of, &b.ninputs,
                                                 b.results);
        t_budget = -1;

        if (b.body) {
            assert_string_equal(b.body, ref);
            assert_int_equal(b.ninputs, 3);
            built = 1;
            break;
        }

        failed++;

        assert_int_equal(b.ninputs, 0);

        for (i = 0; i < 5; i++) {
            assert_int_equal(b.input_of[i], T_NONE);

            if (i == 1 && b.results[i].outcome == NGX_HTTP_CRMSYNC_HS_DEAD) {
                assert_string_equal(b.results[i].reason, "bad_payload");
                continue;
            }

            t_outcome(i, NGX_HTTP_CRMSYNC_HS_RETRY, "no memory", "");
        }
    }

    assert_true(built);
    assert_true(failed > 10);

    /* the reader: either the right answer or an unreadable one */

    t_build(pay[0], pay[1], pay[2], pay[3], pay[4], NULL);

    for (budget = 0; budget < 100; budget++) {
        t_budget = budget;
        t_answer(200, "{\"status\":\"COMPLETE\",\"results\":["
                      "{\"id\":\"1\",\"properties\":{\"email\":"
                      "\"a@x.com\"}},{\"id\":\"2\",\"properties\":"
                      "{\"email\":\"b@x.com\"}},{\"id\":\"3\","
                      "\"properties\":{\"email\":\"c@x.com\"}}]}",
                 NULL);
        t_budget = -1;

        if (b.results[0].outcome == NGX_HTTP_CRMSYNC_HS_RETRY) {
            t_all(NGX_HTTP_CRMSYNC_HS_RETRY, "unreadable answer", "");
            continue;
        }

        t_all(NGX_HTTP_CRMSYNC_HS_DONE, NULL, NULL);
        assert_string_equal(b.results[4].id, "3");
        break;
    }

    assert_true(budget > 0 && budget < 100);

    json_set_alloc_funcs(malloc, free);
    free(ref);
    t_reset();
}


int
main(void)
{
    int                       rc;
    const struct CMUnitTest   tests[] = {
        cmocka_unit_test(test_coalesce),
        cmocka_unit_test(test_body_shape),
        cmocka_unit_test(test_bad_payloads),
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_multi_status),
        cmocka_unit_test(test_pending),
        cmocka_unit_test(test_refused_batch),
        cmocka_unit_test(test_auth_and_forbidden),
        cmocka_unit_test(test_pace),
        cmocka_unit_test(test_server_and_transport),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_path),
        cmocka_unit_test(test_full_batch),
        cmocka_unit_test(test_no_memory),
    };

    rc = cmocka_run_group_tests(tests, NULL, NULL);

    t_reset();

    return rc;
}

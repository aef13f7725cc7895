
/*
 * Copyright (C) crmsync authors
 *
 * Unit tests: deal pipelines, owners and the lifecycle order.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_crmsync_deal.h"


#define T_ANSWER(s)  (const u_char *) (s), strlen(s)


/* HubSpot's default pipeline (stages out of order, as an answer may
   list them), an archived pipeline, and a second one */
static const char  *t_pipelines =
    "{\"results\":["
    "{\"id\":\"default\",\"label\":\"Sales Pipeline\",\"displayOrder\":0,"
    "\"archived\":false,\"stages\":["
    "{\"id\":\"qualifiedtobuy\",\"label\":\"Qualified To Buy\","
    "\"displayOrder\":1,\"metadata\":{\"probability\":\"0.4\","
    "\"isClosed\":\"false\"},\"archived\":false},"
    "{\"id\":\"appointmentscheduled\",\"label\":\"Appointment Scheduled\","
    "\"displayOrder\":0,\"metadata\":{\"probability\":\"0.2\","
    "\"isClosed\":\"false\"},\"archived\":false},"
    "{\"id\":\"closedwon\",\"label\":\"Closed Won\",\"displayOrder\":5,"
    "\"metadata\":{\"probability\":\"1.0\",\"isClosed\":\"true\"}},"
    "{\"id\":\"closedlost\",\"label\":\"Closed Lost\",\"displayOrder\":6,"
    "\"metadata\":{\"probability\":\"0.0\",\"isClosed\":\"true\"}},"
    "{\"id\":\"old\",\"label\":\"Old stage\",\"displayOrder\":2,"
    "\"archived\":true,\"metadata\":{}}]},"
    "{\"id\":\"gone\",\"label\":\"Gone\",\"archived\":true,\"stages\":[]},"
    "{\"id\":\"7788\",\"label\":\"WhatsApp leads\",\"displayOrder\":1,"
    "\"stages\":[{\"id\":\"1001\",\"label\":\"New\",\"displayOrder\":0},"
    "{\"id\":\"1002\",\"label\":\"Qualified\",\"displayOrder\":1},"
    "{\"id\":\"1003\",\"label\":\"Won\",\"displayOrder\":2,"
    "\"metadata\":{\"isClosed\":true}}]}]}";


static void
test_pipelines_parse(void **state)
{
    ngx_http_crmsync_pipeline_t   *pl;
    ngx_http_crmsync_pipelines_t  *p;

    (void) state;

    p = ngx_http_crmsync_pipelines_parse(T_ANSWER(t_pipelines));
    assert_non_null(p);
    assert_int_equal(p->refs, 1);

    /* the archived pipeline is left out */
    assert_int_equal(p->n, 2);
    assert_string_equal(p->list[0].id, "default");
    assert_string_equal(p->list[1].id, "7788");

    /* stages in displayOrder, without the archived one */
    pl = &p->list[0];
    assert_int_equal(pl->nstages, 4);
    assert_string_equal(pl->stages[0].id, "appointmentscheduled");
    assert_string_equal(pl->stages[1].id, "qualifiedtobuy");
    assert_string_equal(pl->stages[2].id, "closedwon");
    assert_false(pl->stages[0].closed);
    assert_false(pl->stages[1].closed);
    assert_true(pl->stages[2].closed);
    assert_true(pl->stages[3].closed);

    /* isClosed as a JSON boolean too; absent: open */
    pl = &p->list[1];
    assert_false(pl->stages[0].closed);
    assert_true(pl->stages[2].closed);

    ngx_http_crmsync_pipelines_free(p);
}


static void
test_pipelines_find(void **state)
{
    ngx_http_crmsync_stage_t      *st;
    ngx_http_crmsync_pipeline_t   *pl;
    ngx_http_crmsync_pipelines_t  *p;

    (void) state;

    p = ngx_http_crmsync_pipelines_parse(T_ANSWER(t_pipelines));
    assert_non_null(p);

    /* by id, by label, by label in another case */
    assert_ptr_equal(ngx_http_crmsync_pipeline_find(p, "default"),
                     &p->list[0]);
    assert_ptr_equal(ngx_http_crmsync_pipeline_find(p, "Sales Pipeline"),
                     &p->list[0]);
    assert_ptr_equal(ngx_http_crmsync_pipeline_find(p, "whatsapp LEADS"),
                     &p->list[1]);
    assert_ptr_equal(ngx_http_crmsync_pipeline_find(p, "7788"),
                     &p->list[1]);
    assert_null(ngx_http_crmsync_pipeline_find(p, "Gone"));
    assert_null(ngx_http_crmsync_pipeline_find(p, "Sales"));

    pl = &p->list[0];
    st = ngx_http_crmsync_stage_find(pl, "Qualified to buy");
    assert_non_null(st);
    assert_string_equal(st->id, "qualifiedtobuy");
    assert_ptr_equal(ngx_http_crmsync_stage_find(pl, "closedwon"),
                     ngx_http_crmsync_stage_by_id(pl, "closedwon"));
    assert_null(ngx_http_crmsync_stage_by_id(pl, "Closed Won"));
    assert_null(ngx_http_crmsync_stage_find(pl, "old"));
    assert_null(ngx_http_crmsync_stage_find(pl, "1002"));

    /* a stage id wins over another stage's label */
    pl = &p->list[1];
    assert_string_equal(ngx_http_crmsync_stage_find(pl, "Qualified")->id,
                        "1002");

    ngx_http_crmsync_pipelines_free(p);
}


static void
test_pipelines_names(void **state)
{
    char                           buf[256], small[40];
    ngx_http_crmsync_pipelines_t  *p;

    (void) state;

    p = ngx_http_crmsync_pipelines_parse(T_ANSWER(t_pipelines));
    assert_non_null(p);

    assert_string_equal(ngx_http_crmsync_pipelines_names(p, buf,
                                                         sizeof(buf)),
                        "\"Sales Pipeline\" (default), "
                        "\"WhatsApp leads\" (7788)");

    assert_string_equal(ngx_http_crmsync_stages_names(&p->list[1], buf,
                                                      sizeof(buf)),
                        "\"New\" (1001), \"Qualified\" (1002), "
                        "\"Won\" (1003)");

    /* too long: shortened, never cut in a name */
    assert_string_equal(ngx_http_crmsync_stages_names(&p->list[1], small,
                                                      sizeof(small)),
                        "\"New\" (1001), \"Qualified\" (1002), ...");
    assert_true(strlen(small) < sizeof(small));

    assert_string_equal(ngx_http_crmsync_pipelines_names(p, small, 10),
                        "...");

    ngx_http_crmsync_pipelines_free(p);
}


static void
test_pipelines_garbage(void **state)
{
    size_t       i;
    const char  *bad[] = {
        "", "[]", "{}", "{\"results\":{}}", "{\"results\":[1]}",
        "{\"results\":[{\"label\":\"x\",\"stages\":[]}]}",
        "{\"results\":[{\"id\":\"p\",\"label\":\"x\"}]}",
        "{\"results\":[{\"id\":\"p\",\"stages\":[{\"label\":\"s\"}]}]}",
        "{\"results\":[{\"id\":\"p\",\"stages\":[\"s\"]}]}",
        "{\"results\":[{\"id\":\"\",\"stages\":[]}]}",
        "{\"results\":[{\"id\":\"p\",\"stages\":[]}",
    };

    (void) state;

    assert_null(ngx_http_crmsync_pipelines_parse(NULL, 0));

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(ngx_http_crmsync_pipelines_parse(T_ANSWER(bad[i])));
    }
}


static void
test_pipelines_numbers(void **state)
{
    ngx_http_crmsync_pipelines_t  *p;

    (void) state;

    /* ids as numbers, no label: the id stands for it; no results */
    p = ngx_http_crmsync_pipelines_parse(T_ANSWER(
            "{\"results\":[{\"id\":42,\"stages\":[{\"id\":7,"
            "\"displayOrder\":\"3\"}]}]}"));
    assert_non_null(p);
    assert_string_equal(p->list[0].id, "42");
    assert_string_equal(p->list[0].label, "42");
    assert_string_equal(p->list[0].stages[0].id, "7");
    assert_int_equal(p->list[0].stages[0].order, 3);
    ngx_http_crmsync_pipelines_free(p);

    p = ngx_http_crmsync_pipelines_parse(T_ANSWER("{\"results\":[]}"));
    assert_non_null(p);
    assert_int_equal(p->n, 0);
    assert_null(ngx_http_crmsync_pipeline_find(p, "default"));
    ngx_http_crmsync_pipelines_free(p);
}


static void
test_owners(void **state)
{
    char                       after[16];
    ngx_http_crmsync_owners_t  o;

    (void) state;

    memset(&o, 0, sizeof(o));

    assert_int_equal(ngx_http_crmsync_owners_add(&o, T_ANSWER(
        "{\"results\":["
        "{\"id\":\"41629779\",\"email\":\"Alice.Agent@Example.com\","
        "\"type\":\"PERSON\",\"archived\":false},"
        "{\"id\":\"41629790\",\"type\":\"QUEUE\"},"
        "{\"id\":\"41629781\",\"email\":\"carol@example.com\","
        "\"archived\":true}],"
        "\"paging\":{\"next\":{\"after\":\"41629790\","
        "\"link\":\"?after=41629790\"}}}"), after, sizeof(after)), 0);
    assert_string_equal(after, "41629790");
    assert_int_equal(o.n, 1);

    assert_int_equal(ngx_http_crmsync_owners_add(&o, T_ANSWER(
        "{\"results\":[{\"id\":41629800,\"email\":\"bo@acme.example\"}]}"),
        after, sizeof(after)), 0);
    assert_string_equal(after, "");
    assert_int_equal(o.n, 2);

    /* any case; archived owners and queues are no owners */
    assert_string_equal(ngx_http_crmsync_owners_find(&o,
                                                     "alice.agent@example.com"),
                        "41629779");
    assert_string_equal(ngx_http_crmsync_owners_find(&o,
                                                     "ALICE.AGENT@example.COM"),
                        "41629779");
    assert_string_equal(ngx_http_crmsync_owners_find(&o, "bo@acme.example"),
                        "41629800");
    assert_null(ngx_http_crmsync_owners_find(&o, "carol@example.com"));
    assert_null(ngx_http_crmsync_owners_find(&o, ""));
    assert_null(ngx_http_crmsync_owners_find(&o, NULL));
    assert_string_equal(o.list[0].email, "alice.agent@example.com");

    /* not an answer, or an after too long: an error, o as it was */
    assert_int_equal(ngx_http_crmsync_owners_add(&o, T_ANSWER("{}"), after,
                                                 sizeof(after)), -1);
    assert_int_equal(ngx_http_crmsync_owners_add(&o, T_ANSWER("nope"), after,
                                                 sizeof(after)), -1);
    assert_int_equal(ngx_http_crmsync_owners_add(&o, T_ANSWER(
        "{\"results\":[],\"paging\":{\"next\":{\"after\":"
        "\"12345678901234567890\"}}}"), after, sizeof(after)), -1);
    assert_int_equal(o.n, 2);

    ngx_http_crmsync_owners_clear(&o);
    assert_int_equal(o.n, 0);
    assert_null(o.list);
    assert_null(ngx_http_crmsync_owners_find(&o, "bo@acme.example"));
}


static void
test_lifecycle(void **state)
{
    (void) state;

    /* forward only */
    assert_true(ngx_http_crmsync_lifecycle_forward("lead",
                                                   "marketingqualifiedlead"));
    assert_true(ngx_http_crmsync_lifecycle_forward("subscriber",
                                                   "evangelist"));
    assert_false(ngx_http_crmsync_lifecycle_forward("customer",
                                                    "marketingqualifiedlead"));
    assert_false(ngx_http_crmsync_lifecycle_forward("lead", "lead"));

    /* where there is none, anything */
    assert_true(ngx_http_crmsync_lifecycle_forward(NULL, "lead"));
    assert_true(ngx_http_crmsync_lifecycle_forward("", "other"));
    assert_true(ngx_http_crmsync_lifecycle_forward("", "12345678"));

    /* other and custom stages never over a stage */
    assert_false(ngx_http_crmsync_lifecycle_forward("lead", "other"));
    assert_false(ngx_http_crmsync_lifecycle_forward("other", "customer"));
    assert_false(ngx_http_crmsync_lifecycle_forward("12345678", "customer"));

    /* nothing to write */
    assert_false(ngx_http_crmsync_lifecycle_forward("lead", ""));
    assert_false(ngx_http_crmsync_lifecycle_forward(NULL, NULL));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_pipelines_parse),
        cmocka_unit_test(test_pipelines_find),
        cmocka_unit_test(test_pipelines_names),
        cmocka_unit_test(test_pipelines_garbage),
        cmocka_unit_test(test_pipelines_numbers),
        cmocka_unit_test(test_owners),
        cmocka_unit_test(test_lifecycle),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

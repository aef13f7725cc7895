
/*
 * Copyright (C) crmsync authors
 *
 * Unit tests: the contact-matching planner.  Each case is a batch of job
 * payloads, what the identity map knows, and HubSpot's answers as the
 * sandbox gives them (util/sandbox/HubSpotSandbox/Store.pm); the plan is
 * driven as sync.c drives it, and the calls it made, the jobs' outcomes,
 * what the map learns and the log are checked.  JSON in the tables is
 * written with ' for " (no test value holds a ').
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "ngx_http_crmsync_phone.h"
#include "ngx_http_crmsync_match.h"


#define T_JOBS     8
#define T_ANSWERS  12
#define T_CHECKS   8


/* an answer to the first call whose path ends with "path" and whose body
   holds "has" */
typedef struct {
    const char                 *path;
    const char                 *has;
    int                         status;
    const char                 *body;
    const char                 *transport;
} t_answer_t;


typedef struct {
    const char                 *name;
    const char                 *api;            /* NULL: "2026-03" */
    const char                 *ready;          /* kinds with idprop_ready,
                                                   " "-separated */
    const char                 *payloads[T_JOBS];
    const char                 *known[T_JOBS];  /* "kind:value=contact" */
    t_answer_t                  answers[T_ANSWERS];
    const char                 *results[T_JOBS];  /* prefixes of
                                                     "OUTCOME id[ new]|
                                                     reason" */
    int                         ncalls;         /* -1: not checked */
    const char                 *must[T_CHECKS];     /* in the transcript */
    const char                 *mustnot[T_CHECKS];
    const char                 *maps;           /* "kind:value=contact ..."
                                                   NULL: not checked */
    const char                 *remaps;         /* "from>to ..." */
    const char                 *log;            /* NULL: no log line */
    int                         pace;
} t_case_t;


/* the sandbox's shapes */

#define T_C(id, created, props)                                              \
    "{'id':'" id "','properties':{'createdate':'" created "',"               \
    "'hs_object_id':'" id "','lastmodifieddate':'" created "'" props "},"   \
    "'createdAt':'" created "','updatedAt':'" created "','archived':false}"

#define T_NEWC(id, props)                                                    \
    "{'id':'" id "','properties':{'createdate':'2026-12-07T00:00:00.000Z',"  \
    "'hs_object_id':'" id "'" props "},'createdAt':"                         \
    "'2026-12-07T00:00:00.000Z','updatedAt':'2026-12-07T00:00:00.000Z',"     \
    "'archived':false,'new':true}"

#define T_OK(results)                                                        \
    "{'status':'COMPLETE','results':[" results "],"                          \
    "'startedAt':'2026-12-07T00:00:00.000Z',"                                \
    "'completedAt':'2026-12-07T00:00:00.010Z'}"

#define T_MISSING(results, ids)                                              \
    "{'status':'COMPLETE','results':[" results "],'numErrors':1,"            \
    "'errors':[{'status':'error','category':'OBJECT_NOT_FOUND',"             \
    "'message':'Could not get some CONTACT objects, they may be deleted "    \
    "or not exist. Check that ids are valid.','context':{'ids':[" ids "]}}],"\
    "'startedAt':'2026-12-07T00:00:00.000Z',"                                \
    "'completedAt':'2026-12-07T00:00:00.010Z'}"

#define T_SEARCH(total, results)                                             \
    "{'total':" total ",'results':[" results "]}"

#define T_NONE_FOUND  "{'total':0,'results':[]}"

#define T_P(ids, rest)                                                       \
    "{'v':2,'ids':{" ids "}" rest "}"

#define T_WA  ",'match':['phone','whatsapp_id','email'],'create':"           \
              "'identified','lifecycle':'lead'"

#define T_DE  "'phone':'+491512345678'"

#define T_READ   "contacts/batch/read"
#define T_SRCH   "contacts/search"
#define T_UPD    "contacts/batch/update"
#define T_UPS    "contacts/batch/upsert"
#define T_CRE    "contacts/batch/create"


static const t_case_t  cases[] = {

    { "new_whatsapp_number_is_created", NULL, NULL,
      { T_P(T_DE ",'whatsapp_id':'491512345678'", T_WA
            ",'props':{'firstname':'Ana'},'if_empty':['firstname']") },
      { NULL },
      { { T_SRCH, NULL, 200, T_NONE_FOUND, NULL },
        { T_CRE, NULL, 201,
          T_OK("{'id':'501','properties':{'firstname':'Ana','phone':"
               "'+491512345678','lifecyclestage':'lead'}}"), NULL } },
      { "DONE 501 new|" },
      2,
      { "POST /crm/objects/2026-03/contacts/search {'filterGroups':[{"
        "'filters':[{'propertyName':'hs_searchable_calculated_phone_number',"
        "'operator':'IN','values':['1512345678']}]},{'filters':[{"
        "'propertyName':'hs_searchable_calculated_mobile_number',"
        "'operator':'IN','values':['1512345678']}]}],'sorts':[{"
        "'propertyName':'createdate','direction':'ASCENDING'}],",
        "'limit':200}",
        "POST /crm/objects/2026-03/contacts/batch/create {'inputs':[{"
        "'properties':{'firstname':'Ana','phone':'+491512345678',"
        "'lifecyclestage':'lead'},'objectWriteTraceId':'crmsync-0'}]}" },
      { "idProperty", "batch/read" },
      "phone:+491512345678=501 whatsapp_id:491512345678=501",
      "", NULL, 0 },

    { "same_number_known_to_the_map_is_unchanged", NULL, NULL,
      { T_P(T_DE ",'whatsapp_id':'491512345678'", T_WA
            ",'props':{'firstname':'Ana'},'if_empty':['firstname']") },
      { "phone:+491512345678=1001" },
      { { T_READ, NULL, 200,
          T_OK(T_C("1001", "2026-01-01T10:00:00.000Z",
                   ",'phone':'+491512345678','firstname':'Ana',"
                   "'lifecyclestage':'lead'")), NULL } },
      { "DONE 1001|unchanged" },
      1,
      { "POST /crm/objects/2026-03/contacts/batch/read {'properties':["
        "'email','phone','mobilephone','firstname','lastname',"
        "'lifecyclestage','createdate','hs_merged_object_ids','country',"
        "'hs_country_region_code'],'inputs':[{'id':'1001'}]}" },
      { "search", "update", "idProperty" },
      "phone:+491512345678=1001 whatsapp_id:491512345678=1001",
      "", NULL, 0 },

    { "email_given_later_is_added", NULL, NULL,
      { T_P(T_DE ",'email':'ana@example.com'", T_WA) },
      { "phone:+491512345678=1001" },
      { { T_READ, NULL, 200,
          T_OK(T_C("1001", "2026-01-01T10:00:00.000Z",
                   ",'phone':'+491512345678','email':null,"
                   "'lifecyclestage':'lead'")), NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("1001", "2026-01-01T10:00:00.000Z",
                   ",'email':'ana@example.com'")), NULL } },
      { "DONE 1001|" },
      2,
      { "POST /crm/objects/2026-03/contacts/batch/update {'inputs':[{'id':"
        "'1001','properties':{'email':'ana@example.com'}}]}" },
      { "'idProperty':'email'", "search" },
      "phone:+491512345678=1001 email:ana@example.com=1001",
      "", NULL, 0 },

    { "national_format_with_country_is_the_same_number", NULL, NULL,
      { T_P(T_DE, T_WA ",'props':{'lastname':'Diaz'}") },
      { NULL },
      { { T_SRCH, NULL, 200,
          T_SEARCH("3", T_C("2001", "2025-01-01T00:00:00.000Z",
                            ",'phone':'+4915199999999'") ","
                        T_C("2000", "2024-01-01T00:00:00.000Z",
                            ",'phone':'0151 2345678','country':'AT'") ","
                        T_C("2002", "2025-06-01T00:00:00.000Z",
                            ",'phone':'(0151) 2345-678','country':'DE',"
                            "'lifecyclestage':'lead'")),
          NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("2002", "2025-06-01T00:00:00.000Z", "")), NULL } },
      { "DONE 2002|" },
      2,
      { "{'inputs':[{'id':'2002','properties':{'lastname':'Diaz'}}]}" },
      { "'phone':'+491512345678'}", "2001", "2000" },
      "phone:+491512345678=2002", "", NULL, 0 },

    { "several_contacts_the_oldest_wins", NULL, NULL,
      { T_P(T_DE, T_WA ",'props':{'lastname':'Diaz'}") },
      { NULL },
      { { T_SRCH, NULL, 200,
          T_SEARCH("3", T_C("3003", "1767225600000",
                            ",'mobilephone':'+491512345678'") ","
                        T_C("3001", "2026-02-01T00:00:00.000Z",
                            ",'phone':'+49 151 2345678'") ","
                        T_C("3002", "2025-12-31T23:00:00.000+01:00",
                            ",'phone':'01512345678','country':'DE',"
                            "'lifecyclestage':'lead'")),
          NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("3002", "2025-12-31T22:00:00.000Z", "")), NULL } },
      { "DONE 3002|" },
      2,
      { "{'inputs':[{'id':'3002','properties':{'lastname':'Diaz'}}]}" },
      { NULL },
      "phone:+491512345678=3002", "",
      "crmsync: 3 contacts match phone +49151*****78: 3002 chosen "
      "(oldest), left 3003 3001", 0 },

    { "merged_contact_is_followed", NULL, NULL,
      { T_P(T_DE, T_WA ",'props':{'lastname':'Diaz'}") },
      { "phone:+491512345678=1001" },
      { { T_READ, NULL, 200,
          T_OK(T_C("4004", "2025-01-01T00:00:00.000Z",
                   ",'phone':'+491512345678','lastname':'Diaz',"
                   "'lifecyclestage':'customer',"
                   "'hs_merged_object_ids':'1001;2002'")), NULL } },
      { "DONE 4004|unchanged" },
      1,
      { "'inputs':[{'id':'1001'}]" },
      { "update", "search" },
      "phone:+491512345678=4004", "1001>4004", NULL, 0 },

    { "deleted_contact_is_forgotten_and_looked_up", NULL, NULL,
      { T_P("'email':'ana@example.com'",
            ",'match':['email'],'create':'identified'") },
      { "email:ana@example.com=1001" },
      { { T_READ, "'id':'1001'", 207, T_MISSING("", "'1001'"), NULL },
        { T_READ, "'idProperty':'email'", 207,
          T_MISSING("", "'ana@example.com'"), NULL },
        { T_UPS, NULL, 200,
          T_OK(T_NEWC("601", ",'email':'ana@example.com'")), NULL } },
      { "DONE 601 new|" },
      3,
      { "'inputs':[{'id':'ana@example.com'}],'idProperty':'email'}",
        "batch/upsert {'inputs':[{'idProperty':'email','id':"
        "'ana@example.com','properties':{'email':'ana@example.com'}}]}" },
      { NULL },
      "email:ana@example.com=601", "1001>", NULL, 0 },

    { "lifecycle_moves_forward_only", NULL, NULL,
      { T_P("'email':'a@example.com'",
            ",'match':['email'],'lifecycle':'lead'"),
        T_P("'email':'b@example.com'",
            ",'match':['email'],'lifecycle':'lead'"),
        T_P("'email':'c@example.com'",
            ",'match':['email'],'lifecycle':'lead'"),
        T_P("'email':'d@example.com'",
            ",'match':['email'],'lifecycle':'other'") },
      { NULL },
      { { T_READ, "'idProperty':'email'", 200,
          T_OK(T_C("11", "2025-01-01T00:00:00.000Z",
                   ",'email':'a@example.com','lifecyclestage':'subscriber'")
               "," T_C("12", "2025-01-01T00:00:00.000Z",
                   ",'email':'B@Example.com','lifecyclestage':'customer'")
               "," T_C("13", "2025-01-01T00:00:00.000Z",
                   ",'email':'c@example.com','lifecyclestage':'custom7'")
               "," T_C("14", "2025-01-01T00:00:00.000Z",
                   ",'email':'d@example.com','lifecyclestage':'lead'")),
          NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("11", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 11|", "DONE 12|unchanged", "DONE 13|unchanged",
        "DONE 14|unchanged" },
      2,
      { "batch/update {'inputs':[{'id':'11','properties':"
        "{'lifecyclestage':'lead'}}]}" },
      { NULL },
      NULL, "", NULL, 0 },

    { "if_empty_and_empty_values", NULL, NULL,
      { T_P("'email':'ana@example.com'",
            ",'match':['email'],'props':{'firstname':'Ana','lastname':'D',"
            "'last_chat_channel':'WhatsApp','city':''},"
            "'if_empty':['firstname','lastname']") },
      { NULL },
      { { T_READ, "'idProperty':'email'", 200,
          T_OK(T_C("21", "2025-01-01T00:00:00.000Z",
                   ",'email':'ana@example.com','firstname':'Anna',"
                   "'lastname':null,'last_chat_channel':'Email',"
                   "'city':'Berlin'")), NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("21", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 21|" },
      2,
      { "{'inputs':[{'id':'21','properties':{'lastname':'D',"
        "'last_chat_channel':'WhatsApp'}}]}",
        "'properties':['email','phone','mobilephone','firstname',"
        "'lastname','lifecyclestage','createdate','hs_merged_object_ids',"
        "'country','hs_country_region_code','last_chat_channel']" },
      { "Anna", "'city':" },
      NULL, "", NULL, 0 },

    { "jobs_of_one_person_coalesce_dry_run_apart", NULL, NULL,
      { T_P(T_DE, ",'match':['email','phone'],"
            "'props':{'firstname':'Ana','city':'Bonn'}"),
        T_P(T_DE ",'email':'ana@example.com'",
            ",'match':['phone'],'props':{'firstname':'','city':'Berlin'}"),
        T_P("'email':'ana@example.com'", ",'match':['email']"),
        T_P(T_DE, ",'match':['phone'],'dry_run':true,"
            "'props':{'firstname':'Dry'}"),
        T_P("'telegram_id':'77'", ",'match':['telegram_id']") },
      { NULL },
      { { T_READ, "'idProperty':'email'", 207,
          T_MISSING("", "'ana@example.com'"), NULL },
        { T_SRCH, NULL, 200, T_NONE_FOUND, NULL },
        { T_UPS, NULL, 200,
          T_OK(T_NEWC("701", ",'email':'ana@example.com'")), NULL } },
      { "DONE 701 new|", "DONE 701 new|", "DONE 701 new|",
        "DONE -|dry_run: would POST /crm/objects/2026-03/contacts/"
        "batch/create {'properties':{'firstname':'Dry','phone':"
        "'+491512345678'},'objectWriteTraceId':'crmsync-1'}",
        "DONE -|not_created: not identified" },
      3,
      { "batch/upsert {'inputs':[{'idProperty':'email','id':"
        "'ana@example.com','properties':{'firstname':'Ana','city':'Berlin',"
        "'email':'ana@example.com','phone':'+491512345678'}}]}" },
      { "Dry'}}", "batch/create" },
      "phone:+491512345678=701 email:ana@example.com=701",
      "", NULL, 0 },

    { "create_policies", NULL, NULL,
      { T_P("'telegram_id':'1'", ",'match':['telegram_id'],"
            "'create':'off','props':{'firstname':'A','lastname':'B'}"),
        T_P("'telegram_id':'2'", ",'match':['telegram_id'],"
            "'create':'with_email','props':{'firstname':'A',"
            "'lastname':'B'}"),
        T_P("'telegram_id':'3'", ",'match':['telegram_id'],"
            "'props':{'firstname':'A','lastname':'B'}"),
        T_P("'telegram_id':'4'", ",'match':['telegram_id'],"
            "'props':{'firstname':'A'}"),
        T_P("'telegram_id':'5'", ",'match':['telegram_id'],"
            "'create':'always'") },
      { NULL },
      { { T_CRE, NULL, 201,
          T_OK("{'id':'802','properties':{}},"
               "{'id':'801','properties':{'firstname':'A',"
               "'lastname':'B'}}"), NULL } },
      { "DONE -|not_created: crmsync_create off",
        "DONE -|not_created: no email",
        "DONE 801 new|", "DONE -|not_created: not identified",
        "DONE 802 new|" },
      1,
      { "{'inputs':[{'properties':{'firstname':'A','lastname':'B'},"
        "'objectWriteTraceId':'crmsync-2'},{'properties':{},"
        "'objectWriteTraceId':'crmsync-4'}]}" },
      { NULL },
      "telegram_id:3=801 telegram_id:5=802", "", NULL, 0 },

    { "unique_id_property_reads_and_upserts", NULL, "whatsapp_id",
      { T_P("'whatsapp_id':'491512345678'",
            ",'match':['whatsapp_id'],'create':'always',"
            "'idprops':{'whatsapp_id':'crmsync_wa'}"),
        T_P("'whatsapp_id':'5511912345678'",
            ",'match':['whatsapp_id'],'create':'always',"
            "'idprops':{'whatsapp_id':'crmsync_wa'}") },
      { NULL },
      { { T_READ, "'idProperty':'crmsync_wa'", 207,
          T_MISSING(T_C("31", "2025-01-01T00:00:00.000Z",
                        ",'crmsync_wa':'5511912345678'"),
                    "'491512345678'"), NULL },
        { T_UPS, NULL, 200,
          T_OK(T_NEWC("901", ",'crmsync_wa':'491512345678'")), NULL } },
      { "DONE 901 new|", "DONE 31|unchanged" },
      2,
      { "'inputs':[{'id':'491512345678'},{'id':'5511912345678'}],"
        "'idProperty':'crmsync_wa'}",
        "batch/upsert {'inputs':[{'idProperty':'crmsync_wa','id':"
        "'491512345678','properties':{'crmsync_wa':'491512345678'}}]}" },
      { "batch/create" },
      "whatsapp_id:491512345678=901 whatsapp_id:5511912345678=31",
      "", NULL, 0 },

    { "id_property_not_ready_is_not_used", "v3", NULL,
      { T_P("'whatsapp_id':'491512345678'",
            ",'match':['whatsapp_id'],'create':'always',"
            "'idprops':{'whatsapp_id':'crmsync_wa'}") },
      { NULL },
      { { T_CRE, NULL, 201, T_OK("{'id':'902','properties':{}}"), NULL } },
      { "DONE 902 new|" },
      1,
      { "POST /crm/v3/objects/contacts/batch/create {'inputs':[{"
        "'properties':{},'objectWriteTraceId':'crmsync-0'}]}" },
      { "crmsync_wa" },
      NULL, "", NULL, 0 },

    { "crm_id_from_the_platform_decides_first", NULL, NULL,
      { T_P("'crm_id':'1001','email':'ana@example.com'",
            ",'match':['crm_id','email'],'props':{'lastname':'Diaz'}") },
      { NULL },
      { { T_READ, NULL, 200,
          T_OK(T_C("1001", "2025-01-01T00:00:00.000Z",
                   ",'email':'other@example.com'")), NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("1001", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 1001|" },
      2,
      { "{'inputs':[{'id':'1001','properties':{'lastname':'Diaz'}}]}" },
      { "idProperty" },
      "crm_id:1001=1001 email:ana@example.com=1001", "", NULL, 0 },

    { "two_persons_one_contact_one_input", NULL, NULL,
      { T_P(T_DE, ",'match':['phone'],'props':{'city':'Bonn'}"),
        T_P("'email':'ana@example.com'",
            ",'match':['email'],'props':{'lastname':'Diaz'}") },
      { NULL },
      { { T_SRCH, NULL, 200,
          T_SEARCH("1", T_C("41", "2025-01-01T00:00:00.000Z",
                            ",'phone':'+491512345678'")), NULL },
        { T_READ, NULL, 200,
          T_OK(T_C("41", "2025-01-01T00:00:00.000Z",
                   ",'phone':'+491512345678',"
                   "'email':'ana@example.com'")), NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("41", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 41|", "DONE 41|" },
      3,
      { "{'inputs':[{'id':'41','properties':{'city':'Bonn',"
        "'lastname':'Diaz'}}]}" },
      { NULL },
      NULL, "", NULL, 0 },

    { "phone_added_as_mobile_when_phone_is_taken", NULL, NULL,
      { T_P(T_DE ",'email':'ana@example.com'", ",'match':['email']"),
        T_P("'phone':'+5511912345678','email':'bo@example.com'",
            ",'match':['email']"),
        T_P("'phone':'+491701234567','email':'cy@example.com'",
            ",'match':['email']") },
      { NULL },
      { { T_READ, NULL, 200,
          T_OK(T_C("51", "2025-01-01T00:00:00.000Z",
                   ",'email':'ana@example.com','phone':'+3312345678'")
               "," T_C("52", "2025-01-01T00:00:00.000Z",
                   ",'email':'bo@example.com','phone':'+33123456789',"
                   "'mobilephone':'(11) 91234-5678','country':'BR'")
               "," T_C("53", "2025-01-01T00:00:00.000Z",
                   ",'email':'cy@example.com','phone':'0170 1234567',"
                   "'country':'AT'")),
          NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("51", "2025-01-01T00:00:00.000Z", "") ","
               T_C("53", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 51|", "DONE 52|unchanged", "DONE 53|" },
      2,
      { "{'inputs':[{'id':'51','properties':{'mobilephone':"
        "'+491512345678'}},{'id':'53','properties':{'mobilephone':"
        "'+491701234567'}}]}" },
      { NULL },
      NULL, "", NULL, 0 },

    { "failed_read_holds_only_its_persons", NULL, NULL,
      { T_P("'email':'ana@example.com'", ",'match':['email']"),
        T_P(T_DE, ",'match':['phone']") },
      { NULL },
      { { T_READ, NULL, 503,
          "{'status':'error','message':'Service Unavailable'}", NULL },
        { T_SRCH, NULL, 200, T_NONE_FOUND, NULL },
        { T_CRE, NULL, 201,
          T_OK("{'id':'61','properties':{'phone':'+491512345678'}}"),
          NULL } },
      { "RETRY -|HTTP 503: Service Unavailable", "DONE 61 new|" },
      3,
      { NULL }, { "upsert" },
      "phone:+491512345678=61", "", NULL, 0 },

    { "read_401_is_auth_429_paces", NULL, NULL,
      { T_P("'email':'ana@example.com'", ",'match':['email']"),
        T_P(T_DE, ",'match':['phone']") },
      { NULL },
      { { T_READ, NULL, 401,
          "{'status':'error','message':'Authentication credentials not "
          "found.','category':'INVALID_AUTHENTICATION'}", NULL },
        { T_SRCH, NULL, 429,
          "{'status':'error','message':'You have reached your "
          "secondly limit.','category':'RATE_LIMITS','policyName':"
          "'SECONDLY'}", NULL } },
      { "AUTH -|", "RETRY -|HTTP 429" },
      2,
      { NULL }, { NULL },
      "", "", NULL, NGX_HTTP_CRMSYNC_HS_PACE_SECONDLY },

    { "create_without_answer_is_unconfirmed", NULL, NULL,
      { T_P("'telegram_id':'1'", ",'match':['telegram_id'],"
            "'create':'always'"),
        T_P("'email':'ana@example.com','telegram_id':'9'",
            ",'match':['telegram_id'],'create':'always'") },
      { NULL },
      { { T_CRE, NULL, 0, NULL, "timeout" },
        { T_UPS, NULL, 502, "{'message':'Bad Gateway'}", NULL } },
      { "RETRY -|unconfirmed_create: transport: timeout",
        "RETRY -|HTTP 502" },
      2,
      { NULL }, { NULL },
      "", "", NULL, 0 },

    { "create_conflict_is_retried_partial_is_read", NULL, NULL,
      { T_P("'telegram_id':'1'", ",'match':['telegram_id'],"
            "'create':'always','props':{'firstname':'One'}"),
        T_P("'telegram_id':'2'", ",'match':['telegram_id'],"
            "'create':'always','props':{'firstname':'Two'}"),
        T_P("'telegram_id':'3'", ",'match':['telegram_id'],"
            "'create':'always','props':{'firstname':'Three'}") },
      { NULL },
      { { T_CRE, NULL, 207,
          "{'status':'COMPLETE','results':[{'id':'73','properties':"
          "{'firstname':'Three'}},{'id':'71','properties':"
          "{'firstname':'One'}}],'numErrors':1,'errors':[{'status':"
          "'error','category':'VALIDATION_ERROR','message':'Property "
          "values were not valid','context':{'objectWriteTraceId':"
          "['crmsync-1']}}]}", NULL } },
      { "DONE 71 new|", "DEAD -|Property values were not valid",
        "DONE 73 new|" },
      1,
      { NULL }, { NULL },
      "telegram_id:1=71 telegram_id:3=73", "", NULL, 0 },

    { "create_409_existing_id_is_retried", NULL, NULL,
      { T_P("'telegram_id':'1'", ",'match':['telegram_id'],"
            "'create':'always'") },
      { NULL },
      { { T_CRE, NULL, 409,
          "{'status':'error','message':'Contact already exists. Existing "
          "ID: 77','category':'CONFLICT'}", NULL } },
      { "RETRY -|Contact already exists. Existing ID: 77" },
      1,
      { NULL }, { NULL },
      "", "", NULL, 0 },

    { "refused_update_batch_goes_solo", NULL, NULL,
      { T_P("'crm_id':'1'", ",'match':['crm_id'],"
            "'props':{'lastname':'X'}"),
        T_P("'crm_id':'2'", ",'match':['crm_id'],"
            "'props':{'lastname':'Y'}") },
      { NULL },
      { { T_READ, NULL, 200,
          T_OK(T_C("1", "2025-01-01T00:00:00.000Z", "") ","
               T_C("2", "2025-01-01T00:00:00.000Z", "")), NULL },
        { T_UPD, NULL, 400,
          "{'status':'error','message':'Property values were not valid',"
          "'category':'VALIDATION_ERROR'}", NULL } },
      { "SOLO -|", "SOLO -|" },
      2,
      { "{'inputs':[{'id':'1','properties':{'lastname':'X'}},{'id':'2',"
        "'properties':{'lastname':'Y'}}]}" },
      { NULL },
      "", "", NULL, 0 },

    { "bad_payloads_and_version_1", NULL, NULL,
      { "not json", "{'v':3,'ids':{}}", "{'v':2,'ids':{'email':5}}",
        "{'email':'ana@example.com','firstname':'Ana'}", "[1]",
        "{'email':'','firstname':'Ana'}", "{'v':2,'ids':[]}",
        "{'v':2,'ids':{},'props':['x']}" },
      { NULL },
      { { T_READ, NULL, 207, T_MISSING("", "'ana@example.com'"), NULL },
        { T_UPS, NULL, 200,
          T_OK(T_NEWC("81", ",'email':'ana@example.com'")), NULL } },
      { "DEAD -|bad_payload", "DEAD -|bad_payload", "DEAD -|bad_payload",
        "DONE 81 new|", "DEAD -|bad_payload", "DEAD -|bad_payload",
        "DEAD -|bad_payload", "DEAD -|bad_payload" },
      2,
      { "{'inputs':[{'idProperty':'email','id':'ana@example.com',"
        "'properties':{'firstname':'Ana','email':'ana@example.com'}}]}" },
      { NULL },
      "email:ana@example.com=81", "", NULL, 0 },

    { "dry_run_update_is_not_sent", NULL, NULL,
      { T_P("'crm_id':'1'", ",'match':['crm_id'],'dry_run':true,"
            "'props':{'lastname':'X'}"),
        T_P("'crm_id':'1'", ",'match':['crm_id'],"
            "'props':{'firstname':'Y'}") },
      { NULL },
      { { T_READ, NULL, 200,
          T_OK(T_C("1", "2025-01-01T00:00:00.000Z", "")), NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("1", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 1|dry_run: would POST /crm/objects/2026-03/contacts/"
        "batch/update {'id':'1','properties':{'lastname':'X'}}",
        "DONE 1|" },
      2,
      { "batch/update {'inputs':[{'id':'1','properties':"
        "{'firstname':'Y'}}]}" },
      { "'X'" },
      "crm_id:1=1", "", NULL, 0 },

    { "later_rule_decides_when_the_first_finds_nothing", NULL, NULL,
      { T_P(T_DE ",'email':'ana@example.com'",
            ",'match':['phone','email'],'props':{'lastname':'Diaz'}") },
      { NULL },
      { { T_SRCH, NULL, 200, T_NONE_FOUND, NULL },
        { T_READ, "'idProperty':'email'", 200,
          T_OK(T_C("91", "2025-01-01T00:00:00.000Z",
                   ",'email':'ana@example.com','phone':'+3312345678',"
                   "'mobilephone':'+3312345679'")), NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("91", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 91|" },
      3,
      { "{'inputs':[{'id':'91','properties':{'lastname':'Diaz'}}]}" },
      { NULL },
      "phone:+491512345678=91 email:ana@example.com=91", "", NULL, 0 },

    { "first_rule_with_a_contact_wins", NULL, NULL,
      { T_P(T_DE ",'email':'ana@example.com'",
            ",'match':['phone','email'],'props':{'lastname':'Diaz'}") },
      { NULL },
      { { T_SRCH, NULL, 200,
          T_SEARCH("1", T_C("92", "2025-06-01T00:00:00.000Z",
                            ",'phone':'+491512345678'")), NULL },
        { T_READ, "'idProperty':'email'", 200,
          T_OK(T_C("93", "2024-01-01T00:00:00.000Z",
                   ",'email':'ana@example.com'")), NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("92", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 92|" },
      3,
      { "{'inputs':[{'id':'92','properties':{'lastname':'Diaz'}}]}" },
      { NULL },
      NULL, "", NULL, 0 },

    { "a_read_is_fresher_than_the_search_index", NULL, NULL,
      { T_P("'email':'ana@example.com'",
            ",'match':['email'],'props':{'lastname':'Diaz'}"),
        T_P(T_DE, ",'match':['phone'],'props':{'city':'Bonn'}") },
      { NULL },
      { { T_READ, NULL, 200,
          T_OK(T_C("41", "2025-01-01T00:00:00.000Z",
                   ",'phone':'+491512345678','lastname':'Diaz',"
                   "'email':'ana@example.com'")), NULL },
        { T_SRCH, NULL, 200,
          T_SEARCH("1", T_C("41", "2025-01-01T00:00:00.000Z",
                            ",'phone':'+491512345678'")), NULL },
        { T_UPD, NULL, 200,
          T_OK(T_C("41", "2025-01-01T00:00:00.000Z", "")), NULL } },
      { "DONE 41|", "DONE 41|" },
      3,
      { "{'inputs':[{'id':'41','properties':{'city':'Bonn'}}]}" },
      { NULL },
      NULL, "", NULL, 0 },

    { "two_id_properties_for_one_kind_are_read_apart", NULL,
      "whatsapp_id",
      { T_P("'whatsapp_id':'491512345678'",
            ",'match':['whatsapp_id'],'create':'always',"
            "'idprops':{'whatsapp_id':'wa_one'}"),
        T_P("'whatsapp_id':'5511912345678'",
            ",'match':['whatsapp_id'],'create':'always',"
            "'idprops':{'whatsapp_id':'wa_two'}") },
      { NULL },
      { { T_READ, "'idProperty':'wa_one'", 207,
          T_MISSING("", "'491512345678'"), NULL },
        { T_READ, "'idProperty':'wa_two'", 207,
          T_MISSING("", "'5511912345678'"), NULL },
        { T_UPS, "wa_one", 200,
          T_OK(T_NEWC("95", ",'wa_one':'491512345678'")), NULL },
        { T_UPS, "wa_two", 200,
          T_OK(T_NEWC("96", ",'wa_two':'5511912345678'")), NULL } },
      { "DONE 95 new|", "DONE 96 new|" },
      4,
      { "'inputs':[{'id':'491512345678'}],'idProperty':'wa_one'}",
        "'inputs':[{'id':'5511912345678'}],'idProperty':'wa_two'}" },
      { NULL },
      NULL, "", NULL, 0 },

    { "created_results_in_order_when_values_differ", NULL, NULL,
      { T_P("'telegram_id':'1'", ",'match':['telegram_id'],"
            "'create':'always','props':{'firstname':'one'}"),
        T_P("'telegram_id':'2'", ",'match':['telegram_id'],"
            "'create':'always','props':{'firstname':'two'}") },
      { NULL },
      { { T_CRE, NULL, 201,
          T_OK("{'id':'97','properties':{'firstname':'One'}},"
               "{'id':'98','properties':{'firstname':'Two'}}"), NULL } },
      { "DONE 97 new|", "DONE 98 new|" },
      1,
      { NULL }, { NULL },
      "telegram_id:1=97 telegram_id:2=98", "", NULL, 0 },

    { "contact_deleted_before_its_update_is_retried", NULL, NULL,
      { T_P("'crm_id':'1'", ",'match':['crm_id'],"
            "'props':{'lastname':'X'}"),
        T_P("'crm_id':'2'", ",'match':['crm_id'],"
            "'props':{'lastname':'Y'}") },
      { NULL },
      { { T_READ, NULL, 200,
          T_OK(T_C("1", "2025-01-01T00:00:00.000Z", "") ","
               T_C("2", "2025-01-01T00:00:00.000Z", "")), NULL },
        { T_UPD, NULL, 207,
          T_MISSING(T_C("2", "2025-01-01T00:00:00.000Z",
                        ",'lastname':'Y'"), "'1'"), NULL } },
      { "RETRY -|Could not get some", "DONE 2|" },
      2,
      { NULL }, { NULL },
      "crm_id:2=2", "1>", NULL, 0 },

    { "create_answered_5xx_is_unconfirmed", NULL, NULL,
      { T_P("'telegram_id':'1'", ",'match':['telegram_id'],"
            "'create':'always'") },
      { NULL },
      { { T_CRE, NULL, 503, "{'message':'Service Unavailable'}", NULL } },
      { "RETRY -|unconfirmed_create: HTTP 503: Service Unavailable" },
      1,
      { NULL }, { NULL },
      "", "", NULL, 0 },
};


static char  transcript[65536];


/* ' -> " */

static char *
t_q(const char *s)
{
    char  *d, *p;

    d = strdup(s);
    assert_non_null(d);

    for (p = d; *p; p++) {
        if (*p == '\'') {
            *p = '"';
        }
    }

    return d;
}


static int
t_has(const char *hay, const char *needle)
{
    int    rc;
    char  *n;

    n = t_q(needle);
    rc = strstr(hay, n) != NULL;
    free(n);

    return rc;
}


static void
t_tokens(const char *expect, const char *actual)
{
    char        *e, *tok, *save;
    size_t       n, m;
    const char  *p;

    e = strdup(expect);
    assert_non_null(e);

    n = 0;

    for (tok = strtok_r(e, " ", &save); tok; tok = strtok_r(NULL, " ",
                                                            &save))
    {
        if (strstr(actual, tok) == NULL) {
            fail_msg("\"%s\" not in \"%s\"", tok, actual);
        }

        n++;
    }

    m = 0;

    for (p = actual; *p; p++) {
        m += (*p == ' ');
    }

    assert_int_equal(n, m);

    free(e);
}


static void
t_run(void **state)
{
    int                                  used[T_ANSWERS], rounds;
    char                                *payload[T_JOBS], *body, line[600];
    char                                 corr[64], list[4096], *eq;
    size_t                               n, i, k, nc, total, nids, len;
    const char                          *s, *names[] = { "DONE", "RETRY",
                                                         "SOLO", "DEAD",
                                                         "AUTH" };
    const t_case_t                      *tc;
    const t_answer_t                    *a = NULL;
    ngx_http_crmsync_plan_t             *plan;
    ngx_http_crmsync_str_t               payloads[T_JOBS];
    ngx_http_crmsync_hs_pace_e           pace;
    ngx_http_crmsync_plan_rc_e           rc;
    ngx_http_crmsync_plan_call_t        *calls;
    ngx_http_crmsync_plan_conf_t         conf;
    ngx_http_crmsync_hs_result_t         results[T_JOBS];
    const ngx_http_crmsync_plan_id_t    *ids;
    const ngx_http_crmsync_plan_map_t   *maps;
    const ngx_http_crmsync_plan_remap_t *remaps;

    tc = *state;

    memset(&conf, 0, sizeof(conf));
    conf.api = tc->api ? tc->api : "2026-03";

    for (k = 0; tc->ready && k < NGX_HTTP_CRMSYNC_ID_MAX; k++) {
        if (strstr(tc->ready, ngx_http_crmsync_id_kind_names[k])) {
            conf.idprop_ready[k] = 1;
        }
    }

    for (n = 0; n < T_JOBS && tc->payloads[n]; n++) {
        payload[n] = t_q(tc->payloads[n]);
        payloads[n].data = (u_char *) payload[n];
        payloads[n].len = strlen(payload[n]);
    }

    memset(results, 0x5a, sizeof(results));

    plan = ngx_http_crmsync_plan_create(&conf, payloads, n, results);
    assert_non_null(plan);

    nids = ngx_http_crmsync_plan_identities(plan, &ids);

    for (k = 0; k < T_JOBS && tc->known[k]; k++) {
        eq = strchr(tc->known[k], '=');
        s = strchr(tc->known[k], ':');

        for (i = 0; i < nids; i++) {
            len = strlen(ngx_http_crmsync_id_kind_names[ids[i].kind]);

            if ((size_t) (s - tc->known[k]) == len
                && memcmp(tc->known[k],
                          ngx_http_crmsync_id_kind_names[ids[i].kind], len)
                   == 0
                && (size_t) (eq - s - 1) == ids[i].value.len
                && memcmp(s + 1, ids[i].value.data, ids[i].value.len) == 0)
            {
                ngx_http_crmsync_plan_known(plan, i, eq + 1);
                break;
            }
        }

        if (i == nids) {
            fail_msg("identity %s is not listed", tc->known[k]);
        }
    }

    memset(used, 0, sizeof(used));
    transcript[0] = '\0';
    pace = NGX_HTTP_CRMSYNC_HS_PACE_NONE;
    total = 0;
    rounds = 0;

    while ((rc = ngx_http_crmsync_plan_next(plan, &calls, &nc))
           == NGX_HTTP_CRMSYNC_PLAN_CALLS)
    {
        assert_true(nc > 0);
        assert_true(++rounds < 5);

        for (i = 0; i < nc; i++) {
            assert_string_equal(calls[i].method, "POST");
            assert_int_equal(strlen(calls[i].body), calls[i].body_len);
            assert_int_equal(calls[i].search,
                             strstr(calls[i].path, "/search") != NULL);
            assert_int_equal(calls[i].write,
                             strstr(calls[i].path, "/batch/read") == NULL
                             && !calls[i].search);

            snprintf(line, sizeof(line), "POST %s ", calls[i].path);
            strncat(transcript, line,
                    sizeof(transcript) - strlen(transcript) - 1);
            strncat(transcript, calls[i].body,
                    sizeof(transcript) - strlen(transcript) - 1);
            strncat(transcript, "\n",
                    sizeof(transcript) - strlen(transcript) - 1);
            total++;

            for (k = 0; k < T_ANSWERS && tc->answers[k].path; k++) {
                a = &tc->answers[k];
                len = strlen(calls[i].path);

                if (!used[k]
                    && len >= strlen(a->path)
                    && strcmp(calls[i].path + len - strlen(a->path), a->path)
                       == 0
                    && (a->has == NULL || t_has(calls[i].body, a->has)))
                {
                    break;
                }
            }

            if (k == T_ANSWERS || tc->answers[k].path == NULL) {
                fail_msg("no answer for POST %s %s", calls[i].path,
                         calls[i].body);
            }

            used[k] = 1;
            body = a->body ? t_q(a->body) : NULL;

            ngx_http_crmsync_plan_answer(plan, i, a->status,
                                         (u_char *) body,
                                         body ? strlen(body) : 0,
                                         a->transport, &pace, corr,
                                         sizeof(corr));
            free(body);
        }
    }

    assert_int_equal(rc, NGX_HTTP_CRMSYNC_PLAN_DONE);

    /* the transcript */

    if (tc->ncalls >= 0 && (size_t) tc->ncalls != total) {
        fail_msg("%zu calls, not %d:\n%s", total, tc->ncalls, transcript);
    }

    for (k = 0; k < T_CHECKS && tc->must[k]; k++) {
        if (!t_has(transcript, tc->must[k])) {
            fail_msg("not sent: %s\nsent:\n%s", tc->must[k], transcript);
        }
    }

    for (k = 0; k < T_CHECKS && tc->mustnot[k]; k++) {
        if (t_has(transcript, tc->mustnot[k])) {
            fail_msg("sent: %s\nsent:\n%s", tc->mustnot[k], transcript);
        }
    }

    for (k = 0; k < T_ANSWERS && tc->answers[k].path; k++) {
        if (!used[k]) {
            fail_msg("answer %zu unused:\n%s", k, transcript);
        }
    }

    /* the outcomes */

    for (i = 0; i < n; i++) {
        assert_true(results[i].outcome <= NGX_HTTP_CRMSYNC_HS_AUTH);
        assert_non_null(memchr(results[i].reason, '\0',
                               sizeof(results[i].reason)));
        assert_non_null(memchr(results[i].id, '\0', sizeof(results[i].id)));

        snprintf(line, sizeof(line), "%s %s%s|%s",
                 names[results[i].outcome],
                 results[i].id[0] ? results[i].id : "-",
                 results[i].created ? " new" : "", results[i].reason);

        body = t_q(tc->results[i]);

        if (strncmp(line, body, strlen(body)) != 0) {
            fail_msg("job %zu: \"%s\", not \"%s\"", i, line, body);
        }

        free(body);
        free(payload[i]);
    }

    assert_int_equal(pace, tc->pace);

    if (tc->maps) {
        list[0] = '\0';
        nc = ngx_http_crmsync_plan_maps(plan, &maps);

        for (i = 0; i < nc; i++) {
            snprintf(line, sizeof(line), "%s:%.*s=%s ",
                     ngx_http_crmsync_id_kind_names[maps[i].kind],
                     (int) maps[i].value.len, maps[i].value.data,
                     maps[i].contact);
            strncat(list, line, sizeof(list) - strlen(list) - 1);
        }

        t_tokens(tc->maps, list);
    }

    list[0] = '\0';
    nc = ngx_http_crmsync_plan_remaps(plan, &remaps);

    for (i = 0; i < nc; i++) {
        snprintf(line, sizeof(line), "%s>%s ", remaps[i].from, remaps[i].to);
        strncat(list, line, sizeof(list) - strlen(list) - 1);
    }

    t_tokens(tc->remaps, list);

    s = ngx_http_crmsync_plan_log(plan);

    if (tc->log) {
        assert_string_equal(s, tc->log);
        assert_int_equal(s[strlen(s) + 1], '\0');

    } else {
        assert_string_equal(s, "");
    }

    /* a plan that is done stays done */

    assert_int_equal(ngx_http_crmsync_plan_next(plan, &calls, &nc),
                     NGX_HTTP_CRMSYNC_PLAN_DONE);
    assert_int_equal(nc, 0);

    ngx_http_crmsync_plan_free(plan);
}


static void
test_identities(void **state)
{
    size_t                             n, i;
    char                              *p[3];
    ngx_http_crmsync_plan_t           *plan;
    ngx_http_crmsync_str_t             payloads[3];
    ngx_http_crmsync_plan_conf_t       conf;
    ngx_http_crmsync_hs_result_t       results[3];
    const ngx_http_crmsync_plan_id_t  *ids;

    (void) state;

    p[0] = t_q(T_P(T_DE ",'phone_alt':'+49151234567',"
                   "'email':'Ana@Example.com','platform_id':'intercom:9'",
                   ",'match':['email']"));
    p[1] = t_q(T_P(T_DE ",'email':'ana@example.com'", ""));
    p[2] = t_q(T_P("'telegram_username':'ana'", ""));

    for (i = 0; i < 3; i++) {
        payloads[i].data = (u_char *) p[i];
        payloads[i].len = strlen(p[i]);
    }

    memset(&conf, 0, sizeof(conf));
    conf.api = "2026-03";

    plan = ngx_http_crmsync_plan_create(&conf, payloads, 3, results);
    assert_non_null(plan);

    n = ngx_http_crmsync_plan_identities(plan, &ids);
    assert_int_equal(n, 5);

    assert_int_equal(ids[0].kind, NGX_HTTP_CRMSYNC_ID_EMAIL);
    assert_string_equal((char *) ids[0].value.data, "ana@example.com");
    assert_int_equal(ids[1].kind, NGX_HTTP_CRMSYNC_ID_PHONE);
    assert_string_equal((char *) ids[1].value.data, "+491512345678");
    assert_int_equal(ids[2].kind, NGX_HTTP_CRMSYNC_ID_PHONE);
    assert_string_equal((char *) ids[2].value.data, "+49151234567");
    assert_int_equal(ids[3].kind, NGX_HTTP_CRMSYNC_ID_PLATFORM_ID);
    assert_int_equal(ids[4].kind, NGX_HTTP_CRMSYNC_ID_TELEGRAM_USERNAME);

    ngx_http_crmsync_plan_free(plan);

    for (i = 0; i < 3; i++) {
        free(p[i]);
    }
}


static void
test_kinds_and_masks(void **state)
{
    char  buf[64];

    (void) state;

    assert_int_equal(ngx_http_crmsync_id_kind((u_char *) "phone", 5),
                     NGX_HTTP_CRMSYNC_ID_PHONE);
    assert_int_equal(ngx_http_crmsync_id_kind((u_char *) "platform_id", 11),
                     NGX_HTTP_CRMSYNC_ID_PLATFORM_ID);
    assert_int_equal(ngx_http_crmsync_id_kind((u_char *) "phone_alt", 9),
                     NGX_HTTP_CRMSYNC_ID_MAX);
    assert_int_equal(ngx_http_crmsync_id_kind((u_char *) "phon", 4),
                     NGX_HTTP_CRMSYNC_ID_MAX);
    assert_string_equal(ngx_http_crmsync_create_names[
                            NGX_HTTP_CRMSYNC_CREATE_WITH_EMAIL],
                        "with_email");

    assert_string_equal(ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_PHONE,
                            (u_char *) "+491512345678", 13, buf,
                            sizeof(buf)),
                        "+49151*****78");
    assert_string_equal(ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_EMAIL,
                            (u_char *) "jane@example.com", 16, buf,
                            sizeof(buf)),
                        "j***@example.com");
    assert_string_equal(ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_TELEGRAM_ID,
                            (u_char *) "123456789", 9, buf, sizeof(buf)),
                        "12*****89");
    assert_string_equal(ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_TELEGRAM_ID,
                            (u_char *) "1234", 4, buf, sizeof(buf)),
                        "****");
    assert_string_equal(ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_EMAIL,
                            (u_char *) "@x", 2, buf, sizeof(buf)),
                        "**");

    /* never past size */

    assert_string_equal(ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_PHONE,
                            (u_char *) "+491512345678", 13, buf, 5),
                        "+491");
}


/* HubSpot's messages quote the values they refuse; logs mask them */

static void
test_mask_text(void **state)
{
    char  t[256];

    (void) state;

    strcpy(t, "Property values were not valid: \"ana.diaz@example.com\" "
              "is not a valid email; phone +49 151 2345-678, id 1001");
    assert_string_equal(ngx_http_crmsync_mask_text(t),
                        "Property values were not valid: \"a*******@"
                        "example.com\" is not a valid email; phone "
                        "+4* *** ****-*78, id 1001");

    strcpy(t, "Contact already exists. Existing ID: 12345678901");
    assert_string_equal(ngx_http_crmsync_mask_text(t),
                        "Contact already exists. Existing ID: 1********01");

    strcpy(t, "@ at the start, a@b, 123456 stays, 1234567 does not");
    assert_string_equal(ngx_http_crmsync_mask_text(t),
                        "@ at the start, a@b, 123456 stays, 1****67 does "
                        "not");

    strcpy(t, "");
    assert_string_equal(ngx_http_crmsync_mask_text(t), "");
    assert_null(ngx_http_crmsync_mask_text(NULL));
}


static void
test_phones(void **state)
{
    char  nat[32];

    (void) state;

    assert_true(ngx_http_crmsync_phone_same("+491512345678",
                    (u_char *) "(0151) 2345-678", 15, "DE"));
    assert_true(ngx_http_crmsync_phone_same("+491512345678",
                    (u_char *) "0151 2345678", 12, NULL));
    assert_true(ngx_http_crmsync_phone_same("+491512345678",
                    (u_char *) "+49 151 2345678", 15, "US"));
    assert_false(ngx_http_crmsync_phone_same("+491512345678",
                     (u_char *) "(0151) 2345-678", 15, "FR"));
    assert_false(ngx_http_crmsync_phone_same("+491512345678",
                     (u_char *) "+491512345679", 13, NULL));
    assert_false(ngx_http_crmsync_phone_same("+491512345678",
                     (u_char *) "n/a", 3, "DE"));
    assert_false(ngx_http_crmsync_phone_same("nope",
                     (u_char *) "+491512345678", 13, "DE"));

    assert_int_equal(ngx_http_crmsync_phone_national("+491512345678", nat,
                                                     sizeof(nat)), 0);
    assert_string_equal(nat, "1512345678");
    assert_int_equal(ngx_http_crmsync_phone_national("+14155550123", nat,
                                                     sizeof(nat)), 0);
    assert_string_equal(nat, "4155550123");
    assert_int_equal(ngx_http_crmsync_phone_national("+2348031234567", nat,
                                                     sizeof(nat)), 0);
    assert_string_equal(nat, "8031234567");
    assert_int_equal(ngx_http_crmsync_phone_national("+390612345678", nat,
                                                     sizeof(nat)), 0);
    assert_string_equal(nat, "612345678");
    assert_int_equal(ngx_http_crmsync_phone_national("491512345678", nat,
                                                     sizeof(nat)), -1);
    assert_int_equal(ngx_http_crmsync_phone_national("+49", nat,
                                                     sizeof(nat)), -1);
    assert_int_equal(ngx_http_crmsync_phone_national("+491512345678", nat,
                                                     5), -1);
}


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


/*
 * jansson runs out of memory at every point of a batch in turn: the plan
 * ends, in ERROR with every job to retry, or in DONE as with memory
 */

static void
test_no_memory(void **state)
{
    int                            done, failed;
    char                          *p[4], *answer, corr[40];
    long                           budget;
    size_t                         i, n, nc;
    ngx_http_crmsync_plan_t       *plan;
    ngx_http_crmsync_str_t         payloads[4];
    ngx_http_crmsync_hs_pace_e     pace;
    ngx_http_crmsync_plan_rc_e     rc;
    ngx_http_crmsync_plan_call_t  *calls;
    ngx_http_crmsync_plan_conf_t   conf;
    ngx_http_crmsync_hs_result_t   results[4];

    (void) state;

    p[0] = t_q(T_P(T_DE ",'email':'ana@example.com'",
                   ",'match':['phone','email'],'props':{'lastname':'D'}"));
    p[1] = t_q(T_P("'telegram_id':'7'", ",'match':['telegram_id'],"
                   "'create':'always','props':{'firstname':'T'}"));
    p[2] = t_q(T_P("'crm_id':'5'", ",'match':['crm_id'],"
                   "'props':{'city':'Bonn'}"));
    p[3] = t_q("not json");
    n = 4;

    for (i = 0; i < n; i++) {
        payloads[i].data = (u_char *) p[i];
        payloads[i].len = strlen(p[i]);
    }

    memset(&conf, 0, sizeof(conf));
    conf.api = "2026-03";

    json_set_alloc_funcs(t_malloc, free);

    pace = NGX_HTTP_CRMSYNC_HS_PACE_NONE;
    done = 0;
    failed = 0;

    for (budget = 0; budget < 3000 && !done; budget++) {
        t_budget = budget;

        plan = ngx_http_crmsync_plan_create(&conf, payloads, n, results);

        if (plan == NULL) {
            t_budget = -1;
            failed++;

            for (i = 0; i < n; i++) {
                assert_int_equal(results[i].outcome,
                                 NGX_HTTP_CRMSYNC_HS_RETRY);
            }

            continue;
        }

        while ((rc = ngx_http_crmsync_plan_next(plan, &calls, &nc))
               == NGX_HTTP_CRMSYNC_PLAN_CALLS)
        {
            for (i = 0; i < nc; i++) {
                if (strstr(calls[i].path, "/search")) {
                    answer = t_q(T_SEARCH("1",
                                 T_C("8", "2025-01-01T00:00:00.000Z",
                                     ",'phone':'+491512345678'")));

                } else if (strstr(calls[i].path, "/batch/read")) {
                    answer = t_q(T_OK(T_C("5", "2025-01-01T00:00:00.000Z",
                                          "")));

                } else if (strstr(calls[i].path, "/batch/create")) {
                    answer = t_q(T_OK("{'id':'9','properties':"
                                      "{'firstname':'T'}}"));

                } else {
                    answer = t_q(T_OK(T_C("8", "2025-01-01T00:00:00.000Z",
                                          "") ","
                                      T_C("5", "2025-01-01T00:00:00.000Z",
                                          "")));
                }

                ngx_http_crmsync_plan_answer(plan, i, 200,
                                             (u_char *) answer,
                                             strlen(answer), NULL, &pace,
                                             corr, sizeof(corr));
                free(answer);
            }
        }

        t_budget = -1;

        assert_true(rc == NGX_HTTP_CRMSYNC_PLAN_DONE
                    || rc == NGX_HTTP_CRMSYNC_PLAN_ERROR);

        assert_int_equal(results[3].outcome, NGX_HTTP_CRMSYNC_HS_DEAD);

        if (rc == NGX_HTTP_CRMSYNC_PLAN_ERROR) {
            failed++;

            for (i = 0; i < 3; i++) {
                assert_int_equal(results[i].outcome,
                                 NGX_HTTP_CRMSYNC_HS_RETRY);
            }

        } else {
            for (i = 0; i < 3; i++) {
                assert_true(results[i].outcome == NGX_HTTP_CRMSYNC_HS_DONE
                            || results[i].outcome
                               == NGX_HTTP_CRMSYNC_HS_RETRY);
            }

            if (results[0].outcome == NGX_HTTP_CRMSYNC_HS_DONE
                && results[1].outcome == NGX_HTTP_CRMSYNC_HS_DONE
                && results[2].outcome == NGX_HTTP_CRMSYNC_HS_DONE)
            {
                assert_string_equal(results[0].id, "8");
                assert_string_equal(results[1].id, "9");
                assert_true(results[1].created);
                assert_string_equal(results[2].id, "5");
                done = 1;
            }
        }

        ngx_http_crmsync_plan_free(plan);
    }

    json_set_alloc_funcs(malloc, free);

    assert_true(done);
    assert_true(failed > 10);

    for (i = 0; i < n; i++) {
        free(p[i]);
    }
}


int
main(void)
{
    int                 rc;
    size_t              i, n;
    struct CMUnitTest  *tests;

    n = sizeof(cases) / sizeof(cases[0]);

    tests = calloc(n + 5, sizeof(struct CMUnitTest));
    if (tests == NULL) {
        return 1;
    }

    for (i = 0; i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = t_run;
        tests[i].initial_state = (void *) &cases[i];
    }

    tests[n].name = "identities";
    tests[n].test_func = test_identities;
    tests[n + 1].name = "kinds_and_masks";
    tests[n + 1].test_func = test_kinds_and_masks;
    tests[n + 2].name = "phones";
    tests[n + 2].test_func = test_phones;
    tests[n + 3].name = "no_memory";
    tests[n + 3].test_func = test_no_memory;
    tests[n + 4].name = "mask_text";
    tests[n + 4].test_func = test_mask_text;

    rc = _cmocka_run_group_tests("match", tests, n + 5, NULL, NULL);

    free(tests);
    ngx_http_crmsync_phone_cleanup();

    return rc;
}

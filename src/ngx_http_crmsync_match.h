
/*
 * Copyright (C) crmsync authors
 *
 * Contact matching: the plan of one claimed batch.  Pure: no nginx
 * header; jansson reads the payloads and builds and reads HubSpot's
 * bodies, phone.c compares numbers.
 *
 * The sync engine (sync.c) drives a plan through rounds:
 *
 *   plan = ngx_http_crmsync_plan_create(...);
 *   for each identity i of ngx_http_crmsync_plan_identities(): look it up
 *       in the identity map (shared zone, then the store) and tell the
 *       plan with ngx_http_crmsync_plan_known(plan, i, contact_id);
 *   while (ngx_http_crmsync_plan_next(plan, &calls, &n) == NGX_HTTP_
 *          CRMSYNC_PLAN_CALLS) {
 *       send the n calls (in parallel or one after the other), and give
 *       each answer to ngx_http_crmsync_plan_answer();
 *   }
 *   results[] hold each job's outcome; ngx_http_crmsync_plan_maps()
 *   lists what the identity map learnt, ngx_http_crmsync_plan_remaps()
 *   the merges it noticed.
 *
 * Round 1 reads: the contacts the map or the platform named (batch/read
 * by id, which also shows merges and deletions), then for the persons
 * still unknown batch/read by email and by each unique id property, and
 * one phone search.  Round 2 writes: batch/update of existing contacts,
 * batch/upsert (by email or by a unique id property) and batch/create of
 * new ones.  Jobs of one person (they share an identifier) are one input.
 */


#ifndef _NGX_HTTP_CRMSYNC_MATCH_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_MATCH_H_INCLUDED_


#include "ngx_http_crmsync_types.h"
#include "ngx_http_crmsync_hubspot.h"


/* the identifiers, in the names crmsync_match uses */
typedef enum {
    NGX_HTTP_CRMSYNC_ID_CRM_ID = 0,             /* "crm_id" */
    NGX_HTTP_CRMSYNC_ID_EMAIL,                  /* "email" */
    NGX_HTTP_CRMSYNC_ID_PHONE,                  /* "phone" */
    NGX_HTTP_CRMSYNC_ID_WHATSAPP_ID,            /* "whatsapp_id" */
    NGX_HTTP_CRMSYNC_ID_TELEGRAM_ID,            /* "telegram_id" */
    NGX_HTTP_CRMSYNC_ID_TELEGRAM_USERNAME,      /* "telegram_username" */
    NGX_HTTP_CRMSYNC_ID_MESSENGER_ID,           /* "messenger_id" */
    NGX_HTTP_CRMSYNC_ID_INSTAGRAM_ID,           /* "instagram_id" */
    NGX_HTTP_CRMSYNC_ID_PLATFORM_ID,            /* "platform_id": value
                                                   "<provider>:<id>" */
    NGX_HTTP_CRMSYNC_ID_MAX
} ngx_http_crmsync_id_kind_e;

extern const char  *ngx_http_crmsync_id_kind_names[];

/* "phone" -> NGX_HTTP_CRMSYNC_ID_PHONE; NGX_HTTP_CRMSYNC_ID_MAX if none */
ngx_http_crmsync_id_kind_e ngx_http_crmsync_id_kind(const u_char *name,
    size_t len);


/* crmsync_create */
typedef enum {
    NGX_HTTP_CRMSYNC_CREATE_IDENTIFIED = 0,     /* email, phone, or first
                                                   and last name */
    NGX_HTTP_CRMSYNC_CREATE_WITH_EMAIL,
    NGX_HTTP_CRMSYNC_CREATE_ALWAYS,
    NGX_HTTP_CRMSYNC_CREATE_OFF
} ngx_http_crmsync_create_e;

extern const char  *ngx_http_crmsync_create_names[];


typedef struct ngx_http_crmsync_plan_s  ngx_http_crmsync_plan_t;


/* one HubSpot call the plan asks for; the plan owns it */
typedef struct {
    const char                 *method;         /* "POST" */
    char                        path[256];      /* after the portal's url:
                                                   "/crm/objects/2026-03/
                                                   contacts/batch/read" */
    char                       *body;           /* NUL-terminated */
    size_t                      body_len;
    unsigned                    search:1;       /* counts against the
                                                   search budget, not the
                                                   burst budget */
    unsigned                    write:1;        /* round 2 */
} ngx_http_crmsync_plan_call_t;


/* an identifier of a person in the batch */
typedef struct {
    ngx_http_crmsync_id_kind_e  kind;
    ngx_http_crmsync_str_t      value;          /* normalized */
} ngx_http_crmsync_plan_id_t;


/* what the identity map learns: kind/value now belongs to contact */
typedef struct {
    ngx_http_crmsync_id_kind_e  kind;
    ngx_http_crmsync_str_t      value;
    char                        contact[32];
} ngx_http_crmsync_plan_map_t;


/* a merge seen in an answer: contact "from" lives on as "to" */
typedef struct {
    char                        from[32];
    char                        to[32];         /* "" : deleted, forget */
} ngx_http_crmsync_plan_remap_t;


typedef enum {
    NGX_HTTP_CRMSYNC_PLAN_CALLS = 0,    /* send *calls, then answer each */
    NGX_HTTP_CRMSYNC_PLAN_DONE,         /* every job has its outcome */
    NGX_HTTP_CRMSYNC_PLAN_ERROR         /* no memory: retry every job */
} ngx_http_crmsync_plan_rc_e;


/* the portal's side of a plan */
typedef struct {
    const char                 *api;            /* "2026-03" or "v3" */
    /* unique id properties that exist in the portal: idprop_ready[kind]
       is 1 when the property a job names for kind may be used */
    unsigned char               idprop_ready[NGX_HTTP_CRMSYNC_ID_MAX];
} ngx_http_crmsync_plan_conf_t;


/*
 * payloads[i] is job i's payload as ingest.c stored it (see "The job
 * payload" in doc/matching.md; version 1 payloads, a flat object of
 * properties with "email", are read too).  A job whose payload cannot be
 * read gets DEAD "bad_payload" in results[i] at once.  results[] must
 * outlive the plan; each gets its final outcome by PLAN_DONE:
 *
 *   DONE   written (id: the contact; created: it is new), or nothing to
 *          write (the contact already holds every value: id set, reason
 *          "unchanged"), or not written on purpose (id "", reason
 *          "not_created: crmsync_create off", "not_created: no email",
 *          "not_created: not identified"; or "dry_run: would POST <path>
 *          <the input as JSON>", id set when the contact exists)
 *   RETRY  a call failed (reason), or a create may have been committed
 *          without an answer: reason starts with "unconfirmed_create",
 *          and the job should wait out the search index's lag (see
 *          crmsync_index_lag) before it runs again
 *   SOLO, DEAD, AUTH as for the upsert (hubspot.h); a failed read makes
 *          only the persons that needed it RETRY (AUTH on 401); a create
 *          refused with "Existing ID: N" and an update of a contact
 *          deleted meanwhile (the map forgets it) RETRY
 *
 * *pace is raised to the strongest pace any answer asked for.
 */
ngx_http_crmsync_plan_t *ngx_http_crmsync_plan_create(
    const ngx_http_crmsync_plan_conf_t *conf,
    const ngx_http_crmsync_str_t *payloads, size_t n,
    ngx_http_crmsync_hs_result_t *results);
void ngx_http_crmsync_plan_free(ngx_http_crmsync_plan_t *plan);

/* the identifiers to look up in the map (every identifier of every
   person, once) */
size_t ngx_http_crmsync_plan_identities(ngx_http_crmsync_plan_t *plan,
    const ngx_http_crmsync_plan_id_t **ids);

/* the map holds identity i: it belongs to contact */
void ngx_http_crmsync_plan_known(ngx_http_crmsync_plan_t *plan, size_t i,
    const char *contact);

ngx_http_crmsync_plan_rc_e ngx_http_crmsync_plan_next(
    ngx_http_crmsync_plan_t *plan, ngx_http_crmsync_plan_call_t **calls,
    size_t *n);

/* status 0: no answer (transport names why); body may be NULL */
void ngx_http_crmsync_plan_answer(ngx_http_crmsync_plan_t *plan,
    size_t call, int status, const u_char *body, size_t len,
    const char *transport, ngx_http_crmsync_hs_pace_e *pace,
    char *correlation, size_t correlation_size);

/* after PLAN_DONE; maps: every identifier of each person whose jobs are
   DONE with a contact (dry runs teach nothing) */
size_t ngx_http_crmsync_plan_maps(ngx_http_crmsync_plan_t *plan,
    const ngx_http_crmsync_plan_map_t **maps);
size_t ngx_http_crmsync_plan_remaps(ngx_http_crmsync_plan_t *plan,
    const ngx_http_crmsync_plan_remap_t **remaps);

/* info-level lines worth logging (several contacts matched, the oldest
   won; identifiers masked), each NUL-terminated, an empty string after
   the last ("" when none):
   "crmsync: 3 contacts match phone +49151*****78: 3002 chosen (oldest),
   left 3003 3001" */
const char *ngx_http_crmsync_plan_log(ngx_http_crmsync_plan_t *plan);



/*
 * Masks for logs at info and above: "+49151*****78", "j***@example.com";
 * other ids keep their first 2 and last 2 characters (a star for each
 * hidden one); values too short for that keep at most their first and
 * last.  Writes at most size - 1 bytes and a NUL; returns buf.
 */
char *ngx_http_crmsync_mask(ngx_http_crmsync_id_kind_e kind,
    const u_char *value, size_t len, char *buf, size_t size);

/*
 * In place, for a free text such as HubSpot's error messages, which quote
 * the values they refuse: each email's local part keeps its first
 * character ("a****@example.com"), each number of 7 digits or more its
 * first digit and last two ("+4*********78").  Returns text.
 */
char *ngx_http_crmsync_mask_text(char *text);

/*
 * 1 when a phone as HubSpot holds it ("(0151) 2345-678", "+49 151 ...")
 * is the number e164, read with region (the contact's country, 2 letters,
 * or NULL) and otherwise e164's own region as the default.
 */
int ngx_http_crmsync_phone_same(const char *e164, const u_char *stored,
    size_t len, const char *region);

/* the national significant number of an E.164 ("+491512345678" ->
   "1512345678"), as HubSpot's searchable phone properties hold it
   (without leading zeros: "+390612345678" -> "612345678"); 0, or -1
   when e164 is not a number or buf is too small */
int ngx_http_crmsync_phone_national(const char *e164, char *buf,
    size_t size);


#endif /* _NGX_HTTP_CRMSYNC_MATCH_H_INCLUDED_ */

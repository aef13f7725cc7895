
/*
 * Copyright (C) crmsync authors
 *
 * HubSpot request builders and response parsers.  Pure: no nginx
 * header; jansson builds and reads the bodies.  The sync engine (sync.c)
 * hands in the payloads of the jobs it claimed and gets back one body to
 * send, and later one outcome per job.
 */


#ifndef _NGX_HTTP_CRMSYNC_HUBSPOT_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_HUBSPOT_H_INCLUDED_


#include "ngx_http_crmsync_types.h"


#define NGX_HTTP_CRMSYNC_HS_BATCH_MAX  100


/* what became of one job after a call */
typedef enum {
    NGX_HTTP_CRMSYNC_HS_DONE = 0,       /* written; id set */
    NGX_HTTP_CRMSYNC_HS_RETRY,          /* transient: back off, try again */
    NGX_HTTP_CRMSYNC_HS_SOLO,           /* the batch was refused as a
                                           whole: send each input alone to
                                           find the bad one */
    NGX_HTTP_CRMSYNC_HS_DEAD,           /* no retry can fix it */
    NGX_HTTP_CRMSYNC_HS_AUTH            /* 401: hold until the token is
                                           fixed */
} ngx_http_crmsync_hs_outcome_e;


/* what the call as a whole asks of the portal */
typedef enum {
    NGX_HTTP_CRMSYNC_HS_PACE_NONE = 0,
    NGX_HTTP_CRMSYNC_HS_PACE_ROLLING,   /* 429 TEN_SECONDLY_ROLLING: 10 s */
    NGX_HTTP_CRMSYNC_HS_PACE_SECONDLY,  /* 429 SECONDLY: 1 s */
    NGX_HTTP_CRMSYNC_HS_PACE_DAILY,     /* 429 DAILY: until midnight UTC */
    NGX_HTTP_CRMSYNC_HS_PACE_LOCKED     /* 423: at least 2 s */
} ngx_http_crmsync_hs_pace_e;


typedef struct {
    ngx_http_crmsync_hs_outcome_e   outcome;
    char                            id[32];         /* HubSpot record id */
    unsigned                        created:1;      /* upsert "new": true */
    char                            reason[256];    /* for RETRY/DEAD/AUTH:
                                                       HubSpot's message or
                                                       the transport error */
    char                            category[64];
} ngx_http_crmsync_hs_result_t;


/*
 * A contacts batch upsert by email.
 *
 * payloads[i] is job i's JSON object of contact properties (always with a
 * non-empty, normalized "email"; values are strings), in arrival order.
 * Jobs for one email are coalesced into one input (HubSpot refuses a batch
 * with two inputs for one record): a later non-empty value overrides an
 * earlier one, an empty value never overrides a non-empty one.
 *
 * Returns a malloc()ed NUL-terminated body
 *     {"inputs":[{"idProperty":"email","id":"<email>",
 *                 "properties":{...}}, ...]}
 * and sets input_of[i] to the index of the input that carries job i and
 * *ninputs; NULL on a payload that is not such an object (the job's
 * result is then DEAD with reason "bad_payload") or on no memory.
 * n is at most NGX_HTTP_CRMSYNC_HS_BATCH_MAX.
 */
char *ngx_http_crmsync_hs_upsert_body(const ngx_http_crmsync_str_t *payloads,
    size_t n, size_t *input_of, size_t *ninputs,
    ngx_http_crmsync_hs_result_t *results);


/*
 * Reads the answer to a contacts batch upsert and sets results[i] for
 * each of the n jobs (input_of[] and emails as given to and taken from
 * the body builder; emails[k] is input k's email).
 *
 * status is the HTTP status, 0 when no answer came (then transport names
 * the error: "timeout", "connection refused", ...); body may be NULL.
 *
 *   200/201/207  each input's outcome from "results" (matched on
 *                properties.email, case-insensitively, or on "id") and
 *                "errors" (context ids/emails/objectWriteTraceId); an
 *                input found in neither: RETRY ("missing from answer"),
 *                also for "status" PENDING, PROCESSING or CANCELED.
 *   400, 409, 422 with several inputs: SOLO for all; with one input: DEAD
 *                with message, category and correlationId.
 *   401          AUTH for all.
 *   403, 404, 405, 413, other 4xx: DEAD for all (message, category).
 *   408, 477     RETRY for all (477: migration in progress).
 *   423, 429     RETRY for all; *pace says how long the portal pauses.
 *   5xx, 0       RETRY for all, with the reason.
 *
 * *correlation is set to HubSpot's correlationId when the body has one
 * (it is also in the x-hubspot-correlation-id header, which the caller
 * reads itself).
 */
void ngx_http_crmsync_hs_upsert_result(int status, const u_char *body,
    size_t len, const char *transport, size_t n, const size_t *input_of,
    const ngx_http_crmsync_str_t *emails, size_t ninputs,
    ngx_http_crmsync_hs_result_t *results, ngx_http_crmsync_hs_pace_e *pace,
    char *correlation, size_t correlation_size);


/* the path of a contacts batch upsert for an api version: "2026-03" or
   "v3" */
const char *ngx_http_crmsync_hs_upsert_path(const char *api, char *buf,
    size_t size);


/*
 * Copies len bytes of src (NULL: none) into dst of size bytes, cut where
 * it does not fit but never inside a UTF-8 sequence, and NUL-terminated.
 */
void ngx_http_crmsync_hs_copy(char *dst, size_t size, const char *src,
    size_t len);

/* a result with its outcome, reason and category (NULL: none), cut to
   fit */
void ngx_http_crmsync_hs_set(ngx_http_crmsync_hs_result_t *r,
    ngx_http_crmsync_hs_outcome_e outcome, const char *reason,
    const char *category);


#endif /* _NGX_HTTP_CRMSYNC_HUBSPOT_H_INCLUDED_ */

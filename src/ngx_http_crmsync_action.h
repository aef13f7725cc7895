
/*
 * Copyright (C) crmsync authors
 *
 * Action jobs (doc/conversations.md): transcripts, deals, tasks, flags
 * and owners, run once their contact is known.  action.c claims them and
 * gives each kind a way to call HubSpot and to end the job; the kinds
 * live in action.c (flag), action_note.c (transcript, task) and
 * action_deal.c (deal, owner).
 */


#ifndef _NGX_HTTP_CRMSYNC_ACTION_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_ACTION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_crmsync_module.h"
#include "ngx_http_crmsync_store.h"
#include "ngx_http_crmsync_client.h"


typedef struct ngx_http_crmsync_act_s  ngx_http_crmsync_act_t;

typedef void (*ngx_http_crmsync_act_pt)(ngx_http_crmsync_act_t *a);


/* ngx_http_crmsync_act_call() flags */
#define NGX_HTTP_CRMSYNC_ACT_SEARCH  0x01   /* takes the search budget */
#define NGX_HTTP_CRMSYNC_ACT_FRESH   0x02   /* a create: a new connection,
                                               never sent twice by libcurl */


struct ngx_http_crmsync_act_s {
    ngx_http_crmsync_portal_t      *portal;
    ngx_http_crmsync_store_job_t   *job;        /* id, lease, kind, payload */
    json_t                         *payload;    /* job->payload, parsed */
    char                            contact[32];    /* "" none (yet) */
    ngx_str_t                       conv;       /* payload "conv", or empty */
    ngx_log_t                      *log;

    /* the kind's own state; data is ngx_alloc()ed by the kind (or NULL)
       and freed by action.c with ngx_free() when the job ends, after
       cleanup, if set, has run */
    ngx_uint_t                      step;
    void                           *data;
    ngx_http_crmsync_act_pt         cleanup;

    /* the call: after act_call's handler runs, call.status (0: no
       answer), call.answer (NUL-ended) and call.error are the answer's */
    ngx_http_crmsync_call_t         call;

    /* action.c's */
    ngx_http_crmsync_act_pt         handler;
    ngx_uint_t                      flags;
    u_char                         *body;
    ngx_event_t                     timer;
    ngx_connection_t                dummy;
    ngx_queue_t                     queue;
    void                           *wp;
    int64_t                         lease_until;
    unsigned                        ended:1;
};


/*
 * Sends one call: method, path after the portal's base URL
 * ("/crm/v3/objects/notes"), body (stolen: json_decref()ed by action.c;
 * may be NULL).  It waits for the portal's budget (the search budget with
 * ACT_SEARCH), puts the call in the audit trail, and runs handler with
 * a->call answered.  A 401 or 429 never reaches handler: the job is held
 * (auth_failed) or retried after the pause, by action.c.
 */
void ngx_http_crmsync_act_call(ngx_http_crmsync_act_t *a, const char *method,
    const char *path, json_t *body, ngx_uint_t flags,
    ngx_http_crmsync_act_pt handler);

/*
 * The job's end; exactly one of these, once.  failed() reads a->call: no
 * answer or a 5xx is retried with back-off, another 4xx is dead with
 * HubSpot's category and (masked) message.
 */
void ngx_http_crmsync_act_done(ngx_http_crmsync_act_t *a,
    const char *hubspot_id, const char *note);
void ngx_http_crmsync_act_retry(ngx_http_crmsync_act_t *a, ngx_msec_t in,
    const char *error);
void ngx_http_crmsync_act_dead(ngx_http_crmsync_act_t *a, const char *error,
    const char *category);
void ngx_http_crmsync_act_failed(ngx_http_crmsync_act_t *a);

/* the store was busy for an action step: the same step again soon */
void ngx_http_crmsync_act_later(ngx_http_crmsync_act_t *a, ngx_msec_t in,
    ngx_http_crmsync_act_pt handler);

/*
 * The contact of an action: its own, else its conversation's.  NGX_OK
 * with a->contact set; otherwise the action has ended (retried while the
 * conversation's contact may still come, then done "no_contact").
 */
ngx_int_t ngx_http_crmsync_act_contact(ngx_http_crmsync_act_t *a);

/* "Existing ID: N" of a 409, into id; NGX_OK or NGX_DECLINED */
ngx_int_t ngx_http_crmsync_act_existing_id(ngx_http_crmsync_act_t *a,
    char *id, size_t size);

/* the kinds */
void ngx_http_crmsync_act_transcript(ngx_http_crmsync_act_t *a);
void ngx_http_crmsync_act_task(ngx_http_crmsync_act_t *a);
void ngx_http_crmsync_act_deal(ngx_http_crmsync_act_t *a);
void ngx_http_crmsync_act_owner(ngx_http_crmsync_act_t *a);
void ngx_http_crmsync_act_flag(ngx_http_crmsync_act_t *a);

/*
 * action_deal.c: the owner with this email, from the portal's owners
 * (cached per worker, refreshed every 10 minutes and at most once a
 * minute on a miss).  The handler runs with *id set ("" no such owner),
 * or at once when the cache answers.  a->call may be used.
 */
void ngx_http_crmsync_act_owner_find(ngx_http_crmsync_act_t *a,
    const char *email, char *id, size_t size,
    ngx_http_crmsync_act_pt handler);

/*
 * The idle sweep's transcript payload for a conversation of a location
 * (ingest.c, the same as a close makes); out->data is malloc()ed.  0, or
 * -1 (no such location any more: the conversation waits).
 */
int ngx_http_crmsync_idle_payload(void *data, const char *conv,
    const char *location, ngx_http_crmsync_str_t *out);

/* action_deal.c: its caches, freed when the worker exits */
void ngx_http_crmsync_action_deal_exit(void);

/* worker start and exit: sync.c calls them */
ngx_int_t ngx_http_crmsync_action_init_worker(ngx_cycle_t *cycle);
void ngx_http_crmsync_action_exit_worker(ngx_cycle_t *cycle);
/* a worker's turn for a portal's actions; sync.c calls it with its own */
void ngx_http_crmsync_action_run(ngx_http_crmsync_portal_t *portal);


#endif /* _NGX_HTTP_CRMSYNC_ACTION_H_INCLUDED_ */


/*
 * Copyright (C) crmsync authors
 */


#ifndef _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_types.h"
#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_shm.h"


#define NGX_HTTP_CRMSYNC_REGION_LEN  2


/* a HubSpot account: "crmsync_hubspot" */
typedef struct {
    ngx_str_t                   name;        /* "" for the default */
    ngx_str_t                   label;       /* "default" for it */
    ngx_str_t                   url;         /* base, no trailing '/' */
    ngx_str_t                   token;       /* never logged */
    ngx_str_t                   token_file;
    ngx_str_t                   api;         /* "2026-03", "v3" */
    ngx_str_t                   hub;         /* hub id, for links; or "" */
    ngx_str_t                   ca_file;     /* NUL-terminated, or empty */
    ngx_uint_t                  rate;        /* calls per window */
    ngx_msec_t                  window;
    ngx_uint_t                  search_rate; /* a second */
    ngx_uint_t                  daily;
    ngx_msec_t                  timeout;
    uint32_t                    token_crc;

    ngx_http_crmsync_portal_sh_t  *sh;
    void                       *worker;      /* sync.c's state, per worker */
} ngx_http_crmsync_portal_t;


typedef struct {
    ngx_str_t                   store;       /* NUL-terminated path */
    ngx_flag_t                  sync_full;
    ngx_msec_t                  keep_deliveries;
    ngx_msec_t                  retry_for;
    ngx_msec_t                  audit_for;
    ngx_msec_t                  linger;
    ngx_msec_t                  index_lag;   /* HubSpot's search index */

    ngx_shm_zone_t             *zone;
    ngx_array_t                 portals;     /* ngx_http_crmsync_portal_t */
    ngx_array_t                 locations;   /* ngx_http_crmsync_loc_conf_t
                                                *: webhook locations */
    ngx_array_t                 props;       /* ngx_http_crmsync_portal_prop_t:
                                                every crmsync_id_property,
                                                once per portal */
    ngx_array_t                *lookup_default;  /* ngx_str_t: the default
                                                crmsync_lookup_properties */
} ngx_http_crmsync_main_conf_t;


#define ngx_http_crmsync_zone_ctx(r)                                          \
    ((ngx_http_crmsync_zone_ctx_t *)                                          \
     ((ngx_http_crmsync_main_conf_t *)                                        \
      ngx_http_get_module_main_conf(r, ngx_http_crmsync_module))              \
     ->zone->data)


/* "crmsync_set <property> <value> [if_empty];" */
typedef struct {
    ngx_str_t                   property;
    ngx_http_complex_value_t    value;
    unsigned                    if_empty:1;
} ngx_http_crmsync_set_t;


/*
 * Issue 11 (doc/conversations.md): transcripts, deals, owners, tasks and
 * flags.
 */

typedef enum {
    NGX_HTTP_CRMSYNC_TRANSCRIPT_OFF = 0,
    NGX_HTTP_CRMSYNC_TRANSCRIPT_NOTE,
    NGX_HTTP_CRMSYNC_TRANSCRIPT_COMMUNICATION
} ngx_http_crmsync_transcript_e;


/* crmsync_transcript_when */
typedef enum {
    NGX_HTTP_CRMSYNC_WHEN_CLOSED = 0,
    NGX_HTTP_CRMSYNC_WHEN_ASSIGNED,
    NGX_HTTP_CRMSYNC_WHEN_ALWAYS
} ngx_http_crmsync_transcript_when_e;


/* "crmsync_deal pipeline= stage= name= [amount=] [when=];" */
typedef struct {
    ngx_str_t                   pipeline;    /* an id or a label */
    ngx_str_t                   stage;
    ngx_http_complex_value_t    name;
    ngx_http_complex_value_t   *amount;      /* NULL: none */
    ngx_http_complex_value_t   *when;        /* NULL: every event with a
                                                contact */
} ngx_http_crmsync_deal_t;


/* "crmsync_task when= subject= [due=] [owner=];" */
typedef struct {
    ngx_http_complex_value_t    when;
    ngx_http_complex_value_t    subject;
    ngx_msec_t                  due;
    ngx_str_t                   owner;       /* "contact_owner" or an
                                                email, lower case */
} ngx_http_crmsync_task_t;


/* "crmsync_flag <property> when=<value> [idle=<time>];" */
typedef struct {
    ngx_str_t                   property;
    ngx_http_complex_value_t    when;
    ngx_msec_t                  idle;           /* 0: only a close clears */
} ngx_http_crmsync_flag_t;


/* "crmsync_id_property <identifier> <property>;" */
typedef struct {
    ngx_uint_t                  kind;        /* ngx_http_crmsync_id_kind_e */
    ngx_str_t                   property;
} ngx_http_crmsync_id_prop_t;


/* a unique property a portal must have: sync.c creates it at start */
typedef struct {
    ngx_http_crmsync_portal_t  *portal;
    ngx_uint_t                  kind;
    ngx_str_t                   property;
} ngx_http_crmsync_portal_prop_t;


typedef struct {
    ngx_uint_t                  provider;    /* ngx_http_crmsync_provider_e */

    ngx_array_t                *secrets;     /* ngx_str_t: crmsync_secret
                                                and crmsync_secret_file */
    ngx_str_t                   verify_token;
    ngx_http_complex_value_t   *public_url;
    time_t                      replay_window;
    ngx_uint_t                  log_level;

    /* "US": NUL-terminated for the phone code; "" when unset */
    u_char                      region[NGX_HTTP_CRMSYNC_REGION_LEN + 1];
    ngx_flag_t                  region_set;

    ngx_str_t                   portal_name; /* crmsync_portal */
    ngx_http_crmsync_portal_t  *portal;
    ngx_array_t                *sets;        /* ngx_http_crmsync_set_t */

    /* matching (doc/matching.md) */
    ngx_array_t                *match;       /* ngx_uint_t id kinds, in
                                                order; NULL: the provider's
                                                defaults */
    ngx_uint_t                  create;      /* ngx_http_crmsync_create_e */
    ngx_str_t                   lifecycle;   /* "" with "off" */
    ngx_http_complex_value_t   *filter;
    ngx_flag_t                  dry_run;
    ngx_array_t                *id_props;    /* ngx_http_crmsync_id_prop_t */

    /* crmsync_lookup */
    ngx_array_t                *lookup_properties;  /* ngx_str_t */

    /* conversations (doc/conversations.md) */
    ngx_uint_t                  transcript;  /* ngx_http_crmsync_transcript_e */
    ngx_msec_t                  transcript_idle;
    ngx_uint_t                  transcript_authors;  /* 1 << author */
    ngx_uint_t                  transcript_when;
    ngx_http_crmsync_deal_t    *deal;        /* NULL: none */
    ngx_str_t                   lifecycle_on_deal;  /* "" with "off" */
    ngx_flag_t                  owner_assignee;
    ngx_array_t                *owner_rr;    /* ngx_str_t: owner emails */
    ngx_http_crmsync_task_t    *task;        /* NULL: none */
    ngx_array_t                *flags;       /* ngx_http_crmsync_flag_t */

    /* the action payloads' fixed parts, made at merge time: ,"pipeline":
       (or ""), the transcript's ,"when":..., the deal's head up to
       "name": and its tail (,"lifecycle", ,"rr"), the task's ,"due",
       ,"owner" */
    ngx_str_t                   pipeline_json;
    ngx_str_t                   transcript_tail;
    ngx_str_t                   deal_head;
    ngx_str_t                   deal_tail;
    ngx_str_t                   task_mid;

    /* the job payload's members that the configuration fixes, made at
       merge time: "match", "create" and "lifecycle"; then "if_empty",
       "idprops" and "dry_run" (each with its leading comma) */
    ngx_str_t                   payload_head;
    ngx_str_t                   payload_tail;

    ngx_http_crmsync_location_sh_t  *sh;     /* counters, with a zone */

    ngx_http_core_loc_conf_t   *clcf;
} ngx_http_crmsync_loc_conf_t;


typedef struct {
    ngx_uint_t                  status;      /* HTTP status answered */
    const char                 *outcome;     /* accepted, ignored, rejected */
    const char                 *reason;      /* why, when not accepted */

    ngx_http_crmsync_event_t   *events;
    size_t                      nevents;

    ngx_queue_t                 queue;       /* waiting for the commit */
    ngx_http_request_t         *request;
    void                       *rows;        /* ngx_http_crmsync_store_row_t */
    size_t                      stored;
    size_t                      duplicates;

    size_t                      current;     /* the event being stored:
                                                what the event variables
                                                ($crmsync_attr_*, ...) read */
    void                       *convs;       /* ingest.c's: each event's
                                                messages and actions */

    unsigned                    form:1;
    unsigned                    json_error:1;
    unsigned                    pending:1;
} ngx_http_crmsync_ctx_t;


ngx_int_t ngx_http_crmsync_webhook_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_crmsync_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
ngx_int_t ngx_http_crmsync_send_body(ngx_http_request_t *r, u_char *body,
    size_t len);
ngx_str_t *ngx_http_crmsync_header(ngx_http_request_t *r, const char *name);
ngx_int_t ngx_http_crmsync_public_url(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_str_t *url);
ngx_int_t ngx_http_crmsync_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason);
ngx_int_t ngx_http_crmsync_filter_init(ngx_conf_t *cf);
ngx_int_t ngx_http_crmsync_add_variables(ngx_conf_t *cf);

/* variables.c: an event's channel, as $crmsync_channel shows it, and
   HubSpot's communication channel type for it (NULL: none fits) */
void ngx_http_crmsync_channel(ngx_http_crmsync_event_t *ev, ngx_str_t *label,
    const char **type);

/* ingest.c: the webhook's store step, committed in groups */
ngx_int_t ngx_http_crmsync_ingest(ngx_http_request_t *r,
    ngx_http_crmsync_ctx_t *ctx, ngx_str_t *body);
ngx_int_t ngx_http_crmsync_ingest_init_worker(ngx_cycle_t *cycle);
u_char *ngx_http_crmsync_transcript_payload(ngx_pool_t *pool,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_str_t *conv, ngx_str_t *channel,
    const char *type, int64_t closed_at, size_t *len);
void ngx_http_crmsync_ingest_exit_worker(ngx_cycle_t *cycle);

/* sync.c: the HubSpot side, per worker */
ngx_int_t ngx_http_crmsync_sync_init_worker(ngx_cycle_t *cycle);
void ngx_http_crmsync_sync_exit_worker(ngx_cycle_t *cycle);
void ngx_http_crmsync_sync_hold_refused(ngx_http_crmsync_portal_t *portal,
    ngx_uint_t actions, int64_t now);
void ngx_http_crmsync_sync_kick(ngx_http_crmsync_portal_t *portal,
    ngx_msec_t delay);

/* status.c */
ngx_int_t ngx_http_crmsync_status_handler(ngx_http_request_t *r);

/* lookup.c: crmsync_lookup */
ngx_int_t ngx_http_crmsync_lookup_handler(ngx_http_request_t *r);

/* the worker's store (ingest.c opens it), NULL without crmsync_store */
extern struct ngx_http_crmsync_store_s  *ngx_http_crmsync_store;
extern int64_t                           ngx_http_crmsync_owner;

int64_t ngx_http_crmsync_now(void);


extern ngx_module_t  ngx_http_crmsync_module;


#endif /* _NGX_HTTP_CRMSYNC_MODULE_H_INCLUDED_ */


/*
 * Copyright (C) crmsync authors
 *
 * Action jobs (doc/conversations.md): per worker and portal, claim the
 * actions whose contact is known, run each through its kind's steps, and
 * record its end with the claim's fencing token.  An action makes a few
 * calls, one after another; each takes its place in the portal's budget
 * and is kept in the audit trail.  Also here: the idle sweep that closes
 * quiet conversations, and the flag kind.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_action.h"
#include "ngx_http_crmsync_hubspot.h"
#include "ngx_http_crmsync_match.h"


#define NGX_HTTP_CRMSYNC_ACT_MAX        4       /* actions a portal, a
                                                   worker, at once */
#define NGX_HTTP_CRMSYNC_ACT_POLL       1000    /* ms */
#define NGX_HTTP_CRMSYNC_ACT_SWEEP      1000    /* ms */
#define NGX_HTTP_CRMSYNC_ACT_QUIET_MAX  10000   /* ms */
#define NGX_HTTP_CRMSYNC_ACT_AUDITS     12
#define NGX_HTTP_CRMSYNC_ACT_RECORD     3000    /* ms a busy store is
                                                   waited for */
#define NGX_HTTP_CRMSYNC_ACT_BACKOFF_MIN  1000
#define NGX_HTTP_CRMSYNC_ACT_BACKOFF_MAX  900000

/* a->flags: act_later()'s step is due (above the call flags) */
#define NGX_HTTP_CRMSYNC_ACT_LATER      0x100


/* a worker's state for a portal's actions */
typedef struct {
    ngx_http_crmsync_portal_t      *portal;
    ngx_event_t                     timer;
    ngx_connection_t                dummy;
    ngx_uint_t                      in_flight;
    int64_t                         quiet_until;    /* ms: as sync.c's */
    ngx_array_t                     flags;      /* ngx_str_t: flag
                                                   properties known to
                                                   exist */
} ngx_http_crmsync_awp_t;


/* one call, for the audit trail */
typedef struct {
    int64_t                         at;
    const char                     *method;
    char                            path[128];
    int                             status;
    char                            correlation[64];
    char                            error[256];
    int64_t                         duration;
} ngx_http_crmsync_aaudit_t;


/* action.c's part of an action, around the public one */
typedef struct {
    ngx_http_crmsync_act_t          a;
    ngx_http_crmsync_aaudit_t       audits[NGX_HTTP_CRMSYNC_ACT_AUDITS];
    ngx_uint_t                      naudits;
    char                            path[512];
    char                            correlation[64];

    /* the end, while the store is busy */
    ngx_uint_t                      outcome;    /* ACT_END_* */
    char                            note[256];
    char                            category[64];
    int64_t                         at;
    ngx_msec_t                      record_since;
    unsigned                        uncount:1;
    unsigned                        in_call:1;
    unsigned                        recording:1;
} ngx_http_crmsync_aact_t;


#define NGX_HTTP_CRMSYNC_ACT_END_DONE   1
#define NGX_HTTP_CRMSYNC_ACT_END_RETRY  2
#define NGX_HTTP_CRMSYNC_ACT_END_DEAD   3
#define NGX_HTTP_CRMSYNC_ACT_END_HOLD   4
#define NGX_HTTP_CRMSYNC_ACT_END_LOST   5   /* nothing recorded: the lease
                                               runs out */


static void ngx_http_crmsync_action_handler(ngx_event_t *ev);
static void ngx_http_crmsync_action_sweep(ngx_event_t *ev);
static void ngx_http_crmsync_act_start(ngx_http_crmsync_awp_t *wp,
    ngx_http_crmsync_store_job_t *job, int64_t lease_until);
static void ngx_http_crmsync_act_timer(ngx_event_t *ev);
static void ngx_http_crmsync_act_send(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_act_call_done(ngx_http_crmsync_call_t *call);
static void ngx_http_crmsync_act_end(ngx_http_crmsync_act_t *a,
    ngx_uint_t outcome, const char *hubspot_id, const char *note,
    const char *category, int64_t at, ngx_uint_t uncount);
static void ngx_http_crmsync_act_record(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_act_free(ngx_http_crmsync_act_t *a);


static ngx_http_crmsync_awp_t        *ngx_http_crmsync_awps;
static ngx_uint_t                     ngx_http_crmsync_nawps;
static ngx_http_crmsync_main_conf_t  *ngx_http_crmsync_amcf;
static ngx_http_crmsync_zone_ctx_t   *ngx_http_crmsync_azctx;
static ngx_queue_t                    ngx_http_crmsync_acts;
static ngx_event_t                    ngx_http_crmsync_sweep_ev;
static ngx_connection_t               ngx_http_crmsync_sweep_dummy;


ngx_int_t
ngx_http_crmsync_action_init_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_crmsync_awp_t      *wp;
    ngx_http_crmsync_portal_t   *portal;

    ngx_http_crmsync_amcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                   ngx_http_crmsync_module);
    ngx_http_crmsync_azctx = ngx_http_crmsync_amcf->zone->data;

    ngx_queue_init(&ngx_http_crmsync_acts);

    portal = ngx_http_crmsync_amcf->portals.elts;
    ngx_http_crmsync_nawps = ngx_http_crmsync_amcf->portals.nelts;

    ngx_http_crmsync_awps = ngx_pcalloc(cycle->pool,
                                        ngx_http_crmsync_nawps
                                        * sizeof(ngx_http_crmsync_awp_t));
    if (ngx_http_crmsync_awps == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ngx_http_crmsync_nawps; i++) {
        wp = &ngx_http_crmsync_awps[i];
        wp->portal = &portal[i];

        if (ngx_array_init(&wp->flags, cycle->pool, 4, sizeof(ngx_str_t))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        wp->dummy.fd = (ngx_socket_t) -1;
        wp->dummy.data = wp;
        wp->timer.handler = ngx_http_crmsync_action_handler;
        wp->timer.data = &wp->dummy;
        wp->timer.log = cycle->log;
        wp->timer.cancelable = 1;

        ngx_add_timer(&wp->timer, 100 + (ngx_msec_t) (ngx_random() % 100));
    }

    ngx_http_crmsync_sweep_dummy.fd = (ngx_socket_t) -1;
    ngx_http_crmsync_sweep_ev.handler = ngx_http_crmsync_action_sweep;
    ngx_http_crmsync_sweep_ev.data = &ngx_http_crmsync_sweep_dummy;
    ngx_http_crmsync_sweep_ev.log = cycle->log;
    ngx_http_crmsync_sweep_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_crmsync_sweep_ev,
                  NGX_HTTP_CRMSYNC_ACT_SWEEP
                  + (ngx_msec_t) (ngx_random() % 500));

    return NGX_OK;
}


/*
 * Before the client aborts the calls in flight: the actions waiting for
 * the budget or a busy store end here, with nothing recorded; every lease
 * of the worker is put back by sync.c right after.
 */

void
ngx_http_crmsync_action_exit_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                i;
    ngx_queue_t              *q, *next;
    ngx_http_crmsync_act_t   *a;
    ngx_http_crmsync_aact_t  *aa;

    if (ngx_http_crmsync_amcf == NULL) {
        return;
    }

    for (i = 0; i < ngx_http_crmsync_nawps; i++) {
        if (ngx_http_crmsync_awps[i].timer.timer_set) {
            ngx_del_timer(&ngx_http_crmsync_awps[i].timer);
        }
    }

    if (ngx_http_crmsync_sweep_ev.timer_set) {
        ngx_del_timer(&ngx_http_crmsync_sweep_ev);
    }

    for (q = ngx_queue_head(&ngx_http_crmsync_acts);
         q != ngx_queue_sentinel(&ngx_http_crmsync_acts);
         q = next)
    {
        next = ngx_queue_next(q);
        a = ngx_queue_data(q, ngx_http_crmsync_act_t, queue);
        aa = (ngx_http_crmsync_aact_t *) a;

        if (!aa->in_call) {
            ngx_http_crmsync_act_free(a);
        }
    }

    ngx_http_crmsync_amcf = NULL;
}


static ngx_http_crmsync_awp_t *
ngx_http_crmsync_awp(ngx_http_crmsync_portal_t *portal)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_http_crmsync_nawps; i++) {
        if (ngx_http_crmsync_awps[i].portal == portal) {
            return &ngx_http_crmsync_awps[i];
        }
    }

    return NULL;
}


static void
ngx_http_crmsync_action_later(ngx_http_crmsync_awp_t *wp, ngx_msec_t ms)
{
    if (ngx_exiting || ngx_http_crmsync_amcf == NULL) {
        return;
    }

    if (wp->timer.timer_set) {
        if (wp->timer.timer.key <= ngx_current_msec + ms) {
            return;
        }

        ngx_del_timer(&wp->timer);
    }

    ngx_add_timer(&wp->timer, ms);
}


void
ngx_http_crmsync_action_run(ngx_http_crmsync_portal_t *portal)
{
    int64_t                  now;
    ngx_http_crmsync_awp_t  *wp;

    if (ngx_http_crmsync_amcf == NULL) {
        return;
    }

    wp = ngx_http_crmsync_awp(portal);

    if (wp == NULL) {
        return;
    }

    now = ngx_http_crmsync_now();

    ngx_http_crmsync_action_later(wp, wp->quiet_until > now
                                      ? (ngx_msec_t) (wp->quiet_until - now)
                                      : 0);
}


static void
ngx_http_crmsync_action_handler(ngx_event_t *ev)
{
    size_t                         i, n;
    int64_t                        now, due, lease, spent;
    ngx_msec_t                     wait;
    ngx_connection_t              *c;
    struct timeval                 tv;
    ngx_http_crmsync_awp_t        *wp;
    ngx_http_crmsync_store_t      *st;
    ngx_http_crmsync_portal_t     *portal;
    ngx_http_crmsync_store_rc_e    rc;
    ngx_http_crmsync_store_job_t  *jobs;
    ngx_http_crmsync_portal_sh_t  *sh;

    c = ev->data;
    wp = c->data;
    portal = wp->portal;
    sh = portal->sh;
    st = ngx_http_crmsync_store;

    if (ngx_exiting) {
        return;
    }

    if (st == NULL) {
        ngx_http_crmsync_action_later(wp, NGX_HTTP_CRMSYNC_ACT_POLL);
        return;
    }

    if (wp->in_flight >= NGX_HTTP_CRMSYNC_ACT_MAX) {
        return;     /* an action's end kicks again */
    }

    now = ngx_http_crmsync_now();

    rc = ngx_http_crmsync_store_next_due_kind(st, (ngx_http_crmsync_str_t *)
                                              &portal->label, 1, &due);

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK || due < 0 || due > now) {
        if (rc == NGX_HTTP_CRMSYNC_STORE_OK && due > now
            && due - now < NGX_HTTP_CRMSYNC_ACT_POLL)
        {
            ngx_http_crmsync_action_later(wp, (ngx_msec_t) (due - now));

        } else {
            ngx_http_crmsync_action_later(wp, NGX_HTTP_CRMSYNC_ACT_POLL);
        }

        return;
    }

    if (sh->auth_failed && sh->auth_token == portal->token_crc) {

        /* sync.c logs it; nothing is sent with a refused token */

        ngx_http_crmsync_sync_hold_refused(portal, 1, now);
        ngx_http_crmsync_action_later(wp, NGX_HTTP_CRMSYNC_ACT_POLL);
        return;
    }

    /*
     * An action makes a few calls one after another, each of which may
     * wait for the budget: the lease covers six timeouts and a window;
     * a write goes out only while a timeout of it is left.
     */

    lease = 6 * (int64_t) portal->timeout + portal->window + 10000;

    ngx_gettimeofday(&tv);
    spent = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;

    rc = ngx_http_crmsync_store_claim_kind(st, (ngx_http_crmsync_str_t *)
                                           &portal->label, 1, now, lease,
                                           ngx_http_crmsync_owner,
                                           NGX_HTTP_CRMSYNC_ACT_MAX
                                           - wp->in_flight,
                                           &jobs, &n);

    ngx_gettimeofday(&tv);
    spent = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000 - spent;

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK || n == 0) {
        if (rc == NGX_HTTP_CRMSYNC_STORE_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                          "crmsync: claiming actions of portal \"%V\" "
                          "failed: %s", &portal->label,
                          ngx_http_crmsync_store_error(st));
        }

        if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
            ngx_http_crmsync_action_later(wp, 5);
            return;
        }

        /* every due action held back: as in sync.c, the next claim waits
           at least 20 times as long as this one took */

        wait = (ngx_msec_t) ngx_min(ngx_max(20 * spent,
                                            NGX_HTTP_CRMSYNC_ACT_POLL),
                                    NGX_HTTP_CRMSYNC_ACT_QUIET_MAX);
        wp->quiet_until = now + wait;

        ngx_http_crmsync_action_later(wp, wait);
        return;
    }

    wp->quiet_until = 0;

    for (i = 0; i < n; i++) {
        ngx_http_crmsync_act_start(wp, &jobs[i], now + lease);
    }

    /* each action copied its job */
    ngx_http_crmsync_store_free_jobs(jobs, n);

    ngx_http_crmsync_action_later(wp, NGX_HTTP_CRMSYNC_ACT_POLL);
}


static void
ngx_http_crmsync_act_start(ngx_http_crmsync_awp_t *wp,
    ngx_http_crmsync_store_job_t *job, int64_t lease_until)
{
    const char               *s;
    json_error_t              err;
    ngx_http_crmsync_act_t   *a;
    ngx_http_crmsync_aact_t  *aa;

    aa = ngx_calloc(sizeof(ngx_http_crmsync_aact_t), ngx_cycle->log);
    if (aa == NULL) {
        /* its lease runs out and it is claimed again */
        return;
    }

    a = &aa->a;

    a->job = ngx_calloc(sizeof(ngx_http_crmsync_store_job_t), ngx_cycle->log);
    if (a->job == NULL) {
        ngx_free(aa);
        return;
    }

    /* the job: its strings move to the action */

    *a->job = *job;
    ngx_memzero(job, sizeof(ngx_http_crmsync_store_job_t));

    a->portal = wp->portal;
    a->wp = wp;
    a->log = ngx_cycle->log;
    a->lease_until = lease_until;

    a->dummy.fd = (ngx_socket_t) -1;
    a->dummy.data = a;
    a->timer.handler = ngx_http_crmsync_act_timer;
    a->timer.data = &a->dummy;
    a->timer.log = ngx_cycle->log;
    a->timer.cancelable = 1;

    ngx_queue_insert_tail(&ngx_http_crmsync_acts, &a->queue);
    wp->in_flight++;

    if (a->job->contact.len && a->job->contact.len < sizeof(a->contact)) {
        ngx_memcpy(a->contact, a->job->contact.data, a->job->contact.len);
    }

    a->payload = json_loadb((const char *) a->job->payload.data,
                            a->job->payload.len, 0, &err);

    if (!json_is_object(a->payload)) {
        ngx_http_crmsync_act_dead(a, "bad_payload", "CRMSYNC");
        return;
    }

    s = json_string_value(json_object_get(a->payload, "conv"));

    if (s) {
        a->conv.data = (u_char *) s;
        a->conv.len = ngx_strlen(s);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "crmsync action %L: %s, contact \"%s\"", a->job->id,
                   ngx_http_crmsync_job_kind_names[a->job->kind], a->contact);

    switch (a->job->kind) {

    case NGX_HTTP_CRMSYNC_KIND_TRANSCRIPT:
        ngx_http_crmsync_act_transcript(a);
        break;

    case NGX_HTTP_CRMSYNC_KIND_DEAL:
        ngx_http_crmsync_act_deal(a);
        break;

    case NGX_HTTP_CRMSYNC_KIND_TASK:
        ngx_http_crmsync_act_task(a);
        break;

    case NGX_HTTP_CRMSYNC_KIND_FLAG:
        ngx_http_crmsync_act_flag(a);
        break;

    case NGX_HTTP_CRMSYNC_KIND_OWNER:
        ngx_http_crmsync_act_owner(a);
        break;

    default:
        ngx_http_crmsync_act_dead(a, "unknown action kind", "CRMSYNC");
    }
}


/* the budget, a busy store, or act_later() */

static void
ngx_http_crmsync_act_timer(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_http_crmsync_act_t   *a;
    ngx_http_crmsync_aact_t  *aa;

    c = ev->data;
    a = c->data;
    aa = (ngx_http_crmsync_aact_t *) a;

    if (aa->recording) {
        ngx_http_crmsync_act_record(a);
        return;
    }

    if (a->handler && a->flags & NGX_HTTP_CRMSYNC_ACT_LATER) {
        /* act_later(): the kind's step again */
        a->flags &= ~NGX_HTTP_CRMSYNC_ACT_LATER;
        a->handler(a);
        return;
    }

    ngx_http_crmsync_act_send(a);
}


void
ngx_http_crmsync_act_later(ngx_http_crmsync_act_t *a, ngx_msec_t in,
    ngx_http_crmsync_act_pt handler)
{
    a->handler = handler;
    a->flags |= NGX_HTTP_CRMSYNC_ACT_LATER;

    if (a->timer.timer_set) {
        ngx_del_timer(&a->timer);
    }

    ngx_add_timer(&a->timer, in);
}


void
ngx_http_crmsync_act_call(ngx_http_crmsync_act_t *a, const char *method,
    const char *path, json_t *body, ngx_uint_t flags,
    ngx_http_crmsync_act_pt handler)
{
    ngx_http_crmsync_aact_t  *aa;

    aa = (ngx_http_crmsync_aact_t *) a;

    ngx_free(a->body);
    a->body = NULL;

    /* the previous answer, read by now */
    ngx_http_crmsync_call_free(&a->call);
    ngx_memzero(&a->call, sizeof(ngx_http_crmsync_call_t));

    if (body) {
        a->body = (u_char *) json_dumps(body, JSON_COMPACT);
        json_decref(body);

        if (a->body == NULL) {
            ngx_http_crmsync_act_retry(a, 0, "no memory");
            return;
        }
    }

    a->call.method = method;
    a->handler = handler;
    a->flags = flags & 0xff;

    ngx_cpystrn((u_char *) aa->path, (u_char *) path, sizeof(aa->path));

    ngx_http_crmsync_act_send(a);
}


static void
ngx_http_crmsync_act_send(ngx_http_crmsync_act_t *a)
{
    int64_t                     now;
    ngx_msec_t                  wait;
    ngx_http_crmsync_aact_t    *aa;
    ngx_http_crmsync_portal_t  *portal;

    aa = (ngx_http_crmsync_aact_t *) a;
    portal = a->portal;
    now = ngx_http_crmsync_now();

    if (ngx_strcmp(a->call.method, "GET") != 0
        && !(a->flags & NGX_HTTP_CRMSYNC_ACT_SEARCH)
        && now + (int64_t) portal->timeout + 5000 > a->lease_until)
    {
        /* the lease could run out before the answer: try again later */
        ngx_http_crmsync_act_end(a, NGX_HTTP_CRMSYNC_ACT_END_RETRY, NULL,
                                 "lease too short to write", NULL, now, 1);
        return;
    }

    if (a->flags & NGX_HTTP_CRMSYNC_ACT_SEARCH) {
        wait = ngx_http_crmsync_shm_take_search(ngx_http_crmsync_azctx,
                                                portal->sh,
                                                portal->search_rate, now);
    } else {
        wait = ngx_http_crmsync_shm_take(ngx_http_crmsync_azctx, portal->sh,
                                         portal->rate, portal->window,
                                         portal->daily, now);
    }

    if (wait) {
        ngx_add_timer(&a->timer, wait);
        return;
    }

    a->call.body = a->body;
    a->call.body_len = a->body ? ngx_strlen(a->body) : 0;
    a->call.token = portal->token;
    a->call.ca_file = portal->ca_file;
    a->call.timeout = portal->timeout;
    a->call.handler = ngx_http_crmsync_act_call_done;
    a->call.data = a;
    a->call.fresh = (a->flags & NGX_HTTP_CRMSYNC_ACT_FRESH) ? 1 : 0;

    ngx_snprintf(a->call.url, sizeof(a->call.url) - 1, "%V%s%Z",
                 &portal->url, aa->path);

    (void) ngx_atomic_fetch_add(&portal->sh->calls, 1);

    if (a->flags & NGX_HTTP_CRMSYNC_ACT_SEARCH) {
        (void) ngx_atomic_fetch_add(&portal->sh->searches, 1);
    }

    aa->in_call = 1;

    if (ngx_http_crmsync_client_send(&a->call) != NGX_OK) {
        aa->in_call = 0;
        ngx_http_crmsync_act_end(a, NGX_HTTP_CRMSYNC_ACT_END_RETRY, NULL,
                                 "the call could not start", NULL, now, 1);
    }
}


static void
ngx_http_crmsync_act_call_done(ngx_http_crmsync_call_t *call)
{
    int64_t                        now, until;
    const char                    *policy;
    json_t                        *root;
    json_error_t                   err;
    ngx_http_crmsync_act_t        *a;
    ngx_http_crmsync_aact_t       *aa;
    ngx_http_crmsync_aaudit_t     *au;
    ngx_http_crmsync_portal_t     *portal;
    ngx_http_crmsync_portal_sh_t  *sh;

    a = call->data;
    aa = (ngx_http_crmsync_aact_t *) a;
    portal = a->portal;
    sh = portal->sh;
    now = ngx_http_crmsync_now();

    aa->in_call = 0;

    if (call->aborted) {
        /* the worker is exiting: its leases go back to the queue */
        ngx_http_crmsync_act_free(a);
        return;
    }

    if (call->correlation[0]) {
        ngx_cpystrn((u_char *) aa->correlation, (u_char *) call->correlation,
                    sizeof(aa->correlation));
    }

    if (aa->naudits < NGX_HTTP_CRMSYNC_ACT_AUDITS) {
        au = &aa->audits[aa->naudits++];
        au->at = now - call->duration;
        au->method = call->method;
        ngx_cpystrn((u_char *) au->path, (u_char *) aa->path,
                    sizeof(au->path));
        au->status = (int) call->status;
        ngx_cpystrn((u_char *) au->correlation, (u_char *) call->correlation,
                    sizeof(au->correlation));

        if (call->status == 0) {
            ngx_cpystrn((u_char *) au->error, (u_char *) call->error,
                        sizeof(au->error));

        } else if (call->status >= 400 && call->answer) {
            ngx_cpystrn((u_char *) au->error, call->answer,
                        ngx_min(sizeof(au->error), call->answer_len + 1));
        }

        au->duration = call->duration;
    }

    if (call->status == 0 || call->status >= 500) {
        (void) ngx_atomic_fetch_add(&sh->errors, 1);

        ngx_log_error(NGX_LOG_WARN, a->log, 0,
                      "crmsync: portal \"%V\": %s %s %s%s, action %L "
                      "(%s) will be retried", &portal->label, call->method,
                      aa->path, call->status ? "answered " : "failed: ",
                      call->status ? "5xx" : call->error, a->job->id,
                      ngx_http_crmsync_job_kind_names[a->job->kind]);
    }

    if (call->status == 401) {
        if (!sh->auth_failed || sh->auth_token != portal->token_crc) {
            sh->auth_token = portal->token_crc;
            sh->auth_logged = 0;
            sh->auth_failed = 1;
        }

        ngx_http_crmsync_act_end(a, NGX_HTTP_CRMSYNC_ACT_END_HOLD, NULL,
                                 "HubSpot answered 401", NULL, now, 1);
        return;
    }

    if (call->status == 429 || call->status == 423) {

        if (call->status == 429) {
            (void) ngx_atomic_fetch_add(&sh->r429, 1);
        }

        policy = NULL;
        root = NULL;

        if (call->answer) {
            root = json_loadb((const char *) call->answer, call->answer_len,
                              0, &err);
            policy = json_string_value(json_object_get(root, "policyName"));
        }

        if (call->status == 423) {
            until = now + 2000;

        } else if (policy && ngx_strcmp(policy, "SECONDLY") == 0) {
            until = now + 1000;

        } else if (policy && ngx_strcmp(policy, "DAILY") == 0) {
            until = (now / 86400000 + 1) * 86400000;

        } else {
            until = now + portal->window;
        }

        json_decref(root);

        if (a->flags & NGX_HTTP_CRMSYNC_ACT_SEARCH) {
            ngx_http_crmsync_shm_pause_search(ngx_http_crmsync_azctx, sh,
                                              until);
        } else {
            ngx_http_crmsync_shm_pause(ngx_http_crmsync_azctx, sh, until);
        }

        ngx_log_error(NGX_LOG_WARN, a->log, 0,
                      "crmsync: portal \"%V\" answered %l: calls pause for "
                      "%L ms", &portal->label, call->status, until - now);

        ngx_http_crmsync_act_end(a, NGX_HTTP_CRMSYNC_ACT_END_RETRY, NULL,
                                 "rate limited", NULL, until, 1);
        return;
    }

    a->handler(a);
}


/* "... Existing ID: 1234" */

ngx_int_t
ngx_http_crmsync_act_existing_id(ngx_http_crmsync_act_t *a, char *id,
    size_t size)
{
    u_char  *p, *q, *end;

    if (a->call.answer == NULL) {
        return NGX_DECLINED;
    }

    end = a->call.answer + a->call.answer_len;

    p = ngx_strlcasestrn(a->call.answer, end, (u_char *) "Existing ID:",
                         sizeof("Existing ID:") - 2);
    if (p == NULL) {
        return NGX_DECLINED;
    }

    p += sizeof("Existing ID:") - 1;

    while (p < end && *p == ' ') {
        p++;
    }

    for (q = p; q < end && *q >= '0' && *q <= '9'; q++) { /* void */ }

    if (q == p || (size_t) (q - p) >= size) {
        return NGX_DECLINED;
    }

    ngx_memcpy(id, p, q - p);
    id[q - p] = '\0';

    return NGX_OK;
}


static int64_t
ngx_http_crmsync_act_backoff(ngx_http_crmsync_store_job_t *job)
{
    int64_t  ms;

    ms = NGX_HTTP_CRMSYNC_ACT_BACKOFF_MIN;

    while (ms < NGX_HTTP_CRMSYNC_ACT_BACKOFF_MAX
           && ms < (NGX_HTTP_CRMSYNC_ACT_BACKOFF_MIN
                    << ngx_min(job->attempts, 20)) / 2)
    {
        ms *= 2;
    }

    ms = ngx_min(ms, NGX_HTTP_CRMSYNC_ACT_BACKOFF_MAX);

    return ms / 2 + (int64_t) (ngx_random() % (ms + 1));
}


void
ngx_http_crmsync_act_done(ngx_http_crmsync_act_t *a, const char *hubspot_id,
    const char *note)
{
    ngx_http_crmsync_act_end(a, NGX_HTTP_CRMSYNC_ACT_END_DONE, hubspot_id,
                             note, NULL, 0, 0);
}


void
ngx_http_crmsync_act_retry(ngx_http_crmsync_act_t *a, ngx_msec_t in,
    const char *error)
{
    int64_t  now;

    now = ngx_http_crmsync_now();

    ngx_http_crmsync_act_end(a, NGX_HTTP_CRMSYNC_ACT_END_RETRY, NULL, error,
                             NULL,
                             now + (in ? (int64_t) in
                                       : ngx_http_crmsync_act_backoff(a->job)),
                             0);
}


void
ngx_http_crmsync_act_dead(ngx_http_crmsync_act_t *a, const char *error,
    const char *category)
{
    ngx_http_crmsync_act_end(a, NGX_HTTP_CRMSYNC_ACT_END_DEAD, NULL, error,
                             category, 0, 0);
}


void
ngx_http_crmsync_act_failed(ngx_http_crmsync_act_t *a)
{
    size_t                        input_of;
    ngx_http_crmsync_hs_pace_e    pace;
    ngx_http_crmsync_hs_result_t  r;
    char                          correlation[64];

    ngx_memzero(&r, sizeof(ngx_http_crmsync_hs_result_t));
    input_of = 0;

    if (a->call.status >= 200 && a->call.status <= 299) {
        ngx_http_crmsync_act_retry(a, 0, "unexpected answer");
        return;
    }

    ngx_http_crmsync_hs_upsert_result((int) a->call.status, a->call.answer,
                                      a->call.answer_len, a->call.error, 1,
                                      &input_of, NULL, 1, &r, &pace,
                                      correlation, sizeof(correlation));

    if (r.outcome == NGX_HTTP_CRMSYNC_HS_DEAD) {
        ngx_http_crmsync_act_dead(a, r.reason, r.category);
        return;
    }

    ngx_http_crmsync_act_retry(a, 0, r.reason[0] ? r.reason : "failed");
}


/*
 * The contact of an action: its own, or else its conversation's.  NGX_OK
 * with a->contact set; NGX_AGAIN: the action ends (retried while the
 * conversation's contact may still come, then done "no_contact").
 */

ngx_int_t
ngx_http_crmsync_act_contact(ngx_http_crmsync_act_t *a)
{
    int                            found;
    int64_t                        age;
    ngx_http_crmsync_store_rc_e    rc;
    ngx_http_crmsync_store_conv_t  conv;

    if (a->contact[0]) {
        return NGX_OK;
    }

    if (a->conv.len) {
        rc = ngx_http_crmsync_store_conv_get(ngx_http_crmsync_store,
                                             (ngx_http_crmsync_str_t *)
                                             &a->portal->label,
                                             (ngx_http_crmsync_str_t *)
                                             &a->conv, &conv, &found);

        if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
            ngx_http_crmsync_act_retry(a, 50, "the store is busy");
            return NGX_AGAIN;
        }

        if (rc == NGX_HTTP_CRMSYNC_STORE_OK && found && conv.contact[0]) {
            ngx_cpystrn((u_char *) a->contact, (u_char *) conv.contact,
                        sizeof(a->contact));
            return NGX_OK;
        }
    }

    age = ngx_http_crmsync_now() - a->job->received_at;

    if (a->conv.len && age < (int64_t) ngx_http_crmsync_amcf->index_lag) {
        ngx_http_crmsync_act_end(a, NGX_HTTP_CRMSYNC_ACT_END_RETRY, NULL,
                                 "the conversation has no contact yet", NULL,
                                 ngx_http_crmsync_now() + 1000, 1);
        return NGX_AGAIN;
    }

    ngx_http_crmsync_act_done(a, NULL, "no_contact");
    return NGX_AGAIN;
}


static void
ngx_http_crmsync_act_end(ngx_http_crmsync_act_t *a, ngx_uint_t outcome,
    const char *hubspot_id, const char *note, const char *category,
    int64_t at, ngx_uint_t uncount)
{
    ngx_http_crmsync_aact_t  *aa;

    aa = (ngx_http_crmsync_aact_t *) a;

    if (a->ended) {
        ngx_log_error(NGX_LOG_ALERT, a->log, 0,
                      "crmsync: action %L ended twice", a->job->id);
        return;
    }

    a->ended = 1;

    if (a->timer.timer_set) {
        ngx_del_timer(&a->timer);
    }

    aa->outcome = outcome;
    aa->at = at;
    aa->uncount = uncount;
    aa->note[0] = '\0';
    aa->category[0] = '\0';

    if (note) {
        ngx_http_crmsync_hs_copy(aa->note, sizeof(aa->note), note,
                                 ngx_strlen(note));
    }

    if (category) {
        ngx_http_crmsync_hs_copy(aa->category, sizeof(aa->category),
                                 category, ngx_strlen(category));
    }

    /* the id written goes in "correlation"'s place until recorded */

    if (hubspot_id) {
        ngx_cpystrn((u_char *) a->contact, (u_char *) hubspot_id,
                    sizeof(a->contact));

    } else if (outcome == NGX_HTTP_CRMSYNC_ACT_END_DONE) {
        a->contact[0] = '\0';
    }

    aa->recording = 1;
    aa->record_since = ngx_current_msec;

    ngx_http_crmsync_act_record(a);
}


static void
ngx_http_crmsync_act_record(ngx_http_crmsync_act_t *a)
{
    int64_t                         now, at, id;
    ngx_uint_t                      i;
    const char                     *reason;
    ngx_http_crmsync_aact_t        *aa;
    ngx_http_crmsync_store_t       *st;
    ngx_http_crmsync_portal_t      *portal;
    ngx_http_crmsync_aaudit_t      *au;
    ngx_http_crmsync_store_rc_e     rc;
    ngx_http_crmsync_store_job_t   *job;
    ngx_http_crmsync_store_call_t   audit;
    char                            error[320];

    aa = (ngx_http_crmsync_aact_t *) a;
    st = ngx_http_crmsync_store;
    portal = a->portal;
    job = a->job;
    now = ngx_http_crmsync_now();

    rc = ngx_http_crmsync_store_begin_drain(st);

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY
        && ngx_current_msec - aa->record_since < NGX_HTTP_CRMSYNC_ACT_RECORD)
    {
        ngx_add_timer(&a->timer, 5);
        return;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto failed;
    }

    switch (aa->outcome) {

    case NGX_HTTP_CRMSYNC_ACT_END_DONE:
        rc = ngx_http_crmsync_store_done(st, job->id, job->lease, now,
                                         a->contact[0] ? a->contact : NULL,
                                         aa->note[0] ? aa->note : NULL);
        (void) ngx_atomic_fetch_add(&portal->sh->synced, 1);
        break;

    case NGX_HTTP_CRMSYNC_ACT_END_HOLD:
        rc = ngx_http_crmsync_store_hold(st, job->id, job->lease,
                                         "auth_failed", aa->note);
        break;

    case NGX_HTTP_CRMSYNC_ACT_END_RETRY:
        at = aa->at;

        if (aa->uncount
            || at <= job->received_at
                     + (int64_t) ngx_http_crmsync_amcf->retry_for)
        {
            rc = ngx_http_crmsync_store_retry(st, job->id, job->lease, at,
                                              aa->note, 0,
                                              aa->uncount ? 1 : 0);
            break;
        }

        ngx_snprintf((u_char *) error, sizeof(error) - 1,
                     "gave up after %d attempts: %s%Z", job->attempts,
                     aa->note);
        ngx_http_crmsync_hs_copy(aa->note, sizeof(aa->note), error,
                                 ngx_strlen(error));

        /* fall through */

    default: /* NGX_HTTP_CRMSYNC_ACT_END_DEAD */
        rc = ngx_http_crmsync_store_dead(st, job->id, job->lease, now,
                                         aa->note,
                                         aa->category[0] ? aa->category
                                                         : NULL,
                                         aa->correlation[0]
                                         ? aa->correlation : NULL);

        (void) ngx_atomic_fetch_add(&portal->sh->dead, 1);

        /* the store keeps HubSpot's message; the log masks it */

        ngx_cpystrn((u_char *) error, (u_char *) aa->note, sizeof(error));
        (void) ngx_http_crmsync_mask_text(error);

        ngx_log_error(NGX_LOG_WARN, a->log, 0,
                      "crmsync: action %L (%s) of portal \"%V\" "
                      "dead-lettered: %s%s%s%s%s", job->id,
                      ngx_http_crmsync_job_kind_names[job->kind],
                      &portal->label, error,
                      aa->category[0] ? ", category " : "", aa->category,
                      aa->correlation[0] ? ", correlationId " : "",
                      aa->correlation);
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto failed;
    }

    id = job->id;

    for (i = 0; i < aa->naudits; i++) {
        au = &aa->audits[i];

        ngx_memzero(&audit, sizeof(ngx_http_crmsync_store_call_t));

        audit.at = au->at;
        audit.portal.data = portal->label.data;
        audit.portal.len = portal->label.len;
        audit.method = au->method;
        audit.path = au->path;
        audit.status = au->status;
        audit.correlation = au->correlation;
        audit.error = au->error[0] ? au->error : NULL;
        audit.duration = au->duration;
        audit.jobs = &id;
        audit.njobs = 1;

        rc = ngx_http_crmsync_store_audit(st, &audit);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            goto failed;
        }
    }

    rc = ngx_http_crmsync_store_commit_drain(st);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto failed;
    }

    ngx_http_crmsync_act_free(a);
    return;

failed:

    ngx_http_crmsync_store_rollback_drain(st);

    reason = (rc == NGX_HTTP_CRMSYNC_STORE_BUSY)
             ? "the store stayed locked" : ngx_http_crmsync_store_error(st);

    ngx_log_error(NGX_LOG_ERR, a->log, 0,
                  "crmsync: the outcome of action %L of portal \"%V\" could "
                  "not be stored: %s; it runs again once its lease runs out",
                  job->id, &portal->label, reason);

    ngx_http_crmsync_act_free(a);
}


static void
ngx_http_crmsync_act_free(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_awp_t  *wp;

    wp = a->wp;

    if (a->timer.timer_set) {
        ngx_del_timer(&a->timer);
    }

    if (a->cleanup) {
        a->cleanup(a);
    }

    ngx_free(a->data);
    ngx_free(a->body);
    ngx_http_crmsync_call_free(&a->call);
    json_decref(a->payload);

    if (a->job) {
        ngx_http_crmsync_store_free_jobs(a->job, 1);
    }

    ngx_queue_remove(&a->queue);
    ngx_free(a);

    wp->in_flight--;

    /* its key is free: the actions it held back may go */
    wp->quiet_until = 0;
    ngx_http_crmsync_action_later(wp, 0);
}


/*
 * The idle sweep's payload: the same as a close makes in the
 * conversation's location.  Its memory lives until the sweep ends.
 */

static ngx_pool_t  *ngx_http_crmsync_sweep_pool;


int
ngx_http_crmsync_idle_payload(void *data, const char *conv,
    const char *location, ngx_http_crmsync_str_t *out)
{
    size_t                         len, i;
    u_char                        *p;
    ngx_str_t                      c, label;
    const char                    *type;
    ngx_http_crmsync_event_t       ev;
    ngx_http_crmsync_loc_conf_t  **loc, *cslcf;
    ngx_http_crmsync_main_conf_t  *mcf;

    mcf = data;
    loc = mcf->locations.elts;
    len = ngx_strlen(location);
    cslcf = NULL;

    for (i = 0; i < mcf->locations.nelts; i++) {
        if (loc[i]->clcf->name.len == len
            && ngx_strncmp(loc[i]->clcf->name.data, location, len) == 0)
        {
            cslcf = loc[i];
            break;
        }
    }

    if (cslcf == NULL
        || cslcf->transcript == NGX_HTTP_CRMSYNC_TRANSCRIPT_OFF)
    {
        /* the location writes no transcript (any more) */
        return 1;
    }

    ngx_memzero(&ev, sizeof(ngx_http_crmsync_event_t));
    ev.provider = cslcf->provider;
    ev.csat = -1;

    ngx_http_crmsync_channel(&ev, &label, &type);

    c.data = (u_char *) conv;
    c.len = ngx_strlen(conv);

    p = ngx_http_crmsync_transcript_payload(ngx_http_crmsync_sweep_pool,
                                            cslcf, &c, &label, type,
                                            ngx_http_crmsync_now(), &len);
    if (p == NULL) {
        return -1;
    }

    out->data = p;
    out->len = len;

    return 0;
}


/*
 * The idle sweep: a conversation quiet for its crmsync_transcript_idle
 * gets its transcript, and a flag past its crmsync_flag idle= is cleared.
 * The store picks the conversations and flags and adds the actions in
 * one transaction each, so that one worker does each.
 */

static void
ngx_http_crmsync_action_sweep(ngx_event_t *ev)
{
    size_t                        n, m;
    ngx_uint_t                    i;
    ngx_http_crmsync_store_rc_e   rc;

    if (ngx_exiting || ngx_http_crmsync_amcf == NULL) {
        return;
    }

    n = 0;
    rc = NGX_HTTP_CRMSYNC_STORE_OK;

    if (ngx_http_crmsync_store) {
        ngx_http_crmsync_sweep_pool = ngx_create_pool(4096, ev->log);
        if (ngx_http_crmsync_sweep_pool == NULL) {
            ngx_add_timer(ev, NGX_HTTP_CRMSYNC_ACT_SWEEP);
            return;
        }

        rc = ngx_http_crmsync_store_conv_sweep(ngx_http_crmsync_store,
                                               ngx_http_crmsync_now(), 100,
                                               ngx_http_crmsync_idle_payload,
                                               ngx_http_crmsync_amcf, &n);

        ngx_destroy_pool(ngx_http_crmsync_sweep_pool);
        ngx_http_crmsync_sweep_pool = NULL;

        /* crmsync_flag idle=: the flags that clear by themselves */

        if (rc == NGX_HTTP_CRMSYNC_STORE_OK) {
            rc = ngx_http_crmsync_store_flag_sweep(ngx_http_crmsync_store,
                                                   ngx_http_crmsync_now(),
                                                   100, &m);
            n += m;
        }

        if (rc == NGX_HTTP_CRMSYNC_STORE_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                          "crmsync: the idle sweep failed: %s",
                          ngx_http_crmsync_store_error(
                              ngx_http_crmsync_store));
        }
    }

    if (n) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                       "crmsync idle sweep: %uz transcripts and flags", n);

        for (i = 0; i < ngx_http_crmsync_nawps; i++) {
            ngx_http_crmsync_action_later(&ngx_http_crmsync_awps[i], 0);
        }
    }

    ngx_add_timer(ev, (n == 100 || rc == NGX_HTTP_CRMSYNC_STORE_BUSY)
                      ? 50 : NGX_HTTP_CRMSYNC_ACT_SWEEP);
}


/*
 * crmsync_flag: a boolean contact property that is true while the
 * contact has an open conversation that matched the flag's when=.  The
 * property is created at first use when the portal lacks it.
 */

#define NGX_HTTP_CRMSYNC_FLAG_PROP     0
#define NGX_HTTP_CRMSYNC_FLAG_CREATE   1
#define NGX_HTTP_CRMSYNC_FLAG_SET      2
#define NGX_HTTP_CRMSYNC_FLAG_CLEARED  3


static void ngx_http_crmsync_flag_step(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_flag_write(ngx_http_crmsync_act_t *a);


static ngx_uint_t
ngx_http_crmsync_flag_known(ngx_http_crmsync_act_t *a, const char *name,
    ngx_uint_t add)
{
    size_t                   len;
    ngx_str_t               *s;
    ngx_uint_t               i;
    ngx_http_crmsync_awp_t  *wp;

    wp = a->wp;
    s = wp->flags.elts;
    len = ngx_strlen(name);

    for (i = 0; i < wp->flags.nelts; i++) {
        if (s[i].len == len && ngx_strncmp(s[i].data, name, len) == 0) {
            return 1;
        }
    }

    if (add) {
        s = ngx_array_push(&wp->flags);
        if (s == NULL) {
            return 0;
        }

        s->data = ngx_pnalloc(wp->flags.pool, len);
        if (s->data == NULL) {
            wp->flags.nelts--;
            return 0;
        }

        ngx_memcpy(s->data, name, len);
        s->len = len;
    }

    return 0;
}


void
ngx_http_crmsync_act_flag(ngx_http_crmsync_act_t *a)
{
    const char  *property;
    char         path[256];

    property = json_string_value(json_object_get(a->payload, "property"));

    if (property == NULL || a->conv.len == 0 || a->conv.len > 400
        || ngx_strlen(property) > 200
        || !json_is_boolean(json_object_get(a->payload, "open")))
    {
        ngx_http_crmsync_act_dead(a, "bad_payload", "CRMSYNC");
        return;
    }

    if (ngx_http_crmsync_act_contact(a) != NGX_OK) {
        return;
    }

    if (ngx_http_crmsync_flag_known(a, property, 0)) {
        ngx_http_crmsync_flag_write(a);
        return;
    }

    a->step = NGX_HTTP_CRMSYNC_FLAG_PROP;

    ngx_snprintf((u_char *) path, sizeof(path) - 1,
                 "/crm/v3/properties/contacts/%s%Z", property);

    ngx_http_crmsync_act_call(a, "GET", path, NULL, 0,
                              ngx_http_crmsync_flag_step);
}


static void
ngx_http_crmsync_flag_step(ngx_http_crmsync_act_t *a)
{
    json_t      *body, *options;
    const char  *property;

    property = json_string_value(json_object_get(a->payload, "property"));

    switch (a->step) {

    case NGX_HTTP_CRMSYNC_FLAG_PROP:

        if (a->call.status == 200) {
            (void) ngx_http_crmsync_flag_known(a, property, 1);
            ngx_http_crmsync_flag_write(a);
            return;
        }

        if (a->call.status != 404) {
            ngx_http_crmsync_act_failed(a);
            return;
        }

        options = json_pack("[{s:s,s:s,s:i},{s:s,s:s,s:i}]",
                            "label", "Yes", "value", "true", "displayOrder", 0,
                            "label", "No", "value", "false",
                            "displayOrder", 1);

        body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}",
                         "name", property, "label", property,
                         "description", "Set by crmsync_flag: true while the "
                         "contact has an open conversation that matched",
                         "groupName", "contactinformation", "type", "bool",
                         "fieldType", "booleancheckbox", "options", options);
        if (body == NULL) {
            ngx_http_crmsync_act_retry(a, 0, "no memory");
            return;
        }

        ngx_log_error(NGX_LOG_NOTICE, a->log, 0,
                      "crmsync: portal \"%V\" has no contact property "
                      "\"%s\" (crmsync_flag): creating it",
                      &a->portal->label, property);

        a->step = NGX_HTTP_CRMSYNC_FLAG_CREATE;
        ngx_http_crmsync_act_call(a, "POST", "/crm/v3/properties/contacts",
                                  body, 0, ngx_http_crmsync_flag_step);
        return;

    case NGX_HTTP_CRMSYNC_FLAG_CREATE:

        /* 409: another worker made it meanwhile */

        if (a->call.status != 201 && a->call.status != 200
            && a->call.status != 409)
        {
            ngx_http_crmsync_act_failed(a);
            return;
        }

        (void) ngx_http_crmsync_flag_known(a, property, 1);
        ngx_http_crmsync_flag_write(a);
        return;

    default: /* the PATCH answered */

        if (a->call.status == 200) {
            ngx_http_crmsync_act_done(a, NULL,
                                      a->step == NGX_HTTP_CRMSYNC_FLAG_SET
                                      ? "set" : "cleared");
            return;
        }

        /* not written: the next attempt writes it again */

        (void) ngx_http_crmsync_store_flag_unwritten(ngx_http_crmsync_store,
                   (ngx_http_crmsync_str_t *) &a->portal->label, a->contact,
                   property);

        ngx_http_crmsync_act_failed(a);
    }
}


/* the store says whether the contact's value changes; then the PATCH */

static void
ngx_http_crmsync_flag_write(ngx_http_crmsync_act_t *a)
{
    int                           open, any, changed;
    char                          path[128], conv[512];
    json_t                       *body, *idle;
    int64_t                       due;
    const char                   *property;
    ngx_http_crmsync_store_rc_e   rc;

    property = json_string_value(json_object_get(a->payload, "property"));
    idle = json_object_get(a->payload, "idle");
    due = 0;

    if (json_is_true(json_object_get(a->payload, "open"))) {
        open = NGX_HTTP_CRMSYNC_STORE_FLAG_OPEN;

        /* crmsync_flag idle=: it clears by itself so long after this */

        if (json_is_integer(idle) && json_integer_value(idle) > 0) {
            due = ngx_http_crmsync_now() + json_integer_value(idle);
        }

    } else {
        /* the idle sweep's close, or a conversation's */
        open = json_is_true(idle) ? NGX_HTTP_CRMSYNC_STORE_FLAG_IDLE
                                  : NGX_HTTP_CRMSYNC_STORE_FLAG_CLOSE;
    }

    ngx_memcpy(conv, a->conv.data, a->conv.len);
    conv[a->conv.len] = '\0';

    rc = ngx_http_crmsync_store_flag(ngx_http_crmsync_store,
                                     (ngx_http_crmsync_str_t *)
                                     &a->portal->label, conv, property,
                                     a->contact, open, due, &any, &changed);

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
        ngx_http_crmsync_act_later(a, 5, ngx_http_crmsync_flag_write);
        return;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        ngx_http_crmsync_act_retry(a, 0,
                                   ngx_http_crmsync_store_error(
                                       ngx_http_crmsync_store));
        return;
    }

    if (!changed) {
        ngx_http_crmsync_act_done(a, NULL, "unchanged");
        return;
    }

    body = json_pack("{s:{s:s}}", "properties", property,
                     any ? "true" : "false");
    if (body == NULL) {
        (void) ngx_http_crmsync_store_flag_unwritten(ngx_http_crmsync_store,
                   (ngx_http_crmsync_str_t *) &a->portal->label, a->contact,
                   property);
        ngx_http_crmsync_act_retry(a, 0, "no memory");
        return;
    }

    a->step = any ? NGX_HTTP_CRMSYNC_FLAG_SET : NGX_HTTP_CRMSYNC_FLAG_CLEARED;

    ngx_snprintf((u_char *) path, sizeof(path) - 1,
                 "/crm/v3/objects/contacts/%s%Z", a->contact);

    ngx_http_crmsync_act_call(a, "PATCH", path, body, 0,
                              ngx_http_crmsync_flag_step);
}

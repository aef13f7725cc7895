
/*
 * Copyright (C) crmsync authors
 *
 * The job state machine, per worker and portal: claim due jobs from the
 * store under a lease, take a call from the portal's shared budget, send
 * one batch, and record each job's outcome with the claim's fencing
 * token: done, retried with back-off, held, or dead-lettered with
 * HubSpot's reason.  Every call is kept in the audit trail.
 *
 * Any worker of any generation drains any job: a job whose worker died
 * falls due again when its lease runs out.  SQL stays in store.c, HubSpot's
 * shapes in hubspot.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_module.h"
#include "ngx_http_crmsync_store.h"
#include "ngx_http_crmsync_client.h"
#include "ngx_http_crmsync_hubspot.h"


#define NGX_HTTP_CRMSYNC_IN_FLIGHT      2       /* calls a portal, a worker */
#define NGX_HTTP_CRMSYNC_POLL           1000    /* ms: jobs of others */
#define NGX_HTTP_CRMSYNC_PRUNE          60000   /* ms */
#define NGX_HTTP_CRMSYNC_BACKOFF_MIN    1000    /* ms */
#define NGX_HTTP_CRMSYNC_BACKOFF_MAX    900000  /* ms: 15 min */
#define NGX_HTTP_CRMSYNC_AUTH_LOG       60000   /* ms between auth errors */
#define NGX_HTTP_CRMSYNC_RECORD_RETRY   5       /* ms */


typedef struct {
    ngx_http_crmsync_portal_t      *portal;
    ngx_event_t                     timer;
    ngx_connection_t                dummy;
    ngx_uint_t                      in_flight;
    char                            path[128];
} ngx_http_crmsync_wportal_t;


typedef struct {
    ngx_http_crmsync_call_t         call;
    ngx_http_crmsync_wportal_t     *wp;

    ngx_http_crmsync_store_job_t   *jobs;
    size_t                          claimed;    /* jobs to free */
    size_t                          njobs;      /* jobs in the call */
    size_t                          ninputs;
    size_t                          input_of[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_http_crmsync_str_t          emails[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_http_crmsync_hs_result_t    results[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_http_crmsync_hs_pace_e      pace;
    char                            correlation[64];

    ngx_event_t                     record;     /* the store was busy */
    ngx_connection_t                dummy;
    ngx_msec_t                      record_since;
} ngx_http_crmsync_batch_t;


static void ngx_http_crmsync_sync_handler(ngx_event_t *ev);
static void ngx_http_crmsync_sync_done(ngx_http_crmsync_call_t *call);
static void ngx_http_crmsync_sync_record(ngx_event_t *ev);
static void ngx_http_crmsync_sync_free(ngx_http_crmsync_batch_t *b);
static void ngx_http_crmsync_prune_handler(ngx_event_t *ev);
static void ngx_http_crmsync_drain_handler(ngx_event_t *ev);


static ngx_http_crmsync_wportal_t    *ngx_http_crmsync_wportals;
static ngx_uint_t                     ngx_http_crmsync_nwportals;
static ngx_http_crmsync_main_conf_t  *ngx_http_crmsync_mcf;
static ngx_http_crmsync_zone_ctx_t   *ngx_http_crmsync_zctx;
static ngx_event_t                    ngx_http_crmsync_prune_ev;
static ngx_event_t                    ngx_http_crmsync_drain_ev;
static ngx_connection_t               ngx_http_crmsync_sync_dummy;
static ngx_uint_t                     ngx_http_crmsync_batches;


ngx_int_t
ngx_http_crmsync_sync_init_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_http_crmsync_wportal_t  *wp;
    ngx_http_crmsync_portal_t   *portal;

    ngx_http_crmsync_mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                   ngx_http_crmsync_module);
    ngx_http_crmsync_zctx = ngx_http_crmsync_mcf->zone->data;

    if (ngx_http_crmsync_client_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    portal = ngx_http_crmsync_mcf->portals.elts;
    ngx_http_crmsync_nwportals = ngx_http_crmsync_mcf->portals.nelts;

    ngx_http_crmsync_wportals = ngx_pcalloc(cycle->pool,
                                    ngx_http_crmsync_nwportals
                                    * sizeof(ngx_http_crmsync_wportal_t));
    if (ngx_http_crmsync_wportals == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ngx_http_crmsync_nwportals; i++) {
        wp = &ngx_http_crmsync_wportals[i];
        wp->portal = &portal[i];
        portal[i].worker = wp;

        if (ngx_http_crmsync_hs_upsert_path((char *) portal[i].api.data,
                                            wp->path, sizeof(wp->path))
            == NULL)
        {
            return NGX_ERROR;
        }

        wp->dummy.fd = (ngx_socket_t) -1;
        wp->dummy.data = wp;
        wp->timer.handler = ngx_http_crmsync_sync_handler;
        wp->timer.data = &wp->dummy;
        wp->timer.log = cycle->log;
        wp->timer.cancelable = 1;

        ngx_add_timer(&wp->timer, (ngx_msec_t) (ngx_random() % 100));
    }

    ngx_http_crmsync_sync_dummy.fd = (ngx_socket_t) -1;

    ngx_http_crmsync_prune_ev.handler = ngx_http_crmsync_prune_handler;
    ngx_http_crmsync_prune_ev.data = &ngx_http_crmsync_sync_dummy;
    ngx_http_crmsync_prune_ev.log = cycle->log;
    ngx_http_crmsync_prune_ev.cancelable = 1;

    ngx_add_timer(&ngx_http_crmsync_prune_ev,
                  NGX_HTTP_CRMSYNC_PRUNE / 2
                  + ngx_random() % NGX_HTTP_CRMSYNC_PRUNE);

    /* not cancelable: a gracefully exiting worker waits for its calls */

    ngx_http_crmsync_drain_ev.handler = ngx_http_crmsync_drain_handler;
    ngx_http_crmsync_drain_ev.data = &ngx_http_crmsync_sync_dummy;
    ngx_http_crmsync_drain_ev.log = cycle->log;

    return NGX_OK;
}


void
ngx_http_crmsync_sync_exit_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t  i;

    if (ngx_http_crmsync_mcf == NULL) {
        return;
    }

    /* calls still in flight end here; their jobs go back to the queue */

    ngx_http_crmsync_client_exit();

    for (i = 0; i < ngx_http_crmsync_nwportals; i++) {
        if (ngx_http_crmsync_wportals[i].timer.timer_set) {
            ngx_del_timer(&ngx_http_crmsync_wportals[i].timer);
        }
    }

    if (ngx_http_crmsync_prune_ev.timer_set) {
        ngx_del_timer(&ngx_http_crmsync_prune_ev);
    }

    if (ngx_http_crmsync_drain_ev.timer_set) {
        ngx_del_timer(&ngx_http_crmsync_drain_ev);
    }

    /* and whatever a lost race left leased to this worker */

    if (ngx_http_crmsync_store) {
        (void) ngx_http_crmsync_store_release(ngx_http_crmsync_store,
                                              ngx_http_crmsync_owner,
                                              ngx_http_crmsync_now());
    }

    ngx_http_crmsync_mcf = NULL;
}


void
ngx_http_crmsync_sync_kick(ngx_http_crmsync_portal_t *portal,
    ngx_msec_t delay)
{
    ngx_http_crmsync_wportal_t  *wp;

    wp = portal->worker;

    if (wp == NULL || ngx_exiting) {
        return;
    }

    if (wp->timer.timer_set) {
        if (wp->timer.timer.key <= ngx_current_msec + delay) {
            return;
        }

        ngx_del_timer(&wp->timer);
    }

    ngx_add_timer(&wp->timer, delay);
}


static void
ngx_http_crmsync_sync_later(ngx_http_crmsync_wportal_t *wp, ngx_msec_t ms)
{
    if (wp->timer.timer_set) {
        ngx_del_timer(&wp->timer);
    }

    ngx_add_timer(&wp->timer, ms);
}


/*
 * A reload with a new token resumes what the old one held: the first
 * worker of the new configuration that sees the portal marked failed for
 * another token puts its held jobs back in the queue.
 */

static void
ngx_http_crmsync_auth_resume(ngx_http_crmsync_portal_t *portal)
{
    int64_t                        n;
    ngx_http_crmsync_portal_sh_t  *sh;

    sh = portal->sh;

    if (!sh->auth_failed || sh->auth_token == portal->token_crc) {
        return;
    }

    if (ngx_http_crmsync_store_unhold(ngx_http_crmsync_store,
                                      (ngx_http_crmsync_str_t *)
                                      &portal->label, "auth_failed",
                                      ngx_http_crmsync_now(), &n)
        != NGX_HTTP_CRMSYNC_STORE_OK)
    {
        return;     /* the store is busy: the next turn tries again */
    }

    sh->auth_failed = 0;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "crmsync: portal \"%V\" has a new token: %L held jobs "
                  "resume", &portal->label, n);
}


static ngx_uint_t
ngx_http_crmsync_auth_failed(ngx_http_crmsync_portal_t *portal, int64_t now)
{
    ngx_http_crmsync_portal_sh_t  *sh;

    sh = portal->sh;

    if (!sh->auth_failed || sh->auth_token != portal->token_crc) {
        return 0;
    }

    if (now - sh->auth_logged >= NGX_HTTP_CRMSYNC_AUTH_LOG) {
        sh->auth_logged = now;

        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "crmsync: HubSpot refuses the token of portal \"%V\" "
                      "(401): its jobs are held; fix the token file \"%V\" "
                      "and reload nginx", &portal->label, &portal->token_file);
    }

    return 1;
}


static void
ngx_http_crmsync_sync_handler(ngx_event_t *ev)
{
    size_t                         i, n, k;
    int64_t                        now, due;
    ngx_msec_t                     wait;
    ngx_connection_t              *c;
    ngx_http_crmsync_batch_t      *b;
    ngx_http_crmsync_portal_t     *portal;
    ngx_http_crmsync_wportal_t    *wp;
    ngx_http_crmsync_store_t      *st;
    ngx_http_crmsync_store_rc_e    rc;
    ngx_http_crmsync_store_job_t  *jobs;
    ngx_http_crmsync_str_t         payloads[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];

    c = ev->data;
    wp = c->data;
    portal = wp->portal;
    st = ngx_http_crmsync_store;

    if (ngx_exiting) {
        return;
    }

    if (st == NULL) {
        /* the store is not open (yet): ingest.c tries again */
        ngx_http_crmsync_sync_later(wp, NGX_HTTP_CRMSYNC_POLL);
        return;
    }

    if (wp->in_flight >= NGX_HTTP_CRMSYNC_IN_FLIGHT) {
        return;     /* a call's end kicks again */
    }

    ngx_http_crmsync_auth_resume(portal);

    now = ngx_http_crmsync_now();

    rc = ngx_http_crmsync_store_next_due(st,
                                         (ngx_http_crmsync_str_t *)
                                         &portal->label, &due);

    /*
     * The oldest due job waits for crmsync_batch_linger, so that the jobs
     * arriving meanwhile go out in the same call; a backlog goes at once.
     */

    if (due >= 0) {
        due += (int64_t) ngx_http_crmsync_mcf->linger;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK || due < 0 || due > now) {
        wait = NGX_HTTP_CRMSYNC_POLL;

        if (rc == NGX_HTTP_CRMSYNC_STORE_OK && due > now
            && due - now < NGX_HTTP_CRMSYNC_POLL)
        {
            wait = (ngx_msec_t) (due - now);
        }

        ngx_http_crmsync_sync_later(wp, wait);
        return;
    }

    if (ngx_http_crmsync_auth_failed(portal, now)) {

        /* hold what falls due: nothing is sent with a refused token */

        rc = ngx_http_crmsync_store_claim(st, (ngx_http_crmsync_str_t *)
                                          &portal->label, now, 60000,
                                          ngx_http_crmsync_owner,
                                          NGX_HTTP_CRMSYNC_HS_BATCH_MAX,
                                          &jobs, &n);

        if (rc == NGX_HTTP_CRMSYNC_STORE_OK && n
            && ngx_http_crmsync_store_begin_drain(st)
               == NGX_HTTP_CRMSYNC_STORE_OK)
        {
            for (i = 0; i < n; i++) {
                (void) ngx_http_crmsync_store_hold(st, jobs[i].id,
                                                   jobs[i].lease,
                                                   "auth_failed",
                                                   "HubSpot answered 401");
            }

            if (ngx_http_crmsync_store_commit_drain(st)
                != NGX_HTTP_CRMSYNC_STORE_OK)
            {
                ngx_http_crmsync_store_rollback_drain(st);
            }
        }

        ngx_http_crmsync_store_free_jobs(jobs, n);
        ngx_http_crmsync_sync_later(wp, NGX_HTTP_CRMSYNC_POLL);
        return;
    }

    wait = ngx_http_crmsync_shm_take(ngx_http_crmsync_zctx, portal->sh,
                                     portal->rate, portal->window,
                                     portal->daily, now);
    if (wait) {
        ngx_http_crmsync_sync_later(wp, wait);
        return;
    }

    rc = ngx_http_crmsync_store_claim(st, (ngx_http_crmsync_str_t *)
                                      &portal->label, now,
                                      portal->timeout + 30000,
                                      ngx_http_crmsync_owner,
                                      NGX_HTTP_CRMSYNC_HS_BATCH_MAX,
                                      &jobs, &n);

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK || n == 0) {
        /* no call goes out: its place in the budget is free again */
        ngx_http_crmsync_shm_give_back(ngx_http_crmsync_zctx, portal->sh,
                                       now);

        if (rc == NGX_HTTP_CRMSYNC_STORE_ERROR) {
            ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                          "crmsync: claiming jobs of portal \"%V\" failed: "
                          "%s", &portal->label,
                          ngx_http_crmsync_store_error(st));
        }

        ngx_http_crmsync_sync_later(wp, rc == NGX_HTTP_CRMSYNC_STORE_BUSY
                                        ? 5 : NGX_HTTP_CRMSYNC_POLL);
        return;
    }

    b = ngx_calloc(sizeof(ngx_http_crmsync_batch_t), ev->log);
    if (b == NULL) {
        (void) ngx_http_crmsync_store_release(st, ngx_http_crmsync_owner,
                                              now);
        ngx_http_crmsync_store_free_jobs(jobs, n);
        ngx_http_crmsync_sync_later(wp, NGX_HTTP_CRMSYNC_POLL);
        return;
    }

    b->wp = wp;
    b->jobs = jobs;
    b->claimed = n;
    b->njobs = n;

    /*
     * A job refused with others is sent alone, to find the bad input;
     * it goes first, and the rest wait for the next call.
     */

    if (n > 1 && jobs[0].solo) {
        b->njobs = 1;
    }

    for (i = 1; i < b->njobs; i++) {
        if (jobs[i].solo) {
            b->njobs = i;
            break;
        }
    }

    if (b->njobs < n
        && ngx_http_crmsync_store_begin_drain(st) == NGX_HTTP_CRMSYNC_STORE_OK)
    {
        for (i = b->njobs; i < n; i++) {
            (void) ngx_http_crmsync_store_retry(st, jobs[i].id, jobs[i].lease,
                                                now, NULL, 0, 1);
        }

        if (ngx_http_crmsync_store_commit_drain(st)
            != NGX_HTTP_CRMSYNC_STORE_OK)
        {
            ngx_http_crmsync_store_rollback_drain(st);
        }
    }

    b->dummy.fd = (ngx_socket_t) -1;
    b->dummy.data = b;
    b->record.handler = ngx_http_crmsync_sync_record;
    b->record.data = &b->dummy;
    b->record.log = ev->log;

    for (i = 0; i < b->njobs; i++) {
        payloads[i] = jobs[i].payload;
    }

    b->call.body = (u_char *) ngx_http_crmsync_hs_upsert_body(payloads,
                       b->njobs, b->input_of, &b->ninputs, b->results);

    for (i = 0; i < b->njobs; i++) {
        k = b->input_of[i];

        if (k < b->ninputs) {
            b->emails[k] = jobs[i].match_key;
        }
    }

    if (b->call.body == NULL) {
        /* nothing to send: the builder refused every payload */
        b->call.status = -1;
        ngx_http_crmsync_sync_record(&b->record);
        ngx_http_crmsync_sync_later(wp, 0);
        return;
    }

    b->call.method = "POST";
    b->call.body_len = ngx_strlen(b->call.body);
    b->call.token = portal->token;
    b->call.ca_file = portal->ca_file;
    b->call.timeout = portal->timeout;
    b->call.handler = ngx_http_crmsync_sync_done;
    b->call.data = b;

    ngx_snprintf(b->call.url, sizeof(b->call.url) - 1, "%V%s%Z",
                 &portal->url, wp->path);

    if (ngx_http_crmsync_client_send(&b->call) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "crmsync: a call to portal \"%V\" could not start",
                      &portal->label);
        ngx_cpystrn((u_char *) b->call.error, (u_char *) "could not start",
                    sizeof(b->call.error));
        b->call.status = 0;
        wp->in_flight++;
        ngx_http_crmsync_batches++;
        ngx_http_crmsync_sync_done(&b->call);
        return;
    }

    wp->in_flight++;
    ngx_http_crmsync_batches++;

    if (!ngx_http_crmsync_drain_ev.timer_set) {
        ngx_add_timer(&ngx_http_crmsync_drain_ev, portal->timeout + 1000);
    }

    (void) ngx_atomic_fetch_add(&portal->sh->calls, 1);

    /* more may be due: the next batch goes out alongside */
    ngx_http_crmsync_sync_later(wp, 0);
}


static void
ngx_http_crmsync_sync_done(ngx_http_crmsync_call_t *call)
{
    size_t                          i;
    int64_t                         now, until;
    ngx_http_crmsync_batch_t       *b;
    ngx_http_crmsync_portal_t      *portal;
    ngx_http_crmsync_portal_sh_t   *sh;

    b = call->data;
    portal = b->wp->portal;
    sh = portal->sh;
    now = ngx_http_crmsync_now();

    if (call->aborted) {
        for (i = 0; i < b->njobs; i++) {
            b->results[i].outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
            ngx_cpystrn((u_char *) b->results[i].reason,
                        (u_char *) "worker exiting",
                        sizeof(b->results[i].reason));
        }

    } else {
        ngx_http_crmsync_hs_upsert_result((int) call->status, call->answer,
                                          call->answer_len, call->error,
                                          b->njobs, b->input_of, b->emails,
                                          b->ninputs, b->results, &b->pace,
                                          b->correlation,
                                          sizeof(b->correlation));
    }

    if (call->correlation[0] == '\0' && b->correlation[0]) {
        ngx_cpystrn((u_char *) call->correlation, (u_char *) b->correlation,
                    sizeof(call->correlation));
    }

    if (call->status == 429) {
        (void) ngx_atomic_fetch_add(&sh->r429, 1);
    }

    if (!call->aborted && (call->status == 0 || call->status >= 500)) {
        (void) ngx_atomic_fetch_add(&sh->errors, 1);

        if (call->status) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "crmsync: portal \"%V\": %s %s answered %l, "
                          "%uz jobs will be retried", &portal->label,
                          call->method, b->wp->path, call->status, b->njobs);

        } else {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "crmsync: portal \"%V\": %s %s failed: %s, "
                          "%uz jobs will be retried", &portal->label,
                          call->method, b->wp->path, call->error, b->njobs);
        }
    }

    switch (b->pace) {

    case NGX_HTTP_CRMSYNC_HS_PACE_ROLLING:
        until = now + portal->window;
        break;

    case NGX_HTTP_CRMSYNC_HS_PACE_SECONDLY:
        until = now + 1000;
        break;

    case NGX_HTTP_CRMSYNC_HS_PACE_DAILY:
        until = (now / 86400000 + 1) * 86400000;
        break;

    case NGX_HTTP_CRMSYNC_HS_PACE_LOCKED:
        until = now + 2000;
        break;

    default:
        until = 0;
    }

    if (until) {
        ngx_http_crmsync_shm_pause(ngx_http_crmsync_zctx, sh, until);

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "crmsync: portal \"%V\" answered %l: calls pause for "
                      "%L ms", &portal->label, call->status, until - now);
    }

    for (i = 0; i < b->njobs; i++) {
        if (b->results[i].outcome == NGX_HTTP_CRMSYNC_HS_AUTH) {
            if (!sh->auth_failed || sh->auth_token != portal->token_crc) {
                sh->auth_token = portal->token_crc;
                sh->auth_logged = 0;
                sh->auth_failed = 1;
            }

            (void) ngx_http_crmsync_auth_failed(portal, now);
            break;
        }
    }

    b->record_since = ngx_current_msec;

    ngx_http_crmsync_sync_record(&b->record);
}


static int64_t
ngx_http_crmsync_backoff(ngx_http_crmsync_store_job_t *job)
{
    int64_t  ms;

    ms = NGX_HTTP_CRMSYNC_BACKOFF_MIN;

    while (ms < NGX_HTTP_CRMSYNC_BACKOFF_MAX
           && ms < (NGX_HTTP_CRMSYNC_BACKOFF_MIN << ngx_min(job->attempts, 20))
              / 2)
    {
        ms *= 2;
    }

    ms = ngx_min(ms, NGX_HTTP_CRMSYNC_BACKOFF_MAX);

    /* jitter: between half and one and a half of it */

    return ms / 2 + (int64_t) (ngx_random() % (ms + 1));
}


static void
ngx_http_crmsync_sync_record(ngx_event_t *ev)
{
    size_t                          i;
    int64_t                         now, at, ids[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_uint_t                      synced, dead;
    ngx_connection_t               *c;
    ngx_http_crmsync_batch_t       *b;
    ngx_http_crmsync_store_t       *st;
    ngx_http_crmsync_portal_t      *portal;
    ngx_http_crmsync_store_rc_e     rc;
    ngx_http_crmsync_store_job_t   *job;
    ngx_http_crmsync_store_call_t   audit;
    ngx_http_crmsync_hs_result_t   *r;
    char                            error[320];

    c = ev->data;
    b = c->data;
    portal = b->wp->portal;
    st = ngx_http_crmsync_store;
    now = ngx_http_crmsync_now();

    synced = 0;
    dead = 0;

    rc = ngx_http_crmsync_store_begin_drain(st);

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY
        && ngx_current_msec - b->record_since < 3000)
    {
        ngx_add_timer(&b->record, NGX_HTTP_CRMSYNC_RECORD_RETRY);
        return;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto failed;
    }

    for (i = 0; i < b->njobs; i++) {
        job = &b->jobs[i];
        r = &b->results[i];
        ids[i] = job->id;

        switch (r->outcome) {

        case NGX_HTTP_CRMSYNC_HS_DONE:
            rc = ngx_http_crmsync_store_done(st, job->id, job->lease, now,
                                             r->id, NULL);
            synced++;
            break;

        case NGX_HTTP_CRMSYNC_HS_SOLO:
            rc = ngx_http_crmsync_store_retry(st, job->id, job->lease, now,
                                              r->reason, 1, 1);
            break;

        case NGX_HTTP_CRMSYNC_HS_AUTH:
            rc = ngx_http_crmsync_store_hold(st, job->id, job->lease,
                                             "auth_failed", r->reason);
            break;

        case NGX_HTTP_CRMSYNC_HS_RETRY:

            if (b->call.aborted || b->pace != NGX_HTTP_CRMSYNC_HS_PACE_NONE) {
                /* not the job's fault: no attempt counted */
                at = (b->pace == NGX_HTTP_CRMSYNC_HS_PACE_NONE)
                     ? now : portal->sh->pause_until;

                rc = ngx_http_crmsync_store_retry(st, job->id, job->lease,
                                                  at, r->reason, 0, 1);
                break;
            }

            at = now + ngx_http_crmsync_backoff(job);

            if (at <= job->received_at
                      + (int64_t) ngx_http_crmsync_mcf->retry_for)
            {
                rc = ngx_http_crmsync_store_retry(st, job->id, job->lease,
                                                  at, r->reason, 0, 0);
                break;
            }

            ngx_snprintf((u_char *) error, sizeof(error) - 1,
                         "gave up after %d attempts: %s%Z", job->attempts,
                         r->reason);
            ngx_cpystrn((u_char *) r->reason, (u_char *) error,
                        sizeof(r->reason));

            /* fall through */

        default: /* NGX_HTTP_CRMSYNC_HS_DEAD */
            rc = ngx_http_crmsync_store_dead(st, job->id, job->lease, now,
                                             r->reason, r->category,
                                             b->call.correlation);
            dead++;

            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "crmsync: job %L of portal \"%V\" dead-lettered: "
                          "%s%s%s%s%s", job->id, &portal->label, r->reason,
                          r->category[0] ? ", category " : "", r->category,
                          b->call.correlation[0] ? ", correlationId " : "",
                          b->call.correlation);
        }

        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            goto failed;
        }
    }

    if (b->call.status != -1) {
        ngx_memzero(&audit, sizeof(ngx_http_crmsync_store_call_t));

        audit.at = now - b->call.duration;
        audit.portal.data = portal->label.data;
        audit.portal.len = portal->label.len;
        audit.method = b->call.method;
        audit.path = b->wp->path;
        audit.status = (int) b->call.status;
        audit.correlation = b->call.correlation;
        audit.error = (b->call.status == 0) ? b->call.error
                      : (b->call.status >= 400 && b->njobs)
                        ? b->results[0].reason : NULL;
        audit.duration = b->call.duration;
        audit.jobs = ids;
        audit.njobs = b->njobs;

        rc = ngx_http_crmsync_store_audit(st, &audit);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            goto failed;
        }
    }

    rc = ngx_http_crmsync_store_commit_drain(st);
    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto failed;
    }

    (void) ngx_atomic_fetch_add(&portal->sh->synced, synced);
    (void) ngx_atomic_fetch_add(&portal->sh->dead, dead);

    ngx_http_crmsync_sync_free(b);
    return;

failed:

    /*
     * The outcomes are lost, not the jobs: their leases run out and they
     * are sent again, which the idempotent upsert makes harmless.
     */

    ngx_http_crmsync_store_rollback_drain(st);

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "crmsync: the outcomes of %uz jobs of portal \"%V\" could "
                  "not be stored: %s; they are sent again once their lease "
                  "runs out", b->njobs, &portal->label,
                  rc == NGX_HTTP_CRMSYNC_STORE_BUSY
                  ? "the store stayed locked"
                  : ngx_http_crmsync_store_error(st));

    ngx_http_crmsync_sync_free(b);
}


static void
ngx_http_crmsync_sync_free(ngx_http_crmsync_batch_t *b)
{
    ngx_http_crmsync_wportal_t  *wp;

    wp = b->wp;

    if (b->call.status != -1) {
        wp->in_flight--;
        ngx_http_crmsync_batches--;
    }

    if (b->record.timer_set) {
        ngx_del_timer(&b->record);
    }

    ngx_http_crmsync_store_free_jobs(b->jobs, b->claimed);
    ngx_http_crmsync_call_free(&b->call);
    free(b->call.body);
    ngx_free(b);

    if (ngx_http_crmsync_batches == 0 && ngx_http_crmsync_drain_ev.timer_set)
    {
        ngx_del_timer(&ngx_http_crmsync_drain_ev);
    }

    ngx_http_crmsync_sync_kick(wp->portal, 0);
}


/*
 * Armed while calls are in flight; not cancelable, so a worker that
 * shuts down gracefully waits for them.  It fires only when a call
 * outlived its timeout, or at the end of a graceful shutdown's wait: the
 * calls still in flight end, and their jobs go back to the queue.
 */

static void
ngx_http_crmsync_drain_handler(ngx_event_t *ev)
{
    if (ngx_exiting) {
        ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                      "crmsync: %ui HubSpot calls still in flight at exit; "
                      "their jobs go back to the queue",
                      ngx_http_crmsync_client_active());
        ngx_http_crmsync_client_abort();
        return;
    }

    if (ngx_http_crmsync_batches) {
        ngx_add_timer(ev, 1000);
    }
}


static void
ngx_http_crmsync_prune_handler(ngx_event_t *ev)
{
    int64_t                       now;
    ngx_http_crmsync_store_rc_e   rc;

    if (ngx_exiting) {
        return;
    }

    if (ngx_http_crmsync_store == NULL) {
        ngx_add_timer(ev, NGX_HTTP_CRMSYNC_PRUNE);
        return;
    }

    now = ngx_http_crmsync_now();

    rc = ngx_http_crmsync_store_prune(ngx_http_crmsync_store,
                                      now - ngx_http_crmsync_mcf
                                            ->keep_deliveries,
                                      now - ngx_http_crmsync_mcf->audit_for,
                                      1000);

    if (rc == NGX_HTTP_CRMSYNC_STORE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "crmsync: pruning the store failed: %s",
                      ngx_http_crmsync_store_error(ngx_http_crmsync_store));
    }

    ngx_add_timer(ev, rc == NGX_HTTP_CRMSYNC_STORE_BUSY
                      ? 1000 : NGX_HTTP_CRMSYNC_PRUNE);
}

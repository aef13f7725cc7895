
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
#include "ngx_http_crmsync_match.h"
#include "ngx_http_crmsync_action.h"


#define NGX_HTTP_CRMSYNC_IN_FLIGHT      2       /* calls a portal, a worker */
#define NGX_HTTP_CRMSYNC_POLL           1000    /* ms: jobs of others */
#define NGX_HTTP_CRMSYNC_QUIET_MAX      10000   /* ms: a claim that found
                                                   everything held back */
#define NGX_HTTP_CRMSYNC_PRUNE          60000   /* ms */
#define NGX_HTTP_CRMSYNC_BACKOFF_MIN    1000    /* ms */
#define NGX_HTTP_CRMSYNC_BACKOFF_MAX    900000  /* ms: 15 min */
#define NGX_HTTP_CRMSYNC_AUTH_LOG       60000   /* ms between auth errors */
#define NGX_HTTP_CRMSYNC_RECORD_RETRY   5       /* ms */


/* a unique id property the portal needs (crmsync_id_property) */
typedef struct {
    ngx_http_crmsync_portal_prop_t *prop;
    ngx_http_crmsync_call_t         call;
    ngx_event_t                     timer;
    ngx_connection_t                dummy;
    void                           *wp;
    ngx_uint_t                      step;       /* PROP_* */
    unsigned                        settled:1;
} ngx_http_crmsync_wprop_t;


typedef struct {
    ngx_http_crmsync_portal_t      *portal;
    ngx_event_t                     timer;
    ngx_connection_t                dummy;
    ngx_uint_t                      in_flight;
    ngx_http_crmsync_plan_conf_t    conf;
    ngx_http_crmsync_wprop_t       *props;
    ngx_uint_t                      nprops;
    ngx_uint_t                      props_pending;
    int64_t                         quiet_until;    /* ms: a claim found
                                                       every due job held
                                                       back; kicks wait */
} ngx_http_crmsync_wportal_t;


typedef struct ngx_http_crmsync_batch_s  ngx_http_crmsync_batch_t;


/* one call of a plan's round */
typedef struct {
    ngx_http_crmsync_call_t         call;
    ngx_http_crmsync_batch_t       *batch;
    size_t                          index;
    unsigned                        search:1;
} ngx_http_crmsync_bcall_t;


/* one call, for the audit trail once the batch is recorded */
typedef struct {
    int64_t                         at;
    const char                     *method;
    char                            path[128];
    int                             status;
    char                            correlation[64];
    char                            error[256];
    int64_t                         duration;
} ngx_http_crmsync_baudit_t;


#define NGX_HTTP_CRMSYNC_AUDITS  24


struct ngx_http_crmsync_batch_s {
    ngx_http_crmsync_wportal_t     *wp;
    ngx_http_crmsync_plan_t        *plan;

    ngx_http_crmsync_store_job_t   *jobs;
    size_t                          claimed;    /* jobs to free */
    size_t                          njobs;      /* jobs in the plan */
    ngx_http_crmsync_hs_result_t    results[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_http_crmsync_hs_pace_e      pace;
    char                            correlation[64];

    /* the round under way */
    ngx_http_crmsync_plan_call_t   *pcalls;
    ngx_http_crmsync_bcall_t       *calls;
    size_t                          ncalls;
    size_t                          nsent;
    size_t                          nanswered;
    ngx_uint_t                      rounds;
    int64_t                         taken_at;   /* a budget call taken for
                                                   the first call, or 0 */
    int64_t                         lease_until;
    int64_t                         retry_in;   /* ms, for aborted jobs */

    ngx_http_crmsync_baudit_t       audits[NGX_HTTP_CRMSYNC_AUDITS];
    size_t                          naudits;

    ngx_event_t                     timer;      /* budget, or the store
                                                   was busy */
    ngx_connection_t                dummy;
    ngx_msec_t                      record_since;
    unsigned                        aborted:1;
    unsigned                        recording:1;
};


static void ngx_http_crmsync_sync_handler(ngx_event_t *ev);
static void ngx_http_crmsync_batch_send(ngx_http_crmsync_batch_t *b);
static void ngx_http_crmsync_batch_timer(ngx_event_t *ev);
static void ngx_http_crmsync_batch_call_done(ngx_http_crmsync_call_t *call);
static void ngx_http_crmsync_batch_round(ngx_http_crmsync_batch_t *b);
static void ngx_http_crmsync_batch_abort(ngx_http_crmsync_batch_t *b,
    const char *why);
static void ngx_http_crmsync_batch_giveup(ngx_http_crmsync_batch_t *b,
    const char *why);
static void ngx_http_crmsync_sync_record(ngx_http_crmsync_batch_t *b);
static void ngx_http_crmsync_sync_free(ngx_http_crmsync_batch_t *b);
static void ngx_http_crmsync_prune_handler(ngx_event_t *ev);
static void ngx_http_crmsync_drain_handler(ngx_event_t *ev);
static void ngx_http_crmsync_prop_start(ngx_http_crmsync_wprop_t *wp);
static void ngx_http_crmsync_prop_timer(ngx_event_t *ev);
static void ngx_http_crmsync_prop_done(ngx_http_crmsync_call_t *call);
static void ngx_http_crmsync_sync_pace(ngx_http_crmsync_portal_t *portal,
    ngx_http_crmsync_hs_pace_e pace, long status);


static ngx_int_t ngx_http_crmsync_sync_props(ngx_cycle_t *cycle,
    ngx_http_crmsync_wportal_t *wp);


static ngx_http_crmsync_wportal_t    *ngx_http_crmsync_wportals;
static ngx_uint_t                     ngx_http_crmsync_nwportals;
static ngx_http_crmsync_main_conf_t  *ngx_http_crmsync_mcf;
static ngx_http_crmsync_zone_ctx_t   *ngx_http_crmsync_zctx;
static ngx_event_t                    ngx_http_crmsync_prune_ev;
static ngx_event_t                    ngx_http_crmsync_drain_ev;
static ngx_connection_t               ngx_http_crmsync_sync_dummy;
static ngx_uint_t                     ngx_http_crmsync_batches;


/*
 * The unique properties of crmsync_id_property: each worker checks them
 * at start (and creates the missing ones), and claims no job of the
 * portal before that is settled, so that a new contact is never created
 * without the property that makes its creation idempotent.
 */

static ngx_int_t
ngx_http_crmsync_sync_props(ngx_cycle_t *cycle, ngx_http_crmsync_wportal_t *wp)
{
    ngx_uint_t                       i, n;
    ngx_http_crmsync_wprop_t        *p;
    ngx_http_crmsync_portal_prop_t  *prop;

    prop = ngx_http_crmsync_mcf->props.elts;
    n = 0;

    for (i = 0; i < ngx_http_crmsync_mcf->props.nelts; i++) {
        if (prop[i].portal == wp->portal) {
            n++;
        }
    }

    if (n == 0) {
        return NGX_OK;
    }

    wp->props = ngx_pcalloc(cycle->pool, n * sizeof(ngx_http_crmsync_wprop_t));
    if (wp->props == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ngx_http_crmsync_mcf->props.nelts; i++) {
        if (prop[i].portal != wp->portal) {
            continue;
        }

        p = &wp->props[wp->nprops++];
        p->prop = &prop[i];
        p->wp = wp;
        p->dummy.fd = (ngx_socket_t) -1;
        p->dummy.data = p;
        p->timer.handler = ngx_http_crmsync_prop_timer;
        p->timer.data = &p->dummy;
        p->timer.log = cycle->log;
        p->timer.cancelable = 1;

        wp->props_pending++;

        ngx_add_timer(&p->timer, 1);
    }

    return NGX_OK;
}


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

        wp->conf.api = (const char *) portal[i].api.data;

        if (ngx_http_crmsync_sync_props(cycle, wp) != NGX_OK) {
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

    return ngx_http_crmsync_action_init_worker(cycle);
}


void
ngx_http_crmsync_sync_exit_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i, k;
    ngx_http_crmsync_wportal_t  *wp;

    if (ngx_http_crmsync_mcf == NULL) {
        return;
    }

    /* calls still in flight end here; their jobs go back to the queue */

    ngx_http_crmsync_action_exit_worker(cycle);
    ngx_http_crmsync_client_exit();
    ngx_http_crmsync_action_deal_exit();

    for (i = 0; i < ngx_http_crmsync_nwportals; i++) {
        wp = &ngx_http_crmsync_wportals[i];

        if (wp->timer.timer_set) {
            ngx_del_timer(&wp->timer);
        }

        for (k = 0; k < wp->nprops; k++) {
            if (wp->props[k].timer.timer_set) {
                ngx_del_timer(&wp->props[k].timer);
            }
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
    int64_t                      now;
    ngx_http_crmsync_wportal_t  *wp;

    wp = portal->worker;

    if (wp == NULL || ngx_exiting) {
        return;
    }

    ngx_http_crmsync_action_run(portal);

    if (wp->quiet_until) {
        now = ngx_http_crmsync_now();

        if (wp->quiet_until > now
            && (int64_t) delay < wp->quiet_until - now)
        {
            delay = (ngx_msec_t) (wp->quiet_until - now);
        }
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


/*
 * The portal's token is refused: the jobs (or the actions) that fall due
 * are held, "auth_failed", until a reload brings another token.
 */

void
ngx_http_crmsync_sync_hold_refused(ngx_http_crmsync_portal_t *portal,
    ngx_uint_t actions, int64_t now)
{
    size_t                         i, n;
    ngx_http_crmsync_store_t      *st;
    ngx_http_crmsync_store_rc_e    rc;
    ngx_http_crmsync_store_job_t  *jobs;

    st = ngx_http_crmsync_store;

    rc = ngx_http_crmsync_store_claim_kind(st, (ngx_http_crmsync_str_t *)
                                           &portal->label, actions ? 1 : 0,
                                           now, 60000, ngx_http_crmsync_owner,
                                           NGX_HTTP_CRMSYNC_HS_BATCH_MAX,
                                           &jobs, &n);

    if (rc == NGX_HTTP_CRMSYNC_STORE_OK && n
        && ngx_http_crmsync_store_begin_drain(st) == NGX_HTTP_CRMSYNC_STORE_OK)
    {
        for (i = 0; i < n; i++) {
            (void) ngx_http_crmsync_store_hold(st, jobs[i].id, jobs[i].lease,
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
}


static void
ngx_http_crmsync_sync_handler(ngx_event_t *ev)
{
    size_t                         i, n;
    int64_t                        now, due, lease;
    ngx_msec_t                     wait;
    ngx_connection_t              *c;
    ngx_http_crmsync_batch_t      *b;
    ngx_http_crmsync_portal_t     *portal;
    ngx_http_crmsync_wportal_t    *wp;
    ngx_http_crmsync_store_t      *st;
    ngx_http_crmsync_store_rc_e    rc;
    ngx_http_crmsync_store_job_t  *jobs;
    const ngx_http_crmsync_plan_id_t  *ids;
    char                           contact[32];
    int64_t                        spent;
    ngx_str_t                      kind;
    struct timeval                 tv;
    ngx_http_crmsync_str_t         payloads[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];

    c = ev->data;
    wp = c->data;
    portal = wp->portal;
    st = ngx_http_crmsync_store;

    if (ngx_exiting) {
        return;
    }

    if (st == NULL || wp->props_pending) {
        /* the store is not open (yet): ingest.c tries again; or the id
           properties are still being checked */
        ngx_http_crmsync_sync_later(wp, NGX_HTTP_CRMSYNC_POLL);
        return;
    }

    if (wp->in_flight >= NGX_HTTP_CRMSYNC_IN_FLIGHT) {
        return;     /* a batch's end kicks again */
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

        ngx_http_crmsync_sync_hold_refused(portal, 0, now);
        ngx_http_crmsync_sync_later(wp, NGX_HTTP_CRMSYNC_POLL);
        return;
    }

    /* the first call's place in the budget */

    wait = ngx_http_crmsync_shm_take(ngx_http_crmsync_zctx, portal->sh,
                                     portal->rate, portal->window,
                                     portal->daily, now);
    if (wait) {
        ngx_http_crmsync_sync_later(wp, wait);
        return;
    }

    /*
     * A batch takes two rounds of calls, and may wait for the budget
     * between them; its writes go out only while the lease has a timeout
     * to spare (ngx_http_crmsync_batch_send).
     */

    lease = 2 * (int64_t) portal->timeout + portal->window + 10000;

    ngx_gettimeofday(&tv);
    spent = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;

    rc = ngx_http_crmsync_store_claim(st, (ngx_http_crmsync_str_t *)
                                      &portal->label, now, lease,
                                      ngx_http_crmsync_owner,
                                      NGX_HTTP_CRMSYNC_HS_BATCH_MAX,
                                      &jobs, &n);

    ngx_gettimeofday(&tv);
    spent = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000 - spent;

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

        if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
            ngx_http_crmsync_sync_later(wp, 5);
            return;
        }

        /*
         * Due jobs, every one held back by a person's earlier job that
         * waits for its retry (HubSpot down, and deliveries coming in):
         * the claim read them all for nothing.  The next one waits at
         * least 20 times as long as this one took, so that such a backlog
         * never costs the event loop more than a twentieth of its time;
         * the deliveries' kicks wait too, a batch's end does not.
         */

        wait = (ngx_msec_t) ngx_min(ngx_max(20 * spent,
                                            NGX_HTTP_CRMSYNC_POLL),
                                    NGX_HTTP_CRMSYNC_QUIET_MAX);
        wp->quiet_until = now + wait;

        ngx_http_crmsync_sync_later(wp, wait);
        return;
    }

    wp->quiet_until = 0;

    b = ngx_calloc(sizeof(ngx_http_crmsync_batch_t), ev->log);
    if (b == NULL) {
        ngx_http_crmsync_shm_give_back(ngx_http_crmsync_zctx, portal->sh,
                                       now);
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
    b->taken_at = now;
    b->lease_until = now + lease;

    b->dummy.fd = (ngx_socket_t) -1;
    b->dummy.data = b;
    b->timer.handler = ngx_http_crmsync_batch_timer;
    b->timer.data = &b->dummy;
    b->timer.log = ev->log;

    wp->in_flight++;
    ngx_http_crmsync_batches++;

    if (!ngx_http_crmsync_drain_ev.timer_set) {
        ngx_add_timer(&ngx_http_crmsync_drain_ev, portal->timeout + 1000);
    }

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

    for (i = 0; i < b->njobs; i++) {
        payloads[i] = jobs[i].payload;
    }

    b->plan = ngx_http_crmsync_plan_create(&wp->conf, payloads, b->njobs,
                                           b->results);
    if (b->plan == NULL) {
        ngx_http_crmsync_batch_abort(b, "no memory");
        ngx_http_crmsync_sync_record(b);
        return;
    }

    /* what the identity map knows: the shared zone, then the store */

    n = ngx_http_crmsync_plan_identities(b->plan, &ids);

    for (i = 0; i < n; i++) {
        kind.data = (u_char *) ngx_http_crmsync_id_kind_names[ids[i].kind];
        kind.len = ngx_strlen(kind.data);

        if (ngx_http_crmsync_shm_id_get(ngx_http_crmsync_zctx, &portal->label,
                                        (char *) kind.data, ids[i].value.data,
                                        ids[i].value.len, contact)
            == NGX_OK)
        {
            ngx_http_crmsync_plan_known(b->plan, i, contact);
            continue;
        }

        if (ngx_http_crmsync_store_id_get(st, (ngx_http_crmsync_str_t *)
                                          &portal->label, (char *) kind.data,
                                          (ngx_http_crmsync_str_t *)
                                          &ids[i].value, contact,
                                          sizeof(contact))
            != NGX_HTTP_CRMSYNC_STORE_OK)
        {
            /*
             * Without the map, HubSpot's lagging search could miss a
             * contact crmsync made a moment ago: the batch waits.
             */

            ngx_http_crmsync_batch_abort(b, "the identity map could not "
                                            "be read");
            b->retry_in = NGX_HTTP_CRMSYNC_POLL;
            ngx_http_crmsync_sync_record(b);
            return;
        }

        if (contact[0]) {
            ngx_http_crmsync_plan_known(b->plan, i, contact);
            ngx_http_crmsync_shm_id_put(ngx_http_crmsync_zctx, &portal->label,
                                        (char *) kind.data, ids[i].value.data,
                                        ids[i].value.len, contact);
        }
    }

    ngx_http_crmsync_batch_round(b);

    /* more may be due: the next batch goes out alongside */
    ngx_http_crmsync_sync_later(wp, 0);
}


/* the plan's next round, or its end */

static void
ngx_http_crmsync_batch_round(ngx_http_crmsync_batch_t *b)
{
    size_t                       i, n;
    ngx_http_crmsync_plan_rc_e   rc;
    ngx_http_crmsync_plan_call_t  *calls;

    ngx_free(b->calls);
    b->calls = NULL;
    b->ncalls = 0;

    if (ngx_exiting && !b->aborted) {
        ngx_http_crmsync_batch_abort(b, "worker exiting");
    }

    if (b->aborted) {
        ngx_http_crmsync_sync_record(b);
        return;
    }

    rc = ngx_http_crmsync_plan_next(b->plan, &calls, &n);

    if (rc == NGX_HTTP_CRMSYNC_PLAN_CALLS && n && b->rounds < 8) {
        b->calls = ngx_calloc(n * sizeof(ngx_http_crmsync_bcall_t),
                              ngx_cycle->log);
        if (b->calls != NULL) {
            b->rounds++;
            b->pcalls = calls;
            b->ncalls = n;
            b->nsent = 0;
            b->nanswered = 0;

            for (i = 0; i < n; i++) {
                b->calls[i].batch = b;
                b->calls[i].index = i;
                b->calls[i].search = calls[i].search;
            }

            ngx_http_crmsync_batch_send(b);
            return;
        }

        rc = NGX_HTTP_CRMSYNC_PLAN_ERROR;
    }

    if (rc != NGX_HTTP_CRMSYNC_PLAN_DONE) {
        ngx_http_crmsync_batch_abort(b, "no memory");
    }

    ngx_http_crmsync_sync_record(b);
}


static void
ngx_http_crmsync_batch_timer(ngx_event_t *ev)
{
    ngx_connection_t          *c;
    ngx_http_crmsync_batch_t  *b;

    c = ev->data;
    b = c->data;

    if (b->recording) {
        ngx_http_crmsync_sync_record(b);
        return;
    }

    if (ngx_exiting) {
        /* waiting for the budget at exit: the jobs go back, uncounted */
        ngx_http_crmsync_batch_giveup(b, "worker exiting");
        return;
    }

    ngx_http_crmsync_batch_send(b);
}


/* every job of the batch goes back to the queue, uncounted */

static void
ngx_http_crmsync_batch_abort(ngx_http_crmsync_batch_t *b, const char *why)
{
    size_t  i;

    for (i = 0; i < b->njobs; i++) {
        b->results[i].outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
        ngx_cpystrn((u_char *) b->results[i].reason, (u_char *) why,
                    sizeof(b->results[i].reason));
    }

    b->aborted = 1;
}


/*
 * The batch ends without sending the rest of its round: every job goes
 * back to the queue, uncounted, once the calls in flight are answered.
 */

static void
ngx_http_crmsync_batch_giveup(ngx_http_crmsync_batch_t *b, const char *why)
{
    ngx_http_crmsync_batch_abort(b, why);

    b->ncalls = b->nsent;

    if (b->nanswered == b->nsent) {
        ngx_http_crmsync_sync_record(b);
    }
}


/* sends the round's calls that the budget allows now */

static void
ngx_http_crmsync_batch_send(ngx_http_crmsync_batch_t *b)
{
    int64_t                        now;
    ngx_msec_t                     wait;
    ngx_http_crmsync_bcall_t      *bc;
    ngx_http_crmsync_portal_t     *portal;
    ngx_http_crmsync_plan_call_t  *pc;

    portal = b->wp->portal;

    while (b->nsent < b->ncalls) {
        bc = &b->calls[b->nsent];
        pc = &b->pcalls[b->nsent];
        now = ngx_http_crmsync_now();

        if (pc->write
            && now + (int64_t) portal->timeout + 5000 > b->lease_until)
        {
            /*
             * The lease could run out before the answer: another worker
             * could claim the jobs meanwhile and write them too.  They go
             * back to the queue instead, uncounted.
             */

            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "crmsync: portal \"%V\": a batch of %uz jobs "
                          "waited too long for the budget to write within "
                          "its lease; its jobs go back to the queue",
                          &portal->label, b->njobs);

            ngx_http_crmsync_batch_giveup(b, "lease too short to write");
            return;
        }

        if (bc->search) {
            wait = ngx_http_crmsync_shm_take_search(ngx_http_crmsync_zctx,
                                                    portal->sh,
                                                    portal->search_rate, now);

        } else if (b->taken_at && now - b->taken_at < 100) {
            b->taken_at = 0;
            wait = 0;

        } else {
            if (b->taken_at) {
                /*
                 * The place taken before the claim has aged: HubSpot
                 * would count the call later than the budget did.
                 */
                ngx_http_crmsync_shm_give_back(ngx_http_crmsync_zctx,
                                               portal->sh, b->taken_at);
                b->taken_at = 0;
            }

            wait = ngx_http_crmsync_shm_take(ngx_http_crmsync_zctx,
                                             portal->sh, portal->rate,
                                             portal->window, portal->daily,
                                             now);
        }

        if (wait) {
            ngx_add_timer(&b->timer, wait);
            return;
        }

        b->nsent++;

        bc->call.method = pc->method;
        bc->call.body = (u_char *) pc->body;
        bc->call.body_len = pc->body_len;
        bc->call.token = portal->token;
        bc->call.ca_file = portal->ca_file;
        bc->call.timeout = portal->timeout;
        bc->call.handler = ngx_http_crmsync_batch_call_done;
        bc->call.data = bc;
        bc->call.fresh = (ngx_strstr(pc->path, "/batch/create") != NULL);

        ngx_snprintf(bc->call.url, sizeof(bc->call.url) - 1, "%V%s%Z",
                     &portal->url, pc->path);

        (void) ngx_atomic_fetch_add(&portal->sh->calls, 1);

        if (bc->search) {
            (void) ngx_atomic_fetch_add(&portal->sh->searches, 1);
        }

        if (ngx_http_crmsync_client_send(&bc->call) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "crmsync: a call to portal \"%V\" could not start",
                          &portal->label);
            ngx_cpystrn((u_char *) bc->call.error,
                        (u_char *) "could not start",
                        sizeof(bc->call.error));
            bc->call.status = 0;
            bc->call.body = NULL;

            /* answered now, but the round goes on only from below */
            b->nanswered++;
            ngx_http_crmsync_plan_answer(b->plan, bc->index, 0, NULL, 0,
                                         bc->call.error, &b->pace,
                                         b->correlation,
                                         sizeof(b->correlation));
        }
    }

    if (b->nanswered == b->ncalls) {
        ngx_http_crmsync_batch_round(b);
    }
}


static void
ngx_http_crmsync_batch_call_done(ngx_http_crmsync_call_t *call)
{
    char                          correlation[64];
    ngx_http_crmsync_bcall_t     *bc;
    ngx_http_crmsync_batch_t     *b;
    ngx_http_crmsync_portal_t    *portal;
    ngx_http_crmsync_baudit_t    *a;
    ngx_http_crmsync_hs_pace_e    pace;
    ngx_http_crmsync_plan_call_t  *pc;

    bc = call->data;
    b = bc->batch;
    pc = &b->pcalls[bc->index];
    portal = b->wp->portal;

    b->nanswered++;
    pace = NGX_HTTP_CRMSYNC_HS_PACE_NONE;
    correlation[0] = '\0';

    if (call->aborted) {
        ngx_http_crmsync_batch_abort(b, "worker exiting");

    } else {
        ngx_http_crmsync_plan_answer(b->plan, bc->index, (int) call->status,
                                     call->answer, call->answer_len,
                                     call->error, &pace, correlation,
                                     sizeof(correlation));
    }

    if (call->correlation[0] == '\0' && correlation[0]) {
        ngx_cpystrn((u_char *) call->correlation, (u_char *) correlation,
                    sizeof(call->correlation));
    }

    if (call->correlation[0]) {
        ngx_cpystrn((u_char *) b->correlation, (u_char *) call->correlation,
                    sizeof(b->correlation));
    }

    if (call->status == 429) {
        (void) ngx_atomic_fetch_add(&portal->sh->r429, 1);
    }

    if (!call->aborted && (call->status == 0 || call->status >= 500)) {
        (void) ngx_atomic_fetch_add(&portal->sh->errors, 1);

        if (call->status) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "crmsync: portal \"%V\": %s %s answered %l, "
                          "%uz jobs will be retried", &portal->label,
                          call->method, pc->path, call->status, b->njobs);

        } else {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "crmsync: portal \"%V\": %s %s failed: %s, "
                          "%uz jobs will be retried", &portal->label,
                          call->method, pc->path, call->error, b->njobs);
        }
    }

    if (pace > b->pace) {
        b->pace = pace;
    }

    if (bc->search && pace == NGX_HTTP_CRMSYNC_HS_PACE_SECONDLY) {
        /* the search limit: searches pause, the other calls go on */
        ngx_http_crmsync_shm_pause_search(ngx_http_crmsync_zctx, portal->sh,
                                          ngx_http_crmsync_now() + 1000);

    } else {
        ngx_http_crmsync_sync_pace(portal, pace, call->status);
    }

    if (b->naudits < NGX_HTTP_CRMSYNC_AUDITS) {
        a = &b->audits[b->naudits++];
        a->at = ngx_http_crmsync_now() - call->duration;
        a->method = call->method;
        ngx_cpystrn((u_char *) a->path, (u_char *) pc->path, sizeof(a->path));
        a->status = (int) call->status;
        ngx_cpystrn((u_char *) a->correlation, (u_char *) call->correlation,
                    sizeof(a->correlation));

        if (call->status == 0) {
            ngx_cpystrn((u_char *) a->error, (u_char *) call->error,
                        sizeof(a->error));

        } else if (call->status >= 400 && call->answer) {
            ngx_cpystrn((u_char *) a->error, call->answer,
                        ngx_min(sizeof(a->error), call->answer_len + 1));
        }

        a->duration = call->duration;
    }

    ngx_http_crmsync_call_free(call);

    if (b->nanswered == b->ncalls) {
        ngx_http_crmsync_batch_round(b);
    }
}


/* what a 429 or a 423 asks of the portal: every worker pauses */

static void
ngx_http_crmsync_sync_pace(ngx_http_crmsync_portal_t *portal,
    ngx_http_crmsync_hs_pace_e pace, long status)
{
    int64_t  now, until;

    now = ngx_http_crmsync_now();

    switch (pace) {

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
        return;
    }

    ngx_http_crmsync_shm_pause(ngx_http_crmsync_zctx, portal->sh, until);

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "crmsync: portal \"%V\" answered %l: calls pause for %L ms",
                  &portal->label, status, until - now);
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


/* what crmsync_jobs shows of a job written, or not written on purpose */

static const char *
ngx_http_crmsync_done_note(ngx_http_crmsync_hs_result_t *r)
{
    /* a dry run keeps the body it would have sent */

    if (r->reason[0]) {
        return r->reason;
    }

    return r->created ? "created" : "updated";
}


static void
ngx_http_crmsync_sync_record(ngx_http_crmsync_batch_t *b)
{
    size_t                          i, n;
    u_char                         *p;
    int64_t                         now, at, ids[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_str_t                       kind;
    ngx_uint_t                      synced, dead, drun, uncount, auth;
    const char                     *log, *reason;
    ngx_http_crmsync_store_t       *st;
    ngx_http_crmsync_portal_t      *portal;
    ngx_http_crmsync_portal_sh_t   *sh;
    ngx_http_crmsync_store_rc_e     rc;
    ngx_http_crmsync_store_job_t   *job;
    ngx_http_crmsync_store_call_t   audit;
    ngx_http_crmsync_hs_result_t   *r;
    ngx_http_crmsync_baudit_t      *a;
    const ngx_http_crmsync_plan_map_t    *maps;
    const ngx_http_crmsync_plan_remap_t  *remaps;
    char                            error[320];

    portal = b->wp->portal;
    sh = portal->sh;
    st = ngx_http_crmsync_store;
    now = ngx_http_crmsync_now();

    if (!b->recording) {
        b->recording = 1;
        b->record_since = ngx_current_msec;

        if (b->taken_at) {
            /* no call took the budget's place taken for the first */
            ngx_http_crmsync_shm_give_back(ngx_http_crmsync_zctx, sh,
                                           b->taken_at);
            b->taken_at = 0;
        }

        auth = 0;

        for (i = 0; i < b->njobs; i++) {
            if (b->results[i].outcome == NGX_HTTP_CRMSYNC_HS_AUTH) {
                auth = 1;
            }
        }

        if (auth) {
            if (!sh->auth_failed || sh->auth_token != portal->token_crc) {
                sh->auth_token = portal->token_crc;
                sh->auth_logged = 0;
                sh->auth_failed = 1;
            }

            (void) ngx_http_crmsync_auth_failed(portal, now);
        }

        if (b->plan && !b->aborted) {
            for (log = ngx_http_crmsync_plan_log(b->plan); *log;
                 log += ngx_strlen(log) + 1)
            {
                ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                              "crmsync: portal \"%V\": %s", &portal->label,
                              log);
            }
        }
    }

    synced = 0;
    dead = 0;
    drun = 0;

    rc = ngx_http_crmsync_store_begin_drain(st);

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY
        && ngx_current_msec - b->record_since < 3000)
    {
        ngx_add_timer(&b->timer, NGX_HTTP_CRMSYNC_RECORD_RETRY);
        return;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        goto failed;
    }

    uncount = b->aborted || b->pace != NGX_HTTP_CRMSYNC_HS_PACE_NONE;

    for (i = 0; i < b->njobs; i++) {
        job = &b->jobs[i];
        r = &b->results[i];
        ids[i] = job->id;

        switch (r->outcome) {

        case NGX_HTTP_CRMSYNC_HS_DONE:
            rc = ngx_http_crmsync_store_done(st, job->id, job->lease, now,
                                             r->id[0] ? r->id : NULL,
                                             ngx_http_crmsync_done_note(r));
            synced++;

            if (ngx_strncmp(r->reason, "dry_run", 7) == 0) {
                drun++;

                /*
                 * "dry_run: would POST <path> <body>": the body names the
                 * person, so info shows the path, and the body is in
                 * the job's hold_reason (crmsync_jobs) and at debug
                 */

                p = (u_char *) ngx_strstr(r->reason, "POST ");
                p = p ? (u_char *) ngx_strchr(p + 5, ' ') : NULL;

                ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                              "crmsync: job %L of portal \"%V\": %*s "
                              "(the body is in crmsync_jobs)",
                              job->id, &portal->label,
                              p ? (size_t) (p - (u_char *) r->reason)
                                : ngx_strlen(r->reason), r->reason);

                ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                               "crmsync job %L: %s", job->id, r->reason);
            }

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

            if (uncount) {
                /* not the job's fault: no attempt counted */
                at = (b->pace == NGX_HTTP_CRMSYNC_HS_PACE_NONE)
                     ? now + b->retry_in : sh->pause_until;

                rc = ngx_http_crmsync_store_retry(st, job->id, job->lease,
                                                  at, r->reason, 0, 1);
                break;
            }

            if (ngx_strncmp(r->reason, "unconfirmed_create", 18) == 0) {
                /* it may exist: wait until a search can see it */
                at = now + (int64_t) ngx_http_crmsync_mcf->index_lag;

            } else {
                at = now + ngx_http_crmsync_backoff(job);
            }

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
                                             b->correlation);
            dead++;

            /* the store keeps HubSpot's message; the log masks it */

            ngx_cpystrn((u_char *) error, (u_char *) r->reason,
                        sizeof(error));
            (void) ngx_http_crmsync_mask_text(error);

            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "crmsync: job %L of portal \"%V\" dead-lettered: "
                          "%s%s%s%s%s", job->id, &portal->label, error,
                          r->category[0] ? ", category " : "", r->category,
                          b->correlation[0] ? ", correlationId " : "",
                          b->correlation);
        }

        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            goto failed;
        }
    }

    /* what the identity map learnt, and the merges it follows */

    if (b->plan && !b->aborted) {
        n = ngx_http_crmsync_plan_remaps(b->plan, &remaps);

        for (i = 0; i < n; i++) {
            rc = ngx_http_crmsync_store_id_remap(st,
                                                 (ngx_http_crmsync_str_t *)
                                                 &portal->label,
                                                 remaps[i].from, remaps[i].to,
                                                 now);
            if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
                goto failed;
            }
        }

        n = ngx_http_crmsync_plan_maps(b->plan, &maps);

        for (i = 0; i < n; i++) {
            rc = ngx_http_crmsync_store_id_put(st, (ngx_http_crmsync_str_t *)
                                               &portal->label,
                                               ngx_http_crmsync_id_kind_names
                                               [maps[i].kind],
                                               (ngx_http_crmsync_str_t *)
                                               &maps[i].value,
                                               maps[i].contact, now);
            if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
                goto failed;
            }
        }
    }

    for (i = 0; i < b->naudits; i++) {
        a = &b->audits[i];

        ngx_memzero(&audit, sizeof(ngx_http_crmsync_store_call_t));

        audit.at = a->at;
        audit.portal.data = portal->label.data;
        audit.portal.len = portal->label.len;
        audit.method = a->method;
        audit.path = a->path;
        audit.status = a->status;
        audit.correlation = a->correlation;
        audit.error = a->error[0] ? a->error : NULL;
        audit.duration = a->duration;
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

    /* the shared zone follows the store once it is committed */

    if (b->plan && !b->aborted) {
        n = ngx_http_crmsync_plan_remaps(b->plan, &remaps);

        for (i = 0; i < n; i++) {
            ngx_http_crmsync_shm_id_remap(ngx_http_crmsync_zctx,
                                          &portal->label, remaps[i].from,
                                          remaps[i].to);
        }

        n = ngx_http_crmsync_plan_maps(b->plan, &maps);

        for (i = 0; i < n; i++) {
            kind.data = (u_char *) ngx_http_crmsync_id_kind_names
                                   [maps[i].kind];
            ngx_http_crmsync_shm_id_put(ngx_http_crmsync_zctx, &portal->label,
                                        (char *) kind.data,
                                        maps[i].value.data, maps[i].value.len,
                                        maps[i].contact);
        }
    }

    (void) ngx_atomic_fetch_add(&sh->synced, synced - drun);
    (void) ngx_atomic_fetch_add(&sh->dead, dead);
    (void) ngx_atomic_fetch_add(&sh->dry_run, drun);

    ngx_http_crmsync_sync_free(b);
    return;

failed:

    /*
     * The outcomes are lost, not the jobs: their leases run out and they
     * are sent again; the upserts by unique keys and the identity map's
     * lookups keep that from creating a second contact.
     */

    ngx_http_crmsync_store_rollback_drain(st);

    reason = (rc == NGX_HTTP_CRMSYNC_STORE_BUSY)
             ? "the store stayed locked" : ngx_http_crmsync_store_error(st);

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "crmsync: the outcomes of %uz jobs of portal \"%V\" could "
                  "not be stored: %s; they are sent again once their lease "
                  "runs out", b->njobs, &portal->label, reason);

    ngx_http_crmsync_sync_free(b);
}


static void
ngx_http_crmsync_sync_free(ngx_http_crmsync_batch_t *b)
{
    ngx_http_crmsync_wportal_t  *wp;

    wp = b->wp;

    wp->in_flight--;
    ngx_http_crmsync_batches--;

    if (b->timer.timer_set) {
        ngx_del_timer(&b->timer);
    }

    ngx_http_crmsync_store_free_jobs(b->jobs, b->claimed);

    if (b->plan) {
        ngx_http_crmsync_plan_free(b->plan);
    }

    ngx_free(b->calls);
    ngx_free(b);

    if (ngx_http_crmsync_batches == 0 && ngx_http_crmsync_drain_ev.timer_set)
    {
        ngx_del_timer(&ngx_http_crmsync_drain_ev);
    }

    /* the batch's actions may have their contacts now, and the jobs it
       held back may go */
    wp->quiet_until = 0;
    ngx_http_crmsync_sync_kick(wp->portal, 0);
}


/*
 * crmsync_id_property: GET the property; create it when it is missing
 * (hasUniqueValue, so that upserts through it are idempotent); a
 * property that exists without unique values is refused, loudly.
 */

#define NGX_HTTP_CRMSYNC_PROP_GET     0
#define NGX_HTTP_CRMSYNC_PROP_CREATE  1


static void
ngx_http_crmsync_prop_timer(ngx_event_t *ev)
{
    ngx_connection_t  *c;

    if (ngx_exiting) {
        return;
    }

    c = ev->data;

    ngx_http_crmsync_prop_start(c->data);
}


static void
ngx_http_crmsync_prop_start(ngx_http_crmsync_wprop_t *p)
{
    u_char                      *last;
    ngx_http_crmsync_wportal_t  *wp;
    ngx_http_crmsync_portal_t   *portal;

    wp = p->wp;
    portal = wp->portal;

    ngx_memzero(&p->call, sizeof(ngx_http_crmsync_call_t));

    last = p->call.url + sizeof(p->call.url) - 1;

    if (ngx_strcmp(portal->api.data, "v3") == 0) {
        last = ngx_snprintf(p->call.url, last - p->call.url,
                            "%V/crm/v3/properties/contacts", &portal->url);

    } else {
        last = ngx_snprintf(p->call.url, last - p->call.url,
                            "%V/crm/properties/%V/contacts", &portal->url,
                            &portal->api);
    }

    if (p->step == NGX_HTTP_CRMSYNC_PROP_GET) {
        last = ngx_snprintf(last, p->call.url + sizeof(p->call.url) - 1
                                  - last, "/%V", &p->prop->property);
        p->call.method = "GET";

    } else {
        p->call.method = "POST";
        p->call.body = ngx_alloc(p->prop->property.len * 2 + 256,
                                 ngx_cycle->log);
        if (p->call.body == NULL) {
            ngx_add_timer(&p->timer, 5000);
            return;
        }

        p->call.body_len = ngx_sprintf(p->call.body,
                                  "{\"name\":\"%V\",\"label\":\"crmsync %s\","
                                  "\"type\":\"string\",\"fieldType\":\"text\","
                                  "\"groupName\":\"contactinformation\","
                                  "\"hasUniqueValue\":true,"
                                  "\"description\":\"Kept by crmsync: one "
                                  "contact per %s\"}",
                                  &p->prop->property,
                                  ngx_http_crmsync_id_kind_names
                                  [p->prop->kind],
                                  ngx_http_crmsync_id_kind_names
                                  [p->prop->kind])
                           - p->call.body;
    }

    *last = '\0';

    p->call.token = portal->token;
    p->call.ca_file = portal->ca_file;
    p->call.timeout = portal->timeout;
    p->call.handler = ngx_http_crmsync_prop_done;
    p->call.data = p;

    (void) ngx_atomic_fetch_add(&portal->sh->calls, 1);

    if (ngx_http_crmsync_client_send(&p->call) != NGX_OK) {
        ngx_free(p->call.body);
        p->call.body = NULL;
        ngx_add_timer(&p->timer, 5000);
    }
}


static void
ngx_http_crmsync_prop_settled(ngx_http_crmsync_wprop_t *p, ngx_uint_t ready)
{
    ngx_http_crmsync_wportal_t  *wp;

    wp = p->wp;

    if (ready) {
        wp->conf.idprop_ready[p->prop->kind] = 1;
    }

    if (!p->settled && wp->props_pending) {
        p->settled = 1;
        wp->props_pending--;

        if (wp->props_pending == 0) {
            ngx_http_crmsync_sync_kick(wp->portal, 0);
        }
    }
}


static void
ngx_http_crmsync_prop_done(ngx_http_crmsync_call_t *call)
{
    long                         status;
    ngx_uint_t                   unique;
    ngx_http_crmsync_wprop_t    *p;
    ngx_http_crmsync_portal_t   *portal;

    p = call->data;
    portal = ((ngx_http_crmsync_wportal_t *) p->wp)->portal;
    status = call->status;

    unique = (status == 200 && call->answer
              && ngx_strstr(call->answer, "\"hasUniqueValue\":true") != NULL);

    ngx_http_crmsync_call_free(call);
    ngx_free(call->body);
    call->body = NULL;

    if (call->aborted) {
        return;
    }

    if (p->step == NGX_HTTP_CRMSYNC_PROP_GET && status == 200) {

        if (!unique) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "crmsync: contact property \"%V\" of portal \"%V\" "
                          "(crmsync_id_property %s) exists without unique "
                          "values: it is written but never used to match; "
                          "name another property", &p->prop->property,
                          &portal->label,
                          ngx_http_crmsync_id_kind_names[p->prop->kind]);
        }

        ngx_http_crmsync_prop_settled(p, unique);
        return;
    }

    if (p->step == NGX_HTTP_CRMSYNC_PROP_GET && status == 404) {
        p->step = NGX_HTTP_CRMSYNC_PROP_CREATE;
        ngx_http_crmsync_prop_start(p);
        return;
    }

    if (p->step == NGX_HTTP_CRMSYNC_PROP_CREATE
        && (status == 200 || status == 201))
    {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "crmsync: created the unique contact property \"%V\" "
                      "in portal \"%V\" for crmsync_id_property %s",
                      &p->prop->property, &portal->label,
                      ngx_http_crmsync_id_kind_names[p->prop->kind]);

        ngx_http_crmsync_prop_settled(p, 1);
        return;
    }

    if (p->step == NGX_HTTP_CRMSYNC_PROP_CREATE && status == 409) {
        /* another worker or edge created it meanwhile: check it */
        p->step = NGX_HTTP_CRMSYNC_PROP_GET;
        ngx_http_crmsync_prop_start(p);
        return;
    }

    if (status == 403) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "crmsync: the token of portal \"%V\" may not %s the "
                      "contact property \"%V\" (crmsync_id_property %s): "
                      "grant the scope crm.schemas.contacts.%s, or create "
                      "the property in HubSpot with unique values; %s is "
                      "matched without it meanwhile", &portal->label,
                      p->step == NGX_HTTP_CRMSYNC_PROP_GET ? "read" : "create",
                      &p->prop->property,
                      ngx_http_crmsync_id_kind_names[p->prop->kind],
                      p->step == NGX_HTTP_CRMSYNC_PROP_GET ? "read" : "write",
                      ngx_http_crmsync_id_kind_names[p->prop->kind]);

        ngx_http_crmsync_prop_settled(p, 0);

        p->step = NGX_HTTP_CRMSYNC_PROP_GET;
        ngx_add_timer(&p->timer, 300000);
        return;
    }

    /* 401, 429, 5xx, no answer: the jobs wait, the check is tried again */

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "crmsync: checking the contact property \"%V\" of portal "
                  "\"%V\" failed (%l%s%s); tried again in 5 s",
                  &p->prop->property, &portal->label, status,
                  call->error[0] ? ": " : "", call->error);

    ngx_add_timer(&p->timer, 5000);
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


/*
 * Copyright (C) crmsync authors
 *
 * Deal and owner actions (doc/conversations.md).
 *
 * deal: the pipeline and stage crmsync_deal names are resolved in the
 * portal's pipelines (cached per worker); the contact's open deal in the
 * pipeline is the store's deal map's, if HubSpot still has it open, else
 * the first open one among the contact's deals (v4 associations, read
 * through, no index lag); it is updated (the stage only forward), or a
 * deal is created with an inline association to the contact, on a fresh
 * connection.  A lost create answer is found by the association read of
 * the retry.  Then crmsync_lifecycle_on_deal moves the contact forward.
 *
 * owner: the assignee's HubSpot owner (cached per worker) becomes the
 * contact's owner, and the owner of its open deal in the pipeline.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <jansson.h>

#include "ngx_http_crmsync_module.h"
#include "ngx_http_crmsync_store.h"
#include "ngx_http_crmsync_action.h"
#include "ngx_http_crmsync_deal.h"
#include "ngx_http_crmsync_match.h"


#define NGX_HTTP_CRMSYNC_DEAL_REFRESH   600000  /* a cache's age of use */
#define NGX_HTTP_CRMSYNC_DEAL_MISS       60000  /* a refresh on a miss at
                                                   most this often */
#define NGX_HTTP_CRMSYNC_DEAL_BUSY       30000  /* another job's fetch is
                                                   waited for this long */
#define NGX_HTTP_CRMSYNC_DEAL_POLL         200
#define NGX_HTTP_CRMSYNC_DEAL_STORE         50  /* the store was busy */
#define NGX_HTTP_CRMSYNC_DEAL_PAGES         50  /* owners: 5,000 */
#define NGX_HTTP_CRMSYNC_DEAL_ASSOC_PAGES   10  /* deals: 5,000 */
#define NGX_HTTP_CRMSYNC_DEAL_BATCH        100  /* batch/read inputs */

#define NGX_HTTP_CRMSYNC_DEAL_PROPS                                          \
    "pipeline,dealstage,hubspot_owner_id,dealname,amount"


/* a portal's caches in this worker */
typedef struct ngx_http_crmsync_deal_portal_s  ngx_http_crmsync_deal_portal_t;

struct ngx_http_crmsync_deal_portal_s {
    ngx_http_crmsync_portal_t       *portal;
    ngx_http_crmsync_deal_portal_t  *next;

    ngx_http_crmsync_pipelines_t    *pipelines;     /* one ref: ours */
    ngx_msec_t                       pipelines_at;
    ngx_msec_t                       pipelines_busy;    /* 0: no fetch */

    ngx_http_crmsync_owners_t        owners;
    ngx_msec_t                       owners_at;
    ngx_msec_t                       owners_busy;
    unsigned                         owners_valid:1;
};


/* an owner_find() under way; kept apart from a->data, the kind's */
typedef struct ngx_http_crmsync_deal_find_s  ngx_http_crmsync_deal_find_t;

struct ngx_http_crmsync_deal_find_s {
    ngx_http_crmsync_act_t          *act;
    ngx_http_crmsync_deal_find_t    *next;
    char                             email[256];
    char                            *id;
    size_t                           size;
    ngx_http_crmsync_act_pt          handler;
    ngx_http_crmsync_owners_t        owners;        /* pages read so far */
    char                             after[128];
    ngx_uint_t                       pages;
    ngx_http_crmsync_deal_portal_t  *dp;            /* of the read */
    unsigned                         refreshed:1;
    unsigned                         fetching:1;    /* the owners' read is
                                                       this one's */
};


/* a deal or owner action's state: a->data */
typedef struct {
    ngx_http_crmsync_deal_portal_t  *dp;
    ngx_http_crmsync_pipelines_t    *pipelines;     /* a ref, once held */
    ngx_http_crmsync_pipeline_t     *pl;
    ngx_http_crmsync_stage_t        *stage;

    const char                      *pipeline_name;
    const char                      *stage_name;
    const char                      *name;
    const char                      *amount;
    const char                      *lifecycle;
    const char                      *assignee;
    json_t                          *rr;

    ngx_http_crmsync_act_pt          resolved;      /* once pl (and stage)
                                                       are known */
    ngx_http_crmsync_act_pt          then;          /* after a store step */

    char                             deal[32];
    char                             owner[32];
    char                             amount_buf[64];
    json_t                          *props;         /* the deal's, read */

    char                           **ids;           /* the contact's deals */
    ngx_uint_t                       nids;
    ngx_uint_t                       next;
    char                             after[128];
    ngx_uint_t                       pages;

    const char                      *note;
    char                             error[1024];

    unsigned                         owner_kind:1;
    unsigned                         refreshed:1;
    unsigned                         again:1;
    unsigned                         pipeline_bad:1;
    unsigned                         fetching:1;    /* the pipelines' read
                                                       is this one's */
} ngx_http_crmsync_dact_t;


static ngx_http_crmsync_deal_portal_t *ngx_http_crmsync_deal_portal(
    ngx_http_crmsync_portal_t *portal);
static ngx_http_crmsync_dact_t *ngx_http_crmsync_deal_state(
    ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_cleanup(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_release(
    ngx_http_crmsync_pipelines_t *p);
static json_t *ngx_http_crmsync_deal_answer(ngx_http_crmsync_act_t *a);
static const char *ngx_http_crmsync_deal_str(json_t *o, const char *name);
static const char *ngx_http_crmsync_deal_payload(ngx_http_crmsync_act_t *a,
    const char *name, char *buf, size_t size);
static ngx_int_t ngx_http_crmsync_deal_digits(const char *s);
static void ngx_http_crmsync_deal_store_failed(ngx_http_crmsync_act_t *a);

static void ngx_http_crmsync_deal_pipelines(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_pipelines_fetch(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_pipelines_wait(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_pipelines_answer(
    ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_resolve(ngx_http_crmsync_act_t *a);

static ngx_int_t ngx_http_crmsync_deal_map_get(ngx_http_crmsync_act_t *a,
    ngx_http_crmsync_act_pt again);
static void ngx_http_crmsync_deal_mapped(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_read(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_read_answer(ngx_http_crmsync_act_t *a);
static ngx_int_t ngx_http_crmsync_deal_open(ngx_http_crmsync_dact_t *d,
    json_t *props);
static void ngx_http_crmsync_deal_forget(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_put(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_assoc(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_assoc_answer(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_batch(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_batch_answer(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_found(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_update(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_update_answer(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_create(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_assignee(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_turn(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_rr_owner(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_send(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_created(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_lifecycle(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_lifecycle_read(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_lifecycle_set(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_done(ngx_http_crmsync_act_t *a);

static void ngx_http_crmsync_deal_owner_found(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_owner_contact(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_owner_pipeline(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_owner_mapped(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_owner_read(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_owner_patched(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_owner_done(ngx_http_crmsync_act_t *a);

static ngx_http_crmsync_deal_find_t *ngx_http_crmsync_deal_find_get(
    ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_find_free(ngx_http_crmsync_deal_find_t *f);
static void ngx_http_crmsync_deal_find_run(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_find_wait(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_find_page(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_deal_find_answer(ngx_http_crmsync_act_t *a);


static ngx_http_crmsync_deal_portal_t  *ngx_http_crmsync_deal_portals;
static ngx_http_crmsync_deal_find_t    *ngx_http_crmsync_deal_finds;


/* the caches ------------------------------------------------------------ */


static ngx_http_crmsync_deal_portal_t *
ngx_http_crmsync_deal_portal(ngx_http_crmsync_portal_t *portal)
{
    ngx_http_crmsync_deal_portal_t  *dp;

    for (dp = ngx_http_crmsync_deal_portals; dp; dp = dp->next) {
        if (dp->portal == portal) {
            return dp;
        }
    }

    dp = ngx_calloc(sizeof(ngx_http_crmsync_deal_portal_t), ngx_cycle->log);
    if (dp == NULL) {
        return NULL;
    }

    dp->portal = portal;
    dp->next = ngx_http_crmsync_deal_portals;
    ngx_http_crmsync_deal_portals = dp;

    return dp;
}


static void ngx_http_crmsync_deal_release(ngx_http_crmsync_pipelines_t *p);


/* the worker exits: its caches go (sync.c, once every action has ended) */

void
ngx_http_crmsync_action_deal_exit(void)
{
    ngx_http_crmsync_deal_portal_t  *dp;

    while (ngx_http_crmsync_deal_finds) {
        ngx_http_crmsync_deal_find_free(ngx_http_crmsync_deal_finds);
    }

    while (ngx_http_crmsync_deal_portals) {
        dp = ngx_http_crmsync_deal_portals;
        ngx_http_crmsync_deal_portals = dp->next;

        ngx_http_crmsync_deal_release(dp->pipelines);
        ngx_http_crmsync_owners_clear(&dp->owners);
        ngx_free(dp);
    }
}


static void
ngx_http_crmsync_deal_release(ngx_http_crmsync_pipelines_t *p)
{
    if (p && --p->refs == 0) {
        ngx_http_crmsync_pipelines_free(p);
    }
}


static ngx_http_crmsync_dact_t *
ngx_http_crmsync_deal_state(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = ngx_calloc(sizeof(ngx_http_crmsync_dact_t), a->log);
    if (d == NULL) {
        return NULL;
    }

    d->dp = ngx_http_crmsync_deal_portal(a->portal);
    if (d->dp == NULL) {
        ngx_free(d);
        return NULL;
    }

    a->data = d;
    a->cleanup = ngx_http_crmsync_deal_cleanup;

    return d;
}


static void
ngx_http_crmsync_deal_cleanup(ngx_http_crmsync_act_t *a)
{
    ngx_uint_t                     i;
    ngx_http_crmsync_dact_t       *d;
    ngx_http_crmsync_deal_find_t  *f;

    /* a job that ends inside a read (a 429, a 401) lets others read */

    f = ngx_http_crmsync_deal_find_get(a);

    if (f) {
        ngx_http_crmsync_deal_find_free(f);
    }

    d = a->data;

    if (d == NULL) {
        return;
    }

    if (d->fetching) {
        d->dp->pipelines_busy = 0;
    }

    ngx_http_crmsync_deal_release(d->pipelines);
    d->pipelines = NULL;

    if (d->props) {
        json_decref(d->props);
        d->props = NULL;
    }

    if (d->ids) {
        for (i = 0; i < d->nids; i++) {
            ngx_free(d->ids[i]);
        }

        ngx_free(d->ids);
        d->ids = NULL;
    }
}


/* helpers --------------------------------------------------------------- */


static json_t *
ngx_http_crmsync_deal_answer(ngx_http_crmsync_act_t *a)
{
    if (a->call.answer == NULL || a->call.answer_len == 0) {
        return NULL;
    }

    return json_loadb((const char *) a->call.answer, a->call.answer_len, 0,
                      NULL);
}


/* a string member, "" when absent or null */

static const char *
ngx_http_crmsync_deal_str(json_t *o, const char *name)
{
    json_t  *v;

    v = json_object_get(o, name);

    return json_is_string(v) ? json_string_value(v) : "";
}


/* a payload member as a string (numbers too), or NULL when absent */

static const char *
ngx_http_crmsync_deal_payload(ngx_http_crmsync_act_t *a, const char *name,
    char *buf, size_t size)
{
    json_t  *v;

    v = json_object_get(a->payload, name);

    if (json_is_string(v)) {
        return json_string_length(v) ? json_string_value(v) : NULL;
    }

    if (buf && json_is_integer(v)) {
        ngx_snprintf((u_char *) buf, size - 1, "%L%Z",
                     (int64_t) json_integer_value(v));
        buf[size - 1] = '\0';
        return buf;
    }

    if (buf && json_is_real(v)) {
        ngx_memzero(buf, size);
        (void) snprintf(buf, size, "%.15g", json_real_value(v));
        return buf;
    }

    return NULL;
}


static ngx_int_t
ngx_http_crmsync_deal_digits(const char *s)
{
    size_t  n;

    for (n = 0; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 30) {
            return 0;
        }
    }

    return n > 0;
}


static void
ngx_http_crmsync_deal_store_failed(ngx_http_crmsync_act_t *a)
{
    u_char  buf[512];

    ngx_snprintf(buf, sizeof(buf) - 1, "store: %s%Z",
                 ngx_http_crmsync_store_error(ngx_http_crmsync_store));
    buf[sizeof(buf) - 1] = '\0';

    ngx_http_crmsync_act_retry(a, 1000, (char *) buf);
}


/* the pipelines --------------------------------------------------------- */


static void
ngx_http_crmsync_deal_pipelines(ngx_http_crmsync_act_t *a)
{
    ngx_msec_t                       now;
    ngx_http_crmsync_dact_t         *d;
    ngx_http_crmsync_deal_portal_t  *dp;

    d = a->data;
    dp = d->dp;
    now = ngx_current_msec;

    if (dp->pipelines
        && now - dp->pipelines_at < NGX_HTTP_CRMSYNC_DEAL_REFRESH)
    {
        ngx_http_crmsync_deal_resolve(a);
        return;
    }

    ngx_http_crmsync_deal_pipelines_fetch(a);
}


static void
ngx_http_crmsync_deal_pipelines_fetch(ngx_http_crmsync_act_t *a)
{
    ngx_msec_t                       now;
    ngx_http_crmsync_dact_t         *d;
    ngx_http_crmsync_deal_portal_t  *dp;

    d = a->data;
    dp = d->dp;
    now = ngx_current_msec;

    if (dp->pipelines_busy
        && now - dp->pipelines_busy < NGX_HTTP_CRMSYNC_DEAL_BUSY)
    {
        /* another job of this worker reads them: wait for its answer */
        ngx_http_crmsync_act_later(a, NGX_HTTP_CRMSYNC_DEAL_POLL,
                                   ngx_http_crmsync_deal_pipelines_wait);
        return;
    }

    dp->pipelines_busy = now ? now : 1;
    d->fetching = 1;

    ngx_http_crmsync_act_call(a, "GET", "/crm/v3/pipelines/deals", NULL, 0,
                              ngx_http_crmsync_deal_pipelines_answer);
}


static void
ngx_http_crmsync_deal_pipelines_wait(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t         *d;
    ngx_http_crmsync_deal_portal_t  *dp;

    d = a->data;
    dp = d->dp;

    /* the other job's read is over, and it was answered: it is ours */

    if (dp->pipelines_busy == 0 && dp->pipelines
        && ngx_current_msec - dp->pipelines_at
           < NGX_HTTP_CRMSYNC_DEAL_BUSY + NGX_HTTP_CRMSYNC_DEAL_POLL)
    {
        d->refreshed = 1;
        ngx_http_crmsync_deal_resolve(a);
        return;
    }

    ngx_http_crmsync_deal_pipelines_fetch(a);
}


static void
ngx_http_crmsync_deal_pipelines_answer(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t         *d;
    ngx_http_crmsync_pipelines_t    *p;
    ngx_http_crmsync_deal_portal_t  *dp;

    d = a->data;
    dp = d->dp;

    dp->pipelines_busy = 0;
    d->fetching = 0;

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    p = ngx_http_crmsync_pipelines_parse(a->call.answer, a->call.answer_len);
    if (p == NULL) {
        ngx_log_error(NGX_LOG_WARN, a->log, 0,
                      "crmsync: unreadable answer to GET "
                      "/crm/v3/pipelines/deals of portal \"%V\"",
                      &a->portal->label);
        ngx_http_crmsync_act_failed(a);
        return;
    }

    ngx_http_crmsync_deal_release(dp->pipelines);

    dp->pipelines = p;
    dp->pipelines_at = ngx_current_msec;
    d->refreshed = 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, a->log, 0,
                   "crmsync: %uz deal pipelines of portal \"%V\"",
                   p->n, &a->portal->label);

    ngx_http_crmsync_deal_resolve(a);
}


/*
 * d->pipeline_name (and d->stage_name, unless NULL) in the cached
 * pipelines: d->pl, d->stage; an unknown name reads them again when they
 * are a minute old, then is a configuration error.
 */

static void
ngx_http_crmsync_deal_resolve(ngx_http_crmsync_act_t *a)
{
    char                            *e, names[640];
    ngx_http_crmsync_dact_t         *d;
    ngx_http_crmsync_stage_t        *stage;
    ngx_http_crmsync_pipeline_t     *pl;
    ngx_http_crmsync_pipelines_t    *p;
    ngx_http_crmsync_deal_portal_t  *dp;

    d = a->data;
    dp = d->dp;
    p = dp->pipelines;

    pl = ngx_http_crmsync_pipeline_find(p, d->pipeline_name);
    stage = NULL;

    if (pl && d->stage_name) {
        stage = ngx_http_crmsync_stage_find(pl, d->stage_name);
    }

    if (pl == NULL || (d->stage_name && stage == NULL)) {

        if (!d->refreshed
            && ngx_current_msec - dp->pipelines_at
               >= NGX_HTTP_CRMSYNC_DEAL_MISS)
        {
            ngx_http_crmsync_deal_pipelines_fetch(a);
            return;
        }

        e = d->error;

        if (pl == NULL) {
            ngx_snprintf((u_char *) e, sizeof(d->error) - 1,
                         "crmsync_deal pipeline=\"%s\" is not a pipeline of "
                         "portal \"%V\"; valid: %s%Z", d->pipeline_name,
                         &a->portal->label,
                         ngx_http_crmsync_pipelines_names(p, names,
                                                          sizeof(names)));

        } else {
            ngx_snprintf((u_char *) e, sizeof(d->error) - 1,
                         "crmsync_deal stage=\"%s\" is not a stage of "
                         "pipeline \"%s\" (%s) of portal \"%V\"; valid: %s%Z",
                         d->stage_name, pl->label, pl->id, &a->portal->label,
                         ngx_http_crmsync_stages_names(pl, names,
                                                       sizeof(names)));
        }

        e[sizeof(d->error) - 1] = '\0';

        ngx_log_error(NGX_LOG_ERR, a->log, 0, "%s", e);

        if (d->owner_kind) {
            /* the owner is set all the same: only the deal's is left */
            d->pipeline_bad = 1;
            d->resolved(a);
            return;
        }

        ngx_http_crmsync_act_dead(a, e, "CONFIG");
        return;
    }

    p->refs++;
    d->pipelines = p;
    d->pl = pl;
    d->stage = stage;

    d->resolved(a);
}


/* deal ------------------------------------------------------------------ */


void
ngx_http_crmsync_act_deal(ngx_http_crmsync_act_t *a)
{
    json_t                   *rr;
    ngx_http_crmsync_dact_t  *d;

    if (ngx_http_crmsync_act_contact(a) != NGX_OK) {
        return;
    }

    d = ngx_http_crmsync_deal_state(a);
    if (d == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    d->pipeline_name = ngx_http_crmsync_deal_payload(a, "pipeline", NULL, 0);
    d->stage_name = ngx_http_crmsync_deal_payload(a, "stage", NULL, 0);
    d->name = ngx_http_crmsync_deal_payload(a, "name", NULL, 0);
    d->amount = ngx_http_crmsync_deal_payload(a, "amount", d->amount_buf,
                                              sizeof(d->amount_buf));
    d->lifecycle = ngx_http_crmsync_deal_payload(a, "lifecycle", NULL, 0);
    d->assignee = ngx_http_crmsync_deal_payload(a, "assignee", NULL, 0);

    rr = json_object_get(a->payload, "rr");
    d->rr = (json_is_array(rr) && json_array_size(rr)) ? rr : NULL;

    if (d->pipeline_name == NULL || d->stage_name == NULL) {
        ngx_http_crmsync_act_dead(a, "deal payload without pipeline or "
                                  "stage", "INVALID_PAYLOAD");
        return;
    }

    d->resolved = ngx_http_crmsync_deal_mapped;

    ngx_http_crmsync_deal_pipelines(a);
}


/*
 * The deal map's deal for the contact and pipeline.  The map is keyed by
 * the pipeline as crmsync_deal names it (the payload's "pipeline"), as
 * the transcript and owner actions of the location also name it.
 */

static ngx_int_t
ngx_http_crmsync_deal_map_get(ngx_http_crmsync_act_t *a,
    ngx_http_crmsync_act_pt again)
{
    ngx_http_crmsync_dact_t      *d;
    ngx_http_crmsync_store_rc_e   rc;

    d = a->data;

    rc = ngx_http_crmsync_store_deal_get(ngx_http_crmsync_store,
                                         (ngx_http_crmsync_str_t *)
                                         &a->portal->label, a->contact,
                                         d->pipeline_name, d->deal,
                                         sizeof(d->deal));

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
        ngx_http_crmsync_act_later(a, NGX_HTTP_CRMSYNC_DEAL_STORE, again);
        return NGX_AGAIN;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        ngx_http_crmsync_deal_store_failed(a);
        return NGX_ERROR;
    }

    /* none, or not a HubSpot id: none */

    if (!ngx_http_crmsync_deal_digits(d->deal)) {
        d->deal[0] = '\0';
    }

    return NGX_OK;
}


static void
ngx_http_crmsync_deal_mapped(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (ngx_http_crmsync_deal_map_get(a, ngx_http_crmsync_deal_mapped)
        != NGX_OK)
    {
        return;
    }

    if (d->deal[0]) {
        ngx_http_crmsync_deal_read(a);
        return;
    }

    ngx_http_crmsync_deal_assoc(a);
}


static void
ngx_http_crmsync_deal_read(ngx_http_crmsync_act_t *a)
{
    u_char                    path[256];
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    ngx_snprintf(path, sizeof(path), "/crm/v3/objects/deals/%s?properties="
                 NGX_HTTP_CRMSYNC_DEAL_PROPS "%Z", d->deal);

    ngx_http_crmsync_act_call(a, "GET", (char *) path, NULL, 0,
                              ngx_http_crmsync_deal_read_answer);
}


/* 1: the deal (its properties) is open in d->pl */

static ngx_int_t
ngx_http_crmsync_deal_open(ngx_http_crmsync_dact_t *d, json_t *props)
{
    ngx_http_crmsync_stage_t  *st;

    if (ngx_strcmp(ngx_http_crmsync_deal_str(props, "pipeline"), d->pl->id)
        != 0)
    {
        return 0;
    }

    /* a stage the pipelines do not list is taken as open */

    st = ngx_http_crmsync_stage_by_id(d->pl,
                              ngx_http_crmsync_deal_str(props, "dealstage"));

    return st == NULL || !st->closed;
}


static void
ngx_http_crmsync_deal_read_answer(ngx_http_crmsync_act_t *a)
{
    json_t                   *doc, *props;
    const char               *id;
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (a->call.status == 404) {
        ngx_log_error(NGX_LOG_INFO, a->log, 0,
                      "crmsync: deal %s of contact %s is gone from portal "
                      "\"%V\"", d->deal, a->contact, &a->portal->label);
        d->then = ngx_http_crmsync_deal_assoc;
        ngx_http_crmsync_deal_forget(a);
        return;
    }

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    doc = ngx_http_crmsync_deal_answer(a);
    props = json_object_get(doc, "properties");

    if (!json_is_object(props)) {
        json_decref(doc);
        ngx_http_crmsync_act_failed(a);
        return;
    }

    if (!ngx_http_crmsync_deal_open(d, props)) {
        json_decref(doc);
        d->then = ngx_http_crmsync_deal_assoc;
        ngx_http_crmsync_deal_forget(a);
        return;
    }

    d->props = json_incref(props);

    /* a merged deal answers with its new id */

    id = ngx_http_crmsync_deal_str(doc, "id");

    if (ngx_http_crmsync_deal_digits(id) && ngx_strcmp(id, d->deal) != 0
        && ngx_strlen(id) < sizeof(d->deal))
    {
        ngx_cpystrn((u_char *) d->deal, (u_char *) id, sizeof(d->deal));
        json_decref(doc);

        d->then = ngx_http_crmsync_deal_update;
        ngx_http_crmsync_deal_put(a);
        return;
    }

    json_decref(doc);

    ngx_http_crmsync_deal_update(a);
}


/* the map forgets the deal; then d->then */

static void
ngx_http_crmsync_deal_forget(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;
    d->deal[0] = '\0';

    ngx_http_crmsync_deal_put(a);
}


/* the map gets d->deal ("" forgets); then d->then */

static void
ngx_http_crmsync_deal_put(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t      *d;
    ngx_http_crmsync_store_rc_e   rc;

    d = a->data;

    rc = ngx_http_crmsync_store_deal_put(ngx_http_crmsync_store,
                                         (ngx_http_crmsync_str_t *)
                                         &a->portal->label, a->contact,
                                         d->pipeline_name, d->deal);

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
        ngx_http_crmsync_act_later(a, NGX_HTTP_CRMSYNC_DEAL_STORE,
                                   ngx_http_crmsync_deal_put);
        return;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        ngx_http_crmsync_deal_store_failed(a);
        return;
    }

    d->then(a);
}


/* the contact's deals, through the v4 associations */

static void
ngx_http_crmsync_deal_assoc(ngx_http_crmsync_act_t *a)
{
    u_char                   *p, path[384];
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (d->props) {
        json_decref(d->props);
        d->props = NULL;
    }

    p = ngx_snprintf(path, sizeof(path) - 1,
                     "/crm/v4/objects/contacts/%s/associations/deals"
                     "?limit=500", a->contact);

    if (d->after[0]) {
        p = ngx_snprintf(p, path + sizeof(path) - 1 - p, "&after=%s",
                         d->after);
    }

    *p = '\0';

    ngx_http_crmsync_act_call(a, "GET", (char *) path, NULL, 0,
                              ngx_http_crmsync_deal_assoc_answer);
}


static int ngx_libc_cdecl
ngx_http_crmsync_deal_id_cmp(const void *one, const void *two)
{
    size_t       la, lb;
    const char  *a, *b;

    a = *(char * const *) one;
    b = *(char * const *) two;

    la = ngx_strlen(a);
    lb = ngx_strlen(b);

    if (la != lb) {
        return la < lb ? -1 : 1;
    }

    return ngx_strcmp(a, b);
}


static void
ngx_http_crmsync_deal_assoc_answer(ngx_http_crmsync_act_t *a)
{
    char                     **ids, buf[32], *s;
    size_t                     i, n, len;
    json_t                    *doc, *results, *r, *v;
    const char                *id;
    ngx_http_crmsync_dact_t   *d;

    d = a->data;

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    doc = ngx_http_crmsync_deal_answer(a);
    results = json_object_get(doc, "results");

    if (!json_is_array(results)) {
        json_decref(doc);
        ngx_http_crmsync_act_failed(a);
        return;
    }

    n = json_array_size(results);

    if (n) {
        ids = ngx_alloc((d->nids + n) * sizeof(char *), a->log);
        if (ids == NULL) {
            json_decref(doc);
            ngx_http_crmsync_act_retry(a, 1000, "no memory");
            return;
        }

        if (d->nids) {
            ngx_memcpy(ids, d->ids, d->nids * sizeof(char *));
        }

        ngx_free(d->ids);
        d->ids = ids;
    }

    json_array_foreach(results, i, r) {
        v = json_object_get(r, "toObjectId");

        if (json_is_integer(v)) {
            ngx_snprintf((u_char *) buf, sizeof(buf) - 1, "%L%Z",
                         (int64_t) json_integer_value(v));
            buf[sizeof(buf) - 1] = '\0';
            id = buf;

        } else if (json_is_string(v)) {
            id = json_string_value(v);

        } else {
            continue;
        }

        if (!ngx_http_crmsync_deal_digits(id)) {
            continue;
        }

        len = ngx_strlen(id);

        s = ngx_alloc(len + 1, a->log);
        if (s == NULL) {
            json_decref(doc);
            ngx_http_crmsync_act_retry(a, 1000, "no memory");
            return;
        }

        ngx_memcpy(s, id, len + 1);
        d->ids[d->nids++] = s;
    }

    v = json_object_get(json_object_get(json_object_get(doc, "paging"),
                                        "next"), "after");
    id = json_is_string(v) ? json_string_value(v) : "";

    if (id[0] && ngx_strlen(id) < sizeof(d->after)
        && ++d->pages < NGX_HTTP_CRMSYNC_DEAL_ASSOC_PAGES)
    {
        ngx_cpystrn((u_char *) d->after, (u_char *) id, sizeof(d->after));
        json_decref(doc);
        ngx_http_crmsync_deal_assoc(a);
        return;
    }

    json_decref(doc);

    d->after[0] = '\0';

    /* the oldest first: the first open deal is the same on every run */

    ngx_qsort(d->ids, d->nids, sizeof(char *), ngx_http_crmsync_deal_id_cmp);

    d->next = 0;

    ngx_http_crmsync_deal_batch(a);
}


/* the next up to 100 of the contact's deals: their pipeline and stage */

static void
ngx_http_crmsync_deal_batch(ngx_http_crmsync_act_t *a)
{
    json_t                   *body, *inputs, *in;
    ngx_uint_t                i;
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (d->next >= d->nids) {
        ngx_http_crmsync_deal_create(a);
        return;
    }

    body = json_pack("{s:[s,s,s,s,s]}", "properties", "pipeline",
                     "dealstage", "hubspot_owner_id", "dealname", "amount");
    inputs = json_array();

    if (body == NULL || inputs == NULL
        || json_object_set_new(body, "inputs", inputs) != 0)
    {
        json_decref(body);
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    for (i = d->next;
         i < d->nids && i < d->next + NGX_HTTP_CRMSYNC_DEAL_BATCH;
         i++)
    {
        in = json_pack("{s:s}", "id", d->ids[i]);

        if (in == NULL || json_array_append_new(inputs, in) != 0) {
            json_decref(body);
            ngx_http_crmsync_act_retry(a, 1000, "no memory");
            return;
        }
    }

    d->next = i;

    ngx_http_crmsync_act_call(a, "POST", "/crm/v3/objects/deals/batch/read",
                              body, 0, ngx_http_crmsync_deal_batch_answer);
}


static void
ngx_http_crmsync_deal_batch_answer(ngx_http_crmsync_act_t *a)
{
    size_t                    i;
    json_t                   *doc, *results, *r, *props, *best;
    const char               *id, *best_id;
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (a->call.status != 200 && a->call.status != 207) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    doc = ngx_http_crmsync_deal_answer(a);
    results = json_object_get(doc, "results");

    if (!json_is_array(results)) {
        json_decref(doc);
        ngx_http_crmsync_act_failed(a);
        return;
    }

    best = NULL;
    best_id = NULL;

    json_array_foreach(results, i, r) {
        id = ngx_http_crmsync_deal_str(r, "id");
        props = json_object_get(r, "properties");

        if (!ngx_http_crmsync_deal_digits(id) || !json_is_object(props)
            || ngx_strlen(id) >= sizeof(d->deal)
            || !ngx_http_crmsync_deal_open(d, props))
        {
            continue;
        }

        if (best_id == NULL
            || ngx_http_crmsync_deal_id_cmp(&id, &best_id) < 0)
        {
            best = props;
            best_id = id;
        }
    }

    if (best == NULL) {
        json_decref(doc);
        ngx_http_crmsync_deal_batch(a);
        return;
    }

    ngx_cpystrn((u_char *) d->deal, (u_char *) best_id, sizeof(d->deal));
    d->props = json_incref(best);

    json_decref(doc);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, a->log, 0,
                   "crmsync: open deal %s of contact %s found",
                   d->deal, a->contact);

    d->then = ngx_http_crmsync_deal_found;
    ngx_http_crmsync_deal_put(a);
}


static void
ngx_http_crmsync_deal_found(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_deal_update(a);
}


/* the open deal d->deal (properties d->props): what changes */

static void
ngx_http_crmsync_deal_update(ngx_http_crmsync_act_t *a)
{
    u_char                     path[128];
    json_t                    *body, *props;
    const char                *cur;
    ngx_http_crmsync_dact_t   *d;
    ngx_http_crmsync_stage_t  *st;

    d = a->data;

    props = json_object();
    if (props == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    if (d->name
        && ngx_strcmp(d->name, ngx_http_crmsync_deal_str(d->props,
                                                         "dealname"))
           != 0)
    {
        json_object_set_new(props, "dealname", json_string(d->name));
    }

    if (d->amount) {
        cur = ngx_http_crmsync_deal_str(d->props, "amount");

        if (ngx_strcmp(cur, d->amount) != 0
            && (cur[0] == '\0' || strtod(cur, NULL) != strtod(d->amount, NULL)))
        {
            json_object_set_new(props, "amount", json_string(d->amount));
        }
    }

    /* the stage only forward */

    st = ngx_http_crmsync_stage_by_id(d->pl,
                          ngx_http_crmsync_deal_str(d->props, "dealstage"));

    if (st && st != d->stage && d->stage->order > st->order) {
        json_object_set_new(props, "dealstage", json_string(d->stage->id));
    }

    if (json_object_size(props) == 0) {
        json_decref(props);
        d->note = "unchanged";
        ngx_http_crmsync_deal_lifecycle(a);
        return;
    }

    body = json_object();

    if (body == NULL || json_object_set_new(body, "properties", props) != 0) {
        json_decref(body);
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    ngx_snprintf(path, sizeof(path), "/crm/v3/objects/deals/%s%Z", d->deal);

    ngx_http_crmsync_act_call(a, "PATCH", (char *) path, body, 0,
                              ngx_http_crmsync_deal_update_answer);
}


static void
ngx_http_crmsync_deal_update_answer(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (a->call.status == 404 && !d->again) {
        /* deleted since it was read: look again, once */
        d->again = 1;
        d->then = ngx_http_crmsync_deal_assoc;
        ngx_http_crmsync_deal_forget(a);
        return;
    }

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    d->note = "updated";

    ngx_http_crmsync_deal_lifecycle(a);
}


/* no open deal: a new one; its owner first */

static void
ngx_http_crmsync_deal_create(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;
    d->owner[0] = '\0';

    if (d->assignee) {
        ngx_http_crmsync_act_owner_find(a, d->assignee, d->owner,
                                        sizeof(d->owner),
                                        ngx_http_crmsync_deal_assignee);
        return;
    }

    ngx_http_crmsync_deal_turn(a);
}


static void
ngx_http_crmsync_deal_assignee(ngx_http_crmsync_act_t *a)
{
    char                      masked[128];
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (d->owner[0]) {
        ngx_http_crmsync_deal_send(a);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, a->log, 0,
                  "crmsync: no HubSpot owner for assignee \"%s\" of portal "
                  "\"%V\"%s",
                  ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_EMAIL,
                                        (u_char *) d->assignee,
                                        ngx_strlen(d->assignee), masked,
                                        sizeof(masked)),
                  &a->portal->label,
                  d->rr ? ", the deal's owner is the round robin's"
                        : ", the new deal is left unassigned");

    ngx_http_crmsync_deal_turn(a);
}


/* crmsync_owner round_robin: the turn, kept in the store */

static void
ngx_http_crmsync_deal_turn(ngx_http_crmsync_act_t *a)
{
    u_char                        name[192], holder[32];
    int64_t                       n;
    json_t                       *v;
    ngx_http_crmsync_dact_t      *d;
    ngx_http_crmsync_store_rc_e   rc;

    d = a->data;

    if (d->rr == NULL) {
        ngx_http_crmsync_deal_send(a);
        return;
    }

    ngx_snprintf(name, sizeof(name) - 1, "deal:%s%Z", d->pl->id);
    name[sizeof(name) - 1] = '\0';

    /* the job's own turn: a retried create keeps the owner it drew */

    ngx_snprintf(holder, sizeof(holder) - 1, "deal:%L%Z", a->job->id);
    holder[sizeof(holder) - 1] = '\0';

    rc = ngx_http_crmsync_store_turn(ngx_http_crmsync_store,
                                     (ngx_http_crmsync_str_t *)
                                     &a->portal->label, (char *) name,
                                     (char *) holder,
                                     ngx_http_crmsync_now(), &n);

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
        ngx_http_crmsync_act_later(a, NGX_HTTP_CRMSYNC_DEAL_STORE,
                                   ngx_http_crmsync_deal_turn);
        return;
    }

    if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
        ngx_http_crmsync_deal_store_failed(a);
        return;
    }

    if (n < 0) {
        n = 0;
    }

    v = json_array_get(d->rr, (size_t) (n % json_array_size(d->rr)));

    if (!json_is_string(v) || json_string_length(v) == 0) {
        ngx_http_crmsync_deal_send(a);
        return;
    }

    d->assignee = json_string_value(v);     /* for the log below */

    ngx_http_crmsync_act_owner_find(a, d->assignee, d->owner,
                                    sizeof(d->owner),
                                    ngx_http_crmsync_deal_rr_owner);
}


static void
ngx_http_crmsync_deal_rr_owner(ngx_http_crmsync_act_t *a)
{
    char                      masked[128];
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (d->owner[0] == '\0') {
        ngx_log_error(NGX_LOG_WARN, a->log, 0,
                      "crmsync: no HubSpot owner for crmsync_owner "
                      "round_robin \"%s\" of portal \"%V\", the new deal "
                      "is left unassigned",
                      ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_EMAIL,
                                            (u_char *) d->assignee,
                                            ngx_strlen(d->assignee), masked,
                                            sizeof(masked)),
                      &a->portal->label);
    }

    ngx_http_crmsync_deal_send(a);
}


static void
ngx_http_crmsync_deal_send(ngx_http_crmsync_act_t *a)
{
    json_t                   *body, *props;
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    props = json_pack("{s:s,s:s}", "pipeline", d->pl->id, "dealstage",
                      d->stage->id);

    body = json_pack("{s:o,s:[{s:{s:s},s:[{s:s,s:i}]}]}",
                     "properties", props,
                     "associations", "to", "id", a->contact,
                     "types", "associationCategory", "HUBSPOT_DEFINED",
                     "associationTypeId", 3);

    if (body == NULL
        || (d->name && json_object_set_new(props, "dealname",
                                           json_string(d->name)) != 0)
        || (d->amount && json_object_set_new(props, "amount",
                                             json_string(d->amount)) != 0)
        || (d->owner[0] && json_object_set_new(props, "hubspot_owner_id",
                                               json_string(d->owner)) != 0))
    {
        json_decref(body);
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    ngx_http_crmsync_act_call(a, "POST", "/crm/v3/objects/deals", body,
                              NGX_HTTP_CRMSYNC_ACT_FRESH,
                              ngx_http_crmsync_deal_created);
}


static void
ngx_http_crmsync_deal_created(ngx_http_crmsync_act_t *a)
{
    u_char                    err[128];
    json_t                   *doc;
    const char               *id;
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (a->call.status == 0 || a->call.status >= 500) {

        /* it may have been made: the retry's association read finds it */

        if (a->call.status) {
            ngx_snprintf(err, sizeof(err) - 1, "deal create: HubSpot "
                         "answered %l%Z", a->call.status);
        } else {
            ngx_snprintf(err, sizeof(err) - 1, "deal create: no answer%Z");
        }

        err[sizeof(err) - 1] = '\0';

        ngx_http_crmsync_act_retry(a, 1000, (char *) err);
        return;
    }

    if (a->call.status != 201 && a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    doc = ngx_http_crmsync_deal_answer(a);
    id = ngx_http_crmsync_deal_str(doc, "id");

    if (!ngx_http_crmsync_deal_digits(id) || ngx_strlen(id) >= sizeof(d->deal))
    {
        json_decref(doc);
        ngx_http_crmsync_act_retry(a, 1000, "deal create: no id in the "
                                   "answer");
        return;
    }

    ngx_cpystrn((u_char *) d->deal, (u_char *) id, sizeof(d->deal));
    json_decref(doc);

    ngx_log_error(NGX_LOG_INFO, a->log, 0,
                  "crmsync: deal %s created for contact %s in pipeline "
                  "\"%s\" of portal \"%V\"%s%s", d->deal, a->contact,
                  d->pl->label, &a->portal->label,
                  d->owner[0] ? ", owner " : "", d->owner);

    d->note = "created";
    d->then = ngx_http_crmsync_deal_lifecycle;

    ngx_http_crmsync_deal_put(a);
}


/* crmsync_lifecycle_on_deal: the contact's stage, forward only */

static void
ngx_http_crmsync_deal_lifecycle(ngx_http_crmsync_act_t *a)
{
    u_char                    path[192];
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (d->lifecycle == NULL) {
        ngx_http_crmsync_deal_done(a);
        return;
    }

    ngx_snprintf(path, sizeof(path), "/crm/v3/objects/contacts/%s"
                 "?properties=lifecyclestage%Z", a->contact);

    ngx_http_crmsync_act_call(a, "GET", (char *) path, NULL, 0,
                              ngx_http_crmsync_deal_lifecycle_read);
}


static void
ngx_http_crmsync_deal_lifecycle_read(ngx_http_crmsync_act_t *a)
{
    u_char                    path[128];
    json_t                   *doc, *props, *body;
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    doc = ngx_http_crmsync_deal_answer(a);
    props = json_object_get(doc, "properties");

    if (!json_is_object(props)) {
        json_decref(doc);
        ngx_http_crmsync_act_failed(a);
        return;
    }

    if (!ngx_http_crmsync_lifecycle_forward(
             ngx_http_crmsync_deal_str(props, "lifecyclestage"), d->lifecycle))
    {
        json_decref(doc);
        ngx_http_crmsync_deal_done(a);
        return;
    }

    json_decref(doc);

    body = json_pack("{s:{s:s}}", "properties", "lifecyclestage",
                     d->lifecycle);
    if (body == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    ngx_snprintf(path, sizeof(path), "/crm/v3/objects/contacts/%s%Z",
                 a->contact);

    ngx_http_crmsync_act_call(a, "PATCH", (char *) path, body, 0,
                              ngx_http_crmsync_deal_lifecycle_set);
}


static void
ngx_http_crmsync_deal_lifecycle_set(ngx_http_crmsync_act_t *a)
{
    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    ngx_http_crmsync_deal_done(a);
}


static void
ngx_http_crmsync_deal_done(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    ngx_http_crmsync_act_done(a, d->deal, d->note);
}


/* owner ----------------------------------------------------------------- */


void
ngx_http_crmsync_act_owner(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    if (ngx_http_crmsync_act_contact(a) != NGX_OK) {
        return;
    }

    d = ngx_http_crmsync_deal_state(a);
    if (d == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    d->owner_kind = 1;
    d->assignee = ngx_http_crmsync_deal_payload(a, "assignee", NULL, 0);
    d->pipeline_name = ngx_http_crmsync_deal_payload(a, "pipeline", NULL, 0);

    if (d->assignee == NULL) {
        ngx_http_crmsync_act_done(a, NULL, "no_assignee");
        return;
    }

    ngx_http_crmsync_act_owner_find(a, d->assignee, d->owner,
                                    sizeof(d->owner),
                                    ngx_http_crmsync_deal_owner_found);
}


static void
ngx_http_crmsync_deal_owner_found(ngx_http_crmsync_act_t *a)
{
    u_char                    path[128];
    char                      masked[128];
    json_t                   *body;
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (d->owner[0] == '\0') {
        ngx_log_error(NGX_LOG_WARN, a->log, 0,
                      "crmsync: no HubSpot owner for assignee \"%s\" of "
                      "portal \"%V\", left unassigned",
                      ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_EMAIL,
                                            (u_char *) d->assignee,
                                            ngx_strlen(d->assignee), masked,
                                            sizeof(masked)),
                      &a->portal->label);

        ngx_http_crmsync_act_done(a, NULL, "no_owner");
        return;
    }

    body = json_pack("{s:{s:s}}", "properties", "hubspot_owner_id",
                     d->owner);
    if (body == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    ngx_snprintf(path, sizeof(path), "/crm/v3/objects/contacts/%s%Z",
                 a->contact);

    ngx_http_crmsync_act_call(a, "PATCH", (char *) path, body, 0,
                              ngx_http_crmsync_deal_owner_contact);
}


static void
ngx_http_crmsync_deal_owner_contact(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    if (d->pipeline_name == NULL) {
        ngx_http_crmsync_deal_owner_done(a);
        return;
    }

    d->resolved = ngx_http_crmsync_deal_owner_pipeline;

    ngx_http_crmsync_deal_pipelines(a);
}


static void
ngx_http_crmsync_deal_owner_pipeline(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (d->pipeline_bad) {
        ngx_http_crmsync_deal_owner_done(a);
        return;
    }

    ngx_http_crmsync_deal_owner_mapped(a);
}


static void
ngx_http_crmsync_deal_owner_mapped(ngx_http_crmsync_act_t *a)
{
    u_char                   path[256];
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (ngx_http_crmsync_deal_map_get(a, ngx_http_crmsync_deal_owner_mapped)
        != NGX_OK)
    {
        return;
    }

    if (d->deal[0] == '\0') {
        ngx_http_crmsync_deal_owner_done(a);
        return;
    }

    ngx_snprintf(path, sizeof(path), "/crm/v3/objects/deals/%s?properties="
                 NGX_HTTP_CRMSYNC_DEAL_PROPS "%Z", d->deal);

    ngx_http_crmsync_act_call(a, "GET", (char *) path, NULL, 0,
                              ngx_http_crmsync_deal_owner_read);
}


static void
ngx_http_crmsync_deal_owner_read(ngx_http_crmsync_act_t *a)
{
    u_char                    path[128];
    json_t                   *doc, *props, *body;
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (a->call.status == 404) {
        d->then = ngx_http_crmsync_deal_owner_done;
        ngx_http_crmsync_deal_forget(a);
        return;
    }

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    doc = ngx_http_crmsync_deal_answer(a);
    props = json_object_get(doc, "properties");

    if (!json_is_object(props)) {
        json_decref(doc);
        ngx_http_crmsync_act_failed(a);
        return;
    }

    if (!ngx_http_crmsync_deal_open(d, props)) {
        /* closed since: the next deal action finds or makes another */
        json_decref(doc);
        d->then = ngx_http_crmsync_deal_owner_done;
        ngx_http_crmsync_deal_forget(a);
        return;
    }

    if (ngx_strcmp(ngx_http_crmsync_deal_str(props, "hubspot_owner_id"),
                   d->owner)
        == 0)
    {
        json_decref(doc);
        ngx_http_crmsync_deal_owner_done(a);
        return;
    }

    json_decref(doc);

    body = json_pack("{s:{s:s}}", "properties", "hubspot_owner_id",
                     d->owner);
    if (body == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    ngx_snprintf(path, sizeof(path), "/crm/v3/objects/deals/%s%Z", d->deal);

    ngx_http_crmsync_act_call(a, "PATCH", (char *) path, body, 0,
                              ngx_http_crmsync_deal_owner_patched);
}


static void
ngx_http_crmsync_deal_owner_patched(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    if (a->call.status == 404) {
        d->then = ngx_http_crmsync_deal_owner_done;
        ngx_http_crmsync_deal_forget(a);
        return;
    }

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    ngx_http_crmsync_deal_owner_done(a);
}


static void
ngx_http_crmsync_deal_owner_done(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_dact_t  *d;

    d = a->data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, a->log, 0,
                   "crmsync: owner %s set on contact %s, deal \"%s\"",
                   d->owner, a->contact, d->deal);

    ngx_http_crmsync_act_done(a, a->contact, "owner_set");
}


/* owner_find ------------------------------------------------------------ */


static ngx_http_crmsync_deal_find_t *
ngx_http_crmsync_deal_find_get(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_deal_find_t  *f;

    for (f = ngx_http_crmsync_deal_finds; f; f = f->next) {
        if (f->act == a) {
            return f;
        }
    }

    return NULL;
}


static void
ngx_http_crmsync_deal_find_free(ngx_http_crmsync_deal_find_t *f)
{
    ngx_http_crmsync_deal_find_t  **pf;

    if (f->fetching && f->dp) {
        f->dp->owners_busy = 0;
    }

    for (pf = &ngx_http_crmsync_deal_finds; *pf; pf = &(*pf)->next) {
        if (*pf == f) {
            *pf = f->next;
            break;
        }
    }

    ngx_http_crmsync_owners_clear(&f->owners);
    ngx_free(f);
}


void
ngx_http_crmsync_act_owner_find(ngx_http_crmsync_act_t *a,
    const char *email, char *id, size_t size,
    ngx_http_crmsync_act_pt handler)
{
    ngx_http_crmsync_deal_find_t  *f;

    id[0] = '\0';

    if (email == NULL || email[0] == '\0') {
        ngx_http_crmsync_act_later(a, 0, handler);
        return;
    }

    /*
     * A find of an earlier job at this address that ended without its
     * answer (a 429, a 401) is left over: it is taken over.
     */

    f = ngx_http_crmsync_deal_find_get(a);

    if (f) {
        ngx_http_crmsync_owners_clear(&f->owners);

        if (f->fetching && f->dp) {
            f->dp->owners_busy = 0;
        }

    } else {
        f = ngx_alloc(sizeof(ngx_http_crmsync_deal_find_t), a->log);
        if (f == NULL) {
            ngx_http_crmsync_act_retry(a, 1000, "no memory");
            return;
        }

        f->act = a;
        f->next = ngx_http_crmsync_deal_finds;
        ngx_http_crmsync_deal_finds = f;
    }

    ngx_memzero(&f->owners, sizeof(ngx_http_crmsync_owners_t));
    ngx_cpystrn((u_char *) f->email, (u_char *) email, sizeof(f->email));
    f->id = id;
    f->size = size;
    f->handler = handler;
    f->after[0] = '\0';
    f->pages = 0;
    f->dp = NULL;
    f->refreshed = 0;
    f->fetching = 0;

    ngx_http_crmsync_deal_find_run(a);
}


static void
ngx_http_crmsync_deal_find_run(ngx_http_crmsync_act_t *a)
{
    ngx_msec_t                       now, age;
    const char                      *id;
    ngx_http_crmsync_act_pt          handler;
    ngx_http_crmsync_deal_find_t    *f;
    ngx_http_crmsync_deal_portal_t  *dp;

    f = ngx_http_crmsync_deal_find_get(a);
    if (f == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "owner lookup lost");
        return;
    }

    dp = ngx_http_crmsync_deal_portal(a->portal);
    if (dp == NULL) {
        ngx_http_crmsync_deal_find_free(f);
        ngx_http_crmsync_act_retry(a, 1000, "no memory");
        return;
    }

    now = ngx_current_msec;
    age = now - dp->owners_at;

    if (dp->owners_valid && age < NGX_HTTP_CRMSYNC_DEAL_REFRESH) {
        id = ngx_http_crmsync_owners_find(&dp->owners, f->email);

        if (id || f->refreshed || age < NGX_HTTP_CRMSYNC_DEAL_MISS) {
            if (id && ngx_strlen(id) < f->size) {
                ngx_cpystrn((u_char *) f->id, (u_char *) id, f->size);
            }

            handler = f->handler;
            ngx_http_crmsync_deal_find_free(f);

            /* never from inside the caller's own call */
            ngx_http_crmsync_act_later(a, 0, handler);
            return;
        }
    }

    if (dp->owners_busy
        && now - dp->owners_busy < NGX_HTTP_CRMSYNC_DEAL_BUSY)
    {
        /* another job of this worker reads them: wait for its answer */
        ngx_http_crmsync_act_later(a, NGX_HTTP_CRMSYNC_DEAL_POLL,
                                   ngx_http_crmsync_deal_find_wait);
        return;
    }

    dp->owners_busy = now ? now : 1;
    f->dp = dp;
    f->fetching = 1;

    ngx_http_crmsync_deal_find_page(a);
}


static void
ngx_http_crmsync_deal_find_wait(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_deal_find_t    *f;
    ngx_http_crmsync_deal_portal_t  *dp;

    f = ngx_http_crmsync_deal_find_get(a);
    dp = ngx_http_crmsync_deal_portal(a->portal);

    /* the other job's read is over, and it was answered: it is ours */

    if (f && dp && dp->owners_busy == 0 && dp->owners_valid
        && ngx_current_msec - dp->owners_at
           < NGX_HTTP_CRMSYNC_DEAL_BUSY + NGX_HTTP_CRMSYNC_DEAL_POLL)
    {
        f->refreshed = 1;
    }

    ngx_http_crmsync_deal_find_run(a);
}


static void
ngx_http_crmsync_deal_find_page(ngx_http_crmsync_act_t *a)
{
    u_char                        *p, path[256];
    ngx_http_crmsync_deal_find_t  *f;

    f = ngx_http_crmsync_deal_find_get(a);
    if (f == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "owner lookup lost");
        return;
    }

    p = ngx_cpymem(path, "/crm/v3/owners?limit=100",
                   sizeof("/crm/v3/owners?limit=100") - 1);

    if (f->after[0]) {
        p = ngx_snprintf(p, path + sizeof(path) - 1 - p, "&after=%s",
                         f->after);
    }

    *p = '\0';

    ngx_http_crmsync_act_call(a, "GET", (char *) path, NULL, 0,
                              ngx_http_crmsync_deal_find_answer);
}


static void
ngx_http_crmsync_deal_find_answer(ngx_http_crmsync_act_t *a)
{
    const char                      *id;
    ngx_http_crmsync_act_pt          handler;
    ngx_http_crmsync_deal_find_t    *f;
    ngx_http_crmsync_deal_portal_t  *dp;

    f = ngx_http_crmsync_deal_find_get(a);
    dp = ngx_http_crmsync_deal_portal(a->portal);

    if (f == NULL || dp == NULL) {
        ngx_http_crmsync_act_retry(a, 1000, "owner lookup lost");
        return;
    }

    if (a->call.status != 200
        || ngx_http_crmsync_owners_add(&f->owners, a->call.answer,
                                       a->call.answer_len, f->after,
                                       sizeof(f->after))
           != 0)
    {
        dp->owners_busy = 0;
        ngx_http_crmsync_deal_find_free(f);
        ngx_http_crmsync_act_failed(a);
        return;
    }

    if (f->after[0] && ++f->pages < NGX_HTTP_CRMSYNC_DEAL_PAGES) {
        ngx_http_crmsync_deal_find_page(a);
        return;
    }

    /* the whole list: it replaces the cache */

    ngx_http_crmsync_owners_clear(&dp->owners);
    dp->owners = f->owners;
    ngx_memzero(&f->owners, sizeof(ngx_http_crmsync_owners_t));

    dp->owners_valid = 1;
    dp->owners_at = ngx_current_msec;
    dp->owners_busy = 0;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, a->log, 0,
                   "crmsync: %uz owners of portal \"%V\"",
                   dp->owners.n, &a->portal->label);

    id = ngx_http_crmsync_owners_find(&dp->owners, f->email);

    if (id && ngx_strlen(id) < f->size) {
        ngx_cpystrn((u_char *) f->id, (u_char *) id, f->size);
    }

    handler = f->handler;
    ngx_http_crmsync_deal_find_free(f);

    handler(a);
}

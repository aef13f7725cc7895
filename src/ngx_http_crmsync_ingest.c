
/*
 * Copyright (C) crmsync authors
 *
 * The webhook's store step: a verified, parsed delivery becomes rows that
 * wait for the worker's next group commit, and the request is answered
 * only once that commit returned.  Every request whose body completed in
 * one turn of the event loop shares one transaction, and so one fsync
 * with sync=full: the commit runs as a posted event, after all I/O of the
 * turn.  A store locked by another worker is tried again from a 2 ms
 * timer, never waited for; one that stays locked or fails answers 503
 * with Retry-After, so that the platform delivers again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_sha1.h>

#include "ngx_http_crmsync_module.h"
#include "ngx_http_crmsync_store.h"


#define NGX_HTTP_CRMSYNC_COMMIT_MAX     256     /* requests a transaction */
#define NGX_HTTP_CRMSYNC_BUSY_RETRY     2       /* ms */
#define NGX_HTTP_CRMSYNC_BUSY_MAX       3000    /* ms locked: then 503 */
#define NGX_HTTP_CRMSYNC_RETRY_AFTER    "5"


static void ngx_http_crmsync_commit_handler(ngx_event_t *ev);
static void ngx_http_crmsync_reopen_handler(ngx_event_t *ev);
static void ngx_http_crmsync_ingest_cleanup(void *data);
static void ngx_http_crmsync_ingest_fail(const char *why);
static void ngx_http_crmsync_ingest_answer(ngx_http_crmsync_ctx_t *ctx);
static void ngx_http_crmsync_ingest_remap(ngx_http_crmsync_loc_conf_t *cslcf,
    ngx_http_crmsync_store_row_t *row);


/*
 * What an event adds beside its contact job (doc/conversations.md): the
 * message it keeps, what it does to its conversation, and its action
 * jobs, made on the request path and stored by the group commit right
 * after the contact job, whose id becomes their parent.
 */

typedef struct {
    ngx_http_crmsync_str_t          conv;       /* "<provider>:<id>" */
    ngx_http_crmsync_str_t          conv_key;   /* "conv:<conv>" */
    ngx_http_crmsync_str_t          mkey;       /* a message to keep, or
                                                   empty */
    ngx_http_crmsync_store_msg_t    msg;
    int64_t                         idle;       /* ms */

    ngx_http_crmsync_store_row_t    transcript; /* kind 0: none */
    ngx_http_crmsync_store_row_t   *actions;
    ngx_uint_t                      nactions;

    unsigned                        parent:1;   /* the contact job is
                                                   queued or held */
    unsigned                        human:1;    /* an agent wrote */
    unsigned                        assigned:1;
    unsigned                        close:1;
} ngx_http_crmsync_conv_op_t;


#define ngx_http_crmsync_lit(p, s)  ngx_cpymem(p, s, sizeof(s) - 1)


static ngx_int_t ngx_http_crmsync_ingest_convs(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_store_row_t *row, ngx_http_crmsync_str_t *first,
    int64_t now, ngx_http_crmsync_conv_op_t *op);
static ngx_http_crmsync_store_rc_e ngx_http_crmsync_ingest_store_conv(
    ngx_http_crmsync_store_row_t *row, ngx_http_crmsync_conv_op_t *op,
    int64_t now);


ngx_http_crmsync_store_t  *ngx_http_crmsync_store;
int64_t                    ngx_http_crmsync_owner;


static ngx_queue_t         ngx_http_crmsync_pending;
static ngx_uint_t          ngx_http_crmsync_npending;
static ngx_event_t         ngx_http_crmsync_commit_ev;
static ngx_event_t         ngx_http_crmsync_retry_ev;
static ngx_connection_t    ngx_http_crmsync_commit_conn;
static ngx_msec_t          ngx_http_crmsync_busy_since;
static ngx_event_t         ngx_http_crmsync_reopen_ev;
static ngx_msec_t          ngx_http_crmsync_reopen_logged;
static ngx_flag_t          ngx_http_crmsync_ingest_ready;


int64_t
ngx_http_crmsync_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


ngx_int_t
ngx_http_crmsync_ingest_init_worker(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_http_crmsync_pending);

    ngx_http_crmsync_commit_conn.fd = (ngx_socket_t) -1;

    ngx_http_crmsync_commit_ev.handler = ngx_http_crmsync_commit_handler;
    ngx_http_crmsync_commit_ev.data = &ngx_http_crmsync_commit_conn;
    ngx_http_crmsync_commit_ev.log = cycle->log;

    /* not cancelable: a batch waiting for a locked store keeps a
       gracefully exiting worker until it is answered */

    ngx_http_crmsync_retry_ev.handler = ngx_http_crmsync_commit_handler;
    ngx_http_crmsync_retry_ev.data = &ngx_http_crmsync_commit_conn;
    ngx_http_crmsync_retry_ev.log = cycle->log;

    ngx_http_crmsync_owner = ((int64_t) ngx_time() << 22) ^ ngx_pid;
    ngx_http_crmsync_ingest_ready = 1;

    ngx_http_crmsync_reopen_ev.handler = ngx_http_crmsync_reopen_handler;
    ngx_http_crmsync_reopen_ev.data = &ngx_http_crmsync_commit_conn;
    ngx_http_crmsync_reopen_ev.log = cycle->log;
    ngx_http_crmsync_reopen_ev.cancelable = 1;

    ngx_http_crmsync_reopen_handler(&ngx_http_crmsync_reopen_ev);

    return NGX_OK;
}


/*
 * A store that cannot be opened (its disk gone read-only, its directory
 * not writable) leaves the worker running: it answers 503, so nothing is
 * acknowledged, and tries again every second.
 */

static void
ngx_http_crmsync_reopen_handler(ngx_event_t *ev)
{
    char                           err[256];
    ngx_msec_t                     now;
    ngx_http_crmsync_main_conf_t  *mcf;

    if (ngx_exiting) {
        return;
    }

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_crmsync_module);

    ngx_http_crmsync_store = ngx_http_crmsync_store_open(
                                 (char *) mcf->store.data, mcf->sync_full,
                                 err, sizeof(err));

    now = ngx_current_msec;

    if (ngx_http_crmsync_store) {
        if (ngx_http_crmsync_reopen_logged) {
            ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                          "crmsync_store \"%V\" is open again", &mcf->store);
        }

        return;
    }

    if (ngx_http_crmsync_reopen_logged == 0
        || now - ngx_http_crmsync_reopen_logged >= 60000)
    {
        ngx_http_crmsync_reopen_logged = now ? now : 1;

        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "crmsync_store \"%V\" cannot be opened: %s; webhooks "
                      "are answered 503 until it can", &mcf->store, err);
    }

    ngx_add_timer(ev, 1000);
}


void
ngx_http_crmsync_ingest_exit_worker(ngx_cycle_t *cycle)
{
    if (!ngx_http_crmsync_ingest_ready) {
        return;
    }

    if (ngx_http_crmsync_npending) {
        ngx_http_crmsync_ingest_fail("worker exiting");
    }

    if (ngx_http_crmsync_commit_ev.posted) {
        ngx_delete_posted_event(&ngx_http_crmsync_commit_ev);
    }

    if (ngx_http_crmsync_retry_ev.timer_set) {
        ngx_del_timer(&ngx_http_crmsync_retry_ev);
    }

    if (ngx_http_crmsync_reopen_ev.timer_set) {
        ngx_del_timer(&ngx_http_crmsync_reopen_ev);
    }

    ngx_http_crmsync_store_close(ngx_http_crmsync_store);
    ngx_http_crmsync_store = NULL;
    ngx_http_crmsync_ingest_ready = 0;
}


/* a JSON string, quoted: its length, and its copy */

static size_t
ngx_http_crmsync_json_len(ngx_str_t *v)
{
    return v->len + ngx_escape_json(NULL, v->data, v->len) + 2;
}


static u_char *
ngx_http_crmsync_json_copy(u_char *p, ngx_str_t *v)
{
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, v->data, v->len);
    *p++ = '"';

    return p;
}


/* the identifiers of an event, as the payload's "ids" and the job's keys */

#define NGX_HTTP_CRMSYNC_IDS  10

typedef struct {
    ngx_str_t                   name;       /* in "ids" */
    ngx_str_t                   kind;       /* in the key */
    ngx_str_t                   value;
} ngx_http_crmsync_ingest_id_t;


static ngx_int_t
ngx_http_crmsync_ids(ngx_http_request_t *r, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_ingest_id_t *ids)
{
    u_char                       *p;
    size_t                        len;
    ngx_uint_t                    i, n;
    const char                   *provider;
    ngx_http_crmsync_str_t       *values[NGX_HTTP_CRMSYNC_IDS];
    ngx_http_crmsync_identity_t  *id;

    static ngx_str_t  names[NGX_HTTP_CRMSYNC_IDS] = {
        ngx_string("email"), ngx_string("phone"), ngx_string("phone_alt"),
        ngx_string("whatsapp_id"), ngx_string("telegram_id"),
        ngx_string("telegram_username"), ngx_string("messenger_id"),
        ngx_string("instagram_id"), ngx_string("platform_id"),
        ngx_string("crm_id")
    };

    id = &ev->identity;

    values[0] = &id->email;
    values[1] = &id->phone;
    values[2] = &id->phone_alt;
    values[3] = &id->whatsapp_id;
    values[4] = &id->telegram_id;
    values[5] = &id->telegram_username;
    values[6] = &id->messenger_psid;
    values[7] = &id->instagram_id;
    values[8] = &id->platform_id;
    values[9] = &id->hubspot_id;

    n = 0;

    for (i = 0; i < NGX_HTTP_CRMSYNC_IDS; i++) {
        if (values[i]->len == 0) {
            continue;
        }

        ids[n].name = names[i];
        ids[n].kind = names[i == 2 ? 1 : i];
        ids[n].value.data = values[i]->data;
        ids[n].value.len = values[i]->len;

        if (i == 5) {
            /* Telegram's usernames are case-insensitive */

            p = ngx_pnalloc(r->pool, values[i]->len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            ngx_strlow(p, values[i]->data, values[i]->len);
            ids[n].value.data = p;

        } else if (i == 8) {
            /* "<provider>:<the platform's id>" */

            provider = ngx_http_crmsync_provider_names[ev->provider];
            len = ngx_strlen(provider) + 1 + values[i]->len;

            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            ids[n].value.data = p;
            p = ngx_cpymem(p, provider, len - 1 - values[i]->len);
            *p++ = ':';
            ngx_memcpy(p, values[i]->data, values[i]->len);
            ids[n].value.len = len;
        }

        n++;
    }

    return n;
}


/*
 * The job payload, version 2 (doc/matching.md): the event's identifiers,
 * the location's members made at merge time, and the contact properties:
 * first and last name, then the crmsync_set values (a set name overrides
 * the event's).  An empty value is left out, so that it never clears what
 * HubSpot holds.  Built by hand: this runs for every event on the request
 * path.
 */

static ngx_int_t
ngx_http_crmsync_payload(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_ingest_id_t *ids, ngx_uint_t nids, ngx_str_t *out)
{
    u_char                  *p;
    size_t                   len;
    ngx_str_t               *key, *val;
    ngx_uint_t               i, j, n, nprops;
    ngx_http_crmsync_set_t  *set;

    static ngx_str_t  names[] = {
        ngx_string("firstname"), ngx_string("lastname")
    };

    n = cslcf->sets ? cslcf->sets->nelts : 0;
    set = n ? cslcf->sets->elts : NULL;

    key = ngx_palloc(r->pool, 2 * (2 + n) * sizeof(ngx_str_t));
    if (key == NULL) {
        return NGX_ERROR;
    }

    val = key + 2 + n;

    key[0] = names[0];
    key[1] = names[1];
    val[0].data = ev->first_name.data;
    val[0].len = ev->first_name.len;
    val[1].data = ev->last_name.data;
    val[1].len = ev->last_name.len;

    for (i = 0; i < n; i++) {
        key[2 + i] = set[i].property;

        if (ngx_http_complex_value(r, &set[i].value, &val[2 + i]) != NGX_OK) {
            return NGX_ERROR;
        }

        for (j = 0; j < 2; j++) {
            if (key[j].len == set[i].property.len
                && ngx_strncmp(key[j].data, set[i].property.data,
                               key[j].len)
                   == 0)
            {
                val[j].len = 0;
            }
        }
    }

    len = sizeof("{\"v\":2,\"ids\":{},,\"props\":{}}")
          + cslcf->payload_head.len + cslcf->payload_tail.len;

    for (i = 0; i < nids; i++) {
        len += ids[i].name.len + ngx_http_crmsync_json_len(&ids[i].value) + 4;
    }

    nprops = 0;

    for (i = 0; i < 2 + n; i++) {
        if (val[i].len) {
            len += ngx_http_crmsync_json_len(&key[i])
                   + ngx_http_crmsync_json_len(&val[i]) + 2;
            nprops++;
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    p = ngx_cpymem(p, "{\"v\":2,\"ids\":{", sizeof("{\"v\":2,\"ids\":{") - 1);

    for (i = 0; i < nids; i++) {
        if (i) {
            *p++ = ',';
        }

        /* the names need no escaping */

        *p++ = '"';
        p = ngx_cpymem(p, ids[i].name.data, ids[i].name.len);
        *p++ = '"';
        *p++ = ':';
        p = ngx_http_crmsync_json_copy(p, &ids[i].value);
    }

    *p++ = '}';
    *p++ = ',';
    p = ngx_cpymem(p, cslcf->payload_head.data, cslcf->payload_head.len);

    if (nprops) {
        p = ngx_cpymem(p, ",\"props\":{", sizeof(",\"props\":{") - 1);
        j = 0;

        for (i = 0; i < 2 + n; i++) {
            if (val[i].len == 0) {
                continue;
            }

            if (j++) {
                *p++ = ',';
            }

            p = ngx_http_crmsync_json_copy(p, &key[i]);
            *p++ = ':';
            p = ngx_http_crmsync_json_copy(p, &val[i]);
        }

        *p++ = '}';
    }

    p = ngx_cpymem(p, cslcf->payload_tail.data, cslcf->payload_tail.len);
    *p++ = '}';

    out->len = p - out->data;

    return NGX_OK;
}


/* the job's keys: "<kind>:<value>" for every identifier */

static ngx_int_t
ngx_http_crmsync_keys(ngx_http_request_t *r,
    ngx_http_crmsync_store_row_t *row, ngx_http_crmsync_ingest_id_t *ids,
    ngx_uint_t nids)
{
    u_char                  *p;
    ngx_uint_t               i;
    ngx_http_crmsync_str_t  *keys;

    keys = ngx_palloc(r->pool, nids * sizeof(ngx_http_crmsync_str_t));
    if (keys == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < nids; i++) {
        p = ngx_pnalloc(r->pool, ids[i].kind.len + 1 + ids[i].value.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        keys[i].data = p;
        p = ngx_cpymem(p, ids[i].kind.data, ids[i].kind.len);
        *p++ = ':';
        p = ngx_cpymem(p, ids[i].value.data, ids[i].value.len);
        keys[i].len = p - keys[i].data;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "crmsync job key: %V", &keys[i]);
    }

    row->keys = keys;
    row->nkeys = nids;
    row->match_key = keys[0];

    return NGX_OK;
}


/* a when= or crmsync_filter value: true unless empty or "0" */

static ngx_int_t
ngx_http_crmsync_true(ngx_http_request_t *r, ngx_http_complex_value_t *cv)
{
    ngx_str_t  v;

    if (ngx_http_complex_value(r, cv, &v) != NGX_OK) {
        return NGX_ERROR;
    }

    return !(v.len == 0 || (v.len == 1 && v.data[0] == '0'));
}


/* crmsync_filter: an empty value or "0" skips the delivery's events */

static ngx_int_t
ngx_http_crmsync_filtered(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf)
{
    ngx_int_t  rc;

    if (cslcf->filter == NULL) {
        return 0;
    }

    rc = ngx_http_crmsync_true(r, cslcf->filter);

    return (rc == NGX_ERROR) ? NGX_ERROR : !rc;
}


/* events that create or update a contact in this version */

static ngx_uint_t
ngx_http_crmsync_contact_event(ngx_http_crmsync_event_t *ev)
{
    switch (ev->type) {

    case NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND:
    case NGX_HTTP_CRMSYNC_EV_CONTACT_CREATED:
    case NGX_HTTP_CRMSYNC_EV_CONTACT_UPDATED:
        return ev->provider != NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT;

    default:
        return 0;
    }
}


ngx_int_t
ngx_http_crmsync_ingest(ngx_http_request_t *r, ngx_http_crmsync_ctx_t *ctx,
    ngx_str_t *body)
{
    u_char                        *p, hash[20];
    size_t                         i, n, len;
    const char                    *name;
    ngx_int_t                      rc, filtered;
    ngx_uint_t                     hashed, nids;
    int64_t                        now;
    ngx_sha1_t                     sha1;
    ngx_table_elt_t               *h;
    ngx_http_cleanup_t            *cln;
    ngx_http_crmsync_event_t      *ev;
    ngx_http_crmsync_loc_conf_t   *cslcf;
    ngx_http_crmsync_str_t         first;
    ngx_http_crmsync_store_row_t  *rows, *row;
    ngx_http_crmsync_conv_op_t    *convs;
    ngx_http_crmsync_ingest_id_t   ids[NGX_HTTP_CRMSYNC_IDS];

    cslcf = ngx_http_get_module_loc_conf(r, ngx_http_crmsync_module);

    if (ngx_http_crmsync_store == NULL) {
        goto unavailable;
    }

    rows = ngx_pcalloc(r->pool,
                       ctx->nevents * sizeof(ngx_http_crmsync_store_row_t));
    if (rows == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    convs = ngx_pcalloc(r->pool,
                        ctx->nevents * sizeof(ngx_http_crmsync_conv_op_t));
    if (convs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    now = ngx_http_crmsync_now();
    hashed = 0;

    filtered = ngx_http_crmsync_filtered(r, cslcf);
    if (filtered == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < ctx->nevents; i++) {
        ev = &ctx->events[i];
        row = &rows[i];

        /* the event variables read this event while its rows are made */
        ctx->current = i;

        /*
         * The dedup key: the location, and the platform's id or the body's
         * digest.  With the location, two senders that choose their own
         * ids (Standard Webhooks) never meet.
         */

        name = ngx_http_crmsync_provider_names[ev->provider];

        p = ngx_pnalloc(r->pool, cslcf->clcf->name.len + ngx_strlen(name)
                                 + ev->delivery_id.len + 64 + NGX_SIZE_T_LEN);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        row->key.data = p;
        p = ngx_sprintf(p, "%V %s:", &cslcf->clcf->name, name);

        if (ev->delivery_id.len) {
            p = ngx_cpymem(p, ev->delivery_id.data, ev->delivery_id.len);

        } else {
            if (!hashed) {
                ngx_sha1_init(&sha1);
                ngx_sha1_update(&sha1, body->data, body->len);
                ngx_sha1_final(hash, &sha1);
                hashed = 1;
            }

            p = ngx_cpymem(p, "sha1:", 5);
            p = ngx_hex_dump(p, hash, sizeof(hash));
            p = ngx_sprintf(p, "#%uz", i);
        }

        row->key.len = p - row->key.data;

        row->location.data = cslcf->clcf->name.data;
        row->location.len = cslcf->clcf->name.len;
        row->portal.data = cslcf->portal->label.data;
        row->portal.len = cslcf->portal->label.len;
        row->provider = ngx_http_crmsync_provider_names[ev->provider];
        row->type = ngx_http_crmsync_event_type_names[ev->type];
        row->visible_at = now;

        rc = ngx_http_crmsync_ids(r, ev, ids);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        nids = rc;

        if (ev->type == NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_MERGED
            && ev->identity.hubspot_id.len)
        {
            /* HubSpot's contact.merge: the identity map follows the
               survivor; nothing to write */
            row->state = NGX_HTTP_CRMSYNC_JOB_DONE;
            row->hold_reason = "merged";
            row->merge_to = ev->identity.hubspot_id;
            row->merge_from = ev->merged_ids;

        } else if (!ngx_http_crmsync_contact_event(ev)) {
            /* kept as a record, pruned with the audit trail: what this
               version syncs of it is nothing yet */
            row->state = NGX_HTTP_CRMSYNC_JOB_DONE;
            row->hold_reason = "not_synced_yet";

        } else if (filtered) {
            /* stored for dedup and to be seen, never synced */
            row->state = NGX_HTTP_CRMSYNC_JOB_DONE;
            row->hold_reason = "filtered";

        } else if (nids == 0
                   && (ev->first_name.len == 0 || ev->last_name.len == 0))
        {
            row->state = NGX_HTTP_CRMSYNC_JOB_HELD;
            row->hold_reason = "no_identity";

        } else {
            row->state = NGX_HTTP_CRMSYNC_JOB_QUEUED;

            if (nids
                && ngx_http_crmsync_keys(r, row, ids, nids) != NGX_OK)
            {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        if (ngx_http_crmsync_payload(r, cslcf, ev, ids, nids,
                                     (ngx_str_t *) &row->payload)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "crmsync job payload: %V", &row->payload);

        /* one pass: the event's JSON is rarely over twice the body */

        len = 2 * body->len + 1024;

        for ( ;; ) {
            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            n = ngx_http_crmsync_events_json(ev, 1, p, len);

            if (n < len) {
                break;
            }

            len = n + 1;
        }

        row->event.data = p;
        row->event.len = n;

        /* its conversation and actions: none for a filtered delivery,
           nor for HubSpot's own events */

        if (filtered || ev->provider == NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT) {
            continue;
        }

        /* a location with none of them keeps no conversation */

        if (cslcf->transcript == NGX_HTTP_CRMSYNC_TRANSCRIPT_OFF
            && cslcf->deal == NULL && cslcf->task == NULL
            && cslcf->flags == NULL && !cslcf->owner_assignee)
        {
            continue;
        }

        if (nids) {
            p = ngx_pnalloc(r->pool, ids[0].kind.len + 1 + ids[0].value.len);
            if (p == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            first.data = p;
            p = ngx_cpymem(p, ids[0].kind.data, ids[0].kind.len);
            *p++ = ':';
            p = ngx_cpymem(p, ids[0].value.data, ids[0].value.len);
            first.len = p - first.data;

        } else {
            first.data = NULL;
            first.len = 0;
        }

        if (ngx_http_crmsync_ingest_convs(r, cslcf, ev, row, &first, now,
                                          &convs[i])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    ctx->current = 0;

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_crmsync_ingest_cleanup;
    cln->data = ctx;

    ctx->request = r;
    ctx->rows = rows;
    ctx->convs = convs;
    ctx->pending = 1;

    ngx_queue_insert_tail(&ngx_http_crmsync_pending, &ctx->queue);
    ngx_http_crmsync_npending++;

    if (!ngx_http_crmsync_retry_ev.timer_set) {
        ngx_post_event(&ngx_http_crmsync_commit_ev, &ngx_posted_events);
    }

    return NGX_DONE;

unavailable:

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, NGX_HTTP_CRMSYNC_RETRY_AFTER);

    return ngx_http_crmsync_refuse(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                   "store_unavailable");
}


/*
 * The payload of a transcript action of a location's conversation
 * (doc/conversations.md): its channel's label, HubSpot's channel type
 * (only for communications; NULL: none fits), closed_at (ms).  The idle
 * sweep makes its payloads with it too (the label and type of a location
 * come from ngx_http_crmsync_channel() with an event of its provider).
 * NULL: no memory.
 */

u_char *
ngx_http_crmsync_transcript_payload(ngx_pool_t *pool,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_str_t *conv, ngx_str_t *channel,
    const char *type, int64_t closed_at, size_t *len)
{
    u_char  *p, *start;
    size_t   n;

    if (cslcf->transcript != NGX_HTTP_CRMSYNC_TRANSCRIPT_COMMUNICATION) {
        type = NULL;
    }

    n = sizeof("{\"v\":1,\"conv\":,\"mode\":\"communication\","
               "\"channel\":,\"channel_type\":\"LINKEDIN_MESSAGE\","
               "\"upto\":0,\"closed_at\":}")
        + ngx_http_crmsync_json_len(conv) + ngx_http_crmsync_json_len(channel)
        + NGX_INT64_LEN + cslcf->transcript_tail.len;

    start = ngx_pnalloc(pool, n);
    if (start == NULL) {
        return NULL;
    }

    p = ngx_http_crmsync_lit(start, "{\"v\":1,\"conv\":");
    p = ngx_http_crmsync_json_copy(p, conv);
    p = ngx_sprintf(p, ",\"mode\":\"%s\",\"channel\":",
                    cslcf->transcript
                    == NGX_HTTP_CRMSYNC_TRANSCRIPT_COMMUNICATION
                    ? "communication" : "note");
    p = ngx_http_crmsync_json_copy(p, channel);

    if (type) {
        p = ngx_sprintf(p, ",\"channel_type\":\"%s\"", type);
    }

    p = ngx_sprintf(p, ",\"upto\":0,\"closed_at\":%L", closed_at);
    p = ngx_cpymem(p, cslcf->transcript_tail.data,
                   cslcf->transcript_tail.len);
    *p++ = '}';

    *len = p - start;

    return start;
}


/*
 * One action job of an event.  It has its event's delivery key: the
 * store derives a key of its own from it ("<key>#<kind>.<n>"), so that a
 * redelivery finds it again.  The parent, the state and the keys are set
 * by the commit (ngx_http_crmsync_ingest_action).
 */

static ngx_http_crmsync_store_row_t *
ngx_http_crmsync_action_row(ngx_http_request_t *r,
    ngx_http_crmsync_store_row_t *row, ngx_http_crmsync_conv_op_t *op,
    ngx_http_crmsync_store_row_t *a, ngx_http_crmsync_job_kind_e kind,
    u_char *payload, u_char *last)
{
    if (a == NULL) {
        a = &op->actions[op->nactions++];
    }

    a->key = row->key;
    a->location = row->location;
    a->portal = row->portal;
    a->provider = row->provider;
    a->type = row->type;
    a->visible_at = row->visible_at;
    a->kind = kind;
    a->conv = op->conv;
    a->payload.data = payload;
    a->payload.len = last - payload;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "crmsync action %s: %V",
                   ngx_http_crmsync_job_kind_names[kind], &a->payload);

    return a;
}


/*
 * The conversation and the actions of an event (doc/conversations.md):
 * the conversation key, the message kept, and the payloads of its
 * transcript, deal, owner, task and flag actions.
 */

static ngx_int_t
ngx_http_crmsync_ingest_convs(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_store_row_t *row, ngx_http_crmsync_str_t *first,
    int64_t now, ngx_http_crmsync_conv_op_t *op)
{
    u_char                   *p, *start;
    size_t                    len, n;
    int64_t                   at;
    ngx_int_t                 rc;
    ngx_str_t                 conv, label, name, amount, subject, key, who;
    ngx_uint_t                i, open, author;
    const char               *provider, *type, *prefix;
    ngx_http_crmsync_flag_t  *flag;

    provider = ngx_http_crmsync_provider_names[ev->provider];

    /*
     * "<provider>:<conversation id>"; else, for a platform whose messages
     * name no conversation, the person: "<provider>:contact:<the
     * platform's contact id>", else "<provider>:<first key>".  respond.io
     * names no conversation on its messages, so a close that did would
     * miss them: its conversations are always the person's.
     */

    if (ev->conversation_id.len
        && ev->provider != NGX_HTTP_CRMSYNC_PROVIDER_RESPONDIO)
    {
        who.data = ev->conversation_id.data;
        who.len = ev->conversation_id.len;
        prefix = "";

    } else if (ev->identity.platform_id.len) {
        who.data = ev->identity.platform_id.data;
        who.len = ev->identity.platform_id.len;
        prefix = "contact:";

    } else {
        who.data = first->data;
        who.len = first->len;
        prefix = "";
    }

    n = who.len;

    if (n) {
        n += ngx_strlen(prefix);

        p = ngx_pnalloc(r->pool, 2 * (ngx_strlen(provider) + 1 + n)
                                 + sizeof("conv:"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        op->conv.data = p;
        p = ngx_sprintf(p, "%s:%s", provider, prefix);
        p = ngx_cpymem(p, who.data, who.len);
        op->conv.len = p - op->conv.data;

        op->conv_key.data = p;
        p = ngx_http_crmsync_lit(p, "conv:");
        p = ngx_cpymem(p, op->conv.data, op->conv.len);
        op->conv_key.len = p - op->conv_key.data;

        row->conv = op->conv;
    }

    op->parent = (row->state == NGX_HTTP_CRMSYNC_JOB_QUEUED
                  || row->state == NGX_HTTP_CRMSYNC_JOB_HELD);

    if (!op->parent && op->conv.len == 0) {
        /* no contact and no conversation to find one through */
        return NGX_OK;
    }

    conv.data = op->conv.data;
    conv.len = op->conv.len;

    at = ev->occurred_at ? ev->occurred_at : now;
    op->idle = cslcf->transcript_idle;

    n = 4 + (cslcf->flags ? cslcf->flags->nelts : 0);

    op->actions = ngx_pcalloc(r->pool,
                              n * sizeof(ngx_http_crmsync_store_row_t));
    if (op->actions == NULL) {
        return NGX_ERROR;
    }

    /* the transcript: messages kept, the conversation assigned, closed */

    if (cslcf->transcript != NGX_HTTP_CRMSYNC_TRANSCRIPT_OFF && conv.len) {

        switch (ev->type) {

        case NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND:
        case NGX_HTTP_CRMSYNC_EV_MESSAGE_OUTBOUND:

            author = ev->author;

            if (author == NGX_HTTP_CRMSYNC_AUTHOR_NONE) {
                author = (ev->type == NGX_HTTP_CRMSYNC_EV_MESSAGE_INBOUND)
                         ? NGX_HTTP_CRMSYNC_AUTHOR_CONTACT
                         : NGX_HTTP_CRMSYNC_AUTHOR_AGENT;
            }

            if (!(cslcf->transcript_authors & (1 << author))) {
                break;
            }

            /* "<conv>/<message id or delivery key>" */

            len = conv.len + 1 + (ev->message_id.len ? ev->message_id.len
                                                     : row->key.len);
            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            op->mkey.data = p;
            p = ngx_cpymem(p, conv.data, conv.len);
            *p++ = '/';

            if (ev->message_id.len) {
                p = ngx_cpymem(p, ev->message_id.data, ev->message_id.len);

            } else {
                p = ngx_cpymem(p, row->key.data, row->key.len);
            }

            op->mkey.len = p - op->mkey.data;

            op->msg.at = at;
            op->msg.author = author;
            op->msg.attachments = ev->attachments;
            op->msg.text = ev->text;
            op->human = (author == NGX_HTTP_CRMSYNC_AUTHOR_AGENT);

            if (cslcf->transcript_when == NGX_HTTP_CRMSYNC_WHEN_ALWAYS) {
                goto transcript;
            }

            break;

        case NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED:
            op->assigned = 1;
            break;

        case NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED:
            op->close = 1;
            goto transcript;

        default:
            break;
        }

        goto deal;

    transcript:

        ngx_http_crmsync_channel(ev, &label, &type);

        start = ngx_http_crmsync_transcript_payload(r->pool, cslcf, &conv,
                                                    &label, type, at, &len);
        if (start == NULL) {
            return NGX_ERROR;
        }

        p = start + len;

        if (ngx_http_crmsync_action_row(r, row, op, &op->transcript,
                                        NGX_HTTP_CRMSYNC_KIND_TRANSCRIPT,
                                        start, p)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

deal:

    /* the deal: when= true, or without when=, any event with a contact */

    if (cslcf->deal) {
        if (cslcf->deal->when) {
            rc = ngx_http_crmsync_true(r, cslcf->deal->when);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

        } else {
            rc = op->parent;
        }

        if (rc) {
            if (ngx_http_complex_value(r, &cslcf->deal->name, &name)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            ngx_str_null(&amount);

            if (cslcf->deal->amount
                && ngx_http_complex_value(r, cslcf->deal->amount, &amount)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }

            len = cslcf->deal_head.len + cslcf->deal_tail.len
                  + ngx_http_crmsync_json_len(&name)
                  + sizeof(",\"amount\":,\"assignee\":,\"conv\":}")
                  + ngx_http_crmsync_json_len(&amount)
                  + ngx_http_crmsync_json_len((ngx_str_t *) &ev->assignee)
                  + ngx_http_crmsync_json_len(&conv);

            start = ngx_pnalloc(r->pool, len);
            if (start == NULL) {
                return NGX_ERROR;
            }

            p = ngx_cpymem(start, cslcf->deal_head.data,
                           cslcf->deal_head.len);
            p = ngx_http_crmsync_json_copy(p, &name);

            if (amount.len) {
                p = ngx_http_crmsync_lit(p, ",\"amount\":");
                p = ngx_http_crmsync_json_copy(p, &amount);
            }

            p = ngx_cpymem(p, cslcf->deal_tail.data, cslcf->deal_tail.len);

            if (cslcf->owner_assignee && ev->assignee.len) {
                p = ngx_http_crmsync_lit(p, ",\"assignee\":");
                p = ngx_http_crmsync_json_copy(p, (ngx_str_t *) &ev->assignee);
            }

            if (conv.len) {
                p = ngx_http_crmsync_lit(p, ",\"conv\":");
                p = ngx_http_crmsync_json_copy(p, &conv);
            }

            *p++ = '}';

            if (ngx_http_crmsync_action_row(r, row, op, NULL,
                                            NGX_HTTP_CRMSYNC_KIND_DEAL,
                                            start, p)
                == NULL)
            {
                return NGX_ERROR;
            }
        }
    }

    /*
     * The owner: the conversation's assignee, on an assignment only
     * (Intercom names the assignee on every message; an owner action per
     * message would spend a call on each)
     */

    if (cslcf->owner_assignee && ev->assignee.len
        && ev->type == NGX_HTTP_CRMSYNC_EV_CONVERSATION_ASSIGNED)
    {
        len = sizeof("{\"v\":1,\"assignee\":,\"conv\":}")
              + cslcf->pipeline_json.len
              + ngx_http_crmsync_json_len((ngx_str_t *) &ev->assignee)
              + ngx_http_crmsync_json_len(&conv);

        start = ngx_pnalloc(r->pool, len);
        if (start == NULL) {
            return NGX_ERROR;
        }

        p = ngx_http_crmsync_lit(start, "{\"v\":1,\"assignee\":");
        p = ngx_http_crmsync_json_copy(p, (ngx_str_t *) &ev->assignee);
        p = ngx_cpymem(p, cslcf->pipeline_json.data,
                       cslcf->pipeline_json.len);

        if (conv.len) {
            p = ngx_http_crmsync_lit(p, ",\"conv\":");
            p = ngx_http_crmsync_json_copy(p, &conv);
        }

        *p++ = '}';

        if (ngx_http_crmsync_action_row(r, row, op, NULL,
                                        NGX_HTTP_CRMSYNC_KIND_OWNER,
                                        start, p)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    /* the task: one per conversation (or delivery), by its key */

    if (cslcf->task) {
        rc = ngx_http_crmsync_true(r, &cslcf->task->when);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc) {
            if (ngx_http_complex_value(r, &cslcf->task->subject, &subject)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            key.len = sizeof("task:") - 1 + (conv.len ? conv.len
                                                      : row->key.len);
            key.data = ngx_pnalloc(r->pool, key.len);
            if (key.data == NULL) {
                return NGX_ERROR;
            }

            p = ngx_http_crmsync_lit(key.data, "task:");

            if (conv.len) {
                ngx_memcpy(p, conv.data, conv.len);

            } else {
                ngx_memcpy(p, row->key.data, row->key.len);
            }

            len = sizeof("{\"v\":1,\"subject\":,\"at\":,\"conv\":}")
                  + NGX_INT64_LEN + ngx_http_crmsync_json_len(&subject)
                  + cslcf->task_mid.len + ngx_http_crmsync_json_len(&key)
                  + ngx_http_crmsync_json_len(&conv);

            start = ngx_pnalloc(r->pool, len);
            if (start == NULL) {
                return NGX_ERROR;
            }

            p = ngx_http_crmsync_lit(start, "{\"v\":1,\"subject\":");
            p = ngx_http_crmsync_json_copy(p, &subject);
            p = ngx_cpymem(p, cslcf->task_mid.data, cslcf->task_mid.len);
            p = ngx_http_crmsync_json_copy(p, &key);
            p = ngx_sprintf(p, ",\"at\":%L", at);

            /* its contact may come through the conversation */

            if (conv.len) {
                p = ngx_http_crmsync_lit(p, ",\"conv\":");
                p = ngx_http_crmsync_json_copy(p, &conv);
            }

            *p++ = '}';

            if (ngx_http_crmsync_action_row(r, row, op, NULL,
                                            NGX_HTTP_CRMSYNC_KIND_TASK,
                                            start, p)
                == NULL)
            {
                return NGX_ERROR;
            }
        }
    }

    /* the flags: set while the conversation is open, cleared at close */

    if (cslcf->flags == NULL || conv.len == 0) {
        return NGX_OK;
    }

    flag = cslcf->flags->elts;

    for (i = 0; i < cslcf->flags->nelts; i++) {

        if (ev->type == NGX_HTTP_CRMSYNC_EV_CONVERSATION_CLOSED) {
            open = 0;

        } else {
            rc = ngx_http_crmsync_true(r, &flag[i].when);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (!rc) {
                continue;
            }

            open = 1;
        }

        /* the property's name needs no escaping */

        len = sizeof("{\"v\":1,\"property\":\"\",\"conv\":,\"open\":false,"
                     "\"idle\":}")
              + NGX_INT_T_LEN + flag[i].property.len
              + ngx_http_crmsync_json_len(&conv);

        start = ngx_pnalloc(r->pool, len);
        if (start == NULL) {
            return NGX_ERROR;
        }

        p = ngx_sprintf(start, "{\"v\":1,\"property\":\"%V\",\"conv\":",
                        &flag[i].property);
        p = ngx_http_crmsync_json_copy(p, &conv);
        p = ngx_sprintf(p, ",\"open\":%s", open ? "true" : "false");

        /* crmsync_flag idle=: the flag also clears after so long without
           another event that meets when= */

        if (open && flag[i].idle) {
            p = ngx_sprintf(p, ",\"idle\":%M", flag[i].idle);
        }

        *p++ = '}';

        if (ngx_http_crmsync_action_row(r, row, op, NULL,
                                        NGX_HTTP_CRMSYNC_KIND_FLAG,
                                        start, p)
            == NULL)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* an action of the event: the child of its contact job, or on its own */

static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_ingest_action(ngx_http_crmsync_store_row_t *row,
    ngx_http_crmsync_conv_op_t *op, ngx_http_crmsync_store_row_t *a,
    int64_t now)
{
    if (op->parent) {
        a->parent = row->id;
        a->state = NGX_HTTP_CRMSYNC_JOB_HELD;
        a->hold_reason = "contact";
        a->keys = NULL;
        a->nkeys = 0;
        a->match_key.len = 0;

    } else {
        /* the executor finds the contact through the conversation */
        a->parent = 0;
        a->state = NGX_HTTP_CRMSYNC_JOB_QUEUED;
        a->hold_reason = NULL;
        a->keys = &op->conv_key;
        a->nkeys = 1;
        a->match_key = op->conv_key;
    }

    return ngx_http_crmsync_store_add(ngx_http_crmsync_store, a, now);
}


/*
 * The commit's side of ngx_http_crmsync_ingest_convs(), after the
 * event's contact job was added (not a duplicate): in the same
 * transaction, the message and the conversation, then the actions.
 */

static ngx_http_crmsync_store_rc_e
ngx_http_crmsync_ingest_store_conv(ngx_http_crmsync_store_row_t *row,
    ngx_http_crmsync_conv_op_t *op, int64_t now)
{
    int                           unwritten, human;
    ngx_uint_t                    i, transcript;
    ngx_http_crmsync_store_rc_e   rc;

    transcript = (op->transcript.kind != NGX_HTTP_CRMSYNC_KIND_CONTACT);

    if (op->mkey.len) {
        rc = ngx_http_crmsync_store_message(ngx_http_crmsync_store,
                                            &row->portal, &op->conv,
                                            &row->location, &op->mkey,
                                            &op->msg, op->idle, op->human,
                                            now);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            return rc;
        }
    }

    if (op->assigned) {
        rc = ngx_http_crmsync_store_conv_human(ngx_http_crmsync_store,
                                               &row->portal, &op->conv,
                                               &row->location, now);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            return rc;
        }
    }

    if (op->close) {
        unwritten = 0;
        human = 0;

        rc = ngx_http_crmsync_store_conv_close(ngx_http_crmsync_store,
                                               &row->portal, &op->conv, now,
                                               &unwritten, &human);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            return rc;
        }

        /* nothing left to write: no transcript */
        transcript = transcript && unwritten;
    }

    if (transcript) {
        rc = ngx_http_crmsync_ingest_action(row, op, &op->transcript, now);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            return rc;
        }
    }

    for (i = 0; i < op->nactions; i++) {
        rc = ngx_http_crmsync_ingest_action(row, op, &op->actions[i], now);
        if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
            return rc;
        }
    }

    return NGX_HTTP_CRMSYNC_STORE_OK;
}


static void
ngx_http_crmsync_ingest_cleanup(void *data)
{
    ngx_http_crmsync_ctx_t  *ctx = data;

    if (ctx->pending) {
        ngx_queue_remove(&ctx->queue);
        ngx_http_crmsync_npending--;
        ctx->pending = 0;
    }
}


static ngx_http_crmsync_ctx_t *
ngx_http_crmsync_ingest_dequeue(void)
{
    ngx_queue_t             *q;
    ngx_http_crmsync_ctx_t  *ctx;

    q = ngx_queue_head(&ngx_http_crmsync_pending);
    ngx_queue_remove(q);
    ngx_http_crmsync_npending--;

    ctx = ngx_queue_data(q, ngx_http_crmsync_ctx_t, queue);
    ctx->pending = 0;

    return ctx;
}


static void
ngx_http_crmsync_commit_handler(ngx_event_t *ev)
{
    size_t                          i, n;
    int64_t                         now;
    ngx_uint_t                      k;
    ngx_queue_t                    *q;
    ngx_msec_t                      ms;
    ngx_http_crmsync_ctx_t         *ctx, *batch[NGX_HTTP_CRMSYNC_COMMIT_MAX];
    ngx_http_crmsync_store_row_t   *rows;
    ngx_http_crmsync_conv_op_t     *convs;
    ngx_http_crmsync_store_rc_e     rc;
    ngx_http_crmsync_loc_conf_t    *cslcf;
    ngx_http_crmsync_sh_t          *sh;
    ngx_http_crmsync_main_conf_t   *mcf;

    if (ngx_http_crmsync_npending == 0) {
        return;
    }

    now = ngx_http_crmsync_now();
    rc = ngx_http_crmsync_store_begin(ngx_http_crmsync_store);

    if (rc == NGX_HTTP_CRMSYNC_STORE_OK) {
        n = 0;

        for (q = ngx_queue_head(&ngx_http_crmsync_pending);
             q != ngx_queue_sentinel(&ngx_http_crmsync_pending)
             && n < NGX_HTTP_CRMSYNC_COMMIT_MAX;
             q = ngx_queue_next(q))
        {
            ctx = ngx_queue_data(q, ngx_http_crmsync_ctx_t, queue);
            rows = ctx->rows;
            convs = ctx->convs;

            for (i = 0; i < ctx->nevents; i++) {
                rc = ngx_http_crmsync_store_add(ngx_http_crmsync_store,
                                                &rows[i], now);
                if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
                    goto failed;
                }

                if (rows[i].duplicate) {
                    continue;
                }

                rc = ngx_http_crmsync_ingest_store_conv(&rows[i], &convs[i],
                                                        now);
                if (rc != NGX_HTTP_CRMSYNC_STORE_OK) {
                    goto failed;
                }
            }

            n++;
        }

        rc = ngx_http_crmsync_store_commit(ngx_http_crmsync_store);

        if (rc == NGX_HTTP_CRMSYNC_STORE_OK) {
            ngx_http_crmsync_busy_since = 0;

            /* on disk: only now is anything acknowledged */

            for (k = 0; k < n; k++) {
                batch[k] = ngx_http_crmsync_ingest_dequeue();
            }

            mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                      ngx_http_crmsync_module);
            sh = ((ngx_http_crmsync_zone_ctx_t *) mcf->zone->data)->sh;

            (void) ngx_atomic_fetch_add(&sh->commits, 1);
            (void) ngx_atomic_fetch_add(&sh->committed, n);

            for (k = 0; k < n; k++) {
                ctx = batch[k];
                cslcf = ngx_http_get_module_loc_conf(ctx->request,
                                                     ngx_http_crmsync_module);
                ngx_http_crmsync_sync_kick(cslcf->portal, mcf->linger);
                ngx_http_crmsync_ingest_answer(ctx);
            }

            if (ngx_http_crmsync_npending) {
                ngx_post_event(&ngx_http_crmsync_commit_ev,
                               &ngx_posted_events);
            }

            return;
        }
    }

failed:

    ngx_http_crmsync_store_rollback(ngx_http_crmsync_store);

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
        ms = ngx_current_msec;

        if (ngx_http_crmsync_busy_since == 0) {
            ngx_http_crmsync_busy_since = ms ? ms : 1;
        }

        if (ms - ngx_http_crmsync_busy_since < NGX_HTTP_CRMSYNC_BUSY_MAX) {
            if (ngx_http_crmsync_commit_ev.posted) {
                ngx_delete_posted_event(&ngx_http_crmsync_commit_ev);
            }

            /* measured: retrying in the next turn of the loop instead
               spins the CPU that the holder of the lock needs */

            ngx_add_timer(&ngx_http_crmsync_retry_ev,
                          NGX_HTTP_CRMSYNC_BUSY_RETRY);
            return;
        }

        ngx_http_crmsync_busy_since = 0;
        ngx_http_crmsync_ingest_fail("the store stayed locked by another "
                                     "process");
        return;
    }

    ngx_http_crmsync_ingest_fail(
        ngx_http_crmsync_store_error(ngx_http_crmsync_store));
}


static void
ngx_http_crmsync_ingest_fail(const char *why)
{
    ngx_int_t                rc;
    ngx_table_elt_t         *h;
    ngx_http_request_t      *r;
    ngx_http_crmsync_ctx_t  *ctx;

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "crmsync: %ui webhook deliveries not stored, answered "
                  "503: %s", ngx_http_crmsync_npending, why);

    if (ngx_http_crmsync_retry_ev.timer_set) {
        ngx_del_timer(&ngx_http_crmsync_retry_ev);
    }

    if (ngx_http_crmsync_commit_ev.posted) {
        ngx_delete_posted_event(&ngx_http_crmsync_commit_ev);
    }

    while (ngx_http_crmsync_npending) {
        ctx = ngx_http_crmsync_ingest_dequeue();
        r = ctx->request;

        h = ngx_list_push(&r->headers_out.headers);

        if (h == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            h->hash = 1;
            ngx_str_set(&h->key, "Retry-After");
            ngx_str_set(&h->value, NGX_HTTP_CRMSYNC_RETRY_AFTER);

            rc = ngx_http_crmsync_refuse(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "store_unavailable");
        }

        ngx_http_finalize_request(r, rc);
    }
}


/*
 * A contact.merge: the store's identity map followed it in the commit;
 * the shared zone's cache follows it now, so that no worker sends the
 * merged ids again.
 */

static void
ngx_http_crmsync_ingest_remap(ngx_http_crmsync_loc_conf_t *cslcf,
    ngx_http_crmsync_store_row_t *row)
{
    u_char                        *p, *last, *comma;
    char                           from[32], to[32];
    ngx_http_crmsync_main_conf_t  *mcf;

    if (row->merge_to.len >= sizeof(to) || cslcf->portal == NULL) {
        return;
    }

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_crmsync_module);

    ngx_memcpy(to, row->merge_to.data, row->merge_to.len);
    to[row->merge_to.len] = '\0';

    p = row->merge_from.data;
    last = p + row->merge_from.len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        if (comma - p > 0 && (size_t) (comma - p) < sizeof(from)) {
            ngx_memcpy(from, p, comma - p);
            from[comma - p] = '\0';

            ngx_http_crmsync_shm_id_remap(mcf->zone->data,
                                          &cslcf->portal->label, from, to);
        }

        p = comma + 1;
    }
}


static void
ngx_http_crmsync_ingest_answer(ngx_http_crmsync_ctx_t *ctx)
{
    u_char                        *p, *last;
    size_t                         i;
    ngx_http_request_t            *r;
    ngx_http_crmsync_loc_conf_t   *cslcf;
    ngx_http_crmsync_store_row_t  *rows;

    r = ctx->request;
    rows = ctx->rows;

    cslcf = ngx_http_get_module_loc_conf(r, ngx_http_crmsync_module);

    for (i = 0; i < ctx->nevents; i++) {
        if (rows[i].duplicate) {
            ctx->duplicates++;
            continue;
        }

        ctx->stored++;

        if (rows[i].merge_to.len) {
            ngx_http_crmsync_ingest_remap(cslcf, &rows[i]);
        }
    }

    if (cslcf->sh) {
        (void) ngx_atomic_fetch_add(&cslcf->sh->stored, ctx->stored);
        (void) ngx_atomic_fetch_add(&cslcf->sh->duplicate, ctx->duplicates);
    }

    if (ctx->stored == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "crmsync: %s delivery seen before, not stored again",
                      ngx_http_crmsync_provider_names[cslcf->provider]);
    }

    p = ngx_pnalloc(r->pool, 3 * NGX_SIZE_T_LEN + 128);
    if (p == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    last = ngx_sprintf(p, "{\"status\":\"accepted\",\"events\":%uz,"
                       "\"stored\":%uz,\"duplicate\":%s}\n",
                       ctx->nevents, ctx->stored,
                       ctx->stored == 0 ? "true" : "false");

    ngx_http_finalize_request(r,
        ngx_http_crmsync_send_json(r, NGX_HTTP_OK, p, last - p));
}

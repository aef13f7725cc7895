
/*
 * Copyright (C) crmsync authors
 *
 * The shared zone (see the header).  Entries are allocated from the
 * zone's slab pool when a configuration names them for the first time,
 * in the master, and looked up by name on every reload.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_crmsync_shm.h"


ngx_int_t
ngx_http_crmsync_shm_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_crmsync_zone_ctx_t  *octx = data;

    size_t                        len;
    ngx_http_crmsync_zone_ctx_t  *ctx;

    ctx = shm_zone->data;

    if (octx) {
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }

    ctx->sh = ngx_slab_calloc(ctx->shpool, sizeof(ngx_http_crmsync_sh_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    len = sizeof(" in crmsync_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in crmsync_zone \"%V\"%Z",
                &shm_zone->shm.name);

    return NGX_OK;
}


static ngx_int_t
ngx_http_crmsync_shm_name_is(u_char *stored, ngx_str_t *name)
{
    return ngx_strlen(stored) == name->len
           && ngx_strncmp(stored, name->data, name->len) == 0;
}


ngx_http_crmsync_portal_sh_t *
ngx_http_crmsync_shm_portal(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *name, ngx_uint_t rate)
{
    int64_t                       *ring;
    ngx_uint_t                     i, k, m;
    ngx_http_crmsync_sh_t         *sh;
    ngx_http_crmsync_portal_sh_t  *p;

    sh = ctx->sh;
    p = NULL;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < sh->nportals; i++) {
        if (ngx_http_crmsync_shm_name_is(sh->portals[i]->name, name)) {
            p = sh->portals[i];
            break;
        }
    }

    if (p == NULL) {
        if (sh->nportals == sizeof(sh->portals) / sizeof(sh->portals[0])) {
            goto failed;
        }

        p = ngx_slab_calloc_locked(ctx->shpool,
                                   sizeof(ngx_http_crmsync_portal_sh_t));
        if (p == NULL) {
            goto failed;
        }

        ngx_memcpy(p->name, name->data,
                   ngx_min(name->len, NGX_HTTP_CRMSYNC_NAME_LEN - 1));
        sh->portals[sh->nportals++] = p;
    }

    if (p->ring_size != rate) {

        /* a new rate: the newest calls of the window are kept, in order */

        ring = ngx_slab_calloc_locked(ctx->shpool, rate * sizeof(int64_t));
        if (ring == NULL) {
            goto failed;
        }

        m = ngx_min(p->used, rate);

        for (k = 0; k < m; k++) {
            ring[k] = p->ring[(p->head + p->ring_size - m + k)
                              % p->ring_size];
        }

        if (p->ring) {
            ngx_slab_free_locked(ctx->shpool, p->ring);
        }

        p->ring = ring;
        p->ring_size = rate;
        p->used = m;
        p->head = m % rate;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return p;

failed:

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NULL;
}


ngx_http_crmsync_location_sh_t *
ngx_http_crmsync_shm_location(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *name)
{
    ngx_uint_t                       i;
    ngx_http_crmsync_sh_t           *sh;
    ngx_http_crmsync_location_sh_t  *l;

    sh = ctx->sh;
    l = NULL;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < sh->nlocations; i++) {
        if (ngx_http_crmsync_shm_name_is(sh->locations[i]->name, name)) {
            l = sh->locations[i];
            goto done;
        }
    }

    if (sh->nlocations == sizeof(sh->locations) / sizeof(sh->locations[0])) {
        goto done;
    }

    l = ngx_slab_calloc_locked(ctx->shpool,
                               sizeof(ngx_http_crmsync_location_sh_t));
    if (l == NULL) {
        goto done;
    }

    ngx_memcpy(l->name, name->data,
               ngx_min(name->len, NGX_HTTP_CRMSYNC_NAME_LEN - 1));
    sh->locations[sh->nlocations++] = l;

done:

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return l;
}


/*
 * An exact rolling window: the ring holds the times of the last "rate"
 * calls, so a call may go when the oldest of them left the window.  No
 * window of that length ever sees more than rate calls from all workers
 * together.
 */

ngx_msec_t
ngx_http_crmsync_shm_take(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, ngx_uint_t rate, ngx_msec_t window,
    ngx_uint_t daily, int64_t now)
{
    int64_t     oldest, wait;
    ngx_uint_t  day;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (p->pause_until > now) {
        wait = p->pause_until - now;
        goto later;
    }

    day = (ngx_uint_t) (now / 86400000);

    if (daily) {
        if (p->daily_day != day) {
            p->daily_day = day;
            p->daily_used = 0;
        }

        if (p->daily_used >= daily) {
            wait = (int64_t) (day + 1) * 86400000 - now;
            goto later;
        }
    }

    if (p->used == p->ring_size) {
        oldest = p->ring[p->head];

        if (oldest > now - (int64_t) window) {
            wait = oldest + (int64_t) window - now;
            goto later;
        }

    } else {
        p->used++;
    }

    p->ring[p->head] = now;
    p->head = (p->head + 1) % p->ring_size;
    p->daily_used++;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return 0;

later:

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return (ngx_msec_t) (wait > 0 ? wait : 1);
}


void
ngx_http_crmsync_shm_give_back(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, int64_t now)
{
    ngx_uint_t  last;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    last = (p->head + p->ring_size - 1) % p->ring_size;

    if (p->used && p->ring[last] == now) {
        p->head = last;

        if (p->used < p->ring_size) {
            p->used--;

        } else {
            p->ring[last] = 0;      /* the oldest, long free */
        }

        if (p->daily_used) {
            p->daily_used--;
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


ngx_uint_t
ngx_http_crmsync_shm_in_use(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, ngx_msec_t window, int64_t now)
{
    ngx_uint_t  i, n;

    n = 0;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < p->used; i++) {
        if (p->ring[i] > now - (int64_t) window) {
            n++;
        }
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return n;
}


void
ngx_http_crmsync_shm_pause(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, int64_t until)
{
    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (p->pause_until < until) {
        p->pause_until = until;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/*
 * Reasons are the module's static names; each gets a slot the first time
 * it is seen, and the last slot counts whatever does not fit.
 */

void
ngx_http_crmsync_shm_refused(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_location_sh_t *l, const char *reason)
{
    size_t                       len;
    ngx_uint_t                   i;
    ngx_http_crmsync_refusal_t  *r;

    len = ngx_min(ngx_strlen(reason), NGX_HTTP_CRMSYNC_REASON_LEN - 1);

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < NGX_HTTP_CRMSYNC_REASONS - 1; i++) {
        r = &l->refused[i];

        if (r->reason[0] == '\0') {
            ngx_memcpy(r->reason, reason, len);
            break;
        }

        if (ngx_strncmp(r->reason, reason, len) == 0
            && r->reason[len] == '\0')
        {
            break;
        }
    }

    if (i == NGX_HTTP_CRMSYNC_REASONS - 1) {
        r = &l->refused[i];

        if (r->reason[0] == '\0') {
            ngx_memcpy(r->reason, "other", sizeof("other"));
        }
    }

    r->count++;

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}

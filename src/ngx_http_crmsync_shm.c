
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


/*
 * The budgets' margins: a call reaches HubSpot a little after it took its
 * place, and late ones bunched up in HubSpot's window would exceed it
 * (seen on a loaded machine at 5 searches a second and at 100 calls in
 * 10 s): a search's window is a second and a tenth, a call's 100 ms more
 * than rate='s.
 */

#define NGX_HTTP_CRMSYNC_SEARCH_WINDOW  1100
#define NGX_HTTP_CRMSYNC_BUDGET_MARGIN  100


/* entries the cache gives up at a time when the zone is full */
#define NGX_HTTP_CRMSYNC_SHM_EVICT  8

/* "<portal>\0<kind>\0<value>" */
#define NGX_HTTP_CRMSYNC_ID_KEY_MAX                                           \
    (NGX_HTTP_CRMSYNC_NAME_LEN + 32 + NGX_HTTP_CRMSYNC_ID_VALUE_MAX)


/* an identity cache entry; the tree's key is the crc32 of key[] */
typedef struct {
    ngx_rbtree_node_t           node;
    ngx_queue_t                 queue;          /* sh->ids_lru */
    u_char                      contact[NGX_HTTP_CRMSYNC_CONTACT_LEN];
    u_char                      portal;         /* in sh->portals */
    u_short                     len;
    u_char                      key[1];
} ngx_http_crmsync_id_node_t;


static void ngx_http_crmsync_shm_id_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


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
        goto done;
    }

    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        goto done;
    }

    ctx->sh = ngx_slab_calloc(ctx->shpool, sizeof(ngx_http_crmsync_sh_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }

    ctx->shpool->data = ctx->sh;

    ngx_rbtree_init(&ctx->sh->ids, &ctx->sh->ids_sentinel,
                    ngx_http_crmsync_shm_id_insert);
    ngx_queue_init(&ctx->sh->ids_lru);

    /* a full zone is the cache's normal state: it evicts, quietly */
    ctx->shpool->log_nomem = 0;

    len = sizeof(" in crmsync_zone \"\"") + shm_zone->shm.name.len;

    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(ctx->shpool->log_ctx, " in crmsync_zone \"%V\"%Z",
                &shm_zone->shm.name);

done:

    /* the tree's insert function as this module's copy has it */
    ctx->sh->ids.insert = ngx_http_crmsync_shm_id_insert;

    return NGX_OK;
}


/* gives up to n least recently used cache entries; the number given */

static ngx_uint_t
ngx_http_crmsync_shm_evict(ngx_http_crmsync_zone_ctx_t *ctx, ngx_uint_t n)
{
    ngx_uint_t                   i;
    ngx_queue_t                 *q;
    ngx_http_crmsync_sh_t       *sh;
    ngx_http_crmsync_id_node_t  *e;

    sh = ctx->sh;

    for (i = 0; i < n && !ngx_queue_empty(&sh->ids_lru); i++) {
        q = ngx_queue_last(&sh->ids_lru);
        e = ngx_queue_data(q, ngx_http_crmsync_id_node_t, queue);

        sh->portals[e->portal]->id_entries--;
        sh->portals[e->portal]->id_evictions++;

        ngx_queue_remove(q);
        ngx_rbtree_delete(&sh->ids, &e->node);
        ngx_slab_free_locked(ctx->shpool, e);
    }

    return i;
}


/*
 * Zone memory for anything: when the zone is full, the identity cache's
 * oldest entries make room, as many as it takes.  NULL only when the
 * cache is empty and the zone still has no room.
 */

static void *
ngx_http_crmsync_shm_alloc_locked(ngx_http_crmsync_zone_ctx_t *ctx,
    size_t size)
{
    void  *p;

    for ( ;; ) {
        p = ngx_slab_alloc_locked(ctx->shpool, size);

        if (p != NULL) {
            return p;
        }

        if (ngx_http_crmsync_shm_evict(ctx, NGX_HTTP_CRMSYNC_SHM_EVICT) == 0)
        {
            return NULL;
        }
    }
}


static void *
ngx_http_crmsync_shm_calloc_locked(ngx_http_crmsync_zone_ctx_t *ctx,
    size_t size)
{
    void  *p;

    p = ngx_http_crmsync_shm_alloc_locked(ctx, size);

    if (p != NULL) {
        ngx_memzero(p, size);
    }

    return p;
}


/*
 * A ring of call times sized for a new rate: the newest calls of the
 * window are kept, in order.
 */

static ngx_int_t
ngx_http_crmsync_shm_ring(ngx_http_crmsync_zone_ctx_t *ctx, int64_t **ring,
    ngx_uint_t *size, ngx_uint_t *head, ngx_uint_t *used, ngx_uint_t rate)
{
    int64_t     *r;
    ngx_uint_t   k, m;

    r = ngx_http_crmsync_shm_calloc_locked(ctx, rate * sizeof(int64_t));
    if (r == NULL) {
        return NGX_ERROR;
    }

    m = ngx_min(*used, rate);

    for (k = 0; k < m; k++) {
        r[k] = (*ring)[(*head + *size - m + k) % *size];
    }

    if (*ring) {
        ngx_slab_free_locked(ctx->shpool, *ring);
    }

    *ring = r;
    *size = rate;
    *used = m;
    *head = m % rate;

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
    ngx_uint_t                     i;
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

        p = ngx_http_crmsync_shm_calloc_locked(ctx,
                                      sizeof(ngx_http_crmsync_portal_sh_t));
        if (p == NULL) {
            goto failed;
        }

        ngx_memcpy(p->name, name->data,
                   ngx_min(name->len, NGX_HTTP_CRMSYNC_NAME_LEN - 1));
        sh->portals[sh->nportals++] = p;
    }

    if (p->ring_size != rate
        && ngx_http_crmsync_shm_ring(ctx, &p->ring, &p->ring_size, &p->head,
                                     &p->used, rate)
           != NGX_OK)
    {
        goto failed;
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

    l = ngx_http_crmsync_shm_calloc_locked(ctx,
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

        /* and the margin a call may take to reach HubSpot */

        if (oldest > now - (int64_t) window - NGX_HTTP_CRMSYNC_BUDGET_MARGIN) {
            wait = oldest + (int64_t) window + NGX_HTTP_CRMSYNC_BUDGET_MARGIN
                   - now;
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


/*
 * The search budget: the same exact rolling window as the call budget,
 * one second long, on a ring of its own.  A zone with no room left for
 * the ring (every cache entry given up) refuses the search for a second
 * rather than let it go uncounted.
 */

ngx_msec_t
ngx_http_crmsync_shm_take_search(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, ngx_uint_t rate, int64_t now)
{
    int64_t  oldest, wait;

    if (rate == 0) {
        rate = 1;
    }

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (p->search_pause_until > now) {
        wait = p->search_pause_until - now;
        goto later;
    }

    if (p->search_size != rate
        && ngx_http_crmsync_shm_ring(ctx, &p->search_ring, &p->search_size,
                                     &p->search_head, &p->search_used, rate)
           != NGX_OK)
    {
        wait = 1000;
        goto later;
    }

    if (p->search_used == p->search_size) {
        oldest = p->search_ring[p->search_head];

        if (oldest > now - NGX_HTTP_CRMSYNC_SEARCH_WINDOW) {
            wait = oldest + NGX_HTTP_CRMSYNC_SEARCH_WINDOW - now;
            goto later;
        }

    } else {
        p->search_used++;
    }

    p->search_ring[p->search_head] = now;
    p->search_head = (p->search_head + 1) % p->search_size;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return 0;

later:

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return (ngx_msec_t) (wait > 0 ? wait : 1);
}


void
ngx_http_crmsync_shm_pause_search(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, int64_t until)
{
    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (p->search_pause_until < until) {
        p->search_pause_until = until;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/*
 * The identity cache: a red-black tree on the crc32 of the key, entries
 * of one crc32 ordered by their keys, and a queue of the entries from the
 * most to the least recently used, as in limit_req's zone.
 */

static void
ngx_http_crmsync_shm_id_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t           **p;
    ngx_http_crmsync_id_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_crmsync_id_node_t *) node;
            t = (ngx_http_crmsync_id_node_t *) temp;

            p = (ngx_memn2cmp(n->key, t->key, n->len, t->len) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/* the portal's index in the zone; sh->nportals when it has none */

static ngx_uint_t
ngx_http_crmsync_shm_portal_index(ngx_http_crmsync_sh_t *sh,
    ngx_str_t *name)
{
    ngx_uint_t  i;

    for (i = 0; i < sh->nportals; i++) {
        if (ngx_http_crmsync_shm_name_is(sh->portals[i]->name, name)) {
            break;
        }
    }

    return i;
}


/* the key of an identity: its length, 0 when it is not cached */

static size_t
ngx_http_crmsync_shm_id_key(u_char *key, ngx_str_t *portal,
    const char *kind, u_char *value, size_t len)
{
    u_char  *p;
    size_t   klen;

    klen = ngx_strlen(kind);

    if (portal->len >= NGX_HTTP_CRMSYNC_NAME_LEN || klen >= 32
        || len == 0 || len > NGX_HTTP_CRMSYNC_ID_VALUE_MAX)
    {
        return 0;
    }

    p = ngx_cpymem(key, portal->data, portal->len);
    *p++ = '\0';
    p = ngx_cpymem(p, kind, klen);
    *p++ = '\0';
    p = ngx_cpymem(p, value, len);

    return p - key;
}


static ngx_http_crmsync_id_node_t *
ngx_http_crmsync_shm_id_find(ngx_http_crmsync_sh_t *sh, uint32_t hash,
    u_char *key, size_t len)
{
    ngx_int_t                    rc;
    ngx_rbtree_node_t           *node, *sentinel;
    ngx_http_crmsync_id_node_t  *e;

    node = sh->ids.root;
    sentinel = sh->ids.sentinel;

    while (node != sentinel) {

        if (hash < node->key) {
            node = node->left;
            continue;
        }

        if (hash > node->key) {
            node = node->right;
            continue;
        }

        e = (ngx_http_crmsync_id_node_t *) node;

        rc = ngx_memn2cmp(key, e->key, len, e->len);

        if (rc == 0) {
            return e;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_crmsync_shm_id_delete(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_id_node_t *e)
{
    ctx->sh->portals[e->portal]->id_entries--;

    ngx_queue_remove(&e->queue);
    ngx_rbtree_delete(&ctx->sh->ids, &e->node);
    ngx_slab_free_locked(ctx->shpool, e);
}


ngx_int_t
ngx_http_crmsync_shm_id_get(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *portal, const char *kind, u_char *value, size_t len,
    char *contact)
{
    size_t                        klen;
    uint32_t                      hash;
    ngx_uint_t                    i;
    ngx_http_crmsync_sh_t        *sh;
    ngx_http_crmsync_id_node_t   *e;
    ngx_http_crmsync_portal_sh_t *p;
    u_char                        key[NGX_HTTP_CRMSYNC_ID_KEY_MAX];

    sh = ctx->sh;

    klen = ngx_http_crmsync_shm_id_key(key, portal, kind, value, len);
    hash = klen ? ngx_crc32_short(key, klen) : 0;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    i = ngx_http_crmsync_shm_portal_index(sh, portal);

    if (i == sh->nportals) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    p = sh->portals[i];

    e = klen ? ngx_http_crmsync_shm_id_find(sh, hash, key, klen) : NULL;

    if (e == NULL) {
        p->id_misses++;
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&e->queue);
    ngx_queue_insert_head(&sh->ids_lru, &e->queue);

    ngx_memcpy(contact, e->contact, NGX_HTTP_CRMSYNC_CONTACT_LEN);
    p->id_hits++;

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    return NGX_OK;
}


void
ngx_http_crmsync_shm_id_put(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *portal, const char *kind, u_char *value, size_t len,
    const char *contact)
{
    size_t                       klen, clen;
    uint32_t                     hash;
    ngx_uint_t                   i;
    ngx_http_crmsync_id_node_t  *e;
    u_char                       key[NGX_HTTP_CRMSYNC_ID_KEY_MAX];

    clen = ngx_strlen(contact);

    if (clen == 0 || clen >= NGX_HTTP_CRMSYNC_CONTACT_LEN) {
        return;
    }

    klen = ngx_http_crmsync_shm_id_key(key, portal, kind, value, len);

    if (klen == 0) {
        return;
    }

    hash = ngx_crc32_short(key, klen);

    ngx_shmtx_lock(&ctx->shpool->mutex);

    i = ngx_http_crmsync_shm_portal_index(ctx->sh, portal);

    if (i == ctx->sh->nportals) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return;
    }

    e = ngx_http_crmsync_shm_id_find(ctx->sh, hash, key, klen);

    if (e != NULL) {
        ngx_queue_remove(&e->queue);

    } else {
        e = ngx_http_crmsync_shm_alloc_locked(ctx,
                offsetof(ngx_http_crmsync_id_node_t, key) + klen);

        if (e == NULL) {
            /* nothing left to evict: the zone holds no cache at all */
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return;
        }

        e->node.key = hash;
        e->portal = (u_char) i;
        e->len = (u_short) klen;
        ngx_memcpy(e->key, key, klen);

        ngx_rbtree_insert(&ctx->sh->ids, &e->node);
        ctx->sh->portals[i]->id_entries++;
    }

    ngx_memzero(e->contact, NGX_HTTP_CRMSYNC_CONTACT_LEN);
    ngx_memcpy(e->contact, contact, clen);

    ngx_queue_insert_head(&ctx->sh->ids_lru, &e->queue);

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/* merges are rare: the whole queue is walked */

void
ngx_http_crmsync_shm_id_remap(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *portal, const char *from, const char *to)
{
    size_t                       flen, tlen;
    ngx_uint_t                   i;
    ngx_queue_t                 *q, *next;
    ngx_http_crmsync_id_node_t  *e;

    flen = ngx_strlen(from);
    tlen = ngx_strlen(to);

    if (flen == 0 || flen >= NGX_HTTP_CRMSYNC_CONTACT_LEN
        || tlen >= NGX_HTTP_CRMSYNC_CONTACT_LEN)
    {
        return;
    }

    ngx_shmtx_lock(&ctx->shpool->mutex);

    i = ngx_http_crmsync_shm_portal_index(ctx->sh, portal);

    for (q = ngx_queue_head(&ctx->sh->ids_lru);
         q != ngx_queue_sentinel(&ctx->sh->ids_lru);
         q = next)
    {
        next = ngx_queue_next(q);
        e = ngx_queue_data(q, ngx_http_crmsync_id_node_t, queue);

        if (e->portal != i
            || ngx_strncmp(e->contact, from, NGX_HTTP_CRMSYNC_CONTACT_LEN)
               != 0)
        {
            continue;
        }

        if (tlen == 0) {
            ngx_http_crmsync_shm_id_delete(ctx, e);
            continue;
        }

        ngx_memzero(e->contact, NGX_HTTP_CRMSYNC_CONTACT_LEN);
        ngx_memcpy(e->contact, to, tlen);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


void
ngx_http_crmsync_shm_id_forget(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *portal, const char *kind, u_char *value, size_t len)
{
    size_t                       klen;
    uint32_t                     hash;
    ngx_http_crmsync_id_node_t  *e;
    u_char                       key[NGX_HTTP_CRMSYNC_ID_KEY_MAX];

    klen = ngx_http_crmsync_shm_id_key(key, portal, kind, value, len);

    if (klen == 0) {
        return;
    }

    hash = ngx_crc32_short(key, klen);

    ngx_shmtx_lock(&ctx->shpool->mutex);

    e = ngx_http_crmsync_shm_id_find(ctx->sh, hash, key, klen);

    if (e != NULL) {
        ngx_http_crmsync_shm_id_delete(ctx, e);
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


/*
 * Copyright (C) crmsync authors
 *
 * The shared zone (crmsync_zone): what all workers of all generations
 * agree on.  Each HubSpot portal's rate budget and pause, its search
 * budget, its auth state, the counters of portals and webhook locations,
 * and the identity cache in front of the store's identity map.  Entries
 * are found by name, so counters survive a reload (nginx keeps a zone
 * whose name and size did not change).
 */


#ifndef _NGX_HTTP_CRMSYNC_SHM_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_SHM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_CRMSYNC_NAME_LEN      64
#define NGX_HTTP_CRMSYNC_REASONS       24
#define NGX_HTTP_CRMSYNC_REASON_LEN    32

/* a HubSpot record id, NUL-terminated */
#define NGX_HTTP_CRMSYNC_CONTACT_LEN   32

/* identifiers longer than this are not cached */
#define NGX_HTTP_CRMSYNC_ID_VALUE_MAX  512


typedef struct {
    u_char                      reason[NGX_HTTP_CRMSYNC_REASON_LEN];
    ngx_atomic_t                count;
} ngx_http_crmsync_refusal_t;


typedef struct {
    u_char                      name[NGX_HTTP_CRMSYNC_NAME_LEN];
    ngx_atomic_t                received;
    ngx_atomic_t                stored;         /* events */
    ngx_atomic_t                duplicate;      /* events seen before */
    ngx_http_crmsync_refusal_t  refused[NGX_HTTP_CRMSYNC_REASONS];
} ngx_http_crmsync_location_sh_t;


typedef struct {
    u_char                      name[NGX_HTTP_CRMSYNC_NAME_LEN];

    /* the rolling window: times (ms) of the last "rate" calls */
    int64_t                    *ring;
    ngx_uint_t                  ring_size;
    ngx_uint_t                  head;
    ngx_uint_t                  used;

    int64_t                     pause_until;    /* ms: after a 429 */
    ngx_uint_t                  daily_day;
    ngx_uint_t                  daily_used;

    /* searches: a rolling window of their own, one second long */
    int64_t                    *search_ring;
    ngx_uint_t                  search_size;
    ngx_uint_t                  search_head;
    ngx_uint_t                  search_used;
    int64_t                     search_pause_until;   /* ms: after a 429
                                                         SECONDLY */

    ngx_uint_t                  auth_failed;    /* 1 after a 401 */
    uint32_t                    auth_token;     /* crc32 of the token that
                                                   failed */
    int64_t                     auth_logged;    /* ms */

    ngx_atomic_t                calls;
    ngx_atomic_t                r429;
    ngx_atomic_t                errors;         /* 5xx and transport */
    ngx_atomic_t                synced;         /* jobs done */
    ngx_atomic_t                dead;           /* jobs dead-lettered */
    ngx_atomic_t                searches;       /* search calls made */
    ngx_atomic_t                dry_run;        /* jobs not written:
                                                   crmsync_dry_run */
    ngx_atomic_t                lookups;        /* crmsync_lookup answers */

    /* the identity cache, the portal's part */
    ngx_atomic_t                id_entries;
    ngx_atomic_t                id_hits;
    ngx_atomic_t                id_misses;
    ngx_atomic_t                id_evictions;
} ngx_http_crmsync_portal_sh_t;


typedef struct {
    ngx_http_crmsync_portal_sh_t    *portals[32];
    ngx_uint_t                       nportals;
    ngx_http_crmsync_location_sh_t  *locations[256];
    ngx_uint_t                       nlocations;

    ngx_atomic_t                     commits;    /* ingest transactions */
    ngx_atomic_t                     committed;  /* requests they carried */

    /* the identity cache: (portal, kind, value) -> contact id */
    ngx_rbtree_t                     ids;
    ngx_rbtree_node_t                ids_sentinel;
    ngx_queue_t                      ids_lru;    /* most recent first */
} ngx_http_crmsync_sh_t;


typedef struct {
    ngx_http_crmsync_sh_t       *sh;
    ngx_slab_pool_t             *shpool;
    void                        *conf;      /* the configuration's main
                                               conf, for the zone's init */
} ngx_http_crmsync_zone_ctx_t;


/* the zone's init; ctx names the portals and locations to find */
ngx_int_t ngx_http_crmsync_shm_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);

ngx_http_crmsync_portal_sh_t *ngx_http_crmsync_shm_portal(
    ngx_http_crmsync_zone_ctx_t *ctx, ngx_str_t *name, ngx_uint_t rate);
ngx_http_crmsync_location_sh_t *ngx_http_crmsync_shm_location(
    ngx_http_crmsync_zone_ctx_t *ctx, ngx_str_t *name);

/*
 * Takes one call from the portal's budget: 0 when the call may go now,
 * otherwise the ms to wait.  window in ms, rate calls in it, daily per
 * UTC day (0: none).
 */
ngx_msec_t ngx_http_crmsync_shm_take(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, ngx_uint_t rate, ngx_msec_t window,
    ngx_uint_t daily, int64_t now);

/*
 * Gives back the call taken at "now" when it did not go out (no job could
 * be claimed); a call taken since by another worker keeps its place.
 */
void ngx_http_crmsync_shm_give_back(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, int64_t now);

/* the calls of the current window */
ngx_uint_t ngx_http_crmsync_shm_in_use(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, ngx_msec_t window, int64_t now);

void ngx_http_crmsync_shm_pause(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, int64_t until);

/*
 * Takes one search from the portal's search budget: rate searches in any
 * second (crmsync_hubspot search_rate=), counted apart from the budget of
 * ngx_http_crmsync_shm_take (HubSpot exempts searches from its 10-second
 * limit).  0 when the search may go now, otherwise the ms to wait.
 */
ngx_msec_t ngx_http_crmsync_shm_take_search(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, ngx_uint_t rate, int64_t now);

/* after a 429 SECONDLY: no search before until (ms) */
void ngx_http_crmsync_shm_pause_search(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_portal_sh_t *p, int64_t until);

/*
 * The identity cache, in front of the store's identity map.  A key is the
 * portal's label, the identifier's kind ("phone", "email", ...) and its
 * normalized value; contact is a HubSpot record id (at most 31 bytes and
 * a NUL).  The cache is bounded by the zone: when the zone is full, the
 * least recently used entries make room.  A value longer than
 * NGX_HTTP_CRMSYNC_ID_VALUE_MAX is never cached, nor an identity of a
 * portal the zone does not know.  The figures (entries, hits, misses,
 * evictions) are counted per portal.
 *
 * get: NGX_OK and contact set, or NGX_DECLINED.
 * remap: every entry of the portal naming contact "from" names "to"
 * instead (a merge), or is forgotten when "to" is "" (a deletion).
 */
ngx_int_t ngx_http_crmsync_shm_id_get(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *portal, const char *kind, u_char *value, size_t len,
    char *contact);
void ngx_http_crmsync_shm_id_put(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *portal, const char *kind, u_char *value, size_t len,
    const char *contact);
void ngx_http_crmsync_shm_id_remap(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *portal, const char *from, const char *to);
void ngx_http_crmsync_shm_id_forget(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_str_t *portal, const char *kind, u_char *value, size_t len);

void ngx_http_crmsync_shm_refused(ngx_http_crmsync_zone_ctx_t *ctx,
    ngx_http_crmsync_location_sh_t *l, const char *reason);


#endif /* _NGX_HTTP_CRMSYNC_SHM_H_INCLUDED_ */

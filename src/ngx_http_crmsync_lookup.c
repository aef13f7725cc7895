
/*
 * Copyright (C) crmsync authors
 *
 * crmsync_lookup: an agent's contact card.  GET ?phone=... (or any one
 * identifier that crmsync_match knows) answers the contact the identifier
 * belongs to: its id and the properties that crmsync_lookup_properties
 * names, as JSON, or 404.
 *
 * The identity cache in the shared zone answers first, then the store's
 * identity map; a contact known there is read by id, which also follows
 * a merge.  An identifier that neither knows is asked of HubSpot: an email
 * by idProperty=email, an identifier kept on a unique property
 * (crmsync_id_property) by that property, a phone by one search whose
 * results count only when their phone is the same number (the oldest
 * wins), then by id.  Other identifiers unknown to the map are not found.
 *
 * Calls go out through the worker's client and take from the portal's
 * budgets; a spent budget answers 429 with Retry-After at once: the
 * worker never waits.  A client that goes away while a call is in flight
 * leaves the call running; its answer is dropped.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_http_crmsync_module.h"
#include "ngx_http_crmsync_client.h"
#include "ngx_http_crmsync_store.h"
#include "ngx_http_crmsync_match.h"
#include "ngx_http_crmsync_phone.h"


/* identifiers longer than this are refused */
#define NGX_HTTP_CRMSYNC_LOOKUP_VALUE_MAX  256

/* the HubSpot message quoted in an error answer */
#define NGX_HTTP_CRMSYNC_LOOKUP_MESSAGE    200


typedef enum {
    NGX_HTTP_CRMSYNC_LOOKUP_BY_ID = 0,  /* the contact the cache, the map or
                                           crm_id named */
    NGX_HTTP_CRMSYNC_LOOKUP_BY_PROP,    /* idProperty=email or a unique
                                           property */
    NGX_HTTP_CRMSYNC_LOOKUP_SEARCH,     /* the phone search */
    NGX_HTTP_CRMSYNC_LOOKUP_FOUND       /* the contact the search found */
} ngx_http_crmsync_lookup_step_e;


typedef struct {
    ngx_http_crmsync_call_t         call;

    ngx_http_request_t             *request;    /* NULL once it is gone */
    ngx_http_cleanup_t             *cleanup;
    ngx_http_crmsync_portal_t      *portal;
    ngx_http_crmsync_zone_ctx_t    *zctx;
    ngx_http_crmsync_loc_conf_t    *conf;
    ngx_str_t                      *props;      /* the card's properties */
    ngx_uint_t                      nprops;

    ngx_uint_t                      kind;       /* ngx_http_crmsync_id_
                                                   kind_e */
    ngx_http_crmsync_lookup_step_e  step;
    unsigned                        known:1;    /* contact came from the
                                                   cache or the map */
    unsigned                        search:1;   /* the call is a search */

    char                            contact[NGX_HTTP_CRMSYNC_CONTACT_LEN];
    char                            alt[NGX_HTTP_CRMSYNC_PHONE_E164_LEN + 1];

    ngx_event_t                     guard;
    ngx_connection_t                dummy;

    size_t                          len;
    u_char                          value[1];   /* normalized, NUL-ended */
} ngx_http_crmsync_lookup_t;


static ngx_int_t ngx_http_crmsync_lookup_arg(ngx_http_request_t *r,
    ngx_uint_t *kind, ngx_str_t *value, const char **reason);
static ngx_int_t ngx_http_crmsync_lookup_normalize(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_uint_t kind, ngx_str_t *value,
    char *alt, const char **reason);
static ngx_int_t ngx_http_crmsync_lookup_ask(ngx_http_crmsync_lookup_t *lk);
static ngx_int_t ngx_http_crmsync_lookup_get(ngx_http_crmsync_lookup_t *lk,
    const u_char *id, size_t len, ngx_str_t *id_property);
static ngx_int_t ngx_http_crmsync_lookup_search(
    ngx_http_crmsync_lookup_t *lk);
static ngx_int_t ngx_http_crmsync_lookup_send(ngx_http_crmsync_lookup_t *lk,
    const char *method, char *body);
static void ngx_http_crmsync_lookup_done(ngx_http_crmsync_call_t *call);
static ngx_int_t ngx_http_crmsync_lookup_answer(
    ngx_http_crmsync_lookup_t *lk);
static ngx_int_t ngx_http_crmsync_lookup_card(ngx_http_crmsync_lookup_t *lk,
    json_t *root);
static ngx_int_t ngx_http_crmsync_lookup_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, long hs_status,
    const char *message, ngx_msec_t retry);
static u_char *ngx_http_crmsync_lookup_dump(ngx_http_request_t *r,
    json_t *out, size_t *len);
static void ngx_http_crmsync_lookup_free(ngx_http_crmsync_lookup_t *lk);
static void ngx_http_crmsync_lookup_cleanup(void *data);
static void ngx_http_crmsync_lookup_guard(ngx_event_t *ev);


/* the names of crmsync_match, in the order of ngx_http_crmsync_id_kind_e */
#define ngx_http_crmsync_lookup_kinds  ngx_http_crmsync_id_kind_names


static ngx_str_t  ngx_http_crmsync_lookup_default_props[] = {
    ngx_string("email"),
    ngx_string("firstname"),
    ngx_string("lastname"),
    ngx_string("phone"),
    ngx_string("mobilephone"),
    ngx_string("lifecyclestage"),
    ngx_string("hubspot_owner_id")
};


ngx_int_t
ngx_http_crmsync_lookup_handler(ngx_http_request_t *r)
{
    char                           alt[NGX_HTTP_CRMSYNC_PHONE_E164_LEN + 1];
    ngx_int_t                      rc;
    ngx_str_t                      value;
    ngx_uint_t                     i, kind;
    const char                    *reason;
    ngx_table_elt_t               *h;
    ngx_http_cleanup_t            *cln;
    ngx_http_crmsync_str_t         v;
    ngx_http_crmsync_portal_t     *portal;
    ngx_http_crmsync_lookup_t     *lk;
    ngx_http_crmsync_loc_conf_t   *cslcf;
    ngx_http_crmsync_main_conf_t  *mcf;
    ngx_http_crmsync_store_rc_e    src;

    if (r->method != NGX_HTTP_GET) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Allow");
        ngx_str_set(&h->value, "GET");

        return ngx_http_crmsync_lookup_error(r, NGX_HTTP_NOT_ALLOWED,
                                             "method_not_allowed", 0, NULL,
                                             0);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_crmsync_module);
    cslcf = ngx_http_get_module_loc_conf(r, ngx_http_crmsync_module);

    kind = NGX_HTTP_CRMSYNC_ID_MAX;

    if (mcf->store.len == 0 || mcf->zone == NULL) {
        return ngx_http_crmsync_lookup_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             "no_store", 0, NULL, 0);
    }

    portal = NULL;

    for (i = 0; i < mcf->portals.nelts; i++) {
        portal = &((ngx_http_crmsync_portal_t *) mcf->portals.elts)[i];

        if (portal->name.len == cslcf->portal_name.len
            && ngx_strncmp(portal->name.data, cslcf->portal_name.data,
                           portal->name.len) == 0)
        {
            break;
        }

        portal = NULL;
    }

    if (portal == NULL || portal->sh == NULL) {
        return ngx_http_crmsync_lookup_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             "no_portal", 0, NULL, 0);
    }

    if (ngx_http_crmsync_lookup_arg(r, &kind, &value, &reason) != NGX_OK
        || ngx_http_crmsync_lookup_normalize(r, cslcf, kind, &value, alt,
                                             &reason)
           != NGX_OK)
    {
        if (reason == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_crmsync_lookup_error(r, NGX_HTTP_BAD_REQUEST, reason,
                                             0, NULL, 0);
    }

    (void) ngx_atomic_fetch_add(&portal->sh->lookups, 1);

    lk = ngx_calloc(sizeof(ngx_http_crmsync_lookup_t) + value.len,
                    r->connection->log);
    if (lk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_free(lk);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_crmsync_lookup_cleanup;
    cln->data = lk;

    lk->request = r;
    lk->cleanup = cln;
    lk->portal = portal;
    lk->zctx = mcf->zone->data;
    lk->conf = cslcf;
    lk->kind = kind;
    lk->len = value.len;
    ngx_memcpy(lk->value, value.data, value.len);
    ngx_memcpy(lk->alt, alt, sizeof(alt));

    if (cslcf->lookup_properties && cslcf->lookup_properties->nelts) {
        lk->props = cslcf->lookup_properties->elts;
        lk->nprops = cslcf->lookup_properties->nelts;

    } else {
        lk->props = ngx_http_crmsync_lookup_default_props;
        lk->nprops = sizeof(ngx_http_crmsync_lookup_default_props)
                     / sizeof(ngx_str_t);
    }

    lk->dummy.fd = (ngx_socket_t) -1;
    lk->dummy.data = lk;
    lk->guard.handler = ngx_http_crmsync_lookup_guard;
    lk->guard.data = &lk->dummy;
    lk->guard.log = ngx_cycle->log;

    /* the contact the identifier names: crm_id itself, the cache, the map */

    if (kind == NGX_HTTP_CRMSYNC_ID_CRM_ID) {
        ngx_memcpy(lk->contact, lk->value, lk->len);

    } else if (ngx_http_crmsync_shm_id_get(lk->zctx, &portal->label,
                                           ngx_http_crmsync_lookup_kinds[kind],
                                           lk->value, lk->len, lk->contact)
               == NGX_OK)
    {
        lk->known = 1;

    } else if (ngx_http_crmsync_store) {
        v.data = lk->value;
        v.len = lk->len;

        src = ngx_http_crmsync_store_id_get(ngx_http_crmsync_store,
                                     (ngx_http_crmsync_str_t *) &portal->label,
                                     ngx_http_crmsync_lookup_kinds[kind], &v,
                                     lk->contact, sizeof(lk->contact));

        if (src != NGX_HTTP_CRMSYNC_STORE_OK) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "crmsync: lookup: the identity map could not be "
                          "read: %s",
                          src == NGX_HTTP_CRMSYNC_STORE_BUSY
                          ? "busy"
                          : ngx_http_crmsync_store_error(
                                ngx_http_crmsync_store));
            lk->contact[0] = '\0';

        } else if (lk->contact[0]) {
            lk->known = 1;
            ngx_http_crmsync_shm_id_put(lk->zctx, &portal->label,
                                        ngx_http_crmsync_lookup_kinds[kind],
                                        lk->value, lk->len, lk->contact);
        }
    }

    if (lk->contact[0]) {
        lk->step = NGX_HTTP_CRMSYNC_LOOKUP_BY_ID;
        rc = ngx_http_crmsync_lookup_get(lk, (u_char *) lk->contact,
                                         ngx_strlen(lk->contact), NULL);

    } else {
        rc = ngx_http_crmsync_lookup_ask(lk);
    }

    if (rc != NGX_AGAIN) {
        ngx_http_crmsync_lookup_free(lk);
        return rc;
    }

    /* a call is in flight: the request waits for it, and notices when its
       client goes away */

    r->main->count++;

    if (!r->discard_body) {
        r->read_event_handler = ngx_http_test_reading;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


/* the one identifier argument of the query string, unescaped */

static ngx_int_t
ngx_http_crmsync_lookup_arg(ngx_http_request_t *r, ngx_uint_t *kind,
    ngx_str_t *value, const char **reason)
{
    u_char      *p, *last, *name, *eq, *end, *dst, *src;
    size_t       len;
    ngx_uint_t   k, n;
    ngx_str_t    raw;

    n = 0;
    raw.len = 0;
    raw.data = NULL;

    p = r->args.data;
    last = p + r->args.len;

    while (p < last) {
        name = p;

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        p = end + 1;

        eq = ngx_strlchr(name, end, '=');
        len = (eq ? eq : end) - name;

        for (k = 0; ngx_http_crmsync_lookup_kinds[k]; k++) {
            if (ngx_strlen(ngx_http_crmsync_lookup_kinds[k]) == len
                && ngx_strncmp(name, ngx_http_crmsync_lookup_kinds[k], len)
                   == 0)
            {
                break;
            }
        }

        if (ngx_http_crmsync_lookup_kinds[k] == NULL) {
            continue;
        }

        n++;
        *kind = k;
        raw.data = eq ? eq + 1 : end;
        raw.len = end - raw.data;
    }

    if (n != 1) {
        *reason = n ? "one_identifier_only" : "no_identifier";
        return NGX_DECLINED;
    }

    if (raw.len > NGX_HTTP_CRMSYNC_LOOKUP_VALUE_MAX * 3) {
        *reason = "value_too_long";
        return NGX_DECLINED;
    }

    dst = ngx_pnalloc(r->pool, raw.len + 1);
    if (dst == NULL) {
        *reason = NULL;
        return NGX_ERROR;
    }

    value->data = dst;
    src = raw.data;

    ngx_unescape_uri(&dst, &src, raw.len, 0);

    value->len = dst - value->data;
    *dst = '\0';

    return NGX_OK;
}


/* the identifier as the map keeps it */

static ngx_int_t
ngx_http_crmsync_lookup_normalize(ngx_http_request_t *r,
    ngx_http_crmsync_loc_conf_t *cslcf, ngx_uint_t kind, ngx_str_t *value,
    char *alt, const char **reason)
{
    u_char                    *p, *last, *colon;
    ngx_uint_t                 i;
    ngx_http_crmsync_str_t     email;
    ngx_http_crmsync_arena_t   arena;
    ngx_http_crmsync_phone_t   ph;

    alt[0] = '\0';

    p = value->data;
    last = p + value->len;

    while (p < last && ngx_http_crmsync_space(*p)) {
        p++;
    }

    while (last > p && ngx_http_crmsync_space(last[-1])) {
        last--;
    }

    value->data = p;
    value->len = last - p;

    if (value->len == 0) {
        *reason = "empty_value";
        return NGX_DECLINED;
    }

    if (value->len > NGX_HTTP_CRMSYNC_LOOKUP_VALUE_MAX) {
        *reason = "value_too_long";
        return NGX_DECLINED;
    }

    switch (kind) {

    case NGX_HTTP_CRMSYNC_ID_CRM_ID:
        for (i = 0; i < value->len; i++) {
            if (value->data[i] < '0' || value->data[i] > '9') {
                break;
            }
        }

        if (i < value->len || value->len >= NGX_HTTP_CRMSYNC_CONTACT_LEN) {
            *reason = "bad_crm_id";
            return NGX_DECLINED;
        }

        return NGX_OK;

    case NGX_HTTP_CRMSYNC_ID_EMAIL:
        arena.start = ngx_pnalloc(r->pool, value->len + 64);
        if (arena.start == NULL) {
            *reason = NULL;
            return NGX_ERROR;
        }

        arena.pos = arena.start;
        arena.end = arena.start + value->len + 64;

        if (ngx_http_crmsync_email(&arena, &email, value->data, value->len)
            != 0)
        {
            *reason = "bad_email";
            return NGX_DECLINED;
        }

        value->data = email.data;
        value->len = email.len;

        return NGX_OK;

    case NGX_HTTP_CRMSYNC_ID_PHONE:
        ngx_memzero(&ph, sizeof(ngx_http_crmsync_phone_t));

        if (ngx_http_crmsync_phone_parse(value->data, value->len,
                                         cslcf->region_set == 1
                                         ? (char *) cslcf->region : NULL,
                                         &ph)
            != 0
            || ph.e164[0] == '\0'
            || !ph.valid)
        {
            *reason = "bad_phone";
            return NGX_DECLINED;
        }

        value->len = ngx_strlen(ph.e164);
        value->data = ngx_pnalloc(r->pool, value->len + 1);
        if (value->data == NULL) {
            *reason = NULL;
            return NGX_ERROR;
        }

        ngx_memcpy(value->data, ph.e164, value->len + 1);
        ngx_memcpy(alt, ph.alt_e164, sizeof(ph.alt_e164));

        return NGX_OK;

    case NGX_HTTP_CRMSYNC_ID_TELEGRAM_USERNAME:
        if (value->data[0] == '@') {
            value->data++;
            value->len--;
        }

        if (value->len == 0) {
            *reason = "empty_value";
            return NGX_DECLINED;
        }

        return NGX_OK;

    case NGX_HTTP_CRMSYNC_ID_PLATFORM_ID:
        colon = ngx_strlchr(value->data, value->data + value->len, ':');

        if (colon == NULL || colon == value->data
            || colon == value->data + value->len - 1)
        {
            *reason = "bad_platform_id";
            return NGX_DECLINED;
        }

        return NGX_OK;

    default:
        return NGX_OK;
    }
}


/*
 * An identifier the map does not know: asked of HubSpot where HubSpot can
 * answer it, not found otherwise.
 */

static ngx_int_t
ngx_http_crmsync_lookup_ask(ngx_http_crmsync_lookup_t *lk)
{
    ngx_str_t                    email;
    ngx_uint_t                   i;
    ngx_http_crmsync_id_prop_t  *ip;

    lk->known = 0;
    lk->contact[0] = '\0';

    if (lk->kind == NGX_HTTP_CRMSYNC_ID_EMAIL) {
        ngx_str_set(&email, "email");
        lk->step = NGX_HTTP_CRMSYNC_LOOKUP_BY_PROP;
        return ngx_http_crmsync_lookup_get(lk, lk->value, lk->len, &email);
    }

    if (lk->conf->id_props) {
        ip = lk->conf->id_props->elts;

        for (i = 0; i < lk->conf->id_props->nelts; i++) {
            if (ip[i].kind == lk->kind) {
                lk->step = NGX_HTTP_CRMSYNC_LOOKUP_BY_PROP;
                return ngx_http_crmsync_lookup_get(lk, lk->value, lk->len,
                                                   &ip[i].property);
            }
        }
    }

    if (lk->kind == NGX_HTTP_CRMSYNC_ID_PHONE) {
        lk->step = NGX_HTTP_CRMSYNC_LOOKUP_SEARCH;
        return ngx_http_crmsync_lookup_search(lk);
    }

    return ngx_http_crmsync_lookup_error(lk->request, NGX_HTTP_NOT_FOUND,
                                         "not_found", 0, NULL, 0);
}


/* percent-encodes all but the unreserved characters; NULL if no room */

static u_char *
ngx_http_crmsync_lookup_escape(u_char *dst, u_char *last, const u_char *src,
    size_t len)
{
    u_char  c;

    static const u_char  hex[] = "0123456789ABCDEF";

    while (len--) {
        c = *src++;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            if (dst == last) {
                return NULL;
            }

            *dst++ = c;
            continue;
        }

        if (last - dst < 3) {
            return NULL;
        }

        *dst++ = '%';
        *dst++ = hex[c >> 4];
        *dst++ = hex[c & 0xf];
    }

    return dst;
}


/* the contacts path of the portal's API version */

static u_char *
ngx_http_crmsync_lookup_base(u_char *p, u_char *last,
    ngx_http_crmsync_portal_t *portal)
{
    if (portal->api.len == 2 && ngx_strncmp(portal->api.data, "v3", 2) == 0)
    {
        return ngx_slprintf(p, last, "%V/crm/v3/objects/contacts",
                            &portal->url);
    }

    return ngx_slprintf(p, last, "%V/crm/objects/%V/contacts", &portal->url,
                        &portal->api);
}


/* GET .../contacts/<id>[?idProperty=<property>]&properties=... */

static ngx_int_t
ngx_http_crmsync_lookup_get(ngx_http_crmsync_lookup_t *lk, const u_char *id,
    size_t len, ngx_str_t *id_property)
{
    u_char      *p, *last;
    ngx_uint_t   i;

    p = lk->call.url;
    last = p + sizeof(lk->call.url) - 1;

    p = ngx_http_crmsync_lookup_base(p, last, lk->portal);
    p = ngx_slprintf(p, last, "/");
    p = ngx_http_crmsync_lookup_escape(p, last, id, len);

    if (p != NULL && id_property) {
        p = ngx_slprintf(p, last, "?idProperty=");
        p = ngx_http_crmsync_lookup_escape(p, last, id_property->data,
                                           id_property->len);
    }

    if (p != NULL) {
        p = ngx_slprintf(p, last, "%cproperties=", id_property ? '&' : '?');
    }

    for (i = 0; p != NULL && i < lk->nprops; i++) {
        if (i) {
            p = ngx_slprintf(p, last, ",");
        }

        p = ngx_http_crmsync_lookup_escape(p, last, lk->props[i].data,
                                           lk->props[i].len);
    }

    if (p == NULL || p == last) {
        ngx_log_error(NGX_LOG_ERR, lk->request->connection->log, 0,
                      "crmsync: lookup: the URL is longer than %uz bytes: "
                      "fewer crmsync_lookup_properties are needed",
                      sizeof(lk->call.url) - 1);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *p = '\0';

    lk->search = 0;

    return ngx_http_crmsync_lookup_send(lk, "GET", NULL);
}


/*
 * POST .../contacts/search: the number (and its other form) against the
 * national numbers HubSpot's search index holds, oldest first.  The
 * results are confirmed against the number itself in the answer.
 */

static ngx_int_t
ngx_http_crmsync_lookup_search(ngx_http_crmsync_lookup_t *lk)
{
    u_char      *p, *last;
    char        *body, national[2][NGX_HTTP_CRMSYNC_PHONE_E164_LEN + 1];
    json_t      *groups, *root;
    ngx_uint_t   i, k, n;

    static const char  *props[] = {
        "hs_searchable_calculated_phone_number",
        "hs_searchable_calculated_mobile_number"
    };

    n = 0;

    if (ngx_http_crmsync_phone_national((char *) lk->value, national[0],
                                        sizeof(national[0]))
        == 0)
    {
        n++;
    }

    if (lk->alt[0]
        && ngx_http_crmsync_phone_national(lk->alt, national[n],
                                           sizeof(national[n]))
           == 0
        && (n == 0 || ngx_strcmp(national[0], national[1]) != 0))
    {
        n++;
    }

    if (n == 0) {
        return ngx_http_crmsync_lookup_error(lk->request, NGX_HTTP_NOT_FOUND,
                                             "not_found", 0, NULL, 0);
    }

    groups = json_array();

    for (i = 0; i < n; i++) {
        for (k = 0; k < 2; k++) {
            json_array_append_new(groups,
                json_pack("{s:[{s:s,s:s,s:s}]}", "filters",
                          "propertyName", props[k], "operator", "EQ",
                          "value", national[i]));
        }
    }

    root = json_pack("{s:o,s:[s,s,s,s],s:[{s:s,s:s}],s:i}",
                     "filterGroups", groups,
                     "properties", "phone", "mobilephone", "createdate",
                     "country",
                     "sorts", "propertyName", "createdate",
                     "direction", "ASCENDING",
                     "limit", 100);

    body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);

    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = lk->call.url;
    last = p + sizeof(lk->call.url) - 1;

    p = ngx_http_crmsync_lookup_base(p, last, lk->portal);
    p = ngx_slprintf(p, last, "/search");

    if (p == last) {
        free(body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *p = '\0';

    lk->search = 1;

    return ngx_http_crmsync_lookup_send(lk, "POST", body);
}


/*
 * One call, when the budget allows it: NGX_AGAIN while it is in flight,
 * or the answer already sent.  body is malloc()ed; the lookup owns it.
 */

static ngx_int_t
ngx_http_crmsync_lookup_send(ngx_http_crmsync_lookup_t *lk,
    const char *method, char *body)
{
    int64_t                        now;
    ngx_msec_t                     wait;
    ngx_http_crmsync_portal_t     *portal;
    ngx_http_crmsync_portal_sh_t  *sh;

    portal = lk->portal;
    sh = portal->sh;

    ngx_http_crmsync_call_free(&lk->call);
    free(lk->call.body);

    lk->call.body = (u_char *) body;
    lk->call.body_len = body ? ngx_strlen(body) : 0;

    /* nothing goes out with a token HubSpot refused (sync.c holds its
       jobs until a reload brings another) */

    if (sh->auth_failed && sh->auth_token == portal->token_crc) {
        return ngx_http_crmsync_lookup_error(lk->request, NGX_HTTP_BAD_GATEWAY,
                                             "auth_failed", 401, NULL, 0);
    }

    now = ngx_http_crmsync_now();

    if (lk->search) {
        wait = ngx_http_crmsync_shm_take_search(lk->zctx, sh,
                                                portal->search_rate, now);

    } else {
        wait = ngx_http_crmsync_shm_take(lk->zctx, sh, portal->rate,
                                         portal->window, portal->daily, now);
    }

    if (wait) {
        return ngx_http_crmsync_lookup_error(lk->request,
                                             NGX_HTTP_TOO_MANY_REQUESTS,
                                             "rate_limited", 0, NULL, wait);
    }

    lk->call.method = method;
    lk->call.token = portal->token;
    lk->call.ca_file = portal->ca_file;
    lk->call.timeout = portal->timeout;
    lk->call.handler = ngx_http_crmsync_lookup_done;
    lk->call.data = lk;

    if (ngx_http_crmsync_client_send(&lk->call) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, lk->request->connection->log, 0,
                      "crmsync: lookup: a call to portal \"%V\" could not "
                      "start", &portal->label);
        return ngx_http_crmsync_lookup_error(lk->request,
                                             NGX_HTTP_BAD_GATEWAY,
                                             "hubspot_unavailable", 0,
                                             "could not start", 0);
    }

    (void) ngx_atomic_fetch_add(&sh->calls, 1);

    if (lk->search) {
        (void) ngx_atomic_fetch_add(&sh->searches, 1);
    }

    /* not cancelable: a worker that shuts down gracefully answers the
       lookups in flight first */

    ngx_add_timer(&lk->guard, portal->timeout + 1000);

    return NGX_AGAIN;
}


static void
ngx_http_crmsync_lookup_done(ngx_http_crmsync_call_t *call)
{
    ngx_int_t                   rc;
    ngx_http_request_t         *r;
    ngx_http_crmsync_lookup_t  *lk;

    lk = call->data;

    if (lk->guard.timer_set) {
        ngx_del_timer(&lk->guard);
    }

    r = lk->request;

    if (r == NULL) {
        /* the client went away: the answer is dropped */
        ngx_http_crmsync_lookup_free(lk);
        return;
    }

    rc = ngx_http_crmsync_lookup_answer(lk);

    if (rc == NGX_AGAIN) {
        return;
    }

    ngx_http_crmsync_lookup_free(lk);

    ngx_http_finalize_request(r, rc);
}


/* a JSON string member, or NULL */

static const char *
ngx_http_crmsync_lookup_str(json_t *o, const char *name)
{
    return json_string_value(json_object_get(o, name));
}


/* 1 when the search result's phone or mobile phone is the number */

static int
ngx_http_crmsync_lookup_same(ngx_http_crmsync_lookup_t *lk, json_t *props)
{
    char         region[3], *rg;
    ngx_uint_t   i;
    const char  *country, *stored;

    static const char  *names[] = { "phone", "mobilephone" };

    rg = NULL;
    country = ngx_http_crmsync_lookup_str(props, "country");

    if (country && ngx_strlen(country) == 2) {
        region[0] = ngx_toupper(country[0]);
        region[1] = ngx_toupper(country[1]);
        region[2] = '\0';
        rg = region;
    }

    for (i = 0; i < 2; i++) {
        stored = ngx_http_crmsync_lookup_str(props, names[i]);

        if (stored == NULL || *stored == '\0') {
            continue;
        }

        if (ngx_http_crmsync_phone_same((char *) lk->value,
                                        (u_char *) stored,
                                        ngx_strlen(stored), rg)
            || (lk->alt[0]
                && ngx_http_crmsync_phone_same(lk->alt, (u_char *) stored,
                                               ngx_strlen(stored), rg)))
        {
            return 1;
        }
    }

    return 0;
}


/* the oldest search result that is the number: its id, or NULL */

static const char *
ngx_http_crmsync_lookup_oldest(ngx_http_crmsync_lookup_t *lk, json_t *root)
{
    size_t       i;
    json_t      *item, *props;
    const char  *id, *created, *best, *best_created;

    best = NULL;
    best_created = NULL;

    json_array_foreach(json_object_get(root, "results"), i, item) {
        id = ngx_http_crmsync_lookup_str(item, "id");
        props = json_object_get(item, "properties");

        if (id == NULL || *id == '\0'
            || ngx_strlen(id) >= NGX_HTTP_CRMSYNC_CONTACT_LEN
            || !ngx_http_crmsync_lookup_same(lk, props))
        {
            continue;
        }

        created = ngx_http_crmsync_lookup_str(props, "createdate");
        if (created == NULL) {
            created = ngx_http_crmsync_lookup_str(item, "createdAt");
        }

        if (best == NULL
            || (created && best_created == NULL)
            || (created && best_created
                && ngx_strcmp(created, best_created) < 0))
        {
            best = id;
            best_created = created;
        }
    }

    return best;
}


/* what an answer of HubSpot means for the lookup */

static ngx_int_t
ngx_http_crmsync_lookup_answer(ngx_http_crmsync_lookup_t *lk)
{
    long                           status;
    char                           msg[NGX_HTTP_CRMSYNC_LOOKUP_MESSAGE];
    json_t                        *root;
    int64_t                        now, until;
    ngx_int_t                      rc;
    const char                    *m, *policy, *id;
    ngx_http_request_t            *r;
    ngx_http_crmsync_call_t       *call;
    ngx_http_crmsync_portal_sh_t  *sh;

    call = &lk->call;
    r = lk->request;
    sh = lk->portal->sh;
    status = call->status;

    if (call->aborted) {
        return ngx_http_crmsync_lookup_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                             "worker_exiting", 0, NULL, 0);
    }

    root = NULL;

    if (call->answer && call->answer_len) {
        root = json_loadb((char *) call->answer, call->answer_len, 0, NULL);

        if (!json_is_object(root)) {
            json_decref(root);
            root = NULL;
        }
    }

    m = ngx_http_crmsync_lookup_str(root, "message");

    if (status == 0) {
        m = call->error[0] ? call->error : "no answer";
    }

    if (m) {
        ngx_cpystrn((u_char *) msg, (u_char *) m, sizeof(msg));
    }

    if (status == 429) {
        (void) ngx_atomic_fetch_add(&sh->r429, 1);

        now = ngx_http_crmsync_now();
        policy = ngx_http_crmsync_lookup_str(root, "policyName");

        if (policy && ngx_strcmp(policy, "DAILY") == 0) {
            until = (now / 86400000 + 1) * 86400000;
            ngx_http_crmsync_shm_pause(lk->zctx, sh, until);

        } else if (lk->search) {
            until = now + 1000;
            ngx_http_crmsync_shm_pause_search(lk->zctx, sh, until);

        } else if (policy && ngx_strcmp(policy, "SECONDLY") == 0) {
            until = now + 1000;
            ngx_http_crmsync_shm_pause(lk->zctx, sh, until);

        } else {
            until = now + lk->portal->window;
            ngx_http_crmsync_shm_pause(lk->zctx, sh, until);
        }

        rc = ngx_http_crmsync_lookup_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                           "rate_limited", 429,
                                           m ? msg : NULL,
                                           (ngx_msec_t) (until - now));
        goto done;
    }

    if (status == 401) {
        rc = ngx_http_crmsync_lookup_error(r, NGX_HTTP_BAD_GATEWAY,
                                           "auth_failed", 401,
                                           m ? msg : NULL, 0);
        goto done;
    }

    if (status == 0 || status >= 500) {
        (void) ngx_atomic_fetch_add(&sh->errors, 1);
    }

    if (status != 404 && (status < 200 || status > 299)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "crmsync: lookup: portal \"%V\": %s answered %l%s%s",
                      &lk->portal->label, lk->search ? "a search" : "a read",
                      status, m ? ": " : "", m ? msg : "");

        rc = ngx_http_crmsync_lookup_error(r, NGX_HTTP_BAD_GATEWAY,
                                           "hubspot_unavailable", status,
                                           m ? msg : NULL, 0);
        goto done;
    }

    switch (lk->step) {

    case NGX_HTTP_CRMSYNC_LOOKUP_BY_ID:
    case NGX_HTTP_CRMSYNC_LOOKUP_FOUND:

        if (status == 404) {
            if (lk->known) {
                /* the contact the map named is gone: ask afresh */
                ngx_http_crmsync_shm_id_forget(lk->zctx, &lk->portal->label,
                                   ngx_http_crmsync_lookup_kinds[lk->kind],
                                   lk->value, lk->len);
                rc = ngx_http_crmsync_lookup_ask(lk);
                goto done;
            }

            break;
        }

        rc = ngx_http_crmsync_lookup_card(lk, root);
        goto done;

    case NGX_HTTP_CRMSYNC_LOOKUP_BY_PROP:

        if (status == 404) {
            break;
        }

        rc = ngx_http_crmsync_lookup_card(lk, root);
        goto done;

    case NGX_HTTP_CRMSYNC_LOOKUP_SEARCH:

        id = ngx_http_crmsync_lookup_oldest(lk, root);

        if (status == 404 || id == NULL) {
            break;
        }

        ngx_cpystrn((u_char *) lk->contact, (u_char *) id,
                    sizeof(lk->contact));

        /* read by id: the index may lag behind a merge or a change */

        lk->step = NGX_HTTP_CRMSYNC_LOOKUP_FOUND;
        rc = ngx_http_crmsync_lookup_get(lk, (u_char *) lk->contact,
                                         ngx_strlen(lk->contact), NULL);
        goto done;
    }

    rc = ngx_http_crmsync_lookup_error(r, NGX_HTTP_NOT_FOUND, "not_found", 0,
                                       NULL, 0);

done:

    json_decref(root);

    return rc;
}


/* the JSON answer in the request's pool, a newline after it; out is
   released */

static u_char *
ngx_http_crmsync_lookup_dump(ngx_http_request_t *r, json_t *out,
    size_t *len)
{
    char    *s;
    u_char  *b;

    s = json_dumps(out, JSON_COMPACT);
    json_decref(out);

    if (s == NULL) {
        return NULL;
    }

    *len = ngx_strlen(s);

    b = ngx_pnalloc(r->pool, *len + 1);

    if (b != NULL) {
        ngx_memcpy(b, s, *len);
        b[(*len)++] = '\n';
    }

    free(s);

    return b;
}


/*
 * 200 with the contact: {"id":"...","properties":{...}}.  The identity
 * goes into the cache (the store's map learns it from sync.c); an id other
 * than the one asked for is a merge, which the cache follows.
 *
 * With the portal's hub id (crmsync_hubspot hub=), "url" links to the
 * record in HubSpot's app.
 */

static ngx_int_t
ngx_http_crmsync_lookup_card(ngx_http_crmsync_lookup_t *lk, json_t *root)
{
    u_char                *b;
    char                   name[256], idbuf[NGX_HTTP_CRMSYNC_CONTACT_LEN];
    size_t                 len;
    json_t                *out, *props, *card, *v, *jid;
    ngx_str_t             *label;
    ngx_uint_t             i;
    const char            *id;
    ngx_table_elt_t       *h;
    ngx_http_request_t    *r;

    r = lk->request;
    label = &lk->portal->label;

    jid = json_object_get(root, "id");
    id = json_string_value(jid);

    if (id == NULL && json_is_integer(jid)) {
        ngx_snprintf((u_char *) idbuf, sizeof(idbuf), "%L%Z",
                     (int64_t) json_integer_value(jid));
        id = idbuf;
    }

    if (id == NULL || *id == '\0'
        || ngx_strlen(id) >= NGX_HTTP_CRMSYNC_CONTACT_LEN)
    {
        return ngx_http_crmsync_lookup_error(r, NGX_HTTP_BAD_GATEWAY,
                                             "hubspot_unavailable", 200,
                                             "an answer without an id", 0);
    }

    if (lk->contact[0] && ngx_strcmp(lk->contact, id) != 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "crmsync: lookup: contact %s of portal \"%V\" was "
                      "merged into %s", lk->contact, label, id);

        ngx_http_crmsync_shm_id_remap(lk->zctx, label, lk->contact, id);
    }

    if (lk->kind != NGX_HTTP_CRMSYNC_ID_CRM_ID) {
        ngx_http_crmsync_shm_id_put(lk->zctx, label,
                                    ngx_http_crmsync_lookup_kinds[lk->kind],
                                    lk->value, lk->len, id);
    }

    props = json_object_get(root, "properties");
    card = json_object();
    out = json_pack("{s:s,s:o}", "id", id, "properties", card);

    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lk->portal->hub.len) {
        ngx_snprintf((u_char *) name, sizeof(name) - 1,
                     "https://app.hubspot.com/contacts/%V/record/0-1/%s%Z",
                     &lk->portal->hub, id);

        if (json_object_set_new(out, "url", json_string(name)) != 0) {
            json_decref(out);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    for (i = 0; i < lk->nprops; i++) {
        if (lk->props[i].len >= sizeof(name)) {
            continue;
        }

        ngx_memcpy(name, lk->props[i].data, lk->props[i].len);
        name[lk->props[i].len] = '\0';

        v = json_object_get(props, name);
        json_object_set(card, name, v ? v : json_null());
    }

    b = ngx_http_crmsync_lookup_dump(r, out, &len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    return ngx_http_crmsync_send_json(r, NGX_HTTP_OK, b, len);
}


/* {"error":"...","status":<HubSpot's>,"message":"...","retry_after":s} */

static ngx_int_t
ngx_http_crmsync_lookup_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, long hs_status, const char *message, ngx_msec_t retry)
{
    u_char           *b;
    size_t            len;
    json_t           *out;
    ngx_table_elt_t  *h;

    out = json_pack("{s:s}", "error", error);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (hs_status) {
        json_object_set_new(out, "status", json_integer(hs_status));
    }

    if (message) {
        json_object_set_new(out, "message", json_string(message));
    }

    retry = (retry + 999) / 1000;

    if (retry) {
        json_object_set_new(out, "retry_after", json_integer(retry));
    }

    b = ngx_http_crmsync_lookup_dump(r, out, &len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (retry) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (h->value.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Retry-After");
        h->value.len = ngx_sprintf(h->value.data, "%M", retry)
                       - h->value.data;
    }

    return ngx_http_crmsync_send_json(r, status, b, len);
}


static void
ngx_http_crmsync_lookup_free(ngx_http_crmsync_lookup_t *lk)
{
    if (lk->guard.timer_set) {
        ngx_del_timer(&lk->guard);
    }

    if (lk->request) {
        lk->cleanup->handler = NULL;
        lk->request = NULL;
    }

    ngx_http_crmsync_call_free(&lk->call);
    free(lk->call.body);

    ngx_free(lk);
}


/* the request goes away before the call ends: the call forgets it */

static void
ngx_http_crmsync_lookup_cleanup(void *data)
{
    ngx_http_crmsync_lookup_t *lk = data;

    lk->request = NULL;
}


/*
 * The call outlived its timeout and a second: libcurl ends it on its own;
 * until then a gracefully exiting worker keeps waiting for it.
 */

static void
ngx_http_crmsync_lookup_guard(ngx_event_t *ev)
{
    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "crmsync: lookup: a HubSpot call outlived its timeout");
}

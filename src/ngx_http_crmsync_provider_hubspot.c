
/*
 * Copyright (C) crmsync authors
 *
 * HubSpot's own webhooks (the way back) into events.
 *
 * A delivery is a JSON array of up to 100 events:
 *
 *   [{"eventId": 3816279340, "subscriptionId": 25, "portalId": 33,
 *     "appId": 1160452, "occurredAt": 1462216307945,
 *     "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
 *     "objectId": 1246965, "changeSource": "CRM", "sourceId": "...",
 *     "propertyName": "lifecyclestage", "propertyValue": "subscriber"}]
 *
 * ("eventType" in older deliveries).  Every contact.creation,
 * contact.propertyChange and contact.merge element becomes an event;
 * other subscription types are left out.  A merge adds primaryObjectId,
 * mergedObjectIds[] and newObjectId.
 */


#include <stdio.h>
#include <string.h>

#include "ngx_http_crmsync_event.h"
#include "ngx_http_crmsync_provider.h"


/* merged ids kept per merge event (HubSpot allows 250 merges) */
#define NGX_HTTP_CRMSYNC_HUBSPOT_MAX_MERGED  256

/* the longest id string in a merge (ids are 64-bit decimals) */
#define NGX_HTTP_CRMSYNC_HUBSPOT_MAX_ID      32


static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_hubspot_event(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_json_t *e, unsigned *skipped);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_hubspot_delivery_id(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *e);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_hubspot_attrs(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *e);
static ngx_http_crmsync_parse_rc_e ngx_http_crmsync_hubspot_merge(
    ngx_http_crmsync_parse_t *p, ngx_http_crmsync_event_t *ev,
    ngx_http_crmsync_json_t *e);
static int ngx_http_crmsync_hubspot_num(ngx_http_crmsync_json_t *v, u_char *buf,
    size_t size);


ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_provider_hubspot(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *root)
{
    size_t                        i, n;
    unsigned                      skipped;
    ngx_http_crmsync_parse_rc_e   rc;

    skipped = 0;

    if (ngx_http_crmsync_json_is_object(root)) {
        /* one event, not wrapped in an array */
        rc = ngx_http_crmsync_hubspot_event(p, root, &skipped);

        if (rc == NGX_HTTP_CRMSYNC_PARSE_OK && skipped) {
            p->reason = "hubspot_event_ignored";
            return NGX_HTTP_CRMSYNC_PARSE_SKIP;
        }

        return rc;
    }

    if (!ngx_http_crmsync_json_is_array(root)) {
        p->reason = "hubspot_not_array";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    n = ngx_http_crmsync_json_array_size(root);

    if (n == 0) {
        p->reason = "hubspot_empty_batch";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    for (i = 0; i < n; i++) {
        rc = ngx_http_crmsync_hubspot_event(p,
                                            ngx_http_crmsync_json_at(root, i),
                                            &skipped);
        if (rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
            return rc;
        }
    }

    if (p->nevents == 0) {
        p->reason = "hubspot_event_ignored";
        return NGX_HTTP_CRMSYNC_PARSE_SKIP;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_hubspot_event(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_json_t *e, unsigned *skipped)
{
    int                             rc;
    size_t                          len;
    const char                     *s;
    ngx_http_crmsync_json_t        *v;
    ngx_http_crmsync_event_t       *ev;
    ngx_http_crmsync_parse_rc_e     prc;
    ngx_http_crmsync_event_type_e   type;

    if (!ngx_http_crmsync_json_is_object(e)) {
        p->reason = "hubspot_event_not_object";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    v = ngx_http_crmsync_json_get(e, "subscriptionType");

    if (v == NULL || ngx_http_crmsync_json_is_null(v)) {
        v = ngx_http_crmsync_json_get(e, "eventType");
    }

    if (!ngx_http_crmsync_json_is_string(v)
        || ngx_http_crmsync_json_str_len(v) == 0)
    {
        p->reason = "hubspot_no_subscription_type";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    v = ngx_http_crmsync_json_get(e, "eventId");

    if (!ngx_http_crmsync_json_is_integer(v)
        && !(ngx_http_crmsync_json_is_string(v)
             && ngx_http_crmsync_json_str_len(v) != 0))
    {
        p->reason = "hubspot_no_event_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    v = ngx_http_crmsync_json_get(e, "subscriptionType");

    if (v == NULL || ngx_http_crmsync_json_is_null(v)) {
        v = ngx_http_crmsync_json_get(e, "eventType");
    }

    s = ngx_http_crmsync_json_str(v);
    len = ngx_http_crmsync_json_str_len(v);

    if (len == 16 && memcmp(s, "contact.creation", 16) == 0) {
        type = NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_CREATED;

    } else if (len == 22 && memcmp(s, "contact.propertyChange", 22) == 0) {
        type = NGX_HTTP_CRMSYNC_EV_CRM_PROPERTY_CHANGED;

    } else if (len == 13 && memcmp(s, "contact.merge", 13) == 0) {
        type = NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_MERGED;

    } else {
        /* deletion, restore, associationChange, deal.*, company.*, ... */
        *skipped = 1;
        return NGX_HTTP_CRMSYNC_PARSE_OK;
    }

    v = ngx_http_crmsync_json_get(e, "objectId");

    if (!ngx_http_crmsync_json_is_integer(v)
        && !(ngx_http_crmsync_json_is_string(v)
             && ngx_http_crmsync_json_str_len(v) != 0))
    {
        p->reason = "hubspot_no_object_id";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    ev = ngx_http_crmsync_event_add(p);
    if (ev == NULL) {
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->type = type;

    rc = ngx_http_crmsync_json_time(&ev->occurred_at, e, "occurredAt", 1);
    if (rc == NGX_HTTP_CRMSYNC_JSON_BADTYPE) {
        p->reason = "hubspot_bad_occurred_at";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    rc = ngx_http_crmsync_json_id(&p->arena, &ev->identity.hubspot_id, e,
                                  "objectId");
    if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
        return ngx_http_crmsync_parse_fail(p, rc, "hubspot_no_object_id");
    }

    prc = ngx_http_crmsync_hubspot_delivery_id(p, ev, e);
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    prc = ngx_http_crmsync_hubspot_attrs(p, ev, e);
    if (prc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        return prc;
    }

    if (type == NGX_HTTP_CRMSYNC_EV_CRM_PROPERTY_CHANGED) {
        rc = ngx_http_crmsync_json_string(&p->arena, &ev->property, e,
                                          "propertyName");
        if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
            return ngx_http_crmsync_parse_fail(p,
                                      rc == NGX_HTTP_CRMSYNC_JSON_ABSENT
                                      ? NGX_HTTP_CRMSYNC_JSON_BADTYPE : rc,
                                      "hubspot_no_property_name");
        }

        /* a string; "" or null: the property was cleared */

        rc = ngx_http_crmsync_json_id(&p->arena, &ev->property_value, e,
                                      "propertyValue");
        if (rc < 0) {
            return ngx_http_crmsync_parse_fail(p, rc,
                                               "hubspot_bad_property_value");
        }

    } else if (type == NGX_HTTP_CRMSYNC_EV_CRM_CONTACT_MERGED) {
        return ngx_http_crmsync_hubspot_merge(p, ev, e);
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * eventId alone "is not guaranteed to be unique": the dedup key is
 * "eventId:portalId:subscriptionId:objectId:occurredAt"
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_hubspot_delivery_id(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *e)
{
    int                       n;
    u_char                    buf[24], *d;
    size_t                    i, len;
    const u_char             *s;
    ngx_http_crmsync_json_t  *v;

    static const char  *keys[] = {
        "eventId", "portalId", "subscriptionId", "objectId", "occurredAt",
        NULL
    };

    len = 0;

    for (i = 0; keys[i]; i++) {
        v = ngx_http_crmsync_json_get(e, keys[i]);
        /* ids are numbers: a long string is none, and slows the scan */

        if (ngx_http_crmsync_json_is_string(v)
            && ngx_http_crmsync_json_str_len(v)
               > NGX_HTTP_CRMSYNC_HUBSPOT_MAX_ID)
        {
            p->reason = "hubspot_bad_merge";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        n = ngx_http_crmsync_hubspot_num(v, buf, sizeof(buf));
        len += 1 + (ngx_http_crmsync_json_is_string(v)
                    ? ngx_http_crmsync_json_str_len(v)
                    : (n > 0) ? (size_t) n : 0);
    }

    d = ngx_http_crmsync_arena_alloc(&p->arena, len);
    if (d == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->delivery_id.data = d;

    for (i = 0; keys[i]; i++) {
        v = ngx_http_crmsync_json_get(e, keys[i]);

        if (i) {
            *d++ = ':';
        }

        if (ngx_http_crmsync_json_is_string(v)) {
            s = (const u_char *) ngx_http_crmsync_json_str(v);
            n = (int) ngx_http_crmsync_json_str_len(v);

        } else {
            n = ngx_http_crmsync_hubspot_num(v, buf, sizeof(buf));

            if (n < 0) {
                if (v != NULL && !ngx_http_crmsync_json_is_null(v)) {
                    p->reason = "hubspot_bad_ids";
                    return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
                }

                n = 0;
            }

            s = buf;
        }

        memcpy(d, s, n);
        d += n;
    }

    ev->delivery_id.len = d - ev->delivery_id.data;

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * changeSource, sourceId and portalId as attributes: they let the sync
 * engine drop the echo of its own writes and check the portal
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_hubspot_attrs(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *e)
{
    int                       rc;
    size_t                    i;
    ngx_http_crmsync_attr_t  *a;

    static const char  *keys[] = {
        "changeSource", "sourceId", "portalId", NULL
    };

    a = ngx_http_crmsync_arena_alloc(&p->arena,
                                     3 * sizeof(ngx_http_crmsync_attr_t));
    if (a == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    ev->attrs = a;

    for (i = 0; keys[i]; i++) {
        rc = ngx_http_crmsync_json_id(&p->arena, &a[ev->nattrs].value, e,
                                      keys[i]);
        if (rc == NGX_HTTP_CRMSYNC_JSON_ABSENT) {
            continue;
        }

        if (rc != NGX_HTTP_CRMSYNC_JSON_OK) {
            return ngx_http_crmsync_parse_fail(p, rc, "hubspot_bad_source");
        }

        a[ev->nattrs].name.data = (u_char *) keys[i];
        a[ev->nattrs].name.len = strlen(keys[i]);
        ev->nattrs++;
    }

    if (ev->nattrs == 0) {
        ev->attrs = NULL;
    }

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/*
 * A merge makes a new record (newObjectId) that every old id points to:
 * identity.hubspot_id is the survivor (newObjectId, else objectId), and
 * merged_ids lists the other ids (primaryObjectId, mergedObjectIds[],
 * objectId), comma separated, without repeats.
 */

static ngx_http_crmsync_parse_rc_e
ngx_http_crmsync_hubspot_merge(ngx_http_crmsync_parse_t *p,
    ngx_http_crmsync_event_t *ev, ngx_http_crmsync_json_t *e)
{
    int                       n;
    u_char                    buf[24], *d, *q;
    size_t                    i, k, len, count;
    const u_char             *s;
    ngx_http_crmsync_json_t  *list, *v;

    v = ngx_http_crmsync_json_get(e, "newObjectId");

    if (ngx_http_crmsync_json_is_integer(v)
        || ngx_http_crmsync_json_is_string(v))
    {
        if (ngx_http_crmsync_json_id(&p->arena, &ev->identity.hubspot_id, e,
                                     "newObjectId")
            == NGX_HTTP_CRMSYNC_JSON_NOMEM)
        {
            p->reason = "arena_full";
            return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
        }

        if (ev->identity.hubspot_id.len == 0) {
            (void) ngx_http_crmsync_json_id(&p->arena,
                                            &ev->identity.hubspot_id, e,
                                            "objectId");
        }

    } else if (v != NULL && !ngx_http_crmsync_json_is_null(v)) {
        p->reason = "hubspot_bad_merge";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    list = ngx_http_crmsync_json_get(e, "mergedObjectIds");

    if (list != NULL && !ngx_http_crmsync_json_is_null(list)
        && !ngx_http_crmsync_json_is_array(list))
    {
        p->reason = "hubspot_bad_merge";
        return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
    }

    count = ngx_http_crmsync_json_array_size(list);

    if (count > NGX_HTTP_CRMSYNC_HUBSPOT_MAX_MERGED) {
        count = NGX_HTTP_CRMSYNC_HUBSPOT_MAX_MERGED;
    }

    /* candidates: primaryObjectId, objectId, mergedObjectIds[] */

    len = 0;

    for (i = 0; i < count + 2; i++) {
        v = (i == 0) ? ngx_http_crmsync_json_get(e, "primaryObjectId")
            : (i == 1) ? ngx_http_crmsync_json_get(e, "objectId")
            : ngx_http_crmsync_json_at(list, i - 2);

        /* ids are numbers: a long string is none, and slows the scan */

        if (ngx_http_crmsync_json_is_string(v)
            && ngx_http_crmsync_json_str_len(v)
               > NGX_HTTP_CRMSYNC_HUBSPOT_MAX_ID)
        {
            p->reason = "hubspot_bad_merge";
            return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
        }

        n = ngx_http_crmsync_hubspot_num(v, buf, sizeof(buf));
        len += 1 + (ngx_http_crmsync_json_is_string(v)
                    ? ngx_http_crmsync_json_str_len(v)
                    : (n > 0) ? (size_t) n : 0);
    }

    d = ngx_http_crmsync_arena_alloc(&p->arena, len);
    if (d == NULL) {
        p->reason = "arena_full";
        return NGX_HTTP_CRMSYNC_PARSE_NOMEM;
    }

    q = d;

    for (i = 0; i < count + 2; i++) {
        v = (i == 0) ? ngx_http_crmsync_json_get(e, "primaryObjectId")
            : (i == 1) ? ngx_http_crmsync_json_get(e, "objectId")
            : ngx_http_crmsync_json_at(list, i - 2);

        if (ngx_http_crmsync_json_is_string(v)) {
            s = (const u_char *) ngx_http_crmsync_json_str(v);
            n = (int) ngx_http_crmsync_json_str_len(v);

        } else {
            n = ngx_http_crmsync_hubspot_num(v, buf, sizeof(buf));
            s = buf;

            if (n < 0) {
                if (v != NULL && !ngx_http_crmsync_json_is_null(v)) {
                    p->reason = "hubspot_bad_merge";
                    return NGX_HTTP_CRMSYNC_PARSE_UNREADABLE;
                }

                continue;
            }
        }

        if (n == 0
            || ((size_t) n == ev->identity.hubspot_id.len
                && memcmp(s, ev->identity.hubspot_id.data, n) == 0))
        {
            continue;
        }

        /* already listed: the list is short, a scan will do */

        for (k = 0; k < (size_t) (q - d); k++) {
            if ((k == 0 || d[k - 1] == ',')
                && (size_t) (q - d) - k >= (size_t) n
                && memcmp(d + k, s, n) == 0
                && (k + n == (size_t) (q - d) || d[k + n] == ','))
            {
                break;
            }
        }

        if (k < (size_t) (q - d)) {
            continue;
        }

        if (q != d) {
            *q++ = ',';
        }

        memcpy(q, s, n);
        q += n;
    }

    ev->merged_ids.data = (q != d) ? d : NULL;
    ev->merged_ids.len = q - d;

    return NGX_HTTP_CRMSYNC_PARSE_OK;
}


/* an integer in decimal: its length, or -1 when v is not an integer */

static int
ngx_http_crmsync_hubspot_num(ngx_http_crmsync_json_t *v, u_char *buf,
    size_t size)
{
    int  n;

    if (!ngx_http_crmsync_json_is_integer(v)) {
        return -1;
    }

    n = snprintf((char *) buf, size, "%lld",
                 (long long) ngx_http_crmsync_json_int(v));

    if (n <= 0 || (size_t) n >= size) {
        return -1;
    }

    return n;
}


/*
 * Copyright (C) crmsync authors
 *
 * crmsync_status: the queue (from the store), the portals (with their part
 * of the identity cache) and the webhook locations (from the shared
 * zone), as JSON or, with ?format=prometheus, in Prometheus' text format.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_module.h"
#include "ngx_http_crmsync_store.h"


#define NGX_HTTP_CRMSYNC_STATUS_PORTAL     1024
#define NGX_HTTP_CRMSYNC_STATUS_LOCATION                                      \
    (512 + NGX_HTTP_CRMSYNC_REASONS * (NGX_HTTP_CRMSYNC_REASON_LEN + 256))


typedef struct {
    u_char                          *pos;
    u_char                          *last;
    ngx_uint_t                       prometheus;
} ngx_http_crmsync_out_t;


static void ngx_http_crmsync_printf(ngx_http_crmsync_out_t *o,
    const char *fmt, ...);


static void
ngx_http_crmsync_printf(ngx_http_crmsync_out_t *o, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    o->pos = ngx_vslprintf(o->pos, o->last, fmt, args);
    va_end(args);
}


/* a name as a JSON string or a Prometheus label value, quoted */

static void
ngx_http_crmsync_quoted(ngx_http_crmsync_out_t *o, u_char *name)
{
    u_char  *p;

    ngx_http_crmsync_printf(o, "\"");

    for (p = name; *p && o->pos < o->last - 1; p++) {
        if (*p == '"' || *p == '\\') {
            *o->pos++ = '\\';
            *o->pos++ = *p;

        } else if (*p == '\n') {
            ngx_http_crmsync_printf(o, "\\n");

        } else if (*p < 0x20) {
            ngx_http_crmsync_printf(o, o->prometheus ? " " : "\\u%04xd", *p);

        } else {
            *o->pos++ = *p;
        }
    }

    ngx_http_crmsync_printf(o, "\"");
}


/*
 * The webhook locations of this configuration, each once (locations of
 * one name in several servers share their counters); the zone may hold
 * more, left by an earlier configuration.
 */

static ngx_http_crmsync_location_sh_t *
ngx_http_crmsync_status_location(ngx_http_crmsync_main_conf_t *mcf,
    ngx_uint_t i)
{
    ngx_uint_t                     k;
    ngx_http_crmsync_loc_conf_t  **loc;

    loc = mcf->locations.elts;

    for (k = 0; k < i; k++) {
        if (loc[k]->sh == loc[i]->sh) {
            return NULL;
        }
    }

    return loc[i]->sh;
}


static void
ngx_http_crmsync_metric(ngx_http_crmsync_out_t *o, const char *name,
    const char *type, const char *help)
{
    ngx_http_crmsync_printf(o, "# HELP crmsync_%s %s\n# TYPE crmsync_%s %s\n",
                            name, help, name, type);
}


static void
ngx_http_crmsync_status_prometheus(ngx_http_crmsync_out_t *o,
    ngx_http_crmsync_main_conf_t *mcf, ngx_http_crmsync_store_stats_t *stats,
    ngx_int_t have_stats, int64_t now)
{
    ngx_uint_t                       i, k, j;
    ngx_http_crmsync_sh_t           *sh;
    ngx_http_crmsync_portal_t       *portal;
    ngx_http_crmsync_location_sh_t  *l;
    ngx_http_crmsync_portal_sh_t    *p;

    static const struct {
        const char  *name;
        const char  *help;
        size_t       offset;
    } portal_counters[] = {
        { "hubspot_calls_total", "HubSpot calls made.",
          offsetof(ngx_http_crmsync_portal_sh_t, calls) },
        { "hubspot_429_total", "HubSpot calls answered 429.",
          offsetof(ngx_http_crmsync_portal_sh_t, r429) },
        { "hubspot_errors_total",
          "HubSpot calls answered 5xx or not answered.",
          offsetof(ngx_http_crmsync_portal_sh_t, errors) },
        { "jobs_synced_total", "Jobs written to HubSpot.",
          offsetof(ngx_http_crmsync_portal_sh_t, synced) },
        { "jobs_dead_total", "Jobs dead-lettered.",
          offsetof(ngx_http_crmsync_portal_sh_t, dead) },
        { "jobs_dry_run_total",
          "Jobs looked up but not written: crmsync_dry_run.",
          offsetof(ngx_http_crmsync_portal_sh_t, dry_run) },
        { "hubspot_searches_total",
          "HubSpot search calls made (also counted in hubspot_calls_total).",
          offsetof(ngx_http_crmsync_portal_sh_t, searches) },
        { "lookups_total", "crmsync_lookup requests answered.",
          offsetof(ngx_http_crmsync_portal_sh_t, lookups) },
        { "identity_cache_hits_total",
          "Identities the shared zone's cache knew.",
          offsetof(ngx_http_crmsync_portal_sh_t, id_hits) },
        { "identity_cache_misses_total",
          "Identities the shared zone's cache did not know.",
          offsetof(ngx_http_crmsync_portal_sh_t, id_misses) },
        { "identity_cache_evictions_total",
          "Identities the cache gave up to make room in the zone.",
          offsetof(ngx_http_crmsync_portal_sh_t, id_evictions) }
    };

    static const struct {
        const char  *name;
        const char  *help;
        size_t       offset;
    } location_counters[] = {
        { "webhook_received_total", "Webhook requests received.",
          offsetof(ngx_http_crmsync_location_sh_t, received) },
        { "webhook_events_stored_total", "Events stored.",
          offsetof(ngx_http_crmsync_location_sh_t, stored) },
        { "webhook_events_duplicate_total",
          "Events seen before, not stored again.",
          offsetof(ngx_http_crmsync_location_sh_t, duplicate) }
    };

    sh = ((ngx_http_crmsync_zone_ctx_t *) mcf->zone->data)->sh;

    if (have_stats) {
        ngx_http_crmsync_metric(o, "jobs", "gauge",
                                "Jobs in the store by state.");

        for (i = 0; i < NGX_HTTP_CRMSYNC_JOB_DONE; i++) {
            ngx_http_crmsync_printf(o, "crmsync_jobs{state=\"%s\"} %L\n",
                                    ngx_http_crmsync_job_state_names[i],
                                    stats->count[i]);
        }

        ngx_http_crmsync_metric(o, "jobs_by_kind", "gauge",
                                "Jobs in the store by kind (contact, "
                                "transcript, deal, task, flag, owner) and "
                                "state.");

        for (k = 0; k < NGX_HTTP_CRMSYNC_KINDS; k++) {
            for (i = 0; i < NGX_HTTP_CRMSYNC_JOB_DONE; i++) {
                ngx_http_crmsync_printf(o, "crmsync_jobs_by_kind{kind=\"%s\","
                                        "state=\"%s\"} %L\n",
                                        ngx_http_crmsync_job_kind_names[k],
                                        ngx_http_crmsync_job_state_names[i],
                                        stats->kind[k][i]);
            }
        }

        ngx_http_crmsync_metric(o, "oldest_job_age_seconds", "gauge",
                                "Age of the oldest job queued, retrying or in "
                                "flight.");
        ngx_http_crmsync_printf(o, "crmsync_oldest_job_age_seconds %L\n",
                                stats->oldest ? (now - stats->oldest) / 1000
                                              : 0);
    }

    ngx_http_crmsync_metric(o, "store_commits_total", "counter",
                            "Webhook transactions committed to the store.");
    ngx_http_crmsync_printf(o, "crmsync_store_commits_total %uA\n",
                            sh->commits);
    ngx_http_crmsync_metric(o, "store_requests_committed_total", "counter",
                            "Webhook requests those transactions carried.");
    ngx_http_crmsync_printf(o, "crmsync_store_requests_committed_total %uA\n",
                            sh->committed);

    for (k = 0; k < sizeof(portal_counters) / sizeof(portal_counters[0]);
         k++)
    {
        ngx_http_crmsync_metric(o, portal_counters[k].name, "counter",
                                portal_counters[k].help);

        for (i = 0; i < mcf->portals.nelts; i++) {
            p = ((ngx_http_crmsync_portal_t *) mcf->portals.elts)[i].sh;
            ngx_http_crmsync_printf(o, "crmsync_%s{portal=",
                                    portal_counters[k].name);
            ngx_http_crmsync_quoted(o, p->name);
            ngx_http_crmsync_printf(o, "} %uA\n",
                *(ngx_atomic_t *) ((u_char *) p + portal_counters[k].offset));
        }
    }

    portal = mcf->portals.elts;

    ngx_http_crmsync_metric(o, "identity_cache_entries", "gauge",
                            "Identities in the shared zone's cache.");

    for (i = 0; i < mcf->portals.nelts; i++) {
        p = portal[i].sh;
        ngx_http_crmsync_printf(o, "crmsync_identity_cache_entries{portal=");
        ngx_http_crmsync_quoted(o, p->name);
        ngx_http_crmsync_printf(o, "} %uA\n", p->id_entries);
    }

    ngx_http_crmsync_metric(o, "hubspot_auth_ok", "gauge",
                            "1 while HubSpot accepts the portal's token.");

    for (i = 0; i < mcf->portals.nelts; i++) {
        p = portal[i].sh;
        ngx_http_crmsync_printf(o, "crmsync_hubspot_auth_ok{portal=");
        ngx_http_crmsync_quoted(o, p->name);
        ngx_http_crmsync_printf(o, "} %d\n",
                                (p->auth_failed
                                 && p->auth_token == portal[i].token_crc)
                                ? 0 : 1);
    }

    ngx_http_crmsync_metric(o, "hubspot_budget_in_use", "gauge",
                            "Share of the rate budget used in the current "
                            "window.");

    for (i = 0; i < mcf->portals.nelts; i++) {
        p = portal[i].sh;
        ngx_http_crmsync_printf(o, "crmsync_hubspot_budget_in_use{portal=");
        ngx_http_crmsync_quoted(o, p->name);
        ngx_http_crmsync_printf(o, "} %.3f\n",
            (double) ngx_http_crmsync_shm_in_use(mcf->zone->data, p,
                                                 portal[i].window, now)
            / portal[i].rate);
    }

    for (k = 0;
         k < sizeof(location_counters) / sizeof(location_counters[0]);
         k++)
    {
        ngx_http_crmsync_metric(o, location_counters[k].name, "counter",
                                location_counters[k].help);

        for (i = 0; i < mcf->locations.nelts; i++) {
            l = ngx_http_crmsync_status_location(mcf, i);
            if (l == NULL) {
                continue;
            }

            ngx_http_crmsync_printf(o, "crmsync_%s{location=",
                                    location_counters[k].name);
            ngx_http_crmsync_quoted(o, l->name);
            ngx_http_crmsync_printf(o, "} %uA\n",
                *(ngx_atomic_t *) ((u_char *) l
                                   + location_counters[k].offset));
        }
    }

    ngx_http_crmsync_metric(o, "webhook_refused_total", "counter",
                            "Webhook requests refused, by reason.");

    for (i = 0; i < mcf->locations.nelts; i++) {
        l = ngx_http_crmsync_status_location(mcf, i);
        if (l == NULL) {
            continue;
        }

        for (j = 0; j < NGX_HTTP_CRMSYNC_REASONS && l->refused[j].count; j++)
        {
            ngx_http_crmsync_printf(o,
                                    "crmsync_webhook_refused_total{location=");
            ngx_http_crmsync_quoted(o, l->name);
            ngx_http_crmsync_printf(o, ",reason=");
            ngx_http_crmsync_quoted(o, l->refused[j].reason);
            ngx_http_crmsync_printf(o, "} %uA\n", l->refused[j].count);
        }
    }
}


static void
ngx_http_crmsync_status_json(ngx_http_crmsync_out_t *o,
    ngx_http_crmsync_main_conf_t *mcf, ngx_http_crmsync_store_stats_t *stats,
    ngx_int_t have_stats, int64_t now)
{
    ngx_uint_t                       i, j, k, n;
    ngx_http_crmsync_sh_t           *sh;
    ngx_http_crmsync_portal_t       *portal;
    ngx_http_crmsync_portal_sh_t    *p;
    ngx_http_crmsync_location_sh_t  *l;

    sh = ((ngx_http_crmsync_zone_ctx_t *) mcf->zone->data)->sh;

    if (have_stats) {
        ngx_http_crmsync_printf(o, "{\"queue\":{");

        for (i = 0; i < NGX_HTTP_CRMSYNC_JOB_DONE; i++) {
            ngx_http_crmsync_printf(o, "\"%s\":%L,",
                                    ngx_http_crmsync_job_state_names[i],
                                    stats->count[i]);
        }

        ngx_http_crmsync_printf(o, "\"oldest_age\":%L},\"kinds\":{",
                                stats->oldest ? (now - stats->oldest) / 1000
                                              : 0);

        for (k = 0; k < NGX_HTTP_CRMSYNC_KINDS; k++) {
            ngx_http_crmsync_printf(o, "%s\"%s\":{", k ? "," : "",
                                    ngx_http_crmsync_job_kind_names[k]);

            for (i = 0; i < NGX_HTTP_CRMSYNC_JOB_DONE; i++) {
                ngx_http_crmsync_printf(o, "%s\"%s\":%L", i ? "," : "",
                                        ngx_http_crmsync_job_state_names[i],
                                        stats->kind[k][i]);
            }

            ngx_http_crmsync_printf(o, "}");
        }

        ngx_http_crmsync_printf(o, "},");

    } else {
        ngx_http_crmsync_printf(o, "{\"queue\":null,");
    }

    ngx_http_crmsync_printf(o, "\"store\":{\"commits\":%uA,"
                            "\"requests_committed\":%uA},\"portals\":{",
                            sh->commits, sh->committed);

    portal = mcf->portals.elts;

    for (i = 0; i < mcf->portals.nelts; i++) {
        p = portal[i].sh;

        ngx_http_crmsync_printf(o, i ? "," : "");
        ngx_http_crmsync_quoted(o, p->name);
        ngx_http_crmsync_printf(o,
            ":{\"auth\":\"%s\",\"calls\":%uA,\"r429\":%uA,\"errors\":%uA,"
            "\"synced\":%uA,\"dead\":%uA,\"dry_run\":%uA,\"budget\":%ui,"
            "\"budget_in_use\":%ui,\"paused_for\":%L,\"searches\":%uA,"
            "\"search_budget\":%ui,\"lookups\":%uA,\"cache_entries\":%uA,"
            "\"cache_hits\":%uA,\"cache_misses\":%uA,"
            "\"cache_evictions\":%uA}",
            (p->auth_failed && p->auth_token == portal[i].token_crc)
            ? "failed" : "ok",
            p->calls, p->r429, p->errors, p->synced, p->dead, p->dry_run,
            portal[i].rate,
            ngx_http_crmsync_shm_in_use(mcf->zone->data, p, portal[i].window,
                                        now),
            p->pause_until > now ? p->pause_until - now : (int64_t) 0,
            p->searches, portal[i].search_rate, p->lookups, p->id_entries,
            p->id_hits, p->id_misses, p->id_evictions);
    }

    ngx_http_crmsync_printf(o, "},\"locations\":{");

    for (i = 0, n = 0; i < mcf->locations.nelts; i++) {
        l = ngx_http_crmsync_status_location(mcf, i);
        if (l == NULL) {
            continue;
        }

        ngx_http_crmsync_printf(o, n++ ? "," : "");
        ngx_http_crmsync_quoted(o, l->name);
        ngx_http_crmsync_printf(o,
            ":{\"received\":%uA,\"stored\":%uA,\"duplicate\":%uA,"
            "\"refused\":{", l->received, l->stored, l->duplicate);

        for (j = 0; j < NGX_HTTP_CRMSYNC_REASONS && l->refused[j].count; j++)
        {
            ngx_http_crmsync_printf(o, j ? "," : "");
            ngx_http_crmsync_quoted(o, l->refused[j].reason);
            ngx_http_crmsync_printf(o, ":%uA", l->refused[j].count);
        }

        ngx_http_crmsync_printf(o, "}}");
    }

    ngx_http_crmsync_printf(o, "}}\n");
}


static ngx_int_t
ngx_http_crmsync_status_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *reason)
{
    u_char  *p, *last;

    p = ngx_pnalloc(r->pool, 64);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_snprintf(p, 64, "{\"status\":\"error\",\"reason\":\"%s\"}\n",
                        reason);

    return ngx_http_crmsync_send_json(r, status, p, last - p);
}


ngx_int_t
ngx_http_crmsync_status_handler(ngx_http_request_t *r)
{
    u_char                          *start;
    size_t                           size;
    int64_t                          now;
    ngx_int_t                        rc, have_stats;
    ngx_str_t                        format;
    ngx_http_crmsync_out_t           o;
    ngx_http_crmsync_main_conf_t    *mcf;
    ngx_http_crmsync_store_stats_t   stats;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    mcf = ngx_http_get_module_main_conf(r, ngx_http_crmsync_module);

    if (mcf->zone == NULL) {
        return ngx_http_crmsync_status_error(r, NGX_HTTP_NOT_FOUND,
                                             "no_crmsync_zone");
    }

    ngx_memzero(&o, sizeof(ngx_http_crmsync_out_t));

    if (ngx_http_arg(r, (u_char *) "format", 6, &format) == NGX_OK) {
        if (format.len == 10 && ngx_strncmp(format.data, "prometheus", 10)
                                == 0)
        {
            o.prometheus = 1;

        } else if (!(format.len == 4
                     && ngx_strncmp(format.data, "json", 4) == 0))
        {
            return ngx_http_crmsync_status_error(r, NGX_HTTP_BAD_REQUEST,
                                                 "unknown_format");
        }
    }

    now = ngx_http_crmsync_now();

    have_stats = ngx_http_crmsync_store
                 && ngx_http_crmsync_store_stats(ngx_http_crmsync_store,
                                                 &stats)
                    == NGX_HTTP_CRMSYNC_STORE_OK;

    /* the jobs by kind and state: 30 lines of at most 128 bytes */

    size = 8192 + NGX_HTTP_CRMSYNC_KINDS * NGX_HTTP_CRMSYNC_JOB_DONE * 128
           + mcf->portals.nelts * NGX_HTTP_CRMSYNC_STATUS_PORTAL * 4
           + mcf->locations.nelts * NGX_HTTP_CRMSYNC_STATUS_LOCATION * 2;

    o.pos = ngx_pnalloc(r->pool, size);
    if (o.pos == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    start = o.pos;
    o.last = o.pos + size;

    if (o.prometheus) {
        ngx_http_crmsync_status_prometheus(&o, mcf, &stats, have_stats, now);

    } else {
        ngx_http_crmsync_status_json(&o, mcf, &stats, have_stats, now);
    }

    size = o.pos - start;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = size;

    if (o.prometheus) {
        ngx_str_set(&r->headers_out.content_type,
                    "text/plain; version=0.0.4; charset=utf-8");

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    return ngx_http_crmsync_send_body(r, start, size);
}

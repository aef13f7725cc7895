
/*
 * Copyright (C) crmsync authors
 *
 * Fuzzing of the contact-matching planner.  The input is segments
 * separated by 0xff bytes (never in UTF-8 JSON): a control segment (the
 * number of payloads, id properties ready, the api, which identities the
 * map knows, the statuses of the answers), then the job payloads, then
 * the answers' bodies, handed out in the order the calls come.  Whatever
 * comes in, the plan ends within a few rounds, every call is valid JSON
 * within HubSpot's limits, and every job gets an outcome with
 * NUL-terminated, valid UTF-8 strings.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ngx_http_crmsync_match.h"


#define F_JOBS  16
#define F_SEGS  64


static const int  statuses[] = {
    200, 207, 201, 0, 400, 401, 404, 409, 423, 429, 500, 502, 503, 204
};


static void
f_string(const char *s, size_t size)
{
    json_t  *j;

    if (memchr(s, '\0', size) == NULL) {
        abort();                            /* not NUL-terminated */
    }

    j = json_string(s);                     /* NULL if not UTF-8 */
    if (j == NULL) {
        abort();
    }

    json_decref(j);
}


static void
f_call(const ngx_http_crmsync_plan_call_t *c)
{
    size_t        i, groups, filters, total;
    json_t       *b, *g, *in;
    json_error_t  err;

    if (c->body == NULL || strlen(c->body) != c->body_len
        || c->path[0] != '/' || memchr(c->path, '\0', sizeof(c->path)) == NULL)
    {
        abort();
    }

    b = json_loads(c->body, 0, &err);
    if (!json_is_object(b)) {
        abort();
    }

    if (c->search) {
        groups = json_array_size(json_object_get(b, "filterGroups"));
        total = 0;

        if (groups > 5) {
            abort();
        }

        json_array_foreach(json_object_get(b, "filterGroups"), i, g) {
            filters = json_array_size(json_object_get(g, "filters"));

            if (filters > 6) {
                abort();
            }

            total += filters;
        }

        if (total > 18 || json_integer_value(json_object_get(b, "limit"))
                          > 200)
        {
            abort();
        }

    } else {
        in = json_object_get(b, "inputs");

        if (!json_is_array(in) || json_array_size(in) == 0
            || json_array_size(in) > 100)
        {
            abort();
        }
    }

    json_decref(b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                                  round;
    char                                 corr[40], contact[32];
    size_t                               nseg, i, k, n, nc, nids, next;
    size_t                               start[F_SEGS], len[F_SEGS];
    const char                          *log;
    const uint8_t                       *ctl;
    ngx_http_crmsync_plan_t             *plan;
    ngx_http_crmsync_str_t               payloads[F_JOBS];
    ngx_http_crmsync_hs_pace_e           pace;
    ngx_http_crmsync_plan_rc_e           rc;
    ngx_http_crmsync_plan_call_t        *calls;
    ngx_http_crmsync_plan_conf_t         conf;
    ngx_http_crmsync_hs_result_t         results[F_JOBS];
    const ngx_http_crmsync_plan_id_t    *ids;
    const ngx_http_crmsync_plan_map_t   *maps;
    const ngx_http_crmsync_plan_remap_t *remaps;

    nseg = 0;
    start[0] = 0;

    for (i = 0; i <= size && nseg < F_SEGS; i++) {
        if (i == size || data[i] == 0xff) {
            len[nseg] = i - start[nseg];
            nseg++;

            if (nseg < F_SEGS) {
                start[nseg] = i + 1;
            }
        }
    }

    if (nseg < 2 || len[0] < 4) {
        return 0;
    }

    ctl = data + start[0];

    n = 1 + ctl[0] % F_JOBS;
    if (n > nseg - 1) {
        n = nseg - 1;
    }

    memset(&conf, 0, sizeof(conf));
    conf.api = (ctl[2] & 1) ? "v3" : "2026-03";

    for (k = 0; k < NGX_HTTP_CRMSYNC_ID_MAX; k++) {
        conf.idprop_ready[k] = (ctl[1] >> (k % 8)) & 1;
    }

    for (i = 0; i < n; i++) {
        payloads[i].data = (u_char *) data + start[1 + i];
        payloads[i].len = len[1 + i];
    }

    memset(results, 0x5a, sizeof(results));

    plan = ngx_http_crmsync_plan_create(&conf, payloads, n, results);
    if (plan == NULL) {
        return 0;
    }

    nids = ngx_http_crmsync_plan_identities(plan, &ids);

    for (i = 0; i < nids; i++) {
        if (ids[i].kind >= NGX_HTTP_CRMSYNC_ID_MAX || ids[i].value.len == 0
            || strlen((char *) ids[i].value.data) != ids[i].value.len)
        {
            abort();
        }

        if (ctl[3] & (1u << (i % 8))) {
            snprintf(contact, sizeof(contact), "%zu", 1000 + i % 3);
            ngx_http_crmsync_plan_known(plan, i, contact);
        }
    }

    next = 1 + n;
    pace = NGX_HTTP_CRMSYNC_HS_PACE_NONE;
    round = 0;
    k = 4;

    while ((rc = ngx_http_crmsync_plan_next(plan, &calls, &nc))
           == NGX_HTTP_CRMSYNC_PLAN_CALLS)
    {
        if (++round > 12 || nc == 0) {
            abort();                        /* a plan must end */
        }

        for (i = 0; i < nc; i++) {
            f_call(&calls[i]);

            if (next < nseg) {
                ngx_http_crmsync_plan_answer(plan, i,
                    statuses[(k < len[0] ? ctl[k] : 0)
                             % (sizeof(statuses) / sizeof(statuses[0]))],
                    data + start[next], len[next], "timeout", &pace, corr,
                    sizeof(corr));
                next++;

            } else {
                ngx_http_crmsync_plan_answer(plan, i, 0, NULL, 0,
                                             "timeout", &pace, corr,
                                             sizeof(corr));
            }

            k++;
            f_string(corr, sizeof(corr));
        }
    }

    if (rc != NGX_HTTP_CRMSYNC_PLAN_DONE && rc != NGX_HTTP_CRMSYNC_PLAN_ERROR)
    {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (results[i].outcome > NGX_HTTP_CRMSYNC_HS_AUTH) {
            abort();
        }

        f_string(results[i].id, sizeof(results[i].id));
        f_string(results[i].reason, sizeof(results[i].reason));
        f_string(results[i].category, sizeof(results[i].category));
    }

    if (rc == NGX_HTTP_CRMSYNC_PLAN_DONE) {
        nc = ngx_http_crmsync_plan_maps(plan, &maps);

        for (i = 0; i < nc; i++) {
            f_string(maps[i].contact, sizeof(maps[i].contact));

            if (maps[i].contact[0] == '\0') {
                abort();
            }
        }

        nc = ngx_http_crmsync_plan_remaps(plan, &remaps);

        for (i = 0; i < nc; i++) {
            f_string(remaps[i].from, sizeof(remaps[i].from));
            f_string(remaps[i].to, sizeof(remaps[i].to));
        }

        for (log = ngx_http_crmsync_plan_log(plan); *log;
             log += strlen(log) + 1)
        {
            f_string(log, strlen(log) + 1);
        }
    }

    ngx_http_crmsync_plan_free(plan);

    return 0;
}

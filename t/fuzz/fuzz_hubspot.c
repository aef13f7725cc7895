
/*
 * Copyright (C) crmsync authors
 *
 * Fuzzing of the HubSpot batch upsert builder and answer reader.  The
 * input is two bytes of status, then job payloads and last the answer's
 * body, separated by 0xff bytes (never in UTF-8 JSON).  Whatever comes
 * in, the body built parses back to one input per email, and every job
 * gets an outcome with NUL-terminated, valid UTF-8 strings.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "ngx_http_crmsync_hubspot.h"


#define F_NONE  ((size_t) -1)


static const int  statuses[] = {
    0, 200, 201, 207, 204, 400, 401, 403, 404, 408, 409, 413, 422, 423,
    429, 477, 500, 502, 503, 504, 302, 100, 599, 600, -1
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


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                            status;
    char                          *body, correlation[40], path[64];
    char                           api[16];
    size_t                         i, k, n, ninputs, start;
    size_t                         input_of[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    json_t                        *doc, *in, *x;
    const char                    *id;
    json_error_t                   err;
    ngx_http_crmsync_str_t         payloads[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_http_crmsync_str_t         emails[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_http_crmsync_str_t         answer;
    ngx_http_crmsync_hs_pace_e     pace;
    ngx_http_crmsync_hs_result_t   results[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];

    static ngx_http_crmsync_str_t  fake[3] = {
        ngx_http_crmsync_string("a@x.com"),
        ngx_http_crmsync_string("b@x.com"),
        ngx_http_crmsync_string("C@X.COM")
    };

    if (size < 2) {
        return 0;
    }

    if (data[1] < 0x80) {
        status = statuses[data[0] % (sizeof(statuses) / sizeof(int))];

    } else {
        status = (int) (((data[1] & 0x7f) << 8) | data[0]) - 100;
    }

    data += 2;
    size -= 2;

    /* payloads, then the answer */

    n = 0;
    start = 0;

    for (i = 0; i < size; i++) {
        if (data[i] != 0xff) {
            continue;
        }

        if (n < NGX_HTTP_CRMSYNC_HS_BATCH_MAX) {
            payloads[n].data = (u_char *) data + start;
            payloads[n].len = i - start;
            n++;
        }

        start = i + 1;
    }

    answer.data = (u_char *) data + start;
    answer.len = size - start;

    /* the path of the first payload as an api version */

    if (n) {
        k = payloads[0].len < sizeof(api) ? payloads[0].len
                                          : sizeof(api) - 1;
        memcpy(api, payloads[0].data, k);
        api[k] = '\0';

        id = ngx_http_crmsync_hs_upsert_path(api, path,
                                             answer.len % sizeof(path));
        if (id != NULL && (id != path || path[0] != '/')) {
            abort();
        }
    }

    body = ngx_http_crmsync_hs_upsert_body(payloads, n, input_of, &ninputs,
                                           results);
    doc = NULL;

    if (body == NULL) {
        if (ninputs != 0) {
            abort();
        }

        for (i = 0; i < n; i++) {
            if (input_of[i] != F_NONE
                || results[i].outcome != NGX_HTTP_CRMSYNC_HS_DEAD)
            {
                abort();
            }
        }

        /* still read the answer, for three made-up inputs */

        n = 5;
        ninputs = 3;

        for (i = 0; i < n; i++) {
            input_of[i] = (i == 3) ? F_NONE : i % 3;
            results[i].outcome = NGX_HTTP_CRMSYNC_HS_DEAD;
        }

        memcpy(emails, fake, sizeof(fake));

    } else {
        doc = json_loads(body, 0, &err);
        in = json_object_get(doc, "inputs");

        if (ninputs == 0 || ninputs > n || json_array_size(in) != ninputs) {
            abort();
        }

        for (k = 0; k < ninputs; k++) {
            x = json_array_get(in, k);
            id = json_string_value(json_object_get(x, "id"));

            if (id == NULL || *id == '\0'
                || !json_is_object(json_object_get(x, "properties")))
            {
                abort();
            }

            emails[k].data = (u_char *) id;
            emails[k].len = json_string_length(json_object_get(x, "id"));

            /* one input per email */

            for (i = 0; i < k; i++) {
                if (emails[i].len == emails[k].len
                    && strncasecmp((char *) emails[i].data, id,
                                   emails[k].len) == 0)
                {
                    abort();
                }
            }
        }

        for (i = 0; i < n; i++) {
            if (input_of[i] == F_NONE) {
                if (results[i].outcome != NGX_HTTP_CRMSYNC_HS_DEAD) {
                    abort();
                }

            } else if (input_of[i] >= ninputs) {
                abort();
            }
        }
    }

    ngx_http_crmsync_hs_upsert_result(status, answer.data, answer.len,
                                      "timeout", n, input_of, emails,
                                      ninputs, results, &pace, correlation,
                                      sizeof(correlation));

    if (pace > NGX_HTTP_CRMSYNC_HS_PACE_LOCKED) {
        abort();
    }

    f_string(correlation, sizeof(correlation));

    for (i = 0; i < n; i++) {
        if (results[i].outcome > NGX_HTTP_CRMSYNC_HS_AUTH) {
            abort();
        }

        if (input_of[i] == F_NONE) {
            continue;
        }

        f_string(results[i].id, sizeof(results[i].id));
        f_string(results[i].reason, sizeof(results[i].reason));
        f_string(results[i].category, sizeof(results[i].category));

        if (results[i].outcome == NGX_HTTP_CRMSYNC_HS_DONE
            && results[i].id[0] == '\0')
        {
            abort();
        }

        if (results[i].outcome != NGX_HTTP_CRMSYNC_HS_DONE
            && results[i].reason[0] == '\0')
        {
            abort();
        }
    }

    json_decref(doc);
    free(body);

    return 0;
}

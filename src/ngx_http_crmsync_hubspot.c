
/*
 * Copyright (C) crmsync authors
 *
 * HubSpot request builders and response parsers (see the header for the
 * contract and doc/hubspot.md for the outcome table).  Pure: no nginx
 * header; jansson builds and reads the bodies.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ngx_http_crmsync_types.h"
#include "ngx_http_crmsync_hubspot.h"


#define NGX_HTTP_CRMSYNC_HS_NONE  ((size_t) -1)


/* what the answer says of one input */
typedef struct {
    json_t                         *result;     /* an entry of "results" */
    json_t                         *error;      /* an entry of "errors" */
} ngx_http_crmsync_hs_input_t;


static int ngx_http_crmsync_hs_caseeq(const char *a, size_t alen,
    const u_char *b, size_t blen);
static int ngx_http_crmsync_hs_is_empty(json_t *v);
static json_t *ngx_http_crmsync_hs_load(const ngx_http_crmsync_str_t *s,
    int *oom);
static const char *ngx_http_crmsync_hs_str(json_t *o, const char *key);
static size_t ngx_http_crmsync_hs_find(json_t *v,
    const ngx_http_crmsync_str_t *emails, size_t ninputs);
static void ngx_http_crmsync_hs_all(size_t n, const size_t *input_of,
    ngx_http_crmsync_hs_result_t *results,
    ngx_http_crmsync_hs_outcome_e outcome, const char *reason,
    const char *category);
static void ngx_http_crmsync_hs_batch(json_t *root, size_t n,
    const size_t *input_of, const ngx_http_crmsync_str_t *emails,
    size_t ninputs, ngx_http_crmsync_hs_result_t *results);
static void ngx_http_crmsync_hs_result_of(ngx_http_crmsync_hs_input_t *in,
    const char *missing, ngx_http_crmsync_hs_result_t *r);
static int ngx_http_crmsync_hs_transient(json_t *error);


/* ASCII caseless equality of a jansson string and a counted string */

static int
ngx_http_crmsync_hs_caseeq(const char *a, size_t alen, const u_char *b,
    size_t blen)
{
    size_t  i;
    u_char  ca, cb;

    if (alen != blen || (alen && (a == NULL || b == NULL))) {
        return 0;
    }

    for (i = 0; i < alen; i++) {
        ca = (u_char) a[i];
        cb = b[i];

        if (ca >= 'A' && ca <= 'Z') {
            ca |= 0x20;
        }

        if (cb >= 'A' && cb <= 'Z') {
            cb |= 0x20;
        }

        if (ca != cb) {
            return 0;
        }
    }

    return 1;
}


static int
ngx_http_crmsync_hs_is_empty(json_t *v)
{
    return json_is_null(v)
           || (json_is_string(v) && json_string_length(v) == 0);
}


/*
 * Copies at most size - 1 bytes of src and NUL-terminates; a cut never
 * falls inside a UTF-8 sequence (the cut backs up to a lead byte).
 */

void
ngx_http_crmsync_hs_copy(char *dst, size_t size, const char *src, size_t len)
{
    if (size == 0) {
        return;
    }

    if (src == NULL) {
        len = 0;
    }

    if (len > size - 1) {
        len = size - 1;

        while (len > 0 && ((u_char) src[len] & 0xc0) == 0x80) {
            len--;
        }
    }

    if (len) {
        memcpy(dst, src, len);
    }

    dst[len] = '\0';
}


void
ngx_http_crmsync_hs_set(ngx_http_crmsync_hs_result_t *r,
    ngx_http_crmsync_hs_outcome_e outcome, const char *reason,
    const char *category)
{
    memset(r, 0, sizeof(ngx_http_crmsync_hs_result_t));

    r->outcome = outcome;

    if (reason) {
        ngx_http_crmsync_hs_copy(r->reason, sizeof(r->reason), reason,
                                 strlen(reason));
    }

    if (category) {
        ngx_http_crmsync_hs_copy(r->category, sizeof(r->category), category,
                                 strlen(category));
    }
}


/* a string member of an object, or NULL */

static const char *
ngx_http_crmsync_hs_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}


/*
 * Parses a payload; *oom is set when it failed for want of memory.
 * jansson reports some failed allocations as syntax errors (a string it
 * could not copy is an "invalid token") and others not at all, so a
 * failure is only the payload's fault if a second parse says so too.
 */

static json_t *
ngx_http_crmsync_hs_load(const ngx_http_crmsync_str_t *s, int *oom)
{
    int           try;
    json_t       *j;
    json_error_t  err;

    *oom = 0;

    if (s->data == NULL || s->len == 0) {
        return NULL;
    }

    for (try = 0; try < 2; try++) {
        memset(&err, 0, sizeof(json_error_t));

        j = json_loadb((const char *) s->data, s->len, 0, &err);
        if (j != NULL) {
            return j;
        }

        if (json_error_code(&err) == json_error_out_of_memory
            || err.text[0] == '\0')
        {
            *oom = 1;
            return NULL;
        }
    }

    return NULL;
}


char *
ngx_http_crmsync_hs_upsert_body(const ngx_http_crmsync_str_t *payloads,
    size_t n, size_t *input_of, size_t *ninputs,
    ngx_http_crmsync_hs_result_t *results)
{
    int            oom;
    char          *body;
    size_t         i, k, ni;
    json_t        *root, *inputs, *p, *email, *in, *props, *v, *old;
    const char    *key, *e;

    /* json_*_set_new() and json_array_append_new() take the value over
       even when they fail */

    *ninputs = 0;
    i = 0;

    root = json_object();
    if (root == NULL) {
        goto failed;
    }

    inputs = json_array();
    if (json_object_set_new(root, "inputs", inputs) != 0) {
        goto failed;
    }

    ni = 0;

    for ( /* void */ ; i < n; i++) {
        input_of[i] = NGX_HTTP_CRMSYNC_HS_NONE;
        memset(&results[i], 0, sizeof(ngx_http_crmsync_hs_result_t));

        p = ngx_http_crmsync_hs_load(&payloads[i], &oom);
        if (oom) {
            goto failed;
        }

        email = json_object_get(p, "email");

        if (!json_is_object(p) || !json_is_string(email)
            || json_string_length(email) == 0)
        {
            json_decref(p);
            ngx_http_crmsync_hs_set(&results[i], NGX_HTTP_CRMSYNC_HS_DEAD,
                                    "bad_payload", NULL);
            continue;
        }

        /* the input of an earlier job for this email, or a new one */

        e = json_string_value(email);
        props = NULL;

        for (k = 0; k < ni; k++) {
            in = json_array_get(inputs, k);
            v = json_object_get(in, "id");

            if (ngx_http_crmsync_hs_caseeq(json_string_value(v),
                                           json_string_length(v),
                                           (const u_char *) e,
                                           json_string_length(email)))
            {
                props = json_object_get(in, "properties");
                break;
            }
        }

        if (props == NULL) {
            in = json_object();
            props = json_object();

            if (json_array_append_new(inputs, in) != 0
                || json_object_set_new(in, "idProperty",
                                       json_string("email")) != 0
                || json_object_set(in, "id", email) != 0
                || json_object_set(in, "properties", props) != 0)
            {
                json_decref(props);
                json_decref(p);
                goto failed;
            }

            json_decref(props);             /* "in" holds it */

            k = ni++;
        }

        /* a later non-empty value overrides; an empty one only fills */

        json_object_foreach(p, key, v) {
            old = json_object_get(props, key);

            if (old != NULL && ngx_http_crmsync_hs_is_empty(v)) {
                continue;
            }

            if (json_object_set(props, key, v) != 0) {
                json_decref(p);
                goto failed;
            }
        }

        json_decref(p);

        input_of[i] = k;
    }

    if (ni == 0) {
        json_decref(root);
        return NULL;
    }

    body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (body == NULL) {
        goto failed;
    }

    json_decref(root);

    *ninputs = ni;

    return body;

failed:

    /*
     * no memory: no call is made, and every job not refused before job i
     * (where it failed) comes back later
     */

    json_decref(root);

    for (k = 0; k < n; k++) {
        if (k >= i || input_of[k] != NGX_HTTP_CRMSYNC_HS_NONE) {
            ngx_http_crmsync_hs_set(&results[k], NGX_HTTP_CRMSYNC_HS_RETRY,
                                    "no memory", NULL);
        }

        input_of[k] = NGX_HTTP_CRMSYNC_HS_NONE;
    }

    *ninputs = 0;

    return NULL;
}


/* the input a string names, or NGX_HTTP_CRMSYNC_HS_NONE */

static size_t
ngx_http_crmsync_hs_find(json_t *v, const ngx_http_crmsync_str_t *emails,
    size_t ninputs)
{
    size_t       k;
    const char  *s;

    s = json_string_value(v);
    if (s == NULL || emails == NULL) {
        return NGX_HTTP_CRMSYNC_HS_NONE;
    }

    for (k = 0; k < ninputs; k++) {
        if (ngx_http_crmsync_hs_caseeq(s, json_string_length(v),
                                       emails[k].data, emails[k].len))
        {
            return k;
        }
    }

    return NGX_HTTP_CRMSYNC_HS_NONE;
}


static void
ngx_http_crmsync_hs_all(size_t n, const size_t *input_of,
    ngx_http_crmsync_hs_result_t *results,
    ngx_http_crmsync_hs_outcome_e outcome, const char *reason,
    const char *category)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (input_of[i] != NGX_HTTP_CRMSYNC_HS_NONE) {
            ngx_http_crmsync_hs_set(&results[i], outcome, reason, category);
        }
    }
}


/* an error of a 207 that a retry may fix */

static int
ngx_http_crmsync_hs_transient(json_t *error)
{
    json_t      *st;
    const char  *c;
    long         code;

    static const char  *transient[] = {
        "INTERNAL_ERROR", "RATE_LIMIT", "RATE_LIMITS", "SERVICE_UNAVAILABLE",
        "LOCKED", "TIMEOUT", "GATEWAY_TIMEOUT", "BAD_GATEWAY", NULL
    };

    st = json_object_get(error, "status");
    code = 0;

    if (json_is_integer(st)) {
        if (json_integer_value(st) >= 500 && json_integer_value(st) <= 599) {
            return 1;
        }

    } else if (json_is_string(st)) {
        c = json_string_value(st);

        if (json_string_length(st) == 3
            && c[0] >= '0' && c[0] <= '9'
            && c[1] >= '0' && c[1] <= '9'
            && c[2] >= '0' && c[2] <= '9')
        {
            code = (c[0] - '0') * 100 + (c[1] - '0') * 10 + (c[2] - '0');
        }
    }

    if (code >= 500 && code <= 599) {
        return 1;
    }

    c = ngx_http_crmsync_hs_str(error, "category");
    if (c == NULL) {
        c = ngx_http_crmsync_hs_str(error, "errorType");
    }

    if (c) {
        for (code = 0; transient[code]; code++) {
            if (strcmp(c, transient[code]) == 0) {
                return 1;
            }
        }
    }

    return 0;
}


static void
ngx_http_crmsync_hs_result_of(ngx_http_crmsync_hs_input_t *in,
    const char *missing, ngx_http_crmsync_hs_result_t *r)
{
    json_t      *id;
    const char  *msg, *cat;

    if (in->result) {
        id = json_object_get(in->result, "id");

        memset(r, 0, sizeof(ngx_http_crmsync_hs_result_t));

        if (json_is_string(id) && json_string_length(id) != 0
            && json_string_length(id) < sizeof(r->id))
        {
            r->outcome = NGX_HTTP_CRMSYNC_HS_DONE;
            memcpy(r->id, json_string_value(id), json_string_length(id));

        } else if (json_is_integer(id) && json_integer_value(id) >= 0) {
            r->outcome = NGX_HTTP_CRMSYNC_HS_DONE;
            snprintf(r->id, sizeof(r->id), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(id));

        } else {
            /* written, but under which id?  the upsert is idempotent */
            ngx_http_crmsync_hs_set(r, NGX_HTTP_CRMSYNC_HS_RETRY,
                                    "result without a usable id", NULL);
            return;
        }

        r->created = json_is_true(json_object_get(in->result, "new"));

        return;
    }

    if (in->error) {
        msg = ngx_http_crmsync_hs_str(in->error, "message");
        cat = ngx_http_crmsync_hs_str(in->error, "category");

        if (cat == NULL) {
            cat = ngx_http_crmsync_hs_str(in->error, "errorType");
        }

        ngx_http_crmsync_hs_set(r, ngx_http_crmsync_hs_transient(in->error)
                                   ? NGX_HTTP_CRMSYNC_HS_RETRY
                                   : NGX_HTTP_CRMSYNC_HS_DEAD,
                                (msg && *msg) ? msg
                                              : "error without a message",
                                cat);
        return;
    }

    ngx_http_crmsync_hs_set(r, NGX_HTTP_CRMSYNC_HS_RETRY, missing, NULL);
}


/* 200, 201, 207: "results" and "errors" */

static void
ngx_http_crmsync_hs_batch(json_t *root, size_t n, const size_t *input_of,
    const ngx_http_crmsync_str_t *emails, size_t ninputs,
    ngx_http_crmsync_hs_result_t *results)
{
    char                          missing[64];
    size_t                        i, j, k, m;
    json_t                       *list, *e, *ctx, *names, *v;
    const char                   *st;
    ngx_http_crmsync_hs_input_t  *in;

    static const char  *keys[] = {
        "ids", "emails", "objectWriteTraceId", "id", "email", NULL
    };

    in = calloc(ninputs ? ninputs : 1, sizeof(ngx_http_crmsync_hs_input_t));
    if (in == NULL) {
        ngx_http_crmsync_hs_all(n, input_of, results,
                                NGX_HTTP_CRMSYNC_HS_RETRY, "no memory", NULL);
        return;
    }

    /* results: matched on properties.email, else on "id" */

    list = json_object_get(root, "results");

    json_array_foreach(list, i, e) {
        if (!json_is_object(e)) {
            continue;
        }

        k = ngx_http_crmsync_hs_find(
                json_object_get(json_object_get(e, "properties"), "email"),
                emails, ninputs);

        if (k == NGX_HTTP_CRMSYNC_HS_NONE) {
            k = ngx_http_crmsync_hs_find(json_object_get(e, "id"), emails,
                                         ninputs);
        }

        if (k != NGX_HTTP_CRMSYNC_HS_NONE && in[k].result == NULL) {
            in[k].result = e;
        }
    }

    /* errors: matched on the names in their context */

    list = json_object_get(root, "errors");

    json_array_foreach(list, i, e) {
        ctx = json_object_get(e, "context");

        if (!json_is_object(ctx)) {
            continue;
        }

        for (j = 0; keys[j]; j++) {
            names = json_object_get(ctx, keys[j]);

            if (json_is_string(names)) {
                k = ngx_http_crmsync_hs_find(names, emails, ninputs);

                if (k != NGX_HTTP_CRMSYNC_HS_NONE && in[k].error == NULL) {
                    in[k].error = e;
                }

                continue;
            }

            json_array_foreach(names, m, v) {
                k = ngx_http_crmsync_hs_find(v, emails, ninputs);

                if (k != NGX_HTTP_CRMSYNC_HS_NONE && in[k].error == NULL) {
                    in[k].error = e;
                }
            }
        }
    }

    st = ngx_http_crmsync_hs_str(root, "status");

    if (st && (strcmp(st, "PENDING") == 0 || strcmp(st, "PROCESSING") == 0
               || strcmp(st, "CANCELED") == 0))
    {
        snprintf(missing, sizeof(missing), "missing from answer (%s)", st);

    } else {
        snprintf(missing, sizeof(missing), "missing from answer");
    }

    for (i = 0; i < n; i++) {
        k = input_of[i];

        if (k == NGX_HTTP_CRMSYNC_HS_NONE) {
            continue;
        }

        if (k >= ninputs) {
            ngx_http_crmsync_hs_set(&results[i], NGX_HTTP_CRMSYNC_HS_RETRY,
                                    "missing from answer", NULL);
            continue;
        }

        ngx_http_crmsync_hs_result_of(&in[k], missing, &results[i]);
    }

    free(in);
}


void
ngx_http_crmsync_hs_upsert_result(int status, const u_char *body,
    size_t len, const char *transport, size_t n, const size_t *input_of,
    const ngx_http_crmsync_str_t *emails, size_t ninputs,
    ngx_http_crmsync_hs_result_t *results, ngx_http_crmsync_hs_pace_e *pace,
    char *correlation, size_t correlation_size)
{
    char                           reason[sizeof(results->reason) + 8];
    json_t                        *root;
    const char                    *msg, *cat, *cid, *policy;
    json_error_t                   err;
    ngx_http_crmsync_hs_outcome_e  outcome;

    *pace = NGX_HTTP_CRMSYNC_HS_PACE_NONE;

    if (correlation && correlation_size) {
        correlation[0] = '\0';
    }

    root = NULL;

    if (body != NULL && len != 0) {
        root = json_loadb((const char *) body, len, 0, &err);

        if (!json_is_object(root)) {
            json_decref(root);
            root = NULL;
        }
    }

    msg = ngx_http_crmsync_hs_str(root, "message");
    if (msg && *msg == '\0') {
        msg = NULL;
    }

    cat = ngx_http_crmsync_hs_str(root, "category");
    if (cat == NULL) {
        cat = ngx_http_crmsync_hs_str(root, "errorType");
    }

    cid = ngx_http_crmsync_hs_str(root, "correlationId");

    if (cid && correlation) {
        ngx_http_crmsync_hs_copy(correlation, correlation_size, cid,
                                 strlen(cid));
    }

    if (status >= 200 && status <= 299) {

        if (root == NULL) {
            ngx_http_crmsync_hs_all(n, input_of, results,
                                    NGX_HTTP_CRMSYNC_HS_RETRY,
                                    "unreadable answer", NULL);
        } else {
            ngx_http_crmsync_hs_batch(root, n, input_of, emails, ninputs,
                                      results);
        }

        json_decref(root);
        return;
    }

    if (status == 0) {
        snprintf(reason, sizeof(reason), "transport: %s",
                 transport ? transport : "no answer");
        outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
        msg = reason;
        cat = NULL;

    } else if (status == 400 || status == 409 || status == 422) {
        outcome = (ninputs == 1) ? NGX_HTTP_CRMSYNC_HS_DEAD
                                 : NGX_HTTP_CRMSYNC_HS_SOLO;

    } else if (status == 401) {
        outcome = NGX_HTTP_CRMSYNC_HS_AUTH;

    } else if (status == 423) {
        outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
        *pace = NGX_HTTP_CRMSYNC_HS_PACE_LOCKED;

    } else if (status == 429) {
        outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
        policy = ngx_http_crmsync_hs_str(root, "policyName");

        if (policy && strcmp(policy, "SECONDLY") == 0) {
            *pace = NGX_HTTP_CRMSYNC_HS_PACE_SECONDLY;

        } else if (policy && strcmp(policy, "DAILY") == 0) {
            *pace = NGX_HTTP_CRMSYNC_HS_PACE_DAILY;

        } else {
            *pace = NGX_HTTP_CRMSYNC_HS_PACE_ROLLING;
        }

    } else if (status >= 400 && status <= 499
               && status != 408 && status != 477)
    {
        outcome = NGX_HTTP_CRMSYNC_HS_DEAD;

    } else {
        /* 5xx, 408, 477 (migration in progress) and anything unexpected */
        outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
    }

    if (status != 0
        && (msg == NULL || outcome == NGX_HTTP_CRMSYNC_HS_RETRY))
    {
        if (msg && *msg) {
            snprintf(reason, sizeof(reason), "HTTP %d: %s", status, msg);

        } else {
            snprintf(reason, sizeof(reason), "HTTP %d", status);
        }

        /* snprintf() may have split a UTF-8 sequence at the end of
           reason[]: the copy into the results cuts it before that */

        msg = reason;
    }

    ngx_http_crmsync_hs_all(n, input_of, results, outcome, msg, cat);

    json_decref(root);
}


const char *
ngx_http_crmsync_hs_upsert_path(const char *api, char *buf, size_t size)
{
    int  rc;

    if (api == NULL || buf == NULL || size == 0) {
        return NULL;
    }

    if (strcmp(api, "v3") == 0) {
        rc = snprintf(buf, size, "/crm/v3/objects/contacts/batch/upsert");

    } else if (strlen(api) == 7
               && api[0] >= '0' && api[0] <= '9'
               && api[1] >= '0' && api[1] <= '9'
               && api[2] >= '0' && api[2] <= '9'
               && api[3] >= '0' && api[3] <= '9'
               && api[4] == '-'
               && ((api[5] == '0' && api[6] >= '1' && api[6] <= '9')
                   || (api[5] == '1' && api[6] >= '0' && api[6] <= '2')))
    {
        rc = snprintf(buf, size, "/crm/objects/%s/contacts/batch/upsert",
                      api);

    } else {
        return NULL;
    }

    if (rc < 0 || (size_t) rc >= size) {
        return NULL;
    }

    return buf;
}

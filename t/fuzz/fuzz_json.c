
/*
 * Copyright (C) crmsync authors
 *
 * Differential fuzzing of the arena JSON reader against jansson: both
 * accept or both refuse, and what is accepted reads back the same.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ngx_http_crmsync_json.h"


static u_char  mem[1 << 22];


static int
depth_of(const uint8_t *p, size_t n)
{
    size_t  i;
    int     d, max, str;

    d = 0;
    max = 0;
    str = 0;

    for (i = 0; i < n; i++) {
        if (str) {
            if (p[i] == '\\') {
                i++;

            } else if (p[i] == '"') {
                str = 0;
            }

            continue;
        }

        if (p[i] == '"') {
            str = 1;

        } else if (p[i] == '[' || p[i] == '{') {
            if (++d > max) {
                max = d;
            }

        } else if (p[i] == ']' || p[i] == '}') {
            d--;
        }
    }

    return max;
}


static void
same(const ngx_http_crmsync_json_t *a, json_t *b)
{
    size_t       i;
    const char  *k;
    json_t      *v;

    switch (a->type) {

    case NGX_HTTP_CRMSYNC_JSON_OBJECT:
        if (!json_is_object(b) || json_object_size(b) > a->len) {
            abort();
        }

        json_object_foreach(b, k, v) {
            const ngx_http_crmsync_json_t  *m;

            m = ngx_http_crmsync_json_get(a, k);
            if (m == NULL) {
                abort();
            }

            same(m, v);
        }

        return;

    case NGX_HTTP_CRMSYNC_JSON_ARRAY:
        if (!json_is_array(b) || json_array_size(b) != a->len) {
            abort();
        }

        for (i = 0; i < a->len; i++) {
            same(a->items[i], json_array_get(b, i));
        }

        return;

    case NGX_HTTP_CRMSYNC_JSON_STRING:
        if (!json_is_string(b) || json_string_length(b) != a->len
            || memcmp(json_string_value(b), a->str, a->len) != 0
            || a->str[a->len] != '\0')
        {
            abort();
        }

        return;

    case NGX_HTTP_CRMSYNC_JSON_INTEGER:
        if (!json_is_integer(b) || json_integer_value(b) != a->num.i) {
            abort();
        }

        return;

    case NGX_HTTP_CRMSYNC_JSON_REAL:
        if (!json_is_real(b)) {
            abort();
        }

        return;

    case NGX_HTTP_CRMSYNC_JSON_TRUE:
        if (!json_is_true(b)) {
            abort();
        }

        return;

    case NGX_HTTP_CRMSYNC_JSON_FALSE:
        if (!json_is_false(b)) {
            abort();
        }

        return;

    case NGX_HTTP_CRMSYNC_JSON_NULL:
        if (!json_is_null(b)) {
            abort();
        }

        return;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t                      *j;
    size_t                       bound;
    json_error_t                 err;
    ngx_http_crmsync_arena_t     a;
    ngx_http_crmsync_json_rc_e   rc;
    ngx_http_crmsync_json_t     *ours;

    bound = ngx_http_crmsync_json_bound(size);
    if (bound > sizeof(mem)) {
        return 0;
    }

    a.start = mem;
    a.pos = mem;
    a.end = mem + bound;

    ours = ngx_http_crmsync_json_parse(&a, data, size, &rc);

    if (rc == NGX_HTTP_CRMSYNC_JSON_FULL) {
        abort();                            /* the bound is a promise */
    }

    if (depth_of(data, size) >= NGX_HTTP_CRMSYNC_JSON_MAX_DEPTH) {
        return 0;                           /* jansson allows 2048 */
    }

    if (memchr(data, '\0', size) != NULL) {
        return 0;                           /* jansson stops at a NUL */
    }

    j = json_loadb((const char *) data, size, JSON_DECODE_ANY, &err);

    if ((ours == NULL) != (j == NULL)) {
        abort();
    }

    if (ours) {
        same(ours, j);
    }

    json_decref(j);

    return 0;
}

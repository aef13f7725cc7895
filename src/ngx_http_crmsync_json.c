
/*
 * Copyright (C) crmsync authors
 */


#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_crmsync_json.h"


typedef struct {
    const u_char                *pos;
    const u_char                *end;
    ngx_http_crmsync_arena_t    *arena;
    ngx_http_crmsync_json_rc_e   rc;
} ngx_http_crmsync_json_ctx_t;


static ngx_http_crmsync_json_t *ngx_http_crmsync_json_value(
    ngx_http_crmsync_json_ctx_t *ctx, unsigned depth);
static int ngx_http_crmsync_json_unescape(ngx_http_crmsync_json_ctx_t *ctx,
    const char **str, size_t *len);
static int ngx_http_crmsync_json_number(ngx_http_crmsync_json_ctx_t *ctx,
    ngx_http_crmsync_json_t *j);
static int ngx_http_crmsync_digits(const u_char *s, size_t n);


#define NGX_HTTP_CRMSYNC_JSON_ALIGN  sizeof(void *)

/* ms since the epoch must stay below year 10000 */
#define NGX_HTTP_CRMSYNC_MAX_MS  253402300800000LL


static void *
ngx_http_crmsync_json_alloc(ngx_http_crmsync_json_ctx_t *ctx, size_t size)
{
    u_char                    *p;
    ngx_http_crmsync_arena_t  *a;

    a = ctx->arena;

    p = (u_char *) (((uintptr_t) a->pos + NGX_HTTP_CRMSYNC_JSON_ALIGN - 1)
                    & ~((uintptr_t) NGX_HTTP_CRMSYNC_JSON_ALIGN - 1));

    if (p > a->end || (size_t) (a->end - p) < size) {
        ctx->rc = NGX_HTTP_CRMSYNC_JSON_FULL;
        return NULL;
    }

    a->pos = p + size;

    return p;
}


static void
ngx_http_crmsync_json_space(ngx_http_crmsync_json_ctx_t *ctx)
{
    while (ctx->pos < ctx->end
           && (*ctx->pos == ' ' || *ctx->pos == '\t' || *ctx->pos == '\n'
               || *ctx->pos == '\r'))
    {
        ctx->pos++;
    }
}


static ngx_http_crmsync_json_t *
ngx_http_crmsync_json_fail(ngx_http_crmsync_json_ctx_t *ctx,
    ngx_http_crmsync_json_rc_e rc)
{
    if (ctx->rc == NGX_HTTP_CRMSYNC_JSON_DONE) {
        ctx->rc = rc;
    }

    return NULL;
}


ngx_http_crmsync_json_t *
ngx_http_crmsync_json_parse(ngx_http_crmsync_arena_t *a, const u_char *p,
    size_t len, ngx_http_crmsync_json_rc_e *rc)
{
    ngx_http_crmsync_json_t      *root;
    ngx_http_crmsync_json_ctx_t   ctx;

    ctx.pos = p;
    ctx.end = p + len;
    ctx.arena = a;
    ctx.rc = NGX_HTTP_CRMSYNC_JSON_DONE;

    ngx_http_crmsync_json_space(&ctx);

    root = ngx_http_crmsync_json_value(&ctx, 0);

    if (root != NULL) {
        ngx_http_crmsync_json_space(&ctx);

        if (ctx.pos != ctx.end) {
            root = ngx_http_crmsync_json_fail(&ctx,
                                              NGX_HTTP_CRMSYNC_JSON_SYNTAX);
        }
    }

    *rc = ctx.rc;

    return root;
}


size_t
ngx_http_crmsync_json_bound(size_t len)
{
    /*
     * a value takes at least one byte ("[[[[" nests one a byte): len + 1
     * nodes, each with an item pointer in its parent and an alignment;
     * strings unescape into at most their raw length plus a NUL; a long
     * number is copied once, and handed back
     */

    return (len + 1) * (sizeof(ngx_http_crmsync_json_t) + sizeof(void *)
                        + NGX_HTTP_CRMSYNC_JSON_ALIGN)
           + 2 * len + 64;
}


static int
ngx_http_crmsync_json_literal(ngx_http_crmsync_json_ctx_t *ctx,
    const char *word, size_t len)
{
    if ((size_t) (ctx->end - ctx->pos) < len
        || memcmp(ctx->pos, word, len) != 0)
    {
        return -1;
    }

    ctx->pos += len;

    return 0;
}


static int
ngx_http_crmsync_json_items(ngx_http_crmsync_json_ctx_t *ctx,
    ngx_http_crmsync_json_t *j, ngx_http_crmsync_json_t *first)
{
    size_t                    i;
    ngx_http_crmsync_json_t  *c;

    if (j->len == 0) {
        j->items = NULL;
        return 0;
    }

    j->items = ngx_http_crmsync_json_alloc(ctx, j->len * sizeof(void *));
    if (j->items == NULL) {
        return -1;
    }

    for (i = 0, c = first; c; c = c->next) {
        j->items[i++] = c;
    }

    return 0;
}


static ngx_http_crmsync_json_t *
ngx_http_crmsync_json_value(ngx_http_crmsync_json_ctx_t *ctx, unsigned depth)
{
    size_t                    klen;
    const char               *key;
    ngx_http_crmsync_json_t  *j, *c, *first, *last;

    if (ctx->pos == ctx->end) {
        return ngx_http_crmsync_json_fail(ctx, NGX_HTTP_CRMSYNC_JSON_SYNTAX);
    }

    j = ngx_http_crmsync_json_alloc(ctx, sizeof(ngx_http_crmsync_json_t));
    if (j == NULL) {
        return NULL;
    }

    memset(j, 0, sizeof(ngx_http_crmsync_json_t));

    switch (*ctx->pos) {

    case '{':
    case '[':
        if (depth >= NGX_HTTP_CRMSYNC_JSON_MAX_DEPTH) {
            return ngx_http_crmsync_json_fail(ctx,
                                              NGX_HTTP_CRMSYNC_JSON_DEEP);
        }

        j->type = (*ctx->pos == '{') ? NGX_HTTP_CRMSYNC_JSON_OBJECT
                                     : NGX_HTTP_CRMSYNC_JSON_ARRAY;
        ctx->pos++;

        first = NULL;
        last = NULL;

        ngx_http_crmsync_json_space(ctx);

        if (ctx->pos < ctx->end
            && *ctx->pos == (j->type == NGX_HTTP_CRMSYNC_JSON_OBJECT ? '}'
                                                                     : ']'))
        {
            ctx->pos++;
            return j;
        }

        for ( ;; ) {
            key = NULL;
            klen = 0;

            if (j->type == NGX_HTTP_CRMSYNC_JSON_OBJECT) {
                if (ctx->pos == ctx->end || *ctx->pos != '"'
                    || ngx_http_crmsync_json_unescape(ctx, &key, &klen) != 0)
                {
                    return ngx_http_crmsync_json_fail(ctx,
                                                NGX_HTTP_CRMSYNC_JSON_SYNTAX);
                }

                ngx_http_crmsync_json_space(ctx);

                if (ctx->pos == ctx->end || *ctx->pos != ':') {
                    return ngx_http_crmsync_json_fail(ctx,
                                                NGX_HTTP_CRMSYNC_JSON_SYNTAX);
                }

                ctx->pos++;
                ngx_http_crmsync_json_space(ctx);
            }

            c = ngx_http_crmsync_json_value(ctx, depth + 1);
            if (c == NULL) {
                return NULL;
            }

            c->key = key;
            c->klen = klen;

            if (last) {
                last->next = c;

            } else {
                first = c;
            }

            last = c;
            j->len++;

            ngx_http_crmsync_json_space(ctx);

            if (ctx->pos == ctx->end) {
                return ngx_http_crmsync_json_fail(ctx,
                                                NGX_HTTP_CRMSYNC_JSON_SYNTAX);
            }

            if (*ctx->pos == ',') {
                ctx->pos++;
                ngx_http_crmsync_json_space(ctx);
                continue;
            }

            if (*ctx->pos == (j->type == NGX_HTTP_CRMSYNC_JSON_OBJECT ? '}'
                                                                      : ']'))
            {
                ctx->pos++;
                break;
            }

            return ngx_http_crmsync_json_fail(ctx,
                                              NGX_HTTP_CRMSYNC_JSON_SYNTAX);
        }

        if (ngx_http_crmsync_json_items(ctx, j, first) != 0) {
            return NULL;
        }

        return j;

    case '"':
        j->type = NGX_HTTP_CRMSYNC_JSON_STRING;

        if (ngx_http_crmsync_json_unescape(ctx, &j->str, &j->len) != 0) {
            return ngx_http_crmsync_json_fail(ctx,
                                              NGX_HTTP_CRMSYNC_JSON_SYNTAX);
        }

        return j;

    case 't':
        j->type = NGX_HTTP_CRMSYNC_JSON_TRUE;

        if (ngx_http_crmsync_json_literal(ctx, "true", 4) != 0) {
            break;
        }

        return j;

    case 'f':
        j->type = NGX_HTTP_CRMSYNC_JSON_FALSE;

        if (ngx_http_crmsync_json_literal(ctx, "false", 5) != 0) {
            break;
        }

        return j;

    case 'n':
        j->type = NGX_HTTP_CRMSYNC_JSON_NULL;

        if (ngx_http_crmsync_json_literal(ctx, "null", 4) != 0) {
            break;
        }

        return j;

    default:
        if (ngx_http_crmsync_json_number(ctx, j) != 0) {
            break;
        }

        return j;
    }

    return ngx_http_crmsync_json_fail(ctx, NGX_HTTP_CRMSYNC_JSON_SYNTAX);
}


static int
ngx_http_crmsync_json_hex4(const u_char *p, unsigned *v)
{
    unsigned  i, c;

    *v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            c -= '0';

        } else if (c >= 'a' && c <= 'f') {
            c = c - 'a' + 10;

        } else if (c >= 'A' && c <= 'F') {
            c = c - 'A' + 10;

        } else {
            return -1;
        }

        *v = (*v << 4) | c;
    }

    return 0;
}


/* the length of the valid UTF-8 sequence at p, or 0 */

static size_t
ngx_http_crmsync_json_utf8(const u_char *p, const u_char *end)
{
    size_t    n, i;
    uint32_t  cp, min;

    if (*p < 0x80) {
        return 1;
    }

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2;
        cp = *p & 0x1f;
        min = 0x80;

    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3;
        cp = *p & 0x0f;
        min = 0x800;

    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4;
        cp = *p & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }

        cp = (cp << 6) | (p[i] & 0x3f);
    }

    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }

    return n;
}


static u_char *
ngx_http_crmsync_json_put_utf8(u_char *d, uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (u_char) cp;

    } else if (cp < 0x800) {
        *d++ = (u_char) (0xc0 | (cp >> 6));
        *d++ = (u_char) (0x80 | (cp & 0x3f));

    } else if (cp < 0x10000) {
        *d++ = (u_char) (0xe0 | (cp >> 12));
        *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        *d++ = (u_char) (0x80 | (cp & 0x3f));

    } else {
        *d++ = (u_char) (0xf0 | (cp >> 18));
        *d++ = (u_char) (0x80 | ((cp >> 12) & 0x3f));
        *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
        *d++ = (u_char) (0x80 | (cp & 0x3f));
    }

    return d;
}


/*
 * A string at ctx->pos (on its opening quote), unescaped into the arena
 * and NUL-terminated, in one pass: runs of plain bytes are copied whole.
 */

static const u_char  ngx_http_crmsync_json_plain[256] = {
    /* 0x00-0x1f: control characters, refused */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x20-0x7f: all plain but '"' (0x22) and '\\' (0x5c) */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
    /* 0x80-0xff: UTF-8 sequences, checked one by one */
};


/*
 * The end of the run of plain bytes at p: eight bytes a step while none
 * of them is '"', '\\', a control character or a UTF-8 byte (the word
 * tests of "Bit Twiddling Hacks", haszero() and hasless()), the first
 * special byte of a word found by its bit, and the body's last few bytes
 * one at a time through the table.
 */

#define NGX_HTTP_CRMSYNC_JSON_ONES   0x0101010101010101ULL
#define NGX_HTTP_CRMSYNC_JSON_HIGHS  0x8080808080808080ULL

static const u_char *
ngx_http_crmsync_json_run(const u_char *p, const u_char *end)
{
    uint64_t  w, special;

    while (end - p >= 8) {
        memcpy(&w, p, 8);

        /*
         * a byte < 0x20, a '"', a '\\' or a byte >= 0x80 sets its high
         * bit; a borrow starts only at such a byte, so a word without
         * one never stops the loop, and a false stop is only slower
         */

        special = ((w - NGX_HTTP_CRMSYNC_JSON_ONES * 0x20)
                   | ((w ^ (NGX_HTTP_CRMSYNC_JSON_ONES * 0x22))
                      - NGX_HTTP_CRMSYNC_JSON_ONES)
                   | ((w ^ (NGX_HTTP_CRMSYNC_JSON_ONES * 0x5c))
                      - NGX_HTTP_CRMSYNC_JSON_ONES)
                   | w)
                  & NGX_HTTP_CRMSYNC_JSON_HIGHS;

        if (special) {
#if (defined __GNUC__ && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
            /*
             * no borrow reaches below the first special byte: its own
             * high bit is the lowest one set
             */
            return p + (__builtin_ctzll(special) >> 3);
#else
            break;
#endif
        }

        p += 8;
    }

    while (p < end && ngx_http_crmsync_json_plain[*p]) {
        p++;
    }

    return p;
}


static int
ngx_http_crmsync_json_unescape(ngx_http_crmsync_json_ctx_t *ctx,
    const char **str, size_t *len)
{
    size_t         n;
    u_char        *d, *dend, *start;
    unsigned       cp, lo;
    const u_char  *p, *q, *end;

    p = ctx->pos + 1;
    end = ctx->end;

    start = ctx->arena->pos;
    dend = ctx->arena->end;
    d = start;

    if (start > dend) {
        ctx->rc = NGX_HTTP_CRMSYNC_JSON_FULL;
        return -1;
    }

    for ( ;; ) {

        q = ngx_http_crmsync_json_run(p, end);

        n = q - p;

        if ((size_t) (dend - d) < n + 1) {
            ctx->rc = NGX_HTTP_CRMSYNC_JSON_FULL;
            return -1;
        }

        memcpy(d, p, n);
        d += n;
        p = q;

        if (p == end) {
            return -1;
        }

        if (*p == '"') {
            break;
        }

        if (*p < 0x20) {
            return -1;
        }

        if (*p >= 0x80) {
            n = ngx_http_crmsync_json_utf8(p, end);
            if (n == 0) {
                return -1;
            }

            if ((size_t) (dend - d) < n) {
                ctx->rc = NGX_HTTP_CRMSYNC_JSON_FULL;
                return -1;
            }

            memcpy(d, p, n);
            d += n;
            p += n;
            continue;
        }

        /* a backslash: an escape never writes more than 4 bytes */

        if (++p == end) {
            return -1;
        }

        if ((size_t) (dend - d) < 4) {
            ctx->rc = NGX_HTTP_CRMSYNC_JSON_FULL;
            return -1;
        }

        switch (*p) {
        case '"':  *d++ = '"';  p++; continue;
        case '\\': *d++ = '\\'; p++; continue;
        case '/':  *d++ = '/';  p++; continue;
        case 'b':  *d++ = '\b'; p++; continue;
        case 'f':  *d++ = '\f'; p++; continue;
        case 'n':  *d++ = '\n'; p++; continue;
        case 'r':  *d++ = '\r'; p++; continue;
        case 't':  *d++ = '\t'; p++; continue;
        case 'u':  break;
        default:   return -1;
        }

        if (end - p < 5 || ngx_http_crmsync_json_hex4(p + 1, &cp) != 0) {
            return -1;
        }

        p += 5;

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
                || ngx_http_crmsync_json_hex4(p + 2, &lo) != 0
                || lo < 0xdc00 || lo > 0xdfff)
            {
                return -1;
            }

            p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);

        } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
            return -1;
        }

        d = ngx_http_crmsync_json_put_utf8(d, cp);
    }

    if (d == dend) {
        ctx->rc = NGX_HTTP_CRMSYNC_JSON_FULL;
        return -1;
    }

    *d++ = '\0';

    *str = (const char *) start;
    *len = d - start - 1;

    ctx->arena->pos = d;
    ctx->pos = p + 1;

    return 0;
}


static int
ngx_http_crmsync_json_number(ngx_http_crmsync_json_ctx_t *ctx,
    ngx_http_crmsync_json_t *j)
{
    int            neg, real;
    char           buf[64], *text;
    u_char        *saved;
    uint64_t       v;
    const u_char  *p, *start, *digits;

    p = ctx->pos;
    start = p;
    neg = 0;
    real = 0;

    if (p < ctx->end && *p == '-') {
        neg = 1;
        p++;
    }

    digits = p;

    if (p == ctx->end || *p < '0' || *p > '9') {
        return -1;
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < ctx->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < ctx->end && *p == '.') {
        real = 1;
        p++;

        if (p == ctx->end || *p < '0' || *p > '9') {
            return -1;
        }

        while (p < ctx->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < ctx->end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;

        if (p < ctx->end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == ctx->end || *p < '0' || *p > '9') {
            return -1;
        }

        while (p < ctx->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    ctx->pos = p;

    if (real) {
        /* strtod() wants a NUL: a short copy on the stack, a long one
         * in the arena, handed back at once */

        saved = ctx->arena->pos;
        text = buf;

        if ((size_t) (p - start) >= sizeof(buf)) {
            text = ngx_http_crmsync_json_alloc(ctx, p - start + 1);
            if (text == NULL) {
                return -1;
            }
        }

        memcpy(text, start, p - start);
        text[p - start] = '\0';

        j->type = NGX_HTTP_CRMSYNC_JSON_REAL;

        errno = 0;
        j->num.d = strtod(text, NULL);

        ctx->arena->pos = saved;

        /* an overflow is an error, as in jansson */

        if (errno == ERANGE && isinf(j->num.d)) {
            return -1;
        }

        return 0;
    }

    /* an integer: 64 bits, as jansson's json_int_t */

    v = 0;

    for ( /* void */ ; digits < p; digits++) {
        if (v > (UINT64_MAX - (uint64_t) (*digits - '0')) / 10) {
            return -1;
        }

        v = v * 10 + (*digits - '0');
    }

    if (neg ? v > (uint64_t) INT64_MAX + 1 : v > (uint64_t) INT64_MAX) {
        return -1;
    }

    j->type = NGX_HTTP_CRMSYNC_JSON_INTEGER;
    j->num.i = neg ? (int64_t) (0 - v) : (int64_t) v;

    return 0;
}


ngx_http_crmsync_json_t *
ngx_http_crmsync_json_get(const ngx_http_crmsync_json_t *obj,
    const char *key)
{
    size_t                    i, len;
    ngx_http_crmsync_json_t  *m;

    if (obj == NULL || obj->type != NGX_HTTP_CRMSYNC_JSON_OBJECT) {
        return NULL;
    }

    len = strlen(key);

    /* the last of a repeated name wins, as in jansson */

    for (i = obj->len; i > 0; i--) {
        m = obj->items[i - 1];

        if (m->klen == len && memcmp(m->key, key, len) == 0) {
            return m;
        }
    }

    return NULL;
}


ngx_http_crmsync_json_t *
ngx_http_crmsync_json_at(const ngx_http_crmsync_json_t *arr, size_t i)
{
    if (arr == NULL || arr->type != NGX_HTTP_CRMSYNC_JSON_ARRAY
        || i >= arr->len)
    {
        return NULL;
    }

    return arr->items[i];
}


int
ngx_http_crmsync_json_equal(const ngx_http_crmsync_json_t *a,
    const ngx_http_crmsync_json_t *b)
{
    size_t                    i;
    ngx_http_crmsync_json_t  *m;

    if (a == NULL || b == NULL || a->type != b->type) {
        return 0;
    }

    switch (a->type) {

    case NGX_HTTP_CRMSYNC_JSON_STRING:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;

    case NGX_HTTP_CRMSYNC_JSON_INTEGER:
        return a->num.i == b->num.i;

    case NGX_HTTP_CRMSYNC_JSON_REAL:
        return a->num.d == b->num.d;

    case NGX_HTTP_CRMSYNC_JSON_ARRAY:
        if (a->len != b->len) {
            return 0;
        }

        for (i = 0; i < a->len; i++) {
            if (!ngx_http_crmsync_json_equal(a->items[i], b->items[i])) {
                return 0;
            }
        }

        return 1;

    case NGX_HTTP_CRMSYNC_JSON_OBJECT:
        if (a->len != b->len) {
            return 0;
        }

        for (i = 0; i < a->len; i++) {
            m = ngx_http_crmsync_json_get(b, a->items[i]->key);

            if (!ngx_http_crmsync_json_equal(
                     ngx_http_crmsync_json_get(a, a->items[i]->key), m))
            {
                return 0;
            }
        }

        return 1;

    default:
        return 1;
    }
}


/* member helpers for adapters */


int
ngx_http_crmsync_json_raw(ngx_http_crmsync_json_t *obj, const char *key,
    const u_char **s, size_t *len)
{
    ngx_http_crmsync_json_t  *v;

    v = ngx_http_crmsync_json_is_object(obj)
        ? ngx_http_crmsync_json_get(obj, key) : NULL;

    if (v == NULL || ngx_http_crmsync_json_is_null(v)) {
        return NGX_HTTP_CRMSYNC_JSON_ABSENT;
    }

    if (!ngx_http_crmsync_json_is_string(v)) {
        return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    *s = (const u_char *) ngx_http_crmsync_json_str(v);
    *len = ngx_http_crmsync_json_str_len(v);

    return *len ? NGX_HTTP_CRMSYNC_JSON_OK : NGX_HTTP_CRMSYNC_JSON_ABSENT;
}


int
ngx_http_crmsync_json_object(ngx_http_crmsync_json_t *obj, const char *key,
    ngx_http_crmsync_json_t **v)
{
    *v = ngx_http_crmsync_json_is_object(obj)
         ? ngx_http_crmsync_json_get(obj, key) : NULL;

    if (*v == NULL || ngx_http_crmsync_json_is_null(*v)) {
        *v = NULL;
        return NGX_HTTP_CRMSYNC_JSON_ABSENT;
    }

    if (!ngx_http_crmsync_json_is_object(*v)) {
        return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    return NGX_HTTP_CRMSYNC_JSON_OK;
}


int
ngx_http_crmsync_json_text(ngx_http_crmsync_json_t *v, u_char *buf, size_t size,
    const u_char **s, size_t *len)
{
    int  n;

    if (ngx_http_crmsync_json_is_string(v)) {
        *s = (const u_char *) ngx_http_crmsync_json_str(v);
        *len = ngx_http_crmsync_json_str_len(v);
        return *len ? 0 : -1;
    }

    if (ngx_http_crmsync_json_is_integer(v)) {
        n = snprintf((char *) buf, size, "%lld",
                     (long long) ngx_http_crmsync_json_int(v));

    } else if (ngx_http_crmsync_json_is_real(v)) {
        n = snprintf((char *) buf, size, "%.15g",
                     ngx_http_crmsync_json_real(v));

    } else if (ngx_http_crmsync_json_is_boolean(v)) {
        n = snprintf((char *) buf, size, "%s",
                     ngx_http_crmsync_json_is_true(v) ? "true" : "false");

    } else {
        return -1;
    }

    if (n <= 0 || (size_t) n >= size) {
        return -1;
    }

    *s = buf;
    *len = n;

    return 0;
}


int
ngx_http_crmsync_json_string(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *obj, const char *key)
{
    ngx_http_crmsync_json_t  *v;

    dst->len = 0;
    dst->data = NULL;

    v = ngx_http_crmsync_json_is_object(obj)
        ? ngx_http_crmsync_json_get(obj, key) : NULL;

    if (v == NULL || ngx_http_crmsync_json_is_null(v)) {
        return NGX_HTTP_CRMSYNC_JSON_ABSENT;
    }

    if (!ngx_http_crmsync_json_is_string(v)) {
        return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    if (ngx_http_crmsync_json_str_len(v) == 0) {
        return NGX_HTTP_CRMSYNC_JSON_ABSENT;
    }

    /*
     * the reader's strings are unescaped copies in this same arena and
     * live as long as the events: no second copy (adapters never write
     * into a string they got here)
     */

    (void) a;

    dst->data = (u_char *) ngx_http_crmsync_json_str(v);
    dst->len = ngx_http_crmsync_json_str_len(v);

    return NGX_HTTP_CRMSYNC_JSON_OK;
}


int
ngx_http_crmsync_json_id(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *obj, const char *key)
{
    u_char                    buf[24], *p;
    int64_t                   n;
    uint64_t                  u;
    ngx_http_crmsync_json_t  *v;

    v = ngx_http_crmsync_json_is_object(obj)
        ? ngx_http_crmsync_json_get(obj, key) : NULL;

    if (!ngx_http_crmsync_json_is_integer(v)) {
        return ngx_http_crmsync_json_string(a, dst, obj, key);
    }

    dst->len = 0;
    dst->data = NULL;

    n = ngx_http_crmsync_json_int(v);

    /* digits from the end; the magnitude as unsigned (LLONG_MIN) */

    p = buf + sizeof(buf);
    u = (n < 0) ? 0 - (uint64_t) n : (uint64_t) n;

    do {
        *--p = (u_char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    if (ngx_http_crmsync_arena_copy(a, dst, p, buf + sizeof(buf) - p) != 0) {
        return NGX_HTTP_CRMSYNC_JSON_NOMEM;
    }

    return NGX_HTTP_CRMSYNC_JSON_OK;
}


int
ngx_http_crmsync_json_time(int64_t *ms, ngx_http_crmsync_json_t *obj,
    const char *key, int64_t unit_ms)
{
    size_t                    i, len;
    int64_t                   n;
    const u_char             *s;
    ngx_http_crmsync_json_t  *v;

    v = ngx_http_crmsync_json_is_object(obj)
        ? ngx_http_crmsync_json_get(obj, key) : NULL;

    if (v == NULL || ngx_http_crmsync_json_is_null(v)) {
        return NGX_HTTP_CRMSYNC_JSON_ABSENT;
    }

    if (unit_ms <= 0) {
        unit_ms = 1;
    }

    if (ngx_http_crmsync_json_is_integer(v)) {
        n = ngx_http_crmsync_json_int(v);

    } else if (ngx_http_crmsync_json_is_string(v)) {
        s = (const u_char *) ngx_http_crmsync_json_str(v);
        len = ngx_http_crmsync_json_str_len(v);

        if (len == 0) {
            return NGX_HTTP_CRMSYNC_JSON_ABSENT;
        }

        if (len > 18) {
            return ngx_http_crmsync_iso8601_ms(s, len, ms) == 0
                   ? NGX_HTTP_CRMSYNC_JSON_OK : NGX_HTTP_CRMSYNC_JSON_BADTYPE;
        }

        n = 0;

        for (i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9') {
                return ngx_http_crmsync_iso8601_ms(s, len, ms) == 0
                       ? NGX_HTTP_CRMSYNC_JSON_OK
                       : NGX_HTTP_CRMSYNC_JSON_BADTYPE;
            }

            n = n * 10 + (s[i] - '0');
        }

    } else {
        return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    if (n < 0 || n > NGX_HTTP_CRMSYNC_MAX_MS / unit_ms) {
        return NGX_HTTP_CRMSYNC_JSON_BADTYPE;
    }

    *ms = n * unit_ms;

    return NGX_HTTP_CRMSYNC_JSON_OK;
}


static int
ngx_http_crmsync_digits(const u_char *s, size_t n)
{
    int  v;

    v = 0;

    while (n--) {
        if (*s < '0' || *s > '9') {
            return -1;
        }

        v = v * 10 + (*s++ - '0');
    }

    return v;
}


int
ngx_http_crmsync_iso8601_ms(const u_char *s, size_t len, int64_t *ms)
{
    int      year, mon, mday, hour, min, sec, frac, scale, sign, off;
    size_t   i;
    int64_t  y, m, era, yoe, doy, doe, days, t;

    /* YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM) */

    if (len < 20 || len > 40) {
        return -1;
    }

    year = ngx_http_crmsync_digits(s, 4);
    mon = ngx_http_crmsync_digits(s + 5, 2);
    mday = ngx_http_crmsync_digits(s + 8, 2);
    hour = ngx_http_crmsync_digits(s + 11, 2);
    min = ngx_http_crmsync_digits(s + 14, 2);
    sec = ngx_http_crmsync_digits(s + 17, 2);

    if (year < 1970 || mon < 1 || mon > 12 || mday < 1 || mday > 31
        || hour < 0 || hour > 23 || min < 0 || min > 59
        || sec < 0 || sec > 60
        || s[4] != '-' || s[7] != '-'
        || (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        || s[13] != ':' || s[16] != ':')
    {
        return -1;
    }

    i = 19;
    frac = 0;

    if (s[i] == '.' || s[i] == ',') {
        i++;
        scale = 100;

        if (i == len || s[i] < '0' || s[i] > '9') {
            return -1;
        }

        while (i < len && s[i] >= '0' && s[i] <= '9') {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
    }

    if (i == len) {
        return -1;
    }

    off = 0;

    if (s[i] == 'Z' || s[i] == 'z') {
        i++;

    } else if (s[i] == '+' || s[i] == '-') {
        sign = (s[i] == '-') ? -1 : 1;

        if (len - i != 6 || s[i + 3] != ':') {
            return -1;
        }

        off = ngx_http_crmsync_digits(s + i + 1, 2);
        t = ngx_http_crmsync_digits(s + i + 4, 2);

        if (off < 0 || off > 23 || t < 0 || t > 59) {
            return -1;
        }

        off = sign * (off * 60 + (int) t);
        i += 6;

    } else {
        return -1;
    }

    if (i != len) {
        return -1;
    }

    /* days from civil (Howard Hinnant's algorithm) */

    y = year - (mon <= 2);
    m = mon;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + mday - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;

    t = ((days * 24 + hour) * 60 + min - off) * 60 + sec;

    if (t < 0) {
        return -1;
    }

    *ms = t * 1000 + frac;

    return 0;
}


/*
 * Copyright (C) crmsync authors
 *
 * A strict JSON reader (RFC 8259) for the webhook path: one pass over the
 * body, every node and every (unescaped, NUL-terminated) string laid out
 * in the request's arena, no malloc, no free.  jansson builds a heap tree
 * at some 30 us for a 1 KB delivery, the whole budget of a webhook; this
 * reader does it in a few.
 *
 * It refuses what jansson refuses by default: invalid UTF-8, control
 * characters in strings, lone surrogates, "\u0000", integers beyond 64
 * bits, reals that overflow, trailing bytes, and nesting deeper than
 * NGX_HTTP_CRMSYNC_JSON_MAX_DEPTH (jansson: 2048).  Unlike jansson it also
 * refuses a NUL byte after the value, where jansson stops reading.  A
 * repeated member name keeps the last value, as jansson does.
 *
 * The adapters read it under its own names (ngx_http_crmsync_json_*),
 * never jansson's: jansson itself stays for the HubSpot client, where its
 * speed does not matter, and a file may include both <jansson.h> and this
 * header.
 */


#ifndef _NGX_HTTP_CRMSYNC_JSON_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_JSON_H_INCLUDED_


#include "ngx_http_crmsync_event.h"


#define NGX_HTTP_CRMSYNC_JSON_MAX_DEPTH  256


typedef enum {
    NGX_HTTP_CRMSYNC_JSON_OBJECT = 0,
    NGX_HTTP_CRMSYNC_JSON_ARRAY,
    NGX_HTTP_CRMSYNC_JSON_STRING,
    NGX_HTTP_CRMSYNC_JSON_INTEGER,
    NGX_HTTP_CRMSYNC_JSON_REAL,
    NGX_HTTP_CRMSYNC_JSON_TRUE,
    NGX_HTTP_CRMSYNC_JSON_FALSE,
    NGX_HTTP_CRMSYNC_JSON_NULL
} ngx_http_crmsync_json_type_e;


typedef struct ngx_http_crmsync_json_s  ngx_http_crmsync_json_t;

struct ngx_http_crmsync_json_s {
    ngx_http_crmsync_json_t       *next;     /* next member of an object */
    ngx_http_crmsync_json_t      **items;    /* array elements, or object
                                                members, in order */
    const char                    *key;      /* member name */
    size_t                         klen;
    const char                    *str;      /* string value */
    size_t                         len;      /* string length in bytes;
                                                elements or members */
    union {
        int64_t                    i;
        double                     d;
    } num;
    ngx_http_crmsync_json_type_e   type;
};


typedef enum {
    NGX_HTTP_CRMSYNC_JSON_DONE = 0,
    NGX_HTTP_CRMSYNC_JSON_SYNTAX,       /* not JSON: 400 */
    NGX_HTTP_CRMSYNC_JSON_DEEP,         /* nested too deep: 400 */
    NGX_HTTP_CRMSYNC_JSON_FULL          /* the arena ran out */
} ngx_http_crmsync_json_rc_e;


/* the root value, or NULL with *rc set */
ngx_http_crmsync_json_t *ngx_http_crmsync_json_parse(
    ngx_http_crmsync_arena_t *a, const u_char *p, size_t len,
    ngx_http_crmsync_json_rc_e *rc);

/* arena bytes a body of len bytes may need at most */
size_t ngx_http_crmsync_json_bound(size_t len);

ngx_http_crmsync_json_t *ngx_http_crmsync_json_get(
    const ngx_http_crmsync_json_t *obj, const char *key);
ngx_http_crmsync_json_t *ngx_http_crmsync_json_at(
    const ngx_http_crmsync_json_t *arr, size_t i);
int ngx_http_crmsync_json_equal(const ngx_http_crmsync_json_t *a,
    const ngx_http_crmsync_json_t *b);


static inline int
ngx_http_crmsync_json_is(const ngx_http_crmsync_json_t *j,
    ngx_http_crmsync_json_type_e t)
{
    return j != NULL && j->type == t;
}


static inline size_t
ngx_http_crmsync_json_size(const ngx_http_crmsync_json_t *j,
    ngx_http_crmsync_json_type_e t)
{
    return ngx_http_crmsync_json_is(j, t) ? j->len : 0;
}


static inline const char *
ngx_http_crmsync_json_str(const ngx_http_crmsync_json_t *j)
{
    return ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_STRING)
           ? j->str : NULL;
}


static inline int64_t
ngx_http_crmsync_json_int(const ngx_http_crmsync_json_t *j)
{
    return ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_INTEGER)
           ? j->num.i : 0;
}


static inline double
ngx_http_crmsync_json_real(const ngx_http_crmsync_json_t *j)
{
    return ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_REAL)
           ? j->num.d : 0.0;
}


/*
 * JSON member helpers.  obj may be NULL or not an object: the member is
 * absent then.  A null member and "" count as absent (dst emptied).
 */
#define NGX_HTTP_CRMSYNC_JSON_OK        0
#define NGX_HTTP_CRMSYNC_JSON_ABSENT    1
#define NGX_HTTP_CRMSYNC_JSON_BADTYPE  -1
#define NGX_HTTP_CRMSYNC_JSON_NOMEM    -2

/* a string member, not copied: OK, ABSENT (missing, null, "") or BADTYPE */
int ngx_http_crmsync_json_raw(ngx_http_crmsync_json_t *obj, const char *key,
    const u_char **s, size_t *len);

/* an object member: OK, ABSENT (missing or null; *v NULL) or BADTYPE */
int ngx_http_crmsync_json_object(ngx_http_crmsync_json_t *obj,
    const char *key, ngx_http_crmsync_json_t **v);

/*
 * a scalar as text, for custom attributes: a string as it is, a number or
 * a boolean written into buf; 0, or -1 for null, "", objects and arrays
 */
int ngx_http_crmsync_json_text(ngx_http_crmsync_json_t *v, u_char *buf,
    size_t size, const u_char **s, size_t *len);

/*
 * a string member: dst points at the reader's unescaped copy, which lives
 * in the same arena as the events (a is kept for callers' symmetry with
 * json_id, which writes an integer's digits there)
 */
int ngx_http_crmsync_json_string(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *obj, const char *key);

/* an id: a string, or an integer written in decimal */
int ngx_http_crmsync_json_id(ngx_http_crmsync_arena_t *a,
    ngx_http_crmsync_str_t *dst, ngx_http_crmsync_json_t *obj, const char *key);

/*
 * a time: an integer or a decimal string in units of unit_ms
 * milliseconds (1000 for Unix seconds, 1 for ms), or an ISO 8601 / RFC
 * 3339 string; *ms is set on OK only; out of range is BADTYPE
 */
int ngx_http_crmsync_json_time(int64_t *ms, ngx_http_crmsync_json_t *obj,
    const char *key, int64_t unit_ms);

/* "2022-11-03T20:26:10.344522Z", "...+02:00": 0 and *ms set, or -1 */
int ngx_http_crmsync_iso8601_ms(const u_char *s, size_t len, int64_t *ms);


/* typed tests and sizes: NULL is of no type, and of size 0 */

#define ngx_http_crmsync_json_is_object(j)                                    \
    ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_OBJECT)
#define ngx_http_crmsync_json_is_array(j)                                     \
    ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_ARRAY)
#define ngx_http_crmsync_json_is_string(j)                                    \
    ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_STRING)
#define ngx_http_crmsync_json_is_integer(j)                                   \
    ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_INTEGER)
#define ngx_http_crmsync_json_is_real(j)                                      \
    ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_REAL)
#define ngx_http_crmsync_json_is_true(j)                                      \
    ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_TRUE)
#define ngx_http_crmsync_json_is_false(j)                                     \
    ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_FALSE)
#define ngx_http_crmsync_json_is_null(j)                                      \
    ngx_http_crmsync_json_is(j, NGX_HTTP_CRMSYNC_JSON_NULL)
#define ngx_http_crmsync_json_is_boolean(j)                                   \
    (ngx_http_crmsync_json_is_true(j) || ngx_http_crmsync_json_is_false(j))

#define ngx_http_crmsync_json_object_size(j)                                  \
    ngx_http_crmsync_json_size(j, NGX_HTTP_CRMSYNC_JSON_OBJECT)
#define ngx_http_crmsync_json_array_size(j)                                   \
    ngx_http_crmsync_json_size(j, NGX_HTTP_CRMSYNC_JSON_ARRAY)
#define ngx_http_crmsync_json_str_len(j)                                      \
    ngx_http_crmsync_json_size(j, NGX_HTTP_CRMSYNC_JSON_STRING)

/* members in order; a repeated name shows each time, get() the last */
#define ngx_http_crmsync_json_foreach(obj, k, v)                              \
    for (v = ngx_http_crmsync_json_is_object(obj) && (obj)->len               \
             ? (obj)->items[0] : NULL,                                        \
         k = v ? v->key : NULL;                                               \
         v != NULL;                                                           \
         v = v->next, k = v ? v->key : NULL)


#endif /* _NGX_HTTP_CRMSYNC_JSON_H_INCLUDED_ */


/*
 * Copyright (C) crmsync authors
 *
 * Types shared by the pure parts of crmsync (verify, provider adapters,
 * event model, phone).  Pure parts include no nginx header: they take
 * plain buffers and return plain structs, so that unit tests and fuzzers
 * call them without nginx.
 */


#ifndef _NGX_HTTP_CRMSYNC_TYPES_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_TYPES_H_INCLUDED_


#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>


/* the same layout as ngx_str_t, so that the glue may pass either */
typedef struct {
    size_t                      len;
    u_char                     *data;
} ngx_http_crmsync_str_t;


#define ngx_http_crmsync_string(s)  { sizeof(s) - 1, (u_char *) s }
#define ngx_http_crmsync_null_string  { 0, NULL }

#define ngx_http_crmsync_space(c)                                            \
    ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n'                 \
     || (c) == '\f' || (c) == '\v')


/* one request header, name and value as received */
typedef struct {
    ngx_http_crmsync_str_t      name;
    ngx_http_crmsync_str_t      value;
} ngx_http_crmsync_header_t;


typedef enum {
    NGX_HTTP_CRMSYNC_PROVIDER_NONE = 0,
    NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP,
    NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER,
    NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM,
    NGX_HTTP_CRMSYNC_PROVIDER_INTERCOM,
    NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM,
    NGX_HTTP_CRMSYNC_PROVIDER_TWILIO,
    NGX_HTTP_CRMSYNC_PROVIDER_RESPONDIO,
    NGX_HTTP_CRMSYNC_PROVIDER_STANDARD,
    NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT,
    NGX_HTTP_CRMSYNC_PROVIDER_MAX
} ngx_http_crmsync_provider_e;


/*
 * provider names as users write them in "crmsync_webhook <name>;",
 * indexed by ngx_http_crmsync_provider_e; [0] is NULL
 */
extern const char  *ngx_http_crmsync_provider_names[];

ngx_http_crmsync_provider_e ngx_http_crmsync_provider_by_name(
    const u_char *name, size_t len);


#endif /* _NGX_HTTP_CRMSYNC_TYPES_H_INCLUDED_ */


/*
 * Copyright (C) crmsync authors
 *
 * Phone numbers to E.164: a table-driven C implementation of
 * libphonenumber(-js) parsing and validity checking.
 *
 * Pure C: no nginx headers; only libc and pcre2.
 */


#ifndef _NGX_HTTP_CRMSYNC_PHONE_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_PHONE_H_INCLUDED_


#include <stddef.h>


#define NGX_HTTP_CRMSYNC_PHONE_E164_LEN  16   /* '+' and up to 15 digits */
#define NGX_HTTP_CRMSYNC_PHONE_EXT_LEN   15


typedef struct {
    /* "+14155550123" or "" */
    char      e164[NGX_HTTP_CRMSYNC_PHONE_E164_LEN + 1];
    /* other form (BR ninth digit) or "" */
    char      alt_e164[NGX_HTTP_CRMSYNC_PHONE_E164_LEN + 1];
    /* extension digits or "" */
    char      ext[NGX_HTTP_CRMSYNC_PHONE_EXT_LEN + 1];
    /* region the number belongs to, "" if unknown */
    char      region[3];
    /* libphonenumber isValid() */
    unsigned  valid:1;
} ngx_http_crmsync_phone_t;


/* compile regexes once; 0 ok, -1 error; idempotent */
int ngx_http_crmsync_phone_init(void);
void ngx_http_crmsync_phone_cleanup(void);

/* for config checks: "US", "de" ... ; 1 if known, 0 if not */
int ngx_http_crmsync_phone_region_known(const char *region, size_t len);

/*
 * returns 0 when parsing produced an E.164 (valid or not), -1 when not a
 * number; default_region may be NULL, "" or "ZZ" (unknown)
 */
int ngx_http_crmsync_phone_parse(const unsigned char *s, size_t len,
    const char *default_region, ngx_http_crmsync_phone_t *out);

/* WhatsApp ids / "whatsapp:+..." : no default region, MX 521 rule, BR ninth
 * digit alt */
int ngx_http_crmsync_phone_parse_whatsapp(const unsigned char *s, size_t len,
    ngx_http_crmsync_phone_t *out);

/* bytes of compiled tables and regexes (for the bench) */
size_t ngx_http_crmsync_phone_memory(void);


#endif /* _NGX_HTTP_CRMSYNC_PHONE_H_INCLUDED_ */

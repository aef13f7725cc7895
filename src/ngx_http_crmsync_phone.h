
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


/*
 * '+' and up to 20 digits: a valid number has at most 15, but
 * libphonenumber-js formats any parsed number of up to 3 calling code
 * digits and 17 national digits, and the E.164 column shows it
 */
#define NGX_HTTP_CRMSYNC_PHONE_E164_LEN  21
#define NGX_HTTP_CRMSYNC_PHONE_EXT_LEN   20


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
 * number; default_region: "US", "de"...; NULL, "", "ZZ" or any region not
 * in the metadata mean none, as in libphonenumber-js's
 * parsePhoneNumberFromString()
 */
int ngx_http_crmsync_phone_parse(const unsigned char *s, size_t len,
    const char *default_region, ngx_http_crmsync_phone_t *out);

/*
 * WhatsApp ids / "whatsapp:+..." : no default region, MX 521 rule, BR ninth
 * digit alt
 */
int ngx_http_crmsync_phone_parse_whatsapp(const unsigned char *s, size_t len,
    ngx_http_crmsync_phone_t *out);

/* bytes of compiled tables and regexes (for the bench) */
size_t ngx_http_crmsync_phone_memory(void);


/* internal: generated metadata tables (ngx_http_crmsync_phone_data.c) */

#define NGX_HTTP_CRMSYNC_PHONE_NTYPES  10

typedef struct {
    const char   *pattern;      /* full-match regex, NULL if absent */
    unsigned int  lengths;      /* bit n: length n possible; 0: general */
} ngx_http_crmsync_phone_type_t;

typedef struct {
    char                           id[3];   /* "US"; "" non-geographic */
    unsigned short                 cc;
    const char                    *idd;     /* international prefix */
    const char                    *general;
    unsigned int                   lengths;
    const char                    *national_prefix;
    const char                    *prefix_for_parsing;
    const char                    *transform;
    const char                    *leading_digits;
    ngx_http_crmsync_phone_type_t  types[NGX_HTTP_CRMSYNC_PHONE_NTYPES];
} ngx_http_crmsync_phone_territory_t;

typedef struct {
    unsigned short                 cc;
    unsigned short                 first;   /* in the region list */
    unsigned short                 n;
} ngx_http_crmsync_phone_cc_t;

extern const ngx_http_crmsync_phone_territory_t
    ngx_http_crmsync_phone_territories[];
extern const unsigned int  ngx_http_crmsync_phone_nterritories;
extern const ngx_http_crmsync_phone_cc_t  ngx_http_crmsync_phone_ccs[];
extern const unsigned int  ngx_http_crmsync_phone_nccs;
/* territory indexes, main region first, per calling code */
extern const unsigned short  ngx_http_crmsync_phone_cc_list[];
extern const char  ngx_http_crmsync_phone_metadata_version[];


#endif /* _NGX_HTTP_CRMSYNC_PHONE_H_INCLUDED_ */

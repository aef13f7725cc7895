
/*
 * Copyright (C) crmsync authors
 *
 * TEMPORARY, for the m-cache branch alone: stand-ins for functions that
 * other branches implement (match.c: the phone helpers; store.c: the
 * identity map), so that crmsync_lookup links and runs before they are
 * merged.  Weak symbols: the real definitions win.  Delete this file at
 * the merge.
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_http_crmsync_phone.h"
#include "ngx_http_crmsync_match.h"
#include "ngx_http_crmsync_store.h"


__attribute__((weak)) int
ngx_http_crmsync_phone_national(const char *e164, char *buf, size_t size)
{
    int                       cc;
    size_t                    k, len;
    unsigned int              i;
    const char               *p;
    ngx_http_crmsync_phone_t  ph;

    if (e164 == NULL || e164[0] != '+'
        || ngx_http_crmsync_phone_parse((const unsigned char *) e164,
                                        strlen(e164), NULL, &ph) != 0
        || ph.e164[0] == '\0')
    {
        return -1;
    }

    for (k = 1; k <= 3; k++) {
        cc = 0;

        for (i = 0; i < k; i++) {
            if (ph.e164[1 + i] < '0' || ph.e164[1 + i] > '9') {
                return -1;
            }

            cc = cc * 10 + (ph.e164[1 + i] - '0');
        }

        for (i = 0; i < ngx_http_crmsync_phone_nccs; i++) {
            if (ngx_http_crmsync_phone_ccs[i].cc == cc) {
                goto found;
            }
        }
    }

    return -1;

found:

    for (p = ph.e164 + 1 + k; *p == '0'; p++) {
        /* void */
    }

    len = strlen(p);

    if (len == 0 || len + 1 > size) {
        return -1;
    }

    memcpy(buf, p, len + 1);

    return 0;
}


__attribute__((weak)) int
ngx_http_crmsync_phone_same(const char *e164, const u_char *stored,
    size_t len, const char *region)
{
    char                      def[3];
    ngx_http_crmsync_phone_t  ph;

    if (region != NULL && strlen(region) == 2) {
        memcpy(def, region, 3);

    } else {
        if (ngx_http_crmsync_phone_parse((const unsigned char *) e164,
                                         strlen(e164), NULL, &ph) != 0)
        {
            return 0;
        }

        memcpy(def, ph.region, 3);
    }

    if (stored == NULL || len == 0
        || ngx_http_crmsync_phone_parse(stored, len, def, &ph) != 0)
    {
        return 0;
    }

    return (ph.e164[0] && strcmp(ph.e164, e164) == 0)
           || (ph.alt_e164[0] && strcmp(ph.alt_e164, e164) == 0);
}


__attribute__((weak)) ngx_http_crmsync_store_rc_e
ngx_http_crmsync_store_id_get(ngx_http_crmsync_store_t *st,
    ngx_http_crmsync_str_t *portal, const char *kind,
    ngx_http_crmsync_str_t *value, char *contact, size_t size)
{
    (void) st;
    (void) portal;
    (void) kind;
    (void) value;

    if (size) {
        contact[0] = '\0';
    }

    return NGX_HTTP_CRMSYNC_STORE_OK;
}

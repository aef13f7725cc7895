
/*
 * Copyright (C) crmsync authors
 *
 * libFuzzer target for the phone parser: the first byte picks the default
 * region (or none), the rest is the raw number; both entry points run.
 */


#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "ngx_http_crmsync_phone.h"


static const char  *ngx_http_crmsync_phone_fuzz_regions[] = {
    NULL, "US", "GB", "DE", "IT", "AR", "BR", "MX", "RU", "FR", "IN", "CN",
    "JP", "AU", "KR", "CO", "ID", "ZZ", "GG", "VA", "KZ", "ES", "NG", "XX"
};


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                    nregions, i;
    const char               *region;
    ngx_http_crmsync_phone_t  ph;

    if (ngx_http_crmsync_phone_init() != 0) {
        __builtin_trap();
    }

    if (size == 0) {
        return 0;
    }

    nregions = sizeof(ngx_http_crmsync_phone_fuzz_regions)
               / sizeof(ngx_http_crmsync_phone_fuzz_regions[0]);
    region = ngx_http_crmsync_phone_fuzz_regions[data[0] % nregions];

    if (ngx_http_crmsync_phone_parse(data + 1, size - 1, region, &ph) == 0) {
        /* the output is always a terminated "+digits" string */
        if (ph.e164[0] != '+' || strlen(ph.e164) < 3) {
            __builtin_trap();
        }

        for (i = 1; ph.e164[i]; i++) {
            if (ph.e164[i] < '0' || ph.e164[i] > '9') {
                __builtin_trap();
            }
        }
    }

    (void) ngx_http_crmsync_phone_parse_whatsapp(data + 1, size - 1, &ph);

    return 0;
}

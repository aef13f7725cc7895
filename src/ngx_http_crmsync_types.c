
/*
 * Copyright (C) crmsync authors
 */


#include <string.h>
#include <strings.h>

#include "ngx_http_crmsync_types.h"


const char  *ngx_http_crmsync_provider_names[] = {
    NULL,
    "whatsapp",
    "messenger",
    "instagram",
    "intercom",
    "telegram",
    "twilio",
    "respondio",
    "standard",
    "hubspot",
    NULL
};


ngx_http_crmsync_provider_e
ngx_http_crmsync_provider_by_name(const u_char *name, size_t len)
{
    size_t  i;

    for (i = 1; i < NGX_HTTP_CRMSYNC_PROVIDER_MAX; i++) {
        if (strlen(ngx_http_crmsync_provider_names[i]) == len
            && strncmp(ngx_http_crmsync_provider_names[i], (const char *) name,
                       len)
               == 0)
        {
            return (ngx_http_crmsync_provider_e) i;
        }
    }

    return NGX_HTTP_CRMSYNC_PROVIDER_NONE;
}

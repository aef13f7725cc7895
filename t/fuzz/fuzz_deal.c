
/*
 * Copyright (C) crmsync authors
 *
 * Fuzzing of the readers of HubSpot's pipelines and owners answers.  The
 * input is an answer, read as both; a 0xff byte splits off a name that
 * is looked up as a pipeline, a stage of each pipeline and an owner.
 * Whatever comes in, every name is NUL-terminated, each pipeline's stages
 * are in displayOrder, and the lists of valid names fit their buffer.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_crmsync_deal.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                          *name, after[64], buf[128];
    size_t                         i, j, len;
    const uint8_t                 *sep;
    ngx_http_crmsync_owners_t      o;
    ngx_http_crmsync_pipeline_t   *pl;
    ngx_http_crmsync_pipelines_t  *p;

    sep = memchr(data, 0xff, size);
    len = sep ? (size_t) (sep - data) : size;

    name = malloc(size - len + 1);
    if (name == NULL) {
        return 0;
    }

    if (sep) {
        memcpy(name, sep + 1, size - len - 1);
        name[size - len - 1] = '\0';

    } else {
        name[0] = '\0';
    }

    p = ngx_http_crmsync_pipelines_parse(data, len);

    if (p) {
        for (i = 0; i < p->n; i++) {
            pl = &p->list[i];

            if (memchr(pl->id, '\0', strlen(pl->id) + 1) == NULL
                || pl->label == NULL)
            {
                abort();
            }

            for (j = 1; j < pl->nstages; j++) {
                if (pl->stages[j].order < pl->stages[j - 1].order) {
                    abort();
                }
            }

            (void) ngx_http_crmsync_stage_find(pl, name);

            if (strlen(ngx_http_crmsync_stages_names(pl, buf, sizeof(buf)))
                >= sizeof(buf))
            {
                abort();
            }
        }

        (void) ngx_http_crmsync_pipeline_find(p, name);

        if (strlen(ngx_http_crmsync_pipelines_names(p, buf, sizeof(buf)))
            >= sizeof(buf))
        {
            abort();
        }

        ngx_http_crmsync_pipelines_free(p);
    }

    memset(&o, 0, sizeof(o));

    if (ngx_http_crmsync_owners_add(&o, data, len, after, sizeof(after))
        == 0)
    {
        if (strlen(after) >= sizeof(after)) {
            abort();
        }

        (void) ngx_http_crmsync_owners_find(&o, name);
    }

    ngx_http_crmsync_owners_clear(&o);

    (void) ngx_http_crmsync_lifecycle_forward(name, name + (name[0] != 0));

    free(name);

    return 0;
}

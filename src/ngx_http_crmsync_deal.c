
/*
 * Copyright (C) crmsync authors
 *
 * Deals and owners: pipelines, owners and lifecycle order (see
 * ngx_http_crmsync_deal.h).
 */


#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <jansson.h>

#include "ngx_http_crmsync_deal.h"


static const char  *d_lifecycle[] = {
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
    "opportunity", "customer", "evangelist", NULL
};


static char *
d_strdup(const char *s)
{
    size_t   len;
    char    *p;

    len = strlen(s);

    p = malloc(len + 1);
    if (p == NULL) {
        return NULL;
    }

    memcpy(p, s, len + 1);

    return p;
}


/* an id HubSpot may give as a string or a number; NULL otherwise */

static char *
d_id(json_t *v)
{
    char  buf[32];

    if (json_is_string(v) && json_string_length(v)
        && strlen(json_string_value(v)) == json_string_length(v))
    {
        return d_strdup(json_string_value(v));
    }

    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld",
                 (long long) json_integer_value(v));
        return d_strdup(buf);
    }

    return NULL;
}


static int
d_archived(json_t *o)
{
    json_t  *v;

    v = json_object_get(o, "archived");

    return json_is_true(v)
           || (json_is_string(v) && strcmp(json_string_value(v), "true") == 0);
}


static long
d_order(json_t *v)
{
    if (json_is_integer(v)) {
        return (long) json_integer_value(v);
    }

    if (json_is_real(v)) {
        return (long) json_real_value(v);
    }

    if (json_is_string(v)) {
        return strtol(json_string_value(v), NULL, 10);
    }

    return 0;
}


static int
d_stage_cmp(const void *one, const void *two)
{
    const ngx_http_crmsync_stage_t  *a = one, *b = two;

    return (a->order > b->order) - (a->order < b->order);
}


static int
d_pipeline(ngx_http_crmsync_pipeline_t *pl, json_t *o)
{
    size_t                     i, n;
    json_t                    *stages, *s, *v;
    ngx_http_crmsync_stage_t  *st;

    pl->id = d_id(json_object_get(o, "id"));
    if (pl->id == NULL) {
        return -1;
    }

    v = json_object_get(o, "label");
    pl->label = d_strdup(json_is_string(v) ? json_string_value(v) : pl->id);
    if (pl->label == NULL) {
        return -1;
    }

    stages = json_object_get(o, "stages");
    if (!json_is_array(stages)) {
        return -1;
    }

    n = json_array_size(stages);
    if (n == 0) {
        return 0;
    }

    pl->stages = calloc(n, sizeof(ngx_http_crmsync_stage_t));
    if (pl->stages == NULL) {
        return -1;
    }

    json_array_foreach(stages, i, s) {
        if (!json_is_object(s)) {
            return -1;
        }

        if (d_archived(s)) {
            continue;
        }

        st = &pl->stages[pl->nstages];

        st->id = d_id(json_object_get(s, "id"));
        if (st->id == NULL) {
            return -1;
        }

        pl->nstages++;

        v = json_object_get(s, "label");
        st->label = d_strdup(json_is_string(v) ? json_string_value(v)
                                               : st->id);
        if (st->label == NULL) {
            return -1;
        }

        st->order = d_order(json_object_get(s, "displayOrder"));

        v = json_object_get(json_object_get(s, "metadata"), "isClosed");
        st->closed = json_is_true(v)
                     || (json_is_string(v)
                         && strcasecmp(json_string_value(v), "true") == 0);
    }

    /* stable enough: HubSpot's displayOrder values are distinct */
    qsort(pl->stages, pl->nstages, sizeof(ngx_http_crmsync_stage_t),
          d_stage_cmp);

    return 0;
}


ngx_http_crmsync_pipelines_t *
ngx_http_crmsync_pipelines_parse(const u_char *answer, size_t len)
{
    size_t                         i, n;
    json_t                        *doc, *results, *o;
    ngx_http_crmsync_pipelines_t  *p;

    if (answer == NULL) {
        return NULL;
    }

    doc = json_loadb((const char *) answer, len, 0, NULL);
    if (doc == NULL) {
        return NULL;
    }

    p = NULL;

    results = json_object_get(doc, "results");
    if (!json_is_array(results)) {
        goto failed;
    }

    p = calloc(1, sizeof(ngx_http_crmsync_pipelines_t));
    if (p == NULL) {
        goto failed;
    }

    p->refs = 1;

    n = json_array_size(results);

    if (n) {
        p->list = calloc(n, sizeof(ngx_http_crmsync_pipeline_t));
        if (p->list == NULL) {
            goto failed;
        }
    }

    json_array_foreach(results, i, o) {
        if (!json_is_object(o)) {
            goto failed;
        }

        if (d_archived(o)) {
            continue;
        }

        p->n++;

        if (d_pipeline(&p->list[p->n - 1], o) != 0) {
            goto failed;
        }
    }

    json_decref(doc);

    return p;

failed:

    json_decref(doc);
    ngx_http_crmsync_pipelines_free(p);

    return NULL;
}


void
ngx_http_crmsync_pipelines_free(ngx_http_crmsync_pipelines_t *p)
{
    size_t                        i, j;
    ngx_http_crmsync_pipeline_t  *pl;

    if (p == NULL) {
        return;
    }

    for (i = 0; i < p->n; i++) {
        pl = &p->list[i];

        for (j = 0; j < pl->nstages; j++) {
            free(pl->stages[j].id);
            free(pl->stages[j].label);
        }

        free(pl->stages);
        free(pl->id);
        free(pl->label);
    }

    free(p->list);
    free(p);
}


ngx_http_crmsync_pipeline_t *
ngx_http_crmsync_pipeline_find(ngx_http_crmsync_pipelines_t *p,
    const char *name)
{
    size_t  i;

    for (i = 0; i < p->n; i++) {
        if (strcmp(p->list[i].id, name) == 0) {
            return &p->list[i];
        }
    }

    for (i = 0; i < p->n; i++) {
        if (strcmp(p->list[i].label, name) == 0) {
            return &p->list[i];
        }
    }

    for (i = 0; i < p->n; i++) {
        if (strcasecmp(p->list[i].label, name) == 0) {
            return &p->list[i];
        }
    }

    return NULL;
}


ngx_http_crmsync_stage_t *
ngx_http_crmsync_stage_by_id(ngx_http_crmsync_pipeline_t *pl,
    const char *id)
{
    size_t  i;

    for (i = 0; i < pl->nstages; i++) {
        if (strcmp(pl->stages[i].id, id) == 0) {
            return &pl->stages[i];
        }
    }

    return NULL;
}


ngx_http_crmsync_stage_t *
ngx_http_crmsync_stage_find(ngx_http_crmsync_pipeline_t *pl,
    const char *name)
{
    size_t                     i;
    ngx_http_crmsync_stage_t  *st;

    st = ngx_http_crmsync_stage_by_id(pl, name);
    if (st) {
        return st;
    }

    for (i = 0; i < pl->nstages; i++) {
        if (strcmp(pl->stages[i].label, name) == 0) {
            return &pl->stages[i];
        }
    }

    for (i = 0; i < pl->nstages; i++) {
        if (strcasecmp(pl->stages[i].label, name) == 0) {
            return &pl->stages[i];
        }
    }

    return NULL;
}


/* appends "\"label\" (id)" to buf, or ", ..." where it would not fit */

static int
d_name(char *buf, size_t size, size_t *len, const char *label,
    const char *id)
{
    int          n;
    const char  *more;

    if (*len + 1 >= size) {
        return -1;
    }

    n = snprintf(buf + *len, size - *len, "%s\"%s\" (%s)",
                 *len ? ", " : "", label, id);

    if (n >= 0 && (size_t) n + sizeof(", ...") < size - *len) {
        *len += n;
        return 0;
    }

    more = *len ? ", ..." : "...";

    if (*len + strlen(more) < size) {
        strcpy(buf + *len, more);
        *len += strlen(more);

    } else {
        buf[*len] = '\0';
    }

    return -1;
}


char *
ngx_http_crmsync_pipelines_names(ngx_http_crmsync_pipelines_t *p, char *buf,
    size_t size)
{
    size_t  i, len;

    if (size == 0) {
        return buf;
    }

    len = 0;
    buf[0] = '\0';

    for (i = 0; i < p->n; i++) {
        if (d_name(buf, size, &len, p->list[i].label, p->list[i].id) != 0) {
            break;
        }
    }

    return buf;
}


char *
ngx_http_crmsync_stages_names(ngx_http_crmsync_pipeline_t *pl, char *buf,
    size_t size)
{
    size_t  i, len;

    if (size == 0) {
        return buf;
    }

    len = 0;
    buf[0] = '\0';

    for (i = 0; i < pl->nstages; i++) {
        if (d_name(buf, size, &len, pl->stages[i].label, pl->stages[i].id)
            != 0)
        {
            break;
        }
    }

    return buf;
}


int
ngx_http_crmsync_owners_add(ngx_http_crmsync_owners_t *o,
    const u_char *answer, size_t len, char *after, size_t size)
{
    char                      *p;
    size_t                     i, n, k;
    json_t                    *doc, *results, *r, *v;
    ngx_http_crmsync_owner_t  *list, *ow;

    if (answer == NULL || size == 0) {
        return -1;
    }

    doc = json_loadb((const char *) answer, len, 0, NULL);
    if (doc == NULL) {
        return -1;
    }

    results = json_object_get(doc, "results");
    if (!json_is_array(results)) {
        goto failed;
    }

    v = json_object_get(json_object_get(json_object_get(doc, "paging"),
                                        "next"), "after");

    if (json_is_string(v) && json_string_length(v)) {
        if (json_string_length(v) >= size
            || strlen(json_string_value(v)) != json_string_length(v))
        {
            goto failed;
        }

        strcpy(after, json_string_value(v));

    } else if (json_is_integer(v)) {
        if (snprintf(after, size, "%lld", (long long) json_integer_value(v))
            >= (int) size)
        {
            goto failed;
        }

    } else {
        after[0] = '\0';
    }

    n = json_array_size(results);

    if (o->n + n > o->size) {
        list = realloc(o->list, (o->n + n) * sizeof(ngx_http_crmsync_owner_t));
        if (list == NULL) {
            goto failed;
        }

        o->list = list;
        o->size = o->n + n;
    }

    json_array_foreach(results, i, r) {
        v = json_object_get(r, "email");

        if (!json_is_string(v) || json_string_length(v) == 0
            || strlen(json_string_value(v)) != json_string_length(v))
        {
            continue;       /* a queue, or an owner with no email */
        }

        if (d_archived(r)) {
            continue;
        }

        ow = &o->list[o->n];

        ow->id = d_id(json_object_get(r, "id"));
        if (ow->id == NULL) {
            continue;
        }

        ow->email = d_strdup(json_string_value(v));
        if (ow->email == NULL) {
            free(ow->id);
            goto failed;
        }

        for (p = ow->email, k = 0; p[k]; k++) {
            if (p[k] >= 'A' && p[k] <= 'Z') {
                p[k] = (char) (p[k] - 'A' + 'a');
            }
        }

        o->n++;
    }

    json_decref(doc);

    return 0;

failed:

    json_decref(doc);

    return -1;
}


const char *
ngx_http_crmsync_owners_find(ngx_http_crmsync_owners_t *o, const char *email)
{
    size_t  i;

    if (email == NULL || email[0] == '\0') {
        return NULL;
    }

    for (i = 0; i < o->n; i++) {
        if (strcasecmp(o->list[i].email, email) == 0) {
            return o->list[i].id;
        }
    }

    return NULL;
}


void
ngx_http_crmsync_owners_clear(ngx_http_crmsync_owners_t *o)
{
    size_t  i;

    for (i = 0; i < o->n; i++) {
        free(o->list[i].email);
        free(o->list[i].id);
    }

    free(o->list);

    o->list = NULL;
    o->n = 0;
    o->size = 0;
}


static int
d_lifecycle_rank(const char *stage)
{
    int  i;

    for (i = 0; d_lifecycle[i]; i++) {
        if (strcmp(d_lifecycle[i], stage) == 0) {
            return i;
        }
    }

    return -1;
}


int
ngx_http_crmsync_lifecycle_forward(const char *current, const char *stage)
{
    int  c, s;

    if (stage == NULL || stage[0] == '\0') {
        return 0;
    }

    if (current == NULL || current[0] == '\0') {
        return 1;
    }

    c = d_lifecycle_rank(current);
    s = d_lifecycle_rank(stage);

    return c >= 0 && s >= 0 && s > c;
}


/*
 * Copyright (C) crmsync authors
 *
 * Contact matching: the plan of one claimed batch (see the header and
 * "Deciding the contact" in doc/matching.md).  Pure: no nginx header;
 * jansson reads the payloads and builds and reads HubSpot's bodies.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "ngx_http_crmsync_types.h"
#include "ngx_http_crmsync_hubspot.h"
#include "ngx_http_crmsync_phone.h"
#include "ngx_http_crmsync_match.h"


/* hubspot.c fills a result the same way for both */
#define m_set  ngx_http_crmsync_hs_set


#define M_NONE       ((size_t) -1)
#define M_JOB_IDS    12         /* identifiers of one job */
#define M_CANDS      8          /* contacts one rule may find */
#define M_NCALLS     64
#define M_LOG_MAX    8192

#define M_PHONE_ALT  NGX_HTTP_CRMSYNC_ID_MAX


const char  *ngx_http_crmsync_id_kind_names[] = {
    "crm_id", "email", "phone", "whatsapp_id", "telegram_id",
    "telegram_username", "messenger_id", "instagram_id", "platform_id",
    NULL
};

const char  *ngx_http_crmsync_create_names[] = {
    "identified", "with_email", "always", "off", NULL
};


static const char  *m_stages[] = {
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
    "opportunity", "customer", "evangelist", NULL
};


typedef enum {
    M_READ_ID = 0,
    M_READ_EMAIL,
    M_READ_PROP,
    M_SEARCH,
    M_UPDATE,
    M_UPSERT,
    M_CREATE
} m_call_kind_e;


typedef struct {
    char                          known[32];    /* the map's contact */
    unsigned                      known_set:1;
    unsigned                      verified:1;   /* read by id */
    unsigned                      dead:1;       /* deleted in HubSpot */
    unsigned                      failed:1;     /* its read failed */
    unsigned                      asked:1;      /* in a read by id */
} m_ident_t;


typedef struct {
    json_t                       *doc;
    size_t                        person;
    size_t                        ids[M_JOB_IDS];
    size_t                        nids;
    unsigned                      bad:1;
    unsigned                      dry_run:1;
} m_job_t;


typedef struct {
    size_t                        n;
    size_t                        c[M_CANDS];   /* contact indexes */
} m_cands_t;


typedef enum {
    M_PENDING = 0,
    M_FAILED,
    M_EXISTING,
    M_NEW,
    M_FINAL
} m_state_e;


typedef struct {
    size_t                        first;        /* its first job */
    json_t                       *props;
    json_t                       *if_empty;
    json_t                       *idprops;
    int                           match[NGX_HTTP_CRMSYNC_ID_MAX];
    size_t                        nmatch;
    int                           create;
    json_t                       *lifecycle;
    size_t                       *ids;
    size_t                        nids;
    size_t                        email;        /* identity or M_NONE */
    size_t                        phone;
    m_state_e                     state;
    unsigned                      dry_run:1;
    unsigned                      read_email:1;
    unsigned                      searched:1;
    unsigned                      read_prop[NGX_HTTP_CRMSYNC_ID_MAX];
    m_cands_t                     found[NGX_HTTP_CRMSYNC_ID_MAX];
    size_t                        contact;      /* M_EXISTING */
    ngx_http_crmsync_hs_result_t  result;       /* M_FAILED, M_FINAL */
} m_person_t;


typedef struct {
    char                          id[32];
    json_t                       *props;
    long long                     created;
    int                           fresh;        /* from a read */
} m_contact_t;


typedef struct {
    m_call_kind_e                 kind;
    int                           idkind;       /* M_READ_PROP */
    size_t                       *persons;      /* who depends on it */
    size_t                        npersons;
    char                        **keys;         /* read: asked values;
                                                   write: input keys */
    size_t                        nkeys;
    size_t                       *input_of;     /* write: per job */
    json_t                       *inputs;       /* write: the inputs */
    const char                   *idprop;
} m_meta_t;


struct ngx_http_crmsync_plan_s {
    ngx_http_crmsync_plan_conf_t  conf;
    size_t                        n;
    ngx_http_crmsync_hs_result_t *results;
    m_job_t                      *jobs;
    ngx_http_crmsync_plan_id_t   *ids;
    m_ident_t                    *idx;
    size_t                        nids;
    m_person_t                   *persons;
    size_t                        npersons;
    m_contact_t                  *contacts;
    size_t                        ncontacts;
    json_t                       *readprops;
    ngx_http_crmsync_plan_call_t  calls[M_NCALLS];
    m_meta_t                      meta[M_NCALLS];
    size_t                        ncalls;
    int                           writing;
    int                           done;
    ngx_http_crmsync_plan_map_t  *maps;
    size_t                        nmaps;
    ngx_http_crmsync_plan_remap_t *remaps;
    size_t                        nremaps;
    char                         *log;
    size_t                        log_len;
    int                           oom;
};


static int m_caseeq(const char *a, size_t alen, const char *b, size_t blen);
static int m_empty(json_t *v);
static json_t *m_str_value(json_t *v);
static size_t m_ident_add(ngx_http_crmsync_plan_t *plan, int kind,
    const char *v, size_t len);
static int m_job_read(ngx_http_crmsync_plan_t *plan, size_t j, json_t *p);
static size_t m_find(size_t *parent, size_t i);
static int m_persons(ngx_http_crmsync_plan_t *plan);
static int m_person_add(ngx_http_crmsync_plan_t *plan, m_person_t *ps,
    m_job_t *job);
static int m_readprops(ngx_http_crmsync_plan_t *plan);
static size_t m_contact(ngx_http_crmsync_plan_t *plan, const char *id,
    json_t *props, json_t *result, int fresh);
static long long m_time(json_t *v);
static int m_reads(ngx_http_crmsync_plan_t *plan);
static int m_needs(ngx_http_crmsync_plan_t *plan, m_person_t *ps,
    unsigned *need);
static m_meta_t *m_call_new(ngx_http_crmsync_plan_t *plan,
    m_call_kind_e kind, const char *what);
static int m_call_person(m_meta_t *m, size_t p);
static int m_call_key(m_meta_t *m, const char *key);
static int m_add(ngx_http_crmsync_plan_t *plan, m_meta_t **slot,
    m_call_kind_e kind, size_t p, const char *key);
static int m_call_body(ngx_http_crmsync_plan_t *plan, size_t c, json_t *b);
static void m_calls_free(ngx_http_crmsync_plan_t *plan);
static void m_fail(ngx_http_crmsync_plan_t *plan, m_meta_t *m, int status,
    const u_char *body, size_t len, const char *transport,
    ngx_http_crmsync_hs_pace_e *pace, char *correlation, size_t csize);
static void m_read_answer(ngx_http_crmsync_plan_t *plan, m_meta_t *m,
    json_t *root);
static void m_cand(m_person_t *ps, int kind, size_t c);
static void m_decide(ngx_http_crmsync_plan_t *plan);
static int m_writes(ngx_http_crmsync_plan_t *plan);
static int m_write_input(ngx_http_crmsync_plan_t *plan, m_call_kind_e kind,
    const char *idprop, size_t *group, size_t ng, json_t *props,
    const char *key);
static void m_write_answer(ngx_http_crmsync_plan_t *plan, size_t c,
    int status, const u_char *body, size_t len, const char *transport,
    ngx_http_crmsync_hs_pace_e *pace, char *correlation, size_t csize);
static void m_finish(ngx_http_crmsync_plan_t *plan);
static void m_log(ngx_http_crmsync_plan_t *plan, const char *line);
static void m_remap(ngx_http_crmsync_plan_t *plan, const char *from,
    const char *to);
static const char *m_path(ngx_http_crmsync_plan_t *plan, const char *op,
    char *buf, size_t size);
static void m_pace(ngx_http_crmsync_hs_pace_e *pace,
    ngx_http_crmsync_hs_pace_e p);


ngx_http_crmsync_id_kind_e
ngx_http_crmsync_id_kind(const u_char *name, size_t len)
{
    int  k;

    if (name == NULL) {
        return NGX_HTTP_CRMSYNC_ID_MAX;
    }

    for (k = 0; k < NGX_HTTP_CRMSYNC_ID_MAX; k++) {
        if (strlen(ngx_http_crmsync_id_kind_names[k]) == len
            && memcmp(ngx_http_crmsync_id_kind_names[k], name, len) == 0)
        {
            return (ngx_http_crmsync_id_kind_e) k;
        }
    }

    return NGX_HTTP_CRMSYNC_ID_MAX;
}


static int
m_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t  i;
    u_char  ca, cb;

    if (a == NULL || b == NULL || alen != blen) {
        return 0;
    }

    for (i = 0; i < alen; i++) {
        ca = (u_char) a[i];
        cb = (u_char) b[i];
        ca = (ca >= 'A' && ca <= 'Z') ? (u_char) (ca | 0x20) : ca;
        cb = (cb >= 'A' && cb <= 'Z') ? (u_char) (cb | 0x20) : cb;

        if (ca != cb) {
            return 0;
        }
    }

    return 1;
}


static int
m_empty(json_t *v)
{
    return v == NULL || json_is_null(v)
           || (json_is_string(v) && json_string_length(v) == 0);
}


/* a property value as a new string reference, or NULL (empty, object) */

static json_t *
m_str_value(json_t *v)
{
    char  buf[64];

    if (json_is_string(v)) {
        return json_string_length(v) ? json_incref(v) : NULL;
    }

    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return json_string(buf);
    }

    if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        return json_string(buf);
    }

    if (json_is_boolean(v)) {
        return json_string(json_is_true(v) ? "true" : "false");
    }

    return NULL;
}


static const char *
m_prop(json_t *props, const char *name)
{
    json_t  *v;

    v = json_object_get(props, name);

    if (json_is_string(v) && json_string_length(v)) {
        return json_string_value(v);
    }

    return NULL;
}


/* the identity kind/value, added once; M_NONE on no memory */

static size_t
m_ident_add(ngx_http_crmsync_plan_t *plan, int kind, const char *v,
    size_t len)
{
    size_t                       i;
    u_char                      *d;
    ngx_http_crmsync_plan_id_t  *id;

    for (i = 0; i < plan->nids; i++) {
        id = &plan->ids[i];

        if ((int) id->kind == kind && id->value.len == len
            && memcmp(id->value.data, v, len) == 0)
        {
            return i;
        }
    }

    d = malloc(len + 1);
    if (d == NULL) {
        return M_NONE;
    }

    memcpy(d, v, len);
    d[len] = '\0';

    if (kind == NGX_HTTP_CRMSYNC_ID_EMAIL) {
        for (i = 0; i < len; i++) {
            if (d[i] >= 'A' && d[i] <= 'Z') {
                d[i] |= 0x20;
            }
        }

        for (i = 0; i < plan->nids; i++) {
            id = &plan->ids[i];

            if ((int) id->kind == kind && id->value.len == len
                && memcmp(id->value.data, d, len) == 0)
            {
                free(d);
                return i;
            }
        }
    }

    i = plan->nids++;
    plan->ids[i].kind = (ngx_http_crmsync_id_kind_e) kind;
    plan->ids[i].value.data = d;
    plan->ids[i].value.len = len;
    memset(&plan->idx[i], 0, sizeof(m_ident_t));

    if (kind == NGX_HTTP_CRMSYNC_ID_CRM_ID && len < sizeof(plan->idx[i].known))
    {
        memcpy(plan->idx[i].known, d, len + 1);
        plan->idx[i].known_set = 1;
    }

    return i;
}


/*
 * Reads one payload into plan->jobs[j] and its identities: -1 no memory,
 * 0 bad payload, 1 ok.  A version 1 payload becomes version 2 in place.
 */

static int
m_job_read(ngx_http_crmsync_plan_t *plan, size_t j, json_t *p)
{
    int          k;
    size_t       i;
    json_t      *ids, *v, *props, *doc;
    m_job_t     *job;
    const char  *key;

    static const char  *kinds[] = {
        "crm_id", "email", "phone", "phone_alt", "whatsapp_id",
        "telegram_id", "telegram_username", "messenger_id",
        "instagram_id", "platform_id", NULL
    };

    job = &plan->jobs[j];

    if (!json_is_object(p)) {
        return 0;
    }

    v = json_object_get(p, "v");

    if (v == NULL) {
        /* version 1: a flat object of properties with "email" */

        v = json_object_get(p, "email");
        if (!json_is_string(v) || json_string_length(v) == 0) {
            return 0;
        }

        doc = json_pack("{s:i, s:{s:O}, s:[s], s:s}", "v", 2, "ids",
                        "email", v, "match", "email", "create",
                        "identified");
        props = json_object();

        if (doc == NULL || json_object_set_new(doc, "props", props) != 0) {
            json_decref(doc);
            return -1;
        }

        json_object_foreach(p, key, v) {
            if (strcmp(key, "email") != 0
                && json_object_set(props, key, v) != 0)
            {
                json_decref(doc);
                return -1;
            }
        }

        job->doc = doc;

    } else if (json_is_integer(v) && json_integer_value(v) == 2) {
        job->doc = json_incref(p);

    } else {
        return 0;
    }

    p = job->doc;

    ids = json_object_get(p, "ids");
    if (ids != NULL && !json_is_object(ids)) {
        return 0;
    }

    v = json_object_get(p, "props");
    if (v != NULL && !json_is_object(v)) {
        return 0;
    }

    v = json_object_get(p, "idprops");
    if (v != NULL && !json_is_object(v)) {
        return 0;
    }

    job->dry_run = json_is_true(json_object_get(p, "dry_run"));

    for (k = 0; kinds[k]; k++) {
        v = json_object_get(ids, kinds[k]);

        if (v == NULL) {
            continue;
        }

        if (!json_is_string(v)) {
            return 0;
        }

        if (json_string_length(v) == 0 || job->nids == M_JOB_IDS) {
            continue;
        }

        i = m_ident_add(plan, strcmp(kinds[k], "phone_alt") == 0
                              ? NGX_HTTP_CRMSYNC_ID_PHONE
                              : ngx_http_crmsync_id_kind(
                                    (const u_char *) kinds[k],
                                    strlen(kinds[k])),
                        json_string_value(v), json_string_length(v));
        if (i == M_NONE) {
            return -1;
        }

        job->ids[job->nids++] = i;
    }

    return 1;
}


static size_t
m_find(size_t *parent, size_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }

    return i;
}


/* coalesces job into person ps: -1 no memory */

static int
m_person_add(ngx_http_crmsync_plan_t *plan, m_person_t *ps, m_job_t *job)
{
    int          kind, seen;
    size_t       i, k;
    json_t      *p, *v, *s, *a;
    const char  *key, *name;

    p = job->doc;

    json_object_foreach(json_object_get(p, "props"), key, v) {
        s = m_str_value(v);

        if (s == NULL) {
            continue;               /* an empty value never overrides */
        }

        if (json_object_set_new(ps->props, key, s) != 0) {
            return -1;
        }
    }

    json_array_foreach(json_object_get(p, "if_empty"), i, v) {
        if (!json_is_string(v)) {
            continue;
        }

        seen = 0;

        json_array_foreach(ps->if_empty, k, a) {
            if (json_equal(a, v)) {
                seen = 1;
            }
        }

        if (!seen && json_array_append(ps->if_empty, v) != 0) {
            return -1;
        }
    }

    json_object_foreach(json_object_get(p, "idprops"), key, v) {
        if (json_is_string(v) && json_string_length(v)
            && json_object_get(ps->idprops, key) == NULL
            && json_object_set(ps->idprops, key, v) != 0)
        {
            return -1;
        }
    }

    json_array_foreach(json_object_get(p, "match"), i, v) {
        name = json_string_value(v);
        kind = ngx_http_crmsync_id_kind((const u_char *) name,
                                        name ? strlen(name) : 0);
        if (kind == NGX_HTTP_CRMSYNC_ID_MAX) {
            continue;
        }

        for (k = 0; k < ps->nmatch; k++) {
            if (ps->match[k] == kind) {
                break;
            }
        }

        if (k == ps->nmatch) {
            ps->match[ps->nmatch++] = kind;
        }
    }

    v = json_object_get(p, "create");
    name = json_string_value(v);

    if (name) {
        for (k = 0; ngx_http_crmsync_create_names[k]; k++) {
            if (strcmp(name, ngx_http_crmsync_create_names[k]) == 0) {
                ps->create = (int) k;
            }
        }
    }

    v = json_object_get(p, "lifecycle");

    if (json_is_string(v) && json_string_length(v)) {
        json_decref(ps->lifecycle);
        ps->lifecycle = json_incref(v);
    }

    for (i = 0; i < job->nids; i++) {
        for (k = 0; k < ps->nids; k++) {
            if (ps->ids[k] == job->ids[i]) {
                break;
            }
        }

        if (k == ps->nids) {
            ps->ids[ps->nids++] = job->ids[i];
        }

        kind = plan->ids[job->ids[i]].kind;

        if (kind == NGX_HTTP_CRMSYNC_ID_EMAIL && ps->email == M_NONE) {
            ps->email = job->ids[i];
        }

        if (kind == NGX_HTTP_CRMSYNC_ID_PHONE && ps->phone == M_NONE) {
            ps->phone = job->ids[i];
        }
    }

    return 0;
}


/* jobs that share an identifier (and dry_run) are one person */

static int
m_persons(ngx_http_crmsync_plan_t *plan)
{
    size_t       i, j, k, a, b, *parent, *owner, *pof;
    m_job_t     *ji, *jj;
    m_person_t  *ps;

    parent = malloc(plan->n * 3 * sizeof(size_t) + 1);
    if (parent == NULL) {
        return -1;
    }

    owner = parent + plan->n;
    pof = owner + plan->n;

    for (i = 0; i < plan->n; i++) {
        parent[i] = i;
    }

    for (i = 0; i < plan->n; i++) {
        ji = &plan->jobs[i];

        if (ji->bad) {
            continue;
        }

        for (j = i + 1; j < plan->n; j++) {
            jj = &plan->jobs[j];

            if (jj->bad || jj->dry_run != ji->dry_run) {
                continue;
            }

            for (a = 0; a < ji->nids; a++) {
                for (b = 0; b < jj->nids; b++) {
                    if (ji->ids[a] == jj->ids[b]) {
                        parent[m_find(parent, j)] = m_find(parent, i);
                        goto next;
                    }
                }
            }
        next:
            continue;
        }
    }

    plan->persons = calloc(plan->n ? plan->n : 1, sizeof(m_person_t));
    if (plan->persons == NULL) {
        free(parent);
        return -1;
    }

    for (i = 0; i < plan->n; i++) {
        owner[i] = M_NONE;
    }

    for (i = 0; i < plan->n; i++) {
        ji = &plan->jobs[i];

        if (ji->bad) {
            continue;
        }

        k = m_find(parent, i);

        if (owner[k] == M_NONE) {
            owner[k] = plan->npersons++;
            ps = &plan->persons[owner[k]];
            ps->first = i;
            ps->email = M_NONE;
            ps->phone = M_NONE;
            ps->contact = M_NONE;
            ps->dry_run = ji->dry_run;
            ps->props = json_object();
            ps->if_empty = json_array();
            ps->idprops = json_object();
            ps->ids = malloc((plan->nids + 1) * sizeof(size_t));

            if (ps->props == NULL || ps->if_empty == NULL
                || ps->idprops == NULL || ps->ids == NULL)
            {
                free(parent);
                return -1;
            }
        }

        pof[i] = owner[k];
        ji->person = owner[k];

        if (m_person_add(plan, &plan->persons[owner[k]], ji) != 0) {
            free(parent);
            return -1;
        }
    }

    free(parent);

    return 0;
}


static int
m_prop_add(json_t *list, const char *name)
{
    size_t   i;
    json_t  *v;

    json_array_foreach(list, i, v) {
        if (strcmp(json_string_value(v), name) == 0) {
            return 0;
        }
    }

    return json_array_append_new(list, json_string(name));
}


/* the properties every read asks for */

static int
m_readprops(ngx_http_crmsync_plan_t *plan)
{
    size_t       i, k;
    json_t      *v;
    const char  *key;
    m_person_t  *ps;

    static const char  *always[] = {
        "email", "phone", "mobilephone", "firstname", "lastname",
        "lifecyclestage", "createdate", "hs_merged_object_ids", "country",
        "hs_country_region_code", NULL
    };

    plan->readprops = json_array();
    if (plan->readprops == NULL) {
        return -1;
    }

    for (i = 0; always[i]; i++) {
        if (m_prop_add(plan->readprops, always[i]) != 0) {
            return -1;
        }
    }

    for (i = 0; i < plan->npersons; i++) {
        ps = &plan->persons[i];

        json_object_foreach(ps->props, key, v) {
            if (m_prop_add(plan->readprops, key) != 0) {
                return -1;
            }
        }

        json_array_foreach(ps->if_empty, k, v) {
            if (m_prop_add(plan->readprops, json_string_value(v)) != 0) {
                return -1;
            }
        }

        json_object_foreach(ps->idprops, key, v) {
            if (m_prop_add(plan->readprops, json_string_value(v)) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


ngx_http_crmsync_plan_t *
ngx_http_crmsync_plan_create(const ngx_http_crmsync_plan_conf_t *conf,
    const ngx_http_crmsync_str_t *payloads, size_t n,
    ngx_http_crmsync_hs_result_t *results)
{
    int                       rc;
    size_t                    i;
    json_t                   *p;
    json_error_t              err;
    ngx_http_crmsync_plan_t  *plan;

    for (i = 0; i < n; i++) {
        m_set(&results[i], NGX_HTTP_CRMSYNC_HS_RETRY, "no memory", NULL);
    }

    plan = calloc(1, sizeof(ngx_http_crmsync_plan_t));
    if (plan == NULL) {
        return NULL;
    }

    plan->conf = *conf;
    plan->n = n;
    plan->results = results;
    plan->jobs = calloc(n ? n : 1, sizeof(m_job_t));
    plan->ids = calloc(n * M_JOB_IDS + 1,
                       sizeof(ngx_http_crmsync_plan_id_t));
    plan->idx = calloc(n * M_JOB_IDS + 1, sizeof(m_ident_t));
    plan->log = calloc(1, M_LOG_MAX);

    if (plan->jobs == NULL || plan->ids == NULL || plan->idx == NULL
        || plan->log == NULL)
    {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        p = NULL;

        /* jansson reports some failed allocations as syntax errors:
           a payload is bad only if a second parse says so too */

        for (rc = 0; payloads[i].data && payloads[i].len && rc < 2; rc++) {
            memset(&err, 0, sizeof(json_error_t));

            p = json_loadb((const char *) payloads[i].data, payloads[i].len,
                           0, &err);

            if (p != NULL) {
                break;
            }

            if (json_error_code(&err) == json_error_out_of_memory
                || err.text[0] == '\0')
            {
                goto failed;
            }
        }

        rc = m_job_read(plan, i, p);
        json_decref(p);

        if (rc < 0) {
            goto failed;
        }

        if (rc == 0) {
            plan->jobs[i].bad = 1;
        }
    }

    if (m_persons(plan) != 0 || m_readprops(plan) != 0) {
        goto failed;
    }

    for (i = 0; i < n; i++) {
        if (plan->jobs[i].bad) {
            m_set(&results[i], NGX_HTTP_CRMSYNC_HS_DEAD, "bad_payload",
                  NULL);

        } else {
            m_set(&results[i], NGX_HTTP_CRMSYNC_HS_RETRY, "not planned",
                  NULL);
        }
    }

    return plan;

failed:

    ngx_http_crmsync_plan_free(plan);
    return NULL;
}


static void
m_calls_free(ngx_http_crmsync_plan_t *plan)
{
    size_t     c, k;
    m_meta_t  *m;

    for (c = 0; c < plan->ncalls; c++) {
        free(plan->calls[c].body);
        m = &plan->meta[c];
        free(m->persons);

        for (k = 0; k < m->nkeys; k++) {
            free(m->keys[k]);
        }

        free(m->keys);
        free(m->input_of);
        json_decref(m->inputs);
    }

    memset(plan->calls, 0, sizeof(plan->calls));
    memset(plan->meta, 0, sizeof(plan->meta));
    plan->ncalls = 0;
}


void
ngx_http_crmsync_plan_free(ngx_http_crmsync_plan_t *plan)
{
    size_t       i;
    m_person_t  *ps;

    if (plan == NULL) {
        return;
    }

    m_calls_free(plan);

    for (i = 0; plan->jobs && i < plan->n; i++) {
        json_decref(plan->jobs[i].doc);
    }

    for (i = 0; plan->persons && i < plan->npersons; i++) {
        ps = &plan->persons[i];
        json_decref(ps->props);
        json_decref(ps->if_empty);
        json_decref(ps->idprops);
        json_decref(ps->lifecycle);
        free(ps->ids);
    }

    for (i = 0; i < plan->nids; i++) {
        free(plan->ids[i].value.data);
    }

    for (i = 0; i < plan->ncontacts; i++) {
        json_decref(plan->contacts[i].props);
    }

    json_decref(plan->readprops);
    free(plan->contacts);
    free(plan->persons);
    free(plan->jobs);
    free(plan->ids);
    free(plan->idx);
    free(plan->maps);
    free(plan->remaps);
    free(plan->log);
    free(plan);
}


size_t
ngx_http_crmsync_plan_identities(ngx_http_crmsync_plan_t *plan,
    const ngx_http_crmsync_plan_id_t **ids)
{
    *ids = plan->ids;
    return plan->nids;
}


void
ngx_http_crmsync_plan_known(ngx_http_crmsync_plan_t *plan, size_t i,
    const char *contact)
{
    size_t      len;
    m_ident_t  *x;

    if (i >= plan->nids || contact == NULL) {
        return;
    }

    x = &plan->idx[i];
    len = strlen(contact);

    if (len == 0 || len >= sizeof(x->known)) {
        return;
    }

    memcpy(x->known, contact, len + 1);
    x->known_set = 1;
}


/* "2026-03-01T10:00:00.000Z" or epoch ms; the far future when neither */

static long long
m_time(json_t *v)
{
    int          y, mo, d, h, mi, s, n;
    long long    days, ms;
    const char  *p, *q;

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }

    p = json_string_value(v);
    if (p == NULL || *p == '\0') {
        return 0x7fffffffffffffffLL;
    }

    for (q = p; *q >= '0' && *q <= '9'; q++) { /* void */ }

    if (*q == '\0' && q - p <= 15) {
        return strtoll(p, NULL, 10);
    }

    y = mo = d = h = mi = s = 0;
    n = 0;

    if (sscanf(p, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10) {
        return 0x7fffffffffffffffLL;
    }

    p += 10;
    ms = 0;

    if (*p == 'T' || *p == ' ') {
        n = 0;

        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &n) != 2 || n != 5) {
            return 0x7fffffffffffffffLL;
        }

        p += 6;

        if (*p == ':') {
            n = 0;

            if (sscanf(p + 1, "%2d%n", &s, &n) != 1 || n != 2) {
                return 0x7fffffffffffffffLL;
            }

            p += 3;

            if (*p == '.') {
                for (n = 0, p++; *p >= '0' && *p <= '9'; p++, n++) {
                    if (n < 3) {
                        ms = ms * 10 + (*p - '0');
                    }
                }

                for ( /* void */ ; n < 3; n++) {
                    ms *= 10;
                }
            }
        }
    }

    if (mo < 1 || mo > 12 || d < 1 || d > 31) {
        return 0x7fffffffffffffffLL;
    }

    /* days from civil (Howard Hinnant's algorithm) */

    y -= mo <= 2;
    days = (long long) (y >= 0 ? y : y - 399) / 400;
    days = days * 146097
           + ((y - (long long) days * 400) * 365
              + (y - (long long) days * 400) / 4
              - (y - (long long) days * 400) / 100
              + (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1)
           - 719468;

    ms += ((days * 24 + h) * 60 + mi) * 60000LL + s * 1000LL;

    if (*p == '+' || *p == '-') {
        if (sscanf(p + 1, "%2d:%2d", &h, &mi) == 2
            || sscanf(p + 1, "%2d%2d", &h, &mi) == 2)
        {
            ms -= (*p == '-' ? -1 : 1) * (h * 60LL + mi) * 60000LL;
        }
    }

    return ms;
}


/* the contact seen in an answer, kept once (the latest view wins) */

static size_t
m_contact(ngx_http_crmsync_plan_t *plan, const char *id, json_t *props,
    json_t *result, int fresh)
{
    size_t        i, len;
    json_t       *v;
    m_contact_t  *c;

    len = strlen(id);

    if (len == 0 || len >= sizeof(c->id) || !json_is_object(props)) {
        return M_NONE;
    }

    for (i = 0; i < plan->ncontacts; i++) {
        c = &plan->contacts[i];

        if (strcmp(c->id, id) != 0) {
            continue;
        }

        /* a read is fresher than the search index */

        if (fresh || !c->fresh) {
            json_decref(c->props);
            c->props = json_incref(props);
            c->fresh = fresh;

            v = json_object_get(props, "createdate");
            c->created = m_time(m_empty(v) ? json_object_get(result,
                                                             "createdAt")
                                           : v);
        }

        return i;
    }

    if ((plan->ncontacts & 15) == 0) {
        c = realloc(plan->contacts,
                    (plan->ncontacts + 16) * sizeof(m_contact_t));
        if (c == NULL) {
            plan->oom = 1;
            return M_NONE;
        }

        plan->contacts = c;
    }

    c = &plan->contacts[plan->ncontacts];
    memcpy(c->id, id, len + 1);
    c->props = json_incref(props);
    c->fresh = fresh;

    v = json_object_get(props, "createdate");
    if (m_empty(v)) {
        v = json_object_get(result, "createdAt");
    }

    c->created = m_time(v);

    return plan->ncontacts++;
}


static void
m_cand(m_person_t *ps, int kind, size_t c)
{
    size_t      i;
    m_cands_t  *f;

    if (c == M_NONE) {
        return;
    }

    f = &ps->found[kind];

    for (i = 0; i < f->n; i++) {
        if (f->c[i] == c) {
            return;
        }
    }

    if (f->n < M_CANDS) {
        f->c[f->n++] = c;
    }
}


/*
 * What person ps still needs read before it can be decided: a bit per
 * call kind (1 << M_READ_ID ...; the id property kinds from bit 8).
 * Returns 1 when it is decided by what is known.
 */

static int
m_needs(ngx_http_crmsync_plan_t *plan, m_person_t *ps, unsigned *need)
{
    int          r;
    size_t       i, k;
    m_ident_t   *x;
    const char  *prop;

    *need = 0;

    for (k = 0; k < ps->nmatch; k++) {
        r = ps->match[k];

        /* the map, or crm_id: a contact to read by id */

        for (i = 0; i < ps->nids; i++) {
            x = &plan->idx[ps->ids[i]];

            if ((int) plan->ids[ps->ids[i]].kind != r || !x->known_set
                || x->dead)
            {
                continue;
            }

            if (!x->verified) {
                *need |= 1 << M_READ_ID;
            }

            return 1;
        }

        if (r == NGX_HTTP_CRMSYNC_ID_EMAIL && ps->email != M_NONE
            && !ps->read_email)
        {
            *need |= 1 << M_READ_EMAIL;
            continue;
        }

        if (r == NGX_HTTP_CRMSYNC_ID_PHONE && ps->phone != M_NONE
            && !ps->searched)
        {
            *need |= 1 << M_SEARCH;
            continue;
        }

        prop = json_string_value(json_object_get(ps->idprops,
                                         ngx_http_crmsync_id_kind_names[r]));

        if (prop == NULL || !plan->conf.idprop_ready[r] || ps->read_prop[r]
            || r == NGX_HTTP_CRMSYNC_ID_EMAIL)
        {
            continue;
        }

        for (i = 0; i < ps->nids; i++) {
            if ((int) plan->ids[ps->ids[i]].kind == r) {
                *need |= 1u << (8 + r);
                break;
            }
        }
    }

    return 0;
}


static m_meta_t *
m_call_new(ngx_http_crmsync_plan_t *plan, m_call_kind_e kind,
    const char *what)
{
    size_t                         c;
    ngx_http_crmsync_plan_call_t  *call;

    if (plan->ncalls == M_NCALLS) {
        return NULL;
    }

    c = plan->ncalls++;
    call = &plan->calls[c];
    call->method = "POST";
    call->search = (kind == M_SEARCH);
    call->write = (kind >= M_UPDATE);

    if (m_path(plan, what, call->path, sizeof(call->path)) == NULL) {
        call->path[0] = '\0';
    }

    plan->meta[c].kind = kind;

    return &plan->meta[c];
}


static int
m_call_person(m_meta_t *m, size_t p)
{
    size_t  i, *a;

    for (i = 0; i < m->npersons; i++) {
        if (m->persons[i] == p) {
            return 0;
        }
    }

    a = realloc(m->persons, (m->npersons + 1) * sizeof(size_t));
    if (a == NULL) {
        return -1;
    }

    m->persons = a;
    m->persons[m->npersons++] = p;

    return 0;
}


/* adds key to the call's keys once; 1 when new, -1 no memory */

static int
m_call_key(m_meta_t *m, const char *key)
{
    size_t   i, len;
    char   **a;

    for (i = 0; i < m->nkeys; i++) {
        if (strcmp(m->keys[i], key) == 0) {
            return 0;
        }
    }

    a = realloc(m->keys, (m->nkeys + 1) * sizeof(char *));
    if (a == NULL) {
        return -1;
    }

    m->keys = a;
    len = strlen(key);

    m->keys[m->nkeys] = malloc(len + 1);
    if (m->keys[m->nkeys] == NULL) {
        return -1;
    }

    memcpy(m->keys[m->nkeys++], key, len + 1);

    return 1;
}


static int
m_call_body(ngx_http_crmsync_plan_t *plan, size_t c, json_t *b)
{
    if (b == NULL) {
        return -1;
    }

    plan->calls[c].body = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(b);

    if (plan->calls[c].body == NULL) {
        return -1;
    }

    plan->calls[c].body_len = strlen(plan->calls[c].body);

    return 0;
}


static const char *
m_path(ngx_http_crmsync_plan_t *plan, const char *op, char *buf, size_t size)
{
    int          rc;
    char         up[128], *s;

    /* hubspot.c knows the api versions: its upsert path, op instead */

    if (ngx_http_crmsync_hs_upsert_path(plan->conf.api, up, sizeof(up))
        == NULL)
    {
        return NULL;
    }

    s = strstr(up, "/contacts/");
    if (s == NULL) {
        return NULL;
    }

    s[sizeof("/contacts/") - 1] = '\0';

    rc = snprintf(buf, size, "%s%s", up, op);
    if (rc < 0 || (size_t) rc >= size) {
        return NULL;
    }

    return buf;
}


/*
 * Adds key to the read call *slot (a new one when there is none or it is
 * full), and person p to those that depend on it
 */

static int
m_add(ngx_http_crmsync_plan_t *plan, m_meta_t **slot, m_call_kind_e kind,
    size_t p, const char *key)
{
    size_t  i;

    if (*slot != NULL) {
        for (i = 0; i < (*slot)->nkeys; i++) {
            if (strcmp((*slot)->keys[i], key) == 0) {
                return m_call_person(*slot, p);
            }
        }
    }

    if (*slot == NULL || (*slot)->nkeys == NGX_HTTP_CRMSYNC_HS_BATCH_MAX) {
        *slot = m_call_new(plan, kind,
                           kind == M_SEARCH ? "search" : "batch/read");
        if (*slot == NULL) {
            return -1;
        }
    }

    if (m_call_key(*slot, key) < 0) {
        return -1;
    }

    return m_call_person(*slot, p);
}


/* round 1: builds what the undecided persons still need; 0: nothing */

static int
m_reads(ngx_http_crmsync_plan_t *plan)
{
    int          r;
    char         nat[32];
    size_t       p, i, c, first;
    unsigned     need;
    json_t      *in, *b, *vals;
    m_meta_t    *m, *ms[NGX_HTTP_CRMSYNC_ID_MAX + 8];
    m_ident_t   *x;
    m_person_t  *ps;
    const char  *prop;

    memset(ms, 0, sizeof(ms));
    first = plan->ncalls;

    for (p = 0; p < plan->npersons; p++) {
        ps = &plan->persons[p];

        if (ps->state != M_PENDING) {
            continue;
        }

        (void) m_needs(plan, ps, &need);

        if (need == 0) {
            continue;
        }

        /* every contact the map named is read by id, with the first */

        for (i = 0; i < ps->nids; i++) {
            x = &plan->idx[ps->ids[i]];

            if (!x->known_set || x->dead || x->verified) {
                continue;
            }

            x->asked = 1;

            if (m_add(plan, &ms[M_READ_ID], M_READ_ID, p, x->known) != 0) {
                return -1;
            }
        }

        if (need & (1 << M_READ_EMAIL)) {
            ps->read_email = 1;

            if (m_add(plan, &ms[M_READ_EMAIL], M_READ_EMAIL, p,
                      (char *) plan->ids[ps->email].value.data)
                != 0)
            {
                return -1;
            }
        }

        if (need & (1 << M_SEARCH)) {
            ps->searched = 1;

            for (i = 0; i < ps->nids; i++) {
                if (plan->ids[ps->ids[i]].kind != NGX_HTTP_CRMSYNC_ID_PHONE
                    || ngx_http_crmsync_phone_national(
                           (char *) plan->ids[ps->ids[i]].value.data, nat,
                           sizeof(nat)) != 0)
                {
                    continue;
                }

                if (m_add(plan, &ms[M_SEARCH], M_SEARCH, p, nat) != 0) {
                    return -1;
                }
            }
        }

        for (r = 0; r < NGX_HTTP_CRMSYNC_ID_MAX; r++) {
            if (!(need & (1u << (8 + r)))) {
                continue;
            }

            prop = json_string_value(json_object_get(ps->idprops,
                                         ngx_http_crmsync_id_kind_names[r]));

            /* several persons may name other properties for one kind:
               the first one's is used, the others are read next round */

            if (ms[8 + r] != NULL && strcmp(ms[8 + r]->idprop, prop) != 0) {
                continue;
            }

            ps->read_prop[r] = 1;

            for (i = 0; i < ps->nids; i++) {
                if ((int) plan->ids[ps->ids[i]].kind != r) {
                    continue;
                }

                if (m_add(plan, &ms[8 + r], M_READ_PROP, p,
                          (char *) plan->ids[ps->ids[i]].value.data)
                    != 0)
                {
                    return -1;
                }

                ms[8 + r]->idkind = r;
                ms[8 + r]->idprop = prop;
            }
        }
    }

    /* the bodies */

    for (c = first; c < plan->ncalls; c++) {
        m = &plan->meta[c];

        vals = json_array();
        if (vals == NULL) {
            return -1;
        }

        for (i = 0; i < m->nkeys && i < NGX_HTTP_CRMSYNC_HS_BATCH_MAX; i++)
        {
            in = (m->kind == M_SEARCH)
                 ? json_string(m->keys[i])
                 : json_pack("{s:s}", "id", m->keys[i]);

            if (json_array_append_new(vals, in) != 0) {
                json_decref(vals);
                return -1;
            }
        }

        if (m->kind == M_SEARCH) {
            b = json_pack("{s:[{s:[{s:s,s:s,s:O}]},{s:[{s:s,s:s,s:O}]}],"
                          "s:[{s:s,s:s}],s:O,s:i}",
                          "filterGroups",
                          "filters", "propertyName",
                          "hs_searchable_calculated_phone_number",
                          "operator", "IN", "values", vals,
                          "filters", "propertyName",
                          "hs_searchable_calculated_mobile_number",
                          "operator", "IN", "values", vals,
                          "sorts", "propertyName", "createdate",
                          "direction", "ASCENDING",
                          "properties", plan->readprops,
                          "limit", 200);
            json_decref(vals);

        } else {
            b = json_pack("{s:O,s:o}", "properties", plan->readprops,
                          "inputs", vals);

            if (b && m->kind != M_READ_ID
                && json_object_set_new(b, "idProperty",
                                       json_string(m->kind == M_READ_EMAIL
                                                   ? "email" : m->idprop))
                   != 0)
            {
                json_decref(b);
                return -1;
            }
        }

        if (m_call_body(plan, c, b) != 0) {
            return -1;
        }
    }

    return plan->ncalls > first;
}


static void
m_pace(ngx_http_crmsync_hs_pace_e *pace, ngx_http_crmsync_hs_pace_e p)
{
    static const int  strength[] = { 0, 3, 1, 4, 2 };

    if (pace == NULL || (unsigned) p > 4) {
        return;
    }

    if ((unsigned) *pace > 4 || strength[p] > strength[*pace]) {
        *pace = p;
    }
}


/* a read failed: the persons that depended on it wait */

static void
m_fail(ngx_http_crmsync_plan_t *plan, m_meta_t *m, int status,
    const u_char *body, size_t len, const char *transport,
    ngx_http_crmsync_hs_pace_e *pace, char *correlation, size_t csize)
{
    size_t                         i, input_of[1];
    m_person_t                    *ps;
    ngx_http_crmsync_hs_pace_e     p;
    ngx_http_crmsync_hs_result_t   r;

    input_of[0] = 0;
    p = NGX_HTTP_CRMSYNC_HS_PACE_NONE;

    ngx_http_crmsync_hs_upsert_result(status, body, len, transport, 1,
                                      input_of, NULL, 2, &r, &p,
                                      correlation, csize);
    m_pace(pace, p);

    if (r.outcome != NGX_HTTP_CRMSYNC_HS_AUTH) {
        r.outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
    }

    if (status >= 200 && status <= 299) {
        m_set(&r, NGX_HTTP_CRMSYNC_HS_RETRY, "unreadable answer", NULL);
    }

    for (i = 0; i < m->npersons; i++) {
        ps = &plan->persons[m->persons[i]];

        if (ps->state == M_PENDING) {
            ps->state = M_FAILED;
            ps->result = r;
        }
    }
}


/* a result's contact id as a string in buf, or NULL */

static const char *
m_result_id(json_t *e, char *buf, size_t size)
{
    json_t  *id;

    id = json_object_get(e, "id");

    if (json_is_string(id) && json_string_length(id)
        && json_string_length(id) < size)
    {
        return json_string_value(id);
    }

    if (json_is_integer(id)) {
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        return buf;
    }

    return NULL;
}


/* 1 when the ";"-list s holds id */

static int
m_list_has(const char *s, const char *id)
{
    size_t  len, n;

    if (s == NULL) {
        return 0;
    }

    len = strlen(id);

    while (*s) {
        n = strcspn(s, ";");

        if (n == len && memcmp(s, id, len) == 0) {
            return 1;
        }

        s += n;

        if (*s == ';') {
            s++;
        }
    }

    return 0;
}


static void
m_read_answer(ngx_http_crmsync_plan_t *plan, m_meta_t *m, json_t *root)
{
    int          same;
    char         buf[32], *region;
    size_t       i, j, k, p, c, *at;
    json_t      *list, *e, *props, *ids, *v;
    m_ident_t   *x;
    m_person_t  *ps;
    const char  *id, *s, *val, *phones[2];

    list = json_object_get(root, "results");

    /* every result is a contact we now know */

    at = calloc(json_array_size(list) + 1, sizeof(size_t));
    if (at == NULL) {
        plan->oom = 1;
        return;
    }

    json_array_foreach(list, i, e) {
        id = m_result_id(e, buf, sizeof(buf));
        props = json_object_get(e, "properties");
        at[i] = id ? m_contact(plan, id, props, e, m->kind != M_SEARCH)
                   : M_NONE;
    }

    if (m->kind == M_READ_ID) {
        for (k = 0; k < m->nkeys; k++) {
            c = M_NONE;

            /* itself, or the survivor of a merge */

            json_array_foreach(list, i, e) {
                if (at[i] != M_NONE
                    && strcmp(plan->contacts[at[i]].id, m->keys[k]) == 0)
                {
                    c = at[i];
                }
            }

            json_array_foreach(list, i, e) {
                if (c == M_NONE && at[i] != M_NONE
                    && m_list_has(m_prop(plan->contacts[at[i]].props,
                                         "hs_merged_object_ids"),
                                  m->keys[k]))
                {
                    c = at[i];
                }
            }

            same = 0;

            if (c == M_NONE) {
                json_array_foreach(json_object_get(root, "errors"), i, e) {
                    ids = json_object_get(json_object_get(e, "context"),
                                          "ids");

                    json_array_foreach(ids, j, v) {
                        s = json_string_value(v);

                        if (s && strcmp(s, m->keys[k]) == 0) {
                            same = 1;
                        }
                    }
                }

                if (same) {
                    m_remap(plan, m->keys[k], "");
                }

            } else if (strcmp(plan->contacts[c].id, m->keys[k]) != 0) {
                m_remap(plan, m->keys[k], plan->contacts[c].id);
            }

            for (i = 0; i < plan->nids; i++) {
                x = &plan->idx[i];

                if (!x->asked || !x->known_set || x->verified
                    || strcmp(x->known, m->keys[k]) != 0)
                {
                    continue;
                }

                if (c != M_NONE) {
                    memcpy(x->known, plan->contacts[c].id,
                           sizeof(x->known));
                    x->verified = 1;

                } else if (same) {
                    x->dead = 1;

                } else {
                    x->failed = 1;
                }
            }
        }

        /* a person whose contact went missing from the answer waits */

        for (p = 0; p < m->npersons; p++) {
            ps = &plan->persons[m->persons[p]];

            for (i = 0; i < ps->nids; i++) {
                x = &plan->idx[ps->ids[i]];

                if (x->failed && ps->state == M_PENDING) {
                    ps->state = M_FAILED;
                    m_set(&ps->result, NGX_HTTP_CRMSYNC_HS_RETRY,
                          "contact missing from answer", NULL);
                }
            }
        }

        free(at);
        return;
    }

    for (p = 0; p < m->npersons; p++) {
        ps = &plan->persons[m->persons[p]];

        json_array_foreach(list, i, e) {
            if (at[i] == M_NONE) {
                continue;
            }

            props = plan->contacts[at[i]].props;

            if (m->kind == M_READ_EMAIL) {
                s = m_prop(props, "email");
                val = (char *) plan->ids[ps->email].value.data;

                if (s && m_caseeq(s, strlen(s), val, strlen(val))) {
                    m_cand(ps, NGX_HTTP_CRMSYNC_ID_EMAIL, at[i]);
                }

                continue;
            }

            if (m->kind == M_READ_PROP) {
                s = m_prop(props, m->idprop);

                for (j = 0; s && j < ps->nids; j++) {
                    if ((int) plan->ids[ps->ids[j]].kind == m->idkind
                        && strcmp((char *) plan->ids[ps->ids[j]].value.data,
                                  s) == 0)
                    {
                        m_cand(ps, m->idkind, at[i]);
                    }
                }

                continue;
            }

            /* search: the same number, read with the contact's country */

            region = NULL;
            s = m_prop(props, "country");

            if (s == NULL || strlen(s) != 2
                || !ngx_http_crmsync_phone_region_known(s, 2))
            {
                s = m_prop(props, "hs_country_region_code");
            }

            if (s && strlen(s) == 2
                && ngx_http_crmsync_phone_region_known(s, 2))
            {
                region = (char *) s;
            }

            phones[0] = m_prop(props, "phone");
            phones[1] = m_prop(props, "mobilephone");

            for (j = 0; j < ps->nids; j++) {
                if (plan->ids[ps->ids[j]].kind != NGX_HTTP_CRMSYNC_ID_PHONE) {
                    continue;
                }

                for (k = 0; k < 2; k++) {
                    if (phones[k]
                        && ngx_http_crmsync_phone_same(
                               (char *) plan->ids[ps->ids[j]].value.data,
                               (const u_char *) phones[k],
                               strlen(phones[k]), region))
                    {
                        m_cand(ps, NGX_HTTP_CRMSYNC_ID_PHONE, at[i]);
                    }
                }
            }
        }
    }

    free(at);
}


static void
m_remap(ngx_http_crmsync_plan_t *plan, const char *from, const char *to)
{
    size_t                          i;
    ngx_http_crmsync_plan_remap_t  *r;

    for (i = 0; i < plan->nremaps; i++) {
        if (strcmp(plan->remaps[i].from, from) == 0) {
            return;
        }
    }

    r = realloc(plan->remaps,
                (plan->nremaps + 1) * sizeof(ngx_http_crmsync_plan_remap_t));
    if (r == NULL) {
        plan->oom = 1;
        return;
    }

    plan->remaps = r;
    r = &r[plan->nremaps++];
    ngx_http_crmsync_hs_copy(r->from, sizeof(r->from), from, strlen(from));
    ngx_http_crmsync_hs_copy(r->to, sizeof(r->to), to, strlen(to));
}


static void
m_log(ngx_http_crmsync_plan_t *plan, const char *line)
{
    size_t  len;

    len = strlen(line);

    if (plan->log_len + len + 2 > M_LOG_MAX) {
        return;
    }

    memcpy(plan->log + plan->log_len, line, len + 1);
    plan->log_len += len + 1;
}


/* the first rule with a contact decides; several: the oldest */

static void
m_decide(ngx_http_crmsync_plan_t *plan)
{
    int          r;
    char         line[512], mask[64];
    size_t       p, i, k, best, ident, off;
    m_cands_t    f;
    m_ident_t   *x;
    m_person_t  *ps;

    for (p = 0; p < plan->npersons; p++) {
        ps = &plan->persons[p];

        if (ps->state != M_PENDING) {
            continue;
        }

        ps->state = M_NEW;

        for (k = 0; k < ps->nmatch; k++) {
            r = ps->match[k];
            f.n = 0;
            ident = M_NONE;

            for (i = 0; i < ps->nids; i++) {
                x = &plan->idx[ps->ids[i]];

                if ((int) plan->ids[ps->ids[i]].kind != r || !x->verified
                    || x->dead)
                {
                    continue;
                }

                /* the contact was read by id: it is in the table */

                for (best = 0; best < plan->ncontacts; best++) {
                    if (strcmp(plan->contacts[best].id, x->known) == 0) {
                        break;
                    }
                }

                if (best < plan->ncontacts && f.n < M_CANDS) {
                    f.c[f.n++] = best;
                    ident = ps->ids[i];
                }
            }

            if (f.n == 0) {
                f = ps->found[r];

                for (i = 0; i < ps->nids; i++) {
                    if ((int) plan->ids[ps->ids[i]].kind == r) {
                        ident = ps->ids[i];
                        break;
                    }
                }
            }

            if (f.n == 0) {
                continue;
            }

            best = 0;

            for (i = 1; i < f.n; i++) {
                if (plan->contacts[f.c[i]].created
                    < plan->contacts[f.c[best]].created
                    || (plan->contacts[f.c[i]].created
                        == plan->contacts[f.c[best]].created
                        && strtoull(plan->contacts[f.c[i]].id, NULL, 10)
                           < strtoull(plan->contacts[f.c[best]].id, NULL,
                                      10)))
                {
                    best = i;
                }
            }

            ps->state = M_EXISTING;
            ps->contact = f.c[best];

            if (f.n > 1) {
                mask[0] = '\0';

                if (ident != M_NONE) {
                    ngx_http_crmsync_mask(plan->ids[ident].kind,
                                          plan->ids[ident].value.data,
                                          plan->ids[ident].value.len,
                                          mask, sizeof(mask));
                }

                off = snprintf(line, sizeof(line),
                               "crmsync: %zu contacts match %s %s: "
                               "%s chosen (oldest), left",
                               f.n, ngx_http_crmsync_id_kind_names[r], mask,
                               plan->contacts[f.c[best]].id);

                for (i = 0; i < f.n && off < sizeof(line); i++) {
                    if (i != best) {
                        off += snprintf(line + off, sizeof(line) - off,
                                        " %s", plan->contacts[f.c[i]].id);
                    }
                }

                m_log(plan, line);
            }

            break;
        }
    }
}


static int
m_stage(const char *s)
{
    int  i;

    for (i = 0; s && m_stages[i]; i++) {
        if (strcmp(s, m_stages[i]) == 0) {
            return i;
        }
    }

    return -1;
}


static int
m_listed(json_t *list, const char *name)
{
    size_t   i;
    json_t  *v;

    json_array_foreach(list, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the value person ps has for kind, or NULL */

static const char *
m_ident_of(ngx_http_crmsync_plan_t *plan, m_person_t *ps, int kind)
{
    size_t  i;

    for (i = 0; i < ps->nids; i++) {
        if ((int) plan->ids[ps->ids[i]].kind == kind) {
            return (char *) plan->ids[ps->ids[i]].value.data;
        }
    }

    return NULL;
}


/* the contact's region for its phones: a 2-letter country it holds */

static const char *
m_region(json_t *props)
{
    const char  *s;

    s = m_prop(props, "country");

    if (s && strlen(s) == 2 && ngx_http_crmsync_phone_region_known(s, 2)) {
        return s;
    }

    s = m_prop(props, "hs_country_region_code");

    if (s && strlen(s) == 2 && ngx_http_crmsync_phone_region_known(s, 2)) {
        return s;
    }

    return NULL;
}


/*
 * The properties person ps would write: onto the contact cprops (its
 * current properties), or for a new contact when cprops is NULL.
 * Returns 0, -1 on no memory.
 */

/* 1 when a read found the unique value of kind on another contact */

static int
m_elsewhere(m_person_t *ps, int kind, size_t contact)
{
    size_t  i;

    for (i = 0; i < ps->found[kind].n; i++) {
        if (ps->found[kind].c[i] != contact) {
            return 1;
        }
    }

    return 0;
}


static int
m_props(ngx_http_crmsync_plan_t *plan, m_person_t *ps, json_t *cprops,
    json_t *out)
{
    int          same, r;
    json_t      *v;
    const char  *key, *cur, *e164, *prop, *val, *region, *stored[2];
    size_t       k;

    json_object_foreach(ps->props, key, v) {
        if (cprops && m_listed(ps->if_empty, key) && m_prop(cprops, key)) {
            continue;
        }

        if (json_object_set(out, key, v) != 0) {
            return -1;
        }
    }

    if (ps->email != M_NONE
        && (cprops == NULL
            || (m_prop(cprops, "email") == NULL
                && !m_elsewhere(ps, NGX_HTTP_CRMSYNC_ID_EMAIL, ps->contact)))
        && json_object_set_new(out, "email",
               json_string((char *) plan->ids[ps->email].value.data)) != 0)
    {
        return -1;
    }

    if (ps->phone != M_NONE) {
        e164 = (char *) plan->ids[ps->phone].value.data;

        if (cprops == NULL) {
            if (json_object_set_new(out, "phone", json_string(e164)) != 0) {
                return -1;
            }

        } else {
            region = m_region(cprops);
            stored[0] = m_prop(cprops, "phone");
            stored[1] = m_prop(cprops, "mobilephone");
            same = 0;

            for (k = 0; k < ps->nids; k++) {
                if (plan->ids[ps->ids[k]].kind != NGX_HTTP_CRMSYNC_ID_PHONE) {
                    continue;
                }

                val = (char *) plan->ids[ps->ids[k]].value.data;

                for (r = 0; r < 2; r++) {
                    if (stored[r]
                        && ngx_http_crmsync_phone_same(val,
                               (const u_char *) stored[r],
                               strlen(stored[r]), region))
                    {
                        same = 1;
                    }
                }
            }

            key = NULL;

            if (!same) {
                key = (stored[0] == NULL) ? "phone"
                      : (stored[1] == NULL) ? "mobilephone" : NULL;
            }

            if (key && json_object_set_new(out, key, json_string(e164)) != 0)
            {
                return -1;
            }
        }
    }

    json_object_foreach(ps->idprops, key, v) {
        r = ngx_http_crmsync_id_kind((const u_char *) key, strlen(key));
        prop = json_string_value(v);

        if (r == NGX_HTTP_CRMSYNC_ID_MAX || !plan->conf.idprop_ready[r]
            || r == NGX_HTTP_CRMSYNC_ID_EMAIL
            || (cprops && m_elsewhere(ps, r, ps->contact)))
        {
            continue;
        }

        val = m_ident_of(plan, ps, r);

        if (val && json_object_set_new(out, prop, json_string(val)) != 0) {
            return -1;
        }
    }

    if (ps->lifecycle) {
        val = json_string_value(ps->lifecycle);
        cur = cprops ? m_prop(cprops, "lifecyclestage") : NULL;

        if (cur == NULL
            || (m_stage(val) >= 0 && m_stage(cur) >= 0
                && m_stage(val) > m_stage(cur)))
        {
            if (json_object_set(out, "lifecyclestage", ps->lifecycle) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


/* why a new contact is not created, or NULL */

static const char *
m_not_created(m_person_t *ps)
{
    switch (ps->create) {

    case NGX_HTTP_CRMSYNC_CREATE_OFF:
        return "not_created: crmsync_create off";

    case NGX_HTTP_CRMSYNC_CREATE_WITH_EMAIL:
        return ps->email == M_NONE ? "not_created: no email" : NULL;

    case NGX_HTTP_CRMSYNC_CREATE_ALWAYS:
        return NULL;

    default:
        if (ps->email != M_NONE || ps->phone != M_NONE
            || (m_prop(ps->props, "firstname")
                && m_prop(ps->props, "lastname")))
        {
            return NULL;
        }

        return "not_created: not identified";
    }
}


/* the jobs of person p are final with result r */

static void
m_person_final(ngx_http_crmsync_plan_t *plan, size_t p,
    ngx_http_crmsync_hs_outcome_e outcome, const char *id,
    const char *reason)
{
    m_person_t  *ps;

    ps = &plan->persons[p];
    m_set(&ps->result, outcome, reason, NULL);

    if (id) {
        ngx_http_crmsync_hs_copy(ps->result.id, sizeof(ps->result.id), id,
                                 strlen(id));
    }

    ps->state = M_FINAL;
}


static int
m_write_input(ngx_http_crmsync_plan_t *plan, m_call_kind_e kind,
    const char *idprop, size_t *group, size_t ng, json_t *props,
    const char *key)
{
    char         reason[1024], path[256], *dump;
    size_t       c, g, j, k;
    json_t      *in;
    m_meta_t    *m;
    const char  *op, *id;

    in = json_object();
    if (in == NULL) {
        json_decref(props);
        return -1;
    }

    if (kind == M_UPDATE) {
        if (json_object_set_new(in, "id", json_string(key)) != 0) {
            goto failed;
        }

    } else if (kind == M_UPSERT) {
        if (json_object_set_new(in, "idProperty", json_string(idprop)) != 0
            || json_object_set_new(in, "id", json_string(key)) != 0)
        {
            goto failed;
        }
    }

    if (json_object_set(in, "properties", props) != 0) {
        goto failed;
    }

    if (kind == M_CREATE
        && json_object_set_new(in, "objectWriteTraceId", json_string(key))
           != 0)
    {
        goto failed;
    }

    op = (kind == M_UPDATE) ? "batch/update"
         : (kind == M_UPSERT) ? "batch/upsert" : "batch/create";

    if (plan->persons[group[0]].dry_run) {
        /* looked up, never written */

        dump = json_dumps(in, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (dump == NULL) {
            goto failed;
        }

        m = NULL;
        snprintf(reason, sizeof(reason), "dry_run: would POST %s %s",
                 m_path(plan, op, path, sizeof(path)) ? path : op, dump);
        free(dump);

        id = (kind == M_UPDATE) ? key : "";

        for (g = 0; g < ng; g++) {
            m_person_final(plan, group[g], NGX_HTTP_CRMSYNC_HS_DONE, id,
                           reason);
        }

        json_decref(in);
        json_decref(props);
        return 0;
    }

    /* a call of this kind (and id property) with room */

    m = NULL;

    for (c = 0; c < plan->ncalls; c++) {
        if (plan->meta[c].kind == kind
            && json_array_size(plan->meta[c].inputs)
               < NGX_HTTP_CRMSYNC_HS_BATCH_MAX
            && (idprop == NULL || strcmp(plan->meta[c].idprop, idprop) == 0))
        {
            m = &plan->meta[c];
            break;
        }
    }

    if (m == NULL) {
        m = m_call_new(plan, kind, op);
        if (m == NULL) {
            goto failed;
        }

        m->idprop = idprop;
        m->inputs = json_array();
        m->input_of = malloc(plan->n * sizeof(size_t) + 1);

        if (m->inputs == NULL || m->input_of == NULL) {
            goto failed;
        }

        for (j = 0; j < plan->n; j++) {
            m->input_of[j] = M_NONE;
        }
    }

    k = json_array_size(m->inputs);

    if (json_array_append_new(m->inputs, in) != 0) {
        in = NULL;
        goto failed;
    }

    in = NULL;

    if (m_call_key(m, key) < 0) {
        goto failed;
    }

    for (g = 0; g < ng; g++) {
        if (m_call_person(m, group[g]) != 0) {
            goto failed;
        }

        for (j = 0; j < plan->n; j++) {
            if (!plan->jobs[j].bad && plan->jobs[j].person == group[g]) {
                m->input_of[j] = k;
            }
        }
    }

    json_decref(props);
    return 0;

failed:

    json_decref(in);
    json_decref(props);
    return -1;
}


/* round 2: the writes; 0 when there is nothing to write */

static int
m_writes(ngx_http_crmsync_plan_t *plan)
{
    int           r;
    char          trace[32];
    size_t        p, q, ng, c, *group;
    json_t       *out, *cprops, *v, *b;
    m_person_t   *ps, *qs;
    const char   *key, *prop, *val, *cur, *why;

    group = malloc((plan->npersons + 1) * sizeof(size_t));
    if (group == NULL) {
        return -1;
    }

    for (p = 0; p < plan->npersons; p++) {
        ps = &plan->persons[p];

        if (ps->state == M_EXISTING) {
            /* persons that resolved to one contact are one input */

            ng = 0;

            for (q = p; q < plan->npersons; q++) {
                qs = &plan->persons[q];

                if (qs->state == M_EXISTING && qs->contact == ps->contact
                    && qs->dry_run == ps->dry_run)
                {
                    group[ng++] = q;
                }
            }

            cprops = plan->contacts[ps->contact].props;

            out = json_object();
            if (out == NULL) {
                goto failed;
            }

            for (q = 0; q < ng; q++) {
                if (m_props(plan, &plan->persons[group[q]], cprops, out)
                    != 0)
                {
                    json_decref(out);
                    goto failed;
                }
            }

            /* only what changes */

            json_object_foreach_safe(out, b, key, v) {
                cur = m_prop(cprops, key);
                val = json_string_value(v);

                if (cur && val && strcmp(cur, val) == 0) {
                    json_object_del(out, key);
                }
            }

            if (json_object_size(out) == 0) {
                json_decref(out);

                for (q = 0; q < ng; q++) {
                    m_person_final(plan, group[q], NGX_HTTP_CRMSYNC_HS_DONE,
                                   plan->contacts[ps->contact].id,
                                   "unchanged");
                }

                continue;
            }

            for (q = 0; q < ng; q++) {
                plan->persons[group[q]].state = M_FINAL;
                m_set(&plan->persons[group[q]].result,
                      NGX_HTTP_CRMSYNC_HS_RETRY, "not answered", NULL);
            }

            if (m_write_input(plan, M_UPDATE, NULL, group, ng, out,
                              plan->contacts[ps->contact].id)
                != 0)
            {
                goto failed;
            }

            continue;
        }

        if (ps->state != M_NEW) {
            continue;
        }

        why = m_not_created(ps);

        if (why) {
            m_person_final(plan, p, NGX_HTTP_CRMSYNC_HS_DONE, "", why);
            continue;
        }

        out = json_object();
        if (out == NULL || m_props(plan, ps, NULL, out) != 0) {
            json_decref(out);
            goto failed;
        }

        ps->state = M_FINAL;
        m_set(&ps->result, NGX_HTTP_CRMSYNC_HS_RETRY, "not answered", NULL);
        group[0] = p;

        if (ps->email != M_NONE) {
            if (m_write_input(plan, M_UPSERT, "email", group, 1, out,
                              (char *) plan->ids[ps->email].value.data)
                != 0)
            {
                goto failed;
            }

            continue;
        }

        /* a unique id property: the upsert is idempotent */

        prop = NULL;
        val = NULL;

        for (r = 0; r < NGX_HTTP_CRMSYNC_ID_MAX && prop == NULL; r++) {
            v = json_object_get(ps->idprops, ngx_http_crmsync_id_kind_names[r]);
            val = m_ident_of(plan, ps, r);

            if (json_is_string(v) && val && plan->conf.idprop_ready[r]
                && r != NGX_HTTP_CRMSYNC_ID_EMAIL)
            {
                prop = json_string_value(v);
            }
        }

        if (prop) {
            if (m_write_input(plan, M_UPSERT, prop, group, 1, out, val) != 0)
            {
                goto failed;
            }

            continue;
        }

        snprintf(trace, sizeof(trace), "crmsync-%zu", p);

        if (m_write_input(plan, M_CREATE, NULL, group, 1, out, trace) != 0) {
            goto failed;
        }
    }

    free(group);

    for (c = 0; c < plan->ncalls; c++) {
        b = json_pack("{s:O}", "inputs", plan->meta[c].inputs);

        if (m_call_body(plan, c, b) != 0) {
            return -1;
        }
    }

    return plan->ncalls != 0;

failed:

    free(group);
    return -1;
}


/* 1 when every property of the input has that value in the result */

static int
m_same_props(json_t *in, json_t *result)
{
    json_t      *v, *props;
    const char  *key, *s;

    props = json_object_get(result, "properties");

    json_object_foreach(json_object_get(in, "properties"), key, v) {
        s = m_prop(props, key);

        if (s == NULL || !json_is_string(v)
            || strcmp(s, json_string_value(v)) != 0)
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Rewrites a write's answer so that hubspot.c reads it: each result and
 * error is tagged with "#<input>" (as properties.email, and context.ids)
 */

static json_t *
m_tag(m_meta_t *m, json_t *root)
{
    char         tag[32], buf[32];
    size_t       i, j, k, n, x, *of, left, free_in;
    json_t      *list, *e, *props, *ctx, *names, *v, *in;
    const char  *s, *id;

    static const char  *keys[] = {
        "ids", "emails", "objectWriteTraceId", "id", "email", NULL
    };

    n = m->nkeys;

    of = calloc(n + 1, sizeof(size_t));
    if (of == NULL) {
        return NULL;
    }

    /* errors first: an input named in one is not among the results */

    json_array_foreach(json_object_get(root, "errors"), i, e) {
        ctx = json_object_get(e, "context");
        k = M_NONE;

        for (j = 0; keys[j] && k == M_NONE && json_is_object(ctx); j++) {
            names = json_object_get(ctx, keys[j]);

            if (json_is_string(names)) {
                s = json_string_value(names);

                for (k = 0; k < n; k++) {
                    if (m_caseeq(s, strlen(s), m->keys[k],
                                 strlen(m->keys[k])))
                    {
                        break;
                    }
                }

                k = (k == n) ? M_NONE : k;
                continue;
            }

            json_array_foreach(names, x, v) {
                s = json_string_value(v);

                for (k = 0; s && k < n; k++) {
                    if (m_caseeq(s, strlen(s), m->keys[k],
                                 strlen(m->keys[k])))
                    {
                        break;
                    }
                }

                if (s && k < n) {
                    break;
                }

                k = M_NONE;
            }
        }

        if (k != M_NONE) {
            of[k] = 1;
            snprintf(tag, sizeof(tag), "#%zu", k);
        }

        v = (k != M_NONE) ? json_pack("{s:[s]}", "ids", tag) : json_object();

        if (v == NULL || !json_is_object(e)
            || json_object_set_new(e, "context", v) != 0)
        {
            if (json_is_object(e)) {
                free(of);
                return NULL;
            }
        }
    }

    list = json_object_get(root, "results");

    json_array_foreach(list, i, e) {
        if (!json_is_object(e)) {
            continue;
        }

        props = json_object_get(e, "properties");
        k = M_NONE;

        for (j = 0; j < n && k == M_NONE; j++) {
            if (of[j] > 1) {
                continue;
            }

            in = json_array_get(m->inputs, j);

            switch (m->kind) {

            case M_UPDATE:
                id = m_result_id(e, buf, sizeof(buf));
                s = m_prop(props, "hs_merged_object_ids");

                if ((id && strcmp(id, m->keys[j]) == 0)
                    || m_list_has(s, m->keys[j]))
                {
                    k = j;
                }

                break;

            case M_UPSERT:
                s = m_prop(props, m->idprop);

                if (s && m_caseeq(s, strlen(s), m->keys[j],
                                  strlen(m->keys[j])))
                {
                    k = j;
                }

                break;

            default:
                if (of[j] == 0 && m_same_props(in, e)) {
                    k = j;
                }
            }
        }

        if (k != M_NONE) {
            of[k] = 2;
            snprintf(tag, sizeof(tag), "#%zu", k);

        } else {
            snprintf(tag, sizeof(tag), "#-");
        }

        if (!json_is_object(props)) {
            props = json_object();

            if (json_object_set_new(e, "properties", props) != 0) {
                free(of);
                return NULL;
            }
        }

        if (json_object_set_new(props, "email", json_string(tag)) != 0) {
            free(of);
            return NULL;
        }
    }

    /* creates: the results left over go to the inputs left over, in
       order, when they are as many */

    if (m->kind == M_CREATE) {
        left = 0;
        free_in = 0;

        json_array_foreach(list, i, e) {
            s = m_prop(json_object_get(e, "properties"), "email");
            left += (s && strcmp(s, "#-") == 0);
        }

        for (j = 0; j < n; j++) {
            free_in += (of[j] == 0);
        }

        if (left == free_in) {
            j = 0;

            json_array_foreach(list, i, e) {
                props = json_object_get(e, "properties");
                s = m_prop(props, "email");

                if (s == NULL || strcmp(s, "#-") != 0) {
                    continue;
                }

                while (of[j] != 0) {
                    j++;
                }

                of[j] = 2;
                snprintf(tag, sizeof(tag), "#%zu", j);

                if (json_object_set_new(props, "email", json_string(tag))
                    != 0)
                {
                    free(of);
                    return NULL;
                }
            }
        }
    }

    free(of);

    return root;
}


static void
m_write_answer(ngx_http_crmsync_plan_t *plan, size_t c, int status,
    const u_char *body, size_t len, const char *transport,
    ngx_http_crmsync_hs_pace_e *pace, char *correlation, size_t csize)
{
    char                           tags[NGX_HTTP_CRMSYNC_HS_BATCH_MAX][8];
    char                          *dump, reason[300];
    size_t                         j, k, p;
    json_t                        *root;
    m_meta_t                      *m;
    json_error_t                   err;
    ngx_http_crmsync_str_t         keys[NGX_HTTP_CRMSYNC_HS_BATCH_MAX];
    ngx_http_crmsync_hs_pace_e     pc;
    ngx_http_crmsync_hs_result_t  *r;

    m = &plan->meta[c];
    dump = NULL;

    for (k = 0; k < m->nkeys && k < NGX_HTTP_CRMSYNC_HS_BATCH_MAX; k++) {
        snprintf(tags[k], sizeof(tags[k]), "#%zu", k);
        keys[k].data = (u_char *) tags[k];
        keys[k].len = strlen(tags[k]);
    }

    if (status >= 200 && status <= 299 && body && len) {
        root = json_loadb((const char *) body, len, 0, &err);

        if (json_is_object(root)) {
            if (m_tag(m, root) == NULL) {
                json_decref(root);
                plan->oom = 1;
                return;
            }

            dump = json_dumps(root, JSON_COMPACT);
            if (dump == NULL) {
                json_decref(root);
                plan->oom = 1;
                return;
            }

            body = (u_char *) dump;
            len = strlen(dump);
        }

        json_decref(root);
    }

    pc = NGX_HTTP_CRMSYNC_HS_PACE_NONE;

    ngx_http_crmsync_hs_upsert_result(status, body, len, transport, plan->n,
                                      m->input_of, keys, m->nkeys,
                                      plan->results, &pc, correlation,
                                      csize);
    m_pace(pace, pc);
    free(dump);

    for (j = 0; j < plan->n; j++) {
        if (m->input_of[j] == M_NONE) {
            continue;
        }

        r = &plan->results[j];

        if (m->kind == M_UPDATE) {
            r->created = 0;

            if (r->outcome == NGX_HTTP_CRMSYNC_HS_DEAD
                && strcmp(r->category, "OBJECT_NOT_FOUND") == 0)
            {
                /* deleted since it was read: forget it, look again */
                m_remap(plan, m->keys[m->input_of[j]], "");
                r->outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
            }

        } else if (m->kind == M_CREATE) {
            if (r->outcome == NGX_HTTP_CRMSYNC_HS_DONE) {
                r->created = 1;

            } else if (status == 0 || status >= 500
                       || (r->outcome == NGX_HTTP_CRMSYNC_HS_RETRY
                           && strncmp(r->reason, "missing from answer",
                                      sizeof("missing from answer") - 1)
                              == 0))
            {
                if (r->outcome == NGX_HTTP_CRMSYNC_HS_RETRY) {
                    snprintf(reason, sizeof(reason), "unconfirmed_create: %s",
                             r->reason);
                    m_set(r, NGX_HTTP_CRMSYNC_HS_RETRY, reason, NULL);
                }

            } else if (r->outcome == NGX_HTTP_CRMSYNC_HS_DEAD
                       && strstr(r->reason, "Existing ID") != NULL)
            {
                /* created meanwhile: the next attempt finds it */
                r->outcome = NGX_HTTP_CRMSYNC_HS_RETRY;
            }
        }

        p = plan->jobs[j].person;
        plan->persons[p].result = *r;
    }
}


ngx_http_crmsync_plan_rc_e
ngx_http_crmsync_plan_next(ngx_http_crmsync_plan_t *plan,
    ngx_http_crmsync_plan_call_t **calls, size_t *n)
{
    int  rc;

    *calls = NULL;
    *n = 0;

    if (plan->done) {
        return NGX_HTTP_CRMSYNC_PLAN_DONE;
    }

    m_calls_free(plan);

    if (plan->oom) {
        goto failed;
    }

    if (!plan->writing) {
        rc = m_reads(plan);

        if (rc < 0) {
            goto failed;
        }

        if (rc > 0) {
            *calls = plan->calls;
            *n = plan->ncalls;
            return NGX_HTTP_CRMSYNC_PLAN_CALLS;
        }

        m_decide(plan);
        plan->writing = 1;

        rc = m_writes(plan);

        if (rc < 0 || plan->oom) {
            goto failed;
        }

        if (rc > 0) {
            *calls = plan->calls;
            *n = plan->ncalls;
            return NGX_HTTP_CRMSYNC_PLAN_CALLS;
        }
    }

    m_finish(plan);

    if (plan->oom) {
        goto failed;
    }

    plan->done = 1;

    return NGX_HTTP_CRMSYNC_PLAN_DONE;

failed:

    m_calls_free(plan);

    for (rc = 0; (size_t) rc < plan->n; rc++) {
        if (!plan->jobs[rc].bad) {
            m_set(&plan->results[rc], NGX_HTTP_CRMSYNC_HS_RETRY, "no memory",
                  NULL);
        }
    }

    plan->done = 1;

    return NGX_HTTP_CRMSYNC_PLAN_ERROR;
}


void
ngx_http_crmsync_plan_answer(ngx_http_crmsync_plan_t *plan, size_t call,
    int status, const u_char *body, size_t len, const char *transport,
    ngx_http_crmsync_hs_pace_e *pace, char *correlation,
    size_t correlation_size)
{
    json_t        *root;
    m_meta_t      *m;
    json_error_t   err;

    if (correlation && correlation_size) {
        correlation[0] = '\0';
    }

    if (plan->done || call >= plan->ncalls) {
        return;
    }

    m = &plan->meta[call];

    if (m->kind >= M_UPDATE) {
        m_write_answer(plan, call, status, body, len, transport, pace,
                       correlation, correlation_size);
        return;
    }

    root = NULL;

    if (status >= 200 && status <= 299 && body && len) {
        root = json_loadb((const char *) body, len, 0, &err);
    }

    if (!json_is_object(root)) {
        m_fail(plan, m, status, body, len, transport, pace, correlation,
               correlation_size);
        json_decref(root);
        return;
    }

    m_read_answer(plan, m, root);
    json_decref(root);
}


/* every job gets its person's outcome; the map learns the contacts */

static void
m_finish(ngx_http_crmsync_plan_t *plan)
{
    size_t                        j, i, n;
    m_person_t                   *ps;
    ngx_http_crmsync_plan_map_t  *mp;

    n = 0;

    for (i = 0; i < plan->npersons; i++) {
        if (plan->persons[i].result.outcome == NGX_HTTP_CRMSYNC_HS_DONE
            && plan->persons[i].result.id[0])
        {
            n += plan->persons[i].nids;
        }
    }

    plan->maps = calloc(n + 1, sizeof(ngx_http_crmsync_plan_map_t));
    if (plan->maps == NULL) {
        plan->oom = 1;
        return;
    }

    for (j = 0; j < plan->n; j++) {
        if (plan->jobs[j].bad) {
            continue;
        }

        ps = &plan->persons[plan->jobs[j].person];

        if (ps->state == M_PENDING || ps->state == M_EXISTING
            || ps->state == M_NEW)
        {
            m_set(&ps->result, NGX_HTTP_CRMSYNC_HS_RETRY, "not decided",
                  NULL);
            ps->state = M_FINAL;
        }

        plan->results[j] = ps->result;
    }

    for (i = 0; i < plan->npersons; i++) {
        ps = &plan->persons[i];

        if (ps->result.outcome != NGX_HTTP_CRMSYNC_HS_DONE
            || ps->result.id[0] == '\0' || ps->dry_run)
        {
            continue;
        }

        for (j = 0; j < ps->nids; j++) {
            mp = &plan->maps[plan->nmaps++];
            mp->kind = plan->ids[ps->ids[j]].kind;
            mp->value = plan->ids[ps->ids[j]].value;
            memcpy(mp->contact, ps->result.id, sizeof(mp->contact));
        }
    }
}


size_t
ngx_http_crmsync_plan_maps(ngx_http_crmsync_plan_t *plan,
    const ngx_http_crmsync_plan_map_t **maps)
{
    *maps = plan->maps;
    return plan->nmaps;
}


size_t
ngx_http_crmsync_plan_remaps(ngx_http_crmsync_plan_t *plan,
    const ngx_http_crmsync_plan_remap_t **remaps)
{
    *remaps = plan->remaps;
    return plan->nremaps;
}


const char *
ngx_http_crmsync_plan_log(ngx_http_crmsync_plan_t *plan)
{
    return plan->log;
}


static int
m_local(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
           || c == '+' || c == '%' || c == '\'';
}


char *
ngx_http_crmsync_mask(ngx_http_crmsync_id_kind_e kind, const u_char *value,
    size_t len, char *buf, size_t size)
{
    size_t  i, o, keep, tail, at;

    if (size == 0) {
        return buf;
    }

    o = 0;

#define m_out(c)  do { if (o + 1 < size) { buf[o++] = (char) (c); } } while (0)

    if (value == NULL) {
        len = 0;
    }

    if (kind == NGX_HTTP_CRMSYNC_ID_EMAIL) {
        for (at = 0; at < len && value[at] != '@'; at++) { /* void */ }

        if (at < len && at > 0) {
            m_out(value[0]);
            m_out('*');
            m_out('*');
            m_out('*');

            for (i = at; i < len; i++) {
                m_out(value[i]);
            }

            buf[o] = '\0';
            return buf;
        }
    }

    if (kind == NGX_HTTP_CRMSYNC_ID_PHONE && len > 0 && value[0] == '+') {
        keep = 6;           /* "+" and 5 digits */
        tail = 2;

    } else {
        keep = 2;
        tail = 2;
    }

    if (len <= keep + tail) {
        /* too short to show any of it */
        keep = (len > 4) ? 1 : 0;
        tail = (len > 4) ? 1 : 0;
    }

    for (i = 0; i < len; i++) {
        m_out((i < keep || i >= len - tail) ? value[i] : '*');
    }

#undef m_out

    buf[o] = '\0';

    return buf;
}


int
ngx_http_crmsync_phone_same(const char *e164, const u_char *stored,
    size_t len, const char *region)
{
    ngx_http_crmsync_phone_t  own, got;

    if (e164 == NULL || stored == NULL || len == 0) {
        return 0;
    }

    if (ngx_http_crmsync_phone_parse((const u_char *) e164, strlen(e164),
                                     NULL, &own) != 0
        || own.e164[0] == '\0')
    {
        return 0;
    }

    if (region == NULL || strlen(region) != 2
        || !ngx_http_crmsync_phone_region_known(region, 2))
    {
        region = own.region[0] ? own.region : NULL;
    }

    if (ngx_http_crmsync_phone_parse(stored, len, region, &got) != 0) {
        return 0;
    }

    return (got.e164[0] && (strcmp(got.e164, own.e164) == 0
                            || strcmp(got.e164, e164) == 0
                            || (own.alt_e164[0]
                                && strcmp(got.e164, own.alt_e164) == 0)))
           || (got.alt_e164[0] && strcmp(got.alt_e164, own.e164) == 0);
}


int
ngx_http_crmsync_phone_national(const char *e164, char *buf, size_t size)
{
    size_t        len, l, i;
    unsigned int  cc, k;

    if (e164 == NULL || e164[0] != '+') {
        return -1;
    }

    len = strlen(e164);

    if (len < 3 || len > NGX_HTTP_CRMSYNC_PHONE_E164_LEN) {
        return -1;
    }

    for (i = 1; i < len; i++) {
        if (e164[i] < '0' || e164[i] > '9') {
            return -1;
        }
    }

    /* country codes are prefix-free: the first that is one */

    cc = 0;

    for (l = 1; l <= 3 && l < len - 1; l++) {
        cc = cc * 10 + (unsigned int) (e164[l] - '0');

        for (k = 0; k < ngx_http_crmsync_phone_nccs; k++) {
            if (ngx_http_crmsync_phone_ccs[k].cc == cc) {
                goto found;
            }
        }
    }

    return -1;

found:

    /* as HubSpot's searchable properties: without leading zeros */

    for (i = l + 1; i < len && e164[i] == '0'; i++) { /* void */ }

    if (i == len || len - i >= size) {
        return -1;
    }

    memcpy(buf, e164 + i, len - i + 1);

    return 0;
}


/*
 * In place: what looks like an email's local part or a phone number in a
 * free text (HubSpot's error messages quote the values they refuse)
 * keeps its first character, and its last two digits, behind stars.
 */

char *
ngx_http_crmsync_mask_text(char *text)
{
    size_t   i, j, start, len;
    u_char  *s;

    if (text == NULL) {
        return text;
    }

    s = (u_char *) text;
    len = strlen(text);

    for (i = 0; i < len; i++) {

        if (s[i] == '@' && i > 0) {

            /* back to the start of the local part */

            for (start = i; start > 0; start--) {
                if (!m_local(s[start - 1])) {
                    break;
                }
            }

            for (j = start + 1; j < i; j++) {
                s[j] = '*';
            }

            continue;
        }

        if ((s[i] >= '0' && s[i] <= '9') || s[i] == '+') {

            /* a run of digits, with the separators phones are written
               with; 7 digits or more is masked but for the last 2 */

            size_t  digits;

            digits = 0;

            for (j = i; j < len; j++) {
                if (s[j] >= '0' && s[j] <= '9') {
                    digits++;

                } else if (!(s[j] == '+' && j == i) && s[j] != ' '
                           && s[j] != '-' && s[j] != '(' && s[j] != ')'
                           && s[j] != '.')
                {
                    break;
                }
            }

            if (digits >= 7) {
                size_t  seen;

                seen = 0;

                for (start = i; start < j; start++) {
                    if (s[start] >= '0' && s[start] <= '9') {
                        if (seen > 0 && seen < digits - 2) {
                            s[start] = '*';
                        }

                        seen++;
                    }
                }
            }

            i = j ? j - 1 : j;
        }
    }

    return text;
}


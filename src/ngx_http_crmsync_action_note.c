
/*
 * Copyright (C) crmsync authors
 *
 * Action jobs that write activities (doc/conversations.md): transcripts
 * (notes, or one communication per message) and tasks.  Each object is
 * written once through its idempotency key, the property crmsync_key:
 * unique where the portal allows it (a second create answers 409 with
 * the existing id), otherwise plain, with the store's object map and a
 * search once HubSpot's index has caught up.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_crmsync_action.h"
#include "ngx_http_crmsync_transcript.h"
#include "ngx_http_crmsync_match.h"


#define NGX_HTTP_CRMSYNC_NOTE_BUSY     5        /* ms: the store was busy */
#define NGX_HTTP_CRMSYNC_NOTE_STORE    2000     /* ms: the store failed */
#define NGX_HTTP_CRMSYNC_NOTE_NOMEM    5000
#define NGX_HTTP_CRMSYNC_NOTE_BREAK    64       /* objects between timers */

#define NGX_HTTP_CRMSYNC_KEY_MAX       512
#define NGX_HTTP_CRMSYNC_PATH_MAX      512

#define NGX_HTTP_CRMSYNC_DUE_DEFAULT   86400000  /* ms: a task's due */

/* association type ids (HUBSPOT_DEFINED), from the object to ... */
#define NGX_HTTP_CRMSYNC_NOTE_CONTACT  202
#define NGX_HTTP_CRMSYNC_NOTE_DEAL     214
#define NGX_HTTP_CRMSYNC_COMM_CONTACT  81
#define NGX_HTTP_CRMSYNC_COMM_DEAL     85
#define NGX_HTTP_CRMSYNC_TASK_CONTACT  204


/* the keyed object types */
typedef enum {
    NGX_HTTP_CRMSYNC_KW_NOTES = 0,
    NGX_HTTP_CRMSYNC_KW_COMMS,
    NGX_HTTP_CRMSYNC_KW_TASKS,
    NGX_HTTP_CRMSYNC_KW_TYPES
} ngx_http_crmsync_kw_type_e;


/* what a portal's crmsync_key property of a type is, per worker */
#define NGX_HTTP_CRMSYNC_KW_UNKNOWN    0
#define NGX_HTTP_CRMSYNC_KW_UNIQUE     1
#define NGX_HTTP_CRMSYNC_KW_PLAIN      2

/* property checks (GET, create) in one run before giving up for now */
#define NGX_HTTP_CRMSYNC_KW_ROUNDS     4


/* one keyed write */
typedef struct {
    ngx_http_crmsync_kw_type_e  type;
    char                        key[NGX_HTTP_CRMSYNC_KEY_MAX];
    json_t                     *props;      /* without crmsync_key */
    json_t                     *assocs;     /* an array, or NULL */
    ngx_http_crmsync_act_pt     next;       /* runs once it is written */

    unsigned                    keep:1;     /* a known object is left as
                                               it is (a task) */
    unsigned                    plain_try:1;    /* the property is being
                                                   created without unique
                                                   values */
    unsigned                    recreated:1;    /* a known id was gone */
    unsigned                    group_read:1;   /* the type's groups were
                                                   read */
    ngx_uint_t                  rounds;
    char                        group[64];      /* for crmsync_key */

    /* the object map write pending, then where to go */
    int                         put_confirmed;
    ngx_http_crmsync_act_pt     put_then;

    /* out */
    char                        id[32];
    unsigned                    existed:1;  /* the key was written before */
} ngx_http_crmsync_kw_t;


/* a transcript's or a task's state, in a->data */
typedef struct {
    ngx_http_crmsync_kw_t           kw;

    ngx_http_crmsync_store_conv_t   conv;
    int                             conv_found;
    char                            contact[32];

    /* transcript */
    const char                     *when;
    const char                     *channel;
    const char                     *channel_type;
    const char                     *pipeline;
    int64_t                         upto;
    int64_t                         closed_at;
    unsigned                        comms:1;

    ngx_http_crmsync_store_msg_t   *msgs;
    size_t                          nmsgs;
    ngx_http_crmsync_tnote_t       *notes;
    size_t                          nnotes;
    size_t                          i;          /* the object being
                                                   written */
    size_t                          n;          /* objects in all */
    char                            deal[32];
    char                            first[32];  /* the first object's id */
    char                            note[64];   /* the job's note */

    /* task */
    const char                     *subject;
    const char                     *owner_spec;
    const char                     *task_key;
    int64_t                         due;
    int64_t                         at;
    char                            owner[32];
} ngx_http_crmsync_note_t;


static ngx_http_crmsync_note_t *ngx_http_crmsync_note_alloc(
    ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_note_cleanup(ngx_http_crmsync_act_t *a);
static ngx_int_t ngx_http_crmsync_note_rc(ngx_http_crmsync_act_t *a,
    ngx_http_crmsync_store_rc_e rc, ngx_http_crmsync_act_pt again);
static ngx_msec_t ngx_http_crmsync_note_lag(void);
static u_char *ngx_http_crmsync_note_modes(ngx_http_crmsync_portal_t *portal);
static void ngx_http_crmsync_note_path(ngx_http_crmsync_act_t *a, char *buf,
    const char *what, const char *type, const char *rest);
static json_t *ngx_http_crmsync_note_answer(ngx_http_crmsync_act_t *a);
static const char *ngx_http_crmsync_note_str(json_t *o, const char *name);
static int64_t ngx_http_crmsync_note_int(json_t *o, const char *name,
    int64_t dflt);
static json_t *ngx_http_crmsync_note_text(u_char *p, size_t len);
static json_t *ngx_http_crmsync_note_ms(int64_t ms);
static ngx_int_t ngx_http_crmsync_note_assoc(json_t *assocs, const char *id,
    ngx_uint_t type);

static void ngx_http_crmsync_kw_start(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_prop_get(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_prop_got(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_prop_create(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_prop_created(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_groups_got(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_mode(ngx_http_crmsync_act_t *a,
    ngx_uint_t mode);
static ngx_uint_t ngx_http_crmsync_kw_get_mode(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_lookup(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_known(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_patch(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_patched(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_search(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_searched(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_create(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_post(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_posted(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_put(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_kw_written(ngx_http_crmsync_act_t *a);
static ngx_int_t ngx_http_crmsync_kw_lost_property(
    ngx_http_crmsync_act_t *a);

static void ngx_http_crmsync_tr_conv(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tr_unassigned(ngx_http_crmsync_act_t *a);
static ngx_int_t ngx_http_crmsync_tr_mark(ngx_http_crmsync_act_t *a,
    int64_t upto, ngx_http_crmsync_act_pt again);
static void ngx_http_crmsync_tr_messages(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tr_empty(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tr_deal(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tr_build(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tr_next(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tr_wrote(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tr_written(ngx_http_crmsync_act_t *a);

static void ngx_http_crmsync_tk_owner(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tk_owner_got(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tk_owner_found(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tk_write(ngx_http_crmsync_act_t *a);
static void ngx_http_crmsync_tk_written(ngx_http_crmsync_act_t *a);


static const char  *ngx_http_crmsync_kw_types[] = {
    "notes", "communications", "tasks"
};

/* the default property group of each type, as the sandbox names them;
   HubSpot's own names for activities are unverified: when both creates
   are refused, the type's first group is read and used */
static const char  *ngx_http_crmsync_kw_groups[] = {
    "noteinformation", "communicationinformation", "taskinformation"
};

/* per worker: NGX_HTTP_CRMSYNC_KW_* for each portal and type */
static u_char      *ngx_http_crmsync_kw_modes;
static ngx_uint_t   ngx_http_crmsync_kw_nportals;


/* common parts */

static ngx_http_crmsync_note_t *
ngx_http_crmsync_note_alloc(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = ngx_calloc(sizeof(ngx_http_crmsync_note_t), a->log);
    if (d == NULL) {
        return NULL;
    }

    a->data = d;
    a->cleanup = ngx_http_crmsync_note_cleanup;

    return d;
}


static void
ngx_http_crmsync_note_cleanup(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (d == NULL) {
        return;
    }

    if (d->kw.props) {
        json_decref(d->kw.props);
        d->kw.props = NULL;
    }

    if (d->kw.assocs) {
        json_decref(d->kw.assocs);
        d->kw.assocs = NULL;
    }

    if (d->msgs) {
        ngx_http_crmsync_store_free_msgs(d->msgs, d->nmsgs);
        d->msgs = NULL;
    }

    if (d->notes) {
        ngx_http_crmsync_transcript_free(d->notes, d->nnotes);
        d->notes = NULL;
    }
}


/*
 * A store call's rc: NGX_OK to go on; otherwise the job was handed on
 * (busy: the same step soon; an error: retried) and the caller returns.
 */

static ngx_int_t
ngx_http_crmsync_note_rc(ngx_http_crmsync_act_t *a,
    ngx_http_crmsync_store_rc_e rc, ngx_http_crmsync_act_pt again)
{
    if (rc == NGX_HTTP_CRMSYNC_STORE_OK) {
        return NGX_OK;
    }

    if (rc == NGX_HTTP_CRMSYNC_STORE_BUSY) {
        ngx_http_crmsync_act_later(a, NGX_HTTP_CRMSYNC_NOTE_BUSY, again);
        return NGX_AGAIN;
    }

    ngx_log_error(NGX_LOG_ERR, a->log, 0,
                  "crmsync: action %L: the store failed: %s", a->job->id,
                  ngx_http_crmsync_store_error(ngx_http_crmsync_store));

    ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_STORE,
                               "store error");
    return NGX_ERROR;
}


static ngx_msec_t
ngx_http_crmsync_note_lag(void)
{
    ngx_http_crmsync_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_crmsync_module);
    if (mcf == NULL || mcf->index_lag == NGX_CONF_UNSET_MSEC) {
        return 60000;
    }

    return mcf->index_lag;
}


/* the NGX_HTTP_CRMSYNC_KW_TYPES modes of a portal, or NULL */

static u_char *
ngx_http_crmsync_note_modes(ngx_http_crmsync_portal_t *portal)
{
    ngx_uint_t                     i;
    ngx_http_crmsync_portal_t     *first;
    ngx_http_crmsync_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                              ngx_http_crmsync_module);
    if (mcf == NULL || mcf->portals.nelts == 0) {
        return NULL;
    }

    first = mcf->portals.elts;

    if (portal < first || portal >= first + mcf->portals.nelts) {
        return NULL;
    }

    i = portal - first;

    if (ngx_http_crmsync_kw_modes == NULL) {
        /* the worker's cycle lives as long as the worker */
        ngx_http_crmsync_kw_modes = ngx_pcalloc(ngx_cycle->pool,
                                                mcf->portals.nelts
                                                * NGX_HTTP_CRMSYNC_KW_TYPES);
        if (ngx_http_crmsync_kw_modes == NULL) {
            return NULL;
        }

        ngx_http_crmsync_kw_nportals = mcf->portals.nelts;
    }

    if (i >= ngx_http_crmsync_kw_nportals) {
        return NULL;
    }

    return ngx_http_crmsync_kw_modes + i * NGX_HTTP_CRMSYNC_KW_TYPES;
}


/*
 * A path after the portal's URL, for its API version:
 * "/crm/v3/<what>/<type><rest>" or "/crm/<what>/<api>/<type><rest>";
 * buf holds NGX_HTTP_CRMSYNC_PATH_MAX bytes.
 */

static void
ngx_http_crmsync_note_path(ngx_http_crmsync_act_t *a, char *buf,
    const char *what, const char *type, const char *rest)
{
    u_char  *p, *last;

    last = (u_char *) buf + NGX_HTTP_CRMSYNC_PATH_MAX - 1;

    if (a->portal->api.len == 0
        || (a->portal->api.len == 2
            && ngx_strncmp(a->portal->api.data, "v3", 2) == 0))
    {
        p = ngx_slprintf((u_char *) buf, last, "/crm/v3/%s/%s%s", what,
                         type, rest);

    } else {
        p = ngx_slprintf((u_char *) buf, last, "/crm/%s/%V/%s%s", what,
                         &a->portal->api, type, rest);
    }

    *p = '\0';
}


static json_t *
ngx_http_crmsync_note_answer(ngx_http_crmsync_act_t *a)
{
    if (a->call.answer == NULL || a->call.answer_len == 0) {
        return NULL;
    }

    return json_loadb((const char *) a->call.answer, a->call.answer_len, 0,
                      NULL);
}


/* a string member, NULL when absent, empty or not a string */

static const char *
ngx_http_crmsync_note_str(json_t *o, const char *name)
{
    const char  *s;

    s = json_string_value(json_object_get(o, name));

    return (s && s[0]) ? s : NULL;
}


static int64_t
ngx_http_crmsync_note_int(json_t *o, const char *name, int64_t dflt)
{
    json_t  *v;

    v = json_object_get(o, name);

    if (json_is_integer(v)) {
        return (int64_t) json_integer_value(v);
    }

    if (json_is_real(v)) {
        return (int64_t) json_real_value(v);
    }

    if (json_is_string(v) && json_string_length(v) > 0
        && json_string_length(v) < 20)
    {
        return (int64_t) strtoll(json_string_value(v), NULL, 10);
    }

    return dflt;
}


/*
 * A JSON string of HTML made here: bytes that are not UTF-8 (a platform
 * that sent some, cut by nothing of ours) become '?' rather than failing
 * the write.  p is changed in place.
 */

static json_t *
ngx_http_crmsync_note_text(u_char *p, size_t len)
{
    u_char   c;
    size_t   i, k, need;
    json_t  *s;

    s = json_stringn((const char *) p, len);
    if (s) {
        return s;
    }

    for (i = 0; i < len; /* void */) {
        c = p[i];

        if (c < 0x80) {
            i++;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;

        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;

        } else {
            p[i++] = '?';
            continue;
        }

        if (i + need >= len) {
            /* the sequence runs past the end */
            for ( /* void */ ; i < len; i++) {
                p[i] = '?';
            }

            break;
        }

        for (k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                break;
            }
        }

        if (k <= need
            || (c == 0xe0 && p[i + 1] < 0xa0)
            || (c == 0xed && p[i + 1] > 0x9f)
            || (c == 0xf0 && p[i + 1] < 0x90)
            || (c == 0xf4 && p[i + 1] > 0x8f))
        {
            p[i++] = '?';
            continue;
        }

        i += need + 1;
    }

    return json_stringn((const char *) p, len);
}


/* epoch ms as HubSpot takes a datetime property: a string of digits */

static json_t *
ngx_http_crmsync_note_ms(int64_t ms)
{
    u_char  buf[NGX_INT64_LEN + 1], *p;

    p = ngx_sprintf(buf, "%L", ms);

    return json_stringn((const char *) buf, p - buf);
}


static ngx_int_t
ngx_http_crmsync_note_assoc(json_t *assocs, const char *id, ngx_uint_t type)
{
    json_t  *a;

    a = json_pack("{s{ss}s[{sssi}]}",
                  "to", "id", id,
                  "types", "associationCategory", "HUBSPOT_DEFINED",
                  "associationTypeId", (int) type);
    if (a == NULL) {
        return NGX_ERROR;
    }

    if (json_array_append_new(assocs, a) != 0) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The keyed write: d->kw's object written once, whatever was lost before.
 * kw->next runs with kw->id set.
 */

static void
ngx_http_crmsync_kw_start(ngx_http_crmsync_act_t *a)
{
    u_char                   *modes;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    kw->id[0] = '\0';
    kw->existed = 0;
    kw->recreated = 0;
    kw->rounds = 0;
    kw->plain_try = 0;
    kw->group_read = 0;
    ngx_cpystrn((u_char *) kw->group,
                (u_char *) ngx_http_crmsync_kw_groups[kw->type],
                sizeof(kw->group));

    modes = ngx_http_crmsync_note_modes(a->portal);

    if (modes && modes[kw->type] != NGX_HTTP_CRMSYNC_KW_UNKNOWN) {
        ngx_http_crmsync_kw_lookup(a);
        return;
    }

    ngx_http_crmsync_kw_prop_get(a);
}


static void
ngx_http_crmsync_kw_prop_get(ngx_http_crmsync_act_t *a)
{
    char                      path[NGX_HTTP_CRMSYNC_PATH_MAX];
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    if (++kw->rounds > NGX_HTTP_CRMSYNC_KW_ROUNDS) {
        ngx_http_crmsync_act_retry(a, 10000,
                                   "the property crmsync_key does not "
                                   "settle");
        return;
    }

    ngx_http_crmsync_note_path(a, path, "properties",
                               ngx_http_crmsync_kw_types[kw->type],
                               "/crmsync_key");

    ngx_http_crmsync_act_call(a, "GET", path, NULL, 0,
                              ngx_http_crmsync_kw_prop_got);
}


static void
ngx_http_crmsync_kw_prop_got(ngx_http_crmsync_act_t *a)
{
    json_t                   *answer;
    ngx_uint_t                unique;
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (a->call.status == 404) {
        d->kw.plain_try = 0;
        ngx_http_crmsync_kw_prop_create(a);
        return;
    }

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    answer = ngx_http_crmsync_note_answer(a);
    if (answer == NULL) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    unique = json_is_true(json_object_get(answer, "hasUniqueValue"));
    json_decref(answer);

    ngx_http_crmsync_kw_mode(a, unique ? NGX_HTTP_CRMSYNC_KW_UNIQUE
                                       : NGX_HTTP_CRMSYNC_KW_PLAIN);

    ngx_http_crmsync_kw_lookup(a);
}


static void
ngx_http_crmsync_kw_prop_create(ngx_http_crmsync_act_t *a)
{
    char                      path[NGX_HTTP_CRMSYNC_PATH_MAX];
    json_t                   *body;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    body = json_pack("{ss ss ss ss ss ss}",
                     "name", "crmsync_key",
                     "label", "crmsync key",
                     "type", "string",
                     "fieldType", "text",
                     "groupName", kw->group,
                     "description", "Kept by crmsync: the key that makes "
                                    "its writes idempotent");
    if (body == NULL) {
        ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                   "no memory");
        return;
    }

    if (!kw->plain_try) {
        (void) json_object_set_new(body, "hasUniqueValue", json_true());
    }

    ngx_http_crmsync_note_path(a, path, "properties",
                               ngx_http_crmsync_kw_types[kw->type], "");

    ngx_http_crmsync_act_call(a, "POST", path, body, 0,
                              ngx_http_crmsync_kw_prop_created);
}


static void
ngx_http_crmsync_kw_prop_created(ngx_http_crmsync_act_t *a)
{
    char                      path[NGX_HTTP_CRMSYNC_PATH_MAX];
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    switch (a->call.status) {

    case 200:
    case 201:
        ngx_log_error(NGX_LOG_NOTICE, a->log, 0,
                      "crmsync: portal \"%V\": created the %s property "
                      "crmsync_key of %s", &a->portal->label,
                      kw->plain_try ? "plain" : "unique",
                      ngx_http_crmsync_kw_types[kw->type]);

        ngx_http_crmsync_kw_mode(a, kw->plain_try
                                    ? NGX_HTTP_CRMSYNC_KW_PLAIN
                                    : NGX_HTTP_CRMSYNC_KW_UNIQUE);
        ngx_http_crmsync_kw_lookup(a);
        return;

    case 409:
        /* another worker made it meanwhile: read what it is */
        ngx_http_crmsync_kw_prop_get(a);
        return;

    case 400:
        if (!kw->plain_try) {
            ngx_log_error(NGX_LOG_WARN, a->log, 0,
                          "crmsync: portal \"%V\" refuses a unique "
                          "crmsync_key on %s; its writes are kept "
                          "idempotent by the store and a search",
                          &a->portal->label,
                          ngx_http_crmsync_kw_types[kw->type]);

            kw->plain_try = 1;
            ngx_http_crmsync_kw_prop_create(a);
            return;
        }

        if (!kw->group_read) {
            /* perhaps the group: take one the type has */
            kw->group_read = 1;

            ngx_http_crmsync_note_path(a, path, "properties",
                                       ngx_http_crmsync_kw_types[kw->type],
                                       "/groups");

            ngx_http_crmsync_act_call(a, "GET", path, NULL, 0,
                                      ngx_http_crmsync_kw_groups_got);
            return;
        }

        break;

    default:
        break;
    }

    ngx_http_crmsync_act_failed(a);
}


static void
ngx_http_crmsync_kw_groups_got(ngx_http_crmsync_act_t *a)
{
    json_t                   *answer, *g;
    const char               *name;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    answer = ngx_http_crmsync_note_answer(a);
    g = json_array_get(json_object_get(answer, "results"), 0);
    name = json_string_value(json_object_get(g, "name"));

    if (name == NULL || name[0] == '\0'
        || ngx_strlen(name) >= sizeof(kw->group)
        || ngx_strcmp(name, kw->group) == 0)
    {
        if (answer) {
            json_decref(answer);
        }

        ngx_http_crmsync_act_dead(a, "the property crmsync_key cannot be "
                                  "created", "CRMSYNC");
        return;
    }

    ngx_cpystrn((u_char *) kw->group, (u_char *) name, sizeof(kw->group));
    json_decref(answer);

    ngx_log_error(NGX_LOG_NOTICE, a->log, 0,
                  "crmsync: portal \"%V\": crmsync_key of %s goes in the "
                  "group \"%s\"", &a->portal->label,
                  ngx_http_crmsync_kw_types[kw->type], kw->group);

    kw->plain_try = 0;
    ngx_http_crmsync_kw_prop_create(a);
}


static void
ngx_http_crmsync_kw_mode(ngx_http_crmsync_act_t *a, ngx_uint_t mode)
{
    u_char                   *modes;
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    modes = ngx_http_crmsync_note_modes(a->portal);

    if (modes) {
        modes[d->kw.type] = (u_char) mode;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, a->log, 0,
                   "crmsync: action %L: crmsync_key of %s is %s",
                   a->job->id, ngx_http_crmsync_kw_types[d->kw.type],
                   mode == NGX_HTTP_CRMSYNC_KW_UNIQUE ? "unique" : "plain");
}


static ngx_uint_t
ngx_http_crmsync_kw_get_mode(ngx_http_crmsync_act_t *a)
{
    u_char                   *modes;
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    modes = ngx_http_crmsync_note_modes(a->portal);

    /* without a place to keep it (never expected), plain: always safe */

    if (modes == NULL || modes[d->kw.type] == NGX_HTTP_CRMSYNC_KW_UNKNOWN) {
        return NGX_HTTP_CRMSYNC_KW_PLAIN;
    }

    return modes[d->kw.type];
}


static void
ngx_http_crmsync_kw_lookup(ngx_http_crmsync_act_t *a)
{
    int                        confirmed;
    char                       id[32];
    int64_t                    at, now, lag;
    ngx_http_crmsync_kw_t     *kw;
    ngx_http_crmsync_note_t   *d;
    ngx_http_crmsync_store_rc_e  rc;

    d = a->data;
    kw = &d->kw;

    id[0] = '\0';
    confirmed = 0;
    at = 0;

    rc = ngx_http_crmsync_store_object_get(ngx_http_crmsync_store,
                                           (ngx_http_crmsync_str_t *)
                                           &a->portal->label, kw->key,
                                           id, sizeof(id), &confirmed,
                                           &at);

    if (ngx_http_crmsync_note_rc(a, rc, ngx_http_crmsync_kw_lookup)
        != NGX_OK)
    {
        return;
    }

    if (id[0] && confirmed) {
        ngx_cpystrn((u_char *) kw->id, (u_char *) id, sizeof(kw->id));
        kw->existed = 1;
        ngx_http_crmsync_kw_known(a);
        return;
    }

    if (ngx_http_crmsync_kw_get_mode(a) == NGX_HTTP_CRMSYNC_KW_UNIQUE) {
        /* HubSpot itself refuses a second object with the key */
        ngx_http_crmsync_kw_create(a);
        return;
    }

    if (at == 0) {
        /* never tried */
        ngx_http_crmsync_kw_create(a);
        return;
    }

    /*
     * A create was sent and its answer lost: it may have been written.
     * Search once the index shows what was written before it.
     */

    now = ngx_http_crmsync_now();
    lag = (int64_t) ngx_http_crmsync_note_lag();

    if (now - at < lag) {
        ngx_http_crmsync_act_retry(a, (ngx_msec_t) (lag - (now - at)),
                                   "an unanswered create: waiting for "
                                   "HubSpot's index");
        return;
    }

    ngx_http_crmsync_kw_search(a);
}


/* the key is known to belong to kw->id */

static void
ngx_http_crmsync_kw_known(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (d->kw.keep) {
        d->kw.next(a);
        return;
    }

    ngx_http_crmsync_kw_patch(a);
}


static void
ngx_http_crmsync_kw_patch(ngx_http_crmsync_act_t *a)
{
    char                      rest[48];
    char                      path[NGX_HTTP_CRMSYNC_PATH_MAX];
    json_t                   *body;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    body = json_pack("{sO}", "properties", kw->props);
    if (body == NULL) {
        ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                   "no memory");
        return;
    }

    *ngx_snprintf((u_char *) rest, sizeof(rest) - 1, "/%s", kw->id) = '\0';

    ngx_http_crmsync_note_path(a, path, "objects",
                               ngx_http_crmsync_kw_types[kw->type], rest);

    ngx_http_crmsync_act_call(a, "PATCH", path, body, 0,
                              ngx_http_crmsync_kw_patched);
}


static void
ngx_http_crmsync_kw_patched(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    if (a->call.status == 200) {
        kw->next(a);
        return;
    }

    if (a->call.status == 404 && !kw->recreated) {
        /* deleted in HubSpot since: written again, once */

        ngx_log_error(NGX_LOG_INFO, a->log, 0,
                      "crmsync: action %L: %s %s is gone, writing it "
                      "again", a->job->id,
                      ngx_http_crmsync_kw_types[kw->type], kw->id);

        kw->recreated = 1;
        kw->existed = 0;
        kw->id[0] = '\0';
        ngx_http_crmsync_kw_create(a);
        return;
    }

    if (ngx_http_crmsync_kw_lost_property(a) == NGX_OK) {
        return;
    }

    ngx_http_crmsync_act_failed(a);
}


static void
ngx_http_crmsync_kw_search(ngx_http_crmsync_act_t *a)
{
    char                      path[NGX_HTTP_CRMSYNC_PATH_MAX];
    json_t                   *body;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    body = json_pack("{s[{s[{ssssss}]}]s[s]si}",
                     "filterGroups", "filters",
                     "propertyName", "crmsync_key",
                     "operator", "EQ",
                     "value", kw->key,
                     "properties", "crmsync_key",
                     "limit", 10);
    if (body == NULL) {
        ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                   "no memory");
        return;
    }

    ngx_http_crmsync_note_path(a, path, "objects",
                               ngx_http_crmsync_kw_types[kw->type],
                               "/search");

    ngx_http_crmsync_act_call(a, "POST", path, body,
                              NGX_HTTP_CRMSYNC_ACT_SEARCH,
                              ngx_http_crmsync_kw_searched);
}


static void
ngx_http_crmsync_kw_searched(ngx_http_crmsync_act_t *a)
{
    size_t                    i;
    json_t                   *answer, *results, *r;
    const char               *id, *key;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    answer = ngx_http_crmsync_note_answer(a);
    results = json_object_get(answer, "results");

    if (!json_is_array(results)) {
        if (answer) {
            json_decref(answer);
        }

        ngx_http_crmsync_act_failed(a);
        return;
    }

    id = NULL;

    /* EQ ignores case: the key must be the same to the byte */

    json_array_foreach(results, i, r) {
        key = json_string_value(json_object_get(
                                    json_object_get(r, "properties"),
                                    "crmsync_key"));

        if (key && ngx_strcmp(key, kw->key) == 0) {
            id = json_string_value(json_object_get(r, "id"));
            break;
        }
    }

    if (id == NULL || id[0] == '\0' || ngx_strlen(id) >= sizeof(kw->id)) {
        json_decref(answer);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, a->log, 0,
                       "crmsync: action %L: the lost create wrote nothing",
                       a->job->id);

        ngx_http_crmsync_kw_create(a);
        return;
    }

    ngx_cpystrn((u_char *) kw->id, (u_char *) id, sizeof(kw->id));
    json_decref(answer);

    kw->existed = 1;
    kw->put_confirmed = 1;
    kw->put_then = ngx_http_crmsync_kw_known;

    ngx_http_crmsync_kw_put(a);
}


/* a create; plain: put unconfirmed first, so that a lost answer is
   searched for rather than written twice */

static void
ngx_http_crmsync_kw_create(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    d->kw.id[0] = '\0';

    if (ngx_http_crmsync_kw_get_mode(a) == NGX_HTTP_CRMSYNC_KW_UNIQUE) {
        ngx_http_crmsync_kw_post(a);
        return;
    }

    d->kw.put_confirmed = 0;
    d->kw.put_then = ngx_http_crmsync_kw_post;

    ngx_http_crmsync_kw_put(a);
}


static void
ngx_http_crmsync_kw_post(ngx_http_crmsync_act_t *a)
{
    char                      path[NGX_HTTP_CRMSYNC_PATH_MAX];
    json_t                   *body, *props;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    props = json_copy(kw->props);
    if (props == NULL
        || json_object_set_new(props, "crmsync_key", json_string(kw->key))
           != 0)
    {
        if (props) {
            json_decref(props);
        }

        ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                   "no memory");
        return;
    }

    body = json_pack("{so}", "properties", props);
    if (body == NULL) {
        ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                   "no memory");
        return;
    }

    if (kw->assocs && json_array_size(kw->assocs)) {
        (void) json_object_set(body, "associations", kw->assocs);
    }

    ngx_http_crmsync_note_path(a, path, "objects",
                               ngx_http_crmsync_kw_types[kw->type], "");

    ngx_http_crmsync_act_call(a, "POST", path, body,
                              NGX_HTTP_CRMSYNC_ACT_FRESH,
                              ngx_http_crmsync_kw_posted);
}


static void
ngx_http_crmsync_kw_posted(ngx_http_crmsync_act_t *a)
{
    char                      id[32];
    json_t                   *answer;
    const char               *s;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    if (a->call.status == 200 || a->call.status == 201) {
        answer = ngx_http_crmsync_note_answer(a);
        s = json_string_value(json_object_get(answer, "id"));

        if (s == NULL || s[0] == '\0' || ngx_strlen(s) >= sizeof(kw->id)) {
            if (answer) {
                json_decref(answer);
            }

            ngx_http_crmsync_act_failed(a);
            return;
        }

        ngx_cpystrn((u_char *) kw->id, (u_char *) s, sizeof(kw->id));
        json_decref(answer);

        kw->put_confirmed = 1;
        kw->put_then = ngx_http_crmsync_kw_written;

        ngx_http_crmsync_kw_put(a);
        return;
    }

    if (a->call.status == 409
        && ngx_http_crmsync_kw_get_mode(a) == NGX_HTTP_CRMSYNC_KW_UNIQUE
        && ngx_http_crmsync_act_existing_id(a, id, sizeof(id)) == NGX_OK)
    {
        /* written before (an answer lost, another worker): update it */

        ngx_cpystrn((u_char *) kw->id, (u_char *) id, sizeof(kw->id));

        kw->existed = 1;
        kw->put_confirmed = 1;
        kw->put_then = ngx_http_crmsync_kw_known;

        ngx_http_crmsync_kw_put(a);
        return;
    }

    if (ngx_http_crmsync_kw_lost_property(a) == NGX_OK) {
        return;
    }

    /* no answer, a 5xx: retried; plain, the key stays unconfirmed */

    ngx_http_crmsync_act_failed(a);
}


/* the object map: (key) -> kw->id, confirmed or not; then put_then */

static void
ngx_http_crmsync_kw_put(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_kw_t       *kw;
    ngx_http_crmsync_note_t     *d;
    ngx_http_crmsync_store_rc_e  rc;

    d = a->data;
    kw = &d->kw;

    rc = ngx_http_crmsync_store_object_put(ngx_http_crmsync_store,
                                           (ngx_http_crmsync_str_t *)
                                           &a->portal->label, kw->key,
                                           ngx_http_crmsync_kw_types
                                           [kw->type],
                                           kw->put_confirmed ? kw->id : "",
                                           kw->put_confirmed,
                                           ngx_http_crmsync_now());

    if (ngx_http_crmsync_note_rc(a, rc, ngx_http_crmsync_kw_put) != NGX_OK) {
        return;
    }

    kw->put_then(a);
}


static void
ngx_http_crmsync_kw_written(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, a->log, 0,
                   "crmsync: action %L: %s %s created", a->job->id,
                   ngx_http_crmsync_kw_types[d->kw.type], d->kw.id);

    d->kw.next(a);
}


/*
 * A write refused because crmsync_key is missing (deleted in HubSpot
 * after this worker checked it): check it again on the retry.  NGX_OK
 * when that was it (the job is retried).
 */

static ngx_int_t
ngx_http_crmsync_kw_lost_property(ngx_http_crmsync_act_t *a)
{
    u_char                   *modes;
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (a->call.status != 400 || a->call.answer == NULL
        || ngx_strstr(a->call.answer, "PROPERTY_DOESNT_EXIST") == NULL
        || ngx_strstr(a->call.answer, "crmsync_key") == NULL)
    {
        return NGX_DECLINED;
    }

    modes = ngx_http_crmsync_note_modes(a->portal);

    if (modes) {
        modes[d->kw.type] = NGX_HTTP_CRMSYNC_KW_UNKNOWN;
    }

    ngx_log_error(NGX_LOG_WARN, a->log, 0,
                  "crmsync: portal \"%V\": the property crmsync_key of %s "
                  "is gone; it is made again", &a->portal->label,
                  ngx_http_crmsync_kw_types[d->kw.type]);

    ngx_http_crmsync_act_retry(a, 1000, "crmsync_key missing");

    return NGX_OK;
}


/*
 * Transcripts: {"conv","mode","when","channel","channel_type","upto",
 * "closed_at","pipeline"}.
 */

void
ngx_http_crmsync_act_transcript(ngx_http_crmsync_act_t *a)
{
    const char               *mode;
    ngx_http_crmsync_note_t  *d;

    d = ngx_http_crmsync_note_alloc(a);
    if (d == NULL) {
        ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                   "no memory");
        return;
    }

    if (!json_is_object(a->payload) || a->conv.len == 0) {
        ngx_http_crmsync_act_dead(a, "bad_payload", "CRMSYNC");
        return;
    }

    mode = ngx_http_crmsync_note_str(a->payload, "mode");

    d->when = ngx_http_crmsync_note_str(a->payload, "when");
    d->channel = ngx_http_crmsync_note_str(a->payload, "channel");
    d->channel_type = ngx_http_crmsync_note_str(a->payload, "channel_type");
    d->pipeline = ngx_http_crmsync_note_str(a->payload, "pipeline");
    d->upto = ngx_http_crmsync_note_int(a->payload, "upto", 0);
    d->closed_at = ngx_http_crmsync_note_int(a->payload, "closed_at", 0);

    if (d->closed_at <= 0) {
        d->closed_at = a->job->received_at;
    }

    if (d->channel == NULL) {
        d->channel = "Chat";
    }

    d->comms = (mode && ngx_strcmp(mode, "communication") == 0
                && d->channel_type != NULL);

    ngx_http_crmsync_tr_conv(a);
}


static void
ngx_http_crmsync_tr_conv(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t      *d;
    ngx_http_crmsync_store_rc_e   rc;

    d = a->data;

    d->conv_found = 0;

    rc = ngx_http_crmsync_store_conv_get(ngx_http_crmsync_store,
                                         (ngx_http_crmsync_str_t *)
                                         &a->portal->label,
                                         (ngx_http_crmsync_str_t *) &a->conv,
                                         &d->conv, &d->conv_found);

    if (ngx_http_crmsync_note_rc(a, rc, ngx_http_crmsync_tr_conv) != NGX_OK) {
        return;
    }

    if (!d->conv_found) {
        ngx_http_crmsync_act_done(a, NULL, "empty");
        return;
    }

    if (d->when && ngx_strcmp(d->when, "assigned") == 0 && !d->conv.human) {
        ngx_http_crmsync_tr_unassigned(a);
        return;
    }

    /* its own contact, else the conversation's, else it ends here */

    if (ngx_http_crmsync_act_contact(a) != NGX_OK) {
        return;
    }

    ngx_cpystrn((u_char *) d->contact, (u_char *) a->contact,
                sizeof(d->contact));

    ngx_http_crmsync_tr_messages(a);
}


/* crmsync_transcript_when assigned, and no person took part */

static void
ngx_http_crmsync_tr_unassigned(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (ngx_http_crmsync_tr_mark(a, d->conv.last_id,
                                 ngx_http_crmsync_tr_unassigned)
        != NGX_OK)
    {
        return;
    }

    ngx_http_crmsync_act_done(a, NULL, "not_assigned");
}


/* the conversation written up to upto, without a write */

static ngx_int_t
ngx_http_crmsync_tr_mark(ngx_http_crmsync_act_t *a, int64_t upto,
    ngx_http_crmsync_act_pt again)
{
    ngx_http_crmsync_store_rc_e  rc;

    rc = ngx_http_crmsync_store_conv_written(ngx_http_crmsync_store,
                                             (ngx_http_crmsync_str_t *)
                                             &a->portal->label,
                                             (ngx_http_crmsync_str_t *)
                                             &a->conv, upto);

    return ngx_http_crmsync_note_rc(a, rc, again);
}


static void
ngx_http_crmsync_tr_messages(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t      *d;
    ngx_http_crmsync_store_rc_e   rc;

    d = a->data;

    if (d->msgs) {
        ngx_http_crmsync_store_free_msgs(d->msgs, d->nmsgs);
        d->msgs = NULL;
        d->nmsgs = 0;
    }

    rc = ngx_http_crmsync_store_messages(ngx_http_crmsync_store,
                                         (ngx_http_crmsync_str_t *)
                                         &a->portal->label,
                                         (ngx_http_crmsync_str_t *) &a->conv,
                                         d->conv.written_upto, d->upto,
                                         &d->msgs, &d->nmsgs);

    if (ngx_http_crmsync_note_rc(a, rc, ngx_http_crmsync_tr_messages)
        != NGX_OK)
    {
        return;
    }

    if (d->nmsgs == 0) {
        ngx_http_crmsync_tr_empty(a);
        return;
    }

    ngx_http_crmsync_tr_deal(a);
}


/* nothing to write (written by another action): a closing conversation
   is closed all the same */

static void
ngx_http_crmsync_tr_empty(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (ngx_http_crmsync_tr_mark(a, d->conv.written_upto,
                                 ngx_http_crmsync_tr_empty)
        != NGX_OK)
    {
        return;
    }

    ngx_http_crmsync_act_done(a, NULL, "empty");
}


static void
ngx_http_crmsync_tr_deal(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t      *d;
    ngx_http_crmsync_store_rc_e   rc;

    d = a->data;

    d->deal[0] = '\0';

    if (d->pipeline) {
        rc = ngx_http_crmsync_store_deal_get(ngx_http_crmsync_store,
                                             (ngx_http_crmsync_str_t *)
                                             &a->portal->label, d->contact,
                                             d->pipeline, d->deal,
                                             sizeof(d->deal));

        if (ngx_http_crmsync_note_rc(a, rc, ngx_http_crmsync_tr_deal)
            != NGX_OK)
        {
            return;
        }
    }

    ngx_http_crmsync_tr_build(a);
}


static void
ngx_http_crmsync_tr_build(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (d->comms) {
        d->n = d->nmsgs;

    } else {
        if (ngx_http_crmsync_transcript_notes(d->msgs, d->nmsgs, d->channel,
                                              NGX_HTTP_CRMSYNC_NOTE_MAX,
                                              &d->notes, &d->nnotes)
            != 0)
        {
            d->notes = NULL;
            d->nnotes = 0;
            ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                       "transcript: no memory");
            return;
        }

        d->n = d->nnotes;
    }

    d->i = 0;
    d->first[0] = '\0';

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, a->log, 0,
                   "crmsync: action %L: %uz messages as %uz objects",
                   a->job->id, d->nmsgs, d->n);

    ngx_http_crmsync_tr_next(a);
}


static void
ngx_http_crmsync_tr_next(ngx_http_crmsync_act_t *a)
{
    u_char                          *p, *body;
    size_t                           len;
    json_t                          *props, *assocs, *text;
    ngx_http_crmsync_kw_t           *kw;
    ngx_http_crmsync_note_t         *d;
    ngx_http_crmsync_tnote_t        *note;
    ngx_http_crmsync_store_msg_t    *m;

    d = a->data;
    kw = &d->kw;

    if (d->i == d->n) {
        ngx_http_crmsync_tr_written(a);
        return;
    }

    if (kw->props) {
        json_decref(kw->props);
        kw->props = NULL;
    }

    if (kw->assocs) {
        json_decref(kw->assocs);
        kw->assocs = NULL;
    }

    props = json_object();
    assocs = json_array();

    if (props == NULL || assocs == NULL) {
        goto nomem;
    }

    kw->props = props;
    kw->assocs = assocs;
    kw->next = ngx_http_crmsync_tr_wrote;

    /* a message never changes: a communication written is left alone; a
       note is updated, it may have more messages now */
    kw->keep = d->comms;

    if (d->comms) {
        m = &d->msgs[d->i];

        kw->type = NGX_HTTP_CRMSYNC_KW_COMMS;
        p = ngx_snprintf((u_char *) kw->key, sizeof(kw->key), "comm:%V:%L",
                         &a->conv, m->id);

        body = ngx_http_crmsync_transcript_message(m, &len);
        if (body == NULL) {
            goto nomem;
        }

        text = ngx_http_crmsync_note_text(body, len);
        free(body);

        if (text == NULL
            || json_object_set_new(props, "hs_communication_body", text) != 0
            || json_object_set_new(props, "hs_communication_channel_type",
                                   json_string(d->channel_type)) != 0
            || json_object_set_new(props, "hs_communication_logged_from",
                                   json_string("CRM")) != 0
            || json_object_set_new(props, "hs_timestamp",
                                   ngx_http_crmsync_note_ms(m->at)) != 0
            || ngx_http_crmsync_note_assoc(assocs, d->contact,
                                           NGX_HTTP_CRMSYNC_COMM_CONTACT)
               != NGX_OK
            || (d->deal[0]
                && ngx_http_crmsync_note_assoc(assocs, d->deal,
                                               NGX_HTTP_CRMSYNC_COMM_DEAL)
                   != NGX_OK))
        {
            goto nomem;
        }

    } else {
        note = &d->notes[d->i];

        kw->type = NGX_HTTP_CRMSYNC_KW_NOTES;

        /* a message too long for one note goes on in the next ones,
           which begin with it too: "note:<conv>:<first>.<part>" */

        if (note->part == 0) {
            p = ngx_snprintf((u_char *) kw->key, sizeof(kw->key),
                             "note:%V:%L", &a->conv, note->first);

        } else {
            p = ngx_snprintf((u_char *) kw->key, sizeof(kw->key),
                             "note:%V:%L.%ui", &a->conv, note->first,
                             (ngx_uint_t) note->part);
        }

        text = ngx_http_crmsync_note_text(note->body, note->len);

        if (text == NULL
            || json_object_set_new(props, "hs_note_body", text) != 0
            || json_object_set_new(props, "hs_timestamp",
                                   ngx_http_crmsync_note_ms(d->closed_at))
               != 0
            || ngx_http_crmsync_note_assoc(assocs, d->contact,
                                           NGX_HTTP_CRMSYNC_NOTE_CONTACT)
               != NGX_OK
            || (d->deal[0]
                && ngx_http_crmsync_note_assoc(assocs, d->deal,
                                               NGX_HTTP_CRMSYNC_NOTE_DEAL)
                   != NGX_OK))
        {
            goto nomem;
        }
    }

    if (p >= (u_char *) kw->key + sizeof(kw->key)) {
        ngx_http_crmsync_act_dead(a, "conversation key too long",
                                  "CRMSYNC");
        return;
    }

    *p = '\0';

    ngx_http_crmsync_kw_start(a);
    return;

nomem:

    if (props && props != kw->props) {
        json_decref(props);
    }

    if (assocs && assocs != kw->assocs) {
        json_decref(assocs);
    }

    ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM, "no memory");
}


static void
ngx_http_crmsync_tr_wrote(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (d->i == 0) {
        ngx_cpystrn((u_char *) d->first, (u_char *) d->kw.id,
                    sizeof(d->first));
    }

    d->i++;

    /* objects known already are passed without a call: a timer now and
       then keeps the stack short */

    if (d->i % NGX_HTTP_CRMSYNC_NOTE_BREAK == 0) {
        ngx_http_crmsync_act_later(a, 1, ngx_http_crmsync_tr_next);
        return;
    }

    ngx_http_crmsync_tr_next(a);
}


static void
ngx_http_crmsync_tr_written(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t      *d;
    ngx_http_crmsync_store_rc_e   rc;

    d = a->data;

    rc = ngx_http_crmsync_store_conv_written(ngx_http_crmsync_store,
                                             (ngx_http_crmsync_str_t *)
                                             &a->portal->label,
                                             (ngx_http_crmsync_str_t *)
                                             &a->conv,
                                             d->msgs[d->nmsgs - 1].id);

    if (ngx_http_crmsync_note_rc(a, rc, ngx_http_crmsync_tr_written)
        != NGX_OK)
    {
        return;
    }

    if (d->comms) {
        *ngx_snprintf((u_char *) d->note, sizeof(d->note) - 1,
                      "communications: %uz", d->n) = '\0';

    } else if (d->n == 1) {
        ngx_cpystrn((u_char *) d->note, (u_char *) "note", sizeof(d->note));

    } else {
        *ngx_snprintf((u_char *) d->note, sizeof(d->note) - 1,
                      "notes: %uz", d->n) = '\0';
    }

    ngx_log_error(NGX_LOG_INFO, a->log, 0,
                  "crmsync: action %L: transcript of %uz messages written "
                  "to contact %s as %s, first %s", a->job->id, d->nmsgs,
                  d->contact, d->note, d->first);

    ngx_http_crmsync_act_done(a, d->first[0] ? d->first : NULL, d->note);
}


/*
 * Tasks: {"subject","due","owner","key","at"}: one task per key, never
 * changed once written (an agent may have completed it).
 */

void
ngx_http_crmsync_act_task(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = ngx_http_crmsync_note_alloc(a);
    if (d == NULL) {
        ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                   "no memory");
        return;
    }

    if (!json_is_object(a->payload)) {
        ngx_http_crmsync_act_dead(a, "bad_payload", "CRMSYNC");
        return;
    }

    d->subject = ngx_http_crmsync_note_str(a->payload, "subject");
    d->owner_spec = ngx_http_crmsync_note_str(a->payload, "owner");
    d->task_key = ngx_http_crmsync_note_str(a->payload, "key");
    d->due = ngx_http_crmsync_note_int(a->payload, "due",
                                       NGX_HTTP_CRMSYNC_DUE_DEFAULT);
    d->at = ngx_http_crmsync_note_int(a->payload, "at", 0);

    if (d->subject == NULL || d->task_key == NULL
        || ngx_strlen(d->task_key) >= NGX_HTTP_CRMSYNC_KEY_MAX)
    {
        ngx_http_crmsync_act_dead(a, "bad_payload", "CRMSYNC");
        return;
    }

    if (d->at <= 0) {
        d->at = a->job->received_at;
    }

    /* its own contact, else its conversation's, else it ends here */

    if (ngx_http_crmsync_act_contact(a) != NGX_OK) {
        return;
    }

    ngx_cpystrn((u_char *) d->contact, (u_char *) a->contact,
                sizeof(d->contact));

    ngx_http_crmsync_tk_owner(a);
}


static void
ngx_http_crmsync_tk_owner(ngx_http_crmsync_act_t *a)
{
    char                      rest[96];
    char                      path[NGX_HTTP_CRMSYNC_PATH_MAX];
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    d->owner[0] = '\0';

    if (d->owner_spec == NULL) {
        ngx_http_crmsync_tk_write(a);
        return;
    }

    if (ngx_strcmp(d->owner_spec, "contact_owner") == 0) {
        *ngx_snprintf((u_char *) rest, sizeof(rest) - 1,
                      "/%s?properties=hubspot_owner_id", d->contact) = '\0';

        ngx_http_crmsync_note_path(a, path, "objects", "contacts", rest);

        ngx_http_crmsync_act_call(a, "GET", path, NULL, 0,
                                  ngx_http_crmsync_tk_owner_got);
        return;
    }

    ngx_http_crmsync_act_owner_find(a, d->owner_spec, d->owner,
                                    sizeof(d->owner),
                                    ngx_http_crmsync_tk_owner_found);
}


static void
ngx_http_crmsync_tk_owner_got(ngx_http_crmsync_act_t *a)
{
    json_t                   *answer;
    const char               *owner;
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (a->call.status != 200) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    answer = ngx_http_crmsync_note_answer(a);
    if (answer == NULL) {
        ngx_http_crmsync_act_failed(a);
        return;
    }

    owner = json_string_value(json_object_get(
                                  json_object_get(answer, "properties"),
                                  "hubspot_owner_id"));

    if (owner && owner[0] && ngx_strlen(owner) < sizeof(d->owner)) {
        ngx_cpystrn((u_char *) d->owner, (u_char *) owner,
                    sizeof(d->owner));
    }

    json_decref(answer);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, a->log, 0,
                   "crmsync: action %L: the contact's owner is \"%s\"",
                   a->job->id, d->owner);

    ngx_http_crmsync_tk_write(a);
}


static void
ngx_http_crmsync_tk_owner_found(ngx_http_crmsync_act_t *a)
{
    char                      masked[128];
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    if (d->owner[0] == '\0') {
        ngx_log_error(NGX_LOG_WARN, a->log, 0,
                      "crmsync: action %L: %s is no owner of portal "
                      "\"%V\": the task gets no owner", a->job->id,
                      ngx_http_crmsync_mask(NGX_HTTP_CRMSYNC_ID_EMAIL,
                                            (u_char *) d->owner_spec,
                                            ngx_strlen(d->owner_spec),
                                            masked, sizeof(masked)),
                      &a->portal->label);
    }

    ngx_http_crmsync_tk_write(a);
}


static void
ngx_http_crmsync_tk_write(ngx_http_crmsync_act_t *a)
{
    json_t                   *props, *assocs;
    ngx_http_crmsync_kw_t    *kw;
    ngx_http_crmsync_note_t  *d;

    d = a->data;
    kw = &d->kw;

    props = json_object();
    assocs = json_array();

    if (props == NULL || assocs == NULL
        || json_object_set_new(props, "hs_task_subject",
                               json_string(d->subject)) != 0
        || json_object_set_new(props, "hs_task_status",
                               json_string("NOT_STARTED")) != 0
        || json_object_set_new(props, "hs_task_priority",
                               json_string("HIGH")) != 0
        || json_object_set_new(props, "hs_timestamp",
                               ngx_http_crmsync_note_ms(d->at + d->due)) != 0
        || (d->owner[0]
            && json_object_set_new(props, "hubspot_owner_id",
                                   json_string(d->owner)) != 0)
        || ngx_http_crmsync_note_assoc(assocs, d->contact,
                                       NGX_HTTP_CRMSYNC_TASK_CONTACT)
           != NGX_OK)
    {
        if (props) {
            json_decref(props);
        }

        if (assocs) {
            json_decref(assocs);
        }

        ngx_http_crmsync_act_retry(a, NGX_HTTP_CRMSYNC_NOTE_NOMEM,
                                   "no memory");
        return;
    }

    kw->type = NGX_HTTP_CRMSYNC_KW_TASKS;
    kw->props = props;
    kw->assocs = assocs;
    kw->keep = 1;
    kw->next = ngx_http_crmsync_tk_written;

    ngx_cpystrn((u_char *) kw->key, (u_char *) d->task_key, sizeof(kw->key));

    ngx_http_crmsync_kw_start(a);
}


static void
ngx_http_crmsync_tk_written(ngx_http_crmsync_act_t *a)
{
    ngx_http_crmsync_note_t  *d;

    d = a->data;

    ngx_log_error(NGX_LOG_INFO, a->log, 0,
                  "crmsync: action %L: task %s of contact %s %s",
                  a->job->id, d->kw.id, d->contact,
                  d->kw.existed ? "exists" : "created");

    ngx_http_crmsync_act_done(a, d->kw.id,
                              d->kw.existed ? "exists" : "created");
}

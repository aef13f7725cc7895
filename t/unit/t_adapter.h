
/*
 * Copyright (C) crmsync authors
 *
 * What the adapter unit tests share: loading samples, parsing them into
 * an arena, asserting every field of an event, and the mutation sweeps
 * (every prefix refused; every member replaced with every other JSON
 * type, without a crash and with a refusal or a consistent parse).
 * A test file defines T_PROVIDER (a constant, or a variable where one
 * file tests several providers), includes cmocka, jansson and
 * ngx_http_crmsync_event.h, then this file.
 */


#ifndef _T_ADAPTER_H_INCLUDED_
#define _T_ADAPTER_H_INCLUDED_


/* what one event must be, every field; NULL is "" */
typedef struct {
    ngx_http_crmsync_event_type_e   type;
    const char                     *delivery_id;
    int64_t                         occurred_at;
    const char                     *email;
    const char                     *phone;
    const char                     *phone_alt;
    const char                     *whatsapp_id;
    const char                     *messenger_psid;
    const char                     *instagram_id;
    const char                     *telegram_id;
    const char                     *telegram_username;
    const char                     *platform_id;
    const char                     *hubspot_id;
    const char                     *first_name;
    const char                     *last_name;
    const char                     *conversation_id;
    ngx_http_crmsync_author_e       author;
    const char                     *message_id;
    const char                     *text;
    const char                     *status;
    unsigned                        attachments;
    const char                     *assignee;
    const char                     *attrs;      /* "name=value;..." */
    int                             csat;
    const char                     *property;
    const char                     *property_value;
    const char                     *merged_ids;
} t_expect_t;


typedef struct {
    ngx_http_crmsync_parse_t        p;
    ngx_http_crmsync_parse_rc_e     rc;
    u_char                         *arena;
    u_char                         *body;
} t_run_t;


static t_run_t   t_r;

/* the bodies are x-www-form-urlencoded (Twilio); a test file sets it */
static unsigned  t_form;


/* helpers */


static char *
t_load(const char *name, size_t *len)
{
    long         n;
    char         path[512], *buf;
    FILE        *f;
    const char  *dir;

    dir = getenv("CRMSYNC_SAMPLES");
    if (dir == NULL) {
        dir = "t/samples";
    }

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s (run from the repository root)", path);
    }

    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);

    buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, n, f), (size_t) n);
    buf[n] = '\0';
    fclose(f);

    *len = n;

    return buf;
}


static void
t_done(void)
{
    free(t_r.arena);
    free(t_r.body);
    memset(&t_r, 0, sizeof(t_r));
}


/* parse len bytes from an exact-size heap copy: overreads are caught */

static ngx_http_crmsync_parse_rc_e
t_parse_len(const char *body, size_t len, const char *region)
{
    size_t  size;

    t_done();

    t_r.body = malloc(len ? len : 1);
    assert_non_null(t_r.body);
    memcpy(t_r.body, body, len);

    size = ngx_http_crmsync_parse_arena_size(len);
    t_r.arena = malloc(size);
    assert_non_null(t_r.arena);

    t_r.p.provider = T_PROVIDER;
    t_r.p.default_region = region;
    t_r.p.form = t_form;
    t_r.p.arena.start = t_r.arena;
    t_r.p.arena.pos = t_r.arena;
    t_r.p.arena.end = t_r.arena + size;

    t_r.rc = ngx_http_crmsync_parse(&t_r.p, t_r.body, len);

    if (t_r.rc == NGX_HTTP_CRMSYNC_PARSE_OK) {
        assert_true(t_r.p.nevents >= 1);
        assert_non_null(t_r.p.events);

    } else {
        assert_int_equal(t_r.p.nevents, 0);
        assert_non_null(t_r.p.reason);
    }

    return t_r.rc;
}


static ngx_http_crmsync_parse_rc_e
t_parse(const char *body)
{
    return t_parse_len(body, strlen(body), "US");
}


static ngx_http_crmsync_parse_rc_e
t_parse_file(const char *name)
{
    char    *body;
    size_t   len;

    body = t_load(name, &len);
    t_parse_len(body, len, "US");
    free(body);

    return t_r.rc;
}


/* the last parse gave events, and no reason; not every file asks */

static void __attribute__((unused))
t_ok(void)
{
    if (t_r.rc != NGX_HTTP_CRMSYNC_PARSE_OK) {
        fail_msg("rc %d \"%s\", expected events", (int) t_r.rc,
                 t_r.p.reason);
    }

    assert_null(t_r.p.reason);
}


static void
t_refused(ngx_http_crmsync_parse_rc_e rc, const char *reason)
{
    assert_int_equal(t_r.rc, rc);
    assert_string_equal(t_r.p.reason, reason);
}


static void
t_str(const ngx_http_crmsync_str_t *s, const char *expect, const char *what)
{
    char  buf[4096];

    if (expect == NULL) {
        expect = "";
    }

    assert_true(s->len < sizeof(buf));

    if (s->len) {
        assert_non_null(s->data);
        memcpy(buf, s->data, s->len);
    }

    buf[s->len] = '\0';

    if (strcmp(buf, expect) != 0 || s->len != strlen(expect)) {
        fail_msg("%s: \"%s\", expected \"%s\"", what, buf, expect);
    }
}


static void
t_event(size_t i, const t_expect_t *e)
{
    char                       attrs[4096];
    size_t                     k, n;
    ngx_http_crmsync_event_t  *ev;

    assert_true(i < t_r.p.nevents);
    ev = &t_r.p.events[i];

    assert_int_equal(ev->provider, T_PROVIDER);
    assert_int_equal(ev->type, e->type);
    t_str(&ev->delivery_id, e->delivery_id, "delivery_id");
    assert_int_equal(ev->occurred_at, e->occurred_at);

    t_str(&ev->identity.email, e->email, "email");
    t_str(&ev->identity.phone, e->phone, "phone");
    t_str(&ev->identity.phone_alt, e->phone_alt, "phone_alt");
    t_str(&ev->identity.whatsapp_id, e->whatsapp_id, "whatsapp_id");
    t_str(&ev->identity.messenger_psid, e->messenger_psid,
          "messenger_psid");
    t_str(&ev->identity.instagram_id, e->instagram_id, "instagram_id");
    t_str(&ev->identity.telegram_id, e->telegram_id, "telegram_id");
    t_str(&ev->identity.telegram_username, e->telegram_username,
          "telegram_username");
    t_str(&ev->identity.platform_id, e->platform_id, "platform_id");
    t_str(&ev->identity.hubspot_id, e->hubspot_id, "hubspot_id");

    t_str(&ev->first_name, e->first_name, "first_name");
    t_str(&ev->last_name, e->last_name, "last_name");
    t_str(&ev->conversation_id, e->conversation_id, "conversation_id");

    assert_int_equal(ev->author, e->author);
    t_str(&ev->message_id, e->message_id, "message_id");
    t_str(&ev->text, e->text, "text");
    t_str(&ev->status, e->status, "status");
    assert_int_equal(ev->attachments, e->attachments);
    t_str(&ev->assignee, e->assignee, "assignee");

    n = 0;
    attrs[0] = '\0';

    for (k = 0; k < ev->nattrs; k++) {
        n += snprintf(attrs + n, sizeof(attrs) - n, "%s%.*s=%.*s",
                      k ? ";" : "",
                      (int) ev->attrs[k].name.len,
                      (char *) ev->attrs[k].name.data,
                      (int) ev->attrs[k].value.len,
                      (char *) ev->attrs[k].value.data);
        assert_true(n < sizeof(attrs));
    }

    assert_string_equal(attrs, e->attrs ? e->attrs : "");

    assert_int_equal(ev->csat, e->csat);
    t_str(&ev->property, e->property, "property");
    t_str(&ev->property_value, e->property_value, "property_value");
    t_str(&ev->merged_ids, e->merged_ids, "merged_ids");
}


/* the events of the last parse as $crmsync_event shows them */

static void __attribute__((unused))
t_json(const char *expect)
{
    char    json[4096];
    size_t  n;

    n = ngx_http_crmsync_events_json(t_r.p.events, t_r.p.nevents,
                                     (u_char *) json, sizeof(json) - 1);
    assert_true(n < sizeof(json));
    json[n] = '\0';

    assert_string_equal(json, expect);
}


/*
 * Robustness: every proper prefix of a sample is refused as bad JSON,
 * and every member replaced by a value of each other type parses to a
 * result with a reason or to well-formed events, without a crash or an
 * overread (run under valgrind by "make test").
 */

static size_t
t_count(json_t *j)
{
    size_t       n, i;
    json_t      *v;
    const char  *k;

    n = 1;

    if (json_is_object(j)) {
        json_object_foreach(j, k, v) {
            n += t_count(v);
        }

    } else if (json_is_array(j)) {
        for (i = 0; i < json_array_size(j); i++) {
            n += t_count(json_array_get(j, i));
        }
    }

    return n;
}


static int
t_replace(json_t *j, size_t *k, size_t target, json_t *with)
{
    size_t       i;
    json_t      *v;
    const char  *key;

    if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if ((*k)++ == target) {
                json_object_set(j, key, with);
                return 1;
            }

            if (t_replace(v, k, target, with)) {
                return 1;
            }
        }

    } else if (json_is_array(j)) {
        for (i = 0; i < json_array_size(j); i++) {
            if ((*k)++ == target) {
                json_array_set(j, i, with);
                return 1;
            }

            if (t_replace(json_array_get(j, i), k, target, with)) {
                return 1;
            }
        }
    }

    return 0;
}


static void
t_check_events(void)
{
    size_t                     i;
    ngx_http_crmsync_event_t  *ev;

    for (i = 0; i < t_r.p.nevents; i++) {
        ev = &t_r.p.events[i];

        assert_int_equal(ev->provider, T_PROVIDER);
        assert_true(ev->type > NGX_HTTP_CRMSYNC_EV_NONE
                    && ev->type < NGX_HTTP_CRMSYNC_EV_MAX);
        assert_true(ev->author <= NGX_HTTP_CRMSYNC_AUTHOR_NOTE);
        assert_true(ev->nattrs == 0 || ev->attrs != NULL);
        assert_true(ev->text.len == 0 || ev->text.data != NULL);
    }
}


static void
t_mutations_body(const char *body, size_t len, size_t stride)
{
    char        *s;
    size_t       i, n, k, w, last;
    json_t      *root, *copy, *with[6];
    json_error_t err;

    /* truncated */

    last = len;
    while (last && body[last - 1] != '}' && body[last - 1] != ']') {
        last--;
    }

    for (i = 0; i < last; i += stride) {
        t_parse_len(body, i, "US");
        assert_int_equal(t_r.rc, NGX_HTTP_CRMSYNC_PARSE_MALFORMED);
    }

    /* every member with every other type */

    root = json_loadb(body, len, 0, &err);
    assert_non_null(root);

    with[0] = json_null();
    with[1] = json_integer(-7);
    with[2] = json_string("");
    with[3] = json_string("<p>x</p>");
    with[4] = json_array();
    with[5] = json_object();

    /* the members and elements, the root left out */

    n = t_count(root) - 1;

    for (i = 0; i < n; i++) {
        for (w = 0; w < 6; w++) {
            copy = json_deep_copy(root);
            k = 0;
            assert_true(t_replace(copy, &k, i, with[w]));

            s = json_dumps(copy, JSON_COMPACT);
            assert_non_null(s);

            t_parse_len(s, strlen(s), (w & 1) ? NULL : "US");
            t_check_events();

            free(s);
            json_decref(copy);
        }
    }

    for (w = 0; w < 6; w++) {
        json_decref(with[w]);
    }

    json_decref(root);
    t_done();
}


/* not every file sweeps mutations: Twilio's bodies are forms */

static void __attribute__((unused))
t_mutations(const char *name, size_t stride)
{
    char    *body;
    size_t   len;

    body = t_load(name, &len);
    t_mutations_body(body, len, stride);
    free(body);
}


#endif /* _T_ADAPTER_H_INCLUDED_ */

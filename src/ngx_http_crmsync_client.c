
/*
 * Copyright (C) crmsync authors
 *
 * libcurl's multi interface inside nginx's event loop, after the pattern
 * and pitfalls in shared/research/nginx-anchors.md section 2: sockets
 * registered level-triggered on connections of their own that never
 * close the descriptor (libcurl owns it), curl's timer on an nginx timer
 * that is deleted before every re-arm, and no curl call from inside a
 * curl callback.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <curl/curl.h>

#include "ngx_http_crmsync_client.h"


static int ngx_http_crmsync_client_socket(CURL *easy, curl_socket_t s,
    int what, void *userp, void *socketp);
static int ngx_http_crmsync_client_timer(CURLM *multi, long timeout_ms,
    void *userp);
static void ngx_http_crmsync_client_timeout(ngx_event_t *ev);
static void ngx_http_crmsync_client_read(ngx_event_t *ev);
static void ngx_http_crmsync_client_write(ngx_event_t *ev);
static void ngx_http_crmsync_client_done(void);
static void ngx_http_crmsync_client_release(ngx_connection_t *c);


static CURLM              *ngx_http_crmsync_multi;
static ngx_queue_t         ngx_http_crmsync_calls;
static ngx_uint_t          ngx_http_crmsync_ncalls;
static ngx_event_t         ngx_http_crmsync_curl_timer;
static ngx_connection_t    ngx_http_crmsync_curl_dummy;
static ngx_log_t          *ngx_http_crmsync_client_log;


ngx_int_t
ngx_http_crmsync_client_init(ngx_cycle_t *cycle)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "crmsync: curl_global_init() failed");
        return NGX_ERROR;
    }

    ngx_http_crmsync_multi = curl_multi_init();
    if (ngx_http_crmsync_multi == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "crmsync: curl_multi_init() failed");
        return NGX_ERROR;
    }

    ngx_http_crmsync_client_log = cycle->log;
    ngx_queue_init(&ngx_http_crmsync_calls);

    curl_multi_setopt(ngx_http_crmsync_multi, CURLMOPT_SOCKETFUNCTION,
                      ngx_http_crmsync_client_socket);
    curl_multi_setopt(ngx_http_crmsync_multi, CURLMOPT_TIMERFUNCTION,
                      ngx_http_crmsync_client_timer);
    curl_multi_setopt(ngx_http_crmsync_multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      4L);
    curl_multi_setopt(ngx_http_crmsync_multi, CURLMOPT_MAXCONNECTS, 8L);

    ngx_http_crmsync_curl_dummy.fd = (ngx_socket_t) -1;

    ngx_http_crmsync_curl_timer.handler = ngx_http_crmsync_client_timeout;
    ngx_http_crmsync_curl_timer.data = &ngx_http_crmsync_curl_dummy;
    ngx_http_crmsync_curl_timer.log = cycle->log;
    ngx_http_crmsync_curl_timer.cancelable = 1;

    return NGX_OK;
}


void
ngx_http_crmsync_client_exit(void)
{
    if (ngx_http_crmsync_multi == NULL) {
        return;
    }

    ngx_http_crmsync_client_abort();

    /* closes the cached connections: POLL_REMOVE releases each */
    curl_multi_cleanup(ngx_http_crmsync_multi);
    ngx_http_crmsync_multi = NULL;

    if (ngx_http_crmsync_curl_timer.timer_set) {
        ngx_del_timer(&ngx_http_crmsync_curl_timer);
    }

    curl_global_cleanup();
}


static size_t
ngx_http_crmsync_client_body(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_crmsync_call_t *call = userdata;

    u_char  *p;
    size_t   n;

    n = size * nmemb;

    if (call->answer_len + n > NGX_HTTP_CRMSYNC_ANSWER_MAX) {
        return 0;    /* fails the transfer: CURLE_WRITE_ERROR */
    }

    p = realloc(call->answer, call->answer_len + n + 1);
    if (p == NULL) {
        return 0;
    }

    ngx_memcpy(p + call->answer_len, ptr, n);
    call->answer = p;
    call->answer_len += n;
    p[call->answer_len] = '\0';

    return n;
}


static size_t
ngx_http_crmsync_client_header(char *ptr, size_t size, size_t nmemb,
    void *userdata)
{
    ngx_http_crmsync_call_t *call = userdata;

    size_t   n, len;
    u_char  *p, *last;

    static const char  name[] = "x-hubspot-correlation-id:";

    n = size * nmemb;
    len = sizeof(name) - 1;

    if (n > len && ngx_strncasecmp((u_char *) ptr, (u_char *) name, len) == 0)
    {
        p = (u_char *) ptr + len;
        last = (u_char *) ptr + n;

        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        while (last > p && (last[-1] == CR || last[-1] == LF
                            || last[-1] == ' '))
        {
            last--;
        }

        len = ngx_min((size_t) (last - p), sizeof(call->correlation) - 1);
        ngx_memcpy(call->correlation, p, len);
        call->correlation[len] = '\0';
    }

    return n;
}


ngx_int_t
ngx_http_crmsync_client_send(ngx_http_crmsync_call_t *call)
{
    u_char              auth[1024], *p;
    CURL               *easy;
    struct curl_slist  *h, *headers;

    if (ngx_http_crmsync_multi == NULL
        || call->token.len > sizeof(auth) - sizeof("Authorization: Bearer "))
    {
        return NGX_ERROR;
    }

    easy = curl_easy_init();
    if (easy == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(auth, "Authorization: Bearer %V", &call->token);
    *p = '\0';

    headers = NULL;

    h = curl_slist_append(headers, (char *) auth);
    ngx_explicit_memzero(auth, sizeof(auth));

    if (h == NULL) {
        goto failed;
    }

    headers = h;

    h = curl_slist_append(headers, "Content-Type: application/json");
    if (h == NULL) {
        goto failed;
    }

    h = curl_slist_append(headers, "Accept: application/json");
    if (h == NULL) {
        goto failed;
    }

    h = curl_slist_append(headers, "Expect:");
    if (h == NULL) {
        goto failed;
    }

    call->easy = easy;
    call->headers = headers;
    call->status = 0;
    call->answer = NULL;
    call->answer_len = 0;
    call->error[0] = '\0';
    call->correlation[0] = '\0';
    call->aborted = 0;

    curl_easy_setopt(easy, CURLOPT_URL, (char *) call->url);
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, call->method);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) call->timeout);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) ngx_min(call->timeout, 10000));
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, call->error);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION,
                     ngx_http_crmsync_client_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION,
                     ngx_http_crmsync_client_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, call);
    curl_easy_setopt(easy, CURLOPT_DNS_CACHE_TIMEOUT, 300L);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);

    if (call->fresh) {
        curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
    }

    if (call->ca_file.len) {
        curl_easy_setopt(easy, CURLOPT_CAINFO, (char *) call->ca_file.data);
    }

    if (call->body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (char *) call->body);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t) call->body_len);
    }

    if (curl_multi_add_handle(ngx_http_crmsync_multi, easy) != CURLM_OK) {
        curl_slist_free_all(headers);
        curl_easy_cleanup(easy);
        call->easy = NULL;
        call->headers = NULL;
        return NGX_ERROR;
    }

    call->start = ngx_current_msec;

    ngx_queue_insert_tail(&ngx_http_crmsync_calls, &call->queue);
    ngx_http_crmsync_ncalls++;

    return NGX_OK;

failed:

    curl_slist_free_all(headers);
    curl_easy_cleanup(easy);

    return NGX_ERROR;
}


ngx_uint_t
ngx_http_crmsync_client_active(void)
{
    return ngx_http_crmsync_ncalls;
}


void
ngx_http_crmsync_call_free(ngx_http_crmsync_call_t *call)
{
    free(call->answer);
    call->answer = NULL;
    call->answer_len = 0;
}


/* a call leaves the multi handle, and its handler runs */

static void
ngx_http_crmsync_client_finish(ngx_http_crmsync_call_t *call, CURLcode rc)
{
    long   status;
    CURL  *easy;

    easy = call->easy;

    status = 0;

    if (rc == CURLE_OK) {
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);

    } else if (call->error[0] == '\0') {
        ngx_cpystrn((u_char *) call->error,
                    (u_char *) curl_easy_strerror(rc), sizeof(call->error));
    }

    curl_multi_remove_handle(ngx_http_crmsync_multi, easy);
    curl_slist_free_all(call->headers);
    curl_easy_cleanup(easy);

    call->easy = NULL;
    call->headers = NULL;
    call->status = status;
    call->duration = ngx_current_msec - call->start;

    ngx_queue_remove(&call->queue);
    ngx_http_crmsync_ncalls--;

    call->handler(call);
}


static void
ngx_http_crmsync_client_done(void)
{
    int                       pending;
    CURL                     *easy;
    CURLMsg                  *msg;
    CURLcode                  rc;
    ngx_http_crmsync_call_t  *call;

    while ((msg = curl_multi_info_read(ngx_http_crmsync_multi, &pending))) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        /* the message is gone once the handle is removed: copy first */

        easy = msg->easy_handle;
        rc = msg->data.result;

        call = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &call);

        ngx_http_crmsync_client_finish(call, rc);
    }
}


void
ngx_http_crmsync_client_abort(void)
{
    ngx_queue_t              *q;
    ngx_http_crmsync_call_t  *call;

    while (!ngx_queue_empty(&ngx_http_crmsync_calls)) {
        q = ngx_queue_head(&ngx_http_crmsync_calls);
        call = ngx_queue_data(q, ngx_http_crmsync_call_t, queue);

        call->aborted = 1;
        ngx_cpystrn((u_char *) call->error, (u_char *) "worker exiting",
                    sizeof(call->error));

        ngx_http_crmsync_client_finish(call, CURLE_ABORTED_BY_CALLBACK);
    }
}


static int
ngx_http_crmsync_client_socket(CURL *easy, curl_socket_t s, int what,
    void *userp, void *socketp)
{
    ngx_connection_t  *c = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (c) {
            ngx_http_crmsync_client_release(c);
            curl_multi_assign(ngx_http_crmsync_multi, s, NULL);
        }

        return 0;
    }

    if (c == NULL) {
        c = ngx_get_connection(s, ngx_http_crmsync_client_log);
        if (c == NULL) {
            return -1;
        }

        c->data = NULL;
        c->log = ngx_http_crmsync_client_log;
        c->read->handler = ngx_http_crmsync_client_read;
        c->read->log = c->log;
        c->write->handler = ngx_http_crmsync_client_write;
        c->write->log = c->log;

        curl_multi_assign(ngx_http_crmsync_multi, s, c);
    }

    /* level-triggered: libcurl does not promise to read to EAGAIN */

    if ((what & CURL_POLL_IN) && !c->read->active) {
        if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return -1;
        }

    } else if (!(what & CURL_POLL_IN) && c->read->active) {
        if (ngx_del_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
            return -1;
        }
    }

    if ((what & CURL_POLL_OUT) && !c->write->active) {
        if (ngx_add_event(c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            != NGX_OK)
        {
            return -1;
        }

    } else if (!(what & CURL_POLL_OUT) && c->write->active) {
        if (ngx_del_event(c->write, NGX_WRITE_EVENT, 0) != NGX_OK) {
            return -1;
        }
    }

    return 0;
}


/* ngx_close_connection() without the close(): the descriptor is curl's */

static void
ngx_http_crmsync_client_release(ngx_connection_t *c)
{
    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}


static int
ngx_http_crmsync_client_timer(CURLM *multi, long timeout_ms, void *userp)
{
    if (ngx_http_crmsync_curl_timer.timer_set) {
        ngx_del_timer(&ngx_http_crmsync_curl_timer);
    }

    if (timeout_ms >= 0) {
        ngx_add_timer(&ngx_http_crmsync_curl_timer, (ngx_msec_t) timeout_ms);
    }

    return 0;
}


static void
ngx_http_crmsync_client_action(curl_socket_t s, int mask)
{
    int  running;

    if (curl_multi_socket_action(ngx_http_crmsync_multi, s, mask, &running)
        != CURLM_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_http_crmsync_client_log, 0,
                      "crmsync: curl_multi_socket_action() failed, "
                      "aborting the calls in flight");
        ngx_http_crmsync_client_abort();
        return;
    }

    ngx_http_crmsync_client_done();
}


static void
ngx_http_crmsync_client_timeout(ngx_event_t *ev)
{
    ngx_http_crmsync_client_action(CURL_SOCKET_TIMEOUT, 0);
}


static void
ngx_http_crmsync_client_read(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    if (c->close) {
        /* worker_shutdown_timeout: every call ends now */
        ngx_http_crmsync_client_abort();
        return;
    }

    ev->ready = 0;

    ngx_http_crmsync_client_action(c->fd, CURL_CSELECT_IN
                                          | (ev->error ? CURL_CSELECT_ERR
                                                       : 0));
}


static void
ngx_http_crmsync_client_write(ngx_event_t *ev)
{
    ngx_connection_t  *c = ev->data;

    ev->ready = 0;

    ngx_http_crmsync_client_action(c->fd, CURL_CSELECT_OUT
                                          | (ev->error ? CURL_CSELECT_ERR
                                                       : 0));
}


/*
 * Copyright (C) crmsync authors
 *
 * The worker's HTTP client: libcurl's multi interface driven by nginx's
 * event loop.  Keep-alive connections, TLS with verification, nothing
 * that blocks the worker.
 */


#ifndef _NGX_HTTP_CRMSYNC_CLIENT_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_CLIENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_HTTP_CRMSYNC_ANSWER_MAX  (8 * 1024 * 1024)


typedef struct ngx_http_crmsync_call_s  ngx_http_crmsync_call_t;

typedef void (*ngx_http_crmsync_call_pt)(ngx_http_crmsync_call_t *call);


struct ngx_http_crmsync_call_s {
    /* in: set by the caller; the body and the call are the caller's */
    const char                 *method;
    u_char                      url[1024];      /* NUL-terminated */
    ngx_str_t                   token;
    ngx_str_t                   ca_file;        /* NUL-terminated or empty */
    u_char                     *body;
    size_t                      body_len;
    ngx_msec_t                  timeout;
    ngx_http_crmsync_call_pt    handler;
    void                       *data;
    unsigned                    fresh:1;        /* a new connection: libcurl
                                                   sends a request again,
                                                   unasked, when a reused
                                                   connection dies before
                                                   any answer; a create must
                                                   never go twice */

    /* out: once handler runs */
    long                        status;         /* 0: no answer */
    u_char                     *answer;         /* malloc()ed, NUL-ended */
    size_t                      answer_len;
    char                        error[256];     /* transport error */
    char                        correlation[64];
    ngx_msec_t                  duration;
    unsigned                    aborted:1;      /* the worker is exiting */

    /* the client's */
    void                       *easy;
    void                       *headers;
    ngx_msec_t                  start;
    ngx_queue_t                 queue;
};


ngx_int_t ngx_http_crmsync_client_init(ngx_cycle_t *cycle);
void ngx_http_crmsync_client_exit(void);

/* NGX_OK: handler runs later, never from inside this call */
ngx_int_t ngx_http_crmsync_client_send(ngx_http_crmsync_call_t *call);

/* every call in flight ends now: handler runs with aborted set */
void ngx_http_crmsync_client_abort(void);

ngx_uint_t ngx_http_crmsync_client_active(void);

void ngx_http_crmsync_call_free(ngx_http_crmsync_call_t *call);


#endif /* _NGX_HTTP_CRMSYNC_CLIENT_H_INCLUDED_ */

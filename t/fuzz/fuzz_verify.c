
/*
 * Copyright (C) crmsync authors
 *
 * libFuzzer target for the signature verifiers.  Input layout:
 *
 *   byte 0     provider (1 + byte % 9)
 *   byte 1     bit 0: form body; bit 1: 300 s window; bits 2-4: how many
 *              of the test secrets to configure (0-7)
 *   byte 2     the clock: one of the test vectors' timestamps
 *   bytes 3-4  a signed offset added to the clock, in seconds
 *   then text  "url\nmethod\nName: value\n...\n\nbody" (the body is the
 *              rest, binary)
 *
 * The secrets are the test vectors' ones, so seeds made from the vectors
 * reach the "ok" paths.  The form helpers also run over the body.
 */


#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_http_crmsync_verify.h"


#define NGX_HTTP_CRMSYNC_FUZZ_HEADERS  32


static ngx_http_crmsync_str_t  ngx_http_crmsync_fuzz_secrets[] = {
    ngx_http_crmsync_string("test_app_secret"),
    ngx_http_crmsync_string("12345"),
    ngx_http_crmsync_string("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ngx_http_crmsync_string("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"),
    ngx_http_crmsync_string("secret"),
    ngx_http_crmsync_string("test_client_secret"),
    ngx_http_crmsync_null_string
};


static const time_t  ngx_http_crmsync_fuzz_clocks[] = {
    1614265330, 1649367553, 1674087231, 1462216307, 15000, 0, 1700000000,
    (time_t) 1 << 45
};


static u_char *
ngx_http_crmsync_fuzz_line(u_char **pos, u_char *end,
    ngx_http_crmsync_str_t *line)
{
    u_char  *p, *nl;

    p = *pos;

    if (p >= end) {
        line->data = end;
        line->len = 0;
        return NULL;
    }

    nl = memchr(p, '\n', end - p);
    if (nl == NULL) {
        nl = end;
    }

    line->data = p;
    line->len = nl - p;

    *pos = (nl < end) ? nl + 1 : end;

    return p;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                           rc;
    size_t                        n, nsecrets, len;
    u_char                       *buf, *p, *end, *colon, *dec;
    int16_t                       delta;
    ngx_http_crmsync_str_t        line, rest, name, value;
    ngx_http_crmsync_verify_t     v;
    ngx_http_crmsync_header_t     headers[NGX_HTTP_CRMSYNC_FUZZ_HEADERS];

    if (size < 5) {
        return 0;
    }

    /* a private copy, so that ASan catches reads past the input */

    len = size - 5;
    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data + 5, len);

    memset(&v, 0, sizeof(v));

    v.provider = (ngx_http_crmsync_provider_e) (1 + data[0] % 9);
    v.form = data[1] & 1;
    v.window = (data[1] & 2) ? NGX_HTTP_CRMSYNC_VERIFY_WINDOW : 0;

    nsecrets = (data[1] >> 2) & 7;
    if (nsecrets > sizeof(ngx_http_crmsync_fuzz_secrets)
                   / sizeof(ngx_http_crmsync_fuzz_secrets[0]))
    {
        nsecrets = sizeof(ngx_http_crmsync_fuzz_secrets)
                   / sizeof(ngx_http_crmsync_fuzz_secrets[0]);
    }

    v.secrets = ngx_http_crmsync_fuzz_secrets;
    v.nsecrets = nsecrets;

    delta = (int16_t) (data[3] | (data[4] << 8));
    v.now = ngx_http_crmsync_fuzz_clocks[data[2]
                                         % (sizeof(ngx_http_crmsync_fuzz_clocks)
                                            / sizeof(time_t))]
            + delta;

    p = buf;
    end = buf + len;

    ngx_http_crmsync_fuzz_line(&p, end, &v.url);
    ngx_http_crmsync_fuzz_line(&p, end, &v.method);

    n = 0;

    while (ngx_http_crmsync_fuzz_line(&p, end, &line) && line.len) {
        if (n == NGX_HTTP_CRMSYNC_FUZZ_HEADERS) {
            continue;
        }

        colon = memchr(line.data, ':', line.len);

        headers[n].name.data = line.data;
        headers[n].name.len = colon ? (size_t) (colon - line.data) : line.len;
        headers[n].value.data = colon ? colon + 1 : line.data + line.len;
        headers[n].value.len = line.len - headers[n].name.len
                               - (colon ? 1 : 0);
        n++;
    }

    v.headers = headers;
    v.nheaders = n;
    v.body.data = p;
    v.body.len = end - p;

    rc = ngx_http_crmsync_verify(&v);

    if (rc < NGX_HTTP_CRMSYNC_VERIFY_OK || rc > NGX_HTTP_CRMSYNC_VERIFY_STALE
        || v.reason == NULL)
    {
        __builtin_trap();
    }

    if (rc == NGX_HTTP_CRMSYNC_VERIFY_OK
        && (v.secret >= v.nsecrets || v.secrets[v.secret].len == 0))
    {
        __builtin_trap();
    }

    /* the form helpers over the body */

    rest = v.body;

    while (ngx_http_crmsync_form_next(&rest, &name, &value)) {
        if (name.data < v.body.data
            || value.data + value.len > v.body.data + v.body.len)
        {
            __builtin_trap();
        }

        dec = malloc(value.len ? value.len : 1);
        if (dec == NULL) {
            break;
        }

        if (ngx_http_crmsync_form_unescape(dec, value.data, value.len)
            > value.len)
        {
            __builtin_trap();
        }

        free(dec);
    }

    free(buf);

    return 0;
}

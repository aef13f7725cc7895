
/*
 * Copyright (C) crmsync authors
 *
 * Webhook signature verifiers; see ngx_http_crmsync_verify.h.
 */


#include <string.h>
#include <strings.h>

/*
 * the SHA-1 and SHA-256 block API, as nginx's own ngx_sha1.h uses it:
 * deprecated in OpenSSL 3.0 for the EVP layer, whose provider dispatch
 * costs a webhook more than the hashing itself
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "ngx_http_crmsync_verify.h"


/* the largest digest we compare: SHA-256 */
#define NGX_HTTP_CRMSYNC_VERIFY_MD_LEN    32

/* base64 text we decode: signatures and "whsec_" secrets */
#define NGX_HTTP_CRMSYNC_VERIFY_B64_LEN   256

/* Telegram's secret_token: 1-256 characters */
#define NGX_HTTP_CRMSYNC_VERIFY_TOKEN_LEN 256

/* seconds beyond which "now" and "window" are clamped (about 34000 years) */
#define NGX_HTTP_CRMSYNC_VERIFY_MAX_TIME  ((int64_t) 1 << 40)

/* digits in a timestamp; 18 keep milliseconds far from overflow */
#define NGX_HTTP_CRMSYNC_VERIFY_TS_DIGITS 18


/*
 * HMAC (RFC 2104) over SHA-1 or SHA-256.  A key's inner and outer states
 * (the hash of key ^ ipad and of key ^ opad) depend on the key only: they
 * are kept per process for the last keys used, found by the key's bytes
 * (never by its address: after a reload another secret may live there),
 * so that a delivery costs the hashing of its own bytes and two copies.
 */

#define NGX_HTTP_CRMSYNC_HMAC_BLOCK  64     /* SHA-1 and SHA-256 */
#define NGX_HTTP_CRMSYNC_HMAC_KEYS   16

typedef union {
    SHA_CTX                     sha1;
    SHA256_CTX                  sha256;
} ngx_http_crmsync_sha_t;


typedef struct {
    u_char                      key[NGX_HTTP_CRMSYNC_HMAC_BLOCK];
    size_t                      len;
    unsigned                    sha1:1;
    ngx_http_crmsync_sha_t      inner;
    ngx_http_crmsync_sha_t      outer;
} ngx_http_crmsync_hmac_key_t;


typedef struct {
    ngx_http_crmsync_hmac_key_t  *key;
    ngx_http_crmsync_hmac_key_t   tmp;      /* a key too long to keep */
    ngx_http_crmsync_sha_t        ctx;
    unsigned                      failed:1;
} ngx_http_crmsync_hmac_t;


static ngx_http_crmsync_hmac_key_t  ngx_http_crmsync_hmac_keys[
                                        NGX_HTTP_CRMSYNC_HMAC_KEYS];
static unsigned                     ngx_http_crmsync_hmac_next;


typedef struct {
    ngx_http_crmsync_str_t      name;
    ngx_http_crmsync_str_t      value;
} ngx_http_crmsync_pair_t;


/* a URL as three pieces: the Twilio port variants differ in the middle */
typedef struct {
    ngx_http_crmsync_str_t      part[3];
} ngx_http_crmsync_url_t;


#define ngx_http_crmsync_rc(v, rc, r)                                        \
    ((v)->reason = (r), (rc))


static int ngx_http_crmsync_hmac_open(ngx_http_crmsync_hmac_t *h);
static void ngx_http_crmsync_hmac_close(ngx_http_crmsync_hmac_t *h);
static int ngx_http_crmsync_hmac_start(ngx_http_crmsync_hmac_t *h,
    const char *digest, const u_char *key, size_t len);
static void ngx_http_crmsync_hmac_update(ngx_http_crmsync_hmac_t *h,
    const u_char *data, size_t len);
static int ngx_http_crmsync_hmac_final(ngx_http_crmsync_hmac_t *h,
    u_char *md, unsigned *len);
static int ngx_http_crmsync_hmac_match(ngx_http_crmsync_hmac_t *h,
    const u_char *expect, size_t len);

static int ngx_http_crmsync_verify_header(ngx_http_crmsync_verify_t *v,
    const char *name, ngx_http_crmsync_str_t *value);
static int ngx_http_crmsync_verify_hex(u_char *dst, const u_char *src,
    size_t len);
static int ngx_http_crmsync_verify_b64(u_char *dst, size_t size,
    const u_char *src, size_t len);
static int ngx_http_crmsync_verify_ts(const ngx_http_crmsync_str_t *s,
    int64_t *ts);
static int ngx_http_crmsync_verify_fresh(ngx_http_crmsync_verify_t *v,
    int64_t ts, int64_t unit);
static int ngx_http_crmsync_form_byte(const u_char **pos, const u_char *end);
static int ngx_http_crmsync_form_cmp(const ngx_http_crmsync_str_t *a,
    const ngx_http_crmsync_str_t *b);
static int ngx_http_crmsync_pair_cmp(const ngx_http_crmsync_pair_t *a,
    const ngx_http_crmsync_pair_t *b);
static void ngx_http_crmsync_pair_sort(ngx_http_crmsync_pair_t **a,
    ngx_http_crmsync_pair_t **tmp, size_t n);
static void ngx_http_crmsync_hmac_form(ngx_http_crmsync_hmac_t *h,
    const ngx_http_crmsync_str_t *s);

static ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify_body(
    ngx_http_crmsync_verify_t *v, const char *digest, const u_char *expect,
    size_t len);
static ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify_hub(
    ngx_http_crmsync_verify_t *v, const char *name, const char *prefix,
    const char *digest, size_t len);
static ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify_respondio(
    ngx_http_crmsync_verify_t *v);
static ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify_telegram(
    ngx_http_crmsync_verify_t *v);
static ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify_twilio(
    ngx_http_crmsync_verify_t *v);
static int ngx_http_crmsync_twilio_urls(const ngx_http_crmsync_str_t *url,
    ngx_http_crmsync_url_t *urls);
static int ngx_http_crmsync_twilio_body_hash(const ngx_http_crmsync_str_t *url,
    u_char *hash);
static ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify_standard(
    ngx_http_crmsync_verify_t *v);
static int ngx_http_crmsync_standard_key(const ngx_http_crmsync_str_t *secret,
    u_char *key);
static ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify_hubspot(
    ngx_http_crmsync_verify_t *v);
static ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify_hubspot_v3(
    ngx_http_crmsync_verify_t *v, ngx_http_crmsync_str_t *sig);
static void ngx_http_crmsync_hubspot_uri(ngx_http_crmsync_hmac_t *h,
    const ngx_http_crmsync_str_t *url);
static int ngx_http_crmsync_sha256(const ngx_http_crmsync_str_t *parts,
    size_t n, u_char *md);


static const u_char  ngx_http_crmsync_hex_val[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5,
    ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
    ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16
};

#define ngx_http_crmsync_is_hex(c)  (ngx_http_crmsync_hex_val[(u_char) (c)])
#define ngx_http_crmsync_hex(c)     (ngx_http_crmsync_hex_val[(u_char) (c)] - 1)


ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify(ngx_http_crmsync_verify_t *v)
{
    v->reason = "signature_mismatch";
    v->secret = 0;

    switch (v->provider) {

    case NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP:
    case NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER:
    case NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM:
        return ngx_http_crmsync_verify_hub(v, "X-Hub-Signature-256",
                                           "sha256=", "SHA256", 32);

    case NGX_HTTP_CRMSYNC_PROVIDER_INTERCOM:
        return ngx_http_crmsync_verify_hub(v, "X-Hub-Signature", "sha1=",
                                           "SHA1", 20);

    case NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM:
        return ngx_http_crmsync_verify_telegram(v);

    case NGX_HTTP_CRMSYNC_PROVIDER_TWILIO:
        return ngx_http_crmsync_verify_twilio(v);

    case NGX_HTTP_CRMSYNC_PROVIDER_RESPONDIO:
        return ngx_http_crmsync_verify_respondio(v);

    case NGX_HTTP_CRMSYNC_PROVIDER_STANDARD:
        return ngx_http_crmsync_verify_standard(v);

    case NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT:
        return ngx_http_crmsync_verify_hubspot(v);

    default:
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "provider_unknown");
    }
}


const char *
ngx_http_crmsync_verify_secret_error(ngx_http_crmsync_provider_e provider,
    const ngx_http_crmsync_str_t *secret)
{
    size_t  i;
    u_char  key[NGX_HTTP_CRMSYNC_VERIFY_B64_LEN];

    if (secret->len == 0) {
        return "is empty";
    }

    switch (provider) {

    case NGX_HTTP_CRMSYNC_PROVIDER_STANDARD:
        if (ngx_http_crmsync_standard_key(secret, key) <= 0) {
            return "is not \"whsec_\" followed by base64 (at most 256 "
                   "characters)";
        }

        OPENSSL_cleanse(key, sizeof(key));

        break;

    case NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM:
        if (secret->len > NGX_HTTP_CRMSYNC_VERIFY_TOKEN_LEN) {
            return "is longer than 256 characters";
        }

        for (i = 0; i < secret->len; i++) {
            if (!((secret->data[i] >= 'a' && secret->data[i] <= 'z')
                  || (secret->data[i] >= 'A' && secret->data[i] <= 'Z')
                  || (secret->data[i] >= '0' && secret->data[i] <= '9')
                  || secret->data[i] == '_' || secret->data[i] == '-'))
            {
                return "has characters other than A-Z a-z 0-9 _ -";
            }
        }

        break;

    default:
        break;
    }

    return NULL;
}


/* form-urlencoded */


int
ngx_http_crmsync_form_next(ngx_http_crmsync_str_t *rest,
    ngx_http_crmsync_str_t *name, ngx_http_crmsync_str_t *value)
{
    u_char  *p, *end, *amp, *eq;

    if (rest->len == 0 || rest->data == NULL) {
        return 0;
    }

    p = rest->data;
    end = p + rest->len;

    while (p < end && *p == '&') {
        p++;
    }

    if (p == end) {
        rest->data = end;
        rest->len = 0;
        return 0;
    }

    amp = memchr(p, '&', end - p);
    if (amp == NULL) {
        amp = end;
    }

    eq = memchr(p, '=', amp - p);

    name->data = p;

    if (eq) {
        name->len = eq - p;
        value->data = eq + 1;
        value->len = amp - (eq + 1);

    } else {
        name->len = amp - p;
        value->data = amp;
        value->len = 0;
    }

    rest->data = amp;
    rest->len = end - amp;

    return 1;
}


size_t
ngx_http_crmsync_form_unescape(u_char *dst, const u_char *src, size_t len)
{
    u_char        *d;
    const u_char  *p, *end;

    d = dst;
    p = src;
    end = src + len;

    while (p < end) {
        *d++ = (u_char) ngx_http_crmsync_form_byte(&p, end);
    }

    return d - dst;
}


static int
ngx_http_crmsync_form_byte(const u_char **pos, const u_char *end)
{
    u_char         c;
    const u_char  *p;

    p = *pos;
    c = *p++;

    if (c == '+') {
        c = ' ';

    } else if (c == '%'
               && end - p >= 2
               && ngx_http_crmsync_is_hex(p[0])
               && ngx_http_crmsync_is_hex(p[1]))
    {
        c = (u_char) ((ngx_http_crmsync_hex(p[0]) << 4)
                      | ngx_http_crmsync_hex(p[1]));
        p += 2;
    }

    *pos = p;

    return c;
}


/* compares two encoded strings by their decoded bytes */

static int
ngx_http_crmsync_form_cmp(const ngx_http_crmsync_str_t *a,
    const ngx_http_crmsync_str_t *b)
{
    int            c1, c2;
    const u_char  *p, *pe, *q, *qe;

    p = a->data;
    pe = p + a->len;
    q = b->data;
    qe = q + b->len;

    for ( ;; ) {
        c1 = (p < pe) ? ngx_http_crmsync_form_byte(&p, pe) : -1;
        c2 = (q < qe) ? ngx_http_crmsync_form_byte(&q, qe) : -1;

        if (c1 != c2) {
            return c1 - c2;
        }

        if (c1 == -1) {
            return 0;
        }
    }
}


static int
ngx_http_crmsync_pair_cmp(const ngx_http_crmsync_pair_t *a,
    const ngx_http_crmsync_pair_t *b)
{
    int  rc;

    rc = ngx_http_crmsync_form_cmp(&a->name, &b->name);
    if (rc != 0) {
        return rc;
    }

    return ngx_http_crmsync_form_cmp(&a->value, &b->value);
}


/* bottom-up merge sort: bounded comparisons, no heap, stable */

static void
ngx_http_crmsync_pair_sort(ngx_http_crmsync_pair_t **a,
    ngx_http_crmsync_pair_t **tmp, size_t n)
{
    size_t                     width, lo, mid, hi, i, j, k;
    ngx_http_crmsync_pair_t  **src, **dst, **t;

    src = a;
    dst = tmp;

    for (width = 1; width < n; width *= 2) {

        for (lo = 0; lo < n; lo += 2 * width) {
            mid = (lo + width < n) ? lo + width : n;
            hi = (lo + 2 * width < n) ? lo + 2 * width : n;

            i = lo;
            j = mid;

            for (k = lo; k < hi; k++) {
                if (i < mid
                    && (j >= hi || ngx_http_crmsync_pair_cmp(src[i], src[j])
                                   <= 0))
                {
                    dst[k] = src[i++];

                } else {
                    dst[k] = src[j++];
                }
            }
        }

        t = src;
        src = dst;
        dst = t;
    }

    if (src != a) {
        memcpy(a, src, n * sizeof(ngx_http_crmsync_pair_t *));
    }
}


/* feeds the decoded bytes of an encoded string */

static void
ngx_http_crmsync_hmac_form(ngx_http_crmsync_hmac_t *h,
    const ngx_http_crmsync_str_t *s)
{
    size_t         n;
    u_char         buf[128];
    const u_char  *p, *end;

    p = s->data;
    end = p + s->len;
    n = 0;

    while (p < end) {
        buf[n++] = (u_char) ngx_http_crmsync_form_byte(&p, end);

        if (n == sizeof(buf)) {
            ngx_http_crmsync_hmac_update(h, buf, n);
            n = 0;
        }
    }

    if (n) {
        ngx_http_crmsync_hmac_update(h, buf, n);
    }
}


/* HMAC; a failure makes the MAC never match */

static int
ngx_http_crmsync_hmac_open(ngx_http_crmsync_hmac_t *h)
{
    h->failed = 0;
    h->key = NULL;

    return 0;
}


static void
ngx_http_crmsync_hmac_close(ngx_http_crmsync_hmac_t *h)
{
    /* states of a secret: not left on the stack */

    OPENSSL_cleanse(&h->ctx, sizeof(h->ctx));

    if (h->key == &h->tmp) {
        OPENSSL_cleanse(&h->tmp, sizeof(h->tmp));
    }

    h->key = NULL;
}


static void
ngx_http_crmsync_sha_init(ngx_http_crmsync_sha_t *c, unsigned sha1)
{
    if (sha1) {
        SHA1_Init(&c->sha1);

    } else {
        SHA256_Init(&c->sha256);
    }
}


static void
ngx_http_crmsync_sha_update(ngx_http_crmsync_sha_t *c, unsigned sha1,
    const void *data, size_t len)
{
    if (sha1) {
        SHA1_Update(&c->sha1, data, len);

    } else {
        SHA256_Update(&c->sha256, data, len);
    }
}


static unsigned
ngx_http_crmsync_sha_final(ngx_http_crmsync_sha_t *c, unsigned sha1,
    u_char *md)
{
    if (sha1) {
        SHA1_Final(md, &c->sha1);
        return SHA_DIGEST_LENGTH;
    }

    SHA256_Final(md, &c->sha256);

    return SHA256_DIGEST_LENGTH;
}


static void
ngx_http_crmsync_hmac_key(ngx_http_crmsync_hmac_key_t *k, unsigned sha1,
    const u_char *key, size_t len)
{
    size_t                  i;
    u_char                  pad[NGX_HTTP_CRMSYNC_HMAC_BLOCK];
    ngx_http_crmsync_sha_t  c;

    memset(pad, 0, sizeof(pad));

    if (len > NGX_HTTP_CRMSYNC_HMAC_BLOCK) {
        ngx_http_crmsync_sha_init(&c, sha1);
        ngx_http_crmsync_sha_update(&c, sha1, key, len);
        (void) ngx_http_crmsync_sha_final(&c, sha1, pad);
        OPENSSL_cleanse(&c, sizeof(c));

    } else {
        memcpy(pad, key, len);
    }

    for (i = 0; i < NGX_HTTP_CRMSYNC_HMAC_BLOCK; i++) {
        pad[i] ^= 0x36;
    }

    ngx_http_crmsync_sha_init(&k->inner, sha1);
    ngx_http_crmsync_sha_update(&k->inner, sha1, pad, sizeof(pad));

    for (i = 0; i < NGX_HTTP_CRMSYNC_HMAC_BLOCK; i++) {
        pad[i] ^= 0x36 ^ 0x5c;
    }

    ngx_http_crmsync_sha_init(&k->outer, sha1);
    ngx_http_crmsync_sha_update(&k->outer, sha1, pad, sizeof(pad));

    OPENSSL_cleanse(pad, sizeof(pad));

    k->sha1 = sha1;
}


static int
ngx_http_crmsync_hmac_start(ngx_http_crmsync_hmac_t *h, const char *digest,
    const u_char *key, size_t len)
{
    unsigned                      sha1;
    unsigned                      i;
    ngx_http_crmsync_hmac_key_t  *k;

    h->failed = 1;

    if (len == 0) {
        /* an empty secret never verifies */
        return -1;
    }

    sha1 = (digest[3] == '1');

    if (len > NGX_HTTP_CRMSYNC_HMAC_BLOCK) {
        k = &h->tmp;
        ngx_http_crmsync_hmac_key(k, sha1, key, len);
        goto found;
    }

    for (i = 0; i < NGX_HTTP_CRMSYNC_HMAC_KEYS; i++) {
        k = &ngx_http_crmsync_hmac_keys[i];

        if (k->len == len && k->sha1 == sha1 && memcmp(k->key, key, len) == 0)
        {
            goto found;
        }
    }

    k = &ngx_http_crmsync_hmac_keys[ngx_http_crmsync_hmac_next++
                                    % NGX_HTTP_CRMSYNC_HMAC_KEYS];

    ngx_http_crmsync_hmac_key(k, sha1, key, len);
    memcpy(k->key, key, len);
    k->len = len;

found:

    h->key = k;
    h->ctx = k->inner;
    h->failed = 0;

    return 0;
}


static void
ngx_http_crmsync_hmac_update(ngx_http_crmsync_hmac_t *h, const u_char *data,
    size_t len)
{
    if (h->failed || len == 0) {
        return;
    }

    ngx_http_crmsync_sha_update(&h->ctx, h->key->sha1, data, len);
}


static int
ngx_http_crmsync_hmac_final(ngx_http_crmsync_hmac_t *h, u_char *md,
    unsigned *len)
{
    unsigned  n;
    u_char    inner[SHA256_DIGEST_LENGTH];

    if (h->failed) {
        return -1;
    }

    h->failed = 1;

    n = ngx_http_crmsync_sha_final(&h->ctx, h->key->sha1, inner);

    h->ctx = h->key->outer;
    ngx_http_crmsync_sha_update(&h->ctx, h->key->sha1, inner, n);
    *len = ngx_http_crmsync_sha_final(&h->ctx, h->key->sha1, md);

    return 0;
}


static int
ngx_http_crmsync_hmac_match(ngx_http_crmsync_hmac_t *h, const u_char *expect,
    size_t len)
{
    unsigned  n;
    u_char    md[EVP_MAX_MD_SIZE];

    if (ngx_http_crmsync_hmac_final(h, md, &n) != 0 || n != len) {
        return 0;
    }

    return CRYPTO_memcmp(md, expect, len) == 0;
}


static int
ngx_http_crmsync_sha256(const ngx_http_crmsync_str_t *parts, size_t n,
    u_char *md)
{
    size_t      i;
    SHA256_CTX  c;

    SHA256_Init(&c);

    for (i = 0; i < n; i++) {
        SHA256_Update(&c, parts[i].data, parts[i].len);
    }

    SHA256_Final(md, &c);

    return 0;
}


/* parsing helpers */


static int
ngx_http_crmsync_verify_header(ngx_http_crmsync_verify_t *v,
    const char *name, ngx_http_crmsync_str_t *value)
{
    size_t                            i, len;
    u_char                           *p, *end;
    const ngx_http_crmsync_header_t  *h;

    if (v->headers == NULL) {
        return 0;
    }

    len = strlen(name);

    for (i = 0; i < v->nheaders; i++) {
        h = &v->headers[i];

        if (h->name.len != len
            || h->name.data == NULL
            || strncasecmp((const char *) h->name.data, name, len) != 0)
        {
            continue;
        }

        p = h->value.data;
        end = p ? p + h->value.len : p;

        while (p < end && (*p == ' ' || *p == '\t')) {
            p++;
        }

        while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
            end--;
        }

        value->data = p;
        value->len = end - p;

        return 1;
    }

    return 0;
}


/* exactly 2 * n hex digits of either case into n bytes */

static int
ngx_http_crmsync_verify_hex(u_char *dst, const u_char *src, size_t len)
{
    size_t  i;

    if (len % 2) {
        return -1;
    }

    for (i = 0; i < len; i += 2) {
        if (!ngx_http_crmsync_is_hex(src[i])
            || !ngx_http_crmsync_is_hex(src[i + 1]))
        {
            return -1;
        }

        *dst++ = (u_char) ((ngx_http_crmsync_hex(src[i]) << 4)
                           | ngx_http_crmsync_hex(src[i + 1]));
    }

    return 0;
}


/*
 * standard base64 with or without "=" padding into dst (size bytes);
 * returns the decoded length or -1
 */

static int
ngx_http_crmsync_verify_b64(u_char *dst, size_t size, const u_char *src,
    size_t len)
{
    int     n;
    size_t  i, pad, out;
    u_char  c;
    u_char  in[NGX_HTTP_CRMSYNC_VERIFY_B64_LEN + 4];
    u_char  buf[(NGX_HTTP_CRMSYNC_VERIFY_B64_LEN + 4) / 4 * 3 + 1];

    if (len == 0 || len > NGX_HTTP_CRMSYNC_VERIFY_B64_LEN) {
        return -1;
    }

    pad = 0;

    if (src[len - 1] == '=') {
        pad++;
        len--;

        if (len && src[len - 1] == '=') {
            pad++;
            len--;
        }

        if ((len + pad) % 4) {
            return -1;
        }
    }

    if (len % 4 == 1) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = src[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '+' || c == '/'))
        {
            return -1;
        }

        in[i] = c;
    }

    /* EVP_DecodeBlock() wants whole quads and counts padding as zeros */

    pad = (4 - len % 4) % 4;

    for (i = 0; i < pad; i++) {
        in[len + i] = '=';
    }

    if (len == 0) {
        return -1;
    }

    n = EVP_DecodeBlock(buf, in, (int) (len + pad));
    if (n < 0) {
        return -1;
    }

    out = (size_t) n - pad;

    if (out > size) {
        return -1;
    }

    memcpy(dst, buf, out);

    return (int) out;
}


static int
ngx_http_crmsync_verify_ts(const ngx_http_crmsync_str_t *s, int64_t *ts)
{
    size_t   i;
    int64_t  n;

    if (s->len == 0 || s->len > NGX_HTTP_CRMSYNC_VERIFY_TS_DIGITS) {
        return -1;
    }

    n = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < '0' || s->data[i] > '9') {
            return -1;
        }

        n = n * 10 + (s->data[i] - '0');
    }

    *ts = n;

    return 0;
}


/* ts is in 1/unit seconds; 1 when |ts - now| <= window or no window */

static int
ngx_http_crmsync_verify_fresh(ngx_http_crmsync_verify_t *v, int64_t ts,
    int64_t unit)
{
    int64_t  now, window;

    if (v->window <= 0) {
        return 1;
    }

    now = (int64_t) v->now;
    window = (int64_t) v->window;

    if (now < 0) {
        now = 0;
    }

    if (now > NGX_HTTP_CRMSYNC_VERIFY_MAX_TIME) {
        now = NGX_HTTP_CRMSYNC_VERIFY_MAX_TIME;
    }

    if (window > NGX_HTTP_CRMSYNC_VERIFY_MAX_TIME) {
        window = NGX_HTTP_CRMSYNC_VERIFY_MAX_TIME;
    }

    if (ts < (now - window) * unit || ts > (now + window) * unit) {
        return 0;
    }

    return 1;
}


/* providers */


static ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify_body(ngx_http_crmsync_verify_t *v,
    const char *digest, const u_char *expect, size_t len)
{
    size_t                   i;
    ngx_http_crmsync_hmac_t  h;

    if (ngx_http_crmsync_hmac_open(&h) != 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "signature_mismatch");
    }

    for (i = 0; i < v->nsecrets; i++) {
        if (ngx_http_crmsync_hmac_start(&h, digest, v->secrets[i].data,
                                        v->secrets[i].len)
            != 0)
        {
            continue;
        }

        ngx_http_crmsync_hmac_update(&h, v->body.data, v->body.len);

        if (ngx_http_crmsync_hmac_match(&h, expect, len)) {
            ngx_http_crmsync_hmac_close(&h);
            v->secret = i;
            return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_OK, "ok");
        }
    }

    ngx_http_crmsync_hmac_close(&h);

    return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                               "signature_mismatch");
}


/* Meta and Intercom: "<prefix><hex HMAC of the body>" */

static ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify_hub(ngx_http_crmsync_verify_t *v, const char *name,
    const char *prefix, const char *digest, size_t len)
{
    size_t                  plen;
    u_char                  expect[NGX_HTTP_CRMSYNC_VERIFY_MD_LEN];
    ngx_http_crmsync_str_t  sig;

    if (!ngx_http_crmsync_verify_header(v, name, &sig)) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "signature_missing");
    }

    plen = strlen(prefix);

    if (sig.len != plen + 2 * len
        || strncasecmp((const char *) sig.data, prefix, plen) != 0
        || ngx_http_crmsync_verify_hex(expect, sig.data + plen, 2 * len) != 0)
    {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "signature_malformed");
    }

    return ngx_http_crmsync_verify_body(v, digest, expect, len);
}


static ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify_respondio(ngx_http_crmsync_verify_t *v)
{
    u_char                  expect[NGX_HTTP_CRMSYNC_VERIFY_MD_LEN];
    ngx_http_crmsync_str_t  sig;

    if (!ngx_http_crmsync_verify_header(v, "x-webhook-signature", &sig)) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "signature_missing");
    }

    if (ngx_http_crmsync_verify_b64(expect, sizeof(expect), sig.data,
                                    sig.len)
        != 32)
    {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "signature_malformed");
    }

    return ngx_http_crmsync_verify_body(v, "SHA256", expect, 32);
}


/* compares SHA-256 digests, so that neither length nor content leaks */

static ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify_telegram(ngx_http_crmsync_verify_t *v)
{
    size_t                  i;
    u_char                  got[32], want[32];
    ngx_http_crmsync_str_t  token;

    if (!ngx_http_crmsync_verify_header(v, "X-Telegram-Bot-Api-Secret-Token",
                                        &token))
    {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "signature_missing");
    }

    if (ngx_http_crmsync_verify_secret_error(
            NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, &token)
        != NULL)
    {
        /* Telegram's tokens are 1-256 characters of A-Z a-z 0-9 _ - */
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "signature_malformed");
    }

    if (ngx_http_crmsync_sha256(&token, 1, got) != 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "signature_mismatch");
    }

    for (i = 0; i < v->nsecrets; i++) {
        if (v->secrets[i].len == 0
            || ngx_http_crmsync_sha256(&v->secrets[i], 1, want) != 0)
        {
            continue;
        }

        if (CRYPTO_memcmp(got, want, 32) == 0) {
            v->secret = i;
            return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_OK, "ok");
        }
    }

    return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                               "signature_mismatch");
}


/*
 * Twilio URL variants, as the SDKs try them: as given; without its port;
 * with the scheme's default port when it has none.  Returns how many.
 */

static int
ngx_http_crmsync_twilio_urls(const ngx_http_crmsync_str_t *url,
    ngx_http_crmsync_url_t *urls)
{
    u_char        *p, *end, *host, *auth, *colon;
    static u_char  https[] = ":443", http[] = ":80";

    p = url->data;
    end = p + url->len;

    urls[0].part[0] = *url;
    urls[0].part[1].len = 0;
    urls[0].part[2].len = 0;

    host = NULL;

    for ( /* void */ ; p + 3 <= end; p++) {
        if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
            host = p + 3;
            break;
        }

        if (p[0] == '/' || p[0] == '?' || p[0] == '#') {
            break;
        }
    }

    if (host == NULL || host == end) {
        return 1;
    }

    for (auth = host; auth < end; auth++) {
        if (*auth == '/' || *auth == '?' || *auth == '#') {
            break;
        }
    }

    for (colon = auth; colon > host; colon--) {
        if (colon[-1] < '0' || colon[-1] > '9') {
            break;
        }
    }

    if (colon > host && colon[-1] == ':') {
        /* a port, maybe empty: the variant without it */
        urls[1].part[0].data = url->data;
        urls[1].part[0].len = colon - 1 - url->data;
        urls[1].part[1].len = 0;
        urls[1].part[2].data = auth;
        urls[1].part[2].len = end - auth;
        return 2;
    }

    urls[1].part[0].data = url->data;
    urls[1].part[0].len = auth - url->data;
    urls[1].part[2].data = auth;
    urls[1].part[2].len = end - auth;

    if (host - url->data == sizeof("https://") - 1
        && strncasecmp((const char *) url->data, "https://", 8) == 0)
    {
        urls[1].part[1].data = https;
        urls[1].part[1].len = sizeof(https) - 1;
        return 2;
    }

    if (host - url->data == sizeof("http://") - 1
        && strncasecmp((const char *) url->data, "http://", 7) == 0)
    {
        urls[1].part[1].data = http;
        urls[1].part[1].len = sizeof(http) - 1;
        return 2;
    }

    return 1;
}


/*
 * the bodySHA256 query parameter: 1 and its bytes in hash, 0 if absent,
 * -1 if present but not 64 hex digits
 */

static int
ngx_http_crmsync_twilio_body_hash(const ngx_http_crmsync_str_t *url,
    u_char *hash)
{
    u_char                 *q, *end;
    ngx_http_crmsync_str_t  rest, name, value;

    end = url->data + url->len;

    q = memchr(url->data, '?', url->len);
    if (q == NULL) {
        return 0;
    }

    rest.data = q + 1;
    rest.len = end - rest.data;

    q = memchr(rest.data, '#', rest.len);
    if (q) {
        rest.len = q - rest.data;
    }

    while (ngx_http_crmsync_form_next(&rest, &name, &value)) {
        if (name.len == sizeof("bodySHA256") - 1
            && memcmp(name.data, "bodySHA256", name.len) == 0)
        {
            if (value.len != 64
                || ngx_http_crmsync_verify_hex(hash, value.data, 64) != 0)
            {
                return -1;
            }

            return 1;
        }
    }

    return 0;
}


static ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify_twilio(ngx_http_crmsync_verify_t *v)
{
    int                       nurls, json;
    size_t                    i, j, k, n;
    u_char                    expect[20], hash[32], md[32];
    u_char                    skip[NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS];
    ngx_http_crmsync_str_t    sig, rest, name, value;
    ngx_http_crmsync_url_t    urls[2];
    ngx_http_crmsync_hmac_t   h;
    ngx_http_crmsync_pair_t   pairs[NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS];
    ngx_http_crmsync_pair_t  *sorted[NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS];
    ngx_http_crmsync_pair_t  *tmp[NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS];

    if (!ngx_http_crmsync_verify_header(v, "X-Twilio-Signature", &sig)) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "signature_missing");
    }

    if (ngx_http_crmsync_verify_b64(expect, sizeof(expect), sig.data,
                                    sig.len)
        != 20)
    {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "signature_malformed");
    }

    if (v->url.len == 0 || v->url.data == NULL) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "url_malformed");
    }

    json = ngx_http_crmsync_twilio_body_hash(&v->url, hash);
    if (json < 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "body_hash_mismatch");
    }

    n = 0;

    if (!json && v->form) {
        rest = v->body;

        while (ngx_http_crmsync_form_next(&rest, &name, &value)) {
            if (n == NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS) {
                return ngx_http_crmsync_rc(v,
                                           NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                           "params_too_many");
            }

            pairs[n].name = name;
            pairs[n].value = value;
            sorted[n] = &pairs[n];
            n++;
        }

        ngx_http_crmsync_pair_sort(sorted, tmp, n);

        /* twilio-python signs each distinct name and value once */

        for (i = 0; i < n; i++) {
            skip[i] = (i > 0
                       && ngx_http_crmsync_pair_cmp(sorted[i - 1], sorted[i])
                          == 0);
        }

    } else if (!json && v->body.len) {
        /* Twilio signs only the URL: the body would be unauthenticated */
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "body_unsigned");
    }

    nurls = ngx_http_crmsync_twilio_urls(&v->url, urls);

    if (ngx_http_crmsync_hmac_open(&h) != 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "signature_mismatch");
    }

    for (i = 0; i < v->nsecrets; i++) {
        for (j = 0; j < (size_t) nurls; j++) {

            if (ngx_http_crmsync_hmac_start(&h, "SHA1", v->secrets[i].data,
                                            v->secrets[i].len)
                != 0)
            {
                break;
            }

            for (k = 0; k < 3; k++) {
                ngx_http_crmsync_hmac_update(&h, urls[j].part[k].data,
                                             urls[j].part[k].len);
            }

            for (k = 0; k < n; k++) {
                if (!skip[k]) {
                    ngx_http_crmsync_hmac_form(&h, &sorted[k]->name);
                    ngx_http_crmsync_hmac_form(&h, &sorted[k]->value);
                }
            }

            if (ngx_http_crmsync_hmac_match(&h, expect, 20)) {
                goto found;
            }
        }
    }

    ngx_http_crmsync_hmac_close(&h);

    return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                               "signature_mismatch");

found:

    ngx_http_crmsync_hmac_close(&h);

    if (json) {
        if (ngx_http_crmsync_sha256(&v->body, 1, md) != 0
            || CRYPTO_memcmp(md, hash, 32) != 0)
        {
            return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                       "body_hash_mismatch");
        }
    }

    v->secret = i;

    return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_OK, "ok");
}


/* the HMAC key: base64 after an optional "whsec_"; its length or -1 */

static int
ngx_http_crmsync_standard_key(const ngx_http_crmsync_str_t *secret,
    u_char *key)
{
    ngx_http_crmsync_str_t  s;

    s = *secret;

    if (s.len > 6 && memcmp(s.data, "whsec_", 6) == 0) {
        s.data += 6;
        s.len -= 6;
    }

    return ngx_http_crmsync_verify_b64(key, NGX_HTTP_CRMSYNC_VERIFY_B64_LEN,
                                       s.data, s.len);
}


static ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify_standard(ngx_http_crmsync_verify_t *v)
{
    int                      klen;
    size_t                   i, good, bad;
    u_char                   key[NGX_HTTP_CRMSYNC_VERIFY_B64_LEN];
    unsigned                 mdlen;
    u_char                   md[EVP_MAX_MD_SIZE], expect[EVP_MAX_MD_SIZE];
    u_char                  *p, *end, *tok, *comma;
    int64_t                  ts;
    const char              *hid, *hts;
    ngx_http_crmsync_str_t   id, stamp, sig;
    ngx_http_crmsync_hmac_t  h;

    if (ngx_http_crmsync_verify_header(v, "webhook-signature", &sig)) {
        hid = "webhook-id";
        hts = "webhook-timestamp";

    } else if (ngx_http_crmsync_verify_header(v, "svix-signature", &sig)) {
        hid = "svix-id";
        hts = "svix-timestamp";

    } else {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "signature_missing");
    }

    if (!ngx_http_crmsync_verify_header(v, hid, &id)) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "signature_missing");
    }

    if (!ngx_http_crmsync_verify_header(v, hts, &stamp)) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "timestamp_missing");
    }

    if (id.len == 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "signature_malformed");
    }

    if (ngx_http_crmsync_verify_ts(&stamp, &ts) != 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "timestamp_malformed");
    }

    /* count usable "v1," entries; other versions are ignored */

    good = 0;
    bad = 0;
    p = sig.data;
    end = p + sig.len;

    while (p < end) {
        if (*p == ' ') {
            p++;
            continue;
        }

        tok = p;

        while (p < end && *p != ' ') {
            p++;
        }

        comma = memchr(tok, ',', p - tok);

        if (comma == NULL) {
            bad++;

        } else if (comma - tok == 2 && tok[0] == 'v' && tok[1] == '1') {
            if (ngx_http_crmsync_verify_b64(expect, sizeof(expect), comma + 1,
                                            p - (comma + 1))
                == 32)
            {
                good++;

            } else {
                bad++;
            }
        }
    }

    if (good == 0) {
        if (bad || sig.len == 0) {
            return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                       "signature_malformed");
        }

        /* only versions we do not verify, e.g. "v1a" (ed25519) */
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "signature_mismatch");
    }

    if (!ngx_http_crmsync_verify_fresh(v, ts, 1)) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_STALE,
                                   "timestamp_stale");
    }

    if (ngx_http_crmsync_hmac_open(&h) != 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "signature_mismatch");
    }

    for (i = 0; i < v->nsecrets; i++) {
        klen = ngx_http_crmsync_standard_key(&v->secrets[i], key);

        if (klen <= 0
            || ngx_http_crmsync_hmac_start(&h, "SHA256", key, klen) != 0)
        {
            continue;
        }

        ngx_http_crmsync_hmac_update(&h, id.data, id.len);
        ngx_http_crmsync_hmac_update(&h, (u_char *) ".", 1);
        ngx_http_crmsync_hmac_update(&h, stamp.data, stamp.len);
        ngx_http_crmsync_hmac_update(&h, (u_char *) ".", 1);
        ngx_http_crmsync_hmac_update(&h, v->body.data, v->body.len);

        /* the MAC itself, compared against each "v1," entry */

        if (ngx_http_crmsync_hmac_final(&h, md, &mdlen) != 0
            || mdlen != 32)
        {
            continue;
        }

        p = sig.data;

        while (p < end) {
            if (*p == ' ') {
                p++;
                continue;
            }

            tok = p;

            while (p < end && *p != ' ') {
                p++;
            }

            comma = memchr(tok, ',', p - tok);

            if (comma == NULL || comma - tok != 2
                || tok[0] != 'v' || tok[1] != '1'
                || ngx_http_crmsync_verify_b64(expect, sizeof(expect),
                                               comma + 1, p - (comma + 1))
                   != 32)
            {
                continue;
            }

            if (CRYPTO_memcmp(md, expect, 32) == 0) {
                ngx_http_crmsync_hmac_close(&h);
                OPENSSL_cleanse(key, sizeof(key));
                v->secret = i;
                return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_OK,
                                           "ok");
            }
        }
    }

    ngx_http_crmsync_hmac_close(&h);
    OPENSSL_cleanse(key, sizeof(key));

    return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                               "signature_mismatch");
}


static ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify_hubspot(ngx_http_crmsync_verify_t *v)
{
    size_t                  i, n;
    u_char                  expect[32], md[32];
    ngx_http_crmsync_str_t  sig, ver, parts[4];

    if (ngx_http_crmsync_verify_header(v, "X-HubSpot-Signature-v3", &sig)) {
        return ngx_http_crmsync_verify_hubspot_v3(v, &sig);
    }

    if (!ngx_http_crmsync_verify_header(v, "X-HubSpot-Signature", &sig)) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "signature_missing");
    }

    if (sig.len != 64 || ngx_http_crmsync_verify_hex(expect, sig.data, 64))
    {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "signature_malformed");
    }

    if (!ngx_http_crmsync_verify_header(v, "X-HubSpot-Signature-Version",
                                        &ver)
        || ver.len != 2
        || (ver.data[0] != 'v' && ver.data[0] != 'V')
        || (ver.data[1] != '1' && ver.data[1] != '2'))
    {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "version_unknown");
    }

    /* v1: secret + body; v2: secret + method + uri + body */

    if (ver.data[1] == '1') {
        parts[1] = v->body;
        n = 2;

    } else {
        if (v->url.len == 0 || v->url.data == NULL) {
            return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                       "url_malformed");
        }

        parts[1] = v->method;
        parts[2] = v->url;
        parts[3] = v->body;
        n = 4;
    }

    for (i = 0; i < v->nsecrets; i++) {
        if (v->secrets[i].len == 0) {
            continue;
        }

        parts[0] = v->secrets[i];

        if (ngx_http_crmsync_sha256(parts, n, md) == 0
            && CRYPTO_memcmp(md, expect, 32) == 0)
        {
            v->secret = i;
            return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_OK, "ok");
        }
    }

    return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                               "signature_mismatch");
}


static ngx_http_crmsync_verify_rc_e
ngx_http_crmsync_verify_hubspot_v3(ngx_http_crmsync_verify_t *v,
    ngx_http_crmsync_str_t *sig)
{
    size_t                   i;
    u_char                   expect[32];
    int64_t                  ts;
    ngx_http_crmsync_str_t   stamp;
    ngx_http_crmsync_hmac_t  h;

    if (ngx_http_crmsync_verify_b64(expect, sizeof(expect), sig->data,
                                    sig->len)
        != 32)
    {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "signature_malformed");
    }

    if (!ngx_http_crmsync_verify_header(v, "X-HubSpot-Request-Timestamp",
                                        &stamp))
    {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MISSING,
                                   "timestamp_missing");
    }

    if (ngx_http_crmsync_verify_ts(&stamp, &ts) != 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "timestamp_malformed");
    }

    if (v->url.len == 0 || v->url.data == NULL) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
                                   "url_malformed");
    }

    if (!ngx_http_crmsync_verify_fresh(v, ts, 1000)) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_STALE,
                                   "timestamp_stale");
    }

    if (ngx_http_crmsync_hmac_open(&h) != 0) {
        return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                                   "signature_mismatch");
    }

    for (i = 0; i < v->nsecrets; i++) {
        if (ngx_http_crmsync_hmac_start(&h, "SHA256", v->secrets[i].data,
                                        v->secrets[i].len)
            != 0)
        {
            continue;
        }

        ngx_http_crmsync_hmac_update(&h, v->method.data, v->method.len);
        ngx_http_crmsync_hubspot_uri(&h, &v->url);
        ngx_http_crmsync_hmac_update(&h, v->body.data, v->body.len);
        ngx_http_crmsync_hmac_update(&h, stamp.data, stamp.len);

        if (ngx_http_crmsync_hmac_match(&h, expect, 32)) {
            ngx_http_crmsync_hmac_close(&h);
            v->secret = i;
            return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_OK, "ok");
        }
    }

    ngx_http_crmsync_hmac_close(&h);

    return ngx_http_crmsync_rc(v, NGX_HTTP_CRMSYNC_VERIFY_BAD,
                               "signature_mismatch");
}


/* v3 signs the URI with only these escapes decoded */

static void
ngx_http_crmsync_hubspot_uri(ngx_http_crmsync_hmac_t *h,
    const ngx_http_crmsync_str_t *url)
{
    u_char               *p, *end, *start, c;
    static const u_char   decode[256] = {
        [0x3a] = 1, [0x2f] = 1, [0x3f] = 1, [0x40] = 1, [0x21] = 1,
        [0x24] = 1, [0x27] = 1, [0x28] = 1, [0x29] = 1, [0x2a] = 1,
        [0x2c] = 1, [0x3b] = 1
    };

    p = url->data;
    end = p + url->len;
    start = p;

    while (p < end) {
        if (*p == '%'
            && end - p >= 3
            && ngx_http_crmsync_is_hex(p[1])
            && ngx_http_crmsync_is_hex(p[2]))
        {
            c = (u_char) ((ngx_http_crmsync_hex(p[1]) << 4)
                          | ngx_http_crmsync_hex(p[2]));

            if (decode[c]) {
                ngx_http_crmsync_hmac_update(h, start, p - start);
                ngx_http_crmsync_hmac_update(h, &c, 1);
                p += 3;
                start = p;
                continue;
            }
        }

        p++;
    }

    ngx_http_crmsync_hmac_update(h, start, p - start);
}


/*
 * Copyright (C) crmsync authors
 *
 * Unit tests for the signature verifiers: every vector in t/samples, and
 * for each provider the refusals (tampered body, wrong secret, missing
 * header, stale timestamp, garbage values), rotation and window edges.
 *
 * Run from the repository root, or set CRMSYNC_SAMPLES to t/samples.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_crmsync_verify.h"


#define T_BODY_MAX  16384


typedef struct {
    ngx_http_crmsync_verify_t   v;
    ngx_http_crmsync_header_t   headers[8];
    ngx_http_crmsync_str_t      secrets[4];
    u_char                      body[T_BODY_MAX];
} t_req_t;


static t_req_t  t_r;


/* helpers */


static size_t
t_load(const char *name, u_char *buf, size_t size)
{
    char        path[512];
    size_t      n;
    FILE       *f;
    const char *dir;

    dir = getenv("CRMSYNC_SAMPLES");
    if (dir == NULL) {
        dir = "t/samples";
    }

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s (run from the repository root)", path);
    }

    n = fread(buf, 1, size, f);
    assert_true(n < size);
    fclose(f);

    return n;
}


static void
t_init(ngx_http_crmsync_provider_e provider)
{
    memset(&t_r, 0, sizeof(t_r));

    t_r.v.provider = provider;
    t_r.v.method.data = (u_char *) "POST";
    t_r.v.method.len = 4;
    t_r.v.headers = t_r.headers;
    t_r.v.secrets = t_r.secrets;
    t_r.v.now = 1700000000;
    t_r.v.window = NGX_HTTP_CRMSYNC_VERIFY_WINDOW;
    t_r.v.body.data = t_r.body;
}


static void
t_body_file(const char *name)
{
    t_r.v.body.len = t_load(name, t_r.body, sizeof(t_r.body));
}


static void
t_body(const char *s)
{
    size_t  len;

    len = strlen(s);
    assert_true(len < sizeof(t_r.body));
    memcpy(t_r.body, s, len);
    t_r.v.body.len = len;
}


static void
t_header(const char *name, const char *value)
{
    ngx_http_crmsync_header_t  *h;

    assert_true(t_r.v.nheaders < 8);

    h = &t_r.headers[t_r.v.nheaders++];
    h->name.data = (u_char *) name;
    h->name.len = strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = strlen(value);
}


/* replaces the value of an existing header */

static void
t_set(const char *name, const char *value)
{
    size_t  i;

    for (i = 0; i < t_r.v.nheaders; i++) {
        if (strcasecmp((char *) t_r.headers[i].name.data, name) == 0) {
            t_r.headers[i].value.data = (u_char *) value;
            t_r.headers[i].value.len = strlen(value);
            return;
        }
    }

    fail_msg("no header %s", name);
}


static void
t_drop(const char *name)
{
    size_t  i;

    for (i = 0; i < t_r.v.nheaders; i++) {
        if (strcasecmp((char *) t_r.headers[i].name.data, name) == 0) {
            t_r.headers[i] = t_r.headers[--t_r.v.nheaders];
            return;
        }
    }

    fail_msg("no header %s", name);
}


static void
t_secret(const char *s)
{
    assert_true(t_r.v.nsecrets < 4);

    t_r.secrets[t_r.v.nsecrets].data = (u_char *) s;
    t_r.secrets[t_r.v.nsecrets].len = strlen(s);
    t_r.v.nsecrets++;
}


static void
t_url(const char *url)
{
    t_r.v.url.data = (u_char *) url;
    t_r.v.url.len = strlen(url);
}


#define t_expect(rc, reason)  t_expect_at(rc, reason, __LINE__)

static void
t_expect_at(ngx_http_crmsync_verify_rc_e rc, const char *reason, int line)
{
    ngx_http_crmsync_verify_rc_e  got;

    t_r.v.reason = NULL;
    got = ngx_http_crmsync_verify(&t_r.v);

    if (got != rc || t_r.v.reason == NULL
        || strcmp(t_r.v.reason, reason) != 0)
    {
        fail_msg("line %d: expected %d \"%s\", got %d \"%s\"", line, rc,
                 reason, got, t_r.v.reason ? t_r.v.reason : "(null)");
    }
}


#define t_ok()  t_expect(NGX_HTTP_CRMSYNC_VERIFY_OK, "ok")
#define t_bad()  t_expect(NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch")
#define t_missing()                                                          \
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MISSING, "signature_missing")
#define t_malformed()                                                        \
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "signature_malformed")
#define t_stale()  t_expect(NGX_HTTP_CRMSYNC_VERIFY_STALE, "timestamp_stale")


/* flips one bit of the body, checks the refusal, flips it back */

static void
t_tamper(size_t at, ngx_http_crmsync_verify_rc_e rc, const char *reason)
{
    assert_true(at < t_r.v.body.len);

    t_r.body[at] ^= 0x01;
    t_expect(rc, reason);
    t_r.body[at] ^= 0x01;
    t_ok();
}


static const char *
t_b64(const u_char *md, size_t len)
{
    static char  buf[8][128];
    static int   n;
    char        *p;

    p = buf[n++ % 8];
    EVP_EncodeBlock((u_char *) p, md, (int) len);

    return p;
}


static const char *
t_hex(const char *prefix, const u_char *md, size_t len)
{
    static char  buf[8][160];
    static int   n;
    char        *p;
    size_t       i, plen;

    p = buf[n++ % 8];
    plen = strlen(prefix);
    memcpy(p, prefix, plen);

    for (i = 0; i < len; i++) {
        sprintf(p + plen + 2 * i, "%02x", md[i]);
    }

    return p;
}


/* an independent HMAC over a concatenation, for self-computed cases */

static const u_char *
t_hmac(const EVP_MD *md, const char *key, size_t klen, const char *data)
{
    static u_char  out[EVP_MAX_MD_SIZE];
    unsigned       len;

    HMAC(md, key, (int) klen, (const u_char *) data, strlen(data), out, &len);

    return out;
}


/* messages with garbage signature values that must be MALFORMED */

static const char  *t_garbage[] = {
    "",
    "   ",
    "=",
    "sha256=",
    "sha1=",
    "v1,",
    "==",
    "%%%%",
    "\xff\xfe\x00",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "sha256=zz41e1c07f50386213ac582d2e17d24d70f1ed42949a6e5a5607057b805b5fc",
    NULL
};


static void
t_all_garbage(const char *name)
{
    size_t  i;

    for (i = 0; t_garbage[i]; i++) {
        t_set(name, t_garbage[i]);
        t_r.v.reason = NULL;

        if (ngx_http_crmsync_verify(&t_r.v) == NGX_HTTP_CRMSYNC_VERIFY_OK) {
            fail_msg("garbage %zu verified", i);
        }

        assert_non_null(t_r.v.reason);
    }
}


/* Meta: WhatsApp, Messenger, Instagram */


static const struct {
    const char  *file;
    const char  *sig;
} t_meta[] = {
    { "whatsapp/messages_text_inbound.json",
      "sha256=1c041e1c07f50386213ac582d2e17d24d70f1ed42949a6e5a5607057b805b5fc"
    },
    { "whatsapp/statuses_sent.json",
      "sha256=f833501c49d6cd10e8201c47f5bbfc9a8dfeeadf12abcea443510a1b529303cc"
    },
    { "whatsapp/CONSTRUCTED_unicode_escaped_body.json",
      "sha256=64377a0be9ca19cf9d16264b8d1012e6ef2881cc40b787ac36fb600bf2d7ca34"
    }
};


static void
test_meta_vectors(void **state)
{
    size_t                       i;
    ngx_http_crmsync_provider_e  p;

    (void) state;

    for (p = NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP;
         p <= NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM;
         p++)
    {
        for (i = 0; i < sizeof(t_meta) / sizeof(t_meta[0]); i++) {
            t_init(p);
            t_body_file(t_meta[i].file);
            t_secret("test_app_secret");
            t_header("X-Hub-Signature-256", t_meta[i].sig);
            t_ok();
            assert_int_equal(t_r.v.secret, 0);
        }
    }
}


static void
test_meta_refusals(void **state)
{
    (void) state;

    t_init(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP);
    t_body_file("whatsapp/messages_text_inbound.json");
    t_secret("test_app_secret");
    t_header("X-Hub-Signature-256", t_meta[0].sig);
    t_ok();

    /* tampered body, first and last byte */
    t_tamper(0, NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch");
    t_tamper(t_r.v.body.len - 1, NGX_HTTP_CRMSYNC_VERIFY_BAD,
             "signature_mismatch");

    /* the raw UTF-8 form of the escaped body signs differently */
    t_init(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER);
    t_body_file("whatsapp/CONSTRUCTED_unicode_escaped_body.json");
    t_secret("test_app_secret");
    t_header("X-Hub-Signature-256", "sha256=3a3eb64f69a6fba5d89bf3f5bf4bde1ae7"
             "dd58168af9518045b1e61f2bf7d745");
    t_bad();

    /* wrong secret; no secret; an empty secret */
    t_init(NGX_HTTP_CRMSYNC_PROVIDER_INSTAGRAM);
    t_body_file("whatsapp/statuses_sent.json");
    t_header("X-Hub-Signature-256", t_meta[1].sig);
    t_bad();
    t_secret("");
    t_bad();
    t_secret("test_app_secreT");
    t_bad();
    t_secret("test_app_secret");
    t_ok();
    assert_int_equal(t_r.v.secret, 2);

    /* wrong digest in the right shape: a flipped last hex digit */
    t_set("X-Hub-Signature-256", "sha256=f833501c49d6cd10e8201c47f5bbfc9a8dfe"
          "eadf12abcea443510a1b529303cd");
    t_bad();

    /* missing: none, or only the legacy sha1 header */
    t_drop("X-Hub-Signature-256");
    t_missing();
    t_header("X-Hub-Signature",
             "sha1=900f63643134e250b12105d7619d5d881a6bc595");
    t_missing();

    /* garbage */
    t_header("X-Hub-Signature-256", "x");
    t_all_garbage("X-Hub-Signature-256");
    t_set("X-Hub-Signature-256", "sha256=f833501c49d6cd10e8201c47f5bbfc9a8dfee"
          "adf12abcea443510a1b529303c");
    t_malformed();
    t_set("X-Hub-Signature-256", "sha1=f833501c49d6cd10e8201c47f5bbfc9a8dfeea"
          "df12abcea443510a1b529303cc");
    t_malformed();
    t_set("X-Hub-Signature-256", "sha256=f833501c49d6cd10e8201c47f5bbfc9a8dfe"
          "eadf12abcea443510a1b529303ccaa");
    t_malformed();
    t_set("X-Hub-Signature-256", "sha256=g833501c49d6cd10e8201c47f5bbfc9a8dfe"
          "eadf12abcea443510a1b529303cc");
    t_malformed();
    t_set("X-Hub-Signature-256", "");
    t_malformed();
}


static void
test_meta_rotation_and_forms(void **state)
{
    (void) state;

    t_init(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP);
    t_body_file("whatsapp/messages_text_inbound.json");
    t_secret("old_app_secret");
    t_secret("test_app_secret");

    /* the name in any case, the hex in upper case, spaces around */
    t_header("x-hub-SIGNATURE-256",
             " SHA256=1C041E1C07F50386213AC582D2E17D24D70F1ED42949A6E5A56070"
             "57B805B5FC\t");
    t_ok();
    assert_int_equal(t_r.v.secret, 1);

    /* the first of two headers counts */
    t_header("X-Hub-Signature-256", "sha256=00");
    t_ok();

    /* an empty body and a body with NUL bytes, against a plain HMAC */
    t_init(NGX_HTTP_CRMSYNC_PROVIDER_MESSENGER);
    t_secret("k");
    t_header("X-Hub-Signature-256",
             t_hex("sha256=", t_hmac(EVP_sha256(), "k", 1, ""), 32));
    t_ok();

    memcpy(t_r.body, "a\0b", 3);
    t_r.v.body.len = 3;
    t_bad();
    t_set("X-Hub-Signature-256",
          t_hex("sha256=", HMAC(EVP_sha256(), "k", 1, t_r.body, 3, NULL,
                                NULL), 32));
    t_ok();
    t_r.v.body.len = 1;
    t_bad();
}


/* Intercom */


static void
test_intercom(void **state)
{
    (void) state;

    t_init(NGX_HTTP_CRMSYNC_PROVIDER_INTERCOM);
    t_body_file("intercom/conversation.user.created.json");
    t_secret("test_client_secret");
    t_header("X-Hub-Signature",
             "sha1=a06220be47b05ef28c1cfcd2d542c232ec5defe5");
    t_ok();

    t_tamper(100, NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch");

    t_init(NGX_HTTP_CRMSYNC_PROVIDER_INTERCOM);
    t_body_file("intercom/ping.json");
    t_secret("rotated_out");
    t_secret("test_client_secret");
    t_header("X-Hub-Signature",
             "sha1=76d46a5f79dbbcf02dc09d3cbd60428483ab2f09");
    t_ok();
    assert_int_equal(t_r.v.secret, 1);

    t_tamper(0, NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch");

    /* wrong secret */
    t_r.v.nsecrets = 1;
    t_bad();
    t_r.v.nsecrets = 2;

    /* the doc example has no known secret: refused */
    t_set("X-Hub-Signature", "sha1=21ff2e149e0fdcac6f947740f6177f6434bda921");
    t_bad();

    /* Meta's header name does not count for Intercom */
    t_drop("X-Hub-Signature");
    t_header("X-Hub-Signature-256",
             "sha1=76d46a5f79dbbcf02dc09d3cbd60428483ab2f09");
    t_missing();

    t_header("X-Hub-Signature", "x");
    t_all_garbage("X-Hub-Signature");
    t_set("X-Hub-Signature", "sha256=76d46a5f79dbbcf02dc09d3cbd60428483ab2f09");
    t_malformed();
    t_set("X-Hub-Signature", "sha1=76d46a5f79dbbcf02dc09d3cbd60428483ab2f0");
    t_malformed();
    t_set("X-Hub-Signature", "76d46a5f79dbbcf02dc09d3cbd60428483ab2f09");
    t_malformed();
}


/* Telegram */


static void
test_telegram(void **state)
{
    char  longtok[300];

    (void) state;

    t_init(NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM);
    t_body_file("telegram/message_text.json");
    t_secret("Old-token_1");
    t_secret("s3cr3t_Token-2");
    t_header("X-Telegram-Bot-Api-Secret-Token", "s3cr3t_Token-2");
    t_ok();
    assert_int_equal(t_r.v.secret, 1);

    t_set("X-Telegram-Bot-Api-Secret-Token", "Old-token_1");
    t_ok();
    assert_int_equal(t_r.v.secret, 0);

    /* the body is not signed: tampering is not detectable (documented) */

    /* near misses */
    t_set("X-Telegram-Bot-Api-Secret-Token", "s3cr3t_Token-3");
    t_bad();
    t_set("X-Telegram-Bot-Api-Secret-Token", "s3cr3t_Token-");
    t_bad();
    t_set("X-Telegram-Bot-Api-Secret-Token", "s3cr3t_Token-22");
    t_bad();
    t_set("X-Telegram-Bot-Api-Secret-Token", "S3CR3T_TOKEN-2");
    t_bad();

    /* wrong secret only */
    t_r.v.nsecrets = 0;
    t_set("X-Telegram-Bot-Api-Secret-Token", "s3cr3t_Token-2");
    t_bad();
    t_r.v.nsecrets = 2;

    t_all_garbage("X-Telegram-Bot-Api-Secret-Token");
    t_set("X-Telegram-Bot-Api-Secret-Token", "s3cr3t Token");
    t_malformed();
    t_set("X-Telegram-Bot-Api-Secret-Token", "");
    t_malformed();

    memset(longtok, 'a', 257);
    longtok[257] = '\0';
    t_set("X-Telegram-Bot-Api-Secret-Token", longtok);
    t_malformed();
    longtok[256] = '\0';
    t_set("X-Telegram-Bot-Api-Secret-Token", longtok);
    t_bad();

    t_drop("X-Telegram-Bot-Api-Secret-Token");
    t_missing();
}


/* Twilio */


#define T_TW_URL  "https://mycompany.com/myapp.php?foo=1&bar=2"


static void
t_twilio(const char *url, const char *form_file, const char *body,
    const char *sig)
{
    t_init(NGX_HTTP_CRMSYNC_PROVIDER_TWILIO);
    t_url(url);
    t_secret("12345");

    if (form_file) {
        t_body_file(form_file);
        t_r.v.form = 1;

    } else if (body) {
        t_body(body);
        t_r.v.form = 1;
    }

    t_header("X-Twilio-Signature", sig);
}


static void
test_twilio_official(void **state)
{
    (void) state;

    /* the docs' worked example */
    t_twilio(T_TW_URL, "twilio/official_doc_vector_params.form.txt", NULL,
             "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    t_ok();

    /* SDK vector, as given */
    t_twilio(T_TW_URL, "twilio/official_vector_params.form.txt", NULL,
             "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    t_ok();

    /* signed with :443: the request URL lacks it, or carries it */
    t_twilio(T_TW_URL, "twilio/official_vector_params.form.txt", NULL,
             "kvajT1Ptam85bY51eRf/AJRuM3w=");
    t_ok();
    t_twilio("https://mycompany.com:443/myapp.php?foo=1&bar=2",
             "twilio/official_vector_params.form.txt", NULL,
             "kvajT1Ptam85bY51eRf/AJRuM3w=");
    t_ok();

    /* signed without the port, received with :443 or :1234 */
    t_twilio("https://mycompany.com:443/myapp.php?foo=1&bar=2",
             "twilio/official_vector_params.form.txt", NULL,
             "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    t_ok();
    t_twilio("https://mycompany.com:1234/myapp.php?foo=1&bar=2",
             "twilio/official_vector_params.form.txt", NULL,
             "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    t_ok();

    /* http with a port */
    t_twilio("http://mycompany.com:1234/myapp.php?foo=1&bar=2",
             "twilio/official_vector_params.form.txt", NULL,
             "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=");
    t_ok();
    t_twilio("http://mycompany.com:80/myapp.php?foo=1&bar=2",
             "twilio/official_vector_params.form.txt", NULL,
             "0ZXoZLH/DfblKGATFgpif+LLRf4=");
    t_ok();
    t_twilio("http://mycompany.com/myapp.php?foo=1&bar=2",
             "twilio/official_vector_params.form.txt", NULL,
             "0ZXoZLH/DfblKGATFgpif+LLRf4=");
    t_ok();

    /* repeated names: values sorted, duplicates dropped */
    t_twilio(T_TW_URL, NULL,
             "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234",
             "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    t_ok();

    /* JSON bodies: bodySHA256 in the URL */
    t_twilio(T_TW_URL "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283"
             "a80c7cf19632632f96e6620", NULL, NULL,
             "a9nBmqA0ju/hNViExpshrM61xv4=");
    t_body_file("twilio/official_vector_json_body.json");
    t_ok();

    t_twilio("https://mycompany.com/myapp.php?bodySHA256=0a1ff7634d9ab3b95db5"
             "c9a2dfe9416e41502b283a80c7cf19632632f96e6620", NULL, NULL,
             "y77kIzt2vzLz71DgmJGsen2scGs=");
    t_body_file("twilio/official_vector_json_body.json");
    t_ok();

    /* matches only over the :443 variant */
    t_twilio(T_TW_URL "&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21"
             "fe77e8310c060f61caaff8a", NULL, NULL,
             "Ldidvp12m26NI7eqEvxnEpkd9Hc=");
    t_body("{}");
    t_ok();

    /* the form flag does not matter when bodySHA256 is there */
    t_r.v.form = 1;
    t_ok();

    /* self-computed over the constructed bodies */
    t_twilio("https://example.com/twilio/whatsapp",
             "twilio/CONSTRUCTED_whatsapp_inbound.form.txt", NULL,
             "6r/+OTcS9u9zADS8lPlLBYMW5Vw=");
    t_ok();
    t_twilio("https://example.com/twilio/status",
             "twilio/CONSTRUCTED_sms_status_callback.form.txt", NULL,
             "X0nLGklKiXWTKpUHGmUhd9jKi8I=");
    t_ok();
}


static void
test_twilio_form_rules(void **state)
{
    const char  *sig;

    (void) state;

    /* the same pairs in another order and encoding */
    t_twilio(T_TW_URL, NULL,
             "To=%2b18005551212&From=%2B12349013030&Digits=1234&"
             "Caller=%2B12349013030&&CallSid=CA1234567890ABCDE&",
             "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    t_ok();

    /* '+' is a space, so an unencoded '+' changes the value */
    t_twilio(T_TW_URL, NULL,
             "CallSid=CA1234567890ABCDE&Caller=+12349013030&Digits=1234&"
             "From=%2B12349013030&To=%2B18005551212",
             "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    t_bad();

    /* sorted by decoded name: "A%42" is "AB", after "AA", before "B" */
    sig = t_b64(t_hmac(EVP_sha1(), "12345", 5,
                       T_TW_URL "AA1AB2AB3B x!Bx!"), 20);
    t_twilio(T_TW_URL, NULL, "B=x%21&AB=3&A%42=2&AA=1&B=+x!", sig);
    t_ok();

    /* a name without '=' is a name with an empty value */
    sig = t_b64(t_hmac(EVP_sha1(), "12345", 5, T_TW_URL "EmptyFlagX1"), 20);
    t_twilio(T_TW_URL, NULL, "X=1&Flag&Empty=", sig);
    t_ok();

    /* a GET, or a POST without a body: the URL alone */
    sig = t_b64(t_hmac(EVP_sha1(), "12345", 5, T_TW_URL), 20);
    t_twilio(T_TW_URL, NULL, NULL, sig);
    t_ok();
    t_r.v.method.data = (u_char *) "GET";
    t_r.v.method.len = 3;
    t_ok();

    /* a URL without a scheme is used as given */
    sig = t_b64(t_hmac(EVP_sha1(), "12345", 5, "/myapp.php"), 20);
    t_twilio("/myapp.php", NULL, NULL, sig);
    t_ok();
}


static void
test_twilio_refusals(void **state)
{
    int          i;
    char        *p;
    size_t       len;
    static char  many[NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS * 8 + 16];

    (void) state;

    t_twilio(T_TW_URL, "twilio/official_doc_vector_params.form.txt", NULL,
             "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    t_ok();

    /* tampered body: a name, a value */
    t_tamper(0, NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch");
    t_tamper(t_r.v.body.len - 1, NGX_HTTP_CRMSYNC_VERIFY_BAD,
             "signature_mismatch");

    /* tampered URL: path, query, scheme, a wrong default port */
    t_url("https://mycompany.com/myapp.php?foo=1&bar=3");
    t_bad();
    t_url("https://mycompany.com/myapp.phq?foo=1&bar=2");
    t_bad();
    t_url("http://mycompany.com/myapp.php?foo=1&bar=2");
    t_bad();
    t_url("https://mycompany.com:80/myapp.php?foo=1&bar=2");
    t_ok();
    t_url("https://mycompany.com:8443/myapp.php?foo=1&bar=2");
    t_ok();
    t_url("https://mycompany.co/myapp.php?foo=1&bar=2");
    t_bad();
    t_url(T_TW_URL);
    t_ok();

    /* wrong secret, rotation */
    t_r.secrets[0].data = (u_char *) "12346";
    t_bad();
    t_secret("12345");
    t_ok();
    assert_int_equal(t_r.v.secret, 1);

    /* not a form: the body would be unsigned */
    t_r.v.form = 0;
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_BAD, "body_unsigned");
    t_r.v.form = 1;

    /* no URL */
    t_r.v.url.len = 0;
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "url_malformed");
    t_url(T_TW_URL);

    /* garbage */
    t_all_garbage("X-Twilio-Signature");
    t_set("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ");
    t_ok();
    t_set("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDg");
    t_malformed();
    t_set("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ==");
    t_malformed();
    t_set("X-Twilio-Signature", "0_KCTR6DLpKmkAf8muzZqo1nDgQ=");
    t_malformed();
    t_set("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=0/KCTR6DLpKm");
    t_malformed();
    t_set("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDhQ=");
    t_bad();

    t_drop("X-Twilio-Signature");
    t_missing();

    /* JSON: tampered body, bad bodySHA256 */
    t_twilio(T_TW_URL "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283"
             "a80c7cf19632632f96e6620", NULL, NULL,
             "a9nBmqA0ju/hNViExpshrM61xv4=");
    t_body_file("twilio/official_vector_json_body.json");
    t_ok();
    t_tamper(3, NGX_HTTP_CRMSYNC_VERIFY_BAD, "body_hash_mismatch");
    t_r.v.body.len = 0;
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_BAD, "body_hash_mismatch");

    t_url(T_TW_URL "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283"
          "a80c7cf19632632f96e662");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_BAD, "body_hash_mismatch");
    t_url(T_TW_URL "&bodySHA256=");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_BAD, "body_hash_mismatch");

    /* a hash that matches the body but is not the signed one */
    t_url(T_TW_URL "&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21"
          "fe77e8310c060f61caaff8a");
    t_body("{}");
    t_bad();

    /* more pairs than the stack array holds */
    p = many;

    for (i = 0; i <= NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS; i++) {
        p += sprintf(p, "a%d=1&", i);
    }

    len = p - many;
    assert_true(len < sizeof(many));

    t_twilio(T_TW_URL, NULL, many, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "params_too_many");

    /* exactly the maximum is fine */
    *strrchr(many, 'a') = '\0';
    t_body(many);
    t_bad();
}


static void
test_form_helpers(void **state)
{
    u_char                  buf[64];
    size_t                  n;
    ngx_http_crmsync_str_t  rest, name, value;

    (void) state;

    rest.data = (u_char *) "&&a=1&b&=2&c=%41+%2x%4&";
    rest.len = strlen((char *) rest.data);

    assert_int_equal(ngx_http_crmsync_form_next(&rest, &name, &value), 1);
    assert_int_equal(name.len, 1);
    assert_memory_equal(name.data, "a", 1);
    assert_int_equal(value.len, 1);
    assert_memory_equal(value.data, "1", 1);

    assert_int_equal(ngx_http_crmsync_form_next(&rest, &name, &value), 1);
    assert_int_equal(name.len, 1);
    assert_int_equal(value.len, 0);

    assert_int_equal(ngx_http_crmsync_form_next(&rest, &name, &value), 1);
    assert_int_equal(name.len, 0);
    assert_memory_equal(value.data, "2", 1);

    assert_int_equal(ngx_http_crmsync_form_next(&rest, &name, &value), 1);
    assert_memory_equal(name.data, "c", 1);

    n = ngx_http_crmsync_form_unescape(buf, value.data, value.len);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "A %2x%4", 7);

    assert_int_equal(ngx_http_crmsync_form_next(&rest, &name, &value), 0);
    assert_int_equal(ngx_http_crmsync_form_next(&rest, &name, &value), 0);

    /* in place */
    memcpy(buf, "%e2%82%AC+x", 11);
    n = ngx_http_crmsync_form_unescape(buf, buf, 11);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "\xe2\x82\xac x", 5);
}


/* respond.io */


static void
test_respondio(void **state)
{
    (void) state;

    t_init(NGX_HTTP_CRMSYNC_PROVIDER_RESPONDIO);
    t_body_file("respond-io/THIRDPARTY_vector_body.json");
    t_secret("secret");
    t_header("x-webhook-signature",
             "UtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0+xIrI=");
    t_ok();

    t_tamper(5, NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch");

    /* unpadded */
    t_set("x-webhook-signature", "UtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0+xIrI");
    t_ok();

    /* rotation, wrong secret */
    t_r.secrets[0].data = (u_char *) "secreT";
    t_bad();
    t_secret("secret");
    t_ok();
    assert_int_equal(t_r.v.secret, 1);

    t_all_garbage("x-webhook-signature");
    t_set("x-webhook-signature",
          "UtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0+xIrA=");
    t_bad();
    t_set("x-webhook-signature",
          "UtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0-xIrI=");
    t_malformed();
    t_set("x-webhook-signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    t_malformed();
    t_set("x-webhook-signature",
          "sha256=52d004e4b69e363acbdf73d41107e1ebd60aef8521aeb90e2fdb5037"
          "4fb122b2");
    t_malformed();

    t_drop("x-webhook-signature");
    t_missing();
}


/* Standard Webhooks */


static void
t_standard(const char *secret, const char *id, const char *ts,
    const char *sig)
{
    t_init(NGX_HTTP_CRMSYNC_PROVIDER_STANDARD);
    t_secret(secret);
    t_header("webhook-id", id);
    t_header("webhook-timestamp", ts);
    t_header("webhook-signature", sig);
    t_r.v.now = atol(ts);
}


#define T_SW_SECRET  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define T_SW_ID      "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define T_SW_SIG     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


static void
test_standard_vectors(void **state)
{
    (void) state;

    t_standard(T_SW_SECRET, T_SW_ID, "1614265330", T_SW_SIG);
    t_body_file("standard-webhooks/vector_official_payload.txt");
    t_ok();

    /* official negative: last character changed */
    t_set("webhook-signature",
          "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=");
    t_bad();

    t_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
               "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553",
               "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    t_body_file("standard-webhooks/vector_official_rust_payload.txt");
    t_ok();

    t_standard(T_SW_SECRET, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1674087231",
               "v1,ARw42xaAApl/nxRo+iPGYwSaMQaOwMo2eyH5JBRA+bQ=");
    t_body_file("standard-webhooks/contact.created_thin_minified.json");
    t_ok();

    /* the same secret without the prefix */
    t_r.secrets[0].data += 6;
    t_r.secrets[0].len -= 6;
    t_ok();
}


static void
test_standard_lists(void **state)
{
    (void) state;

    t_standard(T_SW_SECRET, T_SW_ID, "1614265330", T_SW_SIG);
    t_body_file("standard-webhooks/vector_official_payload.txt");

    /* any v1 entry may match; other versions are ignored */
    t_set("webhook-signature",
          "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= " T_SW_SIG);
    t_ok();
    t_set("webhook-signature",
          "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA"
          "7AZdpXwVLPo3mNl8EM+m7TBAg==   " T_SW_SIG "  v2,xyz");
    t_ok();
    t_set("webhook-signature", T_SW_SIG " v1,garbage!");
    t_ok();

    /* no v1 at all: nothing to verify */
    t_set("webhook-signature",
          "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA"
          "7AZdpXwVLPo3mNl8EM+m7TBAg==");
    t_bad();

    /* v1 entries that do not match */
    t_set("webhook-signature",
          "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= "
          "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=");
    t_bad();

    /* garbage */
    t_all_garbage("webhook-signature");
    t_set("webhook-signature", "v1,garbage!");
    t_malformed();
    t_set("webhook-signature", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    t_malformed();
    t_set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1");
    t_malformed();
    t_set("webhook-signature",
          "V1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    t_bad();
    t_set("webhook-signature",
          "v1;g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    t_malformed();
}


static void
test_standard_refusals(void **state)
{
    (void) state;

    t_standard(T_SW_SECRET, T_SW_ID, "1614265330", T_SW_SIG);
    t_body_file("standard-webhooks/vector_official_payload.txt");
    t_ok();

    t_tamper(0, NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch");
    t_tamper(t_r.v.body.len - 1, NGX_HTTP_CRMSYNC_VERIFY_BAD,
             "signature_mismatch");

    /* the id and the timestamp are signed */
    t_set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJeK");
    t_bad();
    t_set("webhook-id", T_SW_ID);
    t_set("webhook-timestamp", "1614265331");
    t_bad();
    t_set("webhook-timestamp", "01614265330");
    t_bad();
    t_set("webhook-timestamp", "1614265330");

    /* wrong secrets: another key, not base64, empty, rotation */
    t_r.secrets[0].data = (u_char *) "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    t_r.secrets[0].len = strlen((char *) t_r.secrets[0].data);
    t_bad();
    t_secret("whsec_!!!!");
    t_bad();
    t_secret("");
    t_bad();
    t_secret(T_SW_SECRET);
    t_ok();
    assert_int_equal(t_r.v.secret, 3);

    /* missing headers */
    t_drop("webhook-signature");
    t_missing();
    t_header("webhook-signature", T_SW_SIG);
    t_drop("webhook-id");
    t_missing();
    t_header("webhook-id", T_SW_ID);
    t_drop("webhook-timestamp");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MISSING, "timestamp_missing");
    t_header("webhook-timestamp", "1614265330");
    t_ok();

    /* malformed timestamp and id */
    t_set("webhook-timestamp", "1614265330.5");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "timestamp_malformed");
    t_set("webhook-timestamp", "-1614265330");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "timestamp_malformed");
    t_set("webhook-timestamp", "");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "timestamp_malformed");
    t_set("webhook-timestamp", "99999999999999999999999");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "timestamp_malformed");
    t_set("webhook-timestamp", "1614265330");
    t_set("webhook-id", "");
    t_malformed();
    t_set("webhook-id", T_SW_ID);
    t_ok();

    /* Svix's names */
    t_standard(T_SW_SECRET, T_SW_ID, "1614265330", T_SW_SIG);
    t_body_file("standard-webhooks/vector_official_payload.txt");
    t_r.headers[0].name.data = (u_char *) "svix-id";
    t_r.headers[0].name.len = 7;
    t_r.headers[1].name.data = (u_char *) "svix-timestamp";
    t_r.headers[1].name.len = 14;
    t_r.headers[2].name.data = (u_char *) "svix-signature";
    t_r.headers[2].name.len = 14;
    t_ok();
}


static void
test_standard_window(void **state)
{
    (void) state;

    t_standard(T_SW_SECRET, T_SW_ID, "1614265330", T_SW_SIG);
    t_body_file("standard-webhooks/vector_official_payload.txt");

    /* 5 minutes both ways, inclusive */
    t_r.v.now = 1614265330 + 300;
    t_ok();
    t_r.v.now = 1614265330 + 301;
    t_stale();
    t_r.v.now = 1614265330 - 300;
    t_ok();
    t_r.v.now = 1614265330 - 301;
    t_stale();

    /* stale comes before the signature check */
    t_r.body[0] ^= 1;
    t_stale();
    t_r.body[0] ^= 1;

    /* another window */
    t_r.v.window = 60;
    t_r.v.now = 1614265330 + 60;
    t_ok();
    t_r.v.now = 1614265330 + 61;
    t_stale();

    /* no window */
    t_r.v.window = 0;
    t_r.v.now = 1700000000;
    t_ok();

    /* absurd clocks do not overflow */
    t_r.v.window = 300;
    t_r.v.now = (time_t) INT64_MAX;
    t_stale();
    t_r.v.now = (time_t) INT64_MIN;
    t_stale();
    t_r.v.window = (time_t) INT64_MAX;
    t_ok();
}


/* HubSpot */


#define T_HS_SECRET  "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
#define T_HS_URI     "https://www.example.com/webhook_uri"


static void
t_hubspot(const char *method, const char *url, const char *file)
{
    t_init(NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT);
    t_secret(T_HS_SECRET);

    t_r.v.method.data = (u_char *) method;
    t_r.v.method.len = strlen(method);

    if (url) {
        t_url(url);
    }

    if (file) {
        t_body_file(file);
    }
}


static void
test_hubspot_vectors(void **state)
{
    (void) state;

    t_hubspot("POST", NULL, "hubspot/vector_v1_doc_body.json");
    t_header("X-HubSpot-Signature", "232db2615f3d666fe21a8ec971ac7b5402d33b9a"
             "925784df3ca654d05f4817de");
    t_header("X-HubSpot-Signature-Version", "v1");
    t_ok();

    t_hubspot("GET", T_HS_URI, NULL);
    t_header("X-HubSpot-Signature", "eee2dddcc73c94d699f5e395f4b9d454a069a685"
             "5fbfa152e91e88823087200e");
    t_header("X-HubSpot-Signature-Version", "v2");
    t_ok();

    t_hubspot("POST", T_HS_URI, "hubspot/vector_v2_doc_post_body.json");
    t_header("X-HubSpot-Signature", "9569219f8ba981ffa6f6f16aa0f48637d35d728c"
             "7e4d93d0d52efaa512af7900");
    t_header("X-HubSpot-Signature-Version", "v2");
    t_ok();

    t_hubspot("POST", T_HS_URI, "hubspot/vector_sdk_python_body.txt");
    t_header("X-HubSpot-Signature", "69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b"
             "21837b6d2b8901c1fa57f750");
    t_header("X-HubSpot-Signature-Version", "v1");
    t_ok();

    t_set("X-HubSpot-Signature", "4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123"
          "a9e355b876a689a1c383");
    t_set("X-HubSpot-Signature-Version", "v2");
    t_ok();

    /* v3 wins over v1/v2 when both are present */
    t_header("X-HubSpot-Signature-v3",
             "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=");
    t_header("X-HubSpot-Request-Timestamp", "15000000");
    t_stale();
    t_r.v.window = 0;
    t_ok();
    t_r.v.window = 300;
    t_r.v.now = 15000;
    t_ok();

    t_hubspot("POST", "https://example.com/hubspot/webhook",
              "hubspot/webhook_batch_example.json");
    t_header("X-HubSpot-Signature-v3",
             "gzYb1JWZP3yBWnJEzJe6e23niN/1+3zZhLvdfqF5eus=");
    t_header("X-HubSpot-Request-Timestamp", "1462216307945");
    t_r.v.now = 1462216307;
    t_ok();
}


static void
test_hubspot_v3_rules(void **state)
{
    char         data[256];
    const char  *sig;

    (void) state;

    /* window edges in milliseconds */
    t_hubspot("POST", "https://example.com/hubspot/webhook",
              "hubspot/webhook_batch_example.json");
    t_header("X-HubSpot-Signature-v3",
             "gzYb1JWZP3yBWnJEzJe6e23niN/1+3zZhLvdfqF5eus=");
    t_header("X-HubSpot-Request-Timestamp", "1462216307945");

    t_r.v.now = 1462216307 + 300;
    t_ok();
    t_r.v.now = 1462216307 + 301;
    t_stale();
    t_r.v.now = 1462216008;
    t_ok();
    t_r.v.now = 1462216007;
    t_stale();

    sig = t_b64(t_hmac(EVP_sha256(), T_HS_SECRET, 36,
                       "POSThttps://example.com/h1462216007000"), 32);
    t_hubspot("POST", "https://example.com/h", NULL);
    t_header("X-HubSpot-Signature-v3", sig);
    t_header("X-HubSpot-Request-Timestamp", "1462216007000");
    t_r.v.now = 1462216307;
    t_ok();
    t_set("X-HubSpot-Request-Timestamp", "1462216006999");
    t_stale();

    /* the listed escapes are decoded, others are kept */
    snprintf(data, sizeof(data), "%s",
             "POSThttps://example.com/a:b/c@d?x=/?!$'()*,;&y=%20%2B%3d"
             "1462216307000");
    sig = t_b64(t_hmac(EVP_sha256(), T_HS_SECRET, 36, data), 32);

    t_hubspot("POST", "https://example.com/a%3Ab/c%40d?x=%2f%3F%21%24%27%28"
              "%29%2A%2c%3B&y=%20%2B%3d", NULL);
    t_header("X-HubSpot-Signature-v3", sig);
    t_header("X-HubSpot-Request-Timestamp", "1462216307000");
    t_r.v.now = 1462216307;
    t_ok();

    t_url("https://example.com/a:b/c@d?x=/?!$'()*,;&y=%20%2B%3d");
    t_ok();

    t_url("https://example.com/a:b/c@d?x=/?!$'()*,;&y= %2B%3d");
    t_bad();
    t_url("https://example.com/a:b/c@d?x=/?!$'()*,;&y=%20+%3d");
    t_bad();
    t_url("https://example.com/a:b/c@d?x=/?!$'()*,;&y=%20%2B=");
    t_bad();

    /* the method is signed */
    t_url("https://example.com/a:b/c@d?x=/?!$'()*,;&y=%20%2B%3d");
    t_r.v.method.data = (u_char *) "PUT";
    t_r.v.method.len = 3;
    t_bad();
}


static void
test_hubspot_refusals(void **state)
{
    (void) state;

    t_hubspot("POST", "https://example.com/hubspot/webhook",
              "hubspot/webhook_batch_example.json");
    t_header("X-HubSpot-Signature-v3",
             "gzYb1JWZP3yBWnJEzJe6e23niN/1+3zZhLvdfqF5eus=");
    t_header("X-HubSpot-Request-Timestamp", "1462216307945");
    t_r.v.now = 1462216307;
    t_ok();

    t_tamper(10, NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch");

    /* wrong secret; rotation */
    t_r.secrets[0].data = (u_char *) "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyz";
    t_bad();
    t_secret(T_HS_SECRET);
    t_ok();
    assert_int_equal(t_r.v.secret, 1);

    /* the timestamp is signed */
    t_set("X-HubSpot-Request-Timestamp", "1462216307946");
    t_bad();
    t_set("X-HubSpot-Request-Timestamp", "1462216307945");

    /* the URL is signed and required */
    t_url("https://example.com/hubspot/webhooK");
    t_bad();
    t_r.v.url.len = 0;
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "url_malformed");
    t_url("https://example.com/hubspot/webhook");
    t_ok();

    /* garbage */
    t_all_garbage("X-HubSpot-Signature-v3");
    t_set("X-HubSpot-Signature-v3", "gzYb1JWZP3yBWnJEzJe6e23niN/1+3zZhLvdfqF5");
    t_malformed();
    t_set("X-HubSpot-Signature-v3",
          "gzYb1JWZP3yBWnJEzJe6e23niN/1+3zZhLvdfqF5eus=");
    t_set("X-HubSpot-Request-Timestamp", "1462216307945ms");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "timestamp_malformed");
    t_set("X-HubSpot-Request-Timestamp", "9999999999999999999");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "timestamp_malformed");

    /* missing */
    t_drop("X-HubSpot-Request-Timestamp");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MISSING, "timestamp_missing");
    t_drop("X-HubSpot-Signature-v3");
    t_missing();

    /* v1: tampered, version, garbage */
    t_hubspot("POST", NULL, "hubspot/vector_v1_doc_body.json");
    t_header("X-HubSpot-Signature", "232db2615f3d666fe21a8ec971ac7b5402d33b9a"
             "925784df3ca654d05f4817de");
    t_header("X-HubSpot-Signature-Version", "v1");
    t_ok();
    t_tamper(2, NGX_HTTP_CRMSYNC_VERIFY_BAD, "signature_mismatch");

    t_set("X-HubSpot-Signature-Version", "v2");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "url_malformed");
    t_url(T_HS_URI);
    t_bad();
    t_set("X-HubSpot-Signature-Version", "v3");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "version_unknown");
    t_set("X-HubSpot-Signature-Version", "");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "version_unknown");
    t_drop("X-HubSpot-Signature-Version");
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_MALFORMED, "version_unknown");
    t_header("X-HubSpot-Signature-Version", "V1");
    t_ok();

    t_r.secrets[0].data = (u_char *) "wrong";
    t_r.secrets[0].len = 5;
    t_bad();

    t_all_garbage("X-HubSpot-Signature");
    t_set("X-HubSpot-Signature", "sha256=232db2615f3d666fe21a8ec971ac7b5402d3"
          "3b9a925784df3ca654d05f4817de");
    t_malformed();

    /* v2: the method is signed */
    t_hubspot("PUT", T_HS_URI, "hubspot/vector_v2_doc_post_body.json");
    t_header("X-HubSpot-Signature", "9569219f8ba981ffa6f6f16aa0f48637d35d728c"
             "7e4d93d0d52efaa512af7900");
    t_header("X-HubSpot-Signature-Version", "v2");
    t_bad();
}


/* everything else */


static void
test_misc(void **state)
{
    ngx_http_crmsync_str_t  s;

    (void) state;

    t_init(NGX_HTTP_CRMSYNC_PROVIDER_NONE);
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_BAD, "provider_unknown");
    t_init(NGX_HTTP_CRMSYNC_PROVIDER_MAX);
    t_expect(NGX_HTTP_CRMSYNC_VERIFY_BAD, "provider_unknown");

    /* no headers at all, NULL array */
    t_init(NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP);
    t_r.v.headers = NULL;
    t_r.v.nheaders = 3;
    t_missing();

    /* secret checks for the configuration */
    s.data = (u_char *) "";
    s.len = 0;
    assert_non_null(ngx_http_crmsync_verify_secret_error(
                        NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, &s));

    s.data = (u_char *) T_SW_SECRET;
    s.len = strlen(T_SW_SECRET);
    assert_null(ngx_http_crmsync_verify_secret_error(
                    NGX_HTTP_CRMSYNC_PROVIDER_STANDARD, &s));
    assert_null(ngx_http_crmsync_verify_secret_error(
                    NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP, &s));

    s.data = (u_char *) "whsec_not base64";
    s.len = strlen((char *) s.data);
    assert_non_null(ngx_http_crmsync_verify_secret_error(
                        NGX_HTTP_CRMSYNC_PROVIDER_STANDARD, &s));

    s.data = (u_char *) "whsec_";
    s.len = 6;
    assert_non_null(ngx_http_crmsync_verify_secret_error(
                        NGX_HTTP_CRMSYNC_PROVIDER_STANDARD, &s));

    s.data = (u_char *) "abc_DEF-123";
    s.len = strlen((char *) s.data);
    assert_null(ngx_http_crmsync_verify_secret_error(
                    NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, &s));

    s.data = (u_char *) "abc DEF";
    s.len = strlen((char *) s.data);
    assert_non_null(ngx_http_crmsync_verify_secret_error(
                        NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM, &s));
}


/*
 * HMAC states are kept per key: a secret longer than a hash block (hashed
 * first, never kept), one secret under SHA-1 and SHA-256 in turn, and
 * more keys than are kept, each checked against OpenSSL's HMAC().
 */

static void
test_hmac_keys(void **state)
{
    int           round, i;
    char          hex[2 * EVP_MAX_MD_SIZE + 8], b64[128], key[40][130];
    u_char        md[EVP_MAX_MD_SIZE];
    unsigned      n, k;
    const char   *body;

    (void) state;

    body = "{\"event_type\":\"message.received\"}";

    for (i = 0; i < 40; i++) {
        /* every 5th key 129 bytes long, the rest 10 to 49 */
        memset(key[i], 'a' + i % 26, sizeof(key[i]));
        key[i][(i % 5 == 0) ? 129 : 10 + i] = '\0';
    }

    for (round = 0; round < 2; round++) {
        for (i = 0; i < 40; i++) {

            /* respond.io: base64 HMAC-SHA256 */

            t_init(NGX_HTTP_CRMSYNC_PROVIDER_RESPONDIO);
            t_body(body);
            HMAC(EVP_sha256(), key[i], strlen(key[i]), (u_char *) body,
                 strlen(body), md, &n);
            EVP_EncodeBlock((u_char *) b64, md, n);
            t_header("x-webhook-signature", b64);
            t_r.secrets[0].data = (u_char *) key[i];
            t_r.secrets[0].len = strlen(key[i]);
            t_r.v.nsecrets = 1;
            assert_int_equal(ngx_http_crmsync_verify(&t_r.v),
                             NGX_HTTP_CRMSYNC_VERIFY_OK);

            /* the same key under SHA-1: Intercom */

            t_init(NGX_HTTP_CRMSYNC_PROVIDER_INTERCOM);
            t_body(body);
            HMAC(EVP_sha1(), key[i], strlen(key[i]), (u_char *) body,
                 strlen(body), md, &n);
            memcpy(hex, "sha1=", 5);
            for (k = 0; k < n; k++) {
                snprintf(hex + 5 + 2 * k, 3, "%02x", md[k]);
            }
            t_header("X-Hub-Signature", hex);
            t_r.secrets[0].data = (u_char *) key[i];
            t_r.secrets[0].len = strlen(key[i]);
            t_r.v.nsecrets = 1;
            assert_int_equal(ngx_http_crmsync_verify(&t_r.v),
                             NGX_HTTP_CRMSYNC_VERIFY_OK);

            /* and a neighbour's key never verifies it */

            t_r.secrets[0].data = (u_char *) key[(i + 1) % 40];
            t_r.secrets[0].len = strlen(key[(i + 1) % 40]);
            assert_int_equal(ngx_http_crmsync_verify(&t_r.v),
                             NGX_HTTP_CRMSYNC_VERIFY_BAD);
        }
    }
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_meta_vectors),
        cmocka_unit_test(test_meta_refusals),
        cmocka_unit_test(test_meta_rotation_and_forms),
        cmocka_unit_test(test_intercom),
        cmocka_unit_test(test_telegram),
        cmocka_unit_test(test_twilio_official),
        cmocka_unit_test(test_twilio_form_rules),
        cmocka_unit_test(test_twilio_refusals),
        cmocka_unit_test(test_form_helpers),
        cmocka_unit_test(test_respondio),
        cmocka_unit_test(test_standard_vectors),
        cmocka_unit_test(test_standard_lists),
        cmocka_unit_test(test_standard_refusals),
        cmocka_unit_test(test_standard_window),
        cmocka_unit_test(test_hubspot_vectors),
        cmocka_unit_test(test_hubspot_v3_rules),
        cmocka_unit_test(test_hubspot_refusals),
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_hmac_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

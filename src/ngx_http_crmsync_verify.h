
/*
 * Copyright (C) crmsync authors
 *
 * Webhook signature verifiers, one per provider.  Pure C: no nginx
 * headers, only libc and libcrypto; no heap allocation of our own (OpenSSL
 * allocates its MAC and digest contexts), no global state.
 *
 * Headers read (names case-insensitive, first occurrence wins, values
 * trimmed of spaces and tabs):
 *
 *   whatsapp, messenger, instagram
 *             X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>
 *   intercom  X-Hub-Signature: sha1=<hex HMAC-SHA1(secret, body)>
 *   telegram  X-Telegram-Bot-Api-Secret-Token: <secret>
 *   twilio    X-Twilio-Signature: <b64 HMAC-SHA1(secret, url + params)>
 *             form bodies: params are the body's pairs, decoded, sorted
 *             by name then value, duplicates dropped, name + value each;
 *             url carrying bodySHA256=<hex>: url only, and the body's
 *             SHA-256 must equal <hex>; urls are tried as given, without
 *             their port, and with ":443"/":80" added when they have none
 *   respondio x-webhook-signature: <b64 HMAC-SHA256(secret, body)>
 *   standard  webhook-id, webhook-timestamp (seconds), webhook-signature:
 *             "v1,<b64>" entries separated by spaces, any one matching
 *             HMAC-SHA256(b64decode(secret sans "whsec_"),
 *             id "." timestamp "." body); other versions ignored;
 *             svix-id, svix-timestamp, svix-signature when webhook-signature
 *             is absent
 *   hubspot   X-HubSpot-Signature-v3 + X-HubSpot-Request-Timestamp (ms):
 *             b64 HMAC-SHA256(secret, method + url + body + timestamp),
 *             url with only %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C
 *             %3B decoded; when v3 is absent, X-HubSpot-Signature +
 *             X-HubSpot-Signature-Version "v1" (hex SHA-256(secret + body))
 *             or "v2" (hex SHA-256(secret + method + url + body))
 *
 * Reasons (static strings, safe to log and to send; they never contain
 * request or secret bytes):
 *
 *   OK         "ok"
 *   MISSING    "signature_missing", "timestamp_missing"
 *   BAD        "signature_mismatch", "body_hash_mismatch" (twilio
 *              bodySHA256), "body_unsigned" (twilio: a non-form body
 *              without bodySHA256), "provider_unknown"
 *   MALFORMED  "signature_malformed", "timestamp_malformed",
 *              "version_unknown" (hubspot), "url_malformed" (twilio,
 *              hubspot v2/v3), "params_too_many" (twilio, more than
 *              NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS form pairs)
 *   STALE      "timestamp_stale"
 */


#ifndef _NGX_HTTP_CRMSYNC_VERIFY_H_INCLUDED_
#define _NGX_HTTP_CRMSYNC_VERIFY_H_INCLUDED_


#include "ngx_http_crmsync_types.h"


#define NGX_HTTP_CRMSYNC_VERIFY_MAX_PARAMS  256
#define NGX_HTTP_CRMSYNC_VERIFY_WINDOW      300


typedef enum {
    NGX_HTTP_CRMSYNC_VERIFY_OK = 0,
    /* no signature header(s): 401 "signature_missing" */
    NGX_HTTP_CRMSYNC_VERIFY_MISSING,
    /* no secret matches: 401 "signature_mismatch" */
    NGX_HTTP_CRMSYNC_VERIFY_BAD,
    /* header present but unreadable: 401 "signature_malformed" */
    NGX_HTTP_CRMSYNC_VERIFY_MALFORMED,
    /* timestamp outside the window: 401 "timestamp_stale" */
    NGX_HTTP_CRMSYNC_VERIFY_STALE
} ngx_http_crmsync_verify_rc_e;


typedef struct {
    ngx_http_crmsync_provider_e        provider;
    /* "POST" (hubspot v2, v3) */
    ngx_http_crmsync_str_t             method;
    /*
     * full public URL with query (twilio, hubspot):
     * "https://example.com/hooks/twilio?x=1"
     */
    ngx_http_crmsync_str_t             url;
    /* raw bytes */
    ngx_http_crmsync_str_t             body;
    /* body is application/x-www-form-urlencoded (twilio) */
    unsigned                           form:1;
    /* all request headers; names are looked up case-insensitively */
    const ngx_http_crmsync_header_t   *headers;
    size_t                             nheaders;
    /* as configured; "whsec_..." for standard; empty ones never match */
    const ngx_http_crmsync_str_t      *secrets;
    size_t                             nsecrets;
    /* seconds */
    time_t                             now;
    /* seconds; 0 = no replay check */
    time_t                             window;
    /* out: static machine-readable reason, see above */
    const char                        *reason;
    /* out: index in secrets of the secret that verified, when OK */
    size_t                             secret;
} ngx_http_crmsync_verify_t;


ngx_http_crmsync_verify_rc_e ngx_http_crmsync_verify(
    ngx_http_crmsync_verify_t *v);

/*
 * For configuration checks: NULL if the secret is usable for the
 * provider, else a static message ("is empty", "is not valid base64 after
 * \"whsec_\"", ...).  The message never contains the secret.
 */
const char *ngx_http_crmsync_verify_secret_error(
    ngx_http_crmsync_provider_e provider, const ngx_http_crmsync_str_t *secret);


/*
 * application/x-www-form-urlencoded, as Twilio sends it.
 *
 * ngx_http_crmsync_form_next() splits the next "name=value" pair off the
 * front of *rest (advancing it) and returns 1, or returns 0 when *rest
 * holds no more pairs.  Pairs are separated by '&'; empty segments are
 * skipped; a segment without '=' is a name with an empty value.  name and
 * value point into the input and are still encoded.
 *
 * ngx_http_crmsync_form_unescape() decodes '+' to ' ' and "%XX" (either
 * case) to the byte; a '%' not followed by two hex digits stays as is.
 * dst needs len bytes (it may be src itself); returns the decoded length.
 */
int ngx_http_crmsync_form_next(ngx_http_crmsync_str_t *rest,
    ngx_http_crmsync_str_t *name, ngx_http_crmsync_str_t *value);
size_t ngx_http_crmsync_form_unescape(u_char *dst, const u_char *src,
    size_t len);


#endif /* _NGX_HTTP_CRMSYNC_VERIFY_H_INCLUDED_ */

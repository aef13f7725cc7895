
/*
 * Copyright (C) crmsync authors
 *
 * Unit tests: phone numbers to E.164 (ngx_http_crmsync_phone.[ch]).
 * Expected values are libphonenumber-js 1.13.16 answers (max metadata),
 * except for the WhatsApp pre-steps, which are crmsync's own.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_crmsync_phone.h"


static int
parse(const char *s, const char *region, ngx_http_crmsync_phone_t *ph)
{
    return ngx_http_crmsync_phone_parse((const unsigned char *) s,
                                        strlen(s), region, ph);
}


static int
wa(const char *s, ngx_http_crmsync_phone_t *ph)
{
    return ngx_http_crmsync_phone_parse_whatsapp((const unsigned char *) s,
                                                 strlen(s), ph);
}


static void
expect(const char *s, const char *region, const char *e164, int valid,
    const char *in_region)
{
    ngx_http_crmsync_phone_t  ph;

    assert_int_equal(parse(s, region, &ph), 0);
    assert_string_equal(ph.e164, e164);
    assert_int_equal(ph.valid, valid);
    assert_string_equal(ph.region, in_region);
    assert_string_equal(ph.alt_e164, "");
}


static void
expect_none(const char *s, const char *region)
{
    ngx_http_crmsync_phone_t  ph;

    assert_int_equal(parse(s, region, &ph), -1);
    assert_string_equal(ph.e164, "");
    assert_string_equal(ph.ext, "");
    assert_int_equal(ph.valid, 0);
}


static int
setup(void **state)
{
    (void) state;

    return ngx_http_crmsync_phone_init();
}


static int
teardown(void **state)
{
    (void) state;

    ngx_http_crmsync_phone_cleanup();

    return 0;
}


static void
test_init_is_idempotent(void **state)
{
    (void) state;

    assert_int_equal(ngx_http_crmsync_phone_init(), 0);
    assert_int_equal(ngx_http_crmsync_phone_init(), 0);
    assert_true(ngx_http_crmsync_phone_memory() > 0);
    assert_true(ngx_http_crmsync_phone_memory() < 2 * 1024 * 1024);

    ngx_http_crmsync_phone_cleanup();
    assert_int_equal(ngx_http_crmsync_phone_init(), 0);
    expect("020 7946 0958", "GB", "+442079460958", 1, "GB");
}


static void
test_region_known(void **state)
{
    (void) state;

    assert_true(ngx_http_crmsync_phone_region_known("US", 2));
    assert_true(ngx_http_crmsync_phone_region_known("de", 2));
    assert_true(ngx_http_crmsync_phone_region_known("VA", 2));
    assert_false(ngx_http_crmsync_phone_region_known("ZZ", 2));
    assert_false(ngx_http_crmsync_phone_region_known("XX", 2));
    assert_false(ngx_http_crmsync_phone_region_known("USA", 3));
    assert_false(ngx_http_crmsync_phone_region_known("U", 1));
    assert_false(ngx_http_crmsync_phone_region_known("1A", 2));
    assert_false(ngx_http_crmsync_phone_region_known(NULL, 0));

    /* works before init too, for configuration checks */
    ngx_http_crmsync_phone_cleanup();
    assert_true(ngx_http_crmsync_phone_region_known("gb", 2));
    assert_false(ngx_http_crmsync_phone_region_known("QQ", 2));
    assert_int_equal(ngx_http_crmsync_phone_init(), 0);
}


static void
test_national_and_plus(void **state)
{
    (void) state;

    expect("(415) 555-0132", "US", "+14155550132", 1, "US");
    expect("+1 415 555 0132", NULL, "+14155550132", 1, "US");
    expect("+1 415 555 0132", "ZZ", "+14155550132", 1, "US");
    expect("+1 415 555 0132", "", "+14155550132", 1, "US");
    expect("020 7946 0958", "gb", "+442079460958", 1, "GB");
    expect("+44 (0) 20 7946 0958", NULL, "+442079460958", 1, "GB");
    expect("8 (916) 123-45-67", "RU", "+79161234567", 1, "RU");

    /* national number without a region */
    expect_none("4155550132", NULL);
    expect_none("4155550132", "ZZ");

    /* an unsupported default region is no default region */
    expect("+1 415 555 0132", "XX", "+14155550132", 1, "US");
    expect_none("415 555 0132", "XX");
}


static void
test_idd_prefixes(void **state)
{
    (void) state;

    expect("011 44 20 7946 0958", "US", "+442079460958", 1, "GB");
    expect("00 44 20 7946 0958", "DE", "+442079460958", 1, "GB");
    expect("0011 44 20 7946 0958", "AU", "+442079460958", 1, "GB");
    expect("8~10 44 20 7946 0958", "RU", "+442079460958", 1, "GB");
    expect("8 10 44 20 7946 0958", "RU", "+442079460958", 1, "GB");

    /* the wrong IDD for the region is a national number */
    expect("00 44 20 7946 0958", "US", "+100442079460958", 0, "US");
}


static void
test_calling_code_without_plus(void **state)
{
    (void) state;

    expect("447911123456", "GB", "+447911123456", 1, "GG");
    expect("14155550132", "US", "+14155550132", 1, "US");

    /* variable length plans: the heuristic keeps the digits */
    expect("4915112345678", "DE", "+494915112345678", 1, "DE");
}


static void
test_quirks(void **state)
{
    (void) state;

    /* Italy's leading zero, Vatican by leading digits */
    expect("06 1234 5678", "IT", "+390612345678", 1, "IT");
    expect("+39 06 1234 5678", NULL, "+390612345678", 1, "IT");
    expect("+39 06 698 12345", NULL, "+390669812345", 1, "VA");

    /* Argentina: 0 area 15 subscriber is the mobile 9 */
    expect("011 15 2345-6789", "AR", "+5491123456789", 1, "AR");
    expect("+54 11 2345 6789", NULL, "+541123456789", 1, "AR");

    /* Brazil: carrier selection code */
    expect("0 21 11 98765 4321", "BR", "+5511987654321", 1, "BR");

    /* Mexico: the old mobile 1 is no longer stripped */
    expect("+52 1 55 1234 5678", "MX", "+5215512345678", 0, "MX");
    expect("+52 55 1234 5678", NULL, "+525512345678", 1, "MX");

    /* shared calling codes */
    expect("+1 876 555 0123", NULL, "+18765550123", 1, "JM");
    expect("+1 876 927 1234", NULL, "+18769271234", 1, "JM");
    expect("+44 1481 256789", NULL, "+441481256789", 1, "GG");
    expect("+7 701 123 4567", NULL, "+77011234567", 1, "KZ");

    /* non-geographic */
    expect("+800 1234 5678", NULL, "+80012345678", 1, "");
}


static void
test_extensions(void **state)
{
    ngx_http_crmsync_phone_t  ph;

    (void) state;

    assert_int_equal(parse("+1 650 253 0000 ext. 123", NULL, &ph), 0);
    assert_string_equal(ph.e164, "+16502530000");
    assert_string_equal(ph.ext, "123");
    assert_true(ph.valid);

    assert_int_equal(parse("(650) 253-0000 x 42", "US", &ph), 0);
    assert_string_equal(ph.e164, "+16502530000");
    assert_string_equal(ph.ext, "42");

    assert_int_equal(parse("tel:+1-650-253-0000;ext=7", NULL, &ph), 0);
    assert_string_equal(ph.ext, "7");

    assert_int_equal(parse("+7 495 123-45-67 \xd0\xb4\xd0\xbe\xd0\xb1. 123",
                           NULL, &ph), 0);
    assert_string_equal(ph.e164, "+74951234567");
    assert_string_equal(ph.ext, "123");

    /* full-width extension digits come out as ASCII */
    assert_int_equal(parse("+1 650 253 0000 ext \xef\xbc\x91\xef\xbc\x92",
                           NULL, &ph), 0);
    assert_string_equal(ph.ext, "12");

    assert_int_equal(parse("+1 650 253 0000", NULL, &ph), 0);
    assert_string_equal(ph.ext, "");
}


static void
test_unicode_and_text(void **state)
{
    (void) state;

    /* full-width digits; the full-width plus is not a plus in JS */
    expect("\xef\xbc\x90\xef\xbc\x92\xef\xbc\x90 7946 0958", "GB",
           "+442079460958", 1, "GB");
    expect_none("\xef\xbc\x8b\xef\xbc\x94\xef\xbc\x94 20 7946 0958", NULL);

    /* Arabic-Indic and Eastern Arabic (Persian) digits */
    expect("+\xd9\xa4\xd9\xa4 20 7946 0958", NULL, "+442079460958", 1, "GB");
    expect("\xdb\xb0\xdb\xb9\xdb\xb1\xdb\xb2 345 6789", "IR",
           "+989123456789", 1, "IR");

    /* punctuation and surrounding text */
    expect("Call me at +49 30 1234567 thanks!", NULL, "+49301234567", 1,
           "DE");
    expect("Tel: 030/123.4567 (work)", "DE", "+49301234567", 1, "DE");
    expect("tel:650-253-0000;phone-context=+1", NULL, "+16502530000", 1,
           "US");
    expect("tel:+1-650-253-0000;isub=12345", NULL, "+16502530000", 1, "US");

    /* vanity letters are not converted (libphonenumber-js) */
    expect("1-800-FLOWERS", "US", "+11800", 0, "US");
}


static void
test_not_numbers(void **state)
{
    char                      big[400];
    ngx_http_crmsync_phone_t  ph;

    (void) state;

    expect_none("", "US");
    expect_none("N/A", "US");
    expect_none("call me", NULL);
    expect_none("+", NULL);
    expect_none("+999 1234 5678", NULL);
    expect_none("+0 20 7946 0958", NULL);
    expect_none("tel:1234;phone-context=", NULL);
    assert_int_equal(ngx_http_crmsync_phone_parse(NULL, 0, "US", &ph), -1);

    /* more than 250 characters */
    memset(big, ' ', sizeof(big));
    memcpy(big + sizeof(big) - 20, "+44 20 7946 0958", 16);
    big[sizeof(big) - 1] = '\0';
    expect_none(big, NULL);

    /* invalid UTF-8 is replaced, not trusted */
    expect("\xff\xfe+44 20 7946 0958", NULL, "+442079460958", 1, "GB");
    expect("+44 20 7946 0958\xc3", NULL, "+442079460958", 1, "GB");
}


static void
test_whatsapp(void **state)
{
    ngx_http_crmsync_phone_t  ph;

    (void) state;

    assert_int_equal(wa("14155550132", &ph), 0);
    assert_string_equal(ph.e164, "+14155550132");
    assert_string_equal(ph.alt_e164, "");
    assert_true(ph.valid);

    assert_int_equal(wa("whatsapp:+14155550132", &ph), 0);
    assert_string_equal(ph.e164, "+14155550132");

    /* Mexico: 521 + 10 digits */
    assert_int_equal(wa("5215512345678", &ph), 0);
    assert_string_equal(ph.e164, "+525512345678");
    assert_true(ph.valid);
    assert_string_equal(ph.region, "MX");

    /* Brazil: without and with the ninth digit */
    assert_int_equal(wa("551187654321", &ph), 0);
    assert_string_equal(ph.e164, "+5511987654321");
    assert_string_equal(ph.alt_e164, "+551187654321");
    assert_true(ph.valid);

    assert_int_equal(wa("whatsapp:+5511987654321", &ph), 0);
    assert_string_equal(ph.e164, "+5511987654321");
    assert_string_equal(ph.alt_e164, "+551187654321");

    /* a Brazilian fixed line has no other form */
    assert_int_equal(wa("551132345678", &ph), 0);
    assert_string_equal(ph.e164, "+551132345678");
    assert_string_equal(ph.alt_e164, "");

    /* no default region: DE digits are not guessed at */
    assert_int_equal(wa("4915112345678", &ph), 0);
    assert_string_equal(ph.e164, "+4915112345678");

    assert_int_equal(wa("447911123456@s.whatsapp.net", &ph), 0);
    assert_string_equal(ph.e164, "+447911123456");

    assert_int_equal(wa("hello", &ph), -1);
    assert_int_equal(wa("", &ph), -1);
    assert_int_equal(wa("+", &ph), -1);
    assert_int_equal(wa("12345678901234567890123", &ph), -1);
}


/*
 * WhatsApp ids are memoized per process: 2,000 different ids (colliding
 * in the memo), Mexican and Brazilian ones among them, give the same
 * answers parsed in one order and then in the reverse one.
 */

static void
test_whatsapp_memo(void **state)
{
    int                        i, n;
    char                       ids[2000][20];
    ngx_http_crmsync_phone_t  *first, again;

    (void) state;

    n = 2000;
    first = calloc(n, sizeof(ngx_http_crmsync_phone_t));
    assert_non_null(first);

    for (i = 0; i < n; i++) {
        switch (i % 4) {
        case 0:
            snprintf(ids[i], sizeof(ids[i]), "1650555%04d", i);
            break;
        case 1:
            snprintf(ids[i], sizeof(ids[i]), "52155%08d", i);
            break;
        case 2:
            snprintf(ids[i], sizeof(ids[i]), "55119%08d", i);
            break;
        default:
            snprintf(ids[i], sizeof(ids[i]), "4915%08d", i);
            break;
        }

        first[i].valid = 0;
        (void) ngx_http_crmsync_phone_parse_whatsapp((u_char *) ids[i],
                                                     strlen(ids[i]),
                                                     &first[i]);
    }

    for (i = n - 1; i >= 0; i--) {
        memset(&again, 0x5a, sizeof(again));
        (void) ngx_http_crmsync_phone_parse_whatsapp((u_char *) ids[i],
                                                     strlen(ids[i]), &again);

        assert_string_equal(again.e164, first[i].e164);
        assert_string_equal(again.alt_e164, first[i].alt_e164);
        assert_string_equal(again.region, first[i].region);
        assert_int_equal(again.valid, first[i].valid);
    }

    /* a Mexican id and its 52 form meet in one entry */
    assert_int_equal(ngx_http_crmsync_phone_parse_whatsapp(
                         (u_char *) "5215512345678", 13, &again), 0);
    assert_string_equal(again.e164, "+525512345678");

    free(first);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_init_is_idempotent),
        cmocka_unit_test(test_region_known),
        cmocka_unit_test(test_national_and_plus),
        cmocka_unit_test(test_idd_prefixes),
        cmocka_unit_test(test_calling_code_without_plus),
        cmocka_unit_test(test_quirks),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_unicode_and_text),
        cmocka_unit_test(test_not_numbers),
        cmocka_unit_test(test_whatsapp),
        cmocka_unit_test(test_whatsapp_memo),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

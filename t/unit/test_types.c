
/*
 * Copyright (C) crmsync authors
 *
 * Unit tests: provider names, as crmsync_webhook takes them.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_crmsync_types.h"


static ngx_http_crmsync_provider_e
by_name(const char *s)
{
    return ngx_http_crmsync_provider_by_name((const u_char *) s, strlen(s));
}


static void
test_every_name_round_trips(void **state)
{
    size_t  i;

    (void) state;

    for (i = 1; i < NGX_HTTP_CRMSYNC_PROVIDER_MAX; i++) {
        assert_non_null(ngx_http_crmsync_provider_names[i]);
        assert_int_equal(by_name(ngx_http_crmsync_provider_names[i]), i);
    }

    assert_null(ngx_http_crmsync_provider_names[0]);
    assert_null(ngx_http_crmsync_provider_names[NGX_HTTP_CRMSYNC_PROVIDER_MAX]);
}


static void
test_names_users_write(void **state)
{
    (void) state;

    assert_int_equal(by_name("whatsapp"), NGX_HTTP_CRMSYNC_PROVIDER_WHATSAPP);
    assert_int_equal(by_name("standard"), NGX_HTTP_CRMSYNC_PROVIDER_STANDARD);
    assert_int_equal(by_name("hubspot"), NGX_HTTP_CRMSYNC_PROVIDER_HUBSPOT);
}


static void
test_near_misses_are_unknown(void **state)
{
    (void) state;

    assert_int_equal(by_name(""), NGX_HTTP_CRMSYNC_PROVIDER_NONE);
    assert_int_equal(by_name("whatsap"), NGX_HTTP_CRMSYNC_PROVIDER_NONE);
    assert_int_equal(by_name("whatsappx"), NGX_HTTP_CRMSYNC_PROVIDER_NONE);
    assert_int_equal(by_name("WhatsApp"), NGX_HTTP_CRMSYNC_PROVIDER_NONE);
    assert_int_equal(by_name("respond.io"), NGX_HTTP_CRMSYNC_PROVIDER_NONE);

    /* the length counts, not a NUL: a prefix of a name is no name */
    assert_int_equal(ngx_http_crmsync_provider_by_name(
                         (const u_char *) "telegramX", 8),
                     NGX_HTTP_CRMSYNC_PROVIDER_TELEGRAM);
    assert_int_equal(ngx_http_crmsync_provider_by_name(
                         (const u_char *) "telegram", 7),
                     NGX_HTTP_CRMSYNC_PROVIDER_NONE);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_every_name_round_trips),
        cmocka_unit_test(test_names_users_write),
        cmocka_unit_test(test_near_misses_are_unknown),
    };

    return cmocka_run_group_tests_name("types", tests, NULL, NULL);
}

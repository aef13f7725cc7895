
/*
 * Copyright (C) crmsync authors
 *
 * Unit tests: the arena JSON reader of the webhook path.
 */


#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ngx_http_crmsync_json.h"


static u_char                     mem[1 << 20];
static ngx_http_crmsync_arena_t   arena;
static ngx_http_crmsync_json_rc_e  last_rc;


static ngx_http_crmsync_json_t *
parse_in(const char *s, size_t size)
{
    arena.start = mem;
    arena.pos = mem;
    arena.end = mem + size;

    return ngx_http_crmsync_json_parse(&arena, (const u_char *) s,
                                       strlen(s), &last_rc);
}


static ngx_http_crmsync_json_t *
parse(const char *s)
{
    return parse_in(s, sizeof(mem));
}


static void
test_values(void **state)
{
    ngx_http_crmsync_json_t  *j, *v;

    (void) state;

    j = parse(" {\"a\": [1, -2, 3.5e1, true, false, null, \"x\"], \"b\":{}}\n");
    assert_non_null(j);
    assert_true(ngx_http_crmsync_json_is_object(j));
    assert_int_equal(ngx_http_crmsync_json_object_size(j), 2);

    v = ngx_http_crmsync_json_get(j, "a");
    assert_true(ngx_http_crmsync_json_is_array(v));
    assert_int_equal(ngx_http_crmsync_json_array_size(v), 7);
    assert_int_equal(ngx_http_crmsync_json_int(ngx_http_crmsync_json_at(v, 0)),
                     1);
    assert_int_equal(ngx_http_crmsync_json_int(ngx_http_crmsync_json_at(v, 1)),
                     -2);
    assert_true(ngx_http_crmsync_json_is_real(ngx_http_crmsync_json_at(v, 2)));
    assert_true(ngx_http_crmsync_json_real(ngx_http_crmsync_json_at(v, 2))
                == 35.0);
    assert_true(ngx_http_crmsync_json_is_true(ngx_http_crmsync_json_at(v, 3)));
    assert_true(ngx_http_crmsync_json_is_false(ngx_http_crmsync_json_at(v, 4)));
    assert_true(ngx_http_crmsync_json_is_null(ngx_http_crmsync_json_at(v, 5)));
    assert_string_equal(
        ngx_http_crmsync_json_str(ngx_http_crmsync_json_at(v, 6)), "x");
    assert_null(ngx_http_crmsync_json_at(v, 7));
    assert_true(
        ngx_http_crmsync_json_is_object(ngx_http_crmsync_json_get(j, "b")));
    assert_null(ngx_http_crmsync_json_get(j, "c"));

    /* type checks on NULL are false, accessors on the wrong type empty */
    assert_false(ngx_http_crmsync_json_is_string(NULL));
    assert_null(ngx_http_crmsync_json_str(v));
    assert_int_equal(ngx_http_crmsync_json_array_size(j), 0);
}


static void
test_strings(void **state)
{
    ngx_http_crmsync_json_t  *j;

    (void) state;

    j = parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
    assert_non_null(j);
    assert_string_equal(ngx_http_crmsync_json_str(j), "a\"b\\c/d\b\f\n\r\t");

    /* Meta escapes non-ASCII: \u00e4 is a two-byte UTF-8 sequence */
    j = parse("\"\\u00e4\\u00f6\\u00e5\"");
    assert_string_equal(ngx_http_crmsync_json_str(j),
                        "\xc3\xa4\xc3\xb6\xc3\xa5");
    assert_int_equal(ngx_http_crmsync_json_str_len(j), 6);

    /* a surrogate pair: U+1F600 */
    j = parse("\"\\ud83d\\ude00\"");
    assert_string_equal(ngx_http_crmsync_json_str(j), "\xf0\x9f\x98\x80");

    /* raw UTF-8 passes through */
    j = parse("\"S\xc3\xa3o Paulo \xe2\x82\xac \xf0\x9f\x98\x80\"");
    assert_string_equal(ngx_http_crmsync_json_str(j),
                        "S\xc3\xa3o Paulo \xe2\x82\xac \xf0\x9f\x98\x80");
}


static void
test_refusals(void **state)
{
    size_t       i;
    const char  *bad[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}",
        "[1 2]", "tru", "nul", "falsey", "01", "-", "1.", ".5", "1e",
        "+1", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\u0000\"", "\"a\tb\"",
        "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf5\x80\x80\x80\"",
        "\"\xff\"", "{} {}", "[] x", "9223372036854775808",
        "-9223372036854775809", "1e400", "NaN", "Infinity",
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i]) != NULL) {
            fail_msg("accepted: %s", bad[i]);
        }

        assert_int_equal(last_rc, NGX_HTTP_CRMSYNC_JSON_SYNTAX);
    }

    assert_int_equal(ngx_http_crmsync_json_int(parse("9223372036854775807")),
                     INT64_MAX);
    assert_true(ngx_http_crmsync_json_int(parse("-9223372036854775808"))
                == INT64_MIN);
}


static void
test_depth(void **state)
{
    char    *s;
    size_t   n;

    (void) state;

    n = 10000;
    s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';

    assert_null(parse(s));
    assert_int_equal(last_rc, NGX_HTTP_CRMSYNC_JSON_DEEP);

    /* the limit itself is fine */
    n = NGX_HTTP_CRMSYNC_JSON_MAX_DEPTH;
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';

    assert_non_null(parse(s));

    free(s);
}


static void
test_duplicates_and_order(void **state)
{
    size_t                    n;
    const char               *k;
    ngx_http_crmsync_json_t  *j, *v;

    (void) state;

    j = parse("{\"a\":1,\"b\":2,\"a\":3}");
    assert_int_equal(
        ngx_http_crmsync_json_int(ngx_http_crmsync_json_get(j, "a")), 3);

    n = 0;
    ngx_http_crmsync_json_foreach(j, k, v) {
        assert_non_null(k);
        assert_true(ngx_http_crmsync_json_is_integer(v));
        n++;
    }

    assert_int_equal(n, 3);
}


static void
test_equal(void **state)
{
    const char               *s;
    ngx_http_crmsync_json_t  *a, *b;

    (void) state;

    a = parse("{\"x\":[1,\"s\",{\"y\":null}],\"z\":2.5}");
    assert_non_null(a);

    /* b in the rest of the arena */
    s = "{\"z\":2.5,\"x\":[1,\"s\",{\"y\":null}]}";
    b = ngx_http_crmsync_json_parse(&arena, (const u_char *) s, strlen(s),
                                    &last_rc);
    assert_non_null(b);
    assert_true(ngx_http_crmsync_json_equal(a, b));
    assert_false(
        ngx_http_crmsync_json_equal(a, ngx_http_crmsync_json_get(a, "x")));
}


static void
test_arena_full_and_bound(void **state)
{
    size_t       size;
    const char  *doc;

    (void) state;

    doc = "{\"entry\":[{\"id\":\"1\",\"changes\":[1,2,3,[4,[5]]]},"
          "\"\\u00e4abcdefghijklmnopqrstuvwxyz\"]}";

    /* every arena too small fails cleanly with FULL, never past its end */

    for (size = 0; size < 2048; size++) {
        memset(mem, 0xee, sizeof(mem));

        if (parse_in(doc, size) != NULL) {
            break;
        }

        assert_int_equal(last_rc, NGX_HTTP_CRMSYNC_JSON_FULL);
        assert_true(mem[size] == 0xee);
    }

    assert_true(size < 2048);
    assert_true(size <= ngx_http_crmsync_json_bound(strlen(doc)));

    /* the worst shapes fit the bound */
    assert_non_null(parse_in("[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]",
                             ngx_http_crmsync_json_bound(37)));
    assert_non_null(parse_in("[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]",
                             ngx_http_crmsync_json_bound(36)));
    assert_non_null(parse_in("{\"\":\"\",\"\":\"\",\"\":\"\",\"\":\"\"}",
                             ngx_http_crmsync_json_bound(29)));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_duplicates_and_order),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_arena_full_and_bound),
    };

    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}

#!/usr/bin/env perl
# t/lib's Test::Nginx::Socket reads a suite as the real Test::Nginx does:
# small suites, each written for one rule, run under t/lib's harness and,
# when its lib/ is at hand (TEST_NGINX_LIB, ../shared/test-nginx/lib),
# under the real one; each must pass, fail or bail out the same under
# both.  Plain nginx directives only: no module is needed.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;
use Cwd qw(abs_path);
use IO::Socket::INET;

my $top = abs_path("$FindBin::Bin/../..");
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
plan skip_all => "no nginx at $nginx" unless -x $nginx;

my $real = $ENV{TEST_NGINX_LIB};
$real = "$top/../shared/test-nginx/lib"
    if !$real && -f "$top/../shared/test-nginx/lib/Test/Nginx/Socket.pm";
$real = abs_path($real) if $real;

my %lib = (fallback => "$top/t/lib");
$lib{real} = $real if $real && -f "$real/Test/Nginx/Socket.pm";

my $dir = tempdir(CLEANUP => 1);

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

my $Head = <<'EOF';
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();

__DATA__

EOF

my $Loc = <<'EOF';
--- config
    location = /a { return 200 "a\n"; }
    location = /b { return 200 "b\n"; }
    location = /len { return 200 "$content_length\n"; }
EOF

# name => [expected outcome, blocks]
my @cases = (
    ['two requests, an error_code for each', 'pass', <<"EOF"],
=== TEST 1: arrays
$Loc--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 200]
--- response_body eval
["a\\n", "b\\n"]
EOF

    ['two requests, one error_code for both', 'bail', <<"EOF"],
=== TEST 1: a scalar where an array is due
$Loc--- request eval
["GET /a", "GET /b"]
--- error_code: 200
EOF

    ['two requests, one response_body for both', 'bail', <<"EOF"],
=== TEST 1: a scalar where an array is due
$Loc--- request eval
["GET /a", "GET /a"]
--- error_code eval
[200, 200]
--- response_body
a
EOF

    ['a pattern every request logs', 'pass', <<"EOF"],
=== TEST 1: each request logs its request line
$Loc--- request eval
["GET /a", "GET /a"]
--- error_code eval
[200, 200]
--- error_log
"GET /a HTTP/1.1"
EOF

    ['a pattern only the first request logs', 'fail', <<"EOF"],
=== TEST 1: error_log is checked per request
$Loc--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 200]
--- error_log
"GET /a HTTP/1.1"
EOF

    ['a regex pattern only the first request logs', 'fail', <<"EOF"],
=== TEST 1: error_log is checked per request
$Loc--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 200]
--- error_log eval
qr/"GET \\/a HTTP\\/1\\.1"/
EOF

    ['a regex pattern no line holds', 'fail', <<"EOF"],
=== TEST 1: a regex that matches nothing fails
$Loc--- request
GET /a
--- error_log eval
qr/no such line \\d+/
EOF

    ['a pattern the next request logs is not seen before it', 'fail', <<"EOF"],
=== TEST 1: no_error_log per request
$Loc--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 200]
--- no_error_log
"GET /b HTTP/1.1"
EOF

    ['the body is stripped of white space', 'pass', <<"EOF"],
=== TEST 1: 3 bytes of "  abc \\n"
$Loc--- request eval
"POST /len\\n  abc \\n"
--- response_body
3
EOF

    ['a Content-Length keeps the body as it is', 'pass', <<"EOF"],
=== TEST 1: 6 bytes
$Loc--- request eval
"POST /len\\n  abc "
--- more_headers
Content-Length: 6
--- response_body
6
EOF

    ['response_headers_like is anchored', 'fail', <<"EOF"],
=== TEST 1: a substring is not enough
$Loc--- request
GET /a
--- response_headers_like
Content-Type: plain
EOF

    ['response_headers_like with the whole value', 'pass', <<"EOF"],
=== TEST 1: a whole value
$Loc--- request
GET /a
--- response_headers_like
Content-Type: text/pl.*
EOF

    ['$TEST_NGINX_SERVER_ROOT and $TEST_NGINX_SERVER_PORT', 'pass', <<"EOF"],
=== TEST 1: exported to the configuration
--- config
    location = /env {
        return 200 "\$TEST_NGINX_SERVER_PORT \$TEST_NGINX_SERVER_ROOT/html\\n";
    }
--- request
GET /env
--- response_body_like
^\\d+ /\\S+/html\$
EOF

    ['$TEST_NGINX_HTML_DIR is not exported', 'bail', <<"EOF"],
=== TEST 1: the fallback once exported it
--- config
    location = /env { return 200 "\$TEST_NGINX_HTML_DIR\\n"; }
--- request
GET /env
EOF

    ['the default log level is debug', 'pass', <<"EOF"],
=== TEST 1: debug lines
$Loc--- request
GET /a
--- error_log
[debug]
EOF
);

for my $h (sort keys %lib) {
    for my $i (0 .. $#cases) {
        my ($name, $want, $blocks) = @{$cases[$i]};
        my $file = "$dir/case$i.t";

        open my $fh, '>', $file or die "$file: $!";
        print $fh $Head, $blocks;
        close $fh;

        my $port = free_port();
        local $ENV{TEST_NGINX_SERVER_PORT};
        delete $ENV{TEST_NGINX_SERVER_PORT};
        local $ENV{TEST_NGINX_PORT} = $port;
        local $ENV{TEST_NGINX_SERVROOT} = "$dir/servroot-$h-$i";
        local $ENV{TEST_NGINX_BINARY} = $nginx;
        local $ENV{TEST_NGINX_USE_VALGRIND};
        delete $ENV{TEST_NGINX_USE_VALGRIND};

        # Crmsync::Reaper: as util/run-tests has it under the real harness
        my $out = `cd $dir && $^X -I$lib{$h} -I$top/t/lib -MCrmsync::Reaper $file 2>&1`;
        my $rc = $? >> 8;

        my $got = $out =~ /^Bail out!/m ? 'bail'
                : $rc == 0 && $out !~ /^not ok/m ? 'pass'
                : 'fail';

        is($got, $want, "$h: $name: $want") or diag($out);

        # a bail-out too stops the block's nginx
        my $s = IO::Socket::INET->new(LocalAddr => '0.0.0.0',
                                      LocalPort => $port, Proto => 'tcp',
                                      ReuseAddr => 1, Listen => 1);
        ok($s, "$h: $name: nothing left listening on $port");
        close $s if $s;
    }
}

done_testing();

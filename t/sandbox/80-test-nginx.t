#!/usr/bin/env perl
# How a Test::Nginx::Socket suite uses the sandbox: start it at the top of
# the file, export its address, and let nginx reach it through
# $TEST_NGINX_HUBSPOT_URL / $TEST_NGINX_HUBSPOT_TOKEN.  Plain proxy_pass,
# so this needs nginx but not the crmsync module.  nginx gets a free
# port and its own server root here, never the suites' 1984.
use strict;
use warnings;
use File::Temp qw(tempdir);
use IO::Socket::INET;

BEGIN {
    unless (($ENV{TEST_NGINX_BINARY} && -x $ENV{TEST_NGINX_BINARY})
            || grep { -x "$_/nginx" } split(/:/, $ENV{PATH} // ''), '/usr/sbin') {
        require Test::More;
        Test::More::plan(skip_all => 'nginx not found');
    }
    $ENV{PATH} .= ':/usr/sbin';
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    $ENV{TEST_NGINX_SERVER_PORT} = $s->sockport;
    close $s;
    $ENV{TEST_NGINX_SERVROOT} = tempdir(CLEANUP => 1) . '/servroot';
}

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::Nginx::Socket 'no_plan';
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start;
$sb->export_env;

no_shuffle();
run_tests();

my $r = $sb->requests;
cmp_ok $r->{by_endpoint}{'GET /crm/v3/owners/{id}'}{statuses}{200} // 0, '>=', 1,
    'the sandbox saw the proxied call with the token';
cmp_ok $r->{by_endpoint}{'GET /crm/v3/owners/{id}'}{statuses}{401} // 0, '>=', 1, 'and the one without';

__DATA__

=== TEST 1: nginx reaches the sandbox through $TEST_NGINX_HUBSPOT_URL
--- config
    location /hs/ {
        proxy_pass $TEST_NGINX_HUBSPOT_URL/;
        proxy_set_header Authorization "Bearer $TEST_NGINX_HUBSPOT_TOKEN";
    }
--- request
GET /hs/crm/v3/owners/41629779
--- error_code: 200
--- response_body_like: "id":"41629779"



=== TEST 2: without the token the sandbox answers 401
--- config
    location /hs/ {
        proxy_pass $TEST_NGINX_HUBSPOT_URL/;
        proxy_set_header Authorization "";
    }
--- request
GET /hs/crm/v3/owners/41629779
--- error_code: 401
--- response_body_like: "category":"INVALID_AUTHENTICATION"

#!/usr/bin/env perl
# Rate limits (rolling 10-second burst, separate search limit, daily),
# X-HubSpot-RateLimit-* headers, 429 bodies, Bearer auth and runtime
# token revocation (fact sheet §1, §3, §10).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start(rate => '5/10s', search_rate => '2/s', daily => 1000, token => 'pat-na1-good');
my $C = '/crm/v3/objects/contacts';
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

# --- headers on every (non-search) response
my @rem;
for my $i (1 .. 5) {
    my $r = $sb->api(GET => "$C?limit=1");
    is $r->{status}, 200, "request $i within the burst";
    my $h = $r->{headers};
    if ($i == 1) {
        is $h->{'x-hubspot-ratelimit-max'}, 5, 'X-HubSpot-RateLimit-Max';
        is $h->{'x-hubspot-ratelimit-interval-milliseconds'}, 10000, 'X-HubSpot-RateLimit-Interval-Milliseconds';
        is $h->{'x-hubspot-ratelimit-daily'}, 1000, 'X-HubSpot-RateLimit-Daily';
        is $h->{'x-hubspot-ratelimit-daily-remaining'}, 999, 'X-HubSpot-RateLimit-Daily-Remaining';
        ok defined $h->{'x-hubspot-ratelimit-secondly'}, 'X-HubSpot-RateLimit-Secondly (deprecated, still sent)';
        ok defined $h->{'x-hubspot-ratelimit-secondly-remaining'}, 'X-HubSpot-RateLimit-Secondly-Remaining';
        like $h->{'x-hubspot-correlation-id'}, $UUID, 'X-HubSpot-Correlation-Id';
    }
    push @rem, $h->{'x-hubspot-ratelimit-remaining'};
}
is_deeply \@rem, [4, 3, 2, 1, 0], 'Remaining counts down through the burst';

# searches are metered separately and do not use the burst budget
my $r = $sb->api(POST => "$C/search", {});
is $r->{status}, 200, 'search still allowed when the burst is spent';

# --- the 6th call in 10 s: TEN_SECONDLY_ROLLING
$r = $sb->api(GET => "$C?limit=1");
is $r->{status}, 429, '429 past the burst';
is_deeply [sort keys %{$r->{body}}], [sort qw(status message errorType correlationId policyName requestId)], '429 body fields';
is $r->{body}{status}, 'error', 'status';
is $r->{body}{errorType}, 'RATE_LIMIT', 'errorType RATE_LIMIT';
is $r->{body}{policyName}, 'TEN_SECONDLY_ROLLING', 'policyName TEN_SECONDLY_ROLLING';
is $r->{body}{message}, 'You have reached your ten_secondly_rolling limit.', 'message';
like $r->{body}{correlationId}, $UUID, 'correlationId';
is $r->{headers}{'x-hubspot-ratelimit-remaining'}, 0, '429 carries Remaining 0';
is $r->{headers}{'x-hubspot-ratelimit-max'}, 5, 'and Max';
ok !exists $r->{headers}{'retry-after'}, 'no Retry-After (not documented for REST 429s)';
is $sb->api(POST => $C, { properties => { email => 'blocked@example.com' } })->{status}, 429, 'writes are limited too';
is scalar @{$sb->contacts}, 0, 'and a limited write does nothing';

# --- the window rolls: a short window to observe recovery
$sb->config(rate => '3/4s');
my $t0 = time;
my $ok = $sb->wait_for(sub { $sb->api(GET => "$C?limit=1")->{status} == 200 }, 10, 0.1);
ok $ok, 'budget comes back after the window';
$r = $sb->api(GET => "$C?limit=1");
is $r->{headers}{'x-hubspot-ratelimit-interval-milliseconds'}, 4000, 'interval follows the configured window';
$sb->api(GET => "$C?limit=1");
is $sb->api(GET => "$C?limit=1")->{status}, 429, 'and runs out again after 3';

# --- search: SECONDLY, no rate-limit headers
$sb->config(rate => 'off');
my @st;
for (1 .. 60) {
    my $s = $sb->api(POST => "$C/search", {});
    push @st, $s;
    last if $s->{status} == 429;
}
my $lim = $st[-1];
is $lim->{status}, 429, 'search limit reached';
cmp_ok scalar(@st), '>=', 3, 'after the allowed searches';
is $lim->{body}{policyName}, 'SECONDLY', 'policyName SECONDLY';
is $lim->{body}{errorType}, 'RATE_LIMIT', 'errorType RATE_LIMIT';
is $lim->{body}{message}, 'You have reached your secondly limit.', 'message';
ok !grep({ /^x-hubspot-ratelimit/ } keys %{$lim->{headers}}), 'no X-HubSpot-RateLimit-* headers on search';
is $sb->api(GET => "$C?limit=1")->{status}, 200, 'non-search calls are not affected';
ok $sb->wait_for(sub { $sb->api(POST => "$C/search", {})->{status} == 200 }, 3, 0.1), 'search recovers within a second or so';

# --- limits off: headers still present, nothing enforced
$r = $sb->api(GET => "$C?limit=1");
ok $r->{headers}{'x-hubspot-ratelimit-max'} >= 1_000_000, 'limit off: Max reports an effectively unlimited budget';

# --- daily
$sb->config(daily => 10, daily_used => 9);
$r = $sb->api(GET => "$C?limit=1");
is $r->{status}, 200, 'last request of the day';
is $r->{headers}{'x-hubspot-ratelimit-daily-remaining'}, 0, 'Daily-Remaining 0';
$r = $sb->api(GET => "$C?limit=1");
is $r->{status}, 429, 'daily limit reached';
is $r->{body}{policyName}, 'DAILY', 'policyName DAILY';
is $r->{body}{message}, 'You have reached your daily limit.', 'daily message';
is $sb->api(POST => "$C/search", {})->{status}, 429, 'search also counts against the daily limit';
$sb->config(daily => 'off');

# --- auth
$r = $sb->api(GET => "$C?limit=1", undef, token => undef);
is $r->{status}, 401, 'no token -> 401';
is $r->{body}{category}, 'INVALID_AUTHENTICATION', 'INVALID_AUTHENTICATION';
like $r->{body}{message}, qr/^Authentication credentials not found/, 'HubSpot\'s message';
is $r->{headers}{'x-hubspot-auth-failure'}, '401 Unauthorized', 'x-hubspot-auth-failure header';
like $r->{body}{correlationId}, $UUID, 'correlationId';
is $sb->api(GET => "$C?limit=1", undef, token => 'pat-na1-wrong')->{status}, 401, 'wrong token -> 401';
is $sb->api(GET => "$C?limit=1", undef, headers => { Authorization => 'Basic cGF0Og==' })->{status}, 401,
    'non-Bearer scheme -> 401';

# second token, then revoke the first at runtime
$sb->add_token('pat-na1-second');
is $sb->api(GET => "$C?limit=1", undef, token => 'pat-na1-second')->{status}, 200, 'added token works';
is $sb->api(GET => "$C?limit=1")->{status}, 200, 'original token works';
$sb->revoke_token('pat-na1-good');
$r = $sb->api(POST => $C, { properties => { email => 'after-revoke@example.com' } });
is $r->{status}, 401, 'revoked token -> 401';
is $r->{body}{category}, 'INVALID_AUTHENTICATION', 'INVALID_AUTHENTICATION';
is scalar @{$sb->contacts}, 0, 'nothing written with a revoked token';
is $sb->api(GET => "$C?limit=1", undef, token => 'pat-na1-second')->{status}, 200, 'other token unaffected';
$sb->add_token('pat-na1-good');
is $sb->api(GET => "$C?limit=1")->{status}, 200, 're-added token works again';

# expiring token (OAuth-like)
$sb->add_token('oauth-short', expires_in => 1.5);
is $sb->api(GET => "$C?limit=1", undef, token => 'oauth-short')->{status}, 200, 'fresh OAuth-like token works';
my $exp = $sb->wait_for(sub {
    my $x = $sb->api(GET => "$C?limit=1", undef, token => 'oauth-short');
    $x->{status} == 401 ? $x : undef }, 6);
ok $exp, 'expired token refused';
is $exp->{body}{category}, 'EXPIRED_AUTHENTICATION', 'EXPIRED_AUTHENTICATION';
like $exp->{body}{message}, qr/expired/, 'expired message';

# 401s never reach the rate limiter
$sb->config(rate => '1000/10s');
my $before = $sb->api(GET => "$C?limit=1")->{headers}{'x-hubspot-ratelimit-remaining'};
$sb->api(GET => "$C?limit=1", undef, token => 'nope') for 1 .. 3;
is $sb->api(GET => "$C?limit=1")->{headers}{'x-hubspot-ratelimit-remaining'}, $before - 1,
    'unauthenticated calls do not use the budget';

done_testing;

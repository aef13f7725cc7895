#!/usr/bin/env perl
# Fault injection (status, hang, reset, commit-then-fail; counts and
# shares; path/method filters), inspection (/_sandbox/objects,
# duplicates, requests), reset and the --state file.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(time);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start;
my $C = '/crm/v3/objects/contacts';
my $id = $sb->api(POST => $C, { properties => { email => 'f@example.com' } })->{body}{id};

# --- status faults for the next N requests
my $f = $sb->fault(mode => 'status', status => 503, count => 2);
is scalar @$f, 1, 'fault registered';
my $r = $sb->api(GET => "$C/$id");
is $r->{status}, 503, 'first request 503';
is $r->{body}{status}, 'error', 'JSON error body';
ok $r->{headers}{'x-hubspot-correlation-id'}, 'with a correlation id';
is $sb->api(GET => "$C/$id")->{status}, 503, 'second request 503';
is $sb->api(GET => "$C/$id")->{status}, 200, 'third request fine: the fault is used up';
is_deeply $sb->faults, [], 'no faults left';

$sb->fault(mode => 'status', status => 502);
$r = $sb->api(GET => "$C/$id");
is $r->{status}, 502, 'status 502';
like $r->{headers}{'content-type'}, qr{text/html}, '502 comes from the gateway as HTML';
$sb->fault(mode => 'status', status => 504);
is $sb->api(GET => "$C/$id")->{status}, 504, 'status 504';
$sb->fault(mode => 'status', status => 500);
$r = $sb->api(GET => "$C/$id");
is $r->{status}, 500, 'status 500';
is $r->{body}{message}, 'internal error', '500 JSON body';

# --- filters: path regex and method
$sb->fault(mode => 'status', status => 500, count => 1, method => 'POST', path => 'batch/upsert$');
is $sb->api(GET => "$C/$id")->{status}, 200, 'GET not matched';
is $sb->api(POST => "$C/batch/read", { inputs => [ { id => $id } ] })->{status}, 200, 'other POST not matched';
is $sb->api(POST => "$C/batch/upsert", { inputs => [ { id => 'u@example.com', idProperty => 'email', properties => {} } ] })->{status},
    500, 'batch/upsert matched';
is $sb->api(GET => "$C/u\@example.com?idProperty=email")->{status}, 404, 'a plain 5xx fault writes nothing';

# --- a share of requests, deterministically
$sb->fault(mode => 'status', status => 503, share => 0.25, max => 100);
my @st = map { $sb->api(GET => "$C/$id")->{status} } 1 .. 12;
is scalar(grep { $_ == 503 } @st), 3, 'share 0.25 -> exactly 3 of 12';
is_deeply [@st[0 .. 3]], [200, 200, 200, 503], 'every 4th request';
$sb->clear_faults;
is $sb->api(GET => "$C/$id")->{status}, 200, 'cleared';

# --- hang
$sb->fault(mode => 'hang', seconds => 1);
my $t0 = time;
$r = $sb->api(GET => "$C/$id");
my $took = time - $t0;
is $r->{status}, 200, 'hung request still answers';
cmp_ok $took, '>=', 0.95, sprintf('after the hang (%.2fs)', $took);
cmp_ok $took, '<', 3, 'not much later';
$t0 = time;
$sb->api(GET => "$C/$id");
cmp_ok time - $t0, '<', 0.9, 'next request is fast again';

# --- a latency for every call (not a fault: nothing is consumed)
$sb->config(latency_ms => 300);
$t0 = time;
is $sb->api(GET => "$C/$id")->{status}, 200, 'with latency';
cmp_ok time - $t0, '>=', 0.29, 'answered after the latency';
$sb->config(latency_ms => 0);

# --- connection reset
$sb->fault(mode => 'reset');
$r = $sb->api(GET => "$C/$id");
is $r->{status}, 599, 'connection reset (HTTP::Tiny reports 599)';
is $sb->api(GET => "$C/$id")->{status}, 200, 'next request fine';

# --- commit, then fail the response
$sb->fault(mode => 'commit_then_fail', status => 502, method => 'POST', path => "contacts\$");
$r = $sb->api(POST => $C, { properties => { email => 'committed@example.com' } });
is $r->{status}, 502, 'the create answered 502';
my $got = $sb->api(GET => "$C/committed\@example.com?idProperty=email");
is $got->{status}, 200, 'but the contact was created';
$r = $sb->api(POST => $C, { properties => { email => 'committed@example.com' } });
is $r->{status}, 409, 'a naive retry gets 409';
like $r->{body}{message}, qr/Existing ID: $got->{body}{id}/, 'naming the committed record';

$sb->fault(mode => 'commit_then_fail', then => 'reset', method => 'POST');
$r = $sb->api(POST => $C, { properties => { email => 'reset-after@example.com' } });
is $r->{status}, 599, 'commit then reset';
is $sb->api(GET => "$C/reset-after\@example.com?idProperty=email")->{status}, 200, 'the write happened';

# 423 Locked and 477 with Retry-After, extra headers on a fault
$sb->fault(mode => 'status', status => 477, headers => { 'Retry-After' => '30' });
$r = $sb->api(GET => "$C/$id");
is $r->{status}, 477, '477 Migration in Progress';
is $r->{headers}{'retry-after'}, 30, 'with the Retry-After given to the fault';
$sb->fault(mode => 'status', status => 423);
$r = $sb->api(GET => "$C/$id");
is $r->{status}, 423, '423 Locked';
like $r->{body}{message}, qr/2 seconds/, 'lock message';

# faults never hit the control endpoints; bad faults are refused
$sb->fault(mode => 'status', status => 500);
ok $sb->control(GET => 'health')->{ok}, '/_sandbox is not subject to faults';
$sb->clear_faults;
my $bad = $sb->api(POST => '/_sandbox/faults', { mode => 'explode' }, token => undef);
is $bad->{status}, 400, 'unknown fault mode refused';

# --- duplicates report
$sb->reset;
is scalar @{$sb->contacts}, 0, 'reset empties the CRM';
$sb->api(POST => '/crm/v3/properties/contacts', { name => 'tg_user_id', label => 'Telegram user', type => 'string',
    fieldType => 'text', groupName => 'contactinformation' });
my @ids = map { $sb->api(POST => $C, { properties => $_ })->{body}{id} } (
    { firstname => 'A', phone => '+1 415 555 0100' },
    { firstname => 'B', mobilephone => '(415) 555-0100' },
    { firstname => 'C', tg_user_id => '777' },
    { firstname => 'D', tg_user_id => '777', email => 'd@example.com' },
    { firstname => 'E', phone => '+442071234567' },
    {},
);
is $ids[0], '1001', 'ids restart after reset';
my $d = $sb->duplicates;
is $d->{contacts}, 6, 'contacts counted';
my ($phone) = grep { $_->{kind} eq 'phone' } @{$d->{groups}};
is_deeply $phone->{ids}, [@ids[0, 1]], 'shared normalized phone across phone/mobilephone and formats';
is $phone->{value}, '4155550100', 'the normalized value';
my ($chan) = grep { $_->{kind} eq 'channel_id' } @{$d->{groups}};
is $chan->{property}, 'tg_user_id', 'channel id property detected';
is_deeply $chan->{ids}, [@ids[2, 3]], 'shared channel id';
is $d->{duplicate_groups}, 2, 'two groups';
is $d->{contacts_in_duplicates}, 4, 'four contacts involved';
is_deeply $d->{empty_contacts}, [$ids[5]], 'the empty contact is reported';
# an email shared through hs_additional_emails (merge) is not a duplicate; two live emails can't exist.
my $d2 = $sb->duplicates('firstname');
ok !grep({ ($_->{property} // '') eq 'firstname' } @{$d2->{groups}}), 'extra property with distinct values: no group';

# --- objects dump
my $objs = $sb->objects;
is scalar @{$objs->{contacts}}, 6, 'objects lists contacts';
is $objs->{counts}{contacts}, 6, 'counts';
ok exists $objs->{contacts}[0]{properties}{hs_object_id}, 'with all properties';
is_deeply $sb->object(contacts => $ids[0])->{properties}{phone}, '+1 415 555 0100', 'one object';

# --- request log
$sb->clear_requests;
$sb->api(GET => "$C/$ids[0]") for 1 .. 3;
$sb->api(POST => "$C/search", {});
$sb->api(GET => "$C/$ids[0]", undef, token => 'bad');
my $req = $sb->requests;
is $req->{total}, 5, 'total requests';
is $req->{by_endpoint}{"GET $C/{id}"}{count}, 4, 'count per endpoint';
is $req->{by_endpoint}{"GET $C/{id}"}{statuses}{401}, 1, 'statuses per endpoint';
is $req->{by_endpoint}{"POST $C/search"}{count}, 1, 'search counted';
cmp_ok $req->{peak_rate_1s}, '>=', 1, 'peak rate per second';
cmp_ok $req->{peak_rate_10s}, '>=', $req->{peak_rate_1s}, 'peak rate per 10 s';
is scalar @{$req->{log}}, 5, 'log entries';
is $req->{log}[3]{body}, '{}', 'request body kept';
ok defined $req->{log}[0]{ms}, 'time taken';
is $sb->count("POST $C/search"), 1, 'helper ->count';
my $since = $sb->requests(since => $req->{log}[3]{seq});
is scalar @{$since->{log}}, 1, 'since=seq';

# --- state file survives a restart
my $dir = tempdir(CLEANUP => 1);
my $file = "$dir/state.json";
my $s1 = Crmsync::Sandbox->start(state => $file, token => 'tok');
$s1->api(POST => '/crm/v3/properties/contacts', { name => 'wa_id', label => 'WA', type => 'string', fieldType => 'text',
    groupName => 'contactinformation', hasUniqueValue => JSON::PP::true });
my $x = $s1->api(POST => $C, { properties => { email => 'keep@example.com', wa_id => '111' } })->{body}{id};
my $y = $s1->api(POST => $C, { properties => { email => 'keep2@example.com' } })->{body}{id};
my $merged = $s1->api(POST => "$C/merge", { primaryObjectId => $x, objectIdToMerge => $y })->{body}{id};
$s1->stop;
ok -s $file, 'state written at stop';
my $s2 = Crmsync::Sandbox->start(state => $file, token => 'tok', index_lag => 5);
is $s2->api(GET => "$C/$x")->{body}{id}, $merged, 'merge aliases survive';
is $s2->api(GET => "$C/111?idProperty=wa_id")->{body}{id}, $merged, 'unique property and its index survive';
is $s2->api(POST => $C, { properties => { email => 'keep2@example.com' } })->{status}, 409, 'email uniqueness survives';
is $s2->api(POST => "$C/search", {})->{body}{total}, 1, 'loaded records are searchable at once';
my $n = $s2->api(POST => $C, { properties => { email => 'after@example.com' } })->{body}{id};
cmp_ok $n, '>', $merged, 'ids continue after the saved ones';
$s2->stop;

done_testing;

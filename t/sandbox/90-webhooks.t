#!/usr/bin/env perl
# HubSpot -> app webhooks (fact sheet §12): batched JSON arrays of events
# with the v3 signature (HMAC-SHA256 over method + URL + body + timestamp
# in ms, base64) and the legacy v1 hash; creation, propertyChange,
# deletion and merge; changeSource API vs CRM_UI; retries with a growing
# attemptNumber after a 5xx.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use Digest::SHA qw(hmac_sha256 sha256_hex);
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes qw(time);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $dir = tempdir(CLEANUP => 1);
my $log = "$dir/received.jsonl";

# A tiny receiver: one connection at a time, logs each request as a JSON
# line, answers with the next status from $dir/statuses (then 204).
my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16, ReuseAddr => 1)
    or die "listen: $!";
my $rport = $srv->sockport;
my $rpid = fork // die "fork: $!";
if (!$rpid) {
    while (my $c = $srv->accept) {
        local $/ = "\r\n";
        my $line = <$c> // next;
        my ($method, $path) = $line =~ /^(\S+) (\S+)/;
        my %h;
        while (my $l = <$c>) {
            last if $l eq "\r\n";
            $l =~ s/\r\n$//;
            my ($k, $v) = split /:\s*/, $l, 2;
            $h{lc $k} = $v;
        }
        my $body = '';
        read($c, $body, $h{'content-length'} // 0);
        my $status = 204;
        if (open my $sf, '<', "$dir/statuses") {
            my @s = do { local $/ = "\n"; <$sf> };
            close $sf;
            if (@s) {
                $status = shift @s;
                $status =~ s/\s+$//;
                open my $w, '>', "$dir/statuses";
                print $w @s;
                close $w;
            }
        }
        open my $out, '>>', $log or die;
        print $out JSON::PP->new->canonical->encode({ method => $method, path => $path, headers => \%h,
                                                      body => $body, status => $status }), "\n";
        close $out;
        print $c "HTTP/1.1 $status X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        close $c;
    }
    POSIX::_exit(0);
}
close $srv;
END { local $?; kill 'KILL', $rpid if $rpid; waitpid $rpid, 0 if $rpid }

sub received {
    open my $fh, '<', $log or return [];
    return [ map { decode_json($_) } <$fh> ];
}
sub events { [ map { @{decode_json($_->{body})} } grep { $_->{status} < 300 } @{received()} ] }

my $secret = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
my $url = "http://127.0.0.1:$rport/hooks/hs?portal=1";
my $sb = Crmsync::Sandbox->start(webhook_url => $url, webhook_secret => $secret, app_id => 777);
$sb->webhooks(batch_ms => 50, retry_base => 0.2);
my $C = '/crm/v3/objects/contacts';

# --- creation + propertyChange from the API, batched in one delivery
my $id = $sb->api(POST => $C, { properties => { email => 'hook@example.com', firstname => 'Hook' } })->{body}{id};
$sb->api(PATCH => "$C/$id", { properties => { lifecyclestage => 'lead' } });
ok $sb->wait_for(sub { @{events()} >= 2 }, 5), 'events delivered';
my $req = received()->[0];
is $req->{method}, 'POST', 'POST';
is $req->{path}, '/hooks/hs?portal=1', 'to the configured URL';
like $req->{headers}{'content-type'}, qr{application/json}, 'JSON';
my $ev = decode_json($req->{body});
is ref $ev, 'ARRAY', 'the body is an array of events';
my ($cr) = grep { $_->{subscriptionType} eq 'contact.creation' } @{events()};
my ($pc) = grep { $_->{subscriptionType} eq 'contact.propertyChange' } @{events()};
ok $cr, 'contact.creation';
is $cr->{objectId}, $id, 'objectId';
like $req->{body}, qr/"objectId":$id\b/, 'objectId is a JSON number';
is $cr->{changeFlag}, 'CREATED', 'changeFlag';
is $cr->{portalId}, 12345678, 'portalId';
is $cr->{appId}, 777, 'appId';
is $cr->{attemptNumber}, 0, 'attemptNumber 0';
is $cr->{changeSource}, 'API', 'changeSource API for API writes';
is $cr->{sourceId}, '777', 'sourceId names the app';
like $cr->{occurredAt}, qr/^\d{13}$/, 'occurredAt in ms';
ok $cr->{eventId} && $cr->{subscriptionId}, 'eventId and subscriptionId';
ok $pc, 'contact.propertyChange';
is $pc->{propertyName}, 'lifecyclestage', 'propertyName';
is $pc->{propertyValue}, 'lead', 'propertyValue';
ok !grep({ ($_->{propertyName} // '') =~ /lastmodifieddate|hs_object_id/ } @{events()}), 'no events for system properties';

# --- signatures
my $ts = $req->{headers}{'x-hubspot-request-timestamp'};
like $ts, qr/^\d{13}$/, 'X-HubSpot-Request-Timestamp in ms';
cmp_ok abs($ts - time * 1000), '<', 60_000, 'and current';
my $full = "http://127.0.0.1:$rport/hooks/hs?portal=1";
is $req->{headers}{'x-hubspot-signature-v3'}, encode_base64(hmac_sha256("POST$full$req->{body}$ts", $secret), ''),
    'v3 = base64(HMAC-SHA256(secret, method + URL + body + timestamp))';
is $req->{headers}{'x-hubspot-signature-version'}, 'v1', 'X-HubSpot-Signature-Version v1';
is $req->{headers}{'x-hubspot-signature'}, sha256_hex($secret . $req->{body}), 'v1 = hex(SHA-256(secret + body))';

# --- a change made in HubSpot's UI
$sb->ui(PATCH => "contacts/$id", { properties => { firstname => 'Edited' }, userId => 9586505 });
ok $sb->wait_for(sub { grep { ($_->{propertyValue} // '') eq 'Edited' } @{events()} }, 5), 'UI edit delivered';
my ($ui) = grep { ($_->{propertyValue} // '') eq 'Edited' } @{events()};
is $ui->{changeSource}, 'CRM_UI', 'changeSource CRM_UI';
is $ui->{sourceId}, 'userId:9586505', 'sourceId userId:N';
is $sb->api(GET => "$C/$id")->{body}{properties}{firstname}, 'Edited', 'the UI change is in the CRM';
is $sb->count("PATCH $C/{id}"), 1, 'UI changes are not API requests';

# --- merge and deletion
my $other = $sb->api(POST => $C, { properties => { email => 'other@example.com' } })->{body}{id};
my $merged = $sb->api(POST => "$C/merge", { primaryObjectId => $id, objectIdToMerge => $other })->{body}{id};
ok $sb->wait_for(sub { grep { $_->{subscriptionType} eq 'contact.merge' } @{events()} }, 5), 'merge delivered';
my ($m) = grep { $_->{subscriptionType} eq 'contact.merge' } @{events()};
is $m->{primaryObjectId}, $id, 'primaryObjectId';
is_deeply $m->{mergedObjectIds}, [$other + 0], 'mergedObjectIds';
is $m->{newObjectId}, $merged, 'newObjectId';
ok defined $m->{numberOfPropertiesMoved}, 'numberOfPropertiesMoved';
$sb->api(DELETE => "$C/$merged");
ok $sb->wait_for(sub { grep { $_->{subscriptionType} eq 'contact.deletion' } @{events()} }, 5), 'contact.deletion';

# --- retries: a 5xx, then success, attemptNumber grows
open my $sf, '>', "$dir/statuses" or die;
print $sf "503\n500\n";
close $sf;
my $n0 = @{received()};
my $deal = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'Retry', dealstage => 'qualifiedtobuy' } })->{body}{id};
ok $sb->wait_for(sub { grep { $_->{subscriptionType} eq 'deal.creation' } @{events()} }, 10), 'delivered after two failures';
my @tries = grep { $_->{body} =~ /"deal\.creation"/ } @{received()}[$n0 .. $#{received()}];
is_deeply [map { $_->{status} } @tries], [503, 500, 204], 'three attempts';
is_deeply [map { decode_json($_->{body})->[0]{attemptNumber} } @tries], [0, 1, 2], 'attemptNumber 0, 1, 2';
is scalar(keys %{{ map { decode_json($_->{body})->[0]{eventId} => 1 } @tries }}), 1, 'same eventId on retries';
my $wh = $sb->webhooks;
ok scalar(grep { !$_->{ok} } @{$wh->{deliveries}}) >= 2, '/_sandbox/webhooks lists failed deliveries';

# --- batches never exceed max_batch (100)
$sb->control(POST => 'webhooks', { max_batch => 3, subscriptions => ['contact.creation'] });
my $n1 = @{received()};
$sb->api(POST => "$C/batch/create", { inputs => [ map { { properties => { email => "many$_\@example.com" } } } 1 .. 7 ] });
ok $sb->wait_for(sub { my $r = received(); @$r - $n1 >= 3 }, 5), 'batch of 7 creations delivered';
my @sizes = map { scalar @{decode_json($_->{body})} } @{received()}[$n1 .. $#{received()}];
is_deeply [sort { $a <=> $b } @sizes], [1, 3, 3], 'split into batches of at most max_batch';
my $bad = $sb->api(POST => '/_sandbox/webhooks', { max_batch => 101 }, token => undef);
is $bad->{status}, 400, 'max_batch over 100 refused';

# --- disabled: nothing more is sent
$sb->webhooks_off;
my $n2 = @{received()};
$sb->api(POST => $C, { properties => { email => 'quiet@example.com' } });
$sb->api(GET => "$C/$id");    # a round trip, so a pending timer would have fired by the check below
ok !$sb->wait_for(sub { @{received()} > $n2 }, 0.6), 'no deliveries once disabled';

$sb->stop;
done_testing;

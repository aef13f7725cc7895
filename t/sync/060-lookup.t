#!/usr/bin/env perl
# crmsync_lookup, the agent's contact card: GET ?email=|phone=|... answers
# the contact from the identity cache or from HubSpot, without blocking
# the worker, within the portal's budgets, and as any nginx location
# protects it.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp ();
use IO::Socket::INET;
use JSON::PP ();
use Crmsync::Nginx;
use Crmsync::Sandbox;


my $json = JSON::PP->new->canonical;

# a second portal on the same sandbox with small budgets: /tight
my $sb = Crmsync::Sandbox->start;
my $dir = File::Temp::tempdir(CLEANUP => 1);
Crmsync::Nginx::write_file("$dir/token", $sb->token . "\n");

my ($ng) = Crmsync::Nginx->with_sandbox(
    sb => $sb,
    hubspot => 'search_rate=50r/s hub=12345678',
    http => "crmsync_hubspot name=tight url=${\ $sb->url} token_file=$dir/token"
          . " api=v3 rate=2r/10s search_rate=1r/s;",
    server => "location = /lookup { crmsync_lookup; crmsync_default_region DE; }\n"
            . "location = /lookup/v3 { crmsync_lookup; crmsync_default_region DE;"
            . " crmsync_portal tight; }\n"
            . "location = /tight { crmsync_lookup; crmsync_portal tight;"
            . " crmsync_default_region DE; }\n"
            . "location = /guarded { crmsync_lookup; deny all; }\n");


sub lookup {
    my ($q, $path) = @_;
    my ($st, $body, $h) = $ng->get(($path // '/lookup') . "?$q");
    my $doc = eval { $json->decode($body) };
    return ($st, $doc, $h, $body);
}


sub created {
    my (%props) = @_;
    my $r = $sb->api(POST => '/crm/v3/objects/contacts', { properties => {%props} });
    die "create: $r->{status}" unless $r->{status} == 201;
    return $r->{body}{id};
}


# the API calls the sandbox saw since $since, as "METHOD path"
sub calls_since {
    my ($since) = @_;
    my $r = $sb->requests(since => $since);
    return [map { "$_->{method} $_->{path}" } grep { $_->{seq} > $since } @{$r->{log}}];
}

sub last_seq { $sb->requests(limit => 1)->{last_seq} // 0 }


my $ana = created(email => 'ana@example.com', firstname => 'Ana',
                  lastname => 'Diaz', phone => '+4915112345678',
                  lifecyclestage => 'lead');


subtest 'by email: trimmed, lower-cased, read by idProperty' => sub {
    my $seq = last_seq();
    my ($st, $c, $h) = lookup('email=%20Ana@Example.COM%20');
    is $st, 200, 'answered 200';
    like $h->{'content-type'}, qr{^application/json}, 'JSON';
    is $h->{'cache-control'}, 'no-store', 'not kept by caches on the way';
    is $c->{id}, $ana, 'the contact';
    is $c->{url}, "https://app.hubspot.com/contacts/12345678/record/0-1/$ana",
       'a link to its record (crmsync_hubspot hub=)';
    is $c->{properties}{firstname}, 'Ana', 'its first name';
    is $c->{properties}{email}, 'ana@example.com', 'its email';
    is $c->{properties}{lifecyclestage}, 'lead', 'its stage';
    ok exists $c->{properties}{hubspot_owner_id},
       'every property of the default list is there, null when empty';
    is_deeply calls_since($seq),
              ["GET /crm/objects/2026-03/contacts/ana%40example.com?idProperty=email"
               . "&properties=email,firstname,lastname,phone,mobilephone,"
               . "lifecyclestage,hubspot_owner_id"],
              'one read by email';

    $seq = last_seq();
    ($st, $c) = lookup('email=ana@example.com');
    is $c->{id}, $ana, 'again';
    is_deeply calls_since($seq),
              ["GET /crm/objects/2026-03/contacts/$ana?properties=email,firstname,"
               . "lastname,phone,mobilephone,lifecyclestage,hubspot_owner_id"],
              'the cache knows it: read by id';
};


subtest 'by phone in national format: one search, confirmed, then by id' => sub {
    my $seq = last_seq();
    my ($st, $c) = lookup('phone=0151%2F1234%205678');
    is $st, 200, 'answered 200';
    is $c->{id}, $ana, 'the contact with that phone';
    is $c->{properties}{phone}, '+4915112345678', 'its phone';
    my $calls = calls_since($seq);
    is scalar @$calls, 2, 'two calls';
    is $calls->[0], 'POST /crm/objects/2026-03/contacts/search', 'a search';
    like $calls->[1], qr{^GET /crm/objects/2026-03/contacts/$ana\?}, 'then a read by id';

    my $search = $sb->requests(since => $seq)->{log}[0]{body};
    $search = $json->decode($search) if !ref $search;
    my @values = sort map { $_->{filters}[0]{value} } @{$search->{filterGroups}};
    is_deeply \@values, ['15112345678', '15112345678'],
              'the national number, in the phone and the mobile phone';

    # the cache answers next: no search
    $seq = last_seq();
    ($st, $c) = lookup('phone=%2B49%201511%202345678');
    is $st, 200, 'the same number in international format';
    is $c->{id}, $ana, 'the same contact';
    $calls = calls_since($seq);
    is scalar(grep { m{/search} } @$calls), 0, 'a cache hit: no search';
    is scalar @$calls, 1, 'only the read of the card';

    my $s = $ng->status->{portals}{default};
    cmp_ok $s->{cache_hits}, '>=', 2, 'status: cache hits';
    cmp_ok $s->{cache_entries}, '>=', 2, 'status: cache entries';
    cmp_ok $s->{searches}, '>=', 1, 'status: searches';
    cmp_ok $s->{lookups}, '>=', 4, 'status: lookups';
};


subtest 'a number with the same national digits is not a match' => sub {
    my $fr = created(email => 'fr@example.com', phone => '+33612345678');
    my $seq = last_seq();
    my ($st, $c) = lookup('phone=06%2012%2034%2056%2078');
    is $st, 404, 'the French number written the German way: not found';
    is_deeply $c, { error => 'not_found' }, 'not_found';
    is_deeply calls_since($seq), ['POST /crm/objects/2026-03/contacts/search'],
              'the search found it, the number did not';
    ($st, $c) = lookup('phone=%2B33612345678');
    is $c->{id}, $fr, 'the French number in international format is found';
};


subtest 'the oldest of two contacts with one number wins' => sub {
    my $old = created(email => 'old@example.com', phone => '+4917612345678');
    my $new = created(email => 'new@example.com', mobilephone => '0176 12345678',
                      country => 'DE');
    my ($st, $c) = lookup('phone=017612345678');
    is $st, 200, 'found';
    is $c->{id}, $old, 'the older contact';
};


subtest 'not found' => sub {
    my $seq = last_seq();
    my ($st, $c) = lookup('email=nobody@example.com');
    is $st, 404, 'an unknown email: 404';
    is_deeply $c, { error => 'not_found' }, 'not_found';
    ($st, $c) = lookup('phone=%2B4915199999999');
    is $st, 404, 'an unknown phone: 404';
    is scalar @{calls_since($seq)}, 2, 'HubSpot was asked for both';

    $seq = last_seq();
    ($st, $c) = lookup('whatsapp_id=491500000000');
    is $st, 404, 'a WhatsApp id the map does not know: 404';
    ($st, $c) = lookup('telegram_username=@ana');
    is $st, 404, 'a Telegram username: 404';
    is scalar @{calls_since($seq)}, 0, 'without asking HubSpot';

    ($st, $c) = lookup('crm_id=999999');
    is $st, 404, 'a contact id HubSpot does not have: 404';
};


subtest 'bad requests' => sub {
    my @cases = (
        ['' => 'no_identifier'],
        ['foo=bar' => 'no_identifier'],
        ['email=a@example.com&phone=%2B4915112345678' => 'one_identifier_only'],
        ['email=a@example.com&email=b@example.com' => 'one_identifier_only'],
        ['phone=abc' => 'bad_phone'],
        ['phone=' => 'empty_value'],
        ['email=not-an-email' => 'bad_email'],
        ['crm_id=12a' => 'bad_crm_id'],
        ['platform_id=6543' => 'bad_platform_id'],
        ['whatsapp_id=' . ('1' x 300) => 'value_too_long'],
    );
    my $seq = last_seq();
    for my $case (@cases) {
        my ($st, $c) = lookup($case->[0]);
        is $st, 400, "?$case->[0]: 400";
        is_deeply $c, { error => $case->[1] }, "  $case->[1]";
    }
    is scalar @{calls_since($seq)}, 0, 'no HubSpot call';

    my ($st, $body, $h) = $ng->post('/lookup?email=ana@example.com', '');
    is $st, 405, 'POST: 405';
    is $h->{allow}, 'GET', 'Allow: GET';
    is_deeply $json->decode($body), { error => 'method_not_allowed' }, 'with a reason';
};


subtest 'protected as any location' => sub {
    my $seq = last_seq();
    my ($st) = $ng->get('/guarded?email=ana@example.com');
    is $st, 403, 'deny all: 403';
    is scalar @{calls_since($seq)}, 0, 'nothing asked';
};


subtest 'a merged contact: answered as the survivor, the cache follows' => sub {
    my $b = created(email => 'bea@example.com', firstname => 'Bea');
    my $c = created(email => 'bea.work@example.com', firstname => 'Beatriz');
    my ($st, $card) = lookup('email=bea@example.com');
    is $card->{id}, $b, 'known and cached';

    my $m = $sb->api(POST => '/crm/v3/objects/contacts/merge',
                     { primaryObjectId => $c, objectIdToMerge => $b });
    is $m->{status}, 200, 'merged in HubSpot';
    my $survivor = $m->{body}{id};

    ($st, $card) = lookup('email=bea@example.com');
    is $st, 200, 'the cached id still answers';
    is $card->{id}, $survivor, 'as the surviving contact';
    is $card->{properties}{firstname}, 'Beatriz', "with the survivor's properties";

    my $seq = last_seq();
    lookup('email=bea@example.com');
    like calls_since($seq)->[0], qr{/contacts/$survivor\?}, 'the cache names the survivor now';

    ($st, $card) = lookup("crm_id=$b");
    is $card->{id}, $survivor, 'the old id as crm_id: the survivor';
};


subtest 'a second portal, on the v3 paths' => sub {
    my $seq = last_seq();
    my ($st, $c) = lookup("crm_id=$ana", '/lookup/v3');
    is $st, 200, 'by crm_id on the second portal';
    is $c->{id}, $ana, 'the contact';
    like calls_since($seq)->[0], qr{^GET /crm/v3/objects/contacts/$ana\?}, 'a v3 path';
};


subtest 'budgets: a spent budget answers 429 at once' => sub {
    # tight: 2 calls in 10 s (one was used above)
    my ($st, $c, $h) = lookup("crm_id=$ana", '/tight');
    my @st = ($st);
    for (1 .. 2) { ($st, $c, $h) = lookup("crm_id=$ana", '/tight'); push @st, $st }
    is $st[-1], 429, 'the budget is spent: 429';
    like $h->{'retry-after'}, qr/^(1[01]|[1-9])$/, 'Retry-After within the window (and its 100 ms margin)';
    is $c->{error}, 'rate_limited', 'rate_limited';
    is $c->{retry_after}, $h->{'retry-after'}, 'also in the body';
};


# requests sent together on connections of their own: their statuses
sub together {
    my (@paths) = @_;
    my @socks = map {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ng->port,
                                      Proto => 'tcp') or die $!;
        $s;
    } @paths;
    syswrite $socks[$_], "GET $paths[$_] HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        for 0 .. $#paths;
    my @st;
    for my $s (@socks) {
        local $/;
        my $resp = <$s> // '';
        push @st, $resp =~ m{^HTTP/1\.1 (\d+)} ? $1 : 0;
    }
    return @st;
}


subtest 'searches have a budget of their own' => sub {
    # /tight's call budget is spent; searches are not counted in it
    my $seq = last_seq();
    my @st = sort(together(map { "/tight?phone=%2B49151000000$_" } 11 .. 13));
    is $st[0], 404, 'a search goes out while the call budget is spent';
    is_deeply [@st[1, 2]], [429, 429], 'one search a second: the others 429';
    is scalar(grep { m{/search} } @{calls_since($seq)}), 1, 'one search went out';
};


subtest 'a client that goes away before HubSpot answers' => sub {
    $sb->config(latency_ms => 1500);
    my $seq = last_seq();
    my @pids = sort $ng->worker_pids;
    my $calls = $ng->status->{portals}{default}{calls};
    my @socks;
    for my $i (1 .. 4) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ng->port,
                                      Proto => 'tcp') or die $!;
        syswrite $s, "GET /lookup?crm_id=$ana HTTP/1.1\r\nHost: x\r\n\r\n";
        push @socks, $s;
    }
    ok $ng->wait_for(sub { $ng->status->{portals}{default}{calls} >= $calls + 4 }, 10),
       'the calls are in flight, and the workers answer meanwhile';
    close $_ for @socks;
    ok $ng->wait_for(sub { $ng->error_log =~ /client prematurely closed connection/ }, 10),
       'nginx notices the clients are gone';
    ok $sb->wait_for(sub { @{calls_since($seq)} >= 4 }, 20), 'HubSpot answers the calls';
    $sb->config(latency_ms => 0);
    my ($st, $c) = lookup("crm_id=$ana");
    is $st, 200, 'lookups go on';
    is_deeply [sort $ng->worker_pids], \@pids, 'no worker was lost';
    unlike $ng->error_log, qr/\[(alert|emerg)\]|signal \d+/, 'no alert, no crash';
};


subtest 'a reload answers the lookups in flight first' => sub {
    $sb->config(latency_ms => 1000);
    my $calls = $ng->status->{portals}{default}{calls};
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $ng->port,
                                  Proto => 'tcp') or die $!;
    syswrite $s, "GET /lookup?crm_id=$ana HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ok $ng->wait_for(sub { $ng->status->{portals}{default}{calls} > $calls }, 10),
       'the call is in flight';
    $ng->reload;
    local $/;
    my $resp = <$s> // '';
    like $resp, qr{^HTTP/1\.1 200 }, 'answered 200 by the old generation';
    like $resp, qr/"id":"$ana"/, 'the card';
    $sb->config(latency_ms => 0);
};


subtest 'HubSpot refusing the token, or not there: 502' => sub {
    $sb->revoke_token;
    my ($st, $c) = lookup("crm_id=$ana");
    is $st, 502, 'a revoked token: 502';
    is $c->{error}, 'auth_failed', 'auth_failed';

    $sb->stop;
    ($st, $c) = lookup('email=ana@example.com');
    is $st, 502, 'the sandbox down: 502';
    is $c->{error}, 'hubspot_unavailable', 'hubspot_unavailable';
    ok $c->{message}, 'with the reason';
};


subtest 'the cache is bounded by the zone: old entries make room' => sub {
    my $sb2 = Crmsync::Sandbox->start;
    my $d = File::Temp::tempdir(CLEANUP => 1);
    Crmsync::Nginx::write_file("$d/token", $sb2->token . "\n");
    my $small = Crmsync::Nginx->start(
        workers => 2, prefix => $d,
        http => "crmsync_zone small:64k;\n"
              . "crmsync_store $d/crmsync.db;\n"
              . "crmsync_hubspot url=${\ $sb2->url} token_file=$d/token"
              . " rate=5000r/10s search_rate=50r/s;\n",
        server => "location = /lookup { crmsync_lookup; }\n"
                . "location = /crmsync/status { crmsync_status; }\n");

    my $n = 600;
    for my $k (0 .. $n / 100 - 1) {
        my $r = $sb2->api(POST => '/crm/v3/objects/contacts/batch/create', { inputs => [
            map { { properties => { email => "p$_\@example.com",
                                    phone => sprintf('+4915112%06d', $_) } } }
                ($k * 100 + 1) .. ($k * 100 + 100) ] });
        die "batch/create: $r->{status}" unless $r->{status} == 201;
    }
    my $ok = 0;
    for my $i (1 .. $n) {
        my ($st) = $small->get("/lookup?email=p$i\@example.com");
        $ok++ if $st == 200;
    }
    is $ok, $n, "$n lookups, all answered: a full zone never fails one";
    my $s = $small->status->{portals}{default};
    cmp_ok $s->{cache_evictions}, '>', 0, "evictions: $s->{cache_evictions}";
    cmp_ok $s->{cache_entries}, '<', $n, "entries: $s->{cache_entries}";
    is $s->{cache_entries} + $s->{cache_evictions}, $n, 'each identity once';

    my $seq = $sb2->requests(limit => 1)->{last_seq};
    my ($st) = $small->get("/lookup?email=p$n\@example.com");
    is $st, 200, 'the newest is found';
    like $sb2->requests(since => $seq)->{log}[0]{path}, qr{/contacts/\d+\?},
         'from the cache';
    ($st) = $small->get('/lookup?email=p1@example.com');
    is $st, 200, 'the oldest is found too';
    ($st) = $small->get('/lookup?phone=%2B4915112000007');
    is $st, 200, 'the search budget finds room in a full zone';
    $small->stop;
};


subtest 'status: the figures, and Prometheus text promtool accepts' => sub {
    my $s = $ng->status->{portals};
    for my $k (qw(cache_entries cache_hits cache_misses cache_evictions searches
                  search_budget lookups dry_run)) {
        ok exists $s->{default}{$k}, "JSON: $k";
    }
    is $s->{tight}{search_budget}, 1, "the second portal's search budget";
    my ($code, $prom) = $ng->get('/crmsync/status?format=prometheus');
    is $code, 200, 'prometheus text';
    like $prom, qr/^crmsync_identity_cache_entries\{portal="default"\} [1-9]\d*$/m,
         'cache entries by portal';
    like $prom, qr/^crmsync_identity_cache_hits_total\{portal="default"\} [1-9]\d*$/m,
         'cache hits by portal';
    like $prom, qr/^crmsync_hubspot_searches_total\{portal="default"\} [1-9]\d*$/m,
         'searches by portal';
  SKIP: {
        skip 'promtool not installed (util/deps installs prometheus)', 1
            unless -x '/usr/bin/promtool';
        open my $pt, '|-', 'promtool check metrics >/dev/null 2>&1' or die $!;
        print $pt $prom;
        close $pt;
        is $?, 0, "promtool's parser and linter accept it";
    }
};


$ng->stop;

done_testing;

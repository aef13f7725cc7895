#!/usr/bin/env perl
# What HubSpot can do to a sync, and what crmsync must do about it: every
# acknowledged event reaches the sandbox once, whatever the answers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Crmsync::Nginx;
use Crmsync::Sandbox;
use File::Temp ();


sub contacts_by_email {
    my ($sb) = @_;
    my %by;
    push @{$by{$_->{properties}{email} // ''}}, $_ for @{$sb->contacts};
    return \%by;
}


sub deliver_all {
    my ($ng, $tag, $n) = @_;
    my $ok = 0;
    for my $i (1 .. $n) {
        my ($st, $body) = $ng->contact("$tag-$i", "$tag$i\@example.com", "Ana $tag$i");
        $ok++ if $st == 200 && $body =~ /"stored":1/;
    }
    return $ok;
}


subtest 'the first flow: a contact event becomes one upserted contact' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        location => 'crmsync_set chat_lead_source $arg_src;');
    $sb->api(POST => '/crm/v3/properties/contacts', {
        name => 'chat_lead_source', label => 'Chat lead source',
        type => 'string', fieldType => 'text', groupName => 'contactinformation' });

    my ($st, $body) = $ng->standard('/hooks/std?src=ads', $ng->{secret}, 'e-1',
                                    { id => 'u1', email => ' Ana@Example.com ',
                                      name => 'Ana Maria Silva' });
    is $st, 200, 'acknowledged';
    is $body, qq({"status":"accepted","events":1,"stored":1,"duplicate":false}\n),
       'once stored';

    ok $ng->drained, 'the queue drains';
    my $c = $sb->contacts;
    is scalar @$c, 1, 'one contact';
    is $c->[0]{properties}{email}, 'ana@example.com', 'email normalized';
    is $c->[0]{properties}{firstname}, 'Ana', 'first name';
    is $c->[0]{properties}{lastname}, 'Maria Silva', 'last name';
    is $c->[0]{properties}{chat_lead_source}, 'ads', 'crmsync_set with a variable';

    ($st, $body) = $ng->standard('/hooks/std?src=ads', $ng->{secret}, 'e-1',
                                 { id => 'u1', email => 'ana@example.com' });
    is $body, qq({"status":"accepted","events":1,"stored":0,"duplicate":true}\n),
       'a retried delivery is answered as a duplicate';

    # the same person again, a new delivery, without a name: updated, and
    # the empty name does not clear the one HubSpot has
    ($st) = $ng->standard('/hooks/std', $ng->{secret}, 'e-2',
                          { id => 'u1', email => 'ana@example.com' });
    is $st, 200, 'a second event of the person';
    ok $ng->drained, 'drains';
    $c = $sb->contacts;
    is scalar @$c, 1, 'still one contact';
    is $c->[0]{properties}{firstname}, 'Ana', 'the name is kept';

    my $audit = $ng->sql("SELECT a.method || ' ' || a.path || ' ' || a.status"
                         . " FROM job j JOIN audit_job aj ON aj.job_id = j.id"
                         . " JOIN audit a ON a.id = aj.audit_id"
                         . " WHERE j.match_key = 'email:ana\@example.com' ORDER BY a.id");
    is $audit, join("\n", 'POST /crm/objects/2026-03/contacts/batch/read 207',
                          'POST /crm/objects/2026-03/contacts/batch/upsert 200',
                          'POST /crm/objects/2026-03/contacts/batch/read 200'),
       'the audit trail answers what was sent for the person: looked up by'
       . ' email, upserted; then read by id, and nothing to change';
    unlike $ng->sql('SELECT * FROM audit'), qr/\Q${\ $sb->token}\E/,
           'no token in the audit trail';

    $ng->post('/hooks/std', '{}', { 'content-type' => 'application/json' });
    my $s = $ng->status;
    is $s->{locations}{'/hooks/std'}{refused}{signature_missing}, 1,
       'status: refusals by reason';
    my ($code, $prom, $h) = $ng->get('/crmsync/status?format=prometheus');
    is $code, 200, 'prometheus text';
    like $h->{'content-type'}, qr{^text/plain; version=0\.0\.4}, 'its content type';
    like $prom, qr/^crmsync_jobs_synced_total\{portal="default"\} 2$/m, 'synced, by portal';
    like $prom, qr/^crmsync_webhook_refused_total\{location="\/hooks\/std",reason="signature_missing"\} 1$/m,
         'refused, by location and reason';
  SKIP: {
        skip 'promtool not installed (util/deps installs prometheus)', 1
            unless -x '/usr/bin/promtool';
        open my $pt, '|-', 'promtool check metrics >/dev/null 2>&1' or die $!;
        print $pt $prom;
        close $pt;
        is $?, 0, "promtool's parser and linter accept it";
    }
    is $s->{locations}{'/hooks/std'}{stored}, 2, 'status: stored';
    is $s->{locations}{'/hooks/std'}{duplicate}, 1, 'status: duplicate';
    is $s->{portals}{default}{synced}, 2, 'status: synced';
    is $sb->duplicates->{duplicate_groups}, 0, 'no duplicate contact';
};


subtest 'two portals: each location syncs to its own HubSpot account' => sub {
    my $acme = Crmsync::Sandbox->start;
    my $dir = File::Temp::tempdir(CLEANUP => 1);
    Crmsync::Nginx::write_file("$dir/acme.token", $acme->token . "\n");
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        http => "crmsync_hubspot name=acme url=${\ $acme->url}"
                . " token_file=$dir/acme.token rate=190r/10s;\n"
                . 'crmsync_batch_linger 10ms;',
        server => 'location = /hooks/acme { crmsync_webhook standard;'
                . " crmsync_secret $Crmsync::Nginx::Secret; crmsync_portal acme; }");

    my ($st) = $ng->standard('/hooks/acme', $ng->{secret}, 'ac-1',
                             { id => 'a1', email => 'ana@acme.example' });
    is $st, 200, 'the acme location acknowledges';
    ($st) = $ng->contact('df-1', 'bob@default.example', 'Bob B');
    is $st, 200, 'the default location acknowledges';
    ok $ng->drained, 'drained';
    is join(',', map { $_->{properties}{email} } @{$acme->contacts}), 'ana@acme.example',
       "acme's contact in acme's account only";
    is join(',', map { $_->{properties}{email} } @{$sb->contacts}), 'bob@default.example',
       "the default's in the default account only";
    my $st_ = $ng->status;
    is $st_->{portals}{acme}{synced}, 1, 'status: acme synced 1';
    is $st_->{portals}{acme}{budget}, 190, "status: acme's budget";
    is $st_->{portals}{default}{synced}, 1, 'status: default synced 1';
    is $ng->sql("SELECT portal FROM job WHERE delivery LIKE '%ac-1'"), 'acme',
       'the job names its portal';
};


subtest 'events of one email are coalesced into one input; 100 a call' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        http => 'crmsync_batch_linger 2s;', workers => 1);
    my $ok = 0;
    for my $i (1 .. 150) {
        my $email = 'p' . ($i % 120) . '@example.com';
        my ($st) = $ng->contact("co-$i", $email, "Name$i Last");
        $ok++ if $st == 200;
    }
    is $ok, 150, 'all acknowledged';
    ok $ng->drained(30), 'drained';
    is scalar @{$sb->contacts}, 120, 'one contact per email';
    my $r = $sb->requests;
    my $calls = $r->{by_endpoint}{'POST /crm/v3/objects/contacts/batch/upsert'}{count};
    cmp_ok $calls, '<=', 3, "150 events in $calls calls";
    my $s = $ng->status;
    is $s->{portals}{default}{synced}, 150, 'every job done';
    is $sb->duplicates->{duplicate_groups}, 0, 'no duplicate contact';
};


subtest '5xx after HubSpot committed the write: retried, never a second contact' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(http => 'crmsync_batch_linger 50ms;');
    $sb->fault(mode => 'commit_then_fail', status => 502, path => 'batch/upsert$', count => 2);
    is deliver_all($ng, 'cf', 20), 20, 'acknowledged';
    ok $ng->drained(60), 'drained despite the failures';
    my $by = contacts_by_email($sb);
    is scalar(keys %$by), 20, '20 contacts';
    is scalar(grep { @$_ > 1 } values %$by), 0, 'none twice';
    cmp_ok $ng->status->{portals}{default}{errors}, '>=', 1, 'the 502s are counted';
    like $ng->error_log, qr/answered 502, \d+ jobs will be retried/, 'and logged';
    is $sb->duplicates->{duplicate_groups}, 0, 'no duplicate contact';
};


subtest 'reset connections and timeouts are retried' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        hubspot => 'timeout=1s', http => 'crmsync_batch_linger 50ms;');
    # the reset on the first call of a connection (libcurl itself sends a
    # request again when a reused connection dies before any answer)
    $sb->fault(mode => 'commit_then_fail', then => 'reset', path => 'batch/read$', count => 1);
    $sb->fault(mode => 'hang', seconds => 3, path => 'batch/upsert$', count => 1);
    is deliver_all($ng, 'rs', 10), 10, 'acknowledged';
    ok $ng->drained(60), 'drained';
    my $by = contacts_by_email($sb);
    is scalar(keys %$by), 10, '10 contacts, none twice';
    is scalar(grep { @$_ > 1 } values %$by), 0, 'none twice';
    my $errors = $ng->sql("SELECT count(*) FROM audit WHERE status = 0");
    cmp_ok $errors, '>=', 2, 'the reset and the timeout are in the audit trail'
        or diag $ng->sql('SELECT method, path, status, error FROM audit');
};


subtest 'a storm of 429s: calls pause, nothing is lost' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(http => 'crmsync_batch_linger 20ms;');
    $sb->fault(mode => 'status', status => 429, path => 'batch/upsert$', count => 3,
               message => 'You have reached your ten_secondly_rolling limit.');
    is deliver_all($ng, 'rl', 5), 5, 'acknowledged';
    ok $ng->drained(60), 'drained after the pause';
    is scalar @{$sb->contacts}, 5, 'all synced';
    my $s = $ng->status;
    cmp_ok $s->{portals}{default}{r429}, '>=', 1, 'r429 counted';
    like $ng->error_log, qr/answered 429: calls pause for \d+ ms/, 'the pause is logged';
    is $ng->sql("SELECT max(attempts) FROM job"), 1,
       'a 429 is not counted against the job';
};


subtest 'our own budget: no 429 of our making' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        sandbox => { rate => '3/2s' }, hubspot => 'rate=3r/2s',
        http => 'crmsync_batch_linger 1ms;', workers => 2);
    # every event its own call: no two within the linger
    my $ok = 0;
    for my $i (1 .. 12) {
        my ($st) = $ng->contact("bd-$i", "bd$i\@example.com", 'B D');
        $ok++ if $st == 200;
        Time::HiRes::sleep(0.02);
    }
    is $ok, 12, 'acknowledged';
    ok $ng->drained(60), 'drained';
    is scalar @{$sb->contacts}, 12, 'all synced';
    my $r = $sb->requests;
    is $r->{by_endpoint}{'POST /crm/v3/objects/contacts/batch/upsert'}{statuses}{429} // 0, 0,
       'the sandbox never had to refuse a call';
    cmp_ok $r->{peak_rate_1s}, '<=', 3, 'never more than the budget in a window';
};


subtest 'a bad input is found alone; the others are written' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        location => 'crmsync_set lifecyclestage $arg_stage; crmsync_lifecycle off;',
        http => 'crmsync_batch_linger 500ms;', workers => 1);
    my $ok = 0;
    for my $i (1 .. 6) {
        my $stage = $i == 4 ? 'not-a-stage' : 'lead';
        my ($st) = $ng->standard("/hooks/std?stage=$stage", $ng->{secret}, "bi-$i",
                                 { id => "u$i", email => "bi$i\@example.com" });
        $ok++ if $st == 200;
    }
    is $ok, 6, 'acknowledged';
    ok $ng->drained(60), 'drained';
    is scalar @{$sb->contacts}, 5, 'the five good ones are written';
    my $dead = $ng->sql("SELECT match_key || '|' || category || '|' || (correlation_id IS NOT NULL)"
                        . " FROM job WHERE state = 4");
    is $dead, 'email:bi4@example.com|VALIDATION_ERROR|1', 'only the bad one is dead, with HubSpot\'s reason';
    like $ng->sql('SELECT last_error FROM job WHERE state = 4'), qr/not-a-stage|lifecyclestage/,
         "and HubSpot's message";
    is $ng->status->{queue}{dead}, 1, 'status shows the dead letter';
    like $ng->error_log, qr/dead-lettered: .*category VALIDATION_ERROR, correlationId /,
         'the error log says why';
};


subtest 'the sandbox down for a while, then back' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(http => 'crmsync_batch_linger 20ms;');
    my $port = $sb->port;
    my $token = $sb->token;
    $sb->stop;
    is deliver_all($ng, 'dn', 8), 8, 'acknowledged while HubSpot is unreachable';
    ok $ng->wait_for(sub { $ng->status->{queue}{retrying} == 8 }, 20),
       'the jobs wait for a retry';
    my $last = $ng->sql("SELECT DISTINCT last_error FROM job WHERE state = 1");
    like $last, qr/connect|refused/i, 'with the transport error';
    $sb = Crmsync::Sandbox->start(port => $port, token => $token);
    ok $ng->drained(60), 'drained once it is back';
    is scalar @{$sb->contacts}, 8, 'all synced';
};


subtest 'a revoked token holds the jobs; a fixed token and a reload resume them' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(http => 'crmsync_batch_linger 20ms;');
    $sb->revoke_token;
    is deliver_all($ng, 'au', 4), 4, 'acknowledged';
    ok $ng->wait_for(sub { $ng->status->{queue}{held} == 4 }, 20), 'held, not dead';
    my $s = $ng->status;
    is $s->{portals}{default}{auth}, 'failed', 'status: auth failed';
    is $s->{queue}{dead}, 0, 'nothing dead-lettered';
    like $ng->error_log, qr/\[error\].*HubSpot refuses the token of portal "default" \(401\)/,
         'the error log names the portal';
    unlike $ng->error_log, qr/\Q$sb->{token}\E/, 'never the token';
    is $ng->sql("SELECT DISTINCT hold_reason FROM job WHERE state = 3"), 'auth_failed',
       'the hold says why';

    # a new token, written to the file, then a reload
    my $new = 'pat-na1-fixed-' . $$;
    $sb->add_token($new);
    Crmsync::Nginx::write_file($ng->prefix . '/token', "$new\n");
    $ng->reload;
    ok $ng->drained(30), 'drained after the reload';
    is scalar @{$sb->contacts}, 4, 'all synced';
    $s = $ng->status;
    is $s->{portals}{default}{auth}, 'ok', 'status: auth ok';
    is $s->{locations}{'/hooks/std'}{stored}, 4,
       'the counters of the workers before the reload are kept';
    is $s->{portals}{default}{synced}, 4, 'and the new ones add to them';
};


done_testing;

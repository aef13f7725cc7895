#!/usr/bin/env perl
# Contact matching (issue 10): one person, one contact, whatever the
# channel, the order, the load or what HubSpot already holds.  Every
# scenario runs nginx (master and workers) in front of the sandbox with
# its search index 5 s behind the writes, as HubSpot's is, so that a
# search never sees what crmsync has just written; the duplicates report
# is checked after each.
#
# The contract is README's Matching section and doc/matching.md.  The
# suite skips (and only then) when the module has no crmsync_match yet.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes ();
use JSON::PP ();
use List::Util qw(shuffle first);
use Crmsync::Nginx;
use Crmsync::Sandbox;


our $WaSecret = 'wa-app-secret-1';
our $IcSecret = 'ic-client-secret-1';
our $Lag = 5;


# ---- does the module know the directives?

{
    my $dir = tempdir(CLEANUP => 1);
    Crmsync::Nginx::write_file("$dir/token", "pat-na1-probe\n");
    my $probe = bless {
        workers => 1, main => '', prefix => $dir, port => Crmsync::Nginx::free_port(),
        owner => -1,
        http => "crmsync_zone crmsync:1m;\ncrmsync_store $dir/crmsync.db;\n"
              . "crmsync_hubspot url=http://127.0.0.1:9 token_file=$dir/token;\n",
        server => "location = /hooks/wa { crmsync_webhook whatsapp; crmsync_secret x;"
                . " crmsync_match phone whatsapp_id email; }\n",
    }, 'Crmsync::Nginx';
    $probe->write_conf;
    my ($rc, $out) = $probe->nginx('-t');
    plan skip_all => 'the module has no contact matching yet (nginx -t: unknown directive'
                     . ' "crmsync_match"); this suite is for the matching implementation'
        if $rc && $out =~ /unknown directive "crmsync_match"/;
}


# ---- helpers

# nginx in front of a sandbox with index lag: /hooks/std (standard), and
# /hooks/wa (whatsapp), /hooks/ic (intercom, crmsync_default_region DE);
# wa, ic, std: more lines for those locations; props: custom contact
# properties to create first
sub start {
    my (%o) = @_;
    my $sb = $o{sb} // Crmsync::Sandbox->start(index_lag => $Lag, %{$o{sandbox} // {}});
    for my $p (@{$o{props} // []}) {
        my $r = $sb->api(POST => '/crm/v3/properties/contacts', {
            name => $p, label => $p, type => 'string', fieldType => 'text',
            groupName => 'contactinformation' });
        die "property $p: $r->{status}" unless $r->{status} == 201;
    }
    my ($ng) = Crmsync::Nginx->with_sandbox(
        sb => $sb, workers => $o{workers} // 2,
        hubspot => $o{hubspot}, store => $o{store},
        http => 'crmsync_batch_linger ' . ($o{linger} // '20ms') . ";\n" . ($o{http} // ''),
        location => $o{std} // '',
        server => "location = /hooks/wa { crmsync_webhook whatsapp; crmsync_secret $WaSecret;\n"
                . ($o{wa} // '') . "}\n"
                . "location = /hooks/ic { crmsync_webhook intercom; crmsync_secret $IcSecret;\n"
                . "crmsync_default_region DE;\n" . ($o{ic} // '') . "}\n"
                . "location = /lookup { crmsync_lookup; crmsync_default_region DE; }\n"
                . ($o{server} // ''));
    return ($ng, $sb);
}

sub wa {
    my ($ng, $wa_id, $name, %o) = @_;
    my $path = delete $o{path} // '/hooks/wa';
    my ($st, $body) = $ng->deliver(Crmsync::Nginx->whatsapp_request($path, $WaSecret, $wa_id, $name, %o));
    is $st, 200, "WhatsApp from $wa_id acknowledged" or diag $body;
    return $st;
}

sub ic {
    my ($ng, $contact, %o) = @_;
    my $path = delete $o{path} // '/hooks/ic';
    my ($st, $body) = $ng->deliver(Crmsync::Nginx->intercom_request($path, $IcSecret, $contact, %o));
    is $st, 200, 'Intercom delivery acknowledged' or diag $body;
    return $st;
}

sub std {
    my ($ng, $id, $contact, %o) = @_;
    my $path = delete $o{path} // '/hooks/std';
    my ($st, $body) = $ng->deliver(Crmsync::Nginx->standard_request($path, $ng->{secret}, $id, $contact, %o));
    is $st, 200, "standard delivery $id acknowledged" or diag $body;
    return $st;
}

# the live contacts; one by id
sub contacts { $_[0]->contacts }
sub contact { my ($sb, $id) = @_; $sb->object(contacts => $id) }

# the live contacts whose phone or mobile phone is that national number
sub with_phone {
    my ($sb, $e164) = @_;
    my $nat = $e164 =~ s/^\+49//r;
    return [grep {
        my $p = $_->{properties};
        grep { ($p->{$_} // '') eq $nat }
            qw(hs_searchable_calculated_phone_number hs_searchable_calculated_mobile_number)
    } @{$sb->contacts}];
}

sub create_contact {
    my ($sb, %props) = @_;
    my $r = $sb->api(POST => '/crm/v3/objects/contacts', { properties => \%props });
    die "create: $r->{status} $r->{raw}" unless $r->{status} == 201;
    return $r->{body}{id};
}

# the duplicates report is empty, and no contact is empty
sub no_duplicates {
    my ($sb, $what) = @_;
    my $d = $sb->duplicates;
    is $d->{duplicate_groups}, 0, "$what: the duplicates report is empty"
        or diag(JSON::PP->new->canonical->encode($d->{groups}));
    is scalar @{$d->{empty_contacts}}, 0, "$what: no empty contact";
}

sub drained {
    my ($ng, $what, $t) = @_;
    ok $ng->drained($t // 60), "$what: the queue drains"
        or diag(JSON::PP->new->canonical->encode($ng->status->{queue}));
    is $ng->sql('SELECT count(*) FROM job WHERE state = 4'), 0, "$what: nothing dead"
        or diag $ng->sql('SELECT match_key, last_error FROM job WHERE state = 4');
}

# the calls that write (anything but reads and searches) since the start
sub writes {
    my ($sb) = @_;
    my $log = $sb->requests(limit => 100000)->{log};
    return [grep { $_->{method} ne 'GET' && $_->{path} !~ m{/batch/read(?:\?|$)|/search(?:\?|$)} } @$log];
}

# the jobs' rows as crmsync_jobs shows them, as one text per job
sub job_text {
    my ($ng, $where) = @_;
    return [map { JSON::PP->new->canonical->encode($_) } @{$ng->jobs($where)}];
}

# a subtest that fails, rather than ends the suite, when its nginx does
# not start (a directive not there yet) or a helper dies
sub scenario {
    my ($name, $code) = @_;
    # CRMSYNC_SCENARIO=<regex> runs only the scenarios it matches
    return if $ENV{CRMSYNC_SCENARIO} && $name !~ /$ENV{CRMSYNC_SCENARIO}/;
    subtest $name => sub {
        eval { $code->(); 1 } or fail("the scenario died: $@");
    };
}


# ---- 1, 2: a new number on WhatsApp, then again

scenario 'a new number on WhatsApp: one contact, E.164, the profile name, lead; again: updated' => sub {
    my ($ng, $sb) = start(props => ['chat_topic'], wa => 'crmsync_set chat_topic $arg_topic;');

    wa($ng, '4915112345601', 'Lena Vogel', path => '/hooks/wa?topic=pricing');
    drained($ng, 'first message');
    my $c = contacts($sb);
    is scalar @$c, 1, 'one contact';
    my $p = $c->[0]{properties};
    is $p->{phone}, '+4915112345601', 'the phone in E.164';
    is $p->{firstname}, 'Lena', 'first name from the WhatsApp profile';
    is $p->{lastname}, 'Vogel', 'last name from the WhatsApp profile';
    is $p->{lifecyclestage}, 'lead', 'lifecycle stage lead';
    is $p->{chat_topic}, 'pricing', 'crmsync_set';
    my $id = $c->[0]{id};
    is $ng->sql("SELECT hubspot_id FROM job WHERE provider = 'whatsapp'"), $id,
       'the job names the contact';

    # the same number again, before the search index shows the contact,
    # with another profile name and another value to set
    wa($ng, '4915112345601', 'Lena V.', path => '/hooks/wa?topic=shipping');
    drained($ng, 'second message');
    $c = contacts($sb);
    is scalar @$c, 1, 'still one contact';
    is $c->[0]{id}, $id, 'the same contact';
    is $c->[0]{properties}{chat_topic}, 'shipping', 'updated';
    is $c->[0]{properties}{firstname}, 'Lena', 'a profile name never overwrites the name HubSpot holds';
    is $c->[0]{properties}{lastname}, 'Vogel', 'nor the last name';
    is $ng->sql("SELECT count(*) FROM job WHERE provider = 'whatsapp' AND hubspot_id = '$id'"), 2,
       'both jobs went to that contact';
    no_duplicates($sb, 'WhatsApp twice');

    # the agent's contact card, from the identity map: no search, while
    # HubSpot's index does not show the contact yet
    $sb->clear_requests;
    for my $q ('whatsapp_id=4915112345601', 'phone=01511%202345601') {
        my ($st, $body) = $ng->get("/lookup?$q");
        is $st, 200, "crmsync_lookup ?$q: found";
        my $card = eval { JSON::PP::decode_json($body) } // {};
        is $card->{id}, $id, 'the contact the map knows';
    }
    is scalar(grep { $_->{path} =~ m{/search$} } @{$sb->requests(limit => 1000)->{log}}), 0,
       'answered without a search';
};


# ---- 3: the email comes later

scenario 'phone first on WhatsApp, then the email with the phone: one contact with both' => sub {
    my ($ng, $sb) = start(std => 'crmsync_match phone email platform_id;');

    wa($ng, '4915112345602', 'Jan Ott');
    drained($ng, 'WhatsApp');
    is scalar @{contacts($sb)}, 1, 'one contact, phone only';
    ok !defined contacts($sb)->[0]{properties}{email}, 'no email yet';

    std($ng, 'e3-1', { id => 'bot-3', phone => '+4915112345602', email => 'jan.ott@example.com' });
    drained($ng, 'the email');
    my $c = contacts($sb);
    is scalar @$c, 1, 'still one contact';
    is $c->[0]{properties}{email}, 'jan.ott@example.com', 'it has the email';
    is $c->[0]{properties}{phone}, '+4915112345602', 'and the phone';
    is $c->[0]{properties}{firstname}, 'Jan', 'and the name';

    # and later still, a message on WhatsApp: the same contact
    wa($ng, '4915112345602', 'Jan Ott');
    drained($ng, 'WhatsApp again');
    is scalar @{contacts($sb)}, 1, 'one contact after a third event';
    no_duplicates($sb, 'phone, then email');
};


# ---- 4: WhatsApp, then Intercom with the national number

scenario 'WhatsApp, then Intercom with the email and the national number: one contact' => sub {
    my ($ng, $sb) = start();

    wa($ng, '4915112345603', 'Mia Roth');
    drained($ng, 'WhatsApp');
    my $id = contacts($sb)->[0]{id};

    ic($ng, { id => '65f0c0ffee04', email => 'mia.roth@example.com',
              phone => '0151 12345603', name => 'Mia Roth' });
    drained($ng, 'Intercom');
    my $c = contacts($sb);
    is scalar @$c, 1, 'one contact';
    is $c->[0]{id}, $id, 'the WhatsApp one';
    is $c->[0]{properties}{email}, 'mia.roth@example.com', 'with the email from Intercom';

    # Intercom again, by email this time (the contact has it now)
    ic($ng, { id => '65f0c0ffee04', email => 'mia.roth@example.com', name => 'Mia Roth' },
       topic => 'contact.user.updated');
    drained($ng, 'Intercom again');
    is scalar @{contacts($sb)}, 1, 'still one contact';
    no_duplicates($sb, 'WhatsApp then Intercom');
};


# ---- 5: a contact a rep typed in HubSpot

scenario 'a contact already in HubSpot, phone written "(0151) 2345-678": found, not duplicated' => sub {
    my ($ng, $sb) = start(props => ['chat_topic'], wa => 'crmsync_set chat_topic $arg_topic;');
    my $id = create_contact($sb, firstname => 'Jonas', lastname => 'Becker',
                            phone => '(0151) 2345-678', country => 'Germany');
    $sb->flush_index;

    wa($ng, '491512345678', 'Jonny B', path => '/hooks/wa?topic=demo');
    drained($ng, 'WhatsApp');
    my $c = contacts($sb);
    is scalar @$c, 1, 'no second contact';
    my $p = contact($sb, $id)->{properties};
    is $p->{chat_topic}, 'demo', 'the existing contact got the update';
    is $p->{phone}, '(0151) 2345-678', 'its phone, the same number, is left as the rep wrote it';
    is $p->{firstname}, 'Jonas', 'its name is kept';
    is $p->{lastname}, 'Becker', 'its last name too';
    is $ng->sql("SELECT hubspot_id FROM job WHERE provider = 'whatsapp'"), $id, 'the job names it';
    no_duplicates($sb, 'existing contact');
};


# ---- 6: two contacts with one phone

scenario 'two existing contacts with one phone: the older wins, logged masked' => sub {
    my ($ng, $sb) = start(props => ['chat_topic'], wa => 'crmsync_set chat_topic $arg_topic;');
    my $old = create_contact($sb, firstname => 'Eva', lastname => 'Klein', phone => '+49 151 2345678');
    # the sandbox stamps createdate in ms: the second one a few ms later
    my $after = Time::HiRes::time();
    $ng->wait_for(sub { Time::HiRes::time() > $after + 0.005 }, 1, 0.001);
    my $new = create_contact($sb, firstname => 'Eva', lastname => 'K', phone => '0151 2345678');
    cmp_ok contact($sb, $new)->{properties}{createdate}, 'gt', contact($sb, $old)->{properties}{createdate},
           'the second contact is younger';
    $sb->flush_index;
    my $before = contact($sb, $new)->{properties};

    wa($ng, '491512345678', 'Eva Klein', path => '/hooks/wa?topic=invoice');
    drained($ng, 'WhatsApp');
    is scalar @{contacts($sb)}, 2, 'no third contact';
    is contact($sb, $old)->{properties}{chat_topic}, 'invoice', 'the older contact gets the update';
    is_deeply contact($sb, $new)->{properties}, $before, 'the younger one is untouched';
    is $ng->sql("SELECT hubspot_id FROM job WHERE provider = 'whatsapp'"), $old, 'the job names the older';

    my $log = $ng->error_log;
    my @lines = grep { /\+49151\*\*\*\*\*78/ } split /\n/, $log;
    ok scalar(@lines), 'the decision is logged with the masked number +49151*****78'
        or diag $log;
    like $lines[0] // '', qr/\[info\]/, 'at info';
    like $lines[0] // '', qr/\b$old\b/, 'naming the contact that won';
    unlike $log, qr/1512345678/, 'the full number appears nowhere in the log';

    my $d = $sb->duplicates;
    is $d->{duplicate_groups}, 1, 'the duplicates report has only the pair that was there before';
    is_deeply $d->{groups}[0]{ids}, [sort { $a <=> $b } $old, $new], 'that pair';
    is scalar @{$d->{empty_contacts}}, 0, 'no empty contact';
};


# ---- 7: load

scenario '4 workers, 500 deliveries for 100 new people, each sent twice, out of order: 100 contacts' => sub {
    my ($ng, $sb) = start(workers => 4, linger => '50ms', store => 'sync=normal',
                          std => 'crmsync_match phone email platform_id;');
    my (@reqs, %phones);
    for my $n (1 .. 100) {
        my $wa = sprintf '49151200%05d', $n;
        $phones{"+$wa"} = 1;
        for my $k (1 .. 3) {
            push @reqs, Crmsync::Nginx->whatsapp_request('/hooks/wa', $WaSecret, $wa, "Person $n",
                                                         id => "wamid.ld-$n-$k", ts => time - 10 + $k);
        }
        for my $k (4 .. 5) {
            push @reqs, Crmsync::Nginx->standard_request('/hooks/std', $ng->{secret}, "ld-$n-$k", {
                id => "p-$n", phone => "+$wa", ($k == 5 ? (email => "person$n\@example.com") : ()) });
        }
    }
    is scalar @reqs, 500, '500 deliveries';
    srand 50;
    my @all = shuffle(@reqs, @reqs);
    my $r = $ng->send_all(\@all, 8);
    is $r->{ok}, 1000, 'all 1000 acknowledged (the second of each as a duplicate)'
        or diag(JSON::PP->new->canonical->encode($r->{statuses}));
    is $ng->sql('SELECT count(*) FROM job'), 500, '500 jobs stored';
    drained($ng, 'load', 180);
    my $c = contacts($sb);
    is scalar @$c, 100, 'exactly 100 contacts';
    my %seen;
    $seen{$_->{properties}{phone} // ''}++ for @$c;
    is scalar(grep { $phones{$_} } keys %seen), 100, 'one for each number';
    is scalar(grep { $_->{properties}{email} } @$c), 100, 'each with its email';
    no_duplicates($sb, 'load');
};


# ---- 8: kill -9 of a worker holding a claim

scenario 'kill -9 of a worker while it holds a claim, then the same person again: one contact' => sub {
    my ($ng, $sb) = start(workers => 2, sandbox => { latency_ms => 1500 }, hubspot => 'timeout=5s',
                          props => ['chat_topic'], wa => 'crmsync_set chat_topic $arg_topic;');
    wa($ng, '4915112345608', 'Ole Berg', path => '/hooks/wa?topic=first');
    ok $ng->wait_for(sub { $ng->sql('SELECT count(*) FROM job WHERE state = 2') > 0 }, 10, 0.02),
       'the job is claimed, its calls in flight';
    # the owner id's low 22 bits are the worker's pid
    my $owner = $ng->sql('SELECT owner FROM job WHERE state = 2 LIMIT 1');
    my $victim = ($owner =~ /^\d+$/ ? $owner : 0) & ((1 << 22) - 1);
    ok($victim > 0 && (grep { $_ == $victim } $ng->worker_pids), "worker $victim holds the claim")
        or return;    # never kill 0: that is the suite's own process group
    kill 'KILL', $victim;
    ok $ng->wait_for(sub { $ng->worker_pids >= 2 && !kill 0, $victim }, 10),
       'the master starts another worker';

    wa($ng, '4915112345608', 'Ole Berg', path => '/hooks/wa?topic=second');
    drained($ng, 'after the kill', 150);
    my $c = with_phone($sb, '+4915112345608');
    is scalar @$c, 1, 'one contact';
    is scalar @{contacts($sb)}, 1, 'and no other';
    is $c->[0]{properties}{chat_topic}, 'second', 'the later event applied last';
    no_duplicates($sb, 'kill -9');
};


# ---- 9: a merge in HubSpot

scenario 'a contact merged in HubSpot keeps receiving its events' => sub {
    my ($ng, $sb) = start(props => ['chat_topic'], wa => 'crmsync_set chat_topic $arg_topic;');
    wa($ng, '4915112345609', 'Ida Lang', path => '/hooks/wa?topic=one');
    drained($ng, 'WhatsApp');
    my $mine = contacts($sb)->[0]{id};
    ok defined $mine, 'crmsync made the contact' or return;

    # a rep had her as a lead from a form, and merges the two
    my $form = create_contact($sb, email => 'ida.lang@example.com', firstname => 'Ida', lastname => 'Lang');
    my $m = $sb->ui(POST => 'contacts/merge', { primaryObjectId => $form, objectIdToMerge => $mine });
    my $survivor = $m->{id};
    ok $survivor && $survivor ne $mine && $survivor ne $form, "the merge made contact $survivor";

    wa($ng, '4915112345609', 'Ida Lang', path => '/hooks/wa?topic=two');
    drained($ng, 'after the merge');
    my $c = contacts($sb);
    is scalar @$c, 1, 'no new contact';
    is $c->[0]{id}, $survivor, 'the survivor lives on';
    is $c->[0]{properties}{chat_topic}, 'two', 'and got the update';
    is $ng->sql("SELECT hubspot_id FROM job WHERE provider = 'whatsapp' ORDER BY id DESC LIMIT 1"), $survivor,
       'the job names the survivor';

    # and once more: the map now holds the survivor
    wa($ng, '4915112345609', 'Ida Lang', path => '/hooks/wa?topic=three');
    drained($ng, 'again');
    is contact($sb, $survivor)->{properties}{chat_topic}, 'three', 'the survivor again';
    is scalar @{contacts($sb)}, 1, 'still one contact';
    no_duplicates($sb, 'merge');
};


scenario "a merge reported by HubSpot's webhook (crmsync_webhook hubspot) is followed at once" => sub {
    my $hs = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
    my ($ng, $sb) = start(props => ['chat_topic'], wa => 'crmsync_set chat_topic $arg_topic;',
                          server => "location = /hooks/hs { crmsync_webhook hubspot; crmsync_secret $hs; }\n");
    $sb->webhooks(url => $ng->url . '/hooks/hs', secret => $hs, batch_ms => 50, retry_base => 0.2,
                  subscriptions => ['contact.merge']);
    wa($ng, '4915112345619', 'Uwe Lind', path => '/hooks/wa?topic=one');
    drained($ng, 'WhatsApp');
    my $mine = contacts($sb)->[0]{id};
    ok defined $mine, 'crmsync made the contact' or return;

    my $form = create_contact($sb, email => 'uwe.lind@example.com', firstname => 'Uwe');
    my $since = $sb->requests(limit => 0)->{last_seq};
    my $survivor = $sb->ui(POST => 'contacts/merge', { primaryObjectId => $form, objectIdToMerge => $mine })->{id};
    ok $sb->wait_for(sub { grep { $_->{ok} } @{$sb->webhooks->{deliveries}} }, 10),
       'the contact.merge webhook was acknowledged'
        or diag(JSON::PP->new->canonical->encode($sb->webhooks->{deliveries}));
    drained($ng, 'the webhook');

    wa($ng, '4915112345619', 'Uwe Lind', path => '/hooks/wa?topic=two');
    drained($ng, 'after the merge');
    my $c = contacts($sb);
    is scalar @$c, 1, 'no new contact';
    is $c->[0]{id}, $survivor, 'the survivor';
    is $c->[0]{properties}{chat_topic}, 'two', 'got the update';
    my @old = grep { ($_->{body} // '') =~ /"$mine"/ } @{$sb->requests(since => $since, limit => 100000)->{log}};
    is scalar @old, 0, 'no call named the merged id: the map followed the webhook'
        or diag(JSON::PP->new->canonical->encode(\@old));
    no_duplicates($sb, 'merge webhook');
};


# ---- 10: crmsync_id_property

scenario 'crmsync_id_property: created unique at start, carried, idempotent under faults' => sub {
    my ($ng, $sb) = start(wa => 'crmsync_id_property whatsapp_id crmsync_whatsapp_id;');
    my $prop;
    ok $ng->wait_for(sub {
        my $r = $sb->api(GET => '/crm/v3/properties/contacts/crmsync_whatsapp_id');
        $prop = $r->{body} if $r->{status} == 200;
    }, 20), 'the property is created at start';
    ok $prop && $prop->{hasUniqueValue}, 'with hasUniqueValue';
    like $ng->error_log, qr/crmsync_whatsapp_id/, 'and that is logged';

    wa($ng, '4915112345610', 'Tom Wolf');
    drained($ng, 'WhatsApp');
    my $c = contacts($sb);
    is scalar @$c, 1, 'one contact';
    is $c->[0]{properties}{crmsync_whatsapp_id}, '4915112345610', 'it carries the WhatsApp id';
    is $c->[0]{properties}{phone}, '+4915112345610', 'and the phone';

    # writes committed, then answered 502 (creates and upserts)
    $sb->fault(mode => 'commit_then_fail', status => 502, path => 'batch/(create|upsert)$', count => 2);
    $sb->fault(mode => 'commit_then_fail', then => 'reset', path => 'batch/(create|upsert)$', count => 1);
    my @ids = map { sprintf '49151300000%02d', $_ } 1 .. 10;
    wa($ng, $_, 'New Person') for @ids;
    drained($ng, 'after the faults', 120);
    $c = contacts($sb);
    is scalar @$c, 11, 'one contact for each of the ten, none twice';
    my %by;
    $by{$_->{properties}{crmsync_whatsapp_id} // ''}++ for @$c;
    is scalar(grep { $by{$_} == 1 } @ids), 10, 'each with its WhatsApp id, once';
    cmp_ok scalar(grep { $_->{fault} } @{$sb->requests(limit => 100000)->{log}}), '>=', 1,
           'the faults were met';
    no_duplicates($sb, 'id property');
};


scenario 'a create whose answer is lost (no email, no id property): one contact' => sub {
    my ($ng, $sb) = start(http => "crmsync_index_lag 7s;\n");
    # written, then the connection reset, then written and answered 502
    $sb->fault(mode => 'commit_then_fail', then => 'reset', path => 'batch/create$', count => 1);
    wa($ng, '4915112345641', 'Lia Kern');
    ok $ng->wait_for(sub {
        $ng->sql("SELECT count(*) FROM job WHERE last_error LIKE 'unconfirmed_create%'") > 0
    }, 20), 'the job waits: the create may have been written';
    $sb->fault(mode => 'commit_then_fail', status => 502, path => 'batch/create$', count => 1);
    wa($ng, '4915112345642', 'Mia Kern');
    drained($ng, 'the lost answers', 90);
    is scalar @{with_phone($sb, '+4915112345641')}, 1, 'one contact for the first number';
    is scalar @{with_phone($sb, '+4915112345642')}, 1, 'one contact for the second';
    is scalar(grep { $_->{path} =~ m{batch/create$} && !$_->{fault} }
              @{$sb->requests(limit => 100000)->{log}}), 0,
       'no create was sent again: the search found what the lost ones made';
    no_duplicates($sb, 'lost create answers');
};


scenario 'crmsync_id_property with a token that lacks the schema scope: a clear error' => sub {
    my $sb = Crmsync::Sandbox->start(index_lag => $Lag);
    $sb->add_token($sb->token, scopes => [qw(crm.objects.contacts.read crm.objects.contacts.write)]);
    my ($ng) = start(sb => $sb, wa => 'crmsync_id_property whatsapp_id crmsync_whatsapp_id;');
    my $line;
    ok $ng->wait_for(sub {
        ($line) = grep { /crmsync_whatsapp_id/ && /crm\.schemas\.contacts\.write/ } split /\n/, $ng->error_log;
    }, 20), 'an error names the property and the scope' or diag $ng->error_log;
    like $line // '', qr/\[(?:error|crit|alert|emerg)\]/, 'at error level';
    unlike $ng->error_log, qr/\Q${\ $sb->token}\E/, 'never the token';
    is $sb->api(GET => '/crm/v3/properties/contacts/crmsync_whatsapp_id')->{status}, 404,
       'the property does not exist';
};


# ---- 11: crmsync_create

scenario 'crmsync_create with_email, off; an event with no identifier is held' => sub {
    my ($ng, $sb) = start(
        wa => 'crmsync_create with_email;',
        std => "crmsync_create with_email;\ncrmsync_match phone email platform_id;",
        server => "location = /hooks/wa-off { crmsync_webhook whatsapp; crmsync_secret $WaSecret;"
                . " crmsync_create off; }\n"
                . "location = /hooks/wa-always { crmsync_webhook whatsapp; crmsync_secret $WaSecret;"
                . " crmsync_create always; }\n"
                . "location = /hooks/wa-default { crmsync_webhook whatsapp; crmsync_secret $WaSecret; }\n");

    wa($ng, '4915112345611', 'Kai Nowak');
    drained($ng, 'phone only');
    is scalar @{contacts($sb)}, 0, 'with_email: a phone-only event creates nothing';
    my $j = job_text($ng, "provider = 'whatsapp'");
    is scalar @$j, 1, 'one job';
    like $j->[0] // '', qr/"state":"done"/, 'done';
    like $j->[0] // '', qr/not_created/, 'and says not_created';

    std($ng, 'e11-1', { id => 'kai', phone => '+4915112345611', email => 'kai.nowak@example.com',
                        name => 'Kai Nowak' });
    drained($ng, 'with the email');
    my $c = contacts($sb);
    is scalar @$c, 1, 'with the email: one contact';
    is $c->[0]{properties}{email}, 'kai.nowak@example.com', 'the email';
    is $c->[0]{properties}{phone}, '+4915112345611', 'and the phone';

    wa($ng, '4915112345612', 'Off Person', path => '/hooks/wa-off');
    drained($ng, 'create off');
    is scalar @{with_phone($sb, '+4915112345612')}, 0, 'crmsync_create off: nothing created';
    like((job_text($ng, "location = '/hooks/wa-off'"))->[0] // '', qr/not_created/, 'not_created');

    # a sender that is not a number, no name: no identifier at all
    for my $path ('/hooks/wa-default', '/hooks/wa-always') {
        wa($ng, 'not-a-number', '', path => $path);
    }
    ok $ng->wait_for(sub {
        $ng->sql("SELECT count(*) FROM job WHERE location = '/hooks/wa-default' AND state = 3") == 1 }, 10),
       'an event with no identifier is held'
        or diag join "\n", @{job_text($ng, "location = '/hooks/wa-default'")};
    drained($ng, 'no identifier');
    is scalar @{contacts($sb)}, 1, 'no contact for it, even with crmsync_create always';
    no_duplicates($sb, 'crmsync_create');
};


# ---- 12: crmsync_set ... if_empty

scenario 'crmsync_set if_empty keeps what HubSpot holds; without it overwrites; empty never clears' => sub {
    my ($ng, $sb) = start(props => ['chat_source', 'chat_topic'],
                          std => "crmsync_set chat_source \$arg_src if_empty;\n"
                               . "crmsync_set chat_topic \$arg_topic;\n"
                               . 'crmsync_match email phone platform_id;');
    my $id = create_contact($sb, email => 'rita@example.com', firstname => 'Rita',
                            chat_source => 'trade-fair', chat_topic => 'old');
    $sb->flush_index;

    std($ng, 'e12-1', { id => 'r', email => 'rita@example.com' }, path => '/hooks/std?src=ads&topic=new');
    drained($ng, 'first');
    my $p = contact($sb, $id)->{properties};
    is $p->{chat_source}, 'trade-fair', 'if_empty: the value HubSpot holds is kept';
    is $p->{chat_topic}, 'new', 'without if_empty: overwritten';

    std($ng, 'e12-2', { id => 'r', email => 'rita@example.com' }, path => '/hooks/std?src=&topic=');
    drained($ng, 'empty values');
    $p = contact($sb, $id)->{properties};
    is $p->{chat_topic}, 'new', 'an empty value never clears';
    is $p->{chat_source}, 'trade-fair', 'nor an empty if_empty one';

    std($ng, 'e12-3', { id => 's', email => 'sam@example.com' }, path => '/hooks/std?src=ads&topic=t');
    drained($ng, 'new contact');
    my ($sam) = grep { ($_->{properties}{email} // '') eq 'sam@example.com' } @{contacts($sb)};
    is $sam && $sam->{properties}{chat_source}, 'ads', 'if_empty on a new contact: written';
    is scalar @{contacts($sb)}, 2, 'two contacts';
    no_duplicates($sb, 'if_empty');
};


# ---- 13: crmsync_lifecycle

scenario 'crmsync_lifecycle: lead for new contacts, forward only' => sub {
    my $std = "crmsync_webhook standard; crmsync_secret $Crmsync::Nginx::Secret;"
            . ' crmsync_match email phone platform_id;';
    my ($ng, $sb) = start(std => 'crmsync_match email phone platform_id;',
                          server => "location = /hooks/mql { $std crmsync_lifecycle marketingqualifiedlead; }\n"
                                  . "location = /hooks/nolc { $std crmsync_lifecycle off; }\n");
    my $cust = create_contact($sb, email => 'cust@example.com', lifecyclestage => 'customer');
    my $sub = create_contact($sb, email => 'sub@example.com', lifecyclestage => 'subscriber');
    $sb->flush_index;

    std($ng, 'e13-1', { id => 'a', email => 'cust@example.com', name => 'Cus Tomer' });
    std($ng, 'e13-2', { id => 'b', email => 'sub@example.com' });
    std($ng, 'e13-3', { id => 'c', email => 'fresh@example.com', name => 'Fre Sh' });
    drained($ng, 'lifecycle');
    is contact($sb, $cust)->{properties}{lifecyclestage}, 'customer', 'a customer is never moved back to lead';
    is contact($sb, $sub)->{properties}{lifecyclestage}, 'lead', 'a subscriber is moved forward to lead';
    my ($fresh) = grep { ($_->{properties}{email} // '') eq 'fresh@example.com' } @{contacts($sb)};
    is $fresh && $fresh->{properties}{lifecyclestage}, 'lead', 'a new contact gets lead';
    is scalar @{contacts($sb)}, 3, 'three contacts';

    # crmsync_lifecycle marketingqualifiedlead: forward from lead, never
    # back from customer; off: no stage for a new contact
    std($ng, 'e13-4', { id => 'b', email => 'sub@example.com' }, path => '/hooks/mql');
    std($ng, 'e13-5', { id => 'a', email => 'cust@example.com' }, path => '/hooks/mql');
    std($ng, 'e13-6', { id => 'e', email => 'nostage@example.com', name => 'No Stage' }, path => '/hooks/nolc');
    drained($ng, 'other stages');
    is contact($sb, $sub)->{properties}{lifecyclestage}, 'marketingqualifiedlead',
       'crmsync_lifecycle marketingqualifiedlead moves a lead forward';
    is contact($sb, $cust)->{properties}{lifecyclestage}, 'customer', 'and never a customer back';
    my ($none) = grep { ($_->{properties}{email} // '') eq 'nostage@example.com' } @{contacts($sb)};
    ok $none, 'crmsync_lifecycle off: the contact is created';
    ok !defined(($none // {})->{properties}{lifecyclestage}), 'without a stage';
    is scalar @{contacts($sb)}, 4, 'four contacts';
    no_duplicates($sb, 'lifecycle');
};


# ---- 14: crmsync_filter

scenario 'crmsync_filter $arg_test: only the test group is synced; the rest is stored' => sub {
    my ($ng, $sb) = start(wa => 'crmsync_filter $arg_test;');
    my ($st, $body) = $ng->deliver(Crmsync::Nginx->whatsapp_request('/hooks/wa', $WaSecret,
                                                                     '4915112345614', 'Not Tested'));
    is $st, 200, 'acknowledged without ?test';
    like $body, qr/"stored":1/, 'stored';
    wa($ng, '4915112345615', 'Not Either', path => '/hooks/wa?test=0');
    drained($ng, 'filtered');
    is scalar @{contacts($sb)}, 0, 'never synced';
    is scalar @{writes($sb)}, 0, 'no write reached HubSpot';
    is $ng->sql("SELECT count(*) FROM job WHERE provider = 'whatsapp'"), 2, 'both kept in the store';

    wa($ng, '4915112345616', 'In Test', path => '/hooks/wa?test=1');
    drained($ng, 'test group');
    my $c = contacts($sb);
    is scalar @$c, 1, 'the test group is synced';
    is $c->[0]{properties}{phone}, '+4915112345616', 'that one';
    no_duplicates($sb, 'filter');
};


# ---- 15: crmsync_dry_run

scenario 'crmsync_dry_run on: looked up, never written; the jobs say dry_run' => sub {
    my ($ng, $sb) = start(wa => 'crmsync_dry_run on;',
                          std => "crmsync_dry_run on;\ncrmsync_match email phone platform_id;");
    my $id = create_contact($sb, email => 'dry@example.com', firstname => 'Dora');
    $sb->flush_index;
    $sb->clear_requests;
    my $before = contact($sb, $id)->{properties};

    wa($ng, '4915112345617', 'Dry Run');
    std($ng, 'e15-1', { id => 'd', email => 'dry@example.com', name => 'Dora Dry',
                        phone => '+4915112345618' });
    drained($ng, 'dry run');
    is scalar @{writes($sb)}, 0, 'the request log has no write'
        or diag(JSON::PP->new->canonical->encode(writes($sb)));
    is scalar @{contacts($sb)}, 1, 'no contact created';
    is_deeply contact($sb, $id)->{properties}, $before, 'the existing one untouched';
    my $j = job_text($ng, "type <> 'message.status'");
    is scalar(grep { /dry_run/ } @$j), 2, 'both jobs show dry_run in crmsync_jobs'
        or diag join "\n", @$j;
    like(JSON::PP->new->canonical->encode($ng->status), qr/dry_run/, 'the status shows it');
    ok((grep { /would POST \S+/ } @$j), 'the job keeps the body it would have sent')
        or diag join "\n", @$j;
    my $log = $ng->error_log;
    like $log, qr/dry_run: would POST \S+ \(the body is in crmsync_jobs\)/,
        'the info log names the call';
    unlike $log, qr/4915112345617|dry\@example\.com|4915112345618/,
        'and no full number or email';
    no_duplicates($sb, 'dry run');
};


done_testing;

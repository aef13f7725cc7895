#!/usr/bin/env perl
# Deals (issue 11, doc/conversations.md): what t/sync/070 leaves out.
# nginx (2 workers) in front of the sandbox, respond.io events:
#
#   - the stage moves forward only; the name and the amount follow;
#   - a deal closed in HubSpot is left alone: the next event opens one;
#   - an open deal a rep made in HubSpot is taken, not doubled;
#   - a create whose answer is lost (502 after the write) is found by the
#     retry: one deal;
#   - a deal deleted in HubSpot is forgotten: a new one;
#   - round robin: a create refused and retried keeps the owner its turn
#     drew, so the next deal gets the next owner;
#   - with crmsync_owner assignee, a new deal is the assignee's, and a
#     reassignment moves the contact and its open deal to the new owner;
#   - an unknown pipeline or stage label: the action is dead (CONFIG),
#     the error names the directive and lists the valid names.
#
# CRMSYNC_SCENARIO=<regex> runs only the scenarios it matches.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use Crmsync::Nginx;
use Crmsync::Sandbox;
use Crmsync::Conv;


my $Secret = 'rio-signing-key-1';
my $J = JSON::PP->new->canonical;

my %Owner = (ana => { id => '52000001', email => 'ana@acme.example', firstName => 'Ana', lastName => 'Diaz' },
             bo  => { id => '52000002', email => 'bo@acme.example', firstName => 'Bo', lastName => 'Berg' });

my %Pipe = (id => '700100', label => 'Chat Sales',
            stages => [{ id => '700101', label => 'New Lead' },
                       { id => '700102', label => 'Demo Booked' },
                       { id => '700103', label => 'Won', isClosed => 1 },
                       { id => '700104', label => 'Lost', isClosed => 1 }]);


# ---- does the module know crmsync_deal?

{
    my $dir = tempdir(CLEANUP => 1);
    Crmsync::Nginx::write_file("$dir/token", "pat-na1-probe\n");
    my $probe = bless {
        workers => 1, main => '', prefix => $dir, port => Crmsync::Nginx::free_port(),
        owner => -1,
        http => "crmsync_zone crmsync:1m;\ncrmsync_store $dir/crmsync.db;\n"
              . "crmsync_hubspot url=http://127.0.0.1:9 token_file=$dir/token;\n",
        server => "location = /h { crmsync_webhook respondio; crmsync_secret x;\n"
                . "crmsync_deal pipeline=default stage=appointmentscheduled name=x; }\n",
    }, 'Crmsync::Nginx';
    $probe->write_conf;
    my ($rc, $out) = $probe->nginx('-t');
    plan skip_all => 'the module has no crmsync_deal yet'
        if $rc && $out =~ /unknown directive "crmsync_deal"/;
}


# ---- helpers

# nginx in front of a sandbox with the pipeline "Chat Sales"; each
# location name => its crmsync_deal line (respond.io, region DE)
sub start {
    my (%loc) = @_;
    my $sb = Crmsync::Sandbox->start(index_lag => 1);
    $sb->add_pipeline(%Pipe);
    $sb->add_owner(%$_) for values %Owner;
    my $server = '';
    for my $l (sort keys %loc) {
        $server .= "location = /hooks/$l { crmsync_webhook respondio; crmsync_secret $Secret;\n"
                 . "crmsync_default_region DE;\n$loc{$l}\n}\n";
    }
    my ($ng) = Crmsync::Nginx->with_sandbox(
        sb => $sb, workers => 2,
        http => "crmsync_batch_linger 20ms;\ncrmsync_index_lag 2s;\n", server => $server);
    return ($ng, $sb);
}

sub rio {
    my ($ng, $loc, $c, %o) = @_;
    my $type = delete $o{type} // 'contact.updated';
    my ($st, $body) = $ng->deliver(Crmsync::Conv->respondio_request("/hooks/$loc", $Secret, $type,
                                                                    contact => { %$c, %o }));
    is $st, 200, "the event to /hooks/$loc acknowledged" or diag $body;
}

sub attrs {
    my (%a) = @_;
    return [map { { name => $_, value => $a{$_} } } sort keys %a];
}

# every job ended; $dead: how many dead ones are expected
sub settled {
    my ($ng, $what, $dead) = @_;
    ok Crmsync::Conv::settled($ng, 60), "$what: every job ends"
        or diag join "\n", map { $J->encode($_) } @{$ng->jobs('state < 3 OR state = 3')};
    is $ng->sql('SELECT count(*) FROM job WHERE state = 4'), $dead // 0, "$what: dead jobs"
        or diag $ng->sql('SELECT id, kind, last_error, category FROM job WHERE state = 4');
}

sub the_contact {
    my ($sb, $e164) = @_;
    my $nat = $e164 =~ s/^\+49//r;
    my @c = grep { ($_->{properties}{hs_searchable_calculated_phone_number} // '') eq $nat }
            @{$sb->contacts};
    return $c[0];
}

sub deals_of { Crmsync::Conv::of_contact($_[0], deals => $_[1]) }

sub calls {
    my ($sb, $method, $re) = @_;
    return scalar grep { $_->{method} eq $method && $_->{path} =~ $re }
                  @{$sb->requests(limit => 100000)->{log}};
}

sub scenario {
    my ($name, $code) = @_;
    return if $ENV{CRMSYNC_SCENARIO} && $name !~ /$ENV{CRMSYNC_SCENARIO}/;
    subtest $name => sub {
        eval { $code->(); 1 } or fail("the scenario died: $@");
    };
}

my $Deal = '"name=Chat lead: $crmsync_attr_plan" amount=$crmsync_attr_budget';


scenario 'the stage moves forward only; the name and amount follow; nothing new, no call' => sub {
    my ($ng, $sb) = start(
        new  => qq{crmsync_deal "pipeline=Chat Sales" "stage=New Lead" $Deal;},
        demo => qq{crmsync_deal pipeline=700100 "stage=demo booked" $Deal;});
    my $c = { id => 9101, firstName => 'Ada', lastName => 'Berg', phone => '+4915112349101' };

    rio($ng, new => $c, custom_fields => attrs(plan => 'Pro', budget => '1200'));
    settled($ng, 'first');
    my $k = the_contact($sb, '+4915112349101') or return fail('the contact');
    my $d = deals_of($sb, $k->{id});
    is scalar @$d, 1, 'one deal';
    my $id = $d->[0]{id};
    is $d->[0]{properties}{dealstage}, '700101', 'at New Lead';
    is $d->[0]{properties}{amount}, '1200', 'the amount';
    is $d->[0]{properties}{dealname}, 'Chat lead: Pro', 'the name';

    rio($ng, demo => $c, custom_fields => attrs(plan => 'Pro', budget => '1200'));
    settled($ng, 'demo booked');
    my $o = $sb->object(deals => $id);
    is $o->{properties}{dealstage}, '700102', 'forward to Demo Booked (id, label in any case)';

    rio($ng, new => $c, custom_fields => attrs(plan => 'Team', budget => '2400'));
    settled($ng, 'back at New Lead');
    $o = $sb->object(deals => $id);
    is $o->{properties}{dealstage}, '700102', 'never backwards';
    is $o->{properties}{dealname}, 'Chat lead: Team', 'the new name';
    is $o->{properties}{amount}, '2400', 'the new amount';
    is scalar @{deals_of($sb, $k->{id})}, 1, 'still one deal';

    my $patches = calls($sb, PATCH => qr{^/crm/v3/objects/deals/});
    rio($ng, new => $c, custom_fields => attrs(plan => 'Team', budget => '2400'));
    settled($ng, 'the same again');
    is calls($sb, PATCH => qr{^/crm/v3/objects/deals/}), $patches, 'nothing changes: no PATCH';
    is $ng->sql("SELECT hold_reason FROM job WHERE kind = 2 ORDER BY id DESC LIMIT 1"),
       'unchanged', 'the action is done "unchanged"';
    ok calls($sb, GET => qr{^/crm/v3/pipelines/deals}) <= 2,
       'the pipelines are read once per worker (2)';
};


scenario 'a deal closed in HubSpot is left alone; a deal a rep made is taken; a deleted one is forgotten' => sub {
    my ($ng, $sb) = start(new => qq{crmsync_deal "pipeline=Chat Sales" "stage=New Lead" $Deal;});
    my $c = { id => 9102, firstName => 'Bea', lastName => 'Cole', phone => '+4915112349102' };

    rio($ng, new => $c, custom_fields => attrs(plan => 'Pro', budget => '100'));
    settled($ng, 'first');
    my $k = the_contact($sb, '+4915112349102') or return fail('the contact');
    my ($first) = @{deals_of($sb, $k->{id})};
    ok $first, 'a deal' or return;

    # won in HubSpot: the next event opens another, the won one stays
    $sb->ui(PATCH => "deals/$first->{id}", { properties => { dealstage => '700103' } });
    rio($ng, new => $c, custom_fields => attrs(plan => 'Pro', budget => '200'));
    settled($ng, 'after the win');
    my $won = $sb->object(deals => $first->{id});
    is $won->{properties}{dealstage}, '700103', 'the won deal stays won';
    is $won->{properties}{amount}, '100', 'and untouched';
    my @open = grep { $_->{properties}{dealstage} !~ /^70010[34]$/ } @{deals_of($sb, $k->{id})};
    is scalar @open, 1, 'one open deal';
    my $second = $open[0]{id};
    isnt $second, $first->{id}, 'a new one';

    # deleted in HubSpot: forgotten, a new one
    $sb->api(DELETE => "/crm/v3/objects/deals/$second");
    rio($ng, new => $c, custom_fields => attrs(plan => 'Pro', budget => '300'));
    settled($ng, 'after the delete');
    @open = grep { $_->{properties}{dealstage} !~ /^70010[34]$/ } @{deals_of($sb, $k->{id})};
    is scalar @open, 1, 'one open deal';
    isnt $open[0]{id}, $second, 'not the deleted one';
    is $open[0]{properties}{amount}, '300', 'with the amount';

    # a rep's open deal on another contact, made in HubSpot: taken
    my $c2 = { id => 9103, firstName => 'Cem', lastName => 'Dorn', phone => '+4915112349103' };
    rio($ng, new => $c2, custom_fields => attrs(plan => 'x'));
    settled($ng, 'the second contact');
    my $k2 = the_contact($sb, '+4915112349103') or return fail('the second contact');
    my ($auto) = @{deals_of($sb, $k2->{id})};
    # ours is deleted, and the rep gives the contact one of his
    $sb->api(DELETE => "/crm/v3/objects/deals/$auto->{id}");
    my $r = $sb->api(POST => '/crm/v3/objects/deals', {
        properties => { dealname => 'Rep deal', pipeline => '700100', dealstage => '700102' },
        associations => [{ to => { id => $k2->{id} },
                           types => [{ associationCategory => 'HUBSPOT_DEFINED', associationTypeId => 3 }] }] });
    is $r->{status}, 201, 'the rep made a deal';
    rio($ng, new => $c2, custom_fields => attrs(plan => 'Enterprise'));
    settled($ng, 'after the rep');
    my @d2 = grep { $_->{properties}{dealstage} !~ /^70010[34]$/ } @{deals_of($sb, $k2->{id})};
    is scalar @d2, 1, 'one open deal';
    is $d2[0]{id}, $r->{body}{id}, 'the rep\'s';
    is $d2[0]{properties}{dealname}, 'Chat lead: Enterprise', 'named anew';
    is $d2[0]{properties}{dealstage}, '700102', 'its later stage kept';
};


scenario 'a deal create answered 502 after the write: the retry finds it, one deal' => sub {
    my ($ng, $sb) = start(new => qq{crmsync_deal "pipeline=Chat Sales" "stage=New Lead" $Deal;});
    my $c = { id => 9104, firstName => 'Dan', lastName => 'Eck', phone => '+4915112349104' };
    $sb->fault(mode => 'commit_then_fail', status => 502, method => 'POST',
               path => '^/crm/v3/objects/deals$', count => 1);

    rio($ng, new => $c, custom_fields => attrs(plan => 'Pro'));
    settled($ng, 'the create failed after the write');
    my $k = the_contact($sb, '+4915112349104') or return fail('the contact');
    is scalar @{deals_of($sb, $k->{id})}, 1, 'one deal';
    is calls($sb, POST => qr{^/crm/v3/objects/deals$}), 1, 'one create sent';
    ok calls($sb, GET => qr{^/crm/v4/objects/contacts/$k->{id}/associations/deals}) >= 2,
       'the retry read the contact\'s deals';
    is $ng->sql("SELECT attempts FROM job WHERE kind = 2"), 2, 'done at the second attempt';
    is $ng->sql("SELECT hubspot_id FROM job WHERE kind = 2"), deals_of($sb, $k->{id})->[0]{id},
       'the deal is the action\'s';
};


scenario 'round robin: a create refused (503) keeps its turn, so the retry and the next deal split fairly' => sub {
    my ($ng, $sb) = start(rr => qq{crmsync_deal "pipeline=Chat Sales" "stage=New Lead" $Deal;\n}
                               . "crmsync_owner round_robin ana\@acme.example bo\@acme.example;");
    my $c1 = { id => 9107, firstName => 'Gus', lastName => 'Holm', phone => '+4915112349107' };
    my $c2 = { id => 9108, firstName => 'Hal', lastName => 'Ibsen', phone => '+4915112349108' };
    $sb->fault(mode => 'status', status => 503, method => 'POST',
               path => '^/crm/v3/objects/deals$', count => 1);

    rio($ng, rr => $c1, custom_fields => attrs(plan => 'Pro'));
    settled($ng, 'the first create refused once');
    is $ng->sql("SELECT attempts FROM job WHERE kind = 2"), 2, 'the deal made at the second attempt';
    rio($ng, rr => $c2, custom_fields => attrs(plan => 'Pro'));
    settled($ng, 'the second contact');

    my $k1 = the_contact($sb, '+4915112349107') or return fail('the first contact');
    my $k2 = the_contact($sb, '+4915112349108') or return fail('the second contact');
    my ($d1, $d2) = (deals_of($sb, $k1->{id}), deals_of($sb, $k2->{id}));
    is scalar @$d1, 1, 'one deal for the first';
    is scalar @$d2, 1, 'one deal for the second';
    is $d1->[0]{properties}{hubspot_owner_id}, $Owner{ana}{id}, 'the first deal is the first turn\'s (Ana), retried';
    is $d2->[0]{properties}{hubspot_owner_id}, $Owner{bo}{id}, 'the second deal is the second turn\'s (Bo)';
    is $ng->sql("SELECT n FROM turn"), 2, 'two turns taken for two deals';
    is calls($sb, POST => qr{^/crm/v3/objects/deals$}), 3, 'three creates sent, one refused';
};


scenario 'an unknown pipeline or stage: dead (CONFIG), the valid names listed' => sub {
    my ($ng, $sb) = start(pipe  => qq{crmsync_deal pipeline=Chats stage=New $Deal;},
                          stage => qq{crmsync_deal "pipeline=Chat Sales" stage=Qualified $Deal;});
    my $c = { id => 9105, firstName => 'Eli', lastName => 'Falk', phone => '+4915112349105' };

    rio($ng, pipe => $c, custom_fields => attrs(plan => 'Pro'));
    rio($ng, stage => $c, custom_fields => attrs(plan => 'Pro'));
    settled($ng, 'unknown names', 2);
    is $ng->sql("SELECT count(*) FROM job WHERE kind = 2 AND state = 4 AND category = 'CONFIG'"), 2,
       'both actions dead, category CONFIG';
    my $log = $ng->error_log;
    like $log, qr/\[error\].*crmsync_deal pipeline="Chats" is not a pipeline of portal "default"; valid: "Sales Pipeline" \(default\), "Chat Sales" \(700100\)/,
         'the pipeline: the directive, the valid ones';
    like $log, qr/\[error\].*crmsync_deal stage="Qualified" is not a stage of pipeline "Chat Sales" \(700100\) of portal "default"; valid: "New Lead" \(700101\), "Demo Booked" \(700102\), "Won" \(700103\), "Lost" \(700104\)/,
         'the stage: the directive, the valid ones';
    is scalar @{Crmsync::Conv::live($sb, 'deals')}, 0, 'no deal';
    is calls($sb, POST => qr{^/crm/v3/objects/deals}), 0, 'no deal call';
    is $ng->status->{kinds}{deal}{dead}, 2, 'crmsync_status: two dead deals';
    my ($code, $prom) = $ng->get('/crmsync/status?format=prometheus');
    like $prom, qr/^crmsync_jobs_by_kind\{kind="deal",state="dead"\} 2$/m,
         'and in Prometheus\' text, for an alert';
};


scenario 'crmsync_owner assignee: the new deal is the assignee\'s; a reassignment moves the contact and the deal' => sub {
    my ($ng, $sb) = start(rio => qq{crmsync_deal "pipeline=Chat Sales" "stage=New Lead" name=Chat when=\$crmsync_assignee;\n}
                                 . "crmsync_owner assignee;\n"
                                 . "crmsync_owner round_robin ana\@acme.example;");
    my $c = { id => 9106, firstName => 'Fay', lastName => 'Gold', phone => '+4915112349106' };

    rio($ng, rio => $c, type => 'message.received', text => 'Hello');
    settled($ng, 'unassigned');
    my $k = the_contact($sb, '+4915112349106') or return fail('the contact');
    is scalar @{deals_of($sb, $k->{id})}, 0, 'no deal while unassigned (when=$crmsync_assignee)';

    rio($ng, rio => $c, type => 'contact.assignee.updated',
        assignee => { id => 77, name => 'Bo Berg', email => 'Bo@Acme.example' });
    settled($ng, 'assigned to Bo');
    my $d = deals_of($sb, $k->{id});
    is scalar @$d, 1, 'one deal';
    is $d->[0]{properties}{hubspot_owner_id}, $Owner{bo}{id}, 'the assignee\'s, not the round robin\'s';
    is $sb->object(contacts => $k->{id})->{properties}{hubspot_owner_id}, $Owner{bo}{id},
       'the contact is Bo\'s';

    rio($ng, rio => $c, type => 'contact.assignee.updated',
        assignee => { id => 78, name => 'Ana Diaz', email => 'ana@acme.example' });
    settled($ng, 'reassigned to Ana');
    $d = deals_of($sb, $k->{id});
    is scalar @$d, 1, 'still one deal';
    is $d->[0]{properties}{hubspot_owner_id}, $Owner{ana}{id}, 'the deal follows';
    is $sb->object(contacts => $k->{id})->{properties}{hubspot_owner_id}, $Owner{ana}{id},
       'the contact follows';
    ok calls($sb, GET => qr{^/crm/v3/owners}) <= 2, 'the owners are read once per worker (2)';
};


done_testing();

#!/usr/bin/env perl
# Conversations, deals, owners, tasks and flags (issue 11): what RevOps
# sees on the contact.  Every scenario runs nginx (a master and 4
# workers) in front of the sandbox, whose search index lags 1 s behind
# the writes (crmsync_index_lag 2s), and checks the sandbox's duplicates
# report after it: no duplicate contact, deal, note or task.
#
#   1-5  respond.io's five test scenarios (../shared/guides, the
#        respond.io guide's step 7);
#   6-8  transcripts: a closed conversation as one note, a long one as
#        three, a lost answer retried without a second note (with the
#        sandbox's unique engagement property, and without);
#   9    two qualification events at once: one deal;
#   10   a low CSAT: one task per conversation;
#   11   the support flag follows the open conversations;
#   12   the idle timeout writes the transcript without a close.
#
# The contract is doc/conversations.md.  CRMSYNC_SCENARIO=<regex> runs
# only the scenarios it matches.  The suite skips (and only then) when
# the module has none of issue 11's directives yet.

use strict;
use utf8;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use List::Util qw(shuffle sum);
use Time::HiRes ();
use Encode ();
use Crmsync::Nginx;
use Crmsync::Sandbox;
use Crmsync::Conv;


our $RioSecret = 'rio-signing-key-1';
our $IcSecret = 'ic-client-secret-1';
our $WaSecret = 'wa-app-secret-1';
our $Lag = 1;                   # the sandbox's search index, s
our $IndexLag = '2s';           # crmsync_index_lag

my $J = JSON::PP->new->canonical;

# the owners and the pipeline of the portal
our %Owner = (ana => { id => '52000001', email => 'ana@acme.example', firstName => 'Ana', lastName => 'Diaz' },
              bo  => { id => '52000002', email => 'bo@acme.example', firstName => 'Bo', lastName => 'Berg' });
our %Pipe = (id => '700100', label => 'Chat Sales',
             stages => [{ id => '700101', label => 'New Lead', probability => '0.1' },
                        { id => '700102', label => 'Demo Booked', probability => '0.5' },
                        { id => '700103', label => 'Won', probability => '1.0', isClosed => 1 },
                        { id => '700104', label => 'Lost', probability => '0.0', isClosed => 1 }]);


# ---- does the module know issue 11's directives?

{
    my $dir = tempdir(CLEANUP => 1);
    Crmsync::Nginx::write_file("$dir/token", "pat-na1-probe\n");
    my %known;
    for my $d ('crmsync_transcript note;',
               'crmsync_deal pipeline=default stage=appointmentscheduled name=x;') {
        my $probe = bless {
            workers => 1, main => '', prefix => $dir, port => Crmsync::Nginx::free_port(),
            owner => -1,
            http => "crmsync_zone crmsync:1m;\ncrmsync_store $dir/crmsync.db;\n"
                  . "crmsync_hubspot url=http://127.0.0.1:9 token_file=$dir/token;\n",
            server => "location = /hooks/ic { crmsync_webhook intercom; crmsync_secret x; $d }\n",
        }, 'Crmsync::Nginx';
        $probe->write_conf;
        my ($rc, $out) = $probe->nginx('-t');
        my ($name) = $d =~ /^(\S+)/;
        $known{$name} = !($rc && $out =~ /unknown directive "\Q$name\E"/);
    }
    plan skip_all => 'the module has none of issue 11\'s directives yet (crmsync_transcript,'
                     . ' crmsync_deal); this suite is for their implementation'
        unless grep { $_ } values %known;
}


# ---- helpers

# nginx (4 workers) in front of a sandbox with index lag, the owners Ana
# and Bo and the pipeline "Chat Sales": /hooks/rio (respond.io,
# crmsync_default_region DE), /hooks/ic (Intercom) and /hooks/wa
# (WhatsApp Cloud).  rio, ic, wa: more lines for those locations; http: more http lines (maps); sb: a sandbox
# already started
sub start {
    my (%o) = @_;
    my $sb = $o{sb} // Crmsync::Sandbox->start(index_lag => $Lag, %{$o{sandbox} // {}});
    $sb->add_owner(%$_) for values %Owner;
    $sb->add_pipeline(%Pipe);
    my ($ng) = Crmsync::Nginx->with_sandbox(
        sb => $sb, workers => $o{workers} // 4,
        http => "crmsync_batch_linger 20ms;\ncrmsync_index_lag $IndexLag;\n" . ($o{http} // ''),
        server => "location = /hooks/rio { crmsync_webhook respondio; crmsync_secret $RioSecret;\n"
                . "crmsync_default_region DE;\n" . ($o{rio} // '') . "}\n"
                . "location = /hooks/ic { crmsync_webhook intercom; crmsync_secret $IcSecret;\n"
                . ($o{ic} // '') . "}\n"
                . "location = /hooks/wa { crmsync_webhook whatsapp; crmsync_secret $WaSecret;\n"
                . ($o{wa} // '') . "}\n");
    return ($ng, $sb);
}

# a respond.io event; $c: the contact
sub rio {
    my ($ng, $type, $c, %o) = @_;
    my ($st, $body) = $ng->deliver(Crmsync::Conv->respondio_request('/hooks/rio', $RioSecret, $type,
                                                                    contact => $c, %o));
    is $st, 200, "respond.io $type acknowledged" or diag $body;
    return $st;
}

# an Intercom conversation event
sub ic {
    my ($ng, $topic, $conv, $user, %o) = @_;
    my ($st, $body) = $ng->deliver(Crmsync::Conv->intercom_request('/hooks/ic', $IcSecret,
                                       topic => $topic, conv => $conv, user => $user, %o));
    is $st, 200, "Intercom $topic acknowledged" or diag $body;
    return $st;
}

sub contacts { $_[0]->contacts }
sub contact { my ($sb, $id) = @_; $sb->object(contacts => $id) }

# the live contacts whose phone is that German E.164 number
sub with_phone {
    my ($sb, $e164) = @_;
    my $nat = $e164 =~ s/^\+49//r;
    return [grep {
        my $p = $_->{properties};
        grep { ($p->{$_} // '') eq $nat }
            qw(hs_searchable_calculated_phone_number hs_searchable_calculated_mobile_number)
    } @{contacts($sb)}];
}

sub with_email {
    my ($sb, $email) = @_;
    return [grep { lc($_->{properties}{email} // '') eq lc $email } @{contacts($sb)}];
}

sub create_contact {
    my ($sb, %props) = @_;
    my $r = $sb->api(POST => '/crm/v3/objects/contacts', { properties => \%props });
    die "create: $r->{status} $r->{raw}" unless $r->{status} == 201;
    return $r->{body}{id};
}

sub deals_of { Crmsync::Conv::of_contact($_[0], deals => $_[1]) }
sub notes_of { Crmsync::Conv::of_contact($_[0], notes => $_[1]) }
sub tasks_of { Crmsync::Conv::of_contact($_[0], tasks => $_[1]) }

# the notes' bodies as plain text, oldest note first
sub note_text {
    my ($notes) = @_;
    return join "\n", map { Crmsync::Conv::strip_html($_->{properties}{hs_note_body}) }
                      sort { $a->{id} <=> $b->{id} } @$notes;
}

# the duplicates report is empty: contacts, deals, notes, tasks; and no
# contact is empty
sub no_duplicates {
    my ($sb, $what) = @_;
    my $d = Crmsync::Conv::engagement_duplicates($sb);
    is $d->{duplicate_groups}, 0, "$what: no duplicate contact"
        or diag($J->encode($d->{groups}));
    is scalar @{$d->{empty_contacts}}, 0, "$what: no empty contact";
    for my $k (qw(deal note task communication)) {
        my $r = $d->{report};
        if ($r && exists $r->{"duplicate_${k}s"}) {
            is $r->{"duplicate_${k}s"}, 0, "$what: the report shows no duplicate $k"
                or diag($J->encode($r->{"${k}_groups"}));
        }
        is $d->{own}{"duplicate_${k}s"}, 0, "$what: no duplicate $k, "
           . ($k eq 'deal' ? 'open in one pipeline' : $k eq 'communication' ? 'by key' : 'by key or by content')
            or diag($J->encode($d->{own}{"${k}_groups"}));
    }
}

# every job ended, none dead
sub settled {
    my ($ng, $what, $t) = @_;
    ok Crmsync::Conv::settled($ng, $t // 60), "$what: every job ends"
        or diag join "\n", @{job_text($ng, 'state < 3 OR state = 3')};
    is $ng->sql('SELECT count(*) FROM job WHERE state = 4'), 0, "$what: nothing dead"
        or diag $ng->sql('SELECT id, kind, match_key, last_error, category FROM job WHERE state = 4');
}

sub job_text {
    my ($ng, $where) = @_;
    return [map { $J->encode($_) } @{$ng->jobs($where)}];
}

# the request log's calls that match a method and a path
sub calls {
    my ($sb, $method, $re, $since) = @_;
    return [grep { $_->{method} eq $method && $_->{path} =~ $re }
            @{$sb->requests(limit => 100000, defined $since ? (since => $since) : ())->{log}}];
}

# a scenario: a subtest that fails, rather than ends the suite, when its
# nginx does not start (a directive not there yet) or a helper dies
sub scenario {
    my ($name, $code) = @_;
    return if $ENV{CRMSYNC_SCENARIO} && $name !~ /$ENV{CRMSYNC_SCENARIO}/;
    subtest $name => sub {
        eval { $code->(); 1 } or fail("the scenario died: $@");
    };
}

# Intercom people
sub person {
    my ($n, $name) = @_;
    my $email = lc($name =~ s/ /./r) . '@example.com';
    return { id => sprintf('65f0c0ffee%04d', $n), email => $email, name => $name };
}


# ---- the deal configuration of the respond.io guide (step 5): a deal
# in the sales pipeline when the qualification score passes 70, the
# contact to MQL, the deal's owner in turn

my $QualifyHttp = <<'EOF';
map $crmsync_attr_qualification_score $qualified {
    "~^(?:[7-9][0-9]|100)$"  1;
    default                  "";
}
EOF
my $QualifyRio = <<'EOF';
crmsync_deal "pipeline=Chat Sales" "stage=New Lead"
             "name=Chat lead, score $crmsync_attr_qualification_score" when=$qualified;
crmsync_lifecycle_on_deal marketingqualifiedlead;
crmsync_owner round_robin ana@acme.example bo@acme.example;
EOF

sub score { return [{ name => 'qualification_score', value => $_[0] },
                    { name => 'budget', value => '5k' }] }


# ---- 1, 2: respond.io's "new contact with phone only" and "existing
# contact messages again"

scenario 'respond.io 1, 2: a new number (phone only) makes one contact; the same number again updates it' => sub {
    my ($ng, $sb) = start();
    my $lena = { id => 8801, firstName => 'Lena', lastName => 'Vogel', phone => '+49 151 12345701' };

    rio($ng, 'message.received', $lena, text => 'Hi, is the Pro plan available?');
    settled($ng, 'first message');
    my $c = contacts($sb);
    is scalar @$c, 1, 'one contact';
    my $p = $c->[0]{properties};
    is $p->{phone}, '+4915112345701', 'with the phone, E.164';
    is $p->{firstname}, 'Lena', 'the first name';
    is $p->{lastname}, 'Vogel', 'the last name';
    is $p->{lifecyclestage}, 'lead', 'a lead';
    ok !defined $p->{email}, 'no email';
    my $id = $c->[0]{id};

    # the same number again, before HubSpot's search shows the contact
    rio($ng, 'message.received', $lena, text => 'And the price per seat?');
    settled($ng, 'second message');
    $c = contacts($sb);
    is scalar @$c, 1, 'still one contact';
    is $c->[0]{id}, $id, 'the same one';
    is $ng->sql("SELECT count(DISTINCT hubspot_id) FROM job WHERE provider = 'respondio'"
                . " AND hubspot_id IS NOT NULL AND hubspot_id <> ''"), 1, 'both events went to it';
    no_duplicates($sb, 'phone only, twice');
};


# ---- 3: "qualification flow completes"

scenario 'respond.io 3: qualification completes: MQL, one deal in the pipeline, owners in turn' => sub {
    my ($ng, $sb) = start(http => $QualifyHttp, rio => $QualifyRio);
    my $mia = { id => 8803, firstName => 'Mia', lastName => 'Roth', phone => '+4915112345703' };
    my $jon = { id => 8804, firstName => 'Jon', lastName => 'Ott', phone => '+4915112345704' };
    my $ute = { id => 8805, firstName => 'Ute', lastName => 'Kahl', phone => '+4915112345705' };

    # the bot asks; nothing qualifies yet
    rio($ng, 'message.received', $mia, text => 'I need 20 seats');
    settled($ng, 'first message');
    my ($m) = @{with_phone($sb, '+4915112345703')};
    ok $m, 'the contact' or return;
    is scalar @{Crmsync::Conv::live($sb, 'deals')}, 0, 'no deal before the qualification';
    is $m->{properties}{lifecyclestage}, 'lead', 'a lead';

    # the workflow sets the score: the contact is qualified
    rio($ng, 'contact.updated', { %$mia, custom_fields => score(85) });
    settled($ng, 'qualified');
    $m = contact($sb, $m->{id});
    is $m->{properties}{lifecyclestage}, 'marketingqualifiedlead', 'the contact is an MQL';
    my $d = deals_of($sb, $m->{id});
    is scalar @$d, 1, 'one deal on the contact';
    my $dp = ($d->[0] // {})->{properties} // {};
    is $dp->{pipeline}, $Pipe{id}, 'in the pipeline named by its label';
    is $dp->{dealstage}, '700101', 'at the stage named by its label';
    is $dp->{dealname}, 'Chat lead, score 85', 'named by the template';
    my %owners = map { $_->{id} => $_ } values %Owner;
    ok defined $dp->{hubspot_owner_id} && $owners{$dp->{hubspot_owner_id}},
       'owned by one of the round robin\'s owners';

    # the score changes again: the open deal is updated, not doubled
    rio($ng, 'contact.updated', { %$mia, custom_fields => score(92) });
    settled($ng, 'qualified again');
    $d = deals_of($sb, $m->{id});
    is scalar @$d, 1, 'still one deal';
    is scalar @{Crmsync::Conv::live($sb, 'deals')}, 1, 'and no other deal anywhere';

    # a second lead qualifies: a deal owned by the other owner
    rio($ng, 'contact.updated', { %$jon, custom_fields => score(75) });
    # a third one does not
    rio($ng, 'contact.updated', { %$ute, custom_fields => score(40) });
    settled($ng, 'two more leads');
    my ($j) = @{with_phone($sb, '+4915112345704')};
    ok $j, 'the second lead is a contact' or return;
    my $jd = deals_of($sb, $j->{id});
    is scalar @$jd, 1, 'the second lead has one deal';
    my $jo = ($jd->[0] // {})->{properties}{hubspot_owner_id};
    ok defined $jo && $owners{$jo}, 'owned by a round robin owner';
    isnt $jo, $dp->{hubspot_owner_id}, 'the other one: the turn went on';
    is contact($sb, $j->{id})->{properties}{lifecyclestage}, 'marketingqualifiedlead', 'an MQL too';
    my ($u) = @{with_phone($sb, '+4915112345705')};
    ok $u, 'the unqualified lead is a contact' or return;
    is scalar @{deals_of($sb, $u->{id})}, 0, 'without a deal';
    is $u->{properties}{lifecyclestage}, 'lead', 'still a lead';
    is scalar @{Crmsync::Conv::live($sb, 'deals')}, 2, 'two deals in all';
    no_duplicates($sb, 'qualification');
};


# ---- 4: "contact with both phone and email"

scenario 'respond.io 4: the flow collects the email: one contact with the phone and the email' => sub {
    my ($ng, $sb) = start();
    my $jan = { id => 8806, firstName => 'Jan', lastName => 'Hess', phone => '+4915112345706' };

    rio($ng, 'message.received', $jan, text => 'Hello');
    settled($ng, 'phone only');
    is scalar @{contacts($sb)}, 1, 'one contact, phone only';
    my $id = contacts($sb)->[0]{id};

    # the bot collected the email; the next events carry both
    rio($ng, 'contact.updated', { %$jan, email => 'Jan.Hess@Example.com' });
    rio($ng, 'message.received', { %$jan, email => 'jan.hess@example.com' }, text => 'Thanks');
    settled($ng, 'with the email');
    my $c = contacts($sb);
    is scalar @$c, 1, 'still one contact: no second one for the email';
    is $c->[0]{id}, $id, 'the first one';
    is $c->[0]{properties}{email}, 'jan.hess@example.com', 'it has the email';
    is $c->[0]{properties}{phone}, '+4915112345706', 'and the phone';
    no_duplicates($sb, 'phone and email');
};


# ---- 5: "rep assigns conversation"

scenario 'respond.io 5: the rep\'s assignment becomes the contact owner; an unknown assignee is left alone' => sub {
    my ($ng, $sb) = start(rio => "crmsync_owner assignee;\n");
    my $eva = { id => 8807, firstName => 'Eva', lastName => 'Kern', phone => '+4915112345707' };
    my $kai = { id => 8808, firstName => 'Kai', lastName => 'Lutz', phone => '+4915112345708' };

    rio($ng, 'message.received', $eva, text => 'Can someone call me?');
    settled($ng, 'unassigned');
    my ($e) = @{with_phone($sb, '+4915112345707')};
    ok $e, 'the contact' or return;
    ok !defined $e->{properties}{hubspot_owner_id}, 'no owner yet';

    rio($ng, 'contact.assignee.updated',
        { %$eva, assignee => { id => 77, name => 'Bo Berg', email => 'bo@acme.example' } });
    settled($ng, 'assigned to Bo');
    is contact($sb, $e->{id})->{properties}{hubspot_owner_id}, $Owner{bo}{id},
       'the contact owner is Bo, matched by email';

    rio($ng, 'contact.assignee.updated',
        { %$eva, assignee => { id => 78, name => 'Ana Diaz', email => 'Ana@Acme.example' } });
    settled($ng, 'reassigned to Ana');
    is contact($sb, $e->{id})->{properties}{hubspot_owner_id}, $Owner{ana}{id},
       'reassigned: the owner follows';

    # an agency's agent with no HubSpot user: logged, left unassigned
    rio($ng, 'message.received', $kai, text => 'Hi');
    rio($ng, 'contact.assignee.updated',
        { %$kai, assignee => { id => 90, name => 'Temp Agent', email => 'temp@agency.example' } });
    settled($ng, 'an assignee who is no owner');
    my ($k) = @{with_phone($sb, '+4915112345708')};
    ok $k, 'the second contact';
    ok !defined(($k // {})->{properties}{hubspot_owner_id}), 'it stays without an owner';
    is contact($sb, $e->{id})->{properties}{hubspot_owner_id}, $Owner{ana}{id}, 'Eva keeps Ana';
    unlike $ng->error_log, qr/temp\@agency\.example/, 'the email is never logged in full';
    no_duplicates($sb, 'assignment');
};


# ---- 6: a closed conversation becomes one note

scenario 'a closed conversation: one note at the close time, each message, no bot and no internal note' => sub {
    my ($ng, $sb) = start(ic => "crmsync_transcript note;\n");
    my $nora = person(61, 'Nora Lind');
    my $conv = '215000061';
    my $t0 = int(time) - 900;
    my @said = ('Hi, my order #4411 has not arrived',
                'It is #4411, placed on Monday & paid by card',
                'Thanks Nora, the parcel left the warehouse today.',
                'Great, thank you!');
    my @hidden = ('BOT: I can help with orders. What is your order number?',
                  'NOTE: VIP customer, check warehouse B2 first');

    ic($ng, 'conversation.user.created', $conv, $nora, text => $said[0], at => $t0, part_id => 1001);
    ic($ng, 'conversation.operator.replied', $conv, $nora, text => $hidden[0], at => $t0 + 10, part_id => 1002);
    ic($ng, 'conversation.user.replied', $conv, $nora, text => $said[1], at => $t0 + 60, part_id => 1003);
    ic($ng, 'conversation.admin.noted', $conv, $nora, text => $hidden[1], at => $t0 + 90, part_id => 1004);
    ic($ng, 'conversation.admin.replied', $conv, $nora, text => $said[2], at => $t0 + 120, part_id => 1005);
    ic($ng, 'conversation.user.replied', $conv, $nora, text => $said[3], at => $t0 + 180, part_id => 1006);
    settled($ng, 'the messages');
    my ($c) = @{with_email($sb, $nora->{email})};
    ok $c, 'the contact' or return;
    is scalar @{Crmsync::Conv::live($sb, 'notes')}, 0, 'no note while the conversation is open';

    my $close = Crmsync::Conv->intercom_request('/hooks/ic', $IcSecret, topic => 'conversation.admin.closed',
                                                conv => $conv, user => $nora, at => $t0 + 240, part_id => 1007);
    my ($st) = $ng->deliver($close);
    is $st, 200, 'the close acknowledged';
    settled($ng, 'the close');
    my $n = notes_of($sb, $c->{id});
    is scalar @$n, 1, 'one note on the contact';
    my $note = $n->[0] // { properties => {} };
    is Crmsync::Conv::ms($note->{properties}{hs_timestamp}), ($t0 + 240) * 1000, 'timestamped at the close';
    my $text = note_text($n);
    my $pos = -1;
    for my $s (@said) {
        my $at = index $text, $s;
        ok $at >= 0, "it has \"$s\"" or diag $text;
        ok $at > $pos, 'in the order of the conversation';
        $pos = $at;
    }
    unlike $text, qr/\Q$_\E/, 'it leaves out "' . substr($_, 0, 20) . '..."' for @hidden;
    like $note->{properties}{crmsync_key} // '', qr/^note:intercom:$conv:/, 'it carries its key';

    # Intercom retries the close (the same notification), then a second
    # close comes: nothing new to write
    ($st) = $ng->deliver($close);
    is $st, 200, 'the same close again: acknowledged';
    ic($ng, 'conversation.admin.closed', $conv, $nora, at => $t0 + 300, part_id => 1008);
    settled($ng, 'closed again');
    is scalar @{notes_of($sb, $c->{id})}, 1, 'still one note';

    # she writes again: the conversation opens; its next close writes
    # only what is new
    ic($ng, 'conversation.user.replied', $conv, $nora, text => 'One more question: returns?',
       at => $t0 + 400, part_id => 1009);
    ic($ng, 'conversation.admin.closed', $conv, $nora, at => $t0 + 460, part_id => 1010);
    settled($ng, 'reopened and closed');
    $n = notes_of($sb, $c->{id});
    is scalar @$n, 2, 'a second note for the reopened conversation';
    my ($second) = grep { $_->{id} ne $note->{id} } @$n;
    my $t2 = Crmsync::Conv::strip_html(($second // {})->{properties}{hs_note_body});
    like $t2, qr/One more question: returns\?/, 'with the new message';
    unlike $t2, qr/\Q$said[0]\E/, 'and not the ones already written';
    no_duplicates($sb, 'closed conversation');
};


# respond.io's messages carry no conversation id: the conversation is the
# contact's number (doc/conversations.md), and so is its close
scenario 'respond.io: the resolved conversation is one note, on the contact and on its open deal, without the bot' => sub {
    my ($ng, $sb) = start(http => $QualifyHttp, rio => "crmsync_transcript note;\n$QualifyRio");
    my $ole = { id => 8810, firstName => 'Ole', lastName => 'Berg', phone => '+4915112345710' };
    my $rep = { id => 77, name => 'Bo Berg', email => 'bo@acme.example' };
    my $t0 = int(time) - 600;
    my @said = ('Hi, we need a quote for 20 seats', 'Hi Ole, I am Bo. Annual or monthly billing?', 'Annual, please');
    my $bot = 'Thanks! On a scale of 1 to 5, how urgent is it?';

    rio($ng, 'message.received', $ole, text => $said[0], ts => $t0);
    rio($ng, 'message.sent', $ole, text => $bot, ts => $t0 + 5);
    rio($ng, 'contact.updated', { %$ole, custom_fields => score(88) }, ts => $t0 + 30);
    rio($ng, 'message.sent', $ole, text => $said[1], user => $rep, ts => $t0 + 60);
    rio($ng, 'message.received', $ole, text => $said[2], ts => $t0 + 90);
    settled($ng, 'the conversation');
    my ($c) = @{with_phone($sb, '+4915112345710')};
    ok $c, 'the contact' or return;
    my $d = deals_of($sb, $c->{id});
    is scalar @$d, 1, 'its deal' or return;
    is scalar @{Crmsync::Conv::live($sb, 'notes')}, 0, 'no note before the close';

    rio($ng, 'conversation.closed', $ole, ts => $t0 + 120,
        conv => { closedTime => $t0 + 120, closedBy => $rep, closedBySource => 'user', category => 'Sales' });
    settled($ng, 'resolved');
    my $n = notes_of($sb, $c->{id});
    is scalar @$n, 1, 'one note on the contact';
    is_deeply Crmsync::Conv::assoc_ids($n->[0] // {}, 'deals'), [$d->[0]{id}], 'and on the open deal';
    is Crmsync::Conv::ms(($n->[0] // {})->{properties}{hs_timestamp}), ($t0 + 120) * 1000, 'at the close';
    my $text = note_text($n);
    like $text, qr/\Q$_\E/, "it has \"$_\"" for @said;
    unlike $text, qr/\Q$bot\E/, 'not the bot';
    no_duplicates($sb, 'respond.io transcript');
};


# ---- 7: 150,000 characters become three notes

scenario 'a 150,000-character conversation becomes three notes, nothing lost' => sub {
    my ($ng, $sb) = start(ic => "crmsync_transcript note;\n");
    my $ida = person(71, 'Ida Lang');
    my $conv = '215000071';
    srand 71;
    my @words = qw(delivery invoice Grüße straße € parcel warehouse refund order tracking number
                   Lieferung Rechnung ticket café naïve status update address customer);
    my @texts;
    for my $i (1 .. 100) {
        my $s = sprintf 'Message %03d:', $i;
        $s .= ' ' . $words[int rand @words] while length $s < 1500;
        push @texts, substr($s, 0, 1499) . '.';
    }
    is sum(map { length } @texts), 150_000, '150,000 characters in 100 messages';
    # within the default idle time (30 min) of the messages' times
    my $t0 = int(time) - 1100;
    my @refused;
    for my $i (0 .. $#texts) {
        my $topic = $i == 0 ? 'conversation.user.created'
                  : $i % 2 ? 'conversation.admin.replied' : 'conversation.user.replied';
        my ($st, $body) = $ng->deliver(Crmsync::Conv->intercom_request('/hooks/ic', $IcSecret,
            topic => $topic, conv => $conv, user => $ida, text => $texts[$i],
            at => $t0 + 10 * $i, part_id => 7000 + $i));
        push @refused, "$i: $st $body" unless $st == 200;
    }
    is scalar @refused, 0, 'the 100 messages acknowledged' or diag join "\n", @refused;
    ic($ng, 'conversation.admin.closed', $conv, $ida, at => $t0 + 1050, part_id => 7999);
    settled($ng, 'the close', 90);
    my ($c) = @{with_email($sb, $ida->{email})};
    ok $c, 'the contact' or return;
    my $n = notes_of($sb, $c->{id});
    is scalar @$n, 3, 'three notes';
    ok !(grep { length($_->{properties}{hs_note_body} // '') > 65536 } @$n),
       'each within HubSpot\'s 65,536 characters';
    is scalar(grep { (Crmsync::Conv::ms($_->{properties}{hs_timestamp}) // 0) == ($t0 + 1050) * 1000 } @$n), 3,
       'each timestamped at the close';
    my %keys = map { ($_->{properties}{crmsync_key} // '') => 1 } @$n;
    is scalar(grep { length } keys %keys), 3, 'each with a key of its own';
    my $text = note_text($n);
    my @missing = grep { index($text, $_) < 0 } @texts;
    is scalar @missing, 0, 'every message is there, whole (none cut, no character lost)'
        or diag 'missing: ' . join ', ', map { substr $_, 0, 12 } @missing;
    my @twice = grep { my $t = $_; (() = $text =~ /\Q$t\E/g) > 1 } @texts[0, 33, 50, 66, 99];
    is scalar @twice, 0, 'none twice';
    my $pos = -1;
    my $ordered = 1;
    for my $t (@texts) { my $at = index $text, $t; $ordered = 0 if $at < $pos; $pos = $at }
    ok $ordered, 'in their order';
    no_duplicates($sb, '150,000 characters');
};


# ---- 8: a lost answer to the note's create, retried

# turns the sandbox's unique engagement properties on or off, and says
# what the sandbox does now: a unique property on notes is accepted (1)
# or refused (0)
# a note's create, single or batch, on the v3 or a dated path (not a
# search, not the crmsync_key property's create)
our $NoteCreate = '^/crm/(?:v3/objects|objects/\d{4}-\d\d)/notes(?:/batch/create)?$';

sub engagement_unique {
    my ($sb, $on) = @_;
    eval { $sb->config(engagement_unique => $on ? 'on' : 'off') };
    my $r = $sb->api(POST => '/crm/v3/properties/notes', {
        name => 'crmsync_probe_unique', label => 'probe', type => 'string', fieldType => 'text',
        groupName => 'noteinformation', hasUniqueValue => JSON::PP::true() });
    return 0 unless $r->{status} == 201;
    $sb->api(DELETE => '/crm/v3/properties/notes/crmsync_probe_unique');
    return 1;
}

for my $unique (1, 0) {
    my $mode = $unique ? 'the portal accepts a unique crmsync_key' : 'a plain crmsync_key, found by search';
    scenario "a close whose note create answers 502, or resets, after the write: no second note ($mode)" => sub {
        my $sb = Crmsync::Sandbox->start(index_lag => $Lag, engagement_unique => $unique);
        is engagement_unique($sb, $unique), $unique,
           'the sandbox ' . ($unique ? 'accepts' : 'refuses') . ' unique properties on notes'
            or return;
        my ($ng) = start(sb => $sb, ic => "crmsync_transcript note;\n");
        my $n = 80 + $unique;
        my %faults = (502 => { mode => 'commit_then_fail', status => 502 },
                      reset => { mode => 'commit_then_fail', then => 'reset' });
        for my $f (sort keys %faults) {
            my $who = person($n++, "Lost Answer$f$unique");
            my $conv = "2150008$unique" . ($f eq 'reset' ? 1 : 2);
            my $t0 = int(time) - 600;
            ic($ng, 'conversation.user.created', $conv, $who, text => "Where is my refund? ($f)", at => $t0);
            ic($ng, 'conversation.admin.replied', $conv, $who, text => 'It was sent yesterday.', at => $t0 + 30);
            settled($ng, "$f: the messages");
            my ($c) = @{with_email($sb, $who->{email})};
            ok $c, "$f: the contact" or next;
            my $since = $sb->requests(limit => 0)->{last_seq};
            $sb->fault(%{$faults{$f}}, method => 'POST', path => $NoteCreate, count => 1);
            ic($ng, 'conversation.admin.closed', $conv, $who, at => $t0 + 60);
            settled($ng, "$f: the close", 60);
            my $notes = notes_of($sb, $c->{id});
            is scalar @$notes, 1, "$f: one note";
            like note_text($notes), qr/Where is my refund\?.*It was sent yesterday\./s, "$f: the whole transcript";
            my $creates = calls($sb, 'POST', qr{$NoteCreate}, $since);
            is scalar(grep { $_->{fault} } @$creates), 1, "$f: the fault was met";
            if ($unique) {
                ok scalar(grep { !$_->{fault} && $_->{status} == 409 } @$creates),
                   "$f: the create sent again met the unique key (409)";
                my $id = ($notes->[0] // {})->{id} // 'none';
                ok scalar @{calls($sb, 'PATCH', qr{/notes/$id$}, $since)}, "$f: and patched the note it names";
            } else {
                is scalar(grep { !$_->{fault} } @$creates), 0,
                   "$f: no create sent again: the search found the note after the index lag";
                ok scalar @{calls($sb, 'POST', qr{/objects/(?:[0-9]{4}-[0-9]{2}/)?notes/search$}, $since)}, "$f: it searched";
            }
            $sb->clear_faults;
        }
        no_duplicates($sb, 'lost answers');
    };
}


# ---- 9: two qualification events at once

scenario 'two qualification events at once, for each of 11 contacts on 4 workers: one deal each, owners in turn' => sub {
    my ($ng, $sb) = start(http => $QualifyHttp, rio => $QualifyRio);
    my $known = create_contact($sb, firstname => 'Old', lastname => 'Lead', phone => '+49 151 12345900');
    $sb->flush_index;
    my @people = map { { id => 8900 + $_, firstName => "Lead$_", lastName => 'Race',
                         phone => sprintf('+49151123459%02d', $_) } } 0 .. 10;
    my @reqs;
    for my $p (@people) {
        for my $score (80, 95) {
            push @reqs, Crmsync::Conv->respondio_request('/hooks/rio', $RioSecret, 'contact.updated',
                                                         contact => { %$p, custom_fields => score($score) });
        }
    }
    srand 9;
    my $r = $ng->send_all([shuffle @reqs], 8);
    is $r->{ok}, 22, 'all 22 acknowledged' or diag $J->encode($r->{statuses});
    settled($ng, 'the race', 90);
    my $c = contacts($sb);
    is scalar @$c, 11, '11 contacts (one was there before)';
    my %per;
    for my $p (@people) {
        my ($x) = @{with_phone($sb, $p->{phone} =~ s/ //gr)};
        $per{$p->{phone}} = $x ? scalar @{deals_of($sb, $x->{id})} : -1;
    }
    is scalar(grep { $_ == 1 } values %per), 11, 'each contact has one deal'
        or diag $J->encode(\%per);
    is scalar @{deals_of($sb, $known)}, 1, 'the contact HubSpot had got one too';
    my $deals = Crmsync::Conv::live($sb, 'deals');
    is scalar @$deals, 11, '11 deals in all';
    my %by;
    $by{$_->{properties}{hubspot_owner_id} // 'none'}++ for @$deals;
    is scalar(grep { $by{$_} } map { $_->{id} } values %Owner), 2, 'both owners got deals';
    ok abs(($by{$Owner{ana}{id}} // 0) - ($by{$Owner{bo}{id}} // 0)) <= 1,
       'in turn across the workers: 6 and 5' or diag $J->encode(\%by);
    no_duplicates($sb, 'concurrent qualification');
};


# ---- 10: a low CSAT

scenario 'a low CSAT gives one task; a second rating of the conversation no second task' => sub {
    my ($ng, $sb) = start(
        http => "map \$crmsync_csat \$low_csat {\n    \"~^[0-2]\$\"  1;\n    default  \"\";\n}\n",
        ic => "crmsync_task when=\$low_csat \"subject=Low CSAT follow-up: contact within 24 hours\""
            . " due=24h;\n");
    my $tom = person(101, 'Tom Wolf');
    my $lia = person(102, 'Lia Berg');
    my $t0 = int(time) - 300;

    ic($ng, 'conversation.user.created', '215000101', $tom, text => 'My invoice is wrong', at => $t0);
    ic($ng, 'conversation.admin.closed', '215000101', $tom, at => $t0 + 60);
    ic($ng, 'conversation.rating.added', '215000101', $tom, at => $t0 + 120,
       rating => { rating => 2, remark => 'Slow and unhelpful', created_at => $t0 + 120 });
    settled($ng, 'a rating of 2');
    my ($c) = @{with_email($sb, $tom->{email})};
    ok $c, 'the contact' or return;
    my $t = tasks_of($sb, $c->{id});
    is scalar @$t, 1, 'one task on the contact';
    my $tp = ($t->[0] // {})->{properties} // {};
    is $tp->{hs_task_subject}, 'Low CSAT follow-up: contact within 24 hours', 'its subject';
    is Crmsync::Conv::ms($tp->{hs_timestamp}), ($t0 + 120 + 86400) * 1000, 'due 24 hours after the rating';
    isnt $tp->{hs_task_status} // '', 'COMPLETED', 'open';

    # the customer changes the rating: the same conversation
    ic($ng, 'conversation.rating.added', '215000101', $tom, at => $t0 + 180,
       rating => { rating => 1, remark => 'Still wrong', created_at => $t0 + 180 });
    # a good rating of another conversation
    ic($ng, 'conversation.user.created', '215000102', $tom, text => 'Thanks for fixing it', at => $t0 + 200);
    ic($ng, 'conversation.rating.added', '215000102', $tom, at => $t0 + 240,
       rating => { rating => 5, remark => 'Great', created_at => $t0 + 240 });
    # another customer's low rating
    ic($ng, 'conversation.user.created', '215000103', $lia, text => 'Nobody answers', at => $t0 + 200);
    ic($ng, 'conversation.rating.added', '215000103', $lia, at => $t0 + 250,
       rating => { rating => 1, created_at => $t0 + 250 });
    settled($ng, 'more ratings');
    is scalar @{tasks_of($sb, $c->{id})}, 1, 'still one task for the first customer';
    my ($l) = @{with_email($sb, $lia->{email})};
    is scalar @{$l ? tasks_of($sb, $l->{id}) : []}, 1, 'the other customer has hers';
    is scalar @{Crmsync::Conv::live($sb, 'tasks')}, 2, 'two tasks in all';
    no_duplicates($sb, 'CSAT');
};


# ---- 11: the support flag

scenario 'open_support_ticket is true while a support conversation is open, false when none is' => sub {
    my ($ng, $sb) = start(
        http => "map \$crmsync_attr_ticket_type \$support_conv {\n    support  1;\n    default  \"\";\n}\n",
        ic => "crmsync_flag open_support_ticket when=\$support_conv;\n");
    my $ben = person(111, 'Ben Fuchs');
    my $ava = person(112, 'Ava Stein');
    my %support = (attrs => { ticket_type => 'support', priority => 'high' });
    my $t0 = int(time) - 300;
    my $flag = sub {
        my ($who) = @_;
        my ($c) = @{with_email($sb, $who->{email})};
        return $c ? ($c->{properties}{open_support_ticket} // 'unset') : 'no contact';
    };

    ic($ng, 'conversation.user.created', '215000111', $ben, text => 'The app crashes', at => $t0, %support);
    settled($ng, 'a support conversation opens');
    is $flag->($ben), 'true', 'set while it is open';

    ic($ng, 'conversation.user.created', '215000112', $ben, text => 'And login fails', at => $t0 + 10, %support);
    settled($ng, 'a second one opens');
    is $flag->($ben), 'true', 'still set';

    ic($ng, 'conversation.admin.closed', '215000111', $ben, at => $t0 + 60, %support);
    settled($ng, 'the first closes');
    is $flag->($ben), 'true', 'still set: the other one is open';

    ic($ng, 'conversation.admin.closed', '215000112', $ben, at => $t0 + 90, %support);
    settled($ng, 'the second closes');
    is $flag->($ben), 'false', 'cleared: no open support conversation';

    # a sales conversation does not set it
    ic($ng, 'conversation.user.created', '215000113', $ava, text => 'Pricing for 10 seats?', at => $t0,
       attrs => { ticket_type => 'sales' });
    settled($ng, 'a sales conversation');
    isnt $flag->($ava), 'true', 'not set by a sales conversation';
    my $prop = $sb->api(GET => '/crm/v3/properties/contacts/open_support_ticket');
    is $prop->{status}, 200, 'the property was made at first use';
    is(($prop->{body} // {})->{type}, 'bool', 'a boolean');
    no_duplicates($sb, 'support flag');
};


# ---- 12: the idle timeout

scenario 'crmsync_transcript_idle 2s: the transcript is written without a close, once' => sub {
    my ($ng, $sb) = start(ic => "crmsync_transcript note;\ncrmsync_transcript_idle 2s;\n");
    my $pia = person(121, 'Pia Krause');
    my $conv = '215000121';
    # the messages' times are their arrival: the idle time counts from
    # either
    my $t0 = int(time);
    ic($ng, 'conversation.user.created', $conv, $pia, text => 'Do you ship to Austria?', at => $t0);
    my $last = int(time);
    ic($ng, 'conversation.admin.replied', $conv, $pia, text => 'Yes, in 3 to 5 days.', at => $last);
    settled($ng, 'the messages');
    my ($c) = @{with_email($sb, $pia->{email})};
    ok $c, 'the contact' or return;
    my $n;
    ok $ng->wait_for(sub { $n = notes_of($sb, $c->{id}); @$n }, 20, 0.2),
       'a note comes without a close';
    is scalar @$n, 1, 'one note';
    like note_text($n), qr/Do you ship to Austria\?.*Yes, in 3 to 5 days\./s, 'with the conversation';
    cmp_ok Crmsync::Conv::ms($n->[0]{createdAt}) // 0, '>=', ($last + 2) * 1000,
           'written once 2 s passed without a message';

    # the conversation is closed later: nothing unwritten, no second note
    ic($ng, 'conversation.admin.closed', $conv, $pia, at => int time);
    settled($ng, 'a late close');
    is scalar @{notes_of($sb, $c->{id})}, 1, 'still one note';
    no_duplicates($sb, 'idle');
};


scenario 'crmsync_flag idle=2s: a chat that never closes clears its flag once quiet; a message keeps it, a later one sets it again' => sub {
    my ($ng, $sb) = start(rio => "crmsync_flag in_chat when=1 idle=2s;\n");
    my $ole = { id => 8822, firstName => 'Ole', lastName => 'Berg', phone => '+49 151 12345722' };
    my $flag = sub {
        my ($c) = @{with_phone($sb, '+4915112345722')};
        return $c ? ($c->{properties}{in_chat} // 'unset') : 'no contact';
    };

    rio($ng, 'message.received', $ole, text => 'Is my order on its way?');
    settled($ng, 'a first message');
    is $flag->(), 'true', 'set by the message';

    # time has to pass here: the idle time is what is tested
    Time::HiRes::sleep(1.2);
    my $kept = Time::HiRes::time();
    rio($ng, 'message.received', $ole, text => 'Order 1042, placed Monday.');
    settled($ng, 'a second message within 2 s');
    is $flag->(), 'true', 'still set';

    ok $ng->wait_for(sub { $flag->() eq 'false' }, 20, 0.1), 'cleared without a close';
    cmp_ok Time::HiRes::time(), '>=', $kept + 2,
           'not before 2 s after the second message: each message keeps it';
    ok Crmsync::Conv::settled($ng, 20), 'the close action ends';
    is $ng->sql("SELECT count(*) FROM job WHERE type = 'flag.idle' AND state = 5"), 1,
       'one close, by the idle sweep';
    is $ng->sql('SELECT count(*) FROM flag'), 0, 'the store holds no open flag';
    is $ng->status->{kinds}{flag}{dead}, 0, 'no dead flag action';

    rio($ng, 'message.received', $ole, text => 'Any news?');
    settled($ng, 'a message after the quiet');
    is $flag->(), 'true', 'set again';
    is scalar @{calls($sb, PATCH => qr{^/crm/v3/objects/contacts/})}, 3,
       'three writes of the flag: true, false, true (others unchanged, not sent)';
    no_duplicates($sb, 'idle flag');
};


# ---- communications

scenario 'WhatsApp with crmsync_transcript communication: each message one WHATS_APP communication, once' => sub {
    my ($ng, $sb) = start(wa => "crmsync_transcript communication;\ncrmsync_transcript_idle 2s;\n");
    my @texts = ('Hallo, ist das Paket schon unterwegs?', 'Bestellnummer 4411', 'Danke, schönen Tag noch');
    my $ts = int time;
    for my $i (0 .. $#texts) {
        # Crmsync::Nginx encodes characters as they come: UTF-8 bytes in
        my ($st, $body) = $ng->deliver(Crmsync::Nginx->whatsapp_request('/hooks/wa', $WaSecret, '4915112345720',
            Encode::encode_utf8('Rosa Kühn'), id => "wamid.comm-$i", text => Encode::encode_utf8($texts[$i]),
            ts => $ts + $i));
        is $st, 200, "WhatsApp message $i acknowledged" or diag $body;
    }
    settled($ng, 'the messages');
    my ($c) = @{with_phone($sb, '+4915112345720')};
    ok $c, 'the contact' or return;
    my $m;
    ok $ng->wait_for(sub { $m = Crmsync::Conv::of_contact($sb, communications => $c->{id}); @$m >= 3 }, 20, 0.2),
       'communications come once the conversation is idle';
    is scalar @$m, 3, 'one per message';
    is scalar(grep { ($_->{properties}{hs_communication_channel_type} // '') eq 'WHATS_APP' } @$m), 3,
       "with HubSpot's channel type WHATS_APP";
    my %at = map { (Crmsync::Conv::strip_html($_->{properties}{hs_communication_body}) // '')
                   => Crmsync::Conv::ms($_->{properties}{hs_timestamp}) } @$m;
    for my $i (0 .. $#texts) {
        my ($body) = grep { index($_, $texts[$i]) >= 0 } keys %at;
        ok defined $body, "message $i is one";
        is $at{$body // ''}, ($ts + $i) * 1000, 'at its own time';
    }
    is scalar @{Crmsync::Conv::live($sb, 'notes')}, 0, 'and no note';

    # she writes again (WhatsApp delivers it twice): only that one is new
    my $again = Crmsync::Nginx->whatsapp_request('/hooks/wa', $WaSecret, '4915112345720',
                                                 Encode::encode_utf8('Rosa Kühn'),
                                                 id => 'wamid.comm-3', text => 'Noch eine Frage', ts => $ts + 10);
    is(($ng->deliver($again))[0], 200, 'a fourth message') for 1, 2;
    ok $ng->wait_for(sub { $m = Crmsync::Conv::of_contact($sb, communications => $c->{id}); @$m >= 4 }, 20, 0.2),
       'written after the idle time';
    settled($ng, 'the fourth');
    $m = Crmsync::Conv::of_contact($sb, communications => $c->{id});
    is scalar @$m, 4, 'four communications: the first three not again, the fourth once';
    no_duplicates($sb, 'communications');
};


done_testing;

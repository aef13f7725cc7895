# The conversation directives with good and bad values: crmsync_transcript,
# crmsync_transcript_idle, crmsync_transcript_authors,
# crmsync_transcript_when, crmsync_deal, crmsync_lifecycle_on_deal,
# crmsync_owner, crmsync_task and crmsync_flag; a bad value fails the
# configuration with an [emerg] that names the directive, and so does any
# of them in a webhook location without crmsync_store.  The variables
# $crmsync_conversation_id, $crmsync_assignee, $crmsync_csat,
# $crmsync_channel and $crmsync_attr_<name> are read through add_header.
# After the blocks, one nginx with a store receives Standard Webhooks,
# respond.io, Intercom and WhatsApp deliveries, and what they leave in the
# store is read back with sqlite3 (doc/conversations.md): the action jobs
# (kind, parent, state, hold_reason, keys, payload), the messages kept or
# left out by author, the conversations, and nothing for a filtered or a
# repeated delivery.  The HubSpot URL is a closed local port and the batch
# linger an hour: nothing syncs, so every job stays as ingest left it.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;
use Crmsync::StoreBlocks;
use Crmsync::Nginx;
use File::Temp qw(tempdir);
use JSON::PP ();


our $StdSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
our $RioSecret = 'rio-signing-key-1';
our $H;

# a configuration error: the level and the message on one line
sub emerg { my $m = shift; return qr/\[emerg\] [^\n]*\Q$m\E/ }

# a Standard Webhooks POST of {type, data} with webhook-id $id, signed now
sub std {
    my ($id, $type, $data, $uri) = @_;
    my $body = JSON::PP->new->canonical->encode(
        { type => $type, timestamp => int(time), data => $data });
    my $ts = time;
    $H = "webhook-id: $id\nwebhook-timestamp: $ts\nwebhook-signature: "
         . standard_sig($StdSecret, $id, $ts, $body)
         . "\nContent-Type: application/json";
    return "POST " . ($uri // '/hooks/std') . "\n$body";
}

# a respond.io POST (x-webhook-signature), the shapes of t/016
our $RioContact = '"contact":{"id":1234,"firstName":"Ana","lastName":"Silva",'
    . '"email":"Ana@Example.com","phone":"+60123456789","countryCode":"MY",'
    . '"assignee":{"id":77,"name":"Rep One","email":"rep@example.com"},'
    . '"custom_fields":[{"name":"qualification_score","value":87},'
    . '{"name":"budget","value":"5k"}]}';
our $RioReceived = '{"event_type":"message.received","timestamp":1700000000,'
    . "$RioContact,"
    . '"channel":{"id":5,"name":"WhatsApp","source":"whatsapp"},'
    . '"message":{"channelMessageId":998877,"contactId":1234,'
    . '"traffic":"incoming","message":{"type":"text",'
    . '"text":"Hi there, I want a quote"},"timestamp":1700000001}}';

sub rio {
    my ($body, $uri) = @_;
    $H = "x-webhook-signature: " . respondio_sig($RioSecret, $body)
         . "\nContent-Type: application/json";
    return "POST " . ($uri // '/hooks/rio') . "\n$body";
}

sub exactly { my $s = shift; return qr/\A\Q$s\E\z/ }
our $Stored = exactly('{"status":"accepted","events":1,"stored":1,"duplicate":false}' . "\n");

Crmsync::StoreBlocks::install();

no_shuffle();
run_tests();

store_tests();

# ---------------------------------------------------------------------
# what deliveries leave in the store

sub store_tests {
    my $prefix = tempdir(CLEANUP => !$ENV{CRMSYNC_KEEP});
    Crmsync::Nginx::write_file("$prefix/token",
                               "pat-na1-00000000-0000-0000-0000-000000000000\n");

    my $server = <<'CONF';
        location = /hooks/std {
            crmsync_webhook standard;
            crmsync_secret STDSECRET;
            crmsync_transcript note;
            crmsync_transcript_idle 10m;
            crmsync_deal pipeline=Sales stage=Qualified "name=$crmsync_attr_company: chat lead" amount=$crmsync_attr_amount when=$crmsync_attr_qualified;
            crmsync_lifecycle_on_deal marketingqualifiedlead;
            crmsync_owner assignee;
            crmsync_owner round_robin ana@acme.example Bo@Acme.example;
            crmsync_task when=$low_csat "subject=Low CSAT follow-up: contact within 24 hours";
            crmsync_flag open_support_ticket when=$crmsync_attr_support idle=2h;
        }
        location = /hooks/filt {
            crmsync_webhook standard;
            crmsync_secret STDSECRET;
            crmsync_filter $arg_go;
            crmsync_transcript note;
            crmsync_deal pipeline=1234 stage=5678 name=Lead when=1;
            crmsync_flag open_support_ticket when=1;
        }
        location = /hooks/always {
            crmsync_webhook standard;
            crmsync_secret STDSECRET;
            crmsync_transcript communication;
            crmsync_transcript_when always;
            crmsync_transcript_authors contact agent bot;
            crmsync_task when=1 subject=$crmsync_channel due=1h owner=bo@acme.example;
        }
        location = /hooks/rio {
            crmsync_webhook respondio;
            crmsync_secret RIOSECRET;
            crmsync_transcript note;
            crmsync_deal pipeline=Sales stage=Qualified "name=$crmsync_channel lead" when=$crmsync_attr_qualification_score;
            crmsync_owner assignee;
        }
        location = /hooks/ic {
            crmsync_webhook intercom;
            crmsync_secret test_client_secret;
            crmsync_transcript note;
            crmsync_owner assignee;
            crmsync_flag open_support_ticket when=1;
        }
        location = /hooks/wa {
            crmsync_webhook whatsapp;
            crmsync_secret wa-app-secret-1;
            crmsync_transcript communication;
        }
        location = /crmsync/status {
            crmsync_status;
        }
CONF
    $server =~ s/STDSECRET/$StdSecret/g;
    $server =~ s/RIOSECRET/$RioSecret/g;

    my $ng = Crmsync::Nginx->start(workers => 1, prefix => $prefix,
                                   http => <<"CONF", server => $server);
    crmsync_store $prefix/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$prefix/token;
    crmsync_batch_linger 1h;
    map \$crmsync_csat \$low_csat {
        ~^[0-2]\$  1;
        default   0;
    }
CONF

    my $json = JSON::PP->new->canonical;
    my $ok = '{"status":"accepted","events":1,"stored":1,"duplicate":false}' . "\n";

    # the jobs of the deliveries of id $id (or of a condition), in id
    # order: an action's delivery is its event's, "#<kind>.<n>" added
    my $jobs = sub {
        my ($id, $where) = @_;
        $where //= "delivery LIKE '%$id' OR delivery LIKE '%$id#%'"
                   . " OR delivery LIKE '%$id:%'";
        my @rows = split /\n/, $ng->sql(
            "SELECT id, kind,"
            # an action without parent that the executor has taken (in
            # flight) or tried already (it waits for its conversation's
            # contact) is still the action ingest queued
            . " CASE WHEN kind > 0 AND parent IS NULL AND (state = 2"
            . " OR (state = 1 AND last_error = 'the conversation has"
            . " no contact yet')) THEN 0 ELSE state END,"
            . " coalesce(hold_reason, ''),"
            . " coalesce(parent, ''), coalesce(conv, ''), match_key,"
            . " coalesce((SELECT group_concat(key, ' ') FROM job_key"
            . " WHERE job = job.id), ''), payload"
            . " FROM job WHERE $where ORDER BY id");
        return [map {
            my @c = split /\|/, $_, 9;
            { id => $c[0], kind => $c[1], state => $c[2], reason => $c[3],
              parent => $c[4], conv => $c[5], match_key => $c[6],
              keys => $c[7],
              payload => eval { $json->decode($c[8]) } // $c[8] }
        } @rows];
    };

    # the actions of a delivery: what the contract fixes of each
    my $actions = sub {
        my ($jobs, $parent) = @_;
        return [map {
            { kind => $_->{kind}, state => $_->{state}, reason => $_->{reason},
              parent => $_->{parent}, keys => $_->{keys},
              match_key => $_->{match_key}, conv => $_->{conv},
              payload => $_->{payload} }
        } grep { $_->{kind} > 0 } @$jobs];
    };

    my $post = sub {
        my ($req) = @_;
        my ($line, $body) = split /\n/, $req, 2;
        my ($path) = $line =~ /^POST (\S+)/;
        my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1, $2) : () } split /\n/, $H;
        return $ng->post($path, $body, \%h);
    };

    my $messages = sub {
        my ($conv) = @_;
        return [map { [split /\|/, $_, 4] } split /\n/, $ng->sql(
            "SELECT mkey, author, attachments, text FROM message"
            . " WHERE conv = '$conv' ORDER BY id")];
    };

    my $conversation = sub {
        my ($conv) = @_;
        return $ng->sql("SELECT state || ' ' || human || ' ' || (due_at - opened_at)"
                        . " || ' ' || location FROM conversation"
                        . " WHERE conv = '$conv'");
    };

    # 1. a message from a qualified contact: its contact job, then the
    # deal and the flag, each held for the contact

    my $contact = { email => 'ana@example.com', first_name => 'Ana',
                    last_name => 'Diaz',
                    attributes => { company => 'Acme "Labs"', amount => '1200',
                                    qualified => 'yes', support => '1' } };

    my ($code, $body) = $post->(main::std('evt_m1', 'message.inbound',
        { contact => $contact, conversation_id => 'c1',
          assignee => 'rep@acme.example',
          message => { id => 'm1', text => 'Hi, I need a quote' } }));
    is "$code $body", "200 $ok", 'store: a qualified contact\'s message stored';

    my $j = $jobs->('evt_m1');
    is_deeply [$j->[0]{kind}, $j->[0]{state}, $j->[0]{conv}],
        [0, 0, 'standard:c1'],
        'message: the contact job first, queued, with its conversation';
    my $cid = $j->[0]{id};

    my $held = { state => 3, reason => 'contact', parent => $cid, keys => '',
                 match_key => '', conv => 'standard:c1' };
    is_deeply $actions->($j), [
        { %$held, kind => 2, payload => {
            v => 1, pipeline => 'Sales', stage => 'Qualified',
            name => 'Acme "Labs": chat lead', amount => '1200',
            lifecycle => 'marketingqualifiedlead',
            rr => ['ana@acme.example', 'bo@acme.example'],
            assignee => 'rep@acme.example', conv => 'standard:c1' } },
        { %$held, kind => 4, payload => {
            v => 1, property => 'open_support_ticket', conv => 'standard:c1',
            open => JSON::PP::true, idle => 7200000 } } ],
        'message: deal (name= and amount= from $crmsync_attr_*, the '
        . 'lifecycle, the round robin, the assignee) and flag (its '
        . 'idle= in ms), each held for the contact job, without keys; no '
        . 'owner action: the message is no assignment';

    my $kinds = $ng->status->{kinds};
    is_deeply { map { ($_ => $kinds->{$_}) } qw(contact deal flag) },
        { contact => { queued => 1, retrying => 0, in_flight => 0, held => 0, dead => 0 },
          deal => { queued => 0, retrying => 0, in_flight => 0, held => 1, dead => 0 },
          flag => { queued => 0, retrying => 0, in_flight => 0, held => 1, dead => 0 } },
        'crmsync_status counts the jobs by kind: the contact job queued, '
        . 'the deal and the flag held';
    is_deeply [sort keys %$kinds], [sort qw(contact transcript deal task flag owner)],
        'crmsync_status lists every kind';

    is_deeply $messages->('standard:c1'),
        [['standard:c1/m1', 1, 0, 'Hi, I need a quote']],
        'message: kept, keyed <conv>/<message id>, author contact';
    is $conversation->('standard:c1'), '0 0 600000 /hooks/std',
        'message: the conversation is open, not human, due '
        . 'crmsync_transcript_idle after the message arrived';

    # 2. an agent's reply is kept and makes the conversation human; a bot's
    # message and an internal note are left out (default authors)

    ($code, $body) = $post->(main::std('evt_m2', 'message.outbound',
        { contact => { email => 'ana@example.com' }, conversation_id => 'c1',
          message => { id => 'm2', author => 'agent', text => 'Sure!',
                       attachments => [{ type => 'image' }] } }));
    is "$code $body", "200 $ok", 'store: an agent\'s reply stored';

    for my $who ('bot', 'note', 'system') {
        ($code, $body) = $post->(main::std("evt_$who", 'message.outbound',
            { contact => { email => 'ana@example.com' },
              conversation_id => 'c1',
              message => { id => "m_$who", author => $who,
                           text => "from the $who" } }));
        is "$code $body", "200 $ok", "store: a $who message stored";
    }

    my $m = $messages->('standard:c1');
    is_deeply [map { [@$_[0, 1]] } @$m],
        [['standard:c1/m1', 1], ['standard:c1/m2', 2]],
        'authors: contact and agent kept, bot, note and system left out';
    is $m->[1][2], 1, 'authors: the attachment kind is kept';
    like $conversation->('standard:c1'), qr/^0 1 /,
        'authors: an agent wrote: the conversation is human';
    is_deeply $actions->($jobs->('evt_m2')), [],
        'authors: an event with no when= true adds no action';

    # 3. a low CSAT: one task, without parent (a csat event syncs no
    # contact), found through its conversation

    ($code, $body) = $post->(main::std('evt_csat', 'csat',
        { contact => { email => 'ana@example.com' }, conversation_id => 'c1',
          csat => 2 }));
    is "$code $body", "200 $ok", 'store: a CSAT of 2 stored';

    my $free = { state => 0, reason => '', parent => '',
                 keys => 'conv:standard:c1', match_key => 'conv:standard:c1',
                 conv => 'standard:c1' };
    my $a = $actions->($jobs->('evt_csat'));
    my $at = delete $a->[0]{payload}{at};
    is_deeply $a, [
        { %$free, kind => 3, payload => {
            v => 1, subject => 'Low CSAT follow-up: contact within 24 hours',
            due => 86400000, owner => 'contact_owner',
            key => 'task:standard:c1', conv => 'standard:c1' } } ],
        'csat: a task (map on $crmsync_csat), queued at once with the key '
        . 'conv:<conv>';
    ok $at && $at > 1.7e12, 'csat: the task\'s "at" is the event\'s time, ms';

    ($code, $body) = $post->(main::std('evt_csat5', 'csat',
        { contact => { email => 'ana@example.com' }, conversation_id => 'c1',
          csat => 5 }));
    is "$code $body", "200 $ok", 'store: a CSAT of 5 stored';
    is_deeply $actions->($jobs->('evt_csat5')), [],
        'csat: a CSAT of 5 adds no task';

    # 4. the conversation closes: a transcript and the flag cleared

    ($code, $body) = $post->(main::std('evt_close', 'conversation.closed',
        { contact => { email => 'ana@example.com' }, conversation_id => 'c1' }));
    is "$code $body", "200 $ok", 'store: conversation.closed stored';

    $a = $actions->($jobs->('evt_close'));
    my $closed_at = delete $a->[0]{payload}{closed_at};
    is_deeply $a, [
        { %$free, kind => 1, payload => {
            v => 1, conv => 'standard:c1', mode => 'note',
            channel => 'Standard Webhooks', upto => 0, pipeline => 'Sales',
            when => 'closed' } },
        { %$free, kind => 4, payload => {
            v => 1, property => 'open_support_ticket', conv => 'standard:c1',
            open => JSON::PP::false } } ],
        'closed: a transcript action (note, the channel, the deal\'s '
        . 'pipeline) and the flag\'s close, without parent';
    ok $closed_at && $closed_at > 1.7e12, 'closed: closed_at in ms';
    like $conversation->('standard:c1'), qr/^2 /, 'closed: the conversation is closed';

    # 5. the same delivery again: nothing more

    my $before = $ng->sql("SELECT count(*) FROM job") . ' '
                 . $ng->sql("SELECT count(*) FROM message");
    ($code, $body) = $post->(main::std('evt_m1', 'message.inbound',
        { contact => $contact, conversation_id => 'c1',
          assignee => 'rep@acme.example',
          message => { id => 'm1', text => 'Hi, I need a quote' } }));
    like $body, qr/"duplicate":true/, 'duplicate: answered as seen before';
    is $ng->sql("SELECT count(*) FROM job") . ' '
       . $ng->sql("SELECT count(*) FROM message"), $before,
        'duplicate: no job, action or message added';

    # 6. crmsync_filter: a filtered delivery leaves its contact job, done,
    # and nothing else

    ($code, $body) = $post->(main::std('evt_f0', 'message.inbound',
        { contact => { email => 'bo@example.com' }, conversation_id => 'f0',
          message => { id => 'mf0', text => 'filtered' } }, '/hooks/filt?go=0'));
    is "$code $body", "200 $ok", 'store: a filtered delivery stored';
    $j = $jobs->('evt_f0');
    is_deeply [map { [$_->{kind}, $_->{state}, $_->{reason}] } @$j],
        [[0, 5, 'filtered']],
        'filter: only the contact job, done, filtered: no action';
    is_deeply [$messages->('standard:f0'), $conversation->('standard:f0')],
        [[], ''], 'filter: no message kept, no conversation';

    ($code, $body) = $post->(main::std('evt_f1', 'message.inbound',
        { contact => { email => 'bo@example.com' }, conversation_id => 'f1',
          message => { id => 'mf1', text => 'kept' } }, '/hooks/filt?go=1'));
    is "$code $body", "200 $ok", 'store: an unfiltered delivery stored';
    $j = $jobs->('evt_f1');
    is_deeply [map { [$_->{kind}, $_->{state}, $_->{parent}] } @$j],
        [[0, 0, ''], [2, 3, $j->[0]{id}], [4, 3, $j->[0]{id}]],
        'filter: unfiltered, the contact job, its deal and its flag';
    is $j->[1]{payload}{pipeline} . ' ' . $j->[1]{payload}{stage}, '1234 5678',
        'filter: pipeline and stage ids as given';
    is scalar @{$messages->('standard:f1')}, 1, 'filter: unfiltered, the message kept';

    # 7. crmsync_transcript_when always: a transcript action per message,
    # with the channel attribute's label and HubSpot's channel type

    ($code, $body) = $post->(main::std('evt_a1', 'message.inbound',
        { contact => { email => 'cy@example.com',
                       attributes => { Channel => 'WhatsApp Business' } },
          conversation_id => 'a1',
          message => { id => 'ma1', author => 'bot', text => 'Welcome!' } },
        '/hooks/always'));
    is "$code $body", "200 $ok", 'store: a bot message stored (always)';
    $j = $jobs->('evt_a1');
    $a = $actions->($j);
    delete $a->[0]{payload}{closed_at};
    delete $a->[1]{payload}{at};
    is_deeply $a, [
        { state => 3, reason => 'contact', parent => $j->[0]{id}, keys => '',
          match_key => '', conv => 'standard:a1', kind => 1, payload => {
            v => 1, conv => 'standard:a1', mode => 'communication',
            channel => 'WhatsApp Business', channel_type => 'WHATS_APP',
            upto => 0, when => 'always' } },
        { state => 3, reason => 'contact', parent => $j->[0]{id}, keys => '',
          match_key => '', conv => 'standard:a1', kind => 3, payload => {
            v => 1, subject => 'WhatsApp Business', due => 3600000,
            owner => 'bo@acme.example', key => 'task:standard:a1',
            conv => 'standard:a1' } } ],
        'always: a transcript action for the message (communication, '
        . 'WHATS_APP from the channel attribute); the task with due= and '
        . 'owner=, its subject $crmsync_channel';
    is_deeply [map { $_->[1] } @{$messages->('standard:a1')}], [3],
        'always: the bot\'s message kept, as crmsync_transcript_authors says';

    # 8. respond.io: no conversation id on messages: the conversation is
    # the person's (respond.io's contact id); the deal's when= a custom
    # field

    ($code, $body) = $post->(main::rio($RioReceived));
    is "$code $body", "200 $ok", 'store: a respond.io message stored';
    $j = $jobs->('message.received:998877');
    my $rconv = 'respondio:contact:1234';
    is_deeply [map { [$_->{kind}, $_->{state}, $_->{parent}, $_->{conv}] } @$j],
        [[0, 0, '', $rconv], [2, 3, $j->[0]{id}, $rconv]],
        'respond.io: contact job and deal, the conversation the person\'s, '
        . '<provider>:contact:<its id>; a message is no assignment: no '
        . 'owner';
    is_deeply [$j->[1]{payload}{name}, $j->[1]{payload}{assignee}],
        ['WhatsApp lead', 'rep@example.com'],
        'respond.io: the deal\'s name from $crmsync_channel, its owner '
        . 'the contact\'s assignee';
    is_deeply $messages->($rconv),
        [["$rconv/998877", 1, 0, 'Hi there, I want a quote']],
        'respond.io: the message kept';

    # a close that names a conversation (the messages named none) still
    # closes the person's conversation

    ($code, $body) = $post->(main::rio('{"event_type":"conversation.closed",'
        . '"event_id":"rio-close-1",' . $main::RioContact . ','
        . '"conversation":{"id":777,"openedTime":1700000000,'
        . '"closedTime":1700000500,"category":"Sales","summary":"Quote"}}'));
    is "$code $body", "200 $ok", 'store: a respond.io close stored';
    $a = $actions->($jobs->('rio-close-1'));
    is_deeply [map { [$_->{kind}, $_->{payload}{conv}] }
               grep { $_->{kind} == 1 } @$a],
        [[1, $rconv]],
        'respond.io: a close naming conversation 777 writes the person\'s '
        . 'transcript';
    like $conversation->($rconv), qr/^2 /,
        'respond.io: the person\'s conversation is closed';

    # 9. Intercom: a reply, an assignment (two events), the close

    my $ic = sub {
        my ($name) = @_;
        my $b = sample("intercom/$name");
        return $ng->post('/hooks/ic', $b, {
            'content-type' => 'application/json',
            'x-hub-signature' => intercom_sig('test_client_secret', $b) });
    };
    my $iconv = 'intercom:21322009097';

    ($code, $body) = $ic->('conversation.user.replied.json');
    is $code, 200, 'store: Intercom reply stored';
    ($code, $body) = $ic->('conversation.admin.assigned.json');
    is "$code $body",
       "200 " . '{"status":"accepted","events":2,"stored":2,"duplicate":false}' . "\n",
       'store: Intercom assignment stored, two events';
    $j = $jobs->('notif_b577ea09-0998-45cf-ade1-df4d102a58ec');
    is_deeply [map { [$_->{kind}, $_->{parent}, $_->{keys}, $_->{payload}{assignee}] }
               grep { $_->{kind} == 5 } @$j],
        [[5, '', "conv:$iconv", 'tim@zulip.com']],
        'Intercom: one owner action, for the assignment (not for the '
        . 'admin\'s message that comes with it), found through the '
        . 'conversation';
    is_deeply [map { $_->[1] } @{$messages->($iconv)}], [1, 2],
        'Intercom: the contact\'s reply and the admin\'s message kept';
    like $conversation->($iconv), qr/^0 1 /, 'Intercom: assigned: human';

    ($code, $body) = $ic->('conversation.admin.closed.json');
    is "$code $body", "200 $ok", 'store: Intercom close stored';
    $a = $actions->($jobs->('notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b'));
    is_deeply [map { [$_->{kind}, $_->{keys}] } @$a],
        [[1, "conv:$iconv"], [4, "conv:$iconv"]],
        'Intercom: closed: transcript and flag (no owner: a close is no '
        . 'assignment)';
    is_deeply [$a->[0]{payload}{channel}, $a->[0]{payload}{closed_at},
               exists $a->[0]{payload}{pipeline} ? 1 : 0,
               $a->[1]{payload}{open}],
        ['Intercom', 1553291389000, 0, JSON::PP::false],
        'Intercom: the transcript at the close time, no pipeline without '
        . 'crmsync_deal; the flag cleared';

    # 10. WhatsApp: no conversations: the conversation is the phone

    my $wa = sample('whatsapp/messages_text_inbound.json');
    $wa =~ s/\n\z//;
    ($code, $body) = $ng->post('/hooks/wa', $wa, {
        'content-type' => 'application/json',
        'x-hub-signature-256' => meta_sig('wa-app-secret-1', $wa) });
    is "$code $body", "200 $ok", 'store: WhatsApp delivery stored';
    my $wconv = 'whatsapp:phone:+16505551234';
    $j = $jobs->(undef, "location = '/hooks/wa'");
    is_deeply [map { [$_->{kind}, $_->{conv}] } @$j], [[0, $wconv]],
        'WhatsApp: the contact job of conversation whatsapp:<first key>, '
        . 'no action';
    is scalar @{$messages->($wconv)}, 1, 'WhatsApp: the message kept';

    unlike $ng->error_log, qr/\[(alert|crit|emerg|error)\]/, 'store: no error';
    $ng->stop;
}

__DATA__

=== TEST 1: every conversation directive with a good value, at every level where it is allowed: nginx starts and stores a delivery
--- store_http
    crmsync_batch_linger 1h;
    crmsync_transcript communication;
    crmsync_transcript_idle 1h;
    crmsync_transcript_authors contact agent bot system note;
    crmsync_transcript_when assigned;
    crmsync_deal pipeline=default stage=appointmentscheduled name=Lead;
    crmsync_lifecycle_on_deal opportunity;
    crmsync_owner assignee;
    crmsync_owner round_robin ana@acme.example;
    crmsync_task when=$arg_task subject=Call;
    crmsync_flag open_support_ticket when=1;
--- config
    crmsync_transcript off;
    crmsync_transcript_when always;
    crmsync_deal "pipeline=Sales Pipeline" "stage=Qualified to buy" "name=$crmsync_attr_company lead" amount=$arg_amount when=$crmsync_attr_qualified;
    crmsync_task when=1 "subject=Follow up $crmsync_conversation_id" due=90m owner=Cordelia@Zulip.com;
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript note;
        crmsync_transcript_idle 45s;
        crmsync_transcript_authors agent;
        crmsync_transcript_when closed;
        crmsync_deal pipeline=1234 stage=5678 name=$crmsync_channel;
        crmsync_lifecycle_on_deal off;
        crmsync_owner round_robin ana@acme.example bo.r@sales.acme.example;
        crmsync_task when=$crmsync_csat subject=Call owner=contact_owner;
        crmsync_flag open_support_ticket when=$crmsync_conversation_id;
        crmsync_flag vip_chat when=$crmsync_attr_vip idle=24h;
        crmsync_flag in_chat idle=90m when=1;
    }
    location = /hooks/inherit {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- request eval
main::std('msg_good', 'message.inbound', { contact => { email => 'ana@example.com' }, conversation_id => 'c9', message => { id => 'm9', text => 'hi' } })
--- more_headers eval
$main::H
--- error_code: 200
--- response_body_like eval
$main::Stored
--- no_error_log
[alert]
[crit]
[emerg]
[error]



=== TEST 2: defaults without a store start: only what changes something needs crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript off;
        crmsync_transcript_idle 30m;
        crmsync_transcript_authors contact agent;
        crmsync_transcript_when closed;
        crmsync_lifecycle_on_deal off;
    }
--- request eval
main::std('msg_nostore', 'contact.updated', { contact => { email => 'ana@example.com' } })
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- no_error_log
[emerg]



=== TEST 3: the variables of a Standard Webhooks event: conversation, assignee, CSAT, the channel attribute, and attributes by name in any case, "_" for a space or "-"
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        add_header X-Conv $crmsync_conversation_id always;
        add_header X-Assignee $crmsync_assignee always;
        add_header X-Csat $crmsync_csat always;
        add_header X-Channel $crmsync_channel always;
        add_header X-Score $crmsync_attr_qualification_score always;
        add_header X-Score-Upper $crmsync_attr_QUALIFICATION_SCORE always;
        add_header X-Plan $crmsync_attr_plan always;
        add_header X-Spaced $crmsync_attr_chat_lead_score always;
        add_header X-None $crmsync_attr_nothing always;
    }
--- request eval
main::std('msg_vars', 'csat', { contact => { email => 'ana@example.com', attributes => { Qualification_Score => '72', Plan => 'pro', channel => 'WhatsApp Business', 'Chat Lead-Score' => '88' } }, conversation_id => 'conv-77', assignee => 'rep@acme.example', csat => 2 })
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Conv: conv-77
X-Assignee: rep@acme.example
X-Csat: 2
X-Channel: WhatsApp Business
X-Score: 72
X-Score-Upper: 72
X-Plan: pro
X-Spaced: 88
!X-None



=== TEST 4: the variables of a respond.io message: the channel's kind from its source, the contact's assignee, custom fields; no conversation, no CSAT
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-signing-key-1;
        add_header X-Conv $crmsync_conversation_id always;
        add_header X-Assignee $crmsync_assignee always;
        add_header X-Csat $crmsync_csat always;
        add_header X-Channel $crmsync_channel always;
        add_header X-Score $crmsync_attr_qualification_score always;
        add_header X-Budget $crmsync_attr_Budget always;
    }
--- request eval
main::rio($main::RioReceived)
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Channel: WhatsApp
X-Assignee: rep@example.com
X-Score: 87
X-Budget: 5k
!X-Conv
!X-Csat



=== TEST 5: the variables of an Intercom close: the conversation id and the closing admin
--- config
    location = /hooks/ic {
        crmsync_webhook intercom;
        crmsync_secret test_client_secret;
        add_header X-Conv $crmsync_conversation_id always;
        add_header X-Assignee $crmsync_assignee always;
        add_header X-Channel $crmsync_channel always;
    }
--- request eval
my $b = sample('intercom/conversation.admin.closed.json');
$b =~ s/\n\z//;
$main::H = "X-Hub-Signature: " . intercom_sig('test_client_secret', $b) . "\nContent-Type: application/json";
"POST /hooks/ic\n$b"
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Conv: 21322009097
X-Assignee: cordelia@zulip.com
X-Channel: Intercom



=== TEST 6: the channel of a WhatsApp message, and its attributes: none
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret wa-app-secret-1;
        add_header X-Channel $crmsync_channel always;
        add_header X-Attr $crmsync_attr_x always;
        add_header X-Conv $crmsync_conversation_id always;
    }
--- request eval
my $b = sample('whatsapp/messages_text_inbound.json');
$b =~ s/\n\z//;
$main::H = "X-Hub-Signature-256: " . meta_sig('wa-app-secret-1', $b) . "\nContent-Type: application/json";
"POST /hooks/wa\n$b"
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Channel: WhatsApp
!X-Attr
!X-Conv



=== TEST 7: crmsync_transcript: an unknown mode
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript notes;
    }
--- must_die
--- error_log eval
main::emerg('invalid value "notes" in "crmsync_transcript": note, communication or off is expected')



=== TEST 8: crmsync_transcript: twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript note;
        crmsync_transcript off;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_transcript" directive is duplicate')



=== TEST 9: crmsync_transcript_idle: not a time
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript_idle soon;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_transcript_idle" directive invalid value')



=== TEST 10: crmsync_transcript_idle: zero
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript_idle 0;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_transcript_idle" directive must be more than 0')



=== TEST 11: crmsync_transcript_authors: an unknown author
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript_authors contact customer;
    }
--- must_die
--- error_log eval
main::emerg('unknown author "customer" in "crmsync_transcript_authors", valid ones are: contact agent bot system note')



=== TEST 12: crmsync_transcript_authors: an author twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript_authors contact agent contact;
    }
--- must_die
--- error_log eval
main::emerg('duplicate author "contact" in "crmsync_transcript_authors"')



=== TEST 13: crmsync_transcript_authors: names are lower case
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript_authors Contact;
    }
--- must_die
--- error_log eval
main::emerg('unknown author "Contact" in "crmsync_transcript_authors"')



=== TEST 14: crmsync_transcript_when: an unknown value
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript_when sometimes;
    }
--- must_die
--- error_log eval
main::emerg('invalid value "sometimes" in "crmsync_transcript_when": closed, assigned or always is expected')



=== TEST 15: crmsync_deal: no pipeline=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal stage=Qualified name=Lead;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_deal" needs pipeline=')



=== TEST 16: crmsync_deal: no stage=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=Sales name=Lead;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_deal" needs stage=')



=== TEST 17: crmsync_deal: no name=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=Sales stage=Qualified amount=10;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_deal" needs name=')



=== TEST 18: crmsync_deal: an unknown parameter
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=Sales stage=Qualified name=Lead owner=ana@acme.example;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "owner=ana@acme.example" in "crmsync_deal"')



=== TEST 19: crmsync_deal: a word without =
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=Sales stage=Qualified name=Lead always;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "always" in "crmsync_deal"')



=== TEST 20: crmsync_deal: an empty value
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline= stage=Qualified name=Lead;
    }
--- must_die
--- error_log eval
main::emerg('empty "pipeline=" in "crmsync_deal"')



=== TEST 21: crmsync_deal: a parameter twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=Sales stage=Qualified name=Lead stage=Won;
    }
--- must_die
--- error_log eval
main::emerg('duplicate parameter "stage=" in "crmsync_deal"')



=== TEST 22: crmsync_deal: a variable in the pipeline
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=$arg_p stage=Qualified name=Lead;
    }
--- must_die
--- error_log eval
main::emerg('invalid "pipeline=$arg_p" in "crmsync_deal": the pipeline and the stage are an id or a label, without variables')



=== TEST 23: crmsync_deal: an unknown variable in name=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=Sales stage=Qualified name=$no_such_thing;
    }
--- must_die
--- error_log eval
main::emerg('unknown "no_such_thing" variable')



=== TEST 24: crmsync_deal: twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=Sales stage=Qualified name=Lead;
        crmsync_deal pipeline=Sales stage=Won name=Lead;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_deal" directive is duplicate')



=== TEST 25: crmsync_lifecycle_on_deal: a label instead of the internal value
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_lifecycle_on_deal MQL;
    }
--- must_die
--- error_log eval
main::emerg('invalid stage "MQL" in "crmsync_lifecycle_on_deal"')



=== TEST 26: crmsync_lifecycle_on_deal: twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_lifecycle_on_deal opportunity;
        crmsync_lifecycle_on_deal off;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_lifecycle_on_deal" directive is duplicate')



=== TEST 27: crmsync_owner: round_robin without owners
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner round_robin;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_owner round_robin" needs at least one owner email')



=== TEST 28: crmsync_owner: round_robin with a name, not an email
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner round_robin ana@acme.example bo;
    }
--- must_die
--- error_log eval
main::emerg('invalid owner email "bo" in "crmsync_owner round_robin"')



=== TEST 29: crmsync_owner: round_robin with an email without a domain
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner round_robin ana@acme;
    }
--- must_die
--- error_log eval
main::emerg('invalid owner email "ana@acme" in "crmsync_owner round_robin"')



=== TEST 30: crmsync_owner: an owner twice in round_robin, in any case
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner round_robin ana@acme.example Ana@Acme.example;
    }
--- must_die
--- error_log eval
main::emerg('duplicate owner "ana@acme.example" in "crmsync_owner round_robin"')



=== TEST 31: crmsync_owner: an unknown mode
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner first_reply;
    }
--- must_die
--- error_log eval
main::emerg('invalid value "first_reply" in "crmsync_owner": assignee or round_robin <owner email> ... is expected')



=== TEST 32: crmsync_owner: assignee takes nothing more
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner assignee ana@acme.example;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "ana@acme.example" in "crmsync_owner assignee": nothing may follow')



=== TEST 33: crmsync_owner: assignee twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner assignee;
        crmsync_owner assignee;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_owner" directive assignee is duplicate')



=== TEST 34: crmsync_owner: round_robin twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner round_robin ana@acme.example;
        crmsync_owner round_robin bo@acme.example;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_owner" directive round_robin is duplicate')



=== TEST 35: crmsync_task: no when=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_task subject=Call;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_task" needs when=')



=== TEST 36: crmsync_task: no subject=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_task when=1;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_task" needs subject=')



=== TEST 37: crmsync_task: a bad due=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_task when=1 subject=Call due=tomorrow;
    }
--- must_die
--- error_log eval
main::emerg('invalid "due=tomorrow" in "crmsync_task": a time such as 24h is expected')



=== TEST 38: crmsync_task: owner= neither contact_owner nor an email
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_task when=1 subject=Call owner=bo;
    }
--- must_die
--- error_log eval
main::emerg('invalid "owner=bo" in "crmsync_task": owner=contact_owner or an owner\'s email is expected')



=== TEST 39: crmsync_task: an unknown parameter
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_task when=1 subject=Call priority=HIGH;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "priority=HIGH" in "crmsync_task"')



=== TEST 40: crmsync_task: twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_task when=1 subject=Call;
        crmsync_task when=1 subject=Again;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_task" directive is duplicate')



=== TEST 41: crmsync_flag: a label, not an internal name
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag Open-Ticket when=1;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "Open-Ticket" in "crmsync_flag": HubSpot\'s internal name starts with a lower case letter')



=== TEST 42: crmsync_flag: no when=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket 1;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "1" in "crmsync_flag"')



=== TEST 43: crmsync_flag: an unknown parameter
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket if=1;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "if=1" in "crmsync_flag"')



=== TEST 44: crmsync_flag: a property twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket when=1;
        crmsync_flag open_support_ticket when=$arg_x;
    }
--- must_die
--- error_log eval
main::emerg('duplicate property "open_support_ticket" in "crmsync_flag"')



=== TEST 45: crmsync_flag: one parameter only
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_flag" directive')



=== TEST 46: crmsync_transcript without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript note;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_transcript" in location "/hooks/std" needs "crmsync_store"')



=== TEST 47: crmsync_transcript_when without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_transcript_when always;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_transcript_when" in location "/hooks/std" needs "crmsync_store"')



=== TEST 48: crmsync_deal without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_deal pipeline=Sales stage=Qualified name=Lead;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_deal" in location "/hooks/std" needs "crmsync_store"')



=== TEST 49: crmsync_lifecycle_on_deal without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_lifecycle_on_deal opportunity;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_lifecycle_on_deal" in location "/hooks/std" needs "crmsync_store"')



=== TEST 50: crmsync_owner without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_owner round_robin ana@acme.example;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_owner" in location "/hooks/std" needs "crmsync_store"')



=== TEST 51: crmsync_task without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_task when=1 subject=Call;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_task" in location "/hooks/std" needs "crmsync_store"')



=== TEST 52: crmsync_flag without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket when=1;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_flag" in location "/hooks/std" needs "crmsync_store"')



=== TEST 53: crmsync_flag: idle=0
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket when=1 idle=0;
    }
--- must_die
--- error_log eval
main::emerg('invalid "idle=0" in "crmsync_flag": a time such as 24h is expected')



=== TEST 54: crmsync_flag: idle= not a time
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket when=1 idle=soon;
    }
--- must_die
--- error_log eval
main::emerg('invalid "idle=soon" in "crmsync_flag": a time such as 24h is expected')



=== TEST 55: crmsync_flag: idle= twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket idle=1h idle=2h;
    }
--- must_die
--- error_log eval
main::emerg('duplicate parameter "idle=" in "crmsync_flag"')



=== TEST 56: crmsync_flag: idle= without when=
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket idle=1h;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_flag" needs when=')



=== TEST 57: crmsync_flag: four arguments
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_flag open_support_ticket when=1 idle=1h x=1;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_flag" directive')

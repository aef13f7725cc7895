package Crmsync::Conv;

# Helpers for the conversation suites (t/sync/070-conversations.t, issue
# 11): signed respond.io and Intercom conversation deliveries, what the
# sandbox holds (notes, deals, tasks of a contact), the duplicates of
# deals, notes and tasks, and a wait for the store's jobs, action jobs
# included.
#
# The payloads follow the shapes the adapters read
# (src/ngx_http_crmsync_provider_respondio.c, _intercom.c) and the
# samples in t/samples (Intercom's are real; respond.io publishes none,
# see t/samples/respond-io/NOTE_no_official_payload.txt).

use strict;
use warnings;

use Carp qw(croak);
use JSON::PP ();
use Time::HiRes ();
use Time::Local ();


my $Json = JSON::PP->new->utf8->canonical;    # bodies as UTF-8 bytes
my $uniq = 0;

sub uniq { return sprintf '%x%x%x', $$, int(Time::HiRes::time() * 1000) % 0xffffff, ++$uniq }


# ---- respond.io

# A respond.io webhook as [path, body, headers], signed with the
# webhook's signing key (x-webhook-signature: base64 HMAC-SHA256 of the
# body).  $type: message.received, message.sent, contact.updated,
# contact.assignee.updated, conversation.opened, conversation.closed.
# Options:
#   contact   {id, firstName, lastName, phone, email, countryCode,
#              assignee => {id, name, email}, custom_fields => [{name, value}]}
#   text      the message's text; mid the channelMessageId
#   user      {id, name, email}: message.sent by an agent (absent: a bot
#             or workflow sent it)
#   conv      conversation{} members for conversation.* (id, closedTime, ...)
#   event_id  the event's id (absent on messages, as respond.io sends them)
#   ts        Unix seconds
sub respondio_request {
    my ($class, $path, $secret, $type, %o) = @_;
    require Crmsync::Sign;
    my $ts = $o{ts} // int time;
    my $c = $o{contact} // croak 'a contact';
    my %contact = (countryCode => 'DE', language => 'de', status => 'open',
                   lifecycle => '', created_at => $ts - 60, %$c);
    my %b = (event_type => $type, timestamp => $ts, contact => \%contact,
             channel => { id => 5, name => 'WhatsApp', source => 'whatsapp' });
    if ($type eq 'message.received') {
        my $mid = $o{mid} // 'wamid.' . uniq();
        $b{message} = { channelMessageId => $mid, contactId => $contact{id},
                        traffic => 'incoming', timestamp => $ts,
                        message => { type => 'text', text => $o{text} // 'Hello' } };
    } elsif ($type eq 'message.sent') {
        $b{traffic} = 'outgoing';
        $b{channelMessageId} = $o{mid} // 'wamid.' . uniq();
        $b{message} = { type => 'text', text => $o{text} // 'Hello' };
        $b{user} = $o{user} if $o{user};
    } else {
        $b{event_id} = $o{event_id} // "evt-" . uniq();
    }
    if ($type =~ /^conversation\./) {
        $b{conversation} = { openedTime => $ts - 600, openedBySource => 'contact',
                             incomingMessageCount => 3, outgoingMessageCount => 2,
                             %{$o{conv} // {}} };
        $b{conversation}{closedTime} //= $ts if $type eq 'conversation.closed';
    }
    my $body = $Json->encode(\%b);
    return [$path, $body, { 'content-type' => 'application/json',
                            'x-webhook-signature' => Crmsync::Sign::respondio_sig($secret, $body) }];
}


# ---- Intercom conversations

# An Intercom conversation notification as [path, body, headers]
# (X-Hub-Signature: sha1 HMAC with the app's client secret), in the 1.x
# shape of t/samples/intercom/conversation.*.json:
#   topic     conversation.user.created, conversation.user.replied,
#             conversation.admin.replied, conversation.operator.replied,
#             conversation.admin.noted, conversation.admin.assigned,
#             conversation.admin.closed, conversation.rating.added
#   conv      the conversation id
#   user      {id, email, name}: the contact
#   text      the message's (or the close part's) body, sent as HTML
#   part_id   the message's id
#   author    {type => user|admin|bot, id, name, email}; by default the
#             contact for user.*, an admin for admin.*, a bot for operator.*
#   at        the part's created_at (Unix seconds)
#   assignee  {type => 'admin', id, email}
#   rating    rating.added: {rating, remark, created_at}
#   attrs     the conversation's custom_attributes
#   notif     the notification id (the delivery key)
sub intercom_request {
    my ($class, $path, $secret, %o) = @_;
    require Crmsync::Sign;
    my $topic = $o{topic} // croak 'a topic';
    my $at = $o{at} // int time;
    my $user = $o{user} // croak 'a user';
    my %u = (type => 'user', user_id => "ext-$user->{id}", %$user);
    my $admin = { type => 'admin', id => '1957471', name => 'Rita Rep', email => 'rita@acme.example' };
    my $author = $o{author}
        // ($topic =~ /\.user\./ ? { type => 'user', id => $u{id}, name => $u{name}, email => $u{email} }
          : $topic =~ /\.operator\./ ? { type => 'bot', id => '814860', name => 'Operator' }
          : $admin);
    my $part_id = $o{part_id} // int(rand(1e9)) + 1e9;
    my $body_html = defined $o{text} ? '<p>' . html_escape($o{text}) . '</p>' : undef;
    my %item = (type => 'conversation', id => "$o{conv}", created_at => $at - 600,
                updated_at => $at, user => \%u, open => JSON::PP::true(), state => 'open',
                read => JSON::PP::true(), metadata => {}, tags => { type => 'tag.list', tags => [] },
                links => { conversation_web => "https://app.intercom.io/a/apps/abc123def/conversations/$o{conv}" },
                custom_attributes => $o{attrs} // {});
    $item{assignee} = $o{assignee} if $o{assignee};
    $item{conversation_message} = { type => 'conversation_message', id => "$o{first_id}",
                                    subject => '', body => '<p>Hi</p>', attachments => [],
                                    author => { type => 'user', id => $u{id} } }
        if defined $o{first_id};
    my @parts;
    if ($topic eq 'conversation.user.created') {
        $item{conversation_message} = { type => 'conversation_message', id => "$part_id",
                                        subject => '', body => $body_html // '<p>Hi</p>',
                                        attachments => [], author => $author };
        $item{created_at} = $at;
    } elsif ($topic eq 'conversation.rating.added') {
        $item{conversation_rating} = { created_at => $at, remark => '', %{$o{rating} // {}} };
    } else {
        my $ptype = $topic =~ /noted$/ ? 'note'
                  : $topic =~ /closed$/ ? 'close'
                  : $topic =~ /assigned$/ ? 'assignment'
                  : $topic =~ /opened$/ ? 'open'
                  : 'comment';
        push @parts, { type => 'conversation_part', id => "$part_id", part_type => $ptype,
                       body => $body_html, created_at => $at, updated_at => $at, notified_at => $at,
                       assigned_to => $ptype eq 'assignment' ? ($o{assignee} // $admin) : undef,
                       author => $author, attachments => [], external_id => undef };
        if ($ptype eq 'close') {
            $item{open} = JSON::PP::false();
            $item{state} = 'closed';
        }
    }
    $item{conversation_parts} = { type => 'conversation_part.list', conversation_parts => \@parts,
                                  total_count => scalar @parts };
    my $now = int time;
    my $body = $Json->encode({
        type => 'notification_event', app_id => 'abc123def',
        data => { type => 'notification_event_data', item => \%item },
        links => {}, id => $o{notif} // 'notif_' . uniq(), topic => $topic,
        delivery_status => 'pending', delivery_attempts => 1, delivered_at => 0,
        first_sent_at => $now, created_at => $now, self => undef,
    });
    return [$path, $body, { 'content-type' => 'application/json',
                            'x-hub-signature' => Crmsync::Sign::intercom_sig($secret, $body) }];
}


sub html_escape {
    my ($s) = @_;
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    $s =~ s/"/&quot;/g;
    return $s;
}


# HTML as plain text: tags out (a <br> or a block's end is a new line),
# entities decoded
sub strip_html {
    my ($s) = @_;
    $s //= '';
    $s =~ s{<br\s*/?>|</(?:p|div|li|h\d|tr)>}{\n}gi;
    $s =~ s/<[^>]*>//g;
    $s =~ s/&#x([0-9a-f]+);/chr hex $1/gie;
    $s =~ s/&#(\d+);/chr $1/ge;
    my %e = (amp => '&', lt => '<', gt => '>', quot => '"', apos => "'", nbsp => ' ');
    $s =~ s/&(amp|lt|gt|quot|apos|nbsp);/$e{$1}/g;
    return $s;
}


# ---- what the sandbox holds

# the live objects of a type
sub live {
    my ($sb, $type) = @_;
    return [grep { !$_->{archived} } @{$sb->objects($type)->{$type} // []}];
}

# the ids an object is associated with, of a type
sub assoc_ids {
    my ($o, $type) = @_;
    return [map { $_->{id} } @{($o->{associations} // {})->{$type} // []}];
}

# the live objects of a type associated with a contact
sub of_contact {
    my ($sb, $type, $contact) = @_;
    return [grep { grep { $_ eq $contact } @{assoc_ids($_, 'contacts')} } @{live($sb, $type)}];
}

# a HubSpot datetime (ISO 8601 or epoch ms) as epoch ms
sub ms {
    my ($v) = @_;
    return undef unless defined $v;
    return $v + 0 if $v =~ /^\d+$/;
    my ($y, $mo, $d, $h, $mi, $s, $frac) =
        $v =~ /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z?$/ or return undef;
    return Time::Local::timegm($s, $mi, $h, $d, $mo - 1, $y) * 1000
           + int(substr(($frac // 0) . '000', 0, 3));
}

# the stage ids of a pipeline that are closed
sub closed_stages {
    my ($sb, $pipeline) = @_;
    my $r = $sb->api(GET => "/crm/v3/pipelines/deals/$pipeline");
    croak "pipeline $pipeline: $r->{status}" unless $r->{status} == 200;
    return { map { $_->{id} => 1 } grep { ($_->{metadata}{isClosed} // '') eq 'true' }
             @{$r->{body}{stages}} };
}


# ---- duplicates of deals, notes and tasks

# The duplicates of deals, notes and tasks, two ways:
#   report => the sandbox's report ({duplicate_deals, duplicate_notes,
#             duplicate_tasks, deal_groups, note_groups, task_groups}),
#             or undef when the sandbox's report has none of them;
#   own    => the same keys, counted here from the objects: two open
#             deals of one contact in one pipeline; two live notes
#             (tasks) with one crmsync_key, or with the same body
#             (subject) on the same contact, whatever their keys.
sub engagement_duplicates {
    my ($sb) = @_;
    my $d = $sb->duplicates;
    my %own;
    my (%closed, %g);
    for my $deal (@{live($sb, 'deals')}) {
        my $p = $deal->{properties};
        my $pl = $p->{pipeline} // 'default';
        $closed{$pl} //= eval { closed_stages($sb, $pl) } // {};
        next if $closed{$pl}{$p->{dealstage} // ''};
        push @{$g{"$_/$pl"}}, $deal->{id} for @{assoc_ids($deal, 'contacts')};
    }
    $own{deal_groups} = [map { { contact_pipeline => $_, ids => $g{$_} } } grep { @{$g{$_}} > 1 } sort keys %g];
    for my $t (['notes', 'hs_note_body'], ['tasks', 'hs_task_subject']) {
        my ($type, $text) = @$t;
        my (%k, %c);
        for my $o (@{live($sb, $type)}) {
            my $p = $o->{properties};
            push @{$k{$p->{crmsync_key}}}, $o->{id} if defined $p->{crmsync_key} && length $p->{crmsync_key};
            push @{$c{"$_/" . ($p->{$text} // '')}}, $o->{id} for @{assoc_ids($o, 'contacts')};
        }
        my %seen;
        my @groups = grep { !$seen{join ',', @{$_->{ids}}}++ }
                     (map { { key => $_, ids => $k{$_} } } grep { @{$k{$_}} > 1 } sort keys %k),
                     (map { { contact => (split m{/}, $_)[0], ids => $c{$_} } } grep { @{$c{$_}} > 1 } sort keys %c);
        $own{($type eq 'notes' ? 'note' : 'task') . '_groups'} = \@groups;
    }
    $own{"duplicate_${_}s"} = scalar @{$own{"${_}_groups"}} for qw(deal note task);
    my $has = grep { exists $d->{"duplicate_$_"} } qw(deals notes tasks);
    return { %$d, report => $has ? { map { ($_ => $d->{$_}) }
                                     grep { /^duplicate_(?:deals|notes|tasks)$|^(?:deal|note|task)_groups$/ }
                                     keys %$d } : undef,
             own => \%own };
}


# ---- the store

# every job ended (done, dead or held for another reason than its
# contact), polled; the idle sweep's later transcripts are not waited for
sub settled {
    my ($ng, $timeout) = @_;
    return $ng->wait_for(sub {
        $ng->sql('SELECT count(*) FROM job WHERE state < 3'
                 . " OR (state = 3 AND hold_reason = 'contact')") eq '0'
    }, $timeout // 60, 0.1);
}

1;

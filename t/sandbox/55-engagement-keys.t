#!/usr/bin/env perl
# What crmsync's idempotent notes, communications, tasks and deals rely
# on (doc/conversations.md, "Idempotent writes"): unique-value properties
# on engagements (--engagement-unique), the properties API for these
# types, 409 ... Existing ID on every type, search by crmsync_key under
# the index lag, commit-then-fail on their creates, the duplicates
# report's deal/note/task/communication groups, v4 association reads
# without lag, pipeline stage metadata, owners paging and the note
# limits.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $LAG = 0.5;
my $sb = Crmsync::Sandbox->start(index_lag => $LAG);       # --engagement-unique off (default)
my $on = Crmsync::Sandbox->start(engagement_unique => 1);  # on, no lag

my %PROPS_OF = (notes => { hs_timestamp => '2026-12-07T10:00:00Z', hs_note_body => 'transcript' },
                tasks => { hs_timestamp => '2026-12-07T10:00:00Z', hs_task_subject => 'Follow up' },
                communications => { hs_timestamp => '2026-12-07T10:00:00Z', hs_communication_channel_type => 'WHATS_APP',
                                    hs_communication_logged_from => 'CRM', hs_communication_body => 'hola' },
                deals => { dealname => 'Chat lead', dealstage => 'appointmentscheduled' });
my @ENG = qw(notes tasks communications);
my @ALL = (@ENG, 'deals');

sub key_prop {
    my ($unique) = @_;
    return { name => 'crmsync_key', label => 'crmsync key', type => 'string', fieldType => 'text',
             groupName => 'crmsync', ($unique ? (hasUniqueValue => JSON::PP::true()) : ()) };
}
sub rec {
    my ($type, $key, %extra) = @_;
    return { properties => { %{$PROPS_OF{$type}}, (defined $key ? (crmsync_key => $key) : ()), %extra } };
}
sub assoc { my ($id, $t) = @_; [ { to => { id => $id }, types => [ { associationCategory => 'HUBSPOT_DEFINED', associationTypeId => $t } ] } ] }
sub live_ids {
    my ($s, $type, $key) = @_;
    return [ sort map { $_->{id} } grep { !$_->{archived} && ($_->{properties}{crmsync_key} // '') eq $key }
             @{$s->objects($type)->{$type}} ];
}
sub search_key {
    my ($s, $type, $op, $v) = @_;
    my $f = $op eq 'IN' ? { propertyName => 'crmsync_key', operator => 'IN', values => [$v] }
                        : { propertyName => 'crmsync_key', operator => $op, value => $v };
    my $r = $s->api(POST => "/crm/v3/objects/$type/search",
                    { filterGroups => [ { filters => [$f] } ], properties => ['crmsync_key'] });
    die "search $type: $r->{status} $r->{raw}" unless $r->{status} == 200;
    return $r->{body};
}

# ------------------------------------------------ 1. --engagement-unique
is $sb->config->{engagement_unique}, JSON::PP::false(), 'config: engagement_unique off by default';
is $on->config->{engagement_unique}, JSON::PP::true(), 'engagement_unique => 1 turns it on';

for my $t (@ENG) {
    my $r = $sb->api(POST => "/crm/v3/properties/$t", key_prop(1));
    is $r->{status}, 400, "off: a unique property on $t is refused";
    is $r->{body}{category}, 'VALIDATION_ERROR', "$t: VALIDATION_ERROR";
    like $r->{body}{message}, qr/Unique value properties are not supported for object type 0-\d+ \($t\)/, "$t: the message names the type";
    is $r->{body}{errors}[0]{code}, 'INVALID_PROPERTY_DEFINITION', "$t: errors[].code";
    ok $r->{headers}{'x-hubspot-correlation-id'} && $r->{body}{correlationId}, "$t: correlation id";
    is $sb->api(GET => "/crm/v3/properties/$t/crmsync_key")->{status}, 404, "$t: nothing was created";
}
for my $t (qw(deals contacts companies)) {
    my $r = $sb->api(POST => "/crm/v3/properties/$t", key_prop(1));
    is $r->{status}, 201, "off: a unique property on $t is accepted (HubSpot documents those)";
    is $r->{body}{hasUniqueValue}, JSON::PP::true(), "$t: hasUniqueValue true";
}

# run time switch through config()
is $sb->config(engagement_unique => 1)->{engagement_unique}, JSON::PP::true(), 'config(engagement_unique => 1)';
my $r = $sb->api(POST => '/crm/v3/properties/notes', { %{key_prop(1)}, name => 'switch_probe' });
is $r->{status}, 201, 'on at run time: a unique property on notes is accepted';
is $sb->config(engagement_unique => 'off')->{engagement_unique}, JSON::PP::false(), "config(engagement_unique => 'off')";
is $sb->api(POST => '/crm/v3/properties/notes', { %{key_prop(1)}, name => 'switch_probe2' })->{status}, 400, 'off again: refused';
is $sb->api(GET => '/crm/v3/properties/notes/switch_probe')->{body}{hasUniqueValue}, JSON::PP::true(),
    'a property made while on keeps its unique value';
$r = $sb->api(POST => '/_sandbox/config', { engagement_unique => 'maybe' }, token => undef);
is $r->{status}, 400, 'engagement_unique must be on or off';
is $sb->api(DELETE => '/crm/v3/properties/notes/switch_probe')->{status}, 204, 'probe deleted';

# ------------------------------------------------ 2. properties API on the four types
# (off sandbox: the plain property crmsync falls back to)
for my $t (@ENG) {
    $r = $sb->api(POST => "/crm/v3/properties/$t", key_prop(0));
    is $r->{status}, 201, "$t: plain crmsync_key created";
    is $r->{body}{hasUniqueValue}, JSON::PP::false(), "$t: not unique";
    is $sb->api(POST => "/crm/v3/properties/$t", key_prop(0))->{body}{category}, 'OBJECT_ALREADY_EXISTS', "$t: second create 409 OBJECT_ALREADY_EXISTS";
}
for my $t (@ALL) {
    is $sb->api(GET => "/crm/v3/properties/$t/crmsync_key")->{body}{name}, 'crmsync_key', "GET /crm/v3/properties/$t/crmsync_key";
    is $sb->api(GET => "/crm/properties/2026-03/$t/crmsync_key")->{status}, 200, "dated GET /crm/properties/2026-03/$t/crmsync_key";
    ok scalar(grep { $_->{name} eq 'crmsync_key' } @{$sb->api(GET => "/crm/v3/properties/$t")->{body}{results}}),
        "GET /crm/v3/properties/$t lists it";
    is $sb->api(GET => "/crm/v3/properties/$t/no_such_prop")->{status}, 404, "$t: unknown property 404";
}
$r = $sb->api(POST => '/crm/properties/2026-03/0-27', { %{key_prop(0)}, name => 'dated_probe' });
is $r->{status}, 201, 'dated POST /crm/properties/2026-03/0-27 (a type id)';
is $sb->api(GET => '/crm/v3/properties/tasks/dated_probe')->{status}, 200, 'visible on the v3 path';

# ------------------------------------------------ 3. 409 ... Existing ID on every type (on sandbox)
for my $t (@ALL) {
    $r = $on->api(POST => "/crm/v3/properties/$t", key_prop(1));
    is $r->{status}, 201, "on: unique crmsync_key on $t";
}
for my $t (@ALL) {
    my $k = "k:$t:1";
    my $first = $on->api(POST => "/crm/v3/objects/$t", rec($t, $k));
    is $first->{status}, 201, "$t: created with a key";
    my $id = $first->{body}{id};
    $r = $on->api(POST => "/crm/v3/objects/$t", rec($t, $k));
    is $r->{status}, 409, "$t: a second create with that key 409";
    is $r->{body}{category}, 'CONFLICT', "$t: CONFLICT";
    like $r->{body}{message}, qr/Existing ID: $id$/, "$t: message ends in Existing ID: $id";
    $r = $on->api(POST => "/crm/objects/2026-03/$t", rec($t, $k));
    like $r->{body}{message}, qr/Existing ID: $id$/, "$t: dated path too";
    $r = $on->api(POST => "/crm/v3/objects/$t/batch/create", { inputs => [ rec($t, "k:$t:other"), rec($t, $k) ] });
    is $r->{status}, 409, "$t: batch/create with a held key 409";
    like $r->{body}{message}, qr/Existing ID: $id$/, "$t: batch/create Existing ID";
    is_deeply live_ids($on, $t, "k:$t:other"), [], "$t: the failed batch wrote nothing";
    $r = $on->api(POST => "/crm/v3/objects/$t/batch/create",
                  { inputs => [ { %{rec($t, "k:$t:2")}, objectWriteTraceId => 'a' }, { %{rec($t, $k)}, objectWriteTraceId => 'b' } ] });
    is $r->{status}, 207, "$t: batch/create with trace ids: 207";
    like $r->{body}{errors}[0]{message}, qr/Existing ID: $id$/, "$t: the 207 error names the existing id";
    is_deeply $r->{body}{errors}[0]{context}{objectWriteTraceId}, ['b'], "$t: mapped by objectWriteTraceId";
    my $id2 = $r->{body}{results}[0]{id};
    $r = $on->api(PATCH => "/crm/v3/objects/$t/$id2", { properties => { crmsync_key => $k } });
    is $r->{status}, 409, "$t: PATCH to a held key 409";
    like $r->{body}{message}, qr/Existing ID: $id$/, "$t: PATCH Existing ID";
    is $on->api(PATCH => "/crm/v3/objects/$t/$id", { properties => { crmsync_key => $k } })->{status}, 200,
        "$t: PATCH a record with its own key is fine";
    $r = $on->api(POST => "/crm/v3/objects/$t/batch/update", { inputs => [ { id => $id2, properties => { crmsync_key => $k } } ] });
    is $r->{status}, 409, "$t: batch/update to a held key 409";
    like $r->{body}{message}, qr/Existing ID: $id$/, "$t: batch/update Existing ID";
    is $on->api(GET => "/crm/v3/objects/$t/" . _esc($k) . '?idProperty=crmsync_key')->{body}{id}, $id, "$t: GET by idProperty=crmsync_key";
    $r = $on->api(POST => "/crm/v3/objects/$t/batch/upsert",
                  { inputs => [ { id => $k, idProperty => 'crmsync_key', properties => { %{$PROPS_OF{$t}} } } ] });
    is $r->{status}, 200, "$t: batch/upsert by crmsync_key";
    is $r->{body}{results}[0]{new}, JSON::PP::false(), "$t: upsert finds the record (new false)";
    is $r->{body}{results}[0]{id}, $id, "$t: the same id";
    is_deeply live_ids($on, $t, $k), [$id], "$t: still one record with the key";
    is $on->api(DELETE => "/crm/v3/objects/$t/$id")->{status}, 204, "$t: archived";
    is $on->api(POST => "/crm/v3/objects/$t", rec($t, $k))->{status}, 201, "$t: archiving freed the key";
}

# ------------------------------------------------ 4. search by crmsync_key under the index lag (off sandbox)
for my $t (@ALL) {
    my $k = "note:respondio:$t:m1";
    my $t0 = time;
    my $c = $sb->api(POST => "/crm/v3/objects/$t", rec($t, $k));
    is $c->{status}, 201, "$t: created (plain key)";
    my $id = $c->{body}{id};
    is search_key($sb, $t, 'EQ', $k)->{total}, 0, "$t: EQ does not find a fresh create";
    is search_key($sb, $t, 'IN', $k)->{total}, 0, "$t: IN neither";
    my $found = $sb->wait_for(sub { search_key($sb, $t, 'EQ', $k)->{total} }, 10);
    my $took = time - $t0;
    is $found, 1, "$t: found once the lag has passed";
    cmp_ok $took, '>=', $LAG - 0.05, "$t: not before the lag (${took}s)";
    my $b = search_key($sb, $t, 'EQ', uc $k);
    is $b->{results}[0]{id}, $id, "$t: EQ is case-insensitive";
    is $b->{results}[0]{properties}{crmsync_key}, $k, "$t: the key comes back when asked for";
    is search_key($sb, $t, 'IN', $k)->{results}[0]{id}, $id, "$t: IN with the lowercase value";
    is search_key($sb, $t, 'IN', uc $k)->{total}, 0, "$t: IN with uppercase never matches (as HubSpot)";
    is $sb->api(PATCH => "/crm/v3/objects/$t/$id", { properties => { crmsync_key => "$k:v2" } })->{status}, 200, "$t: key changed";
    is search_key($sb, $t, 'EQ', $k)->{total}, 1, "$t: search still shows the old value";
    is search_key($sb, $t, 'EQ', "$k:v2")->{total}, 0, "$t: and not the new one";
    ok $sb->wait_for(sub { search_key($sb, $t, 'EQ', "$k:v2")->{total} }, 10), "$t: the new value after the lag";
    is $sb->api(POST => "/crm/objects/2026-03/$t/search",
                { filterGroups => [ { filters => [ { propertyName => 'crmsync_key', operator => 'EQ', value => "$k:v2" } ] } ] })->{body}{total},
        1, "$t: the dated search path";
}

# ------------------------------------------------ 5. commit, then 5xx or a dropped connection
for my $t (@ALL) {
    # unique keys (on sandbox): the blind retry meets 409 Existing ID
    my $k = "k:$t:fault";
    $on->fault(mode => 'commit_then_fail', status => 502, method => 'POST', path => "^/crm/v3/objects/$t\$");
    $r = $on->api(POST => "/crm/v3/objects/$t", rec($t, $k));
    is $r->{status}, 502, "$t: commit_then_fail answers 502";
    my $ids = live_ids($on, $t, $k);
    is scalar @$ids, 1, "$t: but the record was written";
    $r = $on->api(POST => "/crm/v3/objects/$t", rec($t, $k));
    like $r->{body}{message}, qr/Existing ID: $ids->[0]$/, "$t: the retry gets 409 Existing ID of the committed record";

    $on->fault(mode => 'commit_then_fail', then => 'reset', method => 'POST', path => "^/crm/(?:v3/objects|objects/\\d{4}-\\d\\d)/$t\$");
    $r = $on->api(POST => "/crm/objects/2026-03/$t", rec($t, "$k:reset"));
    is $r->{status}, 599, "$t: then => reset drops the connection (no answer)";
    is scalar @{live_ids($on, $t, "$k:reset")}, 1, "$t: after committing";
    my $log = $on->requests(method => 'POST', path => "/$t")->{log};
    is $log->[-1]{fault}, 'commit_then_fail', "$t: the request log marks the fault";
    is $log->[-1]{committed_status}, 201, "$t: and what was committed";
    is_deeply $on->faults, [], "$t: faults used up";

    # plain keys (off sandbox): the lost create is found by a search after the lag
    $sb->fault(mode => 'commit_then_fail', status => 500, method => 'POST', path => "^/crm/v3/objects/$t\$");
    is $sb->api(POST => "/crm/v3/objects/$t", rec($t, "$k:plain"))->{status}, 500, "$t (plain): 500 after the commit";
    is search_key($sb, $t, 'EQ', "$k:plain")->{total}, 0, "$t (plain): not yet searchable";
    is $sb->wait_for(sub { search_key($sb, $t, 'EQ', "$k:plain")->{total} }, 10), 1, "$t (plain): found after the lag";
}
$sb->fault(mode => 'status', status => 503, method => 'POST', path => '^/crm/v3/objects/notes$');
is $sb->api(POST => '/crm/v3/objects/notes', rec('notes', 'k:plain503'))->{status}, 503, 'a plain status fault';
is scalar @{live_ids($sb, 'notes', 'k:plain503')}, 0, 'writes nothing';

# ------------------------------------------------ 6. duplicates report
$sb->reset(keep_properties => 1, keep_tokens => 1);
$sb->flush_index;
my $d = $sb->duplicates;
for my $k (qw(contacts duplicate_groups contacts_in_duplicates groups empty_contacts channel_properties)) {
    ok exists $d->{$k}, "report keeps $k";
}
is_deeply [@$d{qw(deal_groups note_groups task_groups communication_groups)}], [[], [], [], []], 'no groups on an empty CRM';
is_deeply [@$d{qw(duplicate_deals duplicate_notes duplicate_tasks duplicate_communications)}], [0, 0, 0, 0], 'counts 0';
is $d->{key_property}, 'crmsync_key', 'key_property';

my $ana = $sb->api(POST => '/crm/v3/objects/contacts', { properties => { email => 'ana@example.com' } })->{body}{id};
my $bo = $sb->api(POST => '/crm/v3/objects/contacts', { properties => { email => 'bo@example.com' } })->{body}{id};
$sb->add_pipeline(id => 'chat', label => 'Chat', stages => [ { id => 'chat_new', label => 'New', probability => 0.1 },
    { id => 'chat_won', label => 'Won', probability => 1, isClosed => 1 },
    { id => 'chat_lost', label => 'Lost', probability => '0.0', isClosed => 'true' },
    { id => 'chat_open2', label => 'Talking', isClosed => 'false' } ]);
sub deal {
    my ($contact, $stage, $pipeline) = @_;
    my $x = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'd', dealstage => $stage,
        ($pipeline ? (pipeline => $pipeline) : ()) }, associations => assoc($contact, 3) });
    die "deal: $x->{raw}" unless $x->{status} == 201;
    return $x->{body}{id};
}
my $d1 = deal($ana, 'appointmentscheduled');
deal($ana, 'closedwon');                         # closed: not a duplicate
my $c1 = deal($ana, 'chat_new', 'chat');         # other pipeline
deal($bo, 'qualifiedtobuy');                     # other contact
$d = $sb->duplicates;
is $d->{duplicate_deals}, 0, 'one open deal per contact and pipeline: no duplicate';
my $d2 = deal($ana, 'contractsent');
my $d3 = deal($ana, 'chat_open2', 'chat');
deal($ana, 'chat_lost', 'chat');                 # isClosed "true" given as a string
$d = $sb->duplicates;
is $d->{duplicate_deals}, 2, 'two surplus open deals';
is_deeply [ sort { $a->{pipeline} cmp $b->{pipeline} } @{$d->{deal_groups}} ],
    [ { contact => $ana, pipeline => 'chat', ids => [$c1, $d3] },
      { contact => $ana, pipeline => 'default', ids => [$d1, $d2] } ],
    'deal_groups: contact, pipeline and the open deals only';
$sb->api(PATCH => "/crm/v3/objects/deals/$d2", { properties => { dealstage => 'closedlost' } });
$sb->api(DELETE => "/crm/v3/objects/deals/$d3");
$d = $sb->duplicates;
is $d->{duplicate_deals}, 0, 'closing one and archiving the other clears the groups';
is_deeply $d->{deal_groups}, [], 'deal_groups empty';
my $loose = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'x', dealstage => 'appointmentscheduled' } })->{body}{id};
$sb->api(PUT => "/crm/v4/objects/contacts/$ana/associations/default/deals/$loose");
is $sb->duplicates->{duplicate_deals}, 1, 'an association made later through v4 counts too';
$sb->api(DELETE => "/crm/v4/objects/contacts/$ana/associations/deals/$loose");
is $sb->duplicates->{duplicate_deals}, 0, 'and its removal';
is_deeply $sb->duplicates->{groups}, [], 'contact groups untouched';

for my $t (@ENG) {
    my (@ids) = map { $sb->api(POST => "/crm/v3/objects/$t", rec($t, "dup:$t"))->{body}{id} } 1 .. 3;
    $sb->api(POST => "/crm/v3/objects/$t", rec($t, "single:$t"));
    $sb->api(POST => "/crm/v3/objects/$t", rec($t, undef));
    (my $one = $t) =~ s/s$//;
    $d = $sb->duplicates;
    is_deeply $d->{"${one}_groups"}, [ { property => 'crmsync_key', value => "dup:$t", ids => \@ids } ], "${one}_groups";
    is $d->{"duplicate_$t"}, 2, "duplicate_$t counts the surplus records";
    $sb->api(DELETE => "/crm/v3/objects/$t/$_") for @ids[1, 2];
    is $sb->duplicates->{"duplicate_$t"}, 0, "$t: archived records do not count";
}

# ------------------------------------------------ 7a. v4 associations: no lag, inline ones included
$sb->config(index_lag => 30);
my $deal = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'fresh', dealstage => 'appointmentscheduled' },
                                                       associations => assoc($bo, 3) })->{body}{id};
my @want = map { $_->{id} } grep { !$_->{archived} && grep({ $_->{id} eq $bo } @{$_->{associations}{contacts} // []}) }
           @{$sb->objects('deals')->{deals}};
$r = $sb->api(GET => "/crm/v4/objects/contacts/$bo/associations/deals");
is_deeply [ sort map { $_->{toObjectId} } @{$r->{body}{results}} ], [ sort { $a <=> $b } @want ], 'v4 read at once lists the inline association';
ok scalar(grep { $_->{toObjectId} == $deal } @{$r->{body}{results}}), 'including the deal just created';
is $r->{body}{results}[-1]{associationTypes}[0]{typeId}, 4, 'contact -> deal type 4';
is scalar @{$sb->api(GET => "/crm/objects/2026-03/contacts/$bo/associations/deals")->{body}{results}}, scalar @want,
    'dated path /crm/objects/2026-03/contacts/{id}/associations/deals';
is $sb->api(POST => '/crm/associations/2026-03/contacts/deals/batch/read', { inputs => [ { id => $bo } ] })->{status}, 200,
    'dated association batch read';
$r = $sb->api(POST => '/crm/v3/objects/deals/search',
              { filterGroups => [ { filters => [ { propertyName => 'associations.contact', operator => 'EQ', value => $bo } ] } ] });
ok !grep({ $_->{id} eq $deal } @{$r->{body}{results}}), 'while search does not see the new deal yet';
is $sb->api(GET => "/crm/v4/objects/deals/$deal/associations/contacts")->{body}{results}[0]{toObjectId}, $bo, 'deal -> contact at once';
$sb->api(DELETE => "/crm/v3/objects/deals/$deal");
ok !grep({ $_->{toObjectId} == $deal } @{$sb->api(GET => "/crm/v4/objects/contacts/$bo/associations/deals")->{body}{results}}),
    'an archived deal leaves the v4 read at once';
$sb->config(index_lag => $LAG);

# ------------------------------------------------ 7b. pipelines: stage metadata as HubSpot sends it
$r = $sb->api(GET => '/crm/v3/pipelines/deals');
my ($chat) = grep { $_->{id} eq 'chat' } @{$r->{body}{results}};
my %st = map { $_->{id} => $_->{metadata} } @{$chat->{stages}};
is_deeply \%st, { chat_new => { probability => '0.1', isClosed => 'false' }, chat_won => { probability => '1', isClosed => 'true' },
                  chat_lost => { probability => '0.0', isClosed => 'true' }, chat_open2 => { probability => '0.5', isClosed => 'false' } },
    'metadata: isClosed "true"/"false" and probability as strings';
like $r->{raw}, qr/"isClosed":"false"/, 'isClosed is a JSON string';
like $r->{raw}, qr/"probability":"0\.2"/, 'probability is a JSON string';
unlike $r->{raw}, qr/"(?:isClosed|probability)":(?:true|false|\d)/, 'never a JSON boolean or number';
is $sb->api(GET => '/crm/pipelines/2026-03/deals/chat/stages')->{body}{results}[1]{metadata}{isClosed}, 'true',
    'dated path /crm/pipelines/2026-03/deals/{id}/stages';

# ------------------------------------------------ 7c. owners paging
$sb->add_owner(id => 50000 + $_, email => "rep$_\@example.com") for 1 .. 5;
my $all = $sb->api(GET => '/crm/v3/owners')->{body};
ok !$all->{paging}, 'one page holds every owner at the default limit';
my (@seen, $after, $pages);
while (1) {
    $r = $sb->api(GET => '/crm/v3/owners?limit=2' . (defined $after ? "&after=$after" : ''));
    push @seen, map { $_->{id} } @{$r->{body}{results}};
    $pages++;
    ok @{$r->{body}{results}} <= 2, "page $pages holds at most 2";
    $after = $r->{body}{paging}{next}{after} // last;
    last if $pages > 10;
}
is_deeply \@seen, [ map { $_->{id} } @{$all->{results}} ], 'paging with limit=2 and after= walks every active owner once, in order';
is $pages, int((@seen + 1) / 2), 'and the last page has no paging.next';
is $sb->api(GET => '/crm/owners/2026-03?email=rep3@example.com')->{body}{results}[0]{id}, '50003', 'dated path /crm/owners/2026-03';
is $sb->api(GET => '/crm/v3/owners?limit=0')->{status}, 400, 'limit 0 refused';

# ------------------------------------------------ 7d. note limits
$r = $sb->api(POST => '/crm/v3/objects/notes', { properties => { hs_note_body => 'no time' } });
is $r->{status}, 400, 'a note without hs_timestamp: 400';
is $r->{body}{errors}[0]{code}, 'REQUIRED_PROPERTY', 'REQUIRED_PROPERTY';
is_deeply $r->{body}{errors}[0]{context}{propertyName}, ['hs_timestamp'], 'naming hs_timestamp';
$r = $sb->api(POST => '/crm/v3/objects/notes', rec('notes', 'long', hs_note_body => 'x' x 65537));
is $r->{status}, 400, 'hs_note_body of 65,537 characters: 400';
is $r->{body}{category}, 'VALIDATION_ERROR', 'VALIDATION_ERROR';
like $r->{body}{message}, qr/^Property values were not valid: /, 'HubSpot\'s property-error message';
is_deeply $r->{body}{errors}[0]{context}{propertyName}, ['hs_note_body'], 'naming hs_note_body';
is $sb->api(POST => '/crm/v3/objects/notes', rec('notes', 'long2', hs_note_body => 'x' x 65536))->{status}, 201, '65,536 characters accepted';
$r = $sb->api(POST => '/crm/v3/objects/notes', rec('notes', 'long3', hs_note_body => "\x{e9}" x 65536));
is $r->{status}, 201, '65,536 two-byte characters accepted: the limit counts characters';
is length $r->{body}{properties}{hs_note_body}, 65536, 'stored whole';
is $sb->api(PATCH => "/crm/v3/objects/notes/$r->{body}{id}", { properties => { hs_note_body => 'y' x 65537 } })->{status}, 400,
    'an update over the limit: 400 too';

done_testing;

sub _esc { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge; $s }

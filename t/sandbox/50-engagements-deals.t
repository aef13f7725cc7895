#!/usr/bin/env perl
# Notes, communications, tasks and deals with inline associations (the
# directional type ids of fact sheet §5), v4 association reads and writes,
# owners (§8) and deal pipelines (§6).
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start;
sub assoc { my ($id, $type) = @_; return [ { to => { id => $id }, types => [ { associationCategory => 'HUBSPOT_DEFINED', associationTypeId => $type } ] } ] }

my $contact = $sb->api(POST => '/crm/v3/objects/contacts', { properties => { email => 'lead@example.com' } })->{body}{id};

# --- owners
my $r = $sb->api(GET => '/crm/v3/owners');
is $r->{status}, 200, 'owners list';
my @owners = @{$r->{body}{results}};
ok @owners >= 2, 'seeded active owners';
my $o = $owners[0];
for my $k (qw(id email type firstName lastName userId userIdIncludingInactive createdAt updatedAt archived teams)) {
    ok exists $o->{$k}, "PublicOwner has $k";
}
like $o->{id}, qr/^\d+$/, 'owner id is a numeric string';
ok !ref $o->{id}, 'owner id is a string';
ok !grep({ $_->{archived} } @owners), 'archived owners hidden by default';
$r = $sb->api(GET => '/crm/v3/owners?archived=true');
my ($gone) = @{$r->{body}{results}};
ok $gone && $gone->{archived}, 'archived=true lists deactivated owners';
ok !defined $gone->{userId} && $gone->{userIdIncludingInactive}, 'deactivated: userId null, userIdIncludingInactive kept';
$r = $sb->api(GET => '/crm/v3/owners?email=' . uc $o->{email});
is_deeply [map { $_->{id} } @{$r->{body}{results}}], [$o->{id}], 'filter by email';
is $sb->api(GET => "/crm/v3/owners/$o->{id}")->{body}{email}, $o->{email}, 'owner by id';
is $sb->api(GET => "/crm/v3/owners/$o->{userId}?idProperty=userId")->{body}{id}, $o->{id}, 'owner by userId';
is $sb->api(GET => '/crm/v3/owners/1')->{status}, 404, 'unknown owner 404';
my $added = $sb->add_owner(id => 777001, email => 'new.rep@example.com', firstName => 'New', lastName => 'Rep');
is $sb->api(GET => '/crm/v3/owners/777001')->{body}{email}, 'new.rep@example.com', 'owner added through /_sandbox';

# --- pipelines
$r = $sb->api(GET => '/crm/v3/pipelines/deals');
is $r->{status}, 200, 'deal pipelines';
my ($default) = grep { $_->{id} eq 'default' } @{$r->{body}{results}};
ok $default, 'default pipeline';
for my $k (qw(id label displayOrder archived createdAt updatedAt stages)) { ok exists $default->{$k}, "pipeline has $k" }
my %stage = map { $_->{id} => $_ } @{$default->{stages}};
ok $stage{appointmentscheduled}, 'appointmentscheduled stage';
is $stage{closedwon}{metadata}{probability}, '1.0', 'closed won probability 1.0';
is $stage{closedwon}{metadata}{isClosed}, 'true', 'closed won isClosed';
is $stage{closedlost}{metadata}{probability}, '0.0', 'closed lost probability 0.0';
is $stage{qualifiedtobuy}{metadata}{isClosed}, 'false', 'open stage';
is $sb->api(GET => '/crm/v3/pipelines/deals/default/stages')->{body}{results}[0]{id}, 'appointmentscheduled', 'stages of a pipeline';
is $sb->api(GET => '/crm/v3/pipelines/deals/nope')->{status}, 404, 'unknown pipeline 404';
$sb->add_pipeline(id => 'chat', label => 'Chat sales', stages => [ { id => 'new_chat', label => 'New chat' },
    { id => 'won_chat', label => 'Won', probability => '1.0', isClosed => 1 } ]);
is scalar @{$sb->api(GET => '/crm/v3/pipelines/deals')->{body}{results}}, 2, 'second pipeline added';

# --- deals with association type 3 (deal -> contact)
$r = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'WhatsApp lead - Jane', dealstage => 'appointmentscheduled',
    amount => '1500.00', hubspot_owner_id => $o->{id} }, associations => assoc($contact, 3) });
is $r->{status}, 201, 'deal created';
my $deal = $r->{body}{id};
is $r->{body}{properties}{pipeline}, 'default', 'default pipeline used when none given';
isnt $deal, $contact, 'ids are distinct across object types';
$r = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'x', pipeline => 'chat', dealstage => 'appointmentscheduled' } });
is $r->{status}, 400, 'a stage of another pipeline is refused';
is $r->{body}{errors}[0]{code}, 'INVALID_OPTION', 'INVALID_OPTION';
$r = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'x', pipeline => 'chat', dealstage => 'new_chat' } });
is $r->{status}, 201, 'stage of the named pipeline accepted';
$r = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'x' } });
is $r->{status}, 400, 'dealstage required';
$r = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'x', dealstage => 'closedwon' }, associations => assoc($contact, 4) });
is $r->{status}, 400, 'type 4 is contact->deal, wrong direction for a deal create';
$r = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'x', dealstage => 'closedwon' }, associations => assoc('987654', 3) });
is $r->{status}, 400, 'association to a missing contact refused';

# --- note (202), communication (81), task (204) on the contact; note on the deal (214)
$r = $sb->api(POST => '/crm/v3/objects/notes', { properties => { hs_timestamp => '2021-11-12T15:48:22Z', hs_note_body => 'transcript' },
    associations => [ @{assoc($contact, 202)}, @{assoc($deal, 214)} ] });
is $r->{status}, 201, 'note created with two associations';
my $note = $r->{body}{id};
is_deeply [sort keys %{$r->{body}{properties}}], [sort qw(hs_createdate hs_lastmodifieddate hs_object_id hs_note_body hs_timestamp)],
    'note properties';
is $r->{body}{properties}{hs_timestamp}, '2021-11-12T15:48:22.000Z', 'hs_timestamp normalized to ISO';
$r = $sb->api(POST => '/crm/v3/objects/notes', { properties => { hs_note_body => 'no timestamp' }, associations => assoc($contact, 202) });
is $r->{status}, 400, 'hs_timestamp is required on notes';
$r = $sb->api(POST => '/crm/v3/objects/notes', { properties => { hs_timestamp => '1636732102000', hs_note_body => 'x' x 65537 } });
is $r->{status}, 400, 'note body over 65,536 characters refused';
$r = $sb->api(POST => '/crm/v3/objects/notes', { properties => { hs_timestamp => '1636732102000', hs_note_body => 'x' x 65536 } });
is $r->{status}, 201, 'exactly 65,536 characters accepted';
is $r->{body}{properties}{hs_timestamp}, '2021-11-12T15:48:22.000Z', 'epoch ms accepted';
$sb->api(DELETE => "/crm/v3/objects/notes/$r->{body}{id}");
$r = $sb->api(POST => '/crm/v3/objects/notes', { properties => { hs_timestamp => '1636732102000', hs_note_body => 'x' }, associations => assoc($contact, 204) });
is $r->{status}, 400, 'task type id on a note refused';

$r = $sb->api(POST => '/crm/v3/objects/communications', { properties => { hs_communication_channel_type => 'WHATS_APP',
    hs_communication_logged_from => 'CRM', hs_communication_body => 'hola', hs_timestamp => '2024-01-01T00:00:00Z' },
    associations => assoc($contact, 81) });
is $r->{status}, 201, 'communication created';
my $comm = $r->{body}{id};
$r = $sb->api(POST => '/crm/v3/objects/communications', { properties => { hs_communication_channel_type => 'TELEGRAM',
    hs_communication_logged_from => 'CRM', hs_timestamp => '2024-01-01T00:00:00Z' } });
is $r->{body}{errors}[0]{code}, 'INVALID_OPTION', 'channel type must be WHATS_APP, LINKEDIN_MESSAGE or SMS';

$r = $sb->api(POST => '/crm/v3/objects/tasks', { properties => { hs_timestamp => '2019-10-30T03:30:17.883Z', hs_task_subject => 'Follow up',
    hs_task_status => 'NOT_STARTED', hs_task_priority => 'HIGH', hs_task_type => 'TODO', hubspot_owner_id => $o->{id} },
    associations => [ @{assoc($contact, 204)}, @{assoc($deal, 216)} ] });
is $r->{status}, 201, 'task created';
my $task = $r->{body}{id};
is $sb->api(POST => '/crm/v3/objects/tasks', { properties => { hs_timestamp => '2019-10-30T03:30:17.883Z', hs_task_priority => 'URGENT' } })->{status},
    400, 'task priority must be LOW/MEDIUM/HIGH';

# --- v4 reads: the inverse direction ids
$r = $sb->api(GET => "/crm/v4/objects/contacts/$contact/associations/deals");
is $r->{status}, 200, 'v4 associations read';
is_deeply $r->{body}{results}, [ { toObjectId => $deal + 0, associationTypes => [ { category => 'HUBSPOT_DEFINED', typeId => 4, label => undef } ] } ],
    'contact -> deal is type 4';
like $r->{raw}, qr/"toObjectId":\d+/, 'toObjectId is a JSON number (v4)';
is $sb->api(GET => "/crm/v4/objects/deals/$deal/associations/contacts")->{body}{results}[0]{associationTypes}[0]{typeId}, 3, 'deal -> contact is 3';
is $sb->api(GET => "/crm/v4/objects/contacts/$contact/associations/notes")->{body}{results}[0]{associationTypes}[0]{typeId}, 201, 'contact -> note is 201';
is $sb->api(GET => "/crm/v4/objects/notes/$note/associations/contacts")->{body}{results}[0]{associationTypes}[0]{typeId}, 202, 'note -> contact is 202';
is $sb->api(GET => "/crm/v4/objects/contacts/$contact/associations/communications")->{body}{results}[0]{associationTypes}[0]{typeId}, 82, 'contact -> communication is 82';
is $sb->api(GET => "/crm/v4/objects/contacts/$contact/associations/tasks")->{body}{results}[0]{associationTypes}[0]{typeId}, 203, 'contact -> task is 203';
is $sb->api(GET => "/crm/v4/objects/deals/$deal/associations/notes")->{body}{results}[0]{associationTypes}[0]{typeId}, 213, 'deal -> note is 213';
is $sb->api(GET => "/crm/v4/objects/deals/$deal/associations/tasks")->{body}{results}[0]{associationTypes}[0]{typeId}, 215, 'deal -> task is 215';

# v3 read with ?associations=
$r = $sb->api(GET => "/crm/v3/objects/contacts/$contact?associations=deals,notes");
is_deeply $r->{body}{associations}{deals}{results}, [ { id => $deal, type => 'contact_to_deal' } ], 'v3 ?associations=deals';
is $r->{body}{associations}{notes}{results}[0]{id}, $note, 'v3 ?associations=notes';

# --- v4 writes
my $deal2 = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'Second', dealstage => 'qualifiedtobuy' } })->{body}{id};
$r = $sb->api(PUT => "/crm/v4/objects/contacts/$contact/associations/default/deals/$deal2");
is $r->{status}, 200, 'default association PUT';
is $r->{body}{results}[0]{associationSpec}{associationTypeId}, 4, 'default contact->deal is 4';
is scalar @{$sb->api(GET => "/crm/v4/objects/contacts/$contact/associations/deals")->{body}{results}}, 2, 'now two deals';
$r = $sb->api(PUT => "/crm/v4/objects/notes/$note/associations/deals/$deal2", [ { associationCategory => 'HUBSPOT_DEFINED', associationTypeId => 214 } ]);
is $r->{status}, 201, 'labelled association PUT';
is $r->{body}{fromObjectTypeId}, '0-46', 'fromObjectTypeId';
is $r->{body}{toObjectTypeId}, '0-3', 'toObjectTypeId';
is $sb->api(DELETE => "/crm/v4/objects/contacts/$contact/associations/deals/$deal2")->{status}, 204, 'association DELETE';
is scalar @{$sb->api(GET => "/crm/v4/objects/contacts/$contact/associations/deals")->{body}{results}}, 1, 'back to one deal';
$r = $sb->api(POST => '/crm/v4/associations/contacts/deals/batch/read', { inputs => [ { id => $contact }, { id => '55555' } ] });
is $r->{status}, 207, 'v4 batch read with a missing id -> 207';
is $r->{body}{results}[0]{to}[0]{toObjectId}, $deal + 0, 'batch read result';
$r = $sb->api(POST => '/crm/v4/associations/deals/contacts/batch/create', { inputs => [ { from => { id => $deal2 }, to => { id => $contact },
    types => [ { associationCategory => 'HUBSPOT_DEFINED', associationTypeId => 3 } ] } ] });
is $r->{status}, 201, 'v4 batch create';
is scalar @{$sb->api(GET => "/crm/v4/objects/contacts/$contact/associations/deals")->{body}{results}}, 2, 'association visible from the other side';

# --- searching deals by associated contact
$r = $sb->api(POST => '/crm/v3/objects/deals/search', { filterGroups => [ { filters => [ { propertyName => 'associations.contact', operator => 'EQ', value => $contact } ] } ] });
is_deeply [sort map { $_->{id} } @{$r->{body}{results}}], [sort $deal, $deal2], 'deal search by associations.contact';
is_deeply [sort keys %{$r->{body}{results}[0]{properties}}],
    [sort qw(amount closedate createdate dealname dealstage hs_lastmodifieddate hs_object_id pipeline)], 'deal search default properties';

# --- inspection shows the graph
my $dump = $sb->object(contacts => $contact);
is_deeply [sort map { $_->{id} } @{$dump->{associations}{deals}}], [sort $deal, $deal2], '/_sandbox/objects shows associations';
is $dump->{associations}{communications}[0]{id}, $comm, 'including the communication';
is $dump->{associations}{tasks}[0]{id}, $task, 'and the task';

done_testing;

#!/usr/bin/env perl
# Batch create/read/update/upsert/archive: 100-input limit, whole-batch
# failure on one conflict, 207 with objectWriteTraceId, the upsert "new"
# flag, idProperty rules, duplicate inputs rejected (fact sheet §2, §4, §11).
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start;
my $B = '/crm/v3/objects/contacts/batch';
my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

# a unique channel-id property for upserts without email
my $r = $sb->api(POST => '/crm/v3/properties/contacts', { name => 'wa_id', label => 'WhatsApp ID',
    type => 'string', fieldType => 'text', groupName => 'contactinformation', hasUniqueValue => JSON::PP::true });
is $r->{status}, 201, 'unique property created';

# --- batch create
$r = $sb->api(POST => "$B/create", { inputs => [ map { { properties => { email => "b$_\@example.com" } } } 1 .. 3 ] });
is $r->{status}, 201, 'batch create 201';
is $r->{body}{status}, 'COMPLETE', 'status COMPLETE';
is scalar @{$r->{body}{results}}, 3, 'three results';
like $r->{body}{startedAt}, $ISO, 'startedAt';
like $r->{body}{completedAt}, $ISO, 'completedAt';
my %id = map { $_->{properties}{email} => $_->{id} } @{$r->{body}{results}};

# one existing email fails the whole batch (no trace ids)
$r = $sb->api(POST => "$B/create", { inputs => [ { properties => { email => 'new1@example.com' } },
                                                 { properties => { email => 'b2@example.com' } },
                                                 { properties => { email => 'b3@example.com' } } ] });
is $r->{status}, 409, 'one conflict fails the batch';
is $r->{body}{category}, 'CONFLICT', 'CONFLICT';
is $r->{body}{message}, "Contact already exists. Existing ID: $id{'b2@example.com'}", 'only the first conflict is named';
is $sb->api(GET => '/crm/v3/objects/contacts/new1@example.com?idProperty=email')->{status}, 404,
    'nothing from the failed batch was created';

# two inputs with one email in a batch -> 409 as well
$r = $sb->api(POST => "$B/create", { inputs => [ { properties => { email => 'twin@example.com' } },
                                                 { properties => { email => 'TWIN@example.com' } } ] });
is $r->{status}, 409, 'two inputs sharing an email -> 409';
is scalar(grep { ($_->{properties}{email} // '') eq 'twin@example.com' } @{$sb->contacts}), 0, 'neither created';

# with unique objectWriteTraceIds: partial success, 207
$r = $sb->api(POST => "$B/create", { inputs => [
    { properties => { email => 'p1@example.com' }, objectWriteTraceId => 't-1' },
    { properties => { email => 'b1@example.com' }, objectWriteTraceId => 't-2' },
    { properties => { email => 'p3@example.com', bogus => 'x' }, objectWriteTraceId => 't-3' } ] });
is $r->{status}, 207, 'partial create answers 207';
is $r->{body}{numErrors}, 2, 'numErrors';
is scalar @{$r->{body}{results}}, 1, 'one created';
is_deeply [sort map { $_->{context}{objectWriteTraceId}[0] } @{$r->{body}{errors}}], ['t-2', 't-3'],
    'errors map back through context.objectWriteTraceId';
my ($conf) = grep { $_->{context}{objectWriteTraceId}[0] eq 't-2' } @{$r->{body}{errors}};
is $conf->{category}, 'CONFLICT', 'conflict error in the batch';
like $conf->{message}, qr/Existing ID: $id{'b1@example.com'}/, 'with Existing ID';
is $conf->{status}, 'error', 'StandardError status';

# 100-input limit
$r = $sb->api(POST => "$B/create", { inputs => [ map { { properties => { firstname => "n$_" } } } 1 .. 101 ] });
is $r->{status}, 400, '101 inputs refused';
is $r->{body}{category}, 'VALIDATION_ERROR', 'VALIDATION_ERROR';
$r = $sb->api(POST => "$B/create", { inputs => [ map { { properties => { firstname => "n$_" } } } 1 .. 100 ] });
is $r->{status}, 201, '100 inputs accepted';
is scalar @{$r->{body}{results}}, 100, '100 results';

# --- batch read
$r = $sb->api(POST => "$B/read", { idProperty => 'email', properties => ['email', 'firstname'],
                                   inputs => [ { id => 'b1@example.com' }, { id => 'B2@example.com' } ] });
is $r->{status}, 200, 'batch read by email';
is_deeply [sort map { $_->{id} } @{$r->{body}{results}}], [sort @id{'b1@example.com', 'b2@example.com'}], 'both found';
is_deeply [sort keys %{$r->{body}{results}[0]{properties}}], [qw(createdate email firstname hs_object_id lastmodifieddate)],
    'requested properties plus id and dates';
$r = $sb->api(POST => "$B/read", { inputs => [ { id => $id{'b1@example.com'} }, { id => '99999' } ] });
is $r->{status}, 207, 'a missing id -> 207';
is $r->{body}{numErrors}, 1, 'numErrors 1';
is $r->{body}{errors}[0]{category}, 'OBJECT_NOT_FOUND', 'OBJECT_NOT_FOUND';
is_deeply $r->{body}{errors}[0]{context}{ids}, ['99999'], 'context.ids';

# --- batch update
$r = $sb->api(POST => "$B/update", { inputs => [ { id => $id{'b1@example.com'}, properties => { firstname => 'One' } },
                                                 { id => $id{'b2@example.com'}, properties => { firstname => 'Two' } } ] });
is $r->{status}, 200, 'batch update 200';
is_deeply [sort map { $_->{properties}{firstname} } @{$r->{body}{results}}], ['One', 'Two'], 'values written';
$r = $sb->api(POST => "$B/update", { inputs => [ { id => $id{'b1@example.com'}, properties => { firstname => 'A' } },
                                                 { id => $id{'b1@example.com'}, properties => { firstname => 'B' } } ] });
is $r->{status}, 400, 'duplicate ids in batch update rejected';
like $r->{body}{message}, qr/Duplicate IDs/, 'message says so';
$r = $sb->api(POST => "$B/update", { inputs => [ { id => 'b1@example.com', idProperty => 'email',
                                                   properties => { firstname => 'X' } } ] });
is $r->{status}, 400, 'idProperty email in batch/update refused';
like $r->{body}{message}, qr/^Unable to perform update\/upsert by non-unique 0-1 property/, 'HubSpot\'s message';
$r = $sb->api(POST => "$B/update", { inputs => [ { id => '424242', properties => { firstname => 'X' } },
                                                 { id => $id{'b3@example.com'}, properties => { firstname => 'Three' } } ] });
is $r->{status}, 207, 'missing record in batch update -> 207';
is scalar @{$r->{body}{results}}, 1, 'the other one updated';

# --- batch upsert by email
$r = $sb->api(POST => "$B/upsert", { inputs => [
    { id => 'b1@example.com', idProperty => 'email', properties => { lastname => 'Existing' } },
    { id => 'Fresh@Example.com', idProperty => 'email', properties => { lastname => 'Fresh' } } ] });
is $r->{status}, 200, 'upsert 200';
my %res = map { $_->{properties}{email} => $_ } @{$r->{body}{results}};
ok $res{'b1@example.com'} && !$res{'b1@example.com'}{new}, 'existing record: new false';
is $res{'b1@example.com'}{id}, $id{'b1@example.com'}, 'existing record keeps its id';
ok $res{'fresh@example.com'} && $res{'fresh@example.com'}{new}, 'missing record: new true';
like $r->{raw}, qr/"new":(true|false)/, 'new is a JSON boolean';
is $res{'fresh@example.com'}{properties}{lastname}, 'Fresh', 'properties written on create';

# the same record twice in one upsert -> rejected, nothing written
$r = $sb->api(POST => "$B/upsert", { inputs => [
    { id => 'dup@example.com', idProperty => 'email', properties => { lastname => 'A' } },
    { id => 'DUP@example.com', idProperty => 'email', properties => { lastname => 'B' } } ] });
is $r->{status}, 400, 'two inputs for one record rejected';
is $r->{body}{category}, 'VALIDATION_ERROR', 'VALIDATION_ERROR';
is $sb->api(GET => '/crm/v3/objects/contacts/dup@example.com?idProperty=email')->{status}, 404, 'nothing created';

# hs_object_id / non-unique idProperty refused
$r = $sb->api(POST => "$B/upsert", { inputs => [ { id => '1', idProperty => 'hs_object_id', properties => {} } ] });
is $r->{status}, 400, 'hs_object_id is not an idProperty';
is $r->{body}{message}, 'Unable to perform update/upsert by non-unique 0-1 property hs_object_id', 'exact message';
$r = $sb->api(POST => "$B/upsert", { inputs => [ { id => 'x', idProperty => 'firstname', properties => {} } ] });
is $r->{status}, 400, 'non-unique property refused';

# email upserts are never partial: one bad input fails all
$r = $sb->api(POST => "$B/upsert", { inputs => [
    { id => 'ok@example.com', idProperty => 'email', properties => { lastname => 'Ok' } },
    { id => 'bad@example.com', idProperty => 'email', properties => { nosuch => 'x' } } ] });
is $r->{status}, 400, 'email upsert with one invalid input fails as a whole';
is $sb->api(GET => '/crm/v3/objects/contacts/ok@example.com?idProperty=email')->{status}, 404, 'nothing written';

# --- upsert by a custom unique property: partial upserts work
$r = $sb->api(POST => "$B/upsert", { inputs => [
    { id => '14155550101', idProperty => 'wa_id', properties => { phone => '+14155550101' }, objectWriteTraceId => 'w1' },
    { id => '14155550102', idProperty => 'wa_id', properties => { nosuch => 'x' }, objectWriteTraceId => 'w2' } ] });
is $r->{status}, 207, 'custom idProperty allows partial upsert (207)';
is scalar @{$r->{body}{results}}, 1, 'one result';
ok $r->{body}{results}[0]{new}, 'created';
is $r->{body}{results}[0]{properties}{wa_id}, '14155550101', 'the id value is stored on the property';
is $r->{body}{errors}[0]{context}{objectWriteTraceId}[0], 'w2', 'error mapped by trace id';
my $wa = $r->{body}{results}[0]{id};
$r = $sb->api(POST => "$B/upsert", { inputs => [
    { id => '14155550101', idProperty => 'wa_id', properties => { firstname => 'Wanda' } } ] });
ok !$r->{body}{results}[0]{new}, 'second upsert updates';
is $r->{body}{results}[0]{id}, $wa, 'same record';
is $sb->api(GET => "/crm/v3/objects/contacts/14155550101?idProperty=wa_id")->{body}{id}, $wa, 'GET by unique property';

# an upsert that would give a contact somebody else's email -> CONFLICT
$r = $sb->api(POST => "$B/upsert", { inputs => [
    { id => '14155550101', idProperty => 'wa_id', properties => { email => 'b3@example.com' }, objectWriteTraceId => 'w3' } ] });
is $r->{status}, 207, 'conflict inside a custom-id upsert is a per-input error';
is $r->{body}{errors}[0]{category}, 'CONFLICT', 'CONFLICT';
like $r->{body}{errors}[0]{message}, qr/Existing ID: $id{'b3@example.com'}/, 'Existing ID named';

# two inputs with different keys that resolve to the same record -> rejected
$sb->api(PATCH => "/crm/v3/objects/contacts/$wa", { properties => { email => 'wanda@example.com' } });
$r = $sb->api(POST => "$B/upsert", { inputs => [
    { id => '14155550101', idProperty => 'wa_id', properties => { lastname => 'A' } },
    { id => 'wanda@example.com', idProperty => 'email', properties => { lastname => 'B' } } ] });
is $r->{status}, 400, 'two keys for one record in one upsert rejected';

# 100 inputs limit applies to upsert too
$r = $sb->api(POST => "$B/upsert", { inputs => [ map { { id => "u$_\@example.com", idProperty => 'email', properties => {} } } 1 .. 101 ] });
is $r->{status}, 400, 'upsert: 101 inputs refused';

# --- batch archive
$r = $sb->api(POST => "$B/archive", { inputs => [ { id => $id{'b1@example.com'} } ] });
is $r->{status}, 204, 'batch archive 204';
is $sb->api(GET => "/crm/v3/objects/contacts/$id{'b1@example.com'}")->{status}, 404, 'archived';

done_testing;

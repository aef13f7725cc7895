#!/usr/bin/env perl
# Custom properties and hasUniqueValue (at most 10 per object), and the
# contact merge: a new id, old ids still resolve, hs_merged_object_ids,
# hs_additional_emails, primary wins (fact sheet §4, §13).
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start;
my $P = '/crm/v3/properties/contacts';
my $C = '/crm/v3/objects/contacts';
my %base = (label => 'L', type => 'string', fieldType => 'text', groupName => 'contactinformation');

# --- properties
my $r = $sb->api(POST => $P, { %base, name => 'chat_whatsapp_id', label => 'WhatsApp ID', hasUniqueValue => JSON::PP::true });
is $r->{status}, 201, 'custom unique property created';
ok $r->{body}{hasUniqueValue}, 'hasUniqueValue true';
is $r->{body}{name}, 'chat_whatsapp_id', 'name';
for my $k (qw(name label type fieldType groupName options hasUniqueValue modificationMetadata createdAt archived)) {
    ok exists $r->{body}{$k}, "Property has $k";
}
$r = $sb->api(POST => $P, { %base, name => 'chat_whatsapp_id' });
is $r->{status}, 409, 'same name again -> 409';
is $r->{body}{category}, 'OBJECT_ALREADY_EXISTS', 'OBJECT_ALREADY_EXISTS';
$r = $sb->api(POST => $P, { name => 'x_missing' });
is $r->{status}, 400, 'missing required fields';
is_deeply [sort map { $_->{context}{field}[0] } @{$r->{body}{errors}}], [sort qw(fieldType groupName label type)],
    'errors[] name each missing field';
is $sb->api(POST => $P, { %base, name => 'Bad Name' })->{status}, 400, 'invalid internal name refused';
is $sb->api(POST => $P, { %base, name => 'x_type', type => 'blob' })->{status}, 400, 'invalid type refused';
$r = $sb->api(GET => "$P/chat_whatsapp_id");
is $r->{body}{label}, 'WhatsApp ID', 'read one property';
is $sb->api(GET => "$P/nope")->{status}, 404, 'unknown property 404';
my ($email) = grep { $_->{name} eq 'email' } @{$sb->api(GET => $P)->{body}{results}};
ok $email, 'list includes HubSpot-defined properties';
$r = $sb->api(GET => "$P/hs_searchable_calculated_phone_number");
is $r->{body}{type}, 'phone_number', 'calculated searchable phone is type phone_number';
ok $r->{body}{modificationMetadata}{readOnlyValue}, 'and read-only';
$r = $sb->api(PATCH => "$P/chat_whatsapp_id", { hasUniqueValue => JSON::PP::false });
is $r->{status}, 400, 'hasUniqueValue cannot be changed once set';

# 10 unique properties per object at most (one exists already)
for my $i (2 .. 10) {
    $r = $sb->api(POST => $P, { %base, name => "uniq_$i", hasUniqueValue => JSON::PP::true });
    is $r->{status}, 201, "unique property $i of 10";
}
$r = $sb->api(POST => $P, { %base, name => 'uniq_11', hasUniqueValue => JSON::PP::true });
is $r->{status}, 400, 'the 11th unique property is refused';
is $r->{body}{category}, 'VALIDATION_ERROR', 'VALIDATION_ERROR';
is $sb->api(POST => $P, { %base, name => 'not_unique' })->{status}, 201, 'non-unique properties still fine';
is $sb->api(POST => '/crm/v3/properties/deals', { %base, name => 'deal_key', hasUniqueValue => JSON::PP::true })->{status}, 201,
    'the limit is per object type';

# unique values are enforced on create and update
my $holder = $sb->api(POST => $C, { properties => { chat_whatsapp_id => '491701234567', firstname => 'A' } })->{body}{id};
$r = $sb->api(POST => $C, { properties => { chat_whatsapp_id => '491701234567', firstname => 'B' } });
is $r->{status}, 409, 'second record with the same unique value -> 409';
like $r->{body}{message}, qr/Existing ID: $holder$/, 'names the holder';
is $r->{body}{category}, 'CONFLICT', 'CONFLICT';
is $sb->api(GET => "$C/491701234567?idProperty=chat_whatsapp_id")->{body}{id}, $holder, 'GET by unique property';
is $sb->api(PATCH => "$C/491701234567?idProperty=chat_whatsapp_id", { properties => { lastname => 'Z' } })->{status}, 200, 'PATCH by unique property';
is $sb->api(POST => "$C/batch/read", { idProperty => 'chat_whatsapp_id', inputs => [ { id => '491701234567' } ] })->{body}{results}[0]{id},
    $holder, 'batch/read by unique property';

# --- merge
my $p = $sb->api(POST => $C, { properties => { email => 'primary@example.com', firstname => 'Pri', phone => '+14155550123' },
    associations => [] })->{body}{id};
my $s = $sb->api(POST => $C, { properties => { email => 'second@example.com', firstname => 'Sec', lastname => 'Only',
    chat_whatsapp_id => '14155550123' } })->{body}{id};
my $deal = $sb->api(POST => '/crm/v3/objects/deals', { properties => { dealname => 'D', dealstage => 'qualifiedtobuy' },
    associations => [ { to => { id => $s }, types => [ { associationCategory => 'HUBSPOT_DEFINED', associationTypeId => 3 } ] } ] })->{body}{id};
$r = $sb->api(POST => "$C/merge", { primaryObjectId => $p, objectIdToMerge => $s });
is $r->{status}, 200, 'merge 200';
my $m = $r->{body};
ok $m->{id} ne $p && $m->{id} ne $s, 'merge creates a NEW id';
is $m->{properties}{hs_merged_object_ids}, join(';', sort { $a <=> $b } $p, $s), 'hs_merged_object_ids lists both old ids, ;-separated';
is $m->{properties}{firstname}, 'Pri', 'primary values win';
is $m->{properties}{lastname}, 'Only', 'values only the secondary had are kept';
is $m->{properties}{email}, 'primary@example.com', 'primary email stays';
is $m->{properties}{hs_additional_emails}, 'second@example.com', 'the other email moves to hs_additional_emails';
is $m->{properties}{hs_object_id}, $m->{id}, 'hs_object_id is the new id';
for my $old ($p, $s) {
    $r = $sb->api(GET => "$C/$old");
    is $r->{status}, 200, "old id $old still resolves";
    is $r->{body}{id}, $m->{id}, 'to the merged record with the new id';
}
is $sb->api(GET => "$C/second\@example.com?idProperty=email")->{body}{id}, $m->{id}, 'secondary email finds the merged record';
is $sb->api(POST => $C, { properties => { email => 'second@example.com' } })->{status}, 409,
    'an additional email is unique too';
is $sb->api(GET => "$C/14155550123?idProperty=chat_whatsapp_id")->{body}{id}, $m->{id}, 'unique property moved to the merged record';
is $sb->api(GET => "/crm/v4/objects/contacts/$m->{id}/associations/deals")->{body}{results}[0]{toObjectId}, $deal + 0,
    'associations move to the merged record';
is $sb->api(GET => "/crm/v4/objects/deals/$deal/associations/contacts")->{body}{results}[0]{toObjectId}, $m->{id} + 0,
    'and are seen from the other side';
$r = $sb->api(POST => "$C/batch/read", { inputs => [ { id => $p } ] });
is $r->{body}{results}[0]{id}, $m->{id}, 'batch/read by an old id returns the merged record';
$r = $sb->api(PATCH => "$C/$s", { properties => { jobtitle => 'CTO' } });
is $r->{body}{id}, $m->{id}, 'PATCH by an old id updates the merged record';
my $objs = $sb->objects('contacts');
is $objs->{merged}{contacts}{$p}, $m->{id}, '/_sandbox/objects reports the merge map';
is scalar(grep { $_->{id} eq $p || $_->{id} eq $s } @{$objs->{contacts}}), 0, 'the old records are gone';

# merging the merged record again accumulates ids
my $t = $sb->api(POST => $C, { properties => { email => 'third@example.com' } })->{body}{id};
$r = $sb->api(POST => "$C/merge", { primaryObjectId => $m->{id}, objectIdToMerge => $t });
is $r->{body}{properties}{hs_merged_object_ids}, join(';', sort { $a <=> $b } $p, $s, $m->{id}, $t), 'merged ids accumulate';
is $sb->api(GET => "$C/$p")->{body}{id}, $r->{body}{id}, 'the oldest id follows the chain';

$r = $sb->api(POST => "$C/merge", { primaryObjectId => $t, objectIdToMerge => $t });
is $r->{status}, 400, 'merge with itself refused';
is $sb->api(POST => "$C/merge", { primaryObjectId => '99999', objectIdToMerge => $holder })->{status}, 404, 'missing primary 404';

done_testing;

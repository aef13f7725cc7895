#!/usr/bin/env perl
# Contacts: create, read (by id, by email, by unique property), update,
# archive; SimplePublicObject shape; 409 CONFLICT with "Existing ID";
# validation errors in HubSpot's body shape (fact sheet §2, §4, §11).
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start;
my $C = '/crm/v3/objects/contacts';
my $ISO = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

sub error_shape {
    my ($r, $status, $category, $name) = @_;
    is $r->{status}, $status, "$name: HTTP $status";
    is $r->{body}{status}, 'error', "$name: status error";
    is $r->{body}{category}, $category, "$name: category $category";
    like $r->{body}{correlationId}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
        "$name: correlationId is a uuid";
    is $r->{body}{correlationId}, $r->{headers}{'x-hubspot-correlation-id'}, "$name: same id in the header";
    ok length $r->{body}{message}, "$name: message";
}

# --- create
my $r = $sb->api(POST => $C, { properties => { email => 'Jane.Doe@Example.COM', firstname => 'Jane',
                                               phone => '+1 (415) 555-0100' } });
is $r->{status}, 201, 'create answers 201';
my $c = $r->{body};
like $c->{id}, qr/^\d+$/, 'id is a numeric string';
ok !ref $c->{id} && $c->{id} eq "$c->{id}", 'id is a JSON string';
like $r->{raw}, qr/"id":"\d+"/, 'id is quoted in JSON';
like $c->{createdAt}, $ISO, 'createdAt ISO 8601 with ms';
like $c->{updatedAt}, $ISO, 'updatedAt ISO 8601';
ok !$c->{archived} && ref $c->{archived}, 'archived is JSON false';
is $c->{properties}{email}, 'jane.doe@example.com', 'email is stored lowercased';
is $c->{properties}{hs_object_id}, $c->{id}, 'hs_object_id mirrors id';
like $c->{properties}{createdate}, $ISO, 'createdate set';
like $c->{properties}{lastmodifieddate}, $ISO, 'lastmodifieddate set';
is $c->{properties}{hs_searchable_calculated_phone_number}, '4155550100',
    'calculated searchable phone drops the country code';
is $c->{properties}{hs_calculated_phone_number}, '+14155550100', 'international calculated phone';
my $id = $c->{id};

# --- 409 on an existing email, the id only inside message
$r = $sb->api(POST => $C, { properties => { email => 'jane.doe@example.com', firstname => 'Dup' } });
error_shape($r, 409, 'CONFLICT', 'duplicate email');
is $r->{body}{message}, "Contact already exists. Existing ID: $id", 'message carries Existing ID';
my ($parsed) = $r->{body}{message} =~ /Existing ID: (\d+)/;
is $parsed, $id, 'Existing ID parses with the documented regex';
is scalar @{$sb->contacts}, 1, 'no second contact was created';

# --- read by id: default properties, requested ones, null vs omitted
$r = $sb->api(GET => "$C/$id");
is $r->{status}, 200, 'read by id';
is_deeply [sort keys %{$r->{body}{properties}}],
    [qw(createdate email firstname hs_object_id lastmodifieddate lastname)], 'default properties';
ok exists $r->{body}{properties}{lastname} && !defined $r->{body}{properties}{lastname},
    'defined but empty property comes back null';
$r = $sb->api(GET => "$C/$id?properties=phone,mobilephone,no_such_prop");
ok exists $r->{body}{properties}{mobilephone} && !defined $r->{body}{properties}{mobilephone}, 'empty requested -> null';
ok !exists $r->{body}{properties}{no_such_prop}, 'undefined requested property is omitted';
is $r->{body}{properties}{phone}, '+1 (415) 555-0100', 'phone as written';

# --- read by email (encoded @ too), 404 shape
$r = $sb->api(GET => "$C/JANE.DOE\@example.com?idProperty=email");
is $r->{body}{id}, $id, 'read by email, case-insensitive';
$r = $sb->api(GET => "$C/jane.doe%40example.com?idProperty=email");
is $r->{body}{id}, $id, 'encoded @ in the path works';
$r = $sb->api(GET => "$C/nobody\@example.com?idProperty=email");
error_shape($r, 404, 'OBJECT_NOT_FOUND', 'unknown email');
$r = $sb->api(GET => "$C/999999");
error_shape($r, 404, 'OBJECT_NOT_FOUND', 'unknown id');
is_deeply $r->{body}{context}, { id => ['999999'] }, '404 context names the id';
$r = $sb->api(GET => "$C/$id?idProperty=firstname");
is $r->{status}, 400, 'lookup by a non-unique property is refused';

# --- update
$r = $sb->api(PATCH => "$C/$id", { properties => { lastname => 'Doe', firstname => '' } });
is $r->{status}, 200, 'PATCH answers 200';
is $r->{body}{properties}{lastname}, 'Doe', 'value written';
ok !defined $r->{body}{properties}{firstname}, '"" clears a value';
cmp_ok $r->{body}{updatedAt}, 'ge', $c->{updatedAt}, 'updatedAt moves';
$r = $sb->api(PATCH => "$C/jane.doe\@example.com?idProperty=email", { properties => { firstname => 'J' } });
is $r->{body}{properties}{firstname}, 'J', 'PATCH by email';
$r = $sb->api(GET => "$C/$id?propertiesWithHistory=firstname");
is_deeply [map { $_->{value} } @{$r->{body}{propertiesWithHistory}{firstname}}], ['J', '', 'Jane'],
    'propertiesWithHistory, newest first';

# email change onto another contact's email -> 409
my $other = $sb->api(POST => $C, { properties => { email => 'other@example.com' } })->{body}{id};
$r = $sb->api(PATCH => "$C/$other", { properties => { email => 'jane.doe@example.com' } });
is $r->{status}, 409, 'PATCH onto an existing email conflicts';
like $r->{body}{message}, qr/Existing ID: $id$/, 'with the holder id';

# --- validation
$r = $sb->api(POST => $C, { properties => { email => 'v@example.com', testproperty => 'x' } });
error_shape($r, 400, 'VALIDATION_ERROR', 'unknown property');
like $r->{body}{message}, qr/^Property values were not valid: \[/, 'message lists the invalid values';
is $r->{body}{errors}[0]{code}, 'PROPERTY_DOESNT_EXIST', 'errors[0].code';
is_deeply $r->{body}{errors}[0]{context}, { propertyName => ['testproperty'] }, 'errors[0].context';
$r = $sb->api(POST => $C, { properties => { hs_object_id => '5' } });
is $r->{body}{errors}[0]{code}, 'READ_ONLY_VALUE', 'read-only property rejected';
$r = $sb->api(POST => $C, { properties => { email => 'not-an-email' } });
is $r->{body}{errors}[0]{code}, 'INVALID_EMAIL', 'invalid email rejected';
$r = $sb->api(POST => $C, { properties => { lifecyclestage => 'Lead' } });
is $r->{body}{errors}[0]{code}, 'INVALID_OPTION', 'enumeration takes the internal value, not the label';
$r = $sb->api(POST => $C, { properties => { hubspot_owner_id => '9586504' } });
is $r->{body}{errors}[0]{code}, 'INVALID_OPTION', 'owner userId is not an owner id';
$r = $sb->api(POST => $C, '{"properties": ');
error_shape($r, 400, 'VALIDATION_ERROR', 'malformed JSON');
is scalar @{$sb->contacts}, 2, 'nothing created by invalid requests';

# numbers are accepted and stored as strings
$r = $sb->api(POST => $C, { properties => { firstname => 42, lifecyclestage => 'lead', hubspot_owner_id => '41629779' } });
is $r->{status}, 201, 'number coerced, owner id accepted';
is $r->{body}{properties}{firstname}, '42', 'value comes back as a string';
like $r->{raw}, qr/"firstname":"42"/, 'quoted in JSON';
my $third = $r->{body}{id};

# --- list
$r = $sb->api(GET => "$C?limit=2");
is scalar @{$r->{body}{results}}, 2, 'list page of 2';
ok $r->{body}{paging}{next}{after}, 'paging.next.after';
$r = $sb->api(GET => "$C?limit=2&after=$r->{body}{paging}{next}{after}");
is scalar @{$r->{body}{results}}, 1, 'second page';
$r = $sb->api(GET => "$C?limit=101");
is $r->{status}, 400, 'list limit over 100 refused';

# --- archive
$r = $sb->api(DELETE => "$C/$third");
is $r->{status}, 204, 'archive answers 204';
ok !length($r->{raw} // ''), 'with no body';
is $sb->api(GET => "$C/$third")->{status}, 404, 'archived contact is gone from reads';
$r = $sb->api(GET => "$C/$third?archived=true");
is $r->{status}, 200, 'but readable with archived=true';
ok $r->{body}{archived}, 'archived flag true';
like $r->{body}{archivedAt}, $ISO, 'archivedAt set';
$sb->api(DELETE => "$C/$other");
is $sb->api(POST => $C, { properties => { email => 'other@example.com' } })->{status}, 201,
    'an archived contact frees its email';

# --- dated path generation
$r = $sb->api(GET => "/crm/objects/2026-03/contacts/$id");
is $r->{body}{id}, $id, '/crm/objects/2026-03/ path works';
$r = $sb->api(GET => "/crm/v3/objects/0-1/$id");
is $r->{body}{id}, $id, 'object type id 0-1 works';
$r = $sb->api(GET => "/crm/v3/objects/widgets/1");
is $r->{status}, 400, 'unknown object type';

done_testing;

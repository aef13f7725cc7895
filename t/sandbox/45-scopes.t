#!/usr/bin/env perl
# Per-token scopes: a token given with a scope list ("--token TOKEN:s1,s2"
# or POST /_sandbox/tokens {"scopes": [...]}) is refused the schema writes
# it has no crm.schemas.<type>.write for, with HubSpot's 403
# MISSING_SCOPES body; a token without a list keeps every scope.
use strict;
use warnings;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start(
    token => 'pat-na1-full',
    tokens => ['pat-na1-objects:crm.objects.contacts.read,crm.objects.contacts.write',
               'pat-na1-schemas:crm.objects.contacts.write,crm.schemas.contacts.write']);
my $P = '/crm/v3/properties/contacts';
my $UUID = qr/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
my %prop = (label => 'WhatsApp id', type => 'string', fieldType => 'text',
            groupName => 'contactinformation', hasUniqueValue => JSON::PP::true());

my $r = $sb->api(POST => $P, { name => 'crmsync_whatsapp_id', %prop }, token => 'pat-na1-objects');
is $r->{status}, 403, 'a property create without crm.schemas.contacts.write: 403';
is $r->{body}{category}, 'MISSING_SCOPES', 'category MISSING_SCOPES';
is $r->{body}{status}, 'error', 'status error';
is $r->{body}{message}, "This app hasn't been granted all required scopes to make this call."
   . ' Read more about required scopes here: https://developers.hubspot.com/scopes.',
   "HubSpot's message";
is_deeply $r->{body}{errors},
    [{ message => 'One or more of the following scopes are required.',
       context => { requiredGranularScopes => ['crm.schemas.contacts.write'] } }],
    'errors[] names the scope';
like $r->{body}{correlationId}, $UUID, 'a correlationId';
is $r->{body}{correlationId}, $r->{headers}{'x-hubspot-correlation-id'}, 'the same as the header';
is $sb->api(GET => "$P/crmsync_whatsapp_id")->{status}, 404, 'nothing was created';

# the same token may read the properties and write contacts
is $sb->api(GET => $P, undef, token => 'pat-na1-objects')->{status}, 200,
   'reading the properties needs no schema scope';
is $sb->api(POST => '/crm/v3/objects/contacts', { properties => { email => 'a@example.com' } },
            token => 'pat-na1-objects')->{status}, 201, 'objects are written';
is $sb->api(POST => '/crm/v3/properties/deals', { name => 'x_deal', %prop, hasUniqueValue => 0 },
            token => 'pat-na1-schemas')->{body}{errors}[0]{context}{requiredGranularScopes}[0],
   'crm.schemas.deals.write', 'each object type has its own schema scope';

# with the scope, and a token without a list (every scope)
$r = $sb->api(POST => $P, { name => 'crmsync_whatsapp_id', %prop }, token => 'pat-na1-schemas');
is $r->{status}, 201, 'created with crm.schemas.contacts.write';
ok $r->{body}{hasUniqueValue}, 'hasUniqueValue';
is $sb->api(PATCH => "$P/crmsync_whatsapp_id", { label => 'WA' }, token => 'pat-na1-objects')->{status},
   403, 'a property change needs the scope too';
is $sb->api(DELETE => "$P/crmsync_whatsapp_id", undef, token => 'pat-na1-objects')->{status},
   403, 'and a delete';
is $sb->api(POST => $P, { name => 'other_id', %prop })->{status}, 201,
   'a token given without scopes has them all';

# the request log keeps the refusals
my $log = $sb->requests(endpoint => "POST $P");
is $log->{by_endpoint}{"POST $P"}{statuses}{403}, 1, 'the 403 is in the request log';

# scopes given at run time
$sb->add_token('pat-na1-late', scopes => ['crm.objects.contacts.write']);
is $sb->api(POST => $P, { name => 'late_id', %prop }, token => 'pat-na1-late')->{status}, 403,
   'POST /_sandbox/tokens {"scopes": [...]}';
$sb->add_token('pat-na1-late2', scopes => 'crm.schemas.contacts.write crm.objects.contacts.write');
is $sb->api(POST => $P, { name => 'late_id', %prop }, token => 'pat-na1-late2')->{status}, 201,
   'scopes as a string';
my $t = $sb->control(GET => 'tokens');
is_deeply $t->{scopes}{'pat-na1-late'}, ['crm.objects.contacts.write'], 'GET /_sandbox/tokens shows the scopes';
ok !exists $t->{scopes}{'pat-na1-full'}, 'and none for a token with every scope';

# a reset that keeps the tokens keeps their scopes; a plain one reads the flags again
$sb->reset(keep_tokens => 1);
is $sb->api(POST => $P, { name => 'crmsync_whatsapp_id', %prop }, token => 'pat-na1-late')->{status}, 403,
   'reset keep_tokens keeps the scopes';
$sb->reset;
is $sb->api(POST => $P, { name => 'crmsync_whatsapp_id', %prop }, token => 'pat-na1-objects')->{status}, 403,
   'reset: the --token scopes again';
is $sb->api(POST => $P, { name => 'crmsync_whatsapp_id', %prop }, token => 'pat-na1-schemas')->{status}, 201,
   'and the token that has the scope';

done_testing;

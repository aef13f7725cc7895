#!/usr/bin/env perl
# Search: filterGroups logic and limits (5 groups, 6 per group, 18 total),
# operators, one sort, limit 200, the 10,000 paging cap, calculated phone
# properties, and the index lag: search sees a write only N seconds
# later, reads by id / unique property at once (fact sheet §2, §3, §16).
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start;
my $C = '/crm/v3/objects/contacts';
my $S = "$C/search";

sub search {
    my (%b) = @_;
    my $r = $sb->api(POST => $S, \%b);
    return $r;
}
sub ids { [ map { $_->{id} } @{$_[0]{body}{results}} ] }
sub f { my ($p, $op, $v, %x) = @_; return { propertyName => $p, operator => $op, (defined $v ? (value => $v) : ()), %x } }
sub one { my @f = @_; return (filterGroups => [ { filters => \@f } ]) }

my @people = (
    [ 'ana@example.com',   'Ana',   'Lopez',  '+52 55 1234 5678', undef,            '2', 'lead' ],
    [ 'bob@example.org',   'Bob',   'Smith',  '+1 415 555 0100',  '+14155550199',   '5', 'customer' ],
    [ 'cleo@example.com',  'Cleo',  'Smith',  '(415) 555-0100',   undef,            '7', 'lead' ],
    [ 'dan@hubspot.com',   'Dan',   'Brown',  undef,              '+447911123456',  '9', 'opportunity' ],
    [ 'eve@example.com',   'Eve',   undef,    '00004',            undef,            undef, undef ],
);
my (%id, @order);
for my $p (@people) {
    my %props = (email => $p->[0], firstname => $p->[1], lastname => $p->[2], phone => $p->[3],
                 mobilephone => $p->[4], zip => $p->[5], lifecyclestage => $p->[6]);
    delete $props{$_} for grep { !defined $props{$_} } keys %props;
    my $r = $sb->api(POST => $C, { properties => \%props });
    die "create failed: $r->{raw}" unless $r->{status} == 201;
    $id{$p->[1]} = $r->{body}{id};
    push @order, $r->{body}{id};
}

# --- shape and defaults
my $r = search();
is $r->{status}, 200, 'empty search 200';
is $r->{body}{total}, 5, 'total';
is scalar @{$r->{body}{results}}, 5, 'default limit 10 covers all';
is_deeply ids($r), \@order, 'default order: oldest created first';
ok !exists $r->{body}{paging}, 'no paging when complete';
is_deeply [sort keys %{$r->{body}{results}[0]{properties}}],
    [qw(createdate email firstname hs_object_id lastmodifieddate lastname)], 'default properties';
ok !grep({ /^X-HubSpot-RateLimit/i } keys %{$r->{headers}}), 'search responses carry no rate-limit headers';
ok $r->{headers}{'x-hubspot-correlation-id'}, 'but a correlation id';

# --- operators
is_deeply ids(search(one(f('email', 'EQ', 'BOB@EXAMPLE.ORG')))), [$id{Bob}], 'EQ is case-insensitive';
is_deeply ids(search(one(f('lastname', 'NEQ', 'smith')))), [@id{qw(Ana Dan Eve)}], 'NEQ (includes records without a value)';
is_deeply ids(search(one(f('firstname', 'IN', undef, values => ['ana', 'cleo'])))), [@id{qw(Ana Cleo)}], 'IN with lowercase values';
is_deeply ids(search(one(f('firstname', 'IN', undef, values => ['Ana'])))), [], 'IN with uppercase values does not match';
is_deeply ids(search(one(f('lastname', 'NOT_IN', undef, values => ['smith', 'brown'])))), [@id{qw(Ana Eve)}], 'NOT_IN';
is_deeply ids(search(one(f('mobilephone', 'HAS_PROPERTY')))), [@id{qw(Bob Dan)}], 'HAS_PROPERTY';
is_deeply ids(search(one(f('lastname', 'NOT_HAS_PROPERTY')))), [$id{Eve}], 'NOT_HAS_PROPERTY';
is_deeply ids(search(one(f('email', 'CONTAINS_TOKEN', '*@hubspot.com')))), [$id{Dan}], 'CONTAINS_TOKEN with wildcard';
is_deeply ids(search(one(f('email', 'NOT_CONTAINS_TOKEN', '*@example.com')))), [@id{qw(Bob Dan)}], 'NOT_CONTAINS_TOKEN';
is_deeply ids(search(one(f('zip', 'GT', '5')))), [@id{qw(Cleo Dan)}], 'GT numeric-looking string';
is_deeply ids(search(one(f('hs_object_id', 'GTE', $id{Cleo})))), [@id{qw(Cleo Dan Eve)}], 'GTE on hs_object_id';
is_deeply ids(search(one(f('hs_object_id', 'LT', $id{Bob})))), [$id{Ana}], 'LT';
is_deeply ids(search(one(f('hs_object_id', 'LTE', $id{Bob})))), [@id{qw(Ana Bob)}], 'LTE';
is_deeply ids(search(one(f('hs_object_id', 'BETWEEN', $id{Bob}, highValue => $id{Dan})))), [@id{qw(Bob Cleo Dan)}], 'BETWEEN inclusive';
is_deeply ids(search(one(f('lifecyclestage', 'EQ', 'lead')))), [@id{qw(Ana Cleo)}], 'EQ on an enumeration';
my $created = $sb->api(GET => "$C/$id{Cleo}")->{body}{properties}{createdate};
my $ms = do { my $r = search(one(f('createdate', 'LTE', 0 + 4102444800000))); scalar @{$r->{body}{results}} };
is $ms, 5, 'date filters take epoch milliseconds';

# AND within a group, OR across groups
is_deeply ids(search(filterGroups => [ { filters => [ f('lastname', 'EQ', 'smith'), f('firstname', 'EQ', 'bob') ] } ])),
    [$id{Bob}], 'filters in a group are ANDed';
is_deeply ids(search(filterGroups => [ { filters => [ f('firstname', 'EQ', 'ana') ] },
                                        { filters => [ f('firstname', 'EQ', 'eve') ] } ])),
    [@id{qw(Ana Eve)}], 'groups are ORed';

# --- calculated phone properties, searched without country code
my $bob = $sb->api(GET => "$C/$id{Bob}?properties=hs_searchable_calculated_phone_number,hs_searchable_calculated_mobile_number,hs_calculated_phone_number_country_code")->{body}{properties};
is $bob->{hs_searchable_calculated_phone_number}, '4155550100', 'phone without +1';
is $bob->{hs_searchable_calculated_mobile_number}, '4155550199', 'mobile without +1';
is $bob->{hs_calculated_phone_number_country_code}, 'US', 'country code region';
my $ana = $sb->api(GET => "$C/$id{Ana}?properties=hs_searchable_calculated_phone_number")->{body}{properties};
is $ana->{hs_searchable_calculated_phone_number}, '5512345678', 'two-digit country code removed (+52)';
my $dan = $sb->api(GET => "$C/$id{Dan}?properties=hs_searchable_calculated_mobile_number")->{body}{properties};
is $dan->{hs_searchable_calculated_mobile_number}, '7911123456', '+44 removed';
my $eve = $sb->api(GET => "$C/$id{Eve}?properties=hs_searchable_calculated_phone_number")->{body}{properties};
is $eve->{hs_searchable_calculated_phone_number}, '4', '"00004" -> "4" (leading zeros stripped)';
is_deeply ids(search(one(f('hs_searchable_calculated_phone_number', 'EQ', '4155550100')))), [@id{qw(Bob Cleo)}],
    'phone search is over-inclusive: national and +1 forms match';
is_deeply ids(search(one(f('hs_searchable_calculated_mobile_number', 'EQ', '7911123456')))), [$id{Dan}], 'mobile search';
is_deeply ids(search(query => 'smith')), [@id{qw(Bob Cleo)}], 'free-text query';
$r = search(one(f('email', 'EQ', 'ana@example.com')), properties => ['phone', 'zip']);
is_deeply [sort keys %{$r->{body}{results}[0]{properties}}], [qw(createdate hs_object_id lastmodifieddate phone zip)],
    'requested properties come with id and dates';

# --- sorts, limit, paging
is_deeply ids(search(sorts => [ { propertyName => 'firstname', direction => 'DESCENDING' } ])),
    [@id{qw(Eve Dan Cleo Bob Ana)}], 'one sort, descending';
is_deeply ids(search(sorts => ['-createdate'])), [reverse @order], 'string sort "-createdate"';
$r = search(sorts => [ { propertyName => 'firstname' }, { propertyName => 'lastname' } ]);
is $r->{status}, 400, 'two sorts refused';
$r = search(limit => 2);
is_deeply ids($r), [@order[0, 1]], 'limit 2';
is $r->{body}{paging}{next}{after}, '2', 'paging.next.after';
$r = search(limit => 2, after => $r->{body}{paging}{next}{after});
is_deeply ids($r), [@order[2, 3]], 'second page';
$r = search(limit => 2, after => 4);
is_deeply ids($r), [$order[4]], 'last page';
ok !$r->{body}{paging}, 'no next on the last page';
is search(limit => 200)->{status}, 200, 'limit 200 accepted';
$r = search(limit => 201);
is $r->{status}, 400, 'limit 201 refused';
is $r->{body}{category}, 'VALIDATION_ERROR', 'VALIDATION_ERROR';
is search(after => 9990, limit => 10)->{status}, 200, 'paging up to 10,000';
$r = search(after => 10000, limit => 10);
is $r->{status}, 400, 'paging beyond 10,000 -> 400';

# --- filter limits
my @six = map { f('firstname', 'NEQ', "x$_") } 1 .. 6;
is search(filterGroups => [ map { { filters => [ f('firstname', 'EQ', 'ana') ] } } 1 .. 5 ])->{status}, 200, '5 groups ok';
$r = search(filterGroups => [ map { { filters => [ f('firstname', 'EQ', 'ana') ] } } 1 .. 6 ]);
is $r->{status}, 400, '6 groups refused';
is $r->{body}{category}, 'VALIDATION_ERROR', 'VALIDATION_ERROR';
is search(filterGroups => [ { filters => \@six } ])->{status}, 200, '6 filters in a group ok';
is search(filterGroups => [ { filters => [@six, f('firstname', 'NEQ', 'y')] } ])->{status}, 400, '7 filters in a group refused';
is search(filterGroups => [ map { { filters => \@six } } 1 .. 3 ])->{status}, 200, '18 filters in all ok';
$r = search(filterGroups => [ (map { { filters => \@six } } 1 .. 3), { filters => [ f('firstname', 'NEQ', 'z') ] } ]);
is $r->{status}, 400, '19 filters in all refused';
is search(one(f('firstname', 'LIKE', 'a')))->{status}, 400, 'unknown operator refused';
is search(one(f('no_such_property', 'EQ', 'a')))->{status}, 400, 'unknown property refused';

# --- index lag: writes reach search only after N seconds
$sb->config(index_lag => 1);
my $t0 = time;
$r = $sb->api(POST => $C, { properties => { email => 'late@example.com', firstname => 'Late' } });
my $late = $r->{body}{id};
is_deeply ids(search(one(f('email', 'EQ', 'late@example.com')))), [], 'a new contact is not in search at once';
is $sb->api(GET => "$C/$late")->{status}, 200, 'but a read by id sees it';
is $sb->api(GET => "$C/late\@example.com?idProperty=email")->{body}{id}, $late, 'and a read by email';
is $sb->api(POST => $C, { properties => { email => 'late@example.com' } })->{status}, 409,
    'and the email is already taken for creates';
my $found = $sb->wait_for(sub { @{ids(search(one(f('email', 'EQ', 'late@example.com'))))} }, 5);
my $waited = time - $t0;
ok $found, 'it appears after the lag';
cmp_ok $waited, '>=', 0.9, 'not before the lag (' . sprintf('%.2f', $waited) . 's)';
cmp_ok $waited, '<', 3, 'and not much later';

# an update is seen by search with the old value until the lag passes
$sb->api(PATCH => "$C/$late", { properties => { firstname => 'Later' } });
$r = search(one(f('email', 'EQ', 'late@example.com')));
is $r->{body}{results}[0]{properties}{firstname}, 'Late', 'search returns the stale indexed value';
is $sb->api(GET => "$C/$late")->{body}{properties}{firstname}, 'Later', 'read by id is current';
ok $sb->wait_for(sub { (search(one(f('email', 'EQ', 'late@example.com')))->{body}{results}[0]{properties}{firstname} // '') eq 'Later' }, 5),
    'search catches up';

is_deeply ids(search(one(f('firstname', 'EQ', 'late')))), [], 'the old value no longer matches';
is_deeply ids(search(one(f('firstname', 'IN', undef, values => ['later'])))), [$late], 'the new value does';

# lowering the lag at run time releases pending writes within the new lag
$sb->config(index_lag => 60);
$sb->api(PATCH => "$C/$late", { properties => { firstname => 'Latest' } });
$sb->config(index_lag => 0.2);
ok $sb->wait_for(sub { @{ids(search(one(f('firstname', 'EQ', 'latest'))))} }, 3), 'pending write released after the new lag';
$sb->config(index_lag => 1);

# an archive disappears from search only after the lag
$sb->api(DELETE => "$C/$late");
is scalar @{ids(search(one(f('email', 'EQ', 'late@example.com'))))}, 1, 'archived record still in search for a while';
ok $sb->wait_for(sub { !@{ids(search(one(f('email', 'EQ', 'late@example.com'))))} }, 5), 'then gone';

# flush makes pending writes visible at once (for tests that want it)
$sb->config(index_lag => 30);
$sb->api(POST => $C, { properties => { email => 'flush@example.com' } });
is scalar @{ids(search(one(f('email', 'EQ', 'flush@example.com'))))}, 0, 'pending with a 30 s lag';
$sb->flush_index;
is scalar @{ids(search(one(f('email', 'EQ', 'flush@example.com'))))}, 1, 'visible after /_sandbox/index/flush';

done_testing;

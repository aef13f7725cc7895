# HubSpot's own webhooks (HubSpot -> crmsync): v3 signatures over method,
# URL, body and a millisecond timestamp; the legacy v1 and v2 hashes; the
# URL as HubSpot called it (crmsync_public_url, else scheme://Host/uri);
# batches of contact.creation / propertyChange / merge events; refusals.
#
# The official vectors (t/samples/hubspot/test_vectors.txt) sign
# https://www.example.com/webhook_uri: those blocks set crmsync_public_url
# to it.  The v3 vector's timestamp (15000000 ms, 1970) is refused as
# stale, which is right; its body is then re-signed with a current one.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;
use Time::HiRes ();

our $Secret = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
our $Url = 'http://localhost/hooks/hs';
our $H;

our $Location = <<'EOF_CONF';
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        client_max_body_size 64k;
        add_header X-Status $crmsync_status always;
        add_header X-Reason $crmsync_reason always;
        add_header X-Type $crmsync_event_type always;
        add_header X-Events $crmsync_events always;
        add_header X-Delivery $crmsync_delivery_id always;
        add_header X-Provider $crmsync_provider always;
        add_header X-Event $crmsync_event always;
    }
EOF_CONF

# a v3-signed POST of $body: signed for $o{url} (default: the URL nginx
# derives for /hooks/hs with Host: localhost) at now minus $o{age} seconds;
# returns the request, leaves the headers in $main::H
sub v3 {
    my ($body, %o) = @_;
    $body =~ s/\n\z//;
    my $ts = $o{ts} // (int(Time::HiRes::time() * 1000) - 1000 * ($o{age} // 0));
    my $uri = $o{uri} // '/hooks/hs';
    my $url = $o{url} // "http://localhost$uri";
    my $sig = $o{sig} // hubspot_v3_sig($o{secret} // $Secret, 'POST', $url,
                                        $o{signed} // $body, $ts);
    my @h = ("X-HubSpot-Signature-v3: $sig", "X-HubSpot-Request-Timestamp: $ts",
             'Content-Type: application/json');
    push @h, "Host: $o{host}" if $o{host};
    push @h, @{$o{more}} if $o{more};
    @h = grep { !/^\Q$o{drop}\E:/ } @h if $o{drop};
    $H = join "\n", @h;
    return "POST $uri\n$body";
}

sub v3s {
    my (@reqs, @hdrs);
    for my $r (@_) {
        push @reqs, v3(@$r);
        push @hdrs, $H;
    }
    $H = \@hdrs;
    return \@reqs;
}

# a legacy v1 or v2 delivery with the given signature header
sub legacy {
    my ($body, $version, $sig, $uri) = @_;
    $body =~ s/\n\z//;
    $H = "X-HubSpot-Signature: $sig\n"
         . (defined $version ? "X-HubSpot-Signature-Version: $version\n" : '')
         . 'Content-Type: application/json';
    return "POST " . ($uri // '/hooks/hs') . "\n$body";
}

sub event {
    my (%f) = @_;
    my %d = (eventId => 100, subscriptionId => 25, portalId => 33,
             appId => 1160452, occurredAt => 1700000000000, attemptNumber => 0,
             objectId => 1246965, changeSource => 'CRM');
    %d = (%d, %f);
    return '{' . join(',', map {
        my $v = $d{$_};
        qq("$_":) . (ref $v ? '[' . join(',', @$v) . ']'
                     : $v =~ /^-?\d+$/ ? $v : qq("$v"))
    } grep { defined $d{$_} } sort keys %d) . '}';
}

Test::Base::filters_delay(1);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
    $block->run_filters unless $block->is_filtered;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the docs' batch, v3-signed for the URL nginx derives from Host, gives two events
--- request eval
main::v3(sample('hubspot/webhook_batch_example.json'))
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":2}
--- response_headers
X-Status: accepted
!X-Reason
X-Events: 2
X-Type: crm.contact.changed
X-Delivery: 3816279340:33:25:1246965:1462216307945
X-Provider: hubspot
X-Event: [{"provider":"hubspot","type":"crm.contact.changed","delivery_id":"3816279340:33:25:1246965:1462216307945","occurred_at":1462216307945,"identity":{"hubspot_id":"1246965"},"attributes":{"changeSource":"ACADEMY","portalId":"33"},"property":"lifecyclestage","property_value":"subscriber"},{"provider":"hubspot","type":"crm.contact.created","delivery_id":"3816279480:33:22:1246978:1462216307945","occurred_at":1462216307945,"identity":{"hubspot_id":"1246978"},"attributes":{"changeSource":"IMPORT","portalId":"33"}}]
--- no_error_log
[error]
[warn]



=== TEST 2: the default URL is the scheme, the Host header and the request URI with its query
--- request eval
main::v3s([sample('hubspot/webhook_batch_example.json'), host => 'hooks.example.com',
           url => 'http://hooks.example.com/hooks/hs?portal=33&x=%20y', uri => '/hooks/hs?portal=33&x=%20y'],
          [sample('hubspot/webhook_batch_example.json'), host => 'hooks.example.com:8443',
           url => 'http://hooks.example.com:8443/hooks/hs'],
          [sample('hubspot/webhook_batch_example.json'), host => 'hooks.example.com',
           url => 'https://hooks.example.com/hooks/hs'],
          [sample('hubspot/webhook_batch_example.json'), host => 'hooks.example.com',
           url => 'http://localhost/hooks/hs'])
--- more_headers eval
$main::H
--- error_code eval
[200, 200, 401, 401]
--- response_body eval
['{"status":"accepted","events":2}' . "\n", '{"status":"accepted","events":2}' . "\n",
 '{"status":"rejected","reason":"signature_mismatch"}' . "\n",
 '{"status":"rejected","reason":"signature_mismatch"}' . "\n"]



=== TEST 3: v3 decodes only HubSpot's list of escapes in the URL: %3A and %2F are signed decoded, %20 as is
--- request eval
main::v3s([sample('hubspot/webhook_batch_example.json'), uri => '/hooks/hs?next=https%3A%2F%2Fa.example%2Fb&q=a%20b',
           url => 'http://localhost/hooks/hs?next=https://a.example/b&q=a%20b'],
          [sample('hubspot/webhook_batch_example.json'), uri => '/hooks/hs?next=https%3A%2F%2Fa.example%2Fb&q=a%20b',
           url => 'http://localhost/hooks/hs?next=https%3A%2F%2Fa.example%2Fb&q=a%20b'],
          [sample('hubspot/webhook_batch_example.json'), uri => '/hooks/hs?q=a%20b',
           url => 'http://localhost/hooks/hs?q=a b'])
--- more_headers eval
$main::H
--- error_code eval
[200, 401, 401]



=== TEST 4: crmsync_public_url, with variables, is the URL verified (behind a TLS terminator)
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_public_url https://crm-hooks.example.com$request_uri;
    }
--- request eval
main::v3s([sample('hubspot/webhook_batch_example.json'), uri => '/hooks/hs?a=1',
           url => 'https://crm-hooks.example.com/hooks/hs?a=1'],
          [sample('hubspot/webhook_batch_example.json'), uri => '/hooks/hs?a=1'])
--- more_headers eval
$main::H
--- error_code eval
[200, 401]
--- response_body eval
['{"status":"accepted","events":2}' . "\n",
 '{"status":"rejected","reason":"signature_mismatch"}' . "\n"]



=== TEST 5: the v3 vector as published (timestamp 15000000 ms) is refused as stale
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_public_url https://www.example.com/webhook_uri;
        crmsync_replay_window 24h;
    }
--- request eval
main::v3(sample('hubspot/vector_sdk_python_body.txt'), ts => 15000000,
         sig => 'HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=')
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"timestamp_stale"}
--- error_log
[warn]
crmsync: hubspot webhook rejected with 401: timestamp_stale
--- no_error_log
yyyyyyyy-yyyy



=== TEST 6: our v3 signer reproduces the vector; its body re-signed now verifies and is refused as bad JSON (single quotes), not 401
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_public_url https://www.example.com/webhook_uri;
    }
--- request eval
my $b = sample('hubspot/vector_sdk_python_body.txt');
my $s = hubspot_v3_sig($main::Secret, 'POST', 'https://www.example.com/webhook_uri', $b, 15000000);
die "v3 vector: $s" unless $s eq 'HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=';
main::v3($b, url => 'https://www.example.com/webhook_uri')
--- more_headers eval
$main::H
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}



=== TEST 7: the v1 docs vector verifies through nginx and its body is one crm.contact.created event
--- request eval
main::legacy(sample('hubspot/vector_v1_doc_body.json'), 'v1',
             '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: crm.contact.created
X-Delivery: 1:62515:12345:123:1564113600000
X-Event: [{"provider":"hubspot","type":"crm.contact.created","delivery_id":"1:62515:12345:123:1564113600000","occurred_at":1564113600000,"identity":{"hubspot_id":"123"},"attributes":{"changeSource":"CRM","portalId":"62515"}}]



=== TEST 8: the v2 docs POST vector verifies for its URL (crmsync_public_url); its body is not an event (422, not 401)
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_public_url https://www.example.com/webhook_uri;
    }
--- request eval
main::legacy(sample('hubspot/vector_v2_doc_post_body.json'), 'v2',
             '9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900')
--- more_headers eval
$main::H
--- error_code: 422
--- response_body
{"status":"rejected","reason":"hubspot_no_subscription_type"}



=== TEST 9: the SDK's v1 and v2 vectors (single-quoted body) verify, then the body is refused as bad JSON; in upper case too
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_public_url https://www.example.com/webhook_uri;
    }
--- request eval
my $b = sample('hubspot/vector_sdk_python_body.txt');
my @r = (main::legacy($b, 'v1', '69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750'));
my @h = ($main::H);
push @r, main::legacy($b, 'v2', '4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383');
push @h, $main::H;
push @r, main::legacy($b, 'V2', uc '4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383');
push @h, $main::H;
$main::H = \@h;
\@r
--- more_headers eval
$main::H
--- error_code eval
[400, 400, 400]
--- response_body eval
[('{"status":"rejected","reason":"bad_json"}' . "\n") x 3]



=== TEST 10: the v2 vectors are for their URL only: the derived URL does not verify them
--- request eval
main::legacy(sample('hubspot/vector_v2_doc_post_body.json'), 'v2',
             '9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900')
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}



=== TEST 11: the v2 GET vector cannot reach verification: HubSpot posts, a GET is 405
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_public_url https://www.example.com/webhook_uri;
    }
--- request
GET /hooks/hs
--- more_headers
X-HubSpot-Signature: eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e
X-HubSpot-Signature-Version: v2
--- error_code: 405
--- response_headers
Allow: POST
--- response_body
{"status":"rejected","reason":"method_not_allowed"}



=== TEST 12: our v1 and v2 signers agree with the vectors, and sign constructed deliveries that verify
--- request eval
my $b = sample('hubspot/vector_v1_doc_body.json');
die 'v1' unless hubspot_v1_sig($main::Secret, $b) eq '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de';
die 'v2' unless hubspot_v2_sig($main::Secret, 'GET', 'https://www.example.com/webhook_uri', '') eq 'eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e';
my $e = '[' . main::event(subscriptionType => 'contact.creation') . ']';
my @r = (main::legacy($e, 'v2', hubspot_v2_sig($main::Secret, 'POST', $main::Url, $e)));
my @h = ($main::H);
push @r, main::legacy($e, 'v1', hubspot_v1_sig($main::Secret, $e));
push @h, $main::H;
$main::H = \@h;
\@r
--- more_headers eval
$main::H
--- error_code eval
[200, 200]



=== TEST 13: propertyChange, a cleared property, and a merge: the survivor and the merged ids
--- request eval
my $b = '[' . CORE::join(',',
    main::event(eventId => 1, subscriptionType => 'contact.propertyChange',
                propertyName => 'email', propertyValue => 'ana@example.com', sourceId => 'userId:42'),
    main::event(eventId => 2, subscriptionType => 'contact.propertyChange',
                propertyName => 'phone', propertyValue => ''),
    main::event(eventId => 3, subscriptionType => 'contact.merge', objectId => 201,
                primaryObjectId => 201, mergedObjectIds => [202, 203, 201], newObjectId => 300,
                numberOfPropertiesMoved => 5)) . ']';
main::v3($b)
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":3}
--- response_headers
X-Type: crm.contact.changed
X-Delivery: 1:33:25:1246965:1700000000000
X-Event: [{"provider":"hubspot","type":"crm.contact.changed","delivery_id":"1:33:25:1246965:1700000000000","occurred_at":1700000000000,"identity":{"hubspot_id":"1246965"},"attributes":{"changeSource":"CRM","sourceId":"userId:42","portalId":"33"},"property":"email","property_value":"ana@example.com"},{"provider":"hubspot","type":"crm.contact.changed","delivery_id":"2:33:25:1246965:1700000000000","occurred_at":1700000000000,"identity":{"hubspot_id":"1246965"},"attributes":{"changeSource":"CRM","portalId":"33"},"property":"phone"},{"provider":"hubspot","type":"crm.contact.merged","delivery_id":"3:33:25:201:1700000000000","occurred_at":1700000000000,"identity":{"hubspot_id":"300"},"attributes":{"changeSource":"CRM","portalId":"33"},"merged_ids":"201,202,203"}]



=== TEST 14: one event not wrapped in an array is read too
--- request eval
main::v3(main::event(subscriptionType => 'contact.creation', objectId => 77))
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Delivery: 100:33:25:77:1700000000000



=== TEST 15: other subscription types and an empty batch are answered 200 ignored; in a batch they are left out
--- request eval
main::v3s(['[' . main::event(subscriptionType => 'contact.deletion') . ',' . main::event(subscriptionType => 'deal.creation') . ']'],
          ['[]'],
          [main::event(subscriptionType => 'company.propertyChange', propertyName => 'name', propertyValue => 'x')],
          ['[' . main::event(subscriptionType => 'contact.deletion') . ',' . main::event(subscriptionType => 'contact.creation', eventId => 5) . ']'])
--- more_headers eval
$main::H
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
['{"status":"ignored","reason":"hubspot_event_ignored"}' . "\n",
 '{"status":"ignored","reason":"hubspot_empty_batch"}' . "\n",
 '{"status":"ignored","reason":"hubspot_event_ignored"}' . "\n",
 '{"status":"accepted","events":1}' . "\n"]
--- response_headers eval
# the last request's
[('') x 3, <<'EOF']
X-Delivery: 5:33:25:1246965:1700000000000
EOF



=== TEST 16: the 5-minute window in milliseconds: 4 minutes either way accepted
--- request eval
my $b = sample('hubspot/webhook_batch_example.json');
main::v3s([$b, age => 240], [$b, age => -240])
--- more_headers eval
$main::H
--- error_code eval
[200, 200]
--- response_body eval
['{"status":"accepted","events":2}' . "\n", '{"status":"accepted","events":2}' . "\n"]
--- no_error_log
webhook rejected



=== TEST 16a: the 5-minute window in milliseconds: 6 minutes either way stale
--- request eval
my $b = sample('hubspot/webhook_batch_example.json');
main::v3s([$b, age => 360], [$b, age => -360])
--- more_headers eval
$main::H
--- error_code eval
[401, 401]
--- response_body eval
['{"status":"rejected","reason":"timestamp_stale"}' . "\n",
 '{"status":"rejected","reason":"timestamp_stale"}' . "\n"]
--- error_log
crmsync: hubspot webhook rejected with 401: timestamp_stale



=== TEST 17: a timestamp in seconds, not milliseconds, is 1970 to HubSpot's scheme: stale
--- request eval
main::v3(sample('hubspot/webhook_batch_example.json'), ts => time)
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"timestamp_stale"}



=== TEST 18: crmsync_replay_window 10m accepts 6 minutes
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_replay_window 10m;
    }
--- request eval
my $b = sample('hubspot/webhook_batch_example.json');
main::v3s([$b, age => 360], [$b, age => -360], [$b, age => 660])
--- more_headers eval
$main::H
--- error_code eval
[200, 200, 401]



=== TEST 19: a tampered body is refused with 401, logged once at warn without the secret or the body
--- request eval
main::v3(sample('hubspot/webhook_batch_example.json'));
my $b = sample('hubspot/webhook_batch_example.json');
$b =~ s/subscriber/customerXYZ/;
"POST /hooks/hs\n$b"
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: signature_mismatch
!X-Type
!X-Event
--- error_log
[warn]
crmsync: hubspot webhook rejected with 401: signature_mismatch
--- no_error_log eval
['yyyyyyyy-yyyy', 'customerXYZ', '[error]',
 qr/webhook rejected with 401(?s:.*)webhook rejected with 401/]



=== TEST 20: another secret, a wrong method in the signature, a changed timestamp: all mismatches
--- request eval
my $b = sample('hubspot/webhook_batch_example.json');
my $ts = int(time * 1000);
my $r = main::v3s([$b, secret => 'zzzzzzzz-zzzz'],
                  [$b, ts => $ts, sig => hubspot_v3_sig($main::Secret, 'PUT', $main::Url, $b =~ s/\n\z//r, $ts)],
                  [$b]);
$main::H->[2] =~ s/X-HubSpot-Request-Timestamp: (\d+)/'X-HubSpot-Request-Timestamp: ' . ($1 - 1)/e;
$r
--- more_headers eval
$main::H
--- error_code eval
[401, 401, 401]
--- response_body eval
[('{"status":"rejected","reason":"signature_mismatch"}' . "\n") x 3]



=== TEST 21: v3 alone decides when present: a valid v1 signature beside a bad v3 is refused
--- request eval
my $b = sample('hubspot/vector_v1_doc_body.json');
main::v3($b, secret => 'wrong',
         more => ['X-HubSpot-Signature: 232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de',
                  'X-HubSpot-Signature-Version: v1'])
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}



=== TEST 22: missing and malformed headers
--- request eval
my $b = sample('hubspot/webhook_batch_example.json');
my $r = main::v3s([$b, drop => 'X-HubSpot-Signature-v3'],
                  [$b, drop => 'X-HubSpot-Request-Timestamp'],
                  [$b, ts => '17e11'],
                  [$b, sig => 'not base64'],
                  [$b, sig => 'Zm9v']);
my @r = @$r;
my @h = @{$main::H};
push @r, main::legacy($b, undef, '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de');
push @h, $main::H;
push @r, main::legacy($b, 'v3', '232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de');
push @h, $main::H;
push @r, main::legacy($b, 'v1', '232db2615f3d');
push @h, $main::H;
$main::H = \@h;
\@r
--- more_headers eval
$main::H
--- error_code eval
[(401) x 8]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) }
 qw(signature_missing timestamp_missing timestamp_malformed signature_malformed
    signature_malformed version_unknown version_unknown signature_malformed)]



=== TEST 23: truncated JSON, correctly signed, is refused with 400
--- request eval
main::v3(substr(sample('hubspot/webhook_batch_example.json'), 0, 200))
--- more_headers eval
$main::H
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- error_log
crmsync: hubspot webhook rejected with 400: bad_json



=== TEST 24: wrong types in fields, correctly signed, are refused with 422; one bad element refuses the batch (a bare JSON string is JSON, but no delivery: 422 not_an_object)
--- request eval
main::v3s(['"x"'],
          ['[1]'],
          ['[{"eventId":1,"objectId":2}]'],
          ['[' . main::event(subscriptionType => 'contact.creation', eventId => undef) . ']'],
          ['[' . main::event(subscriptionType => 'contact.creation') . ',{"eventId":2,"subscriptionType":"contact.creation","objectId":{}}]'],
          ['[{"eventId":2,"subscriptionType":"contact.creation","objectId":5,"occurredAt":{}}]'],
          ['[{"eventId":2,"subscriptionType":"contact.propertyChange","objectId":5,"propertyName":7}]'],
          ['[{"eventId":2,"subscriptionType":"contact.propertyChange","objectId":5,"propertyName":"x","propertyValue":[]}]'],
          ['[{"eventId":2,"subscriptionType":"contact.merge","objectId":5,"mergedObjectIds":"6"}]'],
          ['[{"eventId":2,"subscriptionType":"contact.creation","objectId":5,"portalId":1.5}]'])
--- more_headers eval
$main::H
--- error_code eval
[(422) x 10]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) }
 qw(not_an_object hubspot_event_not_object hubspot_no_subscription_type
    hubspot_no_event_id hubspot_no_object_id hubspot_bad_occurred_at
    hubspot_no_property_name hubspot_bad_property_value hubspot_bad_merge
    hubspot_bad_ids)]



=== TEST 25: 10,000-deep nesting, correctly signed, is refused without a crash
--- request eval
main::v3(deep_json(10000))
--- more_headers eval
$main::H
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- no_error_log
[alert]
[crit]



=== TEST 26: a body over client_max_body_size is refused with 413
--- request eval
main::v3('[' . CORE::join(',', (main::event(subscriptionType => 'contact.creation')) x 400) . ']')
--- more_headers eval
$main::H
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}



=== TEST 27: 1024 events are accepted; 1025 are refused with 413 too_many_events
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        client_max_body_size 1m;
    }
--- request eval
main::v3s(['[' . CORE::join(',', map { main::event(subscriptionType => 'contact.creation', eventId => $_) } 1 .. 1024) . ']'],
          ['[' . CORE::join(',', map { main::event(subscriptionType => 'contact.creation', eventId => $_) } 1 .. 1025) . ']'])
--- more_headers eval
$main::H
--- error_code eval
[200, 413]
--- response_body eval
['{"status":"accepted","events":1024}' . "\n",
 '{"status":"rejected","reason":"too_many_events"}' . "\n"]



=== TEST 28: a crmsync_public_url that comes out empty (its header absent) is url_malformed, for v3 and v2 alike
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_public_url $http_x_original_url;
    }
--- request eval
my $b = sample('hubspot/webhook_batch_example.json');
my $r = main::v3s([$b, url => 'https://a.example/hooks/hs', more => ['X-Original-URL: https://a.example/hooks/hs']],
                  [$b, url => '']);
my @r = @$r;
my @h = @{$main::H};
push @r, main::legacy($b, 'v2', hubspot_v2_sig($main::Secret, 'POST', '', $b =~ s/\n\z//r));
push @h, $main::H;
$main::H = \@h;
\@r
--- more_headers eval
$main::H
--- error_code eval
[200, 401, 401]
--- response_body eval
['{"status":"accepted","events":2}' . "\n",
 '{"status":"rejected","reason":"url_malformed"}' . "\n",
 '{"status":"rejected","reason":"url_malformed"}' . "\n"]



=== TEST 29: HubSpot's "application/json; charset=utf-8" is accepted; text/plain is refused with 415
--- request eval
my $b = sample('hubspot/webhook_batch_example.json');
my $r = main::v3s([$b], [$b]);
$main::H->[0] =~ s{Content-Type: application/json}{Content-Type: application/json; charset=utf-8};
$main::H->[1] =~ s{Content-Type: application/json}{Content-Type: text/plain};
$r
--- more_headers eval
$main::H
--- error_code eval
[200, 415]
--- response_body eval
['{"status":"accepted","events":2}' . "\n",
 '{"status":"rejected","reason":"unsupported_media_type"}' . "\n"]

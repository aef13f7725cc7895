# Standard Webhooks (and Svix) deliveries: signature, timestamps, parsing,
# refusals.
#
# The official vectors (t/samples/standard-webhooks/test_vectors.txt) carry
# timestamps from 2021 and 2022, older than the widest crmsync_replay_window
# (24h): through nginx they are refused as timestamp_stale, which is right.
# Their payloads are then re-signed here with the official secret and id
# and a current timestamp; the exact official signature bytes are checked
# by t/unit/test_verify.c.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

our $Secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
our $Secret2 = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
our $Id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
our $H;

our $Location = <<'EOF_CONF';
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_default_region US;
        client_max_body_size 64k;
        add_header X-Status $crmsync_status always;
        add_header X-Reason $crmsync_reason always;
        add_header X-Type $crmsync_event_type always;
        add_header X-Events $crmsync_events always;
        add_header X-Phone $crmsync_phone always;
        add_header X-Email $crmsync_email always;
        add_header X-Delivery $crmsync_delivery_id always;
        add_header X-Provider $crmsync_provider always;
        add_header X-Event $crmsync_event always;
    }
EOF_CONF

# the headers of a delivery of $body, signed now (or "age" seconds ago,
# negative: in the future) with $Secret unless told otherwise; the request
# line and body are returned, the headers left in $main::H
sub std {
    my ($body, %o) = @_;
    $body =~ s/\n\z// unless $o{raw};
    my $ts = $o{ts} // (time - ($o{age} // 0));
    my $id = $o{id} // $Id;
    my $sig = $o{sig}
              // standard_sig($o{secret} // $Secret, $id, $ts,
                              $o{signed} // $body);
    my $p = $o{prefix} // 'webhook';
    my @h = ("$p-id: $id", "$p-timestamp: $ts", "$p-signature: $sig",
             'Content-Type: application/json');
    @h = grep { !/^\Q$o{drop}\E:/ } @h if $o{drop};
    $H = join "\n", @h;
    return "POST " . ($o{uri} // '/hooks/std') . "\n$body";
}

# several deliveries in one block: each argument is [body, options]
sub stds {
    my (@reqs, @hdrs);
    for my $r (@_) {
        push @reqs, std(@$r);
        push @hdrs, $H;
    }
    $H = \@hdrs;
    return \@reqs;
}

# timestamps are computed when the block runs, not when the file is read
Test::Base::filters_delay(1);

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
    $block->run_filters unless $block->is_filtered;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the official vector as published is refused as stale: its timestamp is from 2021
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_replay_window 24h;
        add_header X-Reason $crmsync_reason always;
    }
--- request eval
main::std(sample('standard-webhooks/vector_official_payload.txt'), ts => 1614265330,
          sig => 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"timestamp_stale"}
--- response_headers
X-Reason: timestamp_stale
--- error_log
[warn]
crmsync: standard webhook rejected with 401: timestamp_stale
--- no_error_log
MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw



=== TEST 2: our signer reproduces the official vector's bytes (a check of the Perl side)
--- request eval
my $s = standard_sig($main::Secret, $main::Id, 1614265330,
                     sample('standard-webhooks/vector_official_payload.txt'));
my $t = standard_sig($main::Secret2, 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk', 1649367553,
                     sample('standard-webhooks/vector_official_rust_payload.txt'));
die "official-1: $s" unless $s eq 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
die "official-2: $t" unless $t eq 'v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=';
main::std(sample('standard-webhooks/vector_official_payload.txt'))
--- more_headers eval
$main::H
--- error_code: 422
--- response_body
{"status":"rejected","reason":"standard_no_type"}



=== TEST 3: official-1 re-signed now with the official secret and id verifies; its body is not an event (422, not 401)
--- request eval
main::std(sample('standard-webhooks/vector_official_payload.txt'))
--- more_headers eval
$main::H
--- error_code: 422
--- response_body
{"status":"rejected","reason":"standard_no_type"}
--- response_headers
X-Status: rejected
X-Reason: standard_no_type
!X-Delivery
--- error_log
crmsync: standard webhook rejected with 422: standard_no_type



=== TEST 4: official-2 (the Rust library's) re-signed now with its own secret verifies
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD;
    }
--- request eval
main::std(sample('standard-webhooks/vector_official_rust_payload.txt'),
          id => 'msg_27UH4WbU6Z5A5EzD8u03UvzRbpk', secret => $main::Secret2)
--- more_headers eval
$main::H
--- error_code: 422
--- response_body
{"status":"rejected","reason":"standard_no_type"}



=== TEST 5: the official negative (last character changed) is refused, re-signed now the same way
--- request eval
main::std(sample('standard-webhooks/vector_official_payload.txt'));
$main::H =~ s/(webhook-signature: v1,.{42})(.)/$1 . ($2 eq 'A' ? 'E' : 'A')/e;
"POST /hooks/std\n" . sample('standard-webhooks/vector_official_payload.txt')
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}



=== TEST 6: the spec's full contact.created example becomes one contact.created event
--- request eval
main::std(sample('standard-webhooks/contact.created_full.json'),
          id => 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Status: accepted
!X-Reason
X-Type: contact.created
X-Events: 1
X-Phone: +12813322575
!X-Email
X-Delivery: msg_2KWPBgLlAfxdpx2AI54pPJ85f4W
X-Provider: standard
X-Event: [{"provider":"standard","type":"contact.created","delivery_id":"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W","occurred_at":1667507170344,"identity":{"phone":"+12813322575","platform_id":"1f81eb52-5198-4599-803e-771906343485"},"first_name":"John","last_name":"Smith","attributes":{"address":"800 W NASA Pkwy, Webster, TX 77598, USA","birthday":"1980-04-19","occupation":"Engineer, ACME"}}]
--- no_error_log
[error]
[warn]



=== TEST 7: the thin example: the contact id only, the delivery id from webhook-id
--- request eval
main::std(sample('standard-webhooks/contact.created_thin.json'), id => 'msg_thin_1')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: contact.created
X-Delivery: msg_thin_1
!X-Phone
X-Event: [{"provider":"standard","type":"contact.created","delivery_id":"msg_thin_1","occurred_at":1667507170344,"identity":{"platform_id":"1f81eb52-5198-4599-803e-771906343485"}}]



=== TEST 8: svix-id, svix-timestamp and svix-signature are read when webhook-signature is absent
--- request eval
main::std(sample('standard-webhooks/contact.created_thin_minified.json'),
          prefix => 'svix', id => 'msg_svix_7')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Delivery: msg_svix_7
X-Type: contact.created



=== TEST 9: a body "id" is the delivery id in place of webhook-id
--- request eval
main::std('{"id":"evt_42","type":"message.inbound","timestamp":1763700000,"data":{"contact":{"id":"c1","email":" Ana@Example.COM ","phone":"+49 151 23456789"},"conversation_id":"conv-9","message":{"id":"m1","text":"Hallo"}}}',
          id => 'msg_header')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Delivery: evt_42
X-Type: message.inbound
X-Email: ana@example.com
X-Phone: +4915123456789
X-Event: [{"provider":"standard","type":"message.inbound","delivery_id":"evt_42","occurred_at":1763700000000,"identity":{"email":"ana@example.com","phone":"+4915123456789","platform_id":"c1"},"conversation_id":"conv-9","message":{"author":"contact","id":"m1","text":"Hallo"}}]



=== TEST 10: several signatures in one header: one valid v1 among wrong, malformed and other-version entries verifies
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::std($b);
my ($good) = $main::H =~ /webhook-signature: (\S+)/;
my $wrong = standard_sig('whsec_' . MIME::Base64::encode_base64('another key of 24 bytes!', ''), $main::Id, 1, $b);
$main::H =~ s/webhook-signature: \S+/webhook-signature: v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw\/enGzPCXe5ByiWGXUoqeD9U7N\/k8OkPmQvTUM5YSlB1zaTRO8rcAw== $wrong v1,not*base64 nocomma v2,Zm9v $good/;
"POST /hooks/std\n$b"
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 11: several signatures, none valid: refused as a mismatch
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::std($b);
my $w1 = standard_sig($main::Secret2, $main::Id, 1, $b);
my $w2 = standard_sig($main::Secret2, $main::Id, 2, $b);
$main::H =~ s/webhook-signature: \S+/webhook-signature: $w1 v1a,Zm9vYmFy  $w2/;
"POST /hooks/std\n$b"
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}



=== TEST 12: only a version we do not verify (v1a, ed25519) is a mismatch; no v1 entry at all, a malformed one
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::stds([$b, sig => 'v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5ByiWGXUoqeD9U7N/k8OkPmQvTUM5YSlB1zaTRO8rcAw=='],
           [$b, sig => 'v1,not-base64!'],
           [$b, sig => 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
           [$b, sig => 'v1,Zm9v'])
--- more_headers eval
$main::H
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
['{"status":"rejected","reason":"signature_mismatch"}' . "\n",
 '{"status":"rejected","reason":"signature_malformed"}' . "\n",
 '{"status":"rejected","reason":"signature_malformed"}' . "\n",
 '{"status":"rejected","reason":"signature_malformed"}' . "\n"]



=== TEST 13: 6 minutes in the past and in the future are stale (default 5m window)
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::stds([$b, age => 360], [$b, age => -360])
--- more_headers eval
$main::H
--- error_code eval
[401, 401]
--- response_body eval
['{"status":"rejected","reason":"timestamp_stale"}' . "\n",
 '{"status":"rejected","reason":"timestamp_stale"}' . "\n"]
--- error_log
crmsync: standard webhook rejected with 401: timestamp_stale



=== TEST 13a: 4 minutes either way is accepted (default 5m window)
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::stds([$b, age => 240], [$b, age => -240])
--- more_headers eval
$main::H
--- error_code eval
[200, 200]
--- response_body eval
['{"status":"accepted","events":1}' . "\n",
 '{"status":"accepted","events":1}' . "\n"]
--- no_error_log
webhook rejected



=== TEST 14: crmsync_replay_window 10m accepts 6 minutes either way and still refuses 11
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_replay_window 10m;
    }
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::stds([$b, age => 360], [$b, age => -360],
           [$b, age => 660], [$b, age => -660])
--- more_headers eval
$main::H
--- error_code eval
[200, 200, 401, 401]
--- response_body eval
['{"status":"accepted","events":1}' . "\n",
 '{"status":"accepted","events":1}' . "\n",
 '{"status":"rejected","reason":"timestamp_stale"}' . "\n",
 '{"status":"rejected","reason":"timestamp_stale"}' . "\n"]



=== TEST 15: a stale timestamp is refused as stale even when the signature matches it
--- request eval
main::std(sample('standard-webhooks/contact.created_thin_minified.json'),
          age => 3600)
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"timestamp_stale"}



=== TEST 16: a tampered body is refused with 401, logged once, without the secret or the body
--- request eval
main::std(sample('standard-webhooks/contact.created_full.json'));
my $b = sample('standard-webhooks/contact.created_full.json');
$b =~ s/John Smith/Jane Smith/;
"POST /hooks/std\n$b"
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: signature_mismatch
!X-Type
!X-Delivery
!X-Event
--- error_log
[warn]
crmsync: standard webhook rejected with 401: signature_mismatch
--- no_error_log eval
['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'Jane Smith', '[error]',
 qr/webhook rejected with 401(?s:.*)webhook rejected with 401/]



=== TEST 17: a body signed with another secret is refused
--- request eval
main::std(sample('standard-webhooks/contact.created_full.json'),
          secret => $main::Secret2)
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}



=== TEST 18: a webhook-id signed differently from the one sent is refused
--- request eval
my $b = sample('standard-webhooks/contact.created_full.json');
main::std($b, id => 'msg_A');
$main::H =~ s/webhook-id: msg_A/webhook-id: msg_B/;
"POST /hooks/std\n$b"
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}



=== TEST 19: missing headers: signature, id; and svix-id with a webhook-signature does not count
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
my $r = main::stds([$b, drop => 'webhook-signature'],
                   [$b, drop => 'webhook-id']);
$r
--- more_headers eval
$main::H
--- error_code eval
[401, 401]
--- response_body eval
['{"status":"rejected","reason":"signature_missing"}' . "\n",
 '{"status":"rejected","reason":"signature_missing"}' . "\n"]
--- error_log
crmsync: standard webhook rejected with 401: signature_missing



=== TEST 19a: a missing webhook-timestamp
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::std($b, drop => 'webhook-timestamp')
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"timestamp_missing"}
--- error_log
crmsync: standard webhook rejected with 401: timestamp_missing



=== TEST 20: a webhook-signature with svix-id and svix-timestamp is refused: one family of headers
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::std($b);
$main::H =~ s/webhook-id/svix-id/;
$main::H =~ s/webhook-timestamp/svix-timestamp/;
"POST /hooks/std\n$b"
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_missing"}



=== TEST 21: timestamps that are not Unix seconds are malformed
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::stds([$b, ts => 'abc'], [$b, ts => '-5'],
           [$b, ts => '1.5e9'], [$b, ts => '9' x 19])
--- more_headers eval
$main::H
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
[('{"status":"rejected","reason":"timestamp_malformed"}' . "\n") x 4]



=== TEST 22: rotation: a secret without "whsec_" and a second listed secret both verify
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD;
        crmsync_secret MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- request eval
my $b = sample('standard-webhooks/contact.created_thin_minified.json');
main::stds([$b], [$b, secret => $main::Secret2])
--- more_headers eval
$main::H
--- error_code eval
[200, 200]



=== TEST 23: truncated JSON, correctly signed, is refused with 400
--- request eval
main::std(substr(sample('standard-webhooks/contact.created_full.json'), 0, 100))
--- more_headers eval
$main::H
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- response_headers
X-Reason: bad_json
--- error_log
crmsync: standard webhook rejected with 400: bad_json



=== TEST 24: wrong types in fields, correctly signed, are refused with 422 naming the field
--- request eval
main::stds(['{"type":"contact.created","data":"x"}'],
           ['{"type":42,"data":{}}'],
           ['{"type":"contact.created","data":{"id":"c1","email":5}}'],
           ['{"type":"contact.created","data":{"id":"c1","phone":["+12025550123"]}}'],
           ['{"type":"message.inbound","data":{"contact":{"id":"c1"},"message":"hi"}}'],
           ['{"type":"message.inbound","data":{"contact":{"id":"c1"},"message":{"text":7}}}'],
           ['{"type":"contact.created","timestamp":{},"data":{"id":"c1"}}'],
           ['["type","contact.created"]'])
--- more_headers eval
$main::H
--- error_code eval
[(422) x 8]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) }
 qw(standard_no_data standard_no_type standard_bad_email standard_bad_phone
    standard_no_message standard_bad_text standard_bad_timestamp not_an_object)]



=== TEST 25: 10,000-deep nesting, correctly signed, is refused without a crash
--- request eval
main::std('{"type":"contact.created","data":' . deep_json(10000) . '}')
--- more_headers eval
$main::H
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- no_error_log
[alert]
[crit]



=== TEST 26: a body over client_max_body_size is refused with 413 before verification
--- request eval
main::std('{"type":"contact.created","data":{"id":"' . ('x' x 70000) . '"}}')
--- more_headers eval
$main::H
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- response_headers
X-Reason: body_too_large



=== TEST 27: an event type we do not sync is answered 200 ignored
--- request eval
main::std('{"type":"invoice.paid","timestamp":"2022-11-03T20:26:10.344522Z","data":{"id":"in_1"}}')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"ignored","reason":"standard_type_ignored"}
--- response_headers
X-Status: ignored
X-Reason: standard_type_ignored
X-Events: 0
!X-Type
--- no_error_log
webhook rejected



=== TEST 28: an unsigned delivery with another content type is refused with 415 before verification
--- request eval
main::std(sample('standard-webhooks/contact.created_thin_minified.json'));
$main::H =~ s{application/json}{text/plain};
"POST /hooks/std\n" . sample('standard-webhooks/contact.created_thin_minified.json')
--- more_headers eval
$main::H
--- error_code: 415
--- response_body
{"status":"rejected","reason":"unsupported_media_type"}



=== TEST 29: message.outbound, message.status, conversation.closed and csat constructed payloads
--- request eval
main::stds(['{"type":"message.sent","data":{"contact":{"id":"c1"},"message":{"id":"m2","text":"On its way","attachments":["image",{"type":"document"}]}}}'],
           ['{"type":"message.status","data":{"contact":{"id":"c1"},"message":{"id":"m2","status":"read"}}}'],
           ['{"type":"conversation.closed","data":{"contact":{"email":"bo@example.org"},"conversation":{"id":77},"assignee":{"email":"agent@example.com"}}}'],
           ['{"type":"csat","data":{"contact":{"id":"c1"},"score":5}}'])
--- more_headers eval
$main::H
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[('{"status":"accepted","events":1}' . "\n") x 4]
--- response_headers eval
# the last request's
[('') x 3, <<'EOF']
X-Type: csat
X-Delivery: msg_p5jXN8AQM9LWM0D4loKWxJek
X-Event: [{"provider":"standard","type":"csat","delivery_id":"msg_p5jXN8AQM9LWM0D4loKWxJek","identity":{"platform_id":"c1"},"csat":5}]
EOF



=== TEST 30: a body spilled to a temporary file is verified and parsed whole
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        client_body_buffer_size 1k;
        add_header X-Event $crmsync_event always;
    }
--- request eval
main::std('{"type":"contact.created","data":{"id":"c1","note":"' . ('n' x 8000) . '","email":"last@example.com"}}')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers_like
X-Event: .*"email":"last@example.com".*
--- error_log
a client request body is buffered to a temporary file



=== TEST 31: the delivery id comes from the header family that was verified
# The delivery is verified with svix-id/svix-timestamp/svix-signature (no
# webhook-signature); an extra, unsigned webhook-id must not become the
# dedup key, or a captured delivery replayed within the window with a new
# webhook-id would be taken for a new one.
--- request eval
main::std(sample('standard-webhooks/contact.created_thin_minified.json'),
          prefix => 'svix', id => 'msg_signed');
$main::H .= "\nwebhook-id: forged-anything";
"POST /hooks/std\n" . sample('standard-webhooks/contact.created_thin_minified.json')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Delivery: msg_signed

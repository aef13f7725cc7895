# Messenger Platform deliveries (object "page"): signature, handshake,
# parsing, receipts and echoes, refusals.
#
# The samples in t/samples/messenger/ hold one element of
# entry[].messaging[] with "<PSID>" / "<PAGE_ID>" placeholders: main::wrap
# puts one or more of them in the envelope t/samples/README.md gives,
# {"object":"page","entry":[{"id":...,"time":...,"messaging":[...]}]},
# with the placeholders replaced by ids of the real shape (digits).

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

our $Secret = 'fb-app-secret-1';
our $Psid = '6857492367652313';
our $Page = '107295098946427';
our $Time = 1458692753000;     # entry[].time, ms
our $Headers;                  # the headers main::req signs with

our $Location = <<'EOF_CONF';
    location = /hooks/fb {
        crmsync_webhook messenger;
        crmsync_secret fb-app-secret-1;
        crmsync_verify_token fb-tok-77;
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

# a messaging[] item: a sample without its final newline, ids filled in
sub item {
    my ($s) = @_;
    $s = sample("messenger/$s") if $s =~ /\.json\z/;
    $s =~ s/\n\z//;
    $s =~ s/<PSID>/$main::Psid/g;
    $s =~ s/<PAGE_ID>/$main::Page/g;
    return $s;
}

# the envelope around messaging[] items (one entry)
sub wrap {
    my $items = join ',', map { main::item($_) } @_;
    return qq({"object":"page","entry":[{"id":"$main::Page",)
           . qq("time":$main::Time,"messaging":[$items]}]});
}

# "POST /hooks/fb\n<body>" and, in $main::Headers, the headers that sign it
sub req {
    my ($body, $secret) = @_;
    $main::Headers = "X-Hub-Signature-256: " . meta_sig($secret // $main::Secret, $body)
                     . "\nContent-Type: application/json";
    return "POST /hooks/fb\n$body";
}

# the echo Meta sends for the page's own reply: sender and recipient swapped
sub echo_item {
    return qq({"sender":{"id":"$main::Page"},"recipient":{"id":"$main::Psid"},)
           . qq("timestamp":1458692760000,"message":{"is_echo":true,)
           . qq("app_id":1517776481860111,"mid":"mid.1458692760000:0ff5a6c2b4e1d73a51",)
           . qq("text":"Hi! How can we help?"}});
}

# n messages from n senders, as messaging[] items
sub many {
    my ($n) = @_;
    return map { qq({"sender":{"id":"$_"},"recipient":{"id":"1"},"timestamp":1,)
                 . qq("message":{"mid":"m$_","text":"t"}}) } 1 .. $n;
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the text-message sample becomes one message.inbound event keyed on the PSID
--- request eval
main::req(main::wrap('messages_text_event.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Status: accepted
!X-Reason
X-Type: message.inbound
X-Events: 1
X-Delivery: mid.1457764197618:41d102a3e1ae206a38
X-Provider: messenger
!X-Phone
!X-Email
X-Event: [{"provider":"messenger","type":"message.inbound","delivery_id":"mid.1457764197618:41d102a3e1ae206a38","occurred_at":1458692752478,"identity":{"messenger_psid":"6857492367652313"},"message":{"author":"contact","id":"mid.1457764197618:41d102a3e1ae206a38","text":"hello, world!"}}]
--- no_error_log
[error]
[warn]



=== TEST 2: the delivery-receipt sample is answered 200 and ignored (a watermark, not one message)
--- request eval
main::req(main::wrap('message_deliveries_event.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"ignored","reason":"messenger_receipt"}
--- response_headers
X-Status: ignored
X-Reason: messenger_receipt
X-Events: 0
!X-Type
!X-Delivery
!X-Event
--- no_error_log
[warn]



=== TEST 3: the read-receipt sample is answered 200 and ignored
--- request eval
main::req(main::wrap('message_reads_event.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"ignored","reason":"messenger_receipt"}
--- response_headers
X-Status: ignored
X-Reason: messenger_receipt
!X-Type



=== TEST 4: an echo (is_echo, the page's own message) is message.outbound by an agent, the contact being the recipient
--- request eval
main::req(main::wrap(main::echo_item()))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: message.outbound
X-Delivery: mid.1458692760000:0ff5a6c2b4e1d73a51
X-Event: [{"provider":"messenger","type":"message.outbound","delivery_id":"mid.1458692760000:0ff5a6c2b4e1d73a51","occurred_at":1458692760000,"identity":{"messenger_psid":"6857492367652313"},"message":{"author":"agent","id":"mid.1458692760000:0ff5a6c2b4e1d73a51","text":"Hi! How can we help?"}}]



=== TEST 5: one delivery with a message, both receipts and an echo: the receipts are skipped, the rest kept in order
--- request eval
main::req(main::wrap('messages_text_event.json', 'message_deliveries_event.json',
                     'message_reads_event.json', main::echo_item()))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":2}
--- response_headers
X-Events: 2
X-Type: message.inbound
X-Delivery: mid.1457764197618:41d102a3e1ae206a38
--- raw_response_headers_like chomp
(?m-s)^X-Event: \[\{"provider":"messenger","type":"message.inbound","delivery_id":"mid.1457764197618:41d102a3e1ae206a38",.*\},\{"provider":"messenger","type":"message.outbound","delivery_id":"mid.1458692760000:0ff5a6c2b4e1d73a51",.*"author":"agent".*\}\]\r$



=== TEST 6: a message without its own timestamp takes entry[].time
--- request eval
my $i = main::item('messages_text_event.json');
$i =~ s/"timestamp":1458692752478,//;
main::req(main::wrap($i))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers_like
X-Event: .*"occurred_at":1458692753000,.*



=== TEST 7: a postback (button tap) is an inbound message whose text is the button title
--- request eval
main::req(main::wrap(qq({"sender":{"id":"$main::Psid"},"recipient":{"id":"$main::Page"},"timestamp":1458692800000,"postback":{"mid":"m_postback-1","title":"Talk to sales","payload":"SALES"}})))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: message.inbound
X-Delivery: m_postback-1
--- raw_response_headers_like chomp
(?m-s)^X-Event: .*"message":\{"author":"contact","id":"m_postback-1","text":"Talk to sales"\}.*\r$



=== TEST 8: Meta's subscribe handshake echoes the challenge for our token
--- request
GET /hooks/fb?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=fb-tok-77
--- error_code: 200
--- response_headers
Content-Type: text/plain
--- response_body chomp
1158201444
--- no_error_log
[warn]



=== TEST 9: the handshake with another token is refused with 403, the token kept out of the refusal line
--- request
GET /hooks/fb?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=fb-tok-78
--- error_code: 403
--- response_body
{"status":"rejected","reason":"verify_token_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: verify_token_mismatch
--- error_log
crmsync: messenger webhook rejected with 403: verify_token_mismatch, client: 127.0.0.1
--- no_error_log eval
[qr/\[warn\].*fb-tok-7/, qr/\[warn\].*hub\.verify_token/]



=== TEST 10: the handshake with another hub.mode, or without a challenge, is refused
--- request eval
["GET /hooks/fb?hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=fb-tok-77",
 "GET /hooks/fb?hub.mode=subscribe&hub.verify_token=fb-tok-77"]
--- error_code eval
[403, 403]
--- response_body eval
['{"status":"rejected","reason":"handshake_mode"}' . "\n",
 '{"status":"rejected","reason":"handshake_challenge_missing"}' . "\n"]



=== TEST 10a: a verify token with reserved characters matches: Meta sends it percent-encoded
# A Verify Token typed in the App Dashboard as "s3cr3t/tok=en&x" arrives
# as hub.verify_token=s3cr3t%2Ftok%3Den%26x; it is decoded before the
# constant-time compare.
--- config
    location = /hooks/fb {
        crmsync_webhook messenger;
        crmsync_secret fb-app-secret-1;
        crmsync_verify_token "s3cr3t/tok=en&x";
    }
--- request
GET /hooks/fb?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=s3cr3t%2Ftok%3Den%26x
--- error_code: 200
--- response_body chomp
1158201444



=== TEST 11: a tampered body is refused with 401, logged once at warn without the secret or the body
--- request eval
my $b = main::wrap('messages_text_event.json');
main::req($b);
$b =~ s/hello, world!/hello, w0rld!/;
"POST /hooks/fb\n$b"
--- more_headers eval
$main::Headers
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: signature_mismatch
X-Provider: messenger
!X-Type
!X-Event
--- error_log
[warn]
crmsync: messenger webhook rejected with 401: signature_mismatch
--- no_error_log eval
["fb-app-secret-1", "w0rld", qr/rejected with 401(?s:.*)rejected with 401/]



=== TEST 12: a body signed with another app's secret is refused
--- request eval
main::req(main::wrap('messages_text_event.json'), 'fb-app-secret-2')
--- more_headers eval
$main::Headers
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- no_error_log
fb-app-secret



=== TEST 13: without X-Hub-Signature-256 the delivery is refused, even with the legacy sha1 X-Hub-Signature
--- request eval
my $b = main::wrap('messages_text_event.json');
$main::Legacy = "X-Hub-Signature: " . intercom_sig($main::Secret, $b);
"POST /hooks/fb\n$b"
--- more_headers eval
"$main::Legacy\nContent-Type: application/json"
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_missing"}
--- error_log
crmsync: messenger webhook rejected with 401: signature_missing



=== TEST 14: a signature that is not sha256=<64 hex> is malformed
--- request eval
my $b = main::wrap('messages_text_event.json');
my $s = meta_sig($main::Secret, $b);
$main::Bad = [$s =~ s/^sha256=/sha1=/r, substr($s, 0, 40), $s . 'ab', $s =~ s/[0-9a-f]$/g/r];
["POST /hooks/fb\n$b", "POST /hooks/fb\n$b", "POST /hooks/fb\n$b", "POST /hooks/fb\n$b"]
--- more_headers eval
[map { "X-Hub-Signature-256: $_\nContent-Type: application/json" } @$main::Bad]
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
[('{"status":"rejected","reason":"signature_malformed"}' . "\n") x 4]



=== TEST 15: Meta has no signed timestamp: with crmsync_replay_window set, an old (2016) delivery still verifies; dedup is by mid
--- config
    location = /hooks/fb {
        crmsync_webhook messenger;
        crmsync_secret fb-app-secret-1;
        crmsync_replay_window 5m;
        add_header X-Delivery $crmsync_delivery_id always;
    }
--- request eval
main::req(main::wrap('messages_text_event.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Delivery: mid.1457764197618:41d102a3e1ae206a38
--- no_error_log
timestamp_



=== TEST 16: truncated JSON, correctly signed, is refused with 400
--- request eval
main::req(substr(main::wrap('messages_text_event.json'), 0, 120))
--- more_headers eval
$main::Headers
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- error_log
crmsync: messenger webhook rejected with 400: bad_json



=== TEST 17: wrong types in fields, correctly signed, are each refused with 422 naming the field
--- request eval
my $t = main::item('messages_text_event.json');
my @b = (
    '{"object":"page","entry":"x"}',
    '{"object":"page","entry":[7]}',
    main::wrap($t =~ s/"hello, world!"/42/r),
    main::wrap($t =~ s/"sender":\{\s*"id":"\d+"/"sender":{"id":6857492367652313/r),
    main::wrap($t =~ s/"message":\{/"message":{"is_echo":"true",/r),
    main::wrap($t =~ s/"mid":"[^"]*"/"mid":17/r),
    main::wrap($t =~ s/"timestamp":1458692752478/"timestamp":"yesterday"/r),
    main::wrap($t =~ s/"message":\{/"message":{"attachments":{"type":"image"},/r),
    main::wrap('"hi"'),
    '{"object":"page","entry":[{"id":"1","time":1,"messaging":{}}]}',
);
$main::H = [];
my @r = map { my $r = main::req($_); push @$main::H, $main::Headers; $r } @b;
\@r
--- more_headers eval
$main::H
--- error_code eval
[(422) x 10]
--- response_body eval
[map { qq({"status":"rejected","reason":"messenger_$_"}\n) }
 qw(no_entry bad_entry bad_text no_sender bad_is_echo bad_mid bad_timestamp
    bad_attachments bad_messaging bad_messaging)]



=== TEST 18: an Instagram delivery (object "instagram") on a messenger location is refused
--- request eval
main::req(main::wrap('messages_text_event.json') =~ s/"object":"page"/"object":"instagram"/r)
--- more_headers eval
$main::Headers
--- error_code: 422
--- response_body
{"status":"rejected","reason":"messenger_wrong_object"}



=== TEST 19: 10,000-deep nesting, correctly signed, is refused without a crash; the next delivery is served
--- request eval
my $deep = main::req('{"object":"page","entry":' . deep_json(10000) . '}');
$main::H = [$main::Headers];
my $ok = main::req(main::wrap('messages_text_event.json'));
push @$main::H, $main::Headers;
[$deep, $ok]
--- more_headers eval
$main::H
--- error_code eval
[400, 200]
--- response_body eval
['{"status":"rejected","reason":"bad_json"}' . "\n", '{"status":"accepted","events":1}' . "\n"]
--- no_error_log
[alert]
[crit]
signal



=== TEST 20: a body over client_max_body_size is refused with 413 before verification
--- request eval
# the padding is white space inside the JSON: the harness strips it from
# the ends of a body
"POST /hooks/fb\n{" . (' ' x 70000) . substr(main::wrap('messages_text_event.json'), 1)
--- more_headers
Content-Type: application/json
X-Hub-Signature-256: sha256=0000000000000000000000000000000000000000000000000000000000000000
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- response_headers
X-Status: rejected
X-Reason: body_too_large
--- no_error_log
signature_



=== TEST 21: a form body is refused with 415
--- request
POST /hooks/fb
object=page
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 415
--- response_body
{"status":"rejected","reason":"unsupported_media_type"}
--- error_log
crmsync: messenger webhook rejected with 415: unsupported_media_type



=== TEST 22: a DELETE is refused with 405 and Allow names GET and POST
--- request
DELETE /hooks/fb
--- error_code: 405
--- response_body
{"status":"rejected","reason":"method_not_allowed"}
--- response_headers
Allow: GET, POST
--- error_log
crmsync: messenger webhook rejected with 405: method_not_allowed



=== TEST 23: a deleted (unsent) message is ignored; an entry without messaging[] (standby) too
--- request eval
my $d = main::item('messages_text_event.json') =~ s/"message":\{/"message":{"is_deleted":true,/r;
my @r = (main::req(main::wrap($d)));
$main::H = [$main::Headers];
push @r, main::req(qq({"object":"page","entry":[{"id":"$main::Page","time":1,"standby":[{"sender":{"id":"1"}}]}]}));
push @$main::H, $main::Headers;
\@r
--- more_headers eval
$main::H
--- error_code eval
[200, 200]
--- response_body eval
['{"status":"ignored","reason":"messenger_deleted"}' . "\n",
 '{"status":"ignored","reason":"messenger_no_messaging"}' . "\n"]



=== TEST 24: Meta signs the escaped-unicode bytes: they verify and the event text is the decoded UTF-8
--- request eval
my $esc = '"\u00e4\u00f6\u00e5 \/ \u003C \u0040"';
my $i = main::item('messages_text_event.json');
$i =~ s/"hello, world!"/$esc/;
main::req(main::wrap($i))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers_like
X-Event: .*"text":"\x{c3}\x{a4}\x{c3}\x{b6}\x{c3}\x{a5} / < @"\}.*



=== TEST 25: at most 1024 events a delivery: 1024 messages are accepted
--- config
    location = /hooks/fb {
        crmsync_webhook messenger;
        crmsync_secret fb-app-secret-1;
        client_max_body_size 1m;
        add_header X-Events $crmsync_events always;
    }
--- request eval
main::req(main::wrap(main::many(1024)))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1024}
--- no_error_log
webhook rejected



=== TEST 25a: 1025 messages are refused with 413 too_many_events
--- config
    location = /hooks/fb {
        crmsync_webhook messenger;
        crmsync_secret fb-app-secret-1;
        client_max_body_size 1m;
        add_header X-Events $crmsync_events always;
    }
--- request eval
main::req(main::wrap(main::many(1025)))
--- more_headers eval
$main::Headers
--- error_code: 413
--- response_body
{"status":"rejected","reason":"too_many_events"}
--- error_log
crmsync: messenger webhook rejected with 413: too_many_events

# Instagram messaging deliveries (object "instagram"): signature,
# handshake, parsing, echoes, skips, refusals.
#
# t/samples/instagram/messages_syntax_template.txt is Meta's syntax
# template, not JSON (placeholders, // comments, missing commas, an outer
# array).  TEST 1 posts it verbatim and expects bad_json; the other bodies
# are CONSTRUCTED here from it: the same envelope and field names
# (object, entry[].id/time, messaging[].sender/recipient/timestamp,
# message.mid/text/attachments[].type+payload.url/is_echo/is_deleted/
# is_unsupported/quick_reply/reply_to), with the placeholders filled in by
# values of the real shape, one optional field at a time.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

our $Secret = 'ig-app-secret-1';
our $Igsid = '1127593461285736';          # <SENDER_ID>
our $Me = '17841405793187218';            # <YOUR_APP_USERS_INSTAGRAM_USER_ID>
our $Mid = 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDA1NzkzMTg3MjE4OjM0MDI4MjM2Njg0MTcxMDMwMDk0OTEyODE2NjE5MTMzNzM3NDEzMzozMTc3NjI4NTI5NzkxNzE0ODA1MTI5NzY5NjI5NjQ3ODQwAA';

our $Location = <<'EOF_CONF';
    location = /hooks/ig {
        crmsync_webhook instagram;
        crmsync_secret ig-app-secret-1;
        crmsync_verify_token ig-tok-5;
        client_max_body_size 64k;
        add_header X-Status $crmsync_status always;
        add_header X-Reason $crmsync_reason always;
        add_header X-Type $crmsync_event_type always;
        add_header X-Events $crmsync_events always;
        add_header X-Phone $crmsync_phone always;
        add_header X-Delivery $crmsync_delivery_id always;
        add_header X-Provider $crmsync_provider always;
        add_header X-Event $crmsync_event always;
    }
EOF_CONF

# a constructed messaging[] item: $msg is the inside of "message":{...}
sub msg {
    my ($msg, %o) = @_;
    my ($from, $to) = $o{echo} ? ($main::Me, $main::Igsid) : ($main::Igsid, $main::Me);
    return qq({"sender":{"id":"$from"},"recipient":{"id":"$to"},)
           . qq("timestamp":1569262485349,"message":{$msg}});
}

# the envelope of the template, filled in
sub wrap {
    my $items = join ',', @_;
    return qq({"object":"instagram","entry":[{"id":"$main::Me",)
           . qq("time":1569262486134,"messaging":[$items]}]});
}

sub text_msg { return main::msg(qq("mid":"$main::Mid","text":"Is this still available?")) }

sub req {
    my ($body, $secret) = @_;
    $body =~ s/\n\z//;    # the harness sends a body without its final newline
    $main::Headers = "X-Hub-Signature-256: " . meta_sig($secret // $main::Secret, $body)
                     . "\nContent-Type: application/json";
    return "POST /hooks/ig\n$body";
}

# several bodies: the requests, and their headers in $main::H
sub reqs {
    $main::H = [];
    return [map { my $r = main::req($_); push @$main::H, $main::Headers; $r } @_];
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the syntax template itself, signed, is not JSON: 400
--- request eval
main::req(sample('instagram/messages_syntax_template.txt'))
--- more_headers eval
$main::Headers
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- error_log
crmsync: instagram webhook rejected with 400: bad_json



=== TEST 2: a text message built from the template becomes one message.inbound event keyed on the IGSID
--- request eval
main::req(main::wrap(main::text_msg()))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers eval
"X-Status: accepted\n!X-Reason\nX-Type: message.inbound\nX-Events: 1\n"
. "X-Provider: instagram\n!X-Phone\nX-Delivery: $main::Mid\n"
. qq(X-Event: [{"provider":"instagram","type":"message.inbound","delivery_id":"$main::Mid","occurred_at":1569262485349,"identity":{"instagram_id":"1127593461285736"},"message":{"author":"contact","id":"$main::Mid","text":"Is this still available?"}}]\n)
--- no_error_log
[error]
[warn]



=== TEST 3: the template's outer array (a list of deliveries) is refused: only HubSpot batches are arrays
--- request eval
main::req('[' . main::wrap(main::text_msg()) . ']')
--- more_headers eval
$main::Headers
--- error_code: 422
--- response_body
{"status":"rejected","reason":"not_an_object"}



=== TEST 4: attachments: image, audio, video, ig_reel, file, and share / story_mention as other
--- request eval
my $a = CORE::join ',', map { qq({"type":"$_","payload":{"url":"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=x"}}) }
        qw(image audio video ig_reel file share story_mention);
main::req(main::wrap(main::msg(qq("mid":"m_att","attachments":[$a]))))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers_like
X-Event: .*"message":\{"author":"contact","id":"m_att","attachments":\["image","audio","video","file","other"\]\}\}\]$



=== TEST 5: is_unsupported marks the message as an "other" attachment
--- request eval
main::req(main::wrap(main::msg(qq("mid":"m_uns","is_unsupported":true))))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers_like
X-Event: .*"message":\{"author":"contact","id":"m_uns","attachments":\["other"\]\}.*



=== TEST 6: an echo (is_echo) is message.outbound by an agent, the contact being the recipient
--- request eval
main::req(main::wrap(main::msg(qq("mid":"m_echo","text":"Yes, it is!","is_echo":true), echo => 1)))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Type: message.outbound
X-Delivery: m_echo
X-Event: [{"provider":"instagram","type":"message.outbound","delivery_id":"m_echo","occurred_at":1569262485349,"identity":{"instagram_id":"1127593461285736"},"message":{"author":"agent","id":"m_echo","text":"Yes, it is!"}}]



=== TEST 7: is_deleted, a reaction and a read receipt are each ignored with their reason
--- request eval
main::reqs(
    main::wrap(main::msg(qq("mid":"$main::Mid","is_deleted":true))),
    main::wrap(qq({"sender":{"id":"$main::Igsid"},"recipient":{"id":"$main::Me"},"timestamp":1,"reaction":{"mid":"m1","action":"react","reaction":"love","emoji":"\\u2764"}})),
    main::wrap(qq({"sender":{"id":"$main::Igsid"},"recipient":{"id":"$main::Me"},"timestamp":1,"read":{"mid":"m1"}})),
)
--- more_headers eval
$main::H
--- error_code eval
[200, 200, 200]
--- response_body eval
[map { qq({"status":"ignored","reason":"instagram_$_"}\n) } qw(deleted unsupported_event receipt)]



=== TEST 8: quick_reply, reply_to and referral do not disturb the text message
--- request eval
main::req(main::wrap(main::msg(qq("mid":"m_qr","text":"Red","quick_reply":{"payload":"COLOR_RED"},"reply_to":{"mid":"m_prev"},"referral":{"ref":"spring","ad_id":"23851","source":"ADS","type":"OPEN_THREAD"}))))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers_like
X-Event: .*"message":\{"author":"contact","id":"m_qr","text":"Red"\}\}\]$



=== TEST 9: Meta's subscribe handshake echoes the challenge for our token
--- request
GET /hooks/ig?hub.mode=subscribe&hub.challenge=987654321&hub.verify_token=ig-tok-5
--- error_code: 200
--- response_body chomp
987654321



=== TEST 10: the handshake with another token is refused with 403, the token kept out of the refusal line
--- request
GET /hooks/ig?hub.mode=subscribe&hub.challenge=987654321&hub.verify_token=ig-tok-6
--- error_code: 403
--- response_body
{"status":"rejected","reason":"verify_token_mismatch"}
--- error_log
crmsync: instagram webhook rejected with 403: verify_token_mismatch, client: 127.0.0.1
--- no_error_log eval
qr/\[warn\].*ig-tok-/



=== TEST 11: a challenge that is not a plain token is not echoed
--- request
GET /hooks/ig?hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=ig-tok-5
--- error_code: 403
--- response_body
{"status":"rejected","reason":"handshake_challenge_invalid"}



=== TEST 12: a tampered body is refused with 401, logged once at warn without the secret
--- request eval
my $b = main::wrap(main::text_msg());
main::req($b);
$b =~ s/still available/still avai1able/;
"POST /hooks/ig\n$b"
--- more_headers eval
$main::Headers
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: signature_mismatch
!X-Event
--- error_log
[warn]
crmsync: instagram webhook rejected with 401: signature_mismatch
--- no_error_log eval
["ig-app-secret-1", "avai1able", qr/rejected with 401(?s:.*)rejected with 401/]



=== TEST 13: another app's secret, a missing header, a malformed header
--- request eval
my $b = main::wrap(main::text_msg());
$main::H = ["X-Hub-Signature-256: " . meta_sig('ig-app-secret-2', $b) . "\nContent-Type: application/json",
            "Content-Type: application/json",
            "X-Hub-Signature-256: sha256=" . ('z' x 64) . "\nContent-Type: application/json"];
[("POST /hooks/ig\n$b") x 3]
--- more_headers eval
$main::H
--- error_code eval
[401, 401, 401]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) } qw(signature_mismatch signature_missing signature_malformed)]
--- no_error_log
ig-app-secret



=== TEST 14: rotation: the second configured secret verifies, from a secret file
--- config
    location = /hooks/ig {
        crmsync_webhook instagram;
        crmsync_secret_file $TEST_NGINX_SERVER_ROOT/html/ig.secrets;
    }
--- user_files
>>> ig.secrets
# old app secret, kept during rotation
ig-app-secret-1
ig-app-secret-2
--- request eval
main::req(main::wrap(main::text_msg()), 'ig-app-secret-2')
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 15: no signed timestamp in Meta's scheme: with crmsync_replay_window, a 2019 delivery still verifies
--- config
    location = /hooks/ig {
        crmsync_webhook instagram;
        crmsync_secret ig-app-secret-1;
        crmsync_replay_window 1m;
    }
--- request eval
main::req(main::wrap(main::text_msg()))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 16: truncated JSON, correctly signed, is refused with 400
--- request eval
main::req(substr(main::wrap(main::text_msg()), 0, -3))
--- more_headers eval
$main::Headers
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}



=== TEST 17: wrong types in fields, correctly signed, are each refused with 422 naming the field
--- request eval
main::reqs(
    '{"object":"instagram","entry":{}}',
    '{"object":"instagram","entry":[{"id":"1","time":"now","messaging":[]}]}',
    main::wrap(main::msg(qq("mid":"m1","text":["hi"]))),
    main::wrap(main::msg(qq("mid":"m1","attachments":[{"type":7}]))),
    main::wrap(main::msg(qq("mid":"m1","is_echo":1))),
    main::wrap(main::msg(qq("text":"no mid"))),
    main::wrap(main::msg(qq("mid":"m1")) =~ s/"sender":\{"id":"\d+"\}/"sender":{}/r),
    main::wrap(main::msg(qq("mid":"m1","text":"x","is_echo":true), echo => 1) =~ s/"recipient":\{"id":"\d+"\}/"recipient":{"id":null}/r),
    main::wrap(qq({"sender":{"id":"1"},"recipient":{"id":"2"},"message":"hi"})),
    '{"object":"instagram","entry":[{"id":"1","time":1,"messaging":"x"}]}',
)
--- more_headers eval
$main::H
--- error_code eval
[(422) x 10]
--- response_body eval
[map { qq({"status":"rejected","reason":"instagram_$_"}\n) }
 qw(no_entry bad_time bad_text bad_attachments bad_is_echo no_mid no_sender
    no_recipient bad_message bad_messaging)]



=== TEST 18: a Messenger delivery (object "page") on an instagram location is refused
--- request eval
main::req(main::wrap(main::text_msg()) =~ s/"object":"instagram"/"object":"page"/r)
--- more_headers eval
$main::Headers
--- error_code: 422
--- response_body
{"status":"rejected","reason":"instagram_wrong_object"}



=== TEST 19: 10,000-deep nesting (arrays, then objects), correctly signed, is refused without a crash; the next delivery is served
--- request eval
main::reqs('{"object":"instagram","entry":' . deep_json(10000) . '}',
           '{"object":"instagram","entry":[' . ('{"a":' x 10000) . '1' . ('}' x 10000) . ']}',
           main::wrap(main::text_msg()))
--- more_headers eval
$main::H
--- error_code eval
[400, 400, 200]
--- response_body eval
['{"status":"rejected","reason":"bad_json"}' . "\n", '{"status":"rejected","reason":"bad_json"}' . "\n",
 '{"status":"accepted","events":1}' . "\n"]
--- no_error_log
[alert]
[crit]



=== TEST 20: a body over client_max_body_size is refused with 413
--- request eval
# the padding is white space inside the JSON: the harness strips it from
# the ends of a body
"POST /hooks/ig\n{" . ("\n" x 66000) . substr(main::wrap(main::text_msg() x 1), 1)
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- error_log
client intended to send too large body



=== TEST 20a: the 413 nginx answers itself is logged with the crmsync line too
# Every refusal logs "crmsync: <provider> webhook rejected with <status>:
# <reason>" once at crmsync_log_level, the 413 that nginx answers before
# the handler runs (Content-Length over client_max_body_size) included.
--- config
    location = /hooks/ig {
        crmsync_webhook instagram;
        crmsync_secret ig-app-secret-1;
        crmsync_log_level notice;
        client_max_body_size 1k;
    }
--- request eval
"POST /hooks/ig\n" . ('{' x 2000)
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- error_log
[notice]
crmsync: instagram webhook rejected with 413: body_too_large



=== TEST 21: 415 for text/plain, 405 for PUT
--- request eval
["POST /hooks/ig\n{}", "PUT /hooks/ig\n{}"]
--- more_headers eval
["Content-Type: text/plain", "Content-Type: application/json"]
--- error_code eval
[415, 405]
--- response_body eval
['{"status":"rejected","reason":"unsupported_media_type"}' . "\n", '{"status":"rejected","reason":"method_not_allowed"}' . "\n"]
--- response_headers eval
# the last request's
['', <<'EOF']
Allow: GET, POST
EOF



=== TEST 22: a batch of 2 entries, 3 messages: 3 events in order, the first one's mid as delivery id
--- request eval
my $e = sub { qq({"id":"$main::Me","time":1569262486134,"messaging":[) . CORE::join(',', @_) . ']}' };
my $b = '{"object":"instagram","entry":[' . $e->(main::msg('"mid":"m_a","text":"a"'), main::msg('"mid":"m_b","text":"b"'))
        . ',' . $e->(main::msg('"mid":"m_c","text":"c"')) . ']}';
main::req($b)
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":3}
--- response_headers
X-Delivery: m_a
--- raw_response_headers_like chomp
(?m-s)^X-Event: .*"id":"m_a".*"id":"m_b".*"id":"m_c".*\r$

# WhatsApp Cloud API deliveries: signature, handshake, parsing, refusals.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

our $Secret = 'wa-app-secret-1';

our $Location = <<'EOF_CONF';
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret wa-app-secret-1;
        crmsync_verify_token tok-123;
        client_max_body_size 64k;
        add_header X-Status $crmsync_status always;
        add_header X-Reason $crmsync_reason always;
        add_header X-Type $crmsync_event_type always;
        add_header X-Events $crmsync_events always;
        add_header X-Phone $crmsync_phone always;
        add_header X-Delivery $crmsync_delivery_id always;
        add_header X-Event $crmsync_event always;
    }
EOF_CONF

# a sample, without the final newline its file ends with, and signed
sub signed {
    my ($body, $secret) = @_;
    $body =~ s/\n\z//;
    return ($body, "X-Hub-Signature-256: " . meta_sig($secret // $Secret, $body)
                   . "\nContent-Type: application/json");
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a signed inbound text message becomes one message.inbound event
--- request eval
my ($b) = main::signed(sample('whatsapp/messages_text_inbound.json'));
"POST /hooks/wa\n$b"
--- more_headers eval
(main::signed(sample('whatsapp/messages_text_inbound.json')))[1]
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Status: accepted
!X-Reason
X-Type: message.inbound
X-Events: 1
X-Phone: +16505551234
X-Delivery: wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=
--- raw_response_headers_like chomp
(?m-s)^X-Event: \[\{"provider":"whatsapp","type":"message.inbound",.*"occurred_at":1749416383000,"identity":\{"phone":"\+16505551234","whatsapp_id":"16505551234"\},"first_name":"Sheena","last_name":"Nelson","message":\{"author":"contact",.*"text":"Does it come in another color\?"\}\}\]\r$
--- no_error_log
[error]
[warn]



=== TEST 3: a status delivery becomes a message.status event
--- request eval
my ($b) = main::signed(sample('whatsapp/statuses_sent.json'));
"POST /hooks/wa\n$b"
--- more_headers eval
(main::signed(sample('whatsapp/statuses_sent.json')))[1]
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: message.status



=== TEST 4: Meta's subscribe handshake echoes the challenge for our token
--- request
GET /hooks/wa?hub.mode=subscribe&hub.verify_token=tok-123&hub.challenge=1158201444
--- error_code: 200
--- response_headers
Content-Type: text/plain
--- response_body chomp
1158201444



=== TEST 5: the handshake with another token is refused with 403
--- request
GET /hooks/wa?hub.mode=subscribe&hub.verify_token=tok-124&hub.challenge=1158201444
--- error_code: 403
--- response_body
{"status":"rejected","reason":"verify_token_mismatch"}
--- error_log
crmsync: whatsapp webhook rejected with 403: verify_token_mismatch, client: 127.0.0.1
--- no_error_log eval
# the debug log shows the request line anyway: check the warn line only
qr/\[warn\].*tok-124/



=== TEST 6: a tampered body is refused with 401, logged once without secrets
--- request eval
my ($b) = main::signed(sample('whatsapp/messages_text_inbound.json'));
$b =~ s/another color/another colour/;
"POST /hooks/wa\n$b"
--- more_headers eval
(main::signed(sample('whatsapp/messages_text_inbound.json')))[1]
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: signature_mismatch
!X-Type
--- error_log
[warn]
crmsync: whatsapp webhook rejected with 401: signature_mismatch
--- no_error_log
wa-app-secret-1
another colour



=== TEST 7: a body signed with another secret is refused
--- request eval
my ($b) = main::signed(sample('whatsapp/messages_text_inbound.json'));
"POST /hooks/wa\n$b"
--- more_headers eval
(main::signed(sample('whatsapp/messages_text_inbound.json'), 'wa-app-secret-2'))[1]
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}



=== TEST 8: a delivery without X-Hub-Signature-256 is refused
--- request eval
my ($b) = main::signed(sample('whatsapp/messages_text_inbound.json'));
"POST /hooks/wa\n$b"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_missing"}



=== TEST 9: rotation: a body signed with the second listed secret verifies
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret wa-app-secret-1;
        crmsync_secret wa-app-secret-2;
    }
--- request eval
my ($b) = main::signed(sample('whatsapp/messages_text_inbound.json'));
"POST /hooks/wa\n$b"
--- more_headers eval
(main::signed(sample('whatsapp/messages_text_inbound.json'), 'wa-app-secret-2'))[1]
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 10: secrets from a file, one a line, comments and blanks skipped
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret_file $TEST_NGINX_SERVER_ROOT/html/wa.secrets;
    }
--- user_files
>>> wa.secrets
# rotated 2026-11
wa-app-secret-old

  wa-app-secret-2  
--- request eval
my ($b) = main::signed(sample('whatsapp/messages_text_inbound.json'));
"POST /hooks/wa\n$b"
--- more_headers eval
(main::signed(sample('whatsapp/messages_text_inbound.json'), 'wa-app-secret-2'))[1]
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 11: truncated JSON, correctly signed, is refused with 400
# the cut falls after white space, which the harness would strip from the
# body: the signed bytes are the stripped ones
--- request eval
my $b = substr(sample('whatsapp/messages_text_inbound.json'), 0, 300) =~ s/\s+\z//r;
"POST /hooks/wa\n$b"
--- more_headers eval
my $b = substr(sample('whatsapp/messages_text_inbound.json'), 0, 300) =~ s/\s+\z//r;
"X-Hub-Signature-256: " . meta_sig($main::Secret, $b) . "\nContent-Type: application/json"
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}



=== TEST 12: wrong types in fields, correctly signed, are refused with 422
--- request eval
my $b = '{"object":"whatsapp_business_account","entry":"x"}';
"POST /hooks/wa\n$b"
--- more_headers eval
my $b = '{"object":"whatsapp_business_account","entry":"x"}';
"X-Hub-Signature-256: " . meta_sig($main::Secret, $b) . "\nContent-Type: application/json"
--- error_code: 422
--- response_body_like: ^\{"status":"rejected","reason":"whatsapp_[a-z_]+"\}$



=== TEST 13: 10,000-deep nesting, correctly signed, is refused without a crash
--- request eval
my $b = '{"object":"whatsapp_business_account","entry":' . deep_json(10000) . '}';
"POST /hooks/wa\n$b"
--- more_headers eval
my $b = '{"object":"whatsapp_business_account","entry":' . deep_json(10000) . '}';
"X-Hub-Signature-256: " . meta_sig($main::Secret, $b) . "\nContent-Type: application/json"
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- no_error_log
[alert]



=== TEST 14: a body over client_max_body_size is refused with 413
--- request eval
"POST /hooks/wa\n" . ('{' x 70000)
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}



=== TEST 15: a form body is refused with 415 before anything is read
--- request
POST /hooks/wa
a=1
--- more_headers
Content-Type: application/x-www-form-urlencoded
X-Hub-Signature-256: sha256=00
--- error_code: 415
--- response_body
{"status":"rejected","reason":"unsupported_media_type"}



=== TEST 16: crmsync_log_level sets the level refusals are logged at
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret wa-app-secret-1;
        crmsync_log_level info;
    }
--- request eval
"POST /hooks/wa\n{}"
--- more_headers
Content-Type: application/json
X-Hub-Signature-256: sha256=zz
--- error_code: 401
--- error_log
[info]
webhook rejected with 401: signature_malformed
--- no_error_log
[warn]



=== TEST 17: a PUT is refused with 405 and Allow names GET and POST
--- request
PUT /hooks/wa
{}
--- error_code: 405
--- response_headers
Allow: GET, POST



=== TEST 18: a batch: two entries, three messages, three events
--- request eval
my $m = sub { my ($id, $from) = @_; qq({"from":"$from","id":"$id","timestamp":"1749416383","type":"text","text":{"body":"hi"}}) };
my $e = sub { my ($msgs) = @_; qq({"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"1"},"messages":[$msgs]}}]}) };
my $b = '{"object":"whatsapp_business_account","entry":[' . $e->($m->('wamid.A', '4915112345678') . ',' . $m->('wamid.B', '4915112345678')) . ',' . $e->($m->('wamid.C', '5511987654321')) . ']}';
$main::Batch = $b;
"POST /hooks/wa\n$b"
--- more_headers eval
"X-Hub-Signature-256: " . meta_sig($main::Secret, $main::Batch) . "\nContent-Type: application/json"
--- error_code: 200
--- response_body
{"status":"accepted","events":3}
--- response_headers
X-Delivery: wamid.A
X-Phone: +4915112345678

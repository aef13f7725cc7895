# respond.io deliveries: x-webhook-signature, parsing, refusals.
#
# respond.io publishes neither its signature scheme nor a payload sample.
# The scheme (base64 HMAC-SHA256 of the body, header x-webhook-signature)
# and the one vector come from a third-party client library (heboai/hebo,
# t/samples/respond-io/test_vectors.txt); the payloads below are
# CONSTRUCTED from that library's field names, as in
# t/unit/test_provider_respondio.c.  respond.io signs no timestamp: there
# is no stale-timestamp refusal to test, and a replay verifies (dedup is
# by delivery id downstream).

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

our $Secret = 'rio-signing-key-1';
our $H;

our $Location = <<'EOF_CONF';
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-signing-key-1;
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

our $Contact = '"contact":{"id":1234,"firstName":"Ana","lastName":"Silva",'
    . '"email":"Ana@Example.com","phone":"+60123456789","countryCode":"MY",'
    . '"language":"en","status":"open","lifecycle":"Lead","created_at":1690000000,'
    . '"assignee":{"id":77,"name":"Rep One","email":"rep@example.com"},'
    . '"custom_fields":[{"name":"qualification_score","value":87},'
    . '{"name":"budget","value":"5k"},{"name":"empty","value":null},'
    . '{"name":"decision_maker","value":true}]}';

our $Channel = '"channel":{"id":5,"name":"WhatsApp","source":"whatsapp"}';

our $Received = '{"event_type":"message.received","timestamp":1700000000,'
    . "$Contact,$Channel,"
    . '"message":{"channelMessageId":998877,"contactId":1234,'
    . '"traffic":"incoming","message":{"type":"text",'
    . '"text":"Hi there, I want a quote"},"timestamp":1700000001}}';

our $Sent = '{"event_type":"message.sent","traffic":"outgoing",'
    . '"channelMessageId":555,"timestamp":1700000100,'
    . "$Contact,$Channel,"
    . '"message":{"type":"image","text":"Here it is"},'
    . '"user":{"id":77,"name":"Rep One","email":"rep@example.com"}}';

our $Closed = '{"event_type":"conversation.closed","event_id":"evt-closed-1",'
    . "$Contact,"
    . '"conversation":{"category":"Sales","summary":"Bought plan",'
    . '"openedTime":1700000000,"openedBySource":"user",'
    . '"closedTime":1700003600,"closedBy":{"id":77,"name":"Rep"},'
    . '"closedBySource":"user","firstResponseTime":30,'
    . '"resolutionTime":3600,"incomingMessageCount":3,'
    . '"outgoingMessageCount":4,"assigneeTeam":"Sales",'
    . '"lastAssignmentTime":1700000100}}';

# a POST of $body signed with $Secret (or $secret); headers in $main::H
sub rio {
    my ($body, $secret, $sig) = @_;
    $body =~ s/\n\z//;
    $sig //= respondio_sig($secret // $Secret, $body);
    $H = "x-webhook-signature: $sig\nContent-Type: application/json";
    return "POST /hooks/rio\n$body";
}

sub rios {
    my (@reqs, @hdrs);
    for my $r (@_) {
        push @reqs, rio(ref $r ? @$r : $r);
        push @hdrs, $H;
    }
    $H = \@hdrs;
    return \@reqs;
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the third-party vector (key "secret") verifies; its synthetic body has no event_type (422, not 401)
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret secret;
        add_header X-Reason $crmsync_reason always;
    }
--- request eval
main::rio(sample('respond-io/THIRDPARTY_vector_body.json'), undef,
          'UtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0+xIrI=')
--- more_headers eval
$main::H
--- error_code: 422
--- response_body
{"status":"rejected","reason":"respondio_no_event_type"}
--- response_headers
X-Reason: respondio_no_event_type



=== TEST 2: the vector's signature without "=" padding verifies too; one bit off does not
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret secret;
    }
--- request eval
die 'signer' unless respondio_sig('secret', sample('respond-io/THIRDPARTY_vector_body.json') =~ s/\n\z//r)
                    eq 'UtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0+xIrI=';
main::rios([sample('respond-io/THIRDPARTY_vector_body.json'), undef, 'UtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0+xIrI'],
           [sample('respond-io/THIRDPARTY_vector_body.json'), undef, 'VtAE5LaeNjrL33PUEQfh69YKw7UhrrkOL9tQN0+xIrI='])
--- more_headers eval
$main::H
--- error_code eval
[422, 401]
--- response_body eval
['{"status":"rejected","reason":"respondio_no_event_type"}' . "\n",
 '{"status":"rejected","reason":"signature_mismatch"}' . "\n"]



=== TEST 3: message.received becomes one message.inbound event, every field
--- request eval
main::rio($main::Received)
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Status: accepted
!X-Reason
X-Type: message.inbound
X-Events: 1
X-Phone: +60123456789
X-Email: ana@example.com
X-Delivery: message.received:998877
X-Provider: respondio
X-Event: [{"provider":"respondio","type":"message.inbound","delivery_id":"message.received:998877","occurred_at":1700000001000,"identity":{"email":"ana@example.com","phone":"+60123456789","platform_id":"1234"},"first_name":"Ana","last_name":"Silva","message":{"author":"contact","id":"998877","text":"Hi there, I want a quote"},"assignee":"rep@example.com","attributes":{"qualification_score":"87","budget":"5k","decision_maker":"true","channel":"WhatsApp"}}]
--- no_error_log
[error]
[warn]



=== TEST 4: message.sent by a user becomes message.outbound by an agent, with its attachment kind
--- request eval
main::rio($main::Sent)
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: message.outbound
X-Delivery: message.sent:555
X-Event: [{"provider":"respondio","type":"message.outbound","delivery_id":"message.sent:555","occurred_at":1700000100000,"identity":{"email":"ana@example.com","phone":"+60123456789","platform_id":"1234"},"first_name":"Ana","last_name":"Silva","message":{"author":"agent","id":"555","text":"Here it is","attachments":["image"]},"assignee":"rep@example.com","attributes":{"qualification_score":"87","budget":"5k","decision_maker":"true","channel":"WhatsApp"}}]



=== TEST 5: conversation.closed carries event_id, closedTime and the closing note
--- request eval
main::rio($main::Closed)
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: conversation.closed
X-Delivery: evt-closed-1
X-Event: [{"provider":"respondio","type":"conversation.closed","delivery_id":"evt-closed-1","occurred_at":1700003600000,"identity":{"email":"ana@example.com","phone":"+60123456789","platform_id":"1234"},"first_name":"Ana","last_name":"Silva","assignee":"rep@example.com","attributes":{"qualification_score":"87","budget":"5k","decision_maker":"true","closing_category":"Sales","closing_summary":"Bought plan"}}]



=== TEST 6: contact.created without event_id or timestamp: the contact's created_at makes the dedup key
--- request eval
main::rio('{"event_type":"contact.created","contact":{"id":"c-9","firstName":"Maria da Silva","phone":"011 98765 4321","countryCode":"BR","created_at":1690000000}}')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: contact.created
X-Delivery: contact.created:c-9:1690000000000
X-Phone: +5511987654321
X-Event: [{"provider":"respondio","type":"contact.created","delivery_id":"contact.created:c-9:1690000000000","occurred_at":1690000000000,"identity":{"phone":"+5511987654321","platform_id":"c-9"},"first_name":"Maria","last_name":"da Silva"}]



=== TEST 7: contact.assignee.updated becomes conversation.assigned; a national number without countryCode uses crmsync_default_region
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-signing-key-1;
        crmsync_default_region gb;
        add_header X-Type $crmsync_event_type always;
        add_header X-Phone $crmsync_phone always;
        add_header X-Event $crmsync_event always;
    }
--- request eval
main::rio('{"event_type":"contact.assignee.updated","event_id":"evt-a1","timestamp":1700000500,"contact":{"id":42,"phone":"07400 123456","assignee":{"id":78}}}')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: conversation.assigned
X-Phone: +447400123456
X-Event: [{"provider":"respondio","type":"conversation.assigned","delivery_id":"evt-a1","occurred_at":1700000500000,"identity":{"phone":"+447400123456","platform_id":"42"},"assignee":"78"}]



=== TEST 8: without crmsync_default_region a national number gives no phone
--- request eval
main::rio('{"event_type":"contact.updated","event_id":"evt-u1","contact":{"id":42,"phone":"07400 123456"}}')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: contact.updated
!X-Phone



=== TEST 9: event types we do not sync are answered 200 ignored
--- request eval
main::rios('{"event_type":"message.deleted","event_id":"x","contact":{"id":1}}',
           '{"event_type":"call.ended","contact":{"id":1}}')
--- more_headers eval
$main::H
--- error_code eval
[200, 200]
--- response_body eval
[('{"status":"ignored","reason":"respondio_event_ignored"}' . "\n") x 2]
--- response_headers eval
# the last request's
['', <<'EOF']
X-Status: ignored
X-Reason: respondio_event_ignored
X-Events: 0
!X-Type
EOF
--- no_error_log
webhook rejected



=== TEST 10: a tampered body is refused with 401, logged once at warn without the secret or the body
--- request eval
main::rio($main::Received);
my $b = $main::Received =~ s/want a quote/want a refund/r;
"POST /hooks/rio\n$b"
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
crmsync: respondio webhook rejected with 401: signature_mismatch
--- no_error_log eval
['rio-signing-key-1', 'want a refund', '[error]',
 qr/webhook rejected with 401(?s:.*)webhook rejected with 401/]



=== TEST 11: a body signed with another key, and a hex signature, are refused
--- request eval
main::rios([$main::Received, 'rio-signing-key-2'],
           [$main::Received, undef, Digest::SHA::hmac_sha256_hex($main::Received, $main::Secret)])
--- more_headers eval
$main::H
--- error_code eval
[401, 401]
--- response_body eval
['{"status":"rejected","reason":"signature_mismatch"}' . "\n",
 '{"status":"rejected","reason":"signature_malformed"}' . "\n"]



=== TEST 12: a delivery without x-webhook-signature is refused
--- request eval
main::rio($main::Received)
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_missing"}
--- error_log
crmsync: respondio webhook rejected with 401: signature_missing



=== TEST 12a: an empty or short x-webhook-signature is malformed
--- request eval
main::rios([$main::Received, undef, 'Zm9v'], [$main::Received, undef, '!!!!'])
--- more_headers eval
$main::H
--- error_code eval
[401, 401]
--- response_body eval
['{"status":"rejected","reason":"signature_malformed"}' . "\n",
 '{"status":"rejected","reason":"signature_malformed"}' . "\n"]
--- error_log
crmsync: respondio webhook rejected with 401: signature_malformed



=== TEST 13: rotation: the second listed key verifies, the header name in any case
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-signing-key-1;
        crmsync_secret rio-signing-key-2;
    }
--- request eval
my $r = main::rios([$main::Received, 'rio-signing-key-2'], [$main::Received]);
$main::H->[1] =~ s/x-webhook-signature/X-Webhook-Signature/;
$r
--- more_headers eval
$main::H
--- error_code eval
[200, 200]



=== TEST 14: no signed timestamp: a delivery from 2023 verifies and is accepted, whatever crmsync_replay_window says
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-signing-key-1;
        crmsync_replay_window 1s;
    }
--- request eval
main::rio($main::Received)
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 15: truncated JSON, correctly signed, is refused with 400
--- request eval
main::rio(substr($main::Received, 0, 150))
--- more_headers eval
$main::H
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- error_log
crmsync: respondio webhook rejected with 400: bad_json



=== TEST 16: wrong types in fields, correctly signed, are refused with 422 naming the field
--- request eval
main::rios('{"event_type":7,"contact":{"id":1}}',
           '{"event_type":"contact.updated","contact":"Ana"}',
           '{"event_type":"contact.updated","event_id":"e","contact":{"id":{}}}',
           '{"event_type":"contact.updated","event_id":"e","contact":{"id":1,"email":["a@b.co"]}}',
           '{"event_type":"contact.updated","event_id":"e","contact":{"id":1,"phone":60123456789}}',
           '{"event_type":"contact.updated","event_id":"e","contact":{"id":1,"firstName":{}}}',
           '{"event_type":"message.received","contact":{"id":1},"message":"hi"}',
           '{"event_type":"message.received","contact":{"id":1},"message":{"channelMessageId":1,"message":{"text":5}}}',
           '{"event_type":"contact.updated","event_id":"e","timestamp":"yesterday","contact":{"id":1}}',
           '{"event_type":"contact.updated","contact":{"id":1}}',
           '[{"event_type":"contact.updated"}]',
           '{"event_type":"contact.updated","event_id":"e","contact":{"id":1},"channel":"whatsapp"}')
--- more_headers eval
$main::H
--- error_code eval
[(422) x 12]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) }
 qw(respondio_no_event_type respondio_no_contact respondio_no_contact_id
    respondio_bad_email respondio_bad_phone respondio_bad_name
    respondio_no_message respondio_bad_text respondio_bad_time
    respondio_no_event_id not_an_object respondio_bad_channel)]



=== TEST 17: 10,000-deep nesting, correctly signed, is refused without a crash
--- request eval
main::rio('{"event_type":"contact.updated","contact":' . deep_json(10000) . '}')
--- more_headers eval
$main::H
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- no_error_log
[alert]
[crit]



=== TEST 18: a body over client_max_body_size is refused with 413
--- request eval
main::rio('{"event_type":"contact.updated","pad":"' . ('x' x 70000) . '"}')
--- more_headers eval
$main::H
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- response_headers
X-Reason: body_too_large



=== TEST 19: a form body is refused with 415, a GET with 405 (only POST)
--- request eval
["POST /hooks/rio\nevent_type=contact.updated", "GET /hooks/rio"]
--- more_headers eval
["Content-Type: application/x-www-form-urlencoded\nx-webhook-signature: " . respondio_sig($main::Secret, 'event_type=contact.updated'), ""]
--- error_code eval
[415, 405]
--- response_body eval
['{"status":"rejected","reason":"unsupported_media_type"}' . "\n",
 '{"status":"rejected","reason":"method_not_allowed"}' . "\n"]
--- response_headers eval
# the last request's
['', <<'EOF']
Allow: POST
EOF



=== TEST 20: crmsync_log_level info puts refusals at info, not warn
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-signing-key-1;
        crmsync_log_level info;
    }
--- request eval
main::rio($main::Received, 'rio-signing-key-2')
--- more_headers eval
$main::H
--- error_code: 401
--- error_log
[info]
crmsync: respondio webhook rejected with 401: signature_mismatch
--- no_error_log
[warn]
rio-signing-key



=== TEST 21: a chunked body is verified over its decoded bytes
--- request eval
my $b = $main::Received;
"POST /hooks/rio\n" . sprintf("%x", 100) . "\r\n" . substr($b, 0, 100) . "\r\n"
  . sprintf("%x", length($b) - 100) . "\r\n" . substr($b, 100) . "\r\n0\r\n\r\n\n"
--- more_headers eval
"Transfer-Encoding: chunked\nContent-Type: application/json\nx-webhook-signature: "
  . respondio_sig($main::Secret, $main::Received)
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Delivery: message.received:998877



=== TEST 22: a body spilled to a temporary file is verified and parsed whole
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-signing-key-1;
        client_body_buffer_size 1k;
        add_header X-Email $crmsync_email always;
    }
--- request eval
main::rio('{"event_type":"contact.updated","event_id":"e1","contact":{"id":1,"note":"' . ('n' x 8000) . '","email":"last@example.com"}}')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Email: last@example.com
--- error_log
a client request body is buffered to a temporary file



=== TEST 23: a 413 from client_max_body_size is logged as a crmsync refusal too
# nginx refuses the body itself, before the content handler, and logs
# "client intended to send too large body" at [error]; the JSON error
# filter answers body_too_large and logs the crmsync line at
# crmsync_log_level, as every other refusal.
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-signing-key-1;
        crmsync_log_level info;
        client_max_body_size 100;
    }
--- request eval
main::rio('{"event_type":"contact.updated","pad":"' . ('x' x 200) . '"}')
--- more_headers eval
$main::H
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- error_log eval
[qr/\[error\] [^\n]*client intended to send too large body: 241 bytes/,
 qr/\[info\] [^\n]*crmsync: respondio webhook rejected with 413: body_too_large/]

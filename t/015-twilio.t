# Twilio Programmable Messaging webhooks: X-Twilio-Signature over the URL
# Twilio called (crmsync_public_url, or scheme://Host + request URI) and
# the sorted form parameters, or over a URL carrying bodySHA256 for JSON
# bodies; the official vectors of t/samples/twilio/test_vectors.txt
# through nginx; SMS and WhatsApp messages and status callbacks to events.
#
# The official vectors are voice-webhook parameters (CallSid, no
# MessageSid): once verified they are answered 200 "twilio_not_a_message",
# and their JSON bodies 200 "twilio_json_body"; a failed verification is
# 401.  The listener here is plain http, so the default URL is http://.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

our $H;                                                  # the headers main::form_req signs with
our $Token = '12345';                                   # every official vector's auth token
our $Hash = '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620';   # sha256 of the JSON vector body
our $Empty = '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';  # sha256 of "{}"

our $Headers = <<'EOF_CONF';
        add_header X-Status $crmsync_status always;
        add_header X-Reason $crmsync_reason always;
        add_header X-Type $crmsync_event_type always;
        add_header X-Events $crmsync_events always;
        add_header X-Phone $crmsync_phone always;
        add_header X-Email $crmsync_email always;
        add_header X-Delivery $crmsync_delivery_id always;
        add_header X-Provider $crmsync_provider always;
        add_header X-Event $crmsync_event always;
EOF_CONF

# the vectors' URL, https://mycompany.com/myapp.php?..., as public URL
our $Location = <<"EOF_CONF";
    location = /myapp.php {
        crmsync_webhook twilio;
        crmsync_secret 12345;
        crmsync_public_url https://mycompany.com\$request_uri;
        client_max_body_size 64k;
$Headers    }
EOF_CONF

# no crmsync_public_url: the URL is http:// + Host + request URI
our $Derived = <<"EOF_CONF";
    location = /myapp.php {
        crmsync_webhook twilio;
        crmsync_secret 12345;
$Headers    }
    location /twilio/ {
        crmsync_webhook twilio;
        crmsync_secret 12345;
        crmsync_default_region US;
$Headers    }
EOF_CONF

# the constructed samples' URLs, https://example.com/twilio/...
our $Example = <<"EOF_CONF";
    location /twilio/ {
        crmsync_webhook twilio;
        crmsync_secret 12345;
        crmsync_public_url https://example.com\$request_uri;
        crmsync_default_region US;
$Headers    }
EOF_CONF

sub form_headers {
    my ($sig) = @_;
    return "X-Twilio-Signature: $sig\nContent-Type: application/x-www-form-urlencoded";
}

sub json_headers {
    my ($sig) = @_;
    return "X-Twilio-Signature: $sig\nContent-Type: application/json";
}

# a form request to $uri, signed by Crmsync::Sign for $url
sub form_req {
    my ($uri, $url, $body, $token) = @_;
    $main::H = main::form_headers(twilio_form_sig($token // $main::Token, $url, $body));
    return "POST $uri\n$body\n";
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the official documentation vector (0/KCTR6...) verifies through nginx
--- request eval
"POST /myapp.php?foo=1&bar=2\n" . sample('twilio/official_doc_vector_params.form.txt')
--- more_headers eval
main::form_headers('0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
--- error_code: 200
--- response_body
{"status":"ignored","reason":"twilio_not_a_message"}
--- response_headers
X-Status: ignored
X-Reason: twilio_not_a_message
X-Provider: twilio
X-Events: 0
!X-Type
--- no_error_log
[warn]
[error]



=== TEST 2: the same vector with one parameter changed (Digits) is refused, logged once at warn without the token
--- request eval
"POST /myapp.php?foo=1&bar=2\n" . (sample('twilio/official_doc_vector_params.form.txt') =~ s/Digits=1234/Digits=1235/r)
--- more_headers eval
main::form_headers('0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: signature_mismatch
--- error_log
[warn]
crmsync: twilio webhook rejected with 401: signature_mismatch
--- no_error_log eval
[qr/\[(warn|notice|info|error)\].*(12345\b|0\/KCTR6)/, qr/rejected with 401(?s:.*)rejected with 401/]



=== TEST 3: the SDK form vector: as signed; parameters reordered (signing sorts them); port 443 and port 1234 on the public URL (port dropped)
--- config eval
my $loc = sub { my ($uri, $url) = @_;
    "    location = $uri {\n        crmsync_webhook twilio;\n        crmsync_secret 12345;\n"
    . "        crmsync_public_url $url/myapp.php\$is_args\$args;\n    }\n" };
$loc->('/a/myapp.php', 'https://mycompany.com:443') . $loc->('/b/myapp.php', 'https://mycompany.com:1234')
. $main::Location
--- request eval
my $p = sample('twilio/official_vector_params.form.txt');
my $r = CORE::join '&', CORE::reverse split /&/, $p;
["POST /myapp.php?foo=1&bar=2\n$p", "POST /myapp.php?foo=1&bar=2\n$r",
 "POST /a/myapp.php?foo=1&bar=2\n$p", "POST /b/myapp.php?foo=1&bar=2\n$p"]
--- more_headers eval
[(main::form_headers('RSOYDt4T1cUTdK1PDd93/VVr8B8=')) x 4]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
[('{"status":"ignored","reason":"twilio_not_a_message"}' . "\n") x 4]



=== TEST 4: the port vectors: :443 signed, received without the port (":443" added); http :80 signed, Host without a port
--- config eval
$main::Derived . $main::Location =~ s{location = /myapp.php}{location = /https/myapp.php}r
                                 =~ s{https://mycompany.com\$request_uri}{https://mycompany.com/myapp.php\$is_args\$args}r
--- request eval
my $p = sample('twilio/official_vector_params.form.txt');
["POST /https/myapp.php?foo=1&bar=2\n$p", "POST /myapp.php?foo=1&bar=2\n$p"]
--- more_headers eval
[main::form_headers('kvajT1Ptam85bY51eRf/AJRuM3w='),
 "Host: mycompany.com\n" . main::form_headers('0ZXoZLH/DfblKGATFgpif+LLRf4=')]
--- error_code eval
[200, 200]
--- response_body eval
[('{"status":"ignored","reason":"twilio_not_a_message"}' . "\n") x 2]



=== TEST 5: the default URL from Host: http://mycompany.com:1234/... (vector Zmvh+...), and :80 as given
--- config eval
$main::Derived
--- request eval
my $p = sample('twilio/official_vector_params.form.txt');
["POST /myapp.php?foo=1&bar=2\n$p", "POST /myapp.php?foo=1&bar=2\n$p"]
--- more_headers eval
["Host: mycompany.com:1234\n" . main::form_headers('Zmvh+3yNM1Phv2jhDCwEM3q5ebU='),
 "Host: mycompany.com:80\n" . main::form_headers('0ZXoZLH/DfblKGATFgpif+LLRf4=')]
--- error_code eval
[200, 200]
--- response_body eval
[('{"status":"ignored","reason":"twilio_not_a_message"}' . "\n") x 2]



=== TEST 6: the default URL is this listener's: an https-signed vector, another Host, another port, a reordered query all fail
--- config eval
$main::Derived
--- request eval
my $p = sample('twilio/official_vector_params.form.txt');
["POST /myapp.php?foo=1&bar=2\n$p", "POST /myapp.php?foo=1&bar=2\n$p",
 "POST /myapp.php?foo=1&bar=2\n$p", "POST /myapp.php?bar=2&foo=1\n$p"]
--- more_headers eval
["Host: mycompany.com\n" . main::form_headers('RSOYDt4T1cUTdK1PDd93/VVr8B8='),
 "Host: www.mycompany.com:1234\n" . main::form_headers('Zmvh+3yNM1Phv2jhDCwEM3q5ebU='),
 "Host: mycompany.com:1235\n" . main::form_headers('Zmvh+3yNM1Phv2jhDCwEM3q5ebU='),
 "Host: mycompany.com:1234\n" . main::form_headers('Zmvh+3yNM1Phv2jhDCwEM3q5ebU=')]
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
[('{"status":"rejected","reason":"signature_mismatch"}' . "\n") x 4]



=== TEST 7: the multi-value vector (Digits thrice, a duplicate dropped) verifies; without the duplicate too; a changed Digits does not
# these parameters have neither MessageSid nor CallSid: once verified, the
# adapter refuses them with 422 twilio_no_message_sid, so a 422 (not 401)
# is what shows that the signature verified
--- request eval
["POST /myapp.php?foo=1&bar=2\nSid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234",
 "POST /myapp.php?foo=1&bar=2\nDigits=1234&Sid=CA123&Digits=5678&SidAccount=AC123",
 "POST /myapp.php?foo=1&bar=2\nSid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1235"]
--- more_headers eval
[(main::form_headers('IK+Dwps556ElfBT0I3Rgjkr1wJU=')) x 3]
--- error_code eval
[422, 422, 401]
--- response_body eval
[('{"status":"rejected","reason":"twilio_no_message_sid"}' . "\n") x 2,
 '{"status":"rejected","reason":"signature_mismatch"}' . "\n"]



=== TEST 8: the JSON vectors: bodySHA256 in the URL (long and short URL), and "{}" that only the :443 variant verifies
--- request eval
my $j = sample('twilio/official_vector_json_body.json');
["POST /myapp.php?foo=1&bar=2&bodySHA256=$main::Hash\n$j",
 "POST /myapp.php?bodySHA256=$main::Hash\n$j",
 "POST /myapp.php?foo=1&bar=2&bodySHA256=$main::Empty\n{}"]
--- more_headers eval
[main::json_headers('a9nBmqA0ju/hNViExpshrM61xv4='), main::json_headers('y77kIzt2vzLz71DgmJGsen2scGs='),
 main::json_headers('Ldidvp12m26NI7eqEvxnEpkd9Hc=')]
--- error_code eval
[200, 200, 200]
--- response_body eval
[('{"status":"ignored","reason":"twilio_json_body"}' . "\n") x 3]
--- response_headers eval
# the last request's
[('') x 2, <<'EOF']
X-Status: ignored
X-Reason: twilio_json_body
EOF



=== TEST 9: JSON: a changed body under the signed URL; a changed bodySHA256; no bodySHA256 at all; a bodySHA256 that is not 64 hex
--- request eval
my $j = sample('twilio/official_vector_json_body.json');
my $bad = $main::Hash =~ s/0$/1/r;
["POST /myapp.php?foo=1&bar=2&bodySHA256=$main::Hash\n" . ($j =~ s/true/false/r),
 "POST /myapp.php?foo=1&bar=2&bodySHA256=$bad\n$j",
 "POST /myapp.php?foo=1&bar=2\n$j",
 "POST /myapp.php?foo=1&bar=2&bodySHA256=0a1f\n$j"]
--- more_headers eval
[main::json_headers('a9nBmqA0ju/hNViExpshrM61xv4='), main::json_headers('a9nBmqA0ju/hNViExpshrM61xv4='),
 main::json_headers(twilio_url_sig('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2')),
 main::json_headers(twilio_url_sig('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1f'))]
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) } qw(body_hash_mismatch signature_mismatch body_unsigned body_hash_mismatch)]



=== TEST 10: self-whatsapp-inbound vector: whatsapp:+ From gives the WhatsApp identity, ProfileName the name
--- config eval
$main::Example
--- request eval
"POST /twilio/whatsapp\n" . sample('twilio/CONSTRUCTED_whatsapp_inbound.form.txt')
--- more_headers eval
main::form_headers('6r/+OTcS9u9zADS8lPlLBYMW5Vw=')
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Status: accepted
X-Type: message.inbound
X-Delivery: SM0123456789abcdef0123456789abcdef
X-Phone: +14155550123
X-Event: [{"provider":"twilio","type":"message.inbound","delivery_id":"SM0123456789abcdef0123456789abcdef","identity":{"phone":"+14155550123","whatsapp_id":"14155550123"},"first_name":"Jane","last_name":"Doe","message":{"author":"contact","id":"SM0123456789abcdef0123456789abcdef","text":"Hello, I'd like a quote"}}]
--- no_error_log
[warn]



=== TEST 11: self-status-callback vector: a status callback is message.status about To, keyed MessageSid:status
--- config eval
$main::Example
--- request eval
"POST /twilio/status\n" . sample('twilio/CONSTRUCTED_sms_status_callback.form.txt')
--- more_headers eval
main::form_headers('X0nLGklKiXWTKpUHGmUhd9jKi8I=')
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: message.status
X-Delivery: SM0123456789abcdef0123456789abcdef:delivered
--- raw_response_headers_like chomp
(?m-s)^X-Event: \[\{"provider":"twilio","type":"message.status","delivery_id":"SM0123456789abcdef0123456789abcdef:delivered","identity":\{"phone":"\+14155550123"\},"message":\{"id":"SM0123456789abcdef0123456789abcdef","status":"delivered"\}\}\]\r$



=== TEST 12: a failed WhatsApp status callback: status and error code, the contact is the whatsapp:+ To
--- config eval
$main::Example
--- request eval
main::form_req('/twilio/status', 'https://example.com/twilio/status',
  'SmsSid=SMf00d&SmsStatus=failed&MessageStatus=failed&ErrorCode=63016&To=whatsapp%3A%2B5511987654321&MessageSid=SMf00d&AccountSid=AC1&From=whatsapp%3A%2B14155550100&ApiVersion=2010-04-01')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Type: message.status
X-Delivery: SMf00d:failed
X-Phone: +5511987654321
--- raw_response_headers_like chomp
(?m-s)^X-Event: .*"identity":\{"phone":"\+5511987654321","phone_alt":"\+551187654321","whatsapp_id":"5511987654321"\}.*"message":\{"id":"SMf00d","status":"failed"\},"attributes":\{"error_code":"63016"\}.*\r$



=== TEST 13: an SMS from a national number is E.164 under crmsync_default_region (URL derived from Host)
--- config eval
$main::Derived
--- request eval
main::form_req('/twilio/sms', 'http://hooks.example.com/twilio/sms',
  'ToCountry=US&SmsMessageSid=SMa1&NumMedia=0&SmsSid=SMa1&SmsStatus=received&Body=Call+me+back&To=%2B16502530001&NumSegments=1&MessageSid=SMa1&AccountSid=AC1&From=6502530000&ApiVersion=2010-04-01')
--- more_headers eval
"Host: hooks.example.com\n$main::H"
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Phone: +16502530000
X-Event: [{"provider":"twilio","type":"message.inbound","delivery_id":"SMa1","identity":{"phone":"+16502530000"},"message":{"author":"contact","id":"SMa1","text":"Call me back"}}]



=== TEST 14: the same SMS without crmsync_default_region: the national number gives no phone
--- config
    location /twilio/ {
        crmsync_webhook twilio;
        crmsync_secret 12345;
        add_header X-Phone $crmsync_phone always;
        add_header X-Status $crmsync_status always;
    }
--- request eval
main::form_req('/twilio/sms', 'http://localhost/twilio/sms',
  'SmsSid=SMa1&SmsStatus=received&Body=Call+me+back&To=%2B16502530001&MessageSid=SMa1&AccountSid=AC1&From=6502530000')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Status: accepted
!X-Phone



=== TEST 15: a "+" left raw in a form value is a space once decoded: the signature over %2B no longer matches
--- request eval
"POST /myapp.php?foo=1&bar=2\n" . (sample('twilio/official_vector_params.form.txt') =~ s/%2B/+/gr)
--- more_headers eval
main::form_headers('RSOYDt4T1cUTdK1PDd93/VVr8B8=')
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}



=== TEST 16: another auth token, no X-Twilio-Signature, a signature that is not 20 bytes of base64
--- request eval
my $p = sample('twilio/official_vector_params.form.txt');
[("POST /myapp.php?foo=1&bar=2\n$p") x 4]
--- more_headers eval
my $p = sample('twilio/official_vector_params.form.txt');
[main::form_headers(twilio_form_sig('54321', 'https://mycompany.com/myapp.php?foo=1&bar=2', $p)),
 "Content-Type: application/x-www-form-urlencoded",
 main::form_headers('RSOYDt4T1cUTdK1PDd93/VVr'),
 main::form_headers('not*base64*at*all*is*it*x=')]
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) } qw(signature_mismatch signature_missing signature_malformed signature_malformed)]
--- no_error_log eval
qr/\[(warn|notice|info|error)\].*(54321|RSOYDt4T1)/



=== TEST 17: rotation: the old and the new auth token both verify
--- config
    location = /myapp.php {
        crmsync_webhook twilio;
        crmsync_secret 54321;
        crmsync_secret 12345;
        crmsync_public_url https://mycompany.com$request_uri;
    }
--- request eval
my $p = sample('twilio/official_vector_params.form.txt');
[("POST /myapp.php?foo=1&bar=2\n$p") x 2]
--- more_headers eval
my $p = sample('twilio/official_vector_params.form.txt');
[main::form_headers(twilio_form_sig('54321', 'https://mycompany.com/myapp.php?foo=1&bar=2', $p)),
 main::form_headers('RSOYDt4T1cUTdK1PDd93/VVr8B8=')]
--- error_code eval
[200, 200]



=== TEST 18: Twilio signs no timestamp: with crmsync_replay_window set, the 2010s vectors still verify (dedup is MessageSid)
--- config
    location = /myapp.php {
        crmsync_webhook twilio;
        crmsync_secret 12345;
        crmsync_public_url https://mycompany.com$request_uri;
        crmsync_replay_window 5m;
    }
--- request eval
"POST /myapp.php?foo=1&bar=2\n" . sample('twilio/official_doc_vector_params.form.txt')
--- more_headers eval
main::form_headers('0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
--- error_code: 200
--- response_body
{"status":"ignored","reason":"twilio_not_a_message"}



=== TEST 19: truncated JSON whose bodySHA256 is right is refused with 400
--- request eval
my $b = substr(sample('twilio/official_vector_json_body.json'), 0, 20);
my $h = Digest::SHA::sha256_hex($b);
$main::H = main::json_headers(twilio_url_sig('12345', "https://mycompany.com/myapp.php?bodySHA256=$h"));
"POST /myapp.php?bodySHA256=$h\n$b"
--- more_headers eval
$main::H
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- error_log
crmsync: twilio webhook rejected with 400: bad_json



=== TEST 20: a message form without MessageSid (wrong shape), and one with a raw control byte, correctly signed, are refused
--- request eval
my @b = ('SmsStatus=received&Body=hi&From=%2B16502530000&To=%2B16502530001&AccountSid=AC1',
         "MessageSid=SMb1&Body=a\x01b&From=%2B16502530000");
$main::H = [map { main::form_headers(twilio_form_sig('12345', 'https://mycompany.com/myapp.php', $_)) } @b];
[map { "POST /myapp.php\n$_" } @b]
--- more_headers eval
$main::H
--- error_code eval
[422, 400]
--- response_body eval
['{"status":"rejected","reason":"twilio_no_message_sid"}' . "\n", '{"status":"rejected","reason":"bad_form"}' . "\n"]



=== TEST 21: wrong JSON types: an array root is refused with 422 (after the body hash verified)
--- request eval
my $b = '[{"MessageSid":"SM1"}]';
my $h = Digest::SHA::sha256_hex($b);
$main::H = main::json_headers(twilio_url_sig('12345', "https://mycompany.com/myapp.php?bodySHA256=$h"));
"POST /myapp.php?bodySHA256=$h\n$b"
--- more_headers eval
$main::H
--- error_code: 422
--- response_body
{"status":"rejected","reason":"not_an_object"}



=== TEST 22: 10,000-deep JSON nesting with a right bodySHA256 is refused without a crash; a 10,000-bracket form Body is plain text; the next request is served
--- request eval
my $d = '{"a":' . deep_json(10000) . '}';
my $h = Digest::SHA::sha256_hex($d);
my $f = 'MessageSid=SMdeep&SmsStatus=received&From=%2B16502530000&Body=' . ('%5B' x 10000);
$main::H = [main::json_headers(twilio_url_sig('12345', "https://mycompany.com/myapp.php?bodySHA256=$h")),
            main::form_headers(twilio_form_sig('12345', 'https://mycompany.com/myapp.php', $f)),
            main::form_headers('0/KCTR6DLpKmkAf8muzZqo1nDgQ=')];
["POST /myapp.php?bodySHA256=$h\n$d", "POST /myapp.php\n$f",
 "POST /myapp.php?foo=1&bar=2\n" . sample('twilio/official_doc_vector_params.form.txt')]
--- more_headers eval
$main::H
--- error_code eval
[400, 200, 200]
--- response_body eval
['{"status":"rejected","reason":"bad_json"}' . "\n", '{"status":"accepted","events":1}' . "\n",
 '{"status":"ignored","reason":"twilio_not_a_message"}' . "\n"]
--- no_error_log
[alert]
[crit]



=== TEST 23: a body over client_max_body_size is refused with 413 before verification
--- request eval
"POST /myapp.php?foo=1&bar=2\n" . sample('twilio/official_doc_vector_params.form.txt') . '&Body=' . ('x' x 70000)
--- more_headers eval
main::form_headers('0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- no_error_log
signature_mismatch



=== TEST 24: text/plain is 415; GET (Twilio's GET webhooks are not served) is 405 with Allow: POST
--- request eval
["POST /myapp.php?foo=1&bar=2\nCallSid=CA1", "GET /myapp.php?foo=1&bar=2"]
--- more_headers eval
["Content-Type: text/plain\nX-Twilio-Signature: 0/KCTR6DLpKmkAf8muzZqo1nDgQ=", ""]
--- error_code eval
[415, 405]
--- response_body eval
['{"status":"rejected","reason":"unsupported_media_type"}' . "\n", '{"status":"rejected","reason":"method_not_allowed"}' . "\n"]
--- response_headers eval
# the last request's
['', <<'EOF']
Allow: POST
EOF



=== TEST 25: an MMS with two media and a location: attachments image, video and location
--- request eval
main::form_req('/myapp.php', 'https://mycompany.com/myapp.php',
  'MessageSid=MMc1&SmsStatus=received&From=%2B16502530000&To=%2B16502530001&NumMedia=2&MediaContentType0=image%2Fjpeg&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm0&MediaContentType1=video%2Fmp4&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2Fm1&Latitude=37.42&Longitude=-122.08&Body=')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers_like
X-Event: .*"message":\{"author":"contact","id":"MMc1","attachments":\["image","video","location"\]\}.*



=== TEST 26: form decoding as Twilio signs it: "+" is a space, %XX bytes (UTF-8), a bad "%" kept, empty segments and a bare name
--- request eval
main::form_req('/myapp.php', 'https://mycompany.com/myapp.php',
  'MessageSid=SMd1&From=%2B16502530000&Body=100%+sure+%C3%A9%zz&&NoValue&SmsStatus=received')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers_like
X-Event: ^\[\{"provider":"twilio","type":"message.inbound","delivery_id":"SMd1","identity":\{"phone":"\+16502530000"\},"message":\{"author":"contact","id":"SMd1","text":"100% sure \x{c3}\x{a9}%zz"\}\}\]$



=== TEST 27: more than 256 form parameters, correctly signed, are refused (params_too_many)
--- request eval
main::form_req('/myapp.php', 'https://mycompany.com/myapp.php',
  'MessageSid=SM1&' . CORE::join('&', map { "P$_=1" } 1 .. 256))
--- more_headers eval
$main::H
--- error_code: 401
--- response_body
{"status":"rejected","reason":"params_too_many"}



=== TEST 28: a messenger: address through Twilio is a Messenger PSID
--- request eval
main::form_req('/myapp.php', 'https://mycompany.com/myapp.php',
  'MessageSid=SMm1&From=messenger%3A1234567&To=messenger%3A999&Body=hi')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
!X-Phone
X-Event: [{"provider":"twilio","type":"message.inbound","delivery_id":"SMm1","identity":{"messenger_psid":"1234567"},"message":{"author":"contact","id":"SMm1","text":"hi"}}]



=== TEST 29: a crmsync_public_url that comes out empty (a missing proxy header) is url_malformed, not a mismatch
--- config
    location = /myapp.php {
        crmsync_webhook twilio;
        crmsync_secret 12345;
        crmsync_public_url $http_x_original_url;
        add_header X-Reason $crmsync_reason always;
    }
--- request eval
"POST /myapp.php?foo=1&bar=2\n" . sample('twilio/official_doc_vector_params.form.txt')
--- more_headers eval
main::form_headers('0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
--- error_code: 401
--- response_body
{"status":"rejected","reason":"url_malformed"}
--- error_log
crmsync: twilio webhook rejected with 401: url_malformed



=== TEST 30: the same public URL from a proxy header verifies the documentation vector
--- config
    location = /myapp.php {
        crmsync_webhook twilio;
        crmsync_secret 12345;
        crmsync_public_url $http_x_original_url;
    }
--- request eval
"POST /myapp.php?foo=1&bar=2\n" . sample('twilio/official_doc_vector_params.form.txt')
--- more_headers eval
"X-Original-URL: https://mycompany.com/myapp.php?foo=1&bar=2\n" . main::form_headers('0/KCTR6DLpKmkAf8muzZqo1nDgQ=')
--- error_code: 200
--- response_body
{"status":"ignored","reason":"twilio_not_a_message"}

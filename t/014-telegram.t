# Telegram Bot API updates: the X-Telegram-Bot-Api-Secret-Token shared
# secret (no HMAC, no timestamp: t/samples/telegram/NOTE_no_signature.txt),
# every sample to its event, shared contacts under crmsync_default_region,
# bot senders, skips and refusals.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

our $Token = 'tg-Secret_Token-42';

our $Location = <<'EOF_CONF';
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret tg-Secret_Token-42;
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

# "POST /hooks/tg\n<body>\n" (the harness drops one final newline: the body
# goes out byte for byte); $main::Headers carries the token
sub req {
    my ($body, $token) = @_;
    $main::Headers = "X-Telegram-Bot-Api-Secret-Token: " . ($token // $main::Token)
                     . "\nContent-Type: application/json";
    return "POST /hooks/tg\n$body\n";
}

sub reqs {
    $main::H = [];
    return [map { my $r = main::req($_); push @$main::H, $main::Headers; $r } @_];
}

# CONSTRUCTED_message_contact.json with another phone_number / user_id
sub contact {
    my ($phone, $uid) = @_;
    my $s = sample('telegram/CONSTRUCTED_message_contact.json');
    $s =~ s/"phone_number":"\+15555550123"/"phone_number":"$phone"/ or die;
    $s =~ s/"user_id":1111111/"user_id":$uid/ or die if defined $uid;
    return $s;
}

# a message update from a CONSTRUCTED sender (Bot API Message/User fields)
sub update {
    my ($from, $rest) = @_;
    return qq({"update_id":733101,"message":{"message_id":88,"date":1700000000,)
         . qq("chat":{"id":-1001234567890,"type":"supergroup","title":"Sales"},"from":$from$rest}});
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: message_text.json with our token becomes one message.inbound event, update_id as delivery id
--- request eval
main::req(sample('telegram/message_text.json'))
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
X-Delivery: 10000
X-Provider: telegram
!X-Phone
!X-Email
X-Event: [{"provider":"telegram","type":"message.inbound","delivery_id":"10000","occurred_at":1441645532000,"identity":{"telegram_id":"1111111","telegram_username":"Testusername"},"first_name":"Test Firstname","last_name":"Test Lastname","conversation_id":"1111111","message":{"author":"contact","id":"1365","text":"/start"}}]
--- no_error_log
[error]
[warn]



=== TEST 2: message_forwarded.json: the event is about the sender (from), not the original author (forward_from)
--- request eval
main::req(sample('telegram/message_forwarded.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Delivery: 10000
X-Event: [{"provider":"telegram","type":"message.inbound","delivery_id":"10000","occurred_at":1441645532000,"identity":{"telegram_id":"1111111","telegram_username":"Testusername"},"first_name":"Test Firstname","last_name":"Test Lastname","conversation_id":"1111111","message":{"author":"contact","id":"1365","text":"/start"}}]
--- raw_response_headers_like chomp
(?m-s)^X-Event: (?!.*(222222|Forward)).*\r$



=== TEST 3: the CONSTRUCTED contact sample: the sender's own card, but +1 555-555-0123 is fictional: no phone, a contact attachment
--- request eval
main::req(sample('telegram/CONSTRUCTED_message_contact.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Delivery: 10001
!X-Phone
X-Event: [{"provider":"telegram","type":"message.inbound","delivery_id":"10001","occurred_at":1441645600000,"identity":{"telegram_id":"1111111","telegram_username":"Testusername"},"first_name":"Test Firstname","last_name":"Test Lastname","conversation_id":"1111111","message":{"author":"contact","id":"1366","attachments":["contact"]}}]



=== TEST 4: a shared contact with a national number: E.164 under crmsync_default_region US
--- request eval
main::req(main::contact('(650) 253-0000'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Phone: +16502530000
--- raw_response_headers_like chomp
(?m-s)^X-Event: .*"identity":\{"phone":"\+16502530000","telegram_id":"1111111","telegram_username":"Testusername"\}.*\r$



=== TEST 5: the same card under crmsync_default_region GB is read as a British number
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret tg-Secret_Token-42;
        crmsync_default_region gb;
        add_header X-Phone $crmsync_phone always;
    }
--- request eval
main::req(main::contact('020 7946 0958'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Phone: +442079460958



=== TEST 6: Telegram's usual form, international digits without "+", not valid in the region: read as international
--- request eval
main::req(main::contact('4915112345678'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Phone: +4915112345678



=== TEST 7: someone else's card (user_id is not the sender) gives no phone identity
--- request eval
main::req(main::contact('+16502530000', 999999))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
!X-Phone
--- raw_response_headers_like chomp
(?m-s)^X-Event: .*"identity":\{"telegram_id":"1111111",.*"attachments":\["contact"\].*\r$



=== TEST 8: a national number with no crmsync_default_region gives no phone
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret tg-Secret_Token-42;
        add_header X-Phone $crmsync_phone always;
        add_header X-Status $crmsync_status always;
    }
--- request eval
main::req(main::contact('(650) 253-0000'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Status: accepted
!X-Phone



=== TEST 9: a bot sender (from.is_bot) is author "bot"; username without "@"; edit_date is the time of an edit
--- request eval
main::reqs(
    main::update('{"id":5566778899,"is_bot":true,"first_name":"Helper","username":"helper_bot"}', ',"text":"I am a bot"'),
    '{"update_id":733102,"edited_message":{"message_id":88,"date":1700000000,"edit_date":1700000500,"chat":{"id":42,"type":"private"},"from":{"id":42,"is_bot":false,"first_name":"Ana","username":"@ana"},"text":"fixed typo"}}',
)
--- more_headers eval
$main::H
--- error_code eval
[200, 200]
--- response_body eval
[('{"status":"accepted","events":1}' . "\n") x 2]
--- response_headers eval
# the last request's
['', <<'EOF']
X-Delivery: 733102
X-Event: [{"provider":"telegram","type":"message.inbound","delivery_id":"733102","occurred_at":1700000500000,"identity":{"telegram_id":"42","telegram_username":"ana"},"first_name":"Ana","conversation_id":"42","message":{"author":"contact","id":"88","text":"fixed typo"}}]
EOF



=== TEST 10: the bot sender's event in full
--- request eval
main::req(main::update('{"id":5566778899,"is_bot":true,"first_name":"Helper","username":"helper_bot"}', ',"text":"I am a bot"'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Event: [{"provider":"telegram","type":"message.inbound","delivery_id":"733101","occurred_at":1700000000000,"identity":{"telegram_id":"5566778899","telegram_username":"helper_bot"},"first_name":"Helper","conversation_id":"-1001234567890","message":{"author":"bot","id":"88","text":"I am a bot"}}]



=== TEST 11: a photo with a caption: the caption is the text, an image attachment
--- request eval
main::req(main::update('{"id":42,"is_bot":false,"first_name":"Ana"}', ',"photo":[{"file_id":"AgAD","file_unique_id":"u","width":90,"height":90}],"caption":"my order"'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers_like
X-Event: .*"message":\{"author":"contact","id":"88","text":"my order","attachments":\["image"\]\}.*



=== TEST 12: a callback_query and a channel post without from are answered 200 and ignored
--- request eval
main::reqs('{"update_id":733103,"callback_query":{"id":"1","from":{"id":42,"is_bot":false,"first_name":"Ana"},"data":"x"}}',
           '{"update_id":733104,"channel_post":{"message_id":5,"date":1700000000,"chat":{"id":-100777,"type":"channel","title":"News"},"text":"hello"}}')
--- more_headers eval
$main::H
--- error_code eval
[200, 200]
--- response_body eval
['{"status":"ignored","reason":"telegram_unsupported_update"}' . "\n", '{"status":"ignored","reason":"telegram_no_user"}' . "\n"]



=== TEST 13: a wrong token is refused with 401, logged once at warn; neither token shows at warn/info level
--- request eval
main::req(sample('telegram/message_text.json'), 'tg-Secret_Token-43')
--- more_headers eval
$main::Headers
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: signature_mismatch
X-Provider: telegram
!X-Type
!X-Event
--- error_log
[warn]
crmsync: telegram webhook rejected with 401: signature_mismatch
--- no_error_log eval
# the debug log shows the raw request headers: check the other levels only
[qr/\[(warn|notice|info|error)\].*tg-Secret_Token/, qr/rejected with 401(?s:.*)rejected with 401/]



=== TEST 14: a token differing only in case, a prefix of ours, ours with a suffix: all refused
--- request eval
my $r = "POST /hooks/tg\n" . sample('telegram/message_text.json') . "\n";
$main::H = [map { "X-Telegram-Bot-Api-Secret-Token: $_\nContent-Type: application/json" }
            'tg-secret_token-42', 'tg-Secret_Token-4', 'tg-Secret_Token-420'];
[($r) x 3]
--- more_headers eval
$main::H
--- error_code eval
[401, 401, 401]
--- response_body eval
[('{"status":"rejected","reason":"signature_mismatch"}' . "\n") x 3]



=== TEST 15: a missing header; an empty one; one with characters Telegram never uses
--- request eval
my $r = "POST /hooks/tg\n" . sample('telegram/message_text.json') . "\n";
$main::H = ["Content-Type: application/json",
            "X-Telegram-Bot-Api-Secret-Token: \nContent-Type: application/json",
            "X-Telegram-Bot-Api-Secret-Token: tg-Secret_Token-42!\nContent-Type: application/json"];
[($r) x 3]
--- more_headers eval
$main::H
--- error_code eval
[401, 401, 401]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) } qw(signature_missing signature_malformed signature_malformed)]



=== TEST 16: the header name is matched case-insensitively
--- request eval
main::req(sample('telegram/message_text.json'))
--- more_headers eval
"x-telegram-bot-api-secret-token: $main::Token\nContent-Type: application/json"
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 17: rotation from a secret file: the new token and the old one both pass
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret_file $TEST_NGINX_SERVER_ROOT/html/tg.secrets;
    }
--- user_files
>>> tg.secrets
# setWebhook secret_token, old then new
tg-Secret_Token-41
tg-Secret_Token-42
--- request eval
my $b = sample('telegram/message_text.json');
my @r = (main::req($b, 'tg-Secret_Token-41'));
$main::H = [$main::Headers];
push @r, main::req($b);
push @$main::H, $main::Headers;
\@r
--- more_headers eval
$main::H
--- error_code eval
[200, 200]



=== TEST 18: no timestamp in Telegram's scheme: with crmsync_replay_window, a 2015 update still passes (dedup is update_id)
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret tg-Secret_Token-42;
        crmsync_replay_window 5m;
        add_header X-Delivery $crmsync_delivery_id always;
    }
--- request eval
main::req(sample('telegram/message_text.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Delivery: 10000



=== TEST 19: the token does not sign the body: a changed body with the right token is accepted as sent
--- request eval
main::req(sample('telegram/message_text.json') =~ s{"/start"}{"/stop"}r)
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers_like
X-Event: .*"text":"/stop".*



=== TEST 20: truncated JSON with the right token is refused with 400
--- request eval
main::req(substr(sample('telegram/message_text.json'), 0, 200))
--- more_headers eval
$main::Headers
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- error_log
crmsync: telegram webhook rejected with 400: bad_json



=== TEST 21: wrong types in fields are each refused with 422 naming the field
--- request eval
my $t = sample('telegram/message_text.json');
main::reqs(
    '{"message":{}}',
    $t =~ s/"update_id":10000/"update_id":"10000"/r,
    $t =~ s/"message":\{/"message":"hi","x":{/r,
    $t =~ s/"from":\{/"from":"Test","x":{/r,
    $t =~ s/"from":\{\n\s*"last_name":"Test Lastname",\n\s*"id":1111111/"from":{"last_name":"Test Lastname","id":"1111111"/r,
    main::update('{"first_name":"Ana"}', ''),
    main::update('{"id":42,"is_bot":"no"}', ''),
    $t =~ s/"date":1441645532/"date":"2015-09-07"/r,
    $t =~ s{"text":"/start"}{"text":["/start"]}r,
    $t =~ s/"chat":\{/"chat":1,"x":{/r,
    main::contact('+16502530000') =~ s/"contact":\{/"contact":"yes","x":{/r,
)
--- more_headers eval
$main::H
--- error_code eval
[(422) x 11]
--- response_body eval
[map { qq({"status":"rejected","reason":"telegram_$_"}\n) }
 qw(no_update_id bad_update_id bad_message bad_from bad_from_id no_from_id bad_is_bot
    bad_date bad_text bad_chat bad_contact)]



=== TEST 22: 10,000-deep nesting with the right token is refused without a crash; the next update is served
--- request eval
main::reqs('{"update_id":1,"message":' . deep_json(10000) . '}',
           '{"update_id":1,"message":{"text":' . ('{"a":' x 10000) . '1' . ('}' x 10000) . '}}',
           sample('telegram/message_text.json'))
--- more_headers eval
$main::H
--- error_code eval
[400, 400, 200]
--- response_body eval
[('{"status":"rejected","reason":"bad_json"}' . "\n") x 2, '{"status":"accepted","events":1}' . "\n"]
--- no_error_log
[alert]
[crit]



=== TEST 23: a body over client_max_body_size is refused with 413, before the token is looked at
--- request eval
main::req(main::update('{"id":42,"first_name":"Ana"}', ',"text":"' . ('x' x 70000) . '"'), 'wrong')
--- more_headers eval
$main::Headers
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- no_error_log
signature_mismatch



=== TEST 24: GET is 405 (no handshake), a multipart body 415
--- request eval
["GET /hooks/tg", "POST /hooks/tg\n--x--"]
--- more_headers eval
["", "Content-Type: multipart/form-data; boundary=x\nX-Telegram-Bot-Api-Secret-Token: tg-Secret_Token-42"]
--- error_code eval
[405, 415]
--- response_body eval
['{"status":"rejected","reason":"method_not_allowed"}' . "\n", '{"status":"rejected","reason":"unsupported_media_type"}' . "\n"]



=== TEST 25: a secret Telegram would never accept as secret_token fails the configuration, without showing it
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret "tg-Secret Token!";
    }
--- must_die
--- error_log
crmsync_secret
--- no_error_log
tg-Secret Token!



=== TEST 26: "\u0000" in a string is refused as bad_json, by design
# RFC 8259 allows U+0000 escaped in a string; crmsync refuses it, as
# jansson does by default: strings are NUL-terminated from the reader to
# HubSpot, and no chat platform sends NUL in a message.  The refusal is a
# clear 400, never a silent truncation.
--- request eval
main::req(sample('telegram/message_text.json') =~ s{"text":"/start"}{"text":"/start\\u0000now"}r)
--- more_headers eval
$main::Headers
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}

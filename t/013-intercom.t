# Intercom webhook notifications: X-Hub-Signature (sha1), both item
# shapes (the v1.x conversation samples, Zulip's fixtures; 2.x contacts and
# CONSTRUCTED 2.x conversations from the documented fields), ping, the
# notif_ id as delivery id, refusals.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

our $Secret = 'test_client_secret';      # the one of t/samples/intercom/test_vectors.txt

our $Location = <<'EOF_CONF';
    location = /hooks/ic {
        crmsync_webhook intercom;
        crmsync_secret test_client_secret;
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

# "POST /hooks/ic\n<body>" with a Content-Length: the harness then sends
# the body byte for byte, without stripping its white space (the samples
# end with "\n" and their vectors cover it); $main::Headers signs it
sub req {
    my ($body, $secret) = @_;
    $main::Headers = "X-Hub-Signature: " . intercom_sig($secret // $main::Secret, $body)
                     . "\nContent-Type: application/json"
                     . "\nContent-Length: " . length($body);
    return "POST /hooks/ic\n$body";
}

sub reqs {
    $main::H = [];
    return [map { my $r = main::req($_); push @$main::H, $main::Headers; $r } @_];
}

# a 2.x conversation notification, CONSTRUCTED (research/webhooks.md 2.4:
# contacts.contacts[], source{author}, admin_assignee_id, conversation_parts)
sub v2 {
    my ($topic, $inner) = @_;
    return qq({"type":"notification_event","app_id":"abc123","id":"notif_v2-7f3a","topic":"$topic",)
         . qq("created_at":1700000100,"data":{"type":"notification_event_data","item":{)
         . qq("type":"conversation","id":"215470","created_at":1700000000,"updated_at":1700000050,)
         . qq("open":true,"state":"open","contacts":{"type":"contact.list","contacts":[)
         . qq({"type":"contact","id":"65f0c0ffee","external_id":"ext-9"}]},$inner}},)
         . qq("delivery_status":"pending","delivery_attempts":1,"delivered_at":0,"first_sent_at":1700000100});
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('config', $Location) unless defined $block->{config};
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: vector self-1: conversation.user.created.json with its published X-Hub-Signature (v1.x shape)
--- request eval
"POST /hooks/ic\n" . sample('intercom/conversation.user.created.json')
--- more_headers
X-Hub-Signature: sha1=a06220be47b05ef28c1cfcd2d542c232ec5defe5
Content-Type: application/json
Content-Length: 2140
User-Agent: intercom-parrot-service-client/1.0
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Status: accepted
!X-Reason
X-Type: message.inbound
X-Events: 1
X-Delivery: notif_3ac27816-d27c-45fd-a65a-bbaf021cf780
X-Provider: intercom
!X-Email
!X-Phone
X-Event: [{"provider":"intercom","type":"message.inbound","delivery_id":"notif_3ac27816-d27c-45fd-a65a-bbaf021cf780","occurred_at":1553290198000,"identity":{"platform_id":"5c9553cb27e377f24eed49f7"},"first_name":"Rose","last_name":"Poodle from St. John's","conversation_id":"21321941764","message":{"author":"contact","id":"331494375","text":"Hello everyone!"}}]
--- no_error_log
[error]
[warn]



=== TEST 2: vector self-2: the ping, with its published signature, is answered 200 and ignored
--- request eval
"POST /hooks/ic\n" . sample('intercom/ping.json')
--- more_headers
X-Hub-Signature: sha1=76d46a5f79dbbcf02dc09d3cbd60428483ab2f09
Content-Type: application/json
Content-Length: 442
--- error_code: 200
--- response_body
{"status":"ignored","reason":"intercom_ping"}
--- response_headers
X-Status: ignored
X-Reason: intercom_ping
X-Events: 0
!X-Delivery
!X-Type



=== TEST 3: conversation.user.replied: the contact's reply part, its email in $crmsync_email
--- request eval
main::req(sample('intercom/conversation.user.replied.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: message.inbound
X-Delivery: notif_2c71fff0-65ef-46be-bbfe-dbf637bbff15
X-Email: jerryguitarist@gmail.com
X-Event: [{"provider":"intercom","type":"message.inbound","delivery_id":"notif_2c71fff0-65ef-46be-bbfe-dbf637bbff15","occurred_at":1553291307000,"identity":{"email":"jerryguitarist@gmail.com","platform_id":"5c9553cb27e377f24eed49f7"},"first_name":"Eeshan","last_name":"Garg","conversation_id":"21322009097","message":{"author":"contact","id":"2824391734","text":"Well, I need some help getting access to a developer account."},"assignee":"jerryguitarist@gmail.com"}]



=== TEST 4: conversation.admin.assigned: conversation.assigned to the admin, then the assignment's reply as outbound
--- request eval
main::req(sample('intercom/conversation.admin.assigned.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":2}
--- response_headers
X-Type: conversation.assigned
X-Events: 2
X-Delivery: notif_b577ea09-0998-45cf-ade1-df4d102a58ec
X-Email: jerryguitarist@gmail.com
X-Event: [{"provider":"intercom","type":"conversation.assigned","delivery_id":"notif_b577ea09-0998-45cf-ade1-df4d102a58ec","occurred_at":1553291111000,"identity":{"email":"jerryguitarist@gmail.com","platform_id":"5c9553cb27e377f24eed49f7"},"first_name":"Eeshan","last_name":"Garg","conversation_id":"21322009097","assignee":"tim@zulip.com"},{"provider":"intercom","type":"message.outbound","delivery_id":"notif_b577ea09-0998-45cf-ade1-df4d102a58ec:2824382500","occurred_at":1553291111000,"identity":{"email":"jerryguitarist@gmail.com","platform_id":"5c9553cb27e377f24eed49f7"},"first_name":"Eeshan","last_name":"Garg","conversation_id":"21322009097","message":{"author":"agent","id":"2824382500","text":"Hey Eeshan! How can I help?"},"assignee":"tim@zulip.com"}]



=== TEST 5: conversation.admin.closed: one conversation.closed event
--- request eval
main::req(sample('intercom/conversation.admin.closed.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: conversation.closed
X-Delivery: notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b
X-Event: [{"provider":"intercom","type":"conversation.closed","delivery_id":"notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b","occurred_at":1553291389000,"identity":{"email":"jerryguitarist@gmail.com","platform_id":"5c9553cb27e377f24eed49f7"},"first_name":"Eeshan","last_name":"Garg","conversation_id":"21322009097","assignee":"cordelia@zulip.com"}]



=== TEST 6: user.created (1.x): contact.created with email, and the national phone under crmsync_default_region US
--- request eval
main::req(sample('intercom/user.created.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: contact.created
X-Delivery: notif_61f436a9-6a2e-4f9b-9e85-68043477da63
X-Email: aaron@zulip.com
X-Phone: +12345570987
X-Event: [{"provider":"intercom","type":"contact.created","delivery_id":"notif_61f436a9-6a2e-4f9b-9e85-68043477da63","occurred_at":1553642471904,"identity":{"email":"aaron@zulip.com","phone":"+12345570987","platform_id":"5c9ab3e78cd7330140ce5033"},"first_name":"Aaron","last_name":"Smith"}]



=== TEST 7: user.created without crmsync_default_region: the national phone gives no phone identity
--- config
    location = /hooks/ic {
        crmsync_webhook intercom;
        crmsync_secret test_client_secret;
        add_header X-Phone $crmsync_phone always;
        add_header X-Email $crmsync_email always;
    }
--- request eval
main::req(sample('intercom/user.created.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
!X-Phone
X-Email: aaron@zulip.com



=== TEST 8: contact.user.created and contact.lead.created (2.x contact items): contact.created, email, notif id
--- request eval
main::reqs(sample('intercom/contact.user.created.json'), sample('intercom/contact.lead.created.json'))
--- more_headers eval
$main::H
--- error_code eval
[200, 200]
--- response_body eval
[('{"status":"accepted","events":1}' . "\n") x 2]
--- response_headers eval
# the last request's
['', <<'EOF']
X-Type: contact.created
X-Email: shuz@gmail.com
X-Delivery: notif_204d32ad-f47a-4276-8074-e5ce789d2987
X-Event: [{"provider":"intercom","type":"contact.created","delivery_id":"notif_204d32ad-f47a-4276-8074-e5ce789d2987","occurred_at":1768020119249,"identity":{"email":"shuz@gmail.com","platform_id":"6961d897719c606240178da8"},"first_name":"shuuuuz"}]
EOF



=== TEST 9: contact.user.created alone: $crmsync_email is the contact's email
--- request eval
main::req(sample('intercom/contact.user.created.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Email: user@example.com
X-Delivery: notif_c47f7aeb-bdeb-4d35-8fc7-eb945334fdad
--- raw_response_headers_like chomp
(?m-s)^X-Event: .*"first_name":"Sample","last_name":"User"\}\]\r$



=== TEST 10: the v1.0 docs example body (its own header has no published secret): signed with ours it parses; with its own it is refused
--- request eval
my ($body) = sample('intercom/v1.0_signed_notification_example.txt') =~ /^(\{.*)\z/ms;
$body =~ s/\n\z//;
my $ok = main::req($body);
$main::H = [$main::Headers, "X-Hub-Signature: sha1=21ff2e149e0fdcac6f947740f6177f6434bda921\nContent-Type: application/json"];
[$ok, $ok]
--- more_headers eval
$main::H
--- error_code eval
[200, 401]
--- response_body eval
['{"status":"accepted","events":1}' . "\n", '{"status":"rejected","reason":"signature_mismatch"}' . "\n"]



=== TEST 11: 2.x conversation.user.created (CONSTRUCTED): sender from source.author, contact from contacts[0]
--- request eval
main::req(main::v2('conversation.user.created',
    q("admin_assignee_id":0,"team_assignee_id":null,"source":{"type":"conversation","id":"98765","delivered_as":"customer_initiated","subject":"","body":"<p>Hi &amp; hello</p>","author":{"type":"user","id":"65f0c0ffee","name":"Ana Maria Silva","email":"Ana.Silva@Example.com"},"attachments":[]},"conversation_parts":{"type":"conversation_part.list","conversation_parts":[],"total_count":0})))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: message.inbound
X-Delivery: notif_v2-7f3a
X-Email: ana.silva@example.com
X-Event: [{"provider":"intercom","type":"message.inbound","delivery_id":"notif_v2-7f3a","occurred_at":1700000050000,"identity":{"email":"ana.silva@example.com","platform_id":"65f0c0ffee"},"first_name":"Ana","last_name":"Maria Silva","conversation_id":"215470","message":{"author":"contact","id":"98765","text":"Hi & hello"}}]



=== TEST 12: 2.x conversation.admin.assigned (CONSTRUCTED): the assignee is admin_assignee_id
--- request eval
main::req(main::v2('conversation.admin.assigned',
    q("admin_assignee_id":814,"conversation_parts":{"conversation_parts":[{"type":"conversation_part","id":"p9","part_type":"assignment","body":null,"created_at":1700000070,"author":{"type":"admin","id":"1"},"assigned_to":{"type":"admin","id":"814"}}],"total_count":1})))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: conversation.assigned
X-Event: [{"provider":"intercom","type":"conversation.assigned","delivery_id":"notif_v2-7f3a","occurred_at":1700000070000,"identity":{"platform_id":"65f0c0ffee"},"conversation_id":"215470","assignee":"814"}]



=== TEST 13: 2.x conversation.admin.closed (CONSTRUCTED): conversation.closed at the close part's time
--- request eval
main::req(main::v2('conversation.admin.closed',
    q("admin_assignee_id":814,"conversation_parts":{"conversation_parts":[{"type":"conversation_part","id":"p10","part_type":"close","body":"","created_at":1700000200,"author":{"type":"admin","id":"814"}}],"total_count":1})))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- response_headers
X-Type: conversation.closed
--- raw_response_headers_like chomp
(?m-s)^X-Event: \[\{"provider":"intercom","type":"conversation.closed","delivery_id":"notif_v2-7f3a","occurred_at":1700000200000,"identity":\{"platform_id":"65f0c0ffee"\},"conversation_id":"215470".*\}\]\r$



=== TEST 14: a topic we do not sync (snoozed) is answered 200 and ignored
--- request eval
main::req(main::v2('conversation.admin.snoozed', q("admin_assignee_id":814)))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_body
{"status":"ignored","reason":"intercom_topic_ignored"}



=== TEST 15: a tampered body is refused with 401, logged once at warn, without the secret or the body
--- request eval
my $b = sample('intercom/conversation.user.replied.json');
main::req($b);
$b =~ s/developer account/developer acc0unt/;
"POST /hooks/ic\n$b"
--- more_headers eval
$main::Headers
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- response_headers
X-Status: rejected
X-Reason: signature_mismatch
!X-Type
!X-Email
--- error_log
[warn]
crmsync: intercom webhook rejected with 401: signature_mismatch
--- no_error_log eval
["test_client_secret", "acc0unt", qr/rejected with 401(?s:.*)rejected with 401/]



=== TEST 16: another secret, a missing header, a Meta sha256 header instead, malformed values
--- request eval
my $b = sample('intercom/conversation.user.replied.json');
$main::H = ["X-Hub-Signature: " . intercom_sig('test_client_secret_2', $b),
            "",
            "X-Hub-Signature-256: " . meta_sig($main::Secret, $b),
            "X-Hub-Signature: " . (intercom_sig($main::Secret, $b) =~ s/^sha1=/sha256=/r),
            "X-Hub-Signature: " . substr(intercom_sig($main::Secret, $b), 0, 30),
            "X-Hub-Signature: sha1=" . ('x' x 40)];
for (@$main::H) {
    $_ = CORE::join "\n", grep { length } $_,
                         'Content-Type: application/json',
                         'Content-Length: ' . length($b);
}
[("POST /hooks/ic\n$b") x 6]
--- more_headers eval
$main::H
--- error_code eval
[(401) x 6]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) }
 qw(signature_mismatch signature_missing signature_missing signature_malformed signature_malformed signature_malformed)]
--- no_error_log eval
[qr/\[(warn|info|notice|error)\].*test_client_secret/]



=== TEST 17: rotation: the old and the new client secret both verify
--- config
    location = /hooks/ic {
        crmsync_webhook intercom;
        crmsync_secret old_client_secret;
        crmsync_secret test_client_secret;
    }
--- request eval
my $b = sample('intercom/ping.json');
my @r = (main::req($b, 'old_client_secret'));
$main::H = [$main::Headers];
push @r, main::req($b);
push @$main::H, $main::Headers;
\@r
--- more_headers eval
$main::H
--- error_code eval
[200, 200]
--- response_body eval
[('{"status":"ignored","reason":"intercom_ping"}' . "\n") x 2]



=== TEST 18: Intercom signs no timestamp: with crmsync_replay_window, a 2019 notification still verifies (dedup is the notif id)
--- config
    location = /hooks/ic {
        crmsync_webhook intercom;
        crmsync_secret test_client_secret;
        crmsync_replay_window 5m;
        add_header X-Delivery $crmsync_delivery_id always;
    }
--- request eval
main::req(sample('intercom/conversation.admin.closed.json'))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Delivery: notif_2bc4bf3a-0064-4fb0-9e17-dc44d91bcb9b



=== TEST 19: truncated JSON, correctly signed, is refused with 400
--- request eval
main::req(substr(sample('intercom/conversation.user.replied.json'), 0, 1000))
--- more_headers eval
$main::Headers
--- error_code: 400
--- response_body
{"status":"rejected","reason":"bad_json"}
--- error_log
crmsync: intercom webhook rejected with 400: bad_json



=== TEST 20: wrong types in fields, correctly signed, are each refused with 422 naming the field
--- request eval
my $r = sample('intercom/conversation.user.replied.json');
my $u = sample('intercom/user.created.json');
main::reqs(
    '[]',
    $r =~ s/"topic":"conversation.user.replied"/"topic":7/r,
    $r =~ s/"id":"notif_2c71fff0-65ef-46be-bbfe-dbf637bbff15"/"id":["notif"]/r,
    $r =~ s/"item":\{/"item":"x","old":{/r,
    $u =~ s/"email": "aaron\@zulip.com"/"email": 12/r,
    $u =~ s/"name": "Aaron Smith"/"name": {"first": "Aaron"}/r,
    $u =~ s/"phone": "2345570987"/"phone": 2345570987/r,
    $r =~ s/"conversation_parts":\[/"conversation_parts":"none","x":[/r,
    $r =~ s/"created_at":1553291307,/"created_at":"yesterday",/r,
)
--- more_headers eval
$main::H
--- error_code eval
[(422) x 9]
--- response_body eval
[map { qq({"status":"rejected","reason":"$_"}\n) }
 qw(not_an_object intercom_no_topic intercom_no_id intercom_no_item intercom_bad_email
    intercom_bad_name intercom_bad_phone intercom_bad_conversation_parts intercom_bad_time)]



=== TEST 21: 10,000-deep nesting, correctly signed, is refused without a crash; the next notification is served
--- request eval
main::reqs('{"type":"notification_event","topic":"contact.user.created","data":{"item":' . ('{"i":' x 10000) . 'null' . ('}' x 10000) . '}}',
           '{"topic":"user.created","data":' . deep_json(10000) . '}',
           sample('intercom/conversation.admin.closed.json'))
--- more_headers eval
$main::H
--- error_code eval
[400, 400, 200]
--- response_body eval
[('{"status":"rejected","reason":"bad_json"}' . "\n") x 2, '{"status":"accepted","events":1}' . "\n"]
--- no_error_log
[alert]
[crit]



=== TEST 22: a body over client_max_body_size is refused with 413
--- request eval
my $b = sample('intercom/conversation.user.replied.json');
$b =~ s/"body":"<p>Well/"body":"<p>@{['x' x 70000]} Well/;
main::req($b)
--- more_headers eval
$main::Headers
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- response_headers
X-Reason: body_too_large



=== TEST 23: no handshake for Intercom: GET is 405 with Allow: POST; a form body is 415
--- request eval
["GET /hooks/ic?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x", "POST /hooks/ic\ntopic=ping"]
--- more_headers eval
["", "Content-Type: application/x-www-form-urlencoded"]
--- error_code eval
[405, 415]
--- response_body eval
['{"status":"rejected","reason":"method_not_allowed"}' . "\n", '{"status":"rejected","reason":"unsupported_media_type"}' . "\n"]
--- response_headers eval
# the last request's
['', <<'EOF']
X-Provider: intercom
EOF



=== TEST 24: GET's 405 names only POST in Allow
--- request
GET /hooks/ic
--- error_code: 405
--- response_headers
Allow: POST



=== TEST 25: 2.x replies (CONSTRUCTED): an admin reply is outbound by an agent (the last comment part), a note is author "note", a contact reply brings its email
--- request eval
main::reqs(
  main::v2('conversation.admin.replied', q("admin_assignee_id":4242,"source":{"id":"1","body":"<p>first</p>","author":{"type":"user","id":"65f0c0ffee"}},"conversation_parts":{"conversation_parts":[{"type":"conversation_part","id":"p1","part_type":"comment","body":"<p>old</p>","created_at":1700000060,"author":{"type":"admin","id":"4242"}},{"type":"conversation_part","id":"p2","part_type":"comment","body":"<p>We can help.</p>","created_at":1700000077,"author":{"type":"admin","id":"4242","name":"Rep","email":"rep@example.com"},"attachments":[]}],"total_count":2})),
  main::v2('conversation.admin.noted', q("admin_assignee_id":4242,"conversation_parts":{"conversation_parts":[{"id":"p3","part_type":"note","body":"<p>VIP, call back</p>","created_at":1700000088,"author":{"type":"admin","id":"4242"}}]})),
  main::v2('conversation.user.replied', q("admin_assignee_id":null,"conversation_parts":{"conversation_parts":[{"id":"p5","part_type":"comment","body":"<p>Thanks</p>","created_at":1700000111,"author":{"type":"lead","id":"65f0c0ffee","name":"Lee Ad","email":"Lead@Example.org"}}]})),
)
--- more_headers eval
$main::H
--- error_code eval
[200, 200, 200]
--- response_body eval
[('{"status":"accepted","events":1}' . "\n") x 3]
--- response_headers eval
# the last request's
[('') x 2, <<'EOF']
X-Type: message.inbound
X-Email: lead@example.org
X-Event: [{"provider":"intercom","type":"message.inbound","delivery_id":"notif_v2-7f3a","occurred_at":1700000111000,"identity":{"email":"lead@example.org","platform_id":"65f0c0ffee"},"first_name":"Lee","last_name":"Ad","conversation_id":"215470","message":{"author":"contact","id":"p5","text":"Thanks"}}]
EOF



=== TEST 26: the 2.x admin reply in full: the last comment part, assignee from admin_assignee_id
--- request eval
main::req(main::v2('conversation.admin.replied', q("admin_assignee_id":4242,"source":{"id":"1","body":"<p>first</p>","author":{"type":"user","id":"65f0c0ffee"}},"conversation_parts":{"conversation_parts":[{"type":"conversation_part","id":"p1","part_type":"comment","body":"<p>old</p>","created_at":1700000060,"author":{"type":"admin","id":"4242"}},{"type":"conversation_part","id":"p2","part_type":"comment","body":"<p>We can help.</p>","created_at":1700000077,"author":{"type":"admin","id":"4242","name":"Rep","email":"rep@example.com"},"attachments":[]}],"total_count":2})))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers
X-Type: message.outbound
!X-Email
X-Event: [{"provider":"intercom","type":"message.outbound","delivery_id":"notif_v2-7f3a","occurred_at":1700000077000,"identity":{"platform_id":"65f0c0ffee"},"conversation_id":"215470","message":{"author":"agent","id":"p2","text":"We can help."},"assignee":"4242"}]



=== TEST 27: the note in full
--- request eval
main::req(main::v2('conversation.admin.noted', q("admin_assignee_id":4242,"conversation_parts":{"conversation_parts":[{"id":"p3","part_type":"note","body":"<p>VIP, call back</p>","created_at":1700000088,"author":{"type":"admin","id":"4242"}}]})))
--- more_headers eval
$main::Headers
--- error_code: 200
--- response_headers_like
X-Event: .*"message":\{"author":"note","id":"p3","text":"VIP, call back"\},"assignee":"4242"\}\]$



=== TEST 28: a notification without its notif id (not a ping) is refused: no dedup key
--- request eval
main::req(sample('intercom/conversation.admin.closed.json') =~ s/"id":"notif_[^"]*",//r)
--- more_headers eval
$main::Headers
--- error_code: 422
--- response_body
{"status":"rejected","reason":"intercom_no_id"}



=== TEST 29: crmsync_log_level error: refusals are logged at [error]
--- config
    location = /hooks/ic {
        crmsync_webhook intercom;
        crmsync_secret test_client_secret;
        crmsync_log_level error;
    }
--- request eval
"POST /hooks/ic\n{}"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- error_log eval
qr/\[error\].*crmsync: intercom webhook rejected with 401: signature_missing/
--- no_error_log
[warn]

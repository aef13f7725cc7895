# The matching directives with good and bad values: crmsync_match,
# crmsync_id_property, crmsync_create, crmsync_lifecycle, crmsync_set's
# if_empty, crmsync_filter, crmsync_dry_run and crmsync_lookup_properties.
# A bad value fails the configuration with an [emerg] that names the
# directive.  After the blocks, one nginx with a store receives WhatsApp,
# Intercom, Telegram, Messenger, Twilio, Standard Webhooks and HubSpot
# deliveries, and the jobs they leave are read back from the store with
# sqlite3: the job payload (version 2, doc/matching.md), the job's first
# key, the filter, dry_run, if_empty, the create mode, each provider's
# default rules and HubSpot's merges.  Every key of a job is read from
# the debug log ("crmsync job key:"), which prints what ingest hands the
# store.  The HubSpot URL is a closed local port and the batch linger an
# hour: nothing syncs, and no test waits for a sync.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;
use Crmsync::StoreBlocks;
use Crmsync::Nginx;
use File::Temp qw(tempdir);
use JSON::PP ();


our $StdSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
our $Body = '{"type":"contact.created","data":{"id":"c1","email":"ana@example.com"}}';

# a configuration error: the level and the message on one line
sub emerg { my $m = shift; return qr/\[emerg\] [^\n]*\Q$m\E/ }

# a Standard Webhooks POST with webhook-id $id, signed now: the request
# and its headers
sub std {
    my ($id, $uri, $body) = @_;
    my $ts = time;
    $body //= $Body;
    return ("POST " . ($uri // '/hooks/std') . "\n$body",
            "webhook-id: $id\nwebhook-timestamp: $ts\nwebhook-signature: "
            . standard_sig($StdSecret, $id, $ts, $body)
            . "\nContent-Type: application/json");
}

sub exactly { my $s = shift; return qr/\A\Q$s\E\z/ }
our $Stored = exactly('{"status":"accepted","events":1,"stored":1,"duplicate":false}' . "\n");

Crmsync::StoreBlocks::install();

no_shuffle();
run_tests();

store_tests();

# ---------------------------------------------------------------------
# the jobs in the store

sub store_tests {
    my $prefix = tempdir(CLEANUP => !$ENV{CRMSYNC_KEEP});
    Crmsync::Nginx::write_file("$prefix/token",
                               "pat-na1-00000000-0000-0000-0000-000000000000\n");
    my $ng = Crmsync::Nginx->start(workers => 1, prefix => $prefix,
                                   main => "error_log logs/debug.log debug;",
                                   http => <<"CONF", server => <<"CONF");
    crmsync_store $prefix/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$prefix/token;
    crmsync_batch_linger 1h;
CONF
        location = /hooks/wa {
            crmsync_webhook whatsapp;
            crmsync_secret wa-app-secret-1;
            crmsync_id_property whatsapp_id crmsync_whatsapp_id;
            crmsync_set last_chat_channel WhatsApp;
        }
        location = /hooks/ic {
            crmsync_webhook intercom;
            crmsync_secret test_client_secret;
            crmsync_default_region US;
        }
        location = /hooks/tg {
            crmsync_webhook telegram;
            crmsync_secret tg-Secret_Token-42;
        }
        location = /hooks/fb {
            crmsync_webhook messenger;
            crmsync_secret fb-app-secret-1;
        }
        location = /hooks/tw {
            crmsync_webhook twilio;
            crmsync_secret 12345;
            crmsync_public_url https://example.com\$request_uri;
        }
        location = /hooks/std {
            crmsync_webhook standard;
            crmsync_secret $StdSecret;
            crmsync_match email phone;
            crmsync_create with_email;
            crmsync_lifecycle off;
            crmsync_set lastname Override;
            crmsync_set company \$arg_company if_empty;
            crmsync_set jobtitle \$arg_title;
        }
        location = /hooks/dry {
            crmsync_webhook standard;
            crmsync_secret $StdSecret;
            crmsync_dry_run on;
            crmsync_filter \$arg_go;
            crmsync_create always;
            crmsync_lifecycle customer;
        }
        location = /hooks/hs {
            crmsync_webhook hubspot;
            crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        }
CONF

    my $json = JSON::PP->new->canonical;
    my $ok = '{"status":"accepted","events":1,"stored":1,"duplicate":false}' . "\n";

    # the job of a delivery: its payload decoded, and its other columns
    my $job = sub {
        my ($where) = @_;
        my $row = $ng->sql("SELECT state || '|' || coalesce(hold_reason, '') || '|' "
                           . "|| coalesce(match_key, '') || '|' || payload "
                           . "FROM job WHERE $where");
        my ($state, $reason, $key, $payload) = split /\|/, $row, 4;
        return { state => $state, reason => $reason, key => $key,
                 payload => eval { $json->decode($payload // '') } // $payload };
    };

    my $std = sub {
        my ($path, $id, $type, $data) = @_;
        my $body = $json->encode({ id => $id, type => $type,
                                   timestamp => int(time), data => $data });
        my $ts = int time;
        return $ng->post($path, $body, {
            'content-type' => 'application/json', 'webhook-id' => $id,
            'webhook-timestamp' => $ts,
            'webhook-signature' => standard_sig($StdSecret, $id, $ts, $body) });
    };

    # WhatsApp: phone first, the wa_id on its property, the profile name
    # never over a name HubSpot holds

    my $wa = sample('whatsapp/messages_text_inbound.json');
    $wa =~ s/\n\z//;
    my ($code, $body) = $ng->post('/hooks/wa', $wa, {
        'content-type' => 'application/json',
        'x-hub-signature-256' => meta_sig('wa-app-secret-1', $wa) });
    is "$code $body", "200 $ok", 'store: WhatsApp delivery stored';

    is_deeply $job->("location = '/hooks/wa'"), {
        state => 0, reason => '', key => 'phone:+16505551234',
        payload => {
            v => 2,
            ids => { phone => '+16505551234', whatsapp_id => '16505551234' },
            match => [qw(phone whatsapp_id email)],
            create => 'identified', lifecycle => 'lead',
            props => { firstname => 'Sheena', lastname => 'Nelson',
                       last_chat_channel => 'WhatsApp' },
            if_empty => [qw(firstname lastname)],
            idprops => { whatsapp_id => 'crmsync_whatsapp_id' } } },
        'store: WhatsApp job: payload v2 with the default rules, queued, '
        . 'its first key the phone';

    # Intercom: email first, the platform's id as intercom:<id>

    my $ic = sample('intercom/user.created.json');
    ($code, $body) = $ng->post('/hooks/ic', $ic, {
        'content-type' => 'application/json',
        'x-hub-signature' => intercom_sig('test_client_secret', $ic) });
    is "$code $body", "200 $ok", 'store: Intercom delivery stored';

    is_deeply $job->("location = '/hooks/ic'"), {
        state => 0, reason => '', key => 'email:aaron@zulip.com',
        payload => {
            v => 2,
            ids => { email => 'aaron@zulip.com', phone => '+12345570987',
                     platform_id => 'intercom:5c9ab3e78cd7330140ce5033' },
            match => [qw(crm_id email phone platform_id)],
            create => 'identified', lifecycle => 'lead',
            props => { firstname => 'Aaron', lastname => 'Smith' },
            if_empty => [qw(firstname lastname)] } },
        'store: Intercom job: payload v2 with the default rules';

    # Telegram: the user id and the username first

    my $tg = sample('telegram/message_text.json');
    ($code, $body) = $ng->post('/hooks/tg', $tg, {
        'content-type' => 'application/json',
        'x-telegram-bot-api-secret-token' => 'tg-Secret_Token-42' });
    is "$code $body", "200 $ok", 'store: Telegram delivery stored';

    my $t = $job->("location = '/hooks/tg'");
    is_deeply [$t->{key}, $t->{payload}{ids}, $t->{payload}{match}],
        ['telegram_id:1111111',
         { telegram_id => '1111111', telegram_username => 'testusername' },
         [qw(telegram_id telegram_username phone email)]],
        'store: Telegram job: its ids, and the default rules';

    # Messenger: the page-scoped id first

    my $fb = sample('messenger/messages_text_event.json');
    $fb =~ s/\n\z//;
    $fb =~ s/<PSID>/6857492367652313/g;
    $fb =~ s/<PAGE_ID>/107295098946427/g;
    $fb = qq({"object":"page","entry":[{"id":"107295098946427","time":)
          . int(time * 1000) . qq(,"messaging":[$fb]}]});
    ($code, $body) = $ng->post('/hooks/fb', $fb, {
        'content-type' => 'application/json',
        'x-hub-signature-256' => meta_sig('fb-app-secret-1', $fb) });
    is "$code $body", "200 $ok", 'store: Messenger delivery stored';

    $t = $job->("location = '/hooks/fb'");
    is_deeply [$t->{key}, $t->{payload}{ids}, $t->{payload}{match}],
        ['messenger_id:6857492367652313',
         { messenger_id => '6857492367652313' },
         [qw(messenger_id email phone)]],
        'store: Messenger job: its id, and the default rules';

    # WhatsApp through Twilio: the phone first

    my $tw = sample('twilio/CONSTRUCTED_whatsapp_inbound.form.txt');
    $tw =~ s/\n\z//;
    ($code, $body) = $ng->post('/hooks/tw', $tw, {
        'content-type' => 'application/x-www-form-urlencoded',
        'x-twilio-signature' => twilio_form_sig('12345',
                                    'https://example.com/hooks/tw', $tw) });
    is "$code $body", "200 $ok", 'store: Twilio delivery stored';

    $t = $job->("location = '/hooks/tw'");
    is_deeply [$t->{key}, $t->{payload}{ids}, $t->{payload}{match},
               $t->{payload}{props}],
        ['phone:+14155550123',
         { phone => '+14155550123', whatsapp_id => '14155550123' },
         [qw(phone whatsapp_id email)],
         { firstname => 'Jane', lastname => 'Doe' }],
        'store: Twilio job: its ids, the default rules, the profile name';

    # crmsync_match, crmsync_create with_email, crmsync_lifecycle off,
    # crmsync_set over the event's name, if_empty, an empty set left out

    ($code, $body) = $std->('/hooks/std?company=Acme', 'evt_std', 'contact.created',
        { id => 'u1', email => ' Ana@Example.COM ', phone => '+49 151 23456789',
          first_name => 'Ana', last_name => 'Diaz', hubspot_id => '1001' });
    is "$code $body", "200 $ok", 'store: Standard Webhooks delivery stored';

    is_deeply $job->("delivery LIKE '%evt_std'"), {
        state => 0, reason => '', key => 'email:ana@example.com',
        payload => {
            v => 2,
            ids => { email => 'ana@example.com', phone => '+4915123456789',
                     platform_id => 'standard:u1', crm_id => '1001' },
            match => [qw(email phone)],
            create => 'with_email',
            props => { firstname => 'Ana', lastname => 'Override',
                       company => 'Acme' },
            if_empty => [qw(firstname company)] } },
        'store: crmsync_match, crmsync_create, crmsync_lifecycle off and '
        . 'crmsync_set [if_empty] in the payload; an empty set is left out';

    # every identifier is a key, phone_alt a phone (debug log)

    my $log = '';
    my $wait = time + 5;
    until ($log =~ /crmsync job key: crm_id:1001/ || time > $wait) {
        select undef, undef, undef, 0.05;
        open my $fh, '<', "$prefix/logs/debug.log" or last;
        local $/;
        $log = <$fh>;
    }
    my @keys = $log =~ /crmsync job key: (\S+)/g;
    is_deeply \@keys,
        ['phone:+16505551234', 'whatsapp_id:16505551234',
         'email:aaron@zulip.com', 'phone:+12345570987',
         'platform_id:intercom:5c9ab3e78cd7330140ce5033',
         'telegram_id:1111111', 'telegram_username:testusername',
         'messenger_id:6857492367652313',
         'phone:+14155550123', 'whatsapp_id:14155550123',
         'email:ana@example.com', 'phone:+4915123456789',
         'platform_id:standard:u1', 'crm_id:1001'],
        'store: each job\'s keys, <kind>:<value>';

    # crmsync_filter: an empty value or "0" stores the event as done

    for my $go ('', '0', '1') {
        ($code, $body) = $std->("/hooks/dry?go=$go", "evt_go$go", 'contact.updated',
            { id => "g$go", email => "go$go\@example.com" });
        is "$code $body", "200 $ok", "store: filter \"$go\": stored";
    }

    is $job->("delivery LIKE '%evt_go'")->{state} . $job->("delivery LIKE '%evt_go'")->{reason},
       '5filtered', 'store: crmsync_filter "": done, filtered';
    is $job->("delivery LIKE '%evt_go0'")->{state} . $job->("delivery LIKE '%evt_go0'")->{reason},
       '5filtered', 'store: crmsync_filter "0": done, filtered';

    is_deeply $job->("delivery LIKE '%evt_go1'"), {
        state => 0, reason => '', key => 'email:go1@example.com',
        payload => {
            v => 2,
            ids => { email => 'go1@example.com', platform_id => 'standard:g1' },
            match => [qw(crm_id email phone platform_id)],
            create => 'always', lifecycle => 'customer',
            if_empty => [qw(firstname lastname)],
            dry_run => JSON::PP::true } },
        'store: crmsync_filter "1" queues; crmsync_dry_run on, '
        . 'crmsync_create always and a stage in the payload';

    # no identifier: held no_identity; a full name alone is enough

    ($code, $body) = $std->('/hooks/dry?go=1', 'evt_anon', 'message.inbound',
        { contact => { first_name => 'Ana' }, message => { id => 'm1', text => 'hi' } });
    is "$code $body", "200 $ok", 'store: a message from nobody stored';
    is $job->("delivery LIKE '%evt_anon'")->{state} . $job->("delivery LIKE '%evt_anon'")->{reason},
       '3no_identity', 'store: no identifier, no full name: held, no_identity';

    ($code, $body) = $std->('/hooks/dry?go=1', 'evt_named', 'message.inbound',
        { contact => { first_name => 'Ana', last_name => 'Diaz' },
          message => { id => 'm2', text => 'hi' } });
    is "$code $body", "200 $ok", 'store: a message from a full name stored';
    $t = $job->("delivery LIKE '%evt_named'");
    is_deeply [$t->{state}, $t->{key}, $t->{payload}{ids}, $t->{payload}{props}],
        [0, '', {}, { firstname => 'Ana', lastname => 'Diaz' }],
        'store: a full name without an identifier is queued, with no key';

    # HubSpot's contact.merge: done, merged

    my $hs = $json->encode([{ eventId => 3, subscriptionId => 25, portalId => 33,
        appId => 1, occurredAt => 1700000000000, subscriptionType => 'contact.merge',
        attemptNumber => 0, objectId => 201, changeSource => 'CRM',
        primaryObjectId => 201, mergedObjectIds => [202, 203, 201],
        newObjectId => 300, numberOfPropertiesMoved => 4 }]);
    my $ts = int(Time::HiRes::time() * 1000);
    ($code, $body) = $ng->post('/hooks/hs', $hs, {
        'content-type' => 'application/json',
        'x-hubspot-request-timestamp' => $ts,
        'x-hubspot-signature-v3' => hubspot_v3_sig(
            'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy', 'POST',
            'http://localhost/hooks/hs', $hs, $ts) });
    is "$code $body", "200 $ok", 'store: a HubSpot merge stored';
    is $job->("location = '/hooks/hs'")->{state} . $job->("location = '/hooks/hs'")->{reason},
       '5merged', 'store: contact.merge: done, merged';

    unlike $ng->error_log, qr/\[(alert|crit|emerg)\]/, 'store: no alert';
    $ng->stop;
}

__DATA__

=== TEST 1: every matching directive with a good value, at every level where it is allowed: nginx starts and stores a delivery
--- store_http
    crmsync_batch_linger 1h;
    crmsync_match email phone crm_id;
    crmsync_id_property whatsapp_id crmsync_whatsapp_id;
    crmsync_create with_email;
    crmsync_lifecycle subscriber;
    crmsync_filter $arg_go;
    crmsync_dry_run off;
--- config
    crmsync_match phone whatsapp_id email;
    crmsync_create always;
    crmsync_dry_run on;
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_match crm_id email phone whatsapp_id telegram_id telegram_username messenger_id instagram_id platform_id;
        crmsync_id_property telegram_id crmsync_telegram_id;
        crmsync_id_property telegram_username crmsync_tg_username2;
        crmsync_id_property phone crmsync_phone;
        crmsync_id_property messenger_id crmsync_messenger_psid;
        crmsync_id_property instagram_id crmsync_instagram_igsid;
        crmsync_id_property platform_id crmsync_platform_id;
        crmsync_id_property whatsapp_id crmsync_whatsapp_id;
        crmsync_create off;
        crmsync_lifecycle marketingqualifiedlead;
        crmsync_set lastname Diaz if_empty;
        crmsync_set hs_lead_status NEW;
        crmsync_filter 1;
        crmsync_dry_run off;
    }
    location = /contact {
        crmsync_lookup_properties email phone hs_lead_status company;
        return 204;
    }
--- request eval
my ($r, $h) = main::std('msg_good');
$main::H = $h;
$r
--- more_headers eval
$main::H
--- error_code: 200
--- response_body_like eval
$main::Stored
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 2: crmsync_create's four modes and crmsync_lifecycle off, one a location
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /a {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_create identified;
        crmsync_lifecycle off;
    }
    location = /b {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_create with_email;
    }
    location = /c {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_create always;
    }
    location = /d {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_create off;
    }
    location = /t { return 204; }
--- request
GET /t
--- error_code: 204
--- no_error_log
[emerg]



=== TEST 3: crmsync_id_property: two locations of one portal may name the same property for an identifier; another portal may keep it elsewhere
--- store_http
    crmsync_batch_linger 1h;
    crmsync_hubspot name=eu url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
    crmsync_id_property whatsapp_id crmsync_whatsapp_id;
--- config
    location = /a {
        crmsync_webhook whatsapp;
        crmsync_secret wa-app-secret-1;
    }
    location = /b {
        crmsync_webhook twilio;
        crmsync_secret 12345;
    }
    location = /c {
        crmsync_webhook whatsapp;
        crmsync_secret wa-app-secret-1;
        crmsync_portal eu;
        crmsync_id_property whatsapp_id wa_number;
    }
    location = /t { return 204; }
--- request
GET /t
--- error_code: 204
--- no_error_log
[emerg]



=== TEST 4: the directives that need a store are refused only where they change something: defaults without a store, and crmsync_lookup_properties, start
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_create identified;
        crmsync_lifecycle lead;
        crmsync_dry_run off;
    }
    location = /contact {
        crmsync_lookup_properties email;
        return 204;
    }
--- request
GET /contact
--- error_code: 204
--- no_error_log
[emerg]



=== TEST 5: a HubSpot webhook location under an http-level crmsync_match, and with an id property of its own: not applicable, neither refused nor counted against the portal's
--- store_http
    crmsync_batch_linger 1h;
    crmsync_match phone email;
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy;
        crmsync_id_property whatsapp_id wa_b;
    }
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret wa-app-secret-1;
        crmsync_id_property whatsapp_id wa_a;
    }
    location = /t { return 204; }
--- request
GET /t
--- error_code: 204
--- no_error_log
[emerg]



=== TEST 6: crmsync_match: an unknown rule, and the valid ones listed
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_match email fax;
    }
--- must_die
--- error_log eval
main::emerg('unknown rule "fax" in "crmsync_match", valid ones are: crm_id email phone whatsapp_id telegram_id telegram_username messenger_id instagram_id platform_id')



=== TEST 7: crmsync_match: a rule twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_match phone email phone;
    }
--- must_die
--- error_log eval
main::emerg('duplicate rule "phone" in "crmsync_match"')



=== TEST 8: crmsync_match: twice in one location
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_match phone;
        crmsync_match email;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_match" directive is duplicate')



=== TEST 9: crmsync_match: no rule
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_match;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_match" directive')



=== TEST 10: crmsync_match: rule names are lower case
--- store_http
    crmsync_batch_linger 1h;
    crmsync_match Email;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- must_die
--- error_log eval
main::emerg('unknown rule "Email" in "crmsync_match"')



=== TEST 11: crmsync_match without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_match email;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_match" in location "/hooks/std" needs "crmsync_store"')



=== TEST 12: crmsync_id_property: an unknown identifier
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property fax crmsync_fax;
    }
--- must_die
--- error_log eval
main::emerg('unknown identifier "fax" in "crmsync_id_property", valid ones are: phone whatsapp_id telegram_id telegram_username messenger_id instagram_id platform_id')



=== TEST 13: crmsync_id_property: email is HubSpot's own unique property, not one to keep elsewhere
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property email crmsync_email;
    }
--- must_die
--- error_log eval
main::emerg('unknown identifier "email" in "crmsync_id_property", valid ones are: phone whatsapp_id telegram_id telegram_username messenger_id instagram_id platform_id')



=== TEST 14: crmsync_id_property: crm_id is the record's id
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property crm_id crmsync_crm_id;
    }
--- must_die
--- error_log eval
main::emerg('unknown identifier "crm_id" in "crmsync_id_property"')



=== TEST 15: crmsync_id_property: a label instead of an internal name
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id "WhatsApp ID";
    }
--- must_die
--- error_log eval
main::emerg('invalid property "WhatsApp ID" in "crmsync_id_property": HubSpot\'s internal name starts with a lower case letter')



=== TEST 16: crmsync_id_property: upper case letters
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id whatsApp_id;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "whatsApp_id" in "crmsync_id_property": HubSpot\'s internal name is expected (lower case, digits and \'_\')')



=== TEST 17: crmsync_id_property: a name starting with a digit
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id 1wa;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "1wa" in "crmsync_id_property": HubSpot\'s internal name starts with a lower case letter')



=== TEST 18: crmsync_id_property: a name of 101 characters
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww" in "crmsync_id_property": HubSpot\'s internal name of at most 100 characters is expected')



=== TEST 19: crmsync_id_property: hs_ names are HubSpot's
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id hs_whatsapp_id;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "hs_whatsapp_id" in "crmsync_id_property": "hs_" names are HubSpot\'s own')



=== TEST 20: crmsync_id_property: phone is HubSpot's own property
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id phone;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "phone" in "crmsync_id_property": a property of HubSpot\'s own cannot hold unique values')



=== TEST 21: crmsync_id_property: one identifier twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id wa_a;
        crmsync_id_property whatsapp_id wa_b;
    }
--- must_die
--- error_log eval
main::emerg('duplicate identifier "whatsapp_id" in "crmsync_id_property": one property per identifier')



=== TEST 22: crmsync_id_property: one property for two identifiers
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id chat_id;
        crmsync_id_property telegram_id chat_id;
    }
--- must_die
--- error_log eval
main::emerg('duplicate property "chat_id" in "crmsync_id_property": one identifier per property')



=== TEST 23: crmsync_id_property: two locations of one portal keep an identifier in two properties
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/a {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id wa_a;
    }
    location = /hooks/b {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id wa_b;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_id_property whatsapp_id wa_b" of location "/hooks/b": another location of portal "default" keeps whatsapp_id in "wa_a"; one property per identifier and portal')



=== TEST 24: crmsync_id_property: two locations of one portal keep two identifiers in one property
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/a {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id chat_id;
    }
    location = /hooks/b {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property telegram_id chat_id;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_id_property telegram_id chat_id" of location "/hooks/b": another location of portal "default" keeps whatsapp_id in it; one identifier per property')



=== TEST 25: crmsync_id_property: one argument
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_id_property" directive')



=== TEST 26: crmsync_id_property without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_id_property whatsapp_id crmsync_whatsapp_id;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_id_property" in location "/hooks/std" needs "crmsync_store"')



=== TEST 27: crmsync_create: an unknown mode
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_create sometimes;
    }
--- must_die
--- error_log eval
main::emerg('invalid value "sometimes" in "crmsync_create": identified, with_email, always or off is expected')



=== TEST 28: crmsync_create: twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_create off;
        crmsync_create always;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_create" directive is duplicate')



=== TEST 29: crmsync_create without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_create with_email;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_create" in location "/hooks/std" needs "crmsync_store"')



=== TEST 30: crmsync_lifecycle: a label instead of the internal value
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_lifecycle "Marketing Qualified Lead";
    }
--- must_die
--- error_log eval
main::emerg('invalid stage "Marketing Qualified Lead" in "crmsync_lifecycle": HubSpot\'s internal value is expected (lower case and digits, such as lead or marketingqualifiedlead), or off')



=== TEST 31: crmsync_lifecycle: an underscore is no stage
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_lifecycle sales_lead;
    }
--- must_die
--- error_log eval
main::emerg('invalid stage "sales_lead" in "crmsync_lifecycle"')



=== TEST 32: crmsync_lifecycle: an empty stage
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_lifecycle "";
    }
--- must_die
--- error_log eval
main::emerg('invalid stage "" in "crmsync_lifecycle"')



=== TEST 33: crmsync_lifecycle: twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_lifecycle lead;
        crmsync_lifecycle off;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_lifecycle" directive is duplicate')



=== TEST 34: crmsync_lifecycle without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_lifecycle customer;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_lifecycle" in location "/hooks/std" needs "crmsync_store"')



=== TEST 35: crmsync_set: a third parameter other than if_empty
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set company Acme always;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "always" in "crmsync_set": only "if_empty" may follow the value')



=== TEST 36: crmsync_set: one property twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set company Acme;
        crmsync_set company Other if_empty;
    }
--- must_die
--- error_log eval
main::emerg('duplicate property "company" in "crmsync_set"')



=== TEST 37: crmsync_set: four parameters
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set company Acme if_empty now;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_set" directive')



=== TEST 38: crmsync_filter: twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_filter $arg_a;
        crmsync_filter $arg_b;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_filter" directive is duplicate')



=== TEST 39: crmsync_filter: no value
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_filter;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_filter" directive')



=== TEST 40: crmsync_filter without crmsync_store
--- http_config
    crmsync_filter $arg_go;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_filter" in location "/hooks/std" needs "crmsync_store"')



=== TEST 41: crmsync_dry_run: a value other than on or off
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_dry_run yes;
    }
--- must_die
--- error_log eval
main::emerg('invalid value "yes" in "crmsync_dry_run" directive, it must be "on" or "off"')



=== TEST 42: crmsync_dry_run without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_dry_run on;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_dry_run" in location "/hooks/std" needs "crmsync_store"')



=== TEST 43: crmsync_lookup_properties: an invalid name
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /contact {
        crmsync_lookup_properties email mobile-phone;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "mobile-phone" in "crmsync_lookup_properties": HubSpot\'s internal name is expected (lower case, digits and \'_\')')



=== TEST 44: crmsync_lookup_properties: a property twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /contact {
        crmsync_lookup_properties email phone email;
    }
--- must_die
--- error_log eval
main::emerg('duplicate property "email" in "crmsync_lookup_properties"')



=== TEST 45: crmsync_lookup_properties: not in http context
--- store_http
    crmsync_batch_linger 1h;
    crmsync_lookup_properties email;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_lookup_properties" directive is not allowed here')



=== TEST 46: crmsync_lookup_properties: twice
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /contact {
        crmsync_lookup_properties email;
        crmsync_lookup_properties phone;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_lookup_properties" directive is duplicate')



=== TEST 47: crmsync_lookup takes no argument
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /contact {
        crmsync_lookup on;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_lookup" directive')



=== TEST 48: crmsync_lookup: not in http context
--- store_http
    crmsync_batch_linger 1h;
    crmsync_lookup;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_lookup" directive is not allowed here')



=== TEST 49: crmsync_lookup: a GET without an identifier is a 400 with a JSON reason, answered without HubSpot
--- store_http
    crmsync_batch_linger 1h;
--- config
    location = /contact {
        crmsync_lookup;
    }
--- request
GET /contact
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body_like: "error"

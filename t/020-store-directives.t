# The store and sync directives with good and bad values: crmsync_store,
# crmsync_zone, crmsync_hubspot, crmsync_retry_for, crmsync_audit_for,
# crmsync_batch_linger, crmsync_portal, crmsync_set and crmsync_status.
# A bad value fails the configuration with an [emerg] that names the
# directive; a good one lets nginx start, store a signed Standard Webhooks
# delivery once, and answer crmsync_status.  The HubSpot URL is a closed
# local port: nothing syncs, and no test waits for a sync.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;
use Crmsync::StoreBlocks;


our $StdSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
our $Body = '{"type":"contact.created","data":{"id":"c1"}}';

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

# the answers, exactly (response_body_like: the fallback harness compares
# response_body as a string only)
sub exactly { my $s = shift; return qr/\A\Q$s\E\z/ }
our $Stored = exactly('{"status":"accepted","events":1,"stored":1,"duplicate":false}' . "\n");
our $Duplicate = exactly('{"status":"accepted","events":1,"stored":0,"duplicate":true}' . "\n");
our $UnknownFormat = exactly('{"status":"error","reason":"unknown_format"}' . "\n");

# requests and their headers for main::several(): [POST id uri] or a GET
our (@R, @H);
sub several {
    @R = (); @H = ();
    for my $r (@_) {
        if (ref $r) {
            my ($req, $h) = std(@$r);
            push @R, $req;
            push @H, $h;
        } else {
            push @R, $r;
            push @H, '';
        }
    }
    return [@R];
}

Crmsync::StoreBlocks::install();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a store, a zone and a default portal: a delivery is stored once, the same webhook-id again is a duplicate, and the status counts both; the sync's failures to a closed port crash nothing
--- http_config
    crmsync_zone crmsync:1m;
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
    location = /status {
        crmsync_status;
    }
--- request eval
main::several(['msg_a'], ['msg_a'], "GET /status")
--- more_headers eval
[@main::H]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[$main::Stored, $main::Duplicate,
 qr/^\{"queue":\{"queued":\d+,[^{}]*"oldest_age":\d+\},"kinds":\{"contact":\{"queued":\d+,"retrying":\d+,"in_flight":\d+,"held":\d+,"dead":\d+\},"transcript":\{"queued":0,"retrying":0,"in_flight":0,"held":0,"dead":0\},"deal":\{[^{}]*\},"task":\{[^{}]*\},"flag":\{[^{}]*\},"owner":\{[^{}]*\}\},"store":\{"commits":2,"requests_committed":2\},"portals":\{"default":\{"auth":"ok",[^{}]*"budget":100,[^{}]*\}\},"locations":\{"\/hooks\/std":\{"received":2,"stored":1,"duplicate":1,"refused":\{\}\}\}\}\n\z/]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 2: every parameter with a good value: a named portal chosen by crmsync_portal, its rate is the budget, crmsync_set with a variable
--- http_config
    crmsync_zone crmsync:64k;
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db sync=normal keep_deliveries=1d;
    crmsync_hubspot name=eu url=http://127.0.0.1:9/ token_file=$TEST_NGINX_SERVER_ROOT/html/token api=v3 rate=50r/10s search_rate=2r/s daily=250000 timeout=5s ca_file=/etc/ssl/certs/ca-certificates.crt hub=12345678;
    crmsync_retry_for 1h;
    crmsync_audit_for 2d;
    crmsync_batch_linger 0;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_portal eu;
        crmsync_set lifecyclestage lead;
        crmsync_set hs_lead_status $arg_s;
    }
    location = /status {
        crmsync_status;
    }
--- request eval
main::several(['msg_b', '/hooks/std?s=NEW'], "GET /status")
--- more_headers eval
[@main::H]
--- error_code eval
[200, 200]
--- response_body_like eval
[$main::Stored,
 qr/"portals":\{"eu":\{"auth":"ok",[^{}]*"budget":50,[^{}]*\}\},"locations":\{"\/hooks\/std":\{"received":1,"stored":1,"duplicate":0,/]
--- no_error_log
[alert]
[crit]



=== TEST 3: two portals: the unnamed one is the default, crmsync_portal in server is inherited, a location sets its own; the api date and sync=full
--- http_config
    crmsync_zone crmsync:1m;
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db sync=full keep_deliveries=3d;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token api=2026-03;
    crmsync_hubspot name=eu url=https://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token-eu rate=7r/10s;
    crmsync_hubspot name=us url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token-eu rate=9r/10s;
--- config
    crmsync_portal us;
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
    location = /hooks/std2 {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_portal eu;
    }
    location = /status {
        crmsync_status;
    }
--- user_files
>>> token
pat-na1-default
>>> token-eu
# the EU app
pat-eu1-token
--- request eval
main::several(['msg_c'], ['msg_c2', '/hooks/std2'], "GET /status")
--- more_headers eval
[@main::H]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[$main::Stored, $main::Stored,
 qr/"portals":\{"default":\{[^{}]*"budget":100,[^{}]*\},"eu":\{[^{}]*"budget":7,[^{}]*\},"us":\{[^{}]*"budget":9,[^{}]*\}\},"locations":\{"\/hooks\/std":\{"received":1,"stored":1,"duplicate":0,"refused":\{\}\},"\/hooks\/std2":\{"received":1,"stored":1,"duplicate":0,"refused":\{\}\}\}\}\n\z/]



=== TEST 4: crmsync_status ?format=prometheus: text with HELP and TYPE lines for every metric
--- http_config
    crmsync_zone crmsync:1m;
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
    location = /status {
        crmsync_status;
    }
--- request
GET /status?format=prometheus
--- error_code: 200
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
--- response_body_like eval
qr/\A(?=[\s\S]*^# TYPE crmsync_store_commits_total counter\ncrmsync_store_commits_total 0$)(?=[\s\S]*^# TYPE crmsync_jobs_by_kind gauge\n(?:crmsync_jobs_by_kind\{kind="\w+",state="\w+"\} 0\n){30}# HELP)(?=[\s\S]*^# TYPE crmsync_hubspot_auth_ok gauge\ncrmsync_hubspot_auth_ok\{portal="default"\} 1$)(?=[\s\S]*^crmsync_webhook_events_stored_total\{location="\/hooks\/std"\} 0$)# HELP crmsync_\w+ [^\n]+\n# TYPE crmsync_\w+ (?:gauge|counter)\n(?:(?:# HELP crmsync_\w+ [^\n]+|# TYPE crmsync_\w+ (?:gauge|counter)|crmsync_\w+(?:\{[^\n]*\})? [\d.]+)\n)+\z/m



=== TEST 5: crmsync_status: format=json is the default's JSON, an unknown format is refused with 400
--- http_config
    crmsync_zone crmsync:1m;
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /status {
        crmsync_status;
    }
--- request eval
["GET /status?format=json", "GET /status?format=bogus", "GET /status?format=Prometheus"]
--- error_code eval
[200, 400, 400]
--- response_body_like eval
[qr/^\{"queue":\{[^{}]*\},"kinds":\{(?:"\w+":\{[^{}]*\},?){6}\},"store":\{"commits":0,"requests_committed":0\},"portals":\{"default":\{[^{}]*\}\},"locations":\{\}\}\n\z/,
 $main::UnknownFormat, $main::UnknownFormat]



=== TEST 6: crmsync_status without crmsync_zone answers 404; a POST is not allowed
--- config
    location = /status {
        crmsync_status;
    }
--- request eval
["GET /status", "POST /status\n{}"]
--- error_code eval
[404, 405]
--- response_body_like eval
[main::exactly('{"status":"error","reason":"no_crmsync_zone"}' . "\n"), qr/405 Not Allowed/]



=== TEST 7: crmsync_batch_linger, crmsync_retry_for, crmsync_audit_for and crmsync_index_lag take times in any unit
--- http_config
    crmsync_zone crmsync:1m;
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
    crmsync_batch_linger 50ms;
    crmsync_index_lag 2m;
    crmsync_retry_for 30d;
    crmsync_audit_for 90d;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- request eval
main::several(['msg_d'])
--- more_headers eval
[@main::H]
--- error_code eval
[200]
--- response_body_like eval
[$main::Stored]



=== TEST 8: a contact with an email is synced to a closed port at once (crmsync_batch_linger 0): the call fails, its job waits for a retry, nothing crashes
--- http_config
    crmsync_zone crmsync:1m;
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
    crmsync_batch_linger 0;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- request eval
main::several(['msg_e', undef, '{"type":"contact.created","data":{"id":"c9","email":"ana@example.com"}}'])
--- more_headers eval
[@main::H]
--- error_code eval
[200]
--- response_body_like eval
[$main::Stored]
--- wait: 5
--- error_log eval
qr/\[warn\] [^\n]*crmsync: portal "default": POST \S+ failed: [^\n]*, 1 jobs will be retried/
--- no_error_log
[alert]
[crit]



=== TEST 9: crmsync_store: no argument
--- http_config
    crmsync_store;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_store" directive')



=== TEST 10: crmsync_store: sync=maybe
--- http_config
    crmsync_store /p sync=maybe;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "sync=maybe" in "crmsync_store": sync=full, sync=normal or keep_deliveries= is expected')



=== TEST 11: crmsync_store: keep_deliveries=abc
--- http_config
    crmsync_store /p keep_deliveries=abc;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid "keep_deliveries=abc" in "crmsync_store": a time such as 3d is expected')



=== TEST 12: crmsync_store: keep_deliveries=0
--- http_config
    crmsync_store /p keep_deliveries=0;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid "keep_deliveries=0" in "crmsync_store"')



=== TEST 13: crmsync_store: duplicate
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_store /q;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_store" directive is duplicate')



=== TEST 14: crmsync_store: not in server context
--- http_config
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_store" directive is not allowed here')



=== TEST 15: crmsync_store without crmsync_zone
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_store" needs "crmsync_zone"')



=== TEST 16: crmsync_store without a portal
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_store" needs a HubSpot portal: add "crmsync_hubspot token_file=..."')




=== TEST 17: crmsync_zone x:1k is too small
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone x:1k;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('zone "x" of "crmsync_zone" is too small: at least 64k is needed')



=== TEST 18: crmsync_zone: no size
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid zone "crmsync" in "crmsync_zone": <name>:<size> is expected')



=== TEST 19: crmsync_zone: no name
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone :1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid zone ":1m" in "crmsync_zone"')



=== TEST 20: crmsync_zone: a size that is not one
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone x:big;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid zone size "x:big" in "crmsync_zone"')



=== TEST 21: crmsync_zone: duplicate
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_zone other:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_zone" directive is duplicate')



=== TEST 22: crmsync_zone: not in location context
--- store_http
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_zone y:1m;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_zone" directive is not allowed here')



=== TEST 23: crmsync_hubspot: the token file is empty
--- store_http
--- config
    location = /t { return 204; }
--- user_files
>>> token
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*token file "[^"]*\/html\/token" of "crmsync_hubspot" holds no token/



=== TEST 24: crmsync_hubspot: the token file holds only comments and blank lines
--- store_http
--- config
    location = /t { return 204; }
--- user_files
>>> token
# none yet

--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*token file "[^"]*\/html\/token" of "crmsync_hubspot" holds no token/



=== TEST 25: crmsync_hubspot: the token file is missing
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/nope;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*cannot read the token file of "crmsync_hubspot": open\(\) "[^"]*\/html\/nope" failed \(2: No such file or directory\)/



=== TEST 26: crmsync_hubspot: the token has a space, and it is not printed
--- store_http
--- config
    location = /t { return 204; }
--- user_files
>>> token
pat-na1 secret-part
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*token file "[^"]*\/html\/token" of "crmsync_hubspot" holds a token with spaces or control characters/
--- no_error_log
secret-part



=== TEST 27: crmsync_hubspot: no token_file
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_hubspot" needs token_file=<path>')



=== TEST 28: crmsync_hubspot twice without name=
--- store_http
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('duplicate portal "" in "crmsync_hubspot": only one may go without name=')



=== TEST 29: crmsync_hubspot: the same name twice
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token name=eu;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token name=eu;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('duplicate portal "eu" in "crmsync_hubspot"')



=== TEST 30: crmsync_hubspot: name=default is refused
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token name=default;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "name=default" in "crmsync_hubspot"')



=== TEST 31: crmsync_hubspot: an empty name
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token name=;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "name=" in "crmsync_hubspot"')



=== TEST 32: crmsync_hubspot: a name of 64 characters is too long
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token name=nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "name=nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn" in "crmsync_hubspot"')



=== TEST 32b: crmsync_hubspot: a hub id is digits
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token hub=12ab;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "hub=12ab" in "crmsync_hubspot"')



=== TEST 33: crmsync_hubspot: rate=0r/10s
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token rate=0r/10s;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "rate=0r/10s" in "crmsync_hubspot"')



=== TEST 34: crmsync_hubspot: rate over 100000
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token rate=100001r/10s;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "rate=100001r/10s" in "crmsync_hubspot"')



=== TEST 35: crmsync_hubspot: rate without a window
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token rate=100;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "rate=100" in "crmsync_hubspot"')



=== TEST 36: crmsync_hubspot: search_rate per 10 seconds is refused (per second only)
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token search_rate=4r/10s;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "search_rate=4r/10s" in "crmsync_hubspot"')



=== TEST 37: crmsync_hubspot: api=v4
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token api=v4;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid "api=v4" in "crmsync_hubspot": a dated version such as api=2026-03, or api=v3 for the legacy paths, is expected')



=== TEST 38: crmsync_hubspot: api=2026-13
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token api=2026-13;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid "api=2026-13" in "crmsync_hubspot"')



=== TEST 39: crmsync_hubspot: url=ftp://x
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=ftp://x token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "url=ftp://x" in "crmsync_hubspot"')



=== TEST 40: crmsync_hubspot: url=http:// has no host
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http:// token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "url=http://" in "crmsync_hubspot"')



=== TEST 41: crmsync_hubspot: url=https:/// has no host either
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=https:/// token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "url=https:///" in "crmsync_hubspot"')



=== TEST 42: crmsync_hubspot: daily=0
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token daily=0;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "daily=0" in "crmsync_hubspot"')



=== TEST 43: crmsync_hubspot: timeout=soon
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token timeout=soon;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "timeout=soon" in "crmsync_hubspot"')



=== TEST 44: crmsync_hubspot: an unknown parameter
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token region=eu;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "region=eu" in "crmsync_hubspot"')



=== TEST 45: crmsync_hubspot: a word without =
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token fast;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid parameter "fast" in "crmsync_hubspot"')



=== TEST 46: crmsync_hubspot: ca_file that does not exist
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token ca_file=$TEST_NGINX_SERVER_ROOT/html/nope.pem;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*ca_file "[^"]*\/html\/nope.pem" of "crmsync_hubspot"/



=== TEST 47: crmsync_hubspot without crmsync_store
--- http_config
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_hubspot" needs "crmsync_store"')



=== TEST 48: crmsync_hubspot: not in server context
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
--- config
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
--- must_die
--- error_log eval
main::emerg('"crmsync_hubspot" directive is not allowed here')



=== TEST 49: crmsync_retry_for 0 is refused
--- store_http
    crmsync_retry_for 0;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_retry_for" directive must be more than 0')



=== TEST 50: crmsync_audit_for 0 is refused
--- store_http
    crmsync_audit_for 0;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_audit_for" directive must be more than 0')



=== TEST 51: crmsync_retry_for: not a time
--- store_http
    crmsync_retry_for soon;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_retry_for" directive invalid value')



=== TEST 51b: crmsync_index_lag 0 is refused
--- store_http
    crmsync_index_lag 0;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_index_lag" directive must be more than 0')



=== TEST 51c: crmsync_index_lag: not a time
--- store_http
    crmsync_index_lag a-minute;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_index_lag" directive invalid value')



=== TEST 52: crmsync_retry_for: duplicate
--- store_http
    crmsync_retry_for 1s;
    crmsync_retry_for 2s;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_retry_for" directive is duplicate')



=== TEST 53: crmsync_audit_for: not a time
--- store_http
    crmsync_audit_for soon;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_audit_for" directive invalid value')



=== TEST 54: crmsync_audit_for: duplicate
--- store_http
    crmsync_audit_for 1s;
    crmsync_audit_for 2s;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_audit_for" directive is duplicate')



=== TEST 55: crmsync_batch_linger: not a time
--- store_http
    crmsync_batch_linger soon;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_batch_linger" directive invalid value')



=== TEST 56: crmsync_batch_linger: duplicate
--- store_http
    crmsync_batch_linger 1s;
    crmsync_batch_linger 2s;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_batch_linger" directive is duplicate')



=== TEST 57: crmsync_portal nosuch
--- store_http
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_portal nosuch;
    }
--- must_die
--- error_log eval
main::emerg('unknown portal "nosuch" in "crmsync_portal" of location "/hooks/std": no "crmsync_hubspot name=nosuch"')



=== TEST 58: crmsync_portal nosuch at http level reaches the webhook location
--- store_http
    crmsync_portal nosuch;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- must_die
--- error_log eval
main::emerg('unknown portal "nosuch" in "crmsync_portal" of location "/hooks/std"')



=== TEST 59: a webhook location with a store and only named portals needs crmsync_portal
--- http_config
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token name=eu;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- must_die
--- error_log eval
main::emerg('location "/hooks/std" has no portal: add "crmsync_portal <name>;" or a "crmsync_hubspot" without name=')



=== TEST 60: crmsync_portal in a webhook location without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_portal eu;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_portal" in location "/hooks/std" needs "crmsync_store"')



=== TEST 61: crmsync_portal: duplicate
--- store_http
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_portal a;
        crmsync_portal b;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_portal" directive is duplicate')



=== TEST 62: crmsync_set Bad-Name v
--- store_http
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set Bad-Name v;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "Bad-Name" in "crmsync_set": HubSpot\'s internal name is expected (lower case, digits and \'_\')')



=== TEST 63: crmsync_set email: the email comes from the event
--- store_http
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set email $arg_email;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_set email" is not allowed: the email comes from the event, and contacts are matched on it')



=== TEST 64: crmsync_set: an empty property
--- store_http
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set "" v;
    }
--- must_die
--- error_log eval
main::emerg('invalid property "" in "crmsync_set"')



=== TEST 65: crmsync_set: one argument
--- store_http
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set lifecyclestage;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_set" directive')



=== TEST 66: crmsync_set: an unknown variable
--- store_http
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set lifecyclestage $no_such_var;
    }
--- must_die
--- error_log eval
main::emerg('unknown "no_such_var" variable')



=== TEST 67: crmsync_set in a webhook location without crmsync_store
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_set lifecyclestage lead;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_set" in location "/hooks/std" needs "crmsync_store"')



=== TEST 68: crmsync_set: not in server context
--- store_http
--- config
    crmsync_set lifecyclestage lead;
--- must_die
--- error_log eval
main::emerg('"crmsync_set" directive is not allowed here')



=== TEST 69: crmsync_status takes no argument
--- config
    location = /status {
        crmsync_status json;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_status" directive')



=== TEST 70: crmsync_status: not in server context
--- config
    crmsync_status;
--- must_die
--- error_log eval
main::emerg('"crmsync_status" directive is not allowed here')



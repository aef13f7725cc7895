# Every crmsync directive with good and bad values: the configuration
# errors (the exact message and its level), and, for good values, a
# request that shows the value takes effect.  crmsync_webhook's own
# errors are in t/000-webhook-basics.t.  A reload that re-reads
# crmsync_secret_file is not tested here (it needs a running master).

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;
use File::Temp qw(tempdir);

# secret files with exact modes, outside the servroot the harness rebuilds
our $Dir = tempdir('crmsync-secrets-XXXXXX', TMPDIR => 1, CLEANUP => 1);
$ENV{TEST_NGINX_SECRETS} = $Dir;

sub put {
    my ($name, $mode, $text) = @_;
    open my $fh, '>', "$Dir/$name" or die "$Dir/$name: $!";
    print $fh $text;
    close $fh;
    chmod $mode, "$Dir/$name" or die $!;
}

put('private', 0600, "# rotated 2026-11\r\nrio-key-old\r\n\r\n\t rio-key-new \t\r\n");
put('public', 0644, "rio-key-new\n");
put('empty', 0600, '');
put('comments', 0600, "# none yet\n\n   \n#rio-key-new\n");
put('huge', 0600, ('x' x 65536) . "\n");
mkdir "$Dir/adir" or die $!;
put('std-bad', 0600, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\nnot base64!\n");

our $StdSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

# a configuration error: the level and the message on one line
sub emerg { my $m = shift; return qr/\[emerg\] [^\n]*\Q$m\E/ }

# a respond.io POST signed with $key (no timestamp involved)
our $H;
sub rio {
    my ($body, $key, $uri) = @_;
    $H = "x-webhook-signature: " . respondio_sig($key, $body)
         . "\nContent-Type: application/json";
    return "POST " . ($uri // '/hooks/rio') . "\n$body";
}

# a Standard Webhooks POST signed now minus $age seconds
sub std {
    my ($age, $uri) = @_;
    my $body = '{"type":"contact.created","data":{"id":"c1"}}';
    my $ts = time - $age;
    $H = "webhook-id: msg_1\nwebhook-timestamp: $ts\nwebhook-signature: "
         . standard_sig($StdSecret, 'msg_1', $ts, $body)
         . "\nContent-Type: application/json";
    return "POST " . ($uri // '/hooks/std') . "\n$body";
}

sub several {
    my (@reqs, @hdrs);
    for my $r (@_) {
        my ($f, @args) = @$r;
        push @reqs, $f->(@args);
        push @hdrs, $H;
    }
    $H = \@hdrs;
    return \@reqs;
}

our $Contact = '{"event_type":"contact.updated","event_id":"e1","contact":{"id":1,"phone":"0151 23456789"}}';

# timestamps are computed when the block runs, not when the file is read
Test::Base::filters_delay(1);

# the timestamps are computed before nginx starts: under valgrind, which
# starts it seconds later, a block marked "timing" (windows of a few
# seconds) only checks that the configuration loads and its location
# answers: one unsigned delivery, refused (a block without a request is
# one Test::Nginx refuses)
add_block_preprocessor(sub {
    my $block = shift;
    $block->run_filters unless $block->is_filtered;
    if ($ENV{TEST_NGINX_USE_VALGRIND} && exists $block->{timing}) {
        $block->set_value(request => "POST /hooks/std\n{}");
        $block->set_value(more_headers => 'Content-Type: application/json');
        $block->set_value(error_code => 401);
        delete $block->{$_} for qw(response_body error_log no_error_log);
    }
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: crmsync_webhook: no argument
--- config
    location = /hooks/t {
        crmsync_webhook;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_webhook" directive')



=== TEST 2: a webhook location without any secret fails, naming the location
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_webhook whatsapp" in location "/hooks/wa" needs "crmsync_secret" or "crmsync_secret_file"')



=== TEST 3: crmsync_secret: empty is refused
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret "";
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_secret" directive takes a non-empty secret')



=== TEST 4: crmsync_secret: two arguments are refused
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret a b;
    }
--- must_die
--- error_log eval
main::emerg('invalid number of arguments in "crmsync_secret" directive')



=== TEST 5: crmsync_secret: not in server context
--- config
    crmsync_secret s3cret;
--- must_die
--- error_log eval
main::emerg('"crmsync_secret" directive is not allowed here')



=== TEST 6: crmsync_secret for standard: the second secret is not base64, named by number, never printed
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_secret whsec_not*base64;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_secret" #2 of location "/hooks/std" is not "whsec_" followed by base64 (at most 256 characters) for provider "standard"')
--- no_error_log
not*base64
MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw



=== TEST 7: crmsync_secret for standard: "whsec_" alone is refused
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_secret" #1 of location "/hooks/std" is not "whsec_" followed by base64')



=== TEST 8: crmsync_secret for telegram: characters outside the token charset
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret "tok en";
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_secret" #1 of location "/hooks/tg" has characters other than A-Z a-z 0-9 _ - for provider "telegram"')



=== TEST 9: crmsync_secret for telegram: longer than 256 characters; 256 is fine elsewhere
--- config eval
"    location = /hooks/tg {\n        crmsync_webhook telegram;\n        crmsync_secret " . ('a' x 257) . ";\n    }\n"
--- must_die
--- error_log eval
main::emerg('"crmsync_secret" #1 of location "/hooks/tg" is longer than 256 characters for provider "telegram"')



=== TEST 10: crmsync_secret: the same secret is fine for a provider with no format (any bytes)
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret "tok en*";
    }
--- request eval
main::rio('{"event_type":"contact.updated","event_id":"e1","contact":{"id":1}}', 'tok en*')
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 11: crmsync_secret is inherited from an enclosing location; a nested one replaces it
--- config
    location /hooks/ {
        crmsync_secret outer-key;
        location = /hooks/rio {
            crmsync_webhook respondio;
        }
        location = /hooks/rio2 {
            crmsync_webhook respondio;
            crmsync_secret inner-key;
        }
    }
--- request eval
main::several([\&main::rio, $main::Contact, 'outer-key'],
              [\&main::rio, $main::Contact, 'outer-key', '/hooks/rio2'],
              [\&main::rio, $main::Contact, 'inner-key', '/hooks/rio2'])
--- more_headers eval
$main::H
--- error_code eval
[200, 401, 200]



=== TEST 12: crmsync_secret_file: CRLF lines, comments, blanks and spaces skipped; any listed secret verifies; no warning for mode 0600
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret_file $TEST_NGINX_SECRETS/private;
    }
--- request eval
main::several([\&main::rio, $main::Contact, 'rio-key-old'],
              [\&main::rio, $main::Contact, 'rio-key-new'],
              [\&main::rio, $main::Contact, '# rotated 2026-11'],
              [\&main::rio, $main::Contact, "\t rio-key-new \t"])
--- more_headers eval
$main::H
--- error_code eval
[200, 200, 401, 401]
--- no_error_log
readable by anyone
rio-key



=== TEST 13: crmsync_secret_file: a file anyone can read is used, with a warning that does not print the secret
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret_file $TEST_NGINX_SECRETS/public;
    }
--- request eval
main::rio($main::Contact, 'rio-key-new')
--- more_headers eval
$main::H
--- error_code: 200
--- error_log eval
qr/\[warn\] [^\n]*secret file "[^"]*\/public" of "crmsync_secret_file" is readable by anyone/
--- no_error_log
rio-key-new



=== TEST 14: crmsync_secret_file: a missing file fails
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret_file $TEST_NGINX_SECRETS/nope;
    }
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*cannot read the secret file of "crmsync_secret_file": open\(\) "[^"]*\/nope" failed \(2: No such file or directory\)/



=== TEST 15: crmsync_secret_file: an empty file fails
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret_file $TEST_NGINX_SECRETS/empty;
    }
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*secret file "[^"]*\/empty" of "crmsync_secret_file" holds no secret/



=== TEST 16: crmsync_secret_file: only comments and blanks fails
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret_file $TEST_NGINX_SECRETS/comments;
    }
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*secret file "[^"]*\/comments" of "crmsync_secret_file" holds no secret/



=== TEST 17: crmsync_secret_file: over 65536 bytes fails
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret_file $TEST_NGINX_SECRETS/huge;
    }
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*secret file "[^"]*\/huge" of "crmsync_secret_file" is over 65536 bytes/



=== TEST 18: crmsync_secret_file: each secret of the file is checked for the provider, and not printed
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret_file $TEST_NGINX_SECRETS/std-bad;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_secret" #2 of location "/hooks/std" is not "whsec_" followed by base64 (at most 256 characters) for provider "standard"')
--- no_error_log
not base64!



=== TEST 19: crmsync_secret and crmsync_secret_file add up
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret inline-key;
        crmsync_secret_file $TEST_NGINX_SECRETS/private;
    }
--- request eval
main::several([\&main::rio, $main::Contact, 'inline-key'],
              [\&main::rio, $main::Contact, 'rio-key-old'])
--- more_headers eval
$main::H
--- error_code eval
[200, 200]



=== TEST 20: crmsync_verify_token: the handshake answers for it; another token is refused
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret wa-secret;
        crmsync_verify_token tok-123;
    }
--- request eval
["GET /hooks/wa?hub.mode=subscribe&hub.verify_token=tok-123&hub.challenge=42",
 "GET /hooks/wa?hub.mode=subscribe&hub.verify_token=tok-12&hub.challenge=42"]
--- error_code eval
[200, 403]
--- response_body eval
["42", '{"status":"rejected","reason":"verify_token_mismatch"}' . "\n"]



=== TEST 21: crmsync_verify_token "": no handshake ever succeeds, not even with an empty token
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret wa-secret;
        crmsync_verify_token "";
    }
--- request eval
["GET /hooks/wa?hub.mode=subscribe&hub.verify_token=&hub.challenge=42",
 "GET /hooks/wa?hub.mode=subscribe&hub.challenge=42"]
--- error_code eval
[403, 403]
--- response_body eval
[('{"status":"rejected","reason":"verify_token_mismatch"}' . "\n") x 2]



=== TEST 22: crmsync_verify_token: duplicate
--- config
    location = /hooks/wa {
        crmsync_webhook whatsapp;
        crmsync_secret wa-secret;
        crmsync_verify_token a;
        crmsync_verify_token b;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_verify_token" directive is duplicate')



=== TEST 23: crmsync_verify_token: not in server context
--- config
    crmsync_verify_token a;
--- must_die
--- error_log eval
main::emerg('"crmsync_verify_token" directive is not allowed here')



=== TEST 24: crmsync_public_url with variables is the URL verified; set in server, inherited by the location
--- config
    crmsync_public_url https://edge.example.com$uri?via=$arg_x;
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret hs-secret;
    }
--- request eval
my $b = '[{"eventId":1,"subscriptionType":"contact.creation","objectId":5,"occurredAt":1700000000000}]';
my $ts = int(time * 1000);
$main::H = "X-HubSpot-Signature-v3: "
  . hubspot_v3_sig('hs-secret', 'POST', 'https://edge.example.com/hooks/hs?via=7', $b, $ts)
  . "\nX-HubSpot-Request-Timestamp: $ts\nContent-Type: application/json";
"POST /hooks/hs?x=7\n$b"
--- more_headers eval
$main::H
--- error_code: 200
--- response_body
{"status":"accepted","events":1}



=== TEST 25: crmsync_public_url: an unknown variable fails
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret hs-secret;
        crmsync_public_url https://x.example.com$no_such_var;
    }
--- must_die
--- error_log eval
main::emerg('unknown "no_such_var" variable')



=== TEST 26: crmsync_public_url: not in http context
--- http_config
    crmsync_public_url https://x.example.com/;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_public_url" directive is not allowed here')



=== TEST 27: crmsync_public_url: duplicate
--- config
    location = /hooks/hs {
        crmsync_webhook hubspot;
        crmsync_secret hs-secret;
        crmsync_public_url https://a.example.com/;
        crmsync_public_url https://b.example.com/;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_public_url" directive is duplicate')



=== TEST 28: crmsync_replay_window 3s: a 6-second-old and a 6-second-ahead timestamp are stale, a current one is not (the margins let nginx start up to 3 s after signing)
--- timing
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_replay_window 3s;
    }
--- request eval
main::several([\&main::std, 6], [\&main::std, -6], [\&main::std, 0])
--- more_headers eval
$main::H
--- error_code eval
[401, 401, 200]
--- response_body eval
['{"status":"rejected","reason":"timestamp_stale"}' . "\n",
 '{"status":"rejected","reason":"timestamp_stale"}' . "\n",
 '{"status":"accepted","events":1}' . "\n"]



=== TEST 29: crmsync_replay_window 24h (the maximum) accepts 23 hours, refuses 25
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_replay_window 24h;
    }
--- request eval
main::several([\&main::std, 23 * 3600], [\&main::std, 25 * 3600])
--- more_headers eval
$main::H
--- error_code eval
[200, 401]



=== TEST 30: crmsync_replay_window at http level is inherited
--- http_config
    crmsync_replay_window 10m;
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- request eval
main::several([\&main::std, 360], [\&main::std, 660])
--- more_headers eval
$main::H
--- error_code eval
[200, 401]



=== TEST 31: the default window is 5 minutes
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
--- request eval
main::several([\&main::std, 290], [\&main::std, 310])
--- more_headers eval
$main::H
--- error_code eval
[200, 401]



=== TEST 32: crmsync_replay_window 0 is refused
--- config
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_replay_window 0;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_replay_window" directive must be between 1s and 24h')



=== TEST 33: crmsync_replay_window 25h is refused
--- http_config
    crmsync_replay_window 25h;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_replay_window" directive must be between 1s and 24h')



=== TEST 34: crmsync_replay_window with a value that is not a time
--- config
    crmsync_replay_window soon;
--- must_die
--- error_log eval
main::emerg('"crmsync_replay_window" directive invalid value')



=== TEST 35: crmsync_replay_window: duplicate
--- config
    crmsync_replay_window 1m;
    crmsync_replay_window 2m;
--- must_die
--- error_log eval
main::emerg('"crmsync_replay_window" directive is duplicate')



=== TEST 36: crmsync_log_level error: refusals are logged at [error], not at warn
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_log_level error;
    }
--- request eval
main::rio($main::Contact, 'other-key')
--- more_headers eval
$main::H
--- error_code: 401
--- error_log eval
qr/\[error\] [^\n]*crmsync: respondio webhook rejected with 401: signature_mismatch/
--- no_error_log
[warn]
rio-key



=== TEST 37: crmsync_log_level notice
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_log_level notice;
    }
    location = /hooks/rio2 {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_log_level info;
    }
--- request eval
main::rio('{', 'rio-key')
--- more_headers eval
$main::H
--- error_code: 400
--- error_log eval
qr/\[notice\] [^\n]*crmsync: respondio webhook rejected with 400: bad_json/
--- no_error_log
[warn]
[error]



=== TEST 38: crmsync_log_level info, beside a location at notice
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_log_level notice;
    }
    location = /hooks/rio2 {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_log_level info;
    }
--- request eval
main::rio('[]', 'rio-key', '/hooks/rio2')
--- more_headers eval
$main::H
--- error_code: 422
--- error_log eval
qr/\[info\] [^\n]*crmsync: respondio webhook rejected with 422: not_an_object/
--- no_error_log
[warn]
[error]



=== TEST 39: crmsync_log_level at http level is inherited into locations
--- http_config
    crmsync_log_level error;
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
    }
    location = /hooks/rio2 {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_log_level info;
    }
--- request eval
main::rio($main::Contact, 'other-key')
--- more_headers eval
$main::H
--- error_code: 401
--- error_log eval
qr/\[error\] [^\n]*crmsync: respondio webhook rejected with 401: signature_mismatch[^\n]*"POST \/hooks\/rio /
--- no_error_log
[warn]



=== TEST 40: a location may set its own crmsync_log_level over the http level
--- http_config
    crmsync_log_level error;
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
    }
    location = /hooks/rio2 {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_log_level info;
    }
--- request eval
main::rio($main::Contact, 'other-key', '/hooks/rio2')
--- more_headers eval
$main::H
--- error_code: 401
--- error_log eval
qr/\[info\] [^\n]*crmsync: respondio webhook rejected with 401: signature_mismatch[^\n]*"POST \/hooks\/rio2 /
--- no_error_log
[warn]



=== TEST 41: the default level is warn
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
    }
--- request eval
main::rio($main::Contact, 'other-key')
--- more_headers eval
$main::H
--- error_code: 401
--- error_log eval
qr/\[warn\] [^\n]*crmsync: respondio webhook rejected with 401: signature_mismatch/
--- no_error_log
rio-key



=== TEST 42: crmsync_log_level debug is not one of the levels
--- config
    crmsync_log_level debug;
--- must_die
--- error_log eval
main::emerg('invalid value "debug"')



=== TEST 43: crmsync_log_level: duplicate
--- http_config
    crmsync_log_level info;
    crmsync_log_level error;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('"crmsync_log_level" directive is duplicate')



=== TEST 44: crmsync_default_region de: a national number becomes +49...
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_default_region de;
        add_header X-Phone $crmsync_phone always;
    }
--- request eval
main::rio($main::Contact, 'rio-key')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Phone: +4915123456789



=== TEST 45: no crmsync_default_region: the same national number gives no phone
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        add_header X-Phone $crmsync_phone always;
        add_header X-Events $crmsync_events always;
    }
--- request eval
main::rio($main::Contact, 'rio-key')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Events: 1
!X-Phone



=== TEST 46: crmsync_default_region at http level is inherited into a location
--- http_config
    crmsync_default_region DE;
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        add_header X-Phone $crmsync_phone always;
    }
--- request eval
main::rio($main::Contact, 'rio-key')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Phone: +4915123456789



=== TEST 47: crmsync_default_region AT in a location wins over DE from http: the digits are read as Austrian
--- http_config
    crmsync_default_region DE;
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret rio-key;
        crmsync_default_region AT;
        add_header X-Phone $crmsync_phone always;
    }
--- request eval
main::rio('{"event_type":"contact.updated","event_id":"e1","contact":{"id":1,"phone":"0664 1234567"}}', 'rio-key')
--- more_headers eval
$main::H
--- error_code: 200
--- response_headers
X-Phone: +436641234567



=== TEST 48: crmsync_default_region: an unknown code
--- config
    crmsync_default_region ZZ;
--- must_die
--- error_log eval
main::emerg('invalid region "ZZ" in "crmsync_default_region" directive: an ISO 3166 code with a calling code is expected, such as US, GB, DE or BR')



=== TEST 49: crmsync_default_region: an ISO 3166 code without a calling code (Antarctica)
--- config
    location = /t {
        crmsync_default_region AQ;
    }
--- must_die
--- error_log eval
main::emerg('invalid region "AQ" in "crmsync_default_region" directive')



=== TEST 50: crmsync_default_region: three letters, and a calling code, are not regions
--- http_config
    crmsync_default_region DEU;
--- config
    location = /t { return 204; }
--- must_die
--- error_log eval
main::emerg('invalid region "DEU" in "crmsync_default_region" directive')



=== TEST 51: crmsync_default_region: "49" is not a region
--- config
    crmsync_default_region 49;
--- must_die
--- error_log eval
main::emerg('invalid region "49" in "crmsync_default_region" directive')



=== TEST 52: crmsync_default_region: duplicate
--- config
    location = /t {
        crmsync_default_region DE;
        crmsync_default_region de;
    }
--- must_die
--- error_log eval
main::emerg('"crmsync_default_region" directive is duplicate')



=== TEST 53: crmsync_secret_file: a directory is refused, naming the file
--- config
    location = /hooks/rio {
        crmsync_webhook respondio;
        crmsync_secret_file $TEST_NGINX_SECRETS/adir;
    }
--- must_die
--- error_log eval
qr/\[emerg\] [^\n]*secret file "[^"]*\/adir" of "crmsync_secret_file" is not a regular file in \S+nginx.conf:\d+/



=== TEST 54: crmsync_replay_window in server overrides http, and a location overrides server
--- http_config
    crmsync_replay_window 1s;
--- timing
--- config
    crmsync_replay_window 10m;
    location = /hooks/std {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
    }
    location = /hooks/std2 {
        crmsync_webhook standard;
        crmsync_secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw;
        crmsync_replay_window 5s;
    }
--- request eval
main::several([\&main::std, 360], [\&main::std, 60, '/hooks/std2'], [\&main::std, 1, '/hooks/std2'])
--- more_headers eval
$main::H
--- error_code eval
[200, 401, 200]

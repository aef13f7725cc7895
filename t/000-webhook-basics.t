# crmsync_webhook: the location handler, its methods, its body limits and
# its configuration errors.

use Test::Nginx::Socket 'no_plan';

repeat_each(2);
no_shuffle();

run_tests();

__DATA__

=== TEST 1: a POST is read whole and answered with JSON
--- config
    location = /hooks/t {
        crmsync_webhook telegram;
        crmsync_secret s3cret;
    }
--- request
POST /hooks/t
{"update_id":1}
--- more_headers
Content-Type: application/json
X-Telegram-Bot-Api-Secret-Token: s3cret
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like: "status":"
--- no_error_log
[error]
[alert]



=== TEST 2: GET is refused with 405, Allow and a JSON reason
--- config
    location = /hooks/t {
        crmsync_webhook intercom;
        crmsync_secret s3cret;
    }
--- request
GET /hooks/t
--- error_code: 405
--- response_headers
Allow: POST
Content-Type: application/json
--- response_body
{"status":"rejected","reason":"method_not_allowed"}
--- no_error_log
[alert]



=== TEST 3: PUT is refused with 405 too, its body discarded
--- config
    location = /hooks/t {
        crmsync_webhook intercom;
        crmsync_secret s3cret;
    }
--- request
PUT /hooks/t
{"a":1}
--- error_code: 405
--- response_headers
Allow: POST
--- response_body
{"status":"rejected","reason":"method_not_allowed"}



=== TEST 4: a body over client_max_body_size is refused with 413 in JSON
--- config
    location = /hooks/t {
        client_max_body_size 100;
        crmsync_webhook intercom;
        crmsync_secret s3cret;
    }
--- request eval
"POST /hooks/t\n" . ('x' x 101)
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- error_log
client intended to send too large body: 101 bytes
--- no_error_log
[alert]



=== TEST 5: a chunked body over client_max_body_size is refused with 413
--- config
    location = /hooks/t {
        client_max_body_size 100;
        crmsync_webhook intercom;
        crmsync_secret s3cret;
    }
--- more_headers
Transfer-Encoding: chunked
Content-Type: application/json
--- request eval
"POST /hooks/t\n" . "96\r\n" . ('x' x 150) . "\r\n0\r\n\r\n"
--- error_code: 413
--- response_body
{"status":"rejected","reason":"body_too_large"}
--- no_error_log
[alert]



=== TEST 6: a body at the limit that spills to a temp file is read whole
--- config
    location = /hooks/t {
        client_max_body_size 20k;
        client_body_buffer_size 1k;
        crmsync_webhook telegram;
        crmsync_secret s3cret;
    }
--- more_headers
Content-Type: application/json
X-Telegram-Bot-Api-Secret-Token: s3cret
--- request eval
"POST /hooks/t\n{\"update_id\":7,\"pad\":\"" . ('y' x 20440) . "\"}"
--- error_code: 200
--- response_body_like: "status":"(ignored|accepted)"
--- no_error_log
[error]
[alert]



=== TEST 7: an unknown provider fails the configuration, naming the choices
--- config
    location = /hooks/t {
        crmsync_webhook whatsap;
    }
--- must_die
--- error_log
[emerg]
unknown provider "whatsap" in "crmsync_webhook" directive, valid providers are: whatsapp, messenger, instagram, intercom, telegram, twilio, respondio, standard, hubspot



=== TEST 8: the directive twice in one location is refused
--- config
    location = /hooks/t {
        crmsync_webhook whatsapp;
        crmsync_webhook telegram;
        crmsync_secret s3cret;
    }
--- must_die
--- error_log
"crmsync_webhook" directive is duplicate



=== TEST 9: the directive takes exactly one provider
--- config
    location = /hooks/t {
        crmsync_webhook whatsapp telegram;
    }
--- must_die
--- error_log
invalid number of arguments in "crmsync_webhook" directive



=== TEST 10: the directive belongs in a location, not in server
--- config
    crmsync_webhook whatsapp;
--- must_die
--- error_log
"crmsync_webhook" directive is not allowed here



=== TEST 11: other locations are untouched by the JSON error filter
--- config
    location = /plain {
        client_max_body_size 10;
        return 200 "ok\n";
    }
--- request eval
"POST /plain\n" . ('x' x 11)
--- error_code: 413
--- response_headers
Content-Type: text/html
--- response_body_like: 413 Request Entity Too Large

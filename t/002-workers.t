# The module under a master process and two workers, as in production:
# every worker answers, and nginx stops without an alert.

use Test::Nginx::Socket 'no_plan';
use Crmsync::Sign;

master_on();
workers(2);
repeat_each(1);

run_tests();

__DATA__

=== TEST 1: two workers answer signed deliveries, request after request
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret tg-worker-token;
    }
--- request eval
[map { "POST /hooks/tg\n{\"update_id\":$_,\"message\":{\"message_id\":$_,\"date\":1441645532,\"chat\":{\"id\":7,\"type\":\"private\"},\"from\":{\"id\":7,\"is_bot\":false,\"first_name\":\"Ana\"},\"text\":\"hi\"}}" } 1 .. 8]
--- more_headers
Content-Type: application/json
X-Telegram-Bot-Api-Secret-Token: tg-worker-token
--- error_code eval
[(200) x 8]
--- response_body eval
[('{"status":"accepted","events":1}' . "\n") x 8]
--- no_error_log
[alert]
[emerg]
--- no_shutdown_error_log
[alert]



=== TEST 2: the master starts the workers: the startup is logged before the first request's answer
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret tg-worker-token;
    }
--- request
POST /hooks/tg
{"update_id":9,"message":{"message_id":9,"date":1441645532,"chat":{"id":7,"type":"private"},"from":{"id":7,"is_bot":false,"first_name":"Ana"},"text":"hi"}}
--- more_headers
Content-Type: application/json
X-Telegram-Bot-Api-Secret-Token: tg-worker-token
--- error_code: 200
--- response_body
{"status":"accepted","events":1}
--- error_log
start worker processes
--- no_error_log
[alert]
[emerg]
--- no_shutdown_error_log
[alert]



=== TEST 3: a forged delivery is refused the same under workers
--- config
    location = /hooks/tg {
        crmsync_webhook telegram;
        crmsync_secret tg-worker-token;
    }
--- request
POST /hooks/tg
{"update_id":1}
--- more_headers
Content-Type: application/json
X-Telegram-Bot-Api-Secret-Token: tg-worker-tokeN
--- error_code: 401
--- response_body
{"status":"rejected","reason":"signature_mismatch"}
--- wait: 0.5
--- error_log
crmsync: telegram webhook rejected with 401: signature_mismatch
--- no_error_log
tg-worker-token

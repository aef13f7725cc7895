#!/usr/bin/env perl
# The sandbox starts on a free port, prints its address, answers, and
# stops cleanly on SIGTERM; the helper exports the env for nginx configs.
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start;
like $sb->url, qr{^http://127\.0\.0\.1:\d+$}, 'prints its address when ready';
ok $sb->port > 0 && $sb->port != 8089, 'free port picked by the kernel';
like $sb->token, qr/^pat-/, 'a private-app-like token is generated';

my $h = $sb->control(GET => 'health');
ok $h->{ok}, 'health answers';
is $h->{pid}, $sb->pid, 'the helper knows the pid';

$sb->export_env;
is $ENV{TEST_NGINX_HUBSPOT_URL}, $sb->url, 'TEST_NGINX_HUBSPOT_URL exported';
is $ENV{TEST_NGINX_HUBSPOT_PORT}, $sb->port, 'TEST_NGINX_HUBSPOT_PORT exported';
is $ENV{TEST_NGINX_HUBSPOT_TOKEN}, $sb->token, 'TEST_NGINX_HUBSPOT_TOKEN exported';

# Two sandboxes side by side never share a port or state.
my $sb2 = Crmsync::Sandbox->start(token => 'other');
isnt $sb2->port, $sb->port, 'second sandbox on another port';
$sb2->api(POST => '/crm/v3/objects/contacts', { properties => { email => 'only@two.example' } });
is scalar @{$sb->contacts}, 0, 'state is per process';
is scalar @{$sb2->contacts}, 1, 'second sandbox has its contact';

# SIGTERM: the process exits promptly with status 0.
my $pid = $sb2->pid;
kill 'TERM', $pid;
my $t0 = time;
my $w = 0;
$w = waitpid($pid, POSIX::WNOHANG()) until $w == $pid || time - $t0 > 5 || !sleep 0.02;
is $w, $pid, 'exits on SIGTERM';
is $? >> 8, 0, 'exit status 0';
cmp_ok time - $t0, '<', 2, 'within 2 s';
$sb2->{pid} = undef;

# Shell use: the script itself, with flags, prints the settings.
my $script = Crmsync::Sandbox::script_path();
open my $fh, '-|', $^X, $script, '--listen', '127.0.0.1:0', '--index-lag', '3', '--rate', '100/10s',
    '--search-rate', '5/s', '--daily', '250000', '--token', 'tok' or die $!;
my $line = <$fh>;
like $line, qr{listening on http://127\.0\.0\.1:\d+ \(index-lag 3s, rate 100/10s, search-rate 5/s, daily 250000\)},
    'startup line shows address and limits';
my ($port) = $line =~ /:(\d+) /;
my $http = HTTP::Tiny->new;
my $res = $http->get("http://127.0.0.1:$port/_sandbox/health");
my $child = JSON::PP::decode_json($res->{content})->{pid};
ok $child, 'shell-started sandbox answers';
kill 'TERM', $child;
close $fh;
is $? >> 8, 0, 'shell-started sandbox exits 0 on SIGTERM';

my $real = Crmsync::Sandbox->start(realistic => 1);
is_deeply { map { $_ => $real->config->{$_} } qw(index_lag rate search_rate daily) },
    { index_lag => 5, rate => '100/10s', search_rate => '5/1s', daily => 250000 },
    '--realistic: Free/Starter limits and a 5 s lag';
my $hdr = $real->api(GET => '/crm/v3/owners')->{headers};
is $hdr->{'x-hubspot-ratelimit-max'}, 100, 'Max 100';
is $hdr->{'x-hubspot-ratelimit-secondly'}, 10, 'Secondly 10 (as in recorded HubSpot responses)';
is $hdr->{'x-hubspot-ratelimit-daily'}, 250000, 'Daily 250000';
$real->stop;

like `$^X $script --help 2>&1`, qr/--index-lag SECONDS/, '--help lists the flags';
my $bad = system("$^X $script --listen nonsense >/dev/null 2>&1");
isnt $bad, 0, 'bad --listen is refused';

# The helper stops the sandbox on ->stop.
my $p1 = $sb->pid;
$sb->stop;
ok !kill(0, $p1), 'stopped by ->stop';

done_testing;

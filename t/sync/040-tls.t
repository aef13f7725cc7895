#!/usr/bin/env perl
# TLS to HubSpot: certificates are verified; a private CA is trusted only
# through ca_file=.  The sandbox speaks plain HTTP, so nginx itself stands
# in front of it with TLS, under a certificate from a CA made here.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp qw(tempdir);
use Crmsync::Nginx;
use Crmsync::Sandbox;

my $dir = tempdir(CLEANUP => 1);
system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
       . " -addext subjectAltName=DNS:localhost -keyout $dir/key.pem"
       . " -out $dir/cert.pem >/dev/null 2>&1") == 0
    or plan skip_all => 'openssl cannot make a certificate';


sub tls_front {
    my ($sb, $port) = @_;
    return <<"CONF";
server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $dir/cert.pem;
    ssl_certificate_key $dir/key.pem;
    location / {
        proxy_pass ${\ $sb->url};
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
CONF
}


subtest 'a private CA is trusted through ca_file=' => sub {
    my $sb = Crmsync::Sandbox->start;
    my $port = Crmsync::Nginx::free_port();
    my ($ng) = Crmsync::Nginx->with_sandbox(
        sb => $sb, url => "https://localhost:$port",
        hubspot => "ca_file=$dir/cert.pem", http => tls_front($sb, $port)
                                                   . 'crmsync_batch_linger 10ms;');
    my ($st) = $ng->contact('tls-1', 'tls1@example.com', 'T L');
    is $st, 200, 'acknowledged';
    ok $ng->drained(30), 'drained';
    is scalar @{$sb->contacts}, 1, 'synced over TLS';
    is $ng->sql("SELECT path || ' ' || status FROM audit ORDER BY id"),
       "/crm/objects/2026-03/contacts/batch/read 207\n"
       . "/crm/objects/2026-03/contacts/batch/upsert 200",
       'the calls are audited: the look-up by email, then the upsert';
};


subtest 'without it, the certificate is refused and the job waits' => sub {
    my $sb = Crmsync::Sandbox->start;
    my $port = Crmsync::Nginx::free_port();
    my ($ng) = Crmsync::Nginx->with_sandbox(
        sb => $sb, url => "https://localhost:$port",
        http => tls_front($sb, $port) . 'crmsync_batch_linger 10ms;');
    my ($st) = $ng->contact('tls-2', 'tls2@example.com', 'T L');
    is $st, 200, 'acknowledged';
    ok $ng->wait_for(sub { $ng->sql('SELECT state FROM job') eq '1' }, 20),
       'the job waits for a retry';
    like $ng->sql('SELECT last_error FROM job'), qr/certificate/i,
         'because of the certificate';
    like $ng->sql('SELECT error FROM audit LIMIT 1'), qr/certificate/i,
         'and the audit trail says so';
    is scalar @{$sb->contacts}, 0, 'nothing was sent';
};


done_testing;

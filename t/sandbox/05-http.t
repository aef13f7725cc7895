#!/usr/bin/env perl
# The sandbox's HTTP/1.1 layer: keep-alive, pipelining, Expect:
# 100-continue (libcurl sends it for bodies over 1 KiB), chunked request
# bodies, Connection: close, HTTP/1.0 and malformed requests.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(time);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Crmsync::Sandbox;

my $sb = Crmsync::Sandbox->start(token => 'tok');

sub conn { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $sb->port, Proto => 'tcp') or die $! }

# read until $n complete responses (by Content-Length) or EOF / timeout
sub read_responses {
    my ($s, $n, $timeout) = @_;
    my $buf = '';
    my @res;
    my $sel = IO::Select->new($s);
    my $deadline = time + ($timeout // 5);
    while (@res < $n && time < $deadline) {
        if ($buf =~ /\A(HTTP\/1\.1 (\d{3})[^\r]*\r\n(.*?)\r\n\r\n)/s) {
            my ($head, $code, $hdrs) = ($1, $2, $3);
            my ($len) = $hdrs =~ /^Content-Length: (\d+)/mi;
            $len //= 0;
            if (length($buf) >= length($head) + $len) {
                push @res, { code => $code, head => $hdrs, body => substr($buf, length $head, $len) };
                substr($buf, 0, length($head) + $len, '');
                next;
            }
        }
        last unless $sel->can_read($deadline - time);
        my $r = sysread($s, $buf, 65536, length $buf);
        last unless $r;
    }
    return (\@res, $buf);
}

my $auth = "Authorization: Bearer tok\r\nHost: x\r\n";

# pipelined requests on one connection come back in order
my $s = conn();
print $s "GET /crm/v3/owners/41629779 HTTP/1.1\r\n$auth\r\n"
       . "GET /crm/v3/owners/41629780 HTTP/1.1\r\n$auth\r\n"
       . "GET /crm/v3/owners/1 HTTP/1.1\r\n$auth\r\n";
my ($res) = read_responses($s, 3);
is_deeply [map { $_->{code} } @$res], [200, 200, 404], 'three pipelined responses, in order';
like $res->[0]{body}, qr/"id":"41629779"/, 'first is the first owner';
like $res->[1]{body}, qr/"id":"41629780"/, 'second is the second owner';

# many pipelined requests in one write (no recursion trouble, all answered)
print $s join '', map { "GET /crm/v3/owners/" . (41629779 + $_ % 2) . " HTTP/1.1\r\n$auth\r\n" } 1 .. 500;
($res) = read_responses($s, 500, 20);
is scalar @$res, 500, '500 pipelined requests, 500 responses';
is scalar(grep { $_->{code} == 200 } @$res), 500, 'all 200';
like $res->[-1]{body}, qr/41629779/, 'last one is the right owner';

# a hung request delays the next one on the same connection, order kept
$sb->fault(mode => 'hang', seconds => 0.5, path => '41629779');
print $s "GET /crm/v3/owners/41629779 HTTP/1.1\r\n$auth\r\nGET /crm/v3/owners/41629780 HTTP/1.1\r\n$auth\r\n";
($res) = read_responses($s, 2);
like $res->[0]{body}, qr/41629779/, 'hung response first';
like $res->[1]{body}, qr/41629780/, 'then the next';
close $s;

# Expect: 100-continue
$s = conn();
my $body = '{"properties":{"email":"expect@example.com","message":"' . ('x' x 2000) . '"}}';
print $s "POST /crm/v3/objects/contacts HTTP/1.1\r\n${auth}Content-Type: application/json\r\n"
       . "Content-Length: " . length($body) . "\r\nExpect: 100-continue\r\n\r\n";
my $got = '';
IO::Select->new($s)->can_read(5) and sysread($s, $got, 100);
is $got, "HTTP/1.1 100 Continue\r\n\r\n", '100 Continue before the body';
print $s $body;
($res) = read_responses($s, 1);
is $res->[0]{code}, 201, 'then the create';
close $s;

# chunked request body
$s = conn();
my @chunks = ('{"properties":', '{"email":"chunked@example.com"}', '}');
print $s "POST /crm/v3/objects/contacts HTTP/1.1\r\n${auth}Transfer-Encoding: chunked\r\n\r\n"
       . join('', map { sprintf("%x\r\n%s\r\n", length $_, $_) } @chunks) . "0\r\n\r\n";
($res) = read_responses($s, 1);
is $res->[0]{code}, 201, 'chunked body accepted';
like $res->[0]{body}, qr/chunked\@example\.com/, 'and decoded';

# Connection: close and HTTP/1.0 close after the response
print $s "GET /crm/v3/owners/41629779 HTTP/1.1\r\n${auth}Connection: close\r\n\r\n";
my ($r2, $rest) = read_responses($s, 2, 3);
is scalar @$r2, 1, 'one response to Connection: close';
like $r2->[0]{head}, qr/^Connection: close/mi, 'announced';
is sysread($s, my $x, 10), 0, 'then the server closes';
close $s;
$s = conn();
print $s "GET /crm/v3/owners/41629779 HTTP/1.0\r\n$auth\r\n";
($res) = read_responses($s, 1);
is $res->[0]{code}, 200, 'HTTP/1.0 request answered';
is sysread($s, $x, 10), 0, 'and closed';
close $s;

# malformed request line
$s = conn();
print $s "NONSENSE\r\n\r\n";
($res) = read_responses($s, 1);
is $res->[0]{code}, 400, 'malformed request -> 400';
close $s;

# 204 has no body and keeps the connection usable
$s = conn();
print $s "DELETE /crm/v3/objects/contacts/1001 HTTP/1.1\r\n$auth\r\nGET /crm/v3/owners/41629779 HTTP/1.1\r\n$auth\r\n";
($res) = read_responses($s, 2);
is_deeply [map { $_->{code} } @$res], [204, 200], '204 then 200 on one connection';
unlike $res->[0]{head}, qr/Content-Length/i, 'no Content-Length on 204';
close $s;

done_testing;

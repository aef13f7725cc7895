package HubSpotSandbox::HTTP;
# A small HTTP/1.1 server on Mojo::IOLoop streams.  Mojo's full HTTP stack
# costs ~10x more CPU per request than this framing, and the sandbox must
# never be the bottleneck of a benchmark.  Supports keep-alive, pipelined
# requests (answered in order, one at a time), Content-Length and chunked
# request bodies, and "Expect: 100-continue" (libcurl sends it for POST
# bodies over 1 KiB).
use strict;
use warnings;
use feature 'signatures';
no warnings 'experimental::signatures';
use Mojo::IOLoop;

my %REASON = (100 => 'Continue', 200 => 'OK', 201 => 'Created', 204 => 'No Content', 207 => 'Multi-Status',
    400 => 'Bad Request', 401 => 'Unauthorized', 403 => 'Forbidden', 404 => 'Not Found',
    405 => 'Method Not Allowed', 409 => 'Conflict', 413 => 'Payload Too Large', 414 => 'URI Too Long',
    415 => 'Unsupported Media Type', 423 => 'Locked', 429 => 'Too Many Requests',
    431 => 'Request Header Fields Too Large', 477 => 'Migration In Progress',
    500 => 'Internal Server Error', 502 => 'Bad Gateway', 503 => 'Service Unavailable',
    504 => 'Gateway Timeout');

use constant MAX_HEAD => 65536;
use constant MAX_BODY => 32 * 1024 * 1024;

# listen(host, port, sub ($req) { ... }) -> actual port
sub listen ($class, $host, $port, $cb) {
    my $id = Mojo::IOLoop->server({ address => $host, port => $port } => sub ($loop, $stream, $cid) {
        $stream->timeout(0);
        my $c = bless { stream => $stream, buf => '', busy => 0, cb => $cb, open => 1 }, 'HubSpotSandbox::HTTP::Conn';
        $stream->on(read => sub ($s, $bytes) { $c->{buf} .= $bytes; $c->_parse });
        $stream->on(close => sub { $c->{open} = 0; delete $c->{stream} });
        $stream->on(error => sub { $c->{open} = 0 });
    });
    return Mojo::IOLoop->acceptor($id)->port;
}

package HubSpotSandbox::HTTP::Conn;
use strict;
use warnings;
use feature 'signatures';
no warnings 'experimental::signatures';
use Socket qw(SOL_SOCKET SO_LINGER);

sub _parse ($c) {
    return if $c->{in_parse};
    local $c->{in_parse} = 1;
    while (!$c->{busy} && $c->{open}) {
        my $req = $c->{pending};
        if (!$req) {
            my $end = index $c->{buf}, "\r\n\r\n";
            if ($end < 0) {
                return $c->_fail(431) if length $c->{buf} > HubSpotSandbox::HTTP::MAX_HEAD;
                return;
            }
            my $head = substr $c->{buf}, 0, $end + 4, '';
            $head =~ s/^(?:\r\n)+//;
            my ($line, @lines) = split /\r\n/, $head;
            my ($method, $target, $ver) = ($line // '') =~ m{^([A-Z]+) (\S+) HTTP/(1\.[01])$}
                or return $c->_fail(400);
            my %h;
            for (@lines) {
                my ($k, $v) = /^([^:\s]+):\s*(.*?)\s*$/ or return $c->_fail(400);
                $k = lc $k;
                $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
            }
            my ($path, $qs) = split /\?/, $target, 2;
            my $ka = $ver eq '1.1' ? (($h{connection} // '') !~ /\bclose\b/i)
                                   : (($h{connection} // '') =~ /\bkeep-alive\b/i);
            $req = $c->{pending} = bless { method => $method, target => $target, path => $path,
                qs => $qs // '', h => \%h, keep_alive => $ka, conn => $c }, 'HubSpotSandbox::HTTP::Req';
            if (($h{'transfer-encoding'} // '') =~ /chunked/i) { $req->{chunked} = 1; $req->{body} = '' }
            else {
                my $cl = $h{'content-length'} // 0;
                return $c->_fail(400) unless $cl =~ /^\d+$/;
                return $c->_fail(413) if $cl > HubSpotSandbox::HTTP::MAX_BODY;
                $req->{cl} = $cl;
            }
            if (($h{expect} // '') =~ /100-continue/i
                && ($req->{chunked} || $req->{cl} > length $c->{buf})) {
                $c->{stream}->write("HTTP/1.1 100 Continue\r\n\r\n");
            }
        }
        if ($req->{chunked}) {
            while (1) {
                my $e = index $c->{buf}, "\r\n";
                return if $e < 0;
                my ($size) = substr($c->{buf}, 0, $e) =~ /^([0-9a-fA-F]+)/ or return $c->_fail(400);
                $size = hex $size;
                if ($size == 0) {
                    my $t = index $c->{buf}, "\r\n\r\n", $e;
                    return if $t < 0;
                    substr $c->{buf}, 0, $t + 4, '';
                    last;
                }
                return if length($c->{buf}) < $e + 2 + $size + 2;
                $req->{body} .= substr $c->{buf}, $e + 2, $size;
                substr $c->{buf}, 0, $e + 2 + $size + 2, '';
                return $c->_fail(413) if length $req->{body} > HubSpotSandbox::HTTP::MAX_BODY;
            }
        } else {
            return if length $c->{buf} < $req->{cl};
            $req->{body} = substr $c->{buf}, 0, $req->{cl}, '';
        }
        delete $c->{pending};
        $c->{busy} = 1;
        eval { $c->{cb}->($req); 1 } or do {
            warn "hubspot-sandbox: request failed: $@";
            $req->respond(500, { 'Content-Type' => 'application/json;charset=utf-8' },
                          '{"status":"error","message":"internal error"}');
        };
    }
}

sub _fail ($c, $code) {
    $c->write_response($code, { 'Content-Type' => 'text/plain' }, "$code\n", 0);
    $c->{open} = 0;
    return;
}

sub write_response ($c, $code, $hdr, $body, $keep) {
    return unless $c->{open} && $c->{stream};
    $body //= '';
    my $out = "HTTP/1.1 $code " . ($REASON{$code} // 'Status') . "\r\n";
    $out .= "$_: $hdr->{$_}\r\n" for keys %$hdr;
    $out .= "Content-Length: " . length($body) . "\r\n" unless $code == 204 || $code < 200;
    $out .= "Connection: close\r\n" unless $keep;
    $out .= "\r\n";
    $out .= $body unless $code == 204;
    if ($keep) {
        $c->{stream}->write($out);
        $c->{busy} = 0;
        $c->_parse if length $c->{buf};
    } else {
        my $s = $c->{stream};
        $c->{open} = 0;
        $s->write($out => sub { $s->close });
    }
}

sub reset ($c) {
    my $s = $c->{stream} or return;
    $c->{open} = 0;
    my $h = $s->handle;
    setsockopt($h, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) if $h;
    $s->close;
}

package HubSpotSandbox::HTTP::Req;
use strict;
use warnings;
use Mojo::Parameters;
use Mojo::Util qw(url_unescape);

sub method { $_[0]{method} }
sub body   { $_[0]{body} }
sub target { $_[0]{target} }                      # path?query as sent
sub header { $_[0]{h}{lc $_[1]} }
sub path {                                          # percent-decoded path
    my $s = shift;
    return $s->{dpath} //= index($s->{path}, '%') >= 0 ? url_unescape($s->{path}) : $s->{path};
}
sub query  { $_[0]{q} //= Mojo::Parameters->new($_[0]{qs}) }
sub has_query { length $_[0]{qs} }

# respond(code, {headers}, body-bytes)
sub respond {
    my ($s, $code, $hdr, $body) = @_;
    return if $s->{done}++;
    $s->{conn}->write_response($code, $hdr, $body, $s->{keep_alive});
}
sub reset { my $s = shift; return if $s->{done}++; $s->{conn}->reset }

1;

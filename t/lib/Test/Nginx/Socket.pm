package Test::Nginx::Socket;

# A small, compatible implementation of the part of Test::Nginx::Socket's
# data-section format that crmsync's suites use, built on Debian's
# libtest-base-perl.  It is the fallback: util/run-tests puts the real
# Test::Nginx first in @INC when one is installed or TEST_NGINX_LIB names
# a checkout, and the same .t files run under either.
#
# Sections: main_config http_config config request more_headers
#   error_code response_body response_body_like response_headers
#   response_headers_like
#   error_log no_error_log shutdown_error_log no_shutdown_error_log
#   wait timeout must_die user_files ONLY SKIP LAST
# Functions: run_tests repeat_each workers master_on master_off
#   log_level no_shuffle no_long_string add_block_preprocessor
#   env_to_nginx no_root_location server_port
# Environment: TEST_NGINX_BINARY TEST_NGINX_LOAD_MODULES
#   TEST_NGINX_SERVER_PORT TEST_NGINX_SERVROOT TEST_NGINX_USE_VALGRIND
#   TEST_NGINX_TIMEOUT TEST_NGINX_NO_CLEAN TEST_NGINX_VALGRIND_MATCH
#
# A request section may hold one request or (with eval) an array of them;
# error_code, response_body and response_body_like then take arrays too.

use strict;
use warnings;

{
    # Test::Base reads the blocks; its import makes it the default class
    package Test::Nginx::Socket::Blocks;
    use Test::Base;
}
use Test::More ();
use Test::Builder;
use Cwd qw(cwd abs_path);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use IO::Select;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $VERSION = '0.1-crmsync';

my $tb = Test::Builder->new;

my $RepeatEach = 1;
my $Workers = 1;
my $MasterOn = 0;
my $LogLevel = 'debug';
my $RootLocation = 1;
my @Preprocessors;
my @EnvToNginx;
my $StopDiag = '';

my $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $ServRoot = $ENV{TEST_NGINX_SERVROOT} || cwd() . '/t/servroot';
my $Binary = $ENV{TEST_NGINX_BINARY} || 'nginx';
my $Valgrind = $ENV{TEST_NGINX_USE_VALGRIND};
# a request under memcheck runs some 20 times slower: a large body that
# takes 0.1 s natively must not fail a busy CI machine's 3 s default
my $Timeout = $ENV{TEST_NGINX_TIMEOUT} || ($Valgrind ? 30 : 3);

$ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
$ENV{TEST_NGINX_SERVROOT} = $ServRoot;
$ENV{TEST_NGINX_HTML_DIR} = "$ServRoot/html";

my @Exports = qw(
    run_tests repeat_each workers master_on master_off log_level
    no_shuffle no_long_string add_block_preprocessor env_to_nginx
    no_root_location server_port blocks
);

my @TestMore = qw(
    plan ok is isnt like unlike is_deeply cmp_ok diag note pass fail
    skip BAIL_OUT done_testing
);

sub import {
    my ($class, @args) = @_;
    my $caller = caller;

    no strict 'refs';

    for my $name (@Exports) {
        *{"${caller}::$name"} = \&{"${class}::$name"};
    }

    for my $name (@TestMore) {
        *{"${caller}::$name"} = \&{"Test::More::$name"};
    }

    # through Test::Builder::plan, which Test::Base watches
    $tb->plan(@args) if @args;
}

sub repeat_each { $RepeatEach = shift if @_; return $RepeatEach }
sub workers { $Workers = shift if @_; return $Workers }
sub master_on { $MasterOn = 1 }
sub master_off { $MasterOn = 0 }
sub log_level { $LogLevel = shift if @_; return $LogLevel }
sub no_shuffle { }
sub no_long_string { }
sub no_root_location { $RootLocation = 0 }
sub server_port { return $ServerPort }
sub env_to_nginx { push @EnvToNginx, @_ }
sub add_block_preprocessor { push @Preprocessors, @_ }

sub blocks { return Test::Base::blocks(@_) }


sub run_tests {
    for my $block (Test::Base::blocks()) {
        $_->($block) for @Preprocessors;

        my $reps = $Valgrind ? 1 : $RepeatEach;

        for my $rep (1 .. $reps) {
            run_block($block, $reps > 1 ? " (repeat $rep)" : '');
        }
    }

    remove_tree($ServRoot) unless $ENV{TEST_NGINX_NO_CLEAN};
}


sub section {
    my ($block, $name) = @_;
    return undef unless exists $block->{$name};
    my $v = $block->{$name};
    return ref $v eq 'ARRAY' ? $v->[0] : $v;
}


sub expand_env {
    my $s = shift;
    return $s unless defined $s;
    $s =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/
           defined $ENV{$1} ? $ENV{$1} : "\$$1"/ge;
    return $s;
}


sub write_config {
    my ($block) = @_;

    remove_tree($ServRoot);
    make_path(map { "$ServRoot/$_" } qw(conf logs html tmp));

    my $main = expand_env(section($block, 'main_config')) // '';
    my $http = expand_env(section($block, 'http_config')) // '';
    my $config = expand_env(section($block, 'config')) // '';

    my $modules = '';
    for my $m (split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '') {
        $modules .= "load_module $m;\n";
    }

    my $env = join '', map { "env $_;\n" } @EnvToNginx;
    my $master = $MasterOn ? 'on' : 'off';
    my $user = $> == 0 ? "user root;\n" : '';
    my $root = $RootLocation
               ? "        location / {\n            root html;\n"
                 . "            index index.html index.htm;\n        }\n"
               : '';

    open my $fh, '>', "$ServRoot/conf/nginx.conf" or die $!;
    print $fh <<"EOF";
worker_processes $Workers;
daemon off;
master_process $master;
error_log logs/error.log $LogLevel;
pid logs/nginx.pid;
$user$env$modules
$main

http {
    access_log logs/access.log;
    client_body_temp_path $ServRoot/tmp/client_body;
    proxy_temp_path $ServRoot/tmp/proxy;
    fastcgi_temp_path $ServRoot/tmp/fastcgi;
    uwsgi_temp_path $ServRoot/tmp/uwsgi;
    scgi_temp_path $ServRoot/tmp/scgi;
    default_type text/plain;
    keepalive_timeout 68;
    client_max_body_size 30M;

$http

    server {
        listen $ServerPort;
        server_name localhost;

$config

$root    }
}

events {
    accept_mutex off;
    worker_connections 1024;
}
EOF
    close $fh;

    my $files = section($block, 'user_files');
    if (defined $files) {
        my @parts = split /^>>> (\S+)\n/m, $files;
        shift @parts;
        while (my ($name, $body) = splice @parts, 0, 2) {
            my $path = "$ServRoot/html/$name";
            (my $dir = $path) =~ s{/[^/]+$}{};
            make_path($dir);
            open my $out, '>', $path or die "$path: $!";
            print $out expand_env($body);
            close $out;
        }
    }
}


sub nginx_command {
    my @cmd = ($Binary, '-p', "$ServRoot/", '-c', 'conf/nginx.conf');

    if ($Valgrind) {
        my @vg = ('valgrind', '-q', '--tool=memcheck', '--leak-check=full',
                  '--show-possibly-lost=no', '--num-callers=40',
                  '--trace-children=no', "--log-file=$ServRoot/logs/valgrind.%p.log");
        my $supp = cwd() . '/valgrind.suppress';
        push @vg, "--suppressions=$supp" if -f $supp;
        unshift @cmd, @vg;
    }

    return @cmd;
}


sub start_nginx {
    my $pid = fork // die "fork: $!";

    if ($pid == 0) {
        open STDOUT, '>>', "$ServRoot/logs/stderr.log";
        open STDERR, '>&', \*STDOUT;
        exec nginx_command() or POSIX::_exit(127);
    }

    return $pid;
}


sub wait_port {
    my ($pid, $limit) = @_;
    my $deadline = time + $limit;

    while (time < $deadline) {
        return 'exited' if waitpid($pid, WNOHANG) == $pid;

        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $ServerPort,
                                      Proto => 'tcp');
        if ($s) {
            close $s;
            return 'up';
        }

        sleep 0.02;
    }

    return 'timeout';
}


sub stop_nginx {
    my ($pid) = @_;
    my $limit = $Valgrind ? 60 : $Timeout + 2;

    # A single-process nginx checks ngx_quit, then blocks in epoll_wait()
    # with no timeout when it has no timers: a QUIT handled between the
    # two is seen only when the next event or signal wakes it.  The
    # window is tiny natively but wide under valgrind, which delivers
    # pending signals at its own scheduling points; a CI run once lost a
    # block to it.  So the QUIT is repeated every few seconds: a worker
    # that will not stop still fails the block when the limit passes.

    my $deadline = time + $limit;
    my $next = 0;
    while (time < $deadline) {
        if (time >= $next) {
            kill 'QUIT', $pid;
            $next = time + ($Valgrind ? 5 : 1);
        }
        return 1 if waitpid($pid, WNOHANG) == $pid;
        sleep 0.02;
    }

    # what it was doing, for the diagnosis: state and kernel wait channel
    my @stat = split ' ', read_file("/proc/$pid/stat");
    my $wchan = read_file("/proc/$pid/wchan");
    $StopDiag = "pid $pid still running after ${limit}s of QUIT: state "
                . ($stat[2] // '?') . ", wchan " . ($wchan || '?');

    kill 'KILL', $pid;
    waitpid($pid, 0);
    return 0;
}


sub read_file {
    my $name = shift;
    open my $fh, '<', $name or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}


sub parse_request {
    my ($raw, $more) = @_;

    $raw = expand_env($raw);
    my ($line, $body) = split /\n/, $raw, 2;
    $line =~ s/^\s+|\s+$//g;

    my ($method, $uri, $proto) = split /\s+/, $line;
    $proto //= 'HTTP/1.1';

    if (defined $body) {
        $body =~ s/\n\z//;
    }

    my @headers;
    my %have;

    for my $h (split /\n/, expand_env($more // '')) {
        next unless $h =~ /\S/;
        my ($k, $v) = split /:\s*/, $h, 2;
        push @headers, [$k, $v // ''];
        $have{lc $k} = 1;
    }

    unshift @headers, ['Host', 'localhost'] unless $have{host};
    push @headers, ['Connection', 'close'] unless $have{connection};

    if (defined $body && length $body && !$have{'content-length'}
        && !$have{'transfer-encoding'})
    {
        push @headers, ['Content-Length', length $body];
    }

    my $req = "$method $uri $proto\r\n";
    $req .= "$_->[0]: $_->[1]\r\n" for @headers;
    $req .= "\r\n";
    $req .= $body if defined $body;

    return $req;
}


sub http_exchange {
    my ($req, $timeout) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ServerPort,
                                  Proto => 'tcp',
                                  Timeout => $timeout)
        or return (undef, "connect: $!");

    binmode $s;
    my $sel = IO::Select->new($s);
    my $deadline = time + $timeout;

    my $off = 0;
    while ($off < length $req) {
        my $left = $deadline - time;
        return (undef, 'timeout writing') if $left <= 0;
        next unless $sel->can_write($left);
        my $n = syswrite $s, $req, 65536, $off;
        last unless defined $n;   # the server may answer and close early
        $off += $n;
    }

    my $resp = '';
    while (1) {
        my $left = $deadline - time;
        return ($resp, 'timeout reading') if $left <= 0;
        next unless $sel->can_read($left);
        my $n = sysread $s, my $buf, 65536;
        last if !$n;
        $resp .= $buf;
    }

    close $s;
    return ($resp, undef);
}


sub parse_response {
    my ($raw) = @_;

    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    return undef unless defined $head && $head =~ m{^HTTP/\d\.\d (\d{3})};

    my %r = (status => $1, headers => {}, body => $body // '');
    my @lines = split /\r\n/, $head;
    shift @lines;

    for (@lines) {
        my ($k, $v) = split /:\s*/, $_, 2;
        $r{headers}{lc $k} = $v;
    }

    if (($r{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
        my ($in, $out) = ($r{body}, '');
        while ($in =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($in, 0, $n, '');
            $in =~ s/\A\r\n//;
        }
        $r{body} = $out;
    }

    return \%r;
}


sub as_list {
    my $v = shift;
    return () unless defined $v;
    return @$v if ref $v eq 'ARRAY';
    return ($v) if ref $v;
    return grep { /\S/ } split /\n/, $v;
}


sub log_matches {
    my ($log, $pat) = @_;
    return ref $pat eq 'Regexp' ? $log =~ $pat : index($log, $pat) >= 0;
}


sub check_log {
    my ($name, $file, $must, $must_not, $wait) = @_;

    my @must = as_list($must);
    my @must_not = as_list($must_not);

    my $deadline = time + ($wait || 0);
    my $log = read_file($file);

    # poll for what must appear, up to "wait" seconds
    while (grep { !log_matches($log, $_) } @must) {
        last if time >= $deadline;
        sleep 0.05;
        $log = read_file($file);
    }

    # what must not appear may still come: give it the full wait
    if (@must_not && time < $deadline) {
        sleep $deadline - time;
        $log = read_file($file);
    }

    for my $p (@must) {
        $tb->ok(log_matches($log, $p), "$name - error_log has \"$p\"")
            or $tb->diag(tail($log));
    }

    for my $p (@must_not) {
        $tb->ok(!log_matches($log, $p), "$name - error_log lacks \"$p\"")
            or $tb->diag(grep_lines($log, $p));
    }
}


sub tail {
    my @l = split /\n/, shift;
    splice @l, 0, @l - 30 if @l > 30;
    return join "\n", @l;
}


sub grep_lines {
    my ($log, $p) = @_;
    return join "\n", grep { log_matches($_, $p) } split /\n/, $log;
}


sub check_valgrind {
    my ($name) = @_;
    my $match = $ENV{TEST_NGINX_VALGRIND_MATCH} || 'crmsync';
    my @bad;

    for my $f (glob "$ServRoot/logs/valgrind.*.log") {
        my $text = read_file($f);
        for my $rec (split /\n(?===\d+==\s*\n)/, $text) {
            push @bad, $rec if $rec =~ /\Q$match\E/
                               && $rec =~ /(Invalid|uninitialised|definitely lost|Mismatched|overlap|Syscall param)/;
        }
    }

    $tb->ok(!@bad, "$name - valgrind: no error in $match")
        or $tb->diag(join "\n", @bad);
}


sub run_block {
    my ($block, $suffix) = @_;
    my $name = $block->name . $suffix;

    write_config($block);

    my $pid = start_nginx();
    my $up = wait_port($pid, $Valgrind ? 60 : 10);

    if (defined $block->{must_die}) {
        if ($up eq 'up') {
            stop_nginx($pid);
        }
        $tb->ok($up eq 'exited', "$name - nginx refuses the configuration");
        my $out = read_file("$ServRoot/logs/stderr.log")
                  . read_file("$ServRoot/logs/error.log");
        open my $fh, '>', "$ServRoot/logs/startup.log";
        print $fh $out;
        close $fh;
        check_log($name, "$ServRoot/logs/startup.log",
                  section($block, 'error_log'),
                  section($block, 'no_error_log'), 0);
        return;
    }

    if ($up ne 'up') {
        $tb->ok(0, "$name - nginx starts ($up)");
        $tb->diag(read_file("$ServRoot/logs/stderr.log"));
        $tb->diag(tail(read_file("$ServRoot/logs/error.log")));
        kill 'KILL', $pid if $up eq 'timeout';
        waitpid($pid, 0);
        return;
    }

    my $timeout = section($block, 'timeout') || $Timeout;
    $timeout =~ s/s$//;

    my @requests = as_request_list(section($block, 'request'));
    my @codes = list_or_one(section($block, 'error_code'), scalar @requests);
    my @bodies = list_or_one(section($block, 'response_body'),
                             scalar @requests);
    my @likes = list_or_one(section($block, 'response_body_like'),
                            scalar @requests);
    my @more = list_or_one(section($block, 'more_headers'),
                           scalar @requests);

    for my $i (0 .. $#requests) {
        my $tag = @requests > 1 ? "$name - req $i" : $name;
        my $req = parse_request($requests[$i], $more[$i]);
        my ($raw, $err) = http_exchange($req, $timeout);
        my $r = defined $raw ? parse_response($raw) : undef;

        if (!$r) {
            $tb->ok(0, "$tag - response (" . ($err // 'unparsable') . ')');
            $tb->diag($raw // '');
            next;
        }

        my $code = $codes[$i] // 200;
        $code =~ s/\s+//g;
        $tb->is_eq($r->{status}, $code, "$tag - status code ok");

        if ($i == $#requests) {
            check_headers($tag, $r, section($block, 'response_headers'));
            check_headers($tag, $r, section($block, 'response_headers_like'),
                          1);
        }

        if (defined $bodies[$i]) {
            $tb->is_eq($r->{body}, expand_env($bodies[$i]),
                       "$tag - response_body - response is expected");
        }

        if (defined $likes[$i]) {
            my $re = $likes[$i];
            if (!ref $re) {
                chomp $re;
                $re = expand_env($re);
                $re = qr/$re/s;
            }
            $tb->like($r->{body}, $re, "$tag - response_body_like - "
                                       . 'response is expected');
        }
    }

    check_log($name, "$ServRoot/logs/error.log",
              section($block, 'error_log'), section($block, 'no_error_log'),
              section($block, 'wait'));

    my $clean = stop_nginx($pid);
    unless ($clean) {
        $tb->ok(0, "$name - nginx stops on QUIT");
        $tb->diag($StopDiag);
        $tb->diag(tail(read_file("$ServRoot/logs/error.log")));
    }

    if (defined section($block, 'shutdown_error_log')
        || defined section($block, 'no_shutdown_error_log'))
    {
        check_log($name, "$ServRoot/logs/error.log",
                  section($block, 'shutdown_error_log'),
                  section($block, 'no_shutdown_error_log'), 0);
    }

    check_valgrind($name) if $Valgrind;
}


sub as_request_list {
    my $r = shift;
    return () unless defined $r;
    return @$r if ref $r eq 'ARRAY';
    return ($r);
}


sub list_or_one {
    my ($v, $n) = @_;
    return ($v) x $n if !ref $v || ref $v eq 'Regexp';
    return @$v;
}


sub check_headers {
    my ($name, $r, $spec, $like) = @_;
    return unless defined $spec;

    for my $line (split /\n/, expand_env($spec)) {
        next unless $line =~ /\S/;

        if ($line =~ /^!\s*(\S+)/) {
            $tb->ok(!exists $r->{headers}{lc $1},
                    "$name - header $1 not present");
            next;
        }

        my ($k, $v) = split /:\s*/, $line, 2;
        $v //= '';
        $v =~ s/\s+$//;

        if ($like) {
            $tb->like($r->{headers}{lc $k} // '', qr/$v/,
                      "$name - header $k like");
        } else {
            $tb->is_eq($r->{headers}{lc $k}, $v, "$name - header $k ok");
        }
    }
}

1;

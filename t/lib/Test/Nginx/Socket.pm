package Test::Nginx::Socket;

# A small, compatible implementation of the part of Test::Nginx::Socket's
# data-section format that crmsync's suites use, built on Debian's
# libtest-base-perl.  It is the fallback: util/run-tests puts the real
# Test::Nginx first in @INC when one is installed or TEST_NGINX_LIB names
# a checkout, and the same .t files run under either.
#
# Sections: main_config http_config config request more_headers
#   error_code response_body response_body_like response_headers
#   response_headers_like raw_response_headers_like
#   raw_response_headers_unlike
#   error_log no_error_log shutdown_error_log no_shutdown_error_log
#   wait timeout must_die user_files ONLY SKIP LAST
# Functions: run_tests repeat_each workers master_on master_off
#   log_level no_shuffle no_long_string add_block_preprocessor
#   env_to_nginx no_root_location server_port server_root html_dir
# Environment: TEST_NGINX_BINARY TEST_NGINX_LOAD_MODULES
#   TEST_NGINX_SERVER_PORT TEST_NGINX_PORT TEST_NGINX_SERVROOT
#   TEST_NGINX_LOG_LEVEL TEST_NGINX_USE_VALGRIND TEST_NGINX_TIMEOUT
#   TEST_NGINX_NO_CLEAN TEST_NGINX_VALGRIND_MATCH
#   exported to the configs: TEST_NGINX_SERVER_PORT TEST_NGINX_SERVER_ROOT
#
# The semantics are the real harness's (openresty/test-nginx) wherever
# the suites touch them, so that a suite this one passes passes there:
# - a request section holds one request or (with eval) an array of them;
#   with an array, every per-request section (error_code, response_body,
#   response_body_like, response_headers, response_headers_like,
#   raw_response_headers_like/unlike) must be an array too, or the run
#   bails out, as the real one does;
# - error_log and no_error_log are checked after every request, each time
#   against the lines logged since the previous check (the first check
#   sees the startup lines too), a line at a time;
# - the body after the request line is stripped of leading and trailing
#   white space unless more_headers gives a Content-Length;
# - response_headers_like values are anchored (^value$); a $TEST_NGINX_
#   variable that is not set bails out.
# Stricter than the real one: a block with both response_headers and
# response_headers_like bails out (the real one ignores the second).

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
# the nginx of the block being run, stopped before a bail-out (which
# exits) and at exit, so that none is left behind holding the port
my $Running;

my $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                 || 1984;
my $ServRoot = $ENV{TEST_NGINX_SERVROOT} || cwd() . '/t/servroot';
my $Binary = $ENV{TEST_NGINX_BINARY} || 'nginx';
$LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} if $ENV{TEST_NGINX_LOG_LEVEL};
my $Valgrind = $ENV{TEST_NGINX_USE_VALGRIND};
# a request under memcheck runs some 20 times slower: a large body that
# takes 0.1 s natively must not fail a busy CI machine's 3 s default
my $Timeout = $ENV{TEST_NGINX_TIMEOUT} || ($Valgrind ? 30 : 3);

$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

# the offset in error.log up to which the lines have been checked
my $LogPos = 0;

my @Exports = qw(
    run_tests repeat_each workers master_on master_off log_level
    no_shuffle no_long_string add_block_preprocessor env_to_nginx
    no_root_location server_port server_root html_dir blocks
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
sub server_root { return $ServRoot }
sub html_dir { return "$ServRoot/html" }
sub env_to_nginx { push @EnvToNginx, @_ }
sub add_block_preprocessor { push @Preprocessors, @_ }

sub blocks { return Test::Base::blocks(@_) }


sub run_tests {
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;

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
    my ($s, $name) = @_;
    return $s unless defined $s;
    $s =~ s/\$(TEST_NGINX_[_A-Z0-9]+)/env_value($1, $name)/ge;
    return $s;
}


sub env_value {
    my ($var, $name) = @_;

    return $ENV{$var} if defined $ENV{$var};

    bail(($name // '') . " - No environment $var defined.");
}


sub write_config {
    my ($block) = @_;

    remove_tree($ServRoot);
    make_path(map { "$ServRoot/$_" } qw(conf logs html tmp));

    my $name = $block->name;
    my $main = expand_env(section($block, 'main_config'), $name) // '';
    my $http = expand_env(section($block, 'http_config'), $name) // '';
    my $config = expand_env(section($block, 'config'), $name) // '';

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
        while (my ($file, $body) = splice @parts, 0, 2) {
            my $path = "$ServRoot/html/$file";
            (my $dir = $path) =~ s{/[^/]+$}{};
            make_path($dir);
            open my $out, '>', $path or die "$path: $!";
            print $out expand_env($body, $name);
            close $out;
        }
    }
}


sub nginx_command {
    # -e: errors before the configuration's error_log (a refused
    # configuration) go to logs/error.log too, as the real harness has it
    my @cmd = ($Binary, '-e', "$ServRoot/logs/error.log", '-p', "$ServRoot/",
               '-c', 'conf/nginx.conf');

    if ($Valgrind) {
        my @vg = ('valgrind', '-q', '--tool=memcheck', '--leak-check=full',
                  '--show-possibly-lost=no', '--num-callers=40',
                  # nginx unloads the module before the leak report:
                  # without its symbols no stack would name crmsync
                  '--keep-debuginfo=yes', '--trace-children=no', "--log-file=$ServRoot/logs/valgrind.%p.log");
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

    $Running = $pid;
    return $pid;
}


sub wait_port {
    my ($pid, $limit) = @_;
    my $deadline = time + $limit;

    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            undef $Running;
            return 'exited';
        }

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
        if (waitpid($pid, WNOHANG) == $pid) {
            undef $Running;
            return 1;
        }
        sleep 0.02;
    }

    # what it was doing, for the diagnosis: state and kernel wait channel
    my @stat = split ' ', read_file("/proc/$pid/stat");
    my $wchan = read_file("/proc/$pid/wchan");
    $StopDiag = "pid $pid still running after ${limit}s of QUIT: state "
                . ($stat[2] // '?') . ", wchan " . ($wchan || '?');

    kill 'KILL', $pid;
    waitpid($pid, 0);
    undef $Running;
    return 0;
}


sub bail {
    my ($why) = @_;

    if ($Running) {
        kill 'KILL', $Running;
        waitpid($Running, 0);
        undef $Running;
    }

    Test::More::BAIL_OUT($why);
}

END {
    if ($Running) {
        kill 'KILL', $Running;
        waitpid($Running, 0);
    }
}


sub read_file {
    my $name = shift;
    open my $fh, '<', $name or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}


# as the real harness builds a request: the request line (method, URI
# "/" and HTTP/1.1 by default), Host and Connection unless more_headers
# gives them, more_headers (lines starting with "#" skipped), and a
# Content-Length for the body, which is then stripped of leading and
# trailing white space; a Content-Length or chunked Transfer-Encoding in
# more_headers leaves the body as it is
sub parse_request {
    my ($name, $raw, $more) = @_;

    my ($line, $body) = split /\n/, $raw, 2;

    if (!defined $line || $line !~ /\S/) {
        bail("$name - Request line should be non-empty");
    }

    my ($method, $uri, $proto) = split ' ', $line;
    $uri //= '/';
    $proto //= 'HTTP/1.1';
    $body //= '';

    my $hdrs = '';
    my $chunked;

    for my $h (split /\n+/, $more // '') {
        next if $h =~ /^\s*#/;
        my ($k, $v) = split /:\s*/, $h, 2;
        $v //= '';
        $chunked = 1 if lc $k eq 'transfer-encoding' && $v eq 'chunked';
        $hdrs .= "$k: $v\r\n";
    }

    my $len = '';
    if (!$chunked && $body ne '' && $hdrs !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//gs;
        $len = 'Content-Length: ' . length($body) . "\r\n";
    }

    my $req = "$method $uri $proto\r\n";
    $req .= "Host: localhost\r\n" if $hdrs !~ /(?:^|\n)Host:/msi;
    $req .= "Connection: close\r\n" if $hdrs !~ /(?:^|\n)Connection/msi;
    $req .= "$hdrs$len\r\n$body";

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

    # the status line and the headers up to the last CRLF, as the real
    # harness gives raw_response_headers_like
    my %r = (status => $1, headers => {}, body => $body // '',
             raw_headers => "$head\r\n");
    my @lines = split /\r\n/, $head;
    shift @lines;

    # a repeated header reads as its values joined, as HTTP::Headers does
    for (@lines) {
        my ($k, $v) = split /:\s*/, $_, 2;
        my $h = \$r{headers}{lc $k};
        $$h = defined $$h ? "$$h, $v" : $v;
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
    return grep { defined } @$v if ref $v eq 'ARRAY';
    return ($v) if ref $v;
    return grep { /\S/ } split /\n/, $v;
}


# a pattern matches one line: a regex, or a string the line contains
sub log_matches {
    my ($line, $pat) = @_;
    return ref $pat eq 'Regexp' ? $line =~ $pat : index($line, $pat) >= 0;
}


# the lines logged since the previous check; nginx may still be writing
# the last one
sub new_log_lines {
    my ($file, $from) = @_;

    open my $fh, '<', $file or return ('', $from);
    seek $fh, $from, 0;
    local $/;
    my $text = <$fh> // '';
    close $fh;

    $text =~ s/[^\n]*\z//;
    return ($text, $from + length $text);
}


# error_log and no_error_log against the lines logged since the previous
# check, as the real harness checks them after every request; what must
# appear is polled for up to "wait" seconds (1 s at least: a line may
# land just after the response), what must not appear is given the whole
# "wait"
sub check_log {
    my ($name, $file, $must, $must_not, $wait) = @_;

    my @must = as_list($must);
    my @must_not = as_list($must_not);

    my $deadline = time + ($wait || 0);
    my $grace = time + ($wait && $wait > 1 ? $wait : 1);
    my ($text, $pos) = new_log_lines($file, $LogPos);
    my @lines = split /\n/, $text;

    my $missing = sub {
        return grep { my $p = $_; !grep { log_matches($_, $p) } @lines }
                    @must;
    };

    while ($missing->() && time < $grace) {
        sleep 0.02;
        ($text, $pos) = new_log_lines($file, $LogPos);
        @lines = split /\n/, $text;
    }

    if (@must_not && time < $deadline) {
        sleep $deadline - time;
        ($text, $pos) = new_log_lines($file, $LogPos);
        @lines = split /\n/, $text;
    }

    $LogPos = $pos;

    for my $p (@must) {
        $tb->ok(scalar(grep { log_matches($_, $p) } @lines),
                "$name - pattern \"$p\" matches a line in error.log")
            or $tb->diag(tail($text));
    }

    for my $p (@must_not) {
        my @hit = grep { log_matches($_, $p) } @lines;
        $tb->ok(!@hit, "$name - pattern \"$p\" does not match a line in"
                       . ' error.log')
            or $tb->diag(join "\n", @hit);
    }
}


sub tail {
    my @l = split /\n/, shift;
    splice @l, 0, @l - 30 if @l > 30;
    return join "\n", @l;
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

    $LogPos = 0;
    my $pid = start_nginx();
    my $up = wait_port($pid, $Valgrind ? 60 : 10);

    if (defined $block->{must_die}) {
        if ($up eq 'up') {
            stop_nginx($pid);
        }
        $tb->ok($up eq 'exited', "$name - nginx refuses the configuration");
        check_log($name, "$ServRoot/logs/error.log",
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
        undef $Running;
        return;
    }

    my $timeout = section($block, 'timeout') || $Timeout;
    $timeout =~ s/s$//;

    my $request = section($block, 'request');
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
    }

    my @requests = as_request_list($request);
    bail("$name - request empty") unless @requests;

    my $many = @requests > 1;

    if (defined section($block, 'response_headers')
        && defined section($block, 'response_headers_like'))
    {
        bail("$name - response_headers and"
            . ' response_headers_like in one block: Test::Nginx checks'
            . ' only the first; use raw_response_headers_like');
    }

    my %per;
    for my $s (qw(error_code response_body response_body_like
                  response_headers response_headers_like
                  raw_response_headers_like raw_response_headers_unlike))
    {
        $per{$s} = per_request($name, section($block, $s), $many,
                               scalar @requests);
    }

    my $more = section($block, 'more_headers');

    for my $i (0 .. $#requests) {
        my $h = ref $more eq 'ARRAY' ? $more->[$i] : $more;

        if (ref $more eq 'ARRAY' && !defined $h) {
            bail("$name - more_headers lacks data for the"
                                 . " ${i}th request");
        }

        my $req = parse_request($name, $requests[$i], $h);
        my ($raw, $err) = http_exchange($req, $timeout);
        my $r = defined $raw ? parse_response($raw) : undef;
        my $tag = $many ? "$name - req $i" : $name;

        if (!$r) {
            $tb->ok(0, "$tag - response (" . ($err // 'unparsable') . ')');
            $tb->diag($raw // '');

        } else {
            check_response($tag, $r, { map { $_ => $per{$_}[$i] } keys %per });
        }

        # after every request: the lines it logged
        check_log($tag, "$ServRoot/logs/error.log",
                  section($block, 'error_log'),
                  section($block, 'no_error_log'),
                  section($block, 'wait'));
    }

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


# a per-request section: with several requests an array, one value each,
# as the real harness requires; with one request a value or an array of one
sub per_request {
    my ($name, $v, $many, $n) = @_;

    return [(undef) x $n] unless defined $v;

    if ($many) {
        return $v if ref $v eq 'ARRAY';
        bail("$name - You asked for many requests, the"
                             . ' expected results should be arrays as well.');
    }

    return [ref $v eq 'ARRAY' ? $v->[0] : $v];
}


sub check_response {
    my ($tag, $r, $x) = @_;

    my ($code, $body, $body_like, $headers, $headers_like, $raw_like,
        $raw_unlike) = @$x{qw(error_code response_body response_body_like
                              response_headers response_headers_like
                              raw_response_headers_like
                              raw_response_headers_unlike)};

    $code //= 200;
    $code =~ s/\s+//g;
    $tb->is_eq($r->{status}, $code, "$tag - status code ok");

    if (defined $raw_like) {
        $tb->like($r->{raw_headers}, qr/$raw_like/s,
                  "$tag - raw resp headers like");
    }

    if (defined $raw_unlike) {
        $tb->unlike($r->{raw_headers}, qr/$raw_unlike/s,
                    "$tag - raw resp headers unlike");
    }

    check_headers($tag, $r, $headers, 0) if defined $headers;
    check_headers($tag, $r, $headers_like, 1) if defined $headers_like;

    if (defined $body) {
        if (ref $body) {
            $tb->like($r->{body}, $body, "$tag - response_body - like");

        } else {
            $body =~ s/\$ServerPort\b/$ServerPort/g;
            $tb->is_eq($r->{body}, expand_env($body, $tag),
                       "$tag - response_body - response is expected");
        }

    } elsif (defined $body_like) {
        $body_like =~ s/\$ServerPort\b/$ServerPort/g;
        $tb->like($r->{body}, qr/$body_like/s,
                  "$tag - response_body_like - response is expected");
    }
}


# the real harness's reading: "Name: value" (white space around the colon
# and the line dropped), "!Name" for a header that must be absent; like
# values are anchored regexes
sub check_headers {
    my ($name, $r, $spec, $like) = @_;

    for my $line (split /\n/, $spec) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';

        if ($line =~ s/^!\s*//) {
            $tb->unlike($r->{raw_headers}, qr/^\s*\Q$line\E\s*:/ms,
                        "$name - header $line not present in the raw"
                        . ' headers');
            next;
        }

        my ($k, $v) = split /\s*:\s*/, $line, 2;
        $v //= '';
        my $got = $r->{headers}{lc $k} // '';

        if ($like) {
            $tb->like($got, qr/^$v$/, "$name - header $k like ok");

        } else {
            $v =~ s/\$ServerPort\b/$ServerPort/g;
            $tb->is_eq($got, $v, "$name - header $k ok");
        }
    }
}

1;

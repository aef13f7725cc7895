package Crmsync::Bench;

# Helpers for the t/bench/ scripts that run nginx through Crmsync::Nginx:
# the module and binary from the build directory, wrk with a Lua script
# that counts 2xx answers exactly, wrk's p99, medians and ranges.
#
#   my $top = Crmsync::Bench::setup();      # exports TEST_NGINX_* for Nginx.pm
#   my $lua = Crmsync::Bench::wrk_lua($dir, 'tg', headers => {...},
#                                     body => '{"update_id":%d,...}');
#   my $r = Crmsync::Bench::wrk($url, $lua, secs => 3, conns => 32,
#                               base => 1e7);
#   # $r: {rps, p99 (ms), ok (2xx), bad (>= 400), total (answers read)}
#
# Only loopback URLs are accepted.

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use File::Basename qw(dirname);


sub setup {
    my $top = abs_path(dirname(__FILE__) . '/../../..');
    my $build = $ENV{BUILD} || "$top/build";
    $build = "$top/$build" unless $build =~ m{^/};
    my $module = "$build/ngx_http_crmsync_module.so";
    -f $module or die "no $module: run make first\n";
    system('which wrk >/dev/null 2>&1') == 0
        or die "wrk is missing: util/deps bench\n";
    system('which sqlite3 >/dev/null 2>&1') == 0
        or die "sqlite3 is missing\n";
    if (!$ENV{TEST_NGINX_BINARY} && -f "$build/nginx.binary") {
        open my $fh, '<', "$build/nginx.binary" or die $!;
        chomp($ENV{TEST_NGINX_BINARY} = <$fh>);
    }
    $ENV{TEST_NGINX_LOAD_MODULES} //= -f "$build/static" ? '' : $module;
    # an interrupted bench still runs the destructors that stop nginx and
    # the sandbox
    $SIG{INT} = $SIG{TERM} = $SIG{HUP} = sub { exit 130 };
    return $top;
}


# whether the client and a single worker can each have a core
sub can_pin {
    chomp(my $n = `nproc`);
    return $n >= 2 && system('which taskset >/dev/null 2>&1') == 0;
}


# A wrk script: POST of body (a sprintf format: %d is replaced with a
# number unique to the request, base + n, when the body has one), with
# the headers.  No response() callback: it would slow the client down;
# wrk's own counts (answers read, those >= 400, socket errors) are used.
sub wrk_lua {
    my ($dir, $name, %o) = @_;
    my $file = "$dir/$name.lua";
    open my $l, '>', $file or croak "$file: $!";
    my $q = sub { my $s = shift; $s =~ s/(["\\])/\\$1/g; $s =~ s/\n/\\n/g; qq("$s") };
    print $l "wrk.method = \"POST\"\n";
    print $l "wrk.headers[" . $q->($_) . "] = " . $q->($o{headers}{$_}) . "\n"
        for sort keys %{$o{headers} // {}};
    print $l "local fmt = " . $q->($o{body}) . "\n";
    print $l <<'EOF_LUA';
local nthreads = 0
function setup(thread)
    thread:set("tid", nthreads)
    nthreads = nthreads + 1
end
base = 0
n = 0
function init(args)
    base = tonumber(args[1] or "0") + tid * 100000000
end
function request()
    n = n + 1
    return wrk.format(nil, nil, nil, string.format(fmt, base + n))
end
EOF_LUA
    close $l;
    return $file;
}


sub ms {
    my ($v, $unit) = @_;
    return $unit eq 'us' ? $v / 1000 : $unit eq 's' ? $v * 1000 : $v;
}


# one wrk run; cpu => '0' pins wrk
sub wrk {
    my ($url, $lua, %o) = @_;
    croak "not a loopback URL: $url" unless $url =~ m{^http://127\.0\.0\.1:\d+/};
    my @cmd = ('wrk', '-t' . ($o{threads} // 1), '-c' . ($o{conns} // 32),
               '-d' . ($o{secs} // 3) . 's', '--latency', '-s', $lua, $url,
               '--', $o{base} // 0);
    unshift @cmd, 'taskset', '-c', $o{cpu} if defined $o{cpu};
    open my $fh, '-|', @cmd or croak "wrk: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my %r;
    ($r{rps}) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my ($p, $u) = $out =~ /^\s+99%\s+([\d.]+)(us|ms|s)\b/m;
    ($r{total}) = $out =~ /(\d+) requests in/;
    ($r{bad}) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    $r{bad} //= 0;
    ($r{socket_errors}) = $out =~ /Socket errors:\s+(.*)/;
    croak "wrk failed:\n$out" unless defined $r{rps} && defined $p && defined $r{total};
    $r{ok} = $r{total} - $r{bad};    # answers read below 400: 2xx here
    $r{p99} = ms($p, $u);
    $r{out} = $out;
    return \%r;
}


sub median {
    my @s = sort { $a <=> $b } @_;
    return undef unless @s;
    return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}


# "min-max" with a format
sub range {
    my ($fmt, @v) = @_;
    my @s = sort { $a <=> $b } @_[1 .. $#_];
    return sprintf("$fmt-$fmt", $s[0], $s[-1]);
}


# resident set size and the private part of it (kB) of a process
sub rss {
    my ($pid) = @_;
    my %r = (rss => 0, private => 0, anon => 0);
    if (open my $fh, '<', "/proc/$pid/status") {
        while (<$fh>) {
            $r{rss} = $1 if /^VmRSS:\s+(\d+)/;
            $r{anon} = $1 if /^RssAnon:\s+(\d+)/;
            $r{shmem} = $1 if /^RssShmem:\s+(\d+)/;
            $r{file} = $1 if /^RssFile:\s+(\d+)/;
        }
    }
    if (open my $fh, '<', "/proc/$pid/smaps_rollup") {
        while (<$fh>) {
            $r{private} += $1 if /^Private_(?:Clean|Dirty):\s+(\d+)/;
        }
    }
    return \%r;
}


1;

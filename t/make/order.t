#!/usr/bin/env perl
# README's commands in any order on one checkout: "make" (and "make demo",
# which runs it) after "make upstream".  make upstream leaves its builds in
# directories under build/; a dynamic build must not trip over them (it
# once removed its "static" mark with rm -f, and build/static was the
# static build's directory).  The directories are made here, as make
# upstream leaves them, without building upstream nginx.

use strict;
use warnings;

use Test::More;
use FindBin;
use Cwd qw(abs_path);

my $top = abs_path("$FindBin::Bin/../..");
chdir $top or die "$top: $!";

my $build = 'build';

# the build directories make upstream names, as make itself expands them
my @plan = `make -n -s upstream BUILD=$build 2>&1`;
is($?, 0, 'make -n upstream') or diag(@plan);

my @dirs = map { m{^util/build-module \S+ (\S+)} ? $1 : () } @plan;
ok(@dirs >= 2, "make upstream builds into @dirs");

my @made;
for my $d (@dirs) {
    next if -d $d;
    mkdir $d or die "$d: $!";
    push @made, $d;
}

# as util/build-module leaves a static build: its mark in its directory
my ($static) = map { m{^util/build-module \S+ (\S+) static} ? $1 : () }
               @plan;
ok(defined $static, 'make upstream has a static build');
my $mark_made;
if (defined $static && !-e "$static/module-linked-in") {
    open my $fh, '>', "$static/module-linked-in" or die $!;
    close $fh;
    $mark_made = 1;
}

local $ENV{MAKEFLAGS} = '';
local $ENV{MAKELEVEL};
delete $ENV{MAKELEVEL};

my $out = `make -s all BUILD=$build 2>&1`;
is($?, 0, 'make after make upstream\'s layout') or diag($out);

ok(-f "$build/ngx_http_crmsync_module.so", 'the module is built');
ok(!-e "$build/module-linked-in", 'the dynamic build is not marked static');
ok(-d $_, "$_ is left alone") for @dirs;
ok(-f "$static/module-linked-in", 'the static build keeps its mark')
    if defined $static;

unlink "$static/module-linked-in" if $mark_made;
rmdir $_ for reverse @made;

done_testing();

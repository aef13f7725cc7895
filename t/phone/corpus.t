# Agreement with libphonenumber-js on the labelled corpus t/phone/corpus.tsv
# (util/phone/gen-corpus.js | util/phone/oracle.js): every row is run
# through build/crmsync-phone and compared on the E.164 (or INVALID) and
# the validity.  Required: 100% of the valid rows, 99.5% overall.

use strict;
use warnings;
use Test::More;
use IPC::Open2;
use FindBin;

my $build = $ENV{CRMSYNC_BUILD} // 'build';
my $tool = "$build/crmsync-phone";
my $corpus = $ENV{CRMSYNC_PHONE_CORPUS} // "$FindBin::Bin/corpus.tsv";

ok(-x $tool, "$tool is built") or BAIL_OUT("build $tool first (make tools)");

open my $fh, '<:raw', $corpus or BAIL_OUT("$corpus: $!");
my @rows;
while (my $line = <$fh>) {
    $line =~ s/\r?\n\z//;
    next if $line eq '';
    my @c = split /\t/, $line, -1;
    die "$corpus:$.: 4 columns expected\n" unless @c == 4;
    push @rows, \@c;
}
close $fh;

cmp_ok(scalar @rows, '>=', 3000, 'corpus has 3,000 rows or more');

my %regions = map { $_->[1] => 1 } grep { $_->[1] ne '' } @rows;
cmp_ok(scalar keys %regions, '>=', 40, 'corpus covers 40 regions or more');

my $pid = open2(my $out, my $in, $tool);
binmode $in;
binmode $out;
# write everything first: the tool reads all input and the pipe buffers
# may fill, so feed from a child
my $writer = fork // die "fork: $!";
if ($writer == 0) {
    close $out;
    print $in "$_->[0]\t$_->[1]\n" for @rows;
    close $in;
    exit 0;
}
close $in;
my @got = <$out>;
waitpid $writer, 0;
waitpid $pid, 0;
is($? >> 8, 0, 'crmsync-phone exits 0');
is(scalar @got, scalar @rows, 'one output line per row');

my ($ok, $valid, $valid_ok, @bad) = (0, 0, 0);
for my $i (0 .. $#rows) {
    my ($raw, $region, $e164, $isvalid) = @{ $rows[$i] };
    my $line = $got[$i] // '';
    $line =~ s/\n\z//;
    my @g = split /\t/, $line, -1;
    my $agree = @g == 4 && $g[0] eq $raw && $g[1] eq $region
                && $g[2] eq $e164 && $g[3] eq $isvalid;
    $ok++ if $agree;
    if ($isvalid eq 'true') {
        $valid++;
        $valid_ok++ if $agree;
    }
    push @bad, "row " . ($i + 1) . ": '$raw' ($region): expected $e164 "
               . "$isvalid, got " . ($g[2] // '?') . " " . ($g[3] // '?')
        unless $agree;
}

my $n = scalar @rows;
my $overall = $n ? 100 * $ok / $n : 0;
my $valid_pct = $valid ? 100 * $valid_ok / $valid : 0;

diag(sprintf "phone agreement: valid rows %d/%d (%.2f%%), overall %d/%d "
             . "(%.2f%%)", $valid_ok, $valid, $valid_pct, $ok, $n, $overall);
diag($_) for @bad[0 .. ($#bad < 19 ? $#bad : 19)];

is($valid_ok, $valid, 'every valid row agrees (100%)');
cmp_ok($overall, '>=', 99.5, 'overall agreement is 99.5% or more');

done_testing();

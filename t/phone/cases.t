# Targeted cases for the phone parser (build/crmsync-phone): each feature
# of issue 4, point 2.  The expected E.164 and validity of the first table
# are libphonenumber-js 1.13.16's answers (util/phone/oracle.js); the
# WhatsApp table checks crmsync's own pre-steps (MX 521, BR ninth digit).

use strict;
use warnings;
use Test::More;
use IPC::Open2;

my $build = $ENV{CRMSYNC_BUILD} // 'build';
my $tool = "$build/crmsync-phone";

ok(-x $tool, "$tool is built") or BAIL_OUT("build $tool first (make tools)");

sub run_tool {
    my ($args, @lines) = @_;
    my $pid = open2(my $out, my $in, $tool, @$args);
    binmode $in;
    binmode $out;
    print $in map { "$_\n" } @lines;
    close $in;
    my @res = <$out>;
    waitpid $pid, 0;
    is($? >> 8, 0, "crmsync-phone @$args exits 0");
    chomp @res;
    return @res;
}

my (@cases, @wa);
my $list = \@cases;
while (my $line = <DATA>) {
    chomp $line;
    if ($line eq '__WHATSAPP__') {
        $list = \@wa;
        next;
    }
    next if $line =~ /^#/ || $line eq '';
    my ($what, @cols) = split /\t/, $line, -1;
    push @$list, [$what, @cols];
}

my @res = run_tool([], map { "$_->[1]\t$_->[2]" } @cases);
is(scalar @res, scalar @cases, 'one output line per input line');

for my $i (0 .. $#cases) {
    my ($what, $raw, $region, $e164, $valid) = @{ $cases[$i] };
    my @got = split /\t/, $res[$i] // '', -1;
    is("$got[2]\t$got[3]", "$e164\t$valid", "$what: '$raw' ($region)");
    is($got[0], $raw, "$what: raw column echoed");
}

@res = run_tool(['-w'], map { $_->[1] } @wa);
for my $i (0 .. $#wa) {
    my ($what, $raw, $e164, $valid, $alt) = @{ $wa[$i] };
    my @got = split /\t/, $res[$i] // '', -1;
    is("$got[2]\t$got[3]\t$got[4]", "$e164\t$valid\t$alt",
       "whatsapp $what: '$raw'");
}

done_testing();

__DATA__
# what	raw	REGION	E164	valid
national-and-idd	415 555 0132	US	+14155550132	true
national-and-idd	(415) 555-0132	US	+14155550132	true
national-and-idd	+1 415 555 0132		+14155550132	true
national-and-idd	+1 415 555 0132	ZZ	+14155550132	true
national-and-idd	14155550132	US	+14155550132	true
national-and-idd	4155550132		INVALID	false
national-and-idd	020 7946 0958	GB	+442079460958	true
national-and-idd	+44 (0) 20 7946 0958		+442079460958	true
national-and-idd	00 44 20 7946 0958	DE	+442079460958	true
national-and-idd	011 44 20 7946 0958	US	+442079460958	true
national-and-idd	00 44 20 7946 0958	US	+100442079460958	false
idd-prefixes	0011 44 20 7946 0958	AU	+442079460958	true
idd-prefixes	010 44 20 7946 0958	JP	+442079460958	true
idd-prefixes	8~10 44 20 7946 0958	RU	+442079460958	true
idd-prefixes	8 10 44 20 7946 0958	RU	+442079460958	true
idd-prefixes	810 44 20 7946 0958	KZ	+442079460958	true
ru-kz	8 (916) 123-45-67	RU	+79161234567	true
ru-kz	+7 701 123 4567		+77011234567	true
italy-leading-zero	06 1234 5678	IT	+390612345678	true
italy-leading-zero	+39 06 1234 5678		+390612345678	true
italy-leading-zero	+39 06 698 12345		+390669812345	true
italy-leading-zero	0549 123456	SM	+3780549123456	false
argentina-9	011 15 2345-6789	AR	+5491123456789	true
argentina-9	+54 9 11 2345 6789		+5491123456789	true
argentina-9	+54 11 2345 6789		+541123456789	true
brazil-carrier	0 21 11 98765 4321	BR	+5511987654321	true
brazil-carrier	(11) 98765-4321	BR	+5511987654321	true
mexico	+52 1 55 1234 5678	MX	+5215512345678	false
mexico	+52 55 1234 5678		+525512345678	true
cc-without-plus	4915112345678	DE	+494915112345678	true
cc-without-plus	447911123456	GB	+447911123456	true
extension	+1 650 253 0000 ext. 123		+16502530000	true
extension	+1 650 253 0000 x123		+16502530000	true
extension	+1 650 253 0000;ext=123		+16502530000	true
extension	+44 20 7946 0958 #12		+442079460958	true
extension	+34 912 345 678 anexo 22		+34912345678	true
extension	+7 495 123-45-67 доб. 123		+74951234567	true
extension	+1 650 253 0000,,123		+16502530000	true
unicode-digits	＋４４ ２０ ７９４６ ０９５８		INVALID	false
unicode-digits	+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨		+442079460958	true
unicode-digits	۰۹۱۲ ۳۴۵ ۶۷۸۹	IR	+989123456789	true
unicode-digits	+४४ २० ७९४६ ०९५८		INVALID	false
tel-uri	tel:+1-650-253-0000		+16502530000	true
tel-uri	tel:+1-650-253-0000;ext=12		+16502530000	true
tel-uri	tel:650-253-0000;phone-context=+1		+16502530000	true
tel-uri	tel:+1-650-253-0000;isub=12345		+16502530000	true
text-noise	Call me at +49 30 1234567 thanks!		+49301234567	true
text-noise	Tel: 030 1234567 (work)	DE	+49301234567	true
vanity	1-800-FLOWERS	US	+11800	false
not-a-number	N/A	US	INVALID	false
not-a-number	call me		INVALID	false
not-a-number	+		INVALID	false
not-a-number	123	US	+1123	false
not-a-number	+999 1234 5678		INVALID	false
not-a-number	+0 20 7946 0958		INVALID	false
not-a-number	02079460958		INVALID	false
not-a-number	02079460958	ZZ	INVALID	false
whatsapp-plain	whatsapp:+14155550132		+14155550132	true
whatsapp-plain	5215512345678		INVALID	false
whatsapp-plain	+5215512345678		+5215512345678	false
whatsapp-plain	+55 11 8765 4321		+551187654321	false
whatsapp-plain	+55 21 9 8765 4321		+5521987654321	true
__WHATSAPP__
# what	raw	E164	valid	alt
us	14155550132	+14155550132	true	
twilio	whatsapp:+14155550132	+14155550132	true	
mx-521	5215512345678	+525512345678	true	
mx-521-twilio	whatsapp:+5215512345678	+525512345678	true	
mx-52	525512345678	+525512345678	true	
br-without-9	551187654321	+5511987654321	true	+551187654321
br-with-9	5511987654321	+5511987654321	true	+551187654321
br-fixed	551132345678	+551132345678	true	
ar-mobile	5491123456789	+5491123456789	true	
de-no-heuristic	4915112345678	+4915112345678	true	
jid	447911123456@s.whatsapp.net	+447911123456	true	
garbage	hello	INVALID	false	

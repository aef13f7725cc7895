#!/usr/bin/env perl
# README's first command, "make demo" (util/demo): without a terminal it
# runs its walkthrough and stops by itself, and what it shows is what
# crmsync did: signed deliveries stored, a retry answered as a duplicate,
# forged ones refused, one contact per person, and a respond.io
# conversation giving an MQL, one deal dealt to the round robin's first
# owner, and one transcript note on the contact and the deal without the
# bot's message.  Ports are free ones, so it runs beside other suites.

use strict;
use warnings;

use Test::More;
use FindBin;
use Cwd qw(abs_path);
use lib "$FindBin::Bin/../lib";
use Crmsync::Nginx;

my $top = abs_path("$FindBin::Bin/../..");
my $build = $ENV{CRMSYNC_BUILD} || "$top/build";

plan skip_all => "no module in $build: run make first"
    unless -f "$build/ngx_http_crmsync_module.so";

my ($port, $sport) = (Crmsync::Nginx::free_port(), Crmsync::Nginx::free_port());
($sport = Crmsync::Nginx::free_port()) while $sport == $port;

local $ENV{BUILD} = $build;
local $ENV{DEMO_PORT} = $port;
local $ENV{DEMO_SANDBOX_PORT} = $sport;

my $out = `$top/util/demo < /dev/null 2>&1`;
is $?, 0, 'the demo ends by itself, exit 0' or diag $out;

like $out, qr/^Website chat contact, Standard Webhooks +-> 200 \{"status":"accepted","events":1,"stored":1,"duplicate":false\}$/m,
     'a signed delivery is stored';
like $out, qr/^The same delivery, retried by the sender +-> 200 \{[^}]*"stored":0,"duplicate":true\}$/m,
     'its retry is a duplicate';
like $out, qr/^WhatsApp delivery, body altered +-> 401 \{"status":"rejected","reason":"signature_mismatch"\}$/m,
     'an altered body is refused';

my ($contacts) = $out =~ /^Contacts in the CRM.*?\n\n(.*?)\n\n/ms;
my @rows = grep { /^  \d+ / } split /\n/, $contacts // '';
is scalar @rows, 5, 'five people, five contacts' or diag $contacts;

my ($lena) = $out =~ /^Lena's contact: id (\d+), phone \+4915123456789, lifecyclestage marketingqualifiedlead$/m;
ok $lena, 'the qualified lead is one contact, an MQL' or diag $out;

my @deals = $out =~ /^Deal (\d+): (.*)$/mg;
is scalar @deals, 2, 'one deal' or diag $out;
is $deals[1], '"Chat lead: Pro", pipeline default, stage appointmentscheduled, owner ana@acme.example',
   'named from the attribute, in the pipeline, the round robin\'s first owner';

my @notes = $out =~ /^Note (\d+), on contact (\S+) and deal (\S+)/mg;
is scalar @notes, 3, 'one transcript note' or diag $out;
is "$notes[1] $notes[2]", ($lena // '') . ' ' . ($deals[0] // ''),
   'on the contact and the deal';

my ($note) = $out =~ /^Note \d+.*?\n((?:  \| .*\n)+)/m;
like $note // '', qr/\| WhatsApp conversation\n.*· Contact\n  \| Hi! What does the Pro plan cost for 12 seats\?\n.*· Agent\n  \| Hi Lena, 12 seats of Pro are 540 EUR a month\.\n\z/,
     'the transcript: the title, the contact\'s and the agent\'s messages, in order';
unlike $out, qr/An agent will be with you shortly/, 'the bot\'s message is not in it';

like $out, qr/"dead" : 0,\n\s*"held" : 0,\n\s*"in_flight" : 0,\n\s*"oldest_age" : 0,\n\s*"queued" : 0,\n\s*"retrying" : 0/,
     'crmsync_status: every job and action done';

done_testing();

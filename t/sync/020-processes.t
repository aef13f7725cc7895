#!/usr/bin/env perl
# Nothing acknowledged is lost, and nothing is applied twice, whatever
# happens to nginx's processes: kill -9 of a worker with calls in flight,
# kill -9 of everything with a backlog, reloads and a quit under load,
# and a load of 10,000 deliveries over 4 workers.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use Crmsync::Nginx;


# every acknowledged delivery is one contact in the sandbox, and no
# contact is there twice
sub all_synced_once {
    my ($ng, $sb, $tag, $acked, $timeout) = @_;
    ok $ng->drained($timeout // 60), "$tag: the queue drains";
    my %have;
    $have{$_->{properties}{email}}++ for @{$sb->contacts};
    my @missing = grep { !$have{"$tag-$_\@example.com"} } @$acked;
    is scalar(@missing), 0, "$tag: every acknowledged event reached HubSpot"
        or diag "missing: @missing[0 .. ($#missing < 9 ? $#missing : 9)]";
    is scalar(grep { $_ > 1 } values %have), 0, "$tag: no contact twice";
    is $sb->duplicates->{duplicate_groups}, 0, "$tag: the duplicates report is empty";
    is $ng->sql('SELECT count(*) FROM job WHERE state = 4'), 0, "$tag: nothing dead";
}


subtest 'kill -9 of a worker while calls are in flight' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        workers => 2, sandbox => { latency_ms => 1500 },
        hubspot => 'timeout=10s', http => 'crmsync_batch_linger 10ms;');
    my $r = $ng->load('k9', 200, 4);
    is scalar @{$r->{acknowledged}}, 200, 'all acknowledged';
    ok $ng->wait_for(sub { $ng->sql('SELECT count(*) FROM job WHERE state = 2') > 0 }, 10, 0.02),
       'calls are in flight';
    # the owner id's low 22 bits are the worker's pid
    my $owner = $ng->sql('SELECT owner FROM job WHERE state = 2 LIMIT 1');
    my $victim = $owner & ((1 << 22) - 1);
    ok((grep { $_ == $victim } $ng->worker_pids), "worker $victim holds calls in flight");
    my $held = $ng->sql("SELECT count(*) FROM job WHERE owner = $owner AND state = 2");
    kill 'KILL', $victim;
    ok $ng->wait_for(sub { $ng->worker_pids >= 2 && !kill 0, $victim }, 10),
       'the master starts another worker';
    # the killed worker's leases run out (twice the timeout, the rate window and 10 s) or the call
    # finished first: either way the jobs end done, once
    all_synced_once($ng, $sb, 'k9', $r->{acknowledged}, 90);
    cmp_ok $ng->sql("SELECT count(*) FROM job WHERE attempts > 1"), '>=', $held,
           "the $held jobs it held were claimed again once its lease ran out";
};


subtest 'kill -9 of master and workers with a backlog, then a restart' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        workers => 2, hubspot => 'rate=2r/10s timeout=10s',
        http => 'crmsync_batch_linger 10ms;');
    my $r = $ng->load('bk', 500, 4);
    is scalar @{$r->{acknowledged}}, 500, 'all acknowledged';
    $ng->kill9;
    my $left = $ng->sql('SELECT count(*) FROM job WHERE state <> 5');
    cmp_ok $left, '>', 0, "a backlog of $left jobs is left on disk";
    $ng->set_conf(http => $ng->{http} =~ s/rate=2r\/10s/rate=100r\/10s/r);
    $ng->start_again;
    all_synced_once($ng, $sb, 'bk', $r->{acknowledged}, 120);
};


subtest 'reloads and a graceful quit under load' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        workers => 2, sandbox => { latency_ms => 200 },
        http => 'crmsync_batch_linger 10ms;');
    my $r = $ng->load('rl', 1500, 4, sub {
        for (1 .. 3) {
            Time::HiRes::sleep(0.3);
            $ng->reload;
        }
    });
    my $n = scalar @{$r->{acknowledged}};
    cmp_ok $n, '>=', 1400, "$n of 1500 acknowledged across three reloads";
    is $r->{failed} + $n + $r->{refused}, 1500, 'each got an answer';
    is $r->{refused}, 0, 'none refused';
    # a quit while calls are in flight: the worker finishes them first
    $ng->load('rl', 0, 1);
    $ng->stop('QUIT');
    unlike $ng->error_log, qr/\[alert\]/, 'no alert: no socket left open, nothing aborted';
    $ng->start_again;
    all_synced_once($ng, $sb, 'rl', $r->{acknowledged}, 90);
    is $ng->sql('SELECT count(*) FROM job WHERE attempts > 1'), 0,
       'no job was sent twice because of a reload or the quit';
};


subtest 'a binary upgrade (USR2, WINCH, QUIT) under load' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        workers => 2, http => 'crmsync_batch_linger 10ms;');
    my $old = $ng->master_pid;
    my ($new, @old_workers);
    my $r = $ng->load('up', 600, 4, sub {
        Time::HiRes::sleep(0.2);
        @old_workers = $ng->worker_pids($old);
        $ng->signal('USR2');
        $ng->wait_for(sub { ($new = $ng->master_pid) && $new != $old
                            && $ng->worker_pids($new) >= 2 }, 15)
            or return;
        kill 'WINCH', $old;
        $ng->wait_for(sub { !grep { kill 0, $_ } @old_workers }, 15);
        kill 'QUIT', $old;
    });
    ok $new && $new != $old, 'a new master took over';
    ok $ng->wait_for(sub { !kill 0, $old }, 15), 'the old master left';
    is scalar @{$r->{acknowledged}}, 600, 'every delivery acknowledged across the upgrade';
    all_synced_once($ng, $sb, 'up', $r->{acknowledged}, 60);
    unlike $ng->error_log, qr/\[alert\]|\[emerg\]/, 'no alert';
};


subtest '10,000 deliveries over 4 workers' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(
        workers => 4, store => 'sync=normal', http => 'crmsync_batch_linger 100ms;');
    my $r = $ng->load('ld', 10000, 8);
    is scalar @{$r->{acknowledged}}, 10000, 'all 10,000 acknowledged';
    all_synced_once($ng, $sb, 'ld', $r->{acknowledged}, 180);
    my $calls = $sb->requests->{by_endpoint}{'POST /crm/v3/objects/contacts/batch/upsert'}{count};
    cmp_ok $calls / 10000, '<=', 0.05, "$calls calls for 10,000 events";
    my $s = $ng->status;
    is $s->{locations}{'/hooks/std'}{stored}, 10000, 'status: 10,000 stored';
    is $s->{portals}{default}{synced}, 10000, 'status: 10,000 synced';
};


done_testing;

#!/usr/bin/env perl
# A store that cannot commit never acknowledges: a full disk, a disk
# remounted read-only, a store locked by another process past the bound.
# Each answers 503 with Retry-After, says why in the error log, stores
# nothing, and works again once the cause is gone.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use File::Temp qw(tempdir);
use POSIX ();
use Time::HiRes ();
use Crmsync::Nginx;


sub mount_tmpfs {
    my ($size) = @_;
    return undef unless $> == 0;
    my $dir = tempdir(CLEANUP => 0);
    system('mount', '-t', 'tmpfs', '-o', "size=$size,mode=0777", 'tmpfs', $dir) == 0
        or return undef;
    return $dir;
}


sub refused_503 {
    my ($ng, $what, $id) = @_;
    my ($st, $body, $h) = $ng->contact($id, "$id\@example.com", 'D K');
    is $st, 503, "$what: 503";
    is $body, qq({"status":"rejected","reason":"store_unavailable"}\n), "$what: the reason";
    is $h->{'retry-after'}, '5', "$what: Retry-After";
}


subtest 'a full disk: 503, nothing acknowledged, and 200 once there is room' => sub {
    my $dir = mount_tmpfs('2m')
        or plan skip_all => 'needs root and tmpfs mounts';
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(workers => 1, url => 'http://127.0.0.1:9');
    # the store moves to the small disk
    $ng->set_conf(http => $ng->{http} =~ s{crmsync_store \S+}{crmsync_store $dir/crmsync.db}r);
    $ng->stop;
    $ng->start_again;

    my ($st) = $ng->contact('fd-0', 'fd0@example.com', 'F D');
    is $st, 200, 'stored while there is room';

    # fill the disk to the last block
    system("dd if=/dev/zero of=$dir/filler bs=4k 2>/dev/null");
    my $before = $ng->sql('SELECT count(*) FROM job', "$dir/crmsync.db");
    my $big = 'x' x 20000;
    my ($code, $body, $h) = $ng->contact('fd-1', 'fd1@example.com', "F $big");
    is $code, 503, 'a full disk answers 503';
    is $h->{'retry-after'}, '5', 'with Retry-After';
    like $ng->error_log, qr/\[error\].*webhook deliveries not stored, answered 503: .*(full|disk)/i,
         'the error log says why';
    unlink "$dir/filler";
    is $ng->sql('SELECT count(*) FROM job', "$dir/crmsync.db"), $before,
       'nothing of it was stored';
    ($st, $body) = $ng->contact('fd-1', 'fd1@example.com', "F $big");
    is $st, 200, 'stored once there is room again';
    is $body, qq({"status":"accepted","events":1,"stored":1,"duplicate":false}\n),
       'as new: the refused delivery was not remembered';
    $ng->stop;
    system('umount', $dir);
};


subtest 'a disk the kernel turns read-only: 503, nothing acknowledged' => sub {
    # ext4 on a loop device, with errors=remount-ro; its trigger_fs_error
    # knob makes the kernel remount it read-only, as on a failing disk
    plan skip_all => 'needs root' unless $> == 0;
    my $img = tempdir(CLEANUP => 1) . '/ext4.img';
    my $dir = tempdir(CLEANUP => 0);
    system("truncate -s 16M $img && mkfs.ext4 -q -F $img >/dev/null 2>&1"
           . " && mount -o loop,errors=remount-ro $img $dir") == 0
        or plan skip_all => 'needs mkfs.ext4 and loop devices';
    chmod 0777, $dir;
    my $dev = (split m{/}, `findmnt -n -o SOURCE $dir`)[-1];
    chomp $dev;
    -w "/sys/fs/ext4/$dev/trigger_fs_error"
        or do { system('umount', $dir); plan skip_all => 'no ext4 trigger_fs_error' };

    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(workers => 2, url => 'http://127.0.0.1:9');
    $ng->set_conf(http => $ng->{http} =~ s{crmsync_store \S+}{crmsync_store $dir/crmsync.db}r);
    $ng->stop;
    $ng->start_again;

    my ($st) = $ng->contact('ro-0', 'ro0@example.com', 'R O');
    is $st, 200, 'stored while writable';
    open my $knob, '>', "/sys/fs/ext4/$dev/trigger_fs_error" or die $!;
    print $knob "crmsync test\n";
    close $knob;
    like `findmnt -n -o OPTIONS $dir`, qr/\bro\b|emergency_ro/, 'the disk is read-only';
    refused_503($ng, 'read-only', "ro-$_") for 1 .. 2;
    like $ng->error_log, qr/not stored, answered 503: .*(readonly|read-only|disk I\/O)/i,
         'the error log says why';
    $ng->stop;

    # the disk, mounted again: what was acknowledged is there, and only it
    system('umount', $dir) == 0 or die "umount: $?";
    system("mount -o loop $img $dir") == 0 or die "mount: $?";
    is $ng->sql("SELECT group_concat(delivery) FROM job", "$dir/crmsync.db"),
       '/hooks/std standard:ro-0', 'only the acknowledged delivery is in the store';
    system('umount', $dir);
};


subtest 'a store locked past the bound: 503, the loop never sleeps' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(workers => 1, url => 'http://127.0.0.1:9');
    my $db = $ng->prefix . '/crmsync.db';
    # another process holds the write lock
    my $pid = open(my $lock, '|-', 'sqlite3', $db) or die "sqlite3: $!";
    select((select($lock), $| = 1)[0]);
    print $lock "BEGIN IMMEDIATE;\nINSERT INTO delivery VALUES ('lock', 0);\n";
    ok $ng->wait_for(sub {
        system("sqlite3 '$db' 'BEGIN IMMEDIATE; ROLLBACK;' 2>/dev/null") != 0 }, 5),
       'the lock is held';

    # the delivery waits for the lock in one process; the status is asked
    # meanwhile from another, and answers at once: the loop never sleeps
    pipe(my $from, my $to) or die "pipe: $!";
    my $kid = fork // die "fork: $!";
    if (!$kid) {
        close $from;
        my $t0 = Time::HiRes::time();
        my ($st, $body, $h) = $ng->contact('lk-1', 'lk1@example.com', 'L K');
        printf $to "%d %s %.2f\n", $st, $h->{'retry-after'} // '-',
               Time::HiRes::time() - $t0;
        close $to;
        POSIX::_exit(0);
    }
    close $to;
    Time::HiRes::sleep(0.5);    # the delivery is waiting by now
    my $t1 = Time::HiRes::time();
    my ($code) = $ng->get('/crmsync/status');
    my $took_status = Time::HiRes::time() - $t1;
    is $code, 200, 'the status answers while a delivery waits for the lock';
    cmp_ok $took_status, '<', 1, sprintf('at once (%.2f s)', $took_status);

    my ($st, $retry, $took) = split ' ', scalar <$from>;
    waitpid $kid, 0;
    is $st, 503, 'the delivery is answered 503';
    is $retry, '5', 'with Retry-After';
    cmp_ok $took, '>=', 2.5, "after the bound ($took s)";
    cmp_ok $took, '<', 6, 'and not much later';

    like $ng->error_log, qr/not stored, answered 503: the store stayed locked/,
         'the error log says why';
    print $lock "ROLLBACK;\n.quit\n";
    close $lock;
    ($st) = $ng->contact('lk-1', 'lk1@example.com', 'L K');
    is $st, 200, 'stored once the lock is gone';
};


subtest 'a worker that cannot open the store answers 503, and opens it once it can' => sub {
    my ($ng, $sb) = Crmsync::Nginx->with_sandbox(workers => 1, url => 'http://127.0.0.1:9');
    my $db = $ng->prefix . '/crmsync.db';
    my ($st) = $ng->contact('op-0', 'op0@example.com', 'O P');
    is $st, 200, 'stored';

    # the store's path is a directory when the master starts a new worker
    rename $db, "$db.moved" or die "rename: $!";
    mkdir $db or die "mkdir: $!";
    my ($old) = $ng->worker_pids;
    kill 'KILL', $old;
    ok $ng->wait_for(sub { my ($w) = $ng->worker_pids; $w && $w != $old }, 10),
       'the master started another worker';
    refused_503($ng, 'no store', 'op-1');
    like $ng->error_log, qr/\[alert\].*crmsync_store "\Q$db\E" cannot be opened: .*answered 503 until it can/,
         'the error log says why';

    rmdir $db;
    rename "$db.moved", $db or die "rename: $!";
    ok $ng->wait_for(sub { ($ng->contact('op-1', 'op1@example.com', 'O P'))[0] == 200 }, 10),
       'stored once the store can be opened again';
    like $ng->error_log, qr/crmsync_store "\Q$db\E" is open again/, 'and the log says so';
    is $ng->sql("SELECT count(*) FROM job WHERE delivery LIKE '%op-1'"), 1, 'once';
};


done_testing;

package Crmsync::Nginx;

# An nginx with the module, a master and workers, for the scenario suites
# (t/sync/): the ones that kill workers, restart on the same store, reload
# under load.  Test::Nginx's blocks run one request list against one
# nginx; these need to act on the processes between requests.
#
#   my $ng = Crmsync::Nginx->start(workers => 4, http => $conf,
#                                  server => $locations);
#   my ($status, $body) = $ng->post('/hooks/x', $body, {headers});
#   $ng->signal('HUP'); $ng->kill9; $ng->start_again; $ng->stop;
#
# Uses TEST_NGINX_BINARY and TEST_NGINX_LOAD_MODULES as util/run-tests
# sets them; listens on a free port; its prefix is a temporary directory
# (or the one given), which holds conf/, logs/ and the store.

use strict;
use warnings;

use Carp qw(croak);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Socket ();
use IO::Socket::INET;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);


# the Standard Webhooks secret of with_sandbox's locations
our $Secret = 'whsec_Y3Jtc3luYy10ZXN0LXNlY3JldC0zMi1ieXRlcy1sb25n';


sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1)
        or croak "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}


sub binary {
    return $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
}


sub start {
    my ($class, %o) = @_;
    my $self = bless {
        workers => $o{workers} // 2,
        http    => $o{http} // '',
        server  => $o{server} // '',
        main    => $o{main} // '',
        prefix  => $o{prefix} // tempdir(CLEANUP => !$ENV{CRMSYNC_KEEP}),
        port    => $o{port} // free_port(),
        owner   => $$,
    }, $class;
    $self->write_conf;
    $self->start_again;
    return $self;
}


# nginx in front of a sandbox: one Standard Webhooks location (/hooks/std,
# $ng->{secret}) on the default portal, and /crmsync/status.  Options:
# workers, sandbox (Crmsync::Sandbox->start options), hubspot (more
# crmsync_hubspot parameters), store (more crmsync_store parameters),
# http, location (more lines for /hooks/std), server; sb: a sandbox
# already started; url: where crmsync_hubspot points instead.
sub with_sandbox {
    my ($class, %o) = @_;
    require Crmsync::Sandbox;
    my $sb = $o{sb} // Crmsync::Sandbox->start(%{$o{sandbox} // {}});
    my $prefix = tempdir(CLEANUP => !$ENV{CRMSYNC_KEEP});
    write_file("$prefix/token", $sb->token . "\n");
    my $secret = $Secret;
    my $self = $class->start(
        workers => $o{workers} // 2,
        prefix => $prefix,
        http => "crmsync_zone crmsync:1m;\n"
              . "crmsync_store $prefix/crmsync.db " . ($o{store} // '') . ";\n"
              . "crmsync_hubspot url=" . ($o{url} // $sb->url)
              . " token_file=$prefix/token " . ($o{hubspot} // '') . ";\n"
              . ($o{http} // ''),
        server => "location = /hooks/std {\n"
                . "    crmsync_webhook standard;\n"
                . "    crmsync_secret $secret;\n"
                . ($o{location} // '') . "}\n"
                . "location = /crmsync/status { crmsync_status; }\n"
                . ($o{server} // ''),
    );
    $self->{secret} = $secret;
    $self->{sandbox} = $sb;
    return ($self, $sb);
}


sub write_file {
    my ($name, $content) = @_;
    open my $fh, '>', $name or croak "$name: $!";
    print $fh $content;
    close $fh;
    chmod 0600, $name;
}


# a contact delivery to /hooks/std: (status, body)
sub contact {
    my ($self, $id, $email, $name, %o) = @_;
    return $self->standard('/hooks/std', $self->{secret}, $id,
                           { id => "u-$id", email => $email,
                             defined $name ? (name => $name) : () }, %o);
}


# $conc processes send $n contact deliveries in all (ids "$tag-N", emails
# "$tag-N@example.com"), keep-alive, as fast as nginx answers; returns
# { acknowledged => [N...], refused => count, failed => count }.  With
# $during, runs $during->() in the parent while they send.
sub load {
    my ($self, $tag, $n, $conc, $during) = @_;
    my $dir = tempdir(CLEANUP => 1);
    my @kids;
    for my $k (0 .. $conc - 1) {
        my $pid = fork;
        croak "fork: $!" unless defined $pid;
        if (!$pid) {
            $self->{owner} = -1;    # a child never stops nginx
            delete $self->{conn};   # nor shares its connection
            open my $out, '>', "$dir/$k" or POSIX::_exit(1);
            for (my $i = $k + 1; $i <= $n; $i += $conc) {
                my ($st, $body) = eval { $self->contact("$tag-$i", "$tag-$i\@example.com", "L $tag") };
                $st //= 599;
                print $out ($st == 200 ? "ok $i\n" : "no $st $i\n");
            }
            close $out;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    $during->() if $during;
    waitpid $_, 0 for @kids;
    my %r = (acknowledged => [], refused => 0, failed => 0);
    for my $k (0 .. $conc - 1) {
        open my $in, '<', "$dir/$k" or next;
        while (<$in>) {
            if (/^ok (\d+)/) { push @{$r{acknowledged}}, $1 }
            elsif (/^no 5\d\d/) { $r{failed}++ }
            else { $r{refused}++ }
        }
        close $in;
    }
    return \%r;
}


# polls the status until every job is done or dead (or the timeout)
sub drained {
    my ($self, $timeout) = @_;
    return $self->wait_for(sub {
        my $q = eval { $self->status->{queue} } or return 0;
        return !grep { $q->{$_} } qw(queued retrying in_flight);
    }, $timeout // 30, 0.1);
}


sub prefix { $_[0]{prefix} }
sub port   { $_[0]{port} }
sub url    { "http://127.0.0.1:$_[0]{port}" }


sub write_conf {
    my ($self) = @_;
    my $p = $self->{prefix};
    make_path("$p/conf", "$p/logs", "$p/html");
    my $load = join '', map { "load_module $_;\n" }
               grep { length } split /\s+/, $ENV{TEST_NGINX_LOAD_MODULES} // '';
    open my $fh, '>', "$p/conf/nginx.conf" or croak "$p/conf/nginx.conf: $!";
    my $user = $> == 0 ? "user root;" : '';
    print $fh <<"CONF";
$load
$user
worker_processes $self->{workers};
daemon on;
master_process on;
pid logs/nginx.pid;
error_log logs/error.log info;
$self->{main}

events {
    worker_connections 1024;
}

http {
    access_log off;
    client_body_temp_path $p/client_body_temp;
    proxy_temp_path $p/proxy_temp;
    fastcgi_temp_path $p/fastcgi_temp;
    uwsgi_temp_path $p/uwsgi_temp;
    scgi_temp_path $p/scgi_temp;

$self->{http}

    server {
        listen 127.0.0.1:$self->{port};
        server_name localhost;

$self->{server}
    }
}
CONF
    close $fh;
}


sub set_conf {
    my ($self, %o) = @_;
    $self->{$_} = $o{$_} for keys %o;
    $self->write_conf;
}


# TEST_NGINX_USE_VALGRIND=1: nginx runs under memcheck (its workers are
# forked, so they are checked too), and stop() fails the test on any
# record that names crmsync, as the Test::Nginx suites do
sub nginx {
    my ($self, @args) = @_;
    my @vg;
    if ($ENV{TEST_NGINX_USE_VALGRIND} && !@args) {
        my $supp = (__FILE__ =~ s{t/lib/Crmsync/Nginx\.pm$}{}r) . 'valgrind.suppress';
        @vg = ('valgrind', '-q', '--tool=memcheck', '--leak-check=full',
               '--show-possibly-lost=no', '--num-callers=40',
               # nginx unloads the module before valgrind's leak report:
               # without its symbols the stacks would not name crmsync
               '--keep-debuginfo=yes',
               "--log-file=$self->{prefix}/logs/valgrind.%p.log",
               -f $supp ? "--suppressions=$supp" : ());
    }
    my $cmd = join ' ', map { "'$_'" } @vg, binary(), '-p', "$self->{prefix}/",
                                        '-c', 'conf/nginx.conf', @args;
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}


sub valgrind_errors {
    my ($self) = @_;
    my @bad;
    for my $f (glob "$self->{prefix}/logs/valgrind.*.log") {
        open my $fh, '<', $f or next;
        local $/;
        my $text = <$fh> // '';
        close $fh;
        for my $rec (split /\n(?===\d+==\s*\n)/, $text) {
            push @bad, $rec if $rec =~ /crmsync/
                && $rec =~ /(Invalid|uninitialised|definitely lost|Mismatched|overlap|Syscall param)/;
        }
        unlink $f;
    }
    return @bad;
}


# (re)starts the master on the same prefix, and so on the same store
sub start_again {
    my ($self) = @_;
    my ($rc, $out) = $self->nginx();
    croak "nginx did not start: $out" if $rc;
    my $t = $ENV{TEST_NGINX_USE_VALGRIND} ? 60 : 10;
    $self->wait_for(sub { $self->master_pid && $self->worker_pids >= $self->{workers} }, $t)
        or croak "nginx workers did not come up";
    $self->wait_for(sub { $self->listening }, $t) or croak "nginx does not listen";
    $self->{running} = 1;
}


sub master_pid {
    my ($self) = @_;
    open my $fh, '<', "$self->{prefix}/logs/nginx.pid" or return;
    my $pid = <$fh>;
    close $fh;
    return unless defined $pid;
    chomp $pid;
    return kill(0, $pid) ? $pid : undef;
}


# the worker processes of a master (its children that are not the cache
# manager); each as [pid, generation start]
sub worker_pids {
    my ($self, $master) = @_;
    $master //= $self->master_pid or return ();
    my @pids;
    for my $dir (glob '/proc/[0-9]*') {
        open my $fh, '<', "$dir/stat" or next;
        my $stat = <$fh>;
        close $fh;
        next unless $stat && $stat =~ /^(\d+) \((.*)\) \S+ (\d+)/;
        my ($pid, $ppid) = ($1, $3);
        next unless $ppid == $master;
        open $fh, '<', "$dir/cmdline" or next;
        my $cmd = <$fh> // '';
        close $fh;
        # under valgrind the title is valgrind's: every child is a worker
        push @pids, $pid if $ENV{TEST_NGINX_USE_VALGRIND}
                            || ($cmd =~ /worker process/ && $cmd !~ /shutting down/);
    }
    return @pids;
}


sub listening {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port},
                                  Proto => 'tcp', Timeout => 1);
    return $s ? 1 : 0;
}


sub wait_for {
    my ($self, $cond, $timeout, $step) = @_;
    my $deadline = time + ($timeout // 10);
    while (1) {
        # a condition that dies (an answer not yet there) is not met yet
        my $v = eval { $cond->() };
        return $v if $v;
        return 0 if time > $deadline;
        sleep($step // 0.05);
    }
}


# one request on a kept-alive connection, written in one piece with
# TCP_NODELAY (HTTP::Tiny writes head and body apart, and Nagle with
# delayed ACKs then holds each request ~40 ms): (status, body, headers)
sub request {
    my ($self, $method, $path, $body, $headers) = @_;
    for my $try (1, 2) {
        my $s = $self->{conn} //= $self->connect or return (599, "connect: $!", {});
        my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n";
        $req .= "$_: $headers->{$_}\r\n" for sort keys %{$headers // {}};
        $req .= 'Content-Length: ' . length($body) . "\r\n" if defined $body;
        $req .= "\r\n" . ($body // '');
        my @r = _exchange($s, $req);
        if (@r) {
            delete $self->{conn} if ($r[2]{connection} // '') eq 'close';
            return @r;
        }
        delete $self->{conn};    # closed under us (keepalive): once more
        return (599, 'no answer', {}) if $try == 2;
    }
}


sub connect {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port},
                                  Proto => 'tcp', Timeout => 5) or return;
    setsockopt($s, Socket::IPPROTO_TCP(), Socket::TCP_NODELAY(), 1);
    return $s;
}


sub _exchange {
    my ($s, $req) = @_;
    local $SIG{PIPE} = 'IGNORE';
    defined syswrite($s, $req) or return;
    my $buf = '';
    my $deadline = time + 60;
    while ($buf !~ /\r\n\r\n/) {
        return if time > $deadline;
        my $n = sysread($s, $buf, 65536, length $buf);
        return unless $n;
    }
    my ($head, $rest) = split /\r\n\r\n/, $buf, 2;
    my ($status) = $head =~ m{^HTTP/1\.\d (\d+)} or return;
    my %h;
    $h{lc $1} = $2 while $head =~ /^([^:\r\n]+):\s*([^\r\n]*)/mg;
    my $len = $h{'content-length'} // 0;
    while (length $rest < $len) {
        my $n = sysread($s, $rest, 65536, length $rest);
        return unless $n;
    }
    return ($status, $rest, \%h);
}


sub post { my $self = shift; return $self->request(POST => @_) }


# a Standard Webhooks delivery of a contact event, signed with secret
# (whsec_...): (status, body)
sub standard {
    my ($self, $path, $secret, $id, $contact, %o) = @_;
    require Crmsync::Sign;
    my $body = JSON::PP->new->canonical->encode({
        type => $o{type} // 'contact.updated',
        timestamp => time_iso(),
        data => { contact => $contact },
    });
    my $ts = int time;
    return $self->post($path, $body, {
        'content-type' => 'application/json',
        'webhook-id' => $id,
        'webhook-timestamp' => $ts,
        'webhook-signature' => Crmsync::Sign::standard_sig($secret, $id, $ts, $body),
    });
}


sub time_iso {
    my @t = gmtime(int time);
    return sprintf '%04d-%02d-%02dT%02d:%02d:%02dZ', $t[5] + 1900, $t[4] + 1,
                   @t[3, 2, 1, 0];
}
sub get  { my ($self, $path) = @_; return $self->request(GET => $path) }


sub status {
    my ($self, $path) = @_;
    my ($code, $body) = $self->get($path // '/crmsync/status');
    croak "status answered $code: $body" unless $code == 200;
    return JSON::PP::decode_json($body);
}


sub signal {
    my ($self, $sig) = @_;
    my $pid = $self->master_pid or croak 'no master';
    kill $sig, $pid;
}


# a reload: a new generation of workers, the old one drains
sub reload {
    my ($self) = @_;
    my @old = $self->worker_pids;
    $self->signal('HUP');
    $self->wait_for(sub {
        my %now = map { $_ => 1 } $self->worker_pids;
        !grep { $now{$_} } @old and keys %now >= $self->{workers};
    }, 15) or croak 'reload: no new generation of workers';
}


# kill -9 of the master and all its workers: nothing runs any exit code
sub kill9 {
    my ($self) = @_;
    my $master = $self->master_pid;
    my @pids = $master ? ($master, $self->worker_pids($master)) : ();
    kill 'KILL', @pids if @pids;
    $self->wait_for(sub { !grep { kill 0, $_ } @pids }, 10);
    delete $self->{conn};
    # the children of a killed master are reaped by init; wait until gone
    $self->wait_for(sub { !grep { -e "/proc/$_" && !_zombie($_) } @pids }, 10);
    unlink "$self->{prefix}/logs/nginx.pid";
    $self->{running} = 0;
}


sub _zombie {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    my $stat = <$fh> // '';
    return $stat =~ /^\d+ \(.*\) Z/;
}


sub stop {
    my ($self, $sig) = @_;
    return unless $self->{running} && $$ == $self->{owner};
    my $master = $self->master_pid;
    if ($master) {
        kill $sig // 'QUIT', $master;
        $self->wait_for(sub { !kill 0, $master }, 30)
            or kill 'KILL', $master;
    }
    $self->{running} = 0;

    if ($ENV{TEST_NGINX_USE_VALGRIND}) {
        require Test::More;
        my @bad = $self->valgrind_errors;
        Test::More::ok(!@bad, 'valgrind: no error in crmsync')
            or Test::More::diag(join "\n", @bad);
    }
}


sub error_log {
    my ($self) = @_;
    open my $fh, '<', "$self->{prefix}/logs/error.log" or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s // '';
}


sub sql {
    my ($self, $query, $db) = @_;
    $db //= "$self->{prefix}/crmsync.db";
    open my $fh, '-|', 'sqlite3', '-batch', '-cmd', '.timeout 5000', $db, $query
        or croak "sqlite3: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\n\z//;
    return $out;
}


# ---- deliveries of the chat platforms, for the matching suites (t/sync/
# 050-matching.t, t/bench/match-bench).  Each *_request builds a signed
# delivery as [path, body, {headers}]; deliver() posts one, send_all() many
# at once.

my $Json = JSON::PP->new->canonical;


# a WhatsApp Cloud API inbound text from wa_id (digits) with the profile
# name (X-Hub-Signature-256 with the app secret).  Options: id (the wamid,
# the delivery's dedup key), text, ts (Unix seconds), from (the sender as
# written when it is not wa_id)
sub whatsapp_request {
    my ($class, $path, $secret, $wa_id, $name, %o) = @_;
    require Crmsync::Sign;
    my $id = $o{id} // 'wamid.' . _uniq();
    my $body = $Json->encode({
        object => 'whatsapp_business_account',
        entry => [{ id => '102290129340398', changes => [{ field => 'messages', value => {
            messaging_product => 'whatsapp',
            metadata => { display_phone_number => '15550783881',
                          phone_number_id => '106540352242922' },
            contacts => [{ profile => { name => $name // '' }, wa_id => $wa_id }],
            messages => [{ from => $o{from} // $wa_id, id => $id,
                           timestamp => '' . ($o{ts} // int time), type => 'text',
                           text => { body => $o{text} // 'Hello' } }],
        } }] }],
    });
    return [$path, $body, { 'content-type' => 'application/json',
                            'x-hub-signature-256' => Crmsync::Sign::meta_sig($secret, $body) }];
}


# an Intercom contact notification (topic contact.user.created unless
# topic => ...): the contact item with id, email, phone (as Intercom
# holds it: national or international) and name; X-Hub-Signature (sha1).
# Options: notif (the notification id, the dedup key)
sub intercom_request {
    my ($class, $path, $secret, $contact, %o) = @_;
    require Crmsync::Sign;
    my $now = int time;
    my $body = $Json->encode({
        type => 'notification_event', app_id => 'abc123def',
        id => $o{notif} // 'notif_' . _uniq(),
        topic => $o{topic} // 'contact.user.created',
        created_at => $now, first_sent_at => $now,
        delivery_status => 'pending', delivery_attempts => 1, delivered_at => 0,
        data => { type => 'notification_event_data', item => {
            type => 'contact', role => 'user', workspace_id => 'abc123def',
            created_at => $now, updated_at => $now,
            map { defined $contact->{$_} ? ($_ => $contact->{$_}) : () } qw(id email phone name) } },
        links => {},
    });
    return [$path, $body, { 'content-type' => 'application/json',
                            'x-hub-signature' => Crmsync::Sign::intercom_sig($secret, $body) }];
}


# a Telegram message update from a user (from_id, username, first, last;
# phone: a shared contact of the sender's own); X-Telegram-Bot-Api-
# Secret-Token.  Options: update_id (the dedup key), text
sub telegram_request {
    my ($class, $path, $secret, $from, %o) = @_;
    my $update = $o{update_id} // (int(time * 1000) % 1_000_000_000) * 100 + int rand 100;
    my %msg = (message_id => $update % 100000, date => int time,
               chat => { id => $from->{id} + 0, type => 'private' },
               from => { id => $from->{id} + 0, is_bot => JSON::PP::false(),
                         first_name => $from->{first} // 'T',
                         defined $from->{last} ? (last_name => $from->{last}) : (),
                         defined $from->{username} ? (username => $from->{username}) : () });
    if (defined $from->{phone}) {
        $msg{contact} = { phone_number => $from->{phone}, first_name => $from->{first} // 'T',
                          user_id => $from->{id} + 0 };
    } else {
        $msg{text} = $o{text} // 'Hello';
    }
    my $body = $Json->encode({ update_id => $update + 0, message => \%msg });
    return [$path, $body, { 'content-type' => 'application/json',
                            'x-telegram-bot-api-secret-token' => $secret }];
}


# a Standard Webhooks delivery of data.contact (see standard()) as a
# request; type => 'message.inbound' etc.
sub standard_request {
    my ($class, $path, $secret, $id, $contact, %o) = @_;
    require Crmsync::Sign;
    my $body = $Json->encode({
        type => $o{type} // 'contact.updated', timestamp => time_iso(),
        data => { contact => $contact, %{$o{data} // {}} },
    });
    my $ts = int time;
    return [$path, $body, { 'content-type' => 'application/json', 'webhook-id' => $id,
                            'webhook-timestamp' => $ts,
                            'webhook-signature' => Crmsync::Sign::standard_sig($secret, $id, $ts, $body) }];
}


# posts one [path, body, headers]: (status, body, headers)
sub deliver {
    my ($self, $req) = @_;
    return $self->post(@$req);
}


# $conc processes post the requests (in the order given, each process
# every $conc-th); returns { ok => count of 200, statuses => {code =>
# count}, answers => [[index, status, body]...] }
sub send_all {
    my ($self, $reqs, $conc) = @_;
    $conc ||= 4;
    my $dir = tempdir(CLEANUP => 1);
    my @kids;
    for my $k (0 .. $conc - 1) {
        my $pid = fork;
        croak "fork: $!" unless defined $pid;
        if (!$pid) {
            $self->{owner} = -1;
            delete $self->{conn};
            open my $out, '>', "$dir/$k" or POSIX::_exit(1);
            for (my $i = $k; $i < @$reqs; $i += $conc) {
                my ($st, $body) = eval { $self->post(@{$reqs->[$i]}) };
                $st //= 599;
                $body //= '';
                $body =~ s/\n//g;
                print $out "$i $st $body\n";
            }
            close $out;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    waitpid $_, 0 for @kids;
    my %r = (ok => 0, statuses => {}, answers => []);
    for my $k (0 .. $conc - 1) {
        open my $in, '<', "$dir/$k" or next;
        while (<$in>) {
            chomp;
            my ($i, $st, $body) = split / /, $_, 3;
            $r{ok}++ if $st == 200;
            $r{statuses}{$st}++;
            push @{$r{answers}}, [$i, $st, $body];
        }
        close $in;
    }
    return \%r;
}


my $uniq = 0;
sub _uniq { return sprintf '%x.%x.%x', $$, int(time * 1000), ++$uniq }


# the crmsync_jobs view's rows (every column) for a WHERE clause, as
# hashes, in the order of the jobs
sub jobs {
    my ($self, $where, $db) = @_;
    $db //= "$self->{prefix}/crmsync.db";
    my $q = 'SELECT * FROM crmsync_jobs' . ($where ? " WHERE $where" : '') . ' ORDER BY id';
    open my $fh, '-|', 'sqlite3', '-json', '-cmd', '.timeout 5000', $db, $q
        or croak "sqlite3: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return [] unless $out =~ /\S/;
    return JSON::PP::decode_json($out);
}


sub DESTROY { local ($., $@, $!, $^E, $?); $_[0]->stop }


1;

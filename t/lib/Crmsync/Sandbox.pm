package Crmsync::Sandbox;
# Start and drive util/hubspot-sandbox from a test suite.
#
#   use Crmsync::Sandbox;
#   my $sb = Crmsync::Sandbox->start(index_lag => 2, rate => '100/10s');
#   $sb->export_env;      # TEST_NGINX_HUBSPOT_URL / _PORT / _TOKEN
#   ... run_tests() ...
#   my $dups = $sb->duplicates;
#
# One sandbox per test file: it listens on a free loopback port chosen by
# the kernel (--listen 127.0.0.1:0) and is stopped by ->stop, when the
# object goes away, or at END.  Only core modules are used here
# (HTTP::Tiny, JSON::PP, IO::Select), so nginx test files can load it
# without pulling Mojolicious into their process.
use strict;
use warnings;
use Carp qw(croak);
use File::Basename qw(dirname);
use File::Spec;
use HTTP::Tiny;
use IO::Select;
use JSON::PP ();
use POSIX ();
use Time::HiRes qw(time sleep);

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;
my %LIVE;    # pid => object (weakened), for END

sub script_path {
    return $ENV{CRMSYNC_SANDBOX} if $ENV{CRMSYNC_SANDBOX};
    my $here = File::Spec->rel2abs(dirname(__FILE__));       # t/lib/Crmsync
    return File::Spec->catfile($here, '..', '..', '..', 'util', 'hubspot-sandbox');
}

sub start {
    my ($class, %o) = @_;
    my $token = exists $o{token} ? $o{token}
              : sprintf('pat-na1-%08x-%04x-sandbox', int(rand(2**32)), int(rand(2**16)));
    my @args = ('--listen', ($o{host} // '127.0.0.1') . ':' . ($o{port} // 0));
    push @args, '--index-lag', $o{index_lag} if defined $o{index_lag};
    push @args, '--rate', $o{rate} if defined $o{rate};
    push @args, '--search-rate', $o{search_rate} if defined $o{search_rate};
    push @args, '--daily', $o{daily} if defined $o{daily};
    push @args, '--latency', $o{latency_ms} if defined $o{latency_ms};
    push @args, '--webhook-url', $o{webhook_url} if defined $o{webhook_url};
    push @args, '--webhook-secret', $o{webhook_secret} if defined $o{webhook_secret};
    push @args, '--app-id', $o{app_id} if defined $o{app_id};
    push @args, '--token', $token if defined $token;
    push @args, map { ('--token', $_) } @{$o{tokens} // []};
    push @args, '--state', $o{state} if defined $o{state};
    push @args, map { ('--dup-property', $_) } @{$o{dup_properties} // []};
    push @args, '--engagement-unique', ($o{engagement_unique} ? 'on' : 'off')
        if defined $o{engagement_unique};
    push @args, '--realistic' if $o{realistic};
    push @args, @{$o{args} // []};

    my $script = script_path();
    croak "hubspot sandbox not found at $script" unless -f $script;
    pipe(my $r, my $w) or croak "pipe: $!";
    my $pid = fork;
    croak "fork: $!" unless defined $pid;
    if (!$pid) {
        close $r;
        open STDOUT, '>&', $w or POSIX::_exit(111);
        if (defined $o{stderr}) { open STDERR, '>>', $o{stderr} or POSIX::_exit(111) }
        exec($^X, $script, @args) or POSIX::_exit(112);
    }
    close $w;
    my $self = bless { pid => $pid, owner => $$, token => $token, opts => \%o,
                       http => HTTP::Tiny->new(timeout => $o{http_timeout} // 30, keep_alive => 1) }, $class;
    # Wait, by polling the pipe, for the "listening on http://HOST:PORT" line.
    my $sel = IO::Select->new($r);
    my $deadline = time + ($o{start_timeout} // 20);
    my $buf = '';
    while (time < $deadline) {
        if ($sel->can_read(0.05)) {
            my $n = sysread($r, $buf, 4096, length $buf);
            last if !$n;
            last if $buf =~ /\n/;
        }
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) { $self->{pid} = undef; last }
    }
    close $r;
    my ($url, $host, $port) = $buf =~ m{listening on (http://([^\s:]+):(\d+))};
    unless ($url) {
        $self->stop;
        croak "hubspot sandbox did not start: " . ($buf || 'no output') . "\n";
    }
    @$self{qw(url host port)} = ($url, $host, $port);
    $LIVE{$pid} = $self;
    Scalar::Util::weaken($LIVE{$pid});
    return $self;
}

sub pid   { $_[0]{pid} }
sub port  { $_[0]{port} }
sub url   { $_[0]{url} }
sub host  { $_[0]{host} }
sub token { $_[0]{token} }

# Put the sandbox's address into the environment for nginx configs:
# $TEST_NGINX_HUBSPOT_URL, _PORT, _TOKEN (prefix configurable).
sub export_env {
    my ($self, $prefix) = @_;
    $prefix //= 'TEST_NGINX_HUBSPOT';
    $ENV{"${prefix}_URL"} = $self->url;
    $ENV{"${prefix}_PORT"} = $self->port;
    $ENV{"${prefix}_TOKEN"} = $self->token // '';
    return $self;
}

sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    return unless $self->{owner} == $$;
    delete $LIVE{$pid};
    kill 'TERM', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        my $w = waitpid($pid, POSIX::WNOHANG());
        last if $w == $pid || $w == -1;
        sleep 0.02;
    }
    if (waitpid($pid, POSIX::WNOHANG()) == 0) { kill 'KILL', $pid; waitpid($pid, 0) }
    $self->{pid} = undef;
    return 1;
}

sub DESTROY { local ($., $@, $!, $^E, $?); $_[0]->stop if $_[0]{pid} }
END { local $?; for my $sb (grep { defined } values %LIVE) { $sb->stop } }

# ---------------------------------------------------------------- HTTP

sub _decode {
    my ($res) = @_;
    my $c = $res->{content};
    my $body = (defined $c && length $c && ($res->{headers}{'content-type'} // '') =~ /json/)
             ? eval { $JSON->decode($c) } : $c;
    return { status => $res->{status}, headers => $res->{headers}, body => $body,
             raw => $c, reason => $res->{reason} };
}

# $sb->api(METHOD => '/crm/v3/...', $body, %opt) -> {status, headers, body, raw}
# Sends the sandbox token unless token => undef/'' or headers override it.
sub api {
    my ($self, $method, $path, $body, %opt) = @_;
    my %h = (%{$opt{headers} // {}});
    my $tok = exists $opt{token} ? $opt{token} : $self->{token};
    $h{Authorization} //= "Bearer $tok" if defined $tok && length $tok;
    my %req = (headers => \%h);
    if (defined $body) {
        $h{'Content-Type'} //= 'application/json';
        $req{content} = ref $body ? $JSON->encode($body) : $body;
    }
    return _decode($self->{http}->request($method, $self->url . $path, \%req));
}

sub control {
    my ($self, $method, $path, $body) = @_;
    my $r = $self->api($method, "/_sandbox/$path", $body, token => undef);
    croak "sandbox $method /_sandbox/$path: $r->{status} " . ($r->{raw} // '')
        if $r->{status} >= 400 && $r->{status} != 599;
    croak "sandbox $method /_sandbox/$path: " . ($r->{raw} // 'connection failed') if $r->{status} == 599;
    return $r->{body};
}

# ---------------------------------------------------------------- control

# $sb->fault(mode => 'status', status => 503, count => 2, path => 'batch/upsert')
# $sb->fault(mode => 'hang', seconds => 3) / (mode => 'reset') /
# (mode => 'commit_then_fail', status => 502) / (share => 0.25, ...)
sub fault {
    my ($self, @f) = @_;
    my $b = @f == 1 ? $f[0] : {@f};
    return $self->control(POST => 'faults', $b)->{faults};
}
sub faults       { $_[0]->control(GET => 'faults')->{faults} }
sub clear_faults { $_[0]->control(DELETE => 'faults'); 1 }

sub objects {
    my ($self, $type) = @_;
    return $self->control(GET => 'objects' . (defined $type ? "?type=$type" : ''));
}
sub object { my ($self, $type, $id) = @_; $self->control(GET => "objects/$type/$id") }

sub contacts { my ($self) = @_; [grep { !$_->{archived} } @{$self->objects('contacts')->{contacts}}] }

sub duplicates {
    my ($self, @props) = @_;
    return $self->control(GET => 'duplicates' . (@props ? '?props=' . join(',', @props) : ''));
}

sub requests {
    my ($self, %q) = @_;
    my $qs = join '&', map { "$_=" . _esc($q{$_}) } sort keys %q;
    return $self->control(GET => 'requests' . ($qs ? "?$qs" : ''));
}
sub clear_requests { $_[0]->control(DELETE => 'requests'); 1 }

# Number of requests seen for an endpoint such as
# 'POST /crm/v3/objects/contacts/batch/upsert' (0 if none).
sub count {
    my ($self, $ep) = @_;
    my $r = $self->requests(limit => 0);
    return $r->{by_endpoint}{$ep}{count} // 0;
}

sub reset {
    my ($self, %o) = @_;
    $self->control(POST => 'reset', {%o});
    return 1;
}

sub revoke_token {
    my ($self, $tok) = @_;
    $tok //= $self->{token};
    $self->control(POST => 'tokens/' . _esc($tok) . '/revoke');
    return 1;
}

sub add_token {
    my ($self, $tok, %o) = @_;
    $self->control(POST => 'tokens', { token => $tok, %o });
    return 1;
}

sub config {
    my ($self, %c) = @_;
    return %c ? $self->control(POST => 'config', {%c}) : $self->control(GET => 'config');
}

sub flush_index { $_[0]->control(POST => 'index/flush'); 1 }

# Webhooks HubSpot -> app: $sb->webhooks(url => ..., secret => ..., batch_ms => 50)
# configures (and enables); without arguments returns the configuration and
# the delivery log; ->webhooks_off disables.
sub webhooks {
    my ($self, %c) = @_;
    return %c ? $self->control(POST => 'webhooks', {%c}) : $self->control(GET => 'webhooks');
}
sub webhooks_off { $_[0]->control(DELETE => 'webhooks'); 1 }

# A change made by a person in HubSpot's UI (webhooks say CRM_UI):
#   $sb->ui(PATCH => 'contacts/123', { properties => {...} })
#   $sb->ui(POST => 'contacts', { properties => {...} }), ->ui(DELETE => 'deals/5'),
#   $sb->ui(POST => 'contacts/merge', { primaryObjectId => ..., objectIdToMerge => ... })
sub ui {
    my ($self, $method, $what, $body) = @_;
    return $self->control($method, "ui/$what", $body);
}
sub add_owner    { my ($self, %o) = @_; $self->control(POST => 'owners', {%o}) }
sub add_pipeline { my ($self, %o) = @_; $self->control(POST => 'pipelines', {%o}) }
sub save_state   { my ($self, $f) = @_; $self->control(POST => 'state', defined $f ? { file => $f } : {}) }

# Poll $cond->() every $step seconds until it returns true or $timeout
# seconds pass; returns the last value.
sub wait_for {
    my ($self, $cond, $timeout, $step) = @_;
    $timeout //= 10;
    $step //= 0.05;
    my $deadline = time + $timeout;
    my $v;
    while (1) {
        $v = $cond->();
        return $v if $v || time >= $deadline;
        sleep $step;
    }
}

sub _esc { my $s = shift; $s =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge; $s }

require Scalar::Util;

1;

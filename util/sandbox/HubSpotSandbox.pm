package HubSpotSandbox;
# Server, dispatcher, auth, rate limits, faults, request log, /_sandbox.
# The CRM data model lives in HubSpotSandbox::Store (Store.pm).
use Mojo::Base -base, -signatures;
use Mojo::IOLoop;
use HubSpotSandbox::HTTP;
use Mojo::JSON qw(encode_json decode_json true false);
use Time::HiRes qw(time);
use POSIX ();
use HubSpotSandbox::Store;
use HubSpotSandbox::Webhooks;
use Mojo::Parameters;

has 'cfg';
has 'store';
has 'webhooks';

sub run ($opt) {
    my $app = __PACKAGE__->new;
    $app->cfg({
        index_lag   => $opt->{index_lag} // 0,
        portal_id   => $opt->{portal_id} // 12345678,
        tokens      => [@{$opt->{tokens} // []}],
        state       => $opt->{state},
        log_size    => $opt->{log_size} || 20000,
        dup_props   => [@{$opt->{dup_props} // []}],
        latency_ms  => $opt->{latency_ms} // 0,
        engagement_unique => on_off($opt->{engagement_unique} // 'off', '--engagement-unique'),
    });
    $app->set_limits(rate => $opt->{rate}, search_rate => $opt->{search_rate},
                     daily => $opt->{daily});
    $app->store(HubSpotSandbox::Store->new(cfg => $app->cfg));
    $app->webhooks(HubSpotSandbox::Webhooks->new(portal_id => $app->cfg->{portal_id}));
    $app->webhooks->configure({ map { defined $opt->{"webhook_$_"} ? ($_ => $opt->{"webhook_$_"}) : () }
                                qw(url secret app_id) });
    my $wh = $app->webhooks;
    $app->store->{on_event} = sub { $wh->event(@_) };
    $app->reset_runtime;
    if ($app->cfg->{state} && -s $app->cfg->{state}) {
        eval { $app->store->load_file($app->cfg->{state}); 1 }
            or die "hubspot-sandbox: cannot load state from $opt->{state}: $@";
    }

    my ($host, $port) = $opt->{listen} =~ /^\[?([^\]]*?)\]?:(\d+)$/
        or die "hubspot-sandbox: --listen must be HOST:PORT\n";
    Mojo::IOLoop->singleton->max_connections(10000);
    my $real = eval { HubSpotSandbox::HTTP->listen($host, $port, sub ($req) { $app->handler($req) }) }
        // die "hubspot-sandbox: cannot listen on $host:$port: " . ($@ =~ s/ at \S+ line \d+.*//sr) . "\n";
    my $stop = sub {
        my $sig = shift;
        eval { $app->store->save_file($app->cfg->{state}) if $app->cfg->{state} };
        warn "hubspot-sandbox: saving state failed: $@" if $@;
        exit 0;
    };
    # With EV the loop sits in C; a Perl %SIG handler would only run at
    # the next event, so use EV's own signal watchers when EV is in use.
    my @sigw;
    if (Mojo::IOLoop->singleton->reactor->isa('Mojo::Reactor::EV')) {
        @sigw = map { my $s = $_; EV::signal($s, sub { $stop->($s) }) } qw(TERM INT);
    } else {
        $SIG{TERM} = $SIG{INT} = $stop;
    }
    $| = 1;
    $SIG{PIPE} = 'IGNORE';
    unless ($opt->{quiet}) {
        my $l = $app->limits;
        printf "hubspot-sandbox listening on http://%s:%d (index-lag %gs, rate %s, search-rate %s, daily %s)\n",
            $host, $real, $app->cfg->{index_lag},
            $l->{rate_max} ? "$l->{rate_max}/" . ($l->{rate_window}) . 's' : 'off',
            $l->{search_max} ? "$l->{search_max}/s" : 'off',
            $l->{daily} || 'off';
    }
    Mojo::IOLoop->start;
    return 0;
}

# "on"/"off" (also 1/0, true/false, yes/no) -> 1/0; dies on anything else
sub on_off ($v, $what) {
    return $v ? 1 : 0 if ref $v;
    return 1 if $v =~ /^\s*(?:1|on|true|yes)\s*$/i;
    return 0 if $v =~ /^\s*(?:0|off|false|no)\s*$/i;
    die "hubspot-sandbox: $what must be on or off, not '$v'\n";
}

# ---------------------------------------------------------------- limits

has 'limits';

sub parse_rate ($spec, $default_window) {
    return (0, $default_window) if !defined $spec || $spec =~ /^(?:0|off|none|)$/i;
    $spec =~ m{^\s*(\d+)\s*(?:(?:r|req)?\s*/\s*(\d*)\s*s(?:ec)?)?\s*$}i
        or die "hubspot-sandbox: bad rate '$spec' (want N/10s or N/s)\n";
    return ($1 + 0, ($2 ne '' && defined $2) ? $2 + 0 : $default_window) if defined $2;
    return ($1 + 0, $default_window);
}

sub set_limits ($self, %a) {
    my $l = $self->limits // {};
    if (exists $a{rate}) {
        @$l{qw(rate_max rate_window)} = parse_rate($a{rate}, 10);
        $l->{rate_window} ||= 10;
    }
    if (exists $a{search_rate}) {
        @$l{qw(search_max search_window)} = parse_rate($a{search_rate}, 1);
        $l->{search_window} ||= 1;
    }
    if (exists $a{daily}) {
        my $d = $a{daily};
        $l->{daily} = (!defined $d || $d =~ /^(?:0|off|none|)$/i) ? 0 : int($d);
    }
    $self->limits($l);
}

# ---------------------------------------------------------------- runtime

has 'rt';    # runtime: tokens, rate windows, faults, request log, counters

# "--token TOKEN" or "--token TOKEN:scope1,scope2": a token with a list
# of scopes is refused (403 MISSING_SCOPES) the calls that need a scope
# it lacks; a token without a list has every scope
sub parse_token ($spec) {
    my ($tok, $scopes) = $spec =~ /^([^:]*):(.*)$/s ? ($1, $2) : ($spec, undef);
    return ($tok, {}) unless defined $scopes;
    return ($tok, { scopes => _scope_list($scopes) });
}

sub _scope_list ($v) {
    my @s = ref $v eq 'ARRAY' ? @$v : split /[,\s]+/, ($v // '');
    return [grep { length } @s];
}

sub reset_runtime ($self) {
    my %tok = map { parse_token($_) } @{$self->cfg->{tokens}};
    $self->rt({
        any_token => !@{$self->cfg->{tokens}},
        tokens    => \%tok,        # token => {expires_at => epoch}
        revoked   => {},
        burst     => [],           # timestamps of counted non-search calls
        burst_head => 0,
        search    => [],
        search_head => 0,
        daily_used => 0,
        daily_day  => _day(),
        faults    => [],
        fault_seq => 0,
        log       => [],
        log_seq   => 0,
        by_ep     => {},
        per_sec   => {},           # int(second) => count of API requests
        total     => 0,
    });
}

my ($DAY_SEC, $DAY) = (-1, '');
sub _day {
    my $now = int time;
    return $DAY if $now == $DAY_SEC;
    my @t = gmtime $now;
    $DAY_SEC = $now;
    return $DAY = sprintf '%04d-%02d-%02d', $t[5] + 1900, $t[4] + 1, $t[3];
}

sub cid {
    sprintf '%08x-%04x-4%03x-%04x-%012x', int(rand(2**32)), int(rand(2**16)),
        int(rand(2**12)), 0x8000 | int(rand(2**14)), int(rand(2**48));
}

# ---------------------------------------------------------------- handler

sub handler ($self, $tx) {
    my $req = $tx;          # HubSpotSandbox::HTTP::Req: request and responder
    my $method = $req->method;
    my $path = $req->path;

    if (index($path, '/_sandbox') == 0) {
        my ($code, $body, $hdr) = eval { $self->control($method, $path, $tx) };
        ($code, $body) = (500, {status => 'error', message => "sandbox: $@"}) if $@;
        return $self->send($tx, $code, $body, $hdr);
    }
    my $t0 = time;
    my $entry = { seq => ++$self->rt->{log_seq}, t => $t0, method => $method,
                  path => $req->target };
    my $rt = $self->rt;
    $rt->{total}++;
    $rt->{per_sec}{int $t0}++;

    my $is_search = $method eq 'POST' && $path =~ m{/search$} ? 1 : 0;
    my %hdr = ('X-HubSpot-Correlation-Id' => cid());

    # --- authentication
    my $auth = $req->header('authorization') // '';
    my ($tok) = $auth =~ /^Bearer\s+(\S+)\s*$/i;
    my $why = $self->auth_failure($tok);
    if ($why) {
        $hdr{'x-hubspot-auth-failure'} = '401 Unauthorized';
        my $body = $why eq 'expired'
          ? { status => 'error', message => 'The OAuth token used to make this call expired 0 second(s) ago.',
              correlationId => $hdr{'X-HubSpot-Correlation-Id'}, category => 'EXPIRED_AUTHENTICATION',
              context => { 'expire time' => [ HubSpotSandbox::Store::iso($rt->{tokens}{$tok}{expires_at} * 1000) ] } }
          : { status => 'error',
              message => 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
              correlationId => $hdr{'X-HubSpot-Correlation-Id'}, category => 'INVALID_AUTHENTICATION' };
        return $self->finish($tx, $entry, 401, $body, \%hdr);
    }

    # --- scopes (tokens given with a scope list only)
    if (my $need = $self->missing_scope($tok, $method, $path)) {
        my $body = { status => 'error',
                     message => "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
                     correlationId => $hdr{'X-HubSpot-Correlation-Id'},
                     errors => [{ message => 'One or more of the following scopes are required.',
                                  context => { requiredGranularScopes => [$need] } }],
                     category => 'MISSING_SCOPES' };
        return $self->finish($tx, $entry, 403, $body, \%hdr);
    }

    # --- rate limits
    my $policy = $self->rate_check($t0, $is_search);
    $self->rate_headers(\%hdr, $t0) unless $is_search;
    if ($policy) {
        my %msg = (DAILY => 'You have reached your daily limit.',
                   TEN_SECONDLY_ROLLING => 'You have reached your ten_secondly_rolling limit.',
                   SECONDLY => 'You have reached your secondly limit.');
        my $body = { status => 'error', message => $msg{$policy}, errorType => 'RATE_LIMIT',
                     correlationId => $hdr{'X-HubSpot-Correlation-Id'}, policyName => $policy,
                     requestId => cid() };
        $body->{groupName} = 'publicapi:crm:search:private-app:' . $self->cfg->{portal_id}
            if $policy eq 'SECONDLY';
        $entry->{limited} = $policy;
        return $self->finish($tx, $entry, 429, $body, \%hdr);
    }

    # --- fault injection
    my $fault = $self->pick_fault($method, $path);
    if ($fault) {
        $entry->{fault} = $fault->{mode};
        my $m = $fault->{mode};
        if ($m eq 'reset') {
            return $self->reset_conn($tx, $entry);
        }
        if ($m eq 'status') {
            %hdr = (%hdr, %{$fault->{headers}}) if ref $fault->{headers} eq 'HASH';
            return $self->finish($tx, $entry, $fault->{status}, $self->fault_body($fault, \%hdr), \%hdr);
        }
        if ($m eq 'hang') {
            Mojo::IOLoop->timer($fault->{seconds} => sub {
                $self->serve($tx, $entry, $method, $path, \%hdr, undef);
            });
            return;
        }
        if ($m eq 'commit_then_fail') {
            return $self->serve($tx, $entry, $method, $path, \%hdr, $fault);
        }
    }
    if (my $lat = $self->cfg->{latency_ms}) {
        Mojo::IOLoop->timer($lat / 1000 => sub { $self->serve($tx, $entry, $method, $path, \%hdr, undef) });
        return;
    }
    return $self->serve($tx, $entry, $method, $path, \%hdr, undef);
}

sub serve ($self, $tx, $entry, $method, $path, $hdr, $fail_after) {
    my ($code, $body, $ep);
    eval {
        ($code, $body, $ep) = $self->store->dispatch($method, $path, $tx);
        1;
    } or do {
        my $e = $@;
        if (ref $e eq 'ARRAY') { ($code, $body) = @$e }
        else {
            warn "hubspot-sandbox: internal error: $e";
            ($code, $body) = (500, { status => 'error', message => 'internal error' });
        }
    };
    $entry->{endpoint} = $ep if $ep;
    $body->{correlationId} = $hdr->{'X-HubSpot-Correlation-Id'}
        if ref $body eq 'HASH' && ($body->{status} // '') eq 'error';
    if ($fail_after) {
        $entry->{committed_status} = $code;
        return $self->reset_conn($tx, $entry) if ($fail_after->{then} // '') eq 'reset';
        my %h = (%$hdr, ref $fail_after->{headers} eq 'HASH' ? %{$fail_after->{headers}} : ());
        return $self->finish($tx, $entry, $fail_after->{status}, $self->fault_body($fail_after, \%h), \%h);
    }
    return $self->finish($tx, $entry, $code, $body, $hdr);
}

sub finish ($self, $tx, $entry, $code, $body, $hdr) {
    $entry->{status} = $code;
    $entry->{ms} = sprintf '%.2f', (time - $entry->{t}) * 1000;
    $self->log_request($entry, $tx);
    return $self->send($tx, $code, $body, $hdr);
}

sub send ($self, $tx, $code, $body, $hdr) {
    my %h = %{$hdr // {}};
    if (ref $body) {
        $h{'Content-Type'} = 'application/json;charset=utf-8';
        $body = encode_json($body);
    } elsif (defined $body && length $body) {
        $h{'Content-Type'} //= 'text/html';
    }
    $tx->respond($code, \%h, $body);
    return;
}

sub reset_conn ($self, $tx, $entry) {
    $entry->{status} = 0;
    $entry->{ms} = sprintf '%.2f', (time - $entry->{t}) * 1000;
    $self->log_request($entry, $tx);
    $tx->reset;
    return;
}

sub log_request ($self, $entry, $tx) {
    my $rt = $self->rt;
    my $ep = $entry->{endpoint} //= $entry->{method} . ' ' . _template($entry->{path});
    my $c = $rt->{by_ep}{$ep} //= { count => 0, statuses => {} };
    $c->{count}++;
    $c->{statuses}{$entry->{status}}++;
    my $b = $tx->body;
    if (defined $b && length $b) {
        $entry->{body} = length($b) > 2048 ? substr($b, 0, 2048) . '...' : $b;
    }
    my $log = $rt->{log};
    push @$log, $entry;
    splice(@$log, 0, @$log - $self->cfg->{log_size}) if @$log > $self->cfg->{log_size} + 1000;
}

sub _template ($p) {
    $p =~ s/\?.*//s;
    $p =~ s{/\d+(?=/|$)}{/{id}}g;
    $p =~ s{/[^/]*@[^/]*(?=/|$)}{/{id}}g;
    return $p;
}

# ---------------------------------------------------------------- auth

sub auth_failure ($self, $tok) {
    my $rt = $self->rt;
    return 'invalid' unless defined $tok && length $tok;
    return 'invalid' if $rt->{revoked}{$tok};
    if (my $t = $rt->{tokens}{$tok}) {
        return 'expired' if $t->{expires_at} && time >= $t->{expires_at};
        return;
    }
    return $rt->{any_token} ? undef : 'invalid';
}

# the scope a call needs and the token lacks, or undef.  Modelled: the
# schema writes (creating, changing or deleting a property of a type need
# crm.schemas.<type>.write); every other call needs no scope here.
sub missing_scope ($self, $tok, $method, $path) {
    my $t = $self->rt->{tokens}{$tok // ''} or return;
    my $have = $t->{scopes} or return;
    return unless $method ne 'GET' && $path =~ m{^/crm/(?:v3/properties|properties/\d{4}-\d\d)/([^/]+)};
    my $type = eval { HubSpotSandbox::Store::norm_type($1) } // return;
    my $need = "crm.schemas.$type.write";
    return (grep { $_ eq $need } @$have) ? undef : $need;
}

# ---------------------------------------------------------------- rate limits

sub _window_count ($list, $headref, $since) {
    my $h = $$headref;
    $h++ while $h < @$list && $list->[$h] <= $since;
    if ($h > 4096) { splice @$list, 0, $h; $h = 0 }
    $$headref = $h;
    return @$list - $h;
}

sub rate_check ($self, $now, $is_search) {
    my $rt = $self->rt;
    my $l = $self->limits;
    if ($l->{daily}) {
        my $d = _day();
        if ($d ne $rt->{daily_day}) { $rt->{daily_day} = $d; $rt->{daily_used} = 0 }
        return 'DAILY' if $rt->{daily_used} >= $l->{daily};
    }
    if ($is_search) {
        if ($l->{search_max}) {
            my $n = _window_count($rt->{search}, \$rt->{search_head}, $now - $l->{search_window});
            return 'SECONDLY' if $n >= $l->{search_max};
            push @{$rt->{search}}, $now;
        }
    } else {
        # the burst window is kept even with the limit off, for the headers
        my $n = _window_count($rt->{burst}, \$rt->{burst_head}, $now - ($l->{rate_window} || 10));
        return 'TEN_SECONDLY_ROLLING' if $l->{rate_max} && $n >= $l->{rate_max};
        push @{$rt->{burst}}, $now;
        my $sec = int $now;
        if (($rt->{sec_bucket} // 0) == $sec) { $rt->{sec_count}++ }
        else { $rt->{sec_bucket} = $sec; $rt->{sec_count} = 1 }
    }
    $rt->{daily_used}++;
    return;
}

use constant UNLIMITED => 1_000_000;

sub rate_headers ($self, $hdr, $now) {
    my $rt = $self->rt;
    my $l = $self->limits;
    my $win = $l->{rate_window} || 10;
    my $max = $l->{rate_max} || UNLIMITED;
    my $used = @{$rt->{burst}} - $rt->{burst_head};
    my $sec_max = POSIX::ceil($max / $win);
    my $sec = int $now;
    my $sec_used = ($rt->{sec_bucket} // 0) == $sec ? $rt->{sec_count} : 0;
    my $daily = $l->{daily} || UNLIMITED * 1000;
    $hdr->{'X-HubSpot-RateLimit-Daily'} = $daily;
    $hdr->{'X-HubSpot-RateLimit-Daily-Remaining'} = _nonneg($daily - $rt->{daily_used});
    $hdr->{'X-HubSpot-RateLimit-Interval-Milliseconds'} = $win * 1000;
    $hdr->{'X-HubSpot-RateLimit-Max'} = $max;
    $hdr->{'X-HubSpot-RateLimit-Remaining'} = _nonneg($max - $used);
    $hdr->{'X-HubSpot-RateLimit-Secondly'} = $sec_max;
    $hdr->{'X-HubSpot-RateLimit-Secondly-Remaining'} = _nonneg($sec_max - $sec_used);
}

sub _nonneg ($n) { $n < 0 ? 0 : $n }

# ---------------------------------------------------------------- faults

sub add_fault ($self, $f) {
    my %f = %$f;
    my $m = $f{mode} // ($f{status} ? 'status' : undef);
    die [400, { status => 'error', message => 'fault: mode must be status, hang, reset or commit_then_fail' }]
        unless defined $m && $m =~ /^(?:status|hang|reset|commit_then_fail)$/;
    $f{mode} = $m;
    $f{status} //= 500 if $m eq 'status' || $m eq 'commit_then_fail';
    die [400, { status => 'error', message => 'fault: status must be 500, 502, 503 or 504 (or another 4xx/5xx)' }]
        if defined $f{status} && $f{status} !~ /^[45]\d\d$/;
    $f{seconds} //= 5 if $m eq 'hang';
    die [400, { status => 'error', message => 'fault: seconds must be a positive number' }]
        if $m eq 'hang' && !($f{seconds} =~ /^\d+(?:\.\d+)?$/ && $f{seconds} > 0 && $f{seconds} <= 600);
    if (defined $f{share}) {
        die [400, { status => 'error', message => 'fault: share must be in (0, 1]' }]
            unless $f{share} =~ /^[\d.]+$/ && $f{share} > 0 && $f{share} <= 1;
        $f{acc} = 0;
        $f{count} = $f{max} if defined $f{max};
    } else {
        $f{count} //= 1;
        die [400, { status => 'error', message => 'fault: count must be a positive integer' }]
            unless $f{count} =~ /^\d+$/ && $f{count} > 0;
    }
    if (defined $f{path}) {
        my $re = eval { qr/$f{path}/ };
        die [400, { status => 'error', message => "fault: bad path regex: $@" }] unless $re;
        $f{re} = $re;
    }
    $f{id} = ++$self->rt->{fault_seq};
    $f{hits} = 0;
    push @{$self->rt->{faults}}, \%f;
    return \%f;
}

sub pick_fault ($self, $method, $path) {
    my $faults = $self->rt->{faults};
    return unless @$faults;
    for my $i (0 .. $#$faults) {
        my $f = $faults->[$i];
        next if $f->{method} && uc($f->{method}) ne $method;
        next if $f->{re} && $path !~ $f->{re};
        if (defined $f->{share}) {
            $f->{acc} += $f->{share};
            next if $f->{acc} < 1 - 1e-9;
            $f->{acc} -= 1;
        }
        $f->{hits}++;
        if (defined $f->{count} && --$f->{count} <= 0) { splice @$faults, $i, 1 }
        return $f;
    }
    return;
}

sub fault_body ($self, $f, $hdr) {
    my $code = $f->{status};
    my $kind = $f->{body} // (($code == 502 || $code == 504) ? 'html' : 'json');
    if ($kind eq 'html') {
        my %t = (502 => 'Bad Gateway', 504 => 'Gateway Timeout', 503 => 'Service Unavailable', 500 => 'Internal Server Error');
        my $t = $t{$code} // 'Error';
        return "<html><head><title>$code $t</title></head><body><h1>$code $t</h1></body></html>\n";
    }
    my %msg = (423 => 'Locked: a concurrent request holds a lock on this record; locks last 2 seconds',
               477 => 'Migration in progress', 503 => 'Service Unavailable');
    return { status => 'error',
             message => $f->{message} // $msg{$code} // 'internal error',
             correlationId => $hdr->{'X-HubSpot-Correlation-Id'},
             category => $code == 503 ? 'SERVICE_UNAVAILABLE' : $code == 423 ? 'LOCKED'
                       : $code < 500 ? 'VALIDATION_ERROR' : 'INTERNAL_ERROR' };
}

# ---------------------------------------------------------------- control

sub _json_body ($tx) {
    my $b = $tx->body;
    return {} unless defined $b && length $b;
    my $d = eval { decode_json($b) };
    die [400, { status => 'error', message => "invalid JSON: $@" }] unless defined $d;
    return $d;
}

sub control ($self, $method, $path, $tx) {
    my $st = $self->store;
    my $q = $tx->query;
    my $p = $path =~ s{^/_sandbox/?}{}r;
    $p =~ s{/$}{};
    my $r = eval {
        if ($p eq 'health' || $p eq '') {
            return [200, { ok => true, pid => $$ }];
        }
        if ($p eq 'objects' && $method eq 'GET') {
            return [200, $st->dump_objects($q->param('type'))];
        }
        if ($p =~ m{^objects/([^/]+)/([^/]+)$} && $method eq 'GET') {
            my $o = $st->dump_one($1, $2);
            return $o ? [200, $o] : [404, { status => 'error', message => 'no such object' }];
        }
        if ($p eq 'duplicates' && $method eq 'GET') {
            my @extra = split /,/, ($q->param('props') // '');
            return [200, $st->duplicates([@{$self->cfg->{dup_props}}, @extra])];
        }
        if ($p eq 'requests' && $method eq 'GET') {
            return [200, $self->request_report($q)];
        }
        if ($p eq 'requests' && $method eq 'DELETE') {
            my $rt = $self->rt;
            @$rt{qw(log by_ep per_sec)} = ([], {}, {});
            $rt->{total} = 0;
            return [204, undef];
        }
        if ($p eq 'reset' && $method eq 'POST') {
            my $keep = _json_body($tx);
            $st->reset(keep_properties => $keep->{keep_properties});
            $self->webhooks->queue([]);
            $self->webhooks->deliveries([]);
            my $tokens = $self->rt->{tokens};
            my $revoked = $self->rt->{revoked};
            $self->reset_runtime;
            if ($keep->{keep_tokens}) {
                $self->rt->{tokens} = $tokens; $self->rt->{revoked} = $revoked;
            }
            return [200, { ok => true }];
        }
        if ($p eq 'faults' && $method eq 'POST') {
            my $b = _json_body($tx);
            my @f = map { $self->add_fault($_) } (ref $b eq 'ARRAY' ? @$b : ($b));
            return [201, { faults => [map { _fault_view($_) } @f] }];
        }
        if ($p eq 'faults' && $method eq 'GET') {
            return [200, { faults => [map { _fault_view($_) } @{$self->rt->{faults}}] }];
        }
        if ($p eq 'faults' && $method eq 'DELETE') {
            $self->rt->{faults} = [];
            return [204, undef];
        }
        if ($p eq 'tokens' && $method eq 'POST') {
            my $b = _json_body($tx);
            my $t = $b->{token} // die [400, { status => 'error', message => 'token required' }];
            $self->rt->{tokens}{$t} = { $b->{expires_in} ? (expires_at => time + $b->{expires_in}) : (),
                                        defined $b->{scopes} ? (scopes => _scope_list($b->{scopes})) : () };
            delete $self->rt->{revoked}{$t};
            $self->rt->{any_token} = 0;
            return [201, { token => $t }];
        }
        if ($p =~ m{^tokens/(.+?)(?:/revoke)?$} && ($method eq 'DELETE' || $method eq 'POST')) {
            my $t = $1;
            delete $self->rt->{tokens}{$t};
            $self->rt->{revoked}{$t} = 1;
            return [204, undef];
        }
        if ($p eq 'tokens' && $method eq 'GET') {
            return [200, { any_token => $self->rt->{any_token} ? true : false,
                           tokens => [sort keys %{$self->rt->{tokens}}],
                           scopes => { map { $_->[0] => $_->[1]{scopes} }
                                       grep { $_->[1]{scopes} }
                                       map { [$_, $self->rt->{tokens}{$_}] } sort keys %{$self->rt->{tokens}} },
                           revoked => [sort keys %{$self->rt->{revoked}}] }];
        }
        if ($p eq 'config' && $method eq 'GET') {
            return [200, $self->config_view];
        }
        if ($p eq 'config' && ($method eq 'POST' || $method eq 'PATCH')) {
            my $b = _json_body($tx);
            eval {
                $self->set_limits(map { exists $b->{$_} ? ($_ => $b->{$_}) : () } qw(rate search_rate daily));
                1;
            } or die [400, { status => 'error', message => "$@" }];
            if (exists $b->{index_lag}) { $self->cfg->{index_lag} = $b->{index_lag} + 0; $st->relag }
            if (exists $b->{latency_ms}) { $self->cfg->{latency_ms} = $b->{latency_ms} + 0 }
            if (exists $b->{daily_used}) { $self->rt->{daily_used} = $b->{daily_used} + 0 }
            if (exists $b->{engagement_unique}) {
                $self->cfg->{engagement_unique} = eval { on_off($b->{engagement_unique} // '', 'engagement_unique') }
                    // die [400, { status => 'error', message => 'engagement_unique must be on or off' }];
            }
            return [200, $self->config_view];
        }
        if ($p eq 'webhooks' && $method eq 'GET') {
            return [200, $self->webhooks->view];
        }
        if ($p eq 'webhooks' && ($method eq 'POST' || $method eq 'PATCH')) {
            return [200, $self->webhooks->configure(_json_body($tx))];
        }
        if ($p eq 'webhooks' && $method eq 'DELETE') {
            $self->webhooks->disable;
            return [204, undef];
        }
        if ($p =~ m{^ui/([^/]+)(?:/([^/]+))?$}) {
            # a change made by a person in HubSpot's UI: no auth, no limits,
            # not in the request log; webhooks say changeSource CRM_UI
            my ($type, $id) = ($1, $2);
            $type = HubSpotSandbox::Store::norm_type($type);
            my $b = $method eq 'DELETE' ? {} : _json_body($tx);
            my $wh = $self->webhooks;
            my $old = $wh->source;
            $wh->source({ changeSource => 'CRM_UI', sourceId => 'userId:' . ($b->{userId} // 9586504) });
            my @r = eval {
                return $st->api_merge($type, $b) if defined $id && $id eq 'merge' && $method eq 'POST';
                return $st->api_create($type, $b) if !defined $id && $method eq 'POST';
                return $st->api_patch($type, $id, Mojo::Parameters->new, $b) if defined $id && $method eq 'PATCH';
                return $st->api_delete($type, $id) if defined $id && $method eq 'DELETE';
                die [405, { status => 'error', message => "unknown UI action $method /_sandbox/$p" }];
            };
            my $e = $@;
            $wh->source($old);
            die $e if $e;
            return [@r[0, 1]];
        }
        if ($p eq 'index/flush' && $method eq 'POST') {
            $st->flush_index;
            return [200, { ok => true }];
        }
        if ($p eq 'owners' && $method eq 'POST') {
            return [201, $st->add_owner(_json_body($tx))];
        }
        if ($p eq 'pipelines' && $method eq 'POST') {
            return [201, $st->add_pipeline(_json_body($tx))];
        }
        if ($p eq 'state' && $method eq 'POST') {
            my $f = _json_body($tx)->{file} // $self->cfg->{state}
                // die [400, { status => 'error', message => 'file required' }];
            $st->save_file($f);
            return [200, { saved => $f }];
        }
        return [404, { status => 'error', message => "unknown sandbox endpoint $method /_sandbox/$p" }];
    };
    if (!$r) {
        my $e = $@;
        return @$e if ref $e eq 'ARRAY';
        die $e;
    }
    return ($r->[0], $r->[1], { 'X-HubSpot-Correlation-Id' => cid() });
}

sub _fault_view ($f) {
    return { map { defined $f->{$_} ? ($_ => $f->{$_}) : () }
             qw(id mode status seconds count share method path then body headers message hits) };
}

sub config_view ($self) {
    my $l = $self->limits;
    return { index_lag => $self->cfg->{index_lag}, latency_ms => $self->cfg->{latency_ms},
             rate => $l->{rate_max} ? "$l->{rate_max}/$l->{rate_window}s" : 'off',
             search_rate => $l->{search_max} ? "$l->{search_max}/$l->{search_window}s" : 'off',
             daily => $l->{daily} || 'off',
             daily_used => $self->rt->{daily_used},
             engagement_unique => $self->cfg->{engagement_unique} ? true : false,
             portal_id => $self->cfg->{portal_id} };
}

sub request_report ($self, $q) {
    my $rt = $self->rt;
    my $since = $q->param('since') // 0;
    my $limit = $q->param('limit') // 1000;
    my @log = grep { $_->{seq} > $since } @{$rt->{log}};
    if (my $ep = $q->param('endpoint')) { @log = grep { $_->{endpoint} eq $ep } @log }
    if (my $m = $q->param('method')) { @log = grep { $_->{method} eq uc $m } @log }
    if (my $pre = $q->param('path')) { @log = grep { index($_->{path}, $pre) >= 0 } @log }
    @log = @log[-$limit .. -1] if $limit =~ /^\d+$/ && @log > $limit;
    my $ps = $rt->{per_sec};
    my @secs = sort { $a <=> $b } keys %$ps;
    my ($peak1, $peak10) = (0, 0);
    for my $i (0 .. $#secs) {
        my $s = $secs[$i];
        $peak1 = $ps->{$s} if $ps->{$s} > $peak1;
        my $sum = 0;
        $sum += $ps->{$_} // 0 for ($s - 9 .. $s);
        $peak10 = $sum if $sum > $peak10;
    }
    my %status;
    $status{$_->{status}}++ for @{$rt->{log}};
    return { total => $rt->{total}, by_endpoint => $rt->{by_ep},
             peak_rate_1s => $peak1, peak_rate_10s => $peak10,
             last_seq => $rt->{log_seq}, log => \@log };
}

1;

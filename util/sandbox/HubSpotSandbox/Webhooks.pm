package HubSpotSandbox::Webhooks;
# HubSpot -> app webhooks: CRM changes become batched, signed deliveries
# (fact sheet §12): a JSON array of at most 100 events, the v3 signature
# over method + URL + body + timestamp (ms) plus the legacy v1/v2 header,
# retried on a connection failure, a slow answer (> 5 s) or any 4xx/5xx.
use Mojo::Base -base, -signatures;
use Mojo::IOLoop;
use Mojo::JSON qw(encode_json true false);
use Mojo::UserAgent;
use Digest::SHA qw(hmac_sha256 sha256_hex);
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);

my %SINGULAR = (contacts => 'contact', companies => 'company', deals => 'deal');
my %SUB_ID = ('creation' => 1, 'deletion' => 2, 'propertyChange' => 3, 'merge' => 4);
my @DEFAULT_SUBS = map { my $t = $_; map { "$t.$_" } qw(creation deletion propertyChange merge) } qw(contact deal company);
my $SYSTEM = qr/^(?:hs_object_id|createdate|hs_createdate|lastmodifieddate|hs_lastmodifieddate|hs_merged_object_ids
                 |hs_additional_emails|hs_searchable_calculated_\w+|hs_calculated_\w+)$/x;

has portal_id => 12345678;
has cfg => sub { {} };
has ua => sub { Mojo::UserAgent->new(connect_timeout => 5, request_timeout => 5, inactivity_timeout => 5) };
has queue => sub { [] };
has deliveries => sub { [] };
has seq => 0;
has source => sub { { changeSource => 'API' } };

sub configure ($self, $c) {
    my %c = (%{$self->cfg}, %$c);
    $c{secret} //= 'sandbox-client-secret';
    $c{app_id} //= 54321;
    $c{signature_version} //= 'v1';
    $c{batch_ms} //= 200;
    $c{max_batch} //= 100;
    $c{retries} //= 10;
    $c{retry_base} //= 1;
    $c{retry_max} //= 60;
    $c{timeout} //= 5;
    $c{subscriptions} //= [@DEFAULT_SUBS];
    die [400, { status => 'error', message => 'webhooks: url must be http(s)://...' }]
        if defined $c{url} && $c{url} !~ m{^https?://};
    die [400, { status => 'error', message => 'webhooks: signature_version must be v1 or v2' }]
        unless $c{signature_version} =~ /^v[12]$/;
    die [400, { status => 'error', message => 'webhooks: max_batch must be 1..100' }]
        unless $c{max_batch} =~ /^\d+$/ && $c{max_batch} >= 1 && $c{max_batch} <= 100;
    $c{subs} = { map { $_ => 1 } @{$c{subscriptions}} };
    $c{props} = ref $c{properties} eq 'ARRAY' ? { map { $_ => 1 } @{$c{properties}} } : undef;
    $self->ua->request_timeout($c{timeout})->inactivity_timeout($c{timeout});
    $self->cfg(\%c);
    return $self->view;
}

sub disable ($self) { delete $self->cfg->{url}; $self->queue([]) }

sub view ($self) {
    my $c = $self->cfg;
    return { enabled => $c->{url} ? true : false,
             (map { exists $c->{$_} ? ($_ => $c->{$_}) : () }
              qw(url app_id api_source_id signature_version batch_ms max_batch retries retry_base retry_max timeout
                 subscriptions properties)),
             pending => scalar @{$self->queue},
             deliveries => $self->deliveries };
}

# called by the store for every change
sub event ($self, $type, $kind, $id, $x) {
    my $c = $self->cfg;
    return unless $c->{url};
    my $obj = $SINGULAR{$type} or return;
    my $st = "$obj.$kind";
    return unless $c->{subs}{$st};
    if ($kind eq 'propertyChange') {
        my $n = $x->{propertyName};
        return if $c->{props} ? !$c->{props}{$n} : $n =~ $SYSTEM;
    }
    my $src = $self->source;
    my %e = (eventId => $self->seq($self->seq + 1)->seq, subscriptionId => ($c->{subscription_base} // 100) + $SUB_ID{$kind}
                 + { contact => 0, deal => 10, company => 20 }->{$obj},
             portalId => $self->portal_id + 0, appId => $c->{app_id} + 0, occurredAt => int(time * 1000),
             subscriptionType => $st, attemptNumber => 0, objectId => $id + 0,
             changeSource => $src->{changeSource}, %$x);
    my $sid = $src->{changeSource} eq 'API' ? ($c->{api_source_id} // "$c->{app_id}") : $src->{sourceId};
    $e{sourceId} = $sid if defined $sid;
    push @{$self->queue}, \%e;
    if (@{$self->queue} >= $c->{max_batch}) { $self->flush }
    elsif (!$self->{timer}) {
        $self->{timer} = Mojo::IOLoop->timer($c->{batch_ms} / 1000 => sub { delete $self->{timer}; $self->flush });
    }
}

sub flush ($self) {
    my $c = $self->cfg;
    while (my @batch = splice @{$self->queue}, 0, $c->{max_batch}) {
        $self->deliver(\@batch, 0);
    }
}

sub sign ($self, $method, $url, $body, $ts) {
    my $secret = $self->cfg->{secret};
    my %h = ('Content-Type' => 'application/json', 'X-HubSpot-Request-Timestamp' => $ts,
             'X-HubSpot-Signature-v3' => encode_base64(hmac_sha256($method . $url . $body . $ts, $secret), ''),
             'X-HubSpot-Signature-Version' => $self->cfg->{signature_version},
             'User-Agent' => 'HubSpot Connect 2.0 (http://dev.hubspot.com/) (sandbox)');
    $h{'X-HubSpot-Signature'} = $self->cfg->{signature_version} eq 'v2'
        ? sha256_hex($secret . $method . $url . $body) : sha256_hex($secret . $body);
    return \%h;
}

sub deliver ($self, $events, $attempt) {
    my $c = $self->cfg;
    return unless $c->{url};
    my @ev = map { { %$_, attemptNumber => $attempt } } @$events;
    my $body = encode_json(\@ev);
    my $ts = int(time * 1000);
    my $url = $c->{url};
    my $rec = { delivery => scalar(@{$self->deliveries}) + 1, attempt => $attempt, events => scalar @ev,
                eventIds => [map { $_->{eventId} } @ev], started => $ts };
    push @{$self->deliveries}, $rec;
    splice @{$self->deliveries}, 0, @{$self->deliveries} - 1000 if @{$self->deliveries} > 1100;
    my $t0 = time;
    $self->ua->post($url => $self->sign('POST', $url, $body, $ts) => $body => sub ($ua, $tx) {
        my $err = $tx->error;
        $rec->{ms} = int((time - $t0) * 1000);
        $rec->{status} = $tx->res->code // 0;
        my $ok = !$err && $rec->{status} >= 200 && $rec->{status} < 300;
        $rec->{ok} = $ok ? true : false;
        $rec->{error} = $err->{message} if $err && !$ok;
        return if $ok;
        if ($attempt < $c->{retries}) {
            my $delay = $c->{retry_base} * 2**$attempt;
            $delay = $c->{retry_max} if $delay > $c->{retry_max};
            $rec->{retry_in} = $delay;
            Mojo::IOLoop->timer($delay => sub { $self->deliver($events, $attempt + 1) });
        } else {
            $rec->{gave_up} = true;
        }
    });
}

1;

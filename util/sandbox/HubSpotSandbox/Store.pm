package HubSpotSandbox::Store;
# The CRM: objects, properties, unique indexes, the lagging search index,
# associations, merges, owners, pipelines and HubSpot's API surface on top.
# Errors are thrown as die [HTTP status, body]; the server fills in
# correlationId.
use strict;
use warnings;
use feature 'signatures';
no warnings 'experimental::signatures';
use Mojo::JSON qw(encode_json decode_json true false);
use Time::HiRes qw(time);
use Time::Local qw(timegm);
use POSIX qw(strftime floor);

# ------------------------------------------------------------ static data

my %TYPE_ALIAS = (
    contacts => 'contacts', contact => 'contacts', '0-1' => 'contacts',
    companies => 'companies', company => 'companies', '0-2' => 'companies',
    deals => 'deals', deal => 'deals', '0-3' => 'deals',
    tasks => 'tasks', task => 'tasks', '0-27' => 'tasks',
    notes => 'notes', note => 'notes', '0-46' => 'notes',
    communications => 'communications', communication => 'communications', '0-18' => 'communications',
);
my %TYPE_ID = (contacts => '0-1', companies => '0-2', deals => '0-3', tasks => '0-27',
               notes => '0-46', communications => '0-18');
my %SINGULAR = (contacts => 'contact', companies => 'company', deals => 'deal', tasks => 'task',
                notes => 'note', communications => 'communication');
my @TYPES = sort keys %TYPE_ID;
# HubSpot documents unique-value properties for contacts, companies, deals,
# tickets and custom objects, not for these (hubspot-api-updates.md §3, Q3);
# --engagement-unique on lets them have one anyway.
my %ENGAGEMENT = map { $_ => 1 } qw(notes tasks communications);
# the property crmsync writes on notes, communications and tasks; the
# duplicates report groups live records sharing one value of it
use constant KEY_PROP => 'crmsync_key';

# HUBSPOT_DEFINED association type ids: [from, to, id, inverse id, label]
my @ASSOC = (
    [notes => contacts => 202, 201], [notes => deals => 214, 213], [notes => companies => 190, 189],
    [tasks => contacts => 204, 203], [tasks => deals => 216, 215], [tasks => companies => 192, 191],
    [deals => contacts => 3, 4], [deals => companies => 341, 342], [deals => companies => 5, 6, 'Primary'],
    [contacts => companies => 279, 280], [contacts => companies => 1, 2, 'Primary'],
    [communications => contacts => 81, 82], [communications => deals => 85, 86],
    [communications => companies => 87, 88],
);
my (%A_BY_ID, %A_DEFAULT);   # "from:typeId" => {to, inv, label}; "from:to" => typeId
for my $a (@ASSOC) {
    my ($f, $t, $id, $inv, $label) = @$a;
    $A_BY_ID{"$f:$id"} = { to => $t, inv => $inv, label => $label };
    $A_BY_ID{"$t:$inv"} = { to => $f, inv => $id, label => $label };
    $A_DEFAULT{"$f:$t"} //= $id unless $label;
    $A_DEFAULT{"$t:$f"} //= $inv unless $label;
}

my %CREATE_PROP = (contacts => 'createdate', companies => 'createdate', deals => 'createdate');
my %MODIFIED_PROP = (contacts => 'lastmodifieddate');
sub create_prop ($t) { $CREATE_PROP{$t} // 'hs_createdate' }
sub modified_prop ($t) { $MODIFIED_PROP{$t} // 'hs_lastmodifieddate' }

my %DEFAULT_PROPS = (
    contacts => [qw(createdate email firstname hs_object_id lastmodifieddate lastname)],
    companies => [qw(createdate domain hs_lastmodifieddate hs_object_id name)],
    deals => [qw(amount closedate createdate dealname dealstage hs_lastmodifieddate hs_object_id pipeline)],
    notes => [qw(hs_createdate hs_lastmodifieddate hs_object_id)],
    tasks => [qw(hs_createdate hs_lastmodifieddate hs_object_id)],
    communications => [qw(hs_createdate hs_lastmodifieddate hs_object_id)],
);
my %QUERY_PROPS = (
    contacts => [qw(firstname lastname email phone mobilephone company hs_additional_emails)],
    companies => [qw(name domain phone website)],
    deals => [qw(dealname)],
    notes => [qw(hs_note_body)],
    tasks => [qw(hs_task_subject hs_task_body)],
    communications => [qw(hs_communication_body)],
);
my %REQUIRED = (notes => ['hs_timestamp'], tasks => ['hs_timestamp'],
                communications => ['hs_timestamp'], deals => ['dealstage']);

my @LIFECYCLE = qw(subscriber lead marketingqualifiedlead salesqualifiedlead opportunity customer evangelist other);
my @LEAD_STATUS = qw(NEW OPEN IN_PROGRESS OPEN_DEAL UNQUALIFIED ATTEMPTED_TO_CONTACT CONNECTED BAD_TIMING);
my %FIELD_FOR = (string => 'text', number => 'number', date => 'date', datetime => 'date',
                 enumeration => 'select', bool => 'booleancheckbox', phone_number => 'phonenumber');
my %VALID_FIELD = map { $_ => 1 } qw(text textarea number date file select radio checkbox
    booleancheckbox calculation_equation phonenumber html);

sub _builtin_props ($type) {
    my @p;
    my $d = sub ($name, $ptype, %o) {
        push @p, { name => $name, type => $ptype, label => $o{label} // $name,
                   fieldType => $o{fieldType} // $FIELD_FOR{$ptype},
                   groupName => $o{group} // ($type =~ s/s$//r) . 'information',
                   options => [ map { +{ label => $_, value => $_ } } @{$o{options} // []} ],
                   ro => $o{ro} ? 1 : 0, calculated => $o{calc} ? 1 : 0,
                   owner => $o{owner} ? 1 : 0, hasUniqueValue => 0, builtin => 1 };
    };
    my $system = sub {
        $d->('hs_object_id', 'number', ro => 1, label => 'Record ID');
        $d->(create_prop($type), 'datetime', ro => 1, label => 'Create Date');
        $d->(modified_prop($type), 'datetime', ro => 1, label => 'Last Modified Date');
        $d->('hs_createdate', 'datetime', ro => 1) unless create_prop($type) eq 'hs_createdate';
        $d->('hs_lastmodifieddate', 'datetime', ro => 1) unless modified_prop($type) eq 'hs_lastmodifieddate';
        $d->('hs_merged_object_ids', 'enumeration', ro => 1, fieldType => 'checkbox',
             label => 'Merged record IDs') if $type eq 'contacts' || $type eq 'companies';
        $d->('hubspot_owner_id', 'enumeration', owner => 1, label => 'Owner');
    };
    $system->();
    if ($type eq 'contacts') {
        $d->($_, 'string') for qw(firstname lastname company website jobtitle city state country zip
                                  address hs_whatsapp_phone_number message);
        $d->('email', 'string', label => 'Email');
        $d->('phone', 'string', fieldType => 'phonenumber', label => 'Phone Number');
        $d->('mobilephone', 'string', fieldType => 'phonenumber', label => 'Mobile Phone Number');
        $d->('hs_additional_emails', 'enumeration', ro => 1, fieldType => 'checkbox');
        $d->('lifecyclestage', 'enumeration', options => \@LIFECYCLE, fieldType => 'radio');
        $d->('hs_lead_status', 'enumeration', options => \@LEAD_STATUS, fieldType => 'radio');
        for my $k (qw(phone mobile)) {
            my $n = $k eq 'phone' ? 'phone_number' : 'mobile_number';
            $d->("hs_calculated_$n", 'string', ro => 1, calc => 1);
            $d->("hs_calculated_${n}_country_code", 'string', ro => 1, calc => 1);
            $d->("hs_searchable_calculated_$n", 'phone_number', ro => 1, calc => 1, fieldType => 'text');
            $d->("hs_searchable_calculated_international_$n", 'phone_number', ro => 1, calc => 1, fieldType => 'text');
        }
    } elsif ($type eq 'companies') {
        $d->($_, 'string') for qw(name domain phone website city country);
    } elsif ($type eq 'deals') {
        $d->('dealname', 'string');
        $d->('amount', 'number');
        $d->('closedate', 'datetime');
        $d->('pipeline', 'enumeration');          # options come from the pipelines
        $d->('dealstage', 'enumeration');
        $d->('dealtype', 'enumeration', options => [qw(newbusiness existingbusiness)]);
        $d->('description', 'string', fieldType => 'textarea');
    } elsif ($type eq 'notes') {
        $d->('hs_timestamp', 'datetime');
        $d->('hs_note_body', 'string', fieldType => 'html');
        $d->('hs_attachment_ids', 'enumeration', fieldType => 'checkbox');
    } elsif ($type eq 'tasks') {
        $d->('hs_timestamp', 'datetime');
        $d->('hs_task_subject', 'string');
        $d->('hs_task_body', 'string', fieldType => 'html');
        $d->('hs_task_status', 'enumeration', options => [qw(NOT_STARTED IN_PROGRESS WAITING COMPLETED DEFERRED)]);
        $d->('hs_task_priority', 'enumeration', options => [qw(NONE LOW MEDIUM HIGH)]);
        $d->('hs_task_type', 'enumeration', options => [qw(EMAIL CALL TODO LINKED_IN)]);
        $d->('hs_task_reminders', 'enumeration', fieldType => 'checkbox');
    } elsif ($type eq 'communications') {
        $d->('hs_timestamp', 'datetime');
        $d->('hs_communication_body', 'string', fieldType => 'html');
        $d->('hs_communication_channel_type', 'enumeration',
             options => [qw(WHATS_APP LINKEDIN_MESSAGE SMS)]);
        $d->('hs_communication_logged_from', 'enumeration', options => ['CRM']);
    }
    return { map { $_->{name} => $_ } @p };
}

# ------------------------------------------------------------ helpers

sub now_ms { int(time * 1000) }

my ($ISO_SEC, $ISO_PREFIX) = (-1, '');
sub iso ($ms) {
    $ms = int $ms;
    my $sec = floor($ms / 1000);
    if ($sec != $ISO_SEC) {
        my @t = gmtime $sec;
        $ISO_PREFIX = sprintf '%04d-%02d-%02dT%02d:%02d:%02d', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0];
        $ISO_SEC = $sec;
    }
    return $ISO_PREFIX . sprintf('.%03dZ', $ms - $sec * 1000);
}

sub parse_ms ($v) {
    return undef unless defined $v;
    return $v + 0 if $v =~ /^-?\d{1,15}$/;
    if ($v =~ /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d\d:?\d\d)?$/) {
        my $t = eval { timegm($6 // 0, $5 // 0, $4 // 0, $3, $2 - 1, $1) };
        return undef unless defined $t;
        my $ms = $t * 1000 + (defined $7 ? int(substr($7 . '00', 0, 3)) : 0);
        if (defined $8 && $8 ne 'Z') {
            my ($s, $h, $m) = $8 =~ /([+-])(\d\d):?(\d\d)/;
            $ms -= ($s eq '-' ? -1 : 1) * ($h * 3600 + $m * 60) * 1000;
        }
        return $ms;
    }
    return undef;
}

# JSON true, 1, "true", "on", "yes" are true; false, 0, "", "false",
# "off", "no" and undef are false
sub _truthy ($v) {
    return 0 unless defined $v;
    return $v ? 1 : 0 if ref $v;
    return $v =~ /^\s*(?:0|false|off|no|)\s*$/i ? 0 : 1;
}

sub err ($code, $category, $message, %x) {
    die [$code, { status => 'error', message => $message, correlationId => undef,
                  category => $category, %x }];
}

sub bad ($message, %x) { err(400, 'VALIDATION_ERROR', $message, %x) }

sub norm_type ($t) {
    my $n = $TYPE_ALIAS{lc($t // '')};
    bad("Unable to infer object type from: $t") unless $n;
    return $n;
}

my %CC2 = map { $_ => 1 } qw(20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55
    56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98);
my %CC_REGION = (1 => 'US', 7 => 'RU', 20 => 'EG', 27 => 'ZA', 31 => 'NL', 33 => 'FR', 34 => 'ES',
    39 => 'IT', 44 => 'GB', 49 => 'DE', 51 => 'PE', 52 => 'MX', 54 => 'AR', 55 => 'BR', 56 => 'CL',
    57 => 'CO', 61 => 'AU', 62 => 'ID', 63 => 'PH', 81 => 'JP', 86 => 'CN', 90 => 'TR', 91 => 'IN',
    234 => 'NG', 254 => 'KE', 351 => 'PT', 353 => 'IE', 966 => 'SA', 971 => 'AE', 972 => 'IL');

# HubSpot's calculated phone properties: (country code or undef, the
# number without country code and without leading zeros).
sub split_phone ($raw) {
    return (undef, '') unless defined $raw;
    my $plus = $raw =~ /^\s*\+/;
    my $d = $raw =~ s/\D//gr;
    if (!$plus && $d =~ /^00(?=[1-9])/) { $d = substr($d, 2); $plus = 1 }
    if (!$plus) { $d =~ s/^0+//; return (undef, $d) }
    $d =~ s/^0+//;
    return (undef, '') unless length $d;
    my $cc = $d =~ /^[17]/ ? substr($d, 0, 1) : $CC2{substr($d, 0, 2)} ? substr($d, 0, 2) : substr($d, 0, 3);
    my $nat = substr($d, length $cc);
    $nat =~ s/^0+//;
    return ($cc, $nat);
}

sub searchable_phone ($v) { (split_phone($v))[1] }

# ------------------------------------------------------------ state

sub new ($class, %a) {
    my $self = bless { cfg => $a{cfg} }, $class;
    $self->reset;
    return $self;
}

sub cfg ($self) { $self->{cfg} }
sub lag ($self) { $self->{cfg}{index_lag} // 0 }

sub reset ($self, %o) {
    my %custom;
    if ($o{keep_properties} && $self->{props}) {
        for my $t (@TYPES) {
            $custom{$t} = { map { $_ => $self->{props}{$t}{$_} }
                            grep { !$self->{props}{$t}{$_}{builtin} } keys %{$self->{props}{$t}} };
        }
    }
    $self->{next_id} = 1001;
    $self->{obj} = { map { $_ => {} } @TYPES };
    $self->{alias} = { map { $_ => {} } @TYPES };
    $self->{uniq} = { map { $_ => {} } @TYPES };
    $self->{vis} = { map { $_ => {} } @TYPES };
    $self->{inv} = { map { $_ => {} } @TYPES };
    $self->{pending} = [];
    $self->{assoc} = {};
    $self->{props} = { map { $_ => { %{_builtin_props($_)}, %{$custom{$_} // {}} } } @TYPES };
    for my $t (@TYPES) {
        $self->{uniq}{$t}{$_} = {} for grep { $self->{props}{$t}{$_}{hasUniqueValue} } keys %{$self->{props}{$t}};
    }
    $self->{uniq}{contacts}{email} = {};
    my $now = now_ms();
    my $owner = sub ($id, $first, $last, $uid, $arch) {
        return { id => "$id", email => lc("$first.$last\@example.com"), type => 'PERSON',
                 firstName => $first, lastName => $last,
                 userId => $arch ? undef : $uid, userIdIncludingInactive => $uid,
                 createdAt => iso($now), updatedAt => iso($now), archived => $arch ? true : false,
                 teams => [{ id => '368389', name => 'Sales Team', primary => true }] };
    };
    $self->{owners} = [ $owner->(41629779, 'Alice', 'Agent', 9586504, 0),
                        $owner->(41629780, 'Bob', 'Broker', 9586505, 0),
                        $owner->(41629781, 'Carol', 'Former', 9586506, 1) ];
    my $i = 0;
    my @stages = map {
        my ($id, $label, $p, $closed) = @$_;
        { id => $id, label => $label, displayOrder => $i++,
          metadata => { probability => $p, isClosed => $closed ? 'true' : 'false' },
          archived => false, writePermissions => 'CRM_PERMISSIONS_ENFORCEMENT',
          createdAt => iso($now), updatedAt => iso($now) }
    } (['appointmentscheduled', 'Appointment Scheduled', '0.2'], ['qualifiedtobuy', 'Qualified To Buy', '0.4'],
       ['presentationscheduled', 'Presentation Scheduled', '0.6'],
       ['decisionmakerboughtin', 'Decision Maker Bought-In', '0.8'], ['contractsent', 'Contract Sent', '0.9'],
       ['closedwon', 'Closed Won', '1.0', 1], ['closedlost', 'Closed Lost', '0.0', 1]);
    $self->{pipelines} = { deals => [ { id => 'default', label => 'Sales Pipeline', displayOrder => 0,
                                        archived => false, createdAt => iso($now), updatedAt => iso($now),
                                        stages => \@stages } ] };
}

sub add_owner ($self, $body) {
    my $now = now_ms();
    my $id = $body->{id} // (41629779 + @{$self->{owners}} * 7);
    my $o = { id => "$id", email => $body->{email} // "owner$id\@example.com", type => $body->{type} // 'PERSON',
              firstName => $body->{firstName} // 'Owner', lastName => $body->{lastName} // "$id",
              userId => $body->{archived} ? undef : ($body->{userId} // $id + 1000),
              userIdIncludingInactive => $body->{userId} // $id + 1000,
              createdAt => iso($now), updatedAt => iso($now), archived => $body->{archived} ? true : false,
              teams => $body->{teams} // [] };
    @{$self->{owners}} = grep { $_->{id} ne $o->{id} } @{$self->{owners}};
    push @{$self->{owners}}, $o;
    return $o;
}

sub add_pipeline ($self, $body) {
    my $now = now_ms();
    my $type = norm_type($body->{objectType} // 'deals');
    my $id = $body->{id} // bad('pipeline id required');
    my $i = 0;
    my $p = { id => "$id", label => $body->{label} // $id, displayOrder => $body->{displayOrder} // 1,
              archived => false, createdAt => iso($now), updatedAt => iso($now),
              stages => [ map {
                  { id => "$_->{id}", label => $_->{label} // $_->{id}, displayOrder => $i++,
                    metadata => { probability => '' . ($_->{probability} // '0.5'),
                                  isClosed => _truthy($_->{isClosed}) ? 'true' : 'false' },
                    archived => false, writePermissions => 'CRM_PERMISSIONS_ENFORCEMENT',
                    createdAt => iso($now), updatedAt => iso($now) } } @{$body->{stages} // []} ] };
    @{$self->{pipelines}{$type}} = grep { $_->{id} ne $p->{id} } @{$self->{pipelines}{$type} // []};
    push @{$self->{pipelines}{$type}}, $p;
    return $p;
}

# ------------------------------------------------------------ lookups

sub resolve ($self, $type, $id) {
    return undef unless defined $id;
    my $al = $self->{alias}{$type};
    for (1 .. 300) {
        my $n = $al->{$id} // last;
        $id = $n;
    }
    return $id;
}

sub get_obj ($self, $type, $id, $archived = 0) {
    $id = $self->resolve($type, $id);
    my $o = $self->{obj}{$type}{$id} // return undef;
    return undef if !$archived && $o->{archived};
    return undef if $archived && !$o->{archived};
    return $o;
}

sub is_unique_prop ($self, $type, $name) {
    return 1 if $type eq 'contacts' && $name eq 'email';
    my $d = $self->{props}{$type}{$name};
    return $d && $d->{hasUniqueValue};
}

sub uniq_key ($name, $v) { $name eq 'email' ? lc($v =~ s/^\s+|\s+$//gr) : $v }

sub find_by ($self, $type, $prop, $value) {
    return undef unless defined $value;
    if ($prop eq 'hs_object_id') {
        return $self->get_obj($type, $value);
    }
    my $id = $self->{uniq}{$type}{$prop}{uniq_key($prop, $value)} // return undef;
    return $self->get_obj($type, $id);
}

sub prop_def ($self, $type, $name) { $self->{props}{$type}{$name} }

# ------------------------------------------------------------ views

sub view ($self, $type, $o, %a) {
    my $names = $a{props};
    # HubSpot always returns the id and the create/modify dates, even
    # when specific properties are requested.
    my @names = ($names && @$names) ? (@$names, 'hs_object_id', create_prop($type), modified_prop($type))
              : $a{all} ? (keys %{$o->{p}}, @{$DEFAULT_PROPS{$type}})
              : @{$DEFAULT_PROPS{$type}};
    my $p = $a{snapshot} // $o->{p};
    my %props;
    for my $n (@names) {
        next unless $self->{props}{$type}{$n};
        my $v = $p->{$n};
        $props{$n} = (defined $v && length $v) ? "$v" : undef;
    }
    my $v = { id => "$o->{id}", properties => \%props, createdAt => iso($o->{created}),
              updatedAt => iso($a{updated} // $o->{updated}),
              archived => $o->{archived} ? true : false };
    $v->{archivedAt} = iso($o->{archived}) if $o->{archived};
    if ((my $h = $a{history}) && @{$a{history} // []}) {
        my %ph;
        for my $n (@$h) {
            next unless $self->{props}{$type}{$n};
            $ph{$n} = [ map { ref $_ eq 'HASH' ? +{ %$_ }
                                : { value => $_->[0], timestamp => $_->[1], sourceType => 'API', sourceId => 'sandbox' } }
                        @{$o->{h}{$n} // []} ];
        }
        $v->{propertiesWithHistory} = \%ph;
    }
    if (my $as = $a{assoc}) {
        my %out;
        for my $to (@$as) {
            my $tt = $TYPE_ALIAS{lc $to} // next;
            my $edges = $self->{assoc}{"$type:$o->{id}"} // {};
            my @r;
            for my $k (sort keys %$edges) {
                my ($et, $eid) = split /:/, $k;
                next unless $et eq $tt && $self->_live($et, $eid);
                for my $tid (sort { $a <=> $b } keys %{$edges->{$k}}) {
                    my $lab = $A_BY_ID{"$type:$tid"}{label};
                    push @r, { id => "$eid", type => $lab ? lc("$SINGULAR{$type}_to_$SINGULAR{$tt}") . '_' . lc($lab)
                                                          : "$SINGULAR{$type}_to_$SINGULAR{$tt}" };
                }
            }
            $out{$tt} = { results => \@r } if @r;
        }
        $v->{associations} = \%out if %out;
    }
    return $v;
}

# ------------------------------------------------------------ validation

sub prop_errors_body ($errs) {
    my @full = map { { isValid => false, message => $_->{message}, error => $_->{error}, name => $_->{name},
                       localizedErrorMessage => $_->{message} } } @$errs;
    return { status => 'error',
             message => 'Property values were not valid: ' . encode_json(\@full),
             correlationId => undef, category => 'VALIDATION_ERROR',
             errors => [ map { { message => $_->{message}, code => $_->{error},
                                 context => { propertyName => [$_->{name}] } } } @$errs ] };
}

# Returns (\%clean, \@errors).  %clean maps property => normalized string
# ("" clears).
sub validate ($self, $type, $in, $existing, %o) {
    my (%clean, @e);
    my $defs = $self->{props}{$type};
    if (defined $in && ref $in ne 'HASH') {
        return ({}, [{ name => 'properties', error => 'INVALID_INPUT', message => 'properties must be an object' }]);
    }
    for my $n (sort keys %{$in // {}}) {
        my $v = $in->{$n};
        my $d = $defs->{$n};
        if (!$d) {
            push @e, { name => $n, error => 'PROPERTY_DOESNT_EXIST', message => qq{Property "$n" does not exist} };
            next;
        }
        if (ref $v eq 'HASH' || ref $v eq 'ARRAY') {
            push @e, { name => $n, error => 'INVALID_PROPERTY_VALUE', message => qq{Property "$n" must be a string} };
            next;
        }
        $v = !defined $v ? '' : ref $v ? ($v ? 'true' : 'false') : "$v";
        if ($d->{ro}) {
            next if $o{allow_ro};
            push @e, { name => $n, error => 'READ_ONLY_VALUE', message => qq{"$n" is a read only property; its value cannot be set.} };
            next;
        }
        if (length $v > 65536) {
            push @e, { name => $n, error => 'INVALID_LONG_STRING', message => "$n: value longer than 65536 characters" };
            next;
        }
        if ($v eq '') { $clean{$n} = ''; next }
        my $t = $d->{type};
        if ($n eq 'email') {
            $v =~ s/^\s+|\s+$//g;
            $v = lc $v;
            unless ($v =~ /^[^\s@]+@[^\s@]+\.[^\s@.]+$/) {
                push @e, { name => $n, error => 'INVALID_EMAIL', message => "Email address $v is invalid" };
                next;
            }
        } elsif ($t eq 'number') {
            unless ($v =~ /^\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/) {
                push @e, { name => $n, error => 'INVALID_INTEGER', message => "$v is not a valid number" };
                next;
            }
            $v =~ s/^\s+|\s+$//g;
        } elsif ($t eq 'datetime') {
            my $ms = parse_ms($v);
            unless (defined $ms) {
                push @e, { name => $n, error => 'INVALID_DATE', message => "$v is not a valid datetime (ISO 8601 or epoch milliseconds)" };
                next;
            }
            $v = iso($ms);
        } elsif ($t eq 'date') {
            my $ms = parse_ms($v);
            if (!defined $ms || $ms % 86400000) {
                push @e, { name => $n, error => 'INVALID_DATE', message => "$v is not a valid date; dates must be YYYY-MM-DD or at midnight UTC" };
                next;
            }
            $v = strftime('%Y-%m-%d', gmtime($ms / 1000));
        } elsif ($t eq 'bool') {
            unless ($v =~ /^(?:true|false)$/i) {
                push @e, { name => $n, error => 'INVALID_BOOLEAN', message => "$v is not a valid boolean; use true or false" };
                next;
            }
            $v = lc $v;
        } elsif ($t eq 'enumeration') {
            my @allowed;
            if ($d->{owner}) { @allowed = map { $_->{id} } @{$self->{owners}} }
            elsif ($type eq 'deals' && $n eq 'pipeline') { @allowed = map { $_->{id} } @{$self->{pipelines}{deals}} }
            elsif ($type eq 'deals' && $n eq 'dealstage') {
                my $pid = $in->{pipeline} // ($existing ? $existing->{p}{pipeline} : undef) // 'default';
                my ($pl) = grep { $_->{id} eq $pid } @{$self->{pipelines}{deals}};
                @allowed = $pl ? map { $_->{id} } @{$pl->{stages}} : ();
            }
            else { @allowed = map { $_->{value} } @{$d->{options}} }
            if (@allowed || $d->{owner} || $n eq 'dealstage' || $n eq 'pipeline') {
                my %ok = map { $_ => 1 } @allowed;
                my $multi = $d->{fieldType} eq 'checkbox';
                my @vals = $multi ? grep { length } split /;/, $v : ($v);
                my @badv = grep { !$ok{$_} } @vals;
                if (@badv) {
                    push @e, { name => $n, error => 'INVALID_OPTION',
                               message => qq{$badv[0] was not one of the allowed options: [} . join(', ', @allowed) . ']' };
                    next;
                }
            }
            if ($d->{fieldType} eq 'checkbox' && $v =~ /^;/ && $existing) {
                my $old = $existing->{p}{$n} // '';
                my %seen;
                $v = join ';', grep { length && !$seen{$_}++ } split(/;/, $old), split(/;/, $v);
            }
        }
        $clean{$n} = $v;
    }
    if ($o{create}) {
        for my $r (@{$REQUIRED{$type} // []}) {
            next if defined $clean{$r} && length $clean{$r};
            push @e, { name => $r, error => 'REQUIRED_PROPERTY', message => "Property $r is required" };
        }
    }
    return (\%clean, \@e);
}

# Unique-value conflicts: returns undef or [prop, value, existing id].
sub unique_conflict ($self, $type, $clean, $self_id, $batch_seen = undef) {
    for my $n (sort keys %$clean) {
        next unless $self->is_unique_prop($type, $n);
        my $v = $clean->{$n};
        next unless defined $v && length $v;
        my $k = uniq_key($n, $v);
        my $hit = $self->{uniq}{$type}{$n}{$k};
        if (defined $hit && (!defined $self_id || $hit ne $self_id)) { return [$n, $v, $hit] }
        if ($batch_seen) {
            my $prev = $batch_seen->{"$n\0$k"};
            return [$n, $v, undef, $prev] if defined $prev && (!defined $self_id || $prev ne "id:$self_id");
        }
    }
    return undef;
}

sub note_seen ($self, $type, $clean, $self_id, $seen, $tag = undef) {
    for my $n (keys %$clean) {
        next unless $self->is_unique_prop($type, $n) && length $clean->{$n};
        $seen->{"$n\0" . uniq_key($n, $clean->{$n})} = defined $self_id ? "id:$self_id" : $tag;
    }
}

sub conflict_body ($self, $type, $c) {
    my ($n, $v, $id) = @$c;
    my $obj = ucfirst $SINGULAR{$type};
    my $msg = !defined $id ? "Duplicate unique property value in batch input: $n=$v"
            : ($n eq 'email') ? "$obj already exists. Existing ID: $id"
            : "A $SINGULAR{$type} with the unique property value $n=$v already exists. Existing ID: $id";
    return { status => 'error', message => $msg, correlationId => undef, category => 'CONFLICT' };
}

sub check_assocs ($self, $type, $list) {
    return [] unless defined $list;
    bad('associations must be an array') unless ref $list eq 'ARRAY';
    my @out;
    for my $a (@$list) {
        bad('association must be an object with "to" and "types"') unless ref $a eq 'HASH' && ref $a->{to} eq 'HASH';
        my $to = $a->{to}{id};
        bad('association "to.id" is required') unless defined $to && length $to;
        bad('association "types" must be a non-empty array') unless ref $a->{types} eq 'ARRAY' && @{$a->{types}};
        for my $s (@{$a->{types}}) {
            my $cat = $s->{associationCategory} // '';
            bad("Invalid associationCategory: $cat")
                unless $cat =~ /^(?:HUBSPOT_DEFINED|USER_DEFINED|INTEGRATOR_DEFINED|WORK)$/;
            my $tid = $s->{associationTypeId};
            my $spec = defined $tid && $tid =~ /^\d+$/ ? $A_BY_ID{"$type:$tid"} : undef;
            bad("Invalid association type id " . ($tid // 'null') . " for $SINGULAR{$type} associations",
                context => { associationTypeId => [ "" . ($tid // '') ] })
                unless $spec && $cat eq 'HUBSPOT_DEFINED';
            my $target = $self->get_obj($spec->{to}, $to);
            bad("One or more associations are invalid: no " . uc($SINGULAR{$spec->{to}}) . " with id $to exists",
                context => { id => ["$to"] }) unless $target;
            push @out, [$spec->{to}, $target->{id}, $tid + 0, $cat];
        }
    }
    return \@out;
}

sub add_assoc ($self, $ft, $fid, $tt, $tid, $typeid, $cat = 'HUBSPOT_DEFINED') {
    my $spec = $A_BY_ID{"$ft:$typeid"} // return;
    $self->{assoc}{"$ft:$fid"}{"$tt:$tid"}{$typeid} = $cat;
    $self->{assoc}{"$tt:$tid"}{"$ft:$fid"}{$spec->{inv}} = $cat;
}

sub del_assoc ($self, $ft, $fid, $tt, $tid) {
    delete $self->{assoc}{"$ft:$fid"}{"$tt:$tid"};
    delete $self->{assoc}{"$tt:$tid"}{"$ft:$fid"};
}

# ------------------------------------------------------------ writes

sub set_derived ($self, $type, $p) {
    return unless $type eq 'contacts';
    for my $k (['phone', 'phone_number'], ['mobilephone', 'mobile_number']) {
        my ($src, $n) = @$k;
        delete $p->{$_} for ("hs_calculated_$n", "hs_calculated_${n}_country_code",
                             "hs_searchable_calculated_$n", "hs_searchable_calculated_international_$n");
        my $raw = $p->{$src};
        next unless defined $raw && length $raw;
        my ($cc, $nat) = split_phone($raw);
        next unless length $nat;
        $p->{"hs_searchable_calculated_$n"} = $nat;
        if (defined $cc) {
            $p->{"hs_calculated_$n"} = "+$cc$nat";
            $p->{"hs_searchable_calculated_international_$n"} = "+$cc$nat";
            $p->{"hs_calculated_${n}_country_code"} = $CC_REGION{$cc} if $CC_REGION{$cc};
        }
    }
}

# The search index.  Every write queues a snapshot (or a removal) that
# becomes visible --index-lag seconds later.  Visible snapshots live in
# {vis}{type}{id}; {inv}{type}{prop}{key}{id} is an inverted index over
# them so that EQ/IN filters do not scan every record.
use constant INV_MAX_LEN => 256;

sub index_push ($self, $type, $o, $gone = 0) {
    my $v = $gone ? undef : { p => { %{$o->{p}} }, updated => $o->{updated} };
    my $lag = $self->lag;
    if ($lag <= 0 && !@{$self->{pending}}) { $self->_index_apply($type, $o->{id}, $v); return }
    push @{$self->{pending}}, [time + $lag, $type, $o->{id}, $v];
}

sub index_advance ($self, $now = time) {
    my $q = $self->{pending};
    my $n = 0;
    $n++ while $n < @$q && $q->[$n][0] <= $now;
    return unless $n;
    $self->_index_apply(@{$_}[1 .. 3]) for splice @$q, 0, $n;
}

sub flush_index ($self) { $self->index_advance(9**9**9) }

# After the lag is lowered at run time, nothing waits longer than the new lag.
sub relag ($self) {
    my $max = time + $self->lag;
    for (@{$self->{pending}}) { $_->[0] = $max if $_->[0] > $max }
}

sub inv_keys ($self, $type, $n, $v) {
    return () unless defined $v && length $v && length $v <= INV_MAX_LEN;
    my $d = $self->{props}{$type}{$n} // return ();
    my $t = $d->{type};
    return (lc $v) if $t eq 'string' || $t eq 'bool';
    return (searchable_phone($v)) if $t eq 'phone_number';
    if ($t eq 'number') { return ($v =~ /^\s*-?[\d.]+(?:[eE][-+]?\d+)?\s*$/ ? (0 + $v) : ()) }
    if ($t eq 'datetime' || $t eq 'date') { my $ms = parse_ms($v); return defined $ms ? ($ms) : () }
    return ($v, ($d->{fieldType} // '') eq 'checkbox' ? (grep { length } split /;/, $v) : ());
}

sub _index_apply ($self, $type, $id, $v) {
    my $inv = $self->{inv}{$type} //= {};
    if (my $old = $self->{vis}{$type}{$id}) {
        my $p = $old->{p};
        for my $n (keys %$p) {
            for my $k ($self->inv_keys($type, $n, $p->{$n})) {
                my $set = $inv->{$n}{$k} or next;
                delete $set->{$id};
                delete $inv->{$n}{$k} unless %$set;
            }
        }
    }
    if (!$v) { delete $self->{vis}{$type}{$id}; return }
    $self->{vis}{$type}{$id} = $v;
    my $p = $v->{p};
    for my $n (keys %$p) { $inv->{$n}{$_}{$id} = 1 for $self->inv_keys($type, $n, $p->{$n}) }
}

# Candidate ids for a filter group from the inverted index, or undef when
# no filter in the group can use it (then the caller scans).
sub _candidates ($self, $type, $g) {
    for my $f (@{$g->{filters} // []}) {
        my ($n, $op) = ($f->{propertyName}, $f->{operator});
        if ($n =~ /^associations\.(\w+)$/) {
            next unless $op eq 'EQ' && defined $f->{value} && !ref $f->{value};
            my $ot = norm_type($1);
            my $edges = $self->{assoc}{"$ot:$f->{value}"} // {};
            return [ map { (split /:/)[1] } grep { /^\Q$type\E:/ && %{$edges->{$_}} } keys %$edges ];
        }
        if ($n eq 'hs_object_id' && $op eq 'EQ') { return [ "$f->{value}" ] }
        my $d = $self->{props}{$type}{$n} or next;
        my @vals;
        if ($op eq 'EQ') { @vals = ($f->{value}) }
        elsif ($op eq 'IN') { @vals = @{$f->{values} // []} }
        else { next }
        next if grep { !defined || ref || length > INV_MAX_LEN } @vals;
        my $t = $d->{type};
        my %ids;
        for my $x (@vals) {
            my @k = $op eq 'IN' && ($t eq 'string' || $t eq 'bool') ? ("$x")   # IN: values must be lowercase
                  : $self->inv_keys($type, $n, "$x");
            for my $k (@k) { $ids{$_} = 1 for keys %{$self->{inv}{$type}{$n}{$k} // {}} }
        }
        return [ keys %ids ];
    }
    return undef;
}

sub _uniq_set ($self, $type, $o, $on) {
    for my $n (keys %{$self->{uniq}{$type}}) {
        my $v = $o->{p}{$n};
        my @vals = defined $v && length $v ? ($v) : ();
        if ($type eq 'contacts' && $n eq 'email' && length($o->{p}{hs_additional_emails} // '')) {
            push @vals, split /;/, $o->{p}{hs_additional_emails};
        }
        for my $x (@vals) {
            my $k = uniq_key($n, $x);
            if ($on) { $self->{uniq}{$type}{$n}{$k} = $o->{id} }
            elsif (($self->{uniq}{$type}{$n}{$k} // '') eq $o->{id}) { delete $self->{uniq}{$type}{$n}{$k} }
        }
    }
}

sub _history ($self, $o, $n, $v, $ms) {
    my $h = $o->{h}{$n} //= [];
    unshift @$h, [$v, $ms =~ /T/ ? $ms : iso($ms)];
    splice @$h, 20 if @$h > 20;
}

sub create_obj ($self, $type, $clean, $assocs, %o) {
    my $now = now_ms();
    my $id = '' . $self->{next_id}++;
    my %p = map { $_ => $clean->{$_} } grep { length $clean->{$_} } keys %$clean;
    if ($type eq 'deals') { $p{pipeline} //= 'default' }
    my $o = { id => $id, p => \%p, created => $o{created} // $now, updated => $now, archived => 0, h => {} };
    $p{hs_object_id} = $id;
    $p{create_prop($type)} = iso($o->{created});
    $p{modified_prop($type)} = iso($now);
    $p{hs_createdate} = iso($o->{created}) if $type ne 'contacts' && create_prop($type) ne 'hs_createdate';
    $p{hs_lastmodifieddate} = iso($now) if modified_prop($type) ne 'hs_lastmodifieddate';
    $self->set_derived($type, \%p);
    my $now_iso = iso($now);
    $self->_history($o, $_, $p{$_}, $now_iso) for keys %p;
    $self->{obj}{$type}{$id} = $o;
    $self->_uniq_set($type, $o, 1);
    $self->add_assoc($type, $id, @$_) for @{$assocs // []};
    $self->index_push($type, $o);
    $self->emit($type, 'creation', $id, changeFlag => 'CREATED') unless $o{quiet};
    return $o;
}

# Change events for the webhook sender (HubSpotSandbox::Webhooks).
sub emit ($self, $type, $kind, $id, %x) {
    my $cb = $self->{on_event} or return;
    $cb->($type, $kind, $id, \%x);
}

sub update_obj ($self, $type, $o, $clean) {
    my $now = now_ms();
    $self->_uniq_set($type, $o, 0);
    for my $n (keys %$clean) {
        my $v = $clean->{$n};
        my $old = $o->{p}{$n} // '';
        if (length $v) { $o->{p}{$n} = $v } else { delete $o->{p}{$n} }
        next if $old eq $v;
        $self->_history($o, $n, $v, $now);
        $self->emit($type, 'propertyChange', $o->{id}, propertyName => $n, propertyValue => $v);
    }
    $o->{updated} = $now;
    $o->{p}{modified_prop($type)} = iso($now);
    $o->{p}{hs_lastmodifieddate} = iso($now) if $type eq 'contacts';
    $self->set_derived($type, $o->{p});
    $self->_uniq_set($type, $o, 1);
    $self->index_push($type, $o);
    return $o;
}

sub archive_obj ($self, $type, $o) {
    return if $o->{archived};
    $self->_uniq_set($type, $o, 0);
    $o->{archived} = now_ms();
    $self->index_push($type, $o, 1);
    $self->emit($type, 'deletion', $o->{id});
}

# ------------------------------------------------------------ dispatch

sub _json ($req) {
    my $body = $req->body;
    bad('Invalid input JSON: empty body') unless defined $body && length $body;
    my $d = eval { decode_json($body) };
    unless (defined $d) {
        my $e = $@ =~ s/ at \S+ line \d+.*//sr;
        bad("Invalid input JSON on line 1: $e");
    }
    return $d;
}

sub _list ($v) {
    return [] unless defined $v;
    return [ grep { length } map { split /,/ } (ref $v eq 'ARRAY' ? @$v : ($v)) ];
}

sub dispatch ($self, $method, $path, $req) {
    my $q = $req->query;
    # v4 associations, and their dated form under /crm/objects/YYYY-MM/
    # (matched first: /crm/objects/2026-03/contacts/1/associations/deals)
    if ($path =~ m{^/crm/(?:v4/objects|objects/\d{4}-\d\d)/([^/]+)/([^/]+)/associations/(?:(default)/)?([^/]+)(?:/([^/]+))?/?$}) {
        my ($ft, $fid, $def, $tt, $tid) = (norm_type($1), $2, $3, norm_type($4), $5);
        my $ep = "$method /crm/v4/objects/$ft/{id}/associations/" . ($def ? 'default/' : '') . $tt;
        if (!defined $tid) {
            return ($self->api_v4_list($ft, $fid, $tt, $q), $ep) if $method eq 'GET';
        } else {
            $ep .= '/{toId}';
            return ($self->api_v4_put($ft, $fid, $tt, $tid, $def ? undef : _json($req)), $ep) if $method eq 'PUT';
            return ($self->api_v4_delete($ft, $fid, $tt, $tid), $ep) if $method eq 'DELETE' && !$def;
        }
        err(405, 'VALIDATION_ERROR', "Method $method not allowed on $path");
    }
    if ($path =~ m{^/crm/(?:v3/objects|objects/\d{4}-\d\d)/([^/]+)(?:/(.*?))?/?$}) {
        my ($type, $rest) = (norm_type($1), $2 // '');
        my $ep = "$method /crm/v3/objects/$type";
        if ($rest eq '') {
            return ($self->api_create($type, _json($req)), $ep) if $method eq 'POST';
            return ($self->api_list($type, $q), $ep) if $method eq 'GET';
        } elsif ($rest eq 'search') {
            return ($self->api_search($type, _json($req)), "$ep/search") if $method eq 'POST';
        } elsif ($rest =~ m{^batch/(create|read|update|upsert|archive)$}) {
            my $m = "api_batch_$1";
            return ($self->$m($type, _json($req), $q), "$ep/batch/$1") if $method eq 'POST';
        } elsif ($rest eq 'merge') {
            return ($self->api_merge($type, _json($req)), "$ep/merge") if $method eq 'POST';
        } elsif ($rest !~ m{/}) {
            return ($self->api_get($type, $rest, $q), "$ep/{id}") if $method eq 'GET';
            return ($self->api_patch($type, $rest, $q, _json($req)), "$ep/{id}") if $method eq 'PATCH';
            return ($self->api_delete($type, $rest), "$ep/{id}") if $method eq 'DELETE';
        }
        err(405, 'VALIDATION_ERROR', "Method $method not allowed on $path");
    }
    if ($path =~ m{^/crm/(?:v4/associations|associations/\d{4}-\d\d)/([^/]+)/([^/]+)/batch/(read|create|archive|associate/default)/?$}
        && $method eq 'POST') {
        my ($ft, $tt, $op) = (norm_type($1), norm_type($2), $3);
        return ($self->api_v4_batch($ft, $tt, $op, _json($req)), "POST /crm/v4/associations/$ft/$tt/batch/$op");
    }
    if ($path =~ m{^/crm/(?:v3/properties|properties/\d{4}-\d\d)/([^/]+)(?:/([^/]+))?/?$}) {
        my ($type, $name) = (norm_type($1), $2);
        my $ep = "$method /crm/v3/properties/$type" . (defined $name ? '/{name}' : '');
        return ($self->api_props_list($type, $q), $ep) if $method eq 'GET' && !defined $name;
        return ($self->api_prop_create($type, _json($req)), $ep) if $method eq 'POST' && !defined $name;
        return ($self->api_prop_get($type, $name), $ep) if $method eq 'GET';
        return ($self->api_prop_patch($type, $name, _json($req)), $ep) if $method eq 'PATCH';
        return ($self->api_prop_delete($type, $name), $ep) if $method eq 'DELETE';
        err(405, 'VALIDATION_ERROR', "Method $method not allowed on $path");
    }
    if ($path =~ m{^/crm/(?:v3/owners|owners/\d{4}-\d\d)(?:/([^/]+))?/?$} && $method eq 'GET') {
        return ($self->api_owners($1, $q), 'GET /crm/v3/owners' . (defined $1 ? '/{id}' : ''));
    }
    if ($path =~ m{^/crm/(?:v3/pipelines|pipelines/\d{4}-\d\d)/([^/]+)(?:/([^/]+)(?:/(stages)(?:/([^/]+))?)?)?/?$} && $method eq 'GET') {
        return ($self->api_pipelines(norm_type($1), $2, $3, $4),
                'GET /crm/v3/pipelines/' . join('/', grep { defined } $1, defined $2 ? '{id}' : undef, $3));
    }
    err(404, 'OBJECT_NOT_FOUND', "resource not found: $method $path");
}

# ------------------------------------------------------------ objects API

sub _props_param ($q, $name) {
    return [] unless @{$q->pairs};
    my @v = @{$q->every_param($name)};
    return _list(\@v);
}

sub api_create ($self, $type, $body) {
    bad('Request body must be a JSON object') unless ref $body eq 'HASH';
    my ($clean, $errs) = $self->validate($type, $body->{properties} // {}, undef, create => 1);
    die [400, prop_errors_body($errs)] if @$errs;
    if (my $c = $self->unique_conflict($type, $clean, undef)) { die [409, $self->conflict_body($type, $c)] }
    my $assocs = $self->check_assocs($type, $body->{associations});
    my $o = $self->create_obj($type, $clean, $assocs);
    return (201, $self->view($type, $o, all => 1));
}

sub _lookup ($self, $type, $raw, $idprop, $archived = 0) {
    if (defined $idprop && length $idprop && $idprop ne 'hs_object_id') {
        bad("Unable to perform lookup by non-unique $TYPE_ID{$type} property $idprop")
            unless $self->is_unique_prop($type, $idprop);
        return undef if $archived;
        return $self->find_by($type, $idprop, $raw);
    }
    return undef unless $raw =~ /^\d+$/;
    return $self->get_obj($type, $raw, $archived);
}

sub not_found ($raw) {
    err(404, 'OBJECT_NOT_FOUND', 'Object not found.  objectId are usually numeric.', context => { id => ["$raw"] });
}

sub api_get ($self, $type, $raw, $q) {
    my $archived = ($q->param('archived') // '') eq 'true';
    my $o = $self->_lookup($type, $raw, scalar $q->param('idProperty'), $archived) // not_found($raw);
    return (200, $self->view($type, $o, props => _props_param($q, 'properties'),
                             history => _props_param($q, 'propertiesWithHistory'),
                             assoc => _props_param($q, 'associations')));
}

sub api_list ($self, $type, $q) {
    my $limit = $q->param('limit') // 10;
    bad('limit must be between 1 and 100') unless $limit =~ /^\d+$/ && $limit >= 1 && $limit <= 100;
    my $after = $q->param('after') // 0;
    bad('after must be an integer') unless $after =~ /^\d+$/;
    my $archived = ($q->param('archived') // '') eq 'true';
    my @ids = sort { $a <=> $b } grep { $_ > $after && (!!$self->{obj}{$type}{$_}{archived} == $archived) }
              keys %{$self->{obj}{$type}};
    my @page = splice @ids, 0, $limit;
    my %r = (results => [ map { $self->view($type, $self->{obj}{$type}{$_},
                                            props => _props_param($q, 'properties'),
                                            assoc => _props_param($q, 'associations')) } @page ]);
    $r{paging} = { next => { after => '' . ($page[-1] + 0), link => "?after=$page[-1]" } } if @ids;
    return (200, \%r);
}

sub api_patch ($self, $type, $raw, $q, $body) {
    bad('Request body must be a JSON object') unless ref $body eq 'HASH';
    my $o = $self->_lookup($type, $raw, scalar $q->param('idProperty')) // not_found($raw);
    my ($clean, $errs) = $self->validate($type, $body->{properties} // {}, $o);
    die [400, prop_errors_body($errs)] if @$errs;
    if (my $c = $self->unique_conflict($type, $clean, $o->{id})) { die [409, $self->conflict_body($type, $c)] }
    $self->update_obj($type, $o, $clean);
    return (200, $self->view($type, $o, all => 1));
}

sub api_delete ($self, $type, $raw) {
    my $o = $raw =~ /^\d+$/ ? $self->get_obj($type, $raw) : undef;
    $self->archive_obj($type, $o) if $o;
    return (204, undef);
}

sub _inputs ($body, $max = 100) {
    bad('Request body must be a JSON object') unless ref $body eq 'HASH';
    my $in = $body->{inputs};
    bad('inputs must be an array', errors => [{ message => 'inputs is required', code => 'REQUIRED_FIELD' }])
        unless ref $in eq 'ARRAY';
    bad("Batch input limit exceeded: " . scalar(@$in) . " inputs; the maximum is $max",
        errors => [{ message => "inputs may contain at most $max items", code => 'TOO_MANY_INPUTS',
                     context => { limit => ["$max"] } }]) if @$in > $max;
    for (@$in) { bad('each input must be an object') unless ref $_ eq 'HASH' }
    return $in;
}

sub _batch_envelope ($results, $errors, $started, $ok_code) {
    my $r = { status => 'COMPLETE', results => $results, startedAt => iso($started), completedAt => iso(now_ms()) };
    if (@$errors) {
        $r->{numErrors} = scalar @$errors;
        $r->{errors} = $errors;
        return (207, $r);
    }
    return ($ok_code, $r);
}

sub _input_error ($body, $trace) {
    my %e = %$body;
    delete $e{correlationId};
    $e{context} = { %{$e{context} // {}}, objectWriteTraceId => [$trace] } if defined $trace;
    return \%e;
}

sub api_batch_create ($self, $type, $body, $q) {
    my $started = now_ms();
    my $in = _inputs($body);
    my %tr;
    my $partial = @$in && !grep { !defined $_->{objectWriteTraceId} || $tr{$_->{objectWriteTraceId}}++ } @$in;
    my (%seen, @plan, @errors);
    for my $i (0 .. $#$in) {
        my $x = $in->[$i];
        my $trace = $x->{objectWriteTraceId};
        my ($clean, $errs) = $self->validate($type, $x->{properties} // {}, undef, create => 1);
        my ($code, $body);
        if (@$errs) { ($code, $body) = (400, prop_errors_body($errs)) }
        elsif (my $c = $self->unique_conflict($type, $clean, undef, \%seen)) {
            ($code, $body) = (409, $self->conflict_body($type, $c));
        } else {
            my $as = eval { $self->check_assocs($type, $x->{associations}) };
            if (!$as) { my $e = $@; die $e unless ref $e eq 'ARRAY'; ($code, $body) = @$e }
            else { $self->note_seen($type, $clean, undef, \%seen, "input:$i"); push @plan, [$clean, $as] }
        }
        if ($code) {
            die [$code, $body] unless $partial;
            push @errors, _input_error($body, $trace);
        }
    }
    my @res = map { $self->view($type, $self->create_obj($type, @$_), all => 1) } @plan;
    return _batch_envelope(\@res, \@errors, $started, 201);
}

sub api_batch_read ($self, $type, $body, $q) {
    my $started = now_ms();
    my $in = _inputs($body);
    my $idp = $body->{idProperty};
    my $archived = ($q->param('archived') // '') eq 'true';
    my (@res, @missing, %done);
    for my $x (@$in) {
        my $raw = $x->{id} // bad('each input needs an id');
        my $o = $self->_lookup($type, "$raw", $idp, $archived);
        if (!$o) { push @missing, "$raw"; next }
        next if $done{$o->{id}}++;
        push @res, $self->view($type, $o, props => _list($body->{properties}),
                               history => _list($body->{propertiesWithHistory}));
    }
    my @errors = @missing ? ({ status => 'error', category => 'OBJECT_NOT_FOUND',
        message => 'Could not get some ' . uc($SINGULAR{$type}) . ' objects, they may be deleted or not exist. Check that ids are valid.',
        context => { ids => \@missing } }) : ();
    return _batch_envelope(\@res, \@errors, $started, 200);
}

sub api_batch_update ($self, $type, $body, $q) {
    my $started = now_ms();
    my $in = _inputs($body);
    my (%dup, @dups, @plan, @errors, %seen);
    for my $x (@$in) {
        my $idp = $x->{idProperty};
        if (defined $idp && ($idp eq 'email' || !$self->is_unique_prop($type, $idp))) {
            bad("Unable to perform update/upsert by non-unique $TYPE_ID{$type} property $idp");
        }
        my $raw = $x->{id} // bad('each input needs an id');
        my $o = $self->_lookup($type, "$raw", $idp);
        if (!$o) {
            push @errors, { status => 'error', category => 'OBJECT_NOT_FOUND',
                            message => "Object not found.  objectId are usually numeric.",
                            context => { ids => ["$raw"] } };
            next;
        }
        push @dups, $raw if $dup{$o->{id}}++;
        my ($clean, $errs) = $self->validate($type, $x->{properties} // {}, $o);
        die [400, prop_errors_body($errs)] if @$errs;
        if (my $c = $self->unique_conflict($type, $clean, $o->{id}, \%seen)) { die [409, $self->conflict_body($type, $c)] }
        $self->note_seen($type, $clean, $o->{id}, \%seen);
        push @plan, [$o, $clean];
    }
    bad('Duplicate IDs found in batch input: [' . join(', ', @dups) . ']. IDs must be unique',
        context => { ids => [map {"$_"} @dups] }) if @dups;
    my @res = map { $self->view($type, $self->update_obj($type, @$_), all => 1) } @plan;
    return _batch_envelope(\@res, \@errors, $started, 200);
}

sub api_batch_upsert ($self, $type, $body, $q) {
    my $started = now_ms();
    my $in = _inputs($body);
    my $by_email = 0;
    my (%rec, @dups, @plan, @errors, %seen);
    for my $i (0 .. $#$in) {
        my $x = $in->[$i];
        my $idp = $x->{idProperty} // bad('idProperty is required for upsert',
            errors => [{ message => 'idProperty is required', code => 'REQUIRED_FIELD' }]);
        bad("Unable to perform update/upsert by non-unique $TYPE_ID{$type} property $idp")
            unless $self->is_unique_prop($type, $idp);
        $by_email = 1 if $idp eq 'email';
        my $raw = $x->{id};
        bad('each input needs an id') unless defined $raw && length $raw;
        my $o = $self->find_by($type, $idp, "$raw");
        my $key = $o ? "id:$o->{id}" : "new:$idp:" . uniq_key($idp, "$raw");
        push @dups, "$raw" if $rec{$key}++;
        my %props = (%{ref $x->{properties} eq 'HASH' ? $x->{properties} : {}});
        $props{$idp} = "$raw" unless $o;
        my ($clean, $errs) = $self->validate($type, \%props, $o, create => !$o);
        my ($code, $body);
        if (@$errs) { ($code, $body) = (400, prop_errors_body($errs)) }
        elsif (my $c = $self->unique_conflict($type, $clean, $o ? $o->{id} : undef, \%seen)) {
            ($code, $body) = (409, $self->conflict_body($type, $c));
        }
        if ($code) {
            push @errors, [$code, $body, $x->{objectWriteTraceId}, "$raw"];
            next;
        }
        $self->note_seen($type, $clean, $o ? $o->{id} : undef, \%seen, "input:$i");
        push @plan, [$o, $clean];
    }
    bad('Duplicate IDs found in batch input: [' . join(', ', @dups) . ']. IDs must be unique',
        context => { ids => \@dups }) if @dups;
    if (@errors && $by_email) { my $e = $errors[0]; die [$e->[0], $e->[1]] }
    my @res;
    for my $p (@plan) {
        my ($o, $clean) = @$p;
        my $new = !$o;
        $o = $new ? $self->create_obj($type, $clean, []) : $self->update_obj($type, $o, $clean);
        push @res, { %{$self->view($type, $o, all => 1)}, new => $new ? true : false };
    }
    my @errs = map { my $e = _input_error($_->[1], $_->[2]);
                     $e->{context}{ids} //= [$_->[3]] unless defined $_->[2]; $e } @errors;
    return _batch_envelope(\@res, \@errs, $started, 200);
}

sub api_batch_archive ($self, $type, $body, $q) {
    my $in = _inputs($body);
    for my $x (@$in) {
        my $o = defined $x->{id} && "$x->{id}" =~ /^\d+$/ ? $self->get_obj($type, $x->{id}) : undef;
        $self->archive_obj($type, $o) if $o;
    }
    return (204, undef);
}

# ------------------------------------------------------------ merge

sub api_merge ($self, $type, $body) {
    bad("Merging is supported for contacts and companies only") unless $type eq 'contacts' || $type eq 'companies';
    bad('Request body must be a JSON object') unless ref $body eq 'HASH';
    my ($pid, $sid) = ($body->{primaryObjectId}, $body->{objectIdToMerge});
    bad('primaryObjectId and objectIdToMerge are required') unless defined $pid && defined $sid;
    my $po = $self->get_obj($type, "$pid") // not_found($pid);
    my $so = $self->get_obj($type, "$sid") // not_found($sid);
    bad("Cannot merge an object with itself: $pid and $sid are the same record") if $po->{id} eq $so->{id};
    my %ids;
    for my $o ($po, $so) {
        $ids{$_} = 1 for $o->{id}, grep { length } split /;/, ($o->{p}{hs_merged_object_ids} // '');
    }
    err(414, 'VALIDATION_ERROR', 'Cannot have more than 250 identities on a profile') if keys(%ids) > 250;
    my %p = %{$so->{p}};
    for my $n (keys %{$po->{p}}) { $p{$n} = $po->{p}{$n} if length $po->{p}{$n} }
    if ($type eq 'contacts') {
        my %em;
        my @all = grep { defined && length } map { ($_->{p}{email}, split /;/, ($_->{p}{hs_additional_emails} // '')) } $po, $so;
        my $primary_email = $p{email};
        my @add = grep { lc $_ ne lc($primary_email // '') && !$em{lc $_}++ } @all;
        if (@add) { $p{hs_additional_emails} = join ';', @add } else { delete $p{hs_additional_emails} }
    }
    $p{hs_merged_object_ids} = join ';', sort { $a <=> $b } keys %ids;
    my $created = $po->{created} < $so->{created} ? $po->{created} : $so->{created};
    my %edges;
    for my $o ($po, $so) {
        my $e = $self->{assoc}{"$type:$o->{id}"} // {};
        for my $k (keys %$e) { for my $t (keys %{$e->{$k}}) { $edges{$k}{$t} = $e->{$k}{$t} } }
        for my $k (keys %$e) { my ($tt, $tid) = split /:/, $k; $self->del_assoc($type, $o->{id}, $tt, $tid) }
        delete $self->{assoc}{"$type:$o->{id}"};
    }
    for my $o ($po, $so) {
        $self->_uniq_set($type, $o, 0);
        $self->index_push($type, $o, 1);
        delete $self->{obj}{$type}{$o->{id}};
    }
    delete @p{qw(hs_object_id)};
    my $n = $self->create_obj($type, {}, [], created => $created, quiet => 1);
    my $id = $n->{id};
    for my $k (keys %p) { $n->{p}{$k} = $p{$k} unless $k =~ /^(?:hs_object_id|createdate|hs_createdate|lastmodifieddate|hs_lastmodifieddate)$/ }
    $n->{h} = { %{$so->{h}}, %{$po->{h}} };
    $self->set_derived($type, $n->{p});
    $self->_uniq_set($type, $n, 1);
    for my $k (keys %edges) {
        my ($tt, $tid) = split /:/, $k;
        $self->add_assoc($type, $id, $tt, $tid, $_, $edges{$k}{$_}) for keys %{$edges{$k}};
    }
    $self->{alias}{$type}{$po->{id}} = $id;
    $self->{alias}{$type}{$so->{id}} = $id;
    $self->index_push($type, $n);
    my $moved = grep { !length($po->{p}{$_} // '') && length($so->{p}{$_} // '') } keys %{$so->{p}};
    $self->emit($type, 'merge', $id, primaryObjectId => $po->{id} + 0, mergedObjectIds => [$so->{id} + 0],
                newObjectId => $id + 0, numberOfPropertiesMoved => $moved);
    return (200, $self->view($type, $n, all => 1));
}

# ------------------------------------------------------------ search

my %OPS = map { $_ => 1 } qw(EQ NEQ LT LTE GT GTE BETWEEN IN NOT_IN HAS_PROPERTY NOT_HAS_PROPERTY
                             CONTAINS_TOKEN NOT_CONTAINS_TOKEN);

sub api_search ($self, $type, $body) {
    bad('Request body must be a JSON object') unless ref $body eq 'HASH';
    my $groups = $body->{filterGroups} // [];
    bad('filterGroups must be an array') unless ref $groups eq 'ARRAY';
    bad("Too many filter groups (" . scalar(@$groups) . "). The maximum number of filter groups is 5.",
        errors => [{ message => 'filterGroups may contain at most 5 groups', code => 'TOO_MANY_FILTER_GROUPS' }])
        if @$groups > 5;
    my $total_f = 0;
    for my $g (@$groups) {
        bad('each filter group must be an object with filters') unless ref $g eq 'HASH' && ref($g->{filters} // []) eq 'ARRAY';
        my $n = @{$g->{filters} // []};
        bad("Too many filters in a filter group ($n). The maximum number of filters per group is 6.",
            errors => [{ message => 'a filter group may contain at most 6 filters', code => 'TOO_MANY_FILTERS' }])
            if $n > 6;
        $total_f += $n;
        for my $f (@{$g->{filters} // []}) { $self->_check_filter($type, $f) }
    }
    bad("Too many filters ($total_f). The maximum number of filters across all groups is 18.",
        errors => [{ message => 'at most 18 filters in total', code => 'TOO_MANY_FILTERS' }]) if $total_f > 18;
    my $limit = $body->{limit} // 10;
    bad("limit must be an integer between 0 and 200") unless "$limit" =~ /^\d+$/ && $limit <= 200;
    my $after = $body->{after} // 0;
    bad("after must be an integer") unless "$after" =~ /^\d+$/;
    bad("Paging beyond 10,000 results is not supported (after=$after)",
        errors => [{ message => 'The search API can page through at most 10,000 results', code => 'PAGING_LIMIT' }])
        if $after + $limit > 10000 && $after > 0 || $after >= 10000;
    my $query = $body->{query};
    bad('query is longer than 3000 characters') if defined $query && length $query > 3000;
    my $sorts = $body->{sorts} // [];
    bad('sorts must be an array') unless ref $sorts eq 'ARRAY';
    bad('Only one sort is allowed') if @$sorts > 1;
    my ($sprop, $sdir) = (undef, 1);
    if (@$sorts) {
        my $s = $sorts->[0];
        if (ref $s eq 'HASH') {
            $sprop = $s->{propertyName};
            $sdir = (($s->{direction} // 'ASCENDING') =~ /^DESC/i) ? -1 : 1;
        } else { ($sdir, $sprop) = $s =~ /^-(.*)/ ? (-1, $1) : (1, $s) }
        bad("Unknown sort property: " . ($sprop // '')) unless defined $sprop && $self->{props}{$type}{$sprop};
    }
    my $props = _list($body->{properties});

    $self->index_advance;
    my $vis = $self->{vis}{$type};
    my (%hit, @hits);
    for my $g (@$groups ? @$groups : ({ filters => [] })) {
        my $cand = $self->_candidates($type, $g) // [ keys %$vis ];
        for my $id (@$cand) {
            next if $hit{$id};
            my $v = $vis->{$id} or next;
            next unless $self->_group_match($type, $id, $v->{p}, $g);
            next if defined $query && length $query && !$self->_query_match($type, $v->{p}, $query);
            $hit{$id} = 1;
            push @hits, [$id, $v];
        }
    }
    my $cp = create_prop($type);
    my $key = $sprop // $cp;
    my $dtype = ($self->{props}{$type}{$key}{type} // 'string');
    my $kv = sub ($h) {
        my $x = $key eq 'hs_object_id' ? $h->[0] : $h->[1]{p}{$key};
        return undef unless defined $x && length $x;
        return parse_ms($x) if $dtype eq 'datetime' || $dtype eq 'date';
        return $x + 0 if $dtype eq 'number';
        return lc $x;
    };
    my $num = $dtype =~ /^(?:datetime|date|number)$/ || $key eq 'hs_object_id';
    $_->[2] = $kv->($_) for @hits;
    my @sorted = sort {
        my ($x, $y) = ($a->[2], $b->[2]);
        my $c = !defined $x && !defined $y ? 0 : !defined $x ? 1 : !defined $y ? -1
              : ($num ? $x <=> $y : $x cmp $y) * $sdir;
        $c || $a->[0] <=> $b->[0]
    } @hits;
    my $total = @sorted;
    my @page = grep { defined } @sorted[$after .. $after + $limit - 1];
    my %r = (total => $total,
             results => [ map { my $o = $self->{obj}{$type}{$_->[0]}
                                    // { id => $_->[0], created => parse_ms($_->[1]{p}{$cp}) // 0, updated => $_->[1]{updated} };
                                $self->view($type, $o, props => $props, snapshot => $_->[1]{p},
                                            updated => $_->[1]{updated}) } @page ]);
    $r{paging} = { next => { after => '' . ($after + $limit), link => '?after=' . ($after + $limit) } }
        if $limit > 0 && $after + $limit < $total;
    return (200, \%r);
}

sub _check_filter ($self, $type, $f) {
    bad('each filter must be an object') unless ref $f eq 'HASH';
    my $op = $f->{operator} // '';
    bad("Invalid filter operator: $op",
        errors => [{ message => "operator must be one of " . join(', ', sort keys %OPS), code => 'INVALID_OPERATOR' }])
        unless $OPS{$op};
    my $n = $f->{propertyName} // bad('filter propertyName is required');
    if ($n =~ /^associations\.(\w+)$/) { norm_type($1) }
    elsif (!$self->{props}{$type}{$n}) {
        bad("There was a problem with a filter: property \"$n\" does not exist for $TYPE_ID{$type}",
            errors => [{ message => "Property $n does not exist", code => 'PROPERTY_DOESNT_EXIST',
                         context => { propertyName => [$n] } }]);
    }
    if ($op eq 'IN' || $op eq 'NOT_IN') {
        bad("Operator $op requires values[]") unless ref $f->{values} eq 'ARRAY';
    } elsif ($op eq 'BETWEEN') {
        bad('BETWEEN requires value and highValue') unless defined $f->{value} && defined $f->{highValue};
    } elsif ($op !~ /HAS_PROPERTY$/) {
        bad("Operator $op requires a value") unless defined $f->{value};
    }
}

sub _group_match ($self, $type, $id, $p, $g) {
    for my $f (@{$g->{filters} // []}) { return 0 unless $self->_filter_match($type, $id, $p, $f) }
    return 1;
}

sub _query_match ($self, $type, $p, $q) {
    my @tok = grep { length } split /\s+/, lc $q;
    my $hay = lc join ' ', grep { defined } @$p{@{$QUERY_PROPS{$type}}};
    my $digits = join ' ', map { s/\D//gr } grep { defined } @$p{qw(phone mobilephone)};
    for my $t (@tok) {
        my $d = $t =~ s/\D//gr;
        next if index($hay, $t) >= 0;
        next if length $d >= 4 && $t =~ /^[\d\s+().-]+$/ && index($digits, $d) >= 0;
        return 0;
    }
    return 1;
}

sub _filter_match ($self, $type, $id, $p, $f) {
    my $op = $f->{operator};
    my $n = $f->{propertyName};
    if ($n =~ /^associations\.(\w+)$/) {
        my $tt = norm_type($1);
        my %set = map { (split /:/)[1] => 1 } grep { /^\Q$tt\E:/ } keys %{$self->{assoc}{"$type:$id"} // {}};
        return %set ? 1 : 0 if $op eq 'HAS_PROPERTY';
        return %set ? 0 : 1 if $op eq 'NOT_HAS_PROPERTY';
        return $set{$f->{value} // ''} ? 1 : 0 if $op eq 'EQ';
        return $set{$f->{value} // ''} ? 0 : 1 if $op eq 'NEQ';
        return (grep { $set{$_} } @{$f->{values} // []}) ? 1 : 0 if $op eq 'IN';
        return (grep { $set{$_} } @{$f->{values} // []}) ? 0 : 1 if $op eq 'NOT_IN';
        return 0;
    }
    my $v = $n eq 'hs_object_id' ? $id : $p->{$n};
    my $has = defined $v && length $v;
    return $has ? 1 : 0 if $op eq 'HAS_PROPERTY';
    return $has ? 0 : 1 if $op eq 'NOT_HAS_PROPERTY';
    return ($op eq 'NEQ' || $op eq 'NOT_IN' || $op eq 'NOT_CONTAINS_TOKEN') ? 1 : 0 unless $has;
    my $d = $self->{props}{$type}{$n};
    my $dt = $d->{type};
    my $enum = $dt eq 'enumeration';
    my $phone = $dt eq 'phone_number';
    my $norm = sub ($x) {
        return undef unless defined $x;
        $x = "$x";
        return parse_ms($x) if $dt eq 'datetime' || $dt eq 'date';
        return ($x =~ /^\s*-?[\d.]+\s*$/ ? $x + 0 : undef) if $dt eq 'number';
        return searchable_phone($x) if $phone;
        return $enum ? $x : lc $x;
    };
    my $numeric = $dt =~ /^(?:number|datetime|date)$/;
    my $sv = $norm->($v);
    my $cmp = sub ($x) {
        my $y = $norm->($x);
        return undef unless defined $y && defined $sv;
        return $numeric ? ($sv <=> $y) : ($sv cmp $y);
    };
    if ($op eq 'EQ' || $op eq 'NEQ') {
        my $c = $cmp->($f->{value});
        my $eq = defined $c && $c == 0;
        if (!$eq && $enum && $d->{fieldType} eq 'checkbox') {
            $eq = grep { $_ eq "$f->{value}" } split /;/, $v;
        }
        return ($op eq 'EQ') == !!$eq ? 1 : 0;
    }
    if ($op =~ /^(?:LT|LTE|GT|GTE)$/) {
        my $c = $cmp->($f->{value});
        return 0 unless defined $c;
        return { LT => $c < 0, LTE => $c <= 0, GT => $c > 0, GTE => $c >= 0 }->{$op} ? 1 : 0;
    }
    if ($op eq 'BETWEEN') {
        my ($lo, $hi) = ($cmp->($f->{value}), $cmp->($f->{highValue}));
        return (defined $lo && defined $hi && $lo >= 0 && $hi <= 0) ? 1 : 0;
    }
    if ($op eq 'IN' || $op eq 'NOT_IN') {
        # IN is an exact match against the lowercased stored value, so
        # values must be sent lowercase (enumerations: exact case).
        my $stored = $numeric ? $sv : $phone ? $sv : $enum ? $v : lc $v;
        my $in = grep {
            my $x = $_;
            $numeric ? (defined $norm->($x) && $norm->($x) == $stored)
          : $phone ? (searchable_phone($x) eq $stored) : ("$x" eq $stored)
        } @{$f->{values}};
        return ($op eq 'IN') == !!$in ? 1 : 0;
    }
    if ($op eq 'CONTAINS_TOKEN' || $op eq 'NOT_CONTAINS_TOKEN') {
        my $pat = lc "$f->{value}";
        my $re = join '.*', map { quotemeta } split /\*/, $pat, -1;
        $re = qr/^$re$/;
        my $lv = lc $v;
        my @tok = ($lv, split /[\s,;]+/, $lv);
        push @tok, split /[@.]/, $lv if $lv =~ /@/;
        my $hit = grep { $_ =~ $re } @tok;
        return ($op eq 'CONTAINS_TOKEN') == !!$hit ? 1 : 0;
    }
    return 0;
}

# ------------------------------------------------------------ v4 associations

sub _v4_types ($self, $ft, $fid, $tt, $tid) {
    my $e = $self->{assoc}{"$ft:$fid"}{"$tt:$tid"} // {};
    return [ map { { category => $e->{$_}, typeId => $_ + 0, label => $A_BY_ID{"$ft:$_"}{label} } }
             sort { $a <=> $b } keys %$e ];
}

# Archived records drop out of association reads at once (their edges
# are kept, so the inspection endpoints still show them).
sub _v4_targets ($self, $ft, $fid, $tt) {
    my $e = $self->{assoc}{"$ft:$fid"} // {};
    return sort { $a <=> $b } grep { $self->_live($tt, $_) }
           map { (split /:/)[1] } grep { /^\Q$tt\E:/ && %{$e->{$_}} } keys %$e;
}

sub _live ($self, $type, $id) {
    my $o = $self->{obj}{$type}{$id};
    return $o && !$o->{archived};
}

sub api_v4_list ($self, $ft, $fid, $tt, $q) {
    my $o = $self->get_obj($ft, $fid);
    my $limit = $q->param('limit') // 500;
    bad('limit must be between 1 and 500') unless $limit =~ /^\d+$/ && $limit >= 1 && $limit <= 500;
    my $after = $q->param('after') // 0;
    my @t = $o ? grep { $_ > $after } $self->_v4_targets($ft, $o->{id}, $tt) : ();
    my @page = splice @t, 0, $limit;
    my %r = (results => [ map { { toObjectId => $_ + 0, associationTypes => $self->_v4_types($ft, $o->{id}, $tt, $_) } } @page ]);
    $r{paging} = { next => { after => "$page[-1]", link => "?after=$page[-1]" } } if @t;
    return (200, \%r);
}

sub api_v4_put ($self, $ft, $fid, $tt, $tid, $specs) {
    my $f = $self->get_obj($ft, $fid) // not_found($fid);
    my $t = $self->get_obj($tt, $tid) // not_found($tid);
    if (!defined $specs) {
        my $typeid = $A_DEFAULT{"$ft:$tt"} // bad("No default association type from $ft to $tt");
        $self->add_assoc($ft, $f->{id}, $tt, $t->{id}, $typeid);
        my $inv = $A_BY_ID{"$ft:$typeid"}{inv};
        my $now = now_ms();
        return (200, { status => 'COMPLETE', startedAt => iso($now), completedAt => iso($now),
            results => [ { from => { id => $f->{id} }, to => { id => $t->{id} },
                           associationSpec => { associationCategory => 'HUBSPOT_DEFINED', associationTypeId => $typeid } },
                         { from => { id => $t->{id} }, to => { id => $f->{id} },
                           associationSpec => { associationCategory => 'HUBSPOT_DEFINED', associationTypeId => $inv } } ] });
    }
    bad('Request body must be an array of association specs') unless ref $specs eq 'ARRAY' && @$specs;
    my $list = $self->check_assocs($ft, [ { to => { id => $t->{id} }, types => $specs } ]);
    for (@$list) {
        bad("association type $_->[2] links $ft to $_->[0], not to $tt") unless $_->[0] eq $tt;
        $self->add_assoc($ft, $f->{id}, @$_);
    }
    my @labels = grep { defined } map { $A_BY_ID{"$ft:$_->[2]"}{label} } @$list;
    return (201, { fromObjectTypeId => $TYPE_ID{$ft}, fromObjectId => $f->{id} + 0,
                   toObjectTypeId => $TYPE_ID{$tt}, toObjectId => $t->{id} + 0, labels => \@labels });
}

sub api_v4_delete ($self, $ft, $fid, $tt, $tid) {
    my $f = $self->get_obj($ft, $fid);
    my $t = $self->get_obj($tt, $tid);
    $self->del_assoc($ft, $f->{id}, $tt, $t->{id}) if $f && $t;
    return (204, undef);
}

sub api_v4_batch ($self, $ft, $tt, $op, $body) {
    my $started = now_ms();
    my $max = $op eq 'read' ? 1000 : 2000;
    my $in = _inputs($body, $max);
    my (@res, @errors);
    for my $x (@$in) {
        my $fid = ref $x->{from} eq 'HASH' ? $x->{from}{id} : $x->{id};
        my $f = defined $fid ? $self->get_obj($ft, "$fid") : undef;
        if ($op eq 'read') {
            if (!$f) {
                push @errors, { status => 'error', category => 'OBJECT_NOT_FOUND',
                                message => "No " . uc($SINGULAR{$ft}) . " with id " . ($fid // '') . " exists",
                                context => { fromObjectId => ['' . ($fid // '')] } };
                next;
            }
            push @res, { from => { id => $f->{id} },
                         to => [ map { { toObjectId => $_ + 0, associationTypes => $self->_v4_types($ft, $f->{id}, $tt, $_) } }
                                 $self->_v4_targets($ft, $f->{id}, $tt) ] };
            next;
        }
        my $tid = ref $x->{to} eq 'HASH' ? $x->{to}{id} : undef;
        my $t = defined $tid ? $self->get_obj($tt, "$tid") : undef;
        if (!$f || !$t) {
            push @errors, { status => 'error', category => 'VALIDATION_ERROR',
                            message => 'One or more associations are invalid: object does not exist',
                            context => { ids => [ '' . ($fid // ''), '' . ($tid // '') ] } };
            next;
        }
        if ($op eq 'archive') { $self->del_assoc($ft, $f->{id}, $tt, $t->{id}); next }
        my @types = $op eq 'associate/default'
            ? ({ associationCategory => 'HUBSPOT_DEFINED', associationTypeId => $A_DEFAULT{"$ft:$tt"} })
            : @{$x->{types} // []};
        my $list = eval { $self->check_assocs($ft, [ { to => { id => $t->{id} }, types => \@types } ]) };
        if (!$list) { my $e = $@; die $e unless ref $e eq 'ARRAY'; push @errors, _input_error($e->[1]); next }
        $self->add_assoc($ft, $f->{id}, @$_) for @$list;
        push @res, { fromObjectTypeId => $TYPE_ID{$ft}, fromObjectId => $f->{id} + 0,
                     toObjectTypeId => $TYPE_ID{$tt}, toObjectId => $t->{id} + 0,
                     labels => [ grep { defined } map { $A_BY_ID{"$ft:$_->[2]"}{label} } @$list ] };
    }
    return (204, undef) if $op eq 'archive';
    return _batch_envelope(\@res, \@errors, $started, $op eq 'read' ? 200 : 201);
}

# ------------------------------------------------------------ properties API

sub prop_view ($self, $type, $d) {
    return { name => $d->{name}, label => $d->{label}, type => $d->{type}, fieldType => $d->{fieldType},
             description => $d->{description} // '', groupName => $d->{groupName},
             options => [ map { { label => $_->{label}, value => $_->{value}, displayOrder => $_->{displayOrder} // 0,
                                  hidden => false } } @{$d->{options} // []} ],
             displayOrder => $d->{displayOrder} // -1, calculated => $d->{calculated} ? true : false,
             externalOptions => $d->{owner} ? true : false,
             hasUniqueValue => $d->{hasUniqueValue} ? true : false, hidden => false,
             hubspotDefined => $d->{builtin} ? true : false,
             formField => $d->{formField} ? true : false,
             modificationMetadata => { archivable => $d->{builtin} ? false : true,
                                       readOnlyDefinition => $d->{builtin} ? true : false,
                                       readOnlyValue => $d->{ro} ? true : false },
             createdAt => iso($d->{created} // 0), updatedAt => iso($d->{updated} // $d->{created} // 0),
             archived => false };
}

sub api_props_list ($self, $type, $q) {
    my $defs = $self->{props}{$type};
    return (200, { results => [ map { $self->prop_view($type, $defs->{$_}) } sort keys %$defs ] });
}

sub api_prop_get ($self, $type, $name) {
    my $d = $self->{props}{$type}{$name}
        // err(404, 'OBJECT_NOT_FOUND', "Unable to find property $name for object type $TYPE_ID{$type}",
               context => { propertyName => [$name] });
    return (200, $self->prop_view($type, $d));
}

sub api_prop_create ($self, $type, $body) {
    bad('Request body must be a JSON object') unless ref $body eq 'HASH';
    my @missing = grep { !defined $body->{$_} || !length $body->{$_} } qw(name label type fieldType groupName);
    bad('Missing required fields: ' . join(', ', @missing),
        errors => [ map { { message => "$_ is required", code => 'REQUIRED_FIELD', context => { field => [$_] } } } @missing ])
        if @missing;
    my $name = $body->{name};
    bad("Invalid property name '$name': use lowercase letters, digits and underscores, starting with a letter")
        unless $name =~ /^[a-z][a-z0-9_]{0,99}$/;
    bad("Invalid property type '$body->{type}'")
        unless $body->{type} =~ /^(?:string|number|date|datetime|enumeration|bool|phone_number)$/;
    bad("Invalid fieldType '$body->{fieldType}'") unless $VALID_FIELD{$body->{fieldType}};
    err(409, 'OBJECT_ALREADY_EXISTS', "Property named '$name' already exists.",
        context => { name => [$name] }) if $self->{props}{$type}{$name};
    my $uniq = _truthy($body->{hasUniqueValue});
    if ($uniq && $ENGAGEMENT{$type} && !_truthy($self->cfg->{engagement_unique})) {
        # HubSpot's answer here is unverified (no source says either way);
        # this is a plain VALIDATION_ERROR naming the property and the type
        bad("Unique value properties are not supported for object type $TYPE_ID{$type} ($type): "
            . "property '$name' cannot have hasUniqueValue set to true",
            errors => [{ message => "hasUniqueValue is not supported for $TYPE_ID{$type}",
                         code => 'INVALID_PROPERTY_DEFINITION',
                         context => { objectTypeId => [$TYPE_ID{$type}], hasUniqueValue => ['true'] } }]);
    }
    if ($uniq) {
        my $n = grep { $_->{hasUniqueValue} } values %{$self->{props}{$type}};
        bad("You can have up to 10 unique ID properties per object; $TYPE_ID{$type} already has $n",
            errors => [{ message => 'Too many unique value properties', code => 'TOO_MANY_UNIQUE_PROPERTIES',
                         context => { limit => ['10'] } }]) if $n >= 10;
        bad('Only string and number properties can have unique values')
            unless $body->{type} =~ /^(?:string|number)$/;
    }
    my $now = now_ms();
    my $d = { name => $name, label => $body->{label}, type => $body->{type}, fieldType => $body->{fieldType},
              groupName => $body->{groupName}, description => $body->{description} // '',
              options => [ map { { label => $_->{label} // $_->{value}, value => $_->{value},
                                   displayOrder => $_->{displayOrder} // 0 } } @{$body->{options} // []} ],
              hasUniqueValue => $uniq, formField => $body->{formField} ? 1 : 0,
              displayOrder => $body->{displayOrder} // -1, ro => 0, builtin => 0,
              created => $now, updated => $now };
    $self->{props}{$type}{$name} = $d;
    $self->{uniq}{$type}{$name} = {} if $uniq;
    return (201, $self->prop_view($type, $d));
}

sub api_prop_patch ($self, $type, $name, $body) {
    my $d = $self->{props}{$type}{$name}
        // err(404, 'OBJECT_NOT_FOUND', "Unable to find property $name for object type $TYPE_ID{$type}");
    bad("Property $name is a HubSpot-defined property and cannot be modified") if $d->{builtin};
    bad("hasUniqueValue cannot be changed once set")
        if exists $body->{hasUniqueValue} && !!$body->{hasUniqueValue} != !!$d->{hasUniqueValue};
    for my $k (qw(label description groupName fieldType displayOrder)) { $d->{$k} = $body->{$k} if defined $body->{$k} }
    $d->{options} = [ map { { label => $_->{label} // $_->{value}, value => $_->{value} } } @{$body->{options}} ]
        if ref $body->{options} eq 'ARRAY';
    $d->{updated} = now_ms();
    return (200, $self->prop_view($type, $d));
}

sub api_prop_delete ($self, $type, $name) {
    my $d = $self->{props}{$type}{$name} // return (204, undef);
    bad("Property $name is a HubSpot-defined property and cannot be deleted") if $d->{builtin};
    delete $self->{props}{$type}{$name};
    delete $self->{uniq}{$type}{$name};
    return (204, undef);
}

# ------------------------------------------------------------ owners, pipelines

sub api_owners ($self, $id, $q) {
    my $archived = ($q->param('archived') // 'false') eq 'true';
    if (defined $id) {
        my $by = $q->param('idProperty') // 'id';
        my ($o) = grep { $by eq 'userId' ? ($_->{userIdIncludingInactive} // '') eq $id : $_->{id} eq $id } @{$self->{owners}};
        err(404, 'OBJECT_NOT_FOUND', "No owner found for $by $id", context => { id => [$id] })
            unless $o && (!!$o->{archived} == $archived || $archived);
        return (200, $o);
    }
    my $limit = $q->param('limit') // 100;
    bad('limit must be between 1 and 500') unless $limit =~ /^\d+$/ && $limit >= 1 && $limit <= 500;
    my $after = $q->param('after') // 0;
    my $email = $q->param('email');
    my @o = grep { !!$_->{archived} == $archived && (!defined $email || lc $_->{email} eq lc $email) }
            sort { $a->{id} <=> $b->{id} } @{$self->{owners}};
    @o = grep { $_->{id} > $after } @o if $after;
    my @page = splice @o, 0, $limit;
    my %r = (results => \@page);
    $r{paging} = { next => { after => "$page[-1]{id}", link => "?after=$page[-1]{id}" } } if @o;
    return (200, \%r);
}

sub api_pipelines ($self, $type, $pid, $stages, $sid) {
    my $list = $self->{pipelines}{$type} // [];
    return (200, { results => $list }) unless defined $pid;
    my ($p) = grep { $_->{id} eq $pid } @$list;
    err(404, 'OBJECT_NOT_FOUND', "Unable to find pipeline $pid for object type $TYPE_ID{$type}",
        context => { pipelineId => [$pid] }) unless $p;
    return (200, $p) unless $stages;
    return (200, { results => $p->{stages} }) unless defined $sid;
    my ($s) = grep { $_->{id} eq $sid } @{$p->{stages}};
    err(404, 'OBJECT_NOT_FOUND', "Unable to find stage $sid in pipeline $pid") unless $s;
    return (200, $s);
}

# ------------------------------------------------------------ inspection

sub _assoc_dump ($self, $type, $id) {
    my %out;
    my $e = $self->{assoc}{"$type:$id"} // {};
    for my $k (sort keys %$e) {
        next unless %{$e->{$k}};
        my ($tt, $tid) = split /:/, $k;
        push @{$out{$tt}}, { id => $tid, types => [ map { $_ + 0 } sort { $a <=> $b } keys %{$e->{$k}} ] };
    }
    return \%out;
}

sub dump_one ($self, $type, $id) {
    $type = $TYPE_ALIAS{$type} // return undef;
    my $o = $self->{obj}{$type}{$self->resolve($type, $id)} // return undef;
    return { %{$self->view($type, $o, props => [sort keys %{$o->{p}}])},
             associations => $self->_assoc_dump($type, $o->{id}) };
}

sub dump_objects ($self, $only) {
    my %out;
    for my $t ($only ? (norm_type($only)) : @TYPES) {
        $out{$t} = [ map { $self->dump_one($t, $_) } sort { $a <=> $b } keys %{$self->{obj}{$t}} ];
    }
    $out{merged} = { map { $_ => $self->{alias}{$_} } grep { %{$self->{alias}{$_}} } @TYPES };
    $out{counts} = { map { $_ => scalar(grep { !$_->{archived} } values %{$self->{obj}{$_}}) } @TYPES };
    return \%out;
}

sub channel_props ($self, $extra) {
    my %n = map { $_ => 1 } grep { $self->{props}{contacts}{$_} } @$extra;
    for my $d (values %{$self->{props}{contacts}}) {
        next if $d->{builtin};
        $n{$d->{name}} = 1 if $d->{hasUniqueValue} || $d->{name} =~ /(?:_id|_psid|_uid|_e164|^wa_?id|^psid)$/i;
    }
    $n{hs_whatsapp_phone_number} = 1;
    return sort keys %n;
}

sub duplicates ($self, $extra) {
    my @live = grep { !$_->{archived} } values %{$self->{obj}{contacts}};
    my (%by, @groups);
    for my $o (@live) {
        my $p = $o->{p};
        my %ph;
        for my $f (qw(hs_searchable_calculated_phone_number hs_searchable_calculated_mobile_number)) {
            $ph{$p->{$f}} = 1 if defined $p->{$f} && length $p->{$f};
        }
        push @{$by{phone}{$_}}, $o->{id} for keys %ph;
        my %em = map { lc($_) => 1 } grep { defined && length } $p->{email}, split /;/, ($p->{hs_additional_emails} // '');
        push @{$by{email}{$_}}, $o->{id} for keys %em;
        for my $c ($self->channel_props($extra)) {
            push @{$by{"property:$c"}{$p->{$c}}}, $o->{id} if defined $p->{$c} && length $p->{$c};
        }
    }
    my %in;
    for my $k (sort keys %by) {
        for my $v (sort keys %{$by{$k}}) {
            my @ids = sort { $a <=> $b } @{$by{$k}{$v}};
            next unless @ids > 1;
            my ($kind, $prop) = $k =~ /^property:(.*)/ ? ('channel_id', $1) : ($k, undef);
            push @groups, { kind => $kind, ($prop ? (property => $prop) : ()), value => $v, ids => \@ids };
            $in{$_} = 1 for @ids;
        }
    }
    my @empty = sort { $a <=> $b } map { $_->{id} } grep {
        my $p = $_->{p};
        !grep { defined $p->{$_} && length $p->{$_} } qw(email firstname lastname phone mobilephone),
            $self->channel_props($extra)
    } @live;
    my $deal_groups = $self->open_deal_groups;
    my %r = (contacts => scalar @live, duplicate_groups => scalar @groups,
             contacts_in_duplicates => scalar keys %in, groups => \@groups,
             empty_contacts => \@empty,
             channel_properties => [$self->channel_props($extra)],
             deal_groups => $deal_groups, duplicate_deals => _surplus($deal_groups),
             key_property => KEY_PROP);
    for my $t (qw(notes tasks communications)) {
        my $g = $self->key_groups($t);
        $r{"$SINGULAR{$t}_groups"} = $g;
        $r{"duplicate_$t"} = _surplus($g);
    }
    return \%r;
}

# records beyond the first in each group: the ones that should not exist
sub _surplus ($groups) {
    my $n = 0;
    $n += @{$_->{ids}} - 1 for @$groups;
    return $n;
}

sub stage_closed ($self, $pipeline, $stage) {
    my ($pl) = grep { $_->{id} eq $pipeline } @{$self->{pipelines}{deals} // []};
    my ($st) = $pl ? grep { $_->{id} eq ($stage // '') } @{$pl->{stages}} : ();
    return $st && ($st->{metadata}{isClosed} // '') eq 'true' ? 1 : 0;
}

# More than one open deal (its stage's metadata.isClosed is not "true")
# associated with one contact in one pipeline.
sub open_deal_groups ($self) {
    my %by;
    for my $o (values %{$self->{obj}{deals}}) {
        next if $o->{archived};
        my $pl = $o->{p}{pipeline} // 'default';
        next if $self->stage_closed($pl, $o->{p}{dealstage});
        my $e = $self->{assoc}{"deals:$o->{id}"} // {};
        for my $k (keys %$e) {
            next unless %{$e->{$k}} && $k =~ /^contacts:(.+)$/;
            push @{$by{$1}{$pl}}, $o->{id};
        }
    }
    my @g;
    for my $c (sort { $a <=> $b } keys %by) {
        for my $pl (sort keys %{$by{$c}}) {
            my @ids = sort { $a <=> $b } @{$by{$c}{$pl}};
            push @g, { contact => "$c", pipeline => $pl, ids => \@ids } if @ids > 1;
        }
    }
    return \@g;
}

# Live records of a type sharing one value of crmsync_key.
sub key_groups ($self, $type) {
    my %by;
    for my $o (values %{$self->{obj}{$type}}) {
        next if $o->{archived};
        my $v = $o->{p}{+KEY_PROP};
        push @{$by{$v}}, $o->{id} if defined $v && length $v;
    }
    return [ map { { property => KEY_PROP, value => $_, ids => [sort { $a <=> $b } @{$by{$_}}] } }
             grep { @{$by{$_}} > 1 } sort keys %by ];
}

# ------------------------------------------------------------ persistence

sub save_file ($self, $file) {
    my %custom = map { my $t = $_; $t => { map { $_ => $self->{props}{$t}{$_} }
                       grep { !$self->{props}{$t}{$_}{builtin} } keys %{$self->{props}{$t}} } } @TYPES;
    my $data = { version => 1, saved_at => iso(now_ms()), next_id => $self->{next_id},
                 objects => $self->{obj}, alias => $self->{alias}, assoc => $self->{assoc},
                 custom_properties => \%custom, owners => $self->{owners}, pipelines => $self->{pipelines} };
    my $tmp = "$file.tmp.$$";
    open my $fh, '>:raw', $tmp or die "cannot write $tmp: $!";
    print $fh encode_json($data);
    close $fh or die "cannot write $tmp: $!";
    rename $tmp, $file or die "cannot rename $tmp: $!";
}

sub load_file ($self, $file) {
    open my $fh, '<:raw', $file or die "cannot read $file: $!";
    local $/;
    my $data = decode_json(<$fh>);
    close $fh;
    die "$file: not a sandbox state file\n" unless ref $data eq 'HASH' && ($data->{version} // 0) == 1;
    $self->reset;
    for my $t (@TYPES) {
        $self->{props}{$t}{$_} = $data->{custom_properties}{$t}{$_} for keys %{$data->{custom_properties}{$t} // {}};
        for (keys %{$self->{props}{$t}}) { $self->{uniq}{$t}{$_} //= {} if $self->{props}{$t}{$_}{hasUniqueValue} }
        $self->{obj}{$t} = $data->{objects}{$t} // {};
        $self->{alias}{$t} = $data->{alias}{$t} // {};
        for my $o (values %{$self->{obj}{$t}}) {
            next if $o->{archived};
            $self->_uniq_set($t, $o, 1);
            $self->_index_apply($t, $o->{id}, { p => { %{$o->{p}} }, updated => $o->{updated} });
        }
    }
    $self->{assoc} = $data->{assoc} // {};
    $self->{next_id} = $data->{next_id} // 1001;
    $self->{owners} = $data->{owners} if $data->{owners};
    $self->{pipelines} = $data->{pipelines} if $data->{pipelines};
}

1;

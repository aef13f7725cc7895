package Crmsync::Sign;

# Signatures the way each platform computes them, written independently
# of the C verifiers so that the Test::Nginx suites cross-check them, and
# small helpers to build requests for those suites.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_hex hmac_sha1_hex hmac_sha256 hmac_sha1
                   sha256_hex);
use MIME::Base64 qw(encode_base64 decode_base64);
use Exporter ();

our @EXPORT = qw(
    sample meta_sig intercom_sig twilio_form_sig twilio_url_sig
    respondio_sig standard_sig hubspot_v3_sig hubspot_v2_sig hubspot_v1_sig
    deep_json post
);

# Test::Base runs "--- xxx eval" sections in package Test::Base::Filter:
# the helpers go there too, so that sections can call them unqualified
sub import {
    my $class = shift;
    $class->Exporter::export('Test::Base::Filter', @EXPORT);
    $class->Exporter::export(scalar caller, @EXPORT);
}


my $root = $ENV{CRMSYNC_SAMPLES}
           || (__FILE__ =~ s{t/lib/Crmsync/Sign\.pm$}{}r) . 't/samples';


# the exact bytes of a sample file under t/samples
sub sample {
    my ($name) = @_;
    open my $fh, '<:raw', "$root/$name" or die "$root/$name: $!";
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}


sub b64 { return encode_base64($_[0], '') }


# Meta (WhatsApp, Messenger, Instagram): X-Hub-Signature-256
sub meta_sig { my ($secret, $body) = @_;
    return 'sha256=' . hmac_sha256_hex($body, $secret) }


# Intercom: X-Hub-Signature
sub intercom_sig { my ($secret, $body) = @_;
    return 'sha1=' . hmac_sha1_hex($body, $secret) }


sub form_decode {
    my $s = shift;
    $s =~ tr/+/ /;
    $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $s;
}


# Twilio, form body: URL then each name and value, sorted by name
sub twilio_form_sig {
    my ($token, $url, $body) = @_;
    my @pairs = map { [map { form_decode($_) } split /=/, $_, 2] }
                grep { length } split /&/, $body;
    my $data = $url;
    $data .= $_->[0] . ($_->[1] // '')
        for sort { $a->[0] cmp $b->[0] || ($a->[1] // '') cmp ($b->[1] // '') }
            @pairs;
    return b64(hmac_sha1($data, $token));
}


# Twilio, JSON body: the URL, which carries bodySHA256
sub twilio_url_sig { my ($token, $url) = @_; return b64(hmac_sha1($url, $token)) }


sub respondio_sig { my ($secret, $body) = @_;
    return b64(hmac_sha256($body, $secret)) }


# Standard Webhooks: v1,<b64 HMAC-SHA256(key, id.timestamp.body)>
sub standard_sig {
    my ($secret, $id, $ts, $body) = @_;
    my $key = decode_base64($secret =~ s/^whsec_//r);
    return 'v1,' . b64(hmac_sha256("$id.$ts.$body", $key));
}


sub hubspot_v3_sig {
    my ($secret, $method, $url, $body, $ts_ms) = @_;
    return b64(hmac_sha256($method . $url . $body . $ts_ms, $secret));
}


sub hubspot_v2_sig {
    my ($secret, $method, $url, $body) = @_;
    return sha256_hex($secret . $method . $url . $body);
}


sub hubspot_v1_sig { my ($secret, $body) = @_;
    return sha256_hex($secret . $body) }


# JSON nested $n deep
sub deep_json { my $n = shift; return ('[' x $n) . (']' x $n) }


# "POST uri\nbody" for a --- request eval section
sub post { my ($uri, $body) = @_; return "POST $uri\n$body" }

1;

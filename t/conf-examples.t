# Every config in conf-examples/ passes "nginx -t" with the module built
# here: the module path, the secret and token files, the store, the
# certificate and the ports are put in a temporary prefix; everything else
# is tested as shipped.
#
# Examples name their files where production keeps them (secrets and tokens
# under /etc/nginx/crmsync/, the store under /var/lib/crmsync/); the test
# writes each secret or token file it finds into the prefix (0600, as
# crmsync wants them) and points the example there.  "nginx -t" opens the
# store (the master makes the schema), so the store's directory is made
# world-writable and sticky, writable by whichever user the workers would
# run as.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;

my $top = "$FindBin::Bin/..";
my $build = $ENV{CRMSYNC_BUILD} || "$top/build";
# TEST_NGINX_LOAD_MODULES set but empty: a static build, no load_module
my $module = defined $ENV{TEST_NGINX_LOAD_MODULES}
             ? (split ' ', $ENV{TEST_NGINX_LOAD_MODULES})[0]
             : "$build/ngx_http_crmsync_module.so";
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

# nginx -t binds nothing, but the port is the suites' all the same
my $port = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;

my @examples = glob "$top/conf-examples/*.conf";
ok(@examples >= 6, 'there are examples') or BAIL_OUT('no examples');

my $dir = tempdir(CLEANUP => 1);
mkdir "$dir/$_" for qw(conf logs secrets store);
chmod 01777, "$dir/store";

system("openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=hooks.example.com"
       . " -days 1 -keyout $dir/key.pem -out $dir/cert.pem 2>/dev/null") == 0
    or BAIL_OUT('openssl req failed');

# a secret each provider accepts ("whsec_" + base64 for Standard Webhooks)
my %secret = (bot => 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');

for my $ex (@examples) {
    (my $name = $ex) =~ s{.*/}{};

    open my $in, '<', $ex or die $!;
    my $conf = do { local $/; <$in> };
    close $in;

    unlike($conf, qr/\t/, "$name: no tabs");

    if (defined $module) {
        $conf =~ s{load_module \S+;}{load_module $module;};
    } else {
        like($conf, qr/^load_module \S+;\n/m, "$name: loads the module");
        $conf =~ s{^load_module \S+;\n}{}m;
    }
    $conf =~ s{/etc/ssl/certs/\S+\.pem}{$dir/cert.pem}g;
    $conf =~ s{/etc/ssl/private/\S+\.key}{$dir/key.pem}g;
    $conf =~ s{listen (443|8080)}{listen 127.0.0.1:$port}g;
    $conf =~ s{^events \{\}}{error_log logs/error.log;\npid logs/nginx.pid;\nevents {}}m;

    while ($conf =~ m{crmsync_secret_file\s+(\S+);}g) {
        my $path = $1;
        (my $base = $path) =~ s{.*/}{};
        $base =~ s{\.secret$}{};
        open my $s, '>', "$dir/secrets/$base" or die $!;
        print $s "# rotated\n", $secret{$base} // "example-$base-secret", "\n";
        close $s;
        chmod 0600, "$dir/secrets/$base";
    }

    $conf =~ s{crmsync_secret_file\s+\S+/([^/\s]+)\.secret;}{crmsync_secret_file $dir/secrets/$1;}g;

    # HubSpot tokens: one line, no spaces
    while ($conf =~ m{token_file=\S*/([^/\s;]+)\.token\b}g) {
        open my $t, '>', "$dir/secrets/$1.token" or die $!;
        print $t "# private app token\n", "pat-na1-example-$1\n";
        close $t;
        chmod 0600, "$dir/secrets/$1.token";
    }

    $conf =~ s{token_file=\S*/([^/\s;]+)\.token\b}{token_file=$dir/secrets/$1.token}g;
    $conf =~ s{crmsync_store\s+\S*/([^/\s;]+)}{crmsync_store $dir/store/$1}g;

    open my $out, '>', "$dir/conf/$name" or die $!;
    print $out $conf;
    close $out;

    my $res = `$nginx -t -p $dir/ -c conf/$name 2>&1`;
    like($res, qr/test is successful/, "$name: nginx -t") or diag($res);
    unlike($res, qr/\[(warn|emerg|alert)\]/, "$name: no warning") or diag($res);
}

done_testing();

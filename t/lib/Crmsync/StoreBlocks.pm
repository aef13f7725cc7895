package Crmsync::StoreBlocks;
# The block set-up shared by the Test::Nginx suites of the durable store
# (t/020, t/021, t/022), under the real Test::Nginx and t/lib's alike:
#
#   use Test::Nginx::Socket 'no_plan';
#   use Crmsync::StoreBlocks;
#   Crmsync::StoreBlocks::install();
#
# - timestamps are computed when a block runs, not when the file is read
#   (the suites sign their deliveries in filters);
# - every block gets the portal's token file, html/token, unless it brings
#   user_files of its own;
# - "--- store_http" is http_config after a store, a zone and a portal
#   (whose HubSpot is a closed loopback port: nothing leaves the machine).
use strict;
use warnings;

our $Token = 'pat-na1-00000000-0000-0000-0000-000000000000';

sub install {
    Test::Base::filters_delay(1);

    main::add_block_preprocessor(sub {
        my $block = shift;
        $block->set_value(user_files => ">>> token\n$Token\n")
            unless defined $block->user_files;
        $block->set_value(http_config => <<'CONF' . $block->store_http)
    crmsync_store $TEST_NGINX_SERVER_ROOT/logs/crmsync.db;
    crmsync_zone crmsync:1m;
    crmsync_hubspot url=http://127.0.0.1:9 token_file=$TEST_NGINX_SERVER_ROOT/html/token;
CONF
            if defined $block->store_http;
    });

    main::add_block_preprocessor(sub {
        my $block = shift;
        $block->run_filters unless $block->is_filtered;
    });
}

1;

package Crmsync::Reaper;
# Makes the process that loads it a child subreaper (Linux prctl
# PR_SET_CHILD_SUBREAPER), for runs under the real Test::Nginx.
#
# The real harness starts nginx as a daemon: once it exits after QUIT,
# the process stays a zombie until init reaps it, and the harness polls
# kill(0) until the pid is gone.  An init that reaps lazily (this
# machine's, every 1.5 s or so) then costs each block that long.  As a
# subreaper, the test process inherits the daemon, and the harness's own
# waitpid(WNOHANG) in that poll reaps it at once.  Nothing else changes:
# util/run-tests loads this through PERL5OPT under the real harness only
# (t/lib's harness starts nginx as its own child).

use strict;
use warnings;

my $PR_SET_CHILD_SUBREAPER = 36;

if ($^O eq 'linux' && eval { require 'sys/syscall.ph'; 1 }) {
    syscall(SYS_prctl(), $PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

1;

# conf/cluster-node-sample.conf works as documented: the same file on two
# nodes, only RateLimitWAFNodeName changed, pointed at this test's memcached
# servers and secret, makes a cluster (a ban on one node reaches the other).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $sample = RLW::Httpd::conf_dir() . '/cluster-node-sample.conf';
open my $fh, '<', $sample or die "$sample: $!\n";
my $text = do { local $/; <$fh> };
close $fh;

like $text, qr/^\s*RateLimitWAFNodeName waf-a$/m, 'the sample names node A';
my ($T) = $text =~ /^\s*RateLimitWAFThreshold (\d+)$/m;
ok $T, "threshold $T";

# Its memcached servers and secret, replaced by this test's.
my $c = RLW::Cluster->new(nodes => 0);
$_->start for $c->mcs;
my $servers = join ' ', map { '--SERVER=' . $_->server } $c->mcs;
my $secret = $c->secret_file;
my $n = ($text =~ s/--SERVER=10\.0\.0\.21:11211 --SERVER=10\.0\.0\.22:11211/$servers/g);
is $n, 1, 'one RateLimitWAFStore line with the two sample servers';
$text =~ s{^(\s*RateLimitWAFSecretFile) \S+$}{$1 "$secret"}m
    or fail 'a RateLimitWAFSecretFile line';

my @nodes;
for my $name (qw(waf-a waf-b)) {
    (my $t = $text) =~ s/^(\s*RateLimitWAFNodeName) waf-a$/$1 $name/m;
    my $h = RLW::Httpd->new(name => $name, directives => $t,
                            load => [[authz_host_module => 'mod_authz_host.so']]);
    RLW::Cluster::open_up($h);
    if (!@nodes) {
        my ($rc, $out) = $h->configtest;
        is $rc, 0, 'apache2 -t accepts the sample' or diag $out;
    }
    push @nodes, $h->start;
}
my ($A, $B) = @nodes;
$c->set_nodes(@nodes);

is_deeply [map { $c->status($_)->{node} } @nodes], ['waf-a', 'waf-b'],
    'two nodes, named by the one line that differs';
is_deeply [map { $c->status($_)->{store}{name} } @nodes],
    ['memcached', 'memcached'], 'both use the memcached store';

my $ip = '198.51.100.70';
my $marks = $c->log_marks;
my @s = map { attack($nodes[$_ % 2]->port, $ip) } 1 .. $T;
is statuses(@s), "403 x$T", "$T attacks spread over both nodes";
ok defined $c->wait_everywhere($ip, 404, 2), 'banned on both nodes';
# The ban line is written after the ban is stored, so the other node can
# refuse before it is in the log: wait for it.
my @b = $c->wait_ban_lines($ip, $marks);
sleep 0.5;    # a duplicate would show by now
@b = $c->ban_lines($ip, $marks);
is scalar(@b), 1, 'one ban line in the cluster';
is $b[0]{count}, $T, "count=$T";

$c->stop;
done_testing();

# Banned requests never reach ModSecurity: no "ModSecurity:" error-log line,
# no audit-log entry, no exported score (modsecurity-ratelimit-waf-before.conf
# turns the engine off when the module set RLW_BANNED=1; the embedded engine,
# RLW_ENGINE=modsecurity3, creates no transaction for them).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use RLW::Client qw(:all);

plan tests => 11, need need_rlw();

my $port  = port();
my $elog  = log_path();
my $alog  = log_path('modsec_audit.log');
my $acc   = log_path('rlw_access_log');
my $ip    = '198.51.100.60';
my $ms_re = qr/ModSecurity:/;
# Section A of an audit-log entry: mod_security2 writes --1a2b3c4d-A--,
# libmodsecurity (RLW_ENGINE=modsecurity3) ---keYE5RsK---A--.
my $au_re = qr/^(?:--[0-9a-f]+-|---[0-9A-Za-z]+---)A--$/;

my $off = log_size($elog);
my ($ms0, $au0) = (log_count($elog, 0, $ms_re), log_count($alog, 0, $au_re));
is statuses(attacks($port, $ip, 5)), '403 x5', '5 attacks';
ok wait_ban($elog, $off, $ip), 'banned';
settle(0.5);
my ($ms1, $au1) = (log_count($elog, 0, $ms_re), log_count($alog, 0, $au_re));
cmp_ok $ms1 - $ms0, '>=', 5, 'the attacks left ModSecurity error-log lines';
cmp_ok $au1 - $au0, '>=', 5, 'the attacks left audit-log entries';

# The probe works: an unbanned client's probe is logged and audited.
my $probe_re = qr/rlw test probe phase 1/;
my $p0 = log_count($elog, 0, $probe_re);
is clean($port, '198.51.100.61', headers => ['X-RLW-Probe: 1']), 200,
    'probe request from a client that is not banned';
settle(0.5);
is log_count($elog, 0, $probe_re) - $p0, 1, 'the probe rule logged it';
($ms1, $au1) = (log_count($elog, 0, $ms_re), log_count($alog, 0, $au_re));

my $acc_off = log_size($acc);
# Attacks (caught by phase 2 rules), and requests that the phase 1 probe
# rule of t/conf/extra.conf.in logs when ModSecurity inspects them.
my @probe = (headers => ['X-RLW-Probe: 1']);
is statuses((map { attack($port, $ip) } 1 .. 4),
            (map { clean($port, $ip) } 1 .. 3),
            (map { clean($port, $ip, @probe) } 1 .. 3)),
    '404 x10', '10 requests while banned (attacks, phase 1 probes): 404';
settle(0.5);
my ($ms2, $au2) = (log_count($elog, 0, $ms_re), log_count($alog, 0, $au_re));
is $ms2 - $ms1, 0, 'banned requests: no ModSecurity error-log line'
    or diag join "\n", log_since($elog, $off, $ms_re);
is $au2 - $au1, 0, 'banned requests: no audit-log entry';

my @acc = log_since($acc, $acc_off, qr/^\Q$ip\E /);
is scalar(grep { / 404 / && /score=- / } @acc), 10,
    'banned requests: 404 and no score exported (phase 5 did not run)'
    or diag join "\n", @acc;
is scalar(grep {/banned=1$/} @acc), 10, 'banned requests: RLW_BANNED=1 set'
    or diag join "\n", @acc;

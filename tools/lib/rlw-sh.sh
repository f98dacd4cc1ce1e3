# shellcheck shell=bash
# tools/lib/rlw-sh.sh - private memcached and httpd servers for the shell
# suites, the benchmarks and the demo (sourced, bash only).
#
#   . "$top/tools/lib/rlw-sh.sh"
#   rlw_conf --root "$dir" --listen 18001 --modsec --module >"$dir/httpd.conf"
#   rlw_mc_start "$dir" 11211 -m 64 || exit 2    # waits until it answers
#   rlw_mc_stats 11211                           # "name value" lines
#   rlw_httpd_stop "$dir/run/httpd.pid"
#   rlw_mc_stop "$dir"                           # every memcached of dir
#
# Processes are found by the pid files these functions write, never by
# name: several suites and benchmarks share the machine.
#
# RLW_MC_PREFIX (array, optional): a command memcached runs under (the
# benchmarks pin it to CPUs with taskset).

_rlw_sh_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# rlw_conf OPTION...: an httpd.conf on stdout, from the one generator
# (tools/rlw-httpd-conf; its head lists the options).
rlw_conf() {
    perl "$_rlw_sh_top/tools/rlw-httpd-conf" "$@"
}

# rlw_mc_stats PORT: the "name value" lines of memcached's "stats" on
# 127.0.0.1:PORT (bash's /dev/tcp: no client program needed). Returns 1
# when nothing answers with a complete list.
rlw_mc_stats() {
    local fd line
    exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'stats\r\n' >&"$fd"
    while IFS= read -r -t 2 line <&"$fd"; do
        line=${line%$'\r'}
        [ "$line" = END ] && break
        echo "${line#STAT }"
    done
    exec {fd}>&-
    [ "$line" = END ]
}

# rlw_mc_start DIR PORT [MEMCACHED OPTION...]: one memcached on
# 127.0.0.1:PORT, without UDP, as nobody when started by root, in the
# background; its pid in DIR/memcached-PORT.pid (for rlw_mc_stop, also a
# later run's), its output in DIR/memcached-PORT.log. Waits up to 5 s
# until it answers "stats". Returns 1, with a message on stderr, when it
# exits or does not answer.
rlw_mc_start() {
    local dir=$1 port=$2 pid user=()
    shift 2
    [ "$(id -u)" = 0 ] && user=(-u nobody)
    "${RLW_MC_PREFIX[@]}" memcached -l 127.0.0.1 -p "$port" -U 0 "$@" "${user[@]}" \
        </dev/null >"$dir/memcached-$port.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/memcached-$port.pid"
    for _ in $(seq 100); do
        rlw_mc_stats "$port" >/dev/null 2>&1 && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "memcached on port $port exited: $(cat "$dir/memcached-$port.log")" >&2
            return 1
        fi
        sleep 0.05
    done
    echo "memcached on port $port does not answer" >&2
    return 1
}

# rlw_mc_stop DIR: stops every memcached whose pid file is in DIR (TERM,
# KILL after 5 s) and removes the pid files.
rlw_mc_stop() {
    local f pid
    for f in "$1"/memcached-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
        rm -f "$f"
    done
}

# rlw_httpd_stop PIDFILE [SECONDS]: stops the httpd of PIDFILE (TERM; its
# children go with it) and waits for it to exit; after SECONDS (10) it and
# its children get SIGKILL. Returns 0 when nothing runs any more, 1 when
# it had to kill.
rlw_httpd_stop() {
    local pid kids
    pid=$(cat "$1" 2>/dev/null) || return 0
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kids=$(pgrep -P "$pid" | tr '\n' ' ')
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq $((${2:-10} * 10))); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    # shellcheck disable=SC2086 # the children's pids are words
    kill -KILL "$pid" $kids 2>/dev/null
    return 1
}

# deploy/local/lib.sh: process helpers shared by the server scripts
# (etcd.sh, clickhouse.sh, milvus.sh, triton.sh). Source it after defining
# log, die, PIDFILE and STOP_TIMEOUT.

# alive PID: the process exists and is not a zombie (kill -0 succeeds on a
# zombie).
alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local state
	state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
	[[ "$state" != Z && -n "$state" ]]
}

# port_busy PORT: something accepts connections on 127.0.0.1:PORT.
port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pidfile_pid MARKER: prints the pid in $PIDFILE when it is a live process
# we started: its command line must contain MARKER (a guard against pid
# reuse).
pidfile_pid() {
	[[ -f "$PIDFILE" ]] || return 1
	local pid
	pid="$(cat "$PIDFILE" 2>/dev/null || true)"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$1" || return 1
	echo "$pid"
}

# stop_server NAME: stops the server running_pid names: SIGTERM, up to
# STOP_TIMEOUT seconds, then SIGKILL; removes the pid file.
stop_server() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PIDFILE"
		log "not running"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || true
	local i
	for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		log "pid $pid still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		alive "$pid" && die "pid $pid survived SIGKILL"
	fi
	rm -f "$PIDFILE"
	echo "$1 stopped (pid $pid)"
}

# wait_started PROBE PID NAME LOG...: polls PROBE (a function of the
# caller) until it succeeds and prints how long that took ("1.234"
# seconds). When the process dies first (its pid file is then removed) or
# START_TIMEOUT seconds pass, it logs the last lines of the LOG files and
# fails. Use as: took="$(wait_started healthy "$pid" name "$LOG")" || exit 1
wait_started() {
	local probe=$1 pid=$2 name=$3
	shift 3
	local t0 ms
	t0="$(date +%s%N)"
	while true; do
		if "$probe"; then
			ms=$((($(date +%s%N) - t0) / 1000000))
			printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
			return 0
		fi
		if ! alive "$pid"; then
			log "$name exited during start-up; last lines of $*:"
			tail -n 40 "$@" >&2 2>/dev/null || true
			rm -f "$PIDFILE"
			return 1
		fi
		ms=$((($(date +%s%N) - t0) / 1000000))
		if ((ms > START_TIMEOUT * 1000)); then
			log "$name (pid $pid) not answering after ${START_TIMEOUT}s; last lines of $*:"
			tail -n 40 "$@" >&2 2>/dev/null || true
			return 1
		fi
		sleep 0.2
	done
}

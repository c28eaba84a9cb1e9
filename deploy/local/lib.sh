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

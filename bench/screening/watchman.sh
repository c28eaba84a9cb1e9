#!/usr/bin/env bash
# bench/screening/watchman.sh {build|start|stop|status|run}
#
# moov-io/watchman (v0.60.0) for the side-by-side screening benchmark, built
# and run from local copies of the sanctions lists only (no list downloads).
#
#   build   build the watchman binary into the cache dir (reused when built)
#   start   build if needed, convert the UN list, start watchman in the
#           background, wait until it answers with both lists loaded, and
#           print its base URL on stdout (the only line written to stdout):
#             export EKYC_BENCH_WATCHMAN="$(bench/screening/watchman.sh start)"
#   stop    stop the background watchman (SIGTERM, then SIGKILL)
#   status  exit 0 (answering), 1 (running, not answering) or 3 (not running)
#   run     like start, but in the foreground; Ctrl-C (or SIGTERM) stops it
#
# Build: a scratch Go module in the cache dir (never the repository's module):
#   go get github.com/moov-io/watchman/cmd/server@v0.60.0
#   go build -o watchman github.com/moov-io/watchman/cmd/server
# (`go install ...@latest` needs the proxy's version list, which may be refused.)
#
# How watchman v0.60.0 is pointed at local files (from its source in
# $(go env GOMODCACHE)/github.com/moov-io/watchman@v0.60.0):
#   - APP_CONFIG=<yaml> is merged over configs/config.default.yml
#     (internal/config/config.go, moov-io/base config). We write run/config.yml:
#     Servers.BindAddress 127.0.0.1:<port>, AdminAddress 127.0.0.1:0 (random
#     loopback port), Download.InitialDataDirectory = <sanctions>/ofac,
#     Download.IncludedLists = [us_ofac], Download.Senzing = the UN list,
#     RefreshInterval 8760h, ErrorOnEmptyList true.
#   - INITIAL_DATA_DIRECTORY / InitialDataDirectory: pkg/download/client.go
#     GetFiles opens add.csv, alt.csv, sdn.csv, sdn_comments.csv from there and
#     downloads only files that are missing. OFAC_DOWNLOAD_TEMPLATE is set to a
#     file:///nonexistent/ URL so that a missing file fails instead of going to
#     the network (pkg/sources/ofac/download.go).
#   - Lists: INCLUDED_LISTS / IncludedLists (internal/download/download.go)
#     knows us_ofac, us_non_sdn, us_csl, us_fincen_311, uk_csl, eu_csl — no UN.
#     The UN list is converted to Senzing JSON lines (cmd/un2senzing) and
#     loaded as Download.Senzing list "un_consolidated" from a file:// location
#     (internal/download/download_senzing.go). Nothing else is included, so
#     nothing is downloaded.
#   - Search: GET /v2/search?name=...&limit=...&minMatch=... (internal/search/
#     api_search.go; limit default 10, max 100; minMatch default 0). Readiness:
#     GET /ping answers once the lists are loaded (the HTTP server starts after
#     the first refresh); GET /v2/listinfo gives entities per list.
#   - Recommended threshold: minMatch=0.75 (README.md, docs/usage-docker.md);
#     see WatchmanThreshold in watchman.go and README.md here.
#
# Environment: EKYC_CACHE_DIR (default ~/.cache/ekyc), EKYC_WATCHMAN_DIR
# (default $EKYC_CACHE_DIR/watchman), EKYC_WATCHMAN_PORT (28084),
# EKYC_SANCTIONS_DIR (default <repo>/shared/data/sanctions or
# <repo>/../shared/data/sanctions), EKYC_WATCHMAN_START_TIMEOUT (seconds, 180),
# EKYC_WATCHMAN_STOP_TIMEOUT (seconds before SIGKILL, 20).
set -euo pipefail

VERSION="v0.60.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${EKYC_CACHE_DIR:-$HOME/.cache/ekyc}"
DIR="${EKYC_WATCHMAN_DIR:-$CACHE/watchman}"
BIN="$DIR/watchman"
STAMP="$DIR/watchman.version"
RUN="$DIR/run"
LOG="$RUN/watchman.log"
PIDFILE="$RUN/watchman.pid"
CONFIG="$RUN/config.yml"
UNJSONL="$RUN/un_consolidated.jsonl"
PORT="${EKYC_WATCHMAN_PORT:-28084}"
BASE_URL="http://127.0.0.1:$PORT"
START_TIMEOUT="${EKYC_WATCHMAN_START_TIMEOUT:-180}"
STOP_TIMEOUT="${EKYC_WATCHMAN_STOP_TIMEOUT:-20}"

log() { printf 'watchman.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

sanctions_dir() {
	if [[ -n "${EKYC_SANCTIONS_DIR:-}" ]]; then
		echo "$EKYC_SANCTIONS_DIR"
		return
	fi
	local c
	for c in "$ROOT/shared/data/sanctions" "$ROOT/../shared/data/sanctions"; do
		if [[ -f "$c/ofac/sdn.csv" ]]; then
			(cd "$c" && pwd)
			return
		fi
	done
	die "sanctions lists not found; set EKYC_SANCTIONS_DIR (the directory holding ofac/ and un/)"
}

cmd_build() {
	if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$VERSION" ]]; then
		log "using $BIN ($VERSION)"
		return 0
	fi
	command -v go >/dev/null 2>&1 || die "go is not on PATH"
	mkdir -p "$DIR"
	log "building watchman $VERSION in $DIR (scratch module)"
	(
		cd "$DIR"
		export GOWORK=off GOFLAGS=-mod=mod
		[[ -f go.mod ]] || go mod init ekyc.local/watchmanbuild >&2
		go get "github.com/moov-io/watchman/cmd/server@$VERSION" >&2
		go build -trimpath -ldflags "-X github.com/moov-io/watchman.Version=$VERSION" \
			-o watchman.new github.com/moov-io/watchman/cmd/server >&2
		mv watchman.new watchman
	) || die "building watchman $VERSION failed"
	echo "$VERSION" >"$STAMP"
	log "built $BIN"
}

running_pid() {
	# Prints the pid when the pid file names a live watchman process we started.
	[[ -f "$PIDFILE" ]] || return 1
	local pid
	pid="$(cat "$PIDFILE" 2>/dev/null || true)"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	[[ "$(readlink "/proc/$pid/exe" 2>/dev/null || true)" == "$(readlink -f "$BIN")" ]] || return 1
	echo "$pid"
}

alive() {
	kill -0 "$1" 2>/dev/null || return 1
	local state
	state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
	[[ "$state" != Z && -n "$state" ]]
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answering() { curl -fsS --max-time 2 "$BASE_URL/ping" 2>/dev/null | grep -q PONG; }

listinfo() { curl -fsS --max-time 5 "$BASE_URL/v2/listinfo" 2>/dev/null || true; }

prepare() {
	local data
	data="$(sanctions_dir)"
	local f
	for f in ofac/sdn.csv ofac/alt.csv ofac/add.csv ofac/sdn_comments.csv un/consolidated.xml; do
		[[ -f "$data/$f" ]] || die "missing $data/$f"
	done
	cmd_build
	mkdir -p "$RUN"
	if [[ ! -s "$UNJSONL" || "$data/un/consolidated.xml" -nt "$UNJSONL" || "$ROOT/bench/screening/senzing.go" -nt "$UNJSONL" || "$ROOT/bench/screening/lists.go" -nt "$UNJSONL" ]]; then
		log "converting $data/un/consolidated.xml to Senzing JSON lines"
		(cd "$ROOT" && go run ./bench/screening/cmd/un2senzing -in "$data/un/consolidated.xml" -out "$UNJSONL") ||
			die "UN conversion failed"
	fi
	cat >"$CONFIG" <<EOF
# Written by bench/screening/watchman.sh; merged over watchman's configs/config.default.yml.
Watchman:
  Servers:
    BindAddress: "127.0.0.1:$PORT"
    AdminAddress: "127.0.0.1:0"
  Download:
    RefreshInterval: "8760h"
    InitialDataDirectory: "$data/ofac"
    ErrorOnEmptyList: true
    IncludedLists:
      - "us_ofac"
    Senzing:
      - SourceList: "un_consolidated"
        Location: "file://$UNJSONL"
EOF
}

# The environment watchman runs with: local files only, no telemetry export.
wm_env=(
	env
	APP_CONFIG="$CONFIG"
	OFAC_DOWNLOAD_TEMPLATE="file:///nonexistent/ekyc-no-download/%s"
	INCLUDED_LISTS=
	INITIAL_DATA_DIRECTORY=
	DATA_REFRESH_INTERVAL=8760h
	OTEL_SDK_DISABLED=true
	LOG_FORMAT=plain
)

wait_ready() {
	local pid="$1" t0 ms info
	t0="$(date +%s%N)"
	while true; do
		if answering; then
			info="$(listinfo)"
			if [[ "$info" == *'"us_ofac":'* && "$info" == *'"un_consolidated":'* ]]; then
				ms=$((($(date +%s%N) - t0) / 1000000))
				log "watchman $VERSION ready (pid $pid) in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s: $(grep -o '"lists":{[^}]*}' <<<"$info")"
				log "log $LOG; stop with: $0 stop"
				return 0
			fi
			log "watchman answers but lists are not loaded as expected: $info"
			return 1
		fi
		if ! alive "$pid"; then
			log "watchman exited during start-up; last lines of $LOG:"
			tail -n 30 "$LOG" >&2 || true
			return 1
		fi
		ms=$((($(date +%s%N) - t0) / 1000000))
		if ((ms > START_TIMEOUT * 1000)); then
			log "watchman (pid $pid) not answering after ${START_TIMEOUT}s; last lines of $LOG:"
			tail -n 30 "$LOG" >&2 || true
			return 1
		fi
		sleep 0.2
	done
}

# launch starts watchman in the background and prints its pid (nohup and env
# exec, so $! is watchman itself).
launch() {
	printf '\n=== start %s ===\n' "$(date -u +%FT%TZ)" >>"$LOG"
	nohup "${wm_env[@]}" "$BIN" >>"$LOG" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$PIDFILE"
	echo "$pid"
}

cmd_start() {
	local pid
	if pid="$(running_pid)"; then
		if answering; then
			log "already running (pid $pid)"
			echo "$BASE_URL"
			return 0
		fi
		log "pid $pid exists but is not answering yet; waiting"
	else
		prepare
		port_busy "$PORT" && die "port 127.0.0.1:$PORT is already in use (not by a watchman this script started); set EKYC_WATCHMAN_PORT"
		pid="$(launch)"
		disown "$pid" 2>/dev/null || true
	fi
	if ! wait_ready "$pid"; then
		cmd_stop >&2 || true
		exit 1
	fi
	echo "$BASE_URL"
}

cmd_stop() {
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
	fi
	rm -f "$PIDFILE"
	log "watchman stopped (pid $pid)"
}

cmd_status() {
	local pid
	if pid="$(running_pid)"; then
		if answering; then
			echo "watchman running (pid $pid) on $BASE_URL: $(grep -o '"lists":{[^}]*}' <<<"$(listinfo)")"
			return 0
		fi
		echo "watchman running (pid $pid) but not answering on $BASE_URL; see $LOG"
		return 1
	fi
	echo "watchman not running"
	return 3
}

cmd_run() {
	running_pid >/dev/null && die "already running in the background; $0 stop first"
	prepare
	port_busy "$PORT" && die "port 127.0.0.1:$PORT is already in use; set EKYC_WATCHMAN_PORT"
	local pid
	pid="$(launch)"
	trap 'cmd_stop' EXIT
	trap 'exit 0' INT TERM
	wait_ready "$pid" || exit 1
	echo "$BASE_URL"
	log "running in the foreground (log $LOG); Ctrl-C stops it"
	while alive "$pid"; do sleep 1; done
	log "watchman exited; last lines of $LOG:"
	tail -n 20 "$LOG" >&2 || true
}

case "${1:-}" in
build) cmd_build ;;
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
run) cmd_run ;;
*)
	echo "usage: $0 {build|start|stop|status|run}" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# deploy/local/milvus.sh {start|stop|status|restart|wipe}
#
# Milvus Lite as a local server for development and the
# store/vectors/milvusstore tests (EKYC_TEST_MILVUS=127.0.0.1:29530), bound to
# loopback only:
#   gRPC 127.0.0.1:29530
#
# Where Milvus comes from: PyPI's milvus-lite wheel (manylinux2014 x86_64 /
# aarch64) bundles the Milvus Lite server, milvus_lite/lib/milvus, with its
# shared libraries beside it. pymilvus normally starts it on a unix socket
# (`milvus <db file> unix:<socket> <log level> <lock file>`, stopping when the
# Python process releases the lock file); given a host:port instead of the
# socket and no lock file (milvus_lite/server.py does this for its `address`
# argument) it serves gRPC on TCP until it is signalled. This script runs that
# binary directly; no pymilvus is needed. Milvus Lite keeps its data in one
# SQLite-backed file and indexes with FLAT, IVF_FLAT or AUTOINDEX only.
#
# The venv ${EKYC_CACHE_DIR:-~/.cache/ekyc}/milvus-venv is created once with
# the pinned milvus-lite (from PyPI, or with EKYC_MILVUS_WHEELS=DIR from wheel
# files only). Data (ekyc.db), log, pid file and the readiness probe
# (milvusping, built from store/vectors/milvusstore/milvusping) live in
# <repo>/var/milvus/ (git-ignored). Every command is idempotent; status exits
# 0 (answering), 1 (running, not answering) or 3 (not running).
#
# Environment: EKYC_CACHE_DIR, EKYC_MILVUS_DIR (default <repo>/var/milvus),
# EKYC_MILVUS_PORT (29530), EKYC_MILVUS_PYTHON (interpreter for the venv,
# default python3), EKYC_MILVUS_WHEELS, EKYC_MILVUS_LOG_LEVEL (ERROR; INFO,
# WARNING), EKYC_MILVUS_START_TIMEOUT (seconds, 60), EKYC_MILVUS_STOP_TIMEOUT
# (seconds before SIGKILL, 20).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MILVUS_LITE_VERSION="2.5.1"
CACHE="${EKYC_CACHE_DIR:-$HOME/.cache/ekyc}"
VENV="$CACHE/milvus-venv"
DIR="${EKYC_MILVUS_DIR:-$ROOT/var/milvus}"
DB="$DIR/ekyc.db"
LOG="$DIR/milvus.log"
PIDFILE="$DIR/milvus.pid"
PING_BIN="$DIR/milvusping"
PYTHON="${EKYC_MILVUS_PYTHON:-python3}"
PORT="${EKYC_MILVUS_PORT:-29530}"
ADDR="127.0.0.1:$PORT"
LOG_LEVEL="${EKYC_MILVUS_LOG_LEVEL:-ERROR}"
START_TIMEOUT="${EKYC_MILVUS_START_TIMEOUT:-60}"
STOP_TIMEOUT="${EKYC_MILVUS_STOP_TIMEOUT:-20}"
MARKER="$VENV/.ekyc-milvus"
WANT_MARKER="milvus-lite==$MILVUS_LITE_VERSION"

log() { printf 'milvus.sh: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

running_pid() { pidfile_pid "$DB $ADDR"; }

ensure_venv() {
	if [[ -x "$VENV/bin/python" && -f "$MARKER" && "$(cat "$MARKER")" == "$WANT_MARKER" ]]; then
		return 0
	fi
	command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (EKYC_MILVUS_PYTHON)"
	log "creating $VENV ($WANT_MARKER)"
	mkdir -p "$CACHE"
	[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV" || die "python -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
	local pip=("$VENV/bin/pip" install -q --disable-pip-version-check)
	if [[ -n "${EKYC_MILVUS_WHEELS:-}" ]]; then
		pip+=(--no-index --find-links "$EKYC_MILVUS_WHEELS")
	fi
	"${pip[@]}" "milvus-lite==$MILVUS_LITE_VERSION" || die "pip install milvus-lite==$MILVUS_LITE_VERSION failed"
	echo "$WANT_MARKER" >"$MARKER"
}

# Sets LIB (the wheel's lib directory, with the milvus binary).
locate_server() {
	local sp
	sp="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
	LIB="$sp/milvus_lite/lib"
	[[ -x "$LIB/milvus" ]] || die "no milvus server binary in $LIB (milvus-lite $MILVUS_LITE_VERSION)"
	if LD_LIBRARY_PATH="$LIB" ldd "$LIB/milvus" | grep -q 'not found'; then
		die "the milvus binary misses libraries: $(LD_LIBRARY_PATH="$LIB" ldd "$LIB/milvus" | grep 'not found' | tr -s ' \t' ' ')"
	fi
}

build_ping() {
	if [[ ! -x "$PING_BIN" || -n "$(find "$ROOT/store/vectors/milvusstore" -newer "$PING_BIN" -name '*.go' 2>/dev/null | head -n1)" ]]; then
		(cd "$ROOT" && go build -o "$PING_BIN" ./store/vectors/milvusstore/milvusping) || die "go build ./store/vectors/milvusstore/milvusping failed"
	fi
}

healthy() {
	"$PING_BIN" -q -addr "$ADDR" -timeout 2s 2>/dev/null
}

cmd_start() {
	local pid
	mkdir -p "$DIR"
	chmod 700 "$DIR"
	build_ping
	if pid="$(running_pid)"; then
		if healthy; then
			log "already running (pid $pid) on $ADDR"
			echo "export EKYC_TEST_MILVUS=$ADDR"
			return 0
		fi
		log "pid $pid exists but is not answering yet; waiting"
	else
		ensure_venv
		locate_server
		port_busy "$PORT" && die "port 127.0.0.1:$PORT is already in use by another process (not ours: no live pid in $PIDFILE)"
		: >>"$LOG"
		printf '\n=== start %s ===\n' "$(date -u +%FT%TZ)" >>"$LOG"
		# The server resolves relative paths against its working directory;
		# run it in $DIR with absolute arguments.
		(
			cd "$DIR"
			LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" nohup "$LIB/milvus" "$DB" "$ADDR" "$LOG_LEVEL" \
				>>"$LOG" 2>&1 </dev/null &
			echo $! >"$PIDFILE"
		)
		pid="$(cat "$PIDFILE")"
	fi
	local took
	took="$(wait_started healthy "$pid" milvus "$LOG")" || exit 1
	printf 'milvus lite started (pid %s) on %s in %ss; data %s, log %s\n' "$pid" "$ADDR" "$took" "$DB" "$LOG" >&2
	echo "export EKYC_TEST_MILVUS=$ADDR"
}

cmd_stop() { stop_server milvus; }

cmd_status() {
	local pid
	if pid="$(running_pid)"; then
		build_ping
		if healthy; then
			echo "milvus lite running (pid $pid), answering on $ADDR"
			return 0
		fi
		echo "milvus lite running (pid $pid) but NOT answering on $ADDR; see $LOG"
		return 1
	fi
	echo "milvus lite not running"
	return 3
}

cmd_wipe() {
	cmd_stop
	rm -f "$DB" "$DIR"/.ekyc.db* "$LOG" "$PIDFILE"
	echo "milvus data wiped ($DIR)"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
restart)
	cmd_stop
	cmd_start
	;;
wipe) cmd_wipe ;;
*)
	echo "usage: $0 {start|stop|status|restart|wipe}" >&2
	exit 2
	;;
esac

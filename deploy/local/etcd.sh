#!/usr/bin/env bash
# deploy/local/etcd.sh {start|stop|status|wipe}
#
# A single local etcd member for development and the cluster tests
# (EKYC_TEST_ETCD=127.0.0.1:22379). It runs our own process (never the Debian
# systemd service), bound to loopback only:
#   client http://127.0.0.1:22379   peer http://127.0.0.1:22380
# Data, log and pid file live under <repo>/var/etcd/ (git-ignored).
# Installs the Debian package etcd-server when `etcd` is not on PATH.
# Every command is idempotent; status exits 0 (healthy), 1 (running, not
# healthy) or 3 (not running).
#
# Environment: EKYC_ETCD_DIR (default <repo>/var/etcd), EKYC_ETCD_CLIENT_PORT
# (22379), EKYC_ETCD_PEER_PORT (22380), EKYC_ETCD_START_TIMEOUT (seconds, 60),
# EKYC_ETCD_STOP_TIMEOUT (seconds before SIGKILL, 20).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${EKYC_ETCD_DIR:-$ROOT/var/etcd}"
DATA="$DIR/data"
LOG="$DIR/etcd.log"
PIDFILE="$DIR/etcd.pid"
CLIENT_PORT="${EKYC_ETCD_CLIENT_PORT:-22379}"
PEER_PORT="${EKYC_ETCD_PEER_PORT:-22380}"
CLIENT_URL="http://127.0.0.1:$CLIENT_PORT"
PEER_URL="http://127.0.0.1:$PEER_PORT"
NAME="ekyc-local"
START_TIMEOUT="${EKYC_ETCD_START_TIMEOUT:-60}"
STOP_TIMEOUT="${EKYC_ETCD_STOP_TIMEOUT:-20}"

log() { printf 'etcd.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

running_pid() { pidfile_pid "--data-dir $DATA"; }

healthy() {
	if command -v etcdctl >/dev/null 2>&1; then
		ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$CLIENT_PORT" --dial-timeout=1s --command-timeout=2s endpoint health >/dev/null 2>&1
	else
		curl -fsS --max-time 2 "$CLIENT_URL/health" 2>/dev/null | grep -q '"health":"true"'
	fi
}

ensure_installed() {
	command -v etcd >/dev/null 2>&1 && return 0
	[[ "$(id -u)" == 0 ]] || die "etcd is not installed; run as root or: apt-get install etcd-server"
	log "installing the Debian package etcd-server"
	export DEBIAN_FRONTEND=noninteractive
	# Keep the package's systemd/init service from starting: we run our own process.
	local policy=/usr/sbin/policy-rc.d created=0
	if [[ ! -e "$policy" ]]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod +x "$policy"
		created=1
	fi
	local rc=0
	{ apt-get update -qq && apt-get install -y -qq etcd-server >/dev/null; } || rc=$?
	[[ $created == 1 ]] && rm -f "$policy"
	[[ $rc == 0 ]] || die "apt-get install etcd-server failed (exit $rc)"
	command -v etcd >/dev/null 2>&1 || die "etcd-server installed but no etcd on PATH"
	# If a service was started anyway (no policy-rc.d honoured), stop it.
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
		systemctl stop etcd || true
		systemctl disable etcd >/dev/null 2>&1 || true
	fi
}

cmd_start() {
	local pid
	if pid="$(running_pid)"; then
		if healthy; then
			log "already running (pid $pid) on $CLIENT_URL"
			return 0
		fi
		log "pid $pid exists but is not healthy yet; waiting"
	else
		ensure_installed
		for p in "$CLIENT_PORT" "$PEER_PORT"; do
			port_busy "$p" && die "port 127.0.0.1:$p is already in use by another process (not ours: no live pid in $PIDFILE)"
		done
		mkdir -p "$DATA"
		chmod 700 "$DATA"
		: >>"$LOG"
		printf '\n=== start %s ===\n' "$(date -u +%FT%TZ)" >>"$LOG"
		nohup etcd \
			--name "$NAME" \
			--data-dir "$DATA" \
			--listen-client-urls "$CLIENT_URL" \
			--advertise-client-urls "$CLIENT_URL" \
			--listen-peer-urls "$PEER_URL" \
			--initial-advertise-peer-urls "$PEER_URL" \
			--initial-cluster "$NAME=$PEER_URL" \
			--initial-cluster-state new \
			--initial-cluster-token ekyc-local \
			--listen-metrics-urls "" \
			--logger zap --log-outputs stderr \
			>>"$LOG" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$PIDFILE"
		disown "$pid" 2>/dev/null || true
	fi
	local took
	took="$(wait_started healthy "$pid" etcd "$LOG")" || exit 1
	printf 'etcd started (pid %s) on %s in %ss; data %s, log %s\n' "$pid" "$CLIENT_URL" "$took" "$DATA" "$LOG"
}

cmd_stop() { stop_server etcd; }

cmd_status() {
	local pid
	if pid="$(running_pid)"; then
		if healthy; then
			echo "etcd running (pid $pid), healthy on $CLIENT_URL"
			return 0
		fi
		echo "etcd running (pid $pid) but NOT healthy on $CLIENT_URL; see $LOG"
		return 1
	fi
	echo "etcd not running"
	return 3
}

cmd_wipe() {
	cmd_stop
	rm -rf "$DATA" "$LOG" "$PIDFILE"
	echo "etcd data wiped ($DIR)"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
wipe) cmd_wipe ;;
*)
	echo "usage: $0 {start|stop|status|wipe}" >&2
	exit 2
	;;
esac

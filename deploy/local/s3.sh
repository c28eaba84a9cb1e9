#!/usr/bin/env bash
# deploy/local/s3.sh {start|stop|status|restart|wipe|env}
#
# An S3-compatible object store for development and the S3 tests of the
# encrypted blob store (store/blobs, node: EKYC_TEST_S3), bound to loopback:
#   S3 API http://127.0.0.1:29900, bucket "ekyc", path-style, AWS SigV2/V4
#
# Where it comes from: S3Proxy (org.gaul:s3proxy, Apache 2.0) from Maven
# Central — a server implementing the S3 API (buckets, objects, listing,
# multi-object delete, SigV4 auth) on top of Apache jclouds — with jclouds'
# filesystem provider: objects are files under <repo>/var/s3/data/<bucket>/.
# It is not AWS S3, but it is a real S3 API server reached over HTTP by the
# same gocloud.dev/blob/s3blob driver (AWS SDK v2) the node uses in
# production; no MinIO build is available from the registries this project
# uses. Needs Java 17+.
#
# The jar (~55 MB) is downloaded once to ${EKYC_CACHE_DIR:-~/.cache/ekyc}/s3proxy
# and checked against the SHA-256 pinned below. The access key and secret are
# local and fixed (loopback only): start and env print the EKYC_TEST_S3 URL
# and the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY the AWS SDK reads
# (eval "$(deploy/local/s3.sh env)"). Every command
# is idempotent; status exits 0 (answering), 1 (running, not answering) or 3
# (not running).
#
# Environment: EKYC_CACHE_DIR, EKYC_S3_DIR (default <repo>/var/s3),
# EKYC_S3_PORT (29900), EKYC_S3_START_TIMEOUT (seconds, 60),
# EKYC_S3_STOP_TIMEOUT (seconds before SIGKILL, 20), JAVA (default java).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
S3PROXY_VERSION="4.1.0"
S3PROXY_SHA256="a4d025969aaf796616ed4b1e2491d87d455ce84bb28cb9db086b2e6aaa68b48d"
JAR_NAME="s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"
JAR_URL="https://repo1.maven.org/maven2/org/gaul/s3proxy/$S3PROXY_VERSION/$JAR_NAME"
CACHE="${EKYC_CACHE_DIR:-$HOME/.cache/ekyc}/s3proxy"
JAR="$CACHE/$JAR_NAME"
DIR="${EKYC_S3_DIR:-$ROOT/var/s3}"
DATA="$DIR/data"
CONF="$DIR/s3proxy.conf"
LOG="$DIR/s3proxy.log"
PIDFILE="$DIR/s3proxy.pid"
PORT="${EKYC_S3_PORT:-29900}"
ENDPOINT="http://127.0.0.1:$PORT"
BUCKET="ekyc"
ACCESS_KEY="ekyc-local"
SECRET_KEY="ekyc-local-secret-key"
START_TIMEOUT="${EKYC_S3_START_TIMEOUT:-60}"
STOP_TIMEOUT="${EKYC_S3_STOP_TIMEOUT:-20}"
JAVA="${JAVA:-java}"

log() { printf 's3.sh: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

running_pid() { pidfile_pid "--properties $CONF"; }

ensure_jar() {
	if [[ -f "$JAR" ]] && echo "$S3PROXY_SHA256  $JAR" | sha256sum -c --status; then
		return 0
	fi
	command -v curl >/dev/null || die "curl not found"
	mkdir -p "$CACHE"
	log "downloading $JAR_URL"
	curl -fsSL --retry 3 --max-time 600 -o "$JAR.part" "$JAR_URL" || die "download failed: $JAR_URL"
	echo "$S3PROXY_SHA256  $JAR.part" | sha256sum -c --status || {
		rm -f "$JAR.part"
		die "SHA-256 mismatch for $JAR_NAME"
	}
	mv "$JAR.part" "$JAR"
}

ensure_java() {
	command -v "$JAVA" >/dev/null 2>&1 || die "java not found (S3Proxy needs Java 17+; Debian: apt-get install openjdk-17-jre-headless)"
	local v
	v="$("$JAVA" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
	[[ "${v%%.*}" -ge 17 ]] 2>/dev/null || die "java $v found; S3Proxy needs Java 17+"
}

write_config() {
	cat >"$CONF" <<EOF
s3proxy.endpoint=$ENDPOINT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$ACCESS_KEY
s3proxy.credential=$SECRET_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$DATA
EOF
	chmod 600 "$CONF"
}

# healthy: the API answers (an unsigned request is refused with 403, which
# is an answer).
healthy() {
	local code
	code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ENDPOINT/" 2>/dev/null || true)"
	[[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

print_env() {
	echo "export EKYC_TEST_S3='s3://$BUCKET?endpoint=$ENDPOINT&region=us-east-1&use_path_style=true&disable_https=true'"
	echo "export AWS_ACCESS_KEY_ID=$ACCESS_KEY AWS_SECRET_ACCESS_KEY=$SECRET_KEY"
}

cmd_start() {
	local pid
	mkdir -p "$DATA/$BUCKET" # a bucket of the filesystem provider is a directory
	chmod 700 "$DIR"
	if pid="$(running_pid)"; then
		if healthy; then
			log "already running (pid $pid) on $ENDPOINT"
			print_env
			return 0
		fi
		log "pid $pid exists but is not answering yet; waiting"
	else
		ensure_java
		ensure_jar
		write_config
		port_busy "$PORT" && die "port 127.0.0.1:$PORT is already in use by another process (not ours: no live pid in $PIDFILE)"
		: >>"$LOG"
		printf '\n=== start %s ===\n' "$(date -u +%FT%TZ)" >>"$LOG"
		nohup "$JAVA" -Xmx256m -jar "$JAR" --properties "$CONF" >>"$LOG" 2>&1 </dev/null &
		echo $! >"$PIDFILE"
		pid="$(cat "$PIDFILE")"
	fi
	local took
	took="$(wait_started healthy "$pid" s3proxy "$LOG")" || exit 1
	printf 's3proxy started (pid %s) on %s in %ss; bucket %s in %s, log %s\n' "$pid" "$ENDPOINT" "$took" "$BUCKET" "$DATA" "$LOG" >&2
	print_env
}

cmd_stop() { stop_server s3proxy; }

cmd_status() {
	local pid
	if pid="$(running_pid)"; then
		if healthy; then
			echo "s3proxy running (pid $pid), answering on $ENDPOINT"
			return 0
		fi
		echo "s3proxy running (pid $pid) but NOT answering on $ENDPOINT; see $LOG"
		return 1
	fi
	echo "s3proxy not running"
	return 3
}

cmd_wipe() {
	cmd_stop
	rm -rf "$DATA" "$LOG" "$PIDFILE" "$CONF"
	echo "s3 data wiped ($DIR)"
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
env) print_env ;;
*)
	echo "usage: $0 {start|stop|status|restart|wipe|env}" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# deploy/local/cassandra.sh {start|stop|status|wipe|fetch}
#
# A single-node Apache Cassandra for development and for the CQL session-store
# tests, run from the Maven Central artifacts (no tarball, no Docker):
#
#   deploy/local/cassandra.sh start     # fetch (once), configure, start, wait for CQL
#   EKYC_TEST_CQL=127.0.0.1:29042 go test -count=1 ./store/sessions/cqlstore/
#   deploy/local/cassandra.sh stop
#
# Commands (all idempotent):
#   fetch   resolve cassandra-all and its dependencies with Maven
#           (deploy/local/cassandra/pom.xml) into
#           ${EKYC_CACHE_DIR:-$HOME/.cache/ekyc}/cassandra-<version>/lib; skipped
#           when that directory is complete. start runs it.
#   start   write var/cassandra/conf/{cassandra.yaml,logback.xml}, start the JVM
#           in the background (pid in var/cassandra/cassandra.pid), wait until a
#           CQL query answers (deploy/local/cqlping) and print the start-up time.
#           Does nothing but the readiness check when it already runs.
#   stop    SIGTERM, wait up to EKYC_CASSANDRA_STOP_TIMEOUT seconds (30), SIGKILL.
#   status  exit 0: running and answering CQL; 1: running, not answering; 3: stopped.
#   wipe    stop, then delete var/cassandra (data, commit log, logs, conf).
#
# Everything listens on 127.0.0.1 only: CQL 29042, storage (gossip) 27000,
# JMX (local only, for nodetool) 27199. Environment:
#   EKYC_CASSANDRA_CQL_PORT, EKYC_CASSANDRA_STORAGE_PORT, EKYC_CASSANDRA_JMX_PORT
#                             the ports (29042, 27000, 27199; JMX 0 disables it)
#   EKYC_CASSANDRA_DIR        state directory (default <repo>/var/cassandra)
#   EKYC_CACHE_DIR            jar cache root (default $HOME/.cache/ekyc)
#   EKYC_CASSANDRA_JAVA       java binary (default $JAVA_HOME/bin/java, else the
#                             first Java 17 or 11 found); Cassandra 5.0 needs 11 or 17
#   EKYC_CASSANDRA_HEAP       max heap (default 1g; initial heap 512m)
#   EKYC_CASSANDRA_START_TIMEOUT  seconds to wait for CQL (default 180)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
POM=$ROOT/deploy/local/cassandra/pom.xml
VERSION=$(sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$POM")
[[ -n $VERSION ]] || { echo "cassandra.sh: no <cassandra.version> in $POM" >&2; exit 1; }

CACHE=${EKYC_CACHE_DIR:-$HOME/.cache/ekyc}/cassandra-$VERSION
LIB=$CACHE/lib
DIR=${EKYC_CASSANDRA_DIR:-$ROOT/var/cassandra}
CONF=$DIR/conf
LOGS=$DIR/logs
PIDFILE=$DIR/cassandra.pid
CQL_PORT=${EKYC_CASSANDRA_CQL_PORT:-29042}
STORAGE_PORT=${EKYC_CASSANDRA_STORAGE_PORT:-27000}
JMX_PORT=${EKYC_CASSANDRA_JMX_PORT:-27199}
HEAP=${EKYC_CASSANDRA_HEAP:-1g}
START_TIMEOUT=${EKYC_CASSANDRA_START_TIMEOUT:-180}
STOP_TIMEOUT=${EKYC_CASSANDRA_STOP_TIMEOUT:-30}
HOST=127.0.0.1

log() { echo "cassandra.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# java_major prints the feature version of the java binary $1.
java_major() {
	"$1" -XshowSettings:properties -version 2>&1 |
		sed -n 's/^ *java\.specification\.version = \([0-9.]*\).*/\1/p' | sed 's/^1\.//; s/\..*//'
}

# find_java prints a java binary that runs Cassandra $VERSION (11 or 17).
find_java() {
	local cand major
	if [[ -n ${EKYC_CASSANDRA_JAVA:-} ]]; then
		echo "$EKYC_CASSANDRA_JAVA"
		return
	fi
	for cand in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" \
		/usr/lib/jvm/*17*/bin/java /usr/lib/jvm/*11*/bin/java; do
		[[ -n $cand && -x $cand ]] || continue
		major=$(java_major "$cand")
		if [[ $major == 17 || $major == 11 ]]; then
			echo "$cand"
			return
		fi
	done
	die "no Java 17 or 11 found (Cassandra $VERSION runs on those only); set EKYC_CASSANDRA_JAVA"
}

fetch() {
	if [[ -f $LIB/.complete && -f $LIB/cassandra-all-$VERSION.jar ]]; then
		return
	fi
	command -v mvn >/dev/null || die "mvn not found: Maven is needed once to fetch Cassandra $VERSION"
	log "fetching cassandra-all $VERSION and its dependencies into $LIB (once)"
	mkdir -p "$CACHE"
	local tmp=$CACHE/lib.tmp.$$
	rm -rf "$tmp"
	if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DoutputDirectory="$tmp" >&2; then
		rm -rf "$tmp"
		die "mvn dependency:copy-dependencies failed"
	fi
	touch "$tmp/.complete"
	rm -rf "$LIB"
	mv "$tmp" "$LIB"
}

# running prints the pid of this directory's Cassandra and succeeds if it runs.
running() {
	local pid
	[[ -f $PIDFILE ]] || return 1
	pid=$(<"$PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	# Not a recycled pid: the process is a CassandraDaemon with our config.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "-Dcassandra.config=file://$CONF/cassandra.yaml .*CassandraDaemon" || return 1
	echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# cqlping builds deploy/local/cqlping once into $DIR/bin.
cqlping() {
	local bin=$DIR/bin/cqlping
	if [[ ! -x $bin || -n $(find "$ROOT/deploy/local/cqlping" "$ROOT/go.mod" "$ROOT/go.sum" -newer "$bin" -print -quit) ]]; then
		mkdir -p "$DIR/bin"
		(cd "$ROOT" && go build -o "$bin" ./deploy/local/cqlping) || die "cannot build deploy/local/cqlping"
	fi
	"$bin" "$@"
}

write_config() {
	mkdir -p "$CONF/triggers" "$LOGS" "$DIR/data" "$DIR/commitlog" "$DIR/saved_caches" "$DIR/hints" "$DIR/cdc_raw"
	# Cassandra 5.0 configuration names (with units). Unlisted keys keep the
	# defaults of org.apache.cassandra.config.Config.
	cat >"$CONF/cassandra.yaml" <<EOF
# Generated by deploy/local/cassandra.sh: edits are overwritten at start.
cluster_name: ekyc-local
num_tokens: 1
initial_token: 0
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$HOST:$STORAGE_PORT"
listen_address: $HOST
rpc_address: $HOST
broadcast_address: $HOST
broadcast_rpc_address: $HOST
storage_port: $STORAGE_PORT
ssl_storage_port: $((STORAGE_PORT + 1))
native_transport_port: $CQL_PORT
start_native_transport: true
auto_bootstrap: false

data_file_directories:
  - $DIR/data
commitlog_directory: $DIR/commitlog
saved_caches_directory: $DIR/saved_caches
hints_directory: $DIR/hints
cdc_raw_directory: $DIR/cdc_raw
cdc_enabled: false

commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 8MiB
commitlog_total_space: 256MiB

authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
role_manager: CassandraRoleManager
network_authorizer: AllowAllNetworkAuthorizer

memtable_heap_space: 64MiB
memtable_offheap_space: 64MiB
memtable_flush_writers: 1
concurrent_reads: 4
concurrent_writes: 4
concurrent_counter_writes: 2
concurrent_materialized_view_writes: 2
concurrent_compactors: 1
compaction_throughput: 0MiB/s
key_cache_size: 8MiB
counter_cache_size: 1MiB
prepared_statements_cache_size: 8MiB
native_transport_max_threads: 32

hinted_handoff_enabled: false
dynamic_snitch: false
incremental_backups: false
snapshot_before_compaction: false
auto_snapshot: false
diagnostic_events_enabled: false
materialized_views_enabled: false
sasi_indexes_enabled: false

# Generous timeouts: 2 slow cores. The store's client timeout is longer.
read_request_timeout: 10000ms
range_request_timeout: 10000ms
write_request_timeout: 10000ms
cas_contention_timeout: 5000ms
truncate_request_timeout: 60000ms
request_timeout: 10000ms
EOF
	cat >"$CONF/logback.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by deploy/local/cassandra.sh. -->
<configuration scan="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>$LOGS/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy">
      <fileNamePattern>$LOGS/system.log.%d{yyyy-MM-dd}.%i.zip</fileNamePattern>
      <maxFileSize>20MB</maxFileSize>
      <maxHistory>3</maxHistory>
      <totalSizeCap>100MB</totalSizeCap>
    </rollingPolicy>
    <encoder>
      <pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG" />
  </root>
  <logger name="org.apache.cassandra" level="INFO" />
</configuration>
EOF
}

# jvm_flags prints the JVM arguments, one per line: Cassandra's
# conf/jvm-server.options and conf/jvm17-server.options (JPMS, Netty) plus
# fast single-node start-up properties. Deliberately for development, not
# production: -XX:TieredStopAtLevel=1 (C1 only: on 2 cores the C2 compiler
# threads compete with the short test runs; the cqlstore suite took 16-26s
# with C2, 10-11s without) and -Dcassandra.unsafesystem=true (no fsync of
# the system keyspaces on schema changes: the suite creates and drops a
# keyspace per test; it made little difference on a fast disk, it does on
# slow ones).
jvm_flags() {
	cat <<EOF
-Xms512m
-Xmx$HEAP
-Xss256k
-XX:+UseG1GC
-XX:+ParallelRefProcEnabled
-XX:MaxTenuringThreshold=1
-XX:G1HeapRegionSize=16m
-XX:MaxGCPauseMillis=300
-XX:+HeapDumpOnOutOfMemoryError
-XX:+ExitOnOutOfMemoryError
-XX:HeapDumpPath=$LOGS
-XX:+PerfDisableSharedMem
-XX:TieredStopAtLevel=1
-Djava.net.preferIPv4Stack=true
-Djava.io.tmpdir=$DIR/tmp
-Djdk.attach.allowAttachSelf=true
--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED
--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED
--add-exports=java.base/sun.nio.ch=ALL-UNNAMED
--add-exports=java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
--add-exports=java.rmi/sun.rmi.server=ALL-UNNAMED
--add-exports=java.sql/java.sql=ALL-UNNAMED
--add-exports=java.base/java.lang.ref=ALL-UNNAMED
--add-exports=jdk.unsupported/sun.misc=ALL-UNNAMED
--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
--add-exports=jdk.attach/sun.tools.attach=ALL-UNNAMED
--add-opens=java.base/java.lang.module=ALL-UNNAMED
--add-opens=java.base/jdk.internal.loader=ALL-UNNAMED
--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
--add-opens=java.base/jdk.internal.reflect=ALL-UNNAMED
--add-opens=java.base/jdk.internal.math=ALL-UNNAMED
--add-opens=java.base/jdk.internal.module=ALL-UNNAMED
--add-opens=java.base/jdk.internal.util.jar=ALL-UNNAMED
--add-opens=jdk.management/com.sun.management.internal=ALL-UNNAMED
--add-opens=java.base/sun.nio.ch=ALL-UNNAMED
--add-opens=java.base/java.io=ALL-UNNAMED
--add-opens=java.base/java.nio=ALL-UNNAMED
--add-opens=java.base/java.lang.reflect=ALL-UNNAMED
--add-opens=jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
--add-opens=java.base/java.lang=ALL-UNNAMED
--add-opens=java.base/java.util=ALL-UNNAMED
--add-opens=java.base/java.util.concurrent=ALL-UNNAMED
--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
--add-opens=java.base/java.net=ALL-UNNAMED
-Dio.netty.tryReflectionSetAccessible=true
-Dio.netty.allocator.useCacheForAllThreads=true
-Dio.netty.allocator.maxOrder=11
-Dio.netty.transport.noNative=false
-javaagent:$LIB/jamm-0.4.0.jar
-Dcassandra.config=file://$CONF/cassandra.yaml
-Dcassandra.storagedir=$DIR
-Dcassandra.logdir=$LOGS
-Dcassandra.triggers_dir=$CONF/triggers
-Dlogback.configurationFile=file://$CONF/logback.xml
-Dcassandra-foreground=yes
-Dcassandra.skip_wait_for_gossip_to_settle=0
-Dcassandra.ring_delay_ms=0
-Dcassandra.initial_token=0
-Dcassandra.load_ring_state=false
-Dcassandra.superuser_setup_delay_ms=0
-Dcassandra.unsafesystem=true
-Dcassandra.migration_task_wait_in_seconds=0
EOF
	if [[ $JMX_PORT != 0 ]]; then
		# Local JMX: binds the loopback interface only, no authentication.
		echo "-Dcassandra.jmx.local.port=$JMX_PORT"
		echo "-Djava.rmi.server.hostname=$HOST"
	fi
}

tail_log() {
	local f
	for f in "$LOGS/system.log" "$LOGS/stdout.log"; do
		if [[ -s $f ]]; then
			echo "--- last lines of $f:" >&2
			tail -n 40 "$f" >&2
		fi
	done
}

start() {
	local pid java now t0 elapsed left
	if pid=$(running); then
		log "already running (pid $pid), checking CQL on $HOST:$CQL_PORT"
		cqlping -q -hosts "$HOST:$CQL_PORT" -timeout "${START_TIMEOUT}s" || { tail_log; die "running (pid $pid) but CQL does not answer"; }
		log "ready: CQL on $HOST:$CQL_PORT"
		return
	fi
	rm -f "$PIDFILE"
	for port in "$CQL_PORT" "$STORAGE_PORT"; do
		port_open "$port" && die "port $HOST:$port is in use by another process"
	done
	fetch
	java=$(find_java)
	cqlping -h >/dev/null 2>&1 || true # build it before the clock starts
	write_config
	mkdir -p "$DIR/tmp"
	[[ -s $LOGS/system.log ]] && mv -f "$LOGS/system.log" "$LOGS/system.log.prev"

	local -a flags
	mapfile -t flags < <(jvm_flags)
	t0=$(date +%s.%N)
	# setsid: the daemon outlives the shell (and its process group) that started it.
	setsid "$java" "${flags[@]}" -cp "$LIB/*:$CONF" org.apache.cassandra.service.CassandraDaemon \
		</dev/null >"$LOGS/stdout.log" 2>&1 &
	pid=$!
	echo "$pid" >"$PIDFILE"
	log "started Cassandra $VERSION (pid $pid, $("$java" -version 2>&1 | head -1)); waiting for CQL on $HOST:$CQL_PORT"

	while :; do
		now=$(date +%s.%N)
		elapsed=$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%d", b - a }')
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$PIDFILE"
			tail_log
			die "Cassandra exited during start-up after ${elapsed}s (logs: $LOGS)"
		fi
		if ((elapsed >= START_TIMEOUT)); then
			tail_log
			die "CQL not open on $HOST:$CQL_PORT after ${START_TIMEOUT}s (pid $pid still runs; logs: $LOGS)"
		fi
		port_open "$CQL_PORT" && break
		sleep 0.25
	done
	left=$((START_TIMEOUT - elapsed))
	if ! cqlping -q -hosts "$HOST:$CQL_PORT" -timeout "$((left > 5 ? left : 5))s"; then
		tail_log
		die "CQL port open but queries fail (pid $pid; logs: $LOGS)"
	fi
	now=$(date +%s.%N)
	log "ready: Cassandra $VERSION answers CQL on $HOST:$CQL_PORT after $(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.1f", b - a }')s (pid $pid)"
}

stop() {
	local pid i
	if ! pid=$(running); then
		rm -f "$PIDFILE"
		log "not running"
		return
	fi
	log "stopping pid $pid (SIGTERM)"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 4; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "still running after ${STOP_TIMEOUT}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$PIDFILE"
	log "stopped"
}

status() {
	local pid
	if ! pid=$(running); then
		echo "stopped"
		return 3
	fi
	if cqlping -q -hosts "$HOST:$CQL_PORT" -timeout 5s 2>/dev/null; then
		echo "running (pid $pid), CQL on $HOST:$CQL_PORT"
		return 0
	fi
	echo "running (pid $pid), CQL on $HOST:$CQL_PORT not answering"
	return 1
}

wipe() {
	stop
	rm -rf "$DIR"
	log "wiped $DIR (the jar cache $LIB is kept)"
}

case ${1:-} in
fetch) fetch ;;
start) start ;;
stop) stop ;;
status) status ;;
wipe) wipe ;;
*)
	echo "usage: $0 {start|stop|status|wipe|fetch}" >&2
	exit 2
	;;
esac

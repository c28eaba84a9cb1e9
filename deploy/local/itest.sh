#!/usr/bin/env bash
# Integration suite against real servers started by the project's own scripts:
# Apache Kafka (KRaft, from Maven Central), Apache Cassandra (from Maven
# Central), etcd (Debian), Triton (PyPI nvidia-pytriton; models from
# `make models`), ClickHouse (Debian clickhouse-server), Milvus Lite (PyPI
# milvus-lite) and S3Proxy (Maven Central) as the S3-compatible blob store.
# Starts what is not running, runs the suite with
# EKYC_TEST_* set, and stops what it started.
#
#   deploy/local/itest.sh           strict: a server that cannot start fails the run
#   EKYC_TEST_ITEST=auto deploy/local/itest.sh
#                                   (make test) a server that cannot start skips the
#                                   suite with a loud message; a failing test still fails
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${EKYC_TEST_ITEST:-strict}
started=()
cleanup() {
  local s script variant
  for s in "${started[@]}"; do
    read -r script variant <<<"$s"
    # shellcheck disable=SC2086
    deploy/local/$script stop $variant || true
  done
}
trap cleanup EXIT

t0=$(date +%s)
start() { # script [variant]
  local script=$1 variant=${2:-}
  local t=$(date +%s)
  # shellcheck disable=SC2086
  if deploy/local/$script status $variant >/dev/null 2>&1; then
    echo "itest: $script $variant already running"
    return 0
  fi
  # shellcheck disable=SC2086
  if ! deploy/local/$script start $variant; then
    if [ "$mode" = auto ]; then
      echo "itest: SKIPPED — $script $variant could not be started (see var/ logs above); the integration suite did not run" >&2
      exit 0
    fi
    echo "itest: $script $variant failed to start" >&2
    exit 1
  fi
  started+=("$script $variant")
  echo "itest: $script $variant ready in $(( $(date +%s) - t ))s"
}

start kafka.sh single
start cassandra.sh
start etcd.sh
start triton.sh
start clickhouse.sh
start milvus.sh
start s3.sh

export EKYC_TEST_KAFKA=127.0.0.1:29092
export EKYC_TEST_KAFKA_RESTART=1
export EKYC_TEST_CQL=127.0.0.1:29042
export EKYC_TEST_ETCD=127.0.0.1:22379
export EKYC_TEST_TRITON=127.0.0.1:28001
export EKYC_TEST_CLICKHOUSE=127.0.0.1:29000
export EKYC_TEST_CLICKHOUSE_RESTART=1
export EKYC_TEST_MILVUS=127.0.0.1:29530
eval "$(deploy/local/s3.sh env)" # EKYC_TEST_S3 and its local credentials
echo "itest: servers ready after $(( $(date +%s) - t0 ))s; running the integration suite"
t1=$(date +%s)
go test -count=1 -timeout 30m -v \
  ./store/sessions/cqlstore/ ./store/monitoring/cqlstore/ ./store/analytics/clickhousestore/ ./store/vectors/milvusstore/ ./store/blobs/ \
  ./inference/triton/ ./node/ 2>&1 | grep -vE '^=== (RUN|PAUSE|CONT)' 
rc=${PIPESTATUS[0]}
echo "itest: suite finished in $(( $(date +%s) - t1 ))s (rc=$rc)"
exit "$rc"

#!/usr/bin/env bash
# deploy/local/triton.sh {start|stop|status|restart}
#
# A real NVIDIA Triton Inference Server on 127.0.0.1 for development and the
# inference/triton tests (EKYC_TEST_TRITON=127.0.0.1:28001), on CPU:
#   gRPC 127.0.0.1:28001   HTTP 127.0.0.1:28000   metrics 127.0.0.1:28002
#
# Where Triton comes from: PyPI's nvidia-pytriton wheel (manylinux_2_35 x86_64,
# runs on glibc >= 2.35) bundles the tritonserver binary (Triton 2.51.0 for
# pytriton 0.7.0) with the Python backend only: there is no
# backends/onnxruntime. So each ONNX model of ekyc's model repository
# (${EKYC_MODELS_DIR:-~/.cache/ekyc/models}, `make models`: <model>/config.pbtxt
# with platform "onnxruntime_onnx", <model>/<version>/model.onnx) is served as a
# Python-backend model that runs the same ONNX file with the onnxruntime wheel
# (deploy/local/triton/prepare_repo.py writes that derived repository into
# var/triton/repo on every start; deploy/local/triton/onnx_model.py is the
# model). With a Triton that has the ONNX Runtime backend the models are served
# as configured. No CUDA is needed: on a machine without a GPU Triton logs CUDA
# warnings and serves on CPU.
#
# The venv ${EKYC_CACHE_DIR:-~/.cache/ekyc}/triton-venv is created once with
# pinned nvidia-pytriton and onnxruntime (from PyPI, or with
# EKYC_TRITON_WHEELS=DIR from wheel files only, for machines without network).
# Logs, pid file and the derived repository live in <repo>/var/triton/
# (git-ignored). Every command is idempotent; status exits 0 (ready),
# 1 (running, not ready) or 3 (not running).
#
# Environment: EKYC_CACHE_DIR, EKYC_MODELS_DIR, EKYC_TRITON_DIR (default
# <repo>/var/triton), EKYC_TRITON_PYTHON (interpreter for the venv, default
# python3; 3.8-3.13 with its shared libpython, e.g. Debian/Ubuntu
# libpython3.11), EKYC_TRITON_GRPC_PORT (28001), EKYC_TRITON_HTTP_PORT (28000),
# EKYC_TRITON_METRICS_PORT (28002), EKYC_TRITON_START_TIMEOUT (seconds, 180),
# EKYC_TRITON_STOP_TIMEOUT (seconds before SIGKILL, 40), EKYC_TRITON_WHEELS,
# EKYC_TRITON_ARGS (extra tritonserver flags).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/deploy/local/triton"
PYTRITON_VERSION="0.7.0"
ORT_VERSION="1.30.0"
CACHE="${EKYC_CACHE_DIR:-$HOME/.cache/ekyc}"
VENV="$CACHE/triton-venv"
MODELS="${EKYC_MODELS_DIR:-$CACHE/models}"
DIR="${EKYC_TRITON_DIR:-$ROOT/var/triton}"
REPO="$DIR/repo"
LOG="$DIR/triton.log"
PIDFILE="$DIR/triton.pid"
READY_BIN="$DIR/ready"
PYTHON="${EKYC_TRITON_PYTHON:-python3}"
GRPC_PORT="${EKYC_TRITON_GRPC_PORT:-28001}"
HTTP_PORT="${EKYC_TRITON_HTTP_PORT:-28000}"
METRICS_PORT="${EKYC_TRITON_METRICS_PORT:-28002}"
GRPC_ADDR="127.0.0.1:$GRPC_PORT"
START_TIMEOUT="${EKYC_TRITON_START_TIMEOUT:-180}"
STOP_TIMEOUT="${EKYC_TRITON_STOP_TIMEOUT:-40}"
MARKER="$VENV/.ekyc-triton"
WANT_MARKER="nvidia-pytriton==$PYTRITON_VERSION onnxruntime==$ORT_VERSION"

log() { printf 'triton.sh: %s\n' "$*" >&2; }
die() {
	log "$*"
	exit 1
}
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

running_pid() { pidfile_pid "--model-repository=$REPO "; }

site_packages() {
	"$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

ensure_venv() {
	if [[ -x "$VENV/bin/python" && -f "$MARKER" && "$(cat "$MARKER")" == "$WANT_MARKER" ]]; then
		return 0
	fi
	command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (EKYC_TRITON_PYTHON)"
	log "creating $VENV ($WANT_MARKER)"
	mkdir -p "$CACHE"
	[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV" || die "python -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
	local pip=("$VENV/bin/pip" install -q --disable-pip-version-check)
	if [[ -n "${EKYC_TRITON_WHEELS:-}" ]]; then
		pip+=(--no-index --find-links "$EKYC_TRITON_WHEELS")
	fi
	"${pip[@]}" "nvidia-pytriton==$PYTRITON_VERSION" "onnxruntime==$ORT_VERSION" || die "pip install failed"
	echo "$WANT_MARKER" >"$MARKER"
}

# Sets TS (the tritonserver dist dir) and LIBS; puts the Python backend stub of
# the venv's Python beside libtriton_python.so (what pytriton does at run time).
prepare_server() {
	local sp pyver stub
	sp="$(site_packages)"
	TS="$sp/pytriton/tritonserver"
	LIBS="$sp/nvidia_pytriton.libs"
	[[ -x "$TS/bin/tritonserver" ]] || die "no tritonserver in $TS (nvidia-pytriton $PYTRITON_VERSION)"
	pyver="$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
	stub="$TS/python_backend_stubs/$pyver/triton_python_backend_stub"
	[[ -f "$stub" ]] || die "nvidia-pytriton has no Python backend stub for Python $pyver (has: $(cd "$TS/python_backend_stubs" && echo *))"
	if LD_LIBRARY_PATH="$LIBS" ldd "$stub" | grep -q 'not found'; then
		die "the Python $pyver backend stub misses libraries: $(LD_LIBRARY_PATH="$LIBS" ldd "$stub" | grep 'not found' | tr -s ' \t' ' ') (Debian/Ubuntu: apt-get install libpython$pyver)"
	fi
	cmp -s "$stub" "$TS/backends/python/triton_python_backend_stub" || install -m 755 "$stub" "$TS/backends/python/triton_python_backend_stub"
}

build_ready() {
	if [[ ! -x "$READY_BIN" || -n "$(find "$HERE/ready" "$ROOT/proto/inference" -newer "$READY_BIN" -name '*.go' 2>/dev/null | head -n1)" ]]; then
		(cd "$ROOT" && go build -o "$READY_BIN" ./deploy/local/triton/ready) || die "go build ./deploy/local/triton/ready failed"
	fi
}

ready() {
	"$READY_BIN" -q -addr "$GRPC_ADDR" -timeout 2s 2>/dev/null
}

cmd_start() {
	local pid
	mkdir -p "$DIR"
	build_ready
	if pid="$(running_pid)"; then
		if ready; then
			log "already running (pid $pid) on $GRPC_ADDR"
			return 0
		fi
		log "pid $pid exists but is not ready yet; waiting"
	else
		[[ -d "$MODELS" ]] || die "no model repository at $MODELS (run make models, or set EKYC_MODELS_DIR)"
		ensure_venv
		prepare_server
		for p in "$GRPC_PORT" "$HTTP_PORT" "$METRICS_PORT"; do
			port_busy "$p" && die "port 127.0.0.1:$p is already in use by another process (not ours: no live pid in $PIDFILE)"
		done
		local keep=()
		[[ -f "$TS/backends/onnxruntime/libtriton_onnxruntime.so" ]] && keep=(--keep-onnxruntime)
		"$VENV/bin/python" "$HERE/prepare_repo.py" "$MODELS" "$REPO" "$HERE/onnx_model.py" "${keep[@]}" >&2 ||
			die "could not prepare $REPO from $MODELS"
		: >>"$LOG"
		printf '\n=== start %s ===\n' "$(date -u +%FT%TZ)" >>"$LOG"
		# PATH: the backend stub embeds libpython and finds the venv (numpy,
		# onnxruntime) through the python3 first on PATH, as pytriton does.
		# shellcheck disable=SC2086
		PATH="$VENV/bin:$PATH" LD_LIBRARY_PATH="$LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" nohup "$TS/bin/tritonserver" \
			--model-repository="$REPO" \
			--backend-directory="$TS/backends" \
			--cache-directory="$TS/caches" \
			--grpc-address=127.0.0.1 --grpc-port="$GRPC_PORT" \
			--http-address=127.0.0.1 --http-port="$HTTP_PORT" \
			--metrics-address=127.0.0.1 --metrics-port="$METRICS_PORT" \
			--allow-gpu-metrics=false \
			--strict-readiness=true \
			--exit-on-error=true \
			--log-verbose=0 \
			${EKYC_TRITON_ARGS:-} \
			>>"$LOG" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$PIDFILE"
		disown "$pid" 2>/dev/null || true
	fi
	local took
	took="$(wait_started ready "$pid" tritonserver "$LOG")" || exit 1
	printf 'triton started (pid %s) on %s (HTTP 127.0.0.1:%s) in %ss; models %s, log %s\n' \
		"$pid" "$GRPC_ADDR" "$HTTP_PORT" "$took" "$REPO" "$LOG"
}

cmd_stop() { stop_server triton; }

cmd_status() {
	local pid
	if pid="$(running_pid)"; then
		build_ready
		if ready; then
			echo "triton running (pid $pid), ready on $GRPC_ADDR"
			return 0
		fi
		echo "triton running (pid $pid) but NOT ready on $GRPC_ADDR; see $LOG"
		return 1
	fi
	echo "triton not running"
	return 3
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
restart)
	cmd_stop
	cmd_start
	;;
*)
	echo "usage: $0 {start|stop|status|restart}" >&2
	exit 2
	;;
esac

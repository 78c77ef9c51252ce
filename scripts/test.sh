#!/usr/bin/env bash
# The test command of wdstream (README.md, "Tests"); .ci/run calls it.
#
# usage: scripts/test.sh [PACKAGES...]    (default ./...)
#
# 1. installs what the tests need, once per machine (scripts/install.sh;
#    cached under ${WDSTREAM_CACHE:-~/.cache/wdstream});
# 2. starts Apache Kafka (KRaft) and an S3 server on 127.0.0.1
#    (scripts/services.sh) and exports the test environment;
# 3. runs the steps below (go vet, go test -race, ...), each even when an
#    earlier one failed;
# 4. stops the services, whatever happened; on failure their logs and go
#    test's output are kept under test-artifacts/services/, and the failing
#    tests (or those a timeout found running) are printed last.
# It exits non-zero when anything failed.
#
# Knobs: WDSTREAM_GO_TEST_FLAGS (extra go test flags, e.g. "-v -run Kafka"),
# WDSTREAM_TEST_TIMEOUT (go test -timeout, default 25m), WDSTREAM_CACHE.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
started=$SECONDS

if [ "$#" -gt 0 ]; then
	pkgs=("$@")
else
	pkgs=(./...)
fi

bash scripts/install.sh

RUN="$(mktemp -d "${TMPDIR:-/tmp}/wdstream-test.XXXXXX")"
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	bash scripts/services.sh stop "$RUN" || status=1
	if [ "$status" -ne 0 ] && [ -d "$RUN" ]; then
		local keep="$root/test-artifacts/services"
		rm -rf "$keep"
		mkdir -p "$keep"
		(cd "$RUN" && find . \( -name '*.log' -o -name '*.properties' -o -name env.sh \) \
			-exec cp --parents {} "$keep" \;) || true
		log "service logs kept in $keep"
	fi
	rm -rf "$RUN"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/services.sh start "$RUN"
# shellcheck disable=SC1091
. "$RUN/env.sh"

failed=()
# step NAME CMD...: run one step, timing it and recording a failure.
step() {
	local name="$1" s=$SECONDS rc=0
	shift
	log "step: $name"
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		log "step $name: ok ($((SECONDS - s))s)"
	else
		log "step $name: FAILED with exit code $rc ($((SECONDS - s))s)"
		failed+=("$name")
	fi
}

# ---- Steps. Later work adds its steps here, e.g.
#   step "python interop" "$WDSTREAM_PYTHON" scripts/interop/check.py
# go test stays last: CI reads its closing lines.
step "go vet" go vet "${pkgs[@]}"
# golangci-lint (.golangci.yml): staticcheck and the standard linters, and
# the import rule that keeps kafka-go inside package kafka.
# shellcheck disable=SC1091
step "golangci-lint" bash -c '. "$1/tools.env" && "$GOLANGCI_LINT" run "${@:2}"' _ "$WDSTREAM_CACHE" "${pkgs[@]}"
if [ "$#" -eq 0 ]; then
	step "openblas build" go test -tags openblas -count=1 ./trainer/...
fi
# gotest LOG ARGS...: go test ARGS, its output also in $RUN/LOG (kept
# under test-artifacts/services/ on failure), with the load average before
# and after.
gotest() {
	local out="$RUN/$1"
	shift
	log "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
	go test "$@" 2>&1 | tee "$out"
	local rc=${PIPESTATUS[0]}
	log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
	return "$rc"
}
# Tests that restart the shared broker (testenv.RestartKafka; their names
# hold BrokerRestart) run alone, one package at a time: a restart in the
# middle of another package's tests would fail those.
# shellcheck disable=SC2086
step "broker restarts" gotest go-test-restarts.log -race -count=1 -p 1 -timeout "${WDSTREAM_TEST_TIMEOUT:-25m}" ${WDSTREAM_GO_TEST_FLAGS:-} -run BrokerRestart "${pkgs[@]}"
# shellcheck disable=SC2086
step "go test" gotest go-test.log -race -count=1 -timeout "${WDSTREAM_TEST_TIMEOUT:-25m}" ${WDSTREAM_GO_TEST_FLAGS:-} -skip BrokerRestart "${pkgs[@]}"
# ---- End of steps.

if [ "${#failed[@]}" -gt 0 ]; then
	# What failed, last, where CI shows it: failing tests, and the tests a
	# timeout found running (its panic lists them before the goroutines).
	for f in "$RUN"/go-test*.log; do
		[ -f "$f" ] || continue
		grep -E -A12 '^panic: test timed out' "$f" | grep -E '^(panic|\s+running tests|\s+Test)' || true
		grep -E '^(--- FAIL|FAIL\s)' "$f" || true
	done
	log "FAILED: ${failed[*]} ($((SECONDS - started))s in all)"
	exit 1
fi
log "all steps passed ($((SECONDS - started))s in all)"

#!/usr/bin/env bash
# Installs what the tests need, once per machine: kcat and Chromium
# (Debian: chromium, chromium-driver, for the status page's browser test), the Kafka
# broker's jars (Maven Central, scripts/kafka/pom.xml), versitygw and
# golangci-lint (the Go module proxy) and a Python venv (PyPI,
# scripts/python-requirements.txt).
# Everything but kcat goes under $WDSTREAM_CACHE (default ~/.cache/wdstream),
# keyed by version, so a second run downloads nothing.
#
# It writes $WDSTREAM_CACHE/tools.env, which the other scripts source:
# WDSTREAM_KCAT, KAFKA_LIB, VERSITYGW, GOLANGCI_LINT, WDSTREAM_PYTHON.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
. "$here/lib.sh"

lock_cache install
steplog="$WDSTREAM_CACHE/install.log"
: >"$steplog"

# run_logged WHAT CMD...: run CMD with its output in the install log; on
# failure print the log's tail and stop.
run_logged() {
	local what="$1"
	shift
	if ! "$@" >>"$steplog" 2>&1; then
		tail -n 40 "$steplog" >&2
		die "installing $what failed (full log: $steplog)"
	fi
}

install_kcat() {
	if [ -n "${WDSTREAM_KCAT:-}" ]; then
		[ -x "$WDSTREAM_KCAT" ] || die "WDSTREAM_KCAT=$WDSTREAM_KCAT is not an executable"
		KCAT="$WDSTREAM_KCAT"
		return
	fi
	if ! command -v kcat >/dev/null; then
		log "installing kcat (apt)"
		command -v apt-get >/dev/null || die "kcat is not installed and there is no apt-get: install kcat or set WDSTREAM_KCAT"
		run_logged "kcat: apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
		run_logged "kcat: apt-get install" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat
	fi
	KCAT="$(command -v kcat)"
}

install_kafka() {
	local pom="$here/kafka/pom.xml"
	local dir
	dir="$WDSTREAM_CACHE/kafka/$(hash_of "$pom")"
	KAFKA_LIB="$dir/lib"
	[ -f "$dir/complete" ] && return
	command -v java >/dev/null || die "java is not installed: the Kafka broker needs a JRE (17 or newer)"
	command -v mvn >/dev/null || die "mvn is not installed: the Kafka jars are resolved with Maven"
	log "resolving Kafka jars with Maven ($pom)"
	rm -rf "$dir"
	mkdir -p "$dir"
	run_logged "Kafka jars (mvn dependency:copy-dependencies)" \
		mvn -B -q -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIB"
	ls "$KAFKA_LIB"/kafka_2.13-*.jar >/dev/null 2>&1 || die "Maven left no kafka_2.13 jar in $KAFKA_LIB"
	touch "$dir/complete"
}

# install_go_tool NAME PACKAGE VERSION: go install PACKAGE@VERSION into the
# cache, outside our module (so that our go.mod plays no part), once;
# sets TOOL to the binary's path.
install_go_tool() {
	TOOL="$WDSTREAM_CACHE/bin/$1-$3"
	[ -x "$TOOL" ] && return
	log "building $1 $3 (go install)"
	local tmp
	tmp="$(mktemp -d)"
	run_logged "$1 (go install)" env -C "$tmp" GOBIN="$tmp/bin" GOFLAGS=-buildvcs=false \
		go install "$2@$3"
	mkdir -p "$WDSTREAM_CACHE/bin"
	mv "$tmp/bin/$1" "$TOOL"
	rm -rf "$tmp"
}

install_python() {
	local req="$here/python-requirements.txt"
	local py="${WDSTREAM_PYTHON_BASE:-python3}"
	command -v "$py" >/dev/null || die "$py is not installed: the interop checks need Python 3 with venv"
	local venv
	venv="$WDSTREAM_CACHE/venv/$( (cat "$req"; "$py" --version) | sha256sum | cut -c1-16)"
	PYTHON="$venv/bin/python"
	[ -f "$venv/complete" ] && return
	log "creating the Python venv ($req)"
	rm -rf "$venv"
	run_logged "Python venv" "$py" -m venv "$venv"
	run_logged "Python packages (pip install -r $req)" "$PYTHON" -m pip install -q --disable-pip-version-check -r "$req"
	touch "$venv/complete"
}

install_chromium() {
	if [ -n "${WDSTREAM_CHROMIUM:-}" ] || command -v chromium >/dev/null; then
		return
	fi
	log "installing chromium and chromium-driver (apt)"
	command -v apt-get >/dev/null || die "chromium is not installed and there is no apt-get: install chromium or set WDSTREAM_CHROMIUM"
	run_logged "chromium: apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	run_logged "chromium: apt-get install" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
}

# OpenBLAS for the trainer's `-tags openblas` build test (cgo + libopenblas).
install_openblas() {
	if dpkg -s libopenblas-dev >/dev/null 2>&1; then
		return
	fi
	log "installing libopenblas-dev (apt)"
	command -v apt-get >/dev/null || die "libopenblas-dev is not installed and there is no apt-get"
	run_logged "openblas: apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	run_logged "openblas: apt-get install" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libopenblas-dev
}

start=$SECONDS
install_kcat
install_chromium
install_openblas
install_kafka
install_go_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
VERSITYGW="$TOOL"
install_go_tool golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION"
GOLANGCI_LINT="$TOOL"
install_python
cat >"$WDSTREAM_CACHE/tools.env" <<ENV
WDSTREAM_KCAT='$KCAT'
KAFKA_LIB='$KAFKA_LIB'
VERSITYGW='$VERSITYGW'
GOLANGCI_LINT='$GOLANGCI_LINT'
WDSTREAM_PYTHON='$PYTHON'
ENV
log "tools ready in $((SECONDS - start))s (cache: $WDSTREAM_CACHE)"

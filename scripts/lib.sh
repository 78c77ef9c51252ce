# shellcheck shell=bash
# Helpers shared by the test scripts (sourced, never run). Versions of the
# test services live here so that one change moves every script.

WDSTREAM_CACHE="${WDSTREAM_CACHE:-${HOME:-/root}/.cache/wdstream}"

# Versions. The Kafka version is the one in scripts/kafka/pom.xml.
VERSITYGW_VERSION="v1.8.0"
GOLANGCI_LINT_VERSION="v2.15.0"

# Test credentials: loopback-only services started for one test run.
S3_ACCESS_KEY="wdstreamtest"
S3_SECRET_KEY="wdstreamtest-secret"
S3_BUCKET="wdstream-test"
S3_REGION="us-east-1"
KAFKA_SASL_USER="wdstream"
KAFKA_SASL_PASSWORD="wdstream-secret"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# port_in_use PORT: true when something listens on 127.0.0.1:PORT.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# lock_cache NAME: holds an exclusive lock on $WDSTREAM_CACHE/NAME.lock on
# file descriptor 9 until this shell exits, so that concurrent test runs on
# one machine take turns. Background services must be started with 9>&- so
# that they do not keep holding it.
lock_cache() {
	mkdir -p "$WDSTREAM_CACHE"
	exec 9>"$WDSTREAM_CACHE/$1.lock"
	if ! flock -w 1200 9; then
		die "waited 20 minutes for $WDSTREAM_CACHE/$1.lock: another test run holds it"
	fi
}

# hash_of FILE...: a short content hash, used to key cache entries.
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# as_root CMD...: run CMD as root (directly, or through sudo when available).
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo -n "$@"
	else
		die "need root to run: $* (install it by hand or run as root)"
	fi
}

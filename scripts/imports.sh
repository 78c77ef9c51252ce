#!/usr/bin/env bash
# Prints the import graph of wdstream's own packages (README.md, "Code
# map"): each package, then the packages of this module it imports. Test
# helpers (internal/testenv) and benchmarks (bench/) are left out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mod="$(go list -m)"
go list -f '{{.ImportPath}}:{{range .Imports}} {{.}}{{end}}' ./... |
	grep -v -e "^$mod/bench/" -e "^$mod/internal/testenv:" |
	awk -v mod="$mod/" '{
		line = $1
		for (i = 2; i <= NF; i++) if (index($i, mod) == 1 && $i !~ /internal\/testenv/) line = line " " $i
		gsub(mod, "", line)
		print line
	}'

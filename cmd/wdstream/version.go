package main

import (
	"context"
	"fmt"
	"io"

	"github.com/wdstream/wdstream/internal/buildinfo"
)

func versionCommand() command {
	return command{
		name:    "version",
		summary: "print the build: module version, VCS revision and time, Go version, BLAS",
		run:     runVersion,
	}
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "[--json]", stderr)
	jsonOut := fs.Bool("json", false, "print the build as a JSON object (the keys of a manifest's build)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	in := buildinfo.Read()
	if *jsonOut {
		return writeIndentedJSON(stdout, in)
	}
	for _, kv := range in.Pairs() {
		if _, err := fmt.Fprintf(stdout, "%s: %s\n", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

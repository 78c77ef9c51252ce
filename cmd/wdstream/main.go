// Command wdstream continuously trains Wide & Deep models from app-store logs.
//
// main only wires: each subcommand lives in its own file as a command value
// listed in commands; it parses its flags, builds the components from the
// library packages and runs them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/wdstream/wdstream/internal/tmpdir"
)

// command is one subcommand of wdstream.
type command struct {
	name    string
	summary string
	// run parses args (without the subcommand name) and does the work.
	// It returns errUsage (wrapped or not) for bad flags.
	run func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands lists every subcommand; each is defined in its own file.
func commands() map[string]command {
	m := map[string]command{}
	for _, c := range []command{
		// one line per subcommand, e.g. simulateCommand(),
		simulateCommand(),
		runCommand(),
		backfillCommand(),
		tuneCommand(),
		evalCommand(),
		predictCommand(),
		serveCommand(),
		modelsCommand(),
		joinCommand(),
		demoCommand(),
		experimentCommand(),
		versionCommand(),
	} {
		m[c.name] = c
	}
	return m
}

// errUsage marks a command-line mistake: the usage has already been printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	release := ownTempDir(os.Stderr)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	release()
	stop()
	os.Exit(code)
}

// ownTempDir points TMPDIR at a directory of this process (package
// tmpdir), after removing those of wdstream processes that were killed,
// so that the temporary files gocloud.dev writes objects through never
// outlive a kill -9. The removal is silent: those files are no one's. It
// returns what removes the directory at exit.
func ownTempDir(stderr io.Writer) func() {
	dir, _, release, err := tmpdir.Own(os.TempDir())
	if err != nil {
		fmt.Fprintf(stderr, "wdstream: warning: %v; temporary files go to %s\n", err, os.TempDir())
		return func() {}
	}
	if err := os.Setenv("TMPDIR", dir); err != nil {
		release()
		return func() {}
	}
	return release
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "wdstream: unknown command %q (run wdstream --help)\n", args[0])
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "wdstream %s: %v\n", c.name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "wdstream: continuous training of Wide & Deep models from app-store logs")
	fmt.Fprintln(w, "\nusage: wdstream <command> [flags]   (wdstream <command> --help for its flags)")
	fmt.Fprintln(w, "\ncommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}

// newFlagSet returns a flag set for a subcommand that reports errors instead
// of exiting. Its full usage is printed for --help only: a bad flag gets the
// flag package's one-line error and a pointer to --help (parseFlags).
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wdstream "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wdstream %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// flagError prints a one-line usage error for the command of fs and
// returns errUsage.
func flagError(fs *flag.FlagSet, msg string) error {
	fmt.Fprintf(fs.Output(), "%s: %s (see %s --help)\n", fs.Name(), msg, fs.Name())
	return errUsage
}

// parseFlags parses args into fs and maps flag errors to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			fs.Usage()
			return flag.ErrHelp
		}
	}
	full := fs.Usage
	fs.Usage = func() {} // a bad flag: the flag package's one line, then ours
	defer func() { fs.Usage = full }()
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(fs.Output(), "see %s --help\n", fs.Name())
		return errUsage
	}
	if fs.NArg() > 0 {
		return flagError(fs, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	return nil
}

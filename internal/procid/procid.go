// Package procid names a process so that another process on the same
// machine can tell, later, whether it has exited: a kill -9 leaves a lock
// or a temporary directory behind, and whoever finds it can then clean it
// up at once instead of waiting for a timeout.
//
// An id is "BOOT.PIDNS.PID.START": the kernel's boot id, the inode of the
// pid namespace, the pid, and the process's start time in clock ticks
// since boot. The pid alone is not enough: pids are reused, and another
// machine or container sharing a store or a temp directory has its own.
// Only Linux gives all four (from /proc); elsewhere Self returns "" and
// Dead always answers false, so callers fall back to their timeouts.
package procid

import (
	"os"
	"strconv"
	"strings"
)

// proc is the procfs root; tests point it elsewhere.
var proc = "/proc"

// Self returns this process's id, or "" where it cannot be made.
func Self() string {
	return idOf(os.Getpid())
}

// idOf returns the id of the running process pid, or "".
func idOf(pid int) string {
	host := machine()
	if host == "" {
		return ""
	}
	start, ok := startTime(pid)
	if !ok {
		return ""
	}
	return host + "." + strconv.Itoa(pid) + "." + start
}

// machine returns "BOOT.PIDNS" of this process, or "".
func machine() string {
	b, err := os.ReadFile(proc + "/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	boot := strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
	ns, err := os.Readlink(proc + "/self/ns/pid") // "pid:[4026531836]"
	if err != nil {
		return ""
	}
	ns = strings.TrimSuffix(strings.TrimPrefix(ns, "pid:["), "]")
	if boot == "" || !digits(boot, true) || !digits(ns, false) {
		return ""
	}
	return boot + "." + ns
}

// startTime returns field 22 of /proc/PID/stat, the process's start time
// in clock ticks after boot.
func startTime(pid int) (string, bool) {
	b, err := os.ReadFile(proc + "/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself: the fields after it start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if len(f) < 20 || !digits(f[19], false) {
		return "", false
	}
	return f[19], true
}

// Dead reports whether the process named by id is known to have exited:
// id was made on this machine (same boot) in this pid namespace, and no
// process with its pid and start time runs now. It is false whenever that
// cannot be known (another machine, another container, a malformed id,
// no /proc), so a caller never acts on a live process's behalf.
func Dead(id string) bool {
	host := machine()
	if host == "" || !strings.HasPrefix(id, host+".") {
		return false
	}
	rest := strings.Split(strings.TrimPrefix(id, host+"."), ".")
	if len(rest) != 2 || !digits(rest[0], false) || !digits(rest[1], false) {
		return false
	}
	pid, err := strconv.Atoi(rest[0])
	if err != nil || pid <= 0 {
		return false
	}
	start, ok := startTime(pid)
	if !ok {
		// No such process. A read error other than "not found" (say,
		// /proc hidden) is not proof of death.
		_, err := os.Stat(proc + "/" + rest[0])
		return os.IsNotExist(err)
	}
	return start != rest[1] // the pid was reused by a later process
}

// digits reports whether s is a non-empty run of decimal (or, with hex,
// lower-case hexadecimal) digits.
func digits(s string, hex bool) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || hex && 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

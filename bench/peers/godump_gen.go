// godump_gen: a Go service-like heap of a given size with a session-cache
// leak, written as a heap dump (runtime/debug.WriteHeapDump) and, at the
// same moment, as a runtime/pprof heap profile. Used by bench/run-godump.sh
// to time `maproot analyze` on 0.1 to 1 GB dumps and to compare with what
// `go tool pprof` can say about the same heap.
//
// usage: godump_gen ENTRIES DUMP PROFILE
//
// Each entry is what a leaking session cache holds per user: a key string,
// a *Session with a 1.5 KiB state buffer and a small map of attributes
// (so a dump has as many small maps as entries, like real services).
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
)

type Session struct {
	User  string
	ID    int
	State []byte
	Attrs map[string]string
	Peers []*Session
}

var sessionCache map[string]*Session

//go:noinline
func newSession(i int) *Session {
	s := &Session{User: fmt.Sprintf("user-%d", i), ID: i, State: make([]byte, 1536)}
	s.Attrs = map[string]string{"region": fmt.Sprintf("r%d", i%7), "tier": "gold"}
	return s
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: godump_gen ENTRIES DUMP PROFILE")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 0 {
		fmt.Fprintln(os.Stderr, "godump_gen: bad ENTRIES")
		os.Exit(2)
	}
	sessionCache = make(map[string]*Session)
	var prev *Session
	for i := 0; i < n; i++ {
		s := newSession(i)
		if prev != nil && i%16 != 0 {
			s.Peers = []*Session{prev}
		}
		prev = s
		sessionCache[s.User] = s
	}
	runtime.GC()
	pf, err := os.Create(os.Args[3])
	if err == nil {
		err = pprof.WriteHeapProfile(pf)
		pf.Close()
	}
	df, err2 := os.Create(os.Args[2])
	if err != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "godump_gen:", err, err2)
		os.Exit(1)
	}
	debug.WriteHeapDump(df.Fd())
	if err := df.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "godump_gen:", err)
		os.Exit(1)
	}
	runtime.KeepAlive(sessionCache)
}

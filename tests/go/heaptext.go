// heaptext: a small Go program that grows a map, its allocations sampled
// one per RATE bytes (1: every one), and writes its heap profile twice from
// the same memory-profile data: as a proto (debug=0) and as text (debug=1).
// Used by tests/test_heaptext.sh to check that maproot reads both alike.
//
// usage: heaptext RATE PROTO.pb.gz TEXT.txt
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
)

type entry struct {
	id      int
	payload []byte
}

var table = map[int]*entry{}

//go:noinline
func grow(n int) {
	for i := 0; i < n; i++ {
		table[i] = &entry{id: i, payload: make([]byte, 48+i%100)}
	}
}

//go:noinline
func scratch(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		b := make([]byte, 4096)
		s += len(b)
	}
	return s
}

func write(path string, dbg int) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.Lookup("heap").WriteTo(f, dbg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f.Close()
}

// args returns the sampling rate and the two paths, or stops the program
// with its usage.
func args() (rate int, proto, text string) {
	if len(os.Args) == 4 {
		if r, err := strconv.Atoi(os.Args[1]); err == nil && r > 0 {
			return r, os.Args[2], os.Args[3]
		}
	}
	fmt.Fprintln(os.Stderr, "usage: heaptext RATE PROTO TEXT (RATE > 0)")
	os.Exit(2)
	return
}

func main() {
	rate, proto, text := args()
	runtime.MemProfileRate = rate
	grow(20000)
	scratch(300)
	// The profile shows what the last completed collection published; with
	// no collection between the two writes both hold the same records.
	runtime.GC()
	debug.SetGCPercent(-1)
	write(proto, 0)
	write(text, 1)
}

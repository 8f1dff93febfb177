// mapgrow: a small Go program that allocates into a map and writes two
// runtime/pprof heap profiles, one before and one after the map grows.
// Used by tests/test_go_compat.sh to check maproot against go tool pprof.
//
// usage: mapgrow BEFORE.pb.gz AFTER.pb.gz
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

type session struct {
	id   int
	data []byte
}

var cache = map[string]*session{}
var sink [][]byte

//go:noinline
func addSessions(from, to int) {
	for i := from; i < to; i++ {
		key := fmt.Sprintf("user-%d", i)
		cache[key] = &session{id: i, data: make([]byte, 64+i%200)}
	}
}

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 1024))
		if len(sink) > 100 {
			sink = sink[:0]
		}
	}
}

func writeProfile(path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f.Close()
}

func main() {
	runtime.MemProfileRate = 512 // many samples
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mapgrow BEFORE AFTER")
		os.Exit(2)
	}
	addSessions(0, 2000)
	churn(5000)
	writeProfile(os.Args[1])
	addSessions(2000, 40000)
	churn(20000)
	writeProfile(os.Args[2])
}

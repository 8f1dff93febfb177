// common.go: what the Go peers share; each is built together with this file
// (go build -o NAME PEER.go common.go).
package main

import (
	"fmt"
	"runtime"
	"sort"
)

// splitmix64 is the same generator as the C side's (bench/bench.h): a
// bijection, so hits and misses never collide.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// median of v (sorts v).
func median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// benchResult prints "RESULT <name> <unit> <median> <run>..." (sorts v), the
// C side's bench_result: the median, then every run ascending, so that
// bench/run-rt.sh can pool the runs of several processes and show their spread.
func benchResult(name, unit string, v []float64) {
	fmt.Printf("RESULT %s %s %.2f", name, unit, median(v))
	for _, x := range v {
		fmt.Printf(" %.2f", x)
	}
	fmt.Println()
}

// reportPauses prints the stop-the-world pauses (PauseNs) of the last n
// collections, the peer of the C side's per-cycle pause line.
func reportPauses(what string, n int) {
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	fmt.Printf("INFO go %s pauses (ms, stop-the-world, per cycle, both phases):", what)
	for i := 0; i < n; i++ {
		fmt.Printf(" %.3f", float64(st.PauseNs[(st.NumGC+256-uint32(n)+uint32(i))%256])/1e6)
	}
	fmt.Println()
}

// rt_mix: the Go side of maproot's second runtime workload.
//
// The same operations as bench/rt_mix.c, on the Go runtime: same keys, same
// order, same counts, same object shapes. bench/run-rt.sh prints the ratio
// of the two programs' figures, so keep them in step.
//
// usage: rt_mix_go [-runs N] GROUP...   GROUP: sizes | strlen | list
// Output: "RESULT <workload> <unit> <median>" and "INFO <text>" lines.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	strKeys   = 200000
	listNodes = 5000000
	minOps    = 4000000
)

var nruns = 5
var sink uint64

// curMap holds the map of the sizes group, as cur_map does on the C side:
// the map escapes to the heap. A map local to the loop would not (Go's
// escape analysis puts its header and, up to 8 entries, its one bucket on
// the stack), and the 8-entry rows would time a stack map against the C
// side's heap map.
var curMap map[int64]int64

func result(name, unit string, v []float64) {
	benchResult(name, unit, v)
}

func lookupKey(i, n uint64) uint64 {
	j := (i * 2654435761) % n
	if i&3 == 3 {
		return splitmix64(n + j)
	}
	return splitmix64(j)
}

func benchSizes() {
	sizes := []uint64{8, 1000, 100000, 10000000}
	names := []string{"8", "1k", "100k", "10M"}
	for z, n := range sizes {
		reps := uint64(1)
		if n < minOps {
			reps = minOps / n
		}
		ins := make([]float64, nruns)
		look := make([]float64, nruns)
		del := make([]float64, nruns)
		for r := -1; r < nruns; r++ { // run -1: the untimed warm-up, as on the C side
			var ti, tl, td time.Duration
			var sum uint64
			for k := uint64(0); k < reps; k++ {
				t0 := time.Now()
				m := make(map[int64]int64)
				curMap = m
				for i := uint64(0); i < n; i++ {
					m[int64(splitmix64(i))] = int64(i)
				}
				t1 := time.Now()
				for i := uint64(0); i < n; i++ {
					if v, ok := m[int64(lookupKey(i, n))]; ok {
						sum += uint64(v)
					}
				}
				t2 := time.Now()
				for i := uint64(0); i < n; i++ {
					delete(m, int64(splitmix64(i)))
				}
				t3 := time.Now()
				if len(m) != 0 {
					fmt.Fprintf(os.Stderr, "rt_mix_go: %d entries left\n", len(m))
					os.Exit(1)
				}
				ti += t1.Sub(t0)
				tl += t2.Sub(t1)
				td += t3.Sub(t2)
			}
			curMap = nil
			sink += sum
			if r < 0 {
				continue
			}
			ops := float64(n * reps)
			ins[r] = float64(ti.Nanoseconds()) / ops
			look[r] = float64(tl.Nanoseconds()) / ops
			del[r] = float64(td.Nanoseconds()) / ops
		}
		result("mix_int_"+names[z]+"_insert", "ns/op", ins)
		result("mix_int_"+names[z]+"_lookup", "ns/op", look)
		result("mix_int_"+names[z]+"_delete", "ns/op", del)
	}
}

// strKey is the C side's str_key: 'k's, then i in hex (5 digits for the
// shortest keys, 6 otherwise).
func strKey(length int, i uint64) string {
	digits := 6
	if length < 6 {
		digits = length
	}
	tail := strconv.FormatUint(i, 16)
	for len(tail) < digits {
		tail = "0" + tail
	}
	return strings.Repeat("k", length-digits) + tail
}

func benchStrlen() {
	n := strKeys
	for _, length := range []int{5, 24, 72} {
		keys := make([]string, n)
		probes := make([]string, n)
		misses := make([]string, n)
		for i := range keys {
			keys[i] = strKey(length, uint64(i))
		}
		for i := range misses {
			misses[i] = strKey(length, uint64(n+i))
		}
		for i := range probes {
			probes[i] = string([]byte(keys[i])) // another object, same bytes
		}
		runtime.GC()
		ins := make([]float64, nruns)
		hit := make([]float64, nruns)
		miss := make([]float64, nruns)
		del := make([]float64, nruns)
		for r := -1; r < nruns; r++ { // run -1: the untimed warm-up
			var sum uint64
			t0 := time.Now()
			m := make(map[string]int64)
			for i := 0; i < n; i++ {
				m[keys[i]] = int64(i)
			}
			t1 := time.Now()
			for i := 0; i < n; i++ {
				if v, ok := m[probes[(i*7919)%n]]; ok {
					sum += uint64(v)
				}
			}
			t2 := time.Now()
			for i := 0; i < n; i++ {
				if v, ok := m[misses[i]]; ok {
					sum += uint64(v)
				}
			}
			t3 := time.Now()
			for i := 0; i < n; i++ {
				delete(m, probes[i])
			}
			t4 := time.Now()
			if len(m) != 0 || sum != uint64(n)*uint64(n-1)/2 {
				fmt.Fprintf(os.Stderr, "rt_mix_go: strlen %d: wrong map contents\n", length)
				os.Exit(1)
			}
			if r < 0 {
				continue
			}
			ins[r] = float64(t1.Sub(t0).Nanoseconds()) / float64(n)
			hit[r] = float64(t2.Sub(t1).Nanoseconds()) / float64(n)
			miss[r] = float64(t3.Sub(t2).Nanoseconds()) / float64(n)
			del[r] = float64(t4.Sub(t3).Nanoseconds()) / float64(n)
		}
		s := strconv.Itoa(length)
		result("mix_str"+s+"_insert", "ns/op", ins)
		result("mix_str"+s+"_hit", "ns/op", hit)
		result("mix_str"+s+"_miss", "ns/op", miss)
		result("mix_str"+s+"_delete", "ns/op", del)
	}
}

type node struct {
	next *node
	a, b int64
}

var listHead *node

func benchList() {
	var s0, s1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&s0)
	var prev *node
	for i := 0; i < listNodes; i++ {
		n := &node{next: prev, a: int64(i)}
		prev = n
	}
	listHead = prev
	prev = nil
	runtime.GC()
	runtime.ReadMemStats(&s1)
	t := make([]float64, nruns)
	live := make([]float64, nruns)
	for r := 0; r < nruns; r++ {
		t0 := time.Now()
		runtime.GC()
		t[r] = float64(time.Since(t0).Nanoseconds())
		live[r] = float64(s1.HeapAlloc - s0.HeapAlloc)
	}
	fmt.Printf("INFO go list: %d nodes, %.1f MiB live, heap in use %.1f MiB\n",
		listNodes, float64(s1.HeapAlloc-s0.HeapAlloc)/1048576, float64(s1.HeapInuse)/1048576)
	reportPauses("list", nruns)
	// the C side's pause is compared with Go's whole runtime.GC()
	tp := append([]float64(nil), t...)
	result("gc_full_list_5M", "ns/op", t)
	result("gc_pause_list_5M", "ns/op", tp)
	result("list_live_bytes", "bytes", live)
	runtime.KeepAlive(listHead)
	listHead = nil
}

func main() {
	args := os.Args[1:]
	if len(args) >= 2 && args[0] == "-runs" {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > 64 {
			fmt.Fprintln(os.Stderr, "rt_mix_go: bad -runs")
			os.Exit(2)
		}
		nruns = n
		args = args[2:]
	}
	for _, g := range args {
		switch g {
		case "sizes":
			benchSizes()
		case "strlen":
			benchStrlen()
		case "list":
			benchList()
		default:
			fmt.Fprintf(os.Stderr, "rt_mix_go: unknown group %q\n", g)
			os.Exit(2)
		}
	}
}

// rt_bench: the Go side of maproot's runtime benchmark.
//
// The same workloads as bench/rt_bench.c, on the Go runtime: same key sets,
// same operation order, same object shapes. bench/run-rt.sh prints the ratio
// of the two programs' figures, so keep them in step.
//
// usage: rt_bench_go [-runs N] GROUP...   GROUP: int | str | gc | flat | alloc | block
// Output: "RESULT <workload> ns/op <median> <run>..." and "INFO <text>" lines.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"
)

const (
	mapKeys        = 1000000
	gcMaps         = 50
	gcEntries      = 100000
	flatEntries    = 10000000
	flatOvfEntries = 13 << 19 // 6.5 per bucket in 2^20 buckets: no doubling yet
	allocCount     = 10000000
	allocRing      = 1024
	blockCount     = 200000
)

var nruns = 5

// sink keeps the timed loops from being optimized away.
var sink uint64

func result(name string, samples []float64) {
	benchResult(name, "ns/op", samples)
}

func perOp(d time.Duration, n int) float64 {
	return float64(d.Nanoseconds()) / float64(n)
}

type mapSamples struct {
	insert, hit, miss, iterate, del []float64
}

func (s *mapSamples) report(suffix string) {
	result("map_insert_"+suffix, s.insert)
	result("map_lookup_hit_"+suffix, s.hit)
	result("map_lookup_miss_"+suffix, s.miss)
	result("map_iterate_"+suffix, s.iterate)
	result("map_delete_"+suffix, s.del)
}

// The map under test lives in a global, as on the C side.
var intMap map[int64]int64
var strMap map[string]int64

// intRun is one run of the five workloads; keys[:n] are present, keys[n:] not.
// It and strRun differ only in the key type, as generic code would.
func intRun(keys []int64, s *mapSamples) {
	n := len(keys) / 2
	var sum uint64
	intMap = make(map[int64]int64)
	m := intMap

	t0 := time.Now()
	for i := 0; i < n; i++ {
		m[keys[i]] = int64(i)
	}
	s.insert = append(s.insert, perOp(time.Since(t0), n))

	t0 = time.Now()
	for i := 0; i < n; i++ {
		if v, ok := m[keys[i]]; ok {
			sum += uint64(v)
		}
	}
	s.hit = append(s.hit, perOp(time.Since(t0), n))

	t0 = time.Now()
	for i := n; i < 2*n; i++ {
		if v, ok := m[keys[i]]; ok {
			sum += uint64(v)
		}
	}
	s.miss = append(s.miss, perOp(time.Since(t0), n))

	seen := 0
	t0 = time.Now()
	for _, v := range m {
		sum += uint64(v)
		seen++
	}
	s.iterate = append(s.iterate, perOp(time.Since(t0), n))
	if seen != n || len(m) != n {
		fmt.Fprintf(os.Stderr, "rt_bench_go: map has %d entries, iteration saw %d, want %d\n", len(m), seen, n)
		os.Exit(1)
	}

	t0 = time.Now()
	for i := 0; i < n; i++ {
		delete(m, keys[i])
	}
	s.del = append(s.del, perOp(time.Since(t0), n))
	if len(m) != 0 {
		fmt.Fprintf(os.Stderr, "rt_bench_go: %d entries left after deleting all\n", len(m))
		os.Exit(1)
	}
	intMap = nil
	sink += sum
}

func strRun(keys []string, s *mapSamples) {
	n := len(keys) / 2
	var sum uint64
	strMap = make(map[string]int64)
	m := strMap

	t0 := time.Now()
	for i := 0; i < n; i++ {
		m[keys[i]] = int64(i)
	}
	s.insert = append(s.insert, perOp(time.Since(t0), n))

	t0 = time.Now()
	for i := 0; i < n; i++ {
		if v, ok := m[keys[i]]; ok {
			sum += uint64(v)
		}
	}
	s.hit = append(s.hit, perOp(time.Since(t0), n))

	t0 = time.Now()
	for i := n; i < 2*n; i++ {
		if v, ok := m[keys[i]]; ok {
			sum += uint64(v)
		}
	}
	s.miss = append(s.miss, perOp(time.Since(t0), n))

	seen := 0
	t0 = time.Now()
	for _, v := range m {
		sum += uint64(v)
		seen++
	}
	s.iterate = append(s.iterate, perOp(time.Since(t0), n))
	if seen != n || len(m) != n {
		fmt.Fprintf(os.Stderr, "rt_bench_go: map has %d entries, iteration saw %d, want %d\n", len(m), seen, n)
		os.Exit(1)
	}

	t0 = time.Now()
	for i := 0; i < n; i++ {
		delete(m, keys[i])
	}
	s.del = append(s.del, perOp(time.Since(t0), n))
	if len(m) != 0 {
		fmt.Fprintf(os.Stderr, "rt_bench_go: %d entries left after deleting all\n", len(m))
		os.Exit(1)
	}
	strMap = nil
	sink += sum
}

func benchInt() {
	keys := make([]int64, 2*mapKeys)
	for i := range keys {
		keys[i] = int64(splitmix64(uint64(i)))
	}
	var s, warm mapSamples
	intRun(keys, &warm) // untimed warm-up, as on the C side (its WARM-UP)
	for r := 0; r < nruns; r++ {
		intRun(keys, &s)
	}
	s.report("int")
}

var strKeys []string

func benchStr() {
	strKeys = make([]string, 2*mapKeys)
	for i := range strKeys {
		strKeys[i] = "key-" + strconv.Itoa(i)
	}
	runtime.GC()
	var s, warm mapSamples
	strRun(strKeys, &warm) // untimed warm-up
	for r := 0; r < nruns; r++ {
		strRun(strKeys, &s)
	}
	s.report("str")
	strKeys = nil
}

type node struct {
	next *node
	val  int64
}

var gcMapsHeld []map[int64]*node

func benchGC() {
	gcMapsHeld = make([]map[int64]*node, gcMaps)
	for m := 0; m < gcMaps; m++ {
		mp := make(map[int64]*node)
		var prev *node
		for i := 0; i < gcEntries; i++ {
			n := &node{next: prev, val: int64(m*gcEntries + i)}
			mp[n.val] = n
			prev = n
		}
		gcMapsHeld[m] = mp
	}
	samples := timeFullGCs()
	var st runtime.MemStats
	runtime.ReadMemStats(&st)
	fmt.Printf("INFO go gc heap: %d objects, %.1f MiB live\n", st.HeapObjects, float64(st.HeapAlloc)/(1<<20))
	result("gc_full_5M", samples)
	reportPauses("gc", nruns)
	// The target for the C side's stop-the-world pause is Go's whole
	// runtime.GC() (Go marks concurrently; its own pauses are far shorter).
	result("gc_pause_5M", samples)
	gcMapsHeld = nil
}

// timeFullGCs times nruns full collections of the heap as it stands, after
// one to warm up, as on the C side.
func timeFullGCs() []float64 {
	runtime.GC()
	samples := make([]float64, 0, nruns)
	for r := 0; r < nruns; r++ {
		t0 := time.Now()
		runtime.GC()
		samples = append(samples, float64(time.Since(t0).Nanoseconds()))
	}
	return samples
}

// The map of the flat workload, in a global as on the C side.
var flatMap map[int64]int64

// flatRun builds a map[int64]int64 of n entries and times full collections
// of a heap that holds nothing else.
func flatRun(name string, n int) {
	flatMap = make(map[int64]int64)
	for i := 0; i < n; i++ {
		flatMap[int64(splitmix64(uint64(i)))] = int64(i)
	}
	samples := timeFullGCs()
	fmt.Printf("INFO go %s: %d entries\n", name, len(flatMap))
	result(name, samples)
	flatMap = nil
	runtime.GC()
}

func benchFlat() {
	flatRun("gc_full_flat_10M", flatEntries)
	flatRun("gc_full_flat_ovf", flatOvfEntries)
}

type obj struct {
	next    *obj
	a, b, c int64
}

var anchors, ring []*obj

func benchAlloc() {
	anchors = make([]*obj, allocRing)
	ring = make([]*obj, allocRing)
	for i := range anchors {
		anchors[i] = new(obj)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	samples := make([]float64, 0, nruns)
	for r := -1; r < nruns; r++ { // run -1: the untimed warm-up
		t0 := time.Now()
		for i := 0; i < allocCount; i++ {
			o := new(obj)
			o.next = anchors[i%allocRing]
			o.a = int64(i)
			ring[i%allocRing] = o
		}
		if r >= 0 {
			samples = append(samples, perOp(time.Since(t0), allocCount))
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Printf("INFO go alloc: %d collections during the alloc workload\n", after.NumGC-before.NumGC)
	result("alloc_32B", samples)
	anchors, ring = nil, nil
}

// benchBlock: a getpid system call through syscall.Syscall, which brackets
// it with the runtime's entersyscall/exitsyscall (the blocking rule's peer).
func benchBlock() {
	samples := make([]float64, 0, nruns)
	for r := -1; r < nruns; r++ { // run -1: the untimed warm-up
		t0 := time.Now()
		for i := 0; i < blockCount; i++ {
			pid, _, _ := syscall.Syscall(syscall.SYS_GETPID, 0, 0, 0)
			sink += uint64(pid)
		}
		if r >= 0 {
			samples = append(samples, perOp(time.Since(t0), blockCount))
		}
	}
	result("blocking_getpid", samples)
}

func main() {
	args := os.Args[1:]
	if len(args) >= 2 && args[0] == "-runs" {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > 64 {
			fmt.Fprintln(os.Stderr, "rt_bench_go: -runs wants a number in 1..64")
			os.Exit(2)
		}
		nruns = n
		args = args[2:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: rt_bench_go [-runs N] int|str|gc|flat|alloc|block...")
		os.Exit(2)
	}
	gogc := debug.SetGCPercent(100)
	debug.SetGCPercent(gogc)
	fmt.Printf("INFO go runs=%d gogc=%d gomaxprocs=%d version=%s\n", nruns, gogc, runtime.GOMAXPROCS(0), runtime.Version())
	for _, g := range args {
		switch g {
		case "int":
			benchInt()
		case "str":
			benchStr()
		case "gc":
			benchGC()
		case "flat":
			benchFlat()
		case "alloc":
			benchAlloc()
		case "block":
			benchBlock()
		default:
			fmt.Fprintf(os.Stderr, "rt_bench_go: unknown group %q (want int, str, gc, flat, alloc or block)\n", g)
			os.Exit(2)
		}
	}
}

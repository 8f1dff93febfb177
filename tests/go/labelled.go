// labelled: a Go program whose heap is known exactly, allocated by several
// goroutines from different sites under pprof labels, written as a
// runtime/pprof heap profile. Used by tests/test_profile_truth.sh.
//
// usage: labelled RATE OUT.pb.gz   (RATE 0: Go's default MemProfileRate)
//
// What the heap holds when the profile is written (after a collection):
//   main.retainPages   1000 objects of 4096 bytes (a size class: no rounding)
//   main.retainSmall   3000 objects of 48 bytes, 1500 from each of two
//                      callers (main.callerOne, main.callerTwo)
//   main.churn         nothing in use; 2000 objects of 1024 bytes allocated
// With RATE 1 every allocation is a sample, so inuse_space of each site is
// exactly the bytes above.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
)

type small struct{ a, b, c, d, e, f uint64 } // 48 bytes

// Each goroutine fills its own slice: no lock, so no allocation the
// runtime makes for a contended one (a sudog) is charged to the sites.
var pages [][]byte
var smallsOne, smallsTwo []*small
var sink []byte

//go:noinline
func retainPages(n int) {
	for i := 0; i < n; i++ {
		pages = append(pages, make([]byte, 4096))
	}
}

//go:noinline
func retainSmall(dst *[]*small, n int) {
	for i := 0; i < n; i++ {
		*dst = append(*dst, &small{a: uint64(i)})
	}
}

//go:noinline
func callerOne() { retainSmall(&smallsOne, 1500) }

//go:noinline
func callerTwo() { retainSmall(&smallsTwo, 1500) }

//go:noinline
func churn(n int) {
	for i := 0; i < n; i++ {
		sink = make([]byte, 1024)
	}
	sink = nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: labelled RATE OUT")
		os.Exit(2)
	}
	rate, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if rate > 0 {
		runtime.MemProfileRate = rate
	}
	pages = make([][]byte, 0, 1000)
	smallsOne = make([]*small, 0, 1500)
	smallsTwo = make([]*small, 0, 1500)
	var wg sync.WaitGroup
	work := map[string]func(){
		"pages": func() { retainPages(1000) },
		"one":   callerOne,
		"two":   callerTwo,
		"churn": func() { churn(2000) },
	}
	for name, fn := range work {
		wg.Add(1)
		go func(name string, fn func()) {
			defer wg.Done()
			pprof.Do(context.Background(), pprof.Labels("worker", name), func(context.Context) { fn() })
		}(name, fn)
	}
	wg.Wait()
	runtime.GC()
	f, err := os.Create(os.Args[2])
	if err == nil {
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runtime.KeepAlive(pages)
	runtime.KeepAlive(smallsOne)
	runtime.KeepAlive(smallsTwo)
}

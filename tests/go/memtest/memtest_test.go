// memtest: a test whose allocations `go test -memprofile` records, for
// tests/test_profile_truth.sh: maproot reads the profile go test writes as
// go tool pprof does. The test keeps 500 objects of 2048 bytes (a size
// class) from keepBlocks, alive until the profile is written.
package memtest

import "testing"

var kept [][]byte

//go:noinline
func keepBlocks(n int) {
	for i := 0; i < n; i++ {
		kept = append(kept, make([]byte, 2048))
	}
}

func TestKeep(t *testing.T) {
	kept = make([][]byte, 0, 500)
	keepBlocks(500)
	if len(kept) != 500 {
		t.Fatal("kept", len(kept))
	}
}

// leaks: a Go program that holds one map-retention leak per pattern and
// writes a runtime/debug.WriteHeapDump dump while the leak is held. Used by
// tests/test_godump.sh: maproot must name each map's root, entry count, B,
// keys and finding from the dump alone (and with the binary, by ELF name).
//
// usage: leaks PATTERN DUMP [DUMP2]
//
//	global       var sessionCache map[string]*Session, 3000 entries
//	frame        a goroutine's local map[string][]byte, 2000 entries
//	iterator     a goroutine parked inside `range` over a 5000-entry map
//	emptied      var jobTable map[int64]*Job: 60000 entries added, all deleted
//	pointerkeys  var seenBuffers map[*Buffer]bool: 40 keys of 64 KiB each
//	anykeys      var anyBuffers map[interface{}]bool: 40 keys, each a *Buffer
//	             (64 KiB) in an interface: pointer keys by their dynamic type
//	tworoots     one 1500-entry map under var primaryIndex and var backupIndex
//	midgrowth    var growingMap map[string]*Session caught in mid-growth
//	pointerfree  var counters map[int64]int64, 5000 entries
//	diff         var sessionCache: DUMP after 1000 entries, DUMP2 after 2500
//	literal      var palette map[string][]byte: 4 keys that are literals (.rodata)
//	structvalues var assetCache map[int64]Assets: 20 values of three pointers each,
//	             to objects of 64, 32 (through a *Thumb) and 16 KiB; prints where
//	             entry 7's objects are
//	longkeys     var routeIndex map[string]*Session and var digestIndex
//	             map[Digest]int64, every key alike in its first 64 bytes
//	             (a 70-byte path prefix, a 96-byte digest with 88 bytes in
//	             common): DUMP with routes 0..299 and digests 0..199, DUMP2
//	             after routes 300..399 were added and 0..49 deleted, digests
//	             200..239 added and 0..19 deleted
//	mapofmaps    var regions map[string]map[string]map[int64]*[2048]byte: 3
//	             regions of 3 zones of 8 entries, but zone "z2" of "eu"
//	             with 3000 (the leak, two maps down)
//	smallmaps    var members []*Account, only ever appended to: 3000
//	             accounts, each with a map Items of 1 to 3 entries (1 KiB
//	             blobs): no map is large, together they are the heap
//	smallmapsdiff the same accounts: DUMP after 1000, DUMP2 after 2500 (the
//	             group of their maps grows; no map does)
//	smallmapsswell the same accounts, 2000 of them: DUMP, then every map
//	             gains 3 entries (1 KiB blobs), DUMP2 (the group grows,
//	             none of its maps new; no map grows enough alone)
//	nestedvalues var accounts map[string]*Account, 40 accounts each with a map
//	             Items of 5 entries (64-byte blobs), but "acct-7" with 3000
//	             (1 KiB blobs), and var shelves map[int64]Shelf, 6 shelves
//	             each with a map Stock of 12 entries: maps held in the
//	             structs a map's values point to or are
//	stackonly    a goroutine's map[string]*Item of 1500 entries (16-byte keys,
//	             512-byte blobs) that its frame alone holds, the goroutine
//	             waiting in a select
//	structkeys   var ownedKeys map[OwnedKey]*[512]byte: 700 struct keys, each
//	             a 16-byte string, a pointer to 2 KiB of its own, an int32, a
//	             nested struct and a 2-byte array; prints every key as the
//	             analysis must show it with the binary ("key {Name:...}")
//	ring         var ring map[int]*Node: 900 values of 1008 bytes, each
//	             pointing at the next entry's value, the last at the first;
//	             prints where entry 450's value is
//	swapped      var swapCache map[string]*Item: DUMP with 1000 entries
//	             "old-N", DUMP2 after the variable got a new map of 600
//	             entries "new-N" (the old map unreachable)
//	itergrowth   a goroutine parked inside `range` over a map that it grew
//	             by inserting during the loop: 6600 entries of a 4 KiB
//	             array each, then 61 more, the growth begun by the 6657th
//	             and barely advanced; the iterator was opened on the old
//	             bucket array, whose evacuated buckets keep their pointers
//	             and overflow buckets (a map whose evacuated buckets have
//	             none is built anew); prints the old buckets the table
//	             holds and how many of them hang off evacuated ones
//	inlined      a goroutine's map[string]*Order of 1200 entries held only by
//	             a parameter of holdUntil, a function inlined into the
//	             goroutine's (go build -gcflags=-m: "inlining call to
//	             holdUntil"), waiting in a channel receive; prints the map's
//	             type ("type map[string]*main.Order")
//	subslices    var tokenIndex map[string][]byte: 2000 entries (16-byte
//	             keys), each value a 16-byte slice of one 4 MiB array that
//	             nothing else holds: the map retains the whole array through
//	             slices that see 32000 bytes of it; prints the array's size
//	nankeys      var priceIndex map[float64]*[256]byte: 100 keys 0.5 .. 99.5
//	             and 3000 entries put under NaN, which no lookup or delete
//	             finds again; prints every key as Go writes it ("key NaN")
//	syncmap      var sessionStore sync.Map: 2500 sessions "sess-N" (each an
//	             *Item with 512 bytes) stored, loaded until its read map took
//	             them, then one more stored (its dirty map a copy of the read
//	             one: two maps, every entry in both); prints the two maps'
//	             sizes ("dirty 2501 read 2500")
//	syncmapdiff  var sessionStore sync.Map: DUMP after 1000 sessions, all
//	             in its read map (the dirty one promoted, then nil), DUMP2
//	             after 1500 more (a dirty map of 2500 beside the read map
//	             of 1000); prints the sizes before each dump
//	itabkeys     var handlers map[fmt.Stringer]*[256]byte: 300 keys Code(1000) ..
//	             Code(1299), each made a fmt.Stringer by a type assertion
//	             (the program converts Code to fmt.Stringer nowhere else), so
//	             their itab is one the runtime made while the program ran:
//	             in neither the heap nor the binary, only in the dump's itab
//	             records
//	sparechain   var spareChains map[int64]*[1024]byte: 16 buckets and the
//	             two spare buckets set aside with them, one bucket's chain
//	             made long enough (by the map's own hash function) to take
//	             both spares and an overflow bucket of its own, then the
//	             insertion that begins a doubling with that bucket: Go
//	             clears the evacuated chain's first bucket only, so the
//	             old array's spares still hold the rest of the chain; prints
//	             the old buckets the table holds and how many hang off
//	             spares ("old-buckets N spare-chained S")
//	boxedkeys    var tagIndex map[interface{}]*[64]byte: 600 keys, each a
//	             string "tag-N" of 200 bytes boxed in the interface, and
//	             var idIndex map[interface{}]bool: 20000 keys, each an
//	             int64 1000+N boxed, and 20 more, 0..19, that the runtime
//	             boxes in its static table: keys that keep memory of
//	             their own (the boxes, the strings' bytes) but no pointer
//	             of the program's
//	syncfields   sync.Maps that are not globals of their own: var tables
//	             Tables, a global struct whose field byName (at +8) is a
//	             sync.Map of 1201 entries "name-N" (*Item of 256 bytes),
//	             1200 loaded until its read map took them, then one more:
//	             read and dirty maps both there; var registry *Registry,
//	             a struct on the heap whose field sessions (at +16) is a
//	             sync.Map of 900 entries "reg-N" in its read map alone (the
//	             dirty map promoted, then nil). And two structs that look
//	             like one without being one: var lookalike *Lookalike
//	             (a mutex, an atomic.Value holding a struct of a map and a
//	             bool, a map, an int: a sync.Map's layout) and var pair
//	             Pair (two maps), each holding two maps of
//	             map[interface{}]*Cell (a one-pointer struct, as
//	             sync.Map's entry), 300 and 400 entries of their own:
//	             four maps, never joined. Prints the sizes of the
//	             sync.Maps' maps ("tables dirty 1201 read 1200", "registry
//	             dirty 0 read 900"). With DUMP2: then 600 more entries
//	             "reg-N" stored in registry.sessions (a dirty map of 1500
//	             beside the read map of 900), and DUMP2
//	twotypes     var depots []*Depot: 1500 depots, each with a map Items
//	             map[int64]*Item and a map Lots map[int64]*Lot of 1 to 3
//	             entries each (Item: 32 bytes, a 1 KiB blob; Lot: 48 bytes,
//	             a 768-byte shelf): two types of maps under one slice that
//	             infer to one layout without the binary (map[int64]*?),
//	             told apart by the size of what their values point to
//	emptysync    var emptyStore sync.Map: a key stored, deleted, then
//	             missed once (its dirty map, empty, promoted to its read
//	             map: a readOnly of an empty map, no dirty map); and var
//	             emptyLookalike *Lookalike, its cur an empty map and next
//	             nil: the same words without a sync.Map. Prints
//	             "emptystore dirty 0 read 0"
package main

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"
)

type Session struct {
	User  string
	ID    int
	State []byte
}

type Job struct {
	ID      int64
	Payload []byte
}

type Buffer struct {
	Data [64 << 10]byte
}

// Assets is a map value of three pointers, to objects of its own: an entry
// retains all three (and what the second leads to), not just the first.
type Assets struct {
	Icon  *[64 << 10]byte
	Thumb *Thumb
	Meta  *[16 << 10]byte
}

type Thumb struct {
	Pixels *[32 << 10]byte
}

var sessionCache map[string]*Session
var jobTable map[int64]*Job
var seenBuffers map[*Buffer]bool
var anyBuffers map[interface{}]bool
var primaryIndex, backupIndex map[string]*Session
var growingMap map[string]*Session
var counters map[int64]int64
var palette map[string][]byte
var assetCache map[int64]Assets
var routeIndex map[string]*Session
var digestIndex map[Digest]int64
var regions map[string]map[string]map[int64]*[2048]byte
var accounts map[string]*Account
var members []*Account
var shelves map[int64]Shelf

var swapCache map[string]*Item
var ownedKeys map[OwnedKey]*[512]byte
var ring map[int]*Node
var tokenIndex map[string][]byte
var priceIndex map[float64]*[256]byte
var sessionStore sync.Map
var handlers map[fmt.Stringer]*[256]byte
var spareChains map[int64]*[1024]byte
var tagIndex map[interface{}]*[64]byte
var idIndex map[interface{}]bool
var tables Tables
var registry *Registry
var lookalike *Lookalike
var pair Pair

// Tables is a global struct with a sync.Map in a field after a word.
type Tables struct {
	Hits   int64
	byName sync.Map
}

// Registry is a struct on the heap with a sync.Map after two words.
type Registry struct {
	Name     string
	sessions sync.Map
}

// Cell is a one-pointer struct, as sync.Map's entry is.
type Cell struct {
	P *Item
}

// Lookalike has a sync.Map's layout: a mutex, an atomic.Value that holds
// a struct of a map and a bool, a map, an int. Its two maps hold Cells of
// their own: it is no sync.Map, and its maps are two.
type Lookalike struct {
	mu     sync.Mutex
	cur    atomic.Value
	next   map[interface{}]*Cell
	misses int
}

type snapshot struct {
	m     map[interface{}]*Cell
	stale bool
}

// Pair holds two maps of the same shape side by side.
type Pair struct {
	A, B map[interface{}]*Cell
}

// cells makes a map of n Cells keyed "prefix-N".
func cells(prefix string, n int) map[interface{}]*Cell {
	m := make(map[interface{}]*Cell)
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("%s-%06d", prefix, i)] = &Cell{P: &Item{SKU: int64(i), Blob: make([]byte, 64)}}
	}
	return m
}

// syncSizes gives the sizes of the dirty and read maps of sync.Map sm
// (0: nil), read through reflection.
func syncSizes(sm reflect.Value) (dirty, read int) {
	if v := sm.FieldByName("read").FieldByName("v"); !v.IsNil() {
		read = v.Elem().FieldByName("m").Len()
	}
	return sm.FieldByName("dirty").Len(), read
}

// storeSessions stores sessions "sess-N", lo <= N < hi, in sessionStore,
// each an *Item with 512 bytes.
func storeSessions(lo, hi int) {
	for i := lo; i < hi; i++ {
		sessionStore.Store(fmt.Sprintf("sess-%011d", i), &Item{SKU: int64(i), Blob: make([]byte, 512)})
	}
}

// missUntilPromoted loads an absent key until sessionStore's dirty map
// becomes its read map (a miss per entry of the dirty map).
func missUntilPromoted() {
	for dirty, _ := syncMapSizes(); dirty > 0; dirty, _ = syncMapSizes() {
		sessionStore.Load("absent")
	}
}

// printSyncMapSizes prints the sizes of sessionStore's maps
// ("dirty 2501 read 2500").
func printSyncMapSizes() {
	dirty, read := syncMapSizes()
	fmt.Printf("dirty %d read %d\n", dirty, read)
}

// syncMapSizes gives the sizes of sessionStore's dirty and read maps
// (0: nil), read through reflection.
func syncMapSizes() (dirty, read int) {
	sm := reflect.ValueOf(&sessionStore).Elem()
	if v := sm.FieldByName("read").FieldByName("v"); !v.IsNil() {
		read = v.Elem().FieldByName("m").Len()
	}
	return sm.FieldByName("dirty").Len(), read
}

// Code is a key whose itab for fmt.Stringer only the runtime makes.
type Code int64

func (c Code) String() string { return fmt.Sprintf("code-%d", int64(c)) }

// asStringer asserts x is a fmt.Stringer: the itab is looked up, and made
// the first time, at run time.
//
//go:noinline
func asStringer(x any) fmt.Stringer { return x.(fmt.Stringer) }

// OwnedKey is a struct key holding a string and a pointer: a key that
// retains memory of its own, with no single word saying what it is.
type OwnedKey struct {
	Name  string
	Owner *[2048]byte
	Rank  int32
	Tag   KeyTag
	Dims  [2]uint8
}

// KeyTag is a struct nested in a struct key.
type KeyTag struct {
	Zone int16
	Hot  bool
}

// Node is a map value that points at the next entry's value: the values
// form a ring through the map.
type Node struct {
	Next *Node
	Data [1000]byte
}

// Item is what the maps inside Account and Shelf values hold.
type Item struct {
	SKU  int64
	Blob []byte
}

// Lot is the value type of a Depot's second map: another size and
// pointer layout than Item's.
type Lot struct {
	Qty    int64
	Code   string
	Shelf  *[768]byte
	Weight float64
}

// Depot holds two maps of small entries of two types.
type Depot struct {
	Items map[int64]*Item
	Lots  map[int64]*Lot
}

var depots []*Depot
var emptyStore sync.Map
var emptyLookalike *Lookalike

// Order is the value type of the map only an inlined call's parameter holds.
type Order struct {
	ID   int64
	Note []byte
}

// Account holds a map behind the pointer its map's value is.
type Account struct {
	Name  string
	Items map[int64]*Item
}

// Shelf holds a map in the struct its map's value is, after a word.
type Shelf struct {
	ID    int64
	Stock map[string]*Item
	Spare *Item
}

// Digest is a 96-byte key, stored in the bucket, whose first 88 bytes are
// the same in every key of digestIndex.
type Digest [96]byte

// routeKey is 70 bytes of path, then the number: no two keys differ in
// their first 64 bytes.
func routeKey(i int) string {
	return fmt.Sprintf("/api/v2/organisations/northwind-traders/projects/platform/objects/key-%05d", i)
}

func digestKey(i int) Digest {
	var d Digest
	for j := 0; j < 88; j++ {
		d[j] = byte(0xa0 + j%16)
	}
	d[88], d[89] = byte(i), byte(i>>8)
	return d
}

func newSession(i int) *Session {
	return &Session{User: fmt.Sprintf("user-%d", i), ID: i, State: make([]byte, 256)}
}

//go:noinline
func fillCache(from, to int) {
	for i := from; i < to; i++ {
		s := newSession(i)
		sessionCache[s.User] = s
	}
}

// frameWorker keeps a map in its own frame for as long as it runs: parked
// on a channel after filling it.
//
//go:noinline
func frameWorker(ready chan<- bool, block <-chan bool) {
	pending := make(map[string][]byte)
	for i := 0; i < 2000; i++ {
		pending[fmt.Sprintf("req-%d", i)] = make([]byte, 512)
	}
	ready <- true
	<-block
	runtime.KeepAlive(pending)
}

// rangeWorker builds a map nothing else keeps and stops inside a range
// loop over it: only the iterator holds the map.
//
//go:noinline
func rangeWorker(ready chan<- bool, block <-chan bool) {
	m := make(map[string]*Session)
	for i := 0; i < 5000; i++ {
		s := newSession(i)
		m[s.User] = s
	}
	n := 0
	for k := range m {
		if n == 0 {
			ready <- true
			<-block
		}
		n += len(k)
	}
	fmt.Fprintln(os.Stderr, n)
}

// growRangeWorker builds a map nothing else keeps, opens a range loop over
// it, grows it from inside the loop until a doubling has begun, and stops
// there: the goroutine's frame (its iterator, and m) holds the map. The
// hash seed decides whether an old bucket evacuated so far had overflow
// buckets, which the open iterator keeps alive: a map without any is
// dropped and built anew, so that the dump always has some. Prints, from
// the runtime's own header, the old buckets the table holds.
//
//go:noinline
func growRangeWorker(ready chan<- bool, block <-chan bool) {
	for try := 0; ; try++ {
		m := make(map[int64]*[4096]byte)
		for i := int64(0); i < 6600; i++ {
			m[i] = new([4096]byte)
		}
		n := 0
		for k := range m {
			if n == 0 {
				for i := int64(6600); i < 6661; i++ {
					m[i] = new([4096]byte)
				}
				old, evacOverflow := oldChains(unsafe.Pointer(&m), 144)
				if evacOverflow == 0 && try < 100 {
					break
				}
				fmt.Printf("old-buckets %d evacuated-overflow %d\n", old, evacOverflow)
				ready <- true
				<-block
			}
			n += int(k&1) + 1
		}
		if n > 0 {
			fmt.Fprintln(os.Stderr, n)
			return
		}
	}
}

// hmap is the runtime's map header (Go 1.7 to 1.23).
type hmap struct {
	count      int
	flags      uint8
	B          uint8
	noverflow  uint16
	hash0      uint32
	buckets    unsafe.Pointer
	oldbuckets unsafe.Pointer
	nevacuate  uintptr
	extra      unsafe.Pointer
}

// oldChains reads the map *mp (buckets of bs bytes) in mid-growth: the
// buckets of its old chains that the table holds (every bucket of a chain
// not yet evacuated; of an evacuated one, whose first bucket's marks show
// it, the overflow buckets an open iterator keeps), and how many of those
// hang off evacuated buckets.
func oldChains(mp unsafe.Pointer, bs uintptr) (held, evacOverflow int) {
	h := *(**hmap)(mp)
	if h.oldbuckets == nil {
		return 0, 0
	}
	nold := uintptr(1) << h.B
	if h.flags&8 == 0 {
		nold >>= 1
	}
	for j := uintptr(0); j < nold; j++ {
		b := unsafe.Add(h.oldbuckets, j*bs)
		top := *(*uint8)(b)
		evacuated := top >= 2 && top <= 4
		if !evacuated {
			held++
		}
		for b = *(*unsafe.Pointer)(unsafe.Add(b, bs-8)); b != nil; b = *(*unsafe.Pointer)(unsafe.Add(b, bs-8)) {
			held++
			if evacuated {
				evacOverflow++
			}
		}
	}
	return held, evacOverflow
}

// spareChainMap builds spareChains' map (see the usage): int64 keys and
// pointer values, so buckets of 144 bytes, 16 of them and, as the array of
// 17 is rounded up to the 2688-byte size class, 2 spares. The bucket
// whose chain takes both spares and one more gets 25 keys; the others
// share the rest up to 104, the most 16 buckets hold before an insertion
// doubles them, which the 105th does, its key in the long chain's bucket:
// that bucket (and bucket 0) are evacuated, the other 14 not yet.
func spareChainMap() map[int64]*[1024]byte {
	const long = 5
	m := make(map[int64]*[1024]byte, 100)
	h := *(**hmap)(unsafe.Pointer(&m))
	var e interface{} = m
	mt := (*[2]unsafe.Pointer)(unsafe.Pointer(&e))[0]                     // the *maptype
	hash := *(*func(unsafe.Pointer, uintptr) uintptr)(unsafe.Add(mt, 72)) // maptype.hasher
	bucket := func(k int64) uintptr { return hash(unsafe.Pointer(&k), uintptr(h.hash0)) & 15 }
	if h.B != 4 {
		fmt.Fprintln(os.Stderr, "sparechain: B is", h.B, "not 4")
		os.Exit(1)
	}
	in := 0
	for k := int64(0); in < 25; k++ {
		if bucket(k) == long {
			m[k] = new([1024]byte)
			in++
		}
	}
	for k := int64(1 << 20); len(m) < 104; k++ {
		if bucket(k) != long {
			m[k] = new([1024]byte)
		}
	}
	for k := int64(1 << 30); ; k++ {
		if bucket(k) == long {
			m[k] = new([1024]byte)
			break
		}
	}
	return m
}

// spareChainsOf reads the map *mp (buckets of bs bytes, its old array of
// total buckets, spares included) in mid-growth, as oldChains does, and
// adds the buckets of evacuated chains that spares of the old array hold
// (a spare no chain from a main bucket reaches, every cell of it marked
// evacuated, and what its overflow word leads to); spare: those.
func spareChainsOf(mp unsafe.Pointer, bs, total uintptr) (held, spare int) {
	held, _ = oldChains(mp, bs)
	h := *(**hmap)(mp)
	if h.oldbuckets == nil {
		return held, 0
	}
	nold := uintptr(1) << (h.B - 1)
	reached := map[unsafe.Pointer]bool{}
	for j := uintptr(0); j < nold; j++ {
		b := unsafe.Add(h.oldbuckets, j*bs)
		for b = *(*unsafe.Pointer)(unsafe.Add(b, bs-8)); b != nil; b = *(*unsafe.Pointer)(unsafe.Add(b, bs-8)) {
			reached[b] = true
		}
	}
	for i := nold; i < total; i++ {
		for b := unsafe.Add(h.oldbuckets, i*bs); b != nil && !reached[b] && b != h.oldbuckets; b = *(*unsafe.Pointer)(unsafe.Add(b, bs-8)) {
			marked := true
			for c := uintptr(0); c < 8; c++ {
				top := *(*uint8)(unsafe.Add(b, c))
				marked = marked && top >= 2 && top <= 4
			}
			if !marked {
				break
			}
			reached[b] = true
			held++
			spare++
		}
	}
	return held, spare
}

// buildStackMap makes the map that only parkWorker's frame will hold.
//
//go:noinline
func buildStackMap() map[string]*Item {
	m := make(map[string]*Item)
	for i := 0; i < 1500; i++ {
		// 16-byte keys: objects of their own (shorter ones share blocks)
		m[fmt.Sprintf("job-%012d", i)] = &Item{SKU: int64(i), Blob: make([]byte, 512)}
	}
	return m
}

// parkWorker holds a map in its frame alone and waits in a select, a
// state other than a channel receive.
//
//go:noinline
func parkWorker(ready chan<- bool, block, never <-chan bool) {
	m := buildStackMap()
	ready <- true
	select {
	case <-block:
	case <-never:
	}
	runtime.KeepAlive(m)
}

// buildOrderMap makes the map that only holdUntil's parameter will hold,
// and says it is ready.
//
//go:noinline
func buildOrderMap(ready chan<- bool) map[string]*Order {
	m := make(map[string]*Order)
	for i := 0; i < 1200; i++ {
		m[fmt.Sprintf("order-%08d", i)] = &Order{ID: int64(i), Note: make([]byte, 256)}
	}
	fmt.Printf("type %T\n", m)
	ready <- true
	return m
}

// holdUntil keeps m until block is closed: small enough to be inlined, so
// that m lives in the frame of the function it is inlined into, described
// by the DWARF of the inlined call, not of that function.
func holdUntil(m map[string]*Order, block <-chan bool) int {
	<-block
	return len(m)
}

// inlineWorker holds its map only through the inlined holdUntil.
//
//go:noinline
func inlineWorker(ready chan<- bool, block <-chan bool, done chan<- int) {
	done <- holdUntil(buildOrderMap(ready), block)
}

func dump(path string) {
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	debug.WriteHeapDump(f.Fd())
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// addMembers appends accounts [from, to) to members, each with a map Items
// of 1 to 3 entries (1 KiB blobs).
func addMembers(from, to int) {
	for i := from; i < to; i++ {
		a := &Account{Name: fmt.Sprintf("member-%d", i), Items: make(map[int64]*Item)}
		for j := 0; j <= i%3; j++ {
			a.Items[int64(j)] = &Item{SKU: int64(j), Blob: make([]byte, 1024)}
		}
		members = append(members, a)
	}
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: leaks PATTERN DUMP [DUMP2]")
		os.Exit(2)
	}
	runtime.MemProfileRate = 4096
	out := os.Args[2]
	switch os.Args[1] {
	case "global":
		sessionCache = make(map[string]*Session)
		fillCache(0, 3000)
		dump(out)
	case "frame", "iterator", "itergrowth":
		ready, block := make(chan bool), make(chan bool)
		switch os.Args[1] {
		case "frame":
			go frameWorker(ready, block)
		case "iterator":
			go rangeWorker(ready, block)
		default:
			go growRangeWorker(ready, block)
		}
		<-ready
		dump(out)
		close(block)
	case "emptied":
		jobTable = make(map[int64]*Job)
		for i := int64(0); i < 60000; i++ {
			jobTable[i] = &Job{ID: i}
		}
		for i := int64(0); i < 60000; i++ {
			delete(jobTable, i)
		}
		dump(out)
	case "pointerkeys":
		seenBuffers = make(map[*Buffer]bool)
		for i := 0; i < 40; i++ {
			seenBuffers[new(Buffer)] = true
		}
		dump(out)
	case "anykeys":
		anyBuffers = make(map[interface{}]bool)
		for i := 0; i < 40; i++ {
			anyBuffers[new(Buffer)] = true
		}
		dump(out)
	case "tworoots":
		primaryIndex = make(map[string]*Session)
		for i := 0; i < 1500; i++ {
			s := newSession(i)
			primaryIndex[s.User] = s
		}
		backupIndex = primaryIndex
		dump(out)
	case "midgrowth":
		// a map grows when an insert finds count > 6.5 * 2^B: with B = 10
		// that is the 6657th; the growth then moves only two old buckets
		// per write, so right after that insert it is barely begun
		growingMap = make(map[string]*Session)
		for i := 0; i < 6657; i++ {
			s := newSession(i)
			growingMap[s.User] = s
		}
		dump(out)
	case "pointerfree":
		counters = make(map[int64]int64)
		for i := int64(0); i < 5000; i++ {
			counters[i*7] = i * i
		}
		dump(out)
	case "diff":
		sessionCache = make(map[string]*Session)
		fillCache(0, 1000)
		dump(out)
		fillCache(1000, 2500)
		dump(os.Args[3])
	case "literal":
		palette = make(map[string][]byte)
		for _, name := range []string{"red", "green", "blue", "alpha"} {
			palette[name] = make([]byte, 256<<10)
		}
		dump(out)
	case "structvalues":
		assetCache = make(map[int64]Assets)
		for i := int64(0); i < 20; i++ {
			assetCache[i] = Assets{Icon: new([64 << 10]byte),
				Thumb: &Thumb{Pixels: new([32 << 10]byte)}, Meta: new([16 << 10]byte)}
		}
		a := assetCache[7]
		fmt.Printf("icon %p thumb %p pixels %p meta %p\n", a.Icon, a.Thumb, a.Thumb.Pixels, a.Meta)
		dump(out)
	case "mapofmaps":
		regions = make(map[string]map[string]map[int64]*[2048]byte)
		for _, r := range []string{"us", "eu", "ap"} {
			zones := make(map[string]map[int64]*[2048]byte)
			regions[r] = zones
			for _, z := range []string{"z1", "z2", "z3"} {
				n := int64(8)
				if r == "eu" && z == "z2" {
					n = 3000
				}
				hosts := make(map[int64]*[2048]byte)
				zones[z] = hosts
				for i := int64(0); i < n; i++ {
					hosts[i] = new([2048]byte)
				}
			}
		}
		dump(out)
	case "inlined":
		ready, block, done := make(chan bool), make(chan bool), make(chan int, 1)
		go inlineWorker(ready, block, done)
		<-ready
		dump(out)
		close(block)
		<-done
	case "subslices":
		tokenIndex = make(map[string][]byte)
		big := make([]byte, 4<<20)
		for i := 0; i < 2000; i++ {
			tokenIndex[fmt.Sprintf("tok-%012d", i)] = big[i*2048 : i*2048+16 : i*2048+16]
		}
		fmt.Printf("array %d\n", cap(big))
		dump(out)
	case "nankeys":
		priceIndex = make(map[float64]*[256]byte)
		for i := 0; i < 100; i++ {
			priceIndex[float64(i)+0.5] = new([256]byte)
		}
		for i := 0; i < 3000; i++ {
			priceIndex[math.NaN()] = new([256]byte)
		}
		delete(priceIndex, math.NaN()) // finds none of them
		if _, ok := priceIndex[math.NaN()]; ok || len(priceIndex) != 3100 {
			fmt.Fprintln(os.Stderr, "nankeys: a NaN key was found again")
			os.Exit(1)
		}
		for k := range priceIndex {
			fmt.Printf("key %v\n", k)
		}
		dump(out)
	case "syncmap":
		storeSessions(0, 2500)
		missUntilPromoted()
		storeSessions(2500, 2501)
		printSyncMapSizes()
		dump(out)
	case "syncmapdiff":
		storeSessions(0, 1000)
		missUntilPromoted()
		printSyncMapSizes()
		dump(out)
		storeSessions(1000, 2500)
		printSyncMapSizes()
		dump(os.Args[3])
	case "sparechain":
		spareChains = spareChainMap()
		held, spare := spareChainsOf(unsafe.Pointer(&spareChains), 144, 18)
		fmt.Printf("old-buckets %d spare-chained %d\n", held, spare)
		dump(out)
	case "itabkeys":
		handlers = make(map[fmt.Stringer]*[256]byte)
		for i := 0; i < 300; i++ {
			handlers[asStringer(Code(1000+i))] = new([256]byte)
		}
		dump(out)
	case "boxedkeys":
		tagIndex = make(map[interface{}]*[64]byte)
		idIndex = make(map[interface{}]bool)
		for i := 0; i < 600; i++ {
			tagIndex[fmt.Sprintf("tag-%0196d", i)] = new([64]byte)
		}
		for i := 0; i < 20000; i++ {
			idIndex[int64(1000+i)] = true
		}
		for i := 0; i < 20; i++ {
			idIndex[int64(i)] = true
		}
		dump(out)
	case "syncfields":
		for i := 0; i < 1200; i++ {
			tables.byName.Store(fmt.Sprintf("name-%08d", i), &Item{SKU: int64(i), Blob: make([]byte, 256)})
		}
		for i := 0; i < 1200; i++ {
			tables.byName.Load("absent")
		}
		tables.byName.Store(fmt.Sprintf("name-%08d", 1200), &Item{SKU: 1200, Blob: make([]byte, 256)})
		registry = &Registry{Name: "registry"}
		for i := 0; i < 900; i++ {
			registry.sessions.Store(fmt.Sprintf("reg-%08d", i), &Item{SKU: int64(i), Blob: make([]byte, 256)})
		}
		for i := 0; i < 900; i++ {
			registry.sessions.Load("absent")
		}
		lookalike = &Lookalike{next: cells("next", 400)}
		lookalike.cur.Store(snapshot{m: cells("cur", 300), stale: true})
		pair = Pair{A: cells("a", 300), B: cells("b", 400)}
		d, r := syncSizes(reflect.ValueOf(&tables.byName).Elem())
		fmt.Printf("tables dirty %d read %d\n", d, r)
		d, r = syncSizes(reflect.ValueOf(&registry.sessions).Elem())
		fmt.Printf("registry dirty %d read %d\n", d, r)
		dump(out)
		if len(os.Args) > 3 {
			for i := 900; i < 1500; i++ {
				registry.sessions.Store(fmt.Sprintf("reg-%08d", i), &Item{SKU: int64(i), Blob: make([]byte, 256)})
			}
			d, r = syncSizes(reflect.ValueOf(&registry.sessions).Elem())
			fmt.Printf("registry dirty %d read %d\n", d, r)
			dump(os.Args[3])
		}
	case "stackonly":
		ready, block := make(chan bool), make(chan bool)
		go parkWorker(ready, block, make(chan bool))
		<-ready
		dump(out)
		close(block)
	case "structkeys":
		ownedKeys = make(map[OwnedKey]*[512]byte)
		for i := 0; i < 700; i++ {
			k := OwnedKey{Name: fmt.Sprintf("owner-%010d", i), Owner: new([2048]byte), Rank: int32(i),
				Tag: KeyTag{Zone: int16(-i), Hot: i%2 == 0}, Dims: [2]uint8{uint8(i), uint8(i >> 8)}}
			ownedKeys[k] = new([512]byte)
			fmt.Printf("key {Name:%q Owner:%p Rank:%d Tag:{Zone:%d Hot:%t} Dims:[%d %d]}\n",
				k.Name, k.Owner, k.Rank, k.Tag.Zone, k.Tag.Hot, k.Dims[0], k.Dims[1])
		}
		dump(out)
	case "ring":
		ring = make(map[int]*Node)
		var first, prev *Node
		for i := 0; i < 900; i++ {
			n := new(Node)
			if prev != nil {
				prev.Next = n
			} else {
				first = n
			}
			ring[i] = n
			prev = n
		}
		prev.Next = first
		fmt.Printf("node450 %p\n", ring[450])
		dump(out)
	case "swapped":
		swapCache = make(map[string]*Item)
		for i := 0; i < 1000; i++ {
			swapCache[fmt.Sprintf("old-%d", i)] = &Item{SKU: int64(i), Blob: make([]byte, 128)}
		}
		dump(out)
		swapCache = make(map[string]*Item)
		for i := 0; i < 600; i++ {
			swapCache[fmt.Sprintf("new-%d", i)] = &Item{SKU: int64(i), Blob: make([]byte, 128)}
		}
		dump(os.Args[3])
	case "smallmaps":
		addMembers(0, 3000)
		dump(out)
	case "smallmapsdiff":
		addMembers(0, 1000)
		dump(out)
		addMembers(1000, 2500)
		dump(os.Args[3])
	case "smallmapsswell":
		addMembers(0, 2000)
		dump(out)
		for _, a := range members {
			for j := 3; j < 6; j++ {
				a.Items[int64(j)] = &Item{SKU: int64(j), Blob: make([]byte, 1024)}
			}
		}
		dump(os.Args[3])
	case "nestedvalues":
		accounts = make(map[string]*Account)
		for i := 0; i < 40; i++ {
			a := &Account{Name: fmt.Sprintf("acct-%d", i), Items: make(map[int64]*Item)}
			n, size := 5, 64
			if i == 7 {
				n, size = 3000, 1024
			}
			for j := 0; j < n; j++ {
				a.Items[int64(j)] = &Item{SKU: int64(j), Blob: make([]byte, size)}
			}
			accounts[a.Name] = a
		}
		shelves = make(map[int64]Shelf)
		for i := int64(0); i < 6; i++ {
			sh := Shelf{ID: i, Stock: make(map[string]*Item)}
			for j := 0; j < 12; j++ {
				sh.Stock[fmt.Sprintf("sku-%d", j)] = &Item{SKU: int64(j), Blob: make([]byte, 16)}
			}
			shelves[i] = sh
		}
		dump(out)
	case "twotypes":
		for i := 0; i < 1500; i++ {
			d := &Depot{Items: make(map[int64]*Item), Lots: make(map[int64]*Lot)}
			for j := 0; j <= i%3; j++ {
				d.Items[int64(j)] = &Item{SKU: int64(j), Blob: make([]byte, 1024)}
				d.Lots[int64(j)] = &Lot{Qty: int64(j), Code: fmt.Sprintf("lot-%d", j), Shelf: new([768]byte)}
			}
			depots = append(depots, d)
		}
		dump(out)
	case "emptysync":
		emptyStore.Store("gone", &Item{SKU: 1})
		emptyStore.Delete("gone")
		emptyStore.Load("absent")
		d, r := syncSizes(reflect.ValueOf(&emptyStore).Elem())
		fmt.Printf("emptystore dirty %d read %d\n", d, r)
		emptyLookalike = &Lookalike{}
		m := cells("gone", 1)
		delete(m, "gone-000000")
		emptyLookalike.cur.Store(snapshot{m: m})
		dump(out)
	case "longkeys":
		routeIndex = make(map[string]*Session)
		digestIndex = make(map[Digest]int64)
		for i := 0; i < 300; i++ {
			routeIndex[routeKey(i)] = newSession(i)
		}
		for i := 0; i < 200; i++ {
			digestIndex[digestKey(i)] = int64(i)
		}
		dump(out)
		for i := 300; i < 400; i++ {
			routeIndex[routeKey(i)] = newSession(i)
		}
		for i := 0; i < 50; i++ {
			delete(routeIndex, routeKey(i))
		}
		for i := 200; i < 240; i++ {
			digestIndex[digestKey(i)] = int64(i)
		}
		for i := 0; i < 20; i++ {
			delete(digestIndex, digestKey(i))
		}
		dump(os.Args[3])
	default:
		fmt.Fprintln(os.Stderr, "unknown pattern", os.Args[1])
		os.Exit(2)
	}
	runtime.KeepAlive(sessionCache)
	runtime.KeepAlive(routeIndex)
	runtime.KeepAlive(digestIndex)
}

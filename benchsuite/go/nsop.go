// nsop: single-thread ns/op of Go 1.19's built-in map[uint64]uint64, the
// design mapknee's GoMap ports, under the workload of
// crates/maps/examples/nsop.rs (65,536 keys, visited in a scrambled order:
// get-hit, get-miss, and inserting every key into an empty map), so the
// port's speed and Go's own can be put beside Rust std's HashMap
// (benchsuite/go/gomap.sh runs them alternately).
//
// Each operation is timed for all its rounds before the next operation:
// a round is an untimed pass then a timed pass of that operation
// (steady-state caches, as nsop.rs does; nsop.rs also rotates its maps
// within a round, which one map here does not need). Prints one line per
// operation: the median ns/op over its rounds.
//
// Usage: go run nsop.go [-rounds 15]
package main

import (
	"flag"
	"fmt"
	"sort"
	"time"
)

const keys = 65536

// scramble is nsop.rs's bijection of 0..2^64 (splitmix64's finaliser).
func scramble(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// sink keeps the passes' results alive so the compiler cannot drop them.
var sink uint64

func sum(m map[uint64]uint64, ks []uint64) uint64 {
	var a uint64
	for _, k := range ks {
		if v, ok := m[k]; ok {
			a += v
		} else {
			a++
		}
	}
	return a
}

func fill(ks []uint64) map[uint64]uint64 {
	m := make(map[uint64]uint64)
	for _, k := range ks {
		m[k] = k
	}
	return m
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

func main() {
	rounds := flag.Int("rounds", 15, "timed passes per operation")
	flag.Parse()
	present := make([]uint64, keys)
	absent := make([]uint64, keys)
	for i := uint64(0); i < keys; i++ {
		present[i] = scramble(i)
		absent[i] = scramble(keys + i)
	}
	m := fill(present)
	ops := []struct {
		name string
		pass func()
	}{
		{"get-hit", func() { sink += sum(m, present) }},
		{"get-miss", func() { sink += sum(m, absent) }},
		{"insert", func() { sink += uint64(len(fill(present))) }},
	}
	for _, op := range ops {
		ns := make([]float64, 0, *rounds)
		for r := 0; r < *rounds; r++ {
			op.pass()
			t := time.Now()
			op.pass()
			ns = append(ns, float64(time.Since(t).Nanoseconds())/keys)
		}
		fmt.Printf("%-13s go       %6.1f ns/op\n", op.name, median(ns))
	}
	if sink == 42 {
		fmt.Println()
	}
}

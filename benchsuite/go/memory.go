// Go's reference figures for `mapknee memory`: bytes per entry and
// allocations per operation of Go's built-in map[uint64]uint64 and of
// sync.Map holding uint64 keys and values, measured the way Go measures
// them (runtime.MemStats after a GC; testing.AllocsPerRun).
//
// Usage: go run memory.go -sizes 1024,65536,1048576 -ops 4096
// Output: one JSON object per map and size on stdout (JSON lines), with
// the same operation names as mapknee: get, insert_new, overwrite, remove.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type figures struct {
	Map           string             `json:"map"`
	Entries       int                `json:"entries"`
	BytesPerEntry float64            `json:"bytes_per_entry"`
	AllocsPerOp   map[string]float64 `json:"allocs_per_op"`
	// testing.AllocsPerRun's figure: the same count, but Go truncates
	// it to a whole number (mallocs / runs in integer arithmetic).
	AllocsPerRun map[string]float64 `json:"allocs_per_run"`
	GoVersion    string             `json:"go_version"`
}

// heapInUse is the live heap after two full collections, so garbage left
// by earlier work is not counted.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

var sink interface{}

// measure records op's allocations per call twice: exactly, from
// runtime.MemStats.Mallocs around `ops` calls (after one warm-up call, as
// AllocsPerRun does), and as testing.AllocsPerRun reports it. op must be
// repeatable: each call does the next operation of its kind.
func measure(f *figures, name string, ops int, op func()) {
	op()
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	for i := 0; i < ops; i++ {
		op()
	}
	runtime.ReadMemStats(&b)
	f.AllocsPerOp[name] = float64(b.Mallocs-a.Mallocs) / float64(ops)
	f.AllocsPerRun[name] = testing.AllocsPerRun(ops, op)
}

func builtinMap(n, ops int) figures {
	before := heapInUse()
	m := make(map[uint64]uint64) // no size hint: grows as mapknee's maps do
	for i := 0; i < n; i++ {
		m[uint64(i)] = uint64(i)
	}
	after := heapInUse()
	f := figures{Map: "go map", Entries: n, AllocsPerOp: map[string]float64{}, AllocsPerRun: map[string]float64{}}
	f.BytesPerEntry = float64(after-before) / float64(n)

	var k uint64
	measure(&f, "get", ops, func() {
		k = (k + 7919) % uint64(n)
		sink = m[k] == 0
	})
	measure(&f, "overwrite", ops, func() {
		k = (k + 7919) % uint64(n)
		m[k] = k + 1
	})
	next := uint64(n)
	measure(&f, "insert_new", ops, func() {
		m[next] = next
		next++
	})
	next = uint64(n)
	measure(&f, "remove", ops, func() {
		delete(m, next)
		next++
	})
	runtime.KeepAlive(m)
	return f
}

func syncMap(n, ops int) figures {
	before := heapInUse()
	var m sync.Map
	for i := 0; i < n; i++ {
		m.Store(uint64(i), uint64(i))
	}
	// Promote dirty to the read snapshot, as mapknee does before its
	// measurement: n misses move the dirty map into `read`.
	for i := 0; i < n; i++ {
		m.Load(uint64(i))
	}
	after := heapInUse()
	f := figures{Map: "go sync.Map", Entries: n, AllocsPerOp: map[string]float64{}, AllocsPerRun: map[string]float64{}}
	f.BytesPerEntry = float64(after-before) / float64(n)

	var k uint64
	measure(&f, "get", ops, func() {
		k = (k + 7919) % uint64(n)
		v, _ := m.Load(k)
		sink = v
	})
	measure(&f, "overwrite", ops, func() {
		k = (k + 7919) % uint64(n)
		m.Store(k, k+1)
	})
	next := uint64(n)
	measure(&f, "insert_new", ops, func() {
		m.Store(next, next)
		next++
	})
	next = uint64(n)
	measure(&f, "remove", ops, func() {
		m.Delete(next)
		next++
	})
	runtime.KeepAlive(&m)
	return f
}

func main() {
	sizes := flag.String("sizes", "1024,65536,1048576", "entries per map, comma-separated")
	ops := flag.Int("ops", 4096, "operations per AllocsPerRun")
	flag.Parse()
	enc := json.NewEncoder(os.Stdout)
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "bad size %q\n", s)
			os.Exit(2)
		}
		for _, f := range []figures{builtinMap(n, *ops), syncMap(n, *ops)} {
			f.GoVersion = runtime.Version()
			if err := enc.Encode(f); err != nil {
				os.Exit(1)
			}
		}
	}
}

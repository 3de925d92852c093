// syncmap-mix: Go 1.19's own sync.Map under the closed-loop workload that
// crates/maps/examples/syncmap_mix.rs runs against mapknee's SyncMap port,
// so the two can be compared side by side (benchsuite/go/compare.sh).
//
// Workload (identical on both sides): `threads` goroutines, each locked to
// an OS thread, run `ops` operations back to back on one shared map of
// uint64 keys and values. Keys are uniform over 0..keys from a per-thread
// splitmix64 stream seeded with the thread's index; the first
// prefill*keys keys are stored before the clock starts. An operation is a
// Load, a Store or a LoadOrStore, chosen by the mix's percentages from the
// same random draw. Prints one line: mix, ops, seconds, ops/s.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
)

type mix struct{ get, insert, getOrInsert uint64 }

var mixes = map[string]mix{
	"read-mostly": {99, 1, 0},
	"mixed":       {90, 5, 5},
	"write-heavy": {50, 25, 25},
}

func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func main() {
	mixName := flag.String("mix", "mixed", "read-mostly, mixed or write-heavy")
	threads := flag.Int("threads", 2, "worker threads")
	keys := flag.Uint64("keys", 65536, "key space")
	prefill := flag.Float64("prefill", 0.5, "fraction of keys stored before the clock starts")
	ops := flag.Uint64("ops", 4_000_000, "operations per thread")
	flag.Parse()
	mx, ok := mixes[*mixName]
	if !ok {
		fmt.Fprintf(os.Stderr, "syncmap-mix: unknown mix %q\n", *mixName)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(*threads)

	var m sync.Map
	pre := uint64(float64(*keys)*(*prefill) + 0.5)
	for k := uint64(0); k < pre; k++ {
		m.Store(k, k)
	}

	var ready, done sync.WaitGroup
	start := make(chan struct{})
	var sink [64]uint64
	for t := 0; t < *threads; t++ {
		ready.Add(1)
		done.Add(1)
		go func(t int) {
			runtime.LockOSThread()
			defer done.Done()
			seed := uint64(t)
			var acc uint64
			ready.Done()
			<-start
			for i := uint64(0); i < *ops; i++ {
				r := splitmix(&seed)
				k := r % *keys
				p := (r >> 32) % 100
				switch {
				case p < mx.get:
					if v, ok := m.Load(k); ok {
						acc += v.(uint64)
					}
				case p < mx.get+mx.insert:
					m.Store(k, k)
				default:
					v, _ := m.LoadOrStore(k, k)
					acc += v.(uint64)
				}
			}
			sink[t%len(sink)] = acc
		}(t)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	secs := time.Since(t0).Seconds()
	total := uint64(*threads) * *ops
	fmt.Printf("go-sync.Map %s ops=%d secs=%.4f ops_per_sec=%.0f (sink %d)\n",
		*mixName, total, secs, float64(total)/secs, sink[0]&1)
}

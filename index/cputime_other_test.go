//go:build !unix

package index

import "time"

// cpuTime is unknown here; benchmarks report zero for it.
func cpuTime() time.Duration { return 0 }

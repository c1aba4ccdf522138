//go:build !unix

package cli

import "time"

// cpuTime is not known here; the bench leaves out the figures that need it.
func cpuTime() (time.Duration, bool) { return 0, false }

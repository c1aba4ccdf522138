package cli

import "runtime/debug"

// The collector's defaults suit a program whose heap is most of its memory.
// Here the entries live in memory-mapped files, and the heap is mostly
// Bleve's short-lived garbage while it builds segments: at the default
// (GOGC 100) collection took about a fifth of an import's CPU. Letting the
// heap grow to four times what is live before collecting cuts the CPU an
// imported entry costs by a fifth, for some 40 MB more memory at a million
// entries. The soft limit keeps a large rebuild or export from growing the
// heap unbounded: near it the collector runs sooner, whatever the ratio.
const (
	gcPercent   = 300
	memoryLimit = 512 << 20
)

// tuneGC applies those settings to this process, unless the person running
// it chose their own through GOGC or GOMEMLIMIT.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

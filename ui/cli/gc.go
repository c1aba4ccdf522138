package cli

import "runtime/debug"

// gcPercent is how far the heap may grow past what is live before the
// collector runs. The Go default (100) suits a program whose heap is most of
// its memory. Here the entries live in memory-mapped files, and the heap is
// mostly Bleve's short-lived garbage while it builds segments: at the
// default, collection took about a fifth of an import's CPU. Four times
// what is live cuts the CPU an imported entry costs by a fifth, for 40-70 MB
// more memory while serving a million entries.
//
// No soft memory limit goes with it: near a limit the collector runs
// whenever the heap grows at all, and a limit below what a large import or
// export briefly holds live makes every entry pay for that (a limit of
// 512 MiB cost a million-entry benchmark a quarter more CPU an entry, as
// its clients hold the month's events in the same process).
const gcPercent = 300

// tuneGC applies gcPercent to this process, unless the person running it
// chose their own through GOGC; GOMEMLIMIT is theirs to set as well.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

// defaultGC gives work whose heap is its memory Go's own setting back:
// verifying an export offline holds a summary of every entry in the heap,
// and at gcPercent the process would grow to four times that (a million
// entries: 600 MB rather than about 300).
func defaultGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(100)
	}
}

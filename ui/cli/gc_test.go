package cli

import (
	"runtime/debug"
	"testing"
)

func TestTuneGCLeavesTheSettingAPersonChose(t *testing.T) {
	percent := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(percent) })

	tuneGC(func(string) string { return "" })
	if got := debug.SetGCPercent(50); got != gcPercent {
		t.Errorf("GC percent %d, want %d", got, gcPercent)
	}
	tuneGC(func(k string) string { return map[string]string{"GOGC": "50"}[k] })
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC=50 set, yet the GC percent became %d", got)
	}
}

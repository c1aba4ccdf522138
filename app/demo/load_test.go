package demo_test

import (
	"context"
	"testing"

	"auditlog/app"
	"auditlog/app/demo"
	"auditlog/app/logtest"
)

func openLog(t *testing.T) *app.Log { return logtest.Open(t, "") }

func count(t *testing.T, log *app.Log) int {
	t.Helper()
	tally, err := log.Tally(context.Background(), app.Query{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range tally {
		n += c
	}
	return n
}

func TestALoadCutShortIsFinishedByTheNextWithoutDoubling(t *testing.T) {
	log := openLog(t)
	ctx, cancel := context.WithCancel(context.Background())
	// The browser goes away after the first batch.
	n, err := demo.Load(ctx, log, func(done, total int) { cancel() })
	if err == nil || n != app.MaxBatch {
		t.Fatalf("cut-short load = %d, %v; want one batch and the context's error", n, err)
	}
	if !demo.Unfinished(context.Background(), log) || !demo.Wanted(context.Background(), log) {
		t.Fatal("a load cut short is not reported as unfinished, so nothing would offer to finish it")
	}
	total, err := demo.Load(context.Background(), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := count(t, log); got != total || total < 4000 {
		t.Fatalf("after finishing: %d entries stored, the demo has %d", got, total)
	}
	if demo.Unfinished(context.Background(), log) || demo.Wanted(context.Background(), log) {
		t.Fatal("a finished demo is still offered")
	}
	if n, err := demo.Load(context.Background(), log, nil); n != 0 || err != nil {
		t.Fatalf("loading a finished demo again = %d, %v; want nothing recorded", n, err)
	}
}

func TestDemoDataIsNotOfferedOnceRealEntriesExist(t *testing.T) {
	log := openLog(t)
	if !demo.Wanted(context.Background(), log) {
		t.Fatal("an empty log does not want demo data")
	}
	if _, err := log.Record(context.Background(), []app.Event{{Namespace: app.Users, Action: "user_invited", Detail: "Invited Bo", Actor: "Maya"}}); err != nil {
		t.Fatal(err)
	}
	if demo.Wanted(context.Background(), log) {
		t.Fatal("a log with real entries is offered demo data")
	}
}

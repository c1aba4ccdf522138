package cluster

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"auditlog/app"
)

// A commit made from workspace state that another commit, first in the
// stream, has changed since is left out on every node, its entries too:
// the later of two changes to one token, member or setting must not win
// whole over the earlier (a revoked token regenerated back to life). One
// made from the state as it is, is applied.
func TestACommitMadeFromStateChangedSinceIsLeftOut(t *testing.T) {
	dir := t.TempDir()
	n, err := Open(Config{Name: "solo", DataDir: dir, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	select {
	case <-n.ready:
	case <-time.After(20 * time.Second):
		t.Fatal("the node did not get ready")
	}
	const key = "tok-hash"
	put := func(v string) app.StateValue {
		return app.StateValue{Kind: app.StateTokens, Key: key, Value: []byte(v)}
	}
	held := func() string {
		v, _, err := n.local.State(ctx, app.StateTokens, key)
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	if _, err := n.Commit(ctx, app.Commit{State: []app.StateValue{put("v1")}}); err != nil {
		t.Fatal(err)
	}
	// Records as a node would send them, made from what it held.
	send := func(was *string, v string, events ...app.Event) uint64 {
		t.Helper()
		rec := record{State: toWire([]app.StateValue{put(v)}), Events: events, ReceivedAt: time.Now().UTC()}
		var sum []byte
		if was != nil {
			sum = stateSum([]byte(*was), true)
		}
		rec.Prior = []wireState{{Kind: app.StateTokens, Key: []byte(key), Value: sum}}
		data, _ := json.Marshal(&rec)
		ack, err := n.js.Publish(ctx, n.subject, data, jetstream.WithExpectStream(n.cfg.Stream))
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	str := func(s string) *string { return &s }
	wait := func(seq uint64) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if !n.waitApplied(wctx, seq) {
			t.Fatalf("sequence %d not applied", seq)
		}
	}
	// Made from v0, which v1 replaced: left out, its entry too.
	e := app.Event{ID: "stale-entry", Namespace: app.APITokens, Action: "token_regenerated", Detail: "Regenerated", Timestamp: time.Now().UTC()}
	stale := send(str("v0"), "v2", e)
	wait(stale)
	if held() != "v1" || !n.wasStale(stale) {
		t.Fatalf("a commit made from state changed since: the state holds %q, left out: %v", held(), n.wasStale(stale))
	}
	if _, found, _ := n.local.Get(ctx, "stale-entry"); found {
		t.Fatal("the entry of a commit left out was recorded")
	}
	// Made from nothing, where v1 is: left out too.
	if seq := send(nil, "v2"); true {
		wait(seq)
		if held() != "v1" {
			t.Fatalf("a commit made from no state where there is some: %q", held())
		}
	}
	// Two made from v1 back to back: the first is applied, the second,
	// whatever batch it is applied in, finds v2 and is left out.
	first, second := send(str("v1"), "v2"), send(str("v1"), "v3")
	wait(second)
	if held() != "v2" || n.wasStale(first) || !n.wasStale(second) {
		t.Fatalf("two made from v1: the state holds %q, first left out %v, second %v", held(), n.wasStale(first), n.wasStale(second))
	}
	// Through Commit, from the state as it is: applied.
	if _, err := n.Commit(ctx, app.Commit{State: []app.StateValue{put("v4")}}); err != nil || held() != "v4" {
		t.Fatalf("a commit made from the state as it is: %v, the state holds %q", err, held())
	}
}

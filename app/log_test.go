package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"auditlog/app"
	"auditlog/app/demo"
	"auditlog/app/logtest"
	"auditlog/app/store"
	"auditlog/index"

	bolt "go.etcd.io/bbolt"
)

// clock is a settable time source, so retention can be tested without waiting.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     testing.TB
	dir   string
	clock *clock
	log   *app.Log
}

func openFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), clock: &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}}
	f.open()
	t.Cleanup(f.close)
	return f
}

func (f *fixture) open() {
	f.t.Helper()
	cfg := configIn(f.t, f.dir)
	cfg.Now = f.clock.Now
	log, err := app.Open(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.log = log
}

func (f *fixture) close() {
	if f.log == nil {
		return
	}
	if err := f.log.Close(); err != nil {
		f.t.Error(err)
	}
	f.log = nil
}

func (f *fixture) record(events ...app.Event) []app.Event {
	f.t.Helper()
	out, err := f.log.Record(context.Background(), events)
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) waitIndexed() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := f.log.WaitIndexed(ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) search(q string, cursor string, limit int) app.Page {
	f.t.Helper()
	query, err := app.ParseQuery(q, time.UTC)
	if err != nil {
		f.t.Fatal(err)
	}
	page, err := f.log.Search(context.Background(), query, cursor, limit)
	if err != nil {
		f.t.Fatal(err)
	}
	return page
}

// all pages through every match of q and returns the ids in order.
func (f *fixture) all(q string, limit int) []string {
	f.t.Helper()
	var ids []string
	cursor := ""
	for {
		page := f.search(q, cursor, limit)
		for _, e := range page.Events {
			ids = append(ids, e.ID)
		}
		if page.Next == "" {
			return ids
		}
		if len(page.Events) != limit {
			f.t.Fatalf("a page with a next cursor has %d entries, want %d", len(page.Events), limit)
		}
		cursor = page.Next
	}
}

// indexIn opens the real keyword index in the data directory, as the command does.
// configIn is a Log's configuration with a real store and index in dir.
func configIn(tb testing.TB, dir string) app.Config { return logtest.Config(tb, dir) }

func indexIn(dir string) func() (app.SearchIndex, error) {
	return func() (app.SearchIndex, error) { return index.Open(filepath.Join(dir, "index")) }
}

func ev(ns app.Namespace, action, detail, actor string, ago time.Duration, now time.Time) app.Event {
	return app.Event{Namespace: ns, Action: action, Detail: detail, Actor: actor, Timestamp: now.Add(-ago)}
}

func TestRecordStoresAllEventsOrNoneOfThem(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	good := ev(app.APITokens, "token_created", `Created API token "ci-deploy"`, "Maya Chen", time.Hour, now)
	bad := ev("widgets", "token_created", "x", "Maya Chen", time.Hour, now)
	_, err := f.log.Record(context.Background(), []app.Event{good, good, bad})
	e, ok := err.(*app.Error)
	if !ok || e.Code != app.EINVALID || len(e.Details) != 1 || e.Details[0].Index != 2 || e.Details[0].Field != "namespace" {
		t.Fatalf("err = %#v, want one invalid namespace at index 2", err)
	}
	if page := f.search("", "", 10); len(page.Events) != 0 {
		t.Fatalf("a rejected batch stored %d events", len(page.Events))
	}
}

func TestRecordingTheSameIDTwiceKeepsOneEntry(t *testing.T) {
	f := openFixture(t)
	e := ev(app.Connections, "connection_created", `Added connection "Snowflake Warehouse"`, "Priya", time.Minute, f.clock.Now())
	e.ID = "evt-42"
	first := f.record(e)
	e.Detail = "a retry with a different detail is still the same entry"
	second := f.record(e, e)
	if first[0].ID != "evt-42" || second[0].Detail != first[0].Detail || second[1].ID != "evt-42" {
		t.Fatalf("retry did not return the existing entry: %+v then %+v", first, second)
	}
	if n := len(f.all("", 50)); n != 1 {
		t.Fatalf("%d entries stored, want 1", n)
	}
	got, err := f.log.Get(context.Background(), "evt-42")
	if err != nil || got.Detail != first[0].Detail {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

// An id in use sent with another event is no retry: the entry stored under
// it answers, as for a retry, but the answer says the event sent was not
// recorded, so that merging two logs' exports (whose server-made ids may
// coincide) loses nothing unseen. What a retry may change is not counted:
// a time it left out, and the token that sends it.
func TestAnotherEventUnderAnIDInUseIsNamed(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	a := ev(app.APITokens, "token_created", `Created API token "ci-deploy"`, "Maya", time.Minute, f.clock.Now())
	a.ID = "evt-a"
	a.Metadata = map[string]string{"region": "eu", app.MetaTokenID: "tok_1"}
	if _, err := f.log.Ingest(ctx, []app.Event{a}); err != nil {
		t.Fatal(err)
	}
	retry := a
	retry.Timestamp = time.Time{}
	retry.Metadata = map[string]string{"region": "eu", app.MetaTokenID: "tok_2"}
	other := a
	other.Actor = "Zed"
	inBatch := ev(app.Users, "user_invited", "Invited Ana", "Maya", time.Minute, f.clock.Now())
	inBatch.ID = "evt-b"
	inBatchOther := inBatch
	inBatchOther.Detail = "Invited Bo"
	r, err := f.log.Ingest(ctx, []app.Event{retry, other, inBatch, inBatchOther})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, false, true}; !slices.Equal(r.Differs, want) {
		t.Errorf("differs = %v, want %v", r.Differs, want)
	}
	if got := r.Conflicting(); !slices.Equal(got, []string{"evt-a", "evt-b"}) {
		t.Errorf("conflicting = %q, want [evt-a evt-b]", got)
	}
	if got, _ := f.log.Get(ctx, "evt-a"); got.Actor != "Maya" {
		t.Errorf("the entry stored first was replaced: %+v", got)
	}
	if n := len(f.all("", 50)); n != 2 {
		t.Errorf("%d entries stored, want 2", n)
	}
}

// Ingest tells a client which of its events were stored before, by an
// earlier request: a retry learns what its first attempt recorded. The
// fixture's clock stands still, as a coarse one may between two requests,
// and the answer must not depend on it moving.
func TestIngestTellsWhichEventsWereStoredBefore(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	a := ev(app.APITokens, "token_created", `Created API token "ci-deploy"`, "Maya", time.Minute, now)
	a.ID = "evt-a"
	b := ev(app.APITokens, "token_revoked", `Revoked API token "ci-deploy"`, "Maya", time.Minute, now)
	b.ID = "evt-b"
	noID := ev(app.Users, "user_invited", "Invited Ana", "Maya", time.Minute, now)
	ingest := func(events ...app.Event) app.Ingested {
		t.Helper()
		r, err := f.log.Ingest(ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := ingest(a, noID)
	if !slices.Equal(first.Existing, []bool{false, false}) || len(first.AlreadyStored()) != 0 {
		t.Fatalf("a first request: existing %v, already stored %q", first.Existing, first.AlreadyStored())
	}
	// b is new, though sent twice: this request stored it.
	second := ingest(a, b, b, noID)
	if want := []bool{true, false, false, false}; !slices.Equal(second.Existing, want) {
		t.Errorf("existing = %v, want %v", second.Existing, want)
	}
	if got := second.AlreadyStored(); !slices.Equal(got, []string{"evt-a"}) {
		t.Errorf("already stored = %q, want [evt-a]", got)
	}
	if got := ingest(b, b).AlreadyStored(); !slices.Equal(got, []string{"evt-b"}) {
		t.Errorf("b sent twice again: already stored = %q, want [evt-b] once", got)
	}
	if n := len(f.all("", 50)); n != 4 {
		t.Errorf("%d entries stored, want 4 (a, b and two without ids)", n)
	}
	// After a restart, on the same standing clock, a stays told apart.
	f.close()
	f.open()
	c := ev(app.APITokens, "token_created", `Created API token "nightly"`, "Maya", time.Minute, now)
	c.ID = "evt-c"
	if got := ingest(a, c).Existing; !slices.Equal(got, []bool{true, false}) {
		t.Errorf("after a restart: existing %v, want [true false]", got)
	}
	// A clock set back is followed: a received_at is when the event came.
	f.clock.Advance(-time.Hour)
	late := ev(app.Users, "user_removed", "Removed Ana", "Maya", time.Minute, f.clock.Now())
	if got := ingest(late).Entries[0].ReceivedAt; !got.Equal(f.clock.Now()) {
		t.Errorf("received_at after the clock went back an hour: %v, want %v", got, f.clock.Now())
	}
}

func TestServerMadeIDsAreTimeOrderedAndFindable(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	out := f.record(
		ev(app.Users, "user_invited", "Invited Ana", "Maya", 2*time.Hour, now),
		ev(app.Users, "user_invited", "Invited Bo", "Maya", time.Hour, now),
	)
	if !(out[0].ID < out[1].ID) {
		t.Fatalf("ids %q and %q are not in time order", out[0].ID, out[1].ID)
	}
	for _, e := range out {
		got, err := f.log.Get(context.Background(), e.ID)
		if err != nil || got.Detail != e.Detail || got.ReceivedAt.IsZero() {
			t.Fatalf("Get(%q) = %+v, %v", e.ID, got, err)
		}
	}
	if _, err := f.log.Get(context.Background(), "nope"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("Get of an unknown id: %v, want not found", err)
	}
}

// manyEvents records n events spread over the last 20 days, cycling namespaces.
func manyEvents(f *fixture, n int) {
	now := f.clock.Now()
	var batch []app.Event
	for i := range n {
		ns := app.Namespaces[i%len(app.Namespaces)]
		ago := time.Duration(n-i) * (20 * 24 * time.Hour / time.Duration(n))
		word := []string{"alpha", "bravo", "charlie"}[i%3]
		batch = append(batch, ev(ns, "thing_changed", fmt.Sprintf("Changed %s number %d", word, i), fmt.Sprintf("user%d", i%5), ago, now))
		if len(batch) == app.MaxBatch {
			f.record(batch...)
			batch = nil
		}
	}
	if len(batch) > 0 {
		f.record(batch...)
	}
}

func TestPagingWalksEveryEntryOnceNewestFirst(t *testing.T) {
	f := openFixture(t)
	manyEvents(f, 2500)
	f.waitIndexed()
	for _, q := range []string{"", "namespace:users", "namespace:users ns:api_tokens", "alpha", "changed -bravo", "actor:user3", "action:thing_*"} {
		t.Run(q, func(t *testing.T) {
			ids := f.all(q, 97)
			seen := map[string]bool{}
			for i, id := range ids {
				if seen[id] {
					t.Fatalf("%q: id %s appears twice", q, id)
				}
				seen[id] = true
				if i > 0 && ids[i-1] < id {
					t.Fatalf("%q: entries not newest first at %d", q, i)
				}
			}
			want := map[string]int{"": 2500, "namespace:users": 357, "namespace:users ns:api_tokens": 714, "alpha": 834, "changed -bravo": 1667, "actor:user3": 500, "action:thing_*": 2500}[q]
			if len(ids) != want {
				t.Fatalf("%q: %d entries, want %d", q, len(ids), want)
			}
		})
	}
}

func TestSearchRejectsACursorItDidNotMake(t *testing.T) {
	f := openFixture(t)
	_, err := f.log.Search(context.Background(), app.Query{}, "not-a-cursor!", 10)
	if app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("err = %v, want invalid", err)
	}
}

func TestKeywordSearchFindsRecordedEventsByDetailActorAndTargetName(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	e := ev(app.DataProducts, "data_product_invite_sent", `Invited jordan@acme-partners.com to data product "Customer 360"`, "Tomás Ortega", time.Hour, now)
	e.Targets = []app.Target{{Type: "data_product", ID: "dp_1", Name: "Customer360Gold"}}
	f.record(e, ev(app.Spaces, "space_created", "Created space Finance", "Priya", time.Hour, now))
	f.waitIndexed()
	for _, q := range []string{"customer", `"customer 360"`, "tomás", "customer360gold", "acme-partners", "namespace:data_products invited"} {
		if page := f.search(q, "", 10); len(page.Events) != 1 || page.Events[0].Action != "data_product_invite_sent" {
			t.Errorf("search %q found %d entries, want the invite", q, len(page.Events))
		}
	}
}

func TestPurgeRemovesExpiredEntriesFromEveryRoute(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	old := f.record(ev(app.APITokens, "token_revoked", `Revoked API token "old-token"`, "Maya", 29*24*time.Hour, now))[0]
	fresh := f.record(ev(app.APITokens, "token_revoked", `Revoked API token "new-token"`, "Maya", time.Hour, now))[0]
	f.waitIndexed()

	f.clock.Advance(2 * 24 * time.Hour)
	n, err := f.log.Purge()
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1 purged", n, err)
	}
	if _, err := f.log.Get(context.Background(), old.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("purged entry still found by id: %v", err)
	}
	for _, q := range []string{"", "revoked", "old", "namespace:api_tokens"} {
		page := f.search(q, "", 10)
		for _, e := range page.Events {
			if e.ID == old.ID {
				t.Fatalf("search %q still finds the purged entry", q)
			}
		}
		if len(page.Events) != 1 && q != "old" {
			t.Fatalf("search %q found %d entries, want the fresh one", q, len(page.Events))
		}
	}
	tally, err := f.log.Tally(context.Background(), app.Query{})
	if err != nil || sum(tally) != 1 {
		t.Fatalf("tally after purge = %v, %v; want 1 entry", tally, err)
	}
	if _, err := f.log.Get(context.Background(), fresh.ID); err != nil {
		t.Fatal(err)
	}
}

// Expired entries cannot be recovered: once purged, no file in the data
// directory holds their words, neither the store (its pages, its learned
// dictionaries) nor the index. A day of entries, enough for the store to
// learn a dictionary from, is purged a month later.
func TestPurgedEntriesLeaveNoTraceInTheDataDirectory(t *testing.T) {
	f := openFixture(t)
	var marked []app.Event
	for i := range 6000 {
		e := ev(app.APITokens, "token_revoked", fmt.Sprintf(`Revoked API token "xyzzy-%d"`, i), "Zebedee Quuxington", time.Hour, f.clock.Now())
		e.IP = "203.0.113.77"
		marked = append(marked, e)
	}
	for len(marked) > 0 {
		f.record(marked[:1000]...)
		marked = marked[1000:]
	}
	f.waitIndexed()
	holding := func() []string {
		var held []string
		err := filepath.WalkDir(f.dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			for _, w := range []string{"Quuxington", "quuxington", "xyzzy", "203.0.113.77"} {
				if strings.Contains(string(b), w) {
					held = append(held, filepath.Base(path)+" holds "+w)
				}
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return held
	}
	if len(holding()) == 0 {
		t.Fatal("no file holds the entries' words before the purge: the test looks for the wrong bytes")
	}
	for range 31 {
		f.clock.Advance(24 * time.Hour)
		f.record(ev(app.Users, "user_invited", "Invited Bo", "Maya", 0, f.clock.Now()))
	}
	f.waitIndexed()
	if n, err := f.log.Purge(); err != nil || n != 6000 {
		t.Fatalf("Purge = %d, %v; want the 6000 entries of a month ago", n, err)
	}
	f.close()
	if held := holding(); len(held) > 0 {
		t.Fatalf("after the purge: %s", strings.Join(held, "; "))
	}
	f.open()
	if page := f.search("invited", "", 50); len(page.Events) != 31 {
		t.Fatalf("after the purge a search finds %d of the entries kept, want 31", len(page.Events))
	}
}

func TestEntriesOutsideTheWindowAreHiddenEvenBeforeThePurgeRuns(t *testing.T) {
	f := openFixture(t)
	old := f.record(ev(app.Users, "user_removed", "Removed Bo", "Maya", 29*24*time.Hour, f.clock.Now()))[0]
	f.clock.Advance(2 * 24 * time.Hour) // no Purge call
	if _, err := f.log.Get(context.Background(), old.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("expired entry still found by id: %v", err)
	}
	if page := f.search("", "", 10); len(page.Events) != 0 {
		t.Fatal("expired entry still listed")
	}
}

func sum(t app.Tally) int {
	n := 0
	for _, c := range t {
		n += c
	}
	return n
}

func TestTallyCountsMatchTheEntriesListed(t *testing.T) {
	f := openFixture(t)
	manyEvents(f, 1500)
	f.waitIndexed()
	for _, q := range []string{"", "namespace:spaces", "bravo", "after:2026-11-10T10:30:00Z before:2026-11-20T07:15:00Z", "charlie after:2026-11-12T10:30:00Z"} {
		query, err := app.ParseQuery(q, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		tally, err := f.log.Tally(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		slots, err := f.log.SlotCounts(context.Background(), query)
		if err != nil {
			t.Fatal(err)
		}
		for cell, n := range tally {
			if got := slots.Sum(cell.Slot, cell.Slot+1, nil)[slices.Index(app.Namespaces, cell.Namespace)]; got != n {
				t.Errorf("%q: slot %d of %s counts %d, the tally %d", q, cell.Slot, cell.Namespace, got, n)
			}
		}
		if slots.Total() != sum(tally) {
			t.Errorf("%q: the slot counts hold %d entries, the tally %d", q, slots.Total(), sum(tally))
		}
		ids := f.all(q, 500)
		if sum(tally) != len(ids) {
			t.Errorf("%q: tally says %d, search lists %d", q, sum(tally), len(ids))
		}
		byNS := map[app.Namespace]int{}
		for _, id := range ids {
			e, _ := f.log.Get(context.Background(), id)
			byNS[e.Namespace]++
		}
		for _, n := range app.Namespaces {
			got := 0
			for k, c := range tally {
				if k.Namespace == n {
					got += c
				}
			}
			if got != byNS[n] {
				t.Errorf("%q: tally for %s = %d, listed %d", q, n, got, byNS[n])
			}
		}
	}
}

func TestDeletedIndexIsRebuiltFromTheStoreOnStart(t *testing.T) {
	f := openFixture(t)
	manyEvents(f, 1200)
	f.waitIndexed()
	want := f.all("alpha", 100)
	f.close()
	if err := os.RemoveAll(filepath.Join(f.dir, "index")); err != nil {
		t.Fatal(err)
	}
	f.open()
	f.waitIndexed()
	if got := f.all("alpha", 100); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after rebuild: %d matches, want %d", len(got), len(want))
	}
}

func TestReindexRebuildsTheSameResults(t *testing.T) {
	f := openFixture(t)
	manyEvents(f, 800)
	f.waitIndexed()
	want := f.all("charlie", 100)
	calls := 0
	if err := f.log.Reindex(func(done, total int) { calls++ }); err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Fatal("Reindex reported no progress")
	}
	if got := f.all("charlie", 100); len(got) != len(want) {
		t.Fatalf("after reindex: %d matches, want %d", len(got), len(want))
	}
}

func TestASecondProcessIsToldTheDataDirectoryIsInUse(t *testing.T) {
	f := openFixture(t)
	start := time.Now()
	_, err := store.Open(f.dir)
	if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("err = %v, want a conflict saying the directory is in use", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s to give up, want under 2s", d)
	}
}

func TestTokensAreRecordedAuthenticatedAndRevoked(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	secret, tok, err := f.log.CreateToken(ctx, "ci-deploy", []app.Scope{app.ScopeIngest}, "Maya Chen")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.log.Authenticate(ctx, secret)
	if err != nil || got.ID != tok.ID || !got.Allows(app.ScopeIngest) || got.Allows(app.ScopeRead) {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	if _, err := f.log.RevokeToken(ctx, tok.ID, "Priya Raman"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Authenticate(ctx, secret); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Fatalf("revoked token still authenticates: %v", err)
	}
	f.waitIndexed()
	page := f.search("ci-deploy", "", 10)
	if len(page.Events) != 2 || page.Events[0].Action != "token_revoked" || page.Events[0].Actor != "Priya Raman" || page.Events[1].Action != "token_created" {
		t.Fatalf("token history = %+v", page.Events)
	}
}

func TestSettingsChangesAreRecorded(t *testing.T) {
	f := openFixture(t)
	ctx := context.Background()
	name, mars, berlin := "Acme Data", "Mars/Olympus", "europe/berlin"
	if _, err := f.log.ChangeSettings(ctx, app.SettingsChange{Workspace: &name, Timezone: &mars}, "Maya"); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("unknown timezone: %v, want invalid", err)
	}
	if _, err := f.log.ChangeSettings(ctx, app.SettingsChange{Workspace: &name, Timezone: &berlin}, "Maya"); err != nil {
		t.Fatal(err)
	}
	s := f.log.Settings()
	if s.Workspace != "Acme Data" || s.Location().String() != "Europe/Berlin" || s.Slug() != "acme-data" {
		t.Fatalf("settings = %+v", s)
	}
	// One entry for the change, with each setting's old and new value.
	page := f.search("namespace:spaces", "", 10)
	if len(page.Events) != 1 || page.Events[0].Action != app.SettingsAction {
		t.Fatalf("settings change not recorded: %+v", page.Events)
	}
	e := page.Events[0]
	if e.Metadata["timezone_from"] != "system" || e.Metadata["timezone_to"] != "Europe/Berlin" || e.Actor != "Maya" {
		t.Fatalf("timezone change = %+v", e)
	}
	if e.Metadata["name_from"] != app.DefaultWorkspace || e.Metadata["name_to"] != "Acme Data" || !strings.Contains(e.Detail, `from "My Workspace" to "Acme Data"`) {
		t.Fatalf("name change = %+v", e)
	}
	// The action's former name still finds the entries it names now.
	f.waitIndexed()
	if old := f.search("action:workspace_settings_updated", "", 10); len(old.Events) != 1 {
		t.Fatalf("action:workspace_settings_updated found %d entries, want 1", len(old.Events))
	}
}

func TestDemoDataAnswersTheFourQuestions(t *testing.T) {
	f := openFixture(t)
	if !f.log.IsEmpty() {
		t.Fatal("a new log is not empty")
	}
	n, err := demo.Load(context.Background(), f.log, nil)
	if err != nil || n < 4000 {
		t.Fatalf("LoadDemo = %d, %v", n, err)
	}
	f.waitIndexed()
	checks := []struct {
		q      string
		action string
		actor  string
	}{
		{"ci-deploy action:token_revoked", "token_revoked", ""},
		{`"Snowflake Warehouse" action:connection_created`, "connection_created", ""},
		{"jordan@acme-partners.com action:data_product_invite_sent", "data_product_invite_sent", ""},
		{`"Customer 360" actor:anonymous`, "data_product_invite_accepted", app.Anonymous},
		{"namespace:data_pipelines action:pipeline_created after:2026-11-18", "pipeline_created", ""},
	}
	for _, c := range checks {
		page := f.search(c.q, "", 50)
		if len(page.Events) == 0 || page.Events[0].Action != c.action || (c.actor != "" && page.Events[0].Actor != c.actor) {
			t.Errorf("%q: got %d entries (first %+v), want %s", c.q, len(page.Events), first(page.Events), c.action)
		}
	}
}

func first(events []app.Event) app.Event {
	if len(events) == 0 {
		return app.Event{}
	}
	return events[0]
}

func TestAnExpiredIDCanBeRecordedAgainBeforeThePurgeRuns(t *testing.T) {
	f := openFixture(t)
	e := ev(app.DataPipelines, "pipeline_executed", "first run", "svc", 29*24*time.Hour, f.clock.Now())
	e.ID = "nightly"
	f.record(e)
	f.clock.Advance(2 * 24 * time.Hour) // expired, not yet purged
	e.Timestamp, e.Detail = f.clock.Now(), "second run"
	if got := f.record(e); got[0].Detail != "second run" {
		t.Fatalf("recording an expired id returned %q", got[0].Detail)
	}
	if _, err := f.log.Purge(); err != nil {
		t.Fatal(err)
	}
	if got, err := f.log.Get(context.Background(), "nightly"); err != nil || got.Detail != "second run" {
		t.Fatalf("after the purge: %+v, %v", got, err)
	}
}

func TestRetentionIsRememberedByTheStore(t *testing.T) {
	f := openFixture(t)
	f.close()
	cfg := configIn(t, f.dir)
	cfg.Now, cfg.Retention, cfg.Operator = f.clock.Now, 60*24*time.Hour, "Maya"
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	old := ev(app.Users, "user_removed", "Removed Bo", "Maya", 45*24*time.Hour, f.clock.Now())
	if _, err := log.Record(context.Background(), []app.Event{old}); err != nil {
		t.Fatal(err)
	}
	log.Close()
	f.open() // no retention given: the remembered 60 days, not the default 30
	if f.log.Retention() != 60*24*time.Hour {
		t.Fatalf("retention = %v, want the remembered 60 days", f.log.Retention())
	}
	page := f.search("", "", 10)
	if len(page.Events) != 2 || page.Events[0].Action != "retention_changed" || page.Events[0].Actor != "Maya" || page.Events[1].Detail != "Removed Bo" {
		t.Fatalf("entries = %+v", page.Events)
	}
}

func TestDemoDataFitsAShortRetention(t *testing.T) {
	f := openFixture(t)
	f.close()
	cfg := configIn(t, f.dir)
	cfg.Now, cfg.Retention = f.clock.Now, 7*24*time.Hour
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	n, err := demo.Load(context.Background(), log, nil)
	if err != nil || n < 500 || n > 3000 {
		t.Fatalf("LoadDemo with 7 days of retention = %d, %v", n, err)
	}
}

// In a timezone half an hour off UTC, each day's count from the tally equals
// the entries listed for that day.
func TestTallyDaysMatchListedDaysInAHalfHourZone(t *testing.T) {
	f := openFixture(t)
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	now := f.clock.Now()
	var events []app.Event
	for i := range 400 {
		ts := now.Add(-time.Duration(i) * 17 * time.Minute) // lands on every quarter of the hour
		events = append(events, app.Event{Namespace: app.Namespaces[i%7], Action: "thing_changed", Detail: "Changed thing", Timestamp: ts})
	}
	f.record(events...)
	tally, err := f.log.Tally(context.Background(), app.Query{})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(now.In(kolkata).Year(), now.In(kolkata).Month(), now.In(kolkata).Day(), 0, 0, 0, 0, kolkata)
	for d := 0; d < 6; d++ {
		from, to := day.AddDate(0, 0, -d), day.AddDate(0, 0, -d+1)
		within, ok := tally.Within(from, to)
		if !ok {
			t.Fatalf("day %s is not whole slots", from)
		}
		q := app.Query{After: from, Before: to}
		listed, _ := f.log.Search(context.Background(), q, "", 500)
		if sum(within) != len(listed.Events) {
			t.Errorf("%s: tally %d, listed %d", from.Format("2006-01-02"), sum(within), len(listed.Events))
		}
	}
}

func TestCountersAreRebuiltForAStoreThatLacksThem(t *testing.T) {
	f := openFixture(t)
	manyEvents(f, 300)
	f.close()
	db, err := bolt.Open(filepath.Join(f.dir, "auditlog.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("tally15")) })
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("tally")); return err })
	db.Close()
	f.open()
	tally, err := f.log.Tally(context.Background(), app.Query{})
	if err != nil || sum(tally) != 300 {
		t.Fatalf("tally after the recount = %d, %v; want 300", sum(tally), err)
	}
}

func TestActionNamesAreSearchableWords(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	f.record(
		ev(app.DataPipelines, "pipeline_created", `Created pipeline "orders_daily"`, "Maya", time.Hour, now),
		ev(app.APITokens, "token_revoked", `Removed access for "ci-deploy"`, "Lukas", time.Hour, now),
	)
	f.waitIndexed()
	for q, want := range map[string]string{"pipeline_created": "pipeline_created", `"token_revoked"`: "token_revoked", "revoked": "token_revoked"} {
		page := f.search(q, "", 10)
		if len(page.Events) != 1 || page.Events[0].Action != want {
			t.Errorf("search %q found %+v, want the %s entry", q, page.Events, want)
		}
	}
}

// failingIndex is the real index with its writes made to fail, the way a
// full disk or a broken directory makes them fail.
type failingIndex struct{ app.SearchIndex }

func (failingIndex) Index([]app.IndexDoc, bool) error {
	return fmt.Errorf("index: write failed: no space left on device")
}

// Indexing makes room for people waiting on the log: for a while after each
// read of any kind, and after each write (its sender waits for the
// acknowledgement); it takes every core again once they stop.
func TestIndexingMakesRoomWhileSomeoneWaitsOnTheLog(t *testing.T) {
	cfg := configIn(t, t.TempDir())
	open := cfg.OpenIndex
	g := &gatedIndex{}
	cfg.OpenIndex = func() (app.SearchIndex, error) {
		idx, err := open()
		g.SearchIndex = idx
		return g, err
	}
	clk := &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	cfg.Now = clk.Now
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { g.release(); log.Close() }()
	ctx := context.Background()
	record := func(detail string) {
		t.Helper()
		if _, err := log.Record(ctx, []app.Event{{Namespace: app.Users, Action: "user_invited", Detail: detail, Actor: "Maya"}}); err != nil {
			t.Fatal(err)
		}
	}
	lastAttended := func() bool {
		t.Helper()
		if err := log.WaitIndexed(ctx); err != nil {
			t.Fatal(err)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.attended[len(g.attended)-1]
	}
	// A write is indexed while its sender still waits on the log.
	record("Invited Ana")
	if !lastAttended() {
		t.Fatal("indexing right after a write was not told someone waits")
	}
	// indexedAttended holds the index on one entry while it records another,
	// lets the write's wait linger out, does what is given (or nothing), and
	// tells whether the second entry's indexing was told someone waits.
	indexedAttended := func(detail string, do func() error) bool {
		t.Helper()
		g.hold()
		g.mu.Lock()
		entered := g.entered
		g.mu.Unlock()
		record(detail + " (held)")
		<-entered
		record(detail)
		clk.Advance(app.AttendedLinger)
		if do != nil {
			if err := do(); err != nil {
				t.Fatal(err)
			}
			clk.Advance(app.AttendedLinger - time.Millisecond)
		}
		g.release()
		return lastAttended()
	}
	if indexedAttended("Invited Bo", nil) {
		t.Fatalf("indexing %s after the last write was still told someone waits", app.AttendedLinger)
	}
	for _, read := range []struct {
		name string
		do   func() error
	}{
		{"a search", func() error { _, err := log.Search(ctx, app.Query{}, "", 10); return err }},
		{"the counts", func() error { _, err := log.SlotCounts(ctx, app.Query{}); return err }},
		{"a tally", func() error { _, err := log.Tally(ctx, app.Query{}); return err }},
		{"an entry", func() error { _, _ = log.Get(ctx, "no-such-id"); return nil }},
		{"the retention's preview", func() error { _, err := log.ExpiredBy(ctx, 24*time.Hour); return err }},
	} {
		if !indexedAttended("Invited Di after "+read.name, read.do) {
			t.Errorf("indexing just inside %s after %s was not told someone waits", app.AttendedLinger, read.name)
		}
	}
}

func TestWaitingForAnIndexThatKeepsFailingEndsWithTheReason(t *testing.T) {
	dir := t.TempDir()
	cfg := configIn(t, dir)
	open := cfg.OpenIndex
	cfg.OpenIndex = func() (app.SearchIndex, error) {
		idx, err := open()
		return failingIndex{idx}, err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if _, err := log.Record(context.Background(), []app.Event{{Namespace: app.Users, Action: "user_invited", Detail: "Invited Bo", Actor: "Maya"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = log.WaitIndexed(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("WaitIndexed = %v (context: %v), want it to give up with the indexer's error", err, ctx.Err())
	}
}

func TestRetentionInHoursIsReportedInHours(t *testing.T) {
	f := openFixture(t)
	f.close()
	cfg := configIn(t, f.dir)
	cfg.Now, cfg.Retention, cfg.Operator = f.clock.Now, 36*time.Hour, "Maya"
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	if got := app.FormatRetention(log.Retention()); got != "36 hours" {
		t.Fatalf("FormatRetention(36h) = %q", got)
	}
	page, err := log.Search(context.Background(), app.Query{}, "", 10)
	if err != nil || len(page.Events) != 1 || page.Events[0].Detail != "Changed the Audit Log retention from 30 days to 36 hours" {
		t.Fatalf("retention entry = %+v, %v", page.Events, err)
	}
}

// 1970-01-01 in a zone east of UTC is an instant before the epoch, which a
// key, holding unsigned nanoseconds, cannot name: such a bound must neither
// hide every entry nor walk the whole store.
func TestABoundAtOrBefore1970ActsOnTimeAsWritten(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	f.record(ev(app.Users, "user_invited", "Invited dave", "alice", time.Hour, now))
	f.waitIndexed()
	cet := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		query string
		want  int
	}{
		{"after:1970-01-01", 1},
		{"invited after:1970-01-01", 1},
		{"before:1970-01-01", 0},
		{"invited before:1970-01-01", 0},
	} {
		q, err := app.ParseQuery(c.query, cet)
		if err != nil {
			t.Fatal(err)
		}
		page, err := f.log.Search(context.Background(), q, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) != c.want {
			t.Errorf("%s (CET): %d entries, want %d", c.query, len(page.Events), c.want)
		}
	}
}

// gatedIndex is the real index, noting how many entries each write takes.
// After hold, the next write waits until release. With refuseAbove set, it
// refuses larger writes, as an index short of disk space does.
type gatedIndex struct {
	app.SearchIndex
	mu            sync.Mutex
	held, open    bool
	entered, gate chan struct{}
	refuseAbove   int
	sizes         []int
	attended      []bool // what each write was told of people waiting on the log
}

func (g *gatedIndex) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held, g.open = true, false
	g.entered, g.gate = make(chan struct{}), make(chan struct{})
}

func (g *gatedIndex) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil && !g.open {
		g.open = true
		close(g.gate)
	}
}

func (g *gatedIndex) Index(docs []app.IndexDoc, attended bool) error {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(docs))
	g.attended = append(g.attended, attended)
	held, entered, gate, refuse := g.held, g.entered, g.gate, g.refuseAbove
	g.held = false
	g.mu.Unlock()
	if held {
		close(entered)
		<-gate
	}
	if refuse > 0 && len(docs) > refuse {
		return fmt.Errorf("index: too little room on disk to index %d entries safely", len(docs))
	}
	return g.SearchIndex.Index(docs, attended)
}

// backlogs is a Log whose index can be held while a backlog builds up.
type backlogs struct {
	t     *testing.T
	log   *app.Log
	index *gatedIndex
	now   time.Time
	total int // entries recorded so far
}

func openBacklogs(t *testing.T) *backlogs {
	cfg := configIn(t, t.TempDir())
	open := cfg.OpenIndex
	b := &backlogs{t: t, index: &gatedIndex{}, now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	cfg.OpenIndex = func() (app.SearchIndex, error) {
		idx, err := open()
		b.index.SearchIndex = idx
		return b.index, err
	}
	cfg.Now = (&clock{now: b.now}).Now
	log, err := app.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.log = log
	// Released on the way out too, before Close waits for the indexer.
	t.Cleanup(func() { b.index.release(); log.Close() })
	return b
}

// drains records n entries reaching spread back, shuffled or in order,
// while the index holds the first 1000 at its gate, then lets it drain the
// rest. It returns the size of every drain since, once every entry is
// searchable.
func (b *backlogs) drains(n int, spread time.Duration, shuffled bool) []int {
	t := b.t
	t.Helper()
	ctx := context.Background()
	events := make([]app.Event, n)
	for i := range events {
		events[i] = ev(app.DataPipelines, "pipeline_run_finished", fmt.Sprintf("Pipeline orders finished run %d", b.total+i), "Maya",
			spread-time.Duration(i)*(spread/time.Duration(n)), b.now)
	}
	if shuffled {
		rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { events[i], events[j] = events[j], events[i] })
	}
	b.index.hold()
	b.index.mu.Lock()
	entered, before := b.index.entered, len(b.index.sizes)
	b.index.mu.Unlock()
	if _, err := b.log.Record(ctx, events[:1000]); err != nil {
		t.Fatal(err)
	}
	select { // the first drain holds the first 1000; the rest waits in the outbox
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("the indexer never took the first entries")
	}
	for from := 1000; from < n; from += 1000 {
		if _, err := b.log.Record(ctx, events[from:from+1000]); err != nil {
			t.Fatal(err)
		}
	}
	b.index.release()
	if err := b.log.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	b.total += n
	q, err := app.ParseQuery("orders", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	tally, err := b.log.Tally(ctx, q)
	total := 0
	for _, k := range tally {
		total += k
	}
	if err != nil || total != b.total {
		t.Errorf("a search for every entry counts %d, %v; want %d", total, err, b.total)
	}
	b.index.mu.Lock()
	defer b.index.mu.Unlock()
	return slices.Clone(b.index.sizes[before:])
}

// A backlog spread over a month of day shards, in order or not, made each
// day's part of a usual drain a small segment that Bleve then merged again
// and again; such a drain takes more entries at once. Entries all on one
// day keep the usual drains.
func TestAScatteredBacklogIsIndexedInLargerDrains(t *testing.T) {
	for _, c := range []struct {
		name     string
		spread   time.Duration // how far back the events go
		shuffled bool
		want     int // entries the drain after the first takes
	}{
		{"out of order over 29 days", 29 * 24 * time.Hour, true, 23000},
		{"in order over 29 days", 29 * 24 * time.Hour, false, 23000},
		{"in order within a day", 11 * time.Hour, false, 10000},
	} {
		t.Run(c.name, func(t *testing.T) {
			if sizes := openBacklogs(t).drains(24000, c.spread, c.shuffled); len(sizes) < 2 || sizes[1] != c.want {
				t.Errorf("drains of %v entries; want the second to take %d", sizes, c.want)
			}
		})
	}
}

// A larger drain asks the index for more room on its disk, and the index
// refuses a drain it has not the room for. The backlog must still be
// indexed, at the usual size, rather than wait for room it may never get
// (here the backlog ends exactly at the end of a usual drain); once it is,
// the next backlog tries a larger drain again: room may have been made
// meanwhile.
func TestALargerDrainTheIndexRefusesIsTakenAtTheUsualSize(t *testing.T) {
	b := openBacklogs(t)
	b.index.mu.Lock()
	b.index.refuseAbove = 10000
	b.index.mu.Unlock()
	if sizes, want := b.drains(21000, 29*24*time.Hour, true), []int{1000, 20000, 10000, 10000}; !slices.Equal(sizes, want) {
		t.Errorf("drains of %v entries; want %v", sizes, want)
	}
	b.index.mu.Lock()
	b.index.refuseAbove = 0
	b.index.mu.Unlock()
	if sizes, want := b.drains(24000, 29*24*time.Hour, true), []int{1000, 23000}; !slices.Equal(sizes, want) {
		t.Errorf("once room was made, drains of %v entries; want %v", sizes, want)
	}
}

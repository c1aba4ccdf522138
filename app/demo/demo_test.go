package demo

import (
	"auditlog/app"

	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var demoNow = time.Date(2026, 3, 12, 15, 4, 5, 0, time.UTC)

// demoCases are the moments and seeds the properties must hold for: a
// weekday afternoon, just after midnight in a workspace far from UTC, and a
// Monday morning.
var demoCases = []struct {
	name string
	now  time.Time
	seed int64
}{
	{"weekday afternoon", demoNow, 1},
	{"after midnight in Tokyo", time.Date(2026, 1, 1, 0, 0, 30, 0, time.FixedZone("JST", 9*3600)), 7},
	{"Monday morning", time.Date(2025, 11, 3, 6, 0, 0, 0, time.UTC), -42},
}

func TestDemoEventsAreTheSameForTheSameSeedAndNow(t *testing.T) {
	a, b := Events(demoNow, 1), Events(demoNow, 1)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls with the same seed and now differ")
	}
	if reflect.DeepEqual(a, Events(demoNow, 2)) {
		t.Fatal("a different seed gives the same events")
	}
}

func TestDemoEventsNumberSeveralThousand(t *testing.T) {
	for _, c := range demoCases {
		if n := len(Events(c.now, c.seed)); n < 4000 || n > 6000 {
			t.Errorf("%s: %d events, want 4000–6000", c.name, n)
		}
	}
}

func TestDemoEventsCoverEveryNamespace(t *testing.T) {
	for _, c := range demoCases {
		seen := map[app.Namespace]int{}
		for _, e := range Events(c.now, c.seed) {
			seen[e.Namespace]++
		}
		for _, n := range app.Namespaces {
			if seen[n] == 0 {
				t.Errorf("%s: no events in %s", c.name, n)
			}
		}
	}
}

func TestDemoEventsAreSortedAndInsideTheRetentionWindow(t *testing.T) {
	for _, c := range demoCases {
		evs := Events(c.now, c.seed)
		oldest := c.now.Add(-29*24*time.Hour - 12*time.Hour)
		for i, e := range evs {
			if e.Timestamp.After(c.now) {
				t.Fatalf("%s: event %d is in the future: %v", c.name, i, e.Timestamp)
			}
			if e.Timestamp.Before(oldest) {
				t.Fatalf("%s: event %d is older than 29.5 days: %v", c.name, i, e.Timestamp)
			}
			if e.Timestamp.Location() != time.UTC {
				t.Fatalf("%s: event %d is not in UTC", c.name, i)
			}
			if i > 0 && e.Timestamp.Before(evs[i-1].Timestamp) {
				t.Fatalf("%s: event %d is older than event %d", c.name, i, i-1)
			}
		}
		if span := evs[len(evs)-1].Timestamp.Sub(evs[0].Timestamp); span < 28*24*time.Hour {
			t.Errorf("%s: events span only %v", c.name, span)
		}
	}
}

func TestDemoEventsPassValidationUnchanged(t *testing.T) {
	for _, c := range demoCases {
		for i, e := range Events(c.now, c.seed) {
			before := e
			if errs := (&e).Normalize(i, c.now, 30*24*time.Hour); len(errs) > 0 {
				t.Fatalf("%s: event %d (%s %q) breaks rules: %+v", c.name, i, e.Action, e.Detail, errs)
			}
			if e.Actor != before.Actor || e.Namespace != before.Namespace || !e.Timestamp.Equal(before.Timestamp) {
				t.Fatalf("%s: Normalize changed event %d: %+v", c.name, i, e)
			}
			if e.ID != "" {
				t.Fatalf("%s: event %d has an ID; the store assigns them", c.name, i)
			}
		}
	}
}

func TestDemoEventsAreNotDominatedByPipelineRuns(t *testing.T) {
	for _, c := range demoCases {
		evs := Events(c.now, c.seed)
		runs := 0
		for _, e := range evs {
			if e.Action == "pipeline_executed" {
				runs++
			}
		}
		if share := float64(runs) / float64(len(evs)); runs == 0 || share >= 0.5 {
			t.Errorf("%s: %d of %d events are pipeline runs", c.name, runs, len(evs))
		}
	}
}

func TestDemoEventsAreBusierOnWeekdays(t *testing.T) {
	var weekday, weekend, weekdays, weekends float64
	days := map[string]bool{}
	for _, e := range Events(demoNow, 1) {
		if strings.HasPrefix(e.Actor, "svc-") || e.IsAnonymous() {
			continue
		}
		d := e.Timestamp.Format(time.DateOnly)
		sat := e.Timestamp.Weekday() == time.Saturday || e.Timestamp.Weekday() == time.Sunday
		if !days[d] {
			days[d] = true
			if sat {
				weekends++
			} else {
				weekdays++
			}
		}
		if sat {
			weekend++
		} else {
			weekday++
		}
	}
	if weekend/max(weekends, 1)*3 > weekday/max(weekdays, 1) {
		t.Errorf("members act %.0f times a weekday and %.0f times a weekend day", weekday/weekdays, weekend/max(weekends, 1))
	}
}

func TestDemoEventsUseRealisticActors(t *testing.T) {
	actors := map[string]int{}
	for _, e := range Events(demoNow, 1) {
		actors[e.Actor]++
		if e.Action == "pipeline_executed" && e.Metadata["trigger"] != "manual" && e.Actor != "svc-airflow" {
			t.Fatalf("a scheduled run is attributed to %q", e.Actor)
		}
	}
	members := 0
	for a := range actors {
		if !strings.HasPrefix(a, "svc-") && a != app.Anonymous {
			members++
		}
	}
	if members < 8 || members > 12 {
		t.Errorf("%d members act, want 8–12", members)
	}
	if actors["Maya Chen"] < 3*actors["Lukas Brandt"] {
		t.Errorf("activity is not skewed: Maya Chen %d, Lukas Brandt %d", actors["Maya Chen"], actors["Lukas Brandt"])
	}
}

// demoFind returns the events in namespace ns with the action that touch a target named name.
func demoFind(evs []app.Event, ns app.Namespace, action, name string) []app.Event {
	var out []app.Event
	for _, e := range evs {
		if e.Namespace != ns || (action != "" && e.Action != action) {
			continue
		}
		if slices.ContainsFunc(e.Targets, func(t app.Target) bool { return t.Name == name }) {
			out = append(out, e)
		}
	}
	return out
}

func demoDaysAgo(now, t time.Time) float64 { return now.Sub(t).Hours() / 24 }

func TestDemoEventsTellWhoCreatedAndRevokedTheCIDeployToken(t *testing.T) {
	for _, c := range demoCases {
		evs := demoFind(Events(c.now, c.seed), app.APITokens, "", StoryToken)
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
			if !strings.Contains(e.Detail, `"`+StoryToken+`"`) {
				t.Errorf("%s: detail does not name the token: %q", c.name, e.Detail)
			}
		}
		want := []string{"token_created", "token_regenerated", "token_revoked"}
		if !slices.Equal(actions, want) {
			t.Fatalf("%s: ci-deploy actions %v, want %v", c.name, actions, want)
		}
		created, revoked := evs[0], evs[2]
		if d := demoDaysAgo(c.now, created.Timestamp); d < 19 || d > 23 {
			t.Errorf("%s: token created %.1f days ago, want about 3 weeks", c.name, d)
		}
		if d := demoDaysAgo(c.now, revoked.Timestamp); d < 1 || d > 3 {
			t.Errorf("%s: token revoked %.1f days ago, want about 2", c.name, d)
		}
		if created.Actor == revoked.Actor || created.IsAnonymous() || revoked.IsAnonymous() {
			t.Errorf("%s: created by %q, revoked by %q: want two different members", c.name, created.Actor, revoked.Actor)
		}
	}
}

func TestDemoEventsTellWhoAddedTheSnowflakeConnection(t *testing.T) {
	for _, c := range demoCases {
		all := Events(c.now, c.seed)
		evs := demoFind(all, app.Connections, "connection_created", StoryConnection)
		if len(evs) != 1 {
			t.Fatalf("%s: %d connection_created events for %q", c.name, len(evs), StoryConnection)
		}
		if e := evs[0]; e.Actor != "Tomás Ortega" || !strings.Contains(e.Detail, `"Snowflake Warehouse"`) {
			t.Errorf("%s: %+v", c.name, e)
		}
		created := 0
		for _, e := range all {
			if e.Action == "connection_created" {
				created++
			}
		}
		if created < 3 {
			t.Errorf("%s: only %d connections created", c.name, created)
		}
	}
}

func TestDemoEventsTellWhoInvitedThePartnerToCustomer360(t *testing.T) {
	for _, c := range demoCases {
		evs := demoFind(Events(c.now, c.seed), app.DataProducts, "", StoryPartner)
		var actions []string
		for _, e := range evs {
			actions = append(actions, e.Action)
			if !slices.ContainsFunc(e.Targets, func(t app.Target) bool { return t.Name == StoryDataProduct }) ||
				!strings.Contains(e.Detail, StoryPartner) || !strings.Contains(e.Detail, `"Customer 360"`) {
				t.Errorf("%s: event does not name the partner and the data product: %+v", c.name, e)
			}
		}
		if want := []string{"data_product_invite_sent", "data_product_invite_accepted"}; !slices.Equal(actions, want) {
			t.Fatalf("%s: partner actions %v, want %v", c.name, actions, want)
		}
		if evs[0].Actor != "Maya Chen" || evs[1].Actor != app.Anonymous {
			t.Errorf("%s: invited by %q, accepted by %q", c.name, evs[0].Actor, evs[1].Actor)
		}
		if !evs[0].Timestamp.Before(evs[1].Timestamp) {
			t.Errorf("%s: the invite was accepted before it was sent", c.name)
		}
	}
}

func TestDemoEventsTellWhichPipelinesChangedThisWeek(t *testing.T) {
	for _, c := range demoCases {
		all := Events(c.now, c.seed)
		week := c.now.Add(-7 * 24 * time.Hour)
		for _, name := range StoryPipelines {
			made := demoFind(all, app.DataPipelines, "pipeline_created", name)
			if len(made) != 1 || made[0].Timestamp.Before(week) || strings.HasPrefix(made[0].Actor, "svc-") {
				t.Errorf("%s: %q: want one pipeline_created by a member within 7 days, got %+v", c.name, name, made)
				continue
			}
			for _, e := range demoFind(all, app.DataPipelines, "", name) {
				if e.Timestamp.Before(made[0].Timestamp) {
					t.Errorf("%s: %q has %s before it was created", c.name, name, e.Action)
				}
			}
		}
		modified := map[string]bool{}
		for _, e := range all {
			if e.Action == "pipeline_modified" && !e.Timestamp.Before(week) && !strings.HasPrefix(e.Actor, "svc-") {
				modified[e.Targets[0].Name] = true
			}
		}
		if len(modified) < 3 || !modified["daily_revenue_rollup"] {
			t.Errorf("%s: pipelines modified by members this week: %v", c.name, modified)
		}
	}
}

func TestDemoEventsShowAnonymousOnlyForExternalParties(t *testing.T) {
	external := []string{"data_product_invite_accepted", "connection_invite_consumed"}
	for _, c := range demoCases {
		n := 0
		for _, e := range Events(c.now, c.seed) {
			if e.IsAnonymous() != slices.Contains(external, e.Action) {
				t.Errorf("%s: %s by %q", c.name, e.Action, e.Actor)
			}
			if e.IsAnonymous() {
				n++
			}
		}
		if n < 2 {
			t.Errorf("%s: %d anonymous events", c.name, n)
		}
	}
}

func BenchmarkDemoEvents(b *testing.B) {
	for b.Loop() {
		Events(demoNow, 1)
	}
}

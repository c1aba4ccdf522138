package app_test

import (
	"slices"
	"testing"
	"time"

	"auditlog/app"
)

// The keyword index answers actor:, excluded qualifiers and OR; the store
// walk applies MatchStructured. Both must find the same entries through the Log.
func TestQualifiersExclusionsAndORFindTheSameEntriesInTheIndexAndTheStore(t *testing.T) {
	f := openFixture(t)
	now := f.clock.Now()
	f.record(
		ev(app.Users, "user_invited", "Invited Ana to Finance", "Maya Chen", 5*time.Hour, now),
		ev(app.APITokens, "token_created", "Created API token ci-deploy", "Lukas Brandt", 4*time.Hour, now),
		ev(app.DataPipelines, "pipeline_created", "Created pipeline orders_daily", "maya.chen@acme.io", 3*time.Hour, now),
		ev(app.Spaces, "space_created", "Created space Legal", "Omaya Reyes", 2*time.Hour, now),
		ev(app.APITokens, "token_revoked", "Revoked API token ci-deploy", "", time.Hour, now),
	)
	f.waitIndexed()
	// Every entry, walked from the store (no words: the index is not asked).
	var everything []app.Event
	for _, id := range f.all("", 50) {
		e, err := f.log.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		everything = append(everything, e)
	}
	for _, tt := range []struct {
		query string
		want  []string // actors, newest first
	}{
		{"actor:maya", []string{"maya.chen@acme.io", "Maya Chen"}},
		{"user:chen", []string{"maya.chen@acme.io", "Maya Chen"}},
		{"actor:ma", []string{"maya.chen@acme.io", "Maya Chen"}},
		{`actor:"maya chen"`, []string{"Maya Chen"}},
		{"actor:anonymous", []string{"Anonymous"}},
		{"actor:aya", nil},
		{"finance OR legal ", []string{"Omaya Reyes", "Maya Chen"}},
		{"token OR pipeline created ", []string{"maya.chen@acme.io", "Lukas Brandt"}},
		// A qualifier written with '-' leaves out what it matches.
		{"-actor:maya", []string{"Anonymous", "Omaya Reyes", "Lukas Brandt"}},
		{"created -actor:maya ", []string{"Omaya Reyes", "Lukas Brandt"}},
		{`actor:ma -actor:"maya chen"`, []string{"maya.chen@acme.io"}},
		{"-namespace:api_tokens", []string{"Omaya Reyes", "maya.chen@acme.io", "Maya Chen"}},
		{"-namespace:api_tokens -ns:users", []string{"Omaya Reyes", "maya.chen@acme.io"}},
		{"namespace:api_tokens -namespace:api_tokens", nil},
		{"-action:token_*", []string{"Omaya Reyes", "maya.chen@acme.io", "Maya Chen"}},
		{"-action:token_revoked -user:lukas", []string{"Omaya Reyes", "maya.chen@acme.io", "Maya Chen"}},
	} {
		t.Run(tt.query, func(t *testing.T) {
			var got []string
			for _, id := range f.all(tt.query, 2) {
				e, err := f.log.Get(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e.Actor)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("the index found %q, want %q", got, tt.want)
			}
			q, _ := app.ParseQuery(tt.query, time.UTC)
			if len(q.Terms)+len(q.AnyOf) > 0 {
				return // words are the index's alone
			}
			var walked []string
			for i := range everything {
				if q.MatchStructured(&everything[i]) {
					walked = append(walked, everything[i].Actor)
				}
			}
			if !slices.Equal(walked, tt.want) {
				t.Fatalf("the store walk finds %q, the index %q", walked, got)
			}
		})
	}
}

func TestExcludedQualifiersReadBackAndTimeCannotBeExcluded(t *testing.T) {
	for in, want := range map[string]string{
		"-actor:maya -namespace:users -action:token_*": "-namespace:users -action:token_* -actor:maya",
		"namespace:users namespace:spaces -ns:spaces":  "namespace:users",
	} {
		q, err := app.ParseQuery(in, time.UTC)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := q.String(); got != want {
			t.Errorf("%s reads back as %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"-after:2026-01-01", "-before:2026-01-01", "-action:*", "-namespace:nope", "-actor:"} {
		if _, err := app.ParseQuery(in, time.UTC); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("%s: got %v, want an invalid query", in, err)
		}
	}
}

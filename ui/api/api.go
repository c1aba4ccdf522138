// Package api holds the shapes the Audit Log's HTTP API sends and receives,
// in one place: the server encodes them and the Go client decodes them, so a
// renamed JSON field breaks the build instead of a client at run time.
//
// Events, tokens and errors travel as the domain types themselves
// (app.Event, app.Token, app.Error); this package names the envelopes around them.
package api

import (
	"time"

	"auditlog/app"
)

// EventPage answers GET /api/v1/events: the newest entries first, and the
// cursor of the next page (empty on the last).
type EventPage = app.Page

// PostEventsResponse answers POST /api/v1/events once the batch is on disk.
type PostEventsResponse struct {
	Accepted int      `json:"accepted"`
	IDs      []string `json:"ids"`
	// AlreadyStored lists, once each, the ids among IDs that were stored
	// before this request: they were answered with the entry stored then,
	// not recorded again. Empty when this request stored every event.
	AlreadyStored []string `json:"already_stored"`
	// Conflicting lists, once each, the ids among AlreadyStored whose
	// entry says otherwise than the event sent now (app.SameEvent): no
	// retry, but another event under an id in use, which was not recorded.
	Conflicting []string `json:"conflicting"`
}

// ErrorBody is every failed request's answer.
type ErrorBody struct {
	Error *app.Error `json:"error"`
}

// Workspace answers GET and PATCH /api/v1/workspace: what a client needs to
// show entries as the page does.
type Workspace struct {
	Name     string `json:"name"`
	Timezone string `json:"timezone"` // IANA name, or "system" for the server computer's zone
	// The server computer's zone when Timezone is "system", by its IANA name
	// (empty when the server cannot name it), for clients elsewhere, or with
	// another TZ, to show times as the page does.
	SystemTimezone string `json:"system_timezone,omitempty"`
	// How long entries are kept: whole days (rounded down), the exact
	// hours, and as people say it ("30 days", "36 hours").
	RetentionDays  int    `json:"retention_days"`
	RetentionHours int    `json:"retention_hours"`
	Retention      string `json:"retention"`
	// Plan: free, pro or enterprise. Reading the Audit Log needs pro or above.
	Plan string `json:"plan"`
}

// WorkspaceUpdate is the body of PATCH /api/v1/workspace; a nil field is left as it is.
type WorkspaceUpdate struct {
	Name     *string `json:"name"`
	Timezone *string `json:"timezone"` // IANA name in any case; "system" (or "") for the server computer's zone
	// RetentionDays or RetentionHours: a shorter retention purges older
	// entries at once, for good. Both may be sent, as GET answers them, if
	// they agree (the days are the hours' whole days, rounded down). Days
	// equal to those GET says leave a retention in hours as it is: a
	// workspace read and written back keeps its 36 hours.
	RetentionDays  *int    `json:"retention_days"`
	RetentionHours *int    `json:"retention_hours"`
	Plan           *string `json:"plan"` // free, pro or enterprise
	// What GET answers and nothing sets, taken so that its answer can be
	// sent back whole: each must then say what GET says.
	SystemTimezone *string `json:"system_timezone"`
	Retention      *string `json:"retention"`
}

// TokenRequest is the body of POST /api/v1/tokens. Scopes is a list such as
// ["ingest","read"]; the server also reads a comma-separated string.
type TokenRequest struct {
	Label     string      `json:"label"`
	Scopes    []app.Scope `json:"scopes"`
	ExpiresAt *time.Time  `json:"expires_at,omitempty"` // RFC 3339; none: never
	Owner     string      `json:"owner,omitempty"`      // a service user's id
}

// CreatedToken answers POST /api/v1/tokens: the secret is in this answer and
// nowhere else; only its hash is kept.
type CreatedToken struct {
	Token  app.Token `json:"token"`
	Secret string    `json:"secret"`
}

// TokenList answers GET /api/v1/tokens.
type TokenList struct {
	Tokens []app.Token `json:"tokens"`
}

// RegeneratedToken answers POST /api/v1/tokens/{id}/regenerate: the new
// secret, shown once; the old one no longer works.
type RegeneratedToken = CreatedToken

// RevokedToken answers DELETE /api/v1/tokens/{id}.
type RevokedToken struct {
	Token app.Token `json:"token"`
}

// Health answers GET /healthz. Index is set while the keyword index is
// rebuilt; Integrity once the chain has been verified since start.
type Health struct {
	Status string       `json:"status"`          // "ok", "unavailable", or "broken" when the chain is
	Error  string       `json:"error,omitempty"` // what is wrong, when unavailable
	Index  *IndexStatus `json:"index,omitempty"`
	// IndexBehind says, while indexing keeps failing, why: new entries are
	// stored and listed, but not yet found by words.
	IndexBehind string `json:"index_behind,omitempty"`
	// IndexRepairs are the days of the index rebuilt from the store since the
	// start (damaged, deleted, or holding another count than the store).
	IndexRepairs []IndexRepair     `json:"index_repairs,omitempty"`
	Integrity    *app.Verification `json:"integrity,omitempty"`
	// Cluster is this node's view of the cluster, when it runs as one.
	Cluster *app.ClusterStatus `json:"cluster,omitempty"`
}

// Integrity answers GET /api/v1/integrity: a verification of the chain made
// for the request, the key its checkpoints are signed with, and the newest
// checkpoint (absent before the first).
type Integrity struct {
	Verification app.Verification `json:"verification"`
	PublicKey    string           `json:"public_key,omitempty"`
	Checkpoint   *app.Checkpoint  `json:"checkpoint,omitempty"`
}

// IndexRepair is one day of the keyword index rebuilt from the store: while
// Done is false, keyword search may miss entries of that day.
type IndexRepair struct {
	Day    string    `json:"day"` // the UTC day, YYYY-MM-DD
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Done   bool      `json:"done"`
}

// IndexStatus says how far a rebuild of the keyword index has come.
type IndexStatus struct {
	RebuildingDone  int `json:"rebuilding_done"`
	RebuildingTotal int `json:"rebuilding_total"`
}

// EntriesTrailer is the HTTP trailer that ends a whole export
// (GET /api/v1/export) with how many entries it holds: a client saving the
// file learns the count once it has every byte. An export the server could
// not finish has no trailer: its connection is cut.
const EntriesTrailer = "Audit-Log-Entries"

// ExpectedHeader goes with the first byte of an export: how many entries
// matched when it began, for a client to show its progress. The file may
// hold a few more, recorded while it began.
const ExpectedHeader = "Audit-Log-Expected"

package ui_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"auditlog/app"
	"auditlog/ui"
	"auditlog/ui/api"
)

func TestThePageSaysWhenTheChainWasVerifiedAndWithWhichKey(t *testing.T) {
	f := newPageFixture(t)
	f.record(app.Event{Namespace: app.Users, Action: "user_invited", Detail: "Invited Bo", Actor: "Maya Chen"})
	if _, err := f.log.VerifyNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := f.get(ui.PagePath, nil)
	key := html.EscapeString(app.EncodePublicKey(f.log.PublicKey()))
	key = strings.ReplaceAll(key, "+", "&#43;") // as html/template writes it
	if !strings.Contains(r.body, "Integrity verified just now") || !strings.Contains(r.body, key) || strings.Contains(r.body, `role="alert"`) {
		t.Fatalf("no Integrity line with the key %s in:\n%.2000s", key, r.body)
	}
}

func TestIntegrityAnswersWhatAVerificationFound(t *testing.T) {
	f := newAPIFixture(t)
	f.post(`{"namespace":"users","action":"user_invited","detail":"Invited Bo","actor":"Maya"}`)
	r := f.do("GET", "/api/v1/integrity", f.read, "", nil)
	var got api.Integrity
	if r.status != http.StatusOK || json.Unmarshal(r.body, &got) != nil || !got.Verification.Intact() || got.Verification.Entries == 0 || !strings.HasPrefix(got.PublicKey, "ed25519:") {
		t.Fatalf("GET /api/v1/integrity = %d %s", r.status, r.body)
	}
	h := f.do("GET", "/healthz", "", "", nil)
	if h.status != http.StatusOK || !strings.Contains(string(h.body), `"integrity"`) {
		t.Fatalf("healthz after a verification = %d %s", h.status, h.body)
	}
}

func TestAnEmptyLogsIntegrityLineShowsNoZeroHead(t *testing.T) {
	log, s, ts := serveTempLog(t)
	if _, err := log.VerifyNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	res, err := client.Get(s.LaunchURL(ts.URL)) // follows to the page, with the session
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "Integrity verified just now — nothing recorded yet") || strings.Contains(string(body), "000000000000") {
		t.Fatalf("the empty log's Integrity line:\n%.3000s", body)
	}

	// Once something is recorded, the line no longer says nothing is, though
	// the verification it reports came before.
	if _, err := log.Record(context.Background(), []app.Event{{Namespace: app.Users, Action: "user_invited", Detail: "Invited Maya", Actor: "Lukas"}}); err != nil {
		t.Fatal(err)
	}
	res, err = client.Get(ts.URL + ui.PagePath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(body), "nothing recorded yet") || !strings.Contains(string(body), "Integrity verified just now, before anything was recorded") {
		t.Fatalf("the Integrity line after the first entry:\n%.3000s", body)
	}
}

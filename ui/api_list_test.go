package ui_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"auditlog/app"
)

// The list is written without encoding/json; what it writes must not change.
func TestTheListIsTheJSONEncodingOfThePage(t *testing.T) {
	f := newAPIFixture(t)
	hostile := `{"namespace":"api_tokens","action":"token_revoked","detail":"<b>Revoked</b> \"ci-deploy\" & more ☃","actor":"Lukas Brandt","targets":[{"type":"api_token","name":"ci-deploy"}],"metadata":{"z":"1","a":"<2>"}}`
	if r := f.post("[" + hostile + "," + goodEvent + "]"); r.status != 201 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	f.waitIndexed()
	for _, q := range []string{"limit=1", "q=revoked", "namespace=api_tokens&limit=50"} {
		r, _ := f.list(q)
		if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", q, r.status, r.header.Get("Content-Type"))
		}
		var page app.Page
		r.json(t, &page)
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(page); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.body, want.Bytes()) {
			t.Errorf("%s: the list wrote\n%s\nencoding/json writes\n%s", q, r.body, want.Bytes())
		}
	}
	if r, _ := f.list("limit=1&pretty"); !strings.Contains(string(r.body), "\n  \"events\": [") {
		t.Errorf("?pretty is not indented: %s", r.body)
	}
}

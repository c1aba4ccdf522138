package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"auditlog/app"
)

// hostile is one bad request: it must get a 4xx whose message (or one of
// whose field errors) names names, and change nothing.
type hostile struct {
	name        string
	method      string
	path        string
	auth        string // "ingest", "read", "admin", "none" or a literal Authorization header
	contentType string
	body        string
	names       string // the field, parameter or header the answer must name
}

// A valid event's fields, each overridable by a hostile value.
var validFields = map[string]string{
	"namespace": `"users"`,
	"action":    `"user_invited"`,
	"detail":    `"Invited a user"`,
	"actor":     `"Maya Chen"`,
}

// eventWith is a valid event with field set to the raw JSON value v.
func eventWith(field, v string) string {
	parts := []string{}
	for _, k := range []string{"namespace", "action", "detail", "actor"} {
		if k != field {
			parts = append(parts, fmt.Sprintf("%q:%s", k, validFields[k]))
		}
	}
	return "{" + strings.Join(append(parts, fmt.Sprintf("%q:%s", field, v)), ",") + "}"
}

// catalogue lists the hostile requests: bodies, fields, queries, cursors,
// ids and headers. It is kept as a table so each probe stays in the suite.
func catalogue() []hostile {
	var cs []hostile
	post := func(name, body, names string) {
		cs = append(cs, hostile{name: name, method: "POST", path: "/api/v1/events", auth: "ingest", contentType: "application/json", body: body, names: names})
	}
	ndjson := func(name, body, names string) {
		cs = append(cs, hostile{name: name, method: "POST", path: "/api/v1/events", auth: "ingest", contentType: "application/x-ndjson", body: body, names: names})
	}
	ok := eventWith("id", `"evt-1"`)

	// Invisible direction and spacing characters in every text field.
	invisible := []string{`\u202a`, `\u202b`, `\u202c`, `\u202d`, `\u202e`, `\u2066`, `\u2067`, `\u2068`, `\u2069`, `\u200b`, `\u200c`, `\u200d`, `\u200e`, `\u200f`, `\u2028`, `\u2029`, `\ufeff`}
	for _, r := range invisible {
		post("invisible "+r+" in actor", eventWith("actor", `"Mallory `+r+`nimdA"`), "actor")
		post("invisible "+r+" in detail", eventWith("detail", `"Deleted `+r+`space"`), "detail")
		post("invisible "+r+" in id", eventWith("id", `"evt`+r+`1"`), "id")
		post("invisible "+r+" in a target name", eventWith("targets", `[{"type":"space","name":"Fin`+r+`ance"}]`), "targets[0].name")
	}
	// Control characters, half surrogate pairs and bad UTF-8.
	for _, v := range []string{`\u0000`, `\u0007`, `\u001b[31m`, `\u007f`, `\u0085`, `\r`, `\n`} {
		post("control "+v+" in actor", eventWith("actor", `"a`+v+`b"`), "actor")
		post("control "+v+" in id", eventWith("id", `"a`+v+`b"`), "id")
		post("control "+v+" in a target id", eventWith("targets", `[{"id":"a`+v+`b"}]`), "targets[0].id")
	}
	for _, v := range []string{`\ud800`, `\udbff`, `\udc00`, `\udfff`, `\ud800\u0041`, `\ud83d\ud83d`} {
		post("lone surrogate "+v+" in detail", eventWith("detail", `"a`+v+`b"`), "detail")
		post("lone surrogate "+v+" in actor", eventWith("actor", `"a`+v+`b"`), "actor")
	}
	post("invalid UTF-8 in detail", eventWith("detail", "\"a\xffb\""), "UTF-8")
	post("overlong UTF-8 in actor", eventWith("actor", "\"\xc0\xaf\""), "UTF-8")
	// Wrong types, every field.
	for _, field := range []string{"id", "namespace", "action", "detail", "actor", "ip", "timestamp"} {
		for _, v := range []string{`5`, `true`, `{}`, `["x"]`} {
			post(field+" as "+v, eventWith(field, v), field)
		}
	}
	for _, v := range []string{`"yes"`, `1`, `{}`} {
		post("anonymous as "+v, eventWith("anonymous", v), "anonymous")
	}
	// Values that break the rules.
	for _, v := range []string{`""`, `"widgets"`, `"users\u202e"`, `"Users; DROP"`, `"../users"`} {
		post("namespace "+v, eventWith("namespace", v), "namespace")
	}
	for _, v := range []string{`""`, `"X"`, `"a"`, `"user invited"`, `"1user"`, `"user-invited"`, `"` + strings.Repeat("a", 65) + `"`, `"<script>"`} {
		post("action "+v, eventWith("action", v), "action")
	}
	for _, v := range []string{`""`, `"   "`, `"` + strings.Repeat("x", 4097) + `"`} {
		post("detail "+v[:min(len(v), 10)], eventWith("detail", v), "detail")
	}
	post("actor too long", eventWith("actor", `"`+strings.Repeat("m", 257)+`"`), "actor")
	post("id too long", eventWith("id", `"`+strings.Repeat("i", 129)+`"`), "id")
	for _, v := range []string{`"yesterday"`, `"2026-11-25"`, `"2026-13-01T00:00:00Z"`, `"0001-01-01T00:00:00Z"`, `"2999-01-01T00:00:00Z"`, `"1999-01-01T00:00:00Z"`, `"2026-11-25T10:00:00"`} {
		post("timestamp "+v, eventWith("timestamp", v), "timestamp")
	}
	for _, v := range []string{`"256.1.1.1"`, `"localhost"`, `"1.2.3"`, `"::g"`, `"10.0.0.1/8"`} {
		post("ip "+v, eventWith("ip", v), "ip")
	}
	for _, v := range []string{`{}`, `"x"`, `[1]`, `[{}]`, `[{"type":5}]`, `[{"name":null,"id":[]}]`} {
		post("targets "+v, eventWith("targets", v), "targets")
	}
	post("too many targets", eventWith("targets", "["+strings.Repeat(`{"id":"t"},`, 50)+`{"id":"t"}]`), "targets")
	for _, v := range []string{`[]`, `"x"`, `{"a":null}`, `{"a":1}`, `{"a":{"b":"c"}}`, `{"a":["b"]}`, `{"":"x"}`, `{"a":"` + strings.Repeat("v", 1025) + `"}`, `{"k\u202e":"v"}`, `{"k":"v\u2066"}`} {
		post("metadata "+v[:min(len(v), 20)], eventWith("metadata", v), "metadata")
	}
	post("received_at from a client", eventWith("received_at", `"2026-11-25T10:00:00Z"`), "received_at")
	post("received_at as a number", eventWith("received_at", `5`), "received_at")
	post("an unknown field", eventWith("colour", `"red"`), "colour")
	post("a field in another case", eventWith("Detail", `"x"`), "Detail")
	post("anonymous with an actor", eventWith("anonymous", `true`), "anonymous")

	// Whole bodies.
	for _, b := range []struct{ name, body string }{
		{"trailing ]]]garbage", "[" + ok + "]]]]garbage{{{"},
		{"trailing }]not json", "[" + ok + "]}]not json"},
		{"trailing ]", "[" + ok + "]]"},
		{"trailing word", "[" + ok + "] x"},
		{"object then garbage", ok + "garbage"},
		{"object then }", ok + "}"},
		{"two objects", ok + ok},
		{"object then ]", ok + "]"},
		{"unclosed array", "[" + ok},
		{"unclosed object", `{"namespace":"users"`},
		{"empty", ""},
		{"whitespace", " \n\t "},
		{"null", "null"},
		{"a string", `"event"`},
		{"a number", "42"},
		{"true", "true"},
		{"an empty array", "[]"},
		{"an array of numbers", "[1,2,3]"},
		{"an array of arrays", "[[" + ok + "]]"},
		{"an array with null", "[" + ok + ",null]"},
		{"an array with a trailing comma", "[" + ok + ",]"},
		{"single quotes", `{'namespace':'users'}`},
		{"a comment", "/* hi */" + ok},
		{"NaN", `{"namespace":NaN}`},
		{"a BOM inside", "[" + ok + ",\ufeff" + ok + "]"}, // first, it is read past (TestTheBodyIsReadAsUTF8)
		{"XML", "<event/>"},
		{"form encoding", "namespace=users&action=x"},
		{"duplicate array of 1001", "[" + strings.Repeat(ok+",", 1000) + ok + "]"},
	} {
		post("body: "+b.name, b.body, "")
	}
	ndjson("ndjson garbage line", ok+"\nnot json\n", "")
	ndjson("ndjson trailing junk", ok+"\n"+ok+"garbage\n", "")
	ndjson("ndjson an array line", "["+ok+"]\n", "")
	ndjson("ndjson a number line", "5\n", "")
	ndjson("ndjson bad field", eventWith("actor", `"a\u202eb"`)+"\n", "actor")
	ndjson("ndjson empty", "\n\n", "")

	// Content types.
	for _, ct := range []string{"text/plain", "application/xml", "multipart/form-data", "application/json; charset", "application/x-www-form-urlencoded"} {
		cs = append(cs, hostile{name: "content type " + ct, method: "POST", path: "/api/v1/events", auth: "ingest", contentType: ct, body: ok, names: "Content-Type"})
	}
	// Credentials.
	for _, h := range []string{"Bearer", "Bearer ", "Bearer x", "Basic dXNlcjpwYXNz", "bearer " + strings.Repeat("a", 100), "Token abc", "Bearer \u202e"} {
		cs = append(cs, hostile{name: "authorization " + h[:min(len(h), 12)], method: "POST", path: "/api/v1/events", auth: h, contentType: "application/json", body: ok, names: "token"})
	}
	cs = append(cs, hostile{name: "no credentials", method: "POST", path: "/api/v1/events", auth: "none", contentType: "application/json", body: ok, names: "token"})
	cs = append(cs, hostile{name: "a read token ingests", method: "POST", path: "/api/v1/events", auth: "read", contentType: "application/json", body: ok, names: "ingest"})

	// Queries and cursors.
	get := func(name, query, names string) {
		cs = append(cs, hostile{name: name, method: "GET", path: "/api/v1/events?" + query, auth: "read", names: names})
	}
	for _, v := range []string{"abc", "-1", "0", "501", "1.5", "1e3", "99999999999999999999"} {
		get("limit "+v, "limit="+url.QueryEscape(v), "limit")
	}
	for _, v := range []string{"x", "!!!!", "AAAA", strings.Repeat("A", 100), "AAAAAAAAAAAAAAAAAAAAAA==", "%00", "AAAAAAAAAAAAAAAAAAAAAAA"} {
		get("cursor "+v[:min(len(v), 10)], "cursor="+url.QueryEscape(v), "cursor")
	}
	for _, v := range []string{"widgets", "users,widgets"} {
		get("namespace "+v, "namespace="+url.QueryEscape(v), "namespace")
	}
	for _, p := range []string{"after", "before"} {
		for _, v := range []string{"yesterday", "2026-13-01", "2026-11-25T25:00:00Z", "0"} {
			get(p+" "+v, p+"="+url.QueryEscape(v), p)
		}
	}

	// Ids.
	for _, id := range []string{"nope", "%00", "..%2F..%2Fetc", strings.Repeat("x", 300), "%E2%80%AE", "a%20b"} {
		cs = append(cs, hostile{name: "get id " + id[:min(len(id), 10)], method: "GET", path: "/api/v1/events/" + id, auth: "read", names: "id"})
	}

	// Tokens and workspace: one strict JSON object.
	token := func(name, body, names string) {
		cs = append(cs, hostile{name: "token " + name, method: "POST", path: "/api/v1/tokens", auth: "admin", contentType: "application/json", body: body, names: names})
	}
	token("then garbage", `{"label":"ci","scopes":["ingest"]}garbage`, "more after")
	token("then }", `{"label":"ci","scopes":["ingest"]}}`, "more after")
	token("two objects", `{"label":"ci","scopes":["ingest"]}{"label":"x"}`, "more after")
	token("an unknown field", `{"label":"ci","scopes":["ingest"],"admin":true}`, "admin")
	token("label as a number", `{"label":5,"scopes":["ingest"]}`, "label")
	token("half a surrogate", `{"label":"ci\ud800","scopes":["ingest"]}`, "surrogate")
	token("an array", `[{"label":"ci"}]`, "JSON object")
	token("empty", ``, "JSON object")
	token("bad scope", `{"label":"ci","scopes":["root"]}`, "scope")
	token("scopes as an object", `{"label":"ci","scopes":{"a":1}}`, "scopes")
	token("by an ingest token", `{"label":"ci","scopes":["ingest"]}`, "admin")
	cs[len(cs)-1].auth = "ingest"
	cs = append(cs, hostile{name: "revoke an unknown token", method: "DELETE", path: "/api/v1/tokens/tok_nope", auth: "admin", names: "tok_nope"})
	ws := func(name, body, names string) {
		cs = append(cs, hostile{name: "workspace " + name, method: "PATCH", path: "/api/v1/workspace", auth: "admin", contentType: "application/json", body: body, names: names})
	}
	ws("then garbage", `{"name":"Acme"}garbage`, "more after")
	ws("an unknown field", `{"name":"Acme","retention":1}`, "retention")
	ws("name as a number", `{"name":5}`, "name")
	ws("an unknown timezone", `{"timezone":"Mars/Olympus"}`, "timezone")
	ws("half a surrogate", `{"name":"\udc00"}`, "surrogate")
	return cs
}

func TestTheBadInputCatalogueGets4xxNamingTheFieldAndChangesNothing(t *testing.T) {
	f := newAPIFixture(t)
	if r := f.post(eventWith("id", `"evt-1"`)); r.status != 201 {
		t.Fatalf("a good event: %d %s", r.status, r.body)
	}
	ctx := context.Background()
	state := func() string {
		page, err := f.log.Search(ctx, app.Query{}, "", app.MaxLimit)
		if err != nil {
			t.Fatal(err)
		}
		toks, err := f.log.Tokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s := f.log.Settings()
		return fmt.Sprintf("%d entries, %d tokens, workspace %q in %s", len(page.Events), len(toks), s.Workspace, s.Location())
	}
	before := state()
	cases := catalogue()
	if len(cases) < 150 {
		t.Fatalf("the catalogue has %d cases; keep at least 150", len(cases))
	}
	t.Logf("%d hostile requests", len(cases))
	for _, c := range cases {
		var auth string
		switch c.auth {
		case "ingest":
			auth = "Bearer " + f.ingest
		case "read":
			auth = "Bearer " + f.read
		case "admin":
			auth = "Bearer " + f.admin
		case "none":
		default:
			auth = c.auth
		}
		req, err := http.NewRequest(c.method, f.srv.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var body struct{ Error app.Error }
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Errorf("%s: status %d, want a 4xx", c.name, res.StatusCode)
			continue
		}
		if err != nil || body.Error.Message == "" {
			t.Errorf("%s: %d without an error message (%v)", c.name, res.StatusCode, err)
			continue
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Logf("%s: slow answer, %s", c.name, took) // reported, not asserted: the machine may be busy
		}
		named := strings.Contains(strings.ToLower(body.Error.Message), strings.ToLower(c.names))
		for _, d := range body.Error.Details {
			named = named || strings.HasPrefix(d.Field, c.names) || strings.Contains(strings.ToLower(d.Message), strings.ToLower(c.names))
		}
		if !named {
			t.Errorf("%s: %d %q %+v does not name %q", c.name, res.StatusCode, body.Error.Message, body.Error.Details, c.names)
		}
	}
	if after := state(); after != before {
		t.Fatalf("the hostile requests changed the log: %s → %s", before, after)
	}
}

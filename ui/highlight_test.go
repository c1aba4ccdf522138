package ui

import (
	"strings"
	"testing"
	"time"

	"auditlog/app"
)

func TestHighlightMarksWhatTheQueryMatchedAndEscapesEverything(t *testing.T) {
	tests := []struct {
		name, text, query, want string
	}{
		{"no terms", `Created "a" <b>`, ``, `Created &#34;a&#34; &lt;b&gt;`},
		{"a whole word, any case", `Created connection "Snowflake"`, `snowflake `, `Created connection &#34;<mark>Snowflake</mark>&#34;`},
		{"the word being typed is a prefix", `Created connection "Snowflake"`, `snow`, `Created connection &#34;<mark>Snowflake</mark>&#34;`},
		{"a finished word is not", `Created connection "Snowflake"`, `snow `, `Created connection &#34;Snowflake&#34;`},
		{"a phrase", `Revoked API token "ci-deploy"`, `"api token"`, `Revoked <mark>API token</mark> &#34;ci-deploy&#34;`},
		{"a phrase needs its words together", `API access token`, `"api token"`, `API access token`},
		{"a hyphenated word", `Revoked API token "ci-deploy"`, `ci-deploy`, `Revoked API token &#34;<mark>ci-deploy</mark>&#34;`},
		{"excluded words are not marked", `pipeline run scheduled`, `pipeline -scheduled`, `<mark>pipeline</mark> run scheduled`},
		{"qualifiers are not words", `Invited maya to users`, `namespace:users maya`, `Invited <mark>maya</mark> to users`},
		{"a part of an identifier, as the index finds it", `Created pipeline daily_revenue_rollup`, `revenue `, `Created pipeline daily_<mark>revenue</mark>_rollup`},
		{"the start of an identifier being typed", `Created pipeline daily_revenue_rollup`, `dai`, `Created pipeline <mark>daily</mark>_revenue_rollup`},
		{"a whole identifier", `Created pipeline daily_revenue_rollup`, `daily_revenue_rollup `, `Created pipeline <mark>daily_revenue_rollup</mark>`},
		{"a part of a dotted or colon name", `Read orders.daily from urn:space:42`, `daily 42 `, `Read orders.<mark>daily</mark> from urn:space:<mark>42</mark>`},
		{"an apostrophe parts words", `Maya's token for O’Connor`, `maya o'connor`, `<mark>Maya</mark>&#39;s token for <mark>O’Connor</mark>`},
		{"words joined by OR are marked", `Maya invited Lukas`, `maya OR lukas`, `<mark>Maya</mark> invited <mark>Lukas</mark>`},
		{"not inside a word", `Reinvited sam`, `invited `, `Reinvited sam`},
		{"markup in the text stays text", `<img src=x onerror=alert(1)>`, `img`, `&lt;<mark>img</mark> src=x onerror=alert(1)&gt;`},
		{"markup in the query stays text", `a <mark> b`, `mark`, `a &lt;<mark>mark</mark>&gt; b`},
		{"several terms, in order", `Maya Chen invited jordan`, `jordan maya`, `<mark>Maya</mark> Chen invited <mark>jordan</mark>`},
		{"non-ASCII", `Tomás Ortega créa "Café"`, `café`, `Tomás Ortega créa &#34;<mark>Café</mark>&#34;`},
		{"without diacritics, as the index finds it", `Tomás Ortega créa "Café"`, `tomas cafe `, `<mark>Tomás</mark> Ortega créa &#34;<mark>Café</mark>&#34;`},
		{"an email address", `jordan@acme-partners.com accepted`, `acme-partners.com`, `jordan@<mark>acme-partners.com</mark> accepted`},
		{"a word inside Thai, written without spaces", `ลบข้อมูลลูกค้า โดย สมชาย`, `ข้อมูล`, `ลบ<mark>ข้อมูล</mark>ลูกค้า โดย สมชาย`},
		{"ideographs inside a run of them", `已创建数据管道`, `数据`, `已创建<mark>数据</mark>管道`},
		{"an emoji, its colour aside", `Deployed ❤️ 🔥 fix`, `🔥 ❤`, `Deployed <mark>❤️</mark> <mark>🔥</mark> fix`},
		{"overlapping matches merge", `token token`, `token "token token"`, `<mark>token token</mark>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := app.ParseQuery(tt.query, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(highlight(tt.text, q.PositiveTerms())); got != tt.want {
				t.Errorf("highlight(%q, %q)\n got %s\nwant %s", tt.text, tt.query, got, tt.want)
			}
		})
	}
}

func FuzzHighlightNeverLetsMarkupThrough(f *testing.F) {
	f.Add(`<img src=x onerror=alert(1)>`, "img")
	f.Add(`Revoked API token "ci-deploy"`, `"api token" ci-dep`)
	f.Add("a\u00e9\u0301b c.d", "b c")
	f.Fuzz(func(t *testing.T, text, query string) {
		q, err := app.ParseQuery(query, time.UTC)
		if err != nil {
			return
		}
		got := string(highlight(text, q.PositiveTerms()))
		stripped := got
		for _, tag := range []string{"<mark>", "</mark>"} {
			stripped = strings.ReplaceAll(stripped, tag, "")
		}
		for _, r := range stripped {
			if r == '<' || r == '>' || r == '"' {
				t.Fatalf("highlight(%q, %q) = %q lets markup through", text, query, got)
			}
		}
	})
}

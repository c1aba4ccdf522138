package ui

import (
	"html/template"
	"math/rand/v2"
	"strings"
	"testing"

	"auditlog/app"
)

// The templates that rows and chart days were rendered with before markup.go
// wrote them: the Go code must write exactly what they wrote, escaping
// included, whatever the entries and the search hold.
const formerRowTemplates = `
{{define "former-rows"}}{{range .Rows}}{{template "row" .}}{{end}}{{end}}
{{define "row"}}<tr class="entry{{if .New}} is-new{{end}}" data-entry="{{.URL}}" tabindex="-1">
  <td class="c-time"><time datetime="{{.Time.ISO}}" title="{{.Time.UTC}}">{{.Time.Local}}</time></td>
  <td class="c-ns"><span class="badge ns-{{.Namespace}}">{{nsName .Namespace}}</span></td>
  <td class="c-action"><a class="entry-link" href="{{.URL}}" hx-get="{{.URL}}" hx-target="#entry-panel" hx-swap="innerHTML" aria-haspopup="dialog"><code title="{{.Action}}">{{.ActionHTML}}</code></a></td>
  <td class="c-detail"><span class="detail">{{.Detail}}</span></td>
  <td class="c-actor">{{if .Anonymous}}<span class="actor actor-anonymous" title="An external party, such as an invited partner">{{template "icon-globe"}}<em>Anonymous</em><span class="tag">external</span></span>{{else}}<span class="actor">{{.ActorHTML}}</span>{{end}}</td>
</tr>{{end}}`

const formerChartTemplates = `
{{define "former-days"}}<svg>
      {{range .Days}}
      <a class="day{{if .InRange}} in-range{{end}}{{if .IsToday}} today{{end}}" href="{{.URL}}" hx-get="{{.URL}}" hx-target="#results" hx-push-url="true"
         hx-indicator="#results" hx-sync="#filters:queue last" tabindex="{{if .Tabbable}}0{{else}}-1{{end}}" data-date="{{.Date}}" data-count="{{.Count}}" aria-label="{{.Tooltip}}">
        <title>{{.Tooltip}}</title>
        <rect class="hit" x="{{.SlotX}}" y="0" width="{{.SlotW}}" height="{{$.Base}}"/>
        {{range .Segments}}<rect class="seg ns-{{.Namespace}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}"/>{{end}}
      </a>
      {{end}}
</svg>{{end}}
{{define "former-labels"}}<div>
      {{range .Days}}<span{{if .IsToday}} class="is-today"{{end}}>{{if .ShowLabel}}<span>{{.Label}}</span>{{end}}</span>{{end}}
</div>{{end}}
{{define "days"}}<svg>
      {{.DaysSVG}}
</svg>{{end}}
{{define "labels"}}<div>
      {{.DayLabels}}
</div>{{end}}`

func formerTemplates(t *testing.T) *template.Template {
	t.Helper()
	tpl := template.Must(template.New("former").Funcs(templateFuncs).ParseFS(templateFiles, "templates/icons.html"))
	template.Must(tpl.Parse(formerRowTemplates))
	return template.Must(tpl.Parse(formerChartTemplates))
}

func execute(t *testing.T, tpl *template.Template, name string, data any) string {
	t.Helper()
	var b strings.Builder
	if err := tpl.ExecuteTemplate(&b, name, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// hostile is text that every escaper has something to do with.
var hostile = []string{
	"", "plain", `<script>alert("x")</script>`, `a & b's "c" <d> +e`, "nul\x00byte", "über ☃ 日本",
	"bad \xff utf-8", "line\nbreak\ttab", "/a b?c=d e&f=g#h", "javascript:alert(1)", "%zz%41", "(x)'y'[z]{w}|\\^`",
	"+05:30", "&amp;", "\u2028\u2029",
}

func randomText(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(4) {
		b.WriteString(hostile[r.IntN(len(hostile))])
	}
	return b.String()
}

func randomFloat(r *rand.Rand) float64 {
	return []float64{0, 1, 960, 12.5, 30.96774193548387, 1e-5, 1e21, 123456789, -3.25, 0.1}[r.IntN(10)] * float64(r.IntN(3))
}

func TestRowsAreWrittenAsTheirTemplateWroteThem(t *testing.T) {
	tpl := formerTemplates(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var res resultsView
		for range r.IntN(4) {
			res.Rows = append(res.Rows, rowView{
				ID:         randomText(r),
				URL:        randomText(r),
				Time:       timeView{Local: randomText(r), UTC: randomText(r), ISO: randomText(r)},
				Namespace:  app.Namespaces[r.IntN(len(app.Namespaces))],
				Action:     randomText(r),
				ActionHTML: highlightIdent(randomText(r), []app.Term{{Text: "a", Prefix: true}}),
				Detail:     highlight(randomText(r), []app.Term{{Text: "b"}}),
				ActorHTML:  highlight(randomText(r), nil),
				Anonymous:  r.IntN(3) == 0,
				New:        r.IntN(2) == 0,
			})
		}
		want := execute(t, tpl, "former-rows", res)
		if got := string(res.RowsHTML()); got != want {
			t.Fatalf("case %d: rows written as\n%s\nthe template wrote\n%s", i, got, want)
		}
		for _, row := range res.Rows {
			if got, want := execute(t, views["partials"], "row", row), execute(t, tpl, "row", row); got != want {
				t.Fatalf("case %d: the row partial writes\n%s\nthe template wrote\n%s", i, got, want)
			}
		}
	}
}

func TestChartDaysAreWrittenAsTheirTemplateWroteThem(t *testing.T) {
	tpl := formerTemplates(t)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		ch := &chartView{Base: randomFloat(r)}
		for range r.IntN(5) {
			d := chartDay{
				Date: randomText(r), Label: randomText(r), URL: randomText(r), Tooltip: randomText(r),
				SlotX: randomFloat(r), SlotW: randomFloat(r), Count: r.IntN(100000) - 5,
				InRange: r.IntN(2) == 0, IsToday: r.IntN(2) == 0, ShowLabel: r.IntN(2) == 0, Tabbable: r.IntN(2) == 0,
			}
			for range r.IntN(4) {
				d.Segments = append(d.Segments, chartSegment{Namespace: app.Namespaces[r.IntN(len(app.Namespaces))],
					X: randomFloat(r), Y: randomFloat(r), W: randomFloat(r), H: randomFloat(r)})
			}
			ch.Days = append(ch.Days, d)
		}
		if got, want := execute(t, tpl, "days", ch), execute(t, tpl, "former-days", ch); got != want {
			t.Fatalf("case %d: days written as\n%s\nthe template wrote\n%s", i, got, want)
		}
		if got, want := execute(t, tpl, "labels", ch), execute(t, tpl, "former-labels", ch); got != want {
			t.Fatalf("case %d: labels written as\n%s\nthe template wrote\n%s", i, got, want)
		}
	}
}

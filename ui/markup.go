package ui

import (
	"bytes"
	"html/template"
	"strconv"
	"strings"
)

// The table's rows and the chart's days are the page's bulk: fifty rows and a
// month of days, some two thousand values in all. Executed as templates, each
// value costs a reflective field lookup and a reflective call of its escaper,
// which made rendering the larger part of answering a search. They are
// written here instead, escaping each value exactly as html/template does in
// that place (markup_test.go holds the templates they replaced and checks
// that both write the same bytes).

// htmlEscaper is html/template's escaping of a string in text and in a quoted
// attribute: the five characters HTML gives meaning to, '+' (which some old
// browsers read as the start of UTF-7) and NUL.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

// markup builds HTML text, escaping what it is handed.
type markup struct{ strings.Builder }

// raw writes trusted markup as it is.
func (m *markup) raw(s string) { m.WriteString(s) }

// text writes s escaped for HTML text or a quoted attribute value.
func (m *markup) text(s string) { _, _ = htmlEscaper.WriteString(&m.Builder, s) }

// url writes s as an href's value as html/template does: a scheme other than
// http, https or mailto (javascript:, say) is refused, the rest is
// normalized (what a URL may not hold literally is percent-encoded) and then
// escaped as text is.
func (m *markup) url(s string) {
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") &&
		!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
		s = "#ZgotmplZ"
	}
	m.text(normalizeURL(s))
}

func (m *markup) int(n int) { m.WriteString(strconv.Itoa(n)) }

// float writes x as a template prints it (fmt's %v), escaped: an exponent's
// '+' is escaped as in any text.
func (m *markup) float(x float64) {
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], x, 'g', -1, 64)
	if bytes.IndexByte(b, '+') >= 0 {
		m.text(string(b))
		return
	}
	m.Write(b)
}

// rectEnd ends a rect whose class attribute is open: its place and size.
func (m *markup) rectEnd(x, y, w, h float64) {
	m.raw(`" x="`)
	m.float(x)
	m.raw(`" y="`)
	m.float(y)
	m.raw(`" width="`)
	m.float(w)
	m.raw(`" height="`)
	m.float(h)
	m.raw(`"/>`)
}

// normalizeURL is html/template's urlNormalizer: bytes that are neither
// unreserved nor reserved in RFC 3986 are percent-encoded, and so is a '%'
// that does not start an escape.
func normalizeURL(s string) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		}
		switch c {
		case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']', '-', '.', '_', '~':
			continue
		case '%':
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				continue // an escape already
			}
		}
		if written == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteByte("0123456789abcdef"[c>>4])
		b.WriteByte("0123456789abcdef"[c&15])
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// globeIcon is the icon of an anonymous actor, from the icons template.
var globeIcon = mustExecute("icon-globe")

func mustExecute(name string) string {
	var b strings.Builder
	if err := views["partials"].ExecuteTemplate(&b, name, nil); err != nil {
		panic(err)
	}
	return b.String()
}

// RowsHTML is the table's rows, for the "rows" template.
func (r resultsView) RowsHTML() template.HTML {
	var m markup
	m.Grow(len(r.Rows) * 1100)
	for i := range r.Rows {
		r.Rows[i].write(&m)
	}
	return template.HTML(m.String())
}

// HTML is the row alone, for the "row" template.
func (r rowView) HTML() template.HTML {
	var m markup
	r.write(&m)
	return template.HTML(m.String())
}

// write writes one row of the table. ActionHTML, Detail and ActorHTML are
// marked up already (highlight escapes them).
func (r *rowView) write(m *markup) {
	m.raw(`<tr class="entry`)
	if r.New {
		m.raw(` is-new`)
	}
	m.raw(`" data-entry="`)
	m.text(r.URL)
	m.raw(`" tabindex="-1">` + "\n" + `  <td class="c-time"><time datetime="`)
	m.text(r.Time.ISO)
	m.raw(`" title="`)
	m.text(r.Time.UTC)
	m.raw(`">`)
	m.text(r.Time.Local)
	m.raw(`</time></td>` + "\n" + `  <td class="c-ns"><span class="badge ns-`)
	m.text(string(r.Namespace))
	m.raw(`">`)
	m.text(r.Namespace.DisplayName())
	m.raw(`</span></td>` + "\n" + `  <td class="c-action"><a class="entry-link" href="`)
	m.url(r.URL)
	m.raw(`" hx-get="`)
	m.text(r.URL)
	m.raw(`" hx-target="#entry-panel" hx-swap="innerHTML" aria-haspopup="dialog"><code title="`)
	m.text(r.Action)
	m.raw(`">`)
	m.raw(string(r.ActionHTML))
	m.raw(`</code></a></td>` + "\n" + `  <td class="c-detail"><span class="detail">`)
	m.raw(string(r.Detail))
	m.raw(`</span></td>` + "\n" + `  <td class="c-actor">`)
	if r.Anonymous {
		m.raw(`<span class="actor actor-anonymous" title="An external party, such as an invited partner">` + globeIcon + `<em>Anonymous</em><span class="tag">external</span></span>`)
	} else {
		m.raw(`<span class="actor">`)
		m.raw(string(r.ActorHTML))
		m.raw(`</span>`)
	}
	m.raw(`</td>` + "\n" + `</tr>`)
}

// DaysSVG is the chart's bars, one link per day, for the "chart" template.
func (c *chartView) DaysSVG() template.HTML {
	var m markup
	m.Grow(len(c.Days) * 1500)
	for i := range c.Days {
		d := &c.Days[i]
		m.raw("\n      ")
		m.raw(`<a class="day`)
		if d.InRange {
			m.raw(` in-range`)
		}
		if d.IsToday {
			m.raw(` today`)
		}
		m.raw(`" href="`)
		m.url(d.URL)
		m.raw(`" hx-get="`)
		m.text(d.URL)
		m.raw(`" hx-target="#results" hx-push-url="true"` + "\n" + `         hx-indicator="#results" hx-sync="#filters:queue last" tabindex="`)
		if d.Tabbable {
			m.raw(`0`)
		} else {
			m.raw(`-1`)
		}
		m.raw(`" data-date="`)
		m.text(d.Date)
		m.raw(`" data-count="`)
		m.int(d.Count)
		m.raw(`" aria-label="`)
		m.text(d.Tooltip)
		m.raw(`">` + "\n" + `        <title>`)
		m.text(d.Tooltip)
		m.raw(`</title>` + "\n" + `        <rect class="hit`)
		m.rectEnd(d.SlotX, 0, d.SlotW, c.Base)
		m.raw("\n" + `        `)
		for _, s := range d.Segments {
			m.raw(`<rect class="seg ns-`)
			m.text(string(s.Namespace))
			m.rectEnd(s.X, s.Y, s.W, s.H)
		}
		m.raw("\n      </a>\n      ")
	}
	return template.HTML(m.String())
}

// DayLabels is the chart's axis under the bars, for the "chart" template.
func (c *chartView) DayLabels() template.HTML {
	var m markup
	m.Grow(len(c.Days) * 40)
	for i := range c.Days {
		d := &c.Days[i]
		m.raw(`<span`)
		if d.IsToday {
			m.raw(` class="is-today"`)
		}
		m.raw(`>`)
		if d.ShowLabel {
			m.raw(`<span>`)
			m.text(d.Label)
			m.raw(`</span>`)
		}
		m.raw(`</span>`)
	}
	return template.HTML(m.String())
}

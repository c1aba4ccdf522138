package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"sync"

	"auditlog/app"
	"auditlog/assets"

	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html
var templateFiles embed.FS

// The templates every view shares: the layout and the partials htmx swaps in.
var commonTemplates = []string{
	"templates/layout.html",
	"templates/icons.html",
	"templates/results.html",
	"templates/rows.html",
	"templates/chart.html",
	"templates/entry_panel.html",
	"templates/empty.html",
	"templates/form.html",
}

// The full pages, each a "content" (and "title") for the layout.
var pageTemplates = []string{
	"templates/audit_log.html",
	"templates/entry.html",
	"templates/error.html",
	"templates/stopped.html",
	"templates/general.html",
	"templates/api_tokens.html",
	"templates/service_users.html",
	"templates/pro_notice.html",
	"templates/signin.html",
	"templates/setup.html",
	"templates/invite.html",
	"templates/members.html",
}

// views are parsed once, when the program starts, from the explicit lists
// above: a missing or broken template stops the program at once instead of
// failing on someone's click.
var views = parseViews()

func parseViews() map[string]*template.Template {
	common := template.Must(template.New("common").Funcs(templateFuncs).ParseFS(templateFiles, commonTemplates...))
	m := map[string]*template.Template{"partials": common}
	for _, page := range pageTemplates {
		t := template.Must(template.Must(common.Clone()).ParseFS(templateFiles, page))
		name := page[len("templates/") : len(page)-len(".html")]
		m[name] = t
	}
	return m
}

var templateFuncs = template.FuncMap{
	"asset":   assetURL,
	"count":   formatCount,
	"plural":  pluralWord,
	"nsName":  func(n app.Namespace) string { return n.DisplayName() },
	"ident":   breakableIdent,
	"fieldOf": fieldOf,
}

// formField is one field of a form, for the "field" template.
type formField struct {
	Name, Label, Type, Value, Autocomplete, Error string
}

func fieldOf(name, label, typ, value, autocomplete string, errs map[string]string) formField {
	return formField{Name: name, Label: label, Type: typ, Value: value, Autocomplete: autocomplete, Error: errs[name]}
}

// breakableIdent lets a long identifier such as data_product_invite_accepted
// wrap after its underscores and dots, not in the middle of a word.
func breakableIdent(s string) template.HTML { return highlightIdent(s, nil) }

// assetURL is where an embedded file is served, with its content hash, so
// browsers may cache it for good and still get a changed file at once.
func assetURL(name string) string {
	return "/assets/" + name + "?v=" + assets.Version(name)
}

// formatCount writes a count with thousands separators: 12,345.
func formatCount(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + formatCount(-n)
	}
	var b []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// render executes a full page ("audit_log") or a partial ("partials" set,
// template name) into a buffer first, so a template error becomes a clean 500
// rather than half a page.
func render(c echo.Context, status int, view, name string, data any) error {
	t, ok := views[view]
	if !ok {
		return fmt.Errorf("ui: no view %q", view)
	}
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledRender {
			buf.Reset()
			renderBuffers.Put(buf)
		}
	}()
	if err := t.ExecuteTemplate(buf, name, data); err != nil {
		return fmt.Errorf("ui: rendering %s/%s: %w", view, name, err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// renderBuffers keeps the buffers pages are rendered into: a search's
// results are some 100 kB, grown afresh on every keystroke otherwise.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRender: a buffer grown larger than this by a rare huge page is
// left to the collector rather than kept.
const maxPooledRender = 1 << 20

// renderPage renders one of the full pages through the layout.
func renderPage(c echo.Context, view string, data any) error {
	return render(c, http.StatusOK, view, "layout", data)
}

// renderPartial renders a fragment for htmx to swap in.
func renderPartial(c echo.Context, name string, data any) error {
	return render(c, http.StatusOK, "partials", name, data)
}

package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"auditlog/app"
)

// The activity chart's drawing area, in SVG user units. The SVG stretches to
// the width of the page but keeps its height, so a vertical unit is a CSS
// pixel and the labels, drawn in HTML beside and under it, line up.
const (
	chartWidth  = 960.0
	chartHeight = 120.0
	chartTop    = 8.0   // the maximum's gridline
	chartBase   = 120.0 // the baseline the bars stand on
	chartGap    = 0.25  // the share of each day's slot left empty between bars
)

// chartView is the activity chart: entries per day over the retention window,
// stacked by namespace, each day a link that narrows the page to it.
type chartView struct {
	Width, Height float64
	Top, Base     float64
	Max           int
	MaxLabel      string
	Total         int
	Days          []chartDay
	Title         string
	Namespaces    []app.Namespace // for the legend, in stacking order
	Selecting     bool            // a time range is chosen: days outside it are dimmed
}

type chartDay struct {
	Date      string // 2006-01-02 in the workspace zone
	Label     string // e.g. "Nov 25", on every few days only
	SlotX     float64
	SlotW     float64
	Count     int
	Tooltip   string
	URL       string
	Segments  []chartSegment
	InRange   bool
	IsToday   bool
	ShowLabel bool
	// Tabbable marks the one day the Tab key stops at: the chart is one tab
	// stop, and the arrow keys move between its days (a roving tabindex).
	Tabbable bool
}

type chartSegment struct {
	Namespace  app.Namespace
	X, Y, W, H float64
}

// maxChartLabels is how many day labels fit under the chart at its
// narrowest width without touching.
const maxChartLabels = 8

// dayInYear is a day as the chart names it: "Nov 25" in the year of today,
// "Nov 25, 2025" in another, so a long retention's start is not read as a
// day to come.
func dayInYear(d, today time.Time) string {
	if d.Year() == today.Year() {
		return d.Format("Jan 2")
	}
	return d.Format("Jan 2, 2006")
}

// buildChart draws the per-day counts of tally from the first day of the
// retention window to today, in loc. Only namespace ns is drawn when set. The
// days that overlap [after, before) stay bright; with no range all do.
func buildChart(tally *app.SlotCounts, ns app.Namespace, v viewState, loc *time.Location, cutoff, now, after, before time.Time) chartView {
	first, last := app.StartOfDay(cutoff, loc), app.StartOfDay(now, loc)
	var days []time.Time
	for d := first; !d.After(last); d = app.AddDays(d, 1, loc) {
		days = append(days, d)
	}
	today := len(days) - 1
	// An entry may be stamped a few minutes ahead (its sender's clock runs
	// fast), and so fall on tomorrow just before midnight: that day is
	// drawn too, so that the chart counts what the tabs count.
	next := app.AddDays(last, 1, loc)
	for _, n := range tally.Sum(app.SlotOf(next), app.SlotOf(app.AddDays(next, 1, loc)), nil) {
		if n > 0 {
			days = append(days, next)
			break
		}
	}
	// Days in any zone start on a quarter hour, so each is a run of slots.
	counts := make([][]int, len(days))
	for i, d := range days {
		counts[i] = tally.Sum(app.SlotOf(d), app.SlotOf(app.AddDays(d, 1, loc)), nil)
		if ns != "" {
			for j, n := range app.Namespaces {
				if n != ns {
					counts[i][j] = 0
				}
			}
		}
	}
	ch := chartView{
		Width: chartWidth, Height: chartHeight, Top: chartTop, Base: chartBase,
		Namespaces: app.Namespaces,
		Selecting:  !after.IsZero() || !before.IsZero(),
		Title:      fmt.Sprintf("%s to %s", dayInYear(first, last), dayInYear(days[len(days)-1], last)),
	}
	if ns != "" {
		ch.Namespaces = []app.Namespace{ns}
	}
	maxDay := 0
	totals := make([]int, len(days))
	for i, c := range counts {
		for _, n := range c {
			totals[i] += n
		}
		maxDay = max(maxDay, totals[i])
		ch.Total += totals[i]
	}
	ch.Max = niceCeil(maxDay)
	ch.MaxLabel = formatCount(ch.Max)

	// A label every week, counted back from today; every few weeks when the
	// retention is long, so that labels never run into each other.
	every := 7 * max(1, (len(days)+maxChartLabels*7-1)/(maxChartLabels*7))
	slot := chartWidth / float64(len(days))
	barW := slot * (1 - chartGap)
	scale := (chartBase - chartTop) / float64(ch.Max)
	for i, d := range days {
		x := float64(i) * slot
		day := chartDay{
			Date:      d.Format(dateLayout),
			Label:     dayInYear(d, last),
			SlotX:     round1(x),
			SlotW:     round1(slot),
			Count:     totals[i],
			URL:       v.withDay(d).URL(),
			IsToday:   i == today,
			ShowLabel: (today-i)%every == 0,
			InRange:   overlaps(d, app.AddDays(d, 1, loc), after, before),
		}
		y := chartBase
		var lines []string
		for j, n := range app.Namespaces {
			c := counts[i][j]
			if c == 0 {
				continue
			}
			h := float64(c) * scale
			y -= h
			day.Segments = append(day.Segments, chartSegment{Namespace: n, X: round1(x + (slot-barW)/2), Y: round1(y), W: round1(barW), H: round1(h)})
			lines = append(lines, n.DisplayName()+": "+formatCount(c))
		}
		day.Tooltip = d.Format("Mon, ") + dayInYear(d, last) + ": " + formatCount(totals[i]) + " " + pluralWord(totals[i], "entry", "entries")
		if len(lines) > 0 {
			day.Tooltip += "\n" + strings.Join(lines, "\n")
		}
		ch.Days = append(ch.Days, day)
	}
	// Tab lands on the first day of the selected range, or else on today.
	tab := today
	for i, d := range ch.Days {
		if d.InRange && ch.Selecting {
			tab = i
			break
		}
	}
	if tab >= 0 {
		ch.Days[tab].Tabbable = true
	}
	return ch
}

// niceCeil rounds n up to a round number for the gridline: 1, 1.5, 2, 2.5,
// 3, 4, 5, 6 or 8 times a power of ten.
func niceCeil(n int) int {
	if n <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(n))))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if v := int(math.Round(m * p)); v >= n {
			return v
		}
	}
	return n
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// overlaps reports whether [start, end) meets [after, before); zero bounds are open.
func overlaps(start, end, after, before time.Time) bool {
	return (after.IsZero() || end.After(after)) && (before.IsZero() || start.Before(before))
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

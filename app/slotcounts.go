package app

import "time"

// SlotCounts is a Tally laid out for adding up: one row per quarter-hour slot
// from First on, each row the entries of every namespace in the order of
// Namespaces. The page sums it over a time range for its namespace counts
// and per day for its chart on every keystroke; summing a run of rows is a
// walk along a slice, where a Tally hashes and compares each of its cells.
type SlotCounts struct {
	First int64   // the slot of the first row
	cells []int32 // row after row, len(Namespaces) cells a row: a month is 20,000 of them
}

// NewSlotCounts makes room for the slots [from, to); Add makes more when it
// is given a slot outside.
func NewSlotCounts(from, to int64) *SlotCounts {
	return &SlotCounts{First: from, cells: make([]int32, max(to-from, 0)*int64(len(Namespaces)))}
}

// namespaceIndex is n's place in Namespaces, or -1 for a namespace there is none of.
func namespaceIndex(n Namespace) int {
	for i, x := range Namespaces {
		if x == n {
			return i
		}
	}
	return -1
}

// Slots is how many slots the rows cover, from First on.
func (c *SlotCounts) Slots() int64 { return int64(len(c.cells) / len(Namespaces)) }

// Add counts n more entries of namespace ns in slot.
func (c *SlotCounts) Add(slot int64, ns Namespace, n int) {
	i := namespaceIndex(ns)
	if i < 0 || n == 0 {
		return
	}
	width := int64(len(Namespaces))
	switch rows := c.Slots(); {
	case rows == 0:
		c.First, c.cells = slot, make([]int32, width)
	case slot < c.First:
		grown := make([]int32, (c.First+rows-slot)*width)
		copy(grown[(c.First-slot)*width:], c.cells)
		c.First, c.cells = slot, grown
	case slot >= c.First+rows:
		c.cells = append(c.cells, make([]int32, (slot-c.First-rows+1)*width)...)
	}
	c.cells[(slot-c.First)*width+int64(i)] += int32(n)
}

// AddTally counts every cell of t.
func (c *SlotCounts) AddTally(t Tally) {
	for cell, n := range t {
		c.Add(cell.Slot, cell.Namespace, n)
	}
}

// Sum adds up the slots [from, to) per namespace, in the order of
// Namespaces, into per (which it makes when nil) and returns it.
func (c *SlotCounts) Sum(from, to int64, per []int) []int {
	width := int64(len(Namespaces))
	if per == nil {
		per = make([]int, width)
	}
	from, to = max(from, c.First), min(to, c.First+c.Slots())
	for at := (from - c.First) * width; from < to; from, at = from+1, at+width {
		for i, n := range c.cells[at : at+width] {
			per[i] += int(n)
		}
	}
	return per
}

// Within sums the entries in [after, before) (zero bounds are open) per
// namespace, in the order of Namespaces. It can only do so when the bounds
// fall on whole slots; ok is false otherwise.
func (c *SlotCounts) Within(after, before time.Time) (per []int, ok bool) {
	if !WholeSlots(after, before) {
		return nil, false
	}
	from, to := c.First, c.First+c.Slots()
	if !after.IsZero() {
		from = max(from, SlotOf(after))
	}
	if !before.IsZero() {
		to = min(to, SlotOf(before))
	}
	return c.Sum(from, to, nil), true
}

// WholeSlots reports whether [after, before) (zero bounds are open) is made
// of whole slots, which Within can answer.
func WholeSlots(after, before time.Time) bool {
	for _, b := range []time.Time{after, before} {
		if !b.IsZero() && (b.Unix()%slotSeconds != 0 || b.Nanosecond() != 0) {
			return false
		}
	}
	return true
}

// PerNamespace sums every row per namespace, in the order of Namespaces.
func (c *SlotCounts) PerNamespace() []int { return c.Sum(c.First, c.First+c.Slots(), nil) }

// Total is how many entries the rows hold.
func (c *SlotCounts) Total() int {
	total := 0
	for _, n := range c.cells {
		total += int(n)
	}
	return total
}

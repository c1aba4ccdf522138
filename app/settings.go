package app

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

const metaSettings = "settings"

// Settings are the workspace's own: its name, the timezone its entries are
// shown in and its plan.
type Settings struct {
	Workspace string `json:"workspace"`
	Timezone  string `json:"timezone"`       // IANA name; empty means this computer's zone
	Plan      Plan   `json:"plan,omitempty"` // empty: a workspace from before plans, which is Pro

	loc *time.Location // Timezone, loaded once
}

// Location is the timezone entries are shown in.
func (s Settings) Location() *time.Location {
	if s.loc != nil {
		return s.loc
	}
	if loc, _, err := LoadZone(s.Timezone); err == nil {
		return loc
	}
	return time.Local
}

// ZoneName is the timezone's name as people read it: the IANA name, or
// "system" for this computer's zone.
func (s Settings) ZoneName() string {
	if s.Timezone == "" {
		return SystemZone
	}
	return s.Timezone
}

// PlanOf is the workspace's plan; one saved before plans existed is Pro.
func (s Settings) PlanOf() Plan {
	if s.Plan == "" {
		return PlanPro
	}
	return s.Plan
}

// SystemZone is what the settings call this computer's timezone.
const SystemZone = "system"

// SystemZoneName is the IANA name of this computer's timezone, as this
// process sees it (TZ, else /etc/localtime), or "" when it has none Go can
// load by name (Windows, or a zone file copied rather than linked): a
// program elsewhere, or started with another TZ, must show times in the
// zone this one means by "system". It is found once, as Go finds time.Local
// once: every request for the workspace's settings asks.
var SystemZoneName = sync.OnceValue(systemZoneName)

func systemZoneName() string {
	name, set := os.LookupEnv("TZ")
	if !set {
		name, _ = os.Readlink("/etc/localtime")
	}
	name = strings.TrimPrefix(name, ":")
	if _, after, found := strings.Cut(name, "zoneinfo/"); found {
		name = after
	}
	if name != "" && !strings.HasPrefix(name, "/") {
		if _, err := time.LoadLocation(name); err == nil {
			return name
		}
	}
	// An empty TZ, one Go cannot load, or no /etc/localtime (many
	// containers): Go then keeps UTC.
	if abbr, offset := time.Now().Zone(); abbr == "UTC" && offset == 0 {
		return "UTC"
	}
	return ""
}

// LoadZone finds a timezone by its IANA name, in any letter case
// (europe/berlin is Europe/Berlin), and returns it with the name as the
// timezone database spells it. Empty or "system" (or "Local") is this
// computer's zone, spelled "". It reads the timezone database from disk, which
// is why the Log keeps its settings with the zone already loaded.
func LoadZone(tz string) (*time.Location, string, error) {
	tz = strings.TrimSpace(tz)
	if tz == "" || strings.EqualFold(tz, SystemZone) || strings.EqualFold(tz, "Local") {
		return time.Local, "", nil
	}
	// Only names of the timezone database built into the program: the
	// computer's own zoneinfo also answers to names such as posix/Europe/Berlin,
	// right/UTC or Factory, which another computer (a cluster's next node, a
	// laptop the data moves to) may not have, and then silently shows times in
	// its own zone instead.
	// posix/X and right/X are X as zoneinfo packs it (right/ counting leap
	// seconds, which the entries' times do not): read as X, so that a name
	// saved before this check keeps its zone.
	name := tz
	for _, dir := range []string{"posix/", "right/"} {
		if len(name) > len(dir) && strings.EqualFold(name[:len(dir)], dir) {
			name = name[len(dir):]
		}
	}
	if name, ok := zoneByFold(name); ok {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, name, nil
		}
	}
	return nil, "", Errorf(EINVALID, "timezone: %q is not a known IANA timezone such as Europe/Berlin", tz)
}

// Slug is the workspace name as it may stand in a file name: letters
// without their accents ("Müller & Söhne" is muller-sohne), digits, and a
// dash for anything else.
func (s Settings) Slug() string {
	var b strings.Builder
	for _, r := range Fold(s.Workspace) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	slug := strings.Trim(b.String(), "-")
	if slug == "" {
		return "workspace"
	}
	return slug
}

// DefaultWorkspace names a workspace nobody has named yet.
const DefaultWorkspace = "My Workspace"

// Settings returns the workspace settings. Every request reads them, so the
// Log keeps them in memory; ChangeSettings is the only writer.
func (l *Log) Settings() Settings { return *l.settings.Load() }

// ReloadState reads the workspace settings and the retention from the store
// again. A cluster node calls it when another node changed them: the Log
// keeps both in memory, and only its own changes update that copy. A
// shorter retention purges here too, at once, as on the node that took the
// change: until then the entries past it were only hidden, and a retention
// raised again before the hourly purge showed them again on this node.
func (l *Log) ReloadState(ctx context.Context) error {
	if err := l.loadSettings(ctx); err != nil {
		return err
	}
	keep, err := storedRetention(ctx, l.store)
	if err != nil {
		return err
	}
	if was := time.Duration(l.retention.Swap(int64(keep))); keep < was {
		// Not on the caller's goroutine: it applies the stream, which the
		// purge's own writes may wait on.
		go func() {
			if n, err := l.Purge(); err != nil {
				l.logger.Error("purging after another node shortened the retention failed; the hourly purge tries again", "err", err)
			} else if n > 0 {
				l.logger.Info("purged entries outside the retention another node set", "count", n)
			}
		}()
	}
	return nil
}

// loadSettings reads the saved settings, at Open and at ReloadState.
func (l *Log) loadSettings(ctx context.Context) error {
	s := Settings{Workspace: DefaultWorkspace}
	v, ok, err := l.store.State(ctx, StateMeta, metaSettings)
	if err == nil && ok {
		err = json.Unmarshal(v, &s)
	}
	if err != nil {
		return fmt.Errorf("store: unable to read settings: %w", err)
	}
	loc, name, err := LoadZone(s.Timezone)
	if err != nil {
		// A zone this computer's timezone database lacks: show local time
		// rather than refuse to start.
		l.logger.Warn("the workspace timezone is unknown here; showing this computer's time", "timezone", s.Timezone)
		loc, name = time.Local, s.Timezone
	}
	s.loc, s.Timezone = loc, name
	l.settings.Store(&s)
	return nil
}

// SettingsChange is a change to the workspace settings: the fields that are
// not nil are set.
type SettingsChange struct {
	Workspace *string
	Timezone  *string // an IANA name in any case, or "system"
	Plan      *Plan
	// Retention: entries older than this are purged, at once. See ExpiredBy
	// for how many that deletes for good.
	Retention *time.Duration
	// RetentionWas, when set, is the retention a lower one was confirmed
	// against: someone who confirmed "30 days to 7 deletes 1,200 entries"
	// did not confirm it from 60 days. If the retention is another by the
	// time the change is made, nothing is saved (ECONFLICT).
	RetentionWas *time.Duration
}

// SettingsAction is the action of an entry recording a change of the
// workspace settings. Entries before it was named so say FormerSettingsAction;
// a search for either finds both.
const (
	SettingsAction       = "space_settings_updated"
	FormerSettingsAction = "workspace_settings_updated"
)

// ChangeSettings validates and saves a change of the workspace settings,
// recording each setting that changed as its own space_settings_updated
// entry in the Spaces namespace, with the old and the new value, in the same
// commit. A shorter retention purges what falls outside it at once.
func (l *Log) ChangeSettings(ctx context.Context, c SettingsChange, actor string) (Settings, error) {
	next, shorter, err := l.changeSettings(ctx, c, actor)
	if err != nil || !shorter {
		return next, err
	}
	// Purged outside the state lock: a large purge need not hold up tokens.
	if n, err := l.Purge(); err != nil {
		return next, fmt.Errorf("store: the retention is saved, but purging failed: %w", err)
	} else if n > 0 {
		l.logger.Info("purged entries outside the new retention", "count", n)
	}
	return next, nil
}

func (l *Log) changeSettings(ctx context.Context, c SettingsChange, actor string) (Settings, bool, error) {
	l.stateMu.Lock() // read, compare and write as one
	defer l.stateMu.Unlock()
	prev := *l.settings.Load()
	next := prev
	if c.Workspace != nil {
		next.Workspace = strings.TrimSpace(*c.Workspace)
		if next.Workspace == "" || len(next.Workspace) > 80 || checkText(next.Workspace, false) != "" {
			return Settings{}, false, Errorf(EINVALID, "name: the workspace's name must be 1 to 80 printable characters")
		}
	}
	if c.Timezone != nil {
		loc, name, err := LoadZone(*c.Timezone)
		if err != nil {
			return Settings{}, false, err
		}
		next.loc, next.Timezone = loc, name
	}
	if c.Plan != nil {
		p, err := ParsePlan(string(*c.Plan))
		if err != nil {
			return Settings{}, false, err
		}
		next.Plan = p
	}
	prevRetention := l.Retention()
	if c.RetentionWas != nil && *c.RetentionWas != prevRetention {
		return Settings{}, false, Errorf(ECONFLICT, "retention: it was changed to %s meanwhile, and nothing was saved; look at what lowering it deletes now", FormatRetention(prevRetention))
	}
	nextRetention := prevRetention
	if c.Retention != nil {
		nextRetention = *c.Retention
		if nextRetention < MinRetention || nextRetention > MaxRetention {
			return Settings{}, false, Errorf(EINVALID, "retention: must be from 1 to 3650 days")
		}
	}
	// One entry for one change, however many settings it touches: each
	// setting's old and new value in the detail and in metadata.
	var changes []string
	meta := map[string]string{}
	set := func(what, from, to string) {
		changes = append(changes, fmt.Sprintf("%s from %s to %s", what, from, to))
		meta[what+"_from"], meta[what+"_to"] = from, to
	}
	if prev.Workspace != next.Workspace {
		set("name", fmt.Sprintf("%q", prev.Workspace), fmt.Sprintf("%q", next.Workspace))
		meta["name_from"], meta["name_to"] = prev.Workspace, next.Workspace
	}
	if prev.Timezone != next.Timezone {
		set("timezone", prev.ZoneName(), next.ZoneName())
	}
	if prev.PlanOf() != next.PlanOf() {
		set("plan", prev.PlanOf().DisplayName(), next.PlanOf().DisplayName())
	}
	var state []StateValue
	if prevRetention != nextRetention {
		set("retention", FormatRetention(prevRetention), FormatRetention(nextRetention))
		meta["retention_from_days"] = fmt.Sprint(int(prevRetention.Hours() / 24))
		meta["retention_to_days"] = fmt.Sprint(int(nextRetention.Hours() / 24))
		state = append(state, StateValue{Kind: StateMeta, Key: metaRetention, Value: binary.BigEndian.AppendUint64(nil, uint64(nextRetention))})
	}
	var events []Event
	if len(changes) > 0 {
		events = append(events, Event{
			Namespace: Spaces,
			Action:    SettingsAction,
			Detail:    fmt.Sprintf("Changed workspace %q %s", next.Workspace, strings.Join(changes, " and ")),
			Actor:     actor,
			Targets:   []Target{{Type: "workspace", Name: next.Workspace}},
			Metadata:  meta,
		})
	}
	if len(events) == 0 {
		return prev, false, nil
	}
	v, err := json.Marshal(next)
	if err != nil {
		return Settings{}, false, err
	}
	state = append(state, StateValue{Kind: StateMeta, Key: metaSettings, Value: v})
	// The entries are stamped now, inside the old window and the new one alike.
	if err := l.commitOwn(ctx, state, events...); err != nil {
		return Settings{}, false, fmt.Errorf("store: unable to save settings: %w", err)
	}
	l.settings.Store(&next)
	l.retention.Store(int64(nextRetention))
	return next, nextRetention < prevRetention, nil
}

// ExpiredBy counts the stored entries a retention of d would delete for
// good: those older than now minus d.
func (l *Log) ExpiredBy(ctx context.Context, d time.Duration) (int, error) {
	l.attend()
	cutoff := l.now().Add(-d)
	if !cutoff.After(l.Cutoff()) {
		return 0, nil
	}
	n := 0
	err := l.store.Walk(ctx, Range{Before: MakeKey(cutoff, 0), After: l.Cutoff()}, func(Key, *Event) bool {
		n++
		return true
	})
	return n, err
}

// zoneByFold finds the IANA name that equals tz, or equals it but for
// letter case.
func zoneByFold(tz string) (string, bool) {
	if slices.Contains(ZoneNames, tz) {
		return tz, true
	}
	for _, name := range ZoneNames {
		if strings.EqualFold(name, tz) {
			return name, true
		}
	}
	return "", false
}

package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

const metaSettings = "settings"

// Settings are the workspace's own: its name and the timezone its entries are shown in.
type Settings struct {
	Workspace string `json:"workspace"`
	Timezone  string `json:"timezone"` // IANA name; empty means this computer's zone

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

// SystemZone is what the settings call this computer's timezone.
const SystemZone = "system"

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
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc, tz, nil
	}
	if name, ok := zoneByFold(tz); ok {
		if loc, err := time.LoadLocation(name); err == nil {
			return loc, name, nil
		}
	}
	return nil, "", Errorf(EINVALID, "timezone: %q is not a known IANA timezone such as Europe/Berlin", tz)
}

// Slug is the workspace name as it may stand in a file name.
func (s Settings) Slug() string {
	var b strings.Builder
	for _, r := range strings.ToLower(s.Workspace) {
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

// loadSettings reads the saved settings, at Open.
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
}

// ChangeSettings validates and saves a change of the workspace settings,
// recording what changed as a workspace_settings_updated entry in the Spaces
// namespace, in the same commit.
func (l *Log) ChangeSettings(ctx context.Context, c SettingsChange, actor string) (Settings, error) {
	l.stateMu.Lock() // read, compare and write as one
	defer l.stateMu.Unlock()
	prev := *l.settings.Load()
	next := prev
	if c.Workspace != nil {
		next.Workspace = strings.TrimSpace(*c.Workspace)
		if next.Workspace == "" || len(next.Workspace) > 80 || checkText(next.Workspace, false) != "" {
			return Settings{}, Errorf(EINVALID, "workspace: 1 to 80 printable characters are required")
		}
	}
	if c.Timezone != nil {
		loc, name, err := LoadZone(*c.Timezone)
		if err != nil {
			return Settings{}, err
		}
		next.loc, next.Timezone = loc, name
	}
	if prev.Workspace == next.Workspace && prev.Timezone == next.Timezone {
		return prev, nil
	}
	var changes []string
	if prev.Workspace != next.Workspace {
		changes = append(changes, fmt.Sprintf("name from %q to %q", prev.Workspace, next.Workspace))
	}
	if prev.Timezone != next.Timezone {
		changes = append(changes, fmt.Sprintf("timezone from %q to %q", prev.ZoneName(), next.ZoneName()))
	}
	v, err := json.Marshal(next)
	if err != nil {
		return Settings{}, err
	}
	err = l.commitOwn(ctx, []StateValue{{Kind: StateMeta, Key: metaSettings, Value: v}}, Event{
		Namespace: Spaces,
		Action:    "workspace_settings_updated",
		Detail:    "Changed workspace " + strings.Join(changes, " and "),
		Actor:     actor,
		Targets:   []Target{{Type: "workspace", Name: next.Workspace}},
	})
	if err != nil {
		return Settings{}, fmt.Errorf("store: unable to save settings: %w", err)
	}
	l.settings.Store(&next)
	return next, nil
}

// zoneByFold finds the IANA name that equals tz but for letter case.
func zoneByFold(tz string) (string, bool) {
	for _, name := range ZoneNames {
		if strings.EqualFold(name, tz) {
			return name, true
		}
	}
	return "", false
}

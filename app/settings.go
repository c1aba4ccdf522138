package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

var metaSettings = []byte("settings")

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
	return loadZone(s.Timezone)
}

// loadZone reads the zone from the timezone database: a file read, which is
// why the Log keeps its settings with the zone already loaded.
func loadZone(tz string) *time.Location {
	if tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc
		}
	}
	return time.Local
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
// Log keeps them in memory; UpdateSettings is the only writer.
func (l *Log) Settings(ctx context.Context) (Settings, error) {
	return *l.settings.Load(), nil
}

// loadSettings reads the saved settings, at Open.
func loadSettings(db *bolt.DB) (Settings, error) {
	s := Settings{Workspace: DefaultWorkspace}
	err := db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaSettings); v != nil {
			return json.Unmarshal(v, &s)
		}
		return nil
	})
	s.loc = loadZone(s.Timezone)
	return s, err
}

// ChangeSettings renames the workspace or changes its timezone, where name or
// timezone is not nil, as UpdateSettings does.
func (l *Log) ChangeSettings(ctx context.Context, name, timezone *string, actor string) (Settings, error) {
	s := *l.settings.Load()
	if name != nil {
		s.Workspace = *name
	}
	if timezone != nil {
		s.Timezone = *timezone
	}
	return l.UpdateSettings(ctx, s, actor)
}

// UpdateSettings validates and saves new settings, recording what changed as a
// workspace_settings_updated entry in the Spaces namespace.
func (l *Log) UpdateSettings(ctx context.Context, next Settings, actor string) (Settings, error) {
	next.Workspace = strings.TrimSpace(next.Workspace)
	if next.Workspace == "" || len(next.Workspace) > 80 || checkText(next.Workspace, false) != "" {
		return Settings{}, Errorf(EINVALID, "workspace: 1 to 80 printable characters are required")
	}
	if next.Timezone != "" {
		if _, err := time.LoadLocation(next.Timezone); err != nil {
			return Settings{}, Errorf(EINVALID, "timezone: %q is not a known IANA timezone such as Europe/Berlin", next.Timezone)
		}
	}
	l.settingsMu.Lock() // read, compare and write as one
	defer l.settingsMu.Unlock()
	prev := *l.settings.Load()
	next.loc = loadZone(next.Timezone)
	if prev.Workspace == next.Workspace && prev.Timezone == next.Timezone {
		return prev, nil
	}
	var changes []string
	if prev.Workspace != next.Workspace {
		changes = append(changes, fmt.Sprintf("name from %q to %q", prev.Workspace, next.Workspace))
	}
	if prev.Timezone != next.Timezone {
		changes = append(changes, fmt.Sprintf("timezone from %q to %q", zoneName(prev.Timezone), zoneName(next.Timezone)))
	}
	v, _ := json.Marshal(next)
	err := l.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketMeta).Put(metaSettings, v); err != nil {
			return err
		}
		return l.recordTx(tx, Event{
			Namespace: Spaces,
			Action:    "workspace_settings_updated",
			Detail:    "Changed workspace " + strings.Join(changes, " and "),
			Actor:     actor,
			Targets:   []Target{{Type: "workspace", Name: next.Workspace}},
		})
	})
	if err != nil {
		return Settings{}, fmt.Errorf("store: unable to save settings: %w", err)
	}
	l.settings.Store(&next)
	l.wakeIndexer()
	return next, nil
}

func zoneName(tz string) string {
	if tz == "" {
		return "system"
	}
	return tz
}

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
}

// Location is the timezone entries are shown in.
func (s Settings) Location() *time.Location {
	if s.Timezone != "" {
		if loc, err := time.LoadLocation(s.Timezone); err == nil {
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

// Settings returns the workspace settings.
func (l *Log) Settings(ctx context.Context) (Settings, error) {
	s := Settings{Workspace: DefaultWorkspace}
	err := l.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaSettings); v != nil {
			return json.Unmarshal(v, &s)
		}
		return nil
	})
	return s, err
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
	prev, err := l.Settings(ctx)
	if err != nil {
		return Settings{}, err
	}
	if prev == next {
		return next, nil
	}
	var changes []string
	if prev.Workspace != next.Workspace {
		changes = append(changes, fmt.Sprintf("name from %q to %q", prev.Workspace, next.Workspace))
	}
	if prev.Timezone != next.Timezone {
		changes = append(changes, fmt.Sprintf("timezone from %q to %q", zoneName(prev.Timezone), zoneName(next.Timezone)))
	}
	v, _ := json.Marshal(next)
	err = l.db.Update(func(tx *bolt.Tx) error {
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
	l.wakeIndexer()
	return next, nil
}

func zoneName(tz string) string {
	if tz == "" {
		return "system"
	}
	return tz
}

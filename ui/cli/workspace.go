package cli

import (
	"context"
	"fmt"

	"auditlog/ui/api"
)

// workspace shows the workspace settings, and changes those given as flags.
func (m *Main) workspace(ctx context.Context, args []string) error {
	fs, data := m.flagSet("workspace", "workspace [--name N] [--timezone TZ] [flags]",
		"Show the workspace's name, timezone and retention, or change the name and timezone.")
	name := fs.String("name", "", "rename the workspace")
	tz := fs.String("timezone", "", "show entries in this IANA timezone, e.g. Europe/Berlin (\"system\" for this computer's)")
	if err := m.parseNone(fs, args); err != nil {
		return err
	}
	b, err := m.openExisting(*data, false)
	if err != nil {
		return err
	}
	var w api.Workspace
	if flagWasSet(fs, "name") || flagWasSet(fs, "timezone") {
		var newName, newTZ *string
		if flagWasSet(fs, "name") {
			newName = name
		}
		if flagWasSet(fs, "timezone") {
			newTZ = tz
		}
		w, err = b.UpdateWorkspace(ctx, newName, newTZ)
	} else {
		w, err = b.Workspace(ctx)
	}
	if err != nil {
		return err
	}
	zone := w.Timezone
	if w.SystemTimezone != "" {
		zone += " (" + w.SystemTimezone + ")"
	}
	fmt.Fprintf(m.Stdout, "Workspace: %s\nTimezone:  %s\nRetention: %s\n", w.Name, zone, w.Retention)
	return nil
}

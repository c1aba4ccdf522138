package app

import (
	"archive/zip"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestZoneNamesAreGoTimezoneDatabase(t *testing.T) {
	z, err := zip.OpenReader(filepath.Join(runtime.GOROOT(), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Skipf("the toolchain's timezone database is not here: %v", err)
	}
	defer z.Close()
	var want []string
	for _, f := range z.File {
		if !strings.HasSuffix(f.Name, "/") {
			want = append(want, f.Name)
		}
	}
	slices.Sort(want)
	if !slices.Equal(ZoneNames, want) {
		t.Fatalf("ZoneNames has %d names, the toolchain's database %d: regenerate zonenames.go", len(ZoneNames), len(want))
	}
}

func TestTimezonesAreFoundInAnyLetterCase(t *testing.T) {
	for in, want := range map[string]string{
		"Europe/Berlin": "Europe/Berlin", "europe/berlin": "Europe/Berlin", "AMERICA/NEW_YORK": "America/New_York",
		"system": "", "Local": "", "": "", " utc ": "UTC",
		// As the computer's zoneinfo also names them: saved so before, they keep their zone.
		"posix/Europe/Berlin": "Europe/Berlin", "right/UTC": "UTC",
	} {
		loc, name, err := LoadZone(in)
		if err != nil || name != want || loc == nil {
			t.Errorf("LoadZone(%q) = %v, %q, %v; want %q", in, loc, name, err, want)
		}
	}
	// Other names only this computer's zoneinfo has are as unknown as made-up
	// ones: the data may move to a computer without them.
	for _, tz := range []string{"Mars/Olympus", "posix/Mars/Olympus", "posixrules", "posix/", "zoneinfo/Europe/Berlin"} {
		if _, _, err := LoadZone(tz); ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "timezone") {
			t.Errorf("LoadZone(%q): %v", tz, err)
		}
	}
}

// The server names its "system" zone as TZ names it, in each form TZ takes.
func TestTheSystemZoneIsNamedAsTZNamesIt(t *testing.T) {
	if _, err := time.LoadLocation("Asia/Kolkata"); err != nil {
		t.Skip("no timezone database here:", err)
	}
	for tz, want := range map[string]string{
		"Asia/Kolkata":                         "Asia/Kolkata",
		":Europe/Berlin":                       "Europe/Berlin",
		"/usr/share/zoneinfo/America/New_York": "America/New_York",
	} {
		t.Setenv("TZ", tz)
		if got := systemZoneName(); got != want {
			t.Errorf("TZ=%s: the system zone is named %q, want %q", tz, got, want)
		}
	}
}

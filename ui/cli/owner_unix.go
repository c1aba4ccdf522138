//go:build unix

package cli

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives tmp, about to replace old, old's owner and group where it
// may, and returns the permissions tmp should then have: old's, or, when
// tmp cannot take old's group, old's without those of the group and others,
// which would otherwise go to another group (the exporter's own) than the
// one old was shared with.
func keepOwner(tmp *os.File, old fs.FileInfo) fs.FileMode {
	perm := old.Mode().Perm()
	st, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return perm &^ 0o077
	}
	if tmp.Chown(int(st.Uid), int(st.Gid)) == nil || tmp.Chown(-1, int(st.Gid)) == nil {
		return perm
	}
	return perm &^ 0o077
}

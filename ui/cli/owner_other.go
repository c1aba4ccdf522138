//go:build !unix

package cli

import (
	"io/fs"
	"os"
)

// keepOwner returns the permissions tmp, about to replace old, should have:
// old's (a file's owner and group are not Unix's here).
func keepOwner(tmp *os.File, old fs.FileInfo) fs.FileMode { return old.Mode().Perm() }

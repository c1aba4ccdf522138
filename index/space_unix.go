//go:build unix

package index

import "syscall"

// freeSpace is how many bytes an unprivileged writer may still put on the
// filesystem holding dir; ok is false when that cannot be told.
func freeSpace(dir string) (free uint64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}

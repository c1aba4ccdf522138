//go:build !unix

package cli

import "os"

// processAlive tells whether a process with this id runs: on Windows,
// finding a process opens it, which fails once it has ended.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

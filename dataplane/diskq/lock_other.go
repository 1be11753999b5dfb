//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package diskq

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates the lock file of dir. This platform has no flock: two
// queues on one directory are not detected.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open lock file: %w", err)
	}
	return f, nil
}

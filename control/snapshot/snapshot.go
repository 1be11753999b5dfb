// Package snapshot keeps the data of an embedded Redis (miniredis) in a
// file, so that `streamgate up` without an external Redis keeps the control
// plane's state (the draft, the manifest history, the published manifest)
// across restarts.
//
// The file is versioned JSON written from miniredis's own API: every key of
// database 0 with its type (string, hash, list, set, sorted set), its value
// and its expiry, so that a key the control plane starts to use is kept
// without a change here. It is written atomically (a temporary file in the
// same directory, fsync, rename, fsync of the directory), mode 0600, in a
// directory created mode 0700: the published manifests hold the outputs'
// header values, vendor API keys among them.
//
// A file that cannot be read or decoded is moved aside, never overwritten,
// and the Redis starts empty; a file of a newer format version is refused
// (ErrNewerFormat).
package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// FileName is the name of the snapshot in its directory.
const FileName = "redis-snapshot.json"

// DefaultRetryEvery is how long after a failed save the Snapshotter tries
// again; the wait doubles with every failure, up to maxRetryEvery.
const DefaultRetryEvery = 5 * time.Second

// maxRetryEvery bounds the wait between retries, and so how often a
// lasting failure is logged.
const maxRetryEvery = time.Minute

// Options configure a Snapshotter. The zero value is the default.
type Options struct {
	// Logger receives what the Snapshotter reports; nil means
	// slog.Default().
	Logger *slog.Logger
	// RetryEvery is how long after a failed Changed it saves again; 0
	// means DefaultRetryEvery.
	RetryEvery time.Duration
}

// Snapshotter saves a miniredis's data to a file and loads it back. Its
// methods are safe for concurrent use.
type Snapshotter struct {
	m     *miniredis.Miniredis
	path  string
	log   *slog.Logger
	retry time.Duration
	now   func() time.Time // tests set it

	requested atomic.Uint64 // saves asked for so far
	writes    atomic.Uint64 // files written
	failures  atomic.Uint64 // saves failed

	mu      sync.Mutex
	done    uint64        // the saves asked for that the last successful one covered; mu
	last    []byte        // what the file holds as this process last read or wrote it, nil for none; mu
	failing bool          // the last save failed; mu
	wait    time.Duration // before the next retry; mu
	timer   *time.Timer   // the pending retry, or nil; mu
	closed  bool          // mu
}

// New returns a Snapshotter of m's database 0 to the file at path. Load it
// before m serves anyone.
func New(m *miniredis.Miniredis, path string, opts Options) *Snapshotter {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryEvery <= 0 {
		opts.RetryEvery = DefaultRetryEvery
	}
	return &Snapshotter{m: m, path: path, log: opts.Logger, retry: opts.RetryEvery, wait: opts.RetryEvery, now: time.Now}
}

// Path returns the snapshot's path.
func (s *Snapshotter) Path() string { return s.path }

// Writes returns how many times the file has been written.
func (s *Snapshotter) Writes() uint64 { return s.writes.Load() }

// Failures returns how many saves have failed.
func (s *Snapshotter) Failures() uint64 { return s.failures.Load() }

// Load fills the Redis, which must be empty, from the file, and returns
// how many keys it restored: none if there is no file. A file that cannot
// be read or is not a valid snapshot is moved aside, to
// <path>.corrupt-<UTC time>, with an ERROR log naming both paths, and the
// Redis is left empty. Load returns an error, and the caller should not
// start, if the file is of a newer format version (ErrNewerFormat) or
// cannot be moved aside.
func (s *Snapshotter) Load() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.m.DB(0).Keys()); n > 0 {
		return 0, fmt.Errorf("BUG: cannot load the redis snapshot %s into a redis that holds %d keys", s.path, n)
	}
	s.removeTemps()
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	var keys []key
	if err == nil {
		keys, err = decode(data)
		if errors.Is(err, ErrNewerFormat) {
			return 0, fmt.Errorf("cannot load the redis snapshot %s: %w; run that streamgate, or move the file away to start with an empty redis", s.path, err)
		}
	}
	n := 0
	if err == nil {
		if n, err = restore(s.m, keys, s.now()); err != nil {
			s.m.DB(0).FlushDB()
		}
	}
	if err != nil {
		aside, merr := moveAside(s.path, s.now())
		if merr != nil {
			return 0, fmt.Errorf("cannot load the redis snapshot %s: %w; and cannot move it aside to start empty: %w", s.path, err, merr)
		}
		s.log.Error("the redis snapshot cannot be loaded: moved aside, and the embedded redis starts empty",
			"path", s.path, "moved_to", aside, "err", err)
		return 0, nil
	}
	s.last = data
	return n, nil
}

// removeTemps removes the temporary files a save that did not finish left
// behind.
func (s *Snapshotter) removeTemps() {
	tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(s.path), tempPrefix(s.path)+"*"))
	for _, t := range tmps {
		os.Remove(t)
	}
}

// Save writes the Redis's data to the file now, unless it is what the file
// holds already, or a save that started after this call began has written
// it. With no file and no key, no file is written. After Close it does
// nothing.
func (s *Snapshotter) Save() error {
	n := s.requested.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return s.saveLocked(n, false)
}

// Changed saves as Save does, for a caller that has just written to the
// Redis: the Store calls it after every write, so a change is on disk
// before the API answers. A failure is logged and counted, and the save is
// tried again later until one succeeds.
func (s *Snapshotter) Changed() {
	n := s.requested.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.reportLocked(s.saveLocked(n, false))
	}
}

// Close stops the retries and saves one last time, rewriting the file even
// if this process wrote the same before (but writing none for an empty
// Redis that had none). A Snapshotter closed saves nothing more.
func (s *Snapshotter) Close() error {
	n := s.requested.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	err := s.saveLocked(n, true)
	if err != nil {
		s.failures.Add(1)
	}
	return err
}

// saveLocked saves unless a save that covered request n succeeded already.
// force writes even what the file held when this process last saw it.
// Lock should be held.
func (s *Snapshotter) saveLocked(n uint64, force bool) error {
	if s.done >= n {
		return nil
	}
	upTo := s.requested.Load()
	data, keys, err := encode(s.m, s.now())
	if err != nil {
		return fmt.Errorf("cannot save the redis snapshot %s: %w", s.path, err)
	}
	write := force || !bytes.Equal(data, s.last)
	if keys == 0 && s.last == nil {
		// Nothing to keep, and no file to bring up to date.
		_, err := os.Lstat(s.path)
		write = write && !errors.Is(err, fs.ErrNotExist)
	}
	if write {
		if err := writeFile(s.path, data); err != nil {
			return fmt.Errorf("cannot save the redis snapshot %s: %w", s.path, err)
		}
		s.writes.Add(1)
		s.last = data
	}
	s.done = upTo
	return nil
}

// reportLocked logs and counts a failed save, and schedules a retry; after
// a success that follows failures, it says so. Lock should be held.
func (s *Snapshotter) reportLocked(err error) {
	if err == nil {
		if s.failing {
			s.failing = false
			s.wait = s.retry
			s.log.Info("the redis snapshot is saved again", "path", s.path)
		}
		return
	}
	s.failures.Add(1)
	s.failing = true
	s.log.Error("the redis snapshot was not saved: a restart now would lose the last changes; retrying", "err", err, "retry_in", s.wait)
	if s.timer == nil && !s.closed {
		s.timer = time.AfterFunc(s.wait, s.retrySave)
		s.wait = min(2*s.wait, maxRetryEvery)
	}
}

// retrySave is the retry a failed save scheduled.
func (s *Snapshotter) retrySave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil
	if s.closed || !s.failing {
		return
	}
	s.reportLocked(s.saveLocked(s.requested.Load(), false))
}

// syncFile is (*os.File).Sync; tests replace it to fail a write.
var syncFile = (*os.File).Sync

// tempPrefix is the name prefix of path's temporary files.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// writeFile replaces the file at path with data, atomically: the file at
// path is the old one or the new one, whole, even after a crash. The
// directory is created, mode 0700, if missing; the file is mode 0600. A
// failed write leaves the old file as it was and no temporary file behind.
func writeFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := mkdirSynced(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := syncFile(f); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// mkdirSynced creates dir, mode 0700, with its missing parents, and syncs
// the parent of each directory it created so the new entries last.
func mkdirSynced(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirSynced(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir flushes dir's entries to disk. File systems that cannot sync a
// directory are let be.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("cannot sync directory %s: %w", dir, err)
	}
	return nil
}

// moveAside renames path to path.corrupt-<UTC time>, with a -N suffix if
// that name is taken, and returns the new name. It never replaces a file.
func moveAside(path string, now time.Time) (string, error) {
	base := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	for i := 1; i < 100; i++ {
		aside := base
		if i > 1 {
			aside += "-" + strconv.Itoa(i)
		}
		// A hard link fails rather than replace a file that appeared
		// meanwhile, which a rename would.
		err := os.Link(path, aside)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			if !isLinkUnsupported(err) {
				return "", err
			}
			if _, serr := os.Lstat(aside); serr == nil {
				continue
			}
			if err := os.Rename(path, aside); err != nil {
				return "", err
			}
			return aside, syncDir(filepath.Dir(path))
		}
		if err := os.Remove(path); err != nil {
			return "", err
		}
		return aside, syncDir(filepath.Dir(path))
	}
	return "", fmt.Errorf("too many files named %s*", base)
}

// isLinkUnsupported reports whether err says that path cannot be hard
// linked: the file system has no hard links, or path is a directory.
func isLinkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EXDEV)
}

package deadletter

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBytes bounds one output's dead-letter file.
const DefaultMaxBytes = 64 << 20

// Ext is the extension of a dead-letter file.
const Ext = ".jsonl"

// Modes of what the package creates: only the data plane's user may read
// what its outputs were refused.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

var (
	// ErrFull is the error of an Append that would take the file past its
	// bound: the batch is not kept.
	ErrFull = errors.New("dead-letter file full")
	// ErrBusy is the error of a Replay or a Purge while another runs on
	// the same file.
	ErrBusy = errors.New("a replay or purge of these dead letters is under way")
)

// Dir is the folder of a data plane's dead-letter files, one per output.
// Nothing is created on disk before the first Append.
type Dir struct {
	path string
	max  int64

	mu    sync.Mutex
	files map[string]*File // by file name; mu
}

// New returns the dead-letter folder at path, each of whose files holds at
// most maxBytes (DefaultMaxBytes when maxBytes <= 0).
func New(path string, maxBytes int64) *Dir {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Dir{path: path, max: maxBytes, files: make(map[string]*File)}
}

// Path is the folder's path.
func (d *Dir) Path() string { return d.path }

// MaxBytes is the bound of each file.
func (d *Dir) MaxBytes() int64 { return d.max }

// maxSafeName bounds the part of a file name taken from an output's name.
const maxSafeName = 100

// FileName returns the name of the file of the output called output: the
// name with every byte other than an ASCII letter, a digit, '.', '_' or
// '-' written '_' (and a leading '.' too), cut to 100 bytes, then, when
// that changed it, '-' and the first 12 hex digits of the name's SHA-256,
// so that two names never share a file; then ".jsonl".
// "http:http://host:9000/logs" is "http_http___host_9000_logs-<hash>.jsonl",
// "console" is "console.jsonl".
func FileName(output string) string {
	b := []byte(output)
	changed := len(b) == 0 || len(b) > maxSafeName
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == '.' && i > 0:
		default:
			b[i] = '_'
			changed = true
		}
	}
	b = b[:min(len(b), maxSafeName)]
	if changed {
		sum := sha256.Sum256([]byte(output))
		b = append(append(b, '-'), hex.EncodeToString(sum[:6])...)
	}
	return string(b) + Ext
}

// File returns the dead-letter file of the output called output.
func (d *Dir) File(output string) *File {
	name := FileName(output)
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.files[name]
	if f == nil {
		f = &File{dir: d, path: filepath.Join(d.path, name), output: output}
		d.files[name] = f
	} else if f.output == "" {
		f.mu.Lock()
		f.output = output
		f.mu.Unlock()
	}
	return f
}

// Lookup returns the dead-letter file of the output called output if this
// Dir has handed it out or it exists on disk, without adding a handle for
// a name that has neither.
func (d *Dir) Lookup(output string) (*File, bool) {
	name := FileName(output)
	d.mu.Lock()
	f := d.files[name]
	d.mu.Unlock()
	if f != nil {
		return f, true
	}
	if fi, err := os.Stat(filepath.Join(d.path, name)); err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	return d.File(output), true
}

// List returns the stats of every file that holds an entry, or a damaged
// line, sorted by output name: those of outputs running now and those left
// by earlier ones.
func (d *Dir) List() ([]Stats, error) {
	des, err := os.ReadDir(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list dead letters: %w", err)
	}
	var out []Stats
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), Ext) {
			continue
		}
		d.mu.Lock()
		f := d.files[de.Name()]
		if f == nil { // an output not seen since start: its name is in its entries
			f = &File{dir: d, path: filepath.Join(d.path, de.Name())}
			d.files[de.Name()] = f
		}
		d.mu.Unlock()
		st, err := f.Stats()
		if err != nil {
			return nil, err
		}
		if st.Entries > 0 || st.Damaged > 0 {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b Stats) int { return strings.Compare(a.Output, b.Output) })
	return out, nil
}

// Stats describe a dead-letter file.
type Stats struct {
	Output  string    `json:"output"`
	Entries int       `json:"entries"`
	Lines   int       `json:"lines"`
	Bytes   int64     `json:"bytes"`
	Oldest  time.Time `json:"oldest,omitzero"`
	Newest  time.Time `json:"newest,omitzero"`
	// Damaged counts the file's lines that are not entries: cut short by
	// a crash, or edited by hand. A replay keeps them; a purge removes them.
	Damaged int `json:"damaged,omitempty"`
}

// add counts an entry of size bytes.
func (s *Stats) add(e *Entry, size int) {
	s.Entries++
	s.Lines += len(e.Lines)
	s.Bytes += int64(size)
	if s.Oldest.IsZero() || e.Time.Before(s.Oldest) {
		s.Oldest = e.Time
	}
	if e.Time.After(s.Newest) {
		s.Newest = e.Time
	}
}

// File is the dead-letter file of one output. Its methods are safe for
// concurrent use: one Append at a time writes, and Replay and Purge
// exclude each other.
type File struct {
	dir  *Dir
	path string

	mu     sync.Mutex
	output string       // mu; "" until known, for a file found on disk
	w      *os.File     // append handle; nil until the first Append and after a rewrite; mu
	size   int64        // the file's size while w is open; mu
	stats  *Stats       // nil until computed, and after a rewrite; mu
	busy   bool         // a Replay or Purge runs; mu
	buf    bytes.Buffer // Append's encoding; mu
}

// Path is the file's path.
func (f *File) Path() string { return f.path }

// Append adds e to the file, creating the folder (mode 0700) and the file
// (mode 0600) if need be. It returns ErrFull, and keeps nothing, when e
// would take the file past its bound. It does not sync: an entry survives
// a crash of the process, not of the machine.
func (f *File) Append(e *Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.buf.Reset()
	if err := appendEntry(&f.buf, e); err != nil {
		return fmt.Errorf("cannot encode dead letter: %w", err)
	}
	if f.w == nil {
		if err := f.openLocked(); err != nil {
			return err
		}
	}
	if f.size+int64(f.buf.Len()) > f.dir.max {
		return ErrFull
	}
	n, err := f.w.Write(f.buf.Bytes())
	f.size += int64(n)
	if err != nil {
		// Part of the line may be there: the next open ends it.
		f.closeLocked()
		f.stats = nil
		return fmt.Errorf("cannot write dead letter: %w", err)
	}
	if f.output == "" {
		f.output = e.Output
	}
	if f.stats != nil {
		f.stats.add(e, n)
	}
	return nil
}

// openLocked opens the file for appending. A file that does not end with
// a newline (a write cut short) gets one, so that the damage stays on its
// line. Lock should be held.
func (f *File) openLocked() error {
	if err := os.MkdirAll(f.dir.path, dirMode); err != nil {
		return fmt.Errorf("cannot create dead-letter folder: %w", err)
	}
	w, err := os.OpenFile(f.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("cannot open dead-letter file: %w", err)
	}
	fi, err := w.Stat()
	if err != nil {
		w.Close()
		return fmt.Errorf("cannot open dead-letter file: %w", err)
	}
	size := fi.Size()
	if size > 0 {
		last := make([]byte, 1)
		if _, err := w.ReadAt(last, size-1); err != nil {
			w.Close()
			return fmt.Errorf("cannot read dead-letter file: %w", err)
		}
		if last[0] != '\n' {
			n, err := w.Write([]byte{'\n'})
			size += int64(n)
			if err != nil {
				w.Close()
				return fmt.Errorf("cannot write dead letter: %w", err)
			}
			f.stats = nil
		}
	}
	f.w, f.size = w, size
	return nil
}

// closeLocked closes the append handle. Lock should be held.
func (f *File) closeLocked() {
	if f.w != nil {
		f.w.Close()
		f.w = nil
	}
}

// sizeLocked is the file's size, 0 when it does not exist, as the file
// system says: what Append counted would miss what was written by hand.
// Lock should be held.
func (f *File) sizeLocked() (int64, error) {
	fi, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read dead letters: %w", err)
	}
	return fi.Size(), nil
}

// Stats describes the file, reading it whole the first time and keeping
// count from then on.
func (f *File) Stats() (Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stats == nil {
		st, err := f.scanStatsLocked()
		if err != nil {
			return Stats{}, err
		}
		f.stats = &st
	}
	st := *f.stats
	st.Output = f.output
	if st.Output == "" {
		st.Output = strings.TrimSuffix(filepath.Base(f.path), Ext)
	}
	return st, nil
}

// scanStatsLocked reads the file whole and counts what it holds. It learns
// the output's name from the first entry if it did not know it. Lock
// should be held.
func (f *File) scanStatsLocked() (Stats, error) {
	var st Stats
	r, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("cannot read dead letters: %w", err)
	}
	defer r.Close()
	err = Scan(r, func(raw []byte, e *Entry, err error) bool {
		if err != nil {
			st.Damaged++
			return true
		}
		st.add(e, len(raw))
		if f.output == "" {
			f.output = e.Output
		}
		return true
	})
	if err != nil {
		return st, fmt.Errorf("cannot read dead letters: %w", err)
	}
	return st, nil
}

// Entries calls fn with each entry of the file, oldest first, until fn
// returns false. Damaged lines are skipped. Entries appended meanwhile may
// or may not be seen.
func (f *File) Entries(fn func(e *Entry) bool) error {
	f.mu.Lock()
	size, err := f.sizeLocked()
	f.mu.Unlock()
	if err != nil || size == 0 {
		return err
	}
	r, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read dead letters: %w", err)
	}
	defer r.Close()
	err = Scan(io.NewSectionReader(r, 0, size), func(_ []byte, e *Entry, err error) bool {
		return err != nil || fn(e)
	})
	if err != nil {
		return fmt.Errorf("cannot read dead letters: %w", err)
	}
	return nil
}

// ReplayResult is what a Replay did.
type ReplayResult struct {
	// Entries and Lines are what it took out of the file: entries removed
	// whole, and lines sent (those of entries removed, and those sent of
	// entries kept in part).
	Entries int `json:"replayed_entries"`
	Lines   int `json:"replayed_lines"`
	// Remaining is what the file holds after it, entries added meanwhile
	// included.
	Remaining Stats `json:"-"`
}

// Replay calls send with each entry of the file, oldest first. send
// returns what of the entry to keep: nil when every line went, or an entry
// with the lines still to keep (which may be the entry itself, unchanged);
// and an error to stop the replay, the entries after that one kept as they
// are. Entries appended during the replay are kept; damaged lines are
// kept. The file is then rewritten with what is kept, or removed when
// nothing is. Replay returns send's error, or the error that kept it from
// reading or rewriting the file: then the file is left as it was, and the
// lines sent will be sent again by the next Replay.
func (f *File) Replay(send func(e *Entry) (*Entry, error)) (ReplayResult, error) {
	var res ReplayResult
	f.mu.Lock()
	if f.busy {
		f.mu.Unlock()
		return res, ErrBusy
	}
	end, err := f.sizeLocked()
	if err != nil || end == 0 {
		f.mu.Unlock()
		return res, err
	}
	f.busy = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.busy = false
		f.mu.Unlock()
	}()

	src, err := os.Open(f.path)
	if err != nil {
		return res, fmt.Errorf("cannot read dead letters: %w", err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(f.dir.path, ".replay-*") // mode 0600
	if err != nil {
		return res, fmt.Errorf("cannot rewrite dead letters: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var (
		out     bytes.Buffer
		stop    error // send's
		failure error // writing tmp
	)
	keep := func(raw []byte) {
		if failure == nil {
			if _, failure = tmp.Write(raw); failure == nil && raw[len(raw)-1] != '\n' {
				_, failure = tmp.Write([]byte{'\n'})
			}
		}
	}
	err = Scan(io.NewSectionReader(src, 0, end), func(raw []byte, e *Entry, derr error) bool {
		if derr != nil || stop != nil {
			keep(raw)
			return failure == nil
		}
		rest, err := send(e)
		stop = err
		if rest == nil {
			res.Entries++
			res.Lines += len(e.Lines)
			return true
		}
		res.Lines += max(0, len(e.Lines)-len(rest.Lines))
		out.Reset()
		if failure = appendEntry(&out, rest); failure == nil {
			keep(out.Bytes())
		}
		return failure == nil
	})
	if err == nil {
		err = failure
	}
	if err != nil {
		return res, errors.Join(stop, fmt.Errorf("cannot rewrite dead letters: %w", err))
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	// What was appended meanwhile, to the file being replaced.
	if _, err := src.Seek(end, io.SeekStart); err == nil {
		_, err = io.Copy(tmp, src)
		if err != nil {
			return res, errors.Join(stop, fmt.Errorf("cannot rewrite dead letters: %w", err))
		}
	} else {
		return res, errors.Join(stop, fmt.Errorf("cannot rewrite dead letters: %w", err))
	}
	if err := f.commitLocked(tmp); err != nil {
		return res, errors.Join(stop, err)
	}
	committed = true
	st, err := f.scanStatsLocked()
	if err != nil {
		return res, errors.Join(stop, err)
	}
	f.stats = &st
	res.Remaining = st
	res.Remaining.Output = f.output
	return res, stop
}

// commitLocked puts tmp in the file's place, or removes both when tmp is
// empty. Lock should be held.
func (f *File) commitLocked(tmp *os.File) error {
	fi, err := tmp.Stat()
	if err == nil {
		err = tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("cannot rewrite dead letters: %w", err)
	}
	f.closeLocked()
	f.stats = nil
	if fi.Size() == 0 {
		os.Remove(tmp.Name())
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot remove dead letters: %w", err)
		}
		return nil
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cannot rewrite dead letters: %w", err)
	}
	return nil
}

// Purge removes the file and returns what it held.
func (f *File) Purge() (Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		return Stats{}, ErrBusy
	}
	st, err := f.scanStatsLocked()
	if err != nil {
		return st, err
	}
	st.Output = f.output
	f.closeLocked()
	if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		f.stats = nil
		return st, fmt.Errorf("cannot purge dead letters: %w", err)
	}
	f.stats = &Stats{}
	return st, nil
}

package pipeline

// This file settles the batches whose Write failed, keeps those an
// output's destination refused for good (output.PermanentError) as dead
// letters in DataDir/dlq (package deadletter), and sends them again on
// demand, through the output that refused them.

import (
	"context"
	"errors"
	"fmt"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/deadletter"
	"streamgate/dataplane/output"
	"streamgate/dataplane/record"
)

// settlement is how the lines of a batch whose Write failed are counted.
type settlement struct {
	delivered, failed, rejected int
	// perm is the refusal for good, and dead the lines it refused; nil
	// when there was none.
	perm *output.PermanentError
	dead [][]byte
}

// settle splits lines, a batch whose Write failed with err, into the
// lines delivered, failed, rejected (refused for good, unnamed) and dead
// (refused for good, named).
func settle(lines [][]byte, err error) settlement {
	var s settlement
	n := len(lines)
	var perm *output.PermanentError
	if errors.As(err, &perm) {
		s.perm, s.dead = perm, refusedLines(lines, perm.Lines)
		s.failed = min(max(perm.Failed, 0), n-len(s.dead))
		s.delivered = n - len(s.dead) - s.failed
		return s
	}
	// A destination that answered for each line without naming those it
	// refused kept the others.
	var rej *output.RejectedError
	if errors.As(err, &rej) {
		s.rejected = min(max(rej.Rejected, 0), n)
		s.delivered = n - s.rejected
		return s
	}
	s.failed = n
	return s
}

// refusedLines returns the lines at idx, all of them when idx is nil.
// Indexes out of range or out of order are ignored.
func refusedLines(lines [][]byte, idx []int) [][]byte {
	if idx == nil {
		return lines
	}
	out := make([][]byte, 0, len(idx))
	last := -1
	for _, i := range idx {
		if i > last && i < len(lines) {
			out = append(out, lines[i])
			last = i
		}
	}
	return out
}

// writeFailed counts s, the settlement of a batch whose Write to r's
// output failed with err, and keeps the lines refused for good as dead
// letters. It reports whether every line was delivered or kept as a dead
// letter. Its log lines are rate-limited by *lastLog, the lane's.
func (p *Pipeline) writeFailed(r *outputRunner, s settlement, err error, lastLog *time.Time) (kept bool) {
	r.delivered.Add(s.delivered)
	r.rejected.Add(s.rejected)
	r.failed.Add(s.failed)
	var derr error
	if s.perm != nil {
		derr = p.deadLetter(r, s.perm, s.dead)
	}
	kept = derr == nil && s.failed == 0 && s.rejected == 0
	now := time.Now()
	if now.Sub(*lastLog) < errLogEvery {
		return kept
	}
	*lastLog = now
	switch {
	case derr != nil:
		p.log.Error("cannot keep dead letters: output dropped a batch", "output", r.name, "lines", len(s.dead),
			"status", s.perm.Status, "file", r.dead.Path(), "dead_letter_err", derr, "err", err)
	case s.failed+s.rejected > 0:
		p.log.Error("output dropped a batch", "output", r.name, "lines", s.failed+s.rejected, "err", err)
	default:
		p.log.Warn("output's destination refused a batch for good: kept as dead letters", "output", r.name,
			"lines", len(s.dead), "status", s.perm.Status, "err", err)
	}
	return kept
}

// deadLetter appends lines, refused for good by r's destination, to r's
// dead-letter file, and counts them as dead letters, or as dropped
// (reason dead_letter_full) when the file is full or cannot be written.
func (p *Pipeline) deadLetter(r *outputRunner, perm *output.PermanentError, lines [][]byte) error {
	if len(lines) == 0 {
		return nil
	}
	err := r.dead.Append(&deadletter.Entry{Time: time.Now(), Output: r.name, Status: perm.Status, Response: perm.Response, Lines: lines})
	if err != nil {
		r.deadFull.Add(len(lines))
		return err
	}
	r.deadLettered.Add(len(lines))
	return nil
}

// ErrNoOutput is the error of a dead-letter operation on an output that is
// not running (Replay) or that has neither run nor left dead letters.
var ErrNoOutput = errors.New("no such output")

// DeadLetters returns what every output's dead-letter file holds, those of
// outputs no longer running included, sorted by output name.
func (p *Pipeline) DeadLetters() ([]deadletter.Stats, error) { return p.dlq.List() }

// DeadLetterDir is the folder of the dead-letter files.
func (p *Pipeline) DeadLetterDir() string { return p.dlq.Path() }

// DeadLetterFile returns the dead-letter file of the output called name:
// one running now, or one that left a file. It returns ErrNoOutput for a
// name that is neither.
func (p *Pipeline) DeadLetterFile(name string) (*deadletter.File, error) {
	if r := p.liveOutput(name); r != nil {
		return r.dead, nil
	}
	if f, ok := p.dlq.Lookup(name); ok {
		return f, nil
	}
	return nil, fmt.Errorf("%w: %q is not running and left no dead letters", ErrNoOutput, name)
}

// liveOutput returns the runner of the current configuration named name,
// or nil.
func (p *Pipeline) liveOutput(name string) *outputRunner {
	for _, r := range p.cur.Load().outs {
		if r.name == name {
			return r
		}
	}
	return nil
}

// ReplayResult is what a ReplayDeadLetters did.
type ReplayResult struct {
	deadletter.ReplayResult
	// Incomplete is set when the replay stopped at its time budget, with
	// entries left to send.
	Incomplete bool
}

// RefusedError is the error of a replay that an output's destination
// refused for good again: the replay stops there.
type RefusedError struct {
	Status int // the destination's HTTP status
	Err    error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused again with status %d: %v", e.Status, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// errBudget stops a replay that has used its time.
var errBudget = errors.New("time budget used")

// ReplayDeadLetters sends the dead letters of the running output called
// name again, oldest first, through that output directly (its lines were
// processed already), until they are all delivered, one is refused again,
// a Write fails, or budget has passed: no entry is started after it.
//
// An entry delivered is removed from the file, its lines counted as
// delivered and replayed. One refused for good again stays, with the lines
// refused (and the new status and answer), and the replay stops with a
// *RefusedError; one whose Write fails otherwise stays whole, and the
// replay stops with that error (lines of it the destination took may be
// sent again by a later replay: at least once). Lines a destination
// refuses without naming them (an otlp partial success) are counted as
// dropped, reason rejected, and replayed: they cannot be kept.
func (p *Pipeline) ReplayDeadLetters(ctx context.Context, name string, budget time.Duration) (ReplayResult, error) {
	var res ReplayResult
	r := p.liveOutput(name)
	if r == nil {
		return res, fmt.Errorf("%w: %q is not running, and a replay sends dead letters through the running output of their name (list and purge work without it)", ErrNoOutput, name)
	}
	// Hold the output's series: the counters below must not be retired,
	// should a reload remove it meanwhile, until the replay is done.
	p.mu.Lock()
	p.names[name]++
	replayed := p.m.DeadLetterReplayed(name)
	p.mu.Unlock()
	defer p.releaseName(name)

	deadline := time.Now().Add(budget)
	var err error
	res.ReplayResult, err = r.dead.Replay(func(e *deadletter.Entry) (*deadletter.Entry, error) {
		if time.Now().After(deadline) {
			res.Incomplete = true
			return e, errBudget
		}
		return p.replayEntry(ctx, r, replayed, e)
	})
	if errors.Is(err, errBudget) {
		err = nil
	}
	return res, err
}

// replayEntry writes e's lines to r's output and says what of e to keep,
// counting what went.
func (p *Pipeline) replayEntry(ctx context.Context, r *outputRunner, replayed *vm.Counter, e *deadletter.Entry) (*deadletter.Entry, error) {
	size := 0
	for _, l := range e.Lines {
		size += len(l)
	}
	b := record.Get(size)
	for _, l := range e.Lines {
		b.AppendLine(l)
	}
	err := r.out.Write(ctx, b)
	record.Put(b)
	n := len(e.Lines)
	if err == nil {
		r.delivered.Add(n)
		replayed.Add(n)
		return nil, nil
	}
	s := settle(e.Lines, err)
	if s.failed > 0 {
		return e, fmt.Errorf("cannot replay: %w", err)
	}
	r.delivered.Add(s.delivered)
	r.rejected.Add(s.rejected)
	replayed.Add(s.delivered + s.rejected)
	if len(s.dead) == 0 {
		return nil, nil
	}
	rest := &deadletter.Entry{Time: e.Time, Output: e.Output, Status: s.perm.Status, Response: s.perm.Response, Lines: s.dead}
	return rest, &RefusedError{Status: s.perm.Status, Err: err}
}

// PurgeDeadLetters removes the dead-letter file of the output called name,
// counting its lines as purged, and returns what it held.
func (p *Pipeline) PurgeDeadLetters(name string) (deadletter.Stats, error) {
	f, err := p.DeadLetterFile(name)
	if err != nil {
		return deadletter.Stats{}, err
	}
	st, err := f.Purge()
	// Under mu, so the output's series is not retired between the lookup
	// and the count; an output not running counts in the series without a
	// label.
	p.mu.Lock()
	label := name
	if p.names[name] == 0 {
		label = ""
	}
	p.m.DeadLetterPurged(label).Add(st.Lines)
	p.mu.Unlock()
	return st, err
}

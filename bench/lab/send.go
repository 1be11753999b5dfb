package lab

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"streamgate/loadgen/sender"
)

// Load says what a sender sends: the flags of `loadgen send`. Every
// sender uses corpus seed 1, so runs send the same lines.
type Load struct {
	// Target is tcp://host:port, udp://host:port or http://host:port/path.
	Target string
	// Lines stops the sender after this many lines; 0 means no count.
	Lines int64
	// Rate is the open-loop rate in lines/s; 0 means closed loop.
	Rate int
	// Duration stops the sender after this long; 0 means no limit.
	Duration time.Duration
	// Conns is the number of connections; 0 means loadgen's default.
	Conns int
	// Flags come after the others, e.g. the corpus mix: -ssn 0.
	Flags []string
	// MayCut says the run is meant to be cut short under the sender (the
	// proxy is stopped or killed while it sends): Wait then returns the
	// summary as it is, with the sender's own error if any, and does not
	// reject a short count. Without it a short count is an error; see
	// checkSent.
	MayCut bool
}

// NoPII are the sender's corpus flags for lines without SSNs, card
// numbers or email addresses: for a proxy without redaction rules, whose
// sink would count them as leaks.
func NoPII() []string { return []string{"-ssn", "0", "-card", "0", "-email", "0"} }

// args are the command line of `loadgen send` for l.
func (l Load) args() []string {
	a := []string{"send", "-target", l.Target, "-seed", "1"}
	if l.Conns > 0 {
		a = append(a, "-conns", strconv.Itoa(l.Conns))
	}
	if l.Lines > 0 {
		a = append(a, "-lines", strconv.FormatInt(l.Lines, 10))
	}
	if l.Rate > 0 {
		a = append(a, "-rate", strconv.Itoa(l.Rate))
	}
	if l.Duration > 0 {
		a = append(a, "-duration", l.Duration.String())
	}
	return append(a, l.Flags...)
}

// Sender is a running `loadgen send`.
type Sender struct {
	// Proc is the process.
	Proc *Proc
	// Target is where it sends.
	Target string
	load   Load
	args   []string
}

// StartSender starts a sender as l says, in the background.
func (r Rig) StartSender(l Load) (*Sender, error) {
	args := l.args()
	p, err := Start("loadgen", r.Loadgen, args...)
	if err != nil {
		return nil, err
	}
	return &Sender{Proc: p, Target: l.Target, load: l, args: args}, nil
}

// Send runs a sender as l says to the end and returns its summary; see
// Sender.Wait.
func (r Rig) Send(l Load) (sender.Summary, error) {
	s, err := r.StartSender(l)
	if err != nil {
		return sender.Summary{}, err
	}
	return s.Wait()
}

// Wait waits for the sender to finish and returns its summary. A sender
// that failed midway still gives its summary, with the error. A sender
// that cut lines short or sent fewer lines than asked is an error too,
// unless its Load says MayCut.
func (s *Sender) Wait() (sender.Summary, error) {
	var sum sender.Summary
	werr := s.Proc.Wait()
	cmd := "loadgen " + strings.Join(s.args, " ")
	out := strings.TrimSpace(s.Proc.Stdout())
	if out == "" {
		return sum, fmt.Errorf("cannot run %s: %v: no summary\n%s", cmd, werr, s.Proc.Logs())
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		return sum, fmt.Errorf("cannot decode loadgen summary %q: %w", out, err)
	}
	if werr != nil {
		return sum, fmt.Errorf("cannot run %s: %w\n%s", cmd, werr, s.Proc.Logs())
	}
	if s.load.MayCut {
		return sum, nil
	}
	return sum, checkSent(sum, s.load.Lines)
}

// checkSent is the cut-sender check: a summary whose count falls short is
// an error. A line cut short (a write that failed midway) may or may not
// be counted by the receiver, so nothing downstream can be checked against
// the sender's count; and a sender asked for lines (lines > 0) that
// wrote fewer had writes fail (an HTTP target answering errors) and
// still finished cleanly.
func checkSent(sum sender.Summary, lines int64) error {
	if sum.Cut > 0 {
		return fmt.Errorf("loadgen cut %d lines short: the receiver's count cannot be checked against its own", sum.Cut)
	}
	if lines > 0 && sum.Sent < lines {
		return fmt.Errorf("loadgen sent %d of the %d lines asked (%d failed writes)", sum.Sent, lines, sum.Errors)
	}
	return nil
}

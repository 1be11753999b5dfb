package store

import (
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Sentinel errors returned, wrapped, by the Store's methods; test with
// errors.Is.
var (
	// ErrNotFound means the rule or manifest version does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate means a rule with the same id, or an output with the
	// same URL, is already in the draft.
	ErrDuplicate = errors.New("already exists")
	// ErrInvalid means the input failed validation; the error is an
	// *InvalidError listing every problem.
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable means Redis could not be reached or refused to serve.
	ErrUnavailable = errors.New("redis unavailable")
	// ErrConflict means concurrent writers kept invalidating an optimistic
	// transaction and the Store gave up; the caller may retry.
	ErrConflict = errors.New("too many concurrent updates")
)

// InvalidError reports input that failed validation. Each problem names its
// field, e.g. `params.pattern: cannot compile ...`.
type InvalidError struct {
	Problems []string
}

// Error joins the problems with "; ".
func (e *InvalidError) Error() string {
	return strings.Join(e.Problems, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool {
	return target == ErrInvalid
}

// invalid returns an *InvalidError with one problem per error joined in err.
func invalid(err error) *InvalidError {
	var problems []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			problems = append(problems, e.Error())
		}
	} else {
		problems = []string{err.Error()}
	}
	return &InvalidError{Problems: problems}
}

// unavailableError marks a failed Redis call: errors.Is matches both
// ErrUnavailable and the client's error, and the message is the client's.
type unavailableError struct {
	err error
}

func (e *unavailableError) Error() string   { return e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// transientReplies are the prefixes of the error replies with which a
// reachable Redis says it cannot serve right now.
var transientReplies = []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "BUSY", "NOREPLICAS"}

// redisError classifies an error returned by the Redis client. Connection
// failures, timeouts and transient error replies become ErrUnavailable;
// other error replies (WRONGTYPE, ...) are returned as they are.
func redisError(err error) error {
	var reply redis.Error
	if errors.As(err, &reply) {
		msg := reply.Error()
		for _, p := range transientReplies {
			if strings.HasPrefix(msg, p) {
				return &unavailableError{err: err}
			}
		}
		return err
	}
	return &unavailableError{err: err}
}

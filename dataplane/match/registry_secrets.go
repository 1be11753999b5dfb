package match

import "bytes"

// secretDetectors are registered in registry.
var secretDetectors = []*Detector{
	&awsAccessKeyID,
	&awsSecretAccessKey,
	&bearerToken,
	&datadogAPIKey,
	&gcpAPIKey,
	&githubFineGrainedPAT,
	&githubToken,
	&gitlabToken,
	&googleOAuthToken,
	&jwt,
	&npmToken,
	&openaiKey,
	&privateKeyPEM,
	&pypiToken,
	&sendgridKey,
	&slackToken,
	&slackWebhook,
	&stripeKey,
	&twilioKey,
}

// The helpers below are shared by the secret detectors. Most secrets are
// tokens that start with a literal prefix: their Find looks for it with
// secretsFind, then checks the rest of the token and what stands around
// it, so that a token inside a longer one is not a finding.

// secretsIsWord reports whether c is a letter, a digit or '_'.
func secretsIsWord(c byte) bool { return isAlnum(c) || c == '_' }

// secretsIsB64URL reports whether c is of the base64url alphabet
// [A-Za-z0-9_-].
func secretsIsB64URL(c byte) bool { return isAlnum(c) || c == '_' || c == '-' }

// secretsIsB64 reports whether c is of the standard base64 alphabet
// [A-Za-z0-9+/], padding left out.
func secretsIsB64(c byte) bool { return isAlnum(c) || c == '+' || c == '/' }

// secretsIsHexLower reports whether c is a digit or one of a to f.
func secretsIsHexLower(c byte) bool { return isDigit(c) || c-'a' < 6 }

// secretsRun returns the end of the run of bytes for which in holds that
// starts at line[i].
func secretsRun(line []byte, i int, in func(byte) bool) int {
	for i < len(line) && in(line[i]) {
		i++
	}
	return i
}

// secretsAll reports whether in holds for every byte of b.
func secretsAll(b []byte, in func(byte) bool) bool {
	for _, c := range b {
		if !in(c) {
			return false
		}
	}
	return true
}

// secretsBounded reports whether line[s:e] stands alone: neither the byte
// before s nor the byte at e is one for which in holds.
func secretsBounded(line []byte, s, e int, in func(byte) bool) bool {
	return (s == 0 || !in(line[s-1])) && (e == len(line) || !in(line[e]))
}

// secretsFind returns the first finding at or after from of a format whose
// findings start with lit: at is given each place where lit stands and
// returns the end of the finding that starts there, or -1.
func secretsFind(line []byte, from int, lit []byte, at func(line []byte, s int) int) (int, int) {
	return secretsFindAnchored(line, from, lit, 0, at)
}

// secretsFindAnchored is secretsFind for a lit whose first k bytes are
// common in logs: it looks for the rest, then checks the k bytes before.
// The search skips from one place of the rest's first byte to the next,
// so that byte had better be rare.
func secretsFindAnchored(line []byte, from int, lit []byte, k int, at func(line []byte, s int) int) (int, int) {
	anchor := lit[k:]
	for i := from + k; i+len(anchor) <= len(line); {
		j := bytes.Index(line[i:], anchor)
		if j < 0 {
			break
		}
		a := i + j
		s := a - k
		if bytes.Equal(line[s:a], lit[:k]) {
			if e := at(line, s); e > 0 {
				return s, e
			}
		}
		i = a + 1
	}
	return -1, -1
}

// secretsSlash returns how many bytes the '/' at line[i] takes: 1 for '/',
// 2 for "\/", the escape of a JSON string, or 0 if there is none. Tokens
// that hold '/' are found with the escape too, so a JSON line whose
// encoder escapes '/' hides none from a scan of its bytes.
func secretsSlash(line []byte, i int) int {
	switch {
	case i >= len(line):
		return 0
	case line[i] == '/':
		return 1
	case line[i] == '\\' && i+1 < len(line) && line[i+1] == '/':
		return 2
	}
	return 0
}

// secretsByteSet is a set of bytes, indexed by byte.
type secretsByteSet [256]bool

// newSecretsByteSet returns the set of the bytes of s.
func newSecretsByteSet(s string) *secretsByteSet {
	var set secretsByteSet
	for i := range len(s) {
		set[s[i]] = true
	}
	return &set
}

// secretsNextRun returns the bounds of the first run of at least n bytes
// of set that starts at or after i (a run that i falls in counts as
// starting at i), or -1, -1. It looks at the last byte a run would need
// first, so it skips up to n bytes at a time where runs are short.
func secretsNextRun(line []byte, i, n int, set *secretsByteSet) (int, int) {
	for i+n <= len(line) {
		p := i + n - 1
		if !set[line[p]] {
			// Every run of n bytes that starts in [i, p] holds p.
			i = p + 1
			continue
		}
		k := p
		for k > i && set[line[k-1]] {
			k--
		}
		if k > i {
			i = k
			continue
		}
		e := p + 1
		for e < len(line) && set[line[e]] {
			e++
		}
		return i, e
	}
	return -1, -1
}

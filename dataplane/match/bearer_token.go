package match

import "bytes"

var bearerToken = Detector{
	Name:     "bearer_token",
	Category: CategorySecrets,
	Summary:  "token of a Bearer authorization, the word Bearer left in place",
	Doc: "The token after the word Bearer (compared without case, not preceded by a letter or digit) " +
		"and one or more spaces: at least 16 characters of the RFC 6750 token alphabet " +
		"[A-Za-z0-9._~+/-] ('/' may be written \\/ as JSON encoders may escape it), followed by any " +
		"'=' padding. The finding is the token, padding included, not the word Bearer, so a redacted " +
		"header still says which scheme it used. Tokens shorter than 16 characters, such as " +
		"placeholders, are left alone.",
	Find:  findBearerToken,
	Key:   [leadBytes]string{"Bb", "Ee", "Aa", "Rr"},
	AtKey: bearerTokenAt,
	Examples: []Example{
		{"Authorization: Bearer FAKEtokenForDocs.0123456789-abc", []string{"FAKEtokenForDocs.0123456789-abc"}},
		{`{"headers":{"authorization":"bearer FAKE/token+for/docs=="}}`, []string{"FAKE/token+for/docs=="}},
		{"Authorization: Bearer <token> and bearer short-token and unbearer FAKEtokenForDocs0123", nil},
	},
}

// bearerMinToken is the fewest characters of a token, padding left out.
const bearerMinToken = 16

// findBearerToken finds the tokens of Bearer authorizations; see
// bearerToken.
func findBearerToken(line []byte, from int) (int, int) {
	// The next 'b' and 'B' at or after i, found once each as the scan
	// passes them: looking again from every candidate would make a line
	// of many candidates cost its length squared.
	lo, up := secretsIndexByte(line, from, 'b'), secretsIndexByte(line, from, 'B')
	for lo >= 0 || up >= 0 {
		i := lo
		if lo < 0 || up >= 0 && up < lo {
			i = up
		}
		if i == lo {
			lo = secretsIndexByte(line, lo+1, 'b')
		} else {
			up = secretsIndexByte(line, up+1, 'B')
		}
		if s, e := bearerTokenAt(line, i); s >= 0 {
			return s, e
		}
	}
	return -1, -1
}

// bearerTokenAt is the AtKey of bearerToken: the token of the
// authorization whose word Bearer starts at line[i], or -1, -1.
func bearerTokenAt(line []byte, i int) (int, int) {
	const word = len("bearer")
	if i+word >= len(line) || !equalFold(line[i:i+word], "bearer") || line[i+word] != ' ' || i > 0 && isAlnum(line[i-1]) {
		return -1, -1
	}
	s := i + word
	for s < len(line) && line[s] == ' ' {
		s++
	}
	if e := bearerTokenEnd(line, s); e > 0 {
		return s, e
	}
	return -1, -1
}

func bearerTokenEnd(line []byte, s int) int {
	e, n := s, 0
	for e < len(line) {
		if w := secretsSlash(line, e); w > 0 {
			e += w
		} else if isBearerByte(line[e]) {
			e++
		} else {
			break
		}
		n++
	}
	if n < bearerMinToken {
		return -1
	}
	for e < len(line) && line[e] == '=' {
		e++
	}
	return e
}

// isBearerByte reports whether c is of the token alphabet of RFC 6750,
// '/' and padding left out.
func isBearerByte(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+'
}

// secretsIndexByte returns the index of the first c at or after i in
// line, or -1.
func secretsIndexByte(line []byte, i int, c byte) int {
	if i >= len(line) {
		return -1
	}
	if j := bytes.IndexByte(line[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

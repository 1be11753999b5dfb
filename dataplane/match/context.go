package match

// Categories of detectors.
const (
	CategoryPayments     = "payments"
	CategoryGovernmentID = "government_id"
	CategoryContact      = "contact"
	CategoryNetwork      = "network"
	CategorySecrets      = "secrets"
)

// contextWindow is how far before a finding its context keyword may stand.
// Each family of detectors counts it as its own Doc says.
const contextWindow = 32

// luhn reports whether the digit values d (0 to 9, not ASCII) pass the Luhn
// check.
func luhn(d []byte) bool {
	sum := 0
	for k := range d {
		v := int(d[len(d)-1-k])
		if k%2 == 1 {
			if v *= 2; v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// Context words. A detector that asks for context checks one of two
// windows before a value for its words, and both check a word alike (see
// contextIn):
//   - a number's window (hasContext): the 32 bytes before it, digits not
//     counted, so one word heads a list of numbers ("routing numbers
//     021000021, 011000015");
//   - a token's window (pairContext): the 32 bytes before it within its
//     key-value pair, so a word names only the value it is the key of.
// swift_bic's window does not count other codes instead of digits.

// hasContext reports whether one of words, lower-case ASCII, is a context
// word in the window of the number at line[s]: contextWindow bytes before
// it, digits not counted. Digits are not counted so that replacing
// findings between a word and a number (mostly digits, a few separators)
// by a mask with at least as many other bytes, such as "[REDACTED]",
// never brings a word within reach of a number that was out of it.
func hasContext(line []byte, s int, words []string) bool {
	w := s
	for n := 0; w > 0 && n < contextWindow; w-- {
		if !isDigit(line[w-1]) {
			n++
		}
	}
	return contextIn(line, w, s, words)
}

// contextDoc is what hasContext checks, for Doc.
const contextDoc = "A context word counts when it starts a word (not right after a letter, unless it begins " +
	"the capitalised part of a camelCase name, as in customerSsn) within the 32 bytes before the number, " +
	"digits not counted, compared without case, a space in it matching ' ', '_' or '-'."

// pairContext reports whether one of words, lower-case ASCII, is a
// context word in the contextWindow bytes before the token at line[s],
// with nothing between the word and s that ends a key-value pair: no
// bracket, brace or parenthesis, ',', ';', '&', '|' or line break. So the
// word names this token, as in "aws_secret_access_key = ..." or
// {"dd_api_key":"..."}, and not one before it. The word must start at or
// after from: a word before from would lie in an earlier finding, which
// redaction removes.
func pairContext(line []byte, s, from int, words []string) bool {
	w := max(from, s-contextWindow)
	for i := s - 1; i >= w; i-- {
		if endsPair(line[i]) {
			w = i + 1
			break
		}
	}
	return contextIn(line, w, s, words)
}

// pairContextDoc is what pairContext checks, for Doc.
const pairContextDoc = "A context word counts when it starts a word (not right after a letter, unless it " +
	"begins the capitalised part of a camelCase name) within the 32 bytes before the token, with " +
	"nothing between them that ends a key-value pair (a bracket, brace or parenthesis, ',', ';', '&', " +
	"'|' or line break); it is compared without case, a space in it matching ' ', '_' or '-'."

// endsPair reports whether c ends a key-value pair or a group of them; see
// pairContext.
func endsPair(c byte) bool {
	switch c {
	case '[', ']', '{', '}', '(', ')', ',', ';', '&', '|', '\n', '\r':
		return true
	}
	return false
}

// contextIn reports whether one of words, lower-case ASCII, starts a word
// in line[w:s] and ends within it: not right after a letter, unless it
// begins the capitalised part of a camelCase name (customerSsn); compared
// without case, a space in it matching ' ', '_' or '-' (social_security).
func contextIn(line []byte, w, s int, words []string) bool {
	for i := w; i < s; i++ {
		if !isLetter(line[i]) || !wordStart(line, i) {
			continue
		}
		for _, k := range words {
			if contextWordAt(line[i:s], k) {
				return true
			}
		}
	}
	return false
}

// wordStart reports whether the letter line[i] starts a word: it does not
// follow a letter, or it is an upper-case letter after a lower-case one
// (customerSsn).
func wordStart(line []byte, i int) bool {
	if i == 0 || !isLetter(line[i-1]) {
		return true
	}
	return line[i-1]-'a' < 26 && line[i]-'A' < 26
}

// contextWordAt reports whether b starts with the context word k, compared
// without case, a space of k matching ' ', '_' or '-'.
func contextWordAt(b []byte, k string) bool {
	if len(b) < len(k) {
		return false
	}
	for j := 0; j < len(k); j++ {
		if c := lowerASCII(b[j]); c != k[j] && !(k[j] == ' ' && (c == ' ' || c == '_' || c == '-')) {
			return false
		}
	}
	return true
}

package match

import "bytes"

var phoneNANP = Detector{
	Name:     "phone_nanp",
	Category: CategoryContact,
	Summary:  "North American phone number (NANP) with a valid area code and exchange",
	Doc: "A North American Numbering Plan number of ten digits: a three-digit area code, a three-digit " +
		"exchange and four digits, written (NXX) NXX-XXXX (the space after ')' and the separator " +
		"after the exchange, '-', '.' or a space, are optional), NXX-NXX-XXXX or NXX.NXX.XXXX (one " +
		"separator kind), optionally after +1 or 1 and a single space, '-' or '.' (or directly " +
		"before '('). Area code and exchange start with 2 to 9 and do not end in 11; the area code " +
		"has no 9 in the middle (N9X codes are reserved for expansion). The fictional 555-0100 to " +
		"555-0199 are findings too: they cost nothing to hide. Without separators, +1 and ten digits " +
		"is a finding, but ten digits, or eleven with a leading 1, only after a keyword: phone, tel, " +
		"mobile, cell, call, fax or msisdn must start a word within 32 bytes before the number, digits " +
		"not counted (so one keyword serves a list), compared without case; a word starts after a byte " +
		"that is not a letter, or at an upper-case letter after a lower-case one (cellPhone). A number " +
		"must not touch a letter or digit, nor be joined by '-' or '.' to more digits on either side, " +
		"nor be followed by '(' or '+' and a digit; only +1 may stand before it as a '+'.",
	Context: nanpContext,
	Find:    findPhoneNANP,
	// In a set: the trunk prefix 1, an area code, a number without
	// separators.
	Runs: runBit(1) | runBit(3) | runBit(10) | runBit(11),
	At:   nanpRunAt,
	Examples: []Example{
		{"callback (415) 555-2671 ext", []string{"(415) 555-2671"}},
		{"tel=+1-212-555-0123, fax 212.555.0199, phone 2125550123", []string{"+1-212-555-0123", "212.555.0199", "2125550123"}},
		{"id 2125550123 area 911-555-2671 ts 1732262400 v 212-555-01234", nil},
	},
}

// nanpContext are the keywords of which one must precede a number written
// without separators.
var nanpContext = []string{"phone", "tel", "mobile", "cell", "call", "fax", "msisdn"}

// findPhoneNANP finds North American phone numbers; see phoneNANP: the
// first of those with parentheses and those without.
func findPhoneNANP(line []byte, from int) (int, int) {
	ps, pe := nanpParen(line, from)
	limit := len(line)
	if ps >= 0 {
		limit = ps
	}
	if s, e := nanpRuns(line, from, limit); s >= 0 && (ps < 0 || s < ps) {
		return s, e
	}
	return ps, pe
}

// nanpRunAt is phone_nanp's At, for a set's walk over runs: the number
// that grows from the run line[i:r] of digits, as findPhoneNANP finds it.
// A run of one is the trunk prefix 1, and the '+' before it if there is
// one; of three, an area code in parentheses or before '-' or '.', when
// the number has no prefix; of ten or eleven, a number without separators.
func nanpRunAt(line []byte, i, r int) (int, int) {
	switch r - i {
	case 1:
		if line[i] != '1' || r == len(line) {
			return -1, -1
		}
		b := r // 1(NXX) …
		if line[r] != '(' {
			if !networkPhoneSep(line[r]) {
				return -1, -1
			}
			b = r + 1 // 1-NXX-…, 1 (NXX) …
		}
		e := nanpBody(line, b)
		if e < 0 {
			return -1, -1
		}
		k := i
		if k > 0 && line[k-1] == '+' {
			k--
		}
		if !nanpStartOK(line, k) {
			return -1, -1
		}
		return k, e
	case 3:
		b := i
		switch {
		case r == len(line):
			return -1, -1
		case line[r] == ')' && i > 0 && line[i-1] == '(':
			b = i - 1
		case line[r] != '-' && line[r] != '.':
			return -1, -1
		}
		if e := nanpBody(line, b); e >= 0 && nanpStartOK(line, b) {
			return b, e
		}
		return -1, -1
	case 11:
		if line[i] != '1' {
			return -1, -1
		}
	}
	return nanpBare(line, 0, i, r)
}

// nanpParen finds the first number whose area code stands in parentheses
// and that starts at or after from. Its ')' is rare in logs.
func nanpParen(line []byte, from int) (int, int) {
	for i := from; i < len(line); {
		c := bytes.IndexByte(line[i:], ')')
		if c < 0 {
			break
		}
		c += i
		if b := c - 4; b >= 0 && line[b] == '(' {
			if s, e := nanpAt(line, from, b); s >= 0 {
				return s, e
			}
		}
		i = c + 1
	}
	return -1, -1
}

// nanpRuns finds the first number written NXX-NXX-XXXX, NXX.NXX.XXXX or
// without separators that starts at or after from and before limit. Such a
// number lies in a run of ten bytes or more, each a digit, '-' or '.', and
// a run that starts in line[i:i+10] holds line[i+9]: it skips ten bytes
// when that byte is not of the run.
func nanpRuns(line []byte, from, limit int) (int, int) {
	for i := from; i+10 <= len(line) && i < limit; {
		if !nanpByte(line[i+9]) {
			i += 10
			continue
		}
		r, q := i+9, i+10
		for r > 0 && nanpByte(line[r-1]) {
			r--
		}
		for q < len(line) && nanpByte(line[q]) {
			q++
		}
		if q-r >= 10 {
			if s, e := nanpInRun(line, from, max(r, from), q); s >= 0 {
				return s, e
			}
		}
		i = q + 1
	}
	return -1, -1
}

// nanpInRun finds the first number in the run line[r:q] of digits, '-'
// and '.' that starts at or after from, looking at each run of digits in
// it: three before a separator may start NXX-NXX-XXXX, ten or eleven may
// be a number without separators.
func nanpInRun(line []byte, from, r, q int) (int, int) {
	for s := r; s < q; {
		if !isDigit(line[s]) {
			s++
			continue
		}
		e := paymentsRunEnd(line, s)
		switch n := e - s; {
		case n == 3 && e < q:
			if ns, ne := nanpAt(line, from, s); ns >= 0 {
				return ns, ne
			}
		case n == 10 || n == 11 && line[s] == '1':
			if ns, ne := nanpBare(line, from, s, e); ns >= 0 {
				return ns, ne
			}
		}
		s = e
	}
	return -1, -1
}

// nanpBare returns the bounds of the number without separators line[s:e],
// of ten digits or eleven with a leading 1 (and +1 before it), or -1, -1.
func nanpBare(line []byte, from, s, e int) (int, int) {
	start := s
	if e-s == 11 && s > 0 && line[s-1] == '+' {
		start--
	}
	if start >= from && nanpStartOK(line, start) && networkPhoneEnd(line, e) && nanpCodes(line[e-10:e]) &&
		(start < s || hasContext(line, start, nanpContext)) {
		return start, e
	}
	return -1, -1
}

// nanpByte reports whether c may be part of a number written without
// parentheses: a digit, '-' or '.'.
func nanpByte(c byte) bool { return isDigit(c) || c == '-' || c == '.' }

// nanpAt returns the bounds of the number written with separators whose
// area code, or its '(', is line[b], with its prefix if it has one; or -1,
// -1.
func nanpAt(line []byte, from, b int) (int, int) {
	e := nanpBody(line, b)
	if e < 0 {
		return -1, -1
	}
	// The trunk prefix, as in 1-800-555-0199, 1(415)555-2671 or
	// +1 (415) 555-2671.
	k := b
	switch {
	case k >= 2 && networkPhoneSep(line[k-1]) && line[k-2] == '1':
		k -= 2
	case line[b] == '(' && k >= 1 && line[k-1] == '1':
		k--
	}
	if k < b {
		if k > 0 && line[k-1] == '+' {
			k--
		}
		if k >= from && nanpStartOK(line, k) {
			return k, e
		}
	}
	if b >= from && nanpStartOK(line, b) {
		return b, e
	}
	return -1, -1
}

// nanpStartOK reports whether a number may start at line[s]: not after a
// letter or digit, nor after '-' or '.' after a digit, nor after a '+'
// unless it is the '+' of +1 (s is then that '+').
func nanpStartOK(line []byte, s int) bool {
	if s == 0 {
		return true
	}
	c := line[s-1]
	return !isAlnum(c) && c != '+' && !((c == '-' || c == '.') && s > 1 && isDigit(line[s-2]))
}

// nanpBody returns the end of the ten digits written with separators that
// start at line[i], after any prefix, or -1.
func nanpBody(line []byte, i int) int {
	if i >= len(line) {
		return -1
	}
	var d [10]byte
	var e int
	if line[i] == '(' {
		// (NXX) NXX-XXXX: optional space, optional separator.
		if i+5 > len(line) || !allDigits(line[i+1:i+4]) || line[i+4] != ')' {
			return -1
		}
		copy(d[:3], line[i+1:i+4])
		j := i + 5
		if j < len(line) && line[j] == ' ' {
			j++
		}
		if j+3 > len(line) || !allDigits(line[j:j+3]) {
			return -1
		}
		copy(d[3:6], line[j:j+3])
		j += 3
		if j < len(line) && networkPhoneSep(line[j]) {
			j++
		}
		if j+4 > len(line) || !allDigits(line[j:j+4]) {
			return -1
		}
		copy(d[6:], line[j:j+4])
		e = j + 4
	} else {
		// NXX-NXX-XXXX or NXX.NXX.XXXX.
		e = i + 12
		if e > len(line) || line[i+3] != '-' && line[i+3] != '.' || line[i+7] != line[i+3] ||
			!allDigits(line[i:i+3]) || !allDigits(line[i+4:i+7]) || !allDigits(line[i+8:e]) {
			return -1
		}
		copy(d[:3], line[i:i+3])
		copy(d[3:6], line[i+4:i+7])
		copy(d[6:], line[i+8:e])
	}
	if !nanpCodes(d[:]) || !networkPhoneEnd(line, e) {
		return -1
	}
	return e
}

// nanpCodes reports whether the ten ASCII digits d have a valid area code
// and exchange: NXX, not N11, and no N9X area code.
func nanpCodes(d []byte) bool {
	return d[0] >= '2' && d[3] >= '2' && d[1] != '9' &&
		!(d[1] == '1' && d[2] == '1') && !(d[4] == '1' && d[5] == '1')
}

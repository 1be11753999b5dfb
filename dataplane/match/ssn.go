package match

import "bytes"

var ssn = Detector{
	Name:     "ssn",
	Category: CategoryGovernmentID,
	Summary:  "US Social Security number written ddd-dd-dddd",
	Doc: "A US Social Security number written ddd-dd-dddd, not preceded or followed by a digit. " +
		"Every such number is a finding, including the never-issued areas 000, 666 and 9xx: " +
		"9xx is the range of ITINs, which are personal data too, and placeholders such as " +
		"000-00-0000 cost nothing to hide. So after redaction no digit-bounded ddd-dd-dddd is left.",
	Find:   findSSN,
	Runs:   1 << 3,
	Joined: 1 << 3,
	Joins:  "-",
	At:     ssnAt,
	Examples: []Example{
		{"SSN: 123-45-6789", []string{"123-45-6789"}},
		{"ssn=123-45-6789,456-78-9012.", []string{"123-45-6789", "456-78-9012"}},
		{"phone 123-456-7890 and 1123-45-6789", nil},
	},
}

// ssnAt returns the ddd-dd-dddd that starts with the run of three digits
// line[i:r] and stands between non-digits, or -1, -1.
func ssnAt(line []byte, i, r int) (int, int) {
	e := i + len("123-45-6789")
	if e > len(line) || line[r] != '-' || line[r+3] != '-' || !allDigits(line[r+1:r+3]) ||
		!allDigits(line[r+4:e]) || i > 0 && isDigit(line[i-1]) || e < len(line) && isDigit(line[e]) {
		return -1, -1
	}
	return i, e
}

// findSSN finds ddd-dd-dddd bounded by non-digits. Alone, it looks for
// the dashes, rarer than digits in logs.
func findSSN(line []byte, from int) (int, int) {
	const n = len("123-45-6789")
	// h is where to look for the first dash, three bytes into a candidate.
	for h := from + 3; h+n-3 <= len(line); h++ {
		d := bytes.IndexByte(line[h:len(line)-n+4], '-')
		if d < 0 {
			break
		}
		h += d
		s, e := h-3, h-3+n
		if line[h+3] == '-' &&
			allDigits(line[s:h]) && allDigits(line[h+1:h+3]) && allDigits(line[h+4:e]) &&
			(s == 0 || !isDigit(line[s-1])) && (e == len(line) || !isDigit(line[e])) {
			return s, e
		}
	}
	return -1, -1
}

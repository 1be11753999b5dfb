package match

import "strings"

var ukNINO = Detector{
	Name:     "uk_nino",
	Category: CategoryGovernmentID,
	Summary:  "UK National Insurance number such as AB 12 34 56 C",
	Doc: "A UK National Insurance number: a two-letter prefix, six digits and a suffix A, B, C or D, " +
		"in upper case, with optional single spaces after the prefix, between the three pairs of " +
		"digits (all or none) and before the suffix, as in AB123456C or AB 12 34 56 C. Neither prefix " +
		"letter is D, F, I, Q, U or V, the second is not O, and the prefix is not BG, GB, NK, KN, TN, " +
		"NT or ZZ: HMRC allocates none of those. The format has no check character. " + govABoundsDoc,
	Find:   findUKNINO,
	Lead:   [leadBytes]string{upperLetters, upperLetters, decimalDigits + " ", decimalDigits},
	AtLead: ukNINOLead,
	Examples: []Example{
		{"employee nino=AB123456C updated", []string{"AB123456C"}},
		{"NI number: JG 10 37 25 D", []string{"JG 10 37 25 D"}},
		{"QQ123456C GB123456A AB123456E XAB123456C", nil},
	},
}

// findUKNINO finds National Insurance numbers; see ukNINO. It stops at
// the upper-case letters that start a word, as a prefix does.
func findUKNINO(line []byte, from int) (int, int) {
	for s := govANextUpper(line, from); s+9 <= len(line); s = govANextUpper(line, s) {
		if s == 0 || !govAWord(line[s-1]) {
			if e := ukNINOAt(line, s); e > 0 {
				return s, e
			}
		}
		for s < len(line) && govAWord(line[s]) {
			s++
		}
	}
	return -1, -1
}

// ukNINOLead is the AtLead of uk_nino: the end of the number that starts
// the token at line[s], or -1.
func ukNINOLead(line []byte, s int) int {
	if s+9 > len(line) || s > 0 && govAWord(line[s-1]) {
		return -1
	}
	return ukNINOAt(line, s)
}

// ukNINOAt returns the end of the National Insurance number that starts
// at line[s], or -1.
func ukNINOAt(line []byte, s int) int {
	if !ukNINOPrefix(line[s], line[s+1]) {
		return -1
	}
	i := s + 2
	if line[i] == ' ' {
		i++
	}
	r := govARunEnd(line, i)
	switch {
	case r-i == 6:
	case r-i == 2 && r+6 <= len(line) && line[r] == ' ' && isDigit(line[r+1]) && isDigit(line[r+2]) &&
		line[r+3] == ' ' && isDigit(line[r+4]) && isDigit(line[r+5]):
		// The digits in pairs: dd dd dd.
		r += 6
	default:
		return -1
	}
	if r < len(line) && line[r] == ' ' {
		r++
	}
	if r == len(line) || line[r] < 'A' || line[r] > 'D' || !govABounded(line, s, r+1, false) {
		return -1
	}
	return r + 1
}

// ukNINOPrefix reports whether a and b form a prefix HMRC allocates.
func ukNINOPrefix(a, b byte) bool {
	if a-'A' >= 26 || b-'A' >= 26 || strings.IndexByte("DFIQUV", a) >= 0 || strings.IndexByte("DFIQUVO", b) >= 0 {
		return false
	}
	switch uint16(a)<<8 | uint16(b) {
	case 'B'<<8 | 'G', 'G'<<8 | 'B', 'N'<<8 | 'K', 'K'<<8 | 'N', 'T'<<8 | 'N', 'N'<<8 | 'T', 'Z'<<8 | 'Z':
		return false
	}
	return true
}

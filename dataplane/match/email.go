package match

import "bytes"

var email = Detector{
	Name:     "email",
	Category: CategoryContact,
	Summary:  "e-mail address",
	Doc: "local@domain, where the local part is a run of [A-Za-z0-9._%+-] and the domain a run of " +
		"[A-Za-z0-9.-] with at least two non-empty labels, the last of them two or more letters. " +
		"A dot or dash ending the domain is taken as punctuation and kept.",
	Find: findEmail,
	Examples: []Example{
		{"sent receipt to john.doe+tag@example.co.uk.", []string{"john.doe+tag@example.co.uk"}},
		{"user@localhost @handle a@b.c", nil},
	},
}

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isEmailDomain(c byte) bool {
	return isAlnum(c) || c == '.' || c == '-'
}

// findEmail finds email addresses; see detectors.
func findEmail(line []byte, from int) (int, int) {
	for i := from; i < len(line); {
		at := bytes.IndexByte(line[i:], '@')
		if at < 0 {
			break
		}
		at += i
		s := at
		for s > from && isEmailLocal(line[s-1]) {
			s--
		}
		if s < at {
			if e := emailDomainEnd(line, at+1); e > 0 {
				return s, e
			}
		}
		i = at + 1
	}
	return -1, -1
}

// emailDomainEnd returns the end of the email domain that starts at line[i],
// or -1 if there is none.
func emailDomainEnd(line []byte, i int) int {
	e := i
	for e < len(line) && isEmailDomain(line[e]) {
		e++
	}
	for e > i && (line[e-1] == '.' || line[e-1] == '-') {
		e--
	}
	dom := line[i:e]
	dot := bytes.LastIndexByte(dom, '.')
	if dot <= 0 || dom[0] == '.' || bytes.Contains(dom, []byte("..")) {
		return -1
	}
	tld := dom[dot+1:]
	if len(tld) < 2 {
		return -1
	}
	for _, c := range tld {
		if !isLetter(c) {
			return -1
		}
	}
	return e
}

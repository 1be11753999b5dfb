package match

import "bytes"

var urlCredentials = Detector{
	Name:     "url_credentials",
	Category: CategoryNetwork,
	Summary:  "password in the userinfo of a URL (scheme://user:password@host)",
	Doc: "The password of a URL of the form scheme://user:password@host, where the scheme is a letter " +
		"followed by letters, digits, '+', '.' or '-'. The finding is the password only, so the user " +
		"name stays readable: the bytes after the first ':' of the userinfo up to the last '@' of " +
		"the authority (a password may hold '@' or ':'). The authority runs from '//' to the first " +
		"'/', '?', '#', white space, control byte or one of \"<>\\`{}|^, so a password holding one " +
		"of those unescaped is not found. The user name may be empty (redis://:password@host); the " +
		"password may not. The slashes after the scheme may be escaped as in JSON (:\\/\\/).",
	Find: findURLCredentials,
	Examples: []Example{
		{"dsn=postgres://app:s3cr3t@db.internal:5432/orders", []string{"s3cr3t"}},
		{`{"url":"redis://:p@ss:w0rd@cache:6379/0"}`, []string{"p@ss:w0rd"}},
		{"ssh://git@github.com/x.git https://host/a:b@c mailto:a:b@example.com https://u:@h", nil},
	},
}

// findURLCredentials finds passwords in URLs; see urlCredentials.
func findURLCredentials(line []byte, from int) (int, int) {
	for i := from; i < len(line); {
		a := bytes.IndexByte(line[i:], '@')
		if a < 0 {
			break
		}
		a += i
		// The userinfo starts after the '//' that starts the authority.
		u := a
		for u > 0 && urlAuthorityByte(line[u-1]) {
			u--
		}
		// The authority ends at the first byte that cannot be in it; the
		// userinfo at its last '@'.
		e := a + 1
		for e < len(line) && urlAuthorityByte(line[e]) {
			e++
		}
		last := a + bytes.LastIndexByte(line[a:e], '@')
		if c := urlSchemeColon(line, u); c > 0 && urlScheme(line, c) {
			if colon := bytes.IndexByte(line[u:last], ':'); colon >= 0 && u+colon+1 >= from && u+colon+1 < last {
				return u + colon + 1, last
			}
		}
		i = last + 1
	}
	return -1, -1
}

// urlSchemeColon returns the index of the ':' of the "://" that ends at
// line[u], or -1. The slashes may be escaped as JSON encoders often write
// them (:\/\/), so that a scan of a JSON line's bytes finds what a scan
// of its decoded strings does.
func urlSchemeColon(line []byte, u int) int {
	switch {
	case u >= 3 && line[u-1] == '/' && line[u-2] == '/' && line[u-3] == ':':
		return u - 3
	case u >= 5 && line[u-1] == '/' && line[u-2] == '\\' && line[u-3] == '/' && line[u-4] == '\\' && line[u-5] == ':':
		return u - 5
	}
	return -1
}

// urlScheme reports whether a URL scheme ends at line[c]: a letter, then
// letters, digits, '+', '.' or '-'.
func urlScheme(line []byte, c int) bool {
	s := c
	for s > 0 && (isAlnum(line[s-1]) || line[s-1] == '+' || line[s-1] == '.' || line[s-1] == '-') {
		s--
	}
	return s < c && isLetter(line[s])
}

// urlAuthorityByte reports whether c may be part of a URL's authority as
// logs write it: not '/', '?', '#', white space, a control byte, nor one
// of "<>\`{}|^.
func urlAuthorityByte(c byte) bool {
	switch c {
	case '/', '?', '#', '"', '<', '>', '\\', '`', '{', '}', '|', '^', 0x7f:
		return false
	}
	return c > ' '
}

package match

import "hash/crc32"

var githubToken = Detector{
	Name:     "github_token",
	Category: CategorySecrets,
	Summary:  "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_) with a valid checksum",
	Doc: "A GitHub personal access token (classic, ghp_), OAuth token (gho_), app user-to-server " +
		"(ghu_), server-to-server (ghs_) or refresh token (ghr_): the prefix followed by 36 letters and " +
		"digits, not preceded or followed by a letter, digit or '_'. The last 6 characters must be the " +
		"CRC32 (IEEE) of the 30 before them, in base 62 with the digits 0-9A-Za-z, left-padded with " +
		"zeros, as GitHub writes them; so a random string of the same shape is left alone.",
	Checksum: "CRC32",
	Prefix:   string(githubTokenPrefix),
	AtPrefix: githubTokenAt,
	Examples: []Example{
		{"GITHUB_TOKEN=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", []string{"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"}},
		{"git push https://x-access-token:ghs_FAKEtokenFORdocsONLY00000000030FFXIz@github.com/o/r", []string{"ghs_FAKEtokenFORdocsONLY00000000030FFXIz"}},
		{"ghp_FAKEtokenFORdocsONLY00000000014AAQIc ghp_FAKEtokenFORdocsONLY00000000014AAQI", nil},
	},
}

// secretsCRCTokenLen is the number of characters after the prefix of a
// token checksummed as GitHub does: 30 random, 6 of checksum.
const secretsCRCTokenLen = 36

var githubTokenPrefix = []byte("gh")

// githubTokenAt returns the end of the GitHub token that starts at
// line[s], or -1.
func githubTokenAt(line []byte, s int) int {
	if s+4 > len(line) || line[s+3] != '_' {
		return -1
	}
	switch line[s+2] {
	case 'p', 'o', 'u', 's', 'r':
		return secretsCRCTokenEnd(line, s, s+4)
	}
	return -1
}

// secretsCRCTokenEnd returns the end of the token that starts at line[s]
// with a prefix that ends at b, if 36 letters and digits follow the prefix
// and pass secretsBase62CRC and the token stands alone; else -1.
func secretsCRCTokenEnd(line []byte, s, b int) int {
	e := b + secretsCRCTokenLen
	if e > len(line) || !secretsBounded(line, s, e, secretsIsWord) || !secretsAll(line[b:e], isAlnum) || !secretsBase62CRC(line[b:e]) {
		return -1
	}
	return e
}

// secretsBase62CRC reports whether the last 6 bytes of body are the CRC32
// (IEEE) of the others in base 62, digits 0-9A-Za-z, left-padded with '0'.
func secretsBase62CRC(body []byte) bool {
	n := len(body) - 6
	if n < 0 {
		return false
	}
	var v uint64
	for _, c := range body[n:] {
		d := secretsBase62Digit(c)
		if d < 0 {
			return false
		}
		v = v*62 + uint64(d)
	}
	return v == uint64(crc32.ChecksumIEEE(body[:n]))
}

// secretsBase62Digit returns the value of the base 62 digit c (0-9, then
// A-Z, then a-z), or -1.
func secretsBase62Digit(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c-'A' < 26:
		return int(c-'A') + 10
	case c-'a' < 26:
		return int(c-'a') + 36
	}
	return -1
}

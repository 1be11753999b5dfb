package match

import "hash/crc32"

var gitlabToken = Detector{
	Name:     "gitlab_token",
	Category: CategorySecrets,
	Summary:  "GitLab personal access token (glpat-), legacy or routable",
	Doc: "A GitLab personal access token in one of two forms, not preceded or followed by a character " +
		"of the base64url alphabet [A-Za-z0-9_-]. Legacy: glpat- followed by exactly 20 characters of " +
		"that alphabet. Routable (GitLab 17.x and later): glpat-, a base64url payload of at least 27 " +
		"characters, '.', a 2-character version, '.', the length of the payload in 2 base-36 digits, and " +
		"7 base-36 digits (0-9a-z) that must be the CRC32 (IEEE) of everything before them, prefix " +
		"included, left-padded with zeros; the length must match too.",
	Checksum: "CRC32 (routable form)",
	Prefix:   string(gitlabPrefix),
	AtPrefix: gitlabTokenAt,
	Examples: []Example{
		{"PRIVATE-TOKEN: glpat-FAKEtokenFORdocs-000 ok", []string{"glpat-FAKEtokenFORdocs-000"}},
		{"token=glpat-RkFLRS1GQUtFLUZBS0UtRmM6MQpvOjEH.01.0w0prir2g;", []string{"glpat-RkFLRS1GQUtFLUZBS0UtRmM6MQpvOjEH.01.0w0prir2g"}},
		{"glpat-FAKEtokenFORdocs-0001 glpat-RkFLRS1GQUtFLUZBS0UtRmM6MQpvOjEH.01.0w0prir2h", nil},
	},
}

var gitlabPrefix = []byte("glpat-")

// Lengths in a GitLab token.
const (
	gitlabLegacyLen  = 20 // characters after the prefix of a legacy token
	gitlabMinPayload = 27 // characters of the smallest routable payload
	gitlabCRCLen     = 7  // base-36 digits of a routable token's CRC32
)

// gitlabTokenAt returns the end of the GitLab token that starts at
// line[s], or -1.
func gitlabTokenAt(line []byte, s int) int {
	if s > 0 && secretsIsB64URL(line[s-1]) {
		return -1
	}
	p := s + len(gitlabPrefix)
	pe := secretsRun(line, p, secretsIsB64URL)
	if pe-p == gitlabLegacyLen {
		return pe
	}
	if pe-p < gitlabMinPayload {
		return -1
	}
	return gitlabRoutableEnd(line, s, p, pe)
}

// gitlabRoutableEnd returns the end of the routable token that starts at
// line[s], whose payload is line[p:pe], or -1: after the payload stand
// ".vv.ll" and the CRC, vv the version and ll the payload's length in
// base 36.
func gitlabRoutableEnd(line []byte, s, p, pe int) int {
	const tail = len(".vv.ll") + gitlabCRCLen
	e := pe + tail
	if e > len(line) || line[pe] != '.' || line[pe+3] != '.' || e < len(line) && secretsIsB64URL(line[e]) {
		return -1
	}
	if !secretsAll(line[pe+1:pe+3], gitlabIsBase36) || !secretsAll(line[pe+4:e], gitlabIsBase36) {
		return -1
	}
	if n := gitlabBase36Value(line[pe+4 : pe+6]); n != uint64(pe-p) {
		return -1
	}
	if gitlabBase36Value(line[e-gitlabCRCLen:e]) != uint64(crc32.ChecksumIEEE(line[s:e-gitlabCRCLen])) {
		return -1
	}
	return e
}

// gitlabIsBase36 reports whether c is a base-36 digit as GitLab writes
// them: 0-9 or a-z.
func gitlabIsBase36(c byte) bool { return isDigit(c) || c-'a' < 26 }

// gitlabBase36Value returns the value of the base-36 digits b, all
// gitlabIsBase36; at most 12 of them fit.
func gitlabBase36Value(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		d := uint64(c - '0')
		if !isDigit(c) {
			d = uint64(c-'a') + 10
		}
		v = v*36 + d
	}
	return v
}

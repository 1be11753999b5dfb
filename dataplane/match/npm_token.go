package match

var npmToken = Detector{
	Name:     "npm_token",
	Category: CategorySecrets,
	Summary:  "npm access token (npm_) with a valid checksum",
	Doc: "An npm access token: npm_ followed by 36 letters and digits, not preceded or followed by a " +
		"letter, digit or '_'. As in GitHub tokens, the last 6 characters must be the CRC32 (IEEE) of " +
		"the 30 before them, in base 62 with the digits 0-9A-Za-z, left-padded with zeros.",
	Checksum: "CRC32",
	Prefix:   string(npmTokenPrefix),
	AtPrefix: npmTokenAt,
	Examples: []Example{
		{"//registry.npmjs.org/:_authToken=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", []string{"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"}},
		{"npm_FAKEtokenFORdocsONLY00000000042gwuqK npm_config_cache=/tmp/npm", nil},
	},
}

var npmTokenPrefix = []byte("npm_")

// npmTokenAt returns the end of the npm token that starts at line[s], or
// -1.
func npmTokenAt(line []byte, s int) int {
	return secretsCRCTokenEnd(line, s, s+len(npmTokenPrefix))
}

package match

var githubFineGrainedPAT = Detector{
	Name:     "github_fine_grained_pat",
	Category: CategorySecrets,
	Summary:  "GitHub fine-grained personal access token (github_pat_)",
	Doc: "A GitHub fine-grained personal access token: github_pat_ followed by 22 letters and digits, " +
		"'_', and 59 letters and digits (82 characters after the prefix), not preceded or followed by a " +
		"letter, digit or '_'. GitHub publishes no checksum for this format, so only its shape is checked.",
	Prefix:   string(githubPATPrefix),
	AtPrefix: githubFineGrainedPATAt,
	Examples: []Example{
		{"token=github_pat_FAKEtokenFORdocsONLY00_FAKEfineGRAINEDpatFORdocumentationONLY000000000000000000000", []string{"github_pat_FAKEtokenFORdocsONLY00_FAKEfineGRAINEDpatFORdocumentationONLY000000000000000000000"}},
		{"github_pat_FAKEtokenFORdocsONLY0_0FAKEfineGRAINEDpatFORdocumentationONLY000000000000000000000 github_pat_expiry=30d", nil},
	},
}

var githubPATPrefix = []byte("github_pat_")

// Lengths of the two parts of a fine-grained token.
const (
	githubPATHead = 22
	githubPATTail = 59
)

// githubFineGrainedPATAt returns the end of the fine-grained token that
// starts at line[s], or -1.
func githubFineGrainedPATAt(line []byte, s int) int {
	h := s + len(githubPATPrefix)
	u := h + githubPATHead
	e := u + 1 + githubPATTail
	if e > len(line) || line[u] != '_' || !secretsAll(line[h:u], isAlnum) || !secretsAll(line[u+1:e], isAlnum) ||
		!secretsBounded(line, s, e, secretsIsWord) {
		return -1
	}
	return e
}

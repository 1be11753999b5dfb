package match

var googleOAuthToken = Detector{
	Name:     "google_oauth_token",
	Category: CategorySecrets,
	Summary:  "Google OAuth 2.0 access token (ya29.)",
	Doc: "A Google OAuth 2.0 access token: ya29. followed by a run of at least 20 characters of the " +
		"base64url alphabet [A-Za-z0-9_-], not preceded by one of them; the finding runs to the end of " +
		"the run.",
	Prefix:   string(googleOAuthPrefix),
	AtPrefix: googleOAuthTokenAt,
	Examples: []Example{
		{"Authorization: Bearer ya29.FAKEaccessTOKENforDOCSonly_0000-x", []string{"ya29.FAKEaccessTOKENforDOCSonly_0000-x"}},
		{"ya29.short xya29.FAKEaccessTOKENforDOCSonly_0000", nil},
	},
}

var googleOAuthPrefix = []byte("ya29.")

// googleOAuthMin is the fewest characters after the prefix.
const googleOAuthMin = 20

// googleOAuthTokenAt returns the end of the access token that starts at
// line[s], or -1.
func googleOAuthTokenAt(line []byte, s int) int {
	b := s + len(googleOAuthPrefix)
	e := secretsRun(line, b, secretsIsB64URL)
	if e-b < googleOAuthMin || s > 0 && secretsIsB64URL(line[s-1]) {
		return -1
	}
	return e
}

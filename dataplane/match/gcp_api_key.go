package match

var gcpAPIKey = Detector{
	Name:     "gcp_api_key",
	Category: CategorySecrets,
	Summary:  "Google Cloud API key: AIza followed by 35 characters",
	Doc: "A Google Cloud (and Firebase, Maps) API key: AIza followed by 35 characters of the base64url " +
		"alphabet [A-Za-z0-9_-], 39 in all, not preceded or followed by a character of that alphabet.",
	Prefix:   string(gcpKeyPrefix),
	AtPrefix: gcpAPIKeyAt,
	Examples: []Example{
		{"maps key=AIzaFAKEkeyFORdocsONLY_00000000000000-x ok", []string{"AIzaFAKEkeyFORdocsONLY_00000000000000-x"}},
		{"AIzaFAKEkeyFORdocsONLY_000000000000000 xAIzaFAKEkeyFORdocsONLY_00000000000000-x", nil},
	},
}

// gcpKeyLen is the length of an API key, prefix included.
const gcpKeyLen = 39

var gcpKeyPrefix = []byte("AIza")

// gcpAPIKeyAt returns the end of the API key that starts at line[s], or
// -1.
func gcpAPIKeyAt(line []byte, s int) int {
	e := s + gcpKeyLen
	if e > len(line) || !secretsAll(line[s+len(gcpKeyPrefix):e], secretsIsB64URL) || !secretsBounded(line, s, e, secretsIsB64URL) {
		return -1
	}
	return e
}

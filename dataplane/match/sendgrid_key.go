package match

var sendgridKey = Detector{
	Name:     "sendgrid_key",
	Category: CategorySecrets,
	Summary:  "SendGrid API key (SG.<22>.<43>)",
	Doc: "A SendGrid API key: SG., 22 characters of the base64url alphabet [A-Za-z0-9_-], '.', and 43 " +
		"more, 69 in all; neither preceded nor followed by a base64url character, nor by a dot and " +
		"one (another part makes it something else).",
	Prefix:   string(sendgridPrefix),
	AtPrefix: sendgridKeyAt,
	Examples: []Example{
		{"SENDGRID_API_KEY=SG.FAKEkeyFORdocsONLY0000.FAKEsecretFORdocumentationONLY0000000000-_x", []string{"SG.FAKEkeyFORdocsONLY0000.FAKEsecretFORdocumentationONLY0000000000-_x"}},
		{"SG.FAKEkeyFORdocsONLY000.FAKEsecretFORdocumentationONLY0000000000-_x SG.example", nil},
	},
}

var sendgridPrefix = []byte("SG.")

// Lengths of the two parts of a key.
const (
	sendgridID     = 22
	sendgridSecret = 43
)

// sendgridKeyAt returns the end of the SendGrid key that starts at
// line[s], or -1.
func sendgridKeyAt(line []byte, s int) int {
	d := s + len(sendgridPrefix) + sendgridID
	e := d + 1 + sendgridSecret
	if e > len(line) || line[d] != '.' || !secretsAll(line[s+len(sendgridPrefix):d], secretsIsB64URL) ||
		!secretsAll(line[d+1:e], secretsIsB64URL) || !secretsBounded(line, s, e, secretsIsB64URL) ||
		s >= 2 && line[s-1] == '.' && secretsIsB64URL(line[s-2]) ||
		e+1 < len(line) && line[e] == '.' && secretsIsB64URL(line[e+1]) {
		return -1
	}
	return e
}

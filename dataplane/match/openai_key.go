package match

import "bytes"

var openaiKey = Detector{
	Name:     "openai_key",
	Category: CategorySecrets,
	Summary:  "OpenAI API key (sk-..., sk-proj-...)",
	Doc: "An OpenAI API key: sk- (a dash: Stripe's sk_ keys are not these), an optional kind proj-, " +
		"svcacct- or admin-, then a run of characters of the base64url alphabet [A-Za-z0-9_-] that either " +
		"holds T3BlbkFJ (\"OpenAI\" in base64, which every key of OpenAI's carries) and is at least 20 " +
		"characters long, or, for the project form sk-proj-, is at least 40 characters long. Not " +
		"preceded by a base64url character; the finding runs to the end of the run. Keys of other " +
		"vendors that start with sk-, such as sk-ant-, hold no T3BlbkFJ and are left alone.",
	Prefix:   string(openaiPrefix),
	AtPrefix: openaiKeyAt,
	Examples: []Example{
		{"OPENAI_API_KEY=sk-FAKEkeyFORdocs000000T3BlbkFJFAKEkeyFORdocs000000", []string{"sk-FAKEkeyFORdocs000000T3BlbkFJFAKEkeyFORdocs000000"}},
		{"key=sk-proj-FAKEprojectKEYforDOCUMENTATIONonly_0000000000-x", []string{"sk-proj-FAKEprojectKEYforDOCUMENTATIONonly_0000000000-x"}},
		{"sk-FAKEkeyFORdocumentationONLY000000 sk_live_FAKEkey task-T3BlbkFJFAKEkeyFORdocs000000", nil},
	},
}

var (
	openaiPrefix = []byte("sk-")
	openaiMarker = []byte("T3BlbkFJ")
	openaiProj   = []byte("proj-")
	// openaiKinds are the kinds of key that may follow the prefix.
	openaiKinds = [...][]byte{openaiProj, []byte("svcacct-"), []byte("admin-")}
)

// Fewest characters of a key after its prefix and kind.
const (
	openaiMinMarked  = 20 // holding openaiMarker
	openaiMinProject = 40 // of the project form, without the marker
)

// openaiKeyAt returns the end of the OpenAI key that starts at line[s], or
// -1.
func openaiKeyAt(line []byte, s int) int {
	if s > 0 && secretsIsB64URL(line[s-1]) {
		return -1
	}
	b := s + len(openaiPrefix)
	e := secretsRun(line, b, secretsIsB64URL)
	var kind []byte
	for _, k := range openaiKinds {
		if bytes.HasPrefix(line[b:e], k) {
			kind = k
			break
		}
	}
	body := line[b+len(kind) : e]
	if len(body) >= openaiMinMarked && bytes.Contains(body, openaiMarker) ||
		bytes.Equal(kind, openaiProj) && len(body) >= openaiMinProject {
		return e
	}
	return -1
}

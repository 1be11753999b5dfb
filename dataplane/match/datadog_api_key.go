package match

var datadogAPIKey = Detector{
	Name:     "datadog_api_key",
	Category: CategorySecrets,
	Summary:  "Datadog API key: 32 lower-case hex digits named by a context word",
	Doc: "A Datadog API key: 32 lower-case hexadecimal digits [0-9a-f], not preceded or followed by a " +
		"letter or digit. Application keys (40 digits) are not API keys and are left alone. Context is " +
		"always required, since trace IDs and MD5 sums look the same. " + pairContextDoc,
	Context: datadogContext,
	Find:    findDatadogAPIKey,
	Examples: []Example{
		{"DD_API_KEY=abcdef0123456789abcdef0123456789", []string{"abcdef0123456789abcdef0123456789"}},
		{`{"datadog":{"api_key":"0123456789abcdef0123456789abcdef"}}`, []string{"0123456789abcdef0123456789abcdef"}},
		{"trace_id=abcdef0123456789abcdef0123456789 api_key=abcdef0123456789abcdef0123456789ab", nil},
	},
}

// datadogContext are the context words of datadogAPIKey.
var datadogContext = []string{"dd_api_key", "dd-api-key", "datadog", "api_key"}

// datadogKeyLen is the number of digits of an API key.
const datadogKeyLen = 32

// datadogKeyBytes are the lower-case hexadecimal digits.
var datadogKeyBytes = newSecretsByteSet("0123456789abcdef")

// findDatadogAPIKey finds Datadog API keys; see datadogAPIKey.
func findDatadogAPIKey(line []byte, from int) (int, int) {
	for i := from; ; {
		s, e := secretsNextRun(line, i, datadogKeyLen, datadogKeyBytes)
		if s < 0 {
			return -1, -1
		}
		if e-s == datadogKeyLen && secretsBounded(line, s, e, isAlnum) && pairContext(line, s, from, datadogContext) {
			return s, e
		}
		i = e
	}
}

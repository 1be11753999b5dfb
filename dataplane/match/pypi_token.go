package match

import "bytes"

var pypiToken = Detector{
	Name:     "pypi_token",
	Category: CategorySecrets,
	Summary:  "PyPI API token (pypi-AgEIcHlwaS5vcmc...)",
	Doc: "A PyPI API token: pypi- and a macaroon in base64url that names its location, pypi.org " +
		"(pypi-AgEIcHlwaS5vcmc) or test.pypi.org (pypi-AgENdGVzdC5weXBpLm9yZw), followed by at least 50 " +
		"more characters of the base64url alphabet [A-Za-z0-9_-], not preceded by one of them; the " +
		"finding runs to the end of the run.",
	Prefix:   string(pypiPrefix),
	AtPrefix: pypiTokenAt,
	Examples: []Example{
		{"TWINE_PASSWORD=pypi-AgEIcHlwaS5vcmcFAKEtokenFORdocumentationONLY0000000000000000000000-_x", []string{"pypi-AgEIcHlwaS5vcmcFAKEtokenFORdocumentationONLY0000000000000000000000-_x"}},
		{"pypi-AgEIcHlwaS5vcmcFAKEshort pypi-package==1.2.3", nil},
	},
}

var (
	pypiPrefix = []byte("pypi-")
	// pypiLocations are the base64url starts of the macaroons of PyPI
	// and TestPyPI.
	pypiLocations = [...][]byte{[]byte("AgEIcHlwaS5vcmc"), []byte("AgENdGVzdC5weXBpLm9yZw")}
)

// pypiMinRest is the fewest characters after the location.
const pypiMinRest = 50

// pypiTokenAt returns the end of the PyPI token that starts at line[s], or
// -1.
func pypiTokenAt(line []byte, s int) int {
	if s > 0 && secretsIsB64URL(line[s-1]) {
		return -1
	}
	m := s + len(pypiPrefix)
	for _, loc := range pypiLocations {
		if bytes.HasPrefix(line[m:], loc) {
			b := m + len(loc)
			if e := secretsRun(line, b, secretsIsB64URL); e-b >= pypiMinRest {
				return e
			}
		}
	}
	return -1
}

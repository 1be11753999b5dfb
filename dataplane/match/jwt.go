package match

import "encoding/base64"

var jwt = Detector{
	Name:     "jwt",
	Category: CategorySecrets,
	Summary:  "JSON Web Token: header.payload.signature, the header naming its alg",
	Doc: "A JSON Web Token in compact form: three parts of the base64url alphabet [A-Za-z0-9_-] joined " +
		"by dots, the first starting with eyJ, not preceded by a base64url character or a dot, and not " +
		"followed by a base64url character or by a dot and a base64url character (so a fourth part " +
		"rules it out). The header must decode (base64url without padding, at most 512 bytes) to a " +
		"valid JSON object with an \"alg\" member (its key may be written with escapes); the payload must " +
		"not be empty; the signature may be empty only when alg is \"none\" (compared without case), " +
		"the unsigned form.",
	Prefix:   string(jwtPrefix),
	AtPrefix: jwtAt,
	Examples: []Example{
		{"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.FAKEsignatureFORdocs_0-x", []string{"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.FAKEsignatureFORdocs_0-x"}},
		{"unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTEyMyJ9. ok", []string{"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTEyMyJ9."}},
		{"eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ1c2VyLTEyMyJ9.FAKEsig eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.", nil},
	},
}

var jwtPrefix = []byte("eyJ")

// jwtMaxHeader is the most bytes a header may decode to.
const jwtMaxHeader = 512

// jwtAt returns the end of the JSON Web Token that starts at line[s], or
// -1.
func jwtAt(line []byte, s int) int {
	if s > 0 && (secretsIsB64URL(line[s-1]) || line[s-1] == '.') {
		return -1
	}
	he := secretsRun(line, s, secretsIsB64URL)
	if he == len(line) || line[he] != '.' {
		return -1
	}
	pe := secretsRun(line, he+1, secretsIsB64URL)
	if pe == he+1 || pe == len(line) || line[pe] != '.' {
		return -1
	}
	e := secretsRun(line, pe+1, secretsIsB64URL)
	if e+1 < len(line) && line[e] == '.' && secretsIsB64URL(line[e+1]) {
		return -1
	}
	ok, none := jwtHeader(line[s:he])
	if !ok || e == pe+1 && !none {
		return -1
	}
	return e
}

// jwtHeader reports whether the header whose base64url text is h decodes
// to a JSON object with an "alg" member, and whether alg is "none",
// compared without case.
func jwtHeader(h []byte) (ok, none bool) {
	enc := base64.RawURLEncoding
	if enc.DecodedLen(len(h)) > jwtMaxHeader {
		return false, false
	}
	var buf [jwtMaxHeader]byte
	n, err := enc.Decode(buf[:], h)
	if err != nil {
		return false, false
	}
	obj := buf[:n]
	if !IsJSONObject(obj) || !ValidJSON(obj) {
		return false, false
	}
	alg, ok := jsonMember(obj, "alg")
	return ok, ok && equalFold(alg, `"none"`)
}

package match

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// Every token below is made up for these tests: the checksums are
// computed, the rest spells FAKE or EXAMPLE or is random.

// Alphabets of the secret formats.
const (
	secretsB62    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	secretsB64URL = secretsB62 + "_-"
	secretsB64Std = secretsB62 + "+/"
	secretsHex    = "0123456789abcdef"
	secretsB32    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	secretsB36    = "0123456789abcdefghijklmnopqrstuvwxyz"
)

// secretsRefBase62CRC is the reference checksum of GitHub-style tokens:
// the CRC32 of s written in base 62 by repeated division, most
// significant digit first, left-padded with '0' to 6 digits.
func secretsRefBase62CRC(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	var digits []byte
	for ; n > 0; n /= 62 {
		digits = append([]byte{secretsB62[n%62]}, digits...)
	}
	return strings.Repeat("0", 6-len(digits)) + string(digits)
}

// secretsCRCToken returns prefix, the 30 characters ent and their
// checksum.
func secretsCRCToken(prefix, ent string) string {
	return prefix + ent + secretsRefBase62CRC(ent)
}

// secretsPad left-pads s with '0' to n characters.
func secretsPad(s string, n int) string { return strings.Repeat("0", max(0, n-len(s))) + s }

// secretsGitlabRoutable returns the routable GitLab token of the base64url
// payload, its length and CRC32 in base 36 as GitLab writes them.
func secretsGitlabRoutable(payload string) string {
	head := "glpat-" + payload + ".01." + secretsPad(strconv.FormatInt(int64(len(payload)), 36), 2)
	return head + secretsPad(strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(head))), 36), 7)
}

// secretsRand returns n random characters of alphabet.
func secretsRand(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// secretsB64URLOf returns the base64url text of v as JSON, unpadded.
func secretsB64URLOf(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }

// Fixed tokens of the tests.
var (
	secretsAWSKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	secretsAWSKey2   = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
	secretsGHP       = secretsCRCToken("ghp_", "FAKEtokenFORdocsONLY0000000001")
	secretsNPM       = secretsCRCToken("npm_", "FAKEtokenFORdocsONLY0000000004")
	secretsRoutable  = secretsGitlabRoutable("RkFLRS1GQUtFLUZBS0UtRmM6MQpvOjEH")
	secretsJWTHeader = secretsB64URLOf(`{"alg":"HS256","typ":"JWT"}`)
	secretsJWTBody   = secretsB64URLOf(`{"sub":"user-123","name":"Fake User"}`)
	secretsJWT       = secretsJWTHeader + "." + secretsJWTBody + ".FAKEsignatureFORdocs_0-x"
	secretsDD        = "abcdef0123456789abcdef0123456789"
)

func TestSecretsFixtures(t *testing.T) {
	// The examples of the detectors spell these tokens out.
	for _, tt := range []struct{ got, want string }{
		{secretsGHP, "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"},
		{secretsNPM, "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"},
		{secretsRoutable, "glpat-RkFLRS1GQUtFLUZBS0UtRmM6MQpvOjEH.01.0w0prir2g"},
		{secretsB64URLOf(`{"alg":"none"}`), "eyJhbGciOiJub25lIn0"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s; want %s", tt.got, tt.want)
		}
	}
}

func TestFindAWSAccessKeyID(t *testing.T) {
	runDetectorTests(t, "aws_access_key_id", []detectorTest{
		{"AKIAIOSFODNN7EXAMPLE", []string{"AKIAIOSFODNN7EXAMPLE"}},
		{"aws_access_key_id = AKIAIOSFODNN7EXAMPLE", []string{"AKIAIOSFODNN7EXAMPLE"}},
		{`{"AccessKeyId":"ASIAIOSFODNN7EXAMPLE","Expiration":"2024-11-22T05:27:33Z"}`, []string{"ASIAIOSFODNN7EXAMPLE"}},
		{"key=AROAIOSFODNN7EXAMPLE,AIDAIOSFODNN7EXAMPLE;", []string{"AROAIOSFODNN7EXAMPLE", "AIDAIOSFODNN7EXAMPLE"}},
		{"s3://bucket/AKIAIOSFODNN7EXAMPLE/x", []string{"AKIAIOSFODNN7EXAMPLE"}},
		{"ABIA2345672345672345 ACCAAAAAAAAAAAAAAAAA AGPAZZZZZZZZZZZZZZZZ", []string{"ABIA2345672345672345", "ACCAAAAAAAAAAAAAAAAA", "AGPAZZZZZZZZZZZZZZZZ"}},
		{"AIPAIOSFODNN7EXAMPLE ANPAIOSFODNN7EXAMPLE ANVAIOSFODNN7EXAMPLE APKAIOSFODNN7EXAMPLE ASCAIOSFODNN7EXAMPLE",
			[]string{"AIPAIOSFODNN7EXAMPLE", "ANPAIOSFODNN7EXAMPLE", "ANVAIOSFODNN7EXAMPLE", "APKAIOSFODNN7EXAMPLE", "ASCAIOSFODNN7EXAMPLE"}},
		{"x_AKIAIOSFODNN7EXAMPLE_y", []string{"AKIAIOSFODNN7EXAMPLE"}},

		{"AKIAIOSFODNN7EXAMPL", nil},
		{"AKIAIOSFODNN7EXAMPLEE", nil},
		{"XAKIAIOSFODNN7EXAMPLE 1AKIAIOSFODNN7EXAMPLE", nil},
		{"AKIAIOSFODNN1EXAMPLE AKIAIOSFODNN8EXAMPLE AKIAIOSFODNN0EXAMPLE", nil},
		{"AKIAiosfodnn7example AKIA-OSFODNN7EXAMPLE", nil},
		{"AXIAIOSFODNN7EXAMPLE ABCDIOSFODNN7EXAMPLE AKIB", nil},
		{"commit 0123456789abcdef0123456789abcdef01234567 uuid 123e4567-e89b-12d3-a456-426614174000", nil},
		{"ts=1732262400 ts_ms=1732262400123 version 1.2.3", nil},
		{"", nil},
	})
}

func TestFindAWSSecretAccessKey(t *testing.T) {
	k, k2 := secretsAWSKey, secretsAWSKey2
	escaped := strings.ReplaceAll(k, "/", `\/`)
	runDetectorTests(t, "aws_secret_access_key", []detectorTest{
		{"AWS_SECRET_ACCESS_KEY=" + k, []string{k}},
		{"aws_secret_access_key = " + k + " region=eu-west-1", []string{k}},
		{"export AWS_SECRET_ACCESS_KEY='" + k + "'", []string{k}},
		{`{"aws_secret_access_key":"` + k + `"}`, []string{k}},
		{`{"Credentials":{"SecretAccessKey": "` + k + `","SessionToken":"x"}}`, []string{k}},
		{"aws secret key: " + k, []string{k}},
		{"AWS Secret " + k, []string{k}},
		{"secret_access_key:" + k + ".", []string{k}},
		{`{"secret_access_key":"` + escaped + `"}`, []string{escaped}},
		{"aws_secret=" + k + " aws_secret=" + k2, []string{k, k2}},
		{`aws_secret_access_key = "` + k + `"\n`, []string{k}},
		{"aws_secret=" + strings.Repeat("A", 40), []string{strings.Repeat("A", 40)}},

		{k, nil},
		{"secret=" + k + " password " + k, nil},
		{"aws_secret=" + k[:39], nil},
		{"aws_secret=" + k + "A", nil},
		{"aws_secret=" + k + "=", nil},
		{"aws_secret=" + k + "/x", nil},
		{"aws_secret=x" + k, nil},
		{"aws_secret=/" + k, nil},
		{"aws_secret=" + k + k2, nil},
		{"aws_secret, password=" + k, nil},
		{"aws_secret; token=" + k, nil},
		{"[aws_secret] " + k, nil},
		{"aws_secret" + strings.Repeat(" ", 23) + k, nil},
		{"aws_secret " + k + " " + k2 + " leaves the second without context", []string{k}},
		{"AWS_SECRET_KEY_ID_FOR_ROTATION_ONLY_0000000000000 ok", nil},
		{"commit 0123456789abcdef0123456789abcdef01234567 payload=" + k, nil},
		{"", nil},
	})
}

func TestFindBearerToken(t *testing.T) {
	tok := "FAKEtokenForDocs.0123456789-abc"
	runDetectorTests(t, "bearer_token", []detectorTest{
		{"Authorization: Bearer " + tok, []string{tok}},
		{"authorization: bearer " + tok + " ok", []string{tok}},
		{"AUTHORIZATION: BEARER " + tok, []string{tok}},
		{"Authorization: Bearer   " + tok, []string{tok}},
		{`{"Authorization":"Bearer ` + tok + `"}`, []string{tok}},
		{"Bearer FAKE/token+for/docs==,next", []string{"FAKE/token+for/docs=="}},
		{`Bearer FAKE\/token+for\/docs~x`, []string{`FAKE\/token+for\/docs~x`}},
		{"Bearer " + secretsJWT, []string{secretsJWT}},
		{"a: Bearer 0123456789abcdef; b: bearer fedcba9876543210", []string{"0123456789abcdef", "fedcba9876543210"}},
		{"Bearer Bearer " + tok, []string{tok}},
		{"(Bearer " + tok + ")", []string{tok}},

		{"Authorization: Bearer 0123456789abcde", nil},
		{"Authorization: Bearer <token>", nil},
		{"Authorization: Bearer", nil},
		{"Authorization: Bearer ", nil},
		{"Authorization: Basic dXNlcjpwYXNzd29yZGZvcmRvY3M=", nil},
		{"Bearer\t" + tok, nil},
		{"Bearer:" + tok, nil},
		{"unbearer " + tok, nil},
		{"bearerx " + tok, nil},
		{"the bear ate " + tok, nil},
		{"", nil},
	})
}

func TestFindDatadogAPIKey(t *testing.T) {
	h := secretsDD
	runDetectorTests(t, "datadog_api_key", []detectorTest{
		{"DD_API_KEY=" + h, []string{h}},
		{"dd-api-key: " + h, []string{h}},
		{`{"api_key":"` + h + `"}`, []string{h}},
		{`{"datadog":{"api_key":"` + h + `"}}`, []string{h}},
		{"DATADOG_API_KEY=" + h + " site=datadoghq.eu", []string{h}},
		{"datadog api key is " + h, []string{h}},
		{"dd_api_key=" + h + " dd_api_key=" + strings.ToLower("FEDCBA9876543210FEDCBA9876543210"), []string{h, "fedcba9876543210fedcba9876543210"}},
		{"GET /intake?api_key=" + h + "&x=1", []string{h}},

		{h, nil},
		{"trace_id=" + h, nil},
		{`{"trace_id":"` + h + `","span_id":"0123456789abcdef"}`, nil},
		{"api_key=" + h[:31], nil},
		{"api_key=" + h + "0", nil},
		{"api_key=" + strings.ToUpper(h), nil},
		{"api_key=x" + h, nil},
		{"api_key=" + h + "g", nil},
		{"api_key=" + h + h[:8], nil},
		{"api_key=0123abcd-0123-4567-89ab-0123456789ab", nil},
		{"api_key, trace=" + h, nil},
		{"[api_key] " + h, nil},
		{"api_key" + strings.Repeat(" ", 26) + h, nil},
		{"datadog app key " + h + "01234567", nil},
		{"sha256:" + h + h, nil},
		{"", nil},
	})
}

func TestFindGCPAPIKey(t *testing.T) {
	k := "AIzaFAKEkeyFORdocsONLY_00000000000000-x"
	runDetectorTests(t, "gcp_api_key", []detectorTest{
		{k, []string{k}},
		{"https://maps.googleapis.com/maps/api/geocode/json?key=" + k + "&address=x", []string{k}},
		{`{"apiKey":"` + k + `"}`, []string{k}},
		{"key=" + k + ".", []string{k}},
		{k + " " + k, []string{k, k}},

		{k[:38], nil},
		{k + "0", nil},
		{"x" + k, nil},
		{"-" + k + " " + k + "_", nil},
		{"AIza" + strings.Repeat("!", 35), nil},
		{"AIzb" + k[4:], nil},
		{"", nil},
	})
}

func TestFindGithubToken(t *testing.T) {
	ghp := secretsGHP
	gho := secretsCRCToken("gho_", "FAKEtokenFORdocsONLY0000000002")
	ghu := secretsCRCToken("ghu_", "000000000000000000000000000000")
	ghs := secretsCRCToken("ghs_", "FAKEtokenFORdocsONLY0000000003")
	ghr := secretsCRCToken("ghr_", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz")
	bad := ghp[:len(ghp)-1] + string(ghp[len(ghp)-1]^0x20) // case flipped
	runDetectorTests(t, "github_token", []detectorTest{
		{ghp, []string{ghp}},
		{"GITHUB_TOKEN=" + gho + " ok", []string{gho}},
		{`{"token":"` + ghu + `"}`, []string{ghu}},
		{"https://x-access-token:" + ghs + "@github.com/o/r.git", []string{ghs}},
		{"Authorization: token " + ghr, []string{ghr}},
		{ghp + "," + gho, []string{ghp, gho}},
		{"-" + ghp + ".", []string{ghp}},

		{bad, nil},
		{ghp[:len(ghp)-1], nil},
		{ghp + "0", nil},
		{ghp + "_x", nil},
		{"x" + ghp, nil},
		{"_" + ghp, nil},
		{"ghx_" + ghp[4:], nil},
		{"gh_" + ghp[4:], nil},
		{"ghp_" + strings.Repeat("A", 36), nil},
		{"ghp-" + ghp[4:], nil},
		{"commit 0123456789abcdef0123456789abcdef01234567", nil},
		{"", nil},
	})
}

func TestFindGithubFineGrainedPAT(t *testing.T) {
	head, tail := "FAKEtokenFORdocsONLY00", "FAKEfineGRAINEDpatFORdocumentationONLY000000000000000000000"
	p := "github_pat_" + head + "_" + tail
	runDetectorTests(t, "github_fine_grained_pat", []detectorTest{
		{p, []string{p}},
		{"GH_TOKEN=" + p + " ok", []string{p}},
		{`{"token":"` + p + `"}`, []string{p}},
		{p + ";" + p, []string{p, p}},

		{p[:len(p)-1], nil},
		{p + "0", nil},
		{p + "_", nil},
		{"x" + p, nil},
		{"_" + p, nil},
		{"github_pat_" + head[1:] + "_0" + tail, nil},
		{"github_pat_" + head + "-" + tail, nil},
		{"github_pat_" + head + "_" + tail[:40] + "_" + tail[41:], nil},
		{"github_pat_expiry=30d", nil},
		{"", nil},
	})
}

func TestFindGitlabToken(t *testing.T) {
	legacy := "glpat-FAKEtokenFORdocs-000"
	routable := secretsRoutable
	longer := secretsGitlabRoutable(secretsB64URLOf("FAKE-FAKE-FAKE-Fc:1\no:1\ng:2\nu:3 with a longer routing payload"))
	badCRC := routable[:len(routable)-1] + "h"
	badLen := strings.Replace(routable, ".01.0w", ".01.0x", 1)
	runDetectorTests(t, "gitlab_token", []detectorTest{
		{legacy, []string{legacy}},
		{"PRIVATE-TOKEN: " + legacy + " ok", []string{legacy}},
		{`{"token":"` + legacy + `"}`, []string{legacy}},
		{"glpat-" + strings.Repeat("_", 20) + " glpat-" + strings.Repeat("-", 20) + ".", []string{"glpat-" + strings.Repeat("_", 20), "glpat-" + strings.Repeat("-", 20)}},
		{"token=" + routable + ";", []string{routable}},
		{routable, []string{routable}},
		{longer + " " + legacy, []string{longer, legacy}},
		{`{"t":"` + routable + `"}`, []string{routable}},

		{legacy[:len(legacy)-1], nil},
		{legacy + "0", nil},
		{legacy + "00000000", nil},
		{"x" + legacy, nil},
		{"-" + legacy, nil},
		{badCRC, nil},
		{badLen, nil},
		{routable + "0", nil},
		{routable + "-", nil},
		{strings.ToUpper(routable), nil},
		{"glpat-", nil},
		{"glpat-FAKE", nil},
		{"", nil},
	})
}

func TestFindGoogleOAuthToken(t *testing.T) {
	tok := "ya29.FAKEaccessTOKENforDOCSonly_0000-x"
	runDetectorTests(t, "google_oauth_token", []detectorTest{
		{tok, []string{tok}},
		{"Authorization: Bearer " + tok, []string{tok}},
		{`{"access_token":"` + tok + `","expires_in":3599}`, []string{tok}},
		{"token=" + tok + ".", []string{tok}},
		{"ya29." + strings.Repeat("a", 20), []string{"ya29." + strings.Repeat("a", 20)}},

		{"ya29." + strings.Repeat("a", 19), nil},
		{"x" + tok, nil},
		{"_" + tok, nil},
		{"ya29 " + tok[5:], nil},
		{"ya30." + tok[5:], nil},
		{"version ya29.1", nil},
		{"", nil},
	})
}

func TestFindJWT(t *testing.T) {
	j := secretsJWT
	none := secretsB64URLOf(`{"alg":"none"}`) + "." + secretsJWTBody + "."
	noneUpper := secretsB64URLOf(`{"typ":"JWT","alg":"None"}`) + "." + secretsJWTBody + "."
	spaced := secretsB64URLOf(`{"kid" : "k1",  "alg"	: "RS256" } `) + "." + secretsJWTBody + ".sig"
	noAlg := secretsB64URLOf(`{"typ":"JWT"}`) + "." + secretsJWTBody + ".sig"
	nested := secretsB64URLOf(`{"x":{"alg":"HS256"}}`) + "." + secretsJWTBody + ".sig"
	escapedKey := secretsB64URLOf(`{"\u0061lg":"HS256"}`) + "." + secretsJWTBody + ".sig"
	notJSON := secretsB64URLOf(`{"alg":"HS256"`) + "." + secretsJWTBody + ".sig"
	arr := secretsB64URLOf(`["alg"]`) + "." + secretsJWTBody + ".sig"
	huge := secretsB64URLOf(`{"alg":"HS256","x":"`+strings.Repeat("a", 500)+`"}`) + "." + secretsJWTBody + ".sig"
	runDetectorTests(t, "jwt", []detectorTest{
		{j, []string{j}},
		{"Authorization: Bearer " + j, []string{j}},
		{`{"id_token":"` + j + `"}`, []string{j}},
		{"token=" + j + "&state=x", []string{j}},
		{"unsigned " + none + " ok", []string{none}},
		{none, []string{none}},
		{noneUpper, []string{noneUpper}},
		{spaced, []string{spaced}},
		{j + " " + j, []string{j, j}},
		{"(" + j + ").", []string{j}},

		{secretsJWTHeader + "." + secretsJWTBody + ".", nil},
		{secretsJWTHeader + "." + secretsJWTBody, nil},
		{secretsJWTHeader + ".." + "sig", nil},
		{noAlg, nil},
		{nested, nil},
		{escapedKey, []string{escapedKey}},
		{notJSON, nil},
		{arr, nil},
		{huge, nil},
		{j + ".more", nil},
		{"x" + j, nil},
		{"a." + j, nil},
		{"eyJ!" + j[3:], nil},
		{"eyJhbGciOiJIUzI1NiJ9 alone", nil},
		{"eyJ.eyJ.eyJ", nil},
		{"", nil},
	})
}

func TestFindNPMToken(t *testing.T) {
	n := secretsNPM
	n2 := secretsCRCToken("npm_", "FAKEtokenFORdocsONLY0000000005")
	runDetectorTests(t, "npm_token", []detectorTest{
		{n, []string{n}},
		{"//registry.npmjs.org/:_authToken=" + n, []string{n}},
		{`{"token":"` + n + `"}`, []string{n}},
		{"NPM_TOKEN=" + n + " " + n2, []string{n, n2}},

		{n[:len(n)-1] + "l", nil},
		{n[:len(n)-1], nil},
		{n + "a", nil},
		{"x" + n, nil},
		{"npm_config_cache=/tmp/npm npm_package_version=1.2.3", nil},
		{"npm_" + strings.Repeat("0", 36), nil},
		{secretsCRCToken("ghp_", "FAKEtokenFORdocsONLY0000000004"), nil},
		{"", nil},
	})
}

func TestFindOpenAIKey(t *testing.T) {
	legacy := "sk-FAKEkeyFORdocs000000T3BlbkFJFAKEkeyFORdocs000000"
	proj := "sk-proj-FAKEprojectKEYforDOCUMENTATIONonly_0000000000-x"
	projMarked := "sk-proj-FAKE_-T3BlbkFJ000000000000"
	svc := "sk-svcacct-FAKEkeyFORdocs0T3BlbkFJFAKE"
	admin := "sk-admin-FAKEkeyFORdocs0T3BlbkFJFAKE"
	runDetectorTests(t, "openai_key", []detectorTest{
		{legacy, []string{legacy}},
		{"OPENAI_API_KEY=" + legacy + " model=gpt", []string{legacy}},
		{`{"api_key":"` + proj + `"}`, []string{proj}},
		{"Authorization: Bearer " + projMarked, []string{projMarked}},
		{svc + "," + admin, []string{svc, admin}},
		{"sk-T3BlbkFJ000000000000", []string{"sk-T3BlbkFJ000000000000"}},

		{"sk-T3BlbkFJ00000000000", nil},
		{"sk-FAKEkeyFORdocumentationONLY000000000000000000000000", nil},
		{"sk-proj-" + strings.Repeat("a", 39), nil},
		{"sk-svcacct-" + strings.Repeat("a", 60), nil},
		{"sk-ant-api03-FAKEkeyFORdocumentationONLY00000000000000000000000", nil},
		{"sk_live_FAKEkeyFORdocs000000T3BlbkFJFAKE", nil},
		{"task-FAKEkeyFORdocs000000T3BlbkFJFAKEkeyFORdocs000000", nil},
		{"x" + legacy, nil},
		{"-" + legacy, nil},
		{"desk-123 risk-high sk-", nil},
		{"", nil},
	})
}

func TestFindPrivateKeyPEM(t *testing.T) {
	rsa := `-----BEGIN RSA PRIVATE KEY-----\nMIIEFAKEkeyFORdocs\nAAAA==\n-----END RSA PRIVATE KEY-----`
	real := "-----BEGIN EC PRIVATE KEY-----\nMHcFAKE\n-----END EC PRIVATE KEY-----"
	pkcs8 := `-----BEGIN PRIVATE KEY-----\nMIIEvFAKE\n-----END PRIVATE KEY-----`
	enc := `-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFFAKE\n-----END ENCRYPTED PRIVATE KEY-----`
	ssh := "-----BEGIN OPENSSH PRIVATE KEY-----\r\nb3BlbnNzaC1rZXktdjEFAKE\r\n-----END OPENSSH PRIVATE KEY-----"
	dsa := `-----BEGIN DSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\nMIIBFAKE\n-----END DSA PRIVATE KEY-----`
	runDetectorTests(t, "private_key_pem", []detectorTest{
		{rsa, []string{rsa}},
		{`key="` + rsa + `\n" user=bob`, []string{rsa}},
		{`{"private_key":"` + pkcs8 + `\n","client_email":"x@example.com"}`, []string{pkcs8}},
		{real + "\ntrailing", []string{real}},
		{"keys " + enc + " and " + ssh, []string{enc, ssh}},
		{dsa, []string{dsa}},
		// Truncated: to the end of the line, or of the quoted string.
		{`truncated -----BEGIN RSA PRIVATE KEY-----\nMIIEFAKE`, []string{`-----BEGIN RSA PRIVATE KEY-----\nMIIEFAKE`}},
		{`{"k":"-----BEGIN PRIVATE KEY-----\nMIIEvFAKE","next":1}`, []string{`-----BEGIN PRIVATE KEY-----\nMIIEvFAKE`}},
		{`msg="key: \"-----BEGIN PRIVATE KEY-----\nMIIEvFAKE\"" x=1`, []string{`-----BEGIN PRIVATE KEY-----\nMIIEvFAKE`}},
		{"-----BEGIN PRIVATE KEY-----", []string{"-----BEGIN PRIVATE KEY-----"}},
		// The END must name the same type.
		{`-----BEGIN RSA PRIVATE KEY-----\nA\n-----END EC PRIVATE KEY----- rest`, []string{`-----BEGIN RSA PRIVATE KEY-----\nA\n-----END EC PRIVATE KEY----- rest`}},
		{"-----BEGIN -----BEGIN PRIVATE KEY-----x-----END PRIVATE KEY-----", []string{"-----BEGIN PRIVATE KEY-----x-----END PRIVATE KEY-----"}},

		{`-----BEGIN PUBLIC KEY-----\nMIIBFAKE\n-----END PUBLIC KEY-----`, nil},
		{`-----BEGIN CERTIFICATE-----\nMIIDFAKE\n-----END CERTIFICATE-----`, nil},
		{"-----BEGIN PGP PRIVATE KEY BLOCK-----", nil},
		{"-----BEGIN rsa PRIVATE KEY-----", nil},
		{"-----BEGIN RSA  PRIVATE KEY-----", nil},
		{"-----BEGIN RSA PRIVATE KEY----", nil},
		{"-----END RSA PRIVATE KEY-----", nil},
		{"BEGIN RSA PRIVATE KEY", nil},
		{"", nil},
	})
}

func TestFindPyPIToken(t *testing.T) {
	rest := "FAKEtokenFORdocumentationONLY0000000000000000000000-_x"
	tok := "pypi-AgEIcHlwaS5vcmc" + rest
	test := "pypi-AgENdGVzdC5weXBpLm9yZw" + rest
	runDetectorTests(t, "pypi_token", []detectorTest{
		{tok, []string{tok}},
		{"TWINE_PASSWORD=" + tok + " ok", []string{tok}},
		{`password = "` + test + `"`, []string{test}},
		{tok + "," + tok, []string{tok, tok}},

		{"pypi-AgEIcHlwaS5vcmc" + rest[:49], nil},
		{"x" + tok, nil},
		{"-" + tok, nil},
		{"pypi-AgEIcHlwaS5vcmd" + rest, nil},
		{"pypi-package==1.2.3 pypi-" + rest, nil},
		{"", nil},
	})
}

func TestFindSendgridKey(t *testing.T) {
	k := "SG.FAKEkeyFORdocsONLY0000.FAKEsecretFORdocumentationONLY0000000000-_x"
	runDetectorTests(t, "sendgrid_key", []detectorTest{
		{k, []string{k}},
		{"SENDGRID_API_KEY=" + k + " ok", []string{k}},
		{`{"apiKey":"` + k + `"}`, []string{k}},
		{k + ". done", []string{k}},

		{k[:len(k)-1], nil},
		{k + "0", nil},
		{k + ".x", nil},
		{"x." + k, nil},
		{k + "." + k, nil},
		{"x" + k, nil},
		{"SG.FAKEkeyFORdocsONLY000.0FAKEsecretFORdocumentationONLY0000000000-_x", nil},
		{"SG." + strings.Repeat("a", 22) + "!" + strings.Repeat("a", 43), nil},
		{"SG.example SG.", nil},
		{"", nil},
	})
}

func TestFindSlackToken(t *testing.T) {
	bot := "xoxb-0000000000-0000000000000-FAKEexampleTOKEN00000000"
	user := "xoxp-0000000000-0000000000-0000000000000-fake0000000000000000000000000000"
	cfg := "xoxe.xoxp-1-FAKEexampleTOKENforDOCS0000"
	runDetectorTests(t, "slack_token", []detectorTest{
		{bot, []string{bot}},
		{"SLACK_BOT_TOKEN=" + bot + " ok", []string{bot}},
		{`{"token":"` + user + `"}`, []string{user}},
		{"refresh=" + cfg, []string{cfg}},
		{"xoxe-1-FAKEexampleTOKENforDOCS0000", []string{"xoxe-1-FAKEexampleTOKENforDOCS0000"}},
		{"xoxa-2-FAKE0000 xoxr-1234567890 xoxs-0-0-0-0", []string{"xoxa-2-FAKE0000"}},
		{"xoxs-0000-0000-0000-fake0000", []string{"xoxs-0000-0000-0000-fake0000"}},
		{bot + "-", []string{bot}},
		{bot + "--x", []string{bot}},
		{bot + "." + bot, []string{bot, bot}},
		{"axoxe.xoxp" + bot[4:], []string{"xoxp" + bot[4:]}},

		{"xoxb-FAKE-0000000000", nil},
		{"xoxb-0000000000", nil},
		{"xoxb-12-345", nil},
		{"xoxb-12a-34567890", nil},
		{"xoxo-0000000000-FAKE xoxz-0000000000-FAKE", nil},
		{"xoxb_0000000000-FAKE", nil},
		{"xoxb--0000000000-FAKE", nil},
		{"axoxb-0000000000-0000000000000-FAKE", nil},
		{"", nil},
	})
}

func TestFindSlackWebhook(t *testing.T) {
	path := "hooks.slack.com/services/T00000000/B00000000/FAKEexampleSECRET0000000"
	url := "https://" + path
	esc := strings.ReplaceAll(url, "/", `\/`)
	runDetectorTests(t, "slack_webhook", []detectorTest{
		{url, []string{url}},
		{"notify url=" + url + " ok", []string{url}},
		{`{"webhook":"` + url + `"}`, []string{url}},
		{`{"webhook":"` + esc + `"}`, []string{esc}},
		{"http://" + path + "?x=1", []string{"http://" + path}},
		{"curl -X POST " + path, []string{path}},
		{"(" + url + ").", []string{url}},
		{"https://hooks.slack.com/services/TFAKE0001/BFAKE0001/FAKEexampleSECRET0000000 " + url,
			[]string{"https://hooks.slack.com/services/TFAKE0001/BFAKE0001/FAKEexampleSECRET0000000", url}},

		{url[:len(url)-1], nil},
		{url + "0", nil},
		{"x" + url, nil},
		{url + url, nil},
		{"https://hooks.slack.com/services/t00000000/B00000000/FAKEexampleSECRET0000000", nil},
		{"https://hooks.slack.com/services/T00000000/b00000000/FAKEexampleSECRET0000000", nil},
		{"https://hooks.slack.com/services/T/B00000000/FAKEexampleSECRET0000000", nil},
		{"https://hooks.slack.com/services/T00000000/B00000000", nil},
		{"https://hooks.slack.com/workflows/T00000000/A00000000/1/FAKEexampleSECRET0000000", nil},
		{"https://nothooks.slack.com/services/T00000000/B00000000/FAKEexampleSECRET0000000", nil},
		{"https://api.slack.com/apps", nil},
		{"", nil},
	})
}

func TestFindStripeKey(t *testing.T) {
	sk := "sk_live_FAKEkeyFORdocsONLY00000000"
	rk := "rk_test_FAKEkeyFORdocsONLY00000000"
	long := "sk_live_51FAKE" + strings.Repeat("0", 90)
	runDetectorTests(t, "stripe_key", []detectorTest{
		{sk, []string{sk}},
		{"stripe.api_key=" + sk + " charge ok", []string{sk}},
		{`{"key":"` + rk + `"}`, []string{rk}},
		{"sk_test_" + strings.Repeat("a", 24), []string{"sk_test_" + strings.Repeat("a", 24)}},
		{"rk_live_FAKE000000000000000000000," + long, []string{"rk_live_FAKE000000000000000000000", long}},
		{"-" + sk + ".", []string{sk}},

		{"pk_live_FAKEkeyFORdocsONLY00000000 pk_test_FAKEkeyFORdocsONLY00000000", nil},
		{"sk_live_" + strings.Repeat("a", 23), nil},
		{"sk_prod_FAKEkeyFORdocsONLY00000000 sk_LIVE_FAKEkeyFORdocsONLY00000000", nil},
		{"x" + sk, nil},
		{"_" + sk, nil},
		{"task_test_FAKEkeyFORdocsONLY00000000 disk_live_FAKEkeyFORdocsONLY00000000", nil},
		{sk + "_x", nil},
		{"sk_live_FAKE-keyFORdocsONLY00000000", nil},
		{"k_live_FAKEkeyFORdocsONLY00000000", nil},
		{"", nil},
	})
}

func TestFindTwilioKey(t *testing.T) {
	sk := "SK0123456789abcdef0123456789abcdef"
	ac := "ACdeadbeefdeadbeefdeadbeefdeadbeef"
	runDetectorTests(t, "twilio_key", []detectorTest{
		{sk, []string{sk}},
		{"TWILIO_API_KEY=" + sk + " ok", []string{sk}},
		{`{"sid":"` + sk + `"}`, []string{sk}},
		{"twilio account " + ac, []string{ac}},
		{"TWILIO_ACCOUNT_SID=" + ac + " TWILIO_API_KEY=" + sk, []string{ac, sk}},
		{"POST https://api.twilio.com/2010-04-01/Accounts/" + ac + "/Messages.json", []string{ac}},
		{`{"twilio_sid":"` + ac + `"}`, []string{ac}},
		{sk + "," + sk, []string{sk, sk}},

		{ac, nil},
		{"sid=" + ac, nil},
		{"twilio, account=" + ac, nil},
		{`{"twilio":{"sid":"` + ac + `"}}`, nil},
		{"SK0123456789ABCDEF0123456789ABCDEF", nil},
		{sk[:33], nil},
		{sk + "0", nil},
		{"TASK0123456789abcdef0123456789abcdef", nil},
		{"SKU0123456789abcdef0123456789abcdef", nil},
		{"sk0123456789abcdef0123456789abcdef", nil},
		{"", nil},
	})
}

// TestSecretsPositives checks that the detectors find the values of their
// generators, after a context word where they need one.
func TestSecretsPositives(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, d := range secretDetectors {
		gen := positives[d.Name]
		if gen == nil {
			t.Errorf("%s: no generator of positives", d.Name)
			continue
		}
		words := append([]string{""}, d.Context...)
		for i := range 200 {
			v := gen(r)
			w := words[i%len(words)]
			if w == "" && len(d.Context) > 0 && d.Name != "twilio_key" {
				w = d.Context[0]
			}
			line := "x " + w + " " + v + " y"
			want := v
			if d.Name == "bearer_token" {
				want = v[len("Bearer "):]
			}
			if d.Name == "twilio_key" && w == "" && strings.HasPrefix(v, "AC") {
				continue
			}
			if got := findings(d.Find, line); len(got) != 1 || got[0] != want {
				t.Fatalf("%s in %q: got %q; want [%q]", d.Name, line, got, want)
			}
		}
	}
}

// Generators of the secret detectors' values, for TestPrecisionRecall.
func init() {
	positives["aws_access_key_id"] = func(r *rand.Rand) string {
		prefixes := []string{"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA", "ASCA"}
		return prefixes[r.IntN(len(prefixes))] + secretsRand(r, 16, secretsB32)
	}
	positives["aws_secret_access_key"] = func(r *rand.Rand) string { return secretsRand(r, 40, secretsB64Std) }
	positives["bearer_token"] = func(r *rand.Rand) string {
		tok := secretsRand(r, 16+r.IntN(48), secretsB62+"-._~+/")
		return "Bearer " + tok + strings.Repeat("=", r.IntN(3))
	}
	positives["datadog_api_key"] = func(r *rand.Rand) string { return secretsRand(r, 32, secretsHex) }
	positives["gcp_api_key"] = func(r *rand.Rand) string { return "AIza" + secretsRand(r, 35, secretsB64URL) }
	positives["github_fine_grained_pat"] = func(r *rand.Rand) string {
		return "github_pat_" + secretsRand(r, 22, secretsB62) + "_" + secretsRand(r, 59, secretsB62)
	}
	positives["github_token"] = func(r *rand.Rand) string {
		return secretsCRCToken("gh"+string("pousr"[r.IntN(5)])+"_", secretsRand(r, 30, secretsB62))
	}
	positives["gitlab_token"] = func(r *rand.Rand) string {
		if r.IntN(2) == 0 {
			return "glpat-" + secretsRand(r, 20, secretsB64URL)
		}
		return secretsGitlabRoutable(secretsRand(r, 27+r.IntN(100), secretsB64URL))
	}
	positives["google_oauth_token"] = func(r *rand.Rand) string {
		return "ya29." + secretsRand(r, 20+r.IntN(150), secretsB64URL)
	}
	positives["jwt"] = func(r *rand.Rand) string {
		algs := []string{"HS256", "RS256", "ES256", "PS512", "EdDSA"}
		h := fmt.Sprintf(`{"alg":%q,"typ":"JWT","kid":%q}`, algs[r.IntN(len(algs))], secretsRand(r, 8, secretsB62))
		p, _ := json.Marshal(map[string]any{"sub": secretsRand(r, 12, secretsB62), "iat": 1700000000 + r.IntN(1e8), "admin": r.IntN(2) == 0})
		return secretsB64URLOf(h) + "." + secretsB64URLOf(string(p)) + "." + secretsRand(r, 43, secretsB64URL)
	}
	positives["npm_token"] = func(r *rand.Rand) string { return secretsCRCToken("npm_", secretsRand(r, 30, secretsB62)) }
	positives["openai_key"] = func(r *rand.Rand) string {
		switch r.IntN(3) {
		case 0:
			return "sk-" + secretsRand(r, 20, secretsB62) + "T3BlbkFJ" + secretsRand(r, 20, secretsB62)
		case 1:
			return "sk-proj-" + secretsRand(r, 40+r.IntN(120), secretsB64URL)
		}
		kinds := []string{"svcacct-", "admin-", "proj-"}
		return "sk-" + kinds[r.IntN(3)] + secretsRand(r, 58, secretsB64URL) + "T3BlbkFJ" + secretsRand(r, 58, secretsB64URL)
	}
	positives["private_key_pem"] = func(r *rand.Rand) string {
		types := []string{"RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", ""}
		typ := types[r.IntN(len(types))]
		nl := `\n`
		if r.IntN(4) == 0 {
			nl = "\n"
		}
		var b strings.Builder
		b.WriteString("-----BEGIN " + typ + "PRIVATE KEY-----" + nl)
		for range 1 + r.IntN(4) {
			b.WriteString(secretsRand(r, 64, secretsB64Std) + nl)
		}
		b.WriteString("-----END " + typ + "PRIVATE KEY-----")
		return b.String()
	}
	positives["pypi_token"] = func(r *rand.Rand) string {
		locs := []string{"AgEIcHlwaS5vcmc", "AgENdGVzdC5weXBpLm9yZw"}
		return "pypi-" + locs[r.IntN(2)] + secretsRand(r, 50+r.IntN(150), secretsB64URL)
	}
	positives["sendgrid_key"] = func(r *rand.Rand) string {
		return "SG." + secretsRand(r, 22, secretsB64URL) + "." + secretsRand(r, 43, secretsB64URL)
	}
	positives["slack_token"] = func(r *rand.Rand) string {
		switch r.IntN(4) {
		case 0:
			return "xoxb-" + digits(r, 11) + "-" + digits(r, 13) + "-" + secretsRand(r, 24, secretsB62)
		case 1:
			return "xoxp-" + digits(r, 11) + "-" + digits(r, 11) + "-" + digits(r, 12) + "-" + secretsRand(r, 32, secretsHex)
		case 2:
			return "xoxe.xoxp-1-" + secretsRand(r, 160, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
		}
		return "xox" + string("aers"[r.IntN(4)]) + "-" + digits(r, 1) + "-" + secretsRand(r, 40, secretsB62)
	}
	positives["slack_webhook"] = func(r *rand.Rand) string {
		ids := "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		return "https://hooks.slack.com/services/T" + secretsRand(r, 8+r.IntN(3), ids) + "/B" + secretsRand(r, 8+r.IntN(3), ids) + "/" + secretsRand(r, 24, secretsB62)
	}
	positives["stripe_key"] = func(r *rand.Rand) string {
		return string("sr"[r.IntN(2)]) + "k_" + []string{"live_", "test_"}[r.IntN(2)] + secretsRand(r, 24+r.IntN(80), secretsB62)
	}
	positives["twilio_key"] = func(r *rand.Rand) string {
		return []string{"SK", "AC"}[r.IntN(2)] + secretsRand(r, 32, secretsHex)
	}
}

// TestSecretsJSONAware checks the secret detectors through JSONAware on
// JSON lines, as encoders write them: with '/' plain and escaped as \/
// (which a scan of the line's bytes must see through, as JSONAware relies
// on), and with the value's key as context. The line must stay valid JSON
// and lose the value.
func TestSecretsJSONAware(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, d := range secretDetectors {
		rep := JSONAware(d.Replacer("[REDACTED]"), false)
		key := "value"
		if len(d.Context) > 0 {
			key = d.Context[0]
		}
		for i := range 50 {
			v := positives[d.Name](r)
			if d.Name == "twilio_key" {
				key = "twilio_sid"
			}
			b, _ := json.Marshal(map[string]string{key: v, "msg": "saved"})
			line := string(b)
			if i%2 == 1 {
				line = strings.ReplaceAll(line, "/", `\/`)
			}
			out := replace(rep, []byte(line))
			var got map[string]string
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%s on %q: got %q, invalid JSON: %v", d.Name, line, out, err)
			}
			if strings.Contains(got[key], v) || got["msg"] != "saved" {
				t.Fatalf("%s on %q: got %q; want the value redacted and the rest kept", d.Name, line, out)
			}
		}
	}
}

// TestSecretsRedactTwice checks that redacting a line twice gives what
// redacting it once does, for lines made of three pieces of secrets,
// context words and separators run together: the replacement must not
// complete a secret that stood beside a finding, nor bring a context word
// closer to a value.
func TestSecretsRedactTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("three pieces of each kind: slow")
	}
	pieces := []string{" ", "=", "-", "_", ".", "/", `\/`, "\\", `"`, "[", "x", "0", "aws_secret ", "api_key=", "twilio ",
		"Bearer ", "xoxe.", "https://", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----",
		secretsB64URLOf(`{"alg":"none"}`) + ".", secretsJWTBody}
	for _, d := range secretDetectors {
		for _, ex := range d.Examples {
			pieces = append(pieces, ex.Want...)
		}
	}
	rs := make([]Replacer, len(secretDetectors))
	for i, d := range secretDetectors {
		rs[i] = d.Replacer("[REDACTED]")
	}
	for _, a := range pieces {
		for _, b := range pieces {
			for _, c := range pieces {
				line := []byte(a + b + c)
				for i, d := range secretDetectors {
					once := replace(rs[i], line)
					if twice := replace(rs[i], []byte(once)); twice != once {
						t.Fatalf("%s on %q: got %q redacted once and %q twice; want the same", d.Name, line, once, twice)
					}
				}
			}
		}
	}
}

package match

import (
	"strings"
	"testing"
)

// secretsSpell maps b onto n characters of alphabet, cycling through b;
// 'A's if b is empty.
func secretsSpell(b []byte, n int, alphabet string) string {
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[0]
		if len(b) > 0 {
			out[i] = alphabet[int(b[i%len(b)])%len(alphabet)]
		}
	}
	return string(out)
}

// FuzzSecretsChecksums compares the checksums of the CRC32 tokens with
// their reference implementations, which encode the CRC where the
// detectors decode the token's digits: GitHub and npm tokens (base 62),
// and routable GitLab tokens (base 36, with the payload length). valid
// picks between the reference checksum and digits made of sum.
func FuzzSecretsChecksums(f *testing.F) {
	f.Add([]byte("FAKEtokenFORdocsONLY0000000001"), []byte("4AAQIb"), true)
	f.Add([]byte("FAKEtokenFORdocsONLY0000000001"), []byte("4AAQIb"), false)
	f.Add([]byte{}, []byte{}, true)
	f.Add([]byte("\x00\xff zZ"), []byte("zzzzzz"), false)
	f.Add([]byte("RkFLRS1GQUtFLUZBS0UtRmM6MQpvOjEH"), []byte("0w0prir2g"), true)
	f.Fuzz(func(t *testing.T, ent, sum []byte, valid bool) {
		body := secretsSpell(ent, 30, secretsB62)
		check := secretsRefBase62CRC(body)
		if !valid {
			check = secretsSpell(sum, 6, secretsB62)
		}
		want := check == secretsRefBase62CRC(body)
		if got := secretsBase62CRC([]byte(body + check)); got != want {
			t.Fatalf("secretsBase62CRC(%q): got %v; want %v", body+check, got, want)
		}
		for _, tok := range []string{"ghp_" + body + check, "npm_" + body + check} {
			d := githubToken
			if tok[0] == 'n' {
				d = npmToken
			}
			if s, e := d.Find([]byte(" "+tok+" "), 0); (s == 1 && e == 1+len(tok)) != want {
				t.Fatalf("%s in %q: got [%d, %d); want found %v", d.Name, tok, s, e, want)
			}
		}

		payload := secretsSpell(ent, 27+len(ent)%80, secretsB64URL)
		ref := secretsGitlabRoutable(payload)
		tok := ref
		if !valid {
			tok = ref[:len(ref)-9] + secretsSpell(sum, 9, secretsB36)
		}
		s, e := gitlabToken.Find([]byte(tok), 0)
		if got := s == 0 && e == len(tok); got != (tok == ref) {
			t.Fatalf("gitlab_token in %q: got [%d, %d); want found %v (reference %q)", tok, s, e, tok == ref, ref)
		}
		if up := strings.ToUpper(ref); up != ref {
			if s, _ := gitlabToken.Find([]byte(up), 0); s >= 0 {
				t.Fatalf("gitlab_token in %q: got a finding at %d; want none", up, s)
			}
		}
	})
}

// FuzzSecretsFind checks, for each secret detector and many a from, that
// Find returns -1, -1 or a non-empty finding within the line that starts
// at or after from; and that redacting twice gives what redacting once
// does, as FuzzDetectors checks of all detectors, seeded here with lines
// of secrets.
func FuzzSecretsFind(f *testing.F) {
	for _, d := range secretDetectors {
		for _, ex := range d.Examples {
			f.Add([]byte(ex.Line), uint8(0))
		}
	}
	f.Add([]byte(`aws_secret=`+secretsAWSKey+`\/`), uint8(3))
	f.Add([]byte("Bearer Bearer bearer BEARER x"), uint8(9))
	f.Add([]byte("aws_secret "+secretsAWSKey+" "+secretsAWSKey2), uint8(1))
	f.Add([]byte("api_key "+secretsDD+" "+secretsDD+" twilio ACdeadbeefdeadbeefdeadbeefdeadbeef ACdeadbeefdeadbeefdeadbeefdeadbeef"), uint8(2))
	rs := make([]Replacer, len(secretDetectors))
	for i, d := range secretDetectors {
		rs[i] = d.Replacer("[REDACTED]")
	}
	f.Fuzz(func(t *testing.T, line []byte, from uint8) {
		for i, d := range secretDetectors {
			once := replace(rs[i], line)
			if twice := replace(rs[i], []byte(once)); twice != once {
				t.Fatalf("%s on %q: got %q redacted once and %q twice; want the same", d.Name, line, once, twice)
			}
			for at := 0; at <= len(line); at += 1 + int(from)%7 {
				s, e := d.Find(line, at)
				if s < 0 {
					if e != -1 {
						t.Fatalf("%s in %q from %d: got [%d, %d); want -1, -1", d.Name, line, at, s, e)
					}
					continue
				}
				if s < at || e <= s || e > len(line) {
					t.Fatalf("%s in %q from %d: got [%d, %d); want a finding within [%d, %d]", d.Name, line, at, s, e, at, len(line))
				}
			}
		}
	})
}

// TestSecretsLinear runs each secret detector over long lines made of one
// of its prefixes repeated, and of its findings run together: a Find that
// rescanned the rest of the line at each candidate would take minutes.
func TestSecretsLinear(t *testing.T) {
	const size = 1 << 18
	pieces := []string{
		"AKIA", "aws_secret=", "AAAA", "bearer ", "Bearer a", "api_key=", "abcdef", "AIza", "ghp_", "github_pat_",
		"glpat-", "glpat-a", "ya29.", "ya29.a", "eyJ", "eyJhbGciOiJub25lIn0.", "npm_", "sk-", "sk-proj-", "-----BEGIN ",
		"-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "pypi-AgEIcHlwaS5vcmc", "SG.", "xoxb-", "xoxb-1-",
		"hooks.slack.com/services/T", "sk_live_", "k_", "SK", "AC", "twilio AC", `\/`, "\\",
	}
	for _, d := range secretDetectors {
		for _, ex := range d.Examples {
			if len(ex.Want) > 0 {
				pieces = append(pieces, ex.Want[0])
			}
		}
	}
	for _, p := range pieces {
		line := []byte(strings.Repeat(p, size/len(p)+1))
		for _, d := range secretDetectors {
			n := 0
			for s, e := d.Find(line, 0); s >= 0; s, e = d.Find(line, e) {
				n++
			}
			_ = n
		}
	}
}

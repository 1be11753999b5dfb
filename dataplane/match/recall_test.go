package match

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// positives holds, for each detector, a generator of values it must find:
// random, with valid checksums where the format has one. Each detector's
// test file adds its own. The precision and recall test draws from them.
var positives = map[string]func(r *rand.Rand) string{}

// overlaps are detectors whose kinds overlap by design: a value of one
// that the other finds is not a false positive of the other. ssn takes
// every digit-bounded ddd-dd-dddd, so it finds what us_ssn and us_itin
// find; a UK NHS number written 3-3-4 with dashes is also a valid North
// American phone number, and nothing in the text tells them apart; +1
// numbers are both E.164 and NANP; an IPv6 address may end in an IPv4 one;
// the password@host of a URL takes the form of an e-mail address.
var overlaps = map[[2]string]bool{
	{"ssn", "us_ssn"}:            true,
	{"ssn", "us_itin"}:           true,
	{"phone_nanp", "uk_nhs"}:     true,
	{"phone_e164", "phone_nanp"}: true,
	{"ipv4", "ipv6"}:             true,
	{"email", "url_credentials"}: true,
}

func overlapping(a, b string) bool { return overlaps[[2]string{a, b}] || overlaps[[2]string{b, a}] }

// precisionOut, when set, is where TestPrecisionRecall writes its table as
// JSON, for make bench to put in results/.
var precisionOut = flag.String("precision-out", "", "write the precision and recall table here, as JSON")

// labelled is a corpus line and the detector whose value it holds, if any.
type labelled struct {
	line     string
	detector string // "" for a hard negative
	value    string
}

// corpusPerDetector is how many lines each detector gets.
const corpusPerDetector = 240

// buildCorpus writes the labelled corpus: for each detector with a
// generator, its values in plain text, key=value, JSON (plain and with
// escapes), URLs and beside other tokens, each after a context word when
// the detector has them; then hard negatives.
func buildCorpus() []labelled {
	r := rand.New(rand.NewPCG(1, 2))
	var out []labelled
	for _, d := range Detectors() {
		gen := positives[d.Name]
		if gen == nil {
			continue
		}
		for i := range corpusPerDetector {
			v := gen(r)
			ctx := "value"
			if len(d.Context) > 0 {
				ctx = d.Context[i%len(d.Context)]
			}
			var line string
			switch i % 6 {
			case 0:
				line = "2024-11-22T05:27:33Z INFO user updated " + ctx + " " + v + " ok"
			case 1:
				line = "level=info msg=\"profile saved\" " + ctx + "=" + v + " request_id=" + hexID(r, 16)
			case 2:
				k, _ := json.Marshal(ctx)
				val, _ := json.Marshal(v)
				line = `{"ts":"2024-11-22T05:27:33Z","level":"info",` + string(k) + `:` + string(val) + `,"n":` + fmt.Sprint(r.IntN(1000)) + `}`
			case 3:
				line = `{"msg":"saved","` + ctx + `":"` + escapeSome(r, v) + `"}`
			case 4:
				line = "GET /api/v1/profile?" + ctx + "=" + v + "&page=2 200"
			default:
				line = "[" + ctx + ": " + v + "], trace=" + hexID(r, 32)
			}
			out = append(out, labelled{line: line, detector: d.Name, value: v})
		}
	}
	for _, l := range hardNegatives(r) {
		out = append(out, labelled{line: l})
	}
	return out
}

// escapeSome writes v for a JSON string with some of its characters as
// \u escapes.
func escapeSome(r *rand.Rand, v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteString(`\` + string(c))
		case c < 0x80 && r.IntN(4) == 0:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func hexID(r *rand.Rand, n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[r.IntN(16)]
	}
	return string(b)
}

func digits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

// hardNegatives are lines that look like personal data and are not: ids,
// hashes, timestamps, versions, numbers without context.
func hardNegatives(r *rand.Rand) []string {
	var out []string
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range 2000 {
		var l string
		switch i % 16 {
		case 0:
			l = fmt.Sprintf("request_id=%s-%s-4%s-a%s-%s done", hexID(r, 8), hexID(r, 4), hexID(r, 3), hexID(r, 3), hexID(r, 12))
		case 1:
			l = "commit " + hexID(r, 40) + " merged"
		case 2:
			l = fmt.Sprintf(`{"trace_id":"%s","span_id":"%s"}`, hexID(r, 32), hexID(r, 16))
		case 3:
			l = fmt.Sprintf("ts=%d event=login", 1600000000+r.IntN(200000000))
		case 4:
			l = fmt.Sprintf("ts_ms=%d event=logout", 1600000000000+r.Int64N(200000000000))
		case 5:
			l = fmt.Sprintf("order %s shipped, invoice INV-%s", digits(r, 8), digits(r, 6))
		case 6:
			l = fmt.Sprintf("version %d.%d.%d build %d", r.IntN(20), r.IntN(50), r.IntN(100), r.IntN(100000))
		case 7:
			l = fmt.Sprintf("pod checkout-%s-%s restarted", hexID(r, 10), hexID(r, 5))
		case 8:
			bb := make([]byte, 44)
			for j := range bb {
				bb[j] = b64[r.IntN(64)]
			}
			l = "payload=" + string(bb)
		case 9:
			l = "id " + luhnNoIssuer(r) + " processed"
		case 10:
			l = "ref GB" + digits(r, 2) + "XXXX" + digits(r, 14) + " unknown"
		case 11:
			l = fmt.Sprintf("count %s items", digits(r, 9))
		case 12:
			l = fmt.Sprintf("date %04d-%02d-%02d time %02d:%02d:%02d", 2000+r.IntN(30), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
		case 13:
			l = fmt.Sprintf("took %dms, %d.%ds, retry in %dm", r.IntN(5000), r.IntN(60), r.IntN(10), r.IntN(60))
		case 14:
			l = fmt.Sprintf("sha256:%s", hexID(r, 64))
		default:
			l = fmt.Sprintf("GET /api/v1/orders/%s?page=%d 200 %dB", digits(r, 10), r.IntN(100), r.IntN(100000))
		}
		out = append(out, l)
	}
	return out
}

// luhnNoIssuer is a Luhn-valid 16-digit number starting with 9, which no
// card issuer uses.
func luhnNoIssuer(r *rand.Rand) string {
	d := []byte("9" + digits(r, 14))
	return string(append(d, luhnDigit(d)))
}

// score is one detector's counts over the corpus.
type score struct {
	Detector  string  `json:"detector"`
	Category  string  `json:"category"`
	Positives int     `json:"positives"`
	TP        int     `json:"true_positives"`
	FN        int     `json:"false_negatives"`
	FP        int     `json:"false_positives"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}

// TestPrecisionRecall runs every detector over the labelled corpus and
// requires precision and recall of at least 0.99 each. A detector finds a
// positive when a finding of its, in the line as its receiver decodes it
// (JSON-aware), covers the value; any other finding is a false positive,
// unless it is the value of a detector it overlaps by design.
func TestPrecisionRecall(t *testing.T) {
	corpus := buildCorpus()
	var scores []score
	missing := 0
	for _, d := range Detectors() {
		if positives[d.Name] == nil {
			missing++
			t.Errorf("%s has no generator of positives", d.Name)
			continue
		}
		s := score{Detector: d.Name, Category: d.Category}
		r := JSONAware(d.Replacer("\x00"), false)
		for _, l := range corpus {
			out := replace(r, []byte(l.line))
			found := out != l.line
			switch {
			case l.detector == d.Name:
				s.Positives++
				if found && !strings.Contains(out, l.value) && !strings.Contains(decodeEscapes(out), l.value) {
					s.TP++
				} else {
					s.FN++
				}
			case found && l.detector != "" && overlapping(d.Name, l.detector):
			case found:
				s.FP++
			}
		}
		s.Precision, s.Recall = ratio(s.TP, s.TP+s.FP), ratio(s.TP, s.TP+s.FN)
		scores = append(scores, s)
		t.Logf("%-24s precision %.4f recall %.4f (TP %d FP %d FN %d)", d.Name, s.Precision, s.Recall, s.TP, s.FP, s.FN)
		if s.Precision < 0.99 || s.Recall < 0.99 {
			t.Errorf("%s: precision %.4f, recall %.4f (TP %d, FP %d, FN %d); want both >= 0.99", d.Name, s.Precision, s.Recall, s.TP, s.FP, s.FN)
		}
	}
	if len(corpus) < 10000 && missing == 0 {
		t.Errorf("corpus of %d lines; want at least 10,000", len(corpus))
	}
	slices.SortFunc(scores, func(a, b score) int { return strings.Compare(a.Detector, b.Detector) })
	t.Logf("%d lines, %d detectors", len(corpus), len(scores))
	if *precisionOut != "" {
		b, _ := json.MarshalIndent(map[string]any{"lines": len(corpus), "detectors": scores}, "", "  ")
		if err := os.WriteFile(*precisionOut, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// decodeEscapes undoes JSON escapes, to look for a value in a line as its
// receiver reads it.
func decodeEscapes(s string) string { return string(unescapeJSON(nil, []byte(s))) }

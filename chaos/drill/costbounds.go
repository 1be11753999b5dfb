package drill

// The drills of the bounds on what a rule may cost: lines of deeply nested
// JSON through an attribute_filter (nestedjson), and manifests of huge
// regular expressions sent to the control plane and written to Redis
// (regexbomb). Each fails on a crash, on a line lost uncounted, or when
// the proxy's peak resident memory (VmHWM) passes rssBoundMB.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/bench/lab"
	"streamgate/bench/result"
)

// nestedJSONManifest drops the JSON lines of the service "noisy", DEBUG
// lines, and redacts SSNs and card numbers; %s is the output.
const nestedJSONManifest = `{"version":"nestedjson","pipelines":[{"name":"default_pipeline","processors":[
	{"id":"drop_noisy","type":"attribute_filter","params":{"attribute":"service.name","value":"noisy"}},
	{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}},
	{"id":"redact_ssn","type":"redact","params":{"detector":"ssn"}},
	{"id":"redact_cards","type":"redact","params":{"detector":"credit_card"}}],
	"outputs":[%s],"batch_size":100}]}`

// nestedLineBytes is the size of a deeply nested line: under the proxy's
// 1 MiB line limit.
const nestedLineBytes = 1_000_000

// The lines of the nestedjson flood, per connection.
const (
	floodConns     = 4
	deepArrays     = 50  // attribute first, then a million brackets: kept, too deep
	deepObjects    = 50  // 200,000 nested objects first, the attribute after: kept, too deep
	deepOtherSvc   = 20  // deep, of another service: kept, never validated
	shallowMatches = 500 // the attribute matches, 100 levels deep: filtered
)

// nestedLines returns the lines of the flood: a deeply nested array after
// the attribute, an object nested as deep before it, the same for another
// service, and a line of the service nested within the limit.
func nestedLines() (deepArray, deepObject, otherService, shallow string) {
	wrap := func(svc, payload string, attrFirst bool) string {
		attr := `"service":{"name":"` + svc + `"}`
		if attrFirst {
			return `{` + attr + `,"payload":` + payload + `}`
		}
		return `{"payload":` + payload + `,` + attr + `}`
	}
	n := (nestedLineBytes - 64) / 2
	brackets := strings.Repeat("[", n) + strings.Repeat("]", n)
	m := (nestedLineBytes - 64) / 6
	objects := strings.Repeat(`{"a":`, m) + "1" + strings.Repeat("}", m)
	return wrap("noisy", brackets, true), wrap("noisy", objects, false), wrap("quiet", brackets, false),
		wrap("noisy", strings.Repeat("[", 100)+strings.Repeat("]", 100), true)
}

// nestedJSON floods a proxy whose first rule is an attribute_filter with
// lines of JSON nested a million levels deep, beside a normal load. Each
// deep line must be taken for what it is, not JSON, at the cost of a scan:
// kept, counted in streamgate_json_too_deep_total, and not one lost. The
// proxy runs under -overflow block, so that nothing is dropped and the
// breaker never skips the rule: every count is exact.
func (d *Drills) nestedJSON(ctx context.Context, sc *result.ChaosScenario) error {
	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	out := s.TCPOutput()
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Manifest: fmt.Sprintf(nestedJSONManifest, out.JSON), Flags: []string{"-overflow", "block"}})
	if err != nil {
		return err
	}
	defer px.Stop()
	base, err := lab.TakeMark(ctx, px, s)
	if err != nil {
		return err
	}
	const tooDeep = "streamgate_json_too_deep_total"
	cpu0, _ := px.Proc.CPUSeconds()

	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: 20_000, Duration: 10 * time.Second, Conns: 2})
	if err != nil {
		return err
	}
	deepArray, deepObject, otherService, shallow := nestedLines()
	perConn := deepArrays + deepObjects + deepOtherSvc + shallowMatches
	deep := int64(floodConns * (deepArrays + deepObjects))
	fault(sc, "%d lines of about 1 MB nested 500,000 (arrays) or 166,000 (objects) levels deep whose attribute matches, %d of another service, and %d matching lines 100 levels deep, over %d connections beside 20,000 lines/s",
		deep, floodConns*deepOtherSvc, floodConns*shallowMatches, floodConns)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, floodConns)
	for range floodConns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- sendNested(px.TCP, deepArray, deepObject, otherService, shallow)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			ld.Wait()
			return fmt.Errorf("nested JSON flood: %w", err)
		}
	}
	flooded := time.Since(start)
	sum, err := ld.Wait()
	if err != nil {
		return err
	}
	sent := sum.Sent + int64(floodConns*perConn)
	c, st, err := lab.Settle(ctx, px, s, lab.Want{Base: base, Sent: sent, Out: out.Name})
	if err != nil {
		return err
	}
	cpu1, _ := px.Proc.CPUSeconds()
	// The flood's lines have no sequence number: count every distinct line.
	account(sc, sent, c, base.Counters, out.Name, (st.Lines-st.Duplicated)-(base.Sink.Lines-base.Sink.Duplicated))
	peak, _ := px.Proc.PeakRSSMB()
	sc.PeakRSSMB = round3(peak)
	sc.LoadLinesPerS = round3(sum.LinesPerS)

	counted := int64(c.Metrics[tooDeep] - base.Counters.Metrics[tooDeep])
	filtered := int64(c.Filtered - base.Counters.Filtered)
	floodMB := float64(floodConns*(deepArrays+deepObjects+deepOtherSvc)*nestedLineBytes) / 1e6
	check(sc, "process stayed up", !exited(px), "proxy running after the flood: %v", !exited(px))
	check(sc, "memory bounded", peak < rssBoundMB, "peak RSS (VmHWM) %.1f MB (bound %d MB)", peak, rssBoundMB)
	check(sc, "deep lines not taken as JSON", counted >= deep,
		"%d of the %d deep lines whose attribute matches counted in %s, and kept", counted, deep, tooDeep)
	check(sc, "matching lines within the limit filtered", filtered >= int64(floodConns*shallowMatches),
		"%d lines filtered, of them %d matching lines 100 levels deep", filtered, floodConns*shallowMatches)
	check(sc, "flood processed", true, "%.0f MB of deep lines sent and processed in %s; the proxy used %.2f CPU-s in all (%.1f ms per deep MB at most)",
		floodMB, flooded.Round(time.Millisecond), cpu1-cpu0, 1000*(cpu1-cpu0)/floodMB)
	leaks := st.PIILeaks - base.Sink.PIILeaks
	check(sc, "no PII leaked", leaks == 0, "%d unredacted SSNs or card numbers at the sink", leaks)
	return nil
}

// sendNested sends one connection's share of the flood, the deep lines
// interleaved with the shallow ones.
func sendNested(addr string, deepArray, deepObject, otherService, shallow string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	w := bufio.NewWriterSize(c, 1<<20)
	for i := range shallowMatches {
		for _, l := range []struct {
			line string
			n    int
		}{{shallow, shallowMatches}, {deepArray, deepArrays}, {deepObject, deepObjects}, {otherService, deepOtherSvc}} {
			if i < l.n {
				w.WriteString(l.line)
				w.WriteByte('\n')
			}
		}
	}
	return w.Flush()
}

// exited reports whether the proxy's process has ended.
func exited(px *lab.Proxy) bool {
	select {
	case <-px.Proc.Exited():
		return true
	default:
		return false
	}
}

// The regular expressions of the regexbomb drill: an alternation of this
// many 12-letter words is over the bound on one expression (about 2.7 MB of
// program), one of bombSafeWords within it (about 0.8 MB).
const (
	bombWords     = 2500
	bombSafeWords = 700
	bombRules     = 200
)

// bombRegex returns an alternation of n pseudo-random 12-letter words,
// different for each seed.
func bombRegex(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 42))
	words := make([]string, n)
	for i := range words {
		w := make([]byte, 12)
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		words[i] = string(w)
	}
	return strings.Join(words, "|")
}

// bombRule is the JSON of a rule: a redact pattern (or a filter regex) of
// an alternation of words.
func bombRule(id, typ, param string, words int, seed uint64) string {
	b, _ := json.Marshal(map[string]any{"id": id, "type": typ, "params": map[string]string{param: bombRegex(words, seed)}})
	return string(b)
}

// bombManifest is a manifest of n rules made by rule, sending to output.
func bombManifest(version string, n int, rule func(i int) string, output string) string {
	rules := make([]string, n)
	for i := range rules {
		rules[i] = rule(i)
	}
	return `{"version":"` + version + `","pipelines":[{"name":"default_pipeline","processors":[` +
		strings.Join(rules, ",") + `],"outputs":[` + output + `],"batch_size":100}]}`
}

// regexBomb sends what the bounds on a rule's cost are for: 200 rules of
// huge alternations to the control plane's API, 200 within their own bound
// and over the manifest's together, and manifests of them, and of 1,001
// rules, written straight to Redis for the data plane to load. Each must be
// refused quickly, naming the rule, with the memory of both planes bounded,
// while the data plane keeps running its configuration under load.
func (d *Drills) regexBomb(ctx context.Context, sc *result.ChaosScenario) error {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return err
	}
	defer mr.Close()
	rc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rc.Close()
	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	out := s.TCPOutput()
	good := strings.ReplaceAll(strings.Replace(fmt.Sprintf(filterRedact, out.JSON), `"version":"chaos"`, `"version":"regexbomb-1"`, 1), "\n", "")
	if err := publishRaw(ctx, rc, good); err != nil {
		return err
	}
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Env: []string{"REDIS_ADDR=" + mr.Addr()}})
	if err != nil {
		return err
	}
	defer px.Stop()
	if _, err := waitVersion(ctx, px, "regexbomb-1", 15*time.Second); err != nil {
		return err
	}
	cp, err := d.startControl(mr.Addr(), "")
	if err != nil {
		return err
	}
	defer cp.p.Stop(5 * time.Second)
	base, err := lab.TakeMark(ctx, px, s)
	if err != nil {
		return err
	}
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: 20_000, Duration: 20 * time.Second, Conns: 2})
	if err != nil {
		return err
	}
	if err := d.bombAPI(ctx, sc, cp); err != nil {
		ld.Wait()
		return err
	}
	if err := bombRedis(ctx, sc, px, rc, out.JSON); err != nil {
		ld.Wait()
		return err
	}
	sum, err := ld.Wait()
	if err != nil {
		return err
	}
	c, st, err := lab.Settle(ctx, px, s, lab.Want{Base: base, Sent: sum.Sent, Out: out.Name})
	if err != nil {
		return err
	}
	accountSink(sc, sum.Sent, c, base, out.Name, st)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	stStatus, _ := proxyStatus(ctx, px)
	filtered := int64(c.Filtered - base.Counters.Filtered)
	check(sc, "old config keeps running", stStatus.Version == "regexbomb-1" && filtered > 0 && st.PIILeaks == base.Sink.PIILeaks,
		"the data plane ran %q throughout: %d DEBUG lines filtered, %d unredacted SSNs or card numbers at the sink",
		stStatus.Version, filtered, st.PIILeaks-base.Sink.PIILeaks)
	peak, _ := px.Proc.PeakRSSMB()
	cpPeak, _ := cp.p.PeakRSSMB()
	sc.PeakRSSMB = round3(peak)
	check(sc, "process stayed up", !exited(px), "proxy running after the manifests: %v", !exited(px))
	check(sc, "memory bounded", peak < rssBoundMB && cpPeak < rssBoundMB,
		"peak RSS (VmHWM) of the data plane %.1f MB, of the control plane %.1f MB (bound %d MB each)", peak, cpPeak, rssBoundMB)
	return nil
}

// bombAPI posts the rules of huge alternations to the control plane, then
// rules within their bound until their sum is over the manifest's, and
// publishes.
func (d *Drills) bombAPI(ctx context.Context, sc *result.ChaosScenario, cp *controlPlane) error {
	fault(sc, "API: %d rules of %d-word alternations (%d KB each) posted", bombRules, bombWords, bombWords*13/1000)
	start, refused, lastDetail := time.Now(), 0, ""
	for i := range bombRules {
		status, body, err := request(ctx, "POST", "http://"+cp.api+"/rules", bombRule(fmt.Sprintf("bomb%d", i), "redact", "pattern", bombWords, uint64(i)))
		if err != nil {
			return err
		}
		var e struct {
			Detail string `json:"detail"`
		}
		json.Unmarshal(body, &e)
		if status == 400 && strings.HasPrefix(e.Detail, "params.pattern: would compile to about ") {
			refused++
		}
		lastDetail = e.Detail
	}
	took := time.Since(start)
	check(sc, "API: huge rules refused", refused == bombRules,
		"%d of %d refused with 400 in %s (%.1f ms each): %q", refused, bombRules, took.Round(time.Millisecond),
		float64(took.Milliseconds())/bombRules, lastDetail)

	fault(sc, "API: %d rules of %d-word alternations, each within its bound, posted and published", bombRules, bombSafeWords)
	start = time.Now()
	for i := range bombRules {
		if err := cp.call(ctx, "POST", "/rules", bombRule(fmt.Sprintf("words%d", i), "filter", "regex", bombSafeWords, uint64(i)), nil); err != nil {
			return err
		}
	}
	posted := time.Since(start)
	start = time.Now()
	status, body, err := request(ctx, "POST", "http://"+cp.api+"/publish", "")
	if err != nil {
		return err
	}
	took = time.Since(start)
	detail := strings.TrimSpace(string(body))
	check(sc, "API: publish over the manifest's bound refused", status == 400 && strings.Contains(detail, `(id \"words`) &&
		strings.Contains(detail, "over the limit of 16.0 MiB for all the rules of a manifest"),
		"rules accepted one by one in %s; POST /publish answered %d in %s: %.200s", posted.Round(time.Millisecond), status, took.Round(time.Millisecond), detail)
	return nil
}

// bombRedis writes manifests over the bounds straight to Redis: each must
// be rejected whole by the data plane, naming the rule, quickly.
func bombRedis(ctx context.Context, sc *result.ChaosScenario, px *lab.Proxy, rc *redis.Client, output string) error {
	filter := func(i int) string {
		return fmt.Sprintf(`{"id":"r%d","type":"filter","params":{"value":"v%d"}}`, i, i)
	}
	for _, bad := range []struct {
		name, manifest, want string
	}{
		{fmt.Sprintf("a manifest of %d rules of %d-word alternations", bombRules, bombWords),
			bombManifest("bomb-1", bombRules, func(i int) string {
				return bombRule(fmt.Sprintf("bomb%d", i), "redact", "pattern", bombWords, uint64(i))
			}, output),
			`(id "bomb0").params.pattern: would compile to about `},
		{fmt.Sprintf("a manifest of %d rules of %d-word alternations, within their bound one by one", bombRules, bombSafeWords),
			bombManifest("bomb-2", bombRules, func(i int) string {
				return bombRule(fmt.Sprintf("words%d", i), "filter", "regex", bombSafeWords, uint64(i))
			}, output),
			"over the limit of 16.0 MiB for all the rules of a manifest"},
		{"a manifest of 1,001 rules", bombManifest("bomb-3", 1001, filter, output),
			"pipelines[0].processors: 1001 rules, over the limit of 1000 per pipeline"},
	} {
		before, err := px.Counters()
		if err != nil {
			return err
		}
		fault(sc, "%s (%.1f MB) written to Redis", bad.name, float64(len(bad.manifest))/1e6)
		start := time.Now()
		if err := publishRaw(ctx, rc, bad.manifest); err != nil {
			return err
		}
		st, err := waitRejected(ctx, px, before.Metrics["streamgate_config_reload_errors_total"]+1)
		took := time.Since(start)
		check(sc, bad.name, err == nil && st.Version == "regexbomb-1" && strings.Contains(st.Error, bad.want),
			"rejected in %s, still runs %q; rejected %q: %.200s (%v)", took.Round(time.Millisecond), st.Version, st.Rejected, st.Error, err)
	}
	return nil
}

package processor

import (
	"strings"
	"testing"

	"streamgate/dataplane/match"
)

func TestAttributeFilter(t *testing.T) {
	type lineTest struct {
		line string
		drop bool
	}
	tests := []struct {
		name   string
		params string
		lines  []lineTest
	}{
		{
			// Params as the control plane writes them: strings only.
			"service.name",
			`{"attribute": "service.name", "operator": "equals", "value": "test-service"}`,
			[]lineTest{
				{`{"service":{"name":"test-service"},"msg":"x"}`, true},
				{`{"resource":{"attributes":{"service.name":"test-service"}}}`, true},
				{`{"resourceAttributes":{"service.name":"test-service"}}`, true},
				{`{"resource":{"service.name":"test-service"}}`, true},
				{` { "msg" : "a,b}" , "service" : { "name" : "test-service" } } `, true},
				{"\t{\"service\":{\"name\":\"test-service\"}}\r", true},
				{`{"service":{"name":"test\u002dservice"}}`, true},
				{`{"resource":{"attributes":{"service\u002ename":"test-service"}}}`, true},
				{`{"a":[1,{"b":"}"}],"c":{"d":"\"{"},"service":{"id":1,"name":"test-service"}}`, true},

				{`{"service":{"name":"other"}}`, false},
				{`{"service":{"name":"test-service-2"}}`, false},
				{`{"service":"test-service"}`, false},
				// After the OpenTelemetry locations, the generic ones: a
				// top-level member called service.name, attributes, body.
				{`{"service.name": "test-service", "message": "hello"}`, true},
				{`{"attributes":{"service.name":"test-service"}}`, true},
				{`{"body":{"service.name":"test-service"}}`, true},
				{`{"service.name":"test-service-v2"}`, false},
				// The first location that exists decides.
				{`{"service":{"name":"other"},"resource":{"attributes":{"service.name":"test-service"}}}`, false},
				{`{"service":{"name":"other"},"service.name":"test-service"}`, false},
				{`[{"service":{"name":"test-service"}}]`, false},
				{`test-service`, false},
				{`{broken test-service`, false},
				{`{"service":{"name":"test-service"}`, false},
				{`{"service":{"name":"test-service"}} trailing`, false},
				{`{"service":{"name":"test-service"},}`, false},
				{``, false},
				{`{`, false},
			},
		},
		{
			"http.status_code",
			`{"attribute": "http.status_code", "value": "500"}`,
			[]lineTest{
				{`{"http":{"status_code":500}}`, true},
				{`{"attributes":{"http.status_code":500}}`, true},
				{`{"http.status_code":"500"}`, true},
				// Numbers compare by their decimal form.
				{`{"http":{"status_code":500.0}}`, true},
				{`{"http":{"status_code":5e2}}`, true},
				{`{"http":{"status_code":500.5}}`, false},
				{`{"http":{"status_code":-500}}`, false},
				{`{"http":{"status_code":200}}`, false},
				{`{"status_code":500}`, false},
			},
		},
		{
			"log.level",
			`{"attribute": "log.level", "value": "debug"}`,
			[]lineTest{
				{`{"log":{"level":"debug"}}`, true},
				{`{"severity":"debug"}`, true},
				{`{"severityText":"debug"}`, true},
				{`{"level":"debug"}`, true},
				{`{"log.level":"debug"}`, true},
				{`{"attributes":{"log.level":"debug"}}`, true},
				{`{"level":"DEBUG"}`, false},
				// With duplicate members the first counts.
				{`{"level":"info","level":"debug"}`, false},
			},
		},
		{
			"other attribute",
			`{"attribute": "user.id", "value": "42"}`,
			[]lineTest{
				{`{"user.id":"42"}`, true},
				{`{"attributes":{"user.id":42}}`, true},
				{`{"resource":{"attributes":{"user.id":"42"}}}`, true},
				{`{"resourceAttributes":{"user.id":"42"}}`, true},
				{`{"body":{"user.id":"42"}}`, true},
				{`{"user":{"id":"42"}}`, false},
			},
		},
		{
			"literals",
			`{"attribute": "flag", "value": "true"}`,
			[]lineTest{
				{`{"flag":true}`, true},
				{`{"flag":"true"}`, true},
				{`{"flag":false}`, false},
				{`{"flag":null}`, false},
			},
		},
		{
			"null compares as empty",
			`{"attribute": "owner", "value": ""}`,
			[]lineTest{
				{`{"owner":null}`, true},
				{`{"owner":""}`, true},
				{`{"owner":"null"}`, false},
				{`{"other":null}`, false},
			},
		},
		{
			"path",
			`{"path": "resource/attributes/service.name", "value": "test-service"}`,
			[]lineTest{
				{`{"resource":{"attributes":{"service.name":"test-service"}}}`, true},
				{`{"service":{"name":"test-service"}}`, false},
				{`{"resource":{"attributes":{"service":{"name":"test-service"}}}}`, false},
			},
		},
		{
			"path keys are literal",
			`{"path": "a*/#/b|c/@this", "value": "1"}`,
			[]lineTest{
				{`{"a*":{"#":{"b|c":{"@this":1}}}}`, true},
				{`{"ab":{"#":{"b|c":{"@this":1}}}}`, false},
				{`{"a*":[{"b|c":{"@this":1}}]}`, false},
			},
		},
		{
			"contains",
			`{"attribute": "service.name", "operator": "contains", "value": "check"}`,
			[]lineTest{
				{`{"service":{"name":"checkout-svc"}}`, true},
				{`{"service":{"name":"payments"}}`, false},
			},
		},
		{
			"regex",
			`{"attribute": "http.status_code", "operator": "regex", "value": "^5\\d\\d$"}`,
			[]lineTest{
				{`{"http":{"status_code":503}}`, true},
				{`{"http":{"status_code":"504"}}`, true},
				{`{"http":{"status_code":404}}`, false},
				{`{"http":{"status_code":5030}}`, false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, "attribute_filter", tt.params)
			for _, lt := range tt.lines {
				got := processLine(p, lt.line) == "<dropped>"
				if got != lt.drop {
					t.Errorf("attribute_filter %s on %s: got dropped %v; want %v", tt.params, lt.line, got, lt.drop)
				}
			}
		})
	}
}

func TestAttributeFilterParams(t *testing.T) {
	tests := []struct {
		params string
		want   string
	}{
		{`{"value": "x"}`, "params.attribute: one of attribute or path is required"},
		{`{"attribute": "a", "path": "a", "value": "x"}`, "params.path: must not be set together with attribute"},
		{`{"attribute": "", "value": "x"}`, "params.attribute: must not be empty"},
		{`{"path": "", "value": "x"}`, "params.path: must not be empty"},
		{`{"path": "a//b", "value": "x"}`, `params.path: key 2 of "a//b" is empty`},
		{`{"path": "/a", "value": "x"}`, `params.path: key 1 of "/a" is empty`},
		{`{"attribute": "a"}`, "params.value: is required"},
		{`{"attribute": "a", "operator": "like", "value": "x"}`, `params.operator: want "equals", "contains" or "regex"; got "like"`},
		{`{"attribute": "a", "operator": "contains", "value": ""}`, "params.value: must not be empty"},
		{`{"attribute": "a", "operator": "regex", "value": "("}`, "params.value: cannot compile: "},
		{`{"attribute": "a", "operator": "regex", "value": ""}`, "params.value: must not be empty"},
		{`{"attribute": "a", "value": 500}`, "params.value: cannot decode"},
	}
	for _, tt := range tests {
		checkErr(t, "attribute_filter", tt.params, tt.want)
	}
}

// TestAttributeFilterTooDeep: a line nested deeper than 128 levels is not
// taken as JSON, even when its attribute matches: kept, and counted.
func TestAttributeFilterTooDeep(t *testing.T) {
	p := build(t, "attribute_filter", `{"attribute":"service.name","value":"noisy"}`)
	nested := func(levels int) string {
		return `{"service":{"name":"noisy"},"a":` + strings.Repeat("[", levels-1) + strings.Repeat("]", levels-1) + `}`
	}
	before := match.JSONTooDeep()
	if got := processLine(p, nested(128)); got != "<dropped>" {
		t.Errorf("128 levels: got %q kept; want it dropped", got)
	}
	if got, want := processLine(p, nested(129)), nested(129); got != want {
		t.Errorf("129 levels: got %.40q; want it kept", got)
	}
	if got := match.JSONTooDeep() - before; got != 1 {
		t.Errorf("JSONTooDeep: counted %d; want 1", got)
	}
	deep := `{"service":{"name":"noisy"},"a":` + strings.Repeat(`{"b":`, 1<<18) + "1" + strings.Repeat("}", 1<<18) + "}"
	if got := processLine(p, deep); got != deep {
		t.Errorf("a 1.25 MiB line nested 262,144 deep: got %.40q; want it kept", got)
	}
}

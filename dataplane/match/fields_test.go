package match

import "testing"

func mustFields(t testing.TB, paths ...string) *Fields {
	t.Helper()
	f, err := CompileFields(paths)
	if err != nil {
		t.Fatalf("CompileFields(%q): %v", paths, err)
	}
	return f
}

func TestFieldsMatch(t *testing.T) {
	tests := []struct {
		paths []string
		path  string
		want  bool
	}{
		{[]string{"headers.authorization"}, "headers.authorization", true},
		{[]string{"headers.authorization"}, "req.headers.authorization", false},
		{[]string{"**.password"}, "password", true},
		{[]string{"**.password"}, "a.b.password", true},
		{[]string{"**.password"}, "a.password.b", false},
		{[]string{"users.*.email"}, "users.bob.email", true},
		{[]string{"users.*.email"}, "users.email", false},
		{[]string{"attributes.user.ssn"}, "attributes.user.ssn", true}, // the key "user.ssn"
		{[]string{"a.**"}, "a.b.c", true},
		{[]string{"a.**"}, "b", false},
		{[]string{"@secrets"}, "db.Password", true},
		{[]string{"@secrets"}, "x.db_password", true},
		{[]string{"@secrets"}, "x-auth-token", true},
		{[]string{"@secrets"}, "Set-Cookie", true},
		{[]string{"@secrets"}, "tokens", false},
		{[]string{"@secrets"}, "passwordless", false},
		{[]string{"@secrets"}, "trace_id", false},
	}
	for _, tt := range tests {
		if got := mustFields(t, tt.paths...).match([]byte(tt.path)); got != tt.want {
			t.Errorf("%q match %q: got %v; want %v", tt.paths, tt.path, got, tt.want)
		}
	}
	for _, bad := range [][]string{{""}, {"a..b"}, {"**"}} {
		if _, err := CompileFields(bad); err == nil {
			t.Errorf("CompileFields(%q): got nil; want an error", bad)
		}
	}
}

func TestJSONAwareFields(t *testing.T) {
	ssn := JSONAware(ssn.Replacer("[REDACTED]"), false)
	tests := []struct {
		name string
		r    Replacer
		in   string
		want string
	}{
		{"secret keys, any depth, any case, escaped key", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`{"user":"bob","Password":"hunter2","req":{"headers":{"authorization":"Bearer abc"},"p\u0061sswd":5}}`,
			`{"user":"bob","Password":"[REDACTED]","req":{"headers":{"authorization":"[REDACTED]"},"p\u0061sswd":"[REDACTED]"}}`},
		{"a whole object", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "headers")}),
			`{"headers":{"a":1,"b":[2,3]},"x":1}`, `{"headers":"[REDACTED]","x":1}`},
		{"array elements have the array's path", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "items.email")}),
			`{"items":[{"email":"a@b.io"},{"n":1,"email":["c@d.io"]}],"email":"e@f.io"}`, `{"items":[{"email":"[REDACTED]"},{"n":1,"email":"[REDACTED]"}],"email":"e@f.io"}`},
		{"partial of a field", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "card"), Act: Partial(4)}),
			`{"card":"4111-1111-1111-1111"}`, `{"card":"****-****-****-1111"}`},
		{"excluded value is not scanned", JSONAwareWith(ssn, JSONOptions{Exclude: mustFields(t, "trace_id")}),
			`{"trace_id":"123-45-6789","ssn":"123-45-6789"}`, `{"trace_id":"123-45-6789","ssn":"[REDACTED]"}`},
		{"excluded subtree", JSONAwareWith(ssn, JSONOptions{Exclude: mustFields(t, "debug.**")}),
			`{"debug":{"a":"123-45-6789"},"b":"123-45-6789"}`, `{"debug":{"a":"123-45-6789"},"b":"[REDACTED]"}`},
		{"text key=value and key: value", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`login user=bob password=hunter2 api_key: "k-123" Authorization: Bearer abc.def, token=x&next=1`,
			`login user=bob password=[REDACTED] api_key: "[REDACTED]" Authorization: [REDACTED]`}, // an authorization header runs to the end
		{"cookie header whole", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`{"msg":"Cookie: session=abc123; csrf=xyz789"}`, `{"msg":"Cookie: [REDACTED]"}`},
		{"cookie text line", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`GET / cookie: session=abc123; csrf=xyz789`, `GET / cookie: [REDACTED]`},
		{"escaped key name", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`{"pass\u0077ord":"hunter2"}`, `{"pass\u0077ord":"[REDACTED]"}`},
		{"broken JSON keeps its fields", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`{"password":"hunter2","user":"x"`, `{"password":"[REDACTED]","user":"x"`},
		{"path without case", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "headers.x-api-key")}),
			`{"headers":{"X-Api-Key":"k123"}}`, `{"headers":{"X-Api-Key":"[REDACTED]"}}`},
		{"dotted text key", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`spring.datasource.password=hunter2 ok`, `spring.datasource.password=[REDACTED] ok`},
		{"text with a detector too", JSONAwareWith(ssn, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`ssn=123-45-6789 secret=s3`, `ssn=[REDACTED] secret=[REDACTED]`},
		{"text field by its last key", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "user.email")}),
			`to email=bob@example.com`, `to email=[REDACTED]`},
		{"pairs inside a JSON string", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`{"msg":"login password=hunter2 ok"}`, `{"msg":"login password=[REDACTED] ok"}`},
		{"no selected field: untouched", JSONAwareWith(nil, JSONOptions{Fields: mustFields(t, "@secrets")}),
			`{"user":"bob","tokens":3}`, ``},
	}
	for _, tt := range tests {
		got := replace(tt.r, []byte(tt.in))
		want := tt.want
		if want == "" {
			want = tt.in
		}
		if got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, want)
		}
	}
}

func TestIndexFold(t *testing.T) {
	for _, tt := range []struct {
		b, lit string
		want   int
	}{
		{"xPassWord", "password", 1},
		{"password", "password", 0},
		{"passwor", "password", -1},
		{"AUTHORIZATION:", "authorization", 0},
		{"", "a", -1},
	} {
		if got := indexFold([]byte(tt.b), []byte(tt.lit)); got != tt.want {
			t.Errorf("indexFold(%q, %q) = %d; want %d", tt.b, tt.lit, got, tt.want)
		}
	}
}

// TestExcludeWalksStrictly: an excluded value is walked like any other, so
// a line broken inside it is still taken as broken and scanned leniently.
func TestExcludeWalksStrictly(t *testing.T) {
	r := JSONAwareWith(ssn.Replacer("[REDACTED]"), JSONOptions{Exclude: mustFields(t, "trace", "x.**")})
	for _, tt := range []struct{ in, want string }{
		{`{"trace":1"x":"123\u002d45\u002d6789"}`, `{"trace":1"x":"[REDACTED]"}`},
		{`{"trace":[1},"a":"123\u002d45\u002d6789"}`, `{"trace":[1},"a":"[REDACTED]"}`},
		{`{"trace":"123-45-6789","x":{"y":["123-45-6789"]},"z":"123-45-6789"}`, `{"trace":"123-45-6789","x":{"y":["123-45-6789"]},"z":"[REDACTED]"}`},
	} {
		if got := replace(r, []byte(tt.in)); got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

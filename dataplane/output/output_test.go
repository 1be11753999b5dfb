package output

import "testing"

func TestMaskURL(t *testing.T) {
	const m = Mask
	for _, c := range []struct{ name, in, want string }{
		{"plain", "http://sink:9000/logs", "http://sink:9000/logs"},
		{"empty", "", ""},
		{"tcp", "tcp://127.0.0.1:9100", "tcp://127.0.0.1:9100"},
		{"fragment only", "http://sink/logs#part", "http://sink/logs"},
		{"user and password", "http://loki:pw@sink2:3100/push", "http://" + m + "@sink2:3100/push"},
		{"user alone, the token", "https://TOKEN123@host/path", "https://" + m + "@host/path"},
		{"empty password", "https://user:@host/", "https://" + m + "@host/"},
		{"query values", "https://listener.logz.io:8071/?token=abc&type=json", "https://listener.logz.io:8071/?token=" + m + "&type=" + m},
		{"query order kept", "http://h/p?b=1&a=2&b=3", "http://h/p?b=" + m + "&a=" + m + "&b=" + m},
		{"query part without key", "http://h/p?SECRET&k=v", "http://h/p?" + m + "&k=" + m},
		{"empty query parts", "http://h/p?&&k=v&", "http://h/p?k=" + m},
		{"escaped value", "http://h/p?token=a%2Fb%3D", "http://h/p?token=" + m},
		{"semicolon in value", "http://h/p?a=1;token=SECRET", "http://h/p?a=" + m},
		{"escaped path kept", "http://u:p@h/a%20b?x=1", "http://" + m + "@h/a%20b?x=" + m},
		{"everything", "https://u:p@h:443/v1/in?token=t#frag", "https://" + m + "@h:443/v1/in?token=" + m},
		{"opaque", "http:user:SECRET@host", "http:" + m},
		{"no scheme", "//u:p@h/x", "//" + m + "@h/x"},
		{"unparsable", "http://user:SECRET@host:port/", m},
		{"control character", "http://h/\x00?token=SECRET", m},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := MaskURL(c.in); got != c.want {
				t.Errorf("MaskURL(%q): got %q; want %q", c.in, got, c.want)
			}
		})
	}
}

// TestName checks the names outputs have in metrics and logs: unchanged for
// a URL without secrets, masked otherwise.
func TestName(t *testing.T) {
	for _, c := range []struct {
		c    Config
		want string
	}{
		{Config{Type: "console"}, "console"},
		{Config{Type: "http", URL: "http://sink:9000/logs"}, "http:http://sink:9000/logs"},
		{Config{Type: "tcp", URL: "tcp://127.0.0.1:9100"}, "tcp:tcp://127.0.0.1:9100"},
		{Config{Type: "http", URL: "http://user:pw@127.0.0.1:1/push?token=TOK", Headers: map[string]string{"K": "v"}},
			"http:http://" + Mask + "@127.0.0.1:1/push?token=" + Mask},
	} {
		if got := c.c.Name(); got != c.want {
			t.Errorf("Name of %+v: got %q; want %q", c.c, got, c.want)
		}
	}
	// Outputs differing only in a secret share a name but not a key: the
	// pipeline keeps them apart, and the manifest refuses them together.
	a := Config{Type: "http", URL: "http://h/push?token=A"}
	b := Config{Type: "http", URL: "http://h/push?token=B"}
	if a.Name() != b.Name() || a.Key() == b.Key() {
		t.Errorf("names %q, %q and keys %q, %q; want the same name and different keys", a.Name(), b.Name(), a.Key(), b.Key())
	}
}

package ingest

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"streamgate/dataplane/record"
)

func TestSyslogParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *SyslogRecord // nil: malformed
		why  int           // when malformed
	}{
		{
			name: "rfc5424 with structured data",
			in:   `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][origin ip="192.0.2.1"] An application event`,
			want: &SyslogRecord{Facility: 20, Severity: 5, SeverityName: "notice", Timestamp: "2003-10-11T22:14:15.003Z",
				Hostname: "mymachine.example.com", AppName: "evntslog", ProcID: "8710", MsgID: "ID47",
				StructuredData: map[string]map[string]string{"exampleSDID@32473": {"iut": "3", "eventSource": "Application"}, "origin": {"ip": "192.0.2.1"}},
				Message:        "An application event"},
		},
		{
			name: "rfc5424 nil values",
			in:   `<11>1 - - - - - -`,
			want: &SyslogRecord{Facility: 1, Severity: 3, SeverityName: "err"},
		},
		{
			name: "rfc5424 message without structured data",
			in:   `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8`,
			want: &SyslogRecord{Facility: 4, Severity: 2, SeverityName: "crit", Timestamp: "2003-10-11T22:14:15.003Z",
				Hostname: "mymachine.example.com", AppName: "su", MsgID: "ID47", Message: "'su root' failed for lonvick on /dev/pts/8"},
		},
		{
			name: "rfc3164",
			in:   `<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8`,
			want: &SyslogRecord{Facility: 4, Severity: 2, SeverityName: "crit", Hostname: "mymachine", AppName: "su", ProcID: "230",
				Message: "'su root' failed for lonvick on /dev/pts/8"},
		},
		{
			name: "rfc3164 debug without pid",
			in:   `<15>Jan  2 03:04:05 host cron: job done`,
			want: &SyslogRecord{Facility: 1, Severity: 7, SeverityName: "debug", Hostname: "host", AppName: "cron", Message: "job done"},
		},
		{
			name: "rfc3164 without header",
			in:   `<13>hello world`,
			want: &SyslogRecord{Facility: 1, Severity: 5, SeverityName: "notice", Message: "hello world"},
		},
		{
			name: "rfc3164 with a bad timestamp",
			in:   `<13>Foo 99 25:00:00 host app: text`,
			want: &SyslogRecord{Facility: 1, Severity: 5, SeverityName: "notice", Message: "Foo 99 25:00:00 host app: text"},
		},
		{
			name: "priority alone",
			in:   `<13>`,
			want: &SyslogRecord{Facility: 1, Severity: 5, SeverityName: "notice"},
		},
		{name: "no priority", in: `Oct 11 22:14:15 mymachine su: hello`, why: SyslogNoPriority},
		{name: "plain text", in: `hello world`, why: SyslogNoPriority},
		{name: "priority out of range", in: `<192>1 - - - - - -`, why: SyslogNoPriority},
		{name: "priority with a leading zero", in: `<013>1 - - - - - -`, why: SyslogNoPriority},
		{name: "rfc3164 priority out of range", in: `<999>Oct 11 22:14:15 host su: hello`, why: SyslogNoPriority},
		{name: "rfc5424 bad timestamp", in: `<34>1 yesterday host app - - - msg`, why: SyslogBadHeader},
		{name: "rfc5424 unclosed structured data", in: `<34>1 - host app - - [id a="1" msg`, why: SyslogBadHeader},
		{name: "rfc5424 header cut short", in: `<191>1 - host`, why: SyslogBadHeader},
		{name: "empty", in: ``, why: SyslogNoPriority},
	}
	p := newSyslogParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why, ok := p.parse([]byte(tt.in))
			if tt.want == nil {
				if ok {
					t.Fatalf("parse(%q) = %+v, want malformed", tt.in, got)
				}
				if why != tt.why {
					t.Fatalf("parse(%q): malformed for %s, want %s", tt.in, SyslogReasonNames[why], SyslogReasonNames[tt.why])
				}
				return
			}
			if !ok {
				t.Fatalf("parse(%q): malformed, want %+v", tt.in, *tt.want)
			}
			// The RFC 3164 timestamp takes the current year: check its shape only.
			if tt.want.Timestamp == "" && got.Timestamp != "" && !isRFC5424([]byte(tt.in)) {
				got.Timestamp = ""
			}
			tt.want.Log.Level = severityLevel[tt.want.Severity]
			if !reflect.DeepEqual(got, *tt.want) {
				t.Errorf("parse(%q)\n got %+v\nwant %+v", tt.in, got, *tt.want)
			}
		})
	}
}

type counter struct{ n int }

func (c *counter) Inc() { c.n++ }

func TestSyslogDecode(t *testing.T) {
	lines := []string{
		`<11>1 2024-05-01T10:00:00Z web api 42 - [req id="7"] boom`,
		`not syslog at all`,
		`<14>May  1 10:00:01 web api: ok <done> & more`,
	}
	for _, format := range []string{SyslogText, SyslogJSON} {
		t.Run(format, func(t *testing.T) {
			b := record.Get(0)
			defer record.Put(b)
			for _, l := range lines {
				b.Lines = append(b.Lines, []byte(l))
			}
			var noPri, badHeader counter
			s := &Syslog{Format: format, Malformed: [SyslogReasons]interface{ Inc() }{SyslogNoPriority: &noPri, SyslogBadHeader: &badHeader}}
			s.decode(b)
			if noPri.n != 1 || badHeader.n != 0 {
				t.Errorf("malformed = %d without priority, %d with a bad header; want 1 and 0", noPri.n, badHeader.n)
			}
			if got := string(b.Lines[1]); got != lines[1] {
				t.Errorf("malformed line became %q, want it as received", got)
			}
			if format == SyslogText {
				for i, l := range lines {
					if string(b.Lines[i]) != l {
						t.Errorf("line %d = %q, want it as received", i, b.Lines[i])
					}
				}
				return
			}
			var first map[string]any
			if err := json.Unmarshal(b.Lines[0], &first); err != nil {
				t.Fatalf("line 0 %q: %v", b.Lines[0], err)
			}
			want := map[string]any{
				"facility": 1.0, "severity": 3.0, "severity_name": "err", "timestamp": "2024-05-01T10:00:00Z",
				"hostname": "web", "app_name": "api", "proc_id": "42",
				"structured_data": map[string]any{"req": map[string]any{"id": "7"}},
				"message":         "boom", "log": map[string]any{"level": "error"},
			}
			if !reflect.DeepEqual(first, want) {
				t.Errorf("line 0 = %v\nwant %v", first, want)
			}
			var third map[string]any
			if err := json.Unmarshal(b.Lines[2], &third); err != nil {
				t.Fatalf("line 2 %q: %v", b.Lines[2], err)
			}
			if !strings.Contains(string(b.Lines[2]), `"message":"ok <done> & more"`) {
				t.Errorf("line 2 %s: want <, > and & unescaped", b.Lines[2])
			}
			if third["message"] != "ok <done> & more" || third["log"].(map[string]any)["level"] != "info" {
				t.Errorf("line 2 = %v", third)
			}
		})
	}
}

func TestParseSyslogFormat(t *testing.T) {
	for _, s := range []string{"text", "json"} {
		if got, err := ParseSyslogFormat(s); err != nil || got != s {
			t.Errorf("ParseSyslogFormat(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseSyslogFormat("xml"); err == nil {
		t.Error(`ParseSyslogFormat("xml"): no error`)
	}
}

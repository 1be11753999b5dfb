package lab

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"streamgate/loadgen/sender"
)

func TestCheckSent(t *testing.T) {
	cases := []struct {
		name    string
		sum     sender.Summary
		lines   int64
		wantErr string // "" for none
	}{
		{"every line asked for", sender.Summary{Sent: 1000}, 1000, ""},
		{"no count asked for", sender.Summary{Sent: 17}, 0, ""},
		{"a line cut short", sender.Summary{Sent: 999, Cut: 1}, 0, "cut 1 lines short"},
		{"a line cut short, count asked for", sender.Summary{Sent: 999, Cut: 1}, 1000, "cut 1 lines short"},
		{"fewer lines than asked", sender.Summary{Sent: 500, Errors: 1}, 1000, "sent 500 of the 1000 lines asked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSent(tc.sum, tc.lines)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v; want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v; want an error saying %q", err, tc.wantErr)
			}
		})
	}
}

func TestLoadArgs(t *testing.T) {
	cases := []struct {
		load Load
		want string
	}{
		{Load{Target: "tcp://x:1", Lines: 500, Conns: 8, Flags: []string{"-ssn", "0"}},
			"send -target tcp://x:1 -seed 1 -conns 8 -lines 500 -ssn 0"},
		{Load{Target: "tcp://x:1", Rate: 20_000, Duration: 30 * time.Second},
			"send -target tcp://x:1 -seed 1 -rate 20000 -duration 30s"},
	}
	for _, tc := range cases {
		if got := strings.Join(tc.load.args(), " "); got != tc.want {
			t.Errorf("got %q; want %q", got, tc.want)
		}
	}
}

// fakeLoadgen is a loadgen that prints stdout and exits with code.
func fakeLoadgen(t *testing.T, stdout string, code int) Rig {
	bin := filepath.Join(t.TempDir(), "loadgen")
	script := "#!/bin/sh\nprintf '%s' '" + stdout + "'\necho 'loadgen: cannot write' >&2\nexit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return Rig{Loadgen: bin}
}

func TestSenderWait(t *testing.T) {
	cases := []struct {
		name    string
		stdout  string
		code    int
		load    Load
		sent    int64
		wantErr string
	}{
		{"a clean run", `{"sent":100}`, 0, Load{Lines: 100}, 100, ""},
		{"a cut line", `{"sent":99,"cut":1}`, 0, Load{}, 99, "cut 1 lines short"},
		{"a cut line the caller expects", `{"sent":99,"cut":1}`, 0, Load{MayCut: true}, 99, ""},
		{"fewer lines than asked", `{"sent":60,"errors":2}`, 0, Load{Lines: 100}, 60, "sent 60 of the 100"},
		{"fewer lines than asked, expected", `{"sent":60}`, 0, Load{Lines: 100, MayCut: true}, 60, ""},
		{"a failed run gives its summary", `{"sent":40,"cut":1}`, 1, Load{MayCut: true}, 40, "exit status 1"},
		{"no summary", ``, 1, Load{}, 0, "no summary"},
		{"a summary that is not JSON", `sent 5`, 0, Load{}, 0, "cannot decode loadgen summary"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.load.Target = "tcp://127.0.0.1:1"
			sum, err := fakeLoadgen(t, tc.stdout, tc.code).Send(tc.load)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v; want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("got %v; want an error saying %q", err, tc.wantErr)
			}
			if sum.Sent != tc.sent {
				t.Errorf("sent: got %d; want %d", sum.Sent, tc.sent)
			}
		})
	}
}

func TestStartSenderArgs(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "loadgen")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho \"$@\" >&2\necho '{\"sent\":3}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Rig{Loadgen: bin}.StartSender(Load{Target: "tcp://127.0.0.1:1", Lines: 3, Flags: NoPII()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(s.Proc.Logs())
	want := []string{"send", "-target", "tcp://127.0.0.1:1", "-seed", "1", "-lines", "3", "-ssn", "0", "-card", "0", "-email", "0"}
	if !slices.Equal(got, want) {
		t.Fatalf("args: got %q; want %q", got, want)
	}
}

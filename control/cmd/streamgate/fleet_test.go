package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"streamgate/dataplane/rdb"
)

var (
	apiRE   = regexp.MustCompile(`api=(http://127\.0\.0\.1:\d+)`)
	redisRE = regexp.MustCompile(`REDIS_ADDR=(127\.0\.0\.1:\d+)`)
)

// onFreePorts are the flags that put every listener of up or dataplane on a
// free loopback port.
var onFreePorts = []string{"-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "0", "-http-port", "0", "-admin-port", "0", "-heartbeat", "200ms"}

// TestSeveralDataplanesConverge runs `up` and two more `dataplane` processes
// on its embedded Redis: each publish reaches all three.
func TestSeveralDataplanesConverge(t *testing.T) {
	up := startProc(t, []string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, append([]string{"up", "-api-host", "127.0.0.1", "-api-port", "0"}, onFreePorts...)...)
	api := up.waitLog(apiRE)[1]
	redisAddr := up.waitLog(redisRE)[1]
	password := redisPassword(t, up)
	procs := []*proc{up}
	for i := 0; i < 2; i++ {
		p := startProc(t, []string{"REDIS_ADDR=" + redisAddr, "REDIS_PASSWORD=" + password, fmt.Sprintf("STREAMGATE_INSTANCE_ID=extra-%d", i)},
			append([]string{"dataplane"}, onFreePorts...)...)
		procs = append(procs, p)
	}
	var tcp, admin []string
	for _, p := range procs {
		tcp = append(tcp, p.waitLog(tcpAddrRE)[1])
		admin = append(admin, p.waitLog(adminAddrRE)[1])
	}

	post(t, api+"/rules", `{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`)
	v1 := publishVersion(t, api)
	waitFleet(t, api, 3, v1)
	post(t, api+"/rules", `{"id": "redact_ssn", "type": "redact", "params": {"detector": "ssn"}}`)
	v2 := publishVersion(t, api)
	waitFleet(t, api, 3, v2)

	for i, p := range procs {
		conn, err := net.Dial("tcp", tcp[i])
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "DEBUG dropped %d\nINFO kept %d ssn=123-45-6789\n", i, i)
		conn.Close()
		want := fmt.Sprintf("INFO kept %d ssn=[REDACTED]", i)
		waitUntil(t, "instance "+tcp[i]+" to print "+want, func() bool { return slices.Contains(p.Stdout(), want) })
		for _, l := range p.Stdout() {
			if strings.HasPrefix(l, "DEBUG") {
				t.Fatalf("instance %d printed %q; want DEBUG filtered", i, l)
			}
		}
	}
	// Following Redis, /status is the instance's heartbeat.
	for i := 1; i < len(procs); i++ {
		var hb rdb.Heartbeat
		getJSON(t, "http://"+admin[i]+"/status", &hb)
		if want := fmt.Sprintf("extra-%d", i-1); hb.ID != want || hb.Redis != "connected" || hb.Version != v2 || hb.Received != 2 || hb.Filtered != 1 {
			t.Errorf("GET /status of %s: %+v; want id %s, redis connected, version %s, received 2, filtered 1", want, hb, want, v2)
		}
	}
	// The extra data planes first: up hosts the embedded Redis they use.
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
		checkAttrs(t, stoppedLine(t, procs[i]), map[string]string{
			"received": "2", "filtered": "1", "dropped": "0", "emitted": "1", "in_pipeline": "0", "delivered": "1", "output_dropped": "0",
		})
	}
}

// redisPassword reads the password of up's embedded Redis from the file it
// wrote in its working directory.
func redisPassword(t *testing.T, up *proc) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(up.dir, defaultPasswordFile))
	if err != nil {
		t.Fatalf("the embedded Redis's password file: %v", err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, v) != nil {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
}

func post(t *testing.T, url, body string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func publishVersion(t *testing.T, api string) string {
	t.Helper()
	var resp struct {
		Manifest struct {
			Version string `json:"version"`
		} `json:"manifest"`
	}
	if err := json.Unmarshal([]byte(post(t, api+"/publish", "")), &resp); err != nil || resp.Manifest.Version == "" {
		t.Fatalf("publish: %v", err)
	}
	return resp.Manifest.Version
}

// waitFleet waits until n instances report version.
func waitFleet(t *testing.T, api string, n int, version string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d instances at version %s", n, version), func() bool {
		resp, err := http.Get(api + "/fleet")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var fleet struct {
			Instances []struct {
				Version string `json:"version"`
			} `json:"instances"`
		}
		if json.NewDecoder(resp.Body).Decode(&fleet) != nil || len(fleet.Instances) != n {
			return false
		}
		for _, in := range fleet.Instances {
			if in.Version != version {
				return false
			}
		}
		return true
	})
}

// TestFleetForgetsKilledDataplane: the embedded Redis expires keys in real
// time, as Redis does, so a data plane killed without removing its
// heartbeat leaves up's /fleet once its heartbeat's time to live is over.
func TestFleetForgetsKilledDataplane(t *testing.T) {
	up := startProc(t, []string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, append([]string{"up", "-api-port", "0"}, onFreePorts...)...)
	api := up.waitLog(apiRE)[1]
	redisAddr := up.waitLog(redisRE)[1]
	extra := startProc(t, []string{"REDIS_ADDR=" + redisAddr, "REDIS_PASSWORD=" + redisPassword(t, up), "STREAMGATE_INSTANCE_ID=extra"},
		append([]string{"dataplane"}, onFreePorts...)...)
	extra.waitLog(tcpAddrRE)
	waitFleet(t, api, 2, "")
	extra.cmd.Process.Kill()
	extra.cmd.Wait()
	waitFleet(t, api, 1, "")
	up.stop()
}

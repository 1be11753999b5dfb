// The tests of the Helm chart: it is rendered (helm template) with its
// default values and with each example, and every streamgate container of
// the result is checked against the binary: its arguments parse as the
// command's flags, its environment variables are ones the command reads,
// the files its flags name are mounted, its ports and probes are the ones
// it listens on. They need helm; `make helm-check` runs them, and CI
// installs helm first.
package helm_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"streamgate/deploy/internal/deploytest"
)

func TestMain(m *testing.M) { deploytest.Main(m) }

// helm returns the helm binary: $HELM, or helm on PATH. Without one the
// test is skipped, except on CI, which must have installed it.
func helm(t *testing.T) string {
	t.Helper()
	name := os.Getenv("HELM")
	if name == "" {
		name = "helm"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run must install it (go install helm.sh/helm/v4/cmd/helm@v4.3.2)", name)
		}
		t.Skipf("%s is not installed, so the chart is not rendered: go install helm.sh/helm/v4/cmd/helm@v4.3.2, then make helm-check", name)
	}
	return p
}

func chartDir(t *testing.T) string {
	return filepath.Join(deploytest.Root(t), "deploy/helm/streamgate")
}

// object is one rendered Kubernetes object.
type object map[string]any

func (o object) kind() string { s, _ := o["kind"].(string); return s }
func (o object) name() string { return str(get(o, "metadata", "name")) }

// get walks maps by key; nil when a key is missing.
func get(v any, keys ...string) any {
	if o, ok := v.(object); ok {
		v = map[string]any(o)
	}
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func list(v any) []any { l, _ := v.([]any); return l }

// render runs helm template on the chart with the values files given.
func render(t *testing.T, args ...string) ([]object, error) {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "streamgate", chartDir(t)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("helm template %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var objs []object
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		// Into a plain map: yaml.v3 would make every nested mapping an
		// object too.
		var o map[string]any
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("helm template %s: output is not YAML: %v", strings.Join(args, " "), err)
		}
		if o != nil {
			objs = append(objs, object(o))
		}
	}
	return objs, nil
}

// rendering is a rendered chart, indexed.
type rendering struct {
	objs   []object
	values string // the values file's text, "" for the defaults
}

func (r rendering) all(kind string) []object {
	var out []object
	for _, o := range r.objs {
		if o.kind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func (r rendering) one(t *testing.T, kind, name string) object {
	t.Helper()
	for _, o := range r.all(kind) {
		if o.name() == name {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

func (r rendering) workloads() []object {
	return slices.Concat(r.all("Deployment"), r.all("StatefulSet"), r.all("DaemonSet"))
}

// TestHelmChart renders the chart with its default values and with each
// example, checks every rendering as a whole, then what each example is
// for.
func TestHelmChart(t *testing.T) {
	helm(t)
	examples, err := filepath.Glob(filepath.Join(chartDir(t), "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]func(*testing.T, rendering){
		"default":             checkDefault,
		"aggregator.yaml":     checkAggregator,
		"agent.yaml":          checkAgent,
		"external-redis.yaml": checkExternalRedis,
	}
	files := append([]string{""}, examples...)
	for _, f := range files {
		name := filepath.Base(f)
		if f == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			var args []string
			var values []byte
			if f != "" {
				args = []string{"-f", f}
				if values, err = os.ReadFile(f); err != nil {
					t.Fatal(err)
				}
			}
			objs, err := render(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			r := rendering{objs: objs, values: string(values)}
			checkRendering(t, r)
			check, ok := want[name]
			if !ok {
				t.Fatalf("examples/%s: the test has no checks for it; add them", name)
			}
			check(t, r)
		})
	}
	// Every option the examples leave out, at once: only what holds in
	// every rendering is checked.
	t.Run("every option", func(t *testing.T) {
		set := strings.Join([]string{
			"redis.mode=external", "redis.addr=redis-0:26379\\,redis-1:26379", "redis.masterName=mymaster",
			"redis.db=2", "redis.tls=true", "redis.caSecret=redis-ca", "redis.auth.existingSecret=redis-auth",
			"hmacKey.existingSecret=hmac", "control.tlsSecret=api-tls", "dataplane.adminTLSSecret=admin-tls",
			"dataplane.bootPolicy=passthrough", "dataplane.logLevel=debug", "control.logLevel=warn",
			"dataplane.memoryLimit=100MiB", "dataplane.extraArgs={-max-line=65536}", "control.extraArgs={-log-level=error}",
			"serviceMonitor.enabled=true", "dataplane.autoscaling.enabled=false", "dataplane.replicas=4",
			"dataplane.ports.tcp=5170", "dataplane.ports.udp=5171", "dataplane.ports.http=5172", "dataplane.ports.admin=5173",
			"control.port=5174", "listenHost=::",
		}, ",")
		objs, err := render(t, "--set", set)
		if err != nil {
			t.Fatal(err)
		}
		r := rendering{objs: objs, values: strings.ReplaceAll(set, "=", ": ")}
		checkRendering(t, r)
		for _, name := range []string{"streamgate-control", "streamgate-dataplane"} {
			_, c := container(t, r, "Deployment", name)
			env := envOf(c)
			for _, k := range []string{"REDIS_ADDR", "REDIS_PASSWORD", "REDIS_MASTER_NAME", "REDIS_DB", "REDIS_TLS", "REDIS_CA_FILE"} {
				if env[k] == nil {
					t.Errorf("%s: no %s", name, k)
				}
			}
		}
	})
	for name := range want {
		if name != "default" && !slices.ContainsFunc(examples, func(e string) bool { return filepath.Base(e) == name }) {
			t.Errorf("examples/%s is missing", name)
		}
	}
}

// checkRendering checks what holds in every rendering.
func checkRendering(t *testing.T, r rendering) {
	secrets := map[string]object{}
	for _, s := range r.all("Secret") {
		secrets[s.name()] = s
	}
	configMaps := map[string]object{}
	for _, c := range r.all("ConfigMap") {
		configMaps[c.name()] = c
	}
	// A Secret the chart does not make must be one the values name.
	checkSecret := func(where, name, key string) {
		if s, ok := secrets[name]; ok {
			if get(s, "data", key) == nil {
				t.Errorf("%s: Secret %s has no key %s", where, name, key)
			}
			return
		}
		if !strings.Contains(r.values, "existingSecret: "+name) && !strings.Contains(r.values, "Secret: "+name) {
			t.Errorf("%s: Secret %s is neither rendered nor named in the values", where, name)
		}
	}

	if len(r.workloads()) == 0 {
		t.Fatal("no workload rendered")
	}
	for _, w := range r.workloads() {
		where := w.kind() + " " + w.name()
		pod := get(w, "spec", "template", "spec")
		if get(pod, "securityContext", "runAsNonRoot") != true {
			t.Errorf("%s: want securityContext.runAsNonRoot", where)
		}
		if get(pod, "automountServiceAccountToken") != false {
			t.Errorf("%s: want automountServiceAccountToken false: nothing here talks to the Kubernetes API", where)
		}
		volumes := map[string]any{}
		for _, v := range list(get(pod, "volumes")) {
			volumes[str(get(v, "name"))] = v
			if s := get(v, "secret"); s != nil {
				for _, it := range list(get(s, "items")) {
					checkSecret(where+" volume "+str(get(v, "name")), str(get(s, "secretName")), str(get(it, "key")))
				}
				if list(get(s, "items")) == nil {
					checkSecret(where+" volume "+str(get(v, "name")), str(get(s, "secretName")), "tls.crt")
				}
			}
			if c := get(v, "configMap"); c != nil {
				if _, ok := configMaps[str(get(c, "name"))]; !ok {
					t.Errorf("%s: volume %s: ConfigMap %s is not rendered", where, str(get(v, "name")), str(get(c, "name")))
				}
			}
		}
		for _, vct := range list(get(w, "spec", "volumeClaimTemplates")) {
			volumes[str(get(vct, "metadata", "name"))] = vct
		}
		for _, c := range list(get(pod, "containers")) {
			cwhere := where + " container " + str(get(c, "name"))
			sc := get(c, "securityContext")
			if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false ||
				!slices.Contains(list(get(sc, "capabilities", "drop")), any("ALL")) {
				t.Errorf("%s: want a read-only root, no privilege escalation and every capability dropped", cwhere)
			}
			for _, e := range list(get(c, "env")) {
				if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
					checkSecret(cwhere+" env "+str(get(e, "name")), str(get(ref, "name")), str(get(ref, "key")))
				}
			}
			for _, m := range list(get(c, "volumeMounts")) {
				if _, ok := volumes[str(get(m, "name"))]; !ok {
					t.Errorf("%s: mounts volume %s, which the pod does not have", cwhere, str(get(m, "name")))
				}
			}
			if strings.HasPrefix(str(get(c, "image")), "redis:") {
				checkRedis(t, cwhere, c)
				continue
			}
			checkStreamgate(t, cwhere, c, volumes, configMaps)
		}
	}

	// Services reach named ports of the pods they select.
	for _, s := range r.all("Service") {
		sel := get(s, "spec", "selector").(map[string]any)
		var pods []any
		for _, w := range r.workloads() {
			if matches(sel, get(w, "spec", "template", "metadata", "labels")) {
				pods = append(pods, get(w, "spec", "template", "spec"))
			}
		}
		if len(pods) == 0 {
			t.Errorf("Service %s selects no rendered workload", s.name())
			continue
		}
		for _, p := range list(get(s, "spec", "ports")) {
			target := str(get(p, "targetPort"))
			for _, pod := range pods {
				if !hasPort(pod, target, str(get(p, "protocol"))) {
					t.Errorf("Service %s: port %s targets %s/%s, which no container of its pods names", s.name(), str(get(p, "name")), target, str(get(p, "protocol")))
				}
			}
		}
	}
	for _, h := range r.all("HorizontalPodAutoscaler") {
		ref := get(h, "spec", "scaleTargetRef")
		found := false
		for _, w := range r.workloads() {
			found = found || (w.kind() == str(get(ref, "kind")) && w.name() == str(get(ref, "name")))
		}
		if !found {
			t.Errorf("HorizontalPodAutoscaler %s scales %s %s, which is not rendered", h.name(), str(get(ref, "kind")), str(get(ref, "name")))
		}
	}
	for _, p := range r.all("PodDisruptionBudget") {
		found := false
		for _, w := range r.workloads() {
			found = found || matches(get(p, "spec", "selector", "matchLabels").(map[string]any), get(w, "spec", "template", "metadata", "labels"))
		}
		if !found {
			t.Errorf("PodDisruptionBudget %s selects no rendered workload", p.name())
		}
	}
	for _, c := range configMaps {
		if m, ok := get(c, "data", "manifest.json").(string); ok {
			checkManifest(t, "ConfigMap "+c.name(), m)
		}
	}
}

func matches(sel map[string]any, labels any) bool {
	for k, v := range sel {
		if get(labels, k) != v {
			return false
		}
	}
	return len(sel) > 0
}

func hasPort(pod any, name, protocol string) bool {
	for _, c := range list(get(pod, "containers")) {
		for _, p := range list(get(c, "ports")) {
			if str(get(p, "name")) == name && str(get(p, "protocol")) == protocol {
				return true
			}
		}
	}
	return false
}

// portFlags maps a named container port to the flag that sets it.
var portFlags = map[string]string{"api": "api-port", "admin": "admin-port", "tcp": "tcp-port", "udp": "udp-port", "http": "http-port"}

// checkStreamgate checks a streamgate container against the binary.
func checkStreamgate(t *testing.T, where string, c any, volumes map[string]any, configMaps map[string]object) {
	t.Helper()
	if get(c, "command") != nil {
		t.Errorf("%s: sets command; the image's entrypoint is streamgate, give args", where)
	}
	var args []string
	for _, a := range list(get(c, "args")) {
		args = append(args, str(a))
	}
	if len(args) == 0 {
		t.Fatalf("%s: no args; want a streamgate command first", where)
	}
	cmd := deploytest.Usage(t, args[0])
	if err := cmd.CheckArgs(t, args[1:]); err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	given, _ := cmd.ParseArgs(args[1:])
	env := map[string]string{}
	for _, e := range list(get(c, "env")) {
		name := str(get(e, "name"))
		env[name] = str(get(e, "value"))
		if !cmd.Env[name] {
			t.Errorf("%s: streamgate %s does not read environment variable %s", where, cmd.Name, name)
		}
	}
	for _, bad := range []string{"insecure-api", "pprof"} {
		if _, ok := given[bad]; ok {
			t.Errorf("%s: passes -%s", where, bad)
		}
	}
	if _, ok := cmd.Flags["api-host"]; ok {
		if h, ok := given["api-host"]; ok && !deploytest.Loopback(h) {
			if given["api-token-file"] == "" && env["STREAMGATE_API_TOKEN_FILE"] == "" {
				t.Errorf("%s: the REST API listens on %q; want its token from a file (-api-token-file)", where, h)
			}
		}
	}

	// Every file a flag or variable names is in a volume mounted there.
	mounts := map[string]string{} // mount path -> volume
	for _, m := range list(get(c, "volumeMounts")) {
		mounts[str(get(m, "mountPath"))] = str(get(m, "name"))
	}
	files := map[string]string{}
	for name, v := range given {
		if strings.HasSuffix(name, "-file") || strings.HasSuffix(name, "-cert") || strings.HasSuffix(name, "-key") || name == "manifest" {
			files["-"+name] = v
		}
	}
	for name, v := range env {
		if strings.HasSuffix(name, "_FILE") {
			files[name] = v
		}
	}
	for what, file := range files {
		dir, base := path.Split(file)
		vol, ok := mounts[strings.TrimSuffix(dir, "/")]
		if !ok {
			t.Errorf("%s: %s %s: no volume is mounted at %s", where, what, file, dir)
			continue
		}
		if !volumeHas(volumes[vol], base, configMaps) {
			t.Errorf("%s: %s %s: volume %s has no file %s", where, what, file, vol, base)
		}
	}

	// Named ports are the ones the flags listen on; probes use them.
	ports := map[string]bool{}
	for _, p := range list(get(c, "ports")) {
		name := str(get(p, "name"))
		ports[name] = true
		fl, ok := portFlags[name]
		if !ok {
			t.Errorf("%s: port %s: the test knows no flag for it", where, name)
			continue
		}
		got, set := given[fl]
		if !set {
			got = cmd.Flags[fl].Default
		}
		if got != str(get(p, "containerPort")) {
			t.Errorf("%s: port %s is %s, but -%s is %s", where, name, str(get(p, "containerPort")), fl, got)
		}
		if wantUDP := name == "udp"; (str(get(p, "protocol")) == "UDP") != wantUDP {
			t.Errorf("%s: port %s: protocol %s", where, name, str(get(p, "protocol")))
		}
	}
	probes := map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"}
	tlsFlag := "admin-tls-cert"
	if cmd.Name == "control" {
		probes = map[string]string{"livenessProbe": "/", "readinessProbe": "/"}
		tlsFlag = "api-tls-cert"
	}
	wantScheme := "HTTP"
	if given[tlsFlag] != "" {
		wantScheme = "HTTPS"
	}
	for probe, wantPath := range probes {
		g := get(c, probe, "httpGet")
		if g == nil {
			t.Errorf("%s: no %s over HTTP", where, probe)
			continue
		}
		if p := str(get(g, "path")); p != wantPath {
			t.Errorf("%s: %s path %s; want %s", where, probe, p, wantPath)
		}
		if !ports[str(get(g, "port"))] {
			t.Errorf("%s: %s port %s is not a named port of the container", where, probe, str(get(g, "port")))
		}
		if s := str(get(g, "scheme")); s != wantScheme {
			t.Errorf("%s: %s scheme %s; want %s", where, probe, s, wantScheme)
		}
	}
	if get(c, "resources", "requests") == nil {
		t.Errorf("%s: no resource requests", where)
	}
}

// volumeHas reports whether volume v holds a file named base: a secret
// with items lists it; a kubernetes.io/tls secret holds tls.crt and
// tls.key; a rendered ConfigMap has the key.
func volumeHas(v any, base string, configMaps map[string]object) bool {
	if s := get(v, "secret"); s != nil {
		items := list(get(s, "items"))
		if items == nil {
			return base == "tls.crt" || base == "tls.key"
		}
		return slices.ContainsFunc(items, func(it any) bool { return str(get(it, "path")) == base })
	}
	if c := get(v, "configMap"); c != nil {
		cm, ok := configMaps[str(get(c, "name"))]
		return ok && get(cm, "data", base) != nil
	}
	return false
}

// checkRedis checks the bundled Redis requires its password.
func checkRedis(t *testing.T, where string, c any) {
	t.Helper()
	args := list(get(c, "args"))
	i := slices.Index(args, any("--requirepass"))
	if i < 0 || i+1 == len(args) || args[i+1] != "$(REDIS_PASSWORD)" {
		t.Errorf("%s: args %v; want --requirepass $(REDIS_PASSWORD)", where, args)
	}
	env := map[string]bool{}
	for _, e := range list(get(c, "env")) {
		if get(e, "valueFrom", "secretKeyRef") != nil {
			env[str(get(e, "name"))] = true
		}
	}
	if !env["REDIS_PASSWORD"] || !env["REDISCLI_AUTH"] {
		t.Errorf("%s: want REDIS_PASSWORD and REDISCLI_AUTH from the Secret", where)
	}
}

// checkManifest runs streamgate validate on a manifest the chart ships.
func checkManifest(t *testing.T, where, manifest string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(f, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(deploytest.Binary(t), "validate", f).CombinedOutput()
	if err != nil {
		t.Errorf("%s: streamgate validate: %v\n%s", where, err, out)
	}
}

// container returns the container of a workload's pod, and the workload.
func container(t *testing.T, r rendering, kind, name string) (object, any) {
	t.Helper()
	w := r.one(t, kind, name)
	cs := list(get(w, "spec", "template", "spec", "containers"))
	if len(cs) != 1 {
		t.Fatalf("%s %s has %d containers; want 1", kind, name, len(cs))
	}
	return w, cs[0]
}

func args(c any) []string {
	var out []string
	for _, a := range list(get(c, "args")) {
		out = append(out, str(a))
	}
	return out
}

func envOf(c any) map[string]any {
	env := map[string]any{}
	for _, e := range list(get(c, "env")) {
		if v := get(e, "value"); v != nil {
			env[str(get(e, "name"))] = v
		} else {
			env[str(get(e, "name"))] = get(e, "valueFrom")
		}
	}
	return env
}

func kinds(r rendering) []string {
	var ks []string
	for _, o := range r.objs {
		ks = append(ks, o.kind()+"/"+o.name())
	}
	slices.Sort(ks)
	return ks
}

// checkDefault: bundled Redis with a generated password, the API token
// generated, data planes as a Deployment under an HPA.
func checkDefault(t *testing.T, r rendering) {
	want := []string{
		"Deployment/streamgate-control", "Deployment/streamgate-dataplane",
		"HorizontalPodAutoscaler/streamgate-dataplane",
		"PodDisruptionBudget/streamgate-control", "PodDisruptionBudget/streamgate-dataplane",
		"Secret/streamgate-api-token", "Secret/streamgate-redis",
		"Service/streamgate-control", "Service/streamgate-dataplane", "Service/streamgate-redis",
		"StatefulSet/streamgate-redis",
	}
	if got := kinds(r); !slices.Equal(got, want) {
		t.Errorf("rendered %v; want %v", got, want)
	}
	_, c := container(t, r, "Deployment", "streamgate-control")
	if !slices.Contains(args(c), "-api-token-file=/etc/streamgate/api-token/token") {
		t.Errorf("control args %v; want the token from its file", args(c))
	}
	if env := envOf(c); env["REDIS_ADDR"] != "streamgate-redis:6379" || env["REDIS_PASSWORD"] == nil {
		t.Errorf("control env %v; want the bundled Redis and its password", env)
	}
	w, _ := container(t, r, "Deployment", "streamgate-dataplane")
	if get(w, "spec", "replicas") != nil {
		t.Error("the data planes' Deployment sets replicas; the HPA owns them")
	}
}

// checkAggregator: a StatefulSet for the per-pod volumes, the HPA on it,
// the ServiceMonitor.
func checkAggregator(t *testing.T, r rendering) {
	w, c := container(t, r, "StatefulSet", "streamgate-dataplane")
	if len(list(get(w, "spec", "volumeClaimTemplates"))) != 1 || str(get(w, "spec", "serviceName")) != "streamgate-dataplane-headless" {
		t.Error("the data planes' StatefulSet: want a volume claim template and the headless Service")
	}
	r.one(t, "Service", "streamgate-dataplane-headless")
	h := r.one(t, "HorizontalPodAutoscaler", "streamgate-dataplane")
	if get(h, "spec", "scaleTargetRef", "kind") != "StatefulSet" || get(h, "spec", "minReplicas") != 3 {
		t.Errorf("HPA %v; want it on the StatefulSet from 3 replicas", get(h, "spec"))
	}
	for _, a := range []string{"-memory-limit=400MiB", "-workers=2", "-overflow=drop_oldest"} {
		if !slices.Contains(args(c), a) {
			t.Errorf("data plane args %v; want %s", args(c), a)
		}
	}
	sm := r.one(t, "ServiceMonitor", "streamgate-dataplane")
	ep := list(get(sm, "spec", "endpoints"))
	if len(ep) != 1 || get(ep[0], "port") != "admin" || get(ep[0], "path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %v; want /metrics on the admin port", ep)
	}
}

// checkAgent: a DaemonSet on every node with host ports, no HPA nor PDB,
// the Service local to the node, the fallback manifest mounted.
func checkAgent(t *testing.T, r rendering) {
	_, c := container(t, r, "DaemonSet", "streamgate-dataplane")
	if len(r.all("HorizontalPodAutoscaler")) != 0 {
		t.Error("an HPA is rendered for agents")
	}
	for _, p := range r.all("PodDisruptionBudget") {
		if p.name() == "streamgate-dataplane" {
			t.Error("a PodDisruptionBudget is rendered for agents")
		}
	}
	s := r.one(t, "Service", "streamgate-dataplane")
	if get(s, "spec", "internalTrafficPolicy") != "Local" {
		t.Error("the agents' Service: want internalTrafficPolicy Local")
	}
	for _, p := range list(get(c, "ports")) {
		if name := str(get(p, "name")); name != "admin" && get(p, "hostPort") == nil {
			t.Errorf("agent port %s: want a hostPort", name)
		}
	}
	if !slices.Contains(args(c), "-manifest=/etc/streamgate/manifest/manifest.json") {
		t.Errorf("agent args %v; want the fallback manifest", args(c))
	}
	r.one(t, "ConfigMap", "streamgate-manifest")
}

// checkExternalRedis: no Redis of the chart's, the address and every
// secret from the values, the API over HTTPS.
func checkExternalRedis(t *testing.T, r rendering) {
	if len(r.all("StatefulSet")) != 0 || len(r.all("Secret")) != 0 {
		t.Errorf("rendered %v; want no StatefulSet (no bundled Redis) and no Secret (all existing)", kinds(r))
	}
	for _, kind := range []string{"Deployment"} {
		for _, name := range []string{"streamgate-control", "streamgate-dataplane"} {
			_, c := container(t, r, kind, name)
			env := envOf(c)
			if env["REDIS_ADDR"] != "rediss://redis.example.internal:6380" {
				t.Errorf("%s: REDIS_ADDR %v; want the values' addr", name, env["REDIS_ADDR"])
			}
			if get(env["REDIS_PASSWORD"], "secretKeyRef", "name") != "streamgate-redis" {
				t.Errorf("%s: REDIS_PASSWORD %v; want it from Secret streamgate-redis", name, env["REDIS_PASSWORD"])
			}
			if !slices.Contains(args(c), "-hmac-key-file=/etc/streamgate/hmac/key") {
				t.Errorf("%s: args %v; want the HMAC key's file", name, args(c))
			}
		}
	}
	w, c := container(t, r, "Deployment", "streamgate-control")
	if get(w, "spec", "replicas") != 2 || !slices.Contains(args(c), "-api-tls-cert=/etc/streamgate/tls/tls.crt") {
		t.Errorf("control: replicas %v, args %v; want 2 replicas serving HTTPS", get(w, "spec", "replicas"), args(c))
	}
	w, _ = container(t, r, "Deployment", "streamgate-dataplane")
	if get(w, "spec", "replicas") != 3 || len(r.all("HorizontalPodAutoscaler")) != 0 {
		t.Error("data planes: want 3 replicas and no HPA (autoscaling disabled)")
	}
}

// TestHelmRefuses checks the values the chart refuses, naming the value.
func TestHelmRefuses(t *testing.T) {
	helm(t)
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"dataplane.mode=sidecar"}, "dataplane"},
		{[]string{"dataplane.mode=agent", "dataplane.dataDir.persistence.enabled=true"}, "dataplane.dataDir.persistence.enabled needs dataplane.mode aggregator"},
		{[]string{"dataplane.hostPorts=true"}, "dataplane.hostPorts needs dataplane.mode agent"},
		{[]string{"redis.mode=external"}, "redis.addr is required"},
		{[]string{"redis.addr=redis:6379"}, "redis.addr is for redis.mode external"},
		{[]string{"dataplane.bootPolicy=open"}, "bootPolicy"},
		{[]string{"dataplane.replica=3"}, "replica"},
	} {
		var args []string
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		_, err := render(t, args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("helm template --set %s: %v; want an error naming %q", strings.Join(tc.set, ","), err, tc.want)
		}
	}
}

// TestHelmValuesDocumented checks that values.yaml and the schema name the
// same keys, so that no value is undocumented or refused by mistake.
func TestHelmValuesDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(chartDir(t), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	s, err := os.ReadFile(filepath.Join(chartDir(t), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := yaml.Unmarshal(s, &schema); err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, v, sch any)
	walk = func(prefix string, v, sch any) {
		m, ok := v.(map[string]any)
		props, _ := get(sch, "properties").(map[string]any)
		if !ok || props == nil {
			return
		}
		if get(sch, "additionalProperties") != false {
			return // free-form: resources, affinity, ...
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if _, ok := props[k]; !ok {
				t.Errorf("values.yaml: %s%s is not in values.schema.json", prefix, k)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(props)) {
			if _, ok := m[k]; !ok {
				t.Errorf("values.schema.json: %s%s has no default in values.yaml", prefix, k)
				continue
			}
			walk(prefix+k+".", m[k], props[k])
		}
	}
	walk("", values, schema)
}

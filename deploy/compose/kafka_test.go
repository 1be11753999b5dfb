package compose_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"streamgate/deploy/internal/deploytest"
)

const kafkaComposePath = "deploy/compose/docker-compose.kafka.yml"

// kafkaCompose is what the test reads of docker-compose.kafka.yml.
type kafkaCompose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Configs     []struct {
			Source string `yaml:"source"`
			Target string `yaml:"target"`
		} `yaml:"configs"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
	Configs map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
}

// TestKafkaCompose checks docker-compose.kafka.yml without Docker: it
// parses (anchors and merges included); every streamgate command takes its
// flags and environment; the manifests it mounts validate; the agent
// produces to the topic kafka-init creates and the aggregators consume, in
// one group; every dependency exists.
func TestKafkaCompose(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(deploytest.Root(t), kafkaComposePath))
	if err != nil {
		t.Fatal(err)
	}
	var c kafkaCompose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", kafkaComposePath, err)
	}
	for _, name := range []string{"kafka", "kafka-init", "agent", "aggregator-1", "aggregator-2", "echo"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("no service %q", name)
		}
	}
	dataplane := deploytest.Usage(t, "dataplane")
	dir := t.TempDir()
	topic := ""
	for name, s := range c.Services {
		for dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on %q, which is no service", name, dep)
			}
		}
		if !strings.HasPrefix(s.Image, "streamgate:") {
			continue
		}
		if len(s.Command) > 0 && s.Command[0] == "dataplane" {
			if err := dataplane.CheckArgs(t, s.Command[1:]); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			for k := range s.Environment {
				if !dataplane.Env[k] {
					t.Errorf("%s: streamgate dataplane reads no %s", name, k)
				}
			}
		}
		for _, cf := range s.Configs {
			content, ok := c.Configs[cf.Source]
			if !ok {
				t.Errorf("%s mounts config %q, which is not defined", name, cf.Source)
				continue
			}
			if !slices.Contains(s.Command, cf.Target) {
				t.Errorf("%s mounts %s at %s, which its command does not name", name, cf.Source, cf.Target)
			}
			file := filepath.Join(dir, cf.Source+".json")
			if err := os.WriteFile(file, []byte(content.Content), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(deploytest.Binary(t), "validate", file).CombinedOutput(); err != nil {
				t.Errorf("config %s does not validate: %v\n%s", cf.Source, err, out)
			}
			var m struct {
				Pipelines []struct {
					Outputs []struct {
						Type, Topic string
					}
				}
			}
			if err := json.Unmarshal([]byte(content.Content), &m); err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Pipelines {
				for _, o := range p.Outputs {
					if o.Type == "kafka" {
						topic = o.Topic
					}
				}
			}
		}
	}
	if topic == "" {
		t.Fatal("no kafka output in the agent's manifest")
	}
	if init := c.Services["kafka-init"].Command; !slices.Contains(init, topic) {
		t.Errorf("kafka-init creates no topic %q: %q", topic, init)
	}
	a1, a2 := c.Services["aggregator-1"].Environment, c.Services["aggregator-2"].Environment
	if a1["KAFKA_TOPICS"] != topic || a2["KAFKA_TOPICS"] != topic {
		t.Errorf("aggregators consume %q and %q; the agent produces to %q", a1["KAFKA_TOPICS"], a2["KAFKA_TOPICS"], topic)
	}
	if a1["KAFKA_GROUP"] == "" || a1["KAFKA_GROUP"] != a2["KAFKA_GROUP"] {
		t.Errorf("aggregators in groups %q and %q; want one", a1["KAFKA_GROUP"], a2["KAFKA_GROUP"])
	}
}

// Package rdb is the Redis contract between the control plane and the data
// planes: key and channel names, how a client is configured from the
// environment, and the fleet heartbeat each data plane writes.
//
// Contract kept from the original prototype: the key ConfigKey holds the
// JSON manifest, and the channel UpdatesChannel carries ReloadMessage when a
// new manifest is published.
package rdb

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The published configuration.
const (
	ConfigKey      = "streamgate_config"
	UpdatesChannel = "streamgate_updates"
	ReloadMessage  = "RELOAD"
)

// Options say where Redis is. The zero value means "not configured".
type Options struct {
	// Addrs are host:port pairs: one for a standalone server, several for
	// a cluster, or the sentinels when MasterName is set.
	Addrs      []string
	MasterName string
	Password   string
	DB         int
	// TLS, when set, is the client's TLS configuration: every connection,
	// to the server, the cluster's nodes or the sentinels, uses it. Its
	// ServerName is empty, so that each connection checks the certificate
	// against the host it dials.
	TLS *tls.Config
}

// Configured reports whether any address is set.
func (o Options) Configured() bool { return len(o.Addrs) > 0 }

// FromEnv reads REDIS_ADDR (comma-separated host:port list, each
// optionally written redis://host:port or rediss://host:port) or REDIS_HOST
// and REDIS_PORT (default 6379), REDIS_PASSWORD, REDIS_DB and
// REDIS_MASTER_NAME (Sentinel). With none of REDIS_ADDR and REDIS_HOST set,
// Redis is not configured.
//
// TLS is on when the addresses are written rediss://, when REDIS_TLS is
// true, or when REDIS_CA_FILE names the PEM file of the certificate
// authorities to trust instead of the system's. No error shows the
// password.
func FromEnv() (Options, error) {
	var o Options
	tlsOn := false
	if v := os.Getenv("REDIS_ADDR"); v != "" {
		var err error
		if o.Addrs, tlsOn, err = parseAddrs(v); err != nil {
			return o, err
		}
	} else if h := os.Getenv("REDIS_HOST"); h != "" {
		port := os.Getenv("REDIS_PORT")
		if port == "" {
			port = "6379"
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return o, fmt.Errorf("REDIS_PORT: want a port number; got %q", port)
		}
		o.Addrs = []string{net.JoinHostPort(h, port)}
	}
	o.Password = os.Getenv("REDIS_PASSWORD")
	o.MasterName = os.Getenv("REDIS_MASTER_NAME")
	if v := os.Getenv("REDIS_DB"); v != "" {
		db, err := strconv.Atoi(v)
		if err != nil || db < 0 {
			return o, fmt.Errorf("REDIS_DB: want a database number; got %q", v)
		}
		o.DB = db
	}
	if v := os.Getenv("REDIS_TLS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("REDIS_TLS: want 1 or 0 (true or false); got %q", v)
		}
		if !on && tlsOn {
			return o, errors.New("REDIS_TLS: false, but REDIS_ADDR's addresses are rediss://, which means TLS")
		}
		tlsOn = on
	}
	var roots *x509.CertPool
	if path := os.Getenv("REDIS_CA_FILE"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return o, fmt.Errorf("REDIS_CA_FILE: cannot read the certificate authorities: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return o, fmt.Errorf("REDIS_CA_FILE: no PEM certificate in %s", path)
		}
		tlsOn = true
	}
	if tlsOn {
		o.TLS = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return o, nil
}

// parseAddrs splits REDIS_ADDR into host:port pairs, and reports whether
// they are written rediss://. An address with a scheme and no port gets
// Redis's, 6379.
func parseAddrs(v string) (addrs []string, tlsOn bool, err error) {
	schemes := map[string]bool{}
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if strings.Contains(a, "@") {
			// Not shown: what comes before the @ is a password.
			return nil, false, errors.New("REDIS_ADDR: an address holds credentials; give the password in REDIS_PASSWORD")
		}
		scheme, rest, found := strings.Cut(a, "://")
		if found {
			switch scheme {
			case "redis", "rediss":
			default:
				return nil, false, fmt.Errorf("REDIS_ADDR: want host:port, redis://host:port or rediss://host:port; got %q", a)
			}
			schemes[scheme] = true
			rest = strings.TrimSuffix(rest, "/")
			if _, _, err := net.SplitHostPort(rest); err != nil {
				rest = net.JoinHostPort(strings.Trim(rest, "[]"), "6379")
			}
			if strings.ContainsAny(rest, "/?#") || strings.HasPrefix(rest, ":") {
				return nil, false, fmt.Errorf("REDIS_ADDR: want host:port, redis://host:port or rediss://host:port; got %q", a)
			}
			a = rest
		}
		addrs = append(addrs, a)
	}
	if schemes["redis"] && schemes["rediss"] {
		return nil, false, errors.New("REDIS_ADDR: mixes redis:// and rediss://; one client uses TLS with every address or with none")
	}
	return addrs, schemes["rediss"], nil
}

// String describes o without its password.
func (o Options) String() string {
	s := strings.Join(o.Addrs, ",")
	if o.MasterName != "" {
		s = "sentinel " + o.MasterName + "@" + s
	}
	if o.DB != 0 {
		s += "/" + strconv.Itoa(o.DB)
	}
	if o.TLS != nil {
		s += " (tls)"
	}
	return s
}

// NewClient returns a client for o: standalone, cluster or Sentinel,
// through go-redis's universal client.
func NewClient(o Options) redis.UniversalClient {
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:        o.Addrs,
		MasterName:   o.MasterName,
		Password:     o.Password,
		DB:           o.DB,
		TLSConfig:    o.TLS,
		DialTimeout:  2 * time.Second,
		ReadTimeout:  3 * time.Second,
		WriteTimeout: 3 * time.Second,
		// Fail fast while Redis is away; callers retry with their own backoff.
		MaxRetries: 1,
	})
}

// Fleet keys: each data plane keeps a hash under InstanceKeyPrefix+id with a
// TTL, and its id in the sorted set FleetKey scored by the time of its last
// heartbeat (Unix milliseconds).
const (
	FleetKey          = "streamgate:fleet"
	InstanceKeyPrefix = "streamgate:instance:"
)

// Heartbeat is what a data plane reports about itself.
type Heartbeat struct {
	ID      string `json:"id" redis:"id"`
	Host    string `json:"host" redis:"host"`
	PID     int    `json:"pid" redis:"pid"`
	TCPAddr string `json:"tcp_addr,omitempty" redis:"tcp_addr"`
	// AdminAddr is host:port where the instance's admin port answers, so
	// that the control plane can read its tap; a wildcard bind (:8080,
	// 0.0.0.0:8080, [::]:8080) is reported with an address of one of the
	// host's interfaces instead (AdvertiseAddr). AdminScheme is "http", or
	// "https" when the admin port serves TLS. Both are absent without an
	// admin port.
	AdminAddr   string `json:"admin_addr,omitempty" redis:"admin_addr"`
	AdminScheme string `json:"admin_scheme,omitempty" redis:"admin_scheme"`
	Started     int64  `json:"started_unix_ms" redis:"started"`
	Updated     int64  `json:"updated_unix_ms" redis:"updated"`
	Version     string `json:"version" redis:"version"`                     // applied manifest version, "" for the built-in default
	Rejected    string `json:"rejected_version,omitempty" redis:"rejected"` // version of the last manifest refused
	Error       string `json:"last_error,omitempty" redis:"error"`          // why it was refused
	Redis       string `json:"redis_status" redis:"redis"`                  // "connected" or the last Redis error

	Received uint64 `json:"received" redis:"received"`
	Emitted  uint64 `json:"emitted" redis:"emitted"`
	Filtered uint64 `json:"filtered" redis:"filtered"`
	Sampled  uint64 `json:"sampled" redis:"sampled"`
	Dropped  uint64 `json:"dropped" redis:"dropped"`
	Breaker  int    `json:"breaker_open_workers" redis:"breaker"`
	// EgressPII is what the egress audit found leaving: sampled lines
	// with personal data, once per detector and output.
	EgressPII uint64 `json:"egress_pii" redis:"egress_pii"`
	// DeadLettered is the lines outputs' destinations refused for good,
	// kept as dead letters; Replayed those a replay took out of them.
	DeadLettered uint64 `json:"dead_lettered" redis:"dead_lettered"`
	Replayed     uint64 `json:"dead_letter_replayed" redis:"dead_letter_replayed"`
	// IngestClosed says why the instance's ingest is closed at boot: it
	// found no valid manifest to run. "" once ingest is open.
	IngestClosed string `json:"ingest_closed,omitempty" redis:"ingest_closed"`
	// Outputs is what is queued for each output, in memory and on disk.
	Outputs OutputQueues `json:"outputs,omitempty" redis:"outputs,omitempty"`
	// Savings is what the rules saved, and would save with the shadow
	// manifest (savings.go).
	Savings *Savings `json:"savings,omitempty" redis:"savings,omitempty"`

	// The build the instance runs (package buildinfo).
	BuildVersion string `json:"build_version" redis:"build_version"`
	BuildCommit  string `json:"build_commit" redis:"build_commit"`
	GoVersion    string `json:"go_version" redis:"go_version"`
}

// OutputQueue is what is queued for one output of an instance: lines
// handed to it and not yet delivered, dead-lettered or dropped.
type OutputQueue struct {
	Name string `json:"name"`
	// Buffer is "memory" or "disk": where the output queues.
	Buffer string `json:"buffer"`
	// Lines are queued in memory and, with a disk buffer, on disk.
	Lines int64 `json:"queued_lines"`
	// MemoryBytes are the bytes of the batches queued in memory.
	MemoryBytes int64 `json:"memory_bytes"`
	// DiskBytes are the bytes on disk not yet delivered.
	DiskBytes int64 `json:"disk_bytes"`
	// OldestSeconds is the age of the oldest line on disk being delivered,
	// 0 when none is.
	OldestSeconds float64 `json:"oldest_line_age_seconds"`
	// LatencySeconds is how long the lines of the batch it delivered last
	// took from being read to delivered (its oldest line), 0 before any.
	LatencySeconds float64 `json:"latency_seconds"`
	// LatencyP50Seconds and LatencyP99Seconds are the median and the 99th
	// percentile of the same latency over the LatencyBatches batches it
	// delivered in the last minute, at most the last 512; 0 when it
	// delivered none.
	LatencyP50Seconds float64 `json:"latency_p50_seconds"`
	LatencyP99Seconds float64 `json:"latency_p99_seconds"`
	LatencyBatches    int     `json:"latency_window_batches"`
	// Delivered and Dropped are the output's totals of lines delivered,
	// and dropped for any reason, since the data plane started.
	Delivered uint64 `json:"delivered"`
	Dropped   uint64 `json:"dropped"`
}

// OutputQueues are stored in a heartbeat's hash as one JSON field.
type OutputQueues []OutputQueue

// MarshalBinary writes q as JSON, for HSet.
func (q OutputQueues) MarshalBinary() ([]byte, error) { return json.Marshal([]OutputQueue(q)) }

// ScanRedis reads what MarshalBinary wrote, for Scan.
func (q *OutputQueues) ScanRedis(s string) error {
	return json.Unmarshal([]byte(s), (*[]OutputQueue)(q))
}

// WriteHeartbeat stores hb with the given time to live and registers it in
// the fleet set.
func WriteHeartbeat(ctx context.Context, c redis.UniversalClient, hb *Heartbeat, ttl time.Duration) error {
	key := InstanceKeyPrefix + hb.ID
	// One round trip: the key is never left without its time to live by a
	// process that dies between two commands. Not a transaction, which
	// Redis Cluster would refuse: the two keys live in different slots.
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, hb)
		p.PExpire(ctx, key, ttl)
		p.ZAdd(ctx, FleetKey, redis.Z{Score: float64(hb.Updated), Member: hb.ID})
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot write heartbeat: %w", err)
	}
	return nil
}

// RemoveHeartbeat deletes hb's entry, for a clean shutdown.
func RemoveHeartbeat(ctx context.Context, c redis.UniversalClient, id string) error {
	return errors.Join(c.Del(ctx, InstanceKeyPrefix+id).Err(), c.ZRem(ctx, FleetKey, id).Err())
}

// ListFleet returns the instances whose heartbeat has not expired, sorted by
// id. It forgets instances whose heartbeat expired.
func ListFleet(ctx context.Context, c redis.UniversalClient) ([]Heartbeat, error) {
	ids, err := c.ZRange(ctx, FleetKey, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("cannot list fleet: %w", err)
	}
	out := make([]Heartbeat, 0, len(ids))
	for _, id := range ids {
		res := c.HGetAll(ctx, InstanceKeyPrefix+id)
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("cannot read heartbeat of %s: %w", id, err)
		}
		if len(res.Val()) == 0 { // expired
			c.ZRem(ctx, FleetKey, id)
			continue
		}
		var hb Heartbeat
		if err := res.Scan(&hb); err != nil {
			return nil, fmt.Errorf("cannot decode heartbeat of %s: %w", id, err)
		}
		out = append(out, hb)
	}
	return out, nil
}

package output

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaClientOpts returns the client options of the TLS and SASL fields of
// c (tls, tls_ca_file, tls_insecure_skip_verify, sasl_mechanism,
// sasl_username, sasl_password_file), as the kafka output uses them, for
// other Kafka clients of the data plane (the Kafka input). It reads the
// files c names; its errors name the field, never the password.
func KafkaClientOpts(c *Config) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	tlsCfg, err := kafkaTLS(c)
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	switch {
	case c.SASLMechanism == "":
		if c.SASLUsername != "" || c.SASLPasswordFile != "" {
			return nil, errors.New("sasl_mechanism: required with sasl_username and sasl_password_file")
		}
		return opts, nil
	case !slices.Contains(kafkaSASL, c.SASLMechanism):
		return nil, fmt.Errorf("sasl_mechanism: want one of %s; got %q", strings.Join(kafkaSASL, ", "), c.SASLMechanism)
	case c.SASLUsername == "":
		return nil, errors.New("sasl_username: required with sasl_mechanism")
	case c.SASLPasswordFile == "":
		return nil, errors.New("sasl_password_file: required with sasl_mechanism")
	}
	mech, err := kafkaMechanism(c)
	if err != nil {
		return nil, err
	}
	return append(opts, kgo.SASL(mech)), nil
}

package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	kg "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Auth holds how to reach secured Kafka brokers: TLS and SASL (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512). The zero value is plaintext without
// authentication.
type Auth struct {
	TLS  *tls.Config
	SASL sasl.Mechanism
}

// AuthOptions are the command-line form of Auth.
type AuthOptions struct {
	// TLS enables TLS; CAFile adds a PEM CA bundle to the system roots;
	// CertFile and KeyFile give a client certificate; Insecure skips
	// verification (tests only).
	TLS                       bool
	CAFile, CertFile, KeyFile string
	Insecure                  bool
	// SASL is "", "plain", "scram-sha-256" or "scram-sha-512"; User and
	// Password are its credentials (the password usually from an
	// environment variable, never a flag that shows in ps).
	SASL, User, Password string
}

// Build turns options into an Auth, with errors that name the option.
func (o AuthOptions) Build() (Auth, error) {
	var a Auth
	if o.TLS || o.CAFile != "" || o.CertFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return a, fmt.Errorf("kafka TLS CA file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return a, fmt.Errorf("kafka TLS CA file %s: no PEM certificate in it", o.CAFile)
			}
			cfg.RootCAs = pool
		}
		if (o.CertFile == "") != (o.KeyFile == "") {
			return a, fmt.Errorf("kafka TLS: a client certificate needs both the cert file and the key file")
		}
		if o.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
			if err != nil {
				return a, fmt.Errorf("kafka TLS client certificate: %w", err)
			}
			cfg.Certificates = []tls.Certificate{cert}
		}
		a.TLS = cfg
	}
	switch strings.ToLower(o.SASL) {
	case "":
		if o.User != "" {
			return a, fmt.Errorf("kafka SASL: a user is set but no mechanism (plain, scram-sha-256, scram-sha-512)")
		}
	case "plain":
		a.SASL = plain.Mechanism{Username: o.User, Password: o.Password}
	case "scram-sha-256", "scram-sha-512":
		algo := scram.SHA256
		if strings.HasSuffix(strings.ToLower(o.SASL), "512") {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, o.User, o.Password)
		if err != nil {
			return a, fmt.Errorf("kafka SASL %s: %w", o.SASL, err)
		}
		a.SASL = m
	default:
		return a, fmt.Errorf("kafka SASL mechanism %q: want plain, scram-sha-256 or scram-sha-512", o.SASL)
	}
	if a.SASL != nil && o.User == "" {
		return a, fmt.Errorf("kafka SASL %s: no user", o.SASL)
	}
	return a, nil
}

// Enabled reports whether a is anything but plaintext without
// authentication.
func (a Auth) Enabled() bool { return a.TLS != nil || a.SASL != nil }

// transport returns a kafka-go transport with the auth applied, for
// clients and writers.
func (a Auth) transport() *kg.Transport {
	return &kg.Transport{TLS: a.TLS, SASL: a.SASL, DialTimeout: 10 * time.Second, IdleTimeout: time.Minute, MetadataTTL: metadataTTL}
}

// dialer returns a kafka-go dialer with the auth applied, for consumer
// groups and connections.
func (a Auth) dialer() *kg.Dialer {
	return &kg.Dialer{TLS: a.TLS, SASLMechanism: a.SASL, Timeout: 10 * time.Second, DualStack: true}
}

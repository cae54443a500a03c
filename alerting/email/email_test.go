package email

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/flowwatch/flowwatch/alerting/sinktest"
)

const (
	user     = "alerts@flowwatch.test"
	password = "smtp-pass-Wz9!secret"
)

// mailServer is a real SMTP server (go-smtp) that offers STARTTLS with a certificate of
// its own CA, requires AUTH PLAIN over TLS, and keeps each message it accepts.
type mailServer struct {
	mu       sync.Mutex
	messages []*mail.Message
	bodies   []string
	refusals []*smtp.SMTPError
	tlsSeen  []bool
}

type session struct {
	srv  *mailServer
	conn *smtp.Conn
	auth bool
}

func (m *mailServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{srv: m, conn: c}, nil
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, pass string) error {
		if username != user || pass != password {
			return errors.New("invalid credentials")
		}
		s.auth = true
		return nil
	}), nil
}

func (s *session) Mail(string, *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if len(s.srv.refusals) > 0 {
		e := s.srv.refusals[0]
		s.srv.refusals = s.srv.refusals[1:]
		return e
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(b)))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "bad message"}
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "bad body"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.messages = append(s.srv.messages, msg)
	s.srv.bodies = append(s.srv.bodies, string(body))
	s.srv.tlsSeen = append(s.srv.tlsSeen, isTLS)
	return nil
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }

func (m *mailServer) texts() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	dec := new(mime.WordDecoder)
	for i, msg := range m.messages {
		subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
		out = append(out, subject+"\n"+m.bodies[i])
	}
	return out
}

func (m *mailServer) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, msg := range m.messages {
		out = append(out, msg.Header.Get(HeaderNotification))
	}
	return out
}

func (m *mailServer) refuse(transient bool, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := &smtp.SMTPError{Code: 550, Message: "mailbox unavailable"}
	if transient {
		e = &smtp.SMTPError{Code: 451, Message: "try again later"}
	}
	m.refusals = append(m.refusals, e)
}

// startServer starts the server on loopback and returns it, its address and the PEM file
// of the CA that signed its certificate.
func startServer(t *testing.T, implicit bool) (*mailServer, string, string, func()) {
	t.Helper()
	cert, caPEM := certificate(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mailServer{}
	s := smtp.NewServer(m)
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if implicit {
		l, err = tls.Listen("tcp", "127.0.0.1:0", s.TLSConfig)
	} else {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	var once sync.Once
	// Close the listener too: Close alone misses one that Serve has not taken yet.
	stop := func() { once.Do(func() { s.Close(); l.Close(); <-done }) }
	t.Cleanup(stop)
	return m, l.Addr().String(), caFile, stop
}

// certificate makes a CA and a server certificate for 127.0.0.1 signed by it.
func certificate(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	caCert, _ := x509.ParseCertificate(caDER)
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

func newSink(t *testing.T, addr, caFile, mode string) *Sink {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	s, err := New(Config{Host: host, Port: p, Username: user, Password: password,
		From: "flowwatch <" + user + ">", To: []string{"compliance@exchange.test"},
		TLS: mode, CACert: caFile, Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSinkSuite(t *testing.T) {
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) sinktest.Harness {
				m, addr, ca, stop := startServer(t, mode == TLSImplicit)
				return sinktest.Harness{Sink: newSink(t, addr, ca, mode), Texts: m.texts,
					Keys: m.keys, Refuse: m.refuse, Down: stop, Secrets: []string{password}}
			})
		})
	}
}

// TestOverTLSOnly: every message went over TLS, and a server whose certificate the sink
// does not trust is refused for good, the password never sent.
func TestOverTLSOnly(t *testing.T) {
	m, addr, ca, _ := startServer(t, false)
	s := newSink(t, addr, ca, TLSStartTLS)
	if _, err := s.Notify(t.Context(), sinktest.Alerts(1)...); err != nil {
		t.Fatal(err)
	}
	if len(m.tlsSeen) != 1 || !m.tlsSeen[0] {
		t.Fatalf("tls per message: %v", m.tlsSeen)
	}
	untrusted := newSink(t, addr, "", TLSStartTLS)
	retry, err := untrusted.Notify(t.Context(), sinktest.Alerts(1)...)
	if err == nil || retry || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted server: retry %v, err %v", retry, err)
	}
}

func TestConfig(t *testing.T) {
	ok := Config{Host: "smtp.example.com", Username: "u", Password: "p",
		From: "a@example.com", To: []string{"b@example.com"}}
	with := func(f func(c *Config)) Config { c := ok; f(&c); return c }
	tests := []struct {
		name    string
		give    Config
		wantErr string
	}{
		{"valid", ok, ""},
		{"no host", with(func(c *Config) { c.Host = "" }), "host: empty"},
		{"plain to a remote host", with(func(c *Config) { c.TLS = TLSNone }), "tls none"},
		{"plain to this host", with(func(c *Config) { c.TLS, c.Host = TLSNone, "127.0.0.1" }),
			""},
		{"bad tls", with(func(c *Config) { c.TLS = "ssl" }), "tls \"ssl\""},
		{"no password", with(func(c *Config) { c.Password = "" }), "password: empty"},
		{"no recipient", with(func(c *Config) { c.To = nil }), "to: empty"},
		{"bad recipient", with(func(c *Config) { c.To = []string{"x@"} }), "to[0]"},
		{"bad sender", with(func(c *Config) { c.From = "nobody" }), "from"},
		{"missing ca file", with(func(c *Config) { c.CACert = "/nonexistent.pem" }), "ca_cert"},
	}
	for _, tt := range tests {
		_, err := New(tt.give, nil)
		if (err == nil) != (tt.wantErr == "") || err != nil &&
			!strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.wantErr)
		}
	}
}

package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/internal/render"
)

var _ alerting.Notifier = (*Sink)(nil)

// Sink mails notifications through one SMTP server.
type Sink struct {
	cfg  Config
	tls  *tls.Config
	now  func() time.Time
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// HeaderNotification carries the notification's key.
const HeaderNotification = "X-Flowwatch-Notification"

// Message is the RFC 5322 message of a notification, sent at now.
func Message(from string, to []string, now time.Time, alerts []alerting.Alert) []byte {
	in := render.Incident(alerts)
	key := alerts[0].NotificationKey()
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", "[flowwatch] "+render.Headline(alerts)))
	h("Date", now.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+strings.ReplaceAll(key, ":", ".")+"@flowwatch>")
	h(HeaderNotification, key)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	var body strings.Builder
	fmt.Fprintf(&body, "%s\n\n%s\n\n", render.Headline(alerts), render.Summary(in))
	fmt.Fprintf(&body, "Source:       %s\nDestination:  %s\n", render.Party(in.Source),
		render.Party(in.Destination))
	fmt.Fprintf(&body, "Incident:     %s, notification %d (%s), %s\n\n", in.ID, in.Seq,
		in.Reason, in.Status)
	fmt.Fprintf(&body, "Alerts in this notification (%d):\n", len(alerts))
	for _, a := range alerts {
		fmt.Fprintf(&body, "- %s\n", render.AlertLine(a))
		if u := render.Explorer(a, a.Tx); u != "" {
			fmt.Fprintf(&body, "  %s\n", u)
		}
	}
	_, _ = qp.Write([]byte(strings.ReplaceAll(body.String(), "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// Notify implements alerting.Notifier: one message per notification, to every recipient.
func (s *Sink) Notify(ctx context.Context, alerts ...alerting.Alert) (bool, error) {
	if len(alerts) == 0 {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	key := alerts[0].NotificationKey()
	retry, err := s.send(ctx, Message(s.cfg.From, s.cfg.To, s.now(), alerts))
	if err != nil {
		err = fmt.Errorf("mail notification %s via %s: %s", key, s.addr(),
			strings.ReplaceAll(err.Error(), s.cfg.Password, "<redacted>"))
	}
	return retry, err
}

func (s *Sink) addr() string { return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)) }

// send delivers msg; retry says a failure may pass.
func (s *Sink) send(ctx context.Context, msg []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	conn, err := s.dial(ctx, "tcp", s.addr())
	if err != nil {
		return true, err
	}
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if s.cfg.TLS == TLSImplicit {
		conn = tls.Client(conn, s.tls)
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return classify(err)
	}
	defer c.Close()
	if s.cfg.TLS == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return false, errors.New("the server does not offer STARTTLS")
		}
		if err := c.StartTLS(s.tls); err != nil {
			return classify(err)
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password,
			s.cfg.Host)); err != nil {
			return classify(err)
		}
	}
	if err := c.Mail(address(s.cfg.From)); err != nil {
		return classify(err)
	}
	for _, to := range s.cfg.To {
		if err := c.Rcpt(address(to)); err != nil {
			return classify(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify(err)
	}
	if _, err := w.Write(msg); err != nil {
		return classify(err)
	}
	if err := w.Close(); err != nil {
		return classify(err)
	}
	_ = c.Quit()
	return false, nil
}

// classify says whether an SMTP exchange's error may pass: a 4xx reply or a broken
// connection may; a 5xx reply (and a failed TLS handshake, which is configuration) won't.
func classify(err error) (bool, error) {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 400 && te.Code < 500, err
	}
	var re tls.RecordHeaderError
	var ce *tls.CertificateVerificationError
	if errors.As(err, &re) || errors.As(err, &ce) {
		return false, err
	}
	return true, err
}

// address is the bare address of "Name <addr>" or of an address.
func address(s string) string {
	if i, j := strings.LastIndex(s, "<"), strings.LastIndex(s, ">"); i >= 0 && j > i {
		return s[i+1 : j]
	}
	return strings.TrimSpace(s)
}

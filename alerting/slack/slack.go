package slack

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/flowwatch/flowwatch/alerting"
	"github.com/flowwatch/flowwatch/alerting/internal/post"
	"github.com/flowwatch/flowwatch/alerting/internal/render"
)

var _ alerting.Notifier = (*Sink)(nil)

// MaxAlertsShown bounds the alerts a message lists (Slack allows 50 blocks); the rest are
// counted.
const MaxAlertsShown = 10

// Sink posts notifications to one incoming webhook.
type Sink struct {
	url    string
	client *http.Client
}

// Message is the JSON an incoming webhook takes.
type Message struct {
	Text   string  `json:"text"` // the notification's fallback (and push) text
	Blocks []Block `json:"blocks"`
}

// Block is a Block Kit block (header, section, context, divider).
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a Block Kit text object.
type Text struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

func mrkdwn(s string) Text { return Text{Type: "mrkdwn", Text: s} }

// NewMessage is the message of a notification.
func NewMessage(alerts []alerting.Alert) Message {
	in := render.Incident(alerts)
	icon := map[string]string{"critical": ":rotating_light:", "high": ":red_circle:",
		"medium": ":large_orange_circle:"}[in.Severity]
	if in.Status == alerting.StatusRetracted {
		icon = ":leftwards_arrow_with_hook:"
	}
	head := render.Headline(alerts)
	m := Message{Text: head, Blocks: []Block{
		{Type: "header", Text: &Text{Type: "plain_text", Text: render.Trim(head, 150)}},
		{Type: "section", Fields: []Text{
			mrkdwn("*Source*\n" + escape(render.Party(in.Source))),
			mrkdwn("*Destination*\n" + escape(render.Party(in.Destination))),
			mrkdwn("*Watched funds*\n" + escape(render.Totals(in))),
			mrkdwn(fmt.Sprintf("*Alerts*\n%d in force, %d retracted, up to %d hop(s)",
				in.Alerts, in.Retracted, in.MaxHops)),
		}},
	}}
	if icon != "" {
		m.Text = icon + " " + m.Text
	}
	for i, a := range alerts {
		if i == MaxAlertsShown {
			m.Blocks = append(m.Blocks, Block{Type: "context", Elements: []Text{mrkdwn(
				fmt.Sprintf("…and %d more alert(s) in this notification",
					len(alerts)-MaxAlertsShown))}})
			break
		}
		m.Blocks = append(m.Blocks, Block{Type: "section", Text: ptr(mrkdwn(alertText(a)))})
	}
	ctx := fmt.Sprintf("incident %s · notification %d · %s · chain %s", in.ID, in.Seq,
		in.Status, in.Chain)
	m.Blocks = append(m.Blocks, Block{Type: "context", Elements: []Text{mrkdwn(ctx)}})
	return m
}

func ptr(t Text) *Text { return &t }

// alertText is an alert in mrkdwn: its line with the transaction linked.
func alertText(a alerting.Alert) string {
	line := escape(render.AlertLine(a))
	if u := render.Explorer(a, a.Tx); u != "" {
		line = strings.Replace(line, a.Tx, "<"+u+"|"+a.Tx+">", 1)
	}
	return line
}

// escape keeps Slack from reading &, < and > as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Notify implements alerting.Notifier: one message per notification.
func (s *Sink) Notify(ctx context.Context, alerts ...alerting.Alert) (bool, error) {
	if len(alerts) == 0 {
		return false, nil
	}
	m := NewMessage(alerts)
	return post.JSON(ctx, s.client, s.url, &m, nil,
		"slack message "+alerts[0].NotificationKey())
}

package alerting

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// State is where an alert is in its life.
type State string

// Alert states.
const (
	// StateProvisional: seen below the chain's confirmations (early warning).
	StateProvisional State = "provisional"
	// StateConfirmed: the movement has the chain's confirmations.
	StateConfirmed State = "confirmed"
	// StateRetracted: a reorg removed the movement.
	StateRetracted State = "retracted"
)

// Party is one end of an alert's flow.
type Party struct {
	Address  string `json:"address"`
	Entity   string `json:"entity,omitempty"`
	Category string `json:"category,omitempty"`
	List     string `json:"list,omitempty"`
	// Evidence is, for a label inferred from behaviour (an exchange's deposit address),
	// the transaction that showed it.
	Evidence string `json:"evidence,omitempty"`
}

// Hop is one step of the path from the source to the destination.
type Hop struct {
	Block    uint64 `json:"block"`
	Tx       string `json:"tx"`
	Position string `json:"position"`
	From     string `json:"from"`
	To       string `json:"to"`
	Asset    string `json:"asset"`
	Amount   string `json:"amount"` // base units, decimal
	// TaintedAmount is the part of Amount that is watched funds under the rule's model,
	// when that is not all of it (haircut, FIFO); empty: all of it.
	TaintedAmount string `json:"tainted_amount,omitempty"`
}

// Alert says that watched funds reached a destination.
type Alert struct {
	ID          string    `json:"id"` // stable for (rule, chain, tx, position)
	Rule        string    `json:"rule"`
	Severity    string    `json:"severity"`
	State       State     `json:"state"`
	Chain       string    `json:"chain"`
	Block       uint64    `json:"block"`
	BlockHash   string    `json:"block_hash"`
	Time        time.Time `json:"time"`
	Tx          string    `json:"tx"`
	Position    string    `json:"position"`
	Source      Party     `json:"source"`
	Destination Party     `json:"destination"`
	Asset       string    `json:"asset"`
	Amount      string    `json:"amount"` // base units, decimal
	// TaintedAmount is the part of Amount that is watched funds, when the rule's taint
	// model (haircut, FIFO) says it is not all of it.
	TaintedAmount string `json:"tainted_amount,omitempty"`
	Path          []Hop  `json:"path"`
	Explorer      string `json:"explorer,omitempty"` // link to the transaction
	// ToChain is, for a bridge deposit whose log names it, the destination chain's id
	// (EIP-155 for EVM chains), where the funds are to be looked for next.
	ToChain string `json:"to_chain,omitempty"`
	// Note says, for an alert about flowwatch itself (a chain's pipeline falling behind),
	// what happened, in words.
	Note string `json:"note,omitempty"`
	// Incident is, in a notification, the incident the alert belongs to (the same for
	// every alert of the notification); nil in the alert log.
	Incident *Incident `json:"incident,omitempty"`
}

// NotificationKey identifies a notification to its receivers (a webhook's
// Idempotency-Key): the incident and the notification's number in it; without an
// incident, the alert's DedupKey.
func (a *Alert) NotificationKey() string {
	if a.Incident == nil {
		return a.DedupKey()
	}
	return a.Incident.ID + ":" + strconv.Itoa(a.Incident.Seq)
}

// AlertID returns the stable id of the alert a rule raises on a movement.
func AlertID(rule, chain, tx, position string) string {
	h := sha256.Sum256([]byte(rule + "\x00" + chain + "\x00" + tx + "\x00" + position))
	return hex.EncodeToString(h[:12])
}

// DedupKey identifies one notification: an alert in one state, for the movement in one
// block. A redelivered movement has the same key; a transaction that a reorg orphaned and
// the new branch mined again is in another block, so its new confirmation is a
// notification of its own (with the same alert ID, so receivers can relate them).
func (a *Alert) DedupKey() string { return a.ID + ":" + string(a.State) + ":" + a.BlockHash }

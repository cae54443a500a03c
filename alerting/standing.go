package alerting

// Standing is where one alert stands, from its notifications taken in the order they were
// logged: the blocks (by hash) where it was raised and not retracted since, each with its
// state there, provisional or confirmed. A reorg can raise an alert in several blocks (its
// movement mined again in another; a scout's early warning on a fork the node then left),
// and a retraction takes back only the alert raised in the block it names, whenever it
// comes: a retraction of an orphaned block's alert may come after the alert was raised or
// confirmed in another (from a process started after a kill, which retracts the early
// warnings its predecessor left in blocks no longer on the chain). The alert is in force
// while any block's stands. The zero value stands nowhere. Not safe for concurrent use.
type Standing map[string]State

// Note takes a notification of the alert into account.
func (s *Standing) Note(a *Alert) {
	if a.State == StateRetracted {
		delete(*s, a.BlockHash)
		return
	}
	if *s == nil {
		*s = Standing{}
	}
	(*s)[a.BlockHash] = a.State
}

// State is the alert's state: confirmed if it is confirmed in a block where it stands,
// else provisional if it stands anywhere, else retracted.
func (s Standing) State() State {
	st := StateRetracted
	for _, v := range s {
		if v == StateConfirmed {
			return v
		}
		st = v
	}
	return st
}

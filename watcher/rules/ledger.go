package rules

import "math/big"

// Lot is a run of value that arrived together: watched funds or clean. A FIFO queue is a
// list of lots in the order the value arrived; adjacent lots of one kind are merged.
type Lot struct {
	Amount  *big.Int
	Tainted bool
}

// Holding is what a tracked address on an account chain holds of one asset, as far as
// flowwatch saw value arrive and leave since the address was first tainted (value it held
// before is not known: it is counted as absent, which errs toward more taint).
type Holding struct {
	Asset string
	// Balance and Tainted are the haircut model's: what the address holds and the part of
	// it that is watched funds.
	Balance, Tainted *big.Int
	// Lots is the FIFO model's queue.
	Lots []Lot
}

// The functions below never change their arguments' amounts: taint read from a View may be
// shared (the worker caches it), so every result is built from new values.

// appendLots returns q with lots appended, merging adjacent lots of one kind and leaving
// out empty ones.
func appendLots(q []Lot, lots ...Lot) []Lot {
	out := make([]Lot, len(q), len(q)+len(lots))
	copy(out, q)
	for _, l := range lots {
		if l.Amount == nil || l.Amount.Sign() <= 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Tainted == l.Tainted {
			out[n-1].Amount = new(big.Int).Add(out[n-1].Amount, l.Amount)
			continue
		}
		out = append(out, Lot{Amount: new(big.Int).Set(l.Amount), Tainted: l.Tainted})
	}
	return out
}

// takeLots takes amount from the front of q: what is taken, in order, and what is left. A
// queue that holds less than amount gives the rest as clean value (value the address held
// before it was followed, or fees' rounding).
func takeLots(q []Lot, amount *big.Int) (taken, rest []Lot) {
	need := new(big.Int).Set(amount)
	i := 0
	for ; i < len(q) && need.Sign() > 0; i++ {
		l := q[i]
		if l.Amount.Cmp(need) <= 0 {
			taken = appendLots(taken, l)
			need.Sub(need, l.Amount)
			continue
		}
		taken = appendLots(taken, Lot{Amount: need, Tainted: l.Tainted})
		rest = appendLots(nil, Lot{Amount: new(big.Int).Sub(l.Amount, need),
			Tainted: l.Tainted})
		return taken, appendLots(rest, q[i+1:]...)
	}
	if need.Sign() > 0 {
		taken = appendLots(taken, Lot{Amount: need})
	}
	return taken, appendLots(nil, q[i:]...)
}

// taintedIn sums the tainted lots.
func taintedIn(lots []Lot) *big.Int {
	sum := new(big.Int)
	for _, l := range lots {
		if l.Tainted {
			sum.Add(sum, l.Amount)
		}
	}
	return sum
}

// holding returns the holding of asset in t, if any.
func (t *Taint) holding(asset string) (Holding, bool) {
	for _, h := range t.Holdings {
		if h.Asset == asset {
			return h, true
		}
	}
	return Holding{}, false
}

// withHolding returns a copy of t whose holding of h.Asset is h.
func (t Taint) withHolding(h Holding) Taint {
	hs := make([]Holding, 0, len(t.Holdings)+1)
	replaced := false
	for _, old := range t.Holdings {
		if old.Asset == h.Asset {
			old, replaced = h, true
		}
		hs = append(hs, old)
	}
	if !replaced {
		hs = append(hs, h)
	}
	t.Holdings = hs
	return t
}

// spend is what leaving a holding carries under model: the tainted part of amount and, for
// FIFO, the lots taken, and the holding that is left.
func spend(model string, h Holding, amount *big.Int) (tainted *big.Int, lots []Lot,
	left Holding) {
	if amount.Sign() <= 0 {
		return new(big.Int), nil, h
	}
	left = Holding{Asset: h.Asset}
	switch model {
	case ModelHaircut:
		// tainted = amount × T / B; a holding that saw less arrive than leaves gives up all
		// its tainted value (the rest was held before it was followed).
		balance, held := orZero(h.Balance), orZero(h.Tainted)
		denominator := balance
		if denominator.Cmp(amount) < 0 {
			denominator = amount
		}
		tainted = new(big.Int).Mul(amount, held)
		tainted.Quo(tainted, denominator)
		left.Tainted = new(big.Int).Sub(held, tainted)
		left.Balance = new(big.Int).Sub(balance, amount)
		if left.Balance.Sign() < 0 {
			left.Balance.SetInt64(0)
		}
		if left.Tainted.Cmp(left.Balance) > 0 {
			left.Tainted.Set(left.Balance)
		}
	case ModelFIFO:
		lots, left.Lots = takeLots(h.Lots, amount)
		tainted = taintedIn(lots)
	default:
		tainted = new(big.Int).Set(amount)
	}
	return tainted, lots, left
}

// receive returns h after amount arrived of which tainted is watched funds (lots for FIFO).
func receive(model string, h Holding, amount, tainted *big.Int, lots []Lot) Holding {
	switch model {
	case ModelHaircut:
		h.Balance = new(big.Int).Add(orZero(h.Balance), amount)
		h.Tainted = new(big.Int).Add(orZero(h.Tainted), orZero(tainted))
	case ModelFIFO:
		h.Lots = appendLots(h.Lots, lots...)
	}
	return h
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return x
}

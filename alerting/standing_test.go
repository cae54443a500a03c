package alerting

import "testing"

func TestStanding(t *testing.T) {
	n := func(state State, block string) Alert { return Alert{State: state, BlockHash: block} }
	tests := []struct {
		name string
		give []Alert
		want State
	}{
		{"none", nil, StateRetracted},
		{"raised", []Alert{n(StateProvisional, "b1")}, StateProvisional},
		{"confirmed in the same block", []Alert{n(StateProvisional, "b1"),
			n(StateConfirmed, "b1")}, StateConfirmed},
		{"retracted from its block", []Alert{n(StateConfirmed, "b1"),
			n(StateRetracted, "b1")}, StateRetracted},
		{"a late retraction from an orphaned block", []Alert{n(StateProvisional, "b1"),
			n(StateConfirmed, "b2"), n(StateRetracted, "b1")}, StateConfirmed},
		{"an early warning on a fork, retracted", []Alert{n(StateConfirmed, "b1"),
			n(StateProvisional, "b2"), n(StateRetracted, "b2")}, StateConfirmed},
		{"a provisional one stands where the confirmed one was retracted", []Alert{
			n(StateConfirmed, "b1"), n(StateProvisional, "b2"), n(StateRetracted, "b1")},
			StateProvisional},
		{"a retraction of a block never raised in", []Alert{n(StateConfirmed, "b1"),
			n(StateRetracted, "b9")}, StateConfirmed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Standing
			for i := range tt.give {
				s.Note(&tt.give[i])
			}
			if got := s.State(); got != tt.want {
				t.Fatalf("State() = %s, want %s (%v)", got, tt.want, s)
			}
		})
	}
}

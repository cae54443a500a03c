package evict

import "testing"

func TestQueue(t *testing.T) {
	var q Queue[string]
	if _, _, _, ok := q.Oldest(); ok {
		t.Fatal("an empty queue has an oldest record")
	}
	stamps := map[string]int64{}
	for i, k := range []string{"a", "b", "a", "c"} {
		stamps[k] = q.Touch(k, int64(10*i))
	}
	// The table drops what is older than 15: "a" (stamp 1) was touched again, so it stays.
	var dropped []string
	for {
		k, when, stamp, ok := q.Oldest()
		if !ok || when >= 15 {
			break
		}
		q.Pop()
		if stamps[k] == stamp {
			dropped = append(dropped, k)
		}
	}
	if len(dropped) != 1 || dropped[0] != "b" {
		t.Fatalf("dropped %v, want [b]", dropped)
	}
	for range 3000 { // compaction keeps the order
		q.Touch("x", 100)
		q.Pop()
	}
	if k, when, _, ok := q.Oldest(); !ok || k != "x" || when != 100 {
		t.Fatalf("oldest %q at %d, %v", k, when, ok)
	}
}

package evict

// Queue is the touch order of a table's keys, oldest first. The zero value is empty and
// ready to use.
type Queue[K comparable] struct {
	records []record[K] // from head on
	head    int
	seq     int64
}

type record[K comparable] struct {
	key   K
	when  int64
	stamp int64
}

// Touch records that key was touched at when (any clock that only goes forward, e.g. Unix
// seconds) and returns the stamp to keep with the entry.
func (q *Queue[K]) Touch(key K, when int64) int64 {
	q.seq++
	q.records = append(q.records, record[K]{key: key, when: when, stamp: q.seq})
	return q.seq
}

// Oldest returns the oldest record: its key, when it was touched and its stamp; ok is
// false when there is none.
func (q *Queue[K]) Oldest() (key K, when, stamp int64, ok bool) {
	if q.head >= len(q.records) {
		return key, 0, 0, false
	}
	r := q.records[q.head]
	return r.key, r.when, r.stamp, true
}

// Pop removes the oldest record.
func (q *Queue[K]) Pop() {
	if q.head >= len(q.records) {
		return
	}
	q.records[q.head] = record[K]{}
	q.head++
	if q.head > len(q.records)/2 && q.head > 1024 { // compact
		n := copy(q.records, q.records[q.head:])
		clear(q.records[n:])
		q.records = q.records[:n]
		q.head = 0
	}
}

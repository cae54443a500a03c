package seqindex

// ChunkSize is how many records a Queue allocates at a time.
const ChunkSize = 4096

// Queue holds records in the order they were pushed, oldest first, numbered by a sequence
// number that only grows, in chunks of ChunkSize. The chunks are reused as the oldest
// records leave, so a queue in steady state allocates nothing; a record reused keeps what
// it held (its amounts' storage, say) for the caller to reset. The zero value is empty and
// ready to use, numbering its first record 0.
type Queue[T any] struct {
	chunks []*[ChunkSize]T
	spare  *[ChunkSize]T // a chunk the head left, for the tail's next
	base   uint64        // the sequence number of chunks[0][0]
	head   uint64        // the oldest record's sequence number
	tail   uint64        // the next record's
}

// StartAt numbers the next record seq; the queue must be empty and never used (tests start
// near 2^SeqBits).
func (q *Queue[T]) StartAt(seq uint64) { q.base, q.head, q.tail = seq, seq, seq }

// Head is the oldest record's sequence number (Tail if there is none).
func (q *Queue[T]) Head() uint64 { return q.head }

// Tail is the sequence number the next record pushed will have.
func (q *Queue[T]) Tail() uint64 { return q.tail }

// Len is how many records the queue holds.
func (q *Queue[T]) Len() int { return int(q.tail - q.head) }

// Chunks is how many chunks the queue holds.
func (q *Queue[T]) Chunks() int { return len(q.chunks) }

// At is the record with sequence number seq, which must be in [Head, Tail). The pointer
// stays valid until the record leaves.
func (q *Queue[T]) At(seq uint64) *T {
	i := seq - q.base
	return &q.chunks[i/ChunkSize][i%ChunkSize]
}

// Allocated says whether the queue's chunks hold room for sequence number seq (at least
// Head): whether At may read it, past Tail, as what a push will reuse.
func (q *Queue[T]) Allocated(seq uint64) bool {
	return seq-q.base < uint64(len(q.chunks))*ChunkSize
}

// Push adds a record at the tail and returns it, with its sequence number; it holds what
// it held when it last left the queue, or the zero T.
func (q *Queue[T]) Push() (*T, uint64) {
	if !q.Allocated(q.tail) {
		c := q.spare
		if q.spare = nil; c == nil {
			c = new([ChunkSize]T)
		}
		q.chunks = append(q.chunks, c)
	}
	seq := q.tail
	q.tail++
	return q.At(seq), seq
}

// Pop removes the oldest record, which must exist; a chunk it leaves becomes the spare.
func (q *Queue[T]) Pop() {
	q.head++
	if q.head-q.base == ChunkSize {
		q.spare = q.chunks[0]
		q.chunks[0] = nil
		q.chunks = q.chunks[1:]
		q.base += ChunkSize
	}
}

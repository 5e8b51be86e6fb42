package worker

import "math/rand/v2"

// idSource hands out random non-zero 64-bit ids to one collector, under
// its lock: every tracked tuple's edge, and from a source of their own, a
// spout task's tuple tree roots (which are never XOR-ed, and whose place
// in their sequence seqOf recovers for the pending table). It is
// SplitMix64 over a counter that starts at a random point: one add and
// two multiplies per id, where the shared generator (randomID) costs a
// ChaCha8 block every 32 ids and a per-thread lookup every id. Its
// outputs are a bijection of the counter, so one source never repeats an
// id within 2^64 of them, and the mixing leaves no linear relation
// between them that could make the XOR of a tree's ids zero before its
// time. Storm likewise draws ids from a generator per executor.
//
// The zero idSource is ready: it starts at a random point at its first id.
type idSource struct {
	state uint64
}

// next returns the next id, never 0.
func (s *idSource) next() uint64 {
	if s.state == 0 {
		s.state = rand.Uint64()
	}
	for {
		s.state += 0x9e3779b97f4a7c15
		z := s.state
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		if z ^= z >> 31; z != 0 {
			return z
		}
	}
}

// seqOf returns where id comes in the sequence of the idSource that gave
// it, plus an offset that is the same for every id of that source: the
// next id of the source has seqOf(id)+1 (but past the one skipped 0). It
// undoes next's mixing, then its step.
func seqOf(id uint64) uint64 {
	z := id ^ id>>31 ^ id>>62
	z *= 0x319642b2d24d8ec3 // the inverse of 0x94d049bb133111eb
	z ^= z>>27 ^ z>>54
	z *= 0x96de1b173f119089 // the inverse of 0xbf58476d1ce4e5b9
	z ^= z>>30 ^ z>>60
	return z * 0xf1de83e19937733d // the inverse of the step
}

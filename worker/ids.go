package worker

import "math/rand/v2"

// idSource hands out random non-zero 64-bit ids to one collector, under
// its lock: a tuple tree's root and every tracked tuple's edge. It is
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

package shell

import (
	"math/rand/v2"
	"strconv"
)

// tupleIDs hands out the ids of the tuples a bolt writes to its children:
// random-looking signed 64-bit numbers in decimal, as Storm sends them.
// The n-th id is splitmix64's n-th output for a random seed: its state
// steps through every uint64 value once (the step is odd) and its mixing
// is a bijection, so ids do not repeat for 2^64 deliveries, and an id
// turns back into its n without a lookup (seq). The zero value is ready
// to use; it is not safe for concurrent use.
type tupleIDs struct {
	seeded bool
	seed   uint64
	// issued counts the ids handed out.
	issued uint64
}

// splitmix64's step, the multipliers of its mixing, and their inverses
// modulo 2^64.
const (
	idStep    = 0x9e3779b97f4a7c15
	idStepInv = 0xf1de83e19937733d
	idMul1    = 0xbf58476d1ce4e5b9
	idMul1Inv = 0x96de1b173f119089
	idMul2    = 0x94d049bb133111eb
	idMul2Inv = 0x319642b2d24d8ec3
)

// next returns a fresh id and its sequence number.
func (g *tupleIDs) next() (id string, seq uint64) {
	if !g.seeded {
		g.seed, g.seeded = rand.Uint64(), true
	}
	seq = g.issued
	g.issued++
	z := g.seed + seq*idStep
	z = (z ^ z>>30) * idMul1
	z = (z ^ z>>27) * idMul2
	return strconv.FormatInt(int64(z^z>>31), 10), seq
}

// seq returns the sequence number of an id next returned, and false for
// any string that is not one.
func (g *tupleIDs) seq(id string) (uint64, bool) {
	v, err := strconv.ParseInt(id, 10, 64)
	if err != nil || !g.seeded {
		return 0, false
	}
	z := uint64(v)
	z ^= z>>31 ^ z>>62
	z *= idMul2Inv
	z ^= z>>27 ^ z>>54
	z *= idMul1Inv
	z ^= z>>30 ^ z>>60
	seq := (z - g.seed) * idStepInv
	return seq, seq < g.issued
}

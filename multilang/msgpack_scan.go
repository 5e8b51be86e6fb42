package multilang

import (
	"encoding/binary"
	"fmt"
)

// MessagePack format bytes (https://github.com/msgpack/msgpack/blob/master/spec.md).
const (
	mpNil      = 0xc0
	mpNever    = 0xc1
	mpFalse    = 0xc2
	mpTrue     = 0xc3
	mpBin8     = 0xc4
	mpBin16    = 0xc5
	mpBin32    = 0xc6
	mpExt8     = 0xc7
	mpExt16    = 0xc8
	mpExt32    = 0xc9
	mpFloat32  = 0xca
	mpFloat64  = 0xcb
	mpUint8    = 0xcc
	mpUint16   = 0xcd
	mpUint32   = 0xce
	mpUint64   = 0xcf
	mpInt8     = 0xd0
	mpInt16    = 0xd1
	mpInt32    = 0xd2
	mpInt64    = 0xd3
	mpFixExt1  = 0xd4
	mpFixExt16 = 0xd8
	mpStr8     = 0xd9
	mpStr16    = 0xda
	mpStr32    = 0xdb
	mpArray16  = 0xdc
	mpArray32  = 0xdd
	mpMap16    = 0xde
	mpMap32    = 0xdf
)

// mpMaxDepth bounds the nesting of a MessagePack message: the message map
// and its tuple array, then values as deep as the JSON codec allows.
const mpMaxDepth = maxDepth + 2

// mpHeaderSize returns the size of the header that starts with c: the
// format byte and the bytes holding a length, an extension type or a
// scalar's value. It returns 0 for the byte that is never used.
func mpHeaderSize(c byte) int {
	switch {
	case c <= 0xbf || c >= 0xe0:
		return 1 // fixint, fixmap, fixarray, fixstr, negative fixint
	case c == mpNever:
		return 0
	case c <= mpTrue:
		return 1
	}
	switch c {
	case mpBin8, mpUint8, mpInt8, mpStr8:
		return 2
	case mpBin16, mpUint16, mpInt16, mpStr16, mpArray16, mpMap16, mpExt8:
		return 3
	case mpExt16:
		return 4
	case mpBin32, mpFloat32, mpUint32, mpInt32, mpStr32, mpArray32, mpMap32:
		return 5
	case mpExt32:
		return 6
	case mpFloat64, mpUint64, mpInt64:
		return 9
	}
	return 2 // fixext: format byte and type
}

// mpHeader describes a complete header: how many elements follow it (maps
// count keys and values) and how many payload bytes (strings, binaries,
// extensions).
func mpHeader(h []byte) (elements, payload uint64) {
	c := h[0]
	switch {
	case c >= 0x80 && c <= 0x8f:
		return 2 * uint64(c&0x0f), 0
	case c >= 0x90 && c <= 0x9f:
		return uint64(c & 0x0f), 0
	case c >= 0xa0 && c <= 0xbf:
		return 0, uint64(c & 0x1f)
	}
	switch c {
	case mpBin8, mpStr8:
		return 0, uint64(h[1])
	case mpBin16, mpStr16:
		return 0, uint64(binary.BigEndian.Uint16(h[1:]))
	case mpBin32, mpStr32:
		return 0, uint64(binary.BigEndian.Uint32(h[1:]))
	case mpExt8:
		return 0, uint64(h[1])
	case mpExt16:
		return 0, uint64(binary.BigEndian.Uint16(h[1:]))
	case mpExt32:
		return 0, uint64(binary.BigEndian.Uint32(h[1:]))
	case mpArray16:
		return uint64(binary.BigEndian.Uint16(h[1:])), 0
	case mpArray32:
		return uint64(binary.BigEndian.Uint32(h[1:])), 0
	case mpMap16:
		return 2 * uint64(binary.BigEndian.Uint16(h[1:])), 0
	case mpMap32:
		return 2 * uint64(binary.BigEndian.Uint32(h[1:])), 0
	}
	if c >= mpFixExt1 && c <= mpFixExt16 {
		return 0, 1 << (c - mpFixExt1)
	}
	return 0, 0
}

// mpScanner finds where one MessagePack value ends in a stream that
// arrives in pieces, without decoding it and with memory bounded whatever
// the value claims: it keeps one counter per open container, up to
// mpMaxDepth, and merges deeper ones into the innermost kept counter.
type mpScanner struct {
	// open holds, for each open container (outermost first), how many of
	// its elements are still to come, the one in progress included. It
	// starts as [1]: the message itself.
	open []uint64
	// hdr holds a header split across pieces; hdrLen bytes of hdrNeed.
	hdr     [9]byte
	hdrLen  int
	hdrNeed int
	// payload counts the bytes of a string, binary or extension still to pass.
	payload uint64
	// tooDeep is set when containers nested deeper than mpMaxDepth.
	tooDeep bool
}

func (s *mpScanner) reset() {
	s.open = append(s.open[:0], 1)
	s.hdrLen, s.hdrNeed, s.payload, s.tooDeep = 0, 0, 0, false
}

// feed scans the next piece of the stream. It returns how many bytes of p
// belong to the value and whether the value ended with them.
func (s *mpScanner) feed(p []byte) (used int, done bool, err error) {
	i := 0
	for i < len(p) {
		if s.payload > 0 {
			n := uint64(len(p) - i)
			if n > s.payload {
				n = s.payload
			}
			i += int(n)
			s.payload -= n
			if s.payload == 0 && s.elementDone() {
				return i, true, nil
			}
			continue
		}
		if s.hdrNeed == 0 {
			s.hdrNeed = mpHeaderSize(p[i])
			if s.hdrNeed == 0 {
				return i + 1, false, fmt.Errorf("byte 0x%02x is not MessagePack", p[i])
			}
			s.hdrLen = 0
		}
		for s.hdrLen < s.hdrNeed && i < len(p) {
			s.hdr[s.hdrLen] = p[i]
			s.hdrLen++
			i++
		}
		if s.hdrLen < s.hdrNeed {
			break
		}
		s.hdrNeed = 0
		elements, payload := mpHeader(s.hdr[:s.hdrLen])
		switch {
		case payload > 0:
			s.payload = payload
		case elements > 0:
			if len(s.open) > mpMaxDepth {
				s.tooDeep = true
				s.open[len(s.open)-1] += elements - 1 // its elements replace it
			} else {
				s.open = append(s.open, elements)
			}
		default:
			if s.elementDone() {
				return i, true, nil
			}
		}
	}
	return i, false, nil
}

// elementDone counts an element as complete, closing the containers it
// completes, and reports whether that completed the whole value.
func (s *mpScanner) elementDone() bool {
	for len(s.open) > 0 {
		top := len(s.open) - 1
		s.open[top]--
		if s.open[top] > 0 {
			return false
		}
		s.open = s.open[:top]
	}
	return true
}

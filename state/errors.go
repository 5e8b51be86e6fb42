package state

import "errors"

// Sentinel errors. Operations wrap them with context; test with errors.Is.
var (
	// ErrStaleTxid: a prepare or commit names a transaction that is not
	// newer than the last committed one (a commit of exactly the last
	// committed transaction, with nothing prepared, is a no-op instead).
	ErrStaleTxid = errors.New("transaction id is not newer than the last committed one")
	// ErrOtherPrepared: a prepare names a transaction while another one is
	// prepared and neither committed nor rolled back. Storm allows only one
	// transaction in flight.
	ErrOtherPrepared = errors.New("another transaction is prepared")
	// ErrNotPrepared: a commit names a transaction that is not the prepared
	// one (or nothing is prepared).
	ErrNotPrepared = errors.New("transaction is not prepared")
	// ErrEmptyKey: keys must have at least one byte.
	ErrEmptyKey = errors.New("empty key")
	// ErrKeyTooLarge: a key is longer than MaxKeyBytes.
	ErrKeyTooLarge = errors.New("key too large")
	// ErrValueTooLarge: a value is longer than MaxValueBytes.
	ErrValueTooLarge = errors.New("value too large")
	// ErrClosed: the state or its store was closed.
	ErrClosed = errors.New("state closed")
	// ErrUnknownProvider: topology.state.provider names no provider squall
	// has.
	ErrUnknownProvider = errors.New("unknown state provider")
	// ErrBadProviderConfig: topology.state.provider.config does not fit
	// the provider.
	ErrBadProviderConfig = errors.New("bad state provider config")
)

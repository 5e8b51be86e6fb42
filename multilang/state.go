package multilang

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The state extension (squall's): a stateful bolt's child reads and writes
// its task's state through the host with these commands.
const (
	// C->H: read keys; the host answers with state_values.
	CmdStateGet = "state_get"
	// C->H: write key-values; no reply.
	CmdStatePut = "state_put"
	// C->H: delete keys; no reply.
	CmdStateDelete = "state_delete"
	// C->H: list the whole state; H->C: one part of the answer, in
	// replies that say "more" until the last.
	CmdStateItems = "state_items"
	// H->C: the answer to state_get.
	CmdStateValues = "state_values"
	// H->C: the state was rolled back; the child empties its cache.
	CmdStateReset = "state_reset"
)

// Limits of the state extension. A key is at most MaxStateKeyBytes of
// canonical JSON text (the embedded backend's limit), a value at most
// MaxStateValueBytes of JSON text (the default message cap, so that any
// stored value can be sent back).
const (
	MaxStateKeyBytes   = 32 << 10
	MaxStateValueBytes = 16 << 20
)

// StateItem is one key-value of the state extension, as the host stores
// it: Key is the key's canonical JSON text (so the string "1" and the
// number 1 are different keys), Value the value's JSON text.
type StateItem struct {
	Key   string
	Value []byte
}

// isStateCommand reports whether cmd is a state command a child sends.
func isStateCommand(cmd string) bool {
	switch cmd {
	case CmdStateGet, CmdStatePut, CmdStateDelete, CmdStateItems:
		return true
	}
	return false
}

// ReservedStateKey reports whether key (canonical JSON text) is a string
// starting with a 0 byte: such keys are squall's own, never a child's.
func ReservedStateKey(key string) bool { return strings.HasPrefix(key, `"\u0000`) }

// stateFields fills a state command's Keys or Items from the decoded
// values of its "keys" and "items" fields (nil when absent), checking them.
// Other commands' keys and items are ignored: they are not squall's.
func stateFields(m *Message, keys, items any, sawKeys, sawItems bool) error {
	var err error
	switch m.Command {
	case CmdStateGet, CmdStateDelete:
		if !sawKeys || keys == nil {
			return fmt.Errorf("%s needs keys, a list of keys", m.Command)
		}
		m.Keys, err = stateKeys(keys, m.Command)
	case CmdStatePut:
		if !sawItems || items == nil {
			return fmt.Errorf("%s needs items, a list of [key, value] pairs", m.Command)
		}
		m.Items, err = stateItems(items, m.Command)
	}
	return err
}

func stateKeys(v any, cmd string) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: keys must be a list of keys", cmd)
	}
	keys := make([]string, len(list))
	for i, k := range list {
		var err error
		if keys[i], err = CanonicalKey(k); err != nil {
			return nil, fmt.Errorf("%s: keys[%d]: %w", cmd, i, err)
		}
	}
	return keys, nil
}

func stateItems(v any, cmd string) ([]StateItem, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: items must be a list of [key, value] pairs", cmd)
	}
	items := make([]StateItem, len(list))
	for i, e := range list {
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("%s: items[%d] must be a [key, value] pair", cmd, i)
		}
		key, err := CanonicalKey(pair[0])
		if err != nil {
			return nil, fmt.Errorf("%s: items[%d] key: %w", cmd, i, err)
		}
		value, err := StateValue(pair[1])
		if err != nil {
			return nil, fmt.Errorf("%s: items[%d] value for key %s: %w", cmd, i, clipKey(key), err)
		}
		items[i] = StateItem{Key: key, Value: value}
	}
	return items, nil
}

// clipKey shortens a key for an error message.
func clipKey(key string) string {
	if len(key) <= 40 {
		return key
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut] + "..."
}

// CanonicalKey returns the canonical JSON text of a state key: a string
// as the codec writes strings, an integer in decimal, a float that holds
// an integer as that integer (as 1.0 and 1 are one key in Python), other
// floats in their shortest form, a boolean as true or false. Other values
// (null, lists, maps, binaries) are not keys.
func CanonicalKey(v any) (string, error) {
	var text string
	switch x := v.(type) {
	case string:
		if plainASCII(x) {
			text = `"` + x + `"` // the usual key: nothing to escape
			break
		}
		if !utf8.ValidString(x) {
			return "", fmt.Errorf("%w: key %s is not valid UTF-8", ErrUnencodable, Snippet([]byte(x)))
		}
		b, err := jsonAPI.Marshal(x)
		if err != nil {
			return "", err
		}
		text = string(b)
	case int64:
		text = strconv.FormatInt(x, 10)
	case int:
		text = strconv.Itoa(x)
	case uint64:
		text = strconv.FormatUint(x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("a key must be a JSON number, not %v", x)
		}
		switch abs := math.Abs(x); {
		case x == 0:
			text = "0" // -0 too
		case x == math.Trunc(x) && abs < 1e21:
			text = strconv.FormatFloat(x, 'f', -1, 64)
		case abs < 1e-6 || abs >= 1e21:
			text = strconv.FormatFloat(x, 'e', -1, 64)
		default:
			text = strconv.FormatFloat(x, 'f', -1, 64)
		}
	case bool:
		text = strconv.FormatBool(x)
	case nil:
		return "", errors.New("a key must be a string, number or boolean, not null")
	default:
		return "", fmt.Errorf("a key must be a string, number or boolean, not %s", kindOf(v))
	}
	if len(text) > MaxStateKeyBytes {
		return "", fmt.Errorf("key of %d bytes, longer than the limit of %d bytes", len(text), MaxStateKeyBytes)
	}
	return text, nil
}

// plainASCII reports whether s is printable ASCII with no quote or
// backslash: its JSON text is itself in quotes.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case []byte:
		return "a binary"
	}
	return fmt.Sprintf("%T", v)
}

// StateValue returns the JSON text a state value is stored as. MessagePack
// binaries become base64 strings, as when sent to a JSON child.
func StateValue(v any) ([]byte, error) {
	s := jsonAPI.BorrowStream(nil)
	defer jsonAPI.ReturnStream(s)
	if err := writeValue(s, v, 0); err != nil {
		return nil, err
	}
	if s.Error != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnencodable, s.Error)
	}
	if n := len(s.Buffer()); n > MaxStateValueBytes {
		return nil, fmt.Errorf("value of %d bytes, longer than the limit of %d bytes", n, MaxStateValueBytes)
	}
	return append([]byte(nil), s.Buffer()...), nil
}

// checkStateItems checks that the keys and values a host is about to send
// are JSON text: they are written as they are.
func checkStateItems(items []StateItem) error {
	for i, it := range items {
		if !json.Valid([]byte(it.Key)) {
			return fmt.Errorf("%w: items[%d] key %s is not JSON text", ErrUnencodable, i, Snippet([]byte(it.Key)))
		}
		if !json.Valid(it.Value) {
			return fmt.Errorf("%w: items[%d] value of key %s is not JSON text", ErrUnencodable, i, clipKey(it.Key))
		}
	}
	return nil
}

// hostStateFields fills a state reply's Items, More and TxID from the
// decoded values of its fields, as a child reads them.
func hostStateFields(m *HostMessage, items any) error {
	switch m.Command {
	case CmdStateValues, CmdStateItems:
		if items == nil {
			return fmt.Errorf("%s needs items, a list of [key, value] pairs", m.Command)
		}
		var err error
		m.Items, err = stateItems(items, m.Command)
		return err
	}
	return nil
}

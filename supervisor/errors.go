package supervisor

import "errors"

// Errors returned (wrapped) by the supervisor; test for them with errors.Is.
var (
	// ErrInvalidConfig means a Config field is out of range; the error
	// names the field.
	ErrInvalidConfig = errors.New("invalid supervisor config")

	// ErrRunning means Run was called on a Supervisor that already ran.
	ErrRunning = errors.New("supervisor already ran")

	// ErrNoLeader means no nimbus leads, so no package can be downloaded.
	ErrNoLeader = errors.New("no nimbus leader")

	// ErrPackageRefused means a topology package was refused for good: it
	// is not a safe archive (see tarball.ErrUnsafe, also wrapped), is larger
	// than Config.MaxPackageBytes, or its manifest does not match the
	// topology. The supervisor does not download the same digest again; it
	// reports the refusal to the topology's errors.
	ErrPackageRefused = errors.New("package refused")
)

package e2e

// The tests run a squall binary TestMain builds, which go test's cache
// cannot see: without this import a change anywhere in squall would leave
// a cached pass of this package standing. Importing the command's package
// makes every package the binary is built from part of the cache key.
import _ "github.com/squallstream/squall/cmd/squall/cli"

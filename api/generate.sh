#!/bin/sh
# Regenerates the Go code of the squall.v1 API from api/squall/v1/*.proto:
#   api/nimbus.pb.go        messages          (protoc-gen-go)
#   api/nimbus_grpc.pb.go   gRPC service      (protoc-gen-go-grpc)
#   api/nimbus.pb.gw.go     REST gateway      (protoc-gen-grpc-gateway, mapping in api/gateway.yaml)
# and of the DRPC API from api/squall/drpc/v1/drpc.proto into api/drpcpb/
# (messages and gRPC services; DRPC's HTTP forms are plain handlers in drpc/).
#
# Needs protoc with its well-known types (Debian: apt-get install -y
# protobuf-compiler; the committed code was made with libprotoc 3.21.12).
# The plugins are installed at the pinned versions below from the Go module
# proxy into a cache directory, so PATH and GOPATH/bin do not matter.
#
# Run from anywhere: api/generate.sh (or: go generate ./api).
set -eu

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
PROTOC_GEN_GRPC_GATEWAY_VERSION=v2.31.0

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bin=${SQUALL_PROTOC_PLUGINS:-${XDG_CACHE_HOME:-$HOME/.cache}/squall/protoc-plugins}/go-$PROTOC_GEN_GO_VERSION-grpc-$PROTOC_GEN_GO_GRPC_VERSION-gw-$PROTOC_GEN_GRPC_GATEWAY_VERSION
if [ ! -x "$bin/protoc-gen-grpc-gateway" ]; then
	mkdir -p "$bin"
	# Outside the module, so the installs neither read nor touch go.mod.
	(cd / && GOBIN="$bin" GOFLAGS=-mod=mod go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION")
	(cd / && GOBIN="$bin" GOFLAGS=-mod=mod go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION")
	(cd / && GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$PROTOC_GEN_GRPC_GATEWAY_VERSION")
fi

protoc \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
	--plugin=protoc-gen-grpc-gateway="$bin/protoc-gen-grpc-gateway" \
	-I api \
	--go_out=. --go_opt=module=github.com/squallstream/squall \
	--go-grpc_out=. --go-grpc_opt=module=github.com/squallstream/squall \
	--grpc-gateway_out=. --grpc-gateway_opt=module=github.com/squallstream/squall \
	--grpc-gateway_opt=grpc_api_configuration=api/gateway.yaml \
	api/squall/v1/nimbus.proto

protoc \
	--plugin=protoc-gen-go="$bin/protoc-gen-go" \
	--plugin=protoc-gen-go-grpc="$bin/protoc-gen-go-grpc" \
	-I api \
	--go_out=. --go_opt=module=github.com/squallstream/squall \
	--go-grpc_out=. --go-grpc_opt=module=github.com/squallstream/squall \
	api/squall/drpc/v1/drpc.proto

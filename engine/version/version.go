// Package version carries the build's version, set at link time:
//
//	go build -ldflags "-X github.com/strata-dev/strata/engine/version.Version=v0.2.0"
package version

// Version of this build. `dev` builds report v0.0.0-dev.
var Version = "v0.0.0-dev"

// ServerType is what /v1/version reports as server_type. Hasura reports
// "ce" for the community edition; Strata has no enterprise features to gate.
const ServerType = "ce"

// Package version carries the build's version, set at link time:
//
//	go build -ldflags "-X github.com/strata-dev/strata/engine/version.Version=v0.2.0"
package version

// Version of this build. `dev` builds report v0.0.0-dev.
var Version = "v0.0.0-dev"

// Hasura is the Hasura GraphQL Engine release whose behaviour Strata
// follows (its tests are our conformance suite), and the version
// /v1/version and /v1alpha1/config report. Clients read that field to
// decide what the server can do: the Hasura CLI, for one, treats a server
// older than v1.2 as having no actions and no cron triggers, and would
// then leave them out of `metadata apply` and `export` (and fail `metadata
// diff`). Strata's own version is reported beside it, as strata_version.
const Hasura = "v2.48.16"

// ServerType is what /v1/version reports as server_type. Hasura reports
// "ce" for the community edition; Strata has no enterprise features to gate.
const ServerType = "ce"

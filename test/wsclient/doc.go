// Package wsclient tests the engine's GraphQL websocket with a real
// third-party client: the graphql-ws npm library (graphql-transport-ws),
// which is what browser and Node apps of Hasura use. client.mjs drives it
// under Node; the tests start a real engine on a real Postgres, feed the
// script operations and check what the library reports.
//
// Node and npm are needed: the tests skip without them. package.json and
// package-lock.json pin the library and its peers; the first test run
// installs them with `npm ci` (the npm registry is the only network used).
package wsclient

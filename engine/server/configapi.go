package server

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"

	"github.com/strata-dev/strata/engine/aeson"
	"github.com/strata-dev/strata/engine/config"
	"github.com/strata-dev/strata/engine/version"
)

// serverConfigResponse is Hasura v2's ServerConfig (Server/API/Config.hs),
// the answer of GET /v1alpha1/config, in its field order.
type serverConfigResponse struct {
	Version                          string             `json:"version"`
	IsFunctionPermissionsInferred    bool               `json:"is_function_permissions_inferred"`
	IsRemoteSchemaPermissionsEnabled bool               `json:"is_remote_schema_permissions_enabled"`
	IsAdminSecretSet                 bool               `json:"is_admin_secret_set"`
	IsAuthHookSet                    bool               `json:"is_auth_hook_set"`
	IsJWTSet                         bool               `json:"is_jwt_set"`
	JWT                              []jwtInfo          `json:"jwt"`
	IsAllowListEnabled               bool               `json:"is_allow_list_enabled"`
	LiveQueries                      subscriptionConfig `json:"live_queries"`
	StreamingQueries                 subscriptionConfig `json:"streaming_queries"`
	ConsoleAssetsDir                 *string            `json:"console_assets_dir"`
	ExperimentalFeatures             []string           `json:"experimental_features"`
	IsPrometheusMetricsEnabled       bool               `json:"is_prometheus_metrics_enabled"`
	DefaultNamingConvention          string             `json:"default_naming_convention"`
	FeatureFlags                     []featureFlag      `json:"feature_flags"`
	IsApolloFederationEnabled        bool               `json:"is_apollo_federation_enabled"`
}

// jwtInfo is Hasura's JWTInfo: where the claims are and how they are
// encoded; never a key.
type jwtInfo struct {
	ClaimsNamespace string          `json:"claims_namespace"`
	ClaimsFormat    string          `json:"claims_format"`
	ClaimsMap       json.RawMessage `json:"claims_map"`
}

// subscriptionConfig is Hasura's SubscriptionsOptions: refetch_delay is in
// seconds (the setting is in milliseconds).
type subscriptionConfig struct {
	BatchSize    int     `json:"batch_size"`
	RefetchDelay float64 `json:"refetch_delay"`
}

type featureFlag struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Enabled     bool   `json:"enabled"`
}

// Hasura CE's feature flags (Server/Init/FeatureFlag.hs). Strata acts on
// none of them, so each is reported off whatever HASURA_FF_* says.
var ceFeatureFlags = []featureFlag{
	{Name: "test-flag", Description: "Testing feature flag integration"},
	{Name: "naming-convention-sep-2023", Description: "The changes to the naming-convention feature that were added in September 2023"},
}

const defaultClaimsNamespace = "https://hasura.io/jwt/claims"

func serverConfigBody(c *config.Config) []byte {
	jwts := jwtInfos(c)
	features := append([]string{}, c.ExperimentalFeatures...)
	resp := serverConfigResponse{
		Version: version.Hasura,
		// Hasura's defaults, which Strata has no settings to change:
		// function permissions are inferred, remote schemas (which Strata
		// does not serve) have no permissions, names are hasura-default.
		IsFunctionPermissionsInferred:    true,
		IsRemoteSchemaPermissionsEnabled: false,
		IsAdminSecretSet:                 len(c.AdminSecrets) > 0,
		IsAuthHookSet:                    c.AuthHook != "",
		IsJWTSet:                         len(jwts) > 0,
		JWT:                              jwts,
		IsAllowListEnabled:               c.EnableAllowlist,
		LiveQueries:                      subscriptionConfig{c.LiveQueriesBatchSize, seconds(c.LiveQueriesRefetchInterval)},
		StreamingQueries:                 subscriptionConfig{c.StreamingQueriesBatchSize, seconds(c.StreamingQueriesRefetchInterval)},
		ConsoleAssetsDir:                 nil, // Strata serves no console
		ExperimentalFeatures:             features,
		IsPrometheusMetricsEnabled:       c.EnabledAPI(config.APIMetrics),
		DefaultNamingConvention:          "hasura-default",
		FeatureFlags:                     ceFeatureFlags,
		// Hasura turns federation on with the apollo_federation
		// experimental feature (or its own setting, which Strata lacks).
		IsApolloFederationEnabled: slices.Contains(features, "apollo_federation"),
	}
	b, err := aeson.Marshal(resp)
	if err != nil {
		panic("server: config response: " + err.Error()) // plain data; cannot fail
	}
	return b
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// jwtInfos reads the claims settings of HASURA_GRAPHQL_JWT_SECRET and each
// element of HASURA_GRAPHQL_JWT_SECRETS, duplicates dropped as the auth
// resolver (and Hasura) drops them. The auth resolver has validated them
// by the time the server is built.
func jwtInfos(c *config.Config) []jwtInfo {
	var raws []string
	if c.JWTSecret != "" {
		raws = append(raws, c.JWTSecret)
	}
	raws = append(raws, c.JWTSecrets...)
	out := []jwtInfo{}
	seen := map[string]bool{}
	for _, raw := range raws {
		if seen[raw] {
			continue
		}
		seen[raw] = true
		var j struct {
			Namespace     string          `json:"claims_namespace"`
			NamespacePath string          `json:"claims_namespace_path"`
			Format        string          `json:"claims_format"`
			Map           json.RawMessage `json:"claims_map"`
		}
		if err := json.Unmarshal([]byte(raw), &j); err != nil {
			continue
		}
		info := jwtInfo{ClaimsNamespace: defaultClaimsNamespace, ClaimsFormat: "json", ClaimsMap: json.RawMessage("null")}
		if m := bytes.TrimSpace(j.Map); len(m) > 0 && !bytes.Equal(m, []byte("null")) {
			// With a claims map Hasura reports the default namespace and
			// format, and the map (keys sorted, as aeson's are).
			var claims map[string]json.RawMessage
			if json.Unmarshal(m, &claims) == nil {
				if b, err := aeson.Marshal(claims); err == nil {
					info.ClaimsMap = b
				}
			}
		} else {
			switch {
			case j.NamespacePath != "":
				info.ClaimsNamespace = j.NamespacePath
			case j.Namespace != "":
				info.ClaimsNamespace = j.Namespace
			}
			if j.Format != "" {
				info.ClaimsFormat = j.Format
			}
		}
		out = append(out, info)
	}
	return out
}

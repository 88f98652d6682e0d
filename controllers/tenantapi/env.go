package tenantapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Region is a cloud and a region a tenant may be created in.
type Region struct{ Cloud, Region string }

func (r Region) String() string { return r.Cloud + "/" + r.Region }

var regionPartRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ParseRegions reads "aws/us-east-1,gcp/europe-west1".
func ParseRegions(s string) ([]Region, error) {
	var out []Region
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		cloud, region, ok := strings.Cut(part, "/")
		if !ok || !regionPartRE.MatchString(cloud) || !regionPartRE.MatchString(region) {
			return nil, fmt.Errorf("invalid region %q: want cloud/region, e.g. aws/us-east-1", part)
		}
		out = append(out, Region{cloud, region})
	}
	return out, nil
}

// checkRegion accepts a cloud and region that are listed; an empty list
// accepts any well-formed pair (they are only recorded).
func checkRegion(allowed []Region, cloud, region string) error {
	if !regionPartRE.MatchString(cloud) || !regionPartRE.MatchString(region) {
		return errorf(CodeValidation, "invalid cloud %q or region %q: use lowercase letters, digits and '-'", cloud, region)
	}
	if len(allowed) == 0 {
		return nil
	}
	names := make([]string, len(allowed))
	for i, r := range allowed {
		if r.Cloud == cloud && r.Region == region {
			return nil
		}
		names[i] = r.String()
	}
	return errorf(CodeValidation, "region %s/%s is not offered; available: %s", cloud, region, strings.Join(names, ", "))
}

// Environment variables of a tenant.

const (
	envAdminSecret = "HASURA_GRAPHQL_ADMIN_SECRET"
)

// reservedEnv are set by the operator from the tenant's own resources; a
// tenant setting them would cut its engine off its database or port.
var reservedEnv = map[string]string{
	"HASURA_GRAPHQL_METADATA_DATABASE_URL": "the operator wires the tenant's own database",
	"HASURA_GRAPHQL_SERVER_PORT":           "the engine's port is fixed",
}

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,252}$`)

func checkEnvKey(key string) error {
	if !envKeyRE.MatchString(key) {
		return errorf(CodeValidation, "invalid env name %q: use letters, digits and '_', not starting with a digit", key)
	}
	if why, ok := reservedEnv[key]; ok {
		return errorf(CodeValidation, "%s cannot be set: %s", key, why)
	}
	return nil
}

// envArg reads a [UpdateEnvsObject] argument: nulls are skipped, a key
// given twice takes its last value.
func envArg(v any) (map[string]string, error) {
	out := map[string]string{}
	list, _ := v.([]any)
	if m, ok := v.(map[string]any); ok {
		list = []any{m} // a single object stands for a list of one
	}
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		key, _ := m["key"].(string)
		value, _ := m["value"].(string)
		if err := checkEnvKey(key); err != nil {
			return nil, err
		}
		if key == envAdminSecret && value == "" {
			return nil, errorf(CodeValidation, "%s cannot be empty", envAdminSecret)
		}
		out[key] = value
	}
	return out, nil
}

// envHash is the digest of an env: the same variables and values give the
// same hash whatever their order. Each key and value is length-prefixed so
// no two envs share an encoding.
func envHash(env map[string][]byte) string {
	keys := sortedKeys(env)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s=%d:", len(k), k, len(env[k]))
		h.Write(env[k])
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// envVars is the env as getTenantEnv shows it: [{key, value}] by key.
func envVars(env map[string][]byte) []any {
	out := make([]any, 0, len(env))
	for _, k := range sortedKeys(env) {
		out = append(out, map[string]string{"key": k, "value": string(env[k])})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

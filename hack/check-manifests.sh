#!/usr/bin/env bash
# Checks that the install manifests render: `kustomize build config/default`
# (what `kubectl apply -k config/default` applies) and `helm lint` plus
# `helm template` of charts/strata. The tools are pinned and built once
# through the Go module proxy into bin/tools (no other network needed).
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.22.0
KUSTOMIZE_VERSION=v5.7.1 # v5.8 needs Go 1.27
TOOLS="$PWD/bin/tools"

install() { # name module version
  local bin="$TOOLS/$1"
  if [[ -x "$bin" && "$(cat "$bin.version" 2>/dev/null)" == "$3" ]]; then return; fi
  echo "building $1 $3 into bin/tools (once)" >&2
  GOBIN="$TOOLS" GOFLAGS=-trimpath go install "$2@$3"
  echo "$3" > "$bin.version"
}
install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
install kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$TOOLS/kustomize" build config/default > "$out/kustomize.yaml"
"$TOOLS/helm" lint --strict charts/strata > "$out/lint.txt" || { cat "$out/lint.txt"; exit 1; }
"$TOOLS/helm" template strata charts/strata --namespace strata-system --include-crds > "$out/helm.yaml"
"$TOOLS/helm" template strata charts/strata --set tenantAPI.enabled=true,replicas=2 > /dev/null
# Both installs must carry the three CRDs and the operator Deployment.
for f in kustomize helm; do
  for kind in CustomResourceDefinition Deployment ClusterRole; do
    grep -q "^kind: $kind" "$out/$f.yaml" || { echo "$f output has no $kind" >&2; exit 1; }
  done
done
crds=$(grep -c '^kind: CustomResourceDefinition' "$out/kustomize.yaml")
[[ "$crds" == 3 ]] || { echo "kustomize renders $crds CRDs, want 3" >&2; exit 1; }
echo "manifests: kustomize build config/default and helm lint/template charts/strata OK"

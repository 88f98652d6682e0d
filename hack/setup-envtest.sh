#!/usr/bin/env bash
# setup-envtest.sh: print the directory holding kube-apiserver and etcd for
# envtest (the value for KUBEBUILDER_ASSETS).
#
# There is no network here but the package registries, so the usual
# setup-envtest download cannot work. Instead:
#   1. KUBEBUILDER_ASSETS, if set and complete, is used as is;
#   2. else the binaries are built from source through the Go module proxy
#      into bin/k8s/ (cached: a present, truthful binary is never rebuilt).
#
# kube-apiserver: a scratch module requiring k8s.io/kubernetes with a replace
# line for every staging module kubernetes' own go.mod points at ./staging.
# etcd: a tiny main around etcdmain.Main.
#
# Progress goes to stderr; stdout carries only the assets directory.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${ENVTEST_BIN_DIR:-$root/bin/k8s}"

log() { echo "setup-envtest: $*" >&2; }

if [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "${KUBEBUILDER_ASSETS}/kube-apiserver" && -x "${KUBEBUILDER_ASSETS}/etcd" ]]; then
  echo "${KUBEBUILDER_ASSETS}"
  exit 0
fi

mkdir -p "$out"
work="$root/bin/.envtest-build"
mkdir -p "$work"

# Builds share the module cache; keep the toolchain the repo uses.
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=local

build_apiserver() {
  local want="Kubernetes ${K8S_VERSION}"
  if [[ -x "$out/kube-apiserver" ]] && [[ "$("$out/kube-apiserver" --version 2>/dev/null)" == "$want" ]]; then
    return 0
  fi
  log "building kube-apiserver ${K8S_VERSION} from source (first time only, ~10 min on 2 cores)"
  local dir="$work/kube-apiserver"
  rm -rf "$dir" && mkdir -p "$dir"
  (
    cd "$dir"
    go mod init strata.local/envtest-apiserver >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@${K8S_VERSION}"
    local gomod
    gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
    [[ -f "$gomod" ]] || { log "could not locate go.mod of k8s.io/kubernetes@${K8S_VERSION}"; exit 1; }
    local staging="v0.${K8S_VERSION#v1.}"
    # Every "k8s.io/<name> => ./staging/..." line becomes a replace onto the
    # published staging module of the matching v0 version.
    grep -E '^[[:space:]]*k8s\.io/[^[:space:]]+[[:space:]]+=>[[:space:]]+\./staging/' "$gomod" \
      | awk '{print $1}' | sort -u | while read -r mod; do
          go mod edit -replace="${mod}=${mod}@${staging}"
        done
    cat > tools.go <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
    go mod tidy -e >/dev/null 2>&1 || true
    go build -tags tools -trimpath \
      -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${K8S_VERSION#v1.}" \
      -o "$out/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  )
  mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
}

build_etcd() {
  # Capture first: with pipefail, `etcd --version | grep -q` fails when
  # grep exits early and etcd gets SIGPIPE, forcing a needless rebuild.
  local have=""
  [[ -x "$out/etcd" ]] && have="$("$out/etcd" --version 2>/dev/null || true)"
  if [[ "$have" == *"etcd Version: ${ETCD_VERSION#v}"* ]]; then
    return 0
  fi
  log "building etcd ${ETCD_VERSION} from source (first time only)"
  local dir="$work/etcd"
  rm -rf "$dir" && mkdir -p "$dir"
  (
    cd "$dir"
    go mod init strata.local/envtest-etcd >/dev/null 2>&1
    cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
    go mod edit -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
    go mod tidy >/dev/null
    go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" .
  )
  mv "$out/etcd.tmp" "$out/etcd"
}

build_etcd
build_apiserver
echo "$out"

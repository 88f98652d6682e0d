#!/usr/bin/env bash
# install-postgres.sh: make sure Debian's PostgreSQL server binaries and
# PostGIS are present, installing them with apt when they are not. Tests
# start throwaway servers from these binaries (engine/pglocal).
set -euo pipefail

have_pg() {
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
have_postgis() {
  compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null
}

if have_pg && have_postgis; then
  exit 0
fi

pkgs=(postgresql)
# PostGIS must match the server's major version; Debian 12 ships 15.
major=15
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  major=$(ls /usr/lib/postgresql | sort -n | tail -n1)
fi
have_postgis || pkgs+=("postgresql-${major}-postgis-3")

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-postgres: need root or sudo to apt-get install ${pkgs[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-postgres: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# Do not start a cluster: tests run their own servers.
$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
have_pg || { echo "install-postgres: initdb still not found after install" >&2; exit 1; }

#!/usr/bin/env bash
# install-postgres.sh: make sure Debian's PostgreSQL server binaries and
# PostGIS are present, installing them with apt when they are not, and that
# the en_US.UTF-8 locale exists (Hasura's conformance setups run
# SET lc_monetary TO "en_US.utf-8", which Postgres checks against the OS's
# locales). Tests start throwaway servers from these binaries (engine/pglocal).
set -euo pipefail

have_locale() {
  # A here-string, not a pipe: with pipefail, grep -q exiting early could
  # fail the pipeline.
  grep -qix 'en_US\.utf-\?8' <<<"$(locale -a 2>/dev/null)"
}

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
fi

ensure_locale() {
  have_locale && return 0
  if [[ -n "$sudo" ]] && ! command -v sudo >/dev/null; then
    echo "install-postgres: need root or sudo to generate the en_US.UTF-8 locale" >&2
    return 1
  fi
  echo "install-postgres: generating the en_US.UTF-8 locale" >&2
  if [[ ! -f /etc/locale.gen ]] || ! command -v locale-gen >/dev/null; then
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends locales >&2
  fi
  if grep -q '^# *en_US.UTF-8 UTF-8' /etc/locale.gen; then
    $sudo sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
  elif ! grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen; then
    echo 'en_US.UTF-8 UTF-8' | $sudo tee -a /etc/locale.gen >/dev/null
  fi
  $sudo locale-gen >&2
}

have_pg() {
  command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}
have_postgis() {
  compgen -G "/usr/share/postgresql/*/extension/postgis.control" >/dev/null
}

# Only the conformance corpus needs the locale: never fail `make run` on it.
ensure_locale || echo "install-postgres: warning: en_US.UTF-8 locale missing; some conformance setups will fail" >&2

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

if [[ -n "$sudo" ]] && ! command -v sudo >/dev/null; then
  echo "install-postgres: need root or sudo to apt-get install ${pkgs[*]}" >&2
  exit 1
fi
echo "install-postgres: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# Do not start a cluster: tests run their own servers.
$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
have_pg || { echo "install-postgres: initdb still not found after install" >&2; exit 1; }

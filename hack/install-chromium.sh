#!/usr/bin/env bash
# install-chromium.sh: make sure Debian's headless-capable Chromium is at
# /usr/bin/chromium, installing it with apt when it is not. The console's
# browser test (test/console) drives it through the DevTools protocol; the
# Makefile's unit target sets STRATA_REQUIRE_CHROMIUM=1 so that test fails
# rather than skips when this did not work.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo=sudo
  if ! command -v sudo >/dev/null; then
    echo "install-chromium: need root or sudo to apt-get install chromium" >&2
    exit 1
  fi
fi

echo "install-chromium: installing chromium" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
[[ -x /usr/bin/chromium ]] || { echo "install-chromium: /usr/bin/chromium still missing after install" >&2; exit 1; }

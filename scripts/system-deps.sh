#!/usr/bin/env bash
# Installs the system packages the harness needs and pip cannot provide: Debian's Chromium for the
# E2E suite and Debian's Prometheus for the local watch phase (the binary only: the Debian service is
# never started; the local target runs its own on a loopback port). Idempotent; quiet when all is present.
set -euo pipefail
missing=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if [ ! -x /usr/bin/prometheus ]; then missing+=(prometheus); fi
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: no apt-get here; install ${missing[*]} yourself (e2e / watch will be inconclusive without them)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "system-deps: installing Debian's ${missing[*]} (e2e suite, local watch phase)"
$SUDO apt-get update -qq
# policy-rc.d 101: the package's own prometheus service must not start (nor be started) on install.
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=""
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod +x "$POLICY"
  ADDED_POLICY=1
fi
trap '[ -n "$ADDED_POLICY" ] && $SUDO rm -f "$POLICY"' EXIT
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# pretest: makes sure the system services some specs start on loopback are installed.
# Installs them with apt-get when it can (root on Debian/Ubuntu); otherwise fails naming the package.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
{ command -v apache2 >/dev/null 2>&1 || [ -x /usr/sbin/apache2 ]; } || need+=(apache2)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v python3 >/dev/null 2>&1 || need+=(python3)
[ ${#need[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "provision: installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # apt and debconf talk on stderr even when all goes well (no apt-utils, no terminal for a dialog):
  # their output is kept aside and shown only when the install fails.
  log="${TMPDIR:-/tmp}/httplib2-ts-provision.$$.log"
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "provision: apt-get could not install ${need[*]} (its output is above)" >&2
    exit 1
  fi
  rm -f "$log"
  # The packages' own services are not wanted: the specs start their own on free loopback ports.
  for svc in redis-server apache2; do service "$svc" stop >/dev/null 2>&1 || true; done
  exit 0
fi
echo "provision: the specs need these Debian packages, which are missing: ${need[*]}" >&2
echo "provision: install them (apt-get install ${need[*]}) and run npm test again" >&2
exit 1

#!/usr/bin/env bash
# ensure-tools.sh <command>...: makes sure the worker's stream tools (zstd, age, age-keygen), or
# check:docker's docker-compose, are on PATH. Missing ones are installed from the distribution's
# packages when that is possible without asking (root with apt-get); otherwise the script names the
# command that installs them and fails.
set -euo pipefail
package_of() { case "$1" in age-keygen) echo age ;; *) echo "$1" ;; esac; }

missing=()
for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$(package_of "$tool")"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${packages[*]} (apt-get)..." >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >&2
  exit 0
fi
echo "${packages[*]} not found: install them (Debian/Ubuntu: sudo apt-get install ${packages[*]}; Fedora: sudo dnf install ${packages[*]}; macOS: brew install ${packages[*]})" >&2
exit 1

# Sourced by the bench scripts, after `set -euo pipefail`: the repository's
# root as the working folder (`$ROOT`), and none of the caller's MXID_*
# settings (an admin token, strict auth), which would change what is sent
# and answered, or refuse a script's own admin calls.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
for v in $(compgen -e | grep '^MXID_' || true); do unset "$v"; done

# Stops the script unless every tool named is on the PATH.
require() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool is required" >&2; exit 1; }
  done
}

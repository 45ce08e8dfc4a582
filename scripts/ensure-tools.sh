# shellcheck shell=bash
# scripts/ensure-tools.sh — tools the tests run as child processes (sourced, not run).
#
# testbed/kit/tests/samcat_tokio.rs fetches files with curl through samcat's tunnels (python3,
# which serves them, is already needed by the testbed and the i2plib interop test). A fresh
# Debian/Ubuntu CI machine may lack curl: call ensure_curl from the install steps, while there is
# network (before any `unshare -rn`).

# Installs curl with apt-get when it is missing (as root, else through sudo); says what it did.
ensure_curl() {
    if command -v curl >/dev/null 2>&1; then
        echo "curl already installed ($(command -v curl))"
        return 0
    fi
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { echo "error: curl is missing and we are not root (no sudo): install curl" >&2; return 1; }
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || { echo "error: curl is missing and there is no apt-get: install curl" >&2; return 1; }
    echo "curl is missing: installing it (${sudo[*]} apt-get install -y curl)"
    "${sudo[@]}" apt-get update -qq || return
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq curl || return
    echo "curl installed ($(command -v curl))"
}

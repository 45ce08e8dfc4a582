# shellcheck shell=bash
# testbed/apt-mirror.sh — sourced by fetch-i2pd.sh and fetch-i2pd-forky.sh (not run).
#
# debian_mirror: prints the Debian archive this machine's apt already uses, so the fetch scripts
# download from the mirror the machine is configured (and allowed) to reach instead of naming one.
# $MIRROR, when set, wins.  Read, in this order:
#   * deb822 files, /etc/apt/sources.list.d/*.sources: the first stanza with `Types: deb` (not
#     `Enabled: no`) whose `Suites:` include a Debian release suite (bookworm, trixie, sid,
#     stable, ...; not only -security/-updates/-backports), its first usable `URIs:` entry;
#   * one-line files, /etc/apt/sources.list and /etc/apt/sources.list.d/*.list: the first
#     `deb [options] URI SUITE ...` line with such a suite.
# Only http, https, ftp and file URIs are taken (the forky fetch downloads with curl/wget).
# APT_ETC (default /etc/apt) points at another apt configuration tree (tests of this parser).
# Fails with a message naming MIRROR= when nothing fits (e.g. an Ubuntu machine).

# Debian release suites: code names and the aliases.  A stanza with only `bookworm-security` or
# `bookworm-updates` is not the main archive.
DEBIAN_SUITES_RE='^(buzz|rex|bo|hamm|slink|potato|woody|sarge|etch|lenny|squeeze|wheezy|jessie|stretch|buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable|experimental)$'

# deb822 stanzas of FILE... -> the URIs of the stanzas that qualify, one a line, in order.
_apt_mirror_deb822() {
    awk -v suites_re="$DEBIAN_SUITES_RE" '
        function flush() {
            if (is_deb && enabled && uris != "" && good_suite) printf "%s", uris
            is_deb = 0; enabled = 1; uris = ""; good_suite = 0
        }
        BEGIN { enabled = 1 }
        FNR == 1 { flush() }
        /^[[:space:]]*#/ { next }                  # a comment line (does not end the stanza)
        /^[[:space:]]*$/ { flush(); next }         # a blank line ends it
        {
            line = $0
            key = tolower(line); sub(/:.*/, "", key); gsub(/[[:space:]]/, "", key)
            val = line; sub(/^[^:]*:[[:space:]]*/, "", val)
            n = split(val, w, /[[:space:]]+/)
            if (key == "types") { for (i = 1; i <= n; i++) if (w[i] == "deb") is_deb = 1 }
            else if (key == "enabled") { if (tolower(w[1]) == "no") enabled = 0 }
            else if (key == "uris") { for (i = 1; i <= n; i++) if (w[i] != "") uris = uris w[i] "\n" }
            else if (key == "suites") { for (i = 1; i <= n; i++) if (w[i] ~ suites_re) good_suite = 1 }
        }
        END { flush() }
    ' "$@"
}

# one-line sources of FILE... -> "URI" lines of the deb lines that qualify.
_apt_mirror_oneline() {
    awk -v suites_re="$DEBIAN_SUITES_RE" '
        { sub(/#.*/, "") }
        $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }   # [ options ]
            if ((i + 1) <= NF && $(i + 1) ~ suites_re) print $i
        }
    ' "$@"
}

debian_mirror() {
    if [ -n "${MIRROR:-}" ]; then echo "${MIRROR%/}"; return 0; fi
    local etc=${APT_ETC:-/etc/apt} f uri
    local deb822=() oneline=()
    for f in "$etc"/sources.list.d/*.sources; do [ -f "$f" ] && deb822+=("$f"); done
    [ -f "$etc/sources.list" ] && oneline+=("$etc/sources.list")
    for f in "$etc"/sources.list.d/*.list; do [ -f "$f" ] && oneline+=("$f"); done
    uri=$(
        { [ ${#deb822[@]} -eq 0 ] || _apt_mirror_deb822 "${deb822[@]}"
          [ ${#oneline[@]} -eq 0 ] || _apt_mirror_oneline "${oneline[@]}"; } |
            grep -E '^(https?|ftp|file):' | head -n1
    ) || true
    if [ -z "$uri" ]; then
        echo "error: no Debian archive found in $etc/sources.list or $etc/sources.list.d/*.{sources,list};" \
             "set MIRROR=<URL of a Debian archive> (the directory that holds dists/ and pool/)" >&2
        return 1
    fi
    echo "${uri%/}"
}

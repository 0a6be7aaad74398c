#!/bin/sh
# Farol agent installer for Linux and macOS. The hub serves this file with its own URL filled in:
#
#   curl -fsSL https://hub.example/install.sh | sh -s -- --token JOIN_TOKEN
#
# It downloads the agent from the hub — the single executable for this platform when the hub has
# one (no Node.js needed; its SHA-256 is checked), else farol-agent.mjs, which needs Node.js 20 or
# newer — checks the hub's Ed25519 signature of it against the key pinned with --hub-key (ADR
# 0024; needs OpenSSL 3), enrolls it with the join token, and installs a service (systemd or launchd) that keeps
# it running. Run it again to upgrade the agent: an enrolled machine keeps its identity. Plain
# POSIX sh: no bashisms.
#
# Everything is inside functions and `main` runs on the last line, so when the script arrives on
# stdin (curl | sh) the shell has read all of it before any command can consume stdin.

set -eu

FAROL_DEFAULT_HUB='__FAROL_HUB_URL__'

usage() {
  cat <<'EOF'
Usage: sh install.sh --token TOKEN [options]

  --token TOKEN        join token from `farol token create` (required)
  --hub URL            hub URL (default: the hub this script came from); several hubs
                       separated by commas (https://a:8080,https://b:8080): the agent
                       fails over between them, the download comes from the first
  --name NAME          name of this machine in Farol (default: its hostname)
  --prefix DIR         where the agent file goes
                       (default: /opt/farol as root, else ~/.local/share/farol)
  --state DIR          where the agent keeps its identity and buffer
                       (default: /var/lib/farol-agent as root, else ~/.local/state/farol-agent)
  --service KIND       auto | systemd | launchd | none (default: auto)
  --service-dir DIR    write the unit/plist into DIR and do not load it
  --runtime KIND       auto | exe | node (default: auto: the single executable when the
                       hub has one for this platform, else farol-agent.mjs with node)
  --hub-key FINGERPRINT
                       the hub key fingerprint (the install line from the dashboard or
                       `farol token create` carries it): the agent is installed only if
                       the hub signed it with that key. Needs OpenSSL 3. Without it,
                       only the SHA-256 the hub sends alongside is checked
  --ca-file FILE       PEM of the private CA that signed an https hub's certificate:
                       copied to STATE/hub-ca.pem and trusted (only it) for the download,
                       the enrollment and the service
  -h, --help           show this help
EOF
}

say() {
  printf 'farol: %s\n' "$*"
}

die() {
  printf 'farol: %s\n' "$*" >&2
  exit 1
}

usage_error() {
  printf 'farol: %s\n' "$*" >&2
  printf 'Run with --help for the options.\n' >&2
  exit 2
}

# Reads the options into FAROL_* variables.
parse_args() {
  FAROL_TOKEN=''
  FAROL_HUB="$FAROL_DEFAULT_HUB"
  FAROL_NAME=''
  FAROL_PREFIX=''
  FAROL_STATE=''
  FAROL_SERVICE='auto'
  FAROL_SERVICE_DIR=''
  FAROL_CA_FILE=''
  FAROL_RUNTIME='auto'
  FAROL_HUB_KEY=''
  while [ $# -gt 0 ]; do
    case "$1" in
      --token|--hub|--name|--prefix|--state|--service|--service-dir|--ca-file|--runtime|--hub-key)
        [ $# -ge 2 ] || usage_error "$1 needs a value"
        set_option "$1" "$2"
        shift 2
        ;;
      --token=*|--hub=*|--name=*|--prefix=*|--state=*|--service=*|--service-dir=*|--ca-file=*|--runtime=*|--hub-key=*)
        set_option "${1%%=*}" "${1#*=}"
        shift
        ;;
      -h|--help)
        usage
        exit 0
        ;;
      *)
        usage_error "unknown option: $1"
        ;;
    esac
  done

  [ -n "$FAROL_TOKEN" ] || usage_error 'give the join token: --token TOKEN (create one with: farol token create)'
  case "$FAROL_HUB" in
    __FAROL_HUB_*) usage_error 'give the hub URL: --hub URL (this copy of the script was not served by a hub)' ;;
    http://*|https://*) FAROL_HUB="${FAROL_HUB%/}" ;;
    *) usage_error "--hub must be an http(s) URL, got: $FAROL_HUB" ;;
  esac
  # Several hubs (issue #14): each must be an http(s) URL; downloads come from the first.
  hub_list=''
  old_ifs=$IFS
  IFS=','
  for hub_one in $FAROL_HUB; do
    case "$hub_one" in
      http://*|https://*) hub_list="${hub_list:+$hub_list,}${hub_one%/}" ;;
      *) IFS=$old_ifs; usage_error "--hub must be http(s) URLs separated by commas, got: $hub_one" ;;
    esac
  done
  IFS=$old_ifs
  FAROL_HUB=$hub_list
  FAROL_DOWNLOAD_HUB=${FAROL_HUB%%,*}
  case "$FAROL_SERVICE" in
    auto|systemd|launchd|none) ;;
    *) usage_error "--service must be auto, systemd, launchd or none, got: $FAROL_SERVICE" ;;
  esac
  case "$FAROL_RUNTIME" in
    auto|exe|node) ;;
    *) usage_error "--runtime must be auto, exe or node, got: $FAROL_RUNTIME" ;;
  esac
  if [ -n "$FAROL_HUB_KEY" ]; then
    case "$FAROL_HUB_KEY" in
      *[!A-Za-z0-9_-]*) usage_error "--hub-key must be the hub key fingerprint (43 base64url characters), got: $FAROL_HUB_KEY" ;;
    esac
    [ "${#FAROL_HUB_KEY}" -eq 43 ] || usage_error "--hub-key must be the hub key fingerprint (43 base64url characters), got: $FAROL_HUB_KEY"
    # Checked before anything is downloaded: a pinned key is never skipped (ADR 0024).
    have_openssl3 || die "--hub-key needs OpenSSL 3 to check the hub's signature ($(openssl_name)); install OpenSSL 3 (openssl in PATH) and run this again, or leave out --hub-key to trust the SHA-256 from the hub alone"
  fi
  if [ -n "$FAROL_CA_FILE" ]; then
    [ -f "$FAROL_CA_FILE" ] && [ -r "$FAROL_CA_FILE" ] || usage_error "--ca-file: cannot read $FAROL_CA_FILE"
    case "$FAROL_HUB" in
      https://*) ;;
      *) usage_error "--ca-file is for an https hub; $FAROL_HUB is not https" ;;
    esac
  fi
}

set_option() {
  case "$1" in
    --token) FAROL_TOKEN="$2" ;;
    --hub) FAROL_HUB="$2" ;;
    --name) FAROL_NAME="$2" ;;
    --prefix) FAROL_PREFIX="$2" ;;
    --state) FAROL_STATE="$2" ;;
    --service) FAROL_SERVICE="$2" ;;
    --service-dir) FAROL_SERVICE_DIR="$2" ;;
    --ca-file) FAROL_CA_FILE="$2" ;;
    --runtime) FAROL_RUNTIME="$2" ;;
    --hub-key) FAROL_HUB_KEY="$2" ;;
  esac
}

# What `openssl version` says, or that there is none.
openssl_name() {
  if command -v openssl >/dev/null 2>&1; then
    openssl version 2>/dev/null || printf 'an openssl that does not say its version\n'
  else
    printf 'no openssl in PATH\n'
  fi
}

# OpenSSL 3 or newer: `pkeyutl -verify -rawin` with Ed25519. LibreSSL (macOS's openssl) is not enough.
have_openssl3() {
  command -v openssl >/dev/null 2>&1 || return 1
  case "$(openssl version 2>/dev/null)" in
    'OpenSSL '[3-9].*|'OpenSSL '[1-9][0-9].*) return 0 ;;
    *) return 1 ;;
  esac
}

# verify_signature NAME FILE: checks the hub's signature of a downloaded FILE (served as NAME)
# with the hub key whose fingerprint is --hub-key (ADR 0024). The signed text names the file and
# its SHA-256, computed here from what was downloaded. Removes FILE and stops on any mismatch.
verify_signature() {
  if [ -z "$FAROL_HUB_KEY" ]; then
    printf 'farol: WARNING: no --hub-key: %s is checked only against what the hub sent with it. Anyone able to change the download could change both. Copy the install line from the dashboard or `farol token create`; it pins the hub key.\n' "$1" >&2
    return 0
  fi
  digest="$(sha256_of "$2")"
  sig_dir="$(mktemp -d)"
  if ! fetch "$FAROL_DOWNLOAD_HUB/download/hub-key.pem" "$sig_dir/hub-key.pem"; then
    rm -rf "$sig_dir" "$2"
    die "could not download the hub key ($FAROL_DOWNLOAD_HUB/download/hub-key.pem); nothing was installed"
  fi
  case "$(openssl pkey -pubin -in "$sig_dir/hub-key.pem" -noout -text 2>/dev/null | head -n 1)" in
    ED25519*) ;;
    *) rm -rf "$sig_dir" "$2"; die "the hub key the hub sent is not an Ed25519 public key; nothing was installed" ;;
  esac
  # The fingerprint: SHA-256 of the raw 32-byte key (the last 32 bytes of its DER form), base64url.
  served_key="$(openssl pkey -pubin -in "$sig_dir/hub-key.pem" -outform DER | tail -c 32 | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=')"
  if [ "$served_key" != "$FAROL_HUB_KEY" ]; then
    rm -rf "$sig_dir" "$2"
    die "the hub key the hub sent ($served_key) is not the one in the install line ($FAROL_HUB_KEY); nothing was installed"
  fi
  if ! fetch "$FAROL_DOWNLOAD_HUB/download/$1.sig" "$sig_dir/sig.b64"; then
    rm -rf "$sig_dir" "$2"
    die "could not download the hub's signature of $1; nothing was installed"
  fi
  printf 'farol-download-v1 %s %s\n' "$1" "$digest" >"$sig_dir/signed.txt"
  if ! openssl base64 -d -A -in "$sig_dir/sig.b64" -out "$sig_dir/sig.bin" 2>/dev/null \
    || ! openssl pkeyutl -verify -pubin -inkey "$sig_dir/hub-key.pem" -rawin -in "$sig_dir/signed.txt" -sigfile "$sig_dir/sig.bin" >/dev/null 2>&1; then
    rm -rf "$sig_dir" "$2"
    die "the hub's signature of $1 (sha256 $digest) does not verify with hub key $FAROL_HUB_KEY; nothing was installed"
  fi
  rm -rf "$sig_dir"
  say "$1 is signed by hub key $FAROL_HUB_KEY"
}

is_root() {
  [ "$(id -u)" -eq 0 ]
}

# Turns a relative path into an absolute one (services do not run in this directory).
absolute_path() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
  esac
}

choose_defaults() {
  if is_root; then
    : "${FAROL_PREFIX:=/opt/farol}"
    : "${FAROL_STATE:=/var/lib/farol-agent}"
  else
    [ -n "${HOME:-}" ] || die 'HOME is not set; give --prefix and --state'
    : "${FAROL_PREFIX:=${XDG_DATA_HOME:-$HOME/.local/share}/farol}"
    : "${FAROL_STATE:=${XDG_STATE_HOME:-$HOME/.local/state}/farol-agent}"
  fi
  FAROL_PREFIX="$(absolute_path "$FAROL_PREFIX")"
  FAROL_STATE="$(absolute_path "$FAROL_STATE")"
  FAROL_BUNDLE="$FAROL_PREFIX/farol-agent.mjs"
  FAROL_EXE=''
  FAROL_NODE=''

  if [ "$FAROL_SERVICE" = auto ]; then
    case "$(uname -s)" in
      Linux)
        if [ -n "$FAROL_SERVICE_DIR" ] || [ -d /run/systemd/system ]; then FAROL_SERVICE=systemd; else FAROL_SERVICE=none; fi
        ;;
      Darwin) FAROL_SERVICE=launchd ;;
      *) FAROL_SERVICE=none ;;
    esac
  fi
  # Checked before anything is downloaded or enrolled, so a wrong choice changes nothing.
  if [ -z "$FAROL_SERVICE_DIR" ]; then
    case "$FAROL_SERVICE" in
      systemd)
        [ -d /run/systemd/system ] || die 'systemd is not running on this machine; use --service none, or --service-dir DIR to only write the unit'
        command -v systemctl >/dev/null 2>&1 || die 'systemctl is not in PATH; use --service none, or --service-dir DIR to only write the unit'
        ;;
      launchd)
        command -v launchctl >/dev/null 2>&1 || die 'launchctl is not in PATH (launchd is macOS only); use --service none, or --service-dir DIR to only write the plist'
        ;;
    esac
  fi
}

check_node() {
  FAROL_NODE="$(command -v node 2>/dev/null || true)"
  [ -n "$FAROL_NODE" ] || die 'Node.js 20 or newer is required, and node is not in PATH. Install it (https://nodejs.org or your package manager) and run this again.'
  case "$FAROL_NODE" in
    /*) ;;
    *) die "node resolves to '$FAROL_NODE', not an absolute path; put a real node binary in PATH" ;;
  esac
  node_version="$("$FAROL_NODE" -p 'process.versions.node' </dev/null 2>/dev/null || true)"
  node_major="${node_version%%.*}"
  case "$node_major" in
    ''|*[!0-9]*) die "cannot tell the version of $FAROL_NODE; Node.js 20 or newer is required" ;;
  esac
  [ "$node_major" -ge 20 ] || die "Node.js 20 or newer is required; $FAROL_NODE is $node_version. Upgrade it and run this again."
  say "using Node.js $node_version ($FAROL_NODE)"
}

# The CA is kept next to the identity: the service reads it at every start, long after the
# file the operator named may be gone.
install_ca() {
  [ -n "$FAROL_CA_FILE" ] || return 0
  mkdir -p "$FAROL_STATE"
  chmod 0700 "$FAROL_STATE"
  ca_copy="$FAROL_STATE/hub-ca.pem"
  source_ca="$(absolute_path "$FAROL_CA_FILE")"
  if [ "$source_ca" != "$ca_copy" ]; then
    cp "$source_ca" "$ca_copy.partial" || die "could not copy $FAROL_CA_FILE to $ca_copy"
    chmod 0644 "$ca_copy.partial"
    mv -f "$ca_copy.partial" "$ca_copy"
  fi
  FAROL_CA_FILE="$ca_copy"
  say "trusting the CA in $FAROL_CA_FILE for $FAROL_HUB"
}

# fetch URL FILE: downloads with curl or wget (trusting only --ca-file when given); returns non-zero on failure.
fetch() {
  if command -v curl >/dev/null 2>&1; then
    if [ -n "$FAROL_CA_FILE" ]; then
      curl -fsSL --retry 3 --cacert "$FAROL_CA_FILE" -o "$2" "$1" </dev/null
    else
      curl -fsSL --retry 3 -o "$2" "$1" </dev/null
    fi
  elif command -v wget >/dev/null 2>&1; then
    if [ -n "$FAROL_CA_FILE" ]; then
      wget -q --ca-certificate="$FAROL_CA_FILE" -O "$2" "$1" </dev/null
    else
      wget -q -O "$2" "$1" </dev/null
    fi
  else
    die 'need curl or wget to download the agent'
  fi
}

# linux-x64, linux-arm64, darwin-arm64 or darwin-x64 from uname; empty for other platforms.
platform() {
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) return 0 ;;
  esac
  case "$(uname -m)" in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) return 0 ;;
  esac
  printf '%s-%s\n' "$os" "$arch"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die 'need sha256sum or shasum to check the downloaded agent (or use --runtime node)'
  fi
}

# The single executable for this platform, when the hub has one (issue #15). Returns non-zero
# (with --runtime auto) when it has none, so the caller falls back to the .mjs and node.
download_exe() {
  [ "$FAROL_RUNTIME" != node ] || return 1
  target="$(platform)"
  if [ -z "$target" ]; then
    [ "$FAROL_RUNTIME" != exe ] || die "no one-file agent for $(uname -s) $(uname -m); use --runtime node"
    return 1
  fi
  exe="$FAROL_PREFIX/farol-agent"
  url="$FAROL_DOWNLOAD_HUB/download/farol-agent-$target"
  sum_file="$(mktemp)"
  if ! fetch "$url.sha256" "$sum_file" 2>/dev/null; then
    rm -f "$sum_file"
    [ "$FAROL_RUNTIME" != exe ] || die "the hub has no one-file agent for $target ($url.sha256); use --runtime node"
    say "the hub has no one-file agent for $target; using farol-agent.mjs with Node.js"
    return 1
  fi
  expected="$(cut -d' ' -f1 <"$sum_file")"
  rm -f "$sum_file"
  mkdir -p "$FAROL_PREFIX"
  case "$expected" in
    *[!0-9a-f]*|'') die "$url.sha256 is not a SHA-256" ;;
  esac
  [ "${#expected}" -eq 64 ] || die "$url.sha256 is not a SHA-256"
  say "downloading $url"
  fetch "$url" "$exe.download" || die "could not download $url"
  actual="$(sha256_of "$exe.download")"
  if [ "$actual" != "$expected" ]; then
    rm -f "$exe.download"
    die "the downloaded agent's SHA-256 is $actual, the hub says $expected; nothing was installed"
  fi
  verify_signature "farol-agent-$target" "$exe.download"
  chmod 0755 "$exe.download"
  mv -f "$exe.download" "$exe"
  FAROL_EXE="$exe"
  say "agent saved to $exe (sha256 $actual; no Node.js needed)"
}

download_agent() {
  mkdir -p "$FAROL_PREFIX"
  url="$FAROL_DOWNLOAD_HUB/download/farol-agent.mjs"
  partial="$FAROL_BUNDLE.download"
  say "downloading $url"
  if [ -n "$FAROL_CA_FILE" ]; then
    fetch "$url" "$partial" || die "could not download $url (trusting only $FAROL_CA_FILE)"
  else
    fetch "$url" "$partial" || die "could not download $url"
  fi
  [ -s "$partial" ] || die "$url was empty"
  verify_signature farol-agent.mjs "$partial"
  chmod 0755 "$partial"
  # Renamed into place so a running agent never sees half a file.
  mv -f "$partial" "$FAROL_BUNDLE"
  say "agent saved to $FAROL_BUNDLE"
}

enroll_agent() {
  if [ -f "$FAROL_STATE/identity.json" ]; then
    say "already enrolled (identity in $FAROL_STATE); keeping it. Remove that directory to enroll again."
    return 0
  fi
  mkdir -p "$FAROL_STATE"
  # The state holds the agent's private key.
  chmod 0700 "$FAROL_STATE"
  say "enrolling with $FAROL_HUB"
  # The function's own positional parameters carry the optional arguments (POSIX sh has no arrays).
  set -- enroll --hub "$FAROL_HUB" --token "$FAROL_TOKEN" --state "$FAROL_STATE"
  [ -z "$FAROL_NAME" ] || set -- "$@" --name "$FAROL_NAME"
  [ -z "$FAROL_CA_FILE" ] || set -- "$@" --ca-file "$FAROL_CA_FILE"
  if [ -n "$FAROL_EXE" ]; then set -- "$FAROL_EXE" "$@"; else set -- "$FAROL_NODE" "$FAROL_BUNDLE" "$@"; fi
  "$@" </dev/null \
    || die 'enrollment failed (see the message above); create a new token with farol token create if it expired'
}

# systemd reads % as a specifier and needs quotes around paths with spaces.
systemd_quote() {
  printf '"%s"' "$(printf '%s' "$1" | sed -e 's/%/%%/g' -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

xml_escape() {
  printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'
}

install_systemd() {
  if [ -n "$FAROL_SERVICE_DIR" ]; then
    unit_dir="$(absolute_path "$FAROL_SERVICE_DIR")"
    load_unit=no
  elif is_root; then
    unit_dir=/etc/systemd/system
    load_unit=system
  else
    unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
    load_unit=user
  fi
  if [ "$load_unit" = user ]; then wanted_by=default.target; else wanted_by=multi-user.target; fi

  exec_ca=''
  [ -z "$FAROL_CA_FILE" ] || exec_ca=" --ca-file $(systemd_quote "$FAROL_CA_FILE")"
  if [ -n "$FAROL_EXE" ]; then
    exec_program="$(systemd_quote "$FAROL_EXE")"
  else
    # A young generation of 1 MiB semi-spaces: the agent allocates little, and this keeps ~4 MiB
    # of RSS off every machine (issue #16; the one-file agent carries the same flag inside).
    exec_program="$(systemd_quote "$FAROL_NODE") --max-semi-space-size=1 $(systemd_quote "$FAROL_BUNDLE")"
  fi
  # A system unit is hardened (issue #15): no privilege gain, a read-only system except the
  # state directory. Commands run through Farol inherit it: to let them change the system, add
  # ReadWritePaths= (systemctl edit farol-agent). User units cannot use these settings. The
  # install folder stays writable so the agent can swap in an update from its hub (#15).
  hardening=''
  if [ "$load_unit" != user ]; then
    state_directory=''
    [ "$FAROL_STATE" != /var/lib/farol-agent ] || state_directory='
StateDirectory=farol-agent
StateDirectoryMode=0700'
    hardening="
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=$(systemd_quote "$FAROL_STATE") $(systemd_quote "$FAROL_PREFIX")$state_directory
PrivateTmp=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK"
  fi
  mkdir -p "$unit_dir"
  unit="$unit_dir/farol-agent.service"
  unit_partial="$unit.partial"
  cat >"$unit_partial" <<EOF
[Unit]
Description=Farol agent
Documentation=$FAROL_DOWNLOAD_HUB
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=$exec_program run --state $(systemd_quote "$FAROL_STATE")$exec_ca
Restart=always
RestartSec=5
# Exit code 4: stopped from the hub (farol agents stop); stay stopped until started again.
RestartPreventExitStatus=4
Environment=NODE_ENV=production$hardening

[Install]
WantedBy=$wanted_by
EOF
  mv -f "$unit_partial" "$unit"
  say "wrote $unit"

  case "$load_unit" in
    system)
      systemctl daemon-reload
      systemctl enable farol-agent.service
      # restart, not start: a re-run must pick up the freshly downloaded agent.
      systemctl restart farol-agent.service
      say 'farol-agent.service is enabled and running; logs: journalctl -u farol-agent -f'
      ;;
    user)
      systemctl --user daemon-reload
      systemctl --user enable farol-agent.service
      systemctl --user restart farol-agent.service
      say 'farol-agent.service (user) is enabled and running; logs: journalctl --user -u farol-agent -f'
      say "to keep it running after you log out: loginctl enable-linger $(id -un)"
      ;;
    no)
      say "not loading it; to use it: copy it to /etc/systemd/system, then systemctl daemon-reload && systemctl enable --now farol-agent.service"
      ;;
  esac
}

install_launchd() {
  if [ -n "$FAROL_SERVICE_DIR" ]; then
    plist_dir="$(absolute_path "$FAROL_SERVICE_DIR")"
    domain=''
  elif is_root; then
    plist_dir=/Library/LaunchDaemons
    domain=system
  else
    plist_dir="$HOME/Library/LaunchAgents"
    domain="gui/$(id -u)"
  fi
  plist_ca=''
  [ -z "$FAROL_CA_FILE" ] || plist_ca="
    <string>--ca-file</string>
    <string>$(xml_escape "$FAROL_CA_FILE")</string>"
  if [ -n "$FAROL_EXE" ]; then
    plist_program="
    <string>$(xml_escape "$FAROL_EXE")</string>"
  else
    plist_program="
    <string>$(xml_escape "$FAROL_NODE")</string>
    <string>--max-semi-space-size=1</string>
    <string>$(xml_escape "$FAROL_BUNDLE")</string>"
  fi
  mkdir -p "$plist_dir" "$FAROL_STATE"
  plist="$plist_dir/com.farol.agent.plist"
  plist_partial="$plist.partial"
  cat >"$plist_partial" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>com.farol.agent</string>
  <key>ProgramArguments</key>
  <array>$plist_program
    <string>run</string>
    <string>--state</string>
    <string>$(xml_escape "$FAROL_STATE")</string>$plist_ca
  </array>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <true/>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>Umask</key>
  <integer>63</integer>
  <key>StandardOutPath</key>
  <string>$(xml_escape "$FAROL_STATE")/agent.log</string>
  <key>StandardErrorPath</key>
  <string>$(xml_escape "$FAROL_STATE")/agent.log</string>
</dict>
</plist>
EOF
  mv -f "$plist_partial" "$plist"
  say "wrote $plist"

  if [ -z "$domain" ]; then
    say "not loading it; to use it: copy it to ~/Library/LaunchAgents, then launchctl bootstrap gui/\$(id -u) ~/Library/LaunchAgents/com.farol.agent.plist"
    return 0
  fi
  # A re-run replaces the loaded job; on a first run there is nothing to unload, which is fine.
  launchctl bootout "$domain/com.farol.agent" 2>/dev/null || say 'no previous launchd job to unload'
  launchctl bootstrap "$domain" "$plist"
  say "com.farol.agent is loaded; logs: $FAROL_STATE/agent.log"
}

print_manual_run() {
  say 'no service installed. Start the agent with:'
  if [ -n "$FAROL_EXE" ]; then program="$FAROL_EXE"; else program="$FAROL_NODE $FAROL_BUNDLE"; fi
  if [ -n "$FAROL_CA_FILE" ]; then
    printf '  %s run --state %s --ca-file %s\n' "$program" "$FAROL_STATE" "$FAROL_CA_FILE"
  else
    printf '  %s run --state %s\n' "$program" "$FAROL_STATE"
  fi
}

main() {
  parse_args "$@"
  choose_defaults
  install_ca
  if ! download_exe; then
    check_node
    download_agent
  fi
  enroll_agent
  case "$FAROL_SERVICE" in
    systemd) install_systemd ;;
    launchd) install_launchd ;;
    none) print_manual_run ;;
  esac
  say "done: this machine reports to $FAROL_HUB"
}

main "$@"

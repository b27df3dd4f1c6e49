#!/usr/bin/env bash
# Installs or upgrades the kiosk from this checkout, on Raspberry Pi OS (Bookworm, 64-bit)
# or Debian 12. Safe to run again: what is already in place is left as it is. See
# docs/install.md for the whole journey, from a blank SD card to a lending kiosk.
#
# Usage: sudo scripts/install.sh [--name NAME] [--server URL] [--token-file FILE]
#                                [--central] [--no-start] [--root DIR]
#
#   --name NAME        this kiosk's name in kiosk-central (first install; default: hostname)
#   --server URL       kiosk-central's address (first install)
#   --token-file FILE  a file holding the token from `kiosk-central kiosk add NAME`
#   --central          install the central server (kiosk-central.service) instead of a kiosk
#   --no-start         install everything and enable the services, but start, restart or
#                      reload nothing (systemd and udev are not running: a chroot, a card
#                      being prepared); those steps print "would run: ..." instead
#   --root DIR         a scratch root: install the program for real (a virtual environment
#                      under DIR/opt/kiosk, with pip) and every file under DIR instead of /,
#                      then run the installed `kiosk check-config` and `kiosk status`; run
#                      nothing that changes the system (packages, users, services): those
#                      steps print "would run: ..." instead. For trying the script and for CI.
#
# The release installed is the commit checked out (HEAD), built from a clean export of it:
# uncommitted changes are not installed (the script says so), and the checkout is left
# as it was. Layout: each release gets its own virtual environment in
# /opt/kiosk/releases/VERSION-REVISION; the symlink /opt/kiosk/venv names the one in use
# and /opt/kiosk/previous the one before, so going back is one symlink (docs/install.md,
# "Roll back").
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
root=""
name=""
server=""
token_file=""
role=kiosk
no_start=0
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=${2:?--root needs a directory}; shift 2 ;;
        --name) name=${2:?--name needs a name}; shift 2 ;;
        --server) server=${2:?--server needs a URL}; shift 2 ;;
        --token-file) token_file=${2:?--token-file needs a file}; shift 2 ;;
        --central) role=central; shift ;;
        --no-start) no_start=1; shift ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "install: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -n "$root" ]; then
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
elif [ "$(id -u)" -ne 0 ]; then
    echo "install: run as root (sudo scripts/install.sh), or try it with --root DIR" >&2
    exit 1
fi
R=$root  # every path written below is "$R/..."

say() { echo "install: $*"; }
# Commands that change the running system: only for a real install.
system() {
    if [ -n "$root" ]; then
        echo "would run: $*"
    else
        echo "+ $*"
        "$@"
    fi
}
# Commands that start, restart or reload something: not with --no-start either.
live() {
    if [ "$no_start" = 1 ]; then
        echo "would run: $*"
    else
        system "$@"
    fi
}
# Temporary files and folders, removed on exit.
temps=()
trap 'rm -rf "${temps[@]}"' EXIT
scratch() {  # scratch NAME [-d]: a new temporary file (folder with -d), its path in $NAME
    local made
    made=$(mktemp "${@:2}")
    temps+=("$made")
    printf -v "$1" '%s' "$made"
}
# Put a file in place (mode, owner) unless the same is already there.
changed=0
place() {  # place SOURCE DEST MODE [OWNER:GROUP]
    local source=$1 dest=$2 mode=$3 owner=${4:-root:root}
    mkdir -p "$(dirname "$dest")"
    if [ -f "$dest" ] && cmp -s "$source" "$dest"; then
        say "unchanged: ${dest#"$R"}"
    else
        install -m "$mode" "$source" "$dest"
        say "installed: ${dest#"$R"}"
        changed=1
    fi
    chmod "$mode" "$dest"
    [ -n "$root" ] || chown "$owner" "$dest"
}
folder() {  # folder DIR MODE [OWNER:GROUP]
    install -d -m "$2" "$1"
    [ -n "$root" ] || chown "${3:-root:root}" "$1"
}

# --- 1. packages ---------------------------------------------------------------------
packages=(python3 python3-venv python3-dev gcc linux-libc-dev git)
if [ "$role" = kiosk ]; then
    # cage: the Wayland kiosk compositor; xwayland for an SDL2 built without Wayland (cage
    # then starts it for the kiosk); the rest is what Kivy's SDL2 needs to draw.
    packages+=(cage xwayland libgl1 libgles2 libegl1 libgl1-mesa-dri libmtdev1 xkb-data fonts-dejavu-core)
fi
if [ -n "$root" ]; then
    system apt-get install -y --no-install-recommends "${packages[@]}"
else
    missing=()
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        system apt-get update -qq
        DEBIAN_FRONTEND=noninteractive system apt-get install -y --no-install-recommends "${missing[@]}"
    else
        say "packages: all present"
    fi
fi

# --- 2. the service user ---------------------------------------------------------------
if [ "$role" = kiosk ]; then
    user=kiosk; home=/var/lib/kiosk; groups=input,video,render,dialout
else
    user=kiosk-central; home=/var/lib/kiosk-central; groups=""
fi
# udev makes input and render on Raspberry Pi OS and desktop Debian; a system without
# them (a container, a minimal image) gets them here, as kiosk.service names them.
for group in ${groups//,/ }; do
    getent group "$group" >/dev/null || system groupadd --system "$group"
done
if [ -z "$root" ] && id -u "$user" >/dev/null 2>&1; then
    say "user $user: present"
    [ -z "$groups" ] || system usermod --append --groups "$groups" "$user"
else
    system useradd --system --user-group --home-dir "$home" --no-create-home \
        --shell /usr/sbin/nologin ${groups:+--groups "$groups"} "$user"
fi

# --- 3. the program: one virtual environment per release ---------------------------------
# Debian's Python, which the packages above complete (venv, headers); not another one
# that happens to come first in PATH.
python=/usr/bin/python3
[ -x "$python" ] || [ -z "$root" ] || python=python3
# The release is the commit checked out, exported clean: the build writes nothing into the
# checkout, and every file placed below is that commit's. safe.directory: a checkout
# cloned by the administrator is not root's own, and git refuses to read it otherwise
# (its revision would be lost); --no-optional-locks: `git status` as root must not
# rewrite the administrator's .git/index as root's.
tree=""
scratch tree -d
git_=(git --no-optional-locks -c safe.directory="$src" -C "$src")
if "${git_[@]}" rev-parse --verify --quiet HEAD >/dev/null 2>&1; then
    revision=$("${git_[@]}" rev-parse --short=9 HEAD)
    "${git_[@]}" archive --format=tar HEAD | tar -x -C "$tree"
    if [ -n "$("${git_[@]}" status --porcelain --untracked-files=no)" ]; then
        say "note: the checkout has uncommitted changes; they are not installed (release: commit $revision)"
    fi
else
    # Not a git checkout (an unpacked archive): the release is named after its content.
    tar -C "$src" --exclude=./.git --exclude=./.venv --exclude=./demo --exclude=./data \
        --exclude='__pycache__' -cf - . | tar -x -C "$tree"
    revision=local-$(cd "$tree" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-9)
fi
version=$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$tree/pyproject.toml")
release="$version-$revision"
folder "$R/opt/kiosk" 0755
folder "$R/opt/kiosk/releases" 0755
target="$R/opt/kiosk/releases/$release"
if [ -f "$target/.installed" ]; then
    say "release $release: already installed"
else
    rm -rf "$target"  # an earlier attempt that did not finish
    # On a kiosk pip keeps no cache (an SD card); a scratch root may use the user's.
    cache=(--no-cache-dir)
    [ -z "$root" ] || cache=()
    say "release $release: installing into ${target#"$R"}"
    echo "+ $python -m venv $target"
    "$python" -m venv "$target"
    echo "+ $target/bin/pip install --upgrade pip"
    "$target/bin/pip" install --quiet "${cache[@]}" --upgrade pip
    echo "+ $target/bin/pip install library-kiosk ($release)"
    "$target/bin/pip" install --quiet "${cache[@]}" "$tree"
    touch "$target/.installed"
fi
current=$(readlink "$R/opt/kiosk/venv" 2>/dev/null || true)
if [ "$current" != "releases/$release" ]; then
    if [ -n "$current" ]; then
        ln -sfn "$current" "$R/opt/kiosk/previous"
    fi
    ln -sfn "releases/$release" "$R/opt/kiosk/venv.new"
    mv -Tf "$R/opt/kiosk/venv.new" "$R/opt/kiosk/venv"  # one rename: never half switched
    say "in use: release $release${current:+ (before: ${current#releases/})}"
else
    say "in use: release $release (unchanged)"
fi
# Keep the release in use, the one before and the newest other one; remove older ones.
keep=("releases/$release" "$(readlink "$R/opt/kiosk/previous" 2>/dev/null || true)")
# shellcheck disable=SC2012  # release names are VERSION-REVISION: no spaces, no newlines
for old in $(ls -1t "$R/opt/kiosk/releases" | tail -n +4); do
    case " ${keep[*]} " in
        *" releases/$old "*) ;;
        *) rm -rf "${R:?}/opt/kiosk/releases/$old"; say "removed old release $old" ;;
    esac
done
folder "$R/opt/kiosk/docs" 0755
for doc in install.md scanners.md sync-protocol.md sip2.md operations.md notices.md gateway.md; do
    place "$tree/docs/$doc" "$R/opt/kiosk/docs/$doc" 0644
done

# --- 4. services, devices, login session -------------------------------------------------
if [ "$role" = kiosk ]; then
    units=(kiosk.service kiosk-sync.service)
else
    # The daily forgetting is on by default: privacy does not wait for a site to opt in.
    units=(kiosk-central.service kiosk-central-forget.timer)
    place "$tree/systemd/kiosk-central-forget.service" \
        "$R/etc/systemd/system/kiosk-central-forget.service" 0644
fi
for unit in "${units[@]}"; do
    place "$tree/systemd/$unit" "$R/etc/systemd/system/$unit" 0644
done
if [ "$role" = central ]; then
    # Installed, not enabled: a library with SIP2 devices turns it on once it has made
    # their accounts (docs/sip2.md): systemctl enable --now kiosk-central-sip2.service
    place "$tree/systemd/kiosk-central-sip2.service" \
        "$R/etc/systemd/system/kiosk-central-sip2.service" 0644
    # Installed, not enabled either: the library chooses where backups go first
    # (docs/operations.md): systemctl enable --now kiosk-central-backup.timer
    for unit in kiosk-central-backup.service kiosk-central-backup.timer; do
        place "$tree/systemd/$unit" "$R/etc/systemd/system/$unit" 0644
    done
    # And the notices: on once [notices.email] or [notices.sms] is set up
    # (docs/notices.md): systemctl enable --now kiosk-central-notices.service
    place "$tree/systemd/kiosk-central-notices.service" \
        "$R/etc/systemd/system/kiosk-central-notices.service" 0644
    # And gateway mode's relay: on once [upstream] is set up (docs/gateway.md):
    # systemctl enable --now kiosk-central-relay.service
    place "$tree/systemd/kiosk-central-relay.service" \
        "$R/etc/systemd/system/kiosk-central-relay.service" 0644
    # And the hourly import of the other system's exports, also gateway mode's:
    # systemctl enable --now kiosk-central-import.timer
    for unit in kiosk-central-import.service kiosk-central-import.timer; do
        place "$tree/systemd/$unit" "$R/etc/systemd/system/$unit" 0644
    done
fi
if [ "$role" = kiosk ]; then
    place "$tree/config/99-kiosk-scanners.rules" "$R/etc/udev/rules.d/99-kiosk-scanners.rules" 0644
    # The PAM service of kiosk.service (PAMName=kiosk): a logind session on tty1 gives
    # cage the seat, that is the screen and the touch panel.
    pam=""
    scratch pam
    cat >"$pam" <<'PAM'
# PAM for kiosk.service (PAMName=kiosk), written by scripts/install.sh.
auth      required  pam_unix.so nullok
account   required  pam_unix.so
session   required  pam_unix.so
session   required  pam_systemd.so
PAM
    place "$pam" "$R/etc/pam.d/kiosk" 0644
fi
if [ "$changed" = 1 ]; then
    live systemctl daemon-reload
    [ "$role" = central ] || live udevadm control --reload
    [ "$role" = central ] || live udevadm trigger --subsystem-match=input --subsystem-match=tty
fi
if [ -n "$root" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl --root="$root" --quiet enable "${units[@]}"  # writes the .wants links only
    say "enabled (in $root): ${units[*]}"
else
    system systemctl enable "${units[@]}"
fi
if [ "$role" = kiosk ]; then
    system systemctl disable getty@tty1.service  # tty1 is the kiosk's
    system systemctl set-default graphical.target
fi

# --- 5. configuration and token ------------------------------------------------------------
if [ "$role" = kiosk ]; then
    folder "$R/etc/kiosk" 0750 root:kiosk
    folder "$R/var/lib/kiosk" 0750 kiosk:kiosk
    if [ -f "$R/etc/kiosk/kiosk.toml" ]; then
        say "kept: /etc/kiosk/kiosk.toml (the site's own; never overwritten)"
    else
        site=""
        scratch site
        sed -e "s|@NAME@|${name:-$(hostname)}|" -e "s|@SERVER@|$server|" \
            "$tree/config/kiosk.site.toml" >"$site"
        place "$site" "$R/etc/kiosk/kiosk.toml" 0640 root:kiosk
    fi
    if [ -n "$token_file" ]; then
        place "$token_file" "$R/etc/kiosk/token" 0600 kiosk:kiosk
    elif [ ! -f "$R/etc/kiosk/token" ]; then
        say "no token yet: put the one from 'kiosk-central kiosk add NAME' in /etc/kiosk/token (docs/install.md)"
    fi
fi

# --- 6. the installed program on the installed settings, then the services -----------------
status_note="the kiosk lends once the first sync has filled its mirror (docs/install.md, 5)"
if [ "$role" = kiosk ] && [ -z "$root" ]; then
    # As the kiosk user, as its services will run it: it must be able to read its files.
    if runuser -u kiosk -- /opt/kiosk/venv/bin/kiosk check-config /etc/kiosk/kiosk.toml; then
        live systemctl restart kiosk-sync.service kiosk.service
        say "kiosk status ($status_note):"
        runuser -u kiosk -- /opt/kiosk/venv/bin/kiosk status || true
    else
        say "fix /etc/kiosk/kiosk.toml as said above, then: sudo systemctl restart kiosk-sync kiosk"
    fi
elif [ "$role" = kiosk ]; then
    system runuser -u kiosk -- /opt/kiosk/venv/bin/kiosk check-config /etc/kiosk/kiosk.toml
    # For real, from the scratch root: the installed kiosk on the installed settings, with
    # the paths they name (/etc/kiosk/..., /var/lib/kiosk) moved under the root, in a copy.
    moved=""
    scratch moved
    sed -E "s|^([[:space:]]*[A-Za-z_]+[[:space:]]*=[[:space:]]*[\"'])(/etc/kiosk/\|/var/lib/kiosk)|\1$root\2|" \
        "$R/etc/kiosk/kiosk.toml" >"$moved"
    if ! grep -Eq '^[[:space:]]*data_dir[[:space:]]*=' "$moved"; then
        sed -i -E "/^[[:space:]]*\[kiosk\][[:space:]]*(#.*)?$/a data_dir = \"$root/var/lib/kiosk\"" "$moved"
    fi
    say "the installed kiosk on /etc/kiosk/kiosk.toml, its paths under $root ($moved):"
    echo "+ $R/opt/kiosk/venv/bin/kiosk check-config"
    if "$R/opt/kiosk/venv/bin/kiosk" check-config "$moved"; then
        live systemctl restart kiosk-sync.service kiosk.service
    else
        say "fix /etc/kiosk/kiosk.toml as said above"
    fi
    say "kiosk status ($status_note):"
    echo "+ $R/opt/kiosk/venv/bin/kiosk status"
    "$R/opt/kiosk/venv/bin/kiosk" status --config "$moved" || true
else
    live systemctl restart kiosk-central.service
    live systemctl start kiosk-central-forget.timer
fi
say "done"

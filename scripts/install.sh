#!/usr/bin/env bash
# Installs or upgrades the kiosk from this checkout, on Raspberry Pi OS (Bookworm, 64-bit)
# or Debian 12. Safe to run again: what is already in place is left as it is. See
# docs/install.md for the whole journey, from a blank SD card to a lending kiosk.
#
# Usage: sudo scripts/install.sh [--name NAME] [--server URL] [--token-file FILE]
#                                [--central] [--root DIR]
#
#   --name NAME        this kiosk's name in kiosk-central (first install; default: hostname)
#   --server URL       kiosk-central's address (first install)
#   --token-file FILE  a file holding the token from `kiosk-central kiosk add NAME`
#   --central          install the central server (kiosk-central.service) instead of a kiosk
#   --root DIR         write every file under DIR instead of /, and run nothing that
#                      changes the system (packages, users, services): those steps print
#                      "would run: ..." instead. For trying the script and for CI.
#
# Layout: each version gets its own virtual environment in /opt/kiosk/releases/; the
# symlink /opt/kiosk/venv names the one in use and /opt/kiosk/previous the one before,
# so going back is one symlink (docs/install.md, "Roll back").
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
root=""
name=""
server=""
token_file=""
role=kiosk
while [ $# -gt 0 ]; do
    case "$1" in
        --root) root=${2:?--root needs a directory}; shift 2 ;;
        --name) name=${2:?--name needs a name}; shift 2 ;;
        --server) server=${2:?--server needs a URL}; shift 2 ;;
        --token-file) token_file=${2:?--token-file needs a file}; shift 2 ;;
        --central) role=central; shift ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
if [ -z "$root" ] && id -u "$user" >/dev/null 2>&1; then
    say "user $user: present"
    [ -z "$groups" ] || system usermod --append --groups "$groups" "$user"
else
    system useradd --system --user-group --home-dir "$home" --no-create-home \
        --shell /usr/sbin/nologin ${groups:+--groups "$groups"} "$user"
fi

# --- 3. the program: one virtual environment per version -------------------------------
version=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$src/pyproject.toml")
revision=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo local)
release="$version-$revision"
folder "$R/opt/kiosk" 0755
folder "$R/opt/kiosk/releases" 0755
target="$R/opt/kiosk/releases/$release"
if [ -f "$target/.installed" ]; then
    say "release $release: already installed"
else
    rm -rf "$target"  # an earlier attempt that did not finish
    if [ -n "$root" ]; then
        mkdir -p "$target"
        system python3 -m venv "/opt/kiosk/releases/$release"
        system "/opt/kiosk/releases/$release/bin/pip" install --no-cache-dir "$src"
    else
        system python3 -m venv "$target"
        system "$target/bin/pip" install --quiet --no-cache-dir --upgrade pip
        system "$target/bin/pip" install --quiet --no-cache-dir "$src"
        touch "$target/.installed"
    fi
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
for doc in install.md scanners.md sync-protocol.md; do
    place "$src/docs/$doc" "$R/opt/kiosk/docs/$doc" 0644
done

# --- 4. services, devices, login session -------------------------------------------------
if [ "$role" = kiosk ]; then
    units=(kiosk.service kiosk-sync.service)
else
    units=(kiosk-central.service)
fi
for unit in "${units[@]}"; do
    place "$src/systemd/$unit" "$R/etc/systemd/system/$unit" 0644
done
if [ "$role" = kiosk ]; then
    place "$src/config/99-kiosk-scanners.rules" "$R/etc/udev/rules.d/99-kiosk-scanners.rules" 0644
    # The PAM service of kiosk.service (PAMName=kiosk): a logind session on tty1 gives
    # cage the seat, that is the screen and the touch panel.
    pam=$(mktemp)
    trap 'rm -f "$pam"' EXIT
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
    system systemctl daemon-reload
    [ "$role" = central ] || system udevadm control --reload
    [ "$role" = central ] || system udevadm trigger --subsystem-match=input --subsystem-match=tty
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
        site=$(mktemp)
        sed -e "s|@NAME@|${name:-$(hostname)}|" -e "s|@SERVER@|$server|" \
            "$src/config/kiosk.site.toml" >"$site"
        place "$site" "$R/etc/kiosk/kiosk.toml" 0640 root:kiosk
        rm -f "$site"
    fi
    if [ -n "$token_file" ]; then
        place "$token_file" "$R/etc/kiosk/token" 0600 kiosk:kiosk
    elif [ ! -f "$R/etc/kiosk/token" ]; then
        say "no token yet: put the one from 'kiosk-central kiosk add NAME' in /etc/kiosk/token (docs/install.md)"
    fi
    if [ -z "$root" ]; then
        if runuser -u kiosk -- /opt/kiosk/venv/bin/kiosk check-config /etc/kiosk/kiosk.toml; then
            system systemctl restart kiosk-sync.service kiosk.service
        else
            say "fix /etc/kiosk/kiosk.toml as said above, then: sudo systemctl restart kiosk-sync kiosk"
        fi
    else
        system runuser -u kiosk -- /opt/kiosk/venv/bin/kiosk check-config /etc/kiosk/kiosk.toml
    fi
else
    system systemctl restart kiosk-central.service
fi
say "done"

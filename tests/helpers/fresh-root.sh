#!/usr/bin/env bash
# A fresh Debian 12 machine for the fresh-host test (tests/e2e/fresh-host.test.ts),
# as a newcomer has it: a base system and Node, and what every machine of a site
# has that the project does not install (the CA certificates, the apt and npm
# settings), nothing else. No package the lab needs is in it.
#
#   fresh-root.sh create ROOT
#       mmdebstrap a minbase bookworm into ROOT from the host's own apt sources,
#       copy in the host's Node (the README assumes Node >= 20.5; bookworm's is 18),
#       CA certificates, apt and npm settings, and add a user `newcomer`.
#   fresh-root.sh enter ROOT CACHE USER CMD...
#       run CMD (through bash -lc) in ROOT as USER (root or newcomer), in a mount
#       namespace of its own: /proc, /sys and /dev mounted, and the host's lab
#       cache CACHE shown at /root/.cache/page-owner-lab through overlays of
#       its kernels/, sources/ and images/ only (the host's stays untouched,
#       writes go to ROOT.upper). The mounts end with the command.
set -euo pipefail

cmd=${1:?usage: fresh-root.sh create ROOT | enter ROOT CACHE USER CMD...}
root=${2:?ROOT}

case "$cmd" in
create)
  [ ! -e "$root" ] || { echo "fresh-root.sh: $root exists" >&2; exit 2; }
  mmdebstrap --variant=minbase --skip=cleanup/reproducible/machine-id bookworm "$root" /etc/apt/sources.list.d/debian.sources
  # the site's settings: apt sources and configuration, keyrings, CA certificates, npm configuration
  cp -a /etc/apt/. "$root/etc/apt/"
  cp -a /usr/share/keyrings/. "$root/usr/share/keyrings/"
  cp -a /etc/ssl/. "$root/etc/ssl/"
  [ ! -d /usr/local/share/ca-certificates ] || cp -a /usr/local/share/ca-certificates "$root/usr/local/share/"
  for f in /etc/npmrc /usr/etc/npmrc /root/.npmrc; do
    [ ! -f "$f" ] || { mkdir -p "$root$(dirname "$f")"; cp -a "$f" "$root$f"; }
  done
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # Node as the host has it: the binary, npm and corepack, and the headers npm builds native addons against
  node=$(readlink -f "$(command -v node)")
  cp -a "$node" "$root/usr/bin/node"
  mkdir -p "$root/usr/lib/node_modules"
  cp -a /usr/lib/node_modules/. "$root/usr/lib/node_modules/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
  [ ! -d /usr/include/node ] || cp -a /usr/include/node "$root/usr/include/"
  chroot "$root" useradd --create-home --shell /bin/bash newcomer
  # the newcomer reaches the copy of the lab cache under /root (the kernel entries name their absolute paths)
  chmod 0711 "$root/root"
  ;;
enter)
  cache=${3:?CACHE}
  user=${4:?USER}
  shift 4
  upper="$root.upper"
  mkdir -p "$upper"
  exec unshare --mount --propagation private -- bash -euo pipefail -c '
    root=$1 cache=$2 upper=$3 user=$4
    shift 4
    mount -t proc proc "$root/proc"
    mount -t sysfs sys "$root/sys"
    mount --rbind /dev "$root/dev"
    lab="$root/root/.cache/page-owner-lab"
    for part in kernels sources images; do
      [ -d "$cache/$part" ] || continue
      mkdir -p "$lab/$part" "$upper/$part" "$upper/$part.work"
      mount -t overlay overlay -o "lowerdir=$cache/$part,upperdir=$upper/$part,workdir=$upper/$part.work" "$lab/$part"
    done
    ids=$(awk -F: -v u="$user" '"'"'$1 == u { print $3 ":" $4 }'"'"' "$root/etc/passwd")
    if [ "$user" != root ]; then
      # what the newcomer writes besides the copies: locks, saved guests, the SSH key, modules (not into the overlays)
      find "$lab" -xdev -exec chown "$ids" {} +
    fi
    env=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb CI=true)
    for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR; do [ -z "${!v:-}" ] || env+=("$v=${!v}"); done
    [ "$user" = root ] || env[0]=HOME=/home/$user
    # a user PATH as Debian gives one to a login without root: no sbin folders
    [ "$user" = root ] || env[1]=PATH=/usr/local/bin:/usr/bin:/bin
    exec chroot --userspec="$ids" "$root" env -i "${env[@]}" bash -c "$*"
  ' enter "$root" "$cache" "$upper" "$user" "$@"
  ;;
*)
  echo "fresh-root.sh: unknown command $cmd" >&2
  exit 2
  ;;
esac

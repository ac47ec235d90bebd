#!/usr/bin/env bash
# Packages an already-built edgewatt binary as a .deb with its systemd service.
#
#   scripts/build-deb.sh [--arch arm64|amd64] [--binary PATH] [--out DIR]
#
# arm64 (default, the Pi 5): target/aarch64-unknown-linux-gnu/release/edgewatt, built with
# cross/build-aarch64.sh if missing. amd64: target/release/edgewatt (cargo build --release).
# Output: DIR/edgewatt_<version>_<arch>.deb (DIR defaults to target/deb). Needs dpkg-deb,
# binutils (strip, objdump; aarch64-linux-gnu-* for arm64) and, at install time, adduser.
#
# Layout: /usr/bin/edgewatt, /lib/systemd/system/edgewatt.service, /etc/edgewatt/edgewatt.toml
# (conffile, all defaults commented out), /usr/share/edgewatt/plans/*.toml (examples; their
# model paths are relative to the plan file, so copy and edit them), /usr/share/doc/edgewatt.
# Maintainer scripts: packaging/deb/{postinst,prerm,postrm}. Depends is computed from the
# binary's NEEDED libraries and the highest symbol versions it uses (see shlib_depends).
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "build-deb: $*" >&2; exit 1; }

arch=arm64
bin=""
out=target/deb
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:?--arch needs arm64 or amd64}; shift 2 ;;
    --binary) bin=${2:?--binary needs a path}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

case "$arch" in
  arm64) tool=aarch64-linux-gnu-; machine=aarch64; default_bin=target/aarch64-unknown-linux-gnu/release/edgewatt ;;
  amd64) tool=""; machine=i386:x86-64; default_bin=target/release/edgewatt ;;
  *) die "unsupported --arch $arch (arm64 or amd64)" ;;
esac
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian package dpkg)"
for t in strip objdump; do
  command -v "$tool$t" >/dev/null || die "$tool$t not found (binutils${tool:+-aarch64-linux-gnu})"
done
if [ -z "$bin" ]; then
  bin=$default_bin
  if [ ! -x "$bin" ]; then
    echo "build-deb: $bin missing; building it" >&2
    if [ "$arch" = arm64 ]; then cross/build-aarch64.sh; else cargo build --release; fi
  fi
fi
[ -x "$bin" ] || die "no executable at $bin"
"${tool}objdump" -f "$bin" | grep -q "architecture: $machine" \
  || die "$bin is not a $machine binary: $("${tool}objdump" -f "$bin" | grep architecture)"

version=$(awk -F'"' '/^\[/ { pkg = ($0 == "[package]") } pkg && /^version *=/ { print $2; exit }' Cargo.toml)
[ -n "$version" ] || die "no [package] version in Cargo.toml"

# Highest version NAME_x.y… among the binary's dynamic symbols.
max_symver() {
  "${tool}objdump" -T "$bin" | grep -oE "(^|[^A-Z])$1[0-9.]+" | sed -E "s/^.*$1//" | sort -uV | tail -n 1
}
# One Depends entry per NEEDED library, as dpkg-shlibdeps would give on the target (the
# test checks the two agree on amd64): libc6 from the highest GLIBC_ symbol version,
# libstdc++6 from the GCC release that introduced the highest GLIBCXX_3.4.N, libgcc-s1 from
# the highest GCC_ version. libgomp1 (only with llama-cpp-sys-2's `openmp` feature) unversioned.
shlib_depends() {
  local lib v n
  for lib in $("${tool}objdump" -p "$bin" | awk '$1 == "NEEDED" { print $2 }'); do
    case "$lib" in
      libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|librt.so.1|ld-linux*)
        v=$(max_symver GLIBC_); echo "libc6 (>= ${v:?no GLIBC_ symbol versions})" ;;
      libstdc++.so.6)
        n=$(max_symver GLIBCXX_3.4.)
        case "$n" in
          2[0-5]) v=8 ;; 2[6-8]) v=10 ;; 29) v=11 ;; 30) v=12 ;; 31) v=13 ;; 32|33) v=14 ;;
          *) die "no libstdc++6 version known for GLIBCXX_3.4.$n: extend shlib_depends" ;;
        esac
        echo "libstdc++6 (>= $v)" ;;
      libgcc_s.so.1)
        v=$(max_symver GCC_); v=$(echo "$v" | cut -d. -f1-2); echo "libgcc-s1 (>= ${v:?no GCC_ symbol versions})" ;;
      libgomp.so.1) echo "libgomp1" ;;
      *) die "NEEDED $lib: no Debian package known for it: extend shlib_depends" ;;
    esac
  done | sort -u | paste -sd, | sed 's/,/, /g'
}
shlibs=$(shlib_depends)
# A binary from cross/build-aarch64.sh (default) has ggml's dotprod kernels: say so, since
# inference then dies with SIGILL on CPUs without dotprod (Pi 3 and 4, Cortex-A53/A72).
cpu_note=""
sdot=0
if [ "$arch" = arm64 ]; then sdot=$("${tool}objdump" -d "$bin" | grep -c $'\tsdot\t' || true); fi
if [ "$sdot" -gt 0 ]; then
  cpu_note=$' .\n Built for the Raspberry Pi 5 (armv8.2-a with dotprod): inference needs a CPU\n with dotprod. For a Pi 3 or 4, package a build of\n cross/build-aarch64.sh --generic.'
fi

name="edgewatt_${version}_${arch}"
stage="$out/$name"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"
install -D -m 0755 "$bin" "$stage/usr/bin/edgewatt"
"${tool}strip" --remove-section=.comment --remove-section=.note "$stage/usr/bin/edgewatt"
install -D -m 0644 systemd/edgewatt.service "$stage/lib/systemd/system/edgewatt.service"
install -D -m 0644 packaging/edgewatt.toml "$stage/etc/edgewatt/edgewatt.toml"
install -d "$stage/usr/share/edgewatt/plans"
install -m 0644 plans/*.toml "$stage/usr/share/edgewatt/plans/"
doc="$stage/usr/share/doc/edgewatt"
install -d "$doc"
install -m 0644 README.md docs/*.md "$doc/"
install -m 0644 packaging/copyright "$doc/copyright"
install -m 0644 systemd/edgewatt-network.conf "$doc/edgewatt-network.conf"
date_rfc2822=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")
maintainer=${DEB_MAINTAINER:-"edgewatt maintainers <maintainers@edgewatt.example.org>"}
printf 'edgewatt (%s) unstable; urgency=medium\n\n  * Built from git %s.\n\n -- %s  %s\n' \
  "$version" "$(git describe --always --dirty 2>/dev/null || echo unknown)" "$maintainer" \
  "$date_rfc2822" | gzip -9n > "$doc/changelog.gz"

install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm "$stage/DEBIAN/"
echo /etc/edgewatt/edgewatt.toml > "$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z \
  | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: edgewatt
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_kb
Depends: $shlibs, adduser
Section: utils
Priority: optional
Description: measures what local LLM/VLM inference costs on a Raspberry Pi 5
 edgewatt samples CPU, memory, temperature and power (INA219 over I2C, or the
 Pi 5 PMIC) into a compact append-only log, runs scheduled llama.cpp LLM/VLM
 workloads, and reports time, CPU, memory and energy per token.
 .
 The edgewatt service runs as the system user edgewatt and logs to
 /var/lib/edgewatt; its configuration is /etc/edgewatt/edgewatt.toml.
${cpu_note}
EOF
sed -i '/^$/d' "$stage/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out/$name.deb" >/dev/null
rm -rf "$stage"
echo "build-deb: $out/$name.deb ($(du -k "$out/$name.deb" | cut -f1) kB; Depends: $shlibs, adduser)"

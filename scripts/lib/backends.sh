# Shared by cross/build-aarch64.sh and scripts/build-deb.sh: checks that a directory holds
# every ggml CPU backend of packaging/cpu-variants.txt and, on arm64, that the dotprod
# variants have int8 dot-product (`sdot`) kernels and the baseline has none (it must run
# on a Cortex-A53/A72: Pi 3, Pi 4, Zero 2). Source it; needs $root (the repo).

# The variants listed for Debian architecture $1 (arm64, amd64), with their dotprod
# column: "variant dotprod|no-dotprod|-" per line.
cpu_variants() {
  awk -v arch="$1" '$1 == arch { print $2, $3 }' "$root/packaging/cpu-variants.txt"
}

# `sdot` instructions in ELF file $2, disassembled with objdump $1.
count_sdot() {
  "$1" -d "$2" | grep -c $'\tsdot\t' || true
}

# check_backends DIR ARCH OBJDUMP: prints one line per variant (with its sdot count on
# arm64) and the total; fails naming what is missing or wrong.
check_backends() {
  local dir=$1 arch=$2 objdump=$3 variant dotprod lib n total=0 bad=0
  local listed
  listed=$(cpu_variants "$arch")
  [ -n "$listed" ] || { echo "no $arch variants in packaging/cpu-variants.txt" >&2; return 1; }
  while read -r variant dotprod; do
    lib="$dir/libggml-cpu-$variant.so"
    if [ ! -r "$lib" ]; then
      echo "  $variant: MISSING ($lib)" >&2
      bad=1
      continue
    fi
    if [ "$arch" != arm64 ]; then
      echo "  $variant"
      continue
    fi
    n=$(count_sdot "$objdump" "$lib")
    total=$((total + n))
    echo "  $variant: $n sdot"
    if [ "$dotprod" = dotprod ] && [ "$n" = 0 ]; then
      echo "  $variant: no sdot, but it is the dotprod build" >&2
      bad=1
    elif [ "$dotprod" = no-dotprod ] && [ "$n" != 0 ]; then
      echo "  $variant: $n sdot in the baseline build: SIGILL on CPUs without dotprod" >&2
      bad=1
    fi
  done <<< "$listed"
  [ "$arch" = arm64 ] && echo "  total: $total sdot"
  return $bad
}

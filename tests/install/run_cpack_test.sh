#!/usr/bin/env bash
# run_cpack_test.sh: builds the TGZ and DEB packages of a liblola build tree into a scratch
# directory with CPack and checks what they contain (header, library and its links, CMake
# package, pkg-config file) and the Debian control fields.
#
# usage: run_cpack_test.sh BUILD_DIR [WORK_DIR [LIBDIR [CPACK [CONFIG]]]]
#   BUILD_DIR  the configured and built liblola build tree (holds CPackConfig.cmake)
#   WORK_DIR   scratch directory, deleted first (default BUILD_DIR/tests/install/cpack_test)
#   LIBDIR     CMAKE_INSTALL_LIBDIR of the build (default lib)
#   CPACK      cpack executable (default cpack)
#   CONFIG     build configuration for multi-config generators (default none)
set -euo pipefail
# The SONAME suffix: LOLA_ABI_VERSION of the header this tree builds.
LOLA_SO_ABI=$(sed -n 's/^#define LOLA_ABI_VERSION \([0-9]*\)$/\1/p' "$(dirname "$0")/../../capi/lola.h")

if [[ $# -lt 1 ]]; then
    sed -n '2,11p' "$0" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
work=${2:-$build/tests/install/cpack_test}
libdir=${3:-lib}
cpack=${4:-cpack}
config=${5:-}

fail() { echo "run_cpack_test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

for tool in "$cpack" tar dpkg-deb readelf pkg-config; do
    command -v "$tool" >/dev/null || fail "required tool '$tool' not found"
done
[[ -f $build/CPackConfig.cmake ]] || fail "$build/CPackConfig.cmake not found (LOLA_INSTALL off?)"

rm -rf "$work"
mkdir -p "$work"
config_args=()
[[ -n $config ]] && config_args=(-C "$config")

for gen in TGZ DEB; do
    step "cpack -G $gen -B $work"
    "$cpack" --config "$build/CPackConfig.cmake" -G "$gen" -B "$work" "${config_args[@]}"
done

# Exactly one file of a kind in the work directory.
only_one() {
    # shellcheck disable=SC2206 # $1 is a glob pattern, meant to expand here
    local found=("$work"/$1)
    [[ ${#found[@]} -eq 1 && -f ${found[0]} ]] || fail "expected one $1 in $work, found: ${found[*]}"
    echo "${found[0]}"
}
tgz=$(only_one '*.tar.gz')
deb=$(only_one '*.deb')

# Checks that a listing (one path per line, possibly with "-> target") has an entry ending in
# each of the given paths.
expect_entries() {
    local what=$1 listing=$2
    shift 2
    for path in "$@"; do
        grep -qE "(^|/)${path//./\\.}( -> .*)?\$" <<<"$listing" || fail "$what lacks $path"
    done
}
wanted=(include/lola.h include/lola.hpp "$libdir/liblola.so.$LOLA_SO_ABI" "$libdir/liblola.so"
        "$libdir/cmake/lola/lolaConfig.cmake" "$libdir/cmake/lola/lolaConfigVersion.cmake"
        "$libdir/cmake/lola/lolaTargets.cmake" "$libdir/pkgconfig/lola.pc")

step "contents of $(basename "$tgz")"
tgz_list=$(tar -tzvf "$tgz" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }')
echo "$tgz_list"
expect_entries "$(basename "$tgz")" "$tgz_list" "${wanted[@]}"

step "contents of $(basename "$deb")"
deb_list=$(dpkg-deb -c "$deb" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }')
echo "$deb_list"
expect_entries "$(basename "$deb")" "$deb_list" "${wanted[@]/#/usr/}"

# The packages are the C library and the CLI: the bindings (lola.jar, lib/cli/lola) ship apart.
for listing in "$tgz_list" "$deb_list"; do
    if grep -E '(share/java/lola\.jar|/cli/lola/)' <<<"$listing"; then
        fail "a package holds files of the Java or C# binding"
    fi
done

step "control fields of $(basename "$deb")"
dpkg-deb -f "$deb"
package=$(dpkg-deb -f "$deb" Package)
depends=$(dpkg-deb -f "$deb" Depends)
maintainer=$(dpkg-deb -f "$deb" Maintainer)
[[ $package == lola || $package == liblola1 ]] || fail "unexpected package name '$package'"
[[ -n $maintainer ]] || fail "the package has no Maintainer"
# The package names of Depends, one a line, without versions or alternatives' separators.
depends_names=$(tr ',|' '\n' <<<"$depends" | sed 's/(.*//; s/[[:space:]]//g; /^$/d')
has_depends() { grep -qxF -- "$1" <<<"$depends_names"; }
for dep in libc6 libstdc++6 zlib1g; do
    has_depends "$dep" || fail "Depends lacks $dep: $depends"
done

step "unpack both packages and check that their files work where they land"
mkdir -p "$work/tgz" "$work/deb"
tar -xzf "$tgz" -C "$work/tgz"
dpkg-deb -x "$deb" "$work/deb"
for root in "$work/tgz"/* "$work/deb/usr"; do
    lib=$(readlink -f "$root/$libdir/liblola.so.$LOLA_SO_ABI")
    [[ -f $lib ]] || fail "$root/$libdir/liblola.so.$LOLA_SO_ABI is a dangling link"
    soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
    [[ $soname == liblola.so.$LOLA_SO_ABI ]] || fail "$lib has SONAME '$soname'"
    # The relocatable lola.pc must resolve to the unpacked tree.
    incdir=$(PKG_CONFIG_PATH=$root/$libdir/pkgconfig pkg-config --variable=includedir lola)
    [[ -f $incdir/lola.h ]] || fail "lola.pc of $root points at $incdir, which has no lola.h"
done

step "every library liblola needs is covered by Depends"
# Debian package that provides each runtime library liblola may need.
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p')
while read -r so; do
    case $so in
        libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | ld-linux*) pkg=libc6 ;;
        libstdc++.so.*) pkg=libstdc++6 ;;
        libgcc_s.so.*) pkg=libgcc-s1 ;;
        libz.so.*) pkg=zlib1g ;;
        libcudart.so.*) pkg=cudart ;;
        *) fail "liblola needs $so, which this test cannot map to a Debian package" ;;
    esac
    if [[ $pkg == cudart ]]; then
        # NVIDIA's cuda-cudart-<major>-<minor> or Debian's libcudart<major>.
        grep -qE '^(cuda-cudart-[0-9]|libcudart[0-9])' <<<"$depends_names" ||
            fail "liblola needs $so but Depends ($depends) has no CUDA runtime"
    else
        has_depends "$pkg" || fail "liblola needs $so but Depends ($depends) lacks $pkg"
    fi
done <<<"$needed"

echo "run_cpack_test: all checks passed ($(basename "$tgz"), $(basename "$deb"))"

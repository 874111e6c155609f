#!/usr/bin/env bash
# run_install_test.sh: installs liblola from a build tree, moves the installed tree elsewhere
# (the package must be relocatable), then builds and runs consumer.c against the moved tree
# twice: through the CMake package (find_package(lola CONFIG)) and through pkg-config (lola.pc).
# It also checks the installed layout, the SONAME and that only lola_* symbols are exported.
#
# usage: run_install_test.sh BUILD_DIR SOURCE_DIR [WORK_DIR [LIBDIR [CC [CMAKE [CONFIG]]]]]
#   BUILD_DIR   the configured and built liblola build tree
#   SOURCE_DIR  the liblola source tree (for tests/install/consumer*)
#   WORK_DIR    scratch directory, deleted first (default BUILD_DIR/tests/install/install_test)
#   LIBDIR      CMAKE_INSTALL_LIBDIR of the build (default lib)
#   CC          C compiler for the consumers (default $CC or cc)
#   CMAKE       cmake executable (default cmake)
#   CONFIG      build configuration for multi-config generators (default none)
set -euo pipefail
# The SONAME suffix: LOLA_ABI_VERSION of the header this tree builds.
LOLA_SO_ABI=$(sed -n 's/^#define LOLA_ABI_VERSION \([0-9]*\)$/\1/p' "$(dirname "$0")/../../capi/lola.h")

if [[ $# -lt 2 ]]; then
    sed -n '2,15p' "$0" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=${3:-$build/tests/install/install_test}
libdir=${4:-lib}
cc=${5:-${CC:-cc}}
cmake=${6:-cmake}
config=${7:-}

fail() { echo "run_install_test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

for tool in nm readelf ldd pkg-config "$cc" "$cmake"; do
    command -v "$tool" >/dev/null || fail "required tool '$tool' not found"
done

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
moved=$work/relocated/elsewhere/prefix
config_args=()
[[ -n $config ]] && config_args=(--config "$config")

step "install $build into $prefix"
"$cmake" --install "$build" --prefix "$prefix" "${config_args[@]}"

step "move the installed tree to $moved"
mkdir -p "$(dirname "$moved")"
mv "$prefix" "$moved"
[[ ! -e $prefix ]] || fail "$prefix still exists after the move"
lib=$moved/$libdir

step "check the installed layout"
for f in include/lola.h include/lola.hpp "$libdir/liblola.so" "$libdir/liblola.so.$LOLA_SO_ABI" \
         "$libdir/cmake/lola/lolaConfig.cmake" "$libdir/cmake/lola/lolaConfigVersion.cmake" \
         "$libdir/cmake/lola/lolaTargets.cmake" "$libdir/pkgconfig/lola.pc"; do
    [[ -e $moved/$f ]] || fail "missing $f in the installed tree"
done
[[ -L $lib/liblola.so.$LOLA_SO_ABI ]] || fail "$libdir/liblola.so.$LOLA_SO_ABI is not a symbolic link"
[[ -L $lib/liblola.so ]] || fail "$libdir/liblola.so is not a symbolic link"
real_lib=$(readlink -f "$lib/liblola.so.$LOLA_SO_ABI")
[[ -f $real_lib && $(dirname "$real_lib") == "$(readlink -f "$lib")" ]] ||
    fail "liblola.so.$LOLA_SO_ABI does not resolve to a library in $libdir"
# Nothing installed may point back at the build tree, the source tree or the old prefix.
if stale=$(grep -rIlF -e "$build" -e "$src" -e "$prefix" "$moved"); then
    fail "installed files refer to the build/source tree or the install prefix:"$'\n'"$stale"
fi
if readelf -d "$real_lib" | grep -E 'R(UN)?PATH'; then
    fail "the installed library has an RPATH/RUNPATH"
fi

step "check the SONAME and the exported symbols"
soname=$(readelf -d "$real_lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
[[ $soname == liblola.so.$LOLA_SO_ABI ]] || fail "SONAME is '$soname', expected liblola.so.$LOLA_SO_ABI"
# nm prints "ADDRESS TYPE NAME[@@VERSION]"; the version node LOLA_1 itself is an absolute
# symbol (type A) that every versioned library has.
symbols=$(nm -D --defined-only "$real_lib" | awk '!($2 == "A" && $3 ~ /^LOLA_[0-9]+$/) { print $3 }')
[[ -n $symbols ]] || fail "the library exports no symbols"
if bad=$(grep -v '^lola_' <<<"$symbols"); then
    fail "the library exports symbols outside lola_*:"$'\n'"$bad"
fi
for sym in lola_abi_version lola_version lola_layer_create lola_layer_feed \
           lola_layer_get_head_state lola_layer_free; do
    grep -qE "^$sym(@|$)" <<<"$symbols" || fail "$sym is not exported"
done
echo "SONAME $soname, $(wc -l <<<"$symbols") exported symbols, all lola_*"

step "check that liblola needs no CUDA library (the driver is opened at run time, if at all)"
if cuda_deps=$(ldd "$real_lib" | grep -Ei 'libcuda|libcudart|libcublas|libnvidia'); then
    fail "the installed library depends on CUDA libraries:"$'\n'"$cuda_deps"
fi
echo "no CUDA library among: $(ldd "$real_lib" | awk '{ print $1 }' | tr '\n' ' ')"

# The README's route: the prefix's pkgconfig directory named on the command line, no
# PKG_CONFIG_PATH, no LD_LIBRARY_PATH (an rpath to the prefix's lib).
unset PKG_CONFIG_PATH
pkgconfig() { pkg-config --with-path="$lib/pkgconfig" "$@"; }
version=$(pkgconfig --modversion lola)
[[ -n $version ]] || fail "pkg-config gives no version"

# Runs a consumer binary and checks that liblola came from the moved tree.
run_consumer() {
    local exe=$1 how=$2 out
    local loaded
    loaded=$(ldd "$exe" | awk '$1 ~ /^liblola\.so/ { print $3 }')
    [[ $(readlink -f "$loaded") == "$(readlink -f "$lib/liblola.so.$LOLA_SO_ABI")" ]] ||
        fail "$how consumer loads liblola from '$loaded', not from $lib"
    out=$("$exe" "$version") || fail "$how consumer failed: $out"
    grep -q '^consumer ok' <<<"$out" || fail "$how consumer printed: $out"
    echo "$how: $out"
}

step "(a) CMake consumer: find_package(lola CONFIG REQUIRED) with CMAKE_PREFIX_PATH=$moved"
cmake_args=(-DCMAKE_PREFIX_PATH="$moved" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Release
            -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
            -DLOLA_EXPECTED_DIR="$lib/cmake/lola")
"$cmake" -S "$src/tests/install/consumer" -B "$work/consumer-cmake" "${cmake_args[@]}" \
    -DLOLA_REQUIRED_VERSION="${version%%.*}.0"
"$cmake" --build "$work/consumer-cmake" --config Release
exe=$(find "$work/consumer-cmake" -type f -name consumer -perm -u+x | head -n1)
[[ -n $exe ]] || fail "the CMake consumer was not built"
# No LD_LIBRARY_PATH: CMake's build RPATH must point at the imported library in the moved tree.
(unset LD_LIBRARY_PATH; run_consumer "$exe" "(a) cmake")

step "(a') find_package(lola $((${version%%.*} + 1)).0) must be refused (SameMajorVersion)"
if "$cmake" -S "$src/tests/install/consumer" -B "$work/consumer-cmake-badversion" \
        "${cmake_args[@]}" -DLOLA_REQUIRED_VERSION="$((${version%%.*} + 1)).0" \
        >"$work/badversion.log" 2>&1; then
    fail "find_package accepted major version $((${version%%.*} + 1))"
fi
tr -s ' \n' '  ' <"$work/badversion.log" | grep -q 'compatible with requested version' ||
    fail "find_package failed for another reason than the version: $(cat "$work/badversion.log")"

step "(b) pkg-config consumer: $cc consumer.c \$(pkg-config --with-path=$lib/pkgconfig --cflags --libs lola) -Wl,-rpath,$lib"
pc_flags=$(pkgconfig --cflags --libs lola)
echo "pkg-config flags: $pc_flags"
[[ $pc_flags == *"-llola"* ]] || fail "pkg-config flags lack -llola"
mkdir -p "$work/consumer-pc"
# shellcheck disable=SC2086 # the flags are meant to be split into words
"$cc" -std=c99 -Wall -Wextra -Wpedantic -Werror "$src/tests/install/consumer.c" $pc_flags \
    -Wl,-rpath,"$lib" -o "$work/consumer-pc/consumer"
(unset LD_LIBRARY_PATH; run_consumer "$work/consumer-pc/consumer" "(b) pkg-config")

echo "run_install_test: all checks passed"

#!/usr/bin/env bash
# run_bindings_install_test.sh: installs the Java and C# bindings' components from a build tree
# (cmake --install --component), moves the installed tree elsewhere, and runs each binding's
# example from the moved tree on a model, with no path into the build tree: the jar must carry
# liblola, and Lola.dll must find liblolacs.so beside it and liblola.so.<ABI> in the library folder.
#
# usage: run_bindings_install_test.sh BUILD_DIR WORK_DIR LIBDIR MODEL CMAKE [--java JAVA CLASSES]
#                                     [--csharp MONO EXAMPLE_EXE]
#   BUILD_DIR   the configured and built liblola build tree
#   WORK_DIR    scratch directory, deleted first
#   LIBDIR      CMAKE_INSTALL_LIBDIR of the build
#   MODEL       a GGUF model the examples can load (the tiny test model)
#   CMAKE       cmake executable
#   --java      the java launcher and the compiled example classes (Generate)
#   --csharp    the mono runtime and Generate.exe
set -euo pipefail
# The SONAME suffix: LOLA_ABI_VERSION of the header this tree builds.
LOLA_SO_ABI=$(sed -n 's/^#define LOLA_ABI_VERSION \([0-9]*\)$/\1/p' "$(dirname "$0")/../../capi/lola.h")

if [[ $# -lt 5 ]]; then
    sed -n '2,15p' "$0" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
work=$2
libdir=$3
model=$4
cmake=$5
shift 5
java= classes= mono= example_exe=
while [[ $# -gt 0 ]]; do
    case $1 in
        --java) java=$2 classes=$3; shift 3 ;;
        --csharp) mono=$2 example_exe=$3; shift 3 ;;
        *) echo "run_bindings_install_test: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -n $java || -n $mono ]] || { echo "run_bindings_install_test: nothing to test" >&2; exit 2; }

fail() { echo "run_bindings_install_test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
moved=$work/relocated/elsewhere/prefix
components=()
[[ -n $java ]] && components+=(lola_java)
[[ -n $mono ]] && components+=(lola_runtime lola_csharp)
for c in "${components[@]}"; do
    step "install component $c into $prefix"
    "$cmake" --install "$build" --prefix "$prefix" --component "$c"
done
mkdir -p "$(dirname "$moved")"
mv "$prefix" "$moved"
# Scratch copies of the examples, away from the build tree.
mkdir -p "$work/run"
cd "$work/run"

# The examples print the prompt and then a greedy continuation (which on the tiny model may
# be anything, even empty): the check is that they loaded the libraries and ran to the end.
check_output() {
    local what=$1 out=$2
    grep -q '^Hello' <<<"$out" || fail "$what printed: $out"
    echo "$what: $out"
}

if [[ -n $java ]]; then
    jar=$moved/share/java/lola.jar
    [[ -f $jar ]] || fail "missing share/java/lola.jar in the installed tree"
    # A zip names its entries uncompressed in its central directory.
    grep -aq "native/[a-z0-9_-]*/liblola\\.so\\.$LOLA_SO_ABI" "$jar" || fail "lola.jar does not carry liblola.so.$LOLA_SO_ABI"
    cp -r "$classes" "$work/run/example-classes"
    step "java -cp <installed lola.jar>:example-classes Generate"
    out=$(env -u LD_LIBRARY_PATH "$java" -cp "$jar:$work/run/example-classes" Generate \
          "$model" "Hello" 8 2>&1) || fail "the Java example failed: $out"
    check_output java "$out"
fi

if [[ -n $mono ]]; then
    dir=$moved/$libdir/cli/lola
    for f in Lola.dll liblolacs.so; do
        [[ -f $dir/$f ]] || fail "missing $libdir/cli/lola/$f in the installed tree"
    done
    [[ -e $moved/$libdir/liblola.so.$LOLA_SO_ABI ]] || fail "missing $libdir/liblola.so.$LOLA_SO_ABI (lola_runtime)"
    runpath=$(readelf -d "$dir/liblolacs.so" | sed -n 's/.*R\(UN\)\{0,1\}PATH.*\[\(.*\)\].*/\2/p')
    [[ $runpath == '$ORIGIN/../..' ]] || fail "liblolacs.so has RUNPATH '$runpath'"
    cp "$example_exe" "$work/run/Generate.exe"
    step "MONO_PATH=<installed cli/lola> mono Generate.exe"
    out=$(env -u LD_LIBRARY_PATH MONO_PATH="$dir" "$mono" "$work/run/Generate.exe" \
          "$model" "Hello" 8 2>&1) || fail "the C# example failed: $out"
    check_output csharp "$out"
fi
echo "run_bindings_install_test: all checks passed"

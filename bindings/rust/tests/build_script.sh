#!/usr/bin/env bash
# The Rust crates as a user's program meets them (ctest: rust_build_script):
#  1. lola-sys's build script fails readably, without a panic, when liblola cannot be found or a
#     LOLA_* variable is wrong, and says what to set;
#  2. a program outside the workspace, depending on `lola` by path with the build.rs of
#     docs/bindings/rust.md, gets an rpath (RUNPATH) to liblola and runs with LD_LIBRARY_PATH
#     unset; with LOLA_NO_RPATH=1 it gets none. The same through an install prefix, found by
#     LOLA_DIR and by pkg-config, when CMAKE and BUILD_DIR are given.
#
# usage: build_script.sh CARGO RUST_DIR INCLUDE_DIR LIB_DIR WORK_DIR [MODEL [CMAKE BUILD_DIR]]
#   RUST_DIR: bindings/rust; INCLUDE_DIR/LIB_DIR: where lola.h and liblola.so are; WORK_DIR:
#   scratch space (kept between runs, so cargo builds incrementally); MODEL: a GGUF to load;
#   CMAKE, BUILD_DIR: `cmake --install BUILD_DIR` makes the prefix.
set -euo pipefail
cargo=$1 rust_dir=$2 include_dir=$3 lib_dir=$4 work=$5 model=${6:-} cmake=${7:-} build_dir=${8:-}
mkdir -p "$work/empty-pkgconfig"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A build of lola-sys alone with only the given LOLA_* variables, and pkg-config that knows
# nothing (PKG_CONFIG_LIBDIR replaces its default search path).
build_sys() {
    env -u LOLA_DIR -u LOLA_INCLUDE_DIR -u LOLA_LIB_DIR -u LOLA_NO_RPATH -u PKG_CONFIG_PATH \
        PKG_CONFIG_LIBDIR="$work/empty-pkgconfig" "$@" \
        "$cargo" build --offline --quiet --manifest-path "$rust_dir/Cargo.toml" -p lola-sys \
        --target-dir "$work/target-messages" 2>&1
}

# expect_failure NAME WANTED... -- ENV...: the build fails, its output holds every WANTED text
# and no panic.
expect_failure() {
    local name=$1; shift
    local wanted=()
    while [ "$1" != "--" ]; do wanted+=("$1"); shift; done
    shift
    local out before=$failures
    if out=$(build_sys "$@"); then
        fail "$name: the build succeeded"
        return
    fi
    for w in "${wanted[@]}"; do
        if ! grep -qF -- "$w" <<<"$out"; then fail "$name: the output lacks '$w'"; fi
    done
    if grep -qE "panicked at|RUST_BACKTRACE" <<<"$out"; then fail "$name: the build script panicked"; fi
    if [ "$failures" = "$before" ]; then echo "ok   $name"; else echo "$out"; fi
}

expect_failure "no variables, pkg-config without lola" \
    "cannot find liblola" "pkg-config --cflags --libs lola" "LOLA_DIR=/opt/lola cargo build" \
    'LOLA_INCLUDE_DIR=$PWD/capi LOLA_LIB_DIR=$PWD/build/capi cargo build' \
    "PKG_CONFIG_PATH=/opt/lola/lib/pkgconfig" --
expect_failure "LOLA_INCLUDE_DIR without LOLA_LIB_DIR" "set both" -- LOLA_INCLUDE_DIR="$include_dir"
expect_failure "LOLA_LIB_DIR without the library" "LOLA_LIB_DIR: $work/missing does not exist" -- \
    LOLA_INCLUDE_DIR="$include_dir" LOLA_LIB_DIR="$work"/missing
expect_failure "LOLA_LIB_DIR of the wrong directory" "$include_dir holds no liblola.so" -- \
    LOLA_INCLUDE_DIR="$include_dir" LOLA_LIB_DIR="$include_dir"
expect_failure "a relative path" "LOLA_LIB_DIR=build/capi is a relative path" "absolute paths" -- \
    LOLA_INCLUDE_DIR="$include_dir" LOLA_LIB_DIR=build/capi
expect_failure "LOLA_DIR that is no prefix" "LOLA_DIR=$work is not a liblola install prefix" -- \
    LOLA_DIR="$work"
expect_failure "LOLA_INCLUDE_DIR without lola.h" "$lib_dir/lola.h does not exist" -- \
    LOLA_INCLUDE_DIR="$lib_dir" LOLA_LIB_DIR="$lib_dir"

# 2. A program of one's own, as docs/bindings/rust.md builds it.
app=$work/app
mkdir -p "$app/src"
cat > "$app/Cargo.toml" <<EOF
[package]
name = "rpath-check"
version = "0.1.0"
edition = "2021"

[dependencies]
lola = { path = "$rust_dir/lola" }

[workspace]
EOF
cat > "$app/build.rs" <<'EOF'
// build.rs, beside Cargo.toml
fn main() {
    // The directory of the liblola that the lola crate linked, as the program's rpath.
    if let Ok(dir) = std::env::var("DEP_LOLA_RPATH_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
EOF
cat > "$app/src/main.rs" <<'EOF'
fn main() {
    println!("liblola {}", lola::version());
    if let Some(path) = std::env::args().nth(1) {
        let model = lola::Model::load(&path).expect("the model loads");
        println!("{} tokens", model.tokenize("hello").expect("tokenize").len());
    }
}
EOF
# app_build TARGET ENV...: builds the program into TARGET with only the given LOLA_* and
# pkg-config variables.
app_build() {
    local target=$1; shift
    (cd "$app" && env -u LD_LIBRARY_PATH -u LOLA_DIR -u LOLA_INCLUDE_DIR -u LOLA_LIB_DIR \
        -u LOLA_NO_RPATH -u PKG_CONFIG_PATH "$@" "$cargo" build --offline --quiet --target-dir "$target")
}
if ! command -v readelf > /dev/null; then
    echo "FAIL: readelf (binutils) is not on PATH; it reads the program's RUNPATH"
    exit 1
fi
runpath() { readelf -d "$1" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p;s/.*(RPATH).*\[\(.*\)\]/\1/p'; }

# check_program HOW TARGET DIR: the program in TARGET has DIR in its RUNPATH and runs without
# LD_LIBRARY_PATH.
check_program() {
    local how=$1 binary=$2/debug/rpath-check want rp out
    want=$(cd "$3" && pwd -P)
    rp=$(runpath "$binary")
    if [[ ":$rp:" == *":$want:"* ]]; then
        echo "ok   $how: the program's RUNPATH is $rp"
    else
        fail "$how: RUNPATH '$rp' lacks $want"
    fi
    if out=$(env -u LD_LIBRARY_PATH "$binary" $model 2>&1); then
        echo "ok   $how: it runs without LD_LIBRARY_PATH: $(tr '\n' ' ' <<<"$out")"
    else
        fail "$how: it does not run without LD_LIBRARY_PATH: $out"
    fi
}

app_build "$app/target" LOLA_INCLUDE_DIR="$include_dir" LOLA_LIB_DIR="$lib_dir"
check_program "a build tree" "$app/target" "$lib_dir"

app_build "$app/target-no-rpath" LOLA_INCLUDE_DIR="$include_dir" LOLA_LIB_DIR="$lib_dir" LOLA_NO_RPATH=1
rp=$(runpath "$app/target-no-rpath/debug/rpath-check")
if [ -z "$rp" ]; then echo "ok   LOLA_NO_RPATH=1: no RUNPATH"; else fail "LOLA_NO_RPATH=1 still gave RUNPATH '$rp'"; fi

if [ -n "$cmake" ]; then
    prefix=$work/prefix
    rm -rf "$prefix"
    if ! install_log=$("$cmake" --install "$build_dir" --prefix "$prefix" 2>&1); then
        # A partly built tree cannot be installed; that is not this test's to judge.
        echo "NOTE: the install-prefix checks are skipped: cmake --install failed: $(tail -3 <<<"$install_log")"
    else
        installed_lib=$(dirname "$(ls "$prefix"/lib*/liblola.so | head -1)")
        app_build "$app/target-prefix" LOLA_DIR="$prefix"
        check_program "LOLA_DIR" "$app/target-prefix" "$installed_lib"
        # The .pc file is relocatable: its -L is <prefix>/lib/pkgconfig/../../lib.
        app_build "$app/target-pkgconfig" PKG_CONFIG_PATH="$installed_lib/pkgconfig"
        check_program "pkg-config" "$app/target-pkgconfig" "$installed_lib"
    fi
fi

if [ "$failures" != 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"

// build.rs of lola-sys: finds liblola, runs the bindgen CLI on its lola.h into OUT_DIR, and tells
// cargo how to link it. No build-dependencies, so the crate builds offline.
//
// Where liblola is looked for, first match wins:
//   1. LOLA_DIR: an install prefix holding include/lola.h and lib/liblola.so
//   2. LOLA_INCLUDE_DIR + LOLA_LIB_DIR: e.g. an in-tree build (capi/ and build/capi/)
//   3. the pkg-config CLI: `pkg-config --cflags --libs lola` (set PKG_CONFIG_PATH for a prefix)
// BINDGEN names the bindgen executable (default `bindgen` on PATH).
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the header and the library are; lib_dir is None when the linker finds it by itself
/// (pkg-config drops system directories such as /usr/lib from --libs).
struct Found {
    include_dir: PathBuf,
    lib_dir: Option<PathBuf>,
    how: String,
}

fn env_path(name: &str) -> Option<PathBuf> {
    println!("cargo:rerun-if-env-changed={name}");
    env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn from_prefix() -> Option<Found> {
    let prefix = env_path("LOLA_DIR")?;
    let include_dir = prefix.join("include");
    // Debian-style multiarch prefixes put the library in lib/<triplet>; lib64 on others.
    let lib_dir = ["lib", "lib64"].iter().map(|d| prefix.join(d)).find(|d| has_library(d)).unwrap_or_else(|| {
        panic!(
            "lola-sys: LOLA_DIR={} has no lib/liblola.so or lib64/liblola.so; \
                 LOLA_DIR must be the prefix liblola was installed into",
            prefix.display()
        )
    });
    Some(Found { include_dir, lib_dir: Some(lib_dir), how: format!("LOLA_DIR={}", prefix.display()) })
}

fn from_dirs() -> Option<Found> {
    let include_dir = env_path("LOLA_INCLUDE_DIR");
    let lib_dir = env_path("LOLA_LIB_DIR");
    match (include_dir, lib_dir) {
        (None, None) => None,
        (Some(include_dir), Some(lib_dir)) => {
            if !has_library(&lib_dir) {
                panic!("lola-sys: LOLA_LIB_DIR={} holds no liblola shared library", lib_dir.display());
            }
            let how = format!("LOLA_INCLUDE_DIR={} LOLA_LIB_DIR={}", include_dir.display(), lib_dir.display());
            Some(Found { include_dir, lib_dir: Some(lib_dir), how })
        }
        _ => panic!("lola-sys: set both LOLA_INCLUDE_DIR and LOLA_LIB_DIR, or neither"),
    }
}

fn from_pkg_config() -> Option<Found> {
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let out = Command::new("pkg-config").args(["--cflags", "--libs", "lola"]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let flags = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut include_dir = None;
    let mut lib_dir = None;
    for flag in flags.split_whitespace() {
        if let Some(dir) = flag.strip_prefix("-I") {
            include_dir.get_or_insert_with(|| PathBuf::from(dir));
        } else if let Some(dir) = flag.strip_prefix("-L") {
            lib_dir.get_or_insert_with(|| PathBuf::from(dir));
        }
    }
    // No -I means the header is in a default directory; bindgen's clang searches /usr/include.
    let include_dir = include_dir.unwrap_or_else(|| PathBuf::from("/usr/include"));
    Some(Found { include_dir, lib_dir, how: format!("pkg-config: {}", flags.trim()) })
}

fn help_mentions(bindgen: &std::ffi::OsStr, flag: &str) -> bool {
    Command::new(bindgen)
        .arg("--help")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains(flag))
        .unwrap_or(false)
}

fn has_library(dir: &Path) -> bool {
    ["liblola.so", "liblola.dylib", "lola.lib"].iter().any(|f| dir.join(f).exists())
}

fn main() {
    let found = from_prefix().or_else(from_dirs).or_else(from_pkg_config).unwrap_or_else(|| {
        panic!(
            "lola-sys: liblola not found. Set LOLA_DIR to its install prefix (with include/lola.h \
             and lib/liblola.so), or LOLA_INCLUDE_DIR and LOLA_LIB_DIR (an in-tree build: capi/ \
             and <build>/capi/), or make `pkg-config --cflags --libs lola` work (PKG_CONFIG_PATH \
             = <prefix>/lib/pkgconfig)"
        )
    });
    let header = found.include_dir.join("lola.h");
    if !header.is_file() {
        panic!("lola-sys: {} does not exist (found through {})", header.display(), found.how);
    }
    println!("cargo:rerun-if-changed={}", header.display());

    let out_file = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("lola_bindings.rs");
    println!("cargo:rerun-if-env-changed=BINDGEN");
    let bindgen = env::var_os("BINDGEN").unwrap_or_else(|| "bindgen".into());
    let mut command = Command::new(&bindgen);
    // size_t as usize, so lengths pass without casts: a flag before bindgen 0.61 (Debian 12
    // ships 0.60), the default and eventually a removed flag after.
    if help_mentions(&bindgen, "--size_t-is-usize") {
        command.arg("--size_t-is-usize");
    }
    let status = command
        .arg(&header)
        .arg("-o")
        .arg(&out_file)
        .args(["--allowlist-function", "lola_.*"])
        .args(["--allowlist-type", "lola_.*"])
        .args(["--allowlist-var", "LOLA_.*"])
        // Enum values as plain constants named as in C (LOLA_ERR_IO, not lola_status_LOLA_ERR_IO).
        .arg("--no-prepend-enum-name")
        .arg("--")
        .arg(format!("-I{}", found.include_dir.display()))
        .status()
        .unwrap_or_else(|e| {
            panic!(
                "lola-sys: cannot run `{}` ({e}); install bindgen (Debian: apt install bindgen) or set BINDGEN",
                bindgen.to_string_lossy()
            )
        });
    if !status.success() {
        panic!("lola-sys: `{}` failed on {} ({status})", bindgen.to_string_lossy(), header.display());
    }

    if let Some(lib_dir) = &found.lib_dir {
        println!("cargo:rustc-link-search=native={}", lib_dir.display());
        // For this crate's own tests; dependents read DEP_LOLA_LIB_DIR to add the same rpath.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
        println!("cargo:lib_dir={}", lib_dir.display());
    }
    println!("cargo:include={}", found.include_dir.display());
    println!("cargo:rustc-link-lib=dylib=lola");
}

// build.rs of lola-sys: finds liblola, runs the bindgen CLI on its lola.h into OUT_DIR, and tells
// cargo how to link it. No build-dependencies, so the crate builds offline.
//
// Where liblola is looked for, first match wins:
//   1. LOLA_DIR: an install prefix holding include/lola.h and lib/liblola.so
//   2. LOLA_INCLUDE_DIR + LOLA_LIB_DIR: e.g. a build tree (<src>/capi and <build>/capi)
//   3. the pkg-config CLI: `pkg-config --cflags --libs lola` (set PKG_CONFIG_PATH for a prefix)
// BINDGEN names the bindgen executable (default `bindgen` on PATH).
//
// A library outside the loader's default directories gets an rpath: on this crate's own tests,
// and, through the metadata `rpath` (DEP_LOLA_RPATH), on the tests and examples of the `lola`
// crate, which passes it on to programs' build scripts (see docs/bindings/rust.md).
// LOLA_NO_RPATH=1 turns all of that off (for packagers who install liblola in a system path).
//
// Every failure prints what to set and exits with status 1: no panic, no backtrace.
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

/// What every "not found" message ends with: the three ways to point the build at liblola.
const HOW_TO_SET: &str = "\
Point the build at liblola in one of these ways (absolute paths; cargo runs this script in
the lola-sys directory, so relative ones would not mean what you typed):

  an install prefix (cmake --install build --prefix /opt/lola):
      LOLA_DIR=/opt/lola cargo build

  a build tree, from the liblola source directory (headers in capi/, library in build/capi/):
      LOLA_INCLUDE_DIR=$PWD/capi LOLA_LIB_DIR=$PWD/build/capi cargo build

  pkg-config, for a prefix with lib/pkgconfig/lola.pc:
      PKG_CONFIG_PATH=/opt/lola/lib/pkgconfig cargo build

The directory of the library is written into the test binaries as their rpath (no
LD_LIBRARY_PATH needed); set LOLA_NO_RPATH=1 to leave it out.";

/// Every variable this script reads; printed as rerun-if-env-changed on success only (cargo
/// reruns a failed script anyway), which keeps cargo's report of a failure short.
const ENV_VARS: &[&str] = &[
    "LOLA_DIR",
    "LOLA_INCLUDE_DIR",
    "LOLA_LIB_DIR",
    "LOLA_NO_RPATH",
    "BINDGEN",
    "PKG_CONFIG_PATH",
    "PKG_CONFIG_LIBDIR",
    "PKG_CONFIG_SYSROOT_DIR",
];

fn env_path(name: &str) -> Result<Option<PathBuf>, String> {
    let path = match env::var_os(name).filter(|v| !v.is_empty()) {
        Some(value) => PathBuf::from(value),
        None => return Ok(None),
    };
    if path.is_relative() {
        return Err(format!("{name}={} is a relative path.\n\n{HOW_TO_SET}", path.display()));
    }
    Ok(Some(path))
}

fn has_library(dir: &Path) -> bool {
    ["liblola.so", "liblola.dylib", "lola.lib"].iter().any(|f| dir.join(f).exists())
}

/// Why `dir` cannot be linked against: it does not exist, or holds only the runtime
/// liblola.so.N without the liblola.so link that `-llola` needs.
fn why_no_library(dir: &Path) -> String {
    if !dir.is_dir() {
        return format!("{} does not exist", dir.display());
    }
    let runtime_only = std::fs::read_dir(dir)
        .map(|entries| {
            entries.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().starts_with("liblola.so."))
        })
        .unwrap_or(false);
    if runtime_only {
        format!("{} has liblola.so.N but no liblola.so (the link the linker's -llola needs)", dir.display())
    } else {
        format!("{} holds no liblola.so", dir.display())
    }
}

fn from_prefix() -> Result<Option<Found>, String> {
    let prefix = match env_path("LOLA_DIR")? {
        Some(prefix) => prefix,
        None => return Ok(None),
    };
    // Debian-style multiarch prefixes put the library in lib/<triplet>; lib64 on others.
    let lib_dir = ["lib", "lib64"].iter().map(|d| prefix.join(d)).find(|d| has_library(d)).ok_or_else(|| {
        format!(
            "LOLA_DIR={} is not a liblola install prefix: {}, and lib64/ has none either.\n\n{HOW_TO_SET}",
            prefix.display(),
            why_no_library(&prefix.join("lib"))
        )
    })?;
    let include_dir = prefix.join("include");
    Ok(Some(Found { include_dir, lib_dir: Some(lib_dir), how: format!("LOLA_DIR={}", prefix.display()) }))
}

fn from_dirs() -> Result<Option<Found>, String> {
    let include_dir = env_path("LOLA_INCLUDE_DIR")?;
    let lib_dir = env_path("LOLA_LIB_DIR")?;
    match (include_dir, lib_dir) {
        (None, None) => Ok(None),
        (Some(include_dir), Some(lib_dir)) => {
            if !has_library(&lib_dir) {
                return Err(format!("LOLA_LIB_DIR: {}.\n\n{HOW_TO_SET}", why_no_library(&lib_dir)));
            }
            let how = format!("LOLA_INCLUDE_DIR={} LOLA_LIB_DIR={}", include_dir.display(), lib_dir.display());
            Ok(Some(Found { include_dir, lib_dir: Some(lib_dir), how }))
        }
        (Some(_), None) => Err(format!("LOLA_INCLUDE_DIR is set but LOLA_LIB_DIR is not: set both.\n\n{HOW_TO_SET}")),
        (None, Some(_)) => Err(format!("LOLA_LIB_DIR is set but LOLA_INCLUDE_DIR is not: set both.\n\n{HOW_TO_SET}")),
    }
}

/// The pkg-config result, or why pkg-config gave none (for the final message).
fn from_pkg_config() -> Result<Found, String> {
    let out = match Command::new("pkg-config").args(["--cflags", "--libs", "lola"]).output() {
        Ok(out) => out,
        Err(e) => return Err(format!("`pkg-config` cannot run ({e})")),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = stderr.lines().next().unwrap_or("").trim().trim_end_matches('.');
        return Err(format!("`pkg-config --cflags --libs lola` failed ({why})"));
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
    Ok(Found { include_dir, lib_dir, how: format!("pkg-config: {}", flags.trim()) })
}

fn find() -> Result<Found, String> {
    if let Some(found) = from_prefix()? {
        return Ok(found);
    }
    if let Some(found) = from_dirs()? {
        return Ok(found);
    }
    from_pkg_config().map_err(|why| {
        format!(
            "cannot find liblola: LOLA_DIR, LOLA_INCLUDE_DIR and LOLA_LIB_DIR are not set, and\n\
             {why}.\n\n{HOW_TO_SET}"
        )
    })
}

fn help_mentions(bindgen: &std::ffi::OsStr, flag: &str) -> bool {
    Command::new(bindgen)
        .arg("--help")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains(flag))
        .unwrap_or(false)
}

/// True for directories the dynamic loader searches by itself, which need no rpath.
fn is_system_dir(dir: &Path) -> bool {
    ["/lib", "/lib64", "/usr/lib", "/usr/lib64"].iter().any(|d| dir == Path::new(d))
        || dir.parent().map_or(false, |p| p == Path::new("/usr/lib") || p == Path::new("/lib"))
            && dir.file_name().map_or(false, |n| n.to_string_lossy().ends_with("-linux-gnu"))
}

fn run() -> Result<(), String> {
    let found = find()?;
    let header = found.include_dir.join("lola.h");
    if !header.is_file() {
        return Err(format!("{} does not exist (found through {}).\n\n{HOW_TO_SET}", header.display(), found.how));
    }

    let out_dir = env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?;
    let out_file = PathBuf::from(out_dir).join("lola_bindings.rs");
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
        .map_err(|e| {
            format!(
                "cannot run `{}` ({e}).\nInstall the bindgen CLI (Debian: apt install bindgen; or cargo install \
                 bindgen-cli), or set BINDGEN=/path/to/bindgen.",
                bindgen.to_string_lossy()
            )
        })?;
    if !status.success() {
        return Err(format!(
            "`{}` failed on {} ({status}); its messages are above.",
            bindgen.to_string_lossy(),
            header.display()
        ));
    }

    let rpath = env::var_os("LOLA_NO_RPATH").map_or(true, |v| v.is_empty() || v == "0");
    if let Some(lib_dir) = &found.lib_dir {
        println!("cargo:rustc-link-search=native={}", lib_dir.display());
        println!("cargo:lib_dir={}", lib_dir.display());
        // Without "..", links or a relative pkg-config prefix in the program's RUNPATH.
        let rpath_dir = std::fs::canonicalize(lib_dir).unwrap_or_else(|_| lib_dir.clone());
        if rpath && !is_system_dir(&rpath_dir) {
            // This crate's own tests. Link arguments reach no other package: dependents read
            // DEP_LOLA_RPATH and add it themselves (the lola crate does; so can programs).
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", rpath_dir.display());
            println!("cargo:rpath={}", rpath_dir.display());
        }
    }
    println!("cargo:include={}", found.include_dir.display());
    println!("cargo:rustc-link-lib=dylib=lola");
    println!("cargo:rerun-if-changed={}", header.display());
    for var in ENV_VARS {
        println!("cargo:rerun-if-env-changed={var}");
    }
    Ok(())
}

fn main() {
    if let Err(message) = run() {
        // cargo prints this under "--- stderr" of the failed build script; indent nothing so
        // the commands can be copied.
        eprintln!("\nerror: lola-sys: {message}\n");
        std::process::exit(1);
    }
}

// build.rs of lola: gives this crate's tests, examples and doc tests an rpath to the liblola
// that lola-sys linked, so they run without LD_LIBRARY_PATH, and hands that directory on.
//
// Cargo passes a build script's link arguments to its own package's binaries only, never to a
// dependent's. lola-sys publishes the directory as DEP_LOLA_RPATH (its `links = "lola"`); this
// crate (`links = "lola_rpath"`) republishes it as DEP_LOLA_RPATH_DIR for the build script of a
// program that depends on it, which adds the rpath to the program (docs/bindings/rust.md):
//
//     fn main() {
//         if let Ok(dir) = std::env::var("DEP_LOLA_RPATH_DIR") {
//             println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
//         }
//     }
//
// Unset (no rpath wanted) when liblola is in a system directory or LOLA_NO_RPATH=1.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_LOLA_RPATH");
    if let Ok(dir) = std::env::var("DEP_LOLA_RPATH") {
        // Applies to this package's tests, examples and benches (a library takes no link args).
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:dir={dir}");
    }
}

// build.rs of lola: gives this crate's tests, examples and doc tests an rpath to the liblola
// that lola-sys linked (DEP_LOLA_LIB_DIR, from its `links = "lola"`), so they run without
// LD_LIBRARY_PATH. Link arguments do not propagate from lola-sys to its dependents by themselves.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_LOLA_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_LOLA_LIB_DIR") {
        // Applies to this package's tests, examples and benches (a library takes no link args).
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

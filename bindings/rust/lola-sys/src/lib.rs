//! Raw FFI bindings to liblola, generated from `lola.h` by the bindgen CLI at build time.
//!
//! Every item mirrors the C header one to one (enum values as constants without the enum
//! prefix, e.g. `LOLA_ERR_IO`); `lola.h` is their documentation. Use the `lola` crate for the
//! safe API.
#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case)]
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/lola_bindings.rs"));

//! Errors: every fallible call returns `Result<T, Error>`, where the error carries the C
//! status and the message liblola wrote for the failing call.
use std::ffi::CStr;
use std::fmt;
use std::sync::Mutex;

use lola_sys as sys;

/// The error statuses of `lola_status` (LOLA_OK is success, so it is no variant). Values
/// appended to the C enum by a newer library arrive as `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    InvalidArgument,
    NullHandle,
    NullPointer,
    SizeMismatch,
    BufferTooSmall,
    NonFinite,
    OutOfMemory,
    CorruptData,
    VersionMismatch,
    Incompatible,
    Unsupported,
    Internal,
    Io,
    Aborted,
    Unknown(u32),
}

impl Status {
    /// The status of a C return value; `None` for LOLA_OK.
    pub fn from_raw(raw: sys::lola_status) -> Option<Status> {
        Some(match raw {
            sys::LOLA_OK => return None,
            sys::LOLA_ERR_INVALID_ARGUMENT => Status::InvalidArgument,
            sys::LOLA_ERR_NULL_HANDLE => Status::NullHandle,
            sys::LOLA_ERR_NULL_POINTER => Status::NullPointer,
            sys::LOLA_ERR_SIZE_MISMATCH => Status::SizeMismatch,
            sys::LOLA_ERR_BUFFER_TOO_SMALL => Status::BufferTooSmall,
            sys::LOLA_ERR_NON_FINITE => Status::NonFinite,
            sys::LOLA_ERR_OUT_OF_MEMORY => Status::OutOfMemory,
            sys::LOLA_ERR_CORRUPT_DATA => Status::CorruptData,
            sys::LOLA_ERR_VERSION_MISMATCH => Status::VersionMismatch,
            sys::LOLA_ERR_INCOMPATIBLE => Status::Incompatible,
            sys::LOLA_ERR_UNSUPPORTED => Status::Unsupported,
            sys::LOLA_ERR_INTERNAL => Status::Internal,
            sys::LOLA_ERR_IO => Status::Io,
            sys::LOLA_ERR_ABORTED => Status::Aborted,
            other => Status::Unknown(other),
        })
    }

    /// The C value of this status.
    pub fn to_raw(self) -> sys::lola_status {
        match self {
            Status::InvalidArgument => sys::LOLA_ERR_INVALID_ARGUMENT,
            Status::NullHandle => sys::LOLA_ERR_NULL_HANDLE,
            Status::NullPointer => sys::LOLA_ERR_NULL_POINTER,
            Status::SizeMismatch => sys::LOLA_ERR_SIZE_MISMATCH,
            Status::BufferTooSmall => sys::LOLA_ERR_BUFFER_TOO_SMALL,
            Status::NonFinite => sys::LOLA_ERR_NON_FINITE,
            Status::OutOfMemory => sys::LOLA_ERR_OUT_OF_MEMORY,
            Status::CorruptData => sys::LOLA_ERR_CORRUPT_DATA,
            Status::VersionMismatch => sys::LOLA_ERR_VERSION_MISMATCH,
            Status::Incompatible => sys::LOLA_ERR_INCOMPATIBLE,
            Status::Unsupported => sys::LOLA_ERR_UNSUPPORTED,
            Status::Internal => sys::LOLA_ERR_INTERNAL,
            Status::Io => sys::LOLA_ERR_IO,
            Status::Aborted => sys::LOLA_ERR_ABORTED,
            Status::Unknown(raw) => raw,
        }
    }

    /// The C name, e.g. "LOLA_ERR_IO" (from `lola_status_string`).
    pub fn name(self) -> &'static str {
        // SAFETY: lola_status_string never returns NULL and its strings live forever.
        let name = unsafe { CStr::from_ptr(sys::lola_status_string(self.to_raw())) };
        name.to_str().unwrap_or("LOLA_ERR_UNKNOWN")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed liblola call: its status and the library's message (what went wrong and where).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

/// `std::result::Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error detected on the Rust side of the boundary (before any C call).
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// The error of the C call that just returned `status` on this thread. Must run before any
    /// other liblola call: the message pointer lives until the next call on this thread.
    fn last(status: Status) -> Error {
        // SAFETY: never NULL; read and copied at once, before any other liblola call.
        let message = unsafe { CStr::from_ptr(sys::lola_last_error_message()) };
        let message = message.to_string_lossy().into_owned();
        Error { status, message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.status)
        } else {
            write!(f, "{}: {}", self.status, self.message)
        }
    }
}

impl std::error::Error for Error {}

/// Turns a C status into a Result, reading the thread-local message on failure.
pub(crate) fn check(raw: sys::lola_status) -> Result<()> {
    match Status::from_raw(raw) {
        None => Ok(()),
        Some(status) => Err(Error::last(status)),
    }
}

// The params structs wrapped here (lola_attention_params and the `attention` pointer of the
// layer and context params) are those of ABI 2: a header of another ABI fails the build here
// rather than at run time.
const _: () = assert!(sys::LOLA_ABI_VERSION == 2, "the lola crate is written for liblola ABI 2");

/// Compares the library's ABI version with the one these bindings were generated for.
pub fn check_abi_version(library: i32, bindings: i32) -> Result<()> {
    if library == bindings {
        Ok(())
    } else {
        Err(Error::new(
            Status::VersionMismatch,
            format!(
                "liblola ABI version {library} differs from the version {bindings} that the lola \
                 crate was built for; rebuild the crate against this library (or load the \
                 liblola.so.{bindings} it was built with)"
            ),
        ))
    }
}

/// Checks the loaded library's ABI once per process; every later call returns the same result.
pub(crate) fn ensure_abi() -> Result<()> {
    // A Mutex rather than OnceLock keeps the crate building with Debian 12's rustc 1.63.
    static CHECKED: Mutex<Option<Result<()>>> = Mutex::new(None);
    let mut checked = CHECKED.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    checked
        .get_or_insert_with(|| {
            // SAFETY: no arguments; reads a constant.
            let library = unsafe { sys::lola_abi_version() };
            check_abi_version(library, sys::LOLA_ABI_VERSION as i32)
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_match_and_mismatch() {
        assert!(check_abi_version(2, 2).is_ok());
        let err = check_abi_version(1, 2).unwrap_err();
        assert_eq!(err.status, Status::VersionMismatch);
        assert!(err.message.contains("ABI version 1"), "{err}");
        assert!(err.message.contains("liblola.so.2"), "{err}");
        assert!(ensure_abi().is_ok(), "the linked liblola should match its own header");
    }

    /// "LOLA_ERR_INVALID_ARGUMENT" -> "InvalidArgument": the variant name a C name asks for.
    fn variant_name(c_name: &str) -> String {
        let words = c_name.strip_prefix("LOLA_ERR_").unwrap_or_else(|| panic!("{c_name} is no error name"));
        words
            .split('_')
            .map(|w| {
                let mut chars = w.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase()).into_iter();
                first.chain(chars.map(|c| c.to_ascii_lowercase())).collect::<String>()
            })
            .collect()
    }

    fn c_name(raw: sys::lola_status) -> String {
        // SAFETY: never NULL, static storage.
        unsafe { CStr::from_ptr(sys::lola_status_string(raw)) }.to_str().unwrap().to_owned()
    }

    /// Every status the library names maps to the variant of that name and back, so a status
    /// appended to lola.h without a variant here fails this test (the library, built from the
    /// same header, names it; `from_raw` would give `Unknown`).
    #[test]
    fn every_c_status_has_its_variant() {
        assert_eq!(Status::from_raw(sys::LOLA_OK), None);
        assert_eq!(c_name(sys::LOLA_OK), "LOLA_OK");
        let mut raw: sys::lola_status = 1;
        while c_name(raw) != "LOLA_ERR_UNKNOWN" {
            let status = Status::from_raw(raw).unwrap();
            assert!(!matches!(status, Status::Unknown(_)), "{} ({raw}) has no Status variant", c_name(raw));
            assert_eq!(format!("{status:?}"), variant_name(&c_name(raw)), "status {raw}");
            assert_eq!(status.to_raw(), raw);
            assert_eq!(status.name(), c_name(raw));
            raw += 1;
            assert!(raw < 1000, "lola_status_string names every value");
        }
        assert!(raw > sys::LOLA_ERR_ABORTED, "the library names fewer statuses than lola.h");
        assert_eq!(Status::from_raw(raw), Some(Status::Unknown(raw)));
        assert_eq!(Status::Unknown(raw).to_raw(), raw);
        assert_eq!(Status::Io.to_string(), "LOLA_ERR_IO");
    }
}

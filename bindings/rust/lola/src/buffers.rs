//! The C API's caller-provided output buffers: call with a first guess of the capacity, and
//! once more with the size the library reported when that was too small.
use lola_sys as sys;

use crate::error::{check, Result};

/// Runs `call(buffer, capacity, &mut n)` until the output fits and returns the n elements.
/// `extra` is room the call needs beyond n (1 for outputs that end with a NUL).
pub(crate) fn read_sized<T: Copy + Default>(
    first_guess: usize,
    extra: usize,
    mut call: impl FnMut(*mut T, usize, &mut usize) -> sys::lola_status,
) -> Result<Vec<T>> {
    let mut buf = vec![T::default(); first_guess.max(1)];
    // Two rounds suffice (the output is deterministic); the third only reports the error.
    for _ in 0..3 {
        let mut n = 0usize;
        let raw = call(buf.as_mut_ptr(), buf.len(), &mut n);
        if raw == sys::LOLA_ERR_BUFFER_TOO_SMALL && n + extra > buf.len() {
            buf.resize(n + extra, T::default());
            continue;
        }
        check(raw)?;
        buf.truncate(n);
        return Ok(buf);
    }
    Err(crate::Error::new(crate::Status::Internal, "liblola kept asking for a larger buffer"))
}

/// A NUL-terminated fixed-size C char array as a String (lossy on invalid UTF-8).
pub(crate) fn c_chars_to_string(chars: &[std::os::raw::c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

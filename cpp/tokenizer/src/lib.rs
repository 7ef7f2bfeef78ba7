//! C ABI over HuggingFace `tokenizers`, a Jinja chat-template renderer (MiniJinja) and
//! llguidance's output constraints,
//! linked statically into libloupe so the native library takes text in and gives text out.
//!
//! Conventions for every exported function (see cpp/tokenizer/include/loupe_tokenizer.h):
//! * it returns NULL on success or an owned, NUL-terminated error message that the caller
//!   frees with `loupe_tok_string_free`;
//! * outputs are written through out-pointers only on success;
//! * it never unwinds into C++: the body runs inside `catch_unwind` and a panic becomes an
//!   error message.
#![deny(unsafe_op_in_unsafe_fn)]

mod chat_template;
mod constraint;
mod ffi;
mod python_json;
mod tokenizer;

pub use ffi::*;

//! The exported C functions. Every body runs under `catch_unwind`; failures and panics come
//! back as an owned error string, never as an unwind into C++.
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use crate::chat_template::ChatTemplate;
use crate::constraint::{ConstraintCompiler, ConstraintKind, ConstraintMatcher};
use crate::tokenizer::LoadedTokenizer;

/// Opaque handles.
pub struct LoupeTokenizer(LoadedTokenizer);
pub struct LoupeChatTemplate(ChatTemplate);
pub struct LoupeConstraintCompiler(ConstraintCompiler);
pub struct LoupeConstraint(ConstraintMatcher);

/// A Rust-owned byte buffer (UTF-8 text, not NUL-terminated); free with `loupe_tok_bytes_free`.
#[repr(C)]
pub struct LoupeBytes {
    pub data: *mut u8,
    pub len: usize,
}

/// A Rust-owned id array; free with `loupe_tok_ids_free`.
#[repr(C)]
pub struct LoupeIds {
    pub data: *mut u32,
    pub len: usize,
}

fn error_string(message: &str) -> *mut c_char {
    let clean: String = message.chars().map(|c| if c == '\0' { ' ' } else { c }).collect();
    CString::new(clean).expect("NUL removed").into_raw()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// Runs `body`, turning an Err or a panic into an error string for C.
fn guarded(body: impl FnOnce() -> Result<(), String>) -> *mut c_char {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ptr::null_mut(),
        Ok(Err(message)) => error_string(&message),
        Err(payload) => error_string(&format!("internal error in tokenizer library: {}", panic_message(&*payload))),
    }
}

/// # Safety
/// `data` must point to `len` readable bytes (or be anything when `len` is 0).
unsafe fn bytes_in<'a>(data: *const u8, len: usize) -> Result<&'a [u8], String> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err("null pointer with non-zero length".to_owned());
    }
    // SAFETY: guaranteed by the caller.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// # Safety
/// As `bytes_in`.
unsafe fn str_in<'a>(data: *const u8, len: usize, what: &str) -> Result<&'a str, String> {
    // SAFETY: forwarded contract.
    let bytes = unsafe { bytes_in(data, len) }?;
    std::str::from_utf8(bytes).map_err(|e| format!("{what} is not valid UTF-8: {e}"))
}

fn bytes_out(text: String) -> LoupeBytes {
    let boxed = text.into_bytes().into_boxed_slice();
    let len = boxed.len();
    LoupeBytes { data: Box::into_raw(boxed) as *mut u8, len }
}

fn ids_out(ids: Vec<u32>) -> LoupeIds {
    let boxed = ids.into_boxed_slice();
    let len = boxed.len();
    LoupeIds { data: Box::into_raw(boxed) as *mut u32, len }
}

/// # Safety
/// `ptr` must be non-null and writable.
unsafe fn write_out<T>(ptr: *mut T, value: T) -> Result<(), String> {
    if ptr.is_null() {
        return Err("null output pointer".to_owned());
    }
    // SAFETY: checked non-null; writability guaranteed by the caller.
    unsafe { ptr.write(value) };
    Ok(())
}

fn tokenizer_ref<'a>(handle: *const LoupeTokenizer) -> Result<&'a LoadedTokenizer, String> {
    // SAFETY: a non-null handle came from loupe_tok_from_* and is not yet freed.
    unsafe { handle.as_ref() }.map(|h| &h.0).ok_or_else(|| "null tokenizer handle".to_owned())
}

// ---- strings and buffers ----

/// # Safety
/// `message` must be NULL or a string returned by this library, freed once.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_string_free(message: *mut c_char) {
    if !message.is_null() {
        // SAFETY: produced by CString::into_raw in error_string.
        drop(unsafe { CString::from_raw(message) });
    }
}

/// # Safety
/// `bytes` must come from this library (or be zeroed), freed once.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_bytes_free(bytes: LoupeBytes) {
    if !bytes.data.is_null() {
        // SAFETY: produced by Box::into_raw of a boxed slice of exactly `len` bytes.
        drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(bytes.data, bytes.len)) });
    }
}

/// # Safety
/// `ids` must come from this library (or be zeroed), freed once.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_ids_free(ids: LoupeIds) {
    if !ids.data.is_null() {
        // SAFETY: produced by Box::into_raw of a boxed slice of exactly `len` ids.
        drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(ids.data, ids.len)) });
    }
}

// ---- tokenizer ----

/// # Safety
/// `path` points to `path_len` bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_from_file(path: *const u8, path_len: usize, out: *mut *mut LoupeTokenizer) -> *mut c_char {
    guarded(|| {
        // SAFETY: caller contract.
        let path = unsafe { str_in(path, path_len, "tokenizer path") }?;
        let tokenizer = LoadedTokenizer::from_file(path)?;
        // SAFETY: caller contract.
        unsafe { write_out(out, Box::into_raw(Box::new(LoupeTokenizer(tokenizer)))) }
    })
}

/// # Safety
/// `json` points to `json_len` bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_from_json(json: *const u8, json_len: usize, out: *mut *mut LoupeTokenizer) -> *mut c_char {
    guarded(|| {
        // SAFETY: caller contract.
        let json = unsafe { bytes_in(json, json_len) }?;
        let tokenizer = LoadedTokenizer::from_json(json)?;
        // SAFETY: caller contract.
        unsafe { write_out(out, Box::into_raw(Box::new(LoupeTokenizer(tokenizer)))) }
    })
}

/// # Safety
/// `handle` is NULL or from `loupe_tok_from_*`, freed once.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_free(handle: *mut LoupeTokenizer) {
    if !handle.is_null() {
        // A panic in a destructor must not unwind into C++ either.
        // SAFETY: produced by Box::into_raw in loupe_tok_from_*.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(handle) })));
    }
}

/// # Safety
/// `text` points to `text_len` bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_encode(
    handle: *const LoupeTokenizer,
    text: *const u8,
    text_len: usize,
    add_special_tokens: bool,
    out: *mut LoupeIds,
) -> *mut c_char {
    guarded(|| {
        let tokenizer = tokenizer_ref(handle)?;
        // SAFETY: caller contract.
        let text = unsafe { str_in(text, text_len, "text") }?;
        let ids = tokenizer.encode(text, add_special_tokens)?;
        // SAFETY: caller contract.
        unsafe { write_out(out, ids_out(ids)) }
    })
}

/// # Safety
/// `ids` points to `count` ids; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_decode(
    handle: *const LoupeTokenizer,
    ids: *const u32,
    count: usize,
    skip_special_tokens: bool,
    out: *mut LoupeBytes,
) -> *mut c_char {
    guarded(|| {
        let tokenizer = tokenizer_ref(handle)?;
        let ids: &[u32] = if count == 0 {
            &[]
        } else if ids.is_null() {
            return Err("null id array with non-zero length".to_owned());
        } else {
            // SAFETY: caller contract.
            unsafe { std::slice::from_raw_parts(ids, count) }
        };
        let text = tokenizer.decode(ids, skip_special_tokens)?;
        // SAFETY: caller contract.
        unsafe { write_out(out, bytes_out(text)) }
    })
}

/// Writes the id and `*found = true`, or `*found = false` when the token is not in the vocabulary.
///
/// # Safety
/// `token` points to `token_len` bytes; `id` and `found` are writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_token_to_id(
    handle: *const LoupeTokenizer,
    token: *const u8,
    token_len: usize,
    id: *mut u32,
    found: *mut bool,
) -> *mut c_char {
    guarded(|| {
        let tokenizer = tokenizer_ref(handle)?;
        // SAFETY: caller contract.
        let token = unsafe { str_in(token, token_len, "token") }?;
        let result = tokenizer.token_to_id(token);
        // SAFETY: caller contract.
        unsafe {
            write_out(found, result.is_some())?;
            write_out(id, result.unwrap_or(0))
        }
    })
}

/// Writes the token text and `*found = true`, or `*found = false` for an unknown id.
///
/// # Safety
/// `out` and `found` are writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_id_to_token(
    handle: *const LoupeTokenizer,
    id: u32,
    out: *mut LoupeBytes,
    found: *mut bool,
) -> *mut c_char {
    guarded(|| {
        let tokenizer = tokenizer_ref(handle)?;
        let result = tokenizer.id_to_token(id);
        // SAFETY: caller contract.
        unsafe {
            write_out(found, result.is_some())?;
            write_out(out, bytes_out(result.unwrap_or_default()))
        }
    })
}

/// # Safety
/// `size` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_tok_vocab_size(handle: *const LoupeTokenizer, with_added_tokens: bool, size: *mut usize) -> *mut c_char {
    guarded(|| {
        let tokenizer = tokenizer_ref(handle)?;
        // SAFETY: caller contract.
        unsafe { write_out(size, tokenizer.vocab_size(with_added_tokens)) }
    })
}

// ---- chat template ----

/// Compiles a Jinja chat template.
///
/// # Safety
/// `source` points to `source_len` bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_chat_template_new(
    source: *const u8,
    source_len: usize,
    out: *mut *mut LoupeChatTemplate,
) -> *mut c_char {
    guarded(|| {
        // SAFETY: caller contract.
        let source = unsafe { str_in(source, source_len, "chat template") }?;
        let template = ChatTemplate::new(source)?;
        // SAFETY: caller contract.
        unsafe { write_out(out, Box::into_raw(Box::new(LoupeChatTemplate(template)))) }
    })
}

/// Renders with a JSON object as the template context.
///
/// # Safety
/// `context_json` points to `context_len` bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_chat_template_render(
    handle: *const LoupeChatTemplate,
    context_json: *const u8,
    context_len: usize,
    out: *mut LoupeBytes,
) -> *mut c_char {
    guarded(|| {
        // SAFETY: a non-null handle came from loupe_chat_template_new and is not yet freed.
        let template = unsafe { handle.as_ref() }.map(|h| &h.0).ok_or("null chat template handle")?;
        // SAFETY: caller contract.
        let context = unsafe { str_in(context_json, context_len, "chat template context") }?;
        let text = template.render(context)?;
        // SAFETY: caller contract.
        unsafe { write_out(out, bytes_out(text)) }
    })
}

/// # Safety
/// `handle` is NULL or from `loupe_chat_template_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn loupe_chat_template_free(handle: *mut LoupeChatTemplate) {
    if !handle.is_null() {
        // SAFETY: produced by Box::into_raw in loupe_chat_template_new.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(handle) })));
    }
}

/// Whether `code_point` is in a Unicode punctuation category (Pc, Pd, Ps, Pe, Pi, Pf, Po),
/// as Python's `unicodedata.category(c).startswith("P")`.
#[no_mangle]
pub extern "C" fn loupe_is_punctuation(code_point: u32) -> bool {
    use unicode_categories::UnicodeCategories;
    char::from_u32(code_point).is_some_and(|c| c.is_punctuation())
}

// ---- output constraints ----

/// Builds the constraint compiler of a tokenizer for a model with `vocab_size` logits.
///
/// # Safety
/// `eos` points to `eos_count` ids; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_constraint_compiler_new(
    tokenizer: *const LoupeTokenizer,
    vocab_size: usize,
    eos: *const u32,
    eos_count: usize,
    out: *mut *mut LoupeConstraintCompiler,
) -> *mut c_char {
    guarded(|| {
        let tokenizer = tokenizer_ref(tokenizer)?;
        let eos: &[u32] = if eos_count == 0 {
            &[]
        } else if eos.is_null() {
            return Err("null eos array with non-zero length".to_owned());
        } else {
            // SAFETY: caller contract.
            unsafe { std::slice::from_raw_parts(eos, eos_count) }
        };
        let compiler = ConstraintCompiler::new(tokenizer, vocab_size, eos)?;
        // SAFETY: caller contract.
        unsafe { write_out(out, Box::into_raw(Box::new(LoupeConstraintCompiler(compiler)))) }
    })
}

/// # Safety
/// `handle` is NULL or from `loupe_constraint_compiler_new`, freed once, after its constraints.
#[no_mangle]
pub unsafe extern "C" fn loupe_constraint_compiler_free(handle: *mut LoupeConstraintCompiler) {
    if !handle.is_null() {
        // SAFETY: produced by Box::into_raw in loupe_constraint_compiler_new.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(handle) })));
    }
}

/// A matcher for one request; an invalid schema, regex or grammar is the error.
///
/// # Safety
/// `source` points to `source_len` bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_constraint_new(
    compiler: *const LoupeConstraintCompiler,
    kind: u32,
    source: *const u8,
    source_len: usize,
    out: *mut *mut LoupeConstraint,
) -> *mut c_char {
    guarded(|| {
        // SAFETY: a non-null handle came from loupe_constraint_compiler_new and is not yet freed.
        let compiler = unsafe { compiler.as_ref() }.map(|h| &h.0).ok_or("null constraint compiler handle")?;
        let kind = ConstraintKind::from_code(kind)?;
        // SAFETY: caller contract.
        let source = unsafe { str_in(source, source_len, "constraint") }?;
        let matcher = compiler.matcher(kind, source)?;
        // SAFETY: caller contract.
        unsafe { write_out(out, Box::into_raw(Box::new(LoupeConstraint(matcher)))) }
    })
}

/// # Safety
/// `handle` is NULL or from `loupe_constraint_new`, freed once.
#[no_mangle]
pub unsafe extern "C" fn loupe_constraint_free(handle: *mut LoupeConstraint) {
    if !handle.is_null() {
        // SAFETY: produced by Box::into_raw in loupe_constraint_new.
        let _ = catch_unwind(AssertUnwindSafe(|| drop(unsafe { Box::from_raw(handle) })));
    }
}

/// Writes the mask of tokens allowed next (end-of-sequence ids cleared) and whether the
/// output may end here.
///
/// # Safety
/// `words` points to `count` writable words ((vocab_size + 31) / 32); `may_end` is writable.
#[no_mangle]
pub unsafe extern "C" fn loupe_constraint_compute_mask(
    handle: *mut LoupeConstraint,
    words: *mut u32,
    count: usize,
    may_end: *mut bool,
) -> *mut c_char {
    guarded(|| {
        // SAFETY: a non-null handle came from loupe_constraint_new, used by one thread at a time.
        let matcher = unsafe { handle.as_mut() }.map(|h| &mut h.0).ok_or("null constraint handle")?;
        if words.is_null() {
            return Err("null mask buffer".to_owned());
        }
        // SAFETY: caller contract.
        let words = unsafe { std::slice::from_raw_parts_mut(words, count) };
        let end = matcher.compute_mask(words)?;
        // SAFETY: caller contract.
        unsafe { write_out(may_end, end) }
    })
}

/// Advances past the chosen token; a token the mask did not allow is the error.
#[no_mangle]
pub extern "C" fn loupe_constraint_consume(handle: *mut LoupeConstraint, token: u32) -> *mut c_char {
    guarded(|| {
        // SAFETY: a non-null handle came from loupe_constraint_new, used by one thread at a time.
        let matcher = unsafe { handle.as_mut() }.map(|h| &mut h.0).ok_or("null constraint handle")?;
        matcher.consume(token)
    })
}

/// Whether the output is complete and nothing may follow (false for a null handle).
#[no_mangle]
pub extern "C" fn loupe_constraint_is_stopped(handle: *const LoupeConstraint) -> bool {
    // SAFETY: a non-null handle came from loupe_constraint_new and is not yet freed.
    catch_unwind(AssertUnwindSafe(|| unsafe { handle.as_ref() }.is_some_and(|h| h.0.is_stopped()))).unwrap_or(true)
}

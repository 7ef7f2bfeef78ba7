//! `tojson` as HuggingFace's chat-template environment defines it: Python's
//! `json.dumps(x, ensure_ascii=False)` — ", " and ": " separators, no HTML escaping,
//! non-ASCII kept, optional indent — so tool schemas render byte-identical to HF.
use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use std::io;

struct PythonFormatter {
    indent: Option<Vec<u8>>,
    depth: usize,
    has_items: bool,
}

impl PythonFormatter {
    fn newline<W: ?Sized + io::Write>(&self, w: &mut W) -> io::Result<()> {
        if let Some(unit) = &self.indent {
            w.write_all(b"\n")?;
            for _ in 0..self.depth {
                w.write_all(unit)?;
            }
        }
        Ok(())
    }

    fn separator<W: ?Sized + io::Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            // json.dumps uses "," before a newline when indenting, ", " otherwise.
            w.write_all(if self.indent.is_some() { b"," } else { b", " })?;
        }
        self.newline(w)
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_items {
            self.newline(w)?;
        }
        self.has_items = true;
        w.write_all(bracket)
    }
}

impl Formatter for PythonFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_items = false;
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.separator(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_items = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        self.has_items = false;
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.separator(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_items = true;
        Ok(())
    }
}

/// Serialises `value` like Python's `json.dumps(value, ensure_ascii=False, indent=indent)`.
pub fn dumps<T: Serialize>(value: &T, indent: Option<usize>) -> Result<String, String> {
    let formatter = PythonFormatter { indent: indent.map(|n| vec![b' '; n]), depth: 0, has_items: false };
    let mut out = Vec::new();
    let mut serializer = Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer).map_err(|e| format!("tojson: {e}"))?;
    String::from_utf8(out).map_err(|e| format!("tojson: {e}"))
}

#[cfg(test)]
mod tests {
    use super::dumps;
    use serde_json::json;

    #[test]
    fn matches_python_json_dumps() {
        let v = json!({"name": "f", "args": [1, 2.5, "é<>"], "empty": {}, "none": null});
        assert_eq!(dumps(&v, None).unwrap(), r#"{"name": "f", "args": [1, 2.5, "é<>"], "empty": {}, "none": null}"#);
        assert_eq!(
            dumps(&v, Some(2)).unwrap(),
            "{\n  \"name\": \"f\",\n  \"args\": [\n    1,\n    2.5,\n    \"é<>\"\n  ],\n  \"empty\": {},\n  \"none\": null\n}"
        );
    }
}

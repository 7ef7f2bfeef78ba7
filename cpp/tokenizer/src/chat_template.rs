//! A checkpoint's Jinja `chat_template` rendered the way `transformers`' `apply_chat_template`
//! renders it: Jinja2 with trim_blocks + lstrip_blocks, loop controls, `raise_exception`,
//! Python's `tojson`, and Python string/dict methods (`.strip()`, `.split()`, `.items()` …)
//! that chat templates call.
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};

use crate::python_json;

const NAME: &str = "chat_template";

pub struct ChatTemplate {
    env: Environment<'static>,
}

fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    // Accepted for signature compatibility with HF's filter; their HF defaults are what we do.
    let _: Option<bool> = kwargs.get("ensure_ascii")?;
    let _: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    python_json::dumps(&value, indent)
        .map(Value::from_safe_string)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))
}

impl ChatTemplate {
    pub fn new(source: &str) -> Result<Self, String> {
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| format!("chat template syntax config: {e}"))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_filter("tojson", tojson);
        env.add_template_owned(NAME, source.to_owned())
            .map_err(|e| format!("invalid chat template: {}", describe(&e)))?;
        Ok(Self { env })
    }

    /// `context_json` is a JSON object: `messages`, `add_generation_prompt`, special tokens
    /// and any extra template variables.
    pub fn render(&self, context_json: &str) -> Result<String, String> {
        let context: Value =
            serde_json::from_str(context_json).map_err(|e| format!("chat template context is not valid JSON: {e}"))?;
        if context.as_object().is_none() || context.kind() != minijinja::value::ValueKind::Map {
            return Err("chat template context must be a JSON object".to_owned());
        }
        let template = self.env.get_template(NAME).map_err(|e| describe(&e))?;
        template.render(context).map_err(|e| format!("chat template failed: {}", describe(&e)))
    }
}

// One line with the template's own message (raise_exception) or the failing construct.
fn describe(error: &Error) -> String {
    let mut text = match error.detail() {
        Some(detail) if error.kind() == ErrorKind::InvalidOperation => detail.to_owned(),
        _ => error.to_string(),
    };
    if let Some(line) = error.line() {
        text.push_str(&format!(" (template line {line})"));
    }
    text
}

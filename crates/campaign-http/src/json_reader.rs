//! Reading a JSON document value by value, so a record can be decoded into
//! its typed view and kept verbatim in one pass.
//!
//! serde gives a visitor no byte positions, so a record that must be both
//! decoded and kept as text is otherwise read twice: once to delimit it (a
//! `RawValue`), once to decode the slice. [`JsonReader`] walks the document's
//! structure itself (only `[`, `{`, `,`, `:` and whitespace) and hands every
//! value to serde_json, which reports where the value ended.

use serde::de::{self, Deserialize, IgnoredAny};

use crate::decoding::JsonStr;

/// A position in a JSON text from which values are read one at a time with
/// serde_json, each together with the exact text it was read from.
///
/// A value that [`JsonReader::value`] returns was parsed in full by
/// serde_json, so its text is one well-formed JSON value (what a
/// `RawRecord` may be built from without checking it again).
///
/// ```
/// use campaign_http::JsonReader;
///
/// let mut reader = JsonReader::new(r#" [ {"n": 1}, {"n": 2} ] "#);
/// let mut seen = Vec::new();
/// reader.array(|reader| {
///     let (value, text): (serde_json::Value, &str) = reader.value()?;
///     seen.push((value["n"].as_i64(), text));
///     Ok::<_, serde_json::Error>(())
/// })?;
/// reader.end()?;
/// assert_eq!(seen, [(Some(1), r#"{"n": 1}"#), (Some(2), r#"{"n": 2}"#)]);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsonReader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> JsonReader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    /// The byte offset of the next unread character.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Deserializes the next value as `T` straight from the text (strings
    /// may borrow from it) and returns it with the text it spans.
    pub fn value<T: Deserialize<'a>>(&mut self) -> Result<(T, &'a str), serde_json::Error> {
        self.skip_whitespace();
        let start = self.pos;
        let mut stream = serde_json::Deserializer::from_str(&self.text[start..]).into_iter::<T>();
        match stream.next() {
            Some(Ok(value)) => {
                self.pos = start + stream.byte_offset();
                Ok((value, &self.text[start..self.pos]))
            }
            Some(Err(e)) => Err(e),
            None => Err(self.error("a value")),
        }
    }

    /// Checks the next value and moves past it, returning its text.
    pub fn skip(&mut self) -> Result<&'a str, serde_json::Error> {
        self.value::<IgnoredAny>().map(|(_, text)| text)
    }

    /// Reads an array: `each` is called at every element and must read
    /// exactly that element (with [`JsonReader::value`], [`JsonReader::skip`],
    /// or a nested [`JsonReader::array`] / [`JsonReader::object`]).
    pub fn array<E: From<serde_json::Error>>(
        &mut self,
        mut each: impl FnMut(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        self.expect(b'[', "`[`")?;
        if self.eat(b']') {
            return Ok(());
        }
        loop {
            self.element(&mut each)?;
            if self.eat(b']') {
                return Ok(());
            }
            self.expect(b',', "`,` or `]`")?;
        }
    }

    /// Reads an object: `each` gets every key (unescaped) and must read
    /// exactly its value. Repeated keys are passed on as they come.
    pub fn object<E: From<serde_json::Error>>(
        &mut self,
        mut each: impl FnMut(&str, &mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        self.expect(b'{', "`{`")?;
        if self.eat(b'}') {
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("a key").into());
            }
            let (JsonStr(key), _) = self.value::<JsonStr<'a>>()?;
            self.expect(b':', "`:`")?;
            self.element(|reader| each(&key, reader))?;
            if self.eat(b'}') {
                return Ok(());
            }
            self.expect(b',', "`,` or `}`")?;
        }
    }

    /// Checks that nothing but whitespace is left.
    pub fn end(&mut self) -> Result<(), serde_json::Error> {
        self.skip_whitespace();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(self.error("the end of the document"))
        }
    }

    /// Runs `read` for one value and checks that it read one.
    fn element<E: From<serde_json::Error>>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<(), E>,
    ) -> Result<(), E> {
        self.skip_whitespace();
        let start = self.pos;
        read(self)?;
        if self.pos == start {
            return Err(self.error("the value to be read").into());
        }
        Ok(())
    }

    fn skip_whitespace(&mut self) {
        let rest = &self.text.as_bytes()[self.pos..];
        self.pos += rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
            .unwrap_or(rest.len());
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Moves past `byte` (after whitespace) if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.skip_whitespace();
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), serde_json::Error> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn error(&self, expected: &str) -> serde_json::Error {
        let found = match self.text[self.pos..].chars().next() {
            Some(c) => format!("{c:?}"),
            None => "the end of the text".to_owned(),
        };
        de::Error::custom(format_args!(
            "expected {expected} at byte {}, found {found}",
            self.pos
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every value of `text` (an array) with its text, or the error.
    fn elements(text: &str) -> Result<Vec<(Value, &str)>, serde_json::Error> {
        let mut reader = JsonReader::new(text);
        let mut out = Vec::new();
        reader.array(|r| {
            out.push(r.value::<Value>()?);
            Ok::<_, serde_json::Error>(())
        })?;
        reader.end()?;
        Ok(out)
    }

    #[test]
    fn array_elements_come_with_their_exact_text() {
        let text = "\n[ {\"a\" : [1, {\"b\": null}]} ,\t\"x\\\"y\", 12.5e1,true ,null,[] ]\r\n";
        let got = elements(text).unwrap();
        let texts: Vec<&str> = got.iter().map(|(_, t)| *t).collect();
        assert_eq!(
            texts,
            [
                r#"{"a" : [1, {"b": null}]}"#,
                r#""x\"y""#,
                "12.5e1",
                "true",
                "null",
                "[]"
            ]
        );
        for (value, text) in got {
            assert_eq!(value, serde_json::from_str::<Value>(text).unwrap());
        }
        assert!(elements("[]").unwrap().is_empty());
        assert!(elements(" [ ] ").unwrap().is_empty());
    }

    #[test]
    fn malformed_structure_is_an_error_never_a_panic() {
        for bad in [
            "", "[", "[1", "[1,", "[1,]", "[,1]", "[1 2]", "{}", "[1]x", "[1]]", "[{]", "[\"a]",
            "[tru]", "[1}", "\u{e9}", "[01]", "[-]",
        ] {
            assert!(elements(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn objects_give_unescaped_keys_and_read_values_in_place() {
        let text = r#"{"status": "ok", "d\u0061ta": {"results": [{"id": 1}], "skip": 50}, "extra": [1, {"x": 2}]}"#;
        let mut reader = JsonReader::new(text);
        let mut seen = Vec::new();
        reader
            .object(|key, r| {
                match key {
                    "data" => r.object(|key, r| {
                        if key == "results" {
                            r.array(|r| {
                                let (v, raw): (Value, &str) = r.value()?;
                                seen.push(format!("record {raw} id {}", v["id"]));
                                Ok::<_, serde_json::Error>(())
                            })
                        } else {
                            let (n, _): (u64, _) = r.value()?;
                            seen.push(format!("{key}={n}"));
                            Ok(())
                        }
                    })?,
                    _ => {
                        let raw = r.skip()?;
                        seen.push(format!("{key} skipped {raw}"));
                    }
                }
                Ok::<_, serde_json::Error>(())
            })
            .unwrap();
        reader.end().unwrap();
        assert_eq!(
            seen,
            [
                r#"status skipped "ok""#,
                r#"record {"id": 1} id 1"#,
                "skip=50",
                r#"extra skipped [1, {"x": 2}]"#,
            ]
        );
        for bad in [
            r#"{"a" 1}"#,
            r#"{"a": 1,}"#,
            r#"{1: 2}"#,
            r#"{"a": 1"#,
            "{,}",
        ] {
            let mut reader = JsonReader::new(bad);
            let result = reader.object(|_, r| r.skip().map(drop));
            assert!(result.is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_callback_that_reads_nothing_is_an_error() {
        let mut reader = JsonReader::new("[1, 2]");
        let result = reader.array(|_| Ok::<_, serde_json::Error>(()));
        assert!(result.unwrap_err().to_string().contains("value to be read"));
    }
}

//! Escaping text from the data for HTML/SVG text and attribute values.

/// `s` with `& < > " '` replaced by entities, safe in text and in quoted
/// attributes. Only XML's predefined entities are used so the page stays
/// parseable as XML.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab/newline are not allowed in
            // XML 1.0 documents, even as references: drop them.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A fragment identifier from `s`: lowercase ASCII letters, digits and `-`.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<b a="1" c='2'>&</b>"#),
            "&lt;b a=&quot;1&quot; c=&#39;2&#39;&gt;&amp;&lt;/b&gt;"
        );
        assert_eq!(escape("plain µs"), "plain µs");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn drops_control_characters_xml_forbids() {
        assert_eq!(escape("a\u{1}b\tc"), "a\u{FFFD}b\tc");
    }

    #[test]
    fn slugs_are_fragment_safe() {
        assert_eq!(slug("Read-Mostly"), "read-mostly");
        assert_eq!(slug("50/25/25/0"), "50-25-25-0");
        assert_eq!(slug("<script>"), "script");
        assert_eq!(slug(""), "");
    }
}

//! "Copy as curl": a recorded request as a shell command. The secrets stay masked (`****`):
//! the command shows what was sent and can be completed by hand, and copying it never puts a
//! token on the clipboard or into a shell history.

use super::record::Message;

/// The request as a `curl` command line (POSIX shell quoting), or `None` when the record has
/// no URL (a call that failed before its request was rendered).
pub fn command(request: &Message) -> Option<String> {
    let url = request.url.as_deref()?;
    let method = request.method.as_deref().unwrap_or("GET");
    let mut out = String::with_capacity(128);
    if request.body.as_ref().is_some_and(|b| b.truncated) {
        out.push_str(
            "# the body below is only the beginning of the one sent (the inspector keeps 16 KiB)\n",
        );
    }
    out.push_str("curl");
    if method != "GET" {
        out.push_str(" -X ");
        out.push_str(&quote(method));
    }
    out.push(' ');
    out.push_str(&quote(url));
    for (name, value) in request.headers.iter() {
        // curl sets Host from the URL.
        if name.eq_ignore_ascii_case("host") {
            continue;
        }
        out.push_str(" \\\n  -H ");
        out.push_str(&quote(&format!("{name}: {value}")));
    }
    if let Some(body) = &request.body {
        out.push_str(" \\\n  --data-raw ");
        out.push_str(&quote(&body.text));
    }
    Some(out)
}

/// `s` in single quotes; a single quote inside becomes `'\''`.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('\'');
    for c in s.chars() {
        if c == '\'' {
            q.push_str("'\\''");
        } else {
            q.push(c);
        }
    }
    q.push('\'');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::Masker;
    use crate::inspect::record::{Body, Headers};

    #[test]
    fn quotes_for_the_shell_and_keeps_the_mask() {
        let m = Message {
            method: Some("POST".into()),
            url: Some("https://api.example.com/a?q=it's".into()),
            status: None,
            headers: {
                let mut h = Headers::default();
                h.push("host", "api.example.com", &Masker::default());
                h.push("authorization", "Bearer ****", &Masker::default());
                h
            },
            body: Some(Body {
                text: "{\"a\":\"b'c\"}".into(),
                size: 11,
                truncated: false,
            }),
        };
        assert_eq!(
            command(&m).as_deref(),
            Some(
                "curl -X 'POST' 'https://api.example.com/a?q=it'\\''s' \\\n  -H 'authorization: Bearer ****' \\\n  --data-raw '{\"a\":\"b'\\''c\"}'"
            )
        );
        assert_eq!(command(&Message::default()), None);
    }
}

//! The size of a location icon. The marketplace wants 64×64, and FDK refuses other sizes
//! ("Invalid dimension of icon").
//!
//! Raster formats are read by the `imagesize` crate. It does not read SVG, and a full SVG
//! library would be far more than needed, so the root `<svg>` tag is read here, as FDK's
//! `image-size` does: `width` and `height` in pixels, else the `viewBox`, else one of them
//! with the `viewBox`'s ratio. Sizes in other units (`em`, `%`) count as unknown, and an
//! unknown size is never reported.

use std::path::Path;

/// The width and height of the image at `path`, when they can be told.
pub fn size(path: &Path) -> Option<(f64, f64)> {
    let is_svg = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    if is_svg {
        svg_size(&std::fs::read_to_string(path).ok()?)
    } else {
        imagesize::size(path)
            .ok()
            .map(|s| (s.width as f64, s.height as f64))
    }
}

/// The size an SVG document declares on its root element.
pub fn svg_size(text: &str) -> Option<(f64, f64)> {
    let start = find_root(text)?;
    let tag = &text[start..start + text[start..].find('>')?];
    let width = attribute(tag, "width").and_then(pixels);
    let height = attribute(tag, "height").and_then(pixels);
    let view_box = attribute(tag, "viewBox").and_then(|v| {
        let n: Vec<f64> = v
            .split([' ', ',', '\t', '\n'])
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect();
        (n.len() == 4 && n[2] > 0.0 && n[3] > 0.0).then(|| (n[2], n[3]))
    });
    match (width, height, view_box) {
        (Some(w), Some(h), _) => Some((w, h)),
        (Some(w), None, Some((vw, vh))) => Some((w, w * vh / vw)),
        (None, Some(h), Some((vw, vh))) => Some((h * vw / vh, h)),
        (None, None, Some(vb)) => Some(vb),
        _ => None,
    }
}

/// Where the root `<svg` tag starts (after any XML declaration, comment or doctype).
fn find_root(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find('<') {
        let at = from + i;
        let rest = &text[at..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            from = at + 4 + comment.find("-->")? + 3;
            continue;
        }
        if let Some(after) = rest.strip_prefix("<svg")
            && after
                .chars()
                .next()
                .is_some_and(|c| c.is_whitespace() || c == '>' || c == '/')
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The value of `name="…"` (or `'…'`) in a tag, with the name matched exactly.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = tag;
    while let Some(i) = rest.find(name) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + name.len()..].trim_start();
        rest = &rest[i + name.len()..];
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(after_eq) = after.strip_prefix('=') else {
            continue;
        };
        let value = after_eq.trim_start();
        let quote = value.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let body = &value[1..];
        return body.find(quote).map(|end| &body[..end]);
    }
    None
}

/// A length in pixels: a number, optionally followed by `px`.
fn pixels(v: &str) -> Option<f64> {
    let v = v.trim();
    let n = v.strip_suffix("px").unwrap_or(v).trim();
    n.parse::<f64>().ok().filter(|n| n.is_finite() && *n > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_svg_sizes_as_image_size_does() {
        let s = |t: &str| svg_size(t);
        assert_eq!(
            s(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 32 32">"#
            ),
            Some((64.0, 64.0))
        );
        assert_eq!(
            s(r#"<?xml version="1.0"?><!-- <svg width="1"> --><svg viewBox="0 0 32 16"/>"#),
            Some((32.0, 16.0))
        );
        assert_eq!(
            s("<svg width='48px' viewBox='0,0,24,12'>"),
            Some((48.0, 24.0))
        );
        assert_eq!(
            s(r#"<svg height="10" viewBox="0 0 20 10">"#),
            Some((20.0, 10.0))
        );
        assert_eq!(
            s(r#"<svg stroke-width="2" width="64" height="64">"#),
            Some((64.0, 64.0))
        );
        // Unknown: other units, no size at all, not an SVG.
        assert_eq!(s(r#"<svg width="100%" height="100%">"#), None);
        assert_eq!(s(r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#), None);
        assert_eq!(s("<html></html>"), None);
    }

    #[test]
    fn reads_png_sizes() {
        // The 24 bytes imagesize needs: signature, IHDR length and type, width, height.
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&32u32.to_be_bytes());
        png.extend_from_slice(&64u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("icon.png");
        std::fs::write(&path, &png).expect("write");
        assert_eq!(size(&path), Some((32.0, 64.0)));
    }
}

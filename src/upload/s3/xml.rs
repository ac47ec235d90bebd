//! The little XML the uploader reads and writes: one element's text out of S3's small
//! answers, and the body of CompleteMultipartUpload.

/// Text of the first `<tag>…</tag>` in `body`, with the five predefined entities decoded.
#[must_use]
pub fn text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let len = body[start..].find(&close)?;
    Some(unescape(&body[start..start + len]))
}

/// The inner text of each `<tag>…</tag>` in `body`, raw (for [`text`] on each).
#[must_use]
pub fn elements<'a>(body: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(&open) {
        let inner = &rest[i + open.len()..];
        let Some(len) = inner.find(&close) else {
            break;
        };
        out.push(&inner[..len]);
        rest = &inner[len + close.len()..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `<CompleteMultipartUpload>` listing each part's number and ETag, in order.
#[must_use]
pub fn complete_body(parts: &[(u32, String)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
    );
    for (number, etag) in parts {
        out.push_str(&format!(
            "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
            escape(etag)
        ));
    }
    out.push_str("</CompleteMultipartUpload>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_element_s_text_is_decoded() {
        let body = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket>\
                    <UploadId>a&amp;b&quot;c</UploadId></InitiateMultipartUploadResult>";
        assert_eq!(text(body, "UploadId").as_deref(), Some("a&b\"c"));
        assert_eq!(text(body, "Bucket").as_deref(), Some("b"));
        assert_eq!(text(body, "Key"), None);
        assert_eq!(text("<Code>x", "Code"), None);
    }

    #[test]
    fn each_element_of_a_listing_is_found() {
        let body = "<ListBucketResult><Contents><Key>a&amp;b</Key><Size>3</Size></Contents>\
                    <Contents><Key>c</Key><Size>4</Size></Contents><IsTruncated>false\
                    </IsTruncated></ListBucketResult>";
        let items = elements(body, "Contents");
        assert_eq!(items.len(), 2);
        assert_eq!(text(items[0], "Key").as_deref(), Some("a&b"));
        assert_eq!(text(items[1], "Size").as_deref(), Some("4"));
        assert!(elements("<Contents>x", "Contents").is_empty());
    }

    #[test]
    fn the_complete_body_lists_parts_with_quoted_etags_escaped() {
        let body = complete_body(&[(1, "\"aa\"".into()), (2, "\"b<b\"".into())]);
        assert!(body.ends_with(
            "<Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag></Part>\
             <Part><PartNumber>2</PartNumber><ETag>&quot;b&lt;b&quot;</ETag></Part>\
             </CompleteMultipartUpload>"
        ));
        assert_eq!(text(&body, "ETag").as_deref(), Some("\"aa\""));
    }
}

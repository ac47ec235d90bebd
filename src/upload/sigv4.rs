//! AWS Signature Version 4 in the `Authorization` header, for S3 (service `s3`).
//!
//! The request's path and query are signed exactly as they are sent: [`encode_path`] and
//! [`canonical_query`] make both. The payload is signed by its SHA-256, so the server
//! checks that the bytes it received are the bytes that were signed.
//!
//! The secret only ever enters the HMAC chain of `signing_key`; nothing here formats it.

use hmac::Hmac;
use hmac::Mac;
use sha2::Digest;
use sha2::Sha256;

use super::credentials::Credentials;
use super::hex;

/// Hash of an empty payload (requests without a body).
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What is signed besides the headers: method, encoded path and query, payload hash.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// Already percent-encoded, as sent ([`encode_path`]).
    pub path: &'a str,
    /// Name and value pairs, not encoded.
    pub query: &'a [(&'a str, &'a str)],
    /// Lowercase names; `host`, `x-amz-date` and `x-amz-content-sha256` must be among them.
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body ([`EMPTY_SHA256`] without one).
    pub payload_sha256: &'a str,
}

/// The value of the `Authorization` header for `req`, signed at `amz_date`
/// (`YYYYMMDDTHHMMSSZ`, the `x-amz-date` header) for `region`.
#[must_use]
pub fn authorization(
    req: &Request<'_>,
    creds: &Credentials,
    region: &str,
    amz_date: &str,
) -> String {
    let day = &amz_date[..8.min(amz_date.len())];
    let scope = format!("{day}/{region}/s3/aws4_request");
    let (canonical, signed_headers) = canonical_request(req);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(creds.secret(), day, region);
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.key_id()
    )
}

/// The canonical request and the list of signed header names.
fn canonical_request(req: &Request<'_>) -> (String, String) {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), collapse_spaces(v.trim())))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed}\n{}",
        req.method,
        req.path,
        canonical_query(req.query),
        req.payload_sha256
    );
    (canonical, signed)
}

fn collapse_spaces(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut space = false;
    for c in v.chars() {
        if c == ' ' {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// `name=value` pairs, each percent-encoded, sorted, joined by `&` (also the query sent).
#[must_use]
pub fn canonical_query(query: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (encode(k, true), encode(v, true)))
        .collect();
    pairs.sort();
    let parts: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    parts.join("&")
}

/// Percent-encodes an object path: every byte but the unreserved ones and `/`.
#[must_use]
pub fn encode_path(path: &str) -> String {
    encode(path, false)
}

/// RFC 3986 encoding as SigV4 wants it: `A–Z a–z 0–9 - _ . ~` stay, everything else is
/// `%XX` (upper case); `/` too when `slash` is set.
fn encode(s: &str, slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
        if keep || (b == b'/' && !slash) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// HMAC chain of the secret, the day, the region, the service and `aws4_request`.
fn signing_key(secret: &str, day: &str, region: &str) -> Vec<u8> {
    let mut k_secret = Vec::with_capacity(secret.len() + 4);
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac(&k_secret, day.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, b"s3");
    hmac(&k_service, b"aws4_request")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example credentials of the AWS documentation ("Signature Calculations for the
    /// Authorization Header: Transferring Payload in a Single Chunk").
    fn example() -> Credentials {
        Credentials::new(
            "AKIAIOSFODNN7EXAMPLE".into(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            None,
        )
    }

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn signature(auth: &str) -> &str {
        auth.rsplit("Signature=").next().unwrap()
    }

    const DATE: &str = "20130524T000000Z";

    #[test]
    fn get_object_matches_the_aws_documentation_example() {
        let headers = h(&[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("range", "bytes=0-9"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("x-amz-date", DATE),
        ]);
        let req = Request {
            method: "GET",
            path: "/test.txt",
            query: &[],
            headers: &headers,
            payload_sha256: EMPTY_SHA256,
        };
        let auth = authorization(&req, &example(), "us-east-1", DATE);
        assert_eq!(
            signature(&auth),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature="
        ));
    }

    #[test]
    fn put_object_with_an_escaped_key_matches_the_aws_documentation_example() {
        let body = b"Welcome to Amazon S3.";
        let payload = hex(&Sha256::digest(body));
        assert_eq!(
            payload,
            "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        );
        let headers = h(&[
            ("date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-content-sha256", &payload),
            ("x-amz-date", DATE),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ]);
        let path = encode_path("/test$file.text");
        assert_eq!(path, "/test%24file.text");
        let req = Request {
            method: "PUT",
            path: &path,
            query: &[],
            headers: &headers,
            payload_sha256: &payload,
        };
        let auth = authorization(&req, &example(), "us-east-1", DATE);
        assert_eq!(
            signature(&auth),
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        );
    }

    #[test]
    fn queries_match_the_aws_documentation_examples() {
        let headers = h(&[
            ("host", "examplebucket.s3.amazonaws.com"),
            ("x-amz-content-sha256", EMPTY_SHA256),
            ("x-amz-date", DATE),
        ]);
        let sign = |query: &[(&str, &str)]| {
            let req = Request {
                method: "GET",
                path: "/",
                query,
                headers: &headers,
                payload_sha256: EMPTY_SHA256,
            };
            authorization(&req, &example(), "us-east-1", DATE)
        };
        // GET ?lifecycle: a name without a value signs as `lifecycle=`.
        assert_eq!(
            signature(&sign(&[("lifecycle", "")])),
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        );
        // GET ?max-keys=2&prefix=J, given out of order.
        assert_eq!(
            signature(&sign(&[("prefix", "J"), ("max-keys", "2")])),
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        );
    }

    #[test]
    fn encoding_keeps_unreserved_bytes_and_slashes_in_paths_only() {
        assert_eq!(
            encode_path("/b/fleet/device=pi 5/date=2026-01-02/x~y_z.ewlog"),
            "/b/fleet/device%3Dpi%205/date%3D2026-01-02/x~y_z.ewlog"
        );
        assert_eq!(encode_path("/ü"), "/%C3%BC");
        assert_eq!(
            canonical_query(&[("uploadId", "a/b+c="), ("partNumber", "2")]),
            "partNumber=2&uploadId=a%2Fb%2Bc%3D"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_inner_spaces_collapsed() {
        assert_eq!(collapse_spaces("a   b  c"), "a b c");
        let headers = h(&[("X-Amz-Date", DATE), ("Host", " h  ")]);
        let req = Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &headers,
            payload_sha256: EMPTY_SHA256,
        };
        let (canonical, signed) = canonical_request(&req);
        assert_eq!(signed, "host;x-amz-date");
        assert!(
            canonical.contains("\nhost:h\nx-amz-date:20130524T000000Z\n"),
            "{canonical}"
        );
    }
}

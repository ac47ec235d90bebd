//! What a request to the server can end in, and which of those a retry may fix.
//!
//! Messages name the operation, the key and the endpoint, and quote only the server's
//! error code and message: never a header, a signature or a credential.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum S3Error {
    #[error("{op} {target}: cannot reach {endpoint}: {message}")]
    Network {
        op: &'static str,
        target: String,
        endpoint: String,
        message: String,
    },
    #[error(
        "{op} {target}: the server refused the credentials from {source_} ({code}{message}); \
         check the access key id and the secret"
    )]
    Credentials {
        op: &'static str,
        target: String,
        source_: String,
        code: String,
        message: String,
    },
    #[error("bucket {bucket:?} does not exist at {endpoint}: create it, or fix [upload] bucket")]
    NoSuchBucket { bucket: String, endpoint: String },
    #[error("{op} {target}: the multipart upload is gone from the server; it starts again")]
    NoSuchUpload { op: &'static str, target: String },
    #[error("{op} {target}: HTTP {status} {code}{message}{hint}")]
    Server {
        op: &'static str,
        target: String,
        status: u16,
        code: String,
        message: String,
        hint: &'static str,
    },
    #[error("{op} {target}: unexpected answer from the server: {why}")]
    Protocol {
        op: &'static str,
        target: String,
        why: String,
    },
    #[error("the upload was stopped")]
    Stopped,
}

impl S3Error {
    /// Whether trying the same request again may work: the network, a server error
    /// (5xx), throttling (429, 503 SlowDown) or a request timeout (408).
    #[must_use]
    pub fn retryable(&self) -> bool {
        match self {
            Self::Network { .. } => true,
            Self::Server { status, code, .. } => {
                *status >= 500 || *status == 429 || *status == 408 || code == "RequestTimeout"
            }
            _ => false,
        }
    }

    /// A server error from its status and XML body (`<Code>`, `<Message>`).
    pub(super) fn from_reply(
        op: &'static str,
        target: &str,
        status: u16,
        body: &str,
        ctx: &ErrorContext<'_>,
    ) -> Self {
        let code = super::xml::text(body, "Code").unwrap_or_else(|| status_code_name(status));
        let message = super::xml::text(body, "Message").unwrap_or_default();
        let message = message.chars().take(300).collect::<String>();
        // With its separator: a reply without a message (HEAD) shows only its code.
        let message = if message.is_empty() {
            message
        } else {
            format!(": {message}")
        };
        match (status, code.as_str()) {
            (403, "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AccessDenied")
            | (403, "InvalidToken" | "ExpiredToken" | "Forbidden")
            | (401, _) => Self::Credentials {
                op,
                target: target.to_owned(),
                source_: ctx.credentials_source.to_owned(),
                code,
                message,
            },
            (404, "NoSuchBucket") => Self::NoSuchBucket {
                bucket: ctx.bucket.to_owned(),
                endpoint: ctx.endpoint.to_owned(),
            },
            (404, "NoSuchUpload") => Self::NoSuchUpload {
                op,
                target: target.to_owned(),
            },
            _ => Self::Server {
                op,
                target: target.to_owned(),
                status,
                hint: hint(&code),
                code,
                message,
            },
        }
    }
}

/// What error messages may name about the destination.
pub(super) struct ErrorContext<'a> {
    pub bucket: &'a str,
    pub endpoint: &'a str,
    pub credentials_source: &'a str,
}

fn hint(code: &str) -> &'static str {
    match code {
        "RequestTimeTooSkewed" => "; this device's clock is off: let it sync (NTP) first",
        "EntityTooSmall" => "; raise [upload] part_size_bytes to at least 5 MiB",
        "BadDigest" | "XAmzContentSHA256Mismatch" => {
            "; the bytes were damaged on the way, they are sent again"
        }
        _ => "",
    }
}

/// A name for a status that came without an XML body (HEAD answers have none).
fn status_code_name(status: u16) -> String {
    match status {
        403 => "Forbidden".to_owned(),
        404 => "NotFound".to_owned(),
        412 => "PreconditionFailed".to_owned(),
        500 => "InternalError".to_owned(),
        503 => "ServiceUnavailable".to_owned(),
        other => format!("HTTP{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: ErrorContext<'static> = ErrorContext {
        bucket: "fleet",
        endpoint: "http://127.0.0.1:9",
        credentials_source: "/etc/edgewatt/s3",
    };

    fn reply(status: u16, code: &str) -> S3Error {
        let body = format!("<Error><Code>{code}</Code><Message>m &amp; n</Message></Error>");
        S3Error::from_reply("put", "k", status, &body, &CTX)
    }

    #[test]
    fn replies_map_to_what_the_user_must_fix() {
        let e = reply(403, "SignatureDoesNotMatch");
        assert!(matches!(e, S3Error::Credentials { .. }) && !e.retryable());
        let msg = e.to_string();
        assert!(
            msg.contains("/etc/edgewatt/s3") && msg.contains("m & n"),
            "{msg}"
        );
        let e = reply(404, "NoSuchBucket");
        assert_eq!(
            e.to_string(),
            "bucket \"fleet\" does not exist at http://127.0.0.1:9: create it, or fix [upload] bucket"
        );
        assert!(matches!(
            reply(404, "NoSuchUpload"),
            S3Error::NoSuchUpload { .. }
        ));
        let skew = reply(403, "RequestTimeTooSkewed").to_string();
        assert!(skew.contains("clock"), "{skew}");
        let head = S3Error::from_reply("head", "k", 403, "", &CTX);
        assert!(matches!(head, S3Error::Credentials { ref code, .. } if code == "Forbidden"));
    }

    #[test]
    fn server_errors_throttling_and_timeouts_are_retried_others_not() {
        for (status, code) in [
            (500, "InternalError"),
            (503, "SlowDown"),
            (429, "x"),
            (400, "RequestTimeout"),
        ] {
            assert!(reply(status, code).retryable(), "{status} {code}");
        }
        for (status, code) in [
            (400, "InvalidArgument"),
            (412, "PreconditionFailed"),
            (403, "AccessDenied"),
        ] {
            assert!(!reply(status, code).retryable(), "{status} {code}");
        }
    }
}

//! S3 errors classified: an SDK error (timeout, dispatch failure, a
//! response with a code and status) becomes the [`StorageError`] that says
//! what is wrong and what to do.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::storage::meter::RequestKind;
use crate::storage::StorageError;

/// What an error is about.
pub(super) struct Context<'a> {
    pub(super) bucket: &'a str,
    pub(super) region: &'a str,
    pub(super) endpoint: &'a str,
    pub(super) op: RequestKind,
    pub(super) key: &'a str,
}

impl Context<'_> {
    fn target(&self) -> String {
        if self.op == RequestKind::List {
            if self.key.is_empty() {
                format!("bucket s3://{}", self.bucket)
            } else {
                format!("s3://{}/{}*", self.bucket, self.key)
            }
        } else {
            format!("s3://{}/{}", self.bucket, self.key)
        }
    }
}

/// The innermost message of an error chain (e.g. "Connection refused (os error 111)").
pub(super) fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string().trim_end().trim_end_matches('.').to_string()
}

fn chain_has_credentials_error(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<aws_credential_types::provider::error::CredentialsError>() {
            return Some(root_cause(e));
        }
        cur = e.source();
    }
    None
}

pub(super) fn classify<E>(cx: &Context<'_>, err: SdkError<E, HttpResponse>) -> StorageError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let target = cx.target();
    match &err {
        SdkError::TimeoutError(_) => StorageError::Timeout {
            operation: cx.op,
            target,
            endpoint: cx.endpoint.to_string(),
            detail: "no response in time".into(),
        },
        SdkError::DispatchFailure(d) => {
            if let Some(detail) = chain_has_credentials_error(&err) {
                return StorageError::NoCredentials { detail };
            }
            let detail = root_cause(&err);
            match d.as_connector_error() {
                Some(c) if c.is_timeout() => StorageError::Timeout {
                    operation: cx.op,
                    target,
                    endpoint: cx.endpoint.to_string(),
                    detail,
                },
                _ => StorageError::Unreachable {
                    endpoint: cx.endpoint.to_string(),
                    detail,
                },
            }
        }
        SdkError::ConstructionFailure(_) => {
            if let Some(detail) = chain_has_credentials_error(&err) {
                return StorageError::NoCredentials { detail };
            }
            StorageError::Other {
                operation: cx.op,
                target,
                detail: format!("the request could not be built: {}", root_cause(&err)),
            }
        }
        _ => {
            let raw = err.raw_response();
            let status = raw.map(|r| r.status().as_u16()).unwrap_or(0);
            let region_header = raw
                .and_then(|r| r.headers().get("x-amz-bucket-region"))
                .map(str::to_string);
            let code = err.code().unwrap_or("").to_string();
            let message = err.message().unwrap_or("").to_string();
            classify_response(cx, status, &code, &message, region_header)
        }
    }
}

pub(super) fn classify_response(
    cx: &Context<'_>,
    status: u16,
    code: &str,
    message: &str,
    region: Option<String>,
) -> StorageError {
    let target = cx.target();
    let code_or_status = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        code.to_string()
    };
    match code {
        "NoSuchBucket" => {
            return StorageError::BucketNotFound {
                bucket: cx.bucket.to_string(),
                endpoint: cx.endpoint.to_string(),
            }
        }
        "InvalidBucketName" => {
            return StorageError::Config(format!(
                "`bucket` '{}' is not a valid bucket name: use 3-63 lowercase letters, digits, dots and hyphens.",
                cx.bucket
            ))
        }
        "NoSuchKey" | "NotFound" | "NoSuchUpload" => {
            return StorageError::NotFound {
                store: format!("s3://{}", cx.bucket),
                key: cx.key.to_string(),
            }
        }
        "InvalidAccessKeyId" | "NotSignedUp" | "InvalidClientTokenId" | "UnrecognizedClientException" => {
            return StorageError::InvalidCredentials {
                code: code.into(),
                reason: "the server does not know this access key id".into(),
            }
        }
        "SignatureDoesNotMatch" => {
            return StorageError::InvalidCredentials {
                code: code.into(),
                reason: "the secret access key does not match the access key id".into(),
            }
        }
        "InvalidToken" | "ExpiredToken" | "TokenRefreshRequired" | "InvalidSecurity" => {
            return StorageError::InvalidCredentials {
                code: code.into(),
                reason: "the session token is invalid or expired".into(),
            }
        }
        "PermanentRedirect" | "AuthorizationHeaderMalformed" | "IllegalLocationConstraintException" => {
            return StorageError::WrongRegion {
                bucket: cx.bucket.to_string(),
                configured: cx.region.to_string(),
                actual: region.unwrap_or_else(|| "another region".into()),
            }
        }
        "AccessDenied" | "AllAccessDisabled" | "AccountProblem" | "InvalidObjectState" => {
            return StorageError::AccessDenied {
                operation: cx.op,
                target,
                code: code.into(),
            }
        }
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "InternalError"
        | "ServiceUnavailable"
        | "RequestTimeout" => {
            return StorageError::Transient {
                operation: cx.op,
                target,
                detail: describe(code, message),
            }
        }
        _ => {}
    }
    match status {
        301 => StorageError::WrongRegion {
            bucket: cx.bucket.to_string(),
            configured: cx.region.to_string(),
            actual: region.unwrap_or_else(|| "another region".into()),
        },
        403 => StorageError::AccessDenied {
            operation: cx.op,
            target,
            code: code_or_status,
        },
        404 if cx.op == RequestKind::List => StorageError::BucketNotFound {
            bucket: cx.bucket.to_string(),
            endpoint: cx.endpoint.to_string(),
        },
        404 => StorageError::NotFound {
            store: format!("s3://{}", cx.bucket),
            key: cx.key.to_string(),
        },
        429 | 500..=599 => StorageError::Transient {
            operation: cx.op,
            target,
            detail: describe(&code_or_status, message),
        },
        _ => StorageError::Other {
            operation: cx.op,
            target,
            detail: describe(&code_or_status, message),
        },
    }
}

fn describe(code: &str, message: &str) -> String {
    if message.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_are_classified() {
        let cx = Context {
            bucket: "b",
            region: "us-east-1",
            endpoint: "http://127.0.0.1:9",
            op: RequestKind::List,
            key: "data/",
        };
        assert!(matches!(
            classify_response(&cx, 404, "NoSuchBucket", "", None),
            StorageError::BucketNotFound { .. }
        ));
        assert!(matches!(
            classify_response(&cx, 403, "SignatureDoesNotMatch", "", None),
            StorageError::InvalidCredentials { .. }
        ));
        assert!(matches!(
            classify_response(&cx, 403, "InvalidAccessKeyId", "", None),
            StorageError::InvalidCredentials { .. }
        ));
        assert!(matches!(
            classify_response(&cx, 403, "", "", None),
            StorageError::AccessDenied { .. }
        ));
        assert!(matches!(
            classify_response(&cx, 301, "", "", Some("eu-west-1".into())),
            StorageError::WrongRegion { .. }
        ));
        let e = classify_response(&cx, 503, "SlowDown", "Please reduce your request rate.", None);
        assert!(e.is_transient(), "{e}");
        let msg = classify_response(&cx, 403, "AccessDenied", "", None).to_string();
        assert!(msg.contains("s3:ListBucket") && msg.contains("s3://b/data/*"), "{msg}");
    }
}

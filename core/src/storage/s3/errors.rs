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

    fn get_cx() -> Context<'static> {
        Context {
            bucket: "b",
            region: "us-east-1",
            endpoint: "http://127.0.0.1:9",
            op: RequestKind::Get,
            key: "data/x.csv",
        }
    }

    #[test]
    fn every_code_maps_to_its_variant_and_advice() {
        let cx = get_cx();
        let msg =
            |status: u16, code: &str, message: &str| classify_response(&cx, status, code, message, None).to_string();
        assert_eq!(
            msg(404, "NoSuchBucket", ""),
            "Not found: bucket 'b' does not exist at http://127.0.0.1:9 (NoSuchBucket). Check `bucket` (and `endpoint_url` for S3-compatible servers)."
        );
        assert_eq!(
            msg(400, "InvalidBucketName", ""),
            "`bucket` 'b' is not a valid bucket name: use 3-63 lowercase letters, digits, dots and hyphens."
        );
        for code in ["NoSuchKey", "NotFound", "NoSuchUpload"] {
            let e = classify_response(&cx, 404, code, "", None);
            assert!(e.is_not_found(), "{code}");
            assert_eq!(
                e.to_string(),
                "Not found: object 'data/x.csv' does not exist in s3://b."
            );
        }
        for code in [
            "InvalidAccessKeyId",
            "NotSignedUp",
            "InvalidClientTokenId",
            "UnrecognizedClientException",
        ] {
            assert_eq!(
                msg(403, code, ""),
                format!("Invalid credentials: the server does not know this access key id ({code}). Check `access_key_id` and `secret_access_key` (and `session_token` for temporary credentials).")
            );
        }
        assert!(msg(403, "SignatureDoesNotMatch", "").starts_with(
            "Invalid credentials: the secret access key does not match the access key id (SignatureDoesNotMatch)."
        ));
        for code in [
            "InvalidToken",
            "ExpiredToken",
            "TokenRefreshRequired",
            "InvalidSecurity",
        ] {
            assert!(
                msg(400, code, "").starts_with(&format!(
                    "Invalid credentials: the session token is invalid or expired ({code})."
                )),
                "{code}"
            );
        }
        for code in [
            "PermanentRedirect",
            "AuthorizationHeaderMalformed",
            "IllegalLocationConstraintException",
        ] {
            assert_eq!(
                classify_response(&cx, 400, code, "", Some("eu-west-1".into())).to_string(),
                "Bucket 'b' is in region 'eu-west-1', not 'us-east-1': set `region` to \"eu-west-1\"."
            );
            assert_eq!(
                msg(400, code, ""),
                "Bucket 'b' is in region 'another region', not 'us-east-1': set `region` to \"another region\"."
            );
        }
        for code in [
            "AccessDenied",
            "AllAccessDisabled",
            "AccountProblem",
            "InvalidObjectState",
        ] {
            assert_eq!(
                msg(403, code, ""),
                format!("Access denied: the credentials may not read s3://b/data/x.csv ({code}). Grant s3:GetObject on it in the IAM or bucket policy, or check `bucket` and the prefix.")
            );
        }
        for code in [
            "SlowDown",
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "InternalError",
            "ServiceUnavailable",
            "RequestTimeout",
        ] {
            let e = classify_response(&cx, 503, code, "busy", None);
            assert!(e.is_transient(), "{code}");
            assert_eq!(
                e.to_string(),
                format!("Could not read s3://b/data/x.csv: {code}: busy, even after retries. This is usually temporary (throttling or a server fault); try again later.")
            );
        }
    }

    #[test]
    fn statuses_without_a_known_code_map_by_status() {
        let cx = get_cx();
        assert_eq!(
            classify_response(&cx, 301, "", "", Some("ap-south-1".into())).to_string(),
            "Bucket 'b' is in region 'ap-south-1', not 'us-east-1': set `region` to \"ap-south-1\"."
        );
        assert_eq!(
            classify_response(&cx, 403, "", "", None).to_string(),
            "Access denied: the credentials may not read s3://b/data/x.csv (HTTP 403). Grant s3:GetObject on it in the IAM or bucket policy, or check `bucket` and the prefix."
        );
        let e = classify_response(&cx, 404, "", "", None);
        assert!(matches!(&e, StorageError::NotFound { store, key } if store == "s3://b" && key == "data/x.csv"));
        let list = Context {
            op: RequestKind::List,
            key: "",
            ..get_cx()
        };
        assert!(matches!(
            classify_response(&list, 404, "", "", None),
            StorageError::BucketNotFound { bucket, .. } if bucket == "b"
        ));
        // A listing of the whole bucket names the bucket, not a prefix.
        assert_eq!(
            classify_response(&list, 403, "", "", None).to_string(),
            "Access denied: the credentials may not list bucket s3://b (HTTP 403). Grant s3:ListBucket on it in the IAM or bucket policy, or check `bucket` and the prefix."
        );
        for status in [429, 500, 502, 599] {
            let e = classify_response(&cx, status, "", "", None);
            assert!(e.is_transient(), "{status}");
            assert_eq!(
                e.to_string(),
                format!("Could not read s3://b/data/x.csv: HTTP {status}, even after retries. This is usually temporary (throttling or a server fault); try again later.")
            );
        }
        assert_eq!(
            classify_response(&cx, 400, "InvalidArgument", "bad range", None).to_string(),
            "Could not read s3://b/data/x.csv: InvalidArgument: bad range."
        );
        let put = Context {
            op: RequestKind::Put,
            ..get_cx()
        };
        assert_eq!(
            classify_response(&put, 418, "", "", None).to_string(),
            "Could not write s3://b/data/x.csv: HTTP 418."
        );
    }

    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn response(status: u16, region: Option<&str>) -> HttpResponse {
        let mut r = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        if let Some(region) = region {
            r.headers_mut().insert("x-amz-bucket-region", region.to_string());
        }
        r
    }

    fn service_error(
        code: &str,
        message: &str,
        status: u16,
        region: Option<&str>,
    ) -> SdkError<GetObjectError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(GetObjectError::generic(meta), response(status, region))
    }

    #[test]
    fn sdk_errors_are_classified_from_their_kind_and_response() {
        let cx = get_cx();
        let e = classify(&cx, service_error("NoSuchKey", "gone", 404, None));
        assert!(
            matches!(&e, StorageError::NotFound { key, .. } if key == "data/x.csv"),
            "{e}"
        );
        let e = classify(&cx, service_error("", "", 301, Some("eu-central-1")));
        assert!(
            matches!(&e, StorageError::WrongRegion { actual, .. } if actual == "eu-central-1"),
            "{e}"
        );

        let timeout: SdkError<GetObjectError, HttpResponse> = SdkError::timeout_error("operation timeout");
        assert_eq!(
            classify(&cx, timeout).to_string(),
            "Timed out trying to read s3://b/data/x.csv at http://127.0.0.1:9 (no response in time), even after retries. The server is slow or unreachable; try again later."
        );

        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111).",
        );
        let dispatch: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(refused.into()));
        assert_eq!(
            classify(&cx, dispatch).to_string(),
            "Could not connect to http://127.0.0.1:9: Connection refused (os error 111). Check `endpoint_url`, `use_ssl` and `region`, and that the server is reachable from here."
        );

        let slow = std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out");
        let dispatch: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::timeout(slow.into()));
        let e = classify(&cx, dispatch);
        assert!(
            matches!(&e, StorageError::Timeout { detail, .. } if detail == "read timed out"),
            "{e}"
        );

        let creds = aws_credential_types::provider::error::CredentialsError::not_loaded("no profile found");
        let dispatch: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::other(creds.into(), None));
        let e = classify(&cx, dispatch);
        assert!(
            matches!(&e, StorageError::NoCredentials { detail } if detail == "no profile found"),
            "{e}"
        );

        let built: SdkError<GetObjectError, HttpResponse> = SdkError::construction_failure("invalid header value");
        assert_eq!(
            classify(&cx, built).to_string(),
            "Could not read s3://b/data/x.csv: the request could not be built: invalid header value."
        );
        let creds = aws_credential_types::provider::error::CredentialsError::provider_error("sts refused");
        let built: SdkError<GetObjectError, HttpResponse> = SdkError::construction_failure(creds);
        assert!(matches!(classify(&cx, built), StorageError::NoCredentials { .. }));
    }
}

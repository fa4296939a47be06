//! Credentials of an S3 connection: static keys (plus a session token),
//! the default AWS chain (environment, profile, web identity, ECS, EC2
//! instance role) when no keys are given, none at all for public buckets
//! (`anonymous`: unsigned requests), and an STS AssumeRole on top of any of
//! them when `role_arn` is set.

use super::connection::S3Connection;
use crate::storage::error::Result;
use crate::storage::StorageError;
use aws_config::{ConfigLoader, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};

/// Sets the credentials `conn` asks for on `loader`: none (`anonymous`),
/// static keys, or — with no keys — the default chain. A key id without its
/// secret (or the reverse) is an error.
pub(super) fn configure(mut loader: ConfigLoader, conn: &S3Connection) -> Result<ConfigLoader> {
    let key_id = conn.access_key_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let secret = conn.secret_access_key.as_ref().filter(|s| !s.is_empty());
    let token = conn.session_token.as_ref().filter(|s| !s.is_empty());
    if conn.anonymous {
        loader = loader.no_credentials();
    } else {
        match (key_id, secret) {
                (Some(id), Some(secret)) => {
                    let creds = Credentials::new(
                        id,
                        secret.expose(),
                        token.map(|t| t.expose().to_string()),
                        None,
                        "lakeport-config",
                    );
                    loader = loader.credentials_provider(creds);
                }
                (Some(_), None) => {
                    return Err(StorageError::Config(
                        "`access_key_id` is set but `secret_access_key` is not: set both, or neither to use the default AWS credential chain.".into(),
                    ))
                }
                (None, Some(_)) => {
                    return Err(StorageError::Config(
                        "`secret_access_key` is set but `access_key_id` is not: set both, or neither to use the default AWS credential chain.".into(),
                    ))
                }
                (None, None) => {}
            }
    }
    Ok(loader)
}

/// With a `role_arn` (and not anonymous): `sdk` with its credentials
/// replaced by an STS AssumeRole provider whose base credentials are `sdk`'s.
pub(super) async fn assume_role(sdk: SdkConfig, conn: &S3Connection) -> SdkConfig {
    let role = conn.role_arn.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let (Some(role), false) = (role, conn.anonymous) {
        let provider = aws_config::sts::AssumeRoleProvider::builder(role)
            .session_name("lakeport")
            .configure(&sdk)
            .build()
            .await;
        return sdk
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
    }
    sdk
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::s3::Secret;

    #[test]
    fn secrets_never_print() {
        let mut conn = S3Connection::new("b");
        conn.access_key_id = Some("AKIDEXAMPLE".into());
        conn.secret_access_key = Some(Secret::new("TOPSECRETVALUE"));
        conn.session_token = Some(Secret::new("TOKENVALUE"));
        let shown = format!("{conn:?} {:?}", conn.builder());
        assert!(
            !shown.contains("TOPSECRETVALUE") && !shown.contains("TOKENVALUE"),
            "{shown}"
        );
        let back: S3Connection = serde_json::from_value(serde_json::to_value(&conn).unwrap()).unwrap();
        assert_eq!(back.secret_access_key.unwrap().expose(), "TOPSECRETVALUE");
    }
}

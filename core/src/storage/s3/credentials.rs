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

    fn loader() -> ConfigLoader {
        aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1"))
    }

    #[test]
    fn a_key_id_without_its_secret_or_the_reverse_is_a_config_error() {
        let mut conn = S3Connection::new("b");
        conn.access_key_id = Some("AKIDEXAMPLE".into());
        let e = configure(loader(), &conn).err().unwrap();
        assert!(
            matches!(&e, StorageError::Config(m) if m.starts_with("`access_key_id` is set but `secret_access_key` is not")),
            "{e}"
        );
        // Blank values count as unset.
        conn.access_key_id = Some("  ".into());
        conn.secret_access_key = Some(Secret::new("s"));
        let e = configure(loader(), &conn).err().unwrap();
        assert!(
            matches!(&e, StorageError::Config(m) if m.starts_with("`secret_access_key` is set but `access_key_id` is not")),
            "{e}"
        );
        // Anonymous ignores the keys altogether.
        conn.anonymous = true;
        assert!(configure(loader(), &conn).is_ok());
    }

    #[test]
    fn a_role_is_assumed_over_the_keys_but_not_for_anonymous_requests() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut conn = S3Connection::new("b");
        conn.access_key_id = Some("AKIDEXAMPLE".into());
        conn.secret_access_key = Some(Secret::new("secret"));
        conn.role_arn = Some(" arn:aws:iam::123456789012:role/reader ".into());
        runtime.block_on(async {
            let sdk = configure(loader(), &conn).unwrap().load().await;
            let assumed = assume_role(sdk, &conn).await;
            // The provider is the AssumeRole one (the static keys are its base).
            let provider = format!("{:?}", assumed.credentials_provider().unwrap());
            assert!(provider.contains("AssumeRole"), "{provider}");
            conn.anonymous = true;
            let sdk = configure(loader(), &conn).unwrap().load().await;
            let unsigned = assume_role(sdk, &conn).await;
            assert!(unsigned.credentials_provider().is_none());
        });
    }
}

//! The SSO portal (the aws-sdk-sso API): signing a token out. Knows nothing of profiles.

use aws_config::BehaviorVersion;
use aws_sdk_sso::config::Region;

use crate::net::Net;

/// An SSO portal client in `region`, through stsenv's network; AWS_ENDPOINT_URL_SSO (and the
/// other endpoint settings) apply as in the AWS CLI.
pub async fn client(net: &Net, region: &str) -> aws_sdk_sso::Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .http_client(net.client())
        .timeout_config(net.timeouts())
        .no_credentials()
        .load()
        .await;
    aws_sdk_sso::Client::new(&sdk)
}

/// Ends the portal session of `access_token`; Err is why it could not (the token is removed
/// from the cache either way, as `aws sso logout` does).
pub async fn logout(net: &Net, region: &str, access_token: &str) -> Result<(), String> {
    client(net, region)
        .await
        .logout()
        .access_token(access_token)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| match e.raw_response() {
            Some(r) => format!("the portal answered HTTP {}", r.status().as_u16()),
            None => "the portal could not be reached".to_string(),
        })
}

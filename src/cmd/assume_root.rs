//! `stsenv assume-root ACCOUNT --task TASK`: a short root session in a member account for one
//! privileged task (STS AssumeRoot), printed as `assume` prints a session, never cached nor
//! written to a file.

use crate::cli::AssumeRootArgs;
use crate::cmd::Output;
use crate::context::Context;
use crate::engine::{self, Request};
use crate::error::Error;
use crate::shell::Dialect;
use crate::sts::{RootCall, MAX_ROOT_SECS};
use crate::validate;

pub fn run(ctx: &Context, args: &AssumeRootArgs, shell: Dialect) -> Result<Output, Error> {
    if args.write_profile.is_some() {
        return Err(Error::Usage(
            "a root session is never written to a file: drop --write-profile, and use it from this shell (or `stsenv exec`) while it lasts"
                .into(),
        ));
    }
    validate::account_id(&args.account)?;
    let region = args
        .region
        .as_deref()
        .map(|r| validate::region(r).map(|()| r))
        .transpose()?;
    let duration = match &args.duration {
        Some(d) => validate::root_duration(d)?,
        None => MAX_ROOT_SECS,
    };
    // The task's ARN is in the partition of the region in force (the given one, else the
    // environment's, else the profile's, else us-east-1), as the plan will pick it.
    let profile = args
        .profile
        .clone()
        .or_else(|| ctx.env().var("AWS_PROFILE"));
    let in_force = engine::region(region, ctx.profiles()?, profile.as_deref(), ctx.env())
        .unwrap_or_else(|| engine::DEFAULT_REGION.to_string());
    if in_force == "aws-global" {
        return Err(Error::bad(
            "region",
            &in_force,
            "AssumeRoot has no global endpoint: pass --region with a region of your organization",
        ));
    }
    let task_arn = validate::root_task(&args.task, validate::partition_of_region(&in_force))?;
    let mut req = Request::root(RootCall {
        account: args.account.clone(),
        task_arn,
        duration,
    });
    req.profile = args.profile.clone();
    req.region = region.map(String::from);
    req.role.token_code = args
        .token_code
        .as_deref()
        .map(|c| validate::token_code(c).map(|()| c.to_string()))
        .transpose()?;
    req.endpoint_url = args
        .endpoint_url
        .as_deref()
        .map(|u| validate::endpoint_url(u).map(|()| u.to_string()))
        .transpose()?;
    if let Some(t) = &args.timeout {
        req.timeout = validate::timeout(t)?;
    }
    req.no_login = args.no_login;
    let planned = engine::plan(ctx, req)?;
    let session = planned.obtain()?;
    super::export(ctx, planned.request(), session, shell)
}

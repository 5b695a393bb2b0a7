#!/usr/bin/env bash
# A one-command demo without an AWS account: starts moto (a local AWS) on loopback, creates a
# role, assumes it with stsenv, and shows `aws sts get-caller-identity` answering with the
# assumed-role ARN. Installs moto and the aws CLI from PyPI if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v moto_server >/dev/null 2>&1 || python3 -m pip install --quiet 'moto[server]'
command -v aws >/dev/null 2>&1 || python3 -m pip install --quiet awscli
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
stsenv=$(command -v stsenv || true)
if [ -z "$stsenv" ]; then
  cargo build --quiet --release
  stsenv=$PWD/target/release/stsenv
fi

work=$(mktemp -d)
. scripts/lib/moto.sh

# A sandbox: its own config files, and nothing from your real ~/.aws or environment.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION
export AWS_CONFIG_FILE=$work/config AWS_SHARED_CREDENTIALS_FILE=$work/credentials
export AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port AWS_EC2_METADATA_DISABLED=true
cat >"$AWS_SHARED_CREDENTIALS_FILE" <<CREDS
[demo-user]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
CREDS
cat >"$AWS_CONFIG_FILE" <<CONF
[profile demo-user]
region = us-east-1

[profile demo-admin]
role_arn = arn:aws:iam::123456789012:role/demo-admin
source_profile = demo-user
region = eu-west-1
CONF

echo "# moto is listening on 127.0.0.1:$moto_port; creating role demo-admin"
aws --profile demo-user iam create-role --role-name demo-admin \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}' \
  --query Role.Arn --output text

echo '# before: aws sts get-caller-identity --profile demo-user'
aws --profile demo-user sts get-caller-identity --query Arn --output text

echo '$ eval "$(stsenv assume demo-admin)"'
eval "$("$stsenv" assume demo-admin --shell bash)"
echo "# STSENV_PROFILE=$STSENV_PROFILE AWS_REGION=$AWS_REGION AWS_CREDENTIAL_EXPIRATION=$AWS_CREDENTIAL_EXPIRATION"

echo '$ aws sts get-caller-identity'
aws sts get-caller-identity --query Arn --output text

"""The `aws` backend: AWS Secrets Manager through boto3 and its usual credential chain.

A reference is the secret's name or ARN; `#key` picks a field of a JSON secret. boto3 is
imported only when an aws reference is resolved.
"""

from __future__ import annotations

from fraisier.config.secrets import AwsBackend
from fraisier.secrets.errors import BackendError

_REASONS = {
    "ResourceNotFoundException": "no such secret",
    "AccessDeniedException": "permission denied",
    "UnrecognizedClientException": "the AWS credentials were refused",
    "InvalidSignatureException": "the AWS credentials were refused",
    "DecryptionFailure": "cannot decrypt the secret (KMS)",
    "InvalidRequestException": "request refused (is the secret scheduled for deletion?)",
}


def read_aws(backend: AwsBackend, name: str) -> str:
    try:
        import boto3
        from botocore import exceptions as aws_errors
        from botocore.config import Config
    except ImportError:
        raise BackendError("the aws backend needs boto3: pip install 'fraisier[aws]'") from None

    try:
        session = boto3.session.Session(profile_name=backend.profile, region_name=backend.region)
        client = session.client(
            "secretsmanager", endpoint_url=backend.endpoint_url,
            config=Config(connect_timeout=backend.timeout, read_timeout=backend.timeout,
                          retries={"max_attempts": 2, "mode": "standard"}))
        answer = client.get_secret_value(SecretId=name)
    except aws_errors.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise BackendError(_REASONS.get(code, f"AWS error {code or 'unknown'}")) from None
    except aws_errors.NoCredentialsError:
        raise BackendError("no AWS credentials found (environment, profile or role)") from None
    except aws_errors.NoRegionError:
        raise BackendError("no AWS region: set secrets.<name>.region or AWS_REGION") from None
    except aws_errors.ProfileNotFound:
        raise BackendError(f"no AWS profile {backend.profile!r}") from None
    except (aws_errors.ConnectTimeoutError, aws_errors.ReadTimeoutError):
        raise BackendError(f"timed out after {backend.timeout:g}s") from None
    except aws_errors.EndpointConnectionError:
        raise BackendError("unreachable: cannot connect to the Secrets Manager endpoint") from None
    except aws_errors.BotoCoreError as exc:
        raise BackendError(f"{type(exc).__name__}") from None
    if "SecretString" in answer:
        return str(answer["SecretString"])
    try:
        return bytes(answer["SecretBinary"]).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        raise BackendError("the secret has no text value") from None

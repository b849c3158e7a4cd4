"""Network Firewall and STS access for push and drift: one client per region, bounded retries, clear errors.

Retried: throttling and every server-side error (HTTP 5xx, including a proxy's 502/503 without an AWS error
code). Not retried: a dropped connection, because the service may have handled the call; push re-reads the
state instead (a rerun converges, see replace.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from rulec.errors import RulecError

RETRYABLE = {
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailableException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
}
MIN_BOTOCORE = (1, 44)
# Members of botocore's Network Firewall model that push relies on (added by 1.44)
NEEDED = {"FirewallPolicy": ("PolicyVariables", "StatefulEngineOptions", "Route53ResolvedIPValidation")}


class PushError(Exception):
    """A push that stopped (conflict, capacity, API failure); `done` lists what was already applied."""

    def __init__(self, message: str, done: list[str] | None = None):
        super().__init__(message)
        self.done = done or []


def check_model() -> None:
    """Bad input (exit 2) when the installed botocore lacks the API fields push sends."""
    upgrade = "pip install --upgrade 'botocore>=1.44' (or: pip install --upgrade 'rulec[aws]')"
    version = tuple(int(p) for p in botocore.__version__.split(".")[:2] if p.isdigit())
    model = botocore.session.get_session().get_service_model("network-firewall")
    missing = [
        f"{shape}.{member}"
        for shape, members in NEEDED.items()
        for member in members
        if member not in model.shape_for(shape).members
    ]
    if version < MIN_BOTOCORE or missing:
        lacks = f" (its model lacks {', '.join(missing)})" if missing else ""
        raise RulecError(f"botocore {botocore.__version__} is too old for rulec push and drift{lacks}: {upgrade}")


def api_message(exc: ClientError) -> str:
    err = exc.response.get("Error", {})
    return f"{exc.operation_name}: {err.get('Code')}: {err.get('Message')}"


def _retryable(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return code in RETRYABLE or status >= 500 or code in ("502", "503", "500", "504")


class Api:
    def __init__(
        self,
        profile: str | None = None,
        endpoint_url: str | None = None,
        log: Callable[[str], None] = lambda _: None,
        retries: int = 5,
        backoff: float = 0.5,
    ):
        self.profile, self.endpoint_url, self.log = profile, endpoint_url, log
        self.retries, self.backoff = retries, backoff
        self._clients: dict[tuple[str, str], Any] = {}
        self.done: list[str] = []

    def client(self, region: str, service: str = "network-firewall") -> Any:
        if (region, service) not in self._clients:
            try:
                session = boto3.session.Session(profile_name=self.profile, region_name=region)
            except BotoCoreError as exc:
                raise RulecError(f"AWS configuration: {exc}") from None
            config = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60)
            self._clients[region, service] = session.client(service, endpoint_url=self.endpoint_url, config=config)
        return self._clients[region, service]

    def call(self, region: str, operation: str, service: str = "network-firewall", **params: Any) -> dict[str, Any]:
        """One API call with bounded retries and exponential backoff for throttling and server errors."""
        for attempt in range(self.retries):
            try:
                return getattr(self.client(region, service), operation)(**params)
            except ClientError as exc:
                if _retryable(exc) and attempt + 1 < self.retries:
                    delay = self.backoff * 2**attempt
                    code = exc.response.get("Error", {}).get("Code") or "HTTP error"
                    self.log(f"  {operation}: {code}, retrying in {delay:.2f} s ({attempt + 1}/{self.retries - 1})")
                    time.sleep(delay)
                    continue
                raise
            except NoCredentialsError:
                raise RulecError(
                    "no AWS credentials found (environment, --profile, config files, instance role)"
                ) from None
            except BotoCoreError as exc:
                raise PushError(f"{operation} in {region}: {exc}", self.done) from None
        raise AssertionError("unreachable")

    def checked(self, region: str, operation: str, **params: Any) -> dict[str, Any]:
        """`call`, with an API error turned into a PushError (a message, never a traceback)."""
        try:
            return self.call(region, operation, **params)
        except ClientError as exc:
            raise PushError(api_message(exc), self.done) from None

    def found(self, region: str, operation: str, what: str = "", **params: Any) -> dict[str, Any] | None:
        """`checked` for a Describe call: None when the resource does not exist (`what` prefixes other errors)."""
        try:
            return self.call(region, operation, **params)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                return None
            raise PushError(f"{what}{api_message(exc)}", self.done) from None

    def describe_group(self, region: str, name: str, kind: str = "STATEFUL") -> dict[str, Any] | None:
        return self.found(region, "describe_rule_group", RuleGroupName=name, Type=kind)

    def describe_group_arn(self, region: str, arn: str) -> dict[str, Any] | None:
        return self.found(region, "describe_rule_group", RuleGroupArn=arn)

    def describe_policy(self, region: str, name: str) -> dict[str, Any] | None:
        what = f"cannot read firewall policy {region}/{name}: "
        return self.found(region, "describe_firewall_policy", what, FirewallPolicyName=name)

    def account_id(self, region: str) -> str:
        """The caller's account (STS GetCallerIdentity): the only value push substitutes into documents."""
        try:
            return self.call(region, "get_caller_identity", service="sts")["Account"]
        except ClientError as exc:
            raise PushError(f"cannot find the account id ({api_message(exc)}); give --account-id", self.done) from None

    def step(self, message: str) -> None:
        self.done.append(message)
        self.log(f"  {message}")

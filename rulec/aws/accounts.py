"""`rulec drift --accounts FILE`: the same comparison in many accounts and regions, a few at a time.

FILE (YAML, positions reported as file:line:col like the policy):

    accounts:
      - {name: prod, profile: prod-admin}                                   # a profile of the AWS config
      - {name: dev, role_arn: "arn:aws:iam::111122223333:role/rulec-drift", regions: [eu-west-1]}

`role_arn` is assumed (STS AssumeRole) with the credentials of `profile` or the standard chain. `regions`
limits the account to those of the policy's regions (default: all). Accounts run in parallel, at most
`--parallel` (default 4) at once, each with its own clients; the report lists them in the file's order.
Exit code: 2 when any account could not be read, else 1 when any drifted, else 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from rulec.aws.api import PushError, api_message
from rulec.aws.push import Pusher
from rulec.errors import RulecError
from rulec.load.schema import Constraint, Model, model_check
from rulec.load.schema import field as model_field
from rulec.load.source import load_model

Region = Annotated[str, Constraint(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$")]


class Account(Model):
    name: Annotated[str, Constraint(min_length=1, max_length=64)]
    profile: str | None = None
    role_arn: Annotated[str, Constraint(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")] | None = None
    account_id: Annotated[str, Constraint(pattern=r"^\d{12}$")] | None = model_field(
        None, description="For ${AccountId}; default: STS GetCallerIdentity in the account"
    )
    regions: list[Region] | None = None
    endpoint_url: str | None = model_field(None, description="Another endpoint (testing, VPC endpoints)")

    @model_check
    def _how(self) -> None:
        if self.profile is None and self.role_arn is None:
            raise ValueError(f"account '{self.name}' needs a 'profile' or a 'role_arn' to assume")


class AccountsFile(Model):
    accounts: Annotated[list[Account], Constraint(min_length=1)]


@dataclass
class Result:
    account: str
    how: str
    items: list[Any] = field(default_factory=list)
    error: str = ""


def load(path: Path) -> list[Account]:
    spec, _ = load_model(path, AccountsFile)
    names = [a.name for a in spec.accounts]
    repeated = [n for i, n in enumerate(names) if n in names[:i]]
    if repeated:
        raise RulecError(f"{path}: account '{repeated[0]}' is listed twice")
    return spec.accounts


class AssumedPusher(Pusher):
    """A Pusher whose clients use a role assumed once per account (credentials of `profile` or the chain)."""

    def __init__(self, role_arn: str, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.role_arn, self._credentials = role_arn, None

    def client(self, region: str, service: str = "network-firewall") -> Any:
        if (region, service) not in self._clients:
            if self._credentials is None:
                sts = super().client(region, "sts")
                response = sts.assume_role(RoleArn=self.role_arn, RoleSessionName="rulec-drift")
                self._credentials = response["Credentials"]
            c = self._credentials
            session = boto3.session.Session(
                aws_access_key_id=c["AccessKeyId"],
                aws_secret_access_key=c["SecretAccessKey"],
                aws_session_token=c["SessionToken"],
                region_name=region,
            )
            config = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60)
            self._clients[region, service] = session.client(service, endpoint_url=self.endpoint_url, config=config)
        return self._clients[region, service]


def _one(account: Account, compare: Callable[[Account, Pusher], list], endpoint: str | None) -> Result:
    how = f"role {account.role_arn}" if account.role_arn else f"profile {account.profile}"
    url = account.endpoint_url or endpoint
    pusher = AssumedPusher(account.role_arn, account.profile, url) if account.role_arn else Pusher(account.profile, url)
    try:
        return Result(account.name, how, compare(account, pusher))
    except PushError as exc:
        return Result(account.name, how, error=str(exc))
    except ClientError as exc:
        return Result(account.name, how, error=api_message(exc))
    except (RulecError, BotoCoreError) as exc:
        return Result(account.name, how, error=str(exc))


def run(
    accounts: list[Account], compare: Callable[[Account, Pusher], list], parallel: int = 4, endpoint: str | None = None
) -> list[Result]:
    """Every account through `compare`, at most `parallel` at once; results in the file's order."""
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(accounts)))) as pool:
        return list(pool.map(lambda a: _one(a, compare, endpoint), accounts))


def text(results: list[Result]) -> str:
    lines = []
    for r in results:
        if r.error:
            lines.append(f"account {r.account} ({r.how}): cannot read: {r.error}")
            continue
        lines.append(
            f"account {r.account} ({r.how}): " + (f"drift, {len(r.items)} difference(s)" if r.items else "in sync")
        )
        for i in r.items:
            lines += [f"    {i.region}/{i.resource}: {i.change}", f"        origin: {i.origin}"]
    drifted = sum(bool(r.items) for r in results)
    failed = sum(bool(r.error) for r in results)
    lines.append(f"{len(results)} account(s): {drifted} drifted, {failed} unreadable")
    return "\n".join(lines)


def as_json(results: list[Result]) -> str:
    rows = [
        {"account": r.account, "via": r.how, "error": r.error or None, "drift": [asdict(i) for i in r.items]}
        for r in results
    ]
    return json.dumps({"accounts": rows}, indent=2)


def exit_code(results: list[Result]) -> int:
    if any(r.error for r in results):
        return 2
    return 1 if any(r.items for r in results) else 0

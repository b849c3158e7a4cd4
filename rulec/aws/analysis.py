"""Network Firewall traffic analysis reports, read through boto3 (for `rulec learn --from-analysis-report`).

A report lists the domains a firewall saw over the last 30 days for one analysis type (TLS_SNI or
HTTP_HOST): domain, hits, unique sources, first and last access. Analysis must be enabled on the firewall
(`EnabledAnalysisTypes`, DescribeFirewall); rulec reads that setting and never changes it. A completed or
running report of a type is reused (the service allows one per type per 30 days); otherwise one is started.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from rulec.errors import RulecError

TYPES = ("TLS_SNI", "HTTP_HOST")
ENABLE_HINT = (
    "an administrator can enable it with `aws network-firewall update-firewall-analysis-settings "
    "--firewall-name {name} --enabled-analysis-types TLS_SNI HTTP_HOST`; reports cover traffic seen after that"
)


@dataclass(frozen=True)
class Row:
    domain: str
    protocol: str
    hits: int
    unique_sources: int
    first: float | None  # epoch seconds
    last: float | None


@dataclass
class Fetched:
    rows: list[Row]
    notes: list[str]


def _client(region: str, endpoint_url: str | None, profile: str | None):
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile, region_name=region)
    config = Config(retries={"max_attempts": 6, "mode": "standard"})
    return session.client("network-firewall", endpoint_url=endpoint_url, config=config)


def _error(exc: Exception, firewall: str, region: str) -> RulecError:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return RulecError("no AWS credentials: configure the standard boto3 chain (environment, profile, role)")
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        message = exc.response.get("Error", {}).get("Message", "")
        if code == "ResourceNotFoundException":
            return RulecError(f"no firewall '{firewall}' in {region} ({message})")
        return RulecError(f"Network Firewall refused the request: {code}: {message}")
    if isinstance(exc, BotoCoreError):
        return RulecError(f"cannot reach Network Firewall in {region}: {exc}")
    raise exc


def fetch(
    firewall: str,
    region: str,
    endpoint_url: str | None = None,
    profile: str | None = None,
    poll_seconds: float = 10.0,
    timeout_seconds: float = 900.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """Every result row of the newest report of each enabled analysis type; raises RulecError when
    analysis is not enabled or the service refuses."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = _client(region, endpoint_url, profile)
        fw = client.describe_firewall(FirewallName=firewall)["Firewall"]
        enabled = [t for t in TYPES if t in (fw.get("EnabledAnalysisTypes") or [])]
        if not enabled:
            raise RulecError(
                f"traffic analysis is not enabled on firewall '{firewall}' in {region} (EnabledAnalysisTypes "
                f"is empty), so it has no report to read; rulec never enables it: {ENABLE_HINT.format(name=firewall)}"
            )
        notes = [
            f"analysis type {t} is not enabled on '{firewall}': its names are not in the report"
            for t in TYPES
            if t not in enabled
        ]
        reports = _reports(client, firewall)
        rows: list[Row] = []
        for kind in enabled:
            report_id, note = _report_for(client, firewall, kind, reports)
            notes.append(note)
            rows.extend(_results(client, firewall, report_id, kind, poll_seconds, timeout_seconds, sleep))
        return Fetched(rows, notes)
    except (ClientError, BotoCoreError) as exc:
        raise _error(exc, firewall, region) from None


def _reports(client, firewall: str) -> list[dict]:
    out: list[dict] = []
    for page in client.get_paginator("list_analysis_reports").paginate(FirewallName=firewall):
        out.extend(page.get("AnalysisReports", []))
    return out


def _report_for(client, firewall: str, kind: str, reports: list[dict]) -> tuple[str, str]:
    """Reuse the newest completed (else running) report of `kind`; start one when there is none."""
    for status in ("COMPLETED", "RUNNING"):
        mine = [r for r in reports if r.get("AnalysisType") == kind and r.get("Status") == status]
        if mine:
            newest = max(mine, key=lambda r: (r.get("ReportTime") or 0, r["AnalysisReportId"]))
            when = newest.get("ReportTime")
            stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(when, "strftime") else "an unknown time"
            return newest[
                "AnalysisReportId"
            ], f"reused {status.lower()} {kind} report {newest['AnalysisReportId']} of {stamp}"
    started = client.start_analysis_report(FirewallName=firewall, AnalysisType=kind)["AnalysisReportId"]
    return started, f"started {kind} report {started} (the service allows one per type per 30 days)"


def _stamp(value) -> float | None:
    return value.timestamp() if hasattr(value, "timestamp") else None


def _results(client, firewall, report_id, kind, poll_seconds, timeout_seconds, sleep) -> list[Row]:
    waited = 0.0
    while True:
        first = client.get_analysis_report_results(FirewallName=firewall, AnalysisReportId=report_id, MaxResults=100)
        status = first.get("Status", "COMPLETED")
        if status == "COMPLETED":
            break
        if status not in ("RUNNING", "IN_PROGRESS") or waited >= timeout_seconds:
            raise RulecError(f"{kind} analysis report {report_id} of '{firewall}' is {status}; try again later")
        sleep(poll_seconds)
        waited += poll_seconds
    rows: list[Row] = []
    page = first
    while True:
        for r in page.get("AnalysisReportResults", []):
            rows.append(
                Row(
                    r.get("Domain", ""),
                    r.get("Protocol") or kind,
                    int((r.get("Hits") or {}).get("Count", 0)),
                    int((r.get("UniqueSources") or {}).get("Count", 0)),
                    _stamp(r.get("FirstAccessed")),
                    _stamp(r.get("LastAccessed")),
                )
            )
        token = page.get("NextToken")
        if not token:
            return rows
        page = client.get_analysis_report_results(
            FirewallName=firewall, AnalysisReportId=report_id, MaxResults=100, NextToken=token
        )

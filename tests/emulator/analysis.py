"""Traffic analysis reports in the emulator: DescribeFirewall (analysis settings only), StartAnalysisReport,
ListAnalysisReports and GetAnalysisReportResults, validated against botocore's model like every operation.

Tests set a firewall up with `add_firewall` (which analysis types are enabled, and the domains its traffic
reached). A started report is RUNNING for `running_polls` GetAnalysisReportResults calls, then COMPLETED.
As the service documents, one report per analysis type may be generated per 30 days, and a type must be
enabled on the firewall (UpdateFirewallAnalysisSettings, which the emulator does not offer) to be reported.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any

import tests.emulator as emulator_module
from tests.emulator import ACCOUNT, ApiError, Emulator

OPERATIONS = ("DescribeFirewall", "StartAnalysisReport", "ListAnalysisReports", "GetAnalysisReportResults")
_NOW = datetime.datetime(2026, 11, 28, 6, 0, tzinfo=datetime.UTC)


@dataclass
class Traffic:
    domain: str
    hits: int
    sources: int
    first: datetime.datetime = _NOW - datetime.timedelta(days=20)
    last: datetime.datetime = _NOW - datetime.timedelta(hours=2)


@dataclass
class Report:
    id: str
    kind: str
    polls_left: int
    time: datetime.datetime


@dataclass
class Firewall:
    name: str
    arn: str
    enabled: list[str]
    traffic: dict[str, list[Traffic]]  # analysis type -> domains
    running_polls: int = 1
    reports: list[Report] = field(default_factory=list)


def _firewalls(emu: Emulator) -> dict[str, dict[str, Firewall]]:
    return emu.__dict__.setdefault("analysis_firewalls", {})


def add_firewall(
    emu: Emulator,
    region: str,
    name: str,
    enabled: tuple[str, ...] = ("TLS_SNI", "HTTP_HOST"),
    traffic: dict[str, list[Traffic]] | None = None,
    running_polls: int = 1,
) -> Firewall:
    arn = f"arn:aws:network-firewall:{region}:{ACCOUNT}:firewall/{name}"
    fw = Firewall(name, arn, list(enabled), traffic or {}, running_polls)
    _firewalls(emu).setdefault(region, {})[name] = fw
    return fw


def _find(emu: Emulator, region: str, p: dict[str, Any]) -> Firewall:
    name = p.get("FirewallName") or str(p.get("FirewallArn", "")).rpartition("/")[2]
    fw = _firewalls(emu).get(region, {}).get(name)
    if fw is None:
        raise ApiError("ResourceNotFoundException", f"Firewall {name} not found")
    return fw


def _page(items: list, p: dict[str, Any], size: int) -> tuple[list, dict[str, Any]]:
    start = int(p.get("NextToken", "0"))
    limit = p.get("MaxResults", size)
    end = start + limit
    return items[start:end], ({"NextToken": str(end)} if end < len(items) else {})


def _describe_firewall(self: Emulator, region: str, p: dict[str, Any]) -> dict[str, Any]:
    fw = _find(self, region, p)
    return {
        "UpdateToken": str(uuid.uuid5(uuid.NAMESPACE_URL, fw.arn)),
        "Firewall": {
            "FirewallName": fw.name,
            "FirewallArn": fw.arn,
            "FirewallPolicyArn": f"arn:aws:network-firewall:{region}:{ACCOUNT}:firewall-policy/inspection",
            "VpcId": "vpc-0123456789abcdef0",
            "SubnetMappings": [{"SubnetId": "subnet-0123456789abcdef0"}],
            "FirewallId": str(uuid.uuid5(uuid.NAMESPACE_URL, fw.arn)),
            "EnabledAnalysisTypes": list(fw.enabled),
        },
        "FirewallStatus": {"Status": "READY", "ConfigurationSyncStateSummary": "IN_SYNC"},
    }


def _start_analysis_report(self: Emulator, region: str, p: dict[str, Any]) -> dict[str, Any]:
    fw = _find(self, region, p)
    kind = p["AnalysisType"]
    if kind not in fw.enabled:
        raise ApiError("InvalidRequestException", f"Analysis type {kind} is not enabled on firewall {fw.name}")
    if any(r.kind == kind for r in fw.reports):
        raise ApiError("InvalidRequestException", f"A {kind} report was already generated in the last 30 days")
    report = Report(str(uuid.uuid4()), kind, fw.running_polls, _NOW)
    fw.reports.append(report)
    return {"AnalysisReportId": report.id}


def _list_analysis_reports(self: Emulator, region: str, p: dict[str, Any]) -> dict[str, Any]:
    fw = _find(self, region, p)
    rows = [
        {
            "AnalysisReportId": r.id,
            "AnalysisType": r.kind,
            "ReportTime": r.time.timestamp(),
            "Status": "RUNNING" if r.polls_left else "COMPLETED",
        }
        for r in fw.reports
    ]
    page, more = _page(rows, p, 100)
    return {"AnalysisReports": page, **more}


def _get_analysis_report_results(self: Emulator, region: str, p: dict[str, Any]) -> dict[str, Any]:
    fw = _find(self, region, p)
    report = next((r for r in fw.reports if r.id == p["AnalysisReportId"]), None)
    if report is None:
        raise ApiError("ResourceNotFoundException", f"Analysis report {p['AnalysisReportId']} not found")
    if report.polls_left:
        report.polls_left -= 1
        return {"Status": "RUNNING", "AnalysisType": report.kind}
    rows = [
        {
            "Protocol": "TLS" if report.kind == "TLS_SNI" else "HTTP",
            "Domain": t.domain,
            "Hits": {"Count": t.hits},
            "UniqueSources": {"Count": t.sources},
            "FirstAccessed": t.first.timestamp(),
            "LastAccessed": t.last.timestamp(),
        }
        for t in fw.traffic.get(report.kind, [])
    ]
    page, more = _page(rows, p, 100)
    window = {"StartTime": (_NOW - datetime.timedelta(days=30)).timestamp(), "EndTime": _NOW.timestamp()}
    done = {"Status": "COMPLETED", "AnalysisType": report.kind, "ReportTime": report.time.timestamp()}
    return {**done, **window, "AnalysisReportResults": page, **more}


def _describe_firewall_or_delegate(other):
    """When the emulator has its own DescribeFirewall, firewalls added here are still described here."""

    def describe(self: Emulator, region: str, p: dict[str, Any]) -> dict[str, Any]:
        name = p.get("FirewallName") or str(p.get("FirewallArn", "")).rpartition("/")[2]
        if name in _firewalls(self).get(region, {}):
            return _describe_firewall(self, region, p)
        return other(self, region, p)

    return describe


def register() -> None:
    """Add the operations to the emulator (once), next to whatever it already offers."""
    new = tuple(op for op in OPERATIONS if op not in emulator_module.OPERATIONS)
    emulator_module.OPERATIONS = emulator_module.OPERATIONS + new
    if hasattr(Emulator, "_describe_firewall") and not hasattr(Emulator, "_analysis_registered"):
        Emulator._describe_firewall = _describe_firewall_or_delegate(Emulator._describe_firewall)
    Emulator._analysis_registered = True
    handlers = {
        "_describe_firewall": _describe_firewall,
        "_start_analysis_report": _start_analysis_report,
        "_list_analysis_reports": _list_analysis_reports,
        "_get_analysis_report_results": _get_analysis_report_results,
    }
    for attr, handler in handlers.items():
        if not hasattr(Emulator, attr):
            setattr(Emulator, attr, handler)


register()

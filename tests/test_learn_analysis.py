"""rulec learn --from-analysis-report: real boto3 over HTTP against the emulator's traffic analysis reports."""

import pytest

from rulec.aws import analysis
from rulec.errors import RulecError
from tests.emulator.analysis import Traffic, add_firewall
from tests.test_learn import WORKSPACE

REGION = "us-east-1"


@pytest.fixture
def nfw(emulator, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.url)
    return emulator.emulator


@pytest.fixture
def workspace(write_policy):
    return write_policy(WORKSPACE)


TRAFFIC = {
    "TLS_SNI": [
        Traffic("pypi.org", 412, 7),
        Traffic("files.pythonhosted.org", 388, 6),
        Traffic("api.example.org", 90, 3),  # already allowed by the policy: subtracted
        Traffic("telemetry.unknown-vendor.example", 12, 1),
    ],
    "HTTP_HOST": [Traffic("pypi.org", 3, 2)],
}


def test_report_results_become_a_proposal_with_unique_sources(cli, nfw, workspace):
    add_firewall(nfw, REGION, "inspection", traffic=TRAFFIC, running_polls=0)
    result = cli("learn", workspace, "--from-analysis-report", "inspection")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "read a traffic analysis report: 5 domain row(s)" in out
    assert "+ feature pypi in us-east-1 (regions.us-east-1.features): 803 hit(s), 2 name(s)" in out
    assert "pypi.org: 415 hit(s) HTTP/TLS" in out and "7 unique source(s)" in out
    assert "? us-east-1 telemetry.unknown-vendor.example: 12 hit(s) TLS" in out and "1 unique source(s)" in out
    assert "already allowed by the policy (1): api.example.org" in out
    assert "note: started TLS_SNI report" in out and "note: started HTTP_HOST report" in out
    ops = [op for _, op in nfw.calls]
    assert ops.count("StartAnalysisReport") == 2 and "UpdateFirewallAnalysisSettings" not in ops
    again = cli("learn", workspace, "--from-analysis-report", "inspection")
    assert "note: reused completed TLS_SNI report" in again.output
    assert [op for _, op in nfw.calls].count("StartAnalysisReport") == 2  # reused, not started again


def test_paging_and_waiting_for_a_running_report(nfw):
    many = [Traffic(f"host-{i:03}.example.com", i, 1) for i in range(250)]
    add_firewall(nfw, REGION, "busy", enabled=("TLS_SNI",), traffic={"TLS_SNI": many}, running_polls=3)
    waits = []
    fetched = analysis.fetch("busy", REGION, sleep=waits.append, poll_seconds=5)
    assert sorted(r.domain for r in fetched.rows) == sorted(t.domain for t in many)
    assert waits == [5, 5, 5]
    assert any("HTTP_HOST is not enabled" in n for n in fetched.notes)
    assert [op for _, op in nfw.calls].count("GetAnalysisReportResults") == 3 + 3  # 3 polls, 3 pages
    row = next(r for r in fetched.rows if r.domain == "host-007.example.com")
    assert (row.hits, row.unique_sources, row.protocol) == (7, 1, "TLS") and row.first < row.last


def test_a_running_report_is_reused_and_a_timeout_is_reported(nfw):
    fw = add_firewall(nfw, REGION, "slow", enabled=("TLS_SNI",), running_polls=100)
    with pytest.raises(RulecError, match="is RUNNING; try again later"):
        analysis.fetch("slow", REGION, sleep=lambda s: None, poll_seconds=1, timeout_seconds=3)
    fw.reports[0].polls_left = 0
    fetched = analysis.fetch("slow", REGION, sleep=lambda s: None)
    assert fetched.rows == [] and fetched.notes[-1].startswith("reused completed TLS_SNI report")


def test_analysis_not_enabled_is_said_and_never_enabled(cli, nfw, workspace):
    add_firewall(nfw, REGION, "quiet", enabled=())
    result = cli("learn", workspace, "--from-analysis-report", "quiet")
    assert result.exit_code == 2
    assert "traffic analysis is not enabled on firewall 'quiet' in us-east-1" in result.output
    assert "rulec never enables it" in result.output and "update-firewall-analysis-settings" in result.output
    assert [op for _, op in nfw.calls] == ["DescribeFirewall"]


def test_errors_are_bad_input(cli, nfw, workspace, write_policy, tmp_path):
    missing = cli("learn", workspace, "--from-analysis-report", "nope")
    assert missing.exit_code == 2 and "no firewall 'nope' in us-east-1" in missing.output
    both = cli("learn", workspace, tmp_path / "x.jsonl", "--from-analysis-report", "nope")
    assert both.exit_code == 2 and "not both" in both.output
    two = write_policy(WORKSPACE + "  eu-west-1:\n    home_net: [10.30.0.0/16]\n", "two.yaml")
    assert "give the firewall's with --region" in cli("learn", two, "--from-analysis-report", "x").output


def test_emulator_validates_requests_against_the_model(nfw):
    from tests.emulator import ApiError

    with pytest.raises(ApiError, match="is not one of TLS_SNI, HTTP_HOST"):
        nfw.call(REGION, "StartAnalysisReport", {"FirewallName": "x", "AnalysisType": "DNS"})
    with pytest.raises(ApiError, match="missing required member AnalysisReportId"):
        nfw.call(REGION, "GetAnalysisReportResults", {"FirewallName": "x"})

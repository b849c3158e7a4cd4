"""The command line's grammar: every command's arguments, as argparse parsers built only for the command that runs.

The parsers are also the source of shell completion (rulec.cli.completion reads their actions)."""

from __future__ import annotations

import argparse

PROG = "rulec"
DESCRIPTION = "Compile a reviewed YAML egress policy into AWS Network Firewall rule groups."
SHELLS = ("bash", "zsh", "fish")


class UsageError(Exception):
    """A command line argparse refused: one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def __init__(self, prog: str, description: str | None = None) -> None:
        super().__init__(prog=prog, description=description, allow_abbrev=False, formatter_class=Formatter)

    def error(self, message: str):  # argparse would print the usage and exit: the caller prints one line instead
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


class Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str) -> None:
        import shutil  # argparse has imported it already

        super().__init__(prog, max_help_position=32, width=min(120, shutil.get_terminal_size().columns))

    def _get_help_string(self, action: argparse.Action) -> str:
        shown = action.default not in (None, False, argparse.SUPPRESS) and action.option_strings
        return f"{action.help or ''} [default: {action.default}]".lstrip() if shown else action.help or ""


class Negatable(argparse.Action):
    """`--flag/--no-flag`, default off (typer's form for a boolean option named after its parameter)."""

    def __init__(self, option_strings, dest, default=False, help=None) -> None:
        names = [*option_strings, *(f"--no-{o[2:]}" for o in option_strings if o.startswith("--"))]
        super().__init__(names, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, not option_string.startswith("--no-"))

    def format_usage(self) -> str:
        return " | ".join(self.option_strings)


def path(text: str):
    """A file or directory argument (pathlib is imported when one is given: `--help` does without it)."""
    from pathlib import Path

    return Path(text)


def at_least_one(kind):
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: '{text}'") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{text} is not >= 1")
        return value

    convert.__name__ = kind.__name__
    return convert


def flag(p, *names: str, help: str | None = None) -> None:
    p.add_argument(*names, action="store_true", help=help)


def option(p, *names: str, help: str, type=str, default=None, metavar=None, **kw) -> None:
    metavar = metavar or ("PATH" if type is path else names[0].lstrip("-").upper().replace("-", "_"))
    p.add_argument(*names, type=type, default=default, metavar=metavar, help=help, **kw)


def choice(p, *names: str, choices: tuple[str, ...], default: str | None = "text", **kw) -> None:
    words = ", ".join(choices[:-1]) + f" or {choices[-1]}"
    p.add_argument(*names, choices=choices, default=default, metavar="|".join(choices), help=words, **kw)


def policy(p) -> None:
    p.add_argument("policy", type=path, metavar="POLICY", help="Policy YAML file, - for stdin")


def out(p, required: bool = False) -> None:
    option(
        p,
        "--out",
        "-o",
        type=path,
        help="Output directory",
        required=required,
        default=None if required else "build",
    )


def catalogs(p) -> None:
    option(p, "--catalogs", type=path, help="Catalogs directory (default: shipped)")


def region(p, help: str = "Only this region") -> None:
    option(p, "--region", "-r", help=help)


def text_or_json(p) -> None:
    choice(p, "--format", choices=("text", "json"))


def aws_common(p) -> None:
    region(p, "Only this region (default: all)")
    option(p, "--profile", help="AWS profile (standard boto3 chain otherwise)")
    option(p, "--endpoint-url", help="Network Firewall (and STS) endpoint, for testing", metavar="URL")


def build(p) -> None:
    policy(p)
    out(p)
    catalogs(p)
    p.add_argument("--locked", action=Negatable, help="Fail instead of changing the SID lock")
    option(p, "--lock", type=path, help="SID lock file (default: beside the policy)")
    flag(p, "--quiet", "-q", help="Print no figures and no summary")


def check(p) -> None:
    policy(p)
    out(p)
    catalogs(p)


def export(p) -> None:
    policy(p)
    choice(p, "--format", choices=("cloudformation", "terraform", "firewall-manager"), default=None, required=True)
    out(p, required=True)
    region(p)
    catalogs(p)


def hook(p) -> None:
    p.add_argument("name", metavar="NAME", help="lint or check")
    p.add_argument("files", type=path, nargs="+", metavar="FILES", help="Files pre-commit passes")
    out(p)


def verify(p) -> None:
    policy(p)
    option(p, "--probes", type=path, help="YAML file with `probes: [...]`")
    region(p)
    catalogs(p)
    text_or_json(p)
    flag(p, "--problems", help="Only failures and open paths (JSON)")
    flag(p, "--all", help="Print every probe (text)")
    option(p, "--timeout", type=at_least_one(float), default=300, help="Seconds Suricata may take per region")
    option(p, "--suricata", help="Suricata binary (default: $RULEC_SURICATA, else `suricata` on PATH)")


def push(p) -> None:
    policy(p)
    aws_common(p)
    flag(p, "--dry-run", help="Plan and let AWS validate (DryRun); write nothing")
    flag(p, "--yes", "-y", help="Apply without asking")
    p.add_argument("--replace", action=Negatable, help="Replace groups whose capacity must change")
    option(p, "--firewall-policy", help="Firewall policy that must reference the groups", metavar="NAME")
    p.add_argument("--prune", action=Negatable, help="Let the firewall policy update remove what the plan lists")
    option(p, "--account-id", help="Account for ${AccountId} (default: STS)", metavar="ACCOUNT")
    out(p)
    catalogs(p)
    p.add_argument(
        "--allow-unenforced", action=Negatable, help="next-gen: allow a policy to go from ENFORCE to MONITOR"
    )
    option(p, "--share-with", help="Share the groups via AWS RAM: ACCOUNT or ORG/OU ARN", metavar="PRINCIPAL")


def drift(p) -> None:
    policy(p)
    aws_common(p)
    option(p, "--firewall-policy", help="Also compare this firewall policy", metavar="NAME")
    option(p, "--account-id", help="Account for ${AccountId} (default: STS)", metavar="ACCOUNT")
    out(p)
    text_or_json(p)
    catalogs(p)
    option(p, "--accounts", type=path, help="YAML list of accounts (profiles or roles)")
    option(p, "--parallel", type=at_least_one(int), default=4, help="Accounts read at once (with --accounts)")


def lint(p) -> None:
    policy(p)
    catalogs(p)
    choice(p, "--format", choices=("text", "json", "sarif"))
    choice(p, "--fail-on", choices=("error", "warning", "info", "never"), default="error")
    option(p, "--max-age", type=int, default=365, help="Days before a catalog entry is stale", metavar="DAYS")


def explain(p) -> None:
    p.add_argument("host", metavar="HOST", help="Host name (SNI / Host header)")
    p.add_argument("policy_arg", type=path, nargs="?", metavar="POLICY", help="Policy YAML file")
    option(p, "--policy", "-p", type=path, help="Policy YAML file")
    region(p)
    catalogs(p)
    text_or_json(p)


def diff(p) -> None:
    p.add_argument("old", metavar="OLD", help="Build directory, policy file, or git REV:PATH")
    p.add_argument("new", metavar="NEW", help="Build directory, policy file, or git REV:PATH")
    catalogs(p)
    choice(p, "--format", choices=("text", "markdown", "json"))
    flag(p, "--exit-code", help="Exit 1 when anything differs")


def learn(p) -> None:
    policy(p)
    p.add_argument("logs", type=path, nargs="*", metavar="LOGS", help="Logs: JSON lines, .gz, EVE")
    region(p, "Region of the logs")
    choice(p, "--format", choices=("text", "json", "patch"))
    option(
        p, "--min-subdomains", type=int, default=3, help="Subdomains seen before a wildcard is proposed", metavar="N"
    )
    option(p, "--from-analysis-report", help="Read FIREWALL's analysis report", metavar="FIREWALL")
    flag(p, "--write", help="Apply the patch to POLICY")
    catalogs(p)


def catalog_list(p) -> None:
    catalogs(p)
    text_or_json(p)


def catalog_show(p) -> None:
    p.add_argument("feature", metavar="FEATURE", help="Feature name")
    region(p, "AWS region, when it matters")
    catalogs(p)
    text_or_json(p)


def catalog_import_ip_ranges(p) -> None:
    p.add_argument("file", type=path, metavar="FILE", help="A downloaded copy of Databricks' ip-ranges.json")
    catalogs(p)
    flag(p, "--check", help="Exit 1 if the catalog differs; write nothing")


CATALOG = {
    "list": ("Regions (with completeness) and features.", catalog_list),
    "show": ("The names FEATURE resolves to in a region, each with its source.", catalog_show),
    "import-ip-ranges": (
        "Refresh catalogs/ip-ranges.yaml from ip-ranges.json and print what changed (rulec never downloads).",
        catalog_import_ip_ranges,
    ),
}

# name -> (help, arguments); a None help hides the command (the pre-commit hook's entry point).
COMMANDS = {
    "build": (
        "Write OUT/<region>/<Group>.json (CreateRuleGroup requests) and .rules, and update the SID lock.",
        build,
    ),
    "check": ("Rebuild in memory; exit 1 with a diff when the committed output or lock differs.", check),
    "export": (
        "Write OUT/<region>.template.json (CloudFormation), .tf.json (Terraform JSON) or .fms.json (PutPolicy).",
        export,
    ),
    "hook": (None, hook),
    "verify": ("Prove the rule groups on Suricata with real packets; exit 1 if any verdict is unexpected.", verify),
    "push": ("Push the reviewed build (--out) to the Network Firewall API (needs rulec[aws]).", push),
    "drift": (
        "Compare the live groups and firewall policy with the reviewed build: exit 1 on drift (needs rulec[aws]).",
        drift,
    ),
    "lint": ("Point at what is dangerous in a policy: file:line:col: CODE severity message.", lint),
    "explain": (
        (
            "Would HOST pass or drop, for TLS and HTTP, which target or rule decides, and why it is there.\n"
            "Exit 0 when every region and protocol passes (uninspected counts as a pass, with a warning), "
            "1 when any drops."
        ),
        explain,
    ),
    "diff": (
        "What a change does: names, rules and capacity per group, with the feature and source behind each name.",
        diff,
    ),
    "learn": ("Propose policy changes from Network Firewall logs or a traffic analysis report.", learn),
    "catalog": ("Browse the catalogs: regions, features, sources.", CATALOG),
}


def table(path: tuple[str, ...] = ()) -> dict:
    """The commands under `path` (() for rulec's own, ("catalog",) for catalog's)."""
    return CATALOG if path == ("catalog",) else COMMANDS


def root(path: tuple[str, ...] = ()) -> Parser:
    """The parser of `rulec` or of a command group: its options, and COMMAND with the visible commands listed."""
    commands = table(path)
    name = " ".join((PROG, *path))
    listing = "\n".join(f"  {n:<18}{h.splitlines()[0]}" for n, (h, _) in commands.items() if h)
    p = Parser(name, DESCRIPTION if not path else COMMANDS[path[0]][0])
    p.formatter_class = lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=40)
    p.epilog = f"commands:\n{listing}\n\nRun '{name} COMMAND --help' for a command's options."
    p.add_argument("command", metavar="COMMAND", nargs="?", help="One of the commands below")
    if not path:
        p.add_argument("--version", action="store_true", help="Print the version and exit")
        shells = "|".join(SHELLS)
        p.add_argument(
            "--install-completion",
            nargs="?",
            const="",
            choices=("", *SHELLS),
            metavar=shells,
            help="Install completion for SHELL (default: the current shell)",
        )
        p.add_argument("--show-completion", choices=SHELLS, metavar=shells, help="Print the completion script")
    return p


def command(path: tuple[str, ...]) -> Parser:
    """The parser of one command, e.g. ("build",) or ("catalog", "show")."""
    help_, define = table(path[:-1])[path[-1]]
    p = Parser(" ".join((PROG, *path)), help_)
    define(p)
    return p

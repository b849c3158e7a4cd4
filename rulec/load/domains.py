"""Domain names as Network Firewall domain lists take them.

A target is an exact name (`api.example.org`) or a leading-dot wildcard (`.example.com`: the name
and every subdomain). Everything Suricata or Network Firewall would mis-handle is refused with a hint.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

import idna

MAX_NAME = 253
MAX_LABEL = 63
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


class BadName(ValueError):
    """A name that cannot be a domain-list target; the message says what to write instead."""


def _ascii(name: str) -> str:
    if name.isascii():
        return name.lower()
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise BadName(f"'{name}' is not a valid internationalised name ({exc})") from None


# An ASCII name every check below accepts as written, lower case: labels of letters, digits and inner hyphens,
# an optional leading dot (wildcard) and trailing dot. Such a name needs none of the checks' work.
_PLAIN = re.compile(r"\.?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?")


def normalize(raw: object) -> str:
    """Return the canonical target for `raw` or raise BadName with an actionable message."""
    if isinstance(raw, str) and raw.isascii() and _PLAIN.fullmatch(name := raw.lower()):
        body = name[:-1] if name.endswith(".") else name
        # what remains for the full path: lengths, punycode labels, names that end like an IPv4 address
        if len(body) <= MAX_NAME and "xn--" not in body and not body.rpartition(".")[2].isdigit():
            return body
    return checked(raw)


def checked(raw: object) -> str:
    """`normalize` without its fast path: every check in turn, each with its own message."""
    if not isinstance(raw, str):
        raise BadName(f"expected a domain name as a string, got {type(raw).__name__} {raw!r}")
    name = raw
    if name != name.strip() or any(c.isspace() for c in name):
        raise BadName(f"'{raw}' contains whitespace; write the bare name, e.g. 'api.example.org'")
    if not name:
        raise BadName("empty name; write a name such as 'api.example.org' or '.example.com'")
    for bad in "\"'`;\\":
        if bad in name:
            raise BadName(f"'{raw}' contains {bad!r}, which would break the generated Suricata rule")
    if _SCHEME.match(name):
        host = _SCHEME.sub("", name).split("/")[0].split(":")[0]
        raise BadName(f"'{raw}' is a URL; domain lists match host names only: write '{host}'")
    if "/" in name:
        raise BadName(f"'{raw}' has a path; domain lists see only the host: write '{name.split('/')[0]}'")
    if name.startswith("*"):
        rest = name.lstrip("*")
        hint = rest if rest.startswith(".") else "." + rest
        raise BadName(f"'{raw}': '*' is not supported; write '{hint}' for the domain and all its subdomains")
    if "*" in name:
        raise BadName(f"'{raw}': '*' is only meaningful as a leading wildcard; write '.domain' instead")
    if name.startswith("[") or _is_ip(name.strip(".")):
        raise BadName(f"'{raw}' is an IP address; domain lists match names only, use a stateful rule for addresses")
    if ":" in name:
        host, _, port = name.rpartition(":")
        raise BadName(f"'{raw}' has a port; domain lists match every port: write '{host}'")
    wildcard = name.startswith(".")
    body = name[1:] if wildcard else name
    if body.endswith("."):
        body = body[:-1]
    body = _ascii(body)
    if not body:
        raise BadName(f"'{raw}' has no labels; write a name such as '.example.com'")
    if len(body) + (1 if wildcard else 0) > MAX_NAME:
        raise BadName(f"'{raw}' is longer than {MAX_NAME} characters")
    labels = body.split(".")
    for label in labels:
        if not label:
            raise BadName(f"'{raw}' has an empty label (two dots in a row or a leading dot too many)")
        if len(label) > MAX_LABEL:
            raise BadName(f"'{raw}': label '{label[:20]}…' is longer than {MAX_LABEL} characters")
        if not _LABEL.match(label):
            raise BadName(f"'{raw}': label '{label}' may hold only letters, digits and inner hyphens")
        if label.startswith("xn--"):
            _punycode(raw, label)
    if _is_ip(body) or labels[-1].isdigit():
        raise BadName(f"'{raw}' looks like an IP address; use a stateful rule for addresses")
    return ("." if wildcard else "") + body


def _punycode(raw: str, label: str) -> None:
    """An `xn--` label must decode to a valid internationalised label, or nobody can tell what it names."""
    try:
        idna.decode(label)
    except (idna.IDNAError, UnicodeError, ValueError) as exc:
        raise BadName(f"'{raw}': label '{label}' is not valid punycode ({exc}); write the name as registered") from None


def unicode_labels(name: str) -> list[str]:
    """The labels of a normalised name, `xn--` labels decoded (for look-alike checks)."""
    out = []
    for label in name.lstrip(".").split("."):
        try:
            out.append(idna.decode(label) if label.startswith("xn--") else label)
        except (idna.IDNAError, UnicodeError, ValueError):
            out.append(label)
    return out


def _is_ip(text: str) -> bool:
    text = text.strip("[]")
    if ":" not in text and not text.replace(".", "").isdigit():  # not IPv6, and IPv4 is digits and dots only
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def covers(wildcard: str, name: str) -> bool:
    """True if wildcard target `.a.b` matches every name that target `name` matches."""
    if not wildcard.startswith("."):
        return False
    apex = wildcard[1:]
    bare = name.lstrip(".")
    return bare == apex or bare.endswith(wildcard)


def matches(target: str, host: str) -> bool:
    """Would Network Firewall's generated rule for `target` match SNI/Host `host`? (case-insensitive)"""
    host = host.lower().rstrip(".")
    if target.startswith("."):
        return host == target[1:] or host.endswith(target)
    return host == target


class Matcher:
    """Which target of a domain list matches a host: set look-ups per suffix, same answer as `matches`."""

    def __init__(self, targets: list[str] | tuple[str, ...]):
        self.exact = {t for t in targets if not t.startswith(".")}
        self.wildcards = {t for t in targets if t.startswith(".")}

    def match(self, host: str) -> str | None:
        """The matching target (exact first, then the broadest wildcard), or None."""
        host = host.lower().rstrip(".")
        if host in self.exact:
            return host
        if not self.wildcards:
            return None
        end = len(host)
        while (end := host.rfind(".", 0, end)) >= 0:  # `.tld`, then longer suffixes: the broadest first
            if host[end:] in self.wildcards:
                return host[end:]
        return "." + host if "." + host in self.wildcards else None

    def every(self, host: str) -> list[str]:
        """Every target that matches `host` (exact name first, then wildcards from the narrowest)."""
        host = host.lower().rstrip(".")
        out = [host] if host in self.exact else []
        if not self.wildcards:
            return out
        if "." + host in self.wildcards:
            out.append("." + host)
        start = 0
        while (start := host.find(".", start)) >= 0:
            if host[start:] in self.wildcards:
                out.append(host[start:])
            start += 1
        return out


@lru_cache(maxsize=8)
def public_suffix_list(tlds: frozenset[str] | None = None):
    """publicsuffixlist's PublicSuffixList, loaded fast. The library punycodes every one of its ~10,000 rules; here
    only the non-ASCII rules are punycoded (the same way) and the library is told not to. With `tlds`, only the
    rules under those top-level labels are kept: the list then answers exactly as the whole list does for names
    that end in one of them (a name's suffix rules all share its TLD), at a fraction of the cost. Tests compare
    both with the library's own loading."""
    from publicsuffixlist import PSLFILE, PublicSuffixList

    idn_tld = tlds is None or any(t.startswith("xn--") for t in tlds)
    rules = []
    with open(PSLFILE, encoding="utf-8", errors="surrogateescape") as source:
        for line in source:
            rule = line.lower().split(" ")[0].rstrip()
            if not rule or rule.startswith("//"):
                continue
            if tlds is not None:
                tld = rule.rpartition(".")[2]
                if not (tld in tlds if tld.isascii() else idn_tld):
                    continue
            rules.append(rule)
            if not rule.isascii():
                bang = "!" if rule.startswith("!") else ""
                rules.append(bang + rule.lstrip("!").encode("idna").decode("ascii"))
    return PublicSuffixList(rules, accept_encoded_idn=False)

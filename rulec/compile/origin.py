"""Why something is in the policy: the policy line, and the feature and catalog entry when there is one."""

from __future__ import annotations

from dataclasses import dataclass

from rulec.errors import Position
from rulec.load.catalog import Entry


@dataclass(frozen=True, slots=True)
class Origin:
    """Why a name is in the allowlist: the policy line, and the feature/catalog entry if any."""

    pos: Position
    feature: str | None = None
    entry: Entry | None = None
    entry_pos: Position | None = None

    def describe(self) -> str:
        if self.feature is None:
            return f"allow at {self.pos}"
        return f"feature '{self.feature}' at {self.pos} ({self.entry.label if self.entry else ''}, {self.entry_pos})"

"""Load stage: catalogs/ (what each Databricks feature needs in each AWS region, with sources).

Layout: `features.yaml` defines features; `regions/<region>.yaml` holds one region's facts (webapp,
relay, metastore, buckets...), each entry with its source and review date. Files load on demand.
"""

from __future__ import annotations

import datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from rulec.errors import Position, error_at
from rulec.load.policy import Name
from rulec.load.schema import Constraint, Model, field, model_check
from rulec.load.source import Document, load_model
from rulec.resources import data_dir

FactKind = Literal[
    "webapp", "scc_relay", "metastore", "artifacts", "logs", "system_tables", "datasets", "kinesis", "sts"
]
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"
Bucket = Annotated[str, Constraint(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
HTTP_PORTS = (80, 443)


class Entry(Model):
    """One thing a feature needs: a host name, an S3 bucket, or a non-HTTP host and port."""

    name: Name | None = None
    bucket: Bucket | None = None
    bucket_region: Annotated[str, Constraint(pattern=REGION)] | None = field(
        None, description="Region the bucket lives in, when not the catalog's region"
    )
    host: Name | None = None
    port: Annotated[int, Constraint(ge=1, le=65535)] | None = None
    source: Annotated[str, Constraint(min_length=8, description="URL or repository path it comes from")]
    reviewed: datetime.date
    note: str | None = None

    @model_check
    def _one_kind(self) -> None:
        kinds = [k for k in ("name", "bucket", "host") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("an entry needs exactly one of 'name', 'bucket' or 'host'")
        if (self.host is None) != (self.port is None):
            raise ValueError("'host' and 'port' go together (a non-HTTP service such as MySQL on 3306)")
        if self.bucket_region and self.bucket is None:
            raise ValueError("'bucket_region' applies only to a 'bucket' entry")

    @property
    def label(self) -> str:
        if self.bucket:
            return f"s3 bucket {self.bucket}"
        if self.host:
            return f"{self.host}:{self.port}"
        return str(self.name)

    def targets(self, region: str) -> list[str]:
        """Domain-list targets for this entry. Buckets: virtual-hosted names, never bare S3."""
        if self.bucket:
            where = self.bucket_region or region
            if "-gov-" in where:  # GovCloud bucket names are not shared with the commercial global name
                return [f"{self.bucket}.s3.{where}.amazonaws.com"]
            return [f"{self.bucket}.s3.amazonaws.com", f"{self.bucket}.s3.{where}.amazonaws.com"]
        return [str(self.host or self.name)]

    @property
    def non_http(self) -> bool:
        return self.port is not None and self.port not in HTTP_PORTS


class RegionCatalog(Model):
    schema_version: Literal[1]
    region: Annotated[str, Constraint(pattern=REGION)]
    city: str | None = None
    completeness: Literal["complete", "partial"]
    missing: list[FactKind] = field([], description="Facts no source was found for")
    note: str | None = None
    facts: dict[FactKind, Annotated[list[Entry], Constraint(min_length=1)]]

    @model_check
    def _consistent(self) -> None:
        both = sorted(set(self.missing) & set(self.facts))
        if both:
            raise ValueError(f"{both[0]} is listed as missing but has entries")
        if self.completeness == "complete" and self.missing:
            raise ValueError("a complete region cannot list missing facts")


class Feature(Model):
    description: str
    facts: list[FactKind] = field([], description="Region facts this feature needs")
    names: list[Entry] = field([], description="Names needed in every region")
    unnecessary_with: str | None = field(None, description="When the feature is not needed")

    @model_check
    def _something(self) -> None:
        if not self.facts and not self.names:
            raise ValueError("a feature needs 'facts' or 'names'")


class FeatureCatalog(Model):
    schema_version: Literal[1]
    features: dict[Annotated[str, Constraint(pattern=r"^[a-z0-9][a-z0-9-]*$")], Feature]


class Catalogs:
    """The catalogs directory; each file is read and validated once, when first needed."""

    def __init__(self, root: Path):
        self.root = root
        self._regions: dict[str, tuple[RegionCatalog, Document]] = {}

    def _load(self, path: Path, model: type[Model]) -> tuple[Model, Document]:
        return load_model(path, model, self._display(path))

    def _display(self, path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    @cached_property
    def _features(self) -> tuple[FeatureCatalog, Document]:
        return self._load(self.root / "features.yaml", FeatureCatalog)  # type: ignore[return-value]

    @property
    def features(self) -> FeatureCatalog:
        return self._features[0]

    @property
    def features_doc(self) -> Document:
        return self._features[1]

    def region_names(self) -> list[str]:
        return sorted(p.stem for p in (self.root / "regions").glob("*.yaml"))

    def region(self, name: str) -> RegionCatalog:
        return self._region(name)[0]

    def region_doc(self, name: str) -> Document:
        return self._region(name)[1]

    def _region(self, name: str) -> tuple[RegionCatalog, Document]:
        if name not in self._regions:
            path = self.root / "regions" / f"{name}.yaml"
            if not path.is_file():
                known = ", ".join(self.region_names())
                raise error_at(Position(self._display(path)), f"no catalog for region '{name}' (known: {known})")
            cat, doc = self._load(path, RegionCatalog)
            if cat.region != name:  # type: ignore[attr-defined]
                raise error_at(doc.at("region"), f"file is for '{name}' but says region '{cat.region}'")  # type: ignore[attr-defined]
            self._regions[name] = (cat, doc)  # type: ignore[assignment]
        return self._regions[name]


def default_root() -> Path:
    return data_dir("catalogs")


def schemas() -> dict[str, dict]:
    out = {}
    models = (
        ("catalog-features", FeatureCatalog),
        ("catalog-region", RegionCatalog),
        ("catalog-ip-ranges", IpRangesCatalog),
    )
    for name, model in models:
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://rulec.invalid/schemas/{name}.schema.json"
        out[name] = schema
    return out


class IpRanges(Model):
    inbound: list[str]
    outbound: list[str]


class IpRangesCatalog(Model):
    """catalogs/ip-ranges.yaml, generated from Databricks' ip-ranges.json."""

    schema_version: Literal[1]
    source: str
    timestamp_seconds: int | None
    sha256: Annotated[str, Constraint(pattern=r"^[0-9a-f]{64}$")]
    regions: dict[Annotated[str, Constraint(pattern=REGION)], IpRanges]

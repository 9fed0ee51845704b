"""What a deployer chooses about the AWS stack: CDK context values, each with its default here.

These are deploy-time choices of the infrastructure (sizes, retention ages, optional parts),
given as CDK context (``cdk.json``, or ``-c key=value`` / ``make synth CONTEXT="key=value ..."``).
The product's own settings (names the code reads, the EMR release, the Glue database, snapshot
retention) are not repeated here: the stack reads them from ``imdb_elt.config``.

The keys, their defaults (the fields below) and their meaning are listed in docs/deployment.md
("Choices at deploy time").
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


def _list(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(v.strip() for v in str(value or "").split(",") if v.strip())


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class InfraOptions:
    stack_name: str = "imdb-elt"
    mwaa: bool = False
    mwaa_airflow_version: str = "3.0.6"
    mwaa_environment_class: str = "mw1.small"
    vpc_id: str = ""
    private_subnet_ids: tuple[str, ...] = ()
    availability_zones: tuple[str, ...] = ()
    nat_gateways: int | None = None  # None: 1 with MWAA, else 0
    redshift_base_rpu: int = 8
    redshift_max_rpu: int = 32
    redshift_staging: str = "copy"
    emr_max_vcpu: int = 16
    emr_max_memory_gb: int = 64
    emr_idle_minutes: int = 15
    quarantine_days: int = 90
    report_days: int = 400
    noncurrent_days: int = 30
    log_days: int = 90
    alert_emails: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.redshift_staging not in ("copy", "spectrum"):
            raise ValueError(f"redshift_staging={self.redshift_staging!r}: copy | spectrum")
        imported = (self.vpc_id, self.private_subnet_ids, self.availability_zones)
        if any(imported) and not all(imported):
            raise ValueError("importing a VPC needs vpc_id, private_subnet_ids and availability_zones")
        if self.vpc_id and len(self.private_subnet_ids) < 3:
            raise ValueError("Redshift Serverless needs three private subnets in three availability zones")

    @property
    def nat(self) -> int:
        return (1 if self.mwaa else 0) if self.nat_gateways is None else self.nat_gateways

    @classmethod
    def from_context(cls, get: Any) -> InfraOptions:
        """``get`` is ``node.try_get_context``: unset keys keep their defaults."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = get(f.name)
            if raw is None or raw == "":
                continue
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            if kind.startswith("tuple"):
                values[f.name] = _list(raw)
            elif kind == "bool":
                values[f.name] = _bool(raw)
            elif kind.startswith("int"):
                values[f.name] = int(raw)
            else:
                values[f.name] = str(raw)
        return cls(**values)

"""What the service holds while it runs: reports, material, the model proxy, group lookups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tutornb.hub.material import CourseMaterial
from tutornb.hub.modelproxy import ModelProxy
from tutornb.hub.reportstore import ReportStore
from tutornb.hub.settings import HubServiceSettings


class Teachers(Protocol):
    async def teaches(self, user: str, course_id: str) -> bool: ...


@dataclass
class ServiceState:
    reports: ReportStore
    material: CourseMaterial
    proxy: ModelProxy
    membership: Teachers
    min_group_size: int


def open_state(settings: HubServiceSettings, membership: Teachers) -> ServiceState:
    data_dir = settings.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return ServiceState(
        reports=ReportStore(data_dir),
        material=CourseMaterial(settings.courses_dir.expanduser().resolve()),
        proxy=ModelProxy(
            base_url=settings.model_base_url,
            api_key=settings.model_api_key(),
            per_minute=settings.rate_limit_per_minute,
            burst=settings.rate_limit_burst,
            course_budget=settings.course_token_budget,
            usage_log=data_dir / "usage.jsonl",
            timeout=settings.model_timeout,
        ),
        membership=membership,
        min_group_size=settings.min_group_size,
    )

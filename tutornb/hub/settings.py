"""The service's settings: a JSON file (``tutornb-hub --config FILE``) over environment defaults.

The model's API key is never in the file: it is read from the environment variable the settings name
(``TUTORNB_HUB_MODEL_API_KEY`` by default), so the file can sit in a ConfigMap and the key in a Secret.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_KEY_ENV = "TUTORNB_HUB_MODEL_API_KEY"
CONFIG_ENV = "TUTORNB_HUB_CONFIG"


class SettingsError(ValueError):
    """A configuration the service refuses to start with (one line)."""


class HubServiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Where reports and the usage log are kept (private to the service's account).
    data_dir: Path = Path("tutornb-hub-data")
    #: One sub-folder per course id holding the instructor's notebooks (with solutions) and
    #: ``tutornb-course.json``; learners' servers must not be able to read it.
    courses_dir: Path = Path("courses")
    #: A hub group whose members teach the course: ``<prefix><course_id>``.
    instructor_group_prefix: str = Field("instructors-", min_length=1, max_length=100)
    #: Aggregates of fewer learners than this are withheld from the class view (instructors may
    #: lower it per request with ``?min_group=N``, never below 1).
    min_group_size: int = Field(5, ge=1, le=1000)
    #: The upstream OpenAI-compatible endpoint, e.g. ``https://api.openai.com/v1`` (empty: no proxy).
    model_base_url: str = ""
    #: The environment variable holding the upstream API key.
    model_api_key_env: str = DEFAULT_KEY_ENV
    model_timeout: float = Field(120.0, gt=0, le=600)
    #: Model calls a minute per hub user, with a burst.
    rate_limit_per_minute: int = Field(20, ge=0)
    rate_limit_burst: int = Field(5, ge=1)
    #: Tokens (prompt + completion, as the model reports them) a course may use in total; 0: no cap.
    course_token_budget: int = Field(0, ge=0)
    #: How long a hub group lookup is trusted, in seconds.
    group_cache_seconds: float = Field(15.0, ge=0)

    @field_validator("model_base_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("model_base_url must be an http(s) URL")
        return value.rstrip("/")

    def model_api_key(self) -> str:
        return os.environ.get(self.model_api_key_env, "")


def load_settings(path: str | None) -> HubServiceSettings:
    """The settings from ``path`` (else ``$TUTORNB_HUB_CONFIG``, else the defaults)."""
    path = path or os.environ.get(CONFIG_ENV)
    if not path:
        return HubServiceSettings()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"{path}: cannot be read as JSON ({type(exc).__name__})") from None
    try:
        return HubServiceSettings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise SettingsError(f"{path}: {where}: {first['msg']}") from None

"""The one settings object, read from ``WANGGE_*`` environment variables.

=====================  =========================================================  =====================
variable               meaning                                                    default
=====================  =========================================================  =====================
WANGGE_STORE_URL       SQLAlchemy URL of the store                                SQLite in the user
                                                                                  data folder
WANGGE_RULES           a county rules file (TOML) laid over the national defaults none
WANGGE_TILE_URL        basemap tile URL template (an intranet Tianditu mirror)    none: no basemap
WANGGE_TILE_ATTRIBUTION  attribution shown for those tiles                        ""
WANGGE_MAX_UPLOAD_MB   largest upload the API accepts                             200
WANGGE_DATA_DIR        folder of the demo data and code lists                     ``data/`` of the repo
=====================  =========================================================  =====================

Nothing reads the environment at import time: :func:`get_settings` is called
by the app factory and the CLI, and tests pass their own :class:`Settings`.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def default_store_url() -> str:
    """Return the embedded store's URL: ``wangge.db`` in the user data folder."""
    return f"sqlite:///{Path(user_data_dir('wangge', appauthor=False)) / 'wangge.db'}"


class Settings(BaseSettings):
    """Service settings (see the module table)."""

    model_config = SettingsConfigDict(env_prefix="WANGGE_", frozen=True, extra="ignore")

    store_url: str = Field(default_factory=default_store_url)
    rules: Path | None = None
    tile_url: str | None = None
    tile_attribution: str = ""
    max_upload_mb: float = Field(200.0, gt=0)
    data_dir: Path = REPO_DATA_DIR


def get_settings() -> Settings:
    """Read the settings from the environment (call once, at start-up)."""
    return Settings()

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
WANGGE_MAX_IMPORT_FEATURES  most features (rows) one import may hold             500000
WANGGE_MAX_EXPANDED_MB  most bytes an upload may expand to (a zip's contents)     1024
WANGGE_ALLOWED_ORIGINS  extra origins allowed to send state-changing requests     none
                       (comma-separated, e.g. a reverse proxy's https://gis.example)
WANGGE_MAX_JOBS        most background jobs queued or running, overall            8
WANGGE_MAX_JOBS_PER_AREA  most background jobs queued or running per area         2
WANGGE_CACHE_AREAS     study areas whose frames, networks and reports are kept    4
                       in memory (least recently used dropped first)
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
    max_import_features: int = Field(500_000, gt=0)
    max_expanded_mb: float = Field(1024.0, gt=0)
    allowed_origins: str = ""
    max_jobs: int = Field(8, gt=0)
    max_jobs_per_area: int = Field(2, gt=0)
    cache_areas: int = Field(4, gt=0)

    @property
    def allowed_origin_list(self) -> tuple[str, ...]:
        """``WANGGE_ALLOWED_ORIGINS`` split on commas, each without a trailing slash."""
        return tuple(o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip())


def get_settings() -> Settings:
    """Read the settings from the environment (call once, at start-up)."""
    return Settings()

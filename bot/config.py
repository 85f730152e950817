"""Settings: the one place that reads the environment.

Build a ``Settings`` once at the edge (the CLI entry, ``create_app``) and pass it down; nothing else
reads ``os.environ``, except ``itbot index``: to start fast it reads its six variables without
pydantic (`bot.channels.cli_index.IndexSettings`), exactly as this class reads them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# all-MiniLM-L6-v2 was trained on 128-token inputs; embedding sections at 128 rather than its
# configured 256 tokens builds the index about twice as fast with equal recall on the dev queries.
DEFAULT_MAX_TOKENS = 128


class Settings(BaseSettings):
    """Everything itbot can be configured with, typed, with defaults for a laptop."""

    model_config = SettingsConfigDict(env_prefix="ITBOT_", extra="ignore", populate_by_name=True)

    home: Path = Field(default=Path("./var"), description="Data folder: index, models, SQLite database.")
    kb: Path = Field(default=Path("./knowledge"), description="The knowledge folder of Markdown articles.")
    model: str = Field(
        default=DEFAULT_MODEL,
        description="Embedding model: the packaged all-MiniLM-L6-v2 by name, or a path to a model folder.",
    )
    max_tokens: int = Field(
        default=DEFAULT_MAX_TOKENS,
        ge=16,
        le=512,
        description="Tokens of a section or question the model reads.",
    )
    build_precision: str = Field(
        default="bf16",
        description=(
            "How `itbot index` embeds large batches: bf16 (torch autocast, on CPUs with native bf16; "
            "otherwise fp32), fp32 (ONNX Runtime) or int8. Questions are always embedded in fp32."
        ),
    )
    max_article_bytes: int = Field(
        default=1_000_000,
        ge=1,
        description="Largest knowledge file `itbot index` indexes; a bigger one is reported and left out.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "ITBOT_DATABASE_URL"),
        description="SQLAlchemy URL; default is SQLite in ITBOT_HOME.",
    )
    public_url: str = Field(default="", description="Base URL people reach the web chat at (for links).")
    service_desk_phone: str = Field(default="x4357", description="What people call when the bot can't help.")
    slack_bot_token: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_app_token: str | None = Field(default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL", "ITBOT_SLACK_API_URL"),
    )
    slack_triage_channel: str = Field(
        default="", description="Slack channel id where IT sees new tickets (empty: no triage channel)."
    )
    tickets_api_token: str | None = Field(
        default=None, description="Bearer token for /api/tickets (unset: the tickets API is off)."
    )
    itsm_kind: str = Field(
        default="none", description="Where tickets are forwarded: none, webhook, servicenow or jira."
    )
    itsm_url: str = Field(default="", description="Base URL of the service desk (or the webhook's URL).")
    itsm_username: str = Field(default="", description="Service desk user (ServiceNow, or Jira e-mail).")
    itsm_password: str = Field(default="", description="Service desk password or API token.")
    jira_service_desk_id: str = Field(default="", description="Jira Service Management: the service desk id.")
    jira_request_type_id: str = Field(default="", description="Jira Service Management: the request type id.")
    outbox_max_attempts: int = Field(default=20, ge=1, description="Deliveries tried before a dead letter.")
    outbox_backoff_seconds: float = Field(default=2.0, gt=0, description="First retry delay; doubles.")
    outbox_backoff_max_seconds: float = Field(default=300.0, gt=0, description="Longest retry delay.")
    worker_poll_seconds: float = Field(default=1.0, gt=0, description="How often the worker looks for work.")
    index_poll_seconds: float = Field(default=1.0, description="How often the server checks for a new index.")
    max_question_chars: int = Field(default=4000, description="Longer questions are cut before retrieval.")

    @field_validator("database_url")
    @classmethod
    def _use_psycopg3(cls, value: str | None) -> str | None:
        if value and value.startswith(("postgres://", "postgresql://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @property
    def index_root(self) -> Path:
        """The folder that holds every built index and the ``current`` pointer."""
        return self.home / "index"

    @property
    def models_dir(self) -> Path:
        """Where exported query-time models (ONNX) are cached."""
        return self.home / "models"

    @property
    def sqlalchemy_url(self) -> str:
        """``DATABASE_URL`` if set, else a SQLite file in ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'itbot.db').resolve()}"

    @property
    def slack_enabled(self) -> bool:
        """True when the Slack credentials for HTTP mode are present."""
        return bool(self.slack_bot_token and self.slack_signing_secret)

"""Settings: the one place that reads the environment.

Build a ``Settings`` once at the edge (the CLI entry, ``create_app``) and pass it down; nothing else
reads ``os.environ``, except ``itbot index``: to start fast it reads its six variables without
pydantic (`bot.channels.cli.index.IndexSettings`), exactly as this class reads them.
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
    encoder_threads: int | None = Field(
        default=None,
        ge=1,
        le=256,
        description=(
            "Threads one question's embedding may use (ONNX Runtime's intra-op threads); default: every "
            "core. Under many concurrent questions 1 lets each core serve a question of its own "
            "(see benchmarks/load.py)."
        ),
    )
    serve_workers: int = Field(
        default=1,
        ge=1,
        le=256,
        description=(
            "Server processes sharing the port, as `itbot serve --workers` sets it for them. With more "
            "than one, the connection of each Teams activity is closed once it is acknowledged, so the "
            "next one is accepted by whichever process is free (a kept-alive connection would tie "
            "Teams' traffic to one process)."
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
    slack_it_usergroup: str = Field(
        default="",
        description="Slack user group id (S...) whose members may use /itbot-notice, besides the "
        "members of the triage channel.",
    )
    tickets_api_token: str | None = Field(
        default=None, description="Bearer token for /api/tickets (unset: the tickets API is off)."
    )
    teams_app_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEAMS_APP_ID"),
        description="The Azure Bot's app (client) id; set, POST /api/messages serves Microsoft Teams.",
    )
    teams_app_password: str | None = Field(
        default=None, validation_alias=AliasChoices("TEAMS_APP_PASSWORD"), description="The app's secret."
    )
    teams_app_tenant_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("TEAMS_APP_TENANT_ID"),
        description="The hospital's Microsoft Entra tenant (single-tenant bots get their token there).",
    )
    teams_app_type: str = Field(
        default="SingleTenant",
        validation_alias=AliasChoices("TEAMS_APP_TYPE"),
        description="SingleTenant (the default) or MultiTenant.",
    )
    teams_openid_metadata_url: str = Field(
        default="https://login.botframework.com/v1/.well-known/openidconfiguration",
        description="OpenID configuration whose keys sign the tokens on incoming Teams activities.",
    )
    teams_token_url: str = Field(
        default="",
        description=(
            "Where the bot gets its own token (client-credentials form post); default: the tenant's "
            "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token (botframework.com multi-tenant)."
        ),
    )
    teams_service_urls: str = Field(
        default="https://smba.trafficmanager.net/",
        description="Comma-separated prefixes of the Bot Connector URLs a Teams reply may be posted to.",
    )
    teams_notice_service_url: str = Field(
        default="",
        description=(
            "The Bot Connector URL notices are posted to in Teams channels and chats; empty: the one "
            "the bot last saw in a stored Teams conversation (a ticket or subscription asked in Teams), "
            "else Microsoft's global https://smba.trafficmanager.net/teams/."
        ),
    )
    teams_claim_retention_hours: float = Field(
        default=48.0,
        gt=0,
        description="How long the worker keeps the ids of Teams activities (redeliveries come in minutes).",
    )
    teams_card_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="How long the worker keeps posted Teams cards (a click on an older one updates nothing).",
    )
    itsm_kind: str = Field(
        default="none", description="Where tickets are forwarded: none, webhook, servicenow or jira."
    )
    itsm_url: str = Field(default="", description="Base URL of the service desk (or the webhook's URL).")
    itsm_username: str = Field(default="", description="Service desk user (ServiceNow, or Jira e-mail).")
    itsm_password: str = Field(default="", description="Service desk password or API token.")
    jira_service_desk_id: str = Field(default="", description="Jira Service Management: the service desk id.")
    jira_request_type_id: str = Field(default="", description="Jira Service Management: the request type id.")
    outbox_max_attempts: int = Field(
        default=20, ge=1, description="Tries at least before a dead letter (and see the next setting)."
    )
    outbox_dead_letter_after_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="Time at least since a message's first try before it is dead-lettered (a day: a desk "
        "that is down or throttling for hours must not lose tickets).",
    )
    outbox_backoff_seconds: float = Field(default=2.0, gt=0, description="First retry delay; doubles.")
    outbox_backoff_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest retry delay, before jitter."
    )
    outbox_backoff_jitter: float = Field(
        default=0.2, ge=0, le=1, description="Each delay is lengthened by up to this fraction, at random."
    )
    outbox_retry_after_max_seconds: float = Field(
        default=3600.0, gt=0, description="A receiver's Retry-After is believed up to this long."
    )
    worker_poll_seconds: float = Field(default=1.0, gt=0, description="How often the worker looks for work.")
    notice_timezone: str = Field(
        default="UTC", description="The hospital's time zone (IANA name): digest times and times in notices."
    )
    notice_digest_times: str = Field(
        default="07:00,19:00",
        description="Shift changes (local HH:MM, comma-separated) for the digest; empty: none.",
    )
    notice_reminders: str = Field(
        default="24h,1h", description="Upgrade reminders before the window starts (+ one at start and end)."
    )
    notice_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a worker holds a notice message it claimed before another may take it.",
    )
    index_poll_seconds: float = Field(default=1.0, description="How often the server checks for a new index.")
    db_connect_timeout_seconds: int = Field(
        default=3, ge=1, description="Longest wait for a new database connection (PostgreSQL: at least 2)."
    )
    db_statement_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Longest a statement may run (PostgreSQL) or wait for a lock (SQLite)."
    )
    db_pool_timeout_seconds: float = Field(
        default=3.0, gt=0, description="Longest wait for a free connection of the pool."
    )
    db_retry_seconds: float = Field(
        default=2.0,
        ge=0,
        description="After the database failed to answer, how long new connections fail at once before "
        "one is tried again (so requests do not pile up on a hung database).",
    )
    db_health_timeout_seconds: float = Field(
        default=1.0, gt=0, description="How long /healthz waits for the database to answer."
    )
    db_health_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long /healthz reuses its last look at the database."
    )
    db_record_wait_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How long an answer waits for its interaction to be recorded before it goes out "
        "without an id (the recording goes on in the background).",
    )
    max_question_chars: int = Field(default=4000, description="Longer questions are cut before retrieval.")
    allowed_origins: str = Field(
        default="",
        description=(
            "Comma-separated extra origins (https://intranet.example.org) whose pages may POST to the web "
            "chat's API; the server's own origin (ITBOT_PUBLIC_URL, else the request's host) always may."
        ),
    )
    allowed_hosts: str = Field(
        default="",
        description="Comma-separated host names the server answers to (empty: any Host header is accepted).",
    )
    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the "
            "client (empty: the socket peer is the client and X-Forwarded-For is ignored)."
        ),
    )
    asks_per_minute_per_conversation: int = Field(
        default=30, ge=0, description="Web chat requests one conversation may make a minute (0: no limit)."
    )
    asks_per_minute_per_address: int = Field(
        default=120, ge=0, description="Web chat requests one client address may make a minute (0: no limit)."
    )
    escalations_per_hour_per_conversation: int = Field(
        default=5, ge=0, description="Tickets one web conversation may open an hour (0: no limit)."
    )
    escalations_per_hour_per_address: int = Field(
        default=10,
        ge=0,
        description="Tickets one client address may open from the web chat an hour (0: no limit).",
    )
    console_cookie_secure: bool = Field(
        default=True,
        description=(
            "Send the console's sign-in cookie only over HTTPS (Secure). Turn off only for development "
            "at http://127.0.0.1, never on a server other people reach: the cookie would travel in clear."
        ),
    )
    console_session_hours: float = Field(
        default=8.0, gt=0, description="How long a console sign-in lasts before the password is asked again."
    )
    console_max_failed_logins: int = Field(
        default=5, ge=1, description="Failed console sign-ins to one account within the window that lock it."
    )
    console_failure_window_minutes: float = Field(
        default=15.0, gt=0, description="The window in which failed console sign-ins are counted."
    )
    console_lockout_minutes: float = Field(
        default=15.0, gt=0, description="How long a console account stays locked after too many failures."
    )
    console_logins_per_minute_per_address: int = Field(
        default=10,
        ge=0,
        description="Console sign-in attempts one client address may make a minute (0: no limit).",
    )
    console_logins_per_minute_per_account: int = Field(
        default=10, ge=0, description="Console sign-in attempts at one account name a minute (0: no limit)."
    )
    console_article_review: bool = Field(
        default=True,
        description=(
            "Articles edited in the console wait as drafts until another curator (or an admin) reviews and "
            "publishes them; off: a curator's save writes the knowledge folder at once."
        ),
    )
    console_gap_similarity: float = Field(
        default=0.4,
        gt=0,
        le=1,
        description=(
            "How similar on average (mean cosine of the index's embeddings, question by question) two "
            "groups of unanswered questions on /console/gaps must be to merge; 0.4 was chosen on the dev "
            "half of benchmarks/gaps/labelled.jsonl with all-MiniLM-L6-v2."
        ),
    )
    oidc_issuer: str = Field(
        default="",
        description=(
            "Single sign-on: the OpenID Connect issuer (Entra ID: https://login.microsoftonline.com/"
            "<tenant id>/v2.0). Its ID tokens must name exactly this issuer. Empty: no single sign-on."
        ),
    )
    oidc_discovery_url: str = Field(
        default="",
        description="Where the provider's OpenID configuration is (default: the issuer's "
        "/.well-known/openid-configuration).",
    )
    oidc_client_id: str = Field(default="", description="Single sign-on: this app's client (application) id.")
    oidc_client_secret: str = Field(default="", description="Single sign-on: this app's client secret.")
    oidc_redirect_url: str = Field(
        default="",
        description="The sign-in callback registered with the provider (default: ITBOT_PUBLIC_URL, else the "
        "request's own address, followed by /console/sso/callback).",
    )
    oidc_scopes: str = Field(default="openid profile email", description="Scopes asked of the provider.")
    oidc_name_claim: str = Field(
        default="preferred_username",
        description="The ID token claim that names the console account (falls back to email, then sub).",
    )
    oidc_role_claim: str = Field(
        default="roles", description="The ID token claim holding the user's roles or groups (a list)."
    )
    oidc_role_map: str = Field(
        default="",
        description=(
            "Comma-separated VALUE=ROLE pairs (ITBot.Curator=curator,ITBot.Admin=admin): a user whose role "
            "claim holds VALUE gets ROLE (the highest one matched), at every sign-in."
        ),
    )
    oidc_default_role: str = Field(
        default="viewer",
        pattern="^(viewer|curator|agent|admin)$",
        description="The role of an account single sign-on creates when no mapped value is in its claims.",
    )
    oidc_allowed_tenants: str = Field(
        default="",
        description="Comma-separated tenant ids (the tid claim) that may sign in (empty: any the issuer "
        "vouches for).",
    )
    oidc_leeway_seconds: int = Field(
        default=60, ge=0, le=600, description="Clock difference allowed when checking an ID token's times."
    )
    api_docs: bool = Field(
        default=False, description="Serve /openapi.json and /docs (off: the API's shape is not published)."
    )

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
    def allowed_origin_list(self) -> tuple[str, ...]:
        """``allowed_origins`` as a tuple of stripped, non-empty entries."""
        return _comma_list(self.allowed_origins)

    @property
    def allowed_host_list(self) -> tuple[str, ...]:
        """``allowed_hosts`` as a tuple of stripped, non-empty entries."""
        return _comma_list(self.allowed_hosts)

    @property
    def trusted_proxy_list(self) -> tuple[str, ...]:
        """``trusted_proxies`` as a tuple of stripped, non-empty entries."""
        return _comma_list(self.trusted_proxies)

    @property
    def oidc_enabled(self) -> bool:
        """True when single sign-on is configured (issuer and client id)."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def oidc_allowed_tenant_list(self) -> tuple[str, ...]:
        """``oidc_allowed_tenants`` as a tuple of stripped, non-empty entries."""
        return _comma_list(self.oidc_allowed_tenants)

    @property
    def oidc_role_pairs(self) -> tuple[tuple[str, str], ...]:
        """``oidc_role_map`` as (claim value, role) pairs."""
        pairs = (part.rpartition("=") for part in _comma_list(self.oidc_role_map))
        return tuple((value.strip(), role.strip().lower()) for value, _eq, role in pairs if value.strip())

    @property
    def slack_enabled(self) -> bool:
        """True when the Slack credentials for HTTP mode are present."""
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def teams_enabled(self) -> bool:
        """True when the Teams app id is set (``POST /api/messages`` is served)."""
        return bool(self.teams_app_id)

    @property
    def teams_service_url_list(self) -> tuple[str, ...]:
        """``teams_service_urls`` as a tuple of stripped, non-empty prefixes."""
        return _comma_list(self.teams_service_urls)

    @property
    def teams_token_endpoint(self) -> str:
        """``teams_token_url``, or Microsoft's token endpoint for the app's tenant."""
        if self.teams_token_url:
            return self.teams_token_url
        single = self.teams_app_type.lower() == "singletenant" and self.teams_app_tenant_id
        tenant = self.teams_app_tenant_id if single else "botframework.com"
        return f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())

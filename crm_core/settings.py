"""One typed settings object, read from CRM_* environment variables and an optional .env file."""

import ipaddress
import logging
import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where SQLite, the secret key and files live.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite under data_dir.")
    secret_key: SecretStr = Field(default=SecretStr(""), description="Empty means generated under data_dir.")
    previous_secret_keys: SecretStr = Field(
        default=SecretStr(""), description="Former secret keys, comma-separated, after a key change: secrets "
        "encrypted under them (mailbox passwords) still decrypt until `crm mailbox rekey` re-encrypts them.")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    migrate_on_start: bool = True
    api_token_days: int = Field(default=365, ge=1, description="Default lifetime of a new API token.")
    # Mail tracking (docs/mail-tracking.md).
    mail_token_prefix: str = Field(default="CRM", pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,19}$",
                                   description='The tracking token in subjects: "CRM" gives "CRM:0001234".')
    mail_block_list: list[str] = Field(default_factory=list, description="Addresses and domains never tracked "
                                       '(JSON list in the environment: ["ceo@contoso.com", "hr.contoso.com"]).')
    mail_party_matching: Literal["best", "all"] = Field(
        default="best", description="An address known to several records: the best match, or all of them.")
    mail_smart_matching: bool = Field(default=False, description="Correlate by subject and participants too.")
    mail_smart_matching_days: int = Field(default=90, ge=1)
    mail_max_message_mb: int = Field(default=50, ge=1, description="Larger messages are quarantined.")
    mail_max_attachment_mb: int = Field(default=25, ge=1, description="Larger attachments are kept as metadata.")
    mail_sync_batch_size: int = Field(default=100, ge=1, le=5000)
    mail_parse_workers: int | None = Field(
        default=None, ge=0, le=64,
        description="Processes that parse mail during a sync (default: the CPUs but one; 0: in the syncing process).")
    mail_send_per_mailbox: int = Field(default=30, ge=1, description="Emails one mailbox sends per run (a minute).")
    graph_notification_url: str | None = Field(
        default=None, pattern=r"^https://", description="The public HTTPS base URL Microsoft Graph calls back with "
        "change notifications (docs/graph-notifications.md); unset: no subscriptions, Graph syncs on schedule only.")
    # Workers (docs/workers.md).
    broker_url: str = Field(default="", description="Celery's broker: redis://... or amqp://...; empty means "
                            "the embedded broker (files under data_dir), for one machine.")
    queue: str = Field(default="crm", pattern=r"^[A-Za-z0-9_.-]{1,100}$", description="The broker queue the "
                       "tasks go to: deployments (or test runs) sharing one broker keep apart by their queue.")
    worker_concurrency: int = Field(default=4, ge=1, le=256, description="Tasks one `crm worker` runs at once.")
    dispatch_seconds: float = Field(default=5.0, gt=0, description="How often beat looks for due mailboxes.")
    sync_lease_seconds: float = Field(default=90.0, ge=1, description="How long a dead worker can block its "
                                      "mailbox: the lease a running sync renews while it lives.")
    sync_backoff_base_seconds: float = Field(default=30.0, gt=0)
    sync_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    sync_requeue_seconds: float = Field(default=180.0, ge=10, description="A mailbox queued this long without a "
                                        "worker starting it is sent again (its task was lost with a worker).")
    sync_park_after_failures: int = Field(default=8, ge=1, description="Failures in a row that park a mailbox.")
    calendar_sync_seconds: float = Field(default=300.0, ge=10, description="How often calendars sync.")
    metrics_token: SecretStr = Field(default=SecretStr(""), description="Bearer token Prometheus sends to /metrics; "
                                     "empty: only loopback may scrape.")
    # The Outlook add-in (docs/outlook-addin.md).
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/]+(/.*)?$", description="The public base "
                                   "URL of this server, as Outlook reaches it (HTTPS in production); unset: "
                                   "http://HOST:PORT.")
    addin_id: str = Field(default="5f0c7a53-4b0e-4d59-9a3f-2f4b8d1c6e21", pattern=r"^[0-9a-fA-F-]{36}$",
                          description="The add-in's own id (a GUID; give each deployment its own).")
    entra_client_id: str | None = Field(default=None, description="The Entra ID app registration the add-in signs "
                                        "in with (single sign-on); the audience of its access tokens.")
    entra_client_secret: SecretStr = Field(default=SecretStr(""), description="That app's secret, for the "
                                           "on-behalf-of flow to Microsoft Graph.")
    addin_tenants: list[str] = Field(default_factory=list, description="Entra tenant ids whose users may use the "
                                     "add-in (JSON list); empty: none.")
    addin_origins: list[str] = Field(default_factory=list, description="Origins besides CRM_PUBLIC_URL's allowed "
                                     "to call /addin/api/ from a browser (CORS; JSON list).")
    addin_record_url: str | None = Field(default=None, pattern=r"^https?://", description="Where the add-in's "
                                         "\"Open in the CRM\" link leads: a URL template with {type} and {id} "
                                         "(a record page of the CRM's web front end); unset: no such link, the "
                                         "record opens in the pane only.")
    addin_dev_tokens: bool = Field(default=False, description="Development: the add-in's API also accepts the "
                                   "CRM's own API tokens.")
    log_format: Literal["text", "json"] = Field(default="text", description="json: one JSON object per line.")
    # Automation (docs/automation.md): where webhooks may connect besides public addresses, and their retries.
    outbound_allow: list[str] = Field(default_factory=list, description="Networks (CIDRs, JSON list) that "
                                      'webhooks may reach although private or loopback: ["10.1.2.0/24"].')
    webhook_max_attempts: int = Field(default=8, ge=1, le=50, description="Attempts before a delivery fails.")
    webhook_backoff_base_seconds: float = Field(default=30.0, gt=0, description="The first retry's delay; "
                                                "doubled at each attempt, with jitter.")
    webhook_backoff_max_seconds: float = Field(default=6 * 3600.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    rule_max_depth: int = Field(default=8, ge=1, le=50, description="Business rules: rule runs in a row (a rule's "
                                "change firing another rule...) before the chain is stopped as a loop.")
    # Lead scoring (docs/lead-scoring.md): how much history the predictive score needs, and when it refreshes.
    lead_scoring_min_per_class: int = Field(default=40, ge=5, description="Qualified and disqualified leads "
                                            "(each) needed before the predictive score is trained.")
    lead_rescore_seconds: int = Field(default=300, ge=10, description="How often changed leads are rescored.")
    lead_retrain_hour: int = Field(default=2, ge=0, le=23, description="The hour (UTC) of the nightly retraining "
                                   "and full rescoring.")

    @field_validator("outbound_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr.strip(), strict=False)  # a ValueError names the bad entry
        return value

    @model_validator(mode="after")
    def _defaults(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'crm.db').as_posix()}"
        return self

    @property
    def base_url(self) -> str:
        """Where Outlook and browsers reach this server: CRM_PUBLIC_URL, else http://HOST:PORT."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104 - compared, not bound
        return f"http://{host}:{self.port}"

    def ensure_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def resolved_secret_key(self) -> str:
        """The key from settings, or the one stored under data_dir (made on first use, mode 0600)."""
        if self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        self.ensure_data_dir()
        path = self.data_dir / "secret_key"
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            log.info("generated a new secret key in %s", path)
        key = path.read_text().strip()
        self.secret_key = SecretStr(key)
        return key

    def redacted(self) -> dict[str, Any]:
        """The effective settings, safe to log: secrets and database passwords hidden."""
        from sqlalchemy.engine import make_url

        out = self.model_dump()
        out["secret_key"] = "***" if self.secret_key.get_secret_value() else "(generated under data_dir)"
        out["metrics_token"] = "***" if self.metrics_token.get_secret_value() else "(none: loopback only)"
        out["entra_client_secret"] = "***" if self.entra_client_secret.get_secret_value() else None
        out["database_url"] = make_url(self.database_url).render_as_string(hide_password=True)
        out["data_dir"] = str(self.data_dir)
        if self.broker_url:
            out["broker_url"] = make_url(self.broker_url).render_as_string(hide_password=True) \
                if "://" in self.broker_url and "@" in self.broker_url else self.broker_url
        return out

    def warnings(self) -> list[str]:
        found = []
        if self.host not in ("127.0.0.1", "localhost", "::1") and self.database_url.startswith("sqlite"):
            found.append("serving on a public address with SQLite: use PostgreSQL for more than a trial")
        return found

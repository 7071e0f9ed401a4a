"""Settings: a frozen, typed object built once from config.yaml plus HOUSEFUL_* environment overrides."""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field, fields
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import yaml

from server import zones

ROOT = Path(__file__).resolve().parent.parent


# HMAC-SHA256 keys (JWTs, webhook and ticket secrets derive from auth.jwt_secret) shorter than
# the hash are guessable offline from one token.
MIN_SECRET_BYTES = 32


class ConfigError(Exception):
    """A setting is missing or has a bad value; the message names the setting."""


def _range(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    return {"metadata": {"lo": lo, "hi": hi}}


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = field(default=8080, **_range(0, 65535))
    # Origins allowed for WebSocket upgrades and cookie-authenticated writes; empty = same host only.
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = field(default=1_048_576, **_range(1024, 64 * 1_048_576))
    log_level: str = "INFO"
    log_format: str = "text"
    access_log: bool = False
    # Load balancers whose X-Forwarded-For is believed (CIDR networks); empty = none.
    trusted_proxies: tuple[str, ...] = ()
    # A connection without a complete request this long after it opened or after its last response
    # is closed: idle keep-alive, trickled header lines, unfinished WebSocket handshakes.
    idle_timeout_seconds: float = field(default=20.0, **_range(0.1, 3_600))
    # A request body must arrive within this (408 and the connection closed otherwise).
    body_timeout_seconds: float = field(default=10.0, **_range(0.1, 3_600))
    # Open TCP connections (HTTP and WebSockets) per client IP, counted per worker process; 0 = no cap.
    connections_per_ip: int = field(default=64, **_range(0, 1_000_000))
    # Addresses never capped: loopback, where the load tool and a same-host proxy connect from.
    uncapped_ips: tuple[str, ...] = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "postgresql://postgres@127.0.0.1:5432/houseful"
    pool_min: int = field(default=2, **_range(1, 100))
    pool_max: int = field(default=10, **_range(1, 500))
    command_timeout: float = field(default=10.0, **_range(0.1, 600))


@dataclass(frozen=True)
class RedisSettings:
    url: str = "redis://127.0.0.1:6379/0"
    # Every key and channel starts with this, so several deployments or test runs share one Redis safely.
    key_prefix: str = "houseful:"
    max_connections: int = field(default=64, **_range(2, 10_000))


@dataclass(frozen=True)
class AuthSettings:
    # Empty: taken from HOUSEFUL_AUTH_JWT_SECRET or generated once into .data/jwt_secret.
    jwt_secret: str = ""
    access_token_seconds: int = field(default=900, **_range(10, 86_400))
    refresh_token_seconds: int = field(default=1_209_600, **_range(60, 31_536_000))
    # Login attempts per email+IP pair within the window; the owner's other addresses stay open.
    login_max_failures: int = field(default=10, **_range(1, 10_000))
    login_window_seconds: int = field(default=60, **_range(1, 86_400))
    # Per email from any address (slower window: a distributed guesser), and per IP across emails.
    login_email_max_failures: int = field(default=50, **_range(1, 1_000_000))
    login_email_window_seconds: int = field(default=900, **_range(1, 86_400))
    login_ip_max_failures: int = field(default=30, **_range(1, 1_000_000))
    # Registrations per client IP per hour; the load tool raises it to create many users.
    registrations_per_hour: int = field(default=20, **_range(1, 10_000_000))
    cookie_secure: bool = False
    # argon2 cost; tests lower it so hashing does not dominate their run time.
    argon2_memory_kib: int = field(default=65_536, **_range(8, 4_194_304))
    argon2_rounds: int = field(default=3, **_range(1, 100))


@dataclass(frozen=True)
class HoldSettings:
    ttl_seconds: int = field(default=480, **_range(1, 86_400))
    # Cap on a hold's total life, however often it is extended.
    max_total_seconds: int = field(default=1_200, **_range(1, 86_400))
    max_seats_per_customer: int = field(default=10, **_range(1, 100))
    orphan_rule: bool = True
    # Wheelchair and companion places go on general sale this long before the show starts.
    accessible_release_minutes: int = field(default=60, **_range(0, 10_080))
    sweep_interval_ms: int = field(default=250, **_range(10, 60_000))


@dataclass(frozen=True)
class WebSocketSettings:
    tick_ms: int = field(default=50, **_range(1, 5_000))
    max_message_bytes: int = field(default=4_096, **_range(256, 1_048_576))
    commands_per_second: int = field(default=10, **_range(1, 10_000))
    command_burst: int = field(default=20, **_range(1, 10_000))
    # One user's commands over all their sockets (every worker): a shared token bucket in Redis.
    user_commands_per_second: int = field(default=20, **_range(1, 100_000))
    user_command_burst: int = field(default=40, **_range(1, 100_000))
    send_queue_frames: int = field(default=64, **_range(1, 100_000))
    heartbeat_seconds: float = field(default=20.0, **_range(0.1, 3_600))
    auth_timeout_seconds: float = field(default=5.0, **_range(0.1, 600))
    dashboard_tick_ms: int = field(default=300, **_range(10, 60_000))
    # A socket still behind this long after overflowing its queue, or overflowing again this soon
    # after catching up, is closed (4009) instead of resynced.
    behind_grace_seconds: float = field(default=5.0, **_range(0.01, 600))
    # SO_SNDBUF of each room socket; 0 keeps the kernel's default (which may buffer megabytes).
    send_buffer_bytes: int = field(default=0, **_range(0, 64 * 1_048_576))
    # Fan-out budget of a worker: a room flushes at most every max(tick, sockets / this) seconds.
    frames_per_second: int = field(default=40_000, **_range(100, 10_000_000))
    # A big room (>= busy_room_sockets) that collected busy_events or more since its last flush is
    # in a rush: it flushes at most every busy_flush_ms (fewer writes per delivered change).
    busy_flush_ms: int = field(default=150, **_range(1, 5_000))
    busy_events: int = field(default=32, **_range(1, 1_000_000))
    busy_room_sockets: int = field(default=500, **_range(1, 10_000_000))


@dataclass(frozen=True)
class CheckoutSettings:
    currency: str = "GBP"
    cancel_cutoff_minutes: int = field(default=120, **_range(0, 100_000))
    payment_provider: str = "sandbox"
    # HMAC secret shared with the payment provider for webhooks; empty = derived from the JWT secret.
    webhook_secret: str = ""
    reconcile_interval_seconds: int = field(default=30, **_range(1, 86_400))
    # How long an authorised or unsettled order is left to the request working on it before the
    # reconciler finishes it (pending orders have no grace: their hold's deadline is theirs).
    reconcile_grace_seconds: float = field(default=60.0, **_range(0, 86_400))
    # Webhooks signed more than this long ago (or ahead) are rejected as stale.
    webhook_tolerance_seconds: int = field(default=300, **_range(1, 86_400))
    # Sandbox provider: first webhook retry delay (doubles per attempt, capped at a minute) ...
    webhook_retry_seconds: float = field(default=1.0, **_range(0.01, 3_600))
    # ... and how long the "slow" test card takes to authorise.
    sandbox_slow_seconds: float = field(default=3.0, **_range(0, 600))


@dataclass(frozen=True)
class CatalogSettings:
    # The time zone of a cinema created without one, and of "today" and bare dates across all cinemas.
    default_time_zone: str = "Europe/London"


@dataclass(frozen=True)
class CacheSettings:
    catalog_seconds: int = field(default=60, **_range(0, 86_400))
    # Redis bytes the catalog cache may hold at once (0 = no caching): it can never fill Redis.
    max_bytes: int = field(default=16 * 1_048_576, **_range(0, 1 << 40))
    # Deepest page cached; deeper pages (and other unbounded query shapes) are served uncached.
    max_offset: int = field(default=1_000, **_range(0, 1_000_000))


@dataclass(frozen=True)
class JobSettings:
    # A job worker inside every server process; `run.py worker` runs one on its own as well.
    worker_in_node: bool = True
    concurrency: int = field(default=4, **_range(1, 100))
    # A message's job is tried this often (retries wait retry_seconds, doubling, at most an hour).
    max_attempts: int = field(default=10, **_range(1, 100))
    retry_seconds: float = field(default=5.0, **_range(0.1, 3_600))
    # Workers beat every heartbeat_seconds; a worker silent for stalled_seconds is dead and its
    # running jobs are retried (checked every stalled_check_seconds by every worker).
    heartbeat_seconds: float = field(default=10.0, **_range(0.1, 600))
    stalled_seconds: float = field(default=30.0, **_range(0.5, 3_600))
    stalled_check_seconds: float = field(default=15.0, **_range(0.1, 3_600))
    # Jobs arrive by LISTEN/NOTIFY at once; polling is only the fallback.
    poll_seconds: float = field(default=5.0, **_range(0.05, 600))
    pool_max: int = field(default=4, **_range(1, 100))
    # Generate, archive and email the monthly reports (server/messaging/monthly_reports.py).
    monthly_reports: bool = True


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str = "127.0.0.1"
    smtp_port: int = field(default=1025, **_range(1, 65535))
    # none, starttls or tls (implicit TLS, usually port 465).
    smtp_security: str = "none"
    smtp_username: str = ""
    smtp_password: str = ""
    timeout_seconds: float = field(default=30.0, **_range(1, 600))
    sender: str = "Houseful <tickets@houseful.local>"
    # `run.py serve --demo`: start the local mail catcher (mailbox page) when nothing listens on
    # a loopback smtp_host:smtp_port.
    demo_catcher: bool = True


@dataclass(frozen=True)
class PushSettings:
    enabled: bool = True
    # The VAPID contact push services may write to about this sender.
    subject: str = "mailto:tickets@houseful.local"
    ttl_seconds: int = field(default=86_400, **_range(0, 2_419_200))
    # Push endpoints are URLs a browser hands us; only these push services (a suffix starting
    # with "." matches subdomains) are ever contacted, over https unless allow_http is set.
    allowed_hosts: tuple[str, ...] = (
        "fcm.googleapis.com", "updates.push.services.mozilla.com", "web.push.apple.com", ".notify.windows.com")
    allow_http: bool = False


@dataclass(frozen=True)
class MessageSettings:
    # The site's address as customers reach it: links in emails and notifications.
    site_url: str = "http://127.0.0.1:8080"
    # Reminders: the day before at this local hour (the cinema's zone) and this many hours before.
    day_before_hour: int = field(default=9, **_range(0, 23))
    hours_before: int = field(default=2, **_range(1, 12))
    # Password reset links live this long; asks per email and per IP per hour.
    reset_minutes: int = field(default=60, **_range(5, 10_080))
    resets_per_hour: int = field(default=5, **_range(1, 10_000))


@dataclass(frozen=True)
class WaitlistSettings:
    # Seats offered to the next in line stay held for them this long.
    claim_minutes: int = field(default=10, **_range(1, 1_440))
    # How often each server moves new offers from Redis into PostgreSQL (and sends them).
    offer_interval_ms: int = field(default=500, **_range(10, 60_000))


@dataclass(frozen=True)
class WaitingRoomSettings:
    # How often each server runs the admitter (one per screening wins the lease) and sends the line's frame.
    tick_ms: int = field(default=500, **_range(10, 10_000))
    # How long an admitted customer may hold seats after claiming the admission.
    admission_seconds: int = field(default=600, **_range(10, 7_200))
    # The admitter's lease: another server takes over this long after the leader stops.
    lease_ms: int = field(default=3_000, **_range(100, 60_000))
    # Defaults from capacity when the policy names none: rate = capacity / this, at least 1 a second.
    capacity_per_rate: int = field(default=20, **_range(1, 10_000))
    # ... and max_active = capacity x this percentage, at least 1.
    active_percent: int = field(default=50, **_range(1, 1_000))
    # While any server's event loop typically runs this late, lines admit at a tenth of their rate; 0 = never.
    busy_lag_ms: int = field(default=50, **_range(0, 60_000))


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = True
    # Who may read /metrics (CIDR networks); everyone else gets 404.
    allow_from: tuple[str, ...] = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class AdminSettings:
    # First admin, created on start when no admin exists (normally set through the environment).
    email: str = ""
    password: str = ""


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    auth: AuthSettings = AuthSettings()
    holds: HoldSettings = HoldSettings()
    websocket: WebSocketSettings = WebSocketSettings()
    checkout: CheckoutSettings = CheckoutSettings()
    catalog: CatalogSettings = CatalogSettings()
    cache: CacheSettings = CacheSettings()
    jobs: JobSettings = JobSettings()
    mail: MailSettings = MailSettings()
    push: PushSettings = PushSettings()
    messages: MessageSettings = MessageSettings()
    waitlist: WaitlistSettings = WaitlistSettings()
    waiting_room: WaitingRoomSettings = WaitingRoomSettings()
    admin: AdminSettings = AdminSettings()
    metrics: MetricsSettings = MetricsSettings()
    data_dir: str = ".data"

    def replace(self, **sections: Mapping[str, Any]) -> "Settings":
        """A copy with some settings changed, e.g. replace(holds={"ttl_seconds": 2})."""
        changed = {}
        for name, values in sections.items():
            current = getattr(self, name)
            if dataclasses.is_dataclass(current):
                changed[name] = _build(type(current), {**dataclasses.asdict(current), **values}, name)
            else:
                changed[name] = values
        return dataclasses.replace(self, **changed)


def _coerce(value: Any, typ: Any, name: str) -> Any:
    kind = typ if isinstance(typ, type) else str(typ)
    try:
        if kind in (bool, "bool"):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if not isinstance(value, bool):
                raise ValueError
            return value
        if kind in (int, "int"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind in (float, "float"):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind in (str, "str"):
            if not isinstance(value, (str, int, float)):
                raise ValueError
            return str(value)
        if "tuple" in str(kind):
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, (list, tuple)):
                raise ValueError
            return tuple(str(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name}: expected {getattr(kind, '__name__', kind)}, got {value!r}") from None
    raise ConfigError(f"setting {name}: unsupported type {typ}")


def _build(cls: type, values: Mapping[str, Any], section: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown setting {section}.{sorted(unknown)[0]}")
    out = {}
    for key, value in values.items():
        f = known[key]
        name = f"{section}.{key}"
        value = _coerce(value, f.type, name)
        lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
        if lo is not None and value < lo or hi is not None and value > hi:
            raise ConfigError(f"setting {name}: {value!r} is outside {lo}..{hi}")
        out[key] = value
    return cls(**out)


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    sections = {f.name for f in fields(Settings)}
    for key, value in env.items():
        if not key.startswith("HOUSEFUL_"):
            continue
        rest = key[len("HOUSEFUL_"):].lower()
        for section in sections:
            if rest.startswith(section + "_"):
                out.setdefault(section, {})[rest[len(section) + 1:]] = value
                break
    return out


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read config.yaml, apply HOUSEFUL_SECTION_KEY environment overrides, validate and return Settings."""
    env = os.environ if env is None else env
    path = Path(path) if path else ROOT / "config.yaml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    for section, values in _env_overrides(env).items():
        raw.setdefault(section, {}).update(values)
    kwargs: dict[str, Any] = {}
    for f in fields(Settings):
        if f.name not in raw:
            continue
        value = raw.pop(f.name)
        if f.name == "data_dir":
            kwargs[f.name] = str(value)
            continue
        if not isinstance(value, dict):
            raise ConfigError(f"setting {f.name}: expected a section (mapping)")
        kwargs[f.name] = _build(type(f.default), value, f.name)
    if raw:
        raise ConfigError(f"unknown setting section {sorted(raw)[0]}")
    settings = Settings(**kwargs)
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    if settings.database.pool_min > settings.database.pool_max:
        raise ConfigError("setting database.pool_min: must not exceed database.pool_max")
    if settings.holds.max_total_seconds < settings.holds.ttl_seconds:
        raise ConfigError("setting holds.max_total_seconds: must be at least holds.ttl_seconds")
    if not settings.database.url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("setting database.url: must be a postgresql:// URL")
    if not re.fullmatch(r"/?[A-Za-z_][A-Za-z0-9_]{0,62}|/?", urlsplit(settings.database.url).path):
        raise ConfigError("setting database.url: the database name must be letters, digits and _")
    if settings.redis.url.startswith("redis+cluster://"):  # Redis Cluster (server/redis_client.py)
        if not re.fullmatch(r"redis\+cluster://([^@/]*@)?[^:,/@]+:\d+(,[^:,/@]+:\d+)*/?", settings.redis.url):
            raise ConfigError("setting redis.url: redis+cluster://host:port[,host:port...] expected")
    elif not settings.redis.url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("setting redis.url: must be a redis:// or redis+cluster:// URL")
    if len(settings.checkout.currency) != 3 or not settings.checkout.currency.isalpha():
        raise ConfigError("setting checkout.currency: must be a three-letter ISO 4217 code")
    for name, nets in (("metrics.allow_from", settings.metrics.allow_from),
                       ("server.trusted_proxies", settings.server.trusted_proxies)):
        for net in nets:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ConfigError(f"setting {name}: {net!r} is not a network such as 10.0.0.0/8") from None
    if settings.server.log_format not in ("text", "json"):
        raise ConfigError("setting server.log_format: must be text or json")
    if settings.mail.smtp_security not in ("none", "starttls", "tls"):
        raise ConfigError("setting mail.smtp_security: must be none, starttls or tls")
    if "@" not in parseaddr(settings.mail.sender)[1]:
        raise ConfigError("setting mail.sender: must be an address such as Houseful <tickets@example.com>")
    if not settings.messages.site_url.startswith(("http://", "https://")):
        raise ConfigError("setting messages.site_url: must be an http:// or https:// address")
    if not settings.push.subject.startswith(("mailto:", "https://")):
        raise ConfigError("setting push.subject: must be a mailto: or https: address")
    if settings.auth.jwt_secret and len(settings.auth.jwt_secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"setting auth.jwt_secret (HOUSEFUL_AUTH_JWT_SECRET): must be at least {MIN_SECRET_BYTES}"
                          " bytes; leave it empty to have one generated")
    if not zones.is_zone(settings.catalog.default_time_zone):
        raise ConfigError("setting catalog.default_time_zone: must be an IANA time zone such as Europe/London")


def data_path(settings: Settings) -> Path:
    """The data directory (data_dir, relative to the repository unless absolute)."""
    path = Path(settings.data_dir)
    return path if path.is_absolute() else ROOT / path


def jwt_secret(settings: Settings) -> str:
    """The JWT signing secret: configured, or generated once into the data directory (never committed)."""
    if settings.auth.jwt_secret:
        return settings.auth.jwt_secret
    path = Path(settings.data_dir)
    if not path.is_absolute():
        path = ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    secret_file = path / "jwt_secret"
    if not secret_file.exists():
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    secret = secret_file.read_text().strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"setting auth.jwt_secret: {secret_file} holds fewer than {MIN_SECRET_BYTES} bytes;"
                          " delete it to have a new one generated")
    return secret

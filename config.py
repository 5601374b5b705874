"""Application settings.

Each class is one environment; every value can be overridden from the environment (or a
`.env` file, read by python-dotenv through the Flask CLI). Code reads `current_app.config`,
never `os.environ`.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_list(name: str) -> list[str] | None:
    """A comma-separated list (`a.example,b.example`); None when the variable is unset or empty."""
    items = [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]
    return items or None


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` / `postgresql://` forms and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    ENV_NAME = "base"
    # No default: production refuses to start without a strong one; development has its own below.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'app.db'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # SQLite waits this long for the write lock instead of failing with "database is locked".
    SQLITE_BUSY_TIMEOUT_MS = env_int("SQLITE_BUSY_TIMEOUT_MS", 30_000)
    # How many app instances (servers, or gunicorn masters) share this database behind a load
    # balancer. Above 1, production refuses to start while anything that must be shared would stay
    # in one instance (ProductionConfig.prepare: shared_state_problems).
    APP_INSTANCES = env_int("APP_INSTANCES", 1)
    # GET /readyz gives up on the database after this many seconds (connecting, or its one query)
    # and answers 503. At least 2: libpq and psycopg round a shorter connect timeout up to 2.
    READYZ_TIMEOUT_SECONDS = env_int("READYZ_TIMEOUT_SECONDS", 2)

    # Language and time: the UI is Simplified Chinese, times are stored in UTC and shown in Shanghai.
    BABEL_DEFAULT_LOCALE = os.environ.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    SITE_NAME = os.environ.get("SITE_NAME", "玺承集团 · 电商成长学院")
    # The public address. Every absolute link (emails, QR codes, feed, sitemap, canonical tags) is
    # built from it (app/common/urls.py), never from the request's Host header, which the client picks.
    SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:5000")
    # Host names a request may name (Flask answers others with 400). Unset: any in development and
    # tests; SITE_URL's host in production.
    TRUSTED_HOSTS = env_list("TRUSTED_HOSTS")
    # Strict-Transport-Security max-age; 0 sends no header (production sets a year).
    HSTS_SECONDS = 0
    # A TrueType font with Chinese for the PDFs (sign-in sheets, certificates); a .ttc uses its first
    # face. Unset: a system CJK font is looked for (app/common/fonts.py).
    PDF_FONT_PATH = os.environ.get("PDF_FONT_PATH") or None
    # More TrueType fonts, tried in order for characters the main font lacks, before the system ones
    # (Hanazono Mincho for CJK Extensions A-F). Paths separated by os.pathsep (":" on Linux).
    PDF_FALLBACK_FONT_PATHS = [path for path in os.environ.get("PDF_FALLBACK_FONT_PATHS", "").split(os.pathsep) if path]

    # CMS: uploaded images live here (served at /media/<name>); each image at most this many bytes.
    CMS_UPLOAD_FOLDER = os.environ.get("CMS_UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    # Where uploaded images are kept (app/cms/storage.py): "local" (CMS_UPLOAD_FOLDER, one machine)
    # or "s3" (a bucket every server shares, through the S3 API: AWS, MinIO, Aliyun OSS, Tencent COS).
    MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "local").strip().lower()
    # The S3 API's address (http://127.0.0.1:9000); empty: AWS's own for S3_REGION.
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")
    S3_BUCKET = os.environ.get("S3_BUCKET", "")
    # Empty: boto3's own search (AWS_ACCESS_KEY_ID ..., ~/.aws, an instance role).
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
    S3_REGION = os.environ.get("S3_REGION", "") or "us-east-1"
    # "path" or "virtual"; empty: boto3's choice (path with S3_ENDPOINT_URL, virtual on AWS). Aliyun
    # OSS answers only virtual-hosted requests (bucket.oss-cn-hangzhou.aliyuncs.com).
    S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "")
    # A base URL under which the bucket's objects are served to readers without the app (nginx or a
    # CDN in front of the bucket): images in pages then point there. Empty: the app streams them
    # at /media/<name>, which keeps answering either way (article bodies always say /media/<name>).
    MEDIA_PUBLIC_URL = os.environ.get("MEDIA_PUBLIC_URL", "").rstrip("/")
    CMS_MAX_IMAGE_BYTES = env_int("CMS_MAX_IMAGE_BYTES", 5 * 1024 * 1024)
    # An article body longer than this is refused with a message (a WeChat article is ~10k characters).
    CMS_MAX_BODY_CHARS = env_int("CMS_MAX_BODY_CHARS", 200_000)
    # Reloads by the same visitor within this many seconds count as one view.
    CMS_VIEW_WINDOW_SECONDS = env_int("CMS_VIEW_WINDOW_SECONDS", 30 * 60)
    # Redis, shared by every process of every server (redis://127.0.0.1:6379/0): the cache of the
    # pages anonymous readers get and the buffer of counted views. Unset: both stay in each process.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # How long a rendered page (article, home, course; without its live seats, which are read on
    # every request) is kept. Edits, publishing and unpublishing replace it at once in the process
    # that made them and, with REDIS_URL, in every process; other processes see them within this.
    PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 10)
    # How long a process shows a booking card's or a session card's seats before reading them again
    # (a booking in the same process refreshes them at once; the booking page always reads them).
    LIVE_PARTS_SECONDS = env_int("LIVE_PARTS_SECONDS", 2)
    # Views and card clicks are buffered and written in batches this often (app/cms/count_buffer.py),
    # and at exit: a process that dies loses at most this much. 0: no flusher thread (only at exit and
    # `flask cms flush-counts`).
    CMS_COUNT_FLUSH_SECONDS = env_float("CMS_COUNT_FLUSH_SECONDS", 2)
    # Events a process keeps while the database is away; beyond it the oldest are dropped (logged).
    CMS_COUNT_BUFFER_LIMIT = env_int("CMS_COUNT_BUFFER_LIMIT", 100_000)
    # With REDIS_URL the count buffer is shared by all processes (none lost with a worker), under this key.
    CMS_COUNT_REDIS_KEY = os.environ.get("CMS_COUNT_REDIS_KEY", "cms:counts")
    # Paid sessions. A booking holds its seat this long while the student pays (a session may set
    # its own); a seat offered to the head of the waiting list is held this long for them; choosing
    # a bank transfer (对公转账) holds the seat this long, for the transfer to arrive.
    PAYMENT_HOLD_SECONDS = env_int("PAYMENT_HOLD_SECONDS", 15 * 60)
    WAITLIST_OFFER_SECONDS = env_int("WAITLIST_OFFER_SECONDS", 24 * 3600)
    BANK_TRANSFER_HOLD_SECONDS = env_int("BANK_TRANSFER_HOLD_SECONDS", 3 * 24 * 3600)
    # The providers (README "Payments"). A provider whose credentials are missing is not offered.
    # WeChat Pay (API v3), app/payments/providers/wechat.py (its docstring says what each is). Offered
    # only when the merchant id, app id, both keys, the serial, the public key id and the APIv3 key are
    # all set. Keys are PEM text or a file's path. Development points the API bases at the local
    # stand-in (python -m standins.wechatpay; python -m standins.keys prints these settings).
    WECHATPAY_MCHID = os.environ.get("WECHATPAY_MCHID", "")
    WECHATPAY_APPID = os.environ.get("WECHATPAY_APPID", "")
    WECHATPAY_PRIVATE_KEY = os.environ.get("WECHATPAY_PRIVATE_KEY", "")
    WECHATPAY_CERT_SERIAL_NO = os.environ.get("WECHATPAY_CERT_SERIAL_NO", "")
    WECHATPAY_APIV3_KEY = os.environ.get("WECHATPAY_APIV3_KEY", "")
    WECHATPAY_PUBLIC_KEY = os.environ.get("WECHATPAY_PUBLIC_KEY", "")
    WECHATPAY_PUBLIC_KEY_ID = os.environ.get("WECHATPAY_PUBLIC_KEY_ID", "")
    WECHATPAY_API_BASE = os.environ.get("WECHATPAY_API_BASE", "https://api.mch.weixin.qq.com")
    WECHATPAY_TIMEOUT_SECONDS = env_float("WECHATPAY_TIMEOUT_SECONDS", 10)
    # The payer's openid: the official account's AppSecret (web authorisation, snsapi_base) and the
    # mini-program's own app id and secret (wx.login); unset mini-program ones fall back to the account's.
    WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
    WECHAT_MINIPROGRAM_APPID = os.environ.get("WECHAT_MINIPROGRAM_APPID", "")
    WECHAT_MINIPROGRAM_APP_SECRET = os.environ.get("WECHAT_MINIPROGRAM_APP_SECRET", "")
    WECHAT_OAUTH_BASE = os.environ.get("WECHAT_OAUTH_BASE", "https://open.weixin.qq.com")
    WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com")
    # Alipay, app/payments/providers/alipay.py: the app id, the app's private key and Alipay's public key.
    ALIPAY_APPID = os.environ.get("ALIPAY_APPID", "")
    ALIPAY_PRIVATE_KEY = os.environ.get("ALIPAY_PRIVATE_KEY", "")
    ALIPAY_PUBLIC_KEY = os.environ.get("ALIPAY_PUBLIC_KEY", "")
    ALIPAY_GATEWAY = os.environ.get("ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do")
    ALIPAY_TIMEOUT = env_float("ALIPAY_TIMEOUT", 10)
    # 对公转账: the organisation's account, shown to a payer who chooses it. Unset: not offered.
    BANK_TRANSFER_ACCOUNT_NAME = os.environ.get("BANK_TRANSFER_ACCOUNT_NAME", "")
    BANK_TRANSFER_ACCOUNT_NO = os.environ.get("BANK_TRANSFER_ACCOUNT_NO", "")
    BANK_TRANSFER_BANK = os.environ.get("BANK_TRANSFER_BANK", "")
    # Told of payments that need a person (a late payment given back, a refund that failed).
    PAYMENTS_STAFF_EMAIL = os.environ.get("PAYMENTS_STAFF_EMAIL", "")
    # A refund the provider keeps refusing is tried this many times, then left to staff.
    REFUND_MAX_ATTEMPTS = env_int("REFUND_MAX_ATTEMPTS", 5)
    # Reminders (`flask worker run`): each confirmed registration is emailed once this many hours
    # before its session starts (or, booked later, as soon as it is confirmed). 0: no reminders.
    REMINDER_HOURS_BEFORE = env_float("REMINDER_HOURS_BEFORE", 24)
    # 发票: the largest invoice PDF staff may attach (kept in the database, app/invoices/models.py).
    INVOICE_PDF_MAX_BYTES = env_int("INVOICE_PDF_MAX_BYTES", 2 * 1024 * 1024)

    # Requests larger than this are refused before reading (uploads and long article bodies fit).
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    # Largest text field of a posted form. Flask's default (500 kB) answers a bare 413 that loses what
    # the editor typed, and Chinese is 3 bytes a character in UTF-8: an article body of 200,000
    # characters is 600 kB, a million characters pasted by mistake 3 MB. With 4 MB such a body
    # reaches the service, whose message says it is too long and keeps the typing.
    MAX_FORM_MEMORY_SIZE = env_int("MAX_FORM_MEMORY_SIZE", 4 * 1024 * 1024)

    # Sessions and cookies.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * env_int("REMEMBER_DAYS", 30)
    PASSWORD_RESET_MAX_AGE = env_int("PASSWORD_RESET_MAX_AGE", 3600)
    # Bearer tokens of the JSON API: 30 days, so a mini-program user is not asked to log in each time.
    API_TOKEN_MAX_AGE = env_int("API_TOKEN_MAX_AGE", 30 * 24 * 3600)
    # Number of reverse proxies in front of the app (nginx: 1) whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; 0 trusts no X-Forwarded-* header.
    PROXY_FIX_X_FOR = env_int("PROXY_FIX_X_FOR", 0)
    # X-Forwarded-Host is believed only when set too: a proxy that passes the client's value on would
    # let anyone choose the host the app thinks it is serving.
    PROXY_FIX_X_HOST = env_int("PROXY_FIX_X_HOST", 0)

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session; forms left open overnight still post

    # Rate limits (Flask-Limiter). In-memory by default; set RATELIMIT_STORAGE_URI=redis://... with
    # several gunicorn workers so they share one count.
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # A Redis that is down or hangs must not answer every limited request (logins, bookings) with a
    # 500 or keep it waiting: each process counts in its own memory until Redis answers again
    # (Flask-Limiter checks it with a growing back-off), so the limits still hold, per process,
    # rather than not at all (swallow_errors alone would switch them off); whatever else the
    # limiter raises is logged instead of failing the request. Redis calls give up after 0.5 s.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_LOGIN = os.environ.get("RATELIMIT_LOGIN", "10 per minute;50 per hour")
    RATELIMIT_PASSWORD_RESET = os.environ.get("RATELIMIT_PASSWORD_RESET", "5 per minute;20 per hour")
    RATELIMIT_SIGNUP = os.environ.get("RATELIMIT_SIGNUP", "10 per hour")
    RATELIMIT_BOOKING = os.environ.get("RATELIMIT_BOOKING", "30 per minute")
    RATELIMIT_VERIFY = os.environ.get("RATELIMIT_VERIFY", "30 per minute")
    # Profile saves per client address: changing the email or phone checks the current password.
    RATELIMIT_PROFILE = os.environ.get("RATELIMIT_PROFILE", "10 per minute;50 per hour")

    # 客服 contact details, in the footer and in every "please get in touch" message; empty: not shown.
    CONTACT_PHONE = os.environ.get("CONTACT_PHONE", "")
    CONTACT_WECHAT = os.environ.get("CONTACT_WECHAT", "")
    CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "")

    # Mail: messages are written to the outbox table and delivered by `flask outbox send`.
    # MAIL_BACKEND is "smtp" (deliver) or "console" (log the message instead of sending it).
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "玺承集团 <noreply@example.com>")
    MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 8)
    # First retry after this many seconds, doubling each time up to MAIL_RETRY_MAX_SECONDS.
    MAIL_RETRY_BASE_SECONDS = env_int("MAIL_RETRY_BASE_SECONDS", 30)
    MAIL_RETRY_MAX_SECONDS = env_int("MAIL_RETRY_MAX_SECONDS", 3600)



# Keys that are public (this repository, tutorials) or trivially guessed: anyone holding one can sign
# an admin's session cookie. Production refuses them whatever their length.
KNOWN_SECRET_KEYS = frozenset({
    "dev-only-not-secret", "testing-secret", "bench-secret", "secret", "secret-key", "secretkey",
    "s3cret", "changeme", "change-me", "change_me", "please-change-me", "dev", "development", "test",
    "password", "your-secret-key", "your_secret_key", "default", "flask", "super-secret",
})
MIN_SECRET_KEY_LENGTH = 32
MAKE_SECRET_KEY_HINT = "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'"


def secret_key_problem(key: str | bytes | None) -> str | None:
    """Why this key must not sign production cookies, or None when it may."""
    if not key:
        return "SECRET_KEY is not set"
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
    if text.strip().lower() in KNOWN_SECRET_KEYS:
        return "SECRET_KEY is a well-known value"
    if len(text) < MIN_SECRET_KEY_LENGTH:
        return f"SECRET_KEY is too short ({len(text)} characters, at least {MIN_SECRET_KEY_LENGTH} needed)"
    if len(set(text)) < 8:  # "aaaa...": long but guessable
        return "SECRET_KEY has too few different characters"
    return None


MEDIA_STORAGES = ("local", "s3")


def media_storage_problem(config: MutableMapping) -> str | None:
    """Why the media settings cannot work, or None. Production refuses to start with them; every
    server of a cluster would otherwise fail each upload and image on its own."""
    storage = config.get("MEDIA_STORAGE")
    if storage not in MEDIA_STORAGES:
        return f"MEDIA_STORAGE must be one of: {', '.join(MEDIA_STORAGES)} (got {storage!r})"
    if storage == "s3" and not config.get("S3_BUCKET"):
        return ("MEDIA_STORAGE=s3 needs S3_BUCKET (and S3_ENDPOINT_URL, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY "
                "unless the store is AWS with credentials boto3 finds itself)")
    if config.get("S3_ADDRESSING_STYLE") not in ("", None, "path", "virtual"):
        return f"S3_ADDRESSING_STYLE must be path or virtual (got {config['S3_ADDRESSING_STYLE']!r})"
    public = config.get("MEDIA_PUBLIC_URL") or ""
    parts = urlsplit(public)
    is_path = public.startswith("/") and not public.startswith("//")
    if public and not (is_path or (parts.scheme in ("http", "https") and parts.hostname)):
        return f"MEDIA_PUBLIC_URL must be an address such as https://img.example.com/media (got {public!r})"
    return None


def shared_state_problems(config: Mapping) -> list[str]:
    """What would stay in one instance's memory or disk when APP_INSTANCES > 1 share the database,
    each naming the setting to change; empty when every instance can answer every request."""
    problems = []
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        problems.append("DATABASE_URL is SQLite, a file on one server's disk: point every instance at one "
                        "PostgreSQL (DATABASE_URL=postgresql://...)")
    if config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        problems.append("RATELIMIT_STORAGE_URI is memory://: each instance would count its own login and booking "
                        "attempts, so every limit would be multiplied by the instances; set "
                        "RATELIMIT_STORAGE_URI=redis://...")
    if not config.get("REDIS_URL"):
        problems.append("REDIS_URL is not set: the kept pages' content generation (instance/page-generation) "
                        "and the buffered view counts would stay in each instance, so an edit would not reach "
                        "the others' kept pages; set REDIS_URL=redis://...")
    if config.get("MEDIA_STORAGE", "local") != "s3":
        problems.append(f"MEDIA_STORAGE is {config.get('MEDIA_STORAGE', 'local')!r}: an uploaded image would be on "
                        "the disk of the instance that took it and missing on the others; set MEDIA_STORAGE=s3")
    return problems


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = True
    # Public on purpose, and only ever accepted here (production refuses it).
    SECRET_KEY = os.environ.get("SECRET_KEY") or "dev-only-not-secret"
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    # Demo contact details, so the footer and messages show what they will look like.
    CONTACT_PHONE = os.environ.get("CONTACT_PHONE", "400-800-1234")
    CONTACT_WECHAT = os.environ.get("CONTACT_WECHAT", "xicheng-kefu")
    CONTACT_EMAIL = os.environ.get("CONTACT_EMAIL", "kefu@example.com")
    # A demo account for 对公转账, so the choice shows what it will look like.
    BANK_TRANSFER_ACCOUNT_NAME = os.environ.get("BANK_TRANSFER_ACCOUNT_NAME", "玺承集团（演示账户）")
    BANK_TRANSFER_ACCOUNT_NO = os.environ.get("BANK_TRANSFER_ACCOUNT_NO", "6222 0000 0000 0000 000")
    BANK_TRANSFER_BANK = os.environ.get("BANK_TRANSFER_BANK", "演示银行杭州分行")


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret"
    SITE_URL = "http://localhost"  # the test client's address, so links in pages and emails open in tests
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        os.environ.get("TEST_DATABASE_URL", "sqlite:///" + str(INSTANCE_DIR / "test.db"))
    )
    # The limiter stays on so every test goes through it; limits are high except where a test
    # lowers one to check it.
    RATELIMIT_LOGIN = "1000 per minute"
    RATELIMIT_PASSWORD_RESET = "1000 per minute"
    RATELIMIT_SIGNUP = "1000 per minute"
    RATELIMIT_BOOKING = "1000 per minute"
    RATELIMIT_PROFILE = "1000 per minute"
    CMS_UPLOAD_FOLDER = str(INSTANCE_DIR / "test-uploads")
    # Counts are flushed when a test says so (tests/helpers.py: flushed_counts), in this process's
    # buffer unless a test opts into Redis.
    CMS_COUNT_FLUSH_SECONDS = 0
    REDIS_URL = ""
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "127.0.0.1"
    BANK_TRANSFER_ACCOUNT_NAME = "玺承集团（测试账户）"
    BANK_TRANSFER_ACCOUNT_NO = "6222 0000 1111 2222 333"
    BANK_TRANSFER_BANK = "测试银行杭州分行"


class ProductionConfig(Config):
    ENV_NAME = "production"
    DEBUG = False  # said outright: Flask would otherwise take it from FLASK_DEBUG
    # No defaults for these: a production start without them is refused (prepare() below).
    SQLALCHEMY_DATABASE_URI = normalise_database_url(os.environ.get("DATABASE_URL", ""))
    SITE_URL = os.environ.get("SITE_URL", "")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600)

    @classmethod
    def prepare(cls, config: MutableMapping) -> None:
        """Refuse to start with settings that would be unsafe in production, then derive the
        defaults that depend on others (TRUSTED_HOSTS from SITE_URL). `config` is the app's."""
        required = {"SECRET_KEY": "SECRET_KEY", "DATABASE_URL": "SQLALCHEMY_DATABASE_URI", "SITE_URL": "SITE_URL"}
        missing = [name for name, key in required.items() if not config.get(key)]
        if missing:
            raise RuntimeError("production settings need these environment variables: " + ", ".join(missing)
                               + ("; for SECRET_KEY, " + MAKE_SECRET_KEY_HINT if "SECRET_KEY" in missing else ""))
        problem = secret_key_problem(config["SECRET_KEY"])
        if problem:
            raise RuntimeError(f"{problem}: production needs a random key of at least {MIN_SECRET_KEY_LENGTH} "
                               f"characters; {MAKE_SECRET_KEY_HINT}")
        site = urlsplit(config["SITE_URL"])
        if site.scheme not in ("http", "https") or not site.hostname or site.query or site.fragment:
            raise RuntimeError(f"SITE_URL must be the public address, such as https://www.example.com "
                               f"(got {config['SITE_URL']!r})")
        if config.get("TRUSTED_HOSTS") is None:
            config["TRUSTED_HOSTS"] = [site.hostname]
        problem = media_storage_problem(config)
        if problem:
            raise RuntimeError(problem)
        instances = int(config["APP_INSTANCES"])
        if instances < 1:
            raise RuntimeError(f"APP_INSTANCES must be at least 1 (got {instances})")
        if instances > 1 and (problems := shared_state_problems(config)):
            raise RuntimeError(f"APP_INSTANCES={instances}, but these would stay in one instance:\n- "
                               + "\n- ".join(problems) + "\n(or set APP_INSTANCES=1 for a single instance)")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

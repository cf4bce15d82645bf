"""``pixelmill doctor`` with dispatch = celery: the broker answers, and what several hosts must share is named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from pixelmill.cli.main import app
from pixelmill.config import Settings
from tests.integration.cli.test_doctor import _fake_programs
from tests.support.services import RABBITMQ_URL, REDIS_URL, require_service

REDIS_DB = urlsplit(REDIS_URL)._replace(path="/3").geturl()
BUCKET = "pixelmill-doctor"


@pytest.fixture
def fleet_env(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The test's database, dispatch = celery, the media programs present, nothing else configured."""
    monkeypatch.setenv("PIXELMILL_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PIXELMILL_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PIXELMILL_DISPATCH", "celery")
    for name in ("REDIS_URL", "STORAGE_URL", "BROKER_URL", "SECRET_KEY", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(f"PIXELMILL_{name}", raising=False)
    monkeypatch.setenv("PATH", _fake_programs(tmp_path / "bin", "ffmpeg", "espeak-ng"))
    return monkeypatch


@pytest.fixture(scope="module")
def s3_bucket() -> Iterator[str]:
    """An S3 protocol server on a loopback port with one bucket; yields its endpoint."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
    ).create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


def _doctor() -> tuple[int, str]:
    result = CliRunner().invoke(app, ["doctor"])
    return result.exit_code, result.output


@pytest.mark.redis
@pytest.mark.rabbitmq
@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_a_fleet_on_shared_parts_with_a_reachable_broker_passes(
    fleet_env: pytest.MonkeyPatch, s3_bucket: str, database_url: str, broker: str
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    require_service("RabbitMQ", "127.0.0.1", 5672)
    fleet_env.setenv("PIXELMILL_BROKER_URL", REDIS_DB if broker == "redis" else RABBITMQ_URL)
    fleet_env.setenv("PIXELMILL_REDIS_URL", REDIS_DB)
    fleet_env.setenv("PIXELMILL_SECRET_KEY", "a-fleet-wide-secret-that-is-long-enough")
    fleet_env.setenv("PIXELMILL_STORAGE_URL", f"s3://{BUCKET}/blobs")
    fleet_env.setenv("PIXELMILL_S3_ENDPOINT_URL", s3_bucket)
    fleet_env.setenv("PIXELMILL_S3_REGION", "us-east-1")
    fleet_env.setenv("PIXELMILL_S3_ACCESS_KEY_ID", "k")
    fleet_env.setenv("PIXELMILL_S3_SECRET_ACCESS_KEY", "s")
    code, output = _doctor()
    assert code == 0, output
    shown = "redis://127.0.0.1:6379/3" if broker == "redis" else "amqp://127.0.0.1:5672/"
    assert f"ok       broker: {shown}" in output
    assert f"ok       blob storage: s3://{BUCKET}/blobs" in output
    assert "MISSING" not in output
    if database_url.startswith("sqlite"):  # the one part still on this host
        assert "warn     fleet database: SQLite is a file on this host" in output
        assert output.rstrip().endswith("everything is in place (1 warning(s))")
    else:
        assert output.rstrip().endswith("everything is in place")


def test_a_fleet_without_a_broker_url_is_a_problem(fleet_env: pytest.MonkeyPatch) -> None:
    fleet_env.setenv("PIXELMILL_REDIS_URL", "redis://127.0.0.1:1/3")
    code, output = _doctor()
    assert code == 1
    assert "MISSING  broker: dispatch = celery, but no broker is configured" in output
    assert "fix: set PIXELMILL_BROKER_URL" in output


@pytest.mark.parametrize("broker_url", ["amqp://guest:hunter2@127.0.0.1:1//", "redis://:hunter2@127.0.0.1:1/3"])
def test_an_unreachable_broker_is_a_problem_without_showing_its_password(
    fleet_env: pytest.MonkeyPatch, broker_url: str
) -> None:
    fleet_env.setenv("PIXELMILL_BROKER_URL", broker_url)
    code, output = _doctor()
    assert code == 1
    assert f"MISSING  broker: {broker_url.split(':')[0]}://127.0.0.1:1/" in output
    assert "is unreachable (OperationalError)" in output
    assert "hunter2" not in output


@pytest.mark.redis
def test_one_host_parts_are_warned_and_a_redis_broker_still_elects_the_sweeper(
    fleet_env: pytest.MonkeyPatch, database_url: str
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    fleet_env.setenv("PIXELMILL_BROKER_URL", REDIS_DB)
    code, output = _doctor()
    assert code == 0, output
    assert "warn     fleet storage: file://" in output
    assert "warn     fleet secret: no PIXELMILL_SECRET_KEY" in output
    assert "warn     fleet redis: no PIXELMILL_REDIS_URL: live events do not cross processes" in output
    assert "the sweeper elects itself on the broker" in output
    assert ("warn     fleet database" in output) == database_url.startswith("sqlite")


@pytest.mark.rabbitmq
def test_no_redis_at_all_is_a_problem_as_nothing_can_run_the_sweeper(fleet_env: pytest.MonkeyPatch) -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    fleet_env.setenv("PIXELMILL_BROKER_URL", RABBITMQ_URL)
    code, output = _doctor()
    assert code == 1
    assert "ok       broker: amqp://127.0.0.1:5672/" in output
    assert "MISSING  fleet redis:" in output
    assert "no worker can win the sweeper election" in output


def test_embedded_dispatch_has_no_fleet_checks(fleet_env: pytest.MonkeyPatch) -> None:
    fleet_env.setenv("PIXELMILL_DISPATCH", "local")
    code, output = _doctor()
    assert code == 0, output
    assert "broker" not in output
    assert "fleet" not in output

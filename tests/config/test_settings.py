"""Settings refuse to run in production without a secret key or an audit chain key, and pass
Django's deploy checks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY", "AUDIT_CHAIN_KEY"}
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_production_without_secret_key_refuses_to_start():
    result = _manage("check", DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_without_audit_chain_key_refuses_to_start():
    result = _manage("check", DEBUG="0", SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-0123456789")

    assert result.returncode != 0
    assert "AUDIT_CHAIN_KEY must be set" in result.stderr


def test_deploy_check_with_production_variables_reports_nothing_serious():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x" * 20 + "a-long-random-production-secret-key-0123456789",
        AUDIT_CHAIN_KEY="a-long-random-audit-chain-key-kept-outside-the-database",
        ALLOWED_HOSTS="parts.example.com",
        PUBLIC_BASE_URL="https://parts.example.com",
    )

    assert result.returncode == 0, result.stderr

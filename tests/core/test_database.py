"""Database URLs carry a password: it is masked wherever a URL or a driver's message is shown."""

from __future__ import annotations

import pytest

from core.backends import Storage, storage_for
from core.database import mask_url, scrub
from core.settings import Settings


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:secret@db.example:5432/tg", "postgresql://u:***@db.example:5432/tg"),
        ("postgresql://u@127.0.0.1/tg", "postgresql://u@127.0.0.1/tg"),
        ("postgresql://u:p%40ss@h/tg?sslmode=require", "postgresql://u:***@h/tg?sslmode=require"),
        (
            "postgresql:///tg?host=/run/pg&password=secret",
            "postgresql:///tg?host=/run/pg&password=***",
        ),
        ("host=db user=u password=secret dbname=tg", "host=db user=u password=*** dbname=tg"),
    ],
)
def test_a_url_is_shown_with_its_password_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_a_drivers_message_loses_the_password_and_its_line_breaks() -> None:
    message = 'FATAL:  password "hunter2" rejected\nfor user "u"'

    assert (
        scrub(message, "postgresql://u:hunter2@h/tg")
        == 'FATAL: password "***" rejected for user "u"'
    )


def test_without_a_url_the_stores_are_sqlite_files_in_the_data_directory(tmp_path) -> None:
    storage = storage_for(Settings(), tmp_path)

    assert storage == Storage(tmp_path)
    assert storage.where == str(tmp_path / "ledger.sqlite")


def test_a_blank_url_means_sqlite_too(tmp_path) -> None:
    assert storage_for(Settings(database_url="  "), tmp_path).url is None


def test_the_settings_never_print_the_url(tmp_path) -> None:
    settings = Settings(database_url="postgresql://u:pg-pass-7f3k@h/tg")

    assert "pg-pass-7f3k" not in repr(settings)
    assert "pg-pass-7f3k" not in settings.model_dump_json()

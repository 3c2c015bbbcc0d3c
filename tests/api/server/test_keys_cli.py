"""`tradegraph keys create|list|revoke` as a person uses them: real processes, exit codes."""

from __future__ import annotations

from pathlib import Path

from core.api_keys import open_api_keys
from core.backends import Storage
from tests.cli import assert_one_line_error, tradegraph


def env_for(root: Path) -> dict[str, str]:
    return {"TRADEGRAPH_DATA_DIR": str(root)}


def test_create_prints_the_token_alone_on_stdout_and_says_it_is_shown_once(
    tmp_path: Path,
) -> None:
    done = tradegraph(
        "keys", "create", "--name", "alice", "--role", "trader", env=env_for(tmp_path)
    )

    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token.startswith("tg_") and "\n" not in token
    assert "shown this once and not stored" in done.stderr
    found = open_api_keys(Storage(tmp_path)).lookup(token)
    assert found is not None and (found.name, found.role) == ("alice", "trader")


def test_list_shows_names_roles_and_status_but_no_token(tmp_path: Path) -> None:
    token = tradegraph(
        "keys", "create", "--name", "alice", "--role", "viewer", env=env_for(tmp_path)
    ).stdout.strip()
    tradegraph("keys", "create", "--name", "bob", "--role", "admin", env=env_for(tmp_path))
    tradegraph("keys", "revoke", "bob", env=env_for(tmp_path))

    done = tradegraph("keys", "list", env=env_for(tmp_path))

    assert done.returncode == 0, done.stderr
    rows = [line.split()[:3] for line in done.stdout.splitlines()[1:]]
    assert [row[:2] for row in rows] == [["alice", "viewer"], ["bob", "admin"]]
    assert done.stdout.splitlines()[1].endswith("active")
    assert "revoked " in done.stdout.splitlines()[2]
    assert token not in done.stdout and token[3:] not in done.stdout


def test_list_without_keys_says_how_to_make_one(tmp_path: Path) -> None:
    done = tradegraph("keys", "list", env=env_for(tmp_path))

    assert done.returncode == 0
    assert "no keys: `tradegraph keys create --name NAME --role" in done.stdout


def test_revoke_refuses_the_key_from_then_on(tmp_path: Path) -> None:
    token = tradegraph(
        "keys", "create", "--name", "alice", "--role", "trader", env=env_for(tmp_path)
    ).stdout.strip()

    done = tradegraph("keys", "revoke", "alice", env=env_for(tmp_path))

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("key alice (trader) revoked at ")
    assert open_api_keys(Storage(tmp_path)).lookup(token) is None


def test_a_bad_role_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = tradegraph("keys", "create", "--name", "alice", "--role", "root", env=env_for(tmp_path))

    assert_one_line_error(done, "unknown role 'root': use viewer, trader or admin")
    assert done.stdout == ""


def test_revoking_an_unknown_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = tradegraph("keys", "revoke", "nobody", env=env_for(tmp_path))

    assert_one_line_error(done, "no key named 'nobody'")


def test_a_second_key_with_a_name_in_use_is_refused(tmp_path: Path) -> None:
    tradegraph("keys", "create", "--name", "alice", "--role", "trader", env=env_for(tmp_path))

    done = tradegraph(
        "keys", "create", "--name", "alice", "--role", "viewer", env=env_for(tmp_path)
    )

    assert_one_line_error(done, "a key named 'alice' exists already")

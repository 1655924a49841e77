"""Tables: secrets under a secret-like column of a CSV/TSV export or an SQL INSERT, found by the rules that
recognise `password = "..."` and reported at the value's own line."""

from __future__ import annotations

import pytest

from secretkeeper.config import Config
from secretkeeper.pipeline import build_detector
from secretkeeper.tabular import table_cells

# Synthetic values only.
PW1, PW2, KEY = "EQv7B&%iQ2", "Spr1ng#Lake42", "k3HzVdNIqqSolvUplM8lx4bQgnurourPye2n7F/vOC8="


@pytest.fixture(scope="module")
def detector():
    return build_detector(Config())


def found(detector, text: str, path: str) -> list[tuple[int, str, str]]:
    data = text.encode()
    return [(m.line, m.rule.id, data[m.start:m.end].decode()) for m in detector.scan(data, path)]


def test_csv_password_column(detector):
    text = ("id,username,email,password,role\n"
            "100,asilva0,aisha@example.org,,viewer\n"
            f"107,dgarcia1,daniel@example.org,{PW1},editor\n"
            f'108,"Garcia, D",d2@example.org,"{PW2}",admin\n'
            "109,root,root@example.org,changeme,admin\n"
            "110,svc,svc@example.org,${SVC_PASSWORD},admin\n")
    got = found(detector, text, "migration/users.csv")
    assert [(line, secret) for line, _rule, secret in got] == [(3, PW1), (4, PW2)]
    assert {rule for _l, rule, _s in got} == {"generic-password-assignment"}


@pytest.mark.parametrize("delim", [";", "\t", "|"])
def test_csv_delimiters(detector, delim):
    text = delim.join(["name", "api_key", "note"]) + "\n" + delim.join(["geo", KEY, "prod"]) + "\n"
    assert [s for _l, _r, s in found(detector, text, "keys.tsv" if delim == "\t" else "keys.csv")] == [KEY]


def test_csv_without_secret_columns_or_with_names_only(detector):
    assert found(detector, f"id,name,note\n1,a,{PW1}\n", "plain.csv") == []
    text = "id,password_changed_at,token_count\n1,2023-10-02T03:33:18,42\n"
    assert found(detector, text, "audit.csv") == []


def test_csv_inline_ignore(detector):
    text = f"id,password\n1,{PW1}  # secretkeeper:allow\n"
    assert found(detector, text, "users.csv") == []


def test_sql_insert_columns(detector):
    text = ("INSERT INTO integrations (id, name, base_url, client_id, client_secret, enabled, created_at)\n"
            "VALUES\n"
            f"  (1, 'erp', 'https://erp.example.org/api', 'erp-sync', '{KEY}', true, now()),\n"
            "  (2, 'geo', 'https://geo.example.org', 'geo', NULL, false, now());\n"
            "INSERT INTO users (`id`, `login`, `password`) VALUES (7, 'o''brien', 'Rw8n#Kq2xZp5'), "
            "(8, 'x', 'changeme');\n")
    got = found(detector, text, "db/seeds/002_integrations.sql")
    assert [(line, secret) for line, _r, secret in got] == [(3, KEY), (5, "Rw8n#Kq2xZp5")]
    cells = list(table_cells(text.encode(), "x.sql"))
    assert (b"client_secret", KEY.encode()) in [(n, v) for n, v, _o in cells]
    assert (b"login", b"o'brien") not in [(n, v) for n, v, _o in cells]  # not a secret-like column
    escaped = b"INSERT INTO t (id, password) VALUES (1, 'it''s\\'x');"
    assert [(n, v) for n, v, _o in table_cells(escaped, "x.sql")] == [(b"password", b"it's'x")]
    assert all(text.encode()[o:o + 1] not in (b"'", b" ") for _n, v, o in cells if v)


def test_sql_without_column_list_or_secret_columns(detector):
    assert found(detector, f"INSERT INTO users VALUES (1, 'a', '{PW1}');\n", "dump.sql") == []
    assert found(detector, f"INSERT INTO notes (id, body) VALUES (1, '{PW1}');\n", "dump.sql") == []


def test_sql_insert_without_columns_reads_its_create_table(detector):
    """mysqldump writes `INSERT INTO t VALUES (...)`: the columns come from t's CREATE TABLE (types with
    commas, constraints and quoting as dumps write them); `pass` counts as a whole word only."""
    text = ("CREATE TABLE `smtp_settings` (\n  `id` int NOT NULL,\n  `fee` decimal(10,2),\n  `user` varchar(255),\n"
            "  `pass` varchar(255),\n  `bypass` varchar(32),\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`user`,`pass`)\n);\n"
            f"INSERT INTO `smtp_settings` VALUES (1,3.50,'alerts','{PW1}','Zq8vLm2zPw9kXa');\n"
            f"INSERT INTO other VALUES (1,3.50,'alerts','{PW1}');\n")
    assert [(line, secret) for line, _r, secret in found(detector, text, "backup/dump.sql")] == [(10, PW1)]


def test_other_suffixes_are_not_tables(detector):
    assert found(detector, f"id,password\n1,{PW1}\n", "users.txt") == []


def test_history_and_file_scans_share_it(detector, make_tree, run_cli, tmp_path):
    import json

    root = make_tree({"export/users.csv": f"id,password\n1,{PW1}\n"})
    res = run_cli(["scan", str(root), "--no-history", "-f", "json"])
    assert res.code == 1
    doc = json.loads(res.stdout)
    assert [(f["location"]["path"], f["location"]["line"]) for f in doc["findings"]] == [("export/users.csv", 2)]
    assert PW1 not in res.stdout

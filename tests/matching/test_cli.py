"""``entrypoint matching run``, through ``workers.cli.main``: files in, proposals out, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.cli import main

MENTEES = [
    {
        "mentee_id": "s-1",
        "degree_level": "master",
        "institution_id": "uni-helsinki",
        "field": "data science",
        "interests": ["AI", "start-ups"],
        "languages": ["en", "fi"],
        "goals": ["a job in machine learning"],
        "preferred_sector": "private",
        "contact": {"name": "Amira Haddad", "email": "amira@example.org"},
    },
    {
        "mentee_id": "s-2",
        "degree_level": "phd",
        "institution_id": "uni-aalto",
        "field": "marine biology",
        "languages": ["sv"],
    },
    {
        "mentee_id": "s-3",
        "degree_level": "bachelor",
        "institution_id": "uni-aalto",
        "field": "law",
        "languages": ["ar"],
    },
]

MENTORS_CSV = """\
mentor_id,organisation_id,sector,expertise,interests,languages,capacity,conflicts,name,email
m-1,org-nokia,private,data science;machine learning,ai;startups,fi;en,2,,Aino Virtanen,aino@example.org
m-2,org-syke,public,marine biology;research,,sv;fi,1,uni-helsinki,Bo Lind,bo@example.org
"""


def write(path: Path, content: object) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {
        "mentees": write(tmp_path / "mentees.json", MENTEES),
        "mentors": write(tmp_path / "mentors.csv", MENTORS_CSV),
        "out": tmp_path / "out" / "round.json",
    }


def run(files: dict[str, Path], *extra: str) -> int:
    paths = ["--mentees", str(files["mentees"]), "--mentors", str(files["mentors"]), "--out", str(files["out"])]
    return main(["matching", "run", *paths, *extra])


def test_a_round_is_proposed_and_written(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(files, "--compare-greedy") == 0
    out = capsys.readouterr().out
    assert "matched 2 of 3 mentees (1 unmatched) with 2 mentors" in out
    assert "100% given one of their top-3 candidates" in out
    assert "greedy baseline: matched 2" in out
    assert f"written to {files['out']}" in out

    document = json.loads(files["out"].read_text())
    assert {p["mentee_id"]: p["mentor_id"] for p in document["proposals"]} == {"s-1": "m-1", "s-2": "m-2"}
    first = document["proposals"][0]
    assert set(first) == {"mentee_id", "mentor_id", "score", "reasons", "pinned"}
    assert "shared field: data science" in first["reasons"] and "both speak English and Finnish" in first["reasons"]
    assert document["unmatched"] == [
        {
            "mentee_id": "s-3",
            "reasons": ["no compatible mentor", "no shared language with any mentor (mentee speaks ar)"],
        }
    ]
    assert document["summary"]["matched"] == 2 and document["summary"]["unmatched"] == 1
    text = files["out"].read_text() + out
    for personal in ("Amira", "amira@example.org", "Aino", "aino@example.org", "Bo Lind"):
        assert personal not in text


def test_pins_and_exclusions(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pins = write(tmp_path / "pins.csv", "mentee_id,mentor_id\ns-2,m-1\n")  # no shared language: refused
    exclusions = write(tmp_path / "exclusions.json", [{"mentee_id": "s-1", "mentor_id": "m-1"}])
    assert run(files, "--pins", str(pins), "--exclusions", str(exclusions)) == 0
    out = capsys.readouterr().out
    assert "pins: 0 honoured, 1 refused" in out
    document = json.loads(files["out"].read_text())
    assert document["proposals"] == []
    reasons = {u["mentee_id"]: u["reasons"] for u in document["unmatched"]}
    assert reasons["s-2"] == [
        "pin refused: no shared language with mentor m-1 (mentee: Swedish; mentor: Finnish and English)"
    ]
    assert reasons["s-1"][1:] == [
        "excluded by a coordinator from 1 of 2 mentors",
        "conflict of interest with uni-helsinki declared by 1 of 2 mentors",
    ]


def test_bad_csv_rows_are_reported_with_their_lines(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files["mentors"] = write(
        tmp_path / "mentors.csv",
        MENTORS_CSV
        + "m-3,org-x,private,law,,fi,4,,,\n"
        + "\n"
        + 'm-4,org-x,"nowhere\nsector",law,,fi,1,,,\n'
        + "m-1,org-y,private,law,,fi,1,,,\n"
        + "m-5,org-y,private,law,,fi,1,,,,extra\n",
    )
    assert run(files) == 2
    err = capsys.readouterr().err
    assert f"{files['mentors']}: 4 bad rows:" in err
    assert "line 4: capacity: Input should be less than or equal to 3" in err
    assert "line 6: sector: Input should be 'private', 'public' or 'third'" in err
    assert "line 8: mentor_id m-1 already given on line 2" in err
    assert "line 9: 11 values for 10 columns" in err
    assert not files["out"].exists()


def test_bad_json_items_are_reported_with_their_lines(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [*MENTEES[:2], {"mentee_id": "s-9", "degree_level": "diploma", "institution_id": "u", "field": "x"}, 7]
    files["mentees"] = write(tmp_path / "mentees.json", bad)
    assert run(files) == 2
    err = capsys.readouterr().err
    text = files["mentees"].read_text().splitlines()
    line_of_s9 = next(i for i, line in enumerate(text, 1) if '"s-9"' in line) - 1  # the object opens a line above
    assert f"line {line_of_s9}: degree_level: Input should be 'bachelor', 'master' or 'phd'" in err
    assert f"line {len(text) - 1}: expected an object, found int" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"mentee_id": "s-1",}]', "not valid JSON: line 1 column 22: Expecting property name"),
        ('{"mentee_id": "s-1"}', "expected a JSON list of objects, found dict"),
    ],
)
def test_broken_json_files(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    files["mentees"] = write(tmp_path / "mentees.json", content)
    assert run(files) == 2
    assert message in capsys.readouterr().err


def test_pins_must_name_known_mentees_once(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pins = write(tmp_path / "pins.csv", "mentee_id,mentor_id\ns-1,m-1\ns-9,m-1\ns-1,m-2\n")
    assert run(files, "--pins", str(pins)) == 2
    err = capsys.readouterr().err
    assert "line 3: mentee s-9 is not among the mentees" in err
    assert "line 4: mentee_id s-1 already given on line 2" in err


def test_a_missing_file_is_an_error(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files["mentors"] = tmp_path / "nope.csv"
    assert run(files) == 2
    assert f"cannot read {tmp_path / 'nope.csv'}: No such file or directory" in capsys.readouterr().err


def test_help_describes_the_files(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["matching", "run", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "Preview a matching round offline" in out and "separated by ';'" in out and "--pins FILE" in out


def test_a_file_that_is_not_mentees_is_refused_not_matched_as_nobody(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files["mentees"] = write(tmp_path / "notes.txt", "a,b\n1,2\n")
    assert run(files) == 2
    err = capsys.readouterr().err
    assert "notes.txt: line 1: the header lacks the columns mentee_id, degree_level" in err
    assert "(found: a, b); is it the right file?" in err
    assert not files["out"].exists()

    files["mentees"] = write(tmp_path / "empty.csv", "mentee_id,degree_level,institution_id,field\n")
    assert run(files) == 2
    assert "no mentees in the file" in capsys.readouterr().err

    files["mentees"] = write(tmp_path / "mentees.json", MENTEES)
    files["mentors"] = write(tmp_path / "mentees-again.csv", "mentee_id,degree_level\ns-1,master\n")
    assert run(files) == 2
    assert "the header lacks the columns mentor_id, organisation_id, sector" in capsys.readouterr().err


def test_a_good_json_file_reads_as_item_by_item_validation_reads_it(tmp_path: Path) -> None:
    """The one-call validation of a good file (workers.commands.matching._all_good) gives the very models the
    item-by-item one does, with contact data in the file (dropped first) or without."""
    from domain.people import MenteeProfile
    from workers.commands.matching import MENTEE_IGNORED, MENTEE_LISTS, _load, read_records, validate

    without_contact = json.loads(json.dumps(MENTEES))
    for mentee in without_contact:
        mentee.pop("contact", None)
    escaped = '[{"mentee_id": "s-7", "degree_level": "phd", "institution_id": "u", "field": "law", "n\\u0061me": "X"}]'
    for name, content in [("with.json", MENTEES), ("without.json", without_contact), ("escaped.json", escaped)]:
        path = write(tmp_path / name, content)
        good, bad = validate(read_records(path, MENTEE_LISTS), MenteeProfile, MENTEE_IGNORED, "mentee_id")
        assert bad == []
        assert _load(path, MenteeProfile, MENTEE_LISTS, MENTEE_IGNORED, "mentee_id", "mentees") == [m for _, m in good]


def test_an_id_given_twice_in_a_json_file_is_reported_with_both_lines(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files["mentees"] = write(tmp_path / "mentees.json", [*MENTEES, MENTEES[1]])
    assert run(files) == 2
    text = files["mentees"].read_text().splitlines()
    first, again = [i - 1 for i, line in enumerate(text, 1) if '"s-2"' in line]  # each object opens a line above
    assert f"line {again}: mentee_id s-2 already given on line {first}" in capsys.readouterr().err

"""The repository speaks to the student and the TA: outside docs/, no file talks about how it was developed (working
periods, issue numbers, git revision hashes), and the top README stays short enough to read in five minutes."""
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = {".txt", ".md", ".py", ".json", ".csv", ".ini", ".cfg", ".toml", ".sh", ".yml", ".yaml", ""}

# built from parts so that this file does not flag itself
WORK_UNIT = re.compile(r"\b" + "ses" + r"sions?\b", re.I)
ISSUE_NUMBER = re.compile(r"\b" + "iss" + r"ues?\s*#?\s*\d+", re.I)
NAMED_REVISION = re.compile(r"\b(?:" + "revi" + "sion|com" + r"mit)\s+[0-9a-f]{7,40}\b", re.I)
HEX_WORD = re.compile(r"\b[0-9a-f]{7,40}\b")
PYTEST_SCOPE = 'scope="' + "ses" + 'sion"'     # pytest's own fixture scope is not development talk


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def face_files():
    listed = git("ls-files", "-z")
    if listed.returncode != 0:      # not a git checkout (an unpacked copy): every file under the root
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".git" not in p.parts]
    else:
        names = [n for n in listed.stdout.split("\0") if n]
    for name in names:
        path = ROOT / name
        if name.startswith("docs/") or path.suffix not in TEXT or not path.is_file():
            continue
        try:
            yield name, path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue


def commit_hashes():
    out = git("rev-list", "--all")
    return out.stdout.split() if out.returncode == 0 else []


def test_no_file_outside_docs_speaks_of_how_the_repository_was_made():
    commits = commit_hashes()
    found = []
    for name, text in face_files():
        for i, line in enumerate(text.splitlines(), 1):
            line = line.replace(PYTEST_SCOPE, "")
            hits = [m.group(0) for rx in (WORK_UNIT, ISSUE_NUMBER, NAMED_REVISION) for m in rx.finditer(line)]
            hits += [w for w in HEX_WORD.findall(line) if any(c.startswith(w) for c in commits)]
            found += [f"{name}:{i}: {h!r}" for h in hits]
    assert not found, "development talk outside docs/ (move it to docs/):\n" + "\n".join(found[:40])


def test_the_checks_catch_what_they_are_for():
    assert WORK_UNIT.search("as measured in " + "ses" + "sion 9")
    assert ISSUE_NUMBER.search("see " + "iss" + "ue 13")
    assert NAMED_REVISION.search("at " + "revi" + "sion " + "a788" + "ba1")
    commits = commit_hashes()
    if commits:     # an abbreviated hash of this repository's history is recognised wherever it stands
        assert any(c.startswith(HEX_WORD.findall(f"built at {commits[-1][:9]}.")[0]) for c in commits)


def test_readme_reads_in_five_minutes():
    lines = (ROOT / "README.txt").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 200, f"README.txt has {len(lines)} lines; the development record belongs in docs/"
    for hw in ("hw0", "hw1"):
        n = len((ROOT / hw / "README.txt").read_text(encoding="utf-8").splitlines())
        assert n < 150, f"{hw}/README.txt has {n} lines: it is what a TA reads inside the hand-in zip"

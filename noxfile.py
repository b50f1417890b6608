"""Development sessions: nox -s tests | lint | typing | docs | demo | bench | thorough."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typing"]
nox.options.default_venv_backend = "venv"


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def thorough(session: nox.Session) -> None:
    """The hypothesis tests with many more examples."""
    session.install("-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "tests/test_pysd_equivalence.py",
        *session.posargs,
        env={"HYPOTHESIS_PROFILE": "thorough"},
    )


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", "sd", "tests", "benchmarks", "noxfile.py")


@nox.session(python="3.11")
def typing(session: nox.Session) -> None:
    session.install("-e", ".", "mypy>=1.10")
    session.run("mypy")


@nox.session(python="3.11")
def demo(session: nox.Session) -> None:
    """The README's main job."""
    session.install("-e", ".[all]")
    session.run("sd", "sweep", "sweeps/productivity_deflation.toml", *session.posargs)
    session.run("sd", "report", "results/productivity_deflation.zarr", "--out", "results/report.html")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    session.install("-e", ".")
    session.run("python", "benchmarks/bench_engine.py", *session.posargs)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """The docs site (mkdocs.yml): warnings are errors (strict); the HTML goes to site/."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})

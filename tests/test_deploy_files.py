"""The deployment files read as an operator's tools read them (fast; running them is tests/containers/, in .ci/run's
container stage): the Dockerfile's rules, compose.yaml's and Kubernetes' grace periods against the app's own, the
probes, the Service's selector, nothing token-like."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ENGINES_DEFAULT_STOP_SECONDS = 10  # docker stop / podman stop without -t


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(
        r"\\\n", " ", "\n".join(line for line in dockerfile().splitlines() if not line.lstrip().startswith("#"))
    )
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in text.splitlines() if line.strip()]


def test_the_dockerfile_uses_only_the_official_slim_image_and_exec_forms() -> None:
    steps = instructions()
    froms = [args for name, args in steps if name == "FROM"]
    assert len(froms) == 2 and all(re.fullmatch(r"python:\$\{PYTHON_VERSION\}-slim( AS \w+)?", f) for f in froms)
    assert "<<" not in dockerfile()  # no RUN heredocs (buildah 1.28)
    assert not any(name == "COPY" and "--from=" in args and "--from=build" not in args for name, args in steps)
    cmd = json.loads(next(args for name, args in steps if name == "CMD"))
    assert cmd == ["channel-admin", "serve"]  # exec form: PID 1 is the app
    healthcheck = next(args for name, args in steps if name == "HEALTHCHECK")
    assert json.loads(healthcheck.split("CMD", 1)[1])[:2] == ["python", "-c"] and "/healthz" in healthcheck
    assert ("STOPSIGNAL", "SIGTERM") in steps
    assert ("VOLUME", '["/data"]') in steps
    user = next(args for name, args in steps if name == "USER")
    assert user not in ("root", "0", "0:0")
    env = " ".join(args for name, args in steps if name == "ENV")
    assert "DATABASE_URL=sqlite+aiosqlite:////data/" in env
    assert not re.search(r"xox[bpa]-|xapp-|SECRET=|TOKEN=", env)
    grace = float(re.search(r"SHUTDOWN_GRACE_SECONDS=(\d+(?:\.\d+)?)", env).group(1))  # type: ignore[union-attr]
    assert math.ceil(grace) + 1 < ENGINES_DEFAULT_STOP_SECONDS  # gunicorn's graceful timeout, inside the engine's


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_waits_longer_than_the_app_drains() -> None:
    services = compose()["services"]
    app = services["app"]
    grace = re.search(r":-(\d+)\}", app["environment"]["SHUTDOWN_GRACE_SECONDS"]).group(1)  # type: ignore[union-attr]
    assert int(app["stop_grace_period"].rstrip("s")) > int(grace) + 1
    assert app["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert services["migrate"]["command"] == ["channel-admin", "migrate"]
    assert services["db"]["image"].startswith("docker.io/library/postgres:")
    assert "postgresql+psycopg://" in app["environment"]["DATABASE_URL"]
    assert "APP_REPLICAS" in str(app["deploy"]["replicas"])  # a second replica is one setting away


def kubernetes() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
    ]


def test_kubernetes_manifests_hold_no_token_and_wait_longer_than_the_app_drains() -> None:
    for path in (ROOT / "deploy" / "kubernetes").iterdir():
        assert not re.search(r"xox[bpa]-|xapp-", path.read_text()), path
    docs = kubernetes()
    app = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "channel-admin")
    assert app["spec"]["replicas"] == 2
    pod = app["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert pod["terminationGracePeriodSeconds"] > math.ceil(float(env["SHUTDOWN_GRACE_SECONDS"]["value"])) + 1
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]["memory"] and container["resources"]["limits"]["memory"]
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "DATABASE_URL"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "channel-admin"
    assert [c["command"] for c in pod["initContainers"]] == [["channel-admin", "migrate"]]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 0


def test_every_service_selects_the_pods_of_a_deployment() -> None:
    docs = kubernetes()
    labels = [d["spec"]["template"]["metadata"]["labels"] for d in docs if d["kind"] == "Deployment"]
    for service in (d for d in docs if d["kind"] == "Service"):
        selector = service["spec"]["selector"]
        assert any(selector.items() <= pod_labels.items() for pod_labels in labels), service["metadata"]["name"]
        deployment = next(
            d
            for d in docs
            if d["kind"] == "Deployment" and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        )
        names = {
            p.get("name") for c in deployment["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])
        }
        assert all(p["targetPort"] in names for p in service["spec"]["ports"])

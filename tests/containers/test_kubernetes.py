"""deploy/kubernetes/ with `podman kube play`: PostgreSQL, the migration, two replicas sharing one job; one replica
killed mid-job, the other takes the job over and finishes it, one summary.

The manifests are read from the repository and adapted only where one machine with podman 4.3 differs from a
cluster, each change named below: the host's network (so no container ports, and each replica its own PORT); two
single-replica Deployments (kube play runs one pod per Deployment); the init container's migration played as a pod
of its own first (podman 4.3 removes a run-once init container while it still runs); the Secret created with
`podman secret create` (podman 4.3 reads the data of a played Secret back as JSON); a short job lease and poll so the
takeover happens within seconds; the fake Slack's URL."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from services.jobs.queue import DONE, JobStore
from services.storage.database import Database
from tests.helpers.containers import ROOT, podman, state, unique, wait_until_serving
from tests.helpers.fake_slack import FakeSlack
from tests.helpers.processes import free_port
from tests.helpers.slack_requests import SIGNING_SECRET, SlackSender

LEASE_SECONDS = 3


def manifests(name: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / name).read_text()))


def deployment(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == "Deployment")


def on_host_network(container: dict[str, Any], port: int | None) -> None:
    container.pop("ports", None)
    for probe in ("readinessProbe", "livenessProbe"):
        if "httpGet" in container.get(probe, {}):
            container[probe]["httpGet"]["port"] = port


async def test_two_replicas_share_one_job_and_one_survives_the_others_kill(
    image: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    pg_port, ports = free_port(), [free_port(), free_port()]
    password = unique("pw")
    database_url = f"postgresql+psycopg://channel_admin:{password}@127.0.0.1:{pg_port}/channel_admin"
    secret = {
        "POSTGRES_PASSWORD": password,
        "DATABASE_URL": database_url,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
    }
    secret_file = tmp_path / "secret.json"
    secret_file.write_text(json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in secret.items()}))

    postgres = manifests("postgres.yaml")
    container = deployment(postgres)["spec"]["template"]["spec"]["containers"][0]
    on_host_network(container, None)
    container["args"] = ["postgres", "-p", str(pg_port)]
    container["readinessProbe"]["exec"]["command"] += ["-p", str(pg_port)]

    app = deployment(manifests("app.yaml"))
    pod_spec = app["spec"]["template"]["spec"]
    assert app["spec"]["replicas"] == 2
    (init,) = pod_spec.pop("initContainers")
    init["image"] = image
    migrate_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "channel-admin-migrate"},
        "spec": {"restartPolicy": "Never", "securityContext": pod_spec["securityContext"], "containers": [init]},
    }
    replicas = []
    for index, port in enumerate(ports):
        replica = copy.deepcopy(app)
        replica["metadata"]["name"] = f"channel-admin-{index}"
        replica["spec"]["replicas"] = 1
        spec = replica["spec"]["template"]["spec"]
        (serving,) = spec["containers"]
        serving["image"] = image
        on_host_network(serving, port)
        serving["env"] = [e for e in serving["env"] if e["name"] != "PORT"] + [
            {"name": "PORT", "value": str(port)},
            {"name": "SLACK_API_URL", "value": fake_slack.api_url},
            {"name": "JOB_LEASE_SECONDS", "value": str(LEASE_SECONDS)},
            {"name": "JOB_POLL_SECONDS", "value": "0.2"},
        ]
        for volume in spec["volumes"]:  # an emptyDir is a named volume in podman: one per replica, as on a cluster
            volume["name"] = f"{volume['name']}-{index}"
        for mount in serving["volumeMounts"]:
            mount["name"] = f"{mount['name']}-{index}"
        replicas.append(replica)

    files = {
        "postgres": tmp_path / "postgres.yaml",
        "migrate": tmp_path / "migrate.yaml",
        "replicas": tmp_path / "replicas.yaml",
    }
    files["postgres"].write_text(yaml.safe_dump_all(postgres))
    files["migrate"].write_text(yaml.safe_dump(migrate_pod))
    files["replicas"].write_text(yaml.safe_dump_all(replicas))
    database = Database(database_url)
    await podman("secret", "rm", "channel-admin", check=False)
    await podman("secret", "create", "channel-admin", str(secret_file))
    try:
        await podman("kube", "play", "--network", "host", str(files["postgres"]))
        deadline = time.monotonic() + 60
        ready = ["pg_isready", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "channel_admin"]
        while "accepting connections" not in await podman(
            "exec", "channel-admin-postgres-pod-0-postgres", *ready, check=False
        ):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.3)
        await podman("kube", "play", "--network", "host", str(files["migrate"]))
        deadline = time.monotonic() + 60
        while (migrated := await state("channel-admin-migrate-migrate"))[0] != "exited":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.3)
        assert migrated == ("exited", 0), await podman("logs", "channel-admin-migrate-migrate", check=False)

        await podman("kube", "play", "--network", "host", str(files["replicas"]))
        pods = [f"channel-admin-{index}-pod-0" for index in range(2)]
        for pod, port in zip(pods, ports, strict=True):
            await wait_until_serving(f"http://127.0.0.1:{port}/readyz", f"{pod}-app")

        fake_slack.rate_limit("conversations.leave", 10, 1.0)
        counts = fake_slack.acted_on("conversations.leave")
        channels = [fake_slack.add_channel(f"kube{i}") for i in range(30)]
        async with aiohttp.ClientSession() as session:
            sender = SlackSender(f"http://127.0.0.1:{ports[0]}", fake_slack, session)
            text = " ".join(f"<#{c}>" for c in channels)
            reply, body = await sender.command("/leave-channel", text, channel_id=channels[0])
        assert reply.status == 200 and "Leaving 30 channels" in reply.text
        await fake_slack.wait_for(lambda: sum(counts.values()) >= 5, timeout=30, what="some channels left")

        store = JobStore(database, owner="test")
        (job,) = await store.all()
        assert job.lease_owner is not None
        holder = next(index for index, pod in enumerate(pods) if job.lease_owner.startswith(pod))
        survivor = 1 - holder
        await podman("pod", "kill", pods[holder])  # SIGKILL: no drain, the lease is left to run out
        killed_at = time.monotonic()
        done_at_kill = sum(counts.values())

        summary = await fake_slack.next_post(body["response_url"], timeout=60)
        took = time.monotonic() - killed_at
        job = next(j for j in await store.all() if j.id == job.id)
        assert job.status == DONE and job.interrupted and job.attempts == 2
        assert job.lease_owner is None or job.lease_owner.startswith(pods[survivor])
        assert summary["text"].startswith("Left 30 channels") and "interrupted" in summary["text"]
        assert set(counts) == set(channels) and not any(fake_slack.is_member(c) for c in channels)
        assert len(fake_slack.posts_to(body["response_url"])) == 1  # one summary
        assert (await state(f"{pods[survivor]}-app"))[0] == "running"
        print(
            f"\n[measured] kube play: replica {holder} held the job and was killed after {done_at_kill} of 30 "
            f"channels; replica {survivor} took it over and sent the one summary {took:.1f} s later "
            f"(lease {LEASE_SECONDS} s); attempts {job.attempts}, channels acted on twice: "
            f"{sum(1 for n in counts.values() if n > 1)}"
        )
    finally:
        await database.close()
        for file in ("replicas", "migrate", "postgres"):
            await podman("kube", "down", str(files[file]), check=False)
        await podman("volume", "rm", "-f", "channel-admin-postgres", "tmp-0", "tmp-1", check=False)
        await podman("secret", "rm", "channel-admin", check=False)

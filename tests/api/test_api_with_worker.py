"""`fraisier serve` with its worker: a deployment asked for through the API runs, and a
running one is cancelled through the API (its command stopped, its steps undone)."""

from __future__ import annotations

from fraisier.cli.remote import RemoteApi
from fraisier.config import load_config
from fraisier.demo.workspace import free_port
from fraisier.engine.service import open_state
from tests.api.conftest import start_server, stop, wait_until_up
from tests.engine.sample import make_sample
from tests.support.waiting import wait_for

LOGS = """subscription($id: ID!) { deploymentLogs(id: $id) { kind stepName stepStatus
    status } }"""



def test_deploy_and_cancel_through_the_api_with_the_servers_worker(tmp_path):
    workspace = make_sample(tmp_path)
    config = load_config(workspace.config_path)
    store = open_state(config)
    token = __import__("fraisier.store.tokens", fromlist=["Tokens"]).Tokens(store.db).create(
        "ops", "deploy")
    port = free_port()
    process = start_server(workspace.config_path, port, worker=True)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        wait_until_up(process, url)
        api = RemoteApi(url, token)
        deploy = 'mutation { deploy(fraiseId: "hello", environment: "production") { id } }'
        first = api.execute(deploy)["deploy"]["id"]
        events = [d["deploymentLogs"] for d in api.subscribe(LOGS, {"id": first})]
        assert events[-1]["status"] == "SUCCEEDED"
        assert ("activate", "SUCCEEDED") in [(e["stepName"], e["stepStatus"]) for e in events]

        workspace.commit("slow", {"SLOW_BUILD": "1"})
        second = api.execute(deploy)["deploy"]["id"]
        pid_file = workspace.app_path / "build.pid"
        wait_for(pid_file.exists)  # the build command is running
        asked = api.execute("mutation($id: ID!) { cancelDeployment(id: $id) { status"
                            " cancelRequested } }", {"id": second})["cancelDeployment"]
        assert asked == {"status": "RUNNING", "cancelRequested": True}
        ended = [d["deploymentLogs"] for d in api.subscribe(LOGS, {"id": second})]
        assert ended[-1]["status"] in ("CANCELLED", "ROLLED_BACK")
        live = api.execute('{ fraise(id: "hello") { environments { currentRelease } } }')
        assert live["fraise"]["environments"][0]["currentRelease"] == store.queue.get(
            first).release  # the first release still serves
    finally:
        stop(process)
        workspace.stop_app()
        store.close()

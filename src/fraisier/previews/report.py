"""A preview reported back to its pull request: a commit status (`fraisier/preview`) and ONE
comment with the preview's address, edited in place on every deployment and on removal. The
comment's id is kept in tb_preview; its first line is a hidden marker naming the fraise, so
a person (or a script) can tell Fraisier's comment apart.

Reporting never fails a deployment: an API error is written to the deployment's log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fraisier.engine.saga import SkipStep
from fraisier.providers.api import ApiError, ProviderApi, State, client_for

if TYPE_CHECKING:
    from fraisier.engine.context import DeploymentRun
    from fraisier.store.previews import PreviewRecord

STATUS_CONTEXT = "fraisier/preview"
API_TIMEOUT = 10.0


def marker(fraise: str) -> str:
    return f"<!-- fraisier-preview:{fraise} -->"


class Reporter:
    def __init__(self, run: DeploymentRun) -> None:
        self.run = run

    # -- the steps --------------------------------------------------------------------
    def pending(self) -> dict[str, Any]:
        record, client = self._client()
        return self._status(record, client, "pending", "Deploying the preview")

    def failed(self) -> None:
        try:
            record, client = self._client()
        except SkipStep:
            return
        self._status(record, client, "failure", "The preview's deployment failed")
        self._comment(record, client, f"The preview of {self._sha(record)} could not be "
                      f"deployed (deployment {self.run.deployment_id}); the previous one, if "
                      "any, stays up.")

    def deployed(self) -> dict[str, Any]:
        record, client = self._client()
        preview = self.run.target.preview
        assert preview is not None
        data = self._status(record, client, "success", "Preview deployed", preview.url or None)
        if preview.comment:
            where = f"[{preview.url}]({preview.url})" if preview.url else f"port {preview.port}"
            data.update(self._comment(record, client, f"Preview of {self._sha(record)} is up: "
                                      f"{where}"))
        return data

    def removed(self, reason: str) -> None:
        try:
            record, client = self._client()
        except SkipStep:
            return
        self._comment(record, client, f"The preview was removed: {reason}.")

    # -- helpers ----------------------------------------------------------------------
    def _sha(self, record: PreviewRecord) -> str:
        return f"`{(self.run.commit_sha or record.head_sha)[:12]}`"

    def _client(self) -> tuple[PreviewRecord, ProviderApi]:
        preview = self.run.target.preview
        assert preview is not None
        record = self.run.store.previews.get(self.run.target.fraise, preview.number)
        if record is None or not record.provider:
            raise SkipStep("the preview was not opened by a pull request")
        section = "gitea" if record.provider == "forgejo" else record.provider
        settings = self.run.target.secrets.provider(record.provider)
        if settings.api_token is None:
            settings = self.run.target.secrets.provider(section)
        if settings.api_token is None:
            raise SkipStep(f"git.{record.provider}.api_token is not set: nothing reported")
        try:
            client = client_for(record.provider, token=settings.api_token.get_secret_value(),
                                repository=settings.repository or record.repository,
                                api_url=settings.api_url, timeout=API_TIMEOUT)
        except ApiError as exc:
            raise SkipStep(str(exc)) from exc
        return record, client

    def _status(self, record: PreviewRecord, client: ProviderApi, state: State,
                description: str, url: str | None = None) -> dict[str, Any]:
        sha = self.run.commit_sha or record.head_sha
        if len(sha) not in (40, 64):
            return {"status": "skipped: no full commit id"}
        try:
            client.commit_status(sha, state, context=STATUS_CONTEXT, description=description,
                                 target_url=url)
        except ApiError as exc:
            self.run.log(f"commit status not set: {exc}")
            return {"status_error": str(exc)}
        return {"status": state}

    def _comment(self, record: PreviewRecord, client: ProviderApi, text: str
                 ) -> dict[str, Any]:
        body = f"{marker(record.fraise)}\n**Fraisier preview** `{record.environment}`\n\n{text}"
        try:
            if record.comment_id:
                try:
                    answer = client.edit_pull_request_comment(record.number, record.comment_id,
                                                              body)
                    version = answer.field("version")
                    if version is not None and ":" in record.comment_id:  # Bitbucket Server
                        self._keep(record, f"{record.comment_id.split(':')[0]}:{version}")
                    return {"comment": record.comment_id}
                except ApiError as exc:
                    if exc.status != 404:
                        raise
                    self.run.log("the preview's comment was deleted: writing a new one")
            comment_id = client.comment_pull_request(record.number, body)
            self._keep(record, comment_id)
            return {"comment": comment_id}
        except ApiError as exc:
            self.run.log(f"pull-request comment not written: {exc}")
            return {"comment_error": str(exc)}

    def _keep(self, record: PreviewRecord, comment_id: str) -> None:
        with self.run.store.db.transaction():
            self.run.store.previews.set_comment(record.fraise, record.number, comment_id)

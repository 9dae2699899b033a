"""Uploads: add and remove corpus documents while the server runs (`verbatim serve --allow-uploads`).

A file is checked whole before anything is stored (app/web/upload_check.py: its format told by its content,
its size, its text readable by ingest), and a file whose bytes are already in the corpus is named, not added
twice. Then it is written atomically to the corpus folder under a safe name, and the index is rebuilt
incrementally (only new text is embedded) in a child process (app/index/build_process.py): the serving
process only answers. The build lands as every build does (a new folder, then the `index_dir` link flips),
so the serving `LiveAssistant` swaps it in. Builds are serialised: uploads that arrive during a build are
taken together by the next one.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from app.errors import DocumentRefused, VerbatimError
from app.files import write_atomic
from app.index.build_process import STOP_SECONDS, BuildJob, ChildBuild, build_request, run_build
from app.index.ingest import corpus_files, sha256_bytes
from app.index.manifest import Manifest
from app.settings import MAX_CORPUS_FILE_BYTES, SUPPORTED_SUFFIXES, BuildSettings
from app.web.http import error_response
from app.web.statuses import read_statuses, statuses_path, write_statuses
from app.web.upload_check import UploadRefused, check_upload

log = logging.getLogger(__name__)

STORED_MODE = 0o644  # an uploaded file, as the bundled documents are
BUILD_ATTEMPTS = 5  # builds in a row, each without a document the one before refused


class Shelf:
    """The corpus folder, changed by uploads and removals, and one background thread that has the index rebuilt
    after each change (several in a row make one build) in a child process running `job` (default `run_build`).

    `status()` maps each document added or removed to "indexing", "ready", "removed" or "failed: <reason>"
    (app/web/statuses.py), kept beside the index so that a restart reports them. A restart with an upload
    still "indexing", or a corpus that differs from the index, builds at once in the background. A build
    that refuses one document is built again without it: a document that vanished (a removal raced the
    build) is left out, an upload being indexed is taken out of the corpus and marked failed. Any other failure
    (its build process killed, say) keeps the previous index serving and fails its uploads until the next change."""

    def __init__(self, corpus_dir: Path, index_dir: Path, model: str, settings: BuildSettings | None = None,
                 max_bytes: int = MAX_CORPUS_FILE_BYTES, job: BuildJob = run_build,
                 manifest: Manifest | None = None) -> None:  # manifest: the served index's, if read already
        self.corpus_dir, self.index_dir = Path(corpus_dir), Path(index_dir)
        self.model, self.settings, self.max_bytes, self.job = model, settings, max_bytes, job
        self._child: ChildBuild | None = None  # the build process running now
        self._lock = threading.Lock()  # one change of the corpus folder at a time
        self._wake = threading.Condition()
        self._status: dict[str, str] = read_statuses(statuses_path(self.index_dir))
        # corpus changes made; the builder compares it with the last one it built
        self._changes = int("indexing" in self._status.values() or self._corpus_changed(manifest))
        self._closed, self._built = False, 0
        self._thread = threading.Thread(target=self._run, name="verbatim-uploads", daemon=True)
        self._thread.start()

    def add(self, name: str, data: bytes) -> dict:
        """Check and store one upload, then queue a build: {"doc", "status": "indexing"}."""
        safe = check_upload(name, data, self.max_bytes)
        digest = sha256_bytes(data)
        with self._lock:
            for path in corpus_files(self.corpus_dir) if self.corpus_dir.is_dir() else []:
                rel = path.relative_to(self.corpus_dir).as_posix()
                if sha256_bytes(path.read_bytes()) == digest:
                    raise UploadRefused(f"{name}: the same file is already in the corpus as {rel}", 409)
                if rel.casefold() == safe.casefold():  # one document on a case-insensitive file system too
                    raise UploadRefused(f"{name}: another document is already named {rel}; "
                                        "rename the file or remove that document first", 409)
            write_atomic(self.corpus_dir / safe, data)
            (self.corpus_dir / safe).chmod(STORED_MODE)
            self._changed(safe, "indexing")
        return {"doc": safe, "status": "indexing"}

    def remove(self, name: str) -> dict:
        """Take a document out of the corpus folder and queue a build: {"doc", "status": "removed"}."""
        with self._lock:
            files = {p.relative_to(self.corpus_dir).as_posix(): p for p in corpus_files(self.corpus_dir)}
            if name not in files:
                raise UploadRefused(f"no document named {name!r}; choose from {', '.join(sorted(files))}", 404)
            if len(files) == 1:
                raise UploadRefused(f"{name} is the only document; add another before removing it", 409)
            files[name].unlink()
            self._changed(name, "removed")
        return {"doc": name, "status": "removed"}

    def status(self) -> dict[str, str]:
        with self._wake:
            return dict(self._status)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every change so far is built (or failed); False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: self._built >= self._changes, timeout)

    def close(self) -> None:
        """Stop building (the server stops): a running build process is ended, its uploads left "indexing"."""
        with self._wake:
            self._closed, child = True, self._child
            self._wake.notify_all()
        if child is not None:
            child.stop()
        self._thread.join(STOP_SECONDS)

    def _corpus_changed(self, manifest: Manifest | None = None) -> bool:
        from app.index.store import read_manifest
        from app.index.verify import corpus_changes

        try:
            return bool(corpus_changes(manifest or read_manifest(self.index_dir), self.corpus_dir))
        except VerbatimError:  # no index yet, or a damaged one: the next change builds it
            return False

    def _changed(self, name: str, state: str) -> None:
        with self._wake:
            self._changes += 1
            self._status[name] = state
            self._save()
            self._wake.notify_all()

    def _save(self) -> None:
        """Keep the statuses beside the index (the caller holds `_wake`); a failed write is logged, not raised."""
        try:
            write_statuses(statuses_path(self.index_dir), self._status)
        except OSError as exc:
            log.warning("uploads: cannot keep the statuses (%s)", exc)

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._closed or self._changes > self._built)
                if self._closed:
                    return
                # uploads being indexed, and uploads still in the corpus after a failed build (a refused one is not)
                target, pending = self._changes, {n: s for n, s in self._status.items() if s == "indexing" or (
                    s.startswith("failed") and (self.corpus_dir / n).exists())}
            outcome = self._build()
            with self._wake:
                if self._closed:  # ended by close(): the statuses stay as they were, for the next start
                    return
                for name, before in pending.items():
                    if self._status.get(name) == before and (outcome != "ready"
                                                             or (self.corpus_dir / name).exists()):
                        self._status[name] = outcome
                self._built = max(self._built, target)
                self._save()
                self._wake.notify_all()

    def _build(self) -> str:
        """Build until a build lands ("ready") or fails for more than one document ("failed: <reason>")."""
        for _ in range(BUILD_ATTEMPTS):
            try:
                report = self._build_once()
                log.info("uploads: %s (build process %d)", report["summary"], report["pid"])
                return "ready"
            except DocumentRefused as exc:
                if not self._drop(exc):
                    log.warning("uploads: the rebuild failed: %s", exc)
                    return f"failed: {exc}"
            except Exception as exc:  # the thread must outlive a failed build; the reason goes to the status
                if not self._closed:  # else close() ended it: no failure to report
                    log.warning("uploads: the rebuild failed: %s", exc)
                return f"failed: {exc}"
        return f"failed: {BUILD_ATTEMPTS} builds in a row each refused a document; see the log"

    def _build_once(self) -> dict:
        """One build in a child process (app/index/build_process.py): its report, or what it raised."""
        child = ChildBuild(build_request(self.index_dir, self.corpus_dir, self.model, self.settings), self.job)
        with self._wake:
            self._child, closed = child, self._closed
        if closed:  # close() came while the process started, and did not see it
            child.stop()
        return child.result()

    def _drop(self, exc: DocumentRefused) -> bool:
        """After a build refused `exc.doc`: whether to build again without it (see the class docstring)."""
        path = self.corpus_dir / exc.doc
        with self._lock, self._wake:
            if not path.exists():
                log.info("uploads: %s vanished during a build; building again without it", exc.doc)
                return True
            if not self._status.get(exc.doc, "").startswith(("indexing", "failed")):  # not an upload being built
                return False
            path.unlink()
            self._status[exc.doc] = f"failed: {exc}"
            self._save()
        log.warning("uploads: %s was refused and taken out of the corpus: %s", exc.doc, exc)
        return True


# ---------------------------------------------------------------- the page's panel (app/static/uploads.js)

UPLOAD_MODES = ("open", "token")  # build_app(uploads=...): uploads on, without or with a token to ask for


def upload_panel(mode: str) -> str:
    """The HTML of the "Add or remove documents" panel; static/uploads.js does the rest."""
    if mode not in UPLOAD_MODES:
        raise ValueError(f"uploads mode {mode!r} is not one of {', '.join(UPLOAD_MODES)}")
    accept = ",".join(SUPPORTED_SUFFIXES)
    token = ('<label for="vb-upload-token">Upload token</label>'
             '<input type="password" id="vb-upload-token" autocomplete="off">') if mode == "token" else ""
    return (f'<form id="vb-upload-form" class="vb-upload">'
            f'<label for="vb-upload-file">Add a document: PDF, HTML, Markdown or text, at most '
            f'{MAX_CORPUS_FILE_BYTES // 2**20} MiB</label>'
            f'<input type="file" id="vb-upload-file" accept="{accept}">{token}'
            '<button type="submit" id="vb-upload-add">Add</button>'
            '<progress id="vb-upload-progress" hidden>indexing</progress>'
            '<p id="vb-upload-status" role="status" aria-live="polite"></p>'
            '<label for="vb-remove-doc">Remove a document</label><select id="vb-remove-doc"></select>'
            '<button type="button" id="vb-remove">Remove</button></form>')


# ---------------------------------------------------------------- the REST routes (declared by app/web/api.py)

UPLOAD_FIELD = "file"
TOKEN_HEADER = "x-upload-token"


def token_problem(host_is_loopback: bool, token: str | None) -> str | None:
    """Why uploads cannot be switched on as asked (None when they can): off loopback, a token is required.

    >>> token_problem(False, None)
    'uploads on a non-loopback host need --upload-token (or VERBATIM_UPLOAD_TOKEN): the chat has no login'
    """
    if not host_is_loopback and not token:
        return "uploads on a non-loopback host need --upload-token (or VERBATIM_UPLOAD_TOKEN): the chat has no login"
    return None


class UploadRoutes:
    """POST {prefix}/documents (multipart field `file`) -> 202; DELETE {prefix}/documents/{name} -> 202;
    GET {prefix}/uploads -> each changed document's status. With a token, every call needs it in the
    X-Upload-Token header (or `Authorization: Bearer`)."""

    def __init__(self, shelf: Shelf, token: str | None = None) -> None:
        self.shelf, self.token = shelf, token

    @property
    def mode(self) -> str:
        """How the page's upload panel asks: "token" or "open" (`upload_panel`)."""
        return "token" if self.token else "open"

    def _refusal(self, request) -> object | None:
        import hmac

        if self.token is None:
            return None
        given = request.headers.get(TOKEN_HEADER) or bearer(request.headers.get("authorization", ""))
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return error_response(401, "a valid upload token is required (X-Upload-Token header)")
        return None

    async def upload(self, request):
        import anyio

        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            form = await request.form(max_files=1, max_fields=1, max_part_size=1024)
        except Exception as exc:  # a body that is not multipart, or too many parts
            return error_response(400, f"send the file as multipart/form-data in the field {UPLOAD_FIELD!r} ({exc})")
        upload, others = form.get(UPLOAD_FIELD), sorted(set(form.keys()) - {UPLOAD_FIELD})
        if upload is None or not hasattr(upload, "read"):
            await form.close()
            return error_response(400, f"no file in the multipart field {UPLOAD_FIELD!r}")
        if others:  # the schema allows no other field
            await form.close()
            return error_response(400, f"send only the multipart field {UPLOAD_FIELD!r}, not {others[0]!r}")
        data = await upload.read(self.shelf.max_bytes + 1)
        name = upload.filename or "document"
        await form.close()
        try:
            added = await anyio.to_thread.run_sync(self.shelf.add, name, data)
        except UploadRefused as exc:
            return error_response(exc.status, str(exc))
        return _json(added, 202)

    async def delete(self, request):
        import anyio

        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            removed = await anyio.to_thread.run_sync(self.shelf.remove, request.path_params["name"])
        except UploadRefused as exc:
            return error_response(exc.status, str(exc))
        return _json(removed, 202)

    async def status(self, request):
        refused = self._refusal(request)
        return refused if refused is not None else _json({"documents": self.shelf.status()}, 200)


def bearer(authorization: str) -> str:
    """The token of an `Authorization: Bearer <token>` header; "" for any other scheme or a bare token.

    >>> bearer("Bearer s3cret"), bearer("bearer s3cret"), bearer("s3cret"), bearer("Basic czM=")
    ('s3cret', 's3cret', '', '')
    """
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _json(body: dict, status: int):
    from fastapi.responses import JSONResponse

    return JSONResponse(body, status_code=status)

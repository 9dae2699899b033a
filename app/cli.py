"""The `verbatim` command: thin click commands over the library.

    verbatim index build|status|verify     developers: build and check indexes
    verbatim ask "QUESTION" [--json]       anyone: a quoted, cited answer
    verbatim search "QUESTION" [--json]    ranked passages before quoting
    verbatim brief [--doc NAME] [--words N] the report's key passages, quoted, within a word budget
    verbatim serve                         the web chat
    verbatim eval / verbatim bench         evaluators: quality and speed figures
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from app.answer.loading import load_assistant
from app.errors import CorpusError, QuestionError, VerbatimError
from app.index.encoders import DEFAULT_MODEL, MODELS
from app.settings import (
    DEFAULT_CORPUS_DIR,
    DEFAULT_INDEX_DIR,
    INDEX_TYPES,
    MAX_BATCH_QUESTIONS,
    MAX_HISTORY,
    MAX_K,
    MIN_K,
    RETRIEVAL_MODES,
    BuildSettings,
)

log = logging.getLogger("verbatim")

index_option = click.option("--index", "index_dir", type=click.Path(path_type=Path), default=DEFAULT_INDEX_DIR,
                            show_default=True, envvar="VERBATIM_INDEX", help="Index folder.")
corpus_option = click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=None,
                             help="Corpus folder [default: the one the index was built from].")
k_option = click.option("-k", "k", type=click.IntRange(MIN_K, MAX_K), default=None, help="How many quotes or passages.")
mode_option = click.option("--mode", type=click.Choice(RETRIEVAL_MODES), default=RETRIEVAL_MODES[0],
                           show_default=True, help="Retrieval: fused, BM25 only or FAISS only.")


class VerbatimGroup(click.Group):
    """Shows a `VerbatimError` as one line and exits 1, never as a traceback; `--help` lists each
    command with its whole first sentence, wrapped (click would cut it at ~45 characters with "...")."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except VerbatimError as exc:
            raise click.ClickException(str(exc)) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=10_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=VerbatimGroup)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.version_option(package_name="verbatim")
def main(verbose: bool) -> None:
    """Ask a report questions; get answers quoted verbatim, each with an exact citation."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


# ---------------------------------------------------------------- index


@main.group(cls=VerbatimGroup)
def index() -> None:
    """Build and check indexes."""


@index.command("build")
@click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=DEFAULT_CORPUS_DIR,
              show_default=True, help="Folder of .txt/.md/.html/.pdf reports.")
@index_option
@click.option("--index-type", type=click.Choice(INDEX_TYPES), default="auto", show_default=True,
              help="FAISS index: exact (flat), HNSW, or chosen by corpus size.")
@click.option("--engine", type=click.Choice(["in-process", "ray"]), default="in-process", show_default=True,
              help="Where texts are embedded: this process, or a Ray Data pipeline (pip install -e '.[ray]').")
@click.option("--address", default=None, envvar="VERBATIM_RAY_ADDRESS",
              help="Ray cluster to join: auto, HOST:PORT or ray://HOST:PORT [default: start a local Ray runtime].")
@click.option("--workers", type=click.IntRange(1, 4096), default=None,
              help="Ray actors, one model and one CPU each [default: 2].")
@click.option("--model", default=None, envvar="VERBATIM_MODEL",
              help=f"Encoder: {' or '.join(MODELS)} [default: {DEFAULT_MODEL}; all-MiniLM-L6-v2 is faster, "
                   "English only].")
def index_build(corpus_dir: Path, index_dir: Path, index_type: str, engine: str, address: str | None,
                workers: int | None, model: str | None) -> None:
    """Build or refresh the index; unchanged documents are not re-embedded, an interrupted build resumes."""
    from app.index.build import build_index
    from app.index.encoders import encoder

    if engine != "ray" and (address is not None or workers is not None):
        raise click.UsageError("--address and --workers apply to --engine ray")
    try:
        embedder = encoder(model or DEFAULT_MODEL, "build")
    except VerbatimError:
        raise click.BadParameter(f"{model!r} is not one of {', '.join(MODELS)}", param_hint="--model") from None
    runner = None
    if engine == "ray":
        from app.index.build_ray import RayEngine, default_factory, require_ray

        require_ray()
        runner = RayEngine(default_factory(embedder.name), address=address, workers=workers or 2)
    built = build_index(index_dir, embedder, BuildSettings(index_type=index_type), corpus_dir=corpus_dir,
                         progress=sys.stderr.isatty(), engine=runner)
    click.echo(built.summary())


@index.command("status")
@corpus_option
@index_option
def index_status(corpus_dir: Path | None, index_dir: Path) -> None:
    """Say whether the index matches the corpus (exit 1 if not)."""
    from app.index.encoders import default_model
    from app.index.store import index_calibration, read_manifest
    from app.index.verify import resolve_corpus, stale_reasons

    manifest = read_manifest(index_dir)
    corpus = resolve_corpus(manifest, corpus_dir)
    counts = manifest.counts
    click.echo(f"index {index_dir}: {counts['documents']} document(s), {counts['chunks']} chunks, "
               f"model {manifest.model_name}, FAISS {manifest.faiss_type}, built {manifest.created_at}")
    calibration = index_calibration(index_dir, manifest)
    across = "" if calibration.across_floor is None else f", across languages {calibration.across_floor:g}"
    click.echo(f"calibration: {calibration.source} (threshold {calibration.threshold:g}, floor {calibration.floor:g}"
               f"{across}"
               f"{'; chosen on ' + calibration.chosen_on if calibration.chosen_on else ''})")
    if corpus is None:
        raise CorpusError("the corpus the index was built from is gone; pass --corpus DIR")
    reasons = stale_reasons(manifest, corpus, BuildSettings(), default_model())
    if reasons:
        raise click.ClickException(f"stale against {corpus}: {'; '.join(reasons)}. "
                                   f"Run `verbatim index build --corpus {corpus} --index {index_dir}`")
    click.echo(f"up to date with {corpus}")


@index.command("verify")
@index_option
def index_verify(index_dir: Path) -> None:
    """Check every file checksum, row count, and chunk text against its offsets."""
    from app.index.store import read_manifest, rebuild_hint
    from app.index.verify import verify_index

    problems = verify_index(index_dir)
    if problems:
        for p in problems[:20]:
            click.echo(f"problem: {p}", err=True)
        raise click.ClickException(f"{len(problems)} problem(s) in {index_dir}; {rebuild_hint(index_dir)}")
    counts = read_manifest(index_dir).counts
    click.echo(f"ok: {counts['chunks']} chunks and {counts['sentences']} sentences match their documents")


# ---------------------------------------------------------------- ask and search


def read_batch(path: Path) -> Iterator[tuple[object | None, str]]:
    """(id, question) pairs from a file of plain lines or JSON lines with "question" and "id"."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise QuestionError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise QuestionError(f"cannot read {path}: {exc.strerror}") from None
    rows = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if len(rows) > MAX_BATCH_QUESTIONS:
        raise QuestionError(f"{path} has {len(rows):,} questions; the limit per batch is {MAX_BATCH_QUESTIONS:,}")
    parsed = []
    for n, line in rows:
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except ValueError:
                raise QuestionError(f"{path}:{n} is not valid JSON") from None
            if not isinstance(obj, dict) or "question" not in obj:
                raise QuestionError(f'{path}:{n} has no "question" field')
            parsed.append((obj.get("id"), obj["question"]))
        else:
            parsed.append((None, line))
    return iter(parsed)


def read_history(path: Path | None) -> list[str]:
    """The earlier questions of a conversation: the non-empty lines of `path`, oldest first (none without it).
    Their number and length are checked where the question is (`Question.of`)."""
    if path is None:
        return []
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise QuestionError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise QuestionError(f"cannot read {path}: {exc.strerror}") from None


def _emit(obj: dict) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def run_batch(path: Path, answer_one) -> None:
    """Answer every line in order; a bad question yields an object with an "error", not an abort."""
    from app.answer.answer import Answer

    for qid, question in read_batch(path):
        try:
            obj = answer_one(question)
        except QuestionError as exc:
            text = question if isinstance(question, str) else str(question)
            obj = {**Answer(text, str(exc), []).to_dict(), "error": str(exc)}  # the contract, plus why
        if qid is not None:
            obj = {"id": qid, **obj}
        _emit(obj)


def print_answer(answer) -> None:
    click.echo(f"Q: {answer.question}")
    click.echo(f"verdict: {answer.verdict.replace('_', ' ')} (confidence {answer.confidence:.2f})")
    # the message's own lines, before its numbered quotes: the verdict's note, a briefing's, a follow-up's,
    # the quotes' language
    lines = answer.message.splitlines()
    notes = lines if answer.verdict == "not_found" else \
        lines[:next((i for i, x in enumerate(lines) if x.startswith("[1] ")), len(lines))]
    if notes:
        click.echo("\n" + "\n".join(notes))
    for q in answer.quotes:
        where = f"{q.doc}, paragraph {q.paragraph}" + (f", page {q.page}" if q.page else "")
        label = "closest passage (not an answer)" if answer.verdict == "not_found" else f"[{q.n}]"
        above = f"[{q.n}] (quoted above)" in answer.message.splitlines()  # a follow-up's repeat: not shown again
        text = "(quoted above)" if above else f"\u201c{q.marked_text()}\u201d"
        click.echo(f"\n{label} {text}\n    \u2014 {where}, characters {q.start}\u2013{q.end}")


def question_command(json_help: str, batch_help: str):
    """`ask` and `search` take the same arguments: QUESTION, --index, --corpus, -k, --mode, --json, --batch."""
    options = [click.argument("question", required=False), index_option, corpus_option, k_option, mode_option,
               click.option("--json", "as_json", is_flag=True, help=json_help),
               click.option("--batch", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
                            help=batch_help)]

    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return main.command()(function)

    return decorate


@question_command("Print the JSON contract instead of text.",
                  "File of questions, one per line (or JSON lines with question and id); writes JSON lines.")
@click.option("--per-document/--no-per-document", "per_document", default=None,
              help="The best quote of each document that answers [default: when the question asks what each "
                   "report says].")
@click.option("--history", "history_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help=f"Earlier questions of the conversation, one per line, oldest first (at most "
                                 f"{MAX_HISTORY}): QUESTION, each --batch question, or the first interactive one "
                                 "is asked as their follow-up.")
def ask(question: str | None, index_dir: Path, corpus_dir: Path | None, k: int | None, mode: str,
        as_json: bool, batch: Path | None, per_document: bool | None, history_file: Path | None) -> None:
    """Answer QUESTION by quoting the report (no QUESTION and no --batch: ask interactively)."""
    earlier = read_history(history_file)
    assistant = load_assistant(index_dir, corpus_dir, mode)
    if batch is not None:  # each question follows the file's conversation, not the batch's other questions
        run_batch(batch, lambda q: assistant.ask(q, k=k, history=earlier, per_document=per_document).to_dict())
        return
    if question is None:
        history: list[str] = earlier
        while True:
            try:
                question = click.prompt("Question (empty line to quit)", default="", show_default=False)
            except click.Abort:
                return
            if not question.strip():
                return
            try:
                print_answer(assistant.ask(question, k=k, history=history, per_document=per_document))
                history = [*history, question][-MAX_HISTORY:]
            except QuestionError as exc:
                click.echo(f"Error: {exc}", err=True)
            click.echo()
    answer = assistant.ask(question, k=k, history=earlier, per_document=per_document)
    _emit(answer.to_dict()) if as_json else print_answer(answer)


@question_command("Print JSON instead of text.", "File of questions; writes JSON lines.")
def search(question: str | None, index_dir: Path, corpus_dir: Path | None, k: int | None, mode: str,
           as_json: bool, batch: Path | None) -> None:
    """Show the ranked passages for QUESTION, before quoting."""
    assistant = load_assistant(index_dir, corpus_dir, mode)
    if batch is not None:
        run_batch(batch, lambda q: assistant.search(q, k=k).to_dict())
        return
    if question is None:
        raise click.UsageError("give a QUESTION or --batch FILE")
    result = assistant.search(question, k=k)
    if as_json:
        _emit(result.to_dict())
        return
    for rank, hit in enumerate(result.hits, 1):
        c = hit.chunk
        click.echo(f"{rank}. {hit.score:.3f}  {c.doc} paragraph {c.paragraph} [{c.start}:{c.end}]\n   {c.text[:300]}")


@main.command()
@index_option
@click.option("--doc", default=None, help="One document's briefing [default: every document, one section each].")
@click.option("--words", type=int, default=None, help="Word budget per document [default: 120; 10 to 2,000].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {doc, words, points[quote objects]}.")
def brief(index_dir: Path, doc: str | None, words: int | None, as_json: bool) -> None:
    """Print the report's key passages, each quoted verbatim with its citation, in document order."""
    from app.answer.briefing import DEFAULT_WORDS, briefing
    from app.index.store import load_index

    try:
        result = briefing(load_index(index_dir), doc, DEFAULT_WORDS if words is None else words)
    except QuestionError as exc:
        raise click.BadParameter(str(exc), param_hint="--doc" if "document" in str(exc) else "--words") from None
    if as_json:
        _emit(result.to_dict())
        return
    for q in result.points:
        where = f"{q.doc}, paragraph {q.paragraph}" + (f", page {q.page}" if q.page else "")
        click.echo(f"[{q.n}] \u201c{q.text}\u201d\n    \u2014 {where}, characters {q.start}\u2013{q.end}\n")
    if not result.points:
        click.echo("No passage fits this budget; give a larger --words.")


# Commands that live beside the modules they drive; each imports its heavy libraries only when run.
from app.bench.run import bench  # noqa: E402
from app.evaluation.cli import eval_command  # noqa: E402
from app.web.serve import serve  # noqa: E402

for command in (serve, eval_command, bench):
    main.add_command(command)

if __name__ == "__main__":  # python -m app.cli
    main()

"""`verbatim eval`: the report suite, or a public benchmark, with optional gates and calibration.

    verbatim eval                                   report suite -> eval/results/
    verbatim eval --fail-under faithfulness=1.0 --fail-under hit@3=0.9
    verbatim eval --calibrate                       choose the abstention threshold, store it
    verbatim eval --suite beir --data ../shared/benchmarks/scifact --split train
    verbatim eval --suite squad --data ../shared/benchmarks/xquad/dev.json
    verbatim eval --suite squad --data xquad.en.dev.json --questions xquad.ru.dev.json   questions in another language
    verbatim eval --suite squad2 --data ../shared/benchmarks/squad2/squad2.dev.json [--json]
    verbatim eval --suite brief --data ../shared/benchmarks/xquad/xquad.en.dev.json   briefing QA coverage
    verbatim eval --suite squad2 --data ... --span-folds .cache/spans/folds.json   spans cross-validated by article

A gate names a metric of the headline method (hybrid) or `method.metric` (`bm25.hit@3`); the run
exits 1 and names every gate that failed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import click

from app.settings import DEFAULT_INDEX_DIR

log = logging.getLogger(__name__)

SUITES = ("report", "beir", "squad", "squad2", "brief")
DATA_KINDS = {"beir": "a BEIR folder", "squad": "a SQuAD JSON file", "squad2": "a SQuAD 2.0 JSON file",
              "brief": "a SQuAD-format JSON file"}


def parse_gate(text: str) -> tuple[str, float]:
    """`metric=value` -> (metric, value).

    >>> parse_gate("hit@3=0.9")
    ('hit@3', 0.9)
    """
    name, sep, value = text.partition("=")
    try:
        if not sep or not name.strip():
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not METRIC=VALUE, e.g. faithfulness=1.0") from None


def _flatten(obj: Mapping, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def gate_metrics(result: Mapping) -> dict[str, float]:
    """Every number a gate may name: `metric` (headline method) and `method.metric`.

    >>> gate_metrics({"methods": {"hybrid": {"hit@3": 0.9}, "bm25": {"hit@3": 0.8}}})
    {'hybrid.hit@3': 0.9, 'bm25.hit@3': 0.8, 'hit@3': 0.9}
    """
    methods = result.get("methods") or result.get("modes")
    if isinstance(methods, Mapping) and methods:
        out = _flatten(methods)
        head = result.get("headline_mode") or next(iter(methods))
        out.update(_flatten(methods[head]))
        return out
    return _flatten({k: v for k, v in result.items() if k != "markdown"})


def check_gates(result: Mapping, gates: list[tuple[str, float]]) -> list[str]:
    """One line per failed gate; an unknown metric is a usage error that lists the known ones."""
    known = gate_metrics(result)
    failed = []
    for name, bar in gates:
        if name not in known:
            raise click.BadParameter(f"no metric {name!r}; known: {', '.join(sorted(known))}",
                                     param_hint="--fail-under")
        if known[name] < bar:
            failed.append(f"{name} = {known[name]:.4f} is below {bar:g}")
    return failed


def is_held_out(path: Path) -> bool:
    """True for a file under eval/heldout, or under any folder named `heldout`.

    >>> is_held_out(Path("eval/heldout/report_questions.jsonl")), is_held_out(Path("eval/report_questions.jsonl"))
    (True, False)
    """
    from app.evaluation.suite import HELDOUT_DIR

    path = Path(path).resolve()
    return HELDOUT_DIR.name in path.parts[:-1] or path.is_relative_to(HELDOUT_DIR.resolve())


def _run_question_suite(data: Path | None, index_dir: Path, out_dir: Path, calibrate: bool,
                dialogues_file: Path | None, thresholds: dict[str, float]) -> tuple[dict, str]:
    from app.answer.loading import load_assistant
    from app.evaluation.calibration import calibrate as choose
    from app.evaluation.calibration import calibration_record
    from app.evaluation.suite import DIALOGUES_FILE, QUESTIONS_FILE, load_dialogues, load_questions, run_suite
    from app.evaluation.suite_output import write_suite
    from app.index.store_write import write_calibration

    qfile = data or QUESTIONS_FILE
    if qfile.is_dir():
        qfile = qfile / QUESTIONS_FILE.name
    if calibrate and is_held_out(qfile):
        raise click.UsageError(f"{qfile} is held out: thresholds are never chosen on it. Calibrate on eval/ "
                               "(the default) and score the held-out questions without --calibrate")
    dfile = dialogues_file or (qfile.parent / DIALOGUES_FILE.name)
    questions = load_questions(qfile)
    dialogues = load_dialogues(dfile) if dfile.exists() else []
    assistant = load_assistant(index_dir, None)
    if thresholds:
        assistant = assistant.with_settings(**thresholds)
    labels = {"questions": str(qfile), "dialogues": str(dfile) if dialogues else ""}
    result = run_suite(assistant, questions, dialogues, data=labels)
    choice = None
    if calibrate:
        choice = choose(result)
        n, a = len(questions), sum(q.answerable for q in questions)
        record = calibration_record(choice, f"{qfile.name}: {n} questions ({a} answerable, {n - a} unanswerable), "
                                            f"{choice['method']}, model {result['model']}")
        stored = write_calibration(index_dir, assistant.embedder.name, record)
        click.echo(f"calibrated: floor {record['floor']:.4f}, threshold {record['threshold']:.4f} "
                   f"(was {choice['previous_threshold']:.4f}); hard false refusals "
                   f"{choice['hard_false_refusal_rate']:.3f}, unanswerable answered "
                   f"{choice['unanswerable_answered_rate']:.3f}, abstention F1 {choice['f1']:.3f}; leave-one-out: "
                   f"hard false refusals {choice['leave_one_out_hard_false_refusal_rate']:.3f}, F1 "
                   f"{choice['leave_one_out_f1']:.3f}; written to {stored}")
        result = run_suite(assistant.with_settings(threshold=choice["threshold"], floor=choice["floor"]),
                            questions, dialogues, data=labels)
    paths = write_suite(result, out_dir, choice)
    head = result["methods"]["hybrid"]
    summary = " ".join(f"{m}: hit@3 {s['hit@3']:.3f}, abstention F1 {s['abstention_f1']:.3f};"
                       for m, s in result["methods"].items())
    click.echo(f"faithfulness {head['faithfulness']:.3f} over {head['citations_checked']} citations. {summary}")
    return result, f"wrote {', '.join(str(p) for p in paths)}"


HEADLINE_ROWS = ("| Metric", "|---", "| Faithfulness", "| Evidence hit@3 (answered or uncertain)", "| Hard false",
                 "| Unanswerable given", "| Confidence ROC AUC", "| Follow-up hit@3 (with history)",
                 "| The same in the report's own words", "| Paraphrase over own words")


def headline(report_md: Path) -> str:
    """The report suite's first lines, its headline rows and its verdicts (the rest stays in report.md)."""
    lines = report_md.read_text(encoding="utf-8").split("\n## Differences between methods")[0].splitlines()
    table = [i for i, line in enumerate(lines) if line.startswith("|")]
    first, verdicts = table[0], next(i for i, line in enumerate(lines) if line.startswith("## Verdicts"))
    rows = [x for x in lines[first:verdicts] if x.startswith(HEADLINE_ROWS)
            and not x.endswith("| n/a | n/a | n/a |")]  # a row no method measured (paraphrases: their sets only)
    return "\n".join(lines[:first] + rows
                     + [""] + lines[verdicts:verdicts + 7])


def publish_figures(page: Path, suite: str, data: Path | None, question_files: tuple[Path, ...], result: dict,
                    out_dir: Path) -> None:
    """This run's figures as its section of the generated page, under the command, the date and the code."""
    import re

    from app.evaluation.suite_output import provenance
    from app.files import publish_section

    # a benchmark's per-article tables and examples stay in its report.md: the page keeps the figures
    text = (result.get("markdown") or "").split("\n### Per article")[0] or headline(out_dir / "report.md")
    text = re.sub(r"^(#+) ", lambda m: "#" * max(len(m.group(1)) + 1, 2) + " ", text, flags=re.M)  # page's sections
    from app.index.encoders import DEFAULT_MODEL

    model = result.get("model")  # another encoder's run has its own section, beside the default's
    name = " ".join(["eval", suite, str(data or "eval/"), *(q.name for q in question_files),
                     *([model] if model and model != DEFAULT_MODEL else [])])
    publish_section(page, name, f"{provenance()}\n\n{text}")


def refuse_mixed_options(suite: str, span_folds: bool, questions: bool, calibrate: bool, thresholds: bool,
                         as_json: bool) -> None:
    """A usage error for an option given to a suite that does not take it."""
    if span_folds and suite != "squad2":
        raise click.UsageError("--span-folds works on the squad2 suite only")
    if questions and suite != "squad":
        raise click.UsageError("--questions works on the squad suite only")
    if calibrate and suite != "report":
        raise click.UsageError("--calibrate works on the report suite only")
    if thresholds and (suite != "report" or calibrate):
        raise click.UsageError("--threshold and --floor work on the report suite, without --calibrate")
    if as_json and suite == "report":
        raise click.UsageError("--json works on the benchmark suites; the report suite writes its JSON "
                               "into the output folder")


@click.command("eval")
@click.option("--suite", type=click.Choice(SUITES), default="report", show_default=True,
              help="The report's own questions, or a public benchmark.")
@click.option("--data", type=click.Path(exists=True, path_type=Path), default=None,
              help="report: questions file or folder [eval/]; beir: a BEIR folder; squad, squad2, brief: "
                   "a SQuAD JSON file.")
@click.option("--dialogues", "dialogues_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="report: two-turn dialogues [report_dialogues.jsonl beside the questions].")
@click.option("--split", default="train", show_default=True, help="beir: the qrels split.")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), default=DEFAULT_INDEX_DIR,
              show_default=True, envvar="VERBATIM_INDEX", help="report: the index to ask.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [eval/results/].")
@click.option("--fail-under", "gates", multiple=True, metavar="METRIC=VALUE",
              help="Exit 1 if METRIC (hybrid, or method.METRIC) is below VALUE; repeatable.")
@click.option("--calibrate", is_flag=True,
              help="report: choose the verdict thresholds on these questions and store them beside the index "
                   "(<index>.builds/calibration.json).")
@click.option("--threshold", type=float, default=None,
              help="report: answer at or above this score instead of the index's calibrated threshold.")
@click.option("--floor", type=float, default=None,
              help="report: not_found below this score instead of the index's calibrated floor.")
@click.option("--json", "as_json", is_flag=True,
              help="Benchmark suites: print the figures as JSON instead of Markdown.")
@click.option("--figures", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the figures as this run's section of a generated page (docs/figures.md).")
@click.option("--questions", "question_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="squad: ask these files' questions (matched by id) against --data's paragraphs, one language "
                   "per file, and report answer-in-quote per language; repeatable.")
@click.option("--span-folds", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="squad2: answer each article with the span scorer of its cross-validation fold ({article: "
                   "weights file} JSON, written by training/train_spans.py).")
def eval_command(suite: str, data: Path | None, dialogues_file: Path | None, split: str, index_dir: Path,
                 out_dir: Path | None, gates: tuple[str, ...], calibrate: bool, threshold: float | None,
                 floor: float | None, as_json: bool, span_folds: Path | None,
                 question_files: tuple[Path, ...] = (), figures: Path | None = None) -> None:
    """Measure whether answers and their citations can be trusted; write JSON, Markdown and plots."""
    from app.evaluation.suite import RESULTS_DIR

    parsed = [parse_gate(g) for g in gates]
    out_dir = out_dir or RESULTS_DIR
    refuse_mixed_options(suite, span_folds is not None, bool(question_files), calibrate,
                         threshold is not None or floor is not None, as_json)
    if suite == "report":
        thresholds = {k: v for k, v in (("threshold", threshold), ("floor", floor)) if v is not None}
        result, note = _run_question_suite(data, index_dir, out_dir, calibrate, dialogues_file, thresholds)
    else:
        if data is None:
            raise click.UsageError(f"--suite {suite} needs --data ({DATA_KINDS[suite]})")
        if suite == "beir":
            from app.evaluation.beir import run_beir

            result = run_beir(data, split=split, out_dir=out_dir)
        elif suite == "brief":
            from app.evaluation.brief import run_brief

            result = run_brief(data, out_dir=out_dir)
        elif suite == "squad2":
            from app.evaluation.squad2 import run_squad2

            folds = json.loads(span_folds.read_text(encoding="utf-8")) if span_folds else None
            result = run_squad2(data, out_dir=out_dir, span_weights=folds)
        elif question_files:
            from app.evaluation.crosslingual import run_crosslingual

            result = run_crosslingual(data, list(question_files), out_dir=out_dir)
        else:
            from app.evaluation.squad import run_squad

            result = run_squad(data, out_dir=out_dir)
        if as_json:
            click.echo(json.dumps({k: v for k, v in result.items() if k != "markdown"}, indent=2, ensure_ascii=False))
        else:
            click.echo(result["markdown"])
        note = f"wrote results into {out_dir}"
    click.echo(note, err=as_json)
    if figures is not None:
        publish_figures(figures, suite, data, question_files, result, out_dir)
    failed = check_gates(result, parsed)
    for line in failed:
        click.echo(f"gate failed: {line}", err=True)
    if failed:
        click.get_current_context().exit(1)
    if parsed:
        click.echo(f"all {len(parsed)} gate(s) passed", err=as_json)

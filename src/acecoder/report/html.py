"""The run report as one self-contained HTML file, and the same numbers as JSON.

`write_report(run_dir)` gathers the numbers (`acecoder.report.run.collect`), writes them
to `report.json`, draws the figures with matplotlib from that dict alone and writes
`report.html`: figures embedded as base64 PNG `<img>`s, CSS inline, no script, no
external resource, so the file can be mailed or opened offline. Sections whose inputs
are absent are left out, and a "Not in this run" list says what was missing.
The filter's own histograms (filter/*.png, `acecoder.report.quality`) are embedded as
they are; when only filter_summary.json is there they are redrawn from it.
"""

from __future__ import annotations

import base64
import html
import io
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from acecoder.data.files import write_atomic
from acecoder.report.run import collect

__all__ = ["ReportSummary", "render", "write_report"]

FILTER_FIGURES = ("tests_per_question.png", "oracle_pass_rates.png", "sample_pass_rates.png")
BASELINES = ("greedy", "average", "oracle")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem} h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.5rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem} th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left} tr.total td{font-weight:bold;background:#fafafa}
img{max-width:100%;height:auto;display:block;margin:1rem 0;border:1px solid #eee}
pre{background:#f7f7f7;padding:1rem;overflow:auto;font-size:.85rem} .note{color:#666} .missing{color:#a60}
.status-done{color:#080} .status-failed{color:#c00} .status-running{color:#c60}
table.overview td:last-child,table.overview th:last-child{text-align:left} table.counters{margin:.3rem 0;font-size:.85rem} details summary{cursor:pointer;color:#555}
"""


@dataclass(slots=True, kw_only=True)
class ReportSummary:
    """What `write_report` wrote."""

    html: Path
    json: Path
    sections: list[str] = field(default_factory=list)  # the sections shown, in order
    missing: list[str] = field(default_factory=list)  # one line per section left out
    warnings: list[str] = field(default_factory=list)  # broken lines or files passed over
    figures: int = 0

    def __str__(self) -> str:  # the page's path, for "report: ..." lines
        return str(self.html)


def write_report(run_dir: str | Path, *, output: str | Path | None = None) -> ReportSummary:
    """Write RUN_DIR/report.html (or `output`) and report.json beside it."""
    run_dir = Path(run_dir)
    data = collect(run_dir)
    output = Path(output) if output is not None else run_dir / "report.html"
    output.parent.mkdir(parents=True, exist_ok=True)
    json_path = output.with_suffix(".json")
    write_atomic(json_path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
    page, sections, figures = _page(data, run_dir)
    write_atomic(output, page)
    return ReportSummary(html=output, json=json_path, sections=sections, missing=data["missing"],
                         warnings=data["warnings"], figures=figures)


def render(data: dict, run_dir: str | Path) -> str:
    """The HTML page for `collect`'s dict (`run_dir`: where the filter's PNGs are)."""
    return _page(data, Path(run_dir))[0]


# ---------------------------------------------------------------- the page


def _page(data: dict, run_dir: Path) -> tuple[str, list[str], int]:
    parts, sections = [], []
    figures = 0

    def section(title: str, body: list[str]) -> None:
        nonlocal figures
        anchor = title.lower().replace(" ", "-")
        sections.append(title)
        figures += sum(chunk.startswith("<img") for chunk in body)
        parts.append(f'<section id="{anchor}"><h2>{_e(title)}</h2>\n' + "\n".join(body) + "</section>")

    if data["overview"]:
        section("Overview", _overview(data["overview"]))
    if data["dataset"]:
        section("Dataset", _dataset(data["dataset"]))
    if data["filter"]:
        section("Filter", _filter(data["filter"], run_dir))
    if data["reward_model"]:
        section("Reward model", _reward_model(data["reward_model"]))
    if data["best_of_n"]:
        section("Best-of-N", _best_of_n(data["best_of_n"]))
    if data["rl"]:
        section("RL", _rl(data["rl"]))
    notes = []
    if data["missing"]:
        notes.append('<h2>Not in this run</h2><ul class="missing">' + "".join(f"<li>{_e(m)}</li>" for m in data["missing"]) + "</ul>")
    if data["warnings"]:
        notes.append('<h2>Warnings</h2><ul class="missing">' + "".join(f"<li>{_e(w)}</li>" for w in data["warnings"]) + "</ul>")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>acecoder report: {_e(Path(data['run_dir']).name)}</title><style>{CSS}</style></head><body>\n"
        f"<h1>acecoder run report</h1><p class=\"note\">{_e(data['run_dir'])} &middot; generated {_e(data['generated'])}</p>\n"
        + "\n".join(parts + notes)
        + "\n</body></html>\n"
    )
    return page, sections, figures


def _overview(overview: dict) -> list[str]:
    rows = []
    for stage in overview["stages"]:
        rows.append([stage["name"], f'<span class="status-{_e(stage["status"])}">{_e(stage["status"])}</span>',
                     _e(_clock(stage["started"])), _e(_clock(stage["finished"])), _num(stage["seconds"], 1),
                     _stage_summary(stage)])
    table = _table(["stage", "status", "started", "finished", "seconds", "summary"], rows, escape=False)
    table = table.replace("<table>", '<table class="overview">', 1)  # its summary column reads as text
    first = next((stage["started"] for stage in overview["stages"] if stage["started"]), None)
    when = f" First stage started {_e(first.replace('T', ' ')[:16])} UTC." if first else ""
    body = [table, f"<p>Total stage time: {_num(overview['seconds'], 1)} s.{when}</p>"]
    if overview["config_text"]:
        body.append(f"<details><summary>config.yaml</summary><pre>{_e(overview['config_text'])}</pre></details>")
    return body


def _clock(stamp: str | None) -> str:
    """`22:58:03` of an ISO time stamp (the day is said once, above)."""
    if not stamp:
        return "-"
    return stamp[11:19] if len(stamp) >= 19 and stamp[10] == "T" else stamp


def _stage_summary(stage: dict) -> str:
    """The headline numbers, and every other counter of the summary behind a click."""
    rest = [f"<tr><td>{_e(key)}</td><td>{_e(_plain_value(value))}</td></tr>" for key, value in stage["summary"].items()]
    if not rest:
        return _e(stage.get("headline") or "-")
    return (f"{_e(stage.get('headline') or '-')}<details><summary>all {len(rest)}</summary>"
            f"<table class=\"counters\">{''.join(rest)}</table></details>")


def _plain_value(value) -> str:
    """A summary value for people: floats rounded, nested counters as `key value` lists."""
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain_value(v)}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(_plain_value(v) for v in value[:10]) + (f" ... ({len(value)} in all)" if len(value) > 10 else "")
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "..."


def _dataset(dataset: dict) -> list[str]:
    header = ["source", "seeds", "questions", "tests / question (before)", "questions kept",
              "tests / question (after)", "pairs", "questions with pairs"]
    keys = ["seeds", "questions", "mean_tests_before", "questions_kept", "mean_tests_after", "pairs", "questions_with_pairs"]
    rows = [[source, *(_num(row[k], 2) for k in keys)] for source, row in dataset["sources"].items()]
    rows.append(["total", *(_num(dataset["total"][k], 2) for k in keys)])
    note = ('<p class="note">Laid out like the method\'s Table 1 (ACECODER §3.1): tests are kept only when the '
            "oracle's program passes them, and a question needs enough of them left.</p>")
    return [note, _table(header, rows, total_last=True)]


def _filter(filter_: dict, run_dir: Path) -> list[str]:
    summary = filter_["summary"]
    body = []
    reasons = sorted(filter_["drop_totals"])
    if reasons:
        rows = [[s, *(_num(d.get(r, 0)) for r in reasons)] for s, d in filter_["drops"].items()]
        rows.append(["total", *(_num(filter_["drop_totals"][r]) for r in reasons)])
        body += ["<h3>Questions dropped, by reason</h3>", _table(["source", *reasons], rows, total_last=True),
                 _img(_drops_figure(filter_), "questions dropped by reason and source")]
    else:
        body.append("<p>The filter dropped no question.</p>")
    pngs = [run_dir / "filter" / name for name in FILTER_FIGURES]
    if not all(p.is_file() for p in pngs):  # only the JSON is here: redraw the filter's own figures from it
        from acecoder.report import quality

        with tempfile.TemporaryDirectory() as folder:
            quality.write(folder, summary)
            images = [(Path(folder) / name).read_bytes() for name in FILTER_FIGURES]
    else:
        images = [p.read_bytes() for p in pngs]
    body.append("<h3>Tests per question and pass rates</h3>")
    body += [_img(png, name.removesuffix(".png").replace("_", " ")) for png, name in zip(images, FILTER_FIGURES)]
    return body


def _reward_model(rm: dict) -> list[str]:
    body = []
    evaluation = rm["eval"]
    if evaluation:
        rows = [[k, _num(evaluation.get(k), 4)] for k in
                ("pairs", "accuracy", "mean_margin", "loss", "train_pairs", "dropped_long", "steps", "seconds", "pairs_per_second")
                if k in evaluation]
        if evaluation.get("base_model"):
            rows.append(["base_model", _e(str(evaluation["base_model"]))])
        note = ('<h3>Held-out pairs</h3><p class="note">accuracy: share of held-out pairs the model scores '
                "r+ &gt; r- (ties count as wrong).</p>")
        body += [note, _table(["", "value"], rows, escape=False)]
    if rm["metrics"]:
        body.append(_img(_curves(rm["metrics"], "step", [("loss", ["loss"]), ("accuracy", ["accuracy"]),
                                                        ("margin r+ - r-", ["margin"]), ("learning rate", ["learning_rate"])],
                                 "Reward-model training"), "reward model training curves"))
    return body


def _best_of_n(bon: dict) -> list[str]:
    ns = bon.get("n") or []
    curves = bon.get("pass@1") or {}
    if not ns or not curves:
        return ["<p>bon.json has no curves.</p>"]
    names = [*(k for k in curves if k not in BASELINES), *(k for k in BASELINES if k in curves)]
    intervals, differences = bon.get("interval95") or {}, bon.get("difference") or {}

    def cell(values: list, bounds: list | None, i: int) -> str:
        text = _pct(values[i] if i < len(values) else None)
        if bounds and i < len(bounds):
            text += f" [{_pct(bounds[i][0])}, {_pct(bounds[i][1])}]"
        return text

    rows = [[str(n), *(cell(curves[k], intervals.get(k), i) for k in names),
             *(cell(d["mean"], d.get("interval95"), i) for d in differences.values())] for i, n in enumerate(ns)]
    note = (f"{_e(str(bon.get('benchmark', '?')))}, policy {_e(str(bon.get('model', '?')))}: "
            f"{_num(bon.get('problems'))} problems, {_num(bon.get('samples_per_problem'))} samples each; "
            "pass@1 (%) of the program each selector picks among N samples"
            + (", [95% bootstrap interval over problems]; differences are paired per problem." if intervals else "."))
    return [f'<p class="note">{note}</p>', _img(_bon_figure(ns, curves, names, bon), "best-of-N pass@1"),
            _table(["N", *names, *differences], rows)]


def _rl(rl: dict) -> list[str]:
    metrics = rl["metrics"]
    x = "rollout" if any(line.get("rollout") is not None for line in metrics) else "step"
    first, last = metrics[0], metrics[-1]
    keys = [k for k in ("reward", "pass_rate", "all_pass", "all_pass_groups", "all_fail_groups", "completion_length", "kl")
            if first.get(k) is not None or last.get(k) is not None]
    rows = [[k, _num(first.get(k), 4), _num(last.get(k), 4)] for k in keys]
    return [_img(_curves(metrics, x, [("reward", ["reward"]), ("tests passed", ["pass_rate", "all_pass"]),
                                      ("groups without signal", ["all_pass_groups", "all_fail_groups"]),
                                      ("completion length (tokens)", ["completion_length"])], "RL"), "RL curves"),
            _table(["metric", f"first ({x} {first.get(x)})", f"last ({x} {last.get(x)})"], rows)]


# ---------------------------------------------------------------- figures (matplotlib, Agg)


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    _plt().close(figure)
    return buffer.getvalue()


def _curves(lines: list[dict], x: str, panels: list[tuple[str, list[str]]], title: str) -> bytes:
    """One panel per metric group against `x`; keys absent from every line are skipped."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator

    panels = [(name, [k for k in keys if any(isinstance(l.get(k), (int, float)) for l in lines)]) for name, keys in panels]
    panels = [(name, keys) for name, keys in panels if keys] or [("(no numeric metrics)", [])]
    figure, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.2), squeeze=False)
    for axis, (name, keys) in zip(axes[0], panels):
        for key in keys:
            points = [(l[x], l[key]) for l in lines if isinstance(l.get(x), (int, float)) and isinstance(l.get(key), (int, float))]
            axis.plot([p[0] for p in points], [p[1] for p in points], marker="o" if len(points) < 30 else None, ms=3, label=key)
        axis.set(title=name, xlabel=x)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps and rollouts are whole numbers
        if len(keys) > 1:
            axis.legend(fontsize=8)
    figure.suptitle(title)
    return _png(figure)


def _bon_figure(ns: list, curves: dict, names: list[str], bon: dict) -> bytes:
    plt = _plt()
    figure, axis = plt.subplots(figsize=(7, 4.2))
    for name in names:
        values = [100 * v if isinstance(v, (int, float)) else None for v in curves[name]][: len(ns)]
        if name in ("greedy", "average") and values and values[0] is not None:
            # constant in N by definition: one horizontal line each
            axis.axhline(values[0], linestyle="--", color="gray" if name == "greedy" else "silver", label=f"{name} ({values[0]:.1f})")
        else:
            [line] = axis.plot(ns[: len(values)], values, marker="o", linestyle=":" if name == "oracle" else "-", label=name)
            bounds = (bon.get("interval95") or {}).get(name)
            if bounds and len(bounds) == len(values):  # the 95% bootstrap interval over problems
                axis.fill_between(ns[: len(values)], [100 * low for low, _ in bounds], [100 * high for _, high in bounds],
                                  color=line.get_color(), alpha=0.12)
    axis.set_xscale("log", base=2)
    axis.set_xticks(ns, [str(n) for n in ns])
    axis.set(xlabel="N (samples to choose from)", ylabel="pass@1 (%)", title=f"Best-of-N on {bon.get('benchmark', '?')}")
    axis.legend(fontsize=8)
    return _png(figure)


def _drops_figure(filter_: dict) -> bytes:
    plt = _plt()
    reasons = sorted(filter_["drop_totals"])
    sources = list(filter_["drops"])
    figure, axis = plt.subplots(figsize=(7, 3.5))
    bottom = [0] * len(sources)
    for reason in reasons:
        counts = [filter_["drops"][s].get(reason, 0) for s in sources]
        axis.bar(sources, counts, bottom=bottom, label=reason)
        bottom = [b + c for b, c in zip(bottom, counts)]
    from matplotlib.ticker import MaxNLocator

    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set(title="Questions dropped by the filter", ylabel="questions")
    axis.legend(fontsize=8)
    return _png(figure)


# ---------------------------------------------------------------- plumbing: HTML pieces


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _table(header: list[str], rows: list[list[str]], *, escape: bool = True, total_last: bool = False) -> str:
    cell = _e if escape else str
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        css = ' class="total"' if total_last and i == len(rows) - 1 else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{cell(str(c))}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _num(value, digits: int = 0) -> str:
    if value is None or isinstance(value, bool):
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"
    return str(value)


def _pct(value) -> str:
    return "-" if not isinstance(value, (int, float)) else f"{100 * value:.1f}"


def _e(text) -> str:
    return html.escape(str(text), quote=True)

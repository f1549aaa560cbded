"""The periodic report as a document: "Báo cáo tình hình lấy ý kiến trước khi ban hành văn bản".

Why Markdown: the reporting regime (Thanh Oai 05-QC/HU Điều 23; Kiên Giang 357-QĐ/TU §2.2)
asks for monthly, quarterly, six-monthly and annual written reports to the party committee.
Markdown is readable as plain text, pastes into a word processor, and converts to the
office's template; the numbers come from the same :func:`compliance` the console shows, so
the report and the console cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from services.reports.domain.compliance import ComplianceReport, Counts, ExceptionItem, RefusalItem
from services.reports.domain.labels import role_vi
from services.reports.domain.periods import format_vn

Name = Callable[[str], str]

BASIS = (
    "Quy định số 357-QĐ/TU của Ban Thường vụ Tỉnh ủy Kiên Giang (mục 5, mục 2.2)",
    "Quy chế số 05-QC/HU của Ban Thường vụ Huyện ủy Thanh Oai (Điều 16–21, Điều 23)",
)


def percent_vi(value: float | None) -> str:
    """``66,7%`` (Vietnamese decimal comma); ``—`` when there is nothing to divide."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}%".replace(".", ",")


UNIT_TABLE = (
    "| Đơn vị | Ban hành | Đủ ý kiến | Ngoại lệ | Bị từ chối ban hành | Ý kiến đúng hạn | Ý kiến quá hạn | Báo cáo quá hạn |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
)

CONSULTEE_TABLE = (
    "| Cơ quan, tổ chức | Đúng hạn | Quá hạn | Không có ý kiến khi ban hành | Báo cáo quá hạn |",
    "|---|---:|---:|---:|---:|",
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(*cells: object) -> str:
    """One Markdown table row."""
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _figures(c: Counts) -> tuple[int, ...]:
    """The numbers of a row of the issuing units' table, in its columns' order."""
    return (
        c.issued,
        c.issued_full,
        c.issued_with_exception,
        c.refused_attempts,
        c.opinions_on_time,
        c.opinions_late,
        c.escalations,
    )


def _section(
    items: Sequence[str], none: str, *, head: Sequence[str] = (), foot: Sequence[str] = ()
) -> list[str]:
    """A table (head, rows, foot) or a numbered list; the sentence ``none`` when it has no items."""
    return [*head, *items, *foot] if items else [none]


def _summary(t: Counts) -> list[str]:
    return [
        f"- Số dự thảo mới: {t.drafted}; số lần gửi lấy ý kiến: {t.consultations_requested}.",
        f"- Số văn bản đã ban hành: {t.issued}, trong đó ban hành khi đã có đủ ý kiến: {t.issued_full} "
        f"({percent_vi(t.full_rate)}); ban hành theo ngoại lệ: {t.issued_with_exception}.",
        f"- Số lần ngoại lệ được cho phép: {t.overrides}; số cơ quan, tổ chức không có ý kiến khi văn bản "
        f"được ban hành: {t.consultees_without_opinion}.",
        f"- Số lần đề nghị ban hành bị từ chối vì chưa đủ ý kiến: {t.refused_attempts}.",
        f"- Số ý kiến nhận được: {t.opinions}, trong đó đúng hạn: {t.opinions_on_time} "
        f"({percent_vi(t.on_time_rate)}); quá hạn: {t.opinions_late}.",
        f"- Số lần báo cáo quá hạn lên cấp trên: {t.escalations}.",
        f"- Số dự thảo bị rút: {t.withdrawn}; số yêu cầu bị từ chối: {t.requests_rejected}.",
    ]


def render_markdown(
    report: ComplianceReport,
    *,
    generated_at: datetime,
    unit_name: Name = str,
    person_name: Name = str,
) -> str:
    lines: list[str] = [
        "# BÁO CÁO",
        "",
        "## Tình hình lấy ý kiến trước khi ban hành văn bản",
        "",
        f"**Kỳ báo cáo:** {report.period_label} ({report.period_range}).",
    ]
    if report.unit_id:
        lines.append(f"**Đơn vị ban hành:** {unit_name(report.unit_id)}.")
    lines += [
        "",
        "**Căn cứ:** " + "; ".join(BASIS) + ".",
        "",
        f"Số liệu tổng hợp tự động từ hệ thống phối hợp công tác dân vận lúc {format_vn(generated_at)}.",
        "",
        "### I. Kết quả chung",
        "",
        *_summary(report.total),
        "",
        "### II. Theo đơn vị ban hành",
        "",
    ]
    total = _row("**Tổng cộng**", *(f"**{n}**" for n in _figures(report.total)))
    lines += _section(
        [_row(_cell(r.unit_name), *_figures(r)) for r in report.rows],
        "Không có hoạt động trong kỳ.",
        head=UNIT_TABLE,
        foot=(total,),
    )
    lines += ["", "### III. Ý kiến của các cơ quan, tổ chức được lấy ý kiến", ""]
    lines += _section(
        [
            _row(_cell(c.unit_name), c.on_time, c.late, c.without_opinion, c.escalations)
            for c in report.consultees
        ],
        "Không có ý kiến nào trong kỳ.",
        head=CONSULTEE_TABLE,
    )
    lines += ["", "### IV. Các trường hợp ngoại lệ (ban hành không chờ đủ ý kiến)", ""]
    lines += _section(
        [f"{i}. {_exception(e, unit_name, person_name)}" for i, e in enumerate(report.exceptions, 1)],
        "Không có trường hợp ngoại lệ.",
    )
    lines += ["", "### V. Các lần đề nghị ban hành bị từ chối", ""]
    lines += _section(
        [f"{i}. {_refusal(x, unit_name, person_name)}" for i, x in enumerate(report.refusals, 1)],
        "Không có.",
    )
    lines += [
        "",
        "### VI. Kiến nghị",
        "",
        "_(Đơn vị báo cáo bổ sung nhận xét, đánh giá và kiến nghị.)_",
        "",
    ]
    return "\n".join(lines)


def _exception(e: ExceptionItem, unit_name: Name, person_name: Name) -> str:
    cancelled = " *(đã hết hiệu lực do dự thảo được sửa)*" if e.invalidated else ""
    return (
        f"«{e.title}» ({e.decision_id}) — {unit_name(e.unit_id)}, {format_vn(e.at)}: "
        f"{person_name(e.by_person_id)} ({role_vi(e.role)}) cho phép không chờ ý kiến của "
        f"{', '.join(unit_name(u) for u in e.consultee_unit_ids)}. Lý do: {e.reason}{cancelled}"
    )


def _refusal(x: RefusalItem, unit_name: Name, person_name: Name) -> str:
    return (
        f"«{x.title}» ({x.decision_id}) — {unit_name(x.unit_id)}, {format_vn(x.at)}, "
        f"người đề nghị {person_name(x.requested_by)}. Còn thiếu: {'; '.join(m.rstrip('.') for m in x.missing)}."
    )

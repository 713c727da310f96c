"""The key figures of a result in words: the lines the secondary capture burns in."""

from __future__ import annotations

from boneage.dicom_out.results import DicomResult

TITLES = {"multistep": "Multi-step", "endtoend": "End-to-end", "combined": "Combined"}


def key_figures(result: DicomResult) -> list[str]:
    """One line per estimate (age and 90 % interval, or why there is none), the reading against
    the chronological age, and the signature or the flag for review."""
    record = result.record
    lines = []
    for method, estimate in record.estimates().items():
        title = TITLES.get(method, method)
        if estimate.answered:
            low, high = estimate.interval_months  # type: ignore[misc]
            lines.append(
                f"{title} bone age: {estimate.age_months:.1f} months "
                f"(90% interval {low:.1f}-{high:.1f})"
            )
        else:
            lines.append(f"{title}: no estimate ({estimate.rejected or 'not given'})")
    chronological = record.chronological
    if chronological is not None:
        reading = f"Chronological age {chronological.age_months:.1f} months"
        if chronological.sds is not None:
            reading += f", SDS {chronological.sds:+.2f} ({chronological.category})"
        lines.append(reading)
    signature = result.signature
    if signature is not None:
        lines.append(
            f"Signed: {signature.bone_age_months:.1f} months by {signature.observer_name} "
            f"on {signature.signed_at:%Y-%m-%d %H:%M}"
        )
    elif record.agreement.flag_for_review:
        lines.append(f"Flagged for review: {record.agreement.reason}")
    return lines

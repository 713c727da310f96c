"""The quality stage of one film: orientation checks, the learned gate, and the framed field.

:func:`check_quality` is what :func:`boneage.assess.assess` calls first. It orients the film by
its outline (:func:`boneage.quality.orientation.orient`), frames the bone-bright film as acquired
once (:func:`boneage.framing.field.frame_field`), and lets the learned gate
(:mod:`boneage.quality.gate`) judge that frame; the same frame is passed on to both estimates, so
the film is framed once.

Whether the film is an assessable hand at all is decided by the gate when one is loaded: on real
films the outline rules alone turned away 43 % of hands, because the largest bright object of a
collimated or dark film is often a rectangle. The outline's finding is then quoted beside the
gate's reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from boneage.contract import Check
from boneage.framing.field import FieldFrame, frame_field
from boneage.quality.gate import Gate
from boneage.quality.orientation import orient


@dataclass(frozen=True)
class QualityResult:
    """What the quality stage found and made of one film.

    ``pixels`` is float 0..1, bone bright, an upright left hand where the outline allowed;
    ``as_acquired`` is bone bright in the acquired pose (:class:`~boneage.quality.orientation.
    Oriented`). ``laterality`` is the side as acquired ("L", "R") or None when it could not be
    told. ``rejected`` is None, or the reason in words why no estimate should be made.
    ``field`` is the framed film the estimates read; None only when there was nothing to frame
    (a blank image).
    """

    pixels: np.ndarray
    checks: tuple[Check, ...]
    corrections: tuple[str, ...]
    rejected: str | None
    laterality: str | None
    as_acquired: np.ndarray
    field: FieldFrame | None = None


def check_quality(
    pixels: np.ndarray, *, laterality: str | None = None, gate: Gate | None = None
) -> QualityResult:
    """Run every check; correct what can be corrected and say so; reject what cannot be used.

    ``laterality`` is the side from the file's tags ("L", "R") when it had one. With ``gate``
    (the learned check, :mod:`boneage.quality.gate`) the gate decides whether the film is an
    assessable hand and the outline's finding is quoted beside its reason; without one, the
    outline rules decide alone, as they did before real training data existed (and the check
    says so).
    """
    oriented = orient(pixels, laterality=laterality)
    checks = list(oriented.checks)
    rejected = oriented.rejected
    field = frame_field(oriented.as_acquired) if rejected is None else None
    if field is not None and gate is not None:
        verdict = gate.judge(field)
        threshold = gate.network.config.threshold
        checks.append(
            Check(
                name="is_hand",
                passed=verdict.rejected is None,
                detail=f"learned hand-radiograph check: P(hand) {verdict.hand_probability:.2f}, "
                f"threshold {threshold:.2g}"
                + ("" if verdict.rejected is None else f"; most like: {verdict.likely}"),
            )
        )
        if verdict.rejected is not None:
            outline = oriented.outline_problem
            rejected = f"This does not look like a hand radiograph: {verdict.rejected}" + (
                f" (its outline: {outline})." if outline else "."
            )
    elif rejected is None and oriented.outline_problem is not None:
        checks.append(
            Check(
                name="is_hand", passed=False, detail="outline rules only (no learned check loaded)"
            )
        )
        rejected = f"This does not look like a hand radiograph: {oriented.outline_problem}."
    return QualityResult(
        pixels=oriented.pixels,
        checks=tuple(checks),
        corrections=oriented.corrections,
        rejected=rejected,
        laterality=oriented.laterality,
        as_acquired=oriented.as_acquired,
        field=field,
    )

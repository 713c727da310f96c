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

from dataclasses import dataclass, replace

import numpy as np

from boneage.contract import Check
from boneage.framing.field import FieldFrame, frame_field
from boneage.quality.gate import Gate, GateVerdict
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
    outline_pose: tuple[str, ...] = ()
    """How the outline was turned and mirrored to check it (:attr:`~boneage.quality.
    orientation.Oriented.outline_pose`); no estimate reads the film so turned."""


QUARTER_TURNS = {1: "90° counter-clockwise", 3: "90° clockwise", 2: "180°"}
"""The turns (``np.rot90``'s ``k``) tried, in this order, on a film the gate turned away: the
gate, like the networks, learnt upright films, and a film stored on its side or upside down is a
hand all the same."""


def check_quality(
    pixels: np.ndarray, *, laterality: str | None = None, gate: Gate | None = None
) -> QualityResult:
    """Run every check; correct what can be corrected and say so; reject what cannot be used.

    ``laterality`` is the side from the file's tags ("L", "R") when it had one. With ``gate``
    (the learned check, :mod:`boneage.quality.gate`) the gate decides whether the film is an
    assessable hand and the outline's finding is quoted beside its reason; without one, the
    outline rules decide alone, as they did before real training data existed (and the check
    says so).

    A film the gate turns away is tried again turned by a quarter, three quarters and half a
    turn (:data:`QUARTER_TURNS`); the first turn the gate accepts is what both paths read, and
    the corrections say so with the gate's probabilities before and after. Films stored on
    their side were all turned away before (73 to 79 of 80 ``val`` films turned 90° or 180°).
    """
    result, verdict = _checked(pixels, laterality, gate)
    if verdict is None or verdict.rejected is None:
        return result
    for k, words in QUARTER_TURNS.items():
        turned_pixels = np.ascontiguousarray(np.rot90(pixels, k))
        turned, turned_verdict = _checked(turned_pixels, laterality, gate)
        if turned_verdict is not None and turned_verdict.rejected is None:
            note = (
                f"turned {words} before reading: as stored, the learned check saw no hand "
                f"(P(hand) {verdict.hand_probability:.2f}); turned, it sees one "
                f"({turned_verdict.hand_probability:.2f}), and both paths read the turned film"
            )
            return replace(turned, corrections=(note, *turned.corrections))
    return result


def _checked(
    pixels: np.ndarray, laterality: str | None, gate: Gate | None
) -> tuple[QualityResult, GateVerdict | None]:
    """:func:`check_quality` of the film as it is, and the gate's verdict when it judged."""
    oriented = orient(pixels, laterality=laterality)
    checks = list(oriented.checks)
    rejected = oriented.rejected
    field = frame_field(oriented.as_acquired) if rejected is None else None
    verdict = None
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
    result = QualityResult(
        pixels=oriented.pixels,
        checks=tuple(checks),
        corrections=oriented.corrections,
        rejected=rejected,
        laterality=oriented.laterality,
        as_acquired=oriented.as_acquired,
        field=field,
        outline_pose=oriented.outline_pose,
    )
    return result, verdict

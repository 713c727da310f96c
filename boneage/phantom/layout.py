"""The adult hand the phantom scales: positions, sizes and widths of an adult male left hand in
millimetres, and how each scales with a child's size and age.

Frame: x towards the thumb (a left hand seen postero-anteriorly, as displayed), y distal, origin at
the middle of the distal radio-ulnar joint line. These numbers are the phantom's own approximation
of an adult hand from general anatomical proportions (carpal sizes of ~1-2 cm, metacarpal bases
fanning ~30 degrees across the four fingers, the thumb abducted ~40 degrees), tuned by eye against
the contact sheet (docs/phantom_contact_sheet.png); they are not transcribed from a published
source, except where a constant's docstring names one.
"""

from __future__ import annotations

ADULT_MC3_MM = 67.5
"""Adult male third metacarpal (Garn et al. 1972), the yardstick the layout is scaled by."""

CARPALS_MM: dict[str, tuple[float, float, float, float, float]] = {
    # name: (x, y, long semi-axis, short semi-axis, angle in degrees from the x axis), adult male
    "scaphoid": (13.0, 10.0, 12.0, 6.5, 60.0),
    "lunate": (1.0, 9.5, 8.0, 7.5, 90.0),
    "triquetrum": (-11.0, 11.0, 7.0, 5.5, 30.0),
    "pisiform": (-13.0, 8.5, 5.0, 4.5, 0.0),
    "trapezium": (20.0, 22.0, 8.0, 7.0, 45.0),
    "trapezoid": (11.0, 27.5, 6.0, 5.5, 90.0),
    "capitate": (0.0, 24.5, 11.0, 7.0, 90.0),
    "hamate": (-11.0, 23.5, 10.0, 7.0, 80.0),
}
CARPAL_FILL = 0.9
"""Carpals are drawn at this fraction of the table's semi-axes, leaving intercarpal joint spaces."""
CARPAL_PAINT_ORDER = (
    "lunate",
    "scaphoid",
    "triquetrum",
    "pisiform",
    "capitate",
    "hamate",
    "trapezoid",
    "trapezium",
)

RAY_BASES_MM: dict[int, tuple[float, float, float]] = {
    # ray: (x, y, angle in degrees from the y axis towards the thumb) of the metacarpal base
    1: (25.0, 29.0, 40.0),
    2: (11.0, 37.0, 8.0),
    3: (1.0, 37.0, 0.0),
    4: (-9.0, 35.0, -7.0),
    5: (-18.0, 33.0, -14.0),
}

SOFT_TISSUE_MM: tuple[tuple[tuple[float, float], tuple[float, float], float, float], ...] = (
    # (start, end, radius, flatness) of the forearm, wrist, palm and thenar eminence, adult male
    ((-4.0, 10.0), (-4.0, -400.0), 29.0, 0.5),
    ((-6.0, 30.0), (-6.0, 86.0), 31.0, 0.5),
    ((-2.0, 12.0), (-4.0, 32.0), 30.0, 0.55),
    ((14.0, 18.0), (36.0, 46.0), 14.0, 0.75),
)

HALF_WIDTHS_MM: dict[str, tuple[float, float, float]] = {
    # kind: (base, shaft, head) half-widths of an adult male bone, mm
    "metacarpal_1": (7.0, 4.8, 6.8),
    "metacarpal": (5.6, 3.9, 6.0),
    "proximal_phalanx": (6.2, 4.3, 5.0),
    "middle_phalanx": (5.4, 3.6, 4.2),
    "distal_phalanx": (4.8, 2.2, 3.0),
    "radius": (8.0, 8.0, 15.5),
    "ulna": (6.5, 6.0, 8.0),
}
WIDTH_EXPONENT = 0.7
"""Bone widths, carpal sizes and the carpus's height scale with the hand's size (third metacarpal
length ratio) to this power: a young child's tubular bones are stubbier than a scaled-down adult's
(MC3 length/width ~ 6 in ten real infant radiographs we measured, ~ 8 in adults)."""
BREADTH_EXPONENT = 0.5
"""Lateral positions (ray spacing, carpus, forearm) scale with size to this power: an infant's hand
is broad for its length (palm breadth about 1.7 MC3 lengths in the real infant radiographs
against ~ 0.8-0.9 in adults)."""
SOFT_EXPONENT = 0.6
"""Soft tissue scales with size to this power: infants' hands are relatively plumper."""
RADIAL_INCLINATION_DEG = 22.0
"""Adult radial inclination of the distal radius's articular surface (normal 21-25 degrees, the
standard orthopaedic radiographic value); the phantom lets it develop with the square root of
age, reaching it at 16 years (its own approximation)."""
THUMB_BEND_DEG = -12.0
"""The thumb's phalanges turn back towards the fingers from the abducted first metacarpal, as in
the Greulich & Pyle plates (the phantom's reading of them)."""
JOINT_DEVIATION_DEG = 2.0
"""SD of the angle each phalanx deviates from its finger's line (a relaxed hand's fingers are not
ruler-straight; independent per phalanx, so that neighbouring fingers do not wander into each
other); the phantom's own choice."""
FUSION_SCATTER = 0.6
"""A bone's fusion age scatters around the reference by this fraction of its SD times the
phantom's centre z-score: fusion within one hand is more synchronous than appearance."""
CLOSURE_MONTHS = 30.0
"""An open physis narrows over the months before it fuses (to a quarter of its width)."""
PHYSIS_MM = 1.4
"""Width of an open physis (radiolucent growth plate) in an adult-sized hand, mm; it narrows with
the hand's size and closes before fusion."""
EPIPHYSIS_ZONE = {"metacarpal": 0.13, "phalanx": 0.16, "radius": 0.06, "ulna": 0.05}
"""Fraction of a bone's length occupied by its epiphysis (cartilage, later bone) and physis."""

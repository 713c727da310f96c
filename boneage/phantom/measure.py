"""Per-bone measurements read from a label mask: what the reference table turns into an age.

For every bone of :mod:`boneage.phantom.anatomy` found in the mask: its length along its long axis
(epiphysis included for a long bone), its width across it and its area; for ossification centres
(carpals and epiphyses) whether they are present and their size relative to a neighbour
(epiphysis width over the width of its parent's metaphysis, as in the Greulich & Pyle
descriptions; carpal area over capitate area, as in Tanner-Whitehouse stage descriptions); for
epiphyses whether the physis is fused (the epiphysis
mask touches its parent's mask: the phantom's convention, where an open physis is a gap).

Each bone is measured on the largest connected piece of its label. A segmentation network leaves
stray pixels of a label elsewhere in the hand, and one stray fragment a finger away would stretch
a length measured as an extent (behind the demo U-Net, with the demo table refitted each way, the
multi-step MAE on its 60 held-out phantoms was 19.5 months in mm and 24.0 in ratios measuring
whole labels, 12.6 and 18.6 measuring their largest pieces). The share of bone pixels left out
is kept (``fragmented_fraction``): a segmentation that scatters its labels has not recognised the
bones (:mod:`boneage.multistep.run`).

Lengths are in millimetres only when the pixel spacing of the mask is known (callers pass the
spacing of the preprocessed image, i.e. after the crop and resize); otherwise only scale-free
ratios (lengths relative to ``metacarpal_3``) carry size information.

scikit-image's ``regionprops`` gives the regions, areas and centroids. The long axis is the
principal axis of the pixel coordinates in millimetres (or pixels), and the length is the extent
of the pixels projected on that axis, written here because ``regionprops``' ``axis_major_length``
is the axis of the ellipse with the same second moments, 15 % longer than a rectangle's true side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from monai.transforms import KeepLargestConnectedComponent
from scipy import ndimage
from skimage.measure import regionprops

from boneage.phantom.anatomy import BY_LABEL, BY_NAME, BoneKind

RATIO_BASE = "metacarpal_3"
"""Lengths are expressed relative to this bone when no spacing is known: the longest, straightest
and most reliably segmented bone of the hand."""

CARPAL_BASE = "capitate"
"""Carpal areas are expressed relative to the capitate, the first carpal to ossify."""

MIN_AREA_PX = 6
"""A centre with fewer pixels than this (at the 256-pixel model input, about 2 mm^2 of a child's
hand) is counted absent: a few stray pixels of a segmentation are not an ossification centre."""

METAPHYSIS_FRACTION = 0.15
"""The metaphysis is taken as the end of the parent bone nearest the epiphysis, this fraction of
the parent's length deep."""

Spacing = tuple[float, float]

UNMEASURED_LENGTHS = ("radius", "ulna")
"""Long bones whose length is never used: a hand radiograph shows only the distal forearm, so
their visible length says where the field of view ends, not how old the child is."""
USE_PHYSIS_FUSION = False
"""Whether physis fusion read from the masks enters the age estimate.

Off: the U-Net at 256 px does not keep the 1-2 px physis gap. Measured on 8 held-out phantoms,
predicted epiphyses touch their shafts along a median 47-88 % of their width where every true
physis was open (0 % contact), so every physis reads as fused and every child as an adult
(multi-step MAE 119 months in ratios mode on 20 held-out phantoms with fusion, 23 without).
Fusion is still measured and reported per bone; it returns to the estimate once segmentation
resolves the physis (higher resolution or a dedicated physis class)."""


@dataclass(frozen=True)
class BoneMeasurement:
    """One bone as measured on the mask.

    ``*_px`` are in pixels of the mask, ``*_mm``/``area_mm2`` in millimetres (None without
    spacing). ``length_ratio`` is the length over the length of :data:`RATIO_BASE` (None when that
    bone is missing). ``relative_size`` is, for an epiphysis, its width over its parent's
    metaphysis width and, for a carpal, its area over the capitate's (None otherwise or when the
    neighbour is missing). ``physis_fused`` is set for epiphyses whose parent was found (None
    otherwise). ``centroid_px`` is (row, column) and ``orientation_deg`` the long axis' angle
    from the row axis, counter-clockwise.
    """

    bone: str
    kind: BoneKind
    area_px: int
    length_px: float
    width_px: float
    centroid_px: tuple[float, float]
    orientation_deg: float
    length_mm: float | None = None
    width_mm: float | None = None
    area_mm2: float | None = None
    length_ratio: float | None = None
    relative_size: float | None = None
    physis_fused: bool | None = None


@dataclass(frozen=True)
class Ossification:
    """Which centres (carpals and epiphyses) are present, and which physes are fused or open.

    The physes are named by their epiphysis (``radius_epiphysis``…).
    """

    present: tuple[str, ...]
    absent: tuple[str, ...]
    physes_fused: tuple[str, ...]
    physes_open: tuple[str, ...]


@dataclass(frozen=True)
class Measurements:
    """Everything measured on one mask; ``spacing_mm`` is the (row, column) spacing used, and
    ``fragmented_fraction`` the share of labelled pixels outside the largest piece of their
    label (0 for a mask whose every bone is one piece)."""

    bones: dict[str, BoneMeasurement]
    ossification: Ossification
    spacing_mm: Spacing | None
    fragmented_fraction: float = 0.0

    def long_bones(self) -> list[BoneMeasurement]:
        return [m for m in self.bones.values() if m.kind == "long"]

    def features(self, mode: str) -> tuple[dict[str, float], dict[str, bool]]:
        """The (continuous, binary) features of the reference table
        (:mod:`boneage.multistep.table`). In ``absolute_mm`` mode lengths are in mm; in ``ratios``
        mode relative to :data:`RATIO_BASE`."""
        continuous: dict[str, float] = {}
        for bone, m in self.bones.items():
            if m.kind == "long" and bone not in UNMEASURED_LENGTHS:
                if mode == "absolute_mm" and m.length_mm is not None:
                    continuous[f"length_mm:{bone}"] = m.length_mm
                elif mode == "ratios" and m.length_ratio is not None and bone != RATIO_BASE:
                    continuous[f"length_ratio:{bone}"] = m.length_ratio
            elif m.kind != "long" and m.relative_size is not None:
                continuous[f"relative_size:{bone}"] = m.relative_size
        binary = {f"present:{c}": True for c in self.ossification.present}
        binary |= {f"present:{c}": False for c in self.ossification.absent}
        if USE_PHYSIS_FUSION:
            binary |= {f"fused:{e}": True for e in self.ossification.physes_fused}
            binary |= {f"fused:{e}": False for e in self.ossification.physes_open}
        return continuous, binary


def _as_spacing(spacing_mm: float | Spacing | None) -> Spacing | None:
    if spacing_mm is None:
        return None
    values = np.broadcast_to(np.asarray(spacing_mm, dtype=float), (2,))
    if not np.all(values > 0):
        raise ValueError(f"spacing_mm must be positive, got {spacing_mm}")
    return float(values[0]), float(values[1])


def _axes(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit long axis and unit cross axis (row, column) of a point cloud (principal axes)."""
    if len(points) < 2:
        return np.array([1.0, 0.0]), np.array([0.0, 1.0])
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(points.T))
    major = eigenvectors[:, int(np.argmax(eigenvalues))]
    return major, np.array([-major[1], major[0]])


def _extent(points: np.ndarray, axis: np.ndarray, pixel: np.ndarray) -> float:
    """Extent of pixel centres ``points`` along unit ``axis``, plus one pixel's own extent."""
    projection = points @ axis
    return float(projection.max() - projection.min() + np.abs(axis) @ pixel)


def _geometry(
    coords: np.ndarray, pixel: np.ndarray, epiphysis: np.ndarray | None = None
) -> tuple[float, float, np.ndarray]:
    """(length, width, long axis) of a region in the units of ``pixel`` (row, column size).

    With ``epiphysis`` coordinates the length spans the bone and its epiphysis along the bone's
    axis: the whole-bone length of the reference (Garn et al. 1972 measure tubular bones tip to
    tip, epiphysis included); the width stays the shaft's."""
    points = coords * pixel
    major, minor = _axes(points)
    whole = points if epiphysis is None else np.concatenate([points, epiphysis * pixel])
    return _extent(whole, major, pixel), _extent(points, minor, pixel), major


def _metaphysis_width_px(parent: np.ndarray, epiphysis_centroid: np.ndarray) -> float:
    """Width (pixels) of the parent bone's end nearest the epiphysis, across its long axis."""
    points = parent.astype(float)
    major, minor = _axes(points)
    projection = points @ major
    towards = (epiphysis_centroid - points.mean(axis=0)) @ major
    depth = METAPHYSIS_FRACTION * (projection.max() - projection.min())
    if towards >= 0:
        end = points[projection >= projection.max() - depth]
    else:
        end = points[projection <= projection.min() + depth]
    return _extent(end, minor, np.ones(2))


def _epiphysis_width_px(epiphysis: np.ndarray, parent: np.ndarray) -> float:
    """Width (pixels) of an epiphysis across its parent's long axis (a growing epiphysis is a
    disc lying across the bone's end, so its own long axis is the parent's cross axis)."""
    _, minor = _axes(parent.astype(float))
    return _extent(epiphysis.astype(float), minor, np.ones(2))


def _touches(labels: np.ndarray, region, other: int) -> bool:
    """Whether ``region`` (a regionprops region) shares an edge (4-connectivity) with label
    ``other``; only the region's bounding box grown by one pixel is examined."""
    r0, c0, r1, c1 = region.bbox
    r0, c0 = max(r0 - 1, 0), max(c0 - 1, 0)
    window = labels[r0 : r1 + 1, c0 : c1 + 1]
    grown = ndimage.binary_dilation(window == region.label)
    return bool(np.any(grown & (window == other)))


def largest_pieces(labels: np.ndarray) -> tuple[np.ndarray, float]:
    """``labels`` with every label cut down to its largest 8-connected piece, and the share of
    labelled pixels that were cut (MONAI's ``KeepLargestConnectedComponent`` with
    ``independent=True`` does the cutting)."""
    present = [int(v) for v in np.unique(labels) if v in BY_LABEL]
    if not present:
        return labels, 0.0
    keep = KeepLargestConnectedComponent(applied_labels=present, independent=True, connectivity=2)
    kept = np.asarray(keep(labels[None].astype(np.int64)))[0].astype(labels.dtype)
    labelled = int(np.count_nonzero(np.isin(labels, present)))
    return kept, (labelled - int(np.count_nonzero(kept))) / labelled


def measure_bones(
    labels: np.ndarray, spacing_mm: float | Spacing | None = None, *, min_area_px: int = MIN_AREA_PX
) -> Measurements:
    """Measure every bone in ``labels`` (uint label ids of :mod:`boneage.phantom.anatomy`, (H, W)).

    ``spacing_mm`` is the pixel spacing of ``labels`` itself (isotropic float or (row, column)),
    or None when unknown. Regions under ``min_area_px`` pixels count as absent and are not measured.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(f"labels must be a 2-D mask, got shape {labels.shape}")
    spacing = _as_spacing(spacing_mm)
    pixel = np.ones(2) if spacing is None else np.asarray(spacing)
    labels, fragmented_fraction = largest_pieces(labels)
    regions = {
        BY_LABEL[r.label].name: r
        for r in regionprops(labels.astype(np.int32))
        if r.label in BY_LABEL and r.area >= min_area_px
    }

    raw: dict[str, dict] = {}
    for name, region in regions.items():
        epiphysis = regions.get(f"{name}_epiphysis")
        epiphysis_coords = None if epiphysis is None else epiphysis.coords.astype(float)
        length_px, width_px, major = _geometry(
            region.coords.astype(float), np.ones(2), epiphysis_coords
        )
        entry = {
            "bone": name,
            "kind": BY_NAME[name].kind,
            "area_px": int(region.area),
            "length_px": length_px,
            "width_px": width_px,
            "centroid_px": (float(region.centroid[0]), float(region.centroid[1])),
            "orientation_deg": float(np.degrees(np.arctan2(major[1], major[0])) % 180.0),
        }
        if spacing is not None:
            length_mm, width_mm, _ = _geometry(region.coords.astype(float), pixel, epiphysis_coords)
            entry |= {
                "length_mm": length_mm,
                "width_mm": width_mm,
                "area_mm2": float(region.area * pixel[0] * pixel[1]),
            }
        raw[name] = entry

    base = raw.get(RATIO_BASE)
    capitate = raw.get(CARPAL_BASE)
    for name, entry in raw.items():
        bone = BY_NAME[name]
        if bone.kind == "long" and base is not None:
            key = "length_mm" if spacing is not None else "length_px"
            entry["length_ratio"] = entry[key] / base[key]
        elif bone.kind == "carpal" and capitate is not None:
            entry["relative_size"] = entry["area_px"] / capitate["area_px"]
        elif bone.kind == "epiphysis":
            parent = BY_NAME[bone.parent]
            if parent.name in regions:
                entry["physis_fused"] = _touches(labels, regions[name], parent.label)
                parent_coords = regions[parent.name].coords
                epiphysis_coords = regions[name].coords
                metaphysis = _metaphysis_width_px(
                    parent_coords, epiphysis_coords.mean(axis=0).astype(float)
                )
                entry["relative_size"] = (
                    _epiphysis_width_px(epiphysis_coords, parent_coords) / metaphysis
                )

    measured = {name: BoneMeasurement(**entry) for name, entry in raw.items()}
    centres = [b.name for b in BY_LABEL.values() if b.kind != "long"]
    epiphyses = [n for n, m in measured.items() if m.kind == "epiphysis"]
    ossification = Ossification(
        present=tuple(n for n in centres if n in measured),
        absent=tuple(n for n in centres if n not in measured),
        physes_fused=tuple(n for n in epiphyses if measured[n].physis_fused),
        physes_open=tuple(n for n in epiphyses if measured[n].physis_fused is False),
    )
    return Measurements(
        bones=measured,
        ossification=ossification,
        spacing_mm=spacing,
        fragmented_fraction=fragmented_fraction,
    )

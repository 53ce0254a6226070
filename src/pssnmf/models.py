"""The models of the experiment, in one place: what each is, how it is fitted, where its K and seeds come from.

One entry per model.  The library (the fit factory, seeding, selection, Table 1 and the figures' order)
and the workflow (``workflow/rules/common.smk``: which rules fit a model, the config's model lists) read
this table; the config schema's model enums are checked against it by a test.  A new pseudo-labelling
variant is one entry here (and a test of what its options do).

Kinds (paper section 2.2.4; docs/model.md):

- ``grid``: fitted over the whole grid of K, lambda_c and lambda_L2 on every validation fold
  (``experiment.models``).
- ``pseudo_label``: sweeps the confidence threshold on the chosen point of its ``base``
  (``experiment.pseudo_label_models``).
- ``baseline``: no grid, straight to the final test (``experiment.baselines``; pssnmf.baselines).

Light on purpose: the workflow imports it at every start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

KINDS = ("grid", "pseudo_label", "baseline")


@dataclass(frozen=True)
class ModelSpec:
    """One model of the experiment."""

    name: str
    kind: str
    #: IntegratedNMF(mode=...), None for a baseline
    mode: str | None = None
    #: IntegratedNMF(unlabeled_regularization=...): the U.R. variants (eq. 8)
    unlabeled_regularization: bool = False
    #: further IntegratedNMF options of a variant (docs/model.md, "Pseudo-labelling variants")
    options: Mapping[str, object] = field(default_factory=dict)
    #: a pseudo-labelling model's grid model, whose chosen (K, lambda_c, lambda_L2) it sweeps ct on
    base: str | None = None
    #: a variant draws the seeds of the paper model it modifies, so that a difference between the
    #: two is the variant's rule, not other restarts
    seeds_from: str | None = None
    #: a baseline that takes K from the chosen point of this model (final test; docs/beyond.md)
    k_from: str | None = None
    #: one of the paper's models (its figures show these, the others follow in name order)
    paper: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "pseudo_label") != (self.base is not None):
            raise ValueError(f"model {self.name!r}: a base is what a pseudo-labelling model (only) needs")
        if (self.kind == "baseline") != (self.mode is None):
            raise ValueError(f"model {self.name!r}: every model but a baseline has an IntegratedNMF mode")
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    @property
    def seed_name(self) -> str:
        """The name whose seeds the model's fits draw (pssnmf.experiment.point_seed)."""
        return self.seeds_from or self.name


REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec("S-NMF", "grid", "supervised", paper=True),
    ModelSpec("SS-NMF", "grid", "semi_supervised", paper=True),
    ModelSpec("SS-NMF-UR", "grid", "semi_supervised", unlabeled_regularization=True, paper=True),
    ModelSpec("PSS-NMF", "pseudo_label", "pseudo_labeling", base="SS-NMF", paper=True),
    ModelSpec("PSS-NMF-UR", "pseudo_label", "pseudo_labeling", unlabeled_regularization=True, base="SS-NMF-UR",
              paper=True),
    # The pseudo-labelling variants of the paper's section 4 (docs/model.md).
    ModelSpec("PSS-NMF-vote", "pseudo_label", "pseudo_labeling", options={"pseudo_label_vote": True},
              base="SS-NMF", seeds_from="PSS-NMF"),
    ModelSpec("PSS-NMF-soft", "pseudo_label", "pseudo_labeling", options={"soft_pseudo_labels": True},
              base="SS-NMF", seeds_from="PSS-NMF"),
    ModelSpec("PSS-NMF-revisable", "pseudo_label", "pseudo_labeling", options={"revisable_pseudo_labels": True},
              base="SS-NMF", seeds_from="PSS-NMF"),
    ModelSpec("PSS-NMF-UR-half", "pseudo_label", "pseudo_labeling", unlabeled_regularization=True,
              options={"ur_weight": 0.5}, base="SS-NMF-UR", seeds_from="PSS-NMF-UR"),
    # Baselines (pssnmf.baselines, docs/beyond.md).
    ModelSpec("LR-96", "baseline"),
    ModelSpec("NMF+LR", "baseline", k_from="S-NMF"),
    ModelSpec("COSMIC+LR", "baseline"),
)


def spec(name: str) -> ModelSpec:
    """The entry of ``name``; a ValueError naming the known models otherwise."""
    for entry in REGISTRY:
        if entry.name == name:
            return entry
    raise ValueError(f"unknown model {name!r}; expected one of {', '.join(names())}")


def names(*kinds: str) -> tuple[str, ...]:
    """The models of these kinds (all where none is given), in the registry's order."""
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return tuple(entry.name for entry in REGISTRY if not kinds or entry.kind in kinds)


def figure_order(present) -> list[str]:
    """``present`` model names in the order the figures and tables show them: the paper's models
    first, in the registry's order, then the others by name."""
    present = set(present)
    paper = [entry.name for entry in REGISTRY if entry.paper and entry.name in present]
    return paper + sorted(present - set(paper))

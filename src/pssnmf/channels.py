"""The 96 single-base-substitution channels (SBS96) in COSMIC order.

A channel is written as COSMIC does, ``A[C>A]A``: the 5' base, the substitution
of the pyrimidine reference base, and the 3' base.  COSMIC (and SigProfiler)
order the channels by substitution class first (C>A, C>G, C>T, T>A, T>C, T>G),
then by the 5' base, then by the 3' base.
"""

from __future__ import annotations

import re

BASES = ("A", "C", "G", "T")
SUBSTITUTIONS = ("C>A", "C>G", "C>T", "T>A", "T>C", "T>G")

SBS96: tuple[str, ...] = tuple(
    f"{five}[{sub}]{three}" for sub in SUBSTITUTIONS for five in BASES for three in BASES
)
"""The 96 channel labels in COSMIC order."""

CHANNEL_INDEX: dict[str, int] = {label: i for i, label in enumerate(SBS96)}

_COSMIC = re.compile(r"^([ACGT])\[([CT])>([ACGT])\]([ACGT])$")
# ``ACA>A`` (Levatić et al.'s GDSC table): trinucleotide, then the alternative base.
_TRINUC_ALT = re.compile(r"^([ACGT])([CT])([ACGT])>([ACGT])$")


def normalize_channel(label: str) -> str:
    """Return the COSMIC spelling of a channel label, or raise ``ValueError``.

    Accepts ``A[C>A]A`` and ``ACA>A``; surrounding white space is ignored.
    """
    text = str(label).strip().upper()
    match = _COSMIC.match(text)
    if match:
        five, ref, alt, three = match.groups()
    else:
        match = _TRINUC_ALT.match(text)
        if not match:
            raise ValueError(
                f"{label!r} is not an SBS96 channel: expected a label like 'A[C>A]A' or 'ACA>A'"
            )
        five, ref, three, alt = match.groups()
    if alt == ref:
        raise ValueError(f"{label!r} is not a substitution: reference and alternative base are both {ref}")
    return f"{five}[{ref}>{alt}]{three}"

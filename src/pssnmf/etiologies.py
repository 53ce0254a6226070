"""COSMIC signatures of known DNA-repair aetiology: what Fig. 7 bolds and the screening's
COSMIC-share baseline sums (docs/protocol.md, "Screening")."""

#: COSMIC SBS signatures whose proposed aetiology is a defect of each DNA-repair pathway of the
#: DDRd task.  Source: COSMIC Mutational Signatures v3.4 (cancer.sanger.ac.uk/signatures/sbs),
#: "Proposed aetiology" of each signature: SBS6, SBS15, SBS21, SBS26, SBS44 defective DNA mismatch
#: repair; SBS14 concurrent POLE mutation and defective MMR; SBS20 concurrent POLD1 mutation and
#: defective MMR; SBS18 reactive-oxygen damage, enriched in MUTYH-deficient (BER) tumours; SBS30
#: defective base excision repair by NTHL1 mutation; SBS36 defective BER by MUTYH mutation; SBS3
#: defective homologous recombination (BRCA1/BRCA2).  These are also the signatures the paper
#: discusses in section 3.3 and bolds in its Fig. 7.
DDR_ETIOLOGIES: dict[str, tuple[str, ...]] = {
    "MMR": ("SBS6", "SBS14", "SBS15", "SBS20", "SBS21", "SBS26", "SBS44"),
    "BER": ("SBS18", "SBS30", "SBS36"),
    "HR": ("SBS3",),
}

#: The signatures whose share of a tumour's mutations the screening's COSMIC-share baseline
#: thresholds: DDR_ETIOLOGIES without SBS18, whose aetiology (reactive-oxygen damage) is common in
#: repair-proficient tumours too; the BER share is SBS30 + SBS36, the defects COSMIC names.
SHARE_SIGNATURES: dict[str, tuple[str, ...]] = {
    pathway: tuple(name for name in names if name != "SBS18") for pathway, names in DDR_ETIOLOGIES.items()
}

"""Semi-supervised integrated learning of mutational signatures.

S-NMF, SS-NMF, PSS-NMF and their unlabelled-regularisation (U.R.) variants,
as described in Tofacchi, Goossens and Gonçalves, "Semi-Supervised Integrated
Learning of Mutational Signatures for Predicting DNA Repair Pathway
Deficiencies".
"""

__version__ = "0.1.0"

"""``IntegratedNMF``: S-NMF, SS-NMF, PSS-NMF and their U.R. variants as one estimator (section 2.1)."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .consensus import consensus_signatures, stability
from .fitted import as_profiles
from .nnls import nnls_exposures
from .params import N_CHANNELS, check_params, stopping
from .reconstruction import ood_reference, reconstruction_cosine
from .refit import matched_weights, refit_weights, refit_weights_newton
from .training import train_restarts
from .updates import probabilities

_CONSENSUS_STARTS = 10


class IntegratedNMF(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Integrated NMF: X ~ E S with a softmax classifier Yhat = softmax(E W) on the exposures.

    Parameters
    ----------
    n_signatures : int
        K, the number of signatures (1 <= K <= 96, and K < the number of training rows).
    mode : {"supervised", "semi_supervised", "pseudo_labeling"}
        S-NMF (labelled rows only; unlabelled rows of X are ignored), SS-NMF (unlabelled rows in the
        factorisation only) or PSS-NMF (SS-NMF plus Algorithm 1).
    unlabeled_regularization : bool
        U.R. (eq. 8): unlabelled rows not yet pseudo-labelled count in the cross-entropy with an
        all-zero target: a "none of the classes" class of fixed logit 0 (docs/model.md, "U.R.").
        Ignored by ``mode="supervised"``.
    ur_weight : float in [0, 1]
        The weight l_n of U.R. rows in the cross-entropy (1 in the paper).
    confidence_threshold : float in [0, 1]
        ct of Algorithm 1 (pseudo_labeling only).
    pseudo_label_vote : bool
        Pseudo-labelling variant: a candidate enters a restart's pool only if a strict majority of
        the restarts predict the same class for it (ensemble vote; the paper's section 4).
    soft_pseudo_labels : bool
        Pseudo-labelling variant: a pseudo-labelled row counts with weight l_n = its probability
        when labelled, instead of 1.
    revisable_pseudo_labels : bool
        Pseudo-labelling variant: at each convergence a pseudo-label whose row is now predicted
        as another class is withdrawn (the row returns to the pool); see ``pseudo_label_revisions_``.
    lambda_c : float >= 0
        Classification strength, in the paper's scale (the values of its grid and Table 1):
        L = ||X - ES||^2 + lambda_c L_c with L_c summed over rows (eq. 4).  The E update (eq. 6)
        uses it as written, row by row.  In docs/model.md's averaged notation, lambda_c = lambda_c_lib / n_l.
    lambda_l2 : float >= 0
        L2 strength on W, in the paper's scale (eq. 3); docs/model.md's averaged lambda_l2_lib = lambda_l2 / n_l.
    mu_w : float > 0
        W learning rate in this library's scale: the W gradient is averaged over the n_l rows with
        l = 1, so ``mu_w = mu_W_paper * n_l`` (eq. 7 with mu_W_paper = mu_w / n_l).  The paper's
        code used mu_W_paper = 5e-3 with a summed gradient; docs/model.md, "Loss, updates and their scale".
    n_restarts : int >= 1
        Seeded restarts, all trained together; their signatures are clustered into the consensus.
    solver : {"bcd", "mu"}
        How the loss is minimised (docs/model.md, "Solvers").  "bcd": block coordinate descent, each
        block minimised by a method that converges in few steps (S row by row on the simplex, E by
        projected Newton steps, W by Newton's method), one iteration per epoch.  "mu": the paper's
        eqs. 5-7 (multiplicative S and E updates, a gradient step on W), as the paper's code runs them.
    tol : float >= 0 or None
        "bcd": converged when the projected gradient norm of the loss, relative to its value at the
        random start, is under ``tol`` (checked every 5 iterations).  "mu": converged when the
        relative change of the loss between checks (every 10 epochs) stays under ``tol`` for two
        consecutive checks.  0 never converges (runs ``max_epochs``).  None: the solver's default
        (``pssnmf.solvers.SOLVER_DEFAULTS``: 1e-4 for "bcd", 1e-3 for "mu").
    min_epochs, max_epochs : int or None
        A restart stops when converged (with no new pseudo-labels) after at least ``min_epochs``,
        or at ``max_epochs``.  None: the solver's default (10 and 2,000 iterations for "bcd", 200
        and 5,000 epochs for "mu").
    random_state : int or None
        Seeds everything: restart initialisations, pseudo-label choices, consensus starts.
    dtype : {"float64", "float32"}
        Precision of the training updates of ``solver="mu"`` ("bcd" runs in float64 only).  Losses,
        consensus, refit and NNLS are always float64.
    n_jobs : int or None
        Threads for the training kernels (two share every epoch, each on half of the samples;
        more also split the restarts); None means 1.  The result does not depend on it.  A workflow
        running one fit per core should leave it at 1.

    Attributes
    ----------
    classes_ : ndarray (O,)
        The class labels, sorted; the columns of ``predict_proba`` and ``weights_``.
    n_features_in_ : int
        96, the SBS96 channels.
    signatures_ : ndarray (K, 96)
        The consensus signatures (rows sum to 1): the centroids of the restarts' matched signatures.
    signature_names_ : list of str
        "Signature A", "Signature B", ... in the order of ``signatures_``.
    weights_ : ndarray (K, O)
        The classifier's weights, refitted with ``signatures_`` fixed and lambda_c = 0 (section 2.1.3).
    training_exposures_ : ndarray (n_samples, K)
        Exposures of every row of the X given to ``fit``, by NNLS on ``signatures_``.
    ood_threshold_ : float
        The reconstruction cosine below which a new sample is out of distribution: the 5th
        percentile of that cosine over the unlabelled training rows, or over all training rows
        where none is unlabelled (:mod:`pssnmf.model.reconstruction`).  NaN for a model loaded from
        a file written before it was recorded.
    ood_reference_ : dict or None
        What ``ood_threshold_`` was taken over: ``{"percentile": 5.0, "samples": "unlabelled"``
        or ``"labelled", "n": <rows>}``; None where ``ood_threshold_`` is NaN.
    stability_ : float
        Mean cosine silhouette of the restarts' signatures in their consensus clusters; NaN when
        ``n_restarts == 1``.
    restart_signatures_ : ndarray (n_restarts, K, 96)
        Every restart's signatures, as trained.
    restart_clusters_ : ndarray (n_restarts, K)
        The consensus cluster of each restart's signature (one per cluster and restart).
    consensus_restart_ : int
        The restart closest to the consensus; its pseudo-labels and targets are the consensus model's.
    loss_history_ : list of ndarray
        Per restart, the loss (eq. 4, plus U.R.) at each convergence check (every 10 epochs).
    n_epochs_ : ndarray (n_restarts,)
        Epochs each restart trained.
    pseudo_labels_ : DataFrame
        Every pseudo-label of every restart: ``restart, sample`` (row of X), ``label, epoch,
        probability`` (when given); empty unless ``mode="pseudo_labeling"``.
    consensus_pseudo_labels_ : DataFrame
        The rows of ``pseudo_labels_`` of ``consensus_restart_``.
    pseudo_label_revisions_ : DataFrame
        Withdrawn pseudo-labels (``revisable_pseudo_labels``): ``restart, sample, label, epoch,
        revoked_epoch``.

    Inputs: X (n_samples, 96) non-negative counts or proportions; every row is divided by its sum
    (an all-zero row is an error).  A DataFrame's columns must be the SBS96 channels in COSMIC
    order.  y: class labels; unlabelled rows are -1 (numbers) or None / "" / NaN.
    """

    def __init__(self, n_signatures=6, mode="pseudo_labeling", unlabeled_regularization=False, ur_weight=1.0,
                 confidence_threshold=0.6, pseudo_label_vote=False, soft_pseudo_labels=False,
                 revisable_pseudo_labels=False, lambda_c=0.1, lambda_l2=1e-4, mu_w=0.2, n_restarts=10,
                 solver="bcd", tol=None, min_epochs=None, max_epochs=None, random_state=0, dtype="float64",
                 n_jobs=None):
        self.n_signatures = n_signatures
        self.mode = mode
        self.unlabeled_regularization = unlabeled_regularization
        self.ur_weight = ur_weight
        self.confidence_threshold = confidence_threshold
        self.pseudo_label_vote = pseudo_label_vote
        self.soft_pseudo_labels = soft_pseudo_labels
        self.revisable_pseudo_labels = revisable_pseudo_labels
        self.lambda_c = lambda_c
        self.lambda_l2 = lambda_l2
        self.mu_w = mu_w
        self.n_restarts = n_restarts
        self.solver = solver
        self.tol = tol
        self.min_epochs = min_epochs
        self.max_epochs = max_epochs
        self.random_state = random_state
        self.dtype = dtype
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ validation
    def _validate_params(self):
        """Check every hyperparameter; raise ValueError naming it and what was expected."""
        check_params(self)

    def _stopping(self):
        """tol, min_epochs, max_epochs: the values given, else the solver's defaults."""
        return stopping(self)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y):
        """Train the restarts, build the consensus signatures, refit E and W.  Returns self."""
        self._validate_params()
        profiles = as_profiles(X)
        class_codes, classes = _encode_labels(y, profiles.shape[0])
        training_rows = np.flatnonzero(class_codes >= 0) if self.mode == "supervised" else np.arange(len(profiles))
        if self.n_signatures >= training_rows.size:
            raise ValueError(
                f"n_signatures ({self.n_signatures}) must be smaller than the number of training rows "
                f"({training_rows.size}{' labelled' if self.mode == 'supervised' else ''})"
            )
        seeds = np.random.SeedSequence(self.random_state)
        restart_seeds, consensus_seed = seeds.spawn(2)
        rngs = [np.random.default_rng(s) for s in restart_seeds.spawn(self.n_restarts)]
        stopping = self._stopping()
        results = train_restarts(
            profiles[training_rows], class_codes[training_rows], len(classes),
            n_signatures=self.n_signatures,
            pseudo_labeling=self.mode == "pseudo_labeling",
            unlabeled_regularization=bool(self.unlabeled_regularization) and self.mode != "supervised",
            confidence_threshold=self.confidence_threshold, lambda_c=self.lambda_c,
            lambda_l2=self.lambda_l2, mu_w=self.mu_w, **stopping, rngs=rngs, dtype=self.dtype,
            ur_weight=float(self.ur_weight), vote=bool(self.pseudo_label_vote), soft=bool(self.soft_pseudo_labels),
            revisable=bool(self.revisable_pseudo_labels), n_threads=self.n_jobs or 1, solver=self.solver,
        )
        self.classes_ = classes
        self.n_features_in_ = N_CHANNELS
        self.restart_signatures_ = np.stack([r.signatures for r in results])
        self.loss_history_ = [r.loss_history for r in results]
        self.n_epochs_ = np.array([r.n_epochs for r in results])

        def table(records, last, last_type):
            """(restart, sample, label, epoch, <last>) rows: training rows -> X rows, columns -> classes."""
            return pd.DataFrame(
                [
                    (restart, int(training_rows[row]), classes[column], n_epoch, value)
                    for restart, result in enumerate(results)
                    for row, column, n_epoch, value in getattr(result, records)
                ],
                columns=["restart", "sample", "label", "epoch", last],
            ).astype({"restart": int, "sample": int, "epoch": int, last: last_type})

        self.pseudo_labels_ = table("pseudo_labels", "probability", float)
        self.pseudo_label_revisions_ = table("revisions", "revoked_epoch", int)

        centroids, cluster_labels, distance = consensus_signatures(
            self.restart_signatures_, n_starts=_CONSENSUS_STARTS, random_state=np.random.default_rng(consensus_seed)
        )
        self.signatures_ = centroids
        self.signature_names_ = signature_names(self.n_signatures)
        self.restart_clusters_ = cluster_labels
        self.stability_ = stability(self.restart_signatures_, cluster_labels)
        # The restart closest to the consensus lends its pseudo-labels to the consensus model.
        self.consensus_restart_ = int(np.argmin(distance))
        chosen = results[self.consensus_restart_]

        self.training_exposures_ = nnls_exposures(profiles, self.signatures_)
        cosines = reconstruction_cosine(profiles[training_rows], self.training_exposures_[training_rows],
                                        self.signatures_)
        self.ood_threshold_, self.ood_reference_ = ood_reference(cosines, class_codes[training_rows] < 0)
        refit_arguments = (self.training_exposures_[training_rows],
                           matched_weights(np.stack([r.weights for r in results]), cluster_labels),
                           chosen.targets, chosen.label_mask)
        if self.solver == "bcd":
            self.weights_ = refit_weights_newton(*refit_arguments, lambda_l2=self.lambda_l2)
        else:
            self.weights_ = refit_weights(*refit_arguments, mu_w=self.mu_w, lambda_l2=self.lambda_l2,
                                          tol=stopping["tol"], max_epochs=stopping["max_epochs"])
        return self

    # ------------------------------------------------------------------ prediction
    def transform(self, X):
        """Exposures (n_samples, K) by NNLS on the fixed consensus signatures (rows normalised)."""
        check_is_fitted(self, "signatures_")
        return nnls_exposures(as_profiles(X), self.signatures_)

    def get_feature_names_out(self, input_features=None):
        """The names of ``transform``'s columns: ``signature_names_``.

        With it, ``set_output(transform="pandas")`` makes ``transform`` return a DataFrame whose
        columns are the signatures and whose index is that of a DataFrame X.
        """
        check_is_fitted(self, "signature_names_")
        return np.asarray(self.signature_names_, dtype=object)

    def predict_proba(self, X):
        """softmax(E W), (n_samples, O), columns in ``classes_`` order."""
        check_is_fitted(self, "weights_")
        return probabilities(self.transform(X), self.weights_)

    def predict(self, X):
        """The class of highest probability, from ``classes_``."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]

    @property
    def consensus_pseudo_labels_(self):
        """The pseudo-labels of the consensus model: those of ``consensus_restart_``."""
        check_is_fitted(self, "pseudo_labels_")
        return self.pseudo_labels_[self.pseudo_labels_["restart"] == self.consensus_restart_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.target_tags.required = True
        return tags


def signature_names(n_signatures):
    """Default names of the learned signatures: "Signature A", "Signature B", ..."""
    return [f"Signature {chr(ord('A') + k)}" if k < 26 else f"Signature {k + 1}" for k in range(n_signatures)]


def _is_unlabelled(value):
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return bool(np.isnan(value)) or value == -1
    return False


def _encode_labels(y, n_samples):
    """Class column of every row (-1 unlabelled) and the sorted labelled classes."""
    values = list(y.tolist() if hasattr(y, "tolist") else y)
    if len(values) != n_samples:
        raise ValueError(f"y has {len(values)} labels but X has {n_samples} rows")
    unlabelled = np.array([_is_unlabelled(v) for v in values], dtype=bool)
    known = [v for v, u in zip(values, unlabelled) if not u]
    if len({type(v) is str for v in known}) > 1:
        raise ValueError("y mixes text and numeric labels; use one kind (unlabelled: -1, None or '')")
    classes = np.unique(np.asarray(known)) if known else np.asarray([])
    if classes.size < 2:
        raise ValueError(f"y must hold at least 2 labelled classes; got {classes.size} ({classes.tolist()})")
    codes = np.full(n_samples, -1, dtype=np.intp)
    codes[~unlabelled] = np.searchsorted(classes, np.asarray(known))
    return codes, classes

"""Chapter 07 — checked exercises. Write each function, then run `lmcourse check 07`.

The same stubs are at the end of chapters/07_pretraining_mlm.ipynb, where
`check("07", globals())` checks what you wrote in the notebook instead. Solutions:
solutions/ch07.py (try first).
"""


def mask_for_mlm(token_ids, special, scores, u, random_ids, mask_id, rate=0.15):
    """07.1 BERT's masking, with the random numbers given. All arrays are ``(N, S)``:
    ``token_ids`` ints, ``special`` bool (True for ``[CLS]``, ``[SEP]``, ``[PAD]``, ...),
    ``scores`` and ``u`` uniform in [0, 1), ``random_ids`` random ordinary ids.

    In each row, with ``n`` its ordinary (not special) tokens, choose the
    ``k = ceil(rate * n)`` ordinary tokens with the smallest ``scores``. At a chosen position
    the input becomes ``mask_id`` if ``u < 0.8``, ``random_ids`` if ``0.8 <= u < 0.9``, and
    stays as it was otherwise; every other position stays. Return ``(inputs, labels,
    weights)``, each ``(N, S)``: the corrupted ids; the original id at the chosen positions
    and 0 elsewhere; 1.0 at the chosen positions and 0.0 elsewhere."""
    raise NotImplementedError


def pack_pair(a, b=None, *, seq_len, cls_id, sep_id, pad_id=0):
    """07.2 One BERT input from the id lists ``a`` and ``b``: ``[CLS] a [SEP] b [SEP]``
    (``[CLS] a [SEP]`` when ``b`` is None), padded with ``pad_id`` to ``seq_len``. While the
    pair is too long, drop the last token of the longer segment (of ``a`` when they are equally
    long); a lone ``a`` is cut at its end. Return ``(token_ids, segment_ids, padding_mask)``,
    each of length ``seq_len``: segment 0 for ``[CLS]``, ``a`` and its ``[SEP]``, 1 for ``b``
    and its ``[SEP]``, 0 for padding; the mask is 1 for every token that is not padding."""
    raise NotImplementedError


def masked_lm_loss(logits, targets, weights):
    """07.3 The masked-LM loss: ``logits`` ``(N, P, V)`` at the ``P`` prediction slots of each
    row, ``targets`` ``(N, P)`` the original ids, ``weights`` ``(N, P)`` 1 for a real
    prediction and 0 for an unused slot. Return the float
    ``sum(w * -log softmax(logits)[target]) / sum(w)`` — the mean over the chosen positions
    only. Logits can be large: compute the log-softmax stably (exercise 00.3)."""
    raise NotImplementedError

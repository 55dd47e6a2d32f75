"""Learning from judged files: evaluation, thresholds and fine-tuning (the other job beside inference).

=======================  ================================================================
``labelled``             a labelled folder (``sfw/``, ``nsfw/``, optional manifest) as plain data
``metrics``              ROC / precision-recall curves, AUC, operating points (NumPy)
``evaluation``           every figure of a report, from labels and scores (:class:`Evaluation`)
``report``               an evaluation as files: plots, ``report.md``, ``results.json``, ``scores.csv``
``evaluate``             ``python -m classifiers evaluate``: score a labelled folder, write a report
``data``                 what training is fed: split, datasets, transforms, class balance
``training_state``       ``state.pt``, to resume a run after its last epoch
``train``                ``python -m classifiers train``: the fine-tuning loop
=======================  ================================================================

Nothing here is imported by ``import classifiers``; torch, timm and matplotlib
are imported inside the functions that need them.
"""
